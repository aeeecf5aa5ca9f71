"""What every ``test_claims_<topic>.py`` checks of its claims module, written once.

- :func:`claims_of`: the claims a topic module (``aotmem.verify.claims.<topic>``) registers;
- :func:`check_example`: a claim's example (edge case or kept counterexample) evaluates to both sides, or to
  a regime reason, never to NaN;
- :func:`check_proved`: a statement that is a theorem holds on an instance of the claim's own strategy (a
  violation there is a defect of the code, not a finding).
"""

import math

from hypothesis import settings

from aotmem.verify.registry import Evaluation, all_claims, evaluate, get

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


def check_example(key: str, i: int) -> None:
    claim = get(key)
    _assert_both_sides(claim.evaluate(claim.examples[i]))


def check_own_instance(key: str, data) -> None:
    """One instance drawn from the claim's own (quick) strategy evaluates to both sides or a regime reason."""
    claim = get(key)
    _assert_both_sides(claim.evaluate(data.draw(claim.instances("quick"), label="recipe")))


def check_proved(key: str, data) -> None:
    claim = get(key)
    recipe = data.draw(claim.instances("quick"), label="recipe")
    ev = claim.evaluate(recipe)
    assert ev.outside is not None or not ev.violated, (recipe, ev)


def violated(key: str, recipe: dict) -> bool:
    return evaluate(key, recipe).violated
