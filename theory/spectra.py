"""The centred log-probability matrix and its singular values, one function per reading.

The seed and draft bounds use ``sigma_{d+1}``, a singular value of "the
centred ``L``". docs/theory.md lists the readings; each has its own name here
(``SIGMA_READINGS``) and nothing picks one for the user:

- ``uniform``: ``L (I - 11^T/N)`` (rows centred by their uniform mean);
- ``uniform-prior``: ``diag(sqrt p) L (I - 11^T/N)`` (rows also weighted by the prior);
- ``pi``: ``L - (pi_t . L_t) 1^T`` (rows centred by their ``pi_t``-weighted mean);
- ``pi-prior``: ``diag(sqrt p)`` times the ``pi`` reading.

All need Assumption 2 (``L = log Pi`` finite).
"""

from __future__ import annotations

import numpy as np

from .validate import (check_choice, check_distribution, check_int, check_rows_stochastic, check_single_options,
                       check_stack, is_stack)

__all__ = ["SIGMA_READINGS", "log_probs", "centred_logits", "singular_values", "sigma"]

SIGMA_READINGS = ("uniform", "uniform-prior", "pi", "pi-prior")


def _check_reading(reading: str) -> str:
    return check_choice("reading", reading, SIGMA_READINGS)


def log_probs(cond: np.ndarray) -> np.ndarray:
    """``L = log Pi``, requiring Assumption 2 (full support). (T, N)

    References
    ----------
    docs/theory.md#notation (``L = log Pi``; Assumption 2, docs/theory.md#assumptions): the ``L`` of
    ``seed.zero-divergence`` (docs/theory.md#s3) and of the ``sigma_{d+1}`` bounds ``seed.ls-bound[sigma=...]``
    (docs/theory.md#s4), ``seed.wls-bound[sigma=...]`` (docs/theory.md#s5), ``draft.theorem-ls[sigma=...]``
    (docs/theory.md#d4), ``draft.theorem-wls[sigma=...]`` (docs/theory.md#d4-wls).
    """
    P = check_rows_stochastic("cond", cond)
    if not np.all(P > 0):
        r, c = np.argwhere(P == 0)[0]
        raise ValueError(f"`cond` violates Assumption 2 (full support): pi({c}|t={r}) = 0, so log Pi is -inf")
    return np.log(P)


def centred_kernel(p, P, L, reading: str, xp=np):
    """The centred ``L`` of ``reading`` (module docstring), ``(..., T, N)``; ``p (..., T)``, ``P``, ``L = log P``.

    References
    ----------
    docs/theory.md#sigma (the readings of "the centred ``L``" of ``seed.ls-bound`` and draft section 4).
    """
    if reading.startswith("uniform"):
        Lc = L - xp.mean(L, axis=-1, keepdims=True)
    else:
        Lc = L - xp.sum(P * L, axis=-1, keepdims=True)
    if reading.endswith("-prior"):
        Lc = xp.sqrt(p)[..., None] * Lc
    return Lc


def sigma_kernel(p, P, L, j: int, reading: str, xp=np):
    """``sigma_j`` (1-based) of :func:`centred_kernel`, ``(...)``; 0 beyond ``min(T, N)``.

    References
    ----------
    docs/theory.md#sigma; ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``, ``draft.theorem-wls``
    (``j = d + 1``).
    """
    s = xp.linalg.svd(centred_kernel(p, P, L, reading, xp), compute_uv=False)  # (..., min(T, N)), descending
    return xp.asarray(s[..., j - 1].copy() if j <= s.shape[-1] else 0 * s[..., 0])[()]


def _exact_centred(prior, cond, reading):
    """The centred ``L`` of one exact instance (``theory.precise``; use under ``working``)."""
    from .precise import MP, exact_log, exact_task

    p, P = exact_task(prior, cond)
    return centred_kernel(p, P, exact_log(P), reading, MP)


