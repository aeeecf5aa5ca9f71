"""The task model: validation, save/load, T_eps."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies import any_tasks, full_support_tasks
from aotmem.theory.task import Task, load_task, t_eps, kept_indices


@pytest.mark.parametrize(
    "prior, cond, seqs, match",
    [
        ([0.5, 0.5], [[0.5, 0.5], [1.2, -0.2]], None, "negative"),
        ([0.5, 0.5], [[0.5, 0.5], [0.5, 0.4]], None, "row 1 must sum to 1"),
        ([0.5, 0.6], [[0.5, 0.5], [0.5, 0.5]], None, "`prior` must sum to 1"),
        ([0.5, 0.5], [[np.nan, 0.5], [0.5, 0.5]], None, "NaN"),
        ([1.0], [[0.5, 0.5], [0.5, 0.5]], None, "shape"),
        ([1 / 3] * 3, [[0.5, 0.5]] * 3, None, "`seqs` is required"),
        ([0.5, 0.5], [[0.5, 0.5]] * 2, [[0], [2]], r"\[0, 1\]"),
        ([0.5, 0.5], [[0.5, 0.5]] * 2, [[0], [0]], "same sequence twice"),
        ([0.5, 0.5], [[0.5, 0.5]] * 2, [[0.5], [1]], "integer"),
    ],
)
def test_task_rejects_bad_input_naming_the_problem(prior, cond, seqs, match):
    with pytest.raises(ValueError, match=match):
        Task(np.array(prior), np.array(cond), None if seqs is None else np.array(seqs))


@given(any_tasks())
def test_save_load_roundtrip(tmp_path_factory, task):
    path = tmp_path_factory.mktemp("t") / "task.npz"
    task.save(path)
    back = load_task(path)
    assert np.array_equal(back.prior, task.prior)
    assert np.array_equal(back.cond, task.cond)
    assert np.array_equal(back.seqs, task.seqs)


def test_load_rejects_missing_key(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, prior=np.ones(2) / 2)
    with pytest.raises(ValueError, match="lacks key"):
        load_task(path)


@given(full_support_tasks(), st.floats(0.0, 0.99))
def test_t_eps_is_the_smallest_set_with_mass_at_least_one_minus_eps(task, eps):
    n = t_eps(task.prior, eps)
    idx = kept_indices(task.prior, eps)
    assert idx.size == n
    tail = np.sort(task.prior)[::-1][n:].sum()
    assert tail <= eps
    if n > 0:  # one fewer would leave more than eps out
        tail_one_less = np.sort(task.prior)[::-1][n - 1:].sum()
        assert tail_one_less > eps


def test_symbols_and_contexts_are_optional_labels_kept_by_the_file(tmp_path):
    task = Task(np.full(2, 0.5), np.full((2, 3), 1 / 3), np.array([[0], [2]]),
                symbols=["a", "b", "<other>"], contexts=["a", "<other>"])
    path = tmp_path / "t.npz"
    task.save(path)
    with np.load(path) as data:
        assert {"prior", "cond", "seqs", "symbols", "contexts"} == set(data.files)
    back = load_task(path)
    assert back.symbols.tolist() == ["a", "b", "<other>"] and back.contexts.tolist() == ["a", "<other>"]


def test_old_task_files_without_labels_still_load(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, prior=np.full(4, 0.25), cond=np.full((4, 2), 0.5))  # the format before labels existed
    task = load_task(path)
    assert task.symbols is None and task.contexts is None and task.S == 2
    task.save(tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz") as data:
        assert set(data.files) == {"prior", "cond", "seqs"}  # no empty label keys written


@pytest.mark.parametrize("kw, match", [
    (dict(symbols=["a"]), "`symbols` must have shape"),
    (dict(symbols=["a", "a"]), "`symbols` must not name two entries alike"),
    (dict(symbols=[1, 2]), "`symbols` must hold strings"),
    (dict(symbols="ab"), "`symbols` must be a sequence"),
    (dict(contexts=["x"]), "`contexts` must have shape"),
])
def test_bad_labels_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        Task(np.full(2, 0.5), np.full((2, 2), 0.5), np.array([[0], [1]]), **kw)


def test_pickled_label_in_a_file_is_an_input_error(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, prior=np.full(2, 0.5), cond=np.full((2, 2), 0.5), seqs=np.array([[0], [1]]),
             symbols=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match="key `symbols` is not a readable array"):
        load_task(path)


def test_t_eps_keeps_at_least_one_sequence_when_the_total_rounds_below_one():
    """Was T_eps = 0 (and construct's '`T_eps` must be >= 1') for six priors of 1/6 at eps = 1 - 1e-16: their
    sum rounds to 1 - 1.1e-16 <= eps, though 1 - eps > 0 needs one sequence. Found by tests/test_fuzz_api.py."""
    p = np.full(6, 1 / 6)
    assert p.sum() < 1.0  # the rounding this is about
    assert t_eps(p, 1 - 1e-16) == 1 and kept_indices(p, 1 - 1e-16).tolist() == [0]
    assert t_eps(p, 0.5) == 3 and t_eps(p, 0.0) == 6
