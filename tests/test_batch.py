"""theory/batch.py against the scalar code, instance by instance: the batch's contract.

Every batched quantity is compared with its scalar twin on random batches
(Hypothesis: T = 1..8, N = 2..8, d = 1..N-2, B = 1..16; logits from the
families of :data:`FAMILIES`, several per batch; prior weights log-uniform on
[1e-8, 1]), and ``ok`` must be False exactly where the scalar code raises.

Tolerances (relative ``RTOL = 1e-9``, the contract, plus the absolute floors below):

- Same formula, same order of operations (tasks, KL of given logits, sigma,
  the bounds, the Taylor quantities): the batch differs from the scalar code
  by a few ulps at most (numpy's vectorised ``pow`` vs libm's ``pow`` in the
  bounds, 1 ulp), 1e6 below RTOL. The tasks are compared bit for bit.
- The fits are solutions of problems with a condition number, compared where
  the solution is unique and well conditioned (elsewhere only ``ok`` is compared):
  * ``f_ls``: the span of the first ``k = min(r, d)`` right singular vectors is
    unique only when ``sigma_k > sigma_{k+1}``; its perturbation is
    ``<= eps ||L_c|| / gap`` (Wedin), so with a relative gap ``>= GAP_MIN = 1e-5``
    any backward-stable SVD gives ``F`` within ``~1e-11 max|L_c|`` -- RTOL has a 100x
    margin. The numerical rank ``r`` (``sigma_j > RANK_RTOL sigma_1``) must also be
    away from its threshold (a factor 10 either side). A tie ``sigma_d = sigma_{d+1}``
    (family ``tie-at-d``) makes ``F`` (and its KL) ambiguous: then only ``ok``
    and the bound (which needs only singular values) are compared.
  * ``f_wls`` (``draft.lemma-wls``): ``W_U`` as ``f_ls`` (uniform), and every
    row system well conditioned, ``cond(A_t) <= COND_CMP = 1e6`` (``kappa(M_t) <=
    1e3``): the fitted logits then move by ``<= kappa^2 eps ~ 1e-10`` relative under
    rounding-size changes of the data. Rows up to ``WLS_COND_MAX = 1e12`` are
    accepted by the scalar code, but there ``F`` at tokens of tiny probability is
    only determined to ``~kappa^2 eps ~ 1e-4`` (the weighted fit barely sees them).
  * ``min``: as ``f_ls`` of its reading and ``f_wls`` with that ``W_U``; the per-row
    choice is compared through the KL (rows whose two KLs tie are not unique).
  * ``wls-alt``: the number of sweeps is compared on every instance, and it is
    not a well-conditioned quantity: the stopping rule ``h_{k-1} - h_k <= tol
    h_{k-1}`` (``tol = 1e-10``) is decided at rounding level -- at the stopping sweep
    the decrease lies within ``1e-13 .. 1e-17 V`` of its threshold (``V = sum_t p
    Var_pi(L_t)``, the objective's scale; measured on random tasks), below the
    rounding error of ``h`` itself. The batch stops at the scalar's sweep because
    it repeats the scalar's floating-point operations per instance (the same
    LAPACK routine per matrix, the same einsum contractions and reductions), so
    its trajectory is the scalar's bit for bit; this test guards that property
    (a failure means the batched path no longer repeats the scalar's arithmetic,
    e.g. a changed BLAS kernel, not that the fit is wrong). The objective is
    compared with the floor ``ALT_FLOOR * V``; ``F`` where the start (``f_ls``
    uniform) is unique and the final ``W`` gives well-conditioned rows (as ``f_wls``).
- KL values are sums of terms ``pi (log pi - log softmax F)`` that cancel: their
  absolute rounding error is ``<= ~16 N eps (1 + max|L| + max|F|)``, so KL
  comparisons have the absolute floor ``KL_FLOOR * (1 + max|L| + max|F|)``.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

from aotmem.theory import batch as bt
from aotmem.theory import lowrank as lowrank_mod
from aotmem.theory.bounds import CATALOGUE
from aotmem.theory.divergence import fbar, kl, kl_rows, taylor_proxy, taylor_remainder_bound
from aotmem.theory.generators import explicit_task
from aotmem.theory.lowrank import (
    ALT_SWEEPS,
    ALT_TOL,
    RANK_RTOL,
    WLS_COND_MAX,
    f_ls,
    f_wls_alternating,
    fit_encoder,
    weighted_residual,
    wls_encoder,
    wls_system,
)
from aotmem.theory.spectra import SIGMA_READINGS, sigma, singular_values
from aotmem.verify.ledger.recipes import task_from
from aotmem.verify.ledger.registry import get

RTOL = 1e-9
KL_FLOOR = 1e-13
GAP_MIN = 1e-5
COND_CMP = 1e6
ALT_FLOOR = 1e-13

FAMILIES = ("gaussian", "near-uniform", "near-deterministic", "mixed-rows", "flat-tail", "tie-at-d", "box")


# ------------------------------------------------------------------ instances


def _spectral(rng, T, N, s):
    """Logits ``U diag(s) V^T`` with ``V`` orthogonal to ``1``: the uniform-centred ``L`` has singular values ``s``."""
    k = len(s)
    U, _ = np.linalg.qr(rng.standard_normal((T, k)))
    C = np.eye(N) - 1.0 / N
    V, _ = np.linalg.qr(C @ rng.standard_normal((N, k)))
    return (U * s) @ V.T


def logits(rng, family, T, N, d):
    """One instance's ``(T, N)`` logits of ``family``."""
    if family == "gaussian":
        return 2.0 * rng.standard_normal((T, N))
    if family == "near-uniform":  # tiny logits: rows within 1e-6 of uniform
        return 1e-6 * rng.standard_normal((T, N))
    if family == "near-deterministic":  # one logit +10..+30 per row: probabilities down to ~1e-13
        Z = rng.standard_normal((T, N))
        Z[np.arange(T), rng.integers(0, N, T)] += rng.uniform(10.0, 30.0, T)
        return Z
    if family == "mixed-rows":  # a near-uniform row beside a near-deterministic one
        return np.stack([logits(rng, rng.choice(["near-uniform", "near-deterministic", "gaussian"]), 1, N, d)[0]
                         for _ in range(T)])
    k = min(T, N - 1)
    if family == "flat-tail":  # d leading values, then a flat tail: sigma_{d+1} = sigma_{d+2} = ...
        return _spectral(rng, T, N, np.where(np.arange(k) < d, 3.0 + np.arange(k)[::-1], 0.5))
    if family == "tie-at-d":  # sigma_d = sigma_{d+1}: the truncated SVD is not unique
        return _spectral(rng, T, N, np.where(np.arange(k) < d - 1, 3.0 + np.arange(k)[::-1], 1.0))
    if family == "box":  # the search engine's domain: logits in [-40, 40]
        return rng.uniform(-40.0, 40.0, (T, N))
    raise AssertionError(family)


