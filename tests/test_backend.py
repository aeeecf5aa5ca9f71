"""aotmem.theory.backend: the condition-number estimators behind every linear solve of the constructor."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, strategies as st

from aotmem.theory.backend import cond_from_lu, lacn2_cond1

# Same algorithm (Higham's dlacn2) on the same factors; only the triangular solves differ
# (dtrsv here, gecon's overflow-guarding dlatrs there). Measured on 280 random matrices of
# n <= 200 with column scales over e^{+-9}: worst relative difference 4.9e-16.
GECON_AGREE_RTOL = 1e-12
LOWER_BOUND_RTOL = 1e-12  # an estimate is ||A^{-1} v||_1 for some ||v||_1 = 1: never above kappa_1, up to rounding


def _matrix(n: int, seed: int, spread: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)) * np.exp(spread * rng.standard_normal((1, n)))


def _anorm(A, norm):
    return float(np.abs(A).sum(axis=0 if norm == "1" else 1).max())


@pytest.mark.parametrize("norm", ["1", "I"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 40, 150])
def test_lacn2_agrees_with_lapack_gecon(n, norm):
    for seed in range(5):
        A = _matrix(n, seed, 2.0)
        lu, _ = scipy.linalg.lu_factor(A)
        ref = cond_from_lu(lu, _anorm(A, norm), norm)
        assert lacn2_cond1(lu, _anorm(A, norm), norm) == pytest.approx(ref, rel=GECON_AGREE_RTOL)


@given(n=st.integers(1, 30), seed=st.integers(0, 2**32 - 1), spread=st.floats(0.0, 3.0),
       norm=st.sampled_from(["1", "I"]))
def test_lacn2_is_a_positive_lower_bound_on_the_exact_condition_number(n, seed, spread, norm):
    A = _matrix(n, seed, spread)
    lu, _ = scipy.linalg.lu_factor(A)
    exact = _anorm(A, norm) * _anorm(np.linalg.inv(A), norm)
    est = lacn2_cond1(lu, _anorm(A, norm), norm)
    # Only the lower bound is a theorem (every estimate is ||A^{-1} v||_1 / ||v||_1 for some v);
    # how far below kappa_1 an estimate can fall is not bounded, so it is not asserted.
    assert est <= exact * (1 + LOWER_BOUND_RTOL)
    assert est > 0


def test_an_exact_zero_pivot_gives_inf():
    A = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.warns(scipy.linalg.LinAlgWarning):  # scipy reports the exactly singular factor
        lu, _ = scipy.linalg.lu_factor(A, check_finite=False)
    assert cond_from_lu(lu, 6.0) == float("inf")


@given(K=st.integers(1, 3000), b=st.integers(1, 40), seed=st.integers(0, 2**32 - 1), spread=st.floats(0.0, 6.0))
def test_residual_extended_is_accurate_beyond_float64(K, b, seed, spread):
    """B - X M with the product split so that the high parts multiply exactly: its error is about u |B|
    (the last subtraction), where the plain float64 residual errs by up to u K |X| |M|. Reference: long double
    (64-bit mantissa on x86; the bound below is 2^-11 of the plain one, which long double resolves)."""
    from aotmem.theory.backend import residual_extended

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, K)) * np.exp(spread * rng.standard_normal(K))
    M = rng.standard_normal((K, b))
    B = X @ M + rng.standard_normal((3, b)) * 1e-6
    ld = np.longdouble
    if np.finfo(ld).eps >= np.finfo(np.float64).eps:
        pytest.skip("long double is float64 here: no reference")
    ref = B.astype(ld) - X.astype(ld) @ M.astype(ld)
    err = float(np.abs(residual_extended(B, X, M) - ref).max())
    u = np.finfo(np.float64).eps / 2
    scale = float((np.abs(X) @ np.abs(M)).max())
    # first the exact high product, then u |B - X_hi M_hi| and u 2^-bits K |X||M| for the rest
    assert err <= 4 * u * float(np.abs(B).max()) + 2.0**-11 * K * u * scale


def test_lu_factors_solve_both_ways_and_agree_with_lu_solve_cond():
    from aotmem.theory.backend import lu_factor_cond, lu_solve_cond

    A = _matrix(7, 3, 1.0)
    B = np.arange(14.0).reshape(7, 2)
    for order in ("C", "F"):  # a C-ordered A is factored through its transposed view
        f = lu_factor_cond(np.asarray(A, order=order))
        np.testing.assert_allclose(A @ f.solve(B), B, rtol=0, atol=1e-12 * np.abs(B).max() * f.cond)
        np.testing.assert_allclose(A.T @ f.solve(B, trans=True), B, rtol=0, atol=1e-12 * np.abs(B).max() * f.cond)
        X, c = lu_solve_cond(np.asarray(A, order=order), B, trans=True)
        assert np.array_equal(X, f.solve(B, trans=True)) and c == f.cond
