"""Capacities, head counts and parameter counts (``seed.theorem-aot``, ``paper.theorem1``, ``paper.cor1``,
``paper.cor2``, ``paper.table1``).

Sizes use docs/theory.md#aot: vocabulary ``N``, sequence length ``S``,
embedding dimension ``d``, ``H`` heads of inner dimension ``d_h``.

``d_h > d`` (the authors' training runs use ``d = 5..9``, ``d_head = 10``) is
accepted everywhere: every formula here is the paper's, evaluated as written.
A head's output ``W_O^h W_V^h A^h(t)`` has rank at most ``d`` whatever
``d_h``, so where a formula counts sequences through ``H d_h`` it
overcounts when ``d_h > d``; :func:`effective_head_rank` (``min(d_h, d)``)
and :func:`capacity_effective` give what a construction can reach, and
:func:`cor2_accuracy_bound` takes ``effective=True``. Parameter counts are
counts of entries and need no such correction.

Parameter counts. The paper states ``d(S + 2N + 4 d_h H)`` (or
``d(S + 2N + 2(d_h + 1) H)`` with rank-1 ``W_QK``). Counting the AoT of
docs/theory.md#aot from its shapes (:func:`param_count_shapes`):
embeddings ``N d``, positions ``S d``, unembedding ``N d``, and per head
``W_QK`` (``d x d``), ``W_V`` (``d_h x d``), ``W_O`` (``d x d_h``), gives
``d(S + 2N) + H (d^2 + 2 d d_h)``. The two agree only when ``W_QK`` is
counted as ``2 d d_h`` (factored ``W_Q^T W_K`` with ``W_Q, W_K in R^{d_h x d}``,
``qk="factored"``) or as ``2d`` (rank 1, ``qk="rank1"``). With a full
``d x d`` ``W_QK`` the paper's count is off by ``H d (d - 2 d_h)``
(:func:`param_count_gap`), zero iff ``d = 2 d_h``.
"""

from __future__ import annotations

from .validate import check_int

__all__ = [
    "QK_FORMS",
    "capacity_this_paper",
    "capacity_effective",
    "effective_head_rank",
    "capacity_mahdavi",
    "capacity_kim",
    "seed_modules",
    "paper_heads",
    "param_count",
    "param_count_shapes",
    "param_count_gap",
    "cor1_params",
    "cor1_capacity",
    "cor2_accuracy_bound",
    "cor2_vacuous_reason",
    "TABLE1",
]

QK_FORMS = ("full", "factored", "rank1")


_NO_D = object()


def _check_heads(H, d_h, d=_NO_D, *, min_H: int = 1):
    """``H >= min_H``, ``d_h >= 1`` and, when the caller has a ``d`` (even ``None``), ``d >= 1`` (``d_h > d`` is allowed)."""
    H = check_int("H", H, minimum=min_H)
    d_h = check_int("d_h", d_h, minimum=1)
    if d is _NO_D:
        return H, d_h, None
    d = check_int("d", d, minimum=1)
    return H, d_h, d


def effective_head_rank(d_h: int, d: int) -> int:
    """``min(d_h, d)``: the largest rank of one head's output ``W_O^h W_V^h A^h(t)`` (``A^h(t)`` lies in ``R^d``).

    References
    ----------
    ``paper.lemma2`` (paper Lemma 2; docs/theory.md#p5, Notes: heads of inner dimension ``d_h`` give at most ``H
    min(d_h, d)`` independent rows); docs/theory.md#aot (a head's effective rank ``min(d_h, d)``); used by
    ``paper.cor2`` (``effective=True``).

    >>> effective_head_rank(10, 6), effective_head_rank(4, 6)
    (6, 4)
    """
    d_h = check_int("d_h", d_h, minimum=1)
    d = check_int("d", d, minimum=1)
    return min(d_h, d)


