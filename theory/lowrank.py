"""Rank-``d`` sequence encoders ``F = E W^T``: the least-squares and weighted least-squares fits.

Notation (docs/theory.md#notation): ``W (N, d)`` is the unembedding (rows
``w_j``), ``E (T, d)`` the encoder (rows ``E(t)``), ``F = E W^T (T, N)`` the
logits, ``L = log Pi``. Claim ids: ``seed.ls-bound`` / ``draft.theorem-ls``
(``f_ls``), ``seed.wls-bound`` / ``draft.lemma-wls`` / ``draft.theorem-wls``
(``f_wls``).

The weighted objective (``seed.wls-bound``: ``|| I_sqrt(pi) (W - L) ||``) is
read here WITH a free per-row constant, because softmax ignores one:

.. math::

    R(F) = \\sum_t w_t \\min_{c_t} \\sum_o \\pi(o|t) (F_{t,o} - L_{t,o} - c_t)^2
         = \\sum_t w_t \\operatorname{Var}_{o \\sim \\pi_t}(F_t - L_t),

which is the quantity ``draft.lemma-wls`` minimises row by row. Without the
constant the objective would depend on the (irrelevant) normalisation of the
logits and the ``f_wls`` of the draft would not be its minimiser. The row
weights ``w_t`` are ambiguous in the sources, so both are readings
(``WLS_READINGS``): ``"pi"`` (``w_t = 1``) and ``"pi-prior"`` (``w_t = p(t)``).
For a fixed ``W`` the rows decouple, so ``f_wls`` minimises both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aotmem.theory.divergence import kl, kl_rows
from aotmem.theory.spectra import SIGMA_READINGS, centred_logits, log_probs
from aotmem.theory.validate import check_array, check_int, check_prior_cond, check_rows_stochastic

class IllConditioned(ValueError):
    """A float64 linear system above its condition limit (``WLS_COND_MAX``): refused, not solved.

    A float64 limit, not a property of the map: the 50-digit twins in :mod:`aotmem.theory.precise`
    solve the same systems up to condition ``10^25``, and the ledger decides such instances there.
    """


__all__ = [
    "IllConditioned",
    "LowRank",
    "FITS",
    "SIGMA_FITS",
    "check_fit",
    "min_rows",
    "f_min",
    "fit_encoder",
    "LS_READINGS",
    "WLS_READINGS",
    "WLS_COND_MAX",
    "ONES_IN_IMAGE_TOL",
    "RANK_RTOL",
    "f_ls",
    "wls_system",
    "wls_encoder",
    "wls_projection",
    "f_wls",
    "weighted_residual",
    "AlternatingReport",
    "f_wls_alternating",
]

LS_READINGS = SIGMA_READINGS
WLS_READINGS = ("pi", "pi-prior")

# Largest condition number accepted for the d x d system
# A_t = W_U^T (I_pi - pi pi^T) W_U of draft.lemma-wls. We solve the equivalent
# least-squares problem by QR, whose matrix has condition sqrt(cond(A_t)), so
# 1e12 here means <= 1e6 * eps ~ 2e-10 relative error in the solution.
WLS_COND_MAX = 1e12
# `1 in Im(W_U)` is declared when the distance from 1/sqrt(N) to Im(W_U) is
# below this (a unit vector; float64 projections err by ~1e-15 * d).
ONES_IN_IMAGE_TOL = 1e-8
# Singular values below RANK_RTOL * sigma_1 count as zero (SVD backward error
# is ~ eps * sigma_1 * sqrt(max(T, N)) < 1e-12 sigma_1 for T <= 1e6).
RANK_RTOL = 1e-10


def objective_floor(w: np.ndarray, L: np.ndarray) -> float:
    """Float64 rounding's reach in the weighted objective ``R = sum_t w_t Var_{o~pi_t}(F_t - L_t)`` of an exact fit.

    ``F_t - L_t`` and its centring are off by ``~(N + 2) eps max_o |L_{t,o}|`` per entry at an exact fit
    (``|F| ~ |L|``), so ``R`` there is rounding up to ``sum_t w_t ((N + 2) eps max_o |L_{t,o}|)^2``: an
    objective below this is an exact fit (e.g. uniform rows: ``R ~ 1e-32``, not 0), which no sweep can improve.
    """
    return float(w @ objective_floor_rows(L))


def objective_floor_rows(L: np.ndarray) -> np.ndarray:
    """The per-row terms of :func:`objective_floor`, ``((N + 2) eps max_o |L_{t,o}|)^2``, over the last axis (stacks too)."""
    return ((L.shape[-1] + 2) * np.finfo(np.float64).eps * np.max(np.abs(L), axis=-1)) ** 2


def centring_noise(L: np.ndarray) -> float:
    """Float64 rounding's reach in the centred ``L`` of any reading, in Frobenius norm.

    Each entry of ``L_c`` is ``L_{t,o}`` minus a mean of ``N`` terms (uniform or
    under ``pi_t``), off by at most ``~(N + 2) eps max|L|``; the ``-prior`` readings
    scale rows by ``sqrt p(t) <= 1``. A centred ``L`` whose ``sigma_1`` is below
    this is zero up to rounding (every row constant, e.g. uniform rows, where
    the mean of ``N`` equal logs need not round back to them): its singular
    vectors are noise, and may point along ``1``.
    """
    T, N = L.shape
    return float((N + 2) * np.finfo(np.float64).eps * np.sqrt(T * N) * np.max(np.abs(L), initial=0.0))


@dataclass(frozen=True)
class LowRank:
    """A rank-``d`` sequence encoder ``f_{W,E}(t) = W E(t)``, an element of ``L(N,S,d)`` (``paper.prop1``); logits ``F = E W^T``.

    Parameters
    ----------
    W : (N, d) unembedding, rows ``w_j``.
    E : (T, d) encoder, rows ``E(t)``.

    >>> lr = LowRank(np.eye(3)[:, :2], np.ones((4, 2)))
    >>> lr.F.shape, lr.d
    ((4, 3), 2)
    """

    W: np.ndarray
    E: np.ndarray

    def __post_init__(self) -> None:
        W = check_array("W", self.W, ndim=2)
        E = check_array("E", self.E, ndim=2)
        if W.shape[1] != E.shape[1]:
            raise ValueError(f"`W` and `E` must have the same number of columns d (got {W.shape[1]} and {E.shape[1]})")
        if W.shape[1] < 1:
            raise ValueError("`W` must have at least one column (d >= 1)")
        W, E = W.copy(), E.copy()
        W.setflags(write=False)
        E.setflags(write=False)
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "E", E)

    @property
    def N(self) -> int:
        return int(self.W.shape[0])

    @property
    def T(self) -> int:
        return int(self.E.shape[0])

    @property
    def d(self) -> int:
        return int(self.W.shape[1])

    @property
    def F(self) -> np.ndarray:
        """Logits ``F = E W^T``, ``(T, N)``."""
        return self.E @ self.W.T

    def divergence(self, prior: np.ndarray, cond: np.ndarray) -> float:
        """``dKL(pi, f_{W,E})`` (:func:`theory.divergence.kl`, stable log-softmax)."""
        P = check_rows_stochastic("cond", cond)
        if P.shape != (self.T, self.N):
            raise ValueError(f"`cond` must have shape (T, N) = ({self.T}, {self.N}) (got {P.shape})")
        return kl(prior, P, self.F)


# --------------------------------------------------------------------------- helpers


_check_task = check_prior_cond


def _check_d(d, N):
    return check_int("d", d, minimum=1, maximum=N)


def _complete_basis(V: np.ndarray, d: int, avoid_ones: bool) -> np.ndarray:
    """Extend orthonormal columns ``V (N, r)`` to ``d`` orthonormal columns.

    New columns are orthogonal to ``V`` and, when ``avoid_ones`` and room
    remains, to ``1`` (the softmax-invisible direction), chosen deterministically.
    """
    N, r = V.shape
    if r >= d:
        return V[:, :d]
    blocks = [V]
    if avoid_ones and r + 1 + (d - r) <= N:
        blocks.insert(0, np.full((N, 1), 1.0 / np.sqrt(N)))
    B = np.concatenate(blocks + [np.eye(N)], axis=1)
    Q, _ = np.linalg.qr(B)  # Gram-Schmidt order: the first columns span the blocks
    k = sum(b.shape[1] for b in blocks)
    return np.concatenate([V, Q[:, k:k + d - r]], axis=1)


# --------------------------------------------------------------------------- f_ls


def f_ls(prior: np.ndarray, cond: np.ndarray, d: int, reading: str = "uniform") -> LowRank:
    """Rank-``d`` least-squares fit of the centred ``L`` (``seed.ls-bound``, ``draft.theorem-ls``).

    Formula (Eckart-Young): with the centred ``L_c`` of ``reading``
    (:func:`theory.spectra.centred_logits`) and its SVD ``L_c = U Sigma V^T``,
    ``W = V_{:, :d}`` (orthonormal) and ``E = L_c^{unw} W``, where ``L_c^{unw}``
    is ``L_c`` without the ``diag(sqrt p)`` weighting. For the unweighted
    readings this is ``E = U_d Sigma_d``; for the ``-prior`` readings it is
    ``diag(sqrt p)^{-1} U_d Sigma_d`` on rows with ``p(t) > 0`` (the sqrt p
    divided back out) and, on rows with ``p(t) = 0`` (which the weighted fit
    does not see), the orthogonal projection of the unweighted centred row
    onto ``Im W`` -- the same formula, so no division by 0 ever happens.

    When ``d`` exceeds the numerical rank ``r`` of ``L_c`` (``RANK_RTOL``;
    ``r = 0`` when ``sigma_1`` is within float64's rounding of the centring,
    e.g. uniform rows),
    the last ``d - r`` columns of ``W`` are not determined by ``L``; they are
    completed orthonormally, orthogonal to ``1`` when room remains (so that
    ``1 not in Im(W)`` for ``d <= N-1`` under the ``uniform`` readings).

    Needs Assumption 2 (``L`` finite).

    Examples
    --------
    >>> from aotmem.theory.generators import almost_rank_task
    >>> task = almost_rank_task(5, 2, d=2, sigma=0.0, seed=0)
    >>> lr = f_ls(task.prior, task.cond, 2)
    >>> bool(lr.divergence(task.prior, task.cond) < 1e-12)   # rank-2 centred L: exact
    True
    """
    p, P = _check_task(prior, cond)
    if reading not in LS_READINGS:
        raise ValueError(f"`reading` must be one of {LS_READINGS} (got {reading!r})")
    d = _check_d(d, P.shape[1])
    Lc = centred_logits(p, P, reading)  # (T, N), weighted for -prior readings
    _, s, Vt = np.linalg.svd(Lc, full_matrices=False)
    # sigma_1 within rounding of 0 (rows constant up to rounding): rank 0, not rounding noise's directions
    r = int(np.sum(s > RANK_RTOL * s[0])) if s.size and s[0] > centring_noise(np.log(P)) else 0
    W = _complete_basis(Vt[: min(r, d)].T, d, avoid_ones=True)  # (N, d)
    Lu = centred_logits(p, P, reading.removesuffix("-prior"))  # unweighted rows
    E = Lu @ W  # (T, d)
    return LowRank(W, E)


# --------------------------------------------------------------------------- f_wls (closed form)


def _check_WU(W_U, N: int) -> np.ndarray:
    W = check_array("W_U", W_U, ndim=2)
    if W.shape[0] != N or W.shape[1] < 1:
        raise ValueError(f"`W_U` must have shape (N, d) = ({N}, d>=1) (got {W.shape})")
    if W.shape[1] > N - 1:
        raise ValueError(f"`W_U` must have d <= N-1 = {N - 1} columns so that 1 can lie outside Im(W_U) (got d={W.shape[1]})")
    s = np.linalg.svd(W, compute_uv=False)
    if s[-1] <= RANK_RTOL * s[0]:
        raise ValueError(f"`W_U` must have full column rank (singular values {s[0]:.3g} .. {s[-1]:.3g})")
    Q, _ = np.linalg.qr(W)
    one = np.full(N, 1.0 / np.sqrt(N))
    dist = np.linalg.norm(one - Q @ (Q.T @ one))
    if dist <= ONES_IN_IMAGE_TOL:
        raise ValueError(f"`W_U` violates the hypothesis of draft.lemma-wls: 1 lies in Im(W_U) "
                         f"(distance of 1/sqrt(N) to Im(W_U) = {dist:.2e} <= {ONES_IN_IMAGE_TOL:g})")
    return W


def _centred_by_pi(P: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``X_{t,o} - sum_k pi(k|t) X_{t,k}`` for ``X (T, N, k)``, without cancellation at the likeliest token.

    For ``o* = argmax_o pi(o|t)`` the difference is computed as
    ``sum_{k != o*} pi_k (X_{o*} - X_k)``-style: ``(1 - pi_{o*}) X_{o*} - sum_{k != o*} pi_k X_k``
    with ``1 - pi_{o*}`` summed from the other entries, so a row with
    ``pi_{o*} = 1 - 1e-24`` keeps its digits (the naive form returns 0 there).
    """
    T = P.shape[0]
    mean = np.einsum("tn,tnk->tk", P, X)  # (T, k)
    D = X - mean[:, None, :]
    o = np.argmax(P, axis=1)  # (T,)
    rows = np.arange(T)
    Pm = P.copy()
    Pm[rows, o] = 0.0
    rest = Pm.sum(axis=1)  # (T,) = 1 - pi_{o*}, summed from the small entries
    D[rows, o] = rest[:, None] * X[rows, o] - np.einsum("tn,tnk->tk", Pm, X)
    return D


