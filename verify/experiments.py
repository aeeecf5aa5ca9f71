"""The seed's experiments, reproduced: each function writes one PNG and returns its numbers.

Three experiments (issue 6), each a function ``<name>(out_dir, *, size, seed)``
returning a JSON-able ``dict`` whose ``"figure"`` entry is the PNG written:

- :func:`assoc_recall_experiment` (``seed.assoc-memory``): recall of the
  outer-product associative memory against ``N/d``, random embeddings,
  and the largest ``N`` recalled at 90% / 50% against ``d``.
- :func:`optimal_encoder_experiment` (``seed.no-quantity-limit``): the
  optimal rank-``d`` encoder fitted to a structured distribution (sequences
  in classes, outputs in groups); the Gram matrices of its unembeddings and
  encodings show the block structure, and its divergence against ``d`` does
  not depend on the number of sequences ``T`` ("no limit in quantity, but
  in quality").
- :func:`capacity_experiment` (``paper.table1``, ``paper.cor2``): the
  capacities ``H d_h + d`` (this paper) and ``H(d_h - 1) + 1`` (Mahdavi et
  al.) and the accuracy bound of ``paper.cor2`` as ``H`` grows.

``SIZES`` holds the sizes: ``"tiny"`` (the tests, a few seconds) and
``"full"`` (``aotmem report``). :func:`run_all` runs the three.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aotmem.theory.validate import check_int

__all__ = [
    "SIZES",
    "EXPERIMENTS",
    "assoc_recall_experiment",
    "optimal_encoder_experiment",
    "capacity_experiment",
    "structured_task",
    "summary_lines",
    "run_all",
]

# Sizes of each experiment. "full" keeps `aotmem report` near a minute on two cores.
SIZES = {
    "tiny": {
        "assoc": {"ds": (8, 16), "ratios": (0.25, 1.0, 4.0, 16.0), "trials": 2, "cap_ds": (8, 16)},
        "encoder": {"N": 6, "K": 3, "K2": 6, "Ss": (1, 2), "ds": (1, 2, 3), "show_S": 2,
                    "starts": 0, "max_iter": 300},
        "capacity": {"N": 16, "d": 8, "d_h": 8, "T_0": 256, "Hs": (1, 2, 4, 8),
                     "measured": {"N": 3, "S": 2, "d": 2, "d_h": 1, "H_max": 5, "tasks": 3}},
    },
    "full": {
        "assoc": {"ds": (16, 32, 64, 128, 256), "ratios": tuple(2.0 ** np.arange(-3, 4.5, 0.5)),
                  "trials": 3, "cap_ds": (8, 16, 32, 64, 128)},
        "encoder": {"N": 12, "K": 4, "K2": 6, "Ss": (1, 2, 3), "ds": (1, 2, 3, 4, 5, 6), "show_S": 2,
                    "starts": 3, "max_iter": 2000},
        "capacity": {"N": 64, "d": 16, "d_h": 16, "T_0": 4096, "Hs": tuple(range(1, 256)),
                     "measured": {"N": 4, "S": 3, "d": 2, "d_h": 2, "H_max": 30, "tasks": 10}},
    },
}


def _check_size(size: str) -> dict:
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)} (got {size!r})")
    return SIZES[size]


def _out(out_dir, name: str) -> Path:
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d / name


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


# --- 1. seed.assoc-memory ------------------------------------------------------

_MIN_SAMPLES = 512  # recalls averaged per point of the curve (more draws at small N)


def assoc_recall_experiment(out_dir, *, size: str = "full", seed: int = 0) -> dict:
    """Recall of Bietti et al.'s outer-product memory against ``N/d`` (``seed.assoc-memory``).

    For each ``d`` and ratio ``r``: store ``N = round(r d)`` random
    associations in ``W = sum_i w_U(g(i)) w_E(i)^T`` with random Gaussian
    embeddings and measure the fraction recalled by
    ``argmax_j w_U(j)^T W w_E(i)`` (:func:`theory.assoc.assoc_memory_recall`).
    Then measure, for each ``d``, the largest ``N`` recalled at 90% and at
    50% (:func:`theory.assoc.recall_capacity`) to compare with the slides'
    "only d of them".

    Also records, per ``d``, the expected number of associations recalled,
    ``recall x N``, at its largest over the measured ``N`` (another reading
    of "only d of them").

    Writes ``assoc_recall.png``. Returns ``{"figure", "ds", "ratios",
    "recall": {d: [recall per ratio]}, "capacity90": {d: N}, "capacity50": {d: N},
    "capacity50_loglog_slope", "max_recalled": {d: count}}``.
    """
    from aotmem.theory.assoc import assoc_memory_recall, recall_capacity

    cfg = _check_size(size)["assoc"]
    seed = check_int("seed", seed, minimum=0)
    ds, ratios = cfg["ds"], np.asarray(cfg["ratios"], dtype=float)
    recall = {}
    for d in ds:
        Ns = [max(2, int(round(r * d))) for r in ratios]
        # small N: more draws, so that every point averages >= MIN_SAMPLES recalls
        recall[d] = np.array([assoc_memory_recall(N, d, seed=[seed, d, N],
                                                  trials=max(cfg["trials"], -(-_MIN_SAMPLES // N))).mean
                              for N in Ns])
    # expected number recalled, recall * N, at its largest over the measured N (another reading of "only d")
    recalled = {d: float(np.max(recall[d] * np.array([max(2, int(round(r * d))) for r in ratios]))) for d in ds}
    kw = {"seed": seed, "trials": cfg["trials"], "min_samples": _MIN_SAMPLES}
    cap90 = {d: recall_capacity(d, level=0.9, **kw) for d in cfg["cap_ds"]}
    cap50 = {d: recall_capacity(d, level=0.5, **kw) for d in cfg["cap_ds"]}

    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for d in ds:
        a.plot(ratios, recall[d], "o-", ms=3, label=f"d = {d}")
    a.axvline(1.0, color="grey", ls="--", lw=1)
    a.text(1.05, 0.03, "N = d", color="grey")
    a.set_xscale("log", base=2)
    a.set_ylim(-0.02, 1.02)
    a.set_xlabel("N / d  (associations stored per embedding dimension)")
    a.set_ylabel(f"recall (fraction of g recalled, ≥ {cfg['trials']} draws)")
    a.set_title("Outer-product memory W = Σ_i w_U(g(i)) w_E(i)ᵀ:\nrecall against N/d, random Gaussian embeddings")
    a.legend(fontsize=8)
    cd = np.array(cfg["cap_ds"], dtype=float)
    b.loglog(cd, [cap90[d] for d in cfg["cap_ds"]], "o-", label="largest N with recall ≥ 90%")
    b.loglog(cd, [cap50[d] for d in cfg["cap_ds"]], "s-", label="largest N with recall ≥ 50%")
    b.loglog(ds, [recalled[d] for d in ds], "^-", label="most associations recalled, max over N of recall × N")
    lo, hi = min(cd.min(), min(ds)), max(cd.max(), max(ds))
    b.loglog([lo, hi], [lo, hi], "k--", lw=1, label="N = d (\"only d of them\")")
    b.set_xlabel("embedding dimension d")
    b.set_ylabel("associations N recalled")
    if np.unique(cd).size >= 2:  # a slope needs two distinct d (one point fits any line)
        slope = float(np.polyfit(np.log(cd), np.log([cap50[d] for d in cfg["cap_ds"]]), 1)[0])
        b.set_title(f"Measured capacity against d (50% line: N ∝ d^{slope:.2f})")
    else:
        slope = None
        b.set_title("Measured capacity against d")
    b.legend(fontsize=8)
    fig.tight_layout()
    path = _out(out_dir, "assoc_recall.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {
        "figure": str(path),
        "ds": list(ds),
        "ratios": ratios.tolist(),
        "recall": {str(d): recall[d].tolist() for d in ds},
        "capacity90": {str(d): cap90[d] for d in cfg["cap_ds"]},
        "capacity50": {str(d): cap50[d] for d in cfg["cap_ds"]},
        "capacity50_loglog_slope": slope,
        "max_recalled": {str(d): recalled[d] for d in ds},
    }


# --- 2. seed.no-quantity-limit: the optimal rank-d encoder of a structured task --------


def structured_task(N: int, S: int, K: int, *, beta: float = 3.0, noise: float = 0.0, seed: int = 0):
    """A task whose next token depends only on a class ``c(t)`` of the sequence.

    Output tokens fall in ``K`` contiguous groups ``grp(o) = floor(o K / N)``;
    the class of ``t`` is ``c(t) = (sum_s grp(t_s)) mod K``; and
    ``log pi(o|t) = beta [grp(o) = c(t)] + noise z_{t,o} + const`` with
    ``z ~ N(0, 1)``. Without noise ``Pi`` has ``K`` distinct rows, so its
    centred ``L`` has rank ``K - 1``: the divergence of the best rank-``d``
    map is 0 for ``d >= K - 1`` (``seed.zero-divergence``) whatever the
    number ``T = N^S`` of sequences. Uniform prior.

    Returns ``(task, grp, cls)``: the :class:`theory.task.Task`, the group of
    each token ``(N,)`` and the class of each sequence ``(T,)``.

    >>> task, grp, cls = structured_task(6, 2, 3)
    >>> task.T, grp.tolist(), np.bincount(cls).tolist()
    (36, [0, 0, 1, 1, 2, 2], [12, 12, 12])
    """
    from aotmem.theory.divergence import log_softmax
    from aotmem.theory.task import Task, all_sequences
    from aotmem.theory.validate import check_positive

    N = check_int("N", N, minimum=2)
    S = check_int("S", S, minimum=1)
    K = check_int("K", K, minimum=1, maximum=N)
    beta = check_positive("beta", beta, allow_zero=True)
    noise = check_positive("noise", noise, allow_zero=True)
    seqs = all_sequences(N, S)  # (T, S)
    grp = (np.arange(N) * K) // N  # (N,)
    cls = grp[seqs].sum(axis=1) % K  # (T,)
    logits = beta * (grp[None, :] == cls[:, None])  # (T, N)
    if noise > 0:
        logits = logits + noise * np.random.default_rng(seed).standard_normal(logits.shape)
    cond = np.exp(log_softmax(logits))
    cond /= cond.sum(axis=1, keepdims=True)
    T = seqs.shape[0]
    return Task(np.full(T, 1.0 / T), cond, seqs), grp, cls


def _balanced_factors(F: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauge-free factors of a rank-``d`` logit map: ``W = V sqrt(s)``, ``E = U sqrt(s)``.

    ``F`` is first row-centred (softmax ignores a per-row constant), then
    ``F_c = U diag(s) V^T`` (top ``d``). The Grams ``W W^T = V s V^T`` and
    ``E E^T = U s U^T`` no longer depend on the ``GL(d)`` gauge of ``(W, E)``.
    """
    Fc = F - F.mean(axis=1, keepdims=True)
    U, s, Vt = np.linalg.svd(Fc, full_matrices=False)
    r = np.sqrt(s[:d])
    return Vt[:d].T * r, U[:, :d] * r  # (N, d), (T, d)


