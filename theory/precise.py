"""Extended-precision (mpmath) twins of the float64 theory, for confirming counterexamples.

The claims ledger reports a claim as ``fails`` only after the violating
instance has been re-evaluated here: both sides of the claim recomputed from
the same instance (the float64 ``prior (T,)`` and ``cond (T, N)`` arrays and
the claim's parameters) in ``dps``-digit arithmetic (default 50), and the
inequality decided there (:func:`decide_mp`). Each function is the ``dps``-digit
version of a float64 function of ``theory.divergence``, ``theory.spectra``,
``theory.lowrank``, ``theory.bounds``, ``theory.lookup`` or ``theory.exact``; its
name ends in ``_mp``.

One formula, two precisions: where the float64 formula is a kernel written against
an array namespace ``xp`` (``theory.divergence``: log-softmax, entropy, ``exp3``,
the Taylor quantities; ``theory.spectra``: the centred ``L`` and ``sigma_j``;
``theory.bounds``: every almost-rank-d bound; ``theory.lookup``: every look-up
bound), the function here runs THAT kernel on NumPy object arrays of ``mpf``
(:data:`MP`, :class:`MPNamespace`): only the conversion of the inputs, the
validation and the return types are written here. What is still written here on
its own, and why: the divergence in its cancellation-free form (:func:`_kl_row`:
``KL ~ 1e-40`` keeps its digits, where ``sum pi (log pi - log softmax f)`` would lose
them all; the float64 kernel keeps the cheap form of the optimiser's inner loop);
the fits (:func:`f_ls_mp`, the ``draft.lemma-wls`` encoder, the alternating fit),
whose refusals are this module's resolution rules (:class:`NotUnique`) rather
than float64's condition limits; the root of the ``lambda`` equation (safeguarded
Newton to full precision, where float64 uses ``brentq``); exact Gram matrices of
JL draws; ``draft.cor-permutation`` and ``paper.prop3``'s closed forms.

Conventions
-----------
- Inputs are float64 arrays (or, for logits and maps, ``mpmath.matrix``),
  validated by the float64 checks (same ``ValueError`` messages) and
  converted EXACTLY: ``mpmath.mpf(float)`` is exact.
- ``cond`` rows and the prior are validated to sum to 1 only within
  ``SUM_RTOL`` (float64 rounding). Here each is divided by its exact sum, so
  the instance IS a distribution and the identities the formulas rest on
  (``KL >= 0``, ``q_t = 1 - pi(g|t) = sum_{o != g} pi_o``, ``E_pi fbar = 0``)
  hold to ``10^-dps``. This moves an entry by at most ``|1 - row sum|``
  relative (~1e-16 for the generators' rows), far below every ledger tolerance.
- Everything runs under ``mpmath.workdps(dps)``. Scalars come back as
  ``mpmath.mpf``, per-row values as ``(T, 1)`` and matrices as
  ``mpmath.matrix``; :func:`to_float` turns either into float64. The
  numbers carry ``dps`` digits, but arithmetic on them outside a
  ``workdps(dps)`` block rounds to mpmath's global precision (15 digits by
  default): compare them inside one, or with :func:`decide_mp`.
- No overflow: where the float64 code returns ``+inf`` for a value above
  float max (``exp3`` beyond 709.78, ``(hi/lo)^{3/2}``), the exact value is
  returned. Vacuous look-up bounds (``C >= 1/2``) stay ``mpmath.inf``, the
  float64 convention.
- Resolution: a result must be good to :func:`resolution` ``= 10^{-dps/2}``
  relative (half the working digits). Where the map is not determined to
  that accuracy, :class:`NotUnique` (a ``ValueError``) is raised with the
  reason instead of an arbitrary answer: a truncated SVD whose cut has
  ``sigma_k - sigma_{k+1} <= 10^{-dps/2} sigma_1`` (the singular subspace's
  error is ``10^-dps sigma_1 / gap``), a numerical-rank decision (the float64
  rule ``sigma_j > RANK_RTOL sigma_1``, mirrored) within ``10^{-dps/2} sigma_1``
  of its threshold, a ``d x d`` system of condition number above
  ``10^{dps/2}`` (a solve loses ``log10(cond)`` digits), a dependent column
  in a Gram-Schmidt step.
- Assumption 2: every function of ``L = log Pi`` (the Taylor quantities,
  the spectra, the fits, the bounds) needs full support, as its float64 twin
  does, and refuses a zero of ``cond`` with the same ``ValueError`` (naming
  ``cond`` and Assumption 2).
- The float64 code's guards against ill-conditioning (``WLS_COND_MAX``,
  ``ONES_IN_IMAGE_TOL``) are float64 limits, not part of the maps: here a
  system is refused only when it is singular at ``dps`` digits.
- Cost: pure-Python mpmath, ~1e4 times numpy. At T, N <= 8, d <= 6 every
  function takes well under a second, except ``f_wls_alternating_mp`` with
  the ledger's 50 sweeps (~1-3 s on one core).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
from mpmath.libmp import mpf_mul, mpf_sum, to_float as mpf_to_float

from .bounds import (
    INF_READINGS,
    KERNEL_KIND,
    almost_rank_kernel,
    bound,
    check_bound_input,
    draft_rows_kernel,
)
from .divergence import (
    entropy_kernel,
    exp3_kernel,
    expect,
    fbar_kernel,
    log_softmax_unchecked,
    taylor_identity_rows,
    taylor_proxy_rows,
    taylor_remainder_rows,
)
from .exact import H_READINGS
from .lookup import (
    ENTROPY_RTOL,
    LOOKUP_FORM,
    PAPER_CONSTANTS,
    lookup_bound_kernel,
    lookup_terms_kernel,
    psi_kernel,
)
from .lowrank import ALT_SWEEPS, ALT_TOL, FITS, RANK_RTOL, WLS_READINGS, AlternatingReport, check_fit
from .lowrank import centring_noise, objective_floor
from .spectra import SIGMA_READINGS, centred_kernel, sigma_kernel
from .validate import (
    check_array,
    check_int,
    check_positive,
    check_prior_cond,
    check_rows_stochastic,
)

__all__ = [
    "DPS",
    "NotUnique",
    "resolution",
    "to_float",
    "decide_mp",
    "exact_instance",
    # divergence
    "log_softmax_mp",
    "kl_rows_mp",
    "kl_mp",
    "entropy_mp",
    "exp3_mp",
    "fbar_mp",
    "taylor_proxy_mp",
    "taylor_remainder_bound_mp",
    "taylor_identity_rhs_mp",
    # spectra
    "centred_logits_mp",
    "singular_values_mp",
    "sigma_mp",
    # low-rank maps
    "LowRankMP",
    "f_ls_mp",
    "wls_encoder_mp",
    "wls_projection_mp",
    "row_var_mp",
    "f_wls_mp",
    "weighted_residual_mp",
    "f_wls_alternating_mp",
    "min_divergence_mp",
    "fitted_divergence_mp",
    "FITS_MP",
    # bounds
    "sigma_d1_mp",
    "seed_ls_bound_mp",
    "seed_wls_bound_mp",
    "draft_ls_bound_rows_mp",
    "draft_wls_bound_rows_mp",
    "draft_ls_bound_mp",
    "draft_wls_bound_mp",
    "draft_min_bound_mp",
    "bound_mp",
    # look-up
    "lookup_C_mp",
    "jl_certificate_mp",
    "lookup_gaps_mp",
    "lookup_lambda_mp",
    "lookup_lambda_bound_mp",
    "lookup_psi_mp",
    "lookup_terms_mp",
    "lookup_kl_rows_mp",
    "lookup_divergence_mp",
    "seed_lookup_bound_mp",
    "draft_lookup_bound_rows_mp",
    "draft_lookup_bound_mp",
    "tight_lookup_bound_mp",
    "paper_theorem2_bound_mp",
    "paper_theorem2_simplified_mp",
    "paper_theorem2_simplified_q_mp",
    # exact
    "permutation_closed_forms_mp",
    "prop3_logits_mp",
    "prop3_divergence_mp",
    "prop3_divergence_rate_mp",
]

#: Default working precision, decimal digits.
DPS = 50

# The float64 prescreen of a d x d condition number: when float64 (on the
# mp matrix scaled to max entry 1) says cond <= this, the true condition is
# <= this * (1 + 1e-7) (Weyl: float64 rounding and the SVD's backward error
# move the eigenvalues by ~1e-15 of the largest), far below 10^{dps/2} for
# any dps >= 20; only above it is the (slow) mp eigen-decomposition needed.
_PRESCREEN_COND = 1e8


class NotUnique(ValueError):
    """The map asked for is not determined at the working precision (the message says why).

    Raised instead of an arbitrary answer: ties at the cut of a truncated
    SVD, a rank decision at its threshold, a singular ``d x d`` system, a
    dependent Gram-Schmidt column (module docstring, "Resolution").
    """


def resolution(dps: int = DPS):
    """``10^{-floor(dps/2)}``: the relative accuracy every result of this module is good to.

    >>> mpmath.nstr(resolution(50), 3)
    '1.0e-25'
    """
    dps = check_int("dps", dps, minimum=10)
    with mpmath.workdps(dps):
        return mpmath.mpf(10) ** (-(dps // 2))


def _tau(dps):
    return mpmath.mpf(10) ** (-(dps // 2))


# --------------------------------------------------------------------------- conversion


def _number(name, x):
    """``x`` itself when it is a real number (mpf, int, float, NumPy real scalar); otherwise a
    ``ValueError`` naming ``name`` (a string, ``None``, a bool, a complex number is not one)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (mpmath.mpf, int, float, np.integer, np.floating)):
        raise ValueError(f"`{name}` must be a real number (got {type(x).__name__}: {x!r})")
    return x


