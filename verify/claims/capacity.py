"""Claims about memorisation capacity: ``paper.cor1``, ``paper.cor2``, ``paper.table1``."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from aotmem.theory.capacity import (
    capacity_mahdavi,
    capacity_this_paper,
    cor1_capacity,
    cor1_params,
    cor2_accuracy_bound,
)
from aotmem.theory.construct import ConstructionError, construct, keep_sequences, plan_heads
from aotmem.theory.generators import association_on_support, association_task
from aotmem.theory.targets import circle_target
from aotmem.theory.task import Task, accuracy
from .aot import CONSTRUCT_RTOL, NoConstruction, construct_or_refuse
from aotmem.verify.ledger.recheck import exact_integers
from aotmem.verify.ledger.params import Param
from aotmem.verify.ledger.recipes import limits
from aotmem.verify.ledger.registry import FULL_DRAWS_FAST, Claim, Evaluation, register
from aotmem.verify.ledger.search import RecipeSpace

# Scale of the circle target: logit gap scale * (1 - cos(2 pi/N)) >= 4 for N <= 8.
ASSOC_SCALE = 20.0
# An accuracy is a prior-weighted sum of <= 1e4 zeros and ones: rounding below 1e-12.
ACC_ATOL = 1e-12
# The evaluators read the accuracy, the heads and the verified error of T*, not the rank of its kept system:
# construct skips that SVD (report.rank_kept is None; ~10% of a small construction, measured).
NO_RANK_SVD = 0


# The regime's parameters besides the task size, stated once (the sampler, the families, the optimiser and the
# shrinker take their ranges from here): the width d >= 2, the head dimension d_h, the number of heads H, with
# T_0 = H d_h + d <= N^S (an instance beyond it is outside); the draws of the task and of the construction.
# d <= N: the skip connection adds min(d, n_last) <= N to the kept system's rank (n_last distinct last tokens,
# theory.construct.plan_heads), so for d > N the construction needs more than H heads: outside every reading
# that draws d (the memorising ones and both of paper.cor2).
MEM_D = Param("d", 2, lambda N, T: max(2, min(N, T - 1, 12)), "lin-int",
              note="2 <= d <= N (T_0 <= N^S; the skip connection's rank is at most N)")
MEM_DH = Param("d_h", 1, lambda N, T: max(1, min(T - 2, 12)), "lin-int", note="head dimension")
MEM_H = Param("H", 1, lambda N, T: max(1, T - 2), "int", note="heads, up to T_0 = N^S")
GSEED = Param("gseed", 0, 2**16 - 1, "lin-int", edge=0.0, note="the association task's draw")
_QK = (("qk", ("full", "rank1")),)


def _t0_fits(r: dict) -> bool:
    """T_0 = H d_h + d sequences exist among the N^S (the memorisation claims' joint condition)."""
    return r["H"] * r["d_h"] + r.get("d", 2) <= r["N"] ** r["S"]


def _heads_needed(r: dict, T_eps: int, n_last: int) -> int | None:
    """The fewest heads ``T*`` can keep ``T_eps`` sequences with (None: no head count can), for a draw whose kept
    sequences end in ``n_last`` distinct tokens.

    :func:`theory.construct.plan_heads` with a target of rank 1 (the skip connection solved for): a target of
    higher rank needs as many or more, so a recipe with fewer heads than this is outside on every target.
    """
    try:
        return plan_heads("paper", T_eps, 1, r.get("d", 2), r["d_h"], r["N"], r["S"], n_last, None).H
    except ConstructionError:  # no head count reaches T_eps (S = 1)
        return None


def _heads_suffice(r: dict, T_eps: int) -> bool:
    """Whether ``T*`` can keep ``T_eps`` sequences with the recipe's ``H`` heads for some draw of the task.

    The evaluators judge only constructions with exactly ``H`` heads (more is not the statement's AoT: outside).
    With the most favourable draw (``n_last = min(N, T_eps)``), a recipe refused here needs more than ``H`` heads
    on every draw (``d_h > d``, ``d_h > N + S - 1``, ``d > N``, heads sharing the constant): the spaces' joint
    condition, so that the families do not spend their draws outside. The draw can still fall outside (fewer
    distinct last tokens): the evaluators check it with the drawn task (:func:`_more_heads`).
    """
    return _heads_needed(r, T_eps, min(r["N"], T_eps)) == r["H"]


def _more_heads(recipe: dict, seqs_kept) -> str | None:
    """Why the construction on these kept sequences needs more than the recipe's ``H`` heads (None: it does not)."""
    n_last = int(np.unique(seqs_kept[:, -1]).size)
    need = _heads_needed(recipe, len(seqs_kept), n_last)
    if need == recipe["H"]:
        return None
    return (f"construction needs H = {need} heads, not {recipe['H']} (theory.construct.plan_heads; "
            f"n_last = {n_last} distinct last tokens)")


def _memorises_fits(r: dict) -> bool:
    """The memorising readings' regime: T_0 = H d_h + d <= N^S, kept with exactly H heads."""
    return _t0_fits(r) and _heads_suffice(r, r["H"] * r["d_h"] + r.get("d", 2))


def _cor2_fits(r: dict) -> bool:
    """paper.cor2's regime: K = H d_h + d < N^S (some sequences to guess), kept with exactly H heads."""
    K = r["H"] * r["d_h"] + r["d"]
    return K < r["N"] ** r["S"] and _heads_suffice(r, K)


# d = 2: the corollary's statement. The params reading judges every T_0 <= N^S: its evaluator counts the
# parameters of the model T* builds, more heads included (a count above the formula is its finding).
COR1_SPACE = RecipeSpace(params=(MEM_DH, MEM_H), choices=_QK, valid=_memorises_fits)
COR1_PARAMS_SPACE = RecipeSpace(params=(MEM_DH, MEM_H), choices=_QK, valid=_t0_fits)
MEM_SPACE = RecipeSpace(params=(MEM_D, MEM_DH, MEM_H), choices=_QK, valid=_memorises_fits)
COR2_SPACE = RecipeSpace(params=(MEM_D, MEM_DH, MEM_H, GSEED), choices=_QK, valid=_cor2_fits)


@st.composite
def _memorise_draw(draw, profile="quick", *, d_fixed=None):
    lim = limits(profile)
    N = draw(st.integers(2, lim["max_n"]))
    S = draw(st.integers(2, lim["max_s"]).filter(lambda s: N**s <= lim["max_t"])) if lim["max_s"] >= 2 else 1
    T = N**S
    d = d_fixed if d_fixed is not None else draw(MEM_D.strategy(N, T))
    d_h = draw(st.integers(1, max(1, min(d, MEM_DH.limits(N, T)[1]))))
    Hmax = max(1, (T - d) // d_h)
    H = draw(st.integers(1, Hmax))
    return {"N": N, "S": S, "d": d, "d_h": d_h, "H": H, "qk": draw(st.sampled_from(["full", "rank1"])),
            "seed": draw(st.integers(0, 2**16 - 1))}


def _memorise_recipes(profile="quick", *, d_fixed=None, valid=_memorises_fits):
    """The sampler's recipes, inside the reading's joint condition ``valid`` (None: every draw)."""
    base = _memorise_draw(profile, d_fixed=d_fixed)
    return base if valid is None else base.filter(valid)


def memorise(recipe, task=None):
    """Construct an AoT memorising ``T_0 = H d_h + d`` associations (eps = 0); returns (task, construction).

    ``T_0`` is ``theory.capacity.capacity_this_paper(H, d_h, d)`` (``cor1_capacity`` when ``d = 2``
    gives the same): the formula under test decides how many associations are asked for. ``task``: the
    recipe's task (:func:`_support_task`) when already built.
    """
    N, d, d_h = recipe["N"], recipe["d"], recipe["d_h"]
    task = _support_task(recipe) if task is None else task
    W, E = circle_target(task.argmax_map(), N, d, ASSOC_SCALE)
    return task, _construct_on_kept(task, np.flatnonzero(task.prior > 0), (W, E), d, d_h, qk=recipe["qk"],
                                   seed=recipe["seed"])


def _construct_on_kept(task: Task, kept, target, d: int, d_h: int, *, qk: str, seed, heads: int | None = None):
    """``T*`` (paper variant, eps = 0) memorising the sequences ``kept`` of ``task`` with target ``(W, E)``.

    Built on the task restricted to ``kept`` (uniform prior there): ``T*`` depends only on the kept sequences,
    their target logits and the draw, so it is the model ``construct`` builds on the whole task with these
    sequences kept, without the diagnostics over the others (their forward pass, divergences and
    ``paper.theorem1``'s ``C``), which no reading here uses; ``model.logits`` gives every sequence's logits.
    Refusals are :class:`NoConstruction`.
    """
    kept = np.asarray(kept)
    W, E = target
    sub = Task(np.full(kept.size, 1.0 / kept.size), task.cond[kept], task.seqs[kept])
    return construct_or_refuse(sub, (W, np.asarray(E)[kept]), d, d_h, 0.0, variant="paper", qk=qk, seed=seed,
                               heads=heads, rank_svd_limit=NO_RANK_SVD)


def _support_task(recipe) -> Task:
    """The association task on ``T_0 = H d_h + d`` random sequences of the recipe."""
    T0 = capacity_this_paper(recipe["H"], recipe["d_h"], recipe["d"])
    return association_on_support(recipe["N"], recipe["S"], T0, seed=recipe["seed"])


def _mem_describe(r):
    return (f"association N={r['N']} S={r['S']} d={r['d']} d_h={r['d_h']} H={r['H']} "
            f"(T_0 = {r['H'] * r['d_h'] + r['d']}) qk={r['qk']} seed={r['seed']}")


def _memorise_eval(recipe):
    T0 = (cor1_capacity(recipe["H"], recipe["d_h"]) if recipe["d"] == 2
          else capacity_this_paper(recipe["H"], recipe["d_h"], recipe["d"]))
    if T0 > recipe["N"] ** recipe["S"]:
        return Evaluation.out_of_regime(f"T_0 = {T0} > N^S")
    task = _support_task(recipe)
    more = _more_heads(recipe, task.seqs[task.prior > 0])  # (before the construction, which would use them)
    if more is not None:
        return Evaluation.out_of_regime(more)
    try:
        task, c = memorise(recipe, task)
    except NoConstruction as exc:
        return Evaluation.out_of_regime(f"no exact construction: {str(exc)[:120]}")
    if c.report.H != recipe["H"]:
        return Evaluation.out_of_regime(f"construction used H = {c.report.H} heads, not {recipe['H']}")
    if not c.report.max_rel_logit_error <= CONSTRUCT_RTOL:
        return Evaluation.out_of_regime(f"construction inaccurate: max relative logit error "
                                        f"{c.report.max_rel_logit_error:.2g} > {CONSTRUCT_RTOL:g}")
    acc = accuracy(task, c.model.logits(task.seqs))
    return Evaluation(acc, 1.0, ">=", atol=ACC_ATOL, rtol=0.0,
                      detail={"T_0": T0, "max_rel_logit_error": c.report.max_rel_logit_error,
                              "cond_kept": c.report.cond_kept})


def _cor1_params(recipe):
    T0 = cor1_capacity(recipe["H"], recipe["d_h"])
    if T0 > recipe["N"] ** recipe["S"]:
        return Evaluation.out_of_regime(f"T_0 = {T0} > N^S")
    try:
        task, c = memorise(recipe)
    except NoConstruction as exc:
        return Evaluation.out_of_regime(f"no exact construction: {str(exc)[:120]}")
    formula = cor1_params(recipe["S"], recipe["N"], T0)
    return Evaluation(c.model.param_count(), formula, "<=", atol=0.0, rtol=0.0,
                      detail={"paper_param_count": c.report.paper_param_count, "T_0": T0})


register(Claim(
    id="paper.cor1", reading="memorises", source="paper", kind="construction",
    statement=r"\text{Assumption 1},\ d = 2:\ \exists \text{AoT memorising } T_0 = H d_h + 2 \text{ associations}",
    instances=lambda profile: _memorise_recipes(profile, d_fixed=2), evaluate=_memorise_eval,
    describe=_mem_describe, cost="medium", full_draws=FULL_DRAWS_FAST, space=COR1_SPACE,
    regime=f"association on T_0 = H d_h + 2 random sequences, eps = 0; target the circle family at scale "
           f"{ASSOC_SCALE:g}; accuracy (argmax) on the support must be 1; instances the constructor refuses "
           "(singular kept system or W_OV, e.g. a target of rank < d) are outside, and so are those where T* "
           "needs more than H heads (theory.construct.plan_heads: d_h > d, heads sharing the constant, too few "
           "distinct last tokens), which the search draws only where the task's draw decides it",
))
register(Claim(
    id="paper.cor1", reading="params", source="paper", kind="construction",
    statement=r"\text{with } 2(S + 2N + 4(T_0 - 2)) \text{ parameters}",
    instances=lambda profile: _memorise_recipes(profile, d_fixed=2, valid=None), evaluate=_cor1_params,
    describe=_mem_describe, cost="medium", full_draws=FULL_DRAWS_FAST, recheck=exact_integers,
    space=COR1_PARAMS_SPACE,
    regime="the constructed model's own parameter count (theory.aot.AoT.param_count) against the formula: an "
           "existence claim (an AoT with that many parameters), so a count above it is a finding about T*",
))


@st.composite
def _cor2_recipes(draw, profile="quick"):
    r = draw(_memorise_recipes(profile, valid=_cor2_fits))
    r["gseed"] = draw(st.integers(0, 2**16 - 1))
    return r


def _cor2_eval(recipe):
    N, S, d, d_h, H = recipe["N"], recipe["S"], recipe["d"], recipe["d_h"], recipe["H"]
    K = H * d_h + d
    task = association_task(N, S, seed=recipe["gseed"])  # uniform prior on all T_0 = N^S
    T0 = task.T
    if K >= T0:
        return Evaluation.out_of_regime(f"H d_h + d = {K} >= T_0 = {T0}: nothing left to guess")
    eps = 1.0 - (K - 0.5) / T0  # uniform prior: T_eps = K exactly
    kept = keep_sequences(task.prior, eps)
    more = _more_heads(recipe, task.seqs[kept]) if kept.size == K else None
    if more is not None:  # (before the construction, which would use them)
        return Evaluation.out_of_regime(more)
    W, E = circle_target(task.argmax_map(), N, d, ASSOC_SCALE)
    try:  # T* with eps: built on the T_eps kept sequences (_construct_on_kept)
        c = _construct_on_kept(task, kept, (W, E), d, d_h, qk=recipe["qk"], seed=recipe["seed"])
    except NoConstruction as exc:
        return Evaluation.out_of_regime(f"no exact construction: {str(exc)[:120]}")
    if c.report.T_eps != K or c.report.H != H:
        return Evaluation.out_of_regime(f"T_eps = {c.report.T_eps}, H = {c.report.H} (wanted {K}, {H})")
    acc = accuracy(task, c.model.logits(task.seqs))
    bound = cor2_accuracy_bound(N, H, d_h, d, T0)
    return Evaluation(acc, bound, ">=", atol=ACC_ATOL, rtol=0.0, detail={"K": K, "T_0": T0})


register(Claim(
    id="paper.cor2", reading="construction=T*", source="paper", kind="construction",
    statement=r"\text{Assumption 1, uniform prior}:\ \exists \text{AoT with accuracy} \ge \tfrac1N + "
              r"(1 - \tfrac1N)\tfrac{H d_h + d}{T_0}",
    instances=_cor2_recipes, evaluate=_cor2_eval, cost="medium", full_draws=FULL_DRAWS_FAST, space=COR2_SPACE,
    describe=lambda r: _mem_describe(r) + f" gseed={r['gseed']}",
    regime="association with uniform prior on all T_0 = N^S sequences; ONE witness, T* of theory.construct "
           "memorising K = H d_h + d of them (eps = 1 - (K - 1/2)/T_0); accuracy over all T_0. A shortfall is a "
           "finding about this construction per instance (it meets the bound on average over tasks, not on every "
           "task), not about the existence claim: see paper.cor2[witness-search]",
))
# Witnesses tried per instance by the witness search of paper.cor2 (each a T* memorising a
# different choice of K sequences, with its own target and construction seed); the first is T* itself.
COR2_WITNESSES = 32


def _cor2_witness_search(recipe):
    """Search for an AoT meeting paper.cor2's accuracy on the instance: T* over different kept sets.

    ``paper.cor2`` says some AoT reaches ``1/N + (1 - 1/N) K / T_0`` (``K = H d_h + d``).
    Witnesses: ``T*`` memorising a chosen set of ``K`` of the ``T_0`` sequences
    (exact there, eps = 0 on a design prior uniform on the set), its logits
    elsewhere whatever the construction gives; the set, the target on it (the
    circle's lift and a scale per sequence) and the construction seed vary over
    ``COR2_WITNESSES`` tries (try 0: the ``K`` first sequences, as
    ``construction=T*`` keeps them). The best accuracy over the tries is reported.
    """
    N, S, d, d_h, H = recipe["N"], recipe["S"], recipe["d"], recipe["d_h"], recipe["H"]
    K = H * d_h + d
    task = association_task(N, S, seed=recipe["gseed"])
    T0 = task.T
    if K >= T0:
        return Evaluation.out_of_regime(f"H d_h + d = {K} >= T_0 = {T0}: nothing left to guess")
    bound = cor2_accuracy_bound(N, H, d_h, d, T0)
    g = task.argmax_map()
    rng = np.random.default_rng(recipe["seed"])
    best, tried, refused = -1.0, 0, 0
    for j in range(COR2_WITNESSES):
        kept = np.arange(K) if j == 0 else np.sort(rng.choice(T0, size=K, replace=False))
        # the target on the kept sequences varies too (the lift of the circle, a scale per sequence): the
        # logits T* gives the other sequences depend on it
        W, E = circle_target(g, N, d, ASSOC_SCALE, seed=j)
        if j > 0:
            E = E * rng.uniform(0.5, 2.0, size=(T0, 1))
        if _more_heads(recipe, task.seqs[kept]) is not None:  # more than H heads needed: construct would refuse
            refused += 1
            continue
        try:  # exactly H heads: the claim's AoT has H heads of dimension d_h
            c = _construct_on_kept(task, kept, (W, E), d, d_h, qk=recipe["qk"], seed=recipe["seed"] + j, heads=H)
        except (NoConstruction, ValueError):  # singular, or more heads needed than H for this kept set
            refused += 1
            continue
        if c.report.H != H or not c.report.max_rel_logit_error <= CONSTRUCT_RTOL:
            refused += 1
            continue
        tried += 1
        best = max(best, accuracy(task, c.model.logits(task.seqs)))
        if best >= bound:
            break
    if tried == 0:
        return Evaluation.out_of_regime(f"no witness with H = {H} heads could be built ({refused} refused)")
    return Evaluation(best, bound, ">=", atol=ACC_ATOL, rtol=0.0,
                      detail={"K": K, "T_0": T0, "witnesses_tried": tried, "refused": refused})


register(Claim(
    id="paper.cor2", reading="witness-search", source="paper", kind="construction",
    statement=r"\text{Assumption 1, uniform prior}:\ \exists \text{AoT with accuracy} \ge \tfrac1N + "
              r"(1 - \tfrac1N)\tfrac{H d_h + d}{T_0}",
    instances=_cor2_recipes, evaluate=_cor2_witness_search, cost="medium", full_draws=FULL_DRAWS_FAST,
    space=COR2_SPACE,
    describe=lambda r: _mem_describe(r) + f" gseed={r['gseed']}",
    regime="association with uniform prior on all T_0 = N^S sequences; witnesses: T* memorising K = H d_h + d "
           f"sequences exactly, over up to {COR2_WITNESSES} choices of the K sequences and construction seeds; "
           "the best accuracy over all T_0 counts. A miss is a finding about these witnesses (no-witness), not a "
           "counterexample: nothing here certifies that no AoT reaches the bound",
))
register(Claim(
    id="paper.table1", reading="this-paper", source="paper", kind="construction",
    statement=r"\text{capacity } H d_h + d \text{ (this paper)}",
    instances=_memorise_recipes, evaluate=_memorise_eval, describe=_mem_describe, cost="medium",
    full_draws=FULL_DRAWS_FAST, space=MEM_SPACE,
    regime="association on T_0 = H d_h + d random sequences, d >= 2; accuracy 1 on all of them; instances "
           "the constructor refuses (singular kept system or W_OV) are outside, and so are those where T* needs "
           "more than H heads (theory.construct.plan_heads: d > N, d_h > d, d_h > N + S - 1, heads sharing the "
           "constant, too few distinct last tokens), which the search draws only where the task's draw decides it",
))
register(Claim(
    id="paper.table1", reading="mahdavi", source="paper", kind="construction",
    statement=r"H(d_h - 1) + 1 \text{ (Mahdavi et al. 2024)}", instances=None, evaluate=None,
    regime="the capacity of the cited construction",
    unverifiable="an external result the paper cites (Mahdavi et al. 2024); no construction of theirs here. "
                 "The report plots the formula next to the measured capacity",
))
register(Claim(
    id="paper.table1", reading="kim", source="paper", kind="construction",
    statement=r"O(L^2) \text{ (Kim et al. 2023)}", instances=None, evaluate=None,
    regime="the cited asymptotic capacity",
    unverifiable="an external asymptotic result (Kim et al. 2023), O(.) without constants: not checkable here",
))


def capacity_sweep(Hs=(1, 2, 3, 4, 6, 8), N=8, S=2, d=2, d_h=2):
    """``(H, measured, H d_h + d, H(d_h - 1) + 1)``: the largest T_0 memorised (accuracy 1) with ``H`` heads.

    For each ``T_0`` up to ``H d_h + d + 2`` an association task on ``T_0``
    sequences is built and ``theory.construct.construct`` run with exactly
    ``H`` heads; ``measured`` is the largest ``T_0`` reaching accuracy 1
    (constructions refused for too few heads end the scan).
    """
    measured = []
    for H in Hs:
        best = 0
        for T0 in range(1, H * d_h + d + 3):
            task = association_on_support(N, S, T0, seed=0)
            W, E = circle_target(task.argmax_map(), N, d, ASSOC_SCALE)
            try:
                c = construct(task, (W, E), d, d_h, 0.0, variant="paper", qk="full", heads=H, seed=0)
            except ValueError as exc:
                if "too few" in str(exc):
                    break
                continue  # e.g. a singular W_OV for a tiny T_0: that T_0 is not memorised
            if accuracy(task, c.model.logits(task.seqs)) == 1.0:
                best = T0
        measured.append(best)
    ours = np.array([capacity_this_paper(H, d_h, d) for H in Hs])
    mahdavi = np.array([capacity_mahdavi(H, d_h) for H in Hs])
    return np.array(Hs), np.array(measured), ours, mahdavi