def _block_cosines(X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean cosine similarity of the rows of ``X`` within a label and across labels."""
    n = np.linalg.norm(X, axis=1, keepdims=True)
    Xn = X / np.where(n > 0, n, 1.0)
    C = Xn @ Xn.T
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    return float(C[same & off].mean()), float(C[~same].mean())


def _best_rank_d(task, d: int, seed: int, *, starts: int = 3, max_iter: int = 2000):
    """:func:`theory.optimal.optimal_encoder` from the ``f_ls``/``f_wls`` starts, then, unless
    that already reached 0 (to 1e-12), the best of it and a run with ``starts`` random starts.

    (Random starts are costly when the optimum is 0, sublinear convergence,
    and needed when it is not: from ``f_ls`` alone L-BFGS stopped at 0.230
    instead of 0.0603 for ``N=12, S=3, K=4, d=2``.)
    """
    from aotmem.theory.optimal import optimal_encoder

    r = optimal_encoder(task.prior, task.cond, d, starts=0, seed=seed, max_iter=max_iter)
    if r.divergence <= 1e-12 or starts == 0:
        return r
    r2 = optimal_encoder(task.prior, task.cond, d, starts=starts, seed=seed, max_iter=max_iter)
    return r2 if r2.divergence < r.divergence else r


def optimal_encoder_experiment(out_dir, *, size: str = "full", seed: int = 0) -> dict:
    """The optimal rank-``d`` encoder of a structured task (``seed.no-quantity-limit``).

    For the task of :func:`structured_task` (``K`` classes of sequences,
    ``K`` groups of outputs, ``T = N^S`` sequences) fit the best rank-``d``
    encoder (:func:`theory.optimal.optimal_encoder`) for each ``S`` and
    ``d``, and for ``K`` and ``K2`` classes (``SIZES``; both divide ``N``). The seed's reading: "no
    memorization limit in quantity, but in quality": the divergence against
    ``d`` is the same for every ``T`` (quantity) and reaches 0 at
    ``d = K - 1``, the rank of the centred ``L`` (quality). The Gram
    matrices ``W W^T`` (unembeddings, ``N x N``; ``W_U^T W_U`` with tokens as
    columns) and ``E E^T`` (encodings, ``T x T``), tokens sorted by group and
    sequences by class, show the block structure, computed in the balanced
    gauge (:func:`_balanced_factors`) so that they do not depend on the
    optimiser's ``GL(d)`` gauge.

    Writes ``optimal_encoder_blocks.png``. Returns ``{"figure", "N", "K",
    "divergence": {K: {T: [per d]}}, "converged": ..., "block_cosines":
    {d: {"W": [within, across], "E": [within, across]}}}``.
    """
    cfg = _check_size(size)["encoder"]
    seed = check_int("seed", seed, minimum=0)
    N, K, ds = cfg["N"], cfg["K"], cfg["ds"]
    Ks = (K, cfg["K2"])
    div, conv, fits = {}, {}, {}
    for k in Ks:
        div[k], conv[k] = {}, {}
        for S in cfg["Ss"] if k == K else (cfg["show_S"],):
            task, grp, cls = structured_task(N, S, k, seed=seed)
            rs = [_best_rank_d(task, d, seed, starts=cfg["starts"], max_iter=cfg["max_iter"]) for d in ds]
            div[k][task.T] = [max(r.divergence, 0.0) for r in rs]  # report rounding below 0 as 0
            conv[k][task.T] = [bool(r.converged) for r in rs]
            if k == K and S == cfg["show_S"]:
                fits = {d: (r, task, grp, cls) for d, r in zip(ds, rs)}

    shown = [d for d in (K - 1, K - 2) if d in fits]
    cos = {}
    plt = _pyplot()
    fig = plt.figure(figsize=(13, 4.2 * max(1, len(shown))))
    gs = fig.add_gridspec(max(1, len(shown)), 3, width_ratios=(1.25, 1, 1))
    ax = fig.add_subplot(gs[:, 0])
    floor = 1e-12  # plotted value of divergences below float64 resolution (printed as exactly computed in the numbers)
    for k, style in zip(Ks, ("-", "--")):
        for T, v in div[k].items():
            ax.semilogy(ds, np.maximum(v, floor), style, marker="o", ms=4, label=f"K = {k} classes, T = {T} sequences")
        ax.axvline(k - 1, color="grey", lw=0.8, ls=style)
    ax.set_xlabel("rank d of the encoder")
    ax.set_ylabel(f"divergence of the best rank-d encoder (values < {floor:g} drawn at {floor:g})")
    ax.set_title(f"Quantity T does not matter, quality does (N = {N}):\nthe K = {K} curves for every T coincide; 0 at d = K − 1 (grey)")
    ax.legend(fontsize=8)
    for row, d in enumerate(shown):
        r, task, grp, cls = fits[d]
        W, E = _balanced_factors(r.F, d)
        o_tok, o_seq = np.argsort(grp, kind="stable"), np.argsort(cls, kind="stable")
        cos[d] = {"W": list(_block_cosines(W, grp)), "E": list(_block_cosines(E, cls))}
        for col, (M, order, what, lab) in enumerate(((W @ W.T, o_tok, "unembeddings  W Wᵀ", "output token (sorted by group)"),
                                                     (E @ E.T, o_seq, "encodings  E Eᵀ", "sequence (sorted by class)"))):
            a = fig.add_subplot(gs[row, col + 1])
            M = M[np.ix_(order, order)]
            lim = float(np.abs(M).max()) or 1.0
            im = a.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            a.set_title(f"Gram of {what}, d = {d}\n(K = {K}, T = {task.T}, divergence {max(r.divergence, 0):.3g})", fontsize=9)
            a.set_xlabel(lab)
            a.set_ylabel(lab)
            fig.colorbar(im, ax=a, fraction=0.046)
    fig.tight_layout()
    path = _out(out_dir, "optimal_encoder_blocks.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {
        "figure": str(path),
        "N": N,
        "K": list(Ks),
        "ds": list(ds),
        "divergence": {str(k): {str(T): v for T, v in div[k].items()} for k in Ks},
        "converged": {str(k): {str(T): v for T, v in conv[k].items()} for k in Ks},
        "block_cosines": {str(d): v for d, v in cos.items()},
    }


# --- 3. paper.table1 / paper.cor2: capacity as H grows ----------------------------------


def capacity_experiment(out_dir, *, size: str = "full", seed: int = 0) -> dict:
    """Capacities of ``paper.table1`` and the accuracy bound of ``paper.cor2`` as ``H`` grows.

    Formulas from :mod:`theory.capacity`. Left: the number of associations
    an AoT with ``H`` heads memorises, ``H d_h + d`` (this paper) against
    ``H (d_h - 1) + 1`` (Mahdavi et al.), for two head dimensions. Middle: the ``paper.cor2`` accuracy bound
    ``1/N + (1 - 1/N)(H d_h + d)/T_0`` on a uniform association task with
    ``T_0`` sequences. Right: the same bound at a size where the package's
    ``T*`` (``theory.construct``) can be built, next to its measured accuracy,
    averaged over random association tasks (the ledger's own evaluation of
    ``paper.cor2[construction=T*]``, :func:`verify.registry.evaluate`).

    Writes ``capacity.png``. Returns ``{"figure", "Hs", "this_paper": {d_h: [...]},
    "mahdavi": {d_h: [...]}, "cor2_bound": [...], "measured": {"H", "accuracy",
    "std", "bound", "below_bound"}}``.
    """
    from aotmem.theory.capacity import capacity_mahdavi, capacity_this_paper, cor2_accuracy_bound
    from aotmem.verify.registry import evaluate

    cfg = _check_size(size)["capacity"]
    seed = check_int("seed", seed, minimum=0)
    Hs = np.asarray(cfg["Hs"])
    d, N, T_0 = cfg["d"], cfg["N"], cfg["T_0"]
    dhs = (cfg["d_h"], max(1, cfg["d_h"] // 4))
    ours = {dh: np.array([capacity_this_paper(int(H), dh, d) for H in Hs]) for dh in dhs}
    theirs = {dh: np.array([capacity_mahdavi(int(H), dh) for H in Hs]) for dh in dhs}
    bound = np.array([cor2_accuracy_bound(N, int(H), dhs[0], d, T_0) for H in Hs])
    if bound.max() > 1:
        raise ValueError(f"`size` {size!r}: H d_h + d exceeds T_0 = {T_0}, where the paper.cor2 bound is vacuous")

    m = cfg["measured"]
    mH, acc, std, mb, failed = [], [], [], [], {}
    for H in range(1, m["H_max"] + 1):
        vals, b = [], None
        for g in range(m["tasks"]):
            recipe = {"N": m["N"], "S": m["S"], "d": m["d"], "d_h": m["d_h"], "H": H, "qk": "full",
                      "seed": seed, "gseed": seed * 1000 + g}
            try:
                ev = evaluate("paper.cor2[construction=T*]", recipe)
            except (ValueError, np.linalg.LinAlgError) as exc:  # the construction's own refusal (conditioning)
                failed.setdefault(H, []).append(f"gseed={recipe['gseed']}: {str(exc).splitlines()[0]}")
                continue
            if ev.outside:
                continue
            vals.append(ev.lhs)
            b = ev.rhs
        if vals:
            mH.append(H)
            acc.append(float(np.mean(vals)))
            std.append(float(np.std(vals)))
            mb.append(float(b))
    acc, std, mb = np.array(acc), np.array(std), np.array(mb)

    plt = _pyplot()
    fig, (a, b_ax, c) = plt.subplots(1, 3, figsize=(15, 4.4))
    for dh, style in zip(dhs, ("-", "--")):
        a.plot(Hs, ours[dh], style, color="C0", label=f"H d_h + d (this paper), d_h = {dh}")
        a.plot(Hs, theirs[dh], style, color="C3", label=f"H (d_h − 1) + 1 (Mahdavi et al.), d_h = {dh}")
    a.set_xscale("log", base=2)
    a.set_yscale("log", base=2)
    a.set_xlabel("number of heads H")
    a.set_ylabel("associations memorised (capacity)")
    a.set_title(f"paper.table1: capacity against H (d = {d})")
    a.legend(fontsize=8)
    b_ax.plot(Hs, bound, color="C0")
    b_ax.axhline(1.0 / N, color="grey", ls=":", lw=1)
    b_ax.text(0.55 * Hs[-1], 1.0 / N + 0.02, "1/N (guessing)", color="grey")
    b_ax.set_ylim(0, 1.05)
    b_ax.set_xlabel("number of heads H")
    b_ax.set_ylabel("accuracy lower bound")
    b_ax.set_title(f"paper.cor2 bound 1/N + (1 − 1/N)(H d_h + d)/T_0\n"
                   f"(N = {N}, T_0 = {T_0}, d = d_h = {d})")
    c.errorbar(mH, acc, yerr=std, fmt="o", ms=4, capsize=2, color="C2",
               label=f"measured accuracy of the package's T* (mean ± sd, {m['tasks']} tasks)")
    c.plot(mH, mb, "-", color="C0", label="paper.cor2 bound")
    c.set_ylim(0, 1.05)
    c.set_xlabel("number of heads H")
    c.set_ylabel("accuracy on all T_0 sequences")
    nfail = sum(len(v) for v in failed.values())
    c.set_title(f"paper.cor2 measured: N = {m['N']}, T_0 = {m['N'] ** m['S']}, d = {m['d']}, d_h = {m['d_h']}"
                + (f"\n({nfail} of {m['H_max'] * m['tasks']} constructions refused: ill-conditioned)" if nfail else ""))
    c.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = _out(out_dir, "capacity.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {
        "figure": str(path),
        "Hs": Hs.tolist(),
        "d": d, "N": N, "T_0": T_0,
        "this_paper": {str(dh): ours[dh].tolist() for dh in dhs},
        "mahdavi": {str(dh): theirs[dh].tolist() for dh in dhs},
        "cor2_bound": bound.tolist(),
        "measured": {"N": m["N"], "S": m["S"], "d": m["d"], "d_h": m["d_h"], "tasks": m["tasks"],
                     "H": mH, "accuracy": acc.tolist(), "std": std.tolist(), "bound": mb.tolist(),
                     "mean_below_bound": [int(h) for h, x, y in zip(mH, acc, mb) if x < y],
                     "construction_failed": {str(h): v for h, v in failed.items()}},
    }


# --- registry and summaries ------------------------------------------------------

EXPERIMENTS = {
    "assoc": assoc_recall_experiment,
    "encoder": optimal_encoder_experiment,
    "capacity": capacity_experiment,
}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def summary_lines(name: str, res: dict) -> list[str]:
    """One-line findings of an experiment's numbers (what ``aotmem report`` prints)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"`name` must be one of {list(EXPERIMENTS)} (got {name!r})")
    if name == "assoc":
        r = np.asarray(res["ratios"])
        out = []
        for target in (1.0, 4.0, 16.0):
            k = int(np.argmin(np.abs(r - target)))
            vals = ", ".join(f"d={d}: {_fmt(res['recall'][str(d)][k])}" for d in res["ds"])
            out.append(f"seed.assoc-memory: recall at N/d = {r[k]:g}: {vals}")
        caps = ", ".join(f"d={d}: {n}" for d, n in res["capacity90"].items())
        out.append(f"seed.assoc-memory: largest N recalled at >= 90%: {caps}")
        caps = ", ".join(f"d={d}: {n}" for d, n in res["capacity50"].items())
        slope = res["capacity50_loglog_slope"]
        slope = "n/a, one d" if slope is None else f"{slope:.2f}"
        out.append(f"seed.assoc-memory: largest N recalled at >= 50%: {caps} "
                   f"(log-log slope {slope}; 'only d of them' would be 1)")
        most = ", ".join(f"d={d}: {v:.1f}" for d, v in res["max_recalled"].items())
        out.append(f"seed.assoc-memory: most associations recalled (max over the measured N of recall x N): {most}")
        return out
    if name == "encoder":
        out = []
        for K, byT in res["divergence"].items():
            arr = np.array(list(byT.values()))  # (len(T), len(ds))
            Ts = ", ".join(byT)
            vals = ", ".join(f"d={d}: {_fmt(v)}" for d, v in zip(res["ds"], arr.max(axis=0)))
            spread = float(np.max(arr.max(axis=0) - arr.min(axis=0)))
            out.append(f"seed.no-quantity-limit: K={K} classes, T in {{{Ts}}}: best rank-d divergence "
                       f"{vals} (largest difference across T: {spread:.2g})")
        for d, c in res["block_cosines"].items():
            out.append(f"seed.no-quantity-limit: d={d}: cosine of unembeddings within/across groups "
                       f"{c['W'][0]:.3f}/{c['W'][1]:.3f}, of encodings within/across classes {c['E'][0]:.3f}/{c['E'][1]:.3f}")
        return out
    if name == "capacity":
        Hs = res["Hs"]
        k = [i for i, H in enumerate(Hs) if H in (1, 16, Hs[-1])]
        out = []
        for dh in res["this_paper"]:
            vals = ", ".join(f"H={Hs[i]}: {res['this_paper'][dh][i]} vs {res['mahdavi'][dh][i]}" for i in k)
            out.append(f"paper.table1: d={res['d']}, d_h={dh}: capacity H d_h + d vs H(d_h-1)+1: {vals}")
        vals = ", ".join(f"H={Hs[i]}: {res['cor2_bound'][i]:.3f}" for i in k)
        out.append(f"paper.cor2: bound (N={res['N']}, T_0={res['T_0']}): {vals}")
        m = res["measured"]
        nfail = sum(len(v) for v in m["construction_failed"].values())
        out.append(f"paper.cor2: package's T* at N={m['N']}, T_0={m['N'] ** m['S']}, d={m['d']}, d_h={m['d_h']}: "
                   f"mean accuracy below the bound at H in {m['mean_below_bound']} of H=1..{max(m['H'], default=0)} "
                   f"({m['tasks']} tasks each; {nfail} constructions refused)")
        return out
    return []  # pragma: no cover


def run_all(out_dir, *, size: str = "full", seed: int = 0) -> dict:
    """Run every experiment of ``EXPERIMENTS`` into ``out_dir``; ``{name: numbers}``."""
    _check_size(size)
    return {name: fn(out_dir, size=size, seed=seed) for name, fn in EXPERIMENTS.items()}
