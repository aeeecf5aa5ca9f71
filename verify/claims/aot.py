"""Claims about the attention-only Transformer and the construction of ``T*``: ``draft.prop1``, ``paper.prop1``,
``paper.lemma2``, ``draft.lemma-rank``, ``paper.theorem1``, ``seed.theorem-aot``, ``paper.theorem3``,
``draft.cor-autoregressive``."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import replace

import mpmath
import numpy as np
from hypothesis import strategies as st

from aotmem.theory.aot import AoT, AoTShape
from aotmem.theory.certify import MAX_T, attention_rank_cap, certify_rank, head_rank
from aotmem.theory.construct import (
    ConstructionError,
    InaccurateConstruction,
    construct,
    draw_primed,
    paper_param_count,
)
from aotmem.theory.divergence import kl
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.targets import rank_d_target
from aotmem.verify.ledger.params import Param
from aotmem.verify.ledger.rank_space import PICKS, RankSpace, rank_sequences
from aotmem.verify.ledger.construction_space import (
    CONSTRUCT_RTOL,
    ConstructionSpace,
    best_witness,
    logits_mp,
    proof_evaluate,
    recheck_proof,
    seed_aot_sides,
    theorem1_sides,
    warm_targets,
)
from aotmem.theory.precise import DPS
from aotmem.verify.ledger.recheck import decided, exact_integers
from aotmem.verify.ledger.recipes import describe, full_support_recipes, limits, rng_of, task_from
from aotmem.verify.ledger.registry import FULL_DRAWS_FAST, KL_ATOL, KL_RTOL, Claim, Evaluation, register
from aotmem.verify.ledger.search import RecipeSpace

# ------------------------------------------------------- draft/paper.prop1 --
# Numerical rank of a logit matrix: singular values below this times
# sigma_1 are rounding (the AoT forward pass is a few dozen float64 flops per
# entry, ~1e-14 relative error).
AOT_RANK_RTOL = 1e-10
# The optimiser of dKL(pi, L(N,S,d)) runs from the f_ls / f_wls starts for a
# bounded number of iterations (more only lowers its value, i.e. makes a
# violation of d_KL(T) >= optimum more likely to show, never less).
PROP1_MAX_ITER = 300


# The statement is about every AoT: any width d (searched 1 .. N - 1: from d = N on sigma_{d+1} does not exist), any
# head dimension d_h (d_h > d allowed), any number of heads (searched 0..16) and any weight scale (searched over
# four decades, small weights: near-uniform attention; large: near-hard attention), stated once here.
AOT_D = Param("d_model", 1, lambda N, T: max(1, N - 1), "lin-int", note="width d, 1 <= d <= N - 1")
AOT_HEADS = Param("H", 0, 16, "lin-int", note="heads")
AOT_DH = Param("d_h", 1, lambda N, T: max(1, N), "lin-int", note="head dimension, 1 <= d_h <= N")
AOT_WSCALE = Param("wscale", 1e-2, 1e2, "log", note="scale of the Gaussian weights")
# prop1[rank]'s search space: the AoT's parameters over their whole ranges (the families redraw them, limits
# included; the optimiser moves them; the shrinker lowers them), a fresh weight draw `fseed` per family instance.
AOT_SPACE = RecipeSpace(params=(AOT_D, AOT_HEADS, AOT_DH, AOT_WSCALE), seed_key="fseed")
# prop1[vs-optimiser]'s: the same AoT parameters, width d <= N - 2 (from d = N - 1 on the minimum is 0 and the
# statement is empty); the families redraw the AoT on the claim's task, whose optimum is cached (_prop1_optimum).
VS_OPT_D = Param("d_model", 1, lambda N, T: max(1, N - 2), "lin-int", note="width d, 1 <= d <= N - 2")
VS_OPT_SPACE = RecipeSpace(params=(VS_OPT_D, AOT_HEADS, AOT_DH, AOT_WSCALE), seed_key="fseed")


@st.composite
def aot_recipes(draw, profile="quick", *, whole=False):
    """A full-support task and a random AoT: width ``d``, ``H`` heads of head dimension ``d_h``.

    ``whole``: ``d`` and ``d_h`` over :data:`AOT_D` and :data:`AOT_DH` (prop1[rank]'s regime); otherwise
    ``d <= N - 2`` and ``d_h <= d`` (the optimiser's ``L(N,S,d)`` of prop1[vs-optimiser]).
    """
    r = draw(full_support_recipes(profile))
    T = r["N"] ** r["S"] if r["kind"] != "explicit" else len(r["logits"])
    r["d_model"] = draw(AOT_D.strategy(r["N"], T) if whole else st.integers(1, max(1, r["N"] - 2)))
    r["H"] = draw(AOT_HEADS.strategy(r["N"], T))
    r["d_h"] = draw(AOT_DH.strategy(r["N"], T) if whole else st.integers(1, r["d_model"]))
    r["wscale"] = draw(AOT_WSCALE.strategy(r["N"], T))
    r["fseed"] = draw(st.integers(0, 2**16 - 1))
    return r


def random_aot(recipe, N, S):
    """A random AoT (Gaussian weights of scale ``wscale``) of the recipe's shape."""
    rng = rng_of(recipe)
    d, H, dh, s = recipe["d_model"], recipe["H"], recipe["d_h"], recipe["wscale"]
    g = rng.standard_normal
    return AoT(embed=g((N, d)) * s, pos=g((S, d)) * s, W_QK=g((H, d, d)) * s / np.sqrt(d),
               W_V=g((H, dh, d)) * s, W_O=g((H, d, dh)) * s / np.sqrt(dh), W_U=g((N, d)) * s)


def _prop1_rank(recipe):
    task = task_from(recipe)
    model = random_aot(recipe, task.N, task.S)
    F = model.logits(task.seqs)
    s = np.linalg.svd(F, compute_uv=False)
    d = recipe["d_model"]
    extra = float(s[d]) if d < s.size else 0.0
    return Evaluation(extra, 0.0, "<=", atol=AOT_RANK_RTOL * float(s[0]), rtol=0.0,
                      detail={"sigma_1(F_T)": float(s[0]), "d": d})


def _prop1_rank_recheck(recipe, ev):
    """``sigma_{d+1}`` of the AoT's logits at 50 digits: the float64 weights' exact logits
    (:func:`aotmem.verify.ledger.construction_space.logits_mp`), their singular values by mpmath; decided with ``ev.tol``."""
    task = task_from(recipe)
    model = random_aot(recipe, task.N, task.S)
    d = recipe["d_model"]
    with mpmath.workdps(DPS):
        sv = sorted(mpmath.svd_r(logits_mp(model, task.seqs), compute_uv=False), reverse=True)
        extra = sv[d] if d < len(sv) else mpmath.mpf(0)
        return decided(extra, 0, ev, note="the float64 AoT's logits and their singular values at 50 digits")


# The AoT's own draws: they change the model, not the task or the optimum it is compared with.
_AOT_KEYS = ("H", "d_h", "wscale", "fseed")


@functools.lru_cache(maxsize=512)
def _prop1_optimum(task_key: str, d: int):
    """``(divergence, converged, best_start)`` of optimal_encoder on the task a recipe names (deterministic: the
    readings' draws that differ only in the AoT share it)."""
    task = task_from(json.loads(task_key))
    res = optimal_encoder(task.prior, task.cond, d, starts=0, seed=0, max_iter=PROP1_MAX_ITER)
    return res.divergence, bool(res.converged), res.best_start


def _prop1_optimal(recipe):
    task = task_from(recipe)
    model = random_aot(recipe, task.N, task.S)
    lhs = kl(task.prior, task.cond, model.logits(task.seqs))
    key = json.dumps({k: v for k, v in recipe.items() if k not in _AOT_KEYS}, sort_keys=True)
    div, converged, best = _prop1_optimum(key, recipe["d_model"])
    return Evaluation(lhs, div, ">=", atol=KL_ATOL, rtol=KL_RTOL,
                      detail={"optimal_converged": converged, "best_start": best})


for _src in ("draft", "paper"):
    register(Claim(
        id=f"{_src}.prop1", reading="rank", source=_src, kind="bound",
        statement=r"T(t) = W_U x(t),\ x(t) \in \mathbb{R}^d \Rightarrow \sigma_{d+1}([T(t)]_t) = 0",
        instances=lambda profile: aot_recipes(profile, whole=True), evaluate=_prop1_rank, describe=describe,
        space=AOT_SPACE, recheck=_prop1_rank_recheck, cost="medium",
        regime="random AoTs of docs/theory.md#aot (the proof's step: their logit matrix is in L(N,S,d)); searched "
               "over the whole regime (AOT_SPACE): width d in 1..N-1, head dimension d_h in 1..N, heads H in 0..16, "
               "weight scale 1e-2..1e2 (log), fresh weight draws; the tightest margin decided at 50 digits",
    ))
    register(Claim(
        id=f"{_src}.prop1", reading="vs-optimiser", source=_src, kind="bound",
        statement=r"d_{KL}(\pi, T) \ge \min_{f \in L(N,S,d)} d_{KL}(\pi, f)\ \text{for any Transformer of width } d",
        instances=aot_recipes, evaluate=_prop1_optimal, describe=describe, cost="expensive", space=VS_OPT_SPACE,
        family_cost="medium",  # a family instance redraws the AoT on the same task: its optimum is cached
        regime="random AoTs vs theory.optimal.optimal_encoder (an upper bound on the minimum): a violation "
               "would also expose a sub-optimal optimiser; searched over VS_OPT_SPACE: width d in 1..N-2, head "
               "dimension d_h in 1..N, heads H in 0..16, weight scale 1e-2..1e2 (log), fresh weight draws",
    ))

# --------------------------------------------------- paper.lemma2 and D.7 --
# The regime's parameters, stated once (the sampler, the families, the optimiser and the shrinker take their
# ranges from here): the task's size N, S; any width d >= 1 (searched up to 10, or N^S when smaller), any number of heads H >= 1
# (log scale up to N^S: H d >= T_0 is where min(T_0, H d) = T_0), T_0 sequences among the N^S.
LEMMA2_N = Param("N", 2, 12, "lin-int", note="tokens N >= 2 (searched to 12)")
LEMMA2_S = Param("S", 1, lambda N, T: max(1, int(math.log(256) / math.log(N))), "lin-int",
                 note="length S >= 1 (searched to N^S <= 256)")
LEMMA2_D = Param("d", 1, lambda N, T: max(2, min(10, T)), "lin-int", note="width d >= 1 (searched to min(10, N^S))")
LEMMA2_H = Param("H", 1, lambda N, T: max(1, T), "int", note="heads H >= 1 (searched to N^S)")
LEMMA2_T0 = Param("T0", 1, lambda N, T: T, "int", note="1 <= T_0 <= N^S sequences")
_QK_KINDS = (("qk", ("rank1", "full")),)


def _lemma2_restricted(r):
    return r["S"] >= 2 and r["d"] <= r["N"] + r["S"] - 2


def _small(r):
    return r["T0"] <= CERTIFY_MAX_T and r["H"] * r["d"] <= 2 * CERTIFY_MAX_T


def _full_heads(r: dict) -> dict:
    """``draft.lemma-rank``'s regime: every sequence (``T_0 = N^S``), ``P = ceil(N^S/d)`` heads of inner dim ``d``."""
    T = int(r["N"]) ** int(r["S"])
    return {**r, "T0": T, "H": -(-T // int(r["d"]))}


@st.composite
def _lemma2_recipes(draw, profile="quick", *, full=False):
    lim = limits(profile)
    N = draw(st.integers(2, lim["max_n"]))
    S = draw(st.integers(1, lim["max_s"]).filter(lambda s: N**s <= lim["max_t"]))
    T = N**S
    r = {"N": N, "S": S, "d": draw(LEMMA2_D.strategy(N, T)), "H": draw(LEMMA2_H.strategy(N, T)),
         "T0": draw(LEMMA2_T0.strategy(N, T)), "qk": draw(st.sampled_from(["rank1", "full"])),
         "seed": draw(st.integers(0, 2**16 - 1)), "pick": draw(st.sampled_from(PICKS))}
    return _full_heads(r) if full else r


# The existence readings' witness: draw_primed with the recipe's seed, then up to LEMMA2_DRAWS - 1 further draws
# (seed + k 2^16, a seed no recipe names) on the same T_0 sequences: an instance is a miss only when every draw
# misses (a degenerate draw, e.g. d = 1 with saturated attention, is a finding about that draw, not the lemma).
LEMMA2_DRAWS = 3


def _lemma2_setup(recipe, draw: int = 0):
    """The recipe's ``T_0`` sequences (:func:`rank_sequences`) and the primed parameters of witness draw ``draw``
    (``d_h = d``, ``draw_primed``; draw 0 is the recipe's seed)."""
    N, S, d, H = recipe["N"], recipe["S"], recipe["d"], recipe["H"]
    seqs = rank_sequences(N, S, recipe["T0"], recipe["seed"], recipe.get("pick", "random"))
    primed = draw_primed(AoTShape(N=N, S=S, d=d, H=H, d_h=d), qk=recipe["qk"], seed=recipe["seed"] + draw * 2**16)
    return primed, seqs


def _best_draw(recipe, judge):
    """``judge(recipe, draw) -> Evaluation`` over the witness draws: the first that reaches the claim (or a
    certificate, which holds for every draw); else the judged miss (``draws_tried`` in its detail); outside
    only when no draw could be judged."""
    misses, outside = [], None
    for k in range(LEMMA2_DRAWS):
        ev = judge(recipe, k)
        if ev.outside is not None:
            outside = outside or ev
            continue
        if ev.certified or not ev.violated:
            return replace(ev, detail={**ev.detail, "draws_tried": k + 1}) if k else ev
        misses.append(ev)
    if not misses:
        return outside
    best = max(misses, key=lambda e: e.margin)
    return replace(best, detail={**best.detail, "draws_tried": LEMMA2_DRAWS, "draws_judged": len(misses)})


_LEMMA2_S1 = {"N": 3, "S": 1, "d": 2, "H": 2, "T0": 3, "qk": "rank1", "seed": 0}
# Largest T_0 certified in mpmath (pure-Python SVD: O(T^3) with a large constant).
CERTIFY_MAX_T = 16


def _lemma2_certified(recipe):
    return _best_draw(recipe, _lemma2_certified_draw)


def _lemma2_certified_draw(recipe, draw):
    want = min(recipe["T0"], recipe["H"] * recipe["d"])
    cert = _certified_short(recipe, want)
    if cert is not None:
        return cert
    primed, seqs = _lemma2_setup(recipe, draw)
    cert = certify_rank(primed, seqs, dps=30, heads_only=True)
    if cert.verdict == "undecided":
        return Evaluation.out_of_regime("mpmath certificate undecided")
    return Evaluation(float(cert.verdict == "full"), 1.0, ">=", atol=0.0, rtol=0.0,
                      detail={"sigma_min_hi": cert.sigma_min_hi, "sigma_max": cert.sigma_max})


# A float64 shortfall of the witness is certified in mpmath up to this T_0 (and H d up to twice it): ~0.1 s at
# T_0 = 16, ~1 s at 36, ~10 s at 120 (theory.certify.MAX_T). The families make genuine shortfalls by the hundred
# (near-dependent sets of sequences), so the search certifies the small ones; a larger shortfall is outside.
SHORTFALL_MAX_T = CERTIFY_MAX_T


def _draw_primed_full_rank(recipe, draw: int = 0) -> bool | None:
    """mpmath's verdict on draw_primed's heads: True (full), False (deficient), None (undecided / too big)."""
    if recipe["T0"] > min(MAX_T, SHORTFALL_MAX_T) or recipe["H"] * recipe["d"] > 2 * min(MAX_T, SHORTFALL_MAX_T):
        return None
    cert = certify_rank(*_lemma2_setup(recipe, draw), dps=30, heads_only=True)
    return None if cert.verdict == "undecided" else cert.verdict == "full"


def _certified_deficient(recipe, draw: int = 0):
    """For a float64 shortfall: True (certified deficient), False (certified full), None (undecided / too big)."""
    full = _draw_primed_full_rank(recipe, draw)
    return None if full is None else not full


def _all_constant(r) -> bool:
    """Whether the recipe's ``T_0`` sequences are all constant, ``t = (n, ..., n)``."""
    if r["T0"] > r["N"]:
        return False
    seqs = rank_sequences(r["N"], r["S"], r["T0"], r.get("seed", 0), r.get("pick", "random"))
    return bool(np.all(seqs == seqs[:, :1]))


def structural_rank_cap(r) -> int:
    """An upper bound on ``rank{A(t)}`` valid for EVERY choice of ``e``, ``pos``, ``W_QK`` (a certificate).

    ``S = 1``: each head attends to one position, so ``A^h(t) = x_1(t)`` for every
    ``h`` and the stacked ``A(t)`` has rank ``<= min(T_0, d)``. ``S >= 2``:
    :func:`aotmem.theory.certify.attention_rank_cap` (``H(N+S-2) + 1``, docs/theory.md#p5), and, when the
    ``T_0`` sequences are all constant (``t = (n, ..., n)``), ``d + (H-1)(S-1)``: then
    ``A^h(t) = e(n) + pos_S + sum_{s<S} c^h_s(t) (pos_s - pos_S)`` and the stacked ``[A^h(t)]_h`` lies in
    ``U + V`` with ``U = {1_H (x) u : u in R^d}`` and ``V = span{e_h (x) w : w in P}``, ``P = span{pos_s - pos_S}``
    (``p = dim P <= S - 1``); ``U`` and ``V`` share ``1_H (x) P``, so ``dim(U + V) <= d + H p - p``.

    >>> structural_rank_cap({"N": 6, "S": 2, "d": 3, "H": 2, "T0": 6, "seed": 0, "pick": "repeats"})
    4
    """
    if r["S"] == 1:
        return min(r["T0"], r["d"])
    cap = attention_rank_cap(r["T0"], r["H"], r["d"], r["N"], r["S"])
    if _all_constant(r):
        cap = min(cap, r["d"] + (r["H"] - 1) * (r["S"] - 1))
    return cap


def _certified_short(recipe, want):
    """A certified violation when no choice at all reaches rank ``want`` (the structural bound), else None."""
    cap = structural_rank_cap(recipe)
    if cap < want:
        if recipe["S"] == 1:
            why = "S = 1: A^h(t) = x_1(t), rank <= min(T_0, d)"
        elif cap < attention_rank_cap(recipe["T0"], recipe["H"], recipe["d"], recipe["N"], recipe["S"]):
            why = ("constant sequences t = (n, ..., n): A^h(t) = e(n) + pos_S + sum_{s<S} c^h_s (pos_s - pos_S), "
                   "rank <= d + (H-1)(S-1)")
        else:
            why = "rank <= H(N+S-2) + 1"
        return Evaluation(cap, want, ">=", atol=0.0, rtol=0.0, certified=True,
                          detail={"certificate": "structural rank bound for every e, pos, W_QK: " + why})
    return None


def _judge_rank(recipe, rank, want, ratio, full_rank_target, draw: int = 0):
    """The witness draw_primed's rank against ``want``; certified when no choice can reach ``want``.

    A float64 rank below ``want`` counts only when mpmath certifies it (float64
    cannot tell rank from conditioning); even then it is a miss of this witness,
    not a counterexample, unless the structural bound certifies it for every choice.
    """
    cert = _certified_short(recipe, want)
    if cert is not None:
        return cert
    if rank < want:
        if not full_rank_target:
            return Evaluation.out_of_regime("float64 rank below the cap; the mpmath certificate only decides full rank")
        deficient = _certified_deficient(recipe, draw)
        if deficient is None:
            return Evaluation.out_of_regime(f"float64 rank {rank} < {want} (sigma ratio {ratio:.2g}) but not "
                                            f"certified in mpmath beyond T_0 = {SHORTFALL_MAX_T} (the search's limit)")
        if not deficient:
            rank = want  # certified full: the float64 shortfall was conditioning
    return Evaluation(rank, want, ">=", atol=0.0, rtol=0.0, detail={"sigma_want/sigma_1": ratio})


def _lemma2_draw(recipe, draw):
    r = head_rank(*_lemma2_setup(recipe, draw))
    return _judge_rank(recipe, r.rank, r.want, r.ratio, True, draw)


def _lemma2_cap_draw(recipe, draw):
    r = head_rank(*_lemma2_setup(recipe, draw))
    cap = attention_rank_cap(recipe["T0"], recipe["H"], recipe["d"], recipe["N"], recipe["S"])
    return _judge_rank(recipe, r.rank, cap, r.ratio, cap == r.want, draw)


def _lemma2(recipe):
    return _best_draw(recipe, _lemma2_draw)


def _lemma2_cap(recipe):
    return _best_draw(recipe, _lemma2_cap_draw)


def _lemma2_describe(r):
    pick = f" pick={r['pick']}" if r.get("pick", "random") != "random" else ""
    return f"N={r['N']} S={r['S']} d={r['d']} H={r['H']} T0={r['T0']} qk={r['qk']} seed={r['seed']}{pick}"


# Each reading's joint conditions, stated once: its sampler filters on them, its families redraw until they
# hold, and its evaluate puts a recipe that breaks them (a shrunk or optimised one) outside, never judges it.
_LEMMA2_BASE = (("N >= 2, S >= 1, 1 <= T_0 <= N^S, d >= 1, H >= 1",
                 lambda r: r["N"] >= 2 and r["S"] >= 1 and 1 <= r["T0"] <= r["N"] ** r["S"] and r["d"] >= 1
                 and r["H"] >= 1),)
_S2 = ("S >= 2", lambda r: r["S"] >= 2)
_RESTRICTED = ("S >= 2 and d <= N + S - 2", _lemma2_restricted)
_FULL = ("T_0 = N^S and H = ceil(N^S/d)", lambda r: r["T0"] == r["N"] ** r["S"] and r["H"] == _full_heads(r)["H"])
_SMALL = (f"T_0 <= {CERTIFY_MAX_T} and H d <= {2 * CERTIFY_MAX_T} (mpmath certificate)", _small)


def _within(conds, evaluate):
    """``evaluate`` on recipes that meet every ``(text, predicate)`` of ``conds``; the others are outside."""
    def ev(recipe):
        for text, ok in _LEMMA2_BASE + tuple(conds):
            if not ok(recipe):
                return Evaluation.out_of_regime(f"outside the reading's regime: needs {text}")
        return evaluate(recipe)
    return ev


def _all(conds):
    return lambda r: all(ok(r) for _, ok in conds)


def _rank_space(conds, *, full=False):
    """The reading's :class:`RankSpace`: its parameters, its joint conditions, the full-heads derivation."""
    params = (LEMMA2_N, LEMMA2_S) + ((LEMMA2_D,) if full else (LEMMA2_D, LEMMA2_H, LEMMA2_T0))
    return RankSpace(params=params, choices=_QK_KINDS, valid=_all(_LEMMA2_BASE + tuple(conds)),
                     derive=_full_heads if full else None, s_min=2 if any(c in conds for c in (_S2, _RESTRICTED)) else 1)


def _rank_instances(conds, *, full=False):
    """The reading's sampler: its own recipes (filtered on its conditions) and, one draw in two, a family of its
    space (:data:`aotmem.verify.ledger.rank_space.RANK_FAMILIES`) from a drawn seed: the certified readings (~30 ms
    of mpmath per instance) are searched by sampling only, so the families come through the sampler."""
    space = _rank_space(conds, full=full)

    def families(profile):
        lim = limits(profile)

        def one(args):
            like, s = args
            return space.family_recipe(np.random.default_rng(s), like, lim["max_n"])[1]
        return st.tuples(_lemma2_recipes(profile, full=full), st.integers(0, 2**32 - 1)).map(one)

    def instances(profile):
        own = _lemma2_recipes(profile, full=full)
        return st.one_of(own, families(profile)).filter(_all(_LEMMA2_BASE + tuple(conds)))
    return instances


_LEMMA2_FIX = ("for S = 1 the softmax runs over one position, so A^h(t) = x_1(t) for every head and "
               "rank{A(t)} <= d. For S >= 2, A^h(t) = phi(c^h(t)) with c^h = (c_e, c_pos) the weights on the "
               "N + S vectors e(n), pos_s: sum c_e = sum c_pos = 1 for every head, i.e. 2H - 1 independent "
               "linear constraints on the stacked c in R^{H(N+S)}, so rank{A(t)} <= H(N+S-2) + 1 whatever e, "
               "pos, W_QK are; below H d when d > N + S - 2")
_LEMMA2_SEARCH = ("; searched over the whole regime (verify.rank_space.RankSpace): N, S, d, H, T_0, the W_QK kind, "
                  "the draw and which T_0 sequences (random, fewest distinct tokens first, same last token first), "
                  "with families at the regime's edges (d = N+S-2, d = N+S-1, T_0 = H d +- 1, S = 1 vs 2, N = 2); "
                  "a recipe outside the reading's conditions is outside; besides the caps above, T_0 constant "
                  "sequences cap the rank at d + (H-1)(S-1) for every choice (a certified shortfall). The witness: "
                  "draw_primed with the recipe's "
                  f"seed, then up to {LEMMA2_DRAWS - 1} further draws on the same sequences (a miss only when every "
                  "draw misses)")
_LEMMA2_SEARCH_SAMPLED = _LEMMA2_SEARCH.replace("searched over", "sampled over") + (
    "; the certificate costs ~30 ms of mpmath per instance, so the families come through the sampler (one draw "
    "in two), without optimisation")


def _lemma2_claim(id_, reading, source, statement, conds, evaluate, regime, *, full=False, certified=False, **kw):
    """Register one reading of the rank lemma with its regime's conditions, its space and its sampler (cost
    ``medium``: the optimiser has a few integer coordinates to move, the families do the work)."""
    kw.setdefault("cost", "medium")
    return register(Claim(
        id=id_, reading=reading, source=source, kind="construction", statement=statement,
        instances=_rank_instances(conds, full=full), evaluate=_within(conds, evaluate), describe=_lemma2_describe,
        recheck=exact_integers, space=None if certified else _rank_space(conds, full=full),
        regime=regime + (_LEMMA2_SEARCH_SAMPLED if certified else _LEMMA2_SEARCH), **kw))


_lemma2_claim(
    "paper.lemma2", "construction=draw_primed", "paper",
    r"\exists W_{QK}^h, e, pos:\ \mathrm{rank}\{A(t)\}_{t} \ge \min(T_0, H d)\ (\text{rank-1 } W_{QK}^h "
    r"\text{ suffice, Remark 2})", (), _lemma2,
    "T_0 sequences among N^S (all lengths S >= 1), H heads; the generic random construction "
    "theory.construct.draw_primed (rank-1 or full W_QK); float64 numerical rank (numpy's matrix_rank "
    f"tolerance); a shortfall counts only when theory.certify certifies it in mpmath (T_0 <= {SHORTFALL_MAX_T}), "
    "otherwise the instance is outside; a structural shortfall refutes the lemma for every choice")
_lemma2_claim(
    "paper.lemma2+S>=2+d<=N+S-2", "construction=draw_primed", "paper",
    r"S \ge 2,\ d \le N + S - 2 \Rightarrow \mathrm{rank}\{A(t)\}_t \ge \min(T_0, H d)", (_RESTRICTED,), _lemma2,
    _LEMMA2_FIX + ". Restricted to S >= 2 and d <= N + S - 2 (then H d <= H(N+S-2) + 1)",
    corrects="paper.lemma2[construction=draw_primed]")
_lemma2_claim(
    "paper.lemma2+S>=2+cap", "construction=draw_primed", "paper",
    r"S \ge 2 \Rightarrow \mathrm{rank}\{A(t)\}_t \ge \min(T_0, H d, H(N+S-2) + 1)", (_S2,), _lemma2_cap,
    _LEMMA2_FIX + ". The sharp form: the cap H(N+S-2)+1 bounds every choice; this checks the generic "
                  "construction reaches it", corrects="paper.lemma2[construction=draw_primed]")
_lemma2_claim(
    "draft.lemma-rank+S>=2+d<=N+S-2", "construction=draw_primed", "draft",
    r"S \ge 2,\ d \le N + S - 2,\ P d \ge N^S \Rightarrow A \text{ has full row rank } N^S",
    (_RESTRICTED, _FULL), _lemma2, _LEMMA2_FIX, full=True, corrects="draft.lemma-rank[construction=draw_primed]")
_lemma2_claim(
    "paper.lemma2", "certified", "paper",
    r"\mathrm{rank}\{A(t)\}_t \ge \min(T_0, H d)\ \text{(certified in mpmath)}", (_SMALL,), _lemma2_certified,
    f"T_0 <= {CERTIFY_MAX_T}; the rank of draw_primed's heads, certified full or deficient by "
    "theory.certify.certify_rank (dps 30 and 60)", certified=True, cost="medium",
    examples=(_LEMMA2_S1,))  # the S = 1 counterexample of the float64 search, kept
_lemma2_claim(
    "paper.lemma2+S>=2+d<=N+S-2", "certified", "paper",
    r"S \ge 2,\ d \le N + S - 2 \Rightarrow \mathrm{rank}\{A(t)\}_t \ge \min(T_0, H d)\ \text{(certified)}",
    (_RESTRICTED, _SMALL), _lemma2_certified, _LEMMA2_FIX + f"; T_0 <= {CERTIFY_MAX_T}", certified=True,
    cost="medium", full_draws=FULL_DRAWS_FAST, corrects="paper.lemma2[certified]")
_lemma2_claim(
    "draft.lemma-rank", "construction=draw_primed", "draft",
    r"P d \ge N^k \Rightarrow \exists e, pos, W_{QK}:\ A \text{ (rows: sequences) invertible}", (_FULL,), _lemma2,
    "all N^S sequences (k = S), P = ceil(N^S/d) heads of inner dimension d; full row rank N^S "
    "of the (N^S, P d) attention matrix; construction theory.construct.draw_primed", full=True)

# ------------------------------------------------- paper.theorem1 and S.2 --
# CONSTRUCT_RTOL (verify.construction_space): a construction whose logits on the kept sequences miss the
# target by more than this (relative) is not the object of the theorem: outside the regime.


@st.composite
def _theorem1_recipes(draw, profile="quick"):
    # S >= 2: for S = 1 every head sees one position and no exact construction exists (paper.lemma2's gap)
    r = draw(full_support_recipes(profile).filter(lambda r: r["S"] >= 2))
    r["prior"] = draw(st.sampled_from(["zipf", "uniform"]))
    r["d_h"] = draw(st.integers(1, r["d"]))
    r["eps"] = draw(CONSTRUCTION_SPACE.param("eps").strategy(r["N"], 0))  # the space's eps: log scale over EPS_RANGE
    r["qk"] = draw(st.sampled_from(["rank1", "full"]))
    r["cseed"] = draw(st.integers(0, 2**16 - 1))
    return r


@functools.lru_cache(maxsize=64)
def _target_cached(task_key: str, d: int, which: str):
    """:func:`rank_d_target` of the task a recipe names (deterministic; shared by the theorem-1 entries)."""
    return rank_d_target(task_from(json.loads(task_key)), d, which)


class NoConstruction(Exception):
    """theory.construct refused the instance: no T to test (a finding about the constructor, not the claim)."""


def construct_or_refuse(*args, **kw):
    """:func:`construct`, with its refusals (:class:`ConstructionError`: a singular system, or a model that
    misses its accuracy on every draw) turned into :class:`NoConstruction`."""
    try:
        return construct(*args, **kw)
    except ConstructionError as exc:
        kind = "inaccurate" if isinstance(exc, InaccurateConstruction) else "singular"
        raise NoConstruction(f"{kind}: {str(exc).splitlines()[0]}") from None


def build_construction(recipe, target="optimal", variant="paper"):
    """``construct`` on the recipe's task with the rank-``d`` target ``target`` (``optimal`` or ``f_ls``)."""
    task = task_from(recipe)
    key = json.dumps({k: v for k, v in recipe.items() if k not in ("d_h", "eps", "qk", "cseed")}, sort_keys=True)
    W, E = _target_cached(key, recipe["d"], target)
    return construct_or_refuse(task, (W, E), recipe["d"], recipe.get("d_h", recipe["d"]), recipe["eps"],
                               variant=variant, qk=recipe.get("qk", "rank1"), seed=recipe.get("cseed", 0))


def _exists_evaluate(which, factor, sides=theorem1_sides, variant="paper"):
    """An existence reading's ``evaluate``: the best of the package's witnesses (construction_space.best_witness)."""
    return lambda recipe: best_witness(recipe, which, factor, sides, variant)


def _batched(evaluate, which):
    """A ``batch`` evaluator for the target=``which`` readings: the targets of the batch's tasks computed at once
    (construction_space.warm_targets: the optimiser batched over the tasks of one shape), then ``evaluate`` per
    instance (the same evaluation; the constructions stay one per instance)."""
    def batch(recipes):
        warm_targets(recipes, which)
        out = []
        for r in recipes:
            try:
                out.append(evaluate(r))
            except Exception as exc:  # the theory API raised on a recipe of the claim's own space
                out.append(exc)
        return out

    return batch


def _proof_reading(which, factor):
    """A ``construction=proof`` reading's ``evaluate``: the bound on the proof's own T* (Gaussian draw)."""
    inner = proof_evaluate(which, factor)
    return lambda recipe: inner(recipe)


# The construction claims' search spaces: the package's witness design, and the proof's Gaussian draws.
CONSTRUCTION_SPACE = ConstructionSpace()
PROOF_SPACE = ConstructionSpace(design="gaussian", square=True)
# The target=optimal readings that hold: 97 family instances in 100 keep a judged task and its width d, whose
# optimum is cached (construction_space._target), and redraw the statement's other parameters (eps over
# EPS_RANGE, on a T_eps edge one time in three; d_h; the draw; the W_QK kind): ~8 ms a construction against
# 30 ms (task families) to 0.5 s (near-singular ones, mean) an optimum, measured, so their families are the medium
# class's (Claim.family_cost) and the full profile's top-up reaches 10^4 instances. Three in 100 are new tasks of
# the spaces' families as before (~360 in the top-up, against 100 in the families phase before); the realisable
# ones (pi = softmax(F), rank F <= d: both targets are F) are the f_ls readings' 10^4 families already.
OPTIMAL_SAME_TASK = 0.97
# ... and one top-up pass of this many family instances reaches 10^4 judged (Claim.full_families: 7,000, the
# medium class's count, would need a second pass, which TOP_UP_S refuses after these readings' ~80 s of search);
# measured in regime: 91% of the existence readings' family draws, 93% of the proof reading's (square systems)
OPTIMAL_TOP_UP = {"exists": 12_000, "proof": 11_000}
# ... and that pass may run until the claim has run this long (Claim.top_up_s): under two workers their search
# phases alone took 103 to 158 s in the full run of 2026-12-06 (61 to 115 instances/s, by what ran beside them),
# and paper.theorem1+factor2[target=optimal] stopped at 7,589 instances when TOP_UP_S (150 s) refused its pass
# (alone: 10,315 in 103 s); 300 s leaves a slow neighbour room for one pass of ~2,500 more at ~60/s
OPTIMAL_TOP_UP_S = 300.0
OPTIMAL_SPACE = ConstructionSpace(same_task=OPTIMAL_SAME_TASK)
OPTIMAL_PROOF_SPACE = ConstructionSpace(design="gaussian", square=True, same_task=OPTIMAL_SAME_TASK)
_SAME_TASK = ("; target=optimal: 97 family instances in 100 redraw eps (log scale over EPS_RANGE, a T_eps edge "
              "one time in three), d_h, the draw and the W_QK kind on a judged task and its d (its optimum "
              "cached), 3 in 100 are new tasks of the families above")
_T1_STMT = (r"d_h H + d \ge T_\varepsilon \Rightarrow \exists T:\ d_{KL}(\pi, T) \le d_{KL}(\pi, L(N,S,d))"
            r" + {k}C \varepsilon \|W E\|_2 + \gamma,\ C = \sqrt{{1 + \|M_1^{{-1}} M_2\|_2^2}}")


def _t1_statement(k: str, proof: bool = False) -> str:
    """paper.theorem1's statement with the constant ``k`` (``""`` as written, ``"2"``), of the proof's T* or not."""
    out = _T1_STMT.replace("{k}", k).replace("{{", "{").replace("}}", "}")
    return out.replace(r"\exists T:", r"T = T^*_{\mathrm{proof}}:") if proof else out


_T1_REGIME = ("Assumption 2; S >= 2; eps in [1e-4, 0.9] (EPS_RANGE, log scale); H = ceil((T_eps - d)/d_h) (paper variant, gamma = 0 exact "
              "construction of theory.construct); ||W E||_2 with the row-centred W; instances whose construction "
              f"misses the target by > {CONSTRUCT_RTOL:g} relative, or that the constructor refuses (singular "
              "kept system or W_OV), are outside")
_T1_SEARCH = ("; searched over the whole regime (verify.construction_space.ConstructionSpace): the task written out, "
              "eps on a log scale in [1e-4, 0.9] (edge of a T_eps jump included), d, d_h and the draw; families "
              "against the construction's own kept system (realisable pi = softmax(F), F against the draw's worst "
              "direction), optimisation, shrinking")
_T1_EXISTS = ("; existence reading: the witness is the best of verify.construction_space.WITNESSES (3 draws, the "
              "balanced / orthogonal / gaussian designs, both W_QK kinds); an instance is a miss only when every "
              "witness misses (verdict no-witness)")
_T1_PROOF = ("; construction=proof: the proof's own T* (Gaussian primed draws, the recipe's seed, one draw) is one "
             "explicit object, so this reading is a bound on it (kind bound): a violation confirmed at 50 digits "
             "(the float64 T* evaluated in mpmath) is a fails, a finding about the proof. Square kept systems "
             "(d_h H + d = T_eps unknown rows) only: with surplus rows the statement's M_1^{-1} is undefined and the "
             "constructor's equilibrated minimum-norm solve is not the M_1^+ that C measures (outside, with that "
             "reason)")
# target=optimal stays expensive: its optimiser costs 20-100 ms median per new task, up to 12 s (measured on the
# task families, T <= 12), against ~1 ms per construction. On the realisable families (pi = softmax(F), rank F <= d)
# both targets are F itself, so the f_ls readings' search covers the optimal readings' equality cases.
# The proof's construction with the f_ls target is one construct per instance (~1-2 ms, T <= 12): cheap, so the
# full profile's 10^4 instances are reached although square kept systems only are in its regime (~10% outside).
_PROOF_COST = {"optimal": "expensive", "f_ls": "cheap"}
for _target_name, _cost in (("optimal", "expensive"), ("f_ls", "medium")):
    _tnote = ("target = theory.optimal.optimal_encoder (its divergence stands for dKL(pi, L(N,S,d)), an upper "
              "bound)" if _target_name == "optimal" else
              "target = f_ls (uniform): the proof's chain with any rank-d target, dKL(pi, f_ls) in place of the minimum")
    _opt = _target_name == "optimal"
    _same = (dict(space=OPTIMAL_SPACE, family_cost="medium", full_families=OPTIMAL_TOP_UP["exists"],
                  top_up_s=OPTIMAL_TOP_UP_S) if _opt
             else dict(space=CONSTRUCTION_SPACE))
    register(Claim(
        id="paper.theorem1", reading=f"as-written,target={_target_name}", source="paper", kind="construction",
        statement=_t1_statement(""),
        instances=_theorem1_recipes, evaluate=_exists_evaluate(_target_name, 1), describe=describe,
        cost=_cost, regime=_T1_REGIME + "; " + _tnote + _T1_EXISTS + _T1_SEARCH + (_SAME_TASK if _opt else ""),
        batch=_batched(_exists_evaluate(_target_name, 1), _target_name) if _opt else None, **_same,
    ))
    register(Claim(
        id="paper.theorem1+factor2", reading=f"target={_target_name}", source="paper", kind="construction",
        statement=_t1_statement("2"),
        instances=_theorem1_recipes, evaluate=_exists_evaluate(_target_name, 2), describe=describe,
        cost=_cost, regime=_T1_REGIME + "; " + _tnote + _T1_EXISTS + _T1_SEARCH + (_SAME_TASK if _opt else ""),
        batch=_batched(_exists_evaluate(_target_name, 2), _target_name) if _opt else None, **_same,
        corrects=f"paper.theorem1[as-written,target={_target_name}]",
    ))
    register(Claim(
        id="paper.theorem1", reading=f"as-written,construction=proof,target={_target_name}", source="paper",
        kind="bound", statement=_t1_statement("", proof=True),
        instances=_theorem1_recipes, evaluate=_proof_reading(_target_name, 1), describe=describe,
        cost=_PROOF_COST[_target_name], regime=_T1_REGIME + "; " + _tnote + _T1_PROOF + _T1_SEARCH, space=PROOF_SPACE,
        recheck=recheck_proof(_target_name, 1),
    ))
    register(Claim(
        id="paper.theorem1+factor2", reading=f"construction=proof,target={_target_name}", source="paper",
        kind="bound", statement=_t1_statement("2", proof=True),
        instances=_theorem1_recipes, evaluate=_proof_reading(_target_name, 2), describe=describe,
        cost=_PROOF_COST[_target_name], space=OPTIMAL_PROOF_SPACE if _opt else PROOF_SPACE,
        family_cost="medium" if _opt else None, full_families=OPTIMAL_TOP_UP["proof"] if _opt else None,
        top_up_s=OPTIMAL_TOP_UP_S if _opt else None,
        regime=_T1_REGIME + "; " + _tnote + _T1_PROOF + _T1_SEARCH + (_SAME_TASK if _opt else ""),
        recheck=recheck_proof(_target_name, 2),
        batch=_batched(_proof_reading(_target_name, 2), _target_name) if _target_name == "optimal" else None,
        corrects=f"paper.theorem1[as-written,construction=proof,target={_target_name}]",
    ))


def _theorem1_params(recipe):
    try:
        c = build_construction(recipe, "f_ls")
    except NoConstruction as exc:
        return Evaluation.out_of_regime(f"no exact construction: {str(exc)[:120]}")
    rep = c.report
    formula = paper_param_count(rep.N, rep.S, rep.d, rep.d_h, rep.H, rank1_qk=(recipe["qk"] == "rank1"))
    return Evaluation(c.model.param_count(), formula, "<=", atol=0.0, rtol=0.0,
                      detail={"H": rep.H, "d_h": rep.d_h, "d": rep.d})


# The count depends on the task only through T_eps (hence H): its search space is the statement's parameters
# (ConstructionSpace's eps, d, d_h, cseed, stated once there) and the W_QK kind over the sampled tasks, not the logits
# (an almost-rank task's generator takes the same d, up to N - 2: the families keep to it).
PARAMS_SPACE = RecipeSpace(params=CONSTRUCTION_SPACE.params, choices=_QK_KINDS, seed_key=None,
                           valid=lambda r: r["d_h"] <= r["d"] + 1 and (r.get("kind") != "almost-rank"
                                                                         or r["d"] <= r["N"] - 2))

register(Claim(
    id="paper.theorem1", reading="params", source="paper", kind="construction",
    statement=r"\#\text{params} = d(S + 2N + 4 d_h H)\ \text{or}\ d(S + 2N + 2(d_h + 1) H)\ (\text{rank-1 } W_{QK})",
    instances=_theorem1_recipes, evaluate=_theorem1_params, describe=describe,
    # one construction per instance (the runner's "expensive"), on tasks up to the profile's size: 75 ms each on
    # average, 0.7 s at N = 12, S = 2 (the full run of 2026-12-06 spent 708 s on 9,307 of them); its families
    # take the medium counts, and the full profile's top-up stops at TOP_UP_S
    cost="expensive", family_cost="medium",
    recheck=exact_integers, space=PARAMS_SPACE,
    examples=({"kind": "dirichlet", "N": 5, "S": 2, "alpha": 1.0, "prior": "zipf", "seed": 0, "d": 3, "d_h": 1,
               "eps": 0.1, "qk": "full", "cseed": 0},),  # edge case: full W_QK with d > 2 d_h
    regime="the constructed AoT's own count (docs/theory.md#aot shapes: W_QK^h is d x d, d^2 entries when "
           "full, 2d when rank 1) against the paper's formula for its W_QK kind; searched over the statement's "
           "parameters (PARAMS_SPACE: eps on a log scale in [1e-4, 0.9], d in 1..N, d_h in 1..d+1, the draw, the "
           "W_QK kind) on the sampled tasks: the count depends on the task only through T_eps",
))


_SEED_AOT_STMT = (r"\exists T^*\ (\lceil N_\varepsilon/d \rceil \text{ modules of inner dim } d):\ "
                  r"|d_{KL}(\pi, f_{W^*}) - d_{KL}(\pi, T^*)| \le {k}\varepsilon\, \sigma_1(f_{W^*}) C")
_SEED_AOT_REGIME = ("Assumption 2; seed variant of theory.construct (skip fixed); f_W* = optimal_encoder; "
                    "sigma_1 with the row-centred W; C = the paper's constant")
register(Claim(
    id="seed.theorem-aot", reading="C=paper", source="seed", kind="construction",
    statement=_SEED_AOT_STMT.replace("{k}", ""), instances=_theorem1_recipes,
    evaluate=_exists_evaluate("optimal", 1, seed_aot_sides, "seed"), space=CONSTRUCTION_SPACE,
    examples=({"kind": "almost-rank", "N": 3, "S": 2, "d": 1, "sigma": 0.0, "decay": 0.5, "prior": "uniform",
               "d_h": 1, "eps": 0.5, "qk": "rank1", "cseed": 13614, "seed": 1},),  # found by the full profile
    describe=describe, cost="expensive", regime=_SEED_AOT_REGIME + _T1_EXISTS + _T1_SEARCH,
))
register(Claim(
    id="seed.theorem-aot+factor2", reading="C=paper", source="seed", kind="construction",
    statement=_SEED_AOT_STMT.replace("{k}", "2"), instances=_theorem1_recipes,
    evaluate=_exists_evaluate("optimal", 2, seed_aot_sides, "seed"), space=CONSTRUCTION_SPACE,
    describe=describe, cost="expensive", regime=_SEED_AOT_REGIME + _T1_EXISTS + _T1_SEARCH,
    corrects="seed.theorem-aot[C=paper]",
))

# The proof's own T* (Gaussian primed draws, one draw, the recipe's seed) is one explicit object: the seed's bound on
# it is a bound (kind bound), a violation confirmed at 50 digits a fails (a finding about the proof); square kept
# systems only (SURPLUS_NOTE), as paper.theorem1's construction=proof readings.
_SEED_AOT_PROOF = ("; construction=proof: the proof's own T* (seed variant, Gaussian primed draws, the recipe's seed, "
                   "one draw); a violation confirmed at 50 digits (the float64 T* evaluated in mpmath, C and "
                   "sigma_1 at 50 digits) is a fails. Square kept systems only (d_h H = T_eps unknown rows): with "
                   "surplus rows the statement's M_1^{-1} is undefined (outside, with that reason)")
for _k, _factor in (("", 1), ("+factor2", 2)):
    register(Claim(
        id=f"seed.theorem-aot{_k}", reading="C=paper,construction=proof", source="seed", kind="bound",
        statement=_SEED_AOT_STMT.replace("{k}", "2" if _factor == 2 else "").replace(
            r"\exists T^*\ (", r"T^* = T^*_{\mathrm{proof}}\ ("),
        instances=_theorem1_recipes, evaluate=proof_evaluate("optimal", _factor, seed_aot_sides, "seed"),
        space=PROOF_SPACE, recheck=recheck_proof("optimal", _factor, sides="seed", variant="seed"),
        describe=describe, cost="expensive", regime=_SEED_AOT_REGIME + _SEED_AOT_PROOF + _T1_SEARCH,
        corrects="seed.theorem-aot[C=paper,construction=proof]" if _factor == 2 else None,
    ))

# ------------------------------------------------------- unverifiable ones --
register(Claim(
    id="draft.cor-autoregressive", reading="", source="draft", kind="construction",
    statement=(r"d \ge S+1,\ \lceil N^k/d\rceil \text{ modules}:\ T^*_\lambda \text{ predicts every } s > k"
               r"\text{ with error } o(e^{-\lambda}) \text{ over the best rank-}d\text{ map}"),
    instances=None, evaluate=None,
    unverifiable="implementation missing: no autoregressive (every-position) construction exists in theory/ "
                 "(docs/theory.md#d8 marks it a stretch goal)",
    regime="d >= S + 1; positional focusing on the last k tokens",
))
register(Claim(
    id="paper.theorem3", reading="", source="paper", kind="bound",
    statement=r"\pi \text{ polynomially approximable} \Rightarrow \text{gap} = O(\varepsilon \log(1/\varepsilon))",
    instances=None, evaluate=None, regime="polynomially approximable pi (not defined in docs/theory.md)",
    unverifiable="docs/theory.md states neither the definition of 'polynomially approximable' in checkable form "
                 "nor the O-constant: an asymptotic rate without constants cannot fail on finitely many instances. "
                 "The report plots the measured gap of the exact construction against eps (theorem1_vs_eps.png)",
))


def theorem1_sweep(eps_grid=(0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6)):
    """``(eps, kl_model, kl_target, rhs, rhs_factor2)`` for one Zipf Dirichlet task (N=5, S=2, d=2, d_h=1)."""
    out = []
    for eps in eps_grid:
        rec = {"kind": "dirichlet", "N": 5, "S": 2, "alpha": 1.0, "prior": "zipf", "seed": 0, "d": 2, "d_h": 1,
               "eps": eps, "qk": "rank1", "cseed": 0}
        rep = build_construction(rec, "optimal").report
        out.append((eps, rep.kl_model, rep.kl_target, rep.rhs, rep.rhs_factor2))
    return tuple(np.array(c) for c in zip(*out))
