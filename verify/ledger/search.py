"""The search behind every verdict: structured families, adversarial optimisation, shrinking.

Sampling alone does not find the boundary cases of an inequality: they sit
where the proofs' estimates are tight, on instances a random generator
rarely draws (a prior with two very different scales, a near-uniform row
beside a near-deterministic one, a flat trailing spectrum). The runner
(:mod:`aotmem.verify.ledger.runner`) therefore searches each claim in phases, all
deterministic for a given seed:

1. ``sampling``: Hypothesis draws the claim's own recipes, steered by
   ``target(-rel_margin)`` (the claim's ``instances`` strategy);
2. ``families``: instances from :data:`FAMILIES`, built from the equality
   cases of the proofs, with the claim's own parameters taken from the
   sampled recipes (claims with a :class:`TaskSpace` only);
3. ``optimisation``: from the tightest instances so far, minimise the
   relative margin over the instance's continuous parameters (logits,
   log-prior, the claim's own continuous knobs) with a (1+lambda)
   evolution strategy (each generation one batch) and then
   ``scipy.optimize.minimize(method="Powell")``;
4. a violation is shrunk (:func:`shrink`: drop rows and tokens, lower ``d``,
   round numbers; then Hypothesis shrinks the choice of simplifications)
   and re-checked in 50-digit arithmetic (the claim's ``recheck``).

A :class:`TaskSpace` says how a claim's recipes map to explicit instances
(``kind="explicit"``: ``logits`` ``(T, N)``, prior ``weights`` ``(T,)``) and
back; a claim without one is searched by sampling only (its instances are
structured: association tasks, certified constructions, rank questions).

Searched domain (stated, not hidden): logits in ``[-LOGIT_BOX, LOGIT_BOX]``
and log prior weights in ``[-LOGW_BOX, 0]``; every instance is a valid task
(rows of ``softmax`` sum to 1, full support in float64).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable
from scipy.optimize import minimize

from aotmem.theory.task import Task
from .params import Param, as_param
from .recipes import KNOBS, task_from
from .registry import Evaluation

__all__ = ["LOGIT_BOX", "LOGW_BOX", "FAMILIES", "Param", "as_param", "TaskSpace", "explicit_of", "family_tasks", "optimise",
           "shrink", "recipe_size", "objective_of"]

# Box of the searched domain. |logit| <= 40 spans probabilities down to e^-80 ~ 1e-35
# (far below any bound's resolution), log prior weights down to e^-40 ~ 4e-18.
LOGIT_BOX = 40.0
LOGW_BOX = 40.0
ROW_SCALE_MIN = 1e-8  # smallest row scale ||z_t|| the optimiser reaches (a row that uniform to 1e-8)
# Objective given to an instance that cannot be judged (outside the regime, or the
# evaluation raised): worse than any relative margin, which lies in [-1, 1] for
# inequalities (margin / max(|lhs|, |rhs|)).
BAD = 10.0


# The optimiser's relative margin divides by at least this: float64 computes a side to
# ~1e-16 times the size of its terms (up to ~1e2 here), so differences below 1e-13 are
# rounding and must not look like a relative violation (e.g. a KL of 1e-17 against 0).
NOISE_FLOOR = 1e-13
# Instances whose two sides are both below SIDE_FLOOR score like trivial ones for the optimiser: a
# relative margin there is float64 noise (measured: the ES chased -7% "margins" between sides of 1e-12
# that differ by 7e-14). The runner still records them as suspects and decides them at 50 digits.
SIDE_FLOOR = 1e-10


def objective_of(ev) -> float:
    """What the optimiser minimises: the relative margin (negative = violated); ``BAD`` when not judged.

    For inequalities the margin is divided by ``max(|lhs|, |rhs|)`` alone, not by
    the tolerance: dividing by the tolerance would make every instance whose two
    sides shrink below it look tight (its relative margin tends to 0), and the
    optimiser would chase them. Instances violated below float64's absolute
    tolerance are negative here; the runner decides them at 50 digits
    (``SUSPECT_RTOL``). Identities keep the tolerance-scaled margin. Instances
    with both sides 0, or both below ``SIDE_FLOOR``, score 1: they cannot show a
    violation that float64 resolves.
    """
    if not isinstance(ev, Evaluation) or ev.outside is not None:
        return BAD
    if ev.sense == "==":
        if ev.violated:
            return min(ev.rel_margin, -1e-300) if math.isfinite(ev.rel_margin) else -1.0
        return 1.0 if ev.trivial else (ev.rel_margin if math.isfinite(ev.rel_margin) else BAD)
    scale = max(abs(ev.lhs), abs(ev.rhs), NOISE_FLOOR)
    if not math.isfinite(scale):
        return -1.0 if ev.violated else BAD
    if scale < SIDE_FLOOR and not ev.violated:
        return 1.0  # both sides within 1e3 of float64's resolution: their sign is noise, not a direction
    m = ev.margin / scale
    if ev.violated:
        return min(m, -1e-300)
    return m


# ------------------------------------------------------------- explicit form --

_TASK_KEYS = ("kind", "N", "S", "seed", "logits", "weights")


def explicit_of(recipe: dict) -> dict | None:
    """The recipe with its task written out entry by entry (``kind="explicit"``), or None.

    The claim's own parameters (every key that is not the generator's) are kept;
    ``logits = log pi`` and ``weights = p``. None when the task has a zero
    probability (``log 0``: not representable) or a zero prior weight.
    """
    kind = recipe.get("kind")
    if kind == "explicit":
        return dict(recipe)
    if kind not in KNOBS:
        return None
    task = task_from(recipe)
    if not (np.all(task.cond > 0) and np.all(task.prior > 0)):
        return None
    Z = np.log(task.cond)
    Z -= Z.mean(axis=1, keepdims=True)  # centred: the searched box holds |logit| <= LOGIT_BOX
    if np.any(np.abs(Z) > LOGIT_BOX):
        return None
    drop = set(_TASK_KEYS) | (set(KNOBS[kind]) - {"d"}) | {"entropy_frac"}  # entropy_frac: the lookup generator's
    out = {k: v for k, v in recipe.items() if k not in drop}
    out.update({"kind": "explicit", "N": task.N, "S": task.S, "seed": 0,
                "logits": Z.tolist(), "weights": (task.prior / task.prior.max()).tolist()})
    return out


def with_S(r: dict) -> dict:
    """``r`` with ``S`` = the length of the sequences its task has (``explicit_task``: ``N^S >= T``)."""
    if "logits" not in r:
        return r
    T, N = len(r["logits"]), len(r["logits"][0])
    S = 1
    while N**S < T:
        S += 1
    r["S"], r["N"] = S, N
    return r


def recipe_size(recipe: dict) -> tuple:
    """Order on recipes, smaller is simpler: entries, rows, tokens, ``d``, then the digits written.

    A structured recipe (no ``logits``: :class:`RecipeSpace`) counts its task's ``T = N^S`` rows of ``N`` tokens.
    """
    Z = recipe.get("logits") or [[]]
    T, N = len(Z), len(Z[0])
    if "logits" not in recipe and isinstance(recipe.get("N"), int):  # a structured recipe: its task's size N^S
        N = int(recipe["N"])
        T = N ** int(recipe.get("S", 1))
    digits = sum(len(repr(float(v)).rstrip("0").rstrip(".")) for row in Z for v in row)
    digits += sum(len(repr(float(v)).rstrip("0").rstrip(".")) for v in recipe.get("weights", []))
    own = [v for k, v in recipe.items()  # the claim's own numbers (eps, scale, H, seeds)
           if k not in ("logits", "weights", "N", "S", "seed", "d") and isinstance(v, (int, float))
           and not isinstance(v, bool)]
    digits += sum(len(repr(v)) for v in own)
    # (a smaller d is simpler: smaller widths, smaller ranks; then smaller numbers: fewer heads, lower seeds)
    return (T * N, T, N, recipe.get("d", 0), digits, sum(abs(float(v)) for v in own))


# ------------------------------------------------------------------ families --
# Each family draws (Z (T, N), log-weights (T,)) for the given sizes, from the
# equality cases of the proofs. ``rng`` is the claim's generator (deterministic).


def _row_near_uniform(rng, N):
    return 10.0 ** rng.uniform(-4, -0.5) * rng.standard_normal(N)


def _row_near_deterministic(rng, N):
    z = rng.standard_normal(N)
    z[rng.integers(N)] += 10.0 ** rng.uniform(0.4, 1.4)
    return z


def _row_random(rng, N):
    return 10.0 ** rng.uniform(-1, 0.7) * rng.standard_normal(N)


_ROWS = (_row_near_uniform, _row_near_deterministic, _row_random)


def _two_scales(rng, T):
    """Log prior weights taking two values 10^-k apart (k up to 10), each row on one scale."""
    k = rng.uniform(0, 10) * math.log(10)
    lw = np.where(rng.random(T) < 0.5, 0.0, -k)
    if T > 1 and np.all(lw == lw[0]):
        lw[rng.integers(T)] = -k if lw[0] == 0 else 0.0
    return lw


def _fam_two_scale(rng, T, N, d):
    """Prior on two scales, each scale with its own row type (near-uniform, near-deterministic, random).

    The seed and draft bounds are tight where a heavy group of rows of one kind
    sits beside a light group of the other: prior-weighted fits then ignore the
    light rows, while an unweighted sigma_{d+1} sees them.
    """
    lw = _two_scales(rng, T)
    kinds = {0.0: rng.integers(3), -1.0: rng.integers(3)}
    Z = np.stack([_ROWS[kinds[0.0] if lw[t] == 0 else kinds[-1.0]](rng, N) for t in range(T)])
    return Z, lw


def _fam_heavy_flat(rng, T, N, d):
    """Heavy near-uniform rows beside light near-deterministic ones (prior ratio 1e-3..1e-9).

    Where the weighted fits and the unweighted ``sigma_{d+1}`` part ways most: the
    fit follows the heavy rows, the spectrum sees the flat rows as nearly zero,
    and the light rows' misfit enters the divergence with their weight.
    """
    light = rng.random(T) < 0.5
    if T > 1 and light.all():
        light[rng.integers(T)] = False
    if T > 1 and not light.any():
        light[rng.integers(T)] = True
    k = rng.uniform(3, 9) * math.log(10)
    Z = np.stack([_row_near_deterministic(rng, N) if light[t] else 10.0 ** rng.uniform(-4, -1.5) * rng.standard_normal(N)
                  for t in range(T)])
    lw = np.where(light, -k + rng.normal(0, 0.5, T), rng.normal(0, 0.3, T))
    return Z, lw


def _fam_mixed_rows(rng, T, N, d):
    """A near-uniform and a near-deterministic row at least, any prior (entropies far apart)."""
    kinds = [0, 1] + list(rng.integers(0, 3, size=max(0, T - 2)))
    rng.shuffle(kinds)
    Z = np.stack([_ROWS[k](rng, N) for k in kinds[:T]])
    return Z, rng.normal(0, 2.0, T) if rng.random() < 0.5 else _two_scales(rng, T)


def _fam_flat_tail(rng, T, N, d):
    """Centred logits ``U diag(s) V^T`` with a flat trailing spectrum ``s_{d+1} = ... = s_r``."""
    r = min(T, N - 1)
    if r < 1:
        return _fam_two_scale(rng, T, N, d)
    U = np.linalg.qr(rng.standard_normal((T, r)))[0]
    C = np.eye(N) - 1.0 / N
    V = np.linalg.qr(C @ rng.standard_normal((N, r)))[0][:, :r]  # columns orthogonal to 1
    head = np.sort(10.0 ** rng.uniform(0, 1, size=min(d, r)))[::-1]
    tail = np.full(r - head.size, 10.0 ** rng.uniform(-2.5, 0.5))
    s = np.concatenate([head, tail])
    Z = (U * s) @ V.T
    return Z, rng.normal(0, 1.0, T) if rng.random() < 0.5 else _two_scales(rng, T)


def _fam_near_rank(rng, T, N, d):
    """Rank-``d`` logits plus a small perturbation (``sigma_{d+1}`` near 0)."""
    Z = rng.standard_normal((T, d)) @ rng.standard_normal((d, N)) * 10.0 ** rng.uniform(-0.5, 1)
    Z += 10.0 ** rng.uniform(-5, -1) * rng.standard_normal((T, N))
    return Z, rng.normal(0, 1.0, T) if rng.random() < 0.5 else _two_scales(rng, T)


def _fam_peaked(rng, T, N, d):
    """Every row near-deterministic with its own peak height (look-up tables with mixed entropies)."""
    Z = 0.3 * rng.standard_normal((T, N))
    Z[np.arange(T), rng.integers(N, size=T)] += rng.uniform(0, 25, size=T)
    return Z, rng.normal(0, 1.0, T) if rng.random() < 0.5 else _two_scales(rng, T)


def _fam_entropy_spread(rng, T, N, d):
    """Two rows at least, each of moderate entropy, the entropies spread apart (scales 0.1 .. 3).

    The paper's simplified look-up bound replaces ``E_t[q_t psi(h_t)]`` by ``E_t[q_t] psi(E_t h_t)``:
    a Jensen step that is loose exactly when rows of one task have different entropies and none
    is near one-hot (``q_t`` not small) or uniform (``psi`` not 0).
    """
    T = max(T, 2) if N >= 2 else T
    a = 10.0 ** rng.uniform(-1, 0.5, size=T)
    Z = a[:, None] * rng.standard_normal((T, N))
    return Z, rng.normal(0, 1.0, T)


#: Structured families, by name (``family_tasks`` cycles through them).
FAMILIES: dict[str, Callable] = {
    "two-scale": _fam_two_scale,
    "heavy-flat": _fam_heavy_flat,
    "mixed-rows": _fam_mixed_rows,
    "flat-tail": _fam_flat_tail,
    "near-rank": _fam_near_rank,
    "peaked": _fam_peaked,
    "entropy-spread": _fam_entropy_spread,
}


def family_tasks(rng, T: int, N: int, d: int, names=tuple(FAMILIES)):
    """One ``(family, Z, log-weights)`` draw from a family chosen by ``rng`` among ``names``."""
    name = names[rng.integers(len(names))]
    Z, lw = FAMILIES[name](rng, T, N, max(1, d))
    Z = np.clip(Z - Z.max(axis=1, keepdims=True) / 2, -LOGIT_BOX, LOGIT_BOX)  # shift only: same softmax
    lw = np.clip(lw - lw.max(), -LOGW_BOX, 0.0)
    return name, Z, lw


# --------------------------------------------------------------------- space --


@dataclass(frozen=True)
class TaskSpace:
    """A claim's whole regime as a search space: the task's entries and every parameter of the statement.

    Parameters
    ----------
    params : tuple of :class:`Param`
        The claim's parameters besides the task (``d``, ``C`` through ``d``, ``eps``, the
        draws of a construction, ...), each with its regime's limits. They are coordinates
        of the optimiser, drawn over their whole range by the families (once per chunk of
        family instances, so that a batch evaluator gets whole batches) and by the claim's
        sampler where it uses :meth:`Param.strategy`, and lowered by the shrinker.
    extras : tuple of ``(key, lo, hi, scale)``
        The older spelling of ``params`` (converted to :class:`Param`).
    max_t : largest number of rows of a family instance.
    rank_key : the parameter that plays the rank ``d`` for the families (``d_claim`` where ``d`` is a
        generator's knob).
    rows_at_least_d : family instances have ``T >= d`` rows (the rank-d fits need it; the
        look-up claims' ``d`` is an embedding width, not a rank of the task).
    names : the families used.
    """

    params: tuple = ()
    extras: tuple = ()
    max_t: int = 8
    rows_at_least_d: bool = True
    names: tuple = tuple(FAMILIES)
    rank_key: str = "d"  # the parameter the families' rank-d structure (near-rank, flat-tail) follows

    def __post_init__(self) -> None:
        ps = tuple(as_param(p) for p in tuple(self.params) + tuple(self.extras))
        if len({p.name for p in ps}) != len(ps):
            raise ValueError(f"`params` names must be distinct (got {[p.name for p in ps]})")
        object.__setattr__(self, "params", ps)
        object.__setattr__(self, "extras", ())

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def encode(self, recipe: dict) -> np.ndarray:
        """``x = [log row scales (T), row directions (T*N), log weights (T), params]`` of an explicit recipe.

        Row ``t``'s centred logits are ``a_t u_t`` with ``a_t = ||z_t||`` and ``||u_t|| = 1``: the
        optimiser moves the scale in log space, so near-uniform rows (``a_t -> 0``) and
        near-deterministic ones (``a_t`` large) are a few steps apart, as in the proofs' tight cases.
        Parameters on a log scale (``d``, ``eps``, ...) are moved in log space too.
        """
        Z = np.asarray(recipe["logits"], dtype=np.float64)
        Z = Z - Z.mean(axis=1, keepdims=True)
        a = np.linalg.norm(Z, axis=1)
        U = Z / np.where(a > 0, a, 1.0)[:, None]
        la = np.log(np.maximum(a, ROW_SCALE_MIN))
        w = np.asarray(recipe["weights"], dtype=np.float64)
        lw = np.log(w / w.max())
        ex = [p.encode(recipe[p.name]) for p in self.params]
        return np.concatenate([la, U.ravel(), lw, np.asarray(ex, dtype=np.float64)])

    def decode(self, x: np.ndarray, like: dict) -> dict:
        """The explicit recipe of ``x``, with the other parameters of ``like``; ``x`` is kept in the regime."""
        T, N = len(like["logits"]), len(like["logits"][0])
        la = np.clip(x[:T], math.log(ROW_SCALE_MIN), math.log(LOGIT_BOX * math.sqrt(N)))
        U = x[T: T + T * N].reshape(T, N)
        U = U - U.mean(axis=1, keepdims=True)
        nu = np.linalg.norm(U, axis=1)
        U = U / np.where(nu > 0, nu, 1.0)[:, None]
        Z = np.clip(np.exp(la)[:, None] * U, -LOGIT_BOX, LOGIT_BOX)
        lw = x[T + T * N: T + T * N + T]
        lw = np.clip(lw - lw.max(), -LOGW_BOX, 0.0)
        out = dict(like)
        out["logits"] = Z.tolist()
        out["weights"] = np.exp(lw).tolist()
        for i, p in enumerate(self.params):
            out[p.name] = p.decode(x[T + T * N + T + i], N, T)
        return with_S(out)

    def draw_params(self, rng, like: dict) -> dict:
        """``like`` with every parameter redrawn over its whole range (limits included; rows up to ``max_t``)."""
        N = len(like["logits"][0]) if "logits" in like else like["N"]
        out = dict(like)
        for p in self.params:
            out[p.name] = p.draw(rng, N, max(self.max_t, 1))
        return out

    def family_rows(self, rng, like: dict) -> int:
        """A number of rows for family instances like ``like``: small first (the sharp cases need few rows)."""
        d = int(like.get(self.rank_key, 1))
        tmin = max(1, d) if self.rows_at_least_d else 1
        return int(min(tmin + rng.geometric(0.45) - 1, max(tmin, self.max_t)))

    def family_recipe(self, rng, like: dict, max_n: int, T: int | None = None) -> tuple[str, dict]:
        """A family instance carrying ``like``'s claim parameters (``d`` and the rest), same ``N``, ``T`` rows.

        The parameters are ``like``'s: :meth:`draw_params` redraws them (once per chunk).
        """
        N = len(like["logits"][0])
        d = int(like.get(self.rank_key, 1))
        T = self.family_rows(rng, like) if T is None else T
        name, Z, lw = family_tasks(rng, T, N, min(d, N - 1), self.names)
        out = dict(like)
        out["logits"] = Z.tolist()
        out["weights"] = np.exp(lw).tolist()
        return name, with_S(out)

    def describe(self) -> dict:
        """The searched coordinates, for the evidence."""
        return {"task": "explicit logits (T, N) in the box |z| <= %g and log prior weights >= -%g" % (LOGIT_BOX, LOGW_BOX),
                "params": {p.name: p.describe() for p in self.params}}


# ----------------------------------------------------------------- optimiser --


@dataclass
class OptimResult:
    """Outcome of one optimisation run from one start."""

    recipe: dict
    value: float
    evaluations: int
    found: bool  # a hit (by default a float64 violation) was reached
    moved: tuple = ()  # the claim parameters whose value differs between the start and the result


def optimise(evaluate_many, space: TaskSpace, start: dict, rng, *, evals: int, population: int = 16,
             polish: int = 0, is_hit=None) -> OptimResult:
    """Minimise :func:`objective_of` from ``start`` by a (1+lambda) evolution strategy, then Powell.

    ``evaluate_many(recipes) -> list of Evaluation or Exception`` (one batch per
    generation). Step size: one fifth success rule per generation, per
    coordinate scale ``sigma * (1 + |x|)/2``. Stops at the first instance
    ``is_hit(ev)`` accepts (default: a float64 violation); a negative objective
    that is not a hit (violated only below float64's tolerance) is pushed
    further. ``polish`` Powell evaluations follow (``scipy.optimize.minimize``)
    when no hit was found.
    """
    hit = is_hit or (lambda ev: isinstance(ev, Evaluation) and ev.outside is None and ev.violated)
    x = space.encode(start)
    best_r = start
    ev0 = evaluate_many([start])[0]
    fx, found = objective_of(ev0), hit(ev0)
    used = 1
    sigma = 0.3
    while used + population <= evals and not found:
        eps = rng.standard_normal((population, x.size))
        # mix of coordinate-wise and global moves: a few coordinates at a time are what near-singular
        # boundaries need (one row's scale, one logit), dense moves explore
        sparse = rng.random(population) < 0.5
        mask = rng.random((population, x.size)) < np.maximum(2.0 / x.size, 0.1)
        eps = np.where(sparse[:, None], eps * mask, eps)
        cand = x + sigma * eps * (1.0 + np.abs(x)) / 2
        recs = [space.decode(c, start) for c in cand]
        evs = evaluate_many(recs)
        vals = np.array([objective_of(e) for e in evs])
        used += population
        hits = [j for j, e in enumerate(evs) if hit(e)]
        if hits:
            j = min(hits, key=lambda j: vals[j])
            x, fx, best_r, found = space.encode(recs[j]), float(vals[j]), recs[j], True
            break
        i = int(np.argmin(vals))
        if vals[i] < fx:
            x, fx, best_r = space.encode(recs[i]), float(vals[i]), recs[i]
            sigma = min(sigma * 1.5, 4.0)
        else:
            sigma = max(sigma * 0.7, 1e-4)
    if not found and polish > 0:
        state = {"best": (fx, best_r), "used": 0, "found": False}

        class _Found(Exception):
            pass

        def f(z):
            r = space.decode(z, start)
            ev = evaluate_many([r])[0]
            v = objective_of(ev)
            state["used"] += 1
            if v < state["best"][0]:
                state["best"] = (v, r)
            if hit(ev):
                state["best"], state["found"] = (v, r), True
                raise _Found
            return v

        try:
            minimize(f, x, method="Powell", options={"maxfev": polish, "xtol": 1e-6, "ftol": 1e-12})
        except _Found:
            pass
        used += state["used"]
        fx, best_r = state["best"]
        found = state["found"]
    moved = tuple(p.name for p in space.params if best_r.get(p.name) != start.get(p.name))
    return OptimResult(best_r, float(fx), used, found, moved)


# ------------------------------------------------------------------- shrinking --


def _candidates(r: dict, params=()):
    """Simpler explicit recipes than ``r``, most aggressive first (one change each).

    ``params``: the claim's :class:`Param` s; each is lowered towards its regime's lower
    limit and rounded (without them, ``d`` is lowered by one).
    """
    if "logits" not in r:  # a structured recipe (RecipeSpace): only its parameters are simplified
        yield from _param_candidates(r, params, *RecipeSpace.size(r))
        return
    Z = [list(row) for row in r["logits"]]
    w = list(r["weights"])
    T, N = len(Z), len(Z[0])
    if T > 1:
        for t in range(T):
            c = dict(r)
            c["logits"] = Z[:t] + Z[t + 1:]
            c["weights"] = w[:t] + w[t + 1:]
            yield c
    if N > 2:
        for o in range(N):
            c = dict(r)
            c["logits"] = [row[:o] + row[o + 1:] for row in Z]
            c["N"] = N - 1
            yield c
    yield from _param_candidates(r, params, N, T)
    if not any(p.name == "d" for p in params) and r.get("d", 1) > 1:
        c = dict(r)
        c["d"] = r["d"] - 1
        yield c
    for digits in (0, 1, 2, 3):
        c = dict(r)
        c["logits"] = [[_round(v, digits) for v in row] for row in Z]
        if c["logits"] != Z:
            yield c
        c = dict(r)
        c["weights"] = [_round_weight(v, digits) for v in w]
        if c["weights"] != w:
            yield c
    for t in range(T):
        for o in range(N):
            if Z[t][o] != 0.0:
                c = dict(r)
                c["logits"] = [list(row) for row in Z]
                c["logits"][t][o] = 0.0
                yield c


def _param_candidates(r: dict, params, N: int, T: int):
    """``r`` with one of its parameters simplified (:meth:`Param.simpler`), each in turn."""
    for p in params:
        if p.name in r:
            for v in p.simpler(r[p.name], N, T):
                yield dict(r, **{p.name: v})


def _round(v: float, digits: int) -> float:
    return float(round(float(v), digits)) + 0.0


def _round_weight(v: float, digits: int) -> float:
    """A weight to ``digits + 1`` significant digits (weights span many scales)."""
    if v <= 0:
        return v
    e = math.floor(math.log10(v))
    return float(round(v / 10.0**e, digits) * 10.0**e)


def shrink(recipe: dict, violates: Callable[[dict], bool], *, max_tries: int = 400, hypothesis_tries: int = 150,
           seed: int = 0, params=()) -> tuple[dict, int]:
    """The smallest explicit recipe found that still violates; returns ``(recipe, evaluations)``.

    Greedy first (:func:`_candidates`: drop a row or a token, lower ``d``, round
    the numbers, zero an entry; accept any simpler candidate that still
    violates, repeat), then Hypothesis's shrinker over the choice, per entry,
    of ``0``, its rounding to 0-3 digits, or itself, and per row of keeping it
    (``hypothesis.find``: it minimises the choices, simplest first).
    """
    best = recipe
    tries = 0
    improved = True
    while improved and tries < max_tries:
        improved = False
        for c in map(with_S, _candidates(best, params)):
            tries += 1
            if recipe_size(c) < recipe_size(best) and violates(c):
                best, improved = c, True
                break
            if tries >= max_tries:
                break
    if "logits" not in best:
        return best, tries
    h, n = _hypothesis_shrink(best, violates, hypothesis_tries, seed)
    if h is not None and recipe_size(h) < recipe_size(best):
        best = h
    return best, tries + n


def _hypothesis_shrink(r: dict, violates, tries: int, seed: int):  # noqa: ARG001 (derandomized)
    Z, w = r["logits"], r["weights"]
    T = len(Z)
    entry = lambda v: st.sampled_from(list(dict.fromkeys([0.0, _round(v, 0), _round(v, 1), _round(v, 2), float(v)])))
    weight = lambda v: st.sampled_from(list(dict.fromkeys([1.0, _round_weight(v, 0), _round_weight(v, 1), float(v)])))
    rows = st.tuples(*[st.tuples(st.booleans().map(lambda b: not b),  # shrinks to "keep"
                                 st.tuples(*[entry(v) for v in Z[t]]), weight(w[t])) for t in range(T)])
    count = [0]

    def build(choice):
        kept = [(z, ww) for keep, z, ww in choice if keep]
        if not kept:
            return None
        c = dict(r)
        c["logits"] = [list(z) for z, _ in kept]
        c["weights"] = [ww for _, ww in kept]
        return with_S(c)

    def cond(choice):
        c = build(choice)
        count[0] += 1
        return c is not None and violates(c)

    try:
        found = find(rows, cond, settings=settings(
            database=None, max_examples=tries, derandomize=True, verbosity=Verbosity.quiet, deadline=None,
            suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink)))
    except (NoSuchExample, Unsatisfiable):
        return None, count[0]
    return build(found), count[0]


def recipe_key(recipe: dict) -> str:
    return json.dumps(recipe, sort_keys=True, default=str)


def is_valid_task(recipe: dict) -> bool:
    """An explicit recipe whose task passes the package's own validation."""
    try:
        t = task_from(recipe)
    except ValueError:
        return False
    return isinstance(t, Task)


__all__ += ["OptimResult", "recipe_key", "is_valid_task", "with_S"]


# --------------------------------------------------------------- recipe space --


@functools.lru_cache(maxsize=4096)
def _param_strategy(p: Param, N: int, T: int):
    """``p.strategy(N, T)``, built once per limits: a sampler that draws sizes first builds the next parameters'
    strategies on every draw, and Hypothesis's targeting phase makes tens of thousands of draws (measured: 7 ms
    each, 200 s of paper.prop3[rate-upper]'s full profile, without this cache)."""
    return p.strategy(N, T)


@dataclass(frozen=True)
class RecipeSpace:
    """The search space of a claim whose instances are structured recipes (not explicit logits).

    Association tasks, rank questions and capacity formulas are built from a few integers (``N``,
    ``S``, ``d``, ``d_h``, ``H``, a draw's seed) that a table of logits cannot carry. Their whole
    regime is the claim's :class:`Param` s: the families redraw them over their whole range (limits
    included), the optimiser moves them, the shrinker lowers them, the limit probe follows them.
    ``choices`` are the categorical parameters (e.g. ``qk``), redrawn by the families. The task's
    size ``(N, S)`` is the sampled recipe's; ``T = N**S`` bounds the parameters that depend on it.
    """

    params: tuple = ()
    choices: tuple = ()  # ((key, (value, ...)), ...)
    seed_key: str | None = "seed"
    # a joint condition of the regime the Params cannot state one by one (e.g. T_0 = H d_h + d <= N^S): the
    # families redraw (up to 20 times) until it holds, rather than spend their draws outside the regime
    valid: Callable | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(as_param(p) for p in self.params))

    def finish(self, recipe: dict) -> dict:
        """A drawn recipe made consistent (a subclass's hook; here the recipe as drawn)."""
        return recipe

    @staticmethod
    def size(recipe: dict) -> tuple[int, int]:
        N = int(recipe["N"])
        return N, N ** int(recipe.get("S", 1))

    def explicit(self, recipe: dict) -> dict:
        """The recipe itself: its structure is the claim's hypothesis, a table of logits would lose it."""
        return dict(recipe)

    def shape(self, recipe: dict) -> tuple:
        return (recipe.get("N"), recipe.get("S"))

    def encode(self, recipe: dict) -> np.ndarray:
        return np.asarray([p.encode(recipe[p.name]) for p in self.params if p.name in recipe], dtype=np.float64)

    def decode(self, x: np.ndarray, like: dict) -> dict:
        """The recipe at ``x``; each parameter's limits are those of the sizes decoded before it.

        A space may list the task's sizes ``N`` and ``S`` as parameters (the statement quantifies
        over every size): listed first, the limits of ``d`` and the rest follow the new size.
        """
        out = dict(like)
        names = [p for p in self.params if p.name in like]
        for i, p in enumerate(names):
            out[p.name] = p.decode(x[i], *self.size(out))
        return out

    def draw_params(self, rng, like: dict, *, keep: tuple = ()) -> dict:
        """``like`` with every parameter but those named in ``keep`` redrawn over its whole range (up to 20
        tries for ``valid``), then the choices and a fresh seed."""
        for _ in range(20):
            out = dict(like)
            for p in self.params:  # (sizes first where the space lists them: the next limits follow them)
                if p.name not in keep:
                    out[p.name] = p.draw(rng, *self.size(out))
            out = self.finish(out)
            if self.valid is None or self.valid(out):
                break
        for key, values in self.choices:
            out[key] = values[int(rng.integers(len(values)))]
        if self.seed_key is not None:
            out[self.seed_key] = int(rng.integers(2**16))
        return out

    def recipes(self, base: dict):
        """The sampler's strategy: ``base`` with every parameter drawn by :meth:`Param.strategy` (sizes first).

        The claim's sampler and the search then draw from the same ranges (the regime stated once);
        recipes outside the joint condition ``valid`` are filtered out.
        """
        @st.composite
        def build(draw):
            out = dict(base)
            for p in self.params:
                out[p.name] = draw(_param_strategy(p, *self.size(out)))
            return out
        return build() if self.valid is None else build().filter(self.valid)

    def family_rows(self, rng, like: dict) -> int:  # noqa: ARG002 (no rows to choose: the recipe builds its task)
        return 1

    def family_recipe(self, rng, like: dict, max_n: int, T: int | None = None) -> tuple[str, dict]:  # noqa: ARG002
        """``like`` with its parameters (and draw) redrawn over the whole regime: the family ``regime``."""
        return "regime", self.draw_params(rng, like)

    def describe(self) -> dict:
        return {"task": "the claim's structured recipe (its N and S as sampled)",
                "params": {p.name: p.describe() for p in self.params},
                "choices": {k: list(v) for k, v in self.choices}}


__all__ += ["RecipeSpace"]
