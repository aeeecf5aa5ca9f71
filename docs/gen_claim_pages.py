"""Generate ``docs/claims/<claim id>.md``, one page per claim id of docs/theory.md.

Each page holds the claim's statement (in this package's words), its
readings, where the code computes it, the verdicts the claims ledger
computed (never written by hand: they are read from
``docs/claims/verdicts.json``, a trimmed copy of ``aotmem verify --json``),
its figure when it has one, and the commands that reproduce it.

Usage (from the repository root)::

    python docs/gen_claim_pages.py                       # re-render the pages from verdicts.json
    python docs/gen_claim_pages.py --ledger run.json     # first refresh verdicts.json from a ledger run
    python docs/gen_claim_pages.py --check               # exit 1 if a page differs from its rendering

``tests/test_docs.py`` runs the ``--check`` comparison, so a page edited by
hand or a ``verdicts.json`` refreshed without re-rendering fails the suite.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CLAIMS_DIR = DOCS / "claims"
VERDICTS = CLAIMS_DIR / "verdicts.json"
NUMBERS = DOCS / "figures" / "numbers.json"  # written by `aotmem report docs/figures`

THEORY = DOCS / "theory.md"  # the package's own statement of the theory
# The machine-readable list at the end of docs/theory.md ("Claim ids"): one `- `id`` per line.
THEORY_ID_LINE = re.compile(r"^- `((?:seed|draft|paper)\.[a-z0-9-]+)`$", re.M)


def theory_claim_ids(path: Path = THEORY) -> list[str]:
    """The claim ids docs/theory.md defines, in its order (its "Claim ids" list)."""
    text = path.read_text()
    return THEORY_ID_LINE.findall(text[text.index('<a id="claim-ids"></a>'):])


SOURCES = {
    "seed": "the June 2024 talk slides (the seed of this project)",
    "draft": "the June 2024 written draft behind the slides",
    "paper": "the AISTATS 2025 paper (Dana, Pydi, Chevaleyre, arXiv 2411.10115)",
}

# One entry per claim id of docs/theory.md, in its order. `code`: dotted names that
# must exist (tests/test_docs.py imports each one). `figure`: a PNG under docs/figures.
CLAIMS = [
    # --- S: the seed -------------------------------------------------------------------
    dict(id="seed.assoc-memory", where="slides, 'Associative memory'",
         title="associative memory: recall of the outer-product rule",
         statement="With random embeddings `W_U, W_E in R^{N x d}` and the stored matrix "
                   "`W = sum_i w_U(g(i)) w_E(i)^T`, the map `i -> argmax_j w_U(j)^T W w_E(i)` recalls "
                   "`g(i)`, \"but only d of them\" (Bietti et al. 2023).",
         readings=["The slides give no threshold; docs/theory.md asks for a measured recall curve (recall against "
                   "`N/d`), not a yes/no.",
                   "`capacity<=d`: the largest `N` recalled at 90% is at most `d`.",
                   "`linear-growth`: doubling `d` at most doubles that capacity."],
         code=["aotmem.theory.assoc.assoc_memory_recall", "aotmem.theory.assoc.recall_curve", "aotmem.theory.assoc.recall_capacity",
               "aotmem.verify.outputs.experiments.assoc_recall_experiment"],
         figure="assoc_recall.png",
         report="assoc",
         settings="Two settings, two capacities: the ledger's verdict above measures the capacity at 90% recall "
                  "with `ASSOC_TRIALS = 3` draws of the memory per `N` (3 N recall decisions, seed of the recipe, "
                  "`N` up to `16 d`: `aotmem.verify.claims.assoc`), so at `d = {ledger_d}` it finds `N = {ledger_N}`; the "
                  "figure's "
                  "numbers (`aotmem report`, `assoc_sweep`) average at least 512 recall decisions per `N` "
                  "(`max(3, ceil(512 / N))` draws, `min_samples = 512`, `N` up to `64 d`), and find `N = {report_N}` "
                  "at 90% for `d = {ledger_d}`. Both are far above `d`; they differ by the sampling noise of a 90% threshold."),
    dict(id="seed.theorem-aot", where="slides, 'Attention-only Transformers', Theorem",
         title="an AoT with ceil(N_eps/d) modules is as good as the best rank-d map, up to eps",
         statement="For `eps >= 0` there is an AoT `T*` with embedding dimension `d` and `ceil(N_eps / d)` "
                   "parallel attention modules (heads of inner dimension `d`) with "
                   "`|dKL(pi, f_W*) - dKL(pi, T*)| <= eps sigma_1(f_W*) C(d, N, k, N_eps)`, where `f_W*` is "
                   "the optimal rank-`d` linear map and `N_eps = T_eps` the number of likeliest sequences "
                   "carrying mass `>= 1 - eps`.",
         readings=["The slides leave `C` open; the package uses the paper's `C` (see `paper.theorem1`)."],
         code=["aotmem.theory.task.t_eps", "aotmem.theory.optimal.optimal_encoder", "aotmem.theory.construct.construct",
               "aotmem.theory.construct.theorem1_rhs"]),
    dict(id="seed.zero-divergence", where="slides, 'Optimal Linear Mapping'",
         title="divergence 0 is reachable iff the centred L has rank <= d",
         statement="A rank-`d` map reaches `dKL = 0` iff the centred `L = log Pi` has rank `<= d`; this always "
                   "holds when `d >= N - 1`.",
         readings=["`if`: build the rank-`d` truncated SVD and check its divergence is 0.",
                   "`only-if`: where `sigma_{d+1} > 0`, no rank-`d` map found by the optimiser reaches 0."],
         code=["aotmem.theory.spectra.singular_values", "aotmem.theory.lowrank.f_ls", "aotmem.theory.optimal.optimal_encoder"]),
    dict(id="seed.ls-bound", where="slides, 'Almost rank d'",
         title="least-squares fit: bound by sigma_{d+1}",
         statement="With `f_ls` the rank-`d` least-squares fit of `L`: "
                   "`dKL(pi, f_ls) <= N ||pi||_inf^2 sigma_{d+1}^2 + (N ||pi||_inf)^{3/2} sigma_{d+1}^3`.",
         readings=["`sigma`: singular values of `L` centred by the uniform row mean or by the `pi_t`-weighted "
                   "mean, with or without prior weighting of the rows (`uniform`, `uniform-prior`, `pi`, "
                   "`pi-prior`).",
                   "`inf`: `||pi||_inf` as the global maximum (`global`) or per row inside `E_t` (`per-row`)."],
         code=["aotmem.theory.bounds.seed_ls_bound", "aotmem.theory.lowrank.f_ls", "aotmem.theory.spectra.sigma"]),
    dict(id="seed.wls-bound", where="slides, 'Almost rank d'",
         title="weighted least-squares fit: bound by sigma_{d+1}",
         statement="With `f_wls` the weighted least-squares fit `|| I_sqrt(pi) (W - L) ||`: "
                   "`dKL(pi, f_wls) <= ||pi||_inf sigma_{d+1}^2 + (||pi||_inf / ||pi||_-inf)^{3/2} sigma_{d+1}^3`.",
         readings=["`sigma` and `inf` as for `seed.ls-bound`.",
                   "`fit`: `W_U` from the unweighted SVD and `E(t)` in closed form (`draft.lemma-wls`), or the "
                   "true weighted rank-`d` problem solved by alternating regressions (`fit=alternating`).",
                   "Corrected forms (searched too): `+matched-W_U` (prior-weighted `sigma`, `W_U` of `f_ls` of the "
                   "same reading) and `+unweighted-fit` (unweighted `sigma`, the alternating fit of the unweighted "
                   "objective); see [the theory](../theory.md#seed.wls-bound)."],
         code=["aotmem.theory.bounds.seed_wls_bound", "aotmem.theory.lowrank.f_wls", "aotmem.theory.lowrank.f_wls_alternating"]),
    dict(id="seed.lookup-bound", where="slides, 'Low Entropy', Theorem",
         title="look-up tables: bound by the entropy",
         statement="With `C = sqrt(32 log(N+1) / d)`, a look-up table `g` and the encoder of `draft.lookup-theorem`: "
                   "`dKL(pi, f) <= E_t[(1 - pi(g(t)|t)) log((N-1) / (e^{h(pi_t)} - 1))] (1+4C)/(1-2C)` "
                   "(`h` the Shannon entropy; the slides write `e^{-H}` with `H = -h`).",
         readings=["`C<1/2`: only where `d > 128 log(N+1)` (otherwise vacuous).",
                   "`as-written`: any `d` (for `C > 1/2` the right-hand side is negative).",
                   "`C=achieved`: `C` the achieved `||W W^T - I||_max` of the drawn matrix."],
         code=["aotmem.theory.lookup.seed_lookup_bound", "aotmem.theory.lookup.lookup_encoder", "aotmem.theory.lookup.jl_matrix"]),
    dict(id="seed.no-quantity-limit", where="slides, 'Experimental validation'",
         title="no memorization limit in quantity, but in quality",
         statement="\"No memorization limit in term of quantity, but in term of quality\": the number of sequences "
                   "does not limit what a rank-`d` model can fit; the structure (rank) of the distribution does. "
                   "Association needs only `d >= 2` (`paper.prop3`).",
         readings=["Measured by `aotmem report` (experiment `encoder`): the divergence of the best rank-`d` "
                   "encoder of a task with `K` classes does not depend on the number `T` of sequences and is 0 "
                   "from `d = K - 1` on; the Gram matrices of its unembeddings and encodings are block matrices."],
         code=["aotmem.verify.outputs.experiments.optimal_encoder_experiment", "aotmem.verify.outputs.experiments.structured_task",
               "aotmem.theory.optimal.optimal_encoder"],
         figure="optimal_encoder_blocks.png",
         report="encoder"),
    # --- D: the draft ------------------------------------------------------------------
    dict(id="draft.prop1", where="draft, D.1",
         title="no Transformer beats the best rank-d map",
         statement="Any Transformer with embedding dimension `d` has `dKL(pi, T) >= min over rank-d f of dKL(pi, f)`.",
         readings=["`rank`: the logit matrix of random AoTs has rank `<= d`.",
                   "`vs-optimiser`: random AoTs are never below the optimiser's value (which bounds the minimum "
                   "from above, so a violation would also expose a sub-optimal optimiser)."],
         code=["aotmem.theory.aot.AoT", "aotmem.theory.optimal.optimal_encoder"]),
    dict(id="draft.lemma-taylor", where="draft, D.2",
         title="Taylor expansion of the divergence",
         statement="With `fbar_t = f(t) - L_t - E_{o~pi_t}[f(t)_o - L_{t,o}]`: "
                   "`| dKL(pi, f) - E_t log(1 + Var_{o~pi_t}(fbar_t)/2) | <= E_t exp3(||fbar_t||_2)`, "
                   "`exp3(x) = e^x - 1 - x - x^2/2`; behind it the identity `dKL = E_t log E_{o~pi_t} e^{fbar_t(o)}`.",
         readings=["`identity`: the identity checked to floating-point accuracy.", "The bound itself."],
         code=["aotmem.theory.divergence.fbar", "aotmem.theory.divergence.taylor_proxy", "aotmem.theory.divergence.taylor_remainder_bound",
               "aotmem.theory.divergence.exp3"]),
    dict(id="draft.lemma-wls", where="draft, D.3",
         title="the weighted least-squares encoder in closed form",
         statement="For fixed `W_U` with `1 not in Im(W_U)`, `w_E(t) -> Var_{o~pi_t}(fbar_t)` is minimised by "
                   "`w_E(t) = [W_U^T (I_pi - pi pi^T) W_U]^{-1} W_U^T (I_pi - pi pi^T) L_t` (`I_pi = diag(pi_t)`), "
                   "and `P_t = W_U [..]^{-1} W_U^T (I_pi - pi pi^T)` is a projection.",
         readings=["`minimiser`: no perturbation of the encoder does better.", "`projection`: `P_t^2 = P_t`.",
                   "`image`: `Im(P_t) = Im(W_U)`."],
         code=["aotmem.theory.lowrank.wls_encoder", "aotmem.theory.lowrank.wls_projection", "aotmem.theory.lowrank.wls_system"]),
    dict(id="draft.theorem-ls", where="draft, D.4",
         title="least-squares fit: the draft's refined bound",
         statement="With `C_t = 1 + N ||pi_t||_inf / sqrt 2`: `dKL(pi, f_ls) <= E_t[ log(1 + ||pi_t||_inf C_t "
                   "sigma_{d+1}^2 / 2) + exp3(sqrt(C_t) sigma_{d+1}) ]`.",
         readings=["`sigma` as for `seed.ls-bound`; `E_t` weighted by the prior."],
         code=["aotmem.theory.bounds.draft_ls_bound", "aotmem.theory.lowrank.f_ls"]),
    dict(id="draft.theorem-wls", where="draft, D.4",
         title="weighted least-squares fit: the draft's refined bound",
         statement="`dKL(pi, f_wls) <= E_t[ log(1 + ||pi_t||_inf sigma_{d+1}^2 / 2) + "
                   "exp3(sqrt(||pi_t||_inf / ||pi_t||_-inf) sigma_{d+1}) ]`. Since `W_U` is shared, the per-row "
                   "minimum of this and `draft.theorem-ls` also bounds each row (`min`).",
         readings=["`sigma` as for `seed.ls-bound`; `fit` closed form or alternating; `min`: the per-row minimum.",
                   "Corrected forms (searched too): `+matched-W_U` and `+unweighted-fit`, as for `seed.wls-bound`."],
         code=["aotmem.theory.bounds.draft_wls_bound", "aotmem.theory.bounds.draft_min_bound", "aotmem.theory.lowrank.f_wls"]),
    dict(id="draft.cor-permutation", where="draft, D.5",
         title="closed forms when the singular vectors are a permutation",
         statement="If the centred `L = V Sigma U` has `V` a permutation `xi` and `S_d` = its first `d` outputs: "
                   "`dKL(pi, f_wls) = E_t log( pi(S_d|t) + pi(S_d^c|t) (N-d) e^{H(pi_t, S_d^c)} )` and "
                   "`dKL(pi, f_ls) = E_t log( pi(S_d|t) + (N-d) e^{H(pi_t)} )`; `f_wls` is strictly better.",
         readings=["The closed forms are checked against the numeric solutions; a mismatch is a finding."],
         code=["aotmem.theory.generators.permutation_task", "aotmem.theory.lowrank.f_wls", "aotmem.theory.lowrank.f_ls"]),
    dict(id="draft.lookup-theorem", where="draft, D.6",
         title="look-up tables: the Johnson-Lindenstrauss encoder",
         statement="There is `W` with `||W W^T - I||_max <= C = sqrt(32 log(N+1) / d)`. The encoder "
                   "`f(t) = lambda(t) W w_{g(t)}`, `lambda(t)` solving `h(pi_t) = log sum_j exp(lambda (w_j - w_g)^T w_g)`, "
                   "has `lambda(t) <= log((N-1)/(e^{h} - 1)) / (1 - 2C)` and "
                   "`dKL(pi, f) <= E_t[(1 - pi(g|t)) log((N-1)/(e^{h(pi_t)} - 1)) (1 + 2C + C dTV(pi~_t, unif)) / (1 - 2C)]`. "
                   "Needs `C < 1/2`, i.e. `d > 128 log(N+1)`.",
         readings=["`jl`: the matrix exists (a certified draw).", "`lambda-bound`, `divergence`: the two inequalities.",
                   "`C=achieved`: with the achieved `C`; `+factor(1+2C)`: the strongest form the proof supports."],
         code=["aotmem.theory.lookup.jl_matrix", "aotmem.theory.lookup.lookup_lambda", "aotmem.theory.lookup.lookup_lambda_bound",
               "aotmem.theory.lookup.draft_lookup_bound", "aotmem.theory.lookup.tight_lookup_bound"]),
    dict(id="draft.lemma-rank", where="draft, D.7",
         title="enough heads make the attention matrix invertible",
         statement="With `P d >= N^k` heads there are embeddings, positions and `W_QK` making the attention "
                   "matrix `A` (rows: sequences) invertible.",
         readings=[],
         code=["aotmem.theory.construct.head_features", "aotmem.theory.construct.heads_for"]),
    dict(id="draft.cor-autoregressive", where="draft, D.8",
         title="autoregressive prediction at every position",
         statement="With `d >= S + 1` and `ceil(N^k / d)` modules, a `T*_lambda` predicts at every position `s > k` "
                   "with error `o(e^{-lambda})` over the best rank-`d` map (positional focusing on the last `k` tokens). "
                   "A stretch goal of the project.",
         readings=[],
         code=["aotmem.theory.construct.construct"]),
    # --- P: the paper ------------------------------------------------------------------
    dict(id="paper.prop1", where="paper, Proposition 1",
         title="the rank-d lower bound",
         statement="`dKL(pi, T) >= dKL(pi, L(N,S,d))` for any Transformer `T` with embedding dimension `d`.",
         readings=[],
         code=["aotmem.theory.aot.AoT", "aotmem.theory.optimal.optimal_encoder"]),
    dict(id="paper.prop2", where="paper, Proposition 2",
         title="d >= N-1 suffices for every distribution, and is needed for some",
         statement="`d >= N-1` gives `dKL(pi, L(N,S,d)) = 0` for every `pi`; for `d < N-1` some `pi` has "
                   "`dKL(pi, L(N,S,d)) > 0` (the package exhibits one, with a certified positive lower bound).",
         readings=[],
         code=["aotmem.theory.optimal.optimal_encoder", "aotmem.theory.exact"]),
    dict(id="paper.prop3", where="paper, Proposition 3",
         title="associations need only d >= 2",
         statement="Under Assumption 1 (one-hot rows) and `d >= 2`, `dKL(pi, L(N,S,d)) = 0`, an infimum: the "
                   "package exhibits a family whose divergence goes to 0, with its rate.",
         readings=[],
         code=["aotmem.theory.generators.association_task", "aotmem.theory.exact"]),
    dict(id="paper.lemma1", where="paper, Lemma 1",
         title="under full support the infimum is attained",
         statement="Under Assumption 2 (every `pi(o|t) > 0`) the infimum `dKL(pi, L(N,S,d))` is attained.",
         readings=[],
         code=["aotmem.theory.optimal.optimal_encoder"]),
    dict(id="paper.lemma2", where="paper, Lemma 2",
         title="rank of the head features",
         statement="With `H` heads, for `T_0` sequences there are `W_QK^h`, `e`, `pos` with "
                   "`rank{A(t)} >= min(T_0, H d)`; rank-1 `W_QK^h` suffice (Remark 2).",
         readings=[],
         code=["aotmem.theory.construct.draw_primed", "aotmem.theory.construct.head_features"]),
    dict(id="paper.theorem1", where="paper, Theorem 1",
         title="an AoT as good as the best rank-d map, up to eps",
         statement="If `d_h H + d >= T_eps` (Assumption 2), there is an AoT `T` with "
                   "`dKL(pi, T) <= dKL(pi, L(N,S,d)) + C eps ||W E||_2 + gamma`, `gamma > 0` arbitrary, "
                   "`C = sqrt(1 + ||M_1^{-1} M_2||_2^2)`; `||W E||_2` evaluated with the row-centred `W`. "
                   "Parameters `d(S + 2N + 4 d_h H)`, or `d(S + 2N + 2(d_h + 1) H)` with rank-1 `W_QK`.",
         readings=["As written, and with the factor 2 the proof's chain carries (`+factor2`).",
                   "The explicit construction of `docs/construction.md` reaches `gamma = 0`."],
         code=["aotmem.theory.construct.construct", "aotmem.theory.construct.theorem1_rhs", "aotmem.theory.construct.paper_param_count"]),
    dict(id="paper.cor1", where="paper, Corollary 1",
         title="association with d = 2",
         statement="Under Assumption 1 with `d = 2`, an AoT memorises `T_0 = H d_h + 2` associations with "
                   "`2(S + 2N + 4(T_0 - 2))` parameters.",
         readings=[],
         code=["aotmem.theory.construct.construct"]),
    dict(id="paper.cor2", where="paper, Corollary 2",
         title="accuracy on associations with a uniform prior",
         statement="Under Assumption 1 with a uniform prior, some AoT has accuracy "
                   "`>= 1/N + (1 - 1/N)(H d_h + d)/T_0`.",
         readings=["`witness-search`: per instance, `T*` with exactly `H` heads over choices of the memorised "
                   "sequences, of the target and of the draws; holds when one reaches the bound.",
                   "`construction=T*`: one witness; its shortfall is a finding about `T*` (verdict `no-witness`)."],
         code=["aotmem.theory.construct.construct"],
         figure="capacity.png",
         report="capacity"),
    dict(id="paper.theorem2", where="paper, Theorem 2",
         title="look-up tables over sequences",
         statement="`draft.lookup-theorem` restated over sequences, plus the simplified form "
                   "`dKL <= E_t[pi(o != g(t) | t)] (1+4C)/(1-2C) log((N-1)/(e^{E_t[h(pi_t)]} - 1))`.",
         readings=["`constant=dtv` and `constant=4C`: the two constants of the first form.",
                   "`simplified`: the second form, tested on its own (the step is Jensen on a product)."],
         code=["aotmem.theory.lookup.paper_theorem2_bound", "aotmem.theory.lookup.paper_theorem2_simplified"]),
    dict(id="paper.theorem3", where="paper, Theorem 3",
         title="polynomially approximable distributions",
         statement="For polynomially approximable `pi`, the gap is `O(eps log(1/eps))`; the rate is measured on "
                   "families where it can be.",
         readings=[],
         code=["aotmem.theory.optimal.optimal_encoder"]),
    dict(id="paper.table1", where="paper, Table 1",
         title="capacities compared",
         statement="Capacities `H(d_h - 1) + 1` (Mahdavi et al. 2024), `O(L^2)` (Kim et al. 2023) and "
                   "`H d_h + d` (this paper), with their parameter counts.",
         readings=[],
         code=["aotmem.theory.construct.paper_param_count"],
         figure="capacity.png",
         report="capacity"),
]

CLAIM_IDS = [c["id"] for c in CLAIMS]


def page_path(claim_id: str) -> Path:
    """``docs/claims/<claim id>.md``."""
    return CLAIMS_DIR / f"{claim_id}.md"


def load_verdicts(path: Path = VERDICTS) -> dict:
    """The trimmed ledger run (``{"run": {...}, "results": [...]}``), or an empty one if absent."""
    if not path.exists():
        return {"run": None, "results": []}
    return json.loads(path.read_text())


def trim_ledger(doc: dict, command: str) -> dict:
    """Keep from an ``aotmem verify --json`` document what the pages show."""
    keep = ("key", "id", "reading", "verdict", "instances", "outside", "reason", "corrects", "wall_s")
    results = []
    for r in doc["results"]:
        t = {k: r.get(k) for k in keep}
        tight = r.get("tightest") or {}
        ev = tight.get("evaluation") or {}
        t["tightest_rel_margin"] = ev.get("rel_margin")
        t["tightest_summary"] = tight.get("summary")
        evid = r.get("evidence") or {}
        t["methods"] = evid.get("methods")
        mr = evid.get("max_ratio") or {}
        t["max_ratio"] = mr.get("ratio")
        t["short_of_target"] = evid.get("short_of_target")
        ce = r.get("counterexample")
        if ce:
            ev = ce.get("evaluation") or {}
            check = f"{_fmt_margin(ev.get('lhs'))} {ev.get('sense', '?')} {_fmt_margin(ev.get('rhs'))} violated"
            rc = ce.get("recheck") or {}
            t["counterexample"] = {"summary": ce.get("summary"), "check": check, "reproduce": ce.get("reproduce"),
                                   "recipe": ce.get("recipe"), "method": ce.get("method"),
                                   "shrink_evaluations": ce.get("shrink_evaluations"), "shrunk": ce.get("shrunk"),
                                   "recheck": {k: rc.get(k) for k in ("confirmed", "method", "dps", "tol", "lhs", "rhs")}
                                   if rc else None}
        else:
            t["counterexample"] = None
        results.append(t)
    run = {k: doc.get(k) for k in ("created", "profile", "seed", "claims_pattern", "wall_s", "interrupted")}
    run["command"] = command
    return {"run": run, "results": results}


def results_for(claim_id: str, verdicts: dict) -> list[dict]:
    """Ledger results whose id is ``claim_id`` or a corrected form ``claim_id+...``."""
    return [r for r in verdicts["results"] if r["id"] == claim_id or r["id"].startswith(claim_id + "+")]


def _fmt_margin(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:.4g}"


def _cell(s, limit: int = 240) -> str:
    s = str(s or "").replace("\n", " ")
    if len(s) > limit:  # the full text is in verdicts.json and in the ledger's own report
        s = s[: limit - 1].rstrip() + "…"
    return s.replace("|", "\\|")


def module_of(name: str) -> str:
    """The module that holds dotted ``name`` (``name`` itself when it is a module): docs/api.md has a section each."""
    import importlib

    try:
        importlib.import_module(name)
        return name
    except ImportError:
        return name.rsplit(".", 1)[0]


def load_numbers(path: Path = NUMBERS) -> dict:
    """The numbers of the committed figures (``aotmem report docs/figures``), or ``{}``."""
    return json.loads(path.read_text()) if path.exists() else {}


def _assoc_values(res: dict, verdicts: dict) -> dict:
    """The two capacities the assoc-memory page compares, read from the ledger run and from numbers.json."""
    ce = next((r["counterexample"] for r in results_for("seed.assoc-memory", verdicts)
               if r["key"] == "seed.assoc-memory[capacity<=d]" and r.get("counterexample")), None)
    d = (ce or {}).get("recipe", {}).get("d")
    N = (ce or {}).get("check", "?").split(" ")[0]
    return {"ledger_d": d, "ledger_N": N, "report_N": res.get("capacity90", {}).get(str(d), "?")}


def recheck_text(verdict: str, rc: dict) -> str:
    """How a counterexample was re-checked, in words (``recheck.method``: mpmath, exact, exact argmax, none)."""
    if verdict == "no-witness":
        return "witness miss"
    if not rc.get("confirmed"):
        return "not re-checked"
    return {"mpmath": f"confirmed in {rc.get('dps') or 50}-digit arithmetic", "exact": "exact integers",
            "exact argmax": "exact argmax"}.get(rc.get("method"), str(rc.get("method")))


def render(claim: dict, verdicts: dict, numbers: dict | None = None) -> str:
    """The Markdown page of one claim."""
    cid = claim["id"]
    src = cid.split(".")[0]
    out = [f"# `{cid}`: {claim['title']}", "",
           f"Source: {claim['where'].split(', ', 1)[-1]}, in {SOURCES[src]}. The theory: "
           f"[`{cid}` in docs/theory.md](../theory.md#{cid}); notation: [notation](../notation.md); "
           f"all claims: [index](../index.md#claims).", "",
           "## Statement", "", claim["statement"], ""]
    out += ["## Readings", ""]
    if claim["readings"]:
        out += [f"- {r}" for r in claim["readings"]]
    else:
        out += ["The statement is unambiguous; it has one reading."]
    out += ["", "## Where the code computes it", ""]
    for name in claim["code"]:
        mod = module_of(name)
        out.append(f"- `{name}` ([API: `{mod}`](../api.md#{mod.replace('.', '')}))")
    out += ["", "## Verdict", ""]
    res = results_for(cid, verdicts)
    run = verdicts.get("run")
    if res:
        out += ["Computed by the claims ledger, never written by hand "
                f"(run of {run['created']}, profile `{run['profile']}`, seed {run['seed']}, "
                f"command `{run['command']}`):", "",
                "| claim[reading] | verdict | instances (sampling + families + optimisation + shrink) | tightest relative "
                "margin | largest lhs/rhs | counterexample (check) or reason |",
                "|---|---|---|---|---|---|"]
        for r in res:
            ce = r["counterexample"]
            if ce:
                how = recheck_text(r["verdict"], ce.get("recheck") or {})
                if ce.get("shrunk") and r["verdict"] == "fails":
                    how += f"; found by {ce.get('method') or '?'}, shrunk: {ce['shrunk']}"
                why = f"{ce['summary']}: {ce['check']} ({how})"
            else:
                why = r.get("reason") or r.get("short_of_target") or ""
            m = r.get("methods") or {}
            inst = (f"{r['instances']} ({m.get('sampling', 0)} + {m.get('families', 0)} + {m.get('optimisation', 0)} + "
                    f"{m.get('shrink', 0)})")
            out.append(f"| `{r['key']}` | **{r['verdict']}** | {inst} | "
                       f"{_fmt_margin(r['tightest_rel_margin'])} | {_fmt_margin(r.get('max_ratio'))} | {_cell(why)} |")
        out += ["", "Each `fails` row says how its counterexample was re-checked (*confirmed in 50-digit arithmetic*: "
                "both sides recomputed with `mpmath`; *exact integers*: integers held exactly in float64, compared "
                "exactly; *exact argmax*: every recall decision exact) and, where the ledger run recorded it, how it "
                "was shrunk (from a kept counterexample of `verify/claims/kept.py`, shrunk when it was found; by "
                "Hypothesis's shrinker; by the explicit shrinker of logits and prior weights); *not re-checked* says "
                "so. A `no-witness` is a finding about the package's witness for an existence claim (nothing "
                "certifies that no object exists). `docs/claims/verdicts.json` holds each instance in full "
                "(replayable).", ""]
    else:
        out += [f"Verdict: see `aotmem verify --claims '{cid}*'` (the ledger run recorded in "
                "`docs/claims/verdicts.json` has no entry for this claim).", ""]
    if claim.get("figure"):
        out += ["## Figure", "", f"![{cid}](../figures/{claim['figure']})", "",
                f"Regenerate it with `aotmem report docs/figures --only {claim['report']}` "
                "(see [the experiments](../index.md#experiments)).", ""]
        res = (numbers or {}).get("experiments", {}).get(claim["report"])
        if res:
            from aotmem.verify.outputs.experiments import summary_lines

            out += [f"Measured (`aotmem report`, size `{numbers['size']}`, seed {numbers['seed']}; "
                    "numbers in [`numbers.json`](../figures/numbers.json)):", ""]
            out += [f"- {line}" for line in summary_lines(claim["report"], res)]
            out += [""]
            if claim.get("settings"):
                out += [claim["settings"].format(**_assoc_values(res, verdicts)), ""]
    out += ["## Reproduce", "", "```sh", f"aotmem verify --claims '{cid}*' --seed "
            f"{run['seed'] if run else 0} --json {cid}.json"]
    if claim.get("report"):
        out += [f"aotmem report docs/figures --only {claim['report']}"]
    out += ["```", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ledger", metavar="FILE", help="refresh verdicts.json from this `aotmem verify --json` file")
    ap.add_argument("--command", default="aotmem verify --json FILE",
                    help="with --ledger: the command that produced FILE (shown on the pages)")
    ap.add_argument("--check", action="store_true", help="compare the pages with their rendering; exit 1 on a difference")
    args = ap.parse_args(argv)
    if args.ledger:
        VERDICTS.write_text(json.dumps(trim_ledger(json.loads(Path(args.ledger).read_text()), args.command),
                                       indent=1) + "\n")
    verdicts, numbers = load_verdicts(), load_numbers()
    stale = []
    for claim in CLAIMS:
        text = render(claim, verdicts, numbers)
        path = page_path(claim["id"])
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            CLAIMS_DIR.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        sys.stderr.write("stale claim pages (run `python docs/gen_claim_pages.py`): " + ", ".join(stale) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
