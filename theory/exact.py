"""Exact and closed-form rank-``d`` encoders: ``paper.prop2``, ``seed.zero-divergence``, ``paper.prop3``, ``draft.cor-permutation``.

Notation (docs/theory.md#notation): ``F = E W^T (T, N)``, ``L = log Pi``, the
uniform-centred ``L_c = L (I - 11^T/N)``. ``H(pi_t) = sum_o pi log pi`` is the
sources' NEGATIVE entropy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import numpy as np
from scipy.optimize import minimize_scalar

from .divergence import expect, kl, kl_rows_kernel, log_softmax
from .lowrank import LS_READINGS, LowRank, f_ls, f_wls
from .spectra import SIGMA_READINGS, centred_logits, log_probs
from .task import Task
from .validate import check_array, check_int, check_positive, check_prior_cond

__all__ = [
    "RANK_RTOL",
    "PROP2_ATOL",
    "H_READINGS",
    "ones_complement",
    "prop2_encoder",
    "rank_lower_bound",
    "HardInstance",
    "prop2_hard_instance",
    "centred_rank",
    "zero_divergence_reachable",
    "prop3_family",
    "prop3_divergence_rate",
    "permutation_closed_forms",
]

# Numerical rank: singular values <= RANK_RTOL * sigma_1 count as 0. The SVD's
# backward error is ~ eps * sigma_1 * sqrt(max(T, N)) <= 1e-12 sigma_1 for
# T <= 1e6, and log() adds ~eps |L| per entry; 1e-10 sits well above both.
RANK_RTOL = 1e-10
# prop2 reaches divergence 0 up to rounding: KL is a sum of T*N terms each
# with error ~ eps * |L|, so 1e-12 holds for |L| <= ~50 and T*N <= 1e3 per unit prior.
PROP2_ATOL = 1e-12
# Readings of H(pi_t, S) in draft.cor-permutation (see permutation_closed_forms).
H_READINGS = ("mean-log", "conditional")


_check_task = check_prior_cond


def ones_complement(N: int) -> np.ndarray:
    """An orthonormal basis ``(N, N-1)`` of ``1^perp`` (the ``W`` of ``paper.prop2``): ``B B^T = I - 11^T/N``, ``B^T 1 = 0``.

    References
    ----------
    ``paper.prop2`` (paper Proposition 2: the ``W`` of the zero-divergence encoder).

    >>> B = ones_complement(4); bool(np.allclose(B @ B.T, np.eye(4) - 0.25))
    True
    """
    N = check_int("N", N, minimum=2)
    Q, _ = np.linalg.qr(np.concatenate([np.ones((N, 1)), np.eye(N)[:, : N - 1]], axis=1))
    return Q[:, 1:]


# --------------------------------------------------------------------------- paper.prop2


def prop2_encoder(prior: np.ndarray, cond: np.ndarray) -> LowRank:
    """Zero-divergence encoder of rank ``d = N-1`` (``paper.prop2``, ``seed.zero-divergence``).

    Formula: ``W = B`` (orthonormal basis of ``1^perp``), ``E = L_c B``, so
    ``F = L_c B B^T = L (I - 11^T/N) = L - (row means) 1^T`` and
    ``softmax(F_t) = pi_t`` exactly: ``dKL(pi, f) = 0`` (to ``PROP2_ATOL``).
    Needs Assumption 2.

    References
    ----------
    ``paper.prop2`` (paper Proposition 2), ``seed.zero-divergence``.

    >>> from aotmem.theory.generators import dirichlet_task
    >>> task = dirichlet_task(4, 2, seed=3)
    >>> abs(prop2_encoder(task.prior, task.cond).divergence(task.prior, task.cond)) <= PROP2_ATOL
    True
    """
    p, P = _check_task(prior, cond)
    Lc = centred_logits(p, P, "uniform")  # raises on Assumption 2
    B = ones_complement(P.shape[1])  # (N, N-1)
    return LowRank(B, Lc @ B)


def _eps_of_kl(k, m):
    """Largest ``|log q_o - log pi_o|`` allowed by ``KL(pi || q) <= k`` when ``min pi >= m`` (Pinsker), inf if vacuous."""
    r = np.sqrt(np.asarray(k, dtype=np.float64) / 2.0) / m  # |pi_o - q_o| <= TV <= sqrt(KL/2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r < 1.0, -np.log1p(-np.minimum(r, 1.0)), np.inf)


def rank_lower_bound(prior: np.ndarray, cond: np.ndarray, d: int) -> float:
    """A lower bound on ``dKL(pi, L(N,S,d))`` that needs no optimiser (``paper.prop2``, second part).

    Argument (Assumption 2; rows with ``p(t) = 0`` are dropped). Let
    ``tau^2 = sum_{j>d} sigma_j^2`` of the uniform-centred ``L_c`` (support
    rows), ``m_t = min_o pi(o|t)``. Take any ``F`` of rank ``<= d`` with
    ``dKL(pi, F) <= D`` and ``q_t = softmax(F_t)``. Then ``KL_t <= D / p(t)``;
    Pinsker gives ``|q_to - pi_to| <= sqrt(KL_t / 2)``, hence
    ``|log q_to - L_to| <= eps_t = -log(1 - sqrt(D / (2 p(t))) / m_t)``.
    Centring is a projection and kills ``1``, so
    ``||L_c - F (I - 11^T/N)||_F^2 <= ||L - log q||_F^2 <= N sum_t eps_t^2 =: g(D)``,
    while Eckart-Young gives ``>= tau^2`` because ``F (I - 11^T/N)`` has rank
    ``<= d``. So every rank-``d`` ``F`` has ``dKL >= sup{D : g(D) < tau^2}``,
    found here by bisection (60 halvings; the returned end is the lower one).

    Certified up to the float64 evaluation of ``tau`` (an SVD, relative error
    ~1e-15 sigma_1, absorbed by shrinking ``tau`` by ``1e-12 sigma_1``): a
    NUMERICAL certificate. :func:`prop2_hard_instance` gives a closed form.

    References
    ----------
    ``paper.prop2`` (paper Proposition 2, second part).
    """
    p, P = _check_task(prior, cond)
    N = P.shape[1]
    d = check_int("d", d, minimum=1)
    keep = p > 0
    Lc = centred_logits(p[keep] / p[keep].sum(), P[keep], "uniform")
    s = np.linalg.svd(Lc, compute_uv=False)
    tau2 = float(np.sum(s[d:] ** 2))
    tau2 = max(np.sqrt(tau2) - 1e-12 * (s[0] if s.size else 0.0), 0.0) ** 2
    if tau2 == 0.0:
        return 0.0
    pk, m = p[keep], P[keep].min(axis=1)

    def g(D):
        return N * float(np.sum(_eps_of_kl(D / pk, m) ** 2))

    lo, hi = 0.0, float(2.0 * np.min(pk * m * m))  # at hi some eps_t is infinite: g(hi) = inf >= tau2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if g(mid) < tau2:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class HardInstance:
    """A task with ``dKL(pi, L(N,S,d)) >= lower_bound > 0`` (``paper.prop2``).

    ``task``: ``S = 1``, ``T = N``, uniform prior, ``pi_t = softmax(a e_t)``;
    ``scale`` = ``a``; ``tail`` = ``tau = a sqrt(N-1-d)``; ``lower_bound`` the
    closed form of :func:`prop2_hard_instance`.
    """

    task: Task
    d: int
    scale: float
    tail: float
    lower_bound: float


def _hard_bound_mp(N, d, a):
    mpmath.mp.dps = 50
    a = mpmath.mpf(a)
    m = 1 / (mpmath.e**a + N - 1)
    eps = a * mpmath.sqrt(N - 1 - d) / N
    return 2 * m**2 * (1 - mpmath.e ** (-eps)) ** 2 / N


def prop2_hard_instance(N: int, d: int, *, scale: float | None = None) -> HardInstance:
    """A task with ``d < N-1`` and a CERTIFIED ``dKL(pi, L(1 seq-len, d)) > 0`` (``paper.prop2``).

    Task: ``T = N`` sequences of length 1, uniform prior, ``L_t = a e_t - log(e^a + N - 1)``,
    so ``L_c = a (I - 11^T/N)``: singular values ``a`` (``N-1`` times) and 0,
    ``tau = a sqrt(N-1-d)`` in closed form, ``m = min pi = 1/(e^a + N - 1)``.
    The argument of :func:`rank_lower_bound` with ``p = 1/N`` then gives,
    exactly,

    .. math::

        dKL(\\pi, L(N,1,d)) \\ge \\frac{2 m^2}{N} \\left(1 - e^{-a\\sqrt{N-1-d}/N}\\right)^2 > 0.

    The bound is evaluated in mpmath (50 digits) and rounded down; ``scale``
    ``a`` defaults to the maximiser of the bound. Rigorous for the exact
    task; the float64 task differs by ~1e-16 relative in ``pi``, which moves
    ``dKL`` by ~1e-16, far below the bound.

    References
    ----------
    ``paper.prop2`` (paper Proposition 2, second part).

    >>> hi = prop2_hard_instance(3, 1)
    >>> 0 < hi.lower_bound < 0.01, hi.task.full_support()
    (True, True)
    """
    N = check_int("N", N, minimum=3)
    d = check_int("d", d, minimum=1, maximum=N - 2)
    if scale is None:
        res = minimize_scalar(lambda a: -float(_hard_bound_mp(N, d, a)), bounds=(1e-3, 50.0), method="bounded")
        a = float(res.x)
    else:
        a = check_positive("scale", scale)
    cond = np.exp(log_softmax(a * np.eye(N)))
    task = Task(np.full(N, 1.0 / N), cond / cond.sum(axis=1, keepdims=True))
    lb = float(_hard_bound_mp(N, d, a))
    lb = float(np.nextafter(lb, 0.0))  # round down
    return HardInstance(task, d, a, a * float(np.sqrt(N - 1 - d)), lb)


# --------------------------------------------------------------------------- seed.zero-divergence


def centred_rank(prior: np.ndarray, cond: np.ndarray, reading: str = "uniform", rtol: float = RANK_RTOL) -> int:
    """Numerical rank of the centred ``L`` of ``reading`` (``seed.zero-divergence``) (``theory.spectra``): ``#{sigma_j > rtol sigma_1}``.

    Needs Assumption 2 (``L = log Pi`` finite).

    References
    ----------
    ``seed.zero-divergence`` (seed slide "zero divergence"; docs/theory.md#sigma).
    """
    rtol = check_positive("rtol", rtol)
    s = np.linalg.svd(centred_logits(prior, cond, reading), compute_uv=False)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0


def zero_divergence_reachable(prior: np.ndarray, cond: np.ndarray, d: int, rtol: float = RANK_RTOL,
                              reading: str = "uniform-prior") -> bool:
    """``seed.zero-divergence``: divergence 0 is reachable at rank ``d`` iff the centred ``L`` has rank ``<= d``.

    Returns ``centred_rank(prior, cond, reading, rtol) <= d`` (Assumption 2),
    the claim read with ``reading`` (``theory.spectra.SIGMA_READINGS``).
    Which readings make the "iff" TRUE (proof: ``dKL = 0`` iff
    ``F_t = L_t + c_t 1`` on rows with ``p(t) > 0`` for some ``c``, and
    ``min_c rank(L + c 1^T) = rank(L_c)`` because right-multiplying by
    ``I - 11^T/N`` never raises rank):

    - ``uniform-prior`` (default): correct, zero-prior rows included;
    - ``uniform``: correct when every ``p(t) > 0``; rows with ``p(t) = 0``
      count in the rank but not in ``dKL`` (only "if" holds);
    - ``pi`` / ``pi-prior``: only "if" holds: ``L - (pi.L) 1^T`` can have
      rank ``rank(L_c) + 1`` (counterexample in ``tests/test_exact.py``).

    References
    ----------
    ``seed.zero-divergence`` (seed slide "zero divergence").

    >>> from aotmem.theory.generators import almost_rank_task
    >>> task = almost_rank_task(5, 1, d=2, sigma=0.0, seed=0)
    >>> zero_divergence_reachable(task.prior, task.cond, 2), zero_divergence_reachable(task.prior, task.cond, 1)
    (True, False)
    """
    p, P = _check_task(prior, cond)
    d = check_int("d", d, minimum=1)
    if reading not in SIGMA_READINGS:
        raise ValueError(f"`reading` must be one of {SIGMA_READINGS} (got {reading!r})")
    return centred_rank(p, P, reading, rtol) <= d


# --------------------------------------------------------------------------- paper.prop3


def _circle(N, d):
    ang = 2 * np.pi * np.arange(N) / N
    W = np.zeros((N, d))
    W[:, 0], W[:, 1] = np.cos(ang), np.sin(ang)
    return W


def _prop3_targets(task, d):
    """``g(t) = argmax pi_t`` of an association task (Assumption 1) for the family in ``R^d``, ``d >= 2``."""
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be a theory.task.Task (got {type(task).__name__})")
    if not task.is_association():
        raise ValueError("`task` violates Assumption 1 (association: every pi_t one-hot)")
    check_int("d", d, minimum=2)
    return task.argmax_map()


def prop3_family(task: Task, d: int, scale: float) -> LowRank:
    """``paper.prop3``: a rank-``d`` family whose divergence on an association task tends to 0.

    ``w_j = (cos 2 pi j/N, sin 2 pi j/N, 0, ...)``, ``E(t) = scale * w_{g(t)}``,
    so ``F = E W^T`` is :func:`prop3_logits_kernel` up to rounding, maximal at ``o = g(t)``.
    Needs Assumption 1 (one-hot rows) and ``d >= 2``. Rate:
    :func:`prop3_divergence_rate`.

    References
    ----------
    ``paper.prop3`` (paper Proposition 3).

    >>> from aotmem.theory.generators import association_task
    >>> task = association_task(5, 2, seed=0)
    >>> bool(prop3_family(task, 2, 40.0).divergence(task.prior, task.cond) < 1e-10)
    True
    """
    g = _prop3_targets(task, d)
    scale = check_positive("scale", scale, allow_zero=True)
    W = _circle(task.N, d)
    return LowRank(W, scale * W[g])


def prop3_logits_kernel(g, N: int, s, xp=np):
    """Logits of the ``paper.prop3`` family, ``F_{t,o} = s w_{g(t)}^T w_o = s cos(2 pi (o - g(t))/N)``, ``(T, N)``.

    The cosine of the angle difference ``(o - g(t)) mod N``, not ``E W^T`` (:func:`prop3_family`): ``F_{t,g(t)} = s``
    exactly, so the divergence ``log(1 + sum_k e^{-s gamma_k})`` keeps its relative accuracy at any ``s``.
    ``g (T,)`` the targets, ``s >= 0`` the scale; any namespace ``xp``.

    References
    ----------
    ``paper.prop3`` (paper Proposition 3: ``E(t) = s w_{g(t)}``, ``w_j = (cos 2 pi j/N, sin 2 pi j/N, 0, ...)``).
    """
    k = (np.arange(N) - np.asarray(g)[:, None]) % N
    return s * xp.cos(2 * xp.pi * xp.asarray(np.arange(N)) / N)[k]


def prop3_divergence_rate(task: Task, d: int, scales, *, dps: int | None = None) -> dict:
    """Measured and closed-form divergence of :func:`prop3_family` (``paper.prop3``).

    Exact (every row alike, so any prior): with ``gamma_k = 1 - cos(2 pi k / N)``,

    .. math::

        dKL(s) = \\log\\Big(1 + \\sum_{k=1}^{N-1} e^{-s \\gamma_k}\\Big)
        \\le \\log(1 + (N-1) e^{-s\\gamma_1}) \\le (N-1) e^{-s \\gamma_1},

    and ``dKL(s) ~ m e^{-s gamma_1}`` as ``s -> inf`` with ``m = 2`` nearest
    neighbours (``k = 1, N-1``) for ``N >= 3``, ``m = 1`` for ``N = 2``.

    Returns a dict of arrays over ``scales``: ``measured`` (:func:`theory.divergence.kl` of
    :func:`prop3_logits_kernel`), ``exact``, ``upper`` (``(N-1) e^{-s gamma_1}``), ``asymptotic`` (``m e^{-s gamma_1}``).
    ``dps``: the same kernels at ``dps`` digits (``theory.precise``; object arrays of mpf, ``gamma1`` an mpf,
    the logits with mpmath's ``cos``).

    References
    ----------
    ``paper.prop3[rate-exact]``, ``paper.prop3[rate-upper]`` (paper Proposition 3).
    """
    s = check_array("scales", scales, ndim=1)
    if (s < 0).any():
        raise ValueError(f"`scales` must be >= 0 (got min {s.min():.3g})")
    g = _prop3_targets(task, d)
    if dps is not None:
        from .precise import MP, working

        with working(dps):
            sm = MP.asarray(s)
            measured = MP.asarray([kl(task.prior, task.cond, prop3_logits_kernel(g, task.N, x, MP), dps=dps) for x in sm])
            exact, upper, asymptotic, g1 = prop3_rate_kernel(task.N, sm, MP)
            return {"scales": sm, "measured": measured, "exact": exact, "upper": upper, "asymptotic": asymptotic,
                    "gamma1": g1}
    measured = np.array([kl(task.prior, task.cond, prop3_logits_kernel(g, task.N, x)) for x in s])
    exact, upper, asymptotic, g1 = prop3_rate_kernel(task.N, s)
    return {"scales": s, "measured": measured, "exact": exact, "upper": upper, "asymptotic": asymptotic,
            "gamma1": float(g1)}


def prop3_rate_kernel(N: int, s, xp=np):
    """The closed forms of :func:`prop3_divergence_rate` over scales ``s``: ``(exact, upper, asymptotic, gamma1)``.

    ``gamma_k = 1 - cos(2 pi k/N)``; ``exact = log1p(sum_k e^{-s gamma_k})``, ``upper = (N-1) e^{-s gamma_1}``,
    ``asymptotic = m e^{-s gamma_1}`` (``m = 2`` for ``N >= 3``, 1 for ``N = 2``). Any namespace ``xp``.

    References
    ----------
    ``paper.prop3[rate-exact]``, ``paper.prop3[rate-upper]`` (paper Proposition 3).
    """
    gam = 1.0 - xp.cos(2 * xp.pi * xp.asarray(np.arange(1, N)) / N)  # (N-1,)
    g1 = xp.min(gam)
    mult = 2.0 if N >= 3 else 1.0
    return xp.log1p(xp.sum(xp.exp(-np.outer(s, gam)), axis=1)), (N - 1) * xp.exp(-s * g1), mult * xp.exp(-s * g1), g1


# --------------------------------------------------------------------------- draft.cor-permutation


@dataclass(frozen=True)
class _Fitted:
    """A numeric map at ``dps`` digits for :func:`permutation_forms_kernel`: its logits and its divergence."""

    F: np.ndarray
    kl: object

    def divergence(self, *_):
        return self.kl


def permutation_closed_forms(prior: np.ndarray, cond: np.ndarray, d: int, xi, *, dps: int | None = None) -> dict:
    """``draft.cor-permutation``: closed-form ``f_wls`` / ``f_ls`` vs the numeric ones.

    ``S_d = xi[:d]``, ``S_d^c`` the rest; ``H(pi_t) = sum pi log pi``.
    Formulas of docs/theory.md#d5, for each reading of ``H(pi_t, S)``
    (``H_READINGS``):

    - ``mean-log`` (docs/theory.md's gloss): ``H(pi_t, S) = sum_S pi log pi / pi(S)``;
    - ``conditional``: the negative entropy of ``pi_t`` conditioned on ``S``,
      ``sum_S (pi/pi(S)) log(pi/pi(S))`` (= mean-log ``- log pi(S)``).

    ``f_wls[R]``: ``log pi`` on ``S_d``, ``H_R(pi_t, S_d^c) + log pi(S_d^c|t)`` off;
    ``dKL = E_t log(pi(S_d) + pi(S_d^c)(N-d) e^{H_R(pi_t, S_d^c)})``.
    ``f_ls``: ``log pi`` on ``S_d``, ``H(pi_t)`` off; ``dKL = E_t log(pi(S_d) + (N-d) e^{H(pi_t)})``.

    Numeric counterparts: ``wls[W=e_Sd]`` (:func:`theory.lowrank.wls_encoder`
    with ``W_U`` = the columns ``e_o, o in S_d``, the ``W_U`` the corollary's
    truncated ``V`` gives), ``wls[W=f_ls-uniform]`` (:func:`f_wls`, default
    ``W_U``) and ``ls[<reading>]`` (:func:`f_ls`, each of ``LS_READINGS``).

    Returns a dict: ``S_d``; ``formulas`` / ``numeric``: name -> ``{"logits",
    "divergence"}`` (formulas also ``"kl_of_logits"``: the KL of the formula's
    logits, which should equal its divergence formula); ``mismatch``:
    ``"A vs B"`` -> ``{"logits": max |centred difference|, "divergence": |difference|}``
    (logits compared after uniform row centring: softmax ignores row constants);
    ``wls_strictly_better``: name -> bool. Needs Assumption 2. ``dps``: everything at ``dps`` digits
    (``theory.precise``; logits object arrays of mpf; a numeric map refused there, ``NotUnique`` included, is
    recorded with its ``error``).

    References
    ----------
    ``draft.cor-permutation`` (draft section 5, the permutation corollary; docs/theory.md#d5).
    """
    p, P = _check_task(prior, cond)
    log_probs(P)  # Assumption 2
    if dps is None:
        return permutation_forms_kernel(p, P, d, xi, lambda W_U: f_wls(p, P, d, W_U), lambda r: f_ls(p, P, d, r))
    from .precise import MP, exact_task, working

    def fitted(lr):  # its divergence on the float64 instance itself, renormalised exactly as everywhere at dps
        return _Fitted(lr.F, lr.divergence(p, P, dps=dps))

    with working(dps):
        pe, Pe = exact_task(p, P)
        return permutation_forms_kernel(pe, Pe, d, xi, lambda W_U: fitted(f_wls(p, P, d, W_U, dps=dps)),
                                        lambda r: fitted(f_ls(p, P, d, r, dps=dps)), MP)


def permutation_forms_kernel(p, P, d: int, xi, f_wls_of, f_ls_of, xp=np) -> dict:
    """:func:`permutation_closed_forms` of a validated instance on any namespace (``theory.precise.MP`` too).

    ``f_wls_of(W_U)`` / ``f_ls_of(reading)``: the numeric maps (objects with ``F`` and
    ``divergence(prior, cond)``); a ``ValueError`` they raise is recorded as ``error``.

    References
    ----------
    ``draft.cor-permutation`` (draft section 5; docs/theory.md#d5).
    """
    T, N = P.shape
    d = check_int("d", d, minimum=1, maximum=N - 1)
    xi = np.asarray(xi)
    if xi.shape != (N,) or not np.array_equal(np.sort(xi), np.arange(N)):
        raise ValueError(f"`xi` must be a permutation of range(N) = range({N}) (got {xi!r})")
    formulas = _permutation_formulas(p, P, d, xi, xp)
    numeric = {}
    for name, make in (("wls[W=e_Sd]", lambda: f_wls_of(np.eye(N)[:, xi[:d]])), ("wls[W=f_ls-uniform]", lambda: f_wls_of(None))
                       ) + tuple((f"ls[{r}]", functools.partial(f_ls_of, r)) for r in LS_READINGS):
        try:
            lr = make()
            numeric[name] = {"logits": lr.F, "divergence": lr.divergence(p, P)}
        except ValueError as exc:  # NotUnique (50 digits) included
            numeric[name] = {"logits": None, "divergence": None, "error": str(exc)}
    return {"S_d": xi[:d], "formulas": formulas, "numeric": numeric,
            "mismatch": _permutation_mismatch(formulas, numeric, xp), "wls_strictly_better": _wls_strictly_better(formulas, numeric)}


def _permutation_formulas(p, P, d: int, xi: np.ndarray, xp=np) -> dict:
    """The closed forms of :func:`permutation_closed_forms` (``draft.cor-permutation``, docs/theory.md#d5):
    name -> ``{"logits", "divergence", "kl_of_logits"}``."""
    N = P.shape[1]
    L = xp.log(P)
    S, Sc = xi[:d], xi[d:]
    piS, piSc = xp.sum(P[:, S], axis=1), xp.sum(P[:, Sc], axis=1)  # (T,)
    H = xp.sum(P * L, axis=1)  # negative entropy (T,)
    meanlog = xp.sum(P[:, Sc] * L[:, Sc], axis=1) / piSc
    Hs = {"mean-log": meanlog, "conditional": meanlog - xp.log(piSc)}
    num = float if xp is np else (lambda v: v)

    def logits(off):
        F = L.copy()
        F[:, Sc] = off[:, None]
        return F

    def kl_of(F):
        return kl(p, P, F) if xp is np else expect(p, kl_rows_kernel(P, F, xp), xp)

    formulas = {}
    for R in H_READINGS:
        F = logits(Hs[R] + xp.log(piSc))
        div = num(xp.matmul(p, xp.log(piS + piSc * (N - d) * xp.exp(Hs[R]))))
        formulas[f"wls[{R}]"] = {"logits": F, "divergence": div, "kl_of_logits": kl_of(F)}
    F = logits(H)
    formulas["ls"] = {"logits": F, "divergence": num(xp.matmul(p, xp.log(piS + (N - d) * xp.exp(H)))),
                      "kl_of_logits": kl_of(F)}
    return formulas


def _permutation_mismatch(formulas: dict, numeric: dict, xp=np) -> dict:
    """``"A vs B"`` -> the largest centred logit difference and the divergence difference (same map kinds)."""
    def cent(F):
        F = np.asarray(F.tolist(), dtype=object) if not isinstance(F, np.ndarray) else F
        return F - xp.mean(F, axis=1, keepdims=True)

    num = float if xp is np else (lambda v: v)
    mismatch = {}
    for a, fa in formulas.items():
        for b, nb in numeric.items():
            if a[:2] != b[:2] or nb["logits"] is None:
                continue
            mismatch[f"{a} vs {b}"] = {"logits": num(np.max(np.abs(cent(fa["logits"]) - cent(nb["logits"])))),
                                       "divergence": abs(fa["divergence"] - nb["divergence"])}
    return mismatch


def _wls_strictly_better(formulas: dict, numeric: dict) -> dict:
    """name -> whether the wls map's divergence is strictly below the ls map's (formulas and numeric)."""
    better = {f"formula[{R}]": formulas[f"wls[{R}]"]["divergence"] < formulas["ls"]["divergence"] for R in H_READINGS}
    better["formula-logits[conditional]"] = formulas["wls[conditional]"]["kl_of_logits"] < formulas["ls"]["kl_of_logits"]
    for r in LS_READINGS:
        for w in ("wls[W=e_Sd]", "wls[W=f_ls-uniform]"):
            if numeric[w]["divergence"] is not None and numeric[f"ls[{r}]"]["divergence"] is not None:
                better[f"numeric {w} < ls[{r}]"] = numeric[w]["divergence"] < numeric[f"ls[{r}]"]["divergence"]
    return better

