"""theory/certify.py: rank certificates in mpmath (``paper.lemma2``, ``draft.lemma-rank``) and the structural bounds."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from aotmem.theory.aot import AoTShape
from aotmem.theory.certify import (
    MAX_T,
    NumericalRank,
    attention_rank_cap,
    certify_rank,
    features_mp,
    head_rank,
    skip_rank_bound,
)
from aotmem.theory.construct import draw_primed, head_features, heads_for
from aotmem.theory.task import all_sequences
from tests.strategies import seeds


@pytest.mark.parametrize("shape", [dict(N=3, S=2, d=2, H=2, d_h=2), dict(N=2, S=3, d=3, H=2, d_h=1),
                                   dict(N=3, S=2, d=2, H=1, d_h=4)])  # d_h > d: a head's rows are A'(t)
def test_features_mp_are_head_features_at_more_digits(shape):
    """The same mathematical matrix as the float64 head_features (float64 parameters converted exactly)."""
    pr = draw_primed(AoTShape(**shape), seed=1)
    seqs = all_sequences(shape["N"], shape["S"])
    F = np.asarray(head_features(pr, seqs))
    M = features_mp(pr, seqs, 30)
    assert (M.rows, M.cols) == F.shape == (shape["H"] * min(shape["d_h"], shape["d"]) + shape["d"], seqs.shape[0])
    with mpmath.workdps(30):
        Mf = np.array([[float(M[i, j]) for j in range(M.cols)] for i in range(M.rows)])
    assert np.allclose(Mf, F, rtol=1e-12, atol=1e-14 * np.abs(F).max())


def test_certify_rank_validates_dps_and_size():
    pr = draw_primed(AoTShape(N=2, S=2, d=1, H=3, d_h=1), seed=0)
    with pytest.raises(ValueError, match="`dps`"):
        certify_rank(pr, all_sequences(2, 2), dps=10)
    with pytest.raises(ValueError, match=f"T <= {MAX_T}"):
        certify_rank(pr, np.zeros((MAX_T + 1, 2), dtype=int), dps=20)
    cert = certify_rank(pr, all_sequences(2, 2), dps=20)
    assert cert.verdict == "full" and (cert.rows, cert.cols, cert.dps) == (4, 4, 20)
    assert cert.sigma_min_lo == pytest.approx(cert.sigma_min_hi, rel=1e-8) and cert.sigma_max >= cert.sigma_min_hi > 0


def test_skip_rank_bound_and_attention_rank_cap():
    assert skip_rank_bound(np.array([[0, 0], [1, 0]]), d=2, H=0, d_h=1) == 1  # one last token: one skip value
    assert skip_rank_bound(all_sequences(3, 2), d=2, H=2, d_h=3) == 2 * 2 + 2  # min(d_h, d) per head
    assert skip_rank_bound(all_sequences(2, 1), d=5, H=9, d_h=5) == 2  # at most T
    assert attention_rank_cap(T0=50, H=2, d=8, N=3, S=2) == 7  # H (N + S - 2) + 1
    assert attention_rank_cap(T0=5, H=2, d=8, N=3, S=2) == 5 and attention_rank_cap(50, 1, 2, 5, 3) == 2


def test_head_rank_of_a_generic_primed_model_is_full():
    pr = draw_primed(AoTShape(N=3, S=2, d=2, H=2, d_h=2), seed=0)
    r = head_rank(pr, all_sequences(3, 2))
    assert r == NumericalRank(4, 4, r.ratio) and 0 < r.ratio <= 1


# ---- moved from tests/test_construct.py (the certificates behind paper.lemma2's findings)
def test_skip_rank_deficiency_is_certified_in_mpmath():
    """paper.lemma2 with the skip as a head: N=2, S=3, d=3 > N: H d_h + d = T_eps but rank <= H d_h + N."""
    seqs = all_sequences(2, 3)  # T = 8
    d, d_h = 3, 1
    H, _ = heads_for("paper", 8, d, d_h)  # 5 heads: 5 + 3 = 8
    assert skip_rank_bound(seqs, d, H, d_h) == 7
    cert = certify_rank(draw_primed(AoTShape(N=2, S=3, d=d, H=H, d_h=d_h), seed=0), seqs, dps=30)
    assert cert.verdict == "deficient", cert
    # One more head restores full rank, certified.
    cert2 = certify_rank(draw_primed(AoTShape(N=2, S=3, d=d, H=H + 1, d_h=d_h), seed=0), seqs, dps=30)
    assert cert2.verdict == "full", cert2


@given(st.integers(2, 3), st.integers(2, 3), seeds)
@example(N=2, S=2, seed=0)
def test_heads_only_rank_certified_at_minimal_count(N, S, seed):
    """draft.lemma-rank / paper.lemma2 (heads only): H d_h >= T gives rank T, certified in mpmath
    (or by float64 alone where its sigma_min / sigma_max is far above rounding)."""
    T = N**S
    d = d_h = 2
    H = -(-T // d_h)
    pr = draw_primed(AoTShape(N=N, S=S, d=d, H=H, d_h=d_h), seed=seed)
    M = head_features(pr, all_sequences(N, S))[: H * d_h]
    s = np.linalg.svd(M, compute_uv=False)
    if s[-1] / s[0] > 1e-8:  # float64 already certain (an error of ~1e-16 sigma_1 cannot reach sigma_min)
        assert head_rank(pr, all_sequences(N, S)).rank == T
        return
    assert certify_rank(pr, all_sequences(N, S), dps=30, heads_only=True).verdict == "full"


def test_d1_rank_needs_mpmath():
    """draft.lemma-rank with d = 1 (N=3, S=3, H=27 scalar heads): full rank, but kappa ~ 1e12-1e16.

    float64 cannot certify it (sigma_min / sigma_max below 1e-11); mpmath at 40 and 80 digits agrees.
    """
    pr = draw_primed(AoTShape(N=3, S=3, d=1, H=27, d_h=1), seed=0)
    M = head_features(pr, all_sequences(3, 3))[:27]
    s = np.linalg.svd(M, compute_uv=False)
    assert s[-1] / s[0] < 1e-11
    cert = certify_rank(pr, all_sequences(3, 3), dps=40, heads_only=True)
    assert cert.verdict == "full", cert