@st.composite
def batches(draw, *, min_n=3, max_b=16):
    """``(Z (B, T, N), logw (B, T), d)`` with ``d`` in ``1..N-2`` (None when N = 2)."""
    T = draw(st.integers(1, 8))
    N = draw(st.integers(min_n, 8))
    B = draw(st.integers(1, max_b))
    d = draw(st.integers(1, N - 2)) if N >= 3 else None
    fams = draw(st.lists(st.sampled_from(FAMILIES), min_size=B, max_size=B))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Z = np.stack([logits(rng, f, T, N, d or 1) for f in fams])
    logw = rng.uniform(np.log(1e-8), 0.0, (B, T))  # prior weights spanning 1e-8..1
    return Z, logw, d


def scalar_tasks(Z, logw):
    return [explicit_task(Z[b], np.exp(logw[b])) for b in range(Z.shape[0])]


def close(a, b, rtol=RTOL, atol=0.0) -> bool:
    """``|a - b| <= atol + rtol max(|a|, |b|)``, with ``inf == inf``; never NaN."""
    a, b = float(a), float(b)
    assert not (np.isnan(a) or np.isnan(b)), (a, b)
    if np.isinf(a) or np.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def kl_atol(task, *Fs) -> float:
    scale = 1.0 + float(np.abs(np.log(task.cond)).max()) + max([float(np.abs(F).max()) for F in Fs], default=0.0)
    return KL_FLOOR * scale


def unique_ls(task, d, reading) -> bool:
    """Whether ``f_ls`` of ``reading`` is unique to working precision (module docstring)."""
    s = singular_values(task.prior, task.cond, reading)
    if s[0] == 0:
        return True  # L_c = 0: F = 0
    r = int(np.sum(s > RANK_RTOL * s[0]))
    near = (s > 0.1 * RANK_RTOL * s[0]) & (s < 10.0 * RANK_RTOL * s[0])
    if near.any():
        return False  # the numerical rank sits on its threshold
    k = min(r, d)
    nxt = s[k] if k < s.size else 0.0
    return (s[k - 1] - nxt) >= GAP_MIN * s[0] if k >= 1 else True


