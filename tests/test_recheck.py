"""verify/ledger/recheck.py: the 50-digit re-check of a float64 violation, decided with the float64 verdict's tolerance."""

import json

import mpmath
import pytest

from aotmem.theory.precise import DPS, NotUnique
from aotmem.verify.ledger.recheck import decided, exact_integers, guarded
from aotmem.verify.ledger.registry import Evaluation


def test_decided_confirms_a_violation_beyond_the_tolerance():
    ev = Evaluation(1.0, 0.5, "<=", atol=1e-9, rtol=0.0)
    out = decided(mpmath.mpf(1), mpmath.mpf("0.5"), ev, note="n")
    assert out["confirmed"] is True and out["decision"] == "violated" and out["method"] == "mpmath"
    assert out["dps"] == DPS and out["tol"] == ev.tol and out["note"] == "n"
    assert out["margin"].startswith("-0.5") and out["lhs"] == "1.0"
    json.dumps(out)  # JSON-able: the ledger writes it


def test_decided_says_holds_when_the_float64_violation_was_rounding():
    """float64 said lhs > rhs; at 50 digits lhs < rhs beyond the tolerance: holds (not confirmed). Within the
    tolerance either way: unresolved (confirmed None), never a confirmation."""
    ev = Evaluation(1.0 + 2e-15, 1.0, "<=", atol=0.0, rtol=1e-15)
    out = decided(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -10, ev)
    assert out["confirmed"] is False and out["decision"] == "holds"
    out = decided(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -30, ev)
    assert out["confirmed"] is None and out["decision"] == "unresolved"


@pytest.mark.parametrize("sense, lhs, rhs, confirmed", [(">=", 1, 2, True), (">=", 2, 1, False), ("==", 1, 1, False),
                                                        ("==", 1, 2, True), (">", 1, 2, True)])
def test_decided_in_every_sense(sense, lhs, rhs, confirmed):
    ev = Evaluation(float(lhs), float(rhs), sense, atol=1e-9, rtol=0.0)
    assert decided(lhs, rhs, ev)["confirmed"] is confirmed


def test_exact_integers_compare_exactly():
    out = exact_integers({}, Evaluation(10.0, 9.0, "<=", atol=0.0, rtol=0.0))
    assert out == {"confirmed": True, "decision": "violated", "lhs": "10", "rhs": "9", "margin": "-1", "tol": 0.0,
                   "dps": None, "method": "exact", "note": "integers: exact in float64, no rounding involved"}
    assert exact_integers({}, Evaluation(9.0, 9.0, "<=", atol=0.0, rtol=0.0))["confirmed"] is False
    not_int = exact_integers({}, Evaluation(9.5, 9.0, "<=", atol=0.0, rtol=0.0))
    assert not_int["confirmed"] is None and "not exact integers" in not_int["note"]


def test_guarded_reports_a_map_not_unique_at_50_digits_as_undecidable():
    def recheck(recipe, ev):
        """doc"""
        raise NotUnique("a tie at the cut")

    g = guarded(recheck)
    out = g({}, Evaluation(1.0, 0.0))
    assert out["confirmed"] is None and out["decision"] == "unresolved" and "a tie at the cut" in out["note"]
    assert g.__doc__ == "doc"
    assert guarded(lambda r, ev: {"confirmed": True})({}, Evaluation(1.0, 0.0)) == {"confirmed": True}
    with pytest.raises(ZeroDivisionError):  # only NotUnique is an undecidable answer; a bug still raises
        guarded(lambda r, ev: 1 / 0)({}, Evaluation(1.0, 0.0))
