"""The claims ledger's registry: one :class:`Claim` per claim id and reading of docs/theory.md.

A claim entry says where the claim comes from (``source``), what it states
(``statement``, LaTeX), which instances it is searched over (``instances``:
a Hypothesis strategy of *recipes*, small JSON-able dicts that name a task
generator and its parameters, so that every counterexample can be rebuilt
from scratch), and how one instance is judged (``evaluate``: both sides of
the claim and the margin, as an :class:`Evaluation`).

Conventions
-----------
- Every check is ``lhs <sense> rhs`` with ``sense`` one of ``"<="``,
  ``">="``, ``">"``, ``"=="``. The *margin* is the signed slack, positive
  when the claim holds on the instance: ``rhs - lhs`` for ``<=``,
  ``lhs - rhs`` for ``>=`` and ``>``, ``tol - |lhs - rhs|`` for ``==``.
  The *relative margin* divides by ``max(|lhs|, |rhs|, tol, MARGIN_FLOOR)``;
  the runner steers Hypothesis toward small relative margins with
  ``target()``, skipping *trivial* instances (both sides 0 within ``tol``).
- *Existence claims* (kind ``construction``: "there is an AoT / a map /
  an embedding ...") are checked through a witness the package builds. A
  witness that misses is a finding about the witness, not a counterexample:
  such an instance makes the verdict ``no-witness``. Only an evaluation
  marked ``certified`` (a proof that no object reaches the claim on that
  instance, e.g. a structural rank bound) makes an existence claim ``fails``.
- An instance *violates* the claim when the margin is below ``-tol`` with
  ``tol = atol + rtol * scale`` (for the strict ``>``: when the margin is
  not above ``+tol``, i.e. ``lhs`` is not positive beyond rounding) (scale = ``|rhs|`` for inequalities,
  ``max(|lhs|, |rhs|)`` for equalities). Tolerances are set per claim from
  the constants below, each with its justification.
- An instance outside the claim's hypotheses (its *regime*) is not
  evaluated: ``Evaluation.outside(reason)``. A claim whose every instance
  is outside is ``vacuous`` on the searched space.
- Corrected or restricted statements are their own entries, with ``+`` in
  the id (``paper.theorem1+factor2``) and ``corrects`` naming the original.

>>> ev = Evaluation(lhs=1.0, rhs=1.5, sense="<=")
>>> (ev.margin, ev.violated)
(0.5, False)
>>> Evaluation(lhs=2.0, rhs=1.0, sense="<=").violated
True
>>> Evaluation(lhs=1.0, rhs=1.0 + 1e-13, sense="==", atol=0.0, rtol=1e-12).violated
False
"""

from __future__ import annotations

import fnmatch
import re
import importlib
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

__all__ = [
    "KL_ATOL",
    "KL_RTOL",
    "BOUND_RULE",
    "bound_holds",
    "IDENTITY_RTOL",
    "PROJ_ATOL",
    "MARGIN_FLOOR",
    "SENSES",
    "SOURCES",
    "KINDS",
    "Evaluation",
    "Claim",
    "register",
    "add_examples",
    "all_claims",
    "get",
    "select",
    "evaluate",
]

# --- tolerances, shared by the runner, the CLI and the tests -------------
# A divergence is a sum of T*N terms ``pi (log pi - log softmax f)``, each exact
# to a few ulps of its O(|f| + |log pi|) size; with |f| <= 1e3 and T*N <= 1e4
# the rounding is below 1e-9 absolute. Bounds compared with divergences get
# this absolute slack plus KL_RTOL of the bound (16 ulps' worth of headroom
# for the dozen float64 operations in a bound formula).
KL_ATOL = 1e-9
KL_RTOL = 1e-12
# Identities (two float64 evaluations of the same quantity by different
# formulas, e.g. closed form vs numeric): agreement to 1e-8 relative. The
# numerical solutions behind them (SVDs, batched solves) lose up to
# cond * 1e-16 with conditions up to ~1e6 on the searched instances.
IDENTITY_RTOL = 1e-8
# Projection / idempotence checks on N x N matrices built from a d x d solve:
# entries O(1), errors ~ cond(system) * 1e-16; 1e-9 allows cond up to ~1e6.
PROJ_ATOL = 1e-9
# Relative margins divide by max(|lhs|, |rhs|, tol, MARGIN_FLOOR): below the
# tolerance both sides are rounding noise and a relative margin would amplify it.
MARGIN_FLOOR = 1e-12

