"""Symbolic derivations (theory.symbolic) run as tests, with numeric cross-checks against the float code."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from strategies import full_support_tasks, seeds
from aotmem.theory import symbolic as SY
from aotmem.theory.divergence import exp3, fbar, kl_rows, log_softmax
from aotmem.theory.lookup import lookup_lambda_bound, lookup_lambda_lower_bound, lookup_psi


# ------------------------------------------------- (a) draft.lemma-taylor identity

@pytest.mark.parametrize("N", [2, 3])  # N=4 also simplifies to 0 but takes ~60 s
def test_kl_identity_is_exact_symbolically(N):
    assert sp.simplify(SY.kl_identity_residual(N)) == 0


@pytest.mark.parametrize("N", [2, 3, 4])
def test_taylor_split_is_exact_symbolically(N):
    assert sp.simplify(SY.taylor_residual(N)) == 0


@given(full_support_tasks(max_n=5, max_t=25), seeds)
def test_kl_identity_numerically(task, seed):
    """KL(pi_t || softmax f) = log E_{pi_t} e^{fbar_t} on float data (the code's kl_rows vs the identity)."""
    F = np.random.default_rng(seed).normal(scale=2.0, size=(task.T, task.N))
    fb = fbar(task.cond, F)
    rhs = np.log(np.sum(task.cond * np.exp(fb), axis=1))
    # both sides O(|F|) sums of N terms: agreement to ~1e-13 relative
    assert np.allclose(kl_rows(task.cond, F), rhs, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------- (b) exp3

def test_exp3_series_starts_at_x3_over_6_with_positive_coefficients():
    c = SY.exp3_series_coefficients(12)
    assert c[:3] == [0, 0, 0] and c[3] == sp.Rational(1, 6)
    assert all(ck == sp.Rational(1, math.factorial(k)) for k, ck in enumerate(c) if k >= 3)


def test_exp3_nonnegative_on_positive_axis():
    e0, d1, d2, d3 = SY.exp3_derivatives_at_0()
    assert (e0, d1, d2) == (0, 0, 0)
    assert d3 == sp.exp(SY.x)  # > 0, so exp3'' >= 0, exp3' >= 0, exp3 >= 0 on x >= 0


@given(st.floats(-30, 30))
def test_abs_exp3_at_most_exp3_of_abs(v):
    """|exp3(x)| <= exp3(|x|) (positive series coefficients), used for the lemma's remainder."""
    assert abs(float(exp3(v))) <= float(exp3(abs(v))) * (1 + 1e-12) + 1e-300


def test_log_is_1_lipschitz_above_1():
    dlog, sup = SY.log_lipschitz_derivative()
    assert sup == 1


@given(full_support_tasks(max_n=5, max_t=25), seeds)
def test_lemma_taylor_chain_numerically(task, seed):
    """E e^{fbar} >= 1 and |KL_t - log(1 + Var/2)| <= exp3(||fbar_t||) row by row."""
    F = np.random.default_rng(seed).normal(scale=1.0, size=(task.T, task.N))
    P = task.cond
    fb = fbar(P, F)
    Eexp = np.sum(P * np.exp(fb), axis=1)
    assert np.all(Eexp >= 1 - 1e-12)  # Jensen with E fbar = 0
    var = np.sum(P * fb**2, axis=1)
    gap = np.abs(kl_rows(P, F) - np.log1p(var / 2))
    assert np.all(gap <= exp3(np.linalg.norm(fb, axis=1)) * (1 + 1e-9) + 1e-13)


# ------------------------------------------------------------- (c) D.6

@pytest.mark.parametrize("sign", [-1, 1])
def test_lambda_bounds_solve_the_extreme_equations(sign):
    lam = SY.lambda_bound_solution(sign)
    N, h, C = sp.symbols("N h C", positive=True)
    assert sp.simplify(lam - sp.log((N - 1) / (sp.exp(h) - 1)) / (1 + 2 * sign * C)) == 0
    fn = lookup_lambda_bound if sign == -1 else lookup_lambda_lower_bound
    for n, hv, cv in ((3, 0.4, 0.1), (8, 1.5, 0.3), (50, 0.01, 0.45)):
        val = float(lam.subs({N: n, h: hv, C: cv}))
        assert fn(hv, n, cv) == pytest.approx(val, rel=1e-12)


@pytest.mark.parametrize("N", [2, 3, 4])
def test_lookup_kl_identity_is_exact(N):
    assert sp.simplify(SY.lookup_kl_identity_residual(N)) == 0


def test_psi_is_convex_so_the_simplified_theorem2_needs_more_than_jensen():
    h = sp.Symbol("h", positive=True)
    d2 = SY.psi_second_derivative()
    assert sp.simplify((d2 - sp.exp(h) / (sp.exp(h) - 1) ** 2).rewrite(sp.exp)) == 0
    # numeric: midpoint convexity of the float psi on a grid
    hs = np.linspace(0.05, math.log(7), 40)
    v = lookup_psi(hs, 7)
    assert np.all(v[1:-1] <= (v[:-2] + v[2:]) / 2 + 1e-14)


def test_phi_is_concave_so_the_corrected_simplified_form_follows():
    q = sp.Symbol("q", positive=True)
    assert sp.simplify(SY.phi_second_derivative() + 1 / (q * (1 - q) ** 2)) == 0


# ------------------------------------------- a proof step of draft.theorem-ls

# FINDING (draft.theorem-ls, proof step): the exp3 term exp3(sqrt(C_t) sigma_{d+1}),
# C_t = 1 + N ||pi_t||_inf / sqrt 2, reads as the lemma-taylor remainder with
# ||fbar_t||_2 <= sqrt(C_t) sigma_{d+1}. That step FAILS for f_ls (uniform reading):
# smallest case found, T=3, N=5, d=1, uniform prior, row 1: ratio 1.0117.
# (The theorem itself holds there: its bound is ~1e6.) What is true, for the
# uniform-centred f_ls (residual rows R_t orthogonal to 1, m = pi_t . R_t):
# ||fbar_t||^2 = ||R_t||^2 + N m^2 <= N ||pi_t||_inf sigma_{d+1}^2.
STEP_LOGITS = np.array([[0.12, 0.16, 2.5, 1.22, -0.53],
                        [-1.81, 6.87, -0.26, -0.05, 0.62],
                        [10.94, 4.88, 0.3, -0.78, -7.62]])


def _fbar_ratio(P, p, d, lowrank):
    from aotmem.theory.bounds import sigma_d1
    s = sigma_d1(p, P, d)
    fb = fbar(P, lowrank.f_ls(p, P, d).F)
    n = np.linalg.norm(fb, axis=1)
    N = P.shape[1]
    Ct = 1 + N * P.max(axis=1) / math.sqrt(2)
    return n / (np.sqrt(Ct) * s), n**2 / (N * P.max(axis=1) * s**2)


def test_finding_draft_ls_fbar_step_fails():
    import aotmem.theory.lowrank as lowrank
    P = np.exp(log_softmax(STEP_LOGITS))
    P /= P.sum(axis=1, keepdims=True)
    r_draft, r_true = _fbar_ratio(P, np.full(3, 1 / 3), 1, lowrank)
    assert r_draft[1] > 1.01  # measured 1.0117: ||fbar_t|| > sqrt(C_t) sigma_{d+1}
    assert np.all(r_true <= 1 + 1e-9)


@given(full_support_tasks(max_n=7, max_t=49).filter(lambda t: t.N >= 3), st.data())
def test_draft_ls_fbar_step_corrected(task, data):
    """draft.theorem-ls+step: ||fbar_t||_2^2 <= N ||pi_t||_inf sigma_{d+1}^2 for f_ls (uniform reading)."""
    import aotmem.theory.lowrank as lowrank
    d = data.draw(st.integers(1, task.N - 2))
    from aotmem.theory.bounds import sigma_d1
    assume(sigma_d1(task.prior, task.cond, d) >= 1e-8)  # below, the ratio is rounding over rounding
    _, r_true = _fbar_ratio(task.cond, task.prior, d, lowrank)
    assert np.all(r_true <= 1 + 1e-9)
