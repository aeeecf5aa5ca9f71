"""Run the ledger's claims in parallel: local processes, or a Dask cluster past one machine.

A claim is the unit of work (:func:`aotmem.verify.ledger.runner.run_key`, passed to :func:`map_claims`):
:func:`aotmem.verify.ledger.runner.run_claim` is
deterministic for a given ``(claim, profile, seed)`` (its seeds derive from
them, not from the process it runs in), so the verdicts do not depend on the
number of workers or on where a claim ran. Results travel as plain dicts.

- ``workers=K``: a :class:`concurrent.futures.ProcessPoolExecutor` of ``K``
  processes (``spawn``: no state inherited from the parent; BLAS limited to
  one thread per process, since the instances are small matrices and ``K``
  processes already use ``K`` cores).
- ``scheduler="tcp://HOST:PORT"`` (or a ``distributed.Client``): the claims are
  submitted to that Dask scheduler. Dask is an optional extra
  (``pip install 'aotmem[dask]'``); this module is its one seam. The workers
  need ``aotmem`` installed (same version).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from .registry import get

__all__ = ["map_claims", "dask_client"]

# Expensive claims first keeps the pool busy to the end (the longest job does not start last).
_COST_ORDER = {"expensive": 0, "medium": 1, "cheap": 2}
_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _ordered(keys: list[str], costs: dict | None = None) -> list[str]:
    cost = lambda k: (costs or {}).get(k) or get(k).cost
    return sorted(keys, key=lambda k: (_COST_ORDER[cost(k)], keys.index(k)))


def dask_client(scheduler):
    """A ``distributed.Client`` for ``scheduler`` (an address, or a client, returned as is)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ValueError("`--scheduler` needs Dask's distributed scheduler: pip install 'aotmem[dask]'") from exc
    if isinstance(scheduler, Client):
        return scheduler
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise ValueError(f"`--scheduler` must be an address like tcp://HOST:PORT (got {scheduler!r})")
    try:
        return Client(scheduler, timeout="10s")
    except OSError as exc:
        raise ValueError(f"`--scheduler` {scheduler}: cannot connect ({exc})") from None


def map_claims(run_key, keys: list[str], profile: str, seed: int, *, workers: int = 1, scheduler=None,
               files: dict | None = None, costs: dict | None = None):
    """Yield ``run_key(key, profile, seed, path)`` (a result dict) for the claims ``keys`` as they finish (any order).

    ``run_key``: a picklable module-level function (:func:`aotmem.verify.ledger.runner.run_key`), passed in
    so that this module does not import the runner (which imports this one: no import cycle).
    ``files``: ``{key: path}`` for users' claims (``--claims-from``), which each worker loads from
    ``path``; ``costs``: ``{key: cost}`` where the key is not registered.
    """
    files = files or {}
    order = _ordered(keys, costs)
    if scheduler is not None:
        from distributed import as_completed

        client = dask_client(scheduler)
        futures = [client.submit(run_key, k, profile, seed, files.get(k), pure=False) for k in order]  # fresh keys per run
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()
            if client is not scheduler:
                client.close()
        return
    saved = {v: os.environ.get(v) for v in _BLAS_VARS}
    os.environ.update({v: "1" for v in _BLAS_VARS})  # inherited by the spawned workers only at their start
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old
    try:
        pending = {pool.submit(run_key, k, profile, seed, files.get(k)) for k in order}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                yield fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