def well_conditioned(task, W) -> bool:
    try:
        _, _, cond_A = wls_system(task.cond, W)
    except ValueError:
        return False
    return bool(np.all(cond_A <= COND_CMP))


def raises(fn):
    """``(value, None)`` or ``(None, message)`` when ``fn()`` raises ValueError."""
    try:
        return fn(), None
    except ValueError as exc:
        return None, str(exc)


# ------------------------------------------------------------------ tasks, KL, sigma


@given(batches(min_n=2))
def test_tasks_are_the_scalar_tasks_bit_for_bit(data):
    """tasks_from_logits = explicit_task (and the ledger's recipes rebuild the same task) bit for bit."""
    Z, logw, _ = data
    prior, cond = bt.tasks_from_logits(Z, logw)
    for b, (task, rec) in enumerate(zip(scalar_tasks(Z, logw), bt.recipes_from_batch(Z, logw, d=1))):
        np.testing.assert_array_equal(prior[b], task.prior)
        np.testing.assert_array_equal(cond[b], task.cond)
        again = task_from(rec)
        np.testing.assert_array_equal(again.prior, task.prior)
        np.testing.assert_array_equal(again.cond, task.cond)


@given(batches(min_n=2), st.integers(0, 2**32 - 1))
def test_kl_and_sigma_agree_with_the_scalar_code(data, fseed):
    """kl_rows / kl / spectra.sigma on a stack (every reading and j) = the same functions instance by instance."""
    Z, logw, _ = data
    prior, cond = bt.tasks_from_logits(Z, logw)
    F = 3.0 * np.random.default_rng(fseed).standard_normal(cond.shape)
    rows, tot = kl_rows(cond, F), kl(prior, cond, F)
    sig = {(r, j): sigma(prior, cond, j, r) for r in SIGMA_READINGS for j in range(1, min(Z.shape[1:]) + 2)}
    for b, task in enumerate(scalar_tasks(Z, logw)):
        atol = kl_atol(task, F[b])
        ref = kl_rows(task.cond, F[b])
        assert all(close(x, y, atol=atol) for x, y in zip(rows[b], ref))
        assert close(tot[b], kl(task.prior, task.cond, F[b]), atol=atol)
        for (r, j), v in sig.items():
            assert close(v[b], sigma(task.prior, task.cond, j, r), atol=1e-15 * max(1.0, v[b]))


# ------------------------------------------------------------------ bounds


@given(batches())
def test_every_assumption2_bound_agrees_with_its_scalar_rhs(data):
    """Bound.rhs on a stack = Bound.rhs instance by instance, for every catalogue bound that needs Assumption 2."""
    Z, logw, d = data
    prior, cond = bt.tasks_from_logits(Z, logw)
    tasks = scalar_tasks(Z, logw)
    assert len(bt.BATCH_BOUNDS) == sum(b.needs == "assumption2" for b in CATALOGUE) == 28
    for bound in bt.BATCH_BOUNDS:
        vals = bound.rhs(prior, cond, d)
        assert vals.shape == (len(tasks),) and not np.isnan(vals).any()
        for b, task in enumerate(tasks):
            assert close(vals[b], bound.rhs(task.prior, task.cond, d)), (bound.name, b)


def test_bounds_overflow_to_inf_like_the_scalar_code():
    """A probability of ~1e-300 makes (hi/lo)^{3/2} and exp3 overflow: +inf in both, never NaN."""
    Z = np.zeros((2, 3, 4))
    Z[0, 0, 0] = 680.0  # pi ~ e^-680 ~ 1e-295 at the other tokens of row 0
    Z[0, 1] = [3.0, -2.0, 1.0, 0.0]
    Z[1] = np.random.default_rng(0).standard_normal((3, 4))
    logw = np.zeros((2, 3))
    prior, cond = bt.tasks_from_logits(Z, logw)
    tasks = scalar_tasks(Z, logw)
    seen_inf = False
    for bound in bt.BATCH_BOUNDS:
        vals = bound.rhs(prior, cond, 1)
        for b in range(2):
            ref = bound.rhs(tasks[b].prior, tasks[b].cond, 1)
            assert close(vals[b], ref), (bound.name, vals[b], ref)
            seen_inf |= np.isinf(ref)
    assert seen_inf


