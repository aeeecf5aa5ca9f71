"""Generate ``docs/api.md``, the API reference, from the modules' docstrings.

Every module of ``theory/`` and ``verify/`` gets a section; every public
name (the module's ``__all__``, or else its own functions and classes not
starting with ``_``) gets one line with its signature and the first line of
its docstring. ``tests/test_docs.py`` checks that the names listed in
``docs/api.md`` are exactly the public names of the code, so adding a public
function without regenerating this page fails the suite.

Usage (from the repository root)::

    python docs/gen_api.py           # rewrite docs/api.md
    python docs/gen_api.py --check   # exit 1 if docs/api.md lists other names than the code has
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api.md"
SKIP = {"aotmem.verify.__main__"}  # runs the CLI on import

HEADING = re.compile(r"^## `(aotmem(?:\.\w+)*)`")
ENTRY = re.compile(r"^- \*\*`([A-Za-z_]\w*)`\*\*")


def module_names() -> list[str]:
    """Dotted names of the modules of the package (the root, ``aotmem.theory``, ``aotmem.verify``), sorted.

    The root's folder (``verify/_root``) sits inside ``verify/``; it is listed once, as ``aotmem``.
    """
    import pkgutil

    out = ["aotmem"]
    for pkg in ("aotmem", "aotmem.theory", "aotmem.verify"):
        for m in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + "."):
            if m.name not in SKIP and not m.name.startswith("aotmem.verify._root"):
                out.append(m.name)
    return sorted(out)


def public_names(mod) -> list[str]:
    """The module's ``__all__``, or its own public functions and classes."""
    if hasattr(mod, "__all__"):
        return list(mod.__all__)
    return [n for n, obj in vars(mod).items()
            if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == mod.__name__]


def code_api() -> dict[str, list[str]]:
    """``{module: [public names]}`` read from the code."""
    return {m: public_names(importlib.import_module(m)) for m in module_names()}


def documented_api(path: Path = API) -> dict[str, list[str]]:
    """``{module: [names]}`` read back from ``docs/api.md``."""
    out: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        h = HEADING.match(line)
        if h:
            current = h.group(1)
            out[current] = []
            continue
        e = ENTRY.match(line)
        if e and current:
            out[current].append(e.group(1))
    return out


def _summary(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first


def _entry(name: str, obj) -> str:
    if inspect.isfunction(obj) or inspect.isclass(obj):
        try:  # names and defaults only: annotations are in the docstrings and the code
            sg = inspect.signature(obj)
            sg = sg.replace(parameters=[p.replace(annotation=p.empty) for p in sg.parameters.values()],
                            return_annotation=sg.empty)
            sig = re.sub(r" at 0x[0-9a-f]+", "", str(sg))
        except (TypeError, ValueError):
            sig = "(...)"
        kind = " (class)" if inspect.isclass(obj) else ""
        s = _summary(obj).split(">>>")[0].strip()  # never a doctest here
        return f"- **`{name}`**`{sig}`{kind}" + (f": {s}" if s else "")
    r = repr(obj)
    r = r if len(r) <= 80 else type(obj).__name__
    return f"- **`{name}`** = `{r}`"


def _cli_section() -> list[str]:
    """``aotmem <command> --help`` for every command, as the parser prints it."""
    import os

    from aotmem.verify.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: fix the width so the page is stable

    def subparsers(p):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                return a.choices
        return {}

    out = ["## Command line", "", "`aotmem <command> --help` prints these.", ""]

    def walk(p, prog):
        p.prog = prog
        out.extend([f"### `{prog}`", "", "```text", p.format_help().rstrip(), "```", ""])
        for name, child in subparsers(p).items():
            walk(child, f"{prog} {name}")

    for name, p in subparsers(build_parser()).items():
        walk(p, f"aotmem {name}")
    return out


def render() -> str:
    lines = ["# API reference", "",
             "Generated from the docstrings by `python docs/gen_api.py`; `tests/test_docs.py` fails when "
             "a public name of the code is missing here, or listed here but gone from the code. "
             "Each line: name, signature, first line of the docstring (read the docstring itself for the "
             "formula, the claim id, the parameters and the examples: `help(theory.assoc.recall_curve)`).", "",
             "[Command line](#command-line). Modules: "
             + ", ".join(f"[`{m}`](#{m.replace('.', '')})" for m in module_names()), ""]
    lines += _cli_section()
    for m in module_names():
        mod = importlib.import_module(m)
        lines += [f"## `{m}`", ""]
        s = _summary(mod)
        if s:
            lines += [s, ""]
        for n in public_names(mod):
            lines.append(_entry(n, getattr(mod, n)))
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/api.md lists other names than the code")
    args = ap.parse_args(argv)
    if args.check:
        code, docs = code_api(), documented_api()
        if code != docs:
            sys.stderr.write("docs/api.md is out of date: run `python docs/gen_api.py`\n")
            return 1
        return 0
    API.write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
