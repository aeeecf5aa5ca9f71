"""Counterexamples found by ``aotmem verify``, recomputed from scratch through the public theory API.

Each test rebuilds the instance with ``theory.*`` calls only, recomputes both
sides of the claim, and asserts the violation exceeds the ledger's
tolerance. A second assertion feeds the same recipe through the registry
(``verify.registry.evaluate``) so that a verdict that changes is noticed.
"""

import math

import numpy as np
import pytest

from aotmem.verify.registry import IDENTITY_RTOL, KL_ATOL, KL_RTOL, evaluate


def _violated(key, recipe):
    return evaluate(key, recipe).violated


# ---- seed.assoc-memory: "only d of them" -------------------------------

def test_assoc_memory_recalls_more_than_d():
    """d = 64: 126 associations are recalled at 90%, about 2d (seed.assoc-memory[capacity<=d])."""
    from aotmem.theory.assoc import assoc_memory_recall, recall_capacity

    cap = recall_capacity(64, level=0.9, seed=0, trials=3, n_max=32 * 64)
    assert cap == 126 > 64
    assert assoc_memory_recall(cap, 64, seed=[0, cap], trials=3).mean >= 0.9
    assert _violated("seed.assoc-memory[capacity<=d]", {"d": 64, "seed": 0})


def test_assoc_memory_capacity_grows_faster_than_d():
    """At d = 128 the memory recalls 505 > 2 * 126 associations at 90% (seed.assoc-memory[linear-growth]).

    The ledger measures capacity(128) / capacity(64) = 4.28 with the bisection of
    ``recall_capacity``; this recomputes one point above the linear-growth limit
    (2 * capacity(64) = 252) directly, which is enough to refute ``<= 2``.
    """
    from aotmem.theory.assoc import assoc_memory_recall

    assert assoc_memory_recall(2 * 126 + 1, 128, seed=0, trials=3).mean >= 0.9
    assert assoc_memory_recall(4 * 126 + 1, 128, seed=0, trials=3).mean >= 0.9


# ---- seed.lookup-bound without C < 1/2 ---------------------------------

def test_seed_lookup_bound_as_written_is_negative_for_small_d():
    """N = 3, d = 2: C = sqrt(32 log 4 / 2) = 4.7 > 1/2, (1+4C)/(1-2C) < 0: the RHS is negative."""
    from aotmem.theory.generators import lookup_task
    from aotmem.theory.lookup import jl_matrix, lookup_C, lookup_encoder, lookup_terms

    task = lookup_task(3, 1, entropy=0.5 * math.log(3), seed=0)
    W, _ = jl_matrix(3, 2, seed=0)
    dk = float(task.prior @ lookup_encoder(task, W).kl_rows())
    C = lookup_C(3, 2)
    rhs = float(task.prior @ lookup_terms(task.cond)[1]) * (1 + 4 * C) / (1 - 2 * C)
    assert rhs < 0 < dk and dk - rhs > KL_ATOL
    assert _violated("seed.lookup-bound[as-written]", {"kind": "lookup", "N": 3, "S": 1, "entropy_frac": 0.5,
                                                       "prior": "uniform", "seed": 0, "d": 2, "wseed": 0})


# ---- draft.theorem-wls under the prior-weighted uniform sigma ----------

def test_draft_wls_bound_fails_with_prior_weighted_sigma():
    """sigma_{d+1} of diag(sqrt p) L_c is sigma / sqrt(T) for a uniform prior: the bound drops below dKL(f_wls)."""
    from aotmem.theory.bounds import draft_wls_bound
    from aotmem.theory.generators import almost_rank_task
    from aotmem.theory.lowrank import f_wls

    task = almost_rank_task(7, 2, d=1, sigma=1.0, decay=0.9, prior="uniform", seed=0)
    dk = f_wls(task.prior, task.cond, 1).divergence(task.prior, task.cond)
    rhs = draft_wls_bound(task.prior, task.cond, 1, sigma_reading="uniform-prior")
    assert dk - rhs > KL_ATOL + KL_RTOL * rhs
    assert dk == pytest.approx(0.004793348882, rel=1e-6) and rhs == pytest.approx(0.004424907408, rel=1e-6)
    # the same task under the unweighted reading is within the bound
    assert dk <= draft_wls_bound(task.prior, task.cond, 1, sigma_reading="uniform")
    assert _violated("draft.theorem-wls[sigma=uniform-prior]",
                     {"kind": "almost-rank", "N": 7, "S": 2, "d": 1, "sigma": 1.0, "decay": 0.9,
                      "prior": "uniform", "seed": 0})


