"""The runner: search each claim for violations with Hypothesis, and give a verdict.

For each claim the runner draws recipes from the claim's strategy, evaluates
them, and calls ``hypothesis.target(-rel_margin)`` so that the search is
steered toward the boundary (small or negative margins), not just sampled.
A violation is raised inside the Hypothesis test, so Hypothesis shrinks it
to the smallest recipe that still violates; the runner reports that one.

Verdicts (``VERDICTS``):

- ``holds``: no instance violated; the instance count and the tightest
  (smallest relative) margin are reported;
- ``fails``: a violation beyond the claim's tolerance, with the shrunk
  recipe, both sides and a command that reproduces it;
- ``vacuous``: every instance fell outside the claim's regime (reason given);
- ``unverifiable``: the claim cannot be checked (standing reason, missing
  implementation, or every evaluation raised).

Reproducibility: each claim's Hypothesis seed is ``crc32("<seed>:<id>")`` (the
docs/theory.md id: its readings and corrected forms start from the same instances),
the example database is off, and evaluations are cached per recipe, so the
same ``--seed`` gives the same verdicts. A per-claim time budget is a safety
net only: once spent, new recipes are skipped (counted in ``skipped``) but
cached ones, the shrinker's, still replay.
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
from dataclasses import asdict, dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings, target
from hypothesis import seed as hypothesis_seed

from aotmem.verify.registry import Claim, Evaluation

__all__ = ["VERDICTS", "PROFILES", "Result", "run_claim", "run_claims", "claim_seed"]

VERDICTS = ("holds", "fails", "vacuous", "unverifiable")

# Instances per claim by cost, and the per-claim time budget (seconds). The
# instance counts set the run time (quick: under 2 minutes on 2 idle cores);
# `full` is the search one runs before trusting a `holds`. The budget is a
# safety net far above any claim's normal time: verdicts must not depend on
# the machine's speed, so a run that hits it says so in the claim's reason.
PROFILES = {
    "quick": {"cheap": 40, "medium": 15, "expensive": 4, "budget_s": 60.0},
    "full": {"cheap": 400, "medium": 100, "expensive": 25, "budget_s": 900.0},
}


class _Violation(Exception):
    """Raised inside the Hypothesis test when an instance violates the claim."""

    def __init__(self, recipe: dict, ev: Evaluation):
        super().__init__(f"violation on {recipe}")
        self.recipe = recipe
        self.ev = ev


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

    def as_dict(self) -> dict:
        return asdict(self)

    def margin_text(self) -> str:
        """The tightest relative margin, formatted (``-`` when none)."""
        if not self.tightest:
            return "-"
        rm = self.tightest["evaluation"]["rel_margin"]
        return rm if isinstance(rm, str) else f"{rm:+.3g}"


@contextlib.contextmanager
def _no_local_constants():
    """Make Hypothesis's generation independent of which modules happen to be imported.

    Hypothesis (>= 6.13x) mixes into generation the literal constants it finds
    in the *local* modules loaded so far (``sys.modules``), cached on first
    use. So the same ``@seed`` draws different examples depending on what
    earlier claims imported (e.g. ``theory.optimal``): verdicts would depend on
    the run's order. Inside the runner the local pool is empty (the global
    pool of edge-case constants stays). Internal API: if it is absent, nothing
    is patched.
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
    """The Hypothesis seed of claim id ``key`` under run seed ``seed``."""
    return zlib.crc32(f"{int(seed)}:{key}".encode())


def _recipe_key(recipe: dict) -> str:
    return json.dumps(recipe, sort_keys=True, default=str)


def _reproduce(claim: Claim, recipe: dict, seed: int) -> str:
    rec = json.dumps(recipe, sort_keys=True)
    return (f"python -c 'from aotmem.verify.registry import evaluate; "
            f"print(evaluate(\"{claim.key}\", {rec}).as_dict())'  "
            f"# or: aotmem verify --claims \"{claim.key}\" --seed {seed}")


def _base(claim: Claim, verdict: str, seed: int, reason: str = "") -> Result:
    return Result(key=claim.key, id=claim.id, reading=claim.reading, source=claim.source, kind=claim.kind,
                  statement=claim.statement, regime=claim.regime, verdict=verdict, reason=reason, seed=seed,
                  corrects=claim.corrects, note=claim.note)


