"""Symbolic (sympy) derivations behind ``draft.lemma-taylor`` and ``draft.lookup-theorem`` (D.6).

Each function returns sympy expressions that tests/test_symbolic.py checks
(a residual that simplifies to 0, a derivative with a known sign, a solved
equation). Nothing here is numeric except where a counterexample is named.

- (a) ``draft.lemma-taylor`` identity: ``KL(pi_t || softmax f) = log E_{o~pi_t} e^{fbar_t(o)}``
  (:func:`kl_identity_residual`), and ``E e^{fbar} = 1 + Var/2 + E exp3(fbar)``
  when ``E fbar = 0`` (:func:`taylor_residual`).
- (b) ``exp3``: series ``x^3/6 + x^4/24 + ...`` with all coefficients ``1/k! > 0``
  (so ``|exp3(x)| <= exp3(|x|)`` and ``exp3 >= 0`` on ``x >= 0``); the two
  facts that close the lemma: ``E e^{fbar} >= 1`` (``e^x >= 1 + x``) and
  ``|log u - log v| <= |u - v|`` for ``u, v >= 1``.
- (c) D.6: solving ``1 + (N-1) e^{-lambda k} = e^h`` gives the ``lambda`` bounds
  (``k = 1 - 2C`` upper, ``k = 1 + 2C`` lower); the encoder's row divergence
  is exactly ``lambda sum_{o != g} pi_o (-a_o)``; ``psi`` is convex (so the
  simplified form of ``paper.theorem2`` does not follow by Jensen) and
  ``q log((N-1)(1-q)/q)`` is concave (the corrected simplified form does).
"""

from __future__ import annotations

import sympy as sp

from .validate import check_int

__all__ = [
    "exp3_expr",
    "kl_identity_residual",
    "taylor_residual",
    "exp3_series_coefficients",
    "exp3_derivatives_at_0",
    "log_lipschitz_derivative",
    "lambda_bound_solution",
    "lookup_kl_identity_residual",
    "psi_second_derivative",
    "phi_second_derivative",
]

x = sp.Symbol("x", real=True)


def exp3_expr(v=x):
    """``exp3(v) = e^v - 1 - v - v^2/2`` as a sympy expression.

    References
    ----------
    docs/theory.md#notation (``exp3``); ``draft.lemma-taylor`` (docs/theory.md#d2), ``draft.theorem-ls``,
    ``draft.theorem-wls`` (docs/theory.md#d4, docs/theory.md#d4-wls).

    >>> exp3_expr()
    -x**2/2 - x + exp(x) - 1
    """
    return sp.exp(v) - 1 - v - v**2 / 2


def _row_symbols(N):
    N = check_int("N", N, minimum=2, maximum=6)
    p = sp.symbols(f"p0:{N - 1}", positive=True)
    pi = list(p) + [1 - sum(p)]  # Assumption 2 row, sums to 1 by construction
    f = sp.symbols(f"f0:{N}", real=True)
    return pi, f


def kl_identity_residual(N: int = 3):
    """``KL(pi || softmax f) - log sum_o pi_o e^{fbar_o}`` for symbolic ``pi`` (sums to 1) and ``f``; simplifies to 0.

    ``fbar_o = f_o - L_o - sum_j pi_j (f_j - L_j)``, ``L = log pi`` (``draft.lemma-taylor``).

    References
    ----------
    ``draft.lemma-taylor[identity]`` (``dKL = E_t log E_{o~pi_t} e^{fbar_t(o)}``; docs/theory.md#d2).

    >>> sp.simplify(kl_identity_residual(2))
    0
    """
    pi, f = _row_symbols(N)
    L = [sp.log(q) for q in pi]
    lse = sp.log(sum(sp.exp(fo) for fo in f))
    kl = sum(q * (Lo - (fo - lse)) for q, Lo, fo in zip(pi, L, f))
    m = sum(q * (fo - Lo) for q, fo, Lo in zip(pi, f, L))
    inner = sum(q * sp.exp(fo - Lo - m) for q, fo, Lo in zip(pi, f, L))
    # exp(-log pi) pi = 1 and exp(-m) factors out: log inner = lse - m
    inner = sp.powsimp(sp.expand(sp.simplify(inner * sp.exp(m))), force=True)
    return sp.expand(kl - (sp.log(inner) - m))


