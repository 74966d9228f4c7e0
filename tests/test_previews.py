"""Notebook previews (``_repr_html_``) of SegmentList, Mesh and Tab: compact, never a request."""

from __future__ import annotations

import numpy as np

from tracertools.geometry.mesh import Mesh
from tracertools.storage.sheet import Sheet

TETRA = np.array([[0, 0, 0], [4000, 0, 0], [0, 2000, 0], [0, 0, 900.0]])


def test_segment_list_preview_names_the_datastack_counts_and_first_ids(local_cave):
    ds = local_cave.datastack()
    ids = [int(r) for r in local_cave.world.latest_roots_now()]
    ids = ids * 3  # repeats are counted once as unique
    local_cave.stats.reset()
    shown = ds.segments(ids)._repr_html_()
    assert local_cave.stats.total == 0
    assert f"SegmentList · {ds.name} · {len(ids)} IDs ({len(set(ids))} unique)" in shown
    assert shown.count("<code>") == 10
    assert all(f"<code>{i}</code>" in shown for i in ids[:10])
    assert f"… {len(ids) - 10} more" in shown


def test_a_short_segment_list_shows_every_id_and_no_more_line(local_cave):
    ds = local_cave.datastack()
    root = int(local_cave.world.latest_roots_now()[0])
    shown = ds.segments([root])._repr_html_()
    assert f"<code>{root}</code>" in shown and "more" not in shown and "1 IDs (1 unique)" in shown


def test_mesh_preview_gives_counts_extent_and_volume():
    mesh = Mesh.convex_hull(TETRA)
    shown = mesh._repr_html_()
    assert "<caption>Mesh</caption>" in shown
    assert "<td>4</td>" in shown  # vertices and faces
    assert "4.00 × 2.00 × 0.90" in shown  # extent in µm
    volume_um3 = 4 * 2 * 0.9 / 6
    assert f"<td>{volume_um3:,.3f}</td>" in shown
    assert "<td>yes</td>" in shown


def test_an_open_mesh_has_no_volume_in_its_preview():
    sheet = Mesh(TETRA[:3], [[0, 1, 2]])
    shown = sheet._repr_html_()
    assert "<td>no</td>" in shown and "<td>—</td>" in shown


def test_tab_preview_makes_no_request_and_shows_the_grid_once_known(local_sheets):
    key = local_sheets.create("book", tabs={"neurons": [["segment_id"], ["1"], ["2"]]})
    tab = Sheet(key).tab("neurons")
    before = tab._repr_html_()
    assert sum(local_sheets.requests.values()) == 0
    assert "<td>neurons</td>" in before and f"<td>{key}</td>" in before and "grid" not in before
    tab.column(1)
    local_sheets.reset()
    rows, cols = local_sheets.grid(key, "neurons")
    after = tab._repr_html_()
    assert sum(local_sheets.requests.values()) == 0
    assert f"{rows:,} rows × {cols:,} columns" in after


def test_previews_escape_what_they_show(local_sheets):
    tab = Sheet("k").tab("<b>x</b>")
    assert "<b>x</b>" not in tab._repr_html_() and "&lt;b&gt;x&lt;/b&gt;" in tab._repr_html_()
