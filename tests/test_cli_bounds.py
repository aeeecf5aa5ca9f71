"""`aotmem task` and `aotmem bounds`: the bound calculator and its handling of malformed task files."""

import json
import subprocess
import sys

import numpy as np
import pytest

from aotmem.verify.cli import main
from aotmem.verify.cmd_bounds import bound_table


def _write(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


GOOD_PRIOR = np.full(4, 0.25)
GOOD_COND = np.full((4, 2), 0.5)

MALFORMED = {
    "negative": dict(prior=GOOD_PRIOR, cond=np.array([[1.5, -0.5]] + [[0.5, 0.5]] * 3)),
    "unnormalised-row": dict(prior=GOOD_PRIOR, cond=np.array([[0.6, 0.5]] + [[0.5, 0.5]] * 3)),
    "unnormalised-prior": dict(prior=np.full(4, 0.3), cond=GOOD_COND),
    "nan": dict(prior=GOOD_PRIOR, cond=np.array([[np.nan, 0.5]] + [[0.5, 0.5]] * 3)),
    "wrong-prior-shape": dict(prior=np.full(3, 1 / 3), cond=GOOD_COND),
    "cond-1d": dict(prior=GOOD_PRIOR, cond=np.full(4, 0.5)),
    "seqs-wrong-rows": dict(prior=GOOD_PRIOR, cond=GOOD_COND, seqs=np.zeros((3, 2), dtype=int)),
    "missing-cond": dict(prior=GOOD_PRIOR),
}
EXPECTED = {
    "negative": "negative entry",
    "unnormalised-row": "row 0 must sum to 1",
    "unnormalised-prior": "`prior` must sum to 1",
    "nan": "NaN",
    "wrong-prior-shape": "`prior` must have shape",
    "cond-1d": "`cond` must be 2-dimensional",
    "seqs-wrong-rows": "`seqs` must have shape",
    "missing-cond": "lacks key",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_bounds_rejects_malformed_task_with_one_line(tmp_path, capsys, name):
    path = _write(tmp_path / f"{name}.npz", **MALFORMED[name])
    rc = main(["bounds", path, "--d", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("aotmem: error: ")
    assert EXPECTED[name] in err


def test_bounds_rejects_non_npz_and_missing_file(tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    assert main(["bounds", str(junk), "--d", "1"]) == 2
    assert "not a readable .npz" in capsys.readouterr().err
    assert main(["bounds", str(tmp_path / "nope.npz"), "--d", "1"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_no_traceback_in_a_real_process(tmp_path):
    path = _write(tmp_path / "bad.npz", **MALFORMED["nan"])
    proc = subprocess.run([sys.executable, "-m", "verify", "bounds", path, "--d", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]


def test_bounds_rejects_bad_d(tmp_path, capsys):
    path = tmp_path / "t.npz"
    assert main(["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--out", str(path)]) == 0
    assert main(["bounds", str(path), "--d", "0"]) == 2
    assert "`d` must be >= 1" in capsys.readouterr().err


def test_bounds_json_every_row_names_claim_and_status(tmp_path, capsys):
    path = tmp_path / "t.npz"
    assert main(["task", "random", "--kind", "almost-rank", "--N", "5", "--S", "1", "--d", "2",
                 "--sigma", "0.1", "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["bounds", str(path), "--d", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    claims = {r["claim"] for r in result["rows"]}
    assert {"seed.ls-bound", "seed.wls-bound", "draft.theorem-ls", "draft.theorem-wls",
            "seed.lookup-bound", "draft.lookup-theorem", "paper.theorem2"} <= claims
    for r in result["rows"]:
        assert r["status"] in {"holds", "VIOLATED", "vacuous", "n/a"}
        if r["status"] == "vacuous":
            assert "C = " in r["note"]  # the reason is stated
        if r["status"] in {"holds", "VIOLATED"}:  # recompute the status from the numbers shown
            assert (r["actual"] <= r["bound"] * (1 + 1e-9) + 1e-12) == (r["status"] == "holds")
            assert r["optimal"] <= r["actual"] * (1 + 1e-9) + 1e-12  # the optimum is never worse


def test_bound_table_lookup_regime_not_vacuous_when_d_is_large():
    from aotmem.theory.generators import lookup_task

    task = lookup_task(3, 1, entropy=0.3, seed=0)
    res = bound_table(task, 200)
    rows = [r for r in res["rows"] if r["claim"] == "seed.lookup-bound"]
    assert rows and rows[0]["status"] in {"holds", "VIOLATED"} and np.isfinite(rows[0]["bound"])
