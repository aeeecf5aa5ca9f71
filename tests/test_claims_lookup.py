"""aotmem.verify.claims.lookup: look-up tables (``seed.lookup-bound``, ``draft.lookup-theorem``, ``paper.theorem2``).

Regressions: counterexamples found by ``aotmem verify``, recomputed from scratch through the public theory
API (both sides of the claim, and the violation beyond the ledger's tolerance), then fed through the
registry (``verify.registry.evaluate``) so that a verdict that changes is noticed.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.theory.lookup import lookup_C, lookup_encoder
from aotmem.verify.claims.lookup import D_MAX, lookup_d_recipes, lookup_div_eval, lookup_regime, lookup_setup
from aotmem.verify.ledger.registry import KL_ATOL, KL_RTOL
from topic import claims_of, example_test, proved_test, violated


CLAIMS = claims_of("lookup")
PROVED = ["draft.lookup-theorem[lambda-bound]"]  # the D.6 bound on lambda (docs/theory.md): no instance violates it


def test_the_topic_registers_its_claims():
    ids = {c.id for c in CLAIMS}
    assert {"seed.lookup-bound", "draft.lookup-theorem", "paper.theorem2"} <= ids, ids


test_every_example_evaluates = example_test(CLAIMS)
test_proved_statements_hold_on_their_own_instances = proved_test(PROVED)


@settings(max_examples=10)
@given(data=st.data(), regime=st.sampled_from(["any", "C<1/2"]))
def test_lookup_d_recipes_draw_a_jl_dimension(data, regime):
    r = data.draw(lookup_d_recipes(regime=regime))
    dmin = math.floor(128 * math.log(r["N"] + 1)) + 1
    assert r["kind"] == "lookup" and 0 <= r["wseed"] < 2**16 and r["d"] >= 2
    assert r["d"] <= D_MAX  # the whole regime: C -> 0 as d -> D_MAX = 2^40
    if regime == "C<1/2":
        assert dmin <= r["d"] and lookup_C(r["N"], r["d"]) < 0.5


def test_wide_jl_draws_carry_their_exact_gram():
    """Past JL_DENSE_MAX the draw is a Gram factor: float64 Gram to rounding, the exact one at 50 digits."""
    import mpmath
    from aotmem.theory.lookup import jl_certificate
    from aotmem.verify.claims.lookup import JL_DENSE_MAX
    rec = {"kind": "explicit", "N": 4, "S": 1, "logits": [[1.2, -3.0, 0.0, -3.0], [1.0, -1.0, -2.0, -2.0]],
           "weights": [1.0, 1.0], "seed": 0, "d": 10**12, "wseed": 0}
    task, W, cert = lookup_setup(rec)
    K, d = W.gram_exact
    assert d == 10**12 > JL_DENSE_MAX and np.all(np.diag(K) == d)
    assert np.abs(W @ W.T - K / d).max() < 1e-15
    assert float(jl_certificate(W, dps=50)) == pytest.approx(cert.max_dev, rel=1e-15)
    # the encoder's divergence at 50 digits from the exact Gram agrees with float64 to its rounding
    from aotmem.theory.lookup import lookup_encoder
    dk = lookup_encoder(task, W).divergence(task.prior)
    assert float(lookup_encoder(task, W, dps=50).divergence(task.prior)) == pytest.approx(dk, rel=1e-12)
    # the same recipe at a width drawn densely: the N x d matrix itself
    W2 = lookup_setup(dict(rec, d=300))[1]
    assert W2.shape == (4, 300) and not hasattr(W2, "gram_exact")


def test_jl_factor_has_the_rademacher_gram_distribution():
    """K = S S^T of the pattern draw against materialised Rademacher matrices: same mean and variance."""
    from aotmem.theory.lookup import jl_factor
    d, n = 64, 3000
    rng = np.random.default_rng(0)
    dense = np.array([(lambda S: (S @ S.T)[0, 1])(rng.choice([-1, 1], size=(3, d))) for _ in range(n)])
    fact = np.array([jl_factor(3, d, seed=s, tries=1, C=1.0)[0].gram_exact[0][0, 1] for s in range(n)])
    # off-diagonal K_ij: mean 0, variance d for both (4 standard errors)
    for x in (dense, fact):
        assert abs(x.mean()) < 4 * math.sqrt(d / n) and abs(x.var() / d - 1) < 4 * math.sqrt(2 / n)


def test_lookup_setup_and_regime():
    """The task and the certified JL draw of the recipe (the same arrays on a second call); the regime reasons."""
    rec = {"kind": "lookup", "N": 3, "S": 1, "entropy_frac": 0.5, "prior": "uniform", "seed": 0, "d": 2, "wseed": 0}
    task, W, cert = lookup_setup(rec)
    assert task.N == 3 and W.shape == (3, 2) and cert.max_dev == pytest.approx(np.abs(W @ W.T - np.eye(3)).max())
    assert lookup_setup(rec)[1] is W  # cached: the search reuses a draw many times
    *_, C, why = lookup_regime(rec, "formula")
    assert C == lookup_C(3, 2) >= 0.5 and why.startswith("C = ")
    *_, C, why = lookup_regime(dict(rec, d=600), "achieved")
    assert C < 0.5 and why is None


def test_lookup_div_eval_is_the_encoders_divergence_against_the_bound():
    rec = {"kind": "lookup", "N": 3, "S": 1, "entropy_frac": 0.5, "prior": "uniform", "seed": 0, "d": 600,
           "wseed": 0}
    ev = lookup_div_eval("achieved", "draft.lookup-theorem")(rec)
    task, W, cert = lookup_setup(rec)
    assert ev.lhs == pytest.approx(lookup_encoder(task, W).divergence(task.prior), rel=1e-12)
    assert ev.detail["C"] == cert.max_dev and not ev.violated


# ---- seed.lookup-bound without C < 1/2; paper.theorem2's simplified form (regressions)
def test_seed_lookup_bound_as_written_is_negative_for_small_d():
    """N = 3, d = 2: C = sqrt(32 log 4 / 2) = 4.7 > 1/2, (1+4C)/(1-2C) < 0: the RHS is negative."""
    from aotmem.theory.generators import lookup_task
    from aotmem.theory.lookup import jl_matrix, lookup_C, lookup_encoder, lookup_terms

    task = lookup_task(3, 1, entropy=0.5 * math.log(3), seed=0)
    W, _ = jl_matrix(3, 2, seed=0)
    dk = float(task.prior @ lookup_encoder(task, W).kl_rows())
    C = lookup_C(3, 2)
    rhs = float(task.prior @ lookup_terms(task.cond)[1]) * (1 + 4 * C) / (1 - 2 * C)
    assert rhs < 0 < dk and dk - rhs > KL_ATOL
    assert violated("seed.lookup-bound[as-written]", {"kind": "lookup", "N": 3, "S": 1, "entropy_frac": 0.5,
                                                       "prior": "uniform", "seed": 0, "d": 2, "wseed": 0})


def test_theorem2_simplified_is_below_the_first_form():
    """Two rows, logits [0,0,0,1] and [0,0,2,2], equal prior, d = 207 (C < 1/2): first form > simplified."""
    from aotmem.theory.divergence import log_softmax
    from aotmem.theory.lookup import lookup_C, paper_theorem2_bound, paper_theorem2_simplified

    P = np.exp(log_softmax(np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 2.0]])))
    p = np.array([0.5, 0.5])
    assert lookup_C(4, 207) < 0.5
    first = paper_theorem2_bound(p, P, 207, constant="4C")
    simp = paper_theorem2_simplified(p, P, 207)
    assert first - simp > KL_ATOL + KL_RTOL * simp
    assert (first - simp) / simp > 0.02
    assert violated("paper.theorem2[first<=simplified]",
                     {"kind": "explicit", "N": 4, "S": 1, "logits": [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 2.0]],
                      "weights": [1.0, 1.0], "seed": 0, "d": 207, "wseed": 0})


def test_jl_step_is_searched_over_N_d_to_2_40_and_the_draw():
    """draft.lookup-theorem[jl] (issue 20): its space is (N, d, wseed) with C < 1/2 up to d = 2^40 (C -> 0); the
    widest width holds through jl_factor, C = 1/2 exactly at d = 128 log(N+1) is outside, and a miss would be
    re-checked at 50 digits (here: holds there too)."""
    from aotmem.verify.claims.lookup import D_C_HALF, JL_SPACE
    from aotmem.verify.ledger.registry import get

    dmin = lambda N: D_C_HALF.limits(N, N)[0]  # noqa: E731 (the smallest d with C < 1/2)
    claim = get("draft.lookup-theorem[jl]")
    assert claim.space is JL_SPACE and [p.name for p in JL_SPACE.params] == ["N", "d", "wseed"]
    rng = np.random.default_rng(0)
    drawn = [JL_SPACE.draw_params(rng, {"N": 3, "d": 200, "wseed": 0}) for _ in range(400)]
    assert all(dmin(r["N"]) <= r["d"] <= D_MAX for r in drawn)
    assert max(r["d"] for r in drawn) == D_MAX and len({r["N"] for r in drawn}) > 5
    wide = {"N": 12, "d": D_MAX, "wseed": 7}
    ev = claim.evaluate(wide)
    assert ev.outside is None and not ev.violated and ev.rhs < 1e-4
    rc = claim.recheck(wide, ev)
    assert rc["confirmed"] is False and rc["dps"] == 50
    assert claim.evaluate({"N": 3, "d": dmin(3) - 1, "wseed": 0}).outside is not None
