"""The runner: search each claim for violations, and give a verdict with its evidence.

Each claim is searched in phases (:mod:`aotmem.verify.search` explains why):
``sampling`` (Hypothesis, steered by ``target(-rel_margin)``), then, for claims
with a :class:`~aotmem.verify.search.TaskSpace`, ``families`` (structured
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

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisDeprecationWarning

from aotmem.verify.parallel import map_claims
from aotmem.verify.recipes import limits
from aotmem.verify.registry import Claim, Evaluation, get, select
from aotmem.verify.search import explicit_of, objective_of, optimise, recipe_key, recipe_size, shrink

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
              "budget_s": 60.0},
    "full": {"sample": {"cheap": 1000, "medium": 400, "expensive": 25},
             "families": {"cheap": 7000, "medium": 7000, "expensive": 20},
             "starts": {"cheap": 6, "medium": 6, "expensive": 1},
             "evals": {"cheap": 400, "medium": 400, "expensive": 30},
             "polish": {"cheap": 200, "medium": 200, "expensive": 0},
             "budget_s": 900.0},
}
# The full profile's promise for a `holds`: at least this many instances evaluated.
TARGET_INSTANCES = {"quick": None, "full": 10_000}
# Claims without a TaskSpace are searched by sampling only; the full profile
# then samples this many for cheap claims (Hypothesis stops earlier when the
# claim's instance space is smaller).
SAMPLE_ONLY_FULL = 10_000
BATCH = 64  # instances per call of a claim's batch evaluator
# A claim with a batch evaluator gets this many times the profile's family instances:
# the batch makes them 10-60x cheaper (benchmarks/bench_batch.py), and the families are
# where the sharp cases of the bounds come from.
BATCHED_FAMILIES = 5
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
    rec = json.dumps(recipe, sort_keys=True)
    return (f"python -c 'from aotmem.verify.registry import evaluate; "
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
        self.tight = None  # ((trivial, rel_margin), recipe, ev, method)
        self.max_ratio = None  # (ratio, recipe, ev, method)
        self.eval_s = 0.0
        self.n_evals = 0
        self.miss = None  # existence claims: (rel_margin, recipe, ev, method) of the worst witness miss
        self.suspects: list = []  # (rel_margin, key, recipe, ev, method): violated below float64's atol

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
            return
        if ev.outside is not None:
            self.outside[ev.outside] += 1
            return
        if self.claim.kind == "construction" and ev.violated and not ev.certified:
            if self.miss is None or ev.rel_margin < self.miss[0]:
                self.miss = (ev.rel_margin, dict(recipe), ev, method)
        if (self.claim.recheck is not None and not ev.violated and ev.sense in ("<=", ">=")
                and self.claim.kind != "construction" and -ev.margin > SUSPECT_ATOL
                and -ev.margin > SUSPECT_RTOL * max(abs(ev.lhs), abs(ev.rhs))):
            self.suspects.append((ev.rel_margin, k, dict(recipe), ev, method))
        rank = (ev.trivial, ev.rel_margin)
        if self.tight is None or (not math.isnan(ev.rel_margin) and rank < self.tight[0]):
            self.tight = (rank, dict(recipe), ev, method)
        r = ev.ratio
        if r is not None and not ev.trivial and (self.max_ratio is None or r > self.max_ratio[0]):
            self.max_ratio = (r, dict(recipe), ev, method)

    def judged(self) -> list[tuple[str, Evaluation]]:
        return [(k, ev) for k, ev in self.cache.items() if isinstance(ev, Evaluation) and ev.outside is None]


def _sampling(claim: Claim, search: _Search, n: int, seed: int, profile: str):
    """Phase 1: Hypothesis over the claim's own recipes. Returns a _Violation or None."""

    def probe(recipe):
        try:
            ev = search.evaluate_many([recipe], "sampling")[0]
        except _Budget:
            return
        if isinstance(ev, Exception) or ev.outside is not None:
            return
        rm = ev.rel_margin
        if math.isfinite(rm) and not ev.trivial:
            target(-rm, label="-rel_margin")
        if _is_violation(claim, ev):
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
    test = hypothesis_seed(claim_seed(seed, claim.base_id))(test)  # readings of one claim draw the same instances
    try:
        with _no_local_constants(), warnings.catch_warnings():
            # Hypothesis warns when something else touches the global `random` state during a draw
            # (a Dask worker's threads do); the draws themselves do not use it
            warnings.simplefilter("ignore", HypothesisDeprecationWarning)
            test()
    except _Violation as v:
        return v
    return None


