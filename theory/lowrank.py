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
from typing import NamedTuple

import numpy as np

from .divergence import kl, kl_rows_kernel
from .spectra import SIGMA_READINGS, centred_kernel, log_probs
from .validate import check_array, check_int, check_prior_cond, check_rows_stochastic, mark_failed as _fail

class IllConditioned(ValueError):
    """A float64 linear system above its condition limit (``WLS_COND_MAX``): refused, not solved.

    A float64 limit, not a property of the map: the ``dps=`` evaluations (:mod:`aotmem.theory.precise`)
    solve the same systems up to condition ``10^25``, and the ledger decides such instances there.
    """


__all__ = [
    "IllConditioned",
    "Float64Policy",
    "LowRank",
    "FITS",
    "SIGMA_FITS",
    "check_fit",
    "min_rows",
    "f_min",
    "fit_encoder",
    "row_var",
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
_TINY = np.finfo(np.float64).tiny


def objective_floor(w: np.ndarray, L: np.ndarray) -> float:
    """Float64 rounding's reach in the weighted objective ``R = sum_t w_t Var_{o~pi_t}(F_t - L_t)`` of an exact fit.

    ``F_t - L_t`` and its centring are off by ``~(N + 2) eps max_o |L_{t,o}|`` per entry at an exact fit
    (``|F| ~ |L|``), so ``R`` there is rounding up to ``sum_t w_t ((N + 2) eps max_o |L_{t,o}|)^2``: an
    objective below this is an exact fit (e.g. uniform rows: ``R ~ 1e-32``, not 0), which no sweep can improve.

    References
    ----------
    ``seed.wls-bound[sigma=...,inf=...,fit=alternating]`` (docs/theory.md#s5) and
    ``draft.theorem-wls[sigma=...,fit=alternating]`` (docs/theory.md#d4-wls): the stopping rule of the alternating
    fit.
    """
    return float(w @ objective_floor_rows(L))


def objective_floor_rows(L: np.ndarray) -> np.ndarray:
    """The per-row terms of :func:`objective_floor`, ``((N + 2) eps max_o |L_{t,o}|)^2``, over the last axis (stacks too).

    References
    ----------
    ``seed.wls-bound[sigma=...,inf=...,fit=alternating]`` (docs/theory.md#s5) and
    ``draft.theorem-wls[sigma=...,fit=alternating]`` (docs/theory.md#d4-wls): the stopping rule of the alternating
    fit.
    """
    return ((L.shape[-1] + 2) * np.finfo(np.float64).eps * np.max(np.abs(L), axis=-1)) ** 2


def centring_noise(L: np.ndarray):
    """Float64 rounding's reach in the centred ``L`` of any reading, in Frobenius norm.

    Each entry of ``L_c`` is ``L_{t,o}`` minus a mean of ``N`` terms (uniform or
    under ``pi_t``), off by at most ``~(N + 2) eps max|L|``; the ``-prior`` readings
    scale rows by ``sqrt p(t) <= 1``. A centred ``L`` whose ``sigma_1`` is below
    this is zero up to rounding (every row constant, e.g. uniform rows, where
    the mean of ``N`` equal logs need not round back to them): its singular
    vectors are noise, and may point along ``1``. Any leading axes (one value per matrix).

    References
    ----------
    ``seed.ls-bound``, ``draft.theorem-ls`` (the numerical rank of ``f_ls``).
    """
    T, N = L.shape[-2:]
    return (N + 2) * np.finfo(np.float64).eps * np.sqrt(T * N) * np.max(np.abs(L), axis=(-2, -1), initial=0.0)


@dataclass(frozen=True)
class LowRank:
    """A rank-``d`` sequence encoder ``f_{W,E}(t) = W E(t)``, an element of ``L(N,S,d)`` (``paper.prop1``); logits ``F = E W^T``.

    Parameters
    ----------
    W : (N, d) unembedding, rows ``w_j``.
    E : (T, d) encoder, rows ``E(t)``.

    Float64, or object arrays of ``mpmath.mpf`` (what the fits return with ``dps=``; kept exact).

    >>> lr = LowRank(np.eye(3)[:, :2], np.ones((4, 2)))
    >>> lr.F.shape, lr.d
    ((4, 3), 2)
    """

    W: np.ndarray
    E: np.ndarray

    def __post_init__(self) -> None:
        exact = getattr(self.W, "dtype", None) == object or getattr(self.E, "dtype", None) == object
        W, E = (np.asarray(self.W, dtype=object), np.asarray(self.E, dtype=object)) if exact else (
            check_array("W", self.W, ndim=2), check_array("E", self.E, ndim=2))
        if W.ndim != 2 or E.ndim != 2:
            raise ValueError(f"`W` and `E` must be 2-dimensional (got shapes {W.shape} and {E.shape})")
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
        """Logits ``F = E W^T``, ``(T, N)`` (object arrays of mpf: each entry an ``fsum`` at the digits in force)."""
        if self.W.dtype == object:
            from .precise import MP

            return MP.matmul(self.E, self.W.T)
        return self.E @ self.W.T

    def divergence(self, prior: np.ndarray, cond: np.ndarray, *, dps: int | None = None) -> float:
        """``dKL(pi, f_{W,E})`` (:func:`theory.divergence.kl`, stable log-softmax); ``dps`` as there
        (for a map held as mpf, default the digits in force, at least ``theory.precise.DPS``)."""
        P = check_rows_stochastic("cond", cond)
        if P.shape != (self.T, self.N):
            raise ValueError(f"`cond` must have shape (T, N) = ({self.T}, {self.N}) (got {P.shape})")
        if dps is None and self.W.dtype == object:
            from .precise import default_dps

            dps = default_dps()
        if dps is None:
            return kl(prior, P, self.F)
        from .precise import working

        with working(dps):  # F = E W^T at those digits too; the caller's cond, converted exactly (not P)
            return kl(prior, cond, self.F, dps=dps)


# --------------------------------------------------------------------------- the fit kernels (stacks (B, T, N))
#
# Every fit is computed on a stack of instances: ``p (B, T)``, ``P (B, T, N)``, ``L = log P``. The scalar
# functions below are these kernels with ``B = 1`` (one code for one instance and for a batch,
# ``theory.batch``). A kernel never raises for one instance: it marks it in ``ok (B,)`` with the reason in
# ``why (B,)`` (the first reason wins, as a raise would); the scalar wrappers raise that reason
# (:class:`IllConditioned` for a float64 condition limit, ``ValueError`` otherwise).


def _mT(X):
    return np.swapaxes(X, -1, -2)


def _dot_rows(p, x):
    """``p[b] @ x[b]`` for every ``b``, ``(B,)``: a stack of 1-d dots."""
    return (p[:, None, :] @ x[:, :, None])[:, 0, 0]


def ls_fit_kernel(p, P, L, d, reading, xp=np, ok=None, why=None):
    """``f_ls`` on a stack: ``(W (B, N, d), E (B, T, d))`` (:func:`f_ls`); ``xp`` any namespace.

    ``W`` = the first ``d`` right singular vectors of the centred ``L`` (a stacked SVD, whose ``s`` gives
    the numerical rank ``r``: ``s_j > RANK_RTOL s_1``, and rank 0 when ``s_1`` is within
    :func:`centring_noise`), completed when ``r < d`` by a QR of ``[1/sqrt N (when room remains), V, I]``
    (one stacked QR per distinct ``r``); ``E = L_c^{unw} W``. With ``ok``/``why`` given, the namespace's
    policy may refuse an instance whose rank or cut is undetermined (:data:`Float64Policy`: never).

    References
    ----------
    ``seed.ls-bound``, ``draft.theorem-ls`` (Eckart-Young; docs/theory.md#d4).
    """
    B, T, N = P.shape
    Lc = centred_kernel(p, P, L, reading, xp)
    _, s, Vt = xp.linalg.svd(Lc, full_matrices=False)  # s (B, K), Vt (B, K, N)
    s0, noise = s[:, 0], centring_noise(L)
    r = np.where(s0 > noise, np.sum(s > RANK_RTOL * s0[:, None], axis=1), 0)
    if ok is not None:
        _policy(xp).mark_rank(s, noise, r, d, reading, ok, why, RANK_RTOL)
    W = np.empty((B, N, d), dtype=Lc.dtype)
    full = r >= d
    if full.all():
        W[...] = _mT(Vt[:, :d, :])
    else:
        if full.any():
            W[full] = _mT(Vt[full, :d, :])
        for rr in np.unique(r[~full]):  # at most d groups, each one stacked QR
            idx = np.flatnonzero(r == rr)
            V = _mT(Vt[idx, :rr, :])  # (G, N, rr)
            blocks = [V]
            if rr + 1 + (d - rr) <= N:  # avoid_ones: the new columns also orthogonal to 1
                blocks.insert(0, xp.full((idx.size, N, 1), 1.0 / xp.sqrt(xp.asarray(N))))
            Bm = np.concatenate(blocks + [np.broadcast_to(np.eye(N), (idx.size, N, N))], axis=2)
            Q, R = xp.linalg.qr(Bm)
            k = sum(b.shape[2] for b in blocks)
            W[idx] = np.concatenate([V, Q[:, :, k:k + d - rr]], axis=2)
            if ok is not None:  # a completion column dependent on the others (float64: a rounding-determined one)
                oki, whyi, n = ok[idx], why[idx], k + d - rr
                _policy(xp).mark_dependent(Bm[:, :, :n], R[:, :n, :n], oki, whyi, f"f_ls ({reading}) completion")
                ok[idx], why[idx] = oki, whyi
    Lu = centred_kernel(p, P, L, reading.removesuffix("-prior"), xp)
    return W, xp.matmul(Lu, W)


def _argmax_split(P, xp=np):
    """``o = argmax_o pi(o|t)`` ``(B, T, 1)``, ``Pm`` = ``P`` with 0 at ``o``, ``rest = 1 - pi_{o*}`` summed from the others."""
    o = np.argmax(P, axis=2)[:, :, None]
    Pm = P.copy()
    np.put_along_axis(Pm, o, 0.0, axis=2)
    return o, Pm, xp.sum(Pm, axis=2)


def _centred_by_pi(P, X, o, Pm, rest, xp=np):
    """``X (B, T, N, k)`` minus its ``pi_t``-mean, without cancellation at the likeliest token ``o*``: there
    ``(1 - pi_{o*}) X_{o*} - sum_{k != o*} pi_k X_k`` with ``1 - pi_{o*}`` summed from the other entries."""
    mean = xp.einsum("btn,btnk->btk", P, X)
    D = X - mean[:, :, None, :]
    Xo = np.take_along_axis(X, o[:, :, :, None], axis=2)[:, :, 0, :]  # (B, T, k)
    val = rest[:, :, None] * Xo - xp.einsum("btn,btnk->btk", Pm, X)
    np.put_along_axis(D, o[:, :, :, None], val[:, :, None, :], axis=2)
    return D


def _centred_W_by_pi(P, W, o, Pm, rest, xp=np):
    """:func:`_centred_by_pi` of ``X = W`` broadcast over ``t`` (``W (B, N, d)``), without materialising the broadcast sums."""
    mean = xp.einsum("btn,bnk->btk", P, W)
    D = W[:, None, :, :] - mean[:, :, None, :]
    Wo = W[np.arange(W.shape[0])[:, None], o[:, :, 0]]  # (B, T, d): W_{o*}
    val = rest[:, :, None] * Wo - xp.einsum("btn,bnk->btk", Pm, W)
    np.put_along_axis(D, o[:, :, :, None], val[:, :, None, :], axis=2)
    return D


# The scalar code decides ``cond(A_t) <= WLS_COND_MAX`` from a full SVD of
# ``M_t`` (``wls_system``), the most expensive step of the closed form (a 7 x 3
# SVD costs ~3 us). Here most rows are decided by certified bounds on
# ``kappa = kappa_2(M_t) = kappa_2(R_t)`` (``cond(A_t) = kappa^2``) from the R
# of the QR the solve needs anyway, in tiers, each on the rows still undecided:
#   0. ``kappa >= max|r_ii| / min|r_ii|``: decides the clearly ill-conditioned rows;
#   1. ``kappa <= sqrt(||R||_1 ||R||_inf) sqrt(n_1 n_inf)``, with ``n_inf >= ||R^{-1}||_inf``
#      and ``n_1 >= ||R^{-1}||_1`` from the comparison matrix (``|R^{-1}| <= <R>^{-1}``
#      entrywise for triangular R: two back-substitutions with a vector, vectorised);
#   2. ``kappa <= ||R||_F ||R^{-1}||_F`` (a stacked solve for ``R^{-1}``);
#   3. the rest (near the threshold: within the factor ``<= d`` of the bounds)
#      get the scalar code's own SVD of ``M_t``: their decision is the scalar's bit for bit.
# A bound decides only when it clears the threshold ``sqrt(WLS_COND_MAX) = 1e6``
# by the relative margin below. Margin: near the threshold every computed
# quantity (the scalar's singular values, R, the bounds) is within
# ``c eps kappa <= 1e-8`` (``c <~ 100`` for N <= 12) relative of its exact value
# (backward stability of SVD, QR and triangular solves), so a bound that clears
# the threshold by 1e-6 decides as the scalar's SVD does.
_COND_MARGIN = 1e-6


def _comparison_bound(R):
    """``sqrt(||R||_1 ||R||_inf) * sqrt(n_1 n_inf) >= kappa_2(R)`` for upper-triangular ``R (..., d, d)``, ``(...)``.

    ``n_inf = max x``, ``<R> x = 1``, and ``n_1 = max y``, ``<R>^T y = 1``
    (``<R>``: ``|r_ii|`` on the diagonal, ``-|r_ij|`` off it), by substitution
    with the stack axis last (contiguous rows of length ``S``).
    """
    d = R.shape[-1]
    A = np.abs(R.reshape(-1, d * d)).T.copy().reshape(d, d, -1)  # (d, d, S), the stack axis contiguous
    x = np.empty((d,) + A.shape[2:])
    y = np.empty_like(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(d - 1, -1, -1):
            x[i] = (1.0 + np.einsum("js,js->s", A[i, i + 1:], x[i + 1:])) / A[i, i]
        for i in range(d):
            y[i] = (1.0 + np.einsum("js,js->s", A[:i, i], y[:i])) / A[i, i]
        n_R = np.sqrt(A.sum(axis=0).max(axis=0) * A.sum(axis=1).max(axis=0))
        return (n_R * np.sqrt(x.max(axis=0) * y.max(axis=0))).reshape(R.shape[:-2])


def _cond_A_ok(M, R):
    """``cond(A_t) <= WLS_COND_MAX`` as :func:`wls_system` decides it (from ``svd(M_t)``), bool ``(B, T)``."""
    d = R.shape[-1]
    hi, lo = np.sqrt(WLS_COND_MAX) * (1.0 + _COND_MARGIN), np.sqrt(WLS_COND_MAX) * (1.0 - _COND_MARGIN)
    diag = np.abs(np.diagonal(R, axis1=-2, axis2=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        lb = diag.max(axis=-1) / diag.min(axis=-1)  # <= kappa; NaN (M = 0) or inf: singular
    good = np.zeros(lb.shape, dtype=bool)
    und = lb <= hi  # tier 0: the others are ill-conditioned (NaN compares False)
    ub = _comparison_bound(R[und])
    good[und] = ub <= lo
    und &= ~good
    if und.any():  # tier 2: Frobenius norms with R^{-1} (R triangular with a nonzero diagonal: no singular solve)
        Ru = R[und]
        with np.errstate(over="ignore", invalid="ignore"):
            Rinv = np.linalg.solve(Ru, np.broadcast_to(np.eye(d), Ru.shape))
            ub = np.sqrt(np.sum(Ru * Ru, axis=(-2, -1)) * np.sum(Rinv * Rinv, axis=(-2, -1)))
        dec = ub <= lo
        good[und] = dec
        und[und] = ~dec
    if und.any():  # tier 3: the scalar code's own decision on the rows near the threshold
        sv = np.linalg.svd(M[und], compute_uv=False)
        with np.errstate(divide="ignore"):
            cond_A = np.where(sv[:, -1] > 0, (sv[:, 0] / sv[:, -1]) ** 2, np.inf)
        good[und] = cond_A <= WLS_COND_MAX
    return good


# The rank test decides "full column rank" (SVD of W) and "1 in Im(W)"
# (distance of 1/sqrt(N) to Im(W) <= ONES_IN_IMAGE_TOL = 1e-8, from a QR of W).
# The W here (of f_ls, or the Q of the alternating W-step) have orthonormal
# columns: when the Gram matrix is within _ORTHO_TOL of I, its singular values
# lie in [1 - d tol, 1 + d tol] (Gershgorin), so the rank test passes, and the
# distance computed with W itself as the basis is within ~2 d tol of the exact
# one, so a distance above _DIST_SURE decides "1 not in Im(W)" as the scalar's
# QR does. The other instances get the scalar computation itself.
_ORTHO_TOL = 1e-6
_DIST_SURE = 1e-4


def check_W_kernel(W, ok, why, where=""):
    """The hypotheses of ``draft.lemma-wls`` on ``W (B, N, d)``: full column rank, ``1 not in Im(W)``; failures marked.

    References
    ----------
    ``draft.lemma-wls`` (its hypotheses: ``W_U`` of full column rank, ``1 not in Im(W_U)``).
    """
    B, N, d = W.shape
    one = np.full(N, 1.0 / np.sqrt(N))
    G = _mT(W) @ W
    orth = np.abs(G - np.eye(d)).max(axis=(1, 2)) <= _ORTHO_TOL
    dist = np.linalg.norm(one - np.einsum("bnk,bk->bn", W, np.einsum("bnk,n->bk", W, one)), axis=1)
    rest = ~(orth & (dist > _DIST_SURE))
    if rest.any():  # the scalar code's own tests
        Wr = W[rest]
        sW = np.linalg.svd(Wr, compute_uv=False)
        rank_bad = np.zeros(B, dtype=bool)
        rank_bad[rest] = sW[:, -1] <= RANK_RTOL * sW[:, 0]
        _fail(ok, why, rank_bad, f"`W_U` must have full column rank{where}")
        QW, _ = np.linalg.qr(Wr)
        one_in = np.zeros(B, dtype=bool)
        one_in[rest] = np.linalg.norm(one - (QW @ (_mT(QW) @ one[:, None]))[:, :, 0], axis=1) <= ONES_IN_IMAGE_TOL
        _fail(ok, why, one_in, f"`W_U` violates the hypothesis of draft.lemma-wls: 1 lies in Im(W_U){where}")


def wls_encoder_kernel(P, L, W, ok, why, where="", xp=np):
    """:func:`wls_encoder` on a stack, ``E (B, T, d)``; failures marked in ``ok``/``why``; ``xp`` any namespace.

    Checks in order (:data:`Float64Policy`; a namespace's ``policy`` replaces them): ``W`` of full column
    rank, ``1 not in Im(W)`` (distance of ``1/sqrt N`` above ``ONES_IN_IMAGE_TOL``), every
    ``cond(A_t) <= WLS_COND_MAX``; then the QR solve of ``M_t e = r_t``.

    References
    ----------
    ``draft.lemma-wls`` (draft section 4, the closed-form weighted encoder).
    """
    B, T, N = P.shape
    d = W.shape[2]
    policy = _policy(xp)
    policy.check_W(W, ok, why, where)
    sq = xp.sqrt(P)
    o, Pm, rest = _argmax_split(P, xp)
    M = sq[:, :, :, None] * _centred_W_by_pi(P, W, o, Pm, rest, xp)  # (B, T, N, d)
    r = sq * _centred_by_pi(P, L[:, :, :, None], o, Pm, rest, xp)[:, :, :, 0]  # (B, T, N)
    Q, R = xp.linalg.qr(M)  # (B, T, N, d), (B, T, d, d)
    policy.mark_cond_A(M, R, W, ok, why, where)
    rhs = xp.einsum("btnd,btn->btd", Q, r)
    if not ok.all():  # a singular R would make the stacked solve raise for everyone
        R = np.where(ok[:, None, None, None], R, np.eye(d))
    return xp.linalg.solve(R, rhs[:, :, :, None])[:, :, :, 0]


# The W-step of the alternating fit decides ``cond(A_o) <= WLS_COND_MAX`` from an
# SVD of each ``d x d`` matrix ``A_o`` (symmetric PSD). Here eigenvalues decide
# first (``eigvalsh``, ~2.5x cheaper than the SVD): both the eigenvalues and the
# scalar's singular values of a symmetric matrix are within ``delta = c d eps
# ||A||`` of the exact ones (``c = 64``, generous for LAPACK's backward error), so
# the scalar's computed ratio lies in ``[(l_max - delta)/(l_min + delta),
# (l_max + delta)/(l_min - delta)]``; a row is decided when that interval is on
# one side of the threshold (``l_min + delta <= 0``: singular to working
# precision, the scalar's ratio is then >= 1/(c d eps) > 1e12 too), the rest get
# the scalar's own SVD.
_EIG_C = 64.0


def _spd_cond_ok(A):
    """``cond(A) <= WLS_COND_MAX`` as ``f_wls_alternating`` decides it (``svd``: ``s_0/s_last``, inf if ``s_last = 0``)."""
    d = A.shape[-1]
    lam = np.linalg.eigvalsh(A)  # ascending
    lo, hi = lam[..., 0], lam[..., -1]
    delta = _EIG_C * d * np.finfo(np.float64).eps * np.abs(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = (lo - delta > 0) & ((hi + delta) / (lo - delta) <= WLS_COND_MAX)
        bad = (lo + delta <= 0) | ((hi - delta) / (lo + delta) > WLS_COND_MAX)
    amb = ~good & ~bad
    if amb.any():
        sv = np.linalg.svd(A[amb], compute_uv=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(sv[:, -1] > 0, sv[:, 0] / sv[:, -1], np.inf)
        good[amb] = c <= WLS_COND_MAX
    return good


class Float64Policy:
    """The refusals of the fit kernels in float64 (each marks ``ok``/``why``, never raises).

    A namespace with a ``policy`` attribute replaces them (``theory.precise.MP``: refuse only what is not
    determined at its working digits, :class:`theory.precise.NotUnique`). Float64's limits are
    ``WLS_COND_MAX`` (the draft.lemma-wls rows and the W-step, by the certified tiers above) and the
    hypotheses of draft.lemma-wls on ``W_U`` (:func:`check_W_kernel`); the rank and the cut of ``f_ls``
    and the gauge step are never refused (float64 returns a rounding-determined answer there).
    """

    check_W = staticmethod(check_W_kernel)

    @staticmethod
    def mark_rank(s, noise, r, d, reading, ok, why, rtol):
        """The numerical rank / truncation cut of ``f_ls`` is not in doubt in float64."""

    @staticmethod
    def mark_cond_A(M, R, W, ok, why, where):
        _fail(ok, why, ~np.all(_cond_A_ok(M, R), axis=1),
              f"`cond` makes the draft.lemma-wls system ill-conditioned: cond(A_t) > WLS_COND_MAX{where}")

    @staticmethod
    def mark_spd(A, ok, why, k, gram):  # noqa: ARG004 (the factor A = R^T R serves the MP policy)
        _fail(ok, why, ~np.all(_spd_cond_ok(A), axis=1),
              f"`cond` makes the W-step of f_wls_alternating ill-conditioned (cond > WLS_COND_MAX) at sweep {k}")

    @staticmethod
    def mark_dependent(X, R, ok, why, what):
        """The gauge step's QR is not refused in float64."""

    @staticmethod
    def mark_floor(cur, floor, active, ok, why, k):
        """The stopping rule at the rounding floor is decided as computed in float64."""


def _policy(xp):
    return getattr(xp, "policy", Float64Policy)


def row_var_kernel(P, L, F, xp=np):
    """``Var_{o~pi_t}(F_t - L_t)`` per row, ``(..., T)``: what the closed-form encoder minimises row by row.

    References
    ----------
    ``draft.lemma-wls[minimiser]``, ``seed.wls-bound`` (its objective's rows; docs/theory.md#d4-wls).
    """
    D = F - L
    D = D - xp.sum(P * D, axis=-1, keepdims=True)
    return xp.sum(P * D * D, axis=-1)


def row_var(cond, W, E, *, dps: int | None = None) -> np.ndarray:
    """``Var_{o~pi_t}(fbar_t)`` of the map ``F = E W^T`` per row, ``(T,)``: :func:`row_var_kernel`. Needs Assumption 2.

    ``W (N, d)``, ``E (T, d)``; ``dps``: at ``dps`` digits (``theory.precise``; float64 or mpf factors).

    References
    ----------
    ``draft.lemma-wls[minimiser]`` (draft section 4; docs/theory.md#d3).
    """
    if dps is None:
        P, W, E = check_rows_stochastic("cond", cond), check_array("W", W, ndim=2), check_array("E", E, ndim=2)
        return _row_var_of(P, log_probs(P), W, E, np)
    from .precise import MP, exact_array, exact_log, exact_rows, working

    with working(dps):
        P, W, E = exact_rows(cond), exact_array("W", W), exact_array("E", E)
        return _row_var_of(P, exact_log(P), W, E, MP)


def _row_var_of(P, L, W, E, xp):
    if W.shape[0] != P.shape[1] or E.shape[0] != P.shape[0] or W.shape[1] != E.shape[1]:
        raise ValueError(f"`W` (N, d) and `E` (T, d) must match cond {P.shape} (got {W.shape}, {E.shape})")
    return row_var_kernel(P, L, xp.matmul(E, W.T), xp)


def weighted_residual_kernel(w, P, L, F, xp=np):
    """``R(F) = sum_t w_t Var_{o~pi_t}(F_t - L_t)`` on a stack, ``(B,)`` (module docstring).

    References
    ----------
    ``seed.wls-bound`` (its weighted objective, read with a free per-row constant; docs/theory.md#d4-wls).
    """
    return _dot_rows(w, row_var_kernel(P, L, F, xp))


class AlternatingRun(NamedTuple):
    """What :func:`wls_alternating_kernel` returns, per instance: the map ``W (B, N, d)``, ``E (B, T, d)``,
    ``sweeps (B,)``, ``history (iters + 1, B)`` (objective after each sweep; NaN after the last) and
    ``converged (B,)``."""

    W: np.ndarray
    E: np.ndarray
    sweeps: np.ndarray
    history: np.ndarray
    converged: np.ndarray


def _w_step(w, P, L, E, W, k, ok, why, xp=np):
    """One W-step and gauge on the running instances: ``Q (G, N, d)`` (failures marked in ``ok``/``why``)."""
    d = W.shape[-1]
    policy = _policy(xp)
    c = xp.sum(P * (L - xp.matmul(E, _mT(W))), axis=2)  # (G, T) optimal constants for (W, E)
    Wt = w[:, :, None] * P
    A = xp.einsum("bto,btd,bte->bode", Wt, E, E)  # (G, N, d, d)
    bv = xp.einsum("bto,btd->bod", Wt * (L - c[:, :, None]), E)  # (G, N, d)
    policy.mark_spd(A, ok, why, k, gram=(Wt, E))  # A_o = R_o^T R_o, R_o = sqrt(Wt[:, :, o]) E
    if not ok.all():
        A = np.where(ok[:, None, None, None], A, np.eye(d))
    Wn = xp.linalg.solve(A, bv[:, :, :, None])[:, :, :, 0]
    Wn = Wn - xp.mean(Wn, axis=1, keepdims=True)  # gauge: remove the 1 direction (row constants absorb it)
    Q, R = xp.linalg.qr(Wn)
    policy.mark_dependent(Wn, R, ok, why, f"gauge step of f_wls_alternating (sweep {k})")
    return Q


def wls_alternating_kernel(w, P, L, W, ok, why, iters, tol, xp=np) -> AlternatingRun:
    """:func:`f_wls_alternating` on a stack from ``W (B, N, d)``, row weights ``w (B, T)``; ``xp`` any namespace.

    Each instance runs the sweeps (E-step: the closed form; W-step: per output ``o`` the weighted
    regression, ``cond(A_o) <= WLS_COND_MAX``; gauge: ``W <- Q`` of the centred ``W``) and stops at an
    exact fit up to rounding (``objective_floor``) or a relative decrease ``<= tol``; a sweep acts on the
    instances still running (gathered, then scattered back).

    References
    ----------
    ``seed.wls-bound``, ``draft.theorem-wls`` (``fit=alternating``: the true weighted rank-``d`` problem).
    """
    E = wls_encoder_kernel(P, L, W, ok, why, xp=xp)
    hist = np.full((iters + 1, P.shape[0]), np.nan, dtype=L.dtype)
    hist[0] = weighted_residual_kernel(w, P, L, xp.matmul(E, _mT(W)), xp)
    sweeps = np.zeros(P.shape[0], dtype=np.int64)
    converged = np.zeros(P.shape[0], dtype=bool)
    floor = _dot_rows(w, objective_floor_rows(L))
    active = ok.copy()
    cur_all = hist[0].copy()
    for k in range(1, iters + 1):
        _policy(xp).mark_floor(cur_all, floor, active, ok, why, k)
        active &= ok
        exact = active & (cur_all <= floor)  # an exact fit up to rounding: nothing left to decrease
        converged |= exact
        active &= ~exact
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Pi, Li, wi = P[idx], L[idx], w[idx]
        oki, whyi = np.ones(idx.size, dtype=bool), np.full(idx.size, "", dtype=object)
        Q = _w_step(wi, Pi, Li, E[idx], W[idx], k, oki, whyi, xp)
        En = wls_encoder_kernel(Pi, Li, Q, oki, whyi, where=f" (E-step of sweep {k})", xp=xp)
        cur = weighted_residual_kernel(wi, Pi, Li, xp.matmul(En, _mT(Q)), xp)
        bad = idx[~oki]
        ok[bad], why[bad], active[bad] = False, whyi[~oki], False
        good = idx[oki]
        prev = cur_all[good]
        W[good], E[good], cur_all[good], sweeps[good] = Q[oki], En[oki], cur[oki], k
        hist[k, good] = cur[oki]
        stop = prev - cur[oki] <= tol * np.maximum(prev, _TINY)
        active[good[stop]] = False
        converged[good[stop]] = True
    return AlternatingRun(W, E, sweeps, hist, converged)


def fit_kernel(p, P, L, d, fit, sr, ok, why, xp=np):
    """The map ``(W (B, N, d), E (B, T, d))`` of ``fit`` (:data:`FITS`) on a stack (``ok``/``why`` updated).

    ``sr`` is the bound's sigma reading (used by :data:`SIGMA_FITS`). An unknown name raises.

    References
    ----------
    ``seed.ls-bound``, ``seed.wls-bound``, ``draft.lemma-wls``, ``draft.theorem-ls``, ``draft.theorem-wls``
    (and ``[min]``, docs/theory.md#d4-wls): the maps the almost-rank-d bounds are about.
    """
    fit = check_fit(fit)
    if fit == "ls":
        return ls_fit_kernel(p, P, L, d, sr, xp, ok, why)
    W, E = ls_fit_kernel(p, P, L, d, "uniform" if fit in ("wls", "wls-alt", "wls-alt-unweighted") else sr,
                         xp, ok, why)
    if fit in ("wls-alt", "wls-alt-unweighted"):  # prior-weighted objective, or every row weight 1 ("pi")
        w = p if fit == "wls-alt" else np.ones_like(p)
        run = wls_alternating_kernel(w, P, L, W, ok, why, ALT_SWEEPS, ALT_TOL, xp)
        return run.W, run.E
    E_w = wls_encoder_kernel(P, L, W, ok, why, xp=xp)
    if fit in ("wls", "wls-matched"):
        return W, E_w
    # min: W_U = W of f_ls[sr]; per row the better (in KL) of the LS and the draft.lemma-wls encoder
    F_ls, F_w = xp.matmul(E, _mT(W)), xp.matmul(E_w, _mT(W))
    kl_w, kl_ls = kl_rows_kernel(P, F_w, xp), kl_rows_kernel(P, F_ls, xp)
    _fail(ok, why, ~(xp.isfinite(kl_w) & xp.isfinite(kl_ls)).all(axis=1),
          "`F`: the log-softmax overflows float64 where pi > 0, so the divergence is not representable")
    return W, np.where(min_rows(F_ls, F_w, kl_ls, kl_w)[1][..., None], E_w, E)


# --------------------------------------------------------------------------- the scalar fits (B = 1)


def _one(prior, cond):
    """``(p, P, L)`` of one validated instance with a batch axis of 1 (Assumption 2 checked by ``log_probs``)."""
    p, P = check_prior_cond(prior, cond)
    return p[None], P[None], log_probs(P)[None]


def _raise_if_refused(ok, why):
    if not ok[0]:
        raise (IllConditioned if "ill-conditioned" in why[0] else ValueError)(why[0])


def _fit_one(prior, cond, d, fit, sr, maximum_d, dps=None):
    if sr not in LS_READINGS:
        raise ValueError(f"`reading` must be one of {LS_READINGS} (got {sr!r})")
    if dps is not None:  # the same kernel at dps digits: refusals are what is not determined there (MPPolicy)
        from .precise import exact_stack, run_exact, working

        with working(dps):
            p, P, L = exact_stack(prior, cond)
            d = check_int("d", d, minimum=1, maximum=P.shape[2] - maximum_d)
            W, E = run_exact(fit_kernel, p, P, L, d, fit, sr)
            return LowRank(W[0], E[0])
    p, P, L = _one(prior, cond)
    d = check_int("d", d, minimum=1, maximum=P.shape[2] - maximum_d)
    ok, why = np.ones(1, dtype=bool), np.full(1, "", dtype=object)
    W, E = fit_kernel(p, P, L, d, fit, sr, ok, why)
    _raise_if_refused(ok, why)
    return LowRank(W[0], E[0])


def f_ls(prior: np.ndarray, cond: np.ndarray, d: int, reading: str = "uniform", *, dps: int | None = None) -> LowRank:
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

    Needs Assumption 2 (``L`` finite). :func:`ls_fit_kernel` with one instance.

    ``dps``: the same kernel at ``dps`` digits (``theory.precise``; ``W``, ``E`` object arrays of mpf), for
    every fit of this module: the float64 rank rule is part of the map and is mirrored, and what is not
    determined at ``10^{-dps/2}`` (a tie at the cut, a rank decision at its threshold, a singular system)
    raises :class:`theory.precise.NotUnique`; float64's ``WLS_COND_MAX`` does not apply there.

    References
    ----------
    ``seed.ls-bound``, ``draft.theorem-ls`` (draft section 4; Eckart-Young).

    Examples
    --------
    >>> from aotmem.theory.generators import almost_rank_task
    >>> task = almost_rank_task(5, 2, d=2, sigma=0.0, seed=0)
    >>> lr = f_ls(task.prior, task.cond, 2)
    >>> bool(lr.divergence(task.prior, task.cond) < 1e-12)   # rank-2 centred L: exact
    True
    """
    return _fit_one(prior, cond, d, "ls", reading, 0, dps)


# --------------------------------------------------------------------------- f_wls (closed form)


def _check_WU_shape(W, N: int, name: str = "W_U"):
    """``W (N, d)`` with ``1 <= d <= N-1`` (so that 1 can lie outside ``Im(W_U)``); ``W`` itself."""
    if W.shape[0] != N or W.shape[1] < 1:
        raise ValueError(f"`{name}` must have shape (N, d) = ({N}, d>=1) (got {W.shape})")
    if W.shape[1] > N - 1:
        raise ValueError(f"`{name}` must have d <= N-1 = {N - 1} columns so that 1 can lie outside Im(W_U) "
                         f"(got d={W.shape[1]})")
    return W


def _check_WU(W_U, N: int) -> np.ndarray:
    W = _check_WU_shape(check_array("W_U", W_U, ndim=2), N)
    ok, why = np.ones(1, dtype=bool), np.full(1, "", dtype=object)
    check_W_kernel(W[None], ok, why)
    _raise_if_refused(ok, why)
    return W


def _exact_WU(W_U, N, d=None, name="W_U"):
    """``W_U`` as a ``(1, N, d)`` stack of exact mpf (``d <= N - 1``; ``d`` checked when given)."""
    from .precise import exact_array

    W = _check_WU_shape(exact_array(name, W_U), N, name)
    if d is not None and W.shape[1] != d:
        raise ValueError(f"`{name}` must have d = {d} columns (got {W.shape[1]})")
    return W[None]


def wls_system(cond: np.ndarray, W_U: np.ndarray):
    """The per-row least-squares form of ``draft.lemma-wls``, with its conditioning.

    Returns ``(M, r, cond_A)``: ``M_t = diag(sqrt pi_t) (I - 1 pi_t^T) W_U``
    ``(T, N, d)``, ``r_t = diag(sqrt pi_t) (L_t - (pi_t . L_t) 1)`` ``(T, N)``,
    and ``cond_A (T,)``, the condition number of
    ``A_t = M_t^T M_t = W_U^T (I_pi - pi pi^T) W_U`` (the draft's ``d x d`` system).
    ``M_t^T r_t = W_U^T (I_pi - pi pi^T) L_t``, so ``argmin ||M_t e - r_t||`` is
    the draft's ``w_E(t)``. Needs Assumption 2.

    References
    ----------
    ``draft.lemma-wls`` (draft section 4).
    """
    L = log_probs(cond)[None]  # raises on Assumption 2
    P = np.asarray(cond, dtype=np.float64)[None]
    W = _check_WU(W_U, P.shape[2])[None]
    sq = np.sqrt(P)
    o, Pm, rest = _argmax_split(P)
    M = (sq[:, :, :, None] * _centred_W_by_pi(P, W, o, Pm, rest))[0]
    r = (sq * _centred_by_pi(P, L[:, :, :, None], o, Pm, rest)[:, :, :, 0])[0]
    sv = np.linalg.svd(M, compute_uv=False)  # (T, d)
    with np.errstate(divide="ignore"):
        cond_A = np.where(sv[:, -1] > 0, (sv[:, 0] / sv[:, -1]) ** 2, np.inf)
    return M, r, cond_A


def wls_encoder(cond: np.ndarray, W_U: np.ndarray, *, dps: int | None = None) -> np.ndarray:
    """Closed-form weighted least-squares encoder of ``draft.lemma-wls``, ``E (T, d)``.

    Formula, per row (``I_pi = diag(pi_t)``):

    .. math::

        w_E(t) = [W_U^T (I_\\pi - \\pi\\pi^T) W_U]^{-1} W_U^T (I_\\pi - \\pi\\pi^T) L_t,

    the minimiser of ``Var_{o ~ pi_t}(W_U e - L_t)``, as the least-squares solution of
    ``M_t e = r_t`` (:func:`wls_system`) by batched QR; ``cond(A_t) <= WLS_COND_MAX`` checked
    (:func:`wls_encoder_kernel` with one instance). ``dps``: as :func:`f_ls` (``W_U`` float64, an object
    array or an ``mpmath.matrix``; :class:`theory.precise.NotUnique` when a system is singular at ``dps`` digits).

    Raises
    ------
    ValueError
        Assumption 2 fails; ``W_U`` is rank deficient or ``1 in Im(W_U)``;
        :class:`IllConditioned` when some ``A_t`` has condition number above ``WLS_COND_MAX``.

    References
    ----------
    ``draft.lemma-wls`` (draft section 4).

    >>> P = np.array([[0.5, 0.3, 0.2]])
    >>> E = wls_encoder(P, np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> bool(np.allclose(E @ np.eye(3)[:2] - np.log(P) + np.log(0.2), 0))   # d = N-1: exact
    True
    """
    if dps is not None:
        from .precise import exact_log, exact_rows, run_exact, working

        with working(dps):
            P = exact_rows(cond)
            return run_exact(wls_encoder_kernel, P[None], exact_log(P)[None], _exact_WU(W_U, P.shape[1]))[0]
    L = log_probs(cond)
    P = np.asarray(cond, dtype=np.float64)
    W = _check_WU_shape(check_array("W_U", W_U, ndim=2), P.shape[1])
    ok, why = np.ones(1, dtype=bool), np.full(1, "", dtype=object)
    E = wls_encoder_kernel(P[None], L[None], W[None].copy(), ok, why)
    _raise_if_refused(ok, why)
    return E[0]


def wls_projection(cond_row: np.ndarray, W_U: np.ndarray, *, dps: int | None = None) -> np.ndarray:
    """``P_t = W_U [W_U^T (I_pi - pi pi^T) W_U]^{-1} W_U^T (I_pi - pi pi^T)`` (``draft.lemma-wls``), ``(N, N)``.

    An (oblique) projection onto ``Im(W_U)``: ``P_t^2 = P_t``. Then
    ``W_U w_E(t) = P_t L_t``. Computed by the QR of :func:`wls_system`'s ``M_t`` (as
    :func:`wls_encoder`), ``cond(A_t)`` checked against ``WLS_COND_MAX``. Needs ``pi_t > 0`` (Assumption 2).
    ``dps``: column ``j`` is ``W_U w_E(e_j)``, the closed-form encoder (:func:`wls_encoder_kernel`) of the row
    ``pi`` with ``L_t = e_j``, at ``dps`` digits (:class:`theory.precise.NotUnique` when singular there).

    References
    ----------
    ``draft.lemma-wls`` (draft section 4, the projection form).

    >>> Pt = wls_projection(np.array([0.5, 0.3, 0.2]), np.array([[1.0], [0.0], [-1.0]]))
    >>> bool(np.allclose(Pt @ Pt, Pt))
    True
    """
    pi = check_array("cond_row", cond_row, ndim=1)
    check_rows_stochastic("cond_row", pi[None, :])
    if not np.all(pi > 0):
        raise ValueError("`cond_row` violates Assumption 2 (full support): a probability is 0")
    if dps is not None:
        from .precise import MP, exact_rows, run_exact, working

        with working(dps):
            N = pi.size
            P = np.broadcast_to(exact_rows(pi[None, :]), (N, N))[None].copy()
            W = _exact_WU(W_U, N)
            E = run_exact(wls_encoder_kernel, P, MP.asarray(np.eye(N))[None], W)
            return MP.matmul(W[0], E[0].T)
    W = _check_WU(W_U, pi.size)
    # P_t x = W_U e(x), e(x) = argmin ||M e - B x|| with B = diag(sqrt pi) (I - 1 pi^T), M = B W_U
    # (B^T B = I_pi - pi pi^T): by QR, P_t = W_U R^{-1} Q^T B, so the error scales with
    # cond(R) = sqrt(cond(A_t)), as in wls_encoder
    M, _, cond_A = wls_system(pi[None, :], W)
    c = float(cond_A[0])
    if not c <= WLS_COND_MAX:
        raise IllConditioned(f"`cond_row` makes A = W_U^T (I_pi - pi pi^T) W_U ill-conditioned: cond = {c:.3g} > {WLS_COND_MAX:g}")
    B = np.sqrt(pi)[:, None] * (np.eye(pi.size) - pi[None, :])  # (N, N)
    Q, R = np.linalg.qr(M[0])  # (N, d), (d, d)
    return W @ np.linalg.solve(R, Q.T @ B)


def f_wls(prior: np.ndarray, cond: np.ndarray, d: int, W_U: np.ndarray | None = None, *,
          dps: int | None = None) -> LowRank:
    """Closed-form ``f_wls`` (``seed.wls-bound``, ``draft.lemma-wls``, ``draft.theorem-wls``).

    ``W = W_U`` (default: the ``W`` of ``f_ls(prior, cond, d, "uniform")``, the
    "closed form" reading of docs/theory.md) and ``E = wls_encoder(cond, W_U)``.
    Needs Assumption 2 and ``d <= N-1``. Raises ``ValueError`` as :func:`wls_encoder`
    does: ``W_U`` rank deficient or ``1 in Im(W_U)``, or some ``A_t`` ill-conditioned
    (``WLS_COND_MAX``; e.g. rows with probabilities of 1e-300). ``dps``: as :func:`f_ls`.

    References
    ----------
    ``seed.wls-bound``, ``draft.lemma-wls``, ``draft.theorem-wls`` (draft section 4).

    >>> from aotmem.theory.generators import dirichlet_task
    >>> task = dirichlet_task(4, 2, alpha=2.0, seed=1)
    >>> a = f_wls(task.prior, task.cond, 2); b = f_ls(task.prior, task.cond, 2)
    >>> bool(weighted_residual(task.prior, task.cond, a.F) <= weighted_residual(task.prior, task.cond, b.F))
    True
    """
    if W_U is None:
        return _fit_one(prior, cond, d, "wls", "uniform", 1, dps)
    if dps is not None:
        from .precise import exact_stack, run_exact, working

        with working(dps):
            _, P, L = exact_stack(prior, cond)
            W = _exact_WU(W_U, P.shape[2], check_int("d", d, minimum=1, maximum=P.shape[2] - 1))
            return LowRank(W[0], run_exact(wls_encoder_kernel, P, L, W)[0])
    p, P = check_prior_cond(prior, cond)
    d = check_int("d", d, minimum=1, maximum=P.shape[1] - 1)
    W_U = check_array("W_U", W_U, ndim=2)
    if W_U.shape[1] != d:
        raise ValueError(f"`W_U` must have d = {d} columns (got {W_U.shape[1]})")
    return LowRank(W_U, wls_encoder(P, W_U))


def weighted_residual(prior: np.ndarray, cond: np.ndarray, F: np.ndarray, reading: str = "pi-prior") -> float:
    """The weighted objective ``R(F) = sum_t w_t Var_{o~pi_t}(F_t - L_t)`` (module docstring).

    ``reading``: ``"pi-prior"`` (``w_t = p(t)``) or ``"pi"`` (``w_t = 1``). Needs Assumption 2.

    References
    ----------
    ``seed.wls-bound`` (the weighted objective); :func:`weighted_residual_kernel`.

    >>> P = np.array([[0.5, 0.5]])
    >>> bool(np.isclose(weighted_residual(np.ones(1), P, np.array([[1.0, 0.0]])), 0.25))   # Var of (+-1/2)
    True
    """
    p, P, L = _one(prior, cond)
    if reading not in WLS_READINGS:
        raise ValueError(f"`reading` must be one of {WLS_READINGS} (got {reading!r})")
    F = check_array("F", F, ndim=2)
    if F.shape != P.shape[1:]:
        raise ValueError(f"`F` must have shape {P.shape[1:]} (got {F.shape})")
    w = p if reading == "pi-prior" else np.ones_like(p)
    return float(weighted_residual_kernel(w, P, L, F[None])[0])


# --------------------------------------------------------------------------- f_wls (alternating)


@dataclass(frozen=True)
class AlternatingReport:
    """What :func:`f_wls_alternating` (``seed.wls-bound``, true weighted problem) did: ``history[k]`` is the objective after ``k`` sweeps (``history[0]``: f_wls)."""

    iterations: int
    history: tuple = field(default=())
    converged: bool = False
    reading: str = "pi-prior"


def f_wls_alternating(prior: np.ndarray, cond: np.ndarray, d: int, *, iters: int = 200, tol: float = 1e-12,
                      W_U0: np.ndarray | None = None, reading: str = "pi-prior",
                      dps: int | None = None) -> tuple[LowRank, AlternatingReport]:
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
    then ``W = Q R``, ``W <- Q`` -- ``F`` up to row constants and ``R`` unchanged.
    Each step cannot increase ``R``, and ``history[0]`` is
    ``R(f_wls)`` for ``W_U0``, so the result is never worse than ``f_wls``.
    Stops when the relative decrease of a sweep is below ``tol``, or when the objective
    is an exact fit up to float64's rounding (``objective_floor``; e.g. uniform rows).
    :func:`wls_alternating_kernel` with one instance.

    Returns ``(LowRank, AlternatingReport)``. Needs Assumption 2 and ``d <= N-1``.
    Raises ``ValueError`` when an E-step is refused as by :func:`f_wls` or a W-step is
    ill-conditioned (``WLS_COND_MAX``): the weighted regression does not determine ``w_o``,
    e.g. with fewer than ``d`` rows of ``p(t) > 0`` under the ``pi-prior`` reading. ``dps``: as :func:`f_ls`
    (the same start, sweeps and stopping rule, decided exactly; ``history`` of mpf).

    References
    ----------
    ``seed.wls-bound``, ``draft.theorem-wls`` (``fit=alternating``; docs/theory.md#d4-wls).
    """
    iters = check_int("iters", iters, minimum=0)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"`tol` must be a finite number >= 0 (got {tol!r})")
    if reading not in WLS_READINGS:
        raise ValueError(f"`reading` must be one of {WLS_READINGS} (got {reading!r})")
    if dps is not None:
        return _alternating_exact(prior, cond, d, iters, float(tol), W_U0, reading, dps)
    p, P, L = _one(prior, cond)
    N = P.shape[2]
    d = check_int("d", d, minimum=1, maximum=N - 1)
    W = ls_fit_kernel(p, P, L, d, "uniform")[0] if W_U0 is None else check_array("W_U0", W_U0, ndim=2)[None]
    if W.shape[1:] != (N, d):
        raise ValueError(f"`W_U0` must have shape (N, d) = ({N}, {d}) (got {W.shape[1:]})")
    ok, why = np.ones(1, dtype=bool), np.full(1, "", dtype=object)
    run = wls_alternating_kernel(p if reading == "pi-prior" else np.ones_like(p), P, L, W.copy(), ok, why,
                                 iters, float(tol))
    _raise_if_refused(ok, why)
    n = int(run.sweeps[0])
    report = AlternatingReport(iterations=n, history=tuple(float(h) for h in run.history[:n + 1, 0]),
                               converged=bool(run.converged[0]), reading=reading)
    return LowRank(run.W[0], run.E[0]), report


def _alternating_exact(prior, cond, d, iters, tol, W_U0, reading, dps):
    """:func:`f_wls_alternating` at ``dps`` digits (:func:`wls_alternating_kernel` on ``theory.precise.MP``)."""
    from .precise import exact_array, exact_stack, run_exact, working

    with working(dps):
        p, P, L = exact_stack(prior, cond)
        N = P.shape[2]
        d = check_int("d", d, minimum=1, maximum=N - 1)
        W = run_exact(ls_fit_kernel, p, P, L, d, "uniform")[0] if W_U0 is None else exact_array(
            "W_U0", W_U0, shape=(N, d))[None]
        run = run_exact(wls_alternating_kernel, p if reading == "pi-prior" else np.ones_like(p), P, L, W,
                        iters=iters, tol=tol)
        n = int(run.sweeps[0])
        return LowRank(run.W[0], run.E[0]), AlternatingReport(
            iterations=n, history=tuple(run.history[:n + 1, 0]), converged=bool(run.converged[0]), reading=reading)


#: The fitted maps the almost-rank-d bounds are about (``theory.bounds.CATALOGUE``), the one list of fits
#: that :func:`fit_encoder`, ``theory.batch.fit_logits_batch``, the claims ledger
#: (``verify/claims/lowrank.py``), ``aotmem bounds`` and the 50-digit re-checks (``dps=``) read:
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

    References
    ----------
    ``draft.theorem-wls[min,sigma=...]`` (docs/theory.md#d4-wls, the per-row minimum).
    """
    take_w = kl_w < kl_ls
    return np.where(take_w[..., None], F_w, F_ls), take_w


def f_min(prior, cond, d: int, sigma_reading: str = "uniform", *, dps: int | None = None) -> LowRank:
    """The ``min`` map of ``draft.theorem-wls[min,sigma=...]``: ``W_U`` shared, per row the better encoder.

    ``W_U`` = ``W`` of ``f_ls(prior, cond, d, sigma_reading)``; ``E_w = wls_encoder(cond, W_U)``
    (``draft.lemma-wls``); row ``t`` of ``E`` is ``E_ls(t)`` or ``E_w(t)``, whichever gives the
    smaller ``KL_t`` (:func:`min_rows`). ``F = E W_U^T`` has rank ``<= d`` and
    ``dKL(pi, F) = E_t min(KL_t(f_ls), KL_t(f_wls))`` (docs/theory.md#d4-wls). Needs Assumption 2,
    ``d <= N-1`` and ``1 not in Im(W_U)`` (raises as :func:`wls_encoder`).

    References
    ----------
    ``draft.theorem-wls[min,sigma=...]`` (docs/theory.md#d4-wls, the per-row minimum); ``draft.lemma-wls``
    (docs/theory.md#d3).
    """
    if sigma_reading not in LS_READINGS:
        raise ValueError(f"`sigma_reading` must be one of {LS_READINGS} (got {sigma_reading!r})")
    return _fit_one(prior, cond, d, "min", sigma_reading, 1, dps)


def fit_encoder(prior, cond, d: int, fit: str, sigma_reading: str = "uniform", *, dps: int | None = None) -> LowRank:
    """The rank-``d`` map a bound of ``seed.ls-bound``/``seed.wls-bound``/``draft.theorem-*`` is about.

    ``fit`` (:data:`FITS`; anything else raises ``ValueError``): ``"ls"`` (:func:`f_ls` of
    ``sigma_reading``), ``"wls"`` (:func:`f_wls`, the closed form of ``draft.lemma-wls`` with
    ``W_U`` from the unweighted SVD), ``"wls-alt"`` (:func:`f_wls_alternating`, the true
    prior-weighted rank-``d`` problem, ``ALT_SWEEPS`` sweeps), ``"wls-matched"``
    (the closed form with ``W_U`` of ``f_ls[sigma_reading]``), ``"wls-alt-unweighted"``
    (the alternating fit of the unweighted objective), ``"min"`` (:func:`f_min`).
    :func:`fit_kernel` with one instance; ``dps`` as :func:`f_ls`.

    References
    ----------
    ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``, ``draft.theorem-wls`` (the maps they bound).

    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> fit_encoder([0.5, 0.5], P, 1, "wls").d
    1
    """
    fit = check_fit(fit)
    return _fit_one(prior, cond, d, fit, sigma_reading if fit in SIGMA_FITS else "uniform", 0 if fit == "ls" else 1, dps)
