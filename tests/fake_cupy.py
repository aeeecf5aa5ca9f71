"""A stand-in for CuPy on machines without a GPU: NumPy underneath, CuPy's rules on top.

It lets the suite run every ``backend="cupy"`` branch of :mod:`theory.aot`,
:mod:`theory.construct` and :mod:`theory.backend` (branches marked
``pragma: no cover - needs a GPU``), and it enforces the rule that real
CuPy enforces and NumPy does not: a device array never mixes silently with a
host array: ``.get()`` copies to the host, ``xp.asarray(host_array)`` copies
to the device, and a ufunc or NumPy function given a device array together
with a host array (of dimension >= 1) raises ``TypeError``.
What it cannot see: ``np.asarray(device_array)`` / ``np.array(...)``, which
CuPy refuses, pass here (for an ndarray subclass NumPy never asks the object).

What it does NOT check: CuPy's own numerics (cuBLAS/cuSOLVER rounding), its
speed, or any function CuPy lacks. That needs a GPU (``tests/test_aot.py``
``test_cupy_agrees_with_numpy`` runs where ``cupy`` is installed).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import scipy.linalg


class ndarray(np.ndarray):  # noqa: N801 - named like cupy.ndarray
    """Device array: an ndarray subclass whose module is ``cupy``."""

    def get(self) -> np.ndarray:
        return self.view(np.ndarray).copy()

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        args = [_unwrap(a) for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        res = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(res)

    def __array_function__(self, func, types_, args, kwargs):
        return _wrap(func(*_unwrap_tree(args), **_unwrap_tree(kwargs)))


ndarray.__module__ = "cupy"


def _unwrap(a):
    if isinstance(a, ndarray):
        return a.view(np.ndarray)
    if isinstance(a, np.ndarray) and a.ndim > 0:
        raise TypeError("host (numpy) array mixed with a device (cupy) array")
    return a


def _unwrap_tree(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap_tree(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap_tree(v) for k, v in x.items()}
    return _unwrap(x)


def _wrap(x):
    if isinstance(x, np.ndarray) and not isinstance(x, ndarray):
        return x.view(ndarray)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    return x


def asarray(a, dtype=None):
    """Host -> device copy (or a device array as it is)."""
    if isinstance(a, ndarray):
        return a if dtype is None else a.astype(dtype)
    return np.array(a, dtype=dtype).view(ndarray)


def _device_fn(f):
    def g(*args, **kwargs):
        return _wrap(f(*_unwrap_tree(args), **_unwrap_tree(kwargs)))

    g.__name__ = f.__name__
    return g


def _lu_factor(a, overwrite_a=False, check_finite=True):
    """``cupyx.scipy.linalg.lu_factor``: like SciPy's, but a tall ``(M, N)`` matrix is allowed (cuSOLVER getrf)."""
    (getrf,) = scipy.linalg.get_lapack_funcs(("getrf",), (a,))
    lu, piv, info = getrf(np.asfortranarray(a), overwrite_a=overwrite_a)
    if info < 0:
        raise ValueError(f"getrf: illegal argument {-info}")
    return lu, piv.astype(np.int32)


def real_cupy():
    """The real ``cupy`` module where it imports and sees a GPU (``theory.backend.get_xp("cupy")``), else ``None``."""
    from aotmem.theory.backend import get_xp

    try:
        return get_xp("cupy")
    except ValueError:
        return None


def install(monkeypatch) -> types.ModuleType:
    """Put fake ``cupy``, ``cupyx``, ``cupyx.scipy.linalg`` into ``sys.modules`` for one test."""
    cp = types.ModuleType("cupy")
    cp.ndarray = ndarray
    cp.asarray = asarray
    cp.float64 = np.float64
    for name in ("empty", "zeros", "ones", "concatenate", "sqrt", "einsum", "exp", "matmul", "any", "abs",
                 "arange", "eye", "full", "where", "argmax", "max"):
        setattr(cp, name, _device_fn(getattr(np, name)))
    cp.linalg = types.SimpleNamespace(qr=_device_fn(np.linalg.qr), solve=_device_fn(np.linalg.solve))
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    lin = types.ModuleType("cupyx.scipy.linalg")
    lin.lu_factor = _device_fn(_lu_factor)
    lin.lu_solve = _device_fn(scipy.linalg.lu_solve)
    lin.solve_triangular = _device_fn(scipy.linalg.solve_triangular)
    cupyx = types.ModuleType("cupyx")
    cupyx_scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy, cupyx_scipy.linalg = cupyx_scipy, lin
    for name, mod in (("cupy", cp), ("cupyx", cupyx), ("cupyx.scipy", cupyx_scipy), ("cupyx.scipy.linalg", lin)):
        monkeypatch.setitem(sys.modules, name, mod)
    return cp
