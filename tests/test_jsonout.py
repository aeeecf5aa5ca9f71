"""verify/outputs/jsonout.py: strict JSON for every ``--json`` output (no ``Infinity``, no ``NaN``; notes say why)."""

import dataclasses
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aotmem.verify.outputs.jsonout import dump, dumps, nonfinite_label, strict


def test_nonfinite_labels():
    assert [nonfinite_label(x) for x in (math.inf, -math.inf, math.nan)] == ["inf", "-inf", "nan"]


def test_strict_replaces_nonfinite_by_null_with_a_note():
    out = strict({"bound": math.inf, "lo": -math.inf, "xs": [1.0, math.nan, math.inf], "n": np.int64(3)})
    assert out == {"bound": None, "lo": None, "xs": [1.0, None, None], "n": 3, "bound_note": "inf",
                   "lo_note": "-inf", "xs_note": "inf/nan at index 1, 2"}
    # a reason the command gave wins over the generic label
    assert strict({"bound": math.inf, "bound_note": "inf: exp3 overflows"})["bound_note"] == "inf: exp3 overflows"
    assert strict(math.nan) is None and strict([math.inf]) == [None]


def test_strict_converts_numpy_tuples_dataclasses_and_paths():
    @dataclasses.dataclass
    class D:
        a: float
        b: tuple

    out = strict({"arr": np.array([[1, 2]]), "flag": np.bool_(True), "f": np.float32(0.5), "p": Path("/x/y"),
                  "d": D(np.float64(math.inf), (1, 2)), 3: {1, 2}})
    assert out == {"arr": [[1, 2]], "flag": True, "f": 0.5, "p": "/x/y", "d": {"a": None, "b": [1, 2],
                                                                               "a_note": "inf"}, "3": [1, 2]}


def test_many_nonfinite_entries_are_listed_ten_at_most():
    note = strict({"v": [math.nan] * 12})["v_note"]
    assert note == "nan at index 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 ..."


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers(-10**6, 10**6) | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=4), kids, max_size=4),
                    max_leaves=20))
def test_dumps_is_always_strict_json(obj):
    text = dumps(obj)
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict constant {c} in {text}"))


def test_dump_writes_a_line(tmp_path):
    buf = io.StringIO()
    dump({"x": math.inf}, buf, sort_keys=True)
    assert buf.getvalue() == '{"x": null, "x_note": "inf"}\n'