def taylor_residual(N: int = 3):
    """``E_pi e^{b} - (1 + E_pi b^2 / 2 + E_pi exp3(b))`` with ``E_pi b = 0`` imposed; expands to 0.

    ``b`` plays ``fbar_t``; the last coordinate is solved from ``E_pi b = 0``.

    References
    ----------
    ``draft.lemma-taylor`` (the expansion behind the bound; docs/theory.md#d2).

    >>> sp.simplify(taylor_residual(3))
    0
    """
    pi, _ = _row_symbols(N)
    b = list(sp.symbols(f"b0:{N - 1}", real=True))
    b.append(sp.solve(sp.Eq(sum(q * bo for q, bo in zip(pi[:-1], b)) + pi[-1] * sp.Symbol("bl"), 0),
                      sp.Symbol("bl"))[0])
    E = lambda g: sum(q * g(bo) for q, bo in zip(pi, b))  # noqa: E731
    return sp.expand(E(sp.exp) - (1 + E(lambda v: v**2) / 2 + E(exp3_expr)))


def exp3_series_coefficients(order: int = 10) -> list:
    """Taylor coefficients of ``exp3`` at 0 up to ``x^{order-1}``: ``[0, 0, 0, 1/6, 1/24, ...]``.

    References
    ----------
    ``draft.lemma-taylor`` (the remainder ``E_t exp3(||fbar_t||_2)``; docs/theory.md#d2); ``exp3`` of
    docs/theory.md#notation.

    >>> exp3_series_coefficients(6)
    [0, 0, 0, 1/6, 1/24, 1/120]
    """
    order = check_int("order", order, minimum=4, maximum=40)
    s = sp.series(exp3_expr(), x, 0, order).removeO()
    return [sp.Poly(s, x).coeff_monomial(x**k) for k in range(order)]


def exp3_derivatives_at_0() -> tuple:
    """``(exp3(0), exp3'(0), exp3''(0), exp3''')``: ``(0, 0, 0, e^x)``, so ``exp3 >= 0`` on ``x >= 0``.

    References
    ----------
    ``draft.lemma-taylor`` (the remainder ``E_t exp3(||fbar_t||_2)``; docs/theory.md#d2); ``exp3`` of
    docs/theory.md#notation.

    >>> exp3_derivatives_at_0()
    (0, 0, 0, exp(x))
    """
    e = exp3_expr()
    return (e.subs(x, 0), sp.diff(e, x).subs(x, 0), sp.diff(e, x, 2).subs(x, 0), sp.diff(e, x, 3))


def log_lipschitz_derivative():
    """``(d/du log u, sup over u >= 1)``: ``(1/u, 1)``, so ``|log u - log v| <= |u - v|`` for ``u, v >= 1``.

    Used with ``u = E e^{fbar} = 1 + Var/2 + E exp3(fbar) >= 1`` (``e^x >= 1 + x``
    and ``E fbar = 0``) and ``v = 1 + Var/2 >= 1``: the lemma's remainder is
    ``|E exp3(fbar)| <= E exp3(|fbar|) <= exp3(||fbar||_2)``.

    References
    ----------
    ``draft.lemma-taylor`` (the step from the identity to the bound; docs/theory.md#d2).

    >>> log_lipschitz_derivative()
    (1/u, 1)
    """
    u = sp.Symbol("u", positive=True)
    dlog = sp.diff(sp.log(u), u)
    sup = sp.maximum(dlog, u, sp.Interval(1, sp.oo))
    return dlog, sup


