"""Benchmark: theory.optimal (trust-region Newton, variable projection) vs Adam on the same factors, gradient and start.

Run: ``python benchmarks/bench_optimal_vs_adam.py [--panel]`` (~1 min; ~5 min with ``--panel``, on 2 cores).

Instance: ``dirichlet_task(N=20, S=2, alpha=1, seed=0)`` (T = 400), rank ``d = 4``.
Both methods minimise ``dKL(pi, E W^T)`` over ``W (N, d)``, ``E (T, d)`` from the
same balanced ``f_ls`` start. Adam (numpy, beta = (0.9, 0.999), eps = 1e-8)
uses the analytic gradient ``G = p (softmax(F) - pi)``, ``grad_W = G^T E``,
``grad_E = G W`` (:func:`theory.optimal.kl_and_grad`); ours is
:func:`theory.optimal.minimize_newton`, one start, timed from the call
(validation and the initial inner solve included).

1. Reference pass: ours once, and Adam at every learning rate in ``LRS`` for
   ``ADAM_ITERS`` iterations. ``best`` = the lowest divergence found by any
   run; the target for ``rel`` in ``RELS`` is ``best * (1 + rel)``. Adam's
   learning rate for a target is the one that reaches it in the fewest
   iterations (Adam is deterministic, and its iterations cost the same at
   every learning rate, so this is also its fastest).
2. Timing pass, ``REPEATS`` times: ours, then Adam at that learning rate (run
   until it reaches the tightest target it reached in pass 1), back to back;
   each repeat gives a ratio Adam time / our time measured in the same run.
   Reported: median and range over the repeats.

``--panel`` also runs the instances of ``PANEL`` (declared before any of them
was run), each from its own ``f_ls`` start.

Measured 2026-11-26 (2-core CPU, one BLAS thread, ``--panel``), median [range]
over 5 repeats, time to reach ``best * (1 + rel)``:

===================================  ==========================================  =====================
instance (N=20, S=2, T=400, d=4)     within 1e-6: ours / Adam, speed-up          within 1e-10
===================================  ==========================================  =====================
dirichlet a=1, uniform (headline)    42.0 / 79.2 ms, 1.9x [1.7, 2.2]             22.5x [21.3, 30.0]
dirichlet a=1, zipf prior            51.4 / 229.5 ms, 4.5x [3.3, 6.0]            68.0x [53.1, 79.0]
dirichlet a=0.3                      ours: worse local minimum (0.5785 vs 0.5764)  same
lookup, entropy 0.5                  276 ms / Adam never (>= 5.26 s): >= 19x     >= 19x
almost-rank, sigma_{d+1} = 0.1       6.3 / 45.9 ms, 7.3x [6.3, 8.4]              below rounding
===================================  ==========================================  =====================

- The 10x target at 1e-6 is NOT met on the headline instance. Iterations:
  ours 8 to 1e-6 and 9 to 1e-10; Adam 280 to 1e-6 at its best lr 0.1
  (0.03: 567, 0.01: 1411, 0.003: 3520) and 4022 to 1e-10. One Newton
  iteration costs ~3.5-4 ms here against ~0.25 ms for Adam, and the first
  costs ~11 ms (the initial row solve E*(W0)). Where the time goes, per
  iteration: the reduced Hessian (~1.5 ms; one 60 x 2000 Gram GEMM is 0.5 ms
  on this machine), the trust-region solve (a 60 x 60 ``eigh``, ~0.7 ms, when
  the step hits the boundary, 6 of the 8 steps), the per-row correction
  (~0.5 ms). Reaching 10x would need ~0.8 ms per iteration. The path is
  long because the start sits in a region of negative curvature
  (lowest Hessian eigenvalue -1.6e-2 at the start, positive only from
  iteration 6).
- lookup: before this run's fix, one start of ``minimize_newton`` stalled at
  dKL 1.139 (rows far from E*(W) made every trust radius fail; now re-solved,
  ``tests/test_optimal.py::test_newton_does_not_stall_when_rows_are_far_from_their_optimum``).
  It now reaches 0.2057002, below Adam's best 0.2063962 after 4 x 20000
  iterations, so Adam never gets within 1e-6 and the ratio is a lower bound.
- dirichlet a=0.3: from the f_ls start Newton ends in a local minimum
  0.37% above Adam's; ``optimal_encoder`` (f_ls, f_wls, 4 random starts,
  0.62 s) finds 0.5764353198, below Adam's 0.5764353204 (start random-1).
- almost-rank at 1e-10: best * 1e-10 = 8e-17 is below the float64
  resolution of dKL (16 ulp of its O(1) terms), so no time is reported.
- basin caveat (headline): this instance has a local minimum at 0.2708172622
  (2e-3 above the best). From this start Newton reaches the best one with the
  default initial radius 1 (and with 4), but the local one with 0.25, 0.5 and
  2. The ratio is for this start and radius, not a guarantee.
"""

from __future__ import annotations

import os

