"""docs/migration.md states what the code does: claims name the tests that execute them.

A claim is a bullet of the page; ``<!-- tested: path::test_name, ... -->`` after it names the
tests that run the behaviour it states. Every bullet between the ``issue-18`` markers and of the
sections listed in :data:`CHECKED_SECTIONS` must name at least one, and every named test must
exist, so a renamed or deleted test cannot leave a claim unchecked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "migration.md"
MARKER = re.compile(r"<!-- tested: (.*?) -->", re.DOTALL)
#: Sections of "What changed on purpose" whose every claim names its tests.
CHECKED_SECTIONS = ["Segments and CAVE"]


def _bullets(text: str) -> list[str]:
    """The page's bullets, each with its continuation lines."""
    bullets: list[str] = []
    for line in text.splitlines():
        if line.startswith("- "):
            bullets.append(line)
        elif bullets and line.startswith("  ") and line.strip():
            bullets[-1] += "\n" + line
        elif not line.strip() or line.startswith(("#", "|", "<!--")):
            if bullets and not bullets[-1].endswith("\n\n"):
                bullets[-1] += "\n\n"
    return [b.strip() for b in bullets]


def _referenced(text: str) -> list[str]:
    return [ref.strip() for found in MARKER.findall(text) for ref in found.split(",")]


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_claim_of_the_issue_18_section_names_its_tests():
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("<!-- issue-18: begin", 1)[1].split("<!-- issue-18: end -->", 1)[0]
    bullets = _bullets(section)
    assert len(bullets) >= 10
    unchecked = [b.splitlines()[0] for b in bullets if not MARKER.search(b)]
    assert unchecked == []


@pytest.mark.parametrize("section", CHECKED_SECTIONS)
def test_every_claim_of_a_checked_section_names_its_tests(section):
    text = PAGE.read_text(encoding="utf-8")
    body = text.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    bullets = _bullets(body)
    assert bullets
    assert [b.splitlines()[0] for b in bullets if not MARKER.search(b)] == []


@pytest.mark.parametrize("reference", sorted(set(_referenced(PAGE.read_text(encoding="utf-8")))))
def test_every_named_test_exists(reference):
    path, _, name = reference.partition("::")
    file = ROOT / path
    assert file.is_file(), f"{path} does not exist"
    assert name in _test_names(file), f"{name} is not a test in {path}"
