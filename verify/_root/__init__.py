"""aotmem: memorization in attention-only Transformers, its quantities computed and its claims searched for counterexamples.

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

# The public names, imported on first use (PEP 562): `import aotmem.theory.divergence` (numpy only)
# must not load scipy, sympy, mpmath and Hypothesis through this package's __init__ (issue 21:
# benchmarks/peak_memory.py's baseline, 82 MiB of RSS with eager imports here, ~30 MiB without).
_LAZY = {
    "draft_ls_bound": "aotmem.theory.bounds", "draft_min_bound": "aotmem.theory.bounds",
    "draft_wls_bound": "aotmem.theory.bounds", "seed_ls_bound": "aotmem.theory.bounds",
    "seed_wls_bound": "aotmem.theory.bounds",
    "construct": "aotmem.theory.construct", "heads_for": "aotmem.theory.construct",
    "svd_target": "aotmem.theory.construct",
    "entropy": "aotmem.theory.divergence", "kl": "aotmem.theory.divergence", "log_softmax": "aotmem.theory.divergence",
    "dirichlet_task": "aotmem.theory.generators", "random_task": "aotmem.theory.generators",
    "f_ls": "aotmem.theory.lowrank", "f_wls": "aotmem.theory.lowrank",
    "optimal_encoder": "aotmem.theory.optimal",
    "singular_values": "aotmem.theory.spectra",
    "Task": "aotmem.theory.task", "load_task": "aotmem.theory.task", "save_task": "aotmem.theory.task",
    "t_eps": "aotmem.theory.task",
    "evaluate": "aotmem.verify.registry",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once imported, a plain attribute
        return value
    raise AttributeError(f"module 'aotmem' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "Task", "load_task", "save_task", "t_eps", "dirichlet_task", "random_task",
    "kl", "log_softmax", "entropy", "singular_values",
    "f_ls", "f_wls", "optimal_encoder",
    "seed_ls_bound", "seed_wls_bound", "draft_ls_bound", "draft_wls_bound", "draft_min_bound",
    "construct", "heads_for", "svd_target", "evaluate",
]
