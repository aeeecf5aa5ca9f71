"""aotmem.verify.ledger.search: explicit forms, the task space, families, the optimiser and the shrinker."""

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aotmem.verify.ledger.recipes import almost_rank_recipes, dirichlet_recipes, task_from
from aotmem.verify.ledger.registry import Evaluation
from aotmem.verify.ledger.search import (
    FAMILIES,
    LOGIT_BOX,
    TaskSpace,
    explicit_of,
    objective_of,
    optimise,
    recipe_size,
    shrink,
)

SPACE = TaskSpace()


def _same_task(a: dict, b: dict, rtol=1e-12):
    ta, tb = task_from(a), task_from(b)
    assert ta.cond.shape == tb.cond.shape
    np.testing.assert_allclose(ta.cond, tb.cond, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(ta.prior, tb.prior, rtol=rtol, atol=1e-300)


@given(st.one_of(dirichlet_recipes("quick", min_n=3), almost_rank_recipes("quick")))
def test_explicit_form_is_the_same_task(recipe):
    ex = explicit_of(recipe)
    if ex is None:  # a probability or a weight of 0 has no logit
        t = task_from(recipe)
        L = np.log(np.maximum(t.cond, 1e-320))
        assert np.any(t.cond == 0) or np.any(t.prior == 0) or np.any(np.abs(L - L.mean(axis=1, keepdims=True)) > LOGIT_BOX)
        return
    assert ex["kind"] == "explicit" and "alpha" not in ex and "decay" not in ex
    assert ex.get("d") == recipe.get("d")  # the claim's own d survives
    _same_task(recipe, ex, rtol=1e-9)  # log then softmax: a few ulps per entry


@given(dirichlet_recipes("quick", min_n=3))
def test_encode_decode_round_trip(recipe):
    ex = explicit_of(recipe)
    assume(ex is not None)  # a probability or a weight of 0 has no logit (test_explicit_form_is_the_same_task)
    back = SPACE.decode(SPACE.encode(ex), ex)
    _same_task(ex, back, rtol=1e-9)


@settings(max_examples=40)
@given(st.integers(0, 2**16), st.integers(3, 7), st.integers(1, 3))
def test_family_recipes_are_valid_and_deterministic(seed, N, d):
    like = {"kind": "explicit", "N": N, "S": 1, "seed": 0, "d": min(d, N - 2) or 1,
            "logits": [[0.0] * N], "weights": [1.0]}
    name, r = SPACE.family_recipe(np.random.default_rng(seed), like, 7)
    name2, r2 = SPACE.family_recipe(np.random.default_rng(seed), like, 7)
    assert name in FAMILIES and (name, r) == (name2, r2)
    Z = np.asarray(r["logits"])
    assert Z.shape[1] == N and Z.shape[0] >= like["d"] and np.all(np.abs(Z) <= LOGIT_BOX)
    w = np.asarray(r["weights"])
    assert np.all(w > 0) and w.max() == 1.0
    t = task_from(r)
    assert np.allclose(t.cond.sum(axis=1), 1.0) and np.all(t.cond > 0)


def _bump_claim(recipe):
    """A synthetic claim 'max logit gap <= 5.5' whose violations sit in a corner of the space."""
    Z = np.asarray(recipe["logits"])
    gap = float(np.max(Z.max(axis=1) - Z.min(axis=1)))
    return Evaluation(gap, 5.5, "<=", atol=0.0, rtol=0.0)


def test_optimiser_reaches_a_violation_sampling_misses():
    start = {"kind": "explicit", "N": 4, "S": 1, "seed": 0, "d": 1,
             "logits": [[0.1, 0.0, -0.1, 0.05], [0.0, 0.2, 0.1, 0.0]], "weights": [1.0, 0.5]}
    res = optimise(lambda rs: [_bump_claim(r) for r in rs], SPACE, start, np.random.default_rng(0),
                   evals=2000, polish=200)
    assert res.found and _bump_claim(res.recipe).violated
    assert res.value < 0 and res.evaluations <= 2000 + 200 + 1


def test_objective_orders_instances():
    assert objective_of(Evaluation(2.0, 1.0, "<=")) < 0 < objective_of(Evaluation(0.5, 1.0, "<="))
    assert objective_of(Evaluation.out_of_regime("x")) > 1 and objective_of(ValueError("x")) > 1
    # both sides 0, or both within 1e3 of float64's resolution: uninformative, scored like a trivial
    # instance (the optimiser must not chase the sign of rounding noise)
    assert objective_of(Evaluation(0.0, 0.0, "<=")) == 1.0
    assert objective_of(Evaluation(1e-17, 0.0, "<=")) == 1.0
    assert objective_of(Evaluation(1.0e-12, 1.07e-12, "<=")) == 1.0
    assert objective_of(Evaluation(1.0e-10, 1.0e-10, "<=")) == 0.0  # sides above the floor: tight
    assert objective_of(Evaluation(1e-8, 0.9e-8, "<=")) < -0.09  # violated below KL_ATOL: negative, a suspect


def test_shrink_finds_the_minimal_violation():
    rng = np.random.default_rng(3)
    big = {"kind": "explicit", "N": 6, "S": 1, "seed": 0, "d": 3,
           "logits": rng.normal(0, 1, (5, 6)).tolist(), "weights": rng.uniform(0.1, 1, 5).tolist()}
    big["logits"][2][4] = 9.123456  # the one entry that makes it violate 'every logit <= 7'

    def violates(r):
        return max(max(row) for row in r["logits"]) > 7

    small, n = shrink(big, violates)
    assert violates(small) and n > 0
    assert len(small["logits"]) == 1 and len(small["logits"][0]) == 2 and small["d"] == 1
    assert sorted(small["logits"][0]) == [0.0, 9.0]  # rounded to the integer that still violates
    assert recipe_size(small) < recipe_size(big)


def test_two_scale_family_reaches_the_draft_wls_counterexample():
    """The kind of instance issue 11 reported (two prior scales, a near-uniform and a near-deterministic row)."""
    from aotmem.verify.ledger.registry import get

    claim = get("draft.theorem-wls[sigma=uniform,fit=alternating]")
    r = {"kind": "explicit", "N": 3, "S": 1, "seed": 0, "d": 1,
         "logits": [[3.0, -2.0, 0.0], [0.0, 0.0, -0.003]], "weights": [2e-06, 1.0]}
    ev = claim.evaluate(r)
    assert ev.violated and ev.rel_margin < -1e-3
    assert math.isfinite(ev.lhs) and math.isfinite(ev.rhs)


def test_recipe_space_searches_a_structured_recipes_parameters():
    """RecipeSpace (association and capacity claims): parameters redrawn over the regime, moved, and shrunk."""
    from aotmem.verify.ledger.params import Param
    from aotmem.verify.ledger.search import RecipeSpace, shrink

    space = RecipeSpace(params=(Param("d", 2, lambda N, T: T - 1, "lin-int"), Param("H", 1, lambda N, T: T, "int")),
                        choices=(("qk", ("full", "rank1")),))
    like = {"N": 3, "S": 2, "d": 2, "H": 1, "qk": "full", "seed": 0}
    rng = np.random.default_rng(0)
    drawn = [space.family_recipe(rng, like, 7)[1] for _ in range(200)]
    assert all(2 <= r["d"] <= 8 and 1 <= r["H"] <= 9 and r["N"] == 3 and r["S"] == 2 for r in drawn)
    assert {r["qk"] for r in drawn} == {"full", "rank1"} and {8, 9} <= {r["d"] for r in drawn} | {r["H"] for r in drawn}
    assert space.explicit(like) == like and space.decode(space.encode(dict(like, d=5, H=7)), like)["d"] == 5
    # a violation whenever d >= 4: the shrinker lowers d to the boundary and H to its lower limit
    small, _ = shrink(dict(like, d=8, H=9), lambda r: r["d"] >= 4, params=space.params)
    assert small["d"] == 4 and small["H"] == 1


def test_recipe_space_sizes_first_the_other_limits_follow():
    """A RecipeSpace that lists N among its parameters (paper.prop2[d<N-1]): d's limits follow the new N.

    Drawn (families), decoded (optimiser) and sampled (the claim's strategy, :meth:`RecipeSpace.recipes`),
    d stays in 1 <= d <= N-2 of the N drawn with it, and the joint condition ``valid`` is kept by the sampler.
    """
    from hypothesis import given, settings
    from aotmem.verify.ledger.params import Param
    from aotmem.verify.ledger.search import RecipeSpace

    space = RecipeSpace(params=(Param("N", 3, 200, "int"), Param("d", 1, lambda N, T: N - 2, "lin-int")),
                        seed_key=None, valid=lambda r: r["N"] != 7)
    rng = np.random.default_rng(1)
    drawn = [space.draw_params(rng, {"N": 3, "d": 1}) for _ in range(300)]
    assert all(1 <= r["d"] <= r["N"] - 2 for r in drawn)
    assert max(r["N"] for r in drawn) == 200 and min(r["N"] for r in drawn) == 3
    assert any(r["d"] > 50 for r in drawn)  # the wide d's of wide N are reached (the old N's limits would cap at 1)
    for x in rng.normal(2.0, 3.0, size=(200, 2)):
        r = space.decode(x, {"N": 3, "d": 1})
        assert 3 <= r["N"] <= 200 and 1 <= r["d"] <= r["N"] - 2

    @settings(max_examples=100, deadline=None)
    @given(space.recipes({"N": 3}))
    def sampled(r):
        assert 1 <= r["d"] <= r["N"] - 2 and r["N"] != 7

    sampled()
