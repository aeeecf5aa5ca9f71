"""aotmem.theory.construct_batch: many small T* of one shape agree with construct, refusals typed."""

import numpy as np
import pytest

from aotmem.theory.construct import SingularSystem, construct, svd_target
from aotmem.theory.construct_batch import SmallConstruction, construct_batch
from aotmem.theory.generators import dirichlet_task


@pytest.mark.parametrize("N, S, d, d_h, eps", [(3, 2, 2, 1, 0.1), (4, 2, 2, 2, 0.3), (2, 4, 1, 1, 0.2)])
def test_batch_agrees_with_construct(N, S, d, d_h, eps):
    tasks = [dirichlet_task(N, S, seed=k, prior="zipf") for k in range(8)]
    targets = [svd_target(t, d) for t in tasks]
    new = construct_batch(tasks, targets, d, d_h, eps, qk="rank1", seed=2)
    for t, g, b in zip(tasks, targets, new):
        rep = construct(t, g, d, d_h, eps, qk="rank1", seed=2).report
        assert isinstance(b, SmallConstruction)
        for f in ("kl_model", "kl_target", "rhs", "rhs_factor2", "C", "norm_WE"):
            assert abs(getattr(b, f) - getattr(rep, f)) <= 1e-9 * max(1.0, abs(getattr(rep, f))), f
        assert (b.T_eps, b.H, b.H_paper) == (rep.T_eps, rep.H, rep.H_paper)
        assert b.max_rel_logit_error <= 1e-6


@pytest.mark.parametrize("N, S, d, d_h", [(3, 2, 2, 3), (2, 3, 3, 1)])
def test_shapes_the_batch_does_not_cover_fall_back_to_construct(N, S, d, d_h):
    # these plans need more heads than the paper's count (d_h > d adds only d; N + S <= d + 1 shares the constant)
    tasks = [dirichlet_task(N, S, seed=k) for k in range(3)]
    targets = [svd_target(t, d) for t in tasks]
    out = construct_batch(tasks, targets, d, d_h, 0.0, qk="full", seed=0)
    for t, g, b in zip(tasks, targets, out):
        assert isinstance(b, SmallConstruction) and not b.batched
        rep = construct(t, g, d, d_h, 0.0, qk="full", seed=0).report
        assert rep.H > rep.H_paper and (b.kl_model, b.H) == (rep.kl_model, rep.H)


def test_singular_shape_is_refused_with_a_typed_error_for_every_instance():
    tasks = [dirichlet_task(4, 1, seed=k) for k in range(3)]  # S = 1: no head sees two positions
    out = construct_batch(tasks, [svd_target(t, 1) for t in tasks], 1, 1, 0.0)
    assert all(isinstance(b, SingularSystem) for b in out)


def test_bad_input_is_a_value_error():
    t = dirichlet_task(3, 2, seed=0)
    with pytest.raises(ValueError, match="same length"):
        construct_batch([t], [], 1, 1, 0.1)
    with pytest.raises(ValueError, match="tasks\\[0\\]"):
        construct_batch([np.eye(2)], [svd_target(t, 1)], 1, 1, 0.1)
