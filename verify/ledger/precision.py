"""Extended precision for the public functions: ``with aotmem.precision(50): ...``.

A user's claim (:mod:`aotmem.verify.ledger.userclaims`) is re-checked at 50 digits by
running the same Python function again with the precision switched: inside
:func:`precision`, each public function of ``aotmem`` that takes ``dps=`` (``kl``,
``f_ls``, ...) is called with the block's digits: the same kernel on mpmath numbers
(:mod:`aotmem.theory.precise`). Values come back as
``mpmath.mpf`` scalars and NumPy *object* arrays of ``mpf`` (same shapes as
the float64 functions return: a per-row value is ``(T,)``, a map ``(T, N)``),
so ``fit.E @ fit.W.T``, indexing and sums work as before and stay exact to the
working precision.

Nothing is computed in float64 behind the caller's back:

- a public function without ``dps=`` raises :class:`PrecisionUnavailable` under
  the context (the re-check then says the claim was not re-checked);
- the instance handed to the claim has object arrays of ``mpf`` as ``prior`` and
  ``cond`` (:func:`precise_task`): NumPy ufuncs that have no mpmath meaning
  (``np.log``, ``np.exp``, ``np.linalg.*``) raise on them instead of rounding
  to float64 silently. Use ``mpmath`` functions (``mpmath.log``) or the public
  functions, which accept these arrays.

Outside the context every function is its float64 self (one ``ContextVar``
read per call).

>>> import numpy as np, mpmath, aotmem
>>> P = np.array([[0.25, 0.75]])
>>> with aotmem.precision(50):
...     v = aotmem.kl(np.array([1.0]), P, np.zeros((1, 2)))
>>> isinstance(v, mpmath.mpf)
True
>>> isinstance(aotmem.kl(np.array([1.0]), P, np.zeros((1, 2))), float)
True
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect

import mpmath
import numpy as np

from aotmem.theory import precise

__all__ = ["precision", "current_dps", "PrecisionUnavailable", "precise_task", "dispatch", "is_exact_number"]

_DPS: contextvars.ContextVar[int | None] = contextvars.ContextVar("aotmem_precision", default=None)


class PrecisionUnavailable(RuntimeError):
    """A public function was called under :func:`precision` but has no extended-precision evaluation (``dps=``; or got
    an argument it cannot take exactly)."""


@contextlib.contextmanager
def precision(dps: int = precise.DPS):
    """Run the public functions at ``dps`` digits (their ``dps=`` evaluations, :mod:`aotmem.theory.precise`).

    ``dps`` must be an int >= 20 (below that the resolution ``10^{-dps/2}`` is no
    better than float64's). mpmath's own working precision is set too (``mpmath.workdps``), so
    arithmetic on the returned numbers inside the block keeps the digits.
    """
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < 20:
        raise ValueError(f"`dps` must be an int >= 20 (got {dps!r})")
    token = _DPS.set(dps)
    try:
        with mpmath.workdps(dps):
            yield dps
    finally:
        _DPS.reset(token)


def current_dps() -> int | None:
    """The digits of the enclosing :func:`precision` block, or None (float64)."""
    return _DPS.get()


def is_exact_number(x) -> bool:
    """Whether ``x`` is a value the 50-digit decision can take as exact: an ``mpf`` or an int (not a float)."""
    return isinstance(x, mpmath.mpf) or (isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)))


# ------------------------------------------------------------------ conversion --


def _to_float_array(name, x):
    """``x`` as float64 when every entry is exactly a float64 (the instance's own arrays); else
    :class:`PrecisionUnavailable` (:func:`aotmem.theory.precise.float64_exactly`'s check)."""
    try:
        return np.asarray(precise.float64_exactly(name, x))
    except ValueError as exc:
        raise PrecisionUnavailable(str(exc)) from None


def dispatch(float_fn, *, exact: bool = True):
    """``float_fn``, called with ``dps=`` the digits of the enclosing :func:`precision` block.

    ``float_fn`` takes ``dps=`` (the same kernel on :data:`aotmem.theory.precise.MP`). The instance's object
    arrays (its ``prior`` and ``cond`` parameters, by name) go back to float64 exactly (the ``dps=`` branches
    convert them exactly again). ``exact=False``: the function has no ``dps=`` and raises
    :class:`PrecisionUnavailable` under the context (never a silent float64 value).
    """
    names = tuple(inspect.signature(float_fn).parameters)

    @functools.wraps(float_fn)
    def public(*args, **kwargs):
        dps = _DPS.get()
        if dps is None:
            return float_fn(*args, **kwargs)
        if not exact:
            raise PrecisionUnavailable(f"aotmem.{float_fn.__name__} has no extended-precision evaluation: "
                                       "it cannot be evaluated under aotmem.precision()")
        args = [_to_float_array(n, a) if n in _INSTANCE_ARGS else a for n, a in zip(names, args)] + list(
            args[len(names):])
        kwargs = {k: _to_float_array(k, v) if k in _INSTANCE_ARGS else v for k, v in kwargs.items()}
        return float_fn(*args, dps=dps, **kwargs)

    public.__wrapped_float__ = float_fn
    return public


# Which arguments of the public functions are the instance (float64 arrays, exact); the rest pass through.
_INSTANCE_ARGS = ("prior", "cond")


def precise_task(task):
    """A copy of ``task`` whose ``prior`` and ``cond`` are object arrays of exact ``mpf`` (same values).

    Built without the float64 validation (the values are the validated task's own).
    """
    from aotmem.theory.task import Task

    out = object.__new__(Task)
    for f in task.__dataclass_fields__:
        object.__setattr__(out, f, getattr(task, f))
    to_mp = np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])
    object.__setattr__(out, "prior", to_mp(task.prior))
    object.__setattr__(out, "cond", to_mp(task.cond))
    return out


def _public_table():
    """The dispatching versions of the public functions that take ``dps=``: ``{name: function}``."""
    from aotmem.theory import bounds, divergence, lowrank, spectra

    fns = (divergence.kl, divergence.kl_rows, divergence.entropy, divergence.log_softmax, spectra.singular_values,
           spectra.sigma, lowrank.f_ls, lowrank.f_wls, bounds.seed_ls_bound, bounds.seed_wls_bound,
           bounds.draft_ls_bound, bounds.draft_wls_bound, bounds.draft_min_bound)
    return {fn.__name__: dispatch(fn) for fn in fns}


PUBLIC = _public_table()
__all__ += ["PUBLIC"]
