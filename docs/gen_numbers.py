"""The measured numbers of README.md and docs/, written by the script that measured them.

Each measurement has a record, ``docs/numbers/<name>.json``: what was run
(``command``), when (``date``, UTC), on how many cores (``cores``, with the CPU
and the load average at the time), and its raw output (``data``). The pages hold
the rendering of a record between two markers::

    <!-- generated:NAME -->
    ...
    <!-- /generated -->

and nothing between the markers is written by hand. ``tests/test_docs_numbers.py``
re-renders every block from its record and compares (counts and verdicts
exactly), checks that each block states its date and core count, and re-measures
the cheap ones against the record within a stated factor (``MEMORY_FACTOR``,
``TIME_FACTOR``).

Usage (from the repository root)::

    python docs/gen_numbers.py                          # re-render every block from the records
    python docs/gen_numbers.py --measure peak-memory    # measure again, write the record, re-render
    python docs/gen_numbers.py --measure ledger-quick --from run.json   # record an `aotmem verify --json` run
    python docs/gen_numbers.py --check                  # exit 1 if a block differs from its rendering

Measurements (``MEASURES``): ``peak-memory`` (``benchmarks/peak_memory.py --T
1000000``, a minute or two), ``ledger-quick`` (``aotmem verify --json``, the
quick profile), ``ledger-full`` (``aotmem verify --profile full --workers 2``,
about 20 minutes: its record is the run of 2026-11-29, not re-run since),
``report`` (``aotmem report docs/figures``: the figures, ``numbers.json`` and
the time), ``real-text`` (``aotmem curve`` on the real-text task at the
smallest ``d``; the other rows of the table are the earlier full run's, dated).
The ``unverified`` block is not a measurement: it lists the claims the registry
marks unverifiable and the ``no-witness`` verdicts of docs/claims/verdicts.json.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
RECORDS = DOCS / "numbers"
PAGES = [ROOT / "README.md", DOCS / "index.md", DOCS / "performance.md", DOCS / "real-text.md"]
BLOCK = re.compile(r"(<!-- generated:([a-z0-9-]+) -->\n)(.*?)(<!-- /generated -->)", re.S)

# A re-measurement agrees with its record when within these factors (either way): peak RSS of a
# fresh interpreter varies by a few MiB with the allocator and the loaded libraries; wall times
# on a shared 2-core machine vary by 2x with the load (docs/performance.md, "Machine").
MEMORY_FACTOR = 1.5
TIME_FACTOR = 3.0


# ----------------------------------------------------------------------------- records --

def machine() -> dict:
    """The machine a measurement ran on: cores, CPU model, load average."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cores": os.cpu_count(), "cpu": cpu, "load_1min": None if load is None else round(load, 2),
            "python": platform.python_version()}


def record(name: str, command: str, data, *, note: str = "", date: str | None = None, **mach) -> dict:
    m = machine()
    m.update(mach)
    return {"name": name, "command": command,
            "date": date or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"), **m, "note": note, "data": data}


def load(name: str) -> dict:
    return json.loads((RECORDS / f"{name}.json").read_text())


def save(rec: dict) -> None:
    RECORDS.mkdir(exist_ok=True)
    (RECORDS / f"{rec['name']}.json").write_text(json.dumps(rec, indent=1) + "\n")


def _run(cmd: list[str], **kw) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, **kw)
    return res, time.perf_counter() - t0


def _aotmem() -> list[str]:
    return [sys.executable, "-m", "aotmem.verify"]


# ------------------------------------------------------------------------ measurements --