def wls_system(cond: np.ndarray, W_U: np.ndarray):
    """The per-row least-squares form of ``draft.lemma-wls``, with its conditioning (used by :func:`wls_encoder`).

    Returns ``(M, r, cond_A)``: ``M_t = diag(sqrt pi_t) (I - 1 pi_t^T) W_U``
    ``(T, N, d)``, ``r_t = diag(sqrt pi_t) (L_t - (pi_t . L_t) 1)`` ``(T, N)``,
    and ``cond_A (T,)``, the condition number of
    ``A_t = M_t^T M_t = W_U^T (I_pi - pi pi^T) W_U`` (the draft's ``d x d`` system).
    ``M_t^T r_t = W_U^T (I_pi - pi pi^T) L_t``, so ``argmin ||M_t e - r_t||`` is
    the draft's ``w_E(t)``. Needs Assumption 2.
    """
    L = log_probs(cond)  # (T, N); raises on Assumption 2
    P = np.asarray(cond, dtype=np.float64)
    W = _check_WU(W_U, P.shape[1])
    sq = np.sqrt(P)  # (T, N)
    DW = _centred_by_pi(P, np.broadcast_to(W, (P.shape[0],) + W.shape))  # (T, N, d): W_o - E_pi[W]
    M = sq[:, :, None] * DW  # (T, N, d)
    r = sq * _centred_by_pi(P, L[:, :, None])[:, :, 0]  # (T, N)
    sv = np.linalg.svd(M, compute_uv=False)  # (T, d)
    with np.errstate(divide="ignore"):
        cond_A = np.where(sv[:, -1] > 0, (sv[:, 0] / sv[:, -1]) ** 2, np.inf)
    return M, r, cond_A


