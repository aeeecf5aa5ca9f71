"""Every ``backend="cupy"`` branch, run without a GPU on :mod:`tests.fake_cupy` (NumPy underneath, CuPy's
no-implicit-host/device-mixing rule on top).

These tests catch logic errors in the device branches (shapes, a host array
passed where a device array must go, a lost branch) that the skipped GPU test
would only catch on a GPU. They compare with the NumPy backend at
``CUPY_AGREE_RTOL`` (issue 3's 1e-10); since the arithmetic is NumPy's in both,
agreement is expected to the last few ulp, and 1e-10 is the issue's criterion,
not a loosened one. CuPy's own numerics are checked only on a GPU: where ``cupy`` imports and
sees a device, every test here runs a second time on real CuPy (the
``cp`` fixture's ``"cupy"`` parameter), at the same 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests import fake_cupy
from aotmem.theory.aot import AoT
from aotmem.theory.backend import lu_solve_cond
from aotmem.theory.construct import NULL_LU_MAX, construct, head_features, draw_primed, svd_target
from aotmem.theory.aot import AoTShape
from aotmem.theory.generators import dirichlet_task
from aotmem.theory.task import all_sequences

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
