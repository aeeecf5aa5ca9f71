"""Condition number of the kept system ``M_1`` against ``S`` and against head overcompleteness.

Writes ``docs/figures/conditioning_vs_S.png``, ``docs/figures/conditioning_vs_overcompleteness.png``,
``docs/figures/conditioning_vs_attention_scale.png``
and the numbers behind them (``docs/figures/conditioning.json``).

Three designs of the primed parameters (``theory.construct.draw_primed``):
``generic`` (i.i.d. Gaussian embeddings, attention scale 1: the "generic
random choice" of ``paper.lemma2``), ``designed`` (orthonormal-frame
embeddings, Gaussian ``W_QK`` at attention scale ``ATTN_SCALE``: the design
before issue 12) and ``balanced`` (unit tokens, positions of norm
``POS_NORM``, orthogonal ``W_QK`` at score spread ``BALANCED_SCORE_STD``:
``construct``'s default). The attention-scale sweep runs for the last two. The kept system is the paper's
``M = [W'_V A'(t); x'_S(t)]`` over all ``N**S`` sequences, rows scaled to unit
norm (as the solver uses it). Square systems: ``kappa_1`` by LU + LAPACK
``gecon``; non-square: ``kappa_2`` by SVD.

Run: ``python benchmarks/conditioning.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from aotmem.theory.aot import AoTShape  # noqa: E402
from aotmem.theory.backend import lu_solve_cond  # noqa: E402
from aotmem.theory.construct import ATTN_SCALE, BALANCED_SCORE_STD, draw_primed, head_features  # noqa: E402
from aotmem.theory.task import all_sequences  # noqa: E402

DESIGNS = {"generic": dict(embedding="gaussian", attn_scale=1.0),
           "designed": dict(embedding="orthogonal", attn_scale=ATTN_SCALE),
           # construct's default since issue 12: unit tokens, short positions, orthogonal W_QK at score spread 7.5
           "balanced": dict(embedding="balanced", attn_scale=BALANCED_SCORE_STD)}
FIG = Path(__file__).resolve().parent.parent / "docs" / "figures"


def kept_cond(N: int, S: int, d: int, d_h: int, H: int, design: str, qk: str = "full", seed: int = 0) -> float:
    pr = draw_primed(AoTShape(N=N, S=S, d=d, H=H, d_h=d_h), qk=qk, seed=seed, **DESIGNS[design])
    M = head_features(pr, all_sequences(N, S))
    M = M / np.linalg.norm(M, axis=1, keepdims=True)
    if M.shape[0] == M.shape[1]:
        _, c = lu_solve_cond(M, np.ones(M.shape[0]), overwrite=True)
        return c
    s = np.linalg.svd(M, compute_uv=False)
    return float(s[0] / s[min(M.shape) - 1]) if s[min(M.shape) - 1] > 0 else float("inf")


def vs_S(N: int, d: int, S_values, seeds) -> dict:
    out = {}
    for design in DESIGNS:
        rows = []
        for S in S_values:
            T = N**S
            H = -(-(T - d) // d)
            cs = [kept_cond(N, S, d, d, H, design, seed=s) for s in seeds]
            rows.append({"S": S, "T": T, "H": H, "square": H * d + d == T, "cond": cs})
            print(f"vs S  {design:>8} N={N} S={S} T={T} H={H} kappa={['%.2e' % c for c in cs]}", flush=True)
        out[design] = rows
    return out


def vs_over(N: int, S: int, d: int, ratios, seeds) -> dict:
    out = {}
    T = N**S
    for design in DESIGNS:
        rows = []
        for r in ratios:
            H = max(-(-(T - d) // d), int(np.ceil((r * T - d) / d)))
            cs = [kept_cond(N, S, d, d, H, design, seed=s) for s in seeds]
            rows.append({"ratio": (H * d + d) / T, "H": H, "cond": cs})
            print(f"vs r  {design:>8} N={N} S={S} T={T} H={H} r={(H * d + d) / T:.3f} kappa={['%.2e' % c for c in cs]}",
                  flush=True)
        out[design] = rows
    return out


def vs_scale(N: int, S: int, d: int, scales, seeds) -> dict:
    T = N**S
    H = -(-(T - d) // d)
    out = {}
    for embedding in ("orthogonal", "balanced"):
        rows = []
        for a in scales:
            cs = []
            for s in seeds:
                pr = draw_primed(AoTShape(N=N, S=S, d=d, H=H, d_h=d), embedding=embedding, attn_scale=a, seed=s)
                M = head_features(pr, all_sequences(N, S))
                M = M / np.linalg.norm(M, axis=1, keepdims=True)
                sv = np.linalg.svd(M, compute_uv=False)
                cs.append(float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf"))
            rows.append({"attn_scale": a, "cond": cs})
            print(f"vs scale {embedding:>10} N={N} S={S} T={T} H={H} scale={a} kappa={['%.2e' % c for c in cs]}",
                  flush=True)
        out[embedding] = rows
    return out


def plot(data: dict) -> None:
    FIG.mkdir(parents=True, exist_ok=True)
    u = np.finfo(np.float64).eps
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for design, rows in data["vs_S"].items():
        S = [r["S"] for r in rows]
        med = [np.median(r["cond"]) for r in rows]
        ax.semilogy(S, med, "o-", label=design)
        for r in rows:
            ax.semilogy([r["S"]] * len(r["cond"]), r["cond"], ".", color="gray", alpha=0.5)
    ax.axhline(1 / u, ls="--", color="k", lw=0.8, label="1/u (float64 singular)")
    p = data["params_S"]
    ax.set(xlabel="sequence length S", ylabel="condition number of kept system",
           title=f"minimal heads H d_h + d = T  (N={p['N']}, d=d_h={p['d']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIG / "conditioning_vs_S.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for design, rows in data["vs_over"].items():
        x = [r["ratio"] for r in rows]
        ax.semilogy(x, [np.median(r["cond"]) for r in rows], "o-", label=design)
    ax.axhline(1 / u, ls="--", color="k", lw=0.8, label="1/u")
    p = data["params_over"]
    ax.set(xlabel="head overcompleteness (H d_h + d) / T", ylabel="condition number of kept system",
           title=f"N={p['N']}, S={p['S']} (T={p['N'] ** p['S']}), d=d_h={p['d']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIG / "conditioning_vs_overcompleteness.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for embedding, rows in data["vs_scale"].items():
        label = {"orthogonal": "designed (ATTN_SCALE)", "balanced": "balanced (score spread)"}.get(embedding, embedding)
        ax.loglog([r["attn_scale"] for r in rows], [np.median(r["cond"]) for r in rows], "o-", label=label)
    ax.axhline(1 / u, ls="--", color="k", lw=0.8, label="1/u")
    p = data["params_scale"]
    ax.set(xlabel="attention scale (designed) / score spread (balanced)", ylabel="kappa_2 of kept system",
           title=f"minimal heads, N={p['N']}, S={p['S']}, d=d_h={p['d']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(FIG / "conditioning_vs_attention_scale.png", dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one seed")
    args = ap.parse_args(argv)
    seeds = [0] if args.quick else [0, 1, 2]
    pS = {"N": 4, "d": 4, "S": [2, 3, 4, 5] if args.quick else [2, 3, 4, 5, 6]}  # (4^S - 4) % 4 == 0: square, LU
    pO = {"N": 4, "S": 5, "d": 3, "ratios": [1.0, 1.1, 1.25, 1.5, 2.0, 3.0]}
    pA = {"N": 4, "S": 5, "d": 3, "scales": [0.5, 1, 2, 4, 8, 16, 32, 64, 128]}  # both designs' own scale
    data = {"params_S": pS, "params_over": pO, "params_scale": pA,
            "vs_scale": vs_scale(pA["N"], pA["S"], pA["d"], pA["scales"], seeds),
            "vs_S": vs_S(pS["N"], pS["d"], pS["S"], seeds),
            "vs_over": vs_over(pO["N"], pO["S"], pO["d"], pO["ratios"], seeds)}
    FIG.mkdir(parents=True, exist_ok=True)
    (FIG / "conditioning.json").write_text(json.dumps(data, indent=1))
    plot(data)
    print(f"wrote {FIG / 'conditioning_vs_S.png'}, {FIG / 'conditioning_vs_overcompleteness.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
