"""``aotmem bounds FILE.npz --d D [--json]``: the bound calculator.

For a task, every applicable bound of docs/theory.md next to the actual divergence
of the solution it bounds and the optimal rank-d encoder's divergence, the
reading named on every row, and ``vacuous`` (with the reason) where a bound
cannot apply. The computation lives in :func:`bound_table` so that tests and
the docs use exactly what the CLI prints.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass

from aotmem.theory.bounds import BOUNDS
from aotmem.theory.lookup import LOOKUP_BOUNDS, jl_matrix, lookup_C, lookup_encoder, lookup_vacuous_reason
from aotmem.theory.lowrank import LS_READINGS, f_ls, f_wls
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.spectra import SIGMA_READINGS, sigma
from aotmem.theory.task import Task, load_task, t_eps
from aotmem.theory.validate import check_int

# A bound "holds" on this instance when actual <= bound * (1 + BOUND_RTOL) + BOUND_ATOL:
# both sides are float64 sums of O(T N) terms, each good to ~1e-15 relative.
BOUND_RTOL = 1e-9
BOUND_ATOL = 1e-12


@dataclass
class Row:
    claim: str
    reading: str
    bound: float | None
    solution: str
    actual: float | None
    optimal: float | None
    status: str  # "holds" | "VIOLATED" | "vacuous" | "n/a"
    note: str = ""


def _status(bound: float, actual: float) -> str:
    return "holds" if actual <= bound * (1 + BOUND_RTOL) + BOUND_ATOL else "VIOLATED"


def _reading_of(name: str) -> str:
    return name[name.index("[") + 1:-1] if "[" in name else ""


def _label(name: str) -> str:
    """A registry name without its ``[reading]``: the claim id, or a corrected statement's id."""
    return name.split("[")[0]


def bound_table(task: Task, d: int, *, seed: int = 0, starts: int = 4) -> dict:
    """Every bound applicable to ``task`` at rank ``d``, beside the divergences it bounds.

    Returns a dict: ``task`` (sizes and assumptions), ``sigma`` (``sigma_{d+1}``
    per reading), ``optimal`` (the optimal encoder's divergence and solver
    report) and ``rows`` (one :class:`Row` per claim and reading, as dicts).
    """
    d = check_int("d", d, minimum=1)
    p, P = task.prior, task.cond
    N = task.N
    a2 = task.full_support()
    out: dict = {
        "task": {"N": N, "S": task.S, "T": task.T, "T_0": t_eps(p, 0.0), "d": d,
                 "assumption1_one_hot": task.is_association(), "assumption2_full_support": a2},
        "sigma": {}, "rows": [],
    }
    opt = optimal_encoder(p, P, d, starts=starts, seed=seed)
    out["optimal"] = {"divergence": opt.divergence, "grad_norm": opt.grad_norm, "iterations": opt.iterations,
                      "converged": opt.converged, "best_start": opt.best_start}
    rows: list[Row] = []

    # Almost-rank-d bounds (seed.ls-bound, seed.wls-bound, draft.theorem-ls/-wls): need Assumption 2.
    if not a2:
        for claim in ("seed.ls-bound", "seed.wls-bound", "draft.theorem-ls", "draft.theorem-wls"):
            rows.append(Row(claim, "all", None, "-", None, opt.divergence, "n/a",
                            "needs Assumption 2 (full support): log Pi is -inf somewhere"))
    elif d > N - 1:
        rows.append(Row("seed.zero-divergence", "", 0.0, "prop2 encoder", opt.divergence, opt.divergence,
                        _status(0.0, opt.divergence), "d >= N-1: divergence 0 is reachable"))
    else:
        out["sigma"] = {r: sigma(p, P, d + 1, r) for r in SIGMA_READINGS}
        ls = {r: f_ls(p, P, d, r) for r in LS_READINGS}
        ls_div = {r: ls[r].divergence(p, P) for r in LS_READINGS}
        wls_div: dict = {}
        wls_err: dict = {}
        for r in LS_READINGS:
            try:
                wls_div[r] = f_wls(p, P, d, W_U=ls[r].W).divergence(p, P)
            except ValueError as exc:  # e.g. 1 in Im(W_U) or an ill-conditioned d x d system
                wls_err[r] = str(exc)
        for name, (claim, fn, kw) in BOUNDS.items():
            r = kw["sigma_reading"]
            value = fn(p, P, d, **kw)
            if "wls" in claim:  # seed.wls-bound, draft.theorem-wls and the per-row minimum bound f_wls
                sol = f"f_wls[W_U of f_ls[{r}]]"
                actual = wls_div.get(r)
                if actual is None:
                    rows.append(Row(claim, _reading_of(name), value, sol, None, opt.divergence, "n/a", wls_err[r]))
                    continue
            else:
                sol, actual = f"f_ls[{r}]", ls_div[r]
            rows.append(Row(_label(name), _reading_of(name), value, sol, actual, opt.divergence, _status(value, actual)))

    # Look-up-table bounds (seed.lookup-bound, draft.lookup-theorem, paper.theorem2).
    C = lookup_C(N, d)
    reason = lookup_vacuous_reason(N, d)
    if reason is not None:
        for name, (claim, _, _) in LOOKUP_BOUNDS.items():
            rows.append(Row(_label(name), _reading_of(name), None, "lookup encoder", None, opt.divergence, "vacuous", reason))
    else:
        W, cert = jl_matrix(N, d, seed=seed)
        enc = lookup_encoder(task, W)
        actual = float(p @ enc.kl_rows())
        note = f"C={C:.4g}; JL W achieves max|WW^T-I|={cert.max_dev:.4g}" + ("" if cert.holds else " > C (no certificate)")
        for name, (claim, fn, kw) in LOOKUP_BOUNDS.items():
            value = fn(p, P, d, **kw)
            rows.append(Row(_label(name), _reading_of(name), value, "lookup encoder (JL W)", actual, opt.divergence,
                            _status(value, actual) if cert.holds else "n/a", note))
    out["rows"] = [asdict(r) for r in rows]
    return out


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.4e}"


