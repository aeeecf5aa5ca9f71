"""theory/spectra.py: the centred log-probability matrix of each reading and its singular values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aotmem.theory.spectra import SIGMA_READINGS, centred_logits, log_probs, sigma, singular_values
from strategies import full_support_tasks


def test_readings_are_the_four_of_docs_theory():
    assert SIGMA_READINGS == ("uniform", "uniform-prior", "pi", "pi-prior")


@given(full_support_tasks(), st.sampled_from(SIGMA_READINGS))
def test_centred_logits_are_the_readings_formula(task, reading):
    """uniform: L (I - 11^T/N); pi: L - (pi_t . L_t) 1^T; -prior: rows times sqrt p(t)."""
    p, P = task.prior, task.cond
    L = np.log(P)
    C = L - (L.mean(axis=1, keepdims=True) if reading.startswith("uniform") else np.sum(P * L, axis=1, keepdims=True))
    if reading.endswith("-prior"):
        C = np.sqrt(p)[:, None] * C
    got = centred_logits(p, P, reading)
    assert np.allclose(got, C, rtol=0, atol=1e-13 * max(1.0, np.abs(L).max()))
    if reading.startswith("uniform"):
        assert np.allclose(got.sum(axis=1), 0, atol=1e-12 * max(1.0, np.abs(L).max()) * task.N)
    else:  # E_pi of each centred row is 0
        w = np.sqrt(p)[:, None] if reading.endswith("-prior") else 1.0
        assert np.allclose(np.sum(P * got, axis=1), 0, atol=1e-12 * max(1.0, np.abs(L).max()) * np.max(w))


@given(full_support_tasks(), st.sampled_from(SIGMA_READINGS), st.integers(1, 9))
def test_sigma_is_the_jth_singular_value_or_0(task, reading, j):
    s = singular_values(task.prior, task.cond, reading)
    assert s.shape == (min(task.T, task.N),) and np.all(np.diff(s) <= 0) and np.all(s >= 0)
    assert sigma(task.prior, task.cond, j, reading) == (float(s[j - 1]) if j <= s.size else 0.0)


def test_a_per_row_constant_shift_changes_no_uniform_singular_value():
    """log softmax shifts each row by a constant: the uniform-centred L (and its spectrum) does not see it."""
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(6, 4))
    P1 = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    p = np.full(6, 1 / 6)
    s = singular_values(p, P1, "uniform")
    Lc = Z - Z.mean(axis=1, keepdims=True)
    assert np.allclose(s, np.linalg.svd(Lc, compute_uv=False), rtol=1e-12, atol=1e-13)


def test_log_probs_needs_assumption_2_and_readings_are_named():
    P = np.array([[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"`cond` violates Assumption 2 \(full support\): pi\(1\|t=1\) = 0"):
        log_probs(P)
    with pytest.raises(ValueError, match="`reading` must be one of"):
        centred_logits(np.full(2, 0.5), np.full((2, 2), 0.5), "median")
    with pytest.raises(ValueError, match="`j`"):
        sigma(np.full(2, 0.5), np.full((2, 2), 0.5), 0)
    with pytest.raises(ValueError, match="`prior` must have shape"):
        centred_logits(np.full(3, 1 / 3), np.full((2, 2), 0.5))