def test_wls_bounds_with_a_subnormal_probability_are_their_value_not_nan_or_inf():
    """Assumption 2 holds with a probability below ~1e-308, where ``hi/lo`` overflows: the wls bounds are
    then the value of their formula (``theory.bounds.wls_ratio_times``), scalar and batch alike, and equal
    to the 50-digit value; at ``sigma_{d+1} = 0`` that is 0 (it was NaN in the scalar seed bound, ``inf * 0``,
    and +inf in the batch and in draft_wls_bound). The ledger evaluates the instance (no NaN side)."""
    from aotmem.theory.precise import DPS, to_float

    Z, logw = np.array([[[0.0, -712.0, 1.0]]]), np.zeros((1, 1))  # T = 1: sigma_2 = 0; pi ~ 1.6e-310
    prior, cond = bt.tasks_from_logits(Z, logw)
    task = scalar_tasks(Z, logw)[0]
    assert 0 < task.cond.min() < 1e-308
    for bound in bt.BATCH_BOUNDS:
        ref = bound.rhs(task.prior, task.cond, 1)
        val = bound.rhs(prior, cond, 1)[0]
        assert close(val, ref), (bound.name, val, ref)
        assert close(ref, to_float(bound.rhs(task.prior, task.cond, 1, dps=DPS))), bound.name
        if "wls" in bound.claim:
            assert ref == 0.0, (bound.name, ref)
            for fit in bound.maps:
                ev = get(_ledger_key(bound, fit)).evaluate(bt.recipes_from_batch(Z, logw, d=1)[0])
                assert ev.outside or ev.rhs == 0.0


# ------------------------------------------------------------------ fits


def _scalar_fit(task, d, fit, sr):
    """The scalar map of ``fit`` (the ledger's ``_bound_evaluator``): ``(F or None, lhs)``; raises ValueError."""
    p, P = task.prior, task.cond
    lr = fit_encoder(p, P, d, fit, sr)  # every name of lowrank.FITS, `min` included
    return lr.F, lr.divergence(p, P)


def _comparable(task, d, fit, sr) -> bool:
    """Whether the map of ``fit`` is unique and well conditioned on ``task`` (module docstring)."""
    p, P = task.prior, task.cond
    if fit == "ls":
        return unique_ls(task, d, sr)
    if fit == "wls":
        return unique_ls(task, d, "uniform") and well_conditioned(task, f_ls(p, P, d, "uniform").W)
    if fit in ("min", "wls-matched"):
        return unique_ls(task, d, sr) and well_conditioned(task, f_ls(p, P, d, sr).W)
    raise AssertionError(fit)


@given(batches(), st.sampled_from([("ls", r) for r in SIGMA_READINGS] + [("wls", "uniform")]
                                  + [("min", r) for r in SIGMA_READINGS] + [("wls-matched", r) for r in SIGMA_READINGS]))
def test_closed_form_fits_agree_with_the_scalar_maps(data, fit_reading):
    """fit_logits_batch (ls, wls, wls-matched, min): ok exactly where the scalar code raises; F and dKL where the map is unique."""
    Z, logw, d = data
    fit, sr = fit_reading
    prior, cond = bt.tasks_from_logits(Z, logw)
    F, ok, why = bt.fit_logits_batch(prior, cond, d, fit, sr)
    klb = kl(prior, cond, np.where(ok[:, None, None], F, 0.0))
    for b, task in enumerate(scalar_tasks(Z, logw)):
        res, err = raises(lambda: _scalar_fit(task, d, fit, sr))
        assert bool(ok[b]) == (err is None), (b, why[b], err)
        if err is not None:
            assert why[b] and np.isnan(F[b]).all()
            continue
        assert why[b] == "" and np.isfinite(F[b]).all()
        if not _comparable(task, d, fit, sr):
            continue
        F_s, lhs = res
        assert close(klb[b], lhs, atol=kl_atol(task, F[b])), (b, klb[b], lhs)
        if F_s is not None:
            assert np.max(np.abs(F[b] - F_s)) <= RTOL * max(1.0, float(np.abs(F_s).max()))


