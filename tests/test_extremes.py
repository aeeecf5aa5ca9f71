"""Numerical extremes (issue 5, item 3): tiny and zero probabilities, entropy ends, lambda ends, large N, chunked T.

References are computed with mpmath at 50 digits where float64 could
hide an error; tolerances are relative and stated beside each constant.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aotmem.theory.divergence import auto_chunk, entropy, exp3, kl, kl_rows, kl_stream, log_softmax, taylor_proxy
from aotmem.theory.task import Task

# A KL row is a sum of N terms each accurate to ~1e-16 relative: 1e-12 leaves
# room for N up to 1e4 and for the cancellation in log pi - log softmax.
KL_RTOL = 1e-12
# Where the KL is ~0 its terms cancel. log softmax F = F - logsumexp(F) is
# exact to an ulp of |F| + |logsumexp F| (the subtraction), log P to an ulp of
# |log P|, so the absolute error is a few eps times the row's scale
# sum_o P (|log P| + |F_o| + |logsumexp F|). 8 ulps of that scale.
KL_ULPS = 8 * np.finfo(float).eps
# Chunked and unchunked KL add the same per-row values in another order.
CHUNK_RTOL = 1e-13
# lambda: brentq to 4 eps relative, then a logsumexp; 1e-10 covers both.
LAMBDA_RTOL = 1e-10


def mp_kl_row(p_row, f_row, dps: int = 1000) -> float:
    """``sum_o p log(p / softmax(f)_o)`` with ``0 log 0 = 0``, at ``dps`` digits.

    1000 digits by default: ``log(1 + e^{-2000})`` (logit gaps up to 2000)
    needs ~870 digits before the small term is seen at all.
    """
    with mpmath.workdps(dps):
        f = [mpmath.mpf(float(x)) for x in f_row]
        m = max(f)
        lse = m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in f))
        return float(mpmath.fsum(mpmath.mpf(float(p)) * (mpmath.log(mpmath.mpf(float(p))) - (x - lse))
                                 for p, x in zip(p_row, f) if p > 0))


# ------------------------------------------------- tiny and zero probabilities
@st.composite
def extreme_rows(draw):
    """One row with probabilities spanning 5e-324 .. 1, exact zeros allowed, and logits up to 1e3."""
    N = draw(st.integers(2, 8))
    exps = draw(st.lists(st.sampled_from([0, -1, -5, -20, -100, -300, -323]), min_size=N - 1, max_size=N - 1))
    zeros = draw(st.lists(st.booleans(), min_size=N - 1, max_size=N - 1))
    small = np.array([0.0 if z else 10.0**e * 0.5 for e, z in zip(exps, zeros)])
    if small.sum() >= 1:
        small = small / (2 * small.sum())
    row = np.concatenate([[1.0 - small.sum()], small])
    assert (row >= 0).all() and abs(row.sum() - 1) <= 1e-15
    f = np.array(draw(st.lists(st.floats(-1e3, 1e3), min_size=N, max_size=N)))
    return row, f


@given(extreme_rows())
@example((np.array([1.0 - 1e-300, 1e-300]), np.array([0.0, 0.0])))
@example((np.array([1.0, 0.0, 5e-324]), np.array([0.0, 800.0, -800.0])))  # subnormal pi, softmax underflow
@example((np.array([0.5, 0.5]), np.array([700.0, -700.0])))
@example((np.array([0.5, 0.5]), np.array([1.0, 1.0])))  # KL = 0 exactly: found by the thorough profile
@example((np.array([1.0, 0.0]), np.array([0.0, -90.0])))  # KL = log1p(e^-90): a 50-digit reference was wrong
@example((np.array([1 - 5e-6, 5e-6]), np.array([9.0, 0.0])))  # 9 - logsumexp: cancels to 1.2e-4 (thorough profile)
def test_kl_row_matches_mpmath_down_to_subnormal_probabilities(case):
    row, f = case
    got = kl_rows(row[None], f[None])[0]
    ref = mp_kl_row(row, f)
    lse = f[0] - log_softmax(f[None])[0, 0]
    pos = row > 0
    scale = float(np.sum(row[pos] * (np.abs(np.log(row[pos])) + np.abs(f[pos]) + abs(lse))))
    assert math.isfinite(got)
    assert got == pytest.approx(ref, rel=KL_RTOL, abs=KL_ULPS * scale)


def test_kl_is_exactly_zero_at_log_pi_with_tiny_entries():
    P = np.array([[1e-300, 1 - 1e-300], [5e-324, 1.0], [0.0, 1.0]])
    F = np.log(np.where(P > 0, P, 1.0)) + np.array([[0.0], [3.0], [-7.0]])  # any per-row shift
    F[2, 0] = -50.0  # a zero-probability token gets any finite logit
    rows = kl_rows(P, F)
    assert np.all(np.abs(rows) <= 1e-15), rows


def test_naive_softmax_baseline_fails_where_kl_does_not():
    """Why the stable path exists: softmax underflows to 0 where pi > 0 and rel_entr gives inf."""
    from scipy.special import rel_entr

    P = np.array([[0.5, 0.5]])
    F = np.array([[0.0, -800.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = rel_entr(P, np.exp(F - np.log(np.exp(F).sum()))).sum()
    assert naive == np.inf
    assert kl(np.ones(1), P, F) == pytest.approx(0.5 * math.log(0.5) + 0.5 * (math.log(0.5) + 800), rel=KL_RTOL)


def test_logit_range_beyond_float64_is_a_named_error_not_inf():
    P = np.array([[0.5, 0.5]])
    with pytest.raises(ValueError, match="`F` row 0: the log-softmax overflows"):
        kl(np.ones(1), P, np.array([[1e308, -1e308]]))
    # where pi = 0 the overflowing entry does not enter the sum: a finite answer
    assert kl(np.ones(1), np.array([[1.0, 0.0]]), np.array([[1e308, -1e308]])) == 0.0
    assert log_softmax(np.array([[1e308, -1e308]])).tolist() == [[0.0, -np.inf]]


# ----------------------------------------------------------- entropy ends
@pytest.mark.parametrize("N", [2, 3, 10, 1000, 10**4])
def test_entropy_at_zero_and_at_log_N(N):
    one_hot = np.zeros((1, N))
    one_hot[0, N // 2] = 1.0
    assert entropy(one_hot)[0] == 0.0
    assert entropy(np.full((1, N), 1.0 / N))[0] == pytest.approx(math.log(N), rel=1e-13)


@pytest.mark.parametrize("N", [2, 7, 10**4])
def test_lookup_mass_at_entropy_ends(N):
    from aotmem.theory.generators import lookup_mass_for_entropy

    assert lookup_mass_for_entropy(N, 0.0) == 0.0
    assert lookup_mass_for_entropy(N, math.log(N)) == pytest.approx((N - 1) / N, rel=1e-15)
    q = lookup_mass_for_entropy(N, 1e-12)  # tiny entropy: q log(1/q) ~ 1e-12
    h = -(1 - q) * math.log1p(-q) - q * math.log(q) + q * math.log(N - 1)
    assert h == pytest.approx(1e-12, rel=1e-9)


def test_taylor_proxy_with_huge_logits_is_finite_and_exact():
    """Var/2 = 1e400 overflows float64; the proxy log(1 + Var/2) = 921.03... does not."""
    P = np.array([[0.5, 0.5]])
    got = taylor_proxy(np.ones(1), P, np.array([[1e200, -1e200]]))
    ref = float(mpmath.log(1 + mpmath.mpf(10) ** 400 / 2))  # fbar = +-1e200, Var = 1e400
    assert got == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("x, ref", [(710.0, math.inf), (1e300, math.inf), (-1e200, -math.inf)])
def test_exp3_beyond_float64_range_is_signed_inf_not_nan(x, ref):
    assert exp3(x) == ref


# --------------------------------------------------- lambda of the look-up encoder
@pytest.mark.parametrize("N", [3, 50, 10**4])
@pytest.mark.parametrize("h_frac", [0.0, 1e-300, 1e-12, 0.5, 1 - 1e-9, 1.0])
def test_lookup_lambda_at_both_ends(N, h_frac):
    """Gaps all -1 (``w_0 = e_1``, other rows ``e_2``): ``(N-1) e^{-lambda} = e^h - 1``, so
    ``lambda = log((N-1)/(e^h - 1))`` exactly (the orthonormal case, in 2 columns instead of N)."""
    import aotmem.theory.lookup as lookup
    h = h_frac * math.log(N)
    W = np.zeros((N, 2))
    W[0, 0] = 1.0
    W[1:, 1] = 1.0
    lam = lookup.lookup_lambda(h, W, 0)
    if h_frac == 0.0:
        assert lam == math.inf
        return
    mh = mpmath.mpf(h)
    ref = float(mpmath.log((N - 1) / mpmath.expm1(mh)))
    if h_frac == 1.0:
        assert lam == 0.0
    else:
        assert lam == pytest.approx(ref, rel=LAMBDA_RTOL, abs=1e-12)
    assert np.isfinite(lam) and lam >= 0


def test_lookup_lambda_bound_holds_at_tiny_entropy_with_a_jl_matrix():
    """D.6: ``lambda <= log((N-1)/(e^h - 1)) / (1 - 2C)`` at ``h = 1e-300`` for a certified W."""
    import aotmem.theory.lookup as lookup
    N, d = 8, 2000
    W, cert = lookup.jl_matrix(N, d, seed=0)
    C = float(np.abs(W @ W.T - np.eye(N)).max())
    assert C < 0.5
    for h in (1e-300, 1e-12, 0.5 * math.log(N)):
        lam = lookup.lookup_lambda(h, W, 3)
        assert math.isfinite(lam)
        assert lam <= lookup.lookup_lambda_bound(h, N, C) * (1 + 1e-12)


# ------------------------------------------------------------------ N up to 1e4
def _big_vocab_task(N: int, T: int, seed: int = 0, *, rank: int | None = None, noise: float = 1e-3) -> Task:
    """``T`` sequences of length 1 over ``N`` tokens; logits Gaussian, or rank ``rank`` plus ``noise``."""
    rng = np.random.default_rng(seed)
    if rank is None:
        logits = rng.normal(scale=2.0, size=(T, N))
    else:
        logits = rng.normal(size=(T, rank)) @ rng.normal(size=(rank, N)) + noise * rng.normal(size=(T, N))
    cond = np.exp(log_softmax(logits))
    cond /= cond.sum(axis=1, keepdims=True)
    return Task(np.full(T, 1.0 / T), cond, seqs=np.arange(T)[:, None])


@pytest.mark.parametrize("N", [1000, 10**4])
def test_bounds_at_large_N_are_finite_and_bound_f_ls(N):
    """``N`` up to 10^4 (T = 12 sequences, centred ``L`` of rank 4 + 1e-3 noise): bounds finite, >= dKL(pi, f_ls)."""
    import aotmem.theory.bounds as bounds
    import aotmem.theory.lowrank as lowrank
    d = 4
    task = _big_vocab_task(N, 12, rank=d, noise=1e-4)
    f = lowrank.f_ls(task.prior, task.cond, d)
    div = kl(task.prior, task.cond, f.F)
    assert math.isfinite(div) and div >= 0
    for name in ("draft_ls_bound", "draft_min_bound", "seed_ls_bound"):
        b = getattr(bounds, name)(task.prior, task.cond, d)
        assert math.isfinite(b) and b >= div * (1 - 1e-12), (name, b, div)


@pytest.mark.parametrize("N", [1000, 10**4])
def test_bounds_at_large_N_far_from_rank_d_are_vacuous_not_nan(N):
    """Gaussian logits at N = 10^4: sigma_{d+1} is large and the bounds overflow to +inf (true, vacuous), never NaN."""
    import aotmem.theory.bounds as bounds
    task = _big_vocab_task(N, 12)
    for name in ("draft_ls_bound", "draft_wls_bound", "draft_min_bound", "seed_ls_bound"):
        b = getattr(bounds, name)(task.prior, task.cond, 4)
        assert not math.isnan(b) and b > 0, (name, b)


def test_kl_at_N_ten_thousand_matches_mpmath_on_a_row():
    task = _big_vocab_task(10**4, 3, seed=1)
    F = np.random.default_rng(2).normal(size=(3, 10**4))
    got = kl_rows(task.cond, F)[1]
    assert got == pytest.approx(mp_kl_row(task.cond[1], F[1], dps=50), rel=KL_RTOL)  # gaps < 30: 50 digits


# ------------------------------------------------ chunked = unchunked, at T ~ 1e4-1e5
def test_chunked_kl_equals_unchunked_at_T_50000():
    rng = np.random.default_rng(0)
    T, N = 50_000, 12
    P = rng.dirichlet(np.full(N, 0.3), size=T)
    P[::7, 0] = 0.0  # exact zeros in some rows
    P /= P.sum(axis=1, keepdims=True)
    F = rng.normal(scale=4.0, size=(T, N))
    p = rng.dirichlet(np.ones(T))
    ref = kl(p, P, F)
    for chunk in (1_000, 4_099, auto_chunk(N), T, 10 * T):
        assert kl(p, P, F, chunk=chunk) == pytest.approx(ref, rel=CHUNK_RTOL)
    streamed = kl_stream(p, lambda lo, hi: P[lo:hi], lambda lo, hi: F[lo:hi], chunk=3_333)
    assert streamed == pytest.approx(ref, rel=CHUNK_RTOL)


def test_stream_reports_the_global_row_of_a_bad_block():
    T, N = 10_000, 4
    P = np.full((T, N), 0.25)
    P[7_777] = [0.5, 0.5, 0.5, -0.5]
    with pytest.raises(ValueError, match="`cond` has a negative entry .* row 7777"):
        kl_stream(np.full(T, 1.0 / T), P, np.zeros((T, N)), chunk=1_000)
    with pytest.raises(ValueError, match=r"`logits`\(2000, 3000\) must return shape \(1000, 4\)"):
        kl_stream(np.full(T, 1.0 / T), np.full((T, N), 0.25),
                  lambda lo, hi: np.zeros((hi - lo, N + (lo == 2000))), chunk=1_000)


def test_aot_forward_chunked_equals_unchunked_and_streams_into_kl():
    import aotmem.theory.aot as aot
    rng = np.random.default_rng(0)
    N, S, d, H, d_h, T = 7, 5, 8, 3, 4, 20_000
    m = aot.AoT(rng.normal(size=(N, d)), rng.normal(size=(S, d)), rng.normal(size=(H, d, d)) / d,
                rng.normal(size=(H, d_h, d)), rng.normal(size=(H, d, d_h)), rng.normal(size=(N, d)))
    seqs = rng.integers(0, N, size=(T, S))
    full = m.logits(seqs, chunk=T)
    for chunk in (1, 997, 2048):
        part = m.logits(seqs[:3000], chunk=chunk)
        assert np.allclose(part, full[:3000], rtol=1e-12, atol=1e-12 * np.abs(full).max())
    P = rng.dirichlet(np.ones(N), size=T)
    p = np.full(T, 1.0 / T)
    streamed = kl_stream(p, P, lambda lo, hi: m.logits(seqs[lo:hi]), chunk=4_000)
    assert streamed == pytest.approx(kl(p, P, full), rel=CHUNK_RTOL)