def wls_encoder(cond: np.ndarray, W_U: np.ndarray) -> np.ndarray:
    """Closed-form weighted least-squares encoder of ``draft.lemma-wls``, ``E (T, d)``.

    Formula, per row (``I_pi = diag(pi_t)``):

    .. math::

        w_E(t) = [W_U^T (I_\\pi - \\pi\\pi^T) W_U]^{-1} W_U^T (I_\\pi - \\pi\\pi^T) L_t,

    the minimiser of ``Var_{o ~ pi_t}(W_U e - L_t)``. Computed, vectorised over
    ``t``, as the least-squares solution of ``M_t e = r_t`` (:func:`wls_system`)
    by batched QR; the ``d x d`` system's condition number ``cond(A_t)`` is
    checked against ``WLS_COND_MAX``.

    Raises
    ------
    ValueError
        Assumption 2 fails; ``W_U`` is rank deficient or ``1 in Im(W_U)``;
        some ``A_t`` has condition number above ``WLS_COND_MAX``.

    >>> P = np.array([[0.5, 0.3, 0.2]])
    >>> E = wls_encoder(P, np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> bool(np.allclose(E @ np.eye(3)[:2] - np.log(P) + np.log(0.2), 0))   # d = N-1: exact
    True
    """
    M, r, cond_A = wls_system(cond, W_U)
    bad = np.flatnonzero(~(cond_A <= WLS_COND_MAX))
    if bad.size:
        t = int(bad[np.argmax(cond_A[bad])])
        raise IllConditioned(f"`cond` makes the draft.lemma-wls system ill-conditioned: cond(A_t) = {cond_A[t]:.3g} "
                         f"> WLS_COND_MAX = {WLS_COND_MAX:g} at row t={t} ({bad.size} rows); "
                         f"min pi(.|t) = {np.min(np.asarray(cond)[t]):.3g}")
    Q, R = np.linalg.qr(M)  # (T, N, d), (T, d, d)
    rhs = np.einsum("tnd,tn->td", Q, r)
    return np.linalg.solve(R, rhs[:, :, None])[:, :, 0]  # R triangular, cond(R) = sqrt(cond_A)


