"""Independent reference formulas for the package's kernels (issue 17, item 2): written differently.

Every function here recomputes a quantity of docs/theory.md from its definition, in mpmath at ``dps``
digits with explicit loops over Python lists, sharing no code with ``aotmem.theory`` (neither its
float64 kernels nor the 50-digit ``theory.precise`` twins), and where possible by another route:

- divergence: ``sum_t p_t sum_o pi log(pi / softmax)`` with the softmax as ``e^F / sum e^F`` (the
  package uses a log-softmax);
- singular values of the centred ``L``: square roots of the eigenvalues of the Gram matrix
  ``L_c^T L_c`` (``mpmath.eigsy``; the package uses an SVD);
- the bounds of ``theory.bounds.CATALOGUE``: their formulas as docs/theory.md writes them, row by row;
- ``f_ls``: ``F = L_c^{unw} V_d V_d^T`` with ``V_d`` the top-``d`` eigenvectors of the Gram matrix
  (Eckart-Young; the package uses the SVD's right singular vectors);
- the ``draft.lemma-wls`` encoder: the ``d x d`` normal equations in covariance form,
  ``Cov_pi(w) e = Cov_pi(w, l)``, solved by LU (the package solves a QR least-squares problem);
- the weighted objective as ``E_pi[D^2] - E_pi[D]^2`` (the package centres first), and one W-step of
  the alternating fit as ``N`` weighted regressions solved by LU (a fixed-point test);
- the ``min`` map: ``E_t min(KL_t(f_ls), KL_t(f_wls))`` from the two references above;
- the look-up ``lambda`` by bisection on ``h = log sum_j e^{lambda a_j}`` (the package: Newton on the
  ``j != g`` terms); the ``paper.prop3`` logits as ``E W^T`` (the package: a cosine of angle differences).

Inputs are float64 arrays (converted exactly); each row of ``cond`` and the prior are divided by
their exact sums, as ``theory.precise`` does, so the instance is a distribution to ``10^-dps``.
Results are ``mpmath.mpf`` or lists of lists of ``mpf``.
"""

from __future__ import annotations

import mpmath as mp

DPS = 50


def _mpf(x):
    return mp.mpf(float(x))


def instance(prior, cond):
    """``(p, P)`` as lists of ``mpf``, each normalised by its exact sum."""
    p = [_mpf(x) for x in prior]
    sp = mp.fsum(p)
    P = []
    for row in cond:
        r = [_mpf(x) for x in row]
        s = mp.fsum(r)
        P.append([x / s for x in r])
    return [x / sp for x in p], P


def _logs(P):
    return [[mp.log(x) for x in row] for row in P]


# ------------------------------------------------------------------ divergence

def kl_rows(cond, F, dps=DPS):
    """``KL(pi_t || softmax F_t)`` per row: ``sum_o pi log(pi / (e^{F_o} / sum_k e^{F_k}))``, ``0 log 0 = 0``."""
    with mp.workdps(dps + 10):
        _, P = instance([1.0] * len(cond), cond)
        out = []
        for pi, f in zip(P, F):
            f = [v if isinstance(v, mp.mpf) else _mpf(v) for v in f]
            z = mp.fsum(mp.exp(v) for v in f)
            out.append(mp.fsum(a * mp.log(a * z / mp.exp(v)) for a, v in zip(pi, f) if a > 0))
        return out


def kl(prior, cond, F, dps=DPS):
    """``dKL(pi, f) = sum_t p(t) KL(pi_t || softmax f(t))`` (docs/theory.md#divergence)."""
    with mp.workdps(dps + 10):
        p, _ = instance(prior, cond)
        return mp.fsum(a * b for a, b in zip(p, kl_rows(cond, F, dps)))


# ------------------------------------------------------------------ spectra

def centred(prior, cond, reading, dps=DPS):
    """The centred ``L`` of ``reading`` (docs/theory.md#sigma), rows as lists."""
    with mp.workdps(dps + 10):
        p, P = instance(prior, cond)
        L = _logs(P)
        out = []
        for t in range(len(L)):
            N = len(L[t])
            if reading.startswith("uniform"):
                c = mp.fsum(L[t]) / N
            else:
                c = mp.fsum(P[t][o] * L[t][o] for o in range(N))
            row = [L[t][o] - c for o in range(N)]
            if reading.endswith("-prior"):
                row = [mp.sqrt(p[t]) * v for v in row]
            out.append(row)
        return out


