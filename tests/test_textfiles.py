"""verify.textfiles: several files, `-` once, decoding errors in one line."""

import io

import pytest

from aotmem.verify.cli.textfiles import describe, read_texts


def test_files_and_stdin(tmp_path):
    (tmp_path / "a.txt").write_text("héllo")
    stdin = io.TextIOWrapper(io.BytesIO("wörld".encode()))
    assert read_texts([tmp_path / "a.txt", "-"], "char", stdin=stdin) == ["héllo", "wörld"]
    assert read_texts([tmp_path / "a.txt"], "byte") == ["héllo".encode()]
    assert describe(["a.txt", "-"]) == "a.txt + <stdin>"


def test_refusals(tmp_path):
    with pytest.raises(ValueError, match="only once"):
        read_texts(["-", "-"], "char")
    with pytest.raises(ValueError, match="does not exist"):
        read_texts([tmp_path / "x"], "char")
    (tmp_path / "b").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match="not valid utf-8.*--level byte"):
        read_texts([tmp_path / "b"], "char")
