"""aotmem.verify.claims.kept: every kept counterexample still fails, as the ledger reports it.

``KEPT = {claim key: recipe}`` holds the smallest counterexample of each failing reading (shrunk and
confirmed at 50 digits when found) and some witness misses of existence claims; every run replays them
first. For each entry (parametrized over ``KEPT``, so a new entry is tested without editing this file):

- a bound or identity: ``evaluate(key, recipe)`` is violated in float64, or, where the violation lies
  below float64's absolute tolerance ``KL_ATOL``, violated when judged as the runner judges its suspects
  (``SUSPECT_ATOL + MP_RTOL |rhs|``, ``verify.runner._relative``); and, where the claim has a 50-digit
  re-check, ``claim.recheck(recipe, ev)["confirmed"] is True``;
- an existence claim (kind ``construction``): the entry is a witness miss, violated and not ``certified``
  (no proof that no object reaches the claim there), or a certified refutation that names its certificate
  (the rank lemmas' structural bounds); confirmed by the re-check where there is one.

The 50-digit re-checks of these tiny instances (T, N <= 8, d = 1..3) take ~0.01 s each, the alternating
fits included (measured), so every profile runs all of them.
"""

from __future__ import annotations

import dataclasses

import pytest

from aotmem.verify.claims.kept import KEPT
from aotmem.verify.ledger.registry import evaluate, get
from aotmem.verify.ledger.runner import MP_RTOL, SUSPECT_ATOL

# Kept entries that no longer reproduce, each with why: strict xfail, so the entry's fix (or its removal
# from KEPT) is noticed. Reported to the ledger's owner.
STALE: dict[str, str] = {}


def _params():
    out = []
    for key, recipe in KEPT.items():
        marks = [pytest.mark.xfail(strict=True, reason=STALE[key])] if key in STALE else []
        out.append(pytest.param(key, recipe, id=key, marks=marks))
    return out


def test_every_kept_key_is_a_registered_claim():
    for key in KEPT:
        claim = get(key)  # raises on an unknown key
        assert claim.key == key and claim.unverifiable is None
        assert KEPT[key] in claim.examples  # registry.register adds it: every run replays it first


def test_stale_entries_are_kept_entries():
    assert set(STALE) <= set(KEPT)


@pytest.mark.parametrize("key, recipe", _params())
def test_kept_counterexample_still_fails(key, recipe):
    claim = get(key)
    ev = evaluate(key, recipe)
    assert ev.outside is None, f"{key}: outside the claim's regime now: {ev.outside}"
    judged = ev
    if claim.kind == "construction":  # an existence claim: a witness miss, or a certified refutation
        assert ev.violated, ev
        if ev.certified:  # a proof that no object reaches the claim: it says which
            assert "certificate" in ev.detail, ev
    else:
        # below float64's absolute tolerance the runner decides at 50 digits with the suspects' tolerance
        judged = ev if ev.violated else dataclasses.replace(ev, atol=SUSPECT_ATOL, rtol=MP_RTOL)
        assert judged.violated, f"{key}: holds in float64 (margin {ev.margin:.3g}, tol {judged.tol:.2g})"
    if claim.recheck is not None:
        info = claim.recheck(recipe, judged)
        assert info["confirmed"] is True, info