# One BLAS thread: on a loaded 2-core machine OpenBLAS's spinning threads slow
# small dense ops ~100x (measured: a 900 x 30 SVD 0.9 s vs 1 ms).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from aotmem.theory.generators import almost_rank_task, dirichlet_task, lookup_task  # noqa: E402
from aotmem.theory.lowrank import f_ls  # noqa: E402
from aotmem.theory.optimal import _neg_entropy_term, _objective, balance, minimize_newton, optimal_encoder  # noqa: E402

N, S, D, SEED = 20, 2, 4, 0
RELS = (1e-6, 1e-10)  # "within 1e-6 relative of the best" (the target), and a tight one
LRS = (3e-3, 1e-2, 3e-2, 1e-1)
ADAM_ITERS = 20000
REPEATS = 5


def adam(p, P, W0, E0, lr, iters, trace, stop=-np.inf):
    """Adam on ``(W, E)``; appends ``(seconds, divergence, iteration)`` to ``trace`` at every improvement; stops at ``stop``."""
    negent = _neg_entropy_term(p, P)
    x = [W0.copy(), E0.copy()]
    m = [np.zeros_like(a) for a in x]
    v = [np.zeros_like(a) for a in x]
    b1, b2, eps = 0.9, 0.999, 1e-8
    t0 = time.perf_counter()
    best = np.inf
    for k in range(1, iters + 1):
        f, gW, gE = _objective(p, P, negent, x[0], x[1])
        if f < best:
            best = f
            trace.append((time.perf_counter() - t0, f, k))
            if f <= stop:
                break
        for i, g in enumerate((gW, gE)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            x[i] -= lr * (m[i] / (1 - b1**k)) / (np.sqrt(v[i] / (1 - b2**k)) + eps)
    return best


def ours(p, P, W0, E0, f0):
    """Our solver from the same start; trace of ``(seconds, divergence, iteration)``, iteration 0 = the start."""
    trace = [(0.0, f0, 0)]
    t0 = time.perf_counter()
    res = minimize_newton(p, P, W0, E0, callback=lambda f: trace.append((time.perf_counter() - t0, f, len(trace))))
    return res, trace, time.perf_counter() - t0


def first(trace, target):
    """``(seconds, iteration)`` of the first trace entry at or below ``target`` (inf, None if none)."""
    for t, f, k in trace:
        if f <= target:
            return t, k
    return float("inf"), None


# The instance first (the headline), then a panel declared before any
# of it was run, to show how the ratio depends on the task: a Zipf prior (real
# sequence frequencies), peaked rows (Dirichlet alpha = 0.3; a low-entropy
# look-up table), and logits that are almost rank d (small sigma_{d+1}).
PANEL = (
    ("dirichlet a=1, uniform prior (headline)", lambda: dirichlet_task(N, S, seed=SEED)),
    ("dirichlet a=1, zipf prior", lambda: dirichlet_task(N, S, prior="zipf", seed=SEED)),
    ("dirichlet a=0.3, uniform prior", lambda: dirichlet_task(N, S, alpha=0.3, seed=SEED)),
    ("lookup entropy 0.5", lambda: lookup_task(N, S, entropy=0.5, seed=SEED)),
    ("almost-rank sigma_{d+1}=0.1", lambda: almost_rank_task(N, S, d=D, sigma=0.1, seed=SEED)),
)


def run(name, task, repeats, verbose):
    """One instance: reference pass, then the timing pass; returns {rel: (ours ms, adam ms, ratios, note)}."""
    p, P = task.prior, task.cond
    ls = f_ls(p, P, D, "uniform")
    W0, E0 = balance(ls.W, ls.E)
    f0 = float(ls.divergence(p, P))
    print(f"\n== {name}: N={N} S={S} (T={task.T}) d={D}; start f_ls: dKL = {f0:.10f}")

    # 1. reference pass
    res, tr_ours, t_total = ours(p, P, W0, E0, f0)
    print(f"ours (minimize_newton, one start): dKL = {res.divergence:.12f}, {res.iterations} iterations, "
          f"{t_total * 1e3:.1f} ms, gradient test passed: {res.converged} ({res.reason})")
    if verbose:
        t0 = time.perf_counter()
        full = optimal_encoder(p, P, D, starts=2)
        print(f"ours (optimal_encoder, f_ls + f_wls + 2 random starts): dKL = {full.divergence:.12f} from "
              f"{full.best_start}, {time.perf_counter() - t0:.3f} s; per start: "
              + ", ".join(f"{k} {v:.10f}" for k, v in full.start_divergences.items()))
    runs, elapsed = {}, {}
    for lr in LRS:
        tr = []
        t0 = time.perf_counter()
        b = adam(p, P, W0, E0, lr, ADAM_ITERS, tr)
        runs[lr] = tr
        el = elapsed[lr] = time.perf_counter() - t0
        print(f"adam lr={lr:g}: dKL = {b:.12f} after {ADAM_ITERS} iterations, {el:.2f} s "
              f"({el / ADAM_ITERS * 1e3:.3f} ms/iteration)")
    best = min([res.divergence] + [tr[-1][1] for tr in runs.values()])
    print(f"best dKL found = {best:.12f}")
    plan, out = {}, {}
    # dKL = sum p pi log pi + cross-entropy: both O(1), so a difference below ~16 ulp of them is rounding
    resolution = 16 * np.finfo(float).eps * (abs(_neg_entropy_term(p, P)) + abs(best) + 1.0)
    for rel in RELS:
        target = best * (1 + rel)
        if best * rel < resolution:
            print(f"within {rel:g}: {best * rel:.1e} is below the float64 resolution of dKL ({resolution:.1e}); skipped")
            out[rel] = "below rounding"
            continue
        its = {lr: first(tr, target)[1] for lr, tr in runs.items()}
        reached = {lr: k for lr, k in its.items() if k is not None}
        k_ours = first(tr_ours, target)[1]
        if k_ours is None:
            print(f"within {rel:g}: ours never got there (a worse local minimum); no ratio")
            out[rel] = None
            continue
        if not reached:
            # Adam would need more than ADAM_ITERS iterations at every rate: its time exceeds the shortest
            # of those full runs, so the ratio is a lower bound
            ms = min(elapsed.values()) * 1e3
            print(f"within {rel:g}: no Adam run reached it in {ADAM_ITERS} iterations (ours: iteration {k_ours})")
            out[rel] = ("lower bound", ms)
            continue
        lr = min(reached, key=reached.get)
        plan[rel] = (target, lr)
        print(f"within {rel:g}: ours at iteration {k_ours}; adam fastest lr {lr:g} at iteration {reached[lr]} "
              f"(per lr: " + ", ".join(f"{a:g}: {k}" for a, k in its.items()) + ")")

    # 2. timing pass: ours and Adam back to back, `repeats` times
    ratios = {rel: [] for rel in plan}
    times = {rel: ([], []) for rel in plan}
    ours_lb = {rel: [] for rel, o in out.items() if isinstance(o, tuple)}
    for _ in range(repeats):
        _, tr_o, _ = ours(p, P, W0, E0, f0)
        for rel in ours_lb:
            ours_lb[rel].append(first(tr_o, best * (1 + rel))[0])
        for lr in sorted({lr for _, lr in plan.values()}):
            stop = min(t for t, a in plan.values() if a == lr)
            tr_a = []
            adam(p, P, W0, E0, lr, ADAM_ITERS, tr_a, stop=stop)
            for rel, (target, a) in plan.items():
                if a != lr:
                    continue
                to, ta = first(tr_o, target)[0], first(tr_a, target)[0]
                times[rel][0].append(to)
                times[rel][1].append(ta)
                ratios[rel].append(ta / to)
    print(f"timing pass, {repeats} repeats (ours and Adam back to back in each):")
    for rel in plan:
        r = np.array(ratios[rel])
        to, ta = np.array(times[rel][0]), np.array(times[rel][1])
        print(f"within {rel:g} of best: ours median {np.median(to) * 1e3:.1f} ms [{to.min() * 1e3:.1f}, "
              f"{to.max() * 1e3:.1f}]; adam (lr {plan[rel][1]:g}) median {np.median(ta) * 1e3:.1f} ms "
              f"[{ta.min() * 1e3:.1f}, {ta.max() * 1e3:.1f}]; speed-up adam/ours median {np.median(r):.1f}x "
              f"[{r.min():.1f}, {r.max():.1f}]")
        out[rel] = (np.median(to) * 1e3, np.median(ta) * 1e3, f"{np.median(r):.1f}x [{r.min():.1f}, {r.max():.1f}]")
    for rel, o in out.items():
        if isinstance(o, tuple) and o[0] == "lower bound":
            to = np.median(ours_lb[rel]) * 1e3
            out[rel] = (to, o[1], f">= {o[1] / to:.0f}x (Adam never got there)")
            print(f"within {rel:g} of best: ours median {to:.1f} ms; adam > {o[1]:.0f} ms: speed-up >= {o[1] / to:.0f}x")
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panel", action="store_true", help="also run the declared panel of other instances")
    ap.add_argument("--repeats", type=int, default=REPEATS)
    args = ap.parse_args()
    rows = []
    for k, (name, make) in enumerate(PANEL if args.panel else PANEL[:1]):
        rows.append((name, run(name, make(), args.repeats, verbose=k == 0)))
    print("\nsummary (target: 10x at 1e-6; ours = minimize_newton from the f_ls start, median ms):")
    for name, out in rows:
        cells = []
        for rel in RELS:
            o = out.get(rel)
            cells.append(f"{rel:g}: " + ("ours stuck in a worse local minimum" if o is None else
                                         "below the rounding of dKL" if isinstance(o, str) else
                                         f"ours {o[0]:.1f} ms, adam {o[1]:.1f} ms, {o[2]}"))
        print(f"  {name:42s} " + " | ".join(cells))


if __name__ == "__main__":
    main()
