"""Benchmark the KL evaluation against a plain SciPy baseline measured in the same run (issue 5, item 4).

Baseline (what one would write by hand):
``q = exp(F - logsumexp(F, axis=1)); p @ rel_entr(cond, q).sum(axis=1)``
(``scipy.special.rel_entr`` and ``logsumexp``; no validation, no chunking,
and wrong once ``softmax`` underflows to 0 where ``pi > 0``).

Timed, each the best of ``--repeat`` runs, on a Dirichlet ``cond`` and
Gaussian logits ``F`` of shape ``(T, N)``:

- ``kl``: :func:`theory.divergence.kl` (validates both matrices, one block);
- ``kl chunk=auto``: the same through :func:`kl_stream` in 16 MiB blocks;
- ``kl_stream callables``: the blocks of ``cond`` and ``F`` served by
  functions (slicing the same arrays), the path used for T = 10^6.

Printed per case: seconds and the ratio to the baseline of the same case,
plus the largest relative difference between the values (<= 1e-12).

Run: ``python benchmarks/bench_kl.py [--repeat 3] [--cases quick|all]``.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.special import logsumexp, rel_entr

from aotmem.theory.divergence import auto_chunk, kl, kl_stream
from timing import best_of

CASES = {"quick": [(10**5, 10), (10**4, 1000)], "all": [(10**5, 10), (10**6, 10), (10**5, 100), (10**4, 1000)]}
VALUE_RTOL = 1e-12  # same sums in another order: float64 rounding, ~1e-15 per term


def baseline(p, P, F):
    q = np.exp(F - logsumexp(F, axis=1, keepdims=True))
    return float(p @ rel_entr(P, q).sum(axis=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", choices=sorted(CASES), default="quick")
    args = ap.parse_args(argv)
    print(f"{'T':>8s} {'N':>5s} {'method':22s} {'seconds':>9s} {'ratio':>7s}  rel diff")
    worst = 0.0
    for T, N in CASES[args.cases]:
        rng = np.random.default_rng(0)
        P = rng.dirichlet(np.ones(N), size=T)
        F = rng.normal(size=(T, N))
        p = np.full(T, 1.0 / T)
        t_base, v_base = best_of(lambda: baseline(p, P, F), args.repeat)
        print(f"{T:8d} {N:5d} {'baseline rel_entr':22s} {t_base:9.4f} {1.0:7.2f}")
        chunk = auto_chunk(N)
        for label, fn in [
            ("kl", lambda: kl(p, P, F)),
            ("kl chunk=auto", lambda: kl(p, P, F, chunk=chunk)),
            ("kl_stream callables", lambda: kl_stream(p, lambda lo, hi: P[lo:hi], lambda lo, hi: F[lo:hi], chunk=chunk)),
        ]:
            t, v = best_of(fn, args.repeat)
            rel = abs(v - v_base) / abs(v_base)
            worst = max(worst, rel)
            print(f"{T:8d} {N:5d} {label:22s} {t:9.4f} {t / t_base:7.2f}  {rel:.1e}")
    print(f"largest relative difference from the baseline: {worst:.1e} (tolerance {VALUE_RTOL:g})")
    return 0 if worst <= VALUE_RTOL else 1


if __name__ == "__main__":
    raise SystemExit(main())
