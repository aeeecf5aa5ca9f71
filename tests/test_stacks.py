"""The float64 functions on a stack of instances (issue 17: scalar and batched are the same code).

kl_rows, kl, fbar, the Taylor quantities, sigma and the almost-rank-d bounds take ``prior (B, T)``,
``cond (B, T, N)``, ``F (B, T, N)``: every instance is checked as a single one is, and the kernel runs once on
the stack. Tolerance: the per-instance values are the same kernel's, except the last dot product
``sum_t p(t) rows_t``, which a stack sums by ``matmul`` and a single instance by ``p @ rows``; their
summation orders may differ by a few roundings: 4 eps relative (T <= 8 terms of one sign: the rounding of
a sum of positive terms is at most (T-1) eps relative; measured 0 on these sizes).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.theory import bounds, divergence, spectra
from aotmem.theory.batch import tasks_from_logits
from aotmem.theory.spectra import SIGMA_READINGS

EPS = np.finfo(float).eps
DOT_RTOL = 4 * EPS


@st.composite
def stacks(draw):
    B, T, N = draw(st.integers(1, 5)), draw(st.integers(1, 8)), draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    prior, cond = tasks_from_logits(rng.normal(scale=2.0, size=(B, T, N)), rng.uniform(-4, 0, size=(B, T)))
    F = rng.normal(scale=3.0, size=(B, T, N))
    return prior, cond, F


def _same(stacked, singles, rtol=0.0):
    singles = np.asarray(singles)
    assert stacked.shape == singles.shape
    with np.errstate(invalid="ignore"):  # inf - inf where a bound is +inf in both: equal, not NaN
        ok = (stacked == singles) | (np.abs(stacked - singles) <= rtol * np.abs(singles))
    assert ok.all(), (stacked[~ok], singles[~ok])


@settings(max_examples=40)
@given(stacks(), st.sampled_from(SIGMA_READINGS), st.integers(1, 3))
def test_a_stack_gives_each_instance_its_own_value(data, reading, d):
    prior, cond, F = data
    B = len(cond)
    _same(divergence.kl_rows(cond, F), [divergence.kl_rows(cond[b], F[b]) for b in range(B)])
    _same(divergence.fbar(cond, F), [divergence.fbar(cond[b], F[b]) for b in range(B)])
    for fn in (divergence.kl, divergence.taylor_proxy, divergence.taylor_remainder_bound, divergence.taylor_identity_rhs):
        _same(fn(prior, cond, F), [fn(prior[b], cond[b], F[b]) for b in range(B)], DOT_RTOL)
    _same(spectra.sigma(prior, cond, d + 1, reading), [spectra.sigma(prior[b], cond[b], d + 1, reading) for b in range(B)])
    for b_ in bounds.CATALOGUE:
        if b_.needs == "assumption2":
            _same(b_.rhs(prior, cond, d), [b_.rhs(prior[b], cond[b], d) for b in range(B)], DOT_RTOL)


def test_a_bad_instance_raises_the_scalar_message_naming_it():
    prior, cond = tasks_from_logits(np.zeros((3, 2, 3)), np.zeros((3, 2)))
    F = np.zeros((3, 2, 3))
    cond[2, 0] = [1.0, 0.0, 0.0]  # Assumption 2 fails in instance 2 only
    assert np.isfinite(divergence.kl(prior, cond, F)).all()  # kl needs no Assumption 2
    with pytest.raises(ValueError, match=r"^instance 2: `cond` must satisfy Assumption 2"):
        divergence.taylor_proxy(prior, cond, F)
    with pytest.raises(ValueError, match=r"^instance 2: `cond` violates Assumption 2"):
        bounds.draft_ls_bound(prior, cond, 1)
    with pytest.raises(ValueError, match=r"^instance 2: `cond` violates Assumption 2"):
        spectra.sigma(prior, cond, 2)
    F[1, 0, 0] = 1e308 * 10  # inf: the scalar check names `F`
    with pytest.raises(ValueError, match=r"^instance 1: `F` contains inf"):
        divergence.kl(prior, cond, F)
    with pytest.raises(ValueError, match=r"`prior` must be a stack of B = 3"):
        divergence.kl(prior[:2], cond, np.zeros((3, 2, 3)))


def test_single_instance_options_are_refused_on_a_stack_not_ignored():
    prior, cond = tasks_from_logits(np.zeros((2, 2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`chunk` applies to one instance"):
        divergence.kl(prior, cond, np.zeros((2, 2, 3)), chunk=1)
    with pytest.raises(ValueError, match="`dps` applies to one instance"):
        spectra.sigma(prior, cond, 1, dps=50)
    with pytest.raises(ValueError, match="`dps` applies to one instance"):
        bounds.seed_ls_bound(prior, cond, 1, dps=50)
    with pytest.raises(ValueError, match="`cond` must be 2-dimensional"):  # the dps= branches take one instance
        divergence.kl(prior, cond, np.zeros((2, 2, 3)), dps=50)