def _explicit_pool(search: _Search) -> list[dict]:
    """Explicit forms of the judged instances so far, tightest first (starts and templates for phases 2-3)."""
    items = []
    for k, ev in search.judged():
        r = explicit_of(json.loads(k))
        if r is not None:
            items.append((objective_of(ev), k, r))
    items.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in items]


def _families(claim: Claim, search: _Search, n: int, rng, profile: str):
    """Phase 2: structured families with the claim's own parameters. Returns (recipe, ev) of a violation or None."""
    pool = _explicit_pool(search)
    if not pool or n <= 0:
        return None, {}
    max_n = limits(profile)["max_n"]
    names: Counter = Counter()
    done = 0
    while done < n:
        chunk = []
        # one shape per chunk (the claim's parameters and T of one template), so a batch evaluator gets
        # whole batches; the families, rows and prior vary within it
        like = pool[int(rng.integers(len(pool)))]
        T = claim.space.family_rows(rng, like)
        for _ in range(min(BATCH, n - done)):
            name, rec = claim.space.family_recipe(rng, like, max_n, T)
            names[name] += 1
            chunk.append(rec)
        done += len(chunk)
        evs = search.evaluate_many(chunk, "families")
        for rec, ev in zip(chunk, evs):
            if _is_violation(claim, ev):
                return (rec, ev), dict(names)
    return None, dict(names)


def _optimisation(claim: Claim, search: _Search, starts: int, evals: int, polish: int, rng):
    """Phase 3: from the tightest distinct explicit instances, minimise the relative margin."""
    info = {"starts": 0, "evaluations": 0, "best": None}
    seen, chosen = set(), []
    for r in _explicit_pool(search):
        shape = (len(r["logits"]), len(r["logits"][0]), r.get("d"))
        if shape in seen and len(chosen) < starts // 2:
            continue  # diversity: different shapes first
        seen.add(shape)
        chosen.append(r)
        if len(chosen) >= starts:
            break
    for start in chosen:
        info["starts"] += 1
        res = optimise(lambda rs: search.evaluate_many(rs, "optimisation"), claim.space, start, rng,
                       evals=evals, polish=polish, is_hit=lambda ev: _is_violation(claim, ev))
        info["evaluations"] += res.evaluations
        info["best"] = res.value if info["best"] is None else min(info["best"], res.value)
        if res.found:
            ev = search.evaluate_many([res.recipe], "optimisation")[0]
            if _is_violation(claim, ev):
                return (res.recipe, ev), info
    return None, info


def _relative(ev: Evaluation) -> Evaluation:
    """``ev`` judged with the suspects' tolerance ``SUSPECT_ATOL + MP_RTOL |rhs|`` (decided at 50 digits)."""
    return replace(ev, atol=SUSPECT_ATOL, rtol=MP_RTOL)


def _is_violation(claim: Claim, ev) -> bool:
    """A violation that refutes the claim: any for bounds and identities; for an existence claim, a certified one."""
    return (isinstance(ev, Evaluation) and ev.outside is None and ev.violated
            and (claim.kind != "construction" or ev.certified))


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


