"""``aotmem report DIR``: the seed's experiments run, their figures, numbers and summary written, ``--only`` and
``--seed`` (verify/cli/cmd_report.py)."""

import json

import pytest

from aotmem.verify.cli import main
from aotmem.verify.outputs.experiments import EXPERIMENTS, SIZES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    with open(path, "rb") as fh:
        return fh.read(8) == PNG_MAGIC


@pytest.fixture
def micro_assoc(monkeypatch):
    """The command tests below check the command, not the experiment: make it smaller still."""
    monkeypatch.setitem(SIZES["tiny"], "assoc", {"ds": (8,), "ratios": (0.5, 1.0), "trials": 1, "cap_ds": (8,)})


def test_report_command_writes_figures_numbers_and_markdown(tmp_path, capsys, micro_assoc):
    assert main(["report", str(tmp_path), "--size", "tiny", "--only", "assoc"]) == 0
    out = capsys.readouterr().out
    assert "seed.assoc-memory: recall at N/d = 1" in out
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["size"] == "tiny" and set(numbers["experiments"]) == {"assoc"}
    md = (tmp_path / "report.md").read_text()
    assert "![assoc](assoc_recall.png)" in md
    assert f"*{numbers['experiments']['assoc']['caption']}*" in md  # the figure's caption under it
    assert _is_png(tmp_path / "assoc_recall.png")


def test_report_only_keeps_the_other_experiments_of_an_earlier_run(tmp_path, capsys, micro_assoc):
    earlier = {"size": "tiny", "seed": 0, "wall_s": 1.0,
               "experiments": {"encoder": {"figure": str(tmp_path / "optimal_encoder_blocks.png"), "wall_s": 1.0,
                                           "divergence": {"3": {"6": [0.1, 0.0]}}, "ds": [1, 2],
                                           "block_cosines": {}}}}
    (tmp_path / "numbers.json").write_text(json.dumps(earlier))
    assert main(["report", str(tmp_path), "--size", "tiny", "--only", "assoc"]) == 0
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert list(numbers["experiments"]) == ["assoc", "encoder"]
    assert numbers["experiments"]["encoder"] == earlier["experiments"]["encoder"]
    md = (tmp_path / "report.md").read_text()
    assert "## assoc" in md and "## encoder" in md and "--only assoc,encoder" in md
    # another seed: nothing is kept
    assert main(["report", str(tmp_path), "--size", "tiny", "--seed", "1", "--only", "assoc"]) == 0
    assert list(json.loads((tmp_path / "numbers.json").read_text())["experiments"]) == ["assoc"]


def test_report_command_rejects_unknown_experiments(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aotmem: error: `--only`") and all(n in err for n in EXPERIMENTS)



def test_report_rejects_a_negative_seed_and_a_bad_size(tmp_path, capsys):
    assert main(["report", str(tmp_path / "o"), "--seed", "-1", "--size", "tiny"]) == 2
    assert capsys.readouterr().err.startswith("aotmem: error: `--seed` must be >= 0")
    assert not (tmp_path / "o").exists()  # refused before writing anything
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path), "--size", "huge"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_report_of_another_size_replaces_the_earlier_numbers(tmp_path, capsys, micro_assoc):
    (tmp_path / "numbers.json").write_text(json.dumps({"size": "full", "seed": 0, "experiments": {"encoder": {}}}))
    assert main(["report", str(tmp_path), "--size", "tiny", "--only", "assoc"]) == 0
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["size"] == "tiny" and list(numbers["experiments"]) == ["assoc"]
    assert "wrote" in capsys.readouterr().out
