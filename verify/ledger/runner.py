"""The runner: search each claim for violations, and give a verdict with its evidence.

Each claim is searched in phases (:mod:`aotmem.verify.ledger.search` explains why):
``sampling`` (Hypothesis, steered by ``target(-rel_margin)``), then, for claims
with a :class:`~aotmem.verify.ledger.search.TaskSpace`, ``families`` (structured
instances from the proofs' equality cases) and ``optimisation`` (evolution
strategy and Powell from the tightest instances). A violation is shrunk and
re-checked in 50-digit arithmetic before it is reported.

Verdicts (``VERDICTS``):

- ``holds``: no instance violated. The evidence says how hard it was searched:
  instances per method, the tightest relative margin and the largest ratio
  ``lhs/rhs``, each with its (replayable) instance;
- ``fails``: a violation beyond the claim's tolerance, shrunk, re-checked in
  extended precision (or, where no re-check exists, saying so), with both
  sides and a command that reproduces it. For an existence claim (kind
  ``construction``) only a *certified* violation (no object can reach it);
- ``no-witness``: an existence claim whose witness missed on some instance
  (a finding about the witness, with its shortfall), and no certificate;
- ``vacuous``: every instance fell outside the claim's regime (reason given);
- ``unverifiable``: the claim cannot be checked (standing reason, or every
  evaluation raised).

Reproducibility: each claim's Hypothesis seed is ``crc32("<seed>:<id>")`` (the
claim id: its readings and corrected forms start from the same instances);
the families and the optimiser draw from ``numpy.random.default_rng`` seeded by
``crc32("<seed>:<key>")``; the example database is off; evaluations are
cached per recipe. So the same ``--seed`` gives the same verdicts, whatever
the number of workers (claims are independent units of work). A per-claim
time budget is a safety net only: once spent, new instances are skipped
(counted in ``skipped``) and the verdict says so.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
import warnings
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

import mpmath
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisDeprecationWarning

from aotmem.theory.lowrank import IllConditioned
from aotmem.theory.precise import DPS
from .parallel import map_claims
from .recipes import limits
from .registry import Claim, Evaluation, get, select
from .search import LOGIT_BOX, explicit_of, objective_of, optimise, recipe_key, recipe_size, shrink

__all__ = ["VERDICTS", "PROFILES", "TARGET_INSTANCES", "Result", "run_claim", "run_claims", "run_key", "claim_seed"]

VERDICTS = ("holds", "fails", "no-witness", "vacuous", "unverifiable")

# Instances per claim, by cost class and phase, and the per-claim time budget
# (seconds, a safety net far above any claim's normal time: verdicts must not
# depend on the machine's speed, so a run that hits it says so).
# quick: under 2 minutes on 2 cores, and enough to find the sharp cases of the
# bounds (families + optimisation); full: at least TARGET_INSTANCES per claim
# where one instance costs milliseconds; expensive claims (an optimiser or a
# construction per instance) say how many they could afford.
PROFILES = {
    "quick": {"sample": {"cheap": 40, "medium": 15, "expensive": 4},
              "families": {"cheap": 500, "medium": 400, "expensive": 0},
              "starts": {"cheap": 3, "medium": 2, "expensive": 0},
              "evals": {"cheap": 200, "medium": 120, "expensive": 0},
              "polish": {"cheap": 100, "medium": 40, "expensive": 0},
              "batched": 5,
              "budget_s": 60.0},
    "full": {"sample": {"cheap": 1000, "medium": 400, "expensive": 25},
             "families": {"cheap": 7000, "medium": 7000, "expensive": 20},
             "starts": {"cheap": 6, "medium": 6, "expensive": 1},
             "evals": {"cheap": 400, "medium": 400, "expensive": 30},
             "polish": {"cheap": 200, "medium": 200, "expensive": 0},
             "batched": 2,
             "budget_s": 900.0},
}
# The full profile's promise for a `holds`: at least this many instances evaluated.
TARGET_INSTANCES = {"quick": None, "full": 10_000}
# Claims without a TaskSpace are searched by sampling only; the full profile
# then samples this many for cheap claims (Hypothesis stops earlier when the
# claim's instance space is smaller).
SAMPLE_ONLY_FULL = 10_000
BATCH = 64  # instances per call of a claim's batch evaluator
# A claim with a batch evaluator gets PROFILES[profile]["batched"] times the profile's family
# instances and optimiser evaluations: the batch makes them 10-60x cheaper
# (benchmarks/bench_batch.py), and the families are where the sharp cases of the bounds come
# from. quick: 5 (its few instances are its whole search); full: 2, which still gives a batched
# claim about 25,000 instances (2.5x TARGET_INSTANCES): at 5 the 18 batched bounds judged
# about 60,000 each and took 913 s of the 2,346 s full run of 2026-12-06, over the 30-minute promise.
# Below float64's absolute tolerance (KL_ATOL = 1e-9, sized for the worst rounding of a
# divergence with |f| up to 1e3), an instance whose two sides are tiny can still be
# violated by far more than its own rounding. Such an instance, lhs beyond rhs by more
# than SUSPECT_RTOL relative (1e7 times float64's eps), is a *suspect*; for claims with
# an extended-precision re-check, the SUSPECTS most violated are decided at 50 digits
# with the relative tolerance MP_RTOL alone: far above the 1e-25 resolution there and
# above the relative stopping tolerance of the iterative maps (1e-10).
SUSPECT_RTOL = 1e-9
MP_RTOL = 1e-9
# ... and by more than SUSPECT_ATOL absolute: float64 computes a side as a sum of terms of
# size up to ~1e2 (|logit| <= 40 plus |log pi|) to ~1e-16 each, so differences below 1e-13
# are its rounding (e.g. a KL of 2e-16 against an exact 0): never a suspect. The 50-digit
# decision then uses tol = SUSPECT_ATOL + MP_RTOL |rhs| (instead of float64's
# KL_ATOL + KL_RTOL |rhs|).
SUSPECT_ATOL = 1e-13
SUSPECTS = {"quick": 3, "full": 10}


class _Violation(Exception):
    """Raised inside the Hypothesis test when an instance violates the claim."""

    def __init__(self, recipe: dict, ev: Evaluation):
        super().__init__(f"violation on {recipe}")
        self.recipe = recipe
        self.ev = ev


class _Budget(Exception):
    """The per-claim time budget is spent."""


class Hit(NamedTuple):
    """A violating instance met by a search phase."""

    recipe: dict
    ev: Evaluation


class Found(NamedTuple):
    """A violating instance and the search method that found it (``sampling``, ``families``, ...)."""

    recipe: dict
    ev: Evaluation
    method: str


class Finalised(NamedTuple):
    """A violation after shrinking and re-checking: the reported counterexample (``recipe`` and ``ev`` None when
    the re-check confirmed none of the candidates) and ``info`` (how it was found, shrunk and re-checked)."""

    recipe: dict | None
    ev: Evaluation | None
    info: dict


class Ranked(NamedTuple):
    """An instance kept for its rank: the tightest (``rank`` = ``(trivial, rel_margin)``), the largest ratio
    (``rank`` = the ratio) or the worst witness miss (``rank`` = its relative margin)."""

    rank: tuple | float
    recipe: dict
    ev: Evaluation
    method: str


class Suspect(NamedTuple):
    """An instance violated below float64's absolute tolerance, to be decided at 50 digits."""

    rel_margin: float
    key: str
    recipe: dict
    ev: Evaluation
    method: str


@dataclass
class Result:
    """The verdict on one claim, with everything a report needs (JSON-able via ``as_dict``)."""

    key: str
    id: str
    reading: str
    source: str
    kind: str
    statement: str
    regime: str
    verdict: str
    instances: int = 0
    outside: int = 0
    errors: int = 0
    skipped: int = 0
    tightest: dict | None = None
    counterexample: dict | None = None
    reason: str = ""
    wall_s: float = 0.0
    seed: int = 0
    corrects: str | None = None
    note: str = ""
    error_samples: list = field(default_factory=list)
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def margin_text(self) -> str:
        """The tightest relative margin, formatted (``-`` when none)."""
        if not self.tightest:
            return "-"
        rm = self.tightest["evaluation"]["rel_margin"]
        mp = self.tightest.get("at_50_digits") or {}
        if mp.get("rel_margin") is not None:  # float64 could not resolve it: the 50-digit value
            rm = mp["rel_margin"]
        return "-" if rm is None else f"{rm:+.3g}"

    def ratio_text(self) -> str:
        """The largest ratio lhs/rhs found, formatted (``-`` when none)."""
        mr = (self.evidence or {}).get("max_ratio")
        return "-" if not mr else f"{mr['ratio']:.3g}"

    def methods_text(self) -> str:
        """Instances per search method, abbreviated (``S`` sampling, ``F`` families, ``O`` optimisation)."""
        m = (self.evidence or {}).get("methods") or {}
        abbrev = {"sampling": "S", "families": "F", "optimisation": "O"}
        return "+".join(f"{abbrev[k]}{v}" for k, v in m.items() if k in abbrev and v) or "-"


