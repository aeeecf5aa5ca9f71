"""Each kernel against the independent reference formulas of tests/reference.py, in float64 and at 50 digits.

The references share no code with the package (module docstring there). Tolerances: against a 50-digit
reference, a float64 kernel is off by its own rounding only -- 1e-12 relative for the divergence and the
centred logits (sums of O(T N) terms, each within a few ulps), 1e-10 for quantities through an SVD or
a d x d solve (backward error ~eps sigma_1 / gap; the instances below have gaps and sigma_{d+1} of
order 0.1 sigma_1, measured, so 1e-10 leaves a factor >= 100); a ``theory.precise`` kernel is held to
1e-30 relative (its contract is 10^{-dps/2} = 1e-25; the arithmetic carries 50 digits).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aotmem.theory import divergence as dv
from aotmem.theory import lowrank, spectra
from aotmem.theory import precise as pr
from aotmem.theory.bounds import CATALOGUE
from aotmem.theory.bounds import bound as catalogue_bound
from aotmem.theory import batch as bt
from aotmem.theory.divergence import (
    entropy,
    exp3,
    fbar,
    kl,
    kl_rows,
    log_softmax,
    taylor_identity_rhs,
    taylor_proxy,
    taylor_remainder_bound,
)
from aotmem.theory.exact import prop3_family, prop3_logits_kernel
from aotmem.theory.lookup import JL_KINDS, jl_matrix, lambda_root_kernel, lookup_gaps, lookup_lambda, lookup_terms
from aotmem.theory.lowrank import ALT_SWEEPS, ALT_TOL, f_ls, f_wls, f_wls_alternating, fit_encoder, wls_encoder
from aotmem.theory.spectra import SIGMA_READINGS, centred_logits, sigma
from aotmem.theory.task import Task
from tests import reference as ref

F64_RTOL = 1e-12
SOLVE_RTOL = 1e-10
MP_RTOL = mp.mpf(10) ** -30
EPS = float(np.finfo(np.float64).eps)

# (T, N, d): T > N, T < N, and a square-ish case; d <= N - 2 (the bounds' regime)
SHAPES = [(4, 5, 2), (6, 4, 1), (3, 6, 2)]


def _task(seed, T, N):
    rng = np.random.default_rng(seed)
    Z = 1.5 * rng.standard_normal((T, N))
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    p = rng.uniform(0.05, 1.0, T)
    return p / p.sum(), P


TASKS = [(seed, *shape) for seed, shape in enumerate(SHAPES)]
IDS = [f"T{T}N{N}d{d}" for _, T, N, d in TASKS]


def _f(x) -> float:
    return float(x)


def close_f64(got, want, rtol, scale=None):
    """float64 ``got`` against the mp ``want``: ``|got - want| <= rtol * max(|want|, scale)``."""
    want = float(want)
    s = max(abs(want), scale or 0.0, 1e-300)
    assert abs(float(got) - want) <= rtol * s, (float(got), want, abs(float(got) - want) / s)


def close_mp(got, want, scale=None):
    with mp.workdps(60):
        s = max(abs(want), mp.mpf(scale or 0), mp.mpf(10) ** -300)
        assert abs(got - want) <= MP_RTOL * s, (mp.nstr(got, 20), mp.nstr(want, 20))


def _rows(M):
    """An mpmath matrix or a list of lists as a list of lists."""
    if isinstance(M, mp.matrix):
        return [[M[i, j] for j in range(M.cols)] for i in range(M.rows)]
    return [list(r) for r in M]


def _max_abs(X):
    return max(abs(v) for r in X for v in r)


# ------------------------------------------------------------------ divergence

@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_divergence(task):
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    F = np.random.default_rng(seed + 100).standard_normal((T, N))
    want = ref.kl(p, P, F)
    close_f64(kl(p, P, F), want, F64_RTOL)
    for t, w in enumerate(ref.kl_rows(P, F)):
        close_f64(kl_rows(P, F)[t], w, F64_RTOL, scale=1e-16)
    close_mp(dv.kl(p, P, F, dps=pr.DPS), want)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_entropy_and_log_softmax(task):
    """divergence.entropy / log_softmax (float64) and at 50 digits (dps=) against the references."""
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    F = 3.0 * np.random.default_rng(seed + 200).standard_normal((T, N))
    h, hmp = entropy(P), dv.entropy(P, dps=pr.DPS)
    for t, w in enumerate(ref.entropy_rows(P)):
        close_f64(h[t], w, F64_RTOL)
        close_mp(hmp[t], w)
    ls, lsmp = log_softmax(F), _rows(dv.log_softmax(F, dps=pr.DPS))
    for t, row in enumerate(ref.log_softmax(F)):
        for o, w in enumerate(row):
            close_f64(ls[t, o], w, F64_RTOL, scale=1.0)
            close_mp(lsmp[t][o], w, scale=1.0)


@pytest.mark.parametrize("x", [1e-9, -3e-4, 0.05, -0.099, 0.1, 0.5, -2.0, 30.0])
def test_exp3(x):
    """exp3 (float64 series / difference) and exp3_mp against e^x - 1 - x - x^2/2 at 90 digits."""
    with mp.workdps(50):
        want = ref.exp3(mp.mpf(x))
    close_f64(exp3(x), want, F64_RTOL)
    close_mp(dv.exp3(x, dps=pr.DPS), want)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@pytest.mark.parametrize("scale", [1e-3, 0.5])
def test_taylor_quantities(task, scale):
    """draft.lemma-taylor: fbar, the proxy, the remainder bound and the identity's right-hand side, float64
    (scalar and batched) and 50 digits, against the references."""
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    F = np.log(P) + scale * np.random.default_rng(seed + 300).standard_normal((T, N))
    fb, fbmp = fbar(P, F), _rows(dv.fbar(P, F, dps=pr.DPS))
    for t, row in enumerate(ref.fbar(P, F)):
        for o, w in enumerate(row):
            close_f64(fb[t, o], w, F64_RTOL, scale=scale)
            close_mp(fbmp[t][o], w, scale=scale)
    B = (p[None], P[None], F[None])
    for kind, f64, batch in (("proxy", taylor_proxy, taylor_proxy),  # a stack of one: the stack code path
                             ("remainder", taylor_remainder_bound, taylor_remainder_bound),
                             ("identity", taylor_identity_rhs, lambda *a: bt.taylor_identity_batch(*a)[1])):
        want = ref.taylor(kind, p, P, F)
        # float64's fbar = F - L carries ~eps |L| absolute error: measured against |fbar| ~ scale, not the value
        close_f64(f64(p, P, F), want, F64_RTOL, scale=scale)
        close_f64(batch(*B)[0], want, F64_RTOL, scale=scale)
        close_mp(f64(p, P, F, dps=pr.DPS), want)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_lookup_terms(task):
    """lookup.lookup_terms, float64 and at 50 digits (dps=50): q, q psi(h), dTV against their definitions."""
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    got, gotmp = lookup_terms(P), lookup_terms(P, dps=50)
    for t, want in enumerate(ref.lookup_terms(P)):
        for k in range(3):
            close_f64(got[k][t], want[k], F64_RTOL * 100)
            close_mp(gotmp[k][t], want[k])


# ------------------------------------------------------------------ spectra (item 2: the same centring)

@pytest.mark.parametrize("task", TASKS, ids=IDS)
@pytest.mark.parametrize("reading", SIGMA_READINGS)
def test_centred_logits_and_sigma(task, reading):
    """spectra (float64) and precise (50 digits) centre L as the reference does, and agree with each other."""
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    want = ref.centred(p, P, reading)
    scale = float(_max_abs(want))
    got64 = centred_logits(p, P, reading)
    gotmp = _rows(spectra.centred_logits(p, P, reading, dps=pr.DPS))
    for t in range(T):
        for o in range(N):
            close_f64(got64[t, o], want[t][o], F64_RTOL, scale=scale)
            close_mp(gotmp[t][o], want[t][o], scale=scale)
            close_f64(got64[t, o], gotmp[t][o], F64_RTOL, scale=scale)  # float64 vs 50 digits directly
    s = ref.singular_values(p, P, reading)
    for j in range(1, len(s) + 2):
        w = s[j - 1] if j <= len(s) else mp.mpf(0)
        close_f64(sigma(p, P, j, reading), w, SOLVE_RTOL, scale=float(s[0]))
        close_mp(spectra.sigma(p, P, j, reading, dps=pr.DPS), w, scale=s[0])


# ------------------------------------------------------------------ every bound of the catalogue

def _ref_bound(b, p, P, d, C=None):
    kw = dict(b.kwargs)
    if b.needs == "assumption2":
        claim, form = b.claim.split(".")[0], b.claim.split("-")[-1]  # seed/draft, ls/wls/bound
        if b.claim.startswith("seed."):
            form = "ls" if b.claim == "seed.ls-bound" else "wls"
        elif b.reading.startswith("min,"):
            form = "min"
        return ref.almost_rank_bound(claim, form, p, P, d, kw["sigma_reading"], kw.get("inf_reading", "global"))
    form = {"seed.lookup-bound": "seed", "draft.lookup-theorem": "draft",
            "draft.lookup-theorem+factor(1+2C)": "tight", "paper.theorem2+simplified-q": "simplified-q",
            "paper.theorem2[constant=dtv]": "draft", "paper.theorem2[constant=4C]": "seed",
            "paper.theorem2[simplified]": "simplified"}[b.name]
    return ref.lookup_bound(form, p, P, d, C=C)


def test_the_reference_covers_the_catalogue():
    p, P = _task(0, 3, 4)
    for b in CATALOGUE:
        assert _ref_bound(b, p, P, 1, C=0.3) >= 0, b.name


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@pytest.mark.parametrize("b", CATALOGUE, ids=[b.name for b in CATALOGUE])
def test_bound(task, b):
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    if b.needs == "assumption2":
        want = _ref_bound(b, p, P, d)
        close_f64(b.rhs(p, P, d), want, SOLVE_RTOL)
        close_mp(catalogue_bound(b.name).rhs(p, P, d, dps=pr.DPS), want)
        return
    for C, dd in ((0.3, d), (None, 20_000)):  # a chosen constant, and the default one (C < 1/2 at d = 2e4)
        want = _ref_bound(b, p, P, dd, C=C)
        assert mp.isfinite(want) and want > 0
        got = b.fn(p, P, dd, **dict(b.kwargs), **({} if C is None else {"C": C}))
        close_f64(got, want, F64_RTOL * 100)  # psi = log((N-1)/expm1(h)): a few more roundings
        close_mp(catalogue_bound(b.name).rhs(p, P, dd, C=C, dps=pr.DPS), want)
        close_mp(b.fn(p, P, dd, **dict(b.kwargs), **({} if C is None else {"C": C}), dps=50), want)  # its dps branch
    assert math.isinf(b.rhs(p, P, d)) and catalogue_bound(b.name).rhs(p, P, d, dps=pr.DPS) == mp.inf  # C >= 1/2 at small d
    assert b.fn(p, P, d, **dict(b.kwargs), dps=50) == mp.inf


# ------------------------------------------------------------------ fits

@pytest.mark.parametrize("task", TASKS, ids=IDS)
@pytest.mark.parametrize("reading", SIGMA_READINGS)
def test_ls_fit(task, reading):
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    want = ref.ls_logits(p, P, d, reading)
    scale = float(_max_abs(want))
    got64 = f_ls(p, P, d, reading).F
    with mp.workdps(60):  # LowRank.F of mpf factors is E W^T at the precision in force
        gotmp = _rows(lowrank.f_ls(p, P, d, reading, dps=pr.DPS).F)
    for t in range(T):
        for o in range(N):
            close_f64(got64[t, o], want[t][o], SOLVE_RTOL, scale=scale)
            close_mp(gotmp[t][o], want[t][o], scale=scale)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@pytest.mark.parametrize("reading", SIGMA_READINGS)
def test_wls_closed_form(task, reading):
    """draft.lemma-wls against the covariance-form normal equations, with W_U of f_ls[reading] (the `wls` map
    for `uniform`, `wls-matched` for the others): the encoder for a given W_U, and the map's logits."""
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    W = f_ls(p, P, d, reading).W
    want_E = ref.wls_encoder(P, W)
    got_E = wls_encoder(P, W)
    gotmp_E = _rows(lowrank.wls_encoder(P, W, dps=pr.DPS))
    sE = float(_max_abs(want_E))
    for t in range(T):
        for k in range(d):
            close_f64(got_E[t, k], want_E[t][k], SOLVE_RTOL, scale=sE)
            close_mp(gotmp_E[t][k], want_E[t][k], scale=sE)
    want_F = ref.wls_logits(P, ref.ls_basis(p, P, d, reading))  # the span only: W_U of the reference
    sF = float(_max_abs(want_F))
    got_F = f_wls(p, P, d, W_U=W).F
    fit = "wls" if reading == "uniform" else "wls-matched"
    with mp.workdps(60):
        gotmp_F = _rows(lowrank.f_wls(p, P, d, W_U=lowrank.f_ls(p, P, d, reading, dps=pr.DPS).W, dps=pr.DPS).F)
    for t in range(T):
        for o in range(N):
            close_f64(got_F[t, o], want_F[t][o], SOLVE_RTOL, scale=sF)
            close_mp(gotmp_F[t][o], want_F[t][o], scale=sF)
    want_kl = ref.kl(p, P, want_F)
    close_f64(fit_encoder(p, P, d, fit, reading).divergence(p, P), want_kl, SOLVE_RTOL)
    close_mp(fit_encoder(p, P, d, fit, reading, dps=pr.DPS).divergence(p, P), want_kl)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@pytest.mark.parametrize("reading", SIGMA_READINGS)
