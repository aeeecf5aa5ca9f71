"""aotmem.verify.claims.assoc: the associative memory (``seed.assoc-memory``).

Regressions: counterexamples found by ``aotmem verify``, recomputed from scratch through the public theory
API (both sides of the claim, and the violation beyond the ledger's tolerance), then fed through the
registry (``verify.registry.evaluate``) so that a verdict that changes is noticed.
"""


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.verify.ledger.registry import get
from topic import check_own_instance, claims_of, violated


CLAIMS = claims_of("assoc")



def test_the_topic_registers_its_claims():
    ids = {c.id for c in CLAIMS}
    assert {"seed.assoc-memory"} <= ids, ids


@pytest.mark.parametrize("key", [c.key for c in CLAIMS])
@settings(max_examples=2)
@given(data=st.data())
def test_every_claim_evaluates_its_own_instances(key, data):
    """A measurement (the recall of the outer-product memory) with a re-check, on its own instances."""
    claim = get(key)
    assert claim.kind == "measurement" and claim.recheck is not None
    check_own_instance(key, data)


# ---- seed.assoc-memory: "only d of them" (regressions)
def test_assoc_memory_recalls_more_than_d():
    """d = 64: 126 associations are recalled at 90%, about 2d (seed.assoc-memory[capacity<=d])."""
    from aotmem.theory.assoc import assoc_memory_recall, recall_capacity

    cap = recall_capacity(64, level=0.9, seed=0, trials=3, n_max=32 * 64)
    assert cap == 126 > 64
    assert assoc_memory_recall(cap, 64, seed=[0, cap], trials=3).mean >= 0.9
    assert violated("seed.assoc-memory[capacity<=d]", {"d": 64, "seed": 0})


def test_assoc_memory_capacity_grows_faster_than_d():
    """At d = 128 the memory recalls 505 > 2 * 126 associations at 90% (seed.assoc-memory[linear-growth]).

    The ledger measures capacity(128) / capacity(64) = 4.28 with the bisection of
    ``recall_capacity``; this recomputes one point above the linear-growth limit
    (2 * capacity(64) = 252) directly, which is enough to refute ``<= 2``.
    """
    from aotmem.theory.assoc import assoc_memory_recall

    assert assoc_memory_recall(2 * 126 + 1, 128, seed=0, trials=3).mean >= 0.9
    assert assoc_memory_recall(4 * 126 + 1, 128, seed=0, trials=3).mean >= 0.9