def test_draft_ls_bound_fails_with_prior_weighted_sigma():
    """Same reading, least squares: f_ls of diag(sqrt p) L_c beats the draft.theorem-ls bound."""
    from aotmem.theory.bounds import draft_ls_bound
    from aotmem.theory.generators import almost_rank_task
    from aotmem.theory.lowrank import f_ls

    task = almost_rank_task(7, 2, d=1, sigma=0.5, decay=0.9, prior="uniform", seed=0)
    dk = f_ls(task.prior, task.cond, 1, "uniform-prior").divergence(task.prior, task.cond)
    rhs = draft_ls_bound(task.prior, task.cond, 1, sigma_reading="uniform-prior")
    assert dk - rhs > KL_ATOL + KL_RTOL * rhs
    assert _violated("draft.theorem-ls[sigma=uniform-prior]",
                     {"kind": "almost-rank", "N": 7, "S": 2, "d": 1, "sigma": 0.5, "decay": 0.9,
                      "prior": "uniform", "seed": 0})


# ---- paper.theorem2: the step from the first form to the simplified one --

def test_theorem2_simplified_is_below_the_first_form():
    """Two rows, logits [0,0,0,1] and [0,0,2,2], equal prior, d = 207 (C < 1/2): first form > simplified."""
    from aotmem.theory.divergence import log_softmax
    from aotmem.theory.lookup import lookup_C, paper_theorem2_bound, paper_theorem2_simplified

    P = np.exp(log_softmax(np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 2.0]])))
    p = np.array([0.5, 0.5])
    assert lookup_C(4, 207) < 0.5
    first = paper_theorem2_bound(p, P, 207, constant="4C")
    simp = paper_theorem2_simplified(p, P, 207)
    assert first - simp > KL_ATOL + KL_RTOL * simp
    assert (first - simp) / simp > 0.02
    assert _violated("paper.theorem2[first<=simplified]",
                     {"kind": "explicit", "N": 4, "S": 1, "logits": [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 2.0]],
                      "weights": [1.0, 1.0], "seed": 0, "d": 207, "wseed": 0})


# ---- paper.lemma2 / draft.lemma-rank: S = 1, and d > N + S - 1 ----------

def _attention_rank(N, S, d, H, seqs, qk, seed):
    from aotmem.theory.aot import AoTShape
    from aotmem.theory.construct import draw_primed, head_features

    primed = draw_primed(AoTShape(N=N, S=S, d=d, H=H, d_h=d), qk=qk, seed=seed)
    M = np.asarray(head_features(primed, seqs))[: H * d]
    A = np.concatenate([primed.W_V[h].T @ M[h * d:(h + 1) * d] for h in range(H)])  # W'_V^h orthogonal
    return int(np.linalg.matrix_rank(M)), A, primed


def test_lemma2_fails_for_S_equal_1():
    """S = 1: A^h(t) = x_1(t) for every head, so rank{A(t)} <= d < min(T_0, H d)."""
    N, d, H = 3, 2, 2
    seqs = np.arange(N)[:, None]
    rank, A, primed = _attention_rank(N, 1, d, H, seqs, "rank1", 0)
    assert rank == 2 < min(N, H * d) == 3
    x = (primed.embed[seqs[:, 0]] + primed.pos[0]).T  # (d, T): x_1(t)
    assert np.allclose(A[:d], x) and np.allclose(A[d:], x)  # every head's A^h(t) is x_1(t)
    assert _violated("paper.lemma2[construction=draw_primed]",
                     {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0})
    assert _violated("draft.lemma-rank[construction=draw_primed]",
                     {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0})


def test_lemma2_fails_when_d_exceeds_N_plus_S_minus_1():
    """N = 3, S = 2, d = 5, H = 1: A(t) lies in an (N+S-1) = 4 dimensional space, rank 4 < min(5, 5)."""
    from aotmem.theory.task import all_sequences

    seqs = all_sequences(3, 2)
    for seed in range(3):
        rank, _, _ = _attention_rank(3, 2, 5, 1, seqs, "full", seed)
        assert rank == 4 < 5
    # the linear constraint: coefficients of e and of pos both sum to 1
    assert _violated("paper.lemma2[construction=draw_primed]",
                     {"N": 3, "S": 2, "d": 5, "H": 1, "T0": 5, "qk": "rank1", "seed": 0})


