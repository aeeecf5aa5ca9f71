"""Recipes: the JSON-able instances every claim is searched over, and their Hypothesis strategies.

A *recipe* is a small dict naming a task generator of
:mod:`theory.generators` and its parameters (``kind``, ``N``, ``S``,
``seed`` and the kind's own knobs), plus the claim's own parameters (``d``,
``eps``, ...). :func:`task_from` rebuilds the task from it through the
public API, so a counterexample is reproduced by its recipe alone.

Sizes per profile (``LIMITS``): ``quick`` keeps ``T = N**S <= 64``,
``full`` goes to ``T <= 256``.

>>> task = task_from({"kind": "dirichlet", "N": 3, "S": 2, "alpha": 1.0, "prior": "uniform", "seed": 1})
>>> (task.N, task.S, task.T)
(3, 2, 9)
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from aotmem.theory.generators import explicit_task, random_task
from aotmem.theory.task import Task
from .params import Param, rank_d

# The rank d of the almost-rank-d statements (1 <= d <= min(N-2, T)): stated once, in verify.params.
RANK_D = rank_d()
# The size of the permutation tasks' centred log-probabilities: the corollary holds for any, searched over four
# decades around the generator's default 1 (near-uniform rows at 1e-3, near-deterministic at 10).
PERM_SCALE = Param("scale", 1e-3, 10.0, "log", note="size of the centred L of a permutation task")

__all__ = ["LIMITS", "KNOBS", "task_from", "describe", "seeds", "dirichlet_recipes",
           "almost_rank_recipes", "lookup_recipes", "association_recipes", "permutation_recipes",
           "full_support_recipes", "explicit_recipes", "limits", "rng_of", "RANK_D"]

LIMITS = {
    "quick": {"max_n": 7, "max_s": 2, "max_t": 64},
    "full": {"max_n": 12, "max_s": 3, "max_t": 256},
}

# Generator knobs carried by a recipe, per kind (the rest of the recipe is the claim's).
KNOBS = {
    "dirichlet": ("alpha", "prior"),
    "almost-rank": ("d", "sigma", "prior", "decay"),
    "lookup": ("entropy", "prior"),
    "association": ("prior",),
    "permutation": ("d", "scale", "prior"),
}

seeds = st.integers(min_value=0, max_value=2**16 - 1)


def limits(profile: str) -> dict:
    if profile not in LIMITS:
        raise ValueError(f"`profile` must be one of {sorted(LIMITS)} (got {profile!r})")
    return LIMITS[profile]


def task_from(recipe: dict) -> Task:
    """The task a recipe names, built by :func:`theory.generators.random_task`.

    Kind ``explicit``: the recipe carries the task itself, ``logits`` (T rows of
    N) and prior ``weights`` (T), built by :func:`aotmem.theory.generators.explicit_task`.
    """
    kind = recipe.get("kind")
    if kind == "explicit":
        return explicit_task(recipe["logits"], recipe["weights"])
    if kind not in KNOBS:
        raise ValueError(f"`recipe['kind']` must be one of {sorted(KNOBS)} (got {kind!r})")
    kw = {k: recipe[k] for k in KNOBS[kind] if k in recipe}
    if kind == "lookup" and "entropy_frac" in recipe and "entropy" not in recipe:
        kw["entropy"] = recipe["entropy_frac"] * math.log(recipe["N"])
    return random_task(kind, recipe["N"], recipe["S"], seed=recipe["seed"], **kw)


def describe(recipe: dict) -> str:
    """One line: ``kind N=.. S=.. knobs.. seed=..`` then the claim's own parameters."""
    kind = recipe.get("kind", "?")
    if kind == "explicit":
        rest = {k: v for k, v in recipe.items() if k not in ("kind", "logits", "weights", "seed", "N", "S")}
        g = lambda v: f"{v:.4g}"  # display only: the recipe itself carries the exact numbers
        logits = "[" + ", ".join("[" + ", ".join(g(v) for v in row) + "]" for row in recipe["logits"]) + "]"
        weights = "[" + ", ".join(g(v) for v in recipe["weights"]) + "]"
        return (f"explicit N={recipe['N']} T={len(recipe['logits'])} logits={logits} weights={weights} "
                + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rest.items()))
    head = [f"{kind} N={recipe.get('N')} S={recipe.get('S')}"]
    skip = {"kind", "N", "S", "seed"}
    for k, v in recipe.items():
        if k in skip:
            continue
        head.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    head.append(f"seed={recipe.get('seed')}")
    return " ".join(head)


def _sizes(draw, *, min_n: int, profile: str):
    lim = limits(profile)
    N = draw(st.integers(min_n, lim["max_n"]))
    S = draw(st.integers(1, lim["max_s"]).filter(lambda s: N**s <= lim["max_t"]))
    return N, S


