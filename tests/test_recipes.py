"""verify/ledger/recipes.py: the JSON-able instances every claim is searched over, rebuilt into tasks by ``task_from``."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.theory.generators import KINDS, explicit_task, random_task
from aotmem.verify.ledger.recipes import (
    KNOBS,
    LIMITS,
    almost_rank_recipes,
    association_recipes,
    describe,
    dirichlet_recipes,
    explicit_recipes,
    full_support_recipes,
    limits,
    lookup_recipes,
    permutation_recipes,
    rng_of,
    seeds,
    task_from,
)

RECIPES = {"dirichlet": dirichlet_recipes, "almost-rank": almost_rank_recipes, "lookup": lookup_recipes,
           "association": association_recipes, "permutation": permutation_recipes, "explicit": explicit_recipes,
           "full-support": full_support_recipes}


def test_knobs_name_every_generator_kind():
    assert set(KNOBS) == set(KINDS)
    assert LIMITS["quick"]["max_t"] < LIMITS["full"]["max_t"] and limits("full") is LIMITS["full"]
    with pytest.raises(ValueError, match="`profile` must be one of"):
        limits("huge")


@pytest.mark.parametrize("name", RECIPES)
@pytest.mark.parametrize("profile", ["quick", "full"])
@settings(max_examples=10)
@given(data=st.data())
def test_every_recipe_is_json_within_its_profile_and_rebuilds_its_task(name, profile, data):
    r = data.draw(RECIPES[name](profile), label="recipe")
    assert json.loads(json.dumps(r)) == r  # a counterexample is reproduced by its recipe alone
    lim = LIMITS[profile]
    task = task_from(r)
    assert task.N == r["N"] <= lim["max_n"] and task.T <= lim["max_t"] and task.S <= lim["max_s"]
    again = task_from(json.loads(json.dumps(r)))
    assert np.array_equal(again.cond, task.cond) and np.array_equal(again.prior, task.prior)
    assert describe(r).startswith(r["kind"])
    if r["kind"] != "explicit":
        assert 0 <= r["seed"] < 2**16 and task.T == r["N"] ** r["S"]


def test_task_from_is_random_task_with_the_recipes_knobs():
    r = {"kind": "almost-rank", "N": 4, "S": 2, "d": 1, "sigma": 0.2, "decay": 0.9, "prior": "zipf", "seed": 7,
         "eps": 0.3}  # eps: a claim's own parameter, not a knob
    got = task_from(r)
    want = random_task("almost-rank", 4, 2, d=1, sigma=0.2, decay=0.9, prior="zipf", seed=7)
    assert np.array_equal(got.cond, want.cond) and np.array_equal(got.prior, want.prior)


def test_lookup_entropy_frac_is_a_fraction_of_log_N():
    r = {"kind": "lookup", "N": 5, "S": 1, "entropy_frac": 0.25, "prior": "uniform", "seed": 0}
    want = random_task("lookup", 5, 1, entropy=0.25 * math.log(5), prior="uniform", seed=0)
    assert np.array_equal(task_from(r).cond, want.cond)


def test_explicit_recipes_carry_the_task():
    r = {"kind": "explicit", "N": 3, "S": 1, "logits": [[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]], "weights": [1.0, 3.0],
         "seed": 0, "d": 1}
    t = task_from(r)
    assert np.array_equal(t.cond, explicit_task(r["logits"], r["weights"]).cond) and t.prior.tolist() == [0.25, 0.75]
    assert describe(r) == "explicit N=3 T=2 logits=[[0, 1, 2], [1, 1, 1]] weights=[1, 3] d=1"


def test_describe_lists_knobs_then_the_seed():
    r = {"kind": "dirichlet", "N": 3, "S": 2, "alpha": 0.5, "prior": "zipf", "seed": 9, "d": 2}
    assert describe(r) == "dirichlet N=3 S=2 alpha=0.5 prior=zipf d=2 seed=9"


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match=r"`recipe\['kind'\]` must be one of"):
        task_from({"kind": "nope", "N": 3, "S": 1, "seed": 0})


def test_rng_of_is_seeded_by_the_recipe():
    a = rng_of({"fseed": 5}).standard_normal(3)
    assert np.array_equal(a, rng_of({"fseed": 5}).standard_normal(3))
    assert np.array_equal(rng_of({}).standard_normal(2), np.random.default_rng(0).standard_normal(2))
    assert np.array_equal(rng_of({"wseed": 2}, "wseed").standard_normal(2), np.random.default_rng(2).standard_normal(2))


@given(seeds)
def test_seeds_are_16_bit(s):
    assert 0 <= s < 2**16
