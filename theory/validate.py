"""Input checks shared by every public function.

Every check raises ``ValueError`` whose message starts with the argument's
name in backticks and says what was wrong. Nothing is ever silently fixed:
a row that sums to 0.97 is rejected, not renormalised.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

__all__ = [
    "SUM_RTOL",
    "check_array",
    "check_distribution",
    "check_rows_stochastic",
    "check_int",
    "check_eps",
    "check_positive",
    "check_logits",
    "check_chunk",
    "check_assumption1",
    "check_assumption2",
    "load_user_npz",
    "check_choice",
    "is_stack",
    "check_stack",
    "check_single_options",
]

# A probability vector must sum to 1 within this relative tolerance. float64
# summation of n terms errs by at most ~n * 1.1e-16; 1e-9 leaves room for
# n up to 1e6 while still rejecting anything a user would call unnormalised
# (and the 1e-3-level slips of float32 data).
SUM_RTOL = 1e-9


def check_array(name: str, x, *, ndim: int | None = None, finite: bool = True) -> np.ndarray:
    """``x`` as a float64 array; reject non-numeric data, wrong ``ndim`` and NaN/inf."""
    # Strings, bytes, complex and date types would be coerced (or truncated) by
    # ``np.asarray(x, float64)``: reject them rather than silently convert.
    kind = None if x is None else getattr(x, "dtype", None)
    if x is None or isinstance(x, (str, bytes)):
        raise ValueError(f"`{name}` must be a numeric array (got {type(x).__name__})")
    try:
        kind = np.asarray(x).dtype.kind if kind is None else kind.kind
    except (TypeError, ValueError, OverflowError):
        kind = "O"
    if kind in "USVcMm":
        raise ValueError(f"`{name}` must be a real numeric array (got dtype kind {kind!r})")
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"`{name}` must be a numeric array (got {type(x).__name__})") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-dimensional (got shape {a.shape})")
    if finite and not np.all(np.isfinite(a)):
        bad = "NaN" if np.isnan(a).any() else "inf"
        raise ValueError(f"`{name}` contains {bad}")
    return a


def check_distribution(name: str, p) -> np.ndarray:
    """A 1-d probability vector: finite, ``>= 0``, summing to 1 within ``SUM_RTOL``."""
    a = check_array(name, p, ndim=1)
    if a.size == 0:
        raise ValueError(f"`{name}` must not be empty")
    if (a < 0).any():
        raise ValueError(f"`{name}` has a negative entry ({a.min():.3g} at index {int(np.argmin(a))})")
    s = a.sum()
    if abs(s - 1.0) > SUM_RTOL:
        raise ValueError(f"`{name}` must sum to 1 (got {s:.12g})")
    return a


def check_rows_stochastic(name: str, P, *, row_offset: int = 0) -> np.ndarray:
    """A 2-d array whose rows are probability vectors (finite, ``>= 0``, sum 1).

    ``row_offset`` is added to the row numbers in messages, so that a block
    ``P[lo:hi]`` checked on its own reports rows of the whole matrix.
    """
    a = check_array(name, P, ndim=2)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"`{name}` must not be empty (got shape {a.shape})")
    if (a < 0).any():
        r, c = np.unravel_index(int(np.argmin(a)), a.shape)
        raise ValueError(f"`{name}` has a negative entry ({a[r, c]:.3g} at row {r + row_offset}, column {c})")
    s = a.sum(axis=1)
    dev = np.abs(s - 1.0)
    if (dev > SUM_RTOL).any():
        r = int(np.argmax(dev))
        raise ValueError(f"`{name}` row {r + row_offset} must sum to 1 (got {s[r]:.12g})")
    return a


def check_int(name: str, v, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (bools rejected) within ``[minimum, maximum]``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise ValueError(f"`{name}` must be an integer (got {v!r})")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"`{name}` must be >= {minimum} (got {v})")
    if maximum is not None and v > maximum:
        raise ValueError(f"`{name}` must be <= {maximum} (got {v})")
    return v


def check_eps(eps, name: str = "eps") -> float:
    """``eps`` in ``[0, 1)``."""
    try:
        if isinstance(eps, (str, bytes, bool)):
            raise TypeError
        e = float(eps)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"`{name}` must be a number in [0, 1) (got {eps!r})") from None
    if not (0.0 <= e < 1.0):
        raise ValueError(f"`{name}` must lie in [0, 1) (got {eps!r})")
    return e


def check_positive(name: str, v, *, allow_zero: bool = False) -> float:
    """A finite real ``> 0`` (or ``>= 0``)."""
    try:
        if isinstance(v, (str, bytes, bool)):
            raise TypeError
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"`{name}` must be a real number (got {v!r})") from None
    if not np.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        raise ValueError(f"`{name}` must be {'>= 0' if allow_zero else '> 0'} and finite (got {v!r})")
    return x


def check_logits(name: str, F, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A finite 2-d logit matrix, optionally of a given shape."""
    a = check_array(name, F, ndim=2)
    if shape is not None and a.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape} (got {a.shape})")
    return a


def check_chunk(chunk, name: str = "chunk") -> int:
    """A chunk size: an integer number of rows ``>= 1``."""
    return check_int(name, chunk, minimum=1)


