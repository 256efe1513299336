"""Every relative link of the user-facing Markdown resolves to a file or folder of the checkout.

README.md, every .md under docs/, and the READMEs and contracts of the other folders. The file part of
a link must exist; an anchor (#...) is not checked. Links to web addresses and bare anchors are skipped.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.unit

PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md"),
                *(REPO / p for p in ("ns3-scenarios/README.md", "gaidt_bridge/PROTOCOL.md", "generators/README.md",
                                     "services/README.md", "benchmarks/README.md"))])
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def links(page: Path) -> list[str]:
    """The link targets of a Markdown page, outside fenced code blocks."""
    return LINK.findall(FENCE.sub("", page.read_text()))


def is_relative(target: str) -> bool:
    return not (target.startswith("#") or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    assert page.is_file(), f"{page.relative_to(REPO)} is missing"
    broken = [t for t in links(page) if is_relative(t) and not (page.parent / t.split("#", 1)[0]).exists()]
    assert not broken, f"{page.relative_to(REPO)}: links to nothing: {broken}"


def test_the_checker_sees_links_and_skips_web_addresses_and_anchors(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("[a](a.md#x) ![b](img/b.png) [c](https://e.org/c.md) [d](#local)\n"
                    "```\n[e](inside-code.md)\n```\n")
    assert links(page) == ["a.md#x", "img/b.png", "https://e.org/c.md", "#local"]
    assert [t for t in links(page) if is_relative(t)] == ["a.md#x", "img/b.png"]
