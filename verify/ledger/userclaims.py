"""Claims of your own, checked by the ledger's engine: ``@aotmem.claim``, ``aotmem.check``, ``aotmem.assert_holds``.

A claim is a Python function of a task (an :class:`aotmem.Task`), of ``d`` and
of the parameters declared in the decorator, returning its two sides
``(lhs, rhs)`` (the claim: ``lhs <= rhs``, or the ``sense`` given) or an
:class:`aotmem.Evaluation`::

    import aotmem

    @aotmem.claim("mine.ls-range", regime="1 <= d <= N - 2", tasks="full-support")
    def ls_range(task, d):
        fit = aotmem.f_ls(task.prior, task.cond, d)
        return aotmem.kl(task.prior, task.cond, fit.F), 2 * aotmem.singular_values(task.prior, task.cond)[d]

Nothing is registered inside the package: the decorated object is the claim.
The engine (:func:`aotmem.verify.ledger.runner.run_claim`) searches it as it searches
the built-in claims: Hypothesis sampling over the task kinds of ``tasks``, ``d``
over the regime and the declared parameters; the structured families of
:data:`aotmem.verify.ledger.search.FAMILIES` (and the claim's own); the optimiser over
the explicit task's logits, log prior and the declared continuous parameters;
shrinking; a 50-digit re-check, by running the same function again under
:func:`aotmem.precision` (see :mod:`aotmem.verify.ledger.precision`). A claim whose
function cannot be re-evaluated there gets ``fails`` with ``recheck.confirmed``
null and the note ``float64 only, not re-checked: <why>``, never a silent pass.

Run it with ``aotmem verify --claims-from FILE`` (same table, JSON and exit
statuses as the built-in claims), :func:`check` (the ledger's
:class:`~aotmem.verify.ledger.runner.Result`) or :func:`assert_holds` (pytest).
docs/own-claims.md is the worked example.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import math
import operator
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
from hypothesis import strategies as st

from aotmem.theory.precise import DPS, NotUnique
from .precision import PrecisionUnavailable, is_exact_number, precise_task, precision
from .recheck import decided
from .recipes import (
    almost_rank_recipes,
    association_recipes,
    describe,
    dirichlet_recipes,
    explicit_recipes,
    limits,
    lookup_recipes,
    permutation_recipes,
    task_from,
)
from .registry import KINDS, KL_ATOL, KL_RTOL, SENSES, Claim, Evaluation
from .params import Param
from .search import FAMILIES, LOGIT_BOX, LOGW_BOX, TaskSpace, with_S

__all__ = ["Range", "log_range", "int_range", "claim", "UserClaim", "UserEntry", "TASK_KINDS", "TASK_GROUPS",
           "check", "assert_holds", "load_claims", "run_user_key"]

#: The task kinds the ledger draws, each with its recipe strategy (:mod:`aotmem.verify.ledger.recipes`).
TASK_KINDS = {
    "dirichlet": dirichlet_recipes,
    "almost-rank": almost_rank_recipes,
    "lookup": lookup_recipes,
    "association": association_recipes,
    "permutation": permutation_recipes,
    "explicit": explicit_recipes,
}
#: Named groups of kinds for ``tasks=``. ``full-support``: every entry of ``cond`` positive (Assumption 2).
TASK_GROUPS = {
    "all": tuple(TASK_KINDS),
    "full-support": ("dirichlet", "almost-rank", "lookup", "permutation", "explicit"),
    "one-hot": ("association",),
}
_RESERVED = {"task", "N", "T", "S"}
# The largest d the generators that take one accept (verify/ledger/recipes.py draws within these).
_GEN_D = {"almost-rank": lambda N, T: min(N - 2, T - 1), "permutation": lambda N, T: min(N - 1, T) - 1}


# ------------------------------------------------------------------ parameters --


@dataclass(frozen=True)
class Range:
    """A declared parameter's range: ``lo <= x <= hi`` on a ``lin``, ``log`` or ``int`` scale."""

    lo: float
    hi: float
    scale: str = "lin"

    def __post_init__(self):
        if self.scale not in ("lin", "log", "int"):
            raise ValueError(f"`scale` must be 'lin', 'log' or 'int' (got {self.scale!r})")
        for name, v in (("lo", self.lo), ("hi", self.hi)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"`{name}` must be a finite number (got {v!r})")
        if not self.lo <= self.hi:
            raise ValueError(f"`lo` must be <= `hi` (got {self.lo}, {self.hi})")
        if self.scale == "log" and not self.lo > 0:
            raise ValueError(f"a log range needs `lo` > 0 (got {self.lo})")
        if self.scale == "int" and not (float(self.lo).is_integer() and float(self.hi).is_integer()):
            raise ValueError(f"an int range needs integer ends (got {self.lo}, {self.hi})")

    def strategy(self):
        if self.scale == "int":
            return st.integers(int(self.lo), int(self.hi))
        if self.scale == "log":
            lo, hi = math.log(self.lo), math.log(self.hi)
            return st.floats(lo, hi).map(lambda v: float(min(max(math.exp(v), self.lo), self.hi)))
        return st.floats(float(self.lo), float(self.hi), allow_nan=False, allow_infinity=False)


