"""Extended precision for the public functions: ``with aotmem.precision(50): ...``.

A user's claim (:mod:`aotmem.verify.ledger.userclaims`) is re-checked at 50 digits by
running the same Python function again with the precision switched: inside
:func:`precision`, each public function of ``aotmem`` that has an mpmath twin
in :mod:`aotmem.theory.precise` (``kl`` -> ``kl_mp``, ``f_ls`` -> ``f_ls_mp``,
...) calls that twin instead of its float64 kernel. Values come back as
``mpmath.mpf`` scalars and NumPy *object* arrays of ``mpf`` (same shapes as
the float64 functions return: a per-row value is ``(T,)``, a map ``(T, N)``),
so ``fit.E @ fit.W.T``, indexing and sums work as before and stay exact to the
working precision.

Nothing is computed in float64 behind the caller's back:

- a public function without a twin raises :class:`PrecisionUnavailable` under
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
from dataclasses import dataclass

import mpmath
import numpy as np

from aotmem.theory import precise
from aotmem.theory.lowrank import Factors

__all__ = ["precision", "current_dps", "PrecisionUnavailable", "precise_task", "dispatch", "is_exact_number",
           "LowRankPrecise"]

_DPS: contextvars.ContextVar[int | None] = contextvars.ContextVar("aotmem_precision", default=None)


class PrecisionUnavailable(RuntimeError):
    """A public function was called under :func:`precision` but has no extended-precision twin (or got an
    argument the twin cannot take exactly)."""


@contextlib.contextmanager
def precision(dps: int = precise.DPS):
    """Run the public functions with their ``dps``-digit mpmath twins (:mod:`aotmem.theory.precise`).

    ``dps`` must be an int >= 20 (below that the twins' resolution ``10^{-dps/2}`` is no
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
    """``x`` as float64 when every entry is exactly a float64 (the instance's own arrays); else raise."""
    a = np.asarray(x)
    if a.dtype != object:
        return a
    flat = a.ravel()
    out = np.empty(flat.shape, dtype=np.float64)
    for i, v in enumerate(flat):
        f = float(v)
        if mpmath.mpf(f) != v:
            raise PrecisionUnavailable(f"`{name}` holds a value that is not a float64 number ({v}): the "
                                       "extended-precision twins take the instance's own float64 arrays")
        out[i] = f
    return out.reshape(a.shape)


def _to_matrix(x):
    """A 2-d object array of mpf (or a float array) as an ``mpmath.matrix`` (exact)."""
    if isinstance(x, mpmath.matrix):
        return x
    a = np.asarray(x)
    if a.dtype != object:
        return a  # the twins convert float64 exactly themselves
    if a.ndim != 2:
        raise PrecisionUnavailable(f"a matrix argument must be 2-d (got shape {a.shape})")
    return mpmath.matrix([[mpmath.mpf(v) for v in row] for row in a])


def _from_mp(x, *, matrix: bool = False):
    """A twin's result as NumPy object arrays of mpf: ``(n, 1)`` -> ``(n,)`` (a per-row value, as the float64
    functions return it) unless ``matrix`` (a factor such as ``W (N, d)`` with ``d = 1``), ``(T, N)`` as is."""
    if isinstance(x, mpmath.matrix):
        a = np.empty((x.rows, x.cols), dtype=object)
        for i in range(x.rows):
            for j in range(x.cols):
                a[i, j] = x[i, j]
        return a[:, 0] if x.cols == 1 and not matrix else a
    return x


@dataclass(frozen=True)
class LowRankPrecise(Factors):
    """A rank-``d`` map at extended precision: ``W (N, d)``, ``E (T, d)`` object arrays of mpf, ``F = E W^T``.

    What :func:`aotmem.f_ls` / :func:`aotmem.f_wls` return under :func:`precision` (the twin of
    :class:`aotmem.theory.lowrank.LowRank`: the same attributes, from :class:`~aotmem.theory.lowrank.Factors`).
    """

    W: np.ndarray
    E: np.ndarray

    def divergence(self, prior, cond):
        """``dKL(pi, f_{W,E})`` at the working precision (:func:`aotmem.theory.precise.kl_mp`)."""
        dps = current_dps() or precise.DPS
        return precise.kl_mp(_to_float_array("prior", prior), _to_float_array("cond", cond), _to_matrix(self.F),
                             dps=dps)


def _lowrank(m):
    return LowRankPrecise(_from_mp(m.W, matrix=True), _from_mp(m.E, matrix=True))


# Which arguments of each public function are the instance (float64 arrays, exact) and which are
# maps/logits (mpmath matrices); the rest pass through.
_INSTANCE_ARGS = ("prior", "cond")
_MATRIX_ARGS = ("F", "W_U")


def dispatch(float_fn, mp_fn=None, *, wrap_result=None, argnames: tuple = ()):
    """``float_fn``, calling ``mp_fn`` (with ``dps=``) instead under :func:`precision`.

    ``argnames``: the names of ``float_fn``'s positional parameters (to convert the instance's
    object arrays back to float64 exactly and maps to ``mpmath.matrix``). Without ``mp_fn`` the
    function raises :class:`PrecisionUnavailable` under the context (never a silent float64 value).
    """
    @functools.wraps(float_fn)
    def public(*args, **kwargs):
        dps = _DPS.get()
        if dps is None:
            return float_fn(*args, **kwargs)
        if mp_fn is None:
            raise PrecisionUnavailable(f"aotmem.{float_fn.__name__} has no extended-precision twin: "
                                       "it cannot be evaluated under aotmem.precision()")
        args = list(args)
        for i, name in enumerate(argnames[:len(args)]):
            if name in _INSTANCE_ARGS:
                args[i] = _to_float_array(name, args[i])
            elif name in _MATRIX_ARGS and args[i] is not None:
                args[i] = _to_matrix(args[i])
        for name in list(kwargs):
            if name in _INSTANCE_ARGS:
                kwargs[name] = _to_float_array(name, kwargs[name])
            elif name in _MATRIX_ARGS and kwargs[name] is not None:
                kwargs[name] = _to_matrix(kwargs[name])
        out = mp_fn(*args, dps=dps, **kwargs)
        return wrap_result(out) if wrap_result is not None else _from_mp(out)

    public.__wrapped_precise__ = mp_fn
    return public


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
    """The dispatching versions of the public functions that have twins: ``{name: function}``."""
    from aotmem.theory import bounds, divergence, lowrank, spectra

    def bound(name):
        fn = getattr(bounds, name)
        return dispatch(fn, functools.partial(precise.almost_rank_bound_mp, bounds.KERNEL_KIND[fn]),
                        argnames=("prior", "cond", "d"))

    return {
        "kl": dispatch(divergence.kl, lambda prior, cond, F, *, dps, chunk=None: precise.kl_mp(prior, cond, F, dps=dps),
                       argnames=("prior", "cond", "F")),
        "kl_rows": dispatch(divergence.kl_rows, precise.kl_rows_mp, argnames=("cond", "F")),
        "entropy": dispatch(divergence.entropy, precise.entropy_mp, argnames=("cond",)),
        "log_softmax": dispatch(divergence.log_softmax, precise.log_softmax_mp, argnames=("F",)),
        "singular_values": dispatch(spectra.singular_values, precise.singular_values_mp,
                                    argnames=("prior", "cond", "reading")),
        "sigma": dispatch(spectra.sigma, precise.sigma_mp, argnames=("prior", "cond", "j", "reading")),
        "f_ls": dispatch(lowrank.f_ls, precise.f_ls_mp, wrap_result=_lowrank, argnames=("prior", "cond", "d", "reading")),
        "f_wls": dispatch(lowrank.f_wls, precise.f_wls_mp, wrap_result=_lowrank, argnames=("prior", "cond", "d", "W_U")),
        "seed_ls_bound": bound("seed_ls_bound"),
        "seed_wls_bound": bound("seed_wls_bound"),
        "draft_ls_bound": bound("draft_ls_bound"),
        "draft_wls_bound": bound("draft_wls_bound"),
        "draft_min_bound": bound("draft_min_bound"),
    }


PUBLIC = _public_table()
__all__ += ["PUBLIC"]
