"""``aotmem export MODEL.npz --to transformer-lens|torch --out FILE``: the written file, its ``--check``, and the
one-line refusals (verify/cli/cmd_export.py). Without the optional extra ``[interop]`` only the refusals run; the
rest skips (``AOTMEM_INTEROP_REQUIRED=1`` turns those skips into failures, as in tests/test_interop.py)."""

from __future__ import annotations

import sys

import pytest

from aotmem.theory import interop
from aotmem.verify.cli import build_parser, main


@pytest.fixture
def no_extra(monkeypatch):
    """The extra made absent whether or not it is installed: ``import torch`` raises ImportError."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "transformer_lens", None)


def test_export_parser_defaults_and_choices():
    args = build_parser().parse_args(["export", "m.npz", "--to", "torch", "--out", "x.pt"])
    assert (args.model, args.to, args.out, args.qk, args.check, args.tol) == ("m.npz", "torch", "x.pt", "identity",
                                                                               None, interop.CHECK_RTOL)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "m.npz", "--to", "jax", "--out", "x.pt"])


@pytest.mark.parametrize("kind", interop.KINDS)
def test_export_without_the_extra_is_one_line_and_exit_2(no_extra, kind, tstar, tmp_path, capsys):
    tstar.save(tmp_path / "m.npz")
    out_file = tmp_path / "out.pt"
    rc = main(["export", str(tmp_path / "m.npz"), "--to", kind, "--out", str(out_file), "--check", "all"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and not out_file.exists()
    assert err.count("\n") == 1 and err.startswith("aotmem: error:") and "pip install 'aotmem[interop]'" in err


@pytest.mark.parametrize("kind", interop.KINDS)
def test_cli_export_writes_and_checks(tl, tstar, kind, tmp_path, capsys):
    tstar.save(tmp_path / "m.npz")
    rc = main(["export", str(tmp_path / "m.npz"), "--to", kind, "--out", str(tmp_path / "x.pt"), "--check", "all"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"wrote {tmp_path / 'x.pt'}: {kind}") and lines[1].startswith("check: 16 sequences")
    assert lines[1].endswith(": ok") and float(lines[1].split("difference ")[1].split()[0]) <= interop.CHECK_RTOL
    back = interop.load_export(tmp_path / "x.pt")
    assert interop.check_export(tstar, back, tstar.kept_seqs) <= interop.CHECK_RTOL


@pytest.mark.parametrize("extra, msg", [(["--to", "torch", "--qk", "svd"], "`--qk`"),
                                        (["--to", "torch", "--tol", "-1"], "`--tol`"),
                                        (["--to", "torch", "--check", "nope.npz"], "does not exist")])
def test_cli_export_bad_arguments_exit_2_in_one_line(torch, tstar, tmp_path, capsys, extra, msg, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tstar.save(tmp_path / "m.npz")
    rc = main(["export", "m.npz", "--out", "x.pt", *extra])
    _, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and msg in err and not (tmp_path / "x.pt").exists()
