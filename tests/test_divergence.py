"""theory/divergence.py: KL >= 0, invariance to per-row constants, exact zeros, exp3, the Taylor quantities, and
the numerical extremes (tiny and zero probabilities, entropy ends, N up to 1e4, chunked T up to 5e4)."""

import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strategies import any_tasks, big_vocab_task, full_support_tasks, seeds
from aotmem.theory.divergence import (
    auto_chunk,
    entropy,
    exp3,
    fbar,
    kl,
    kl_rows,
    kl_stream,
    log_softmax,
    taylor_proxy,
    taylor_remainder_bound,
)

# KL is a sum of T*N terms of size O(|F|); rounding error is ~1e-15 per unit.
KL_ATOL = 1e-12


@given(any_tasks(), seeds)
def test_kl_nonnegative_and_shift_invariant(task, seed):
    rng = np.random.default_rng(seed)
    F = rng.normal(scale=3.0, size=(task.T, task.N))
    shift = rng.normal(scale=100.0, size=(task.T, 1))
    a = kl(task.prior, task.cond, F)
    b = kl(task.prior, task.cond, F + shift)
    assert a >= -KL_ATOL
    assert abs(a - b) <= KL_ATOL * max(1.0, a) * 100  # shift of size 100 scales the rounding


@given(full_support_tasks())
def test_kl_of_log_pi_is_zero(task):
    assert abs(kl(task.prior, task.cond, np.log(task.cond))) <= KL_ATOL


def test_kl_handles_exact_zeros_and_huge_logits():
    P = np.array([[1.0, 0.0, 0.0]])
    F = np.array([[1000.0, 0.0, -1000.0]])
    assert kl_rows(P, F)[0] == pytest.approx(0.0, abs=1e-300)
    assert np.isfinite(kl(np.ones(1), P, np.array([[-1000.0, 1000.0, 0.0]])))


def test_kl_rejects_nan_and_wrong_shape():
    with pytest.raises(ValueError, match="`F` contains NaN"):
        kl(np.ones(1), np.array([[0.5, 0.5]]), np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`F` must have shape"):
        kl(np.ones(1), np.array([[0.5, 0.5]]), np.zeros((1, 3)))


@given(arrays(np.float64, 5, elements=st.floats(-30, 30)))
@example(np.array([0.0, 1e-8, -1e-8, 0.0999, 0.1001]))
def test_exp3_matches_high_precision(x):
    import mpmath

    mpmath.mp.dps = 50
    for xi, yi in zip(x, exp3(x)):
        m = mpmath.mpf(xi)
        if abs(xi) < 1:  # the series: no cancellation at any precision
            ref = float(sum(m**k / mpmath.factorial(k) for k in range(3, 40)))
        else:
            ref = float(mpmath.exp(m) - 1 - m - m**2 / 2)
        assert yi == pytest.approx(ref, rel=1e-13, abs=1e-300)


@given(full_support_tasks(), seeds)
def test_taylor_lemma_holds(task, seed):
    """draft.lemma-taylor: |dKL - E log(1 + Var/2)| <= E exp3(||fbar||_2)."""
    rng = np.random.default_rng(seed)
    F = np.log(task.cond) + rng.normal(scale=0.3, size=(task.T, task.N))
    lhs = abs(kl(task.prior, task.cond, F) - taylor_proxy(task.prior, task.cond, F))
    assert lhs <= taylor_remainder_bound(task.prior, task.cond, F) * (1 + 1e-12) + KL_ATOL


@given(full_support_tasks(), seeds)
def test_kl_identity_behind_taylor(task, seed):
    """dKL = E_t log E_{o~pi_t} e^{fbar_t(o)}."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(task.T, task.N))
    fb = fbar(task.cond, F)
    rhs = task.prior @ np.log(np.sum(task.cond * np.exp(fb), axis=1))
    assert kl(task.prior, task.cond, F) == pytest.approx(rhs, rel=1e-10, abs=1e-12)


def test_entropy_extremes():
    assert entropy(np.eye(3)).tolist() == [0.0, 0.0, 0.0]
    assert entropy(np.full((1, 7), 1 / 7))[0] == pytest.approx(np.log(7), rel=1e-15)


def test_kl_rows_are_never_negative_at_an_exact_fit():
    """KL >= 0 (Gibbs): at F = log pi + c the terms pi (log pi - log softmax F) cancel, and their rounded sum is
    -4.8e-18 on this row; kl_rows and kl return max(0, .) per row, so 0 here."""
    P = np.array([[0.5183298738226593, 0.28120227444411344, 0.00011018598145222575, 0.19415442250663814,
                   0.006203243245136839]])
    P = P / P.sum()
    F = np.log(P) - 13.63
    from aotmem.theory.divergence import log_softmax_unchecked

    raw = float(np.sum(P * (np.log(P) - log_softmax_unchecked(F))))
    assert raw < 0.0  # the unclipped sum on this row: -4.8e-18 (rounding)
    assert kl_rows(P, F)[0] == 0.0 and kl(np.ones(1), P, F) == 0.0


@given(any_tasks(), seeds)
def test_kl_rows_nonnegative_everywhere(task, seed):
    """Every row's KL is >= 0 exactly (not just to a tolerance), at random logits and at exact fits."""
    rng = np.random.default_rng(seed)
    F = rng.normal(scale=5.0, size=(task.T, task.N))
    assert np.all(kl_rows(task.cond, F) >= 0.0)
    with np.errstate(divide="ignore"):
        L = np.where(task.cond > 0, np.log(task.cond), -1e3)  # exact fit up to e^-1000 on zero entries
    rows = kl_rows(task.cond, L + rng.normal(scale=50.0, size=(task.T, 1)))
    assert np.all(rows >= 0.0) and np.all(rows <= KL_ATOL)


# ---- numerical extremes (issue 5, item 3; moved from tests/test_extremes.py): tiny and zero probabilities, entropy
# ends, large N, chunked T. References are computed with mpmath at 50 digits where float64 could hide an error;
# tolerances are relative and stated beside each constant.
# A KL row is a sum of N terms each accurate to ~1e-16 relative: 1e-12 leaves
# room for N up to 1e4 and for the cancellation in log pi - log softmax.
KL_RTOL = 1e-12


# Where the KL is ~0 its terms cancel. log softmax F = F - logsumexp(F) is
# exact to an ulp of |F| + |logsumexp F| (the subtraction), log P to an ulp of
# |log P|, so the absolute error is a few eps times the row's scale
# sum_o P (|log P| + |F_o| + |logsumexp F|). 8 ulps of that scale.
KL_ULPS = 8 * np.finfo(float).eps


# Chunked and unchunked KL add the same per-row values in another order.
CHUNK_RTOL = 1e-13


def mp_kl_row(p_row, f_row, dps: int = 1000) -> float:
    """``sum_o p log(p / softmax(f)_o)`` with ``0 log 0 = 0``, at ``dps`` digits.

    1000 digits by default: ``log(1 + e^{-2000})`` (logit gaps up to 2000)
    needs ~870 digits before the small term is seen at all.
    """
    with mpmath.workdps(dps):
        f = [mpmath.mpf(float(x)) for x in f_row]
        m = max(f)
        lse = m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in f))
        return float(mpmath.fsum(mpmath.mpf(float(p)) * (mpmath.log(mpmath.mpf(float(p))) - (x - lse))
                                 for p, x in zip(p_row, f) if p > 0))


