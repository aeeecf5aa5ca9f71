"""aotmem.verify.claims.aot: the AoT and the construction of ``T*`` (``draft.prop1``, ``paper.prop1``,
``paper.lemma2``, ``draft.lemma-rank``, ``paper.theorem1``, ``seed.theorem-aot``, ``paper.theorem3``,
``draft.cor-autoregressive``).

Regressions: counterexamples found by ``aotmem verify``, recomputed from scratch through the public theory
API (both sides of the claim, and the violation beyond the ledger's tolerance), then fed through the
registry (``verify.registry.evaluate``) so that a verdict that changes is noticed.
"""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topic import claims_of, example_test, proved_test, violated


CLAIMS = claims_of("aot")
PROVED = ["paper.prop1[rank]", "draft.prop1[rank]"]  # an AoT of width d has logits of rank <= d (a theorem)


def test_the_topic_registers_its_claims():
    ids = {c.id for c in CLAIMS}
    assert {"paper.prop1", "draft.prop1", "paper.lemma2", "draft.lemma-rank", "paper.theorem1", "seed.theorem-aot"} <= ids, ids


test_every_example_evaluates = example_test(CLAIMS)
test_proved_statements_hold_on_their_own_instances = proved_test(PROVED)


# ---- paper.lemma2 / draft.lemma-rank: S = 1, and d > N + S - 1 (regressions)
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
    assert violated("paper.lemma2[construction=draw_primed]",
                     {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0})
    assert violated("draft.lemma-rank[construction=draw_primed]",
                     {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0})


