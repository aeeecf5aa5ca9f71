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
