"""The one backend switch: NumPy (default) or CuPy, for the AoT and its constructor.

Every array routine in :mod:`theory.aot` and :mod:`theory.construct` takes
its array module from :func:`get_xp` and never imports ``cupy`` itself, so
the CuPy path runs mostly the same lines as the NumPy one. Results always
come back to the caller as NumPy float64 through :func:`to_numpy`.

The routines that differ are few. :func:`lu_solve_cond` wraps the dense LU
and its condition-number estimate for both backends: LAPACK ``getrf``/``gecon``
on NumPy; cuSOLVER ``getrf`` and the same estimator run on the device
(:func:`lacn2_cond1`) on CuPy, so the factors never travel to the host.
:func:`theory.construct.solve_output` picks pivot rows with one ``getrf`` of
the tall system (LAPACK or cuSOLVER), and solves by QR with more than
``NULL_LU_MAX`` surplus rows. :func:`row_norms` and :func:`col_abs_sums` work
in column blocks, so no full-size temporary sits beside a large ``M_1``.

Testing: without a GPU every device branch runs in the test suite on a
NumPy-backed stand-in that refuses host/device mixing (``tests/fake_cupy.py``);
with one, the same tests also run on real CuPy, and ``benchmarks/gpu_run.sh``
is the whole GPU check (run on an H200 on 2026-11-26:
``docs/construction.md``).
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

__all__ = ["BACKENDS", "check_backend", "get_xp", "to_numpy", "xp_of", "lu_solve_cond", "lu_factor_cond", "LUFactors",
           "cond_from_lu", "cond1_triangular", "lacn2_cond1", "col_abs_sums", "row_norms", "COL_BLOCK",
           "residual_extended", "split_bits"]

BACKENDS = ("numpy", "cupy")


def check_backend(name: str) -> str:
    """``name`` if it names a backend (``BACKENDS``), else ``ValueError``; imports nothing.

    >>> check_backend("cupy")
    'cupy'
    """
    if name not in BACKENDS:
        raise ValueError(f"`backend` must be one of {BACKENDS} (got {name!r})")
    return name


def get_xp(name: str = "numpy"):
    """The array module named ``name`` (``"numpy"`` or ``"cupy"``).

    Raises ``ValueError`` on an unknown name, or when CuPy is asked for and
    cannot be imported (no package, or no GPU).

    >>> get_xp("numpy") is np
    True
    """
    if check_backend(name) == "numpy":
        return np
    try:
        cp = importlib.import_module("cupy")
        cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # ImportError, CUDARuntimeError: both mean "not here"
        raise ValueError(f"`backend` 'cupy' is not available here ({exc.__class__.__name__}: {exc})") from None
    return cp


def xp_of(a):
    """The array module an array belongs to (NumPy for anything that is not a CuPy array)."""
    mod = type(a).__module__.split(".")[0]
    return importlib.import_module("cupy") if mod == "cupy" else np


def to_numpy(a) -> np.ndarray:
    """``a`` as a NumPy array (copies a CuPy array to the host; NumPy arrays pass through).

    >>> to_numpy([1.0, 2.0]).tolist()
    [1.0, 2.0]
    """
    if hasattr(a, "get") and type(a).__module__.split(".")[0] == "cupy":
        return a.get()
    return np.asarray(a)


@dataclass(frozen=True)
class LUFactors:
    """``getrf`` factors of a square ``A`` (or of ``A^T``: ``of_transpose``), and ``kappa_1(A)`` estimated by ``gecon``.

    Kept so that further right-hand sides (iterative refinement) cost two
    triangular solves each, not a new factorisation.
    """

    lu: object  # packed L U, NumPy or CuPy
    piv: object
    of_transpose: bool  # the factors are those of A^T (NumPy factors a C-ordered A through its free transposed view)
    cond: float  # kappa_1(A), LAPACK gecon's estimate (inf for an exactly zero pivot)

    def solve(self, B, *, trans: bool = False):
        """``X`` with ``A X = B`` (``trans=True``: ``A^T X = B``), on the factors' device."""
        t = trans != self.of_transpose
        if xp_of(self.lu) is np:
            return scipy.linalg.lu_solve((self.lu, self.piv), B, trans=1 if t else 0, check_finite=False)
        import cupyx.scipy.linalg as cpl  # pragma: no cover - needs a GPU (tests/fake_cupy.py runs it)

        return cpl.lu_solve((self.lu, self.piv), B, trans=1 if t else 0, check_finite=False)


