"""Hypothesis strategies for tasks, named for what they make, built on the ledger's recipes.

Each strategy draws a recipe of :mod:`aotmem.verify.recipes` (the JSON-able
instances the claims ledger searches over: ``dirichlet_recipes``,
``lookup_recipes``, ...) and builds its task with ``task_from``: no second
copy of the recipe logic, so a failing example is a recipe the ledger can
replay (Hypothesis prints it). Knobs are keyword-only: ``profile`` (the
recipes' size limits, ``verify.recipes.LIMITS``), ``min_n`` where the recipe
has one, and ``max_n`` / ``max_t`` to keep a test's sizes smaller than the
profile's (a filter on the recipe: ``N <= max_n``, ``T <= max_t``). Each
composite asserts the invariant its name promises (full support, one-hot
rows, the look-up entropy, the almost-rank ``sigma_{d+1}``, the permutation
hypothesis).

>>> from hypothesis import find
>>> task = find(lookup_tasks(max_n=4), lambda t: True)
>>> 3 <= task.N <= 4
True
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from aotmem.theory.divergence import entropy, log_softmax
from aotmem.theory.generators import permutation_of
from aotmem.theory.spectra import sigma as sigma_of
from aotmem.theory.task import Task
from aotmem.verify.recipes import (
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

__all__ = ["seeds", "recipe_tasks", "dirichlet_tasks", "full_support_tasks", "explicit_tasks", "lookup_tasks",
           "association_tasks", "almost_rank_tasks", "permutation_tasks", "any_tasks"]

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


# ---- plain builders (not ledger recipes)
def big_vocab_task(N: int, T: int, seed: int = 0, *, rank: int | None = None, noise: float = 1e-3) -> Task:
    """``T`` sequences of length 1 over ``N`` tokens; logits Gaussian, or rank ``rank`` plus ``noise``."""
    rng = np.random.default_rng(seed)
    if rank is None:
        logits = rng.normal(scale=2.0, size=(T, N))
    else:
        logits = rng.normal(size=(T, rank)) @ rng.normal(size=(rank, N)) + noise * rng.normal(size=(T, N))
    cond = np.exp(log_softmax(logits))
    cond /= cond.sum(axis=1, keepdims=True)
    return Task(np.full(T, 1.0 / T), cond, seqs=np.arange(T)[:, None])
