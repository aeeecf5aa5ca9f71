"""Low-rank fits: f_ls (Eckart-Young, each reading), draft.lemma-wls (projection, per-row optimality),
f_wls vs f_ls on the weighted objective, and the alternating weighted rank-d solver."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from strategies import full_support_tasks, seeds
from aotmem.theory.generators import association_task, dirichlet_task
from aotmem.theory.lowrank import (
    LS_READINGS,
    WLS_READINGS,
    LowRank,
    f_ls,
    f_wls,
    f_wls_alternating,
    weighted_residual,
    wls_encoder,
    wls_projection,
)
from aotmem.theory.spectra import centred_logits

# P^2 = P up to rounding: entries of P are O(cond(A)^(1/2)) for the tasks drawn
# here (cond(A) <= 1e12 is enforced), each product accumulates ~N eps of that.
PROJ_ATOL = 1e-7
# Weighted residuals are O(1) sums of T*N squares; two minimisers of the same
# convex row problem agree to ~cond * eps, cond <= 1e6 after the QR: 1e-9 relative.
RES_RTOL = 1e-9
# An exact fit leaves a residual of rounding size, (eps |L|)^2 per unit weight:
# below ~1e-20 * sum w pi L^2 "decrease" is noise, not a violation.
RES_FLOOR = 1e-20


def _floor(task, reading):
    w = task.prior if reading == "pi-prior" else np.ones(task.T)
    return RES_FLOOR * max(1.0, float(w @ np.sum(task.cond * np.log(task.cond) ** 2, axis=1)))


def _d(task, d):
    return max(1, min(d, task.N - 1))


def _or_refused(fn, *args, **kw):
    """``fn(*args, **kw)``, or ``None`` after the refusal its docstring documents (wls_encoder, wls_projection,
    f_wls, f_wls_alternating: an ill-conditioned draft.lemma-wls system, e.g. probabilities of 1e-20), whose
    message must name it."""
    try:
        return fn(*args, **kw)
    except ValueError as exc:
        assert "ill-conditioned" in str(exc), exc
        return None


@given(full_support_tasks(), st.integers(1, 4), st.sampled_from(LS_READINGS))
def test_f_ls_is_the_eckart_young_fit(task, d, reading):
    """seed.ls-bound: f_ls's residual on the centred L of its reading is sum_{j>d} sigma_j^2."""
    d = min(d, task.N)
    p, P = task.prior, task.cond
    lr = f_ls(p, P, d, reading)
    Lc = centred_logits(p, P, reading)
    Fw = lr.F * (np.sqrt(p)[:, None] if reading.endswith("-prior") else 1.0)
    s = np.linalg.svd(Lc, compute_uv=False)
    tail = float(np.sum(s[d:] ** 2))
    res = float(np.sum((Lc - Fw) ** 2))
    assert res == pytest.approx(tail, rel=1e-9, abs=1e-12 * max(1.0, float(np.sum(s**2))))
    assert np.allclose(lr.W.T @ lr.W, np.eye(d), atol=1e-12)


def test_f_ls_zero_prior_rows_are_projected():
    """-prior readings: rows with p(t) = 0 get the projection of their unweighted centred row on Im W."""
    t = dirichlet_task(4, 1, seed=2)
    p = np.array([0.5, 0.5, 0.0, 0.0])
    lr = f_ls(p, t.cond, 2, "uniform-prior")
    Lc = centred_logits(p, t.cond, "uniform")
    assert np.all(np.isfinite(lr.E))
    assert np.allclose(lr.E[2:], Lc[2:] @ lr.W, atol=1e-12)


def test_f_ls_validation():
    t = association_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="Assumption 2"):
        f_ls(t.prior, t.cond, 1)
    t = dirichlet_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="`reading`"):
        f_ls(t.prior, t.cond, 1, "nope")
    with pytest.raises(ValueError, match="`d`"):
        f_ls(t.prior, t.cond, 0)
    with pytest.raises(ValueError, match="`W` and `E`"):
        LowRank(np.ones((3, 2)), np.ones((4, 1)))