SENSES = ("<=", ">=", ">", "==")
SOURCES = ("seed", "draft", "paper")
# bound: an inequality between computed quantities; identity: an equality;
# construction: an existence statement ("there is ..."), checked through a witness: a
# witness that misses is a finding about the witness (verdict no-witness), only a
# certificate that no object exists refutes it; measurement: a curve measured
# against an operational reading.
KINDS = ("bound", "identity", "construction", "measurement")


# The full profile's draws for a sampling-only claim whose instances stay cheap although its cost class
# says otherwise (measured, 2000 draws, one core): paper.cor1, paper.cor2, paper.table1[this-paper]
# (7-11 s), paper.lemma2+S>=2+d<=N+S-2[certified] (41 s), paper.prop2[d<N-1,certificate-vs-optimiser]
# (a finite space of 171 instances, N <= 20: enumerated). Not paper.lemma1 or prop1[vs-optimiser]: Hypothesis draws larger
# instances as a run goes on; 10^4 draws of paper.lemma1 averaged 4 s each (235 in its 900 s budget).
FULL_DRAWS_FAST = 10_000


@dataclass(frozen=True)
class Evaluation:
    """Both sides of a claim on one instance, and whether it holds.

    Parameters
    ----------
    lhs, rhs : float
        The two sides, with ``lhs <sense> rhs`` the statement.
    sense : {"<=", ">=", ">", "=="}
    atol, rtol : float
        Violation threshold ``atol + rtol * scale`` (see module docstring).
    detail : dict
        Named intermediate quantities (JSON-able scalars), shown in reports.
    outside : str or None
        Reason the instance is outside the claim's regime (then ``lhs`` and
        ``rhs`` are NaN and nothing is judged).
    certified : bool
        For existence claims: the violation is certified, i.e. no object can
        reach the claim on this instance (``detail`` says why). Without it a
        violated existence claim only says the witness missed.
    """

    lhs: float
    rhs: float
    sense: str = "<="
    atol: float = KL_ATOL
    rtol: float = KL_RTOL
    detail: dict = field(default_factory=dict)
    outside: str | None = None
    certified: bool = False

    def __post_init__(self) -> None:
        if self.sense not in SENSES:
            raise ValueError(f"`sense` must be one of {SENSES} (got {self.sense!r})")
        object.__setattr__(self, "lhs", float(self.lhs))
        object.__setattr__(self, "rhs", float(self.rhs))
        if self.outside is None and (math.isnan(self.lhs) or math.isnan(self.rhs)):
            raise ValueError(f"`lhs`/`rhs` must not be NaN for an evaluated instance (got {self.lhs}, {self.rhs})")

    @classmethod
    def out_of_regime(cls, reason: str, **detail) -> "Evaluation":
        """An instance outside the claim's hypotheses."""
        return cls(math.nan, math.nan, detail=detail, outside=str(reason))

    @property
    def tol(self) -> float:
        """The violation threshold ``atol + rtol * scale``."""
        if self.sense == "==":
            scale = max(abs(self.lhs), abs(self.rhs))
        else:
            scale = abs(self.rhs)
        scale = scale if math.isfinite(scale) else 0.0
        return self.atol + self.rtol * scale

    @property
    def margin(self) -> float:
        """Signed slack: positive when the claim holds (before tolerance)."""
        if self.outside is not None:
            return math.nan
        if self.sense == "<=":
            return self.rhs - self.lhs
        if self.sense in (">=", ">"):
            return self.lhs - self.rhs
        return self.tol - abs(self.lhs - self.rhs)

    @property
    def rel_margin(self) -> float:
        """``margin / max(|lhs|, |rhs|, tol, MARGIN_FLOOR)``: scale-free slack."""
        m = self.margin
        if math.isnan(m):
            return m
        scale = max(abs(self.lhs), abs(self.rhs), self.tol, MARGIN_FLOOR)
        if not math.isfinite(scale):
            return m if not math.isfinite(m) else 0.0
        return m / scale

    @property
    def ratio(self) -> float | None:
        """How far towards a violation, scale-free: ``lhs/rhs`` for ``<=``, ``rhs/lhs`` for ``>=``/``>``,
        ``|lhs - rhs| / tol`` for ``==`` (a violation is about ``ratio > 1``); None when undefined
        (a zero or non-finite denominator, or an instance outside the regime)."""
        if self.outside is not None:
            return None
        if self.sense == "==":
            num, den = abs(self.lhs - self.rhs), self.tol
        elif self.sense == "<=":
            num, den = self.lhs, self.rhs
        else:
            num, den = self.rhs, self.lhs
        if not (math.isfinite(num) and math.isfinite(den)) or den <= 0:
            return None
        return num / den

    @property
    def trivial(self) -> bool:
        """Both sides are 0 within the tolerance (e.g. ``sigma_{d+1} = 0``): tight, but uninformative."""
        return self.outside is None and max(abs(self.lhs), abs(self.rhs)) <= self.tol

    @property
    def violated(self) -> bool:
        """Whether the instance violates the claim beyond the tolerance."""
        if self.outside is not None:
            return False
        if self.sense == "==":
            return abs(self.lhs - self.rhs) > self.tol
        if self.sense == ">":
            return not self.margin > self.tol
        return self.margin < -self.tol

    def as_dict(self) -> dict:
        """The evaluation as a dict of plain values (floats may be non-finite: JSON writers go through
        :func:`aotmem.verify.outputs.jsonout.strict`, which writes them as ``null`` with a ``<key>_note``)."""
        return {
            "lhs": self.lhs, "rhs": self.rhs, "sense": self.sense,
            "margin": self.margin, "rel_margin": self.rel_margin,
            "atol": self.atol, "rtol": self.rtol, "tol": self.tol,
            "violated": self.violated, "outside": self.outside, "certified": self.certified,
            "ratio": self.ratio, "detail": dict(self.detail),
        }


