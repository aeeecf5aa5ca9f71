"""`aotmem task`: random (the look-up default entropy), from-text, from-counts, example-text; strict JSON."""

import json
import math

import numpy as np
import pytest

from aotmem.theory.divergence import entropy
from aotmem.theory.task import load_task
from aotmem.verify.cli import main


def strict_loads(text):
    """``json.loads`` that refuses ``Infinity``/``NaN`` (what strict parsers do)."""
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


TEXT = "the cat sat on the mat. the dog sat on the log. " * 20


@pytest.fixture
def textfile(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT)
    return path


def test_lookup_has_a_stated_default_entropy(tmp_path, capsys):
    out = tmp_path / "l.npz"
    assert main(["task", "random", "--kind", "lookup", "--N", "5", "--S", "1", "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert "default: 0.5 log N" in line
    h = entropy(load_task(out).cond)
    np.testing.assert_allclose(h, 0.5 * math.log(5), rtol=1e-9)


def test_lookup_default_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["task", "random", "--help"])
    assert "default: 0.5 log N" in " ".join(capsys.readouterr().out.split())


def test_from_text_char_level_prints_policies_and_assumptions(textfile, tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert main(["task", "from-text", str(textfile), "--S", "2", "--alphabet", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "N=6 S=2" in text and "<other>" in text
    assert "Assumption 1 (one-hot rows): fails; Assumption 2 (full support): fails" in text
    assert "zero counts" in text
    task = load_task(out)
    assert task.N == 6 and task.symbols[-1] == "<other>" and len(task.contexts) == task.T


def test_from_text_keep_all_with_smoothing_is_full_support(textfile, tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert main(["task", "from-text", str(textfile), "--S", "1", "--symbols", "aeiou", "--smoothing", "0.5",
                 "--keep", "all", "--json", "--out", str(out)]) == 0
    res = strict_loads(capsys.readouterr().out)
    assert res["N"] == 6 and res["T"] == 6 and res["assumption2_full_support"] is True
    assert res["symbols"] == ["a", "e", "i", "o", "u", "<other>"]
    assert res["seen"] + res["unseen"] == 6
    task = load_task(out)
    assert np.allclose(task.cond.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_from_text_word_level(textfile, tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert main(["task", "from-text", str(textfile), "--S", "1", "--level", "word", "--out", str(out)]) == 0
    assert "words of t.txt" in capsys.readouterr().out
    assert "sat" in load_task(out).symbols.tolist()


def test_from_counts_csv(tmp_path, capsys):
    csv = tmp_path / "c.csv"
    csv.write_text("context,x,y,z\nab,3,1,0\ncd,0,0,0\nef,1,1,1\n")
    out = tmp_path / "c.npz"
    assert main(["task", "from-counts", str(csv), "--keep", "all", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 unseen" in text and "Assumption 2 (full support): fails" in text
    task = load_task(out)
    assert task.contexts.tolist() == ["ab", "cd", "ef"] and task.prior.tolist() == [4 / 7, 0.0, 3 / 7]


@pytest.mark.parametrize("argv, message", [
    (["task", "from-text", "MISSING", "--S", "1"], "does not exist"),
    (["task", "from-text", "TEXT", "--S", "0"], "`S` must be >= 1"),
    (["task", "from-text", "TEXT", "--S", "1", "--smoothing", "-1"], "`smoothing`"),
    (["task", "from-text", "BINARY", "--S", "1"], "not valid utf-8"),
    (["task", "from-counts", "TEXT", "--keep", "all"], "must end in .npy, .npz or .csv"),
    (["task", "from-text", "TEXT", "--S", "1", "--alphabet", "2", "--symbols", "ab"], "not allowed with"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, textfile, argv, message):
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00abc")
    subst = {"MISSING": str(tmp_path / "none.txt"), "TEXT": str(textfile), "BINARY": str(binary)}
    argv = [subst.get(a, a) for a in argv] + ["--out", str(tmp_path / "o.npz")]
    try:
        rc = main(argv)
    except SystemExit as exc:  # a usage error, from argparse
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("aotmem: error: ") and message in err


def test_example_text_writes_python_docs(tmp_path, capsys):
    out = tmp_path / "corpus.txt"
    assert main(["task", "example-text", "--out", str(out)]) == 0
    assert "pydoc topics of Python" in capsys.readouterr().out
    assert len(out.read_text()) > 100_000


def test_random_json_is_strict(tmp_path, capsys):
    assert main(["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--json",
                 "--out", str(tmp_path / "r.npz")]) == 0
    res = strict_loads(capsys.readouterr().out)
    assert res["N"] == 3 and res["assumption2_full_support"] is True
