"""aotmem.verify.claims.exact: exact values of the best rank-d divergence (``seed.zero-divergence``,
``seed.no-quantity-limit``, ``paper.prop2``, ``paper.prop3``, ``paper.lemma1``).

Regressions: counterexamples found by ``aotmem verify``, recomputed from scratch through the public theory
API (both sides of the claim, and the violation beyond the ledger's tolerance), then fed through the
registry (``verify.registry.evaluate``) so that a verdict that changes is noticed.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.verify.registry import Evaluation, all_claims, evaluate, get


def _violated(key, recipe):
    return evaluate(key, recipe).violated


TOPIC = "aotmem.verify.claims.exact"
CLAIMS = [c for c in all_claims() if getattr(c.evaluate, "__module__", None) == TOPIC]
PROVED = ["seed.zero-divergence[if]", "paper.prop3[rate-exact]", "paper.prop3[rate-upper]", "paper.prop2[d>=N-1]"]
# (theorems: divergence 0 at rank >= rank(L_c), the circle family's exact rate and its upper bound, d >= N-1
# reaches 0): no instance of the claim's own strategy may violate them


def test_the_topic_registers_its_claims():
    ids = {c.id for c in CLAIMS}
    assert {"seed.zero-divergence", "seed.no-quantity-limit", "paper.prop2", "paper.prop3", "paper.lemma1"} <= ids, ids


@pytest.mark.parametrize("key, i", [(c.key, i) for c in CLAIMS for i in range(len(c.examples))])
def test_every_example_evaluates(key, i):
    """Each claim's examples (edge cases and kept counterexamples) evaluate to both sides, or a regime reason."""
    claim = get(key)
    ev = claim.evaluate(claim.examples[i])
    assert isinstance(ev, Evaluation)
    assert ev.outside is not None or not (math.isnan(ev.lhs) or math.isnan(ev.rhs)), ev


@pytest.mark.parametrize("key", PROVED)
@settings(max_examples=max(5, settings.default.max_examples // 5))
@given(data=st.data())
def test_proved_statements_hold_on_their_own_instances(key, data):
    claim = get(key)
    recipe = data.draw(claim.instances("quick"), label="recipe")
    ev = claim.evaluate(recipe)
    assert ev.outside is not None or not ev.violated, (recipe, ev)
