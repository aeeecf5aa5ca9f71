"""aotmem.verify.claims.exact: exact values of the best rank-d divergence (``seed.zero-divergence``,
``seed.no-quantity-limit``, ``paper.prop2``, ``paper.prop3``, ``paper.lemma1``).

Regressions: counterexamples found by ``aotmem verify``, recomputed from scratch through the public theory
API (both sides of the claim, and the violation beyond the ledger's tolerance), then fed through the
registry (``verify.registry.evaluate``) so that a verdict that changes is noticed.
"""


import pytest
from hypothesis import given
from hypothesis import strategies as st

from topic import PROVED_SETTINGS, check_example, check_proved, claims_of, example_params


CLAIMS = claims_of("exact")
PROVED = ["seed.zero-divergence[if]", "paper.prop3[rate-exact]", "paper.prop3[rate-upper]", "paper.prop2[d>=N-1]"]
# (theorems: divergence 0 at rank >= rank(L_c), the circle family's exact rate and its upper bound, d >= N-1
# reaches 0): no instance of the claim's own strategy may violate them


def test_the_topic_registers_its_claims():
    ids = {c.id for c in CLAIMS}
    assert {"seed.zero-divergence", "seed.no-quantity-limit", "paper.prop2", "paper.prop3", "paper.lemma1"} <= ids, ids


@pytest.mark.parametrize("key, i", example_params(CLAIMS))
def test_every_example_evaluates(key, i):
    """Each claim's examples (edge cases and kept counterexamples) evaluate to both sides, or a regime reason."""
    check_example(key, i)


@pytest.mark.parametrize("key", PROVED)
@PROVED_SETTINGS
@given(data=st.data())
def test_proved_statements_hold_on_their_own_instances(key, data):
    check_proved(key, data)
