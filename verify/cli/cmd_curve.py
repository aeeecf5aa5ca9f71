"""``aotmem curve TASK.npz [--d 1:K] [--out DIR] [--json]``: the best divergence and every bound against ``d``.

For each ``d``: the optimal rank-``d`` encoder's divergence with its
convergence report (``theory.optimal.optimal_encoder``), the divergences of
``f_ls`` (uniform reading) and ``f_wls`` (closed form), every bound of
``theory.bounds.CATALOGUE`` with the row ``aotmem bounds --d d`` prints for it
(:func:`aotmem.verify.cli.cmd_bounds.bound_table`), and whether each bound is
informative: below the divergence ``E_t[log N - h(pi_t)]`` of the zero
encoder, which every ``d`` reaches. ``--out DIR`` writes ``curve.png`` (the
plot) and ``curve.json`` there. One progress line per ``d`` goes to stderr;
Ctrl-C stops the run, keeps (and writes) the points done and exits 130.

The computation is :func:`curve`, so tests and docs use exactly what the
command prints.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import json

import numpy as np

from aotmem.theory.lowrank import f_ls, f_wls
from aotmem.theory.spectra import singular_values
from aotmem.theory.task import Task, load_task, t_eps
from aotmem.theory.validate import load_user_npz
from aotmem.theory.vocab import heldout_bits
from .cmd_bounds import bound_table_and_solution, zero_encoder_divergence
from aotmem.verify.ledger.registry import bound_holds
from aotmem.verify.outputs.figures import Rule, Series, curve_plot
from aotmem.verify.outputs.jsonout import dumps
from .outfile import out_dir as make_out_dir
from .progress import bar

__all__ = ["parse_ds", "curve", "format_curve", "plot_curve", "plot_heldout", "plot_spectrum", "spectrum",
           "load_heldout", "add_parser", "run"]


def parse_ds(spec: str | None, N: int) -> list[int]:
    """The ``d`` values of ``--d``: ``"a:b"`` (``a`` to ``b`` inclusive), ``"a,b,c"``, ``"a"``; ``None``: ``1:N-1``.

    >>> parse_ds("1:3", 27), parse_ds("2,4,8", 27), parse_ds(None, 4)
    ([1, 2, 3], [2, 4, 8], [1, 2, 3])
    """
    if spec is None:
        return list(range(1, max(N - 1, 1) + 1))
    try:
        if ":" in spec:
            a, b = spec.split(":")
            ds = list(range(int(a), int(b) + 1))
        else:
            ds = [int(x) for x in spec.split(",")]
    except ValueError:
        raise ValueError(f"`--d` must look like 1:26, 2,4,8 or 3 (got {spec!r})") from None
    if not ds:
        raise ValueError(f"`--d` selects no d (got {spec!r}: the range is empty)")
    if min(ds) < 1:
        raise ValueError(f"`--d` values must be >= 1 (got {spec!r})")
    return ds


def _fit(p, P, d, which):
    """``(divergence, note)`` of ``f_ls`` (uniform) or ``f_wls``; ``None`` and the reason when it does not exist."""
    try:
        lr = f_ls(p, P, d, "uniform") if which == "ls" else f_wls(p, P, d)
        return lr.divergence(p, P), ""
    except ValueError as exc:  # Assumption 2 fails, or f_wls's d x d system is singular
        return None, str(exc).splitlines()[0]


def load_heldout(path, task: Task) -> dict:
    """A held-out task file (``aotmem task from-text HELDOUT --like TRAIN.npz``) checked against ``task`` (TRAIN).

    Returns ``{"file", "counts" (T, N), "outside", "tokens", "baselines"}``: the baselines' held-out bits per
    symbol (``uniform``, ``unigram``, ``ngram`` = TRAIN's own conditional), a position outside TRAIN's contexts
    scoring ``log2 N`` for every predictor (:func:`aotmem.theory.vocab.heldout_bits`).
    """
    with load_user_npz("held-out task", path) as data:
        if "heldout_counts" not in data.files:
            raise ValueError(f"held-out task file `{path}` has no held-out counts: make it with "
                             "`aotmem task from-text HELDOUT --like TRAIN.npz`")
        counts = np.array(data["heldout_counts"], dtype=np.float64)
        outside = int(data["heldout_outside"])
        seqs = np.array(data["seqs"])
        meta = json.loads(str(data["heldout_json"]))
        unigram = np.array(data["vocab_unigram"], dtype=np.float64)
        alpha = float(json.loads(str(data["vocab_json"]))["smoothing"])
        symbols = json.loads(str(data["vocab_json"]))["symbols"]
    if counts.shape != task.cond.shape or not np.array_equal(seqs, task.seqs) or (
            task.symbols is not None and list(task.symbols) != symbols):
        raise ValueError(f"held-out task file `{path}` was not made --like this task (its contexts or symbols "
                         f"differ: {counts.shape[0]} contexts x {counts.shape[1]} symbols, the task has "
                         f"{task.T} x {task.N}); rebuild it with --like this task's file")
    N = task.N
    q = (unigram + alpha) / (unigram.sum() + N * alpha)
    with np.errstate(divide="ignore"):
        base = {"uniform": math.log2(N),
                "unigram": heldout_bits(np.broadcast_to(np.log(q), counts.shape), counts, outside),
                "ngram": heldout_bits(np.log(task.cond), counts, outside)}
    return {"file": str(path), "counts": counts, "outside": outside, "tokens": meta.get("tokens", 0),
            "positions": int(counts.sum()) + outside, "baselines": base}


def spectrum(task: Task) -> dict:
    """``sigma_k`` of the centred ``log Pi``, readings ``uniform`` and ``uniform-prior`` (``theory.spectra``), or
    ``{"note"}`` when Assumption 2 fails (``log Pi`` is ``-inf`` somewhere)."""
    try:
        return {r: singular_values(task.prior, task.cond, r).tolist() for r in ("uniform", "uniform-prior")}
    except ValueError as exc:
        return {"note": str(exc).splitlines()[0]}


def curve(task: Task, ds, *, seed: int = 0, starts: int = 4, progress=None, heldout=None) -> dict:
    """The curve over ``ds``: per ``d``, the best divergence, ``f_ls``, ``f_wls`` and every bound (module docstring).

    Returns ``{"task", "trivial", "ds", "points", "interrupted", "non_increasing", "increases"}``.
    ``trivial`` is :func:`~aotmem.verify.cli.cmd_bounds.zero_encoder_divergence`.
    Each point: ``d``, ``optimal`` (divergence, converged, grad_norm,
    iterations, ...), ``f_ls``/``f_wls`` (with ``*_note`` when absent),
    ``rows`` (the rows of :func:`~aotmem.verify.cli.cmd_bounds.bound_table`,
    each with ``bound``, ``status`` and ``informative``), ``informative``
    (how many bounds are below ``trivial``), ``smallest`` (the smallest
    finite bound and its name), ``seconds``; or ``d`` and ``error`` when the
    computation failed at that ``d`` (the other points are still computed).
    ``non_increasing`` says whether the best divergence never grows with
    ``d`` (it cannot for the infimum, ``L(N,S,d) in L(N,S,d+1)``; the solver
    is a local search), ``increases`` lists the ``d`` where it does.
    Ctrl-C (``KeyboardInterrupt``) returns the points done with
    ``interrupted = True``. ``progress(point)`` is called after each ``d``.
    ``heldout`` (:func:`load_heldout`): each point also gets ``heldout_bits``,
    the held-out cross-entropy (bits per symbol) of that ``d``'s best fit, and
    the result ``heldout`` (file, positions, outside, baselines).
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be an aotmem.theory.task.Task (got {type(task).__name__})")
    ds = [int(d) for d in ds]
    if not ds or min(ds) < 1:
        raise ValueError(f"`ds` must be a non-empty list of d >= 1 (got {ds})")
    p, P = task.prior, task.cond
    out = {"task": {"N": task.N, "S": task.S, "T": task.T, "T_0": t_eps(p, 0.0),
                    "assumption1_one_hot": task.is_association(),
                    "assumption2_full_support": task.full_support()},
           "trivial": zero_encoder_divergence(task), "ds": ds, "points": [], "interrupted": False,
           "spectrum": spectrum(task)}
    if heldout is not None:
        out["heldout"] = {k: heldout[k] for k in ("file", "positions", "outside", "tokens", "baselines")}
    prev = None  # the previous d's solution: each d also starts from it, so the curve never increases
    try:
        for d in bar(ds, desc="curve: d", unit="d"):
            t0 = time.perf_counter()
            try:
                start = (prev.W, prev.E) if prev is not None and prev.W.shape[1] <= d else None
                table, prev = bound_table_and_solution(task, d, seed=seed, starts=starts, init=start)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 -- one failing d must not lose the others; reported per point
                point = {"d": d, "error": f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                         "exception": exc, "seconds": time.perf_counter() - t0}
            else:
                rows = table["rows"]
                finite = [r for r in rows if r["bound"] is not None and math.isfinite(r["bound"])]
                small = min(finite, key=lambda r: r["bound"]) if finite else None
                ls, ls_note = _fit(p, P, d, "ls")
                wls, wls_note = _fit(p, P, d, "wls")
                point = {"d": d, "optimal": table["optimal"], "f_ls": ls, "f_ls_note": ls_note,
                         "f_wls": wls, "f_wls_note": wls_note, "sigma": table["sigma"],
                         "informative": sum(r["informative"] for r in rows),
                         "bounds": sum(r["bound"] is not None for r in rows),
                         "smallest": None if small is None else {
                             "bound": small["bound"], "claim": small["claim"], "reading": small["reading"]},
                         "rows": rows, "seconds": time.perf_counter() - t0}
                if heldout is not None:
                    with np.errstate(divide="ignore"):  # closed form (d >= N-1, no Assumption 2): log pi itself
                        F = prev.F if prev is not None else np.log(task.cond)
                    point["heldout_bits"] = heldout_bits(F, heldout["counts"], heldout["outside"])
            out["points"].append(point)
            if progress is not None:
                progress(point)
    except KeyboardInterrupt:
        out["interrupted"] = True
    best = [(pt["d"], pt["optimal"]["divergence"]) for pt in out["points"] if "optimal" in pt]
    best.sort()
    out["increases"] = [d1 for (d0, v0), (d1, v1) in zip(best, best[1:]) if not bound_holds(v1, v0)]
    out["non_increasing"] = not out["increases"]
    return out


def _e(x) -> str:
    if x is None:
        return "-"
    return "inf" if math.isinf(x) else f"{x:.4e}"


def _b(x) -> str:
    if x is None:
        return "-"
    return "inf" if math.isinf(x) else f"{x:.4f}"


def format_curve(result: dict) -> str:
    """The terminal rendering of :func:`curve`'s result: one line per ``d``."""
    t = result["task"]
    lines = [f"task: N={t['N']} S={t['S']} T={t['T']} T_0={t['T_0']}  "
             f"Assumption 1 (one-hot): {'yes' if t['assumption1_one_hot'] else 'no'}  "
             f"Assumption 2 (full support): {'yes' if t['assumption2_full_support'] else 'no'}",
             f"trivial bound: the zero encoder (all logits equal) reaches dKL = E_t[log N - h(pi_t)] = "
             f"{result['trivial']:.4e} at every d; a bound above it is not informative"]
    h = result.get("heldout")
    if h is not None:
        b = h["baselines"]
        lines.append(f"held-out: {h['file']}: {h['positions']} positions ({h['outside']} on a context the task "
                     f"lacks, scored log2 N); baselines in bits/symbol: n-gram {_b(b['ngram'])}, unigram "
                     f"{_b(b['unigram'])}, uniform {_b(b['uniform'])}")
    lines.append("")
    head = ("d", "best dKL", "converged", "grad norm", "iters", "f_ls dKL", "f_wls dKL", "informative",
            "smallest bound", "of (claim[reading])")
    if h is not None:
        head = (*head[:7], "held-out bits", *head[7:])
    body = []
    for pt in result["points"]:
        if "error" in pt:
            body.append((str(pt["d"]), "error: " + pt["error"], *[""] * (len(head) - 2)))
            continue
        o, s = pt["optimal"], pt["smallest"]
        row = (str(pt["d"]), _e(o["divergence"]), "yes" if o["converged"] else "NO", f"{o['grad_norm']:.1e}",
               str(o["iterations"]), _e(pt["f_ls"]), _e(pt["f_wls"]), f"{pt['informative']} of {pt['bounds']}",
               "-" if s is None else _e(s["bound"]),
               "-" if s is None else f"{s['claim']}[{s['reading']}]")
        if h is not None:
            row = (*row[:7], _b(pt.get("heldout_bits")), *row[7:])
        body.append(row)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    for row in (head, *body):
        lines.append("  ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip())
    if not result["non_increasing"]:
        lines.append(f"note: the best divergence found increases at d = {result['increases']} "
                     "(a local search; the infimum cannot increase with d)")
    if result["interrupted"]:
        lines.append(f"interrupted: {len(result['points'])} of {len(result['ds'])} values of d done")
    return "\n".join(lines)


# Plot: bounds above this are drawn as markers on the top edge (they say nothing at any scale of the plot).
PLOT_TOP = 1e6
# Plot: a divergence below this is 0 up to rounding (sums of T N terms, each good to ~1e-16 relative, for
# T N up to ~1e4); it does not set the bottom of the axis.
ROUNDING_ZERO = 1e-12


def _same(a, b, floor) -> bool:
    """Whether two series draw the same points: equal to 1e-6 relative, or both under ``floor`` (one edge marker)."""
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False
        if x is None or (x < floor and y < floor):
            continue
        if not (math.isinf(x) and math.isinf(y)) and abs(x - y) > 1e-6 * max(abs(x), abs(y)):
            return False
    return True


def _merge_coinciding(series, floor):
    """Drop a series with no value and a series drawn exactly under an earlier one, naming it in that one's label.

    A line hidden under another would still be listed in the legend, with no line to see (issue 18).
    """
    kept = []
    for s in series:
        if all(v is None or (isinstance(v, float) and math.isnan(v)) for v in s.y):
            continue
        twin = next((k for k in kept if k.kind == s.kind and _same(k.y, s.y, floor)), None)
        if twin is not None:
            i = kept.index(twin)
            kept[i] = Series(f"{twin.label} = {s.label}", twin.y, twin.kind, color=twin.color)
            continue
        kept.append(s)
    return kept


def plot_curve(result: dict, path) -> str:
    """Write the curve as a PNG in the package's figure style (:func:`aotmem.verify.outputs.figures.curve_plot`).

    Best divergence, ``f_ls``, ``f_wls``, the zero encoder's divergence (a
    rule) and, per claim, its smallest bound over readings, against ``d`` on
    a log scale; divergences below the floor (0 up to rounding at
    ``d = N - 1``) on the bottom edge, bounds above :data:`PLOT_TOP` (or
    ``inf``) on the top edge. A series with no value (``f_ls``/``f_wls`` when
    Assumption 2 fails) is left out, legend included; a series equal to an
    earlier one at every ``d`` is not drawn under it but named in its label;
    with no bound at all (Assumption 2 fails) there is no top edge and the
    title speaks of divergences only. ``result`` is :func:`curve`'s result, or
    the same read back from ``curve.json``. Returns the caption, which names
    every value drawn on an edge.
    """
    pts = [pt for pt in result["points"] if "optimal" in pt]
    if not pts:
        raise ValueError("`result` has no computed point to plot")
    ds = [pt["d"] for pt in pts]
    # Divergences below ROUNDING_ZERO are 0 up to rounding (the exact fit at d = N - 1 gives ~1e-16): the axis
    # starts a decade under the smallest value above it, and anything lower is a marker on the bottom edge.
    positive = [v for pt in pts for v in (pt["optimal"]["divergence"], pt["f_ls"], pt["f_wls"], result["trivial"])
                if v is not None and v > ROUNDING_ZERO]
    floor = 10 ** math.floor(math.log10(min(positive))) / 10 if positive else 1e-6

    def value(r):  # a bound, with +inf also where strict JSON (curve.json) wrote null and the reason
        if r["bound"] is None:
            return math.inf if str(r.get("bound_note", "")).startswith("inf") else None
        return r["bound"]

    series = [Series("best rank-d divergence (optimal_encoder)", [pt["optimal"]["divergence"] for pt in pts],
                     color="black"),
              Series("f_ls (least squares)", [pt["f_ls"] for pt in pts]),
              Series("f_wls (weighted, closed form)", [pt["f_wls"] for pt in pts])]
    claims = sorted({r["claim"] for pt in pts for r in pt["rows"] if value(r) is not None})
    for claim in claims:
        vals = []
        for pt in pts:
            b = [value(r) for r in pt["rows"] if r["claim"] == claim and value(r) is not None]
            vals.append(min(b) if b else None)
        series.append(Series(f"{claim} (smallest reading)", vals, "bound"))
    series = _merge_coinciding(series, floor)
    has_bounds = any(s.kind == "bound" for s in series)
    top = PLOT_TOP if has_bounds else None
    low = [f"{s.label.split(' (')[0]} at d = {', '.join(str(d) for d, v in zip(ds, s.y) if v is not None and v < floor)}"
           for s in series if any(v is not None and v < floor for v in s.y)]
    high = [s.label.split(" (")[0] for s in series if top is not None and any(v is not None and v > top for v in s.y)]
    t = result["task"]
    what = ("the best rank-d divergence, the least-squares fits and, per claim, the smallest bound over its readings"
            if has_bounds else "the best rank-d divergence and the least-squares fits that exist (no bound applies: "
            + ("Assumption 2 fails" if not t["assumption2_full_support"] else "none computed") + ")")
    caption = (f"N={t['N']} S={t['S']} T={t['T']}: {what}, against d; the zero encoder reaches "
               f"E_t[log N - h(pi_t)] = {result['trivial']:.3g}"
               + ("; a bound above it says nothing" if has_bounds else "") + ".")
    if high:
        caption += f" Markers on the top edge (above {PLOT_TOP:.0e} or inf): {', '.join(high)}."
    if low:
        caption += (f" Markers on the bottom edge (below {floor:.0e}, drawn at it; 0 up to rounding at d = N - 1): "
                    f"{'; '.join(low)}.")
    title = (f"N={t['N']} S={t['S']} T={t['T']}: bounds above the red line say nothing" if has_bounds else
             f"N={t['N']} S={t['S']} T={t['T']}: best rank-d divergence (no bound applies)")
    return curve_plot(path, ds, series, xlabel="embedding dimension d", ylabel="divergence (nats)",
                      caption=caption, title=title, ykind="divergence",
                      rules=[Rule(result["trivial"], "zero encoder: E_t[log N - h(pi_t)]", color="#d62728", ls="--")],
                      floor=floor, top=top, legend_outside=True, integer_x=True)


def plot_heldout(result: dict, path) -> str:
    """The held-out cross-entropy (bits per symbol) of each ``d``'s best fit, with the baselines as rules."""
    pts = [pt for pt in result["points"] if "heldout_bits" in pt]
    if not pts:
        raise ValueError("`result` has no held-out point to plot")
    h = result["heldout"]
    b = h["baselines"]
    rules = [Rule(b["uniform"], f"uniform: log2 N = {b['uniform']:.3g}", color="#7f7f7f", ls=":"),
             Rule(b["unigram"], f"unigram: {b['unigram']:.3g}", color="#ff7f0e", ls="--")]
    if math.isfinite(b["ngram"]):
        rules.append(Rule(b["ngram"], f"n-gram (the task): {b['ngram']:.3g}", color="#2ca02c", ls="-."))
    best = min(pts, key=lambda pt: pt["heldout_bits"])
    infinite = [pt["d"] for pt in pts if math.isinf(pt["heldout_bits"])]
    caption = (f"held-out cross-entropy (bits per symbol) of the best rank-d fit, on {h['positions']} positions of "
               f"{Path(h['file']).name} ({h['outside']} outside the task's contexts, scored log2 N); lowest "
               f"{best['heldout_bits']:.4g} at d = {best['d']}" + ("" if math.isfinite(b["ngram"]) else
                                                                 "; the n-gram is inf (no smoothing)")
               + (f"; inf (a held-out event of probability 0 under the fit), not drawn, at d = "
                  f"{', '.join(map(str, infinite))}" if infinite else "") + ".")
    return curve_plot(path, [pt["d"] for pt in pts],
                      [Series("best rank-d fit, held out", [pt["heldout_bits"] for pt in pts], color="black")],
                      xlabel="embedding dimension d", ylabel="held-out bits per symbol", caption=caption,
                      title="held-out cross-entropy against d", ykind="linear", rules=rules, legend_outside=True,
                      integer_x=True)


def plot_spectrum(result: dict, path) -> str:
    """``sigma_k`` of the centred ``log Pi`` (readings ``uniform`` and ``uniform-prior``) against ``k``, log scale."""
    sp = result["spectrum"]
    if "note" in sp:
        raise ValueError(f"no spectrum: {sp['note']}")
    series, floor = [], None
    for r in ("uniform", "uniform-prior"):
        v = sp[r]
        series.append(Series(f"sigma_k, {r} centring", v, x=list(range(1, len(v) + 1)), color=None))
    pos = [x for s in series for x in s.y if x > ROUNDING_ZERO]
    floor = 10 ** math.floor(math.log10(min(pos))) / 10 if pos else 1e-6
    n0 = [f"{s.label}: k = {', '.join(str(k + 1) for k, x in enumerate(s.y) if x < floor)}" for s in series
          if any(x < floor for x in s.y)]
    t = result["task"]
    caption = (f"N={t['N']} S={t['S']} T={t['T']}: singular values sigma_k of the centred log Pi (every bound's "
               "sigma_{d+1} is sigma_k at k = d + 1), unweighted and prior-weighted (diag(sqrt p))."
               + (f" On the bottom edge (below {floor:.0e}; 0 up to rounding): {'; '.join(n0)}." if n0 else ""))
    return curve_plot(path, None, series, xlabel="k", ylabel="sigma_k", caption=caption,
                      title="spectrum of the centred log-probabilities", ykind="divergence", floor=floor,
                      legend_outside=True, integer_x=True)


def add_parser(sub) -> None:
    p = sub.add_parser("curve", help="the best divergence, f_ls, f_wls and every bound against d (with a plot)")
    p.add_argument("task", help="task file (.npz with prior, cond and optionally seqs)")
    p.add_argument("--d", metavar="1:K", help="values of d: a:b (inclusive), a,b,c or a (default 1:N-1)")
    p.add_argument("--out", metavar="DIR", help="write curve.png (plot), spectrum.png (sigma_k of the centred "
                   "log Pi), heldout.png (with --heldout) and curve.json into DIR")
    p.add_argument("--heldout", metavar="HELDOUT.npz",
                   help="a held-out task (`aotmem task from-text HELDOUT --like TASK`): add, per d, the held-out "
                        "cross-entropy in bits per symbol of that d's best fit")
    p.add_argument("--seed", type=int, default=0, help="seed of the JL matrix and the solver's random starts")
    p.add_argument("--starts", type=int, default=4,
                   help="random starts of the optimal-encoder search, besides f_ls and f_wls (default 4)")
    p.add_argument("--json", action="store_true", help="print strict JSON instead of a table (null for inf)")
    p.set_defaults(func=run)


def _progress(n: int):
    done = [0]

    def report(pt):
        done[0] += 1
        if "error" in pt:
            what = "error: " + pt["error"]
        else:
            o = pt["optimal"]
            what = (f"best dKL {o['divergence']:.4e} ({'converged' if o['converged'] else 'NOT converged'}), "
                    f"{pt['informative']} of {pt['bounds']} bounds informative")
        sys.stderr.write(f"curve: d={pt['d']} ({done[0]}/{n}): {what}, {pt['seconds']:.1f} s\n")
        sys.stderr.flush()

    return report


def run(args) -> int:
    task = load_task(args.task)
    ds = parse_ds(args.d, task.N)
    if args.starts < 0:
        raise ValueError(f"`--starts` must be >= 0 (got {args.starts})")
    heldout = load_heldout(args.heldout, task) if args.heldout is not None else None
    out_dir = None
    if args.out is not None:
        out_dir = make_out_dir(args.out)  # fail now, not after an hour of solving
    result = curve(task, ds, seed=args.seed, starts=args.starts, progress=_progress(len(ds)), heldout=heldout)
    failed = [pt for pt in result["points"] if "error" in pt]
    shown = {**result, "points": [{k: v for k, v in pt.items() if k != "exception"} for pt in result["points"]]}
    written, captions = [], {}
    if out_dir is not None:
        if any("optimal" in pt for pt in result["points"]):
            captions["curve.png"] = plot_curve(result, out_dir / "curve.png")
            if heldout is not None:
                captions["heldout.png"] = plot_heldout(result, out_dir / "heldout.png")
        if "note" not in result["spectrum"]:
            captions["spectrum.png"] = plot_spectrum(result, out_dir / "spectrum.png")
        written = [out_dir / name for name in captions]
        shown["captions"] = captions
        (out_dir / "curve.json").write_text(dumps(shown, indent=1) + "\n")
        written.append(out_dir / "curve.json")
    print(dumps(shown, indent=2) if args.json else format_curve(result))
    if written and not args.json:
        print("wrote " + ", ".join(str(w) for w in written[:-1]) + " and " + str(written[-1]))
        for name, cap in captions.items():
            print(f"{name}: {cap}")
    if result["interrupted"]:
        sys.stderr.write("aotmem: interrupted; the values of d done are kept above"
                         + (f" and in {out_dir}" if out_dir is not None else "") + "\n")
        return 130
    if failed:  # after printing every point: the CLI reports it (input error: 2, internal: 4; --debug: traceback)
        raise failed[0]["exception"]
    return 0
