"""Divergences of a logit map, entropies and the Taylor proxy of ``draft.lemma-taylor``.

Conventions (docs/theory.md#notation): a logit map is a ``(T, N)`` matrix ``F``
whose row ``t`` is ``f(t)``; probabilities are ``softmax(f(t))``, computed
with a stable log-softmax. ``0 log 0 = 0``. The sources' ``H(pi_t)`` is the
NEGATIVE entropy; here :func:`entropy` is Shannon's ``h = -H >= 0``.

Stacks: :func:`kl_rows`, :func:`kl`, :func:`fbar` and the Taylor quantities also take a stack of ``B``
instances (a leading axis: ``prior (B, T)``, ``cond (B, T, N)``, ``F (B, T, N)``) and return one value per
instance (``(B, ...)``). Every instance is checked as a single one is (the ``ValueError`` names it), then the
kernel runs once on the whole stack: the same code, so a stack's values are the single instances' values.
"""

from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np

from .validate import (
    check_array,
    check_chunk,
    check_distribution,
    check_int,
    check_logits,
    check_rows_stochastic,
    check_single_options,
    check_stack,
    is_stack,
)

# log_softmax_unchecked and kl_rows_unchecked are public for the package's own modules (theory.optimal's
# inner loop) but not in __all__: they skip the input checks, so they are not part of the user API.
__all__ = [
    "log_softmax",
    "kl_rows",
    "kl",
    "entropy",
    "exp3",
    "fbar",
    "taylor_proxy",
    "taylor_remainder_bound",
    "center_rows",
    "kl_stream",
    "auto_chunk",
    "CHUNK_ELEMENTS",
]

# Streaming block size, in matrix entries: 2**21 float64 entries = 16 MiB per
# (rows, N) block. The KL of a block keeps about six such arrays alive
# (cond, logits, log-softmax, log pi, the terms and a mask), ~100 MiB, far
# under the 1 GiB budget of issue 5 yet big enough that per-block Python
# overhead is negligible (measured in benchmarks/bench_kl.py).
CHUNK_ELEMENTS = 2**21

# exp3 and exp overflow float64 above log(DBL_MAX) = 709.78...: there the
# value is returned as +inf (a vacuous but true upper bound), never NaN.
_EXP_OVERFLOW = math.log(np.finfo(np.float64).max)

BlockSource = Union[np.ndarray, Callable[[int, int], np.ndarray]]



def log_softmax(F: np.ndarray, *, dps: int | None = None) -> np.ndarray:
    """Row-wise ``log softmax(F)``, stable: ``F - logsumexp(F)``.

    ``F`` may hold ``-inf`` (probability 0) but no NaN or ``+inf``, and each
    row needs a finite entry. A row spanning more than float64 holds
    (``max - min > 1.8e308``) gives ``-inf`` for the entries that underflow.
    ``dps``: the same kernel at ``dps`` digits (``theory.precise``), an object array of mpf with no
    underflow (``[0, -800]`` gives ``[-e^{-800}, ...]``); ``F`` may then be an object array or ``mpmath.matrix``.

    References
    ----------
    docs/theory.md#divergence: ``log softmax(f) = f - logsumexp(f)``, the model's log-probabilities in
    ``dKL(pi, f)`` of every claim, e.g. ``paper.prop1`` (docs/theory.md#p1), ``seed.ls-bound`` (docs/theory.md#s4).

    >>> log_softmax(np.array([[1000.0, 1.0]])).round(6).tolist()
    [[0.0, -999.0]]
    """
    if dps is not None:
        from .precise import MP, exact_array, working

        with working(dps):
            a = exact_array("F", F, finite=False)
            fin = MP.isfinite(a)
            if a.shape[-1] == 0 or not (fin | (a == -MP.inf)).all():
                raise ValueError(f"`F` must have entries per row and no NaN or +inf (got shape {a.shape})")
            if not fin.any(axis=-1).all():
                raise ValueError("`F` has a row with no finite entry (all -inf)")
            return log_softmax_unchecked(a, MP)
    F = check_array("F", F, finite=False)
    if F.ndim == 0 or F.shape[-1] == 0:
        raise ValueError(f"`F` must have at least one entry per row (got shape {F.shape})")
    if np.isnan(F).any() or (F == np.inf).any():
        raise ValueError(f"`F` contains {'NaN' if np.isnan(F).any() else '+inf'}")
    if not np.all(np.isfinite(F).any(axis=-1)):
        raise ValueError("`F` has a row with no finite entry (all -inf)")
    return log_softmax_unchecked(F)