def lu_factor_cond(A, *, overwrite: bool = False) -> LUFactors:
    """LU with partial pivoting of a square ``A`` and ``gecon``'s estimate of ``kappa_1(A) = ||A||_1 ||A^{-1}||_1``.

    NumPy: LAPACK ``getrf``/``gecon`` (a C-ordered ``A`` is factored through its
    free transposed view, so nothing is copied); CuPy: cuSOLVER ``getrf`` and
    the same estimator on the device (:func:`lacn2_cond1`). ``overwrite=True``
    lets the factors overwrite ``A``.

    >>> f = lu_factor_cond(np.array([[2.0, 0.0], [0.0, 0.5]]))
    >>> f.solve(np.array([1.0, 1.0])).tolist(), round(f.cond, 12)
    ([0.5, 2.0], 4.0)
    """
    xp = xp_of(A)
    norm, of_t = "1", False
    if xp is np:
        A = np.asarray(A)
        if A.flags.c_contiguous and not A.flags.f_contiguous:
            # LAPACK wants column-major: factor the free transposed view A^T instead of
            # copying A (kappa_1(A) = kappa_inf(A^T)).
            A, of_t, norm = A.T, True, "I"
        # ||A||_1 of the original matrix (= ||A^T||_inf of the view): LAPACK lange, no |A| temporary
        (lange,) = scipy.linalg.get_lapack_funcs(("lange",), (A,))
        anorm = float(lange(norm, A))
        with warnings.catch_warnings():
            # An exactly singular A is reported by the returned inf, not by a warning.
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            lu, piv = scipy.linalg.lu_factor(A, overwrite_a=overwrite, check_finite=False)
    else:  # pragma: no cover - needs a GPU
        import cupyx.scipy.linalg as cpl

        anorm = float(to_numpy(col_abs_sums(A).max()))  # ||A||_1, without a |A| temporary
        lu, piv = cpl.lu_factor(A, overwrite_a=overwrite, check_finite=False)
    # on CuPy the estimate runs on the device: no copy of the factors
    return LUFactors(lu, piv, of_t, cond_from_lu(lu, anorm, norm))


def lu_solve_cond(A, B, *, trans: bool = False, overwrite: bool = False):
    """Solve ``A X = B`` (or ``A^T X = B``) by LU with partial pivoting; return ``(X, cond1_est)``.

    ``cond1_est`` is LAPACK ``gecon``'s estimate of ``kappa_1(A) = ||A||_1 ||A^{-1}||_1``
    (exact to within a small factor, O(n^2) from the factors); ``inf`` when a
    pivot is exactly 0. :func:`lu_factor_cond` keeps the factors for more
    right-hand sides.

    >>> X, c = lu_solve_cond(np.array([[2.0, 0.0], [0.0, 0.5]]), np.array([1.0, 1.0]))
    >>> X.tolist(), round(c, 12)
    ([0.5, 2.0], 4.0)

    With ``overwrite=True`` the factors may overwrite ``A`` (saves one copy).
    """
    f = lu_factor_cond(A, overwrite=overwrite)
    return f.solve(B, trans=trans), f.cond


# Adding then subtracting 1.5 * 2^52 rounds a float64 of magnitude below 2^51 to the nearest integer
# (the sum's unit in the last place is 1): the splitting below needs no rint/ldexp on the device.
_ROUND = 1.5 * 2.0**52


