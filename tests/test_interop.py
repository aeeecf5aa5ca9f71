"""aotmem.theory.interop: the exported models' last-position logits equal ``AoT.logits`` (``aotmem export``:
tests/test_cmd_export.py).

Without the optional extra ``[interop]`` (torch, transformer-lens; absent in
CI) the NumPy half runs: the ``W_QK`` factorisation, the TransformerLens
layout and a NumPy re-implementation of TransformerLens's forward pass on it,
and the CLI's one-line refusal. The torch half skips; ``benchmarks/interop_check.sh``
installs the extra in a throwaway environment and runs this file with
``AOTMEM_INTEROP_REQUIRED=1``, which turns those skips into failures.

Tolerances: the exported network computes the AoT's function exactly (the
module docstring of ``aotmem.theory.interop``); float64 evaluations in another order
differ by the rounding each model amplifies (measured 4e-15 for random models
and the small T* here, up to 4e-11 for the T* of docs/interop.md).
``interop.CHECK_RTOL = 1e-10`` is the issue's bar; the NumPy layout is held to
1e-12 on the well-conditioned models it is run on (measured <= 4e-15).
"""

from __future__ import annotations

import doctest
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aotmem.theory import interop
from aotmem.theory.aot import AoT
from aotmem.theory.construct import construct, svd_target
from aotmem.theory.generators import dirichlet_task
from aotmem.theory.task import all_sequences

LAYOUT_RTOL = 1e-12  # NumPy layout vs AoT.logits: same sums up to zero padding and reassociation


def _random_aot(seed: int, N: int, S: int, d: int, H: int, d_h: int, qk_rank: str) -> AoT:
    rng = np.random.default_rng(seed)
    if qk_rank == "rank1":
        W_QK = 3.0 * np.einsum("hi,hj->hij", rng.normal(size=(H, d)), rng.normal(size=(H, d)))
    elif qk_rank == "zero":
        W_QK = np.zeros((H, d, d))
    else:
        W_QK = 3.0 * rng.normal(size=(H, d, d))  # x3: sharp attention, so a wrong score shows
    return AoT(rng.normal(size=(N, d)), rng.normal(size=(S, d)), W_QK, rng.normal(size=(H, d_h, d)),
               rng.normal(size=(H, d, d_h)), rng.normal(size=(N, d)), qk_rank1=qk_rank == "rank1")


@st.composite
def aots(draw):
    """Random AoTs: H = 0..3 heads, d = 1..4, d_h = 1..d, S = 1..4, W_QK full, rank 1 or zero."""
    d = draw(st.integers(1, 4))
    return _random_aot(draw(st.integers(0, 2**32 - 1)), draw(st.integers(2, 5)), draw(st.integers(1, 4)), d,
                       draw(st.integers(0, 3)), draw(st.integers(1, d)), draw(st.sampled_from(["full", "rank1", "zero"])))


def _all_seqs(m: AoT) -> np.ndarray:
    return all_sequences(m.shape.N, m.shape.S)


def _prefix_aot(m: AoT, p: int) -> AoT:
    """The AoT with ``pos`` cut to its first ``p`` rows: what every causal position ``p`` computes."""
    return AoT(m.embed, m.pos[:p], m.W_QK, m.W_V, m.W_O, m.W_U)


# --- without the extra: factorisation, layout, refusal -------------------------------------------