@given(batches(max_b=6), st.sampled_from([3, ALT_SWEEPS]))
def test_alternating_fit_stops_at_the_scalar_sweep(data, iters):
    """wls_alternating_batch = f_wls_alternating: ok, sweeps, convergence, objective; W E^T where unique."""
    Z, logw, d = data
    prior, cond = bt.tasks_from_logits(Z, logw)
    alt = bt.wls_alternating_batch(prior, cond, d, iters=iters, tol=ALT_TOL)
    for b, task in enumerate(scalar_tasks(Z, logw)):
        p, P = task.prior, task.cond
        res, err = raises(lambda: f_wls_alternating(p, P, d, iters=iters, tol=ALT_TOL))
        assert bool(alt.ok[b]) == (err is None), (b, alt.why[b], err)
        if err is not None:
            assert alt.why[b] and np.isnan(alt.objective[b])
            continue
        lr, rep = res
        assert alt.sweeps[b] == rep.iterations and alt.converged[b] == rep.converged, (b, alt.sweeps[b], rep)
        V = weighted_residual(p, P, np.zeros_like(P))
        assert close(alt.objective[b], rep.history[-1], atol=ALT_FLOOR * V)
        F = alt.E[b] @ alt.W[b].T
        assert close(weighted_residual(p, P, F), rep.history[-1], atol=ALT_FLOOR * V)
        if unique_ls(task, d, "uniform") and well_conditioned(task, lr.W):
            assert np.max(np.abs(F - lr.F)) <= RTOL * max(1.0, float(np.abs(lr.F).max()))


def test_chunks_do_not_change_the_result():
    """The blocks of CHUNK instances are independent: any chunk size gives the same arrays bit for bit."""
    rng = np.random.default_rng(5)
    Z = np.stack([logits(rng, FAMILIES[i % len(FAMILIES)], 5, 6, 2) for i in range(11)])
    logw = rng.uniform(-18.0, 0.0, (11, 5))
    prior, cond = bt.tasks_from_logits(Z, logw)
    for fit in bt.BATCH_FITS:
        whole = bt.fit_logits_batch(prior, cond, 2, fit, "pi", chunk=64)
        parts = bt.fit_logits_batch(prior, cond, 2, fit, "pi", chunk=3)
        np.testing.assert_array_equal(whole[0], parts[0])
        np.testing.assert_array_equal(whole[1], parts[1])
    bound = bt.BATCH_BOUNDS[0]
    for whole, parts in zip(bt.evaluate_bound_batch(bound, "ls", Z, logw, 2, chunk=64),
                            bt.evaluate_bound_batch(bound, "ls", Z, logw, 2, chunk=4)):
        np.testing.assert_array_equal(whole, parts)


# ------------------------------------------------------------------ the ledger's evaluation


_LEDGER = [(b, fit) for b in bt.BATCH_BOUNDS for fit in b.maps]
from aotmem.theory.bounds import MAP_SUFFIX as _SUFFIX  # noqa: E402


def _ledger_key(b, fit):
    return f"{b.claim}[{b.reading}{_SUFFIX[fit]}]"


def _check_against_ledger(b, fit, Z, logw, d):
    lhs, rhs, ok, why = bt.evaluate_bound_batch(b, fit, Z, logw, d, with_reasons=True)
    claim = get(_ledger_key(b, fit))
    for i, rec in enumerate(bt.recipes_from_batch(Z, logw, d=d)):
        ev, err = raises(lambda: claim.evaluate(rec))
        assert bool(ok[i]) == (err is None), (_ledger_key(b, fit), i, why[i], err)
        if err is not None:
            assert np.isnan(lhs[i]) and np.isnan(rhs[i])
            continue
        task = task_from(rec)
        assert close(rhs[i], ev.rhs), (i, rhs[i], ev.rhs)
        fits = {"ls": "ls", "wls": "wls", "min": "min", "wls-matched": "wls-matched"}
        if fit in fits and _comparable(task, d, fits[fit], b.sigma_reading):
            assert close(lhs[i], ev.lhs, atol=kl_atol(task)), (i, lhs[i], ev.lhs)
        elif fit == "wls-alt" and unique_ls(task, d, "uniform"):
            lr = f_wls_alternating(task.prior, task.cond, d, iters=ALT_SWEEPS, tol=ALT_TOL)[0]
            if well_conditioned(task, lr.W):  # same sweeps (test above): the same map where it is well posed
                assert close(lhs[i], ev.lhs, atol=kl_atol(task, lr.F)), (i, lhs[i], ev.lhs)