def wls_projection(cond_row: np.ndarray, W_U: np.ndarray) -> np.ndarray:
    """``P_t = W_U [W_U^T (I_pi - pi pi^T) W_U]^{-1} W_U^T (I_pi - pi pi^T)`` (``draft.lemma-wls``), ``(N, N)``.

    An (oblique) projection onto ``Im(W_U)``: ``P_t^2 = P_t``. Then
    ``W_U w_E(t) = P_t L_t``. Computed by the QR of :func:`wls_system`'s ``M_t`` (as
    :func:`wls_encoder`), ``cond(A_t)`` checked against ``WLS_COND_MAX``. Needs ``pi_t > 0`` (Assumption 2).

    >>> Pt = wls_projection(np.array([0.5, 0.3, 0.2]), np.array([[1.0], [0.0], [-1.0]]))
    >>> bool(np.allclose(Pt @ Pt, Pt))
    True
    """
    pi = check_array("cond_row", cond_row, ndim=1)
    check_rows_stochastic("cond_row", pi[None, :])
    if not np.all(pi > 0):
        raise ValueError("`cond_row` violates Assumption 2 (full support): a probability is 0")
    W = _check_WU(W_U, pi.size)
    # P_t x = W_U e(x), e(x) = argmin ||M e - B x|| with B = diag(sqrt pi) (I - 1 pi^T), M = B W_U
    # (B^T B = I_pi - pi pi^T): by QR, P_t = W_U R^{-1} Q^T B, so the error scales with
    # cond(R) = sqrt(cond(A_t)), as in wls_encoder (the normal equations' solve scaled with cond(A_t))
    M, _, cond_A = wls_system(pi[None, :], W)
    c = float(cond_A[0])
    if not c <= WLS_COND_MAX:
        raise IllConditioned(f"`cond_row` makes A = W_U^T (I_pi - pi pi^T) W_U ill-conditioned: cond = {c:.3g} > {WLS_COND_MAX:g}")
    B = np.sqrt(pi)[:, None] * (np.eye(pi.size) - pi[None, :])  # (N, N)
    Q, R = np.linalg.qr(M[0])  # (N, d), (d, d)
    return W @ np.linalg.solve(R, Q.T @ B)


