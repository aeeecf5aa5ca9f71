"""Divergences of a logit map, entropies and the Taylor proxy of ``draft.lemma-taylor``.

Conventions (THEORY.md section 0): a logit map is a ``(T, N)`` matrix ``F``
whose row ``t`` is ``f(t)``; probabilities are ``softmax(f(t))``, computed
with a stable log-softmax. ``0 log 0 = 0``. The sources' ``H(pi_t)`` is the
NEGATIVE entropy; here :func:`entropy` is Shannon's ``h = -H >= 0``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from theory.validate import check_distribution, check_logits, check_rows_stochastic

__all__ = [
    "log_softmax",
    "kl_rows",
    "kl",
    "entropy",
    "exp3",
    "fbar",
    "taylor_proxy",
    "taylor_remainder_bound",
    "center_rows",
]


def log_softmax(F: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(F)``, stable: ``F - logsumexp(F)``.

    >>> log_softmax(np.array([[1000.0, 1.0]])).round(6).tolist()
    [[0.0, -999.0]]
    """
    F = np.asarray(F, dtype=np.float64)
    return F - logsumexp(F, axis=-1, keepdims=True)


def _check_pair(cond, F):
    P = check_rows_stochastic("cond", cond)
    F = check_logits("F", F, shape=P.shape)
    return P, F


def kl_rows(cond: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Per-sequence ``KL(pi_t || softmax(f(t)))``, ``(T,)``.

    Formula: ``sum_o pi(o|t) [log pi(o|t) - log softmax(f(t))_o]`` with
    ``0 log 0 = 0``. Tiny negative values from rounding (``>= -1e-15`` per
    row scale) are returned as computed, never clipped.

    >>> P = np.array([[0.5, 0.5], [1.0, 0.0]])
    >>> kl_rows(P, np.log(P + 1e-300)).round(12).tolist()
    [0.0, 0.0]
    """
    P, F = _check_pair(cond, F)
    ls = log_softmax(F)
    pos = P > 0
    terms = np.zeros_like(P)
    terms[pos] = P[pos] * (np.log(P[pos]) - ls[pos])
    return terms.sum(axis=1)


def kl(prior: np.ndarray, cond: np.ndarray, F: np.ndarray) -> float:
    """Prior-weighted divergence ``dKL(pi, f) = sum_t p(t) KL(pi_t || softmax f(t))``.

    Claim ids: all (THEORY.md section 0, "Divergence").

    >>> P = np.array([[0.25, 0.75]])
    >>> bool(np.isclose(kl(np.array([1.0]), P, np.zeros((1, 2))), 0.25*np.log(0.5) + 0.75*np.log(1.5)))
    True
    """
    p = check_distribution("prior", prior)
    rows = kl_rows(cond, F)
    if p.shape[0] != rows.shape[0]:
        raise ValueError(f"`prior` must have length T={rows.shape[0]} (got {p.shape[0]})")
    return float(p @ rows)


def entropy(cond: np.ndarray) -> np.ndarray:
    """Shannon entropy ``h(pi_t) = -sum_o pi log pi >= 0`` of each row, ``(T,)``.

    The sources' ``H(pi_t)`` is ``-h``; ``e^{h}`` is the perplexity.

    >>> bool(np.isclose(entropy(np.full((1, 4), 0.25))[0], np.log(4)))
    True
    """
    P = check_rows_stochastic("cond", cond)
    pos = P > 0
    terms = np.zeros_like(P)
    terms[pos] = -P[pos] * np.log(P[pos])
    return terms.sum(axis=1)


def exp3(x) -> np.ndarray:
    """``exp3(x) = e^x - 1 - x - x^2/2``, accurate for small ``|x|``.

    For ``|x| < 0.1`` the series ``sum_{k>=3} x^k/k!`` (to ``k = 12``,
    truncation below 1e-20 relative) replaces the cancelling difference.

    >>> x = 1e-3; round(float(exp3(x)) / (x**3 / 6), 9)  # = 1 + x/4 + x^2/20 + ...
    1.00025005
    >>> float(np.expm1(x) - x - x*x/2) == float(exp3(x))  # the naive form loses digits
    False
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) < 0.1
    xs = x[small]
    term = xs**3 / 6.0
    acc = term.copy()
    for k in range(4, 13):
        term = term * xs / k
        acc += term
    out[small] = acc
    xl = x[~small]
    out[~small] = np.expm1(xl) - xl - 0.5 * xl * xl
    return out if out.ndim else out[()]


def center_rows(X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Subtract each row's mean (uniform, or weighted by the rows of ``weights``)."""
    X = np.asarray(X, dtype=np.float64)
    if weights is None:
        return X - X.mean(axis=1, keepdims=True)
    return X - np.sum(weights * X, axis=1, keepdims=True)


def fbar(cond: np.ndarray, F: np.ndarray) -> np.ndarray:
    """``fbar_t = f(t) - L_t - E_{o~pi_t}[f(t)_o - L_{t,o}]`` (``draft.lemma-taylor``), ``(T, N)``.

    Needs Assumption 2 (every ``pi(o|t) > 0``) so that ``L = log Pi`` is finite.
    """
    P, F = _check_pair(cond, F)
    if not np.all(P > 0):
        raise ValueError("`cond` must satisfy Assumption 2 (full support, every pi(o|t) > 0) for fbar")
    D = F - np.log(P)
    return D - np.sum(P * D, axis=1, keepdims=True)


def taylor_proxy(prior: np.ndarray, cond: np.ndarray, F: np.ndarray) -> float:
    """``E_t log(1 + Var_{o~pi_t}(fbar_t) / 2)``, the proxy of ``draft.lemma-taylor``."""
    p = check_distribution("prior", prior)
    P = np.asarray(cond, dtype=np.float64)
    fb = fbar(cond, F)
    var = np.sum(P * fb**2, axis=1)  # E_pi fbar = 0 by construction
    return float(p @ np.log1p(var / 2.0))


def taylor_remainder_bound(prior: np.ndarray, cond: np.ndarray, F: np.ndarray) -> float:
    """``E_t exp3(||fbar_t||_2)``, the right-hand side of ``draft.lemma-taylor``."""
    p = check_distribution("prior", prior)
    fb = fbar(cond, F)
    return float(p @ exp3(np.linalg.norm(fb, axis=1)))