def log_softmax_unchecked(F, xp=np):
    """:func:`log_softmax` without its input checks, for callers whose ``F`` is already validated (finite
    rows; the optimiser's inner loop): the package's one stable log-softmax. Any leading axes; ``xp`` the
    array namespace (NumPy, or ``theory.precise.MP`` for 50 digits).

    References
    ----------
    docs/theory.md#divergence: ``log softmax(f) = f - logsumexp(f)``, the model's log-probabilities in
    ``dKL(pi, f)`` of every claim, e.g. ``paper.prop1`` (docs/theory.md#p1), ``seed.ls-bound`` (docs/theory.md#s4);
    :func:`log_softmax`.
    """
    # logsumexp by hand, as scipy.special.logsumexp does it: m + log1p(sum of
    # exp(F - m) over all but one maximal entry), m the row max (finite: checked
    # by the callers). log1p keeps full relative accuracy when the max
    # dominates (log(1 + 1e-3) would lose ~3 digits); ~4x faster than
    # logsumexp on (10^6, 10) blocks (benchmarks/bench_kl.py).
    if xp is np and F.ndim == 2:  # the common (T, N) case by plain fancy indexing: the same numbers, ~20% faster
        r, k = np.arange(F.shape[0]), F.argmax(axis=1)
        m = F[r, k][:, None]
        with np.errstate(over="ignore"):  # F - m overflows only to -inf (documented in log_softmax)
            E = np.exp(F - m)
        E[r, k] = 0.0
    else:
        k = xp.argmax(F, axis=-1)[..., None]
        m = xp.take_along_axis(F, k, axis=-1)
        with np.errstate(over="ignore"):
            E = xp.where(xp.arange(F.shape[-1]) == k, 0.0, xp.exp(F - m))
    lse = m + xp.log1p(xp.sum(E, axis=-1, keepdims=True))
    with np.errstate(over="ignore"):
        return F - lse


def kl_rows_kernel(P, F, xp=np):
    """Per-row ``KL(pi_t || softmax f(t))``, ``(..., T)``, of validated arrays; ``+inf`` where the
    log-softmax underflows at ``pi > 0`` (:func:`kl_rows` raises there). Any leading axes.

    ``max(0, sum_o pi (log pi - log softmax f))``, ``0 log 0 = 0``: KL is ``>= 0`` (Gibbs), so a negative
    row sum is rounding of cancelling terms (an exact fit gives ``-4.8e-18``) and is returned as 0.

    References
    ----------
    docs/theory.md#divergence: the per-sequence terms ``KL(pi_t || softmax f(t))`` of ``dKL(pi, f)``, the divergence
    every claim is about, e.g. ``paper.prop1`` (docs/theory.md#p1), ``seed.zero-divergence`` (docs/theory.md#s3),
    ``seed.ls-bound`` (docs/theory.md#s4), ``draft.lookup-theorem`` (docs/theory.md#d6).
    """
    if getattr(xp, "KL_CANCELLATION_FREE", False):  # theory.precise.MP: every digit of a KL ~ 1e-40
        return _kl_rows_cancellation_free(P, F, xp)
    ls = log_softmax_unchecked(F, xp)
    pos = P > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = xp.where(pos, P * (xp.log(P) - ls), 0.0)
    return xp.maximum(xp.sum(terms, axis=-1), 0.0)


def _kl_rows_cancellation_free(P, F, xp):
    """:func:`kl_rows_kernel` as two sums of non-negative terms (rows of ``P`` summing to 1 exactly).

    With ``delta_o = f_o - log pi_o`` on the support and ``dbar`` it centred by its ``pi``-mean,
    ``e^{f_o} = pi_o e^{delta_o}`` gives (docs/theory.md#d2's identity, plus the mass ``f`` puts off
    the support) ``KL = log1p(E_pi[e^{dbar} - 1 - dbar]) + log1p(R)``,
    ``R = sum_{pi_o = 0} e^{f_o} / sum_{pi_o > 0} e^{f_o}``: no cancellation even when ``KL ~ 1e-40``,
    where ``sum pi (log pi - log softmax f)`` loses every digit. ``+inf`` where ``f = -inf`` at ``pi > 0``.
    """
    pos = P > 0
    inf = xp.any(pos & (F == -np.inf), axis=-1)
    F = xp.where(inf[..., None], 0.0, F)
    delta = xp.where(pos, F - xp.log(xp.where(pos, P, 1.0)), 0.0)
    x = delta - xp.sum(P * delta, axis=-1, keepdims=True)
    kl = xp.log1p(xp.sum(xp.where(pos, P * (x * x / 2 + exp3_kernel(x, xp)), 0.0), axis=-1))
    m = xp.max(xp.where(pos, F, -np.inf), axis=-1, keepdims=True)
    e = xp.exp(F - m)
    kl = kl + xp.log1p(xp.sum(xp.where(pos, 0.0, e), axis=-1) / xp.sum(xp.where(pos, e, 0.0), axis=-1))
    return xp.where(inf, np.inf, kl)


