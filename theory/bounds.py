"""Closed-form right-hand sides of the almost-rank-d bounds (seed and draft), one function per reading.

Every function here computes a *right-hand side*; none builds the map it
bounds (``f_ls`` / ``f_wls`` live in ``theory.lowrank``). Claims:

- ``seed.ls-bound``:   ``N ||pi||_inf^2 sigma^2 + (N ||pi||_inf)^{3/2} sigma^3``
- ``seed.wls-bound``:  ``||pi||_inf sigma^2 + (||pi||_inf / ||pi||_-inf)^{3/2} sigma^3``
- ``draft.theorem-ls``:  ``E_t[ log(1 + ||pi_t||_inf C_t sigma^2/2) + exp3(sqrt(C_t) sigma) ]``,
  ``C_t = 1 + N ||pi_t||_inf / sqrt 2``
- ``draft.theorem-wls``: ``E_t[ log(1 + ||pi_t||_inf sigma^2/2) + exp3(sqrt(||pi_t||_inf/||pi_t||_-inf) sigma) ]``
- the per-row minimum of the two draft rows (docs/theory.md#d4, last line).

with ``sigma = sigma_{d+1}`` of the centred ``L`` (``theory.spectra``).

Readings (docs/theory.md, "Readings to implement for the seed bounds"):

- ``sigma_reading`` in ``theory.spectra.SIGMA_READINGS`` (which centred ``L``);
- ``inf_reading`` in ``INF_READINGS``: ``"global"`` takes ``||pi||_inf``
  (and ``||pi||_-inf``) over all ``(t, o)`` at once; ``"per-row"`` evaluates
  the seed formula with ``||pi_t||_inf`` inside ``E_t`` (prior-weighted).

``E_t`` runs over rows with ``p(t) > 0`` (a row of prior 0 contributes 0
even when its term is ``+inf``).

Convention shared with ``theory.lookup`` (vacuous bounds): a bound is a plain
``float``; a bound that says nothing is ``math.inf`` and a separate
``*_vacuous_reason`` function says why. The bounds of this module are never
vacuous under Assumption 2 except that a bound above float max (e.g.
``(||pi||_inf/||pi||_-inf)^{3/2}`` with a 1e-300 probability) is ``+inf``, and a draft bound whose ``exp3``
argument exceeds ``EXP3_OVERFLOW - 1`` is ``+inf`` (larger than any float);
they all need Assumption 2 (``sigma`` needs ``log Pi``
finite, the wls bounds divide by ``||pi||_-inf``).

``CATALOGUE`` lists every bound of the theory, these and the look-up-table
bounds of ``theory.lookup``, one :class:`Bound` per (claim, reading), with
the map each bounds: the CLI (``aotmem bounds``) and the claims ledger read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .divergence import exp3_kernel, expect
from .lookup import (
    draft_lookup_bound,
    paper_theorem2_bound,
    paper_theorem2_simplified,
    paper_theorem2_simplified_q,
    seed_lookup_bound,
    tight_lookup_bound,
)
from .spectra import SIGMA_READINGS, sigma_kernel
from .validate import check_choice, check_int, check_prior_cond, check_single_options, check_stack, is_stack

__all__ = [
    "INF_READINGS",
    "Bound",
    "CATALOGUE",
    "MAP_SUFFIX",
    "bound",
    "sigma_d1",
    "seed_ls_bound",
    "seed_wls_bound",
    "seed_ls_bound_rows",
    "seed_wls_bound_rows",
    "seed_wls_terms",
    "wls_ratio_times",
    "draft_ls_bound",
    "draft_wls_bound",
    "draft_min_bound",
    "draft_ls_bound_rows",
    "draft_wls_bound_rows",
    "draft_min_bound_rows",
]

INF_READINGS = ("global", "per-row")

SQRT2 = math.sqrt(2.0)

# exp3(x) overflows float64 for x > log(float max) ~ 709.78; the bound is then
# honestly larger than any float and is returned as +inf (vacuous), never NaN.
EXP3_OVERFLOW = math.log(np.finfo(np.float64).max)


def exp3_capped(x, xp=np):
    """``exp3(x)`` with ``x > EXP3_OVERFLOW - 1`` mapped to ``+inf`` explicitly (no RuntimeWarning); in mpmath
    (``xp.EXP_OVERFLOW = inf``) never capped.

    References
    ----------
    ``draft.theorem-ls``, ``draft.theorem-wls`` (their ``exp3`` term; draft section 4).
    """
    big = x > getattr(xp, "EXP_OVERFLOW", EXP3_OVERFLOW) - 1.0  # margin: e^x itself must stay finite
    return xp.where(big, np.inf, exp3_kernel(xp.where(big, 0.0, x), xp))


def wls_ratio_times(hi, lo, s, xp=np):
    """``sqrt(hi / lo) * s`` (``sqrt(||pi||_inf / ||pi||_-inf) sigma_{d+1}``), elementwise, without spurious overflow.

    Under Assumption 2 ``lo > 0``, but below ~1e-308 ``hi / lo`` overflows to ``+inf`` although
    ``sqrt(hi/lo) s`` is finite (``0`` at ``sigma = 0``, where ``inf * 0`` would be NaN). Such entries
    are recomputed as ``s sqrt(hi) / sqrt(lo)`` (``sqrt(lo) >= 2e-162``: finite); the others keep the
    plain form. Used by the seed and draft wls bounds.

    References
    ----------
    ``seed.wls-bound``, ``draft.theorem-wls`` (docs/theory.md#d4-wls).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        x = xp.sqrt(hi / lo) * s
        bad = ~xp.isfinite(x)
        if xp.any(bad):
            x = xp.where(bad, s * (xp.sqrt(hi) / xp.sqrt(lo)), x)
    return x


def seed_wls_terms(hi, lo, s, xp=np):
    """``hi s^2 + (hi/lo)^{3/2} s^3``, the ``seed.wls-bound`` formula, elementwise.

    The value of the formula, ``+inf`` only where it exceeds float max: where ``(hi/lo)^{3/2} s^3``
    is not finite in the plain form (``hi/lo`` overflows for ``lo < ~1e-308``: ``inf * 0 = NaN`` at
    ``sigma = 0``, ``inf`` for a tiny ``sigma``), it is recomputed as ``(s sqrt(hi)/sqrt(lo))^3``
    (:func:`wls_ratio_times`), e.g. ``0`` at ``sigma = 0``, as the exact (50-digit) value is.

    References
    ----------
    ``seed.wls-bound`` (seed slide "almost rank d", WLS line).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        tail = (hi / lo) ** 1.5 * s**3
        bad = ~xp.isfinite(tail)
        if xp.any(bad):
            tail = xp.where(bad, wls_ratio_times(hi, lo, s, xp) ** 3, tail)
        return hi * s**2 + tail


def seed_ls_terms(N, m, s):
    """``N m^2 s^2 + (N m)^{3/2} s^3``, the ``seed.ls-bound`` formula, elementwise (``+inf`` above float max).

    References
    ----------
    ``seed.ls-bound`` (seed slide "almost rank d", LS line).
    """
    with np.errstate(over="ignore"):  # above float max: +inf (vacuous), never NaN
        return N * m**2 * s**2 + (N * m) ** 1.5 * s**3


def draft_rows_kernel(kind: str, P, s, xp=np):
    """The per-row terms of a draft bound, ``(..., T)``, from ``P (..., T, N)`` and ``s = sigma_{d+1} (...)``.

    ``ls``: ``log(1 + ||pi_t||_inf C_t s^2/2) + exp3(sqrt(C_t) s)``, ``C_t = 1 + N ||pi_t||_inf / sqrt 2``;
    ``wls``: ``log(1 + ||pi_t||_inf s^2/2) + exp3(sqrt(||pi_t||_inf/||pi_t||_-inf) s)``;
    ``min``: their row-wise minimum (docs/theory.md#d4, last line).

    References
    ----------
    ``draft.theorem-ls``, ``draft.theorem-wls`` (draft section 4, Theorems LS and WLS).
    """
    if kind == "min":
        return xp.minimum(draft_rows_kernel("ls", P, s, xp), draft_rows_kernel("wls", P, s, xp))
    s = xp.asarray(s)[..., None]
    hi = P.max(axis=-1)
    if kind == "ls":
        C = 1.0 + P.shape[-1] * hi / xp.sqrt(2.0)
        return xp.log1p(hi * C * s**2 / 2.0) + exp3_capped(xp.sqrt(C) * s, xp)
    return xp.log1p(hi * s**2 / 2.0) + exp3_capped(wls_ratio_times(hi, P.min(axis=-1), s, xp), xp)


def seed_rows_kernel(kind: str, P, s, xp=np):
    """The ``per-row`` terms of a seed bound (``ls`` or ``wls``), ``(..., T)``.

    References
    ----------
    ``seed.ls-bound``, ``seed.wls-bound`` (the ``inf=per-row`` reading, docs/theory.md).
    """
    s = xp.asarray(s)[..., None]
    if kind == "ls":
        return seed_ls_terms(P.shape[-1], P.max(axis=-1), s)
    return seed_wls_terms(P.max(axis=-1), P.min(axis=-1), s, xp)


def almost_rank_kernel(kind: str, p, P, L, d: int, sigma_reading: str, inf_reading: str = "global", xp=np):
    """The right-hand side of an almost-rank-d bound, ``(...)``, any leading axes, any namespace.

    ``kind``: ``seed-ls``, ``seed-wls``, ``draft-ls``, ``draft-wls``, ``draft-min``; ``sigma = sigma_{d+1}`` of
    the centred ``L`` of ``sigma_reading``; ``E_t`` over rows with ``p(t) > 0``.

    References
    ----------
    ``seed.ls-bound``, ``seed.wls-bound`` (seed slide "almost rank d"), ``draft.theorem-ls``,
    ``draft.theorem-wls`` (draft section 4); docs/theory.md#d4.
    """
    s = sigma_kernel(p, P, L, d + 1, sigma_reading, xp)
    family, form = kind.split("-")
    if family == "draft":
        return expect(p, draft_rows_kernel(form, P, s, xp), xp)
    if inf_reading == "per-row":
        return expect(p, seed_rows_kernel(form, P, s, xp), xp)
    if form == "ls":
        return seed_ls_terms(P.shape[-1], P.max(axis=(-2, -1)), s)
    return seed_wls_terms(P.max(axis=(-2, -1)), P.min(axis=(-2, -1)), s, xp)


def _check_inf_reading(inf_reading: str) -> str:
    if inf_reading not in INF_READINGS:
        raise ValueError(f"`inf_reading` must be one of {INF_READINGS} (got {inf_reading!r})")
    return inf_reading


def check_bound_input(prior, cond, d):
    """Validate ``(prior, cond, d)``; Assumption 2 is required by every bound here."""
    p, P = check_prior_cond(prior, cond)
    d = check_int("d", d, minimum=1)
    if not np.all(P > 0):
        r, c = np.argwhere(P == 0)[0]
        raise ValueError(f"`cond` violates Assumption 2 (full support): pi({c}|t={r}) = 0, "
                         "so sigma_{d+1} of log Pi and ||pi||_-inf are undefined")
    return p, P, d


def _rows(kind, prior, cond, d, sigma_reading):
    p, P, d = check_bound_input(prior, cond, d)
    s = sigma_kernel(p, P, np.log(P), d + 1, check_choice("sigma_reading", sigma_reading, SIGMA_READINGS))
    family, form = kind.split("-")
    return (draft_rows_kernel if family == "draft" else seed_rows_kernel)(form, P, s)


def _value(kind, prior, cond, d, sigma_reading, inf_reading="global", dps=None):
    """The bound ``kind`` in float64 or, with ``dps``, at ``dps`` digits (an ``mpf``, exact where float64
    overflows to ``+inf``): :func:`almost_rank_kernel` on ``theory.precise.MP``."""
    sr, ir = check_choice("sigma_reading", sigma_reading, SIGMA_READINGS), _check_inf_reading(inf_reading)
    if is_stack(cond, 2):  # (B, T, N): every instance checked, one kernel call, (B,)
        check_single_options(dps=dps)
        d = check_int("d", d, minimum=1)
        p, P = check_stack(lambda prior, cond: check_bound_input(prior, cond, d)[:2], prior=prior, cond=cond)
        return almost_rank_kernel(kind, p, P, np.log(P), d, sr, ir)
    p, P, d = check_bound_input(prior, cond, d)
    if dps is not None:
        from .precise import MP, exact_log, exact_task, working

        with working(dps):
            p, P = exact_task(prior, cond)
            return almost_rank_kernel(kind, p, P, exact_log(P), d, sr, ir, MP)
    return float(almost_rank_kernel(kind, p, P, np.log(P), d, sr, ir))


def sigma_d1(prior, cond, d, *, sigma_reading: str = "uniform") -> float:
    """``sigma_{d+1}`` of the centred ``L`` of ``sigma_reading`` (0 when ``d+1`` exceeds ``min(T, N)``).

    References
    ----------
    docs/theory.md#sigma: the ``sigma_{d+1}`` of ``seed.ls-bound[sigma=...]`` (docs/theory.md#s4),
    ``seed.wls-bound[sigma=...]`` (docs/theory.md#s5), ``draft.theorem-ls[sigma=...]`` (docs/theory.md#d4),
    ``draft.theorem-wls[sigma=...]`` (docs/theory.md#d4-wls).

    >>> P = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]])
    >>> sigma_d1(np.full(2, 0.5), P, 2)
    0.0
    """
    p, P, d = check_bound_input(prior, cond, d)
    return float(sigma_kernel(p, P, np.log(P), d + 1, check_choice("sigma_reading", sigma_reading, SIGMA_READINGS)))


# ---------------------------------------------------------------- seed bounds

def seed_ls_bound_rows(prior, cond, d, *, sigma_reading: str = "uniform") -> np.ndarray:
    """Per-row terms of ``seed.ls-bound`` in the ``per-row`` reading, ``(T,)``.

    Row ``t``: ``N ||pi_t||_inf^2 sigma_{d+1}^2 + (N ||pi_t||_inf)^{3/2} sigma_{d+1}^3``.

    References
    ----------
    ``seed.ls-bound[sigma=...,inf=per-row]`` (seed slide "almost rank d"; docs/theory.md#s4, the ``inf`` readings in
    docs/theory.md#sigma).
    """
    return _rows("seed-ls", prior, cond, d, sigma_reading)


def seed_ls_bound(prior, cond, d, *, sigma_reading: str = "uniform", inf_reading: str = "global",
                  dps: int | None = None) -> float:
    """Right-hand side of ``seed.ls-bound`` (least-squares fit ``f_ls``).

    .. math::
        d_{KL}(\\pi, f_{ls}) \\le N \\|\\pi\\|_\\infty^2 \\sigma_{d+1}^2
        + (N \\|\\pi\\|_\\infty)^{3/2} \\sigma_{d+1}^3

    Parameters
    ----------
    prior : (T,) prior ``p``.
    cond : (T, N) conditionals ``Pi``; Assumption 2 (full support) required.
    d : rank, ``>= 1``.
    sigma_reading : which centred ``L`` gives ``sigma_{d+1}`` (``theory.spectra.SIGMA_READINGS``).
    inf_reading : ``"global"`` (max over all ``(t, o)``) or ``"per-row"`` (``E_t`` of the row form).
    dps : ``None`` (float64), or the digits of the same formula in mpmath (``theory.precise``; an ``mpf``,
        exact where float64 overflows); the same for every bound of this module.
    A stack ``prior (B, T)``, ``cond (B, T, N)`` gives ``(B,)`` (float64): every instance checked (the
    error names it), one kernel call; the same for every almost-rank-d bound of this module.

    Returns
    -------
    float, ``>= 0``; ``0`` when ``sigma_{d+1} = 0``.

    Raises
    ------
    ValueError on malformed input, a bad reading name, or a row violating Assumption 2.

    References
    ----------
    ``seed.ls-bound`` (seed slide "almost rank d"); :func:`almost_rank_kernel`.

    Examples
    --------
    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]])
    >>> p = np.full(3, 1 / 3); s = sigma_d1(p, P, 1)
    >>> bool(np.isclose(seed_ls_bound(p, P, 1), 3 * 0.7**2 * s**2 + (3 * 0.7)**1.5 * s**3))
    True
    """
    return _value("seed-ls", prior, cond, d, sigma_reading, inf_reading, dps)


def seed_wls_bound_rows(prior, cond, d, *, sigma_reading: str = "uniform") -> np.ndarray:
    """Per-row terms of ``seed.wls-bound`` in the ``per-row`` reading, ``(T,)``.

    Row ``t``: ``||pi_t||_inf sigma^2 + (||pi_t||_inf / ||pi_t||_-inf)^{3/2} sigma^3``.

    References
    ----------
    ``seed.wls-bound[sigma=...,inf=per-row]`` (seed slide "almost rank d"; docs/theory.md#s5, the ``inf`` readings
    in docs/theory.md#sigma).
    """
    return _rows("seed-wls", prior, cond, d, sigma_reading)


def seed_wls_bound(prior, cond, d, *, sigma_reading: str = "uniform", inf_reading: str = "global",
                   dps: int | None = None) -> float:
    """Right-hand side of ``seed.wls-bound`` (weighted least squares ``f_wls``).

    .. math::
        d_{KL}(\\pi, f_{wls}) \\le \\|\\pi\\|_\\infty \\sigma_{d+1}^2
        + (\\|\\pi\\|_\\infty / \\|\\pi\\|_{-\\infty})^{3/2} \\sigma_{d+1}^3

    ``||pi||_-inf`` is the smallest probability (global reading: over all
    ``(t, o)``; per-row reading: of ``pi_t``, inside ``E_t``). Parameters,
    Returns and Raises as :func:`seed_ls_bound`.

    References
    ----------
    ``seed.wls-bound`` (seed slide "almost rank d"); :func:`almost_rank_kernel`.

    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]])
    >>> p = np.full(3, 1 / 3); s = sigma_d1(p, P, 1)
    >>> bool(np.isclose(seed_wls_bound(p, P, 1), 0.7 * s**2 + 7**1.5 * s**3))
    True
    """
    return _value("seed-wls", prior, cond, d, sigma_reading, inf_reading, dps)


# --------------------------------------------------------------- draft bounds

def draft_ls_bound_rows(prior, cond, d, *, sigma_reading: str = "uniform") -> np.ndarray:
    """Per-row terms of ``draft.theorem-ls``, ``(T,)``.

    Row ``t``: ``log(1 + ||pi_t||_inf C_t sigma^2 / 2) + exp3(sqrt(C_t) sigma)``,
    ``C_t = 1 + N ||pi_t||_inf / sqrt 2``.

    References
    ----------
    ``draft.theorem-ls`` (draft section 4); :func:`draft_rows_kernel`.
    """
    return _rows("draft-ls", prior, cond, d, sigma_reading)


def draft_ls_bound(prior, cond, d, *, sigma_reading: str = "uniform", dps: int | None = None) -> float:
    """Right-hand side of ``draft.theorem-ls`` (least-squares fit ``f_ls``).

    .. math::
        d_{KL}(\\pi, f_{ls}) \\le E_t\\Big[\\log\\big(1 + \\|\\pi_t\\|_\\infty C_t \\sigma_{d+1}^2/2\\big)
        + \\mathrm{exp3}\\big(\\sqrt{C_t}\\,\\sigma_{d+1}\\big)\\Big],
        \\quad C_t = 1 + N \\|\\pi_t\\|_\\infty / \\sqrt 2

    ``E_t`` is weighted by the prior. Assumption 2 required.

    References
    ----------
    ``draft.theorem-ls`` (draft section 4); :func:`almost_rank_kernel`.

    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]])
    >>> p = np.full(3, 1 / 3)
    >>> bool(np.isclose(draft_ls_bound(p, P, 1), p @ draft_ls_bound_rows(p, P, 1)))
    True
    >>> draft_ls_bound(p, P, 2) < 1e-30  # sigma_3 of a centred (3, 3) matrix is 0 (computed ~1e-16)
    True
    """
    return _value("draft-ls", prior, cond, d, sigma_reading, dps=dps)


def draft_wls_bound_rows(prior, cond, d, *, sigma_reading: str = "uniform") -> np.ndarray:
    """Per-row terms of ``draft.theorem-wls``, ``(T,)``.

    Row ``t``: ``log(1 + ||pi_t||_inf sigma^2 / 2) + exp3(sqrt(||pi_t||_inf / ||pi_t||_-inf) sigma)``.

    References
    ----------
    ``draft.theorem-wls`` (draft section 4); :func:`draft_rows_kernel`.
    """
    return _rows("draft-wls", prior, cond, d, sigma_reading)


def draft_wls_bound(prior, cond, d, *, sigma_reading: str = "uniform", dps: int | None = None) -> float:
    """Right-hand side of ``draft.theorem-wls`` (weighted least squares ``f_wls``).

    .. math::
        d_{KL}(\\pi, f_{wls}) \\le E_t\\Big[\\log\\big(1 + \\|\\pi_t\\|_\\infty \\sigma_{d+1}^2/2\\big)
        + \\mathrm{exp3}\\big(\\sqrt{\\|\\pi_t\\|_\\infty / \\|\\pi_t\\|_{-\\infty}}\\,\\sigma_{d+1}\\big)\\Big]

    References
    ----------
    ``draft.theorem-wls`` (draft section 4); :func:`almost_rank_kernel`.

    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]])
    >>> p = np.full(3, 1 / 3)
    >>> bool(draft_wls_bound(p, P, 1) > 0)
    True
    """
    return _value("draft-wls", prior, cond, d, sigma_reading, dps=dps)


def draft_min_bound_rows(prior, cond, d, *, sigma_reading: str = "uniform") -> np.ndarray:
    """Row-wise minimum of the ``draft.theorem-ls`` and ``draft.theorem-wls`` row terms, ``(T,)``.

    References
    ----------
    ``draft.theorem-wls[min,sigma=...]`` (docs/theory.md#d4-wls, the per-row minimum).
    """
    return _rows("draft-min", prior, cond, d, sigma_reading)


def draft_min_bound(prior, cond, d, *, sigma_reading: str = "uniform", dps: int | None = None) -> float:
    """``E_t min(ls row, wls row)``: docs/theory.md#d4 last line ("the per-row minimum also bounds the row").

    Claim ids ``draft.theorem-ls`` / ``draft.theorem-wls``; it bounds ``f_wls``
    (shared ``W_U``, per-row best ``E(t)``).

    References
    ----------
    ``draft.theorem-wls[min,sigma=...]`` (docs/theory.md#d4-wls, the per-row minimum); :func:`almost_rank_kernel`.

    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]])
    >>> p = np.full(3, 1 / 3)
    >>> bool(draft_min_bound(p, P, 1) <= min(draft_ls_bound(p, P, 1), draft_wls_bound(p, P, 1)))
    True
    """
    return _value("draft-min", prior, cond, d, sigma_reading, dps=dps)


#: The almost-rank-d kernel kind of each catalogue function (:func:`almost_rank_kernel`).
KERNEL_KIND = {seed_ls_bound: "seed-ls", seed_wls_bound: "seed-wls", draft_ls_bound: "draft-ls",
               draft_wls_bound: "draft-wls", draft_min_bound: "draft-min"}


@dataclass(frozen=True)
class Bound:
    """One entry of the catalogue of bounds: a claim id, a reading, its right-hand side and the map it bounds.

    ``rhs(prior, cond, d)`` is ``fn(prior, cond, d, **kwargs)``. ``maps`` names
    the fitted maps whose divergence the bound is about: names of the one list of fits
    :data:`aotmem.theory.lowrank.FITS` (``ls``, ``wls``, ``wls-alt``, and ``min``: per row the
    better of ``f_ls`` and ``f_wls`` with ``W_U`` shared, docs/theory.md#d4-wls) or ``lookup``
    (the encoder of docs/theory.md#d6).
    ``needs``: ``assumption2`` (full support) or ``C<1/2`` (look-up bounds,
    ``d > 128 log(N+1)``). The CLI (``aotmem bounds``) and the claims ledger
    both iterate over :data:`CATALOGUE`.
    """

    claim: str
    reading: str
    fn: Callable
    kwargs: tuple = ()  # (name, value) pairs, hashable
    maps: tuple = ()
    needs: str = "assumption2"

    @property
    def name(self) -> str:
        """``claim[reading]``, or ``claim`` when the bound has one reading."""
        return f"{self.claim}[{self.reading}]" if self.reading else self.claim

    @property
    def sigma_reading(self) -> str | None:
        return dict(self.kwargs).get("sigma_reading")

    def rhs(self, prior, cond, d, *, dps: int | None = None, **options) -> float:
        """The bound's value on ``(prior, cond, d)``; ``dps``: at ``dps`` digits (an ``mpf``). ``options``: ``C``
        and ``as_written`` of the look-up bounds (``ValueError`` for any other bound)."""
        options = {k: v for k, v in options.items() if v is not None and v is not False}  # None/False: the defaults
        if options and self.needs != "C<1/2":
            raise ValueError(f"`C` and `as_written` apply to the look-up bounds only, not to {self.name!r}")
        return self.fn(prior, cond, d, **dict(self.kwargs), dps=dps, **options)


def _catalogue() -> tuple:
    out = []
    for sr in SIGMA_READINGS:
        for ir in INF_READINGS:
            kw = (("sigma_reading", sr), ("inf_reading", ir))
            out.append(Bound("seed.ls-bound", f"sigma={sr},inf={ir}", seed_ls_bound, kw, ("ls",)))
            out.append(Bound("seed.wls-bound", f"sigma={sr},inf={ir}", seed_wls_bound, kw, ("wls", "wls-alt")))
        kw = (("sigma_reading", sr),)
        out.append(Bound("draft.theorem-ls", f"sigma={sr}", draft_ls_bound, kw, ("ls",)))
        out.append(Bound("draft.theorem-wls", f"sigma={sr}", draft_wls_bound, kw, ("wls", "wls-alt")))
        out.append(Bound("draft.theorem-wls", f"min,sigma={sr}", draft_min_bound, kw, ("min",)))
    lk = ("lookup",)
    out += [
        Bound("seed.lookup-bound", "", seed_lookup_bound, (), lk, "C<1/2"),
        Bound("draft.lookup-theorem", "", draft_lookup_bound, (), lk, "C<1/2"),
        Bound("draft.lookup-theorem+factor(1+2C)", "", tight_lookup_bound, (), lk, "C<1/2"),
        Bound("paper.theorem2", "constant=dtv", paper_theorem2_bound, (("constant", "dtv"),), lk, "C<1/2"),
        Bound("paper.theorem2", "constant=4C", paper_theorem2_bound, (("constant", "4C"),), lk, "C<1/2"),
        Bound("paper.theorem2", "simplified", paper_theorem2_simplified, (), lk, "C<1/2"),
        Bound("paper.theorem2+simplified-q", "", paper_theorem2_simplified_q, (), lk, "C<1/2"),
    ]
    return tuple(out)


#: The reading suffix of a catalogue bound's ledger entry (and ``aotmem bounds`` row) for each map it
#: bounds: the entry is ``claim[reading + MAP_SUFFIX[map]]``. Keys: ``theory.lowrank.FITS`` and ``lookup``.
MAP_SUFFIX = {"ls": "", "wls": "", "wls-alt": ",fit=alternating", "wls-matched": "",
              "wls-alt-unweighted": ",fit=alternating", "min": "", "lookup": ""}

#: Every bound of the theory, one :class:`Bound` per (claim, reading): the
#: almost-rank-d bounds (Assumption 2) first, then the look-up-table bounds.
#: ``+`` claims are corrected statements this project derived (their docstrings say how).
CATALOGUE: tuple = _catalogue()


def bound(name: str) -> Bound:
    """The catalogue entry named ``name`` (``claim[reading]``).

    References
    ----------
    the catalogue (:data:`CATALOGUE`) of the bounds of ``seed.ls-bound``, ``seed.wls-bound`` (docs/theory.md#s4,
    docs/theory.md#s5), ``draft.theorem-ls``, ``draft.theorem-wls`` (docs/theory.md#d4, docs/theory.md#d4-wls),
    ``seed.lookup-bound`` (docs/theory.md#s6), ``draft.lookup-theorem`` and ``draft.lookup-theorem+factor(1+2C)``
    (docs/theory.md#d6), ``paper.theorem2`` (docs/theory.md#p9); `paper.theorem2+simplified-q` is this project's
    corrected simplified form, registered as the corrected claim of ``paper.theorem2[simplified]``
    (docs/theory.md#p9).

    >>> bound("draft.theorem-wls[min,sigma=pi]").maps
    ('min',)
    """
    for b in CATALOGUE:
        if b.name == name:
            return b
    raise ValueError(f"`name` {name!r} is not a bound of the catalogue; names look like "
                     f"{CATALOGUE[0].name!r}")
