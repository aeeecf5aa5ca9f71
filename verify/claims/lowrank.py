"""Claims about rank-d fits and their bounds: ``seed.ls-bound``, ``seed.wls-bound``, ``draft.theorem-ls``,
``draft.theorem-wls``, ``draft.lemma-taylor``, ``draft.lemma-wls``, ``draft.cor-permutation``.

The bound entries are generated from the catalogue :data:`aotmem.theory.bounds.CATALOGUE`
(the same one ``aotmem bounds`` prints): one ledger entry per bound and per map it bounds.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from hypothesis import strategies as st
from scipy.special import logsumexp

from aotmem.theory.batch import evaluate_bound_batch, taylor_bound_batch, taylor_identity_batch, tasks_from_logits
from aotmem.theory.bounds import CATALOGUE, MAP_SUFFIX, sigma_d1
from aotmem.theory.divergence import fbar, kl, taylor_identity_rhs, taylor_proxy, taylor_remainder_bound
from aotmem.theory.exact import H_READINGS, permutation_closed_forms
from aotmem.theory.generators import permutation_of
from aotmem.theory.lowrank import fit_encoder, row_var, wls_encoder, wls_projection
from aotmem.verify.ledger.recipes import RANK_D, describe, full_support_recipes, permutation_recipes, rng_of, task_from
from aotmem.theory.precise import DPS, MP, to_float
from aotmem.verify.ledger.recheck import decided, evaluation_at_dps, guarded
from aotmem.verify.ledger.registry import IDENTITY_RTOL, KL_ATOL, KL_RTOL, PROJ_ATOL, Claim, Evaluation, register
from aotmem.verify.ledger.params import Param, rank_d
from aotmem.verify.ledger.search import RecipeSpace, TaskSpace

# Explicit tasks and the claim's rank d (1 <= d <= min(N-2, T)): families and optimisation over logits,
# prior and d.
TASKS = TaskSpace(params=(RANK_D,))
FSEED = Param("fseed", 0, 2**16 - 1, "lin-int", edge=0.0, note="the draw of the claim's random map")

# ------------------------------------------------- the almost-rank-d bounds --

_FS_REGIME = ("Assumption 2 (full support); 1 <= d <= N-2; almost-rank (sigma_(d+1) in [0, 2.5]), Dirichlet and "
              "explicit small tasks")
_FIT_TEXT = {"ls": "f_ls = rank-d LS fit of the {sr}-centred L",
             "wls": "closed-form f_wls (W_U from the unweighted SVD, E from draft.lemma-wls)",
             "wls-alt": "alternating weighted rank-d f_wls (prior-weighted objective, 50 sweeps)",
             "min": "W_U = W of f_ls ({sr}), each row takes the better of the two encoders"}


def _statement(claim: str, reading: str, fit: str) -> str:
    """The LaTeX statement of a catalogue bound (its reading's form)."""
    per_row = "inf=per-row" in reading
    inf = r"\|\pi_t\|_\infty" if per_row else r"\|\pi\|_\infty"
    mn = r"\|\pi_t\|_{-\infty}" if per_row else r"\|\pi\|_{-\infty}"
    if claim == "seed.ls-bound":
        return (rf"d_{{KL}}(\pi, f_{{ls}}) \le N {inf}^2 \sigma_{{d+1}}^2 + (N {inf})^{{3/2}}\sigma_{{d+1}}^3"
                + (r"\ (\text{inside } E_t)" if per_row else ""))
    if claim == "seed.wls-bound":
        return rf"d_{{KL}}(\pi, f_{{wls}}) \le {inf} \sigma_{{d+1}}^2 + ({inf}/{mn})^{{3/2}}\sigma_{{d+1}}^3"
    if claim == "draft.theorem-ls":
        return (r"d_{KL}(\pi, f_{ls}) \le E_t\Big[\log\big(1 + \|\pi_t\|_\infty C_t \sigma_{d+1}^2/2\big)"
                r" + \mathrm{exp}_3(\sqrt{C_t}\sigma_{d+1})\Big],\ C_t = 1 + N\|\pi_t\|_\infty/\sqrt2")
    if fit == "min":
        return (r"E_t \min\big(\mathrm{KL}_t(f_{ls}), \mathrm{KL}_t(f_{wls})\big) \le "
                r"E_t \min(\text{ls row bound}, \text{wls row bound})\ (\text{shared } W_U)")
    return (r"d_{KL}(\pi, f_{wls}) \le E_t\Big[\log\big(1 + \|\pi_t\|_\infty \sigma_{d+1}^2/2\big)"
            r" + \mathrm{exp}_3\big(\sqrt{\|\pi_t\|_\infty/\|\pi_t\|_{-\infty}}\,\sigma_{d+1}\big)\Big]")


def _sigma_detail(task, d, sr):
    return {"sigma_d+1": sigma_d1(task.prior, task.cond, d, sigma_reading=sr),
            "pi_max": float(task.cond.max()), "pi_min": float(task.cond.min())}


def rank_regime(task, d) -> str | None:
    """The almost-rank-d bounds' regime, ``N >= 3`` and ``1 <= d <= min(N-2, T)``: why an instance is outside, or None.

    (``d >= N - 1`` makes every task exactly representable, ``seed.zero-divergence``; the
    families and the shrinker must not leave the regime the claims are stated in.)
    """
    if task.N < 3 or not 1 <= d <= min(task.N - 2, task.T):
        return f"d = {d} outside 1 <= d <= min(N-2, T) = {min(task.N - 2, task.T)} (N = {task.N}, T = {task.T})"
    return None


def _bound_evaluator(b, fit):
    """``evaluate(recipe)``: the divergence of the map ``fit`` against the catalogue bound ``b``."""
    sr = b.sigma_reading

    def evaluate(recipe):
        task = task_from(recipe)
        d = recipe["d"]
        why = rank_regime(task, d)
        if why:
            return Evaluation.out_of_regime(why)
        p, P = task.prior, task.cond
        lhs = fit_encoder(p, P, d, fit, sr).divergence(p, P)  # every map of lowrank.FITS, `min` included
        return Evaluation(lhs, b.rhs(p, P, d), "<=", atol=KL_ATOL, rtol=KL_RTOL, detail=_sigma_detail(task, d, sr))

    return evaluate


def explicit_groups(recipes: list[dict], key) -> dict:
    """Indices of the explicit recipes grouped by ``key(recipe)`` (one batch per shape and parameters)."""
    groups: dict = {}
    for i, r in enumerate(recipes):
        if r.get("kind") == "explicit" and all(w > 0 for w in r["weights"]):
            groups.setdefault(key(r), []).append(i)
    return groups


def batched(scalar, run_group, key):
    """A claim's ``batch``: ``run_group`` on each group of explicit recipes, ``scalar`` for the rest.

    ``run_group(key, Z (B, T, N), logw (B, T), recipes) -> list of Evaluation or None`` (None: let
    the scalar evaluator decide that instance, e.g. where the batch marks it not ok).
    """
    def batch(recipes):
        out = [None] * len(recipes)
        for k, idx in explicit_groups(recipes, key).items():
            Z = np.array([recipes[i]["logits"] for i in idx], dtype=np.float64)
            lw = np.log(np.array([recipes[i]["weights"] for i in idx], dtype=np.float64))
            for i, ev in zip(idx, run_group(k, Z, lw, [recipes[i] for i in idx])):
                out[i] = ev
        for i, r in enumerate(recipes):
            if out[i] is None:
                try:
                    out[i] = scalar(r)
                except Exception as exc:  # as the runner records a raising evaluation
                    out[i] = exc
        return out
    return batch


def _bound_batch(b, fit):
    """Batched :func:`_bound_evaluator` (:func:`aotmem.theory.batch.evaluate_bound_batch`), same values."""
    def run_group(k, Z, lw, recs):
        T, N, d = k
        if N < 3 or not 1 <= d <= min(N - 2, T):
            return [None] * len(recs)  # outside the regime: the scalar evaluator says so
        lhs, rhs, ok = evaluate_bound_batch(b, fit, Z, lw, d)
        return [Evaluation(lhs[j], rhs[j], "<=", atol=KL_ATOL, rtol=KL_RTOL, detail={"batched": True})
                if ok[j] else None for j in range(len(recs))]
    return batched(_bound_evaluator(b, fit), run_group,
                   lambda r: (len(r["logits"]), len(r["logits"][0]), r["d"]))


def _bound_recheck(b, fit, dps=DPS):
    """Both sides at ``dps`` digits: the map's divergence (``fit_encoder(..., dps=)``) and the bound (``b.rhs(..., dps=)``)."""
    @guarded
    def recheck(recipe, ev):
        task = task_from(recipe)
        p, P, d = task.prior, task.cond, recipe["d"]
        lhs = fit_encoder(p, P, d, fit, b.sigma_reading, dps=dps).divergence(p, P, dps=dps)  # every map of lowrank.FITS
        out = decided(lhs, b.rhs(p, P, d, dps=dps), ev)
        out["dps"] = dps
        return out
    return recheck


# the digits of a decision on an instance float64 refuses: 50, then 100 or 200 where a system is singular at the
# previous one (condition above 10^{dps/2}: 10^25 at 50 digits)
MP_LADDER = (DPS, 2 * DPS, 4 * DPS)


def _bound_decide_mp(b, fit):
    """The instances float64 refuses, at 50 digits, or 100 or 200 where a system is singular at 50 (cond > 1e25)."""
    return evaluation_at_dps(*[_bound_recheck(b, fit, dps) for dps in MP_LADDER])


# Counterexamples the search found once, kept as explicit examples (tests/test_regressions.py recomputes them).
_N11 = {"kind": "almost-rank", "N": 11, "S": 2, "d": 1, "sigma": 0.25, "decay": 0.9, "prior": "uniform", "seed": 0}
_N5S3 = {"kind": "almost-rank", "N": 5, "S": 3, "d": 1, "sigma": 1.0, "decay": 0.9, "prior": "uniform", "seed": 0}
_N6S3 = {"kind": "almost-rank", "N": 6, "S": 3, "d": 1, "sigma": 2.0, "decay": 0.9, "prior": "uniform", "seed": 0}
KEPT = {
    "seed.ls-bound[sigma=uniform-prior,inf=per-row]": (_N11,),
    "seed.wls-bound[sigma=uniform-prior,inf=per-row]": (_N11,),
    "seed.wls-bound[sigma=uniform-prior,inf=per-row,fit=alternating]": (_N11,),
    "draft.theorem-wls[sigma=uniform-prior,fit=alternating]": (_N5S3,),
    "draft.theorem-wls[min,sigma=uniform-prior]": (_N5S3,),
    "draft.theorem-wls[sigma=pi-prior]": (_N6S3,),
    "draft.theorem-wls[sigma=pi-prior,fit=alternating]": (_N6S3,),
    "draft.theorem-wls[min,sigma=pi-prior]": (_N6S3,),
    "draft.theorem-wls[sigma=uniform-prior]": ({"kind": "almost-rank", "N": 7, "S": 2, "d": 1, "sigma": 1.0,
                                                "decay": 0.9, "prior": "uniform", "seed": 0},),
    "draft.theorem-ls[sigma=uniform-prior]": ({"kind": "almost-rank", "N": 7, "S": 2, "d": 1, "sigma": 0.5,
                                               "decay": 0.9, "prior": "uniform", "seed": 0},),
}


def _register_bounds():
    for b in CATALOGUE:
        if b.needs != "assumption2":
            continue
        sr = b.sigma_reading
        regime = _FS_REGIME + ("; E_t weighted by the prior" if b.claim.startswith("draft.") else "")
        for fit in b.maps:
            key = f"{b.claim}[{b.reading}{MAP_SUFFIX[fit]}]"
            register(Claim(
                id=b.claim, reading=b.reading + MAP_SUFFIX[fit], source=b.claim.split(".")[0], kind="bound",
                statement=_statement(b.claim, b.reading, fit), instances=full_support_recipes,
                evaluate=_bound_evaluator(b, fit), describe=describe, examples=KEPT.get(key, ()),
                recheck=_bound_recheck(b, fit), batch=_bound_batch(b, fit),
                decide_mp=_bound_decide_mp(b, fit),
                regime=regime + "; " + _FIT_TEXT[fit].format(sr=sr),
                cost="medium" if fit == "wls-alt" else "cheap", space=TASKS,
            ))


_register_bounds()

# Corrected statements (searched like the originals; docs/theory.md#seed.wls-bound, #draft.theorem-wls).
# The readings below fail as written because the map and sigma_{d+1} weigh the rows differently:
# - prior-weighted sigma (uniform-prior, pi-prior) against f_wls whose W_U comes from the UNweighted
#   SVD: "+matched-W_U" takes W_U of f_ls of the bound's own reading;
# - unweighted sigma (uniform, pi) against the alternating fit of the PRIOR-weighted objective, which
#   neglects rows of small prior: "+unweighted-fit" takes the alternating fit of the unweighted one.
_CORRECTED = (("matched-W_U", "wls-matched", ("uniform-prior", "pi-prior"), "",
               "f_wls with W_U of f_ls of the bound's own sigma reading (the closed form, matched weighting)"),
              ("unweighted-fit", "wls-alt-unweighted", ("uniform", "pi"), ",fit=alternating",
               "alternating weighted rank-d f_wls of the unweighted objective (rows weighted 1, as sigma)"))


def _register_corrections():
    for tag, fit, readings, suffix, text in _CORRECTED:
        for b in CATALOGUE:
            if b.claim not in ("seed.wls-bound", "draft.theorem-wls") or b.reading.startswith("min,"):
                continue
            if b.sigma_reading not in readings:
                continue
            register(Claim(
                id=f"{b.claim}+{tag}", reading=b.reading + suffix, source=b.claim.split(".")[0], kind="bound",
                statement=_statement(b.claim, b.reading, "wls"), instances=full_support_recipes,
                evaluate=_bound_evaluator(b, fit), describe=describe, recheck=_bound_recheck(b, fit),
                decide_mp=_bound_decide_mp(b, fit),
                corrects=f"{b.claim}[{b.reading}{suffix}]", space=TASKS, cost="medium" if "alt" in fit else "cheap",
                regime=_FS_REGIME + "; corrected map: " + text,
            ))


_register_corrections()

# ------------------------------------------------------ draft.lemma-taylor --
_TAYLOR_ENCODERS = ("random", "lowrank")
# The lemma holds for every logit map F: the perturbation's size is searched from 1e-6 (F -> L, where
# both sides vanish) to 10 (|fbar| large), and its random draw too.
_TAYLOR_SPACE = TaskSpace(params=(RANK_D, Param("scale", 1e-6, 10.0, "log", note="size of F - L (or of F)"), FSEED))


@st.composite
def _taylor_recipes(draw, profile="quick"):
    r = draw(full_support_recipes(profile))
    r["encoder"] = draw(st.sampled_from(_TAYLOR_ENCODERS))
    for p in _TAYLOR_SPACE.params[1:]:
        r[p.name] = draw(p.strategy(r["N"], 1))
    return r


def _taylor_logits(recipe):
    """Logits F near ``L``: ``L + scale * G`` (random G), or a random rank-d map scaled."""
    task = task_from(recipe)
    rng = rng_of(recipe)
    L = np.log(task.cond)
    if recipe["encoder"] == "random":
        F = L + recipe["scale"] * rng.standard_normal(L.shape)
    else:
        d = recipe["d"]
        F = recipe["scale"] * rng.standard_normal((task.T, d)) @ rng.standard_normal((d, task.N))
    return task, F




def _taylor_identity(recipe):
    task, F = _taylor_logits(recipe)
    fb = fbar(task.cond, F)
    rhs = float(task.prior @ logsumexp(fb, b=task.cond, axis=1))  # E_t log E_{o~pi_t} e^{fbar}
    lhs = kl(task.prior, task.cond, F)
    return Evaluation(lhs, rhs, "==", atol=KL_ATOL, rtol=IDENTITY_RTOL,
                      detail={"max_norm_fbar": float(np.linalg.norm(fb, axis=1).max())})


def _taylor_bound(recipe):
    task, F = _taylor_logits(recipe)
    dk = kl(task.prior, task.cond, F)
    proxy = taylor_proxy(task.prior, task.cond, F)
    rem = taylor_remainder_bound(task.prior, task.cond, F)
    return Evaluation(abs(dk - proxy), rem, "<=", atol=KL_ATOL, rtol=KL_RTOL,
                      detail={"dKL": dk, "proxy": proxy})


def _taylor_batch(which):
    """Batched draft.lemma-taylor (:func:`taylor_identity_batch` / :func:`taylor_bound_batch`)."""
    fn = taylor_identity_batch if which == "identity" else taylor_bound_batch

    def run_group(k, Z, lw, recs):
        prior, cond = tasks_from_logits(Z, lw)
        F = np.stack([_taylor_logits(r)[1] for r in recs])
        lhs, rhs, ok = fn(prior, cond, F)
        if which == "identity":
            return [Evaluation(lhs[j], rhs[j], "==", atol=KL_ATOL, rtol=IDENTITY_RTOL, detail={"batched": True})
                    if ok[j] else None for j in range(len(recs))]
        return [Evaluation(lhs[j], rhs[j], "<=", atol=KL_ATOL, rtol=KL_RTOL, detail={"batched": True})
                if ok[j] else None for j in range(len(recs))]
    return batched(_taylor_identity if which == "identity" else _taylor_bound, run_group,
                   lambda r: (len(r["logits"]), len(r["logits"][0])))


@guarded
def _taylor_identity_recheck(recipe, ev):
    task, F = _taylor_logits(recipe)
    return decided(kl(task.prior, task.cond, F, dps=DPS), taylor_identity_rhs(task.prior, task.cond, F, dps=DPS), ev)


@guarded
def _taylor_bound_recheck(recipe, ev):
    task, F = _taylor_logits(recipe)
    with mpmath.workdps(60):
        gap = abs(kl(task.prior, task.cond, F, dps=DPS) - taylor_proxy(task.prior, task.cond, F, dps=DPS))
    return decided(gap, taylor_remainder_bound(task.prior, task.cond, F, dps=DPS), ev)


register(Claim(
    id="draft.lemma-taylor", reading="identity", source="draft", kind="identity",
    statement=r"d_{KL}(\pi, f) = \mathbb{E}_t \log \mathbb{E}_{o\sim\pi_t} e^{\bar f_t(o)}",
    instances=_taylor_recipes, evaluate=_taylor_identity, describe=describe, space=_TAYLOR_SPACE,
    recheck=_taylor_identity_recheck, batch=_taylor_batch("identity"),
    regime="Assumption 2 (L = log Pi finite)",
))
register(Claim(
    id="draft.lemma-taylor", reading="", source="draft", kind="bound",
    statement=(r"\left| d_{KL}(\pi, f) - \mathbb{E}_t \log\left(1 + \tfrac12 \mathrm{Var}_{o\sim\pi_t}"
               r"(\bar f_t)\right) \right| \le \mathbb{E}_t\, \mathrm{exp}_3(\|\bar f_t\|_2)"),
    instances=_taylor_recipes, evaluate=_taylor_bound, describe=describe, space=_TAYLOR_SPACE,
    recheck=_taylor_bound_recheck, batch=_taylor_batch("bound"),
    regime="Assumption 2 (L = log Pi finite)",
))

# -------------------------------------------------------- draft.lemma-wls --


# d <= N-2 (1 not in Im(W_U)), any number of rows; the perturbations' size over six decades; W_U's draw.
_WLS_SPACE = TaskSpace(params=(rank_d(by_rows=False), Param("delta", 1e-6, 10.0, "log", note="perturbation size"),
                               FSEED), rows_at_least_d=False)


@st.composite
def wls_recipes(draw, profile="quick"):
    """A full-support task, a random ``W_U (N, d)`` (``d <= N-2``), a perturbation size ``delta``."""
    r = draw(full_support_recipes(profile))
    T = r["N"] ** r["S"] if r["kind"] != "explicit" else len(r["logits"])
    for p in _WLS_SPACE.params:
        r[p.name] = draw(p.strategy(r["N"], T))
    return r


def _wls_WU(recipe, N):
    return rng_of(recipe).standard_normal((N, recipe["d"]))


def _wls_regime(task, d):
    """draft.lemma-wls needs 1 not in Im(W_U): a Gaussian W_U (N x d) with d <= N-2 (almost surely)."""
    if not 1 <= d <= task.N - 2:
        return Evaluation.out_of_regime(f"d = {d} outside 1 <= d <= N-2 = {task.N - 2}")
    return None


def _row_var(P, L, W, E):
    D = E @ W.T - L
    D = D - np.sum(P * D, axis=1, keepdims=True)
    return np.sum(P * D * D, axis=1)  # Var_{o~pi_t}(fbar_t), (T,)


# random perturbation directions tried per row against the closed form
WLS_PERTURBATIONS = 8


def _wls_minimiser(recipe):
    task = task_from(recipe)
    if (out := _wls_regime(task, recipe["d"])) is not None:
        return out
    P, L = task.cond, np.log(task.cond)
    W = _wls_WU(recipe, task.N)
    E = wls_encoder(P, W)
    v0 = _row_var(P, L, W, E)
    alts = [_row_var(P, L, W, A) for A in _wls_alternatives(recipe, task, W, E)]
    best_alt = np.min(np.array(alts), axis=0)  # (T,)
    t = int(np.argmin(best_alt - v0))
    return Evaluation(v0[t], best_alt[t], "<=", atol=KL_ATOL, rtol=KL_RTOL, detail={"row": t})


# PROJ_ATOL (1e-9) is justified for d x d systems of condition <= 1e6 (error ~ cond * 1e-16,
# registry.py); rows whose A_t = W_U^T (I_pi - pi pi^T) W_U is worse conditioned are outside,
# since float64 cannot resolve the identity to that tolerance there.
PROJ_COND_MAX = 1e6


def _rows_in_regime(task, W, rows=8):
    """The first ``rows`` rows whose d x d system has cond(A_t) <= PROJ_COND_MAX, and the largest cond seen."""
    P = task.cond
    keep, worst = [], 0.0
    for t in range(min(task.T, rows)):
        pi = P[t]
        A = W.T @ (np.diag(pi) - np.outer(pi, pi)) @ W
        c = float(np.linalg.cond(A))
        worst = max(worst, c)
        if c <= PROJ_COND_MAX:
            keep.append(t)
    return keep, worst


def _checked_rows(recipe):
    """``(task, W_U, rows, max cond)`` of the projection and image readings, or the Evaluation saying why the
    recipe is outside (d out of range, or no row with cond(A_t) <= PROJ_COND_MAX)."""
    task = task_from(recipe)
    if (out := _wls_regime(task, recipe["d"])) is not None:
        return out
    W = _wls_WU(recipe, task.N)
    rows, cmax = _rows_in_regime(task, W)
    if not rows:
        return Evaluation.out_of_regime(f"every row has cond(A_t) > {PROJ_COND_MAX:g} (max {cmax:.2g})")
    return task, W, rows, cmax


def _wls_projection(recipe):
    if isinstance(checked := _checked_rows(recipe), Evaluation):
        return checked
    task, W, rows, cmax = checked
    worst = 0.0
    for t in rows:
        Pt = wls_projection(task.cond[t], W)
        worst = max(worst, float(np.max(np.abs(Pt @ Pt - Pt))))
    return Evaluation(worst, 0.0, "<=", atol=PROJ_ATOL, rtol=0.0, detail={"rows": len(rows), "max_cond": cmax})


def _wls_image(recipe):
    if isinstance(checked := _checked_rows(recipe), Evaluation):
        return checked
    task, W, rows, cmax = checked
    E = wls_encoder(task.cond, W)
    L = np.log(task.cond)
    worst, scale = 0.0, 0.0
    for t in rows:
        a, b = W @ E[t], wls_projection(task.cond[t], W) @ L[t]
        worst, scale = max(worst, float(np.max(np.abs(a - b)))), max(scale, float(np.max(np.abs(b))))
    return Evaluation(worst, 0.0, "<=", atol=PROJ_ATOL * max(1.0, scale), rtol=0.0,
                      detail={"scale": scale, "rows": len(rows), "max_cond": cmax})


def _wls_alternatives(recipe, task, W, E):
    """The encoders the minimiser reading compares with the closed form: the LS encoder and perturbations."""
    L = np.log(task.cond)
    rng = np.random.default_rng(recipe["fseed"] + 1)
    alts = [np.linalg.lstsq(W, (L - L.mean(axis=1, keepdims=True)).T, rcond=None)[0].T]
    for _ in range(WLS_PERTURBATIONS):
        Z = rng.standard_normal(E.shape)
        Z *= recipe["delta"] / np.linalg.norm(Z, axis=1, keepdims=True)
        alts.append(E + Z)
    return alts


def _minimiser_rows_mp(recipe, task, W, E=None, dps=DPS):
    """Per row, at ``dps`` digits: the variance of the closed form (computed at ``dps`` digits) and of the best
    of the alternatives (:func:`_wls_alternatives`, centred on ``E``: by default the ``dps``-digit closed form
    rounded to float64). :class:`NotUnique` where a system is singular at ``dps`` digits."""
    E_mp = wls_encoder(task.cond, W, dps=dps)
    with mpmath.workdps(dps):
        v0 = row_var(task.cond, W, E_mp, dps=dps)
        E = to_float(E_mp) if E is None else E
        alts = [row_var(task.cond, W, A, dps=dps) for A in _wls_alternatives(recipe, task, W, E)]
        return [v0[t] for t in range(task.T)], [min(a[t] for a in alts) for t in range(task.T)]


@guarded
def _wls_minimiser_recheck(recipe, ev):
    """The row's variance of the closed form (computed at 50 digits) against the same alternatives, at 50 digits."""
    task = task_from(recipe)
    W = _wls_WU(recipe, task.N)
    t = int(ev.detail["row"])
    # the float64 alternatives are centred on the float64 closed form, as in the evaluation
    v0, best = _minimiser_rows_mp(recipe, task, W, wls_encoder(task.cond, W))
    return decided(v0[t], best[t], ev)


def _minimiser_decision(dps):
    """The minimiser reading's re-check of a whole instance at ``dps`` digits: the row where the closed form comes
    closest to its best competitor (``detail["row"]``); undecidable where a system is singular at ``dps``."""
    @guarded
    def recheck(recipe, ev):
        task = task_from(recipe)
        v0, best = _minimiser_rows_mp(recipe, task, _wls_WU(recipe, task.N), dps=dps)
        with mpmath.workdps(dps):
            t = min(range(task.T), key=lambda i: best[i] - v0[i])
        return {**decided(v0[t], best[t], ev), "dps": dps, "detail": {"row": t}}
    return recheck


_minimiser_ladder = evaluation_at_dps(*[_minimiser_decision(dps) for dps in MP_LADDER])


def _wls_minimiser_decide(recipe):
    """``decide_mp`` of the minimiser reading: an instance float64 refused (some ``A_t`` above WLS_COND_MAX)
    judged at 50 digits, every row, by the claim's own rule; at 100 or 200 digits where a system is singular at
    50 (condition above 10^25: the rank bounds' ladder, :data:`MP_LADDER` through ``evaluation_at_dps``). The
    competitors are those of the float64 evaluation, centred on the closed form at those digits rounded to float64
    (the float64 one was refused): any encoder is a fair competitor of the minimiser."""
    task = task_from(recipe)
    if (out := _wls_regime(task, recipe["d"])) is not None:
        return out
    return _minimiser_ladder(recipe)


def _wls_image_decide(recipe):
    """``decide_mp`` of the image reading: the float64-refused instance (an ``A_t`` outside the checked rows
    above WLS_COND_MAX) on the same rows, both sides at 50 digits, the claim's own tolerance."""
    if isinstance(checked := _checked_rows(recipe), Evaluation):
        return checked
    _, _, rows, cmax = checked
    rc = _wls_image_recheck(recipe, Evaluation(0.0, 0.0, "<="))
    if rc.get("lhs") is None:
        raise ValueError(f"no 50-digit evaluation: {rc.get('note')}")
    with mpmath.workdps(DPS):
        worst, scale = float(mpmath.mpf(rc["lhs"])), float(mpmath.mpf(rc["scale"]))
    return Evaluation(worst, 0.0, "<=", atol=PROJ_ATOL * max(1.0, scale), rtol=0.0,
                      detail={"scale": scale, "rows": len(rows), "max_cond": cmax, "decided_at_dps": DPS,
                              "float64": "refused: ill-conditioned"})


@guarded
def _wls_projection_recheck(recipe, ev):
    """``max |P_t P_t - P_t|`` over the same rows, with ``P_t`` at 50 digits."""
    task = task_from(recipe)
    W = _wls_WU(recipe, task.N)
    rows, _ = _rows_in_regime(task, W)
    worst = mpmath.mpf(0)
    with mpmath.workdps(DPS):
        for t in rows:
            Pt = wls_projection(task.cond[t], W, dps=DPS)
            worst = max([worst, *np.abs(MP.matmul(Pt, Pt) - Pt).ravel()])
    return decided(worst, 0.0, ev)


@guarded
def _wls_image_recheck(recipe, ev):
    """``max |W_U w_E(t) - P_t L_t|`` over the same rows, both at 50 digits."""
    task = task_from(recipe)
    W = _wls_WU(recipe, task.N)
    rows, _ = _rows_in_regime(task, W)
    E = wls_encoder(task.cond, W, dps=DPS)
    worst, scale = mpmath.mpf(0), mpmath.mpf(0)
    with mpmath.workdps(DPS):
        Wm = MP.asarray(W)
        for t in rows:
            a = MP.matmul(Wm, E[t])
            b = MP.matmul(wls_projection(task.cond[t], W, dps=DPS), MP.log(MP.asarray(task.cond[t])))
            worst = max([worst, *np.abs(a - b)])
            scale = max([scale, *np.abs(b)])
        out = decided(worst, 0.0, ev)
        out["scale"] = str(scale)  # max |P_t L_t|: the evaluation's tolerance scales with it
    return out


_WLS_REGIME = "Assumption 2; W_U (N x d) Gaussian, d <= N-2, so 1 not in Im(W_U) almost surely"
register(Claim(
    id="draft.lemma-wls", reading="minimiser", source="draft", kind="bound",
    statement=(r"w_E(t) = [W_U^T (I_\pi - \pi\pi^T) W_U]^{-1} W_U^T (I_\pi - \pi\pi^T) L_t"
               r"\ \text{minimises}\ \mathrm{Var}_{o\sim\pi_t}(\bar f_t)"),
    instances=wls_recipes, evaluate=_wls_minimiser, describe=describe, space=_WLS_SPACE,
    recheck=_wls_minimiser_recheck, decide_mp=_wls_minimiser_decide,
    regime=_WLS_REGIME + f"; compared with the LS encoder and {WLS_PERTURBATIONS} random perturbations of size delta",
))
register(Claim(
    id="draft.lemma-wls", reading="projection", source="draft", kind="identity",
    statement=r"P_t = W_U [W_U^T (I_\pi - \pi\pi^T) W_U]^{-1} W_U^T (I_\pi - \pi\pi^T),\ P_t^2 = P_t",
    instances=wls_recipes, evaluate=_wls_projection, describe=describe, space=_WLS_SPACE,
    recheck=_wls_projection_recheck,
    regime=_WLS_REGIME + f"; first 8 rows with cond(A_t) <= {PROJ_COND_MAX:g} (float64 resolves 1e-9 there)",
))
register(Claim(
    id="draft.lemma-wls", reading="image", source="draft", kind="identity",
    statement=r"W_U w_E(t) = P_t L_t",
    instances=wls_recipes, evaluate=_wls_image, describe=describe, space=_WLS_SPACE,
    recheck=_wls_image_recheck, decide_mp=_wls_image_decide,
    regime=_WLS_REGIME + f"; first 8 rows with cond(A_t) <= {PROJ_COND_MAX:g} (float64 resolves 1e-9 there)",
))

# -------------------------------------------------- draft.cor-permutation --


# The corollary's regime for the readings that hold (H=conditional), stated once: permutation tasks of every size
# (N >= 3, S; searched to N = 8 with T N <= PERM_ENTRIES: float64 misses by 1e-12 make most instances suspects,
# each decided at 50 digits, 0.2 s at T N = 64, 1.4 s at 256), every d with 1 <= d <= min(N-1, T) - 1, the scale of
# the centred L over seven decades (1e-6: rows near uniform; 10: near-deterministic rows; full support is the
# corollary's Assumption 2: a task that underflows is outside), the prior and the draw (the aligned outputs xi
# and the orthogonal columns). Beyond scale 10 the float64 WLS solve loses the identity's 1e-8 (scale 30: 2e-4,
# each such miss re-checked at 50 digits and not confirmed, ~20 s of re-checks a run): the search stops at 10.
PERM_ENTRIES = 2**6
PERM_N = Param("N", 3, 8, "int", note="every N >= 3; searched to 8 (T N <= 2^6)")
PERM_S = Param("S", 1, lambda N, T: max(1, min(3, int(math.log(PERM_ENTRIES / N) / math.log(N)))), "lin-int",
               note="sequence length, T N <= 2^6")
PERM_D = Param("d", 1, lambda N, T: max(1, min(N - 1, T) - 1), "lin-int", note="1 <= d <= min(N-1, T) - 1")
PERM_SCALE_ALL = Param("scale", 1e-6, 10.0, "log", note="size of the centred L: 1e-6 (near uniform) .. 10")
PERM_SPACE = RecipeSpace(params=(PERM_N, PERM_S, PERM_D, PERM_SCALE_ALL), choices=(("prior", ("uniform", "zipf")),),
                         valid=lambda r: r["N"] ** r["S"] * r["N"] <= PERM_ENTRIES)


@st.composite
def _perm_space_recipes(draw, profile="quick"):  # noqa: ARG001 (every parameter comes from PERM_SPACE)
    base = {"kind": "permutation", "N": 3, "S": 1, "prior": draw(st.sampled_from(["uniform", "zipf"])),
            "seed": draw(st.integers(0, 2**16 - 1))}
    return draw(PERM_SPACE.recipes(base))


def _perm_outside(recipe):
    """Why a permutation recipe is outside the searched regime (sizes, d, Assumption 2), else None."""
    N, S, d = int(recipe["N"]), int(recipe["S"]), int(recipe["d"])
    if N ** S * N > PERM_ENTRIES:
        return Evaluation.out_of_regime(f"beyond the searched sizes: T N = {N ** S * N} > {PERM_ENTRIES}")
    if not 1 <= d <= min(N - 1, N ** S) - 1:
        return Evaluation.out_of_regime(f"needs 1 <= d <= min(N-1, T) - 1 (d = {d})")
    if not task_from(recipe).full_support():
        return Evaluation.out_of_regime("Assumption 2 fails: a probability underflows to 0 at this scale")
    return None


def _in_perm_regime(evaluate):
    """``evaluate`` on the recipes inside :data:`PERM_SPACE`'s regime, the others outside."""
    def inner(recipe):
        return _perm_outside(recipe) or evaluate(recipe)
    inner.__doc__ = evaluate.__doc__
    return inner


def _perm_forms(recipe):
    task = task_from(recipe)
    xi = permutation_of(task)
    return task, permutation_closed_forms(task.prior, task.cond, recipe["d"], xi)


def _perm_wls_logits(R):
    def evaluate(recipe):
        task, cf = _perm_forms(recipe)
        m = cf["mismatch"].get(f"wls[{R}] vs wls[W=e_Sd]")
        if m is None:
            return Evaluation.out_of_regime("numeric f_wls with W_U = e_{S_d} unavailable: "
                                            + cf["numeric"]["wls[W=e_Sd]"].get("error", "?"))
        scale = float(np.max(np.abs(cf["formulas"][f"wls[{R}]"]["logits"])))
        return Evaluation(m["logits"], 0.0, "<=", atol=IDENTITY_RTOL * max(1.0, scale), rtol=0.0,
                          detail={"max_abs_logit": scale})

    return evaluate


def _perm_divergence(formula, numeric):
    def evaluate(recipe):
        task, cf = _perm_forms(recipe)
        num = cf["numeric"][numeric]["divergence"]
        if num is None:
            return Evaluation.out_of_regime("numeric solution unavailable: " + cf["numeric"][numeric].get("error", "?"))
        return Evaluation(cf["formulas"][formula]["divergence"], num, "==", atol=KL_ATOL, rtol=IDENTITY_RTOL)

    return evaluate


def _perm_self(formula):
    def evaluate(recipe):
        task, cf = _perm_forms(recipe)
        f = cf["formulas"][formula]
        return Evaluation(f["divergence"], f["kl_of_logits"], "==", atol=KL_ATOL, rtol=IDENTITY_RTOL)

    return evaluate


def _perm_better(recipe):
    task, cf = _perm_forms(recipe)
    num = cf["numeric"]["wls[W=e_Sd]"]["divergence"]
    if num is None:
        return Evaluation.out_of_regime("numeric f_wls with W_U = e_{S_d} unavailable")
    ls = cf["numeric"]["ls[uniform]"]["divergence"]
    return Evaluation(ls, num, ">", atol=KL_ATOL, rtol=0.0)


def _perm_better_forms(recipe):
    task, cf = _perm_forms(recipe)
    f = cf["formulas"]
    return Evaluation(f["ls"]["kl_of_logits"], f["wls[conditional]"]["kl_of_logits"], ">", atol=KL_ATOL, rtol=0.0)


def _perm_forms_mp(recipe):
    task = task_from(recipe)
    return permutation_closed_forms(task.prior, task.cond, recipe["d"], permutation_of(task), dps=DPS)


def _perm_recheck(which, *args):
    """The same reading evaluated by ``permutation_closed_forms(..., dps=DPS)`` (same keys as the float64 forms)."""
    @guarded
    def recheck(recipe, ev):
        cf = _perm_forms_mp(recipe)
        f, num = cf["formulas"], cf["numeric"]
        if which == "wls-logits":
            m = cf["mismatch"].get(f"wls[{args[0]}] vs wls[W=e_Sd]")
            if m is None:
                return {"confirmed": None, "method": "mpmath", "note": "numeric f_wls unavailable at 50 digits"}
            return decided(m["logits"], 0.0, ev)
        if which == "divergence":
            n = num[args[1]]["divergence"]
            if n is None:
                return {"confirmed": None, "method": "mpmath", "note": num[args[1]].get("error", "?")}
            return decided(f[args[0]]["divergence"], n, ev)
        if which == "self":
            return decided(f[args[0]]["divergence"], f[args[0]]["kl_of_logits"], ev)
        if which == "better":
            n, ls = num["wls[W=e_Sd]"]["divergence"], num["ls[uniform]"]["divergence"]
            if n is None or ls is None:
                return {"confirmed": None, "method": "mpmath", "note": "numeric map unavailable at 50 digits"}
            return decided(ls, n, ev)
        return decided(f["ls"]["kl_of_logits"], f["wls[conditional]"]["kl_of_logits"], ev)
    return recheck


_PERM_REGIME = ("permutation tasks (theory.generators.permutation_task: L - c 1^T has V a permutation xi), "
                "S_d = xi[:d]; Assumption 2")
for _R in H_READINGS:
    _hr = (r"H(\pi_t, S) = \sum_S \pi \log\pi / \pi(S)" if _R == "mean-log"
           else r"H(\pi_t, S) = \sum_S \tfrac{\pi}{\pi(S)} \log\tfrac{\pi}{\pi(S)}")
    # the conditional reading holds: searched over PERM_SPACE (the mean-log reading fails on the first draw)
    _searched = _R == "conditional"
    _space = {"space": PERM_SPACE, "cost": "medium"} if _searched else {}
    _inst = _perm_space_recipes if _searched else permutation_recipes
    _wrap = _in_perm_regime if _searched else (lambda f: f)
    _where = (f"; searched: every size to N = 8 (T N <= {PERM_ENTRIES}), d, scale 1e-6 .. 10, prior and draw"
              if _searched else "")
    register(Claim(
        id="draft.cor-permutation", reading=f"wls-logits,H={_R}", source="draft", kind="identity",
        statement=(r"f_{wls}(t)_o = \log\pi(o|t) \text{ on } S_d,\ H(\pi_t, S_d^c) + \log\pi(S_d^c|t)"
                   r"\text{ off it};\ " + _hr),
        instances=_inst, evaluate=_wrap(_perm_wls_logits(_R)), describe=describe,
        recheck=_perm_recheck("wls-logits", _R), **_space,
        regime=_PERM_REGIME + "; numeric f_wls: draft.lemma-wls with W_U = (e_o)_{o in S_d}; logits compared "
                              "after row centring" + _where,
    ))
    register(Claim(
        id="draft.cor-permutation", reading=f"wls-divergence,H={_R}", source="draft", kind="identity",
        statement=(r"d_{KL}(\pi, f_{wls}) = E_t\log\big(\pi(S_d|t) + \pi(S_d^c|t)(N-d)"
                   r"e^{H(\pi_t, S_d^c)}\big);\ " + _hr),
        instances=_inst, evaluate=_wrap(_perm_divergence(f"wls[{_R}]", "wls[W=e_Sd]")),
        describe=describe, recheck=_perm_recheck("divergence", f"wls[{_R}]", "wls[W=e_Sd]"), **_space,
        regime=_PERM_REGIME + "; numeric f_wls with W_U = (e_o)_{o in S_d}" + _where,
    ))
register(Claim(
    id="draft.cor-permutation", reading="ls-divergence", source="draft", kind="identity",
    statement=r"d_{KL}(\pi, f_{ls}) = E_t\log\big(\pi(S_d|t) + (N-d)e^{H(\pi_t)}\big)",
    instances=permutation_recipes, evaluate=_perm_divergence("ls", "ls[uniform]"), describe=describe,
    recheck=_perm_recheck("divergence", "ls", "ls[uniform]"),
    regime=_PERM_REGIME + "; numeric f_ls: rank-d LS fit of the uniform-centred L",
))
register(Claim(
    id="draft.cor-permutation", reading="ls-formula-consistent", source="draft", kind="identity",
    statement=(r"\mathrm{KL}\big(\pi, [\log\pi \text{ on } S_d, H(\pi_t) \text{ off}]\big) = "
               r"E_t\log\big(\pi(S_d|t) + (N-d)e^{H(\pi_t)}\big)"),
    instances=permutation_recipes, evaluate=_perm_self("ls"), describe=describe, recheck=_perm_recheck("self", "ls"),
    regime=_PERM_REGIME + "; the draft's f_ls logits against its own divergence formula",
))
register(Claim(
    id="draft.cor-permutation", reading="wls-strictly-better,ls=uniform", source="draft", kind="bound",
    statement=r"d_{KL}(\pi, f_{wls}) < d_{KL}(\pi, f_{ls})",
    instances=permutation_recipes, evaluate=_perm_better, describe=describe, recheck=_perm_recheck("better"),
    regime=_PERM_REGIME + "; numeric f_wls (W_U = e_{S_d}) against numeric f_ls (uniform)",
))
register(Claim(
    id="draft.cor-permutation", reading="wls-strictly-better,closed-forms", source="draft", kind="bound",
    statement=r"d_{KL}(\pi, f_{wls}) < d_{KL}(\pi, f_{ls})\ (\text{the corollary's two maps})",
    instances=permutation_recipes, evaluate=_perm_better_forms, describe=describe,
    recheck=_perm_recheck("better-forms"),
    examples=({"kind": "permutation", "N": 7, "S": 1, "d": 1, "scale": 1.0, "prior": "uniform",
               "seed": 1406},),  # found by the search, kept
    regime=_PERM_REGIME + "; KL of the closed-form logits: f_wls (conditional reading) against the draft's f_ls",
))
