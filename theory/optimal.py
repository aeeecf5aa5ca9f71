"""The optimal rank-``d`` sequence encoder: ``dKL(pi, L(N,S,d)) = min_{rank F <= d} dKL(pi, F)``.

Claim ids: ``paper.prop1`` / ``draft.prop1`` (the quantity every Transformer
is compared with), ``paper.lemma1`` (under Assumption 2 the infimum is
attained), ``paper.prop2`` (``d >= N-1``: the value is 0), ``seed.theorem-aot``
(``f_W*``, "the optimal linear mapping of rank d").

Method: L-BFGS (``scipy.optimize.minimize``, ``method="L-BFGS-B"``) on the
factors ``W (N, d)``, ``E (T, d)`` of ``F = E W^T`` with the analytic gradient

.. math::

    \\partial dKL / \\partial F_{t,o} = p(t) (softmax(F_t)_o - \\pi(o|t)),
    \\quad \\nabla_W = G^T E, \\quad \\nabla_E = G W,

from several starts (``f_ls`` and ``f_wls`` when Assumption 2 holds, then
random ones); the best end point wins. Under Assumption 2 the ``E``-problem
for fixed ``W`` is strictly convex with a minimiser, so L-BFGS runs on ``W``
alone (variable projection, :func:`minimize_varpro`; ``E*(W)`` by per-row
Newton, :func:`inner_encoder`); otherwise on ``(W, E)`` jointly
(:func:`minimize_factors`). L-BFGS-B only accepts steps that
decrease the objective, so the result is never worse than any start, in
particular never worse than ``f_ls`` or ``f_wls``. The problem is
non-convex in ``(W, E)``: the result is a local minimum (the best found),
an upper bound on ``dKL(pi, L(N,S,d))``, not a certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from theory.lowrank import LowRank, f_ls, f_wls
from theory.validate import check_array, check_distribution, check_int, check_rows_stochastic

__all__ = ["OptimalResult", "GRAD_TOL", "NEWTON_DAMP", "optimal_encoder", "minimize_factors", "minimize_varpro",
           "inner_encoder", "kl_and_grad", "balance"]

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
    T, N = P.shape
    d = W.shape[1]
    E = np.zeros((T, d)) if E0 is None else np.array(E0, dtype=np.float64)

    def row_obj(E):
        ls = _log_softmax(E @ W.T)
        return -np.sum(P * ls, axis=1), ls

    f, ls = row_obj(E)
    gmax = np.inf
    eye = np.eye(d)
    WW = (W[:, :, None] * W[:, None, :]).reshape(N, d * d)  # rows w_n w_n^T, so H = q @ WW in one GEMM
    for _ in range(max_newton):
        q = np.exp(ls)  # (T, N)
        g = (q - P) @ W  # (T, d)
        gmax = float(np.max(np.abs(g)))
        if gmax <= gtol:
            break
        Wq = q @ W  # (T, d)
        H = (q @ WW).reshape(T, d, d) - Wq[:, :, None] * Wq[:, None, :]  # (T, d, d)
        mu = NEWTON_DAMP * np.trace(H, axis1=1, axis2=2) / d + np.finfo(float).tiny
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step = np.linalg.solve(H + mu[:, None, None] * eye, g[:, :, None])[:, :, 0]
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
        E = np.where(keep[:, None], En, E)
        f = np.where(keep, fn, f)
        ls = np.where(keep[:, None], lsn, ls)
        if not keep.any():
            break
    return E, gmax


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


def _prop2(p, P, d):
    from theory.exact import prop2_encoder  # lazy: exact imports lowrank only, but keep import graph acyclic

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
    start is balanced (:func:`balance`) and run by :func:`minimize_factors`.
    With Assumption 2 and ``d >= N-1`` the exact zero-divergence encoder of
    ``paper.prop2`` is returned directly (start ``"prop2"``). Without
    Assumption 2 the infimum need not be attained (association tasks: it is
    0 and never reached, ``paper.prop3``): ``converged`` is then False.

    Examples
    --------
    >>> from theory.generators import dirichlet_task
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
