"""`aotmem task` and `aotmem bounds`: the bound calculator and its handling of malformed task files."""

import json
import subprocess
import sys

import numpy as np
import pytest

from aotmem.theory.task import load_task
from aotmem.verify.cli import main
from aotmem.verify.cli.cmd_bounds import bound_table


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


# --- informative rows, the trivial bound, strict JSON (issue 13, items 3-4) ------------------------------


def strict_loads(text):
    """``json.loads`` refusing ``Infinity``/``NaN``, as strict parsers (JavaScript, jq) do."""
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def _tiny_task(path):
    """pi = 1e-300 somewhere: the wls bounds overflow float64 (+inf), the ls bounds stay finite."""
    P = np.array([[1e-300, 0.5, 0.5], [0.25, 0.25, 0.5], [0.3, 0.3, 0.4], [0.6, 0.2, 0.2]])
    P /= P.sum(axis=1, keepdims=True)
    return _write(path, prior=np.full(4, 0.25), cond=P, seqs=np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))


def test_infinite_bounds_are_null_with_the_reason_in_strict_json(tmp_path, capsys):
    path = _tiny_task(tmp_path / "tiny.npz")
    assert main(["bounds", path, "--d", "1", "--starts", "0", "--json"]) == 0
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    res = strict_loads(out)
    nulls = [r for r in res["rows"] if r["claim"].endswith("wls-bound") or r["reading"].startswith("sigma=")
             and r["claim"] == "draft.theorem-wls"]
    assert nulls and all(r["bound"] is None for r in nulls)
    assert {r["bound_note"] for r in nulls} == {
        "inf: the bound exceeds the float64 maximum (1.8e308)", "inf: exp3(x) overflows float64 (x > 708.8)"}
    assert all(r["informative"] is False for r in nulls)


def test_informative_means_below_the_zero_encoder(tmp_path, capsys):
    from aotmem.theory.divergence import entropy

    path = _tiny_task(tmp_path / "tiny.npz")
    task = load_task(path)
    res = bound_table(task, 1, starts=0)
    trivial = float(task.prior @ (np.log(task.N) - entropy(task.cond)))
    assert res["trivial"] == pytest.approx(trivial, rel=1e-12)
    for r in res["rows"]:
        finite = r["bound"] is not None and np.isfinite(r["bound"])
        assert r["informative"] == (finite and r["bound"] < res["trivial"])
    assert any(r["informative"] for r in res["rows"]) and not all(r["informative"] for r in res["rows"])
    assert main(["bounds", path, "--d", "1", "--starts", "0"]) == 0
    text = capsys.readouterr().out
    assert f"E_t[log N - h(pi_t)] = {res['trivial']:.4e}" in text
    n_inf = sum(r["informative"] for r in res["rows"])
    assert f"informative (below it): {n_inf} of " in text
    head = next(line for line in text.splitlines() if line.startswith("claim"))
    assert head.split()[-1] == "informative"


def test_optimal_divergence_printed_is_never_negative_at_d_N_minus_1(tmp_path):
    from aotmem.theory.generators import dirichlet_task

    for seed in range(5):
        task = dirichlet_task(6, 2, seed=seed)
        res = bound_table(task, task.N - 1, starts=0)
        assert res["optimal"]["divergence"] >= 0.0
        assert all(r["actual"] is None or r["actual"] >= 0.0 for r in res["rows"])


def test_real_text_task_bounds_at_small_and_full_d(tmp_path):
    """Python's own docs, char bigrams over 26 letters + <other>: no bound is informative at d = 1; d = 26 is exact."""
    from aotmem.theory.ngram import python_docs_text, text_task

    task = text_task(python_docs_text(), 2, symbols=list("abcdefghijklmnopqrstuvwxyz"), lower=True,
                     smoothing=0.5, keep="all").task
    assert (task.N, task.T) == (27, 729)
    res = bound_table(task, 26, starts=0)
    # d = N - 1: the exact encoder of paper.prop2; what remains is rounding of a sum of T N = 19683
    # terms of size <= |log pi| ~ 10, each good to ~1e-16 relative: far below 1e-12
    assert 0.0 <= res["optimal"]["divergence"] <= 1e-12
    res1 = bound_table(task, 1, starts=0)
    assert res1["optimal"]["divergence"] < res1["trivial"] < np.log(27)
    assert not any(r["informative"] for r in res1["rows"])


def test_one_bound_rule_stated_and_applied_at_d_N_minus_1(tmp_path, capsys):
    """Issue 17: `aotmem bounds` decides "holds" by the ledger's rule (registry.bound_holds: the Evaluation of
    lhs <= rhs with KL_ATOL/KL_RTOL), prints the rule (text and JSON), and marks the rows that hold only by
    its tolerance (at d = N - 1 the divergence is rounding, ~1e-17, above bounds of ~1e-30): `holds*`."""
    from aotmem.verify.ledger.registry import BOUND_RULE, KL_ATOL, KL_RTOL, Evaluation

    path = tmp_path / "t.npz"
    assert main(["task", "random", "--kind", "almost-rank", "--N", "4", "--S", "1", "--d", "2",
                 "--sigma", "0.1", "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["bounds", str(path), "--d", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["rule"] == {"text": BOUND_RULE, "atol": KL_ATOL, "rtol": KL_RTOL}
    judged = [r for r in res["rows"] if r["status"] in ("holds", "VIOLATED")]
    assert judged
    for r in judged:
        bound = r["bound"] if r["bound"] is not None else float("inf")  # strict JSON writes +inf as null
        violated = Evaluation(r["actual"], bound, "<=", atol=KL_ATOL, rtol=KL_RTOL).violated
        assert (r["status"] == "VIOLATED") == violated, r
        assert r["within_tolerance"] == (r["status"] == "holds" and r["actual"] > bound), r
    within = [r for r in judged if r["within_tolerance"]]
    assert within  # the point of the test: rounding above a ~0 bound
    assert main(["bounds", str(path), "--d", "3"]) == 0
    text = capsys.readouterr().out
    assert f"status rule: {BOUND_RULE}" in text
    assert "holds*" in text and f"holds*: {len(within)} rows hold only by the status rule's tolerance" in text
