"""Rank certificates in extended precision (mpmath) for ``paper.lemma2`` and ``draft.lemma-rank``.

float64 cannot tell a kept system of condition number ``1e17`` from a singular
one. Here the feature matrix ``M = [W'_V A'(t); x'_S(t)]`` of
:func:`theory.construct.head_features` is recomputed from the same float64
parameters (exactly representable, so the matrix is the same mathematical
object) in ``mpmath`` at ``dps`` and at ``2 dps`` decimal digits, and its
smallest singular value ``sigma_min`` is compared:

- ``full``: ``sigma_min`` agrees at both precisions to ``AGREE_RTOL`` and is far
  above the working precision: the rank is certified full (rounding at
  ``10^-dps`` cannot move a singular value by more than ``~ ||M|| 10^-dps``);
- ``deficient``: ``sigma_min`` falls with the precision (``<= ||M|| 10^{-dps/2}``
  at both): the matrix is singular, its float64 ``sigma_min`` only rounding;
- ``undecided`` otherwise.

For small cases only (pure-Python SVD, ``T <= MAX_T``).

Also: the structural bound ``rank M_1 <= H d_h + min(d, n_last)``, with
``n_last`` the number of distinct last tokens among the kept sequences
(the skip rows ``x'_S(t)`` depend on ``t_S`` only); see
:func:`skip_rank_bound`.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from .construct import Primed, head_features
from .validate import check_int

__all__ = ["MAX_T", "AGREE_RTOL", "RankCertificate", "NumericalRank", "features_mp", "certify_rank", "skip_rank_bound",
           "head_rank", "attention_rank_cap"]

MAX_T = 120  # mpmath's SVD is O(n^3) in Python: ~10 s at n = 120, dps = 60
AGREE_RTOL = 1e-8  # sigma_min at dps and 2 dps must agree this well to certify


@dataclass(frozen=True)
class RankCertificate:
    """Verdict (``full``, ``deficient``, ``undecided``) with ``sigma_min`` at both precisions."""

    verdict: str
    rows: int
    cols: int
    sigma_max: float
    sigma_min_lo: float  # at dps
    sigma_min_hi: float  # at 2 dps
    dps: int


def features_mp(primed: Primed, seqs, dps: int) -> mpmath.matrix:
    """``M`` (as in ``head_features``) computed in mpmath at ``dps`` digits, ``(H min(d_h, d) + d, T)``.

    References
    ----------
    ``paper.lemma2`` (paper Lemma 2), ``draft.lemma-rank`` (draft D.7): the features ``M`` of
    docs/theory.md#construction, step 3; the 50-digit re-check of
    ``paper.theorem1[as-written,construction=proof,...]`` (docs/theory.md#p6).
    """
    s = np.asarray(seqs, dtype=np.int64)
    H, d_h, d = primed.W_V.shape
    rows = primed.head_rows  # min(d_h, d): with d_h > d a head's rows are A'(t) itself, as in head_features
    with mpmath.workdps(dps):
        mp = mpmath.mpf
        E = [[mp(float(v)) for v in row] for row in primed.embed]
        P = [[mp(float(v)) for v in row] for row in primed.pos]
        QK = [[[mp(float(v)) for v in r] for r in Wh] for Wh in primed.W_QK]
        V = [[[mp(float(v)) for v in r] for r in Wh] for Wh in primed.W_V]
        T, S = s.shape
        M = mpmath.matrix(H * rows + d, T)
        for j, t in enumerate(s):
            X = [[E[t[k]][i] + P[k][i] for i in range(d)] for k in range(S)]
            xS = X[-1]
            for h in range(H):
                q = [mpmath.fsum(xS[a] * QK[h][a][b] for a in range(d)) for b in range(d)]
                sc = [mpmath.fsum(q[b] * X[k][b] for b in range(d)) for k in range(S)]
                m = max(sc)
                w = [mpmath.exp(c - m) for c in sc]
                Z = mpmath.fsum(w)
                A = [mpmath.fsum(w[k] * X[k][i] for k in range(S)) / Z for i in range(d)]
                for r in range(rows):
                    M[h * rows + r, j] = (mpmath.fsum(V[h][r][i] * A[i] for i in range(d)) if d_h <= d
                                          else A[r])
            for i in range(d):
                M[H * rows + i, j] = xS[i]
        return M


def _svals(M: mpmath.matrix, dps: int):
    with mpmath.workdps(dps):
        A = M if M.rows >= M.cols else M.T
        s = mpmath.svd_r(A, compute_uv=False)
        vals = sorted((s[i] for i in range(s.rows)), reverse=True)
        return vals[0], vals[-1]


def certify_rank(primed: Primed, seqs, *, dps: int = 40, heads_only: bool = False) -> RankCertificate:
    """Certify (or refute) that ``M_1`` has full rank ``min(rows, T)`` (``paper.lemma2``, ``draft.lemma-rank``).

    ``heads_only=True`` drops the skip rows (the fixed-skip system).

    References
    ----------
    ``paper.lemma2[certified]`` (paper Lemma 2 and Remark 2: ``rank{A(t)} >= min(T_0, H d)``; docs/theory.md#p5),
    ``draft.lemma-rank`` (draft D.7; docs/theory.md#d7).

    >>> from aotmem.theory.aot import AoTShape
    >>> from aotmem.theory.construct import draw_primed
    >>> from aotmem.theory.task import all_sequences
    >>> pr = draw_primed(AoTShape(N=2, S=2, d=1, H=3, d_h=1), seed=0)
    >>> certify_rank(pr, all_sequences(2, 2), dps=30).verdict
    'full'
    """
    dps = check_int("dps", dps, minimum=20, maximum=400)
    s = np.asarray(seqs)
    if s.ndim != 2 or s.shape[0] > MAX_T:
        raise ValueError(f"`seqs` must be (T, S) with T <= {MAX_T} for an mpmath certificate (got {s.shape})")
    out = []
    for p in (dps, 2 * dps):
        M = features_mp(primed, s, p)
        if heads_only:
            with mpmath.workdps(p):
                M = M[: primed.W_V.shape[0] * primed.head_rows, :]
        out.append(_svals(M, p))
    (smax, lo), (_, hi) = out
    with mpmath.workdps(2 * dps):
        agree = abs(lo - hi) <= AGREE_RTOL * abs(hi)
        tiny = smax * mpmath.mpf(10) ** (-dps // 2)
        if agree and hi > tiny:
            verdict = "full"
        elif lo <= tiny and hi <= tiny * mpmath.mpf(10) ** (-dps // 2):
            verdict = "deficient"
        else:
            verdict = "undecided"
    return RankCertificate(verdict, M.rows, M.cols, float(smax), float(lo), float(hi), dps)


def skip_rank_bound(seqs_kept, d: int, H: int, d_h: int) -> int:
    """Upper bound ``rank M_1 <= H min(d_h, d) + min(d, n_last)``; ``n_last`` = distinct last tokens of the kept sequences.

    The skip rows ``x'_S(t) = e'(t_S) + pos'_S`` take one value per last token.
    ``paper.theorem1`` counts them as ``d`` generic rows (``H d_h + d >= T_eps``):
    when ``n_last < d`` that count is not enough (see ``docs/construction.md``).

    References
    ----------
    ``paper.theorem1`` (docs/theory.md#p6, Notes: the skip rows ``x_S(t)`` have rank at most ``min(d, n_last)``, so
    ``d_h H + d >= T_eps`` need not give a full-rank ``M_1``).

    >>> skip_rank_bound(np.array([[0, 0], [1, 0]]), d=2, H=0, d_h=1)
    1
    """
    s = np.asarray(seqs_kept)
    n_last = int(np.unique(s[:, -1]).size)
    return min(s.shape[0], H * min(int(d_h), int(d)) + min(int(d), n_last))


@dataclass(frozen=True)
class NumericalRank:
    """float64 rank of the head features ``[W'_V A'(t)]_t``: ``rank``, the rank wanted, ``sigma_want / sigma_1``."""

    rank: int
    want: int
    ratio: float


def head_rank(primed: Primed, seqs) -> NumericalRank:
    """Numerical rank of the stacked head features ``A(t) = [W'_V^h A'^h(t)]_h`` over ``seqs`` (``paper.lemma2``).

    ``M = [A(t)]_t`` is ``(H min(d_h, d), T_0)`` (the skip rows of :func:`head_features`
    dropped); with ``d_h = d`` and orthonormal ``W'_V^h`` its rank is that of
    the attention outputs. Rank with numpy's ``matrix_rank`` tolerance
    ``sigma_1 max(shape) eps``; ``want = min(T_0, H min(d_h, d))`` and ``ratio`` is
    ``sigma_want / sigma_1`` (0 when that singular value does not exist).
    float64 cannot tell a rank shortfall from bad conditioning:
    :func:`certify_rank` decides small cases in mpmath.

    References
    ----------
    ``paper.lemma2[construction=draw_primed]`` (paper Lemma 2: ``rank{A(t)} >= min(T_0, H d)``; docs/theory.md#p5),
    ``draft.lemma-rank[construction=draw_primed]`` (draft D.7; docs/theory.md#d7).

    >>> from aotmem.theory.aot import AoTShape
    >>> from aotmem.theory.construct import draw_primed
    >>> from aotmem.theory.task import all_sequences
    >>> pr = draw_primed(AoTShape(N=3, S=2, d=2, H=2, d_h=2), seed=0)
    >>> head_rank(pr, all_sequences(3, 2)).rank
    4
    """
    H, rows = primed.W_V.shape[0], primed.head_rows  # rows = min(d_h, d), as head_features
    s = np.asarray(seqs)
    M = np.asarray(head_features(primed, s))[: H * rows]  # (H min(d_h, d), T_0)
    sv = np.linalg.svd(M, compute_uv=False)
    tol = sv[0] * max(M.shape) * np.finfo(np.float64).eps
    rank = int(np.count_nonzero(sv > tol))
    want = min(s.shape[0], H * rows)
    ratio = float(sv[want - 1] / sv[0]) if want - 1 < sv.size and sv[0] > 0 else 0.0
    return NumericalRank(rank, want, ratio)


def attention_rank_cap(T0: int, H: int, d: int, N: int, S: int) -> int:
    """``min(T_0, H d, H (N+S-2) + 1)``: the rank the corrected ``paper.lemma2`` promises (``S >= 2``).

    For ``S >= 2``, ``A^h(t) = phi(c^h(t))`` with ``c^h = (c_e, c_pos)`` the
    attention weights on the ``N + S`` vectors ``e(n), pos_s``: ``sum c_e =
    sum c_pos = 1`` for every head, ``2H - 1`` independent linear constraints
    on the stacked ``c`` in ``R^{H(N+S)}``, so ``rank{A(t)} <= H(N+S-2) + 1``
    whatever ``e, pos, W_QK`` are (docs/theory.md#p5).

    References
    ----------
    ``paper.lemma2+S>=2+cap`` (docs/theory.md#p5, corrected forms: ``rank{A(t)} <= H(N + S - 2) + 1`` for every
    choice); ``paper.lemma2+S>=2+d<=N+S-2``, ``draft.lemma-rank+S>=2+d<=N+S-2`` (docs/theory.md#d7).

    >>> attention_rank_cap(T0=50, H=2, d=8, N=3, S=2)
    7
    """
    return min(int(T0), int(H) * int(d), int(H) * (int(N) + int(S) - 2) + 1)
