"""``aotmem bounds FILE.npz --d D [--json]``: the bound calculator.

For a task, every applicable bound of docs/theory.md next to the actual divergence
of the solution it bounds and the optimal rank-d encoder's divergence, the
reading named on every row, and ``vacuous`` (with the reason) where a bound
cannot apply. Every row also says whether the bound is *informative*: below
the divergence ``E_t[log N - h(pi_t)]`` of the zero encoder (all logits
equal), which every task reaches at every ``d`` (:func:`zero_encoder_divergence`);
a bound above it says nothing about the task. The computation lives in
:func:`bound_table` so that tests and the docs use exactly what the CLI prints.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from aotmem.theory.bounds import CATALOGUE, MAP_SUFFIX
from aotmem.theory.divergence import kl
from aotmem.theory.lookup import jl_matrix, lookup_C, lookup_encoder, lookup_vacuous_reason
from aotmem.theory.lowrank import SIGMA_FITS, fit_encoder
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.spectra import SIGMA_READINGS, sigma
from aotmem.theory.task import Task, load_task, t_eps
from aotmem.theory.validate import check_int
from aotmem.verify.outputs.jsonout import dumps
from .progress import solver
from aotmem.verify.ledger.registry import BOUND_RULE, KL_ATOL, KL_RTOL, bound_holds

# A bound "holds" on this instance by the claims ledger's rule (registry.BOUND_RULE / bound_holds:
# actual <= bound + KL_ATOL + KL_RTOL |bound|), stated in the output (text and JSON "rule").


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
    informative: bool = False  # bound < the zero encoder's divergence (module docstring)
    bound_note: str = ""  # why ``bound`` is not a finite number, when it is not
    within_tolerance: bool = False  # "holds" only by the rule's tolerance: actual > bound (text: "holds*")


def zero_encoder_divergence(task: Task) -> float:
    """``E_t[log N - h(pi_t)]``: the divergence of the zero encoder (all logits equal), the trivial bound.

    ``KL(pi_t || uniform) = log N - h(pi_t)`` (``h`` Shannon's entropy), so the
    zero map ``F = 0``, which has rank 0 and lies in ``L(N,S,d)`` for every
    ``d``, reaches this divergence: ``dKL(pi, L(N,S,d))`` never exceeds it,
    and a bound above it is not informative. Computed as ``kl(prior, cond, 0)``,
    the same divergence as every other printed (hence ``>= 0``).

    >>> import numpy as np
    >>> task = Task(np.array([0.5, 0.5]), np.array([[1.0, 0.0], [0.5, 0.5]]))
    >>> bool(np.isclose(zero_encoder_divergence(task), 0.5 * np.log(2)))
    True
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be an aotmem.theory.task.Task (got {type(task).__name__})")
    return kl(task.prior, task.cond, np.zeros_like(task.cond))


# Why a bound of the catalogue is +inf, by claim (theory.bounds' convention: +inf, never NaN).
_INF_REASON = {
    "seed": "inf: the bound exceeds the float64 maximum (1.8e308)",
    "draft": "inf: exp3(x) overflows float64 (x > 708.8)",
}


def _inf_note(claim: str, value) -> str:
    if value is None or math.isfinite(value):
        return ""
    return _INF_REASON.get(claim.split(".")[0], "inf: the bound exceeds the float64 maximum")


def _row(claim, reading, value, sol, actual, optimal, status, note, trivial) -> Row:
    informative = value is not None and math.isfinite(value) and value < trivial
    within = status == "holds" and actual > value  # holds by the tolerance of BOUND_RULE, not outright
    return Row(claim, reading, value, sol, actual, optimal, status, note, informative, _inf_note(claim, value), within)


def _status(bound: float, actual: float) -> str:
    return "holds" if bound_holds(actual, bound) else "VIOLATED"


# The map each catalogue bound is about, as the rows name it (``Bound.maps``).
_MAP_LABEL = {"ls": "f_ls[{sr}]", "wls": "f_wls (closed form)", "wls-alt": "f_wls (alternating)",
              "min": "per-row min(f_ls[{sr}], f_wls[same W_U])", "lookup": "lookup encoder (JL W)"}


def _map_divergence(p, P, d, fit, sr, cache):
    """Divergence of the map ``fit`` (``Bound.maps``) for sigma reading ``sr``, or the error that prevents it."""
    key = (fit, sr if fit in SIGMA_FITS else None)
    if key not in cache:
        try:
            cache[key] = fit_encoder(p, P, d, fit, sr).divergence(p, P)
        except ValueError as exc:  # e.g. 1 in Im(W_U) or an ill-conditioned d x d system
            cache[key] = exc
    return cache[key]


def bound_table(task: Task, d: int, *, seed: int = 0, starts: int = 4) -> dict:
    """Every bound of the catalogue applicable to ``task`` at rank ``d``, beside the divergence it bounds.

    The table itself; :func:`bound_table_and_solution` also returns the optimal encoder found
    (to start the next ``d`` from it).
    """
    return bound_table_and_solution(task, d, seed=seed, starts=starts)[0]


class _Optimum(NamedTuple):
    """The optimal rank-d encoder's part of the table: the solver's result (None for the closed form), the
    divergence of its logits, and the table's ``optimal`` record."""

    result: object
    divergence: float
    record: dict


class _TableAndSolution(NamedTuple):
    table: dict
    optimal: object  # OptimalResult, or None where the infimum is a closed form


def _task_header(task: Task, d: int) -> dict:
    """The table's sizes, assumptions, rule, trivial bound and notes (``sigma`` and ``rows`` empty)."""
    N = task.N
    a2 = task.full_support()
    out: dict = {
        "task": {"N": N, "S": task.S, "T": task.T, "T_0": t_eps(task.prior, 0.0), "d": d,
                 "assumption1_one_hot": task.is_association(), "assumption2_full_support": a2},
        "sigma": {}, "rows": [],
        "rule": {"text": BOUND_RULE, "atol": KL_ATOL, "rtol": KL_RTOL},
    }
    out["trivial"] = zero_encoder_divergence(task)
    out["notes"] = []
    if d > N - 1:
        out["notes"].append(f"d = {d} > N - 1 = {N - 1}: a rank-d map is no more expressive than rank N - 1 (the "
                            "centred logits have rank <= N - 1); every value here is d = N - 1's")
    return out


def _optimum(task: Task, d: int, seed: int, starts: int, init) -> _Optimum:
    """The optimal rank-d encoder: a closed form without Assumption 2 at ``d >= N - 1``, else the solver."""
    p, P, N = task.prior, task.cond, task.N
    if not task.full_support() and d >= N - 1:
        # Closed form, no solver: the logits log pi_t (row constants aside) have centred rank <= N - 1, so the
        # infimum is 0; a pi(o|t) = 0 needs a logit of -inf, so it is not attained (a search only creeps to it).
        return _Optimum(None, 0.0, {
            "divergence": 0.0, "grad_norm": 0.0, "iterations": 0, "converged": True,
            "best_start": "closed form", "attained": False, "reason": "closed-form",
            "message": "d >= N - 1 without Assumption 2: the infimum of dKL over L(N,S,d) is 0 "
                       "(logits log pi_t), not attained (a pi(o|t) = 0 needs a logit of -inf)"})
    with solver(f"optimal rank-{d} encoder (T={task.T}, N={N})") as progress:
        opt = optimal_encoder(p, P, d, starts=starts, seed=seed, init=init, progress=progress)
    best = kl(p, P, opt.F)  # the divergence of the logits found, computed like every other printed divergence
    return _Optimum(opt, best, {"divergence": best, "grad_norm": opt.grad_norm, "iterations": opt.iterations,
                                "converged": opt.converged, "best_start": opt.best_start, "message": opt.message,
                                "reason": opt.reason})


def _rank_rows(task: Task, d: int, best: float, row) -> dict:
    """Rows of the almost-rank-d bounds (seed.ls-bound, seed.wls-bound, draft.theorem-ls/-wls), through ``row``;
    they need Assumption 2. Returns the table's ``sigma`` (``sigma_{d+1}`` per reading; empty where unused)."""
    p, P, N = task.prior, task.cond, task.N
    rank_bounds = [b for b in CATALOGUE if b.needs == "assumption2"]
    if not task.full_support():
        for claim in dict.fromkeys(b.claim for b in rank_bounds):
            row(claim, "all", None, "-", None, "n/a", "needs Assumption 2 (full support): log Pi is -inf somewhere")
        return {}
    if d > N - 1:
        row("seed.zero-divergence", "", 0.0, "prop2 encoder", best, _status(0.0, best),
            "d >= N-1: divergence 0 is reachable")
        return {}
    sigmas = {r: sigma(p, P, d + 1, r) for r in SIGMA_READINGS}
    cache: dict = {}
    for b in rank_bounds:
        sr = b.sigma_reading
        value = b.rhs(p, P, d)
        for fit in b.maps:
            sol = _MAP_LABEL[fit].format(sr=sr)
            actual = _map_divergence(p, P, d, fit, sr, cache)
            reading = b.reading + MAP_SUFFIX[fit]
            if isinstance(actual, Exception):
                row(b.claim, reading, value, sol, None, "n/a", str(actual))
            else:
                row(b.claim, reading, value, sol, actual, _status(value, actual))
    return sigmas


def _lookup_rows(task: Task, d: int, seed: int, row) -> None:
    """Rows of the look-up-table bounds (seed.lookup-bound, draft.lookup-theorem, paper.theorem2), through
    ``row``; they need C < 1/2."""
    p, P, N = task.prior, task.cond, task.N
    lookup_bounds = [b for b in CATALOGUE if b.needs == "C<1/2"]
    C = lookup_C(N, d)
    reason = lookup_vacuous_reason(N, d)
    if reason is not None:
        for b in lookup_bounds:
            row(b.claim, b.reading, None, _MAP_LABEL["lookup"], None, "vacuous", reason)
        return
    W, cert = jl_matrix(N, d, seed=seed)
    actual = lookup_encoder(task, W).divergence(p)
    note = f"C={C:.4g}; JL W achieves max|WW^T-I|={cert.max_dev:.4g}" + ("" if cert.holds else " > C (no certificate)")
    for b in lookup_bounds:
        value = b.rhs(p, P, d)
        row(b.claim, b.reading, value, _MAP_LABEL["lookup"], actual,
            _status(value, actual) if cert.holds else "n/a", note)


def bound_table_and_solution(task: Task, d: int, *, seed: int = 0, starts: int = 4, init=None):
    """``(table, optimal)``: :func:`bound_table`'s dict and the :class:`~aotmem.theory.optimal.OptimalResult`.

    ``init``: a solution at a smaller ``d`` to start from as well (``optimal_encoder(init=...)``), so
    that the best divergence found never increases along a curve in ``d``.

    Reads :data:`aotmem.theory.bounds.CATALOGUE`, the same catalogue the claims
    ledger checks: one row per bound and per map it bounds (``Bound.maps``).
    Returns a dict: ``task`` (sizes and assumptions), ``sigma`` (``sigma_{d+1}``
    per reading), ``trivial`` (:func:`zero_encoder_divergence`), ``optimal``
    (the optimal encoder's divergence, ``kl`` of its logits, and solver
    report) and ``rows`` (one :class:`Row` per claim and reading, as dicts,
    each with ``informative``: its bound is below ``trivial``).
    """
    d = check_int("d", d, minimum=1)
    out = _task_header(task, d)
    trivial = out["trivial"]
    opt = _optimum(task, d, seed, starts, init)
    out["optimal"] = opt.record
    if opt.result is None:
        out["notes"].append(opt.record["message"])
    rows: list[Row] = []

    def row(claim, reading, value, sol, actual, status, note=""):
        rows.append(_row(claim, reading, value, sol, actual, opt.divergence, status, note, trivial))

    sigmas = _rank_rows(task, d, opt.divergence, row)
    if sigmas:
        out["sigma"] = sigmas
    _lookup_rows(task, d, seed, row)
    out["rows"] = [asdict(r) for r in rows]
    return _TableAndSolution(out, opt.result)


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.4e}"


