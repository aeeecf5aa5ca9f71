"""Where ``construct`` spends its time: cProfile of one bench_construct case (after one warm-up run).

Run: ``python benchmarks/profile_construct.py [--case T=10000] [--backend numpy|cupy] [--top 25]``.
On CuPy the device work is asynchronous, so its time shows up at the next
synchronisation (a device-to-host copy in ``to_numpy`` or ``.get()``).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from bench_construct import CASES, case_task
from aotmem.theory.construct import construct
from timing import backend_missing


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="T=10000", choices=[c[0] for c in CASES])
    ap.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    if backend_missing(args.backend):
        return 2
    label, N, S, d, d_h, _target, *rest = next(c for c in CASES if c[0] == args.case)
    variant = rest[0] if rest else "paper"
    task, tg = case_task(N, S, d, variant=variant)
    run = lambda: construct(task, tg, d, d_h, 0.0, variant=variant, rank_svd_limit=0, backend=args.backend)  # noqa: E731
    run()  # warm-up: CuPy context, kernel compilation, allocator pools
    pr = cProfile.Profile()
    pr.enable()
    c = run()
    pr.disable()
    print(f"{label} ({variant}, backend {args.backend}): construct {c.report.seconds:.3f} s")
    pstats.Stats(pr).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
