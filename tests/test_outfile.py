"""verify.outfile: the file named is the file written; a directory or a missing folder is refused."""

import pytest

from aotmem.verify.cli.outfile import out_dir, out_path


def test_suffix_added_once_and_the_path_returned(tmp_path):
    assert out_path(tmp_path / "a") == tmp_path / "a.npz"
    assert out_path(tmp_path / "a.npz") == tmp_path / "a.npz"
    assert out_path(tmp_path / "a.pt", suffix=None) == tmp_path / "a.pt"


def test_directories_and_missing_folders_are_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        out_path(tmp_path / "d")
    with pytest.raises(ValueError, match="does not exist"):
        out_path(tmp_path / "nope" / "a.npz", "--save")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        out_dir(tmp_path / "f")
    assert out_dir(tmp_path / "new" / "sub").is_dir()
