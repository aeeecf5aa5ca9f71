"""Seeded generators of tasks, one per regime of the theory.

Each returns a validated :class:`theory.task.Task` over all ``N**S``
sequences (lexicographic). Kinds (``KINDS``): ``dirichlet`` (full support,
Assumption 2), ``almost-rank`` (centred logits with a chosen
``sigma_{d+1}``), ``lookup`` (noisy look-up table with a chosen Shannon
entropy), ``association`` (one-hot rows, Assumption 1), ``permutation``
(the hypothesis of ``draft.cor-permutation``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .divergence import log_softmax
from .task import Task, all_sequences
from .validate import check_array, check_int, check_positive

__all__ = ["KINDS", "make_prior", "dirichlet_task", "almost_rank_task", "lookup_task",
           "association_task", "permutation_task", "permutation_of", "random_task", "lookup_mass_for_entropy",
           "explicit_task", "association_on_support"]

PRIORS = ("uniform", "zipf")


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


def _check_NS(N, S, max_T=10**7):
    N = check_int("N", N, minimum=2)
    S = check_int("S", S, minimum=1)
    if N**S > max_T:
        raise ValueError(f"`N**S` = {N**S} sequences exceeds the generator limit {max_T}; lower N or S")
    return N, S


def make_prior(T: int, kind: str = "uniform", *, zipf_a: float = 1.0, seed=None) -> np.ndarray:
    """A prior over ``T`` sequences: ``uniform``, or ``zipf`` (``p ∝ rank^-a`` on a random order)."""
    T = check_int("T", T, minimum=1)
    if kind == "uniform":
        return np.full(T, 1.0 / T)
    if kind == "zipf":
        a = check_positive("zipf_a", zipf_a)
        w = np.arange(1, T + 1, dtype=np.float64) ** (-a)
        w = w[_rng(seed).permutation(T)]
        return w / w.sum()
    raise ValueError(f"`prior` must be one of {PRIORS} (got {kind!r})")


def dirichlet_task(N: int, S: int, *, alpha: float = 1.0, prior: str = "uniform", seed=None) -> Task:
    """Full-support rows ``pi_t ~ Dirichlet(alpha 1_N)`` (Assumption 2).

    Rows are drawn through their logs (``log Gamma`` samples) so that small
    ``alpha`` never underflows a probability to exactly 0.

    References
    ----------
    builds the ``dirichlet`` recipes (verify/ledger/recipes.py; Assumption 2, docs/theory.md#assumptions) of the
    full-support claims ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``, ``draft.theorem-wls``
    (docs/theory.md#s4 to docs/theory.md#d4-wls), ``draft.lemma-taylor``, ``draft.lemma-wls``, ``paper.prop1``,
    ``draft.prop1``, ``paper.lemma1``, ``paper.theorem1``, ``seed.theorem-aot``, and of ``seed.zero-divergence``
    (docs/theory.md#s3), ``paper.prop2`` (docs/theory.md#p2), ``paper.theorem2`` (docs/theory.md#p9).
    """
    N, S = _check_NS(N, S)
    alpha = check_positive("alpha", alpha)
    rng = _rng(seed)
    T = N**S
    # log of Gamma(alpha) samples: log(U^{1/alpha} G_{alpha+1}) is stable for tiny alpha.
    logg = np.log(rng.gamma(alpha + 1.0, size=(T, N))) + np.log(rng.uniform(size=(T, N))) / alpha
    cond = np.exp(log_softmax(logg))
    if not np.all(cond > 0):
        raise ValueError(f"`alpha`={alpha} is too small: a probability underflowed to 0 in float64")
    cond /= cond.sum(axis=1, keepdims=True)
    return Task(make_prior(T, prior, seed=rng), cond)


def almost_rank_task(N: int, S: int, *, d: int, sigma: float, prior: str = "uniform",
                     top: float = 3.0, decay: float = 0.5, seed=None) -> Task:
    """Logits whose uniform-centred matrix has singular values ``top.. (d of them), sigma, sigma*decay, ...``.

    ``sigma`` is ``sigma_{d+1}`` of ``L (I - 11^T/N)`` exactly (the uniform,
    unweighted reading), since ``log softmax`` only shifts rows by a constant.
    The first ``d`` singular values are spaced in ``[top, 2 top]``; ``top`` must
    exceed ``sigma``.

    References
    ----------
    builds the ``almost-rank`` recipes (verify/ledger/recipes.py) of the full-support claims ``seed.ls-bound``,
    ``seed.wls-bound``, ``draft.theorem-ls``, ``draft.theorem-wls`` (docs/theory.md#s4 to docs/theory.md#d4-wls),
    ``draft.lemma-taylor``, ``draft.lemma-wls``, ``paper.prop1``, ``draft.prop1``, ``paper.lemma1``,
    ``paper.theorem1``, ``seed.theorem-aot``, and at ``sigma = 0`` of ``seed.zero-divergence[if]``
    (docs/theory.md#s3); the ``uniform`` reading of docs/theory.md#sigma.
    """
    N, S = _check_NS(N, S)
    d = check_int("d", d, minimum=1, maximum=N - 2)
    sigma = check_positive("sigma", sigma, allow_zero=True)
    top = check_positive("top", top)
    if top <= sigma:
        raise ValueError(f"`top` must exceed `sigma` (got top={top}, sigma={sigma})")
    rng = _rng(seed)
    T = N**S
    r = min(T, N - 1)  # rank of a centred (T, N) matrix is at most N - 1
    if d + 1 > r:
        raise ValueError(f"`d`+1 = {d + 1} exceeds the largest possible rank min(T, N-1) = {r}")
    U, _ = np.linalg.qr(rng.standard_normal((T, r)))
    C = np.eye(N) - 1.0 / N  # centring projector; its range is 1-perp
    V, _ = np.linalg.qr(C @ rng.standard_normal((N, r)))
    s = np.concatenate([np.linspace(2 * top, top, d), sigma * decay ** np.arange(r - d)])
    Lc = (U * s) @ V.T
    cond = np.exp(log_softmax(Lc))
    cond /= cond.sum(axis=1, keepdims=True)
    return Task(make_prior(T, prior, seed=rng), cond)


def lookup_mass_for_entropy(N: int, h: float) -> float:
    """The off-target mass ``q`` whose row ``(1-q) on g, q/(N-1) elsewhere`` has Shannon entropy ``h``.

    ``h(q) = -(1-q) log(1-q) - q log q + q log(N-1)`` increases on ``[0, (N-1)/N]``
    from 0 to ``log N``.

    References
    ----------
    the rows of :func:`lookup_task`: the ``lookup`` recipes of ``seed.lookup-bound`` (docs/theory.md#s6),
    ``draft.lookup-theorem`` (docs/theory.md#d6) and ``paper.theorem2`` (docs/theory.md#p9).
    """
    N = check_int("N", N, minimum=2)
    h = check_positive("h", h, allow_zero=True)
    if h > np.log(N) * (1 + 1e-12):
        raise ValueError(f"`h` must be <= log N = {np.log(N):.6g} (got {h})")
    if h == 0:
        return 0.0
    qmax = (N - 1) / N
    if h >= np.log(N):
        return qmax

    def f(q):
        return -(1 - q) * np.log1p(-q) - q * np.log(q) + q * np.log(N - 1) - h

    rtol = 4 * np.finfo(float).eps
    if f(1e-300) >= 0:  # h below ~7e-298: the root lies among the subnormals, under 1e-300
        lo = np.finfo(float).smallest_subnormal
        if f(lo) >= 0:  # h below the entropy of the smallest positive mass (~3.7e-321): the closest row there is
            return float(lo)
        return float(brentq(f, lo, 1e-300, xtol=20 * lo, rtol=rtol, maxiter=500))  # 1e-322: the subnormal grid
    return float(brentq(f, 1e-300, qmax, xtol=1e-300, rtol=rtol, maxiter=500))


def lookup_task(N: int, S: int, *, entropy: float, prior: str = "uniform", seed=None) -> Task:
    """Noisy look-up table: ``pi_t = (1-q) delta_{g(t)} + q/(N-1)`` off ``g(t)``, Shannon entropy ``entropy``.

    ``g`` is a uniformly random map from sequences to tokens.

    References
    ----------
    builds the ``lookup`` recipes (verify/ledger/recipes.py) of ``seed.lookup-bound`` (docs/theory.md#s6),
    ``draft.lookup-theorem`` (docs/theory.md#d6) and ``paper.theorem2`` (docs/theory.md#p9).
    """
    N, S = _check_NS(N, S)
    entropy = check_positive("entropy", entropy, allow_zero=True)
    if entropy > np.log(N) * (1 + 1e-12):
        raise ValueError(f"`entropy` must be <= log N = {np.log(N):.6g} (got {entropy})")
    q = lookup_mass_for_entropy(N, entropy)
    rng = _rng(seed)
    T = N**S
    g = rng.integers(0, N, size=T)
    cond = np.full((T, N), q / (N - 1))
    cond[np.arange(T), g] = 1.0 - q
    return Task(make_prior(T, prior, seed=rng), cond)


def association_task(N: int, S: int, *, prior: str = "uniform", seed=None) -> Task:
    """Association task (Assumption 1): ``pi_t`` one-hot at a random ``g(t)``.

    References
    ----------
    Assumption 1 (docs/theory.md#assumptions): the association tasks of ``paper.prop3`` (docs/theory.md#p3),
    ``seed.no-quantity-limit`` (docs/theory.md#s7), ``paper.cor1``, ``paper.cor2``, ``paper.table1``
    (docs/theory.md#p7, docs/theory.md#p8, docs/theory.md#p11).
    """
    N, S = _check_NS(N, S)
    rng = _rng(seed)
    T = N**S
    cond = np.zeros((T, N))
    cond[np.arange(T), rng.integers(0, N, size=T)] = 1.0
    return Task(make_prior(T, prior, seed=rng), cond)


def permutation_task(N: int, S: int, *, d: int, scale: float = 1.0, prior: str = "uniform", seed=None) -> Task:
    """Hypothesis of ``draft.cor-permutation``: log-probabilities aligned with the output axes.

    ``log pi(o|t) = c_t + X_{t,o}`` for ``o`` in a random set ``S_r`` of
    ``r = min(N-1, T)`` outputs, ``c_t`` off it, where the columns of ``X``
    are orthogonal with decreasing norms. So ``L - c 1^T = X`` (embedded)
    has right singular vectors ``e_o``: the ``V`` of the corollary is a
    permutation ``xi`` and its first ``d`` outputs are ``S_d``. (The
    uniform-centred ``L`` cannot have such ``V``: its rows are orthogonal to
    ``1``; the corollary's centring is the one by ``c_t``.) ``xi`` is not
    stored on the (frozen) task: :func:`permutation_of` recovers it.

    References
    ----------
    ``draft.cor-permutation`` (its hypothesis; docs/theory.md#d5): the ``permutation`` recipes
    (verify/ledger/recipes.py).
    """
    N, S = _check_NS(N, S)
    d = check_int("d", d, minimum=1, maximum=N - 1)
    scale = check_positive("scale", scale)
    rng = _rng(seed)
    T = N**S
    r = min(N - 1, T)
    if d > r:
        raise ValueError(f"`d` must be <= min(N-1, T) = {r} (got {d})")
    Q, _ = np.linalg.qr(rng.standard_normal((T, r)))
    norms = scale * np.sqrt(T) * np.linspace(1.0, 0.2, r)  # distinct, decreasing
    X = Q * norms  # (T, r), orthogonal columns
    xi = rng.permutation(N)  # xi[:r] are the aligned outputs, most important first
    logits = np.zeros((T, N))
    logits[:, xi[:r]] = X
    cond = np.exp(log_softmax(logits))
    cond /= cond.sum(axis=1, keepdims=True)
    return Task(make_prior(T, prior, seed=rng), cond)


# Columns of L - L[:, ref] 1^T count as orthogonal when |<x_i, x_j>| <= this times
# max ||x_k||^2: the generator's Gram matrix is diagonal up to ~1e-15 relative
# (QR columns, then exp/log round trips); 1e-9 leaves a wide margin.
PERMUTATION_ORTH_RTOL = 1e-9


def permutation_of(task: Task) -> np.ndarray:
    """Recover the permutation ``xi`` of ``draft.cor-permutation`` from a task of :func:`permutation_task`.

    Finds a reference output ``ref`` such that the columns of
    ``X = L - L[:, ref] 1^T`` are mutually orthogonal (``PERMUTATION_ORTH_RTOL``),
    then orders the outputs by decreasing column norm (``||X_{:,o}|| = 0``
    off the aligned set, so those come last, ties by index). ``xi[:d]`` is
    ``S_d``. Raises ``ValueError`` when no output gives orthogonal columns
    (the task does not satisfy the corollary's hypothesis) or Assumption 2 fails.

    References
    ----------
    ``draft.cor-permutation`` (the permutation ``xi`` and ``S_d``; docs/theory.md#d5).

    >>> t = permutation_task(5, 2, d=2, seed=0)
    >>> xi = permutation_of(t); sorted(xi.tolist()) == list(range(5))
    True
    """
    if not isinstance(task, Task):
        raise ValueError(f"`task` must be a theory.task.Task (got {type(task).__name__})")
    if not task.full_support():
        raise ValueError("`task` violates Assumption 2 (full support): log Pi is -inf somewhere")
    L = np.log(task.cond)
    for ref in range(task.N):
        X = L - L[:, [ref]]
        G = X.T @ X  # (N, N)
        scale = max(float(np.max(np.diag(G))), np.finfo(float).tiny)
        off = G - np.diag(np.diag(G))
        if np.max(np.abs(off)) <= PERMUTATION_ORTH_RTOL * scale:
            norms = np.sqrt(np.diag(G))
            return np.lexsort((np.arange(task.N), -np.round(norms / np.sqrt(scale), 12))).astype(np.int64)
    raise ValueError("`task` does not satisfy the hypothesis of draft.cor-permutation: no output makes the "
                     "columns of L - L[:, ref] 1^T orthogonal")


KINDS = {
    "dirichlet": dirichlet_task,
    "almost-rank": almost_rank_task,
    "lookup": lookup_task,
    "association": association_task,
    "permutation": permutation_task,
}


def random_task(kind: str, N: int, S: int, *, seed=None, **kw) -> Task:
    """Dispatch to the generator named ``kind`` (see ``KINDS``)."""
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {sorted(KINDS)} (got {kind!r})")
    return KINDS[kind](N, S, seed=seed, **kw)


def explicit_task(logits, weights) -> Task:
    """A task given entry by entry: ``pi_t = softmax(logits_t)``, ``p = weights / sum(weights)``.

    The sequences are ``0..T-1`` of length 1 (token ``t`` for row ``t``, so
    ``T <= N``), or, when ``T > N``, the first ``T`` sequences of length
    ``S = ceil(log_N T)`` in lexicographic order. Used by the claims ledger
    for instances its search builds and shrinks number by number.

    References
    ----------
    builds the ``explicit`` recipes (verify/ledger/recipes.py) the search shrinks, of the full-support claims
    ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``, ``draft.theorem-wls`` (docs/theory.md#s4 to
    docs/theory.md#d4-wls), ``draft.lemma-taylor``, ``draft.lemma-wls``, ``paper.prop1``, ``draft.prop1``,
    ``paper.lemma1``, ``paper.theorem1``, ``seed.theorem-aot``, of ``seed.zero-divergence[only-if]``
    (docs/theory.md#s3) and ``paper.theorem2`` (docs/theory.md#p9).

    >>> task = explicit_task([[0.0, 0.0], [0.0, 1.0]], [1.0, 3.0])
    >>> task.prior.tolist(), task.seqs.ravel().tolist()
    ([0.25, 0.75], [0, 1])
    """
    Z = check_array("logits", logits, finite=False)
    w = check_array("weights", weights, finite=False)
    if Z.ndim != 2 or Z.shape[0] < 1 or Z.shape[1] < 2:
        raise ValueError(f"`logits` must be a (T, N) array with T >= 1, N >= 2 (got shape {Z.shape})")
    if not np.all(np.isfinite(Z)):
        raise ValueError("`logits` must be finite")
    if w.shape != (Z.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"`weights` must be {Z.shape[0]} finite non-negative numbers with a positive sum")
    T, N = Z.shape
    cond = np.exp(log_softmax(Z))
    cond /= cond.sum(axis=1, keepdims=True)
    S = 1
    while N**S < T:
        S += 1
    seqs = np.arange(T)[:, None] if S == 1 else all_sequences(N, S)[:T]
    return Task(w / w.sum(), cond, seqs)


def association_on_support(N: int, S: int, T0: int, *, seed) -> Task:
    """An association task (Assumption 1) whose prior is uniform on ``T0`` random sequences (``T_0 = T0``).

    The rows are those of :func:`association_task` with the same seed; the
    support is ``T0`` sequences drawn without replacement (``paper.cor1``,
    ``paper.table1``: memorise exactly ``T_0`` associations).

    References
    ----------
    ``paper.cor1`` (docs/theory.md#p7), ``paper.table1`` (docs/theory.md#p11): memorise exactly ``T_0`` associations
    (docs/theory.md#t-eps).

    >>> task = association_on_support(3, 2, 4, seed=0)
    >>> int((task.prior > 0).sum()), task.is_association()
    (4, True)
    """
    base = association_task(N, S, seed=seed)
    T0 = check_int("T0", T0, minimum=1, maximum=base.T)
    rng = np.random.default_rng(seed + 1)
    prior = np.zeros(base.T)
    prior[rng.choice(base.T, size=T0, replace=False)] = 1.0 / T0
    return Task(prior, base.cond, base.seqs)
