"""One list of fits (``theory.lowrank.FITS``, the ``min`` map included) for the scalar code, the batch,
the 50-digit twin, the ledger and ``aotmem bounds`` (issue 17: no fall-through to another map)."""

from __future__ import annotations

import numpy as np
import pytest

from aotmem.theory import batch as bt
from aotmem.theory import precise as pr
from aotmem.theory.bounds import CATALOGUE, MAP_SUFFIX
from aotmem.theory.lowrank import FITS, SIGMA_FITS, fit_encoder
from aotmem.theory.spectra import SIGMA_READINGS

# Batched and scalar code run the same formulas in the same order (theory/batch.py), so on well-posed
# random instances (Gaussian logits: distinct singular values, well-conditioned systems) the logits
# agree to rounding; 1e-12 relative to max(1, |F|) is the requirement.
LOGIT_RTOL = 1e-12


def _instances(seed, B=6, T=5, N=6):
    rng = np.random.default_rng(seed)
    Z = 1.5 * rng.standard_normal((B, T, N))
    logw = rng.uniform(np.log(1e-3), 0.0, (B, T))
    return bt.tasks_from_logits(Z, logw)


def test_fits_is_the_one_list():
    assert "min" in FITS and len(set(FITS)) == len(FITS)
    assert bt.BATCH_FITS == FITS
    assert set(SIGMA_FITS) <= set(FITS)
    assert set(MAP_SUFFIX) == set(FITS) | {"lookup"}
    assert {m for b in CATALOGUE for m in b.maps} <= set(FITS) | {"lookup"}


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_fit_batched_equals_scalar(fit, seed):
    """Every name of FITS: fit_logits_batch's logits = fit_encoder(...).F to 1e-12, for every sigma reading
    the map depends on (the others are read once); the maps of different names are different maps."""
    prior, cond = _instances(seed)
    d = 2
    for sr in SIGMA_READINGS if fit in SIGMA_FITS else ("uniform",):
        F, ok, why = bt.fit_logits_batch(prior, cond, d, fit, sr)
        assert ok.all(), why
        for b in range(prior.shape[0]):
            ref = fit_encoder(prior[b], cond[b], d, fit, sr).F
            err = np.max(np.abs(F[b] - ref))
            assert err <= LOGIT_RTOL * max(1.0, float(np.abs(ref).max())), (fit, sr, b, err)


def test_fits_are_distinct_maps():
    """No two names silently compute the same map (the old fall-through made three names the `min` map)."""
    prior, cond = _instances(3)
    Fs = {fit: bt.fit_logits_batch(prior, cond, 2, fit, "pi-prior")[0] for fit in FITS}
    for a in FITS:
        for b in FITS:
            if a < b:
                assert np.max(np.abs(Fs[a] - Fs[b])) > 1e-6, (a, b)


@pytest.mark.parametrize("bad", ["wls_alt", "MIN", "", "lookup", None, 3])
def test_unknown_fit_raises_everywhere(bad):
    prior, cond = _instances(0, B=1)
    with pytest.raises(ValueError, match="`fit` must be one of"):
        bt.fit_logits_batch(prior, cond, 2, bad)
    with pytest.raises(ValueError, match="`fit` must be one of"):
        fit_encoder(prior[0], cond[0], 2, bad)
    with pytest.raises(ValueError, match="`fit` must be one of"):
        fit_encoder(prior[0], cond[0], 2, bad, dps=pr.DPS)


@pytest.mark.parametrize("fit", FITS)
def test_every_fit_at_50_digits_matches_float64(fit):
    """fit_encoder(dps=) knows every fit (none refused) and agrees with the float64 divergence."""
    prior, cond = _instances(4, B=1, T=3, N=4)
    p, P = prior[0], cond[0]
    ref = fit_encoder(p, P, 1, fit, "pi").divergence(p, P)
    got = pr.to_float(fit_encoder(p, P, 1, fit, "pi", dps=pr.DPS).divergence(p, P))
    assert abs(got - ref) <= 1e-9 * max(ref, 1e-3), (fit, got, ref)
