"""Compare two ledger runs (``aotmem verify --json A.json`` / ``B.json``) claim by claim; print every difference.

Per claim key: verdict, instances (evaluated / outside / errors / skipped), the tightest instance's
margin, relative margin and ratio, and whether a counterexample was confirmed. Margins are compared
exactly, and the relative change is printed beside each difference (a float64 formula written
differently moves a margin by ~1e-16 relative; anything larger is a different instance or value).
Exit status 0 when the verdicts and instance counts agree (margins may differ: they are listed),
1 otherwise.

    python benchmarks/compare_ledger.py /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import json
import math
import sys

COUNTS = ("instances", "outside", "errors", "skipped")
TIGHT = ("margin", "rel_margin", "ratio", "lhs", "rhs")


def _load(path: str) -> dict:
    with open(path) as fh:
        data = json.load(fh)
    return {r["key"]: r for r in data["results"]}


def _tight(r: dict) -> dict:
    ev = ((r.get("tightest") or {}).get("evaluation")) or {}
    return {k: ev.get(k) for k in TIGHT}


def _rel(a, b) -> str:
    if not all(isinstance(x, (int, float)) for x in (a, b)):
        return ""
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return ""
    return f" (relative change {abs(a - b) / max(abs(a), abs(b), 1e-300):.2e})"


def compare(a: dict, b: dict) -> tuple[list[str], bool]:
    """Lines describing every difference, and whether verdicts and counts agree."""
    lines, same = [], True
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            lines.append(f"{key}: only in {'B' if key not in a else 'A'}")
            same = False
            continue
        ra, rb = a[key], b[key]
        if ra["verdict"] != rb["verdict"]:
            lines.append(f"{key}: verdict {ra['verdict']} -> {rb['verdict']}")
            same = False
        for c in COUNTS:
            if ra.get(c) != rb.get(c):
                lines.append(f"{key}: {c} {ra.get(c)} -> {rb.get(c)}")
                same = False
        ta, tb = _tight(ra), _tight(rb)
        for k in TIGHT:
            if ta[k] != tb[k]:
                lines.append(f"{key}: tightest {k} {ta[k]!r} -> {tb[k]!r}{_rel(ta[k], tb[k])}")
        ca, cb = ra.get("counterexample"), rb.get("counterexample")
        if (ca is None) != (cb is None):
            lines.append(f"{key}: counterexample {'none' if ca is None else 'found'} -> {'none' if cb is None else 'found'}")
    return lines, same


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python benchmarks/compare_ledger.py A.json B.json", file=sys.stderr)
        return 2
    a, b = _load(argv[0]), _load(argv[1])
    lines, same = compare(a, b)
    print(f"{len(a)} claims in A, {len(b)} in B; {len(lines)} differences"
          + ("" if same else " (verdicts or instance counts differ)"))
    for line in lines:
        print("  " + line)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
