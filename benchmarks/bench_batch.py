"""Throughput of the batched bound claims (theory/batch.py) against the ledger's scalar loop, measured in the same run.

For each fit family (``ls``, ``wls``, ``wls-alt``, ``min``), one catalogue
bound it is checked against (:data:`FAMILIES`), and each shape ``(T, N, d)``:

- ``scalar``: the ledger's own evaluation, one instance at a time,
  ``aotmem.verify.ledger.registry.get(key).evaluate(recipe)`` on the explicit
  recipes of the batch (:func:`aotmem.theory.batch.recipes_from_batch`),
  over the first ``--scalar`` instances;
- ``batch B``: :func:`aotmem.theory.batch.evaluate_bound_batch` on ``B``
  instances (``B`` in ``--batches``).

Each time is the best of ``--repeat`` rounds, the methods of a case timed
in turn within each round (instances per second printed), and each batch row
gives its ratio to the scalar row of the same case. Times are the process's
CPU time by default (``--clock cpu``; everything is single-threaded), which a
busy neighbour does not inflate the way it inflates wall time (a short run can
fit in one time slice, a long one is preempted: wall time favours B = 64). The
instances: logits ``2 * N(0, 1)``, log prior weights uniform on ``[-5, 0]``
(seed 0); the scalar instances are the first of the batch. Printed too: the
largest relative difference between the scalar and the batched ``lhs``/``rhs``
on the instances both evaluated (expected 0 for ``lhs`` -- the fits agree
bit for bit -- and ``< 1e-15`` for ``rhs``), and the instances with ``ok =
False`` (where the scalar code raises).

CAVEAT: the machine is shared; the ratios are measured in one run, best of
``--repeat``, but a busy neighbour still moves them by tens of percent.

``--memory`` instead prints the peak of the Python-traced allocations
(``tracemalloc``; numpy reports its buffers to it) of one
``evaluate_bound_batch`` call per closed-form fit at B = 4096, T = 16, N = 12, d = 10.

Run: ``python benchmarks/bench_batch.py [--shapes 4,5,2 16,7,3] [--batches 64 1024] [--repeat 3] [--memory]``.
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # tiny matrices: a BLAS thread pool only adds overhead

import numpy as np

from aotmem.theory.batch import evaluate_bound_batch, recipes_from_batch
from aotmem.theory.bounds import bound
from aotmem.verify.ledger.registry import get
from timing import best_of

FAMILIES = {  # fit -> (catalogue bound, ledger key suffix)
    "ls": ("draft.theorem-ls[sigma=uniform]", ""),
    "wls": ("draft.theorem-wls[sigma=uniform]", ""),
    "wls-alt": ("draft.theorem-wls[sigma=uniform]", ",fit=alternating"),
    "min": ("draft.theorem-wls[min,sigma=uniform]", ""),
}


def cpu_time(fn):
    """``(CPU seconds of this process spent in fn(), its value)``.

    On a shared, oversubscribed machine a long run is preempted in proportion
    to the load while a short one may fit in one time slice: wall time then
    favours small batches. Everything here is single-threaded (BLAS threads
    set to 1 above), so the process's CPU time is the work done.
    """
    t0 = time.process_time()
    val = fn()
    return time.process_time() - t0, val


def ledger_key(name: str, suffix: str) -> str:
    return name[:-1] + suffix + "]"


def instances(B: int, T: int, N: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return 2.0 * rng.standard_normal((B, T, N)), rng.uniform(-5.0, 0.0, size=(B, T))


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = np.isfinite(a) & np.isfinite(b)
    same = (a == b) | ~both  # equal, or both inf / NaN on the same side (compared by the ok check)
    den = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)
    with np.errstate(invalid="ignore"):
        return float(np.max(np.where(same, 0.0, np.abs(a - b) / den), initial=0.0))


def run_case(fit, T, N, d, batches, n_scalar, repeat, chunk=None, clock="cpu"):
    """Rows of the table for one case; the scalar loop and the batches are timed in turn, ``repeat`` rounds."""
    name, suffix = FAMILIES[fit]
    b = bound(name)
    claim = get(ledger_key(name, suffix))
    Z, logw = instances(max(batches), T, N)
    recipes = recipes_from_batch(Z[:n_scalar], logw[:n_scalar], d=d)

    def scalar():
        out = []
        for r in recipes:
            try:
                out.append(claim.evaluate(r))
            except ValueError:  # the ledger records the exception; the batch marks ok = False
                out.append(None)
        return out

    methods = {"scalar": scalar}
    for B in batches:
        methods[B] = (lambda B=B: evaluate_bound_batch(b, fit, Z[:B], logw[:B], d, chunk=chunk))
    best, vals = {k: float("inf") for k in methods}, {}
    for _ in range(repeat):  # interleaved: a busy spell of the machine hits every method alike
        for k, fn in methods.items():
            t, vals[k] = cpu_time(fn) if clock == "cpu" else best_of(fn, 1)
            best[k] = min(best[k], t)
    evs = vals["scalar"]
    ips_s = n_scalar / best["scalar"]
    rows = [{"fit": fit, "T": T, "N": N, "d": d, "method": "scalar", "B": n_scalar, "per_s": ips_s, "ratio": 1.0}]
    for B in batches:
        lhs, rhs, ok = vals[B]
        n = min(B, n_scalar)
        done = [i for i in range(n) if evs[i] is not None]
        same_ok = all((evs[i] is not None) == bool(ok[i]) for i in range(n))
        rows.append({"fit": fit, "T": T, "N": N, "d": d, "method": "batch", "B": B, "per_s": B / best[B],
                     "ratio": (B / best[B]) / ips_s, "not_ok": int((~ok).sum()), "ok_matches_scalar": same_ok,
                     "lhs_rel": rel(lhs[done], [evs[i].lhs for i in done]),
                     "rhs_rel": rel(rhs[done], [evs[i].rhs for i in done])})
    return rows


def peak_memory(B=4096, T=16, N=12, d=10) -> list:
    """``(fit, peak MiB)`` of one evaluate_bound_batch call per closed-form fit (tracemalloc)."""
    import tracemalloc

    Z, logw = instances(B, T, N)
    out = []
    for fit in ("ls", "wls", "min"):
        b = bound(FAMILIES[fit][0])
        tracemalloc.start()
        evaluate_bound_batch(b, fit, Z, logw, d)
        out.append((fit, tracemalloc.get_traced_memory()[1] / 2**20))
        tracemalloc.stop()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="+", default=["4,5,2", "16,7,3"], help="T,N,d triples")
    ap.add_argument("--fits", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    ap.add_argument("--batches", nargs="+", type=int, default=[64, 1024])
    ap.add_argument("--scalar", type=int, default=64, help="instances timed in the scalar loop")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=None, help="instances per block (default theory.batch.CHUNK)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="process CPU time (default: robust to other processes) or wall time")
    ap.add_argument("--memory", action="store_true", help="print peak memory at B=4096, T=16, N=12, d=10 and exit")
    args = ap.parse_args(argv)
    if args.memory:
        for fit, mib in peak_memory():
            print(f"{fit:4s} B=4096 T=16 N=12 d=10: peak traced allocations {mib:.0f} MiB")
        return 0
    print(f"CAVEAT: shared machine; {args.clock} time, best of {args.repeat} interleaved rounds, measured in this run;"
          " cache and frequency effects of the neighbours remain")
    print(f"{'fit':8s} {'T':>3s} {'N':>3s} {'d':>3s} {'method':7s} {'B':>6s} {'inst/s':>10s} {'ratio':>7s} "
          f"{'not ok':>6s}  lhs rel / rhs rel vs scalar")
    bad = False
    for shape in args.shapes:
        T, N, d = (int(v) for v in shape.split(","))
        for fit in args.fits:
            for r in run_case(fit, T, N, d, args.batches, args.scalar, args.repeat, args.chunk, args.clock):
                tail = ""
                if r["method"] == "batch":
                    tail = f"{r['not_ok']:6d}  {r['lhs_rel']:.1e} / {r['rhs_rel']:.1e}"
                    bad |= not r["ok_matches_scalar"] or r["lhs_rel"] > 1e-9 or r["rhs_rel"] > 1e-9
                print(f"{r['fit']:8s} {T:3d} {N:3d} {d:3d} {r['method']:7s} {r['B']:6d} {r['per_s']:10.0f} "
                      f"{r['ratio']:7.1f} {tail}")
    if bad:
        print("error: the batch disagrees with the scalar code (ok mask, or lhs/rhs beyond 1e-9 relative)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
