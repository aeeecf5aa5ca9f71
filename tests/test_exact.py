"""Exact encoders: paper.prop2 (and its certified hard instance), seed.zero-divergence readings,
paper.prop3 (rate of the circle family), draft.cor-permutation closed forms vs numeric solutions."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from strategies import association_tasks, full_support_tasks, permutation_tasks, seeds
from aotmem.theory.divergence import kl
from aotmem.theory.exact import (
    PROP2_ATOL,
    RANK_RTOL,
    centred_rank,
    permutation_closed_forms,
    prop2_encoder,
    prop2_hard_instance,
    prop3_divergence_rate,
    prop3_family,
    rank_lower_bound,
    zero_divergence_reachable,
)
from aotmem.theory.generators import almost_rank_task, association_task, dirichlet_task, permutation_of, permutation_task
from aotmem.theory.lowrank import f_ls
from aotmem.theory.task import Task

EPS = np.finfo(float).eps
# Logits are compared after row centring; closed form and solver differ by a few
# rounding steps of O(|L|) (<= ~40 here) quantities: 1e-9 absolute is ~1e5 ulp.
LOGIT_ATOL = 1e-9
# Closed-form and numeric divergences are O(1) sums of T*N rounded terms.
DIV_ATOL = 1e-11


# --------------------------------------------------------------------------- paper.prop2


@given(full_support_tasks())
@example(dirichlet_task(2, 1, seed=0))  # N = 2: d = N-1 = 1
def test_prop2_reaches_zero(task):
    """paper.prop2 / seed.zero-divergence: d = N-1 gives divergence 0 (to 1e-12)."""
    lr = prop2_encoder(task.prior, task.cond)
    assert lr.d == task.N - 1
    assert np.linalg.matrix_rank(lr.F) <= task.N - 1
    assert abs(lr.divergence(task.prior, task.cond)) <= PROP2_ATOL


def test_prop2_rejects_zeros():
    task = association_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="Assumption 2"):
        prop2_encoder(task.prior, task.cond)


@pytest.mark.parametrize("N,d", [(3, 1), (4, 1), (4, 2), (5, 3)])
def test_hard_instance_bound_is_positive_and_matches_numeric_certificate(N, d):
    """paper.prop2 (d < N-1): closed-form certificate > 0, equal to the general bisection certificate."""
    hi = prop2_hard_instance(N, d)
    assert hi.lower_bound > 0
    num = rank_lower_bound(hi.task.prior, hi.task.cond, d)
    assert num == pytest.approx(hi.lower_bound, rel=1e-9)  # 60 bisection halvings + SVD rounding
    assert rank_lower_bound(hi.task.prior, hi.task.cond, N - 1) == 0.0  # d = N-1: no certificate, value is 0


@settings(max_examples=15)
@given(st.sampled_from([(3, 1), (4, 1), (4, 2), (5, 2)]), seeds)
def test_no_rank_d_encoder_beats_the_certificate(Nd, seed):
    """Random and least-squares rank-d encoders all have divergence >= the certified lower bound."""
    N, d = Nd
    hi = prop2_hard_instance(N, d)
    t = hi.task
    rng = np.random.default_rng(seed)
    F = rng.normal(scale=3.0, size=(N, d)) @ rng.normal(size=(d, N))
    assert kl(t.prior, t.cond, F) >= hi.lower_bound
    for r in ("uniform", "pi"):
        assert f_ls(t.prior, t.cond, d, r).divergence(t.prior, t.cond) >= hi.lower_bound


@given(full_support_tasks(max_n=5, max_t=25), st.integers(1, 3), seeds)
def test_rank_lower_bound_is_a_lower_bound(task, d, seed):
    d = min(d, task.N - 1)
    lb = rank_lower_bound(task.prior, task.cond, d)
    assert lb >= 0
    rng = np.random.default_rng(seed)
    for F in (f_ls(task.prior, task.cond, d).F,
              rng.normal(size=(task.T, d)) @ rng.normal(size=(d, task.N))):
        assert kl(task.prior, task.cond, F) >= lb - DIV_ATOL  # lb = 0 at d = N-1, where kl rounds to -1e-16


# --------------------------------------------------------------------------- seed.zero-divergence


@given(st.integers(4, 6), st.integers(1, 2), seeds)
def test_zero_divergence_iff_rank_uniform_prior_reading(N, S, seed):
    """seed.zero-divergence, reading uniform-prior: reachable at d iff centred rank <= d (ground truth both ways)."""
    d = 2
    task = almost_rank_task(N, S, d=d, sigma=0.0, seed=seed)  # rank(L_c) = d exactly
    p, P = task.prior, task.cond
    assert centred_rank(p, P, "uniform-prior") == d
    assert zero_divergence_reachable(p, P, d)
    assert f_ls(p, P, d, "uniform-prior").divergence(p, P) <= PROP2_ATOL  # "if": constructed
    assert not zero_divergence_reachable(p, P, d - 1)
    assert rank_lower_bound(p, P, d - 1) > 0  # "only if": certified positive


def _two_row_task(rows, prior):
    P = np.exp(np.asarray(rows, dtype=float))
    P /= P.sum(axis=1, keepdims=True)
    return Task(np.asarray(prior, dtype=float), P, seqs=np.arange(len(rows))[:, None])


def test_finding_zero_divergence_pi_reading_only_if_fails():
    """seed.zero-divergence+reading-pi (FINDING): with pi-centring, rank can be rank(L_c) + 1.

    L_c = u v^T (rank 1), v = (1, -1, 0): dKL = 0 is reached at d = 1, yet L - (pi.L) 1^T has rank 2.
    """
    v = np.array([1.0, -1.0, 0.0])
    task = _two_row_task([1.0 * v, 2.0 * v], [0.5, 0.5])
    p, P = task.prior, task.cond
    assert f_ls(p, P, 1, "uniform").divergence(p, P) <= PROP2_ATOL  # truth: reachable at d = 1
    assert zero_divergence_reachable(p, P, 1, reading="uniform")
    assert centred_rank(p, P, "pi") == 2
    assert not zero_divergence_reachable(p, P, 1, reading="pi")  # the pi reading says "not reachable": wrong


def test_finding_zero_divergence_uniform_reading_with_zero_prior_row():
    """seed.zero-divergence+reading-uniform (FINDING): a p(t) = 0 row counts in rank(L_c) but not in dKL."""
    task = _two_row_task([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], [1.0, 0.0])
    p, P = task.prior, task.cond
    assert f_ls(p, P, 1, "uniform-prior").divergence(p, P) <= PROP2_ATOL  # truth: reachable at d = 1
    assert zero_divergence_reachable(p, P, 1, reading="uniform-prior")
    assert not zero_divergence_reachable(p, P, 1, reading="uniform")


def test_zero_divergence_validation():
    task = association_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="Assumption 2"):
        zero_divergence_reachable(task.prior, task.cond, 1)
    t = dirichlet_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="`reading`"):
        zero_divergence_reachable(t.prior, t.cond, 1, reading="nope")
    with pytest.raises(ValueError, match="`rtol`"):
        zero_divergence_reachable(t.prior, t.cond, 1, rtol=-1.0)
    with pytest.raises(ValueError, match="`d`"):
        zero_divergence_reachable(t.prior, t.cond, 0)
    with pytest.raises(ValueError, match="`d`"):
        prop2_hard_instance(3, 0)
    assert RANK_RTOL > 0


# --------------------------------------------------------------------------- paper.prop3


@given(association_tasks(), st.integers(2, 4))
@example(association_task(2, 2, seed=0), 2)  # N = 2: a single neighbour
def test_prop3_rate(task, d):
    """paper.prop3: measured divergence = closed form log(1 + sum_k e^{-s gamma_k}) <= (N-1) e^{-s gamma_1} -> 0."""
    scales = np.array([0.0, 0.5, 2.0, 8.0, 20.0])
    r = prop3_divergence_rate(task, d, scales)
    # kl() computes lse(F) - F_g with |F| <= s: absolute rounding <= ~4 eps (1 + s) per row.
    atol = 8 * EPS * (1.0 + scales)
    assert np.all(np.abs(r["measured"] - r["exact"]) <= atol + 1e-13 * r["exact"])
    assert np.all(r["exact"] <= r["upper"] * (1 + 1e-12))
    assert np.all(np.diff(r["exact"]) < 0) and r["exact"][-1] < 2 * (task.N - 1) * np.exp(-20 * r["gamma1"])
    assert r["exact"][0] == pytest.approx(np.log(task.N), rel=1e-12)  # s = 0: uniform prediction


def test_prop3_asymptotic_constant():
    """dKL(s) / (2 e^{-s gamma_1}) -> 1 (N >= 3): the next term is e^{-s (gamma_2 - gamma_1)} smaller."""
    task = association_task(6, 1, seed=1)
    r = prop3_divergence_rate(task, 2, np.array([10.0, 20.0, 30.0]))
    ratio = r["exact"] / r["asymptotic"]
    assert np.all(np.diff(np.abs(ratio - 1)) < 0) and abs(ratio[-1] - 1) < 1e-6


def test_prop3_validation():
    t = dirichlet_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="Assumption 1"):
        prop3_family(t, 2, 1.0)
    a = association_task(3, 1, seed=0)
    with pytest.raises(ValueError, match="`d`"):
        prop3_family(a, 1, 1.0)
    with pytest.raises(ValueError, match="`scale`"):
        prop3_family(a, 2, -1.0)


# --------------------------------------------------------------------------- draft.cor-permutation


def _forms(task, d):
    return permutation_closed_forms(task.prior, task.cond, d, permutation_of(task))


@given(permutation_tasks())
@example((permutation_task(3, 1, d=1, scale=0.3, seed=1), 1))
def test_permutation_wls_closed_form_conditional_reading(td):
    """draft.cor-permutation+conditional-H: with H(pi_t, S) the negative entropy of pi_t conditioned on S,
    f_wls's logits and divergence formulas equal the numeric draft.lemma-wls solution for W_U = e_{S_d}."""
    task, d = td
    out = _forms(task, d)
    m = out["mismatch"]["wls[conditional] vs wls[W=e_Sd]"]
    assert m["logits"] <= LOGIT_ATOL and m["divergence"] <= DIV_ATOL
    fc = out["formulas"]["wls[conditional]"]
    assert abs(fc["divergence"] - fc["kl_of_logits"]) <= DIV_ATOL


