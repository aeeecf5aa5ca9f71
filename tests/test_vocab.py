"""theory.vocab: the vocabulary round trip, encoding as the task did, windows per piece, bits by hand."""

import math

import numpy as np
import pytest

from aotmem.theory.ngram import OTHER, text_task
from aotmem.theory.vocab import (bits, encode, heldout_bits, heldout_counts, load_vocabulary, score, show_symbol,
                                 vocabulary_of, windows)


def _vocab(text="abracadabra", **kw):
    res = text_task(text, 1, **{"alphabet": 2, "smoothing": 1.0, **kw})
    return vocabulary_of(res, "test")


def test_vocabulary_round_trips_through_a_task_file(tmp_path):
    res = text_task(["ab\x00c\nab", "cab"], 1, smoothing=0.5)
    v = vocabulary_of(res, "two pieces")
    from aotmem.theory.task import save_task

    save_task(res.task, tmp_path / "t.npz", **v.arrays(with_task=False))
    w = load_vocabulary(tmp_path / "t.npz")
    assert w.symbols == v.symbols and "\\x00" in w.symbols and "\n" in w.symbols
    assert w.summary() == v.summary()
    np.testing.assert_array_equal(w.cond, res.task.cond)
    assert w.unigram.sum() == res.counts.sum() == (7 - 1) + (3 - 1)  # one context per position after the first


def test_encode_uses_other_and_refuses_an_unknown_symbol_without_it():
    v = _vocab()
    assert v.symbols == ("a", "b", OTHER)
    assert encode(["abz"], v)[0].tolist() == [0, 1, 2]
    closed = vocabulary_of(text_task("abab", 1), "")
    with pytest.raises(ValueError, match="'z'.*no <other>"):
        encode(["abz"], closed)


def test_windows_never_span_two_pieces():
    ctx, nxt = windows([np.array([0, 1, 2]), np.array([3]), np.array([4, 5])], 1)
    assert ctx.ravel().tolist() == [0, 1, 4] and nxt.tolist() == [1, 2, 5]


def test_bits_is_minus_log2_softmax():
    z = np.array([[0.0, math.log(3.0)], [1e300, 0.0]])
    np.testing.assert_allclose(bits(z, np.array([1, 0])), [-math.log2(0.75), 0.0], atol=1e-15)


def test_score_baselines_by_hand():
    v = _vocab()
    r = score(None, v, ["abc"])  # contexts a, b; c is <other>
    q_uni = (v.unigram + 1.0) / (v.unigram.sum() + 3.0)
    want_uni = -(math.log2(q_uni[1]) + math.log2(q_uni[2])) / 2
    want_ng = -(math.log2(v.cond[0, 1]) + math.log2(v.cond[1, 2])) / 2
    assert r["baselines"]["uniform"] == math.log2(3) and r["perplexity_baselines"]["uniform"] == 3.0
    assert r["baselines"]["unigram"] == pytest.approx(want_uni, rel=1e-14)
    assert r["baselines"]["ngram"] == pytest.approx(want_ng, rel=1e-14)
    assert r["unseen_contexts"] == 0 and r["predicted"] == 2 and r["tokens"] == 3


def test_an_unsmoothed_zero_is_inf_bits_and_counted():
    v = vocabulary_of(text_task("abab", 1), "")
    r = score(None, v, ["aa"])
    assert math.isinf(r["baselines"]["ngram"]) and r["zero_probability"]["ngram"] == 1


def test_heldout_counts_and_bits():
    v = _vocab()
    h = heldout_counts(["abab"], v)
    assert h["counts"].sum() + h["outside"] == 3 and h["tokens"] == 4
    F = np.zeros((v.seqs.shape[0], 3))
    assert heldout_bits(F, h["counts"], h["outside"]) == pytest.approx(math.log2(3), rel=1e-15)


def test_show_symbol_is_the_same_at_every_level():
    assert show_symbol("\n") == "\\n" and show_symbol("\\x00") == "\\x00" and show_symbol(" ") == "' '"
