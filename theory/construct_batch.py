"""Many small ``T*`` constructions of one shape at once (``paper.theorem1``, ``seed.theorem-aot``; issue 20).

:func:`theory.construct.construct` costs about a millisecond of Python per tiny task (T <= 64), almost
all of it per-call overhead: the primed draw, the features ``M``, the factorisation of the kept system,
the forward pass and the report. Instances that share a shape (``N``, ``S``, the sequences, the kept set,
the target's rank, ``d``, ``d_h``, ``qk``, the design and the draw's seed) share the draw, the features and
the factored kept system; only the right-hand side ``E*_1`` differs. :func:`construct_batch` does, per shape,
what ``construct``'s first draw does, with every instance's right-hand side in one solve:

1. the target in its canonical gauge (:func:`theory.construct.prepare_target`, per instance) and the head
   plan (:func:`theory.construct.plan_heads`);
2. one primed draw (:func:`theory.construct.draw_primed`, the draw ``construct`` makes first), the features
   ``M`` (:func:`theory.construct.head_features`), one factorisation and solve of the kept system for all the
   instances' columns (:func:`theory.construct.solve_output`, :func:`theory.construct.refine_output`);
3. each instance's AoT mapped back at ``construct``'s first gauge (:func:`theory.construct.map_back`,
   ``GAUGE_ALPHAS[0]``);
4. the float64 forward pass of all these AoTs at once on every sequence
   (:func:`theory.aot.logits_with_rounding_batch`: the AoT's own kernels, models on a leading axis), each
   instance checked by :func:`theory.construct.verify_kept` (the same ``rtol`` and ``ROUNDING_FACTOR`` rule as
   ``construct``);
5. both divergences of the group in one call of the row formula (:func:`theory.divergence.kl_rows`) and
   ``paper.theorem1``'s right-hand side (:func:`theory.construct.theorem1_rhs`, ``||M_1^+ M_2||_2`` computed
   once per shape).

An instance is returned as built only when its own forward pass meets ``rtol`` at the first gauge, which is
exactly when ``construct``'s first attempt stops there. Everything else is built by ``construct`` itself,
with its gauge ladder, its further draws and its typed refusals: a missed check (``construct`` may still
repair it, or refuses it with :class:`theory.construct.InaccurateConstruction`), a refused shape (a
numerically singular kept system or ``W_OV``: ``construct`` raises the same :class:`SingularSystem`), a shape
the batch does not cover (a fixed skip connection, a zero target). Refusals are returned per instance as
the exception ``construct`` raises, never as a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .aot import AoT, AoTShape, logits_with_rounding_batch
from .construct import (
    DEFAULT_EMBEDDING,
    GAUGE_ALPHAS,
    REFINE_STEPS,
    RTOL,
    SINGULAR_COND,
    ConstructionError,
    Solution,
    construct,
    draw_primed,
    head_features,
    keep_sequences,
    map_back,
    plan_heads,
    prepare_target,
    refine_output,
    solve_output,
    theorem1_rhs,
    verify_kept,
)
from .divergence import kl_rows
from .task import Task
from .validate import check_eps, check_int, check_positive

__all__ = ["SmallConstruction", "construct_batch", "BATCH_AGREE_RTOL"]

# The batch and construct build the same AoT in exact arithmetic (one solve with every instance's columns
# against one solve per instance, then the same map back); in float64 their dKL(pi, T) and right-hand sides
# differ by the rounding of those solves and of the forward passes: 1e-9 relative (to max(1, |value|)) leaves a
# wide margin (measured <= 1.3e-12 by benchmarks/bench_small_construct.py).
BATCH_AGREE_RTOL = 1e-9


@dataclass(frozen=True)
class SmallConstruction:
    """One instance of :func:`construct_batch`: the fields of ``ConstructionReport`` the claims judge, and the AoT."""

    T_eps: int
    H: int
    H_paper: int
    C: float  # sqrt(1 + ||M_1^+ M_2||_2^2), M_1^+ unscaled (as theory.construct.theorem1_rhs)
    norm_WE: float  # ||W_c E^T||_2
    kl_target: float
    kl_model: float
    rhs: float  # kl_target + C eps ||W_c E^T||_2
    rhs_factor2: float
    max_rel_logit_error: float  # verified by the model's own float64 forward pass (verify_kept)
    batched: bool  # False: built by construct (fallback)
    model: AoT | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Instance:
    """One ``(task, target)`` pair, prepared as ``construct``'s ``_setup`` prepares it (paper variant)."""

    task: Task
    W: np.ndarray  # (N, d) the caller's target
    E: np.ndarray  # (T, d)
    kept: np.ndarray
    tgt: object  # theory.construct.Target, the canonical gauge
    F: np.ndarray  # (T, N) the target logits E W^T

    @property
    def F1(self) -> np.ndarray:
        """``(T_eps, N)``: the target logits of the kept sequences."""
        return self.F[self.kept]