def _mp(x):
    """An exact mpmath number from an mpf, an int or a float (a float64 converts exactly)."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return mpmath.mpf(int(x))
    return mpmath.mpf(float(x))


def _rows_of(name, X, *, shape=None, finite=True):
    """``X`` (float64 array-like or ``mpmath.matrix``) as a list of rows of exact mpf."""
    if isinstance(X, mpmath.matrix):
        rows = [[X[i, j] for j in range(X.cols)] for i in range(X.rows)]
        if finite and any(not mpmath.isfinite(v) for r in rows for v in r):
            raise ValueError(f"`{name}` contains NaN or inf")
        sh = (X.rows, X.cols)
    else:
        a = check_array(name, X, ndim=2, finite=finite)
        rows = [[mpmath.mpf(float(v)) for v in r] for r in a]
        sh = a.shape
    if shape is not None and tuple(sh) != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)} (got {tuple(sh)})")
    return rows


def _matrix(rows):
    return mpmath.matrix(rows) if rows and rows[0] else mpmath.matrix(len(rows), 0)


def _column(vals):
    m = mpmath.matrix(len(vals), 1)
    for i, v in enumerate(vals):
        m[i, 0] = v
    return m


def _normalise(vals):
    s = mpmath.fsum(vals)
    return vals if s == 1 else [v / s for v in vals]


def _cond_rows(cond):
    """Validated float64 ``cond`` and its rows, exact, each divided by its exact sum."""
    P = check_rows_stochastic("cond", cond)
    return P, [_normalise([mpmath.mpf(float(v)) for v in r]) for r in P]


def _instance(prior, cond):
    """``(p, P, Pf)``: prior and rows as exact, exactly normalised mpf lists; ``Pf`` the float64 cond."""
    pf, Pf = check_prior_cond(prior, cond)
    p = _normalise([mpmath.mpf(float(v)) for v in pf])
    P = [_normalise([mpmath.mpf(float(v)) for v in r]) for r in Pf]
    return p, P, Pf


def exact_instance(prior, cond, *, dps: int = DPS):
    """The instance every function here evaluates: ``(p (T, 1), Pi (T, N))`` in mpmath.

    The float64 arrays converted exactly, then the prior and each row of
    ``cond`` divided by their sums at ``dps`` digits (module docstring).

    >>> p, P = exact_instance([0.5, 0.5], [[0.5, 0.5], [0.25, 0.75]])
    >>> P[1, 1] == mpmath.mpf(0.75)
    True
    """
    with mpmath.workdps(dps):
        p, P, _ = _instance(prior, cond)
        return _column(p), _matrix(P)


def to_float(x):
    """An mpmath number, matrix or list of numbers as float64 (a ``(T, 1)`` matrix becomes a 1-d array).

    Rounding to nearest; values beyond float64's range become ``inf`` / ``0``.
    A NumPy array (float64, or an object array of mpf) keeps its shape. NaN
    is refused (``ValueError`` naming ``x``): no function of this module returns it.
    """
    if isinstance(x, mpmath.matrix):
        a = np.array([[float(x[i, j]) for j in range(x.cols)] for i in range(x.rows)], dtype=np.float64)
        out = a[:, 0] if x.cols == 1 else a
    elif isinstance(x, (list, tuple)):
        out = np.array([float(_number("x", v)) for v in x], dtype=np.float64)
    elif isinstance(x, np.ndarray):
        out = np.array([float(_number("x", v)) for v in x.ravel()], dtype=np.float64).reshape(x.shape)
    else:
        out = float(_number("x", x))
    if np.isnan(out).any():
        raise ValueError("`x` contains NaN (no function of aotmem.theory.precise returns NaN)")
    return out


def _check_L(P):
    """``L = log Pi`` rows; Assumption 2 (full support) required, message as ``theory.spectra.log_probs``."""
    for r, row in enumerate(P):
        for c, v in enumerate(row):
            if v <= 0:
                raise ValueError(f"`cond` violates Assumption 2 (full support): pi({c}|t={r}) = 0, so log Pi is -inf")
    return [[mpmath.log(v) for v in row] for row in P]


def _argmax(row):
    """Index of the first maximal entry (``np.argmax``'s tie rule)."""
    best = 0
    for i in range(1, len(row)):
        if row[i] > row[best]:
            best = i
    return best


def _dot(a, b):
    """``sum_k a_k b_k``: exact products, one rounding at the end (what ``mpmath.fdot`` does, without
    its per-element type dispatch: this is the inner loop of every fit)."""
    try:
        prec, rnd = mpmath.mp._prec_rounding
        return mpmath.mp.make_mpf(mpf_sum([mpf_mul(x._mpf_, y._mpf_) for x, y in zip(a, b)], prec, rnd))
    except AttributeError:  # a non-mpf element: the generic path
        return mpmath.fdot(a, b)


# --------------------------------------------------------------------------- the mp array namespace


def _mp_sum(x, axis=None, keepdims=False):
    """``mpmath.fsum`` along ``axis`` (one rounding per sum, as the scalar mp code did), NumPy's signature."""
    x = np.asarray(x, dtype=object)
    if axis is None:
        out = np.asarray(mpmath.fsum(x.ravel()), dtype=object)
        return out.reshape((1,) * x.ndim) if keepdims else out[()]
    out = np.empty(np.delete(x.shape, axis), dtype=object)
    moved = np.moveaxis(x, axis, -1)
    for i in np.ndindex(out.shape):
        out[i] = mpmath.fsum(moved[i])
    return np.expand_dims(out, axis) if keepdims else out[()] if out.ndim == 0 else out


def _mp_mean(x, axis=None, keepdims=False):
    n = np.asarray(x).size if axis is None else np.shape(x)[axis]
    return _mp_sum(x, axis, keepdims) / n


def _mp_matmul(a, b):
    """``a @ b`` with each entry an ``mpmath.fsum`` of its products."""
    return _mp_sum(np.asarray(a, dtype=object)[..., :, :, None] * np.asarray(b, dtype=object)[..., None, :, :], axis=-2)


def _mp_norm(x, axis=-1):
    return _SQRT(_mp_sum(x * x, axis=axis))


def _mp_svd(A, compute_uv=False):
    """Singular values, descending, of each ``(m, n)`` matrix of a stack (mpmath's ``svd_r`` per matrix)."""
    out = np.empty(A.shape[:-2] + (min(A.shape[-2:]),), dtype=object)
    for i in np.ndindex(A.shape[:-2]):
        out[i] = _svals([list(r) for r in A[i]])
    return out


def _mp_asarray(x):
    """``x`` as an object array of mpf (exact from a float or an int)."""
    a = np.asarray(x, dtype=object)
    out = np.empty(a.shape, dtype=object)
    out[...] = _MPF(a)
    return out


def _mp_isfinite(x):
    return np.asarray(_ISFINITE(x), dtype=bool)


class _MPLinalg:
    """The ``linalg`` of :data:`MP`: what the kernels call (``norm`` along an axis, stacked singular values)."""

    norm = staticmethod(_mp_norm)
    svd = staticmethod(_mp_svd)


_SQRT = np.frompyfunc(mpmath.sqrt, 1, 1)
_ISFINITE = np.frompyfunc(mpmath.isfinite, 1, 1)
_MPF = np.frompyfunc(lambda v: v if isinstance(v, mpmath.mpf) else mpmath.mpf(v), 1, 1)


class MPNamespace:
    """NumPy for object arrays of ``mpmath.mpf``: the kernels' ``xp`` at ``dps`` digits.

    Elementwise arithmetic, reductions, ``where`` and indexing are NumPy's own on object arrays; only
    the transcendental functions are wrapped (``np.frompyfunc`` of mpmath's). ``EXP_OVERFLOW`` is
    ``inf`` (no overflow) and ``EXP3_TERMS`` follows the working digits. Use under ``mpmath.workdps``.
    """

    exp = staticmethod(np.frompyfunc(mpmath.exp, 1, 1))
    log = staticmethod(np.frompyfunc(mpmath.log, 1, 1))
    log1p = staticmethod(np.frompyfunc(mpmath.log1p, 1, 1))
    expm1 = staticmethod(np.frompyfunc(mpmath.expm1, 1, 1))
    sqrt = staticmethod(_SQRT)
    isfinite = staticmethod(_mp_isfinite)
    asarray = staticmethod(_mp_asarray)
    sum = staticmethod(_mp_sum)
    mean = staticmethod(_mp_mean)
    matmul = staticmethod(_mp_matmul)
    linalg = _MPLinalg
    EXP_OVERFLOW = mpmath.inf

    @property
    def EXP3_TERMS(self) -> int:  # 0.1^k / k! below 10^-(dps+3) of the leading term
        return mpmath.mp.dps + 4

    def __getattr__(self, name):
        return getattr(np, name)


#: The array namespace of this module's kernels (:class:`MPNamespace`).
MP = MPNamespace()


def _obj(rows):
    """A list of (lists of) mpf, or an ``mpmath.matrix``, as a NumPy object array."""
    if isinstance(rows, mpmath.matrix):
        rows = [[rows[i, j] for j in range(rows.cols)] for i in range(rows.rows)]
    a = np.empty((len(rows), len(rows[0])) if rows and isinstance(rows[0], list) else (len(rows),), dtype=object)
    a[...] = rows
    return a


def _mat(a):
    """A 2-d object array as an ``mpmath.matrix``."""
    return _matrix([list(r) for r in a])


# --------------------------------------------------------------------------- decision


def decide_mp(lhs, rhs, sense: str, *, dps: int = DPS, atol=0) -> str:
    """Decide ``lhs <sense> rhs`` at ``dps`` digits: ``"holds"``, ``"violated"`` or ``"unresolved"``.

    The two sides are known to ``res = 10^{-dps/2} max(|lhs|, |rhs|) + atol``
    (module docstring, "Resolution"). For ``<=`` (``>=``): violated when
    ``lhs - rhs > res`` (``rhs - lhs > res``), holds when it is ``< -res``,
    unresolved in between. For the strict ``>``: holds when
    ``lhs - rhs > res``, violated when ``< -res``. For ``==``: holds when
    ``|lhs - rhs| <= res``, violated otherwise. A counterexample is confirmed
    only by ``"violated"``.

    >>> decide_mp(mpmath.mpf(2), mpmath.mpf(1), "<=")
    'violated'
    >>> decide_mp(mpmath.mpf(1), mpmath.mpf(1) + mpmath.mpf(10) ** -40, "<=")
    'unresolved'
    """
    if sense not in ("<=", ">=", ">", "=="):
        raise ValueError(f"`sense` must be one of ('<=', '>=', '>', '==') (got {sense!r})")
    dps = check_int("dps", dps, minimum=10)
    with mpmath.workdps(dps):
        a, b = _mp(lhs), _mp(rhs)
        if mpmath.isnan(a) or mpmath.isnan(b):
            raise ValueError(f"`lhs`/`rhs` must not be NaN (got {a}, {b})")
        if mpmath.isinf(a) or mpmath.isinf(b):  # exact comparison (e.g. a vacuous bound, inf)
            ok = {"<=": a <= b, ">=": a >= b, ">": a > b, "==": a == b}[sense]
            return "holds" if ok else "violated"
        diff = a - b
        res = _tau(dps) * max(abs(a), abs(b)) + _mp(atol)
        if sense == "==":
            return "holds" if abs(diff) <= res else "violated"
        if sense == ">=":
            diff = -diff
        elif sense == ">":
            return "holds" if diff > res else ("violated" if diff < -res else "unresolved")
        return "violated" if diff > res else ("holds" if diff < -res else "unresolved")


# --------------------------------------------------------------------------- divergence


def _exp3(x):
    """``e^x - 1 - x - x^2/2`` of an mpf (current context): :func:`theory.divergence.exp3_kernel` on :data:`MP`."""
    return exp3_kernel(x, MP)


def _exp2(x):
    """``e^x - 1 - x >= 0`` to full relative precision."""
    return x * x / 2 + _exp3(x)


def exp3_mp(x, *, dps: int = DPS):
    """``exp3(x) = e^x - 1 - x - x^2/2`` (docs/theory.md#notation), every digit right.

    :func:`theory.divergence.exp3_kernel` on :data:`MP`: ``|x| < 0.1`` the series
    ``sum_{k>=3} x^k/k!`` (no cancellation); otherwise the difference (at most
    4 digits lost). No overflow: ``exp3(1000)`` is its exact value (float64: ``inf``).
    A scalar gives an ``mpf``, an array a ``(n, 1)`` matrix.

    References
    ----------
    docs/theory.md#notation (``exp3``); :func:`theory.divergence.exp3_kernel`.

    >>> exp3_mp(1e-8) > 0
    True
    """
    with mpmath.workdps(dps):
        if np.ndim(x) == 0 and not isinstance(x, mpmath.matrix):
            v = _mp(_number("x", x.item() if isinstance(x, np.ndarray) else x))
            if not mpmath.isfinite(v):
                raise ValueError(f"`x` must be finite (got {x!r})")
            return _exp3(v)
        a = check_array("x", x).ravel()
        return _column(list(exp3_kernel(_obj([mpmath.mpf(float(v)) for v in a]), MP)))


def log_softmax_mp(F, *, dps: int = DPS):
    """Row-wise ``log softmax(F) = F - logsumexp(F)`` (stable: the row max is subtracted).

    Twin of :func:`theory.divergence.log_softmax`: ``F`` may hold ``-inf``
    (probability 0), no NaN or ``+inf``, and each row needs a finite entry.
    No underflow: ``[0, -800]`` gives ``[-e^{-800}, ...]`` (float64: ``0.0``).
    Returns a ``(T, N)`` matrix.

    References
    ----------
    docs/theory.md#notation ("Divergence"); :func:`theory.divergence.log_softmax_unchecked`.
    """
    with mpmath.workdps(dps):
        if isinstance(F, mpmath.matrix):
            rows = _rows_of("F", F, finite=False)
            if any(mpmath.isnan(v) or v == mpmath.inf for r in rows for v in r):
                raise ValueError("`F` contains NaN or +inf")
        else:
            a = check_array("F", F, finite=False)
            if a.ndim != 2 or a.shape[-1] == 0:
                raise ValueError(f"`F` must be a (T, N) matrix with N >= 1 (got shape {a.shape})")
            if np.isnan(a).any() or (a == np.inf).any():
                raise ValueError(f"`F` contains {'NaN' if np.isnan(a).any() else '+inf'}")
            rows = [[mpmath.mpf(float(v)) for v in r] for r in a]
        if not all(any(v != -mpmath.inf for v in r) for r in rows):
            raise ValueError("`F` has a row with no finite entry (all -inf)")
        return _mat(log_softmax_unchecked(_obj(rows), MP))


def _kl_row(pi, f):
    """``KL(pi || softmax f)`` of one row, cancellation-free, ``>= 0`` (``pi`` sums to 1).

    With ``delta_o = f_o - log pi_o`` on the support and ``dbar`` it centred by
    its ``pi``-mean, ``e^{f_o} = pi_o e^{delta_o}`` gives (docs/theory.md#d2's
    identity, plus the mass ``f`` puts off the support):

        KL = log E_pi e^{dbar} + log(1 + R) = log1p(E_pi[e^{dbar} - 1 - dbar]) + log1p(R),
        R = sum_{pi_o = 0} e^{f_o} / sum_{pi_o > 0} e^{f_o},

    two sums of non-negative terms: no cancellation even when KL ~ 1e-40,
    where ``sum pi (log pi - log softmax f)`` would lose every digit.
    """
    supp = [o for o, v in enumerate(pi) if v > 0]
    off = [o for o, v in enumerate(pi) if v == 0]
    if any(f[o] == -mpmath.inf for o in supp):
        return mpmath.inf
    delta = [f[o] - mpmath.log(pi[o]) for o in supp]
    w = [pi[o] for o in supp]
    mean = _dot(w, delta)
    A = _dot(w, [_exp2(x - mean) for x in delta])
    kl = mpmath.log1p(A)
    offf = [f[o] for o in off if f[o] != -mpmath.inf]
    if offf:
        m = max(f[o] for o in supp)
        R = mpmath.fsum(mpmath.exp(v - m) for v in offf) / mpmath.fsum(mpmath.exp(f[o] - m) for o in supp)
        kl += mpmath.log1p(R)
    return kl


def _kl_rows(P, Frows):
    return [_kl_row(pi, f) for pi, f in zip(P, Frows)]


def kl_rows_mp(cond, F, *, dps: int = DPS):
    """Per-sequence ``KL(pi_t || softmax f(t))``, ``(T, 1)`` (all claims: docs/theory.md#divergence).

    Twin of :func:`theory.divergence.kl_rows`: ``sum_o pi(o|t) [log pi(o|t) -
    log softmax(f(t))_o]``, ``0 log 0 = 0``, computed in the cancellation-free
    form of :func:`_kl_row` (every value ``>= 0`` and exact to ``dps`` digits,
    even when float64 rounds it to a tiny negative number). ``F``: float64
    ``(T, N)`` (finite) or an ``mpmath.matrix`` (e.g. ``LowRankMP.F``).

    References
    ----------
    docs/theory.md#notation ("Divergence"); all claims.
    """
    with mpmath.workdps(dps):
        Pf, P = _cond_rows(cond)
        Fr = _rows_of("F", F, shape=Pf.shape)
        return _column(_kl_rows(P, Fr))


def kl_mp(prior, cond, F, *, dps: int = DPS):
    """``dKL(pi, f) = sum_t p(t) KL(pi_t || softmax f(t))`` (docs/theory.md#divergence), an ``mpf``.

    Twin of :func:`theory.divergence.kl`; rows as :func:`kl_rows_mp`.

    References
    ----------
    docs/theory.md#notation ("Divergence"); all claims.

    >>> P = np.array([[0.25, 0.75]])
    >>> v = kl_mp([1.0], P, np.zeros((1, 2)))
    >>> with mpmath.workdps(50):
    ...     bool(abs(v - (mpmath.mpf(0.25) * mpmath.log(0.5) + mpmath.mpf(0.75) * mpmath.log(1.5))) < 1e-49)
    True
    """
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        Fr = _rows_of("F", F, shape=Pf.shape)
        return _dot(p, _kl_rows(P, Fr))


def _entropy_row(pi):
    return entropy_kernel(_obj(list(pi)), MP)


def entropy_mp(cond, *, dps: int = DPS):
    """Shannon entropy ``h(pi_t) = -sum_o pi log pi >= 0`` per row, ``(T, 1)`` (docs/theory.md#entropy-sign).

    Twin of :func:`theory.divergence.entropy` (the sources' ``H`` is ``-h``).

    References
    ----------
    docs/theory.md#entropy-sign; :func:`theory.divergence.entropy_kernel`.
    """
    with mpmath.workdps(dps):
        _, P = _cond_rows(cond)
        return _column(list(entropy_kernel(_obj(P), MP)))


def _taylor_setup(prior, cond, F):
    """``(p, Pi, fbar)`` as object arrays (:func:`theory.divergence.fbar_kernel` on :data:`MP`)."""
    p, P, Pf = _instance(prior, cond)
    _check_L(P)
    Fr = _rows_of("F", F, shape=Pf.shape)
    P = _obj(P)
    return _obj(p), P, fbar_kernel(P, _obj(Fr), MP)


def fbar_mp(cond, F, *, dps: int = DPS):
    """``fbar_t = f(t) - L_t - E_{o~pi_t}[f(t)_o - L_{t,o}]``, ``(T, N)``: :func:`theory.divergence.fbar_kernel`.

    Needs Assumption 2.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4).
    """
    T = np.shape(cond)[0] if np.ndim(cond) == 2 else 0
    with mpmath.workdps(dps):
        return _mat(_taylor_setup(np.full(T, 1.0 / max(T, 1)), cond, F)[2])


def _taylor_mp(rows_fn, prior, cond, F, dps):
    with mpmath.workdps(dps):
        p, P, fb = _taylor_setup(prior, cond, F)
        return expect(p, rows_fn(P, fb), MP)


def taylor_proxy_mp(prior, cond, F, *, dps: int = DPS):
    """``E_t log(1 + Var_{o~pi_t}(fbar_t)/2)`` (an ``mpf``): :func:`theory.divergence.taylor_proxy_rows`.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4).
    """
    return _taylor_mp(lambda P, fb: taylor_proxy_rows(P, fb, MP), prior, cond, F, dps)


def taylor_remainder_bound_mp(prior, cond, F, *, dps: int = DPS):
    """``E_t exp3(||fbar_t||_2)`` (an ``mpf``): :func:`theory.divergence.taylor_remainder_rows`; exact where
    the float64 value overflows to ``+inf``.

    References
    ----------
    ``draft.lemma-taylor`` (draft section 4, right-hand side).
    """
    return _taylor_mp(lambda P, fb: taylor_remainder_rows(fb, MP), prior, cond, F, dps)


def taylor_identity_rhs_mp(prior, cond, F, *, dps: int = DPS):
    """``E_t log E_{o~pi_t} e^{fbar_t(o)}`` (an ``mpf``): :func:`theory.divergence.taylor_identity_rows`.

    Its own formula (a weighted log-sum-exp of ``fbar``), not through :func:`kl_mp`, so that the identity
    ``dKL = E_t log E_pi e^{fbar}`` is checked between two formulas.

    References
    ----------
    ``draft.lemma-taylor[identity]`` (draft section 4).
    """
    return _taylor_mp(lambda P, fb: taylor_identity_rows(P, fb, MP), prior, cond, F, dps)


# --------------------------------------------------------------------------- spectra


def _check_reading(reading, allowed=SIGMA_READINGS, name="reading"):
    if reading not in allowed:
        raise ValueError(f"`{name}` must be one of {allowed} (got {reading!r})")
    return reading


def _centred(p, P, L, reading):
    """The centred ``L`` of ``reading`` as rows: :func:`theory.spectra.centred_kernel` on :data:`MP`."""
    return [list(r) for r in centred_kernel(_obj(p), _obj(P), _obj(L), reading, MP)]


def centred_logits_mp(prior, cond, reading: str = "uniform", *, dps: int = DPS):
    """The centred ``L`` of ``reading``, ``(T, N)``: :func:`theory.spectra.centred_kernel` at ``dps`` digits.

    Needs Assumption 2.

    References
    ----------
    docs/theory.md#sigma.
    """
    _check_reading(reading)
    with mpmath.workdps(dps):
        p, P, _ = _instance(prior, cond)
        return _matrix(_centred(p, P, _check_L(P), reading))


def _svals(rows):
    s = mpmath.svd_r(_matrix(rows), compute_uv=False)
    return sorted((s[i] for i in range(s.rows)), reverse=True)


def _svd(rows):
    """``(s, Vt)``: singular values descending and the matching right singular vectors (rows)."""
    U, S, V = mpmath.svd_r(_matrix(rows), compute_uv=True)
    order = sorted(range(S.rows), key=lambda i: -S[i])
    return [S[i] for i in order], [[V[i, j] for j in range(V.cols)] for i in order]


def singular_values_mp(prior, cond, reading: str = "uniform", *, dps: int = DPS):
    """Singular values of the centred ``L`` of ``reading``, descending, ``(min(T, N), 1)`` (mpmath's ``svd_r``).

    References
    ----------
    docs/theory.md#sigma.
    """
    _check_reading(reading)
    with mpmath.workdps(dps):
        p, P, _ = _instance(prior, cond)
        return _column(_svals(_centred(p, P, _check_L(P), reading)))


def _sigma_j(p, P, j, reading):
    return sigma_kernel(_obj(p), _obj(P), _obj(_check_L(P)), j, reading, MP)


def sigma_mp(prior, cond, j: int, reading: str = "uniform", *, dps: int = DPS):
    """``sigma_j`` (1-based) of the centred ``L`` of ``reading``; 0 beyond ``min(T, N)``.

    References
    ----------
    docs/theory.md#sigma; ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``,
    ``draft.theorem-wls`` (``sigma_{d+1}``).
    """
    j = check_int("j", j, minimum=1)
    _check_reading(reading)
    with mpmath.workdps(dps):
        p, P, _ = _instance(prior, cond)
        return _sigma_j(p, P, j, reading)


# --------------------------------------------------------------------------- low-rank maps


@dataclass(frozen=True)
class LowRankMP:
    """A rank-``d`` sequence encoder in mpmath: ``W (N, d)``, ``E (T, d)``, logits ``F = E W^T``.

    Twin of :class:`theory.lowrank.LowRank` (``paper.prop1``'s ``L(N,S,d)``).
    """

    W: mpmath.matrix
    E: mpmath.matrix

    @property
    def N(self) -> int:
        return int(self.W.rows)

    @property
    def T(self) -> int:
        return int(self.E.rows)

    @property
    def d(self) -> int:
        return int(self.W.cols)

    @property
    def F(self) -> mpmath.matrix:
        """Logits ``F = E W^T``, ``(T, N)`` (at the precision in force)."""
        return self.E * self.W.T

    def divergence(self, prior, cond, *, dps: int = DPS):
        """``dKL(pi, f_{W,E})`` (:func:`kl_mp`)."""
        with mpmath.workdps(dps):
            return kl_mp(prior, cond, self.F, dps=dps)


def _norm(v):
    return mpmath.sqrt(mpmath.fsum(x * x for x in v))


def _orth(v, basis):
    """``v`` minus its projection on the orthonormal ``basis`` (two Gram-Schmidt passes)."""
    for _ in range(2):
        for q in basis:
            c = _dot(q, v)
            v = [a - c * b for a, b in zip(v, q)]
    return v


def _complete_basis(V, d, N, avoid_ones, tau):
    """Mirror of ``theory.lowrank._complete_basis``: orthonormal ``V`` (rows) extended to ``d`` columns.

    New columns: the Gram-Schmidt residuals of ``e_0, e_1, ...`` against
    ``[1/sqrt N (when avoid_ones and d + 1 <= N), V, earlier new columns]``,
    in that order -- the span the float64 Householder QR of ``[1, V, I]``
    gives (columns whose residual is below ``tau`` are dependent and skipped;
    float64 returns a rounding-determined direction there).
    """
    r = len(V)
    if r >= d:
        return [list(v) for v in V[:d]]
    basis = []
    for v in ([[1 / mpmath.sqrt(N)] * N] if avoid_ones and d + 1 <= N else []) + [list(v) for v in V]:
        w = _orth(v, basis)
        n = _norm(w)
        if n > tau:
            basis.append([x / n for x in w])
    new = []
    for i in range(N):
        if len(new) == d - r:
            break
        e = [mpmath.mpf(0)] * N
        e[i] = mpmath.mpf(1)
        w = _orth(e, basis)
        n = _norm(w)
        if n > tau:
            q = [x / n for x in w]
            basis.append(q)
            new.append(q)
    if len(new) < d - r:
        raise NotUnique(f"cannot complete {r} columns to d={d} orthonormal ones in R^{N}")
    return [list(v) for v in V] + new


def _matmul_rows(A, B):
    """``A (n, k) @ B (k, m)`` on lists of rows."""
    Bt = list(zip(*B)) if B and B[0] else []
    return [[_dot(a, list(b)) for b in Bt] for a in A]


def _f_ls(p, P, L, d, reading, dps):
    tau = _tau(dps)
    N = len(P[0])
    Lc = _centred(p, P, L, reading)
    s, Vt = _svd(Lc)
    s1 = s[0] if s else mpmath.mpf(0)
    # the float64 rule: sigma_1 within float64's rounding of the centring counts as 0 (rank 0)
    noise = mpmath.mpf(centring_noise(np.array([[float(v) for v in row] for row in L])))
    if s1 > 0 and abs(s1 - noise) <= tau * noise:
        raise NotUnique(f"f_ls ({reading}): the numerical rank is undetermined at {dps} digits: sigma_1 = "
                        f"{mpmath.nstr(s1, 8)} is within 10^-{dps // 2} of float64's centring noise")
    if s1 > noise:
        thr = mpmath.mpf(RANK_RTOL) * s1
        for j, sj in enumerate(s):
            if abs(sj - thr) <= tau * s1:
                raise NotUnique(f"f_ls ({reading}): the numerical rank is undetermined at {dps} digits: "
                                f"sigma_{j + 1} = {mpmath.nstr(sj, 8)} is within 10^-{dps // 2} sigma_1 of the "
                                f"float64 rank threshold RANK_RTOL sigma_1")
        r = sum(1 for sj in s if sj > thr)
    else:
        r = 0
    k = min(r, d)
    if 0 < k < len(s) and s[k - 1] - s[k] <= tau * s1:
        raise NotUnique(f"f_ls ({reading}): the rank-{k} truncated SVD is not unique at {dps} digits: "
                        f"sigma_{k} - sigma_{k + 1} = {mpmath.nstr(s[k - 1] - s[k], 5)} <= 10^-{dps // 2} "
                        f"sigma_1 (sigma_1 = {mpmath.nstr(s1, 8)})")
    Wcols = _complete_basis(Vt[:k], d, N, True, tau)
    Wrows = [[c[i] for c in Wcols] for i in range(N)]
    Lu = _centred(p, P, L, reading.removesuffix("-prior"))
    E = _matmul_rows(Lu, Wrows)
    return LowRankMP(_matrix(Wrows), _matrix(E))


def f_ls_mp(prior, cond, d: int, reading: str = "uniform", *, dps: int = DPS) -> LowRankMP:
    """Rank-``d`` least-squares fit of the centred ``L`` (``seed.ls-bound``, ``draft.theorem-ls``).

    Twin of :func:`theory.lowrank.f_ls`: ``L_c = U Sigma V^T`` (the centred ``L``
    of ``reading``), ``W = V_{:, :d}``, ``E = L_c^{unw} W`` (``L_c`` without the
    ``sqrt p`` weights), so ``F = L_c^{unw} W W^T``. The float64 rank rule is
    part of the map and is mirrored: singular values ``<= RANK_RTOL sigma_1``
    count as 0 and the missing columns are completed as
    ``theory.lowrank._complete_basis`` does (orthogonal to ``1`` when room remains).

    Raises :class:`NotUnique` when the cut is a tie at ``dps`` digits
    (``sigma_k - sigma_{k+1} <= 10^{-dps/2} sigma_1``, ``k = min(rank, d)``) or the
    rank decision is at its threshold. Needs Assumption 2.

    References
    ----------
    ``seed.ls-bound``, ``draft.theorem-ls`` (draft section 4; Eckart-Young).
    """
    _check_reading(reading)
    with mpmath.workdps(dps):
        p, P, _ = _instance(prior, cond)
        d = check_int("d", d, minimum=1, maximum=len(P[0]))
        return _f_ls(p, P, _check_L(P), d, reading, dps)


def _check_spd(A, what, dps):
    """Refuse (NotUnique) a symmetric PSD ``d x d`` matrix whose condition number exceeds ``10^{dps/2}``."""
    Af = np.array([[mpf_to_float(v._mpf_) for v in row] for row in A])
    with np.errstate(all="ignore"):  # entries beyond float64's range give inf/0: then the mp path decides
        m = np.max(np.abs(Af))
        c = np.linalg.cond(Af / m) if np.isfinite(m) and m > 0 else np.inf
    if np.isfinite(c) and c <= _PRESCREEN_COND:
        return
    ev = mpmath.eigsy(_matrix(A), eigvals_only=True)
    lo, hi = min(ev), max(ev)
    if lo <= 0 or hi / lo > 1 / _tau(dps):
        cs = "inf" if lo <= 0 else mpmath.nstr(hi / lo, 5)
        raise NotUnique(f"{what}: singular at {dps} digits (condition number {cs} > 10^{dps // 2})")


def _solve_spd(A, b):
    """``A^{-1} b`` for a symmetric positive definite ``A`` (lists) by Cholesky, ``A = R R^T``."""
    n = len(A)
    R = [[None] * n for _ in range(n)]
    for j in range(n):
        s = A[j][j] - _dot(R[j][:j], R[j][:j])
        if not s > 0:
            raise NotUnique("a d x d system is not positive definite at the working precision")
        R[j][j] = mpmath.sqrt(s)
        for i in range(j + 1, n):
            R[i][j] = (A[i][j] - _dot(R[i][:j], R[j][:j])) / R[j][j]
    y = [None] * n
    for i in range(n):
        y[i] = (b[i] - _dot(R[i][:i], y[:i])) / R[i][i]
    x = [None] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - _dot([R[k][i] for k in range(i + 1, n)], x[i + 1:])) / R[i][i]
    return x


