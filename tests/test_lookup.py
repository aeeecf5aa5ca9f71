"""The look-up encoder of D.6 and its bounds: JL certificate, lambda solver, encoder divergence vs every form."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from strategies import association_tasks, lookup_tasks, seeds
from aotmem.theory import lookup as LU
from aotmem.theory.divergence import entropy, log_softmax
from aotmem.theory.task import Task

# Comparisons of a divergence with a bound: both are O(1) sums of O(T N)
# rounded terms; a violation must exceed this relative slack to count.
CMP_RTOL = 1e-9
CMP_ATOL = 1e-13


def _holds(k, b):
    return k <= b * (1 + CMP_RTOL) + CMP_ATOL


def _d_nonvacuous(N):
    """Smallest d with C = sqrt(32 log(N+1)/d) < 1/2."""
    return math.floor(128 * math.log(N + 1)) + 1


@st.composite
def lookup_cases(draw, *, max_n=6):
    """``(task, W, cert)``: a noisy look-up task (or an association task) and a JL matrix with ``C < 1/2``."""
    task = draw(st.one_of(lookup_tasks(max_n=max_n, max_t=36), association_tasks(max_n=max_n, max_t=36)))
    d = _d_nonvacuous(task.N) + draw(st.integers(0, 100))
    W, cert = LU.jl_matrix(task.N, d, seed=draw(seeds))
    assert LU.lookup_vacuous_reason(task.N, d) is None
    return task, W, cert


# ------------------------------------------------------------- constants, JL

def test_lookup_C_and_vacuous_boundary():
    for N in (2, 3, 8, 100):
        d0 = _d_nonvacuous(N)
        assert LU.lookup_C(N, d0) < 0.5 <= LU.lookup_C(N, d0 - 1)
        assert LU.lookup_vacuous_reason(N, d0) is None
        reason = LU.lookup_vacuous_reason(N, d0 - 1)
        assert reason is not None and "128 log(N+1)" in reason
        assert LU.seed_lookup_bound([1.0], np.full((1, N), 1 / N), d0 - 1) == math.inf
        assert LU.paper_theorem2_simplified([1.0], np.full((1, N), 1 / N), d0 - 1) == math.inf
    assert LU.lookup_C(3, 200) == pytest.approx(math.sqrt(32 * math.log(4) / 200), rel=1e-15)


@given(st.integers(2, 10), st.integers(1, 400), seeds, st.sampled_from(LU.JL_KINDS))
def test_jl_certificate_is_honest(N, d, seed, kind):
    W, cert = LU.jl_matrix(N, d, seed=seed, tries=3, kind=kind)
    assert W.shape == (N, d)
    dev = float(np.max(np.abs(W @ W.T - np.eye(N))))
    assert cert.max_dev == dev
    assert cert.holds == (dev <= cert.C) and cert.C == LU.lookup_C(N, d)
    assert 1 <= cert.tries <= 3
    if kind == "rademacher":
        assert np.allclose(np.diag(W @ W.T), 1.0, rtol=0, atol=1e-13)  # +-1/sqrt(d) rows have norm 1
    if d >= _d_nonvacuous(N) and kind == "rademacher":
        assert cert.holds  # Hoeffding: failure probability <= N^2 (N+1)^-16 per draw


def test_jl_rejects_bad_input():
    with pytest.raises(ValueError, match="`kind` must be one of"):
        LU.jl_matrix(3, 10, kind="sparse")
    with pytest.raises(ValueError, match="`tries` must be >= 1"):
        LU.jl_matrix(3, 10, tries=0)
    with pytest.raises(ValueError, match="`N` must be >= 2"):
        LU.lookup_C(1, 10)


# ----------------------------------------------------------------- lambda

@given(st.integers(3, 8), st.floats(0.0, 1.0), seeds)
@example(3, 1.0, 0)  # h = log N: lambda = 0
@example(3, 1e-12, 0)  # tiny h: huge lambda, expm1 keeps it accurate
def test_lambda_solves_equation_and_respects_both_bounds(N, frac, seed):
    h = frac * math.log(N)
    W, cert = LU.jl_matrix(N, _d_nonvacuous(N), seed=seed)
    assert cert.holds
    g = seed % N
    lam = LU.lookup_lambda(h, W, g)
    a = LU.lookup_gaps(W, g)
    if h == 0:
        assert lam == math.inf
        return
    assert 0 <= lam < math.inf
    others = np.delete(a, g)
    resid = abs(np.logaddexp.reduce(lam * others) - math.log(math.expm1(h))) if lam > 0 else \
        abs(math.log(N - 1) - math.log(math.expm1(h)))
    assert resid <= LU.LAMBDA_RESIDUAL_ATOL
    c = cert.max_dev  # the certificate W achieves (<= C): the proof holds with it in place of C
    assert lam <= LU.lookup_lambda_bound(h, N, c) * (1 + CMP_RTOL) + CMP_ATOL
    assert lam >= LU.lookup_lambda_lower_bound(h, N, c) * (1 - CMP_RTOL) - CMP_ATOL
    assert LU.lookup_lambda_bound(h, N, c) <= LU.lookup_lambda_bound(h, N, cert.C)  # psi(h) >= 0


def test_lambda_is_decreasing_in_h_and_exact_for_orthonormal_W():
    W = np.eye(4)
    hs = np.linspace(0.01, math.log(4), 30)
    lams = [LU.lookup_lambda(h, W, 2) for h in hs]
    assert all(x > y for x, y in zip(lams, lams[1:]))
    # a_j = -1 for all j != g: lambda = psi(h) exactly (both bounds at C = 0)
    assert np.allclose(lams, [LU.lookup_psi(h, 4) for h in hs], rtol=1e-12, atol=1e-14)


def test_lambda_rejects_non_monotone_W_and_bad_h():
    W = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])  # (w_1 - w_0)^T w_0 = 1 >= 0
    with pytest.raises(ValueError, match="non-monotone"):
        LU.lookup_lambda(0.5, W, 0)
    with pytest.raises(ValueError, match=r"`h` must be a Shannon entropy in \[0, log N\]"):
        LU.lookup_lambda(2.0, np.eye(3), 0)
    with pytest.raises(ValueError, match="`g` must be <= 2"):
        LU.lookup_lambda(0.5, np.eye(3), 3)


# ---------------------------------------------------------------- encoder

@given(lookup_cases())
def test_encoder_divergence_identity_and_model_mass(case):
    task, W, cert = case
    enc = LU.lookup_encoder(task, W)
    rows = enc.kl_rows()
    assert np.allclose(rows, enc.kl_rows_identity(), rtol=1e-9, atol=1e-12)
    fin = np.isfinite(enc.lam)
    if fin.any():
        ls = log_softmax(enc.lam[fin, None] * (W[enc.g[fin]] @ W.T))
        # the model's mass on g(t) is e^{-h(pi_t)} by the choice of lambda
        assert np.allclose(ls[np.arange(fin.sum()), enc.g[fin]], -enc.h[fin], rtol=1e-9, atol=1e-12)
    if not fin.all():
        with pytest.raises(ValueError, match="lambda = inf"):
            enc.F  # noqa: B018


@given(lookup_cases())
def test_lookup_bounds_hold_for_the_encoder(case):
    """seed.lookup-bound, draft.lookup-theorem, paper.theorem2 (first form, both constants) vs the D.6 encoder."""
    task, W, cert = case
    p, P, d = task.prior, task.cond, W.shape[1]
    k = float(p @ LU.lookup_encoder(task, W).kl_rows())
    tight = LU.tight_lookup_bound(p, P, d)
    draft = LU.draft_lookup_bound(p, P, d)
    seed_b = LU.seed_lookup_bound(p, P, d)
    assert all(math.isfinite(b) and b >= -CMP_ATOL for b in (tight, draft, seed_b))
    assert _holds(k, tight) and tight <= draft * (1 + CMP_RTOL) + CMP_ATOL
    assert draft <= seed_b * (1 + CMP_RTOL) + CMP_ATOL
    assert LU.paper_theorem2_bound(p, P, d) == draft
    assert LU.paper_theorem2_bound(p, P, d, constant="4C") == seed_b
    # the corrected simplified form is implied by the first form (and so bounds the encoder)
    assert seed_b <= LU.paper_theorem2_simplified_q(p, P, d) * (1 + CMP_RTOL) + CMP_ATOL


@given(lookup_cases())
def test_rowwise_restricted_statement_with_the_achieved_certificate(case):
    """draft.lookup-theorem+factor(1+2C), row by row, with C = the certificate W achieves (any c < 1/2)."""
    task, W, cert = case
    enc = LU.lookup_encoder(task, W)
    _, qpsi, _ = LU.lookup_terms(task.cond)
    c = cert.max_dev
    assert np.all(enc.kl_rows() <= qpsi * (1 + 2 * c) / (1 - 2 * c) * (1 + CMP_RTOL) + CMP_ATOL)
    assert np.all(enc.kl_rows() >= qpsi * (1 - 2 * c) / (1 + 2 * c) * (1 - CMP_RTOL) - CMP_ATOL)


@given(st.integers(3, 6), st.integers(1, 4), seeds)
def test_restricted_statement_small_d_with_a_good_W(N, extra, seed):
    """Below d > 128 log(N+1) the formula's C is >= 1/2 (vacuous) but a W with c < 1/2 still gives the bound."""
    d = N + extra  # orthonormal-ish rows exist; a random W with c < 1/2 is rare here, so orthonormalise
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, N)))
    W = Q.T  # (N, d), W W^T = I
    c = LU.jl_certificate(W)
    assert c < 1e-12
    from aotmem.theory.generators import lookup_task
    task = lookup_task(N, 1, entropy=0.5 * math.log(N), seed=seed)
    assert LU.seed_lookup_bound(task.prior, task.cond, d) == math.inf  # vacuous as stated
    k = float(task.prior @ LU.lookup_encoder(task, W).kl_rows())
    # at c = 0 the (1+2C)/(1-2C) statement is an equality
    assert k == pytest.approx(LU.tight_lookup_bound(task.prior, task.cond, d, C=c), rel=1e-9, abs=1e-13)