def capacity_this_paper(H: int, d_h: int, d: int) -> int:
    """``H d_h + d``: sequences an AoT memorises (``paper.theorem1`` condition ``d_h H + d >= T_eps``; ``paper.table1``).

    The paper's formula, as written, for any ``d_h``. When ``d_h > d`` it
    overcounts: each head adds at most ``min(d_h, d)`` to the rank of the
    kept system, so at most :func:`capacity_effective` sequences are reached.

    References
    ----------
    ``paper.table1[this-paper]`` (paper Table 1: capacity ``H d_h + d``); ``paper.theorem1`` (paper Theorem 1: the
    condition ``d_h H + d >= T_eps``).

    >>> capacity_this_paper(4, 8, 16), capacity_this_paper(4, 10, 6)
    (48, 46)
    """
    H, d_h, d = _check_heads(H, d_h, d)
    return H * d_h + d


def capacity_effective(H: int, d_h: int, d: int) -> int:
    """``H min(d_h, d) + d``: :func:`capacity_this_paper` with the effective head rank (equal to it when ``d_h <= d``).

    An upper bound on what the construction of ``paper.theorem1`` can reach
    with ``H`` heads: ``rank M_1 <= H min(d_h, d) + d`` (each head's
    ``W_V^h A^h(t)`` spans at most ``d`` dimensions; the skip connection ``d``).

    References
    ----------
    ``paper.theorem1`` (paper Theorem 1, the rank of ``M_1``), ``paper.lemma2`` (paper Lemma 2); docs/theory.md#aot
    (``min(d_h, d)`` in place of ``d_h``).

    >>> capacity_effective(4, 10, 6), capacity_effective(4, 4, 6) == capacity_this_paper(4, 4, 6)
    (30, True)
    """
    H, d_h, d = _check_heads(H, d_h, d)
    return H * min(d_h, d) + d


def capacity_mahdavi(H: int, d_h: int) -> int:
    """``H (d_h - 1) + 1`` (Mahdavi et al. 2024, as listed in ``paper.table1``).

    References
    ----------
    ``paper.table1[mahdavi]`` (paper Table 1: ``H(d_h - 1) + 1``, Mahdavi et al. 2024).

    >>> capacity_mahdavi(4, 8)
    29
    """
    H, d_h, _ = _check_heads(H, d_h)
    return H * (d_h - 1) + 1


def capacity_kim(L: int) -> int:
    """``L^2``: the order ``O(L^2)`` attributed to Kim et al. 2023 in ``paper.table1``, constant taken as 1.

    This is an order of magnitude, not a bound: docs/theory.md gives only
    ``O(L^2)`` and does not define ``L``; we return ``L**2`` for plotting
    the growth rate. (Kim et al. 2023 memorise ``n`` sequences with
    ``O~(d + n + sqrt(n N))`` parameters, i.e. a count quadratic in the
    parameter budget.)

    References
    ----------
    ``paper.table1[kim]`` (paper Table 1: ``O(L^2)``, Kim et al. 2023).

    >>> capacity_kim(10)
    100
    """
    L = check_int("L", L, minimum=1)
    return L * L


