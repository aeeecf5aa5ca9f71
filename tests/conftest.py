"""Hypothesis profiles: ``ci`` (default; derandomized, modest counts), ``thorough``, ``debug``.

Select with ``HYPOTHESIS_PROFILE=thorough pytest``.
"""

import os

# Small matrices dominate this suite; on a loaded 2-core machine OpenBLAS's
# thread pool makes them ~100x slower. Must be set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import HealthCheck, Verbosity, settings

settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("debug", max_examples=10, deadline=None, verbosity=Verbosity.verbose, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