def test_one_hot_limit_is_zero_and_the_term_vanishes_like_q_log_1_over_q():
    N = 5
    qs = 10.0 ** -np.arange(1, 15)
    terms = []
    for q in qs:
        P = np.array([[1 - q] + [q / (N - 1)] * (N - 1)])
        _, qpsi, _ = LU.lookup_terms(P)
        terms.append(qpsi[0])
        assert 0 <= qpsi[0] <= q * math.log((N - 1) / q)  # the limit argument of the module docstring
    assert all(x > y for x, y in zip(terms, terms[1:]))
    one_hot = np.array([[0.0, 1.0, 0.0, 0.0, 0.0]])
    assert LU.lookup_terms(one_hot)[1][0] == 0.0
    assert LU.seed_lookup_bound([1.0], one_hot, 500) == 0.0
    assert LU.paper_theorem2_simplified([1.0], one_hot, 500) == 0.0


def test_uniform_row_gives_zero_lambda_and_zero_bound():
    P = np.full((1, 4), 0.25)
    assert LU.lookup_lambda(float(entropy(P)[0]), np.eye(4), 0) == 0.0
    assert abs(LU.seed_lookup_bound([1.0], P, 10**4)) < 1e-15


def test_lookup_catalogue_is_callable_uniformly():
    from aotmem.theory.bounds import CATALOGUE
    P = np.array([[0.8, 0.1, 0.1], [0.5, 0.3, 0.2]])
    vals = {b.name: b.rhs([0.5, 0.5], P, 500) for b in CATALOGUE if b.needs == "C<1/2"}
    assert len(vals) == 7 and all(math.isfinite(v) and v > 0 for v in vals.values())
    assert vals["draft.lookup-theorem+factor(1+2C)"] <= vals["draft.lookup-theorem"] <= vals["seed.lookup-bound"]


