"""verify.progress: tqdm on a terminal, nothing at all otherwise."""

from aotmem.verify import progress


def test_silent_off_a_terminal(capsys):
    assert not progress.enabled()
    assert progress.bar(range(3), desc="x") == range(3)
    with progress.stage("x"):
        pass
    assert capsys.readouterr().err == ""


def test_a_bar_and_a_stage_on_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "enabled", lambda: True)
    from tqdm import tqdm

    b = progress.bar([1, 2], desc="d", unit="d")
    assert isinstance(b, tqdm) and list(b) == [1, 2]
    with progress.stage("solve", interval=0.01):
        sum(range(1000))