def measure_peak_memory(T: int = 10**6, cases: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pm.json"
        cmd = [sys.executable, "benchmarks/peak_memory.py", "--T", str(T), "--json", str(out)]
        if cases:
            cmd += ["--cases", cases]
        _run(cmd)
        rows = json.loads(out.read_text())
    return record("peak-memory", f"python benchmarks/peak_memory.py --T {T}", rows)


def _ledger(profile: str, args: list[str], from_file: str | None) -> dict:
    """The summary of a complete ledger run of ``profile``: run now with ``args``, or read from ``from_file``."""
    if from_file is None:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "v.json"
            _run(_aotmem() + ["verify", *args, "--json", str(out)])
            doc = json.loads(out.read_text())
    else:
        doc = json.loads(Path(from_file).read_text())
    if doc["interrupted"] or doc["claims_pattern"] or doc["profile"] != profile:
        raise ValueError(f"`--from` must be a complete {profile} run of every claim (`aotmem verify "
                         f"{' '.join(args)} --json FILE`)")
    data = {k: doc[k] for k in ("created", "profile", "seed", "wall_s", "claims_run", "counts")}
    data["instances"] = sum(r["instances"] for r in doc["results"])
    holds = [r for r in doc["results"] if r["verdict"] == "holds"]
    data["holds"], data["holds_at_target"] = len(holds), sum(r["instances"] >= 10_000 for r in holds)
    return data


def measure_ledger_quick(from_file: str | None = None) -> dict:
    data = _ledger("quick", [], from_file)
    return record("ledger-quick", "aotmem verify --json FILE  (--workers auto: min(cores, 4))", data,
                  date=data["created"][:10])


def measure_ledger_full(from_file: str | None = None) -> dict:  # pragma: no cover (about 30 minutes on 2 cores)
    data = _ledger("full", ["--profile", "full", "--workers", "2"], from_file)
    return record("ledger-full", "aotmem verify --profile full --workers 2 --json FILE", data,
                  date=data["created"][:10])


def measure_report() -> dict:
    _, wall = _run(_aotmem() + ["report", "docs/figures"])
    numbers = json.loads((DOCS / "figures" / "numbers.json").read_text())
    data = {"wall_s": round(wall, 2), "size": numbers["size"], "seed": numbers["seed"],
            "experiments_s": {k: v.get("wall_s") for k, v in numbers["experiments"].items()}}
    return record("report", "aotmem report docs/figures", data)


REAL_TEXT_TASK = [["task", "example-text", "--out", "corpus.txt"],
                  ["task", "from-text", "corpus.txt", "--S", "2", "--lower", "--symbols", "abcdefghijklmnopqrstuvwxyz",
                   "--smoothing", "0.5", "--keep", "all", "--out", "text.npz"]]


def measure_real_text(ds: str = "1:3") -> dict:
    """``aotmem curve text.npz --d DS`` on docs/real-text.md's task; the rows d > DS stay those of the earlier run."""
    with tempfile.TemporaryDirectory() as tmp:
        for argv in REAL_TEXT_TASK:
            subprocess.run(_aotmem() + argv, cwd=tmp, capture_output=True, text=True, check=True)
        t0 = time.perf_counter()
        res = subprocess.run(_aotmem() + ["curve", "text.npz", "--d", ds, "--json"], cwd=tmp, capture_output=True,
                             text=True, check=True)
        wall = time.perf_counter() - t0
    doc = json.loads(res.stdout)
    rows = [_curve_row(p) for p in doc["points"]]
    old = load("real-text")
    done = {r["d"] for r in rows}
    earlier = old["data"]["earlier"]
    earlier["rows"] = [r for r in earlier["rows"] if r["d"] not in done]
    return record("real-text", f"aotmem curve text.npz --d {ds} --json  (default --starts 4)",
                  {"rows": rows, "wall_s": round(wall, 1), "trivial": doc["trivial"], "earlier": earlier})


def _curve_row(p: dict) -> dict:
    small = p.get("smallest") or {}
    return {"d": p["d"], "best": p["optimal"]["divergence"], "converged": p["optimal"]["converged"],
            "grad_norm": p["optimal"]["grad_norm"], "f_ls": p["f_ls"], "f_wls": p["f_wls"],
            "smallest": small.get("bound"), "of": f"{small.get('claim')}[{small.get('reading')}]",
            "informative": p["informative"], "bounds": p["bounds"], "seconds": round(p["seconds"], 1)}


MEASURES = {"peak-memory": measure_peak_memory, "ledger-quick": measure_ledger_quick,
            "ledger-full": measure_ledger_full, "report": measure_report, "real-text": measure_real_text}


# --------------------------------------------------------------------------- rendering --

def _mib(b) -> str:
    return f"{b / 2**20:.1f} MiB"


def stamp(rec: dict) -> str:
    """The date and machine of a record, as the blocks print it."""
    load = f", load average {rec['load_1min']}" if rec.get("load_1min") is not None else ""
    return f"{rec['date']}, {rec['cores']} cores{load}"


def _dur(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    return f"{m} min {sec} s"


_PM_WHAT = {
    "baseline": "interpreter + `aotmem.theory.divergence` imported (numpy), nothing computed",
    "kl-arrays": "`kl(prior, cond, F, chunk=auto)`, `cond` and `F` held as `(10^6, 10)` arrays (160 MB of input)",
    "kl-stream": "`kl_stream` at `N = 100`, with `cond` and the logits made block by block (together the two "
                 "`(T, N)` matrices would take 1.6 GB)",
    "forward": "`AoT.logits` of all `10^6` sequences (`N=10, S=6, d=16, H=4, d_h=8`), all `(T, N)` logits "
               "returned at once",
    "forward-kl-stream": "the AoT's forward pass fed block by block into `kl_stream` (`N=100, S=3`): "
                         "`dKL(pi, T)` over 10^6 sequences",
}


def render_peak_memory() -> str:
    rec = load("peak-memory")
    rows = rec["data"]
    out = [f"Measured by `{rec['command']}` on {stamp(rec)} ({rec['cpu']}); record "
           "[`docs/numbers/peak-memory.json`](numbers/peak-memory.json).", "",
           "| case | what is computed | peak RSS | tracemalloc peak |", "|---|---|---:|---:|"]
    for r in rows:
        tm = r.get("tracemalloc_peak_bytes")
        out.append(f"| `{r['case']}` | {_PM_WHAT.get(r['case'], '')} | {_mib(r['maxrss_bytes'])} | "
                   f"{'-' if tm is None else ('0' if tm == 0 else _mib(tm))} |")
    big = max(rows, key=lambda r: r["maxrss_bytes"])
    out += ["", f"Every case stays under the 1 GiB budget; the largest is `{big['case']}`, "
            f"{_mib(big['maxrss_bytes'])}."]
    return "\n".join(out)


def _counts(c: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items() if v)


def _instances(d: dict) -> str:
    return d.get("instances_text") or f"{d['instances']:,}"


def render_ledger_times() -> str:
    q, f = load("ledger-quick"), load("ledger-full")
    return (f"The quick profile took {_dur(q['data']['wall_s'])} ({q['data']['claims_run']} claim readings, "
            f"{_instances(q['data'])} instances; {_counts(q['data']['counts'])}) on {stamp(q)}"
            f"{' (' + q['note'] + ')' if q['note'] else ''}; the full one, which evaluates at least 10^4 instances "
            f"per claim where an instance costs milliseconds, took {_dur(f['data']['wall_s'])} "
            f"({_instances(f['data'])} instances; {_counts(f['data']['counts'])}"
            + (f"; {f['data']['holds_at_target']} of the {f['data']['holds']} holds rest on 10^4 instances or more"
               if "holds_at_target" in f["data"] else "")
            + f") on {stamp(f)}"
            f"{' (' + f['note'] + ')' if f['note'] else ''}. Records: [`docs/numbers/`](docs/numbers/), written by "
            "`python docs/gen_numbers.py`.")


def render_report_time() -> str:
    r = load("report")
    return (f"`aotmem report` took {_dur(r['data']['wall_s'])} (size `{r['data']['size']}`, seed "
            f"{r['data']['seed']}) on {stamp(r)}.")


def _g(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def render_real_text() -> str:
    rec = load("real-text")
    data = rec["data"]
    ea = data["earlier"]
    out = ["| `d` | best `dKL` | `f_ls` | `f_wls` | smallest bound | its claim[reading] | informative | run |",
           "|---:|---:|---:|---:|---:|---|---:|---|"]
    rows = [(r, rec["date"]) for r in data["rows"]] + [(r, ea["date"]) for r in ea["rows"]]
    rows.sort(key=lambda t: t[0]["d"])
    for r, date in rows:
        conv = "" if r.get("converged", True) else " (not converged)"
        out.append(f"| {r['d']} | {_g(r['best'])}{conv} | {_g(r['f_ls'])} | {_g(r['f_wls'])} | {_g(r['smallest'])} | "
                   f"`{r['of']}` | {r['informative']} of {r.get('bounds', 40)} | {date} |")
    fresh = data["rows"]
    not_conv = [r["d"] for r, _ in rows if r.get("converged") is False]
    out += ["", f"Rows `d` = {fresh[0]['d']} to {fresh[-1]['d']}: `{rec['command']}` on {stamp(rec)} "
            f"({data['wall_s']:.0f} s); the others: {ea['command']} on {ea['date']}, {ea['cores']} cores "
            f"({ea['note']}); record [`docs/numbers/real-text.json`](numbers/real-text.json). "
            + ("The solver reports convergence at every `d` of the table." if not not_conv else
               f"The solver reports convergence at every `d` but {', '.join(map(str, not_conv))}.")]
    return "\n".join(out)


def render_real_text_factor() -> str:
    """The README's summary of the real-text table: up to which d no bound is informative, and by how much."""
    rec = load("real-text")
    data = rec["data"]
    rows = sorted(data["rows"] + data["earlier"]["rows"], key=lambda r: r["d"])
    none = [r for r in rows if r["informative"] == 0]
    last = max(r["d"] for r in none)
    if [r["d"] for r in none] != list(range(1, last + 1)):
        raise ValueError("the uninformative rows of the real-text record are not d = 1 .. last")
    ratios = [r["smallest"] / data["trivial"] for r in none]
    return (f"On real text (character bigrams of Python's own documentation, `N = 27`) every bound is above the "
            f"zero encoder's divergence ({data['trivial']:.3g} nats) for `d <= {last}`, by a factor of "
            f"{min(ratios):,.2g} to {max(ratios):,.0f} ([measured](docs/real-text.md): {data['earlier']['date']} and "
            f"{rec['date']}, {rec['cores']} cores); and the smallest of them come from the prior-weighted readings, "
            "which the ledger refutes.")


def render_unverified() -> str:
    """What the ledger does not verify, and why: the registry's unverifiable claims and the recorded no-witness verdicts."""
    sys.path.insert(0, str(ROOT))
    from aotmem.verify.ledger.registry import all_claims  # noqa: PLC0415

    out = ["Not verified, and why (from the claims registry, `Claim.unverifiable`, and the `no-witness` verdicts "
           "of the ledger run in [`docs/claims/verdicts.json`](docs/claims/verdicts.json)):", ""]
    for c in all_claims():
        if c.unverifiable is not None:
            out.append(f"- `{c.key}` (unverifiable): {c.unverifiable}")
    v = json.loads((DOCS / "claims" / "verdicts.json").read_text())
    counts = {k: sum(r["verdict"] == k for r in v["results"]) for k in ("holds", "fails", "no-witness", "vacuous",
                                                                         "unverifiable")}
    out[0] = (f"What the ledger run of {v['run']['created'][:10]} (profile `{v['run']['profile']}`) found, over "
              f"{len(v['results'])} claim readings: {counts['holds']} `holds` (searched, nothing violated: evidence, "
              f"not a proof), {counts['fails']} `fails` (refuted by a counterexample, shrunk and re-checked), "
              f"{counts['no-witness']} `no-witness`, {counts['vacuous']} `vacuous`, {counts['unverifiable']} "
              "`unverifiable`. " + out[0])
    nw = [r for r in v["results"] if r["verdict"] == "no-witness"]
    if nw:
        out.append(f"- {len(nw)} readings are `no-witness` (an existence claim whose witness, built by the package, "
                   "missed on some instance; no certificate that no object exists, so neither verified nor refuted): "
                   + ", ".join(f"`{r['key']}`" for r in nw))
    return "\n".join(out)


RENDER = {"peak-memory": render_peak_memory, "ledger-times": render_ledger_times, "report-time": render_report_time,
          "real-text": render_real_text, "unverified": render_unverified, "real-text-factor": render_real_text_factor}
# the records each block is rendered from (the test checks their date and core count)
SOURCES = {"peak-memory": ["peak-memory"], "ledger-times": ["ledger-quick", "ledger-full"], "report-time": ["report"],
           "real-text": ["real-text"], "unverified": [], "real-text-factor": ["real-text"]}


def _relink(text: str, page: Path) -> str:
    """Blocks link from the repository root; a page under docs/ links relative to itself."""
    if page.parent == DOCS:
        text = text.replace("](docs/", "](")
        text = re.sub(r"\]\((?!https?:|#|\.\./)(numbers/|claims/)", r"](\1", text)
    return text


def blocks(page: Path) -> list[tuple[str, str]]:
    """``(name, text)`` of each generated block of ``page``."""
    return [(m.group(2), m.group(3)) for m in BLOCK.finditer(page.read_text())]


def rendered(name: str, page: Path) -> str:
    return _relink(RENDER[name](), page) + "\n"


def rerender(page: Path) -> str:
    return BLOCK.sub(lambda m: m.group(1) + rendered(m.group(2), page) + m.group(4), page.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measure", choices=sorted(MEASURES), action="append", default=[],
                    help="measure again and write the record first")
    ap.add_argument("--from", dest="from_file", help="with --measure ledger-quick or ledger-full: an existing `aotmem verify --json` file")
    ap.add_argument("--check", action="store_true", help="compare the blocks with their rendering; exit 1 on a difference")
    args = ap.parse_args(argv)
    for name in args.measure:
        rec = MEASURES[name](args.from_file) if name in ("ledger-quick", "ledger-full") else MEASURES[name]()
        save(rec)
    stale = []
    for page in PAGES:
        text = rerender(page)
        if args.check:
            if text != page.read_text():
                stale.append(str(page.relative_to(ROOT)))
        else:
            page.write_text(text)
    if stale:
        sys.stderr.write("stale generated numbers (run `python docs/gen_numbers.py`): " + ", ".join(stale) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
