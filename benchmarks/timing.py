"""Timing helper shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

import time


def best_of(fn, repeat):
    """``(fastest wall time over `repeat` calls, the last call's value)``."""
    times, val = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        val = fn()
        times.append(time.perf_counter() - t0)
    return min(times), val


def backend_missing(name: str) -> bool:
    """Whether the array backend ``name`` is unavailable here; if so, say why in one line (for ``return 2``)."""
    from aotmem.theory.backend import get_xp

    try:
        get_xp(name)
    except ValueError as exc:  # e.g. no CuPy or no GPU here: one line, no traceback
        print(f"error: {exc}")
        return True
    return False
