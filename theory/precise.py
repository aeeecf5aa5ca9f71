"""The 50-digit backend: NumPy object arrays of ``mpmath.mpf`` as an array namespace, to confirm counterexamples.

The claims ledger reports a claim as ``fails`` only after the violating instance has been re-evaluated at
``dps`` digits (default 50): both sides recomputed from the same instance (the float64 ``prior (T,)`` and
``cond (T, N)`` and the claim's parameters), and the inequality decided here (:func:`decide_mp`). There is
no twin of any formula: every public function of ``theory.divergence``, ``theory.spectra``,
``theory.lowrank``, ``theory.bounds``, ``theory.lookup`` and ``theory.exact`` that the re-checks use takes
``dps=``, and runs its ONE kernel with ``xp=MP`` (:class:`MPNamespace`: per-matrix SVD / QR / solve,
``fsum`` reductions) on the instance converted here (:func:`exact_task`, :func:`exact_rows`,
:func:`exact_array`, :func:`run_exact`). The independence of the re-check rests on the reference formulas
of tests/reference.py, against which every kernel is tested in float64 and at 50 digits. What is this
module's own: the namespace, the conversions (:func:`exact_task`, ...), :func:`decide_mp`, and the
resolution policy (:class:`NotUnique`, :class:`MPPolicy`).

Conventions of a ``dps=`` evaluation
------------------------------------
- Inputs are float64 arrays (or object arrays of mpf / ``mpmath.matrix`` for logits and maps), validated
  by the float64 checks (same ``ValueError`` messages) and converted EXACTLY; the prior and each row of
  ``cond`` are then divided by their exact sums, so the instance IS a distribution (moves an entry by
  ``<= |1 - row sum|``).
- Everything runs under ``mpmath.workdps(dps)`` (:func:`working`). Scalars come back as ``mpf``, arrays as
  object arrays of mpf in the float64 function's shapes; :func:`to_float` turns either into float64.
  Compare the numbers inside a ``workdps(dps)`` block or with :func:`decide_mp`.
- Assumption 2: every function of ``L = log Pi`` needs full support, as in float64, and refuses a zero of
  ``cond`` with the same ``ValueError``.
- No overflow: where float64 returns ``+inf`` above float max, the exact value is returned (vacuous
  look-up bounds, ``C >= 1/2``, stay ``mpmath.inf``).
- Resolution: a result is good to :func:`resolution` ``= 10^{-dps/2}`` relative. Where the map is not
  determined to that accuracy, :class:`NotUnique` is raised with the reason (a tie at the cut of a
  truncated SVD, a rank decision at its threshold, a ``d x d`` system of condition above ``10^{dps/2}``,
  a dependent column in the gauge step); float64's own limits (``WLS_COND_MAX``, ``ONES_IN_IMAGE_TOL``)
  are not part of the maps and do not apply here.
- Cost: pure-Python mpmath, ~1e4 times numpy: well under a second per function at ``T, N <= 8``,
  except the alternating fit with the ledger's 50 sweeps (~1-3 s).
"""

from __future__ import annotations

import mpmath
import numpy as np
from mpmath.libmp import to_float as mpf_to_float

from .validate import check_array, check_int, check_prior_cond, check_rows_stochastic, mark_failed

__all__ = [
    "DPS", "NotUnique", "resolution", "to_float", "decide_mp", "MPNamespace", "MPPolicy", "MP",
    "default_dps", "working", "exact_task", "exact_rows", "exact_log", "exact_stack", "exact_number", "exact_array", "run_exact",
    "float64_exactly",
]

#: Default working precision, decimal digits.
DPS = 50

# The float64 prescreen of a condition number (:func:`_cond_exceeds`): the singular values are within
# _EIG_C max(n, d) eps max|R| of the exact ones (generous for LAPACK's backward error plus the entries' rounding).
_EIG_C = 64.0