def kl_rows_unchecked(P: np.ndarray, F: np.ndarray, row_offset: int = 0, name: str = "F") -> np.ndarray:
    """Per-row KL of a validated ``(T, N)`` block, ``(T,)`` (:func:`kl_rows_kernel`); raises ``ValueError``
    naming ``name`` where the log-softmax overflows float64 at ``pi > 0``.

    References
    ----------
    docs/theory.md#divergence: the per-sequence terms ``KL(pi_t || softmax f(t))`` of ``dKL(pi, f)``, the divergence
    every claim is about, e.g. ``paper.prop1`` (docs/theory.md#p1), ``seed.zero-divergence`` (docs/theory.md#s3),
    ``seed.ls-bound`` (docs/theory.md#s4), ``draft.lookup-theorem`` (docs/theory.md#d6); :func:`kl_rows_kernel`.
    """
    rows = kl_rows_kernel(P, F)
    if np.isinf(rows).any():
        r = int(np.argmax(np.isinf(rows)))
        raise ValueError(f"`{name}` row {r + row_offset}: the log-softmax overflows float64 (logits from "
                         f"{F[r].min():.3g} to {F[r].max():.3g}) where pi > 0, so the divergence is not representable")
    return rows


def expect(p, rows, xp=np):
    """``E_t rows_t = sum_t p(t) rows_t`` over the rows with ``p(t) > 0`` (``0 * inf`` is 0, never NaN),
    reducing the last axis: ``(..., T) -> (...)``. A ``+inf`` row of positive prior gives ``+inf``.

    References
    ----------
    docs/theory.md#notation: ``E_t`` is the prior-weighted mean over sequences: the ``E_t`` of ``dKL(pi, f)``
    (docs/theory.md#divergence) and of the row bounds of ``seed.ls-bound[sigma=...,inf=per-row]``,
    ``seed.wls-bound[sigma=...,inf=per-row]`` (docs/theory.md#s4, docs/theory.md#s5), ``draft.theorem-ls``,
    ``draft.theorem-wls`` (docs/theory.md#d4, docs/theory.md#d4-wls), ``seed.lookup-bound`` (docs/theory.md#s6),
    ``draft.lookup-theorem`` (docs/theory.md#d6) and ``paper.theorem2`` (docs/theory.md#p9).
    """
    pos = p > 0
    return xp.matmul(xp.where(pos, p, 0.0)[..., None, :], xp.where(pos, rows, 0.0)[..., :, None])[..., 0, 0][()]


def _check_pair(cond, F):
    P = check_rows_stochastic("cond", cond)
    F = check_logits("F", F, shape=P.shape)
    return P, F


def _check_task_logits(prior, cond, F):
    """``(p, P, F)`` of one instance: ``prior (T,)``, ``cond (T, N)``, ``F (T, N)`` checked as :func:`kl` does."""
    p = check_distribution("prior", prior)
    P, F = _check_pair(cond, F)
    if p.shape[0] != P.shape[0]:
        raise ValueError(f"`prior` must have length T={P.shape[0]} (got {p.shape[0]})")
    return p, P, F


def _stack_kl_rows(P, F):
    """:func:`kl_rows_kernel` of a checked stack; the first instance with an overflowing row raises as
    :func:`kl_rows_unchecked` does."""
    return _first_refused(kl_rows_kernel(P, F), lambda b: kl_rows_unchecked(P[b], F[b]))


def _first_refused(values, raise_one):
    """Raise for the first instance of a stack whose ``values (B, ...)`` are not all finite: ``raise_one(b)``
    raises the scalar function's ``ValueError``, prefixed here with ``instance b:``."""
    bad = ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
    if bad.any():
        b = int(np.argmax(bad))
        try:
            raise_one(b)
        except ValueError as exc:
            raise ValueError(f"instance {b}: {exc}") from None
    return values


