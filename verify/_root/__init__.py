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

from aotmem.theory.bounds import draft_ls_bound, draft_min_bound, draft_wls_bound, seed_ls_bound, seed_wls_bound
from aotmem.theory.construct import construct, heads_for, svd_target
from aotmem.theory.divergence import entropy, kl, log_softmax
from aotmem.theory.generators import dirichlet_task, random_task
from aotmem.theory.lowrank import f_ls, f_wls
from aotmem.theory.optimal import optimal_encoder
from aotmem.theory.spectra import singular_values
from aotmem.theory.task import Task, load_task, save_task, t_eps
from aotmem.verify.registry import evaluate

__version__ = "0.1.0"

__all__ = [
    "Task", "load_task", "save_task", "t_eps", "dirichlet_task", "random_task",
    "kl", "log_softmax", "entropy", "singular_values",
    "f_ls", "f_wls", "optimal_encoder",
    "seed_ls_bound", "seed_wls_bound", "draft_ls_bound", "draft_wls_bound", "draft_min_bound",
    "construct", "heads_for", "svd_target", "evaluate",
]