@st.composite
def extreme_rows(draw):
    """One row with probabilities spanning 5e-324 .. 1, exact zeros allowed, and logits up to 1e3."""
    N = draw(st.integers(2, 8))
    exps = draw(st.lists(st.sampled_from([0, -1, -5, -20, -100, -300, -323]), min_size=N - 1, max_size=N - 1))
    zeros = draw(st.lists(st.booleans(), min_size=N - 1, max_size=N - 1))
    small = np.array([0.0 if z else 10.0**e * 0.5 for e, z in zip(exps, zeros)])
    if small.sum() >= 1:
        small = small / (2 * small.sum())
    row = np.concatenate([[1.0 - small.sum()], small])
    assert (row >= 0).all() and abs(row.sum() - 1) <= 1e-15
    f = np.array(draw(st.lists(st.floats(-1e3, 1e3), min_size=N, max_size=N)))
    return row, f


@given(extreme_rows())
@example((np.array([1.0 - 1e-300, 1e-300]), np.array([0.0, 0.0])))
@example((np.array([1.0, 0.0, 5e-324]), np.array([0.0, 800.0, -800.0])))  # subnormal pi, softmax underflow
@example((np.array([0.5, 0.5]), np.array([700.0, -700.0])))
@example((np.array([0.5, 0.5]), np.array([1.0, 1.0])))  # KL = 0 exactly: found by the thorough profile
@example((np.array([1.0, 0.0]), np.array([0.0, -90.0])))  # KL = log1p(e^-90): a 50-digit reference was wrong
@example((np.array([1 - 5e-6, 5e-6]), np.array([9.0, 0.0])))  # 9 - logsumexp: cancels to 1.2e-4 (thorough profile)
def test_kl_row_matches_mpmath_down_to_subnormal_probabilities(case):
    row, f = case
    got = kl_rows(row[None], f[None])[0]
    ref = mp_kl_row(row, f)
    lse = f[0] - log_softmax(f[None])[0, 0]
    pos = row > 0
    scale = float(np.sum(row[pos] * (np.abs(np.log(row[pos])) + np.abs(f[pos]) + abs(lse))))
    assert math.isfinite(got)
    assert got == pytest.approx(ref, rel=KL_RTOL, abs=KL_ULPS * scale)


