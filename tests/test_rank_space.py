"""aotmem.verify.ledger.rank_space: the search space of ``paper.lemma2`` / ``draft.lemma-rank`` (issue 20: every parameter
of the regime searched, families from the equality cases, a recipe outside a reading's conditions never judged)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.verify.ledger.rank_space import PICKS, RANK_FAMILIES, RankSpace, rank_sequences
from aotmem.verify.ledger.registry import evaluate, get
from aotmem.verify.ledger.search import recipe_size

FLOAT64_READINGS = ("paper.lemma2[construction=draw_primed]", "paper.lemma2+S>=2+d<=N+S-2[construction=draw_primed]",
                    "paper.lemma2+S>=2+cap[construction=draw_primed]",
                    "draft.lemma-rank+S>=2+d<=N+S-2[construction=draw_primed]",
                    "draft.lemma-rank[construction=draw_primed]")
CERTIFIED_READINGS = ("paper.lemma2[certified]", "paper.lemma2+S>=2+d<=N+S-2[certified]")
FULL_HEADS = ("draft.lemma-rank+S>=2+d<=N+S-2[construction=draw_primed]", "draft.lemma-rank[construction=draw_primed]")


@pytest.mark.parametrize("pick", PICKS)
def test_rank_sequences_are_distinct_deterministic_and_ordered_by_pick(pick):
    a = rank_sequences(3, 2, 4, 7, pick)
    assert a.shape == (4, 2) and len({tuple(r) for r in a.tolist()}) == 4
    assert np.array_equal(a, rank_sequences(3, 2, 4, 7, pick))
    if pick == "repeats":  # the constant sequences first: (0,0), (1,1), (2,2), then one more
        assert sum(len(set(r)) == 1 for r in a.tolist()) == 3
    if pick == "same-last":  # the N = 3 sequences ending in token 0 first
        assert sum(r[-1] == 0 for r in a.tolist()) == 3


def test_rank_sequences_refuse_bad_arguments():
    with pytest.raises(ValueError, match="pick"):
        rank_sequences(3, 2, 4, 0, "worst")
    with pytest.raises(ValueError, match="T0"):
        rank_sequences(3, 2, 10, 0)


@pytest.mark.parametrize("key", FLOAT64_READINGS)
def test_every_family_lands_in_the_readings_regime(key):
    """The families draw in the reading's regime (its joint conditions, N^S <= max_t, T_0 <= N^S, full heads)."""
    claim = get(key)
    space = claim.space
    assert isinstance(space, RankSpace) and claim.recheck is not None
    rng = np.random.default_rng(0)
    like = {"N": 4, "S": 2, "d": 2, "H": 3, "T0": 5, "qk": "rank1", "seed": 1, "pick": "random"}
    like = space.finish(like)
    names = set()
    for _ in range(200):
        name, r = space.family_recipe(rng, like, 7)
        names.add(name)
        T = r["N"] ** r["S"]
        assert T <= space.max_t and 1 <= r["T0"] <= T and r["d"] >= 1 and r["H"] >= 1
        assert space.valid(r), (name, r)
        if key in FULL_HEADS:
            assert r["T0"] == T and r["H"] == -(-T // r["d"])
        ev = evaluate(key, r)
        assert ev.outside is None or "outside the reading's regime" not in ev.outside, (name, r, ev.outside)
    assert len(names) >= 6, names  # the edges are drawn, not only the regime family


def test_the_families_reach_the_regimes_edges():
    space = get("paper.lemma2+S>=2+cap[construction=draw_primed]").space
    rng = np.random.default_rng(1)
    like = space.finish({"N": 5, "S": 2, "d": 2, "H": 2, "T0": 9, "qk": "full", "seed": 3})
    seen = {"d=N+S-2": False, "d=N+S-1": False, "T0=Hd": False, "N=2": False, "repeats": False}
    for _ in range(300):
        name, r = space.family_recipe(rng, like, 7)
        seen["d=N+S-2"] |= r["d"] == r["N"] + r["S"] - 2
        seen["d=N+S-1"] |= r["d"] == r["N"] + r["S"] - 1
        seen["T0=Hd"] |= r["T0"] == r["H"] * r["d"]
        seen["N=2"] |= r["N"] == 2
        seen["repeats"] |= r.get("pick") == "repeats"
    assert all(seen.values()), seen


def test_encode_decode_moves_the_shape_and_keeps_it_in_bounds():
    space = get("paper.lemma2[construction=draw_primed]").space
    assert [p.name for p in space.params] == ["N", "S", "d", "H", "T0"]
    like = {"N": 3, "S": 2, "d": 2, "H": 2, "T0": 5, "qk": "rank1", "seed": 0, "pick": "random"}
    x = space.encode(like)
    assert space.decode(x, like) == like
    far = space.decode(x + 50.0, like)  # every coordinate far past its upper limit
    assert far["N"] ** far["S"] <= space.max_t and far["T0"] <= far["N"] ** far["S"]
    assert far["N"] != like["N"] and far["d"] != like["d"]


@pytest.mark.parametrize("key, recipe, needs", [
    ("paper.lemma2+S>=2+d<=N+S-2[construction=draw_primed]",
     {"N": 3, "S": 2, "d": 4, "H": 1, "T0": 4, "qk": "rank1", "seed": 0}, "d <= N + S - 2"),
    ("paper.lemma2+S>=2+cap[construction=draw_primed]",
     {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0}, "S >= 2"),
    ("draft.lemma-rank[construction=draw_primed]",
     {"N": 3, "S": 2, "d": 2, "H": 2, "T0": 9, "qk": "rank1", "seed": 0}, "H = ceil"),
    ("paper.lemma2[certified]", {"N": 5, "S": 2, "d": 2, "H": 2, "T0": 20, "qk": "rank1", "seed": 0}, "T_0 <= 16"),
])
def test_a_recipe_outside_the_readings_conditions_is_outside_not_judged(key, recipe, needs):
    """A shrunk or optimised recipe can leave a reading's regime: it is outside, never a (false) violation."""
    ev = evaluate(key, recipe)
    assert ev.outside is not None and needs in ev.outside


@pytest.mark.parametrize("key", CERTIFIED_READINGS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_certified_readings_sample_their_regime_families_included(key, data):
    claim = get(key)
    assert claim.space is None  # ~30 ms of mpmath each: searched by sampling, the families inside the sampler
    r = data.draw(claim.instances("quick"))
    assert r["T0"] <= 16 and r["H"] * r["d"] <= 32
    if "S>=2" in key:
        assert r["S"] >= 2 and r["d"] <= r["N"] + r["S"] - 2


def test_structured_recipes_are_ordered_by_their_tasks_size():
    """The shrinker keeps a smaller N^S (recipe_size of a structured recipe counts its task's rows and tokens)."""
    small = {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0}
    big = dict(small, N=8)
    assert recipe_size(small) < recipe_size(big)
    assert recipe_size(dict(small, S=2)) > recipe_size(small)


def test_family_names_are_the_documented_ones():
    assert set(RANK_FAMILIES) == {"regime", "smallest", "S-switch", "restricted-edge", "cap-edge", "T0-edge",
                                  "repeats", "same-last"}