def _centred_by_pi(pi, x, o):
    """``x_j - sum_k pi_k x_k`` for every ``j``; at the likeliest token ``o`` as
    ``sum_{k != o} pi_k (x_o - x_k)`` (no cancellation when ``pi_o ~ 1``; ``pi`` sums to 1).
    Mirror of ``theory.lowrank._centred_by_pi`` for one row of scalars."""
    m = _dot(pi, x)
    out = [v - m for v in x]
    out[o] = _dot(pi, [x[o] - v for v in x])  # the k = o term is 0
    return out


def _wls_system_row(pi, l, Wrows):
    """``(A, b, piD)`` of ``draft.lemma-wls`` for one row: ``A = W^T (I_pi - pi pi^T) W``,
    ``b = W^T (I_pi - pi pi^T) L_t``, ``piD (N, d)`` the rows ``pi_o (w_o - E_pi w)`` of ``(W^T (I_pi - pi pi^T))^T``.

    With ``D_o = w_o - E_pi w`` (centred without cancellation at the likeliest
    token), ``A = sum_o pi_o D_o D_o^T`` is a sum of PSD terms and
    ``b = sum_o pi_o D_o (L_o - E_pi L)``: the float64 ``M_t^T M_t``, ``M_t^T r_t``.
    """
    N, d = len(Wrows), len(Wrows[0])
    o = _argmax(pi)
    cols = [_centred_by_pi(pi, [Wrows[k][j] for k in range(N)], o) for j in range(d)]  # d lists of N
    lc = _centred_by_pi(pi, l, o)
    piD = [[pi[k] * cols[j][k] for j in range(d)] for k in range(N)]
    piDc = [[piD[k][j] for k in range(N)] for j in range(d)]
    A = [[None] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            A[i][j] = A[j][i] = _dot(piDc[i], cols[j])
    b = [_dot(piDc[i], lc) for i in range(d)]
    return A, b, piD


def _wls_encoder(P, L, Wrows, dps):
    E = []
    for t, (pi, l) in enumerate(zip(P, L)):
        A, b, _ = _wls_system_row(pi, l, Wrows)
        _check_spd(A, f"draft.lemma-wls system A_t = W_U^T (I_pi - pi pi^T) W_U at row t={t}", dps)
        E.append(_solve_spd(A, b))
    return E


def _W_rows(W_U, N):
    Wr = _rows_of("W_U", W_U)
    if len(Wr) != N or not Wr or len(Wr[0]) < 1:
        raise ValueError(f"`W_U` must have shape (N, d) = ({N}, d>=1) (got ({len(Wr)}, {len(Wr[0]) if Wr else 0}))")
    if len(Wr[0]) > N - 1:
        raise ValueError(f"`W_U` must have d <= N-1 = {N - 1} columns so that 1 can lie outside Im(W_U) "
                         f"(got d={len(Wr[0])})")
    return Wr


def wls_encoder_mp(cond, W_U, *, dps: int = DPS) -> mpmath.matrix:
    """Closed-form weighted least-squares encoder of ``draft.lemma-wls``, ``E (T, d)``.

    Twin of :func:`theory.lowrank.wls_encoder`, per row

        ``w_E(t) = [W_U^T (I_pi - pi pi^T) W_U]^{-1} W_U^T (I_pi - pi pi^T) L_t``,

    a Cholesky solve of the ``d x d`` system. ``W_U``: float64 ``(N, d)`` or an
    ``mpmath.matrix``. Raises :class:`NotUnique` when some system is singular at
    ``dps`` digits (condition above ``10^{dps/2}``; e.g. ``1 in Im(W_U)`` or
    ``W_U`` rank deficient). Needs Assumption 2 and ``d <= N-1``.

    References
    ----------
    ``draft.lemma-wls`` (draft section 4).
    """
    with mpmath.workdps(dps):
        Pf, P = _cond_rows(cond)
        L = _check_L(P)
        Wr = _W_rows(W_U, Pf.shape[1])
        return _matrix(_wls_encoder(P, L, Wr, dps))


def wls_projection_mp(cond_row, W_U, *, dps: int = DPS) -> mpmath.matrix:
    """``P_t = W_U [W_U^T (I_pi - pi pi^T) W_U]^{-1} W_U^T (I_pi - pi pi^T)`` (``draft.lemma-wls``), ``(N, N)``.

    Twin of :func:`theory.lowrank.wls_projection`; ``W_U^T (I_pi - pi pi^T)``
    is formed as the columns ``pi_o (w_o - E_pi w)`` (no cancellation).
    ``NotUnique`` when the system is singular at ``dps`` digits.

    References
    ----------
    ``draft.lemma-wls`` (draft section 4, the projection form).
    """
    pi_f = check_array("cond_row", cond_row, ndim=1)
    check_rows_stochastic("cond_row", pi_f[None, :])
    if not np.all(pi_f > 0):
        raise ValueError("`cond_row` violates Assumption 2 (full support): a probability is 0")
    with mpmath.workdps(dps):
        pi = _normalise([mpmath.mpf(float(v)) for v in pi_f])
        N = len(pi)
        Wr = _W_rows(W_U, N)
        d = len(Wr[0])
        A, _, piD = _wls_system_row(pi, [mpmath.mpf(0)] * N, Wr)
        _check_spd(A, "draft.lemma-wls system A = W_U^T (I_pi - pi pi^T) W_U", dps)
        X = mpmath.matrix(d, N)  # A^{-1} W^T C, column by column (column o of W^T C is pi_o D_o)
        for o in range(N):
            x = _solve_spd(A, piD[o])
            for j in range(d):
                X[j, o] = x[j]
        return _matrix(Wr) * X


def _row_var(P, L, Frows):
    out = []
    for pi, l, f in zip(P, L, Frows):
        D = [a - b for a, b in zip(f, l)]
        m = _dot(pi, D)
        out.append(_dot(pi, [(v - m) ** 2 for v in D]))
    return out


def row_var_mp(cond, W, E, *, dps: int = DPS) -> mpmath.matrix:
    """``Var_{o~pi_t}(fbar_t)`` of ``F = E W^T`` per row, ``(T, 1)`` (``draft.lemma-wls[minimiser]``).

    The quantity the closed-form encoder minimises row by row; twin of
    ``verify.claims.lowrank._row_var``. ``W (N, d)``, ``E (T, d)``: float64 or mpmath.

    References
    ----------
    ``draft.lemma-wls[minimiser]`` (draft section 4).
    """
    with mpmath.workdps(dps):
        Pf, P = _cond_rows(cond)
        L = _check_L(P)
        Wm = _matrix(_rows_of("W", W))
        Em = _matrix(_rows_of("E", E))
        if Wm.rows != Pf.shape[1] or Em.rows != Pf.shape[0] or Wm.cols != Em.cols:
            raise ValueError(f"`W` (N, d) and `E` (T, d) must match cond {Pf.shape} (got {(Wm.rows, Wm.cols)}, "
                             f"{(Em.rows, Em.cols)})")
        F = _rows_of("F", Em * Wm.T)
        return _column(_row_var(P, L, F))


def f_wls_mp(prior, cond, d: int, W_U=None, *, dps: int = DPS) -> LowRankMP:
    """Closed-form ``f_wls`` (``seed.wls-bound``, ``draft.lemma-wls``, ``draft.theorem-wls``).

    Twin of :func:`theory.lowrank.f_wls`: ``W = W_U`` (default the ``W`` of
    :func:`f_ls_mp` ``(uniform)``), ``E = wls_encoder_mp(cond, W_U)``.
    ``NotUnique`` from either step. Needs Assumption 2 and ``d <= N-1``.

    References
    ----------
    ``seed.wls-bound``, ``draft.lemma-wls``, ``draft.theorem-wls`` (draft section 4).
    """
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        N = Pf.shape[1]
        d = check_int("d", d, minimum=1, maximum=N - 1)
        L = _check_L(P)
        if W_U is None:
            W = _f_ls(p, P, L, d, "uniform", dps).W
        else:
            W = _matrix(_W_rows(W_U, N))
            if W.cols != d:
                raise ValueError(f"`W_U` must have d = {d} columns (got {W.cols})")
        E = _wls_encoder(P, L, _rows_of("W_U", W), dps)
        return LowRankMP(W, _matrix(E))


def _weighted_residual(w, P, L, Frows):
    return _dot(w, _row_var(P, L, Frows))


def weighted_residual_mp(prior, cond, F, reading: str = "pi-prior", *, dps: int = DPS):
    """``R(F) = sum_t w_t Var_{o~pi_t}(F_t - L_t)`` (``w_t = p(t)`` or 1).

    Twin of :func:`theory.lowrank.weighted_residual` (the objective of ``seed.wls-bound``, fit=alternating).

    References
    ----------
    ``seed.wls-bound`` (its weighted objective; docs/theory.md#d4-wls).
    """
    _check_reading(reading, WLS_READINGS)
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        L = _check_L(P)
        w = p if reading == "pi-prior" else [mpmath.mpf(1)] * len(p)
        return _weighted_residual(w, P, L, _rows_of("F", F, shape=Pf.shape))


def _gram_schmidt(cols, tau, what):
    """Orthonormal columns spanning ``cols`` (lists); NotUnique on a dependent column (float64 QR: garbage there)."""
    basis = []
    for v in cols:
        w = _orth(list(v), basis)
        n = _norm(w)
        if not n > tau * max(_norm(v), mpmath.mpf(0)):
            raise NotUnique(f"{what}: a column is dependent on the others at the working precision "
                            f"(the float64 QR returns a rounding-determined direction there)")
        basis.append([x / n for x in w])
    return basis


def f_wls_alternating_mp(prior, cond, d: int, *, iters: int = 200, tol: float = 1e-12, W_U0=None,
                         reading: str = "pi-prior", dps: int = DPS) -> tuple[LowRankMP, AlternatingReport]:
    """The weighted rank-``d`` problem ``min_{W,E} R(E W^T)`` by alternating regressions.

    Claim ids ``seed.wls-bound`` / ``draft.theorem-wls`` (``fit=alternating``).

    Twin of :func:`theory.lowrank.f_wls_alternating`: the same start
    (``W`` of :func:`f_ls_mp` ``(uniform)`` or ``W_U0``, ``E`` = the closed form),
    the same sweep (``c_t = pi_t . (L_t - W E(t))``; W-step: per output ``o``
    the ``d x d`` solve of ``sum_t w_t pi(o|t) (E(t) . w_o + c_t - L_{t,o})^2``;
    gauge ``W <- W - 1 (1^T W)/N``, then orthonormalised (Gram-Schmidt: the span
    of the float64 QR's ``Q``, which is all the E-step sees); E-step: the closed
    form) and the same stopping rule (stop when ``R`` is at most float64's
    rounding floor of an exact fit, ``theory.lowrank.objective_floor``, or when a
    sweep's decrease is ``<= tol * max(R_prev, float64 tiny)``), decided exactly here.

    Returns ``(LowRankMP, AlternatingReport)`` (``history`` of mpf).
    ``NotUnique`` when a system is singular at ``dps`` digits.

    References
    ----------
    ``seed.wls-bound``, ``draft.theorem-wls`` (``fit=alternating``).
    """
    _check_reading(reading, WLS_READINGS)
    iters = check_int("iters", iters, minimum=0)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"`tol` must be a finite number >= 0 (got {tol!r})")
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        T, N = Pf.shape
        d = check_int("d", d, minimum=1, maximum=N - 1)
        L = _check_L(P)
        w = p if reading == "pi-prior" else [mpmath.mpf(1)] * T
        if W_U0 is None:
            Wr = _rows_of("W", _f_ls(p, P, L, d, "uniform", dps).W)
        else:
            Wr = _rows_of("W_U0", W_U0, shape=(N, d))
        tau = _tau(dps)
        E = _wls_encoder(P, L, Wr, dps)

        def resid(E, Wr):
            return _weighted_residual(w, P, L, _matmul_rows(E, [list(c) for c in zip(*Wr)]))

        hist = [resid(E, Wr)]
        converged = False
        tiny = mpmath.mpf(float(np.finfo(float).tiny))
        tolm = mpmath.mpf(float(tol))
        # the float64 rule: an objective within float64's rounding of an exact fit stops the sweeps
        wf = np.asarray(prior, dtype=np.float64) if reading == "pi-prior" else np.ones(T)
        floor = mpmath.mpf(objective_floor(wf, np.log(Pf)))
        for k in range(1, iters + 1):
            if hist[-1] > 0 and abs(hist[-1] - floor) <= tau * floor:
                raise NotUnique(f"f_wls_alternating: the objective {mpmath.nstr(hist[-1], 8)} is within "
                                f"10^-{dps // 2} of float64's rounding floor of an exact fit, where the float64 "
                                f"sweeps stop (sweep {k})")
            if hist[-1] <= floor:
                converged = True
                break
            F = _matmul_rows(E, [list(c) for c in zip(*Wr)])
            c = [_dot(pi, [a - b for a, b in zip(l, f)]) for pi, l, f in zip(P, L, F)]
            Wn = []
            for o in range(N):
                wt = [w[t] * P[t][o] for t in range(T)]
                wE = [[wt[t] * E[t][i] for t in range(T)] for i in range(d)]
                A = [[None] * d for _ in range(d)]
                for i in range(d):
                    for j in range(i, d):
                        A[i][j] = A[j][i] = _dot(wE[i], [E[t][j] for t in range(T)])
                b = [_dot(wE[i], [L[t][o] - c[t] for t in range(T)]) for i in range(d)]
                _check_spd(A, f"W-step of f_wls_alternating (output o={o}, sweep {k})", dps)
                Wn.append(_solve_spd(A, b))
            means = [mpmath.fsum(Wn[o][j] for o in range(N)) / N for j in range(d)]
            cols = [[Wn[o][j] - means[j] for o in range(N)] for j in range(d)]
            Q = _gram_schmidt(cols, tau, f"gauge step of f_wls_alternating (sweep {k})")
            Wr = [[Q[j][o] for j in range(d)] for o in range(N)]
            E = _wls_encoder(P, L, Wr, dps)
            hist.append(resid(E, Wr))
            prev, cur = hist[-2], hist[-1]
            if prev - cur <= tolm * max(prev, tiny):
                converged = True
                break
        lr = LowRankMP(_matrix(Wr), _matrix(E))
        return lr, AlternatingReport(iterations=len(hist) - 1, history=tuple(hist), converged=converged,
                                     reading=reading)