def test_min_map(task, reading):
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    want = ref.min_divergence(p, P, d, reading)
    close_f64(fit_encoder(p, P, d, "min", reading).divergence(p, P), want, SOLVE_RTOL)
    close_mp(fit_encoder(p, P, d, "min", reading, dps=pr.DPS).divergence(p, P), want)


def _check_alternating(p, P, W, E, F, hist, reading, mp_side):
    """The objective of the result is the reported one; E is the closed form for W (E-step fixed point);
    one more W-step gains at most the last sweep's decrease (W-step near its fixed point)."""
    want = ref.weighted_objective(p, P, F, reading)
    if mp_side:
        close_mp(hist[-1], want, scale=ref.weighted_objective(p, P, np.zeros_like(P), reading) * mp.mpf(10) ** -20)
    else:
        close_f64(hist[-1], want, SOLVE_RTOL, scale=1e-14)
    F_e = ref.wls_logits(P, W)
    sF = _max_abs(F_e)
    for t in range(len(F)):
        for o in range(len(F[0])):
            if mp_side:
                close_mp(F[t][o], F_e[t][o], scale=sF * mp.mpf(10) ** 5)  # the contract: 1e-25 relative
            else:
                close_f64(F[t][o], F_e[t][o], SOLVE_RTOL, scale=float(sF))
    after = ref.weighted_objective(p, P, ref.w_step_logits(p, P, W, E, reading), reading)
    last = hist[-2] - hist[-1] if len(hist) > 1 else 0
    assert after >= want - max(10 * last, mp.mpf(1e-12) * want), (mp.nstr(after, 12), mp.nstr(want, 12))
    return want