def f_wls(prior: np.ndarray, cond: np.ndarray, d: int, W_U: np.ndarray | None = None) -> LowRank:
    """Closed-form ``f_wls`` (``seed.wls-bound``, ``draft.lemma-wls``, ``draft.theorem-wls``).

    ``W = W_U`` (default: the ``W`` of ``f_ls(prior, cond, d, "uniform")``, the
    "closed form" reading of docs/theory.md) and ``E = wls_encoder(cond, W_U)``.
    Needs Assumption 2 and ``d <= N-1``. Raises ``ValueError`` as :func:`wls_encoder`
    does: ``W_U`` rank deficient or ``1 in Im(W_U)``, or some ``A_t`` ill-conditioned
    (``WLS_COND_MAX``; e.g. rows with probabilities of 1e-300).

    >>> from aotmem.theory.generators import dirichlet_task
    >>> task = dirichlet_task(4, 2, alpha=2.0, seed=1)
    >>> a = f_wls(task.prior, task.cond, 2); b = f_ls(task.prior, task.cond, 2)
    >>> bool(weighted_residual(task.prior, task.cond, a.F) <= weighted_residual(task.prior, task.cond, b.F))
    True
    """
    p, P = _check_task(prior, cond)
    d = check_int("d", d, minimum=1, maximum=P.shape[1] - 1)
    if W_U is None:
        W_U = f_ls(p, P, d, "uniform").W
    else:
        W_U = check_array("W_U", W_U, ndim=2)
        if W_U.shape[1] != d:
            raise ValueError(f"`W_U` must have d = {d} columns (got {W_U.shape[1]})")
    return LowRank(W_U, wls_encoder(P, W_U))