#: The one rule for "a bound holds", stated where it is applied (``aotmem bounds`` text and JSON,
#: ``aotmem curve``, docs/theory.md): the ledger's :class:`Evaluation` of ``lhs <= rhs`` with the
#: bound tolerances KL_ATOL / KL_RTOL (justified above).
BOUND_RULE = (f"holds when lhs <= rhs + KL_ATOL + KL_RTOL*|rhs| with KL_ATOL = {KL_ATOL:g}, KL_RTOL = {KL_RTOL:g} "
              "(|rhs| read as 0 when rhs = +inf): the claims ledger's rule for every bound")


def bound_holds(lhs: float, rhs: float) -> bool:
    """Whether ``lhs <= rhs`` holds by :data:`BOUND_RULE` (the ledger's ``Evaluation(lhs, rhs, "<=")``, not violated).

    >>> bound_holds(6e-17, 1.8e-27), bound_holds(2e-9, 0.0)
    (True, False)
    """
    return not Evaluation(lhs, rhs, "<=", atol=KL_ATOL, rtol=KL_RTOL).violated


@dataclass(frozen=True)
class Claim:
    """One claim id of docs/theory.md under one reading.

    Parameters
    ----------
    id : str
        The claim id, exactly as docs/theory.md writes it (``seed.ls-bound``), or
        a corrected statement ``<id>+<correction>``.
    reading : str
        The reading's name ("" when the statement is unambiguous).
    source : {"seed", "draft", "paper"}
    statement : str
        The statement as a LaTeX string (this reading's form).
    kind : {"bound", "identity", "construction", "measurement"}
    instances : callable
        ``instances(profile) -> SearchStrategy`` of recipe dicts.
    evaluate : callable
        ``evaluate(recipe) -> Evaluation``.
    regime : str
        Where the claim is vacuous or which assumption it needs.
    unverifiable : str or None
        A standing reason the claim cannot be checked (nothing is run).
    examples : tuple of dict
        Recipes always run first (edge cases, known counterexamples).
    cost : {"cheap", "medium", "expensive"}
        Scales the profile's instance count.
    full_draws : int or None
        For a claim searched by sampling only: the draws of the full profile,
        where its cost class's default is wrong for it (e.g. an ``expensive``
        claim whose optimiser takes ~10 ms per instance: 10^4 of them fit).
    family_cost : {"cheap", "medium", "expensive"} or None
        The cost class of the claim's family instances where it differs from ``cost``: an ``expensive``
        claim whose families reuse a cached expensive part (the same task's optimum) gets that class's
        family counts, and the full profile's top-up, instead of the expensive class's 20 families.
    full_families : int or None
        The family instances of each of the full profile's top-up passes, where the family class's count is wrong
        for the claim (e.g. one pass must reach 10^4 judged instances although ~10% of its draws fall outside:
        the top-up starts no second pass once the claim has run ``TOP_UP_S``).
    top_up_s : float or None
        The claim's own top-up deadline (seconds since the claim started) where the runner's ``TOP_UP_S`` is
        wrong for it: a claim whose search phases alone can run past ``TOP_UP_S`` under two workers, and whose
        top-up pass is what reaches 10^4 judged instances.
    corrects : str or None
        For a corrected statement, the key of the claim it corrects.
    space : aotmem.verify.ledger.search.TaskSpace or None
        How the claim's instances map to explicit tasks and continuous
        parameters: enables the structured families and the adversarial
        optimisation (claims without one are searched by sampling only).
    batch : callable or None
        ``batch(recipes) -> list of Evaluation or Exception``, the same as
        ``[evaluate(r) for r in recipes]`` but vectorised (throughput).
    recheck : callable or None
        ``recheck(recipe, ev) -> dict``: both sides recomputed in extended precision
        (mpmath, 50 digits) and the comparison decided there (keys
        ``confirmed`` (True/False/None), ``lhs``, ``rhs``, ``margin``, ``dps``,
        ``method``). A ``fails`` is printed only once re-checked.
    describe : callable or None
        ``describe(recipe) -> str``: a one-line summary of an instance.
    decide_mp : callable or None
        ``decide_mp(recipe) -> Evaluation``: the instance evaluated in extended precision, for the
        instances the float64 evaluation refuses (a linear system above its float64 condition
        limit, :class:`aotmem.theory.lowrank.IllConditioned`). They are part of the regime: the
        runner decides them with this instead of leaving them out.
    """

    id: str
    reading: str
    source: str
    statement: str
    kind: str
    instances: Callable[[str], Any] | None
    evaluate: Callable[[dict], Evaluation] | None
    regime: str = ""
    unverifiable: str | None = None
    examples: tuple = ()
    cost: str = "cheap"
    full_draws: int | None = None
    family_cost: str | None = None
    full_families: int | None = None
    top_up_s: float | None = None
    corrects: str | None = None
    describe: Callable[[dict], str] | None = None
    note: str = ""
    space: Any = None
    batch: Callable | None = None
    recheck: Callable | None = None
    decide_mp: Callable | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"`source` must be one of {SOURCES} (got {self.source!r})")
        if not self.id.startswith(self.source + "."):
            raise ValueError(f"`id` {self.id!r} must start with its source {self.source!r}")
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS} (got {self.kind!r})")
        if self.cost not in ("cheap", "medium", "expensive"):
            raise ValueError(f"`cost` must be cheap, medium or expensive (got {self.cost!r})")
        if self.family_cost is not None and self.family_cost not in ("cheap", "medium", "expensive"):
            raise ValueError(f"`family_cost` must be 'cheap', 'medium', 'expensive' or None (got {self.family_cost!r})")
        if self.full_draws is not None and not (isinstance(self.full_draws, int) and self.full_draws >= 1):
            raise ValueError(f"`full_draws` must be a positive int or None (got {self.full_draws!r})")
        if self.full_families is not None and not (isinstance(self.full_families, int) and self.full_families >= 1):
            raise ValueError(f"`full_families` must be a positive int or None (got {self.full_families!r})")
        if self.top_up_s is not None and (isinstance(self.top_up_s, bool) or not (isinstance(self.top_up_s, (int, float)) and 0 < self.top_up_s < 1e4)):
            raise ValueError(f"`top_up_s` must be a positive number of seconds below 10^4 or None (got {self.top_up_s!r})")
        if self.unverifiable is None and (self.instances is None or self.evaluate is None):
            raise ValueError(f"claim {self.key}: `instances` and `evaluate` are required unless `unverifiable`")

    @property
    def key(self) -> str:
        """``id[reading]``, or ``id`` when there is one reading."""
        return f"{self.id}[{self.reading}]" if self.reading else self.id

    @property
    def base_id(self) -> str:
        """The docs/theory.md claim id (``paper.theorem1`` for ``paper.theorem1+factor2``)."""
        return self.id.split("+", 1)[0]

    def summary(self, recipe: dict) -> str:
        if self.describe is not None:
            return self.describe(recipe)
        return ", ".join(f"{k}={v}" for k, v in recipe.items())


