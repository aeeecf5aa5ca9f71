"""The JSON contract: fresh outputs of each ``--json`` command validate against its schema under docs/schema/.

The schemas (JSON Schema draft 2020-12) are the machine-readable form of
docs/verify-json-schema.md and docs/json-schemas.md (generated from them by
docs/gen_schema_doc.py, checked here). ``AOTMEM_SCHEMA_FULL_LEDGER=1`` also
validates a fresh ``aotmem verify --json`` of every claim (about a minute on 2
cores: opt-in; the selection below covers every verdict but ``vacuous``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

from aotmem.verify.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "docs" / "schema"
sys.path.insert(0, str(ROOT / "docs"))
import gen_schema_doc  # noqa: E402

FAILING = "seed.wls-bound[sigma=pi-prior,inf=global]"  # fails in the families phase after a kept counterexample
FAILING_SAMPLING_ONLY = "seed.assoc-memory[linear-growth]"  # no task space: shrunk by Hypothesis only, exact argmax
UNVERIFIABLE = "draft.cor-autoregressive"
NO_WITNESS = "seed.theorem-aot+factor2[C=paper]"  # its kept witness miss is replayed first (paper.lemma2+S>=2+cap fails since issue 20)
HOLDS = "draft.lemma-taylor[identity]"


def validator(cmd: str):
    schema = json.loads((SCHEMAS / f"{cmd}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def assert_valid(cmd: str, doc) -> None:
    errors = sorted(validator(cmd).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])


def _ledger_checks(doc: dict) -> None:
    """What the schema cannot say: tallies add up, every fails states its shrinking and its re-check."""
    assert doc["claims_run"] == len(doc["results"]) == sum(doc["counts"].values())
    for r in doc["results"]:
        m = r["evidence"]["methods"]
        assert sum(m.values()) == r["instances"], r["key"]
        if r["verdict"] == "fails":
            ce = r["counterexample"]
            assert ce["shrink_evaluations"] >= m["shrink"], r["key"]
            assert ce["shrunk"] and ce["recheck"]["method"] in ("mpmath", "exact", "exact argmax", "none")
            if ce["method"] == "families":
                assert r["evidence"]["families"], f"{r['key']} failed in the families phase: families tallied"


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    js = tmp_path_factory.mktemp("schema") / "v.json"
    claims = ",".join([FAILING, FAILING_SAMPLING_ONLY, UNVERIFIABLE, NO_WITNESS, HOLDS])
    assert main(["verify", "--claims", claims, "--workers", "1", "--json", str(js)]) == 0
    return json.loads(js.read_text())


def test_verify_json_validates(ledger):
    assert_valid("verify", ledger)
    _ledger_checks(ledger)
    by = {r["key"]: r for r in ledger["results"]}
    assert {by[k]["verdict"] for k in (FAILING, FAILING_SAMPLING_ONLY)} == {"fails"}
    assert by[UNVERIFIABLE]["verdict"] == "unverifiable" and by[NO_WITNESS]["verdict"] == "no-witness"
    assert by[HOLDS]["verdict"] == "holds"


def test_fails_say_how_they_were_shrunk_and_rechecked(ledger):
    by = {r["key"]: r for r in ledger["results"]}
    kept = by[FAILING]["counterexample"]
    assert "kept counterexample" in kept["shrunk"] and kept["recheck"]["confirmed"] is True
    assert kept["recheck"]["method"] == "mpmath" and kept["recheck"]["dps"] == 50
    assert kept["recheck"]["tol"] == pytest.approx(kept["evaluation"]["tol"])
    assert by[FAILING]["evidence"]["methods"]["shrink"] > 0
    exact = by[FAILING_SAMPLING_ONLY]["counterexample"]
    assert exact["recheck"]["method"] == "exact argmax" and exact["recheck"]["tol"] == 0
    assert "no explicit task space" in exact["shrunk"]


def test_unverifiable_and_no_witness_carry_every_key_with_reasons(ledger):
    by = {r["key"]: r for r in ledger["results"]}
    u = by[UNVERIFIABLE]
    assert u["evidence"]["max_ratio"] is None and "unverifiable" in u["evidence"]["max_ratio_note"]
    assert u["reason"] and u["tightest"] is None and u["counterexample"] is None
    nw = by[NO_WITNESS]["counterexample"]
    assert nw["shrink_evaluations"] is None and nw["shrunk"].startswith("not shrunk")
    assert nw["recheck"]["method"] == "none" and nw["recheck"]["note"]


def test_interrupted_verify_json_validates(tmp_path, monkeypatch):
    import aotmem.verify.ledger.runner as runner

    real, calls = runner.run_claim, []

    def interrupted_second(claim, **kw):
        calls.append(claim.key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(claim, **kw)

    monkeypatch.setattr(runner, "run_claim", interrupted_second)
    js = tmp_path / "p.json"
    assert main(["verify", "--claims", f"{FAILING},{HOLDS}", "--workers", "1", "--json", str(js)]) == 130
    doc = json.loads(js.read_text())
    assert doc["interrupted"] and doc["claims_run"] == 1
    assert_valid("verify", doc)


def test_the_drifted_output_is_rejected():
    """The schema can fail: a result without max_ratio, or a fails without shrink_evaluations, is invalid."""
    doc = {"schema": "aotmem.verify/1", "created": "2026-01-01T00:00:00+00:00", "profile": "quick", "seed": 0,
           "claims_pattern": None, "wall_s": 1.0, "interrupted": False, "claims_selected": 0, "claims_run": 0,
           "counts": {"holds": 0, "fails": 0, "no-witness": 0, "vacuous": 0, "unverifiable": 0}, "results": []}
    assert_valid("verify", doc)
    bad = dict(doc, results=[{"key": "x"}])
    assert list(validator("verify").iter_errors(bad))
    assert list(validator("verify").iter_errors(dict(doc, extra=1)))


def test_seed_claims_json_validates(tmp_path):
    """`aotmem verify --claims 'seed.*' --json` (44 readings, about 15 s on 2 cores): the issue's first check."""
    js = tmp_path / "seed.json"
    assert main(["verify", "--claims", "seed.*", "--json", str(js)]) == 0
    doc = json.loads(js.read_text())
    assert_valid("verify", doc)
    _ledger_checks(doc)
    assert doc["counts"]["fails"] and doc["counts"]["holds"]


