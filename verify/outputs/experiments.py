"""The seed's experiments, reproduced, and the sweeps behind the ledger's figures: the numbers only.

Every figure is drawn by :mod:`aotmem.verify.outputs.figures`; this module computes
what they show. Each experiment is three steps: a sweep (the computation,
returning a named result: a dataclass), the figure
(:mod:`~aotmem.verify.outputs.figures`) and the JSON numbers. Three experiments
(issue 6), each a function ``<name>(out_dir, *, size, seed)`` that runs the
three and returns a JSON-able ``dict`` whose ``"figure"`` entry is the PNG
written and ``"caption"`` its caption:

- :func:`assoc_recall_experiment` (``seed.assoc-memory``): recall of the
  outer-product associative memory against ``N/d``, random embeddings,
  and the largest ``N`` recalled at 90% / 50% against ``d``
  (:func:`assoc_sweep`, :func:`assoc_numbers`).
- :func:`optimal_encoder_experiment` (``seed.no-quantity-limit``): the
  optimal rank-``d`` encoder fitted to a structured distribution (sequences
  in classes, outputs in groups); the Gram matrices of its unembeddings and
  encodings show the block structure, and its divergence against ``d`` does
  not depend on the number of sequences ``T`` ("no limit in quantity, but
  in quality") (:func:`encoder_sweep`, :func:`encoder_numbers`).
- :func:`capacity_experiment` (``paper.table1``, ``paper.cor2``): the
  capacities ``H d_h + d`` (this paper) and ``H(d_h - 1) + 1`` (Mahdavi et
  al.) and the accuracy bound of ``paper.cor2`` as ``H`` grows, with the
  measured accuracy of the package's ``T*`` (:func:`capacity_sweep`,
  :func:`cor2_measurements`, :func:`capacity_numbers`).

``SIZES`` holds the sizes: ``"tiny"`` (the tests, a few seconds) and
``"full"`` (``aotmem report``). :func:`run_all` runs the three.

The sweeps behind the figures of ``aotmem verify --report``
(:data:`aotmem.verify.outputs.report.FIGURES`) that need only the theory are here
too: :func:`sigma_sweep`, :func:`entropy_sweep`, :func:`recall_curves`
(the other two, ``theorem1_sweep`` and ``capacity_sweep``, live with their
claims in :mod:`aotmem.verify.claims`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aotmem.theory.assoc import assoc_memory_recall, recall_capacity, recall_curve
from aotmem.theory.bounds import draft_ls_bound, draft_wls_bound, seed_ls_bound, seed_wls_bound
from aotmem.theory.capacity import capacity_mahdavi, capacity_this_paper, cor2_accuracy_bound
from aotmem.theory.divergence import log_softmax
from aotmem.theory.generators import almost_rank_task, lookup_task
from aotmem.theory.lookup import (
    draft_lookup_bound,
    jl_matrix,
    lookup_encoder,
    paper_theorem2_simplified,
    seed_lookup_bound,
    tight_lookup_bound,
)
from aotmem.theory.lowrank import f_ls, f_wls
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.task import Task, all_sequences
from aotmem.theory.validate import check_int, check_positive
from . import figures
from aotmem.verify.ledger.registry import evaluate

__all__ = [
    "SIZES",
    "EXPERIMENTS",
    "assoc_sweep",
    "assoc_numbers",
    "assoc_recall_experiment",
    "EncoderSweep",
    "encoder_sweep",
    "encoder_numbers",
    "optimal_encoder_experiment",
    "cor2_measurements",
    "capacity_sweep",
    "capacity_numbers",
    "capacity_experiment",
    "structured_task",
    "summary_lines",
    "run_all",
    "sigma_sweep",
    "entropy_sweep",
    "recall_curves",
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


# --- 1. seed.assoc-memory ------------------------------------------------------

_MIN_SAMPLES = 512  # recalls averaged per point of the curve (more draws at small N)


def assoc_sweep(*, size: str = "full", seed: int = 0) -> figures.AssocRecall:
    """The numbers of :func:`assoc_recall_experiment`: recall per ``d`` and ratio, and the measured capacities.

    For each ``d`` and ratio ``r``: store ``N = round(r d)`` random
    associations in ``W = sum_i w_U(g(i)) w_E(i)^T`` with random Gaussian
    embeddings and measure the fraction recalled by
    ``argmax_j w_U(j)^T W w_E(i)`` (:func:`theory.assoc.assoc_memory_recall`),
    over at least ``_MIN_SAMPLES`` recalls per point. Then, for each ``d``
    of ``cap_ds``, the largest ``N`` recalled at 90% and at 50%
    (:func:`theory.assoc.recall_capacity`), and, per ``d`` of the curves,
    the expected number of associations recalled, ``recall x N``, at its
    largest over the measured ``N`` (another reading of "only d of them").
    """
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
    cd = np.array(cfg["cap_ds"], dtype=float)
    slope = None  # a slope needs two distinct d (one point fits any line)
    if np.unique(cd).size >= 2:
        slope = float(np.polyfit(np.log(cd), np.log([cap50[d] for d in cfg["cap_ds"]]), 1)[0])
    return figures.AssocRecall(ratios=ratios, recall=recall, trials=cfg["trials"],
                               capacity=figures.AssocCapacity(cap90=cap90, cap50=cap50, max_recalled=recalled,
                                                              slope=slope))


def assoc_numbers(data: figures.AssocRecall) -> dict:
    """The JSON numbers of :func:`assoc_sweep`'s result (keys: see :func:`assoc_recall_experiment`)."""
    cap = data.capacity
    return {
        "ds": data.ds,
        "ratios": np.asarray(data.ratios).tolist(),
        "recall": {str(d): np.asarray(r).tolist() for d, r in data.recall.items()},
        "capacity90": {str(d): n for d, n in cap.cap90.items()},
        "capacity50": {str(d): n for d, n in cap.cap50.items()},
        "capacity50_loglog_slope": cap.slope,
        "max_recalled": {str(d): v for d, v in cap.max_recalled.items()},
    }