def _informative(r: dict) -> str:
    if r["bound"] is None:
        return "-"
    return "yes" if r["informative"] else "no"


def trivial_line(result: dict) -> str:
    """The line stating the zero encoder's divergence and how many bounds are below it."""
    rows = [r for r in result["rows"] if r["bound"] is not None]
    good = [r for r in rows if r["informative"]]
    finite = [r for r in rows if math.isfinite(r["bound"])]
    smallest = min(finite, key=lambda r: r["bound"]) if finite else None
    tail = (f"; smallest bound {smallest['bound']:.4e} ({smallest['claim']}[{smallest['reading']}])"
            if smallest is not None else "")
    return (f"trivial bound: the zero encoder (all logits equal) reaches dKL = E_t[log N - h(pi_t)] = "
            f"{result['trivial']:.4e}; informative (below it): {len(good)} of {len(rows)} bounds{tail}")


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
    if o.get("reason") == "closed-form":
        lines.append("optimal rank-d encoder: infimum dKL = 0 (closed form, no search: d >= N - 1), not attained "
                     "(a pi(o|t) = 0 needs a logit of -inf)")
    else:
        lines.append(f"optimal rank-d encoder: dKL = {o['divergence']:.6e}  (grad norm {o['grad_norm']:.1e}, "
                     f"{o['iterations']} iterations, best start {o['best_start']}, "
                     f"{'converged' if o['converged'] else 'NOT converged (infimum may not be attained)'})")
    lines.append(trivial_line(result))
    lines.append(f"status rule: {result['rule']['text']}")
    lines.extend(f"note: {n}" for n in result.get("notes", []) if not n.startswith("d >= N - 1 without"))
    lines.append("")
    head = ("claim", "reading", "bound", "solution", "actual dKL", "optimal dKL", "status", "informative")
    body = [(r["claim"], r["reading"], _fmt(r["bound"]), r["solution"], _fmt(r["actual"]), _fmt(r["optimal"]),
             r["status"] + ("*" if r["within_tolerance"] else ""), _informative(r)) for r in result["rows"]]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    for row in (head, *body):
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    notes = sorted({(r["claim"], r["note"]) for r in result["rows"] if r["note"]})
    within = [r for r in result["rows"] if r["within_tolerance"]]
    if within:
        worst = max(within, key=lambda r: r["actual"] - r["bound"])
        lines.append("")
        lines.append(f"holds*: {len(within)} rows hold only by the status rule's tolerance (actual > bound; largest "
                     f"excess {worst['actual'] - worst['bound']:.3g}, {worst['claim']}[{worst['reading']}])")
    if notes:
        lines.append("")
        lines.extend(f"note [{c}]: {n}" for c, n in notes)
    return "\n".join(lines)


def add_parser(sub) -> None:
    p = sub.add_parser("bounds", help="every bound for a task next to the divergence it bounds")
    p.add_argument("task", help="task file (.npz with prior, cond and optionally seqs)")
    p.add_argument("--d", type=int, required=True, help="embedding dimension (rank) d")
    p.add_argument("--seed", type=int, default=0, help="seed of the JL matrix and the solver's random starts")
    p.add_argument("--starts", type=int, default=4,
                   help="random starts of the optimal-encoder search, besides f_ls and f_wls (default 4)")
    p.add_argument("--json", action="store_true", help="print strict JSON instead of a table (null for inf)")
    p.set_defaults(func=run)


def run(args) -> int:
    task = load_task(args.task)
    result = bound_table(task, args.d, seed=args.seed, starts=args.starts)
    if args.json:
        print(dumps(result, indent=2))
    else:
        print(format_table(result))
    return 0

