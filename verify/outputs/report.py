"""Outputs of ``aotmem verify``: terminal table, JSON (docs/verify-json-schema.md), Markdown report with figures.

Figures (``FIGURES``, drawn by :mod:`aotmem.verify.outputs.figures`) put each bound
next to the divergence it bounds as its driving quantity varies, computed by
deterministic sweeps through the public theory API (not from the search's
samples: :func:`aotmem.verify.outputs.experiments.sigma_sweep`,
:func:`~aotmem.verify.outputs.experiments.entropy_sweep`,
:func:`~aotmem.verify.outputs.experiments.recall_curves`,
:func:`aotmem.verify.claims.aot.theorem1_sweep`,
:func:`aotmem.verify.claims.capacity.capacity_sweep`):

- ``bounds_vs_sigma.png``: seed/draft ls and wls bounds and the actual
  ``dKL(pi, f_ls)``, ``dKL(pi, f_wls)`` against ``sigma_{d+1}``;
- ``lookup_vs_entropy.png``: the look-up bounds (seed, draft, paper
  simplified) and the D.6 encoder's divergence against the entropy;
- ``assoc_recall.png``: the recall curve of ``seed.assoc-memory``;
- ``theorem1_vs_eps.png``: ``dKL(pi, T*)`` against ``paper.theorem1``'s
  right-hand side (as written and with the factor 2) as ``eps`` varies;
- ``capacity_vs_table1.png``: associations memorised by a constructed AoT
  against the Table 1 capacity formulas, as ``H`` varies.

"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path


from . import figures as _figures
from aotmem.verify.claims.aot import theorem1_sweep
from aotmem.verify.claims.capacity import capacity_sweep
from .experiments import entropy_sweep, recall_curves, sigma_sweep
from .jsonout import dumps, strict
from aotmem.verify.ledger.runner import VERDICTS, Result

__all__ = ["SCHEMA", "table", "to_json", "write_json", "write_markdown", "FIGURES"]

SCHEMA = "aotmem.verify/1"


def _fmt(x, spec=".4g") -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return format(x, spec)


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _checked(r: Result) -> str:
    """How a reported violation was confirmed: ``mp50`` (mpmath, 50 digits), ``exact``, ``cert`` or ``float64``."""
    if not r.counterexample:
        return "-"
    if r.verdict == "no-witness":
        return "witness"
    rc = r.counterexample.get("recheck") or {}
    if rc.get("confirmed"):
        return {"mpmath": f"mp{rc.get('dps', 50)}"}.get(rc.get("method"), rc.get("method", "?"))
    return "float64"


def table(results: list[Result], *, width: int = 60) -> str:
    """The terminal table: claim, reading, verdict, instances, methods, tightest margin, largest ratio, check, note.

    ``methods`` counts instances per search method (``S`` sampling, ``F`` structured
    families, ``O`` optimisation); ``ratio`` is the largest ``lhs/rhs`` found
    (:attr:`aotmem.verify.ledger.registry.Evaluation.ratio`); ``check`` says how a
    violation was confirmed (``mp50``: recomputed in 50-digit arithmetic).

    >>> from aotmem.verify.ledger.runner import Result
    >>> r = Result(key="a.b", id="paper.x", reading="", source="paper", kind="bound", statement="",
    ...            regime="", verdict="holds", instances=3)
    >>> print(table([r]).splitlines()[0].split())
    ['claim', 'reading', 'verdict', 'inst', 'methods', 'margin', 'ratio', 'check', 'counterexample', '/', 'note']
    """
    head = ("claim", "reading", "verdict", "inst", "methods", "margin", "ratio", "check")
    rows = [head + ("counterexample / note",)]
    for r in results:
        if r.counterexample:
            ev = r.counterexample["evaluation"]
            note = (f"{r.counterexample['summary']}: {_fmt(ev['lhs'])} {ev['sense']} {_fmt(ev['rhs'])} "
                    f"violated")
        else:
            note = r.reason or (r.evidence or {}).get("short_of_target") or ""
        unchecked = r.verdict == "fails" and ((r.counterexample or {}).get("recheck") or {}).get("unavailable")
        verdict = r.verdict + (" (float64 only, not re-checked)" if unchecked else "")  # a user's claim (userclaims)
        rows.append((r.id, r.reading or "-", verdict, str(r.instances), r.methods_text(), r.margin_text(),
                     r.ratio_text(), _checked(r), _short(note, width)))
    k = len(head)
    w = [max(len(row[i]) for row in rows) for i in range(k)]
    lines = ["  ".join(row[i].ljust(w[i]) for i in range(k)) + "  " + row[k] for row in rows]
    lines.insert(1, "-" * min(sum(w) + 2 * k + width, 220))
    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    lines.append("")
    lines.append("  ".join(f"{v}: {counts[v]}" for v in VERDICTS) + f"   ({len(results)} claims)")
    return "\n".join(lines)


def to_json(results: list[Result], *, profile: str, seed: int, pattern: str | None, wall_s: float,
            interrupted: bool, total: int) -> dict:
    """The JSON document (schema ``aotmem.verify/1``, docs/verify-json-schema.md)."""
    return {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "seed": seed,
        "claims_pattern": pattern,
        "wall_s": round(wall_s, 3),
        "interrupted": interrupted,
        "claims_selected": total,
        "claims_run": len(results),
        "counts": {v: sum(r.verdict == v for r in results) for v in VERDICTS},
        "results": [strict(r.as_dict()) for r in results],
    }


def write_json(path, doc: dict) -> None:
    """Write ``doc`` as strict JSON (``allow_nan=False``), creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(doc, indent=1))
    tmp.replace(path)


