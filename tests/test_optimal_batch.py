"""theory.optimal_batch: the batched optimal rank-d encoder (``paper.prop1``'s dKL(pi, L(N,S,d)), ``paper.lemma1``).

Checks: the joint Hessian against finite differences of the scalar optimiser's gradient kernel; the gradient
certificate of every batch result (recomputed with the public ``kl_and_grad``); agreement with the scalar
``optimal_encoder`` (``BATCH_AGREE_RTOL``) on random instances whose starts lead both methods to one minimum;
the scalar fallback (exactly the scalar result) where the batch does not apply.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from aotmem.theory.batch import tasks_from_logits
from aotmem.theory.optimal import GRAD_TOL, balance, kl_and_grad, neg_entropy, objective_grad, optimal_encoder
from aotmem.theory.optimal_batch import BATCH_AGREE_RTOL, minimize_batch, optimal_encoder_batch
from aotmem.theory import optimal_batch


def _tasks(seed, B, T, N, scale):
    rng = np.random.default_rng(seed)
    return tasks_from_logits(rng.normal(size=(B, T, N)) * scale, rng.uniform(-3, 0, size=(B, T)))


def test_hessian_matches_finite_differences():
    """The assembled joint Hessian is the derivative of objective_grad's gradient (central differences)."""
    B, T, N, d = 2, 4, 5, 2
    p, P = _tasks(1, B, T, N, 2.0)
    rng = np.random.default_rng(2)
    W, E = rng.normal(size=(B, N, d)), rng.normal(size=(B, T, d))
    ne = neg_entropy(p, P)
    H = optimal_batch._hessian(p, P, W, E)

    def grad(x):
        v, gW, gE = objective_grad(p, P, ne, x[:, :N * d].reshape(B, N, d), x[:, N * d:].reshape(B, T, d))
        return np.concatenate([gW.reshape(B, -1), gE.reshape(B, -1)], axis=1)

    x = np.concatenate([W.reshape(B, -1), E.reshape(B, -1)], axis=1)
    h = 1e-6
    Hn = np.stack([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(x.shape[1])], axis=2)
    assert np.max(np.abs(H - Hn)) < 1e-7 * np.max(np.abs(H))


def test_balance_batched_equals_scalar():
    """balance with a leading batch axis is the scalar balance of each instance (one kernel)."""
    rng = np.random.default_rng(3)
    W, E = rng.normal(size=(4, 6, 2)), rng.normal(size=(4, 5, 2))
    Wb, Eb = balance(W, E)
    for b in range(4):
        w, e = balance(W[b], E[b])
        np.testing.assert_allclose(Eb[b] @ Wb[b].T, e @ w.T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(Wb[b], w, rtol=0, atol=1e-12)


def test_batch_agrees_with_scalar():
    """paper.prop1: where the starts lead to one minimum (T = N = 3, d = 1), batch and scalar optimum agree to
    BATCH_AGREE_RTOL, both certified (grad <= GRAD_TOL)."""
    p, P = _tasks(13, 24, 3, 3, 1.0)
    rb = optimal_encoder_batch(p, P, 1)
    assert all("batched" in r.message for r in rb)
    for b, r in enumerate(rb):
        s = optimal_encoder(p[b], P[b], 1, starts=0, seed=0)
        assert r.converged and s.converged
        assert abs(r.divergence - s.divergence) <= BATCH_AGREE_RTOL * s.divergence + 1e-15


@pytest.mark.parametrize("shape", [(4, 5, 1, 1.0), (6, 5, 2, 1.0)])
def test_batch_and_scalar_are_both_stationary(shape):
    """The objective is non-convex (paper.prop1's minimum over rank-d maps): from the same starts the batched damped
    Newton and the scalar trust-region method may end in different local minima. Both are certified stationary;
    on these instances most agree to BATCH_AGREE_RTOL (measured: the rest differ in either direction)."""
    T, N, d, scale = shape
    p, P = _tasks(10 + T, 24, T, N, scale)
    rb = optimal_encoder_batch(p, P, d)
    agree = 0
    for b, r in enumerate(rb):
        s = optimal_encoder(p[b], P[b], d, starts=0, seed=0)
        assert r.converged and s.converged and r.grad_max <= GRAD_TOL
        agree += abs(r.divergence - s.divergence) <= BATCH_AGREE_RTOL * s.divergence + 1e-15
    assert agree >= 18


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.integers(2, 6), st.integers(3, 8), st.floats(0.1, 4.0))
def test_batch_results_are_certified(seed, T, N, scale):
    """Every batch result passes the gradient test at its factors (recomputed by kl_and_grad), is never above its
    starts, and has Assumption 2 (paper.lemma1: the infimum is attained)."""
    d = 1 if min(N - 1, T) <= 2 else 2
    p, P = _tasks(seed, 5, T, N, scale)
    for b, r in enumerate(optimal_encoder_batch(p, P, d)):
        if "batched" not in r.message:
            continue
        _, gW, gE = kl_and_grad(p[b], P[b], r.W, r.E)
        assert max(np.max(np.abs(gW)), np.max(np.abs(gE))) <= GRAD_TOL
        assert r.converged and r.reason == "converged"
        assert r.divergence <= min(r.initial_divergences.values()) * (1 + 1e-12) + 1e-15


def test_fallback_is_the_scalar_result():
    """Where the batch does not apply (a zero prior entry; d >= min(N-1, T)), the result is optimal_encoder's own."""
    p, P = _tasks(5, 3, 4, 5, 1.0)
    p = p.copy()
    p[0] = [0.5, 0.5, 0.0, 0.0]
    r = optimal_encoder_batch(p, P, 2)[0]
    s = optimal_encoder(p[0], P[0], 2, starts=0, seed=0)
    assert "batched" not in r.message and r.divergence == s.divergence
    r = optimal_encoder_batch(p[1:], P[1:], 4)[0]  # d >= N - 1: the closed form of paper.prop2
    assert r.reason == "exact" and "batched" not in r.message


def test_minimize_batch_never_increases():
    """Every accepted step decreases the objective: the end point is never above the start."""
    p, P = _tasks(7, 6, 5, 6, 3.0)
    rng = np.random.default_rng(8)
    W0, E0 = rng.normal(size=(6, 6, 2)), rng.normal(size=(6, 5, 2))
    run = minimize_batch(p, P, W0, E0, max_iter=5)
    f0 = objective_grad(p, P, neg_entropy(p, P), W0, E0)[0]
    assert np.all(run.value <= f0 + 1e-12)


def test_bad_input_names_the_argument():
    p, P = _tasks(0, 2, 3, 4, 1.0)
    with pytest.raises(ValueError, match="prior"):
        optimal_encoder_batch(p[:, :2], P, 1)
    with pytest.raises(ValueError, match="cond"):
        optimal_encoder_batch(p, P * 2, 1)
    with pytest.raises(ValueError, match="d"):
        optimal_encoder_batch(p, P, 0)