def _gram(X):
    """``X^T X`` (columns' inner products) as an mpmath matrix."""
    n = len(X[0])
    G = mp.matrix(n, n)
    for i in range(n):
        for j in range(n):
            G[i, j] = mp.fsum(row[i] * row[j] for row in X)
    return G


def _eig_desc(X):
    """Eigenvalues (descending) and eigenvectors (columns, same order) of ``X^T X``."""
    ev, Q = mp.eigsy(_gram(X))
    order = sorted(range(len(ev)), key=lambda i: -ev[i])
    return [ev[i] for i in order], [[Q[r, i] for r in range(Q.rows)] for i in order]


def singular_values(prior, cond, reading, dps=DPS):
    """Singular values of the centred ``L``, descending, ``min(T, N)`` of them: ``sqrt(eig(L_c^T L_c))``."""
    with mp.workdps(2 * dps + 10):  # squaring halves the digits of the small ones: work at twice the precision
        Lc = centred(prior, cond, reading, 2 * dps)
        ev, _ = _eig_desc(Lc)
        k = min(len(Lc), len(Lc[0]))
        return [mp.sqrt(max(v, mp.mpf(0))) for v in ev[:k]]


def sigma(prior, cond, j, reading, dps=DPS):
    s = singular_values(prior, cond, reading, dps)
    return s[j - 1] if j <= len(s) else mp.mpf(0)


# ------------------------------------------------------------------ bounds

def exp3(x):
    """``e^x - 1 - x - x^2/2`` (at 40 extra digits: the cancellation costs ~3 log10(1/x) digits for small x)."""
    with mp.workdps(mp.mp.dps + 40):
        return mp.exp(x) - 1 - x - x * x / 2


def _E(p, rows):
    return mp.fsum(a * r for a, r in zip(p, rows) if a > 0)


def almost_rank_bound(claim, form, prior, cond, d, sigma_reading, inf_reading="global", dps=DPS):
    """The almost-rank-d bounds, as docs/theory.md#s4, #s5, #d4, #d4-wls write them.

    ``claim``/``form``: ``("seed", "ls")``, ``("seed", "wls")``, ``("draft", "ls")``, ``("draft", "wls")``,
    ``("draft", "min")``; ``s = sigma_{d+1}`` of ``sigma_reading``; ``inf_reading`` for the seed forms.
    """
    with mp.workdps(dps + 10):
        p, P = instance(prior, cond)
        N = len(P[0])
        s = sigma(prior, cond, d + 1, sigma_reading, dps)
        if claim == "seed":
            def row(hi, lo):
                if form == "ls":
                    return N * hi**2 * s**2 + (N * hi) ** mp.mpf(1.5) * s**3
                return hi * s**2 + (hi / lo) ** mp.mpf(1.5) * s**3
            if inf_reading == "global":
                return row(max(max(r) for r in P), min(min(r) for r in P))
            return _E(p, [row(max(r), min(r)) for r in P])
        ls_rows, wls_rows = [], []
        for r in P:
            hi, lo = max(r), min(r)
            C = 1 + N * hi / mp.sqrt(2)
            ls_rows.append(mp.log(1 + hi * C * s**2 / 2) + exp3(mp.sqrt(C) * s))
            wls_rows.append(mp.log(1 + hi * s**2 / 2) + exp3(mp.sqrt(hi / lo) * s))
        rows = {"ls": ls_rows, "wls": wls_rows, "min": [min(a, b) for a, b in zip(ls_rows, wls_rows)]}[form]
        return _E(p, rows)


def _entropy(pi):
    return -mp.fsum(a * mp.log(a) for a in pi if a > 0)