def check_assumption1(name: str, P) -> np.ndarray:
    """Rows stochastic and one-hot: Assumption 1 (association task), named in the message."""
    a = check_rows_stochastic(name, P)
    bad = ~(np.all((a == 0) | (a == 1), axis=1) & (a.max(axis=1) == 1))
    if bad.any():
        r = int(np.argmax(bad))
        raise ValueError(f"`{name}` violates Assumption 1 (association: every row one-hot): "
                         f"row {r} has max {a[r].max():.6g}")
    return a


def check_assumption2(name: str, P) -> np.ndarray:
    """Rows stochastic with every entry ``> 0``: Assumption 2 (full support), named in the message."""
    a = check_rows_stochastic(name, P)
    if not np.all(a > 0):
        r, c = np.argwhere(a == 0)[0]
        raise ValueError(f"`{name}` violates Assumption 2 (full support): pi({c}|t={r}) = 0")
    return a


def check_prior_cond(prior, cond) -> tuple[np.ndarray, np.ndarray]:
    """A prior ``(T,)`` and conditionals ``(T, N)`` that match, ``N >= 2``; returns ``(p, P)``."""
    P = check_rows_stochastic("cond", cond)
    T, N = P.shape
    if N < 2:
        raise ValueError(f"`cond` must have at least N=2 columns (got {N})")
    p = check_distribution("prior", prior)
    if p.shape != (T,):
        raise ValueError(f"`prior` must have shape (T,) = ({T},) to match `cond` (got {p.shape})")
    return p, P


def load_user_npz(what: str, path, *, readable_as: str = ".npz", missing_hint: str = ""):
    """``np.load(path, allow_pickle=False)`` of a user's file, or a ``ValueError`` naming it.

    ``{what} file `path` does not exist{missing_hint}``, or ``... is not a readable
    {readable_as} (ExcType: message)``: zip, format and pickle errors all mean the
    same to the user. Returns the ``NpzFile`` (a context manager) or, for ``.npy``, the array.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{what} file `{path}` does not exist{missing_hint}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise ValueError(f"{what} file `{path}` is not readable ({exc.__class__.__name__}: {exc})") from None
    if not (head.startswith(b"PK") or head.startswith(b"\x93NUMPY")):  # neither a zip (.npz) nor a .npy
        hint = ""
        try:
            with open(path, encoding="utf-8") as fh:
                fh.read(4096)
            hint = "; it looks like text: make a task from it with `aotmem task from-text FILE --S S --out TASK.npz`"
        except (UnicodeDecodeError, OSError):
            pass
        raise ValueError(f"{what} file `{path}` is not a readable {readable_as}: not a NumPy file{hint}")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # any unreadable file means the same to the user
        raise ValueError(f"{what} file `{path}` is not a readable {readable_as} ({exc.__class__.__name__}: {exc})") \
            from None


def mark_failed(ok: np.ndarray, why: np.ndarray, mask: np.ndarray, reason: str) -> None:
    """Per-instance refusal of a batched kernel: the instances of ``mask`` not yet failed get ``ok = False``
    and ``why = reason`` (the first reason wins, as a raise would). ``ok`` and ``why`` are updated in place."""
    new = mask & ok
    if new.any():
        why[new] = reason
        ok &= ~mask


def check_choice(name: str, value, choices: tuple):
    """``value`` if it is one of ``choices`` (a reading, a fit name), else a ``ValueError`` naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {choices} (got {value!r})")
    return value


def is_stack(x, ndim: int) -> bool:
    """Whether ``x`` is a stack of instances: one more axis than an instance's ``ndim`` (``cond (B, T, N)``)."""
    return np.ndim(x) == ndim + 1


def check_single_options(**options):
    """Options that apply to one instance only (``dps``, ``chunk``): a ``ValueError`` naming the first one given
    (not ``None``) with a stack of instances, never silently ignored."""
    for name, value in options.items():
        if value is not None:
            raise ValueError(f"`{name}` applies to one instance (T, N), not to a stack of instances (got {value!r})")


def check_stack(check, **stacks):
    """``check`` (a validator of ONE instance returning its validated arrays, or one array) applied to instance
    ``b`` of each named stack (``cond=...``: the leading axis, ``B >= 1`` instances, as many as ``cond``'s); its
    ``ValueError`` names the instance (``instance b: ...``). Returns the validated arrays stacked again. The
    float64 functions take a stack this way: the same checks and messages per instance, then one call of the
    kernel on the whole stack."""
    B = len(stacks["cond"]) if "cond" in stacks else len(next(iter(stacks.values())))
    for name, s in stacks.items():
        if isinstance(s, (str, bytes)) or s is None or np.ndim(s) < 1 or len(s) != B or B < 1:
            raise ValueError(f"`{name}` must be a stack of B = {B} >= 1 instances along its first axis "
                             f"(got {type(s).__name__} of shape {np.shape(s) if s is not None else None})")
    outs = []
    for b in range(B):
        try:
            out = check(**{name: s[b] for name, s in stacks.items()})
        except ValueError as exc:
            raise ValueError(f"instance {b}: {exc}") from None
        outs.append(out if isinstance(out, tuple) else (out,))
    stacked = tuple(np.stack(parts) for parts in zip(*outs))
    return stacked if len(stacked) > 1 else stacked[0]
