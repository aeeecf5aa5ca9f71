"""theory/generators.py: the task generators (every kind of ``random_task``), their knobs and their validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aotmem.theory.generators import explicit_task


def test_explicit_task_names_a_non_numeric_argument():
    """Was 'could not convert string to float' (a ValueError naming nothing), found by tests/test_fuzz_api.py."""
    with pytest.raises(ValueError, match="`logits`"):
        explicit_task("abc", [1.0])
    with pytest.raises(ValueError, match="`weights`"):
        explicit_task([[0.0, 1.0]], "abc")
    # prior weights are normalised by their sum: any finite non-negative vector with a positive sum
    assert explicit_task([[0.0, 1.0], [1.0, 0.0]], [0.485, 0.485]).prior.tolist() == [0.5, 0.5]
    assert math.isclose(explicit_task([[0.0, 0.0]], [3.0]).cond[0, 0], 0.5)


@pytest.mark.parametrize("h", [1e-300, 1.5e-308, 1e-315, 1e-320, 5e-324])
def test_lookup_mass_for_entropy_below_1e_300(h):
    """Was scipy's 'f(a) and f(b) must have different signs' (a ValueError naming nothing) for h below ~7e-298,
    found by the thorough profile (tests/test_task.py::test_lookup_entropy_is_hit, N = 2, frac = 2.2e-308):
    the root q ~ h / log(1/h) lies among the subnormals."""
    from aotmem.theory.generators import lookup_mass_for_entropy

    q = lookup_mass_for_entropy(2, h)
    assert 0 < q <= 1e-300
    got = -(1 - q) * math.log1p(-q) - q * math.log(q)
    if h >= 1e-315:  # q carries enough subnormal bits for 1e-9 of the entropy
        assert got == pytest.approx(h, rel=1e-9)
    else:  # at the bottom of the subnormal grid: the smallest positive mass, the closest row there is
        assert q <= 1e-322 and got <= 4e-321