@pytest.mark.parametrize("entry", _LEDGER, ids=[_ledger_key(b, f) for b, f in _LEDGER])
def test_evaluate_bound_batch_is_the_ledger_evaluation(entry):
    """Every ledger bound entry (40): (lhs, rhs, ok) = the registered claim's evaluate() on the explicit recipes."""
    b, fit = entry
    rng = np.random.default_rng(7)
    fams = ["gaussian", "near-deterministic", "mixed-rows", "flat-tail", "near-uniform", "box"]
    Z = np.stack([logits(rng, f, 4, 5, 2) for f in fams])
    logw = rng.uniform(np.log(1e-8), 0.0, (len(fams), 4))
    _check_against_ledger(b, fit, Z, logw, 2)


@given(batches(max_b=8), st.sampled_from(_LEDGER))
def test_evaluate_bound_batch_on_random_shapes(data, entry):
    """As above on random shapes, one ledger entry per example."""
    Z, logw, d = data
    _check_against_ledger(*entry, Z, logw, d)


# ------------------------------------------------------------------ failures


def test_ok_is_false_exactly_where_the_scalar_code_raises():
    """Assumption 2 broken in float64 (logits 800 apart: pi underflows to 0) and an ill-conditioned system:
    ok = False with a reason for those instances only, NaN values, and the others evaluated."""
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((4, 3, 5))
    Z[1, 2, 0] = 800.0  # pi(o|t=2) = 0 for o != 0
    Z[3, :, :2] += 40.0  # two tokens ~1/2, three ~e^-40: cond(A_t) >> WLS_COND_MAX
    logw = np.zeros((4, 3))
    prior, cond = bt.tasks_from_logits(Z, logw)
    assert (cond[1] == 0).any()
    for fit in bt.BATCH_FITS:
        F, ok, why = bt.fit_logits_batch(prior, cond, 2, fit, "uniform")
        for b, task in enumerate(scalar_tasks(Z, logw)):
            _, err = raises(lambda: _scalar_fit(task, 2, fit, "uniform"))
            assert bool(ok[b]) == (err is None) and (why[b] == "") == (err is None), (fit, b, why[b], err)
        assert not ok[1] and "Assumption 2" in why[1] and np.isnan(F[1]).all()
        assert ok[0] and ok[2]
    _, ok, why = bt.fit_logits_batch(prior, cond, 2, "wls")
    assert not ok[3] and "ill-conditioned" in why[3]
    with pytest.raises(ValueError, match="instance 1: `cond` violates Assumption 2"):  # the stack API raises
        bt.BATCH_BOUNDS[0].rhs(prior, cond, 2)
    with pytest.raises(ValueError, match="instance 1: `cond` violates Assumption 2"):
        sigma(prior, cond, 2)
    assert np.isfinite(bt.BATCH_BOUNDS[0].rhs(prior[[0, 2, 3]], cond[[0, 2, 3]], 2)).all()
    lhs, rhs, ok = bt.evaluate_bound_batch(bt.BATCH_BOUNDS[0], "ls", Z, logw, 2)
    assert ok.tolist() == [True, False, True, True] and np.isnan([lhs[1], rhs[1]]).all()


