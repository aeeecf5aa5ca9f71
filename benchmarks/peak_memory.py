"""Peak memory of the T = 10^6 KL and AoT forward pass, each measured in a fresh subprocess (issue 5, item 3).

Cases (``--T``, default 10^6 sequences):

- ``baseline``: the interpreter with numpy/scipy/theory imported, nothing
  computed (the floor every other figure includes);
- ``kl-arrays``: ``kl(prior, cond, F, chunk=auto)`` with ``cond`` and ``F``
  held as ``(T, 10)`` arrays (160 MB of inputs);
- ``kl-stream``: ``kl_stream`` over ``N = 100`` with ``cond`` and the
  logits produced block by block (the two ``(T, N)`` matrices would be
  1.6 GB: never materialised);
- ``forward``: ``AoT.logits`` of all ``10^6`` sequences (``N = 10``,
  ``S = 6``, ``d = 16``, ``H = 4``, ``d_h = 8``), the ``(T, N)`` logits
  returned whole (80 MB);
- ``forward-kl-stream``: the AoT's forward pass streamed into
  ``kl_stream`` (``N = 100``, ``S = 3``): ``dKL(pi, T)`` over 10^6
  sequences without the ``(T, N)`` logits.

Each child reports its peak resident set (``ru_maxrss``, the whole process)
and, in a second run, the ``tracemalloc`` peak (NumPy registers its buffers
with tracemalloc, so this is the peak of Python + array memory). The
budget is 1 GiB of peak RSS per case.

Run: ``python benchmarks/peak_memory.py [--T 1000000] [--cases ...] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

BUDGET_BYTES = 2**30  # issue 5: peak memory under 1 GiB
CASES = ("baseline", "kl-arrays", "kl-stream", "forward", "forward-kl-stream")


def _random_aot(N, S, d, H, d_h, seed=0):
    import numpy as np

    from aotmem.theory.aot import AoT

    rng = np.random.default_rng(seed)
    return AoT(rng.normal(size=(N, d)) / np.sqrt(d), rng.normal(size=(S, d)) / np.sqrt(d),
               rng.normal(size=(H, d, d)) / d, rng.normal(size=(H, d_h, d)) / np.sqrt(d),
               rng.normal(size=(H, d, d_h)) / np.sqrt(d_h), rng.normal(size=(N, d)))


def _sequences(T, N, S):
    """The first ``T`` of the ``N**S`` sequences, lexicographic, without the (N**S, S) grid of all."""
    import numpy as np

    idx = np.arange(T, dtype=np.int64)
    out = np.empty((T, S), dtype=np.int64)
    for s in range(S - 1, -1, -1):
        out[:, s] = idx % N
        idx //= N
    return out


def _dirichlet_block(lo, hi, N, seed=0):
    """Rows ``lo:hi`` of a reproducible full-support ``cond`` (each row seeded by its block)."""
    import numpy as np

    rng = np.random.default_rng([seed, lo])
    P = rng.gamma(1.0, size=(hi - lo, N)) + 1e-12
    return P / P.sum(axis=1, keepdims=True)


def child(case: str, T: int, trace: bool) -> dict:
    import resource
    import tracemalloc

    import numpy as np

    from aotmem.theory.divergence import auto_chunk, kl, kl_stream

    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    info = {}
    if case == "baseline":
        value = 0.0
    elif case == "kl-arrays":
        N = 10
        rng = np.random.default_rng(0)
        cond = rng.dirichlet(np.ones(N), size=T)
        F = rng.normal(size=(T, N))
        value = kl(np.full(T, 1.0 / T), cond, F, chunk=auto_chunk(N))
        info = dict(N=N, chunk=auto_chunk(N))
    elif case == "kl-stream":
        N = 100
        F_of = lambda lo, hi: np.random.default_rng([1, lo]).normal(size=(hi - lo, N))  # noqa: E731
        value = kl_stream(np.full(T, 1.0 / T), lambda lo, hi: _dirichlet_block(lo, hi, N), F_of,
                          chunk=auto_chunk(N))
        info = dict(N=N, chunk=auto_chunk(N))
    elif case == "forward":
        N, S = 10, 6
        model = _random_aot(N, S, 16, 4, 8)
        seqs = _sequences(T, N, S)
        out = model.logits(seqs)
        value = float(out[:, 0].sum())
        info = dict(N=N, S=S, d=16, H=4, d_h=8, logits_shape=list(out.shape))
    elif case == "forward-kl-stream":
        N, S = 100, 3
        model = _random_aot(N, S, 16, 4, 8)
        seqs = _sequences(T, N, S)
        chunk = auto_chunk(N)
        value = kl_stream(np.full(T, 1.0 / T), lambda lo, hi: _dirichlet_block(lo, hi, N),
                          lambda lo, hi: model.logits(seqs[lo:hi]), chunk=chunk)
        info = dict(N=N, S=S, d=16, H=4, d_h=8, chunk=chunk)
    else:
        raise ValueError(f"`case` must be one of {CASES} (got {case!r})")
    wall = time.perf_counter() - t0
    out = dict(case=case, T=T, value=float(value), wall_s=wall,
               maxrss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, **info)
    if trace:
        out["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    return out


def measure(case: str, T: int, trace: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", case, "--T", str(T)] + (["--trace"] if trace else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=10**6)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-trace", action="store_true", help="skip the (slower) tracemalloc runs")
    ap.add_argument("--json", help="write the figures as JSON")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.T, args.trace)))
        return 0
    rows = []
    print(f"{'case':20s} {'T':>9s} {'peak RSS MiB':>12s} {'tracemalloc MiB':>16s} {'wall s':>8s}  value")
    for case in args.cases.split(","):
        r = measure(case, args.T, trace=False)
        if not args.no_trace:
            r["tracemalloc_peak_bytes"] = measure(case, args.T, trace=True)["tracemalloc_peak_bytes"]
        rows.append(r)
        tm = r.get("tracemalloc_peak_bytes")
        print(f"{case:20s} {r['T']:9d} {r['maxrss_bytes'] / 2**20:12.1f} "
              f"{(tm / 2**20 if tm is not None else float('nan')):16.1f} {r['wall_s']:8.2f}  {r['value']:.6g}")
    worst = max(r["maxrss_bytes"] for r in rows)
    print(f"largest peak RSS {worst / 2**20:.1f} MiB: {'within' if worst < BUDGET_BYTES else 'OVER'} the 1 GiB budget")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0 if worst < BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