def min_divergence_mp(prior, cond, d: int, sigma_reading: str = "uniform", *, dps: int = DPS):
    """The ``min`` map of ``draft.theorem-wls[min,sigma=...]``: ``E_t min(KL_t(f_ls), KL_t(f_wls))``, ``W_U`` shared.

    Twin of the left-hand side of ``verify.claims.lowrank._bound_evaluator``
    for ``fit="min"``: ``W_U`` = the ``W`` of :func:`f_ls_mp` ``(sigma_reading)``,
    the weighted encoder :func:`wls_encoder_mp` against the same ``W_U``, and
    per row the smaller divergence.

    References
    ----------
    ``draft.theorem-wls[min]`` (docs/theory.md#d4-wls).
    """
    _check_reading(sigma_reading, name="sigma_reading")
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        d = check_int("d", d, minimum=1, maximum=Pf.shape[1])
        L = _check_L(P)
        ls = _f_ls(p, P, L, d, sigma_reading, dps)
        Wr = _rows_of("W", ls.W)
        if len(Wr[0]) > len(Wr) - 1:
            raise ValueError(f"`d` must be <= N-1 = {len(Wr) - 1} for the weighted encoder (got {d})")
        Ew = _wls_encoder(P, L, Wr, dps)
        k_ls = _kl_rows(P, _rows_of("F", ls.F))
        k_w = _kl_rows(P, _matmul_rows(Ew, [list(c) for c in zip(*Wr)]))
        return _dot(p, [min(a, b) for a, b in zip(k_ls, k_w)])


