"""`aotmem score`: bits per symbol of a saved model on held-out text, checked against an independent forward pass.

The texts are two Python standard-library sources, never used anywhere else
in the tests: ``argparse.py`` (training) and ``textwrap.py`` (held out).
"""

import argparse as _argparse
import io
import json
import math
import textwrap as _textwrap
from pathlib import Path

import numpy as np
import pytest

from aotmem.verify.cli import main

TRAIN = Path(_argparse.__file__).read_text(encoding="utf-8")
HELD = Path(_textwrap.__file__).read_text(encoding="utf-8")
# A relative tolerance on a mean of ~20,000 float64 log-probabilities computed in two different orders: each
# term is good to ~1e-15 relative, so 1e-6 (the issue's) is very loose and cannot fail by rounding.
RTOL = 1e-6


def cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """train text -> task (char, --alphabet 30, S=2, add-0.5) -> construct --save -> model.npz (with vocabulary)."""
    tmp = tmp_path_factory.mktemp("score")
    (tmp / "train.txt").write_text(TRAIN, encoding="utf-8")
    (tmp / "held.txt").write_text(HELD, encoding="utf-8")
    assert main(["task", "from-text", str(tmp / "train.txt"), "--S", "2", "--alphabet", "30", "--smoothing", "0.5",
                 "--out", str(tmp / "train.npz")]) == 0
    assert main(["construct", "--task", str(tmp / "train.npz"), "--d", "6", "--dh", "6", "--eps", "0.1",
                 "--target", "svd", "--save", str(tmp / "model"), "--json"]) == 0
    return tmp


def independent_bits(model_path: Path, text: str) -> tuple[float, int]:
    """Bits per symbol of the saved weights on ``text``: tokenised by hand, forward pass head by head in NumPy.

    Written apart from aotmem: the symbols are read from the file's JSON, each head's attention is a plain
    loop, the output is W_U (x_S + sum_h W_O^h W_V^h A^h), the log-softmax by log-sum-exp.
    """
    z = np.load(model_path)
    symbols = json.loads(str(z["vocab_json"]))["symbols"]
    index = {s: i for i, s in enumerate(symbols)}
    other = index["<other>"]
    ids = np.array([index.get(c, other) for c in text])
    E, P, QK, WV, WO, WU = (z[k] for k in ("embed", "pos", "W_QK", "W_V", "W_O", "W_U"))
    S = P.shape[0]
    ctx = np.stack([ids[i:len(ids) - S + i] for i in range(S)], axis=1)
    nxt = ids[S:]
    X = E[ctx] + P  # (n, S, d)
    xS = X[:, -1]
    out = xS.copy()
    for h in range(QK.shape[0]):
        sc = np.einsum("nd,de,nse->ns", xS, QK[h], X)
        a = np.exp(sc - sc.max(axis=1, keepdims=True))
        a /= a.sum(axis=1, keepdims=True)
        A = (a[:, :, None] * X).sum(axis=1)
        out += A @ WV[h].T @ WO[h].T
    logits = out @ WU.T
    m = logits.max(axis=1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(nxt)), nxt].mean() / math.log(2)), len(nxt)


def test_score_equals_an_independent_forward_pass_of_the_saved_weights(built, capsys):
    rc, out, _ = cli(capsys, "score", built / "model.npz", built / "held.txt", "--json")
    assert rc == 0
    r = json.loads(out)
    want, n = independent_bits(built / "model.npz", HELD)
    assert r["predicted"] == n and r["tokens"] == len(HELD)
    assert abs(r["bits_per_symbol"] - want) <= RTOL * want
    assert r["baselines"]["uniform"] == math.log2(31)  # 30 symbols + <other>: exactly log2 N
    assert set(r["baselines"]) == {"uniform", "unigram", "ngram"}
    assert r["baselines"]["ngram"] < r["baselines"]["unigram"] < r["baselines"]["uniform"]
    assert r["perplexity"] == pytest.approx(2 ** r["bits_per_symbol"])
    assert r["unseen_contexts"] >= r["unseen_distinct"] >= 0
    # the output follows its JSON Schema (docs/schema/score.schema.json)
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs" / "schema" / "score.schema.json").read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(r))
    assert not errors, [e.message[:200] for e in errors[:5]]


