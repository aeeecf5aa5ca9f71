"""The dps= branches of the public functions (theory/precise.py's mpmath namespace): what the ledger uses to confirm counterexamples.

Three groups: (1) every twin agrees with its float64 function on random
well-conditioned instances, to a tolerance derived next to it; (2) cases
where float64 loses digits (or the value) and the twin is exact, checked
against closed forms or a 100-digit evaluation; (3) ``NotUnique`` on
instances whose map is not determined. mpmath is ~1e4 times slower than
numpy: tiny sizes (T, N <= 4) and few Hypothesis examples keep the file
within ~20 s.

Tolerances. The float64 code is the approximation, the twin the reference
(its error is ~1e-45 here). ``*_RTOL`` below bound the float64 error; each
comment gives the reason and the worst error measured over 150 random
instances with T, N <= 6 (Dirichlet rows, alpha in {0.5, 1, 4}). A wrong
constant or formula moves a value by >= 1e-3 relative, far above all of them.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aotmem.theory import divergence as dv
from aotmem.theory import exact, lookup, lowrank, spectra
from aotmem.theory import precise as pr
from aotmem.theory.bounds import CATALOGUE
from aotmem.theory.bounds import bound as catalogue_bound
from aotmem.theory.generators import association_task, lookup_task, permutation_of, permutation_task
from aotmem.theory.task import Task

EPS = np.finfo(float).eps

# Closed forms (log-softmax, KL, entropy, fbar, exp3, the Taylor proxy and
# remainder): a few roundings on terms of size <= |F| + |log pi| <~ 20, so the
# float64 error is ~1e-15 relative, ~1e-15 absolute where terms cancel
# (KL). Measured: <= 2.1e-15 relative. 1e-12 / 1e-13: a 500x margin.
CLOSED_RTOL, CLOSED_ATOL = 1e-12, 1e-13
# Singular values: a float64 SVD is backward stable, error <= ~sqrt(n) eps sigma_1
# absolute (measured 5.8e-16 sigma_1).
SVD_ATOL = 1e-13
# Fitted maps: the float64 singular subspace errs by ~eps sigma_1 / gap and the
# closed-form encoder by ~cond(A_t) eps; with gap >= 1e-2 sigma_1 (assumed) and
# Dirichlet(alpha >= 1) rows, logits agree to ~1e-13 of max|F| (measured 4e-15;
# alternating, 3 sweeps: 4.4e-13). 1e-9 leaves room for the conditioning.
FIT_RTOL = 1e-9
# Divergences of fitted maps (absolute: 0 for exact fits, float64 noise ~1e-16).
FIT_ATOL = 1e-12


def fitted_mp(p, P, d, fit, sigma_reading="uniform", dps=pr.DPS):
    """``dKL(pi, f)`` of the map ``fit`` at ``dps`` digits (the ledger's left-hand side of a rank bound)."""
    return lowrank.fit_encoder(p, P, d, fit, sigma_reading, dps=dps).divergence(p, P, dps=dps)


def close(mp_value, f64, *, rtol, atol=0.0, scale=None):
    """``|mp - f64| <= atol + rtol * scale`` entrywise (``scale`` default ``|f64|``); message with the worst entry."""
    a = np.atleast_1d(np.asarray(pr.to_float(mp_value), dtype=float))
    b = np.atleast_1d(np.asarray(f64, dtype=float))
    assert a.shape == b.shape, (a.shape, b.shape)
    s = np.abs(b) if scale is None else scale
    err = np.abs(a - b)
    lim = atol + rtol * s
    k = int(np.argmax(err - lim))
    lim_k = np.broadcast_to(lim, err.shape).flat[k]
    assert np.all(err <= lim), (f"entry {k}: mp {a.flat[k]!r} vs float64 {b.flat[k]!r} "
                                f"(|diff| {err.flat[k]:.3g} > {lim_k:.3g})")


@st.composite
def instances(draw, max_t=4, max_n=4):
    """``(prior, cond, d, rng)``: Dirichlet(alpha in {1, 4}) rows (Assumption 2), Dirichlet prior, ``1 <= d <= N-2``."""
    T = draw(st.integers(2, max_t))
    N = draw(st.integers(3, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = rng.dirichlet(np.full(N, draw(st.sampled_from([1.0, 4.0]))), size=T)
    p = rng.dirichlet(np.full(T, 2.0))
    return p, P, draw(st.integers(1, N - 2)), rng


def _gap_ok(p, P, d, reading, rel=1e-2):
    s = spectra.singular_values(p, P, reading)
    return d >= s.size or s[d - 1] - s[d] >= rel * s[0]


# --------------------------------------------------------------------------- (1) twins agree


@settings(max_examples=8)
@given(instances())
def test_divergence_twins(inst):
    p, P, d, rng = inst
    F = np.log(P) + rng.standard_normal(P.shape)
    close(dv.log_softmax(F, dps=pr.DPS), dv.log_softmax(F), rtol=CLOSED_RTOL)
    close(dv.kl_rows(P, F, dps=pr.DPS), dv.kl_rows(P, F), rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
    close(dv.kl(p, P, F, dps=pr.DPS), dv.kl(p, P, F), rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
    close(dv.entropy(P, dps=pr.DPS), dv.entropy(P), rtol=CLOSED_RTOL)
    close(dv.fbar(P, F, dps=pr.DPS), dv.fbar(P, F), rtol=0, atol=CLOSED_ATOL * np.abs(F).max())
    close(dv.taylor_proxy(p, P, F, dps=pr.DPS), dv.taylor_proxy(p, P, F), rtol=CLOSED_RTOL)
    close(dv.taylor_remainder_bound(p, P, F, dps=pr.DPS), dv.taylor_remainder_bound(p, P, F), rtol=CLOSED_RTOL)
    x = rng.uniform(-5, 5, 8)
    close(dv.exp3(x, dps=pr.DPS), dv.exp3(x), rtol=CLOSED_RTOL)
    # draft.lemma-taylor[identity] holds exactly: the two formulas agree to the working precision
    with mpmath.workdps(50):
        lhs, rhs = dv.kl(p, P, F, dps=pr.DPS), dv.taylor_identity_rhs(p, P, F, dps=pr.DPS)
        assert abs(lhs - rhs) <= mpmath.mpf(10) ** -45 * (1 + abs(lhs))


@settings(max_examples=8)
@given(instances())
def test_spectra_and_fit_twins(inst):
    p, P, d, rng = inst
    for r in spectra.SIGMA_READINGS:
        s = spectra.singular_values(p, P, r)
        close(spectra.singular_values(p, P, r, dps=pr.DPS), s, rtol=0, atol=SVD_ATOL * s[0])
        close(spectra.sigma(p, P, d + 1, r, dps=pr.DPS), spectra.sigma(p, P, d + 1, r), rtol=0, atol=SVD_ATOL * s[0])
        close(spectra.centred_logits(p, P, r, dps=pr.DPS), spectra.centred_logits(p, P, r), rtol=0, atol=CLOSED_ATOL)
        if not _gap_ok(p, P, d, r):
            continue  # the float64 subspace is only good to eps sigma_1 / gap
        a, b = lowrank.f_ls(p, P, d, r, dps=pr.DPS), lowrank.f_ls(p, P, d, r)
        close(a.F, b.F, rtol=0, atol=FIT_RTOL * np.abs(b.F).max())
        close(a.divergence(p, P), b.divergence(p, P), rtol=FIT_RTOL, atol=FIT_ATOL)
        # the ledger's `min` map: per row the better of f_ls and the weighted encoder on the same W_U
        try:
            Ew = lowrank.wls_encoder(P, b.W)
        except ValueError:  # float64 refuses cond(A_t) > WLS_COND_MAX (1 nearly in Im W for the pi readings)
            continue
        ref = float(p @ np.minimum(dv.kl_rows(P, b.F), dv.kl_rows(P, Ew @ b.W.T)))
        close(fitted_mp(p, P, d, "min", r), ref, rtol=FIT_RTOL, atol=FIT_ATOL)
    if _gap_ok(p, P, d, "uniform"):
        a, b = lowrank.f_wls(p, P, d, dps=pr.DPS), lowrank.f_wls(p, P, d)
        close(a.F, b.F, rtol=0, atol=FIT_RTOL * np.abs(b.F).max())
        close(a.divergence(p, P), b.divergence(p, P), rtol=FIT_RTOL, atol=FIT_ATOL)


@settings(max_examples=6)
@given(instances())
def test_lemma_wls_twins(inst):
    p, P, d, rng = inst
    W = rng.standard_normal((P.shape[1], d))
    E = lowrank.wls_encoder(P, W)
    Em = lowrank.wls_encoder(P, W, dps=pr.DPS)
    close(pr.MP.matmul(Em, W.T), E @ W.T, rtol=0, atol=FIT_RTOL * np.abs(E @ W.T).max())
    L = np.log(P)
    D = E @ W.T - L
    D = D - np.sum(P * D, axis=1, keepdims=True)
    close(lowrank.row_var(P, W, E, dps=pr.DPS), np.sum(P * D * D, axis=1), rtol=FIT_RTOL, atol=FIT_ATOL)
    pi = P[0]
    A = W.T @ (np.diag(pi) - np.outer(pi, pi)) @ W
    Pt = lowrank.wls_projection(pi, W, dps=pr.DPS)
    # float64 forms A^{-1} by a solve: error ~ cond(A) eps (measured 6.5e-13 at cond ~1e3)
    atol = 100 * EPS * np.linalg.cond(A) * max(1.0, np.abs(W).max() ** 2)
    close(Pt, lowrank.wls_projection(pi, W), rtol=0, atol=atol)
    with mpmath.workdps(50):
        # the lemma's identities hold to the working precision: P_t^2 = P_t, W_U w_E(t) = P_t L_t
        assert np.abs(pr.MP.matmul(Pt, Pt) - Pt).max() < mpmath.mpf(10) ** -40
        Lt = pr.MP.asarray([mpmath.log(mpmath.mpf(float(v)) / mpmath.fsum(map(mpmath.mpf, pi))) for v in pi])
        img = pr.MP.matmul(pr.MP.asarray(W), Em[0])
        assert np.abs(img - pr.MP.matmul(Pt, Lt)).max() < mpmath.mpf(10) ** -40
        # the closed form minimises the row variance: a perturbation of it does worse
        Ep = pr.to_float(Em).reshape(E.shape) + 1e-3 * rng.standard_normal(E.shape)
        v0, v1 = lowrank.row_var(P, W, Em, dps=pr.DPS), lowrank.row_var(P, W, Ep, dps=pr.DPS)
        assert all(v0 < v1)


@settings(max_examples=4)
@given(instances(max_t=4, max_n=4))
def test_alternating_twin_fixed_sweeps(inst):
    p, P, d, rng = inst
    assume(_gap_ok(p, P, d, "uniform"))
    try:
        b, rb = lowrank.f_wls_alternating(p, P, d, iters=3, tol=0.0)
    except ValueError:  # a singular W-step (T < d+1 rows of E): the twin must refuse too
        with pytest.raises(pr.NotUnique):
            lowrank.f_wls_alternating(p, P, d, iters=3, tol=0.0, dps=pr.DPS)
        return
    a, ra = lowrank.f_wls_alternating(p, P, d, iters=3, tol=0.0, dps=pr.DPS)
    assume(min(rb.history) > 1e-12)  # below, the objective is float64 noise and tol=0 stops on noise
    assert ra.iterations == rb.iterations
    close(list(ra.history), list(rb.history), rtol=FIT_RTOL, atol=FIT_ATOL)
    close(a.F, b.F, rtol=0, atol=FIT_RTOL * np.abs(b.F).max())


def test_alternating_twin_stopping_rule():
    # the ledger's fit (ALT_SWEEPS, ALT_TOL): same sweeps stop at the same iteration; the two runs
    # follow the same iterates to ~1e-13, so the stop differs only if a relative decrease lies within
    # ~1e-12 of ALT_TOL (not the case here; measured equal counts on 10 random instances).
    rng = np.random.default_rng(7)
    P = rng.dirichlet(np.full(4, 2.0), size=4)
    p = np.full(4, 0.25)
    a, ra = lowrank.f_wls_alternating(p, P, 2, iters=lowrank.ALT_SWEEPS, tol=lowrank.ALT_TOL, dps=pr.DPS)
    b, rb = lowrank.f_wls_alternating(p, P, 2, iters=lowrank.ALT_SWEEPS, tol=lowrank.ALT_TOL)
    assert (ra.iterations, ra.converged) == (rb.iterations, rb.converged)
    close(a.divergence(p, P), b.divergence(p, P), rtol=FIT_RTOL, atol=FIT_ATOL)
    close(fitted_mp(p, P, 2, "wls-alt"), b.divergence(p, P), rtol=FIT_RTOL, atol=FIT_ATOL)
    with mpmath.workdps(50):
        assert all(x >= y for x, y in zip(ra.history, ra.history[1:]))  # never increases, decided exactly


@settings(max_examples=6)
@given(instances())
def test_almost_rank_bounds_twins(inst):
    p, P, d, _ = inst
    for b in CATALOGUE:
        if b.needs != "assumption2":
            continue
        f64 = b.rhs(p, P, d)
        s = spectra.singular_values(p, P, b.sigma_reading)
        sd1 = s[d] if d < s.size else 0.0
        # sigma_{d+1} (float64) errs by ~eps sigma_1 absolute, and the bounds are smooth in it with
        # relative sensitivity <= ~3 + sqrt(hi/lo) sigma (the exp3 argument): ~1e-15 sigma_1/sigma_{d+1}
        # times that; measured <= 1.6e-13.
        rtol = 1e-12 * (1.0 + s[0] / max(sd1, 1e-300)) * (3.0 + np.sqrt(P.max() / P.min()) * sd1)
        close(catalogue_bound(b.name).rhs(p, P, d, dps=pr.DPS), f64, rtol=min(rtol, 1e-6))


def _lookup_instance(seed, N=3):
    lt = lookup_task(N, 1, entropy=0.4 * math.log(N), seed=seed)
    d = int(128 * math.log(N + 1)) + 1 + seed % 50
    W, cert = lookup.jl_matrix(N, d, seed=seed)
    return lt, d, W, cert


@pytest.mark.parametrize("seed", [0, 3])
def test_lookup_twins(seed):
    lt, d, W, cert = _lookup_instance(seed)
    enc = lookup.lookup_encoder(lt, W)
    enc50 = lookup.lookup_encoder(lt, W, dps=50)
    # lambda: Newton (lambda_root_kernel) to 4 eps relative, and the KL from it: float64 error ~ lambda |a| eps; measured
    # <= 5e-14 relative (divergence), 8e-16 (lambda). 1e-10.
    assert isinstance(enc50.divergence(lt.prior), mpmath.mpf) and enc50.kl_rows().shape == (lt.T,)
    close(enc50.divergence(lt.prior), enc.divergence(lt.prior), rtol=1e-10)
    close(enc50.kl_rows(), enc.kl_rows(), rtol=1e-10, atol=1e-15)
    with mpmath.workdps(50):  # the identity KL_t = lambda sum_o pi_o (-a_o) holds to the working precision
        assert all(abs(x - y) <= mpmath.mpf(10) ** -40 for x, y in zip(enc50.kl_rows_identity(), enc50.kl_rows()))
    t = int(np.argmax(enc.h))
    lam = lookup.lookup_lambda(float(enc.h[t]), W, int(enc.g[t]), dps=50)
    close(lam, enc.lam[t], rtol=1e-12)
    close(lookup.lookup_lambda_bound(float(enc.h[t]), lt.N, cert.max_dev, dps=50),
          lookup.lookup_lambda_bound(float(enc.h[t]), lt.N, cert.max_dev), rtol=CLOSED_RTOL)
    with mpmath.workdps(50):  # lambda solves h = log sum_j exp(lambda a_j) to the working precision
        a = lookup.lookup_gaps(W, int(enc.g[t]), dps=50)
        assert a.shape == (lt.N,)
        h = mpmath.log(mpmath.fsum(mpmath.exp(lam * a[j]) for j in range(a.size)))
        assert abs(h - mpmath.mpf(float(enc.h[t]))) < mpmath.mpf(10) ** -45
    for q_mp, q64 in zip(lookup.lookup_terms(lt.cond, dps=50), lookup.lookup_terms(lt.cond)):
        assert q_mp.shape == q64.shape and all(isinstance(v, mpmath.mpf) for v in q_mp)
        close(q_mp, q64, rtol=CLOSED_RTOL, atol=1e-15)
    for b in CATALOGUE:
        if b.needs == "assumption2":
            continue
        for C in (None, cert.max_dev):
            # closed forms in the entropies (float64: ~N eps relative); measured <= 3e-14
            close(catalogue_bound(b.name).rhs(lt.prior, lt.cond, d, C=C, dps=pr.DPS),
                  b.fn(lt.prior, lt.cond, d, C=C, **dict(b.kwargs)), rtol=1e-11)
            # the catalogue function's own dps= branch: the same kernel at 50 digits
            b50 = b.fn(lt.prior, lt.cond, d, C=C, dps=50, **dict(b.kwargs))
            assert isinstance(b50, mpmath.mpf) and b50 == catalogue_bound(b.name).rhs(lt.prior, lt.cond, d, C=C, dps=pr.DPS)
    assert lookup.seed_lookup_bound(lt.prior, lt.cond, 10, dps=50) == mpmath.inf  # C >= 1/2: vacuous
    assert catalogue_bound("seed.lookup-bound").rhs(lt.prior, lt.cond, 10, dps=pr.DPS) == mpmath.inf  # C >= 1/2: vacuous, as float64
    # the achieved C of the W used, exactly (float64: a Gram of d products, ~1e-16 off)
    C_mp = lookup.jl_certificate(W, dps=50)
    close(C_mp, cert.max_dev, rtol=1e-12)
    assert lookup.jl_certificate(W, C_mp, dps=50).holds and lookup.jl_certificate(W, C_mp, dps=50).max_dev == C_mp
    # seed.lookup-bound[as-written]: the slide's formula beyond C = 1/2 (negative), float64 and at 50 digits
    C10 = lookup.lookup_C(lt.N, 10)
    written = float(lt.prior @ lookup.lookup_terms(lt.cond)[1]) * (1 + 4 * C10) / (1 - 2 * C10)
    assert lookup.seed_lookup_bound(lt.prior, lt.cond, 10, as_written=True) == written < 0
    close(lookup.seed_lookup_bound(lt.prior, lt.cond, 10, as_written=True, dps=50), written, rtol=1e-11)
    close(catalogue_bound("seed.lookup-bound").rhs(lt.prior, lt.cond, 10, as_written=True, dps=pr.DPS), written, rtol=1e-11)
    close(lookup.lookup_C(lt.N, 10, dps=50), C10, rtol=1e-15)


def test_one_hot_rows_take_the_limit():
    P = np.array([[1.0, 0.0, 0.0], [0.8, 0.1, 0.1]])
    W, _ = lookup.jl_matrix(3, 200, seed=1)
    k = lookup.lookup_encoder(Task(np.array([0.5, 0.5]), P, np.array([[0], [1]])), W, dps=50).kl_rows()
    assert k[0] == 0 and k[1] > 0 and all(isinstance(v, mpmath.mpf) for v in k)
    assert lookup.lookup_lambda(0.0, W, 0, dps=50) == mpmath.inf
    assert lookup.lookup_psi(0.0, 3, dps=50) == mpmath.inf
    assert lookup.paper_theorem2_simplified([1.0, 0.0], P, 200, dps=50) == 0
    assert catalogue_bound("paper.theorem2[simplified]").rhs([1.0, 0.0], P, 200, dps=pr.DPS) == 0


def test_permutation_twin():
    task = permutation_task(4, 1, d=1, seed=2)
    xi = permutation_of(task)
    a = exact.permutation_closed_forms(task.prior, task.cond, 1, xi, dps=pr.DPS)
    b = exact.permutation_closed_forms(task.prior, task.cond, 1, xi)
    assert list(a["S_d"]) == list(b["S_d"])
    assert set(a["formulas"]) == set(b["formulas"]) and set(a["numeric"]) == set(b["numeric"])
    for k, f in b["formulas"].items():
        for q in ("divergence", "kl_of_logits"):
            assert isinstance(a["formulas"][k][q], mpmath.mpf), (k, q)  # was a 0-d array (the re-check's TypeError)
            close(a["formulas"][k][q], f[q], rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
        close(a["formulas"][k]["logits"], f["logits"], rtol=CLOSED_RTOL)
    for k, n in b["numeric"].items():
        if n["divergence"] is not None:
            close(a["numeric"][k]["divergence"], n["divergence"], rtol=FIT_RTOL, atol=FIT_ATOL)
    assert set(a["mismatch"]) == set(b["mismatch"])
    for k, m in b["mismatch"].items():  # float64 reports rounding (~1e-15) where the twin has ~1e-50
        close(a["mismatch"][k]["logits"], m["logits"], rtol=FIT_RTOL, atol=1e-12)
        close(a["mismatch"][k]["divergence"], m["divergence"], rtol=FIT_RTOL, atol=1e-12)
    assert a["wls_strictly_better"] == b["wls_strictly_better"]


def test_prop3_twin():
    task = association_task(5, 1, seed=0)
    scales = [0.0, 3.0, 40.0]
    a = exact.prop3_divergence_rate(task, 2, scales, dps=pr.DPS)
    b = exact.prop3_divergence_rate(task, 2, scales)
    for k in ("exact", "upper", "asymptotic"):
        close(a[k], b[k], rtol=CLOSED_RTOL)
    close(a["gamma1"], b["gamma1"], rtol=CLOSED_RTOL)
    # float64's measured divergence is F_g - lse with |F| ~ s: absolute error ~ s eps (a relative
    # 5e-4 error at s = 40, where dKL ~ 2e-12); the twin's is exact (next test)
    close(a["measured"], b["measured"], rtol=0, atol=100 * EPS * max(scales))
    with mpmath.workdps(50):
        for m, e in zip(a["measured"], a["exact"]):  # paper.prop3[rate-exact] holds to the working precision
            assert abs(m - e) <= mpmath.mpf(10) ** -45 * e


# --------------------------------------------------------------------------- (2) float64 wrong, mp exact


def _naive_exp3(x, dps):
    with mpmath.workdps(dps):
        x = mpmath.mpf(x)
        return mpmath.exp(x) - 1 - x - x * x / 2


@pytest.mark.parametrize("x", [1e-8, -1e-8, 1e-3, 0.3, -0.45, 0.5, -0.5, 2.0, -20.0, 1000.0])
def test_exp3_exact(x):
    # reference: the naive difference at 150 digits (it loses <= 3 log10(1/|x|) = 24 digits)
    ref = _naive_exp3(x, 150)
    v = dv.exp3(x, dps=pr.DPS)
    with mpmath.workdps(60):
        assert abs(v - ref) <= mpmath.mpf(10) ** -48 * abs(ref)
    if abs(x) < 1e-4:  # float64's naive form loses ~3 log10(1/|x|) >= 12 digits, which the series keeps
        naive = float(np.expm1(x) - x - 0.5 * x * x)
        assert abs(naive - float(ref)) > 1e-6 * abs(float(ref))
    if x > 709:
        assert dv.exp3(x) == np.inf and mpmath.isfinite(v)  # float64 overflows; the twin is exact


def test_log_softmax_far_entries():
    v = dv.log_softmax(np.array([[0.0, -30.0, -31.0], [0.0, -800.0, -800.0]]), dps=pr.DPS)
    with mpmath.workdps(100):
        e30 = mpmath.exp(-30) + mpmath.exp(-31)
        assert abs(v[0, 0] + mpmath.log1p(e30)) <= mpmath.mpf(10) ** -48 * mpmath.log1p(e30)
        assert abs(v[0, 2] - (-31 - mpmath.log1p(e30))) <= mpmath.mpf(10) ** -48 * 31
        tiny = mpmath.log1p(2 * mpmath.exp(-800))
        assert abs(v[1, 0] + tiny) <= mpmath.mpf(10) ** -48 * tiny
    # float64 is right to eps on the first row, and returns 0 for -2e-348 on the second
    close([v[0, j] for j in range(3)], dv.log_softmax(np.array([[0.0, -30.0, -31.0]]))[0], rtol=4 * EPS)
    assert dv.log_softmax(np.array([[0.0, -800.0, -800.0]]))[0, 0] == 0.0


def test_kl_below_float64_resolution():
    # F = log pi + 30 + 1e-10 noise: KL ~ Var(noise)/2 ~ 1e-21, below float64's absolute resolution
    # eps |F| ~ 1e-14: float64 returns 0.0 or ~1e-15, the twin the exact value (>= 0 by construction).
    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(3), size=1)
    F = np.log(P) + 30.0 + 1e-10 * rng.standard_normal(P.shape)
    v = dv.kl([1.0], P, F, dps=pr.DPS)
    with mpmath.workdps(100):  # reference: the definition, sum pi (log pi - log softmax f), at 100 digits
        pi = [mpmath.mpf(float(x)) for x in P[0]]
        pi = [x / mpmath.fsum(pi) for x in pi]
        f = [mpmath.mpf(float(x)) for x in F[0]]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in f))
        ref = mpmath.fsum(a * (mpmath.log(a) - b + lse) for a, b in zip(pi, f))
        assert 0 < ref < 1e-19
        assert abs(v - ref) <= mpmath.mpf(10) ** -40 * ref
        # second order: KL = Var_pi(delta)/2 (1 + O(|delta|)), delta = f - log pi
        dl = [b - mpmath.log(a) for a, b in zip(pi, f)]
        m = mpmath.fsum(a * x for a, x in zip(pi, dl))
        var = mpmath.fsum(a * (x - m) ** 2 for a, x in zip(pi, dl))
        assert abs(v / (var / 2) - 1) < 1e-8
    assert abs(dv.kl([1.0], P, F) - float(v)) <= 1e-13  # float64: right only to its absolute resolution


def test_lookup_q_of_a_low_entropy_row():
    # q_t = 1 - pi(g|t) of a float64 row [q/3, q/3, q/3, 1 - q] with q ~ 5e-11: float64 forms 1 - pi_g,
    # exact by Sterbenz but off by the row's rounding (~1e-16) relative to q (~1e-6 relative error);
    # the twin sums the other entries of the normalised row: q = (3 q/3) / (row sum), to 50 digits.
    t = lookup_task(4, 1, entropy=1e-9 * math.log(4), seed=0)
    q = lookup.lookup_terms(t.cond, dps=50)[0]
    with mpmath.workdps(60):
        for r in range(t.T):
            row = [mpmath.mpf(float(v)) for v in t.cond[r]]
            g = int(np.argmax(t.cond[r]))
            exact_q = mpmath.fsum(v for j, v in enumerate(row) if j != g) / mpmath.fsum(row)
            assert abs(q[r] - exact_q) <= mpmath.mpf(10) ** -48 * exact_q


def test_the_exact_instance_is_a_distribution():
    P = np.array([[0.1, 0.2, 0.7000000000000001]])  # sums to 1 + 2.2e-16 exactly
    with pr.working(50):
        p, Pm = pr.exact_task([1.0], P)
    with mpmath.workdps(50):
        assert mpmath.fsum([mpmath.mpf(float(v)) for v in P[0]]) != 1
        assert abs(mpmath.fsum(Pm[0, j] for j in range(3)) - 1) < mpmath.mpf(10) ** -49


# --------------------------------------------------------------------------- (3) NotUnique


def _circulant(q):
    """Rows: the cyclic shifts of ``q``; the uniform-centred ``log`` is circulant, so its singular
    values come in equal pairs (the DFT coefficients k and N-k): sigma_1 = sigma_2 exactly."""
    return np.array([np.roll(q, k) for k in range(len(q))])


def test_not_unique_on_tied_singular_values():
    P = _circulant(np.array([0.5, 0.3, 0.2]))
    p = np.full(3, 1 / 3)
    with mpmath.workdps(50):
        s1, s2 = spectra.sigma(p, P, 1, dps=pr.DPS), spectra.sigma(p, P, 2, dps=pr.DPS)
        assert abs(s1 - s2) < mpmath.mpf(10) ** -45 * s1  # an exact tie at the cut d = 1
    for reading in ("uniform", "pi", "uniform-prior"):
        with pytest.raises(pr.NotUnique, match="truncated SVD is not unique"):
            lowrank.f_ls(p, P, 1, reading, dps=pr.DPS)
    with pytest.raises(pr.NotUnique):
        lowrank.f_wls(p, P, 1, dps=pr.DPS)  # its W_U is that f_ls's W
    with pytest.raises(pr.NotUnique):
        fitted_mp(p, P, 1, "min")
    lowrank.f_ls(p, P, 1)  # float64 returns one of the tied vectors, chosen by rounding
    # no tie at d = 2: the rank-2 fit is unique (and exact)
    assert lowrank.f_ls(p, P, 2, dps=pr.DPS).divergence(p, P) < 1e-45


def test_not_unique_on_singular_system():
    P = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    W1 = np.ones((3, 1))  # 1 in Im(W_U): A_t = W_U^T (I_pi - pi pi^T) W_U = 0
    with pytest.raises(pr.NotUnique, match="singular"):
        lowrank.wls_encoder(P, W1, dps=pr.DPS)
    with pytest.raises(ValueError, match="1 lies in Im"):
        lowrank.wls_encoder(P, W1)
    W2 = np.array([[1.0, 2.0], [0.0, 0.0], [-1.0, -2.0]])  # rank 1: A is 2 x 2 of rank 1
    with pytest.raises(pr.NotUnique, match="singular"):
        lowrank.wls_projection(P[0], W2, dps=pr.DPS)


def test_decide_mp():
    one = mpmath.mpf(1)
    assert pr.decide_mp(one, 2 * one, "<=") == "holds"
    assert pr.decide_mp(2 * one, one, "<=") == "violated"
    assert pr.decide_mp(one, one, "<=") == "unresolved"
    assert pr.decide_mp(one, one, "==") == "holds"
    assert pr.decide_mp(one, one + 1e-10, "==") == "violated"
    assert pr.decide_mp(2 * one, one, ">") == "holds" and pr.decide_mp(one, one, ">") == "unresolved"
    assert pr.decide_mp(one, mpmath.inf, "<=") == "holds"
    with pytest.raises(ValueError):
        pr.decide_mp(one, one, "<")


# ---------------------------------------------- defects found by tests/test_fuzz_api.py (issue 14, item 4)
@pytest.mark.parametrize("N", [3, 5, 6])
def test_uniform_rows_centre_to_exactly_zero_and_fit_like_float64(N):
    """Were NotUnique ('A_t ... singular at 50 digits'): the plain mean of N equal logs leaves a rounding residual
    (~10^-50) along 1, which the truncated SVD of the all-zero centred L took for a direction (1 in Im W). The
    centring is now the float64 formula term for term (issue 17); the residual stays, and the float64 rank rule
    mirrored in f_ls_mp (sigma_1 below centring_noise: rank 0) keeps it out of W."""
    P, p = np.full((N, N), 1.0 / N), np.full(N, 1.0 / N)
    for r in spectra.SIGMA_READINGS:
        Lc = spectra.centred_logits(p, P, r, dps=pr.DPS)
        assert all(abs(Lc[i, j]) <= mpmath.mpf(10) ** -48 for i in range(N) for j in range(N)), r
    a, b = lowrank.f_wls(p, P, 2, dps=pr.DPS), lowrank.f_wls(p, P, 2)
    Wa = pr.to_float(a.W)  # the float64 completion's span (orthonormal, orthogonal to 1; signs may differ)
    assert np.allclose(Wa @ Wa.T, b.W @ b.W.T, rtol=0, atol=1e-15) and np.abs(Wa.sum(axis=0)).max() <= 1e-15
    close(a.F, b.F, rtol=0, atol=1e-15)
    lr, rep = lowrank.f_wls_alternating(p, P, 2, dps=pr.DPS)
    # an exact fit at the start: no sweep (float64 too: test_lowrank); the objective and F are the rounding of the
    # 50-digit centring (the kernel's cancellation-free form at the likeliest token), far below the resolution
    assert rep.converged and rep.iterations == 0 and len(rep.history) == 1 and rep.history[0] <= mpmath.mpf(10) ** -90
    assert all(abs(v) <= mpmath.mpf(10) ** -45 for v in lr.F.ravel())


def test_to_float_keeps_an_arrays_shape_and_refuses_nan():
    """Was TypeError ('only 0-dimensional arrays can be converted') on a NumPy array."""
    x = np.array([[1.5, -2.0], [np.inf, 0.0]])
    assert pr.to_float(x).tolist() == x.tolist()
    assert pr.to_float(np.array([mpmath.mpf(1) / 3], dtype=object)).tolist() == [1 / 3]
    assert pr.to_float(np.float64(2.5)) == 2.5
    for bad in (np.array([np.nan]), [mpmath.nan], mpmath.nan):
        with pytest.raises(ValueError, match="`x` contains NaN"):
            pr.to_float(bad)
    with pytest.raises(ValueError, match="`x` must be a real number"):
        pr.to_float("1.5")


@pytest.mark.parametrize("bad", ["abc", None, True, 1j])
def test_exp3_and_lookup_psi_name_a_non_number(bad):
    """Were 'could not convert string to float' (ValueError naming nothing) or TypeError."""
    with pytest.raises(ValueError, match="`x` must be a real number"):
        dv.exp3(bad, dps=pr.DPS)
    with pytest.raises(ValueError, match="`h` must be a real number"):
        lookup.lookup_psi(bad, 3, dps=50)
