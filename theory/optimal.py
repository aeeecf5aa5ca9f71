"""The optimal rank-``d`` sequence encoder: ``dKL(pi, L(N,S,d)) = min_{rank F <= d} dKL(pi, F)``.

Claim ids: ``paper.prop1`` / ``draft.prop1`` (the quantity every Transformer
is compared with), ``paper.lemma1`` (under Assumption 2 the infimum is
attained), ``paper.prop2`` (``d >= N-1``: the value is 0), ``seed.theorem-aot``
(``f_W*``, "the optimal linear mapping of rank d").

Method: from several starts (``f_ls`` and ``f_wls`` when Assumption 2 holds,
then random ones), the best end point wins. The analytic gradient is

.. math::

    \\partial dKL / \\partial F_{t,o} = p(t) (softmax(F_t)_o - \\pi(o|t)),
    \\quad \\nabla_W = G^T E, \\quad \\nabla_E = G W.

Under Assumption 2 the ``E``-problem for fixed ``W`` is strictly convex with
a minimiser (``E*(W)`` by per-row Newton, :func:`inner_encoder`), so the
search runs on ``phi(W) = min_E dKL(pi, E W^T)`` (variable projection): by
trust-region Newton with the exact reduced Hessian on the Grassmannian of
``W`` (:func:`minimize_newton`) when its ``(m d)^2`` Hessian is affordable
(``m = N - 1 - d``, ``NEWTON_MAX_DIM``, ``NEWTON_MAX_WORK``), else, and as a
polish when Newton stalls short of the gradient test, by L-BFGS
(``scipy.optimize.minimize``, ``method="L-BFGS-B"``, :func:`minimize_varpro`).
Without Assumption 2, L-BFGS runs on ``(W, E)`` jointly
(:func:`minimize_factors`). Every method only accepts steps that decrease the
objective, so the result is never worse than any start, in particular never
worse than ``f_ls`` or ``f_wls``. The problem is non-convex in ``(W, E)``:
the result is a local minimum (the best found), an upper bound on
``dKL(pi, L(N,S,d))``, not a certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from aotmem.theory.lowrank import LowRank, f_ls, f_wls
from aotmem.theory.validate import check_array, check_distribution, check_int, check_rows_stochastic

__all__ = ["OptimalResult", "GRAD_TOL", "NEWTON_DAMP", "NEWTON_RADIUS", "NEWTON_MAX_DIM", "NEWTON_MAX_WORK",
           "optimal_encoder", "minimize_newton", "minimize_factors", "minimize_varpro", "inner_encoder", "kl_and_grad",
           "balance"]

# Default stopping rule: max |gradient entry| w.r.t. the (balanced) factors.
# A line search resolves f only to ~eps*f ~ 1e-17, i.e. gradients only down to
# ~sqrt(eps * f * curvature) ~ 1e-9 for O(1) objectives and curvatures; tighter
# tests stall (measured: L-BFGS stops at max|grad| 2e-10..1e-9 on N=6..50 tasks).
GRAD_TOL = 1e-9


@dataclass(frozen=True)
class OptimalResult:
    """Best rank-``d`` encoder found by :func:`optimal_encoder`.

    ``divergence`` = ``dKL(pi, F)``; ``grad_norm`` = Frobenius norm of the
    gradient w.r.t. ``(W, E)`` at the end; ``converged`` is True only when the
    gradient test passed AND Assumption 2 holds (``paper.lemma1``: only then
    is the infimum known to be attained); ``start_divergences`` maps each
    start's name to the divergence L-BFGS reached from it;
    ``initial_divergences`` to the divergence of the start itself.
    """

    W: np.ndarray
    E: np.ndarray
    F: np.ndarray
    divergence: float
    grad_norm: float
    iterations: int
    converged: bool
    start_divergences: dict
    best_start: str
    initial_divergences: dict = field(default_factory=dict)
    message: str = ""

    @property
    def lowrank(self) -> LowRank:
        return LowRank(self.W, self.E)


def _log_softmax(F):
    m = F.max(axis=1, keepdims=True)
    Z = F - m
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def _neg_entropy_term(p, P):
    """``sum_t p(t) sum_o pi log pi`` with ``0 log 0 = 0``."""
    pos = P > 0
    T = np.zeros_like(P)
    T[pos] = P[pos] * np.log(P[pos])
    return float(p @ T.sum(axis=1))


def kl_and_grad(prior: np.ndarray, cond: np.ndarray, W: np.ndarray, E: np.ndarray):
    """``(dKL(pi, E W^T), grad_W, grad_E)`` (objective of ``paper.prop1``'s ``dKL(pi, L(N,S,d))``) with ``G = p (softmax(F) - pi)``, ``grad_W = G^T E``, ``grad_E = G W``.

    >>> P = np.array([[0.5, 0.5]]); W = np.array([[1.0], [0.0]]); E = np.zeros((1, 1))
    >>> v, gW, gE = kl_and_grad(np.ones(1), P, W, E)
    >>> (round(v, 12), gW.tolist(), gE.tolist())
    (0.0, [[0.0], [0.0]], [[0.0]])
    """
    p = check_distribution("prior", prior)
    P = check_rows_stochastic("cond", cond)
    W = check_array("W", W, ndim=2)
    E = check_array("E", E, ndim=2)
    if W.shape[0] != P.shape[1] or E.shape[0] != P.shape[0] or W.shape[1] != E.shape[1]:
        raise ValueError(f"`W` (N, d) and `E` (T, d) must match `cond` {P.shape} (got {W.shape}, {E.shape})")
    h = _neg_entropy_term(p, P)
    return _objective(p, P, h, W, E)


def _objective(p, P, negent, W, E):
    F = E @ W.T  # (T, N)
    ls = _log_softmax(F)
    ce = -float(p @ np.sum(P * ls, axis=1))
    G = p[:, None] * (np.exp(ls) - P)  # (T, N)
    return negent + ce, G.T @ E, G @ W


def balance(W: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauge fixing for the factors of ``F = E W^T`` (``paper.prop1``'s rank-``d`` maps): same logits up to row constants, balanced factors: ``W <- W - 1 mean(W)``, then
    ``E W^T = (Q_E U sqrt S)(Q_W V sqrt S)^T`` from the SVD of the ``d x d`` core."""
    W = np.asarray(W, dtype=np.float64)
    E = np.asarray(E, dtype=np.float64)
    Wc = W - W.mean(axis=0, keepdims=True)  # removes only per-row constants E(t).mean(W) from F
    Qw, Rw = np.linalg.qr(Wc)
    Qe, Re = np.linalg.qr(E)
    U, s, Vt = np.linalg.svd(Re @ Rw.T)
    rs = np.sqrt(s)
    return Qw @ (Vt.T * rs), Qe @ (U * rs)


def minimize_factors(prior, cond, W0, E0, *, tol: float = GRAD_TOL, max_iter: int = 5000, callback=None,
                     maxcor: int = 30):
    """L-BFGS on ``(W, E)`` from ``(W0, E0)`` for ``dKL(pi, L(N,S,d))`` (``paper.prop1``; used without Assumption 2): returns ``(W, E, divergence, grad_norm, iterations, gtest_passed)``.

    ``callback(divergence)`` is called after every iteration (for timing
    traces). Stops when ``max |grad| <= tol``, or after ``max_iter`` iterations.
    """
    p = check_distribution("prior", prior)
    P = check_rows_stochastic("cond", cond)
    W0 = check_array("W0", W0, ndim=2)
    E0 = check_array("E0", E0, ndim=2)
    T, N = P.shape
    d = W0.shape[1]
    if W0.shape != (N, d) or E0.shape != (T, d):
        raise ValueError(f"`W0`, `E0` must have shapes (N, d), (T, d) = ({N}, {d}), ({T}, {d}) (got {W0.shape}, {E0.shape})")
    negent = _neg_entropy_term(p, P)
    nW = N * d

    def fun(x):
        v, gW, gE = _objective(p, P, negent, x[:nW].reshape(N, d), x[nW:].reshape(T, d))
        return v, np.concatenate([gW.ravel(), gE.ravel()])

    cb = None
    if callback is not None:
        def cb(intermediate_result):
            callback(float(intermediate_result.fun))
    x0 = np.concatenate([W0.ravel(), E0.ravel()])
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=cb,
                   options=dict(maxiter=max_iter, maxfun=2 * max_iter + 100, gtol=tol, ftol=1e-16, maxcor=maxcor))
    x = res.x if res.fun <= fun(x0)[0] else x0  # L-BFGS-B is monotone; belt and braces
    v, g = fun(x)
    W, E = x[:nW].reshape(N, d), x[nW:].reshape(T, d)
    return W, E, float(v), float(np.linalg.norm(g)), int(res.nit), bool(np.max(np.abs(g)) <= tol)


# Levenberg damping of the per-row Newton systems: H_t + mu_t I with
# mu_t = NEWTON_DAMP * trace(H_t)/d caps cond(H_t + mu_t I) at ~1/NEWTON_DAMP = 1e11
# while changing a Newton step on a well-conditioned row by <= 1e-11 relative.
NEWTON_DAMP = 1e-11
# Largest change of any logit in one inner Newton step: far from the optimum
# (probabilities ~1e-300) the pure Newton step can be astronomically long
# (1e300: E @ W.T overflows). 1e3 nats keeps every logit finite (log-softmax
# is shift-stable) yet lets rows whose optimum lies at logits ~1e4 (pi = 1 - 1e-13)
# get there in a few steps; it never binds near a moderate optimum.
NEWTON_MAX_LOGIT_STEP = 1e3


def inner_encoder(cond, W, E0=None, *, max_newton: int = 50, gtol: float = 1e-14):
    """``E*(W) = argmin_E dKL(pi, E W^T)`` (inner problem of ``paper.lemma1``'s minimum): per-row damped Newton, vectorised over ``t``.

    Row problem (convex): ``min_e lse(W e) - pi_t . W e``, gradient
    ``W^T (q - pi_t)``, Hessian ``H_t = W^T (diag q - q q^T) W`` (``q = softmax(W e)``),
    solved as ``(H_t + mu_t I) s = g`` (``NEWTON_DAMP``), with per-row
    backtracking so no row's objective increases. Needs Assumption 2 for the
    minimum to exist. Returns ``(E, max_row_grad)``.
    """
    P = np.asarray(cond, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    E, gmax, _ = _inner(P, W, None if E0 is None else np.array(E0, dtype=np.float64), max_newton, gtol)
    return E, gmax


def _inner(P, W, E, max_newton, gtol, ls=None):
    """:func:`inner_encoder`'s loop; also returns the log-softmax ``ls`` (T, N) at the returned ``E``
    (``ls`` may be passed in when already known at the given ``E``)."""
    T, N = P.shape
    d = W.shape[1]
    E = np.zeros((T, d)) if E is None else E

    def row_obj(E):
        ls = _log_softmax(E @ W.T)
        return -np.sum(P * ls, axis=1), ls

    if ls is None:
        f, ls = row_obj(E)
    else:
        f = -np.sum(P * ls, axis=1)
    gmax = np.inf
    WW = (W[:, :, None] * W[:, None, :]).reshape(N, d * d)  # rows w_n w_n^T, so H = q @ WW in one GEMM
    for _ in range(max_newton):
        q = np.exp(ls)  # (T, N)
        g = (q - P) @ W  # (T, d)
        gmax = float(np.max(np.abs(g)))
        if gmax <= gtol:
            break
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step = _row_newton_steps(q, W, WW, g)  # (H + mu I)^{-1} g
            dF = np.max(np.abs(step @ W.T), axis=1)  # (T,) largest logit change of the full step
        nonfinite = ~np.isfinite(dF)
        if nonfinite.any():  # H underflowed to 0 (pi ~ 1e-300): fall back to the gradient direction
            step[nonfinite] = g[nonfinite]
            dF[nonfinite] = np.max(np.abs(g[nonfinite] @ W.T), axis=1)
        # step-length control: no logit moves by more than NEWTON_MAX_LOGIT_STEP per iteration
        big = dF > NEWTON_MAX_LOGIT_STEP
        step[big] *= (NEWTON_MAX_LOGIT_STEP / dF[big])[:, None]
        alpha = np.ones(T)
        dec = np.sum(g * step, axis=1)  # >= 0: a descent direction (H + mu I positive definite)
        if np.all(dec <= 1e-6 * np.finfo(float).eps * np.maximum(np.abs(f), 1.0)):
            break  # predicted decrease 1e6 times below rounding on every row: converged to working precision
        for _ls in range(40):  # backtracking, per row (2^-40: far below any useful step)
            En = E - alpha[:, None] * step
            with np.errstate(over="ignore", invalid="ignore"):  # a huge trial step (pi ~ 1e-300) is rejected below
                fn, lsn = row_obj(En)
            bad = ~np.isfinite(fn) | ~np.all(np.isfinite(lsn), axis=1)
            bad |= ~(fn <= f - 1e-4 * alpha * dec + 1e-15 * np.abs(f))  # Armijo
            if not bad.any():
                break
            alpha = np.where(bad, alpha * 0.5, alpha)
        keep = ~bad | (np.isfinite(fn) & (fn <= f + 1e-15 * np.abs(f)))
        if keep.all():
            E, f, ls = En, fn, lsn
        else:
            E = np.where(keep[:, None], En, E)
            f = np.where(keep, fn, f)
            ls = np.where(keep[:, None], lsn, ls)
        if not keep.any():
            break
    return E, gmax, ls


def minimize_varpro(prior, cond, W0, E0=None, *, tol: float = GRAD_TOL, max_iter: int = 5000, callback=None,
                    maxcor: int = 30):
    """Variable projection for ``dKL(pi, L(N,S,d))`` (``paper.prop1``, ``paper.lemma1``): L-BFGS on ``W`` alone of ``phi(W) = min_E dKL(pi, E W^T)``.

    ``E*(W)`` by :func:`inner_encoder` (warm-started); by the envelope theorem
    ``grad phi(W) = G^T E*`` with ``G = p (softmax(F) - pi)``. ``W`` is centred
    first (``phi`` ignores the ``1`` direction). Needs Assumption 2.
    Returns ``(W, E, divergence, grad_norm, iterations, gtest_passed)``, the
    gradient norm being that of the joint gradient w.r.t. ``(W, E)``.
    """
    p = check_distribution("prior", prior)
    P = check_rows_stochastic("cond", cond)
    W0 = check_array("W0", W0, ndim=2)
    T, N = P.shape
    d = W0.shape[1]
    negent = _neg_entropy_term(p, P)
    state = {"E": None if E0 is None else np.asarray(E0, dtype=np.float64)}

    def fun(x):
        W = x.reshape(N, d)
        W = W - W.mean(axis=0, keepdims=True)
        E, _ = inner_encoder(P, W, state["E"])
        state["E"] = E
        v, gW, _ = _objective(p, P, negent, W, E)
        gW = gW - gW.mean(axis=0, keepdims=True)  # chain rule through the centring
        return v, gW.ravel()

    cb = None
    if callback is not None:
        def cb(intermediate_result):
            callback(float(intermediate_result.fun))
    res = minimize(fun, W0.ravel(), jac=True, method="L-BFGS-B", callback=cb,
                   options=dict(maxiter=max_iter, maxfun=2 * max_iter + 100, gtol=tol, ftol=1e-16, maxcor=maxcor))
    W = res.x.reshape(N, d)
    W = W - W.mean(axis=0, keepdims=True)
    E, _ = inner_encoder(P, W, state["E"])
    v, gW, gE = _objective(p, P, negent, W, E)
    g = np.concatenate([gW.ravel(), gE.ravel()])
    return W, E, float(v), float(np.linalg.norm(g)), int(res.nit), bool(np.max(np.abs(g)) <= tol)


# ---------------------------------------------------------------------------
# Trust-region Newton on the Grassmannian (exact reduced Hessian of phi(W)).

# Batched d x d Cholesky is done with vectorised column loops up to this d
# (numpy's batched LAPACK calls cost ~2 us per matrix, 0.7 ms for T = 400 4x4
# systems, vs ~0.05 ms for the loops); above it, ``np.linalg``.
_SMALL_D = 8
# Newton builds the (m d) x (m d) reduced Hessian, m = N - 1 - d, at a cost of
# ~ T (d + 1) (m d)^2 / 2 multiply-adds per iteration; above these limits
# ``optimal_encoder`` uses L-BFGS variable projection (:func:`minimize_varpro`),
# whose iterations cost ~ T N d.
NEWTON_MAX_DIM = 600
NEWTON_MAX_WORK = 3e8
# Rows of the (T (d+1), m d) factor of the Hessian built at once (bounds memory to ~16 MB).
_CHUNK_ELEMS = 2_000_000
# Newton iterations before optimal_encoder hands over to the L-BFGS polish: a
# well-conditioned task converges in ~10-20 (quadratically at the end); tasks
# with probabilities ~1e-27 (Dirichlet alpha = 0.1) make slow progress under
# a shrinking radius, and L-BFGS does better there.
NEWTON_MAX_ITER = 40
# Initial trust radius: Frobenius norm of the tangent step X (W orthonormal, W + U X):
# ||X|| = 1 rotates the column space of W by at most 45 degrees.
NEWTON_RADIUS = 1.0


def _chol_inv_tl(At):
    """``Li`` (d, d, T) lower triangular with ``Li^T Li = A^{-1}`` for a stack of SPD ``A`` (``A = L L^T``, ``Li = L^{-1}``), the stack index last: ``At`` (d, d, T).

    Vectorised column loops over rows of length ``T`` (numpy's batched LAPACK
    calls cost ~2 us per matrix; here every operation streams ``T`` numbers)."""
    d, _, T = At.shape
    if d > _SMALL_D:
        return np.ascontiguousarray(np.linalg.inv(np.linalg.cholesky(At.transpose(2, 0, 1))).transpose(1, 2, 0))
    tiny = np.finfo(float).tiny
    L = [[None] * d for _ in range(d)]
    Li = np.zeros((d, d, T))
    for j in range(d):
        s = At[j, j].copy()
        for k in range(j):
            s -= L[j][k] * L[j][k]
        L[j][j] = np.sqrt(np.maximum(s, tiny))
        Li[j, j] = 1.0 / L[j][j]
        for i in range(j + 1, d):
            s = At[i, j].copy()
            for k in range(j):
                s -= L[i][k] * L[j][k]
            L[i][j] = s * Li[j, j]
    for i in range(1, d):  # Li[i, j] = -sum_{k=j}^{i-1} L[i][k] Li[k, j] / L[i][i]
        for j in range(i):
            s = L[i][j] * Li[j, j]
            for k in range(j + 1, i):
                s += L[i][k] * Li[k, j]
            Li[i, j] = -s * Li[i, i]
    return Li


def _row_newton_steps(q, W, WW, g):
    """Per-row damped Newton steps ``(H_t + mu_t I)^{-1} g_t`` (T, d), ``H_t = W^T (diag q_t - q_t q_t^T) W`` with Levenberg damping ``NEWTON_DAMP`` (see :func:`inner_encoder`), ``g`` (T, d) the row gradients; computed with the row index last (:func:`_chol_inv_tl`)."""
    d = W.shape[1]
    qW = W.T @ q.T  # (d, T)
    H = (WW.T @ q.T).reshape(d, d, -1)
    H -= qW[:, None, :] * qW[None, :, :]
    Li = _damped_chol_inv_tl(H)  # Li^T Li = (H + mu I)^{-1}
    return np.einsum("rit,rt->ti", Li, np.einsum("rkt,tk->rt", Li, g))


def _damped_chol_inv_tl(H):
    """:func:`_chol_inv_tl` of ``H + mu_t I`` (``H`` (d, d, T) row Hessians, damped IN PLACE), ``mu_t = NEWTON_DAMP trace(H_t)/d``
    (the Levenberg damping of :func:`inner_encoder`; ``tiny`` keeps an all-zero ``H_t`` factorable)."""
    d = H.shape[0]
    mu = NEWTON_DAMP * np.einsum("iit->t", H) / d + np.finfo(float).tiny
    for i in range(d):
        H[i, i] += mu
    return _chol_inv_tl(H)


def _tr_step(S, r, radius):
    """``argmin_x r.x + x^T S x / 2`` subject to ``|x| <= radius`` (Moré-Sorensen, in the eigenbasis of ``S`` when needed)."""
    try:
        c = cho_factor(S, check_finite=False)
        x = -cho_solve(c, r, check_finite=False)
        if np.all(np.isfinite(x)) and x @ x <= radius * radius:
            return x
    except np.linalg.LinAlgError:
        pass
    ev, V = np.linalg.eigh(S)
    c = V.T @ r
    c2 = c * c
    scale = max(abs(ev[-1]), abs(ev[0]), np.finfo(float).tiny)
    sig = max(0.0, -ev[0]) + 1e-13 * scale  # smallest shift that makes S + sig I positive definite
    nrm = np.sqrt(np.sum(c2 / (ev + sig) ** 2))
    if nrm <= radius:
        if ev[0] > 0:  # positive definite and the Newton step fits (cho_factor failed on rounding)
            return V @ (-c / (ev + sig))
        # hard case: the boundary is reached along the lowest eigenvector
        y = -c / (ev + sig)
        y[0] = np.sqrt(max(radius * radius - (y @ y - y[0] ** 2), 0.0)) * (1.0 if c[0] <= 0 else -1.0)
        return V @ y
    for _ in range(50):  # Newton on 1/|x(sig)| - 1/radius: monotone from the left, quadratic
        w = c2 / (ev + sig) ** 2
        nrm = np.sqrt(np.sum(w))
        dn = np.sum(w / (ev + sig))  # -d|x|^2/dsig / 2
        step = (nrm - radius) / radius * nrm * nrm / dn
        sig += step
        if abs(nrm - radius) <= 1e-6 * radius:
            break
    return V @ (-c / (ev + sig))


def _eval_rows(P, W, E):
    """``(q, ce)``: softmax of ``F = E W^T`` (T, N) and the row cross-entropies ``lse(F_t) - pi_t . F_t`` (T,)."""
    F = E @ W.T  # (T, N)
    mx = F.max(axis=1)
    ez = np.exp(F - mx[:, None])
    s = ez.sum(axis=1)
    return ez / s[:, None], mx + np.log(s) - np.einsum("tn,tn->t", P, F)


def _correct_rows(P, W, E, q, ce):
    """One per-row Newton step on ``E`` at fixed ``W`` (see :func:`inner_encoder`); rows whose cross-entropy would rise keep their ``E``."""
    N, d = W.shape
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        step = _row_newton_steps(q, W, (W[:, :, None] * W[:, None, :]).reshape(N, d * d), (q - P) @ W)
        E2 = E - step
        q2, ce2 = _eval_rows(P, W, E2)
        slack = 4 * np.finfo(float).eps * np.abs(ce)  # a converged row may move by rounding only
        bad = np.flatnonzero(~(ce2 <= ce + slack))  # rows whose cross-entropy would rise (or be NaN)
        for _ls in range(12):  # halve the step on those rows only; the outer loop fixes the rest
            if bad.size == 0:
                break
            step[bad] *= 0.5
            E2[bad] = E[bad] - step[bad]
            q2[bad], ce2[bad] = _eval_rows(P[bad], W, E2[bad])
            bad = bad[~(ce2[bad] <= ce[bad] + slack[bad])]
    if bad.size:  # no decrease found: keep the row as it was
        E2[bad], q2[bad], ce2[bad] = E[bad], q[bad], ce[bad]
    return E2, q2, ce2


class _ReducedNewton:
    """Second-order model of ``phi(W) = min_E dKL(pi, E W^T)`` on the Grassmannian (``paper.prop1``'s minimum).

    At ``(W, E)`` with ``W`` orthonormal and orthogonal to ``1``, ``U`` (N, m)
    an orthonormal basis of the complement of ``[1, W]``, a step is
    ``W + U X`` (``X`` (m, d), the horizontal space: ``W M`` and ``1 a^T``
    change no probability). The joint Hessian of ``dKL`` in ``(U X, E)`` is
    reduced over ``E`` exactly: its ``E``-block is block diagonal,
    ``D_t = p_t W^T A_t W`` (``A_t = diag q_t - q_t q_t^T``), and the Schur
    complement, with ``b_t = U^T A_t W``, ``N_t = (W^T A_t W)^{-1}``,
    ``gamma_t = U^T (q_t - pi_t)``, indices ``(a, i), (b, k)`` (``a, b`` over ``U``,
    ``i, k`` over ``d``), is

    ``S = sum_t p_t [(U^T A_t U - b_t N_t b_t^T) (x) e_t e_t^T - gamma_t gamma_t^T (x) N_t - (b_t N_t)_{ak} e_{ti} gamma_{tb} - (transpose)]``.

    The model of the joint step, ``dE_t = -h_t - N_t (b_t^T X e_t + X^T gamma_t)``
    (``h_t = N_t W^T (q_t - pi_t)`` the per-row Newton step), predicts the
    change ``const + r.x + x^T S x / 2``.
    """

    def __init__(self, p, P, q, W, U, E):
        # Layout: the sequence index t is LAST in every per-row array ((d, m, T), not (T, d, m)), so each
        # elementwise operation streams T numbers instead of T tiny d x m matrix products (measured on
        # dirichlet N=20, S=2, d=4 / N=12, S=3, d=3: a whole minimize_newton run 41-50 -> 37-44 ms /
        # 58-84 -> 46-63 ms, min-median over 15 runs).
        T, N = P.shape
        d, m = W.shape[1], U.shape[1]
        n = d + m
        self.m, self.d = m, d
        V = np.concatenate([W, U], axis=1)  # (N, n): orthonormal, orthogonal to 1
        qV = V.T @ q.T  # (n, T)
        gV = V.T @ (q - P).T  # (n, T): V^T (q_t - pi_t)
        ghat, gam = gV[:d], gV[d:]  # (d, T), (m, T)
        qW, qU = qV[:d], qV[d:]
        WV = (W.T[:, None, :] * V.T[None, :, :]).reshape(d * n, N)  # rows w_j * v_c
        Mw = (WV @ q.T).reshape(d, n, T)
        Mw -= qW[:, None, :] * qV[None, :, :]  # (d, n, T): W^T A_t [W, U]
        Li = _damped_chol_inv_tl(Mw[:, :d].copy())  # Li^T Li = N_t (Levenberg-damped as in inner_encoder)
        bT = Mw[:, d:]  # (d, m, T) = b_t^T
        Nt = np.einsum("rit,rkt->ikt", Li, Li)  # (d, d, T)
        h = np.einsum("ikt,kt->it", Nt, ghat)  # (d, T): per-row Newton steps
        # Everything the Schur complement subtracts is one Gram matrix K K^T: with c_t = Li_t b_t^T (d, m),
        #   K[(a, i), (0, t)] = sqrt(p_t) qU_ta e_ti,  K[(a, i), (1 + r, t)] = sqrt(p_t) (c_t[r, a] e_ti + gamma_ta Li_t[r, i]);
        # the sum over r gives qU qU^T (x) e e^T + c^T c (x) e e^T + gamma gamma^T (x) N + (b N)_{ak} e_i gamma_b + transpose,
        # i.e. the rank-one part of U^T A_t U plus B_t D_t^{-1} B_t^T: one GEMM instead of T small ones.
        sp = np.sqrt(p)
        ET = E.T  # (d, T)
        Y1 = (ET[:, None, :] * (p * ET)[None, :, :]).reshape(d * d, T)
        UU = (U[:, :, None] * U[:, None, :]).reshape(N, m * m)
        blk = UU.T @ (q.T @ Y1.T)  # sum_t p (U^T diag(q_t) U) (x) e e^T, blocks [(a, b), (i, k)]
        S = blk.reshape(m, m, d, d).transpose(0, 2, 1, 3).reshape(m * d, m * d)
        cols = max(1, _CHUNK_ELEMS // ((d + 1) * m * d))  # sequences per chunk of K (bounds memory)
        K = np.empty((m, d, d + 1, min(cols, T)))
        for s0 in range(0, T, cols):
            s1 = min(T, s0 + cols)
            k = K[..., : s1 - s0] if s1 - s0 < K.shape[3] else K
            spE = sp[s0:s1] * ET[:, s0:s1]  # (d, t)
            sg = sp[s0:s1] * gam[:, s0:s1]  # (m, t)
            c = np.einsum("rjt,jat->rat", Li[..., s0:s1], bT[..., s0:s1])  # (d, m, t)
            np.multiply(qU[:, None, s0:s1], spE[None], out=k[:, :, 0])
            for r in range(d):
                np.multiply(c[r][:, None, :], spE[None], out=k[:, :, r + 1])
                k[:, :, r + 1] += sg[:, None, :] * Li[r, :, s0:s1][None]
            k2 = k.reshape(m * d, (d + 1) * (s1 - s0))
            S -= k2 @ k2.T
        self.S = 0.5 * (S + S.T)
        bh = np.einsum("it,iat->at", h, bT)  # (m, T): b_t h_t
        pgam = p * gam
        self.r = ((p * (gam - bh)) @ E - pgam @ h.T).ravel()  # reduced gradient (m d,), index (a, i)
        self.const = -0.5 * float(p @ np.einsum("it,it->t", ghat, h))  # decrease of the E-only Newton step
        self.bT, self.Nt, self.h, self.gam, self.E, self.U = bT, Nt, h, gam, E, U

    def step(self, x):
        """``(dW, dE)`` of the tangent step ``x`` (``dW = U X``, ``dE`` eliminated)."""
        X = x.reshape(self.m, self.d)
        Xe = X @ self.E.T  # (m, T)
        v = np.einsum("jat,at->jt", self.bT, Xe) + X.T @ self.gam  # (d, T): b_t^T X e_t + X^T gamma_t
        return self.U @ X, -(self.h + np.einsum("ikt,kt->it", self.Nt, v)).T

    def predicted(self, x):
        """Predicted decrease ``-(const + r.x + x^T S x / 2)``."""
        return -(self.const + self.r @ x + 0.5 * x @ (self.S @ x))


def _orthonormal_frame(W, E):
    """Same logits up to row constants: ``W`` (N, d) orthonormal and orthogonal to ``1``, ``E`` adjusted, ``U`` (N, N-1-d) completing ``[1, W]``."""
    N, d = W.shape
    Q, R = np.linalg.qr(np.concatenate([np.full((N, 1), 1 / np.sqrt(N)), W], axis=1), mode="complete")
    # W = 1 R[0, 1:] / sqrt(N) + Q[:, 1:d+1] R[1:d+1, 1:]: the first term only adds row constants to F
    return Q[:, 1:d + 1], E @ R[1:d + 1, 1:].T, Q[:, d + 1:]


def _balanced(W, E):
    """:func:`balance` for ``W`` with orthonormal columns: ``E = U_e s V^T`` gives ``(W V sqrt s, U_e sqrt s)``."""
    Ue, s, Vt = np.linalg.svd(E, full_matrices=False)
    rs = np.sqrt(s)
    return W @ (Vt.T * rs), Ue * rs


def minimize_newton(prior, cond, W0, E0=None, *, tol: float = GRAD_TOL, max_iter: int = 200, callback=None,
                    radius: float = NEWTON_RADIUS):
    """Trust-region Newton for ``dKL(pi, L(N,S,d))`` (``paper.prop1``, ``paper.lemma1``) on ``phi(W) = min_E dKL(pi, E W^T)``.

    Variable projection with the exact second-order model: ``W`` is kept
    orthonormal and orthogonal to ``1`` (the gauge ``W -> W M``, ``W -> W + 1 a^T``
    changes no probability, so ``phi`` lives on a Grassmannian of dimension
    ``m d``, ``m = N - 1 - d``); a step is ``W + U X`` with ``U`` the
    complement of ``[1, W]``. The joint Hessian of ``dKL`` in ``(U X, E)`` is
    reduced over ``E`` exactly (:class:`_ReducedNewton`); the step minimises
    that model in the trust region ``|X|_F <= radius`` (Moré-Sorensen), ``E``
    moves by the eliminated Newton step, then by one safeguarded per-row
    Newton step at the new ``W``. The start's ``E`` is first replaced by
    ``E*(W0)`` (:func:`inner_encoder`, per-row descent), and a trial is kept
    only if the divergence decreases: the result is never worse than the start.
    Stops when ``max |grad| <= tol`` for the balanced factors (:func:`balance`),
    or after ``max_iter`` iterations (model builds). Needs Assumption 2.

    ``callback(divergence)`` is called after every iteration. Returns
    ``(W, E, divergence, grad_norm, iterations, gtest_passed)`` with ``(W, E)``
    balanced, the gradient norm that of the joint gradient w.r.t. ``(W, E)``.
    """
    p = check_distribution("prior", prior)
    P = check_rows_stochastic("cond", cond)
    W0 = check_array("W0", W0, ndim=2)
    T, N = P.shape
    d = W0.shape[1]
    E = np.zeros((T, d)) if E0 is None else check_array("E0", E0, ndim=2)
    if W0.shape != (N, d) or E.shape != (T, d) or N - 1 - d < 0:
        raise ValueError(f"`W0`, `E0` must have shapes (N, d), (T, d) = ({N}, {d}), ({T}, {d}) with d <= N - 1 "
                         f"(got {W0.shape}, {E.shape})")
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"`radius` must be a finite number > 0 (got {radius!r})")
    negent = _neg_entropy_term(p, P)
    W, E, U = _orthonormal_frame(W0 - W0.mean(axis=0, keepdims=True), E)

    def solve_rows(W, E):
        """``E*(W)`` by the safeguarded row solver, with its softmax, row cross-entropies and divergence."""
        E, _, ls = _inner(P, W, E, 50, 1e-10)  # the Newton model carries the rest (its E-step includes h_t)
        ce = -np.einsum("tn,tn->t", P, ls)
        return E, np.exp(ls), ce, negent + float(p @ ce)

    E, q, ce, f = solve_rows(W, E)
    it = 0
    resolved = False
    while it < max_iter and U.shape[1] > 0:
        # gradient test in the balanced gauge, from the SVD of E (W orthonormal): gW_b = gW V / sqrt s, gE_b = gE V sqrt s
        G = p[:, None] * (q - P)
        ev, Ve = np.linalg.eigh(E.T @ E)
        rs = np.sqrt(np.maximum(ev, 0.0))
        gWb = np.divide((G.T @ E) @ Ve, rs, out=np.zeros((N, d)), where=rs > 0)
        if max(np.max(np.abs(gWb)), np.max(np.abs((G @ W) @ Ve * rs))) <= 0.5 * tol:  # confirmed exactly below
            break
        it += 1
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            model = _ReducedNewton(p, P, q, W, U, E)
        if not (np.all(np.isfinite(model.S)) and np.all(np.isfinite(model.r)) and np.isfinite(model.const)):
            break  # row Hessians singular to working precision (probabilities ~1e-300): no usable model
        accepted = resolve = False
        radius0 = radius
        for _trial in range(40):  # the radius shrinks 4x per rejection: 4^-40 is far below any useful step
            try:
                x = _tr_step(model.S, model.r, radius)
            except np.linalg.LinAlgError:
                break
            pred = model.predicted(x)
            with np.errstate(over="ignore", invalid="ignore"):
                dW, dE = model.step(x)
            Wn = W + dW
            with np.errstate(over="ignore", invalid="ignore"):
                qn, cen = _eval_rows(P, Wn, E + dE)
            En, qn, cen = _correct_rows(P, Wn, E + dE, qn, cen)
            fn = negent + float(p @ cen)
            good = bool(np.isfinite(fn))
            rho = (f - fn) / pred if good and pred > 0 else -1.0
            xn = float(np.sqrt(x @ x))
            if rho < 0.25:
                radius = 0.25 * xn
            elif rho > 0.75 and xn >= 0.99 * radius:
                radius = min(2.0 * radius, 1e3)
            # Near the minimum the decrease is below the rounding of f itself: a step whose
            # predicted and actual changes are both at that level is accepted (Newton then
            # converges in the gradient, which the test at the loop's head measures).
            noise = 16 * np.finfo(float).eps * (abs(negent) + abs(f) + 1.0)
            if good and (fn < f or (pred <= noise and fn <= f + noise)):
                accepted = True
                break
            if -model.const >= 0.5 * pred and not resolved:
                # Rejected, and most of the predicted decrease is the E-part's (-const, the per-row Newton
                # decrement), which the radius does not control: E is far from E*(W), where the model of
                # phi(W) is not valid. Re-solve the rows (safeguarded, monotone) and rebuild the model.
                resolve = True
                break
            if radius <= 1e-14:
                break
        resolved = False
        if resolve:
            radius = radius0
            E, q, ce, f = solve_rows(W, E)
            resolved = True  # at most once in a row: a second rejection of that kind shrinks the radius
            continue
        if not accepted:  # no decrease along any step the model proposes: stalled at rounding level
            break
        W, E, U = _orthonormal_frame(Wn, En)
        q, ce, f = qn, cen, fn
        if callback is not None:
            callback(f)
    Wb, Eb = _balanced(W, E)
    v, gW, gE = _objective(p, P, negent, Wb, Eb)
    ok = max(float(np.max(np.abs(gW))), float(np.max(np.abs(gE)))) <= tol
    return Wb, Eb, float(v), float(np.sqrt(np.sum(gW**2) + np.sum(gE**2))), it, ok


def _newton_fits(T, N, d):
    """Whether :func:`minimize_newton`'s ``(m d)^2`` Hessian is affordable (``NEWTON_MAX_DIM``, ``NEWTON_MAX_WORK``)."""
    md = (N - 1 - d) * d
    return md <= NEWTON_MAX_DIM and T * (d + 1) * md * md / 2 <= NEWTON_MAX_WORK


def _prop2(p, P, d):
    from aotmem.theory.exact import prop2_encoder  # lazy: exact imports lowrank only, but keep import graph acyclic

    lr = prop2_encoder(p, P)
    return _pad(lr.W, lr.E, d)


def _pad(W, E, d):
    """Append zero columns up to ``d`` (the logits and the rank do not change)."""
    if d > W.shape[1]:
        W = np.concatenate([W, np.zeros((W.shape[0], d - W.shape[1]))], axis=1)
        E = np.concatenate([E, np.zeros((E.shape[0], d - E.shape[1]))], axis=1)
    return W, E


def optimal_encoder(prior: np.ndarray, cond: np.ndarray, d: int, *, starts: int = 4, seed=0,
                    tol: float = GRAD_TOL, max_iter: int = 5000) -> OptimalResult:
    """Best rank-``d`` encoder found: approximates ``dKL(pi, L(N,S,d))`` from above (``paper.prop1``, ``paper.lemma1``).

    Formula: ``min_{W (N,d), E (T,d)} sum_t p(t) KL(pi_t || softmax(W E(t)))``.

    Starts: ``"f_ls"`` (uniform reading) and ``"f_wls"`` when Assumption 2
    holds (``f_wls`` is skipped, with a note in ``message``, when its system
    is ill-conditioned), plus ``starts`` random ones ``"random-k"``. Each
    start is balanced (:func:`balance`) and run by :func:`minimize_newton`
    (Assumption 2, affordable Hessian; L-BFGS polish if it stalls),
    :func:`minimize_varpro` (Assumption 2, larger problems) or
    :func:`minimize_factors` (no Assumption 2). ``iterations`` counts the
    chosen method's iterations (Newton: model builds). With Assumption 2 and ``d >= N-1`` the exact zero-divergence encoder of
    ``paper.prop2`` is returned directly (start ``"prop2"``). Without
    Assumption 2 the infimum need not be attained (association tasks: it is
    0 and never reached, ``paper.prop3``): ``converged`` is then False.

    Examples
    --------
    >>> from aotmem.theory.generators import dirichlet_task
    >>> task = dirichlet_task(4, 2, seed=0)
    >>> r = optimal_encoder(task.prior, task.cond, 1, starts=1)
    >>> r.divergence <= f_ls(task.prior, task.cond, 1).divergence(task.prior, task.cond), r.converged
    (True, True)
    """
    p = check_distribution("prior", prior)
    P = check_rows_stochastic("cond", cond)
    if p.shape != (P.shape[0],):
        raise ValueError(f"`prior` must have shape (T,) = ({P.shape[0]},) (got {p.shape})")
    T, N = P.shape
    d = check_int("d", d, minimum=1)
    starts = check_int("starts", starts, minimum=0)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"`tol` must be a finite number > 0 (got {tol!r})")
    full = bool(np.all(P > 0))
    negent = _neg_entropy_term(p, P)

    # rank F <= min(T, N) and row constants are free, so only d_eff = min(d, N-1, T) columns matter.
    d_eff = min(d, N - 1, T)
    if full and d_eff == min(N - 1, T):
        if N - 1 <= T:
            W, E = _prop2(p, P, d_eff)
            name, msg = "prop2", "d >= N-1 with Assumption 2: exact (paper.prop2)"
        else:  # T < N-1 <= ... : rank(L_c) <= T <= d, Eckart-Young with d_eff = T is exact
            lr = f_ls(p, P, d_eff, "uniform")
            W, E = lr.W, lr.E
            name, msg = "f_ls", "d >= T with Assumption 2: the rank-T least-squares fit is exact"
        W, E = _pad(W, E, d)
        v, gW, gE = _objective(p, P, negent, W, E)
        gn = float(np.sqrt(np.sum(gW**2) + np.sum(gE**2)))
        return OptimalResult(W, E, E @ W.T, float(v), gn, 0, True, {name: float(v)}, name, {name: float(v)}, msg)

    notes = []
    inits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if full:
        ls = f_ls(p, P, d_eff, "uniform")
        inits["f_ls"] = (ls.W, ls.E)
        try:
            w = f_wls(p, P, d_eff)
            inits["f_wls"] = (w.W, w.E)
        except ValueError as exc:
            notes.append(f"f_wls start skipped: {exc}")
    else:
        notes.append("Assumption 2 fails: the infimum need not be attained (paper.lemma1 does not apply); "
                     "divergence is the best value found")
    rng = np.random.default_rng(seed)
    for k in range(starts):
        inits[f"random-{k}"] = (rng.standard_normal((N, d_eff)), 0.5 * rng.standard_normal((T, d_eff)))
    if not inits:
        raise ValueError("`starts` must be >= 1 when Assumption 2 fails (no f_ls / f_wls start exists)")

    finals, initial, best = {}, {}, None
    for name, (W0, E0) in inits.items():
        initial[name] = float(_objective(p, P, negent, W0, E0)[0])
        W0b, E0b = balance(W0, E0)
        if full:  # the inner problem has a minimiser: variable projection on W
            if _newton_fits(T, N, d_eff):
                W, E, v, gn, it, ok = minimize_newton(p, P, W0b, E0b, tol=tol, max_iter=min(max_iter, NEWTON_MAX_ITER))
                if not ok and it < max_iter:  # stalled (rounding, extreme logits): L-BFGS polish, kept if better
                    pol = minimize_varpro(p, P, W, E, tol=tol, max_iter=max_iter - it)
                    if pol[2] <= v:
                        W, E, v, gn, it2, ok = pol
                        it += it2
            else:
                W, E, v, gn, it, ok = minimize_varpro(p, P, W0b, E0b, tol=tol, max_iter=max_iter)
            if v > initial[name]:  # never happens for a descent method; kept as an explicit guarantee
                W, E, v = W0, E0, initial[name]
        else:
            W, E, v, gn, it, ok = minimize_factors(p, P, W0b, E0b, tol=tol, max_iter=max_iter)
        finals[name] = v
        if best is None or v < best[2]:
            best = (W, E, v, gn, it, ok, name)
    W, E, v, gn, it, ok, name = best
    W, E = _pad(W, E, d)
    converged = ok and full
    if not ok:
        notes.append(f"gradient test max|grad| <= {tol:g} not met after {it} iterations")
    return OptimalResult(W, E, E @ W.T, v, gn, it, converged, finals, name, initial, "; ".join(notes))