def test_finding_permutation_mean_log_reading():
    """draft.cor-permutation, reading mean-log (docs/theory.md's gloss of H(pi_t, S)) (FINDING):
    the f_wls divergence formula is NEGATIVE and its logits are not the WLS solution."""
    out = _forms(permutation_task(3, 1, d=1, scale=0.3, seed=1), 1)
    f = out["formulas"]["wls[mean-log]"]
    assert f["divergence"] < -0.2  # -0.2232: a KL divergence cannot be negative
    assert out["mismatch"]["wls[mean-log] vs wls[W=e_Sd]"]["logits"] > 0.1


def test_finding_permutation_ls_formula():
    """draft.cor-permutation, f_ls (FINDING): E_t log(pi(S_d) + (N-d) e^{H(pi_t)}) can be negative, is not the KL
    of the stated f_ls logits, and those logits match no numeric f_ls reading."""
    out = _forms(permutation_task(3, 1, d=1, scale=0.3, seed=1), 1)
    ls = out["formulas"]["ls"]
    assert ls["divergence"] < -0.04  # -0.0500
    assert ls["kl_of_logits"] - ls["divergence"] > 0.04  # 0.00086 vs -0.0500
    for r in ("uniform", "uniform-prior", "pi", "pi-prior"):
        assert out["mismatch"][f"ls vs ls[{r}]"]["logits"] > 1e-3


