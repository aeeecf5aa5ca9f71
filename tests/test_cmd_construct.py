"""``aotmem construct``: diagnostics printed, ``--save`` reloads to the same logits, bad arguments exit 2 in one line;
``--target FILE``, ``--accept-unconverged``, ``--allow-inaccurate`` (exit 3), Assumption 2 warnings, ``d >= N - 1``
and ``d_h > d``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aotmem.theory.aot import load_aot
from aotmem.theory.construct import svd_target
from aotmem.theory.generators import dirichlet_task
from aotmem.theory.task import Task, all_sequences
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
    (["--d", "2", "--dh", "0", "--eps", "0"], "`--dh` must be >= 1"),
    (["--d", "2", "--dh", "2", "--eps", "0", "--rtol", "0"], "`--rtol` must be > 0"),
    (["--d", "2", "--dh", "2", "--eps", "0", "--target", "nope.npz"], "target file `nope.npz` does not exist"),
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


def test_head_dimension_above_d_is_built(capsys):
    """d_h > d: accepted; a head adds at most d to the rank, so the construction uses more heads and says why."""
    rc, out, err = run_cli(capsys, "construct", "--kind", "dirichlet", "--N", "4", "--S", "2", "--d", "2",
                           "--dh", "5", "--eps", "0", "--target", "svd", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert (r["d_h"], r["head_rank"], r["H_paper"]) == (5, 2, 3) and r["H"] == 7  # ceil((16 - 2) / 2)
    assert r["max_rel_logit_error"] <= 1e-10 and r["accurate"] is True
    assert err.startswith("aotmem: note: H = 7 heads instead of the paper's 3") and err.count("\n") == 1


def test_target_file_roundtrip_and_format(capsys, tmp_path):
    """--save-target writes W, E (+ converged); --target FILE reads it and gives the same model."""
    tf = tmp_path / "target.npz"
    base = ["construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2", "--dh", "1", "--eps", "0",
            "--json"]
    rc, out1, err = run_cli(capsys, *base, "--save-target", str(tf))
    assert rc == 0, err
    with np.load(tf) as z:
        assert sorted(z.files) == ["E", "W", "converged", "reason"] and bool(z["converged"])
        assert z["W"].shape == (3, 2) and z["E"].shape == (9, 2)
    rc, out2, err = run_cli(capsys, *base, "--target", str(tf))
    assert rc == 0, err
    a, b = json.loads(out1), json.loads(out2)
    assert b["target"] == str(tf) and b["target_converged"] is True
    for k in ("kl_target", "kl_model", "max_rel_logit_error", "H", "cond_kept"):
        assert a[k] == b[k], k


def test_unconverged_target_is_refused_unless_accepted(capsys, tmp_path):
    task = dirichlet_task(3, 2, seed=0)
    W, E = svd_target(task, 2)
    tf = tmp_path / "t.npz"
    np.savez(tf, W=W, E=E, converged=np.array(False), reason=np.array("max_iter"))
    base = ["construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2", "--dh", "2", "--eps", "0",
            "--target", str(tf), "--json"]
    rc, out, err = run_cli(capsys, *base)
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "did not converge (reason: max_iter)" in err and "--accept-unconverged" in err
    rc, out, err = run_cli(capsys, *base, "--accept-unconverged")
    assert rc == 0 and "warning: building on an unconverged target" in err
    r = json.loads(out)
    assert r["target_converged"] is False and r["accepted_unconverged"] is True


def test_inaccurate_model_is_refused_or_kept_with_status_3(capsys):
    """An rtol no float64 construction meets: refused in one line naming the error and the conditioning; with
    --allow-inaccurate the model is kept, stderr and the JSON say so, and the exit status is 3."""
    base = ["construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2", "--dh", "2", "--eps", "0",
            "--target", "svd", "--rtol", "1e-300", "--json"]
    rc, out, err = run_cli(capsys, *base)
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "inaccurate construction refused: max relative logit error" in err and "kappa_1(M_1)" in err
    rc, out, err = run_cli(capsys, *base, "--allow-inaccurate")
    assert rc == 3 and "warning: inaccurate model kept (--allow-inaccurate)" in err
    r = json.loads(out)
    assert r["accurate"] is False and r["rtol"] == 1e-300 and r["draws"] == 3
    assert 0 < r["max_rel_logit_error"] < 1e-10  # the best of the draws: accurate to float64, just not to 1e-300


def test_assumption2_failure_is_reported_by_name(capsys, tmp_path):
    """Zeros in cond: the construction is defined for a finite target; the JSON and a stderr warning say so."""
    seqs = all_sequences(3, 2)
    cond = np.full((9, 3), 1 / 3)
    cond[0] = [0.5, 0.5, 0.0]
    path, tf = tmp_path / "task.npz", tmp_path / "target.npz"
    Task(np.full(9, 1 / 9), cond, seqs).save(path)
    rng = np.random.default_rng(0)
    np.savez(tf, W=rng.standard_normal((3, 2)), E=rng.standard_normal((9, 2)))
    rc, out, err = run_cli(capsys, "construct", "--task", str(path), "--d", "2", "--dh", "2", "--eps", "0",
                           "--target", str(tf), "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["assumption2"] is False and r["assumption2_note"].startswith("Assumption 2 fails: 1 zero entries")
    assert "aotmem: warning: Assumption 2 fails" in err
    assert r["max_rel_logit_error"] <= 1e-10


def test_d_at_least_N_minus_1_is_built_to_1e_8(capsys):
    """The issue's case: N = 8, S = 4, d = d_h = 10 > N (T = 4096), default (optimal, exact) target of rank 7 < d:
    was refused as 'numerically singular; add heads'; now built, matching the target to 1e-8 relative."""
    rc, out, err = run_cli(capsys, "construct", "--kind", "dirichlet", "--N", "8", "--S", "4", "--d", "10",
                           "--dh", "10", "--eps", "0", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["target_rank"] == 7 and r["T_eps"] == 4096 and r["H"] == r["H_paper"] == 409
    assert r["max_rel_logit_error"] <= 1e-8 and r["accurate"] is True
    assert r["kl_model"] <= r["kl_target"] + r["gamma"]