def test_lemma2_fails_when_d_exceeds_N_plus_S_minus_1():
    """N = 3, S = 2, d = 5, H = 1: A(t) lies in an (N+S-1) = 4 dimensional space, rank 4 < min(5, 5)."""
    from aotmem.theory.task import all_sequences

    seqs = all_sequences(3, 2)
    for seed in range(3):
        rank, _, _ = _attention_rank(3, 2, 5, 1, seqs, "full", seed)
        assert rank == 4 < 5
    # the linear constraint: coefficients of e and of pos both sum to 1
    assert violated("paper.lemma2[construction=draw_primed]",
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
    assert violated("paper.lemma2[construction=draw_primed]", rec)
    assert not violated("paper.lemma2+S>=2+cap[construction=draw_primed]", rec)


def test_lemma2_S1_rank_deficiency_is_certified_in_mpmath():
    """The S = 1 counterexample, certified: sigma_min falls with the precision (rank 2 < 3 exactly)."""
    from aotmem.theory.aot import AoTShape
    from aotmem.theory.certify import certify_rank
    from aotmem.theory.construct import draw_primed

    primed = draw_primed(AoTShape(N=3, S=1, d=2, H=2, d_h=2), qk="rank1", seed=0)
    cert = certify_rank(primed, np.arange(3)[:, None], dps=30, heads_only=True)
    assert cert.verdict == "deficient" and cert.sigma_min_hi < 1e-25 * cert.sigma_max
    assert violated("paper.lemma2[certified]", {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0})


# ---- paper.theorem1's parameter count; seed.theorem-aot's factor 2 (regressions)
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
    assert violated("paper.theorem1[params]",
                     {"kind": "dirichlet", "N": 5, "S": 2, "alpha": 1.0, "prior": "zipf", "seed": 0, "d": 3,
                      "d_h": 1, "eps": 0.1, "qk": "full", "cseed": 0})


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
    assert not violated("seed.theorem-aot[C=paper]", rec)  # the balanced design: within the bound here
    assert not violated("seed.theorem-aot+factor2[C=paper]", rec)


# ---- the module's helpers
@pytest.mark.parametrize("r, cap", [
    ({"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3}, 2),   # S = 1: A^h(t) = x_1(t), rank <= min(T_0, d)
    ({"N": 3, "S": 1, "d": 5, "H": 1, "T0": 3}, 3),
    ({"N": 3, "S": 2, "d": 5, "H": 1, "T0": 5}, 4),   # S >= 2: H(N+S-2) + 1 (theory.certify.attention_rank_cap)
    ({"N": 3, "S": 3, "d": 5, "H": 2, "T0": 10}, 9),
])
def test_structural_rank_cap(r, cap):
    from aotmem.theory.certify import attention_rank_cap
    from aotmem.verify.claims.aot import structural_rank_cap

    assert structural_rank_cap(r) == cap
    if r["S"] >= 2:
        assert cap == attention_rank_cap(r["T0"], r["H"], r["d"], r["N"], r["S"])


@settings(max_examples=10)
@given(data=st.data())
def test_random_aot_has_the_recipes_shape_and_logits_of_rank_at_most_d(data):
    import json

    from aotmem.verify.claims.aot import aot_recipes, random_aot
    from aotmem.verify.ledger.recipes import task_from

    r = data.draw(aot_recipes())
    assert json.loads(json.dumps(r)) == r and 1 <= r["d_h"] <= r["d_model"] and 0 <= r["H"] <= 16 and 1e-2 <= r["wscale"] <= 1e2
    task = task_from(r)
    m = random_aot(r, task.N, task.S)
    assert m.shape.d == r["d_model"] and m.shape.H == r["H"] and m.shape.d_h == r["d_h"]
    F = m.logits(task.seqs)
    assert np.array_equal(F, random_aot(r, task.N, task.S).logits(task.seqs))  # seeded by the recipe's fseed
    s = np.linalg.svd(F, compute_uv=False)
    assert r["d_model"] >= s.size or s[r["d_model"]] <= 1e-9 * s[0]  # paper.prop1: rank <= d


def test_construct_or_refuse_turns_a_refusal_into_no_construction():
    """A singular kept system (two sequences, d = 1: M_1 singular) is no T* to test, not a claim's failure."""
    from aotmem.theory.construct import svd_target
    from aotmem.theory.task import Task
    from aotmem.verify.claims.aot import NoConstruction, construct_or_refuse

    task = Task(np.array([0.5, 0.5]), np.array([[0.4, 0.6], [0.9, 0.1]]))
    with pytest.raises(NoConstruction, match="^singular: "):
        construct_or_refuse(task, svd_target(task, 1), 1, 1, 0.0, seed=0)


def test_build_construction_and_the_theorem1_sweep():
    from aotmem.verify.claims.aot import build_construction, theorem1_sweep

    rec = {"kind": "dirichlet", "N": 5, "S": 2, "alpha": 1.0, "prior": "zipf", "seed": 0, "d": 2, "d_h": 1,
           "eps": 0.1, "qk": "rank1", "cseed": 0}
    c = build_construction(rec, "optimal")
    assert c.report.max_rel_logit_error <= 1e-9 and c.report.d == 2 and c.report.d_h == 1
    eps, kl_model, kl_target, rhs, rhs2 = theorem1_sweep((0.1, 0.3))
    assert eps.tolist() == [0.1, 0.3] and kl_model[0] == c.report.kl_model
    assert np.all(kl_target == kl_target[0])  # one target, two eps
    assert np.all(np.abs(kl_model - kl_target) <= rhs) and np.allclose(rhs2, 2 * rhs, rtol=0.01)


# ---- issue 20: the whole regime of prop1[rank], theorem1[params] and seed.theorem-aot's proof construction
def test_prop1_rank_searches_the_whole_aot_regime_and_rechecks_at_50_digits():
    from aotmem.verify.claims.aot import AOT_SPACE
    from aotmem.verify.ledger.registry import evaluate, get

    for key in PROVED:
        c = get(key)
        assert c.space is AOT_SPACE and c.recheck is not None
    assert [p.name for p in AOT_SPACE.params] == ["d_model", "H", "d_h", "wscale"]
    # the regime's edges: no head, the largest d = N - 1, d_h > d, hard attention (weights x 100)
    r = {"kind": "dirichlet", "N": 4, "S": 2, "alpha": 1.0, "prior": "zipf", "seed": 0, "d_model": 3, "H": 0,
         "d_h": 4, "wscale": 100.0, "fseed": 1}
    for h in (0, 16):
        ev = evaluate("paper.prop1[rank]", dict(r, H=h))
        assert ev.outside is None and not ev.violated and ev.lhs > 0  # float64 leaves sigma_4 ~ 1e-16 sigma_1
        rc = get("paper.prop1[rank]").recheck(dict(r, H=h), ev)
        assert rc["method"] == "mpmath" and rc["confirmed"] is not True  # exact logits: sigma_4 is 0 at 50 digits
        assert abs(float(rc["lhs"])) < 1e-30 * ev.detail["sigma_1(F_T)"]


def test_theorem1_params_is_searched_over_the_construction_parameters():
    """The count depends on the task through T_eps only: the search moves eps, d, d_h, the draw and the W_QK kind
    (ConstructionSpace's own Params, stated once), on the sampled tasks."""
    from aotmem.verify.claims.aot import CONSTRUCTION_SPACE, PARAMS_SPACE
    from aotmem.verify.ledger.registry import evaluate, get

    assert get("paper.theorem1[params]").space is PARAMS_SPACE
    assert [p.name for p in PARAMS_SPACE.params] == [p.name for p in CONSTRUCTION_SPACE.params]
    rng = np.random.default_rng(0)
    like = {"kind": "almost-rank", "N": 5, "S": 2, "d": 2, "sigma": 0.5, "decay": 0.5, "prior": "zipf", "seed": 0,
            "d_h": 1, "eps": 0.1, "qk": "full", "cseed": 0}
    for _ in range(30):
        _, r = PARAMS_SPACE.family_recipe(rng, like, 7)
        assert r["d"] <= r["N"] - 2 and r["d_h"] <= r["d"] + 1 and 1e-4 <= r["eps"] <= 0.9
        ev = evaluate("paper.theorem1[params]", r)  # the almost-rank generator accepts every family recipe
        assert ev.outside is not None or ev.lhs > 0


def test_seed_theorem_aot_proof_construction_is_a_bound_and_fails_with_its_fixed_skip():
    """seed.theorem-aot[C=paper,construction=proof]: the proof's own T* (seed variant, Gaussian draw) on a
    near-uniform target: the fixed skip W_U x_S(t*) (W_U of unit norm) gives the dropped sequence logits +-0.107
    while the bound scales with sigma_1(f_W*) = 6.6e-6."""
    from aotmem.verify.claims.kept import KEPT
    from aotmem.verify.ledger.construction_space import ConstructionSpace, proof_construction
    from aotmem.verify.ledger.recipes import task_from
    from aotmem.verify.ledger.registry import evaluate, get

    key = "seed.theorem-aot[C=paper,construction=proof]"
    for k in (key, "seed.theorem-aot+factor2[C=paper,construction=proof]"):
        c = get(k)
        assert c.kind == "bound" and isinstance(c.space, ConstructionSpace) and c.space.design == "gaussian"
        ev = evaluate(k, KEPT[k])
        assert ev.violated and ev.lhs > 100 * ev.rhs
        assert c.recheck(KEPT[k], ev)["confirmed"] is True
    assert get("seed.theorem-aot[C=paper]").kind == "construction"  # the existence readings are kept as they are
    recipe = KEPT[key]
    cons = proof_construction(recipe, "optimal", "seed")
    F = cons.model.logits(task_from(recipe).seqs)
    dropped = np.setdiff1d(np.arange(3), cons.kept)
    assert np.linalg.norm(cons.model.W_U) == pytest.approx(1.0)
    assert np.abs(F[dropped]).max() > 0.1  # against target logits ~1e-5


def test_corrected_lemma2_fails_on_constant_sequences_for_every_choice():
    """paper.lemma2+S>=2+d<=N+S-2 and +S>=2+cap: T_0 = 4 constant sequences (n, n), d = 2, H = 2. For every e, pos,
    W_QK, A^h(t) = e(n) + pos_2 + c^h(n)(pos_1 - pos_2): the stacked A(t) lies in {1_H (x) u} + span{e_h (x) (pos_1 -
    pos_2)}, which share 1_H (x) (pos_1 - pos_2): rank <= d + H - 1 = 3 < min(T_0, H d) = 4 (the cap H(N+S-2)+1 = 9)."""
    from aotmem.theory.aot import AoTShape
    from aotmem.theory.construct import draw_primed, head_features
    from aotmem.verify.claims.aot import structural_rank_cap
    from aotmem.verify.claims.kept import KEPT
    from aotmem.verify.ledger.rank_space import rank_sequences
    from aotmem.verify.ledger.registry import evaluate, get

    r = KEPT["paper.lemma2+S>=2+cap[construction=draw_primed]"]
    seqs = rank_sequences(r["N"], r["S"], r["T0"], r["seed"], r["pick"])
    assert np.array_equal(seqs, np.array([[0, 0], [1, 1], [2, 2], [3, 3]]))
    assert structural_rank_cap(r) == 3
    rng = np.random.default_rng(0)
    for seed in range(5):  # any draw, any W_QK kind, even random embeddings of any scale: rank 3
        for qk in ("rank1", "full"):
            primed = draw_primed(AoTShape(N=4, S=2, d=2, H=2, d_h=2), qk=qk, seed=seed, embedding="gaussian")
            M = np.asarray(head_features(primed, seqs))[:4]
            assert np.linalg.matrix_rank(M) <= 3
    e, p = rng.standard_normal((4, 2)), rng.standard_normal((2, 2))
    c = rng.random((2, 4))  # any attention weights c^h(n) on position 1
    A = np.concatenate([(e + p[1]).T + c[h] * (p[0] - p[1])[:, None] for h in range(2)])  # (H d, T_0)
    assert np.linalg.matrix_rank(A) == 3
    for key in ("paper.lemma2+S>=2+d<=N+S-2[construction=draw_primed]", "paper.lemma2+S>=2+cap[construction=draw_primed]",
                "paper.lemma2+S>=2+d<=N+S-2[certified]"):
        ev = evaluate(key, r)
        assert ev.violated and ev.certified and ev.lhs == 3 and ev.rhs == 4
        assert get(key).recheck(r, ev)["confirmed"] is True


def test_lemma2_witness_tries_further_draws_before_a_miss():
    """A degenerate draw (d = 1, seed 9537: float64 rank 4 of 8, certified deficient) is a miss of that draw only."""
    from aotmem.verify.claims.aot import LEMMA2_DRAWS, _lemma2_setup
    from aotmem.theory.certify import head_rank
    from aotmem.verify.ledger.registry import evaluate

    r = {"N": 2, "S": 3, "d": 1, "H": 8, "T0": 8, "qk": "full", "seed": 9537}
    assert head_rank(*_lemma2_setup(r)).rank == 4
    ev = evaluate("draft.lemma-rank+S>=2+d<=N+S-2[construction=draw_primed]", r)
    assert not ev.violated and 2 <= ev.detail["draws_tried"] <= LEMMA2_DRAWS