# The private names of ``hypothesis.internal.conjecture.providers`` that :func:`_no_local_constants`
# patches. Hypothesis (6.155) has no public hook to turn off its pool of local-module constants (no
# setting, no environment variable), so the runner patches these; tests/test_runner.py
# (test_hypothesis_private_names_still_exist) FAILS when Hypothesis renames or reshapes any of them,
# instead of the patch silently doing nothing (the ``except`` below) and verdicts drifting with import order.
HYPOTHESIS_PRIVATE_NAMES = ("_local_constants", "_get_local_constants", "CONSTANTS_CACHE", "float_to_int")


@contextlib.contextmanager
def _no_local_constants():
    """Make Hypothesis's generation independent of which modules happen to be imported.

    Hypothesis (>= 6.13x) mixes into generation the literal constants it finds
    in the *local* modules loaded so far (``sys.modules``), cached on first
    use. So the same ``@seed`` draws different examples depending on what
    earlier claims imported: verdicts would depend on the run's order (and on
    the worker a claim runs in). Inside the runner the local pool is empty (the
    global pool of edge-case constants stays). Internal API (:data:`HYPOTHESIS_PRIVATE_NAMES`, no public
    hook exists): if it is absent, nothing is patched here, and the guard test fails.
    """
    try:
        from hypothesis.internal.conjecture import providers as prov

        local = prov._local_constants
        empty = type(local)(**{f: type(getattr(local, f))(**({"key": prov.float_to_int} if f == "floats" else {}))
                               for f in ("integers", "floats", "bytes", "strings")})
        saved_fn, saved_cache = prov._get_local_constants, prov.CONSTANTS_CACHE
        fresh = type(saved_cache)(saved_cache.max_size)
    except Exception:  # a Hypothesis without the feature, or a changed internal layout
        yield
        return
    prov._get_local_constants, prov.CONSTANTS_CACHE = (lambda: empty), fresh
    try:
        yield
    finally:
        prov._get_local_constants, prov.CONSTANTS_CACHE = saved_fn, saved_cache


def claim_seed(seed: int, key: str) -> int:
    """The seed of claim id (or key) ``key`` under run seed ``seed``."""
    return zlib.crc32(f"{int(seed)}:{key}".encode())


def _reproduce(claim: Claim, recipe: dict, seed: int) -> str:
    if hasattr(claim, "reproduce_command"):  # a user's claim (verify/ledger/userclaims.py): not in the registry
        return claim.reproduce_command(recipe, seed)
    rec = json.dumps(recipe, sort_keys=True)
    return (f"python -c 'from aotmem.verify.ledger.registry import evaluate; "
            f"print(evaluate(\"{claim.key}\", {rec}).as_dict())'  "
            f"# or: aotmem verify --claims \"{claim.key}\" --seed {seed}")


def _base(claim: Claim, verdict: str, seed: int, reason: str = "") -> Result:
    return Result(key=claim.key, id=claim.id, reading=claim.reading, source=claim.source, kind=claim.kind,
                  statement=claim.statement, regime=claim.regime, verdict=verdict, reason=reason, seed=seed,
                  corrects=claim.corrects, note=claim.note)


class _Search:
    """The evaluations of one claim: cache, per-method tallies, tightest and largest-ratio instances."""

    def __init__(self, claim: Claim, budget_s: float):
        self.claim = claim
        self.t0 = time.perf_counter()
        self.budget_s = budget_s
        self.cache: dict[str, Evaluation | Exception] = {}
        self.method_of: dict[str, str] = {}
        self.outside: Counter = Counter()
        self.errors: dict[str, str] = {}
        self.skipped = 0
        self.tight: Ranked | None = None  # rank (trivial, rel_margin)
        self.max_ratio: Ranked | None = None  # rank: the ratio lhs/rhs
        self.eval_s = 0.0
        self.n_evals = 0
        self.miss: Ranked | None = None  # existence claims: the worst witness miss (rank: its rel_margin)
        self.suspects: list[Suspect] = []  # violated below float64's atol
        self.refused: dict[str, dict] = {}  # key -> recipe: float64 refused it (IllConditioned), decided at 50 digits

    def over_budget(self) -> bool:
        return time.perf_counter() - self.t0 > self.budget_s

    def evaluate_many(self, recipes: list[dict], method: str) -> list:
        """Evaluations of ``recipes`` (cached; new ones in one batch when the claim has a batch evaluator)."""
        keys = [recipe_key(r) for r in recipes]
        todo = [(k, r) for k, r in dict(zip(keys, recipes)).items() if k not in self.cache]
        if todo and self.over_budget():
            self.skipped += len(todo)
            raise _Budget
        if todo:
            t = time.perf_counter()
            with warnings.catch_warnings():  # numerical warnings are expected while searching
                warnings.simplefilter("ignore")
                if self.claim.batch is not None and len(todo) > 1:
                    outs = self.claim.batch([dict(r) for _, r in todo])
                else:
                    outs = []
                    for _, r in todo:
                        try:
                            outs.append(self.claim.evaluate(dict(r)))
                        except Exception as exc:  # the theory API raised on a recipe of the claim's own space
                            outs.append(exc)
            self.eval_s += time.perf_counter() - t
            self.n_evals += len(todo)
            for (k, r), ev in zip(todo, outs):
                self._record(k, r, ev, method)
        return [self.cache[k] for k in keys]

    def _record(self, k: str, recipe: dict, ev, method: str) -> None:
        self.cache[k] = ev
        self.method_of[k] = method
        if isinstance(ev, Exception):
            self.errors[k] = f"{ev.__class__.__name__}: {str(ev).splitlines()[0] if str(ev) else ''}"
            if isinstance(ev, IllConditioned):
                self.refused[k] = dict(recipe)
            return
        if ev.outside is not None:
            self.outside[ev.outside] += 1
            return
        if self.claim.kind == "construction" and ev.violated and not ev.certified:
            if self.miss is None or ev.rel_margin < self.miss.rank:
                self.miss = Ranked(ev.rel_margin, dict(recipe), ev, method)
        if (self.claim.recheck is not None and not ev.violated and ev.sense in ("<=", ">=")
                and self.claim.kind != "construction" and -ev.margin > SUSPECT_ATOL
                and -ev.margin > SUSPECT_RTOL * max(abs(ev.lhs), abs(ev.rhs))):
            self.suspects.append(Suspect(ev.rel_margin, k, dict(recipe), ev, method))
        rank = (ev.trivial, ev.rel_margin)
        if self.tight is None or (not math.isnan(ev.rel_margin) and rank < self.tight.rank):
            self.tight = Ranked(rank, dict(recipe), ev, method)
        r = ev.ratio
        if r is not None and not ev.trivial and (self.max_ratio is None or r > self.max_ratio.rank):
            self.max_ratio = Ranked(r, dict(recipe), ev, method)

    def judged(self) -> list[tuple[str, Evaluation]]:
        return [(k, ev) for k, ev in self.cache.items() if isinstance(ev, Evaluation) and ev.outside is None]


