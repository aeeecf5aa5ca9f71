"""The optimal rank-``d`` encoder of many small tasks of one shape at once (``paper.prop1``, ``paper.lemma1``).

:func:`optimal_encoder_batch` returns, for every instance ``b`` of a stack ``prior (B, T)``,
``cond (B, T, N)``, what :func:`aotmem.theory.optimal.optimal_encoder` (``starts=0``) returns: the best
end point, from the starts ``f_ls`` and ``f_wls`` (when its system is well conditioned), of a descent
on ``dKL(pi, E W^T) = sum_t p(t) KL(pi_t || softmax(E(t) W^T))``, certified by the same stopping rule:
``max |gradient entry| <= tol`` w.r.t. the balanced factors (:func:`aotmem.theory.optimal.balance`),
with Assumption 2 holding. The objective and its gradient are the scalar optimiser's own kernel
(:func:`aotmem.theory.optimal.objective_grad`, one log-softmax of ``theory.divergence``); the starts are
``theory.batch.fit_logits_batch`` (``ls``, ``wls``: the scalar ``f_ls`` / ``f_wls``, batched).

Method (vectorised over the batch; the Python loop runs over iterations only, on the instances still
running): damped Newton (Levenberg-Marquardt with a trust-ratio update of the damping) on ``(W, E)``
jointly, with the exact joint Hessian

    ``d^2 dKL = sum_t p_t dF_t^T A_t dF_t + 2 <G, dE dW^T>``,  ``dF = dE W^T + E dW^T``,
    ``A_t = diag(q_t) - q_t q_t^T``, ``G = p (softmax(F) - pi)``,

assembled as a dense ``(n, n)`` matrix per instance (``n = (N + T) d``; these are the searched small
tasks, ``(N + T) d <= BATCH_MAX_DIM``). A step solves ``(H + lambda I) s = -g`` with
``lambda = mu * max diag(H)``; it is kept only when the objective decreases (or both the decrease and the
predicted decrease are at the objective's rounding level, as in the scalar trust-region method), so no
end point is worse than its start. The factors are re-balanced after every step (the gauge
``W -> W M``, ``E -> E M^{-T}``, ``W -> W + 1 a^T`` changes no probability; the damping removes the null
directions it gives the Hessian).

What is certified, and what falls back: an instance is returned from the batch only when every start
it ran ended with the gradient test passed (``converged``); every other instance (a start that hit
``BATCH_MAX_ITER`` or stalled, a prior with zeros, Assumption 2 failing, ``d >= min(N - 1, T)``'s closed
form, a shape above ``BATCH_MAX_DIM``) is computed by the scalar ``optimal_encoder`` itself, so the
batch never returns a result the scalar rule would not certify. Like the scalar method, the result is
a stationary point (the best of the starts), an upper bound on ``dKL(pi, L(N,S,d))``, not a global
certificate; tests/test_optimal_batch.py checks that batch and scalar end at the same divergence
(``BATCH_AGREE_RTOL``) on random instances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .batch import fit_logits_batch
from .divergence import kl_rows_unchecked, log_softmax_unchecked
from .optimal import GRAD_TOL, OptimalResult, balance, neg_entropy, objective_grad, optimal_encoder
from .validate import check_array, check_int

__all__ = ["optimal_encoder_batch", "BATCH_MAX_ITER", "BATCH_MAX_DIM", "BATCH_AGREE_RTOL", "BatchRun"]

# Damped-Newton iterations per start before an instance is handed to the scalar optimiser. Converging
# instances of the searched tasks take 5-60 (measured); those that do not converge in 100 are the slow,
# ill-conditioned ones (probabilities ~1e-25), where the scalar method's varpro / L-BFGS polish is kept.
BATCH_MAX_ITER = 100
# Largest joint dimension (N + T) d solved densely in the batch (a (n, n) solve per instance and step);
# larger instances go to the scalar optimiser (its reduced, variable-projection Hessian is smaller).
BATCH_MAX_DIM = 160
# Damping: lambda = mu max diag(H); mu starts at MU0, is divided by 3 after a very good step, multiplied
# by 4 after a poor or rejected one, and never goes below MU_MIN (the gauge null space needs lambda > 0).
MU0 = 1e-3
# The per-row solve of E*(W) at the start (_inner_rows): sweeps, gradient tolerance, relative damping.
INNER_SWEEPS = 30
INNER_GTOL = 1e-12
INNER_DAMP = 1e-11
MU_MIN = 1e-12
MU_MAX = 1e12
# Batch and scalar end points agree to this relative divergence on the tested random instances (both
# certified stationary: the same local minimum, whose value a 1e-9 gradient fixes to ~1e-15 relative;
# the margin covers a flat minimum's rounding).
BATCH_AGREE_RTOL = 1e-9


@dataclass(frozen=True)
class BatchRun:
    """End points of :func:`minimize_batch` for ``K`` stacked problems: balanced ``W (K, N, d)``, ``E (K, T, d)``,
    objective ``value (K,)`` (``negent + cross-entropy``), ``grad_max (K,)``, ``grad_norm (K,)``,
    ``iterations (K,)``, ``converged (K,)`` (``grad_max <= tol``, evaluated at the returned factors)."""

    W: np.ndarray
    E: np.ndarray
    value: np.ndarray
    grad_max: np.ndarray
    grad_norm: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def _hessian(p, P, W, E):
    """The joint Hessian ``(K, n, n)`` of ``dKL`` in ``x = [vec W (n, i), vec E (t, i)]`` (module docstring)."""
    K, T, N = P.shape
    d = W.shape[2]
    q = np.exp(log_softmax_unchecked(E @ np.swapaxes(W, 1, 2)))
    G = p[:, :, None] * (q - P)
    M = -p[:, :, None, None] * q[:, :, :, None] * q[:, :, None, :]  # p_t A_t (K, T, N, N)
    idx = np.arange(N)
    M[:, :, idx, idx] += p[:, :, None] * q
    MW = M @ W[:, None]  # (K, T, N, d)
    nW, nE = N * d, T * d
    H = np.zeros((K, nW + nE, nW + nE))
    H[:, :nW, :nW] = np.einsum("ktnm,kti,ktj->knimj", M, E, E).reshape(K, nW, nW)
    HEE = np.einsum("kni,ktnj->ktij", W, MW)  # (K, T, d, d) diagonal blocks
    blocks = H[:, nW:, nW:].reshape(K, T, d, T, d)
    tt = np.arange(T)
    blocks[:, tt, :, tt, :] = np.swapaxes(HEE, 0, 1)
    H[:, nW:, nW:] = blocks.reshape(K, nE, nE)
    HWE = np.einsum("ktnj,kti->knitj", MW, E) + np.einsum("ktn,ij->knitj", G, np.eye(d))
    H[:, :nW, nW:] = HWE.reshape(K, nW, nE)
    H[:, nW:, :nW] = np.swapaxes(H[:, :nW, nW:], 1, 2)
    return H


def _grads(p, P, negent, W, E):
    """``(value, g (K, n), grad_max, grad_norm)`` at ``(W, E)`` by :func:`objective_grad`."""
    v, gW, gE = objective_grad(p, P, negent, W, E)
    K = W.shape[0]
    g = np.concatenate([gW.reshape(K, -1), gE.reshape(K, -1)], axis=1)
    return v, g, np.max(np.abs(g), axis=1), np.sqrt(np.sum(g * g, axis=1))


def _solve(H, g, lam):
    """``s = -(H + lam I)^{-1} g`` per instance; an instance whose system is singular or not finite gets NaN."""
    n = H.shape[1]
    A = H + lam[:, None, None] * np.eye(n)
    try:
        return -np.linalg.solve(A, g[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full(g.shape, np.nan)
        for k in range(H.shape[0]):
            try:
                out[k] = -np.linalg.solve(A[k], g[k])
            except np.linalg.LinAlgError:
                pass
        return out


def _inner_rows(P, W, E, sweeps: int = INNER_SWEEPS):
    """``E*(W)``: the per-row minimiser of ``dKL`` at fixed ``W`` (convex under Assumption 2), by damped per-row
    Newton with per-row halving, from ``E``; each row's objective never increases (the scalar optimiser's
    variable-projection start, :func:`aotmem.theory.optimal.inner_encoder`)."""
    K, T, N = P.shape
    d = W.shape[2]
    Wt = np.swapaxes(W, 1, 2)[:, None]  # (K, 1, d, N)

    def row_obj(E):
        ls = log_softmax_unchecked(E @ np.swapaxes(W, 1, 2))
        return -np.sum(P * ls, axis=2), np.exp(ls)

    f, q = row_obj(E)
    for _ in range(sweeps):
        g = ((q - P)[:, :, None, :] * Wt).sum(axis=3)  # (K, T, d): W^T (q_t - pi_t)
        if np.max(np.abs(g), initial=0.0) <= INNER_GTOL:
            break
        A = np.einsum("kni,ktn,knj->ktij", W, q, W) - np.einsum("ktn,kni->kti", q, W)[..., :, None] * \
            np.einsum("ktn,kni->kti", q, W)[..., None, :]
        tr = np.einsum("ktii->kt", A)
        A = A + (INNER_DAMP * np.maximum(tr, np.finfo(float).tiny) / d)[..., None, None] * np.eye(d)
        step = np.linalg.solve(A, g[..., None])[..., 0]
        alpha = np.ones((K, T))
        for _h in range(30):
            En = E - alpha[..., None] * step
            fn, qn = row_obj(En)
            bad = ~(fn <= f)
            if not bad.any():
                break
            alpha = np.where(bad, alpha / 2, alpha)
        keep = ~bad
        E = np.where(keep[..., None], En, E)
        f = np.where(keep, fn, f)
        q = np.where(keep[..., None], qn, q)
    return E


def minimize_batch(p, P, W0, E0, *, tol: float = GRAD_TOL, max_iter: int = BATCH_MAX_ITER) -> BatchRun:
    """Damped Newton on ``(W, E)`` for ``K`` stacked problems of one shape (module docstring), from ``(W0, E0)``.

    Needs ``p > 0`` and Assumption 2 (``P > 0``) on every instance (the callers check). Returns a :class:`BatchRun`.

    References
    ----------
    ``paper.prop1`` (paper Proposition 1: ``dKL(pi, L(N,S,d))``; docs/theory.md#p1), ``paper.lemma1`` (paper Lemma
    1: attained under Assumption 2; docs/theory.md#p4).
    """
    K, T, N = P.shape
    d = W0.shape[2]
    negent = neg_entropy(p, P)
    W0 = W0 - W0.mean(axis=1, keepdims=True)
    W, E = balance(W0, _inner_rows(P, W0, E0))
    f, g, gmax, gnorm = _grads(p, P, negent, W, E)
    mu = np.full(K, MU0)
    iters = np.zeros(K, dtype=int)
    done = gmax <= tol
    dead = ~np.isfinite(f)
    eps = np.finfo(float).eps
    for _ in range(max_iter):
        act = np.flatnonzero(~done & ~dead)
        if act.size == 0:
            break
        pa, Pa, Wa, Ea, fa, ga = p[act], P[act], W[act], E[act], f[act], g[act]
        H = _hessian(pa, Pa, Wa, Ea)
        scale = np.maximum(np.max(np.abs(np.einsum("kii->ki", H)), axis=1), np.finfo(float).tiny)
        s = _solve(H, ga, mu[act] * scale)
        pred = -(np.sum(ga * s, axis=1) + 0.5 * np.einsum("ki,kij,kj->k", s, H, s))
        Wn = Wa + s[:, : N * d].reshape(-1, N, d)
        En = Ea + s[:, N * d:].reshape(-1, T, d)
        with np.errstate(over="ignore", invalid="ignore"):
            fn = objective_grad(pa, Pa, negent[act], Wn, En)[0]
        noise = 16 * eps * (np.abs(negent[act]) + np.abs(fa) + 1.0)
        good = np.isfinite(fn) & np.all(np.isfinite(s), axis=1)
        accept = good & ((fn < fa) | ((pred <= noise) & (fn <= fa + noise)))
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(good & (pred > 0), (fa - fn) / pred, -1.0)
        mu[act] = np.clip(np.where(rho > 0.75, mu[act] / 3, np.where(rho < 0.25, mu[act] * 4, mu[act])), MU_MIN, MU_MAX)
        iters[act] += 1
        acc = act[accept]
        if acc.size:
            Wb, Eb = balance(Wn[accept], En[accept])
            W[acc], E[acc] = Wb, Eb
            f[acc], g[acc], gmax[acc], gnorm[acc] = _grads(p[acc], P[acc], negent[acc], Wb, Eb)
            done[acc] = gmax[acc] <= tol
        dead[act[~accept & (mu[act] >= MU_MAX)]] = True  # no decrease even at the largest damping: stalled
    return BatchRun(W, E, f, gmax, gnorm, iters, done & np.isfinite(f))


def _factors(F, d):
    """Balanced-able factors ``(W (K, N, d), E (K, T, d))`` with the probabilities of the rank-``d`` logits ``F``:
    truncated SVD of the row-centred ``F`` (row constants change no probability)."""
    Fc = F - F.mean(axis=2, keepdims=True)
    U, s, Vt = np.linalg.svd(Fc, full_matrices=False)
    rs = np.sqrt(s[:, :d])[:, None, :]
    return np.swapaxes(Vt[:, :d], 1, 2) * rs, U[:, :, :d] * rs


def _dkl(p, P, F):
    """``sum_t p(t) KL_t`` per instance, by the scalar's per-row kernel (``theory.divergence.kl_rows_unchecked``)."""
    K, T, N = P.shape
    return np.sum(p * kl_rows_unchecked(P.reshape(K * T, N), F.reshape(K * T, N)).reshape(K, T), axis=1)


def _check(prior, cond):
    P = check_array("cond", cond, ndim=3)
    p = check_array("prior", prior, ndim=2)
    if p.shape != P.shape[:2]:
        raise ValueError(f"`prior` must have shape (B, T) = {P.shape[:2]} (got {p.shape})")
    if np.any(P < 0) or not np.allclose(P.sum(axis=2), 1.0, rtol=0, atol=1e-9):
        raise ValueError("`cond` rows must be probability distributions (>= 0, summing to 1)")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        raise ValueError("`prior` rows must be probability distributions (>= 0, summing to 1)")
    return p, P


def optimal_encoder_batch(prior, cond, d: int, *, tol: float = GRAD_TOL, max_iter: int = 5000) -> list:
    """:func:`~aotmem.theory.optimal.optimal_encoder` (``starts=0``) of every instance of a stack: a list of
    :class:`~aotmem.theory.optimal.OptimalResult` (``paper.prop1``'s ``dKL(pi, L(N,S,d))``, from above).

    ``prior (B, T)``, ``cond (B, T, N)``; ``max_iter`` is the scalar optimiser's limit for the instances it
    takes over. Instances the batch certifies (every start converged, module docstring) come from the batch,
    with ``message`` saying so; every other instance is ``optimal_encoder(prior[b], cond[b], d, starts=0,
    seed=0, tol=tol, max_iter=max_iter)`` itself.

    References
    ----------
    ``paper.prop1`` (paper Proposition 1; docs/theory.md#p1), ``draft.prop1`` (draft D.1), ``paper.lemma1`` (paper
    Lemma 1; docs/theory.md#p4); :func:`aotmem.theory.optimal.optimal_encoder`.

    >>> from aotmem.theory.generators import dirichlet_task
    >>> ts = [dirichlet_task(5, 1, seed=s) for s in range(3)]
    >>> rs = optimal_encoder_batch(np.stack([t.prior for t in ts]), np.stack([t.cond for t in ts]), 1)
    >>> [r.converged for r in rs], rs[0].divergence <= optimal_encoder(ts[0].prior, ts[0].cond, 1, starts=0).divergence * (1 + 1e-9)
    ([True, True, True], True)
    """
    p, P = _check(prior, cond)
    B, T, N = P.shape
    d = check_int("d", d, minimum=1)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"`tol` must be a finite number > 0 (got {tol!r})")
    scalar = lambda b: optimal_encoder(p[b], P[b], d, starts=0, seed=0, tol=tol, max_iter=max_iter)  # noqa: E731
    ok = np.all(p > 0, axis=1) & np.all(P > 0, axis=(1, 2))
    if B == 0 or d >= min(N - 1, T) or (N + T) * d > BATCH_MAX_DIM or not ok.any():
        return [scalar(b) for b in range(B)]
    idx = np.flatnonzero(ok)
    pb, Pb = p[idx], P[idx]
    F_ls, ok_ls, _ = fit_logits_batch(pb, Pb, d, "ls", "uniform")
    F_w, ok_w, _ = fit_logits_batch(pb, Pb, d, "wls")
    # the runs: every instance from f_ls, those whose f_wls system is well conditioned from f_wls too
    run_of = [(k, "f_ls") for k in np.flatnonzero(ok_ls)] + [(k, "f_wls") for k in np.flatnonzero(ok_ls & ok_w)]
    ks = np.array([k for k, _ in run_of], dtype=int)
    F0 = np.concatenate([F_ls[np.flatnonzero(ok_ls)], F_w[np.flatnonzero(ok_ls & ok_w)]])
    W0, E0 = _factors(F0, d)
    run = minimize_batch(pb[ks], Pb[ks], W0, E0, tol=tol, max_iter=BATCH_MAX_ITER)
    init = _dkl(pb[ks], Pb[ks], F0)
    F_end = run.E @ np.swapaxes(run.W, 1, 2)
    ends = _dkl(pb[ks], Pb[ks], F_end)
    out = [None] * B
    for k in range(idx.size):
        mine = np.flatnonzero(ks == k)
        if mine.size == 0 or not np.all(run.converged[mine]):
            continue
        best = mine[0]  # f_ls first: a later start wins only with a strictly smaller objective
        for j in mine[1:]:
            if run.value[j] < run.value[best]:
                best = j
        names = [run_of[j][1] for j in mine]
        out[idx[k]] = OptimalResult(
            run.W[best], run.E[best], F_end[best], float(ends[best]), float(run.grad_norm[best]),
            int(run.iterations[best]), True, {n: float(ends[j]) for n, j in zip(names, mine)}, run_of[best][1],
            {n: float(init[j]) for n, j in zip(names, mine)},
            "batched damped Newton (theory.optimal_batch); gradient test passed from every start"
            + ("" if "f_wls" in names else "; f_wls start skipped: its system is ill-conditioned"),
            float(run.grad_max[best]), "converged")
    return [r if r is not None else scalar(b) for b, r in enumerate(out)]
