"""Wall time of the quick verification profile, with baselines measured in the same run (issue 5, item 4).

Each is a fresh subprocess, timed end to end (best of ``--repeat``):

- ``startup``: ``python -m aotmem.verify --help`` (interpreter, imports, argument
  parsing): the floor of any ``aotmem`` command;
- ``reference``: a fixed NumPy workload (20 SVDs of a 500 x 500 Gaussian
  matrix) that measures the machine, so figures from different machines
  can be compared as ratios;
- ``verify quick``: ``python -m aotmem.verify verify --profile quick --no-figures``
  (the claims ledger at its quick profile; its own target is < 2 min on 2 cores).

Printed: seconds and the ratios ``verify / startup`` and ``verify / reference``.

Run: ``python benchmarks/bench_verify_quick.py [--repeat 1] [--claims PATTERN]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

REFERENCE = ("import numpy as np; a = np.random.default_rng(0).standard_normal((500, 500)); "
             "[np.linalg.svd(a) for _ in range(20)]")


def timed(cmd, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t0
        if res.returncode not in (0, 1):  # 1: --strict style "some claim failed" is still a finished run
            raise RuntimeError(f"{' '.join(cmd)} exited {res.returncode}:\n{res.stderr[-2000:]}")
        best = min(best, dt)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--claims", help="restrict the ledger to these claims (passed to --claims)")
    args = ap.parse_args(argv)
    py = sys.executable
    t_start = timed([py, "-m", "verify", "--help"], max(3, args.repeat))
    t_ref = timed([py, "-c", REFERENCE], max(3, args.repeat))
    cmd = [py, "-m", "verify", "verify", "--profile", "quick", "--no-figures"]
    if args.claims:
        cmd += ["--claims", args.claims]
    t_ver = timed(cmd, args.repeat)
    print(f"{'run':16s} {'seconds':>8s}")
    print(f"{'startup':16s} {t_start:8.2f}")
    print(f"{'reference':16s} {t_ref:8.2f}")
    print(f"{'verify quick':16s} {t_ver:8.2f}")
    print(f"ratio verify/startup = {t_ver / t_start:.1f}, verify/reference = {t_ver / t_ref:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
