"""Extended-precision re-checks of counterexamples: a ``fails`` is printed only once confirmed here.

A claim's ``recheck(recipe, ev)`` recomputes both sides of the violated
instance in 50-digit arithmetic (:mod:`aotmem.theory.precise`, from the same
float64 ``prior`` and ``cond``) and decides the comparison there with the same
tolerance ``ev.tol`` the float64 verdict used (never a looser one). It returns
a dict (JSON-able):

- ``confirmed``: True (violated at 50 digits), False (holds there: the float64
  violation was rounding), None (undecidable: the map is not unique at that
  precision, or the two sides agree to the working resolution);
- ``decision``, ``lhs``, ``rhs``, ``margin`` (strings, 20 significant digits),
  ``dps``, ``method`` (``mpmath`` or ``exact``), ``note``.

For comparisons between integers (ranks from a structural certificate,
parameter counts) the float64 numbers are exact: :func:`exact_integers`.
"""

from __future__ import annotations

import math

import mpmath

from aotmem.theory.precise import DPS, NotUnique, decide_mp
from .registry import KL_ATOL, KL_RTOL, Evaluation

__all__ = ["decided", "exact_integers", "guarded", "evaluation_at_dps"]


def _s(x) -> str:
    with mpmath.workdps(DPS):
        return mpmath.nstr(x, 20) if isinstance(x, (mpmath.mpf, mpmath.mpc)) else str(x)


def decided(lhs, rhs, ev: Evaluation, note: str = "") -> dict:
    """The decision of ``lhs <ev.sense> rhs`` at ``DPS`` digits with the float64 verdict's tolerance ``ev.tol``."""
    with mpmath.workdps(DPS):
        lhs, rhs = mpmath.mpf(lhs), mpmath.mpf(rhs)
        decision = decide_mp(lhs, rhs, ev.sense, dps=DPS, atol=ev.tol)
        if ev.sense == "<=":
            margin = rhs - lhs
        elif ev.sense in (">=", ">"):
            margin = lhs - rhs
        else:
            margin = mpmath.mpf(ev.tol) - abs(lhs - rhs)
        return {"confirmed": {"violated": True, "holds": False}.get(decision), "decision": decision,
                "lhs": _s(lhs), "rhs": _s(rhs), "margin": _s(margin), "tol": ev.tol, "dps": DPS,
                "method": "mpmath", "note": note}


def exact_integers(recipe: dict, ev: Evaluation) -> dict:  # noqa: ARG001 (the recipe is not needed)
    """Both sides are integers held exactly in float64 (ranks, parameter counts): the comparison is exact."""
    if not all(math.isfinite(v) and float(v).is_integer() and abs(v) < 2**53 for v in (ev.lhs, ev.rhs)):
        return {"confirmed": None, "method": "exact", "note": "sides are not exact integers"}
    lhs, rhs = int(ev.lhs), int(ev.rhs)
    ok = {"<=": lhs <= rhs, ">=": lhs >= rhs, ">": lhs > rhs, "==": lhs == rhs}[ev.sense]
    return {"confirmed": not ok, "decision": "holds" if ok else "violated", "lhs": str(lhs), "rhs": str(rhs),
            "margin": str(rhs - lhs if ev.sense == "<=" else lhs - rhs), "tol": 0.0, "dps": None,
            "method": "exact", "note": "integers: exact in float64, no rounding involved"}


def guarded(fn):
    """``fn(recipe, ev) -> dict``, with a map that is not unique at 50 digits reported as undecidable."""
    def recheck(recipe: dict, ev: Evaluation) -> dict:
        try:
            return fn(recipe, ev)
        except NotUnique as exc:
            return {"confirmed": None, "decision": "unresolved", "dps": DPS, "method": "mpmath",
                    "note": f"not unique at {DPS} digits: {exc}"}
    recheck.__doc__ = fn.__doc__
    return recheck


def evaluation_at_dps(*rechecks, sense: str = "<=", atol: float = KL_ATOL, rtol: float = KL_RTOL):
    """``decide_mp(recipe) -> Evaluation`` from a claim's ``recheck`` (or a ladder of them, in rising precision).

    For the instances the float64 evaluation refuses (a system above its float64 condition
    limit): the re-check computes both sides from the recipe alone (the evaluation it is given
    only carries the sense and the tolerance), and the two sides, each rounded once to float64
    (1e-16 relative, far below any tolerance of the ledger), are judged by the claim's own
    rule (``sense``, ``atol + rtol |rhs|``). With several re-checks, the next (higher precision)
    one runs when a map is not unique at the previous one's (a system singular at 50 digits,
    condition above 1e25, is solved at 100). Raises ``ValueError`` when none gives both sides. A re-check's
    ``detail`` (a dict) is kept in the evaluation's detail.
    """
    def decide_mp(recipe: dict) -> Evaluation:
        probe = Evaluation(0.0, 0.0, sense, atol=atol, rtol=rtol)
        for recheck in rechecks:
            rc = recheck(dict(recipe), probe)
            if rc.get("lhs") is not None and rc.get("rhs") is not None:
                break
        else:
            raise ValueError(f"no extended-precision evaluation: {rc.get('note') or rc.get('decision')}")
        with mpmath.workdps(DPS):
            lhs, rhs = float(mpmath.mpf(rc["lhs"])), float(mpmath.mpf(rc["rhs"]))
        return Evaluation(lhs, rhs, sense, atol=atol, rtol=rtol,
                          detail={**rc.get("detail", {}), "decided_at_dps": rc.get("dps", DPS),
                                  "float64": "refused: ill-conditioned"})
    return decide_mp
