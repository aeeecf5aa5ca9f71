"""The associative memory of Bietti et al. (2023), as recalled by the seed (``seed.assoc-memory``).

A map ``g : [N] -> [N]`` is stored in one ``d x d`` matrix with the
outer-product (Hebbian) rule

.. math::

    W = \\sum_{i=0}^{N-1} w_U(g(i))\\, w_E(i)^T,

where ``W_U, W_E in R^{N x d}`` (rows ``w_U(j)``, ``w_E(i)``) are random
embeddings with i.i.d. ``N(0, 1/d)`` entries, and recalled by
``ghat(i) = argmax_j w_U(j)^T W w_E(i)``, i.e. the argmax of column ``i`` of
``W_U W W_E^T`` (``(N, N)``: outputs x inputs). The seed says the model "can
remember association, but only d of them". docs/theory.md asks for a *measured*
recall curve (recall against ``N/d``), not a yes/no: :func:`recall_curve`
gives it and :func:`recall_capacity` the largest ``N`` recalled at a given
level.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from .validate import check_array, check_int, check_positive

__all__ = [
    "MAPPINGS",
    "AssocRecall",
    "random_embeddings",
    "random_mapping",
    "outer_product_memory",
    "recall_predictions",
    "assoc_memory_recall",
    "recall_curve",
    "recall_capacity",
    "certified_recall",
]

MAPPINGS = ("random", "permutation")


def random_embeddings(N: int, d: int, *, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Random embeddings ``(W_U, W_E)``, each ``(N, d)`` with i.i.d. ``N(0, 1/d)`` entries.

    Claim id: ``seed.assoc-memory``. The ``1/d`` variance makes every row
    have squared norm ``~ 1`` and distinct rows nearly orthogonal
    (inner products ``~ N(0, 1/d)``).

    References
    ----------
    ``seed.assoc-memory`` (seed slide "Associative memory", after Bietti et al. 2023; docs/theory.md#s1, Readings:
    random ``N(0, 1/d)`` embeddings).

    >>> W_U, W_E = random_embeddings(1000, 400, seed=0)
    >>> W_U.shape, bool(abs(np.mean(np.sum(W_U**2, axis=1)) - 1) < 0.01)
    ((1000, 400), True)
    """
    N = check_int("N", N, minimum=2)
    d = check_int("d", d, minimum=1)
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(d)
    W_U = rng.standard_normal((N, d)) * scale  # (N, d)
    W_E = rng.standard_normal((N, d)) * scale  # (N, d)
    return W_U, W_E


def random_mapping(N: int, mapping: str = "random", *, seed=None) -> np.ndarray:
    """The map ``g`` to store, ``(N,)``: uniform over ``[N]^N`` (``random``) or a permutation.

    References
    ----------
    ``seed.assoc-memory`` (seed slide "Associative memory": ``g: [N] -> [N]``; docs/theory.md#s1).

    >>> sorted(random_mapping(5, "permutation", seed=1).tolist())
    [0, 1, 2, 3, 4]
    """
    N = check_int("N", N, minimum=2)
    if mapping not in MAPPINGS:
        raise ValueError(f"`mapping` must be one of {MAPPINGS} (got {mapping!r})")
    rng = np.random.default_rng(seed)
    if mapping == "permutation":
        return rng.permutation(N)
    return rng.integers(0, N, size=N)


def _check_g(g, N: int) -> np.ndarray:
    a = check_array("g", g, ndim=1)
    if a.shape != (N,):
        raise ValueError(f"`g` must have shape (N,) = ({N},) to match the embeddings (got {a.shape})")
    if not np.all(a == np.round(a)) or a.min() < 0 or a.max() >= N:
        raise ValueError(f"`g` must hold integer token ids in [0, {N - 1}]")
    return a.astype(np.int64)


def _check_embeddings(W_U, W_E) -> tuple[np.ndarray, np.ndarray]:
    W_U = check_array("W_U", W_U, ndim=2)
    W_E = check_array("W_E", W_E, ndim=2)
    if W_U.shape != W_E.shape:
        raise ValueError(f"`W_E` must have the shape of `W_U` {W_U.shape} (got {W_E.shape})")
    return W_U, W_E


def outer_product_memory(g, W_U: np.ndarray, W_E: np.ndarray) -> np.ndarray:
    """The stored matrix ``W = sum_i w_U(g(i)) w_E(i)^T``, ``(d, d)``.

    Claim id: ``seed.assoc-memory`` (the slides' formula, Bietti et al. 2023).

    References
    ----------
    ``seed.assoc-memory`` (seed slide "Associative memory": ``W = sum_i w_U(g(i)) w_E(i)^T``; docs/theory.md#s1,
    Notes: the outer product with column vectors).

    >>> W_U, W_E = random_embeddings(3, 2, seed=0)
    >>> g = np.array([2, 0, 1])
    >>> W = outer_product_memory(g, W_U, W_E)
    >>> bool(np.allclose(W, sum(np.outer(W_U[g[i]], W_E[i]) for i in range(3))))
    True
    """
    W_U, W_E = _check_embeddings(W_U, W_E)
    g = _check_g(g, W_U.shape[0])
    return W_U[g].T @ W_E  # (d, N) @ (N, d) = (d, d)


