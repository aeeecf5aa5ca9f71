"""The look-up-table encoder of ``draft.lookup-theorem`` (D.6) and its bounds (seed, draft, paper).

Construction (docs/theory.md#d6): ``W in R^{N x d}`` with rows ``w_j`` and
``||W W^T - I||_max <= C = sqrt(32 log(N+1) / d)`` (Johnson-Lindenstrauss);
``g(t) = argmax_o pi(o|t)``; the encoder is ``f(t) = lambda(t) W w_{g(t)}``
with ``lambda(t)`` solving

    h(pi_t) = log sum_j exp(lambda a_j),   a_j = (w_j - w_g)^T w_g,

``h`` the Shannon entropy (the sources write ``e^{-H}`` with ``H = -h``).
Since ``a_g = 0``, the model puts mass ``e^{-h}`` on ``g(t)``.

Bounds (all with ``psi(h) = log((N-1)/(e^h - 1))`` and ``q_t = 1 - pi(g(t)|t)``):

- ``seed.lookup-bound``: ``E_t[q_t psi(h_t)] (1+4C)/(1-2C)``;
- ``draft.lookup-theorem``: ``E_t[q_t psi(h_t) (1 + 2C + C dTV(pi~_t, unif))] / (1-2C)``;
- ``paper.theorem2``: the draft form restated (``constant="dtv"``) or with the
  seed's constant (``constant="4C"``), and the *simplified* form
  ``E_t[q_t] (1+4C)/(1-2C) psi(E_t[h_t])``.

Convention (shared with ``theory.bounds``): a bound is a ``float``; when it is
vacuous (``C >= 1/2``) it is ``math.inf`` and :func:`lookup_vacuous_reason`
says why. Every bound accepts ``C=`` to evaluate it at another constant (e.g.
the certificate a concrete ``W`` achieves); the default is :func:`lookup_C`.

Precision: every function with a ``dps`` keyword runs its one kernel in float64 (``dps=None``) or at ``dps``
digits on ``theory.precise.MP`` (an ``mpf`` for a scalar, NumPy object arrays of ``mpf`` in the float64
shapes; the instance converted exactly and renormalised, ``theory.precise.exact_task``). At ``dps`` digits a
JL draw enters through its exact Gram matrix (Rademacher entries ``+-r``, or a :class:`JLFactor`'s integer
``K / d``), and a vacuous bound is ``mpmath.inf``.

Limits at the ends of the entropy range (derived, not clipped):

- ``h = 0`` (one-hot row): ``psi = +inf`` but ``q = 0``. For any row,
  ``h >= -log(1-q) >= q`` (Shannon entropy >= min-entropy), so
  ``e^h - 1 >= q`` and ``0 <= q psi(h) <= q log((N-1)/q) -> 0``: the term is 0.
  ``lambda = +inf`` there and the encoder's row divergence tends to 0.
- ``h = log N`` (uniform row): ``psi = 0``, ``lambda = 0``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .divergence import entropy_kernel, expect, kl_rows, kl_rows_kernel
from .validate import check_array, check_int, check_positive, check_prior_cond, check_rows_stochastic

__all__ = [
    "ENTROPY_RTOL",
    "LAMBDA_RESIDUAL_ATOL",
    "JL_KINDS",
    "JLCertificate",
    "JLFactor",
    "jl_factor",
    "LookupEncoder",
    "lookup_C",
    "lookup_vacuous_reason",
    "jl_matrix",
    "jl_certificate",
    "lookup_gaps",
    "lookup_lambda",
    "lookup_lambda_bound",
    "lookup_lambda_lower_bound",
    "lookup_encoder",
    "lookup_psi",
    "lookup_terms",
    "seed_lookup_bound",
    "draft_lookup_bound",
    "draft_lookup_bound_rows",
    "tight_lookup_bound",
    "paper_theorem2_bound",
    "paper_theorem2_simplified",
    "paper_theorem2_simplified_q",
]

# An entropy within this relative distance of log N is log N: the entropy of a
# uniform row is computed as a sum of N rounded terms, off by ~N ulp at most.
ENTROPY_RTOL = 1e-12

# Residual |log sum_{j!=g} e^{lambda a_j} - log(e^h - 1)| of the lambda solver.
# lambda_root_kernel stops at relative step 4 eps in lambda; the residual's slope is
# |a| <= 1 + 2C <= 2 and lambda <= ~50 in float64, so ~1e-13; 1e-10 is margin.
LAMBDA_RESIDUAL_ATOL = 1e-10

JL_KINDS = ("rademacher", "gaussian")


def _check_N_d(N, d):
    return check_int("N", N, minimum=2), check_int("d", d, minimum=1)


def _precise():
    """``theory.precise`` (the ``dps`` branches' namespace and adapters), imported on first use: it imports
    this module's kernels at its own import."""
    from . import precise
    return precise


def _digits(dps):
    """The context of a ``dps`` branch (``theory.precise.working``); nothing for float64 (``dps=None``)."""
    return contextlib.nullcontext() if dps is None else _precise().working(dps)


def _xp(dps):
    """The kernels' array namespace: NumPy for float64, ``theory.precise.MP`` at ``dps`` digits."""
    return np if dps is None else _precise().MP


def _sc(dps):
    """The scalar functions (``sqrt``, ``log``, ``inf``): :mod:`math` for float64, :mod:`mpmath` at ``dps`` digits."""
    return math if dps is None else mpmath


def _exact(x):
    """A kernel's value at ``dps`` digits as an ``mpf`` (a scalar) or an object array of ``mpf`` (the limits'
    ``0.0`` of ``where`` included)."""
    return _precise().MP.asarray(x)[()]


def _rows(cond, dps):
    """The validated rows of ``cond``: float64, or exact and renormalised at ``dps`` digits."""
    return check_rows_stochastic("cond", cond) if dps is None else _precise().exact_rows(cond)


def lookup_C(N: int, d: int, *, dps: int | None = None) -> float:
    """``C = sqrt(32 log(N+1) / d)``, the JL constant of ``seed.lookup-bound`` / ``draft.lookup-theorem``.

    With ``dps``: ``C`` as an ``mpf`` at ``dps`` digits.

    References
    ----------
    ``seed.lookup-bound`` (seed slide "look-up table"), ``draft.lookup-theorem`` (draft D.6): the JL constant.

    >>> round(lookup_C(3, 178), 6) < 0.5 < lookup_C(3, 177)
    True
    """
    N, d = _check_N_d(N, d)
    with _digits(dps):
        sc = _sc(dps)
        return sc.sqrt(32 * sc.log(N + 1) / d)


def lookup_vacuous_reason(N: int, d: int, C: float | None = None) -> str | None:
    """Why the look-up bounds are ``inf`` at ``(N, d)`` (``C >= 1/2``), or ``None`` when they are not.

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6: ``C < 1/2``).

    >>> lookup_vacuous_reason(3, 10)
    'C = sqrt(32 log(N+1)/d) = 2.106 >= 1/2: needs d > 128 log(N+1) = 177.4 (got d=10)'
    >>> lookup_vacuous_reason(3, 200) is None
    True
    """
    N, d = _check_N_d(N, d)
    if C is None:
        c = lookup_C(N, d)
        if c < 0.5:
            return None
        return (f"C = sqrt(32 log(N+1)/d) = {c:.4g} >= 1/2: needs d > 128 log(N+1) = "
                f"{128 * math.log(N + 1):.4g} (got d={d})")
    c = check_positive("C", C, allow_zero=True)
    return None if c < 0.5 else f"C = {c:.4g} >= 1/2: the factor 1/(1-2C) is not positive"


def _check_C(C, dps=None):
    """``C >= 0`` finite: a float, or at ``dps`` digits an exact ``mpf`` (an ``mpf`` given is kept as is)."""
    if dps is not None and isinstance(C, mpmath.mpf):
        if not (mpmath.isfinite(C) and C >= 0):
            raise ValueError(f"`C` must be >= 0 and finite (got {C!r})")
        return C
    c = check_positive("C", C, allow_zero=True)
    return c if dps is None else mpmath.mpf(c)


def _resolve_C(N, d, C, dps=None):
    return lookup_C(N, d, dps=dps) if C is None else _check_C(C, dps)


# ------------------------------------------------------------- JL embeddings

@dataclass(frozen=True)
class JLCertificate:
    """What a drawn ``W`` achieves: ``max_dev = ||W W^T - I||_max`` against ``C``.

    ``holds`` is ``max_dev <= C``; ``tries`` the number of draws made; ``kind``
    the distribution. ``max_dev`` is recomputed from ``W``, never assumed.
    """

    max_dev: float
    C: float
    holds: bool
    tries: int
    kind: str


def jl_certificate(W, C: float | None = None, *, dps: int | None = None) -> float | JLCertificate:
    """``||W W^T - I||_max`` (entrywise max of the Gram error) of ``W (N, d)``.

    With ``C`` given, return a :class:`JLCertificate` comparing the two. With ``dps``: the maximum (and the
    certificate's ``max_dev`` and ``C``) as an ``mpf`` from the exact Gram of the draw (:func:`_gram_exact`),
    not of its float64 rounding.

    References
    ----------
    ``draft.lookup-theorem[jl]`` (draft D.6: ``||W W^T - I||_max <= C``; docs/theory.md#d6); the achieved ``C`` of
    ``draft.lookup-theorem[divergence,C=achieved]`` (docs/theory.md#d6) and ``seed.lookup-bound[C=achieved]``
    (docs/theory.md#s6).

    >>> jl_certificate(np.eye(3))
    0.0
    """
    with _digits(dps):
        if dps is None:
            W = check_array("W", W, ndim=2)
            G = W @ W.T
        else:
            G = _gram_exact(W)
        dev = np.max(np.abs(G - np.eye(len(G))))
        dev = float(dev) if dps is None else dev
        if C is None:
            return dev
        c = _check_C(C, dps)
        return JLCertificate(dev, c, dev <= c, 1, "given")


def _gram_exact(W):
    """``W W^T`` at the working digits (object array); exact for a JL draw.

    A :class:`JLFactor` gives ``K / d`` from its exact integer Gram. A Rademacher ``W`` (every entry ``+-r``,
    one float64 ``r``) has ``W W^T = r^2 K`` with ``K`` the integer matrix of sign products, summed exactly
    in int64 (the search goes to ``d = 2^17``, where summing ``N^2 d`` mpf products would take minutes).
    Any other ``W`` (float64, ``mpmath.matrix``, object array): its entries exactly, products ``fsum``-ed.
    """
    MP = _precise().MP
    exact = getattr(W, "gram_exact", None)  # a JLFactor: the draw's integer Gram K and its width d
    if exact is not None:
        K, d = exact
        return MP.asarray(np.asarray(K, dtype=object)) / int(d)
    if not isinstance(W, mpmath.matrix):
        a = check_array("W", W, ndim=2)
        r = float(abs(a.flat[0])) if a.size else 0.0
        if r > 0 and a.shape[1] < 2**52 and bool(np.all(np.abs(a) == r)):
            S = np.sign(a).astype(np.int64)
            return mpmath.mpf(r) ** 2 * MP.asarray((S @ S.T).astype(object))  # integer matmul: exact
    Wa = _precise().exact_array("W", W)
    return MP.matmul(Wa, Wa.T)


def jl_matrix(N: int, d: int, *, seed=0, tries: int = 20, kind: str = "rademacher",
              C: float | None = None) -> tuple[np.ndarray, JLCertificate]:
    """A random ``W (N, d)``, entries ``±1/sqrt(d)`` (or ``N(0, 1/d)``), with its JL certificate.

    Claim id ``draft.lookup-theorem`` (the JL step). Draws up to ``tries``
    matrices and keeps the first with ``||W W^T - I||_max <= C`` (default
    :func:`lookup_C`), or the best one seen; the certificate reports the
    achieved maximum honestly (``holds=False`` if it exceeds ``C``).

    For Rademacher entries the diagonal is exactly 1 and Hoeffding gives
    ``P(|w_i^T w_j| > C) <= 2 exp(-d C^2 / 2) = 2 (N+1)^{-16}`` per pair.

    References
    ----------
    draft D.6 (the JL embedding ``W``); ``draft.lookup-theorem``.

    >>> W, cert = jl_matrix(3, 200, seed=1)
    >>> W.shape, cert.holds, cert.max_dev == jl_certificate(W)
    ((3, 200), True, True)
    """
    N, d = _check_N_d(N, d)
    tries = check_int("tries", tries, minimum=1)
    if kind not in JL_KINDS:
        raise ValueError(f"`kind` must be one of {JL_KINDS} (got {kind!r})")
    C = _resolve_C(N, d, C)
    rng = np.random.default_rng(seed)
    best, best_dev = None, math.inf
    for k in range(1, tries + 1):
        if kind == "rademacher":
            W = rng.choice(np.array([-1.0, 1.0]), size=(N, d)) / math.sqrt(d)
        else:
            W = rng.standard_normal((N, d)) / math.sqrt(d)
        dev = jl_certificate(W)
        if dev < best_dev:
            best, best_dev = W, dev
        if dev <= C:
            break
    return best, JLCertificate(best_dev, C, best_dev <= C, k, kind)


JL_PATTERN_MAX_N = 16  # 2^(N-1) sign patterns: 32768 at N = 16


class JLFactor(np.ndarray):
    """A float64 ``W' (N, m)`` with ``W' W'^T = K / d`` (rounding aside), carrying the exact Gram.

    ``gram_exact = (K, d)``: ``K`` the integer matrix ``S S^T`` of a Rademacher sign matrix
    ``S (N, d)``. The D.6 encoder depends on ``W`` only through ``W W^T``, so ``W'`` stands for
    the ``N x d`` draw; extended-precision code reads ``gram_exact`` (exact at any ``d``).
    """

    gram_exact: tuple


def jl_factor(N: int, d: int, *, seed=0, tries: int = 20, C: float | None = None) -> tuple[JLFactor, JLCertificate]:
    """A Rademacher JL draw of any width ``d``, given through its Gram matrix (``draft.lookup-theorem``, JL step).

    The columns of a Rademacher sign matrix ``S (N, d)`` are ``d`` i.i.d. uniform sign
    patterns; ``s s^T`` does not see a global sign, so ``K = S S^T = V diag(c) V^T`` with ``V``
    the ``2^(N-1)`` patterns whose last sign is ``+`` and ``c ~ Multinomial(d, uniform)``: the
    same distribution as materialising ``S``, at a cost independent of ``d`` (the search takes
    ``d`` to ``2^40``, i.e. ``C -> 0``). Like :func:`jl_matrix`, up to ``tries`` draws, keeping
    the first with ``max_{i != j} |K_ij| / d <= C`` (default :func:`lookup_C`), else the best.
    The certificate is computed from the integer ``K`` (one rounding).

    References
    ----------
    draft D.6 (the JL embedding ``W``); ``draft.lookup-theorem``.

    >>> W, cert = jl_factor(3, 2**30, seed=1)
    >>> W.shape[0], cert.holds, bool(np.allclose(W @ W.T, W.gram_exact[0] / 2**30, rtol=0, atol=1e-15))
    (3, True, True)
    """
    N, d = _check_N_d(N, d)
    if N > JL_PATTERN_MAX_N:
        raise ValueError(f"`N` must be <= {JL_PATTERN_MAX_N} for jl_factor (2^(N-1) sign patterns; got {N})")
    if d >= 2**53:
        raise ValueError(f"`d` must be < 2^53 so that K = S S^T is exact in int64 and float64 (got {d})")
    tries = check_int("tries", tries, minimum=1)
    C = _resolve_C(N, d, C)
    P = 2 ** (N - 1)
    bits = (np.arange(P)[None, :] >> np.arange(N - 1)[:, None]) & 1
    V = np.vstack([1 - 2 * bits, np.ones((1, P), dtype=np.int64)]).astype(np.int64)  # (N, P) patterns
    rng = np.random.default_rng(seed)
    best = None
    off = ~np.eye(N, dtype=bool)
    for k in range(1, tries + 1):
        c = rng.multinomial(d, np.full(P, 1.0 / P))
        K = (V * c) @ V.T  # exact: int64
        dev = float(np.max(np.abs(K[off]))) / d if N > 1 else 0.0
        if best is None or dev < best[1]:
            best = (c, dev, K)
        if dev <= C:
            break
    c, dev, K = best
    used = c > 0
    W = (V[:, used] * np.sqrt(c[used] / d)).astype(np.float64).view(JLFactor)
    W.gram_exact = (K, d)
    return W, JLCertificate(dev, C, dev <= C, k, "rademacher")


# ------------------------------------------------------------------- lambda

def _check_h(h, N, dps=None):
    """``h`` in ``[0, log N]``; above ``log N`` by at most ``ENTROPY_RTOL`` (rounding) read as ``log N``.
    At ``dps`` digits (under :func:`_digits`): an exact ``mpf`` (from a float, an int or an ``mpf``)."""
    if dps is not None:
        h = _precise().exact_number("h", h)
        if not mpmath.isfinite(h) or h < 0:
            raise ValueError(f"`h` must be a Shannon entropy in [0, log N] (got {h})")
        logN = mpmath.log(N)
        if h > logN * (1 + mpmath.mpf(ENTROPY_RTOL)):
            raise ValueError(f"`h` must be a Shannon entropy in [0, log N] = [0, {mpmath.nstr(logN, 8)}] (got {h})")
        return min(h, logN)
    h = check_positive("h", h, allow_zero=True)
    logN = math.log(N)
    if h > logN * (1 + ENTROPY_RTOL):
        raise ValueError(f"`h` must be a Shannon entropy in [0, log N] = [0, {logN:.6g}] (got {h!r})")
    return min(h, logN) if h > logN else h  # within rounding of log N: that is log N


def _gaps(col, diag, g):
    """``a_j = w_j^T w_g - w_g^T w_g`` from the column ``W w_g`` and ``w_g^T w_g``; ``a_g = 0``."""
    a = col - diag
    a[g] = 0
    return a


def _exact_gaps(G, g):
    """The gaps of row ``g`` from the exact Gram matrix ``G``, an object array of ``mpf``."""
    return _exact(_gaps(G[:, g], G[g, g], g))


def lookup_gaps(W, g: int, *, dps: int | None = None) -> np.ndarray:
    """``a_j = (w_j - w_g)^T w_g`` for all ``j`` (``a_g = 0``), ``(N,)``.

    With ``dps``: the gaps from the exact Gram of ``W`` (:func:`_gram_exact`), an object array of ``mpf``.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6: the gaps ``a_j = (w_j - w_g)^T w_g``).

    >>> lookup_gaps(np.eye(3), 1).tolist()
    [-1.0, 0.0, -1.0]
    """
    if dps is not None:
        with _digits(dps):
            G = _gram_exact(W)
            return _exact_gaps(G, check_int("g", g, minimum=0, maximum=len(G) - 1))
    W = check_array("W", W, ndim=2)
    g = check_int("g", g, minimum=0, maximum=W.shape[0] - 1)
    return _gaps(W @ W[g], W[g] @ W[g], g)


def lookup_lambda(h: float, W, g: int, *, dps: int | None = None) -> float:
    """``lambda`` solving ``h = log sum_j exp(lambda (w_j - w_g)^T w_g)`` (``draft.lookup-theorem``).

    ``phi(lambda) = logsumexp(lambda a)`` (``a`` from :func:`lookup_gaps`) is convex, ``phi(0) = log N``,
    and decreases strictly to ``0`` on ``[0, inf)`` iff every ``a_j < 0`` for ``j != g`` (``||W W^T - I||_max
    < 1/2`` gives ``a_j <= 2C - 1``); then the root is unique: :func:`lambda_root_kernel`, the Newton root
    every precision runs. ``ValueError`` if some ``a_j >= 0`` (no root for small ``h``). Ends: ``h = 0`` gives
    ``+inf`` (``softmax -> delta_g``); ``h = log N`` (within ``ENTROPY_RTOL``) gives ``0``. With ``dps``: the root
    to ``dps`` digits (an ``mpf``; ``h`` a float or an ``mpf``) on the exact gaps of :func:`lookup_gaps`.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6: the equation ``h = phi(lambda)``).

    >>> lam = lookup_lambda(0.5, np.eye(3), 0)
    >>> bool(np.isclose(np.log(1 + 2 * np.exp(-lam)), 0.5))
    True
    """
    with _digits(dps):
        return _lambda(h, lookup_gaps(W, g, dps=dps), int(g), dps)


def _lambda(h, a, g, dps):
    """:func:`lambda_root_kernel` of the checked ``h`` and the gaps ``a``: a float, or an ``mpf`` at ``dps`` digits."""
    lam = lambda_root_kernel(_check_h(h, a.size, dps), a, g, _xp(dps))
    return float(lam) if dps is None else lam


def lambda_root_kernel(h, a, g: int, xp=np):
    """Root ``lambda >= 0`` of ``psi(lambda) = log sum_{j != g} e^{lambda a_j} - log(e^h - 1)``; any ``xp``.

    The D.6 ``lambda`` of ``h in [0, log N]`` (checked by the callers) and the gaps ``a (N,)``, ``a_g = 0``
    (``ValueError`` unless every other ``a_j < 0``). ``psi`` (``log(e^h - 1)``: accurate for small ``h``)
    is convex and strictly decreasing, bracketed by ``lo = top/(-min a)`` (``psi(lo) >= 0``) and
    ``hi = top/(-max a)`` (``psi(hi) <= 0``), ``top = log((N-1)/(e^h-1))`` (:func:`psi_kernel`).
    Safeguarded Newton from ``lo``: on a convex decreasing function it never overshoots; a step leaving
    the bracket is replaced by bisection; the bracket shrinks every iteration. It stops at a relative step
    or bracket of ``4 eps``, ``eps`` of the working precision (float64's, or ``xp.EPS``); float64 lands within
    ~1 eps of the exact root of its rounded equation for ``h <= log N / 2`` (measured; nearer ``log N`` the
    rounding of ``psi`` itself dominates, as it did for the former ``brentq``). Ends: ``h = 0`` gives ``inf``,
    ``h >= log N`` gives 0, all gaps equal gives ``top/(-a)`` exactly.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6: the equation ``h = phi(lambda)``).
    """
    N = len(a)
    others = a[np.arange(N) != g]
    j = int(np.argmax(others))
    if others[j] >= 0:
        raise ValueError(f"`W` makes the lambda equation non-monotone: (w_j - w_g)^T w_g = {float(others[j]):.4g} "
                         f">= 0 for j={j + (j >= g)}, g={g}; the look-up encoder needs every such gap < 0 "
                         "(guaranteed by ||W W^T - I||_max < 1/2)")
    if h == 0:
        return h + math.inf
    if h >= xp.log(N):
        return h * 0
    target = xp.log(xp.expm1(h))
    top = psi_kernel(h, N, xp)  # > 0
    lo, hi = top / -others.min(), top / -others[j]
    if lo >= hi:  # all gaps equal: the root is exactly top / (-a)
        return hi
    eps = 4 * getattr(xp, "EPS", np.finfo(np.float64).eps)
    x = lo
    for _ in range(4096):  # never reached: Newton from the left converges monotonically, quadratically near the root
        y = x * others
        m = y.max()
        e = xp.exp(y - m)
        S = xp.sum(e)
        f = m + xp.log(S) - target
        if f == 0:
            return x
        lo, hi = (x, hi) if f > 0 else (lo, x)
        xn = x - f * S / xp.sum(e * others)
        if abs(xn - x) <= eps * abs(xn):  # before the safeguard: a step below an ulp leaves the bracket
            return xn
        if hi - lo <= eps * hi:
            return (lo + hi) / 2
        x = xn if lo < xn < hi else (lo + hi) / 2
    return (lo + hi) / 2  # pragma: no cover - see the loop


def lookup_lambda_bound(h: float, N: int, C: float, *, dps: int | None = None) -> float:
    """Upper bound of D.6: ``lambda <= log((N-1)/(e^h - 1)) / (1 - 2C)``; ``inf`` if ``C >= 1/2`` or ``h = 0``.

    Derivation (tests/test_symbolic.py): ``a_j <= -(1-2C)`` for ``j != g``, so
    ``e^h - 1 = sum_{j!=g} e^{lambda a_j} <= (N-1) e^{-lambda (1-2C)}``. With ``dps``: the bound as an ``mpf``
    at ``dps`` digits (``h``, ``C``: floats or ``mpf``; ``mpmath.inf`` where float64 gives ``inf``).

    References
    ----------
    ``draft.lookup-theorem[lambda-bound]`` (draft D.6).

    >>> bool(np.isclose(lookup_lambda_bound(0.5, 3, 0.0), lookup_lambda(0.5, np.eye(3), 0)))
    True
    """
    N = check_int("N", N, minimum=2)
    with _digits(dps):
        h = _check_h(h, N, dps)
        C = _check_C(C, dps)
        if C >= 0.5 or h == 0:
            return _sc(dps).inf
        if h >= _sc(dps).log(N):  # psi(log N) = 0 exactly (computed as +-1e-16); lambda = 0 there too
            return h * 0
        psi = lookup_psi(h, N, dps=dps)
        return (float(psi) if dps is None else psi) / (1 - 2 * C)


def lookup_lambda_lower_bound(h: float, N: int, C: float) -> float:
    """Lower companion: ``lambda >= log((N-1)/(e^h - 1)) / (1 + 2C)`` (from ``a_j >= -(1+2C)``).

    References
    ----------
    ``draft.lookup-theorem[lambda-bound]`` (draft D.6, the lower companion derived here).

    >>> bool(np.isclose(lookup_lambda_lower_bound(0.5, 3, 0.0), lookup_lambda(0.5, np.eye(3), 0)))
    True
    """
    N = check_int("N", N, minimum=2)
    h = _check_h(h, N)
    C = check_positive("C", C, allow_zero=True)
    if h == 0.0:
        return math.inf
    if h >= math.log(N):
        return 0.0
    return float(lookup_psi(h, N)) / (1.0 + 2.0 * C)


def lookup_psi(h, N: int, *, dps: int | None = None):
    """``psi(h) = log((N-1)/(e^h - 1))`` with ``expm1`` (``+inf`` at ``h = 0``; ``0`` at ``h = log N``).

    With ``dps``: ``psi`` of a scalar ``h`` (a float or an ``mpf``) as an ``mpf`` at ``dps`` digits.

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6); :func:`psi_kernel`.

    >>> float(lookup_psi(np.log(4), 4))
    0.0

    Raises ``ValueError`` if ``h`` has NaN/inf or leaves ``[0, log N]``
    (beyond ``ENTROPY_RTOL``).
    """
    N = check_int("N", N, minimum=2)
    if dps is not None:
        with _digits(dps):
            h = _check_h(h, N, dps)
            return mpmath.inf if h == 0 else psi_kernel(h, N, _xp(dps))
    h = check_array("h", h)
    if h.size and (h.min() < 0 or h.max() > math.log(N) * (1 + ENTROPY_RTOL)):
        raise ValueError(f"`h` must be a Shannon entropy in [0, log N] = [0, {math.log(N):.6g}] "
                         f"(got range [{h.min():.6g}, {h.max():.6g}])")
    return psi_kernel(h, N)


# ------------------------------------------------------------------ encoder

@dataclass(frozen=True)
class LookupEncoder:
    """The D.6 encoder ``f(t) = lambda(t) W w_{g(t)}``: ``W (N,d)``, ``lam (T,)``, ``g (T,)``, ``h (T,)``.

    ``lam`` is ``+inf`` on one-hot rows (``h = 0``); there ``E`` and ``F``
    do not exist (they raise) and :meth:`kl_rows` uses the limit 0. ``dps``: ``None`` for float64; an int
    when built at ``dps`` digits (:func:`lookup_encoder`): then ``lam`` and ``h`` are object arrays of ``mpf``,
    ``gram`` the exact ``W W^T`` and every method computes at ``dps`` digits.
    """

    W: np.ndarray
    lam: np.ndarray
    g: np.ndarray
    h: np.ndarray
    cond: np.ndarray
    dps: int | None = None
    gram: np.ndarray | None = None

    def _finite(self):
        bad = np.flatnonzero(~_xp(self.dps).isfinite(self.lam))
        if bad.size:
            raise ValueError(f"the encoder has lambda = inf on rows {bad[:5].tolist()} (h = 0, one-hot): "
                             "E and F do not exist there; use kl_rows() for the limit divergence")

    def _rows_of_gram(self, g):
        """``W w_{g_t}`` for each ``t``: ``W[g] @ W.T`` in float64, the exact Gram's rows at ``dps`` digits."""
        return self.W[g] @ self.W.T if self.gram is None else self.gram[g]

    @property
    def E(self) -> np.ndarray:
        """``E(t) = lambda(t) w_{g(t)}``, ``(T, d)``."""
        self._finite()
        with _digits(self.dps):
            return self.lam[:, None] * self.W[self.g]

    @property
    def F(self) -> np.ndarray:
        """Logits ``F = E W^T``, ``(T, N)`` (at ``dps`` digits ``lambda(t)`` times the exact Gram's rows)."""
        if self.dps is None:
            return self.E @ self.W.T
        self._finite()
        with _digits(self.dps):
            return self.lam[:, None] * self._rows_of_gram(self.g)

    def divergence(self, prior) -> float:
        """``dKL(pi, f) = E_t KL_t`` under ``prior`` (one-hot rows contribute their limit 0); an ``mpf`` at ``dps``
        digits, the prior validated and renormalised exactly (``theory.precise.exact_task``)."""
        if self.dps is None:
            return float(np.asarray(prior, dtype=np.float64) @ self.kl_rows())
        with _digits(self.dps):
            p, _ = _precise().exact_task(prior, self.cond)
            return expect(p, self.kl_rows(), _xp(self.dps))

    def kl_rows(self) -> np.ndarray:
        """``KL(pi_t || softmax f(t))`` per row; the limit ``0`` on one-hot rows, ``(T,)``."""
        with _digits(self.dps):
            out = np.zeros(self.lam.shape[0], dtype=self.lam.dtype)
            fin = _xp(self.dps).isfinite(self.lam)
            if fin.any():
                F = self.lam[fin, None] * self._rows_of_gram(self.g[fin])
                if self.dps is None:
                    out[fin] = kl_rows(self.cond[fin], F)
                else:
                    out[fin] = kl_rows_kernel(_rows(self.cond, self.dps)[fin], F, _xp(self.dps))
            return out if self.dps is None else _exact(out)

    def kl_rows_identity(self) -> np.ndarray:
        """Same rows by the identity ``KL_t = lambda(t) sum_{o != g} pi(o|t) (-a_o)`` (``h = phi(lambda)`` used).

        Derivation: ``KL_t = -h - lambda sum_o pi_o a_o + phi(lambda)`` and
        ``phi(lambda) = h``. Limit 0 on one-hot rows.
        """
        xp = _xp(self.dps)
        with _digits(self.dps):
            out = np.zeros(self.lam.shape[0], dtype=self.lam.dtype)
            P = _rows(self.cond, self.dps)
            for t in np.flatnonzero(xp.isfinite(self.lam)):
                a = lookup_gaps(self.W, int(self.g[t]), dps=self.dps)
                s = xp.matmul(P[t], -a)
                out[t] = self.lam[t] * (float(s) if self.dps is None else s)
            return out if self.dps is None else _exact(out)


def lookup_encoder(task, W, *, dps: int | None = None) -> LookupEncoder:
    """Build the D.6 encoder for ``task`` (a :class:`theory.task.Task`) with unembedding ``W (N, d)``.

    Claim id ``draft.lookup-theorem`` / ``paper.theorem2``: ``g(t) = argmax pi_t``
    (first on ties), ``h_t`` the Shannon entropy, ``lambda(t)`` from
    :func:`lookup_lambda`, ``f(t) = lambda(t) W w_{g(t)}``. With ``dps``: the encoder at ``dps`` digits (the
    rows exact and renormalised, ``W`` through its exact Gram), whose ``kl_rows`` and ``divergence`` are ``mpf``.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6), ``paper.theorem2`` (paper Theorem 2): the look-up encoder.

    >>> from aotmem.theory.task import Task
    >>> P = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [1.0, 0.0, 0.0]])
    >>> enc = lookup_encoder(Task(np.full(3, 1/3), P, np.arange(3)[:, None]), np.eye(3))
    >>> bool(np.allclose(enc.kl_rows(), enc.kl_rows_identity())), float(enc.lam[2])
    (True, inf)
    >>> enc50 = lookup_encoder(Task(np.full(3, 1/3), P, np.arange(3)[:, None]), np.eye(3), dps=50)
    >>> bool(abs(enc50.divergence(np.full(3, 1/3)) - enc.divergence(np.full(3, 1/3))) < 1e-15)
    True
    """
    cond = check_rows_stochastic("task.cond", task.cond)
    with _digits(dps):
        if dps is None:
            W = check_array("W", W, ndim=2)
            P, G, N = cond, None, W.shape[0]
        else:
            P, G = _rows(cond, dps), _gram_exact(W)
            N = len(G)
        if N != cond.shape[1]:
            raise ValueError(f"`W` must have N = {cond.shape[1]} rows to match the task (got {N})")
        g = np.argmax(P, axis=1)
        h = entropy_kernel(P, _xp(dps))
        if dps is None:
            lam = np.array([lookup_lambda(float(h[t]), W, int(g[t])) for t in range(cond.shape[0])])
        else:
            lam = _exact([_lambda(h[t], _exact_gaps(G, int(g[t])), int(g[t]), dps) for t in range(cond.shape[0])])
        return LookupEncoder(W, lam, g, h, cond, dps, G)


# ------------------------------------------------------------------- bounds: kernels (any leading axes, any namespace)


def psi_kernel(h, N: int, xp=np):
    """``psi(h) = log((N-1)/(e^h - 1))`` with ``expm1`` (accurate for small ``h``; ``+inf`` at ``h = 0``).

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6, the ``lambda`` bound).
    """
    with np.errstate(divide="ignore"):
        return xp.log(N - 1) - xp.log(xp.expm1(h))


def lookup_terms_kernel(P, xp=np):
    """Per-row ``(q_t, q_t psi(h_t), dTV(pi~_t, unif))`` of rows ``P (..., T, N)``, each ``(..., T)``.

    ``q_t = sum_{o != g(t)} pi(o|t)`` (``= 1 - pi(g|t)`` without its cancellation); ``q psi = 0`` and
    ``dTV = 0`` on one-hot rows (the limits); ``h`` above ``log N`` (rounding) read as ``log N``.

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6), ``paper.theorem2`` (paper Theorem 2).
    """
    N = P.shape[-1]
    other = xp.arange(N) != xp.argmax(P, axis=-1)[..., None]
    rest = xp.where(other, P, 0.0)
    q = xp.sum(rest, axis=-1)
    pos = q > 0
    h = xp.minimum(entropy_kernel(P, xp), xp.log(N))
    qpsi = xp.where(pos, q * psi_kernel(xp.where(pos, h, 1.0), N, xp), 0.0)
    dev = abs(rest / xp.where(pos, q, 1.0)[..., None] - 1.0 / xp.asarray(N - 1.0))
    dtv = xp.where(pos, 0.5 * xp.sum(xp.where(other, dev, 0.0), axis=-1), 0.0)
    return q, qpsi, dtv


def lookup_bound_kernel(form: str, p, P, C, xp=np):
    """The right-hand side of a look-up bound at a given ``C`` (``C < 1/2`` checked by the callers), ``(...)``.

    ``form``: ``seed`` ``E_t[q psi(h)] (1+4C)/(1-2C)``; ``tight`` the same with ``(1+2C)``; ``draft``
    ``E_t[q psi(h) (1 + 2C + C dTV)]/(1-2C)``; ``simplified`` ``E_t[q] (1+4C)/(1-2C) psi(E_t h)``;
    ``simplified-q`` ``E_t[q] (1+4C)/(1-2C) log((N-1)(1 - E_t q)/E_t q)`` (0 when ``E_t q = 0``).

    References
    ----------
    ``seed.lookup-bound`` (seed slide "look-up table"; docs/theory.md#s6), ``draft.lookup-theorem`` and
    ``draft.lookup-theorem+factor(1+2C)`` (draft D.6; docs/theory.md#d6), ``paper.theorem2`` (paper Theorem 2;
    docs/theory.md#p9). The ``simplified-q`` form: `paper.theorem2+simplified-q` is this project's corrected
    simplified form, a bound of ``theory.bounds.CATALOGUE`` registered as the corrected
    claim of ``paper.theorem2[simplified]`` (docs/theory.md#p9).
    """
    q, qpsi, dtv = lookup_terms_kernel(P, xp)
    if form in ("seed", "tight"):
        return expect(p, qpsi, xp) * (1 + (4 if form == "seed" else 2) * C) / (1 - 2 * C)
    if form == "draft":
        return expect(p, qpsi * (1 + 2 * C + C * dtv) / (1 - 2 * C), xp)
    N = P.shape[-1]
    Eq = expect(p, q, xp)
    with np.errstate(divide="ignore", invalid="ignore"):
        if form == "simplified":  # Eh > 0 where Eq > 0: some row with p > 0 has q > 0, hence h >= q > 0
            factor = psi_kernel(xp.minimum(expect(p, entropy_kernel(P, xp), xp), xp.log(N)), N, xp)
        else:
            factor = xp.log(N - 1) + xp.log1p(-Eq) - xp.log(Eq)
        return xp.where(Eq == 0, 0.0, Eq * (1 + 4 * C) / (1 - 2 * C) * factor)[()]


# ------------------------------------------------------------------- bounds: float64


def lookup_terms(cond, *, dps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row ``(q_t, q_t psi(h_t), dTV(pi~_t, unif))``, each ``(T,)``.

    ``q_t = 1 - pi(g(t)|t)``; ``q_t psi(h_t)`` is 0 on one-hot rows (the
    limit derived in the module docstring); ``pi~_t`` is ``pi_t`` conditioned
    on ``o != g(t)``, ``unif`` uniform on those ``N-1`` tokens (``dTV = 0`` on
    one-hot rows, where ``pi~`` is undefined and its factor ``q = 0``). With ``dps``: the three as object
    arrays of ``mpf`` at ``dps`` digits, of the exact renormalised rows.

    References
    ----------
    ``seed.lookup-bound``, ``draft.lookup-theorem`` (draft D.6); :func:`lookup_terms_kernel`.
    """
    if dps is None:
        return lookup_terms_kernel(check_rows_stochastic("cond", cond))
    with _digits(dps):
        return tuple(_exact(v) for v in lookup_terms_kernel(_rows(cond, dps), _xp(dps)))


def _lookup_value(form, prior, cond, d, C, as_written=False, dps=None):
    """:func:`lookup_bound_kernel` as a float (an ``mpf`` at ``dps`` digits); ``inf`` when ``C >= 1/2`` (vacuous),
    unless ``as_written`` (the formula itself for every ``C != 1/2``: negative beyond 1/2)."""
    with _digits(dps):
        p, P = check_prior_cond(prior, cond) if dps is None else _precise().exact_task(prior, cond)
        C = _resolve_C(P.shape[1], check_int("d", d, minimum=1), C, dps)
        if C >= 0.5 and not (as_written and C != 0.5):
            return _sc(dps).inf
        value = lookup_bound_kernel(form, p, P, C, _xp(dps))
        return float(value) if dps is None else _exact(value)




def seed_lookup_bound(prior, cond, d, *, C: float | None = None, as_written: bool = False,
                      dps: int | None = None) -> float:
    """Right-hand side of ``seed.lookup-bound``.

    .. math::
        d_{KL}(\\pi, f) \\le E_t\\Big[(1 - \\pi(g(t)|t)) \\log\\frac{N-1}{e^{h(\\pi_t)} - 1}\\Big]
        \\frac{1 + 4C}{1 - 2C}, \\qquad C = \\sqrt{32 \\log(N+1)/d}

    (the slide writes ``e^{-H}`` with ``H`` the negative entropy: ``e^{-H} = e^{h}``).
    Returns ``math.inf`` when ``C >= 1/2`` (see :func:`lookup_vacuous_reason`).
    One-hot rows contribute 0 (limit). Needs neither assumption.

    ``as_written=True`` evaluates the formula for every ``C != 1/2`` (negative beyond 1/2) instead of ``inf``.
    With ``dps``: the right-hand side as an ``mpf`` at ``dps`` digits (``C`` may be an ``mpf``; vacuous:
    ``mpmath.inf``).

    References
    ----------
    ``seed.lookup-bound`` (seed slide "look-up table"); :func:`lookup_bound_kernel`.

    >>> P = np.array([[0.8, 0.1, 0.1]])
    >>> bool(np.isclose(seed_lookup_bound([1.0], P, 200, C=0.0), 0.2 * np.log(2 / np.expm1(0.639031859650177))))
    True
    >>> seed_lookup_bound([1.0], P, 10)
    inf
    """
    return _lookup_value("seed", prior, cond, d, C, as_written, dps)


def draft_lookup_bound_rows(prior, cond, d, *, C: float | None = None) -> np.ndarray:
    """Per-row terms of ``draft.lookup-theorem``: ``q_t psi(h_t) (1 + 2C + C dTV_t) / (1 - 2C)``, ``(T,)``.

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6).
    """
    p, P = check_prior_cond(prior, cond)
    C = _resolve_C(P.shape[1], check_int("d", d, minimum=1), C)
    if C >= 0.5:
        return np.full(P.shape[0], math.inf)
    _, qpsi, dtv = lookup_terms_kernel(P)
    return qpsi * (1 + 2 * C + C * dtv) / (1 - 2 * C)


def draft_lookup_bound(prior, cond, d, *, C: float | None = None, as_written: bool = False,
                       dps: int | None = None) -> float:
    """Right-hand side of ``draft.lookup-theorem`` (D.6).

    .. math::
        d_{KL}(\\pi, f) \\le E_t\\Big[(1-\\pi(g|t)) \\log\\frac{N-1}{e^{h(\\pi_t)}-1}
        \\frac{1 + 2C + C\\, d_{TV}(\\tilde\\pi_t, \\mathrm{unif})}{1 - 2C}\\Big]

    ``math.inf`` when ``C >= 1/2``.

    ``as_written=True`` evaluates the formula for every ``C != 1/2`` (negative beyond 1/2) instead of ``inf``.
    With ``dps``: the right-hand side as an ``mpf`` at ``dps`` digits (``C`` may be an ``mpf``; vacuous:
    ``mpmath.inf``).

    References
    ----------
    ``draft.lookup-theorem`` (draft D.6); :func:`lookup_bound_kernel`.

    >>> P = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]])
    >>> draft_lookup_bound([0.5, 0.5], P, 500) <= seed_lookup_bound([0.5, 0.5], P, 500)
    True
    """
    return _lookup_value("draft", prior, cond, d, C, as_written, dps)


def tight_lookup_bound(prior, cond, d, *, C: float | None = None, as_written: bool = False,
                       dps: int | None = None) -> float:
    """The strongest statement our derivation supports: ``E_t[q_t psi(h_t)] (1+2C)/(1-2C)``.

    Claim id ``draft.lookup-theorem+factor(1+2C)``. From the exact identity
    ``KL_t = lambda(t) sum_{o!=g} pi(o|t)(-a_o)`` with ``-a_o <= 1 + 2C`` and
    ``lambda <= psi(h)/(1-2C)``. It is ``<=`` both the draft and the seed forms
    (``dTV >= 0``); at ``C = 0`` (orthonormal ``W``) it is an equality.

    ``as_written=True`` evaluates the formula for every ``C != 1/2`` (negative beyond 1/2) instead of ``inf``.
    With ``dps``: the right-hand side as an ``mpf`` at ``dps`` digits (``C`` may be an ``mpf``; vacuous:
    ``mpmath.inf``).

    References
    ----------
    ``draft.lookup-theorem+factor(1+2C)`` (this project's derivation from draft D.6).

    >>> P = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]])
    >>> tight_lookup_bound([0.5, 0.5], P, 500) <= draft_lookup_bound([0.5, 0.5], P, 500)
    True
    """
    return _lookup_value("tight", prior, cond, d, C, as_written, dps)


PAPER_CONSTANTS = ("dtv", "4C")


def paper_theorem2_bound(prior, cond, d, *, C: float | None = None, as_written: bool = False,
                         dps: int | None = None, constant: str = "dtv") -> float:
    """First form of ``paper.theorem2``: D.6 restated over sequences.

    docs/theory.md#p9 says "D.6 restated" but the simplified form carries the
    seed's constant ``(1+4C)``, so two readings: ``constant="dtv"``
    (:func:`draft_lookup_bound`) and ``constant="4C"`` (:func:`seed_lookup_bound`).

    ``as_written=True`` evaluates the formula for every ``C != 1/2`` (negative beyond 1/2) instead of ``inf``.
    With ``dps``: the right-hand side as an ``mpf`` at ``dps`` digits (``C`` may be an ``mpf``; vacuous:
    ``mpmath.inf``).

    References
    ----------
    ``paper.theorem2`` (paper Theorem 2, first form; docs/theory.md#p9).

    >>> P = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]])
    >>> paper_theorem2_bound([0.5, 0.5], P, 500, constant="4C") == seed_lookup_bound([0.5, 0.5], P, 500)
    True
    """
    if constant not in PAPER_CONSTANTS:
        raise ValueError(f"`constant` must be one of {PAPER_CONSTANTS} (got {constant!r})")
    return _lookup_value("draft" if constant == "dtv" else "seed", prior, cond, d, C, as_written, dps)


def paper_theorem2_simplified(prior, cond, d, *, C: float | None = None, as_written: bool = False,
                              dps: int | None = None) -> float:
    """Simplified form of ``paper.theorem2``: ``E_t[q_t] (1+4C)/(1-2C) log((N-1)/(e^{E_t[h]} - 1))``.

    ``math.inf`` when ``C >= 1/2``; when every row is one-hot (``E_t q = 0``,
    ``E_t h = 0``) the value is the limit ``0``. NOTE: it does not follow from
    the first form (``psi`` is convex, so Jensen gives ``psi(E h) <= E psi(h)``,
    the wrong way); tests/test_lookup.py keeps a counterexample.

    ``as_written=True`` evaluates the formula for every ``C != 1/2`` (negative beyond 1/2) instead of ``inf``.
    With ``dps``: the right-hand side as an ``mpf`` at ``dps`` digits (``C`` may be an ``mpf``; vacuous:
    ``mpmath.inf``).

    References
    ----------
    ``paper.theorem2[simplified]`` (paper Theorem 2, simplified form).

    >>> P = np.array([[0.8, 0.1, 0.1], [0.8, 0.1, 0.1]])
    >>> bool(np.isclose(paper_theorem2_simplified([0.5, 0.5], P, 500), paper_theorem2_bound([0.5, 0.5], P, 500, constant="4C")))
    True
    """
    return _lookup_value("simplified", prior, cond, d, C, as_written, dps)


def paper_theorem2_simplified_q(prior, cond, d, *, C: float | None = None, as_written: bool = False,
                                dps: int | None = None) -> float:
    """A corrected simplified form (``paper.theorem2+simplified-q``), implied by the first form.

    .. math::
        E_t[q_t] \\frac{1+4C}{1-2C} \\log\\frac{(N-1)(1 - E_t[q_t])}{E_t[q_t]}

    Derivation: ``h_t >= -log(1 - q_t)`` (Shannon >= min-entropy) and ``psi``
    decreases, so ``q psi(h) <= phi(q) = q log((N-1)(1-q)/q)``; ``phi`` is
    concave on ``(0, 1)``, so ``E_t phi(q_t) <= phi(E_t q_t)`` (Jensen, the
    right way). ``0`` when every row is one-hot; ``inf`` when ``C >= 1/2``.

    ``as_written=True`` evaluates the formula for every ``C != 1/2`` (negative beyond 1/2) instead of ``inf``.
    With ``dps``: the right-hand side as an ``mpf`` at ``dps`` digits (``C`` may be an ``mpf``; vacuous:
    ``mpmath.inf``).

    References
    ----------
    ``paper.theorem2[simplified]`` (paper Theorem 2, the simplified form this corrects; docs/theory.md#p9) and
    ``paper.theorem2[first<=simplified]`` (the Jensen step that fails for ``psi``; here it is taken on the concave
    ``phi``). `paper.theorem2+simplified-q` is this project's corrected simplified form, a bound of
    ``theory.bounds.CATALOGUE`` registered as the corrected claim of
    ``paper.theorem2[simplified]`` (docs/theory.md#p9).

    >>> P = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]])
    >>> paper_theorem2_bound([0.5, 0.5], P, 500, constant="4C") <= paper_theorem2_simplified_q([0.5, 0.5], P, 500)
    True
    """
    return _lookup_value("simplified-q", prior, cond, d, C, as_written, dps)


#: The look-up kernel form of each catalogue function (:func:`lookup_bound_kernel`).
LOOKUP_FORM = {seed_lookup_bound: "seed", draft_lookup_bound: "draft", tight_lookup_bound: "tight",
               paper_theorem2_simplified: "simplified", paper_theorem2_simplified_q: "simplified-q"}
