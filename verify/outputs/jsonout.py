"""Strict JSON for every ``--json`` output: never ``Infinity`` or ``NaN``.

JSON has no infinity and no NaN; Python's ``json`` writes them anyway
(``Infinity``, ``NaN``), which strict parsers (JavaScript's ``JSON.parse``,
``jq``, Go, Rust) reject. Every command prints through :func:`dumps` (or
:func:`dump`), which

- replaces a non-finite float by ``null`` and says why next to it: in a dict,
  key ``k`` gets a sibling ``k_note`` (``"inf"``, ``"-inf"`` or ``"nan"``,
  unless the command already put a reason there, e.g.
  ``"bound": null, "bound_note": "inf: exp3 overflows float64"``); in a
  list, the dict holding the list gets ``k_note`` naming the indices;
- converts NumPy scalars and arrays, tuples, dataclasses and paths to plain
  JSON values;
- and then serialises with ``allow_nan=False``, so a non-finite value that
  slipped through is an error, not invalid JSON.

Use: ``from aotmem.verify.outputs.jsonout import dumps``; ``print(dumps(result))``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import PurePath

import numpy as np

__all__ = ["strict", "dumps", "dump", "nonfinite_label"]


def nonfinite_label(x: float) -> str:
    """``"inf"``, ``"-inf"`` or ``"nan"`` for a non-finite float.

    >>> nonfinite_label(float("inf")), nonfinite_label(float("nan"))
    ('inf', 'nan')
    """
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _plain(obj):
    """One level of conversion to JSON-native types (floats left as they are)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    return obj


def strict(obj):
    """A copy of ``obj`` that ``json.dumps(..., allow_nan=False)`` accepts (module docstring).

    >>> strict({"bound": float("inf"), "xs": [1.0, float("nan")], "n": np.int64(3)})
    {'bound': None, 'xs': [1.0, None], 'n': 3, 'bound_note': 'inf', 'xs_note': 'nan at index 1'}
    >>> strict({"bound": float("inf"), "bound_note": "inf: exp3 overflow"})
    {'bound': None, 'bound_note': 'inf: exp3 overflow'}
    """
    obj = _plain(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        out, notes = {}, {}
        for k, v in obj.items():
            v = _plain(v)
            if isinstance(v, float) and not math.isfinite(v):
                notes[f"{k}_note"] = nonfinite_label(v)
            elif isinstance(v, list):
                bad = [(i, _plain(x)) for i, x in enumerate(v)]
                bad = [(i, x) for i, x in bad if isinstance(x, float) and not math.isfinite(x)]
                if bad:
                    labels = sorted({nonfinite_label(x) for _, x in bad})
                    notes[f"{k}_note"] = (f"{'/'.join(labels)} at index "
                                          + ", ".join(str(i) for i, _ in bad[:10]) + (" ..." if len(bad) > 10 else ""))
            out[str(k)] = strict(v)
        for k, note in notes.items():
            if not out.get(k):  # a reason the command gave wins over the generic label
                out[k] = note
        return out
    if isinstance(obj, list):
        return [strict(v) for v in obj]
    return obj


def dumps(obj, **kwargs) -> str:
    """``json.dumps(strict(obj), allow_nan=False, **kwargs)``: strict JSON text."""
    return json.dumps(strict(obj), allow_nan=False, **kwargs)


def dump(obj, fp, **kwargs) -> None:
    """:func:`dumps` written to the file object ``fp``, with a final newline."""
    fp.write(dumps(obj, **kwargs))
    fp.write("\n")