def test_bounds_validate_first():
    with pytest.raises(ValueError, match="`prior` must have shape"):
        LU.seed_lookup_bound([0.5, 0.5], np.full((1, 3), 1 / 3), 500)
    with pytest.raises(ValueError, match="`cond` row 0 must sum to 1"):
        LU.draft_lookup_bound([1.0], np.array([[0.5, 0.4, 0.0]]), 500)
    with pytest.raises(ValueError, match="`constant` must be one of"):
        LU.paper_theorem2_bound([1.0], np.full((1, 3), 1 / 3), 500, constant="2C")
    with pytest.raises(ValueError, match="`W` must have N = 3 rows"):
        LU.lookup_encoder(Task(np.ones(1), np.full((1, 3), 1 / 3), np.zeros((1, 1), int)), np.eye(4))


# ---------------------------------------------------------------- findings

# FINDING (paper.theorem2, simplified form): it does not follow from the first
# form -- psi(h) = log((N-1)/(e^h - 1)) is convex, so Jensen gives
# psi(E h) <= E psi(h), the wrong way -- and it FAILS for the D.6 encoder.
# Smallest case found (Nelder-Mead over N=3, T<=3, then rounded): T=2, N=3.
JENSEN_PRIOR = np.array([0.64, 0.36])
JENSEN_COND = np.array([[0.2, 0.6, 0.2], [0.0, 0.51, 0.49]])


