"""``aotmem task random --kind KIND --N .. --S .. [--seed ..] --out FILE.npz``."""

from __future__ import annotations

import inspect

from aotmem.theory.generators import KINDS, random_task


def add_parser(sub) -> None:
    p = sub.add_parser("task", help="make a task file (.npz with prior, cond, seqs)")
    tsub = p.add_subparsers(dest="task_command", required=True, parser_class=type(p))
    r = tsub.add_parser("random", help="draw a random task of a given kind")
    r.add_argument("--kind", required=True, choices=sorted(KINDS))
    r.add_argument("--N", type=int, required=True, help="vocabulary size")
    r.add_argument("--S", type=int, required=True, help="sequence length")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--prior", choices=("uniform", "zipf"), default="uniform")
    r.add_argument("--d", type=int, help="rank (almost-rank, permutation)")
    r.add_argument("--sigma", type=float, help="sigma_{d+1} (almost-rank)")
    r.add_argument("--entropy", type=float, help="Shannon entropy of each row (lookup)")
    r.add_argument("--alpha", type=float, help="Dirichlet concentration (dirichlet)")
    r.add_argument("--out", required=True, help="output .npz file")
    r.set_defaults(func=run)


def run(args) -> int:
    gen = KINDS[args.kind]
    params = inspect.signature(gen).parameters
    kw = {"prior": args.prior}
    for name in ("d", "sigma", "entropy", "alpha"):
        val = getattr(args, name)
        if val is None:
            if name in params and params[name].default is inspect.Parameter.empty:
                raise ValueError(f"`--{name}` is required for --kind {args.kind}")
            continue
        if name not in params:
            raise ValueError(f"`--{name}` does not apply to --kind {args.kind}")
        kw[name] = val
    task = random_task(args.kind, args.N, args.S, seed=args.seed, **kw)
    task.save(args.out)
    print(f"wrote {args.out}: kind={args.kind} N={task.N} S={task.S} T={task.T} seed={args.seed}")
    return 0