def _task_logs(prior, cond):
    """``(p, P, L = log P)`` of one instance (Assumption 2), checked as :func:`centred_logits` does."""
    L = log_probs(cond)
    p = check_distribution("prior", prior)
    if p.shape != (L.shape[0],):
        raise ValueError(f"`prior` must have shape ({L.shape[0]},) (got {p.shape})")
    return p, np.asarray(cond, dtype=np.float64), L


def centred_logits(prior: np.ndarray, cond: np.ndarray, reading: str = "uniform", *,
                   dps: int | None = None) -> np.ndarray:
    """The centred ``L`` of a reading (see module docstring). (T, N)

    ``dps``: at ``dps`` digits (``theory.precise``), an object array of mpf; the same for the other
    functions of this module.

    References
    ----------
    docs/theory.md#sigma: the centred ``L`` of the ``sigma`` readings of ``seed.ls-bound[sigma=...]``
    (docs/theory.md#s4), ``seed.wls-bound[sigma=...]`` (docs/theory.md#s5), ``draft.theorem-ls[sigma=...]``
    (docs/theory.md#d4), ``draft.theorem-wls[sigma=...]`` (docs/theory.md#d4-wls), and of ``seed.zero-divergence``
    (``uniform`` centring; docs/theory.md#s3); :func:`centred_kernel`.

    >>> P = np.array([[0.5, 0.25, 0.25]])
    >>> bool(np.allclose(centred_logits(np.ones(1), P).sum(axis=1), 0))
    True
    """
    reading = _check_reading(reading)
    if dps is not None:
        from .precise import working

        with working(dps):
            return _exact_centred(prior, cond, reading)
    p, P, L = _task_logs(prior, cond)
    return centred_kernel(p, P, L, reading)


def singular_values(prior: np.ndarray, cond: np.ndarray, reading: str = "uniform", *,
                    dps: int | None = None) -> np.ndarray:
    """Singular values of the centred ``L`` of ``reading``, descending, length ``min(T, N)``.

    References
    ----------
    docs/theory.md#sigma: the ``sigma_{d+1}`` of ``seed.ls-bound[sigma=...]`` (docs/theory.md#s4),
    ``seed.wls-bound[sigma=...]`` (docs/theory.md#s5), ``draft.theorem-ls[sigma=...]`` (docs/theory.md#d4),
    ``draft.theorem-wls[sigma=...]`` (docs/theory.md#d4-wls); the rank of the centred ``L`` in
    ``seed.zero-divergence`` (docs/theory.md#s3).
    """
    if dps is not None:
        from .precise import MP, working

        with working(dps):
            return MP.linalg.svd(_exact_centred(prior, cond, _check_reading(reading)), compute_uv=False)
    return np.linalg.svd(centred_logits(prior, cond, reading), compute_uv=False)


def sigma(prior: np.ndarray, cond: np.ndarray, j: int, reading: str = "uniform", *, dps: int | None = None) -> float:
    """``sigma_j`` (1-based) of the centred ``L`` of ``reading``; 0 beyond the rank's length.

    A stack ``prior (B, T)``, ``cond (B, T, N)`` gives ``(B,)``: every instance checked (the error names it),
    one call of :func:`sigma_kernel`.

    References
    ----------
    docs/theory.md#sigma; ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``,
    ``draft.theorem-wls`` (all use ``sigma_{d+1}``).
    """
    j = check_int("j", j, minimum=1)
    if is_stack(cond, 2):  # (B, T, N): every instance checked, one SVD call on the stack, (B,)
        check_single_options(dps=dps)
        reading = _check_reading(reading)
        p, P, L = check_stack(_task_logs, prior=prior, cond=cond)
        return sigma_kernel(p, P, L, j, reading)
    if dps is not None:
        from .precise import MP, exact_log, exact_task, working

        with working(dps):
            p, P = exact_task(prior, cond)
            return sigma_kernel(p, P, exact_log(P), j, _check_reading(reading), MP)
    s = singular_values(prior, cond, reading)
    return float(s[j - 1]) if j <= s.size else 0.0
