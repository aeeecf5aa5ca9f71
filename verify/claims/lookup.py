"""Claims about look-up tables: ``seed.lookup-bound``, ``draft.lookup-theorem``, ``paper.theorem2``.

The encoder is the Johnson-Lindenstrauss construction of docs/theory.md#d6
(:func:`aotmem.theory.lookup.lookup_encoder` on a certified draw of
:func:`aotmem.theory.lookup.jl_matrix`); the bounds come from the catalogue
:data:`aotmem.theory.bounds.CATALOGUE`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from hypothesis import strategies as st

from aotmem.theory.bounds import bound
from aotmem.theory.lookup import (
    jl_certificate,
    jl_factor,
    jl_matrix,
    lookup_C,
    lookup_encoder,
    lookup_lambda,
    lookup_lambda_bound,
    paper_theorem2_bound,
    paper_theorem2_simplified,
)
from aotmem.verify.ledger.recipes import describe, dirichlet_recipes, explicit_recipes, lookup_recipes, task_from
from aotmem.theory.divergence import entropy
from aotmem.theory.precise import DPS
from aotmem.verify.ledger.recheck import decided, guarded
from aotmem.verify.ledger.registry import KL_ATOL, KL_RTOL, Claim, Evaluation, register
from aotmem.verify.ledger.search import Param, RecipeSpace, TaskSpace

# The regime's parameters besides the task, stated once: the JL width d (every claim here allows any
# d with C < 1/2, i.e. C -> 0 as d grows: searched on a log scale up to D_MAX) and the JL draw wseed.
# d is an embedding width here, not a rank of the task (rows_at_least_d=False).
D_MAX = 2**40  # C = sqrt(32 log(N+1)/d) down to 1.1e-5 (N = 3) .. 1.6e-5 (N = 12): the limit C -> 0
# Widths up to JL_DENSE_MAX are drawn as the N x d matrix itself (theory.lookup.jl_matrix); wider ones
# through their Gram matrix (theory.lookup.jl_factor: the same distribution, exact integer Gram).
JL_DENSE_MAX = 4096


def _dmin(N, T):  # noqa: ARG001 (the limit depends on N only)
    """Smallest d with C = sqrt(32 log(N+1)/d) < 1/2."""
    return int(math.floor(128 * math.log(N + 1))) + 1


D_C_HALF = Param("d", _dmin, D_MAX, "int", note="C = sqrt(32 log(N+1)/d) < 1/2: d from 128 log(N+1) to 2^40 (C -> 0)")
D_ANY = Param("d", 2, D_MAX, "int", note="any width 2 .. 2^40 (C >= 1/2 included)")
WSEED = Param("wseed", 0, 2**16 - 1, "lin-int", edge=0.0, note="the JL draw (seed of jl_matrix / jl_factor)")
TASKS = TaskSpace(params=(D_C_HALF, WSEED), rows_at_least_d=False)  # C < 1/2
TASKS_ANY = TaskSpace(params=(D_ANY, WSEED), rows_at_least_d=False)
# The JL step's own regime (draft.lookup-theorem[jl]): no task, only the number of rows N of W, the width d with
# C < 1/2 (to 2^40: C -> 0) and the draw; N to JL_N_MAX, the look-up tasks' largest N (a wide draw is
# N x 2^(N-1) floats, 0.2 MB at N = 12, and _jl caches 256 of them; jl_factor itself allows N <= 16).
JL_N_MAX = 12
JL_N = Param("N", 2, JL_N_MAX, "int", note=f"rows of W, 2 <= N <= {JL_N_MAX}")
JL_SPACE = RecipeSpace(params=(JL_N, D_C_HALF, WSEED), seed_key=None)


def with_width(draw, r: dict, regime: str) -> dict:
    """``r`` with ``d`` and ``wseed`` drawn from the regime's :class:`Param` s (the same ranges the search uses)."""
    space = TASKS if regime == "C<1/2" else TASKS_ANY
    T = r["N"] ** r.get("S", 1) if r.get("kind") != "explicit" else len(r["logits"])
    for p in space.params:
        r[p.name] = draw(p.strategy(r["N"], T))
    return r


@st.composite
def lookup_d_recipes(draw, profile="quick", *, regime="any"):
    """Look-up tasks with a JL dimension ``d``: ``regime="C<1/2"`` draws ``d > 128 log(N+1)`` (up to ``D_MAX``)."""
    return with_width(draw, draw(lookup_recipes(profile)), regime)