def weighted_residual(prior: np.ndarray, cond: np.ndarray, F: np.ndarray, reading: str = "pi-prior") -> float:
    """The weighted objective ``R(F) = sum_t w_t Var_{o~pi_t}(F_t - L_t)`` (module docstring).

    ``reading``: ``"pi-prior"`` (``w_t = p(t)``) or ``"pi"`` (``w_t = 1``). Needs Assumption 2.

    >>> P = np.array([[0.5, 0.5]])
    >>> bool(np.isclose(weighted_residual(np.ones(1), P, np.array([[1.0, 0.0]])), 0.25))   # Var of (+-1/2)
    True
    """
    p, P = _check_task(prior, cond)
    if reading not in WLS_READINGS:
        raise ValueError(f"`reading` must be one of {WLS_READINGS} (got {reading!r})")
    L = log_probs(P)
    F = check_array("F", F, ndim=2)
    if F.shape != P.shape:
        raise ValueError(f"`F` must have shape {P.shape} (got {F.shape})")
    D = F - L
    D = D - np.sum(P * D, axis=1, keepdims=True)
    var = np.sum(P * D * D, axis=1)  # (T,)
    w = p if reading == "pi-prior" else np.ones_like(p)
    return float(w @ var)


# --------------------------------------------------------------------------- f_wls (alternating)


@dataclass(frozen=True)
class AlternatingReport:
    """What :func:`f_wls_alternating` (``seed.wls-bound``, true weighted problem) did: ``history[k]`` is the objective after ``k`` sweeps (``history[0]``: f_wls)."""

    iterations: int
    history: tuple = field(default=())
    converged: bool = False
    reading: str = "pi-prior"


