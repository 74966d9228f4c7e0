"""Code examples in the guides, executed against LocalCave and LocalSheets.

An example marked ``<!-- example: NAME ... -->`` is the fenced Python block right after the
marker; each test runs one with the names it expects bound, then checks what it produced.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parents[1] / "docs"


def example(page: str, name: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    found = re.search(rf"<!-- example: {re.escape(name)}\b[^>]*-->\s*```python\n(.*?)```",
                      text, re.DOTALL)
    assert found, f"no example {name!r} in {page}"
    return found.group(1)


def test_the_representative_points_example(local_cave, local_sheets):
    from tracertools.storage.sheet import Sheet

    world = local_cave.world
    ids = [int(r) for r in world.latest_roots_now()][:4]
    key = local_sheets.create("book", tabs={"T": [["segment_id"]] + [[str(i)] for i in ids]})
    scope = {"ds": local_cave.datastack(), "ids": ids, "tab": Sheet(key).tab("T")}
    exec(example("segments.md", "representative-points"), scope)
    cells = [row[1] for row in local_sheets.values(key, "T")[1:]]
    for root, cell in zip(ids, cells, strict=True):
        point = [float(v) for v in cell.split(",")]
        assert world.root_at_point(point) == root
    state = local_cave.datastack().state(scope["url"])
    assert np.allclose(state.position, scope["points"][0])
    assert len(state.annotations("inside")) == len(ids)