_REGISTRY: dict[str, Claim] = {}
_LOADED = False
CLAIM_PACKAGE = "aotmem.verify.claims"  # importing it registers every claim (one module per topic)


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (a key may be registered once).

    The search's kept counterexamples (:data:`aotmem.verify.claims.kept.KEPT`) are attached by the
    claims package itself once every topic is registered (:func:`add_examples`): the registry
    imports nothing of ``claims/`` (no import cycle).
    """
    if claim.key in _REGISTRY:
        raise ValueError(f"claim {claim.key!r} is registered twice")
    _REGISTRY[claim.key] = claim
    return claim


def add_examples(key: str, *examples: dict) -> Claim:
    """Append ``examples`` (those not already there) to the registered claim ``key``; every run replays them first.

    Raises ``ValueError`` when ``key`` is not registered (a kept example of a claim that no longer exists).
    """
    if key not in _REGISTRY:
        raise ValueError(f"`key` {key!r} is not a registered claim (examples for it cannot be kept)")
    claim = _REGISTRY[key]
    new = tuple(e for e in examples if e not in claim.examples)
    if new:
        claim = _REGISTRY[key] = replace(claim, examples=tuple(claim.examples) + new)
    return claim


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    importlib.import_module(CLAIM_PACKAGE)


def all_claims() -> list[Claim]:
    """Every registered claim, in source order (seed, draft, paper), then registration order."""
    _load()
    order = {s: i for i, s in enumerate(SOURCES)}
    return sorted(_REGISTRY.values(), key=lambda c: order[c.source])


def get(key: str) -> Claim:
    """The claim registered as ``key`` (``id`` or ``id[reading]``)."""
    _load()
    if key not in _REGISTRY:
        close = [k for k in _REGISTRY if k.startswith(key.split("[")[0])]
        hint = f"; did you mean one of {close[:6]}" if close else ""
        raise ValueError(f"`claim` {key!r} is not registered{hint}")
    return _REGISTRY[key]


def select(pattern: str | None = None) -> list[Claim]:
    """Claims whose key matches ``pattern``.

    ``pattern`` is a comma-separated list (commas inside ``[...]`` belong to
    the reading) of shell globs (``paper.*``, ``seed.ls-bound[*``; ``[`` is
    literal, not a glob class) or plain prefixes (``draft.theorem``); None
    selects all. A pattern that matches nothing raises ``ValueError``.

    >>> [c.key for c in select("draft.lemma-taylor")]
    ['draft.lemma-taylor[identity]', 'draft.lemma-taylor']
    """
    claims = all_claims()
    if pattern is None or pattern.strip() == "":
        return claims
    out = []
    for pat in (p.strip() for p in _split_patterns(pattern)):
        if not pat:
            continue
        glob = any(ch in pat for ch in "*?")
        rx = fnmatch.translate(pat.replace("[", "\0").replace("]", "\1"))
        rx = rx.replace("\0", "\\[").replace("\1", "\\]")
        hits = [c for c in claims
                if (re.fullmatch(rx, c.key) is not None if glob
                    else (c.key == pat or c.key.startswith(pat)))]
        if not hits:
            raise ValueError(f"`--claims` pattern {pat!r} matches no claim (ids look like 'paper.theorem1', "
                             f"'seed.ls-bound[sigma=uniform,inf=global]')")
        out.extend(h for h in hits if h not in out)
    return out


def _split_patterns(pattern: str) -> list[str]:
    """Split on commas outside ``[...]`` (readings contain commas)."""
    out, depth, cur = [], 0, ""
    for ch in pattern:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def evaluate(key: str, recipe: dict) -> Evaluation:
    """Evaluate the claim registered as ``key`` on one recipe (the public reproducer).

    >>> ev = evaluate("draft.lemma-taylor", {"kind": "dirichlet", "N": 3, "S": 1, "alpha": 1.0,
    ...                                       "prior": "uniform", "seed": 0, "encoder": "random",
    ...                                       "scale": 0.1, "d": 1, "fseed": 0})
    >>> ev.violated
    False
    """
    claim = get(key)
    if claim.unverifiable is not None:
        raise ValueError(f"claim {key!r} is unverifiable: {claim.unverifiable}")
    return claim.evaluate(dict(recipe))
