"""n-gram tasks from text and from counts (theory/ngram.py): counting, smoothing, unseen contexts, labels."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aotmem.theory.ngram import (
    MAX_CELLS,
    OTHER,
    choose_alphabet,
    count_contexts,
    counts_task,
    load_counts,
    python_docs_text,
    text_task,
    tokenize,
)
from aotmem.theory.task import all_sequences, load_task

# Rows and the prior must sum to 1 to rounding: a sum of N <= 8 float64 terms errs by < 1e-15.
SUM_ATOL = 1e-12

texts = st.text(alphabet="abcde ", min_size=4, max_size=60)
smoothings = st.sampled_from([0.0, 0.5, 1.0, 1e-3])


def _brute_counts(text, S, symbols):
    """``{(context labels, next label): n}`` counted by hand, with ``OTHER`` for symbols outside."""
    lab = [c if c in symbols else OTHER for c in text]
    return Counter((tuple(lab[i - S:i]), lab[i]) for i in range(S, len(lab)))


@given(texts, st.integers(1, 3), st.one_of(st.none(), st.integers(1, 4)), smoothings, st.sampled_from(["seen", "all"]))
def test_text_task_rows_prior_counts_and_assumption2(text, S, K, alpha, keep):
    distinct = len(set(text))
    if len(text) <= S or (K is None and distinct < 2) or (K is not None and min(K, distinct) + (K < distinct) < 2):
        with pytest.raises(ValueError):
            text_task(text, S, alphabet=K, smoothing=alpha, keep=keep)
        return
    r = text_task(text, S, alphabet=K, smoothing=alpha, keep=keep)
    t = r.task
    N = t.N
    assert np.allclose(t.cond.sum(axis=1), 1.0, rtol=0, atol=SUM_ATOL)
    assert abs(t.prior.sum() - 1.0) <= SUM_ATOL
    # counts reproduced: every (context, next) pair counted by hand is in the table, and nothing else
    brute = _brute_counts(text, S, set(t.symbols.tolist()) - {OTHER})
    sym = t.symbols.tolist()
    table = Counter()
    for row, seq in zip(r.counts, t.seqs):
        for o, n in enumerate(row):
            if n:
                table[(tuple(sym[i] for i in seq), sym[o])] = n
    assert table == brute
    assert r.counts.sum() == len(text) - S
    n_t = r.counts.sum(axis=1)
    np.testing.assert_allclose(t.prior, n_t / n_t.sum(), rtol=1e-15)
    seen = n_t > 0
    # pi(o|t) (n(t) + N alpha) - alpha = n(t, o) on seen contexts (relative rounding of one division)
    np.testing.assert_allclose(t.cond[seen] * (n_t[seen] + N * alpha)[:, None] - alpha, r.counts[seen],
                               rtol=1e-12, atol=1e-9)
    if keep == "all":
        assert t.T == N**S and np.array_equal(t.seqs, all_sequences(N, S))
        assert np.all(t.prior[~seen] == 0) and np.allclose(t.cond[~seen], 1.0 / N, rtol=0, atol=SUM_ATOL)
        assert r.unseen == int((~seen).sum())
    else:
        assert seen.all() and r.unseen == 0
    if alpha > 0:
        assert t.full_support()  # smoothing gives Assumption 2
    elif (r.counts[seen] == 0).any():
        assert not t.full_support()  # a zero count without smoothing: Assumption 2 fails, and is reported
    assert r.summary()["assumption2_full_support"] == t.full_support()
    assert len(t.contexts) == t.T and t.contexts[0] == "".join(sym[i] for i in t.seqs[0])


@given(st.lists(st.lists(st.integers(0, 5), min_size=3, max_size=3), min_size=1, max_size=9), smoothings,
       st.sampled_from(["seen", "all"]))
def test_counts_task_properties(rows, alpha, keep):
    C = np.array(rows, dtype=float)
    if C.sum() == 0:
        with pytest.raises(ValueError, match="`counts`"):
            counts_task(C, smoothing=alpha, keep=keep)
        return
    r = counts_task(C, smoothing=alpha, keep=keep)
    t = r.task
    seen = C.sum(axis=1) > 0
    assert t.T == (seen.sum() if keep == "seen" else len(C))
    assert np.allclose(t.cond.sum(axis=1), 1.0, rtol=0, atol=SUM_ATOL) and abs(t.prior.sum() - 1) <= SUM_ATOL
    kept = C[seen] if keep == "seen" else C
    np.testing.assert_array_equal(r.counts, kept)
    np.testing.assert_allclose(t.prior, kept.sum(axis=1) / C.sum(), rtol=1e-15)
    assert r.dropped == (int((~seen).sum()) if keep == "seen" else 0)
    assert t.full_support() == (alpha > 0 or bool((kept[kept.sum(axis=1) > 0] > 0).all()))


def test_unseen_rows_without_smoothing_are_uniform_and_break_assumption1():
    r = counts_task(np.array([[2.0, 0.0], [0.0, 0.0]]), keep="all")
    assert r.task.cond.tolist() == [[1.0, 0.0], [0.5, 0.5]] and r.task.prior.tolist() == [1.0, 0.0]
    assert not r.task.is_association()  # the uniform row of the unseen context
    seen_only = counts_task(np.array([[2.0, 0.0], [0.0, 0.0]]), keep="seen")
    assert seen_only.task.is_association() and seen_only.dropped == 1
    assert "1 unseen" in r.policy() and "uniform" in r.policy()


def test_tokenize_levels_and_alphabet_ties():
    assert tokenize("Hi, you!", "word") == ["Hi", ",", "you", "!"]
    assert tokenize("Hé", "byte") == ["H", "\\xc3", "\\xa9"]
    assert tokenize(b"a\n\x00", "byte") == ["a", "\n", "\\x00"]  # newline: the same label as at char level (issue 18)
    assert tokenize("AB", "char", lower=True) == ["a", "b"]
    # ties broken by label: b and c both appear twice
    assert choose_alphabet(list("cbcba"), 1) == ("b", OTHER)
    assert choose_alphabet(list("cbcba"), 5) == ("b", "c", "a")  # all kept: no OTHER


def test_explicit_symbols_and_word_level():
    r = text_task("the cat. the dog.", 1, level="word", symbols=["the", "."])
    assert r.task.symbols.tolist() == ["the", ".", OTHER]
    assert "the <other>" not in r.task.contexts.tolist()  # S = 1: a context is one word
    r2 = text_task("abab", 1, symbols=["a", "b"])
    assert r2.task.symbols.tolist() == ["a", "b"] and r2.task.N == 2  # nothing outside: no OTHER
    with pytest.raises(ValueError, match="`alphabet` and `symbols`"):
        text_task("abab", 1, alphabet=2, symbols=["a"])


@pytest.mark.parametrize("call, name", [
    (lambda: text_task("abc", 1, level="line"), "`level`"),
    (lambda: text_task("abc", 1, keep="some"), "`keep`"),
    (lambda: text_task("abc", 0), "`S`"),
    (lambda: text_task("abc", 1, smoothing=-1), "`smoothing`"),
    (lambda: text_task("abc", 1, smoothing=float("nan")), "`smoothing`"),
    (lambda: text_task("abc", 1, alphabet=0), "`alphabet`"),
    (lambda: text_task("ab", 2), "`text`"),
    (lambda: text_task("aaaa", 1), "`text`"),
    (lambda: counts_task(np.array([[1.0, -1.0]])), "`counts`"),
    (lambda: counts_task(np.array([[1.0, np.nan]])), "`counts`"),
    (lambda: counts_task(np.ones(3)), "`counts`"),
    (lambda: counts_task(np.ones((2, 2)), symbols=["a", "a"]), "`symbols`"),
    (lambda: tokenize(b"ab", "char"), "`text`"),
    (lambda: choose_alphabet(["a", OTHER]), "`tokens`"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_table_larger_than_max_cells_is_refused():
    text = "".join(chr(0x4E00 + i) for i in range(300)) * 2  # 300 symbols: 300^3 > MAX_CELLS with keep=all, S=2
    assert 300**3 > MAX_CELLS
    with pytest.raises(ValueError, match="MAX_CELLS") as err:
        text_task(text, 2, keep="all")
    # issue 18, edge 9: the message does not blame `alphabet` (none was given); it names every remedy
    assert not str(err.value).startswith("`alphabet`") and "--alphabet K" in str(err.value)
    assert "--keep seen" in str(err.value)


def test_load_counts_csv_npz_npy(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("context,x,y\nfoo,3,1\nbar,0,0\n")
    d = load_counts(csv)
    assert d["counts"].tolist() == [[3.0, 1.0], [0.0, 0.0]] and d["symbols"] == ["x", "y"]
    assert d["contexts"] == ["foo", "bar"]
    r = counts_task(d["counts"], symbols=d["symbols"], contexts=d["contexts"], keep="seen")
    assert r.task.contexts.tolist() == ["foo"] and r.task.seqs.tolist() == [[0]]  # seqs fixed before dropping
    np.save(tmp_path / "c.npy", np.array([[1.0, 2.0]]))
    assert load_counts(tmp_path / "c.npy")["counts"].tolist() == [[1.0, 2.0]]
    np.savez(tmp_path / "c.npz", counts=np.eye(2), symbols=np.array(["u", "v"]))
    assert load_counts(tmp_path / "c.npz")["symbols"].tolist() == ["u", "v"]
    bad = tmp_path / "bad.csv"
    bad.write_text("context,x,y\nfoo,3\n")
    with pytest.raises(ValueError, match="line 2"):
        load_counts(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_counts(tmp_path / "none.csv")
    np.savez(tmp_path / "nocounts.npz", x=np.eye(2))
    with pytest.raises(ValueError, match="lacks key 'counts'"):
        load_counts(tmp_path / "nocounts.npz")


def test_labels_survive_the_task_file(tmp_path):
    r = text_task("to be or not to be", 2, alphabet=4, smoothing=0.5, keep="all")
    path = tmp_path / "t.npz"
    r.task.save(path)
    back = load_task(path)
    assert back.symbols.tolist() == r.task.symbols.tolist() and back.contexts.tolist() == r.task.contexts.tolist()
    np.testing.assert_array_equal(back.cond, r.task.cond)


def test_python_docs_text_is_big_deterministic_english():
    a, b = python_docs_text(), python_docs_text()
    assert a == b and len(a) > 100_000
    words = Counter(tokenize(a, "word", lower=True))
    assert {"the", "of", "is"} <= {w for w, _ in words.most_common(20)}  # English, not code


def test_count_contexts_small_example():
    seqs, counts = count_contexts(list("abcab"), 2, ("a", "b", "c"))
    assert seqs.tolist() == [[0, 1], [1, 2], [2, 0]]
    assert counts.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
