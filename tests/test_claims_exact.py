"""aotmem.verify.claims.exact: exact values of the best rank-d divergence (``seed.zero-divergence``,
``seed.no-quantity-limit``, ``paper.prop2``, ``paper.prop3``, ``paper.lemma1``).

The topic's examples and its proved statements (``tests/topic.py``); its kept witness miss
(``paper.lemma1[optimiser-converges]``) is recomputed by ``tests/test_claims_kept.py``.
"""

from topic import claims_of, example_test, proved_test


CLAIMS = claims_of("exact")
PROVED = ["seed.zero-divergence[if]", "paper.prop3[rate-exact]", "paper.prop3[rate-upper]", "paper.prop2[d>=N-1]"]
# (theorems: divergence 0 at rank >= rank(L_c), the circle family's exact rate and its upper bound, d >= N-1
# reaches 0): no instance of the claim's own strategy may violate them


def test_the_topic_registers_its_claims():
    ids = {c.id for c in CLAIMS}
    assert {"seed.zero-divergence", "seed.no-quantity-limit", "paper.prop2", "paper.prop3", "paper.lemma1"} <= ids, ids


test_every_example_evaluates = example_test(CLAIMS)
test_proved_statements_hold_on_their_own_instances = proved_test(PROVED)


# ------------------------------------------------------------ the regimes' search spaces (issue 20) --

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from aotmem.verify.claims import exact  # noqa: E402
from aotmem.verify.ledger.registry import get  # noqa: E402
from aotmem.verify.ledger.search import explicit_of  # noqa: E402

SEARCHED = ["seed.zero-divergence[if]", "paper.prop2[d>=N-1]", "paper.prop2[d<N-1]", "paper.prop3[limit]",
            "paper.prop3[rate-exact]", "paper.prop3[rate-upper]", "seed.no-quantity-limit[quantity]",
            "seed.no-quantity-limit[quality]"]


@pytest.mark.parametrize("key", SEARCHED)
def test_family_instances_stay_in_the_regime_and_hold(key):
    """Each searched reading's family instances (its space's parameters redrawn over their whole range) are
    evaluated inside the regime or refused with a reason, and the proved statements hold on them."""
    claim = get(key)
    assert claim.space is not None, key
    rng = np.random.default_rng(0)
    like = claim.examples[0] if claim.examples else _first_sample(claim)
    like = getattr(claim.space, "explicit", explicit_of)(like)
    judged = 0
    for _ in range(12):  # as the runner's families: the parameters redrawn, then a family instance
        drawn = claim.space.draw_params(rng, like)
        _, r = claim.space.family_recipe(rng, drawn, 7, claim.space.family_rows(rng, drawn))
        ev = claim.evaluate(r)
        judged += ev.outside is None
        assert ev.outside is not None or not ev.violated, (key, r, ev)
    assert judged > 0, key


def _first_sample(claim):
    from hypothesis import find, settings
    return find(claim.instances("quick"), lambda r: True, settings=settings(database=None))


def test_the_sizes_reach_beyond_the_profiles_enumeration():
    """paper.prop2[d<N-1] and seed.no-quantity-limit[quality] were 66 and 15 enumerated instances (N <= 13, N <= 8):
    the statement quantifies over every N, and the spaces search N to 256 with d over 1 (2) .. N-2."""
    assert exact.HARD_SPACE.params[0].limits(3, 3) == (3, 256)
    assert exact.HARD_SPACE.params[1].limits(256, 256) == (1, 254)
    assert exact.QUALITY_SPACE.params[1].limits(256, 256) == (2, 254)
    assert not get("paper.prop2[d<N-1]").evaluate({"N": 200, "d": 198}).violated
    assert get("paper.prop2[d<N-1]").evaluate({"N": 5, "d": 4}).outside is not None  # d = N-1: not this reading


def test_the_certificate_reading_enumerates_its_finite_space():
    """paper.prop2[d<N-1,certificate-vs-optimiser]: a finite searched space (N <= 20), counted in its regime."""
    claim = get("paper.prop2[d<N-1,certificate-vs-optimiser]")
    assert exact.CERT_COUNT == len([(N, d) for N in range(3, exact.CERT_N_MAX + 1) for d in range(1, N - 1)]) == 171
    assert f"{exact.CERT_COUNT} instances, fully enumerated" in claim.regime and claim.full_draws >= 10 * 171
    from hypothesis import HealthCheck, given, settings
    seen = set()

    @settings(max_examples=5000, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(claim.instances("full"))
    def draw(r):
        seen.add((r["N"], r["d"]))

    draw()
    assert len(seen) == exact.CERT_COUNT  # the sampler exhausts the finite space (the full profile draws 10^4)


@pytest.mark.parametrize("key, recipe", [
    ("paper.prop2[d>=N-1]", {"kind": "dirichlet", "N": 4, "S": 1, "alpha": 0.5, "prior": "zipf", "seed": 3,
                             "d_claim": 3}),
    ("paper.prop2[d<N-1]", {"N": 6, "d": 3}),
    ("paper.prop3[limit]", {"kind": "association", "N": 5, "S": 1, "prior": "uniform", "seed": 1, "d": 2}),
    ("seed.zero-divergence[if]", {"kind": "almost-rank", "N": 5, "S": 1, "d": 2, "sigma": 0.0, "decay": 0.5,
                                  "prior": "uniform", "seed": 0, "d_claim": 2}),
])
def test_the_50_digit_recheck_decides_an_instance_that_holds(key, recipe):
    """The new re-checks recompute both sides at 50 digits and find no violation where float64 finds none."""
    claim = get(key)
    ev = claim.evaluate(recipe)
    assert ev.outside is None and not ev.violated
    rc = claim.recheck(recipe, ev)
    assert rc["confirmed"] is not True and rc["dps"] == 50, rc


def test_association_sizes_beyond_the_searched_entries_are_refused_not_built():
    """A decoded recipe with T N above ASSOC_ENTRIES is outside (said so), never allocated."""
    ev = get("paper.prop3[limit]").evaluate({"kind": "association", "N": 64, "S": 3, "prior": "uniform",
                                             "seed": 0, "d": 2})
    assert ev.outside is not None and "searched sizes" in ev.outside


def test_only_if_a_small_positive_optimum_is_not_a_confirmed_zero():
    # Found by the batched families of the full profile (issue 20): prior weights near 1e-10 put the optimiser's
    # divergence below float64's KL_ATOL; the optimum is an upper bound on the minimum, so only a divergence that is
    # 0 at 50 digits would confirm ``min = 0``: the re-check must not confirm this one.
    from aotmem.verify.ledger.registry import get

    c = get("seed.zero-divergence[only-if]")
    r = {"kind": "explicit", "N": 3, "S": 1, "seed": 0, "d_claim": 1,
         "logits": [[0, 1, 3], [2, 0, -1], [1, 1, 0], [0, -2, 1], [3, 0, 0], [0, 0, 2]],
         "weights": [1, 1e-10, 1e-10, 1e-10, 1e-10, 1e-10]}
    ev = c.evaluate(r)
    assert ev.violated and 0 < ev.lhs < 1e-9  # float64 cannot tell it from 0 at KL_ATOL
    rc = c.recheck(r, ev)
    assert rc["confirmed"] is False and rc["decision"] == "holds" and float(rc["lhs"]) > 0
