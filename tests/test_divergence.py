"""Divergences: KL >= 0, invariance to per-row constants, exact zeros, exp3."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strategies import any_tasks, full_support_tasks, seeds
from aotmem.theory.divergence import entropy, exp3, fbar, kl, kl_rows, taylor_proxy, taylor_remainder_bound

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
    from aotmem.theory.divergence import _log_softmax

    raw = float(np.sum(P * (np.log(P) - _log_softmax(F))))
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
