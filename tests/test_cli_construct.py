"""``aotmem construct``: diagnostics printed, ``--save`` reloads to the same logits, bad arguments exit 2 in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aotmem.theory.aot import load_aot
from aotmem.theory.generators import dirichlet_task
from aotmem.verify.cli import main


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_construct_json_and_save_roundtrip(capsys, tmp_path):
    path = tmp_path / "t.npz"
    dirichlet_task(4, 2, seed=0).save(path)
    model = tmp_path / "m.npz"
    rc, out, err = run_cli(capsys, "construct", "--task", str(path), "--d", "3", "--dh", "2", "--eps", "0.1",
                           "--target", "svd", "--save", str(model), "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["T"] == 16 and r["H"] == -(-(r["T_eps"] - 3) // 2) and r["max_rel_logit_error"] < 1e-10
    assert r["holds"] is True and r["rhs_factor2"] >= r["rhs"] >= r["kl_target"]
    m, seqs, target = load_aot(model)
    assert seqs.shape == (r["T_eps"], 2) and target.shape == (r["T_eps"], 4)
    assert np.abs(m.logits(seqs) - target).max() <= 1e-10 * np.abs(target).max()
    assert m.param_count() == r["param_count"]


def test_construct_from_kind_prints_table(capsys):
    rc, out, _ = run_cli(capsys, "construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2",
                         "--dh", "2", "--eps", "0", "--variant", "fixed-skip", "--qk", "rank1", "--target", "svd")
    assert rc == 0
    assert "T_eps: 9" in out and "variant: fixed-skip" in out and "paper_param_count" in out


@pytest.mark.parametrize("extra, msg", [
    (["--d", "2", "--dh", "3", "--eps", "0"], "`--dh` must be <= --d"),
    (["--d", "2", "--dh", "2", "--eps", "1"], "`--eps` must lie in [0, 1)"),
    (["--d", "2", "--dh", "2", "--eps", "-0.1"], "`--eps` must lie in [0, 1)"),
    (["--d", "2", "--dh", "2", "--eps", "0", "--heads", "2"], "too few"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, extra, msg):
    rc, out, err = run_cli(capsys, "construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--target", "svd",
                           *extra)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("aotmem: error:") and msg in err


def test_kind_needs_n_and_s(capsys):
    rc, _, err = run_cli(capsys, "construct", "--kind", "dirichlet", "--N", "3", "--d", "2", "--dh", "2",
                         "--eps", "0", "--target", "svd")
    assert rc == 2 and "`--kind` needs both --N and --S" in err


def test_default_target_is_the_optimal_encoder(capsys):
    rc, out, err = run_cli(capsys, "construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2",
                           "--dh", "1", "--eps", "0", "--json")
    assert rc == 0, err
    r = json.loads(out)
    # d = N - 1: dKL(pi, L(3,2,2)) = 0 (paper.prop2), and T* reproduces it on all 9 sequences
    assert r["kl_target"] < 1e-8 and r["kl_model"] <= r["rhs"] + r["gamma"]
