"""Capacities and parameter counts (paper.theorem1, paper.cor1, paper.cor2, paper.table1, seed.theorem-aot)."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aotmem.theory import capacity as CP


@st.composite
def aot_shapes(draw, *, max_n=50, max_s=8, max_d=32, max_h=16):
    """``(N, S, d, d_h, H)`` with ``1 <= d_h <= d``."""
    d = draw(st.integers(1, max_d))
    d_h = draw(st.integers(1, d))
    shape = (draw(st.integers(2, max_n)), draw(st.integers(1, max_s)), d, d_h, draw(st.integers(1, max_h)))
    assert shape[3] <= shape[2]
    return shape


@given(aot_shapes())
@example((10, 3, 8, 4, 2))  # d = 2 d_h: the full W_QK count agrees with the paper's
def test_paper_count_equals_shapes_with_factored_or_rank1_qk(shape):
    N, S, d, d_h, H = shape
    assert CP.param_count(N, S, d, d_h, H) == CP.param_count_shapes(N, S, d, d_h, H, qk="factored")
    assert CP.param_count(N, S, d, d_h, H, rank1_qk=True) == CP.param_count_shapes(N, S, d, d_h, H, qk="rank1")


@given(aot_shapes())
def test_finding_full_W_QK_count_differs_by_H_d_times_d_minus_2dh(shape):
    """FINDING (paper.theorem1 parameter count): with the d x d W_QK of docs/theory.md#notation the
    shapes count is d(S + 2N) + H(d^2 + 2 d d_h); the paper's d(S + 2N + 4 d_h H) differs by H d (d - 2 d_h)."""
    N, S, d, d_h, H = shape
    gap = CP.param_count_gap(N, S, d, d_h, H)
    assert gap == H * d * (d - 2 * d_h)
    assert (gap == 0) == (d == 2 * d_h)


def test_finding_count_mismatch_smallest_example():
    # N=2, S=1, d=1, d_h=1, H=1: shapes count 2+1+2 + (1 + 1 + 1) = 8; paper 1*(1 + 4 + 4) = 9
    assert CP.param_count_shapes(2, 1, 1, 1, 1) == 8
    assert CP.param_count(2, 1, 1, 1, 1) == 9


@given(st.integers(1, 200), st.integers(1, 30))
@example(1, 1)
@example(30, 30)
def test_paper_heads_vs_seed_modules(T, d):
    """With d_h = d the paper needs one head fewer than the seed's ceil(N_eps/d) modules (skip = a head)."""
    assert CP.paper_heads(T, d, d) == CP.seed_modules(T, d) - 1


@given(st.integers(1, 500), st.integers(1, 40), st.integers(1, 40))
def test_paper_heads_is_the_fewest(T, d, d_h):
    """Also for d_h > d: the paper's count as written (H d_h + d >= T_eps)."""
    H = CP.paper_heads(T, d, d_h)
    assert H * d_h + d >= T and (H == 0 or (H - 1) * d_h + d < T)


@given(st.integers(1, 16), st.integers(1, 40), st.integers(1, 40), st.integers(2, 30), st.integers(1, 400))
def test_head_dimension_above_d_counts_d_per_head_where_capacity_matters(H, d_h, d, N, T0):
    """d_h > d: the formulas as written use d_h; the effective forms use min(d_h, d), never more than as written,
    and equal to it when d_h <= d."""
    eff = CP.effective_head_rank(d_h, d)
    assert eff == min(d_h, d)
    assert CP.capacity_effective(H, d_h, d) == H * eff + d <= CP.capacity_this_paper(H, d_h, d)
    assert (CP.capacity_effective(H, d_h, d) == CP.capacity_this_paper(H, d_h, d)) == (d_h <= d)
    a, b = CP.cor2_accuracy_bound(N, H, d_h, d, T0), CP.cor2_accuracy_bound(N, H, d_h, d, T0, effective=True)
    assert b <= a and (a == b) == (d_h <= d)
    assert b == pytest.approx(1 / N + (1 - 1 / N) * (H * eff + d) / T0, rel=1e-15)
    assert (CP.cor2_vacuous_reason(N, H, d_h, d, T0, effective=True) is None) == (H * eff + d <= T0)


@given(st.integers(1, 10), st.integers(1, 2), st.integers(1, 20), st.integers(2, 30))
def test_cor1_is_theorem1_at_d_2(H, d_h, S, N):
    T0 = CP.cor1_capacity(H, d_h)
    assert T0 == CP.capacity_this_paper(H, d_h, 2)
    assert CP.cor1_params(S, N, T0) == CP.param_count(N, S, 2, d_h, H)


@given(st.integers(2, 50), st.integers(1, 10), st.integers(1, 8), st.integers(8, 16), st.integers(1, 400))
def test_cor2_formula_uncapped_and_flagged(N, H, d_h, d, T0):
    v = CP.cor2_accuracy_bound(N, H, d_h, d, T0)
    m = H * d_h + d
    assert v == pytest.approx(1 / N + (1 - 1 / N) * m / T0, rel=1e-15)
    assert v >= 1 / N
    reason = CP.cor2_vacuous_reason(N, H, d_h, d, T0)
    assert (reason is None) == (m <= T0)
    assert (v > 1 + 1e-12) == (m > T0) or m == T0  # > 1 exactly when more capacity than associations


def test_table1_rows_and_ordering():
    assert [r["method"] for r in CP.TABLE1] == ["Mahdavi et al. 2024", "Kim et al. 2023", "this paper"]
    for H in range(1, 6):
        for d_h in range(1, 9):
            # this paper's capacity exceeds Mahdavi's by H + d - 1 >= H
            assert CP.capacity_this_paper(H, d_h, d_h) - CP.capacity_mahdavi(H, d_h) == H + d_h - 1
    assert CP.TABLE1[1]["fn"](7) == 49


@pytest.mark.parametrize("call, match", [
    (lambda: CP.capacity_this_paper(2, 0, 4), "`d_h` must be >= 1"),
    (lambda: CP.param_count(1, 1, 2, 1, 1), "`N` must be >= 2"),
    (lambda: CP.param_count(3, 1, None, 1, 1), "`d` must be an integer"),
    (lambda: CP.capacity_this_paper(1, 1, None), "`d` must be an integer"),
    (lambda: CP.param_count_gap(1, 1, 2, 1, 1), "`N` must be >= 2"),
    (lambda: CP.param_count_shapes(3, 1, 2, 1, 1, qk="low"), "`qk` must be one of"),
    (lambda: CP.cor1_capacity(2, 0), "`d_h` must be >= 1"),
    (lambda: CP.seed_modules(0, 3), "`N_eps` must be >= 1"),
    (lambda: CP.cor2_accuracy_bound(1, 1, 1, 1, 1), "`N` must be >= 2"),
    (lambda: CP.capacity_kim(1.5), "`L` must be an integer"),
])
def test_validation_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
