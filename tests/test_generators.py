"""theory/generators.py: the task generators (every kind of ``random_task``), their knobs and their validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.theory.divergence import entropy
from aotmem.theory.generators import (
    KINDS,
    almost_rank_task,
    association_on_support,
    association_task,
    dirichlet_task,
    explicit_task,
    lookup_mass_for_entropy,
    lookup_task,
    make_prior,
    permutation_of,
    permutation_task,
    random_task,
)
from aotmem.theory.spectra import singular_values
from aotmem.theory.task import all_sequences
from strategies import seeds


@pytest.mark.parametrize("T", [1, 2, 7])
def test_make_prior_uniform_and_zipf(T):
    assert np.array_equal(make_prior(T), np.full(T, 1.0 / T))
    p = make_prior(T, "zipf", zipf_a=1.5, seed=3)
    assert p.shape == (T,) and abs(p.sum() - 1) <= 1e-15 and (p > 0).all()
    ranks = np.sort(p)[::-1]
    assert np.allclose(ranks, np.arange(1, T + 1) ** -1.5 / np.sum(np.arange(1, T + 1) ** -1.5), rtol=1e-14)
    assert np.array_equal(p, make_prior(T, "zipf", zipf_a=1.5, seed=3))  # seeded


@pytest.mark.parametrize("kw, match", [(dict(T=0), "`T`"), (dict(kind="flat"), "`prior` must be one of"),
                                       (dict(kind="zipf", zipf_a=0.0), "`zipf_a`")])
def test_make_prior_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        make_prior(**(dict(T=3) | kw))


@settings(max_examples=10)
@given(N=st.integers(2, 6), S=st.integers(1, 2), alpha=st.sampled_from([0.05, 0.5, 1.0, 5.0]), seed=seeds)
def test_dirichlet_rows_have_full_support_every_sequence_once(N, S, alpha, seed):
    """Assumption 2 even at alpha = 0.05 (rows drawn through their logs); the sequences are all of N^S."""
    task = dirichlet_task(N, S, alpha=alpha, seed=seed)
    assert task.full_support() and task.T == N**S
    assert np.array_equal(task.seqs, all_sequences(N, S))
    assert np.allclose(task.cond.sum(axis=1), 1, rtol=0, atol=1e-15)
    assert np.array_equal(task.cond, dirichlet_task(N, S, alpha=alpha, seed=seed).cond)


@settings(max_examples=10)
@given(N=st.integers(3, 7), S=st.integers(1, 2), data=st.data(), seed=seeds)
def test_almost_rank_task_puts_sigma_at_d_plus_1(N, S, data, seed):
    """The uniform-centred L has singular values in [top, 2 top] (d of them), then sigma, sigma * decay, ..."""
    T = N**S
    d = data.draw(st.integers(1, min(N - 2, T - 1)), label="d")
    sigma = data.draw(st.floats(0.0, 2.0), label="sigma")
    task = almost_rank_task(N, S, d=d, sigma=sigma, decay=0.5, seed=seed)
    s = singular_values(task.prior, task.cond, "uniform")
    assert np.all((s[:d] >= 3.0 * (1 - 1e-12)) & (s[:d] <= 6.0 * (1 + 1e-12)))
    assert s[d] == pytest.approx(sigma, abs=1e-12)
    r = min(T, N - 1)
    assert np.allclose(s[d:r], sigma * 0.5 ** np.arange(r - d), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw, match", [(dict(d=0), "`d`"), (dict(d=2, N=3), "`d`"), (dict(sigma=-1.0), "`sigma`"),
                                       (dict(sigma=3.0), "`top` must exceed `sigma`")])
def test_almost_rank_validation(kw, match):
    args = dict(N=4, S=2, d=1, sigma=0.5) | kw
    with pytest.raises(ValueError, match=match):
        almost_rank_task(args.pop("N"), args.pop("S"), **args)


@settings(max_examples=10)
@given(N=st.integers(3, 8), frac=st.floats(0.0, 1.0), seed=seeds)
def test_lookup_rows_are_a_noisy_table(N, frac, seed):
    """Each row: 1 - q on g(t), q / (N-1) elsewhere, q = lookup_mass_for_entropy(N, h), entropy h."""
    h = frac * math.log(N)
    task = lookup_task(N, 1, entropy=h, seed=seed)
    q = lookup_mass_for_entropy(N, h)
    g = np.argmax(task.cond, axis=1)
    assert np.allclose(task.cond[np.arange(N), g], 1 - q, rtol=0, atol=1e-15)
    off = task.cond.copy()
    off[np.arange(N), g] = np.nan
    assert np.allclose(off[~np.isnan(off)], q / (N - 1), rtol=1e-14, atol=0)
    assert np.allclose(entropy(task.cond), h, rtol=1e-9, atol=1e-12)


@settings(max_examples=10)
@given(N=st.integers(2, 6), S=st.integers(1, 2), seed=seeds)
def test_association_tasks_are_one_hot_and_association_on_support_keeps_T0(N, S, seed):
    task = association_task(N, S, seed=seed)
    assert task.is_association() and task.T == N**S
    T0 = max(1, task.T // 2)
    sub = association_on_support(N, S, T0, seed=seed)
    assert np.array_equal(sub.cond, task.cond) and int((sub.prior > 0).sum()) == T0
    assert np.allclose(sub.prior[sub.prior > 0], 1.0 / T0)


@settings(max_examples=10)
@given(N=st.integers(3, 7), S=st.integers(1, 2), data=st.data(), seed=seeds)
def test_permutation_task_and_permutation_of(N, S, data, seed):
    """log pi(o|t) - c_t has orthogonal columns aligned with the outputs: permutation_of recovers xi (S_d first)."""
    d = data.draw(st.integers(1, min(N - 1, N**S) - 1), label="d")
    task = permutation_task(N, S, d=d, seed=seed)
    xi = permutation_of(task)
    assert sorted(xi.tolist()) == list(range(N))
    L = np.log(task.cond)
    X = L - L[:, [xi[-1]]]  # the last output is off the aligned set: its column is c_t
    norms = np.linalg.norm(X, axis=0)[xi]
    assert np.all(np.diff(norms[: min(N - 1, N**S)]) <= 1e-9 * norms[0])  # decreasing along xi


def test_permutation_of_refuses_a_task_outside_the_hypothesis():
    with pytest.raises(ValueError, match="hypothesis of draft.cor-permutation"):
        permutation_of(dirichlet_task(4, 1, seed=0))
    with pytest.raises(ValueError, match="`task` must be"):
        permutation_of(np.eye(3))


@pytest.mark.parametrize("kind, kw", [("dirichlet", {"alpha": 2.0}), ("almost-rank", {"d": 1, "sigma": 0.1}),
                                      ("lookup", {"entropy": 0.3}), ("association", {}),
                                      ("permutation", {"d": 1})])
def test_random_task_dispatches_to_the_kinds_generator(kind, kw):
    assert set(KINDS) == {"dirichlet", "almost-rank", "lookup", "association", "permutation"}
    a = random_task(kind, 3, 2, seed=5, **kw)
    b = KINDS[kind](3, 2, seed=5, **kw)
    assert np.array_equal(a.cond, b.cond) and np.array_equal(a.prior, b.prior)


def test_generators_name_bad_sizes():
    with pytest.raises(ValueError, match="`N`"):
        dirichlet_task(1, 2)
    with pytest.raises(ValueError, match="`S`"):
        association_task(3, 0)
    with pytest.raises(ValueError, match="exceeds the generator limit"):
        dirichlet_task(100, 4)
    with pytest.raises(ValueError, match="`T0`"):
        association_on_support(2, 1, 3, seed=0)


def test_explicit_task_names_a_non_numeric_argument():
    """Was 'could not convert string to float' (a ValueError naming nothing), found by tests/test_fuzz_api.py."""
    with pytest.raises(ValueError, match="`logits`"):
        explicit_task("abc", [1.0])
    with pytest.raises(ValueError, match="`weights`"):
        explicit_task([[0.0, 1.0]], "abc")
    # prior weights are normalised by their sum: any finite non-negative vector with a positive sum
    assert explicit_task([[0.0, 1.0], [1.0, 0.0]], [0.485, 0.485]).prior.tolist() == [0.5, 0.5]
    assert math.isclose(explicit_task([[0.0, 0.0]], [3.0]).cond[0, 0], 0.5)


@pytest.mark.parametrize("h", [1e-300, 1.5e-308, 1e-315, 1e-320, 5e-324])
def test_lookup_mass_for_entropy_below_1e_300(h):
    """Was scipy's 'f(a) and f(b) must have different signs' (a ValueError naming nothing) for h below ~7e-298,
    found by the thorough profile (tests/test_task.py::test_lookup_entropy_is_hit, N = 2, frac = 2.2e-308):
    the root q ~ h / log(1/h) lies among the subnormals."""
    q = lookup_mass_for_entropy(2, h)
    assert 0 < q <= 1e-300
    got = -(1 - q) * math.log1p(-q) - q * math.log(q)
    if h >= 1e-315:  # q carries enough subnormal bits for 1e-9 of the entropy
        assert got == pytest.approx(h, rel=1e-9)
    else:  # at the bottom of the subnormal grid: the smallest positive mass, the closest row there is
        assert q <= 1e-322 and got <= 4e-321


# ---- numerical extremes: entropy ends (moved from tests/test_extremes.py)
@pytest.mark.parametrize("N", [2, 7, 10**4])
def test_lookup_mass_at_entropy_ends(N):
    from aotmem.theory.generators import lookup_mass_for_entropy

    assert lookup_mass_for_entropy(N, 0.0) == 0.0
    assert lookup_mass_for_entropy(N, math.log(N)) == pytest.approx((N - 1) / N, rel=1e-15)
    q = lookup_mass_for_entropy(N, 1e-12)  # tiny entropy: q log(1/q) ~ 1e-12
    h = -(1 - q) * math.log1p(-q) - q * math.log(q) + q * math.log(N - 1)
    assert h == pytest.approx(1e-12, rel=1e-9)


# ---- moved from tests/test_task.py
@given(st.integers(2, 50), st.floats(0.0, 1.0))
def test_lookup_entropy_is_hit(N, frac):
    h = frac * np.log(N)
    task = lookup_task(N, 1, entropy=h, seed=0)
    assert np.allclose(entropy(task.cond), h, rtol=1e-9, atol=1e-12)
    assert 0.0 <= lookup_mass_for_entropy(N, h) <= (N - 1) / N


def test_unknown_kind_lists_kinds():
    with pytest.raises(ValueError, match="`kind` must be one of"):
        random_task("nope", 3, 1)