def test_lemma2_rank_cap_with_two_heads():
    """N = 3, S = 3, d = 5, H = 2: 2H - 1 = 3 linear constraints cap the rank at H(N+S-2) + 1 = 9 < min(T_0, H d) = 10.

    Found by the full profile against the first correction (d <= N+S-1), which it refutes;
    the kept corrections are d <= N+S-2, or the cap itself.
    """
    from aotmem.theory.task import all_sequences

    seqs = all_sequences(3, 3)  # all 27 sequences: the rank is still 9
    for qk in ("rank1", "full"):
        rank, _, _ = _attention_rank(3, 3, 5, 2, seqs, qk, 0)
        assert rank == 2 * (3 + 3 - 2) + 1 == 9 < min(27, 2 * 5)
    rec = {"N": 3, "S": 3, "d": 5, "H": 2, "T0": 10, "qk": "rank1", "seed": 0}
    assert _violated("paper.lemma2[construction=draw_primed]", rec)
    assert not _violated("paper.lemma2+S>=2+cap[construction=draw_primed]", rec)


# ---- draft.cor-permutation ----------------------------------------------

def _perm(seed, N=3, d=1):
    from aotmem.theory.exact import permutation_closed_forms
    from aotmem.theory.generators import permutation_of, permutation_task

    task = permutation_task(N, 1, d=d, scale=1.0, prior="uniform", seed=seed)
    return task, permutation_closed_forms(task.prior, task.cond, d, permutation_of(task))


def test_cor_permutation_mean_log_reading_and_ls_formula():
    """N = 3, d = 1: the mean-log reading of H(pi_t, S) and the draft's f_ls formula both miss."""
    from aotmem.theory.lowrank import f_ls, f_wls

    task, cf = _perm(0)
    d, N = 1, 3
    S = cf["S_d"]
    W_U = np.eye(N)[:, S]
    num_wls = f_wls(task.prior, task.cond, d, W_U).divergence(task.prior, task.cond)
    assert abs(cf["formulas"]["wls[mean-log]"]["divergence"] - num_wls) > 0.1
    assert abs(cf["formulas"]["wls[conditional]"]["divergence"] - num_wls) <= KL_ATOL + IDENTITY_RTOL * num_wls
    num_ls = f_ls(task.prior, task.cond, d, "uniform").divergence(task.prior, task.cond)
    ls = cf["formulas"]["ls"]
    assert abs(ls["divergence"] - num_ls) > 0.05
    assert abs(ls["divergence"] - ls["kl_of_logits"]) > 0.02  # inconsistent with its own logits
    rec = {"kind": "permutation", "N": 3, "S": 1, "d": 1, "scale": 1.0, "prior": "uniform", "seed": 0}
    for key in ("draft.cor-permutation[wls-logits,H=mean-log]", "draft.cor-permutation[wls-divergence,H=mean-log]",
                "draft.cor-permutation[ls-divergence]", "draft.cor-permutation[ls-formula-consistent]"):
        assert _violated(key, rec), key


def test_cor_permutation_wls_not_strictly_better_than_ls():
    """N = 3, d = 1, seed 1: the numeric f_wls (W_U = e_{S_d}) is worse than f_ls (uniform)."""
    from aotmem.theory.lowrank import f_ls, f_wls

    task, cf = _perm(1)
    W_U = np.eye(3)[:, cf["S_d"]]
    wls = f_wls(task.prior, task.cond, 1, W_U).divergence(task.prior, task.cond)
    ls = f_ls(task.prior, task.cond, 1, "uniform").divergence(task.prior, task.cond)
    assert wls > ls + KL_ATOL
    assert _violated("draft.cor-permutation[wls-strictly-better,ls=uniform]",
                     {"kind": "permutation", "N": 3, "S": 1, "d": 1, "scale": 1.0, "prior": "uniform", "seed": 1})


# ---- paper.cor2 with the explicit construction --------------------------