def split_bits(A, axis: int, bits: int):
    """``A = (hi + lo) / scale`` with ``hi`` integer-valued, ``|hi| <= 2^bits``, and ``scale`` a power of 2 per
    row (``axis=1``) or column (``axis=0``); all three exact (no rounding: powers of 2 and Sterbenz).

    >>> hi, lo, sc = split_bits(np.array([[3.0, 1.0 / 3.0]]), axis=1, bits=4)
    >>> hi.tolist(), bool(np.all((hi + lo) / sc == np.array([[3.0, 1.0 / 3.0]])))
    ([[12.0, 1.0]], True)
    """
    xp = xp_of(A)
    # max |A| along the axis from two reductions, without an |A| temporary
    amax = np.maximum(to_numpy(A.max(axis=axis, keepdims=True)), -to_numpy(A.min(axis=axis, keepdims=True)))
    _, e = np.frexp(amax)  # amax < 2^e
    scale = np.ldexp(1.0, bits - e)
    scale[amax == 0] = 1.0
    sc = xp.asarray(scale)
    As = A * sc  # exact: a power of 2 (no underflow for the magnitudes met here)
    hi = As + _ROUND
    hi -= _ROUND  # nearest integer, |hi| <= 2^bits <= 2^51
    As -= hi  # the exact remainder, in place
    return hi, As, sc


def residual_extended(B, X, M):
    """``B - X M`` with the product carried to about ``2^-bits`` of float64's rounding (Ozaki-style splitting).

    ``X`` ``(r, K)`` and ``M`` ``(K, b)`` are split into a high part with
    ``bits = floor((53 - ceil(log2(K + 1))) / 2)`` significant bits (relative
    to each row of ``X`` and each column of ``M``) and an exact remainder. The
    high-by-high product is a sum of ``K`` integers below ``2^(2 bits)``, all
    below ``2^53``: every BLAS partial sum is exact, in any order, with or
    without FMA. The three other products are ``2^-bits`` smaller and
    rounded as usual. So the residual is accurate to about
    ``u (|B| + 2^-bits K |X| |M|)`` instead of ``u K |X| |M|``: what
    iterative refinement needs to improve on a float64 solve (the residual
    "in higher precision"). Runs on NumPy and CuPy alike (arithmetic and
    ``matmul`` only); ``B`` ``(r, b)``.
    """
    xp = xp_of(M)
    K = X.shape[1]
    bits = (53 - int(math.ceil(math.log2(K + 1)))) // 2
    xh, xl, sx = split_bits(X, axis=1, bits=bits)
    mh, ml, sm = split_bits(M, axis=0, bits=bits)
    den = sx * sm  # (r, 1) * (1, b): powers of 2, exact
    exact = xp.matmul(xh, mh) / den  # every partial sum exact; the division by a power of 2 too
    small = (xp.matmul(xh, ml) + xp.matmul(xl, mh) + xp.matmul(xl, ml)) / den
    return (B - exact) - small


COL_BLOCK = 256  # columns per block of the blocked reductions below (no full-size temporary)


def col_abs_sums(A):
    """Column sums of ``|A|`` (``||A||_1`` is their max), in blocks of ``COL_BLOCK`` columns: no ``|A|`` temporary
    (which for a 20 GB device matrix would not fit beside it)."""
    xp = xp_of(A)
    out = xp.empty(A.shape[1])
    for lo in range(0, A.shape[1], COL_BLOCK):
        out[lo:lo + COL_BLOCK] = xp.abs(A[:, lo:lo + COL_BLOCK]).sum(axis=0)
    return out


def row_norms(A):
    """Euclidean norms of the rows of ``A``: one ``einsum`` on NumPy (no temporary); on CuPy, whose
    ``einsum`` forms ``A * A``, accumulated over blocks of ``COL_BLOCK`` columns."""
    xp = xp_of(A)
    if xp is np:
        return np.sqrt(np.einsum("ij,ij->i", A, A))
    acc = xp.zeros(A.shape[0])
    for lo in range(0, A.shape[1], COL_BLOCK):
        blk = A[:, lo:lo + COL_BLOCK]
        acc += (blk * blk).sum(axis=1)
    return xp.sqrt(acc)


def cond_from_lu(lu, anorm: float, norm: str = "1") -> float:
    """LAPACK ``gecon`` estimate of ``kappa(A) = ||A|| ||A^{-1}||`` from the packed ``getrf`` factors ``lu`` of ``A``
    and ``anorm = ||A||`` (``norm`` ``"1"`` or ``"I"``); ``inf`` when a pivot is exactly 0 or ``rcond`` underflows.

    On a CuPy array the same estimator runs on the device (:func:`lacn2_cond1`), so
    the factors never travel to the host."""
    xp = xp_of(lu)
    if bool(to_numpy(xp.any(xp.asarray(lu).diagonal() == 0))):
        return float("inf")
    if xp is not np:
        return lacn2_cond1(lu, anorm, norm)
    lu = np.asarray(lu)
    (gecon,) = scipy.linalg.get_lapack_funcs(("gecon",), (lu,))
    rcond, _ = gecon(lu, anorm, norm=norm)
    return float("inf") if rcond == 0 else 1.0 / float(rcond)


