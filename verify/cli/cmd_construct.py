"""``aotmem construct (--task FILE | --kind KIND --N .. --S ..) --d .. --dh .. --eps ..``: build T* and print its diagnostics.

Target encoder ``W E*`` (``--target``):

- ``optimal`` (default): ``theory.optimal.optimal_encoder``, recomputed on
  every call. An unconverged result (``OptimalResult.converged`` False, e.g.
  when the task fails Assumption 2) is refused in one line unless
  ``--accept-unconverged`` is given; then stderr and the JSON say so.
- ``svd``: the rank-``d`` truncated SVD of the centred ``log Pi`` (Assumption 2),
  padded with zero columns when ``d > min(T, N)``.
- a file: an ``.npz`` with ``W`` ``(N, d)`` and ``E`` ``(T, d)`` (logits
  ``F = E W^T``), optionally ``converged`` (a 0-d bool, refused when False as
  above) and ``reason``; ``--save-target FILE`` writes the target a run used in
  this format (``theory.construct.save_target``), so the optimal encoder is
  computed once. From Python: ``np.savez(path, W=res.W, E=res.E,
  converged=res.converged)`` for an ``OptimalResult`` or a ``LowRank``'s ``W``, ``E``.

The construction checks its own logits on the kept sequences
(``--rtol``, default ``1e-6`` relative, with room for the model's own float64
rounding so that any float64 evaluation meets it) and refuses, in one line naming the
measured error and the conditioning, a model that misses it;
``--allow-inaccurate`` keeps such a model, says so on stderr and in the JSON
(``"accurate": false``) and exits with status 3. When the task fails
Assumption 2 (zeros in ``cond``), or the construction uses more heads than the
paper's count, a warning or note goes to stderr (after a successful build).
Bad arguments (``eps`` outside ``[0, 1)``, too few heads for the variant,
an unreadable target) print one line and exit 2 (``verify.cli``).
"""

from __future__ import annotations

import math
import sys

import time

import numpy as np

from aotmem.theory.construct import (QK_KINDS, RTOL, VARIANTS, InaccurateConstruction, construct, load_target,
                                     save_target, svd_target)
from aotmem.theory.divergence import kl
from aotmem.theory.generators import KINDS, random_task
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.task import load_task
from aotmem.theory.vocab import add_to_npz, has_vocabulary, load_vocabulary
from .cmd_bounds import zero_encoder_divergence
from aotmem.verify.outputs.jsonout import dumps
from .outfile import out_path
from .progress import solver, stage

TARGETS = ("optimal", "svd")
# Exit status of a run that kept an inaccurate model (--allow-inaccurate): distinct from 0 (success),
# 1 (the ledger's violations) and 2 (a refused input).
EXIT_INACCURATE = 3