# ------------------------------------------------------------------ figures
# Drawn by verify/outputs/figures.py from the sweeps of verify/outputs/experiments.py and verify/claims.

_THEOREM1_TASK = "a Zipf-prior Dirichlet task (N=5, S=2, d=2, d_h=1)"  # theorem1_sweep's recipe
_TABLE1_D, _TABLE1_D_H = 2, 2  # capacity_sweep's d and d_h


def fig_bounds_vs_sigma(path: Path) -> str:
    """Seed and draft ls/wls bounds against sigma_{d+1}, with dKL of f_ls and f_wls."""
    return _figures.bounds_vs_sigma(path, sigma_sweep())


def fig_lookup_vs_entropy(path: Path) -> str:
    """Look-up bounds against the entropy, with the D.6 encoder's divergence."""
    return _figures.lookup_vs_entropy(path, entropy_sweep())


def fig_assoc_recall(path: Path) -> str:
    """Recall of the outer-product memory against N/d."""
    return _figures.assoc_recall(path, recall_curves())


def fig_theorem1_vs_eps(path: Path) -> str:
    """dKL(pi, T*) against paper.theorem1's right-hand side as eps varies."""
    eps, kl_model, kl_target, rhs, rhs2 = theorem1_sweep()
    return _figures.theorem1_vs_eps(path, _figures.Theorem1VsEps(eps=eps, kl_model=kl_model, kl_target=kl_target,
                                                                 rhs=rhs, rhs_factor2=rhs2, task=_THEOREM1_TASK))


def fig_capacity(path: Path) -> str:
    """Associations memorised by a constructed AoT against the Table 1 formulas."""
    Hs, measured, ours, mahdavi = capacity_sweep(d=_TABLE1_D, d_h=_TABLE1_D_H)
    return _figures.capacity(path, _figures.CapacityVsH(Hs=Hs, d=_TABLE1_D, this_paper={_TABLE1_D_H: ours},
                                                        mahdavi={_TABLE1_D_H: mahdavi}, memorised=measured))


FIGURES = {
    "bounds_vs_sigma.png": fig_bounds_vs_sigma,
    "lookup_vs_entropy.png": fig_lookup_vs_entropy,
    "assoc_recall.png": fig_assoc_recall,
    "theorem1_vs_eps.png": fig_theorem1_vs_eps,
    "capacity_vs_table1.png": fig_capacity,
}