@given(permutation_tasks())
def test_permutation_ls_corrected_formula(td):
    """draft.cor-permutation+ls-corrected: the KL of the f_ls logits (log pi on S_d, H(pi_t) off) is
    E_t[log(pi(S_d) + (N-d) e^{H}) + sum_{o not in S_d} pi(o|t)(log pi(o|t) - H(pi_t))]."""
    task, d = td
    out = _forms(task, d)
    P, p = task.cond, task.prior
    L = np.log(P)
    Sc = np.setdiff1d(np.arange(task.N), out["S_d"])
    H = np.sum(P * L, axis=1)
    corr = p @ np.sum(P[:, Sc] * (L[:, Sc] - H[:, None]), axis=1)
    assert out["formulas"]["ls"]["kl_of_logits"] == pytest.approx(out["formulas"]["ls"]["divergence"] + corr, abs=DIV_ATOL)


def test_finding_permutation_wls_not_always_better():
    """draft.cor-permutation "f_wls is strictly better" (FINDING): fails for the formulas and for the
    KL of the closed-form logits (N=5, S=1, d=1, seed=2: 0.065616 vs 0.065478)."""
    out = _forms(permutation_task(3, 1, d=1, scale=0.3, seed=1), 1)
    assert not out["wls_strictly_better"]["formula[conditional]"]  # 3.14e-4 vs -5.0e-2
    out = _forms(permutation_task(5, 1, d=1, scale=1.0, seed=2), 1)
    f = out["formulas"]
    assert f["wls[conditional]"]["kl_of_logits"] > f["ls"]["kl_of_logits"]
    assert not out["wls_strictly_better"]["formula-logits[conditional]"]


@given(permutation_tasks())
def test_permutation_optimal_offset_bounds_both(td):
    """draft.cor-permutation+optimal-offset: among logits (log pi on S_d, b_t off S_d) the best b_t is
    log(pi(S_d^c)/(N-d)), with divergence E_t pi(S_d^c) KL(pi_t|S_d^c || uniform on S_d^c); f_wls and f_ls
    (closed-form logits) are both >= it."""
    task, d = td
    out = _forms(task, d)
    P, p, N = task.cond, task.prior, task.N
    L = np.log(P)
    Sc = np.setdiff1d(np.arange(N), out["S_d"])
    piSc = P[:, Sc].sum(axis=1)
    F = L.copy()
    F[:, Sc] = np.log(piSc / (N - d))[:, None]
    best = kl(p, P, F)
    closed = p @ np.sum(P[:, Sc] * (L[:, Sc] - np.log(piSc / (N - d))[:, None]), axis=1)
    assert best == pytest.approx(closed, abs=DIV_ATOL)
    for name in ("wls[conditional]", "ls"):
        assert out["formulas"][name]["kl_of_logits"] >= best - DIV_ATOL


def test_permutation_validation():
    task, d = permutation_task(4, 1, d=1, seed=0), 1
    with pytest.raises(ValueError, match="`xi`"):
        permutation_closed_forms(task.prior, task.cond, d, [0, 0, 1, 2])
    with pytest.raises(ValueError, match="`d`"):
        permutation_closed_forms(task.prior, task.cond, 4, permutation_of(task))