def log_range(lo: float, hi: float) -> Range:
    """A parameter searched on a log scale in ``[lo, hi]`` (``lo > 0``), e.g. ``C=aotmem.log_range(1e-6, 0.5)``."""
    return Range(float(lo), float(hi), "log")


def int_range(lo: int, hi: int) -> Range:
    """An integer parameter in ``[lo, hi]`` (``(lo, hi)`` with two ints means the same)."""
    return Range(int(lo), int(hi), "int")


def _as_range(name: str, spec) -> Range:
    if isinstance(spec, Range):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        lo, hi = spec
        if all(isinstance(v, int) and not isinstance(v, bool) for v in spec):
            return Range(lo, hi, "int")
        return Range(float(lo), float(hi), "lin")
    raise ValueError(f"parameter `{name}` must be a (lo, hi) tuple, aotmem.log_range(lo, hi) or "
                     f"aotmem.int_range(lo, hi) (got {spec!r})")


# ------------------------------------------------------------------ the regime --

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow, ast.Mod: operator.mod}
_CMPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
         ast.Eq: operator.eq, ast.NotEq: operator.ne}
_FUNCS = {"min": min, "max": max, "abs": abs, "log": math.log, "sqrt": math.sqrt}


class Regime:
    """A claim's hypotheses as comparisons over ``N``, ``T``, ``S``, ``d`` and the declared parameters.

    ``"1 <= d <= N - 2"``, ``"T >= 2 and eps < 1/2"``, ``"d <= min(N - 1, T)"`` (comma or ``and``
    separated; arithmetic, ``min``, ``max``, ``abs``, ``log``, ``sqrt``). It filters the instances
    (outside: not judged, counted) and bounds the draws of ``d``.
    """

    def __init__(self, text: str, names: set):
        self.text = (text or "").strip()
        self.names = set(names)
        self.tests: list = []  # (source text, ast expression)
        if not self.text:
            return
        depth, cut = 0, []
        for ch in self.text:  # commas outside parentheses separate conditions (min(a, b) keeps its comma)
            depth += (ch == "(") - (ch == ")")
            cut.append(" and " if ch == "," and depth == 0 else ch)
        for part in "".join(cut).split(" and "):
            part = part.strip()
            if not part:
                continue
            try:
                node = ast.parse(part, mode="eval").body
            except SyntaxError as exc:
                raise ValueError(f"`regime` {self.text!r}: cannot parse {part!r} ({exc.msg})") from None
            if not isinstance(node, ast.Compare):
                raise ValueError(f"`regime` {self.text!r}: {part!r} is not a comparison")
            self._check(node, part)
            self.tests.append((part, node))

    def _check(self, node, part):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id not in self.names and sub.id not in _FUNCS:
                raise ValueError(f"`regime` {self.text!r}: unknown name {sub.id!r} in {part!r} "
                                 f"(known: {sorted(self.names)})")
            if not isinstance(sub, (ast.Compare, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Call,
                                    ast.Load, ast.USub, ast.UAdd, *_BINOPS, *_CMPS)):
                raise ValueError(f"`regime` {self.text!r}: {type(sub).__name__} is not allowed in {part!r}")
            if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in _FUNCS):
                raise ValueError(f"`regime` {self.text!r}: only {sorted(_FUNCS)} may be called")

    @staticmethod
    def _eval(node, env):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp):
            v = Regime._eval(node.operand, env)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](Regime._eval(node.left, env), Regime._eval(node.right, env))
        if isinstance(node, ast.Call):
            return _FUNCS[node.func.id](*[Regime._eval(a, env) for a in node.args])
        raise ValueError(f"cannot evaluate {ast.dump(node)}")

    def outside(self, env: dict) -> str | None:
        """Why the instance ``env`` is outside the regime, or None."""
        for part, node in self.tests:
            left = self._eval(node.left, env)
            for op, comp in zip(node.ops, node.comparators):
                right = self._eval(comp, env)
                if not _CMPS[type(op)](left, right):
                    shown = ", ".join(f"{k}={env[k]:.4g}" if isinstance(env[k], float) else f"{k}={env[k]}"
                                      for k in sorted(env) if k in part)
                    return f"outside the regime: {part} fails ({shown})"
                left = right
        return None

    def bounds_of(self, var: str, env: dict) -> tuple[float, float]:
        """Bounds on ``var`` that the regime states directly (``lo <= var``, ``var < hi``, ...), given ``env``."""
        lo, hi = -math.inf, math.inf
        for _, node in self.tests:
            terms = [node.left, *node.comparators]
            for a, op, b in zip(terms, node.ops, terms[1:]):
                for x, o, y, flip in ((a, op, b, False), (b, op, a, True)):
                    if not (isinstance(x, ast.Name) and x.id == var):
                        continue
                    if any(isinstance(s, ast.Name) and s.id == var for s in ast.walk(y)):
                        continue
                    try:
                        v = self._eval(y, env)
                    except (KeyError, ValueError, ZeroDivisionError):
                        continue
                    kind = type(o)
                    if flip:  # y <op> var  ->  var <op'> y
                        kind = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}.get(kind, kind)
                    if kind is ast.LtE:
                        hi = min(hi, v)
                    elif kind is ast.Lt:
                        hi = min(hi, math.ceil(v) - 1)
                    elif kind is ast.GtE:
                        lo = max(lo, v)
                    elif kind is ast.Gt:
                        lo = max(lo, math.floor(v) + 1)
                    elif kind is ast.Eq:
                        lo, hi = max(lo, v), min(hi, v)
        return lo, hi


