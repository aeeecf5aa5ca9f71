"""Hypothesis profiles: ``ci`` (default; derandomized, modest counts), ``thorough``, ``debug``; and the
fixtures ``torch`` and ``tl`` of the optional extra ``[interop]`` (a skip where it is absent), and ``tstar``,
a small ``T*`` the interop and export tests share.

Select a profile with ``HYPOTHESIS_PROFILE=thorough pytest``.
"""

import os

# Small matrices dominate this suite; on a loaded 2-core machine OpenBLAS's
# thread pool makes them ~100x slower. Must be set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest
from hypothesis import HealthCheck, Verbosity, settings

from aotmem.theory import interop  # imports neither torch nor transformer-lens: the fixtures below do
from aotmem.theory.construct import construct, svd_target
from aotmem.theory.generators import dirichlet_task

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


def _need(kind: str):
    """The extra's modules, or a skip (a failure under AOTMEM_INTEROP_REQUIRED=1, as benchmarks/interop_check.sh sets)."""
    try:
        return interop.require(kind)
    except ImportError as exc:
        if os.environ.get("AOTMEM_INTEROP_REQUIRED") == "1":
            pytest.fail(f"AOTMEM_INTEROP_REQUIRED=1 but {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def torch():
    """torch (the optional extra [interop]), or a skip."""
    return _need("torch")


@pytest.fixture(scope="module")
def tl(torch):
    """transformer-lens (the optional extra [interop]), or a skip."""
    return _need("transformer-lens")


@pytest.fixture(scope="module")
def tstar():
    """``T*`` for ``eps = 0.05`` on a Zipf-prior Dirichlet task (N=4, S=2, T=16): two sequences left out, d_h < d."""
    task = dirichlet_task(4, 2, prior="zipf", seed=0)
    c = construct(task, svd_target(task, 3), d=3, d_h=2, eps=0.05)
    assert c.report.T_eps < c.report.T and c.report.max_rel_logit_error < 1e-10
    return c