@pytest.mark.skipif(os.environ.get("AOTMEM_SCHEMA_FULL_LEDGER") != "1", reason="opt-in: the whole quick ledger")
def test_full_ledger_validates(tmp_path):
    js = tmp_path / "all.json"
    assert main(["verify", "--json", str(js)]) == 0
    doc = json.loads(js.read_text())
    assert_valid("verify", doc)
    _ledger_checks(doc)


@pytest.fixture(scope="module")
def task_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("task") / "task.npz"
    assert main(["task", "random", "--kind", "almost-rank", "--N", "5", "--S", "2", "--d", "2", "--sigma", "0.3",
                 "--seed", "0", "--out", str(path)]) == 0
    return path


def _json_of(argv, capsys, rc=0):
    capsys.readouterr()
    assert main(argv) == rc
    return json.loads(capsys.readouterr().out)


def test_bounds_json_validates(task_file, capsys):
    doc = _json_of(["bounds", str(task_file), "--d", "2", "--json"], capsys)
    assert_valid("bounds", doc)
    doc = _json_of(["bounds", str(task_file), "--d", "6", "--json"], capsys)  # d >= N - 1: the zero-divergence row
    assert_valid("bounds", doc)


def test_construct_json_validates(task_file, capsys):
    doc = _json_of(["construct", "--task", str(task_file), "--d", "2", "--dh", "1", "--eps", "0.1", "--json"], capsys)
    assert_valid("construct", doc)


def test_curve_json_validates(task_file, capsys):
    doc = _json_of(["curve", str(task_file), "--d", "1,2", "--json"], capsys)
    assert_valid("curve", doc)
    assert [p["d"] for p in doc["points"]] == [1, 2]


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_schema_is_a_valid_draft_2020_12_schema(path):
    """score.schema.json (issue 18's `aotmem score --json`) included: its outputs are validated once the command exists."""
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_pages_are_generated():
    stale = [str(p) for p, fn in gen_schema_doc.PAGES.items() if not p.exists() or p.read_text() != fn()]
    assert not stale, f"{stale} drifted from docs/schema/: run `python docs/gen_schema_doc.py`"


def test_validate_command_of_the_page_works(ledger, tmp_path):
    """The one-liner the page gives validates a file (run from the repository root)."""
    js = tmp_path / "out.json"
    js.write_text(json.dumps(ledger))
    cmd = gen_schema_doc.VALIDATE.format(cmd="verify").replace("out.json", str(js))
    subprocess.run(cmd, shell=True, check=True, cwd=ROOT, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:"
                                                                + os.environ.get("PATH", "")})
