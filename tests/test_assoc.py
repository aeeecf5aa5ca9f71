"""seed.assoc-memory: the outer-product associative memory and its measured recall."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aotmem.theory.assoc import (
    assoc_memory_recall,
    outer_product_memory,
    random_embeddings,
    random_mapping,
    recall_capacity,
    recall_curve,
    recall_predictions,
)

seeds = st.integers(0, 2**32 - 1)


@given(N=st.integers(2, 12), d=st.integers(1, 8), mapping=st.sampled_from(["random", "permutation"]), seed=seeds)
@example(N=2, d=1, mapping="random", seed=0)
def test_memory_is_the_sum_of_outer_products(N, d, mapping, seed):
    W_U, W_E = random_embeddings(N, d, seed=seed)
    g = random_mapping(N, mapping, seed=seed + 1)
    W = outer_product_memory(g, W_U, W_E)
    explicit = np.zeros((d, d))
    for i in range(N):
        explicit += np.outer(W_U[g[i]], W_E[i])
    np.testing.assert_allclose(W, explicit, rtol=1e-12, atol=1e-12)


@given(N=st.integers(2, 10), extra=st.integers(0, 5), seed=seeds)
def test_orthonormal_embeddings_recall_every_map(N, extra, seed):
    # With orthonormal rows (possible when d >= N) the scores are exactly
    # 1 at g(i) and 0 elsewhere: the interference the random case suffers is absent.
    rng = np.random.default_rng(seed)
    d = N + extra
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    W_U, W_E = Q[:N], Q[d - N:]  # two sets of orthonormal rows
    g = rng.integers(0, N, size=N)
    W = outer_product_memory(g, W_U, W_E)
    assert np.array_equal(recall_predictions(W, W_U, W_E), g)


def test_recall_is_perfect_far_below_d_and_poor_far_above():
    assert assoc_memory_recall(32, 512, seed=0, trials=2).mean == 1.0
    low = assoc_memory_recall(64 * 16, 16, seed=0, trials=2)
    assert low.mean < 0.1
    assert low.per_trial.shape == (2,)


def test_recall_curve_decreases_from_full_to_small():
    r = recall_curve(32, [0.125, 1, 8, 32], seed=3, trials=3)
    assert r[0] == 1.0
    assert r[-1] < 0.1
    assert np.all(np.diff(r) <= 0.05)  # decreasing up to trial noise


def test_same_seed_same_measurement():
    a = assoc_memory_recall(100, 20, seed=7, trials=3)
    b = assoc_memory_recall(100, 20, seed=7, trials=3)
    c = assoc_memory_recall(100, 20, seed=8, trials=3)
    assert np.array_equal(a.per_trial, b.per_trial)
    assert not np.array_equal(a.per_trial, c.per_trial)
    assert a.recalled == pytest.approx(a.mean * 100)


def test_capacity_meets_its_level_and_the_next_size_does_not():
    d, level = 32, 0.9
    n = recall_capacity(d, level=level, seed=0, trials=3)
    assert 1 <= n <= 64 * d
    assert assoc_memory_recall(n, d, seed=[0, n], trials=3).mean >= level
    assert assoc_memory_recall(n + 1, d, seed=[0, n + 1], trials=3).mean < level


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: assoc_memory_recall(0, 4), "`N`"),
        (lambda: assoc_memory_recall(4, 0), "`d`"),
        (lambda: assoc_memory_recall(4, 4, trials=0), "`trials`"),
        (lambda: assoc_memory_recall(4, 4, mapping="bijection"), "`mapping`"),
        (lambda: outer_product_memory([0, 5], np.eye(2), np.eye(2)), "`g`"),
        (lambda: outer_product_memory([0], np.eye(2), np.eye(2)), "`g`"),
        (lambda: outer_product_memory([0, 1], np.eye(2), np.eye(3)), "`W_E`"),
        (lambda: recall_predictions(np.eye(3), np.eye(2), np.eye(2)), "`W`"),
        (lambda: recall_curve(4, []), "`ratios`"),
        (lambda: recall_capacity(4, level=1.5), "`level`"),
    ],
)
def test_bad_input_is_rejected_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