def assoc_recall_experiment(out_dir, *, size: str = "full", seed: int = 0) -> dict:
    """Recall of Bietti et al.'s outer-product memory against ``N/d`` (``seed.assoc-memory``).

    :func:`assoc_sweep`, drawn by :func:`aotmem.verify.outputs.figures.assoc_recall`
    into ``assoc_recall.png``, to compare with the slides' "only d of
    them". Returns ``{"figure", "caption", "ds", "ratios", "recall": {d:
    [recall per ratio]}, "capacity90": {d: N}, "capacity50": {d: N},
    "capacity50_loglog_slope", "max_recalled": {d: count}}``.
    """
    data = assoc_sweep(size=size, seed=seed)
    path = _out(out_dir, "assoc_recall.png")
    caption = figures.assoc_recall(path, data)
    return {"figure": str(path), "caption": caption, **assoc_numbers(data)}


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
    r = optimal_encoder(task.prior, task.cond, d, starts=0, seed=seed, max_iter=max_iter)
    if r.divergence <= 1e-12 or starts == 0:
        return r
    r2 = optimal_encoder(task.prior, task.cond, d, starts=starts, seed=seed, max_iter=max_iter)
    return r2 if r2.divergence < r.divergence else r


@dataclass(frozen=True)
class EncoderSweep:
    """What :func:`encoder_sweep` computes: the figure's data, and per ``K`` and ``T`` whether each fit
    converged, and per ``d`` shown the mean cosines within/across blocks (``{"W": [within, across],
    "E": [within, across]}``)."""

    blocks: figures.EncoderBlocks
    converged: dict[int, dict[int, list[bool]]]
    block_cosines: dict[int, dict[str, list[float]]]


