"""Benchmark the ledger's search: the old one (Hypothesis sampling only) against the new one, same claims, one run.

For each claim: instances evaluated, wall time, evaluations per second and
the verdict of

- ``old``: the search before issue 11, Hypothesis sampling of the claim's
  own recipes with ``target()`` and one scalar evaluation per instance
  (``run_claim(claim, max_examples=n)``, ``n`` = the quick profile's count
  times ``--scale``);
- ``new``: the phases of :mod:`aotmem.verify.ledger.runner` (sampling, structured
  families, optimisation; batched evaluation where the claim has a batch
  evaluator), quick profile (or ``--profile full``).

Both run without the claim's kept examples (the counterexamples earlier runs
found, which every ledger run replays first): what is measured is the search
alone. Also the throughput of evaluation alone (``evidence.evals_per_s``: time
inside the claim's evaluator, without Hypothesis's own overhead), and the
ratio new/old. Run: ``python benchmarks/bench_search.py [--profile quick|full] [--claims PATTERN]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from aotmem.verify.ledger.registry import select
from aotmem.verify.ledger.runner import PROFILES, run_claim

DEFAULT = ("draft.theorem-wls[sigma=uniform,fit=alternating],draft.theorem-wls[sigma=pi,fit=alternating],"
           "draft.theorem-wls[sigma=uniform],seed.ls-bound[sigma=uniform,inf=global],"
           "seed.wls-bound[sigma=pi-prior,inf=global],draft.lemma-taylor,paper.theorem2[constant=4C]")


def _one(claim, **kw):
    t = time.perf_counter()
    r = run_claim(claim, **kw)
    wall = time.perf_counter() - t
    return {"verdict": r.verdict, "instances": r.instances, "wall_s": wall,
            "per_s": r.instances / wall if wall > 0 else None,
            "eval_per_s": r.evidence.get("evals_per_s"), "margin": r.margin_text()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", default=DEFAULT)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    ap.add_argument("--scale", type=float, default=10.0,
                    help="old search: this many times the quick profile's sampling count (a fair share of work)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    rows = []
    print(f"{'claim':58} {'search':4} {'verdict':9} {'inst':>6} {'wall s':>7} {'inst/s':>8} {'eval/s':>8} margin")
    for claim in select(args.claims):
        claim = dataclasses.replace(claim, examples=())  # the search alone, without the kept counterexamples
        n = int(PROFILES["quick"]["sample"][claim.cost] * args.scale)
        old = _one(claim, max_examples=n, seed=args.seed)
        new = _one(claim, profile=args.profile, seed=args.seed)
        for name, r in (("old", old), ("new", new)):
            print(f"{claim.key[:58]:58} {name:4} {r['verdict']:9} {r['instances']:6d} {r['wall_s']:7.2f} "
                  f"{(r['per_s'] or 0):8.0f} {(r['eval_per_s'] or 0):8.0f} {r['margin']}")
        ratio = (new["per_s"] or 0) / old["per_s"] if old["per_s"] else float("nan")
        print(f"{'':58} new/old instances per second: {ratio:.2f}x")
        rows.append({"claim": claim.key, "old": old, "new": new, "ratio_per_s": ratio})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"profile": args.profile, "scale": args.scale, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
