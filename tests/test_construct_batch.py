"""aotmem.theory.construct_batch: many small T* of one shape agree with construct, refusals typed.

References: ``paper.theorem1`` (docs/theory.md#construction); issue 20, item 2.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.theory.construct import (EMBEDDINGS, ROUNDING_FACTOR, ConstructionError, InaccurateConstruction,
                                     SingularSystem, construct, keep_sequences, svd_target)
from aotmem.theory.construct_batch import BATCH_AGREE_RTOL, SmallConstruction, construct_batch
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
def test_plans_with_more_heads_than_the_paper_are_built_as_construct_builds_them(N, S, d, d_h):
    # these plans need more heads than the paper's count (d_h > d adds only d; N + S <= d + 1 shares the constant)
    tasks = [dirichlet_task(N, S, seed=k) for k in range(3)]
    targets = [svd_target(t, d) for t in tasks]
    out = construct_batch(tasks, targets, d, d_h, 0.0, qk="full", seed=0)
    for t, g, b in zip(tasks, targets, out):
        rep = construct(t, g, d, d_h, 0.0, qk="full", seed=0).report
        assert isinstance(b, SmallConstruction) and rep.H > rep.H_paper and b.H == rep.H
        assert abs(b.kl_model - rep.kl_model) <= BATCH_AGREE_RTOL * max(1.0, rep.kl_model)


def _kl_model_tol(b, rep, top: float) -> float:
    """How far two float64 builds of one ``T*`` may put ``dKL(pi, T)``: ``BATCH_AGREE_RTOL``, plus what their
    verified errors allow. Each build's logits are within its verified error (plus ``ROUNDING_FACTOR`` times the
    rounding scale ``eta`` of a float64 evaluation) of the target on the kept sequences, so within the sum of
    both of each other there, and within ``C`` times that off them (``C = sqrt(1 + ||M_1^+ M_2||^2)``, a factor
    2 for the norms); KL is 2-Lipschitz in the logits' sup norm. An ill-conditioned ``T*`` (eta ~ 5e-8, met
    with N = 3, S = 3, d = 1) puts two evaluations of the same weights 1e-9 apart in dKL."""
    err = b.max_rel_logit_error + rep.max_rel_logit_error + 2 * ROUNDING_FACTOR * rep.rounding
    return BATCH_AGREE_RTOL * max(1.0, abs(rep.kl_model)) + 2 * 2 * rep.C * err * top


def _agree(b, exc, rep, top: float = 0.0):
    """The batch's result ``b`` for one instance against construct's (``exc`` its refusal, else ``rep``);
    ``top``: the largest kept target logit."""
    if exc is not None:
        assert not isinstance(b, SmallConstruction), f"batch returned a model where construct refused: {exc}"
        assert type(b) is type(exc) and str(b) == str(exc)
        return
    assert isinstance(b, SmallConstruction), f"batch refused ({b}) where construct built"
    assert (b.T_eps, b.H, b.H_paper) == (rep.T_eps, rep.H, rep.H_paper)
    assert b.max_rel_logit_error <= rep.rtol
    for f in ("kl_target", "rhs", "rhs_factor2"):
        assert abs(getattr(b, f) - getattr(rep, f)) <= BATCH_AGREE_RTOL * max(1.0, abs(getattr(rep, f))), f
    assert abs(b.kl_model - rep.kl_model) <= _kl_model_tol(b, rep, top)


def _construct_or_exc(t, g, d, d_h, eps, **kw):
    try:
        return None, construct(t, g, d, d_h, eps, **kw).report
    except ConstructionError as exc:
        return exc, None


@st.composite
def _small_recipes(draw):
    N = draw(st.integers(2, 4))
    S = draw(st.integers(2, 3 if N <= 4 else 2))
    d = draw(st.integers(1, N + 1))
    return dict(N=N, S=S, d=d, d_h=draw(st.integers(1, d + 1)),
                eps=draw(st.one_of(st.just(0.0), st.floats(1e-4, 0.9))),
                qk=draw(st.sampled_from(["rank1", "full"])), embedding=draw(st.sampled_from(EMBEDDINGS)),
                prior=draw(st.sampled_from(["uniform", "zipf"])), seed=draw(st.integers(0, 2**16 - 1)),
                tseeds=draw(st.lists(st.integers(0, 2**31 - 1), min_size=3, max_size=3)))


@settings(max_examples=100)
@given(_small_recipes())
def test_batch_refuses_exactly_what_construct_refuses_and_agrees_on_the_rest(r):
    """300 recipes (100 groups of 3 tasks): the same refusals (type and message), the same dKL(pi, T) and
    right-hand sides to BATCH_AGREE_RTOL. The old batch checked the exact-arithmetic map G^T F_1, not the
    network's forward pass, and returned models construct refuses (the gaussian/orthogonal designs often)."""
    tasks = [dirichlet_task(r["N"], r["S"], seed=s, prior=r["prior"]) for s in r["tseeds"]]
    targets = [svd_target(t, r["d"]) for t in tasks]
    kw = dict(qk=r["qk"], embedding=r["embedding"], seed=r["seed"])
    out = construct_batch(tasks, targets, r["d"], r["d_h"], r["eps"], **kw)
    for t, g, b in zip(tasks, targets, out):
        top = float(np.abs((g[1] @ g[0].T)[keep_sequences(t.prior, r["eps"])]).max())
        _agree(b, *_construct_or_exc(t, g, r["d"], r["d_h"], r["eps"], **kw), top)


@pytest.mark.parametrize("N, S, d, d_h, eps, qk, prior, seed, tseed, refusal", [
    # the old batch's exact-arithmetic check passed; construct's forward pass misses rtol on all 3 draws
    (4, 3, 2, 1, 0.0003073674488342382, "full", "uniform", 26762, 1314947888, InaccurateConstruction),
    # the old batch's kappa_2 of D M_1 passed; construct's kappa_1 (LAPACK) is above 1/u
    (4, 3, 2, 2, 0.00042653467757898126, "full", "zipf", 16343, 674739580, SingularSystem),
])
def test_old_batch_disagreements_are_refused_as_construct_refuses(N, S, d, d_h, eps, qk, prior, seed, tseed,
                                                                   refusal):
    task = dirichlet_task(N, S, seed=tseed, prior=prior)
    g = svd_target(task, d)
    exc, _ = _construct_or_exc(task, g, d, d_h, eps, qk=qk, seed=seed)
    assert isinstance(exc, refusal)
    others = [dirichlet_task(N, S, seed=tseed + k, prior=prior) for k in (1, 2)]  # the same shape where uniform
    out = construct_batch([task] + others, [g] + [svd_target(t, d) for t in others], d, d_h, eps, qk=qk, seed=seed)
    _agree(out[0], exc, None)


def test_batched_models_are_the_aots_construct_checks():
    """A batched instance carries its AoT, whose own logits meet rtol on the kept sequences."""
    tasks = [dirichlet_task(3, 2, seed=k) for k in range(4)]
    out = construct_batch(tasks, [svd_target(t, 2) for t in tasks], 2, 1, 0.1, qk="rank1", seed=1)
    for t, b in zip(tasks, out):
        assert isinstance(b, SmallConstruction) and b.batched
        rep = construct(t, svd_target(t, 2), 2, 1, 0.1, qk="rank1", seed=1).report
        assert b.model.param_count() == rep.param_count
        assert abs(b.kl_model - rep.kl_model) <= BATCH_AGREE_RTOL * max(1.0, rep.kl_model)


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
