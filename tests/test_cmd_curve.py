"""`aotmem curve`: the best divergence, f_ls, f_wls and every bound against d; plot, strict JSON, Ctrl-C."""

import json

import numpy as np
import pytest

from aotmem.theory.bounds import CATALOGUE
from aotmem.theory.divergence import entropy
from aotmem.theory.task import load_task
from aotmem.verify.cli import cmd_curve
from aotmem.verify.cli import main
from aotmem.verify.cli.cmd_curve import curve, parse_ds
from aotmem.verify.ledger.registry import KL_ATOL, KL_RTOL

# The best divergence may not grow with d (L(N,S,d) is inside L(N,S,d+1)); "b1 <= b0" is decided by the
# one rule of `aotmem bounds` and the ledger (registry.BOUND_RULE: KL_ATOL + KL_RTOL |b0|).
ATOL, RTOL = KL_ATOL, KL_RTOL


def strict_loads(text):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def task_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("curve") / "t.npz"
    assert main(["task", "random", "--kind", "almost-rank", "--N", "5", "--S", "1", "--d", "2", "--sigma", "0.3",
                 "--seed", "1", "--out", str(path)]) == 0
    return str(path)


def test_curve_points_are_what_bounds_prints_and_decrease_to_zero(task_path):
    task = load_task(task_path)
    res = curve(task, [1, 2, 3, 4], starts=1)
    assert [pt["d"] for pt in res["points"]] == [1, 2, 3, 4] and not res["interrupted"]
    trivial = float(task.prior @ (np.log(task.N) - entropy(task.cond)))
    assert res["trivial"] == pytest.approx(trivial, rel=1e-12)
    best = [pt["optimal"]["divergence"] for pt in res["points"]]
    assert all(b1 <= b0 + RTOL * abs(b0) + ATOL for b0, b1 in zip(best, best[1:])) and res["non_increasing"]
    assert 0.0 <= best[-1] <= 1e-12  # d = N - 1: exact (paper.prop2), up to rounding of a 25-term sum
    for pt in res["points"][:-1]:  # below N - 1 every almost-rank bound of the catalogue has its rows
        names = {(r["claim"], r["reading"].replace(",fit=alternating", "")) for r in pt["rows"]}
        assert {(b.claim, b.reading) for b in CATALOGUE} <= names
        assert pt["optimal"]["divergence"] <= pt["f_wls"] + RTOL * abs(pt["f_wls"]) + ATOL
        assert pt["optimal"]["divergence"] <= pt["f_ls"] + RTOL * abs(pt["f_ls"]) + ATOL
        assert pt["informative"] == sum(r["bound"] is not None and np.isfinite(r["bound"])
                                        and r["bound"] < res["trivial"] for r in pt["rows"])
        assert {"converged", "grad_norm", "iterations"} <= set(pt["optimal"])


def test_curve_cli_writes_plot_and_strict_json(task_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["curve", task_path, "--d", "1:2", "--starts", "0", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = strict_loads((out / "curve.json").read_text())
    assert [pt["d"] for pt in saved["points"]] == [1, 2]
    lines = captured.out.splitlines()
    assert lines[1].startswith("trivial bound: the zero encoder") and f"{saved['trivial']:.4e}" in lines[1]
    assert [ln.split()[0] for ln in lines[3:6]] == ["d", "1", "2"]
    assert captured.err.count("curve: d=") == 2  # one progress line per d
    caption = cmd_curve.plot_curve(saved, tmp_path / "again.png")  # curve.json alone redraws the figure
    assert "E_t[log N - h(pi_t)]" in caption and (tmp_path / "again.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["curve", task_path, "--d", "2", "--starts", "0", "--json"]) == 0
    res = strict_loads(capsys.readouterr().out)
    assert res["points"][0]["d"] == 2 and "Infinity" not in json.dumps(res)


def test_ctrl_c_keeps_the_points_done(task_path, tmp_path, monkeypatch, capsys):
    real = cmd_curve.bound_table_and_solution

    def interrupt_at_3(task, d, **kw):
        if d == 3:
            raise KeyboardInterrupt
        return real(task, d, **kw)

    monkeypatch.setattr(cmd_curve, "bound_table_and_solution", interrupt_at_3)
    out = tmp_path / "partial"
    assert main(["curve", task_path, "--d", "1:4", "--starts", "0", "--out", str(out)]) == 130
    saved = strict_loads((out / "curve.json").read_text())
    assert saved["interrupted"] is True and [pt["d"] for pt in saved["points"]] == [1, 2]
    assert "interrupted: 2 of 4" in capsys.readouterr().out


def test_an_internal_failure_at_one_d_keeps_the_others_and_exits_4(task_path, monkeypatch, capsys):
    real = cmd_curve.bound_table_and_solution

    def fail_at_2(task, d, **kw):
        if d == 2:
            raise np.linalg.LinAlgError("Matrix is not positive definite")
        return real(task, d, **kw)

    monkeypatch.setattr(cmd_curve, "bound_table_and_solution", fail_at_2)
    assert main(["curve", task_path, "--d", "1:3", "--starts", "0"]) == 4
    cap = capsys.readouterr()
    assert "error: LinAlgError: Matrix is not positive definite" in cap.out
    assert [ln.split()[0] for ln in cap.out.splitlines()[3:7]] == ["d", "1", "2", "3"]
    assert cap.err.splitlines()[-1].startswith("aotmem: internal error: LinAlgError")


@pytest.mark.parametrize("spec, message", [("0:3", ">= 1"), ("3:1", "empty"), ("a", "must look like")])
def test_bad_d_spec_is_an_input_error(task_path, capsys, spec, message):
    assert main(["curve", task_path, "--d", spec]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match="`--d`"):
        parse_ds(spec, 5)
