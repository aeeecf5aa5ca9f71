"""Benchmark: theory.optimal (variable projection + L-BFGS) vs Adam on the same factors, gradient and start.

Run: ``python benchmarks/bench_optimal_vs_adam.py`` (< 2 min on 2 cores).

Instance: ``dirichlet_task(N=20, S=2, alpha=1, seed=0)`` (T = 400), rank ``d = 4``.
Both methods minimise ``dKL(pi, E W^T)`` over ``W (N, d)``, ``E (T, d)`` with the
analytic gradient ``G = p (softmax(F) - pi)``, ``grad_W = G^T E``, ``grad_E = G W``
(:func:`theory.optimal.kl_and_grad`), from the same balanced ``f_ls`` start.
Adam (numpy, beta = (0.9, 0.999), eps = 1e-8) is tuned over a grid of learning
rates; each run is capped at ``ADAM_ITERS`` iterations. The target is
``best * (1 + rel)`` for ``rel`` in ``RELS``, ``best`` the lowest divergence
found by any run; the reported time is wall-clock time to first reach it
(inf if never), Adam's at its fastest learning rate for that target.

Measured (2-core CPU shared with other jobs, one BLAS thread), 2026-11-25:
ours 0.40-0.44 s vs Adam (lr 0.1) 0.17-0.22 s to 1e-6 (0.4x: the 10x target is
NOT met at this tolerance); ours 0.49-0.54 s vs Adam 2.2-2.7 s to 1e-10 (4-5.5x);
Adam at lr <= 0.03 does not reach 1e-10 in 20000 iterations.
"""

from __future__ import annotations

import os

# One BLAS thread: on a loaded 2-core machine OpenBLAS's spinning threads slow
# small dense ops ~100x (measured: a 900 x 30 SVD 0.9 s vs 1 ms).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from theory.generators import dirichlet_task  # noqa: E402
from theory.lowrank import f_ls  # noqa: E402
from theory.optimal import _neg_entropy_term, _objective, balance, minimize_varpro, optimal_encoder  # noqa: E402

N, S, D, SEED = 20, 2, 4, 0
RELS = (1e-6, 1e-10)  # "within 1e-6 relative of the best" (the brief's target), and a tight one
LRS = (3e-3, 1e-2, 3e-2, 1e-1)
ADAM_ITERS = 20000


def adam(p, P, W0, E0, lr, iters, trace):
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
            trace.append((time.perf_counter() - t0, f))
        for i, g in enumerate((gW, gE)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            x[i] -= lr * (m[i] / (1 - b1**k)) / (np.sqrt(v[i] / (1 - b2**k)) + eps)
    return best


def time_to(trace, target):
    for t, f in trace:
        if f <= target:
            return t
    return float("inf")


def main() -> None:
    task = dirichlet_task(N, S, seed=SEED)
    p, P = task.prior, task.cond
    ls = f_ls(p, P, D, "uniform")
    W0, E0 = balance(ls.W, ls.E)
    print(f"instance: dirichlet N={N} S={S} (T={task.T}) d={D}; start f_ls: dKL = {ls.divergence(p, P):.10f}")

    ours = []
    t0 = time.perf_counter()
    res = minimize_varpro(p, P, W0, E0, callback=lambda f: ours.append((time.perf_counter() - t0, f)))
    t_ours_total = time.perf_counter() - t0
    ours.insert(0, (0.0, float(ls.divergence(p, P))))
    print(f"ours (varpro + L-BFGS, one start): dKL = {res[2]:.12f}, {res[4]} iterations, {t_ours_total:.3f} s, "
          f"gradient test passed: {res[5]}")
    t0 = time.perf_counter()
    full = optimal_encoder(p, P, D, starts=2)
    print(f"ours (optimal_encoder, 4 starts): dKL = {full.divergence:.12f} from {full.best_start}, "
          f"{time.perf_counter() - t0:.3f} s")

    runs = {}
    for lr in LRS:
        tr = []
        t0 = time.perf_counter()
        b = adam(p, P, W0, E0, lr, ADAM_ITERS, tr)
        runs[lr] = tr
        print(f"adam lr={lr:g}: dKL = {b:.12f} after {ADAM_ITERS} iterations, {time.perf_counter() - t0:.2f} s")

    best = min([res[2]] + [tr[-1][1] for tr in runs.values()])
    print(f"best dKL found = {best:.12f}")
    for rel in RELS:
        target = best * (1 + rel)
        t_ours = time_to(ours, target)
        t_adam = {lr: time_to(tr, target) for lr, tr in runs.items()}
        lr_best = min(t_adam, key=t_adam.get)
        ratio = t_adam[lr_best] / t_ours if np.isfinite(t_ours) else float("nan")
        print(f"within {rel:g} of best: ours {t_ours:.3f} s; adam (fastest lr {lr_best:g}) {t_adam[lr_best]:.3f} s; "
              f"speed-up adam/ours = {ratio:.1f}x" + ("" if np.isfinite(t_adam[lr_best]) else
                                                     f" (no Adam run reached it in {ADAM_ITERS} iterations)"))


if __name__ == "__main__":
    main()
