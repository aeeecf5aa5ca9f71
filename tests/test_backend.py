"""aotmem.theory.backend: the condition-number estimators behind every linear solve of the constructor, and every
``backend="cupy"`` branch (of the backend, the AoT's forward pass and the constructor), run without a GPU on
:mod:`tests.fake_cupy`.

The ``backend="cupy"`` tests (the ``cp`` fixture) run on :mod:`tests.fake_cupy` (NumPy underneath, CuPy's
no-implicit-host/device-mixing rule on top). They catch logic errors in the device branches (shapes, a host
array passed where a device array must go, a lost branch) that the skipped GPU test would only catch on a
GPU. They compare with the NumPy backend at ``CUPY_AGREE_RTOL`` (issue 3's 1e-10); since the arithmetic is
NumPy's in both, agreement is expected to the last few ulp, and 1e-10 is the issue's criterion, not a
loosened one. CuPy's own numerics are checked only on a GPU: where ``cupy`` imports and sees a device, every
such test runs a second time on real CuPy (the ``cp`` fixture's ``"cupy"`` parameter), at the same 1e-10
(``bash benchmarks/gpu_run.sh``).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, strategies as st

from aotmem.theory.aot import AoT, AoTShape
from aotmem.theory.backend import cond_from_lu, lacn2_cond1, lu_solve_cond
from aotmem.theory.construct import NULL_LU_MAX, construct, draw_primed, head_features, svd_target
from aotmem.theory.generators import dirichlet_task
from aotmem.theory.task import all_sequences
from tests import fake_cupy

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


# ------------------------------------------------- backend="cupy" on tests/fake_cupy.py
CUPY_AGREE_RTOL = 1e-10  # issue 3: the CuPy path must agree with NumPy to 1e-10


@pytest.fixture(params=["fake", "cupy"])
def cp(request, monkeypatch):
    if request.param == "fake":
        return fake_cupy.install(monkeypatch)
    real = fake_cupy.real_cupy()
    if real is None:
        pytest.skip("cupy with a GPU is not available")
    return real  # pragma: no cover - needs a GPU


def test_the_fake_forbids_silent_host_device_mixing(cp):
    # Real CuPy raises TypeError here too: the fake copies the rule, the real run checks the copy.
    a = cp.asarray(np.ones(3))
    with pytest.raises(TypeError):
        a + np.ones(3)
    assert isinstance(a + 1.0, cp.ndarray) and type(a.get()) is np.ndarray


def test_forward_pass_agrees(cp):
    rng = np.random.default_rng(0)
    N, S, d, H, d_h = 5, 3, 4, 3, 2
    m = AoT(rng.standard_normal((N, d)), rng.standard_normal((S, d)), rng.standard_normal((H, d, d)),
            rng.standard_normal((H, d_h, d)), rng.standard_normal((H, d, d_h)), rng.standard_normal((N, d)))
    seqs = all_sequences(N, S)
    a, b = m.logits(seqs), m.logits(seqs, backend="cupy", chunk=7)
    assert type(b) is np.ndarray
    np.testing.assert_allclose(b, a, rtol=CUPY_AGREE_RTOL, atol=CUPY_AGREE_RTOL * np.abs(a).max())


def test_features_and_lu_agree(cp):
    t = dirichlet_task(4, 2, seed=0)
    pr = draw_primed(AoTShape(N=4, S=2, d=3, H=5, d_h=3), seed=1)
    Mn, Mc = head_features(pr, t.seqs), head_features(pr, t.seqs, backend="cupy")
    assert isinstance(Mc, cp.ndarray)
    np.testing.assert_allclose(Mc.get(), Mn, rtol=CUPY_AGREE_RTOL, atol=0)
    A = np.random.default_rng(2).standard_normal((6, 6))
    B = np.ones((6, 2))
    Xn, cn = lu_solve_cond(A, B, trans=True)
    Xc, cc = lu_solve_cond(cp.asarray(A), cp.asarray(B), trans=True)
    np.testing.assert_allclose(Xc.get(), Xn, rtol=CUPY_AGREE_RTOL, atol=0)
    assert cc == pytest.approx(cn, rel=1e-12)


@pytest.mark.parametrize("variant,heads,solve", [
    ("paper", None, "min-norm"),        # square system: one LU
    ("fixed-skip", None, "min-norm"),   # a few surplus rows: pivot rows chosen on the host, LU on the device
    ("fixed-skip", 30, "min-norm"),     # more than NULL_LU_MAX surplus rows: QR on the device
    ("fixed-skip", 9, "square"),        # surplus rows dropped
])
def test_constructor_agrees(cp, variant, heads, solve):
    t = dirichlet_task(5, 2, seed=0)
    tg = svd_target(t, 4)
    a = construct(t, tg, 4, 4, 0.0, variant=variant, heads=heads, solve=solve)
    b = construct(t, tg, 4, 4, 0.0, variant=variant, heads=heads, solve=solve, backend="cupy")
    if heads == 30:
        assert 30 * 4 - t.T > NULL_LU_MAX and b.report.solve == "qr-min-norm"
    assert b.report.solve == a.report.solve
    for key in ("embed", "pos", "W_QK", "W_V", "W_O", "W_U"):
        x, y = getattr(a.model, key), getattr(b.model, key)
        assert type(y) is np.ndarray
        np.testing.assert_allclose(y, x, rtol=CUPY_AGREE_RTOL, atol=CUPY_AGREE_RTOL * max(1.0, np.abs(x).max()))
    assert b.report.max_rel_logit_error <= 1e-9


@pytest.mark.parametrize("N,S,d,d_h,eps", [
    (3, 3, 5, 5, 0.0),   # d >= N: target of rank 2 < d, skip rows dependent, pivoted minimum-norm solve
    (4, 2, 2, 5, 0.0),   # d_h > d: features are A'^h itself, W_O^h = W~_O^h W'_V^{hT}
    (4, 3, 3, 3, 0.2),   # eps > 0: M_1 kept, refinement reads its columns on the device
])
def test_constructor_agrees_on_every_d(cp, N, S, d, d_h, eps):
    t = dirichlet_task(N, S, seed=1)
    tg = svd_target(t, d)
    a = construct(t, tg, d, d_h, eps)
    b = construct(t, tg, d, d_h, eps, backend="cupy")
    assert (b.report.solve, b.report.H, b.report.target_rank) == (a.report.solve, a.report.H, a.report.target_rank)
    Fa, Fb = a.model.logits(t.seqs), b.model.logits(t.seqs)
    np.testing.assert_allclose(Fb, Fa, rtol=CUPY_AGREE_RTOL, atol=CUPY_AGREE_RTOL * np.abs(Fa).max())
    assert b.report.accurate and b.report.max_rel_logit_error <= 1e-9


def test_extended_residual_and_lu_factors_agree(cp):
    from aotmem.theory.backend import lu_factor_cond, residual_extended

    rng = np.random.default_rng(5)
    X, M = rng.standard_normal((3, 50)) * 1e3, rng.standard_normal((50, 7))
    B = X @ M
    rn, rc = residual_extended(B, X, M), residual_extended(cp.asarray(B), cp.asarray(X), cp.asarray(M))
    assert isinstance(rc, cp.ndarray)
    np.testing.assert_allclose(rc.get(), rn, rtol=0, atol=1e-3 * float(np.abs(rn).max()) + 1e-300)
    A = rng.standard_normal((6, 6))
    fn, fc = lu_factor_cond(A), lu_factor_cond(cp.asarray(A))
    np.testing.assert_allclose(fc.solve(cp.asarray(B[:, :6].T), trans=True).get(), fn.solve(B[:, :6].T, trans=True),
                               rtol=CUPY_AGREE_RTOL, atol=0)
    assert fc.cond == pytest.approx(fn.cond, rel=1e-12)
