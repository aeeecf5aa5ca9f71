"""Measured numbers in README.md and docs/ come from their records (docs/numbers/), with a date and a core count.

docs/gen_numbers.py writes each block from its record; a block edited by hand, or a record
refreshed without re-rendering, fails here (counts and verdicts exactly: the block is compared
character for character with its rendering). The cheap measurements are re-measured and must
agree with their record within the stated factors (``MEMORY_FACTOR``, ``TIME_FACTOR``).
"""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import gen_numbers as gn  # noqa: E402

PAGE_BLOCKS = [(page, name) for page in gn.PAGES for name, _ in gn.blocks(page)]


def test_every_page_has_its_blocks():
    names = {(p.name, n) for p, n in PAGE_BLOCKS}
    assert {("README.md", "ledger-times"), ("README.md", "report-time"), ("README.md", "unverified"),
            ("index.md", "unverified"), ("index.md", "report-time"), ("performance.md", "peak-memory"),
            ("performance.md", "ledger-times"), ("real-text.md", "real-text"), ("README.md", "real-text-factor")} <= names


@pytest.mark.parametrize("page, name", PAGE_BLOCKS, ids=lambda x: getattr(x, "name", x))
def test_block_is_its_records_rendering(page, name):
    text = dict(gn.blocks(page))[name]
    assert text == gn.rendered(name, page), (f"{page.name}: block {name} differs from its record: run "
                                             "`python docs/gen_numbers.py`")


@pytest.mark.parametrize("rec", sorted(gn.RECORDS.glob("*.json")), ids=lambda p: p.stem)
def test_every_record_has_a_date_and_a_core_count(rec):
    r = json.loads(rec.read_text())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"]) and isinstance(r["cores"], int) and r["cores"] >= 1
    assert r["command"] and r["name"] == rec.stem


@pytest.mark.parametrize("name", [n for n, srcs in gn.SOURCES.items() if srcs])
def test_every_block_states_the_date_and_cores_of_its_records(name):
    text = gn.RENDER[name]()
    for src in gn.SOURCES[name]:
        r = gn.load(src)
        assert f"{r['date']}, {r['cores']} cores" in text, (name, src)


def test_the_quick_ledger_record_agrees_with_the_claim_pages_ledger():
    """The README's counts are those of docs/claims/verdicts.json (the run the claim pages show)."""
    q = gn.load("ledger-quick")["data"]
    v = json.loads((ROOT / "docs" / "claims" / "verdicts.json").read_text())
    counts = {k: sum(r["verdict"] == k for r in v["results"]) for k in q["counts"]}
    assert q["counts"] == counts and q["claims_run"] == len(v["results"])


def test_the_unverified_block_names_every_unverifiable_claim():
    from aotmem.verify.ledger.registry import all_claims

    text = gn.render_unverified()
    unver = [c for c in all_claims() if c.unverifiable is not None]
    assert unver and all(f"`{c.key}` (unverifiable)" in text for c in unver)
    assert "`draft.cor-autoregressive` (unverifiable)" in text


def test_the_report_record_matches_numbers_json():
    r = gn.load("report")["data"]
    numbers = json.loads((ROOT / "docs" / "figures" / "numbers.json").read_text())
    assert (r["size"], r["seed"]) == (numbers["size"], numbers["seed"])
    assert r["experiments_s"] == {k: v.get("wall_s") for k, v in numbers["experiments"].items()}


def _within(measured: float, recorded: float, factor: float) -> bool:
    return recorded / factor <= measured <= recorded * factor


def test_peak_memory_baseline_re_measured_within_the_factor():
    """The interpreter with aotmem.theory.divergence imported: one subprocess, about a second."""
    rec = {r["case"]: r for r in gn.load("peak-memory")["data"]}
    fresh = gn.measure_peak_memory(T=1000, cases="baseline")["data"][0]
    assert _within(fresh["maxrss_bytes"], rec["baseline"]["maxrss_bytes"], gn.MEMORY_FACTOR), (
        f"baseline peak RSS {fresh['maxrss_bytes'] / 2**20:.1f} MiB against the recorded "
        f"{rec['baseline']['maxrss_bytes'] / 2**20:.1f} MiB: re-measure (`python docs/gen_numbers.py --measure "
        "peak-memory`)")


def test_importing_a_theory_module_loads_neither_scipy_nor_mpmath():
    import subprocess

    code = ("import sys, aotmem.theory.divergence; "
            "print(sorted(m for m in ('scipy', 'mpmath', 'sympy', 'hypothesis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_real_text_convergence_sentence_follows_the_record():
    rec = gn.load("real-text")["data"]
    text = gn.render_real_text()
    rows = rec["rows"] + rec["earlier"]["rows"]
    if all(r.get("converged", True) for r in rows):
        assert "convergence at every `d` of the table" in text and "not converged" not in text
    else:
        assert "but" in text


def test_the_check_catches_a_stale_block(tmp_path, monkeypatch):
    page = tmp_path / "p.md"
    page.write_text("x\n<!-- generated:report-time -->\nabout a minute or two\n<!-- /generated -->\n")
    assert gn.blocks(page) == [("report-time", "about a minute or two\n")]
    assert gn.rerender(page) != page.read_text()


# A measured-looking number: a value with a unit of memory or time, or a speed-up factor.
MEASURED = re.compile(r"\b\d[\d,.]*\s?(MiB|GiB|MB|GB|ms|s|min|minutes|seconds)\b")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Not measurements: budgets and targets the issues set, sizes computed from shapes, the API reference.
NOT_MEASURED = ("docs/api.md", "under 1 GiB", "1 GiB budget", "(8 MB)", "16 MiB each", "L2 2.5 MiB", "160 MB of input",
                "1.6 GB", "the CPU wheel on disk", "fixed NumPy workload")


def _sections(page: Path):
    text = gn.BLOCK.sub("", page.read_text())
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.split(r"^#+ .*$", text, flags=re.M)


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
                                  ROOT / "docs" / "figures" / "report.md"], ids=lambda p: p.name)
def test_every_measured_number_outside_the_blocks_is_dated(page):
    """Outside generated blocks, a paragraph with a time or a memory size has a date in it or in its section."""
    rel = str(page.relative_to(ROOT))
    if rel in NOT_MEASURED:
        return
    undated = []
    for sec in _sections(page):
        if DATE.search(sec):
            continue
        for para in re.split(r"\n\s*\n", sec):
            if MEASURED.search(para) and not any(s in para for s in NOT_MEASURED):
                undated.append(para.strip()[:120])
    assert not undated, f"{rel}: measured numbers without a date (use docs/gen_numbers.py or date them): {undated}"
