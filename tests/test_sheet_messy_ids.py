"""A 5,000-row ID column as sheets really hold it: updated in place and filled with details.

gspread against LocalSheets, answers from LocalCave's ground truth (the small world: the
messiness, not the world's size, is what is under test). The column mixes blanks, IDs as text
with spaces or a trailing ``.0``, numbers that lost digits, supervoxel and level-2 IDs,
duplicates, stale IDs, IDs of another layer and IDs never issued. Each call completes in one
go, fills every good row, marks every bad row with its reason, overwrites nothing that held
data and can be resumed after an interruption.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from tracertools.errors import BatchError, PartialResultWarning, ServiceError
from tracertools.storage.sheet import Sheet

N_ROWS = 5000
NOTE = "checked by AB"


@pytest.fixture
def world(local_cave):
    return local_cave.world


@pytest.fixture
def ds(local_cave):
    return local_cave.datastack()


def _truth(world):
    """(cell value, expected current ID or None, kind of row) for each kind of messy cell."""
    latest = [int(r) for r in world.latest_roots_now()]
    stale = [int(r) for r in world.all_roots() if int(r) not in set(latest)]
    kinds = []
    for i, root in enumerate(latest):
        svs = world.supervoxels(root)
        sv = int(svs[i % len(svs)])
        l2 = int(world.l2_ids(root)[0])
        kinds += [
            (f"  {root} ", root, "current"),
            (f"{stale[i]}.0", world.successor(stale[i]), "stale"),
            (str(stale[-1 - i]), world.successor(stale[-1 - i]), "stale"),
            (str(sv), int(world.root_of(sv)[0]), "supervoxel"),
            (str(l2), int(world.root_of(l2)[0]), "l2"),
        ]
    kinds += [
        ("", None, "blank"),
        (float(latest[0]), None, "lossy"),  # a number cell: shows as 2.88230E+17
        ("7.20576E+17", None, "lossy"),
        ("abc", None, "malformed"),
        (str(2**56 * world.layout.n_layers + 424242), None, "never"),
        (str(int(world.graph.l3_ids[0])), None, "layer"),
        ("12345", None, "malformed"),
    ]
    return kinds


@pytest.fixture
def column(world):
    """N_ROWS rows cycling through every kind of cell; every 7th row has a note in B."""
    kinds = _truth(world)
    return [kinds[(i * 7) % len(kinds)] for i in range(N_ROWS)]


def _book(sheets, column, *, notes=True):
    rows = [["segment_id", "notes"]]
    for i, (cell, _, _) in enumerate(column):
        rows.append([cell, NOTE if notes and i % 7 == 0 else ""])
    return sheets.create("proofreading", tabs={"T": rows})


def _check_updated(values, column, *, notes=True):
    """Every good row holds its current ID; every bad row its old cell and a reason."""
    assert values[0][:3] == ["segment_id", "notes", "id_status"]
    for i, (cell, expected, kind) in enumerate(column):
        row = values[i + 1] + [""] * 3
        assert row[1] == (NOTE if notes and i % 7 == 0 else "")  # untouched
        if kind == "blank":
            assert row[0] == "" and row[2] == ""
        elif expected is None:
            assert row[0] == cell and row[2].startswith("error: "), (i, row)
        else:
            assert row[0].strip() == str(expected) and not row[2].startswith("error"), (i, row)


def test_updating_a_messy_column_fills_every_good_row_and_marks_every_bad_one(
        local_cave, local_sheets, ds, column):
    key = _book(local_sheets, column)
    tab = Sheet(key).tab("T")
    _ = ds.client.chunkedgraph
    local_cave.stats.reset()
    with pytest.warns(PartialResultWarning) as caught:
        report = tab.update_segment_ids(ds)
    values = local_sheets.values(key, "T")
    _check_updated(values, column)
    bad = sum(1 for _, expected, kind in column if expected is None and kind != "blank")
    assert len(report.marked) == bad and report.failed == ()
    assert len(report.written) == N_ROWS - sum(1 for c in column if c[2] == "blank")
    assert len(caught) == 1
    # five batches of 1,000 rows: one read, then a check and a write per batch
    assert local_sheets.requests["values.get"] == 1
    assert local_sheets.requests["values.batchGet"] == 5
    assert local_sheets.requests["values.batchUpdate"] == 5
    # a fixed handful of CAVE requests per batch, whatever its size
    assert local_cave.stats.total <= 5 * 8


def test_the_status_says_what_became_of_each_row(local_sheets, ds, world, column):
    key = _book(local_sheets, column[:120], notes=False)
    with pytest.warns(PartialResultWarning):
        Sheet(key).tab("T").update_segment_ids(ds)
    statuses = {kind: [] for _, _, kind in column}
    for (_cell, _, kind), row in zip(column[:120], local_sheets.values(key, "T")[1:], strict=False):
        statuses[kind].append((row + ["", "", ""])[2])
    assert all(s.startswith("current") for s in statuses["current"])
    assert all(re.match(r"updated from \d+", s) for s in statuses["stale"])
    assert all(re.match(r"supervoxel \d+ replaced by its segment", s)
               for s in statuses["supervoxel"])
    assert all(re.match(r"level-2 node \d+ replaced", s) for s in statuses["l2"])
    assert all("scientific notation" in s for s in statuses["lossy"])
    assert all("not found" in s for s in statuses["never"])
    assert all("layer-3 node ID" in s for s in statuses["layer"])
    assert any("same ID as row" in str(s) for row in local_sheets.values(key, "T") for s in row)


def test_an_interrupted_update_resumes_where_it_stopped(local_sheets, ds, column):
    key = _book(local_sheets, column)
    tab = Sheet(key).tab("T")
    # errors="raise" stops after the first batch holding a bad row: an interruption
    with pytest.raises(BatchError):
        tab.update_segment_ids(ds, batch_size=700, errors="raise")
    first = local_sheets.values(key, "T")
    done = [i for i, row in enumerate(first[1:]) if len(row) > 2 and row[2]]
    assert 0 < len(done) < N_ROWS
    with pytest.warns(PartialResultWarning):
        report = tab.update_segment_ids(ds, batch_size=700)
    assert set(report.skipped) == {i + 2 for i in done}
    _check_updated(local_sheets.values(key, "T"), column)
    again = tab.update_segment_ids(ds)  # all done: nothing written, no warning
    assert again.written == () and again.write_requests == 0


def test_rows_that_moved_under_the_update_are_not_written(local_cave, local_sheets, ds,
                                                          column):
    key = _book(local_sheets, column[:20], notes=False)
    tab = Sheet(key).tab("T")
    original = tab.column(1)[1:]
    local_sheets.reset()
    local_cave.set_latency(1.0, "is_latest_roots")  # a window between reading and writing

    def colleague_sorts_the_column() -> None:
        deadline = time.monotonic() + 10
        while local_sheets.requests["values.get"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        Sheet(key).tab("T").write_rows(2, [[v] for v in reversed(original)])

    colleague = threading.Thread(target=colleague_sorts_the_column)
    colleague.start()
    try:
        with pytest.raises(ServiceError, match="changed while its IDs were being updated"):
            tab.update_segment_ids(ds)
    finally:
        colleague.join(10)
    values = local_sheets.values(key, "T")
    assert [row[0] for row in values[1:]] == list(reversed(original))
    assert all(len(row) < 3 or row[2] == "" for row in values)  # no status written


def test_a_status_column_with_other_data_is_refused(local_sheets, ds, column):
    key = _book(local_sheets, column[:5])
    with pytest.raises(Exception, match="holds data under the header 'notes'"):
        Sheet(key).tab("T").update_segment_ids(ds, status_column=2)
    assert local_sheets.value_writes == 0


def test_details_of_a_messy_column_fill_every_good_row_in_one_call(
        local_cave, local_sheets, ds, world, column):
    rows = [["segment_id"]] + [[cell] for cell, _, _ in column]
    key = local_sheets.create("details", tabs={"T": rows})
    tab = Sheet(key).tab("T")
    with pytest.warns(PartialResultWarning):
        report = tab.add_segment_details(ds, batch_size=1000)
    values = local_sheets.values(key, "T")
    assert values[0][-1] == "status" and len(values[0]) == 9
    for i, (_cell, expected, kind) in enumerate(column):
        row = values[i + 1] + [""] * 9
        if kind == "blank":
            assert row[1:9] == [""] * 8
        elif expected is None:
            assert row[1:8] == [""] * 7 and row[8].startswith("error: "), (i, row)
        else:
            n_in, n_out = world.synapse_counts(expected)
            assert row[1] == str(expected) and row[4:7] == [n_in, n_out, n_in + n_out]
            assert row[2] == pytest.approx(world.volume_nm3(expected) / 1e9) and row[8] == ""
    assert report.failed == () and len(report.marked) == sum(
        1 for _, e, k in column if e is None and k != "blank")
    again = tab.add_segment_details(ds, batch_size=1000)  # bad rows are marked: done
    assert again.written == () and again.write_requests == 0
