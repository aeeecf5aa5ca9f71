"""The ``aotmem`` command line.

Subcommands: ``task`` (make a task file), ``bounds`` (the bound calculator),
``construct`` (build T* explicitly), ``verify`` (the claims ledger),
``report`` (the seed's experiments and figures). Each lives in its own
module ``verify/cmd_<name>.py`` exposing ``add_parser(subparsers)`` and
``run(args) -> int``.

Errors in the user's input (``ValueError``, unreadable files) print one line
``aotmem: error: ...`` and exit 2, never a traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("task", "bounds", "construct", "verify", "report")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own usage dump is noise here)
        sys.stderr.write(f"aotmem: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aotmem", description="Memorization in attention-only Transformers: "
                     "compute every quantity and check every claim.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"aotmem.verify.cmd_{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("aotmem: interrupted\n")
        return 130
    except (ValueError, OSError, np_linalg_error()) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        sys.stderr.write(f"aotmem: error: {msg}\n")
        return 2


def np_linalg_error():
    import numpy as np

    return np.linalg.LinAlgError


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