def test_cor2_construction_misses_the_accuracy_bound():
    """Old design: N = 3, S = 2, d = 2, d_h = 1, H = 1: T* memorises K = 3 of 9 and guesses none of the rest.

    Found with the constructor's old primed design, ``embedding="orthogonal"`` (reproduced to ~1e-12); its
    default is now ``"balanced"``, under which the ledger no longer misses on this recipe (the ledger's current
    miss is pinned by :func:`test_cor2_construction_misses_with_the_balanced_design`).
    """
    from aotmem.theory.construct import construct
    from aotmem.theory.generators import association_task

    task = association_task(3, 2, seed=0)
    g = task.argmax_map()
    ang = 2 * np.pi * np.arange(3) / 3
    W = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    K, T0, N = 3, 9, 3
    c = construct(task, (W, 20.0 * W[g]), 2, 1, 1.0 - (K - 0.5) / T0, variant="paper", qk="full", seed=0,
                  embedding="orthogonal")
    assert (c.report.T_eps, c.report.H) == (3, 1)
    acc = float(np.mean(np.argmax(c.model.logits(task.seqs), axis=1) == g))
    bound = 1 / N + (1 - 1 / N) * K / T0
    assert acc < bound - 0.1
    # the ledger (balanced design) on the old recipe: T* now reaches the bound there
    ev = evaluate("paper.cor2[construction=T*]",
                  {"N": 3, "S": 2, "d": 2, "d_h": 1, "H": 1, "qk": "full", "seed": 0, "gseed": 0})
    assert not ev.violated and ev.lhs >= ev.rhs


def test_cor2_construction_misses_with_the_balanced_design():
    """The current ledger's miss (balanced design): N = 4, S = 2, d = 4, d_h = 1, H = 2: accuracy 6/16 < 17/32."""
    rec = {"N": 4, "S": 2, "d": 4, "d_h": 1, "H": 2, "qk": "rank1", "seed": 103, "gseed": 8854}
    ev = evaluate("paper.cor2[construction=T*]", rec)
    assert ev.violated and not ev.certified  # a witness miss (an existence claim), not a refutation
    assert (ev.detail["K"], ev.detail["T_0"]) == (6, 16)
    assert ev.lhs == pytest.approx(6 / 16, abs=1e-12) and ev.rhs == pytest.approx(1 / 4 + 3 / 4 * 6 / 16, abs=1e-12)


def test_cor_permutation_closed_form_wls_not_strictly_better():
    """N = 7, d = 1, seed 1406: the closed-form f_wls's own KL exceeds the draft's closed-form f_ls's."""
    task, cf = _perm(1406, N=7, d=1)
    f = cf["formulas"]
    assert f["wls[conditional]"]["kl_of_logits"] > f["ls"]["kl_of_logits"] + KL_ATOL
    assert _violated("draft.cor-permutation[wls-strictly-better,closed-forms]",
                     {"kind": "permutation", "N": 7, "S": 1, "d": 1, "scale": 1.0, "prior": "uniform",
                      "seed": 1406})


# ---- paper.theorem1's parameter count with a full d x d W_QK ------------

def test_theorem1_param_count_undercounts_full_qk():
    """d = 3, d_h = 1, full W_QK: the AoT of docs/theory.md has d^2 = 9 QK entries per head, the formula counts 4 d_h = 4."""
    from aotmem.theory.construct import construct, paper_param_count
    from aotmem.theory.generators import dirichlet_task
    from aotmem.theory.lowrank import f_ls

    task = dirichlet_task(5, 2, alpha=1.0, prior="zipf", seed=0)
    lr = f_ls(task.prior, task.cond, 3, "uniform")
    c = construct(task, (lr.W, lr.E), 3, 1, 0.1, variant="paper", qk="full", seed=0)
    H = c.report.H
    own = 3 * (2 + 2 * 5) + H * (3 * 3 + 2 * 3 * 1)  # embed, pos, W_U; per head W_QK, W_V, W_O
    assert c.model.param_count() == own
    assert own > paper_param_count(5, 2, 3, 1, H) == 3 * (2 + 2 * 5 + 4 * 1 * H)
    # the rank-1 form agrees exactly
    c1 = construct(task, (lr.W, lr.E), 3, 1, 0.1, variant="paper", qk="rank1", seed=0)
    assert c1.model.param_count() == paper_param_count(5, 2, 3, 1, c1.report.H, rank1_qk=True)
    assert _violated("paper.theorem1[params]",
                     {"kind": "dirichlet", "N": 5, "S": 2, "alpha": 1.0, "prior": "zipf", "seed": 0, "d": 3,
                      "d_h": 1, "eps": 0.1, "qk": "full", "cseed": 0})


def test_lemma2_S1_rank_deficiency_is_certified_in_mpmath():
    """The S = 1 counterexample, certified: sigma_min falls with the precision (rank 2 < 3 exactly)."""
    from aotmem.theory.aot import AoTShape
    from aotmem.theory.certify import certify_rank
    from aotmem.theory.construct import draw_primed

    primed = draw_primed(AoTShape(N=3, S=1, d=2, H=2, d_h=2), qk="rank1", seed=0)
    cert = certify_rank(primed, np.arange(3)[:, None], dps=30, heads_only=True)
    assert cert.verdict == "deficient" and cert.sigma_min_hi < 1e-25 * cert.sigma_max
    assert _violated("paper.lemma2[certified]", {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0})