@pytest.mark.parametrize("task", TASKS, ids=IDS)
@pytest.mark.parametrize("reading", ["pi-prior", "pi"])
def test_alternating_fit_float64(task, reading):
    seed, T, N, d = task
    p, P = _task(seed, T, N)
    lr, rep = f_wls_alternating(p, P, d, iters=ALT_SWEEPS, tol=ALT_TOL, reading=reading)
    want = _check_alternating(p, P, lr.W, lr.E, lr.F, [mp.mpf(h) for h in rep.history], reading, False)
    assert want <= ref.weighted_objective(p, P, ref.wls_logits(P, ref.ls_basis(p, P, d, "uniform")), reading) * (1 + 1e-12)


@pytest.mark.parametrize("reading", ["pi-prior", "pi"])
def test_alternating_fit_50_digits(reading):
    seed, T, N, d = TASKS[0]
    p, P = _task(seed, T, N)
    lr, rep = lowrank.f_wls_alternating(p, P, d, iters=8, tol=0.0, reading=reading, dps=pr.DPS)
    with mp.workdps(60):
        _check_alternating(p, P, _rows(lr.W), _rows(lr.E), _rows(lr.F), list(rep.history), reading, True)


# ------------------------------------------------------------------ kernels run in float64 and at 50 digits (issue 17)
#
# theory.lookup.lambda_root_kernel and theory.exact.prop3_logits_kernel are each written once and run on
# float64 (lookup_lambda, prop3_divergence_rate) and on theory.precise.MP (lookup_lambda(dps=50), prop3_logits_kernel on MP).
# The two paths agree to float64's rounding; the 50-digit one matches the references of tests/reference.py.

