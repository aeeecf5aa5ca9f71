"""The parameters of a claim's regime besides the task, each stated once (:class:`Param`).

A statement quantifies over more than the task: a rank or width ``d``, a constant ``C``
(through ``d``), an accuracy ``eps``, the random draws of a construction. Each such
parameter is one :class:`Param` with the regime's limits; the claim's sampler
(:meth:`Param.strategy`), the structured families (:meth:`Param.draw`), the optimiser
(:meth:`Param.encode` / :meth:`Param.decode`) and the shrinker (:meth:`Param.simpler`)
all take its range from it, so that the search covers the whole regime, limits included
(e.g. ``C -> 0``), and no part of the search writes the range a second time.

>>> d = Param("d", 1, lambda N, T: min(N - 2, T), "lin-int")
>>> d.limits(5, 2), d.decode(7.4, 5, 8), d.simpler(3, 5, 8)
((1, 2), 3, [1, 2])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from hypothesis import strategies as st

__all__ = ["PARAM_SCALES", "Param", "as_param", "rank_d"]

PARAM_SCALES = ("log", "lin", "int", "lin-int")


@dataclass(frozen=True)
class Param:
    """One parameter of a claim's regime besides the task: a coordinate of its search space.

    A claim states each parameter once, here: the sampler (:meth:`strategy`), the
    families (:meth:`draw`), the optimiser (:meth:`encode` / :meth:`decode`) and the
    shrinker (:meth:`simpler`) all take its range from this object, so the search
    covers the whole regime the statement allows, limits included.

    Parameters
    ----------
    name : str
        The recipe key (``d``, ``eps``, ``wseed``, ...).
    lo, hi : float or callable
        The regime's limits; a callable takes ``(N, T)`` of the instance (e.g. the
        rank-d bounds' ``d <= min(N - 2, T)``, the look-up bounds' ``d > 128 log(N+1)``).
    scale : {"log", "lin", "int", "lin-int"}
        ``log``: a positive real searched in log space (scale parameters: ``C``, ``eps``);
        ``lin``: a real; ``int``: a positive integer searched in log space (widths ``d``
        up to large values, i.e. ``C -> 0``); ``lin-int``: an integer searched linearly
        (small ranks, seeds of a construction's draws).
    edge : float
        Probability that a family draw sits exactly at one of the two limits (the
        statement's limiting cases are where constants are tight).
    note : str
        What the limits mean, for the evidence (e.g. ``"C = sqrt(32 log(N+1)/d) in (0.018, 1/2)"``).
    """

    name: str
    lo: float | Callable
    hi: float | Callable
    scale: str = "log"
    edge: float = 0.25
    note: str = ""

    def __post_init__(self) -> None:
        if self.scale not in PARAM_SCALES:
            raise ValueError(f"`scale` must be one of {PARAM_SCALES} (got {self.scale!r})")

    @property
    def integer(self) -> bool:
        return self.scale in ("int", "lin-int")

    def limits(self, N: int, T: int) -> tuple[float, float]:
        """``(lo, hi)`` for an instance with ``N`` tokens and ``T`` rows (``hi < lo``: no value fits)."""
        lo = self.lo(N, T) if callable(self.lo) else self.lo
        hi = self.hi(N, T) if callable(self.hi) else self.hi
        if self.integer:
            return int(math.ceil(lo)), int(math.floor(hi))
        return float(lo), float(hi)

    def _log(self) -> bool:
        return self.scale in ("log", "int")

    def encode(self, v) -> float:
        return math.log(max(float(v), 1e-300)) if self._log() else float(v)

    def decode(self, x: float, N: int, T: int):
        """The value at coordinate ``x``, inside the limits (rounded for integers)."""
        lo, hi = self.limits(N, T)
        v = math.exp(min(float(x), 700.0)) if self._log() else float(x)
        v = min(max(v, lo), hi) if hi >= lo else lo
        return int(round(v)) if self.integer else float(v)

    def draw(self, rng, N: int, T: int):
        """A value over the whole range: log-uniform for log scales, an exact limit with probability ``edge``."""
        lo, hi = self.limits(N, T)
        if hi <= lo:
            return lo
        u = rng.random()
        if u < self.edge:
            v = lo if u < self.edge / 2 else hi
        elif self._log():
            v = math.exp(rng.uniform(math.log(max(lo, 1e-300)), math.log(hi)))
        else:
            v = rng.uniform(lo, hi)
        return int(round(v)) if self.integer else float(v)

    def strategy(self, N: int, T: int):
        """A Hypothesis strategy over the same range (limits and log spacing included)."""
        lo, hi = self.limits(N, T)
        if hi <= lo:
            return st.just(lo)
        if self._log():
            inner = st.floats(math.log(max(lo, 1e-300)), math.log(hi)).map(math.exp)
        else:
            inner = st.floats(lo, hi)
        if self.integer:
            inner = inner.map(lambda v: int(min(max(round(v), lo), hi)))
        return st.one_of(st.sampled_from([lo, hi]), inner, inner, inner)

    def simpler(self, v, N: int, T: int) -> list:
        """Simpler values than ``v`` for the shrinker: towards the lower limit, then fewer digits."""
        lo, hi = self.limits(N, T)
        out = []
        if self.integer:  # big steps first: one step of -1 at a time would spend the shrinker's budget
            out += [lo, int(round(math.sqrt(max(lo, 1) * max(v, 1))))]
            out += [int(float(f"{v:.{k}g}")) for k in (1, 2)] + [int(float(f"{v:.1g}")) // 2 * 2]
            out += [v - 1] if v - lo < 100 else []
        else:
            out += [float(f"{v:.{k}g}") for k in (1, 2, 3)]
        seen, res = set(), []
        for c in out:
            if c != v and lo <= c <= hi and c not in seen:
                seen.add(c)
                res.append(c)
        return res

    def describe(self, N: int | None = None, T: int | None = None) -> dict:
        """The range, for the evidence (numeric where it does not depend on the instance)."""
        f = lambda b: ("per instance" if callable(b) else b)
        return {"lo": f(self.lo), "hi": f(self.hi), "scale": self.scale, "note": self.note}


def as_param(p) -> Param:
    """A :class:`Param`, from itself or from the older ``(key, lo, hi, scale)`` tuple."""
    return p if isinstance(p, Param) else Param(*p)


def rank_d(hi_minus: int = 2, *, by_rows: bool = True) -> Param:
    """The rank ``d`` of the almost-rank-d statements: ``1 <= d <= N - hi_minus`` (and ``<= T`` when ``by_rows``)."""
    hi = (lambda N, T: min(N - hi_minus, T)) if by_rows else (lambda N, T: N - hi_minus)
    text = f"1 <= d <= N - {hi_minus}" + (" and d <= T" if by_rows else "")
    return Param("d", 1, hi, "lin-int", note=text)
