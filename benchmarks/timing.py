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
