"""Issue 18: the rough edges of the text path, one regression test each (numbered as in the issue)."""

import json
import textwrap as _textwrap
import time
from pathlib import Path

import pytest

from aotmem.theory import interop
from aotmem.theory.task import load_task
from aotmem.verify.cli import cmd_construct, cmd_curve, progress
from aotmem.verify.cli import main

TEXT = Path(_textwrap.__file__).read_text(encoding="utf-8")[:6000]


def cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def text(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text(TEXT, encoding="utf-8")
    return p


# 1. the printed file name is the file written; a directory or a missing folder is refused (exit 2) -------------

def test_1_out_without_suffix_prints_the_file_written(text, tmp_path, capsys):
    rc, out, _ = cli(capsys, "task", "from-text", text, "--S", "2", "--alphabet", "4", "--smoothing", "0.5",
                         "--out", tmp_path / "NAME")
    assert rc == 0 and out.startswith(f"wrote {tmp_path / 'NAME.npz'}:")
    printed = out.split(":")[0].removeprefix("wrote ")
    assert Path(printed).is_file() and not (tmp_path / "NAME").exists()
    rc, out, _ = cli(capsys, "construct", "--task", printed, "--d", "2", "--dh", "2", "--eps", "0", "--target", "svd",
                     "--save", tmp_path / "model")
    saved = [ln.split(": ", 1)[1] for ln in out.splitlines() if ln.strip().startswith("saved:")]
    assert rc == 0 and saved == [str(tmp_path / "model.npz")] and Path(saved[0]).is_file()
    rc, out, _ = cli(capsys, "task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--out", tmp_path / "r")
    assert rc == 0 and f"wrote {tmp_path / 'r.npz'}:" in out and (tmp_path / "r.npz").is_file()


@pytest.mark.parametrize("argv", [
    ["task", "from-text", "{text}", "--S", "1", "--out", "{dir}"],
    ["task", "from-text", "{text}", "--S", "1", "--out", "{missing}/x.npz"],
    ["task", "random", "--kind", "dirichlet", "--N", "3", "--S", "1", "--out", "{missing}/x.npz"],
    ["task", "example-text", "--out", "{missing}/x.txt"],
    ["construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2", "--dh", "2", "--eps", "0",
     "--target", "svd", "--save", "{missing}/m.npz"],
    ["construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2", "--dh", "2", "--eps", "0",
     "--target", "svd", "--save", "{dir}"],
    ["export", "{model}", "--to", "transformer-lens", "--out", "{missing}/a.pt"],  # was exit 4 (issue 18, edge 4)
    ["curve", "{task}", "--d", "1", "--starts", "0", "--out", "{text}"],
])
def test_1_4_an_unwritable_output_exits_2_in_one_line_before_any_work(argv, text, tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    assert main(["task", "from-text", str(text), "--S", "2", "--alphabet", "4", "--smoothing", "1",
                 "--out", str(tmp_path / "k.npz")]) == 0
    assert main(["construct", "--task", str(tmp_path / "k.npz"), "--d", "2", "--dh", "2", "--eps", "0", "--target",
                 "svd", "--save", str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    sub = {"text": str(text), "dir": str(tmp_path / "dir"), "missing": str(tmp_path / "missing"),
           "model": str(tmp_path / "m.npz"), "task": str(tmp_path / "k.npz")}
    rc, out, err = cli(capsys, *[a.format(**sub) for a in argv])
    assert rc == 2 and err.startswith("aotmem: error:") and err.count("\n") == 1
    assert ("does not exist" in err or "is a directory" in err or "is a file" in err), err
    assert not (tmp_path / "missing").exists() and not (tmp_path / "dir.npz").exists()


# 2, 3. curve's plot: no empty series, no 1e6 axis without bounds, clipped values said, coinciding lines merged ----

def _capture_plot(monkeypatch):
    seen = {}

    def fake(path, x, series, **kw):
        seen.update(series=series, **kw)
        return kw["caption"]

    monkeypatch.setattr(cmd_curve, "curve_plot", fake)
    return seen


def test_2_curve_plot_without_assumption2_has_no_bounds_no_empty_series_and_no_top_edge(text, tmp_path, monkeypatch):
    assert main(["task", "from-text", str(text), "--S", "2", "--alphabet", "8", "--out", str(tmp_path / "u")]) == 0
    task = load_task(tmp_path / "u.npz")
    assert not task.full_support()
    result = cmd_curve.curve(task, [1, 2], starts=1)
    seen = _capture_plot(monkeypatch)
    caption = cmd_curve.plot_curve(result, tmp_path / "c.png")
    labels = [s.label for s in seen["series"]]
    assert not any(lab.startswith(("f_ls", "f_wls")) for lab in labels)  # no data: not in the legend
    assert all(s.kind != "bound" for s in seen["series"]) and seen["top"] is None
    assert "say nothing" not in seen["title"] and "no bound applies" in seen["title"] and "no bound applies" in caption and "Assumption 2 fails" in caption


def test_3_clipped_values_are_named_and_coinciding_series_merged(tmp_path, monkeypatch, capsys):
    assert main(["task", "random", "--kind", "dirichlet", "--N", "4", "--S", "1", "--out", str(tmp_path / "r")]) == 0
    result = cmd_curve.curve(load_task(tmp_path / "r.npz"), [1, 2, 3], starts=0)
    seen = _capture_plot(monkeypatch)
    caption = cmd_curve.plot_curve(result, tmp_path / "c.png")
    assert "Markers on the bottom edge" in caption and "d = 3" in caption  # ~1e-16 at d = N - 1, said
    labels = [s.label for s in seen["series"]]
    assert len(labels) == len(set(labels))
    s = [cmd_curve.Series("a", [1.0, 2.0]), cmd_curve.Series("b", [1.0, 2.0 * (1 + 1e-9)]),
         cmd_curve.Series("c", [None, None]), cmd_curve.Series("d", [1.0, 3.0])]
    merged = cmd_curve._merge_coinciding(s, 1e-6)
    assert [m.label for m in merged] == ["a = b", "d"]
    monkeypatch.undo()
    rc, out, _ = cli(capsys, "curve", tmp_path / "r.npz", "--d", "1:3", "--starts", "0", "--out", tmp_path / "cv")
    assert rc == 0 and "curve.png: " in out and "bottom edge" in out
    assert "bottom edge" in json.loads((tmp_path / "cv" / "curve.json").read_text())["captions"]["curve.png"]


# 5, 6. progress on a terminal only (tqdm), and `seconds` counts the whole command --------------------------------

def test_5_6_progress_is_silent_off_a_terminal_and_a_tqdm_bar_on_one(monkeypatch, capsys):
    assert progress.bar([1, 2], desc="x") == [1, 2]  # pytest's stderr is not a terminal
    with progress.stage("quiet"):
        pass
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "enabled", lambda: True)
    from tqdm import tqdm
    b = progress.bar([1, 2], desc="d")
    assert isinstance(b, tqdm) and list(b) == [1, 2]
    b.close()


def test_6_seconds_counts_the_target_too(tmp_path, monkeypatch, capsys):
    real = cmd_construct._target

    def slow(*a, **k):
        time.sleep(0.3)
        return real(*a, **k)

    monkeypatch.setattr(cmd_construct, "_target", slow)
    rc, out, _ = cli(capsys, "construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2", "--dh", "2",
                     "--eps", "0", "--target", "svd", "--json")
    r = json.loads(out)
    assert rc == 0 and r["seconds"] >= r["construct_seconds"] + 0.3


# 7. bounds at d >= N - 1 without Assumption 2: closed form, no solver ------------------------------------------

def test_7_bounds_at_d_ge_N_minus_1_without_assumption2_is_closed_form(text, tmp_path, capsys):
    assert main(["task", "from-text", str(text), "--S", "2", "--alphabet", "8", "--out", str(tmp_path / "u")]) == 0
    capsys.readouterr()
    t0 = time.perf_counter()
    rc, out, _ = cli(capsys, "bounds", tmp_path / "u.npz", "--d", "8", "--json")
    assert time.perf_counter() - t0 < 20  # no 75 s search
    r = json.loads(out)
    assert rc == 0 and r["optimal"]["divergence"] == 0.0 and r["optimal"]["attained"] is False
    assert r["optimal"]["reason"] == "closed-form"
    rc, out, _ = cli(capsys, "bounds", tmp_path / "u.npz", "--d", "12")
    assert rc == 0 and "closed form" in out and "d = 12 > N - 1 = 8" in out


# 8. NUL and newline: one label at char and byte level, kept by the task file -----------------------------------

def test_8_nul_and_newline_labels(tmp_path, capsys):
    raw = "ab\x00\nab\x00\nba\n" * 5
    (tmp_path / "n.txt").write_text(raw, encoding="utf-8")
    shown = {}
    for level in ("char", "byte"):
        rc, out, _ = cli(capsys, "task", "from-text", tmp_path / "n.txt", "--S", "1", "--level", level,
                         "--out", tmp_path / level)
        assert rc == 0
        shown[level] = next(ln for ln in out.splitlines() if ln.startswith("symbols")).split(": ", 1)[1]
        syms = load_task(tmp_path / f"{level}.npz").symbols.tolist()
        assert "\\x00" in syms and "" not in syms and "\n" in syms
    assert sorted(shown["char"].split()) == sorted(shown["byte"].split())
    assert "\\n" in shown["char"].split() and "\\x00" in shown["char"].split()


# 9. CLI messages in CLI words ----------------------------------------------------------------------------------

def test_9_messages_name_the_options(text, tmp_path, capsys):
    rc, _, err = cli(capsys, "construct", "--kind", "dirichlet", "--N", "3", "--S", "2", "--d", "2", "--dh", "2",
                     "--eps", "0", "--target", "svd", "--rtol", "1e-300")
    assert rc == 2 and "--allow-inaccurate" in err and "allow_inaccurate=True" not in err and "--rtol" in err
    rc, _, err = cli(capsys, "task", "from-text", text, "--S", "1", "--level", "byte", "--lower", "--out",
                     tmp_path / "b")
    assert rc == 2 and "`--lower`" in err and "--level" in err and "(got bytes)" not in err
    big = tmp_path / "big.txt"
    big.write_text("".join(chr(0x4E00 + i) for i in range(300)) * 2)
    rc, _, err = cli(capsys, "task", "from-text", big, "--S", "2", "--keep", "all", "--out", tmp_path / "g")
    assert rc == 2 and not err.startswith("aotmem: error: `alphabet`") and "--alphabet K" in err
    rc, _, err = cli(capsys, "bounds", text, "--d", "1")
    assert rc == 2 and "allow_pickle" not in err and "not a NumPy file" in err and "task from-text" in err


def test_9_export_check_with_another_vocabulary_says_so(text, tmp_path):
    assert main(["task", "from-text", str(text), "--S", "2", "--alphabet", "4", "--smoothing", "1",
                 "--out", str(tmp_path / "a")]) == 0
    assert main(["task", "from-text", str(text), "--S", "1", "--alphabet", "9", "--out", str(tmp_path / "b")]) == 0
    (tmp_path / "c.txt").write_text("zyxwv" * 50 + "zwyvx" * 50)
    assert main(["task", "from-text", str(tmp_path / "c.txt"), "--S", "2", "--out", str(tmp_path / "c")]) == 0
    assert main(["construct", "--task", str(tmp_path / "a.npz"), "--d", "2", "--dh", "2", "--eps", "0",
                 "--target", "svd", "--save", str(tmp_path / "m.npz")]) == 0
    with pytest.raises(ValueError, match="another task or vocabulary"):
        interop.seqs_for_check(str(tmp_path / "b.npz"), str(tmp_path / "m.npz"))
    with pytest.raises(ValueError, match="another vocabulary than the model"):  # same N = 5, other symbols
        interop.seqs_for_check(str(tmp_path / "c.npz"), str(tmp_path / "m.npz"))


# 10. --alphabet's tie-breaking is documented -------------------------------------------------------------------

def test_10_alphabet_ties_are_documented(capsys):
    with pytest.raises(SystemExit):
        main(["task", "from-text", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "ranked by their label" in out and "deterministic" in out
    rc = main(["task", "from-text", "-", "--S", "1", "--alphabet", "1", "--out", "/nonexistent-dir/x.npz"])
    assert rc == 2
