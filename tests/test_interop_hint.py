"""The [interop] install hint: one command that installs torch's CPU build, the same in the CLI, the docs and the API docstring."""

import re
import sys
from pathlib import Path

from aotmem.theory import interop
from aotmem.verify.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_hint_installs_the_cpu_build_first_and_says_how_to_get_cuda():
    cpu, cuda = interop.CPU_TORCH, interop.CUDA_TORCH
    assert cpu == "pip install torch --index-url https://download.pytorch.org/whl/cpu"
    assert re.fullmatch(r"pip install torch --index-url https://download\.pytorch\.org/whl/cu\d+", cuda)
    # torch from the CPU index comes before the extra, so the extra's `torch>=2.6` is already met
    assert interop.EXTRA.index(cpu) < interop.EXTRA.index("pip install 'aotmem[interop]'")
    assert cuda in interop.EXTRA and "CUDA build, on purpose" in interop.EXTRA


def test_cli_message_is_the_one_docs_interop_shows(tstar, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "transformer_lens", None)
    tstar.save(tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), "--to", "transformer-lens", "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(interop.EXTRA)
    page = (ROOT / "docs" / "interop.md").read_text()
    shown = [line.strip() for line in page.splitlines() if line.strip().startswith("aotmem: error: export to")]
    assert shown == [err], "docs/interop.md must show the CLI's message verbatim"
    assert f"```sh\n{interop.CPU_TORCH} && pip install 'aotmem[interop]'\n```" in page
    assert interop.CUDA_TORCH in page


def test_api_docstring_gives_the_same_commands():
    doc = " ".join(interop.__doc__.split())
    assert f"{interop.CPU_TORCH} && pip install 'aotmem[interop]'" in doc
    assert " ".join(interop.CUDA_TORCH.split()) in doc.replace("``", "")