def _probability(lo: float = 0.0, hi: float = 1.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def dirichlet_recipes(draw, profile: str = "quick", *, min_n: int = 2):
    """Full-support tasks (Assumption 2) with Dirichlet rows."""
    N, S = _sizes(draw, min_n=min_n, profile=profile)
    return {"kind": "dirichlet", "N": N, "S": S,
            "alpha": draw(st.sampled_from([1.0, 0.1, 0.5, 5.0])),
            "prior": draw(st.sampled_from(["uniform", "zipf"])), "seed": draw(seeds)}


@st.composite
def almost_rank_recipes(draw, profile: str = "quick", *, max_sigma: float = 2.5):
    """Full-support tasks whose uniform-centred ``sigma_{d+1}`` is the recipe's ``sigma``."""
    N, S = _sizes(draw, min_n=3, profile=profile)
    d = draw(st.integers(1, min(N - 2, N**S - 1)))
    return {"kind": "almost-rank", "N": N, "S": S, "d": d,
            "sigma": draw(st.floats(0.0, max_sigma)),
            "decay": draw(st.sampled_from([0.5, 0.1, 0.9])),
            "prior": draw(st.sampled_from(["uniform", "zipf"])), "seed": draw(seeds)}


@st.composite
def explicit_recipes(draw, profile: str = "quick", *, min_n: int = 3, max_t: int = 4):
    """Small tasks given entry by entry: logits in [-8, 8] (half on the integer grid -3..3), prior weights in [0.01, 1].

    These let Hypothesis shrink a counterexample down to a few explicit numbers.
    """
    N = draw(st.integers(min_n, limits(profile)["max_n"]))
    T = draw(st.integers(1, min(max_t, N)))
    # half the entries from a small integer grid: ties and symmetric rows (boundary cases) come up often
    entry = st.one_of(st.integers(-3, 3).map(float), st.floats(-8.0, 8.0, allow_nan=False).map(lambda x: round(x, 3)))
    logits = [[draw(entry) for _ in range(N)] for _ in range(T)]
    weights = [draw(st.floats(0.01, 1.0).map(lambda x: round(x, 3))) for _ in range(T)]
    return {"kind": "explicit", "N": N, "S": 1, "logits": logits, "weights": weights, "seed": 0}


@st.composite
def full_support_recipes(draw, profile: str = "quick"):
    """Almost-rank, Dirichlet or explicit tasks with a rank ``d`` (``1 <= d <= N-2`` when N allows)."""
    which = draw(st.sampled_from(["almost-rank", "dirichlet", "explicit"]))
    if which == "almost-rank":
        return draw(almost_rank_recipes(profile))
    r = draw(dirichlet_recipes(profile, min_n=3) if which == "dirichlet" else explicit_recipes(profile))
    T = r["N"] ** r["S"] if which == "dirichlet" else len(r["logits"])
    r["d"] = draw(RANK_D.strategy(r["N"], T))
    return r


@st.composite
def lookup_recipes(draw, profile: str = "quick", *, min_n: int = 3):
    """Noisy look-up tables: entropy a fraction ``entropy_frac`` of ``log N``."""
    N, S = _sizes(draw, min_n=min_n, profile=profile)
    return {"kind": "lookup", "N": N, "S": S,
            "entropy_frac": draw(st.floats(0.001, 0.999)),
            "prior": draw(st.sampled_from(["uniform", "zipf"])), "seed": draw(seeds)}


@st.composite
def association_recipes(draw, profile: str = "quick", *, min_n: int = 2):
    """One-hot rows (Assumption 1)."""
    N, S = _sizes(draw, min_n=min_n, profile=profile)
    return {"kind": "association", "N": N, "S": S,
            "prior": draw(st.sampled_from(["uniform", "zipf"])), "seed": draw(seeds)}


@st.composite
def permutation_recipes(draw, profile: str = "quick"):
    """The hypothesis of ``draft.cor-permutation``: ``V`` a permutation."""
    N, S = _sizes(draw, min_n=3, profile=profile)
    d = draw(st.integers(1, min(N - 1, N**S) - 1))
    return {"kind": "permutation", "N": N, "S": S, "d": d,
            "scale": draw(PERM_SCALE.strategy(N, N**S)),
            "prior": draw(st.sampled_from(["uniform", "zipf"])), "seed": draw(seeds)}


def rng_of(recipe: dict, key: str = "fseed") -> np.random.Generator:
    """A generator for a claim's own random choices, seeded by ``recipe[key]``."""
    return np.random.default_rng(recipe.get(key, 0))