class NotUnique(ValueError):
    """The map asked for is not determined at the working precision (the message says why).

    Raised instead of an arbitrary answer: ties at the cut of a truncated SVD, a rank decision at its
    threshold, a singular ``d x d`` system, a dependent gauge column (module docstring, "Resolution").
    """


def resolution(dps: int = DPS):
    """``10^{-floor(dps/2)}``: the relative accuracy every result of this module is good to.

    >>> mpmath.nstr(resolution(50), 3)
    '1.0e-25'
    """
    dps = check_int("dps", dps, minimum=10)
    with mpmath.workdps(dps):
        return _tau()


def _tau():
    return mpmath.mpf(10) ** (-(mpmath.mp.dps // 2))


# --------------------------------------------------------------------------- conversion


def _obj(rows):
    """An ``mpmath.matrix``, or (nested lists / arrays of) numbers, as a NumPy object array of mpf."""
    if isinstance(rows, mpmath.matrix):
        rows = [[rows[i, j] for j in range(rows.cols)] for i in range(rows.rows)]
    return MP.asarray(rows)


def exact_array(name, X, *, shape=None, finite=True):
    """``X`` as a 2-d object array of exact mpf: a float64 array-like (converted exactly), an ``mpmath.matrix`` or
    an object array of numbers; ``ValueError`` naming ``name`` on NaN/inf (when ``finite``) or a wrong ``shape``."""
    if isinstance(X, mpmath.matrix) or (isinstance(X, np.ndarray) and X.dtype == object):
        a = _obj(X) if not isinstance(X, mpmath.matrix) or X.cols else np.empty((X.rows, 0), dtype=object)
        if a.ndim != 2:
            raise ValueError(f"`{name}` must be 2-dimensional (got shape {a.shape})")
        if finite and not MP.isfinite(a).all():
            raise ValueError(f"`{name}` contains NaN or inf")
    else:
        a = MP.asarray(check_array(name, X, ndim=2, finite=finite))
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)} (got {a.shape})")
    return a


def _mat(a):
    """A 2-d object array as an ``mpmath.matrix``."""
    a = np.asarray(a)
    return mpmath.matrix(a.tolist()) if a.size else mpmath.matrix(*a.shape)


def _normalised(a):
    """Each row of ``a`` (object array) divided by its exact sum at the working precision."""
    s = MP.sum(a, axis=-1, keepdims=True)
    return np.where(s == 1, a, a / s)


def default_dps() -> int:
    """The digits of a ``dps=`` evaluation that names none (a map held as mpf): those in force, at least :data:`DPS`."""
    return max(DPS, mpmath.mp.dps)


def working(dps):
    """``mpmath.workdps(dps)`` once ``dps`` is checked (an int ``>= 10``): the context of every ``dps=`` branch."""
    return mpmath.workdps(check_int("dps", dps, minimum=10))


def float64_exactly(name, x):
    """``x`` as it is, or an object array (of ``mpf``) as float64 when every entry is a float64 number exactly;
    otherwise a ``ValueError`` naming ``name``: an instance is never rounded to float64 silently."""
    a = np.asarray(x) if isinstance(x, np.ndarray) else x
    if not (isinstance(a, np.ndarray) and a.dtype == object):
        return x
    out = np.empty(a.shape, dtype=np.float64)
    for i, v in np.ndenumerate(a):
        out[i] = float(v)
        if mpmath.mpf(out[i]) != v:
            raise ValueError(f"`{name}` holds a value that is not a float64 number ({v}): the dps= evaluations "
                             "take the instance's own float64 arrays")
    return out


def exact_task(prior, cond):
    """``(p (T,), P (T, N))``: the validated instance (float64 checks, same messages), exact and each vector
    divided by its exact sum (module docstring, "Conventions"). Use under :func:`working`."""
    pf, Pf = check_prior_cond(float64_exactly("prior", prior), float64_exactly("cond", cond))
    return _normalised(MP.asarray(pf)), _normalised(MP.asarray(Pf))