@given(full_support_tasks(), st.integers(1, 4), seeds)
@example(dirichlet_task(2, 1, seed=0), 1, 0)  # N = 2, d = N-1
def test_wls_projection_is_a_projection(task, d, seed):
    """draft.lemma-wls: P_t^2 = P_t, Im P_t = Im W_U, and W_U w_E(t) = P_t L_t."""
    d = _d(task, d)
    W = np.random.default_rng(seed).normal(size=(task.N, d))
    W -= W.mean(axis=0)  # keep 1 out of Im(W_U)
    E = _or_refused(wls_encoder, task.cond, W)
    if E is None:
        return
    for t in range(min(task.T, 5)):
        Pt = _or_refused(wls_projection, task.cond[t], W)  # its own conditioning test (cond(A_t) <= WLS_COND_MAX)
        if Pt is None:
            continue
        assert np.max(np.abs(Pt @ Pt - Pt)) <= PROJ_ATOL * max(1.0, np.max(np.abs(Pt)))
        assert np.allclose(Pt @ W, W, atol=PROJ_ATOL * max(1.0, np.max(np.abs(Pt))))
        assert np.allclose(W @ E[t], Pt @ np.log(task.cond[t]), atol=1e-6)


def test_wls_projection_error_scales_with_sqrt_of_the_conditioning():
    """Regression (thorough profile): cond(A_t) = 2.4e10 < WLS_COND_MAX; the normal equations' solve
    gave ||P^2 - P|| = 4.9e-7 (~cond(A_t) eps), the QR form gives ~sqrt(cond(A_t)) eps."""
    pi = np.array([1.88470868e-02, 9.81152913e-01, 4.68847418e-13])
    pi /= pi.sum()
    W = np.random.default_rng(0).normal(size=(3, 2))
    W -= W.mean(axis=0)
    Pt = wls_projection(pi, W)
    assert np.max(np.abs(Pt @ Pt - Pt)) <= 1e-10 and np.max(np.abs(Pt @ W - W)) <= 1e-10


@given(full_support_tasks(), st.integers(1, 4), seeds, st.sampled_from(WLS_READINGS))
def test_wls_encoder_minimises_each_row(task, d, seed, reading):
    """draft.lemma-wls: no perturbation of E lowers the weighted residual for the same W_U."""
    d = _d(task, d)
    p, P = task.prior, task.cond
    lr = _or_refused(f_wls, p, P, d)
    if lr is None:
        return
    r0 = weighted_residual(p, P, lr.F, reading)
    rng = np.random.default_rng(seed)
    for scale in (1e-3, 1e-1, 1.0):
        E = lr.E + scale * rng.normal(size=lr.E.shape)
        assert weighted_residual(p, P, E @ lr.W.T, reading) >= r0 * (1 - RES_RTOL) - _floor(task, reading)


@given(full_support_tasks(), st.integers(1, 4), st.sampled_from(WLS_READINGS))
def test_f_wls_beats_f_ls_on_weighted_objective(task, d, reading):
    """seed.wls-bound: for the same W_U, f_wls's weighted residual <= f_ls's (both row weightings)."""
    d = _d(task, d)
    p, P = task.prior, task.cond
    ls = f_ls(p, P, d, "uniform")
    w = _or_refused(f_wls, p, P, d, ls.W)
    if w is None:
        return
    assert np.array_equal(w.W, ls.W)
    assert weighted_residual(p, P, w.F, reading) <= weighted_residual(p, P, ls.F, reading) * (1 + RES_RTOL) + _floor(task, reading)


@given(full_support_tasks(max_n=5, max_t=25), st.integers(1, 3), st.sampled_from(WLS_READINGS))
def test_alternating_never_worse_than_closed_form(task, d, reading):
    """The true weighted rank-d problem (alternating regressions) is <= closed-form f_wls, monotonically."""
    d = _d(task, d)
    p, P = task.prior, task.cond
    fit = _or_refused(f_wls, p, P, d)
    alt = _or_refused(f_wls_alternating, p, P, d, iters=30, reading=reading) if fit is not None else None
    if alt is None:
        return
    closed = weighted_residual(p, P, fit.F, reading)
    lr, rep = alt
    h = np.array(rep.history)
    fl = _floor(task, reading)
    assert h[0] == pytest.approx(closed, rel=RES_RTOL, abs=fl)
    assert np.all(np.diff(h) <= RES_RTOL * h[:-1] + fl)
    assert weighted_residual(p, P, lr.F, reading) == pytest.approx(h[-1], rel=RES_RTOL, abs=fl)
    assert h[-1] <= closed * (1 + RES_RTOL) + fl