def _finalise_violation(claim: Claim, search: _Search, recipe: dict, ev: Evaluation, seed: int,
                        relative: bool = False):
    """Shrink a violation to its smallest explicit form, then re-check in extended precision.

    ``relative``: the violation lies below float64's absolute tolerance and is judged
    with ``MP_RTOL`` alone (:func:`_relative`); only the 50-digit re-check can confirm it.
    Returns ``(recipe, ev, info)``: the reported counterexample (the smallest
    one whose violation the re-check confirms, or, without a re-check, the
    smallest), and ``info`` (``found_as``, ``shrink_evaluations``, ``recheck``).
    """
    judge = _relative if relative else (lambda e: e)
    candidates = [(recipe, ev)]
    info: dict = {"found_as": recipe}
    ex = explicit_of(recipe) if claim.space is not None else None
    if ex is not None and recipe_key(ex) != recipe_key(recipe):
        candidates.append((ex, None))
    if ex is not None:
        # a shrunk counterexample keeps at least a tenth of the original relative violation: the smallest
        # instance that is still clearly violated, not one on the boundary
        floor = min(ev.rel_margin / 10, 0.0) if math.isfinite(ev.rel_margin) else 0.0
        small, n = shrink(ex, _violates(claim, search, floor, judge), seed=seed)
        info["shrink_evaluations"] = n
        candidates.append((small, None))
    judged = []
    for r, e in candidates:
        e = e or search.evaluate_many([r], "shrink")[0]
        if isinstance(e, Evaluation) and e.outside is None:
            e = judge(e)
        if _is_violation(claim, e):
            judged.append((r, e))
    judged.sort(key=lambda t: recipe_size(t[0]) if t[0].get("kind") == "explicit" else (math.inf,))
    if claim.recheck is None:
        r, e = judged[0]
        info["recheck"] = {"confirmed": None, "method": "none",
                           "note": "no extended-precision re-check is implemented for this claim"}
        return r, e, info
    unconfirmed = []
    for r, e in judged:
        try:
            rc = claim.recheck(dict(r), e)
        except Exception as exc:  # a re-check that cannot run is reported, never taken as confirmation
            rc = {"confirmed": None, "method": "mpmath", "note": f"re-check raised {exc.__class__.__name__}: {exc}"}
        if rc.get("confirmed"):
            info["recheck"] = rc
            if unconfirmed:
                info["unconfirmed_smaller"] = unconfirmed
            return r, e, info
        unconfirmed.append({"recipe": r, "recheck": rc})
    info["recheck"] = unconfirmed[0]["recheck"]
    info["unconfirmed"] = unconfirmed
    return None, None, info


