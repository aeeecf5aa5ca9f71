"""The docs stay in sync with the code: API reference, claim pages and their verdicts, links."""

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))

import gen_api  # noqa: E402
import gen_claim_pages as gcp  # noqa: E402

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _pages():
    return sorted(p for p in DOCS.rglob("*.md"))


def _links(path: Path) -> set[Path]:
    """Resolved targets of the relative Markdown links of ``path``."""
    out = set()
    for target in LINK.findall(path.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        out.add((path.parent / target).resolve())
    return out


# --- API reference ---------------------------------------------------------------------


def test_api_reference_lists_exactly_the_public_names_of_the_code():
    code, docs = gen_api.code_api(), gen_api.documented_api()
    missing = {m: sorted(set(n) - set(docs.get(m, []))) for m, n in code.items()}
    extra = {m: sorted(set(n) - set(code.get(m, []))) for m, n in docs.items()}
    missing = {m: v for m, v in missing.items() if v}
    extra = {m: v for m, v in extra.items() if v}
    assert not missing and not extra, (
        f"docs/api.md is out of date (run `python docs/gen_api.py`): missing {missing}, gone from the code {extra}")


def test_api_reader_sees_a_deleted_entry(tmp_path):
    text = gen_api.API.read_text()
    victim = next(line for line in text.splitlines() if line.startswith("- **`recall_curve`**"))
    broken = tmp_path / "api.md"
    broken.write_text(text.replace(victim + "\n", ""))
    assert "recall_curve" in gen_api.code_api()["aotmem.theory.assoc"]
    assert "recall_curve" not in gen_api.documented_api(broken)["aotmem.theory.assoc"]


# --- claim pages -----------------------------------------------------------------------


def _registry_ids():
    from aotmem.verify.ledger.registry import all_claims

    return {c.id.split("+")[0] for c in all_claims()}


def test_every_claim_id_has_a_page():
    ids = set(gcp.CLAIM_IDS)
    assert len(ids) == len(gcp.CLAIM_IDS), "a claim id is listed twice"
    assert _registry_ids() <= ids, f"ledger claims without a page: {sorted(_registry_ids() - ids)}"
    theory_ids = set(gcp.theory_claim_ids())
    assert theory_ids == ids, (f"docs/theory.md ids without a page: {sorted(theory_ids - ids)}; "
                               f"pages for ids docs/theory.md lacks: {sorted(ids - theory_ids)}")
    for cid in ids:
        assert gcp.page_path(cid).exists(), f"no page for {cid}"


def test_claim_pages_are_their_generators_rendering():
    verdicts, numbers = gcp.load_verdicts(), gcp.load_numbers()
    for claim in gcp.CLAIMS:
        assert gcp.page_path(claim["id"]).read_text() == gcp.render(claim, verdicts, numbers), (
            f"{gcp.page_path(claim['id'])} drifted: run `python docs/gen_claim_pages.py`")


def test_claim_pages_show_every_ledger_result_of_their_claim():
    verdicts = gcp.load_verdicts()
    for r in verdicts["results"]:
        base = r["id"].split("+")[0]
        page = gcp.page_path(base).read_text()
        assert f"| `{r['key']}` | **{r['verdict']}** |" in page


def test_code_named_on_claim_pages_exists():
    for claim in gcp.CLAIMS:
        for name in claim["code"]:
            parts = name.split(".")
            mod = importlib.import_module(".".join(parts[:2]))
            obj = mod
            for attr in parts[2:]:
                obj = getattr(obj, attr)
        if claim.get("figure"):
            assert (DOCS / "figures" / claim["figure"]).exists(), claim["figure"]


def test_reproduce_commands_of_claim_pages_select_their_claims():
    from aotmem.verify.ledger.registry import select

    for cid in gcp.CLAIM_IDS:
        keys = [c.key for c in select(f"{cid}*")]
        assert keys, f"`aotmem verify --claims '{cid}*'` selects nothing"
        assert all(k.split("[")[0].split("+")[0] == cid for k in keys), keys


def _cheapest_recorded_result():
    verdicts = gcp.load_verdicts()
    if not verdicts["results"]:
        pytest.skip("docs/claims/verdicts.json records no ledger run yet")
    judged = [r for r in verdicts["results"] if r["verdict"] in ("holds", "fails") and r.get("wall_s") is not None]
    return verdicts["run"], min(judged, key=lambda r: (r["wall_s"], r["key"]))


def test_a_fresh_ledger_run_gives_the_verdict_the_page_states():
    from aotmem.verify.ledger.registry import select
    from aotmem.verify.ledger.runner import run_claims

    run, rec = _cheapest_recorded_result()
    (res,), interrupted = run_claims(select(rec["key"]), profile=run["profile"], seed=run["seed"])
    assert not interrupted
    assert res.key == rec["key"]
    assert res.verdict == rec["verdict"], (
        f"{rec['key']}: the ledger now says {res.verdict}, docs/claims say {rec['verdict']}: refresh with "
        "`aotmem verify --json v.json && python docs/gen_claim_pages.py --ledger v.json`")
    page = gcp.page_path(rec["id"].split("+")[0]).read_text()
    assert f"| `{rec['key']}` | **{res.verdict}** |" in page


# --- links -----------------------------------------------------------------------------


def test_every_docs_page_is_linked_from_the_index_and_the_readme():
    index = DOCS / "index.md"
    from_index, from_readme = _links(index), _links(ROOT / "README.md")
    for page in _pages():
        if page == index:
            continue
        assert page.resolve() in from_index, f"docs/index.md does not link {page.relative_to(ROOT)}"
        assert page.resolve() in from_readme, f"README.md does not link {page.relative_to(ROOT)}"
    assert index.resolve() in from_readme


def test_relative_links_resolve():
    for path in [ROOT / "README.md", *_pages()]:
        for target in _links(path):
            assert target.exists(), f"{path.relative_to(ROOT)} links to a missing {target}"


def test_link_reader_finds_links_and_ignores_urls(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("[x](b.md) [y](https://example.org/c.md) [z](sub/d.md#part) ![f](fig.png)")
    assert _links(p) == {(tmp_path / "b.md").resolve(), (tmp_path / "sub/d.md").resolve(),
                         (tmp_path / "fig.png").resolve()}


# --- the committed figures' numbers --------------------------------------------------------


def test_committed_experiment_numbers_are_reproducible_spot_checks():
    import numpy as np

    from aotmem.theory.assoc import assoc_memory_recall
    from aotmem.theory.capacity import cor2_accuracy_bound
    from aotmem.verify.outputs.experiments import SIZES

    numbers = gcp.load_numbers()
    assert numbers["size"] == "full" and set(numbers["experiments"]) == {"assoc", "encoder", "capacity"}
    for name, res in numbers["experiments"].items():
        assert (DOCS / "figures" / Path(res["figure"]).name).exists(), name
    seed = numbers["seed"]
    a = numbers["experiments"]["assoc"]
    cfg = SIZES["full"]["assoc"]
    d, k = a["ds"][0], 4  # the 5th ratio of the smallest d: a cheap point
    N = int(round(a["ratios"][k] * d))
    trials = max(cfg["trials"], -(-512 // N))
    assert a["recall"][str(d)][k] == assoc_memory_recall(N, d, seed=[seed, d, N], trials=trials).mean
    c = numbers["experiments"]["capacity"]
    d_h = SIZES["full"]["capacity"]["d_h"]
    np.testing.assert_allclose(c["cor2_bound"], [cor2_accuracy_bound(c["N"], H, d_h, c["d"], c["T_0"]) for H in c["Hs"]],
                               rtol=1e-15)