@functools.lru_cache(maxsize=256)  # W is at most N x max(JL_DENSE_MAX, 2^(N-1)) floats (<= 0.4 MB at N <= 12)
def _jl(N: int, d: int, wseed: int):
    """The certified JL draw of ``(N, d, wseed)`` (deterministic; the search reuses a few of them many times).

    ``d <= JL_DENSE_MAX``: the ``N x d`` Rademacher matrix; wider: its Gram factor (``jl_factor``).
    """
    W, cert = jl_matrix(N, d, seed=wseed) if d <= JL_DENSE_MAX else jl_factor(N, d, seed=wseed)
    W.setflags(write=False)
    return W, cert


def lookup_setup(recipe):
    """Task, JL matrix ``W`` and its certificate (the encoder is built after the regime checks)."""
    task = task_from(recipe)
    W, cert = _jl(task.N, recipe["d"], recipe["wseed"])
    return task, W, cert


def lookup_regime(recipe, C_mode):
    """``(task, W, cert, C, why)``: ``C`` the formula's or the achieved one, ``why`` the reason it is outside."""
    task, W, cert = lookup_setup(recipe)
    C = lookup_C(task.N, recipe["d"]) if C_mode == "formula" else cert.max_dev
    if C >= 0.5:
        return task, W, cert, C, f"C = {C:.3g} >= 1/2"
    if C_mode == "formula" and not cert.holds:
        return task, W, cert, C, f"JL draw missed C: max_dev {cert.max_dev:.3g} > C {C:.3g}"
    return task, W, cert, C, None


def _C_mp(task, d, W, C_mode):
    """The claim's ``C`` at 50 digits: the formula's, or the one the draw achieves (exactly)."""
    return lookup_C(task.N, d, dps=DPS) if C_mode in ("formula", "as-written") else jl_certificate(W, dps=DPS)


def _lookup_recheck(C_mode, name=None):
    """Both sides at 50 digits: the D.6 encoder's divergence and the bound at the claim's C."""
    @guarded
    def recheck(recipe, ev):
        task, W, _ = lookup_setup(recipe)
        C = _C_mp(task, recipe["d"], W, C_mode)
        lhs = lookup_encoder(task, W, dps=DPS).divergence(task.prior)
        if name is None:  # seed.lookup-bound: the slide's formula (as written: for every C)
            rhs = bound("seed.lookup-bound").rhs(task.prior, task.cond, recipe["d"], C=C,
                           as_written=(C_mode == "as-written"), dps=DPS)
        else:
            rhs = bound(name).rhs(task.prior, task.cond, recipe["d"], C=C, dps=DPS)
        return decided(lhs, rhs, ev)
    return recheck


# ------------------------------------------------------- seed.lookup-bound --


def _seed_lookup_eval(C_mode):
    seed_bound = bound("seed.lookup-bound")

    def evaluate(recipe):
        task, W, cert = lookup_setup(recipe)
        C = lookup_C(task.N, recipe["d"])
        if C_mode == "formula" and C >= 0.5:
            return Evaluation.out_of_regime(f"C = {C:.3g} >= 1/2 (d <= 128 log(N+1))")
        if C_mode == "achieved":
            C = cert.max_dev
            if C >= 0.5:
                return Evaluation.out_of_regime(f"achieved ||WW^T - I||_max = {C:.3g} >= 1/2")
        elif C_mode == "formula" and not cert.holds:
            return Evaluation.out_of_regime(f"JL draw missed C: max_dev {cert.max_dev:.3g} > C {cert.C:.3g}")
        try:
            enc = lookup_encoder(task, W)
        except ValueError as exc:
            if C_mode == "as-written" and "non-monotone" in str(exc):
                return Evaluation.out_of_regime("the D.6 encoder does not exist for this W (lambda equation "
                                                "non-monotone)")
            raise
        dk = enc.divergence(task.prior)
        # as written: the slide's formula, unrestricted (negative for C > 1/2)
        rhs = seed_bound.fn(task.prior, task.cond, recipe["d"], C=C, as_written=(C_mode == "as-written"))
        return Evaluation(dk, rhs, "<=", atol=KL_ATOL, rtol=KL_RTOL,
                          detail={"C": C, "max_dev": cert.max_dev, "mean_entropy": float(task.prior @ enc.h)})

    return evaluate


_LOOKUP_STMT = (r"d_{KL}(\pi, f) \le E_t\Big[(1 - \pi(g(t)|t)) \log\frac{N-1}{e^{-H(\pi_t)} - 1}\Big]"
                r"\frac{1+4C}{1-2C},\ C = \sqrt{32 \log(N+1)/d}")