def test_score_ngram_baseline_by_hand(built, capsys):
    """The n-gram baseline is the task's conditional on seen contexts and 1/N on unseen ones, counted by hand."""
    z = np.load(built / "train.npz")
    symbols = json.loads(str(z["vocab_json"]))["symbols"]
    index = {s: i for i, s in enumerate(symbols)}
    ids = [index.get(c, index["<other>"]) for c in HELD]
    rows = {tuple(s): k for k, s in enumerate(z["seqs"].tolist())}
    total, unseen = 0.0, 0
    for i in range(2, len(ids)):
        k = rows.get((ids[i - 2], ids[i - 1]))
        if k is None:
            unseen += 1
            total += math.log2(len(symbols))
        else:
            total -= math.log2(z["cond"][k, ids[i]])
    rc, out, _ = cli(capsys, "score", built / "model.npz", built / "held.txt", "--json")
    r = json.loads(out)
    assert r["unseen_contexts"] == unseen
    assert r["baselines"]["ngram"] == pytest.approx(total / (len(ids) - 2), rel=1e-12)


def test_score_reads_stdin_and_several_files_as_one_corpus(built, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(HELD.encode())))
    rc, out, _ = cli(capsys, "score", built / "model.npz", "-", "--json")
    from_stdin = json.loads(out)
    rc2, out2, _ = cli(capsys, "score", built / "model.npz", built / "held.txt", "--json")
    assert rc == rc2 == 0 and from_stdin["bits_per_symbol"] == json.loads(out2)["bits_per_symbol"]
    half = len(HELD) // 2
    (built / "a.txt").write_text(HELD[:half])
    (built / "b.txt").write_text(HELD[half:])
    rc, out, _ = cli(capsys, "score", built / "model.npz", built / "a.txt", built / "b.txt", "--json")
    two = json.loads(out)
    assert rc == 0 and two["tokens"] == len(HELD) and two["predicted"] == len(HELD) - 4  # no context spans a file


def test_score_text_output_and_the_baselines_of_a_task_file(built, capsys):
    rc, out, _ = cli(capsys, "score", built / "model.npz", built / "held.txt")
    assert rc == 0 and "bits/symbol" in out and "uniform (log2 31)" in out and "model" in out
    rc, out, _ = cli(capsys, "score", built / "train.npz", built / "held.txt", "--json")
    r = json.loads(out)
    assert rc == 0 and "bits_per_symbol" not in r and r["baselines"]["uniform"] == math.log2(31)


def test_score_refuses_in_one_line(built, tmp_path, capsys):
    assert main(["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    rc, _, err = cli(capsys, "score", tmp_path / "r.npz", built / "held.txt")
    assert rc == 2 and "carries no vocabulary" in err and err.count("\n") == 1
    rc, _, err = cli(capsys, "score", built / "model.npz", tmp_path / "missing.txt")
    assert rc == 2 and "does not exist" in err
    # a vocabulary without <other> cannot score a symbol it lacks
    (tmp_path / "ab.txt").write_text("abababba" * 10)
    assert main(["task", "from-text", str(tmp_path / "ab.txt"), "--S", "1", "--out", str(tmp_path / "ab")]) == 0
    (tmp_path / "abc.txt").write_text("abc")
    capsys.readouterr()
    rc, _, err = cli(capsys, "score", tmp_path / "ab.npz", tmp_path / "abc.txt")
    assert rc == 2 and "'c'" in err and "--alphabet" in err and err.count("\n") == 1


def test_the_model_file_carries_its_vocabulary(built):
    z = np.load(built / "model.npz")
    v = json.loads(str(z["vocab_json"]))
    assert v["level"] == "char" and v["S"] == 2 and v["smoothing"] == 0.5 and len(v["symbols"]) == 31
    assert v["symbols"][-1] == "<other>" and "train.txt" in v["source"]
    assert z["vocab_cond"].shape == (v["T"], 31) and json.loads(str(z["model_json"]))["d"] == 6