def encoder_sweep(*, size: str = "full", seed: int = 0) -> EncoderSweep:
    """The numbers of :func:`optimal_encoder_experiment`: the best rank-``d`` encoder of structured tasks.

    For the task of :func:`structured_task` (``K`` classes of sequences,
    ``K`` groups of outputs, ``T = N^S`` sequences) fit the best rank-``d``
    encoder (:func:`_best_rank_d`) for each ``S`` and ``d``, and for ``K``
    and ``K2`` classes (``SIZES``; both divide ``N``). At ``d = K - 1`` and
    ``K - 2`` (``S = show_S``) the Gram matrices ``W W^T`` (unembeddings,
    ``N x N``; ``W_U^T W_U`` with tokens as columns) and ``E E^T``
    (encodings, ``T x T``), tokens sorted by group and sequences by class,
    computed in the balanced gauge (:func:`_balanced_factors`) so that they
    do not depend on the optimiser's ``GL(d)`` gauge.
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
    grams, cos = [], {}
    for d in (K - 1, K - 2):
        if d not in fits:
            continue
        r, task, grp, cls = fits[d]
        W, E = _balanced_factors(r.F, d)
        o_tok, o_seq = np.argsort(grp, kind="stable"), np.argsort(cls, kind="stable")
        cos[d] = {"W": list(_block_cosines(W, grp)), "E": list(_block_cosines(E, cls))}
        grams.append(figures.GramPair(d=d, K=K, T=task.T, divergence=r.divergence,
                                      W=(W @ W.T)[np.ix_(o_tok, o_tok)], E=(E @ E.T)[np.ix_(o_seq, o_seq)]))
    blocks = figures.EncoderBlocks(N=N, ds=list(ds), divergence=div, grams=grams)
    return EncoderSweep(blocks=blocks, converged=conv, block_cosines=cos)


def encoder_numbers(s: EncoderSweep) -> dict:
    """The JSON numbers of :func:`encoder_sweep`'s result (keys: see :func:`optimal_encoder_experiment`)."""
    b = s.blocks
    return {
        "N": b.N,
        "K": list(b.divergence),
        "ds": list(b.ds),
        "divergence": {str(k): {str(T): v for T, v in byT.items()} for k, byT in b.divergence.items()},
        "converged": {str(k): {str(T): v for T, v in byT.items()} for k, byT in s.converged.items()},
        "block_cosines": {str(d): v for d, v in s.block_cosines.items()},
    }


def optimal_encoder_experiment(out_dir, *, size: str = "full", seed: int = 0) -> dict:
    """The optimal rank-``d`` encoder of a structured task (``seed.no-quantity-limit``).

    :func:`encoder_sweep`, drawn by
    :func:`aotmem.verify.outputs.figures.optimal_encoder_blocks` into
    ``optimal_encoder_blocks.png``. The seed's reading: "no memorization
    limit in quantity, but in quality": the divergence against ``d`` is the
    same for every ``T`` (quantity) and reaches 0 at ``d = K - 1``, the rank
    of the centred ``L`` (quality); the Gram matrices show the block
    structure. Returns ``{"figure", "caption", "N", "K", "ds", "divergence":
    {K: {T: [per d]}}, "converged": ..., "block_cosines": {d: {"W": [within,
    across], "E": [within, across]}}}``.
    """
    s = encoder_sweep(size=size, seed=seed)
    path = _out(out_dir, "optimal_encoder_blocks.png")
    caption = figures.optimal_encoder_blocks(path, s.blocks)
    return {"figure": str(path), "caption": caption, **encoder_numbers(s)}


# --- 3. paper.table1 / paper.cor2: capacity as H grows ----------------------------------


