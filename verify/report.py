"""Outputs of ``aotmem verify``: terminal table, JSON (docs/verify-json-schema.md), Markdown report with figures.

Figures (matplotlib, Agg backend) put each bound next to the divergence it
bounds as its driving quantity varies, computed by deterministic sweeps
through the public theory API (not from the search's samples):

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
import math
from pathlib import Path

import numpy as np

from aotmem.verify.runner import VERDICTS, Result

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
    (:attr:`aotmem.verify.registry.Evaluation.ratio`); ``check`` says how a
    violation was confirmed (``mp50``: recomputed in 50-digit arithmetic).

    >>> from aotmem.verify.runner import Result
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
            note = r.reason or (r.evidence or {}).get("short_of_target", "")
        rows.append((r.id, r.reading or "-", r.verdict, str(r.instances), r.methods_text(), r.margin_text(),
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
        "results": [_clean(r.as_dict()) for r in results],
    }


def _clean(obj):
    """Make ``obj`` strict-JSON (no NaN/inf, numpy scalars converted)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isfinite(x):
            return x
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return obj


def write_json(path, doc: dict) -> None:
    """Write ``doc`` as strict JSON (``allow_nan=False``), creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False, sort_keys=False))
    tmp.replace(path)


# ------------------------------------------------------------------ figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fig_bounds_vs_sigma(path: Path) -> str:
    """Seed and draft ls/wls bounds against sigma_{d+1}, with dKL of f_ls and f_wls."""
    from aotmem.theory.bounds import draft_ls_bound, draft_wls_bound, seed_ls_bound, seed_wls_bound
    from aotmem.theory.generators import almost_rank_task
    from aotmem.theory.lowrank import f_ls, f_wls

    N, S, d = 6, 2, 2
    sig = np.linspace(0.02, 2.5, 25)
    cols = {k: [] for k in ("dKL f_ls", "dKL f_wls", "seed.ls-bound", "seed.wls-bound", "draft.theorem-ls",
                            "draft.theorem-wls")}
    for s in sig:
        t = almost_rank_task(N, S, d=d, sigma=float(s), seed=0)
        p, P = t.prior, t.cond
        cols["dKL f_ls"].append(f_ls(p, P, d).divergence(p, P))
        cols["dKL f_wls"].append(f_wls(p, P, d).divergence(p, P))
        cols["seed.ls-bound"].append(seed_ls_bound(p, P, d))
        cols["seed.wls-bound"].append(seed_wls_bound(p, P, d))
        cols["draft.theorem-ls"].append(draft_ls_bound(p, P, d))
        cols["draft.theorem-wls"].append(draft_wls_bound(p, P, d))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, v in cols.items():
        ax.plot(sig, v, ("-" if k.startswith("dKL") else "--"), lw=2 if k.startswith("dKL") else 1.2, label=k)
    ax.set_yscale("log")
    ax.set_xlabel(r"$\sigma_{d+1}$ (uniform-centred $L$)")
    ax.set_ylabel("divergence / bound")
    ax.set_title(f"almost-rank task N={N} S={S} d={d}, uniform prior (readings: uniform, global)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "bounds (dashed) against the divergence of the map each bounds (solid), as sigma_{d+1} varies"


def fig_lookup_vs_entropy(path: Path) -> str:
    """Look-up bounds against the entropy, with the D.6 encoder's divergence."""
    from aotmem.theory.generators import lookup_task
    from aotmem.theory.lookup import (
        draft_lookup_bound,
        jl_matrix,
        lookup_encoder,
        paper_theorem2_simplified,
        seed_lookup_bound,
        tight_lookup_bound,
    )

    N, S, d = 5, 1, 800
    W, cert = jl_matrix(N, d, seed=0)
    fr = np.linspace(0.03, 0.97, 20)
    cols = {k: [] for k in ("dKL f (D.6)", "seed.lookup-bound", "draft.lookup-theorem",
                            "draft.lookup-theorem+factor(1+2C)", "paper.theorem2 simplified")}
    hs = []
    for f in fr:
        t = lookup_task(N, S, entropy=float(f * np.log(N)), seed=0)
        p, P = t.prior, t.cond
        enc = lookup_encoder(t, W)
        hs.append(float(p @ enc.h))
        cols["dKL f (D.6)"].append(float(p @ enc.kl_rows()))
        cols["seed.lookup-bound"].append(seed_lookup_bound(p, P, d))
        cols["draft.lookup-theorem"].append(draft_lookup_bound(p, P, d))
        cols["draft.lookup-theorem+factor(1+2C)"].append(tight_lookup_bound(p, P, d))
        cols["paper.theorem2 simplified"].append(paper_theorem2_simplified(p, P, d))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, v in cols.items():
        ax.plot(hs, v, "-" if k.startswith("dKL") else "--", lw=2 if k.startswith("dKL") else 1.2, label=k)
    ax.set_xlabel("Shannon entropy h (nats)")
    ax.set_ylabel("divergence / bound")
    ax.set_title(f"look-up task N={N}, d={d} (C={cert.C:.3f}, achieved {cert.max_dev:.3f})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "look-up bounds (dashed) against the D.6 encoder's divergence (solid) as the entropy varies"


def fig_assoc_recall(path: Path) -> str:
    """Recall of the outer-product memory against N/d."""
    from aotmem.theory.assoc import recall_curve

    ratios = np.array([0.25, 0.5, 1, 2, 4, 8, 16])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for d in (16, 32, 64):
        ax.plot(ratios, recall_curve(d, ratios, seed=0, trials=2), "o-", label=f"d={d}")
    ax.axvline(1.0, color="k", lw=0.8, ls=":", label="N = d (the seed's 'only d')")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N / d")
    ax.set_ylabel("recall")
    ax.set_title("seed.assoc-memory: outer-product memory, N(0,1/d) embeddings", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "measured recall against N/d: capacity grows faster than d"


def fig_theorem1_vs_eps(path: Path) -> str:
    """dKL(pi, T*) against paper.theorem1's right-hand side as eps varies."""
    from aotmem.verify.claims.aot import theorem1_sweep

    eps, kl_model, kl_target, rhs, rhs2 = theorem1_sweep()
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(eps, kl_model, "o-", lw=2, label=r"$d_{KL}(\pi, T^*)$")
    ax.plot(eps, kl_target, "-", label=r"$d_{KL}(\pi, f^*)$ (target)")
    ax.plot(eps, rhs, "--", label="paper.theorem1 RHS (as written)")
    ax.plot(eps, rhs2, ":", label="RHS with factor 2")
    ax.set_xlabel(r"$\varepsilon$")
    ax.set_ylabel("divergence")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title("paper.theorem1 on a Zipf-prior Dirichlet task")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "the constructed AoT's divergence against paper.theorem1's bound as eps varies"


def fig_capacity(path: Path) -> str:
    """Associations memorised by a constructed AoT against the Table 1 formulas."""
    from aotmem.verify.claims.capacity import capacity_sweep

    Hs, measured, ours, mahdavi = capacity_sweep()
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(Hs, measured, "o-", lw=2, label="memorised by the constructed AoT (accuracy 1)")
    ax.plot(Hs, ours, "--", label=r"$H d_h + d$ (this paper)")
    ax.plot(Hs, mahdavi, ":", label=r"$H(d_h - 1) + 1$ (Mahdavi et al.)")
    ax.set_xlabel("heads H")
    ax.set_ylabel("associations")
    ax.legend(fontsize=7)
    ax.set_title("paper.table1: capacity against H")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return "capacity measured on explicit constructions against the Table 1 formulas"


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
    out.append("| claim | reading | verdict | instances | tightest rel. margin | counterexample / reason |")
    out.append("|---|---|---|---|---|---|")
    for r in doc["results"]:
        tm = "-"
        if r["tightest"]:
            rm = r["tightest"]["evaluation"]["rel_margin"]
            tm = rm if isinstance(rm, str) else f"{rm:+.3g}"
        if r["counterexample"]:
            ce = r["counterexample"]
            ev = ce["evaluation"]
            why = f"{ce['summary']}: lhs {_fmt(ev['lhs'])} {ev['sense']} rhs {_fmt(ev['rhs'])} violated"
        else:
            why = r["reason"] or ""
        out.append(f"| `{r['id']}` | {r['reading'] or '-'} | **{r['verdict']}** | {r['instances']} | {tm} | "
                   f"{_short(why, 160).replace('|', '/')} |")
    fails = [r for r in doc["results"] if r["verdict"] == "fails"]
    if fails:
        out += ["", "## Counterexamples", ""]
        for r in fails:
            ce = r["counterexample"]
            ev = ce["evaluation"]
            out += [f"### `{r['key']}`", "", f"Statement: ${r['statement']}$", "",
                    f"Regime: {r['regime']}", "",
                    f"Instance (shrunk): `{json.dumps(ce['recipe'], sort_keys=True)}`", "",
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
