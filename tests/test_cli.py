"""The command line's exit statuses: input errors (2) vs internal errors (4), --debug, Ctrl-C (130)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aotmem.verify import cli
from aotmem.verify.cli import cmd_bounds
from aotmem.verify.cli import main


@pytest.fixture
def task_file(tmp_path):
    path = tmp_path / "t.npz"
    assert main(["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--out", str(path)]) == 0
    return str(path)


def _raising(exc):
    def fail(*args, **kwargs):
        raise exc
    return fail


@pytest.mark.parametrize("exc, status, first", [
    (ValueError("`d` is wrong"), 2, "aotmem: error: `d` is wrong"),
    (OSError("cannot read"), 2, "aotmem: error: cannot read"),
    (np.linalg.LinAlgError("Matrix is not positive definite"), 4,
     "aotmem: internal error: LinAlgError: Matrix is not positive definite"),
    (RuntimeError("boom\nsecond line"), 4, "aotmem: internal error: RuntimeError: boom"),
    (ZeroDivisionError("float division by zero"), 4, "aotmem: internal error: ZeroDivisionError"),
])
def test_input_errors_exit_2_internal_errors_exit_4(monkeypatch, capsys, task_file, exc, status, first):
    capsys.readouterr()
    monkeypatch.setattr(cmd_bounds, "bound_table", _raising(exc))
    rc = main(["bounds", task_file, "--d", "1"])
    err = capsys.readouterr().err
    assert rc == status
    assert err.count("\n") == 1 and err.startswith(first) and "Traceback" not in err
    if status == 4:
        assert "--debug" in err and "internal error" in err


def test_debug_reraises_with_the_traceback(monkeypatch, task_file):
    monkeypatch.setattr(cmd_bounds, "bound_table", _raising(np.linalg.LinAlgError("singular")))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        main(["--debug", "bounds", task_file, "--d", "1"])
    monkeypatch.setattr(cmd_bounds, "bound_table", _raising(ValueError("`d` bad")))
    with pytest.raises(ValueError, match="`d` bad"):
        main(["--debug", "bounds", task_file, "--d", "1"])


def test_ctrl_c_exits_130(monkeypatch, capsys, task_file):
    monkeypatch.setattr(cmd_bounds, "bound_table", _raising(KeyboardInterrupt()))
    assert main(["bounds", task_file, "--d", "1"]) == 130
    assert capsys.readouterr().err == "aotmem: interrupted\n"


def test_exit_statuses_are_documented():
    doc = cli.__doc__
    for status in ("- 0:", "- 1:", "- 2:", "- 3:", "- 4:", "- 130:", "- 141:", "--debug"):
        assert status in doc
    assert (cli.EXIT_FAILED, cli.EXIT_INPUT, cli.EXIT_INACCURATE, cli.EXIT_INTERNAL, cli.EXIT_INTERRUPTED,
            cli.EXIT_BROKEN_PIPE) == (1, 2, 3, 4, 130, 141)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Exit statuses"):]
    for status in ("0 on success", "1 when", "2 on", "3 when", "4 on", "130 when", "141"):
        assert status in section


def test_is_input_error_classification():
    assert cli.is_input_error(ValueError("x")) and cli.is_input_error(FileNotFoundError("x"))
    assert cli.is_input_error(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"))
    assert not cli.is_input_error(np.linalg.LinAlgError("x"))
    assert not cli.is_input_error(TypeError("x")) and not cli.is_input_error(MemoryError())


def test_debug_in_a_real_process_prints_the_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, prior=np.full(2, 0.5))
    # (without --debug: one line, exit 2, tests/test_cmd_bounds.py::test_no_traceback_in_a_real_process)
    debug = subprocess.run([sys.executable, "-m", "aotmem.verify", "--debug", "bounds", str(bad), "--d", "1"],
                           capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "lacks key" in debug.stderr


def test_a_closed_pipe_is_silent_and_exits_141(tmp_path):
    path = tmp_path / "t.npz"
    assert main(["task", "random", "--kind", "dirichlet", "--N", "4", "--S", "2", "--out", str(path)]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "aotmem.verify", "bounds", str(path), "--d", "1",
                             "--starts", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before the first line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and err == b""


def test_every_command_and_subcommand_prints_its_help():
    """A help string is a %-format for argparse: a bare '%' in one crashed `task example-text --help` (found in review)."""
    import argparse

    from aotmem.verify.cli import build_parser

    def walk(parser, path):
        parser.format_help()  # raises on a malformed help string
        for action in parser._actions:  # argparse has no public accessor for its subparsers
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, path + [name])
        yield path

    seen = list(walk(build_parser(), []))
    assert ["task", "example-text"] in seen and ["verify"] in seen and len(seen) >= 10
