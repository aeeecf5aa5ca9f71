"""The ``aotmem`` command line.

Subcommands: ``task`` (make a task file: random, from a text, from counts),
``bounds`` (the bound calculator), ``curve`` (the best divergence and every
bound against ``d``), ``construct`` (build T* explicitly), ``score`` (bits per
symbol of a model on a text, with baselines), ``verify`` (the
claims ledger), ``report`` (the seed's experiments and figures), ``export``
(the AoT for TransformerLens/PyTorch). Each lives in its own module
``verify/cli/cmd_<name>.py`` exposing ``add_parser(subparsers)`` and
``run(args) -> int``.

Exit statuses (also in the README):

- 0: success.
- 1: a check the command was asked to make failed (``verify --strict``: a
  claim fails; ``export --check``: the exported model disagrees).
- 2: the user's input is wrong: bad usage, a ``ValueError`` from a check of
  the input (a malformed task file, ``d = 0``, an assumption a bound needs),
  an unreadable or missing file (``OSError``). One line
  ``aotmem: error: ...`` on stderr, never a traceback.
- 3: ``construct --allow-inaccurate`` kept a model that misses its accuracy.
- 4: an internal error: any other exception (``numpy.linalg.LinAlgError``
  from a solver, a bug). One line ``aotmem: internal error: ...`` with the
  hint to rerun with ``--debug``.
- 130: interrupted (Ctrl-C); commands that can keep partial results
  (``curve``) write them first.
- 141: the reader of the output went away (``aotmem ... | head``): no
  message, as a shell reports a process ended by SIGPIPE.

``aotmem --debug <command> ...`` re-raises every error with its full
traceback instead of the one line (exit status 1, Python's own).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import numpy as np

COMMANDS = ("task", "bounds", "curve", "construct", "score", "verify", "report", "export")

# Exit statuses (module docstring).
EXIT_FAILED, EXIT_INPUT, EXIT_INACCURATE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 3, 4, 130, 141


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own usage dump is noise here)
        sys.stderr.write(f"aotmem: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aotmem", description="Memorization in attention-only Transformers: "
                     "compute its quantities and search its claims for counterexamples (README: what is not verified).",
                     epilog="exit statuses: 0 ok, 1 a requested check failed, 2 input error, "
                     "3 inaccurate model kept, 4 internal error (rerun with --debug), 130 interrupted, "
                     "141 output pipe closed")
    parser.add_argument("--debug", action="store_true",
                        help="on any error, show the full traceback instead of one line")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"aotmem.verify.cli.cmd_{name}").add_parser(sub)
    return parser


def is_input_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's input's fault (exit 2) rather than an internal error (exit 4).

    ``ValueError`` (the package's input checks; it includes ``UnicodeDecodeError``
    for an undecodable text file) and ``OSError`` (unreadable, missing or
    unwritable files) are input errors; ``numpy.linalg.LinAlgError``, a
    ``ValueError`` subclass, is a solver's failure and is internal, as is
    every other exception.
    """
    if isinstance(exc, np.linalg.LinAlgError):
        return False
    return isinstance(exc, (ValueError, OSError))


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests): nothing to flush
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `aotmem ... | head`: not an error of ours or of the input
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if args.debug:
            raise
        sys.stderr.write("aotmem: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 -- every error ends as one line and a status, or a traceback
        if args.debug:
            raise
        if is_input_error(exc):
            sys.stderr.write(f"aotmem: error: {_first_line(exc)}\n")
            return EXIT_INPUT
        sys.stderr.write(f"aotmem: internal error: {exc.__class__.__name__}: {_first_line(exc)} "
                         f"(not a problem with your input; rerun as `aotmem --debug {args.command} ...` "
                         "for the traceback)\n")
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
