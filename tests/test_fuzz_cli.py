"""Fuzz the ``aotmem`` command line (issue 5, items 1-2).

Every malformed invocation must end with ONE line ``aotmem: error: ...``
on stderr, a non-zero exit status and no traceback; every valid one exits
0 and prints no NaN. Commands run in-process through
:func:`verify.cli.main` (an uncaught exception fails the test, which is the
point), malformed task files are written by hand: missing keys, NaN,
negative entries, unnormalised rows, wrong shapes, pickled objects, bytes
that are not an ``.npz`` at all.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aotmem.verify.cli import build_parser, main

COMMANDS = set(build_parser()._subparsers._group_actions[0].choices)
FUZZED = {"task", "bounds", "construct", "verify", "report"}  # the commands this file fuzzes


def test_the_fuzzed_commands_exist():
    """Every command fuzzed below exists (none is skipped for being absent)."""
    assert FUZZED <= COMMANDS, sorted(FUZZED - COMMANDS)


def run_cli(argv, capsys):
    """``(exit status, stdout, stderr)`` of ``aotmem argv``; SystemExit (argparse) counts as an exit."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, argv):
    assert rc != 0, f"aotmem {argv} exited 0"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"aotmem {argv}: expected one stderr line, got {lines}"
    assert lines[0].startswith("aotmem: error: "), lines[0]
    assert "Traceback" not in err


# ------------------------------------------------------------ malformed task files
def _valid_arrays():
    return dict(prior=np.full(4, 0.25), cond=np.full((4, 2), 0.5), seqs=np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))


def _write(path, kind: str):
    """Write a malformed task file of the given ``kind``; return its path."""
    a = _valid_arrays()
    if kind == "missing":
        return path.parent / "does-not-exist.npz"
    if kind == "directory":
        return path.parent
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"\x93NUMPY not really" * 10)
    elif kind == "text":
        path.write_text("prior,cond\n0.5,0.5\n")
    elif kind == "bad-zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("prior.npy", b"not an npy payload")
    elif kind == "pickled":
        np.savez(path, prior=np.array([{"a": 1}], dtype=object), cond=a["cond"])
    else:
        mutate = {
            "no-cond": lambda: a.pop("cond"),
            "no-prior": lambda: a.pop("prior"),
            "nan-cond": lambda: a["cond"].__setitem__((0, 0), np.nan),
            "inf-prior": lambda: a["prior"].__setitem__(0, np.inf),
            "negative": lambda: a["cond"].__setitem__((1, slice(None)), [1.5, -0.5]),
            "unnormalised-row": lambda: a["cond"].__setitem__((2, 0), 0.4),
            "unnormalised-prior": lambda: a.__setitem__("prior", np.full(4, 0.2)),
            "prior-length": lambda: a.__setitem__("prior", np.full(3, 1 / 3)),
            "cond-1d": lambda: a.__setitem__("cond", np.full(4, 0.5)),
            "cond-3d": lambda: a.__setitem__("cond", np.full((4, 2, 1), 0.5)),
            "one-token": lambda: a.__setitem__("cond", np.ones((4, 1))),
            "seqs-range": lambda: a["seqs"].__setitem__((0, 0), 5),
            "seqs-negative": lambda: a["seqs"].__setitem__((0, 0), -1),
            "seqs-dup": lambda: a["seqs"].__setitem__(1, [0, 0]),
            "seqs-float": lambda: a.__setitem__("seqs", a["seqs"] + 0.5),
            "seqs-shape": lambda: a.__setitem__("seqs", a["seqs"][:3]),
            "string-cond": lambda: a.__setitem__("cond", np.array([["a", "b"]] * 4)),
            "complex-cond": lambda: a.__setitem__("cond", a["cond"].astype(complex)),
            "empty-cond": lambda: a.__setitem__("cond", np.zeros((0, 2))),
        }
        mutate[kind]()
        np.savez(path, **a)
    return path


BAD_FILES = ["missing", "directory", "empty", "garbage", "text", "bad-zip", "pickled", "no-cond", "no-prior",
             "nan-cond", "inf-prior", "negative", "unnormalised-row", "unnormalised-prior", "prior-length",
             "cond-1d", "cond-3d", "one-token", "seqs-range", "seqs-negative", "seqs-dup", "seqs-float",
             "seqs-shape", "string-cond", "complex-cond", "empty-cond"]


def _file_commands(path):
    return [["bounds", path, "--d", "1"], ["construct", "--task", path, "--d", "2", "--dh", "1", "--eps", "0"]]


@pytest.mark.parametrize("kind", BAD_FILES)
def test_malformed_task_file_is_one_line_error(kind, tmp_path, capsys):
    path = _write(tmp_path / "task.npz", kind)
    for argv in _file_commands(path):
        rc, _, err = run_cli(argv, capsys)
        assert_one_line_error(rc, err, argv)


