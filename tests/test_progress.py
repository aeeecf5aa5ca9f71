"""verify.progress: tqdm on a terminal, nothing at all otherwise."""

from aotmem.verify.cli import progress


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


def test_the_solver_line_counts_the_optimal_encoders_iterations(monkeypatch):
    import numpy as np

    from aotmem.theory.generators import dirichlet_task
    from aotmem.theory.optimal import optimal_encoder

    monkeypatch.setattr(progress, "enabled", lambda: True)
    task = dirichlet_task(5, 2, seed=0)
    calls = []
    with progress.solver("opt") as cb:
        r = optimal_encoder(task.prior, task.cond, 2, starts=1, progress=lambda *a: (calls.append(a), cb(*a)))
    assert calls and all(isinstance(c[1], int) and np.isfinite(c[2]) for c in calls)
    assert {c[0] for c in calls} <= {"f_ls", "f_wls", "random-0"} and r.converged
