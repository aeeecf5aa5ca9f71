"""Smoke tests of the benchmark scripts: each runs its smallest case end to end, so they do not rot.

Timings are not asserted here (they live in the benchmarks' own output, as
ratios measured in one run); what is asserted is that the scripts run, that
their accuracy checks hold on the small case, and that a backend this machine
lacks is refused with one line and exit status 2.
"""

from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path

import pytest

from tests import fake_cupy

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(autouse=True)
def _bench_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import their sibling `timing`


def test_bench_construct_smallest_case_meets_its_accuracy(tmp_path, capsys):
    bench = importlib.import_module("bench_construct")
    out = tmp_path / "rows.json"
    assert bench.main(["--cases", "T=1000", "--repeat", "1", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["case"] == "T=1000" and row["T"] == 1000 and row["solve"] == "lu"
    assert row["max_rel_logit_error"] <= 1e-9  # measured 3.0e-11 (docs/construction.md)
    assert "T=1000" in capsys.readouterr().out


def test_profile_construct_runs(capsys):
    prof = importlib.import_module("profile_construct")
    assert prof.main(["--case", "T=1000", "--top", "3"]) == 0
    assert "construct" in capsys.readouterr().out


@pytest.mark.skipif(fake_cupy.real_cupy() is not None, reason="this machine has CuPy and a GPU")
@pytest.mark.parametrize("script", ["bench_construct", "bench_forward", "profile_construct"])
def test_a_missing_gpu_backend_is_one_line_and_status_2(script, capsys):
    mod = importlib.import_module(script)
    assert mod.main(["--backend", "cupy"]) == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("error: `backend` 'cupy' is not available here")


def test_gpu_script_parses():
    assert subprocess.run(["bash", "-n", str(BENCH / "gpu_run.sh")]).returncode == 0


def test_compare_ledger_prints_every_difference(tmp_path, capsys):
    """benchmarks/compare_ledger.py (issue 17): verdicts, instance counts and tightest margins per claim key."""
    cmp = importlib.import_module("compare_ledger")

    def run(verdict, instances, margin):
        ev = {"margin": margin, "rel_margin": margin, "ratio": 0.5, "lhs": 1.0, "rhs": 1.0 + margin}
        return {"results": [{"key": "a[x]", "verdict": verdict, "instances": instances, "outside": 0, "errors": 0,
                             "skipped": 0, "tightest": {"evaluation": ev}, "counterexample": None},
                            {"key": "b", "verdict": "holds", "instances": 3, "outside": 0, "errors": 0, "skipped": 0,
                             "tightest": None, "counterexample": None}]}

    A, B, C = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    A.write_text(json.dumps(run("holds", 10, 0.5)))
    B.write_text(json.dumps(run("holds", 10, 0.5)))
    C.write_text(json.dumps(run("fails", 9, 0.25)))
    assert cmp.main([str(A), str(B)]) == 0
    assert "0 differences" in capsys.readouterr().out
    assert cmp.main([str(A), str(C)]) == 1
    out = capsys.readouterr().out
    assert "a[x]: verdict holds -> fails" in out and "a[x]: instances 10 -> 9" in out
    assert "a[x]: tightest margin 0.5 -> 0.25" in out and "b:" not in out


def test_bench_small_construct_agrees_with_construct(tmp_path, capsys):
    bench = importlib.import_module("bench_small_construct")
    out = tmp_path / "rows.json"
    assert bench.main(["--cases", "N3S2", "--instances", "20", "--repeat", "1", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["batched"] == 20 and row["max_rel_diff"] <= bench.AGREE_RTOL
    assert "N3S2" in capsys.readouterr().out