LACN2_ITMAX = 5  # LAPACK dlacn2's ITMAX


def lacn2_cond1(lu, anorm: float, norm: str = "1") -> float:
    """``anorm * est(||A^{-1}||)``: Higham's estimator as LAPACK ``dlacn2`` runs it inside ``dgecon``.

    ``lu`` holds the packed factors ``P A = L U`` (``getrf``); like ``gecon`` the
    estimator multiplies by ``(LU)^{-1}`` (norm ``"1"``) or ``(LU)^{-T}``
    (``"I"``) without the row permutation, which leaves the column sums, hence
    ``||A^{-1}||_1``, unchanged. Written for any array module (the device branch
    of :func:`cond_from_lu`); on NumPy it agrees with ``gecon`` to rounding
    (tests/test_backend.py), except that ``gecon``'s overflow-guarding
    ``dlatrs`` scaling is not reproduced: an estimate that overflows returns ``inf``.
    Higham, ACM TOMS 14 (1988), Algorithm 4.1.
    """
    xp = xp_of(lu)
    if xp is np:
        solve_triangular = scipy.linalg.solve_triangular
    else:  # pragma: no cover - needs a GPU
        from cupyx.scipy.linalg import solve_triangular
    n = lu.shape[0]

    def inv(x, transposed: bool):  # (LU)^{-1} x  or  (LU)^{-T} x = L^{-T} U^{-T} x
        if not transposed:
            y = solve_triangular(lu, x, lower=True, unit_diagonal=True, check_finite=False)
            return solve_triangular(lu, y, lower=False, check_finite=False)
        y = solve_triangular(lu, x, trans=1, lower=False, check_finite=False)
        return solve_triangular(lu, y, trans=1, lower=True, unit_diagonal=True, check_finite=False)

    kase1 = norm == "I"  # the "kase 1" product: A^{-1} for the 1-norm, A^{-T} for the inf-norm

    def asum(x) -> float:
        return float(to_numpy(xp.abs(x).sum()))

    def sign(x):
        return xp.where(x >= 0, 1.0, -1.0)

    x = inv(xp.full(n, 1.0 / n), kase1)
    est = asum(x)
    if n > 1:
        xi = sign(x)
        x = inv(xi, not kase1)
        j = int(to_numpy(xp.argmax(xp.abs(x))))
        it = 2
        while True:
            e = xp.zeros(n)
            e[j] = 1.0
            x = inv(e, kase1)
            estold, est = est, asum(x)
            s = sign(x)
            if bool(to_numpy((s == xi).all())) or est <= estold:
                break  # repeated sign vector (converged) or no increase (cycling)
            xi = s
            x = inv(xi, not kase1)
            jlast, j = j, int(to_numpy(xp.argmax(xp.abs(x))))
            if not (float(to_numpy(x[jlast])) != float(to_numpy(xp.abs(x[j]))) and it < LACN2_ITMAX):
                break
            it += 1
        alt = (1.0 + xp.arange(n) / (n - 1)) * xp.where(xp.arange(n) % 2 == 0, 1.0, -1.0)
        temp = 2.0 * asum(inv(alt, kase1)) / (3 * n)
        est = max(est, temp)
    if anorm == 0 or not math.isfinite(est):
        return float("inf")
    return float(anorm * est)


def cond1_triangular(R) -> float:
    """LAPACK ``trcon`` estimate of ``kappa_1(R)`` for an upper-triangular ``R``."""
    R = to_numpy(R)
    (trcon,) = scipy.linalg.get_lapack_funcs(("trcon",), (R,))
    rcond, info = trcon(R, norm="1", uplo="U", diag="N")
    return float("inf") if rcond == 0 else 1.0 / float(rcond)
