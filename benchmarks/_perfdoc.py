"""Shared by the benchmark scripts: replace one section of docs/performance.md in place."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
DOC_INTRO = """# Performance

Measured numbers from the scripts in `benchmarks/`, each run on the machine named in its section.
Every section is written by its script; rerun the script to refresh it.
"""


def write_section(title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of docs/performance.md, leaving others alone."""
    heading = f"## {title}"
    text = PERFORMANCE_DOC.read_text(encoding="utf-8") if PERFORMANCE_DOC.exists() else DOC_INTRO
    section = f"{heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    PERFORMANCE_DOC.write_text(text, encoding="utf-8")
