"""Hypothesis strategies for the objects of the theory: the ones the claims ledger draws (``aotmem.strategies``).

Use them in your own ``@given`` tests to draw what ``aotmem verify`` draws:

- *recipes* (``dirichlet_recipes``, ``almost_rank_recipes``, ``lookup_recipes``,
  ``association_recipes``, ``permutation_recipes``, ``explicit_recipes``,
  ``full_support_recipes``, ``aot_recipes``, ``family_recipes``): the JSON-able dicts
  the ledger searches over (:mod:`aotmem.verify.ledger.recipes`); :func:`task_from` rebuilds
  the task from one, so a failing example is a recipe the ledger can replay;
- *tasks* (``dirichlet_tasks``, ``almost_rank_tasks``, ``lookup_tasks``,
  ``association_tasks``, ``permutation_tasks``, ``explicit_tasks``,
  ``full_support_tasks``, ``any_tasks``, ``family_tasks``): :class:`aotmem.Task`
  objects built from those recipes; each composite asserts the invariant its name
  promises (full support, one-hot rows, the look-up entropy, the almost-rank
  ``sigma_{d+1}``, the permutation hypothesis);
- *maps and models*: ``lowrank_maps`` (a rank-``d`` logit map ``F = E W^T``, a
  :class:`aotmem.theory.lowrank.LowRank`), ``aot_params`` (the sizes and weight scale
  of a random AoT, the ledger's ``aot_recipes``) and ``aots`` (an
  :class:`aotmem.theory.aot.AoT` with Gaussian weights of that shape).

Knobs are keyword-only: ``profile`` (the recipes' size limits,
:data:`aotmem.verify.ledger.recipes.LIMITS`: ``quick`` ``T <= 64``, ``full`` ``T <= 256``),
``min_n`` where the recipe has one, and ``max_n`` / ``max_t`` to keep a test's sizes
smaller than the profile's (a filter on the recipe: ``N <= max_n``, ``T <= max_t``).
The structured families are those of the ledger's search (:data:`FAMILIES`,
:mod:`aotmem.verify.ledger.search`): the equality cases of the proofs.

>>> from hypothesis import find
>>> import aotmem.strategies as ast
>>> task = find(ast.lookup_tasks(max_n=4), lambda t: True)
>>> 3 <= task.N <= 4
True
>>> sorted(find(ast.dirichlet_recipes(), lambda r: True))
['N', 'S', 'alpha', 'kind', 'prior', 'seed']
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from aotmem.theory.divergence import entropy, log_softmax
from aotmem.theory.generators import permutation_of
from aotmem.theory.spectra import sigma as sigma_of
from aotmem.theory.task import Task
from aotmem.theory.aot import AoT
from aotmem.theory.lowrank import LowRank
from aotmem.verify.ledger.recipes import (
    almost_rank_recipes,
    association_recipes,
    dirichlet_recipes,
    explicit_recipes,
    full_support_recipes,
    lookup_recipes,
    permutation_recipes,
    seeds,
    task_from,
)
from aotmem.verify.ledger.search import FAMILIES
from aotmem.verify.ledger.search import family_tasks as _family_draw

__all__ = [
    # the ledger's recipes (JSON-able instances: what a counterexample records)
    "seeds", "dirichlet_recipes", "almost_rank_recipes", "lookup_recipes", "association_recipes",
    "permutation_recipes", "explicit_recipes", "full_support_recipes", "aot_recipes", "family_recipes",
    # objects built from them
    "recipe_tasks", "dirichlet_tasks", "full_support_tasks", "explicit_tasks", "lookup_tasks",
    "association_tasks", "almost_rank_tasks", "permutation_tasks", "any_tasks", "family_tasks",
    "lowrank_maps", "aot_params", "aots", "task_from", "FAMILIES",
]

# The almost-rank generator puts sigma_{d+1} exactly (its docstring); float64's SVD finds it to ~1e-15 of
# sigma_1 <= 2 * top = 6 (a few ulps of the largest singular value).
SIGMA_ATOL = 1e-12
# lookup_task solves for the entropy with brentq (4 eps relative); the rows' entropy then carries a few ulps
# of log N.
ENTROPY_ATOL = 1e-12


def _task_count(r: dict) -> int:
    return len(r["logits"]) if r["kind"] == "explicit" else r["N"] ** r["S"]


def _sized(recipes, *, max_n: int | None, max_t: int | None):
    """``recipes`` with ``N <= max_n`` and ``T <= max_t`` (either ``None``: the profile's limit only)."""
    if max_n is None and max_t is None:
        return recipes
    return recipes.filter(lambda r: (max_n is None or r["N"] <= max_n) and (max_t is None or _task_count(r) <= max_t))


def recipe_tasks(recipes) -> st.SearchStrategy:
    """``(recipe, task)`` of any recipe strategy (the task rebuilt from the recipe alone)."""
    return recipes.map(lambda r: (r, task_from(r)))


@st.composite
def dirichlet_tasks(draw, *, profile: str = "quick", min_n: int = 2, max_n: int | None = None,
                    max_t: int | None = None) -> Task:
    """Dirichlet rows (Assumption 2), uniform or Zipf prior (``dirichlet_recipes``)."""
    task = task_from(draw(_sized(dirichlet_recipes(profile, min_n=min_n), max_n=max_n, max_t=max_t)))
    assert task.full_support() and task.T == task.N**task.S
    return task


@st.composite
def full_support_tasks(draw, *, profile: str = "quick", max_n: int | None = None, max_t: int | None = None) -> Task:
    """Assumption 2: almost-rank, Dirichlet (``N >= 3``) or explicit tasks (``full_support_recipes``)."""
    task = task_from(draw(_sized(full_support_recipes(profile), max_n=max_n, max_t=max_t)))
    assert task.full_support()
    return task


@st.composite
def explicit_tasks(draw, *, profile: str = "quick", min_n: int = 3, max_n: int | None = None,
                   max_t: int = 4) -> Task:
    """Small tasks given entry by entry: logits in [-8, 8] (half on the grid -3..3), ``T <= max_t`` rows."""
    r = draw(_sized(explicit_recipes(profile, min_n=min_n, max_t=max_t), max_n=max_n, max_t=None))
    task = task_from(r)
    assert task.full_support() and task.T == len(r["logits"]) <= max_t
    return task


@st.composite
def lookup_tasks(draw, *, profile: str = "quick", min_n: int = 3, max_n: int | None = None,
                 max_t: int | None = None) -> Task:
    """Noisy look-up tables: every row's entropy is ``entropy_frac * log N``, in ``(0, log N)`` (``lookup_recipes``)."""
    r = draw(_sized(lookup_recipes(profile, min_n=min_n), max_n=max_n, max_t=max_t))
    task = task_from(r)
    h = entropy(task.cond)
    assert np.allclose(h, r["entropy_frac"] * math.log(r["N"]), rtol=0, atol=ENTROPY_ATOL)
    assert (h > 0).all() and (h < math.log(task.N)).all()
    return task


@st.composite
def association_tasks(draw, *, profile: str = "quick", min_n: int = 2, max_n: int | None = None,
                      max_t: int | None = None) -> Task:
    """One-hot rows (Assumption 1) (``association_recipes``)."""
    task = task_from(draw(_sized(association_recipes(profile, min_n=min_n), max_n=max_n, max_t=max_t)))
    assert task.is_association()
    return task


@st.composite
def almost_rank_tasks(draw, *, profile: str = "quick", max_n: int | None = None, max_t: int | None = None,
                      max_sigma: float = 2.5):
    """``(task, d, sigma)``: uniform-centred ``sigma_{d+1} = sigma``, ``1 <= d <= N - 2`` (``almost_rank_recipes``)."""
    r = draw(_sized(almost_rank_recipes(profile, max_sigma=max_sigma), max_n=max_n, max_t=max_t))
    task = task_from(r)
    assert task.full_support() and 1 <= r["d"] <= task.N - 2
    assert abs(sigma_of(task.prior, task.cond, r["d"] + 1, "uniform") - r["sigma"]) <= SIGMA_ATOL
    return task, r["d"], r["sigma"]


@st.composite
def permutation_tasks(draw, *, profile: str = "quick", max_n: int | None = None, max_t: int | None = None):
    """``(task, d)`` satisfying the hypothesis of ``draft.cor-permutation`` (``permutation_recipes``)."""
    r = draw(_sized(permutation_recipes(profile), max_n=max_n, max_t=max_t))
    task = task_from(r)
    xi = permutation_of(task)  # raises unless the hypothesis holds
    assert sorted(xi.tolist()) == list(range(task.N)) and 1 <= r["d"] < task.N
    return task, r["d"]


def any_tasks(*, profile: str = "quick", max_n: int | None = None, max_t: int | None = None):
    """Any kind of task: full support (Dirichlet), look-up table or association."""
    kw = dict(profile=profile, max_n=max_n, max_t=max_t)
    return st.one_of(dirichlet_tasks(**kw), lookup_tasks(**kw), association_tasks(**kw))


@st.composite
def family_recipes(draw, *, N: int | None = None, T: int | None = None, d: int = 1, names=tuple(FAMILIES),
                   max_n: int = 7, max_t: int = 8) -> dict:
    """An explicit recipe from one of the search's structured families (:data:`FAMILIES`).

    ``{"kind": "explicit", "family": name, "logits", "weights", "N", "S", "seed": 0, "d"}``; the
    family's own random draws come from a Hypothesis-drawn seed (so it shrinks and replays).
    """
    unknown = [n for n in names if n not in FAMILIES]
    if unknown or not names:
        raise ValueError(f"`names` must be families among {sorted(FAMILIES)} (got {list(names)})")
    N = draw(st.integers(3, max_n)) if N is None else N
    T = draw(st.integers(max(1, d), max(max(1, d), max_t))) if T is None else T
    rng = np.random.default_rng(draw(seeds))
    name, Z, lw = _family_draw(rng, T, N, min(max(1, d), N - 1), tuple(names))
    S = 1
    while N**S < T:
        S += 1
    return {"kind": "explicit", "family": name, "N": N, "S": S, "seed": 0, "d": d,
            "logits": Z.tolist(), "weights": np.exp(lw).tolist()}


@st.composite
def family_tasks(draw, **kw) -> Task:
    """A task from one of the search's structured families (:func:`family_recipes`'s keywords)."""
    task = task_from(draw(family_recipes(**kw)))
    assert task.full_support()
    return task


@st.composite
def lowrank_maps(draw, *, N: int | None = None, T: int | None = None, d: int | None = None, max_n: int = 7,
                 max_t: int = 8, scale: float = 3.0) -> LowRank:
    """A rank-``d`` logit map ``F = E W^T`` (``W (N, d)``, ``E (T, d)``): an element of ``L(N, S, d)`` (``paper.prop1``).

    Entries are Gaussian of scale drawn in ``[0.1, scale]`` (a seeded NumPy draw: shrinks and replays).
    """
    N = draw(st.integers(2, max_n)) if N is None else N
    T = draw(st.integers(1, max_t)) if T is None else T
    d = draw(st.integers(1, max(1, N - 1))) if d is None else d
    s = draw(st.floats(0.1, scale))
    rng = np.random.default_rng(draw(seeds))
    return LowRank(rng.standard_normal((N, d)) * s, rng.standard_normal((T, d)) * s)


def aot_params(profile: str = "quick"):
    """The ledger's AoT recipes (``paper.prop1``'s claims): a full-support task recipe plus ``d_model``,
    ``H`` (0-3 heads), ``d_h <= d_model``, ``wscale`` and ``fseed`` (``verify/claims/aot.py``)."""
    from aotmem.verify.claims.aot import aot_recipes

    return aot_recipes(profile)


aot_recipes = aot_params


@st.composite
def aots(draw, *, profile: str = "quick"):
    """``(task, aot)``: a full-support task and a random AoT of the ledger's shapes (:func:`aot_params`)."""
    from aotmem.verify.claims.aot import random_aot

    r = draw(aot_params(profile))
    task = task_from(r)
    model = random_aot(r, task.N, task.S)
    assert isinstance(model, AoT) and model.shape.d == r["d_model"]
    return task, model
