"""theory/validate.py: the checks every public function of theory/ runs first; each names the argument it rejects."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aotmem.theory.validate import (
    SUM_RTOL,
    check_array,
    check_assumption1,
    check_assumption2,
    check_chunk,
    check_distribution,
    check_eps,
    check_int,
    check_logits,
    check_positive,
    check_prior_cond,
    check_rows_stochastic,
)


def test_check_array_converts_and_keeps_values():
    a = check_array("x", [[1, 2], [3, 4]], ndim=2)
    assert a.dtype == np.float64 and a.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert np.isnan(check_array("x", [np.nan, 1.0], finite=False)[0])  # finite=False keeps NaN/inf


@pytest.mark.parametrize("x, kw, match", [
    (None, {}, "`x` must be a numeric array"),
    ("abc", {}, "`x` must be a numeric array"),
    (np.array(["a", "b"]), {}, "real numeric array"),
    (np.array([1 + 2j]), {}, "real numeric array"),
    ([[1.0], [2.0, 3.0]], {}, "`x` must be a numeric array"),  # ragged
    ([1.0, 2.0], {"ndim": 2}, "`x` must be 2-dimensional"),
    ([1.0, np.nan], {}, "`x` contains NaN"),
    ([1.0, np.inf], {}, "`x` contains inf"),
])
def test_check_array_rejects_naming_the_argument(x, kw, match):
    with pytest.raises(ValueError, match=match):
        check_array("x", x, **kw)


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20).filter(lambda v: sum(v) > 0))
def test_check_distribution_accepts_any_normalised_vector(v):
    p = np.array(v) / np.sum(v)
    assert np.array_equal(check_distribution("prior", p), p)


@pytest.mark.parametrize("p, match", [([], "must not be empty"), ([0.5, -0.1, 0.6], "negative entry"),
                                      ([0.5, 0.5 + 1e-6], "must sum to 1"), ([[1.0]], "1-dimensional")])
def test_check_distribution_rejects(p, match):
    with pytest.raises(ValueError, match=f"`prior`.*{match}|{match}"):
        check_distribution("prior", p)


def test_sum_tolerance_is_relative_rounding_not_a_slip():
    assert 0 < SUM_RTOL <= 1e-6
    check_distribution("p", [0.5, 0.5 + 0.5 * SUM_RTOL])
    with pytest.raises(ValueError):
        check_distribution("p", [0.5, 0.5 + 2 * SUM_RTOL])


def test_check_rows_stochastic_names_the_row_with_its_offset():
    P = np.array([[0.5, 0.5], [0.3, 0.3]])
    with pytest.raises(ValueError, match="`cond` row 11 must sum to 1"):
        check_rows_stochastic("cond", P, row_offset=10)
    with pytest.raises(ValueError, match=r"negative entry \(-0.1 at row 1, column 0\)"):
        check_rows_stochastic("cond", np.array([[0.5, 0.5], [-0.1, 1.1]]))
    with pytest.raises(ValueError, match="must not be empty"):
        check_rows_stochastic("cond", np.zeros((0, 3)))


@pytest.mark.parametrize("v, kw, want", [(3, {}, 3), (np.int64(4), {}, 4), (5.0, {}, 5), (2, {"minimum": 2}, 2)])
def test_check_int_accepts_integers(v, kw, want):
    got = check_int("n", v, **kw)
    assert got == want and type(got) is int


@pytest.mark.parametrize("v, kw, match", [(True, {}, "must be an integer"), (2.5, {}, "must be an integer"),
                                          ("3", {}, "must be an integer"), (None, {}, "must be an integer"),
                                          (1, {"minimum": 2}, ">= 2"), (9, {"maximum": 8}, "<= 8")])
def test_check_int_rejects(v, kw, match):
    with pytest.raises(ValueError, match=f"`n` {match}|`n` must"):
        check_int("n", v, **kw)


def test_check_eps_positive_and_chunk():
    assert check_eps(0) == 0.0 and check_eps(np.float64(0.5)) == 0.5
    for bad in (1.0, -0.1, np.nan, "0.1", None, True):
        with pytest.raises(ValueError, match="`eps`"):
            check_eps(bad)
    assert check_positive("a", 2) == 2.0 and check_positive("a", 0.0, allow_zero=True) == 0.0
    for bad in (0.0, -1.0, np.inf, "1", None):
        with pytest.raises(ValueError, match="`a`"):
            check_positive("a", bad)
    assert check_chunk(7) == 7
    with pytest.raises(ValueError, match="`chunk` must be >= 1"):
        check_chunk(0)


def test_check_logits_shape():
    assert check_logits("F", np.zeros((2, 3)), (2, 3)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"`F` must have shape \(3, 2\)"):
        check_logits("F", np.zeros((2, 3)), (3, 2))


def test_assumptions_are_named():
    one_hot = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.array_equal(check_assumption1("cond", one_hot), one_hot)
    with pytest.raises(ValueError, match="`cond` violates Assumption 1 .* row 0 has max 0.6"):
        check_assumption1("cond", np.array([[0.4, 0.6], [1.0, 0.0]]))
    full = np.array([[0.4, 0.6]])
    assert np.array_equal(check_assumption2("cond", full), full)
    with pytest.raises(ValueError, match=r"`cond` violates Assumption 2 \(full support\): pi\(1\|t=1\) = 0"):
        check_assumption2("cond", np.array([[0.4, 0.6], [1.0, 0.0]]))


def test_check_prior_cond_matches_shapes():
    p, P = check_prior_cond([0.25, 0.75], [[0.5, 0.5], [0.1, 0.9]])
    assert p.shape == (2,) and P.shape == (2, 2)
    with pytest.raises(ValueError, match="`prior` must have shape"):
        check_prior_cond([1.0], [[0.5, 0.5], [0.1, 0.9]])
    with pytest.raises(ValueError, match="at least N=2 columns"):
        check_prior_cond([1.0], [[1.0]])