def kl_rows(cond: np.ndarray, F: np.ndarray, *, dps: int | None = None) -> np.ndarray:
    """Per-sequence ``KL(pi_t || softmax(f(t)))``, ``(T,)``.

    Formula: ``max(0, sum_o pi(o|t) [log pi(o|t) - log softmax(f(t))_o])`` with
    ``0 log 0 = 0``: KL is ``>= 0``, so a negative sum (``>= -1e-15`` per row
    scale) is rounding and is returned as 0. ``dps``: the cancellation-free form at ``dps`` digits
    (``theory.precise``; every value ``>= 0`` and exact to ``dps`` digits), an object array of mpf.

    References
    ----------
    docs/theory.md#divergence: the per-sequence terms ``KL(pi_t || softmax f(t))`` of ``dKL(pi, f)``, the divergence
    every claim is about, e.g. ``paper.prop1`` (docs/theory.md#p1), ``seed.zero-divergence`` (docs/theory.md#s3),
    ``seed.ls-bound`` (docs/theory.md#s4), ``draft.lookup-theorem`` (docs/theory.md#d6); :func:`kl_rows_kernel`.

    >>> P = np.array([[0.5, 0.5], [1.0, 0.0]])
    >>> kl_rows(P, np.log(P + 1e-300)).round(12).tolist()
    [0.0, 0.0]
    """
    if dps is not None:
        from .precise import MP, exact_array, exact_rows, working

        with working(dps):
            P = exact_rows(cond)
            return kl_rows_kernel(P, exact_array("F", F, shape=P.shape), MP)
    if is_stack(cond, 2):  # (B, T, N): every instance checked, one kernel call
        return _stack_kl_rows(*check_stack(_check_pair, cond=cond, F=F))
    P, F = _check_pair(cond, F)
    return kl_rows_unchecked(P, F)


def kl(prior: np.ndarray, cond: np.ndarray, F: np.ndarray, *, chunk: int | None = None,
       dps: int | None = None) -> float:
    """Prior-weighted divergence ``dKL(pi, f) = sum_t p(t) KL(pi_t || softmax f(t))``.

    Claim ids: all (docs/theory.md#notation, "Divergence").

    Each row's KL is ``max(0, sum_o pi (log pi - log softmax f))``
    (:func:`kl_rows`): KL is ``>= 0`` and a negative row sum is rounding, so
    the result is never negative (an exact fit gives 0, not ``-4.8e-18``).

    ``chunk`` (rows per block) streams the computation through
    :func:`kl_stream`, bounding the temporaries to a few ``(chunk, N)``
    arrays; ``None`` computes it in one block. Both give the same value up
    to summation order (relative 1e-14). ``dps``: the same kernel at ``dps`` digits (``theory.precise``;
    an ``mpf``, ``chunk`` unused); ``F`` may then be an object array or ``mpmath.matrix``.

    References
    ----------
    docs/theory.md#divergence: ``dKL(pi, f)``, the divergence every claim is about, e.g. ``paper.prop1``
    (``dKL(pi, L(N,S,d))``; docs/theory.md#p1), ``seed.zero-divergence`` (docs/theory.md#s3), ``seed.ls-bound``
    (docs/theory.md#s4), ``draft.lookup-theorem`` (docs/theory.md#d6).

    >>> P = np.array([[0.25, 0.75]])
    >>> bool(np.isclose(kl(np.array([1.0]), P, np.zeros((1, 2))), 0.25*np.log(0.5) + 0.75*np.log(1.5)))
    True
    """
    if dps is not None:
        from .precise import MP, exact_array, exact_task, working

        with working(dps):
            p, P = exact_task(prior, cond)
            return expect(p, kl_rows_kernel(P, exact_array("F", F, shape=P.shape), MP), MP)
    if is_stack(cond, 2):
        check_single_options(chunk=chunk)
        p, P, F = check_stack(_check_task_logits, prior=prior, cond=cond, F=F)
        return expect(p, _stack_kl_rows(P, F))
    if chunk is not None:
        return kl_stream(prior, cond, F, chunk=chunk)
    p = check_distribution("prior", prior)
    rows = kl_rows(cond, F)
    if p.shape[0] != rows.shape[0]:
        raise ValueError(f"`prior` must have length T={rows.shape[0]} (got {p.shape[0]})")
    return float(p @ rows)