def test_kl_is_exactly_zero_at_log_pi_with_tiny_entries():
    P = np.array([[1e-300, 1 - 1e-300], [5e-324, 1.0], [0.0, 1.0]])
    F = np.log(np.where(P > 0, P, 1.0)) + np.array([[0.0], [3.0], [-7.0]])  # any per-row shift
    F[2, 0] = -50.0  # a zero-probability token gets any finite logit
    rows = kl_rows(P, F)
    assert np.all(np.abs(rows) <= 1e-15), rows


def test_naive_softmax_baseline_fails_where_kl_does_not():
    """Why the stable path exists: softmax underflows to 0 where pi > 0 and rel_entr gives inf."""
    from scipy.special import rel_entr

    P = np.array([[0.5, 0.5]])
    F = np.array([[0.0, -800.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = rel_entr(P, np.exp(F - np.log(np.exp(F).sum()))).sum()
    assert naive == np.inf
    assert kl(np.ones(1), P, F) == pytest.approx(0.5 * math.log(0.5) + 0.5 * (math.log(0.5) + 800), rel=KL_RTOL)


def test_logit_range_beyond_float64_is_a_named_error_not_inf():
    P = np.array([[0.5, 0.5]])
    with pytest.raises(ValueError, match="`F` row 0: the log-softmax overflows"):
        kl(np.ones(1), P, np.array([[1e308, -1e308]]))
    # where pi = 0 the overflowing entry does not enter the sum: a finite answer
    assert kl(np.ones(1), np.array([[1.0, 0.0]]), np.array([[1e308, -1e308]])) == 0.0
    assert log_softmax(np.array([[1e308, -1e308]])).tolist() == [[0.0, -np.inf]]


@pytest.mark.parametrize("N", [2, 3, 10, 1000, 10**4])
def test_entropy_at_zero_and_at_log_N(N):
    one_hot = np.zeros((1, N))
    one_hot[0, N // 2] = 1.0
    assert entropy(one_hot)[0] == 0.0
    assert entropy(np.full((1, N), 1.0 / N))[0] == pytest.approx(math.log(N), rel=1e-13)


def test_taylor_proxy_with_huge_logits_is_finite_and_exact():
    """Var/2 = 1e400 overflows float64; the proxy log(1 + Var/2) = 921.03... does not."""
    P = np.array([[0.5, 0.5]])
    got = taylor_proxy(np.ones(1), P, np.array([[1e200, -1e200]]))
    ref = float(mpmath.log(1 + mpmath.mpf(10) ** 400 / 2))  # fbar = +-1e200, Var = 1e400
    assert got == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("x, ref", [(710.0, math.inf), (1e300, math.inf), (-1e200, -math.inf)])
def test_exp3_beyond_float64_range_is_signed_inf_not_nan(x, ref):
    assert exp3(x) == ref




def test_kl_at_N_ten_thousand_matches_mpmath_on_a_row():
    task = big_vocab_task(10**4, 3, seed=1)
    F = np.random.default_rng(2).normal(size=(3, 10**4))
    got = kl_rows(task.cond, F)[1]
    assert got == pytest.approx(mp_kl_row(task.cond[1], F[1], dps=50), rel=KL_RTOL)  # gaps < 30: 50 digits


def test_chunked_kl_equals_unchunked_at_T_50000():
    rng = np.random.default_rng(0)
    T, N = 50_000, 12
    P = rng.dirichlet(np.full(N, 0.3), size=T)
    P[::7, 0] = 0.0  # exact zeros in some rows
    P /= P.sum(axis=1, keepdims=True)
    F = rng.normal(scale=4.0, size=(T, N))
    p = rng.dirichlet(np.ones(T))
    ref = kl(p, P, F)
    for chunk in (1_000, 4_099, auto_chunk(N), T, 10 * T):
        assert kl(p, P, F, chunk=chunk) == pytest.approx(ref, rel=CHUNK_RTOL)
    streamed = kl_stream(p, lambda lo, hi: P[lo:hi], lambda lo, hi: F[lo:hi], chunk=3_333)
    assert streamed == pytest.approx(ref, rel=CHUNK_RTOL)


def test_stream_reports_the_global_row_of_a_bad_block():
    T, N = 10_000, 4
    P = np.full((T, N), 0.25)
    P[7_777] = [0.5, 0.5, 0.5, -0.5]
    with pytest.raises(ValueError, match="`cond` has a negative entry .* row 7777"):
        kl_stream(np.full(T, 1.0 / T), P, np.zeros((T, N)), chunk=1_000)
    with pytest.raises(ValueError, match=r"`logits`\(2000, 3000\) must return shape \(1000, 4\)"):
        kl_stream(np.full(T, 1.0 / T), np.full((T, N), 0.25),
                  lambda lo, hi: np.zeros((hi - lo, N + (lo == 2000))), chunk=1_000)