# ---------------------------------------------------------------- the claim --


@dataclass(frozen=True)
class UserEntry(Claim):
    """A user's claim under one reading, as the runner takes it (a :class:`~aotmem.verify.ledger.registry.Claim`).

    ``source`` is ``"user"`` and the id is free (``mine.ls-range``); ``file`` is the claims file it
    was loaded from (worker processes load it from there), or None.
    """

    file: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or any(c.isspace() or c in "[]," for c in self.id):
            raise ValueError(f"claim id must be a non-empty string without spaces, ',', '[' or ']' (got {self.id!r})")
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS} (got {self.kind!r})")
        if self.cost not in ("cheap", "medium", "expensive"):
            raise ValueError(f"`cost` must be cheap, medium or expensive (got {self.cost!r})")

    def reproduce_command(self, recipe: dict, seed: int) -> str:
        where = self.file or "<your claims file>"
        return (f"aotmem verify --claims-from {where} --seed {seed}  # or in Python: "
                f"<claim>.evaluate({json.dumps(recipe, sort_keys=True)})")


@dataclass(frozen=True)
class _Space(TaskSpace):
    """The TaskSpace of a user claim: the ledger's families plus the claim's own (``own``: (name, fn) pairs)."""

    own: tuple = ()

    def family_recipe(self, rng, like, max_n, T=None):
        n_all = len(self.names) + len(self.own)
        pick = int(rng.integers(n_all)) if n_all else 0
        if pick < len(self.names):
            return super().family_recipe(rng, like, max_n, T)
        name, fn = self.own[pick - len(self.names)]
        N = len(like["logits"][0])
        d = int(like.get("d", 1))
        T = self.family_rows(rng, like) if T is None else T
        Z, lw = fn(rng, T, N, max(1, min(d, N - 1)))
        Z = np.asarray(Z, dtype=np.float64)
        lw = np.asarray(lw, dtype=np.float64)
        if Z.shape != (T, N) or lw.shape != (T,):
            raise ValueError(f"family {name!r} must return logits ({T}, {N}) and log-weights ({T},) "
                             f"(got {Z.shape}, {lw.shape})")
        Z = np.clip(Z - Z.max(axis=1, keepdims=True) / 2, -LOGIT_BOX, LOGIT_BOX)
        lw = np.clip(lw - lw.max(), -LOGW_BOX, 0.0)
        out = dict(like)  # the parameters are like's: the runner redraws them (TaskSpace.draw_params)
        out["logits"], out["weights"] = Z.tolist(), np.exp(lw).tolist()
        return name, with_S(out)


