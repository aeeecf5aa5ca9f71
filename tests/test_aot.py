"""The AoT of docs/theory.md#aot: forward pass vs a per-sequence loop, chunking, save/load, sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from aotmem.theory.aot import AoT, AoTShape, load_aot
from aotmem.theory.divergence import kl, kl_stream
from aotmem.theory.task import all_sequences
from tests import fake_cupy
from tests.strategies import seeds

# The vectorised forward pass and the loop differ only in summation order:
# a few ulps per operation on O(1) numbers, so 1e-12 relative is generous.
FORWARD_RTOL = 1e-12


def reference_logits(m: AoT, seqs) -> np.ndarray:
    """docs/theory.md#notation written literally, one sequence and one head at a time."""
    out = []
    for t in seqs:
        x = [m.embed[tok] + m.pos[s] for s, tok in enumerate(t)]
        xS = x[-1]
        res = xS.copy()
        for h in range(m.shape.H):
            sc = np.array([xS @ m.W_QK[h] @ xs for xs in x])
            a = np.exp(sc - sc.max())
            a /= a.sum()
            A = sum(ai * xi for ai, xi in zip(a, x))
            res = res + m.W_O[h] @ (m.W_V[h] @ A)
        out.append(m.W_U @ res)
    return np.array(out)


@st.composite
def aots(draw, *, max_n: int = 5, max_s: int = 3, max_d: int = 4, max_h: int = 3) -> AoT:
    """Random AoTs with Gaussian weights (scale 1/sqrt(d))."""
    N = draw(st.integers(2, max_n))
    S = draw(st.integers(1, max_s))
    d = draw(st.integers(1, max_d))
    d_h = draw(st.integers(1, d))
    H = draw(st.integers(0, max_h))
    rng = np.random.default_rng(draw(seeds))
    g = lambda *shape: rng.standard_normal(shape) / np.sqrt(d)  # noqa: E731
    m = AoT(g(N, d), g(S, d), g(H, d, d), g(H, d_h, d), g(H, d, d_h), g(N, d))
    assert m.shape == AoTShape(N, S, d, H, d_h)
    return m


@given(aots(), st.integers(1, 7))
def test_logits_match_the_literal_definition(m, chunk):
    seqs = all_sequences(m.shape.N, m.shape.S)[:40]
    got = m.logits(seqs, chunk=chunk)
    want = reference_logits(m, seqs)
    np.testing.assert_allclose(got, want, rtol=FORWARD_RTOL, atol=FORWARD_RTOL * np.abs(want).max())


@given(m=aots())
def test_save_load_roundtrip_reproduces_logits(tmp_path_factory, m):
    path = tmp_path_factory.mktemp("aot") / "m.npz"
    seqs = all_sequences(m.shape.N, m.shape.S)[:10]
    F = m.logits(seqs)
    m.save(path, seqs=seqs, target=F)
    m2, s2, t2 = load_aot(path)
    assert np.array_equal(m2.logits(s2), F)  # bit-identical: same weights, same code
    assert np.array_equal(t2, F) and np.array_equal(s2, seqs)
    with np.load(path) as z:  # the documented keys and shapes, for other frameworks
        N, S, d, H, d_h = m.shape.N, m.shape.S, m.shape.d, m.shape.H, m.shape.d_h
        shapes = {"embed": (N, d), "pos": (S, d), "W_QK": (H, d, d), "W_V": (H, d_h, d),
                  "W_O": (H, d, d_h), "W_U": (N, d), "seqs": seqs.shape, "target": (len(seqs), N)}
        assert {k: z[k].shape for k in shapes} == shapes


def test_skip_only_model_is_the_bigram_map():
    # H = 0: T(t) = W_U (e(t_S) + pos_S), whatever came before.
    rng = np.random.default_rng(0)
    e, p, U = rng.standard_normal((3, 2)), rng.standard_normal((2, 2)), rng.standard_normal((3, 2))
    m = AoT(e, p, np.zeros((0, 2, 2)), np.zeros((0, 1, 2)), np.zeros((0, 2, 1)), U)
    F = m.logits(all_sequences(3, 2))
    np.testing.assert_allclose(F[[0, 3, 6]], np.tile(U @ (e[0] + p[1]), (3, 1)), rtol=1e-15)


def test_param_count_matches_both_paper_formulas():
    N, S, d, H, d_h = 7, 3, 4, 5, 2
    z = np.zeros
    full = AoT(z((N, d)), z((S, d)), z((H, d, d)), z((H, d_h, d)), z((H, d, d_h)), z((N, d)))
    r1 = AoT(z((N, d)), z((S, d)), z((H, d, d)), z((H, d_h, d)), z((H, d, d_h)), z((N, d)), qk_rank1=True)
    assert r1.param_count() == d * (S + 2 * N + 2 * (d_h + 1) * H)  # paper, rank-1 W_QK
    assert full.param_count() == d * (S + 2 * N) + H * (d * d + 2 * d * d_h)  # stored d x d W_QK
    # The paper's d(S + 2N + 4 d_h H) counts W_QK as two d x d_h factors: it equals ours iff d = 2 d_h.
    assert (full.param_count() == d * (S + 2 * N + 4 * d_h * H)) == (d == 2 * d_h)