# ------------------------------------------------------------ malformed arguments
def _bad_argvs(good_task):
    out = [
        [],
        ["nope"],
        ["task"],
        ["task", "random", "--kind", "nope", "--N", "3", "--S", "1", "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "1", "--S", "1", "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "0", "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "x", "--S", "1", "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "1000", "--S", "4", "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--alpha", "0", "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--alpha", "nan", "--out", "x.npz"],
        ["task", "random", "--kind", "lookup", "--N", "3", "--S", "1", "--entropy", "-1", "--out", "x.npz"],
        ["task", "random", "--kind", "lookup", "--N", "3", "--S", "1", "--entropy", "5", "--out", "x.npz"],
        ["task", "random", "--kind", "lookup", "--N", "3", "--S", "1", "--entropy", "nan", "--out", "x.npz"],
        ["task", "random", "--kind", "almost-rank", "--N", "4", "--S", "1", "--d", "1", "--sigma", "-1",
         "--out", "x.npz"],
        ["task", "random", "--kind", "almost-rank", "--N", "4", "--S", "1", "--d", "0", "--sigma", "0.1",
         "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--d", "1", "--out", "x.npz"],
        ["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--out", "/nonexistent/dir/x.npz"],
    ]
    out += [["bounds", good_task, "--d", v] for v in ("0", "-1", "x", "1.5", "nan")]
    out += [["bounds", good_task], ["bounds", "--d", "1"]]
    base = ["construct", "--kind", "dirichlet", "--N", "3", "--S", "2"]
    out += [
        base + ["--d", "2", "--dh", "1", "--eps", e] for e in ("1", "-0.1", "nan", "inf", "x", "1.5")
    ] + [
        base + ["--d", "0", "--dh", "1", "--eps", "0"],
        # --d 2 --dh 3 is valid: d_h > d is accepted (a head adds at most d to the rank; theory.construct)
        base + ["--d", "2", "--dh", "0", "--eps", "0"],
        base + ["--d", "2", "--dh", "1", "--eps", "0", "--heads", "0"],
        base + ["--d", "2", "--dh", "1", "--eps", "0", "--heads", "-3"],
        ["construct", "--kind", "dirichlet", "--N", "1", "--S", "2", "--d", "2", "--dh", "1", "--eps", "0"],
        ["construct", "--kind", "dirichlet", "--N", "3", "--S", "0", "--d", "2", "--dh", "1", "--eps", "0"],
        ["construct", "--kind", "dirichlet", "--d", "2", "--dh", "1", "--eps", "0"],
        base + ["--d", "2", "--dh", "1", "--eps", "0", "--save", "/nonexistent/dir/m.npz"],
    ]
    out += [["verify", "--claims", "no.such.claim", "--list"], ["verify", "--profile", "nope"],
            ["verify", "--seed", "x", "--list"]]
    out += [["report", "--size", "nope", "out"], ["report", "--only", "nope", "--size", "tiny", "/nonexistent/x"]]
    return out


@pytest.fixture(scope="module")
def good_task(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "task.npz"
    np.savez(path, **_valid_arrays())
    return path


def test_every_malformed_invocation_is_one_line_error(good_task, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in _bad_argvs(good_task):
        rc, _, err = run_cli(argv, capsys)
        assert_one_line_error(rc, err, argv)


# ------------------------------------------------------------ random argument soup
TOKENS = st.sampled_from(["--N", "--S", "--d", "--dh", "--eps", "--kind", "--out", "--json", "--seed",
                          "0", "-1", "1", "2", "3", "nan", "inf", "1e309", "x", "", "dirichlet", "lookup",
                          "--entropy", "--alpha", "--sigma", "1.5", "random", "task.npz"])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          max_examples=max(10, settings.default.max_examples))
@given(cmd=st.sampled_from(["task", "bounds", "construct"]), rest=st.lists(TOKENS, max_size=9))
def test_argument_soup_never_tracebacks(cmd, rest, good_task, tmp_path, capsys, monkeypatch):
    """Random argument lists: exit 0 or a one-line error, never an uncaught exception."""
    assume(not (cmd == "construct" and "--N" in rest))  # keep any valid construct tiny (the default N)
    monkeypatch.chdir(tmp_path)
    argv = [cmd] + (["random"] if cmd == "task" else [str(good_task)] if cmd == "bounds" else []) + rest
    rc, out, err = run_cli(argv, capsys)
    if rc != 0:
        assert_one_line_error(rc, err, argv)
    else:
        assert "nan" not in out.lower().replace("nan-", ""), out


# ------------------------------------------------------------ valid runs at the extremes
def test_bounds_json_on_extreme_task_has_no_nan(tmp_path, capsys):
    """Was a traceback (OverflowError in theory/bounds.py seed_wls_bound), fixed during issue 5.

    A task with 1e-300 probabilities, exact zeros in the prior and a one-hot row: JSON without NaN."""
    cond = np.array([[1e-300, 0.5, 0.5 - 1e-300], [0.2, 0.3, 0.5], [0.25, 0.25, 0.5]])
    path = tmp_path / "extreme.npz"
    np.savez(path, prior=np.array([0.5, 0.5, 0.0]), cond=cond, seqs=np.arange(3)[:, None])
    rc, out, err = run_cli(["bounds", path, "--d", "1", "--json"], capsys)
    assert rc == 0, err  # a valid task (Assumption 2 holds: 1e-300 > 0): its bounds, not an error
    data = json.loads(out)  # json.loads accepts NaN: look for it explicitly

    def walk(x):
        if isinstance(x, float):
            assert x == x, f"NaN in aotmem bounds --json: {out[:400]}"
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(data)


def test_fixed_construct_singular_system_is_one_line():
    """Printed scipy's LinAlgWarning (2 lines) before `aotmem: error: the kept system M_1 is singular`.

    In a subprocess: the user's interpreter, its default warning filters, its stderr.
    """
    import subprocess
    import sys

    argv = ["construct", "--kind", "dirichlet", "--N", "2", "--S", "1", "--d", "1", "--dh", "1", "--eps", "0"]
    res = subprocess.run([sys.executable, "-m", "verify", *argv], capture_output=True, text=True, timeout=120)
    assert_one_line_error(res.returncode, res.stderr, argv)