register(Claim(
    id="seed.lookup-bound", reading="C<1/2", source="seed", kind="bound",
    statement=_LOOKUP_STMT + r",\ C < 1/2",
    instances=lambda profile: lookup_d_recipes(profile, regime="C<1/2"), evaluate=_seed_lookup_eval("formula"),
    describe=describe, recheck=_lookup_recheck("formula"), space=TASKS,
    regime="C = sqrt(32 log(N+1)/d) < 1/2, i.e. d > 128 log(N+1); W a certified JL draw; f the D.6 encoder",
))
register(Claim(
    id="seed.lookup-bound", reading="as-written", source="seed", kind="bound",
    statement=_LOOKUP_STMT + r"\ (\text{no condition on } C)",
    instances=lambda profile: lookup_d_recipes(profile, regime="any"), evaluate=_seed_lookup_eval("as-written"),
    describe=describe, recheck=_lookup_recheck("as-written"), space=TASKS_ANY,
    regime="any d (the slide states no condition); for C > 1/2 the right-hand side is negative",
))
register(Claim(
    id="seed.lookup-bound", reading="C=achieved", source="seed", kind="bound",
    statement=r"\text{same, with } C = \|WW^T - I\|_{\max} \text{ of the W actually used}",
    instances=lambda profile: lookup_d_recipes(profile, regime="any"), evaluate=_seed_lookup_eval("achieved"),
    describe=describe, recheck=_lookup_recheck("achieved"), space=TASKS_ANY,
    regime="the proof's C is any bound on ||WW^T - I||_max: use the achieved one (< 1/2)",
))

# ---------------------------------------------------- draft.lookup-theorem --


def _jl_recipes(profile="quick"):  # noqa: ARG001 (every parameter comes from JL_SPACE)
    return JL_SPACE.recipes({"N": 2})


def _lookup_jl(recipe):
    N, d = recipe["N"], recipe["d"]
    if not 2 <= N <= JL_N_MAX:
        return Evaluation.out_of_regime(f"N = {N} outside the searched 2 .. {JL_N_MAX}")
    C = lookup_C(N, d)
    if C >= 0.5:
        return Evaluation.out_of_regime(f"C = {C:.3g} >= 1/2")
    _, cert = _jl(N, d, recipe["wseed"])
    return Evaluation(cert.max_dev, C, "<=", atol=0.0, rtol=0.0, detail={"tries": cert.tries})


@guarded
def _jl_recheck(recipe, ev):
    """``||W W^T - I||_max`` of the draw (exact Gram) against ``C`` at 50 digits."""
    W, _ = _jl(recipe["N"], recipe["d"], recipe["wseed"])
    return decided(jl_certificate(W, dps=DPS), lookup_C(recipe["N"], recipe["d"], dps=DPS), ev)


def _lookup_lambda(recipe):
    task, W, cert, C, why = lookup_regime(recipe, "formula")
    if why:
        return Evaluation.out_of_regime(why)
    enc = lookup_encoder(task, W)
    fin = np.isfinite(enc.lam)
    if not fin.any():
        return Evaluation.out_of_regime("every row one-hot (lambda = inf = bound)")
    bnd = np.array([lookup_lambda_bound(float(h), task.N, C) for h in enc.h[fin]])
    lam = enc.lam[fin]
    t = int(np.argmin(bnd - lam))
    row = int(np.flatnonzero(fin)[t])
    return Evaluation(lam[t], bnd[t], "<=", atol=KL_ATOL, rtol=KL_RTOL,
                      detail={"h": float(enc.h[fin][t]), "C": C, "row": row})


@guarded
def _lambda_recheck(recipe, ev):
    task, W, _ = lookup_setup(recipe)
    t = int(ev.detail["row"])
    h = entropy(task.cond[t:t + 1], dps=DPS)[0]
    g = int(np.argmax(task.cond[t]))
    C = lookup_C(task.N, recipe["d"], dps=DPS)
    return decided(lookup_lambda(h, W, g, dps=DPS), lookup_lambda_bound(h, task.N, C, dps=DPS), ev)


def lookup_div_eval(C_mode, name):
    """``evaluate(recipe)``: the D.6 encoder's divergence against the catalogue bound ``name`` at ``C_mode``'s C."""
    b = bound(name)

    def evaluate(recipe):
        task, W, cert, C, why = lookup_regime(recipe, C_mode)
        if why:
            return Evaluation.out_of_regime(why)
        dk = lookup_encoder(task, W).divergence(task.prior)
        rhs = b.fn(task.prior, task.cond, recipe["d"], C=C, **dict(b.kwargs))
        return Evaluation(dk, rhs, "<=", atol=KL_ATOL, rtol=KL_RTOL, detail={"C": C, "max_dev": cert.max_dev})

    return evaluate


