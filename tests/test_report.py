"""verify/outputs/report.py: the outputs of ``aotmem verify``: terminal table, strict JSON (schema ``aotmem.verify/1``),
Markdown report with the ledger's figures."""

import json
import math

import pytest

import aotmem.verify.outputs.report as report
from aotmem.verify.ledger.registry import select
from aotmem.verify.outputs.report import SCHEMA, table, to_json, write_json
from aotmem.verify.ledger.runner import VERDICTS, Result, run_claim
from tests.test_figures import ASSOC, FIGURES, H, _png

FAILING = "seed.lookup-bound[as-written]"  # RHS negative for C > 1/2: a standing finding
ONE = "draft.lemma-taylor[identity]"


@pytest.fixture(scope="module")
def results():
    """Two real results: a holding identity and a confirmed counterexample (few instances: the report's input)."""
    return [run_claim(c, max_examples=3) for c in select(ONE) + select(FAILING)]


def test_table_lists_each_claim_with_its_verdict_and_counts(results):
    text = table(results, width=400)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["claim", "reading", "verdict", "inst"] and set(lines[1]) == {"-"}
    rows = {ln.split()[0] + ln.split()[1]: ln for ln in lines[2:4]}
    assert "holds" in rows["draft.lemma-tayloridentity"] and "fails" in rows["seed.lookup-boundas-written"]
    assert "violated" in rows["seed.lookup-boundas-written"] and "mp50" in rows["seed.lookup-boundas-written"]
    counts = lines[-1]
    assert counts.split("   ")[0] == "  ".join(f"{v}: {int(v in ('holds', 'fails'))}" for v in VERDICTS)
    assert counts.endswith("(2 claims)")


def test_to_json_is_the_documented_schema_and_strict(results):
    doc = to_json(results, profile="quick", seed=3, pattern="x", wall_s=1.23456, interrupted=False, total=5)
    assert doc["schema"] == SCHEMA == "aotmem.verify/1"
    assert (doc["profile"], doc["seed"], doc["claims_pattern"], doc["wall_s"]) == ("quick", 3, "x", 1.235)
    assert (doc["claims_selected"], doc["claims_run"], doc["interrupted"]) == (5, 2, False)
    assert doc["counts"] == {v: int(v in ("holds", "fails")) for v in VERDICTS}
    assert [r["key"] for r in doc["results"]] == [ONE, FAILING]
    json.dumps(doc, allow_nan=False)  # strict: no NaN / Infinity anywhere


def test_write_json_is_strict_and_atomic(tmp_path):
    path = tmp_path / "sub" / "v.json"
    write_json(path, {"bound": math.inf, "xs": [1.0, math.nan]})
    assert json.loads(path.read_text()) == {"bound": None, "xs": [1.0, None], "bound_note": "inf",
                                            "xs_note": "nan at index 1"}
    assert [p.name for p in path.parent.iterdir()] == ["v.json"]  # no .tmp left behind


def test_an_empty_result_list_is_a_table_of_zero_claims():
    r = Result(key="a.b", id="paper.x", reading="", source="paper", kind="bound", statement="", regime="",
               verdict="holds", instances=3)
    assert "(1 claims)" in table([r]) and "(0 claims)" in table([])


def test_markdown_report_embeds_figures(tmp_path, monkeypatch):
    res = [run_claim(c, max_examples=3) for c in select(FAILING)]
    doc = report.to_json(res, profile="quick", seed=0, pattern=FAILING, wall_s=1.0, interrupted=False, total=1)

    def broken(path):
        raise RuntimeError("figure code broke")

    monkeypatch.setattr(report, "FIGURES", {"lookup_vs_entropy.png": report.fig_lookup_vs_entropy,
                                            "broken.png": broken})
    md = report.write_markdown(tmp_path, doc).read_text()
    assert (tmp_path / "lookup_vs_entropy.png").stat().st_size > 1000
    assert "![lookup_vs_entropy.png](lookup_vs_entropy.png)" in md
    assert "`broken.png`: failed (RuntimeError: figure code broke)" in md
    assert "## Counterexamples" in md and "Reproduce:" in md
    json.dumps(doc, allow_nan=False)


# ---- the ledger's figures: drawn by verify/outputs/figures.py from their sweeps (moved from tests/test_figures.py)
def test_report_figures_draw_their_sweeps_with_this_module(tmp_path, monkeypatch):
    """The ledger's FIGURES entries wire each sweep to its figure (sweeps replaced by small data here)."""
    calls = []

    def fake(name, value):
        def sweep(*args, **kw):
            calls.append((name, kw))
            return value
        return sweep

    monkeypatch.setattr(report, "sigma_sweep", fake("sigma", FIGURES["bounds_vs_sigma"][1]))
    monkeypatch.setattr(report, "entropy_sweep", fake("entropy", FIGURES["lookup_vs_entropy"][1]))
    monkeypatch.setattr(report, "recall_curves", fake("recall", ASSOC))
    t1 = FIGURES["theorem1_vs_eps"][1]
    monkeypatch.setattr(report, "theorem1_sweep", fake("theorem1", (t1.eps, t1.kl_model, t1.kl_target, t1.rhs,
                                                                    t1.rhs_factor2)))
    monkeypatch.setattr(report, "capacity_sweep", fake("capacity", (H, 2 * H + 2, 2 * H + 2, H + 1)))
    assert list(report.FIGURES) == ["bounds_vs_sigma.png", "lookup_vs_entropy.png", "assoc_recall.png",
                                    "theorem1_vs_eps.png", "capacity_vs_table1.png"]
    for name, fn in report.FIGURES.items():
        caption = fn(tmp_path / name)
        assert isinstance(caption, str) and caption
        assert _png(tmp_path / name), name
    assert [c[0] for c in calls] == ["sigma", "entropy", "recall", "theorem1", "capacity"]
    assert calls[-1][1] == {"d": 2, "d_h": 2}  # capacity_sweep's own defaults, stated