def _d_limits(regime_obj, d_range):
    """``(lo(N, T), hi(N, T))`` of ``d``: the regime's own bounds on it (and a declared range), within 1..N."""
    def lo(N, T):
        a, _ = regime_obj.bounds_of("d", {"N": N, "T": T, "S": 1})
        v = 1 if a == -math.inf else math.ceil(a)
        return max(v, 1, d_range.lo if d_range is not None else 1)

    def hi(N, T):
        _, b = regime_obj.bounds_of("d", {"N": N, "T": T, "S": 1})
        v = N if b == math.inf else math.floor(b)
        return min(v, N, d_range.hi if d_range is not None else N)
    return lo, hi


class UserClaim:
    """What ``@aotmem.claim`` returns: the function (still callable as itself) and its claim entries.

    Attributes: ``id``, ``fn``, ``entries`` (one :class:`UserEntry` per reading), ``readings``.
    """

    def __init__(self, fn: Callable, entries: tuple, readings: dict, params: dict, uses_d: bool):
        self.fn = fn
        self.entries = entries
        self.id = entries[0].id
        self.readings = readings
        self.params = params
        self.uses_d = uses_d
        self.__doc__ = fn.__doc__
        self.__name__ = getattr(fn, "__name__", self.id)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<aotmem claim {self.id} ({len(self.entries)} reading(s))>"

    def entry(self, reading: str | None = None) -> UserEntry:
        """The entry of ``reading`` (the only one when the claim has one reading)."""
        if reading is None:
            if len(self.entries) > 1:
                raise ValueError(f"claim {self.id!r} has readings {list(self.readings)}: pass `reading`")
            return self.entries[0]
        for e in self.entries:
            if e.reading == reading:
                return e
        raise ValueError(f"`reading` {reading!r} is not one of claim {self.id!r}'s readings {list(self.readings)}")

    def evaluate(self, recipe: dict, reading: str | None = None) -> Evaluation:
        """The claim's :class:`Evaluation` on one recipe (a counterexample's ``recipe`` replays it)."""
        return self.entry(reading).evaluate(dict(recipe))


def _sides(out, sense, atol, rtol) -> Evaluation:
    if isinstance(out, Evaluation):
        return out
    if isinstance(out, tuple) and len(out) == 2:
        return Evaluation(float(out[0]), float(out[1]), sense, atol=atol, rtol=rtol)
    raise TypeError(f"a claim function must return (lhs, rhs) or an aotmem.Evaluation (got {type(out).__name__})")


def _task_kinds(tasks) -> tuple[str, ...]:
    """The task kinds of ``tasks=`` (a group of :data:`TASK_GROUPS`, a kind, or a sequence of kinds)."""
    if isinstance(tasks, str):
        kinds = TASK_GROUPS.get(tasks, (tasks,))
    else:
        kinds = tuple(tasks)
    bad = [k for k in kinds if k not in TASK_KINDS]
    if bad or not kinds:
        raise ValueError(f"`tasks` must be one of {sorted(TASK_GROUPS)} or kinds from {sorted(TASK_KINDS)} "
                         f"(got {tasks!r})")
    return kinds


def _declared_ranges(params: dict) -> tuple[dict[str, Range], Range | None]:
    """The declared parameters' ranges, and the range of ``d`` (None when not declared) apart."""
    for name in params:
        if name in _RESERVED:
            raise ValueError(f"parameter name {name!r} is reserved (the task and its sizes)")
    ranges = {k: _as_range(k, v) for k, v in params.items()}
    d_range = ranges.pop("d", None)
    if d_range is not None and d_range.scale != "int":
        raise ValueError(f"`d` must be an integer range (got {d_range})")
    return ranges, d_range


def _checked_readings(readings: dict | None) -> dict:
    """``readings=`` as a dict (one unnamed reading by default), each reading a dict of fixed arguments."""
    readings = dict(readings or {"": {}})
    for r, fixed in readings.items():
        if not isinstance(fixed, dict):
            raise ValueError(f"`readings[{r!r}]` must be a dict of fixed keyword arguments (got {fixed!r})")
    return readings


class FamilyChoice(NamedTuple):
    """The structured families of ``families=``: names of :data:`FAMILIES`, and the claim's own ``(name, fn)``."""

    names: tuple
    own: tuple


