"""Batched evaluation of the ledger's cheap claims: many instances of one shape ``(T, N)`` and one ``d`` at once.

Every array here carries a leading batch axis ``B``: ``prior (B, T)``,
``cond (B, T, N)``, logits ``F (B, T, N)``. Each function computes, instance
by instance, what its scalar twin computes (named in its docstring), with the
same formulas in the same order of operations, vectorised over ``B`` with
stacked LAPACK calls (``np.linalg.svd`` / ``qr`` / ``solve`` on ``(B, ...)``
stacks, which call the same LAPACK routine per matrix as the 2-d call) and
the same einsum contractions and reductions. The contract is agreement with
the scalar code (tests/test_batch.py): the fitted maps, divergences, singular
values and Taylor quantities come out bit for bit those of the scalar code on
the tested shapes (the bounds within 1 ulp: numpy's vectorised ``pow`` is not
libm's), which is also what makes the alternating fit stop at the scalar's
sweep. Two steps are computed differently, with the same outcome: the
conditioning tests (``cond(A_t) <= WLS_COND_MAX``, ``1 in Im(W_U)``) are
decided by certified bounds where those are conclusive and by the scalar's own
SVD/QR elsewhere (:func:`_cond_A_ok`, :func:`_spd_cond_ok`, :func:`_check_W`).

Claims (docs/theory.md): ``seed.ls-bound``, ``seed.wls-bound``,
``draft.theorem-ls``, ``draft.theorem-wls`` (its ``min`` reading),
``draft.lemma-wls`` (the closed-form encoder), ``draft.lemma-taylor`` (both
readings).

Where the scalar code raises ``ValueError`` on an instance (Assumption 2
fails, an ill-conditioned ``draft.lemma-wls`` system, ``1 in Im(W_U)``, an
ill-conditioned W-step of the alternating fit, a log-softmax that overflows),
the batch does not raise: the instance gets ``ok = False`` and a reason
(``why``), its values are NaN, and the caller falls back to the scalar code
for exactly those instances. Malformed input (wrong shapes, a bad reading
name, ``d`` out of range) raises ``ValueError`` as the scalar code does.

Nothing loops over the batch in Python: the only loops are over the sweeps of
the alternating fit (each sweep acts on the instances still running, a mask),
over the distinct numerical ranks ``r < d`` of the completion of ``f_ls``
(at most ``d`` groups), and over chunks of :data:`CHUNK` instances (memory).

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
from .divergence import (
    expect,
    fbar_kernel,
    kl_rows_kernel,
    log_softmax,
    taylor_identity_rows,
    taylor_proxy_rows,
    taylor_remainder_rows,
)
from .lowrank import ALT_SWEEPS, ALT_TOL, FITS, check_fit, fit_kernel, ls_fit_kernel, wls_alternating_kernel
from .spectra import SIGMA_READINGS, sigma_kernel
from .validate import SUM_RTOL, check_array, check_chunk, mark_failed

__all__ = [
    "BATCH_FITS",
    "BATCH_BOUNDS",
    "CHUNK",
    "tasks_from_logits",
    "recipes_from_batch",
    "kl_rows_batch",
    "kl_batch",
    "sigma_batch",
    "fit_logits_batch",
    "AlternatingBatch",
    "wls_alternating_batch",
    "bound_batch",
    "evaluate_bound_batch",
    "fbar_batch",
    "taylor_proxy_batch",
    "taylor_remainder_bound_batch",
    "taylor_identity_batch",
    "taylor_bound_batch",
]

#: The maps ``fit_logits_batch`` builds: every fit of ``theory.lowrank.FITS`` (``min`` included), the same list.
BATCH_FITS = FITS
#: The catalogue bounds ``bound_batch`` evaluates: every one that needs Assumption 2.
BATCH_BOUNDS = tuple(b for b in CATALOGUE if b.needs == "assumption2")
#: Instances per block in the public functions: bounds the temporaries. The
#: largest is ``(CHUNK, T, N, d)`` float64 (``draft.lemma-wls`` system), 15 MiB
#: for T = 16, N = 12, d = 10; a handful live at once.
CHUNK = 1024



# ------------------------------------------------------------------ helpers


def _as_float(name, x):
    """``x`` as a float64 array (NaN/inf kept: per instance they are refused by NaN); a ``ValueError`` naming
    ``name`` when it is not a numeric array (a string, ``None``)."""
    return check_array(name, x, finite=False)


def _check_batch(prior, cond):
    """``(p (B, T), P (B, T, N))`` as float64 arrays of matching shapes (raises on a shape error only)."""
    p = _as_float("prior", prior)
    P = _as_float("cond", cond)
    if P.ndim != 3 or P.shape[0] < 1 or P.shape[1] < 1 or P.shape[2] < 2:
        raise ValueError(f"`cond` must have shape (B, T, N) with B, T >= 1, N >= 2 (got {P.shape})")
    if p.shape != P.shape[:2]:
        raise ValueError(f"`prior` must have shape (B, T) = {P.shape[:2]} to match `cond` (got {p.shape})")
    return p, P


def _is_task(p, P):
    """Per instance: ``(p, P)`` is a task (``check_prior_cond``: finite, rows and prior probability vectors), ``(B,)``."""
    with np.errstate(invalid="ignore"):
        fin = np.isfinite(P).all(axis=(1, 2)) & np.isfinite(p).all(axis=1)
        stoch = (P >= 0).all(axis=(1, 2)) & (np.abs(P.sum(axis=2) - 1.0) <= SUM_RTOL).all(axis=1)
        dist = (p >= 0).all(axis=1) & (np.abs(p.sum(axis=1) - 1.0) <= SUM_RTOL)
    return fin & stoch & dist


def _valid_tasks(p, P):
    """Per instance: a valid task (``check_prior_cond``) under Assumption 2 (``log_probs``), ``(B,)``; reasons."""
    B = P.shape[0]
    why = np.full(B, "", dtype=object)
    task = _is_task(p, P)
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


def _dot_rows(p, x):
    """``p[b] @ x[b]`` for every ``b``, ``(B,)``: a stack of 1-d dots (the scalar code's ``p @ rows``)."""
    return (p[:, None, :] @ x[:, :, None])[:, 0, 0]


def _mT(X):
    return np.swapaxes(X, -1, -2)


def _chunked(fn, B, *arrays, chunk=None):
    """Apply ``fn`` to slices of at most ``chunk`` instances and concatenate each output along axis 0."""
    chunk = CHUNK if chunk is None else check_chunk(chunk)
    if B <= chunk:
        return fn(*arrays)
    parts = [fn(*(a[lo:lo + chunk] for a in arrays)) for lo in range(0, B, chunk)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate([q[i] for q in parts]) for i in range(len(parts[0])))
    return np.concatenate(parts)


def _check_d(d, N, maximum):
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise ValueError(f"`d` must be an integer (got {d!r})")
    d = int(d)
    if not 1 <= d <= maximum:
        raise ValueError(f"`d` must lie in [1, {maximum}] for N = {N} (got {d})")
    return d


def _check_reading(reading, name="sigma_reading"):
    if not isinstance(reading, str) or reading not in SIGMA_READINGS:
        raise ValueError(f"`{name}` must be one of {SIGMA_READINGS} (got {reading!r})")
    return reading


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
    """Batched ``theory.generators.explicit_task``: ``prior (B, T)``, ``cond (B, T, N)``.

    Instance ``b`` is ``explicit_task(Z[b], np.exp(logw[b]))``, computed the same
    way: ``cond = exp(log_softmax(Z))`` (stable), ``cond /= cond.sum``,
    ``w = exp(logw)``, ``prior = w / w.sum`` -- elementwise operations and
    last-axis sums, so each instance is its scalar twin bit for bit.

    Parameters
    ----------
    Z : (B, T, N) finite logits, ``N >= 2``.
    logw : (B, T) log prior weights, ``-inf`` (weight 0) to ``709`` (``exp``
        finite); each instance needs a positive total weight (``max logw > -745``).

    Raises ``ValueError`` on a shape error, or naming the first instance that
    ``explicit_task`` rejects (non-finite logits, weights not finite or all 0).

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


# ------------------------------------------------------------------ divergence


def kl_rows_batch(cond, F):
    """Per-sequence ``KL(pi_t || softmax f(t))`` of every instance, ``(B, T)`` (``theory.divergence.kl_rows``).

    ``max(0, sum_o pi(o|t) [log pi(o|t) - log softmax(f(t))_o])``, ``0 log 0 = 0``
    (a negative sum is rounding: KL >= 0), the same elementwise terms and row
    sums as the scalar code. Where the scalar
    code raises (the log-softmax of a row underflows to ``-inf`` where
    ``pi > 0``) the row is ``+inf``; where it raises on the instance (a row of
    ``cond`` not a probability vector, ``F`` not finite) the instance's rows are NaN.

    References
    ----------
    docs/theory.md#notation ("Divergence"); :func:`theory.divergence.kl_rows_kernel`.
    """
    P = _as_float("cond", cond)
    F = _as_float("F", F)
    if P.ndim != 3 or F.shape != P.shape:
        raise ValueError(f"`cond` and `F` must both have shape (B, T, N) (got {P.shape} and {F.shape})")
    bad = ~(_is_task(np.full(P.shape[:2], 1.0 / max(P.shape[1], 1)), P) & np.isfinite(F).all(axis=(1, 2)))
    if not bad.any():
        return kl_rows_kernel(P, F)
    ok = ~bad
    rows = np.full(P.shape[:2], np.nan)
    rows[ok] = kl_rows_kernel(P[ok], F[ok])
    return rows


def kl_batch(prior, cond, F):
    """``dKL(pi, f) = sum_t p(t) KL(pi_t || softmax f(t))`` of every instance, ``(B,)`` (``theory.divergence.kl``).

    Claim ids: all (docs/theory.md#divergence). ``p @ rows`` per instance, as
    the scalar code; ``+inf`` where the scalar code raises on a log-softmax overflow,
    NaN where it raises on the instance (not a task, ``F`` not finite).

    References
    ----------
    docs/theory.md#notation ("Divergence"); all claims.
    """
    p, P = _check_batch(prior, cond)
    rows = kl_rows_batch(P, F)
    bad = ~_is_task(p, P)
    if not bad.any():
        return _dot_rows(p, rows)
    out = np.full(P.shape[0], np.nan)
    out[~bad] = _dot_rows(p[~bad], rows[~bad])
    return out


# ------------------------------------------------------------------ spectra


def sigma_batch(prior, cond, j, reading="uniform"):
    """``sigma_j`` (1-based) of the centred ``L`` of ``reading``, ``(B,)`` (``theory.spectra.sigma``).

    Claim ids: ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``,
    ``draft.theorem-wls`` (``j = d + 1``). The centred ``L`` of
    docs/theory.md#sigma (``uniform``: ``L (I - 11^T/N)``; ``pi``:
    ``L - (pi_t . L_t) 1^T``; ``-prior``: rows times ``sqrt p``), its singular
    values by a stacked ``np.linalg.svd(compute_uv=False)``; 0 beyond
    ``min(T, N)``. NaN for an instance violating Assumption 2 (the scalar code raises).

    References
    ----------
    docs/theory.md#sigma; :func:`theory.spectra.sigma_kernel`.
    """
    reading = _check_reading(reading, "reading")
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or j < 1:
        raise ValueError(f"`j` must be an integer >= 1 (got {j!r})")
    p, P = _check_batch(prior, cond)
    ok, _ = _valid_tasks(p, P)
    p, P = _sanitise(p, P, ok)
    out = sigma_kernel(p, P, np.log(P), int(j), reading)
    out[~ok] = np.nan
    return out


# ------------------------------------------------------------------ bounds

def _bound_values(bound, p, P, L, d):
    """The right-hand side of ``bound`` on valid instances, ``(B,)`` (never NaN: +inf above float max)."""
    kw = dict(bound.kwargs)
    return almost_rank_kernel(KERNEL_KIND[bound.fn], p, P, L, d, kw["sigma_reading"], kw.get("inf_reading", "global"))


def _check_bound(bound):
    if not isinstance(bound, Bound) or bound not in BATCH_BOUNDS:
        names = ", ".join(b.name for b in BATCH_BOUNDS[:3])
        raise ValueError(f"`bound` must be a catalogue Bound that needs Assumption 2 ({names}, ...; "
                         f"got {getattr(bound, 'name', bound)!r})")
    return bound


def bound_batch(bound, prior, cond, d, *, chunk=None):
    """The right-hand side ``bound.rhs(prior[b], cond[b], d)`` of every instance, ``(B,)``.

    ``bound``: a :class:`theory.bounds.Bound` of ``CATALOGUE`` with
    ``needs == "assumption2"`` (:data:`BATCH_BOUNDS`), with ``sigma =
    sigma_{d+1}`` of its sigma reading (:func:`sigma_batch`):

    - ``seed.ls-bound``: ``N ||pi||_inf^2 sigma^2 + (N ||pi||_inf)^{3/2} sigma^3``
      (``inf=global``: one max over ``(t, o)``; ``inf=per-row``: ``E_t`` of the row form);
    - ``seed.wls-bound``: ``||pi||_inf sigma^2 + (||pi||_inf / ||pi||_-inf)^{3/2} sigma^3``;
    - ``draft.theorem-ls``: ``E_t[log(1 + ||pi_t||_inf C_t sigma^2/2) + exp3(sqrt(C_t) sigma)]``,
      ``C_t = 1 + N ||pi_t||_inf / sqrt 2``;
    - ``draft.theorem-wls``: ``E_t[log(1 + ||pi_t||_inf sigma^2/2) + exp3(sqrt(||pi_t||_inf/||pi_t||_-inf) sigma)]``;
    - ``draft.theorem-wls[min,...]``: ``E_t`` of the row-wise minimum of the two draft rows.

    Conventions of ``theory.bounds``: ``E_t`` over rows with ``p(t) > 0``; a value
    above float max, or an ``exp3`` argument above ``EXP3_OVERFLOW - 1``, is
    ``+inf``, never NaN; a probability below ~1e-308 (``hi/lo`` overflows) is handled by
    ``theory.bounds.wls_ratio_times`` as in the scalar code (e.g. ``0`` at ``sigma = 0``).
    An instance violating Assumption 2 (where the scalar code raises) is NaN.

    References
    ----------
    the almost-rank-d claims of ``theory.bounds.CATALOGUE``; :func:`theory.bounds.almost_rank_kernel`.
    """
    bound = _check_bound(bound)
    p, P = _check_batch(prior, cond)
    d = _check_d(d, P.shape[2], np.iinfo(np.int64).max)

    def run(p, P):
        ok, _ = _valid_tasks(p, P)
        p, P = _sanitise(p, P, ok)
        out = _bound_values(bound, p, P, np.log(P), d)
        out[~ok] = np.nan
        return out

    return _chunked(run, P.shape[0], p, P, chunk=chunk)


# ------------------------------------------------------------------ fits


def _fit(p, P, L, d, fit, sr, ok, why):
    """The logits ``F`` of ``fit`` (every name of ``lowrank.FITS``; :func:`theory.lowrank.fit_kernel`)."""
    W, E = fit_kernel(p, P, L, d, fit, sr, ok, why)
    return E @ np.swapaxes(W, -1, -2)


def fit_logits_batch(prior, cond, d, fit, sigma_reading="uniform", *, chunk=None):
    """Logits ``F (B, T, N)`` of the rank-``d`` map ``fit`` of every instance, with ``ok (B,)`` and ``why (B,)``.

    ``fit`` (:data:`BATCH_FITS` = ``theory.lowrank.FITS``; any other name raises ``ValueError``),
    each the scalar map of ``theory.lowrank.fit_encoder``:

    - ``ls``: ``f_ls(prior, cond, d, sigma_reading)`` (``seed.ls-bound``,
      ``draft.theorem-ls``): truncated SVD of the centred ``L``, ``W = V_{:, :d}``
      (completed orthonormally, avoiding ``1``, beyond the numerical rank),
      ``E = L_c^{unw} W``, ``F = E W^T``;
    - ``wls``: ``f_wls(prior, cond, d)`` (``seed.wls-bound``,
      ``draft.lemma-wls``, ``draft.theorem-wls``): ``W_U`` of ``f_ls`` (uniform),
      ``w_E(t) = [W_U^T (I_pi - pi pi^T) W_U]^{-1} W_U^T (I_pi - pi pi^T) L_t``
      (QR form, ``cond(A_t) <= WLS_COND_MAX``); ``sigma_reading`` is not used;
    - ``wls-alt``: ``f_wls_alternating(prior, cond, d, iters=ALT_SWEEPS, tol=ALT_TOL)``
      (prior-weighted objective): per instance the same sweeps, gauge steps
      and stopping rule as the scalar code; ``sigma_reading`` is not used;
    - ``wls-matched``: ``f_wls(prior, cond, d, W_U=f_ls(prior, cond, d, sigma_reading).W)`` (the
      corrected ``+matched-W_U`` statements): the closed form with ``W_U`` of the bound's own reading;
    - ``wls-alt-unweighted``: ``f_wls_alternating(..., reading="pi")`` (``+unweighted-fit``): the
      alternating sweeps with every row weight 1; ``sigma_reading`` is not used;
    - ``min`` (``draft.theorem-wls[min,...]``, ``lowrank.f_min``): ``W_U`` = ``W`` of
      ``f_ls[sigma_reading]``; row ``t`` of ``F`` is the row of ``f_ls`` or of
      ``E_w W_U^T`` (``E_w = wls_encoder(cond, W_U)``), whichever has the
      smaller ``KL_t``. So ``kl(F) = E_t min(KL_t(f_ls), KL_t(f_wls))``, the
      ledger's left-hand side, and ``F`` has rank ``<= d`` (shared ``W_U``).

    ``ok[b]`` is False exactly where the scalar code raises ``ValueError`` on
    instance ``b`` (``why[b]`` says why, ``""`` when ok); ``F[b]`` is then NaN.
    ``d`` must lie in ``[1, N]`` for ``ls``, ``[1, N-1]`` otherwise.

    References
    ----------
    the maps of the almost-rank-d bounds; :func:`theory.lowrank.fit_kernel`.
    """
    fit = check_fit(fit)
    sr = _check_reading(sigma_reading)
    p, P = _check_batch(prior, cond)
    N = P.shape[2]
    d = _check_d(d, N, N if fit == "ls" else N - 1)

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

    Claim ``seed.wls-bound`` / ``draft.theorem-wls`` (``fit=alternating``): the
    weighted rank-``d`` problem ``min_{W, E} sum_t p(t) Var_{o~pi_t}(F_t - L_t)``
    by alternating weighted regressions, reading ``pi-prior``, from ``W_U`` of
    ``f_ls`` (uniform). Per instance the same sweeps as the scalar code: the
    E-step (``draft.lemma-wls`` encoder), the W-step (per output ``o`` the
    weighted regression ``A_o w_o = b_o``, ``cond(A_o) <= WLS_COND_MAX``), the
    gauge (remove the ``1`` direction, ``W <- Q`` of its QR), and the same
    stopping rule (objective exactly 0, or a relative decrease ``<= tol``): an
    instance that stops early stops at the same sweep as the scalar code (the
    sweeps run on a mask of the instances still running).

    References
    ----------
    ``seed.wls-bound``, ``draft.theorem-wls`` (``fit=alternating``).
    """
    p, P = _check_batch(prior, cond)
    N = P.shape[2]
    d = _check_d(d, N, N - 1)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 0:
        raise ValueError(f"`iters` must be an integer >= 0 (got {iters!r})")
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

    Instance ``b`` is the recipe ``{"kind": "explicit", "logits": Z[b],
    "weights": exp(logw[b]), "d": d}`` (:func:`recipes_from_batch`) of the
    ledger entry ``f"{bound.claim}[{bound.reading}{suffix}]"`` (suffix
    ``,fit=alternating`` for ``wls-alt``), and ``(lhs, rhs)`` are that entry's
    ``Evaluation.lhs`` / ``.rhs`` (``verify/claims/lowrank.py::_bound_evaluator``):

    - ``lhs = dKL(pi, f_fit)`` (``fit`` in ``bound.maps``), for ``min``
      ``E_t min(KL_t(f_ls), KL_t(E_w W_U^T))`` with ``W_U`` of ``f_ls[sigma reading]``;
    - ``rhs = bound.rhs(prior, cond, d)`` (:func:`bound_batch`).

    ``ok[b]`` is False where the scalar evaluation raises (then ``lhs``/``rhs``
    are NaN; the caller re-runs the scalar code on those recipes).
    ``with_reasons=True`` returns ``(lhs, rhs, ok, why)``.

    References
    ----------
    the almost-rank-d claims of ``theory.bounds.CATALOGUE``.
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
    N = cond.shape[2]
    d = _check_d(d, N, N if fit == "ls" else N - 1)

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
        lhs = _dot_rows(p, np.where(np.isfinite(rows), rows, 0.0))
        rhs = _bound_values(bound, p, P, L, d)
        lhs[~ok] = np.nan
        rhs[~ok] = np.nan
        return lhs, rhs, ok, why

    lhs, rhs, ok, why = _chunked(run, cond.shape[0], prior, cond, ok_in, why_in, chunk=chunk)
    return (lhs, rhs, ok, why) if with_reasons else (lhs, rhs, ok)


# ------------------------------------------------------------------ draft.lemma-taylor


def _taylor_inputs(prior, cond, F):
    p, P = _check_batch(prior, cond)
    F = _as_float("F", F)
    if F.shape != P.shape:
        raise ValueError(f"`F` must have the shape of `cond` {P.shape} (got {F.shape})")
    ok, why = _valid_tasks(p, P)
    finite = np.isfinite(F).all(axis=(1, 2))
    mark_failed(ok, why, ~finite, "`F` contains NaN or inf")
    p, P = _sanitise(p, P, ok)
    F = np.where(ok[:, None, None], F, 0.0)
    fb = fbar_kernel(P, F)
    mark_failed(ok, why, ~np.isfinite(fb).all(axis=(1, 2)), "`F`: fbar overflows float64")
    fb = np.where(ok[:, None, None], fb, 0.0)
    return p, P, F, fb, ok, why


def fbar_batch(cond, F):
    """``fbar_t = f(t) - L_t - E_{o~pi_t}[f(t)_o - L_{t,o}]`` of every instance, ``(B, T, N)`` (``theory.divergence.fbar``).

    Claim ``draft.lemma-taylor``. NaN for an instance where the scalar code
    raises (Assumption 2 fails, non-finite ``F``, overflow).

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4); :func:`theory.divergence.fbar_kernel`.
    """
    P = _as_float("cond", cond)
    if P.ndim != 3:
        raise ValueError(f"`cond` must have shape (B, T, N) (got {P.shape})")
    p = np.full(P.shape[:2], 1.0 / P.shape[1])
    _, _, _, fb, ok, _ = _taylor_inputs(p, P, F)
    fb[~ok] = np.nan
    return fb


def taylor_proxy_batch(prior, cond, F):
    """``E_t log(1 + Var_{o~pi_t}(fbar_t) / 2)`` of every instance, ``(B,)`` (``theory.divergence.taylor_proxy``).

    Claim ``draft.lemma-taylor``; the variance is scaled by ``max |fbar_t|``
    as in the scalar code (no overflow for huge logits). NaN where the scalar code raises.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4).
    """
    p, P, _, fb, ok, _ = _taylor_inputs(prior, cond, F)
    out = expect(p, taylor_proxy_rows(P, fb))
    out[~ok] = np.nan
    return out


def taylor_remainder_bound_batch(prior, cond, F):
    """``E_t exp3(||fbar_t||_2)`` of every instance, ``(B,)`` (``theory.divergence.taylor_remainder_bound``).

    Claim ``draft.lemma-taylor`` (right-hand side). ``+inf`` when some row
    with ``p(t) > 0`` has ``||fbar_t|| > log(float max)``; NaN where the scalar code raises.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4).
    """
    p, _, _, fb, ok, _ = _taylor_inputs(prior, cond, F)
    out = expect(p, taylor_remainder_rows(fb))
    out[~ok] = np.nan
    return out


def taylor_identity_batch(prior, cond, F):
    """``draft.lemma-taylor[identity]`` of every instance: ``(lhs, rhs, ok)``, each ``(B,)``.

    ``lhs = dKL(pi, f)`` (:func:`kl_batch`), ``rhs = E_t log E_{o~pi_t} e^{fbar_t(o)}``
    by the algorithm of ``scipy.special.logsumexp(fbar, b=pi)``, which the
    ledger uses (``theory.divergence.taylor_identity_rows``). ``ok`` False (values NaN) where
    the scalar evaluation raises.

    References
    ----------
    ``draft.lemma-taylor[identity]`` (draft section 4).
    """
    p, P, F, fb, ok, why = _taylor_inputs(prior, cond, F)
    rows = kl_rows_kernel(P, F)
    mark_failed(ok, why, ~np.isfinite(rows).all(axis=1), "`F`: the log-softmax overflows float64")
    lhs = _dot_rows(p, np.where(np.isfinite(rows), rows, 0.0))
    rhs = expect(p, taylor_identity_rows(P, fb))
    lhs[~ok] = np.nan
    rhs[~ok] = np.nan
    return lhs, rhs, ok


def taylor_bound_batch(prior, cond, F):
    """``draft.lemma-taylor`` (the bound) of every instance: ``(lhs, rhs, ok)``, each ``(B,)``.

    ``lhs = |dKL(pi, f) - E_t log(1 + Var_{o~pi_t}(fbar_t)/2)|`` and
    ``rhs = E_t exp3(||fbar_t||_2)`` (the ledger's ``_taylor_bound``:
    ``abs(kl - taylor_proxy)`` against ``taylor_remainder_bound``). ``ok``
    False (values NaN) where the scalar evaluation raises.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4).
    """
    p, P, F, fb, ok, why = _taylor_inputs(prior, cond, F)
    rows = kl_rows_kernel(P, F)
    mark_failed(ok, why, ~np.isfinite(rows).all(axis=1), "`F`: the log-softmax overflows float64")
    dk = _dot_rows(p, np.where(np.isfinite(rows), rows, 0.0))
    lhs = np.abs(dk - expect(p, taylor_proxy_rows(P, fb)))
    rhs = expect(p, taylor_remainder_rows(fb))
    lhs[~ok] = np.nan
    rhs[~ok] = np.nan
    return lhs, rhs, ok
