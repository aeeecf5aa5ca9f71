"""aotmem.precision (verify/ledger/precision.py): the public functions called with dps= (the same kernels on theory.precise's mpmath namespace), exactly."""

import mpmath
import numpy as np
import pytest

import aotmem
from aotmem.theory import bounds, lowrank, spectra
from aotmem.theory import divergence as dv
from aotmem.theory import precise as pr
from aotmem.verify.ledger.precision import PUBLIC, current_dps, precise_task



def test_precision_switches_the_public_functions_to_their_twins():
    task = aotmem.dirichlet_task(4, 1, seed=2)
    p, P = task.prior, task.cond
    with aotmem.precision(50):
        fit = aotmem.f_ls(p, P, 2)
        v = aotmem.kl(p, P, fit.E @ fit.W.T)
        s = aotmem.singular_values(p, P)
        b = aotmem.seed_ls_bound(p, P, 2)
        assert isinstance(v, mpmath.mpf) and isinstance(b, mpmath.mpf) and s.dtype == object
        # E @ W.T (object arrays) and f_ls_mp's F sum the same products in different orders: equal to the
        # rounding of a few dozen 50-digit operations (1e-45 relative), not bit for bit
        assert abs(v - dv.kl(p, P, lowrank.f_ls(p, P, 2, dps=pr.DPS).F, dps=pr.DPS)) <= mpmath.mpf("1e-45") * abs(v)
        assert fit.divergence(p, P) == v
    with aotmem.precision(50):  # d = 1: the factors stay (N, 1) and (T, 1) matrices, E @ W.T is (T, N)
        fit1 = aotmem.f_ls(p, P, 1)
        assert fit1.W.shape == (4, 1) and (fit1.E @ fit1.W.T).shape == P.shape
        w1 = dv.kl(p, P, lowrank.f_ls(p, P, 1, dps=pr.DPS).F, dps=pr.DPS)
        assert abs(aotmem.kl(p, P, fit1.E @ fit1.W.T) - w1) <= mpmath.mpf("1e-45") * abs(w1)
    assert aotmem.precision.__module__ == "aotmem.verify.ledger.precision"
    assert isinstance(aotmem.kl(p, P, aotmem.f_ls(p, P, 2).F), float)  # float64 again outside
    assert abs(float(v) - aotmem.kl(p, P, aotmem.f_ls(p, P, 2).F)) <= 1e-12


def test_precision_refuses_what_it_cannot_do():
    task = aotmem.dirichlet_task(3, 1, seed=0)
    with aotmem.precision(50):
        with pytest.raises(aotmem.PrecisionUnavailable, match="optimal_encoder"):
            aotmem.optimal_encoder(task.prior, task.cond, 1)
    with pytest.raises(ValueError, match="`dps`"):
        with aotmem.precision(10):
            pass


def test_every_dispatched_function_is_its_float64_self_outside_and_its_twin_inside():
    task = aotmem.dirichlet_task(4, 1, seed=5)
    p, P = task.prior, task.cond
    assert current_dps() is None
    for name, fn in PUBLIC.items():
        assert getattr(aotmem, name) is fn and fn.__wrapped__.__name__ == name
    with aotmem.precision(50):
        assert current_dps() == 50
        assert aotmem.sigma(p, P, 2) == spectra.sigma(p, P, 2, dps=pr.DPS)
        assert aotmem.seed_wls_bound(p, P, 1) == bounds.seed_wls_bound(p, P, 1, dps=pr.DPS)
        h = aotmem.entropy(P)
        assert h.shape == (4,) and all(a == b for a, b in zip(h, dv.entropy(P, dps=pr.DPS)))
        w = aotmem.f_wls(p, P, 2)
        ref = lowrank.f_wls(p, P, 2, dps=pr.DPS)
        assert np.all(w.E == np.array(ref.E.tolist(), dtype=object))  # the twin's factors, entry for entry
        # E @ W.T sums in NumPy's order, the twin's F in mpmath's: equal to the working precision
        assert max(abs(a - b) for a, b in zip((w.E @ w.W.T).ravel(), np.array(ref.F.tolist()).ravel())) < 1e-45
    assert current_dps() is None


def test_the_precise_task_holds_the_same_numbers_and_refuses_float64_only_operations():
    task = aotmem.dirichlet_task(3, 2, seed=1)
    t = precise_task(task)
    assert t.cond.dtype == object and t.N == task.N and t.T == task.T
    assert all(float(a) == b for a, b in zip(t.cond.ravel(), task.cond.ravel()))
    with aotmem.precision(50):
        assert aotmem.kl(t.prior, t.cond, np.zeros(task.cond.shape)) == dv.kl(task.prior, task.cond,
                                                                               np.zeros(task.cond.shape), dps=pr.DPS)
        with pytest.raises(TypeError):
            np.log(t.cond)  # no silent float64: NumPy's log has no mpf loop
        with pytest.raises(aotmem.PrecisionUnavailable, match="not a float64 number"):
            aotmem.entropy(t.cond / 3)  # the twins take the instance's own float64 arrays


def test_a_map_held_as_mpf_refuses_an_instance_that_is_not_float64_rather_than_rounding_it():
    """Was a silent rounding: a LowRank of mpf factors (what aotmem.f_ls returns under precision) took a cond of
    mpf that are not float64 numbers, rounded it to float64 and divided it again (its former twin raised)."""
    task = aotmem.dirichlet_task(3, 2, seed=1)
    t = precise_task(task)
    with aotmem.precision(50):
        fit = aotmem.f_ls(t.prior, t.cond, 1)
        assert fit.divergence(t.prior, t.cond) == dv.kl(task.prior, task.cond, fit.F, dps=pr.DPS)
        off = t.cond.copy()
        off[0, 0] += mpmath.mpf(10) ** -30  # still a distribution to 1e-9, no longer float64 numbers
        with pytest.raises(ValueError, match="`cond` holds a value that is not a float64 number"):
            fit.divergence(t.prior, off)
    with pytest.raises(ValueError, match="`cond` holds a value that is not a float64 number"):
        dv.kl(task.prior, off, np.zeros(task.cond.shape), dps=pr.DPS)