#: The maps :func:`fitted_divergence_mp` computes at ``dps`` digits: every fit of
#: ``theory.lowrank.FITS`` (the same tuple; none is refused).
FITS_MP = FITS


def fitted_divergence_mp(prior, cond, d: int, fit: str, sigma_reading: str = "uniform", *, dps: int = DPS):
    """``dKL(pi, f)`` of the map a catalogue bound is about (the ledger's left-hand side), an ``mpf``.

    Twin of ``theory.lowrank.fit_encoder(...).divergence`` for every ``fit`` of
    ``theory.lowrank.FITS`` (``wls-alt``: ``ALT_SWEEPS`` sweeps, ``ALT_TOL``, prior-weighted
    objective; ``wls-alt-unweighted``: the same with every row weight 1; ``wls-matched``: the
    closed form with ``W_U`` of :func:`f_ls_mp` ``(sigma_reading)``; ``min``:
    :func:`min_divergence_mp`). An unknown name raises ``ValueError``.

    References
    ----------
    the maps of ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``, ``draft.theorem-wls``.
    """
    fit = check_fit(fit)
    if fit == "min":
        return min_divergence_mp(prior, cond, d, sigma_reading, dps=dps)
    with mpmath.workdps(dps):
        if fit == "ls":
            lr = f_ls_mp(prior, cond, d, sigma_reading, dps=dps)
        elif fit == "wls":
            lr = f_wls_mp(prior, cond, d, dps=dps)
        elif fit == "wls-matched":
            lr = f_wls_mp(prior, cond, d, W_U=f_ls_mp(prior, cond, d, sigma_reading, dps=dps).W, dps=dps)
        else:
            reading = "pi-prior" if fit == "wls-alt" else "pi"
            lr = f_wls_alternating_mp(prior, cond, d, iters=ALT_SWEEPS, tol=ALT_TOL, reading=reading, dps=dps)[0]
        return lr.divergence(prior, cond, dps=dps)


# --------------------------------------------------------------------------- almost-rank-d bounds

def _prepare(prior, cond, d):
    """``theory.bounds``' validation (Assumption 2, ``d >= 1``); ``(p, P, L, d)`` as object arrays."""
    check_bound_input(prior, cond, d)
    p, P, _ = _instance(prior, cond)
    return _obj(p), _obj(P), _obj(_check_L(P)), int(d)


def _expect(p, rows):
    """``E_t rows_t`` over rows with ``p(t) > 0`` (:func:`theory.divergence.expect`)."""
    return expect(_obj(list(p)), _obj(list(rows)), MP)


def sigma_d1_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", dps: int = DPS):
    """``sigma_{d+1}`` of the centred ``L`` of ``sigma_reading`` (0 beyond ``min(T, N)``).

    References
    ----------
    docs/theory.md#sigma; the almost-rank-d bounds.
    """
    _check_reading(sigma_reading, name="sigma_reading")
    with mpmath.workdps(dps):
        p, P, L, d = _prepare(prior, cond, d)
        return sigma_kernel(p, P, L, d + 1, sigma_reading, MP)


def _almost_rank_mp(kind, prior, cond, d, sigma_reading, inf_reading="global", dps=DPS):
    _check_reading(sigma_reading, name="sigma_reading")
    if inf_reading not in INF_READINGS:
        raise ValueError(f"`inf_reading` must be one of {INF_READINGS} (got {inf_reading!r})")
    with mpmath.workdps(dps):
        p, P, L, d = _prepare(prior, cond, d)
        return almost_rank_kernel(kind, p, P, L, d, sigma_reading, inf_reading, MP)


def seed_ls_bound_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", inf_reading: str = "global",
                     dps: int = DPS):
    """Right-hand side of ``seed.ls-bound`` at ``dps`` digits: :func:`theory.bounds.almost_rank_kernel`.

    References
    ----------
    ``seed.ls-bound`` (seed slide "almost rank d").
    """
    return _almost_rank_mp("seed-ls", prior, cond, d, sigma_reading, inf_reading, dps)


def seed_wls_bound_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", inf_reading: str = "global",
                      dps: int = DPS):
    """Right-hand side of ``seed.wls-bound`` at ``dps`` digits (exact where float64 overflows).

    References
    ----------
    ``seed.wls-bound`` (seed slide "almost rank d").
    """
    return _almost_rank_mp("seed-wls", prior, cond, d, sigma_reading, inf_reading, dps)


def _draft_rows_mp(kind, prior, cond, d, sigma_reading, dps):
    _check_reading(sigma_reading, name="sigma_reading")
    with mpmath.workdps(dps):
        p, P, L, d = _prepare(prior, cond, d)
        return _column(list(draft_rows_kernel(kind, P, sigma_kernel(p, P, L, d + 1, sigma_reading, MP), MP)))


def draft_ls_bound_rows_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", dps: int = DPS):
    """Row terms of ``draft.theorem-ls``, ``(T, 1)``: :func:`theory.bounds.draft_rows_kernel`.

    References
    ----------
    ``draft.theorem-ls`` (draft section 4).
    """
    return _draft_rows_mp("ls", prior, cond, d, sigma_reading, dps)


def draft_wls_bound_rows_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", dps: int = DPS):
    """Row terms of ``draft.theorem-wls``, ``(T, 1)``: :func:`theory.bounds.draft_rows_kernel`.

    References
    ----------
    ``draft.theorem-wls`` (draft section 4).
    """
    return _draft_rows_mp("wls", prior, cond, d, sigma_reading, dps)


def draft_ls_bound_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", dps: int = DPS):
    """Right-hand side of ``draft.theorem-ls`` at ``dps`` digits.

    References
    ----------
    ``draft.theorem-ls`` (draft section 4).
    """
    return _almost_rank_mp("draft-ls", prior, cond, d, sigma_reading, dps=dps)


def draft_wls_bound_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", dps: int = DPS):
    """Right-hand side of ``draft.theorem-wls`` at ``dps`` digits.

    References
    ----------
    ``draft.theorem-wls`` (draft section 4).
    """
    return _almost_rank_mp("draft-wls", prior, cond, d, sigma_reading, dps=dps)


def draft_min_bound_mp(prior, cond, d: int, *, sigma_reading: str = "uniform", dps: int = DPS):
    """``E_t min(ls row, wls row)`` at ``dps`` digits.

    References
    ----------
    ``draft.theorem-wls[min]`` (docs/theory.md#d4-wls).
    """
    return _almost_rank_mp("draft-min", prior, cond, d, sigma_reading, dps=dps)


# --------------------------------------------------------------------------- look-up tables


def lookup_C_mp(N: int, d: int, *, dps: int = DPS):
    """``C = sqrt(32 log(N+1) / d)`` (``seed.lookup-bound``, ``draft.lookup-theorem``); twin of ``lookup_C``.

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6): the JL constant.
    """
    N = check_int("N", N, minimum=2)
    d = check_int("d", d, minimum=1)
    with mpmath.workdps(dps):
        return mpmath.sqrt(32 * mpmath.log(N + 1) / d)


def _resolve_C(N, d, C):
    if C is None:
        return mpmath.sqrt(32 * mpmath.log(N + 1) / d)
    if isinstance(C, mpmath.mpf):
        if not (mpmath.isfinite(C) and C >= 0):
            raise ValueError(f"`C` must be >= 0 and finite (got {C!r})")
        return C
    return mpmath.mpf(check_positive("C", C, allow_zero=True))


def _psi(h, N):
    """``psi(h) = log((N-1)/(e^h - 1))``: :func:`theory.lookup.psi_kernel` on :data:`MP`."""
    return psi_kernel(h, N, MP)


def lookup_psi_mp(h, N: int, *, dps: int = DPS):
    """``psi(h) = log((N-1)/(e^h - 1))``; ``+inf`` at ``h = 0`` (scalar ``h``).

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6).
    """
    N = check_int("N", N, minimum=2)
    with mpmath.workdps(dps):
        h = _check_h(h, N, dps)
        return mpmath.inf if h == 0 else _psi(h, N)


def lookup_terms_mp(cond, *, dps: int = DPS):
    """``(q, q psi(h), dTV)``, each ``(T, 1)``: :func:`theory.lookup.lookup_terms_kernel` at ``dps`` digits.

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6).
    """
    with mpmath.workdps(dps):
        _, P = _cond_rows(cond)
        return tuple(_column(list(v)) for v in lookup_terms_kernel(_obj(P), MP))


def _lookup_mp(form, prior, cond, d, C, dps, as_written=False):
    """:func:`theory.lookup.lookup_bound_kernel` at ``dps`` digits; ``inf`` when ``C >= 1/2`` (unless
    ``as_written`` and ``C != 1/2``)."""
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        C = _resolve_C(Pf.shape[1], check_int("d", d, minimum=1), C)
        if C >= 0.5 and not (as_written and C != 0.5):
            return mpmath.inf
        return lookup_bound_kernel(form, _obj(p), _obj(P), C, MP)


def seed_lookup_bound_mp(prior, cond, d: int, *, C=None, as_written: bool = False, dps: int = DPS):
    """Right-hand side of ``seed.lookup-bound``: ``E_t[q_t psi(h_t)] (1+4C)/(1-2C)``; ``inf`` when ``C >= 1/2``.

    ``C`` default ``sqrt(32 log(N+1)/d)``. ``as_written=True`` evaluates the slide's formula for any
    ``C != 1/2`` (negative beyond 1/2): the right-hand side of ``seed.lookup-bound[as-written]``.

    References
    ----------
    ``seed.lookup-bound`` (seed slide "look-up table").
    """
    return _lookup_mp("seed", prior, cond, d, C, dps, as_written)


def tight_lookup_bound_mp(prior, cond, d: int, *, C=None, dps: int = DPS):
    """``draft.lookup-theorem+factor(1+2C)``: ``E_t[q_t psi(h_t)] (1+2C)/(1-2C)``; ``inf`` when ``C >= 1/2``.

    References
    ----------
    ``draft.lookup-theorem+factor(1+2C)`` (draft D.6, this project's derivation).
    """
    return _lookup_mp("tight", prior, cond, d, C, dps)


def draft_lookup_bound_rows_mp(prior, cond, d: int, *, C=None, dps: int = DPS):
    """Row terms of ``draft.lookup-theorem``: ``q_t psi(h_t) (1 + 2C + C dTV_t)/(1 - 2C)``, ``(T, 1)``.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6).
    """
    with mpmath.workdps(dps):
        _, P, Pf = _instance(prior, cond)
        C = _resolve_C(Pf.shape[1], check_int("d", d, minimum=1), C)
        if C >= 0.5:
            return _column([mpmath.inf] * len(P))
        _, qpsi, dtv = lookup_terms_kernel(_obj(P), MP)
        return _column(list(qpsi * (1 + 2 * C + C * dtv) / (1 - 2 * C)))


def draft_lookup_bound_mp(prior, cond, d: int, *, C=None, dps: int = DPS):
    """Right-hand side of ``draft.lookup-theorem`` (D.6); ``inf`` if ``C >= 1/2``.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6).
    """
    return _lookup_mp("draft", prior, cond, d, C, dps)


def paper_theorem2_bound_mp(prior, cond, d: int, *, C=None, constant: str = "dtv", dps: int = DPS):
    """First form of ``paper.theorem2``: ``constant="dtv"`` the D.6 form, ``"4C"`` the seed form.

    References
    ----------
    ``paper.theorem2`` (paper Theorem 2; docs/theory.md#p9).
    """
    if constant not in PAPER_CONSTANTS:
        raise ValueError(f"`constant` must be one of {PAPER_CONSTANTS} (got {constant!r})")
    return _lookup_mp("draft" if constant == "dtv" else "seed", prior, cond, d, C, dps)


def paper_theorem2_simplified_mp(prior, cond, d: int, *, C=None, dps: int = DPS):
    """Simplified ``paper.theorem2``: ``E_t[q_t] (1+4C)/(1-2C) log((N-1)/(e^{E_t[h]} - 1))``; 0 when ``E_t q = 0``.

    References
    ----------
    ``paper.theorem2[simplified]`` (paper Theorem 2, simplified form).
    """
    return _lookup_mp("simplified", prior, cond, d, C, dps)


def paper_theorem2_simplified_q_mp(prior, cond, d: int, *, C=None, dps: int = DPS):
    """``paper.theorem2+simplified-q``: ``E_t[q_t] (1+4C)/(1-2C) log((N-1)(1 - E_t q)/E_t q)``.

    References
    ----------
    ``paper.theorem2+simplified-q`` (this project's correction of paper Theorem 2).
    """
    return _lookup_mp("simplified-q", prior, cond, d, C, dps)


def jl_certificate_mp(W, *, dps: int = DPS):
    """``||W W^T - I||_max`` of ``W (N, d)``, exactly (the ``C=achieved`` readings' constant).

    Twin of :func:`theory.lookup.jl_certificate` (without ``C``): the products
    of the float64 entries are exact and each Gram entry is rounded once, so
    the readings ``C=achieved`` get the ``C`` of the ``W`` actually used rather
    than its float64 rounding.

    References
    ----------
    ``draft.lookup-theorem[C=achieved]`` (draft D.6).
    """
    with mpmath.workdps(dps):
        G = _gram_of("W", W)
        return max(abs(G[i][j] - (1 if i == j else 0)) for i in range(len(G)) for j in range(len(G)))


def _check_h(h, N, dps):
    """``h`` in ``[0, log N]``; above ``log N`` by at most ``ENTROPY_RTOL`` (rounding, as float64) read as ``log N``."""
    h = _mp(_number("h", h))
    if not mpmath.isfinite(h) or h < 0:
        raise ValueError(f"`h` must be a Shannon entropy in [0, log N] (got {h})")
    logN = mpmath.log(N)
    if h > logN * (1 + mpmath.mpf(ENTROPY_RTOL)):
        raise ValueError(f"`h` must be a Shannon entropy in [0, log N] = [0, {mpmath.nstr(logN, 8)}] (got {h})")
    return min(h, logN)


def _gaps(G, g):
    """``a_j = (w_j - w_g)^T w_g`` from the Gram matrix ``G = W W^T`` (rows), ``a_g = 0``."""
    a = [G[j][g] - G[g][g] for j in range(len(G))]
    a[g] = mpmath.mpf(0)
    return a


def _gram(Wr):
    return [[_dot(u, v) for v in Wr] for u in Wr]


def _gram_of(name, W):
    """``W W^T`` of a float64 ``W (N, d)`` at the working precision, as rows; exact for a JL draw.

    A :class:`theory.lookup.JLFactor` gives ``K / d`` from its exact integer Gram. A
    Rademacher ``W`` (every entry ``+-r``, one float64 ``r``) has ``W W^T = r^2 K`` with
    ``K`` the integer matrix of sign products: ``K`` is summed exactly in int64 and ``r^2`` is
    exact at 50 digits (106 bits), so the Gram entries are exact at any width ``d`` (the search
    goes to ``d = 2^17``, where summing ``N^2 d`` mpf products would take minutes).
    """
    exact = getattr(W, "gram_exact", None)  # theory.lookup.JLFactor: the draw's integer Gram K and its width d
    if exact is not None:
        K, d = exact
        return [[mpmath.mpf(int(k)) / int(d) for k in row] for row in K]
    if not isinstance(W, mpmath.matrix):
        a = check_array(name, W, ndim=2)
        r = float(abs(a.flat[0])) if a.size else 0.0
        if r > 0 and a.shape[1] < 2**52 and bool(np.all(np.abs(a) == r)):
            S = np.sign(a).astype(np.int64)
            K = S @ S.T  # integer matmul: exact
            r2 = mpmath.mpf(r) ** 2
            return [[r2 * int(k) for k in row] for row in K]
    return _gram(_rows_of(name, W))


def lookup_gaps_mp(W, g: int, *, dps: int = DPS):
    """``a_j = (w_j - w_g)^T w_g`` for all ``j`` (``a_g = 0``), ``(N, 1)``; twin of ``theory.lookup.lookup_gaps``.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6).
    """
    with mpmath.workdps(dps):
        G = _gram_of("W", W)
        g = check_int("g", g, minimum=0, maximum=len(G) - 1)
        return _column(_gaps(G, g))


def _lambda(h, a, g):
    """Root ``lambda >= 0`` of ``psi(lambda) = logsumexp_{j != g}(lambda a_j) - log(e^h - 1)``.

    ``psi`` is convex and strictly decreasing (every ``a_j < 0``), bracketed by
    ``lo = log((N-1)/(e^h-1))/(-min a)`` (``psi(lo) >= 0``) and
    ``hi = log((N-1)/(e^h-1))/(-max a)`` (``psi(hi) <= 0``). Safeguarded Newton:
    from the left, Newton on a convex decreasing function never overshoots;
    any step leaving the bracket is replaced by bisection; the bracket shrinks
    every iteration, and the loop stops at the working precision.
    """
    N = len(a)
    others = [v for j, v in enumerate(a) if j != g]
    amax, amin = max(others), min(others)
    if h == 0:
        return mpmath.inf
    if h >= mpmath.log(N):
        return mpmath.mpf(0)
    target = mpmath.log(mpmath.expm1(h))
    top = mpmath.log(N - 1) - target  # > 0
    lo, hi = top / (-amin), top / (-amax)
    if lo >= hi:  # all gaps equal: the root is exactly top / (-a)
        return hi

    def psi(lam):
        x = [lam * v for v in others]
        m = max(x)
        e = [mpmath.exp(v - m) for v in x]
        S = mpmath.fsum(e)
        return m + mpmath.log(S) - target, _dot(e, others) / S

    eps = mpmath.eps * 4
    x = lo
    for _ in range(10 * mpmath.mp.prec):
        f, fp = psi(x)
        if f == 0:
            return x
        if f > 0:
            lo = max(lo, x)
        else:
            hi = min(hi, x)
        if hi - lo <= eps * hi:
            return (lo + hi) / 2
        xn = x - f / fp
        if not (lo < xn < hi):
            xn = (lo + hi) / 2
        if abs(xn - x) <= eps * abs(xn):
            return xn
        x = xn
    return (lo + hi) / 2  # pragma: no cover - the bracket halves at worst every other step


def _check_gaps(a, g):
    others = [(j, v) for j, v in enumerate(a) if j != g]
    j, amax = max(others, key=lambda jv: jv[1])
    if amax >= 0:
        raise ValueError(f"`W` makes the lambda equation non-monotone: (w_j - w_g)^T w_g = {mpmath.nstr(amax, 4)} "
                         f">= 0 for j={j}, g={g}; the look-up encoder needs every such gap < 0 "
                         "(guaranteed by ||W W^T - I||_max < 1/2)")


def lookup_lambda_mp(h, W, g: int, *, dps: int = DPS):
    """``lambda`` solving ``h = log sum_j exp(lambda (w_j - w_g)^T w_g)`` (``draft.lookup-theorem``), to full precision.

    Twin of :func:`theory.lookup.lookup_lambda`: the equivalent
    ``logsumexp_{j != g}(lambda a_j) = log(e^h - 1)``, solved in the bracket of
    the float64 code by safeguarded Newton (:func:`_lambda`). ``h = 0`` gives
    ``inf``; ``h >= log N`` gives 0. ``h``: a float or an ``mpf``.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6: the equation ``h = phi(lambda)``).
    """
    with mpmath.workdps(dps):
        G = _gram_of("W", W)
        N = len(G)
        g = check_int("g", g, minimum=0, maximum=N - 1)
        a = _gaps(G, g)
        h = _check_h(h, N, dps)
        _check_gaps(a, g)
        return _lambda(h, a, g)


def lookup_lambda_bound_mp(h, N: int, C, *, dps: int = DPS):
    """D.6: ``lambda <= log((N-1)/(e^h - 1)) / (1 - 2C)``; ``inf`` if ``C >= 1/2`` or ``h = 0``, 0 at ``h = log N``.

    Twin of :func:`theory.lookup.lookup_lambda_bound` (``draft.lookup-theorem[lambda-bound]``).

    References
    ----------
    ``draft.lookup-theorem[lambda-bound]`` (draft D.6).
    """
    N = check_int("N", N, minimum=2)
    if C is None:
        raise ValueError("`C` must be a real number (got None)")
    with mpmath.workdps(dps):
        h = _check_h(h, N, dps)
        C = _resolve_C(N, 1, C)
        if C >= 0.5 or h == 0:
            return mpmath.inf
        if h >= mpmath.log(N):
            return mpmath.mpf(0)
        return _psi(h, N) / (1 - 2 * C)


def _lookup_rows(P, G):
    out = []
    for t, pi in enumerate(P):
        if sum(1 for v in pi if v > 0) == 1:  # one-hot: h = 0, lambda = inf, the limit KL is 0
            out.append(mpmath.mpf(0))
            continue
        g = _argmax(pi)
        a = _gaps(G, g)
        _check_gaps(a, g)
        lam = _lambda(_entropy_row(pi), a, g)
        out.append(_kl_row(pi, [lam * G[o][g] for o in range(len(pi))]))
    return out


def lookup_kl_rows_mp(cond, W, *, dps: int = DPS):
    """``KL(pi_t || softmax f(t))`` of the D.6 encoder ``f(t) = lambda(t) W w_{g(t)}``, ``(T, 1)``; 0 on one-hot rows.

    Twin of ``LookupEncoder.kl_rows`` (:func:`theory.lookup.lookup_encoder`):
    ``g(t) = argmax pi_t`` (first on ties), ``lambda`` from :func:`lookup_lambda_mp`.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6), ``paper.theorem2``.
    """
    with mpmath.workdps(dps):
        Pf, P = _cond_rows(cond)
        G = _gram_of("W", W)
        if len(G) != Pf.shape[1]:
            raise ValueError(f"`W` must have N = {Pf.shape[1]} rows to match the task (got {len(G)})")
        return _column(_lookup_rows(P, G))


def lookup_divergence_mp(prior, cond, W, *, dps: int = DPS):
    """``dKL(pi, f)`` of the D.6 look-up encoder (``seed.lookup-bound``, ``draft.lookup-theorem``, ``paper.theorem2``).

    Twin of ``lookup_encoder(task, W).divergence(prior)``; rows as :func:`lookup_kl_rows_mp`.

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6), ``paper.theorem2``.
    """
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        G = _gram_of("W", W)
        if len(G) != Pf.shape[1]:
            raise ValueError(f"`W` must have N = {Pf.shape[1]} rows to match the task (got {len(G)})")
        return _dot(p, _lookup_rows(P, G))


# --------------------------------------------------------------------------- the catalogue

def bound_mp(name: str, prior, cond, d: int, *, C=None, dps: int = DPS):
    """The right-hand side of the catalogue bound ``name`` (``theory.bounds.CATALOGUE``) at ``dps`` digits.

    Every entry of the catalogue has its twin here (same formula, readings
    and constants): ``seed.ls-bound``, ``seed.wls-bound`` (sigma and inf
    readings), ``draft.theorem-ls``, ``draft.theorem-wls`` (and ``min``),
    ``seed.lookup-bound``, ``draft.lookup-theorem``,
    ``draft.lookup-theorem+factor(1+2C)``, ``paper.theorem2`` (``constant=dtv``,
    ``constant=4C``, ``simplified``), ``paper.theorem2+simplified-q``. ``C``
    (look-up bounds only) overrides ``sqrt(32 log(N+1)/d)``, e.g. with the
    achieved ``||W W^T - I||_max``.

    References
    ----------
    the claims of ``theory.bounds.CATALOGUE`` (each entry names its source).

    >>> from aotmem.theory.bounds import draft_ls_bound
    >>> P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]]); p = np.full(3, 1 / 3)
    >>> b = bound_mp("draft.theorem-ls[sigma=uniform]", p, P, 1)
    >>> bool(abs(b - draft_ls_bound(p, P, 1)) < 1e-13 * b)
    True
    """
    b = bound(name)  # ValueError naming `name` when it is not in the catalogue
    kw = dict(b.kwargs)
    if b.needs == "C<1/2":  # the kernel form of each look-up entry (paper.theorem2's first form: its constant)
        form = LOOKUP_FORM.get(b.fn) or ("draft" if kw["constant"] == "dtv" else "seed")
        return _lookup_mp(form, prior, cond, d, C, dps)
    if C is not None:
        raise ValueError(f"`C` applies to the look-up bounds only, not to {name!r}")
    return _almost_rank_mp(KERNEL_KIND[b.fn], prior, cond, d, kw["sigma_reading"], kw.get("inf_reading", "global"), dps)


# --------------------------------------------------------------------------- draft.cor-permutation


def permutation_closed_forms_mp(prior, cond, d: int, xi, *, dps: int = DPS) -> dict:
    """``draft.cor-permutation`` at ``dps`` digits: closed forms against the numeric maps.

    Twin of :func:`theory.exact.permutation_closed_forms`, same keys:
    ``S_d``; ``formulas`` (``wls[mean-log]``, ``wls[conditional]``, ``ls``: each
    ``logits``, ``divergence``, ``kl_of_logits``); ``numeric``
    (``wls[W=e_Sd]``, ``wls[W=f_ls-uniform]``, ``ls[<reading>]``: ``logits``,
    ``divergence``, or ``None`` and ``error`` when the map raised ``ValueError``
    -- including :class:`NotUnique`); ``mismatch`` (``"A vs B"`` -> max
    ``|centred logit difference|`` and ``|divergence difference|``);
    ``wls_strictly_better``. ``H(pi_t, S)``: ``mean-log``
    ``sum_S pi log pi / pi(S)``; ``conditional`` that minus ``log pi(S)``.

    References
    ----------
    ``draft.cor-permutation`` (draft section 5; docs/theory.md#d5).
    """
    with mpmath.workdps(dps):
        p, P, Pf = _instance(prior, cond)
        T, N = Pf.shape
        d = check_int("d", d, minimum=1, maximum=N - 1)
        xi = np.asarray(xi)
        if xi.shape != (N,) or not np.array_equal(np.sort(xi), np.arange(N)):
            raise ValueError(f"`xi` must be a permutation of range(N) = range({N}) (got {xi!r})")
        L = _check_L(P)
        S, Sc = [int(v) for v in xi[:d]], [int(v) for v in xi[d:]]
        piS = [mpmath.fsum(r[o] for o in S) for r in P]
        piSc = [mpmath.fsum(r[o] for o in Sc) for r in P]
        H = [_dot(r, l) for r, l in zip(P, L)]  # negative entropy
        meanlog = [mpmath.fsum(r[o] * l[o] for o in Sc) / s for r, l, s in zip(P, L, piSc)]
        Hs = {"mean-log": meanlog, "conditional": [m - mpmath.log(s) for m, s in zip(meanlog, piSc)]}

        def logits(off):
            F = [list(l) for l in L]
            for t in range(T):
                for o in Sc:
                    F[t][o] = off[t]
            return F

        formulas = {}
        for R in H_READINGS:
            F = logits([h + mpmath.log(s) for h, s in zip(Hs[R], piSc)])
            div = _dot(p, [mpmath.log(a + b * (N - d) * mpmath.exp(h)) for a, b, h in zip(piS, piSc, Hs[R])])
            formulas[f"wls[{R}]"] = {"logits": _matrix(F), "divergence": div, "kl_of_logits": _dot(p, _kl_rows(P, F))}
        F = logits(H)
        formulas["ls"] = {"logits": _matrix(F),
                          "divergence": _dot(p, [mpmath.log(a + (N - d) * mpmath.exp(h)) for a, h in zip(piS, H)]),
                          "kl_of_logits": _dot(p, _kl_rows(P, F))}

        numeric = {}
        eS = np.eye(N)[:, S]
        for name, W_U in (("wls[W=e_Sd]", eS), ("wls[W=f_ls-uniform]", None)):
            try:
                lr = f_wls_mp(prior, cond, d, W_U, dps=dps)
                numeric[name] = {"logits": lr.F, "divergence": lr.divergence(prior, cond, dps=dps)}
            except ValueError as exc:  # NotUnique included: recorded, as the float64 code records its refusals
                numeric[name] = {"logits": None, "divergence": None, "error": str(exc)}
        for r in SIGMA_READINGS:
            try:
                lr = _f_ls(p, P, L, d, r, dps)
                numeric[f"ls[{r}]"] = {"logits": lr.F, "divergence": _dot(p, _kl_rows(P, _rows_of("F", lr.F)))}
            except NotUnique as exc:
                numeric[f"ls[{r}]"] = {"logits": None, "divergence": None, "error": str(exc)}

        def cent(Fm):
            rows = _rows_of("F", Fm)
            return [[v - mpmath.fsum(r) / len(r) for v in r] for r in rows]

        mismatch = {}
        for a, fa in formulas.items():
            for b, nb in numeric.items():
                if a[:2] != b[:2] or nb["logits"] is None:
                    continue
                ca, cb = cent(fa["logits"]), cent(nb["logits"])
                mismatch[f"{a} vs {b}"] = {
                    "logits": max(abs(x - y) for ra, rb in zip(ca, cb) for x, y in zip(ra, rb)),
                    "divergence": abs(fa["divergence"] - nb["divergence"])}
        better = {f"formula[{R}]": formulas[f"wls[{R}]"]["divergence"] < formulas["ls"]["divergence"]
                  for R in H_READINGS}
        better["formula-logits[conditional]"] = (formulas["wls[conditional]"]["kl_of_logits"]
                                                 < formulas["ls"]["kl_of_logits"])
        for r in SIGMA_READINGS:
            for w in ("wls[W=e_Sd]", "wls[W=f_ls-uniform]"):
                if numeric[w]["divergence"] is not None and numeric[f"ls[{r}]"]["divergence"] is not None:
                    better[f"numeric {w} < ls[{r}]"] = numeric[w]["divergence"] < numeric[f"ls[{r}]"]["divergence"]
        return {"S_d": np.asarray(S), "formulas": formulas, "numeric": numeric, "mismatch": mismatch,
                "wls_strictly_better": better}


# --------------------------------------------------------------------------- paper.prop3


def _one_hot_targets(cond):
    P = check_rows_stochastic("cond", cond)
    ok = np.all((P == 0) | (P == 1), axis=1) & (P.max(axis=1) == 1)
    if not ok.all():
        raise ValueError("`cond` violates Assumption 1 (association: every pi_t one-hot)")
    return P, np.argmax(P, axis=1)


def _prop3_rows(g, N, s):
    two_pi = 2 * mpmath.pi
    cos = [mpmath.cos(two_pi * k / N) for k in range(N)]  # cos(2 pi k/N), k = (o - g) mod N
    return [[s * cos[(o - int(gt)) % N] for o in range(N)] for gt in g]


def prop3_logits_mp(cond, d: int, scale, *, dps: int = DPS) -> mpmath.matrix:
    """Logits of the ``paper.prop3`` family: ``F_{t,o} = s cos(2 pi (o - g(t))/N)``, exact (``(T, N)``).

    The family ``w_j = (cos 2 pi j/N, sin 2 pi j/N, 0, ...)``, ``E(t) = s w_{g(t)}``
    of :func:`theory.exact.prop3_family`, whose logits are ``s w_o . w_g``;
    here with mpmath's ``cos`` (the float64 ``W`` carries 1e-16 rounding).
    Needs Assumption 1 and ``d >= 2`` (``d`` adds zero coordinates only).

    References
    ----------
    ``paper.prop3`` (paper Proposition 3).
    """
    check_int("d", d, minimum=2)
    P, g = _one_hot_targets(cond)
    with mpmath.workdps(dps):
        s = _mp(check_positive("scale", scale, allow_zero=True)) if not isinstance(scale, mpmath.mpf) else scale
        return _matrix(_prop3_rows(g, P.shape[1], s))


def prop3_divergence_mp(prior, cond, d: int, scale, *, dps: int = DPS):
    """``dKL`` of the ``paper.prop3`` family at scale ``s`` (``paper.prop3[limit]``; measured side of ``rate-*``).

    Needs Assumption 1 and ``d >= 2`` (:func:`prop3_logits_mp`).

    References
    ----------
    ``paper.prop3[limit]`` (paper Proposition 3).
    """
    with mpmath.workdps(dps):
        return kl_mp(prior, cond, prop3_logits_mp(cond, d, scale, dps=dps), dps=dps)


def prop3_divergence_rate_mp(prior, cond, d: int, scales, *, dps: int = DPS) -> dict:
    """Twin of :func:`theory.exact.prop3_divergence_rate` (``paper.prop3[rate-exact]``, ``[rate-upper]``).

    With ``gamma_k = 1 - cos(2 pi k/N)``: ``exact`` ``log(1 + sum_{k=1}^{N-1} e^{-s gamma_k})``
    (``log1p``), ``upper`` ``(N-1) e^{-s gamma_1}``, ``asymptotic``
    ``m e^{-s gamma_1}`` (``m = 2`` for ``N >= 3``, 1 for ``N = 2``), ``measured``
    :func:`prop3_divergence_mp`. Lists of ``mpf`` over ``scales``; ``gamma1`` an ``mpf``.

    References
    ----------
    ``paper.prop3[rate-exact]``, ``paper.prop3[rate-upper]`` (paper Proposition 3).
    """
    s = check_array("scales", scales, ndim=1)
    if (s < 0).any():
        raise ValueError(f"`scales` must be >= 0 (got min {s.min():.3g})")
    P, _ = _one_hot_targets(cond)
    N = P.shape[1]
    with mpmath.workdps(dps):
        gam = [1 - mpmath.cos(2 * mpmath.pi * k / N) for k in range(1, N)]
        g1 = min(gam)
        mult = 2 if N >= 3 else 1
        sm = [mpmath.mpf(float(x)) for x in s]
        return {"scales": sm,
                "measured": [prop3_divergence_mp(prior, cond, d, x, dps=dps) for x in sm],
                "exact": [mpmath.log1p(mpmath.fsum(mpmath.exp(-x * gk) for gk in gam)) for x in sm],
                "upper": [(N - 1) * mpmath.exp(-x * g1) for x in sm],
                "asymptotic": [mult * mpmath.exp(-x * g1) for x in sm],
                "gamma1": g1}
