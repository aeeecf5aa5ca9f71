"""The claims registry: every claim id of docs/theory.md is covered; Evaluation's margin/violation semantics."""

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aotmem.verify.ledger.registry import SENSES, Claim, Evaluation, all_claims, evaluate, get, select

THEORY = Path(__file__).resolve().parents[1] / "docs" / "theory.md"
# The "Claim ids" list at the end of docs/theory.md: one `- `id`` per line.
ID_LINE = re.compile(r"^- `((?:seed|draft|paper)\.[a-z0-9-]+)`$", re.M)


def theory_ids():
    text = THEORY.read_text()
    ids = ID_LINE.findall(text[text.index('<a id="claim-ids"></a>'):])
    assert len(ids) == len(set(ids)) and len(ids) >= 27, ids
    return sorted(ids)


def test_every_theory_claim_id_is_registered():
    ids = {c.base_id for c in all_claims()}
    missing = [i for i in theory_ids() if i not in ids]
    assert not missing, f"claim ids of docs/theory.md without a registry entry: {missing}"


def test_registered_ids_exist_in_theory():
    known = set(theory_ids())
    unknown = sorted({c.base_id for c in all_claims()} - known)
    assert not unknown, f"registry ids that docs/theory.md does not define: {unknown}"


def test_keys_unique_and_well_formed():
    keys = [c.key for c in all_claims()]
    assert len(keys) == len(set(keys))
    for c in all_claims():
        assert c.id.startswith(c.source + ".")
        assert c.statement and c.regime, c.key
        if "+" in c.id:
            assert c.corrects, f"{c.key}: a corrected statement must name what it corrects"


def test_select_patterns():
    assert [c.key for c in select("draft.lemma-taylor[identity]")] == ["draft.lemma-taylor[identity]"]
    globbed = select("seed.ls-bound[*,inf=global]")
    assert len(globbed) == 4 and all(c.reading.endswith("inf=global") for c in globbed)
    both = select("seed.zero-divergence,seed.ls-bound[sigma=uniform,inf=global]")
    assert [c.key for c in both] == ["seed.zero-divergence[if]", "seed.zero-divergence[only-if]",
                                     "seed.zero-divergence[only-if,certified]",
                                     "seed.ls-bound[sigma=uniform,inf=global]"]
    assert len(select(None)) == len(all_claims())
    with pytest.raises(ValueError, match="matches no claim"):
        select("nonsense.claim")
    with pytest.raises(ValueError, match="is not registered"):
        get("seed.ls-bound")


def test_claim_validation():
    with pytest.raises(ValueError, match="`source`"):
        Claim("x.y", "", "x", "s", "bound", None, None, unverifiable="r")
    with pytest.raises(ValueError, match="must start with its source"):
        Claim("paper.y", "", "seed", "s", "bound", None, None, unverifiable="r")
    with pytest.raises(ValueError, match="`instances` and `evaluate` are required"):
        Claim("seed.y", "", "seed", "s", "bound", None, None)


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(finite, finite, st.sampled_from(SENSES), st.floats(0, 1e-3), st.floats(0, 1e-3))
def test_evaluation_semantics(lhs, rhs, sense, atol, rtol):
    ev = Evaluation(lhs, rhs, sense, atol=atol, rtol=rtol)
    scale = max(abs(lhs), abs(rhs)) if sense == "==" else abs(rhs)
    assert ev.tol == pytest.approx(atol + rtol * scale)
    if sense == "<=":
        assert ev.violated == (lhs > rhs + ev.tol)
    elif sense == ">=":
        assert ev.violated == (lhs < rhs - ev.tol)
    elif sense == ">":
        assert ev.violated == (lhs <= rhs + ev.tol)
    else:
        assert ev.violated == (abs(lhs - rhs) > ev.tol)
    if sense in ("<=", ">=") and not ev.violated:
        assert ev.margin >= -ev.tol
    assert abs(ev.rel_margin) <= abs(ev.margin) / max(ev.tol, 1e-12) + 1e-12
    json.dumps(ev.as_dict(), allow_nan=False)


def test_evaluation_out_of_regime_and_nan():
    ev = Evaluation.out_of_regime("C >= 1/2")
    assert not ev.violated and math.isnan(ev.margin) and ev.outside == "C >= 1/2"
    with pytest.raises(ValueError, match="NaN"):
        Evaluation(math.nan, 0.0)
    with pytest.raises(ValueError, match="`sense`"):
        Evaluation(0.0, 0.0, "<")


