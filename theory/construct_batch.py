"""Many small ``T*`` constructions of one shape at once (``paper.theorem1``, ``seed.theorem-aot``; issue 20).

:func:`theory.construct.construct` costs about a millisecond of Python per tiny task (T <= 64), almost
all of it per-call overhead: the primed draw, the features ``M``, the factorisation of the kept system,
the forward pass and the report. Instances that share a shape (``N``, ``S``, the sequences, the kept set,
``d``, ``d_h``, the head plan, ``qk``, the design and the draw's seed) share all of that but the target:
the model ``construct`` builds is, in exact arithmetic, the linear map of the kept target logits

    F_T = G^T F_1,   G = (D M_1)^+ (D M)   (T_eps x T),

with ``D`` the row equilibration and ``^+`` the minimum-norm solve that ``construct`` uses (skip connection
solved for, the paper variant's usual case), whatever the target. :func:`construct_batch` draws, builds
``M`` and factors ``D M_1`` once per shape (one SVD), then computes every instance's logits, divergences and
``paper.theorem1``'s right-hand side in a few batched array operations.

Guarantees kept from ``construct``: the kept system's conditioning is checked (a shape whose ``D M_1`` has
``kappa_2 > SINGULAR_COND`` is refused for every instance with :class:`SingularSystem`); each instance's
logits on the kept sequences must meet ``rtol`` (relative, plus ``ROUNDING_FACTOR`` times the float64
rounding scale of the product), and an instance that misses, or whose shape the batch does not cover (a
fixed skip connection, more heads than the paper's count, a target rank the shape's plan cannot carry), is
built by ``construct`` itself, with its draws ladder and typed refusals. What the batch does not give is
the AoT's weights: call ``construct`` for an instance whose model you want to keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aot import AoTShape
from .backend import to_numpy
from .construct import (
    DEFAULT_EMBEDDING,
    ROUNDING_FACTOR,
    RTOL,
    SINGULAR_COND,
    TARGET_RANK_RTOL,
    ConstructionError,
    SingularSystem,
    construct,
    draw_primed,
    head_features,
    keep_sequences,
    plan_heads,
)
from .divergence import kl_rows
from .task import Task

__all__ = ["SmallConstruction", "construct_batch"]

_U = float(np.finfo(np.float64).eps) / 2


@dataclass(frozen=True)
class SmallConstruction:
    """One instance of :func:`construct_batch`: the fields of ``ConstructionReport`` the claims judge."""

    T_eps: int
    H: int
    H_paper: int
    C: float  # sqrt(1 + ||M_1^+ M_2||_2^2), M_1^+ unscaled (as theory.construct.theorem1_rhs)
    norm_WE: float  # ||W_c E^T||_2
    kl_target: float
    kl_model: float
    rhs: float  # kl_target + C eps ||W_c E^T||_2
    rhs_factor2: float
    max_rel_logit_error: float
    batched: bool  # False: built by construct (fallback)


def _from_report(rep) -> SmallConstruction:
    return SmallConstruction(rep.T_eps, rep.H, rep.H_paper, rep.C, rep.norm_WE, rep.kl_target, rep.kl_model,
                             rep.rhs, rep.rhs_factor2, rep.max_rel_logit_error, False)


def _shared(task: Task, kept, r: int, d: int, d_h: int, qk: str, embedding: str, seed):
    """``(plan, G, C)`` of one shape, or ``None`` when the batch does not cover it; raises SingularSystem."""
    n_last = int(np.unique(task.seqs[kept, -1]).size)
    plan = plan_heads("paper", kept.size, r, d, d_h, task.N, task.S, n_last, None)
    if plan.skip != "solve" or plan.H != plan.H_paper:
        return None
    primed = draw_primed(AoTShape(N=task.N, S=task.S, d=d, H=plan.H, d_h=plan.d_h), qk=qk, embedding=embedding,
                         seed=seed)
    M = np.asarray(to_numpy(head_features(primed, task.seqs)))
    norms = np.linalg.norm(M[:, kept], axis=1)
    if np.any(norms == 0):
        raise SingularSystem("`M_1` has an all-zero feature row: the kept system is singular")
    A = M[:, kept] / norms[:, None]  # D M_1
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    if s[-1] <= 0 or s[0] / s[-1] > SINGULAR_COND:
        kappa = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
        raise SingularSystem(f"the kept system `M_1` is numerically singular in float64 (kappa_2 = {kappa:.3g} > 1/u)",
                             cond=kappa)
    G = (Vt.T / s) @ (U.T @ (M / norms[:, None]))  # (T_eps, T) = (D M_1)^+ D M
    rest = np.setdiff1d(np.arange(task.T), kept)
    if rest.size:
        B, *_ = np.linalg.lstsq(M[:, kept], M[:, rest], rcond=None)
        C = float(np.sqrt(1.0 + np.linalg.norm(B, 2) ** 2))
    else:
        C = 1.0
    return plan, G, C


def construct_batch(tasks, targets, d: int, d_h: int, eps: float, *, qk: str = "full",
                    embedding: str = DEFAULT_EMBEDDING, seed=0, rtol: float = RTOL) -> list:
    """``paper.theorem1``'s quantities for many ``(task, target)`` pairs (paper variant), shapes shared.

    Returns, per instance, a :class:`SmallConstruction` or the :class:`ConstructionError` that ``construct``
    raises for it (typed refusals are returned, not raised, so one refused instance does not stop the
    batch). ``tasks``: :class:`Task` objects; ``targets``: ``(W (N, d), E (T, d))`` pairs.

    References
    ----------
    ``paper.theorem1`` (paper Theorem 1; docs/theory.md#construction, steps 3-5, and the constants in
    docs/theory.md#p6), ``seed.theorem-aot`` (docs/theory.md#s2): the search of ``verify.construction_space``;
    :func:`theory.construct.construct`.
    """
    tasks, targets = list(tasks), list(targets)
    if len(tasks) != len(targets):
        raise ValueError(f"`tasks` and `targets` must have the same length (got {len(tasks)}, {len(targets)})")
    out: list = [None] * len(tasks)
    pre: dict = {}
    F_all = []
    for i, (task, (W, E)) in enumerate(zip(tasks, targets)):
        if not isinstance(task, Task):
            raise ValueError(f"`tasks[{i}]` must be a theory.task.Task (got {type(task).__name__})")
        F_all.append(np.asarray(E, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T)
        kept = keep_sequences(task.prior, eps)
        pre.setdefault((task.N, task.S, task.seqs.tobytes(), kept.tobytes()), []).append(i)
    groups: dict = {}
    for key, idx in pre.items():  # the rank prepare_target sees (of the uncentred W E*_1^T), one batched SVD
        kept = keep_sequences(tasks[idx[0]].prior, eps)
        sv = np.linalg.svd(np.stack([F_all[i][kept] for i in idx]), compute_uv=False)  # (K, min)
        top = sv[:, :1]
        ranks = np.where(top[:, 0] > 0, np.count_nonzero(sv > TARGET_RANK_RTOL * top, axis=1), 0)
        for i, r in zip(idx, ranks):
            groups.setdefault(key + (min(int(r), d),), []).append(i)
    for key, idx in groups.items():
        task0 = tasks[idx[0]]
        kept = keep_sequences(task0.prior, eps)
        r = key[-1]
        try:
            shared = _shared(task0, kept, r, d, d_h, qk, embedding, seed) if r > 0 else None
        except SingularSystem as exc:
            for i in idx:
                out[i] = exc
            continue
        if shared is None:
            for i in idx:
                out[i] = _fallback(tasks[i], targets[i], d, d_h, eps, qk, embedding, seed, rtol)
            continue
        plan, G, C = shared
        F = np.stack([F_all[i] for i in idx])  # (K, T, N)
        F1 = F[:, kept]  # (K, T_eps, N)
        Fm = np.matmul(G.T, F1)  # (K, T, N) the model's logits, one broadcast BLAS product
        top = np.abs(F1).max(axis=(1, 2))
        err_abs = np.abs(Fm[:, kept] - F1).max(axis=(1, 2))
        scale = np.matmul(np.abs(G[:, kept]).T, np.abs(F1)).max(axis=(1, 2))  # rounding scale of the product
        rel = np.where(top > 0, err_abs / np.where(top > 0, top, 1.0), err_abs)
        eta = np.where(top > 0, _U * G.shape[0] * scale / np.where(top > 0, top, 1.0), 0.0)
        Fc = F - F.mean(axis=2, keepdims=True)
        norm_WE = np.linalg.norm(Fc, ord=2, axis=(1, 2))
        # both divergences of the whole group in one call of the package's row formula (divergence.kl_rows)
        K, T, N = F.shape
        P = np.concatenate([tasks[i].cond for i in idx] * 2)
        rows = kl_rows(P, np.concatenate([F.reshape(K * T, N), Fm.reshape(K * T, N)])).reshape(2, K, T)
        pri = np.stack([tasks[i].prior for i in idx])
        kls_t, kls_m = (rows[0] * pri).sum(axis=1), (rows[1] * pri).sum(axis=1)
        for j, i in enumerate(idx):
            if not rel[j] + ROUNDING_FACTOR * eta[j] <= rtol:
                out[i] = _fallback(tasks[i], targets[i], d, d_h, eps, qk, embedding, seed, rtol)
                continue
            kt, km = float(kls_t[j]), float(kls_m[j])
            out[i] = SmallConstruction(int(kept.size), plan.H, plan.H_paper, C, float(norm_WE[j]), kt, km,
                                       kt + C * eps * float(norm_WE[j]), kt + 2 * C * eps * float(norm_WE[j]),
                                       float(rel[j]), True)
    return out


def _fallback(task, target, d, d_h, eps, qk, embedding, seed, rtol):
    try:
        return _from_report(construct(task, target, d, d_h, eps, qk=qk, embedding=embedding, seed=seed,
                                      rtol=rtol).report)
    except ConstructionError as exc:
        return exc
