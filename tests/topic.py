"""What every ``test_claims_<topic>.py`` checks of its claims module, written once.

- :func:`claims_of`: the claims a topic module (``aotmem.verify.claims.<topic>``) registers;
- :func:`example_test`: the test that each claim's example (edge case or kept counterexample) evaluates to
  both sides, or to a regime reason, never to NaN;
- :func:`proved_test`: the test that a statement that is a theorem holds on instances of the claim's own
  strategy (a violation there is a defect of the code, not a finding).

A topic's file binds them to module-level ``test_*`` names, which pytest collects.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.verify.ledger.registry import Evaluation, all_claims, evaluate, get

# the proved statements' property tests: a fifth of the profile's examples (each draws a whole ledger instance)
PROVED_SETTINGS = settings(max_examples=max(5, settings.default.max_examples // 5))


def claims_of(topic: str) -> list:
    module = f"aotmem.verify.claims.{topic}"
    return [c for c in all_claims() if getattr(c.evaluate, "__module__", None) == module]


def example_params(claims) -> list[tuple[str, int]]:
    """``(key, i)`` for each example of each claim, for ``pytest.mark.parametrize("key, i", ...)``."""
    return [(c.key, i) for c in claims for i in range(len(c.examples))]


def _assert_both_sides(ev) -> None:
    assert isinstance(ev, Evaluation)
    assert ev.outside is not None or not (math.isnan(ev.lhs) or math.isnan(ev.rhs)), ev


def example_test(claims):
    """``test_every_example_evaluates`` over the examples of ``claims``."""

    @pytest.mark.parametrize("key, i", example_params(claims))
    def test_every_example_evaluates(key, i):
        """Each claim's examples (edge cases and kept counterexamples) evaluate to both sides, or a regime reason."""
        claim = get(key)
        _assert_both_sides(claim.evaluate(claim.examples[i]))

    return test_every_example_evaluates


def check_own_instance(key: str, data) -> None:
    """One instance drawn from the claim's own (quick) strategy evaluates to both sides or a regime reason."""
    claim = get(key)
    _assert_both_sides(claim.evaluate(data.draw(claim.instances("quick"), label="recipe")))


def proved_test(proved: list[str]):
    """``test_proved_statements_hold_on_their_own_instances`` for the claim keys ``proved``."""

    @pytest.mark.parametrize("key", proved)
    @PROVED_SETTINGS
    @given(data=st.data())
    def test_proved_statements_hold_on_their_own_instances(key, data):
        claim = get(key)
        recipe = data.draw(claim.instances("quick"), label="recipe")
        ev = claim.evaluate(recipe)
        assert ev.outside is not None or not ev.violated, (recipe, ev)

    return test_proved_statements_hold_on_their_own_instances


def violated(key: str, recipe: dict) -> bool:
    return evaluate(key, recipe).violated