def _resolve_suspects(claim: Claim, search: _Search, k: int):
    """Decide the ``k`` most violated suspects at 50 digits; the first confirmed one, as ``(recipe, ev, method)``."""
    seen, tried = set(), 0
    for rm, key, recipe, ev, method in sorted(search.suspects, key=lambda t: (t[0], t[1])):
        if key in seen or tried >= k:
            continue
        seen.add(key)
        tried += 1
        try:
            rc = claim.recheck(dict(recipe), _relative(ev))
        except Exception:  # a re-check that cannot run decides nothing
            continue
        if rc.get("confirmed"):
            return recipe, _relative(ev), method
    search.suspects_checked = tried
    return None


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
        return _base(claim, "unverifiable", seed, claim.unverifiable)
    prof = PROFILES[profile]
    cost = claim.cost
    budget = float(budget_s if budget_s is not None else prof["budget_s"])
    search = _Search(claim, budget)
    only_sampling = max_examples is not None or claim.space is None
    n_sample = max_examples if max_examples is not None else prof["sample"][cost]
    if claim.space is None and max_examples is None and profile == "full":
        if claim.full_draws is not None:
            n_sample = claim.full_draws
        elif cost == "cheap":
            n_sample = SAMPLE_ONLY_FULL
    rng = np.random.default_rng(claim_seed(seed, claim.key))

    violation = _sampling(claim, search, n_sample, seed, profile)
    found = (violation.recipe, violation.ev, "sampling") if violation else None
    if found is not None and not only_sampling:
        # the claim's own generators make large instances; the families make small ones: look there
        # for a smaller counterexample before shrinking (the smallest that can be found is the one to keep)
        try:
            hit, _ = _families(claim, search, prof["families"][cost], rng, profile)
        except _Budget:
            hit = None
        if hit is not None:
            ex = explicit_of(found[0])
            if ex is None or recipe_size(hit[0]) < recipe_size(ex):
                found = (*hit, "families")
    families_used: dict = {}
    optim_info: dict = {}
    if not only_sampling and found is None:
        try:
            n_fam = prof["families"][cost] * (BATCHED_FAMILIES if claim.batch is not None else 1)
            hit, families_used = _families(claim, search, n_fam, rng, profile)
            if hit:
                found = (*hit, "families")
            else:
                k = BATCHED_FAMILIES if claim.batch is not None else 1  # the ES evaluates one batch a generation
                hit, optim_info = _optimisation(claim, search, prof["starts"][cost] * (2 if k > 1 else 1),
                                                prof["evals"][cost] * k, prof["polish"][cost], rng)
                if hit:
                    found = (*hit, "optimisation")
        except _Budget:
            pass

    relative = False
    if found is None and search.suspects:
        hit = _resolve_suspects(claim, search, SUSPECTS[profile])
        if hit is not None:
            found, relative = hit, True

    res = _base(claim, "holds", seed)
    judged = search.judged()
    res.instances = len(judged)
    res.outside = sum(search.outside.values())
    res.errors = len(search.errors)
    res.skipped = search.skipped
    res.error_samples = [f"{e} on {r}" for r, e in list(search.errors.items())[:3]]
    methods = Counter(search.method_of[k] for k, _ in judged)
    res.evidence = {
        "methods": {m: methods.get(m, 0) for m in ("sampling", "families", "optimisation", "shrink")},
        "families": families_used, "optimisation": optim_info,
        "evaluations": search.n_evals,
        "evals_per_s": round(search.n_evals / search.eval_s, 1) if search.eval_s > 0 else None,
        "batched": claim.batch is not None,
    }
    if search.tight is not None:
        (_, _), recipe, ev, method = search.tight
        res.tightest = {"recipe": recipe, "summary": claim.summary(recipe), "evaluation": ev.as_dict(),
                        "method": method}
    if search.max_ratio is not None:
        r, recipe, ev, method = search.max_ratio
        res.evidence["max_ratio"] = {"ratio": r, "recipe": recipe, "summary": claim.summary(recipe),
                                     "method": method}
    target_n = TARGET_INSTANCES[profile]
    if target_n and res.instances < target_n and found is None:
        drawn = res.instances + res.outside + res.errors
        per = (time.perf_counter() - t0) / max(drawn, 1)  # wall time: drawing and building the instance count too
        why = [f"{res.instances} instances judged (target {target_n})"]
        # the rate of these draws understates more of them: Hypothesis draws larger instances as a run goes on
        # (10^4 draws of paper.lemma1 averaged 4 s each against 0.03 s over its first 200, measured)
        rate = f"{per:.2g} s of wall time each over these draws, a lower bound for more"
        if cost == "expensive" and claim.full_draws is None:
            why.append(f"each instance runs an optimiser or a construction ({rate}): the full profile draws {n_sample}")
        elif claim.space is None:
            why.append(f"searched by sampling only (structured instances, no continuous space to optimise): "
                       f"{n_sample} draws requested, {drawn} distinct instances (the claim's instance space is "
                       f"finite or repeats)" if drawn < 0.98 * n_sample and not search.skipped else
                       f"searched by sampling only: {drawn} distinct instances drawn")
            if cost == "medium" and claim.full_draws is None:
                why.append(f"a medium-cost claim ({rate}): the full profile draws {n_sample}")
        if res.outside:
            why.append(f"{res.outside} drawn outside the claim's regime")
        if search.skipped:
            why.append(f"time budget {budget:g} s spent")
        res.evidence["short_of_target"] = "; ".join(why)

    if found is None and search.miss is not None:
        _, recipe, ev, method = search.miss
        res.verdict = "no-witness"
        res.counterexample = _cx(claim, recipe, ev, seed, method, {})
        res.reason = (f"the witness misses on {claim.summary(recipe)}: lhs={ev.lhs:.6g} {ev.sense} "
                      f"rhs={ev.rhs:.6g} (shortfall {-ev.margin:.3g}); a finding about the witness, not a "
                      "counterexample: nothing certifies that no object reaches the claim there")
    elif found is not None:
        recipe, ev, method = found
        try:
            r2, e2, info = _finalise_violation(claim, search, recipe, ev, claim_seed(seed, claim.key), relative)
        except _Budget:
            r2, e2, info = recipe, ev, {"recheck": {"confirmed": None, "method": "none",
                                                    "note": "time budget spent before the re-check"}}
        if r2 is None:
            res.reason = ("a float64 violation was not confirmed in extended precision (rounding): "
                          + json.dumps(info["recheck"])[:300])
            res.evidence["unconfirmed"] = info.get("unconfirmed")
        else:
            res.verdict = "fails"
            res.counterexample = _cx(claim, r2, e2, seed, method, info)
            rc = info.get("recheck", {})
            conf = ("confirmed in {dps}-digit arithmetic".format(dps=rc.get("dps", 50)) if rc.get("confirmed")
                    else "NOT re-checked in extended precision: " + rc.get("note", ""))
            if relative:
                conf += (f"; the violation is below float64's absolute tolerance, so it was decided there with "
                         f"tolerance {SUSPECT_ATOL:g} + {MP_RTOL:g} |rhs|")
                res.counterexample["below_float64_atol"] = True
            res.reason = (f"{claim.summary(r2)}: lhs={e2.lhs:.6g} {e2.sense} rhs={e2.rhs:.6g} fails "
                          f"(margin {e2.margin:.3g}, tol {e2.tol:.2g}; {conf})")
    elif not judged:
        if search.outside:
            res.verdict = "vacuous"
            res.reason = "every instance is outside the regime: " + search.outside.most_common(1)[0][0]
        elif search.errors:
            res.verdict = "unverifiable"
            res.reason = "every evaluation raised: " + next(iter(search.errors.values()))
        else:
            res.verdict = "unverifiable"
            res.reason = "no instance evaluated within the time budget"
    else:
        notes = []
        if res.outside:
            notes.append(f"{res.outside} outside the regime")
        if res.errors:
            notes.append(f"{res.errors} raised ({res.error_samples[0]})")
        if res.skipped:
            notes.append(f"time budget hit, {res.skipped} skipped")
        res.reason = "; ".join(notes)
    res.wall_s = time.perf_counter() - t0
    return res


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


def run_key(key: str, profile: str, seed: int) -> dict:
    """Worker entry point (:func:`aotmem.verify.parallel.map_claims`): the result of claim ``key`` as a dict (picklable)."""
    return run_claim(get(key), profile=profile, seed=seed).as_dict()


def run_claims(claims: list[Claim], *, profile: str = "quick", seed: int = 0, progress=None,
               on_result=None, workers: int = 1, scheduler: str | None = None) -> tuple[list[Result], bool]:
    """Run ``claims``; returns ``(results, interrupted)``, results in the order of ``claims``.

    ``workers > 1`` runs claims in that many processes on this machine;
    ``scheduler`` (``tcp://HOST:PORT``, or a ``distributed.Client``) runs them on
    a Dask cluster (:mod:`aotmem.verify.parallel`). Claims are independent units:
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
            for d in map_claims(run_key, [c.key for c in claims], profile, seed, workers=workers, scheduler=scheduler):
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
