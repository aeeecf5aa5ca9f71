"""Every relative link and anchor in README.md and under docs/ resolves (GitHub's rules for anchors).

A link ``[text](path#anchor)`` (or an image ``![alt](path)``) outside code must name
a file that exists, relative to the page; its anchor must be a heading of the target
page (GitHub's slug: lower case, punctuation but ``-`` and ``_`` dropped, spaces to
``-``, ``-1``, ``-2`` ... for repeats) or an explicit ``<a id="...">``/``<a name="...">``.
"""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INDENTED = re.compile(r"(\n[ \t]*\n)(?:(?: {4}|\t)(?![-*+] |\d+\. ).*\n?)+")  # indented code after a blank line
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^()\s>]+(?:\([^()\s]*\))?[^()\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def _strip_code(text: str) -> str:
    text = FENCE.sub("", text)
    text = INDENTED.sub(r"\1", text)
    return INLINE_CODE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    out, seen = set(), {}
    for _, h in HEADING.findall(text):
        s = slug(h)
        n = seen.get(s, 0)
        out.add(s if n == 0 else f"{s}-{n}")
        seen[s] = n + 1
    out.update(HTML_ANCHOR.findall(text))
    return out


def links(page: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(_strip_code(page.read_text()))]


def test_slug_follows_github():
    assert slug("`aotmem.theory.task`") == "aotmemtheorytask"
    assert slug("On a GPU (`backend=\"cupy\"`, `benchmarks/gpu_run.sh`)") == "on-a-gpu-backendcupy-benchmarksgpu_runsh"
    assert slug("A re-check") == "a-re-check"


def test_the_checker_catches_a_broken_link(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n\n[ok](#title) [bad](#nope) `[code](#ignored)`\n\n```\n[x](missing.md)\n```\n")
    assert links(page) == ["#title", "#nope"]
    assert "title" in anchors(page) and "nope" not in anchors(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...: not checked here
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / unquote(path)).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
            continue
        if anchor and dest.suffix == ".md" and unquote(anchor) not in anchors(dest):
            broken.append(f"{target}: no anchor #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)