def seed_modules(N_eps: int, d: int) -> int:
    """``ceil(N_eps / d)`` parallel attention modules of inner dimension ``d`` (``seed.theorem-aot``).

    References
    ----------
    ``seed.theorem-aot`` (seed slide "Attention-only Transformers", Theorem: ``ceil(N_eps / d)`` parallel attention
    modules; docs/theory.md#s2).

    >>> seed_modules(100, 10), seed_modules(101, 10)
    (10, 11)
    """
    N_eps = check_int("N_eps", N_eps, minimum=1)
    d = check_int("d", d, minimum=1)
    return -(-N_eps // d)


def paper_heads(T_eps: int, d: int, d_h: int) -> int:
    """Fewest heads with ``d_h H + d >= T_eps``: ``max(0, ceil((T_eps - d) / d_h))`` (``paper.theorem1``).

    With ``d_h = d`` this is ``seed_modules(T_eps, d) - 1``: the skip connection acts as one more head.
    With ``d_h > d`` it is the paper's count as written; a head then adds at
    most ``d`` to the rank, and the construction needs at least
    ``ceil((T_eps - d) / min(d_h, d))`` heads (``theory.construct.plan_heads``
    also counts the skip connection's own rank).

    References
    ----------
    ``paper.theorem1`` (paper Theorem 1: ``d_h H + d >= T_eps``; docs/theory.md#p6, Readings: ``H = ceil((T_eps -
    d)/d_h)``); ``seed.theorem-aot`` (docs/theory.md#s2, with ``d_h = d``).

    >>> paper_heads(100, 10, 10), paper_heads(5, 10, 4), paper_heads(100, 6, 10)
    (9, 0, 10)
    """
    T_eps = check_int("T_eps", T_eps, minimum=1)
    d = check_int("d", d, minimum=1)
    d_h = check_int("d_h", d_h, minimum=1)
    return max(0, -(-(T_eps - d) // d_h))


def param_count(N: int, S: int, d: int, d_h: int, H: int, *, rank1_qk: bool = False) -> int:
    """The paper's parameter count (``paper.theorem1``): ``d(S + 2N + 4 d_h H)``, or ``d(S + 2N + 2(d_h+1) H)``.

    References
    ----------
    ``paper.theorem1[params]`` (paper Theorem 1: ``d(S + 2N + 4 d_h H)``, and ``d(S + 2N + 2(d_h + 1) H)`` with
    rank-1 ``W_QK``, Remark 2); docs/theory.md#aot (parameter counts).

    >>> param_count(10, 3, 8, 4, 2), param_count(10, 3, 8, 4, 2, rank1_qk=True)
    (440, 344)
    """
    N = check_int("N", N, minimum=2)  # vocabulary [N], N >= 2 as in theory.task
    S = check_int("S", S, minimum=1)
    H, d_h, d = _check_heads(H, d_h, d, min_H=0)  # a count: H = 0 heads is the skip connection alone
    if rank1_qk:
        return d * (S + 2 * N + 2 * (d_h + 1) * H)
    return d * (S + 2 * N + 4 * d_h * H)


def param_count_shapes(N: int, S: int, d: int, d_h: int, H: int, *, qk: str = "full") -> int:
    """Parameters of the AoT of docs/theory.md#aot counted from its shapes.

    ``N d`` (embeddings) ``+ S d`` (positions) ``+ N d`` (``W_U``) ``+ H (qk + d_h d + d d_h)``,
    with ``qk = d^2`` (``"full"``), ``2 d d_h`` (``"factored"``) or ``2 d`` (``"rank1"``).

    References
    ----------
    docs/theory.md#aot (parameter counts, from the shapes of paper eq. 1-2); compared with
    ``paper.theorem1[params]`` and ``paper.cor1[params]``.

    >>> param_count_shapes(10, 3, 8, 4, 2, qk="factored") == param_count(10, 3, 8, 4, 2)
    True
    >>> param_count_shapes(10, 3, 8, 4, 2, qk="rank1") == param_count(10, 3, 8, 4, 2, rank1_qk=True)
    True
    """
    N = check_int("N", N, minimum=2)
    S = check_int("S", S, minimum=1)
    H, d_h, d = _check_heads(H, d_h, d, min_H=0)
    if qk not in QK_FORMS:
        raise ValueError(f"`qk` must be one of {QK_FORMS} (got {qk!r})")
    qk_count = {"full": d * d, "factored": 2 * d * d_h, "rank1": 2 * d}[qk]
    return N * d + S * d + N * d + H * (qk_count + 2 * d_h * d)


def param_count_gap(N: int, S: int, d: int, d_h: int, H: int) -> int:
    """Shapes count (full ``d x d`` ``W_QK``) minus the paper's count: ``H d (d - 2 d_h)``.

    References
    ----------
    docs/theory.md#aot (a full ``d x d`` ``W_QK^h`` has more than ``2 d d_h`` entries when ``d > 2 d_h``);
    ``paper.theorem1[params]`` (docs/theory.md#p6, Notes).

    >>> param_count_gap(10, 3, 8, 2, 3)
    96
    """
    return param_count_shapes(N, S, d, d_h, H, qk="full") - param_count(N, S, d, d_h, H)


def cor1_capacity(H: int, d_h: int) -> int:
    """``T_0 = H d_h + 2`` associations memorised with ``d = 2`` (``paper.cor1``).

    As written for any ``d_h``; with ``d_h > 2`` a head adds at most 2 to the
    rank, and ``capacity_effective(H, d_h, 2) = 2 H + 2`` is what can be reached.

    References
    ----------
    ``paper.cor1`` (paper Corollary 1: ``T_0 = H d_h + 2`` associations with ``d = 2``; docs/theory.md#p7).

    >>> cor1_capacity(3, 2)
    8
    """
    H, d_h, _ = _check_heads(H, d_h, 2)
    return H * d_h + 2


def cor1_params(S: int, N: int, T_0: int) -> int:
    """``2(S + 2N + 4(T_0 - 2))`` parameters (``paper.cor1``); equals ``param_count(N, S, 2, d_h, H)`` at ``T_0 = H d_h + 2``.

    References
    ----------
    ``paper.cor1[params]`` (paper Corollary 1: ``2(S + 2N + 4(T_0 - 2))`` parameters; docs/theory.md#p7).

    >>> cor1_params(3, 10, 8) == param_count(10, 3, 2, 2, 3)
    True
    """
    S = check_int("S", S, minimum=1)
    N = check_int("N", N, minimum=2)
    T_0 = check_int("T_0", T_0, minimum=2)
    return 2 * (S + 2 * N + 4 * (T_0 - 2))


def cor2_accuracy_bound(N: int, H: int, d_h: int, d: int, T_0: int, *, effective: bool = False) -> float:
    """``1/N + (1 - 1/N)(H d_h + d)/T_0`` (``paper.cor2``, association, uniform prior); NOT capped.

    Memorise ``m = H d_h + d`` of the ``T_0`` associations and guess the rest
    at chance ``1/N``. When ``m > T_0`` the formula exceeds 1 (the true
    accuracy is 1); :func:`cor2_vacuous_reason` says so. ``d_h > d`` is the
    formula as written (``m`` then overcounts what ``H`` heads can store);
    ``effective=True`` uses ``m = H min(d_h, d) + d`` (:func:`capacity_effective`),
    the same value when ``d_h <= d``.

    References
    ----------
    ``paper.cor2`` (paper Corollary 2: accuracy ``>= 1/N + (1 - 1/N)(H d_h + d)/T_0``; docs/theory.md#p8).

    >>> round(cor2_accuracy_bound(10, 2, 4, 4, 20), 12)
    0.64
    >>> cor2_accuracy_bound(10, 2, 4, 4, 5) > 1
    True
    >>> round(cor2_accuracy_bound(10, 2, 8, 4, 40), 12), round(cor2_accuracy_bound(10, 2, 8, 4, 40, effective=True), 12)
    (0.55, 0.37)
    """
    N = check_int("N", N, minimum=2)
    H, d_h, d = _check_heads(H, d_h, d)
    T_0 = check_int("T_0", T_0, minimum=1)
    m = H * (min(d_h, d) if effective else d_h) + d
    return 1.0 / N + (1.0 - 1.0 / N) * m / T_0


def cor2_vacuous_reason(N: int, H: int, d_h: int, d: int, T_0: int, *, effective: bool = False) -> str | None:
    """Why ``cor2_accuracy_bound`` exceeds 1 (``H d_h + d > T_0``, or ``H min(d_h, d) + d`` with ``effective``), or ``None``.

    References
    ----------
    ``paper.cor2`` (paper Corollary 2; docs/theory.md#p8): where its formula exceeds 1.

    >>> cor2_vacuous_reason(10, 2, 4, 4, 5)
    'H d_h + d = 12 > T_0 = 5: the formula gives 2.26 > 1; every association fits and the accuracy is 1'
    """
    v = cor2_accuracy_bound(N, H, d_h, d, T_0, effective=effective)
    m = H * (min(d_h, d) if effective else d_h) + d
    if m <= T_0:
        return None
    name = "H min(d_h, d) + d" if effective else "H d_h + d"
    return f"{name} = {m} > T_0 = {T_0}: the formula gives {v:.4g} > 1; every association fits and the accuracy is 1"


#: paper.table1: capacity (sequences memorised) per method, with the parameter count where docs/theory.md states one.
TABLE1 = (
    {"method": "Mahdavi et al. 2024", "capacity": "H (d_h - 1) + 1", "fn": capacity_mahdavi,
     "params": None},
    {"method": "Kim et al. 2023", "capacity": "O(L^2)", "fn": capacity_kim, "params": None},
    {"method": "this paper", "capacity": "H d_h + d", "fn": capacity_this_paper,
     "params": "d (S + 2N + 4 d_h H)  [rank-1 W_QK: d (S + 2N + 2 (d_h + 1) H)]"},
)
