"""Target rank-``d`` maps ``W E*`` for the construction of ``T*`` (``paper.theorem1``, ``paper.cor1``, ``paper.cor2``).

- :func:`rank_d_target`: the optimal rank-``d`` encoder
  (:func:`aotmem.theory.optimal.optimal_encoder`, whose divergence stands for
  ``dKL(pi, L(N,S,d))``) or the least-squares fit ``f_ls``;
- :func:`circle_target`: for association tasks (Assumption 1), the unit-circle
  family of ``paper.prop3`` lifted to rank ``d``: ``E(t) = scale w_{g(t)}``,
  whose argmax is ``g(t)`` (docs/theory.md#p3).

Each returns ``(W (N, d), E (T, d))`` with logits ``F = E W^T``.
"""

from __future__ import annotations

import numpy as np

from .lowrank import f_ls
from .optimal import optimal_encoder
from .task import Task
from .validate import check_int, check_positive

__all__ = ["TARGETS", "CIRCLE_LIFT", "OPTIMAL_MAX_ITER", "rank_d_target", "circle_target"]

TARGETS = ("optimal", "f_ls")
# Iterations of the optimiser behind the "optimal" target: the construction only
# needs a rank-d map whose divergence is the reference value of the bound it is
# checked against, so a bounded run suffices (the bound is stated for that map).
OPTIMAL_MAX_ITER = 800
# Size of the generic components added to the circle outside its plane: their
# effect on a logit, at most 2 * CIRCLE_LIFT**2 = 0.02, stays below the circle's
# gap 1 - cos(2 pi/N) >= 0.03 for N <= 36, so the argmax is still g(t).
CIRCLE_LIFT = 0.1


def rank_d_target(task: Task, d: int, which: str = "optimal"):
    """``(W, E)`` of the rank-``d`` target ``which``: ``"optimal"`` or ``"f_ls"`` (uniform reading).

    Needs Assumption 2: both are deterministic maps of ``L = log Pi`` (``"optimal"`` runs
    :func:`theory.optimal.optimal_encoder` from the ``f_ls`` / ``f_wls`` starts only).

    References
    ----------
    ``paper.theorem1[as-written,target=optimal]`` and ``[as-written,target=f_ls]`` (paper Theorem 1;
    docs/theory.md#p6, Readings: the rank-``d`` target ``W E`` the construction reproduces); ``seed.theorem-aot``
    (``f_W*``, docs/theory.md#s2); ``paper.prop1`` (``dKL(pi, L(N,S,d))`` from above).

    >>> from aotmem.theory.generators import dirichlet_task
    >>> W, E = rank_d_target(dirichlet_task(3, 2, seed=0), 1, "f_ls")
    >>> W.shape, E.shape
    ((3, 1), (9, 1))
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be an aotmem.theory.task.Task (got {type(task).__name__})")
    d = check_int("d", d, minimum=1)
    if which not in TARGETS:
        raise ValueError(f"`which` must be one of {TARGETS} (got {which!r})")
    if not task.full_support():
        raise ValueError(f"`task` violates Assumption 2 (full support): the {which} target is a map of log Pi")
    if which == "optimal":
        res = optimal_encoder(task.prior, task.cond, d, starts=0, seed=0, max_iter=OPTIMAL_MAX_ITER)
        return res.W, res.E
    if which == "f_ls":
        lr = f_ls(task.prior, task.cond, d, "uniform")
        return lr.W, lr.E
    raise ValueError(f"`which` must be one of {TARGETS} (got {which!r})")


def circle_target(g, N: int, d: int, scale: float, *, seed: int = 0):
    """An association target of rank ``d >= 2`` whose argmax is ``g``: ``E(t) = scale w_{g(t)}``.

    ``w_j = (cos a_j, sin a_j, CIRCLE_LIFT u_j)`` with ``a_j = 2 pi j / N``
    (the unit-circle family of ``paper.prop3``; for ``N = 2`` the angles are
    0 and pi/2, since opposite points would make the target rank 1) and
    ``u_j`` random unit vectors of ``R^{d-2}``, so that ``W`` and the target
    have full rank ``d`` (a rank-deficient target makes ``W_OV`` singular in
    the exact construction). ``w_j . w_g < w_g . w_g``: argmax is ``g(t)``.
    Returns ``(W (N,d), E (T,d))``.

    References
    ----------
    ``paper.prop3`` (paper Proposition 3: the unit-circle family ``E(t) = s w_{g(t)}``; docs/theory.md#p3), lifted
    to rank ``d`` for ``paper.cor1`` (paper Corollary 1, the rank-2 target; docs/theory.md#p7), ``paper.cor2`` and
    ``paper.table1[this-paper]``.

    >>> W, E = circle_target(np.array([2, 0, 1]), 3, 2, 5.0)
    >>> np.argmax(E @ W.T, axis=1).tolist()
    [2, 0, 1]
    """
    d = check_int("d", d, minimum=2)
    N = check_int("N", N, minimum=2, maximum=36)  # the argmax guarantee above
    scale = check_positive("scale", scale)
    ang = 2 * np.pi * np.arange(N) / N if N > 2 else np.array([0.0, np.pi / 2])
    W = np.zeros((N, d))
    W[:, 0], W[:, 1] = np.cos(ang), np.sin(ang)
    if d > 2:
        U = np.random.default_rng(seed).standard_normal((N, d - 2))
        W[:, 2:] = CIRCLE_LIFT * U / np.linalg.norm(U, axis=1, keepdims=True)
    return W, scale * W[np.asarray(g)]
