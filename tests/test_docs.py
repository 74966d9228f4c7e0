"""The docs: every guide reachable from the index and the nav."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _guides() -> set[str]:
    return {p.name for p in DOCS.glob("*.md") if p.name != "index.md"}


def test_the_index_links_every_guide():
    linked = set(re.findall(r"\]\(([\w-]+\.md)\)", (DOCS / "index.md").read_text()))
    assert _guides() <= linked, sorted(_guides() - linked)


def test_the_nav_lists_every_guide():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert all(f" {name}" in nav for name in _guides()), [n for n in _guides() if f" {n}" not in nav]


ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj):`")


def test_docstrings_use_markdown_cross_references_not_sphinx_roles():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "tracertools").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ROLE.search(line)
    ]
    assert not offenders, offenders[:20]