def exact_rows(cond):
    """The validated rows of ``cond``, exact, each divided by its exact sum, ``(T, N)``."""
    return _normalised(MP.asarray(check_rows_stochastic("cond", float64_exactly("cond", cond))))


def exact_log(P):
    """``L = log Pi`` of exact rows; Assumption 2 (full support) required, message as ``theory.spectra.log_probs``."""
    zero = np.argwhere(P <= 0)
    if zero.size:
        r, c = zero[0]
        raise ValueError(f"`cond` violates Assumption 2 (full support): pi({c}|t={r}) = 0, so log Pi is -inf")
    return MP.log(P)


def exact_stack(prior, cond):
    """``(p (1, T), P (1, T, N), L (1, T, N))``: one exact instance as a stack for the fit kernels (Assumption 2)."""
    p, P = exact_task(prior, cond)
    return p[None], P[None], exact_log(P)[None]


def exact_number(name, x):
    """``x`` (an mpf, int or float, NumPy scalars included) as an exact ``mpf`` (a float64 converts exactly);
    ``ValueError`` naming ``name`` for anything else (a string, ``None``, a bool, a complex number)."""
    x = x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (mpmath.mpf, int, float, np.integer, np.floating)):
        raise ValueError(f"`{name}` must be a real number (got {type(x).__name__}: {x!r})")
    return x if isinstance(x, mpmath.mpf) else mpmath.mpf(int(x) if isinstance(x, (int, np.integer)) else float(x))


def run_exact(kernel, *args, **kwargs):
    """``kernel(*args, ok, why, xp=MP, **kwargs)`` on one instance (a stack of one); :class:`NotUnique` with the
    kernel's reason when it refuses the instance."""
    ok, why = np.ones(1, dtype=bool), np.full(1, "", dtype=object)
    out = kernel(*args, ok=ok, why=why, xp=MP, **kwargs)
    if not ok[0]:
        raise NotUnique(why[0])
    return out


def to_float(x):
    """An mpmath number, matrix or list of numbers as float64 (a ``(T, 1)`` matrix becomes a 1-d array).

    Rounding to nearest; values beyond float64's range become ``inf`` / ``0``. A NumPy array (float64, or
    an object array of mpf) keeps its shape. NaN is refused (``ValueError`` naming ``x``).
    """
    if isinstance(x, mpmath.matrix):
        a = np.array([[float(x[i, j]) for j in range(x.cols)] for i in range(x.rows)], dtype=np.float64)
        out = a[:, 0] if x.cols == 1 else a
    elif isinstance(x, (list, tuple)):
        out = np.array([float(exact_number("x", v)) for v in x], dtype=np.float64)
    elif isinstance(x, np.ndarray):
        out = np.array([float(exact_number("x", v)) for v in x.ravel()], dtype=np.float64).reshape(x.shape)
    else:
        out = float(exact_number("x", x))
    if np.isnan(out).any():
        raise ValueError("`x` contains NaN (no function of aotmem.theory.precise returns NaN)")
    return out


# --------------------------------------------------------------------------- the mp array namespace


def _mp_sum(x, axis=None, keepdims=False):
    """``mpmath.fsum`` along ``axis`` (one rounding per sum), NumPy's signature."""
    x = np.asarray(x, dtype=object)
    if axis is None:
        out = np.asarray(mpmath.fsum(x.ravel()), dtype=object)
        return out.reshape((1,) * x.ndim) if keepdims else out[()]
    axis = axis % x.ndim if isinstance(axis, int) else tuple(a % x.ndim for a in axis)
    axes = (axis,) if isinstance(axis, int) else axis
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    lead = moved.shape[:moved.ndim - len(axes)]
    flat = moved.reshape(lead + (-1,))
    out = np.empty(lead, dtype=object)
    for i in np.ndindex(lead):
        out[i] = mpmath.fsum(flat[i])
    if keepdims:
        out = np.expand_dims(out, axes)
    return out[()] if out.ndim == 0 else out