def lookup_bound(form, prior, cond, d, C=None, dps=DPS):
    """The look-up bounds of docs/theory.md#s6, #d6, #p9 (``psi(h) = log((N-1)/(e^h - 1))``, ``q = 1 - max pi``).

    ``form``: ``seed`` (``E[q psi] (1+4C)/(1-2C)``), ``draft`` (``E[q psi (1+2C+C dTV)]/(1-2C)``), ``tight``
    (``(1+2C)``), ``simplified`` (``E[q] (1+4C)/(1-2C) psi(E[h])``), ``simplified-q``
    (``E[q] (1+4C)/(1-2C) log((N-1)(1-E q)/E q)``). ``mp.inf`` when ``C >= 1/2``.
    """
    with mp.workdps(dps + 10):
        p, P = instance(prior, cond)
        N = len(P[0])
        C = mp.sqrt(32 * mp.log(N + 1) / d) if C is None else _mpf(C)
        if C >= mp.mpf(1) / 2:
            return mp.inf
        qs, qpsi, dtv, hs = [], [], [], []
        for pi in P:
            g = max(range(N), key=lambda o: pi[o])
            q = mp.fsum(pi[o] for o in range(N) if o != g)
            h = _entropy(pi)
            qs.append(q)
            hs.append(h)
            qpsi.append(q * mp.log((N - 1) / (mp.exp(h) - 1)) if q > 0 else mp.mpf(0))
            dtv.append(mp.fsum(abs(pi[o] / q - mp.mpf(1) / (N - 1)) for o in range(N) if o != g) / 2
                       if q > 0 else mp.mpf(0))
        if form == "seed":
            return _E(p, qpsi) * (1 + 4 * C) / (1 - 2 * C)
        if form == "tight":
            return _E(p, qpsi) * (1 + 2 * C) / (1 - 2 * C)
        if form == "draft":
            return _E(p, [a * (1 + 2 * C + C * b) for a, b in zip(qpsi, dtv)]) / (1 - 2 * C)
        Eq = _E(p, qs)
        if Eq == 0:
            return mp.mpf(0)
        if form == "simplified":
            return Eq * (1 + 4 * C) / (1 - 2 * C) * mp.log((N - 1) / (mp.exp(_E(p, hs)) - 1))
        if form == "simplified-q":
            return Eq * (1 + 4 * C) / (1 - 2 * C) * mp.log((N - 1) * (1 - Eq) / Eq)
        raise ValueError(form)


# ------------------------------------------------------------------ entropy, log-softmax, Taylor quantities

def entropy_rows(cond, dps=DPS):
    """``h(pi_t) = sum_o pi log(1/pi)`` per row (``0 log 0 = 0``)."""
    with mp.workdps(dps + 10):
        _, P = instance([1.0] * len(cond), cond)
        return [mp.fsum(a * mp.log(1 / a) for a in pi if a > 0) for pi in P]


def log_softmax(F, dps=DPS):
    """``log(e^{F_o} / sum_k e^{F_k})`` per entry (the package subtracts a log-sum-exp)."""
    with mp.workdps(dps + 10):
        out = []
        for f in F:
            e = [mp.exp(_mpf(v)) for v in f]
            z = mp.fsum(e)
            out.append([mp.log(x / z) for x in e])
        return out


def _fbar_rows(P, F):
    """``fbar_t = (F_t - L_t) - E_pi(F_t - L_t)`` from its definition (loops, ``L = log pi``)."""
    out = []
    for pi, f in zip(P, F):
        D = [_mpf(v) - mp.log(a) for v, a in zip(f, pi)]
        m = mp.fsum(a * x for a, x in zip(pi, D))
        out.append([x - m for x in D])
    return out


def fbar(cond, F, dps=DPS):
    with mp.workdps(dps + 10):
        _, P = instance([1.0] * len(cond), cond)
        return _fbar_rows(P, F)


def taylor(kind, prior, cond, F, dps=DPS):
    """``draft.lemma-taylor``: ``proxy`` ``E_t log(1 + Var/2)`` with ``Var = E_pi fbar^2 - (E_pi fbar)^2``
    (the package uses ``E_pi fbar^2`` of the centred ``fbar``, scaled); ``remainder`` ``E_t exp3(||fbar_t||)``
    (``exp3`` by :func:`exp3`); ``identity`` ``E_t log sum_o pi_o e^{fbar_o}`` (no max subtracted)."""
    with mp.workdps(dps + 10):
        p, P = instance(prior, cond)
        rows = []
        for pi, fb in zip(P, _fbar_rows(P, F)):
            if kind == "proxy":
                m1 = mp.fsum(a * x for a, x in zip(pi, fb))
                rows.append(mp.log(1 + (mp.fsum(a * x * x for a, x in zip(pi, fb)) - m1 * m1) / 2))
            elif kind == "remainder":
                rows.append(exp3(mp.sqrt(mp.fsum(x * x for x in fb))))
            else:
                rows.append(mp.log(mp.fsum(a * mp.exp(x) for a, x in zip(pi, fb))))
        return _E(p, rows)


