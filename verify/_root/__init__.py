"""aotmem: memorization in attention-only Transformers, every quantity computed and every claim checked.

The package has two parts (see ``docs/theory.md`` for the theory itself):

- :mod:`aotmem.theory`: the mathematics, one module per concept (tasks,
  divergences, spectra, low-rank fits, the optimal encoder, bounds, look-up
  tables, the AoT and the construction of ``T*``, capacities);
- :mod:`aotmem.verify`: the claims ledger (``aotmem verify``), its search,
  the command line and the reports.

The names below are the public surface the documentation uses; everything
else is reachable through its module.

>>> import numpy as np, aotmem
>>> task = aotmem.dirichlet_task(3, 2, seed=0)
>>> bool(aotmem.kl(task.prior, task.cond, np.log(task.cond)) < 1e-12)
True
"""

from aotmem.theory.construct import construct, heads_for, svd_target
from aotmem.theory.generators import dirichlet_task, random_task
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.task import Task, load_task, save_task, t_eps
from aotmem.verify.precision import PUBLIC as _PRECISE_DISPATCH, PrecisionUnavailable, precision
from aotmem.verify.registry import Evaluation, evaluate

# The functions with a 50-digit twin (aotmem.theory.precise): the float64 kernels themselves, except inside
# ``with aotmem.precision(dps):``, where they call the twin (a user's claim is re-checked that way).
kl = _PRECISE_DISPATCH["kl"]
kl_rows = _PRECISE_DISPATCH["kl_rows"]
entropy = _PRECISE_DISPATCH["entropy"]
log_softmax = _PRECISE_DISPATCH["log_softmax"]
singular_values = _PRECISE_DISPATCH["singular_values"]
sigma = _PRECISE_DISPATCH["sigma"]
f_ls = _PRECISE_DISPATCH["f_ls"]
f_wls = _PRECISE_DISPATCH["f_wls"]
seed_ls_bound = _PRECISE_DISPATCH["seed_ls_bound"]
seed_wls_bound = _PRECISE_DISPATCH["seed_wls_bound"]
draft_ls_bound = _PRECISE_DISPATCH["draft_ls_bound"]
draft_wls_bound = _PRECISE_DISPATCH["draft_wls_bound"]
draft_min_bound = _PRECISE_DISPATCH["draft_min_bound"]
# No 50-digit twin: under ``aotmem.precision`` these raise PrecisionUnavailable instead of computing in float64.
from aotmem.verify.precision import dispatch as _no_twin  # noqa: E402

t_eps, optimal_encoder, construct, heads_for, svd_target = (
    _no_twin(f) for f in (t_eps, optimal_encoder, construct, heads_for, svd_target))

__version__ = "0.1.0"

__all__ = [
    "Task", "load_task", "save_task", "t_eps", "dirichlet_task", "random_task",
    "kl", "log_softmax", "entropy", "singular_values",
    "f_ls", "f_wls", "optimal_encoder",
    "seed_ls_bound", "seed_wls_bound", "draft_ls_bound", "draft_wls_bound", "draft_min_bound",
    "construct", "heads_for", "svd_target", "evaluate",
    # claims of your own (docs/own-claims.md) and extended precision
    "claim", "check", "assert_holds", "load_claims", "log_range", "int_range", "Evaluation",
    "precision", "PrecisionUnavailable", "kl_rows", "sigma",
]


# Imported on first use (they import Hypothesis and the ledger's search: ~0.1 s that `import aotmem` need not pay).
_LAZY = {name: "aotmem.verify.userclaims"
         for name in ("claim", "check", "assert_holds", "load_claims", "log_range", "int_range")}
_LAZY["strategies"] = None


def __getattr__(name):
    if name in _LAZY:
        import importlib

        if _LAZY[name] is None:
            return importlib.import_module(f"aotmem.{name}")
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'aotmem' has no attribute {name!r}")
