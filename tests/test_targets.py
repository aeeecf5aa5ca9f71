"""theory/targets.py: the rank-d targets T* is built for (``rank_d_target``) and the circle target of association tasks."""

from __future__ import annotations

import numpy as np
import pytest

from aotmem.theory.generators import association_task, dirichlet_task
from aotmem.theory.lowrank import f_ls
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.targets import CIRCLE_LIFT, OPTIMAL_MAX_ITER, TARGETS, circle_target, rank_d_target
from aotmem.theory.task import Task


def test_rank_d_target_is_the_named_map():
    """``f_ls``: the uniform-reading least-squares fit; ``optimal``: optimal_encoder from the deterministic starts."""
    task = dirichlet_task(3, 2, seed=0)
    W, E = rank_d_target(task, 1, "f_ls")
    lr = f_ls(task.prior, task.cond, 1, "uniform")
    assert np.array_equal(W, lr.W) and np.array_equal(E, lr.E)
    W, E = rank_d_target(task, 1, "optimal")
    res = optimal_encoder(task.prior, task.cond, 1, starts=0, seed=0, max_iter=OPTIMAL_MAX_ITER)
    assert np.array_equal(W, res.W) and np.array_equal(E, res.E)
    assert res.divergence <= lr.divergence(task.prior, task.cond) + 1e-12  # never worse than its f_ls start


def test_rank_d_target_refuses_a_task_without_full_support_naming_it():
    """Was '`starts` must be >= 1 when Assumption 2 fails' (an argument the caller never passed), found by the
    fixed tests/test_fuzz_api.py: both targets are maps of log Pi, documented as needing Assumption 2."""
    task = Task(np.array([0.5, 0.5]), np.array([[0.0, 1.0], [0.2, 0.8]]))
    for which in TARGETS:
        with pytest.raises(ValueError, match=r"`task` violates Assumption 2"):
            rank_d_target(task, 1, which)


@pytest.mark.parametrize("bad, match", [
    (dict(task=None), "`task`"), (dict(d=0), "`d`"), (dict(which="svd"), "`which` must be one of"),
])
def test_rank_d_target_validation(bad, match):
    kw = dict(task=dirichlet_task(3, 1, seed=0), d=1, which="f_ls") | bad
    with pytest.raises(ValueError, match=match):
        rank_d_target(**kw)


@pytest.mark.parametrize("N, d", [(2, 2), (3, 2), (5, 3), (36, 4)])
def test_circle_target_has_argmax_g_and_full_rank(N, d):
    """``E(t) = scale w_{g(t)}``: the argmax of ``E W^T`` is ``g(t)``; ``W`` and the target have rank ``d``."""
    g = np.arange(N)[::-1].copy()
    W, E = circle_target(g, N, d, 5.0, seed=1)
    assert W.shape == (N, d) and E.shape == (N, d)
    assert np.argmax(E @ W.T, axis=1).tolist() == g.tolist()
    assert np.linalg.matrix_rank(W) == min(d, N) and np.linalg.matrix_rank(E) == min(d, N)
    assert np.abs(W[:, 2:]).max(initial=0.0) <= CIRCLE_LIFT * (1 + 1e-12)  # lifted off the circle's plane by <= CIRCLE_LIFT


def test_circle_target_of_an_association_task():
    task = association_task(4, 2, seed=0)
    g = task.argmax_map()
    W, E = circle_target(g, 4, 3, 10.0)
    assert (np.argmax(E @ W.T, axis=1) == g).all()


@pytest.mark.parametrize("bad, match", [(dict(d=1), "`d`"), (dict(N=37), "`N`"), (dict(scale=0.0), "`scale`")])
def test_circle_target_validation(bad, match):
    kw = dict(g=np.zeros(3, dtype=int), N=3, d=2, scale=1.0) | bad
    with pytest.raises(ValueError, match=match):
        circle_target(**kw)