def test_alternating_strictly_improves_somewhere():
    """Not a no-op: on a Dirichlet task the alternating solution is strictly better than f_wls."""
    t = dirichlet_task(6, 2, alpha=0.5, seed=0)
    lr, rep = f_wls_alternating(t.prior, t.cond, 1, iters=50)
    assert rep.history[-1] < 0.9 * rep.history[0]


def test_wls_validation():
    t = dirichlet_task(3, 1, seed=0)
    ones = np.ones((3, 1))
    with pytest.raises(ValueError, match="1 lies in Im"):
        wls_encoder(t.cond, ones)
    with pytest.raises(ValueError, match="full column rank"):
        wls_encoder(t.cond, np.array([[1.0, 2.0], [-1.0, -2.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="`W_U`"):
        wls_encoder(t.cond, np.ones((4, 1)))
    a = association_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="Assumption 2"):
        wls_encoder(a.cond, np.array([[1.0], [-1.0], [0.0]]))
    # pi = (1/2, 1/2, 1e-30): on 1-perp, I_pi - pi pi^T has eigenvalues ~1/2 and ~1e-30: cond(A_t) ~ 1e30
    P = np.array([[0.5, 0.5, 1e-30], [0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="ill-conditioned"):
        wls_encoder(P, np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
    with pytest.raises(ValueError, match="`reading`"):
        weighted_residual(t.prior, t.cond, np.zeros((3, 3)), "nope")


def test_alternating_on_uniform_rows_is_an_exact_fit():
    """Regression (tests/test_fuzz_api.py, uniform rows): L_c = 0, E = 0; used to raise LinAlgError in the W-step."""
    lr, rep = f_wls_alternating(np.full(2, 0.5), np.full((2, 2), 0.5), 1)
    assert rep.converged and rep.iterations == 0 and rep.history == (0.0,)
    assert np.all(lr.F == 0)


def test_observation_f_wls_can_be_much_worse_in_kl():
    """Observation (no source claims the contrary outside draft.cor-permutation): the draft.lemma-wls encoder
    minimises the Taylor proxy, not dKL; far from the Taylor regime (Dirichlet alpha = 0.1) it can lose to f_ls
    with the same W_U by a large factor (measured: 1.585 vs 10.44; 87 of 116 such N=6, S=2 tasks)."""
    t = dirichlet_task(6, 2, alpha=0.1, seed=3)
    ls = f_ls(t.prior, t.cond, 3)
    w = f_wls(t.prior, t.cond, 3, ls.W)
    a, b = ls.divergence(t.prior, t.cond), w.divergence(t.prior, t.cond)
    assert b > 6 * a  # 10.44 vs 1.585
    assert weighted_residual(t.prior, t.cond, w.F) <= weighted_residual(t.prior, t.cond, ls.F)  # yet better on R


# ---------------------------------------------- defects found by tests/test_fuzz_api.py (issue 14, item 4)
@pytest.mark.parametrize("N", [3, 5, 6, 7])
def test_uniform_rows_fit_with_W_orthogonal_to_ones(N):
    """Was ValueError '`W_U` ... 1 lies in Im(W_U)' from f_wls / f_wls_alternating (no W_U given) at N = 6, 7:
    the mean of N equal logs does not round back to them, the centred L was a constant ~1e-16, and f_ls took
    its top singular vector, 1/sqrt(N), for W. sigma_1 within float64's rounding of the centring is rank 0."""
    P, p = np.full((N, N), 1.0 / N), np.full(N, 1.0 / N)
    for reading in LS_READINGS:
        W = f_ls(p, P, 2, reading).W
        assert np.allclose(W.T @ W, np.eye(2), atol=1e-15) and np.abs(W.sum(axis=0)).max() <= 1e-15, reading
    lr = f_wls(p, P, 2)
    assert lr.divergence(p, P) <= 1e-15  # uniform rows: every fit is exact
    # the exact start's objective is rounding (~1e-32, not 0): it stops there (was a sweep on an encoder of
    # noise, refused as an ill-conditioned W-step at d = 2, '1 lies in Im(W_U)' at d = 1, N = 6, T = 36)
    for d in (1, 2):
        for reading in WLS_READINGS:
            alt, rep = f_wls_alternating(p, P, d, reading=reading)
            assert rep.converged and rep.iterations == 0 and alt.divergence(p, P) <= 1e-15
    alt, rep = f_wls_alternating(np.full(N * N, 1.0 / N**2), np.full((N * N, N), 1.0 / N), 1)
    assert rep.converged and rep.iterations == 0
