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