LAMBDA_F64_RTOL = 1e-13  # float64 lambda: ~1 eps (solver) + ~N eps (the gaps) times psi's condition <= ~100 here


@settings(max_examples=30)
@given(st.integers(2, 8), st.floats(1e-9, 0.98), st.integers(0, 2**16 - 1), st.sampled_from(JL_KINDS))
def test_lookup_lambda_float64_and_50_digits_agree(N, frac, seed, kind):
    """draft.lookup-theorem (D.6): one Newton root (lambda_root_kernel) in float64 and at 50 digits; the
    50-digit lambda is the reference's bisection root of ``h = log sum_j e^{lambda a_j}``."""
    h = frac * math.log(N)
    W, _ = jl_matrix(N, int(128 * math.log(N + 1)) + 1 + seed % 40, seed=seed, kind=kind)
    g = seed % N
    lam, lam_mp = lookup_lambda(h, W, g), lookup_lambda(h, W, g, dps=50)
    close_f64(lam, lam_mp, LAMBDA_F64_RTOL)
    close_mp(lam_mp, ref.lookup_lambda(h, W, g))
    with mp.workdps(50):  # the kernel itself on float64's gaps, both ways: the solver alone
        a = lookup_gaps(W, g)
        lam_a = lambda_root_kernel(h, a, g)
        close_f64(lam_a, lambda_root_kernel(mp.mpf(h), pr.MP.asarray(a), g, pr.MP), 8 * EPS * _lambda_condition(h, a, g, lam_a))