# ---- found by the full profile -----------------------------------------

@pytest.mark.parametrize("bound, fit", [("seed_ls_bound", "ls"), ("seed_wls_bound", "wls")])
def test_seed_bounds_fail_with_prior_weighted_sigma_per_row(bound, fit):
    """N = 11, S = 2 (T = 121), uniform prior: the uniform-prior sigma is sigma / 11, the per-row seed bounds fall short."""
    import aotmem.theory.bounds as tb
    from aotmem.theory.generators import almost_rank_task
    from aotmem.theory.lowrank import f_ls, f_wls

    task = almost_rank_task(11, 2, d=1, sigma=0.25, decay=0.9, prior="uniform", seed=0)
    lr = f_ls(task.prior, task.cond, 1, "uniform-prior") if fit == "ls" else f_wls(task.prior, task.cond, 1)
    dk = lr.divergence(task.prior, task.cond)
    rhs = getattr(tb, bound)(task.prior, task.cond, 1, sigma_reading="uniform-prior", inf_reading="per-row")
    assert dk - rhs > KL_ATOL + KL_RTOL * rhs
    key = f"seed.{fit}-bound[sigma=uniform-prior,inf=per-row]"
    assert _violated(key, {"kind": "almost-rank", "N": 11, "S": 2, "d": 1, "sigma": 0.25, "decay": 0.9,
                           "prior": "uniform", "seed": 0})


def test_draft_wls_bound_fails_with_pi_prior_sigma():
    """N = 6, S = 3 (T = 216): the pi-prior reading of sigma_{d+1} makes draft.theorem-wls fail too."""
    from aotmem.theory.bounds import draft_min_bound, draft_wls_bound
    from aotmem.theory.generators import almost_rank_task
    from aotmem.theory.lowrank import f_wls

    task = almost_rank_task(6, 3, d=1, sigma=2.0, decay=0.9, prior="uniform", seed=0)
    dk = f_wls(task.prior, task.cond, 1).divergence(task.prior, task.cond)
    assert dk - draft_wls_bound(task.prior, task.cond, 1, sigma_reading="pi-prior") > 1e-3
    assert dk - draft_min_bound(task.prior, task.cond, 1, sigma_reading="pi-prior") > 1e-3
    assert dk <= draft_wls_bound(task.prior, task.cond, 1, sigma_reading="pi")  # unweighted reading: within
    assert _violated("draft.theorem-wls[sigma=pi-prior]", {"kind": "almost-rank", "N": 6, "S": 3, "d": 1,
                                                           "sigma": 2.0, "decay": 0.9, "prior": "uniform", "seed": 0})


def test_seed_theorem_aot_needs_the_factor_2():
    """Old design: N = 3, S = 2, d = d_h = 1, eps = 1/2, seed variant: |dKL(f*) - dKL(T*)| = 9.1 > eps sigma_1 C = 6.8
    (< 2x that).

    Found with the constructor's old primed design, ``embedding="orthogonal"`` (reproduced to ~1e-12); with the
    default ``"balanced"`` design, which the ledger uses, T* is within the bound on this recipe.
    """
    from aotmem.theory.construct import construct
    from aotmem.theory.generators import almost_rank_task
    from aotmem.theory.optimal import optimal_encoder

    task = almost_rank_task(3, 2, d=1, sigma=0.0, decay=0.5, prior="uniform", seed=1)
    res = optimal_encoder(task.prior, task.cond, 1, starts=0, seed=0, max_iter=800)
    rep = construct(task, (res.W, res.E), 1, 1, 0.5, variant="seed", qk="rank1", seed=13614,
                    embedding="orthogonal").report
    assert rep.max_rel_logit_error < 1e-9  # the construction is exact on the kept sequences
    lhs, rhs = abs(rep.kl_target - rep.kl_model), 0.5 * rep.norm_WE * rep.C
    assert lhs - rhs > 1.0 and lhs <= 2 * rhs
    rec = {"kind": "almost-rank", "N": 3, "S": 2, "d": 1, "sigma": 0.0, "decay": 0.5, "prior": "uniform",
           "d_h": 1, "eps": 0.5, "qk": "rank1", "cseed": 13614, "seed": 1}
    assert not _violated("seed.theorem-aot[C=paper]", rec)  # the balanced design: within the bound here
    assert not _violated("seed.theorem-aot+factor2[C=paper]", rec)
