"""``aotmem report DIR [--size tiny|full] [--seed N] [--only NAME[,NAME]]``: the seed's experiments.

Runs the experiments of :mod:`verify.experiments` (``EXPERIMENTS``), writes
their PNG figures (drawn by :mod:`verify.figures`) into ``DIR``, their
numbers into ``DIR/numbers.json`` and a summary into ``DIR/report.md``
(each figure with its caption), and prints one line per finding. With
``--only``, the other experiments of an earlier run in ``DIR`` at the same
size and seed are kept in ``numbers.json`` and ``report.md``. The
``full`` size (default) takes about a minute or two on two cores; ``tiny``
takes seconds.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path

from aotmem.verify.outputs.jsonout import dumps
from aotmem.verify.outputs.experiments import EXPERIMENTS, SIZES, summary_lines


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="run the seed's experiments and write their figures and numbers into DIR")
    p.add_argument("dir", metavar="DIR", help="output directory (created if missing)")
    p.add_argument("--size", choices=sorted(SIZES), default="full", help="experiment sizes (tiny: seconds; full: the report)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (same seed, same numbers)")
    p.add_argument("--only", metavar="NAMES", default=None,
                   help=f"comma-separated subset of: {', '.join(EXPERIMENTS)}")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.seed < 0:
        raise ValueError(f"`--seed` must be >= 0 (got {args.seed})")
    names = list(EXPERIMENTS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        bad = [n for n in names if n not in EXPERIMENTS]
        if bad or not names:
            raise ValueError(f"`--only` must name experiments among {list(EXPERIMENTS)} (got {args.only!r})")
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    numbers = {"size": args.size, "seed": args.seed, "experiments": {}}
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        sys.stderr.write(f"aotmem report: {name} ...\n")
        res = EXPERIMENTS[name](out, size=args.size, seed=args.seed)
        res["wall_s"] = round(time.perf_counter() - t0, 2)
        numbers["experiments"][name] = res
        for line in summary_lines(name, res):
            print(line)
    numbers["wall_s"] = round(time.perf_counter() - t_all, 2)
    # when and where it was measured: the times in report.md are this machine's (docs/gen_numbers.py)
    numbers["date"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d")
    numbers["cores"] = os.cpu_count()
    numbers, names = _merge(out / "numbers.json", numbers, names)
    (out / "numbers.json").write_text(dumps(numbers, indent=1) + "\n")
    (out / "report.md").write_text(_markdown(numbers, names))
    print(f"wrote {out / 'report.md'}, {out / 'numbers.json'} and {len(names)} figure(s)")
    return 0


def _merge(path: Path, numbers: dict, names: list[str]) -> tuple[dict, list[str]]:
    """With ``--only``, keep the other experiments of an earlier run of the same size and seed in ``DIR``."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return numbers, names
    if old.get("size") != numbers["size"] or old.get("seed") != numbers["seed"]:
        return numbers, names
    merged = dict(old.get("experiments", {}))
    merged.update(numbers["experiments"])
    order = [n for n in EXPERIMENTS if n in merged]
    wall = sum(e.get("wall_s", 0.0) for e in merged.values())
    return {**numbers, "experiments": {n: merged[n] for n in order}, "wall_s": round(wall, 2)}, order


def _markdown(numbers: dict, names: list[str]) -> str:
    cmd = f"aotmem report DIR --size {numbers['size']} --seed {numbers['seed']}"
    if set(names) != set(EXPERIMENTS):
        cmd += f" --only {','.join(names)}"
    lines = ["# The seed's experiments, reproduced", "",
             f"Regenerate with `{cmd}` (about {numbers['wall_s']} s in all, measured on {numbers.get('date', '?')} "
             f"with {numbers.get('cores', '?')} cores).", ""]
    for name in names:
        res = numbers["experiments"][name]
        fig = Path(res["figure"]).name
        lines += [f"## {name}", "", f"![{name}]({fig})", ""]
        if res.get("caption"):
            lines += ["*" + res["caption"].replace("*", "\\*") + "*", ""]  # T* in a caption stays a star
        lines += [f"({res.get('wall_s', '?')} s on {numbers.get('date', '?')}, {numbers.get('cores', '?')} cores)", ""]
        lines += [f"- {s}" for s in summary_lines(name, res)]
        lines += [""]
    return "\n".join(lines)