def _lambda_condition(h, a, g, lam):
    """The relative condition of the root of ``f(lambda) = m + log S - log expm1(h)`` (``m = max lambda a_j``,
    ``S = sum e^{lambda a_j - m}``, ``j != g``): float64 evaluates ``f`` to ~eps (|m| + |log S| + |log expm1 h|)
    absolute, which moves the root by that over ``|f'(lambda)| lambda`` relative; at least 1. Near ``h = log N``
    (``lambda -> 0``) it grows (~80 at 0.98 log N, N <= 8); the solver's own error is a few eps times it
    (measured <= 4.2 eps kappa over 5,600 draws, N in 2..8, h in {0.5, 0.9, 0.95, 0.98} log N)."""
    o = a[np.arange(len(a)) != g]
    y = lam * o
    m = y.max()
    e = np.exp(y - m)
    fp = abs((e * o).sum() / e.sum())
    return max(1.0, (abs(m) + abs(math.log(e.sum())) + abs(math.log(math.expm1(h)))) / (lam * fp))


@pytest.mark.parametrize("h_frac", [0.0, 1e-300, 1.0])
def test_lookup_lambda_ends_on_both_paths(h_frac):
    """h = 0: inf; h = log N: 0; all gaps equal (orthonormal W): psi(h) exactly, in float64 and at 50 digits."""
    h = h_frac * math.log(5)
    with mp.workdps(50):  # float64's log 5 is below the exact one: h = log N at 50 digits is mp.log(5)
        lam, lam_mp = lookup_lambda(h, np.eye(5), 2), lookup_lambda(h_frac * mp.log(5), np.eye(5), 2, dps=50)
        if h_frac == 0.0:
            assert lam == math.inf and lam_mp == mp.inf
        elif h_frac == 1.0:
            assert lam == 0.0 and lam_mp == 0
        else:
            assert lam == float(mp.log(4 / mp.expm1(mp.mpf(h)))) and lam_mp == mp.log(4 / mp.expm1(h_frac * mp.log(5)))


def _prop3_logits_mp(P, s):
    """The paper.prop3 logits at 50 digits: prop3_logits_kernel on theory.precise.MP (mpmath's cos)."""
    with mp.workdps(pr.DPS):
        return prop3_logits_kernel(np.argmax(P, axis=1), P.shape[1], mp.mpf(s), pr.MP)


@settings(max_examples=30)
@given(st.integers(2, 12), st.lists(st.integers(0, 11), min_size=1, max_size=8), st.floats(0.0, 1e3))
def test_prop3_logits_float64_and_50_digits_agree(N, gs, s):
    """paper.prop3: prop3_logits_kernel in float64 and at 50 digits (on theory.precise.MP) against the reference
    ``E W^T``; the float64 family prop3_family's ``E W^T`` is the kernel's logits up to rounding."""
    g = np.array(gs) % N
    P = np.eye(N)[g]
    F64, Fmp, want = prop3_logits_kernel(g, N, s), _rows(_prop3_logits_mp(P, s)), ref.prop3_logits(g, N, s)
    for t in range(len(g)):
        for o in range(N):
            close_f64(F64[t, o], Fmp[t][o], 4 * EPS, scale=s)
            close_mp(Fmp[t][o], want[t][o], scale=s)
    seqs = np.array([[t // N**2 % N, t // N % N, t % N] for t in range(len(g))])  # distinct: T <= 8 <= N^3
    task = Task(np.full(len(g), 1 / len(g)), P, seqs)
    assert np.abs(prop3_family(task, 3, s).F - F64).max() <= 4 * EPS * s
    # the divergence: the reference's E W^T rounds F_g by ~s 10^-dps absolute, so it runs at 100 digits
    want_kl = ref.kl(task.prior, P, ref.prop3_logits(g, N, s, dps=100), dps=100)
    close_mp(kl(task.prior, P, _prop3_logits_mp(P, s), dps=pr.DPS), want_kl, scale=s * mp.mpf(10) ** -70)