def test_malformed_input_raises():
    Z, logw = np.zeros((2, 3, 4)), np.zeros((2, 3))
    prior, cond = bt.tasks_from_logits(Z, logw)
    with pytest.raises(ValueError, match="`d`"):
        bt.fit_logits_batch(prior, cond, 4, "wls")
    with pytest.raises(ValueError, match="`fit`"):
        bt.fit_logits_batch(prior, cond, 1, "lookup")
    with pytest.raises(ValueError, match="`bound`"):
        bt.evaluate_bound_batch(CATALOGUE[-1], "lookup", Z, logw, 1)  # a look-up bound (needs C < 1/2)
    with pytest.raises(ValueError, match="instance 1 is not a task: `logits`"):
        bt.tasks_from_logits(np.stack([np.zeros((2, 3)), np.full((2, 3), np.nan)]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="instance 0 is not a task: `weights`"):
        bt.tasks_from_logits(np.zeros((1, 2, 3)), np.full((1, 2), -800.0))
    with pytest.raises(ValueError, match="`logw` must have shape"):
        bt.tasks_from_logits(np.zeros((1, 2, 3)), np.zeros((2, 1)))


def test_instances_explicit_task_rejects_are_not_ok():
    """evaluate_bound_batch: an instance explicit_task rejects (NaN logits, weights all 0 or overflowing) is
    ok = False with the reason, like the ledger's raise; the other instances are evaluated."""
    rng = np.random.default_rng(2)
    Z, logw = rng.standard_normal((4, 3, 5)), np.zeros((4, 3))
    Z[1, 0, 0] = np.nan
    logw[2] = -800.0  # every weight underflows to 0
    logw[3, 0] = 710.0  # exp overflows
    b = bt.BATCH_BOUNDS[0]
    lhs, rhs, ok, why = bt.evaluate_bound_batch(b, "ls", Z, logw, 2, with_reasons=True)
    assert ok.tolist() == [True, False, False, False]
    assert "`logits`" in why[1] and "`weights`" in why[2] and "`weights`" in why[3]
    for i in (1, 2, 3):
        with np.errstate(over="ignore"):
            w = np.exp(logw[i])
        with pytest.raises(ValueError):
            explicit_task(Z[i], w)
    ev = get(_ledger_key(b, "ls")).evaluate(bt.recipes_from_batch(Z[:1], logw[:1], d=2)[0])
    assert close(lhs[0], ev.lhs, atol=1e-13) and close(rhs[0], ev.rhs)


# ------------------------------------------------------------------ the conditioning decisions


def _scalar_svd_decision(X, squared):
    sv = np.linalg.svd(X, compute_uv=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(sv[:, -1] > 0, sv[:, 0] / sv[:, -1], np.inf)
    return (c**2 if squared else c) <= WLS_COND_MAX


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_certified_condition_tests_decide_as_the_scalar_svd(d):
    """The cheap tiers of _cond_A_ok (draft.lemma-wls rows) and _spd_cond_ok (alternating W-step) decide
    exactly as the scalar code's SVD, on matrices whose condition number straddles the threshold."""
    rng = np.random.default_rng(d)
    S, N = 400, 7
    k_target = np.sqrt(WLS_COND_MAX) * np.concatenate([10 ** rng.uniform(-3, 3, S - 40),
                                                       1 + rng.uniform(-1e-7, 1e-7, 20), 1 + rng.uniform(-1e-4, 1e-4, 20)])
    U, _ = np.linalg.qr(rng.standard_normal((S, N, d)))
    V, _ = np.linalg.qr(rng.standard_normal((S, d, d)))
    s = np.exp(np.linspace(0, 1, d)[None, :] * -np.log(k_target)[:, None]) if d > 1 else np.ones((S, 1))
    M = (U * s[:, None, :]) @ V
    if d == 1:
        M[:10] = 0.0  # M = 0: singular
    _, R = np.linalg.qr(M)
    np.testing.assert_array_equal(lowrank_mod._cond_A_ok(M, R), _scalar_svd_decision(M, squared=True))
    A = np.swapaxes(M, 1, 2) @ M  # symmetric PSD, cond(A) = kappa(M)^2 straddles 1e12
    np.testing.assert_array_equal(lowrank_mod._spd_cond_ok(A), _scalar_svd_decision(A, squared=False))


# ------------------------------------------------------------------ draft.lemma-taylor


@given(batches(min_n=2), st.floats(-3.0, 2.0), st.booleans(), st.integers(0, 2**32 - 1))
def test_taylor_lemma_agrees_with_the_ledger(data, log_scale, lowrank, fseed):
    """draft.lemma-taylor, both readings: the ledger's (lhs, rhs) of _taylor_identity and _taylor_bound, and
    fbar / taylor_proxy / taylor_remainder_bound, instance by instance (scale up to 100: exp3 overflows to +inf)."""
    Z, logw, d = data
    prior, cond = bt.tasks_from_logits(Z, logw)
    rng = np.random.default_rng(fseed)
    B, T, N = cond.shape
    if lowrank:
        k = d or 1
        F = 10**log_scale * rng.standard_normal((B, T, k)) @ rng.standard_normal((B, k, N))
    else:
        F = np.log(cond) + 10**log_scale * rng.standard_normal((B, T, N))
    il, ir, iok = bt.taylor_identity_batch(prior, cond, F)
    bl, br, bok = bt.taylor_bound_batch(prior, cond, F)
    if bok.all():  # the float64 functions on the stack: the same values as instance by instance
        fb, px, rem = fbar(cond, F), taylor_proxy(prior, cond, F), taylor_remainder_bound(prior, cond, F)
    else:  # they raise, naming an instance the ledger's batch refuses
        errs = [raises(lambda: kl(prior, cond, F))[1], raises(lambda: fbar(cond, F))[1]]
        named = {int(re.match(r"instance (\d+):", str(e)).group(1)) for e in errs if e is not None}
        assert named and not bok[sorted(named)].any(), (errs, bok)
    for b, task in enumerate(scalar_tasks(Z, logw)):
        p, P = task.prior, task.cond
        ref_fb, err = raises(lambda: fbar(P, F[b]))
        dk, err2 = raises(lambda: kl(p, P, F[b]))
        assert bool(iok[b]) == bool(bok[b]) == (err is None and err2 is None)
        if not iok[b]:
            continue
        atol = kl_atol(task, F[b])
        assert close(il[b], dk, atol=atol)
        assert close(ir[b], float(p @ logsumexp(ref_fb, b=P, axis=1)), atol=atol)
        proxy = taylor_proxy(p, P, F[b])
        assert close(bl[b], abs(dk - proxy), atol=atol)
        r = taylor_remainder_bound(p, P, F[b])
        assert close(br[b], r)
        if bok.all():
            np.testing.assert_array_equal(fb[b], ref_fb)
            assert px[b] == proxy and rem[b] == r


# ------------------------------------------------------------------ the benchmark script


def test_bench_batch_smallest_case_agrees(monkeypatch, capsys):
    """benchmarks/bench_batch.py runs its smallest case and its own agreement check passes (no timing asserted)."""
    bench_dir = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench_dir))
    bench = importlib.import_module("bench_batch")
    assert bench.main(["--shapes", "3,4,1", "--batches", "8", "--scalar", "8", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "CAVEAT" in out and out.count("batch ") == 4
    sys.modules.pop("bench_batch", None)


# ---------------------------------------------- defects found by tests/test_fuzz_api.py (issue 14, item 4)
def test_kl_of_an_instance_that_is_not_a_task_raises_naming_it():
    """Were finite numbers for a negative prior entry / a row summing to 0.97 (the scalar kl raises there); a
    stack now raises the scalar message, naming the instance."""
    P = np.full((2, 3, 2), 0.5)
    F = np.zeros((2, 3, 2))
    p = np.full((2, 3), 1 / 3)
    p[1] = [-0.25, 0.75, 0.5]
    with pytest.raises(ValueError, match="instance 1: `prior` has a negative entry"):
        kl(p, P, F)
    assert kl(p[:1], P[:1], F[:1])[0] == kl(p[0], P[0], F[0])
    P[0, 1] *= 0.97
    with pytest.raises(ValueError, match="instance 0: `cond` row 1 must sum to 1"):
        kl_rows(P, F)


def test_fits_of_uniform_rows_are_the_scalar_fits():
    """f_ls of uniform rows (sigma_1 within rounding of the centring: rank 0) as theory.lowrank.f_ls: W orthogonal
    to 1, so f_wls is defined (was '1 lies in Im(W_U)' at N = 6)."""
    N, T = 6, 6
    prior, cond = np.full((1, T), 1.0 / T), np.full((1, T, N), 1.0 / N)
    for fit in ("ls", "wls"):
        F, ok, why = bt.fit_logits_batch(prior, cond, 2, fit, "uniform")
        assert ok.all(), why
        ref = fit_encoder(prior[0], cond[0], 2, fit, "uniform").F
        assert np.array_equal(F[0], ref)


@pytest.mark.parametrize("call", [
    lambda: kl("abc", np.full((1, 2, 2), 0.5), np.zeros((1, 2, 2))),
    lambda: kl_rows(None, np.zeros((1, 2, 2))),
    lambda: taylor_proxy(np.full((1, 2), 0.5), np.full((1, 2, 2), 0.5), "abc"),
    lambda: sigma(np.full((1, 2), 0.5), np.full((1, 2, 2), 0.5), 1, "nope"),
    lambda: bt.wls_alternating_batch(np.full((1, 3), 1 / 3), np.full((1, 3, 3), 1 / 3), 1, chunk=2.5),
], ids=["prior-string", "cond-None", "F-string", "reading", "chunk"])
def test_non_numeric_and_misnamed_arguments_are_named(call):
    """Were 'could not convert string to float' (naming nothing), `sigma_reading` for the batched sigma's
    `reading`, and chunk = 2.5 accepted (int(2.5)); the stacks of the float64 functions name them too."""
    with pytest.raises(ValueError, match=r"`(prior|cond|F|reading|chunk)`"):
        call()