def _sampling(claim: Claim, search: _Search, n: int, seed: int, profile: str, salt: int = 0):
    """Phase 1: Hypothesis over the claim's own recipes. Returns a _Violation or None.

    ``salt`` > 0: a further pass with other draws (the full profile's top-up, :func:`_top_up`).
    """

    # once a violation is found, Hypothesis shrinks it by calling probe again: those evaluations are
    # tagged "shrink" and counted (the counterexample's shrink_evaluations)
    state = {"violated": False, "n0": 0}

    def probe(recipe):
        try:
            ev = search.evaluate_many([recipe], "shrink" if state["violated"] else "sampling")[0]
        except _Budget:
            return
        if isinstance(ev, Exception) or ev.outside is not None:
            return
        rm = ev.rel_margin
        if math.isfinite(rm) and not ev.trivial:
            target(-rm, label="-rel_margin")
        if _is_violation(claim, ev):
            if not state["violated"]:
                state["violated"], state["n0"] = True, search.n_evals
            raise _Violation(dict(recipe), ev)

    test = given(claim.instances(profile))(probe)
    for ex in reversed(claim.examples):
        test = example(ex)(test)
    test = settings(
        database=None, max_examples=max(n, 1), deadline=None, derandomize=False,
        verbosity=Verbosity.quiet, print_blob=False, report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    )(test)
    base = claim.base_id if not salt else f"{claim.base_id}#{salt}"
    test = hypothesis_seed(claim_seed(seed, base))(test)  # readings of one claim draw the same instances
    try:
        with _no_local_constants(), warnings.catch_warnings():
            # Hypothesis warns when something else touches the global `random` state during a draw
            # (a Dask worker's threads do); the draws themselves do not use it
            warnings.simplefilter("ignore", HypothesisDeprecationWarning)
            test()
    except _Violation as v:
        v.shrink_evaluations = search.n_evals - state["n0"]
        return v
    return None


def _explicit_pool(search: _Search) -> list[dict]:
    """Explicit forms of the judged instances so far, tightest first (starts and templates for phases 2-3)."""
    items = []
    for k, ev in search.judged():
        r = _explicit(search.claim, json.loads(k))
        if r is not None:
            items.append((objective_of(ev), k, r))
    items.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in items]


def _families(claim: Claim, search: _Search, n: int, rng, profile: str, deadline: float | None = None,
              enough: int | None = None):
    """Phase 2: structured families with the claim's own parameters. Returns ``(hit, families used)``, ``hit``
    a :class:`Hit` or None. The top-up's stops: no new batch once the claim has run ``deadline`` seconds, or
    once ``enough`` instances are judged."""
    pool = _explicit_pool(search)
    if not pool or n <= 0:
        return None, {}
    max_n = limits(profile)["max_n"]
    names: Counter = Counter()
    done = 0
    while done < n and (deadline is None or time.perf_counter() - search.t0 <= deadline):
        if enough is not None and len(search.judged()) >= enough:
            break
        chunk = []
        # one shape per chunk (the claim's parameters and T of one template), so a batch evaluator gets
        # whole batches; the families, rows and prior vary within it
        like = pool[int(rng.integers(len(pool)))]
        redraw = hasattr(claim.space, "draw_params")  # every parameter of the regime over its whole range
        if redraw:
            like = claim.space.draw_params(rng, like)
        T = claim.space.family_rows(rng, like)
        for _ in range(min(BATCH, n - done)):
            if redraw and claim.batch is None:  # no batch to keep whole: new parameters for every instance
                like = claim.space.draw_params(rng, like)
                if getattr(claim.space, "rows_at_least_d", False):  # the rank parameter the space names
                    T = max(T, int(like.get(getattr(claim.space, "rank_key", "d"), 1)))
            name, rec = claim.space.family_recipe(rng, like, max_n, T)
            names[name] += 1
            chunk.append(rec)
        done += len(chunk)
        evs = search.evaluate_many(chunk, "families")
        for rec, ev in zip(chunk, evs):
            if _is_violation(claim, ev):
                return Hit(rec, ev), dict(names)
    return None, dict(names)


# The full profile's top-up: while a claim has fewer judged instances than its target (draws that repeat, or
# fall outside the regime), up to TOP_UP_ROUNDS more passes of sampling (other draws) or of the families, and
# no new pass, nor a new batch of families, once the claim has run TOP_UP_S seconds: the full run of 2026-12-06
# without this cap took 48 min (under load), the top-ups of six construction and capacity claims 180 to 710 s
# each; the profile's 30-minute promise comes first, and a claim short of 10^4 says why in `short_of_target`.
# (So the top-up's instance count depends on the machine's speed; the phases before it do not.)
TOP_UP_ROUNDS = 3
TOP_UP_S = 150.0


def top_up_deadline(claim: Claim) -> float:
    """Seconds since the claim started after which its top-up starts nothing new: the claim's own
    ``top_up_s`` where it gives one, else ``TOP_UP_S``."""
    return TOP_UP_S if claim.top_up_s is None else float(claim.top_up_s)


def _top_up(claim: Claim, search: _Search, target_n: int, n_sample: int, prof: dict, rng, seed: int, profile: str):
    """More instances until ``target_n`` are judged: returns ``(found, families_used)``, ``found`` a :class:`Found`
    or None; stops when a pass adds none."""
    used: dict = {}
    deadline = top_up_deadline(claim)
    for salt in range(1, TOP_UP_ROUNDS + 1):
        if len(search.judged()) >= target_n or search.over_budget() or time.perf_counter() - search.t0 > deadline:
            break
        before = search.n_evals
        try:
            if claim.space is None:
                v = _sampling(claim, search, n_sample, seed, profile, salt=salt)
                if v is not None:
                    return Found(v.recipe, v.ev, "sampling"), used
            else:
                cost = claim.family_cost or claim.cost  # (an expensive claim whose families reuse a cached part)
                n_fam = prof["families"][cost] * (prof["batched"] if claim.batch is not None else 1)
                n_fam = claim.full_families or n_fam  # (the claim's own count per pass, where it gives one)
                hit, fam = _families(claim, search, n_fam, rng, profile, deadline=deadline, enough=target_n)
                for name, c in fam.items():
                    used[name] = used.get(name, 0) + c
                if hit is not None:
                    return Found(*hit, "families"), used
        except _Budget:
            break
        if search.n_evals == before:  # nothing new: the instance space is exhausted
            break
    return None, used


