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
    "construct": "aotmem.theory.construct", "heads_for": "aotmem.theory.construct",
    "svd_target": "aotmem.theory.construct",
    "dirichlet_task": "aotmem.theory.generators", "random_task": "aotmem.theory.generators",
    "optimal_encoder": "aotmem.theory.optimal",
    "Task": "aotmem.theory.task", "load_task": "aotmem.theory.task", "save_task": "aotmem.theory.task",
    "t_eps": "aotmem.theory.task",
    "evaluate": "aotmem.verify.ledger.registry", "Evaluation": "aotmem.verify.ledger.registry",
    "precision": "aotmem.verify.ledger.precision", "PrecisionUnavailable": "aotmem.verify.ledger.precision",
}
# The functions that take ``dps=``: their float64 selves, except inside ``with aotmem.precision(dps):``, where
# they are called with ``dps=`` (the same kernel at dps digits; a user's claim is re-checked that way).
_PRECISE = ("kl", "kl_rows", "entropy", "log_softmax", "singular_values", "sigma", "f_ls", "f_wls",
            "seed_ls_bound", "seed_wls_bound", "draft_ls_bound", "draft_wls_bound", "draft_min_bound")
# No ``dps=``: under ``aotmem.precision`` these raise PrecisionUnavailable instead of computing in float64.
_NO_TWIN = ("t_eps", "optimal_encoder", "construct", "heads_for", "svd_target")


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


# Claims of your own (they import Hypothesis and the ledger's search: ~0.1 s that `import aotmem` need not pay).
_LAZY.update({name: "aotmem.verify.ledger.userclaims"
              for name in ("claim", "check", "assert_holds", "load_claims", "log_range", "int_range")})
_LAZY["strategies"] = None


def __getattr__(name):
    import importlib

    if name in _PRECISE:
        value = importlib.import_module("aotmem.verify.ledger.precision").PUBLIC[name]
    elif name in _LAZY:
        if _LAZY[name] is None:
            return importlib.import_module(f"aotmem.{name}")
        value = getattr(importlib.import_module(_LAZY[name]), name)
        if name in _NO_TWIN:
            value = importlib.import_module("aotmem.verify.ledger.precision").dispatch(value, exact=False)
    else:
        raise AttributeError(f"module 'aotmem' has no attribute {name!r}")
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_PRECISE))
