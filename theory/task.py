"""The task model: a prior over input sequences and their next-token conditionals.

Notation (docs/theory.md#notation): tokens ``[N] = {0..N-1}``; ``T`` sequences
``t = t_{1:S}``; prior ``p (T,)``; conditional ``Pi (T, N)`` with rows
``pi_t = pi(. | t)``; the sequences themselves ``seqs (T, S)`` (token ids).
When ``seqs`` is omitted, ``T`` must equal ``N**S`` and the sequences are all
of them in lexicographic order. Optional labels name the tokens (``symbols``,
``(N,)`` strings) and the sequences (``contexts``, ``(T,)`` strings); they
travel with the task file and change no computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .validate import (
    check_distribution,
    check_logits,
    check_eps,
    check_int,
    check_rows_stochastic,
    load_user_npz,
)

__all__ = ["Task", "all_sequences", "t_eps", "kept_indices", "load_task", "save_task", "accuracy"]


def all_sequences(N: int, S: int) -> np.ndarray:
    """All ``N**S`` sequences of length ``S`` over ``[N]``, lexicographic, ``(N**S, S)``.

    References
    ----------
    docs/theory.md#notation (``T`` is the number of sequences: all ``N^S``); ``paper.lemma2`` and
    ``draft.lemma-rank[construction=draw_primed]`` (``k = S``: all ``N^S`` sequences, docs/theory.md#d7),
    ``paper.cor2`` (``T_0 = N^S``, docs/theory.md#p8).

    >>> all_sequences(2, 2).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    N = check_int("N", N, minimum=2)
    S = check_int("S", S, minimum=1)
    if N**S > 10**8:
        raise ValueError(f"`N**S` = {N**S} sequences is too many to enumerate (limit 1e8)")
    grids = np.indices((N,) * S).reshape(S, -1).T  # (N^S, S)
    return np.ascontiguousarray(grids, dtype=np.int64)


@dataclass(frozen=True)
class Task:
    """A next-token prediction task: prior ``p``, conditionals ``Pi``, sequences.

    Parameters
    ----------
    prior : (T,) array, non-negative, sums to 1 (relative tolerance ``SUM_RTOL``).
    cond : (T, N) array, each row non-negative and summing to 1.
    seqs : (T, S) int array of token ids in ``[N]``, or None for all ``N**S``
        sequences in lexicographic order (then ``S`` is inferred and ``T``
        must be a power of ``N``).
    symbols : optional ``(N,)`` distinct strings, the name of each token
        (e.g. the characters of an n-gram task, ``theory.ngram``).
    contexts : optional ``(T,)`` strings, a label for each sequence.

    >>> import numpy as np
    >>> task = Task(np.full(4, 0.25), np.full((4, 2), 0.5))
    >>> (task.T, task.N, task.S)
    (4, 2, 2)
    """

    prior: np.ndarray
    cond: np.ndarray
    seqs: np.ndarray | None = field(default=None)
    symbols: np.ndarray | None = field(default=None)
    contexts: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        cond = check_rows_stochastic("cond", self.cond)
        T, N = cond.shape
        if N < 2:
            raise ValueError(f"`cond` must have at least N=2 columns (got {N})")
        prior = check_distribution("prior", self.prior)
        if prior.shape != (T,):
            raise ValueError(f"`prior` must have shape (T,) = ({T},) to match `cond` (got {prior.shape})")
        if self.seqs is None:
            S = round(np.log(T) / np.log(N)) if T > 1 else 1
            if S < 1 or N**S != T:
                raise ValueError(
                    f"`seqs` is required: T={T} is not N**S for N={N}, so the sequences cannot be inferred"
                )
            seqs = all_sequences(N, S)
        else:
            seqs = np.asarray(self.seqs)
            if seqs.ndim != 2 or seqs.shape[0] != T or seqs.shape[1] < 1:
                raise ValueError(f"`seqs` must have shape (T, S) = ({T}, S>=1) (got {seqs.shape})")
            if not np.issubdtype(seqs.dtype, np.integer):
                if not (np.issubdtype(seqs.dtype, np.floating) and np.all(np.isfinite(seqs))
                        and np.all(seqs == np.round(seqs))):
                    raise ValueError(f"`seqs` must hold integer token ids (got dtype {seqs.dtype})")
            seqs = seqs.astype(np.int64)
            if seqs.size and (seqs.min() < 0 or seqs.max() >= N):
                raise ValueError(f"`seqs` token ids must lie in [0, N-1] = [0, {N - 1}]"
                                 f" (got range [{seqs.min()}, {seqs.max()}])")
            if len({r.tobytes() for r in seqs}) != T:
                raise ValueError("`seqs` must not contain the same sequence twice")
        symbols = None if self.symbols is None else _check_labels("symbols", self.symbols, N, unique=True)
        contexts = None if self.contexts is None else _check_labels("contexts", self.contexts, T, unique=False)
        object.__setattr__(self, "prior", prior)
        object.__setattr__(self, "cond", cond)
        object.__setattr__(self, "seqs", seqs)
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "contexts", contexts)
        for a in (prior, cond, seqs, symbols, contexts):
            if a is not None:
                a.setflags(write=False)

    @property
    def T(self) -> int:
        """Number of sequences carried."""
        return int(self.cond.shape[0])

    @property
    def N(self) -> int:
        """Vocabulary size."""
        return int(self.cond.shape[1])

    @property
    def S(self) -> int:
        """Sequence length."""
        return int(self.seqs.shape[1])

    @property
    def log_cond(self) -> np.ndarray:
        """``L = log Pi`` entrywise, ``-inf`` where ``pi(o|t) = 0``. (T, N)"""
        with np.errstate(divide="ignore"):
            return np.log(self.cond)

    def full_support(self) -> bool:
        """Assumption 2: every ``pi(o|t) > 0``."""
        return bool(np.all(self.cond > 0))

    def is_association(self) -> bool:
        """Assumption 1: every row is one-hot."""
        return bool(np.all((self.cond == 0) | (self.cond == 1)) and np.all(self.cond.max(axis=1) == 1))

    def argmax_map(self) -> np.ndarray:
        """The look-up table ``g(t) = argmax_o pi(o|t)`` (first on ties). (T,)"""
        return np.argmax(self.cond, axis=1)

    def save(self, path: str | Path) -> None:
        """Save as ``.npz`` with keys ``prior``, ``cond``, ``seqs``."""
        save_task(self, path)


def _check_labels(name: str, labels, n: int, *, unique: bool) -> np.ndarray:
    """``labels`` as a ``(n,)`` unicode array (the optional ``symbols``/``contexts`` of a :class:`Task`)."""
    if isinstance(labels, (str, bytes)):
        raise ValueError(f"`{name}` must be a sequence of {n} strings (got one {type(labels).__name__})")
    a = np.asarray(labels)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"`{name}` must have shape ({n},) (got {a.shape})")
    if a.dtype.kind != "U":
        if not all(isinstance(x, str) for x in a.tolist()):
            raise ValueError(f"`{name}` must hold strings (got dtype {a.dtype})")
        a = a.astype(str)
    if unique and len(set(a.tolist())) != n:
        raise ValueError(f"`{name}` must not name two entries alike")
    return a.copy()