def _family_choice(families) -> FamilyChoice:
    """``families=`` (None: all of :data:`FAMILIES`; names; or ``{name: fn or None}``) checked."""
    if families is None:
        return FamilyChoice(tuple(FAMILIES), ())
    fams = families if isinstance(families, dict) else {n: None for n in families}
    unknown = [n for n, f in fams.items() if f is None and n not in FAMILIES]
    if unknown:
        raise ValueError(f"`families` {unknown} are not among {sorted(FAMILIES)}; give your own as "
                         "{name: fn(rng, T, N, d)}")
    names = tuple(n for n, f in fams.items() if f is None)
    if not isinstance(families, dict) and not names:
        raise ValueError("`families` must name at least one family")
    return FamilyChoice(names, tuple((n, f) for n, f in fams.items() if f is not None))


@dataclass(frozen=True)
class _Declared:
    """What the decorator :func:`claim` was told, checked: the claim's function reads its instances through it."""

    id: str
    kinds: tuple
    ranges: dict
    d_range: Range | None
    readings: dict
    sense: str
    atol: float
    rtol: float


def _uses_d(decl: _Declared, fn) -> bool:
    """Check ``fn``'s signature against the declaration; whether it takes ``d``."""
    sig = inspect.signature(fn)
    pnames = list(sig.parameters)
    if not pnames or pnames[0] != "task":
        raise ValueError(f"claim {decl.id!r}: the function's first parameter must be `task` (got {pnames[:1]})")
    fixed_names = set().union(*[set(f) for f in decl.readings.values()])
    for p in pnames[1:]:
        if p != "d" and p not in decl.ranges and p not in fixed_names and sig.parameters[p].default is inspect._empty:
            raise ValueError(f"claim {decl.id!r}: parameter {p!r} has no range: declare it in the decorator, "
                             f"e.g. {p}=(0.0, 1.0)")
    for k in decl.ranges:
        if k not in sig.parameters:
            raise ValueError(f"claim {decl.id!r}: declared parameter {k!r} is not a parameter of {fn.__name__}")
    return "d" in sig.parameters


def _draw_d(draw_, r: dict, env: dict, decl: _Declared, regime_obj: Regime, max_t: int) -> None:
    """Draw ``r["d"]`` within the regime's bounds on ``d`` at the drawn sizes ``env`` (and the declared range)."""
    d_range = decl.d_range
    N = r["N"]
    lo, hi = regime_obj.bounds_of("d", env)
    lo = max(1 if lo == -math.inf else math.ceil(lo), d_range.lo if d_range else -math.inf)
    hi = min(N if hi == math.inf else math.floor(hi), d_range.hi if d_range else math.inf, max_t)
    lo = int(lo)
    if r["kind"] in _GEN_D:
        # the generator's d shapes the task: keep it when the regime allows it, else redraw it
        # within both the regime and the generator's own range
        glo, ghi = max(lo, 1), min(int(hi), _GEN_D[r["kind"]](env["N"], env["T"]))
        if not lo <= r["d"] <= hi and glo <= ghi:
            r["d"] = draw_(st.integers(glo, ghi))
    elif hi >= lo:
        r["d"] = draw_(st.integers(lo, int(hi)))
    else:
        r["d"] = lo  # no d in the regime for this N, T: judged outside


def _instances_of(decl: _Declared, regime_obj: Regime, uses_d: bool):
    """The claim's ``instances(profile)``: a recipe strategy over its task kinds, parameters and ``d``."""
    def instances(profile: str):
        lim = limits(profile)
        kind_strats = [TASK_KINDS[k](profile) for k in decl.kinds]

        @st.composite
        def draw(draw_):
            r = dict(draw_(st.one_of(*kind_strats)))
            N = r["N"]
            T = len(r["logits"]) if r["kind"] == "explicit" else N ** r["S"]
            env = {"N": N, "T": T, "S": r["S"]}
            for k, rg in decl.ranges.items():
                r[k] = draw_(rg.strategy())
                env[k] = r[k]
            if uses_d:
                _draw_d(draw_, r, env, decl, regime_obj, lim["max_t"])
            return r
        return draw()
    return instances


