"""``aotmem construct (--task FILE | --kind KIND --N .. --S ..) --d .. --dh .. --eps ..``: build T* and print its diagnostics.

Target encoder: ``--target optimal`` (default; ``theory.optimal.optimal_encoder``)
or ``--target svd`` (the rank-``d`` truncated SVD of the centred ``log Pi``,
Assumption 2). Bad arguments (``d_h > d``, ``eps`` outside ``[0, 1)``, too
few heads for the variant) print one line and exit 2 (``verify.cli``).
"""

from __future__ import annotations

import json

from aotmem.theory.construct import QK_KINDS, VARIANTS, construct, svd_target
from aotmem.theory.generators import KINDS, random_task
from aotmem.theory.task import load_task

TARGETS = ("optimal", "svd")


def add_parser(sub) -> None:
    p = sub.add_parser("construct", help="build the AoT T* of paper.theorem1 explicitly and print its diagnostics")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--task", help="task file (.npz with prior, cond, seqs)")
    src.add_argument("--kind", choices=sorted(KINDS), help="draw a random task of this kind (with --N, --S)")
    p.add_argument("--N", type=int, help="vocabulary size (with --kind)")
    p.add_argument("--S", type=int, help="sequence length (with --kind)")
    p.add_argument("--d", type=int, required=True, help="embedding dimension")
    p.add_argument("--dh", type=int, required=True, help="head dimension d_h <= d")
    p.add_argument("--eps", type=float, required=True, help="prior mass left out, in [0, 1)")
    p.add_argument("--variant", choices=VARIANTS, default="paper")
    p.add_argument("--qk", choices=QK_KINDS, default="full", help="W_QK rank 1 (Remark 2) or full")
    p.add_argument("--heads", type=int, help="override the head count (not fewer than the variant needs)")
    p.add_argument("--target", choices=TARGETS, default="optimal", help="target rank-d encoder W E*")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--save", help="write the model (.npz: embed, pos, W_QK, W_V, W_O, W_U, seqs, target)")
    p.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    p.set_defaults(func=run)


def _task(args):
    if args.task is not None:
        if args.N is not None or args.S is not None:
            raise ValueError("`--N`/`--S` apply only with --kind, not with --task")
        return load_task(args.task)
    if args.N is None or args.S is None:
        raise ValueError("`--kind` needs both --N and --S")
    kw = {}
    if args.kind in ("almost-rank", "permutation"):
        kw["d"] = args.d
        if args.kind == "almost-rank":
            kw["sigma"] = 0.1
    if args.kind == "lookup":
        import math

        kw["entropy"] = 0.5 * math.log(args.N)
    return random_task(args.kind, args.N, args.S, seed=args.seed, **kw)


def _target(task, d: int, which: str):
    if which == "svd":
        return svd_target(task, d)
    try:
        from aotmem.theory.optimal import optimal_encoder
    except ImportError:
        raise ValueError("`--target optimal` needs theory/optimal.py, which is not available; use --target svd")
    return optimal_encoder(task.prior, task.cond, d, seed=0)


def run(args) -> int:
    if args.dh > args.d:
        raise ValueError(f"`--dh` must be <= --d = {args.d} (got {args.dh})")
    if not (0.0 <= args.eps < 1.0):
        raise ValueError(f"`--eps` must lie in [0, 1) (got {args.eps})")
    task = _task(args)
    target = _target(task, args.d, args.target)
    c = construct(task, target, args.d, args.dh, args.eps, variant=args.variant, qk=args.qk,
                  heads=args.heads, seed=args.seed, backend=args.backend)
    r = c.report.as_dict()
    if args.save:
        c.save(args.save)
        r["saved"] = args.save
    if args.json:
        print(json.dumps(r, indent=1))
    else:
        for k, v in r.items():
            print(f"{k:>20}: {v:.6g}" if isinstance(v, float) else f"{k:>20}: {v}")
    return 0