@dataclass(frozen=True)
class _Options:
    d: int
    d_h: int
    eps: float
    qk: str
    embedding: str
    seed: object
    rtol: float


def _from_report(c) -> SmallConstruction:
    rep = c.report
    return SmallConstruction(rep.T_eps, rep.H, rep.H_paper, rep.C, rep.norm_WE, rep.kl_target, rep.kl_model,
                             rep.rhs, rep.rhs_factor2, rep.max_rel_logit_error, False, c.model)


def _fallback(inst: _Instance, o: _Options):
    """``construct`` itself on one instance: its :class:`SmallConstruction`, or the refusal it raises."""
    try:
        return _from_report(construct(inst.task, (inst.W, inst.E), o.d, o.d_h, o.eps, qk=o.qk,
                                      embedding=o.embedding, seed=o.seed, rtol=o.rtol))
    except ConstructionError as exc:
        return exc


def _prepare(i: int, task, target, eps: float, d: int) -> _Instance:
    if not isinstance(task, Task):
        raise ValueError(f"`tasks[{i}]` must be a theory.task.Task (got {type(task).__name__})")
    try:
        W, E = (np.asarray(a, dtype=np.float64) for a in target)
    except (TypeError, ValueError):
        raise ValueError(f"`targets[{i}]` must be a pair (W, E) of float arrays") from None
    if W.shape != (task.N, d) or E.shape != (task.T, d):
        raise ValueError(f"`targets[{i}]` must be (W (N, d) = {(task.N, d)}, E (T, d) = {(task.T, d)}) "
                         f"(got {W.shape}, {E.shape})")
    kept = keep_sequences(task.prior, eps)
    return _Instance(task, W, E, kept, prepare_target(W, E, kept), E @ W.T)


@dataclass(frozen=True)
class _Shared:
    """What one shape's instances share: the head plan, the draw, ``M_1``/``M_2``, the stacked solution."""

    plan: object  # theory.construct.HeadPlan
    primed: object  # theory.construct.Primed
    M1: np.ndarray
    M2: np.ndarray
    solution: Solution  # right-hand side of width K r: instance j owns the rows j r .. (j + 1) r - 1


def _shared(insts: list, o: _Options) -> _Shared | None:
    """The shape's draw and one solve for all its instances; None where ``construct`` must decide (a refusal,
    a plan the batch does not cover)."""
    first = insts[0]
    task, kept, r = first.task, first.kept, first.tgt.rank
    if r == 0:
        return None
    n_last = int(np.unique(task.seqs[kept, -1]).size)
    try:
        plan = plan_heads("paper", int(kept.size), r, o.d, o.d_h, task.N, task.S, n_last, None)
    except ConstructionError:
        return None
    if plan.skip != "solve":
        return None
    primed = draw_primed(AoTShape(N=task.N, S=task.S, d=o.d, H=plan.H, d_h=plan.d_h), qk=o.qk,
                         embedding=o.embedding, seed=o.seed)  # construct's first draw (theory.construct._draw_seed)
    M = np.asarray(head_features(primed, task.seqs))
    M1, M2 = M[:, kept], M[:, np.setdiff1d(np.arange(task.T), kept)]
    E1 = np.concatenate([inst.tgt.E1 for inst in insts], axis=1)  # (T_eps, K r)
    try:
        sol = solve_output(M1, E1, H=plan.H, d_h=plan.d_h, skip="solve")
    except ConstructionError:
        return None
    if sol.cond_kept > SINGULAR_COND:
        return None
    sol = refine_output(sol, primed, task.seqs[kept], E1, M1=M1, steps=REFINE_STEPS)
    return _Shared(plan, primed, M1, M2, sol)


def _mapped(sh: _Shared, insts: list) -> list:
    """Each instance's AoT at ``construct``'s first gauge (``map_back``), or None where ``map_back`` refuses."""
    r = insts[0].tgt.rank
    sol = sh.solution
    out = []
    for j, inst in enumerate(insts):
        rows = slice(j * r, (j + 1) * r)
        one = Solution(np.ascontiguousarray(sol.W_O[:, rows]), np.ascontiguousarray(sol.W_OV[rows]), sol.cond_kept,
                       sol.method, sol.skip, sol.system, sol.refine_steps)
        try:
            out.append(map_back(sh.primed, one, inst.tgt.W, alpha=GAUGE_ALPHAS[0]).model)
        except ConstructionError:
            out.append(None)
    return out


