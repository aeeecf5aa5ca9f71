"""Progress of long runs on stderr, with tqdm: silent when stderr is not a terminal (pipes, files, tests).

:func:`bar` wraps an iterable (the ``d`` values of ``curve``); :func:`stage`
shows a spinner-like line with the elapsed time for one long step that has no
count of its own (a solver, a construction), so a run of minutes is never
silent on a terminal. Both write nothing at all when ``stderr`` is not a TTY,
so the output of ``aotmem ... 2> log`` and of the tests is unchanged.
"""

from __future__ import annotations

import contextlib
import sys
import threading

__all__ = ["enabled", "bar", "stage", "solver"]


def enabled() -> bool:
    """Whether progress is shown: ``stderr`` is a terminal."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def bar(iterable, *, desc: str, total: int | None = None, unit: str = "it"):
    """``iterable`` with a tqdm bar on stderr (the plain iterable when not a terminal)."""
    if not enabled():
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)


@contextlib.contextmanager
def stage(desc: str, interval: float = 0.5):
    """A tqdm line ``desc: elapsed`` refreshed every ``interval`` s while the block runs (nothing off a terminal)."""
    if not enabled():
        yield
        return
    from tqdm import tqdm

    done = threading.Event()
    line = tqdm(total=None, desc=desc, bar_format="{desc}: {elapsed}", file=sys.stderr, leave=False)

    def tick():
        while not done.wait(interval):
            line.refresh()

    th = threading.Thread(target=tick, daemon=True)
    th.start()
    try:
        yield
    finally:
        done.set()
        th.join()
        line.close()


@contextlib.contextmanager
def solver(desc: str):
    """Yield a ``progress(start, iteration, objective)`` callback for :func:`~aotmem.theory.optimal.optimal_encoder`
    that shows the solver's iterations on a tqdm line (``None`` when stderr is not a terminal)."""
    if not enabled():
        yield None
        return
    from tqdm import tqdm

    line = tqdm(total=None, desc=desc, unit="it", file=sys.stderr, leave=False, dynamic_ncols=True)

    def update(start, iteration, objective):
        line.set_postfix_str(f"start {start}, iteration {iteration}, objective {objective:.6g}", refresh=False)
        line.update(1)

    try:
        yield update
    finally:
        line.close()