def cor2_measurements(cfg: dict, *, seed: int = 0) -> figures.Cor2Measured:
    """The measured accuracy of the package's ``T*`` against ``paper.cor2``'s bound, per ``H`` from 1 to ``H_max``.

    ``cfg``: ``{"N", "S", "d", "d_h", "H_max", "tasks"}`` (``SIZES[size]
    ["capacity"]["measured"]``). For each ``H``, ``tasks`` random association
    tasks (``gseed = 1000 seed + g``) are evaluated by the ledger's own
    ``paper.cor2[construction=T*]`` (:func:`verify.registry.evaluate`); a
    construction refused (ill-conditioned) is recorded in ``failed``, an
    instance outside the claim's regime skipped.
    """
    seed = check_int("seed", seed, minimum=0)
    mH, acc, std, mb, failed = [], [], [], [], {}
    for H in range(1, cfg["H_max"] + 1):
        vals, b = [], None
        for g in range(cfg["tasks"]):
            recipe = {"N": cfg["N"], "S": cfg["S"], "d": cfg["d"], "d_h": cfg["d_h"], "H": H, "qk": "full",
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
    return figures.Cor2Measured(N=cfg["N"], S=cfg["S"], d=cfg["d"], d_h=cfg["d_h"], tasks=cfg["tasks"],
                                H_max=cfg["H_max"], H=mH, accuracy=np.array(acc), std=np.array(std),
                                bound=np.array(mb), failed=failed)


def capacity_sweep(*, size: str = "full", seed: int = 0) -> figures.CapacityVsH:
    """The numbers of :func:`capacity_experiment`: the Table 1 capacities, ``paper.cor2``'s bound and its measurement.

    Formulas from :mod:`theory.capacity`: ``H d_h + d`` (this paper) and
    ``H (d_h - 1) + 1`` (Mahdavi et al.) for two head dimensions ``d_h``
    and ``d_h / 4``, and the ``paper.cor2`` accuracy bound
    ``1/N + (1 - 1/N)(H d_h + d)/T_0`` on a uniform association task with
    ``T_0`` sequences; then :func:`cor2_measurements` at a size where the
    package's ``T*`` (``theory.construct``) can be built.
    """
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
    return figures.CapacityVsH(Hs=Hs, d=d, this_paper=ours, mahdavi=theirs,
                               cor2=figures.Cor2Bound(N=N, T_0=T_0, d_h=dhs[0], bound=bound),
                               measured=cor2_measurements(cfg["measured"], seed=seed))


def capacity_numbers(data: figures.CapacityVsH) -> dict:
    """The JSON numbers of :func:`capacity_sweep`'s result (keys: see :func:`capacity_experiment`)."""
    m = data.measured
    return {
        "Hs": np.asarray(data.Hs).tolist(),
        "d": data.d, "N": data.cor2.N, "T_0": data.cor2.T_0,
        "this_paper": {str(dh): np.asarray(v).tolist() for dh, v in data.this_paper.items()},
        "mahdavi": {str(dh): np.asarray(v).tolist() for dh, v in data.mahdavi.items()},
        "cor2_bound": np.asarray(data.cor2.bound).tolist(),
        "measured": {"N": m.N, "S": m.S, "d": m.d, "d_h": m.d_h, "tasks": m.tasks,
                     "H": list(m.H), "accuracy": m.accuracy.tolist(), "std": m.std.tolist(), "bound": m.bound.tolist(),
                     "mean_below_bound": m.mean_below_bound,
                     "construction_failed": {str(h): v for h, v in m.failed.items()}},
    }


def capacity_experiment(out_dir, *, size: str = "full", seed: int = 0) -> dict:
    """Capacities of ``paper.table1`` and the accuracy bound of ``paper.cor2`` as ``H`` grows.

    :func:`capacity_sweep`, drawn by :func:`aotmem.verify.outputs.figures.capacity`
    into ``capacity.png`` (left: the capacities for two head dimensions;
    middle: the ``paper.cor2`` bound; right: the same bound at a size where
    ``T*`` can be built, next to its measured accuracy averaged over random
    association tasks). Returns ``{"figure", "caption", "Hs",
    "this_paper": {d_h: [...]}, "mahdavi": {d_h: [...]}, "cor2_bound": [...],
    "measured": {"H", "accuracy", "std", "bound", "mean_below_bound",
    "construction_failed", ...}}`` (:func:`capacity_numbers`).
    """
    data = capacity_sweep(size=size, seed=seed)
    path = _out(out_dir, "capacity.png")
    caption = figures.capacity(path, data)
    return {"figure": str(path), "caption": caption, **capacity_numbers(data)}


# --- the sweeps behind the ledger's figures (aotmem verify --report) -----------------------


def sigma_sweep(*, N: int = 6, S: int = 2, d: int = 2, sigmas=tuple(np.linspace(0.02, 2.5, 25)),
                seed: int = 0) -> figures.BoundsVsSigma:
    """The seed/draft ls and wls bounds and the divergences of ``f_ls``/``f_wls`` on almost-rank tasks, per ``sigma``.

    Uniform prior, readings ``sigma = uniform`` and ``inf = global`` (the
    bounds' defaults); one task per ``sigma_{d+1}`` (``almost_rank_task``).
    """
    sig = np.asarray(sigmas, dtype=float)
    div = {"dKL f_ls": [], "dKL f_wls": []}
    bounds = {"seed.ls-bound": [], "seed.wls-bound": [], "draft.theorem-ls": [], "draft.theorem-wls": []}
    for s in sig:
        t = almost_rank_task(N, S, d=d, sigma=float(s), seed=seed)
        p, P = t.prior, t.cond
        div["dKL f_ls"].append(f_ls(p, P, d).divergence(p, P))
        div["dKL f_wls"].append(f_wls(p, P, d).divergence(p, P))
        bounds["seed.ls-bound"].append(seed_ls_bound(p, P, d))
        bounds["seed.wls-bound"].append(seed_wls_bound(p, P, d))
        bounds["draft.theorem-ls"].append(draft_ls_bound(p, P, d))
        bounds["draft.theorem-wls"].append(draft_wls_bound(p, P, d))
    return figures.BoundsVsSigma(N=N, S=S, d=d, sigma=sig, divergence={k: np.array(v) for k, v in div.items()},
                                 bounds={k: np.array(v) for k, v in bounds.items()})


def entropy_sweep(*, N: int = 5, S: int = 1, d: int = 800, fractions=tuple(np.linspace(0.03, 0.97, 20)),
                  seed: int = 0) -> figures.LookupVsEntropy:
    """The look-up bounds and the D.6 encoder's divergence on look-up tasks of entropy ``f log N``, per ``f``.

    One JL matrix ``W`` (``jl_matrix(N, d)``) for every task; the
    entropy drawn is the prior-weighted mean ``h`` of the encoder's rows.
    """
    W, cert = jl_matrix(N, d, seed=seed)
    div = {"dKL f (D.6)": []}
    bounds = {"seed.lookup-bound": [], "draft.lookup-theorem": [], "draft.lookup-theorem+factor(1+2C)": [],
              "paper.theorem2 simplified": []}
    hs = []
    for f in np.asarray(fractions, dtype=float):
        t = lookup_task(N, S, entropy=float(f * np.log(N)), seed=seed)
        p, P = t.prior, t.cond
        enc = lookup_encoder(t, W)
        hs.append(float(p @ enc.h))
        div["dKL f (D.6)"].append(float(p @ enc.kl_rows()))
        bounds["seed.lookup-bound"].append(seed_lookup_bound(p, P, d))
        bounds["draft.lookup-theorem"].append(draft_lookup_bound(p, P, d))
        bounds["draft.lookup-theorem+factor(1+2C)"].append(tight_lookup_bound(p, P, d))
        bounds["paper.theorem2 simplified"].append(paper_theorem2_simplified(p, P, d))
    return figures.LookupVsEntropy(N=N, S=S, d=d, C=float(cert.C), max_dev=float(cert.max_dev), entropy=np.array(hs),
                                   divergence={k: np.array(v) for k, v in div.items()},
                                   bounds={k: np.array(v) for k, v in bounds.items()})


def recall_curves(*, ds=(16, 32, 64), ratios=(0.25, 0.5, 1, 2, 4, 8, 16), seed: int = 0,
                  trials: int = 2) -> figures.AssocRecall:
    """Recall of the outer-product memory against ``N/d`` per ``d`` (:func:`theory.assoc.recall_curve`), no capacities.

    The ledger's figure of ``seed.assoc-memory``; :func:`assoc_sweep` is
    the seed experiment's larger sweep, with capacities.
    """
    r = np.asarray(ratios, dtype=float)
    return figures.AssocRecall(ratios=r, recall={d: recall_curve(d, r, seed=seed, trials=trials) for d in ds},
                               trials=trials)


# --- registry and summaries ------------------------------------------------------

EXPERIMENTS = {
    "assoc": assoc_recall_experiment,
    "encoder": optimal_encoder_experiment,
    "capacity": capacity_experiment,
}


def summary_lines(name: str, res: dict) -> list[str]:
    """One-line findings of an experiment's numbers (what ``aotmem report`` prints)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"`name` must be one of {list(EXPERIMENTS)} (got {name!r})")
    if name == "assoc":
        r = np.asarray(res["ratios"])
        out = []
        for target in (1.0, 4.0, 16.0):
            k = int(np.argmin(np.abs(r - target)))
            vals = ", ".join(f"d={d}: {figures.fmt(res['recall'][str(d)][k])}" for d in res["ds"])
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
            vals = ", ".join(f"d={d}: {figures.fmt(v)}" for d, v in zip(res["ds"], arr.max(axis=0)))
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