def lookup_terms(cond, dps=DPS):
    """``(q_t, q_t psi(h_t), dTV_t)`` per row, from their definitions (docs/theory.md#d6)."""
    with mp.workdps(dps + 10):
        _, P = instance([1.0] * len(cond), cond)
        out = []
        for pi in P:
            N = len(pi)
            g = max(range(N), key=lambda o: pi[o])
            q = 1 - pi[g]
            rest = [pi[o] for o in range(N) if o != g]
            qpsi = q * mp.log((N - 1) / (mp.exp(_entropy(pi)) - 1)) if q > 0 else mp.mpf(0)
            dtv = mp.fsum(abs(x / q - mp.mpf(1) / (N - 1)) for x in rest) / 2 if q > 0 else mp.mpf(0)
            out.append((q, qpsi, dtv))
        return out


def lookup_lambda(h, W, g, dps=DPS):
    """The D.6 ``lambda`` solving ``h = log sum_j exp(lambda (w_j - w_g)^T w_g)`` (docs/theory.md#d6), the
    equation as written (the package solves ``log sum_{j != g} = log(e^h - 1)`` by Newton): bisection on
    ``[0, hi]``, ``hi`` doubled until the right side is below ``h``; the gaps summed from the rows of ``W``.
    Needs ``0 < h < log N`` and every gap ``< 0``."""
    with mp.workdps(dps + 20):
        W = [[_mpf(x) for x in row] for row in W]
        a = [mp.fsum(x * y for x, y in zip(w, W[g])) - mp.fsum(x * x for x in W[g]) for w in W]
        h = _mpf(h)

        def phi(lam):
            return mp.log(mp.fsum(mp.exp(lam * x) for x in a))

        lo, hi = mp.mpf(0), mp.mpf(1)
        while phi(hi) > h:
            lo, hi = hi, 2 * hi
        for _ in range(mp.mp.prec + 10):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if phi(mid) > h else (lo, mid)
        return (lo + hi) / 2


def prop3_logits(g, N, s, dps=DPS):
    """The ``paper.prop3`` logits ``F_{t,o} = s w_{g(t)}^T w_o``, ``w_j = (cos 2 pi j/N, sin 2 pi j/N)``, as the
    dot product ``E W^T`` (the package writes it as the cosine of the angle difference)."""
    with mp.workdps(dps + 10):
        w = [(mp.cos(2 * mp.pi * j / N), mp.sin(2 * mp.pi * j / N)) for j in range(N)]
        return [[_mpf(s) * (w[gt][0] * w[o][0] + w[gt][1] * w[o][1]) for o in range(N)] for gt in g]


# ------------------------------------------------------------------ fits

def _matmul_T(E, W):
    """``E W^T`` for lists of rows ``E (T, d)``, ``W (N, d)``."""
    return [[mp.fsum(a * b for a, b in zip(e, w)) for w in W] for e in E]


def ls_logits(prior, cond, d, reading, dps=DPS):
    """``F`` of ``f_ls`` (Eckart-Young): ``L_c^{unw} V_d V_d^T``, ``V_d`` the top-``d`` eigenvectors of
    ``L_c^T L_c`` (``L_c`` of ``reading``, weighted for ``-prior``), ``L_c^{unw}`` without the ``sqrt p``
    weights. Needs ``sigma_d > sigma_{d+1}`` and ``sigma_d > 0`` (a unique map; no completion)."""
    with mp.workdps(dps + 10):
        Lc = centred(prior, cond, reading, dps)
        Lu = centred(prior, cond, reading.removesuffix("-prior"), dps)
        _, V = _eig_desc(Lc)
        W = [[V[k][o] for k in range(d)] for o in range(len(Lc[0]))]  # (N, d)
        return _matmul_T(_matmul_T(Lu, [list(c) for c in zip(*W)]), W)


def ls_basis(prior, cond, d, reading, dps=DPS):
    """``W (N, d)``: the top-``d`` eigenvectors of ``L_c^T L_c`` as rows ``w_o`` (``f_ls``'s ``W`` up to a rotation)."""
    with mp.workdps(dps + 10):
        _, V = _eig_desc(centred(prior, cond, reading, dps))
        return [[V[k][o] for k in range(d)] for o in range(len(V[0]))]