def format_table(result: dict) -> str:
    """The terminal rendering of :func:`bound_table`'s result."""
    t = result["task"]
    lines = [
        f"task: N={t['N']} S={t['S']} T={t['T']} T_0={t['T_0']}  d={t['d']}  "
        f"Assumption 1 (one-hot): {'yes' if t['assumption1_one_hot'] else 'no'}  "
        f"Assumption 2 (full support): {'yes' if t['assumption2_full_support'] else 'no'}",
    ]
    if result["sigma"]:
        lines.append("sigma_{d+1}: " + "  ".join(f"{k}={v:.4e}" for k, v in result["sigma"].items()))
    o = result["optimal"]
    lines.append(f"optimal rank-d encoder: dKL = {o['divergence']:.6e}  (grad norm {o['grad_norm']:.1e}, "
                 f"{o['iterations']} iterations, best start {o['best_start']}, "
                 f"{'converged' if o['converged'] else 'NOT converged (infimum may not be attained)'})")
    lines.append("")
    head = ("claim", "reading", "bound", "solution", "actual dKL", "optimal dKL", "status")
    body = [(r["claim"], r["reading"], _fmt(r["bound"]), r["solution"], _fmt(r["actual"]), _fmt(r["optimal"]),
             r["status"]) for r in result["rows"]]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    for row in (head, *body):
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    notes = sorted({(r["claim"], r["note"]) for r in result["rows"] if r["note"]})
    if notes:
        lines.append("")
        lines.extend(f"note [{c}]: {n}" for c, n in notes)
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser("bounds", help="every bound for a task next to the divergence it bounds")
    p.add_argument("task", help="task file (.npz with prior, cond and optionally seqs)")
    p.add_argument("--d", type=int, required=True, help="embedding dimension (rank) d")
    p.add_argument("--seed", type=int, default=0, help="seed of the JL matrix and the solver's random starts")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    task = load_task(args.task)
    result = bound_table(task, args.d, seed=args.seed)
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=float)
        sys.stdout.write("\n")
    else:
        print(format_table(result))
    return 0