def _optimisation(claim: Claim, search: _Search, starts: int, evals: int, polish: int, rng):
    """Phase 3: from the tightest distinct explicit instances, minimise the relative margin."""
    info = {"starts": 0, "evaluations": 0, "best": None, "moved": {}}
    # diversity: the tightest instance of each shape (T, N) first, tightest shapes first, then the
    # next tightest; the optimiser cannot change T, and the tightest instances of a claim are often
    # those where it is tight by construction (T = 1, C -> 0) rather than where it breaks
    pool = _explicit_pool(search)
    seen, first, rest = set(), [], []
    for r in pool:
        shape = (claim.space.shape(r) if hasattr(claim.space, "shape")  # not the parameters: d varies
                 else (len(r["logits"]), len(r["logits"][0])))
        (rest if shape in seen else first).append(r)
        seen.add(shape)
    chosen = (first[: max(starts // 2, 1)] + rest[: starts - max(starts // 2, 1)] + first[max(starts // 2, 1):])[:starts]
    for start in chosen:
        info["starts"] += 1
        res = optimise(lambda rs: search.evaluate_many(rs, "optimisation"), claim.space, start, rng,
                       evals=evals, polish=polish, is_hit=lambda ev: _is_violation(claim, ev))
        info["evaluations"] += res.evaluations
        for name in getattr(res, "moved", ()):  # the claim parameters this run moved (d, eps, ...)
            info["moved"][name] = info["moved"].get(name, 0) + 1
        info["best"] = res.value if info["best"] is None else min(info["best"], res.value)
        if res.found:
            ev = search.evaluate_many([res.recipe], "optimisation")[0]
            if _is_violation(claim, ev):
                return Hit(res.recipe, ev), info
    return None, info


def _explicit(claim: Claim, recipe: dict) -> dict | None:
    """The instance as its space searches it: explicit logits, or the structured recipe itself (``space.explicit``)."""
    if hasattr(claim.space, "explicit"):
        return claim.space.explicit(recipe)
    return explicit_of(recipe)


def _size_if_sized(judged: tuple) -> tuple:
    """Sort key of a judged ``(recipe, ev)``: explicit and structured (``N``, ``S``) recipes by size, others last."""
    r = judged[0]
    sized = r.get("kind") == "explicit" or ("logits" not in r and isinstance(r.get("S"), int))
    return recipe_size(r) if sized else (math.inf,)


def _relative(ev: Evaluation) -> Evaluation:
    """``ev`` judged with the suspects' tolerance ``SUSPECT_ATOL + MP_RTOL |rhs|`` (decided at 50 digits)."""
    return replace(ev, atol=SUSPECT_ATOL, rtol=MP_RTOL)


# An instance violated in float64 whose extended-precision re-check did not confirm the violation carries
# this mark in its detail: it no longer counts as a violation, and the search goes on (up to MAX_ROUNDS times).
NOT_CONFIRMED = "float64_violation_not_confirmed"
MAX_ROUNDS = 3


def _is_violation(claim: Claim, ev) -> bool:
    """A violation that refutes the claim: any for bounds and identities; for an existence claim, a certified one."""
    return (isinstance(ev, Evaluation) and ev.outside is None and ev.violated
            and (claim.kind != "construction" or ev.certified) and not ev.detail.get(NOT_CONFIRMED))


def _violates(claim: Claim, search: _Search, floor: float = 0.0, judge=lambda e: e):
    """``recipe -> bool``: a violation whose relative margin is at most ``floor`` (shrinking keeps it clear)."""
    def f(recipe: dict) -> bool:
        try:
            ev = search.evaluate_many([recipe], "shrink")[0]
        except _Budget:
            return False
        if not isinstance(ev, Evaluation) or ev.outside is not None:
            return False
        ev = judge(ev)
        return _is_violation(claim, ev) and not ev.rel_margin > floor
    return f


def _kept() -> dict:
    from aotmem.verify.claims.kept import KEPT  # claims/ imports the registry: lazy, like registry.register

    return KEPT


RECHECK_METHODS = ("mpmath", "exact", "exact argmax", "none")
RECHECK_KEYS = ("confirmed", "decision", "lhs", "rhs", "margin", "tol", "dps", "method", "note")


def recheck_record(rc: dict, ev: Evaluation | None) -> dict:
    """A claim's re-check dict with every documented key (docs/schema/verify.schema.json, ``recheck``).

    Missing values become ``null`` (``note`` says why); ``decision`` follows ``confirmed``;
    ``tol`` defaults to the float64 verdict's tolerance ``ev.tol`` (the re-check decides with it).
    """
    out = {k: rc.get(k) for k in RECHECK_KEYS}
    out.update({k: v for k, v in rc.items() if k not in out})
    if out["method"] not in RECHECK_METHODS:
        raise ValueError(f"re-check method {out['method']!r} is not one of {RECHECK_METHODS}")
    if out["decision"] is None:
        out["decision"] = {True: "violated", False: "holds"}.get(out["confirmed"], "unresolved")
    if out["tol"] is None and ev is not None and out["method"] != "none":
        out["tol"] = ev.tol
    out["note"] = out["note"] or ""
    return out


def _evidence_skeleton(batched: bool) -> dict:
    """The evidence of a result, every documented key present (filled in by :func:`run_claim`)."""
    return {"methods": {m: 0 for m in ("sampling", "families", "optimisation", "limits", "shrink")},
            "families": {}, "optimisation": {"starts": 0, "evaluations": 0, "best": None, "moved": {}},
            "evaluations": 0, "evals_per_s": None, "batched": batched,
            "max_ratio": None, "max_ratio_note": "no instance evaluated", "short_of_target": None,
            "space": None, "refused_float64": None, "limits": None}


def _finalise_violation(claim: Claim, search: _Search, recipe: dict, ev: Evaluation, seed: int,
                        relative: bool = False, sampling_shrink: int | None = None):
    """Shrink a violation to its smallest explicit form, then re-check in extended precision.

    ``relative``: the violation lies below float64's absolute tolerance and is judged
    with ``MP_RTOL`` alone (:func:`_relative`); only the 50-digit re-check can confirm it.
    Returns a :class:`Finalised` ``(recipe, ev, info)``: the reported counterexample (the smallest
    one whose violation the re-check confirms, or, without a re-check, the
    smallest), and ``info`` (``found_as``, ``shrink_evaluations``, ``shrunk``: how it was shrunk,
    ``recheck``). ``sampling_shrink``: evaluations Hypothesis's own shrinker spent when the
    sampling phase found the violation.
    """
    judge = _relative if relative else (lambda e: e)
    candidates = [(recipe, ev)]
    info: dict = {"found_as": recipe}
    example = recipe_key(recipe) in {recipe_key(e) for e in claim.examples if isinstance(e, dict)}
    kept = example and claim.key in _kept()
    steps = []  # how the reported counterexample was shrunk, in order (the counterexample's `shrunk`)
    if kept:
        steps.append("a kept counterexample (verify/claims/kept.py), shrunk and confirmed in 50-digit arithmetic "
                     "when it was found, replayed first")
    if sampling_shrink:
        steps.append(f"Hypothesis's shrinker over the claim's own recipe ({sampling_shrink} evaluations after "
                     "the first violation)")
    ex = _explicit(claim, recipe) if claim.space is not None else None
    if ex is not None and recipe_key(ex) != recipe_key(recipe):
        candidates.append((ex, None))
    if ex is not None:
        # a shrunk counterexample keeps at least a tenth of the original relative violation: the smallest
        # instance that is still clearly violated, not one on the boundary
        floor = min(ev.rel_margin / 10, 0.0) if math.isfinite(ev.rel_margin) else 0.0
        small, n = shrink(ex, _violates(claim, search, floor, judge), seed=seed,
                          params=getattr(claim.space, "params", ()))
        info["shrink_evaluations"] = n + (sampling_shrink or 0)
        steps.append(f"its explicit form (logits, prior weights and the claim's parameters) shrunk greedily, then by "
                     f"Hypothesis's shrinker over the entries ({n} evaluations); the smallest confirmed violation is "
                     f"reported")
        candidates.append((small, None))
    else:
        info["shrink_evaluations"] = sampling_shrink or 0
        if not steps:
            steps.append("an explicit example of the claim (Claim.examples), replayed as written: Hypothesis does "
                         "not shrink explicit examples" if example else
                         "Hypothesis's shrinker found no smaller violating recipe (0 evaluations)")
        steps.append("no entry-by-entry shrinking: the claim has no explicit task space")
    info["shrunk"] = "; then ".join(steps)
    judged = []
    for r, e in candidates:
        e = e or search.evaluate_many([r], "shrink")[0]
        if isinstance(e, Evaluation) and e.outside is None:
            e = judge(e)
        if _is_violation(claim, e):
            judged.append((r, e))
    judged.sort(key=_size_if_sized)
    if claim.recheck is None:
        r, e = judged[0]
        info["recheck"] = recheck_record({"confirmed": None, "method": "none",
                                          "note": "no extended-precision re-check is implemented for this claim"}, e)
        return Finalised(r, e, info)
    unconfirmed = []
    for r, e in judged:
        try:
            rc = claim.recheck(dict(r), e)
        except Exception as exc:  # a re-check that cannot run is reported, never taken as confirmation
            rc = {"confirmed": None, "method": "mpmath", "note": f"re-check raised {exc.__class__.__name__}: {exc}"}
        rc = recheck_record(rc, e)
        if rc.get("unavailable") and not unconfirmed:
            # the claim cannot be re-evaluated in extended precision at all (a user's claim computed outside
            # the functions that take dps=): reported as a claim without a re-check, never dropped
            info["recheck"] = rc
            return Finalised(r, e, info)
        if rc.get("confirmed"):
            info["recheck"] = rc
            if unconfirmed:
                info["unconfirmed_smaller"] = unconfirmed
            return Finalised(r, e, info)
        unconfirmed.append({"recipe": r, "recheck": rc})
    info["recheck"] = unconfirmed[0]["recheck"]
    info["unconfirmed"] = unconfirmed
    return Finalised(None, None, info)


def _decide_refused(claim: Claim, search: _Search, skip=frozenset()):
    """Instances float64 refused (a system above its condition limit) are in the regime: decide them at 50 digits.

    Returns ``(found, info)``: the first violation among them as a :class:`Found` (or None), and
    the counts for the evidence (``refused``, ``decided``, ``undecided`` with the reasons). ``skip``: keys an
    earlier round has already tried (left undecided there, counted there).
    """
    todo = [(k, r) for k, r in search.refused.items() if k not in skip]
    info = {"refused": len(todo), "decided": 0, "undecided": 0, "violated": 0}
    if not todo:
        return None, info
    if claim.decide_mp is None:
        info["undecided"] = len(todo)
        info["why_undecided"] = {"no extended-precision evaluation is implemented for this claim": len(todo)}
        return None, info
    found, why, at_dps = None, Counter(), Counter()
    for k, recipe in todo:
        if search.over_budget():
            info["undecided"] += 1
            why["time budget spent"] += 1
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ev = claim.decide_mp(dict(recipe))
        except Exception as exc:  # e.g. not unique even at 50 digits: counted and reported, never dropped silently
            info["undecided"] += 1
            why[f"{exc.__class__.__name__}: {str(exc)[:120]}"] += 1
            continue
        method = search.method_of.get(k, "sampling")
        del search.errors[k]
        del search.refused[k]
        search._record(k, recipe, ev, method)
        info["decided"] += 1
        at_dps[str((ev.detail or {}).get("decided_at_dps", DPS))] += 1
        if _is_violation(claim, ev):
            info["violated"] += 1
            if found is None:
                found = Found(recipe, ev, method)
    if at_dps:
        info["at_dps"] = dict(at_dps)
    if why:
        info["why_undecided"] = dict(why)
    return found, info


def _merged_counts(a: dict | None, b: dict) -> dict:
    """Two rounds of :func:`_decide_refused`'s counts as one (the reasons undecided added up)."""
    if not a:
        return b
    out = {k: a.get(k, 0) + b.get(k, 0) for k in ("refused", "decided", "undecided", "violated")}
    at = Counter(a.get("at_dps") or {}) + Counter(b.get("at_dps") or {})
    if at:
        out["at_dps"] = dict(at)
    why = Counter()
    for part in (a, b):
        w = part.get("why_undecided") or {}
        why.update(w if isinstance(w, dict) else {w: part.get("undecided", 0)})
    if why:
        out["why_undecided"] = dict(why)
    return out


def _resolve_suspects(claim: Claim, search: _Search, k: int):
    """Decide the ``k`` most violated suspects at 50 digits; the first confirmed one, as a :class:`Found`."""
    seen, tried = set(), 0
    for _, key, recipe, ev, method in sorted(search.suspects, key=lambda t: (t.rel_margin, t.key)):
        if key in seen or tried >= k:
            continue
        seen.add(key)
        tried += 1
        try:
            rc = claim.recheck(dict(recipe), _relative(ev))
        except Exception:  # a re-check that cannot run decides nothing
            continue
        if rc.get("confirmed"):
            return Found(recipe, _relative(ev), method)
    search.suspects_checked = tried
    return None


# Where float64 rounding can decide the sign of the tightest margin (both sides below TIGHT_SIDES, or a
# relative margin below TIGHT_REL, negative ones within the tolerance included), the reported margin is
# recomputed in 50-digit arithmetic.
TIGHT_SIDES = 1e-9
TIGHT_REL = 1e-6
# The limit probe: from the tightest instance, each parameter over LIMIT_STEPS points of its whole range,
# and the rows' scale towards uniform (x 10^-k) and towards one-hot (x 2^k); a margin that falls by
# LIMIT_FALL or more towards an end, below LIMIT_SMALL there, is reported as tending to 0 along it.
LIMIT_STEPS = 8
LIMIT_FALL = 30.0
LIMIT_SMALL = 1e-2


def _limit_sequences(claim: Claim, recipe: dict) -> list[tuple[str, list[dict]]]:
    """``(direction, recipes)`` pairs: the tightest instance moved towards each limit of its regime."""
    out = []
    if "logits" in recipe:
        Z = np.asarray(recipe["logits"], dtype=np.float64)
        T, N = Z.shape
    else:  # a structured recipe (RecipeSpace): its parameters only
        Z, (N, T) = None, claim.space.size(recipe)
    valid = getattr(claim.space, "valid", None)  # the space's joint condition (e.g. d_h <= d + 1)
    for p in getattr(claim.space, "params", ()):
        lo, hi = p.limits(N, T)
        if hi <= lo:
            continue
        if p.scale in ("log", "int"):
            grid = np.exp(np.linspace(math.log(max(lo, 1e-300)), math.log(hi), LIMIT_STEPS))
        else:
            grid = np.linspace(lo, hi, LIMIT_STEPS)
        vals = list(dict.fromkeys(int(round(v)) if p.integer else float(v) for v in grid))
        vals = [min(max(v, lo), hi) for v in vals]
        recs = [r for r in (dict(recipe, **{p.name: v}) for v in vals) if valid is None or valid(r)]
        out.append((f"{p.name} -> {hi:g}", recs))
        out.append((f"{p.name} -> {lo:g}", recs[::-1]))
    if Z is None:
        return out
    Zc = Z - Z.mean(axis=1, keepdims=True)
    box = LOGIT_BOX / max(float(np.abs(Zc).max()), 1e-300)
    up = [min(2.0**k, box) for k in range(LIMIT_STEPS)]
    down = [10.0 ** -k for k in range(LIMIT_STEPS)]
    out.append(("rows -> uniform", [dict(recipe, logits=(Zc * f).tolist()) for f in down]))
    out.append(("rows -> one-hot", [dict(recipe, logits=(Zc * f).tolist()) for f in dict.fromkeys(up)]))
    return out


def _limits(claim: Claim, search: _Search):
    """Follow the tightest explicit instance to the limits of the regime. Returns ``(hit, info)``.

    ``hit``: a violation met on the way, as a :class:`Hit`; ``info["tight_along"]``: the directions
    along which the relative margin tends to 0 (falls by ``LIMIT_FALL`` to below ``LIMIT_SMALL``),
    each with its margins: a ``holds`` that is tight in a limit says so instead of printing one number.
    """
    info = {"evaluations": 0, "tight_along": []}
    if search.tight is None:
        return None, info
    start = _explicit(claim, search.tight.recipe)
    if start is None:
        return None, info
    for direction, recs in _limit_sequences(claim, start):
        evs = search.evaluate_many(recs, "limits")
        info["evaluations"] += len(recs)
        for r, ev in zip(recs, evs):
            if _is_violation(claim, ev):
                return Hit(r, ev), info
        ms = [ev.rel_margin if isinstance(ev, Evaluation) and ev.outside is None and not ev.trivial else None
              for ev in evs]
        if len(ms) >= 3 and ms[-1] is not None and ms[0] is not None and ms[-1] >= 0:
            tail = [m for m in ms if m is not None]
            if ms[-1] < LIMIT_SMALL and 0 < ms[-1] * LIMIT_FALL <= max(tail) and ms[-1] <= min(tail):
                info["tight_along"].append({"direction": direction, "rel_margins": [m for m in ms]})
    return None, info


def _tightest_at_dps(claim: Claim, search: _Search) -> dict | None:
    """The tightest margin recomputed in 50-digit arithmetic where float64 rounding can decide its sign."""
    if search.tight is None:
        return None
    recipe, ev = search.tight.recipe, search.tight.ev
    if claim.kind == "construction" or ev.violated:  # a witness's miss is judged as such, not re-decided here
        return None
    if not (max(abs(ev.lhs), abs(ev.rhs)) < TIGHT_SIDES or ev.rel_margin < TIGHT_REL):  # (negatives included)
        return None
    if claim.recheck is None:
        return {"decision": None, "note": "float64 rounding may decide this margin's sign and no "
                                          "extended-precision evaluation is implemented for this claim"}
    try:
        rc = claim.recheck(dict(recipe), ev)
    except Exception as exc:  # reported, never taken as a decision
        return {"decision": None, "note": f"re-check raised {exc.__class__.__name__}: {exc}"}
    out = {k: rc.get(k) for k in ("lhs", "rhs", "margin", "decision", "dps", "method", "note")}
    if out["decision"] == "unresolved":  # the two sides agree to the working resolution: a margin of 0, not its sign
        out["rel_margin"] = 0.0
        out["note"] = (out["note"] or "") + "the two sides agree to the re-check's resolution"
        return out
    try:
        with mpmath.workdps(60):
            scale = max(abs(mpmath.mpf(rc["lhs"])), abs(mpmath.mpf(rc["rhs"])))
            out["rel_margin"] = float(mpmath.mpf(rc["margin"]) / scale) if scale > 0 else 0.0
    except (KeyError, TypeError, ValueError):
        out["rel_margin"] = None
    return out


@dataclass
class _Plan:
    """What the profile asks of one claim: instance counts per phase, time budget, the claim's generator."""

    profile: str
    seed: int
    prof: dict  # PROFILES[profile]
    cost: str
    budget: float
    n_sample: int
    only_sampling: bool  # max_examples given, or no TaskSpace: sampling only
    max_examples: int | None
    rng: np.random.Generator


@dataclass
class _Round:
    """The state of one search round of :func:`run_claim` (a round ends with a violation, or with none found)."""

    found: Found | None = None  # the violation found, before shrinking
    sampling_shrink: int | None = None  # evaluations Hypothesis's shrinker spent on it (sampling only)
    families_used: dict = field(default_factory=dict)
    optim_info: dict = field(default_factory=lambda: {"starts": 0, "evaluations": 0, "best": None})
    refused_info: dict | None = None
    relative: bool = False  # decided with the suspects' tolerance (below float64's atol)
    limits_info: dict | None = None
    tight_mp: dict | None = None  # the tightest margin at 50 digits
    mp_violation: Ranked | None = None  # the tightest instance, violated at 50 digits only
    finalised: Finalised | None = None  # the violation, shrunk and re-checked


def _plan(claim: Claim, profile: str, seed: int, max_examples: int | None, budget_s: float | None) -> _Plan:
    """The counts and budget of ``profile`` for ``claim`` (overridden by ``max_examples`` / ``budget_s``)."""
    prof = PROFILES[profile]
    cost = claim.cost
    n_sample = max_examples if max_examples is not None else prof["sample"][cost]
    if claim.space is None and max_examples is None and profile == "full":
        if claim.full_draws is not None:
            n_sample = claim.full_draws
        elif cost == "cheap":
            n_sample = SAMPLE_ONLY_FULL
    return _Plan(profile=profile, seed=seed, prof=prof, cost=cost,
                 budget=float(budget_s if budget_s is not None else prof["budget_s"]), n_sample=n_sample,
                 only_sampling=max_examples is not None or claim.space is None, max_examples=max_examples,
                 rng=np.random.default_rng(claim_seed(seed, claim.key)))


def _smaller_in_families(claim: Claim, search: _Search, plan: _Plan, rnd: _Round) -> None:
    """A violation from sampling: look in the families for a smaller one before shrinking.

    The claim's own generators make large instances; the families make small ones (the smallest
    counterexample that can be found is the one to keep).
    """
    try:
        hit, rnd.families_used = _families(claim, search, plan.prof["families"][plan.cost], plan.rng, plan.profile)
    except _Budget:
        hit = None
    if hit is not None:
        ex = _explicit(claim, rnd.found.recipe)  # a structured recipe is its own explicit form
        if ex is None or recipe_size(hit.recipe) < recipe_size(ex):
            rnd.found = Found(*hit, "families")
            rnd.sampling_shrink = None


def _families_then_optimisation(claim: Claim, search: _Search, plan: _Plan, rnd: _Round) -> None:
    """Phases 2 and 3 when sampling found nothing: the families, then the optimiser from the tightest."""
    prof, cost = plan.prof, plan.cost
    try:
        n_fam = prof["families"][cost] * (prof["batched"] if claim.batch is not None else 1)
        hit, rnd.families_used = _families(claim, search, n_fam, plan.rng, plan.profile)
        if hit:
            rnd.found = Found(*hit, "families")
        else:
            k = prof["batched"] if claim.batch is not None else 1  # the ES evaluates one batch a generation
            hit, rnd.optim_info = _optimisation(claim, search, prof["starts"][cost] * (2 if k > 1 else 1),
                                                prof["evals"][cost] * k, prof["polish"][cost], plan.rng)
            if hit:
                rnd.found = Found(*hit, "optimisation")
    except _Budget:
        pass


def _search_phases(claim: Claim, search: _Search, plan: _Plan, rnd: _Round) -> None:
    """Sampling, families and optimisation, and the full profile's top-up: ``rnd.found`` a violation or None."""
    violation = _sampling(claim, search, plan.n_sample, plan.seed, plan.profile)
    rnd.found = Found(violation.recipe, violation.ev, "sampling") if violation else None
    rnd.sampling_shrink = violation.shrink_evaluations if violation else None
    if rnd.found is not None and not plan.only_sampling:
        _smaller_in_families(claim, search, plan, rnd)
    if not plan.only_sampling and rnd.found is None:
        _families_then_optimisation(claim, search, plan, rnd)
    target_n = TARGET_INSTANCES[plan.profile]
    cheap_top_up = plan.cost != "expensive" or claim.family_cost not in (None, "expensive")
    # the top-up serves the 10^4 promise of a holds: an existence claim whose witness has missed cannot hold
    # (its verdict is no-witness, or fails where its phases met a certified violation)
    if rnd.found is None and target_n and cheap_top_up and plan.max_examples is None and search.miss is None:
        hit, topped = _top_up(claim, search, target_n, plan.n_sample, plan.prof, plan.rng, plan.seed, plan.profile)
        for name, c in topped.items():
            rnd.families_used[name] = rnd.families_used.get(name, 0) + c
        if hit is not None:
            rnd.found = hit


def _second_looks(claim: Claim, search: _Search, plan: _Plan, rnd: _Round) -> None:
    """Where float64 could not decide: the refused instances and the suspects at 50 digits, the limits of the
    regime from the tightest instance, and the tightest margin at 50 digits (``rnd.mp_violation``)."""
    if rnd.found is None and search.refused:
        hit, rnd.refused_info = _decide_refused(claim, search)
        if hit is not None:
            rnd.found = hit
    elif search.refused:
        rnd.refused_info = {"refused": len(search.refused), "decided": 0, "undecided": len(search.refused),
                            "violated": 0, "why_undecided": "not needed: the claim already failed"}
    tried = set(search.refused)  # left undecided above (counted there): not tried again below
    if rnd.found is None and search.suspects:
        hit = _resolve_suspects(claim, search, SUSPECTS[plan.profile])
        if hit is not None:
            rnd.found, rnd.relative = hit, True
    # (no limit probe where the profile gives the claim no optimiser evaluations: an expensive claim in quick)
    if rnd.found is None and not plan.only_sampling and claim.space is not None and plan.prof["evals"][plan.cost] > 0:
        try:
            hit, rnd.limits_info = _limits(claim, search)
            if hit is not None:
                rnd.found = Found(*hit, "limits")
        except _Budget:
            pass
    if rnd.found is None and set(search.refused) - tried:  # refused by the limit probe's instances: decided alike
        hit, more = _decide_refused(claim, search, skip=tried)
        rnd.refused_info = _merged_counts(rnd.refused_info, more)
        if hit is not None:
            rnd.found = hit
    if rnd.found is None:
        rnd.tight_mp = _tightest_at_dps(claim, search)
        if rnd.tight_mp is not None and rnd.tight_mp.get("decision") == "violated":
            # float64 rounding hid it: the tightest instance is violated at 50 digits, by more than the tolerance
            rnd.mp_violation = search.tight


def _finalise_found(claim: Claim, search: _Search, plan: _Plan, rnd: _Round) -> None:
    """Shrink and re-check ``rnd.found`` into ``rnd.finalised`` (its recipe None when the re-check did not confirm)."""
    recipe, ev, method = rnd.found
    shrunk_by = rnd.sampling_shrink if method == "sampling" else None
    cseed = claim_seed(plan.seed, claim.key)
    try:
        rnd.finalised = _finalise_violation(claim, search, recipe, ev, cseed, rnd.relative, shrunk_by)
        if rnd.finalised.recipe is None and not rnd.relative and _relative(ev).violated:
            # below float64's absolute tolerance: decided at 50 digits with the suspects' tolerance instead
            again = _finalise_violation(claim, search, recipe, ev, cseed, True, shrunk_by)
            if again.recipe is not None:
                rnd.finalised, rnd.relative = again, True
    except _Budget:
        rnd.finalised = Finalised(recipe, ev, {
            "found_as": recipe, "shrink_evaluations": 0,
            "shrunk": "not shrunk: the time budget was spent before shrinking",
            "recheck": recheck_record({"confirmed": None, "method": "none",
                                       "note": "time budget spent before the re-check"}, ev)})


def _mark_unconfirmed(search: _Search, rnd: _Round) -> None:
    """A float64 violation that extended precision does not confirm is rounding: mark it (and the smaller
    candidates that were not confirmed either), so that the next round searches on past it."""
    info = rnd.finalised.info
    for r in [rnd.found.recipe] + [u["recipe"] for u in info.get("unconfirmed") or []]:
        e = search.cache.get(recipe_key(r))
        if isinstance(e, Evaluation):
            e.detail[NOT_CONFIRMED] = True


def _search_rounds(claim: Claim, search: _Search, plan: _Plan) -> tuple[_Round, list]:
    """Up to ``MAX_ROUNDS`` rounds of search; returns the last round and the unconfirmed violations' re-checks."""
    unconfirmed_rounds: list = []
    for _ in range(MAX_ROUNDS):
        rnd = _Round()
        _search_phases(claim, search, plan, rnd)
        _second_looks(claim, search, plan, rnd)
        if rnd.found is None or rnd.mp_violation is not None:
            break
        _finalise_found(claim, search, plan, rnd)
        if rnd.finalised.recipe is not None:
            break
        unconfirmed_rounds.append(rnd.finalised.info.get("recheck"))
        _mark_unconfirmed(search, rnd)
        rnd.found, rnd.finalised = None, None
    return rnd, unconfirmed_rounds


def _short_of_target(res: Result, claim: Claim, search: _Search, plan: _Plan, wall_s: float) -> str:
    """Why a claim of the full profile has fewer judged instances than its target (the evidence's ``short_of_target``)."""
    target_n = TARGET_INSTANCES[plan.profile]
    drawn = res.instances + res.outside + res.errors
    per = wall_s / max(drawn, 1)  # wall time: drawing and building the instance count too
    why = [f"{res.instances} instances judged (target {target_n})"]
    # the rate of these draws understates more of them: Hypothesis draws larger instances as a run goes on
    # (10^4 draws of paper.lemma1 averaged 4 s each against 0.03 s over its first 200, measured)
    rate = f"{per:.2g} s of wall time each over these draws, a lower bound for more"
    n_sample = plan.n_sample
    if plan.cost == "expensive" and claim.full_draws is None:
        why.append(f"each instance runs an optimiser or a construction ({rate}): the full profile draws {n_sample}")
    elif claim.space is None:
        why.append(f"searched by sampling only (structured instances, no continuous space to optimise): "
                   f"{n_sample} draws requested, {drawn} distinct instances (the claim's instance space is "
                   f"finite or repeats)" if drawn < 0.98 * n_sample and not search.skipped else
                   f"searched by sampling only: {drawn} distinct instances drawn")
        if plan.cost == "medium" and claim.full_draws is None:
            why.append(f"a medium-cost claim ({rate}): the full profile draws {n_sample}")
    if res.outside:
        why.append(f"{res.outside} drawn outside the claim's regime")
    if search.skipped:
        why.append(f"time budget {plan.budget:g} s spent")
    elif wall_s > top_up_deadline(claim):
        why.append(f"the top-up adds no instances after {top_up_deadline(claim):g} s")
    return "; ".join(why)


def _fails_at_50_digits(res: Result, claim: Claim, rnd: _Round, seed: int) -> None:
    """Verdict ``fails``: the tightest instance holds in float64 but is violated at 50 digits."""
    recipe, ev, method, tight_mp = rnd.mp_violation.recipe, rnd.mp_violation.ev, rnd.mp_violation.method, rnd.tight_mp
    res.verdict = "fails"
    res.counterexample = _cx(claim, recipe, ev, seed, method,
                             {"found_as": recipe, "shrink_evaluations": 0, "recheck": recheck_record(
                                 {"confirmed": True, **tight_mp}, ev),
                              "shrunk": "not shrunk: float64 judges its neighbours, and float64 misjudged this one"})
    res.reason = (f"{claim.summary(recipe)}: holds in float64 (margin {ev.margin:.3g}) but is violated in "
                  f"{tight_mp.get('dps')}-digit arithmetic: lhs={tight_mp.get('lhs')} rhs={tight_mp.get('rhs')} "
                  f"(margin {tight_mp.get('margin')}, tol {ev.tol:.2g})")


def _no_witness(res: Result, claim: Claim, search: _Search, seed: int) -> None:
    """Verdict ``no-witness``: an existence claim's witness missed (where it missed most), and no certificate."""
    recipe, ev, method = search.miss.recipe, search.miss.ev, search.miss.method
    res.verdict = "no-witness"
    res.counterexample = _cx(claim, recipe, ev, seed, method, {
        "found_as": recipe, "shrink_evaluations": None,
        "shrunk": "not shrunk: a witness miss is reported where the witness missed most",
        "recheck": recheck_record({"confirmed": None, "method": "none",
                                   "note": "a witness miss is not a counterexample: nothing to re-check"}, ev)})
    res.reason = (f"the witness misses on {claim.summary(recipe)}: lhs={ev.lhs:.6g} {ev.sense} "
                  f"rhs={ev.rhs:.6g} (shortfall {-ev.margin:.3g}); a finding about the witness, not a "
                  "counterexample: nothing certifies that no object reaches the claim there")


def _fails(res: Result, claim: Claim, rnd: _Round, seed: int) -> None:
    """Verdict ``fails``: a violation, shrunk and (where a re-check exists) confirmed in extended precision."""
    r2, e2, info = rnd.finalised  # (the search loop ends with a violation only once it is finalised)
    res.verdict = "fails"
    res.counterexample = _cx(claim, r2, e2, seed, rnd.found.method, info)
    rc = info.get("recheck", {})
    if not rc.get("confirmed"):
        conf = "NOT re-checked in extended precision: " + rc.get("note", "")
    elif rc.get("method") == "exact":  # integer sides (ranks, counts): compared exactly, no precision involved
        conf = "confirmed exactly (integer sides)"
    else:
        conf = f"confirmed in {rc.get('dps') or 50}-digit arithmetic"
    if rnd.relative:
        conf += (f"; the violation is below float64's absolute tolerance, so it was decided there with "
                 f"tolerance {SUSPECT_ATOL:g} + {MP_RTOL:g} |rhs|")
        res.counterexample["below_float64_atol"] = True
    res.reason = (f"{claim.summary(r2)}: lhs={e2.lhs:.6g} {e2.sense} rhs={e2.rhs:.6g} fails "
                  f"(margin {e2.margin:.3g}, tol {e2.tol:.2g}; {conf})")


def _nothing_judged(res: Result, search: _Search) -> None:
    """Verdict ``vacuous`` or ``unverifiable``: no instance was judged inside the regime."""
    if search.outside:
        res.verdict = "vacuous"
        res.reason = "every instance is outside the regime: " + search.outside.most_common(1)[0][0]
    elif search.errors:
        res.verdict = "unverifiable"
        res.reason = "every evaluation raised: " + next(iter(search.errors.values()))
    else:
        res.verdict = "unverifiable"
        res.reason = "no instance evaluated within the time budget"


def _holds_reason(res: Result, rnd: _Round, unconfirmed_rounds: list) -> str:
    """The reason of a ``holds``: what the search met on the way (and records the unconfirmed violations)."""
    notes = []
    refused_info, limits_info, tight_mp = rnd.refused_info, rnd.limits_info, rnd.tight_mp
    if unconfirmed_rounds:
        notes.append(f"{len(unconfirmed_rounds)} float64 violation(s) not confirmed in extended precision "
                     f"(rounding), searched on past them: {json.dumps(unconfirmed_rounds[0])[:200]}")
        res.evidence["unconfirmed"] = unconfirmed_rounds
    if refused_info and refused_info.get("decided"):
        at = refused_info.get("at_dps") or {str(DPS): refused_info["decided"]}
        where = ", ".join(f"{n} at {d} digits" for d, n in sorted(at.items(), key=lambda t: int(t[0])))
        notes.append(f"{refused_info['decided']} instances float64 refused (ill-conditioned) decided in extended "
                     f"precision ({where})")
    if refused_info and refused_info.get("undecided"):
        notes.append(f"{refused_info['undecided']} float64-refused instances NOT decided "
                     f"({refused_info.get('why_undecided')})")
    if res.outside:
        notes.append(f"{res.outside} outside the regime")
    if res.errors:
        notes.append(f"{res.errors} raised ({res.error_samples[0]})")
    if res.skipped:
        notes.append(f"time budget hit, {res.skipped} skipped")
    if limits_info and limits_info.get("tight_along"):
        notes.insert(0, "tight: margin -> 0 along " + ", ".join(t["direction"] for t in limits_info["tight_along"]))
    if tight_mp is not None and tight_mp.get("decision") is not None:
        notes.append(f"tightest margin at {tight_mp.get('dps')} digits: {tight_mp.get('margin')} "
                     f"({tight_mp['decision']})")
    elif tight_mp is not None:
        notes.append(f"tightest margin in float64 only: {tight_mp.get('note')}")
    return "; ".join(notes)


def _unverifiable(claim: Claim, seed: int) -> Result:
    """The result of a claim with a standing reason why it cannot be checked (not searched)."""
    res = _base(claim, "unverifiable", seed, claim.unverifiable)
    res.evidence = _evidence_skeleton(claim.batch is not None)
    res.evidence["max_ratio_note"] = "not searched: the claim is unverifiable (reason)"
    return res


def run_claim(claim: Claim, *, profile: str = "quick", seed: int = 0, max_examples: int | None = None,
              budget_s: float | None = None) -> Result:
    """Search ``claim`` for violations and return its :class:`Result` with the evidence.

    Parameters
    ----------
    claim : Claim
    profile : {"quick", "full"}
        Sets the instance counts per phase (by ``claim.cost``) and the time budget.
    seed : int
        Run seed; the claim's seeds are :func:`claim_seed` of it.
    max_examples : override of the sampling phase's count (the other phases are then skipped).
    budget_s : override of the profile's time budget.
    """
    if profile not in PROFILES:
        raise ValueError(f"`profile` must be one of {sorted(PROFILES)} (got {profile!r})")
    t0 = time.perf_counter()
    if claim.unverifiable is not None:
        return _unverifiable(claim, seed)
    plan = _plan(claim, profile, seed, max_examples, budget_s)
    search = _Search(claim, plan.budget)
    rnd, unconfirmed_rounds = _search_rounds(claim, search, plan)

    res = _base(claim, "holds", seed)
    extra = {"space": claim.space.describe() if hasattr(claim.space, "describe") else None,
             "refused_float64": rnd.refused_info, "limits": rnd.limits_info}
    _tally(res, claim, search, rnd.families_used, rnd.optim_info, extra, rnd.tight_mp)
    target_n = TARGET_INSTANCES[profile]
    if target_n and res.instances < target_n and rnd.found is None:
        res.evidence["short_of_target"] = _short_of_target(res, claim, search, plan, time.perf_counter() - t0)
    if rnd.mp_violation is not None:
        _fails_at_50_digits(res, claim, rnd, seed)
    elif rnd.found is None and search.miss is not None:
        _no_witness(res, claim, search, seed)
    elif rnd.found is not None:
        _fails(res, claim, rnd, seed)
    elif not search.judged():
        _nothing_judged(res, search)
    else:
        res.reason = _holds_reason(res, rnd, unconfirmed_rounds)
    # again: the shrink's evaluations count too
    _tally(res, claim, search, rnd.families_used, rnd.optim_info, extra, rnd.tight_mp)
    res.wall_s = time.perf_counter() - t0
    return res


def _tally(res: Result, claim: Claim, search: _Search, families_used: dict, optim_info: dict,
           extra: dict | None = None, tight_mp: dict | None = None) -> None:
    """Instances, methods, tightest and largest-ratio instances of ``search``, into ``res`` (every key present).

    ``extra``: further evidence (the searched space, the float64-refused instances, the limit probe);
    ``tight_mp``: the tightest margin recomputed in 50 digits, where float64 could not resolve it.
    """
    judged = search.judged()
    res.instances = len(judged)
    res.outside = sum(search.outside.values())
    res.errors = len(search.errors)
    res.skipped = search.skipped
    res.error_samples = [f"{e} on {r}" for r, e in list(search.errors.items())[:3]]
    methods = Counter(search.method_of[k] for k, _ in judged)
    ev_ = _evidence_skeleton(claim.batch is not None)
    ev_["short_of_target"] = (res.evidence or {}).get("short_of_target")
    ev_.update({
        "methods": {m: methods.get(m, 0) for m in ("sampling", "families", "optimisation", "limits", "shrink")},
        "families": dict(families_used), "optimisation": {**ev_["optimisation"], **optim_info},
        "evaluations": search.n_evals,
        "evals_per_s": round(search.n_evals / search.eval_s, 1) if search.eval_s > 0 else None,
    })
    if "unconfirmed" in (res.evidence or {}):
        ev_["unconfirmed"] = res.evidence["unconfirmed"]
    if search.tight is not None:
        recipe, ev, method = search.tight.recipe, search.tight.ev, search.tight.method
        res.tightest = {"recipe": recipe, "summary": claim.summary(recipe), "evaluation": ev.as_dict(),
                        "method": method, "at_50_digits": tight_mp}
    ev_.update(extra or {})
    if search.max_ratio is not None:
        r, recipe, _, method = search.max_ratio
        ev_["max_ratio"] = {"ratio": r, "recipe": recipe, "summary": claim.summary(recipe), "method": method}
        del ev_["max_ratio_note"]
    else:
        ev_["max_ratio_note"] = ("no instance evaluated inside the regime" if not judged else
                                 "no judged instance has a defined ratio (trivial instances, or a side of zero or "
                                 "of the wrong sign)")
    res.evidence = ev_


def _cx(claim: Claim, recipe: dict, ev: Evaluation, seed: int, method: str, info: dict) -> dict:
    if ev.tol > 0:
        gap = {"==": abs(ev.lhs - ev.rhs), ">": ev.tol - ev.margin}.get(ev.sense, -ev.margin)
        excess = gap / ev.tol
    else:
        excess = math.inf
    out = {"recipe": recipe, "summary": claim.summary(recipe), "evaluation": ev.as_dict(),
           "excess_over_tol": excess if math.isfinite(excess) else "inf", "method": method,
           "reproduce": _reproduce(claim, recipe, seed)}
    out.update(info)
    return out


# ------------------------------------------------------------- many claims --


def run_key(key: str, profile: str, seed: int, path: str | None = None) -> dict:
    """Worker entry point (:func:`aotmem.verify.ledger.parallel.map_claims`): the result of registered claim ``key`` as a
    dict (picklable). A user's claim (``path``: its file) needs ``aotmem.verify.ledger.userclaims.run_any_key``, which
    :func:`run_claims` takes as ``worker`` (the runner does not import the user-claims module: no import cycle)."""
    if path is not None:
        raise ValueError(f"claim {key!r} comes from {path}: run it with worker=aotmem.verify.ledger.userclaims.run_any_key")
    return run_claim(get(key), profile=profile, seed=seed).as_dict()


def run_claims(claims: list[Claim], *, profile: str = "quick", seed: int = 0, progress=None,
               on_result=None, workers: int = 1, scheduler: str | None = None,
               worker=None) -> tuple[list[Result], bool]:
    """Run ``claims``; returns ``(results, interrupted)``, results in the order of ``claims``.

    ``workers > 1`` runs claims in that many processes on this machine;
    ``scheduler`` (``tcp://HOST:PORT``, or a ``distributed.Client``) runs them on
    a Dask cluster (:mod:`aotmem.verify.ledger.parallel`). Claims are independent units:
    the verdicts do not depend on where they ran. ``progress`` (a text stream)
    gets one line per finished claim; ``on_result(result)`` is called after each
    (in completion order). Ctrl-C stops cleanly: the results so far are returned
    with ``interrupted = True``.
    """
    if workers < 1:
        raise ValueError(f"`workers` must be >= 1 (got {workers})")
    total = len(claims)
    width = len(str(total))
    slots: list[Result | None] = [None] * total

    def report(res: Result):
        i = next(i for i, c in enumerate(claims) if c.key == res.key and slots[i] is None)
        slots[i] = res
        if progress is not None:
            n = sum(r is not None for r in slots)
            progress.write(f"[{n:>{width}}/{total}] {res.key} ... {res.verdict} "
                           f"({res.instances} inst, {res.wall_s:.1f}s)\n")
            progress.flush()
        if on_result is not None:
            on_result(res)

    try:
        if scheduler is None and workers == 1:
            for claim in claims:
                report(run_claim(claim, profile=profile, seed=seed))
        else:
            files = {c.key: c.file for c in claims if getattr(c, "file", None)}  # user claims: workers load the file
            costs = {c.key: c.cost for c in claims}
            for d in map_claims(worker or run_key, [c.key for c in claims], profile, seed, workers=workers,
                                scheduler=scheduler,
                                files=files, costs=costs):
                report(Result(**d))
    except KeyboardInterrupt:
        if progress is not None:
            progress.write("interrupted\n")
        return [r for r in slots if r is not None], True
    return slots, False


if __name__ == "__main__":  # pragma: no cover
    out, _ = run_claims(select(sys.argv[1] if len(sys.argv) > 1 else None), progress=sys.stderr)
    for r in out:
        print(r.key, r.verdict, r.instances, r.margin_text(), r.reason)
