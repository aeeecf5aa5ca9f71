"""``aotmem verify``: exit codes, JSON schema, Markdown report, bad usage."""

import json

import pytest

from aotmem.verify.cli import main
from aotmem.verify.outputs.report import SCHEMA

ONE = "draft.lemma-taylor[identity]"
FAILING = "seed.lookup-bound[as-written]"  # RHS negative for C > 1/2: a standing finding


def test_verify_one_claim_writes_json_and_report(tmp_path, capsys):
    js, rep = tmp_path / "v.json", tmp_path / "rep"
    rc = main(["verify", "--claims", ONE, "--seed", "1", "--json", str(js), "--report", str(rep), "--no-figures"])
    assert rc == 0
    out = capsys.readouterr()
    assert "draft.lemma-taylor" in out.out and "holds" in out.out
    assert "[1/1] draft.lemma-taylor[identity]" in out.err  # progress on stderr
    doc = json.loads(js.read_text())
    assert doc["schema"] == SCHEMA and doc["claims_run"] == 1 and not doc["interrupted"]
    (r,) = doc["results"]
    assert r["key"] == ONE and r["verdict"] == "holds" and r["instances"] > 0
    assert set(r["tightest"]["evaluation"]) >= {"lhs", "rhs", "margin", "rel_margin", "tol", "violated"}
    assert "| `draft.lemma-taylor` | identity | **holds**" in (rep / "report.md").read_text()


def test_fails_exits_0_but_1_with_strict(tmp_path, capsys):
    assert main(["verify", "--claims", FAILING]) == 0
    js = tmp_path / "f.json"
    assert main(["verify", "--claims", FAILING, "--strict", "--json", str(js)]) == 1
    r = json.loads(js.read_text())["results"][0]
    ce = r["counterexample"]
    assert r["verdict"] == "fails" and ce["evaluation"]["violated"] and ce["excess_over_tol"] > 1
    assert "evaluate(" in ce["reproduce"]


@pytest.mark.parametrize("argv, msg", [
    (["verify", "--claims", "no.such.claim"], "matches no claim"),
    (["verify", "--profile", "huge"], "invalid choice"),
    (["verify", "--seed", "-3", "--claims", ONE], "`--seed` must be >= 0"),
    (["verify", "--seed", "x"], "invalid int value"),
])
def test_bad_usage_is_one_line_exit_2(argv, msg, capsys):
    with pytest.raises(SystemExit) as exc:
        rc = main(argv)
        raise SystemExit(rc)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("aotmem: error:") and msg in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_list(capsys):
    assert main(["verify", "--list", "--claims", "paper.theorem2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # the four readings of paper.theorem2 and its corrected claim paper.theorem2+simplified-q
    assert len(lines) == 5 and all(line.startswith(("paper.theorem2[", "paper.theorem2+")) for line in lines)
    assert sum(line.startswith("paper.theorem2[") for line in lines) == 4


def test_ctrl_c_writes_partial_results_and_exits_130(tmp_path, monkeypatch, capsys):
    import aotmem.verify.ledger.runner as runner

    real = runner.run_claim
    calls = []

    def interrupted_second(claim, **kw):
        calls.append(claim.key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(claim, max_examples=3, **kw)

    monkeypatch.setattr(runner, "run_claim", interrupted_second)
    js = tmp_path / "p.json"
    assert main(["verify", "--claims", "draft.lemma-taylor", "--workers", "1", "--json", str(js)]) == 130
    doc = json.loads(js.read_text())
    assert doc["interrupted"] and doc["claims_run"] == 1 and doc["claims_selected"] == 2
    assert "interrupted" in capsys.readouterr().err