@given(st.integers(0, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_identity_factors_reproduce_w_qk_bit_for_bit(H, d, seed):
    W = np.random.default_rng(seed).normal(size=(H, d, d))
    Q, K = interop.qk_factors(W)
    assert Q.shape == K.shape == (H, d, d)
    assert np.array_equal(Q @ K.transpose(0, 2, 1), W)  # W_QK I: no rounding at all


@given(st.integers(1, 3), st.integers(1, 5), st.integers(0, 2**32 - 1), st.data())
def test_svd_factors_have_the_largest_rank_and_reproduce_w_qk(H, d, seed, data):
    rng = np.random.default_rng(seed)
    ranks = [data.draw(st.integers(0, d)) for _ in range(H)]
    W = np.stack([rng.normal(size=(d, r)) @ rng.normal(size=(r, d)) for r in ranks])
    Q, K = interop.qk_factors(W, qk="svd")
    assert Q.shape == K.shape == (H, d, max(1, max(ranks)))
    scale = np.abs(W).max() if W.any() else 1.0
    # d x d products of O(1) factors: rounding ~d * 2^-52 relative; 1e-13 leaves a margin
    assert np.abs(Q @ K.transpose(0, 2, 1) - W).max() <= 1e-13 * scale


def test_svd_rtol_drops_tiny_singular_values():
    W = np.diag([1.0, 1e-3, 1e-20])[None]
    assert interop.qk_factors(W, qk="svd")[0].shape[2] == 2  # 1e-20 < d 2^-52: numerically zero
    assert interop.qk_factors(W, qk="svd", rtol=1e-2)[0].shape[2] == 1
    assert interop.qk_factors(W, qk="svd", rtol=0.0)[0].shape[2] == 3


@pytest.mark.parametrize("kw, name", [
    ({"W_QK": np.zeros((2, 3))}, "`W_QK`"), ({"W_QK": np.zeros((1, 2, 3))}, "`W_QK`"),
    ({"W_QK": np.full((1, 2, 2), np.nan)}, "`W_QK`"), ({"W_QK": np.zeros((1, 2, 2), dtype=int)}, "`W_QK`"),
    ({"W_QK": np.zeros((1, 2, 2)), "qk": "cholesky"}, "`qk`"),
    ({"W_QK": np.zeros((1, 2, 2)), "qk": "svd", "rtol": 1.5}, "`rtol`"),
])
def test_qk_factors_rejects_bad_input_naming_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        interop.qk_factors(**kw)


@pytest.mark.parametrize("qk", interop.QK_SCHEMES)
def test_layout_shapes_padding_and_config(qk):
    m = _random_aot(0, N=5, S=3, d=4, H=2, d_h=1, qk_rank="rank1")
    w = interop.tl_weights(m, qk=qk)
    d_head = 4 if qk == "identity" else 1  # identity: d; svd: rank 1 = d_h, no padding
    assert (w.n_heads, w.d_head) == (2, d_head)
    assert w.W_E.shape == (5, 4) and w.W_pos.shape == (3, 4) and w.W_U.shape == (4, 5)
    assert w.W_Q.shape == w.W_K.shape == w.W_V.shape == (2, 4, d_head) and w.W_O.shape == (2, d_head, 4)
    assert not w.W_V[:, :, 1:].any() and not w.W_O[:, 1:, :].any()  # the padding is exactly zero
    np.testing.assert_array_equal(w.W_V[:, :, 0], m.W_V[:, 0, :])
    np.testing.assert_array_equal(w.W_O[:, 0, :], m.W_O[:, :, 0])
    assert w.qk_residual <= 1e-15 if qk == "svd" else w.qk_residual == 0.0
    c = w.config()
    assert (c["n_layers"], c["d_model"], c["n_ctx"], c["d_vocab"], c["d_vocab_out"], c["n_heads"], c["d_head"]) == (
        1, 4, 3, 5, 5, 2, d_head)
    assert c["attn_only"] and c["normalization_type"] is None and c["use_attn_scale"] is False
    assert c["positional_embedding_type"] == "standard" and c["attention_dir"] == "causal"
    assert c["default_prepend_bos"] is False


def test_svd_layout_pads_the_value_side_when_the_qk_rank_exceeds_d_h():
    m = _random_aot(1, N=4, S=2, d=3, H=2, d_h=1, qk_rank="full")
    w = interop.tl_weights(m, qk="svd")
    assert w.d_head == 3 and not w.W_V[:, :, 1:].any() and not w.W_O[:, 1:, :].any()
    seqs = _all_seqs(m)
    assert interop.max_rel_logit_diff(w.logits(seqs), m.logits(seqs)) <= LAYOUT_RTOL


def test_no_heads_become_one_zero_head():
    m = _random_aot(2, N=3, S=2, d=2, H=0, d_h=1, qk_rank="full")
    w = interop.tl_weights(m)
    assert w.n_heads == 1 and not w.W_O.any()
    seqs = _all_seqs(m)
    np.testing.assert_allclose(w.logits(seqs), m.logits(seqs), rtol=0, atol=1e-15 * np.abs(m.logits(seqs)).max())


@given(aots(), st.sampled_from(interop.QK_SCHEMES))
def test_layout_logits_equal_the_aot_at_the_last_position_and_the_prefix_aot_elsewhere(m, qk):
    w = interop.tl_weights(m, qk=qk)
    seqs = _all_seqs(m)[:64]
    every = w.logits(seqs, all_positions=True)
    assert every.shape == (seqs.shape[0], m.shape.S, m.shape.N)
    assert interop.max_rel_logit_diff(every[:, -1], m.logits(seqs)) <= LAYOUT_RTOL
    for p in range(1, m.shape.S):  # causal position p: the AoT on the prefix t_1..t_p
        assert interop.max_rel_logit_diff(every[:, p - 1], _prefix_aot(m, p).logits(seqs[:, :p])) <= LAYOUT_RTOL


@pytest.mark.parametrize("qk", interop.QK_SCHEMES)
def test_layout_of_tstar_matches_its_logits_on_every_sequence(tstar, qk):
    m = tstar.model
    seqs = _all_seqs(m)  # the kept sequences and the ones eps left out
    w = interop.tl_weights(tstar, qk=qk)
    assert w.d_head == 3  # d_h = 2 padded up to d = 3 = rank(W_QK)
    assert interop.max_rel_logit_diff(w.logits(seqs), m.logits(seqs)) <= LAYOUT_RTOL


def test_layout_of_a_rank1_tstar_needs_no_padding_with_svd():
    task = dirichlet_task(4, 2, prior="zipf", seed=1)
    c = construct(task, svd_target(task, 3), d=3, d_h=2, eps=0.05, qk="rank1")
    w = interop.tl_weights(c, qk="svd")
    assert w.d_head == 2 and w.qk_residual <= 1e-14
    seqs = _all_seqs(c.model)
    assert interop.max_rel_logit_diff(w.logits(seqs), c.model.logits(seqs)) <= LAYOUT_RTOL


def test_as_aot_takes_a_model_a_construction_or_a_path(tstar, tmp_path):
    path = tmp_path / "m.npz"
    tstar.save(path)
    for src in (tstar.model, tstar, path, str(path)):
        m = interop.as_aot(src)
        np.testing.assert_array_equal(m.W_QK, tstar.model.W_QK)
    for bad in (None, 3, np.zeros(3)):
        with pytest.raises(ValueError, match="`model_or_npz`"):
            interop.as_aot(bad)
    with pytest.raises(ValueError, match="does not exist"):
        interop.as_aot(tmp_path / "missing.npz")


def test_max_rel_logit_diff_values_and_shapes():
    a = np.array([[1.0, -4.0], [0.0, 2.0]])
    assert interop.max_rel_logit_diff(a, a) == 0.0
    assert interop.max_rel_logit_diff(a + 0.4, a) == pytest.approx(0.1)
    assert interop.max_rel_logit_diff(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    assert interop.max_rel_logit_diff(np.ones((1, 2)), np.zeros((1, 2))) == float("inf")
    with pytest.raises(ValueError, match="`got` and `want`"):
        interop.max_rel_logit_diff(a, a[:1])


def test_seqs_for_check_reads_all_npz_task_and_npy(tstar, tmp_path):
    m = tstar.model
    np.testing.assert_array_equal(interop.seqs_for_check("all", m), _all_seqs(m))
    tstar.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(interop.seqs_for_check(str(tmp_path / "m.npz"), m), tstar.kept_seqs)
    np.savez(tmp_path / "task.npz", prior=np.full(16, 1 / 16), cond=np.full((16, 4), 0.25))  # no seqs: all N^S
    np.testing.assert_array_equal(interop.seqs_for_check(str(tmp_path / "task.npz"), m), _all_seqs(m))
    np.save(tmp_path / "s.npy", np.array([[3, 1]]))
    assert interop.seqs_for_check(str(tmp_path / "s.npy"), m).tolist() == [[3, 1]]
    np.save(tmp_path / "bad.npy", np.array([[4, 1]]))
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    for spec, msg in ((tmp_path / "bad.npy", "another task or vocabulary"), (tmp_path / "other.npz", "no `seqs`"),
                      (tmp_path / "nope.npz", "does not exist")):
        with pytest.raises(ValueError, match=msg):
            interop.seqs_for_check(str(spec), m)
    big = _random_aot(0, N=5, S=9, d=2, H=1, d_h=1, qk_rank="full")  # 5^9 > 10^6
    with pytest.raises(ValueError, match="would enumerate"):
        interop.seqs_for_check("all", big)


@pytest.fixture
def no_extra(monkeypatch):
    """The extra made absent whether or not it is installed: ``import torch`` raises ImportError."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "transformer_lens", None)


@pytest.mark.parametrize("kind", interop.KINDS)
def test_require_names_the_extra_when_it_is_absent(no_extra, kind):
    with pytest.raises(ImportError, match=r"pip install 'aotmem\[interop\]'"):
        interop.require(kind)
    with pytest.raises(ImportError, match=r"aotmem\[interop\]"):
        (interop.to_transformer_lens if kind == "transformer-lens" else interop.to_torch)(
            _random_aot(0, 3, 2, 2, 1, 1, "full"))
    with pytest.raises(ValueError, match="`kind`"):
        interop.require("jax")


def test_module_docstring_examples_run():
    res = doctest.testmod(interop, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 8 and res.failed == 0


# --- with the extra: torch and TransformerLens ---------------------------------------------------


def _tl_all_positions(torch, model, seqs):
    with torch.no_grad():
        return model(torch.as_tensor(seqs, dtype=torch.long)).numpy()


@given(aots(), st.sampled_from(interop.QK_SCHEMES))
def test_transformer_lens_logits_equal_the_aot(tl, m, qk):
    torch = tl[0]
    model = interop.to_transformer_lens(m, qk=qk)
    seqs = _all_seqs(m)[:64]
    assert interop.check_export(m, model, seqs) <= interop.CHECK_RTOL
    every = _tl_all_positions(torch, model, seqs)  # other positions: the NumPy layout's, i.e. the prefix AoTs
    ref = interop.tl_weights(m, qk=qk).logits(seqs, all_positions=True)
    for p in range(m.shape.S):
        assert interop.max_rel_logit_diff(every[:, p], ref[:, p]) <= interop.CHECK_RTOL


@given(aots())
def test_torch_module_logits_equal_the_aot(torch, m):
    mod = interop.to_torch(m)
    seqs = _all_seqs(m)[:64]
    assert interop.check_export(m, mod, seqs) <= interop.CHECK_RTOL
    with torch.no_grad():
        every = mod(torch.as_tensor(seqs), all_positions=True).numpy()
    for p in range(1, m.shape.S):
        assert interop.max_rel_logit_diff(every[:, p - 1], _prefix_aot(m, p).logits(seqs[:, :p])) <= interop.CHECK_RTOL


def test_transformer_lens_model_is_one_attention_only_float64_layer(tl, tstar):
    torch = tl[0]
    model = interop.to_transformer_lens(tstar)
    c, s = model.cfg, tstar.model.shape
    assert (c.n_layers, c.n_heads, c.d_model, c.d_head, c.n_ctx, c.d_vocab) == (1, s.H, s.d, s.d, s.S, s.N)
    assert c.attn_only and c.normalization_type is None and c.positional_embedding_type == "standard"
    assert model.blocks[0].attn.attn_scale == 1.0 and c.dtype == torch.float64
    for name, p in model.named_parameters():
        assert p.dtype == torch.float64, name
        if ".b_" in name:
            assert not p.any(), name
    W = (model.blocks[0].attn.W_Q @ model.blocks[0].attn.W_K.transpose(1, 2)).detach().numpy()
    np.testing.assert_array_equal(W, tstar.model.W_QK)  # identity factorisation: W_QK itself


@pytest.mark.parametrize("qk", interop.QK_SCHEMES)
def test_tstar_exported_to_transformer_lens_matches_on_every_sequence(tl, tstar, qk):
    seqs = _all_seqs(tstar.model)
    model = interop.to_transformer_lens(tstar, qk=qk)
    assert interop.check_export(tstar, model, seqs) <= interop.CHECK_RTOL
    assert interop.check_export(tstar, model, tstar.kept_seqs) <= interop.CHECK_RTOL


def test_tstar_to_torch_matches_on_every_sequence(torch, tstar):
    assert interop.check_export(tstar, interop.to_torch(tstar), _all_seqs(tstar.model)) <= interop.CHECK_RTOL


def test_an_ill_conditioned_tstar_still_matches(tl):
    """N=10, S=3, d=d_h=8 (bench_construct's T=1000 size), Zipf prior, eps = 0.05: H=85, kappa_1(M_1) ~ 1e7."""
    task = dirichlet_task(10, 3, prior="zipf", seed=0)
    c = construct(task, svd_target(task, 8), d=8, d_h=8, eps=0.05)
    seqs = _all_seqs(c.model)
    for module in (interop.to_transformer_lens(c), interop.to_transformer_lens(c, qk="svd"), interop.to_torch(c)):
        assert interop.check_export(c, module, seqs) <= interop.CHECK_RTOL


@pytest.mark.parametrize("kind", interop.KINDS)
def test_save_and_load_export_give_the_same_logits(tl, tstar, kind, tmp_path):
    module = interop.to_transformer_lens(tstar) if kind == "transformer-lens" else interop.to_torch(tstar)
    interop.save_export(module, tmp_path / "x.pt")
    back = interop.load_export(tmp_path / "x.pt")
    seqs = _all_seqs(tstar.model)
    np.testing.assert_array_equal(interop.exported_logits(back, seqs), interop.exported_logits(module, seqs))


@pytest.mark.filterwarnings("ignore:HookedTransformer is deprecated:DeprecationWarning")  # transformer-lens 3.x
def test_a_saved_transformer_lens_export_reloads_without_aotmem(tl, tstar, tmp_path):
    torch, HookedTransformer, HookedTransformerConfig = tl
    interop.save_export(interop.to_transformer_lens(tstar), tmp_path / "x.pt")
    blob = torch.load(tmp_path / "x.pt", weights_only=True)
    model = HookedTransformer(HookedTransformerConfig(**blob["config"], dtype=torch.float64))
    model.load_state_dict(blob["state_dict"])
    seqs = _all_seqs(tstar.model)
    assert interop.check_export(tstar, model, seqs) <= interop.CHECK_RTOL


def test_exported_logits_and_load_export_reject_bad_input(torch, tstar, tmp_path):
    mod = interop.to_torch(tstar)
    assert interop.exported_logits(mod, np.zeros((0, 2), dtype=int)).shape == (0, 4)
    with pytest.raises(ValueError, match="`module`"):
        interop.exported_logits(torch.nn.Linear(2, 2), np.zeros((1, 2), dtype=int))
    with pytest.raises(ValueError, match="`seqs`"):
        interop.exported_logits(mod, np.zeros((1, 2)))
    torch.save({"x": 1}, tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    for name, msg in (("other.pt", "not written by"), ("junk.pt", "not readable"), ("missing.pt", "does not exist")):
        with pytest.raises(ValueError, match=msg):
            interop.load_export(tmp_path / name)