def _evaluator(fn, decl: _Declared, regime_obj: Regime, uses_d: bool, fixed: dict):
    """``recipe -> Evaluation`` of one reading (``fixed``: its fixed keyword arguments)."""
    ranges, d_range = decl.ranges, decl.d_range

    def evaluate(recipe):
        task = task_from(recipe)
        env = {"N": task.N, "T": task.T, "S": task.S, **{k: recipe[k] for k in ranges if k in recipe}}
        kwargs = {k: recipe[k] for k in ranges if k in recipe}
        if uses_d:
            env["d"] = kwargs["d"] = int(recipe["d"])
            if d_range is not None and not d_range.lo <= env["d"] <= d_range.hi:
                return Evaluation.out_of_regime(f"d = {env['d']} outside the declared {d_range.lo}..{d_range.hi}")
        why = regime_obj.outside(env)
        if why:
            return Evaluation.out_of_regime(why)
        kwargs.update(fixed)
        return _sides(fn(task, **kwargs), decl.sense, decl.atol, decl.rtol)
    return evaluate


def claim(id: str, *, regime: str = "", tasks="all", kind: str = "bound", sense: str = "<=",
          families=None, readings: dict | None = None, statement: str = "", atol: float = KL_ATOL,
          rtol: float = KL_RTOL, cost: str = "cheap", examples=(), note: str = "", **params):
    """Decorator: a claim of your own, checked by the ledger's engine (module docstring).

    Parameters
    ----------
    id : str
        Your claim's id (``mine.ls-range``): shown in tables, JSON and seeds (the seed of a
        claim is ``crc32("<run seed>:<id>")``).
    regime : str
        The claim's hypotheses over ``N``, ``T``, ``S``, ``d`` and the declared parameters,
        e.g. ``"1 <= d <= N - 2"``. Instances outside are not judged (counted as outside);
        the bounds it states on ``d`` are where ``d`` is drawn (default ``1 <= d <= N``).
    tasks : str or tuple of str
        The task kinds drawn: a group of :data:`TASK_GROUPS` (``"all"``, ``"full-support"``,
        ``"one-hot"``) or kinds of :data:`TASK_KINDS`.
    kind : {"bound", "identity", "construction", "measurement"}
        ``construction``: an existence claim checked through a witness (a miss is
        ``no-witness``; only an :class:`Evaluation` with ``certified=True`` refutes it).
    sense : {"<=", ">=", ">", "=="}
        How ``(lhs, rhs)`` is read (``==``: within ``atol + rtol max(|lhs|, |rhs|)``).
    families : None, tuple of names, or dict
        Structured families for phase 2: names of :data:`aotmem.verify.ledger.search.FAMILIES`
        (default all), and/or your own ``{name: fn(rng, T, N, d) -> (logits (T, N), log_weights (T,))}``.
    readings : dict or None
        ``{reading: {param: value}}``: one claim entry per reading, each calling the function
        with those fixed keyword arguments (an ambiguous statement, each reading under its name).
    statement : str
        The statement (LaTeX or text; default the function's docstring's first line).
    atol, rtol : float
        Violation threshold ``atol + rtol |rhs|`` (default the ledger's ``KL_ATOL = 1e-9``,
        ``KL_RTOL = 1e-12``, sized for divergences of the searched tasks).
    cost : {"cheap", "medium", "expensive"}
        Scales the instances per phase as for the built-in claims.
    examples : sequence of recipes run first (e.g. a counterexample kept as a regression).
    **params : ranges of the function's own parameters: ``eps=(0.0, 1.0)`` (uniform),
        ``C=aotmem.log_range(1e-6, 0.5)``, ``k=(1, 4)`` (integers). ``d=(lo, hi)`` bounds ``d``.
        Continuous ones are coordinates of the optimiser too.

    The function takes ``task`` (an :class:`aotmem.Task`), ``d`` if it names it, and the declared
    parameters; it returns ``(lhs, rhs)`` or an :class:`Evaluation` (e.g.
    ``Evaluation.out_of_regime(reason)``).
    """
    if sense not in SENSES:
        raise ValueError(f"`sense` must be one of {SENSES} (got {sense!r})")
    kinds = _task_kinds(tasks)
    ranges, d_range = _declared_ranges(params)
    decl = _Declared(id=id, kinds=kinds, ranges=ranges, d_range=d_range, readings=_checked_readings(readings),
                     sense=sense, atol=atol, rtol=rtol)
    fams = _family_choice(families)

    def decorate(fn):
        uses_d = _uses_d(decl, fn)
        regime_obj = Regime(regime, {"N", "T", "S", "d", *ranges})
        # every declared parameter, and d within the regime's bounds on it, is a coordinate of the search
        params = [Param(k, r.lo, r.hi, {"int": "lin-int"}.get(r.scale, r.scale)) for k, r in ranges.items()
                  if k != "d"]
        if uses_d:
            params.append(Param("d", *_d_limits(regime_obj, d_range), "lin-int", note="from the regime"))
        space = _Space(params=tuple(params), rows_at_least_d=uses_d, names=fams.names, own=fams.own)
        text = statement or ((fn.__doc__ or "").strip().splitlines() or [""])[0]
        instances = _instances_of(decl, regime_obj, uses_d)
        entries = []
        for reading, fixed in decl.readings.items():
            def recheck(recipe, ev, fixed=fixed):
                return _recheck(fn, recipe, ev, ranges, uses_d, fixed)

            entries.append(UserEntry(
                id=id, reading=reading, source="user", statement=text, kind=kind, instances=instances,
                evaluate=_evaluator(fn, decl, regime_obj, uses_d, fixed), regime=regime, cost=cost,
                describe=describe, space=space, recheck=recheck, examples=tuple(examples), note=note))
        return UserClaim(fn, tuple(entries), decl.readings, ranges, uses_d)

    return decorate


