"""Hypothesis strategies for tasks, named for what they make (STYLE.md, item 6)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from aotmem.theory.generators import (
    almost_rank_task,
    association_task,
    dirichlet_task,
    lookup_task,
    permutation_task,
)
from aotmem.theory.task import Task

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def full_support_tasks(draw, *, max_n: int = 6, max_s: int = 2, max_t: int = 64) -> Task:
    """Dirichlet rows (Assumption 2), uniform or Zipf prior."""
    N = draw(st.integers(2, max_n))
    S = draw(st.integers(1, max_s).filter(lambda s: N**s <= max_t))
    alpha = draw(st.sampled_from([0.1, 0.5, 1.0, 5.0]))
    prior = draw(st.sampled_from(["uniform", "zipf"]))
    task = dirichlet_task(N, S, alpha=alpha, prior=prior, seed=draw(seeds))
    assert task.full_support()
    return task


@st.composite
def lookup_tasks(draw, *, max_n: int = 8, max_s: int = 2, max_t: int = 64) -> Task:
    """Noisy look-up tables with entropy in ``(0, log N)``."""
    N = draw(st.integers(3, max_n))
    S = draw(st.integers(1, max_s).filter(lambda s: N**s <= max_t))
    frac = draw(st.floats(0.01, 0.99))
    return lookup_task(N, S, entropy=frac * np.log(N), seed=draw(seeds))


@st.composite
def association_tasks(draw, *, max_n: int = 8, max_s: int = 2, max_t: int = 64) -> Task:
    """One-hot rows (Assumption 1)."""
    N = draw(st.integers(2, max_n))
    S = draw(st.integers(1, max_s).filter(lambda s: N**s <= max_t))
    task = association_task(N, S, seed=draw(seeds))
    assert task.is_association()
    return task


@st.composite
def almost_rank_tasks(draw, *, max_n: int = 8, max_s: int = 2, max_t: int = 64):
    """``(task, d, sigma)`` with uniform-centred ``sigma_{d+1} = sigma``."""
    N = draw(st.integers(3, max_n))
    S = draw(st.integers(1, max_s).filter(lambda s: N**s <= max_t))
    d = draw(st.integers(1, min(N - 2, N**S - 1)))
    sigma = draw(st.floats(0.0, 1.0))
    return almost_rank_task(N, S, d=d, sigma=sigma, seed=draw(seeds)), d, sigma


@st.composite
def permutation_tasks(draw, *, max_n: int = 7, max_s: int = 2, max_t: int = 64):
    """``(task, d)`` satisfying the hypothesis of ``draft.cor-permutation``."""
    N = draw(st.integers(3, max_n))
    S = draw(st.integers(1, max_s).filter(lambda s: N**s <= max_t))
    d = draw(st.integers(1, min(N - 1, N**S) - 1))
    return permutation_task(N, S, d=d, seed=draw(seeds)), d


def any_tasks(**kw):
    """Any kind of task."""
    return st.one_of(full_support_tasks(**kw), lookup_tasks(**kw), association_tasks(**kw))

