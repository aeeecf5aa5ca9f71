"""The shell examples of README.md and docs/ run (``>>>`` examples run as doctests, see pyproject.toml).

- A ```` ```console ```` block is a session: lines starting with ``$ `` are
  ``aotmem`` commands, the lines after each are its expected output. The
  blocks of one file run in order, in one fresh directory, and the output is
  compared as a doctest would (``ELLIPSIS``, ``NORMALIZE_WHITESPACE``,
  ``<BLANKLINE>``): ``...`` marks output that depends on an optimiser's path.
- Every other ``aotmem`` command in a code block (```` ```sh ```` blocks,
  indented blocks such as the README's set-up) is too slow to run here (a
  ledger run, the full report); it must still parse: a renamed option or
  subcommand fails the suite. (Inline code in prose names commands without
  all their arguments and is not checked.)
"""

import contextlib
import doctest
import io
import re
import shlex
from pathlib import Path

import pytest

from aotmem.verify.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def console_sessions(text: str) -> list[tuple[str, str]]:
    """``[(command, expected output)]`` of the ```` ```console ```` blocks of ``text``, in order."""
    out = []
    for lang, body in FENCE.findall(text):
        if lang != "console":
            continue
        cmd, expected = None, []
        for line in body.splitlines():
            if line.startswith("$ "):
                if cmd is not None:
                    out.append((cmd, "\n".join(expected)))
                cmd, expected = line[2:], []
            elif cmd is not None:
                expected.append(line)
        if cmd is not None:
            out.append((cmd, "\n".join(expected)))
    return out


def other_commands(text: str) -> list[str]:
    """``aotmem ...`` commands of the code blocks other than ```` ```console ````: fenced or indented."""
    lines = []
    for lang, body in FENCE.findall(text):
        if lang != "console":
            lines += body.splitlines()
    text = FENCE.sub("", text)
    lines += [line[4:] for line in text.splitlines() if line.startswith("    ") and line.strip()]
    cmds = []
    for line in lines:
        for part in re.split(r"&&|\|", line):
            part = part.strip()
            if part.startswith("aotmem "):
                cmds.append(part)
    return cmds


def _run(cmd: str) -> tuple[int, str]:
    argv = shlex.split(cmd)
    assert argv[0] == "aotmem", f"console examples must be aotmem commands (got {cmd!r})"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        rc = main(argv[1:])
    return rc, buf.getvalue()


SESSIONS = [(f, s) for f in FILES if (s := console_sessions(f.read_text()))]


@pytest.mark.parametrize("path, session", SESSIONS, ids=[str(f.relative_to(ROOT)) for f, _ in SESSIONS])
def test_console_examples_run_and_print_what_they_show(path, session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for cmd, expected in session:
        rc, got = _run(cmd)
        assert rc == 0, f"{path.name}: `{cmd}` exited {rc}"
        if not CHECKER.check_output(expected + "\n", got, FLAGS):
            pytest.fail(f"{path.name}: `{cmd}` printed something else:\n"
                        + CHECKER.output_difference(doctest.Example(cmd, expected + "\n"), got, FLAGS))


def test_there_are_console_examples_in_the_readme_and_the_tutorial():
    names = {p.name for p, _ in SESSIONS}
    assert {"README.md", "tutorial.md"} <= names


ALL_OTHER = sorted({(str(f.relative_to(ROOT)), c) for f in FILES for c in other_commands(f.read_text())})


@pytest.mark.parametrize("where, cmd", ALL_OTHER)
def test_every_other_documented_command_parses(where, cmd):
    argv = shlex.split(cmd)[1:]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse rejected it
        pytest.fail(f"{where}: `{cmd}` does not parse (exit {exc.code})")


def test_the_readme_setup_commands_are_checked():
    cmds = {c for w, c in ALL_OTHER if w == "README.md"}
    assert "aotmem verify" in cmds and "aotmem report report/" in cmds


def test_collector_reads_sessions_and_compares_with_ellipsis():
    text = ("x `aotmem bounds` y\n```console\n$ aotmem a\nout 1\n$ aotmem b --c\n```\n"
            "```sh\naotmem verify --x\n```\n\n    pip install . && aotmem report d/\n")
    assert console_sessions(text) == [("aotmem a", "out 1"), ("aotmem b --c", "")]
    assert other_commands(text) == ["aotmem verify --x", "aotmem report d/"]
    assert CHECKER.check_output("a ... c\n", "a bbb c\n", FLAGS)
    assert not CHECKER.check_output("a b c\n", "a b d\n", FLAGS)