def write_markdown(dirpath, doc: dict, *, figures: bool = True) -> Path:
    """Write ``report.md`` (and the figures) into ``dirpath``; returns the report's path."""
    d = Path(dirpath)
    d.mkdir(parents=True, exist_ok=True)
    out = ["# aotmem verify: the claims ledger", ""]
    out.append(f"Profile `{doc['profile']}`, seed {doc['seed']}, pattern `{doc['claims_pattern'] or 'all'}`, "
               f"{doc['claims_run']}/{doc['claims_selected']} claims in {doc['wall_s']:.1f} s"
               + (" (INTERRUPTED: partial results)" if doc["interrupted"] else "") + ".")
    out.append("")
    out.append(" | ".join(f"{v}: {n}" for v, n in doc["counts"].items()))
    out.append("")
    out.append("| claim | reading | verdict | instances | methods | tightest rel. margin | largest ratio | "
               "counterexample / reason |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in doc["results"]:
        tm = "-"
        if r["tightest"]:
            rm = r["tightest"]["evaluation"]["rel_margin"]
            tm = r["tightest"]["evaluation"].get("rel_margin_note", "-") if rm is None else f"{rm:+.3g}"
        ev_ = r.get("evidence") or {}
        methods = ", ".join(f"{k} {v}" for k, v in (ev_.get("methods") or {}).items() if v) or "-"
        ratio = (ev_.get("max_ratio") or {}).get("ratio")
        ratio = "-" if ratio is None else f"{ratio:.3g}"
        if r["counterexample"]:
            ce = r["counterexample"]
            ev = ce["evaluation"]
            why = f"{ce['summary']}: lhs {_fmt(ev['lhs'])} {ev['sense']} rhs {_fmt(ev['rhs'])} violated"
        else:
            why = r["reason"] or ""
        out.append(f"| `{r['id']}` | {r['reading'] or '-'} | **{r['verdict']}** | {r['instances']} | {methods} | "
                   f"{tm} | {ratio} | {_short(why, 160).replace('|', '/')} |")
    fails = [r for r in doc["results"] if r["verdict"] in ("fails", "no-witness")]
    if fails:
        out += ["", "## Counterexamples (fails) and witness misses (no-witness)", ""]
        for r in fails:
            ce = r["counterexample"]
            ev = ce["evaluation"]
            out += [f"### `{r['key']}`", "", f"Statement: ${r['statement']}$", "",
                    f"Regime: {r['regime']}", "",
                    f"Instance (shrunk): `{json.dumps(ce['recipe'], sort_keys=True)}`", "",
                    f"Found by: {ce.get('method', '?')}; re-check: "
                    f"{json.dumps(ce.get('recheck'), sort_keys=True) if ce.get('recheck') else 'none'}", "",
                    f"lhs = {_fmt(ev['lhs'], '.10g')}, rhs = {_fmt(ev['rhs'], '.10g')}, margin = "
                    f"{_fmt(ev['margin'], '.4g')}, " + (
                        f"tolerance {_fmt(ev['tol'], '.3g')} (violated by {_fmt(ce['excess_over_tol'], '.3g')} x "
                        "the tolerance)" if ev["tol"] != 0 else "exact comparison (tolerance 0)"), "",
                    "Reproduce:", "", "```", ce["reproduce"], "```", ""]
    other = [r for r in doc["results"] if r["verdict"] in ("vacuous", "unverifiable")]
    if other:
        out += ["", "## Vacuous and unverifiable", ""]
        for r in other:
            out.append(f"- `{r['key']}` ({r['verdict']}): {r['reason']}")
    if figures:
        out += ["", "## Figures", ""]
        for name, fn in FIGURES.items():
            try:
                caption = fn(d / name)
            except Exception as exc:  # a figure must not sink the report; say what happened
                out.append(f"- `{name}`: failed ({exc.__class__.__name__}: {_short(str(exc), 200)})")
                continue
            out += [f"![{name}]({name})", "", f"*{caption}*", ""]
    path = d / "report.md"
    path.write_text("\n".join(out) + "\n")
    return path