def test_finding_simplified_form_is_below_the_first_form():
    p, P = JENSEN_PRIOR, JENSEN_COND
    for d, C in ((10**6, None), (10**6, 0.0), (500, None)):
        first = LU.paper_theorem2_bound(p, P, d, C=C, constant="4C")
        simp = LU.paper_theorem2_simplified(p, P, d, C=C)
        assert simp < first / 1.08, (first, simp)  # measured ratio first/simplified = 1.0843 (any C)


def test_finding_simplified_form_fails_for_the_D6_encoder_with_every_admissible_W():
    p, P, N, d = JENSEN_PRIOR, JENSEN_COND, 3, 10**6
    C = LU.lookup_C(N, d)  # 6.66e-3
    simp = LU.paper_theorem2_simplified(p, P, d)
    # Any W with ||W W^T - I||_max <= C: KL_t >= q_t psi(h_t) (1-2C)/(1+2C) (identity + lambda lower bound)
    lower_any_W = float(p @ LU.lookup_terms(P)[1]) * (1 - 2 * C) / (1 + 2 * C)
    assert lower_any_W > simp * 1.01, (lower_any_W, simp)  # measured 0.17687 > 0.17432
    # and concretely, with the admissible W = [I_3 | 0] (certificate 0 <= C):
    W = np.eye(N, d)
    k = float(p @ LU.lookup_encoder(Task(p, P, np.arange(2)[:, None]), W).kl_rows())
    assert k > simp * 1.04  # measured 0.18165 vs 0.17432
    # The first form and the corrected simplified form both hold here:
    assert _holds(k, LU.paper_theorem2_bound(p, P, d)) and _holds(k, LU.paper_theorem2_simplified_q(p, P, d))


@given(st.lists(st.tuples(st.floats(0.05, 1.0), st.floats(0.0, 0.6), st.floats(0.0, 1.0)), min_size=1, max_size=4),
       st.integers(3, 6))
def test_paper_theorem2_simplified_q_dominates_first_form(rows, N):
    """paper.theorem2+simplified-q: E[q psi(h)] <= E[q] log((N-1)(1-E q)/E q), any rows (deterministic)."""
    w = np.array([r[0] for r in rows])
    p = w / w.sum()
    P = []
    for _, q, spread in rows:
        q = min(q, (N - 1) / N - 1e-9)
        rest = np.linspace(1.0, 1.0 - spread, N - 1)
        rest = q * rest / rest.sum()
        P.append(np.concatenate([[1 - q], rest]))
    P = np.array(P)
    P /= P.sum(axis=1, keepdims=True)
    assume(np.all(np.argmax(P, axis=1) == 0))
    first = LU.paper_theorem2_bound(p, P, 1, C=0.0, constant="4C")
    assert first <= LU.paper_theorem2_simplified_q(p, P, 1, C=0.0) * (1 + CMP_RTOL) + CMP_ATOL


# ------------------------------------------------ regressions (test_fuzz_api)

@pytest.mark.parametrize("h, match", [(np.nan, "NaN"), (np.inf, "inf"), (5.0, r"\[0, log N\]"), (-0.1, r"\[0, log N\]")])
def test_lookup_psi_validates_h(h, match):
    with pytest.raises(ValueError, match=f"`h`.*{match}|`h` contains {match}"):
        LU.lookup_psi(h, 2)


def test_zero_prior_row_and_vacuous_draft_bound_are_not_nan():
    p, P = np.array([1.0, 0.0]), np.array([[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    assert LU.draft_lookup_bound(p, P, 1) == math.inf  # C >= 1/2
    assert math.isfinite(LU.draft_lookup_bound(p, P, 1000)) and math.isfinite(LU.paper_theorem2_bound(p, P, 1000))


# ---- numerical extremes: lambda of the look-up encoder at both ends (moved from tests/test_extremes.py)
# lambda: Newton (lambda_root_kernel) to 4 eps relative, then a logsumexp; 1e-10 covers both.
LAMBDA_RTOL = 1e-10


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