# ------------------------------------------------------------- the re-check --

_NOT_RECHECKED = "float64 only, not re-checked: "


def _recheck(fn, recipe: dict, ev: Evaluation, ranges: dict, uses_d: bool, fixed: dict) -> dict:
    """Both sides again at 50 digits: the same function on the exact instance, under :func:`precision`."""
    def unavailable(why: str) -> dict:
        return {"confirmed": None, "unavailable": True, "method": "none", "dps": None, "note": _NOT_RECHECKED + why}

    task = task_from(recipe)
    kwargs = {k: recipe[k] for k in ranges if k in recipe}
    if uses_d:
        kwargs["d"] = int(recipe["d"])
    kwargs.update(fixed)
    try:
        with precision(DPS):
            out = fn(precise_task(task), **kwargs)
            if isinstance(out, Evaluation):
                return unavailable("the function returns an aotmem.Evaluation, whose sides are float64; "
                                   "return (lhs, rhs) to have them re-checked")
            if not (isinstance(out, tuple) and len(out) == 2):
                return unavailable(f"under aotmem.precision the function returned {type(out).__name__}, "
                                   "not (lhs, rhs)")
            lhs, rhs = out
            bad = [f"{name} is {type(v).__name__}" for name, v in (("lhs", lhs), ("rhs", rhs))
                   if not is_exact_number(v)]
            if bad:
                return unavailable(f"under aotmem.precision({DPS}) {', '.join(bad)}, not an mpmath number: it was "
                                   "not computed through the public functions' dps= evaluations (write "
                                   "constants as int or mpmath.mpf)")
            return decided(lhs, rhs, ev, note="the claim's function re-run under aotmem.precision(50) "
                                              "(public functions called with dps=)")
    except NotUnique as exc:
        return {"confirmed": None, "decision": "unresolved", "dps": DPS, "method": "mpmath",
                "note": f"not unique at {DPS} digits: {exc}"}
    except PrecisionUnavailable as exc:
        return unavailable(str(exc))
    except Exception as exc:  # e.g. np.log on the object arrays of mpf: a float64-only computation
        return unavailable(f"re-running the function under aotmem.precision({DPS}) raised "
                           f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


# ------------------------------------------------------------- running it --


def _entries(c) -> list[UserEntry]:
    if isinstance(c, UserClaim):
        return list(c.entries)
    if isinstance(c, Claim):
        return [c]
    raise TypeError(f"`claim` must be a function decorated with @aotmem.claim (got {type(c).__name__})")


def check(claim, *, profile: str = "quick", seed: int = 0, reading: str | None = None, budget_s: float | None = None):
    """Run the ledger's engine on ``claim``: the :class:`~aotmem.verify.ledger.runner.Result` (same as the command line).

    ``claim``: a function decorated with :func:`claim` (or a registry ``Claim``). With several
    readings and no ``reading``: a list of results, one per reading.
    """
    from .runner import run_claim

    entries = _entries(claim)
    if reading is not None:
        entries = [e for e in entries if e.reading == reading]
        if not entries:
            raise ValueError(f"`reading` {reading!r} is not a reading of {claim!r}")
    out = [run_claim(e, profile=profile, seed=seed, budget_s=budget_s) for e in entries]
    return out[0] if len(out) == 1 else out


def explain(res) -> str:
    """A Hypothesis-style account of a result that is not ``holds``: the shrunk counterexample, both sides."""
    lines = [f"{res.key}: {res.verdict}" + (" (float64 only, not re-checked)" if _unchecked(res) else "")
             + f"  [profile seed {res.seed}]"]
    cx = res.counterexample
    if cx:
        ev = cx["evaluation"]
        lines.append(f"Falsifying example ({cx.get('method', '?')}, shrunk): {cx['summary']}")
        lines.append(f"  lhs = {ev['lhs']!r}")
        lines.append(f"  rhs = {ev['rhs']!r}")
        lines.append(f"  lhs {ev['sense']} rhs violated: margin {ev['margin']!r}, tolerance {ev['tol']!r}")
        rc = cx.get("recheck") or {}
        if rc.get("confirmed"):
            lines.append(f"  confirmed at {rc.get('dps')} digits: lhs = {rc.get('lhs')}, rhs = {rc.get('rhs')}")
        else:
            lines.append(f"  re-check: {rc.get('note') or 'none'}")
        lines.append(f"  recipe (replay: <claim>.evaluate(recipe)): {json.dumps(cx['recipe'], sort_keys=True)}")
    if res.reason:
        lines.append(f"  {res.reason}")
    return "\n".join(lines)


def _unchecked(res) -> bool:
    cx = res.counterexample or {}
    return res.verdict == "fails" and bool((cx.get("recheck") or {}).get("unavailable"))


def assert_holds(claim, *, profile: str = "quick", seed: int = 0, reading: str | None = None,
                 budget_s: float | None = None, allow_errors: bool = False):
    """Fail (``AssertionError``) unless every reading of ``claim`` ``holds``; the message shows the shrunk
    counterexample as Hypothesis shows a falsifying example. Returns the result(s) when it holds.

    ``vacuous`` (no instance in the regime) and ``unverifiable`` fail too: nothing was checked. As in a
    Hypothesis test, an instance on which the function raised fails it too (the verdict, as on the command
    line, stays ``holds`` with the errors counted), unless ``allow_errors``.
    """
    res = check(claim, profile=profile, seed=seed, reading=reading, budget_s=budget_s)
    results = res if isinstance(res, list) else [res]
    bad = [explain(r) for r in results if r.verdict != "holds"]
    if not allow_errors:
        bad += [f"{r.key}: {r.verdict}, but the claim raised on {r.errors} instance(s) (allow_errors=True to accept "
                "them, or exclude them with the regime):\n  " + "\n  ".join(r.error_samples)
                for r in results if r.verdict == "holds" and r.errors]
    if bad:
        raise AssertionError("\n\n".join(bad))
    return res


# ------------------------------------------------------------- claims files --

_LOADED: dict[str, list] = {}


def load_claims(path) -> list[UserEntry]:
    """The claim entries defined at the top level of the Python file ``path`` (in definition order).

    The file is imported as a module of its own (cached per resolved path); each entry carries
    ``file`` so worker processes can load it again.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"`--claims-from` {path} does not exist or is not a file")
    key = str(p.resolve())
    if key in _LOADED:
        return _LOADED[key]
    name = "aotmem_user_claims_" + hashlib.sha1(key.encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, key)
    if spec is None or spec.loader is None:
        raise ValueError(f"`--claims-from` {path} is not a Python file")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ValueError(f"`--claims-from` {path}: importing it raised {exc.__class__.__name__}: {exc}") from exc
    out: list[UserEntry] = []
    seen = set()
    for obj in list(vars(mod).values()):
        if isinstance(obj, UserClaim) and id(obj) not in seen:
            seen.add(id(obj))
            out.extend(replace(e, file=key) for e in obj.entries)
    if not out:
        raise ValueError(f"`--claims-from` {path} defines no claim (decorate functions with @aotmem.claim)")
    keys = [e.key for e in out]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"`--claims-from` {path}: claim ids defined twice: {dup}")
    _LOADED[key] = out
    return out


def run_any_key(key: str, profile: str, seed: int, path: str | None = None) -> dict:
    """Worker entry point for a run that mixes registered claims and a user's (``run_claims(worker=...)``)."""
    from .runner import run_key

    return run_key(key, profile, seed) if path is None else run_user_key(path, key, profile, seed)


def run_user_key(path: str, key: str, profile: str, seed: int) -> dict:
    """Worker entry point for a user's claim: load ``path``, run ``key``, the result as a dict."""
    from .runner import run_claim

    for e in load_claims(path):
        if e.key == key:
            return run_claim(e, profile=profile, seed=seed).as_dict()
    raise ValueError(f"claim {key!r} is not defined in {path}")
