"""aotmem.strategies: the ledger's Hypothesis strategies, public; each draws what its name promises."""

import numpy as np
from hypothesis import given, settings

import aotmem
import aotmem.strategies as ast
from aotmem.theory.aot import AoT
from aotmem.theory.lowrank import LowRank
from aotmem.verify.ledger import recipes
from aotmem.verify.ledger.search import FAMILIES


def test_the_public_strategies_are_the_ledgers():
    # the same objects verify/ledger/recipes.py gives the claims, not copies
    for name in ("dirichlet_recipes", "almost_rank_recipes", "lookup_recipes", "association_recipes",
                 "permutation_recipes", "explicit_recipes", "full_support_recipes", "task_from", "seeds"):
        assert getattr(ast, name) is getattr(recipes, name), name
    assert ast.FAMILIES is FAMILIES
    assert aotmem.strategies is ast


@settings(max_examples=25, deadline=None)
@given(ast.family_recipes(max_n=5, max_t=4, d=1))
def test_family_recipes_are_explicit_full_support_tasks_of_a_named_family(r):
    assert r["family"] in FAMILIES and r["kind"] == "explicit"
    task = ast.task_from(r)
    assert task.full_support() and task.T == len(r["logits"]) <= 4 and task.N == r["N"] <= 5


@settings(max_examples=25, deadline=None)
@given(ast.lowrank_maps(max_n=5, max_t=4))
def test_lowrank_maps_have_rank_at_most_d(m):
    assert isinstance(m, LowRank)
    assert np.linalg.matrix_rank(m.F) <= m.d < m.N


@settings(max_examples=10, deadline=None)
@given(ast.aots())
def test_aots_have_the_recipes_shape(pair):
    task, model = pair
    assert isinstance(model, AoT) and task.full_support()
    assert model.shape.N == task.N and model.shape.S == task.S and model.shape.H <= 16


@settings(max_examples=15, deadline=None)
@given(ast.recipe_tasks(ast.permutation_recipes()))
def test_recipe_tasks_rebuild_the_task_from_the_recipe(pair):
    r, task = pair
    again = ast.task_from(r)
    assert np.array_equal(task.cond, again.cond) and np.array_equal(task.prior, again.prior)