def wls_encoder(cond, W, dps=DPS):
    """``draft.lemma-wls``: per row ``Cov_pi(w) e = Cov_pi(w, l)`` (``= W^T (I_pi - pi pi^T) W e = W^T (I_pi - pi pi^T) L_t``),
    solved by LU; ``W`` rows ``w_o`` (floats or ``mpf``). Returns ``E (T, d)``."""
    with mp.workdps(dps + 10):
        _, P = instance([1.0] * len(cond), cond)
        L = _logs(P)
        W = [[v if isinstance(v, mp.mpf) else _mpf(v) for v in w] for w in W]
        d = len(W[0])
        E = []
        for pi, l in zip(P, L):
            wbar = [mp.fsum(a * w[k] for a, w in zip(pi, W)) for k in range(d)]
            lbar = mp.fsum(a * v for a, v in zip(pi, l))
            A = mp.matrix(d, d)
            b = mp.matrix(d, 1)
            for i in range(d):
                for j in range(d):
                    A[i, j] = mp.fsum(a * (w[i] - wbar[i]) * (w[j] - wbar[j]) for a, w in zip(pi, W))
                b[i] = mp.fsum(a * (w[i] - wbar[i]) * (v - lbar) for a, w, v in zip(pi, W, l))
            e = mp.lu_solve(A, b)
            E.append([e[i] for i in range(d)])
        return E


def wls_logits(cond, W, dps=DPS):
    with mp.workdps(dps + 10):
        W = [[v if isinstance(v, mp.mpf) else _mpf(v) for v in w] for w in W]
        return _matmul_T(wls_encoder(cond, W, dps), W)


def weighted_objective(prior, cond, F, reading="pi-prior", dps=DPS):
    """``R(F) = sum_t w_t (E_pi[D_t^2] - E_pi[D_t]^2)``, ``D = F - L``, ``w_t = p(t)`` (``pi-prior``) or 1 (``pi``)."""
    with mp.workdps(dps + 10):
        p, P = instance(prior, cond)
        L = _logs(P)
        out = []
        for t, (pi, l) in enumerate(zip(P, L)):
            D = [(v if isinstance(v, mp.mpf) else _mpf(v)) - x for v, x in zip(F[t], l)]
            m1 = mp.fsum(a * x for a, x in zip(pi, D))
            m2 = mp.fsum(a * x * x for a, x in zip(pi, D))
            out.append((p[t] if reading == "pi-prior" else 1) * (m2 - m1 * m1))
        return mp.fsum(out)


def w_step_logits(prior, cond, W, E, reading="pi-prior", dps=DPS):
    """One W-step of the alternating fit from ``(W, E)``: ``c_t = E_pi[L_t - F_t]``, then per output ``o``
    ``min_w sum_t w_t pi(o|t) (E_t . w + c_t - L_{t,o})^2`` by its normal equations (LU); returns ``E W_new^T``."""
    with mp.workdps(dps + 10):
        p, P = instance(prior, cond)
        L = _logs(P)
        E = [[v if isinstance(v, mp.mpf) else _mpf(v) for v in e] for e in E]
        F = _matmul_T(E, [[v if isinstance(v, mp.mpf) else _mpf(v) for v in w] for w in W])
        T, N, d = len(P), len(P[0]), len(E[0])
        wt = [p[t] if reading == "pi-prior" else mp.mpf(1) for t in range(T)]
        c = [mp.fsum(P[t][o] * (L[t][o] - F[t][o]) for o in range(N)) for t in range(T)]
        Wn = []
        for o in range(N):
            A = mp.matrix(d, d)
            b = mp.matrix(d, 1)
            for i in range(d):
                for j in range(d):
                    A[i, j] = mp.fsum(wt[t] * P[t][o] * E[t][i] * E[t][j] for t in range(T))
                b[i] = mp.fsum(wt[t] * P[t][o] * (L[t][o] - c[t]) * E[t][i] for t in range(T))
            x = mp.lu_solve(A, b)
            Wn.append([x[i] for i in range(d)])
        return _matmul_T(E, Wn)


def min_divergence(prior, cond, d, sigma_reading, dps=DPS):
    """The ``min`` map (docs/theory.md#d4-wls): ``E_t min(KL_t(f_ls), KL_t(E_w W_U^T))``, ``W_U`` of ``f_ls``."""
    with mp.workdps(dps + 10):
        p, _ = instance(prior, cond)
        F_ls = ls_logits(prior, cond, d, sigma_reading, dps)
        F_w = wls_logits(cond, ls_basis(prior, cond, d, sigma_reading, dps), dps)
        k_ls, k_w = kl_rows(cond, F_ls, dps), kl_rows(cond, F_w, dps)
        return _E(p, [min(a, b) for a, b in zip(k_ls, k_w)])
