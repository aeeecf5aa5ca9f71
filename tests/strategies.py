"""Hypothesis strategies of the tests: the public ones of :mod:`aotmem.strategies` (the ledger's), plus plain builders.

The package's own tests draw their tasks from ``aotmem.strategies``, so they draw
what the ledger and a user's ``@given`` tests draw; this module re-exports them
(``from strategies import full_support_tasks`` keeps working) and adds builders
that are not ledger recipes.

>>> from hypothesis import find
>>> task = find(lookup_tasks(max_n=4), lambda t: True)
>>> 3 <= task.N <= 4
True
"""

from __future__ import annotations

import numpy as np

from aotmem.strategies import *  # noqa: F403 (the public strategies, re-exported)
from aotmem.strategies import __all__ as _public
from aotmem.theory.divergence import log_softmax
from aotmem.theory.task import Task

__all__ = list(_public) + ["big_vocab_task"]


# ---- plain builders (not ledger recipes)
def big_vocab_task(N: int, T: int, seed: int = 0, *, rank: int | None = None, noise: float = 1e-3) -> Task:
    """``T`` sequences of length 1 over ``N`` tokens; logits Gaussian, or rank ``rank`` plus ``noise``."""
    rng = np.random.default_rng(seed)
    if rank is None:
        logits = rng.normal(scale=2.0, size=(T, N))
    else:
        logits = rng.normal(size=(T, rank)) @ rng.normal(size=(rank, N)) + noise * rng.normal(size=(T, N))
    cond = np.exp(log_softmax(logits))
    cond /= cond.sum(axis=1, keepdims=True)
    return Task(np.full(T, 1.0 / T), cond, seqs=np.arange(T)[:, None])