def test_evaluate_reproducer_checks_registration():
    with pytest.raises(ValueError, match="unverifiable"):
        evaluate("draft.cor-autoregressive", {})


@given(st.data())
def test_every_strategy_draws_json_recipes(data):
    claims = [c for c in all_claims() if c.unverifiable is None]
    claim = data.draw(st.sampled_from(claims))
    recipe = data.draw(claim.instances("quick"))
    assert json.loads(json.dumps(recipe)) == recipe
    assert isinstance(claim.summary(recipe), str)


def test_family_cost_is_a_cost_class_and_the_vs_optimiser_readings_use_it():
    with pytest.raises(ValueError, match="family_cost"):
        Claim(id="seed.y", reading="", source="seed", kind="bound", statement="", instances=lambda p: st.just({}),
              evaluate=lambda r: Evaluation(0.0, 1.0), family_cost="free")
    for src in ("draft", "paper"):
        c = get(f"{src}.prop1[vs-optimiser]")
        assert c.cost == "expensive" and c.family_cost == "medium" and c.space is not None


@pytest.mark.parametrize("bad", [0, -5, 2.5, "many"])
def test_full_families_is_a_positive_int(bad):
    with pytest.raises(ValueError, match="full_families"):
        Claim(id="seed.y", reading="", source="seed", kind="bound", statement="", instances=lambda p: st.just({}),
              evaluate=lambda r: Evaluation(0.0, 1.0), full_families=bad)


def _top_up_asks(monkeypatch, claims, t0: float) -> list:
    """``(n, deadline)`` of each family pass the full profile's top-up asks for, per claim in ``claims``, for a claim
    that started at ``t0`` (``perf_counter`` time) and has judged nothing yet."""
    from aotmem.verify.ledger import runner

    asked = []

    def fake_families(claim, search, n, rng, profile, deadline=None, enough=None):
        asked.append((n, deadline))
        return None, {}

    class FakeSearch:
        n_evals = 0

        def judged(self):
            return []

        def over_budget(self):
            return False

    monkeypatch.setattr(runner, "_families", fake_families)
    for c in claims:
        search = FakeSearch()
        search.t0 = t0
        runner._top_up(c, search, 10_000, 25, runner.PROFILES["full"], None, 0, "full")
    return asked


def test_the_top_up_pass_takes_the_claims_full_families(monkeypatch):
    """The full profile's top-up runs ``Claim.full_families`` family instances in a pass where the claim gives it
    (paper.theorem1's target=optimal readings: one pass must reach 10^4 judged instances)."""
    c = get("paper.theorem1+factor2[target=optimal]")
    asked = _top_up_asks(monkeypatch, [c], t0=float("inf"))  # never past any deadline
    assert [n for n, _ in asked] == [c.full_families] and c.full_families >= 10_000


@pytest.mark.parametrize("bad", [0, -1.0, 1e5, "300", True])
def test_top_up_s_must_be_positive_seconds(bad):
    with pytest.raises(ValueError, match="top_up_s"):
        Claim(id="seed.x", reading="", source="seed", kind="bound", statement="", instances=lambda s, n: [],
              evaluate=lambda r: Evaluation(0.0, 1.0), top_up_s=bad)


def test_the_top_up_takes_the_claims_own_deadline(monkeypatch):
    """A claim's ``top_up_s`` replaces ``TOP_UP_S`` as its top-up's deadline: the families get it, and a claim
    that has run past ``TOP_UP_S`` but not past its own deadline still gets its pass (the full run of
    2026-12-06 left paper.theorem1+factor2[target=optimal] at 7,589 instances when TOP_UP_S refused it)."""
    import time

    from aotmem.verify.ledger import runner

    c = get("paper.theorem1+factor2[target=optimal]")
    assert c.top_up_s is not None and c.top_up_s > runner.TOP_UP_S + 10
    other = get("paper.theorem1+factor2[target=f_ls]")
    # past TOP_UP_S, before the claim's own deadline
    asked = _top_up_asks(monkeypatch, [c, other], t0=time.perf_counter() - runner.TOP_UP_S - 10)
    assert [dl for _, dl in asked] == [c.top_up_s]  # the claim without its own deadline starts nothing
    assert runner.top_up_deadline(other) == runner.TOP_UP_S