def _mp_mean(x, axis=None, keepdims=False):
    n = np.asarray(x).size if axis is None else np.shape(x)[axis]
    return _mp_sum(x, axis, keepdims) / n


def _mp_einsum(spec, *ops):
    """``np.einsum`` with each contraction an ``mpmath.fsum`` of the products."""
    ins, out = spec.split("->")
    summed = "".join(c for c in dict.fromkeys(ins.replace(",", "")) if c not in out)
    prod = np.einsum(f"{ins}->{out}{summed}", *(np.asarray(o, dtype=object) for o in ops))
    return _mp_sum(prod.reshape(prod.shape[:len(out)] + (-1,)), axis=-1) if summed else prod


def _mp_matmul(a, b):
    """``a @ b`` (NumPy's rules, 1-d operands included) with each entry an ``mpmath.fsum`` of its products."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    va, vb = a.ndim == 1, b.ndim == 1
    out = _mp_sum((a[None] if va else a)[..., :, :, None] * (b[:, None] if vb else b)[..., None, :, :], axis=-2)
    out = out[..., 0, :] if va else out
    return (out[..., 0] if vb else out)[()]


def _per_matrix(fn, A, *rest):
    """``fn`` on each matrix of the stack ``A (..., m, n)`` (and of ``rest``): its outputs stacked."""
    lead = A.shape[:-2]
    outs = [fn(A[i], *(r[i] for r in rest)) for i in np.ndindex(lead)] or [fn(np.zeros(A.shape[-2:]), *(
        np.zeros(r.shape[-2:]) for r in rest))]
    single = not isinstance(outs[0], tuple)
    res = []
    for k in range(1 if single else len(outs[0])):
        parts = [o if single else o[k] for o in outs]
        arr = np.empty((len(parts),) + np.shape(parts[0]), dtype=object)
        for j, v in enumerate(parts):
            arr[j] = v
        res.append(arr.reshape(lead + np.shape(parts[0])))
    return res[0] if single else tuple(res)


def _svd1(a):
    """``(s, Vt)`` of one matrix: singular values descending and the matching right singular vectors."""
    _, S, V = mpmath.svd_r(_mat(a), full_matrices=False, compute_uv=True)
    order = sorted(range(S.rows), key=lambda i: -S[i])
    return np.array([S[i] for i in order], dtype=object), _obj(V)[order]


def _qr1(a):
    """``(Q, R)`` of one ``(m, n)`` matrix: Gram-Schmidt with one reorthogonalisation (twice is enough), ``R = Q^T a``;
    ``m < n``: the Q of the first ``m`` columns. A column dependent to the last digit gives a zero column of Q."""
    Q = []
    for v in (list(a[:, j]) for j in range(min(a.shape))):
        for q in Q * 2:
            c = mpmath.fdot(q, v)
            v = [x - c * y for x, y in zip(v, q)]
        nv = mpmath.sqrt(mpmath.fdot(v, v))
        Q.append([x / nv for x in v] if nv else v)
    Q = np.array(Q, dtype=object).T.reshape(a.shape[0], -1)
    return Q, _mp_matmul(Q.T, a)


def _solve1(a, b):
    """``a^{-1} b`` by Gaussian elimination with partial pivoting; NaN when ``a`` is singular (the policy has
    marked the instance: the value is not used)."""
    n, k = a.shape[0], b.shape[1]
    M = [list(a[i]) + list(b[i]) for i in range(n)]
    for j in range(n):
        p = max(range(j, n), key=lambda i: abs(M[i][j]))
        if not M[p][j]:
            return np.full(b.shape, mpmath.nan, dtype=object)
        M[j], M[p] = M[p], M[j]
        for i in range(j + 1, n):
            f = M[i][j] / M[j][j]
            M[i] = [x - f * y for x, y in zip(M[i], M[j])]
    X = [None] * n
    for i in reversed(range(n)):
        X[i] = [(M[i][n + c] - mpmath.fdot(M[i][i + 1:n], [X[r][c] for r in range(i + 1, n)])) / M[i][i]
                for c in range(k)]
    return np.array(X, dtype=object).reshape(b.shape)


class _MPLinalg:
    """The ``linalg`` of :data:`MP`: stacked ``norm``, ``svd``, ``qr``, ``solve`` (one mpmath call per matrix)."""

    @staticmethod
    def norm(x, axis=-1):
        return MP.sqrt(_mp_sum(x * x, axis=axis))

    @staticmethod
    def svd(A, full_matrices=False, compute_uv=True):
        s, Vt = _per_matrix(_svd1, np.asarray(A, dtype=object))
        return (None, s, Vt) if compute_uv else s

    @staticmethod
    def qr(A):
        return _per_matrix(_qr1, np.asarray(A, dtype=object))

    @staticmethod
    def solve(A, b):
        return _per_matrix(_solve1, np.asarray(A, dtype=object), np.asarray(b, dtype=object))


_MPF = np.frompyfunc(lambda v: v if isinstance(v, mpmath.mpf) else mpmath.mpf(v), 1, 1)


def _mp_asarray(x):
    """``x`` as an object array of mpf (exact from a float or an int)."""
    a = np.asarray(x, dtype=object)
    out = np.empty(a.shape, dtype=object)
    out[...] = _MPF(a)
    return out


def _cond_exceeds(R):
    """Per matrix of ``R (..., n, d)``: ``cond(R^T R) > 10^{dps/2}`` (``R^T R`` formed only where float64 cannot decide).

    Decided in float64 where that is certain: the float64 singular values of ``R / max|R|`` are within
    ``delta = 64 max(n, d) eps`` of the exact ones (Weyl: the entries' rounding and the SVD's backward error),
    and ``cond(R^T R) = cond(R)^2``, so ``((s_max + delta) / (s_min - delta))^2 <= 10^{dps/2}`` proves the
    condition small, up to ``cond(R^T R) ~ 10^{24}`` (from ``R^T R``'s own eigenvalues float64 could only reach
    ``~10^{13}``); otherwise ``eigsy`` of ``R^T R`` at the working digits.
    """
    lim = 1 / _tau()
    out = np.zeros(R.shape[:-2], dtype=bool)
    n, d = R.shape[-2:]
    delta = _EIG_C * max(n, d) * np.finfo(np.float64).eps
    for i in np.ndindex(out.shape):
        Rf = np.array([[mpf_to_float(v._mpf_) if isinstance(v, mpmath.mpf) else float(v) for v in r] for r in R[i]])
        with np.errstate(all="ignore"):
            m = np.max(np.abs(Rf))
            sv = np.linalg.svd(Rf / m, compute_uv=False) if np.isfinite(m) and m > 0 and n >= d else np.array([0.0])
        if sv[-1] - delta > 0 and ((sv[0] + delta) / (sv[-1] - delta)) ** 2 <= min(float(lim), 1e300):
            continue
        ev = mpmath.eigsy(_mat(_mp_matmul(np.swapaxes(R[i], -1, -2), R[i])), eigvals_only=True)
        lo, hi = min(ev), max(ev)
        out[i] = lo <= 0 or hi / lo > lim
    return out


class MPPolicy:
    """The refusals of the fit kernels at the working digits (``theory.lowrank.Float64Policy``'s slots).

    Only what is not determined at ``10^{-dps/2}`` is refused, as :class:`NotUnique`: the float64 rank rule
    (``RANK_RTOL``, :func:`theory.lowrank.centring_noise`) mirrored and refused at its threshold, a tie at
    the cut of the truncated SVD, a ``draft.lemma-wls`` system or W-step of condition above ``10^{dps/2}``,
    a dependent column of the gauge step, an objective at float64's rounding floor (where the float64
    sweeps stop). Float64's ``WLS_COND_MAX`` and the tests on ``W_U`` are float64 limits: not applied.
    """

    @staticmethod
    def check_W(W, ok, why, where=""):
        """Singular systems are refused where they arise (:meth:`mark_cond_A`)."""

    @staticmethod
    def mark_rank(s, noise, r, d, reading, ok, why, rtol):
        tau, dps = _tau(), mpmath.mp.dps
        for b in np.flatnonzero(ok):
            sb, s1, k, b = list(s[b]), s[b][0], min(int(r[b]), d), np.arange(ok.size) == b
            msg = f"f_ls ({reading}): the numerical rank is undetermined at {dps} digits: "
            if s1 > 0 and abs(s1 - noise[b][0]) <= tau * noise[b][0]:
                mark_failed(ok, why, b, msg + f"sigma_1 = {mpmath.nstr(s1, 8)} is within 10^-{dps // 2} of "
                            "float64's centring noise")
            elif s1 > noise[b][0] and any(abs(v - rtol * s1) <= tau * s1 for v in sb):
                mark_failed(ok, why, b, msg + f"a singular value is within 10^-{dps // 2} sigma_1 of the "
                            "float64 rank threshold RANK_RTOL sigma_1")
            elif 0 < k < len(sb) and sb[k - 1] - sb[k] <= tau * s1:
                mark_failed(ok, why, b, f"f_ls ({reading}): the rank-{k} truncated SVD is not unique at {dps} "
                            f"digits: sigma_{k} - sigma_{k + 1} = {mpmath.nstr(sb[k - 1] - sb[k], 5)} <= "
                            f"10^-{dps // 2} sigma_1 (sigma_1 = {mpmath.nstr(s1, 8)})")

    @staticmethod
    def mark_cond_A(M, R, W, ok, why, where):
        """``A_t = R_t^T R_t`` singular at the working digits: ``cond(R_t)^2 > 10^{dps/2}``, or ``R_t`` within
        ``10^{-dps/2} max|W_U|`` of 0 (the columns of ``W_U`` in ``span(1)`` to the working digits)."""
        small = np.max(np.abs(R), axis=(-2, -1)) <= _tau() * np.max(np.abs(W), axis=(-2, -1))[:, None]
        bad = small | _cond_exceeds(R)
        mark_failed(ok, why, bad.any(axis=1), "draft.lemma-wls system A_t = W_U^T "
                    f"(I_pi - pi pi^T) W_U: singular at {mpmath.mp.dps} digits (condition number above "
                    f"10^{mpmath.mp.dps // 2}){where}")

    @staticmethod
    def mark_spd(A, ok, why, k, gram):  # noqa: ARG004 (decided from the factor, not from A)
        """``gram = (Wt (G, T, N), E (G, T, d))``: ``A_o = R_o^T R_o``, ``R_o = sqrt(Wt[:, :, o]) E``, whose condition
        float64 can prove small over a far wider range than ``A``'s (:func:`_cond_exceeds`)."""
        Wt, E = gram
        R = MP.sqrt(np.swapaxes(Wt, 1, 2))[:, :, :, None] * E[:, None, :, :]  # (G, N, T, d)
        bad = _cond_exceeds(R)
        mark_failed(ok, why, bad.any(axis=1), f"W-step of f_wls_alternating (sweep {k}): singular "
                    f"at {mpmath.mp.dps} digits (condition number above 10^{mpmath.mp.dps // 2})")

    @staticmethod
    def mark_dependent(X, R, ok, why, what):
        diag = np.abs(np.diagonal(R, axis1=-2, axis2=-1))
        cols = MP.sqrt(MP.sum(X * X, axis=-2))
        mark_failed(ok, why, (diag <= _tau() * cols).any(axis=-1), f"{what}: a column is dependent on the others "
                    "at the working precision (the float64 QR returns a rounding-determined direction there)")

    @staticmethod
    def mark_floor(cur, floor, active, ok, why, k):
        near = np.array([bool(a and c > 0 and abs(c - f) <= _tau() * f) for a, c, f in zip(active, cur, floor)])
        mark_failed(ok, why, near, f"f_wls_alternating: the objective is within 10^-{mpmath.mp.dps // 2} of "
                    f"float64's rounding floor of an exact fit, where the float64 sweeps stop (sweep {k})")


