"""Benchmark the per-instance cost of small ``T*`` constructions (T <= 64), old path vs batched path (issue 20).

For each case: ``--instances`` Dirichlet tasks of one shape (uniform prior, so every instance keeps the same
``T_eps`` sequences) with their rank-``d`` SVD targets, the paper variant, rank-1 ``W_QK``, one draw seed.

- old: ``theory.construct.construct`` per instance (its report carries ``paper.theorem1``'s quantities);
- new: ``theory.construct_batch.construct_batch`` on all instances at once (one draw, one factorisation and
  solve of the kept system, each AoT mapped back, one batched forward pass checked by ``construct``'s rule,
  batched divergences; ``construct`` as the fallback for what it does not cover or does not verify).

Both are timed in the same run (best of ``--repeat``), per instance, with their ratio; the two paths'
``dKL(pi, T)`` and right-hand sides are compared (largest relative difference), and the run fails (exit 1)
if they differ by more than ``AGREE_RTOL`` (``theory.construct_batch.BATCH_AGREE_RTOL``) or if the batch fell back on any instance of these cases.

Run: ``python benchmarks/bench_small_construct.py [--instances 200] [--repeat 3] [--cases all|LABELS] [--json FILE]``.
BLAS threads are best pinned (``OMP_NUM_THREADS=1``): with threads a T <= 64 solve costs more in
synchronisation than in arithmetic.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from aotmem.theory.construct import construct, svd_target
from aotmem.theory.construct_batch import BATCH_AGREE_RTOL as AGREE_RTOL, construct_batch
from aotmem.theory.generators import dirichlet_task
from timing import best_of

# (label "N<N>S<S>", N, S, d, d_h, eps): T = N^S <= 64
CASES = [
    ("N3S2", 3, 2, 2, 1, 0.1),
    ("N4S2", 4, 2, 2, 1, 0.2),
    ("N2S5", 2, 5, 2, 2, 0.1),
    ("N4S3", 4, 3, 3, 2, 0.1),
    ("N8S2", 8, 2, 3, 2, 0.1),
]


def _case(label, N, S, d, d_h, eps, n, repeat):
    tasks = [dirichlet_task(N, S, seed=k, prior="uniform") for k in range(n)]
    targets = [svd_target(t, d) for t in tasks]
    t_old, old = best_of(lambda: [construct(t, g, d, d_h, eps, qk="rank1", seed=3).report
                                  for t, g in zip(tasks, targets)], repeat)
    t_new, new = best_of(lambda: construct_batch(tasks, targets, d, d_h, eps, qk="rank1", seed=3), repeat)
    rel = lambda a, b: abs(a - b) / max(1.0, abs(b))
    diff = max(max(rel(a.kl_model, b.kl_model), rel(a.rhs, b.rhs)) for a, b in zip(new, old))
    return {"case": label, "T": N**S, "T_eps": old[0].T_eps, "H": old[0].H, "instances": n,
            "old_ms": 1e3 * t_old / n, "new_ms": 1e3 * t_new / n, "ratio": t_old / t_new,
            "max_rel_diff": diff, "batched": sum(bool(getattr(a, "batched", False)) for a in new)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default="all")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if a.instances < 1 or a.repeat < 1:
        print("error: `--instances` and `--repeat` must be >= 1")
        return 2
    want = None if a.cases == "all" else set(a.cases.split(","))
    cases = [c for c in CASES if want is None or c[0] in want]
    if not cases:
        print(f"error: `--cases` names no case (known: {', '.join(c[0] for c in CASES)})")
        return 2
    rows = []
    print(f"{'case':<10} {'T':>4} {'T_eps':>5} {'H':>3} {'old ms/inst':>12} {'new ms/inst':>12} {'ratio':>7} "
          f"{'max rel diff':>12} {'batched':>8}")
    ok = True
    for c in cases:
        r = _case(*c, a.instances, a.repeat)
        rows.append(r)
        print(f"{r['case']:<10} {r['T']:>4} {r['T_eps']:>5} {r['H']:>3} {r['old_ms']:>12.3f} {r['new_ms']:>12.3f} "
              f"{r['ratio']:>7.1f} {r['max_rel_diff']:>12.2g} {r['batched']:>5}/{r['instances']}")
        ok &= r["max_rel_diff"] <= AGREE_RTOL and r["batched"] == r["instances"]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if not ok:
        print(f"error: the batched path disagrees with construct beyond {AGREE_RTOL:g}, or fell back")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