def save_task(task: Task, path: str | Path, **more) -> None:
    """Write ``task`` to ``path`` (``.npz``; keys ``prior``, ``cond``, ``seqs``, and ``symbols``/``contexts`` when set).

    ``more``: further arrays to store beside them (a text task's ``vocab_*`` keys,
    ``theory.vocab``); :func:`load_task` ignores keys it does not know.
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be a Task (got {type(task).__name__})")
    extra = {k: getattr(task, k) for k in ("symbols", "contexts") if getattr(task, k) is not None}
    clash = set(more) & {"prior", "cond", "seqs", "symbols", "contexts"}
    if clash:
        raise ValueError(f"`more` must not name the task's own keys (got {sorted(clash)})")
    np.savez(Path(path), prior=task.prior, cond=task.cond, seqs=task.seqs, **extra, **more)


def load_task(path: str | Path) -> Task:
    """Read a task written by :func:`save_task` (or by hand), validating it.

    Raises ``ValueError`` naming the problem: a missing key, a wrong shape,
    NaN, a negative entry or a row that does not sum to 1.
    """
    path = Path(path)
    data = load_user_npz("task", path, readable_as=".npz file")
    with data:
        keys = set(data.files)
        missing = {"prior", "cond"} - keys
        if missing:
            raise ValueError(f"task file `{path}` lacks key(s) {sorted(missing)} (needs prior, cond and optionally seqs)")
        arrays = {}
        for k in ("prior", "cond", "seqs", "symbols", "contexts"):  # symbols/contexts: optional, newer files
            if k in keys:
                try:
                    arrays[k] = np.array(data[k])
                except Exception as exc:  # a pickled object array or a corrupt member: the file's fault
                    raise ValueError(f"task file `{path}`: key `{k}` is not a readable array "
                                     f"({exc.__class__.__name__}: {exc})") from None
        return Task(**arrays)


def t_eps(prior: np.ndarray, eps: float) -> int:
    """``T_eps``: the fewest sequences whose prior mass is ``>= 1 - eps``.

    Claim ids: ``seed.theorem-aot`` (there ``N_eps``), ``paper.theorem1``.
    Formula: ``T_eps = min{ n : sum of the n largest p(t) >= 1 - eps }``;
    ``T_0`` is the size of the support. The comparison is made on the tail
    mass ``sum of the rest <= eps``, summed smallest first, so that
    ``1 - eps`` is never rounded away for tiny ``eps``.

    References
    ----------
    docs/theory.md#t-eps; ``seed.theorem-aot`` (seed slide "Attention-only Transformers": ``N_eps``),
    ``paper.theorem1`` (paper Theorem 1: ``T_eps``).

    >>> t_eps(np.array([0.5, 0.3, 0.2, 0.0]), 0.0)
    3
    >>> t_eps(np.array([0.5, 0.3, 0.2]), 0.25)
    2
    """
    p = check_distribution("prior", prior)
    eps = check_eps(eps)
    if eps == 0.0:
        return int(np.count_nonzero(p))
    return int(kept_indices(p, eps).size)


def kept_indices(prior: np.ndarray, eps: float) -> np.ndarray:
    """Indices of the ``T_eps`` likeliest sequences, most likely first (stable on ties).

    References
    ----------
    docs/theory.md#t-eps and docs/theory.md#construction, step 1 (keep the ``T_eps`` likeliest sequences);
    ``paper.theorem1``, ``seed.theorem-aot``.
    """
    p = check_distribution("prior", prior)
    eps = check_eps(eps)
    order = np.argsort(-p, kind="stable")
    sorted_p = p[order]
    # tail[n] = mass of sorted_p[n:], accumulated from the small end.
    tail = np.concatenate([np.cumsum(sorted_p[::-1])[::-1], [0.0]])
    if eps == 0.0:
        n = int(np.count_nonzero(p))
    else:
        # at least one: 1 - eps > 0 is more than the empty set's mass; the total tail[0] can round to
        # <= eps only for eps within an ulp or so of 1 (six priors of 1/6 sum to 1 - 1.1e-16)
        n = max(1, int(np.argmax(tail <= eps)))
    return order[:n]



def accuracy(task: Task, F, rows=None) -> float:
    """Prior-weighted argmax accuracy of logits ``F`` against ``g(t) = argmax_o pi(o|t)`` (``paper.cor1``, ``paper.cor2``).

    ``acc = sum_t p(t) 1[argmax_o F(t)_o = g(t)] / sum_t p(t)``, the sums over
    ``rows`` (indices into the task's sequences; all of them when ``None``).

    References
    ----------
    ``paper.cor1[memorises]`` (paper Corollary 1: "memorises" read as argmax accuracy 1; docs/theory.md#p7),
    ``paper.cor2`` (paper Corollary 2: the accuracy bound; docs/theory.md#p8), ``paper.table1[this-paper]``.

    >>> task = Task(np.array([0.5, 0.25, 0.25]), np.eye(3), np.arange(3)[:, None])
    >>> accuracy(task, np.array([[1.0, 0, 0], [0, 1, 0], [1, 0, 0]]))
    0.75
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be an aotmem.theory.task.Task (got {type(task).__name__})")
    F = check_logits("F", F, task.cond.shape)
    hit = (np.argmax(F, axis=1) == task.argmax_map()).astype(np.float64)
    p = task.prior if rows is None else np.where(np.isin(np.arange(task.T), rows), task.prior, 0.0)
    if not p.sum() > 0:
        raise ValueError("`rows` must select sequences of positive prior mass")
    return float(p @ hit / p.sum())
