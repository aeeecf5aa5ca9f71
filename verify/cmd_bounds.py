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

import numpy as np

from aotmem.theory.bounds import CATALOGUE
from aotmem.theory.divergence import kl_rows
from aotmem.theory.lookup import jl_matrix, lookup_C, lookup_encoder, lookup_vacuous_reason
from aotmem.theory.lowrank import f_ls, fit_encoder, wls_encoder
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


# The map each catalogue bound is about, as the rows name it (``Bound.maps``).
_MAP_LABEL = {"ls": "f_ls[{sr}]", "wls": "f_wls (closed form)", "wls-alt": "f_wls (alternating)",
              "min": "per-row min(f_ls[{sr}], f_wls[same W_U])", "lookup": "lookup encoder (JL W)"}
# Reading suffix of the ledger's entry for each map (the ledger key is claim[reading + suffix]).
_MAP_SUFFIX = {"ls": "", "wls": "", "wls-alt": ",fit=alternating", "min": "", "lookup": ""}


def _map_divergence(p, P, d, fit, sr, cache):
    """Divergence of the map ``fit`` (``Bound.maps``) for sigma reading ``sr``, or the error that prevents it."""
    key = (fit, sr if fit in ("ls", "min") else None)
    if key not in cache:
        try:
            if fit == "min":
                ls = f_ls(p, P, d, sr)
                E_w = wls_encoder(P, ls.W)  # shared W_U
                cache[key] = float(p @ np.minimum(kl_rows(P, ls.F), kl_rows(P, E_w @ ls.W.T)))
            else:
                cache[key] = fit_encoder(p, P, d, fit, sr).divergence(p, P)
        except ValueError as exc:  # e.g. 1 in Im(W_U) or an ill-conditioned d x d system
            cache[key] = exc
    return cache[key]


def bound_table(task: Task, d: int, *, seed: int = 0, starts: int = 4) -> dict:
    """Every bound of the catalogue applicable to ``task`` at rank ``d``, beside the divergence it bounds.

    Reads :data:`aotmem.theory.bounds.CATALOGUE`, the same catalogue the claims
    ledger checks: one row per bound and per map it bounds (``Bound.maps``).
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
    rank_bounds = [b for b in CATALOGUE if b.needs == "assumption2"]
    if not a2:
        for claim in dict.fromkeys(b.claim for b in rank_bounds):
            rows.append(Row(claim, "all", None, "-", None, opt.divergence, "n/a",
                            "needs Assumption 2 (full support): log Pi is -inf somewhere"))
    elif d > N - 1:
        rows.append(Row("seed.zero-divergence", "", 0.0, "prop2 encoder", opt.divergence, opt.divergence,
                        _status(0.0, opt.divergence), "d >= N-1: divergence 0 is reachable"))
    else:
        out["sigma"] = {r: sigma(p, P, d + 1, r) for r in SIGMA_READINGS}
        cache: dict = {}
        for b in rank_bounds:
            sr = b.sigma_reading
            value = b.rhs(p, P, d)
            for fit in b.maps:
                sol = _MAP_LABEL[fit].format(sr=sr)
                actual = _map_divergence(p, P, d, fit, sr, cache)
                reading = b.reading + _MAP_SUFFIX[fit]
                if isinstance(actual, Exception):
                    rows.append(Row(b.claim, reading, value, sol, None, opt.divergence, "n/a", str(actual)))
                else:
                    rows.append(Row(b.claim, reading, value, sol, actual, opt.divergence, _status(value, actual)))

    # Look-up-table bounds (seed.lookup-bound, draft.lookup-theorem, paper.theorem2): need C < 1/2.
    lookup_bounds = [b for b in CATALOGUE if b.needs == "C<1/2"]
    C = lookup_C(N, d)
    reason = lookup_vacuous_reason(N, d)
    if reason is not None:
        for b in lookup_bounds:
            rows.append(Row(b.claim, b.reading, None, _MAP_LABEL["lookup"], None, opt.divergence, "vacuous", reason))
    else:
        W, cert = jl_matrix(N, d, seed=seed)
        actual = lookup_encoder(task, W).divergence(p)
        note = f"C={C:.4g}; JL W achieves max|WW^T-I|={cert.max_dev:.4g}" + ("" if cert.holds else " > C (no certificate)")
        for b in lookup_bounds:
            value = b.rhs(p, P, d)
            rows.append(Row(b.claim, b.reading, value, _MAP_LABEL["lookup"], actual, opt.divergence,
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

