"""`aotmem task from-text HELDOUT --like TRAIN.npz` and `aotmem curve TRAIN.npz --heldout HELDOUT.npz` (issue 18)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.task import load_task
from aotmem.verify.cli import main

SRC = Path(json.__file__).parent  # the json package's sources: a text used nowhere else in the tests
TRAIN = (SRC / "decoder.py").read_text(encoding="utf-8") + (SRC / "encoder.py").read_text(encoding="utf-8")
HELD = (SRC / "scanner.py").read_text(encoding="utf-8")


def cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("heldout")
    (tmp / "train.txt").write_text(TRAIN, encoding="utf-8")
    (tmp / "held.txt").write_text(HELD, encoding="utf-8")
    assert main(["task", "from-text", str(tmp / "train.txt"), "--S", "1", "--lower", "--alphabet", "12",
                 "--smoothing", "0.5", "--out", str(tmp / "train.npz")]) == 0
    assert main(["task", "from-text", str(tmp / "held.txt"), "--like", str(tmp / "train.npz"),
                 "--out", str(tmp / "held.npz")]) == 0
    return tmp


def test_heldout_task_counts_on_the_training_contexts(files):
    train, held = load_task(files / "train.npz"), load_task(files / "held.npz")
    assert np.array_equal(train.seqs, held.seqs) and list(train.symbols) == list(held.symbols)
    z = np.load(files / "held.npz")
    counts, outside = z["heldout_counts"], int(z["heldout_outside"])
    symbols = list(train.symbols)
    ids = [symbols.index(c) if c in symbols else symbols.index("<other>") for c in HELD.lower()]
    assert counts.sum() + outside == len(ids) - 1  # every position after the first is predicted once
    by_hand = np.zeros_like(counts)
    rows = {tuple(s): k for k, s in enumerate(train.seqs.tolist())}
    for a, b in zip(ids, ids[1:]):
        if (a,) in rows:
            by_hand[rows[(a,)], b] += 1
    assert np.array_equal(by_hand, counts)
    np.testing.assert_allclose(held.prior, counts.sum(axis=1) / counts.sum(), rtol=1e-15)


def test_curve_heldout_bits_per_d_in_table_json_and_plot(files, capsys):
    rc, out, _ = cli(capsys, "curve", files / "train.npz", "--d", "1:3", "--starts", "0", "--heldout",
                     files / "held.npz", "--out", files / "cv")
    assert rc == 0 and "held-out bits" in out and "held-out:" in out
    assert (files / "cv" / "heldout.png").is_file() and (files / "cv" / "spectrum.png").is_file()
    r = json.loads((files / "cv" / "curve.json").read_text())
    assert "heldout.png" in r["captions"] and "spectrum.png" in r["captions"]
    b = r["heldout"]["baselines"]
    assert b["uniform"] == math.log2(13)
    # each d's value is the held-out cross-entropy of that d's best fit, recomputed here from its logits
    train = load_task(files / "train.npz")
    z = np.load(files / "held.npz")
    counts, outside = z["heldout_counts"], int(z["heldout_outside"])
    for pt in r["points"]:
        F = optimal_encoder(train.prior, train.cond, pt["d"], starts=0, seed=0).F
        logq = F - np.log(np.exp(F).sum(axis=1, keepdims=True))
        want = (-(counts * logq).sum() / math.log(2) + outside * math.log2(13)) / (counts.sum() + outside)
        assert pt["heldout_bits"] == pytest.approx(want, rel=1e-6)  # the solver's path: 1e-6 (curve chains starts)
        assert pt["heldout_bits"] < b["uniform"]
    sp = r["spectrum"]
    assert len(sp["uniform"]) == 13 and sp["uniform"][0] >= sp["uniform"][-1] and sp["uniform"][-1] < 1e-9


def test_like_refuses_what_the_training_task_fixes_and_a_mismatched_heldout(files, tmp_path, capsys):
    rc, _, err = cli(capsys, "task", "from-text", files / "held.txt", "--like", files / "train.npz", "--S", "2",
                     "--out", tmp_path / "x")
    assert rc == 2 and "drop --S" in err
    assert main(["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    rc, _, err = cli(capsys, "task", "from-text", files / "held.txt", "--like", tmp_path / "r.npz", "--out",
                     tmp_path / "x")
    assert rc == 2 and "carries no vocabulary" in err
    rc, _, err = cli(capsys, "curve", tmp_path / "r.npz", "--d", "1", "--heldout", files / "held.npz")
    assert rc == 2 and "was not made --like this task" in err
    rc, _, err = cli(capsys, "curve", files / "train.npz", "--d", "1", "--heldout", files / "train.npz")
    assert rc == 2 and "--like" in err
