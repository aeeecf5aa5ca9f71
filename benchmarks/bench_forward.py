"""Benchmark the AoT forward pass against a direct einsum of paper eq. 1-2, measured in the same run (issue 5, item 4).

Baseline: the whole batch in one go, one ``np.einsum`` per step of the formula::

    X = e[t] + pos                                   # (T, S, d)
    a = softmax_s(einsum('td,hde,tse->ths', X_S, W_QK, X))
    A = einsum('ths,tsd->thd', a, X)
    T(t) = W_U (X_S + einsum('hdk,hke,the->td', W_O, W_V, A))

against :meth:`theory.aot.AoT.logits` (chunks of 2048 sequences, batched
matmuls). Printed: seconds (best of ``--repeat``), the ratio
``AoT / einsum`` and the largest relative logit difference (<= 1e-10).

Run: ``python benchmarks/bench_forward.py [--repeat 3] [--cases quick|all] [--backend numpy|cupy]``.
With ``--backend cupy`` the AoT side runs ``logits(..., backend="cupy")`` (host in,
host out: transfers included) against the same NumPy einsum baseline.
"""

from __future__ import annotations

import argparse

import numpy as np

from aotmem.theory.aot import AoT
from timing import backend_missing, best_of

# (N, S, d, H, d_h, T)
CASES = {"quick": [(10, 4, 16, 4, 8, 10**4), (10, 5, 16, 4, 8, 10**5)],
         "all": [(10, 4, 16, 4, 8, 10**4), (10, 5, 16, 4, 8, 10**5), (10, 6, 16, 4, 8, 10**6),
                 (50, 2, 32, 8, 32, 2500)]}
LOGIT_RTOL = 1e-10  # two float64 evaluations of the same O(d S H) sums


def random_aot(N, S, d, H, d_h, seed=0) -> AoT:
    rng = np.random.default_rng(seed)
    return AoT(rng.normal(size=(N, d)) / np.sqrt(d), rng.normal(size=(S, d)) / np.sqrt(d),
               rng.normal(size=(H, d, d)) / d, rng.normal(size=(H, d_h, d)) / np.sqrt(d),
               rng.normal(size=(H, d, d_h)) / np.sqrt(d_h), rng.normal(size=(N, d)))


def einsum_logits(m: AoT, seqs: np.ndarray) -> np.ndarray:
    X = m.embed[seqs] + m.pos[None]  # (T, S, d)
    xS = X[:, -1]  # (T, d)
    sc = np.einsum("td,hde,tse->ths", xS, m.W_QK, X, optimize=True)  # (T, H, S)
    sc -= sc.max(axis=2, keepdims=True)
    a = np.exp(sc)
    a /= a.sum(axis=2, keepdims=True)
    A = np.einsum("ths,tsd->thd", a, X, optimize=True)  # (T, H, d)
    res = xS + np.einsum("hdk,hke,the->td", m.W_O, m.W_V, A, optimize=True)  # (T, d)
    return res @ m.W_U.T  # (T, N)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", choices=sorted(CASES), default="quick")
    ap.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    ap.add_argument("--chunk", type=int, default=None, help="sequences per chunk (default: theory.aot.forward_chunk)")
    args = ap.parse_args(argv)
    if backend_missing(args.backend):
        return 2
    print(f"AoT backend: {args.backend}, chunk: {args.chunk or 'forward_chunk(H, d)'}")
    print(f"{'N':>4s} {'S':>2s} {'d':>3s} {'H':>2s} {'d_h':>3s} {'T':>8s} {'einsum s':>9s} {'AoT s':>8s} {'ratio':>6s}  rel diff")
    worst = 0.0
    for N, S, d, H, d_h, T in CASES[args.cases]:
        m = random_aot(N, S, d, H, d_h)
        seqs = np.random.default_rng(1).integers(0, N, size=(T, S))
        t_e, ref = best_of(lambda: einsum_logits(m, seqs), args.repeat)
        m.logits(seqs[:8], backend=args.backend)  # warm-up (CuPy: context, kernel compilation)
        t_a, out = best_of(lambda: m.logits(seqs, backend=args.backend, chunk=args.chunk), args.repeat)
        rel = float(np.abs(out - ref).max() / np.abs(ref).max())
        worst = max(worst, rel)
        print(f"{N:4d} {S:2d} {d:3d} {H:2d} {d_h:3d} {T:8d} {t_e:9.4f} {t_a:8.4f} {t_a / t_e:6.2f}  {rel:.1e}")
    print(f"largest relative logit difference: {worst:.1e} (tolerance {LOGIT_RTOL:g})")
    return 0 if worst <= LOGIT_RTOL else 1


if __name__ == "__main__":
    raise SystemExit(main())
