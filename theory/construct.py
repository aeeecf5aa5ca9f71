"""Build ``T*`` explicitly: the AoT of ``paper.theorem1`` / ``seed.theorem-aot``, with ``gamma = 0``.

The constructor reads like the proof it makes exact (docs/theory.md, "The explicit
construction of T*"):

1. :func:`keep_sequences` keeps the ``T_eps`` likeliest sequences;
2. :func:`draw_primed` draws the primed embeddings ``e', pos'``, ``W'_QK^h``
   (rank 1 or full, Remark 2) and ``W'_V^h``;
3. :func:`head_features` computes ``M = [W'_V A'(t); x'_S(t)]``, ``(H d_h + d, T)``;
4. :func:`solve_output` solves ``[W_O, W_OV] M_1 = E*_1^T`` on the kept
   columns (row-equilibrated, its condition number reported);
5. :func:`map_back` returns to model coordinates: ``e = W_OV e'``,
   ``pos = W_OV pos'``, ``W_QK^h = W_OV^{-T} W'_QK^h W_OV^{-1}``,
   ``W_V^h = W'_V^h W_OV^{-1}``;
6. :func:`theorem1_rhs` and :func:`construct` report the diagnostics.

Variants (``VARIANTS``): ``paper`` (``H = ceil((T_eps - d)/d_h)``, the skip
connection counted as a head, ``W_OV`` solved for), ``seed``
(``ceil(T_eps/d)`` modules of inner dimension ``d``, skip fixed),
``fixed-skip`` (``H d_h >= T_eps``, skip fixed: ``W_OV = I``).

The design that keeps the kept system well conditioned (see
``docs/construction.md``): orthonormal-frame embeddings, rank-1 attention
scaled to ``ATTN_SCALE``, and row equilibration of ``M_1`` before the solve.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from aotmem.theory.aot import AoT, AoTShape, forward_chunk, head_values
from aotmem.theory.backend import (col_abs_sums, cond1_triangular, cond_from_lu, get_xp, lu_solve_cond, row_norms, to_numpy,
                            xp_of)
from aotmem.theory.capacity import param_count
from aotmem.theory.divergence import kl
from aotmem.theory.task import Task, kept_indices
from aotmem.theory.validate import check_array, check_eps, check_int, check_positive

__all__ = [
    "VARIANTS", "QK_KINDS", "EMBEDDINGS", "ATTN_SCALE", "RANK_SVD_LIMIT", "SINGULAR_COND", "KL_SUM_RTOL",
    "SOLVES", "Primed", "Solution", "ConstructionReport", "Construction",
    "heads_for", "paper_param_count", "keep_sequences", "draw_primed", "head_features",
    "solve_output", "map_back", "max_relative_error", "theorem1_rhs", "svd_target", "construct",
]

VARIANTS = ("paper", "seed", "fixed-skip")
QK_KINDS = ("rank1", "full")
EMBEDDINGS = ("orthogonal", "gaussian")
# Scale of the attention scores x_S^T W'_QK x_s (typical |score|, before the
# softmax). Measured (docs/construction.md): 1-2 leaves the softmax nearly
# uniform, so the features are nearly additive in the tokens and the kept system
# is ill conditioned (kappa 1e13-1e19 at S = 4-5); 8-32 is best (kappa 1e5-1e9);
# beyond ~64 the attention is nearly one-hot and the features take few values.
ATTN_SCALE = 16.0
# Above this many kept sequences the rank is not computed by a full SVD
# (O(T^3) with a large constant); the LAPACK condition estimate is reported instead.
RANK_SVD_LIMIT = 2500
# A kept system whose condition number exceeds 1/eps_64 ~ 4.5e15 is numerically singular in float64.
SINGULAR_COND = 1.0 / np.finfo(np.float64).eps
# Rounding allowance of a float64 KL sum over T terms (relative to max(1, KL)):
# pairwise summation errs by ~log2(T) ulps; 64 ulps covers T up to 2^64.
KL_SUM_RTOL = 64 * np.finfo(np.float64).eps


def heads_for(variant: str, T_eps: int, d: int, d_h: int) -> tuple[int, int]:
    """``(H, d_h)`` a variant uses for ``T_eps`` kept sequences.

    ``paper``: ``H = ceil((T_eps - d)/d_h)`` (``paper.theorem1``: ``d_h H + d >= T_eps``);
    ``seed``: ``H = ceil(T_eps/d)``, ``d_h = d`` (``seed.theorem-aot``);
    ``fixed-skip``: ``H = ceil(T_eps/d_h)`` (``H d_h >= T_eps``).

    >>> heads_for("paper", 2500, 10, 10), heads_for("seed", 2500, 10, 5), heads_for("fixed-skip", 2500, 10, 5)
    ((249, 10), (250, 10), (500, 5))
    """
    if variant not in VARIANTS:
        raise ValueError(f"`variant` must be one of {VARIANTS} (got {variant!r})")
    T_eps = check_int("T_eps", T_eps, minimum=1)
    d = check_int("d", d, minimum=1)
    d_h = check_int("d_h", d_h, minimum=1)
    if d_h > d:
        raise ValueError(f"`d_h` must be <= d = {d} (got {d_h})")
    if variant == "paper":
        return max(0, -(-(T_eps - d) // d_h)), d_h
    if variant == "seed":
        return -(-T_eps // d), d
    return -(-T_eps // d_h), d_h


def paper_param_count(N: int, S: int, d: int, d_h: int, H: int, *, rank1_qk: bool = False) -> int:
    """The paper's parameter count (``paper.theorem1``): ``d(S + 2N + 4 d_h H)``, or ``d(S + 2N + 2(d_h+1) H)`` with rank-1 ``W_QK``.

    The formula is :func:`aotmem.theory.capacity.param_count`'s.

    >>> paper_param_count(50, 2, 10, 10, 249)
    100620
    """
    return param_count(N, S, d, d_h, H, rank1_qk=rank1_qk)


def keep_sequences(prior, eps: float) -> np.ndarray:
    """Step 1: indices of the ``T_eps`` likeliest sequences (``theory.task.kept_indices``), most likely first."""
    return kept_indices(prior, eps)


@dataclass(frozen=True)
class Primed:
    """Primed-coordinate parameters (step 2): ``e' (N,d)``, ``pos' (S,d)``, ``W'_QK (H,d,d)``, ``W'_V (H,d_h,d)``."""

    embed: np.ndarray
    pos: np.ndarray
    W_QK: np.ndarray
    W_V: np.ndarray
    rank1: bool


def _frame(rng, n: int, d: int) -> np.ndarray:
    """``n`` unit vectors in ``R^d`` as spread as a random orthonormal frame allows (a tight frame when ``n >= d``)."""
    if n <= d:
        Q, _ = np.linalg.qr(rng.standard_normal((d, n)))
        return Q.T  # (n, d) orthonormal rows
    Q, _ = np.linalg.qr(rng.standard_normal((n, d)))  # (n, d), orthonormal columns
    return Q * np.sqrt(n / d)  # unit-norm rows on average, Q^T Q = (n/d) I: a tight frame


def draw_primed(shape: AoTShape, *, qk: str = "full", embedding: str = "orthogonal",
                attn_scale: float = ATTN_SCALE, seed=0) -> Primed:
    """Step 2: the generic primed parameters of ``paper.lemma2`` / ``draft.lemma-rank``.

    ``embedding="orthogonal"``: the ``N + S`` vectors ``e'(n), pos'_s`` are the
    rows of a random tight frame of ``R^d`` (orthonormal when ``N + S <= d``);
    ``"gaussian"``: i.i.d. ``N(0, 1/d)`` entries. ``W'_QK^h = u_h v_h^T``
    (``qk="rank1"``, Remark 2) or a full Gaussian matrix, scaled so that a
    typical score ``x_S^T W'_QK x_s`` is ``attn_scale``; ``W'_V^h`` has
    orthonormal rows (``d_h <= d``).
    """
    if qk not in QK_KINDS:
        raise ValueError(f"`qk` must be one of {QK_KINDS} (got {qk!r})")
    if embedding not in EMBEDDINGS:
        raise ValueError(f"`embedding` must be one of {EMBEDDINGS} (got {embedding!r})")
    attn_scale = check_positive("attn_scale", attn_scale)
    N, S, d, H, d_h = shape.N, shape.S, shape.d, shape.H, shape.d_h
    rng = np.random.default_rng(seed)
    if embedding == "orthogonal":
        Z = _frame(rng, N + S, d)
    else:
        Z = rng.standard_normal((N + S, d)) / np.sqrt(d)
    embed, pos = Z[:N], Z[N:]
    # x = e + pos has squared norm ~2, so u.x ~ N(0, 2) for unit u: scores u.x v.x ~ 2 * attn_scale / 2.
    if qk == "rank1":
        U = rng.standard_normal((H, d)) / np.sqrt(d)
        V = rng.standard_normal((H, d)) / np.sqrt(d)
        W_QK = (attn_scale / 2.0) * U[:, :, None] * V[:, None, :]  # (H, d, d) rank 1
    else:
        W_QK = (attn_scale / 2.0) * rng.standard_normal((H, d, d)) / d
    # One (H, d, d_h) draw is the same stream as H draws of (d, d_h); one batched QR (numpy >= 2) replaces
    # H calls (measured: 11 ms -> 1 ms for H = 124 heads).
    Q, _ = np.linalg.qr(rng.standard_normal((H, d, d_h)))
    W_V = np.ascontiguousarray(Q.transpose(0, 2, 1))  # (H, d_h, d) orthonormal rows
    return Primed(embed, pos, W_QK, W_V, qk == "rank1")


def head_features(primed: Primed, seqs, *, backend: str = "numpy", chunk: int | None = None):
    """Step 3: ``M = [W'_V^1 A'^1(t); ...; W'_V^H A'^H(t); x'_S(t)]`` for each sequence, ``(H d_h + d, T)``.

    Claim ids: ``paper.lemma2`` (rank of ``{A(t)}``), ``draft.lemma-rank``.
    Returned on the backend's device (a NumPy or CuPy array), float64, in
    column-major order (the transpose of a row-major ``(T, H d_h + d)``
    array): each chunk's features are written as contiguous rows, and LAPACK
    factors the matrix without a transposed copy. ``chunk=None``:
    :func:`theory.aot.forward_chunk`.
    """
    xp = get_xp(backend)
    s = np.asarray(seqs, dtype=np.int64)
    E, P = xp.asarray(primed.embed), xp.asarray(primed.pos)
    WQK, WV = xp.asarray(primed.W_QK), xp.asarray(primed.W_V)
    H, d_h, d = primed.W_V.shape
    T = s.shape[0]
    chunk = forward_chunk(H, d, backend) if chunk is None else check_int("chunk", chunk, minimum=1)
    MT = xp.empty((T, H * d_h + d))
    QKcat = WQK.transpose(1, 0, 2).reshape(d, H * d)  # (d, H d): all heads' W'_QK side by side
    for lo in range(0, T, chunk):
        X = E[xp.asarray(s[lo:lo + chunk])] + P[None]  # (c, S, d)
        F = head_values(xp, X, QKcat, WV)  # (c, H, d_h) = W'_V^h A'^h(t)
        MT[lo:lo + chunk, : H * d_h] = F.reshape(X.shape[0], H * d_h)
        MT[lo:lo + chunk, H * d_h:] = X[:, -1]
    return MT.T


@dataclass(frozen=True)
class Solution:
    """Step 4's result: ``W_O (H, d, d_h)``, ``W_OV (d, d)``, and the kept system's conditioning."""

    W_O: np.ndarray
    W_OV: np.ndarray
    cond_kept: float  # kappa_1 of the row-equilibrated kept system (LAPACK estimate)
    method: str  # "lu", "lu (dropped n head rows)" or "qr-min-norm"


SOLVES = ("square", "min-norm")
# Up to this many surplus rows the minimum-norm solution comes from one LU plus a
# projection onto the complement of the (surplus-dimensional) null space; beyond,
# from Householder QR (measured 4-16x slower than LU on this machine).
NULL_LU_MAX = 64


def solve_output(M1, E1, *, H: int, d_h: int, skip: str = "solve", solve: str = "min-norm",
                 overwrite: bool = False) -> Solution:
    """Step 4: solve ``[W_O, W_OV] M_1 = E*_1^T`` on the kept sequences (``W_OV = I`` when ``skip="fixed"``).

    ``M_1`` is ``(H d_h + d, T_eps)``. Its rows are first scaled to unit norm
    (``D M_1``; the solution is unscaled afterwards, so nothing changes in
    exact arithmetic). A square system is solved by LU (``kappa_1`` from LAPACK
    ``gecon``). With more unknown rows ``k`` than kept sequences,
    ``solve="min-norm"`` (default) keeps them all and takes the minimum-norm
    solution: for at most ``NULL_LU_MAX`` surplus rows, one LU of a square
    part ``A_1`` gives a particular solution and the null space
    ``[-A_1^{-T} A_2^T; I]``, which is projected out (with the skip fixed,
    ``A_1`` is the rows partial pivoting picks; ``cond_kept`` is then
    ``kappa_1(A_1)``, an upper bound's worth for the full system); otherwise through
    Householder ``M_1 = QR`` (``kappa_1(R)`` from ``trcon``);
    ``solve="square"`` drops the last ``k - T_eps`` head rows (their ``W_O``
    columns set to 0) and uses one LU: faster, but measured less accurate
    (``N=5, S=3, d=d_h=4``: 2e-8 against 1e-13, through a worse ``W_OV``). With ``skip="fixed"`` the skip rows move to the
    right-hand side: ``W_O M_heads,1 = E*_1^T - X'_S,1``.

    ``overwrite=True`` lets a square system be row-scaled and factored in the
    memory of ``M_1`` (its contents are then lost): half the peak memory.
    """
    if solve not in SOLVES:
        raise ValueError(f"`solve` must be one of {SOLVES} (got {solve!r})")
    xp = xp_of(M1)
    K, T1 = M1.shape
    d = K - H * d_h
    E1 = xp.asarray(E1)
    if skip == "fixed":
        A = M1[: H * d_h]
        R = E1 - M1[H * d_h:].T  # (T1, d)
    elif skip == "solve":
        A, R = M1, E1
    else:
        raise ValueError(f"`skip` must be 'solve' or 'fixed' (got {skip!r})")
    k = A.shape[0]
    if k < T1:
        raise ValueError(f"too few heads: {k} unknown rows for {T1} kept sequences (need >= {T1})")
    norms = row_norms(A)  # without a (k, T1) temporary
    if bool(to_numpy(xp.any(norms == 0))):
        raise ValueError("`M_1` has an all-zero feature row: the kept system is singular")
    excess = k - T1
    if k == T1 or solve == "square" or (solve == "min-norm" and excess <= NULL_LU_MAX):
        pivot = solve == "min-norm" and excess > 0 and H * d_h == k  # skip fixed: LU picks the rows
        if pivot:
            # One factorisation: getrf of the tall row-scaled (k, T1) matrix chooses the rows (partial
            # pivoting) AND factors them: P D M_1 = [L_1; L_2] U, so A_1 = L_1 U is already factored.
            use, drop, Y, cond = _pivoted_lu_solve(A, norms, R)
        else:
            use, drop = _square_rows(k, H * d_h, excess)
            if excess:
                Ad = A[xp.asarray(use)] / norms[xp.asarray(use)][:, None]  # square part of D M_1, unit rows
            elif overwrite:  # square, and M_1 is not needed afterwards: scale and factor it in place
                A /= norms[:, None]
                Ad = A
            else:  # square: no row selection, so no gathered copy before the scaled one
                Ad = A / norms[:, None]
            A2 = to_numpy(A[xp.asarray(drop)] / norms[xp.asarray(drop)][:, None])  # (excess, T1)
            # One LU for the particular solution (y on `drop` = 0) and the null-space basis of
            # (D M_1)^T: N = [-A1^{-T} A2^T; I] (k, excess).
            rhs = xp.concatenate([R, xp.asarray(A2.T)], axis=1) if excess else R
            Y, cond = lu_solve_cond(Ad, rhs, trans=True, overwrite=True)
            Y = to_numpy(Y)
        Yfull = np.zeros((k, R.shape[1]))
        Yfull[use] = Y[:, : R.shape[1]]
        method = "lu"
        if excess and solve == "min-norm":  # project out the null space: the minimum-norm solution
            Nb = np.zeros((k, excess))
            Nb[use] = -Y[:, R.shape[1]:]
            Nb[drop] = np.eye(excess)
            Qn, _ = np.linalg.qr(Nb)  # (k, excess) orthonormal basis of the null space
            Yfull -= Qn @ (Qn.T @ Yfull)
            method = "lu-min-norm"
        elif excess:
            method = f"lu (dropped {excess} head rows)"
    else:  # more than NULL_LU_MAX surplus rows: minimum-norm solution by Householder QR
        Ad = A / norms[:, None]
        if xp is np:
            Yfull, cond = _min_norm_qr(Ad, to_numpy(R))
        else:  # pragma: no cover - needs a GPU
            Q, Rq = xp.linalg.qr(Ad, mode="reduced")  # D M_1 = Q Rq (k, T1): minimum-norm Y = Q Rq^{-T} R
            Yfull = to_numpy(Q @ xp.linalg.solve(Rq.T, R))
            cond = cond1_triangular(Rq)
        method = "qr-min-norm"
    X = Yfull.T / to_numpy(norms)[None, :]  # (d, k), undo the row scaling
    if not np.isfinite(cond) or not np.all(np.isfinite(X)):
        raise ValueError(f"the kept system `M_1` is singular (kappa_1 = {cond:.3g}): no exact fit exists"
                         " for these embeddings and heads")
    W_O = X[:, : H * d_h].reshape(d, H, d_h).transpose(1, 0, 2)  # (H, d, d_h)
    W_OV = np.eye(d) if skip == "fixed" else X[:, H * d_h:]
    return Solution(np.ascontiguousarray(W_O), np.ascontiguousarray(W_OV), float(cond), method)


def _pivoted_lu_solve(A, norms, R):
    """Rows chosen by partial pivoting on ``D A`` (``A`` (k, T1), ``k > T1``) and the solve on them, from ONE ``getrf``.

    ``getrf`` of the tall row-scaled matrix gives ``P D A = [L_1; L_2] U``:
    the first ``T1`` pivot rows ``A_1 = L_1 U`` are factored already, so
    ``A_1^T Y = [R, A_2^T]`` takes two triangular solves (``lu_solve`` with
    identity pivots) and ``kappa_1(A_1)`` one ``gecon`` estimate. NumPy: LAPACK
    ``getrf``; CuPy: cuSOLVER ``getrf`` through ``cupyx.scipy.linalg.lu_factor``
    (which, unlike SciPy's, takes a tall matrix), and the estimate on the device.
    Returns ``(use, drop, Y, kappa_1(A_1))`` with ``Y`` on the host; ``use`` in
    pivot order (any order gives the same solution). Measured at T1 = 4096,
    k = 4100: 0.9 s against 1.5 s for two factorisations (choose, then factor).
    """
    xp = xp_of(A)
    k, T1 = A.shape
    An = A / norms[:, None]  # keeps M_1's column-major layout: LAPACK's
    # ||A_1||_1 = column sums of |D A| over the kept rows: all rows now, minus the dropped ones below
    colsum = col_abs_sums(An)
    if xp is np:
        import scipy.linalg as sla

        An = np.asfortranarray(An)
        (getrf,) = sla.get_lapack_funcs(("getrf",), (An,))
        lu, piv, info = getrf(An, overwrite_a=True)
        if info < 0:  # pragma: no cover - LAPACK argument error
            raise ValueError(f"LAPACK getrf failed (info = {info})")
        lu1 = np.asfortranarray(lu[:T1])  # packed L_1 U of A_1 = (D A)[use]
    else:  # pragma: no cover - needs a GPU
        import cupyx.scipy.linalg as sla

        lu, piv = sla.lu_factor(An, overwrite_a=True, check_finite=False)
        piv = to_numpy(piv)
        lu1 = lu[:T1]
    perm = np.arange(k)
    for i, p in enumerate(piv.tolist()):  # the row interchanges, applied in order
        if p != i:
            perm[i], perm[p] = perm[p], perm[i]
    use, drop = perm[:T1], perm[T1:]
    drop_d = xp.asarray(drop)
    A2 = A[drop_d] / norms[drop_d][:, None]  # (excess, T1), from the unscaled rows (An was overwritten)
    rhs = xp.concatenate([xp.asarray(R), A2.T], axis=1)
    Y = sla.lu_solve((lu1, xp.arange(T1, dtype=np.int32)), rhs, trans=1, check_finite=False)
    anorm = float(to_numpy(xp.max(colsum - xp.abs(A2).sum(axis=0))))
    return use, drop, to_numpy(Y), cond_from_lu(lu1, anorm, "1")


def _square_rows(k: int, n_head_rows: int, excess: int):
    """Rows of the ``(k, T1)`` system forming the square part ``A_1``, and the last ``excess`` head rows left out (``A_2``).

    (With the skip fixed and a minimum-norm solve, :func:`_pivoted_lu_solve`
    chooses the rows by partial pivoting instead.)
    """
    if excess == 0:
        return np.arange(k), np.arange(0)
    return np.r_[0:n_head_rows - excess, n_head_rows:k], np.arange(n_head_rows - excess, n_head_rows)


def _min_norm_qr(A: np.ndarray, B: np.ndarray):
    """Minimum-norm ``Y`` with ``A^T Y = B`` (``A`` is ``(k, n)``, ``k >= n``), by Householder QR of ``A``.

    LAPACK ``geqrf`` in raw form, ``R^T Z = B``, then ``Y = Q [Z; 0]`` by ``ormqr``
    (``Q`` is never formed: ``numpy.linalg.qr`` forming it was 8x slower here).
    Returns ``(Y, kappa_1(R))``.
    """
    import scipy.linalg
    from scipy.linalg import lapack

    (qr, tau), R = scipy.linalg.qr(A, mode="raw", overwrite_a=True, check_finite=False)
    n = A.shape[1]
    R = np.triu(R[:n, :n])
    Z = scipy.linalg.solve_triangular(R, B, trans="T", lower=False, check_finite=False)
    C = np.zeros((A.shape[0], B.shape[1]))
    C[:n] = Z
    Y, _, info = lapack.dormqr("L", "N", qr, tau, C, lwork=max(1, 64 * B.shape[1]))
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise ValueError(f"LAPACK ormqr failed (info = {info})")
    return Y, cond1_triangular(R)


def map_back(primed: Primed, sol: Solution, W_U) -> tuple[AoT, float]:
    """Step 5: model coordinates ``x = W_OV x'``; returns ``(model, kappa_2(W_OV))``.

    ``e = W_OV e'``, ``pos = W_OV pos'``, ``W_QK^h = W_OV^{-T} W'_QK^h W_OV^{-1}``,
    ``W_V^h = W'_V^h W_OV^{-1}``, ``W_O^h`` as solved, ``W_U`` the target's
    ``W``. Then scores, ``W_V^h A^h`` and the skip term equal their primed
    counterparts, so ``T(t) = W_U [W_O, W_OV] M(t)``. Raises ``ValueError``
    when ``W_OV`` is numerically singular (``kappa_2 > SINGULAR_COND``).
    """
    W_OV = sol.W_OV
    cond = float(np.linalg.cond(W_OV))  # d x d: exact 2-norm condition number is cheap
    if not np.isfinite(cond) or cond > SINGULAR_COND:
        raise ValueError(f"`W_OV` is numerically singular (condition number {cond:.3g}): cannot map back")
    Winv = np.linalg.inv(W_OV)
    embed = primed.embed @ W_OV.T
    pos = primed.pos @ W_OV.T
    W_QK = np.einsum("ed,hef,fg->hdg", Winv, primed.W_QK, Winv)  # W_OV^{-T} W'_QK W_OV^{-1}
    W_V = primed.W_V @ Winv
    return AoT(embed, pos, W_QK, W_V, sol.W_O, W_U, qk_rank1=primed.rank1), cond


def max_relative_error(F_model, F_target) -> float:
    """Largest relative logit error on the kept sequences: ``max_t ||T(t) - F(t)||_inf / max_t ||F(t)||_inf``.

    (Normwise relative to the largest target logit; 0 when both vanish.)

    >>> max_relative_error(np.array([[1.0, 2.0]]), np.array([[1.0, 2.0 + 1e-9]])) < 1e-9
    True
    """
    A = check_array("F_model", F_model, ndim=2)
    B = check_array("F_target", F_target, ndim=2)
    if A.shape != B.shape:
        raise ValueError(f"`F_model` must have the shape of `F_target` {B.shape} (got {A.shape})")
    scale = float(np.abs(B).max()) if B.size else 0.0
    err = float(np.abs(A - B).max()) if B.size else 0.0
    if scale == 0.0:
        return 0.0 if err == 0.0 else float("inf")
    return err / scale


def _spectral_norm(B: np.ndarray) -> float:
    """``||B||_2`` through the Gram matrix of the shorter side (fine for the largest singular value)."""
    if B.size == 0:
        return 0.0
    G = B @ B.T if B.shape[0] <= B.shape[1] else B.T @ B
    return float(np.sqrt(max(np.linalg.eigvalsh(G)[-1], 0.0)))


def theorem1_rhs(kl_target: float, eps: float, W, E, M1, M2) -> dict:
    """Right-hand side of ``paper.theorem1`` with ``gamma = 0``, as written and with the proof's factor 2.

    ``rhs = dKL(pi, W E*) + C eps ||W_c E*^T||_2``, ``C = sqrt(1 + ||M_1^+ M_2||_2^2)``,
    ``W_c = (I - 11^T/N) W`` the row-centred (minimum-norm) gauge;
    ``rhs_factor2 = dKL(pi, W E*) + 2 C eps ||W_c E*^T||_2``
    (``||I - 1 pi^T||_{2,inf} <= 2`` in the proof). ``M_1^+`` is the
    inverse (square) or pseudo-inverse (more rows than kept sequences).
    ``dKL(pi, L(N,S,d))`` is replaced by the target's own divergence, which
    equals it for the optimal target and is what the proof uses.
    """
    eps = check_eps(eps)
    W = np.asarray(W, dtype=np.float64)
    E = np.asarray(E, dtype=np.float64)
    Wc = W - W.mean(axis=0, keepdims=True)
    norm_WE = _spectral_norm(Wc @ E.T)  # (N, T)
    if M2.shape[1] == 0:  # nothing dropped (eps = 0): no copy of M_1 to the host
        norm_B = 0.0
    else:
        B, *_ = np.linalg.lstsq(to_numpy(M1), to_numpy(M2), rcond=None)  # M_1^+ M_2, (T_eps, T - T_eps)
        norm_B = _spectral_norm(B)
    C = math.sqrt(1.0 + norm_B**2)
    return {"C": C, "norm_M1inv_M2": norm_B, "norm_WE": norm_WE,
            "rhs": kl_target + C * eps * norm_WE, "rhs_factor2": kl_target + 2 * C * eps * norm_WE}


def svd_target(task: Task, d: int):
    """A rank-``d`` target ``(W, E)``: the truncated SVD of the uniform-centred ``L = log Pi`` (Assumption 2).

    ``F = E W^T`` with ``W = V_d`` ``(N, d)`` and ``E = U_d Sigma_d`` ``(T, d)``:
    the least-squares rank-``d`` fit (``seed.ls-bound``'s ``f_ls``, uniform reading).
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be a theory.task.Task (got {type(task).__name__})")
    d = check_int("d", d, minimum=1)
    if not task.full_support():
        raise ValueError("`task` must have full support (Assumption 2) for the SVD target")
    L = np.log(task.cond)
    Lc = L - L.mean(axis=1, keepdims=True)
    U, s, Vt = np.linalg.svd(Lc, full_matrices=False)
    if d > s.size:
        raise ValueError(f"`d` must be <= min(T, N) = {s.size} (got {d})")
    return Vt[:d].T.copy(), U[:, :d] * s[:d]


@dataclass(frozen=True)
class ConstructionReport:
    """Diagnostics of one construction (all floats are float64 measurements)."""

    variant: str
    qk: str
    N: int
    S: int
    d: int
    d_h: int
    T: int
    T_eps: int
    H: int
    unknown_rows: int  # H d_h + d (paper) or H d_h (skip fixed)
    param_count: int  # this model's free parameters (AoT.param_count)
    paper_param_count: int  # d(S + 2N + 4 d_h H), or the rank-1 form
    rank_kept: int | None  # numerical rank of M_1 by SVD (None above RANK_SVD_LIMIT)
    cond_kept: float  # kappa_1 of the row-equilibrated kept system (LAPACK estimate)
    cond2_kept: float | None  # kappa_2 of the same, by SVD (None above RANK_SVD_LIMIT)
    cond_W_OV: float  # kappa_2(W_OV), 1 when the skip is fixed
    solve: str
    max_rel_logit_error: float  # on the kept sequences, model (model coordinates) vs W E*
    kl_target: float  # dKL(pi, W E*) over all sequences
    kl_model: float  # dKL(pi, T) over all sequences
    C: float  # sqrt(1 + ||M_1^+ M_2||_2^2)
    norm_WE: float  # ||W_c E*^T||_2, row-centred W
    rhs: float  # paper.theorem1 as written, without gamma
    rhs_factor2: float  # with the proof's factor 2
    gamma: float  # the construction's own measured rounding (see construct's Notes)
    holds: bool  # kl_model <= rhs + gamma
    holds_factor2: bool  # kl_model <= rhs_factor2 + gamma
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Construction:
    """The constructed model, its report, and what ``--save`` writes."""

    model: AoT
    report: ConstructionReport
    kept: np.ndarray  # indices of the kept sequences in task order
    kept_seqs: np.ndarray  # (T_eps, S)
    kept_target: np.ndarray  # (T_eps, N) = W E*_1^T

    def save(self, path) -> None:
        """``.npz`` with the model's weights plus ``seqs`` (kept) and ``target`` (W E* on them)."""
        self.model.save(path, seqs=self.kept_seqs, target=self.kept_target)


def _target_arrays(target, T: int, N: int, d: int):
    if isinstance(target, tuple) and len(target) == 2:
        W, E = target
    elif hasattr(target, "W") and hasattr(target, "E"):
        W, E = target.W, target.E
    else:
        raise ValueError("`target` must be a pair (W, E) or an object with attributes .W and .E")
    W = check_array("target.W", W, ndim=2)
    E = check_array("target.E", E, ndim=2)
    if W.shape != (N, d):
        raise ValueError(f"`target.W` must have shape (N, d) = {(N, d)} (got {W.shape})")
    if E.shape != (T, d):
        raise ValueError(f"`target.E` must have shape (T, d) = {(T, d)} (got {E.shape})")
    return W, E


def construct(task: Task, target, d: int, d_h: int, eps: float = 0.0, *, variant: str = "paper",
              qk: str = "full", heads: int | None = None, embedding: str = "orthogonal",
              attn_scale: float = ATTN_SCALE, seed=0, backend: str = "numpy", solve: str = "min-norm",
              rank_svd_limit: int = RANK_SVD_LIMIT) -> Construction:
    """Build ``T*`` for ``task`` and a rank-``d`` target ``W E*`` (``paper.theorem1``, ``seed.theorem-aot``).

    Claim ids: ``paper.theorem1`` (``dKL(pi, T) <= dKL(pi, L(N,S,d)) + C eps ||W E||_2 + gamma``,
    here ``gamma = 0``), ``paper.lemma2`` / ``draft.lemma-rank`` (rank of the
    kept system), ``seed.theorem-aot``.

    Parameters
    ----------
    task : Task
    target : ``(W, E)`` with ``W (N, d)``, ``E (T, d)`` (logits ``F = E W^T``), or an object with ``.W``, ``.E``.
    d, d_h : width and head dimension, ``1 <= d_h <= d``.
    eps : mass left out, ``[0, 1)``; ``T_eps`` sequences are kept.
    variant : ``paper``, ``seed`` or ``fixed-skip`` (see module docstring).
    qk : ``rank1`` or ``full`` ``W_QK`` (Remark 2).
    heads : override the variant's head count (for overcompleteness studies); must not be fewer.
    solve : ``min-norm`` (QR when there are surplus rows) or ``square`` (one LU, surplus rows unused), see :func:`solve_output`.

    Returns
    -------
    Construction : model, report (``ConstructionReport``), kept sequences and target logits.

    Raises
    ------
    ValueError : bad argument; ``d_h > d``; fewer heads than the variant needs;
        a numerically singular kept system (``kappa_1 > SINGULAR_COND``) or ``W_OV``.

    Notes
    -----
    The theorem's ``gamma > 0`` is arbitrary; this construction has none in
    exact arithmetic, and its report's ``gamma`` is only its own measured
    rounding: ``2 max_{t kept} ||T(t) - W E*(t)||_inf`` (KL is 2-Lipschitz
    in the logits' sup norm) plus ``KL_SUM_RTOL max(1, KL)`` for the sum.
    Only the kept sequences are covered by it; the others are the theorem's
    ``C eps ||W E||_2`` term, tested as written.

    Examples
    --------
    >>> from aotmem.theory.generators import dirichlet_task
    >>> task = dirichlet_task(3, 2, seed=0)
    >>> c = construct(task, svd_target(task, 2), d=2, d_h=2, eps=0.0)
    >>> (c.report.T_eps, c.report.H, c.report.max_rel_logit_error < 1e-10)
    (9, 4, True)
    """
    t0 = time.perf_counter()
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be a theory.task.Task (got {type(task).__name__})")
    d = check_int("d", d, minimum=1)
    d_h = check_int("d_h", d_h, minimum=1)
    if d_h > d:
        raise ValueError(f"`d_h` must be <= d = {d} (got {d_h})")
    eps = check_eps(eps)
    if variant not in VARIANTS:
        raise ValueError(f"`variant` must be one of {VARIANTS} (got {variant!r})")
    if qk not in QK_KINDS:
        raise ValueError(f"`qk` must be one of {QK_KINDS} (got {qk!r})")
    xp = get_xp(backend)
    W, E = _target_arrays(target, task.T, task.N, d)
    kept = keep_sequences(task.prior, eps)
    T_eps = int(kept.size)
    if variant == "paper" and T_eps < d:
        # Solving [W_O, W_OV] M_1 = E*_1 for an invertible W_OV needs at least d kept columns.
        raise ValueError(f"`eps` keeps T_eps = {T_eps} sequences, fewer than d = {d}: the paper variant solves for "
                         "W_OV on the kept system and needs T_eps >= d (lower `eps` or use variant 'fixed-skip')")
    H_min, dh = heads_for(variant, T_eps, d, d_h)
    if heads is None:
        H = H_min
    else:
        H = check_int("heads", heads, minimum=0)
        if H < H_min:
            need = "d_h H + d >= T_eps" if variant == "paper" else "H d_h >= T_eps"
            raise ValueError(f"`heads` = {H} is too few for variant {variant!r}: {need} needs H >= {H_min}"
                             f" (T_eps = {T_eps}, d = {d}, d_h = {dh})")
    shape = AoTShape(N=task.N, S=task.S, d=d, H=H, d_h=dh)
    primed = draw_primed(shape, qk=qk, embedding=embedding, attn_scale=attn_scale, seed=seed)
    M = head_features(primed, task.seqs, backend=backend)  # (H d_h + d, T)
    rest = np.setdiff1d(np.arange(task.T), kept)
    if rest.size == 0 and np.array_equal(kept, np.arange(task.T)):  # every sequence kept, in order: no copy
        M1, M2 = M, M[:, :0]
    else:
        M1, M2 = M[:, xp.asarray(kept)], M[:, xp.asarray(rest)]
    del M
    skip = "solve" if variant == "paper" else "fixed"
    unknown_rows = int(M1.shape[0] if skip == "solve" else H * dh)
    rank = cond2 = None
    if T_eps <= rank_svd_limit:  # before the solve, which may overwrite M_1; the only host copy (CuPy)
        A_sys = to_numpy(M1 if skip == "solve" else M1[: H * dh])
        An = A_sys / np.linalg.norm(A_sys, axis=1, keepdims=True)
        sv = np.linalg.svd(An, compute_uv=False)
        tol = sv[0] * max(An.shape) * np.finfo(np.float64).eps  # numpy.linalg.matrix_rank's default
        rank = int(np.count_nonzero(sv > tol))
        cond2 = float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")
        del A_sys, An
    # Peak memory: with nothing dropped, M_1 is not needed after the solve (theorem1_rhs uses it only
    # with M_2), so it is row-scaled and factored in place: one T x T array instead of two.
    sol = solve_output(M1, E[kept], H=H, d_h=dh, skip=skip, solve=solve, overwrite=M2.shape[1] == 0)
    if sol.cond_kept > SINGULAR_COND:
        raise ValueError(f"the kept system `M_1` is numerically singular in float64 (kappa_1 = {sol.cond_kept:.3g}"
                         f" > 1/u = {SINGULAR_COND:.3g}); add heads (`heads`) or see theory.certify")
    model, cond_wov = map_back(primed, sol, W) if skip == "solve" else (
        AoT(primed.embed, primed.pos, primed.W_QK, primed.W_V, sol.W_O, W, qk_rank1=primed.rank1), 1.0)
    F_all = model.logits(task.seqs, backend=backend)  # (T, N), model coordinates
    F_tgt = E @ W.T
    err = max_relative_error(F_all[kept], F_tgt[kept])
    kl_t = kl(task.prior, task.cond, F_tgt)
    kl_m = kl(task.prior, task.cond, F_all)
    # gamma: KL is 2-Lipschitz in the sup norm of the logits (|d KL/d f_o| = |softmax_o - pi_o|,
    # summing to <= 2), so the measured kept-set logit error moves it by at most 2 max|dF|.
    abs_err = float(np.abs(F_all[kept] - F_tgt[kept]).max()) if kept.size else 0.0
    gamma = 2.0 * abs_err + KL_SUM_RTOL * max(1.0, abs(kl_t))
    rhs = theorem1_rhs(kl_t, eps, W, E, M1, M2)
    report = ConstructionReport(
        variant=variant, qk=qk, N=task.N, S=task.S, d=d, d_h=dh, T=task.T, T_eps=T_eps, H=H,
        unknown_rows=unknown_rows, param_count=model.param_count(),
        paper_param_count=paper_param_count(task.N, task.S, d, dh, H, rank1_qk=(qk == "rank1")),
        rank_kept=rank, cond_kept=sol.cond_kept, cond2_kept=cond2, cond_W_OV=cond_wov, solve=sol.method,
        max_rel_logit_error=err, kl_target=kl_t, kl_model=kl_m, C=rhs["C"], norm_WE=rhs["norm_WE"],
        rhs=rhs["rhs"], rhs_factor2=rhs["rhs_factor2"], gamma=gamma, holds=bool(kl_m <= rhs["rhs"] + gamma),
        holds_factor2=bool(kl_m <= rhs["rhs_factor2"] + gamma), seconds=time.perf_counter() - t0)
    return Construction(model, report, kept, task.seqs[kept], F_tgt[kept])