def _large(profile):
    return lookup_d_recipes(profile, regime="C<1/2")


def _any(profile):
    return lookup_d_recipes(profile, regime="any")


_D6_REGIME = "C = sqrt(32 log(N+1)/d) < 1/2 (d > 128 log(N+1)); W a certified Rademacher JL draw; g = argmax pi_t"
register(Claim(
    id="draft.lookup-theorem", reading="jl", source="draft", kind="construction",
    statement=r"\exists W \in \mathbb{R}^{N\times d}:\ \|WW^T - I\|_{\max} \le C = \sqrt{32\log(N+1)/d}",
    instances=_jl_recipes, evaluate=_lookup_jl, describe=lambda r: f"N={r['N']} d={r['d']} wseed={r['wseed']}",
    space=JL_SPACE, recheck=_jl_recheck,
    regime=f"C < 1/2, i.e. d > 128 log(N+1), up to d = 2^40 (C -> 0); 2 <= N <= {JL_N_MAX}; every draw "
           "(wseed); construction: theory.lookup.jl_matrix (up to 20 Rademacher draws; widths above "
           f"{JL_DENSE_MAX} through their Gram matrix, theory.lookup.jl_factor)",
))
register(Claim(
    id="draft.lookup-theorem", reading="lambda-bound", source="draft", kind="bound",
    statement=r"\lambda(t) \le \log\frac{N-1}{e^{h(\pi_t)} - 1} \Big/ (1 - 2C)",
    instances=_large, evaluate=_lookup_lambda, describe=describe, space=TASKS, recheck=_lambda_recheck,
    regime=_D6_REGIME + "; rows with h > 0 (lambda finite)",
))
register(Claim(
    id="draft.lookup-theorem", reading="divergence", source="draft", kind="bound",
    statement=(r"d_{KL}(\pi, f) \le E_t\Big[(1 - \pi(g|t)) \log\frac{N-1}{e^{h(\pi_t)} - 1}"
               r"\frac{1 + 2C + C\, d_{TV}(\tilde\pi_t, \mathrm{unif})}{1 - 2C}\Big]"),
    instances=_large, evaluate=lookup_div_eval("formula", "draft.lookup-theorem"), describe=describe, space=TASKS,
    recheck=_lookup_recheck("formula", "draft.lookup-theorem"),
    regime=_D6_REGIME,
))
register(Claim(
    id="draft.lookup-theorem", reading="divergence,C=achieved", source="draft", kind="bound",
    statement=r"\text{same, with } C = \|WW^T - I\|_{\max} \text{ of the W used}",
    instances=_any, evaluate=lookup_div_eval("achieved", "draft.lookup-theorem"), describe=describe, space=TASKS_ANY,
    recheck=_lookup_recheck("achieved", "draft.lookup-theorem"),
    regime="achieved ||WW^T - I||_max < 1/2 (any d)",
))
register(Claim(
    id="draft.lookup-theorem+factor(1+2C)", reading="", source="draft", kind="bound",
    statement=(r"d_{KL}(\pi, f) \le E_t\Big[(1 - \pi(g|t)) \log\frac{N-1}{e^{h(\pi_t)} - 1}\Big]"
               r"\frac{1 + 2C}{1 - 2C}"),
    instances=_any, evaluate=lookup_div_eval("achieved", "draft.lookup-theorem+factor(1+2C)"), describe=describe,
    corrects="draft.lookup-theorem[divergence]", space=TASKS_ANY,
    recheck=_lookup_recheck("achieved", "draft.lookup-theorem+factor(1+2C)"),
    regime="achieved ||WW^T - I||_max < 1/2; the strongest form the proof supports (theory.lookup.tight_lookup_bound)",
))

# ----------------------------------------------------------- paper.theorem2 --


def _t2_step(recipe):
    task = task_from(recipe)
    C = lookup_C(task.N, recipe["d"])
    if C >= 0.5:
        return Evaluation.out_of_regime(f"C = {C:.3g} >= 1/2")
    first = paper_theorem2_bound(task.prior, task.cond, recipe["d"], constant="4C")
    simp = paper_theorem2_simplified(task.prior, task.cond, recipe["d"])
    return Evaluation(first, simp, "<=", atol=KL_ATOL, rtol=KL_RTOL, detail={"C": C})