def recall_predictions(W: np.ndarray, W_U: np.ndarray, W_E: np.ndarray) -> np.ndarray:
    """``ghat(i) = argmax_j w_U(j)^T W w_E(i)`` for every input ``i``, ``(N,)`` (first on ties).

    References
    ----------
    ``seed.assoc-memory`` (seed slide "Associative memory": ``argmax W_U W w_E(i)`` recalls ``g(i)``;
    docs/theory.md#s1).
    """
    W_U, W_E = _check_embeddings(W_U, W_E)
    d = W_U.shape[1]
    W = check_array("W", W, ndim=2)
    if W.shape != (d, d):
        raise ValueError(f"`W` must have shape (d, d) = ({d}, {d}) (got {W.shape})")
    scores = W_U @ (W @ W_E.T)  # (N outputs, N inputs)
    return np.argmax(scores, axis=0)


@dataclass(frozen=True)
class AssocRecall:
    """Measured recall of the outer-product memory at one ``(N, d)``.

    ``per_trial`` holds the recall fraction of each independent draw of
    ``(W_U, W_E, g)``; ``mean`` and ``std`` summarise it; ``recalled`` is
    ``mean * N``, the expected number of associations recalled.
    """

    N: int
    d: int
    per_trial: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.mean(self.per_trial))

    @property
    def std(self) -> float:
        return float(np.std(self.per_trial))

    @property
    def recalled(self) -> float:
        return self.mean * self.N


def assoc_memory_recall(N: int, d: int, *, seed=0, trials: int = 1, mapping: str = "random") -> AssocRecall:
    """Fraction of the ``N`` associations ``i -> g(i)`` that the outer-product memory recalls.

    Claim id: ``seed.assoc-memory``. For each trial, draw ``W_U, W_E`` (i.i.d.
    ``N(0, 1/d)``) and ``g`` (see :func:`random_mapping`), store
    ``W = sum_i w_U(g(i)) w_E(i)^T`` and count the ``i`` with
    ``argmax_j w_U(j)^T W w_E(i) = g(i)``.

    Parameters
    ----------
    N : number of associations stored (inputs and outputs both range over ``[N]``).
    d : embedding dimension.
    seed : seed of the whole experiment (trials use independent child streams).
    trials : number of independent draws.
    mapping : ``"random"`` (each ``g(i)`` uniform on ``[N]``) or ``"permutation"``.

    Returns
    -------
    AssocRecall

    References
    ----------
    ``seed.assoc-memory`` (seed slide "Associative memory"; docs/theory.md#s1).

    Examples
    --------
    Few associations in a large dimension are all recalled; many are not:

    >>> assoc_memory_recall(20, 256, seed=0, trials=3).mean
    1.0
    >>> assoc_memory_recall(2048, 16, seed=0).mean < 0.1
    True
    """
    N = check_int("N", N, minimum=2)
    d = check_int("d", d, minimum=1)
    trials = check_int("trials", trials, minimum=1)
    if mapping not in MAPPINGS:
        raise ValueError(f"`mapping` must be one of {MAPPINGS} (got {mapping!r})")
    if N * N * max(d, 1) > 4 * 10**10:
        raise ValueError(f"`N`={N} with `d`={d} is too large to score (N^2 d > 4e10)")
    out = np.empty(trials)
    for k, (W_U, W_E, g) in enumerate(_draws(N, d, seed, trials, mapping)):
        W = outer_product_memory(g, W_U, W_E)
        out[k] = np.mean(recall_predictions(W, W_U, W_E) == g)
    out.setflags(write=False)
    return AssocRecall(N=N, d=d, per_trial=out)


def _draws(N, d, seed, trials, mapping):
    """The trials' ``(W_U, W_E, g)``, one independent child stream each (shared by the recall functions)."""
    for child in np.random.SeedSequence(seed).spawn(trials):
        rng = np.random.default_rng(child)
        W_U, W_E = random_embeddings(N, d, seed=rng)
        yield W_U, W_E, random_mapping(N, mapping, seed=rng)


