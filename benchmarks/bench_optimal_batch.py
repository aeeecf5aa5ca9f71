"""Per-instance cost of the optimal rank-d encoder, scalar (``theory.optimal.optimal_encoder``, one instance at a
time) against batched (``theory.optimal_batch.optimal_encoder_batch``, B instances of one shape), in one run.

Instances: random explicit tasks (``theory.batch.tasks_from_logits``: Gaussian logits of the given scale, prior
weights log-uniform over 3 nats), the small shapes the ledger's families draw (T <= 12, N <= 12). Prints, per
shape, the per-instance time of each (best of ``--repeat``), their ratio, how many instances the batch certified
itself (the rest are the scalar optimiser's, inside the batch's time), and how many end points agree to
BATCH_AGREE_RTOL (the objective is non-convex: the two methods may end in different certified local minima;
``lower`` / ``higher`` count the batch's end point against the scalar's).

    python benchmarks/bench_optimal_batch.py [--B 64] [--repeat 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from aotmem.theory.batch import tasks_from_logits
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.optimal_batch import BATCH_AGREE_RTOL, optimal_encoder_batch

SHAPES = ((3, 3, 1, 1.0), (6, 3, 1, 2.0), (5, 7, 2, 2.0), (8, 6, 2, 3.0), (8, 12, 3, 3.0), (12, 4, 2, 2.0))


def _best(fn, repeat):
    out, best = None, np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--B", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args(argv)
    print(f"{'T':>3} {'N':>3} {'d':>2} {'scale':>5}  {'scalar ms':>10} {'batch ms':>9} {'ratio':>6}  "
          f"{'batched':>7} {'agree':>5} {'lower':>5} {'higher':>6}")
    tot_s = tot_b = 0.0
    for k, (T, N, d, scale) in enumerate(SHAPES):
        rng = np.random.default_rng(k)
        p, P = tasks_from_logits(rng.normal(size=(a.B, T, N)) * scale, rng.uniform(-3, 0, size=(a.B, T)))
        rs, ts = _best(lambda: [optimal_encoder(p[b], P[b], d, starts=0, seed=0, max_iter=300) for b in range(a.B)],
                       a.repeat)
        rb, tb = _best(lambda: optimal_encoder_batch(p, P, d, max_iter=300), a.repeat)
        ds, db = np.array([r.divergence for r in rs]), np.array([r.divergence for r in rb])
        agree = np.abs(db - ds) <= BATCH_AGREE_RTOL * ds + 1e-15
        tot_s, tot_b = tot_s + ts, tot_b + tb
        print(f"{T:>3} {N:>3} {d:>2} {scale:>5g}  {ts / a.B * 1e3:>10.2f} {tb / a.B * 1e3:>9.2f} {ts / tb:>6.1f}  "
              f"{sum('batched' in r.message for r in rb):>7} {int(agree.sum()):>5} "
              f"{int(np.sum(~agree & (db < ds))):>5} {int(np.sum(~agree & (db > ds))):>6}")
    print(f"all shapes: scalar {tot_s / (a.B * len(SHAPES)) * 1e3:.2f} ms, batch {tot_b / (a.B * len(SHAPES)) * 1e3:.2f} "
          f"ms per instance, ratio {tot_s / tot_b:.1f}")


if __name__ == "__main__":
    main()