def lambda_bound_solution(sign: int = -1):
    """Solve ``1 + (N-1) e^{-lambda (1 + 2 sign C)} = e^h`` for ``lambda``.

    ``sign = -1``: the upper bound of D.6, ``log((N-1)/(e^h-1))/(1-2C)``;
    ``sign = +1``: the lower companion with ``1 + 2C``. Why it bounds: with
    ``a_j in [-(1+2C), -(1-2C)]`` for ``j != g``,
    ``e^h = 1 + sum_{j!=g} e^{lambda a_j}`` lies between the two left sides,
    which decrease in ``lambda``.

    References
    ----------
    ``draft.lookup-theorem[lambda-bound]`` (draft D.6; docs/theory.md#d6).

    >>> lam = lambda_bound_solution(-1)
    >>> N, h, C = sp.symbols("N h C", positive=True)
    >>> sp.simplify(lam - sp.log((N - 1) / (sp.exp(h) - 1)) / (1 - 2 * C))
    0
    """
    N, h, C, lam = sp.symbols("N h C lambda", positive=True)
    k = 1 + 2 * sign * C
    sols = sp.solve(sp.Eq(1 + (N - 1) * sp.exp(-lam * k), sp.exp(h)), lam)
    if len(sols) != 1:
        raise ValueError(f"expected one solution for lambda (got {sols})")
    return sp.simplify(sols[0])


def lookup_kl_identity_residual(N: int = 3):
    """Residual of ``KL(pi || softmax(lambda a)) = lambda sum_o pi_o (-a_o)`` given ``log sum e^{lambda a} = h``.

    Row ``g = 0`` (``a_0 = 0``), symbolic ``pi`` (sums to 1), ``a_1..``, ``lambda``;
    ``h`` is the Shannon entropy of ``pi``. The residual is
    ``KL - lambda sum pi (-a)`` with ``logsumexp(lambda a)`` replaced by ``h``.

    References
    ----------
    ``draft.lookup-theorem[divergence]`` (the encoder's row divergence; docs/theory.md#d6, Notes).

    >>> sp.simplify(lookup_kl_identity_residual(3))
    0
    """
    pi, _ = _row_symbols(N)
    lam = sp.Symbol("lambda", positive=True)
    a = [sp.Integer(0)] + list(sp.symbols(f"a1:{N}", negative=True))
    h = -sum(q * sp.log(q) for q in pi)
    lse = h  # the defining equation of lambda(t)
    kl = sum(q * (sp.log(q) - (lam * ao - lse)) for q, ao in zip(pi, a))
    return sp.expand(kl - lam * sum(q * (-ao) for q, ao in zip(pi, a)))


def psi_second_derivative():
    """``psi''(h)`` for ``psi(h) = log((N-1)/(e^h - 1))``: ``e^h/(e^h - 1)^2 > 0`` (convex).

    Hence ``psi(E h) <= E psi(h)``: the simplified form of ``paper.theorem2``
    (``psi`` of the mean entropy) is *smaller* than the first form in general.

    References
    ----------
    ``paper.theorem2[simplified]`` and ``paper.theorem2[first<=simplified]`` (docs/theory.md#p9, Notes: the Jensen
    step between the two forms).

    >>> h = sp.Symbol("h", positive=True)
    >>> sp.simplify((psi_second_derivative() - sp.exp(h) / (sp.exp(h) - 1)**2).rewrite(sp.exp))
    0
    """
    h, N = sp.symbols("h N", positive=True)
    return sp.together(sp.diff(sp.log((N - 1) / (sp.exp(h) - 1)), h, 2))


def phi_second_derivative():
    """``phi''(q)`` for ``phi(q) = q log((N-1)(1-q)/q)``: ``-1/(q (1-q)^2) < 0`` on ``(0, 1)`` (concave).

    References
    ----------
    ``paper.theorem2[first<=simplified]`` (docs/theory.md#p9: the Jensen step, which holds for the concave ``phi``).
    `paper.theorem2+simplified-q` is this project's corrected simplified form, a bound of
    ``theory.bounds.CATALOGUE`` registered as the corrected claim of
    ``paper.theorem2[simplified]`` (docs/theory.md#p9).

    >>> q = sp.Symbol("q", positive=True)
    >>> sp.simplify(phi_second_derivative() + 1 / (q * (1 - q)**2))
    0
    """
    q, N = sp.symbols("q N", positive=True)
    return sp.simplify(sp.diff(q * sp.log((N - 1) * (1 - q) / q), q, 2))