class MPNamespace:
    """NumPy for object arrays of ``mpmath.mpf``: the kernels' ``xp`` at the working digits.

    Elementwise arithmetic, ``where`` and indexing are NumPy's own on object arrays; the transcendental
    functions are mpmath's (``np.frompyfunc``), reductions and contractions ``mpmath.fsum``, ``linalg``
    one mpmath call per matrix of a stack. ``EXP_OVERFLOW`` is ``inf``, ``EXP3_TERMS`` follows the working
    digits, KL rows take the cancellation-free form, and the fits refuse by :class:`MPPolicy`. Use under
    ``mpmath.workdps``.
    """

    exp = staticmethod(np.frompyfunc(mpmath.exp, 1, 1))
    log = staticmethod(np.frompyfunc(mpmath.log, 1, 1))
    log1p = staticmethod(np.frompyfunc(mpmath.log1p, 1, 1))
    expm1 = staticmethod(np.frompyfunc(mpmath.expm1, 1, 1))
    sqrt = staticmethod(np.frompyfunc(mpmath.sqrt, 1, 1))
    cos = staticmethod(np.frompyfunc(mpmath.cos, 1, 1))
    pi = mpmath.pi
    isfinite = staticmethod(lambda x: np.asarray(np.frompyfunc(mpmath.isfinite, 1, 1)(x), dtype=bool))
    asarray = staticmethod(_mp_asarray)
    sum = staticmethod(_mp_sum)
    mean = staticmethod(_mp_mean)
    matmul = staticmethod(_mp_matmul)
    einsum = staticmethod(_mp_einsum)
    linalg = _MPLinalg
    policy = MPPolicy
    EXP_OVERFLOW = mpmath.inf
    KL_CANCELLATION_FREE = True

    @property
    def EPS(self):  # the working precision's epsilon (theory.lookup.lambda_root_kernel's stopping rule)
        return mpmath.eps

    @property
    def EXP3_TERMS(self) -> int:  # 0.1^k / k! below 10^-(dps+3) of the leading term
        return mpmath.mp.dps + 4

    def __getattr__(self, name):
        return getattr(np, name)

    def __repr__(self) -> str:
        return "MPNamespace()"


#: The array namespace of this module's kernels (:class:`MPNamespace`).
MP = MPNamespace()


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
        a, b = exact_number("lhs", lhs), exact_number("rhs", rhs)
        if mpmath.isnan(a) or mpmath.isnan(b):
            raise ValueError(f"`lhs`/`rhs` must not be NaN (got {a}, {b})")
        if mpmath.isinf(a) or mpmath.isinf(b):  # exact comparison (e.g. a vacuous bound, inf)
            ok = {"<=": a <= b, ">=": a >= b, ">": a > b, "==": a == b}[sense]
            return "holds" if ok else "violated"
        diff = a - b
        res = _tau() * max(abs(a), abs(b)) + exact_number("atol", atol)
        if sense == "==":
            return "holds" if abs(diff) <= res else "violated"
        if sense == ">=":
            diff = -diff
        elif sense == ">":
            return "holds" if diff > res else ("violated" if diff < -res else "unresolved")
        return "violated" if diff > res else ("holds" if diff < -res else "unresolved")
