"""The ledger's batched evaluations: many instances of one shape ``(T, N)`` and one ``d``, never raising for one.

Every array carries a leading batch axis ``B``: ``prior (B, T)``, ``cond (B, T, N)``, logits ``F (B, T, N)``.
The formulas are the kernels of ``theory.divergence``, ``theory.bounds`` and ``theory.lowrank``, whose float64
functions take such stacks themselves (and raise for a bad instance); so batch and scalar agree bit for bit
(tests/test_batch.py). What is this module's own: the per-instance validation (where the scalar code raises
``ValueError`` the instance gets ``ok = False``, a reason ``why`` and NaN values, and the caller falls back to
the scalar code for exactly those instances; malformed input raises as the scalar code does), the chunking
(:data:`CHUNK`), the explicit tasks and recipes of a batch, and the ledger's evaluations of ``seed.ls-bound``,
``seed.wls-bound``, ``draft.theorem-ls``, ``draft.theorem-wls`` and ``draft.lemma-taylor``.

>>> rng = np.random.default_rng(0)
>>> Z, logw = rng.normal(size=(3, 4, 5)), rng.uniform(-3, 0, size=(3, 4))
>>> prior, cond = tasks_from_logits(Z, logw)
>>> F, ok, why = fit_logits_batch(prior, cond, 2, "ls", "uniform")
>>> F.shape, ok.tolist()
((3, 4, 5), [True, True, True])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .bounds import CATALOGUE, KERNEL_KIND, Bound, almost_rank_kernel
from .divergence import (expect, fbar_kernel, kl_rows_kernel, log_softmax, taylor_identity_rows, taylor_proxy_rows,
                         taylor_remainder_rows)
from .lowrank import ALT_SWEEPS, ALT_TOL, FITS, check_fit, fit_kernel, ls_fit_kernel, wls_alternating_kernel
from .spectra import SIGMA_READINGS
from .validate import SUM_RTOL, check_array, check_choice, check_chunk, check_int, mark_failed

__all__ = ["BATCH_FITS", "BATCH_BOUNDS", "CHUNK", "tasks_from_logits", "recipes_from_batch", "fit_logits_batch",
           "AlternatingBatch", "wls_alternating_batch", "evaluate_bound_batch", "taylor_identity_batch",
           "taylor_bound_batch"]

#: The maps ``fit_logits_batch`` builds: every fit of ``theory.lowrank.FITS`` (``min`` included), the same list.
BATCH_FITS = FITS
#: The catalogue bounds :func:`evaluate_bound_batch` evaluates: every one that needs Assumption 2.
BATCH_BOUNDS = tuple(b for b in CATALOGUE if b.needs == "assumption2")
#: Instances per block in the public functions: bounds the temporaries. The
#: largest is ``(CHUNK, T, N, d)`` float64 (``draft.lemma-wls`` system), 15 MiB
#: for T = 16, N = 12, d = 10; a handful live at once.
CHUNK = 1024


# ------------------------------------------------------------------ helpers


def _check_batch(prior, cond):
    """``(p (B, T), P (B, T, N))`` as float64 arrays of matching shapes (raises on a shape error only)."""
    p = check_array("prior", prior, finite=False)  # NaN/inf kept: such an instance is refused, not the batch
    P = check_array("cond", cond, finite=False)
    if P.ndim != 3 or P.shape[0] < 1 or P.shape[1] < 1 or P.shape[2] < 2:
        raise ValueError(f"`cond` must have shape (B, T, N) with B, T >= 1, N >= 2 (got {P.shape})")
    if p.shape != P.shape[:2]:
        raise ValueError(f"`prior` must have shape (B, T) = {P.shape[:2]} to match `cond` (got {p.shape})")
    return p, P


def _valid_tasks(p, P):
    """Per instance: a valid task (``check_prior_cond``: finite, rows and prior probability vectors) under
    Assumption 2 (``log_probs``), ``(B,)``; reasons."""
    why = np.full(P.shape[0], "", dtype=object)
    with np.errstate(invalid="ignore"):
        task = (np.isfinite(P).all(axis=(1, 2)) & np.isfinite(p).all(axis=1)
                & (P >= 0).all(axis=(1, 2)) & (np.abs(P.sum(axis=2) - 1.0) <= SUM_RTOL).all(axis=1)
                & (p >= 0).all(axis=1) & (np.abs(p.sum(axis=1) - 1.0) <= SUM_RTOL))
    why[~task] = "not a task: a row of `cond` or the prior is not a probability vector"
    a2 = task & (P > 0).all(axis=(1, 2))
    why[task & ~a2] = "`cond` violates Assumption 2 (full support): a probability is 0, so log Pi is -inf"
    return a2, why


def _sanitise(p, P, ok):
    """Copies where the instances with ``ok = False`` are replaced by a uniform task (so no LAPACK call sees inf/NaN)."""
    if ok.all():
        return p, P
    T, N = P.shape[1:]
    p = np.where(ok[:, None], p, 1.0 / T)
    P = np.where(ok[:, None, None], P, 1.0 / N)
    return p, P


def _chunked(fn, B, *arrays, chunk=None):
    """Apply ``fn`` to slices of at most ``chunk`` instances and concatenate each output along axis 0."""
    chunk = CHUNK if chunk is None else check_chunk(chunk)
    if B <= chunk:
        return fn(*arrays)
    parts = [fn(*(a[lo:lo + chunk] for a in arrays)) for lo in range(0, B, chunk)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate([q[i] for q in parts]) for i in range(len(parts[0])))
    return np.concatenate(parts)


def _check_d(d, fit, N):
    return check_int("d", d, minimum=1, maximum=N if fit == "ls" else N - 1)


# ------------------------------------------------------------------ tasks


def _explicit_inputs(Z, logw):
    """``(Z, logw)`` as float64 arrays of matching shapes, and per instance whether ``explicit_task`` accepts it."""
    Z = np.asarray(Z, dtype=np.float64)
    lw = np.asarray(logw, dtype=np.float64)
    if Z.ndim != 3 or Z.shape[0] < 1 or Z.shape[1] < 1 or Z.shape[2] < 2:
        raise ValueError(f"`Z` must have shape (B, T, N) with B, T >= 1, N >= 2 (got {Z.shape})")
    if lw.shape != Z.shape[:2]:
        raise ValueError(f"`logw` must have shape (B, T) = {Z.shape[:2]} (got {lw.shape})")
    why = np.full(Z.shape[0], "", dtype=object)
    why[~np.isfinite(Z).all(axis=(1, 2))] = "`logits` must be finite"
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.exp(lw)
        bad_w = ~np.isfinite(w).all(axis=1) | ~(w.sum(axis=1) > 0)
    why[bad_w & (why == "")] = "`weights` must be finite non-negative numbers with a positive sum"
    return Z, lw, why == "", why


def tasks_from_logits(Z, logw):
    """Batched ``theory.generators.explicit_task``: ``prior (B, T)``, ``cond (B, T, N)``, bit for bit.

    ``cond = exp(log_softmax(Z))`` renormalised, ``prior = exp(logw) / sum``. ``Z (B, T, N)`` finite,
    ``N >= 2``; ``logw (B, T)`` with a positive total weight per instance. ``ValueError`` on a shape error
    or naming the first instance ``explicit_task`` rejects.

    >>> prior, cond = tasks_from_logits(np.zeros((1, 2, 3)), np.log([[1.0, 3.0]]))
    >>> prior.round(12).tolist(), cond[0, 0].round(4).tolist()
    ([[0.25, 0.75]], [0.3333, 0.3333, 0.3333])
    """
    Z, lw, ok, why = _explicit_inputs(Z, logw)
    if not ok.all():
        b = int(np.argmin(ok))
        raise ValueError(f"instance {b} is not a task: {why[b]} (`Z` and `logw`, as explicit_task)")
    return _tasks(Z, lw)


def _tasks(Z, lw):
    cond = np.exp(log_softmax(Z))
    cond /= cond.sum(axis=2, keepdims=True)
    w = np.exp(lw)
    return w / w.sum(axis=1, keepdims=True), cond


def recipes_from_batch(Z, logw, **extra) -> list:
    """The ledger's explicit recipes of a batch (``kind="explicit"``), one per instance.

    ``weights = exp(logw)`` as Python floats (exact), so
    ``verify.recipes.task_from(recipe)`` rebuilds instance ``b`` of
    :func:`tasks_from_logits` bit for bit. ``extra`` (e.g. ``d=2``) is added
    to every recipe: the scalar fallback for instances with ``ok = False``.

    >>> r = recipes_from_batch(np.zeros((1, 2, 3)), np.zeros((1, 2)), d=1)[0]
    >>> r["kind"], r["N"], r["S"], r["weights"], r["d"]
    ('explicit', 3, 1, [1.0, 1.0], 1)
    """
    Z = np.asarray(Z, dtype=np.float64)
    w = np.exp(np.asarray(logw, dtype=np.float64))
    B, T, N = Z.shape
    S = 1
    while N**S < T:
        S += 1
    return [{"kind": "explicit", "N": N, "S": S, "logits": Z[b].tolist(), "weights": w[b].tolist(), "seed": 0,
             **extra} for b in range(B)]


# ------------------------------------------------------------------ bounds

def _check_bound(bound):
    if not isinstance(bound, Bound) or bound not in BATCH_BOUNDS:
        names = ", ".join(b.name for b in BATCH_BOUNDS[:3])
        raise ValueError(f"`bound` must be a catalogue Bound that needs Assumption 2 ({names}, ...; "
                         f"got {getattr(bound, 'name', bound)!r})")
    return bound


# ------------------------------------------------------------------ fits


def _fit(p, P, L, d, fit, sr, ok, why):
    """The logits ``F`` of ``fit`` (every name of ``lowrank.FITS``; :func:`theory.lowrank.fit_kernel`)."""
    W, E = fit_kernel(p, P, L, d, fit, sr, ok, why)
    return E @ np.swapaxes(W, -1, -2)


def fit_logits_batch(prior, cond, d, fit, sigma_reading="uniform", *, chunk=None):
    """Logits ``F (B, T, N)`` of the rank-``d`` map ``fit`` of every instance, with ``ok (B,)`` and ``why (B,)``.

    ``fit``: a name of :data:`BATCH_FITS` = ``theory.lowrank.FITS`` (any other raises ``ValueError``), the
    map of ``theory.lowrank.fit_encoder(prior[b], cond[b], d, fit, sigma_reading)`` by the same kernel
    (:func:`theory.lowrank.fit_kernel`). ``ok[b]`` is False exactly where the scalar code raises on
    instance ``b`` (``why[b]`` says why, ``""`` when ok; ``F[b]`` is then NaN). ``d`` in ``[1, N]`` for
    ``ls``, ``[1, N-1]`` otherwise.

    References
    ----------
    the maps of the almost-rank-d bounds ``seed.ls-bound``, ``seed.wls-bound`` (docs/theory.md#s4,
    docs/theory.md#s5), ``draft.theorem-ls``, ``draft.theorem-wls`` (docs/theory.md#d4, docs/theory.md#d4-wls)
    (their ``fit=alternating`` and ``min`` readings) and of their corrections ``seed.wls-bound+matched-W_U``,
    ``seed.wls-bound+unweighted-fit``; the closed-form weighted encoder of ``draft.lemma-wls`` (docs/theory.md#d3);
    :func:`theory.lowrank.fit_kernel`.
    """
    fit = check_fit(fit)
    sr = check_choice("sigma_reading", sigma_reading, SIGMA_READINGS)
    p, P = _check_batch(prior, cond)
    d = _check_d(d, fit, P.shape[2])

    def run(p, P):
        ok, why = _valid_tasks(p, P)
        p, P = _sanitise(p, P, ok)
        F = _fit(p, P, np.log(P), d, fit, sr, ok, why)
        F[~ok] = np.nan
        return F, ok, why

    return _chunked(run, P.shape[0], p, P, chunk=chunk)


class AlternatingBatch(NamedTuple):
    """What :func:`wls_alternating_batch` returns, per instance (leading axis ``B``).

    ``W (B, N, d)``, ``E (B, T, d)``: the map (``F = E W^T``); ``sweeps (B,)``:
    ``AlternatingReport.iterations``; ``objective (B,)``: its last ``history``
    entry; ``converged (B,)``: ``AlternatingReport.converged``; ``ok``/``why``:
    False and the reason where ``f_wls_alternating`` raises (then the rest is NaN/0).
    """

    W: np.ndarray
    E: np.ndarray
    sweeps: np.ndarray
    objective: np.ndarray
    converged: np.ndarray
    ok: np.ndarray
    why: np.ndarray


def wls_alternating_batch(prior, cond, d, *, iters=ALT_SWEEPS, tol=ALT_TOL, chunk=None) -> AlternatingBatch:
    """``theory.lowrank.f_wls_alternating(prior[b], cond[b], d, iters=iters, tol=tol)`` for every ``b``.

    The same kernel (:func:`theory.lowrank.wls_alternating_kernel`, from ``W_U`` of ``f_ls`` (uniform),
    reading ``pi-prior``): an instance stops at the scalar's sweep (the sweeps run on a mask).

    References
    ----------
    ``seed.wls-bound``, ``draft.theorem-wls`` (``fit=alternating``).
    """
    p, P = _check_batch(prior, cond)
    d, iters = _check_d(d, "wls", P.shape[2]), check_int("iters", iters, minimum=0)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"`tol` must be a finite number >= 0 (got {tol!r})")

    def run(p, P):
        ok, why = _valid_tasks(p, P)
        p, P = _sanitise(p, P, ok)
        L = np.log(P)
        r = wls_alternating_kernel(p, P, L, ls_fit_kernel(p, P, L, d, "uniform")[0], ok, why, int(iters), float(tol))
        obj = r.history[r.sweeps, np.arange(P.shape[0])]
        r.W[~ok], r.E[~ok], obj[~ok] = np.nan, np.nan, np.nan
        return r.W, r.E, r.sweeps, obj, r.converged, ok, why

    return AlternatingBatch(*_chunked(run, P.shape[0], p, P, chunk=chunk))


def evaluate_bound_batch(bound, fit, Z, logw, d, *, chunk=None, with_reasons=False):
    """The ledger's evaluation of a bound claim on a batch of explicit instances: ``(lhs, rhs, ok)``, each ``(B,)``.

    Instance ``b`` is the recipe of :func:`recipes_from_batch` (``Z[b]``, ``exp(logw[b])``, ``d``) of the
    ledger entry ``f"{bound.claim}[{bound.reading}{suffix}]"`` (``,fit=alternating`` for ``wls-alt``);
    ``lhs = dKL(pi, f_fit)`` (``fit`` in ``bound.maps``; :func:`fit_logits_batch`) and
    ``rhs = bound.rhs(prior, cond, d)`` (its kernel on the stack), as ``verify/claims/lowrank.py``'s
    ``_bound_evaluator``. ``ok[b]`` False where the scalar evaluation raises (values NaN; the caller
    re-runs the scalar code). ``with_reasons=True`` returns ``(lhs, rhs, ok, why)``.

    References
    ----------
    the almost-rank-d claims of ``theory.bounds.CATALOGUE``: ``seed.ls-bound``, ``seed.wls-bound``
    (docs/theory.md#s4, docs/theory.md#s5), ``draft.theorem-ls``, ``draft.theorem-wls`` (docs/theory.md#d4,
    docs/theory.md#d4-wls); ``dKL(pi, f)`` of docs/theory.md#divergence.
    """
    bound = _check_bound(bound)
    if fit not in bound.maps:
        raise ValueError(f"`fit` must be one of the maps {bound.maps} of {bound.name} (got {fit!r})")
    sr = bound.sigma_reading
    Z, lw, ok_in, why_in = _explicit_inputs(Z, logw)
    if not ok_in.all():  # instances explicit_task rejects: ok = False, the rest evaluated
        Z = np.where(ok_in[:, None, None], Z, 0.0)
        lw = np.where(ok_in[:, None], lw, 0.0)
    prior, cond = _tasks(Z, lw)
    d = _check_d(d, fit, cond.shape[2])

    def run(p, P, ok_in, why_in):
        ok, why = _valid_tasks(p, P)
        ok &= ok_in
        why[~ok_in] = why_in[~ok_in]
        p, P = _sanitise(p, P, ok)
        L = np.log(P)
        F = _fit(p, P, L, d, fit, sr, ok, why)
        rows = kl_rows_kernel(P, np.where(ok[:, None, None], F, 0.0))
        mark_failed(ok, why, ~np.isfinite(rows).all(axis=1),
              "`F`: the log-softmax overflows float64 where pi > 0, so the divergence is not representable")
        lhs = expect(p, np.where(np.isfinite(rows), rows, 0.0))
        rhs = almost_rank_kernel(KERNEL_KIND[bound.fn], p, P, L, d, sr, dict(bound.kwargs).get("inf_reading", "global"))
        return (*_nan_where_refused(ok, lhs, rhs), ok, why)  # +inf above float max, never NaN where ok

    lhs, rhs, ok, why = _chunked(run, cond.shape[0], prior, cond, ok_in, why_in, chunk=chunk)
    return (lhs, rhs, ok, why) if with_reasons else (lhs, rhs, ok)


# ------------------------------------------------------------------ draft.lemma-taylor
#
# Each function: the kernels of theory.divergence (fbar_kernel, taylor_*_rows, kl_rows_kernel) on the valid
# instances; NaN (and ok = False) where the scalar code raises (Assumption 2, non-finite F, an overflow).


def _taylor_inputs(prior, cond, F):
    p, P = _check_batch(prior, cond)
    F = check_array("F", F, finite=False)
    if F.shape != P.shape:
        raise ValueError(f"`F` must have the shape of `cond` {P.shape} (got {F.shape})")
    ok, why = _valid_tasks(p, P)
    mark_failed(ok, why, ~np.isfinite(F).all(axis=(1, 2)), "`F` contains NaN or inf")
    p, P = _sanitise(p, P, ok)
    F = np.where(ok[:, None, None], F, 0.0)
    fb = fbar_kernel(P, F)
    mark_failed(ok, why, ~np.isfinite(fb).all(axis=(1, 2)), "`F`: fbar overflows float64")
    return p, P, F, np.where(ok[:, None, None], fb, 0.0), ok, why


def _nan_where_refused(ok, *values):
    for v in values:
        v[~ok] = np.nan
    return values if len(values) > 1 else values[0]


def _taylor_kl(p, P, F, ok, why):
    """``dKL(pi, f)`` per instance (``theory.divergence.kl``); a log-softmax overflow refuses the instance."""
    rows = kl_rows_kernel(P, F)
    mark_failed(ok, why, ~np.isfinite(rows).all(axis=1), "`F`: the log-softmax overflows float64")
    return expect(p, np.where(np.isfinite(rows), rows, 0.0))


def taylor_identity_batch(prior, cond, F):
    """``draft.lemma-taylor[identity]`` of every instance: ``(lhs, rhs, ok)``, each ``(B,)``.

    ``lhs = dKL(pi, f)``, ``rhs = E_t log E_{o~pi_t} e^{fbar_t(o)}`` (``theory.divergence.taylor_identity_rows``).

    References
    ----------
    ``draft.lemma-taylor[identity]`` (draft section 4).
    """
    p, P, F, fb, ok, why = _taylor_inputs(prior, cond, F)
    lhs = _taylor_kl(p, P, F, ok, why)
    return (*_nan_where_refused(ok, lhs, expect(p, taylor_identity_rows(P, fb))), ok)


def taylor_bound_batch(prior, cond, F):
    """``draft.lemma-taylor`` (the bound) of every instance: ``(lhs, rhs, ok)``, each ``(B,)``.

    ``lhs = |dKL(pi, f) - E_t log(1 + Var_{o~pi_t}(fbar_t)/2)|``, ``rhs = E_t exp3(||fbar_t||_2)`` (the
    ledger's ``_taylor_bound``).

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4).
    """
    p, P, F, fb, ok, why = _taylor_inputs(prior, cond, F)
    lhs = np.abs(_taylor_kl(p, P, F, ok, why) - expect(p, taylor_proxy_rows(P, fb)))
    return (*_nan_where_refused(ok, lhs, expect(p, taylor_remainder_rows(fb))), ok)