@guarded
def _t2_step_recheck(recipe, ev):
    task = task_from(recipe)
    first = bound("paper.theorem2[constant=4C]").rhs(task.prior, task.cond, recipe["d"], dps=DPS)
    return decided(first, bound("paper.theorem2[simplified]").rhs(task.prior, task.cond, recipe["d"], dps=DPS), ev)


@st.composite
def _t2_mixed_recipes(draw, profile="quick"):
    """Look-up tasks, Dirichlet tasks, or explicit small tasks (rows of mixed entropies), with a JL ``d``."""
    which = draw(st.sampled_from(["lookup", "dirichlet", "explicit"]))
    if which == "lookup":
        return draw(lookup_d_recipes(profile, regime="C<1/2"))
    r = draw(dirichlet_recipes(profile, min_n=3) if which == "dirichlet" else explicit_recipes(profile))
    return with_width(draw, r, "C<1/2")


_T2_REGIME = "C < 1/2 (d > 128 log(N+1)); W a certified JL draw; f the D.6 encoder, over sequences"
register(Claim(
    id="paper.theorem2", reading="constant=dtv", source="paper", kind="bound",
    statement=(r"d_{KL}(\pi, f) \le E_t\Big[\pi(o \ne g(t)|t) \log\frac{N-1}{e^{h(\pi_t)} - 1}"
               r"\frac{1 + 2C + C d_{TV}}{1 - 2C}\Big]"),
    instances=_t2_mixed_recipes, evaluate=lookup_div_eval("formula", "paper.theorem2[constant=dtv]"),
    describe=describe, regime=_T2_REGIME, space=TASKS, recheck=_lookup_recheck("formula", "paper.theorem2[constant=dtv]"),
))
register(Claim(
    id="paper.theorem2", reading="constant=4C", source="paper", kind="bound",
    statement=(r"d_{KL}(\pi, f) \le E_t\Big[\pi(o \ne g(t)|t) \log\frac{N-1}{e^{h(\pi_t)} - 1}\Big]"
               r"\frac{1 + 4C}{1 - 2C}"),
    instances=_t2_mixed_recipes, evaluate=lookup_div_eval("formula", "paper.theorem2[constant=4C]"),
    describe=describe, regime=_T2_REGIME, space=TASKS, recheck=_lookup_recheck("formula", "paper.theorem2[constant=4C]"),
))
register(Claim(
    id="paper.theorem2", reading="simplified", source="paper", kind="bound",
    statement=(r"d_{KL}(\pi, f) \le E_t[\pi(o \ne g(t)|t)]\frac{1+4C}{1-2C}"
               r"\log\frac{N-1}{e^{E_t[h(\pi_t)]} - 1}"),
    instances=_t2_mixed_recipes, evaluate=lookup_div_eval("formula", "paper.theorem2[simplified]"),
    describe=describe, regime=_T2_REGIME, space=TASKS, recheck=_lookup_recheck("formula", "paper.theorem2[simplified]"),
))
register(Claim(
    id="paper.theorem2+simplified-q", reading="", source="paper", kind="bound",
    statement=(r"d_{KL}(\pi, f) \le E_t[q_t]\frac{1+4C}{1-2C}\log\frac{(N-1)(1 - E_t[q_t])}{E_t[q_t]},"
               r"\ q_t = \pi(o \ne g(t)|t)"),
    instances=_t2_mixed_recipes, evaluate=lookup_div_eval("formula", "paper.theorem2+simplified-q"),
    describe=describe, space=TASKS, recheck=_lookup_recheck("formula", "paper.theorem2+simplified-q"),
    corrects="paper.theorem2[simplified]",
    regime=_T2_REGIME + "; the simplified form with h_t replaced by its lower bound -log(1 - q_t) before Jensen "
           "(theory.lookup.paper_theorem2_simplified_q): implied by the first form (constant=4C)",
))
register(Claim(
    id="paper.theorem2", reading="first<=simplified", source="paper", kind="bound",
    statement=(r"E_t\Big[q_t \log\frac{N-1}{e^{h_t} - 1}\Big] \le E_t[q_t]"
               r"\log\frac{N-1}{e^{E_t h_t} - 1}\ (\text{the step between the two forms})"),
    instances=_t2_mixed_recipes, evaluate=_t2_step, describe=describe, space=TASKS, recheck=_t2_step_recheck,
    examples=({"kind": "explicit", "N": 4, "S": 1, "logits": [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 2.0]],
               "weights": [1.0, 1.0], "seed": 0, "d": 207, "wseed": 0},),  # found by the search, kept
    regime="C < 1/2 (both forms carry the same (1+4C)/(1-2C)); rows of mixed entropies",
))