def add_parser(sub) -> None:
    p = sub.add_parser("construct", help="build the AoT T* of paper.theorem1 explicitly and print its diagnostics")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--task", help="task file (.npz with prior, cond, seqs)")
    src.add_argument("--kind", choices=sorted(KINDS), help="draw a random task of this kind (with --N, --S)")
    p.add_argument("--N", type=int, help="vocabulary size (with --kind)")
    p.add_argument("--S", type=int, help="sequence length (with --kind)")
    p.add_argument("--d", type=int, required=True, help="embedding dimension")
    p.add_argument("--dh", type=int, required=True, help="head dimension d_h (d_h > d allowed: a head adds <= d)")
    p.add_argument("--eps", type=float, required=True, help="prior mass left out, in [0, 1)")
    p.add_argument("--variant", choices=VARIANTS, default="paper")
    p.add_argument("--qk", choices=QK_KINDS, default="full", help="W_QK rank 1 (Remark 2) or full")
    p.add_argument("--heads", type=int, help="override the head count (not fewer than the variant needs)")
    p.add_argument("--target", default="optimal",
                   help="target rank-d encoder W E*: 'optimal', 'svd', or a .npz file with W (N,d) and E (T,d)")
    p.add_argument("--save-target", help="write the target used (.npz: W, E[, converged, reason]) for --target FILE")
    p.add_argument("--accept-unconverged", action="store_true",
                   help="build on an unconverged optimal target (said on stderr and in the JSON)")
    p.add_argument("--rtol", type=float, default=RTOL,
                   help=f"tolerance on the largest relative logit error on the kept sequences (default {RTOL:g})")
    p.add_argument("--allow-inaccurate", action="store_true",
                   help=f"keep a model that misses --rtol (said on stderr and in the JSON; exit status "
                        f"{EXIT_INACCURATE})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    p.add_argument("--save", help="write the model (.npz: embed, pos, W_QK, W_V, W_O, W_U, seqs, target; and the "
                   "vocabulary of a text task, for `aotmem score` and `export`); .npz is added when missing")
    p.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    p.set_defaults(func=run)


def _task(args):
    if args.task is not None:
        if args.N is not None or args.S is not None:
            raise ValueError("`--N`/`--S` apply only with --kind, not with --task")
        return load_task(args.task)
    if args.N is None or args.S is None:
        raise ValueError("`--kind` needs both --N and --S")
    kw = {}
    if args.kind in ("almost-rank", "permutation"):
        kw["d"] = args.d
        if args.kind == "almost-rank":
            kw["sigma"] = 0.1
    if args.kind == "lookup":
        kw["entropy"] = 0.5 * math.log(args.N)
    return random_task(args.kind, args.N, args.S, seed=args.seed, **kw)


def _target(task, d: int, which: str):
    """``(target, converged, reason)``: ``converged`` is None when the source does not say (svd, a file without it)."""
    if which == "svd":
        return svd_target(task, d), None, ""
    if which == "optimal":
        with solver(f"optimal rank-{d} target (T={task.T}, N={task.N})") as progress:
            res = optimal_encoder(task.prior, task.cond, d, seed=0, progress=progress)
        return res, bool(res.converged), res.reason
    t = load_target(which)
    return t, t.converged, t.reason


def unigram_divergence(task) -> float:
    """``dKL(pi, F = log q)``, ``q(o) = sum_t p(t) pi(o|t)``: predicting from the symbol frequencies alone.

    A rank-1 map (every context gets the logits ``log q``), so every ``d >= 1`` reaches it; it is the mutual
    information between context and next symbol, at most the zero encoder's ``E_t[log N - h(pi_t)]``.
    """
    q = task.prior @ task.cond
    with np.errstate(divide="ignore"):
        F = np.broadcast_to(np.log(q), task.cond.shape)
    return kl(task.prior, task.cond, np.array(F))


def trivial_comparison(kl_model: float, task) -> dict:
    """``trivial_bound`` (the zero encoder), ``kl_unigram`` and whether ``kl_model`` is worse than each."""
    trivial, uni = zero_encoder_divergence(task), unigram_divergence(task)
    return {"trivial_bound": trivial, "kl_unigram": uni, "worse_than_trivial": bool(kl_model > trivial),
            "worse_than_unigram": bool(kl_model > uni)}


def trivial_line(r: dict) -> str:
    """One sentence comparing ``kl_model`` with the trivial predictors, plain when the model is worse."""
    m, t, u = r["kl_model"], r["trivial_bound"], r["kl_unigram"]
    if r["worse_than_trivial"]:
        return (f"WORSE THAN TRIVIAL: the model's divergence {m:.4g} nats exceeds the zero encoder's (uniform "
                f"prediction) {t:.4g} and predicting from the symbol frequencies alone ({u:.4g}): this T* predicts "
                "worse than ignoring the context (lower eps to keep more contexts, or raise d)")
    if r["worse_than_unigram"]:
        return (f"worse than the symbol frequencies: the model's divergence {m:.4g} nats is below the zero encoder's "
                f"{t:.4g} but above predicting from the symbol frequencies alone ({u:.4g})")
    return (f"better than trivial: the model's divergence {m:.4g} nats is below the symbol frequencies' {u:.4g} and "
            f"the zero encoder's {t:.4g}")


def run(args) -> int:
    t_start = time.perf_counter()  # `seconds` counts the whole command (the target included)
    save = out_path(args.save, "--save") if args.save else None
    save_target_to = out_path(args.save_target, "--save-target") if args.save_target else None
    if args.d < 1:
        raise ValueError(f"`--d` must be >= 1 (got {args.d})")
    if args.dh < 1:
        raise ValueError(f"`--dh` must be >= 1 (got {args.dh})")
    if not (0.0 <= args.eps < 1.0):
        raise ValueError(f"`--eps` must lie in [0, 1) (got {args.eps})")
    if not (args.rtol > 0.0):  # also refuses NaN
        raise ValueError(f"`--rtol` must be > 0 (got {args.rtol})")
    task = _task(args)
    vocab = load_vocabulary(args.task) if args.task is not None and has_vocabulary(args.task) else None
    target, converged, reason = _target(task, args.d, args.target)
    warnings = []
    if converged is False:
        if not args.accept_unconverged:
            raise ValueError(f"the target `{args.target}` did not converge (reason: {reason or 'not converged'}); "
                             "pass --accept-unconverged to build on it anyway")
        warnings.append(f"warning: building on an unconverged target `{args.target}` (reason: "
                        f"{reason or 'not converged'}; --accept-unconverged)")
    try:
        with stage(f"construct (T={task.T}, eps={args.eps:g})"):
            c = construct(task, target, args.d, args.dh, args.eps, variant=args.variant, qk=args.qk,
                          heads=args.heads, seed=args.seed, backend=args.backend, rtol=args.rtol,
                          allow_inaccurate=args.allow_inaccurate)
    except InaccurateConstruction as exc:  # the library's advice, in the CLI's words
        raise ValueError(str(exc).replace("add heads", "add heads (--heads)").replace("raise `rtol`", "raise --rtol")
                         .replace("pass allow_inaccurate=True", "pass --allow-inaccurate")) from None
    r = c.report.as_dict()
    r["construct_seconds"] = r["seconds"]
    r.update(trivial_comparison(c.report.kl_model, task))
    r["target"] = args.target
    r["target_converged"] = converged
    r["accepted_unconverged"] = bool(converged is False)
    if save_target_to is not None:
        save_target(save_target_to, target)
        r["saved_target"] = str(save_target_to)
    if save is not None:
        c.save(save)
        if vocab is not None:  # the model carries the vocabulary of its text task (aotmem score, export)
            add_to_npz(save, {**vocab.arrays(), "model_json": np.array(dumps(
                {"task": str(args.task), "d": args.d, "d_h": args.dh, "eps": args.eps, "target": args.target}))})
        r["saved"] = str(save)
        r["vocabulary"] = None if vocab is None else vocab.summary()
    if r["worse_than_trivial"] or r["worse_than_unigram"]:
        warnings.append("warning: " + trivial_line(r))
    if not c.report.assumption2:
        warnings.append(f"warning: {c.report.assumption2_note}: the construction is defined for this finite "
                        "target, but paper.theorem1's divergence bounds assume full support (Assumption 2)")
    if c.report.heads_note:
        warnings.append(f"note: {c.report.heads_note}")
    if not c.report.accurate:
        warnings.append(f"warning: inaccurate model kept (--allow-inaccurate): max relative logit error "
                        f"{c.report.max_rel_logit_error:.3g} (float64 rounding scale {c.report.rounding:.2g}) misses "
                        f"rtol {c.report.rtol:.3g} (kappa_1(M_1) = "
                        f"{c.report.cond_kept:.3g}, kappa_2(W_OV) = {c.report.cond_W_OV:.3g}); exit status "
                        f"{EXIT_INACCURATE}")
    for w in warnings:
        sys.stderr.write(f"aotmem: {w}\n")
    r["seconds"] = time.perf_counter() - t_start
    if args.json:
        print(dumps(r, indent=1))
    else:
        for k, v in r.items():
            if k == "vocabulary":
                v = "none (not a text task)" if v is None else (
                    f"{v['N']} symbols, {v['level']} level, S={v['S']} (written into {r['saved']})")
            print(f"{k:>20}: {v:.6g}" if isinstance(v, float) else f"{k:>20}: {v}")
        print(trivial_line(r))
    return 0 if c.report.accurate else EXIT_INACCURATE