def f_wls_alternating(prior: np.ndarray, cond: np.ndarray, d: int, *, iters: int = 200, tol: float = 1e-12,
                      W_U0: np.ndarray | None = None, reading: str = "pi-prior") -> tuple[LowRank, AlternatingReport]:
    """The true weighted rank-``d`` problem ``min_{W, E} R(E W^T)`` by alternating weighted regressions.

    Objective: ``R`` of :func:`weighted_residual` with ``reading`` (free
    per-row constant ``c_t`` included; ``"pi-prior"`` weights rows by
    ``p(t)``, ``"pi"`` by 1). docs/theory.md (readings for ``f_wls``): there is no
    closed form in general; this is the "separate, better-or-equal solution".

    One sweep: (1) ``E``-step: ``E = wls_encoder(cond, W)`` and
    ``c_t = pi_t . (L_t - W E(t))`` (exact joint minimum over ``(E(t), c_t)``);
    (2) ``W``-step: for each output ``o`` the weighted regression
    ``min_{w_o} sum_t w_t pi(o|t) (E(t) . w_o + c_t - L_{t,o})^2``, a batched
    ``d x d`` solve whose condition number is checked against
    ``WLS_COND_MAX``; (3) gauge: ``W <- W - 1 (1^T W)/N`` (shifting ``c``),
    then ``W = Q R``, ``W <- Q``, ``E <- E R^T`` -- ``F`` up to row constants
    and ``R`` unchanged. Each step cannot increase ``R``, and ``history[0]`` is
    ``R(f_wls)`` for ``W_U0``, so the result is never worse than ``f_wls``.
    Stops when the relative decrease of a sweep is below ``tol``, or when the objective
    is an exact fit up to float64's rounding (``objective_floor``; e.g. uniform rows).

    Returns ``(LowRank, AlternatingReport)``. Needs Assumption 2 and ``d <= N-1``.
    Raises ``ValueError`` when an E-step is refused as by :func:`f_wls` or a W-step is
    ill-conditioned (``WLS_COND_MAX``): the weighted regression does not determine ``w_o``,
    e.g. with fewer than ``d`` rows of ``p(t) > 0`` under the ``pi-prior`` reading.
    """
    p, P = _check_task(prior, cond)
    N = P.shape[1]
    d = check_int("d", d, minimum=1, maximum=N - 1)
    iters = check_int("iters", iters, minimum=0)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"`tol` must be a finite number >= 0 (got {tol!r})")
    if reading not in WLS_READINGS:
        raise ValueError(f"`reading` must be one of {WLS_READINGS} (got {reading!r})")
    L = log_probs(P)
    w = p if reading == "pi-prior" else np.ones_like(p)
    W = f_ls(p, P, d, "uniform").W if W_U0 is None else check_array("W_U0", W_U0, ndim=2)
    if W.shape != (N, d):
        raise ValueError(f"`W_U0` must have shape (N, d) = ({N}, {d}) (got {W.shape})")
    E = wls_encoder(P, W)
    hist = [weighted_residual(p, P, E @ W.T, reading)]
    floor = objective_floor(w, L)
    converged = False
    k = 0
    for k in range(1, iters + 1):
        if hist[-1] <= floor:  # an exact fit up to rounding (e.g. uniform rows): nothing left to decrease
            converged = True
            break
        c = np.sum(P * (L - E @ W.T), axis=1)  # (T,) optimal constants for (W, E)
        Wt = w[:, None] * P  # (T, N) weights of the W-step
        A = np.einsum("to,td,te->ode", Wt, E, E)  # (N, d, d)
        b = np.einsum("to,td->od", Wt * (L - c[:, None]), E)  # (N, d)
        sv = np.linalg.svd(A, compute_uv=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            condA = np.where(sv[:, -1] > 0, sv[:, 0] / sv[:, -1], np.inf)  # singular (E = 0 columns): inf
        if not np.all(condA <= WLS_COND_MAX):
            o = int(np.argmax(condA))
            raise IllConditioned(f"`cond` makes the W-step of f_wls_alternating ill-conditioned: "
                             f"cond = {condA[o]:.3g} > {WLS_COND_MAX:g} for output o={o} at sweep {k}")
        Wn = np.linalg.solve(A, b[:, :, None])[:, :, 0]  # (N, d)
        Wn = Wn - Wn.mean(axis=0, keepdims=True)  # gauge: remove the 1 direction (row constants absorb it)
        Q, R = np.linalg.qr(Wn)
        W, E = Q, E @ R.T
        E = wls_encoder(P, W)  # E-step (re-solves E, c jointly for the new W)
        hist.append(weighted_residual(p, P, E @ W.T, reading))
        prev, cur = hist[-2], hist[-1]
        if prev - cur <= tol * max(prev, np.finfo(float).tiny):
            converged = True
            break
    return LowRank(W, E), AlternatingReport(iterations=len(hist) - 1, history=tuple(hist), converged=converged, reading=reading)


#: The fitted maps the almost-rank-d bounds are about (``theory.bounds.CATALOGUE``), the one list of fits
#: that :func:`fit_encoder`, ``theory.batch.fit_logits_batch``, the claims ledger
#: (``verify/claims/lowrank.py``), ``aotmem bounds`` and ``theory.precise.FITS_MP`` read:
#: ``ls`` = :func:`f_ls` of the bound's sigma reading, ``wls`` = :func:`f_wls`
#: (closed form, ``W_U`` from the unweighted SVD), ``wls-alt`` =
#: :func:`f_wls_alternating` (prior-weighted objective, 50 sweeps); two maps of corrected
#: statements: ``wls-matched`` = :func:`f_wls` with ``W_U`` of ``f_ls`` of the bound's own sigma
#: reading, ``wls-alt-unweighted`` = :func:`f_wls_alternating` with the unweighted objective
#: (``reading="pi"``, every row weight 1, as the unweighted sigma readings weigh rows); and
#: ``min`` = :func:`f_min` (``draft.theorem-wls[min,...]``: ``W_U`` of ``f_ls[sigma reading]``
#: shared, per row the better in KL of the LS and the ``draft.lemma-wls`` encoder).
FITS = ("ls", "wls", "wls-alt", "wls-matched", "wls-alt-unweighted", "min")
#: The fits whose map depends on the bound's sigma reading (the others use the uniform ``W_U`` or none).
SIGMA_FITS = ("ls", "wls-matched", "min")
ALT_SWEEPS = 50  # alternating sweeps: the objective has stopped moving (relative 1e-10) well before on the ledger's tasks
ALT_TOL = 1e-10


def check_fit(fit) -> str:
    """``fit`` if it names a map of :data:`FITS`, else ``ValueError`` naming the argument and the list."""
    if not isinstance(fit, str) or fit not in FITS:
        raise ValueError(f"`fit` must be one of {FITS} (got {fit!r})")
    return fit


def min_rows(F_ls: np.ndarray, F_w: np.ndarray, kl_ls: np.ndarray, kl_w: np.ndarray):
    """The ``min`` map's rows (``draft.theorem-wls[min,...]``, docs/theory.md#d4-wls, last line): ``(F, take_w)``.

    Row ``t`` of ``F`` is the row of ``F_w`` where ``KL_t(F_w) < KL_t(F_ls)`` (``take_w``), else of
    ``F_ls`` (ties keep ``f_ls``: the same KL), so ``dKL(pi, F) = E_t min(KL_t(f_ls), KL_t(f_wls))``.
    Any leading axes (scalar ``(T, N)`` and batched ``(B, T, N)`` alike); the one place the rule is written.
    """
    take_w = kl_w < kl_ls
    return np.where(take_w[..., None], F_w, F_ls), take_w


def f_min(prior, cond, d: int, sigma_reading: str = "uniform") -> LowRank:
    """The ``min`` map of ``draft.theorem-wls[min,sigma=...]``: ``W_U`` shared, per row the better encoder.

    ``W_U`` = ``W`` of ``f_ls(prior, cond, d, sigma_reading)``; ``E_w = wls_encoder(cond, W_U)``
    (``draft.lemma-wls``); row ``t`` of ``E`` is ``E_ls(t)`` or ``E_w(t)``, whichever gives the
    smaller ``KL_t`` (:func:`min_rows`). ``F = E W_U^T`` has rank ``<= d`` and
    ``dKL(pi, F) = E_t min(KL_t(f_ls), KL_t(f_wls))`` (docs/theory.md#d4-wls). Needs Assumption 2,
    ``d <= N-1`` and ``1 not in Im(W_U)`` (raises as :func:`wls_encoder`).
    """
    p, P = _check_task(prior, cond)
    if sigma_reading not in LS_READINGS:
        raise ValueError(f"`sigma_reading` must be one of {LS_READINGS} (got {sigma_reading!r})")
    d = check_int("d", d, minimum=1, maximum=P.shape[1] - 1)
    ls = f_ls(p, P, d, sigma_reading)
    E_w = wls_encoder(P, ls.W)
    F_ls, F_w = ls.F, E_w @ ls.W.T
    _, take_w = min_rows(F_ls, F_w, kl_rows(P, F_ls), kl_rows(P, F_w))
    return LowRank(ls.W, np.where(take_w[:, None], E_w, ls.E))


def fit_encoder(prior, cond, d: int, fit: str, sigma_reading: str = "uniform") -> LowRank:
    """The rank-``d`` map a bound of ``seed.ls-bound``/``seed.wls-bound``/``draft.theorem-*`` is about.

    ``fit`` (:data:`FITS`; anything else raises ``ValueError``): ``"ls"`` (:func:`f_ls` of
    ``sigma_reading``), ``"wls"`` (:func:`f_wls`, the closed form of ``draft.lemma-wls`` with
    ``W_U`` from the unweighted SVD), ``"wls-alt"`` (:func:`f_wls_alternating`, the true
    prior-weighted rank-``d`` problem, ``ALT_SWEEPS`` sweeps), ``"wls-matched"``
    (the closed form with ``W_U`` of ``f_ls[sigma_reading]``), ``"wls-alt-unweighted"``
    (the alternating fit of the unweighted objective), ``"min"`` (:func:`f_min`).

    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> fit_encoder([0.5, 0.5], P, 1, "wls").d
    1
    """
    fit = check_fit(fit)
    if fit == "ls":
        return f_ls(prior, cond, d, sigma_reading)
    if fit == "wls":
        return f_wls(prior, cond, d)
    if fit == "wls-alt":
        return f_wls_alternating(prior, cond, d, iters=ALT_SWEEPS, tol=ALT_TOL)[0]
    if fit == "wls-matched":
        return f_wls(prior, cond, d, W_U=f_ls(prior, cond, d, sigma_reading).W)
    if fit == "wls-alt-unweighted":
        return f_wls_alternating(prior, cond, d, iters=ALT_SWEEPS, tol=ALT_TOL, reading="pi")[0]
    return f_min(prior, cond, d, sigma_reading)
