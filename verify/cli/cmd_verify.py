"""``aotmem verify [--profile quick|full] [--claims PATTERN] [--claims-from FILE] [--seed N] [--workers K] [--scheduler ADDR] [--json FILE] [--report DIR] [--strict]``.

Runs the claims ledger (``verify.runner``) over the registered claims and
prints a table (claim, reading, verdict, instances, tightest margin,
counterexample). Progress goes to stderr, one line per claim. Exit status:
0 when the run completes (a ``fails`` verdict is a finding, not an error),
1 with ``--strict`` when any claim fails, 2 on bad usage, 130 on Ctrl-C
(the results so far are still written).
"""

from __future__ import annotations

import os
import sys
import time

from aotmem.verify.ledger.registry import select
from aotmem.verify.outputs.report import table, to_json, write_json, write_markdown
from aotmem.verify.ledger.runner import PROFILES, run_claims


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="the claims ledger: search every claim for violations and give verdicts")
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick",
                   help="instances per claim (quick: < 2 min on 2 cores; full: the thorough search)")
    p.add_argument("--claims", metavar="PATTERN", default=None,
                   help="comma-separated claim ids, prefixes or globs (e.g. 'paper.*', 'seed.ls-bound[*')")
    p.add_argument("--claims-from", metavar="FILE", action="append", default=None,
                   help="a Python file of your own claims (@aotmem.claim; docs/own-claims.md); repeatable. Alone, "
                        "only its claims run; with --claims, both")
    p.add_argument("--seed", type=int, default=0, help="run seed (same seed, same verdicts)")
    p.add_argument("--json", metavar="FILE", default=None, help="write the results as JSON (docs/verify-json-schema.md)")
    p.add_argument("--report", metavar="DIR", default=None, help="write a Markdown report with figures into DIR")
    p.add_argument("--no-figures", action="store_true", help="with --report: skip the figures")
    p.add_argument("--strict", action="store_true", help="exit 1 when any claim fails")
    p.add_argument("--list", action="store_true", help="list the selected claims and exit")
    p.add_argument("--workers", default="auto", metavar="K",
                   help="claims run in K processes on this machine ('auto': min(CPUs, 4, claims)); the verdicts do "
                        "not depend on K")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the claims on a Dask cluster (tcp://HOST:PORT; needs the [dask] extra)")
    p.set_defaults(func=run)


def _workers(value: str, n_claims: int) -> int:
    """``--workers``: an integer >= 1, or ``auto`` (one process per CPU, at most 4 and at most one per claim)."""
    if value == "auto":
        return max(1, min(os.cpu_count() or 1, 4, n_claims))
    try:
        k = int(value)
    except ValueError:
        raise ValueError(f"`--workers` must be a positive integer or 'auto' (got {value!r})") from None
    if k < 1:
        raise ValueError(f"`--workers` must be >= 1 (got {k})")
    return k


def run(args) -> int:
    if args.seed < 0:
        raise ValueError(f"`--seed` must be >= 0 (got {args.seed})")
    claims = select(args.claims) if (args.claims or not args.claims_from) else []
    worker = None  # the runner's own worker, unless a user's claims file is given
    if args.claims_from:
        from aotmem.verify.ledger.registry import all_claims
        from aotmem.verify.ledger.userclaims import load_claims, run_any_key

        worker = run_any_key

        builtin = {c.id for c in all_claims()}  # an id names one claim: a user's may not reuse a built-in one
        for path in args.claims_from:
            for c in load_claims(path):
                if c.id in builtin or any(c.key == o.key for o in claims):
                    raise ValueError(f"`--claims-from` {path}: claim {c.key!r} is already defined "
                                     f"({'a built-in claim id' if c.id in builtin else 'by another file'})")
                claims.append(c)
    workers = _workers(args.workers, len(claims))
    if args.list:
        for c in claims:
            print(f"{c.key}\t{c.kind}\t{c.regime}")
        return 0
    t0 = time.perf_counter()

    def doc_of(results, interrupted):
        return to_json(results, profile=args.profile, seed=args.seed, pattern=args.claims,
                       wall_s=time.perf_counter() - t0, interrupted=interrupted, total=len(claims))

    def partial(_res, acc=[]):  # keep the JSON current so an interrupted run leaves its results
        acc.append(_res)
        if args.json:
            write_json(args.json, doc_of(acc, True))

    where = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{workers} worker(s)"
    sys.stderr.write(f"aotmem verify: {len(claims)} claims, profile {args.profile}, seed {args.seed}, {where}\n")
    results, interrupted = run_claims(claims, profile=args.profile, seed=args.seed, progress=sys.stderr,
                                      on_result=partial, workers=workers, scheduler=args.scheduler,
                                      worker=worker)
    doc = doc_of(results, interrupted)
    print(table(results))
    print(f"wall time {doc['wall_s']:.1f} s" + (" (interrupted)" if interrupted else ""))
    if args.json:
        write_json(args.json, doc)
        print(f"wrote {args.json}")
    if args.report:
        path = write_markdown(args.report, doc, figures=not args.no_figures)
        print(f"wrote {path}")
    if interrupted:
        sys.stderr.write("aotmem: interrupted (partial results written)\n")
        return 130
    if args.strict and doc["counts"]["fails"]:
        return 1
    return 0