@pytest.mark.parametrize("kw, msg", [
    (dict(N=5, S=2, d=4, H=3, d_h=0), "`d_h` must be >= 1"),
    (dict(N=1, S=2, d=4, H=3, d_h=2), "`N` must be >= 2"),
    (dict(N=5, S=0, d=4, H=3, d_h=2), "`S` must be >= 1"),
    (dict(N=5, S=2, d=4, H=-1, d_h=2), "`H` must be >= 0"),
    (dict(N=5, S=2, d=4.5, H=1, d_h=2), "`d` must be an integer"),
])
def test_shape_rejects_bad_sizes(kw, msg):
    with pytest.raises(ValueError, match=msg):
        AoTShape(**kw)


def test_model_rejects_bad_weights_and_sequences(tmp_path):
    z = np.zeros
    with pytest.raises(ValueError, match="`W_O` must have shape"):
        AoT(z((3, 2)), z((2, 2)), z((1, 2, 2)), z((1, 1, 2)), z((1, 1, 2)), z((3, 2)))
    bad = z((3, 2))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="`embed` contains NaN"):
        AoT(bad, z((2, 2)), z((1, 2, 2)), z((1, 1, 2)), z((1, 2, 1)), z((3, 2)))
    m = AoT(z((3, 2)), z((2, 2)), z((1, 2, 2)), z((1, 1, 2)), z((1, 2, 1)), z((3, 2)))
    with pytest.raises(ValueError, match=r"`seqs` token ids must lie in \[0, 2\]"):
        m.logits(np.array([[0, 3]]))
    with pytest.raises(ValueError, match=r"`seqs` must have shape \(T, S=2\)"):
        m.logits(np.array([0, 1]))
    with pytest.raises(ValueError, match="does not exist"):
        load_aot(tmp_path / "nope.npz")
    np.savez(tmp_path / "partial.npz", embed=z((3, 2)))
    with pytest.raises(ValueError, match="lacks key"):
        load_aot(tmp_path / "partial.npz")


def test_unknown_backend_is_rejected():
    m = AoT(np.eye(2), np.zeros((1, 2)), np.zeros((0, 2, 2)), np.zeros((0, 1, 2)), np.zeros((0, 2, 1)), np.eye(2))
    with pytest.raises(ValueError, match="`backend` must be one of"):
        m.logits(np.array([[0]]), backend="torch")


CUPY_AGREE_RTOL = 1e-10  # issue 3: the CuPy path must agree with NumPy to 1e-10


@pytest.mark.skipif(fake_cupy.real_cupy() is None, reason="cupy with a GPU is not available")
@given(aots())
def test_cupy_agrees_with_numpy(m):  # pragma: no cover - needs a GPU
    seqs = all_sequences(m.shape.N, m.shape.S)[:40]
    a, b = m.logits(seqs), m.logits(seqs, backend="cupy")
    np.testing.assert_allclose(b, a, rtol=CUPY_AGREE_RTOL, atol=CUPY_AGREE_RTOL * np.abs(a).max())


def test_head_dimension_above_d_is_accepted_and_its_rank_is_d():
    """d_h > d (the authors' runs: d = 5..9, d_head = 10): the shapes are accepted, and W_O^h W_V^h has rank <= d."""
    N, S, d, H, d_h = 4, 2, 3, 2, 5
    shape = AoTShape(N=N, S=S, d=d, H=H, d_h=d_h)
    assert shape.head_rank == 3
    rng = np.random.default_rng(0)
    m = AoT(rng.standard_normal((N, d)), rng.standard_normal((S, d)), rng.standard_normal((H, d, d)),
            rng.standard_normal((H, d_h, d)), rng.standard_normal((H, d, d_h)), rng.standard_normal((N, d)))
    assert m.shape.d_h == 5 and m.logits(all_sequences(N, S)).shape == (N**S, N)
    assert all(np.linalg.matrix_rank(m.W_O[h] @ m.W_V[h]) == d for h in range(H))  # (d, d): at most d
    assert m.param_count() == d * (S + 2 * N) + H * (d * d + 2 * d * d_h)


# ---- numerical extremes: chunked = unchunked at T ~ 1e4 (moved from tests/test_extremes.py)
# Chunked and unchunked KL add the same per-row values in another order.
CHUNK_RTOL = 1e-13


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