def _group(insts: list, o: _Options) -> list:
    """The results of one shape's instances (a :class:`SmallConstruction` or the refusal of ``construct``)."""
    sh = _shared(insts, o)
    if sh is None:
        return [_fallback(inst, o) for inst in insts]
    models = _mapped(sh, insts)
    built = [j for j, m in enumerate(models) if m is not None]
    out: list = [None] * len(insts)
    if built:
        task0, kept = insts[0].task, insts[0].kept
        F, scale = logits_with_rounding_batch([models[j] for j in built], task0.seqs)  # (K, T, N), (K, T)
        good = []
        for k, j in enumerate(built):
            ver = verify_kept(F[k][kept], insts[j].F1, o.rtol, scale[k][kept])  # construct's own check and rule
            if ver.ok:
                good.append((k, j, ver))
        for (k, j, ver), res in zip(good, _diagnosed(sh, [insts[j] for _, j, _ in good], F[[k for k, _, _ in good]],
                                                     o.eps)):
            out[j] = SmallConstruction(int(kept.size), sh.plan.H, sh.plan.H_paper, res.C, res.norm_WE, res.kl_target,
                                       res.kl_model, res.rhs, res.rhs_factor2, ver.max_rel_logit_error, True,
                                       models[j])
    return [res if res is not None else _fallback(inst, o) for res, inst in zip(out, insts)]


@dataclass(frozen=True)
class _Diagnosed:
    C: float
    norm_WE: float
    kl_target: float
    kl_model: float
    rhs: float
    rhs_factor2: float


def _diagnosed(sh: _Shared, insts: list, F_model: np.ndarray, eps: float) -> list:
    """Both divergences of the verified instances in one :func:`kl_rows` call, and ``paper.theorem1``'s
    right-hand side (``||M_1^+ M_2||_2`` once per shape), as ``construct``'s ``diagnose`` reports them."""
    if not insts:
        return []
    K, T, N = F_model.shape
    F_tgt = np.stack([inst.F for inst in insts])
    P = np.concatenate([inst.task.cond for inst in insts] * 2)
    rows = kl_rows(P, np.concatenate([F_tgt.reshape(K * T, N), F_model.reshape(K * T, N)])).reshape(2, K, T)
    pri = np.stack([inst.task.prior for inst in insts])
    kls_t, kls_m = (rows[0] * pri).sum(axis=1), (rows[1] * pri).sum(axis=1)
    norm_B = None
    out = []
    for j, inst in enumerate(insts):
        rhs = theorem1_rhs(float(kls_t[j]), eps, inst.W, inst.E, sh.M1, sh.M2, norm_B=norm_B)
        norm_B = rhs.norm_M1inv_M2
        out.append(_Diagnosed(rhs.C, rhs.norm_WE, float(kls_t[j]), float(kls_m[j]), rhs.rhs, rhs.rhs_factor2))
    return out


def construct_batch(tasks, targets, d: int, d_h: int, eps: float, *, qk: str = "full",
                    embedding: str = DEFAULT_EMBEDDING, seed=0, rtol: float = RTOL) -> list:
    """``paper.theorem1``'s quantities for many ``(task, target)`` pairs (paper variant), shapes shared.

    Returns, per instance, a :class:`SmallConstruction` (with its AoT) or the :class:`ConstructionError` that
    ``construct(task, target, d, d_h, eps, qk=qk, embedding=embedding, seed=seed, rtol=rtol)`` raises for it
    (typed refusals are returned, not raised, so one refused instance does not stop the batch). An instance is
    built in the batch only when its AoT's own float64 forward pass meets ``rtol`` by ``construct``'s rule
    (:func:`theory.construct.verify_kept`); any other is ``construct``'s (module docstring). ``tasks``:
    :class:`Task` objects; ``targets``: ``(W (N, d), E (T, d))`` pairs.

    References
    ----------
    ``paper.theorem1`` (paper Theorem 1; docs/theory.md#construction, steps 3-5, and the constants in
    docs/theory.md#p6), ``seed.theorem-aot`` (docs/theory.md#s2): :func:`theory.construct.construct`.
    """
    tasks, targets = list(tasks), list(targets)
    if len(tasks) != len(targets):
        raise ValueError(f"`tasks` and `targets` must have the same length (got {len(tasks)}, {len(targets)})")
    o = _Options(check_int("d", d, minimum=1), check_int("d_h", d_h, minimum=1), check_eps(eps), qk, embedding,
                 seed, check_positive("rtol", rtol))
    insts = [_prepare(i, t, g, o.eps, o.d) for i, (t, g) in enumerate(zip(tasks, targets))]
    groups: dict = {}
    for i, inst in enumerate(insts):
        t = inst.task
        groups.setdefault((t.N, t.S, t.seqs.tobytes(), inst.kept.tobytes(), inst.tgt.rank), []).append(i)
    out: list = [None] * len(insts)
    for idx in groups.values():
        for i, res in zip(idx, _group([insts[i] for i in idx], o)):
            out[i] = res
    return out