def auto_chunk(cols: int) -> int:
    """Rows per block so that a ``(rows, cols)`` float64 block holds ``CHUNK_ELEMENTS`` entries.

    >>> auto_chunk(10), auto_chunk(10**7)
    (209715, 1)
    """
    cols = check_int("cols", cols, minimum=1)
    return max(1, CHUNK_ELEMENTS // cols)


def _block(name: str, src, lo: int, hi: int, N: int | None) -> np.ndarray:
    if callable(src):
        B = check_array(name, src(lo, hi), ndim=2)
        if B.shape[0] != hi - lo or (N is not None and B.shape[1] != N):
            want = f"({hi - lo}, {N if N is not None else 'N'})"
            raise ValueError(f"`{name}`({lo}, {hi}) must return shape {want} (got {B.shape})")
        return B
    return src[lo:hi]


def kl_stream(prior: np.ndarray, cond: BlockSource, logits: BlockSource, *, chunk: int | None = None) -> float:
    """``dKL(pi, f)`` over ``T`` sequences, streamed in blocks of ``chunk`` rows.

    Claim ids: all (docs/theory.md#notation, "Divergence"); the same value as
    :func:`kl`, for ``T`` too large to hold the ``(T, N)`` matrices (issue 5:
    ``T = 10^6``).

    Parameters
    ----------
    prior : (T,) array, a probability vector (checked whole).
    cond : (T, N) array (a ``np.memmap`` works), or a callable
        ``cond(lo, hi) -> (hi - lo, N)`` giving the rows ``lo:hi`` of ``Pi``.
    logits : (T, N) array, or a callable ``logits(lo, hi) -> (hi - lo, N)``
        giving ``F[lo:hi]`` (e.g. ``lambda lo, hi: model.logits(seqs[lo:hi])``).
    chunk : rows per block, ``>= 1``; ``None`` picks :func:`auto_chunk`
        (16 MiB blocks).

    Returns
    -------
    float
        ``sum_t p(t) KL(pi_t || softmax f(t))``; the block sums are added
        with ``math.fsum``, so the order of blocks does not matter.

    Raises
    ------
    ValueError
        naming ``prior``, ``cond``, ``logits`` or ``chunk``: a row that is
        not a distribution (its global row number), a block of the wrong
        shape, NaN/inf logits, a log-softmax that overflows float64.

    Notes
    -----
    Every block is validated as it arrives, so an invalid row deep in a
    stream is reported after the blocks before it were computed. Peak
    memory is the prior plus a few ``(chunk, N)`` arrays (measured in
    ``benchmarks/peak_memory.py``, figures in ``docs/performance.md``).

    References
    ----------
    docs/theory.md#divergence: ``dKL(pi, f)``, the divergence every claim is about, e.g. ``paper.prop1``
    (``dKL(pi, L(N,S,d))``; docs/theory.md#p1), ``seed.zero-divergence`` (docs/theory.md#s3), ``seed.ls-bound``
    (docs/theory.md#s4), ``draft.lookup-theorem`` (docs/theory.md#d6); :func:`kl`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> P = rng.dirichlet(np.ones(3), size=10); F = rng.normal(size=(10, 3)); p = np.full(10, 0.1)
    >>> bool(np.isclose(kl_stream(p, P, F, chunk=3), kl(p, P, F), rtol=1e-14))
    True
    >>> bool(np.isclose(kl_stream(p, lambda lo, hi: P[lo:hi], lambda lo, hi: F[lo:hi], chunk=4), kl(p, P, F)))
    True
    """
    p = check_distribution("prior", prior)
    T = p.shape[0]
    N = None
    if not callable(cond):
        cond = cond if isinstance(cond, np.ndarray) else check_array("cond", cond, ndim=2)
        if cond.ndim != 2 or cond.shape[0] != T:
            raise ValueError(f"`cond` must have shape (T, N) with T={T} rows (got {cond.shape})")
        N = cond.shape[1]
    if not callable(logits):
        logits = logits if isinstance(logits, np.ndarray) else check_array("logits", logits, ndim=2)
        if logits.ndim != 2 or logits.shape[0] != T or (N is not None and logits.shape[1] != N):
            raise ValueError(f"`logits` must have shape ({T}, {N if N is not None else 'N'}) (got {logits.shape})")
        N = logits.shape[1] if N is None else N
    if chunk is None:
        chunk = auto_chunk(N if N is not None else 1)
    chunk = check_chunk(chunk)
    parts = []
    for lo in range(0, T, chunk):
        hi = min(T, lo + chunk)
        P = check_rows_stochastic("cond", _block("cond", cond, lo, hi, N), row_offset=lo)
        if P.shape[0] != hi - lo:
            raise ValueError(f"`cond` must have {T} rows (got fewer)")
        if N is None:
            N = P.shape[1]
        elif P.shape[1] != N:
            raise ValueError(f"`cond` rows {lo}:{hi} must have N={N} columns (got {P.shape[1]})")
        F = _block("logits", logits, lo, hi, N)
        F = check_logits("logits", F, shape=P.shape)
        parts.append(float(p[lo:hi] @ kl_rows_unchecked(P, F, row_offset=lo, name="logits")))
    return math.fsum(parts)


def entropy_kernel(P, xp=np):
    """Shannon entropy ``-sum_o pi log pi`` of each row, ``(..., T)``, ``0 log 0 = 0``. Any leading axes.

    References
    ----------
    docs/theory.md#entropy-sign (the sources' ``H`` is ``-h``): the entropy of ``seed.lookup-bound``
    (docs/theory.md#s6), ``draft.lookup-theorem`` (docs/theory.md#d6) and ``paper.theorem2`` (docs/theory.md#p9).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.sum(xp.where(P > 0, -P * xp.log(P), 0.0), axis=-1)


def entropy(cond: np.ndarray, *, dps: int | None = None) -> np.ndarray:
    """Shannon entropy ``h(pi_t) = -sum_o pi log pi >= 0`` of each row, ``(T,)``.

    The sources' ``H(pi_t)`` is ``-h``; ``e^{h}`` is the perplexity. ``dps``: at ``dps`` digits
    (``theory.precise``), an object array of mpf.

    References
    ----------
    docs/theory.md#entropy-sign; ``seed.lookup-bound``, ``paper.theorem2`` (their ``H(pi_t)``).

    >>> bool(np.isclose(entropy(np.full((1, 4), 0.25))[0], np.log(4)))
    True
    """
    if dps is not None:
        from .precise import MP, exact_rows, working

        with working(dps):
            return entropy_kernel(exact_rows(cond), MP)
    return entropy_kernel(check_rows_stochastic("cond", cond))


def exp3(x, *, dps: int | None = None) -> np.ndarray:
    """``exp3(x) = e^x - 1 - x - x^2/2``, accurate for small ``|x|``.

    For ``|x| < 0.1`` the series ``sum_{k>=3} x^k/k!`` (to ``k = 12``,
    truncation below 1e-20 relative) replaces the cancelling difference.
    ``x`` must be finite; beyond float64 range the value is ``+inf``
    (``x > 709.78``) or ``-inf`` (``x < -1.3e154``), never NaN. ``dps``: every digit right at ``dps``
    digits (``theory.precise``), no overflow (``exp3(1000)`` exact): an ``mpf`` for a scalar ``x``, else
    an object array of mpf of ``x``'s shape.

    References
    ----------
    docs/theory.md#notation (``exp3``); ``draft.lemma-taylor``, ``draft.theorem-ls``, ``draft.theorem-wls``.

    >>> x = 1e-3; round(float(exp3(x)) / (x**3 / 6), 9)  # = 1 + x/4 + x^2/20 + ...
    1.00025005
    >>> float(np.expm1(x) - x - x*x/2) == float(exp3(x))  # the naive form loses digits
    False
    """
    if dps is not None:
        from .precise import MP, exact_number, working

        with working(dps):
            if np.ndim(x) == 0:
                v = exact_number("x", x)
                if not MP.isfinite(v):
                    raise ValueError(f"`x` must be finite (got {x!r})")
                return exp3_kernel(v, MP)
            a = check_array("x", x)
            return exp3_kernel(MP.asarray(a.ravel()), MP).reshape(a.shape)
    return exp3_kernel(check_array("x", x))


def exp3_kernel(x, xp=np):
    """:func:`exp3` without the finiteness check (``+inf`` maps to ``+inf``), elementwise on any namespace.

    The series runs to ``k = xp.EXP3_TERMS - 1`` (12 in float64; ``theory.precise.MP`` sets it from the
    working digits); ``e^x`` overflows above ``xp.EXP_OVERFLOW`` (``log(float max)``; none in mpmath).

    References
    ----------
    docs/theory.md#notation (``exp3``); ``draft.lemma-taylor``, ``draft.theorem-ls``, ``draft.theorem-wls``.
    """
    small = abs(x) < 0.1
    xs = xp.where(small, x, 0.0)
    term = xs**3 / 6.0
    acc = term
    for k in range(4, getattr(xp, "EXP3_TERMS", 13)):
        term = term * xs / k
        acc = acc + term
    big = x > getattr(xp, "EXP_OVERFLOW", _EXP_OVERFLOW)  # e^x overflows: the value is +inf in float64
    xl = xp.where(small | big, 0.0, x)
    with np.errstate(over="ignore"):  # x^2/2 overflows only for x < -1.3e154: -inf is then correct
        out = xp.where(small, acc, xp.where(big, np.inf, xp.expm1(xl) - xl - 0.5 * xl * xl))
    return out if out.ndim else out[()]


def center_rows(X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Subtract each row's mean (uniform, or weighted by the rows of ``weights``).

    References
    ----------
    docs/theory.md#sigma: the row centrings (uniform, or ``pi_t``-weighted) of the ``sigma`` readings of
    ``seed.ls-bound[sigma=...]`` (docs/theory.md#s4), ``seed.wls-bound[sigma=...]`` (docs/theory.md#s5),
    ``draft.theorem-ls[sigma=...]`` (docs/theory.md#d4), ``draft.theorem-wls[sigma=...]`` (docs/theory.md#d4-wls).
    """
    X = check_array("X", X, ndim=2)
    if weights is None:
        return X - X.mean(axis=1, keepdims=True)
    w = check_rows_stochastic("weights", weights)
    if w.shape != X.shape:
        raise ValueError(f"`weights` must have the shape of `X` {X.shape} (got {w.shape})")
    return X - np.sum(w * X, axis=1, keepdims=True)


# ---------------------------------------------------------------- draft.lemma-taylor: kernels (any leading axes)


def fbar_kernel(P, F, xp=np):
    """``fbar_t = f(t) - L_t - E_{o~pi_t}[f(t)_o - L_{t,o}]``, ``(..., T, N)``; ``P > 0`` (Assumption 2).

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4, the centred logit error).
    """
    D = F - xp.log(P)
    with np.errstate(over="ignore", invalid="ignore"):
        return D - xp.sum(P * D, axis=-1, keepdims=True)


def taylor_proxy_rows(P, fb, xp=np):
    """``log(1 + Var_{o~pi_t}(fbar_t) / 2)`` per row, ``(..., T)`` (``E_pi fbar = 0``).

    ``Var = m^2 sum pi (fb/m)^2`` with ``m = max |fb|``: no overflow of ``fb**2`` for huge logits;
    ``log1p(Var/2) = 2 log m + log(s/2)`` once ``Var/2`` exceeds 1e300.

    References
    ----------
    ``draft.lemma-taylor`` (the proxy ``E_t log(1 + Var/2)``).
    """
    m = abs(fb).max(axis=-1)
    m_safe = xp.where(m > 0, m, 1.0)
    s = xp.sum(P * (fb / m_safe[..., None]) ** 2, axis=-1)
    with np.errstate(over="ignore"):
        var_half = m * m * s / 2.0
    huge = ~(var_half < 1e300)
    with np.errstate(divide="ignore"):
        return xp.where(huge, 2 * xp.log(m_safe) + xp.log(xp.where(huge, s, 1.0) / 2.0),
                        xp.log1p(xp.where(huge, 0.0, var_half)))


def taylor_remainder_rows(fb, xp=np):
    """``exp3(||fbar_t||_2)`` per row, ``(..., T)``; ``+inf`` above float max (a true, vacuous bound).

    References
    ----------
    ``draft.lemma-taylor`` (the right-hand side ``E_t exp3(||fbar_t||)``).
    """
    with np.errstate(over="ignore"):  # a norm over 1.8e308 is inf, and exp3 of it is inf either way
        return exp3_kernel(xp.linalg.norm(fb, axis=-1), xp)


def taylor_identity_rows(P, fb, xp=np):
    """``log E_{o~pi_t} e^{fbar_t(o)}`` per row, ``(..., T)``: a weighted log-sum-exp, the algorithm of
    ``scipy.special.logsumexp(fbar, b=pi)`` (the largest term separated out; ``pi = 0`` adds nothing).

    Its own formula, not through the KL, so ``draft.lemma-taylor[identity]`` compares two formulas.

    References
    ----------
    ``draft.lemma-taylor[identity]``: ``dKL(pi, f) = E_t log E_{o~pi_t} e^{fbar_t(o)}``.
    """
    a = xp.where(P == 0, -np.inf, fb)
    k = xp.argmax(a, axis=-1)[..., None]
    a_max = xp.take_along_axis(a, k, axis=-1)
    b_k = xp.take_along_axis(P, k, axis=-1)
    a = xp.where(xp.arange(a.shape[-1]) == k, -np.inf, a)
    s = xp.sum(P * xp.exp(a - a_max), axis=-1, keepdims=True)
    s = xp.where(s == 0, s, s / b_k)
    return (xp.log1p(s) + xp.log(b_k) + a_max)[..., 0]


# ---------------------------------------------------------------- draft.lemma-taylor: float64 API


def fbar(cond: np.ndarray, F: np.ndarray, *, dps: int | None = None) -> np.ndarray:
    """``fbar_t = f(t) - L_t - E_{o~pi_t}[f(t)_o - L_{t,o}]`` (``draft.lemma-taylor``), ``(T, N)``.

    Needs Assumption 2 (every ``pi(o|t) > 0``) so that ``L = log Pi`` is finite. ``dps``: at ``dps``
    digits (``theory.precise``), an object array of mpf.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4); :func:`fbar_kernel`.
    """
    if dps is not None:
        from .precise import MP, exact_array, exact_log, exact_rows, working

        with working(dps):
            P = exact_rows(cond)
            exact_log(P)
            return fbar_kernel(P, exact_array("F", F, shape=P.shape), MP)
    if is_stack(cond, 2):
        return _stack_fbar(*check_stack(_check_fbar_input, cond=cond, F=F))
    P, F = _check_fbar_input(cond, F)
    out = fbar_kernel(P, F)
    if not np.all(np.isfinite(out)):
        r = int(np.argmax(~np.all(np.isfinite(out), axis=1)))
        raise ValueError(f"`F` row {r}: fbar overflows float64 (logits of size {np.abs(F[r]).max():.3g})")
    return out


def _check_fbar_input(cond, F):
    P, F = _check_pair(cond, F)
    return _full_support(P), F


def _full_support(P):
    if not np.all(P > 0):
        raise ValueError("`cond` must satisfy Assumption 2 (full support, every pi(o|t) > 0) for fbar")
    return P


def _stack_fbar(P, F):
    """:func:`fbar_kernel` of a checked stack; the first instance that overflows raises as :func:`fbar` does."""
    return _first_refused(fbar_kernel(P, F), lambda b: fbar(P[b], F[b]))


def _check_taylor_input(prior, cond, F):
    """One instance of the Taylor quantities, checked as :func:`kl` and then :func:`fbar` check it."""
    p, P, F = _check_task_logits(prior, cond, F)
    return p, _full_support(P), F


def _taylor(rows, prior, cond, F, dps):
    """``E_t rows(P, fbar, xp)``: float64 (``dps`` None, :func:`fbar`'s checks) or at ``dps`` digits."""
    if dps is not None:
        from .precise import MP, exact_array, exact_log, exact_task, working

        with working(dps):
            p, P = exact_task(prior, cond)
            exact_log(P)
            return expect(p, rows(P, fbar_kernel(P, exact_array("F", F, shape=P.shape), MP), MP), MP)
    if is_stack(cond, 2):
        p, P, F = check_stack(_check_taylor_input, prior=prior, cond=cond, F=F)
        return expect(p, rows(P, _stack_fbar(P, F), np))
    p = check_distribution("prior", prior)
    fb = fbar(cond, F)
    if p.shape[0] != fb.shape[0]:
        raise ValueError(f"`prior` must have length T={fb.shape[0]} (got {p.shape[0]})")
    return float(expect(p, rows(np.asarray(cond, dtype=np.float64), fb, np)))  # cond validated by fbar


def taylor_proxy(prior: np.ndarray, cond: np.ndarray, F: np.ndarray, *, dps: int | None = None) -> float:
    """``E_t log(1 + Var_{o~pi_t}(fbar_t) / 2)``, the proxy of ``draft.lemma-taylor``.

    Needs Assumption 2 (``fbar`` uses ``L = log Pi``). ``dps``: an ``mpf`` at ``dps`` digits.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4); :func:`taylor_proxy_rows`.
    """
    return _taylor(taylor_proxy_rows, prior, cond, F, dps)


def taylor_remainder_bound(prior: np.ndarray, cond: np.ndarray, F: np.ndarray, *, dps: int | None = None) -> float:
    """``E_t exp3(||fbar_t||_2)``, the right-hand side of ``draft.lemma-taylor``.

    ``+inf`` (a true, vacuous bound) when some ``||fbar_t|| > 709.78`` has ``p(t) > 0``.
    Needs Assumption 2 (``fbar`` uses ``L = log Pi``). ``dps``: an ``mpf`` at ``dps`` digits, exact
    where float64 overflows.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4); :func:`taylor_remainder_rows`.
    """
    return _taylor(lambda P, fb, xp: taylor_remainder_rows(fb, xp), prior, cond, F, dps)


def taylor_identity_rhs(prior: np.ndarray, cond: np.ndarray, F: np.ndarray, *, dps: int | None = None) -> float:
    """``E_t log E_{o~pi_t} e^{fbar_t(o)}``, the right-hand side of ``draft.lemma-taylor[identity]``.

    Its own formula (a weighted log-sum-exp of ``fbar``), not :func:`kl`: the identity
    ``dKL = E_t log E_pi e^{fbar}`` is checked between two formulas. ``dps``: an ``mpf`` at ``dps`` digits.

    References
    ----------
    ``draft.lemma-taylor[identity]`` (draft section 4); :func:`taylor_identity_rows`.
    """
    return _taylor(taylor_identity_rows, prior, cond, F, dps)