def certified_recall(N: int, d: int, *, seed=0, trials: int = 1, mapping: str = "random", dps: int = 50) -> float:
    """:func:`assoc_memory_recall`'s mean, with every argmax decision made exact (``seed.assoc-memory``).

    The same draws; a decision ``argmax_j s_j(i) = g(i)`` whose float64 top-two
    gap exceeds twice a rounding bound of the scores (``|error| <= 4 d u
    (|W_U| |W| |w_E(i)|)_j``, ``u`` the unit roundoff, the bound of two
    matrix products of inner dimension ``d``) is certain; any other is decided
    by recomputing that input's scores in ``dps``-digit arithmetic from the
    (exactly representable) float64 embeddings. So the value returned is the
    recall of these draws, free of rounding; it equals the float64 measurement
    whenever no decision was close.

    References
    ----------
    ``seed.assoc-memory[capacity<=d]`` and ``seed.assoc-memory[linear-growth]`` (seed slide "Associative memory";
    docs/theory.md#s1).

    >>> certified_recall(20, 256, seed=0, trials=3) == assoc_memory_recall(20, 256, seed=0, trials=3).mean
    True
    """
    N = check_int("N", N, minimum=2)
    d = check_int("d", d, minimum=1)
    trials = check_int("trials", trials, minimum=1)
    u = np.finfo(np.float64).eps / 2
    hits = 0.0
    for W_U, W_E, g in _draws(N, d, seed, trials, mapping):
        W = outer_product_memory(g, W_U, W_E)
        S = W_U @ (W @ W_E.T)  # (N outputs, N inputs)
        err = 4 * d * u * (np.abs(W_U) @ (np.abs(W) @ np.abs(W_E.T)))
        pred = np.argmax(S, axis=0)
        top = S[pred, np.arange(N)]
        S2 = S.copy()
        S2[pred, np.arange(N)] = -np.inf
        gap = top - S2.max(axis=0)
        close = gap <= 2 * err.max(axis=0)
        ok = pred == g
        for i in np.flatnonzero(close):
            with mpmath.workdps(dps):
                wE = [mpmath.mpf(float(v)) for v in W_E[i]]
                Wi = [mpmath.fsum(mpmath.mpf(float(W[a, b])) * wE[b] for b in range(d)) for a in range(d)]
                s = [mpmath.fsum(mpmath.mpf(float(W_U[j, a])) * Wi[a] for a in range(d)) for j in range(N)]
                best = max(range(N), key=lambda j: (s[j], -j))  # first index on exact ties, as argmax
                ok[i] = best == g[i]
        hits += float(np.mean(ok))
    return hits / trials


def recall_curve(d: int, ratios, *, seed=0, trials: int = 3, mapping: str = "random") -> np.ndarray:
    """Mean recall at ``N = round(r d)`` for each ratio ``r`` in ``ratios``, ``(len(ratios),)``.

    Claim id: ``seed.assoc-memory`` (the recall curve: recall against ``N/d``).
    Each point uses its own seed derived from ``(seed, index)``.

    References
    ----------
    ``seed.assoc-memory`` (docs/theory.md#s1, Notes: verified as a measured recall curve, recall against ``N/d``).

    >>> recall_curve(64, [0.25, 32], seed=0, trials=2).round(2).tolist()
    [1.0, 0.02]
    """
    d = check_int("d", d, minimum=1)
    r = check_array("ratios", ratios, ndim=1)
    if r.size == 0 or (r <= 0).any():
        raise ValueError("`ratios` must be a non-empty list of positive numbers")
    out = np.empty(r.size)
    for k, rk in enumerate(r):
        N = max(2, int(round(rk * d)))  # a vocabulary has N >= 2 tokens
        out[k] = assoc_memory_recall(N, d, seed=[seed, k], trials=trials, mapping=mapping).mean
    return out


def recall_capacity(d: int, *, level: float = 0.9, seed=0, trials: int = 3, mapping: str = "random",
                    n_max: int | None = None, min_samples: int = 0) -> int:
    """Largest ``N`` (on a doubling-then-bisection search) whose mean recall is ``>= level``.

    Claim id: ``seed.assoc-memory`` ("only d of them": compare the result with ``d``).
    The search doubles ``N`` from 2 until recall falls below ``level`` (or
    ``n_max``, default ``64 d``, is reached), then bisects. Recall is a noisy,
    roughly decreasing function of ``N``, so the answer is a measurement
    at the given seed and trial count, not an exact threshold. Each ``N`` is
    measured over ``max(trials, ceil(min_samples / N))`` draws (so that small
    ``N`` are not judged on a handful of recalls).

    At ``d = 64`` the memory recalls 90% of about ``2d`` associations, not ``d``:

    References
    ----------
    ``seed.assoc-memory[capacity<=d]`` and ``seed.assoc-memory[linear-growth]`` (seed slide "Associative memory":
    "only d of them"; docs/theory.md#s1).

    >>> recall_capacity(64, level=0.9, seed=0)
    126
    """
    d = check_int("d", d, minimum=1)
    level = check_positive("level", level)
    if level > 1:
        raise ValueError(f"`level` must lie in (0, 1] (got {level})")
    n_max = check_int("n_max", n_max if n_max is not None else 64 * d, minimum=2)
    trials = check_int("trials", trials, minimum=1)
    min_samples = check_int("min_samples", min_samples, minimum=0)

    def ok(N: int) -> bool:
        k = max(trials, -(-min_samples // N))
        return assoc_memory_recall(N, d, seed=[seed, N], trials=k, mapping=mapping).mean >= level

    lo, hi = 1, 2
    while hi <= n_max and ok(hi):
        lo, hi = hi, 2 * hi
    if hi > n_max:
        if ok(n_max):
            return n_max
        hi = n_max
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo
