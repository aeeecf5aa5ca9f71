"""The optimal rank-``d`` sequence encoder: ``dKL(pi, L(N,S,d)) = min_{rank F <= d} dKL(pi, F)``.

Claim ids: ``paper.prop1`` / ``draft.prop1`` (the quantity every Transformer
is compared with), ``paper.lemma1`` (under Assumption 2 the infimum is
attained), ``paper.prop2`` (``d >= N-1``: the value is 0), ``seed.theorem-aot``
(``f_W*``, "the optimal linear mapping of rank d").

Method: from several starts (``f_ls`` and ``f_wls`` when Assumption 2 holds,
then random ones, and optionally a given one, e.g. the solution at a smaller
``d``), the best end point wins. The analytic gradient is

.. math::

    \\partial dKL / \\partial F_{t,o} = p(t) (softmax(F_t)_o - \\pi(o|t)),
    \\quad \\nabla_W = G^T E, \\quad \\nabla_E = G W.

Only contexts with ``p(t) > 0`` enter ``dKL``, so the fit runs on them alone
(the rows with ``p(t) = 0`` change neither the optimum nor the starts), and
Assumption 2 is checked on them. Under Assumption 2 the ``E``-problem for
fixed ``W`` is strictly convex with a minimiser (``E*(W)`` by per-row Newton,
:func:`inner_encoder`), so the search runs on
``phi(W) = min_E dKL(pi, E W^T)`` (variable projection): by trust-region
Newton with the exact reduced Hessian on the Grassmannian of ``W``
(:func:`minimize_newton`) when its ``(m d)^2`` Hessian is affordable
(``m = N - 1 - d``, ``NEWTON_MAX_DIM``, ``NEWTON_MAX_WORK``), else, and as a
polish when Newton stalls short of the gradient test, by L-BFGS
(``scipy.optimize.minimize``, ``method="L-BFGS-B"``, :func:`minimize_varpro`).
Without Assumption 2, L-BFGS runs on ``(W, E)`` jointly
(:func:`minimize_factors`). Every method only accepts steps that decrease the
objective, so the result is never worse than any start, in particular never
worse than ``f_ls`` or ``f_wls``. The problem is non-convex in ``(W, E)``:
the result is a local minimum (the best found), an upper bound on
``dKL(pi, L(N,S,d))``, not a certificate. :func:`optimal_encoders` runs a
sweep over ``d`` in which each ``d`` also starts from the previous solution,
so that the values it returns never increase with ``d``.

Linear algebra: every per-row Newton system is ``(H_t + mu_t I) s = g`` with
Levenberg damping, factored by Cholesky whose conditioning is checked row by
row, with an eigen-decomposition fallback of known conditioning
(:func:`_row_factor`); the trust-region system is factored by Cholesky with
LAPACK's condition estimate checked, else shifted in its eigenbasis
(:func:`_tr_step`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.lapack import dpocon
from scipy.optimize import minimize

from .exact import prop2_encoder
from .divergence import kl_rows_unchecked, log_softmax_unchecked
from .lowrank import LowRank, f_ls, f_wls
from .validate import check_array, check_distribution, check_int, check_rows_stochastic

__all__ = ["OptimalResult", "MinimizeResult", "GRAD_TOL", "NEWTON_DAMP", "ROW_DAMP_FLOOR", "TR_RCOND_MIN",
           "NEWTON_RADIUS", "NEWTON_MAX_DIM", "NEWTON_MAX_WORK", "optimal_encoder", "optimal_encoders", "minimize_newton", "minimize_factors", "minimize_varpro", "inner_encoder",
           "kl_and_grad", "balance", "objective_grad", "neg_entropy"]

# Default stopping rule: max |gradient entry| w.r.t. the (balanced) factors.
# A line search resolves f only to ~eps*f ~ 1e-17, i.e. gradients only down to
# ~sqrt(eps * f * curvature) ~ 1e-9 for O(1) objectives and curvatures; tighter
# tests stall (measured: L-BFGS stops at max|grad| 2e-10..1e-9 on N=6..50 tasks).
GRAD_TOL = 1e-9

# Why a run stopped (``MinimizeResult.reason``, ``OptimalResult.reason``):
# "converged": the gradient test max|grad| <= tol passed; "max_iter": the
# iteration limit was reached first; "stalled": no step decreased the
# objective any more (rounding level, or a model that could not be built);
# optimal_encoder adds "exact" (d >= N-1 or d >= T under Assumption 2: a
# closed-form zero/exact fit) and "assumption2_fails" (some pi(o|t) = 0 with
# p(t) > 0: the infimum need not be attained, whatever the gradient says).
REASONS = ("converged", "max_iter", "stalled", "exact", "assumption2_fails")


@dataclass(frozen=True)
class MinimizeResult:
    """End point of one local minimiser (:func:`minimize_newton`, :func:`minimize_varpro`, :func:`minimize_factors`) of ``dKL(pi, E W^T)`` (``paper.prop1``).

    ``divergence`` = ``sum_t p(t) KL(pi_t || softmax(E(t) W^T))`` (per-row,
    each row's KL ``>= 0``); ``grad_norm`` = Frobenius norm and ``grad_max`` =
    largest entry of the gradient w.r.t. ``(W, E)`` at ``(W, E)``;
    ``iterations`` = the method's iterations (Newton: model builds; L-BFGS:
    its ``nit``); ``converged`` = ``grad_max <= tol``; ``reason`` one of
    ``"converged"``, ``"max_iter"``, ``"stalled"``; ``message`` says more
    when the run did not converge.
    """

    W: np.ndarray
    E: np.ndarray
    divergence: float
    grad_norm: float
    grad_max: float
    iterations: int
    converged: bool
    reason: str
    message: str = ""


@dataclass(frozen=True)
class OptimalResult:
    """Best rank-``d`` encoder found by :func:`optimal_encoder`.

    ``divergence`` = ``dKL(pi, F)`` (``>= 0``: per-row KL, rounding clipped);
    ``grad_norm`` = Frobenius norm and ``grad_max`` = largest entry of the
    gradient w.r.t. ``(W, E)`` at the end; ``iterations`` = all iterations
    run from the winning start (Newton model builds plus L-BFGS polish);
    ``converged`` is True only when the gradient test ``grad_max <= tol``
    passed AND Assumption 2 holds on the contexts with ``p(t) > 0``
    (``paper.lemma1``: only then is the infimum known to be attained);
    ``reason`` says why the run stopped (``"converged"``, ``"exact"``,
    ``"max_iter"``, ``"stalled"``, ``"assumption2_fails"``) and ``message``
    the details; ``start_divergences`` maps each start's name to the
    divergence reached from it; ``initial_divergences`` to the divergence of
    the start itself.
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
    grad_max: float = float("nan")
    reason: str = ""

    @property
    def lowrank(self) -> LowRank:
        return LowRank(self.W, self.E)


def _neg_entropy_term(p, P):
    """``sum_t p(t) sum_o pi log pi`` with ``0 log 0 = 0``."""
    return float(neg_entropy(p, P))


def neg_entropy(p, P):
    """``sum_t p(t) sum_o pi log pi`` (``0 log 0 = 0``) with any leading batch axes: ``p (..., T)``, ``P (..., T, N)``.

    References
    ----------
    docs/theory.md#entropy-sign (the sources' ``H``, prior-weighted): the constant term of the objective of
    ``paper.prop1`` (docs/theory.md#divergence).
    """
    pos = P > 0
    T = np.zeros_like(P)
    T[pos] = P[pos] * np.log(P[pos])
    return _weighted(p, T.sum(axis=-1))


def _weighted(p, rows):
    """``sum_t p(t) rows(t)`` over the last axis: ``p @ rows`` for one task (the scalar code's BLAS dot, so the
    scalar optimiser's numbers are the same as before the batch axis), the elementwise sum for a batch."""
    return p @ rows if p.ndim == 1 else np.sum(p * rows, axis=-1)


def kl_and_grad(prior: np.ndarray, cond: np.ndarray, W: np.ndarray, E: np.ndarray):
    """``(dKL(pi, E W^T), grad_W, grad_E)`` (objective of ``paper.prop1``'s ``dKL(pi, L(N,S,d))``) with ``G = p (softmax(F) - pi)``, ``grad_W = G^T E``, ``grad_E = G W``.

    References
    ----------
    ``paper.prop1`` (paper Proposition 1: ``dKL(pi, L(N,S,d))``; docs/theory.md#p1), ``draft.prop1`` (draft D.1);
    docs/theory.md#divergence. The gradient is derived here (module docstring), not quoted from a source.

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
    if p.shape != (P.shape[0],):
        raise ValueError(f"`prior` must have shape (T,) = ({P.shape[0]},) (got {p.shape})")
    h = _neg_entropy_term(p, P)
    return _objective(p, P, h, W, E)


def _objective(p, P, negent, W, E):
    """``(negent + cross-entropy, grad_W, grad_E)``: the objective the minimisers descend (:func:`objective_grad`)."""
    v, gW, gE = objective_grad(p, P, negent, W, E)
    return float(v), gW, gE


def objective_grad(p, P, negent, W, E):
    """``(negent + cross-entropy, grad_W, grad_E)`` of ``dKL(pi, E W^T)`` (``paper.prop1``'s objective), any leading
    batch axes: ``p (..., T)``, ``P (..., T, N)``, ``W (..., N, d)``, ``E (..., T, d)``, ``negent`` (...,)
    (:func:`neg_entropy`). ``G = p (softmax(F) - pi)``, ``grad_W = G^T E``, ``grad_E = G W`` (one GEMM, one
    log-softmax); the scalar minimisers and :mod:`aotmem.theory.optimal_batch` descend this one kernel.

    References
    ----------
    ``paper.prop1`` (paper Proposition 1; docs/theory.md#p1), ``draft.prop1`` (draft D.1);
    docs/theory.md#divergence. The gradient is derived here (module docstring), not quoted from a source.
    """
    F = E @ np.swapaxes(W, -1, -2)  # (..., T, N)
    ls = log_softmax_unchecked(F)  # the package's one stable log-softmax (theory.divergence)
    ce = -_weighted(p, np.sum(P * ls, axis=-1))
    G = p[..., None] * (np.exp(ls) - P)  # (..., T, N)
    return negent + ce, np.swapaxes(G, -1, -2) @ E, G @ W


def _dkl(p, P, F):
    """Reported divergence ``sum_t p(t) KL_t`` from the per-row terms ``pi (log pi - log softmax F)`` (each clipped at 0,
    see :func:`theory.divergence.kl`): no cancellation of the O(1) entropy against the cross-entropy."""
    return float(p @ kl_rows_unchecked(P, F))


def _result(p, P, W, E, tol, iterations, stop_reason, message=""):
    """:class:`MinimizeResult` at ``(W, E)`` with the gradient test evaluated there (``converged`` is never taken on trust)."""
    F = E @ W.T
    G = p[:, None] * (np.exp(log_softmax_unchecked(F)) - P)
    gW, gE = G.T @ E, G @ W
    gmax = max(float(np.max(np.abs(gW), initial=0.0)), float(np.max(np.abs(gE), initial=0.0)))
    ok = gmax <= tol
    if ok:
        stop_reason, message = "converged", ""
    elif stop_reason == "converged":  # the method's own test passed on an intermediate quantity, not this one
        stop_reason = "stalled"
        message = message or f"the method's stopping test passed but max|grad| = {gmax:.3g} > tol = {tol:g}"
    return MinimizeResult(W, E, _dkl(p, P, F), float(np.sqrt(np.sum(gW**2) + np.sum(gE**2))), gmax, int(iterations),
                          bool(ok), stop_reason, message)


def balance(W: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauge fixing for the factors of ``F = E W^T`` (``paper.prop1``'s rank-``d`` maps): same logits up to row constants, balanced factors: ``W <- W - 1 mean(W)``, then
    ``E W^T = (Q_E U sqrt S)(Q_W V sqrt S)^T`` from the SVD of the ``d x d`` core. Any leading batch axes
    (``W (..., N, d)``, ``E (..., T, d)``: :mod:`aotmem.theory.optimal_batch`).

    References
    ----------
    ``paper.prop1`` (the rank-``d`` maps ``L(N,S,d)``, docs/theory.md#notation); the gauge ``W -> W + 1 a^T`` of
    docs/theory.md#divergence and docs/theory.md#p6, Notes.
    """
    W = np.asarray(W, dtype=np.float64)
    E = np.asarray(E, dtype=np.float64)
    Wc = W - W.mean(axis=-2, keepdims=True)  # removes only per-row constants E(t).mean(W) from F
    Qw, Rw = np.linalg.qr(Wc)  # any leading batch axes (stacked LAPACK calls, the same routine per matrix)
    Qe, Re = np.linalg.qr(E)
    U, s, Vt = np.linalg.svd(Re @ np.swapaxes(Rw, -1, -2))
    rs = np.sqrt(s)[..., None, :]
    return Qw @ (np.swapaxes(Vt, -1, -2) * rs), Qe @ (U * rs)


def _check_start(name, X, shape):
    X = check_array(name, X, ndim=2)
    if X.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape} (got {X.shape})")
    return X


def _on_support(core, p, P, W0, E0, **kw) -> MinimizeResult:
    """Run ``core`` on the contexts with ``p(t) > 0`` only (the others do not enter ``dKL``: they must not change the
    optimum, and their rows, far from any optimum, would otherwise drive the per-row solves); the ``E`` rows of the
    contexts with ``p(t) = 0`` are then :func:`_rows_off_support` at the final ``W``."""
    sup = p > 0
    if sup.all():
        return core(p, P, W0, E0, **kw)
    r = core(p[sup], P[sup], W0, None if E0 is None else E0[sup], **kw)
    E = np.empty((P.shape[0], r.E.shape[1]))
    E[sup] = r.E
    E[~sup] = _rows_off_support(P[~sup], r.W)
    return replace(r, E=E)


def _rows_off_support(P0, W):
    """``E`` rows for contexts with ``p(t) = 0``: the per-row minimiser ``E*(W)`` (:func:`inner_encoder`) where the row has
    full support (it exists), else 0 (the row's infimum is not attained; 0 keeps its logits ``E(t) W^T`` at 0)."""
    E = np.zeros((P0.shape[0], W.shape[1]))
    full = np.all(P0 > 0, axis=1)
    if full.any():
        E[full] = _inner(P0[full], W, None, 50, 1e-14)[0]
    return E


# ---------------------------------------------------------------------------
# Per-row Newton systems: Hessians, damping, safeguarded factorisation.

# Levenberg damping of the per-row Newton systems: H_t + mu_t I with
# mu_t = max(NEWTON_DAMP * trace(H_t)/d, ROW_DAMP_FLOOR * ||W||_F^2). For H_t
# positive semidefinite this gives cond_2(H_t + mu_t I) <= (trace + mu)/mu
# <= 1 + d/NEWTON_DAMP = _row_cond_max(d) (1e11 d; 3e12 at d = 30) while
# changing a Newton step on a well-conditioned row by <= 1e-11 relative.
NEWTON_DAMP = 1e-11
# Absolute floor of the damping, relative to ||W||_F^2 (>= ||H_t||_2, as the
# eigenvalues of diag(q) - q q^T are <= 1). Without it a row whose
# probabilities underflow (pi ~ 1e-300, or a trial point far from E*(W)) has
# trace(H_t) ~ 1e-300, its inverse factor ~1e150 and the products built from
# it overflow (the RuntimeWarnings of issue 13). With it ||(H + mu I)^{-1} g||
# <= 2 ||W|| / (ROW_DAMP_FLOOR ||W||^2): logit changes stay below
# 2 / ROW_DAMP_FLOOR = 2e30, whose squares (4e60) are far from overflow. It
# binds only where trace(H_t) < 1e-19 ||W||^2, i.e. on directions whose
# probabilities are below ~1e-19, whose contribution to dKL is of that order.
ROW_DAMP_FLOOR = 1e-30
# The GEMM form of X^T A_t Y (A_t = diag q_t - q_t q_t^T), sum_o q_o x_o y_o^T -
# xbar ybar^T, cancels when q_t is peaked: both terms are ~ x_k y_k^T while the
# difference is ~ r_t = 1 - max q_t, so its relative error is ~ eps / r_t. For
# that error to stay below 1/16 of the relative damping NEWTON_DAMP / d, a row
# with r_t < 16 d eps / NEWTON_DAMP = PEAK_REST d is recomputed about its
# dominant symbol k: sum_o q_o (x_o - x_k)(y_o - y_k)^T - (xbar - x_k)(ybar - y_k)^T
# (equal in exact arithmetic since sum_o q_o = 1; no cancellation), so the damped
# matrix is positive definite as computed and the Cholesky factor is accepted.
PEAK_REST = 16 * np.finfo(float).eps / NEWTON_DAMP  # 3.6e-4 per unit of d


def _row_cond_max(d):
    """Design bound on ``cond_2(H_t + mu_t I)`` for PSD ``H_t`` (``NEWTON_DAMP``): ``1 + d / NEWTON_DAMP``."""
    return 1.0 + d / NEWTON_DAMP


# A Cholesky factor L_t is accepted when kappa_t = ||A_t||_F ||L_t^{-1}||_F^2
# (>= cond_2(A_t), since ||A||_2 <= ||A||_F and ||A^{-1}||_2 = ||L^{-1}||_2^2
# <= ||L^{-1}||_F^2) is <= _ROW_KAPPA_SLACK d^1.5 _row_cond_max(d): the F-norms
# overestimate by at most d^1.5, so every row whose damped matrix meets the
# design bound within a factor _ROW_KAPPA_SLACK (its computed H_t indefinite by
# less than 3/4 of mu_t) passes, and every accepted row has that proven bound.
# The others go to the eigen-decomposition fallback (exactly _row_cond_max(d)).
_ROW_KAPPA_SLACK = 4.0


def _a_gram(q, X, Y, XY):
    """``X^T A_t Y`` for every row, ``(dx, dy, T)`` (row index last), ``A_t = diag(q_t) - q_t q_t^T``.

    ``XY`` (N, dx*dy) holds the rows ``x_o (x) y_o``, so the bulk is one GEMM;
    rows with a peaked ``q_t`` (``PEAK_REST``) are recomputed about their
    dominant symbol, where the GEMM form cancels."""
    T = q.shape[0]
    dx, dy = X.shape[1], Y.shape[1]
    qX, qY = X.T @ q.T, Y.T @ q.T  # (dx, T), (dy, T)
    G = (XY.T @ q.T).reshape(dx, dy, T)
    G -= qX[:, None, :] * qY[None, :, :]
    thr = PEAK_REST * max(dx, 1)
    cand = np.flatnonzero(q.max(axis=1) > 1.0 - 2.0 * thr)  # 1 - max q to ~eps: a superset of the peaked rows
    if cand.size == 0:
        return G
    k = q[cand].argmax(axis=1)
    qk = q[cand]
    qk[np.arange(cand.size), k] = 0.0
    keep = qk.sum(axis=1) < thr  # 1 - max q_t without cancellation
    peaked, k, qk = cand[keep], k[keep], qk[keep]
    N = X.shape[0]
    step = max(1, 2_000_000 // (N * (dx + dy)))  # rows per block of the (rows, N, dx + dy) temporaries
    for s0 in range(0, peaked.size, step):
        sl = slice(s0, s0 + step)
        Xc = X[None, :, :] - X[k[sl]][:, None, :]  # (R, N, dx): x_o - x_k
        Yc = Y[None, :, :] - Y[k[sl]][:, None, :]
        qr = qk[sl][:, :, None]  # q_k drops out (x_k - x_k = 0)
        M = np.matmul((Xc * qr).transpose(0, 2, 1), Yc)  # (R, dx, dy)
        M -= np.sum(Xc * qr, axis=1)[:, :, None] * np.sum(Yc * qr, axis=1)[:, None, :]
        G[:, :, peaked[sl]] = M.transpose(1, 2, 0)
    return G


def _chol_inv_tl(At):
    """``(Li, ok)``: ``Li`` (d, d, T) lower triangular with ``Li^T Li = A^{-1}`` for a stack of SPD ``A`` (``A = L L^T``,
    ``Li = L^{-1}``), the stack index last: ``At`` (d, d, T); ``ok`` (T,) False where a pivot is not positive (``A_t``
    not positive definite as computed; that row's ``Li`` is then meaningless).

    Up to ``_SMALL_D`` vectorised column loops over rows of length ``T`` (numpy's batched LAPACK calls cost ~2 us per
    matrix; here every operation streams ``T`` numbers); above it, batched LAPACK, whose failure on any row fails
    the whole batch (then ``ok`` is all False)."""
    d, _, T = At.shape
    if d > _SMALL_D:
        try:
            L = np.linalg.cholesky(At.transpose(2, 0, 1))
        except np.linalg.LinAlgError:
            return np.full((d, d, T), np.nan), np.zeros(T, dtype=bool)
        return _tri_inv_tl(np.ascontiguousarray(L.transpose(1, 2, 0))), np.ones(T, dtype=bool)
    ok = np.ones(T, dtype=bool)
    L = [[None] * d for _ in range(d)]
    Li = np.zeros((d, d, T))
    for j in range(d):
        s = At[j, j].copy()
        for k in range(j):
            s -= L[j][k] * L[j][k]
        bad = ~(s > 0)  # also NaN
        if bad.any():
            ok &= ~bad
            s = np.where(bad, 1.0, s)  # keeps the arithmetic finite on rows that are discarded anyway
        L[j][j] = np.sqrt(s)
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
    return Li, ok


def _tri_inv_tl(L):
    """Inverse of a stack of lower-triangular ``L`` (d, d, T), row index last, by forward substitution one row at a
    time: ``Li[i, :i] = -L[i, :i] Li[:i, :i] / L[i, i]`` as one einsum over ``T`` per row (d = 24, T = 729: 7 ms,
    against 34 ms for the batched ``np.linalg.inv`` of the same stack; the same rounding, ~1e-16 relative)."""
    d, _, T = L.shape
    Li = np.zeros_like(L)
    dinv = 1.0 / np.einsum("iit->it", L)
    for i in range(d):
        Li[i, i] = dinv[i]
        if i:
            Li[i, :i] = -np.einsum("kt,kjt->jt", L[i, :i], Li[:i, :i]) * dinv[i]
    return Li


def _row_factor(H, wnorm2):
    """``Li`` (d, d, T) with ``Li^T Li = (H_t + mu_t I)^{-1}`` for the row Hessians ``H`` (d, d, T) (not modified).

    ``mu_t = max(NEWTON_DAMP trace(H_t)/d, ROW_DAMP_FLOOR wnorm2)`` (``wnorm2`` = ``||W||_F^2``). Cholesky first; a
    row is kept when all its pivots are positive and its condition bound ``kappa_t`` passes (see
    ``_ROW_KAPPA_SLACK``: then ``cond_2 <= _ROW_KAPPA_SLACK d^1.5 _row_cond_max(d)``). The other rows get the
    eigen-decomposition of the symmetrised ``H_t``, its eigenvalues clipped at 0 (``H_t`` is PSD in exact arithmetic;
    a negative computed eigenvalue is rounding) and damped as above: ``Li_t = diag(lam + mu)^{-1/2} V^T``, with
    ``cond_2 = (lam_max + mu)/mu <= _row_cond_max(d)`` checked exactly. Rows with a non-finite ``H_t`` get NaN
    (the callers fall back to a gradient step or reject the model there). ``Li`` is a factor, not necessarily
    triangular: the callers only use ``Li^T Li`` and ``Li b``."""
    d, _, T = H.shape
    finite = np.isfinite(H.sum(axis=(0, 1)))  # a NaN or inf entry makes the row's sum non-finite
    tr = np.einsum("iit->t", H)
    mu = np.maximum(NEWTON_DAMP * np.maximum(tr, 0.0) / d, ROW_DAMP_FLOOR * wnorm2)
    A = H.copy()
    if not finite.all():
        A[:, :, ~finite] = 0.0  # those rows are set to NaN below; keep the factorisation of the others finite
    for i in range(d):
        A[i, i] += mu
    Li, ok = _chol_inv_tl(A)
    if ok.any():
        nA = np.sqrt(np.einsum("ijt,ijt->t", A, A))
        with np.errstate(over="ignore", invalid="ignore"):
            kappa = nA * np.einsum("ijt,ijt->t", Li, Li)
        ok &= kappa <= _ROW_KAPPA_SLACK * d**1.5 * _row_cond_max(d)  # False for NaN too
    fb = np.flatnonzero(~ok & finite)
    if fb.size:
        Hs = H[:, :, fb].transpose(2, 0, 1)
        lam, V = np.linalg.eigh(0.5 * (Hs + Hs.transpose(0, 2, 1)))  # (R, d), (R, d, d)
        lam = np.maximum(lam, 0.0)
        mu_fb = np.maximum(NEWTON_DAMP * lam.sum(axis=1) / d, ROW_DAMP_FLOOR * wnorm2)
        lam += mu_fb[:, None]
        cond = lam[:, -1] / lam[:, 0]
        if not np.all(cond <= _row_cond_max(d) * (1 + 1e-12)):  # by construction; a failure is a bug, never a silent result
            raise RuntimeError(f"row factor: conditioning {cond.max():.3g} above its design bound {_row_cond_max(d):.3g}")
        Li[:, :, fb] = (V / np.sqrt(lam)[:, None, :]).transpose(2, 1, 0)  # Li[i, j, t] = V[t, j, i] / sqrt(lam[t, i])
    Li[:, :, ~finite] = np.nan
    return Li


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
    solved as ``(H_t + mu_t I) s = g`` (``NEWTON_DAMP``, ``ROW_DAMP_FLOOR``; the
    factorisation and its conditioning: :func:`_row_factor`), with per-row
    backtracking so no row's objective increases. Needs Assumption 2 for the
    minimum to exist. Returns ``(E, max_row_grad)``.

    References
    ----------
    ``paper.lemma1`` (paper Lemma 1: under Assumption 2 the infimum is attained; docs/theory.md#p4);
    ``paper.prop1``.
    """
    P = check_rows_stochastic("cond", cond)
    W = check_array("W", W, ndim=2)
    if W.shape[0] != P.shape[1]:
        raise ValueError(f"`W` must have N = {P.shape[1]} rows (got {W.shape})")
    E0 = None if E0 is None else _check_start("E0", E0, (P.shape[0], W.shape[1])).copy()
    E, gmax, _ = _inner(P, W, E0, check_int("max_newton", max_newton, minimum=0), gtol)
    return E, gmax


def _row_newton_steps(q, W, WW, g, wnorm2):
    """Per-row damped Newton steps ``(H_t + mu_t I)^{-1} g_t`` (T, d), ``H_t = W^T (diag q_t - q_t q_t^T) W`` (:func:`_a_gram`),
    damped and factored by :func:`_row_factor`; ``g`` (T, d) the row gradients, ``WW`` (N, d*d) the rows ``w_n (x) w_n``."""
    Li = _row_factor(_a_gram(q, W, W, WW), wnorm2)  # Li^T Li = (H + mu I)^{-1}
    return np.einsum("rit,rt->ti", Li, np.einsum("rkt,tk->rt", Li, g))


def _inner(P, W, E, max_newton, gtol, ls=None):
    """:func:`inner_encoder`'s loop; also returns the log-softmax ``ls`` (T, N) at the returned ``E``
    (``ls`` may be passed in when already known at the given ``E``)."""
    T, N = P.shape
    d = W.shape[1]
    E = np.zeros((T, d)) if E is None else E
    wnorm2 = float(np.sum(W * W))

    def row_obj(E):
        ls = log_softmax_unchecked(E @ W.T)
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
        gmax = float(np.max(np.abs(g), initial=0.0))
        if gmax <= gtol:
            break
        step = _row_newton_steps(q, W, WW, g, wnorm2)  # (H + mu I)^{-1} g, finite by the damping floor
        dF = np.max(np.abs(step @ W.T), axis=1)  # (T,) largest logit change of the full step
        nonfinite = ~np.isfinite(dF)
        if nonfinite.any():  # a row whose Hessian is not finite: fall back to the gradient direction
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
            fn, lsn = row_obj(En)  # logit changes <= NEWTON_MAX_LOGIT_STEP: finite
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


def _lbfgs_reason(res, ok):
    """``(reason, message)`` of an L-BFGS-B run (``status`` 1: iteration or evaluation limit)."""
    if ok:
        return "converged", ""
    if res.status == 1:
        return "max_iter", f"L-BFGS-B: {res.message}"
    return "stalled", f"L-BFGS-B: {res.message}"


def minimize_factors(prior, cond, W0, E0, *, tol: float = GRAD_TOL, max_iter: int = 5000, callback=None,
                     maxcor: int = 30) -> MinimizeResult:
    """L-BFGS on ``(W, E)`` from ``(W0, E0)`` for ``min dKL(pi, E W^T)`` (``paper.prop1``; used without Assumption 2).

    Formula: ``sum_t p(t) KL(pi_t || softmax(E(t) W^T))``, gradient ``(G^T E, G W)``,
    ``G = p (softmax(F) - pi)``. Only contexts with ``p(t) > 0`` are fitted
    (:func:`_on_support`). ``callback(divergence)`` is called after every
    iteration (for timing traces). Stops when ``max |grad| <= tol``, or after
    ``max_iter`` iterations. Returns a :class:`MinimizeResult`.

    References
    ----------
    ``paper.prop1`` (paper Proposition 1; docs/theory.md#p1), ``paper.prop3`` (without Assumption 2 the infimum is
    approached, not attained; docs/theory.md#p3).
    """
    p, P, W0, E0, tol, max_iter = _check_min_args(prior, cond, W0, E0, tol, max_iter, need_e0=True)
    return _on_support(_factors, p, P, W0, E0, tol=tol, max_iter=max_iter, callback=callback, maxcor=maxcor)


def _check_min_args(prior, cond, W0, E0, tol, max_iter, need_e0=False):
    p = check_distribution("prior", prior)
    P = check_rows_stochastic("cond", cond)
    T, N = P.shape
    if p.shape != (T,):
        raise ValueError(f"`prior` must have shape (T,) = ({T},) (got {p.shape})")
    W0 = check_array("W0", W0, ndim=2)
    d = W0.shape[1]
    if W0.shape[0] != N or d < 1:
        raise ValueError(f"`W0` must have shape (N, d) = ({N}, d) with d >= 1 (got {W0.shape})")
    if E0 is None and need_e0:
        raise ValueError("`E0` is required")
    if E0 is not None:
        E0 = _check_start("E0", E0, (T, d))
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"`tol` must be a finite number > 0 (got {tol!r})")
    return p, P, W0, E0, float(tol), check_int("max_iter", max_iter, minimum=1)


def _factors(p, P, W0, E0, *, tol, max_iter, callback, maxcor):
    T, N = P.shape
    d = W0.shape[1]
    negent = _neg_entropy_term(p, P)
    nW = N * d

    def fun(x):
        with np.errstate(over="ignore", invalid="ignore"):  # a trial point far out: its value is +inf, rejected
            v, gW, gE = _objective(p, P, negent, x[:nW].reshape(N, d), x[nW:].reshape(T, d))
        g = np.concatenate([gW.ravel(), gE.ravel()])
        if not (np.isfinite(v) and np.all(np.isfinite(g))):
            return np.inf, np.zeros_like(g)
        return v, g

    cb = None
    if callback is not None:
        def cb(intermediate_result):
            callback(float(intermediate_result.fun))
    x0 = np.concatenate([W0.ravel(), E0.ravel()])
    res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=cb,
                   options=dict(maxiter=max_iter, maxfun=2 * max_iter + 100, gtol=tol, ftol=1e-16, maxcor=maxcor))
    x = res.x if res.fun <= fun(x0)[0] else x0  # L-BFGS-B is monotone; belt and braces
    W, E = x[:nW].reshape(N, d), x[nW:].reshape(T, d)
    g = fun(x)[1]
    reason, msg = _lbfgs_reason(res, bool(np.max(np.abs(g)) <= tol))
    return _result(p, P, W, E, tol, res.nit, reason, msg)


def minimize_varpro(prior, cond, W0, E0=None, *, tol: float = GRAD_TOL, max_iter: int = 5000, callback=None,
                    maxcor: int = 30) -> MinimizeResult:
    """Variable projection for ``min dKL(pi, E W^T)`` (``paper.prop1``, ``paper.lemma1``): L-BFGS on ``W`` alone of ``phi(W) = min_E dKL(pi, E W^T)``.

    ``E*(W)`` by :func:`inner_encoder` (warm-started); by the envelope theorem
    ``grad phi(W) = G^T E*`` with ``G = p (softmax(F) - pi)``. ``W`` is centred
    first (``phi`` ignores the ``1`` direction). Needs Assumption 2 (on the
    contexts with ``p(t) > 0``, the only ones fitted: :func:`_on_support`).
    Returns a :class:`MinimizeResult`, its gradient that of the joint gradient
    w.r.t. ``(W, E)``.

    References
    ----------
    ``paper.prop1`` (paper Proposition 1; docs/theory.md#p1), ``paper.lemma1[optimiser-converges]`` (paper Lemma 1;
    docs/theory.md#p4).
    """
    p, P, W0, E0, tol, max_iter = _check_min_args(prior, cond, W0, E0, tol, max_iter)
    return _on_support(_varpro, p, P, W0, E0, tol=tol, max_iter=max_iter, callback=callback, maxcor=maxcor)


def _varpro(p, P, W0, E0, *, tol, max_iter, callback, maxcor):
    T, N = P.shape
    d = W0.shape[1]
    negent = _neg_entropy_term(p, P)
    state = {"E": None if E0 is None else np.array(E0, dtype=np.float64)}

    def fun(x):
        W = x.reshape(N, d)
        W = W - W.mean(axis=0, keepdims=True)
        if not np.all(np.isfinite(W)):
            return np.inf, np.zeros_like(x)
        E, _, _ = _inner(P, W, state["E"], 50, 1e-14)
        with np.errstate(over="ignore", invalid="ignore"):  # a trial W far out: its value is +inf, rejected
            v, gW, _ = _objective(p, P, negent, W, E)
        if not (np.isfinite(v) and np.all(np.isfinite(gW))):
            return np.inf, np.zeros_like(x)
        state["E"] = E
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
    E, _, _ = _inner(P, W, state["E"], 50, 1e-14)
    _, gW, gE = _objective(p, P, negent, W, E)
    reason, msg = _lbfgs_reason(res, max(np.max(np.abs(gW)), np.max(np.abs(gE))) <= tol)
    return _result(p, P, W, E, tol, res.nit, reason, msg)


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
# The trust-region system S x = -r is solved by Cholesky only when LAPACK's
# estimate of 1/cond_1(S) (dpocon) is >= TR_RCOND_MIN; otherwise (and when S
# is not positive definite) in the eigenbasis of S, shifted by at least
# TR_RCOND_MIN * max|eig|, so cond_2 of the shifted system is <= ~1/TR_RCOND_MIN
# there too: the step is then accurate to ~1e13 eps ~ 2e-3 relative, ample for
# a model step whose decrease is measured, not trusted.
TR_RCOND_MIN = 1e-13


def _tr_step(S, r, radius):
    """``argmin_x r.x + x^T S x / 2`` subject to ``|x| <= radius`` (Moré-Sorensen, in the eigenbasis of ``S`` when needed).

    Conditioning: the Cholesky solve is used only when ``rcond_1(S) >= TR_RCOND_MIN`` (LAPACK ``dpocon``); the
    eigenbasis solve shifts ``S`` to ``S + sig I`` with ``sig >= TR_RCOND_MIN max|eig|`` above ``-eig_min``."""
    try:
        c, lower = cho_factor(S, lower=False, check_finite=False)
        rcond, info = dpocon(c, float(np.max(np.sum(np.abs(S), axis=0))), uplo="U")
        if info == 0 and rcond >= TR_RCOND_MIN:
            x = -cho_solve((c, lower), r, check_finite=False)
            if np.all(np.isfinite(x)) and x @ x <= radius * radius:
                return x
    except np.linalg.LinAlgError:
        pass
    ev, V = np.linalg.eigh(S)
    c = V.T @ r
    c2 = c * c
    scale = max(abs(ev[-1]), abs(ev[0]), np.finfo(float).tiny)
    sig = max(0.0, -ev[0]) + TR_RCOND_MIN * scale  # smallest shift that makes S + sig I positive definite
    nrm = np.sqrt(np.sum(c2 / (ev + sig) ** 2))
    if nrm <= radius:
        if ev[0] > 0:  # positive definite and the Newton step fits (Cholesky failed or was too ill-conditioned)
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
    """``(q, ce)``: softmax of ``F = E W^T`` (T, N) and the row cross-entropies ``-pi_t . log softmax(F_t)`` (T,)."""
    ls = log_softmax_unchecked(E @ W.T)
    return np.exp(ls), -np.einsum("tn,tn->t", P, ls)


def _correct_rows(P, W, E, q, ce):
    """One per-row Newton step on ``E`` at fixed ``W`` (see :func:`inner_encoder`); rows whose cross-entropy would rise keep their ``E``."""
    N, d = W.shape
    step = _row_newton_steps(q, W, (W[:, :, None] * W[:, None, :]).reshape(N, d * d), (q - P) @ W, float(np.sum(W * W)))
    E2 = E - step  # logit changes <= 2 / ROW_DAMP_FLOOR (see there): finite
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
        gV = V.T @ (q - P).T  # (n, T): V^T (q_t - pi_t)
        ghat, gam = gV[:d], gV[d:]  # (d, T), (m, T)
        qU = U.T @ q.T  # (m, T)
        WV = (W[:, :, None] * V[:, None, :]).reshape(N, d * n)  # rows w_o (x) v_o
        Mw = _a_gram(q, W, V, WV)  # (d, n, T): W^T A_t [W, U] (peaked rows without cancellation)
        Li = _row_factor(Mw[:, :d], float(d))  # Li^T Li = N_t (damped as in inner_encoder; ||W||_F^2 = d)
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
                    radius: float = NEWTON_RADIUS) -> MinimizeResult:
    """Trust-region Newton for ``min dKL(pi, E W^T)`` (``paper.prop1``, ``paper.lemma1``) on ``phi(W) = min_E dKL(pi, E W^T)``.

    Variable projection with the exact second-order model: ``W`` is kept
    orthonormal and orthogonal to ``1`` (the gauge ``W -> W M``, ``W -> W + 1 a^T``
    changes no probability, so ``phi`` lives on a Grassmannian of dimension
    ``m d``, ``m = N - 1 - d``); a step is ``W + U X`` with ``U`` the
    complement of ``[1, W]``. The joint Hessian of ``dKL`` in ``(U X, E)`` is
    reduced over ``E`` exactly (:class:`_ReducedNewton`); the step minimises
    that model in the trust region ``|X|_F <= radius`` (Moré-Sorensen,
    :func:`_tr_step`), ``E`` moves by the eliminated Newton step, then by one
    safeguarded per-row Newton step at the new ``W``. The start's ``E`` is
    first replaced by ``E*(W0)`` (:func:`inner_encoder`, per-row descent), and
    a trial is kept only if the divergence decreases: the result is never
    worse than the start. Stops when ``max |grad| <= tol`` for the balanced
    factors (:func:`balance`), or after ``max_iter`` iterations (model builds).
    Needs Assumption 2 (on the contexts with ``p(t) > 0``, the only ones
    fitted: :func:`_on_support`).

    ``callback(divergence)`` is called after every iteration. Returns a
    :class:`MinimizeResult` with ``(W, E)`` balanced.

    References
    ----------
    ``paper.prop1`` (paper Proposition 1; docs/theory.md#p1), ``paper.lemma1[optimiser-converges]`` (paper Lemma 1;
    docs/theory.md#p4).
    """
    p, P, W0, E0, tol, max_iter = _check_min_args(prior, cond, W0, E0, tol, max_iter)
    N, d = W0.shape
    if N - 1 - d < 0:
        raise ValueError(f"`W0` must have d <= N - 1 = {N - 1} columns (got {W0.shape})")
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"`radius` must be a finite number > 0 (got {radius!r})")
    return _on_support(_newton, p, P, W0, E0, tol=tol, max_iter=max_iter, callback=callback, radius=float(radius))


def _newton(p, P, W0, E0, *, tol, max_iter, callback, radius):
    T, N = P.shape
    d = W0.shape[1]
    E = np.zeros((T, d)) if E0 is None else E0
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
    reason, msg = "max_iter", f"{max_iter} iterations"
    while True:
        # gradient test in the balanced gauge, from the SVD E = U_e diag(s) V^T (W orthonormal): W_b = W V sqrt(s),
        # E_b = E V / sqrt(s), so gW_b = gW V / sqrt(s), gE_b = gE V sqrt(s). The eigenvalues of E^T E are s^2, so
        # sqrt(s) = ev^(1/4) (it was sqrt(ev) = s: the test then stopped up to sqrt(s) too early, and the exact
        # test at the end reported the run as not converged).
        G = p[:, None] * (q - P)
        ev, Ve = np.linalg.eigh(E.T @ E)
        rs = np.sqrt(np.sqrt(np.maximum(ev, 0.0)))
        gWb = np.divide((G.T @ E) @ Ve, rs, out=np.zeros((N, d)), where=rs > 0)
        if max(np.max(np.abs(gWb)), np.max(np.abs((G @ W) @ Ve * rs))) <= 0.5 * tol:  # confirmed exactly below
            reason, msg = "converged", ""
            break
        if U.shape[1] == 0:  # d = N - 1: no tangent space; E*(W) is all there is (exact to the row solver's tolerance)
            reason, msg = "stalled", "d = N - 1: no direction to move W in; E*(W) solved to the row solver's tolerance"
            break
        if it >= max_iter:
            break
        it += 1
        model = _ReducedNewton(p, P, q, W, U, E)
        if not (np.all(np.isfinite(model.S)) and np.all(np.isfinite(model.r)) and np.isfinite(model.const)):
            reason, msg = "stalled", "the reduced Newton model is not finite (row Hessians not finite)"
            break
        radius0 = radius
        outcome, radius, new = _tr_trial(p, P, negent, model, W, E, f, radius, resolved)
        resolved = False
        if outcome == "resolve":
            radius = radius0
            E, q, ce, f = solve_rows(W, E)
            resolved = True  # at most once in a row: a second rejection of that kind shrinks the radius
            continue
        if outcome == "rejected":  # no decrease along any step the model proposes: stalled at rounding level
            reason, msg = "stalled", f"no decrease along any trust-region step (radius down to {radius:.1e})"
            break
        Wn, En, qn, cen, fn = new
        W, E, U = _orthonormal_frame(Wn, En)
        q, ce, f = qn, cen, fn
        if callback is not None:
            callback(f)
    Wb, Eb = _balanced(W, E)
    return _result(p, P, Wb, Eb, tol, it, reason, msg)


def _tr_trial(p, P, negent, model, W, E, f, radius, resolved):
    """The trust-region trials of one :func:`_newton` iteration on its reduced model: ``(outcome, radius, new)``.

    ``outcome``: ``"accepted"`` (``new = (W, E, q, ce, f)`` of the step), ``"resolve"`` (rejected, and most of the
    predicted decrease is the E-part's: E is far from ``E*(W)``; unless the rows were just re-solved) or
    ``"rejected"`` (no decrease down to a radius of 1e-14). The radius shrinks 4x per rejection.
    """
    for _trial in range(40):  # the radius shrinks 4x per rejection: 4^-40 is far below any useful step
        x = _tr_step(model.S, model.r, radius)
        pred = model.predicted(x)
        dW, dE = model.step(x)
        Wn = W + dW
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
            return "accepted", radius, (Wn, En, qn, cen, fn)
        if -model.const >= 0.5 * pred and not resolved:
            # Rejected, and most of the predicted decrease is the E-part's (-const, the per-row Newton
            # decrement), which the radius does not control: E is far from E*(W), where the model of
            # phi(W) is not valid. Re-solve the rows (safeguarded, monotone) and rebuild the model.
            return "resolve", radius, None
        if radius <= 1e-14:
            break
    return "rejected", radius, None


def _newton_fits(T, N, d):
    """Whether :func:`minimize_newton`'s ``(m d)^2`` Hessian is affordable (``NEWTON_MAX_DIM``, ``NEWTON_MAX_WORK``)."""
    md = (N - 1 - d) * d
    return md <= NEWTON_MAX_DIM and T * (d + 1) * md * md / 2 <= NEWTON_MAX_WORK


def _prop2(p, P, d):
    lr = prop2_encoder(p, P)
    return _pad(lr.W, lr.E, d)


def _pad(W, E, d):
    """Append zero columns up to ``d`` (the logits and the rank do not change)."""
    if d > W.shape[1]:
        W = np.concatenate([W, np.zeros((W.shape[0], d - W.shape[1]))], axis=1)
        E = np.concatenate([E, np.zeros((E.shape[0], d - E.shape[1]))], axis=1)
    return W, E


# Relative rank tolerance for the basis of span[1, W] when a start is widened
# (:func:`_widen`): singular values below 1e-12 of the largest are rounding of
# a rank-deficient W (f_ls/prop2 pads with zero columns), not directions.
_SPAN_RTOL = 1e-12


def _widen(p, P, W, E, d):
    """A start of width ``d`` with the same logits as ``(W, E)`` (width ``d0 <= d``): new ``E`` columns 0, new ``W``
    columns the leading left singular vectors of ``G^T`` (``G = p (softmax(F) - pi)``) projected off ``span[1, W]``,
    the directions in which the new ``E`` columns decrease ``dKL`` fastest (``grad_E = G W``). A zero ``W`` column
    instead would be a stationary point of the widened problem."""
    N, d0 = W.shape
    if d0 >= d:
        return W, E
    G = p[:, None] * (np.exp(log_softmax_unchecked(E @ W.T)) - P)  # (T, N)
    B = np.concatenate([np.full((N, 1), 1 / np.sqrt(N)), W], axis=1)
    Ub, sb, _ = np.linalg.svd(B, full_matrices=True)
    r = int(np.sum(sb > _SPAN_RTOL * sb[0]))
    C = Ub[:, r:]  # orthonormal complement of span[1, W] (N, N - r)
    k = min(d - d0, C.shape[1])
    Uc, _, _ = np.linalg.svd(C.T @ G.T, full_matrices=True)  # (N - r, N - r)
    Wn = np.concatenate([W, C @ Uc[:, :k]], axis=1)
    En = np.concatenate([E, np.zeros((E.shape[0], k))], axis=1)
    return _pad(Wn, En, d)


def _narrow(W, E, k):
    """Width ``k`` factors with the same probabilities as ``(W, E)`` when the row-centred ``E W^T`` has rank ``<= k``:
    balanced truncated SVD of ``E W^T (I - 11^T/N)``."""
    F = E @ W.T
    F = F - F.mean(axis=1, keepdims=True)
    U, s, Vt = np.linalg.svd(F, full_matrices=False)
    rs = np.sqrt(s[:k])
    return Vt[:k].T * rs, U[:, :k] * rs


def _init_pair(init, N, T):
    if init is None:
        return None
    W, E = (init.W, init.E) if hasattr(init, "W") and hasattr(init, "E") else init
    W = check_array("init", W, ndim=2)
    E = check_array("init", E, ndim=2)
    if W.shape[0] != N or E.shape[0] != T or W.shape[1] != E.shape[1] or W.shape[1] < 1:
        raise ValueError(f"`init` must be (W, E) with shapes (N, d0), (T, d0) = ({N}, d0), ({T}, d0), d0 >= 1 "
                         f"(got {W.shape}, {E.shape})")
    return W, E


def optimal_encoder(prior: np.ndarray, cond: np.ndarray, d: int, *, starts: int = 4, seed=0,
                    tol: float = GRAD_TOL, max_iter: int = 5000, init=None, progress=None) -> OptimalResult:
    """Best rank-``d`` encoder found: approximates ``dKL(pi, L(N,S,d))`` from above (``paper.prop1``, ``paper.lemma1``).

    Formula: ``min_{W (N,d), E (T,d)} sum_t p(t) KL(pi_t || softmax(W E(t)))``.

    Only contexts with ``p(t) > 0`` are fitted (they alone enter the sum; the
    others change neither the value nor the starts), and Assumption 2 is
    checked on them; the ``E`` rows of contexts with ``p(t) = 0`` are the
    per-row best response at the final ``W`` (0 where it does not exist).

    Starts: ``"f_ls"`` (uniform reading) and ``"f_wls"`` when Assumption 2
    holds (``f_wls`` is skipped, with a note in ``message``, when its system
    is ill-conditioned), ``starts`` random ones ``"random-k"``, and
    ``"init"``: ``init`` = ``(W, E)`` (or any result with ``W``, ``E``) of
    width ``d0 <= d``, widened to ``d`` with the same logits (:func:`_widen`),
    so the result is never worse than ``init``. Each start is balanced
    (:func:`balance`) and run by :func:`minimize_newton` (Assumption 2,
    affordable Hessian; L-BFGS polish if it stalls), :func:`minimize_varpro`
    (Assumption 2, larger problems) or :func:`minimize_factors` (no
    Assumption 2). ``iterations`` counts all iterations run from the winning
    start (Newton: model builds, plus the L-BFGS polish's). With Assumption 2
    and ``d >= N-1`` the exact zero-divergence encoder of ``paper.prop2`` is
    returned directly (start ``"prop2"``, reason ``"exact"``). Without
    Assumption 2 the infimum need not be attained (association tasks: it is 0
    and never reached, ``paper.prop3``): ``converged`` is then False and
    ``reason`` is ``"assumption2_fails"``, ``message`` saying how far the
    logits grew.

    ``progress``: ``None``, or a callable ``progress(start, iteration, objective)``
    called after every solver iteration (the CLI's progress line; it must not
    raise, except ``KeyboardInterrupt``).

    References
    ----------
    ``paper.prop1[vs-optimiser]`` (paper Proposition 1; docs/theory.md#p1), ``draft.prop1[vs-optimiser]`` (draft
    D.1), ``paper.lemma1[optimiser-converges]`` (paper Lemma 1; docs/theory.md#p4), ``paper.prop2`` (paper
    Proposition 2: ``d >= N-1``; docs/theory.md#p2), ``seed.zero-divergence[only-if]`` (docs/theory.md#s3),
    ``seed.theorem-aot`` (``f_W*``, seed slide "Attention-only Transformers"),
    ``paper.theorem1[as-written,target=optimal]`` (docs/theory.md#p6).

    Examples
    --------
    >>> from aotmem.theory.generators import dirichlet_task
    >>> task = dirichlet_task(4, 2, seed=0)
    >>> r = optimal_encoder(task.prior, task.cond, 1, starts=1)
    >>> r.divergence <= f_ls(task.prior, task.cond, 1).divergence(task.prior, task.cond), r.converged, r.reason
    (True, True, 'converged')
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
    init = _init_pair(init, N, T)
    if init is not None and init[0].shape[1] > d:
        raise ValueError(f"`init` must have at most d = {d} columns (got {init[0].shape[1]})")

    # Only the contexts with p(t) > 0 enter dKL: fit those (ps, Ps), put the others back at the end.
    sup = p > 0
    ps, Ps = p[sup], P[sup]
    Ts = Ps.shape[0]
    notes = []
    if Ts < T:
        notes.append(f"{T - Ts} contexts with p(t) = 0 left out of the fit (they do not enter dKL); their E rows are "
                     "the per-row best response at the final W (0 where it does not exist)")
    full = bool(np.all(Ps > 0))
    ctx = _Problem(P, sup, ps, Ps, d, tol, full, notes)

    # rank F <= min(T, N) and row constants are free, so only d_eff = min(d, N-1, T) columns matter.
    d_eff = min(d, N - 1, Ts)
    if full and d_eff == min(N - 1, Ts):
        return _exact_fit(ctx, d_eff)
    if not full:
        zeros = int(np.sum(Ps == 0))
        notes.append(f"Assumption 2 fails: pi(o|t) = 0 for {zeros} pairs (t, o) with p(t) > 0, so the infimum need not "
                     "be attained (paper.lemma1 does not apply) and a minimising sequence may have logits growing "
                     "without bound; divergence is the best value found, an upper bound on the infimum")
    inits = _starts(ctx, d_eff, starts, seed, init)

    # Starts are compared, and each end point with its start, on the objective the minimisers descend
    # (negent + cross-entropy): at rounding level (exact fits) the first start keeps a tie, and an end point
    # not below its start gives the start back unchanged, as the minimisers themselves guarantee.
    negent = _neg_entropy_term(ps, Ps)
    finals, initial, best = {}, {}, None
    for name, (W0, E0) in inits.items():
        initial[name] = _dkl(ps, Ps, E0 @ W0.T)
        r, obj = _run_start(ctx, negent, W0, E0, d_eff, max_iter, _progress_callback(progress, name))
        finals[name] = r.divergence
        if best is None or obj < best[3]:
            best = (r, name, (W0, E0), obj)
    r, name, (W0, E0), _ = best
    extra = []
    if not full:
        f0, f1 = float(np.max(np.abs(E0 @ W0.T))), float(np.max(np.abs(r.E @ r.W.T)))
        extra.append(f"max |logit| grew from {f0:.3g} at the start to {f1:.3g} at the end")
    return _finish(ctx, r.W, r.E, r.iterations, r.reason, finals, name, initial, extra)


class _Problem(NamedTuple):
    """What :func:`optimal_encoder` fits: ``cond`` (all rows), the support ``sup`` (``p(t) > 0``) and its
    ``(ps, Ps)``, the width ``d`` asked for, the gradient ``tol``, Assumption 2 on the support, the notes."""

    P: np.ndarray
    sup: np.ndarray
    ps: np.ndarray
    Ps: np.ndarray
    d: int
    tol: float
    full: bool
    notes: list


def _finish(ctx, W, E, it, ok_reason, start_div, best, initial, extra_notes=()) -> OptimalResult:
    """The :class:`OptimalResult` of the fit ``(W, E)`` on the support: padded to ``d`` columns, the rows off
    the support put back (their best response), the gradient test and the reason."""
    W, E = _pad(W, E, ctx.d)
    T = ctx.P.shape[0]
    Efull = np.empty((T, ctx.d))
    Efull[ctx.sup] = E
    if ctx.Ps.shape[0] < T:
        Efull[~ctx.sup] = _rows_off_support(ctx.P[~ctx.sup], W)
    r = _result(ctx.ps, ctx.Ps, W, E, ctx.tol, it, "stalled" if ok_reason == "exact" else ok_reason)
    reason, msgs = r.reason, list(ctx.notes) + list(extra_notes)
    if not ctx.full:
        reason = "assumption2_fails"
    elif r.converged and ok_reason == "exact":
        reason = "exact"
    if not r.converged:
        msgs.append(f"gradient test max|grad| <= {ctx.tol:g} not met: max|grad| = {r.grad_max:.3g} after {it} "
                    f"iterations ({r.reason}{': ' + r.message if r.message else ''})")
    return OptimalResult(W, Efull, Efull @ W.T, r.divergence, r.grad_norm, it, bool(r.converged and ctx.full),
                         start_div, best, initial, "; ".join(msgs), r.grad_max, reason)


def _exact_fit(ctx, d_eff) -> OptimalResult:
    """``d_eff = min(N-1, T)`` with Assumption 2: the exact zero-divergence encoder (``paper.prop2``, or the
    rank-T least-squares fit when ``T < N-1``), no optimisation."""
    ps, Ps = ctx.ps, ctx.Ps
    if Ps.shape[1] - 1 <= Ps.shape[0]:
        W, E = _prop2(ps, Ps, d_eff)
        name, msg = "prop2", "d >= N-1 with Assumption 2: exact (paper.prop2)"
    else:  # Ts < N-1: rank(L_c) <= Ts <= d, Eckart-Young with d_eff = Ts is exact
        lr = f_ls(ps, Ps, d_eff, "uniform")
        W, E = lr.W, lr.E
        name, msg = "f_ls", "d >= T with Assumption 2: the rank-T least-squares fit is exact"
    v = _dkl(ps, Ps, E @ W.T)
    return _finish(ctx, W, E, 0, "exact", {name: v}, name, {name: v}, [msg])


def _starts(ctx, d_eff, starts, seed, init) -> dict:
    """The starts of :func:`optimal_encoder`, ``name -> (W0, E0)``: ``f_ls``, ``f_wls`` (Assumption 2; a refused
    ``f_wls`` is noted), ``random-k`` and ``init`` (narrowed or widened to ``d_eff`` with the same logits)."""
    ps, Ps = ctx.ps, ctx.Ps
    inits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if ctx.full:
        ls = f_ls(ps, Ps, d_eff, "uniform")
        inits["f_ls"] = (ls.W, ls.E)
        try:
            w = f_wls(ps, Ps, d_eff)
            inits["f_wls"] = (w.W, w.E)
        except ValueError as exc:
            ctx.notes.append(f"f_wls start skipped: {exc}")
    rng = np.random.default_rng(seed)
    for k in range(starts):
        inits[f"random-{k}"] = (rng.standard_normal((Ps.shape[1], d_eff)), 0.5 * rng.standard_normal((Ps.shape[0], d_eff)))
    if init is not None:
        W0, E0 = init[0], init[1][ctx.sup]
        if W0.shape[1] > d_eff:  # rank(row-centred F) <= d_eff: narrowing keeps every probability
            W0, E0 = _narrow(W0, E0, d_eff)
        inits["init"] = _widen(ps, Ps, W0, E0, d_eff)
    if not inits:
        raise ValueError("`starts` must be >= 1 when Assumption 2 fails and no `init` is given "
                         "(no f_ls / f_wls start exists)")
    return inits


def _progress_callback(progress, name):
    """``progress(start, iteration, objective)`` after every solver iteration, when asked (else None)."""
    if progress is None:
        return None
    count = [0]

    def cb(value):
        count[0] += 1
        progress(name, count[0], value)
    return cb


def _run_start(ctx, negent, W0, E0, d_eff, max_iter, cb):
    """One start of :func:`optimal_encoder`: ``(result, objective)``. Newton (Assumption 2, affordable Hessian;
    an L-BFGS polish kept if better when it stalls), variable projection, or factors (no Assumption 2); an end
    point not below its start gives the start back."""
    ps, Ps, tol = ctx.ps, ctx.Ps, ctx.tol
    obj0 = _objective(ps, Ps, negent, W0, E0)[0]
    W0b, E0b = balance(W0, E0)
    r0 = _result(ps, Ps, W0, E0, tol, 0, "stalled")
    if r0.converged:  # already stationary (an exact fit): returned as given, like the closed forms above
        r = r0
    elif ctx.full:  # the inner problem has a minimiser: variable projection on W
        if _newton_fits(Ps.shape[0], Ps.shape[1], d_eff):
            r = _newton(ps, Ps, W0b, E0b, tol=tol, max_iter=min(max_iter, NEWTON_MAX_ITER), callback=cb,
                        radius=NEWTON_RADIUS)
            it = r.iterations
            if not r.converged and it < max_iter:  # stalled (rounding, extreme logits): L-BFGS polish, kept if better
                pol = _varpro(ps, Ps, r.W, r.E, tol=tol, max_iter=max_iter - it, callback=cb, maxcor=30)
                it += pol.iterations
                if _objective(ps, Ps, negent, pol.W, pol.E)[0] <= _objective(ps, Ps, negent, r.W, r.E)[0]:
                    r = pol
            r = replace(r, iterations=it)
        else:
            r = _varpro(ps, Ps, W0b, E0b, tol=tol, max_iter=max_iter, callback=cb, maxcor=30)
    else:
        r = _factors(ps, Ps, W0b, E0b, tol=tol, max_iter=max_iter, callback=cb, maxcor=30)
    obj = _objective(ps, Ps, negent, r.W, r.E)[0]
    if obj > obj0:  # no descent (at rounding level, e.g. an exact start): the start itself
        r = replace(_result(ps, Ps, W0, E0, tol, r.iterations, r.reason, r.message), iterations=r.iterations)
        obj = obj0
    return r, obj


def optimal_encoders(prior: np.ndarray, cond: np.ndarray, ds, **kwargs) -> dict:
    """:func:`optimal_encoder` for every ``d`` of ``ds``, in increasing order, each also started from the previous
    ``d``'s result (start ``"init"``): ``{d: OptimalResult}``, the divergence non-increasing in ``d``.

    ``dKL(pi, L(N,S,d))`` (``paper.prop1``) is non-increasing in ``d`` (a rank-``d`` map is a rank-``d+1`` map), and
    so are the values returned here: the previous result, widened with the same logits, is a start, and no start ends
    above where it began. ``kwargs`` go to :func:`optimal_encoder` (``starts``, ``seed``, ``tol``, ``max_iter``).

    References
    ----------
    ``paper.prop1`` (paper Proposition 1: ``dKL(pi, L(N,S,d))``, non-increasing in ``d``; docs/theory.md#p1);
    :func:`optimal_encoder`.

    >>> from aotmem.theory.generators import dirichlet_task
    >>> t = dirichlet_task(5, 2, seed=0)
    >>> v = [r.divergence for r in optimal_encoders(t.prior, t.cond, range(1, 5), starts=0).values()]
    >>> all(b <= a for a, b in zip(v, v[1:])), v[-1] < 1e-12
    (True, True)
    """
    if "init" in kwargs:
        raise ValueError("`init` is chosen by optimal_encoders (the previous d's result); pass it to optimal_encoder")
    ds = sorted({check_int("ds", d, minimum=1) for d in ds})
    if not ds:
        raise ValueError("`ds` must hold at least one d >= 1")
    out, prev = {}, None
    for d in ds:
        out[d] = prev = optimal_encoder(prior, cond, d, init=prev, **kwargs)
    return out
