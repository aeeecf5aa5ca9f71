"""aotmem.verify.ledger.params: a claim's parameters, stated once, searched over their whole range."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.verify.ledger.params import Param, as_param, rank_d
from aotmem.verify.ledger.search import TaskSpace

PARAMS = [
    Param("d", 1, lambda N, T: min(N - 2, T), "lin-int"),
    Param("d", lambda N, T: 128 * math.log(N + 1), 2**40, "int"),
    Param("eps", 1e-6, 0.5, "log"),
    Param("x", -2.0, 3.0, "lin"),
]


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"{p.name}-{p.scale}")
@given(N=st.integers(3, 12), T=st.integers(1, 64), x=st.floats(-50, 50), seed=st.integers(0, 2**16))
def test_every_use_stays_in_the_regime(p, N, T, x, seed):
    """Decoding any coordinate, drawing, and the shrinker's simpler values all lie within the limits."""
    lo, hi = p.limits(N, T)
    if hi < lo:
        return
    v = p.decode(x, N, T)
    assert lo <= v <= hi and isinstance(v, int) == p.integer
    w = p.draw(np.random.default_rng(seed), N, T)
    assert lo <= w <= hi
    for c in p.simpler(w, N, T):
        assert lo <= c <= hi and c != w
    if lo < v < hi:  # inside the box, encode and decode are inverse (integers: exactly)
        assert p.decode(p.encode(v), N, T) == pytest.approx(v, rel=1e-12)


@settings(max_examples=30)
@given(data=st.data())
def test_strategy_draws_the_limits_and_the_inside(data):
    p = Param("d", 5, 2**40, "int")
    vals = [data.draw(p.strategy(4, 4)) for _ in range(10)]
    assert all(5 <= v <= 2**40 for v in vals)


def test_draws_reach_both_limits_and_spread_in_log_space():
    """The statement's limiting cases (C -> 0: d -> 2^40) are drawn, and the inside is log-uniform."""
    p = Param("d", 178, 2**40, "int", edge=0.25)
    rng = np.random.default_rng(0)
    v = np.array([p.draw(rng, 3, 1) for _ in range(4000)])
    assert np.mean(v == 178) == pytest.approx(0.125, abs=0.03) and np.mean(v == 2**40) == pytest.approx(0.125, abs=0.03)
    inside = np.log(v[(v > 178) & (v < 2**40)])
    assert abs(np.median(inside) - (math.log(178) + math.log(2**40)) / 2) < 1.0  # log-uniform: median mid-way


def test_rank_d_and_the_older_tuple_spelling():
    assert rank_d().limits(6, 3) == (1, 3) and rank_d(by_rows=False).limits(6, 3) == (1, 4)
    p = as_param(("scale", 1e-3, 3.0, "log"))
    assert isinstance(p, Param) and p.limits(3, 3) == (1e-3, 3.0)
    with pytest.raises(ValueError, match="scale"):
        Param("d", 1, 2, "cubic")


def test_taskspace_moves_the_parameters_with_the_task():
    """The optimiser's vector carries every parameter; decoding keeps it inside the regime of the decoded instance."""
    space = TaskSpace(params=(rank_d(), Param("eps", 1e-6, 0.5, "log")))
    r = {"kind": "explicit", "N": 5, "S": 1, "logits": [[0.1, 0.0, -0.2, 0.3, 0.0]] * 3,
         "weights": [1.0, 0.5, 0.2], "seed": 0, "d": 2, "eps": 0.01}
    x = space.encode(r)
    assert x.size == 3 + 15 + 3 + 2
    assert space.decode(x, r)["d"] == 2 and space.decode(x, r)["eps"] == pytest.approx(0.01)
    x[-2] = math.log(1e3)  # d far beyond min(N - 2, T) = 3
    x[-1] = 10.0
    out = space.decode(x, r)
    assert out["d"] == 3 and out["eps"] == 0.5
    drawn = space.draw_params(np.random.default_rng(1), r)
    assert 1 <= drawn["d"] <= 3 and 1e-6 <= drawn["eps"] <= 0.5
    with pytest.raises(ValueError, match="distinct"):
        TaskSpace(params=(rank_d(), rank_d()))