def run_claim(claim: Claim, *, profile: str = "quick", seed: int = 0, max_examples: int | None = None,
              budget_s: float | None = None) -> Result:
    """Search ``claim`` for violations and return its :class:`Result`.

    Parameters
    ----------
    claim : Claim
    profile : {"quick", "full"}
        Sets the instance count (by ``claim.cost``) and the time budget.
    seed : int
        Run seed; the claim's Hypothesis seed is :func:`claim_seed`.
    max_examples, budget_s : optional overrides of the profile's values.
    """
    if profile not in PROFILES:
        raise ValueError(f"`profile` must be one of {sorted(PROFILES)} (got {profile!r})")
    t0 = time.perf_counter()
    if claim.unverifiable is not None:
        return _base(claim, "unverifiable", seed, claim.unverifiable)

    prof = PROFILES[profile]
    n = int(max_examples if max_examples is not None else prof[claim.cost])
    budget = float(budget_s if budget_s is not None else prof["budget_s"])
    cache: dict[str, Evaluation | Exception] = {}
    outside_reasons: Counter = Counter()
    errors: dict[str, str] = {}
    skipped = [0]
    tight: list = [None]  # (rel_margin, recipe, ev)

    def probe(recipe):
        k = _recipe_key(recipe)
        if k in cache:
            ev = cache[k]
        elif time.perf_counter() - t0 > budget:
            skipped[0] += 1
            return
        else:
            try:
                with warnings.catch_warnings():  # numerical warnings are expected while searching
                    warnings.simplefilter("ignore")
                    ev = claim.evaluate(dict(recipe))
            except Exception as exc:  # the theory API raised on a recipe of the claim's own space
                errors[k] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                cache[k] = exc
                return
            cache[k] = ev
            if ev.outside is not None:
                outside_reasons[ev.outside] += 1
            else:
                # tightest: smallest relative margin, non-trivial instances first
                rank = (ev.trivial, ev.rel_margin)
                if tight[0] is None or (not math.isnan(ev.rel_margin) and rank < tight[0][0]):
                    tight[0] = (rank, dict(recipe), ev)
        if isinstance(ev, Exception):
            return
        if ev.outside is None:
            rm = ev.rel_margin
            if math.isfinite(rm) and not ev.trivial:
                target(-rm, label="-rel_margin")
            if ev.violated:
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
    s = claim_seed(seed, claim.base_id)  # readings and corrections of one claim draw the same instances
    test = hypothesis_seed(s)(test)

    violation = None
    try:
        with _no_local_constants():
            test()
    except _Violation as v:
        violation = v

    evaluated = [ev for ev in cache.values() if isinstance(ev, Evaluation) and ev.outside is None]
    res = _base(claim, "holds", seed)
    res.instances = len(evaluated)
    res.outside = sum(outside_reasons.values())
    res.errors = len(errors)
    res.skipped = skipped[0]
    res.error_samples = [f"{e} on {r}" for r, e in list(errors.items())[:3]]
    if tight[0] is not None:
        rm, recipe, ev = tight[0]
        res.tightest = {"recipe": recipe, "summary": claim.summary(recipe), "evaluation": ev.as_dict()}
    if violation is not None:
        ev = violation.ev
        res.verdict = "fails"
        if ev.tol > 0:
            gap = {"==": abs(ev.lhs - ev.rhs), ">": ev.tol - ev.margin}.get(ev.sense, -ev.margin)
            excess = gap / ev.tol
        else:
            excess = math.inf
        res.counterexample = {
            "recipe": violation.recipe, "summary": claim.summary(violation.recipe),
            "evaluation": ev.as_dict(),
            "excess_over_tol": excess if math.isfinite(excess) else "inf",
            "reproduce": _reproduce(claim, violation.recipe, seed),
        }
        res.reason = (f"{claim.summary(violation.recipe)}: lhs={ev.lhs:.6g} {ev.sense} rhs={ev.rhs:.6g} "
                      f"fails (margin {ev.margin:.3g}, tol {ev.tol:.2g})")
    elif not evaluated:
        if outside_reasons:
            res.verdict = "vacuous"
            res.reason = "every instance is outside the regime: " + outside_reasons.most_common(1)[0][0]
        elif errors:
            res.verdict = "unverifiable"
            res.reason = "every evaluation raised: " + next(iter(errors.values()))
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


def run_claims(claims: list[Claim], *, profile: str = "quick", seed: int = 0, progress=None,
               on_result=None) -> tuple[list[Result], bool]:
    """Run ``claims`` in order; returns ``(results, interrupted)``.

    ``progress`` is a text stream (e.g. ``sys.stderr``) that gets one line per
    claim; ``on_result(result)`` is called after each claim (to write partial
    output). Ctrl-C stops the run cleanly: the results so far are returned
    with ``interrupted = True``.
    """
    results: list[Result] = []
    total = len(claims)
    width = len(str(total))
    try:
        for i, claim in enumerate(claims, 1):
            if progress is not None:
                progress.write(f"[{i:>{width}}/{total}] {claim.key} ...")
                progress.flush()
            res = run_claim(claim, profile=profile, seed=seed)
            results.append(res)
            if progress is not None:
                progress.write(f" {res.verdict} ({res.instances} inst, {res.wall_s:.1f}s)\n")
                progress.flush()
            if on_result is not None:
                on_result(res)
    except KeyboardInterrupt:
        if progress is not None:
            progress.write(" interrupted\n")
        return results, True
    return results, False


if __name__ == "__main__":  # pragma: no cover
    from aotmem.verify.registry import select

    out, _ = run_claims(select(sys.argv[1] if len(sys.argv) > 1 else None), progress=sys.stderr)
    for r in out:
        print(r.key, r.verdict, r.instances, r.margin_text(), r.reason)
