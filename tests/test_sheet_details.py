"""Tab.add_segment_details: gspread against LocalSheets, details from LocalCave's ground truth."""

from __future__ import annotations

import pytest

from tracertools.errors import BatchError, MissingFeatureError, PartialResultWarning
from tracertools.storage.sheet import Sheet
from tracertools.testing.sheets import LocalSheets

FULL_HEADER = ["segment_id", "current_id", "volume_um3", "cable_length_nm", "in_syn", "out_syn",
               "total_syn", "proofread"]
BOGUS_ROOT = 2**56 * 4 + 999_999  # a well-formed ID the chunkedgraph never had



@pytest.fixture
def sheets(local_sheets):
    return local_sheets


@pytest.fixture
def world(local_cave):
    return local_cave.world


@pytest.fixture
def ds(local_cave):
    return local_cave.datastack()


def is_proofread(world, root: int) -> bool:
    """Ground truth: a status row marks this exact root proofread."""
    table = world.table("proofreading_status")
    rows = table[table["pt_root_id"].astype("int64") == root]
    return bool(((rows["proofread"]) & (rows["valid_id"].astype("int64") == root)).any())


@pytest.fixture
def ids(world):
    """Two stale IDs, a proofread current root and two other current roots."""
    latest = [int(r) for r in world.latest_roots_now()]
    stale = [int(r) for r in world.all_roots().tolist() if int(r) not in set(latest)][:2]
    proofread = [r for r in latest if is_proofread(world, r)]
    others = [r for r in latest if r not in proofread][:2]
    assert proofread, "the world has a proofread current root"
    return stale + proofread[:1] + others


def id_tab(sheets: LocalSheets, cells: list[str]):
    rows = [["segment_id"]] + [[c] for c in cells]
    key = sheets.create("proofreading", tabs={"T": rows})
    return key, Sheet(key).tab("T")


def expected_row(world, seg_id: int) -> list:
    cur = world.successor(seg_id)
    n_in, n_out = world.synapse_counts(cur)
    return [str(seg_id), str(cur), pytest.approx(world.volume_nm3(cur) / 1e9),
            pytest.approx(world.cable_length(cur), rel=1e-6), n_in, n_out, n_in + n_out,
            is_proofread(world, cur)]


def test_details_land_from_column_b_under_the_original_header(sheets, ds, world, ids):
    key, tab = id_tab(sheets, [str(i) for i in ids])
    report = tab.add_segment_details(ds, status=False)
    values = sheets.values(key, "T")
    assert values[0] == FULL_HEADER
    assert values[1:] == [expected_row(world, i) for i in ids]
    assert report.written == tuple(range(2, 2 + len(ids))) and report.header_written


def test_a_status_column_follows_the_details_and_stays_empty_for_good_rows(
        sheets, ds, world, ids):
    key, tab = id_tab(sheets, [str(i) for i in ids])
    tab.add_segment_details(ds)
    values = sheets.values(key, "T")
    assert values[0] == [*FULL_HEADER, "status"]
    assert values[1:] == [[*expected_row(world, i), ""] for i in ids]


def test_current_ids_are_written_as_text(sheets, ds, world, ids):
    key, tab = id_tab(sheets, [str(i) for i in ids])
    tab.add_segment_details(ds)
    current = [row[1] for row in sheets.values(key, "T")[1:]]
    assert current == [str(world.successor(i)) for i in ids]


def test_a_second_call_writes_nothing_new(sheets, ds, ids):
    key, tab = id_tab(sheets, [str(i) for i in ids])
    tab.add_segment_details(ds)
    before, writes = sheets.values(key, "T"), sheets.value_writes
    report = tab.add_segment_details(ds)
    assert report.written == () and report.skipped == tuple(range(2, 2 + len(ids)))
    assert sheets.value_writes == writes
    assert sheets.values(key, "T") == before


def test_a_partly_filled_sheet_gets_only_the_missing_rows(sheets, ds, world, ids):
    done = [str(ids[0]), "kept", 1.0, 2.0, 3, 4, 7, False]
    rows = [FULL_HEADER, done] + [[str(i)] for i in ids[1:]]
    key = sheets.create("proofreading", tabs={"T": rows})
    report = Sheet(key).tab("T").add_segment_details(ds, status=False)
    values = sheets.values(key, "T")
    assert report.skipped == (2,) and report.written == tuple(range(3, 2 + len(ids)))
    assert values[1] == done
    assert values[2:] == [expected_row(world, i) for i in ids[1:]]


def test_invalid_id_cells_fail_only_their_rows(sheets, ds, world, ids):
    key, tab = id_tab(sheets, [str(ids[0]), "7.205759e+17", "abc", str(ids[1])])
    with pytest.warns(PartialResultWarning, match=r"row 3 .*row 4 "):
        report = tab.add_segment_details(ds, status=False)
    values = sheets.values(key, "T")
    assert report.failed == (3, 4) and report.written == (2, 5)
    assert values[2] == ["7.205759e+17"] + [""] * 7
    assert values[3] == ["abc"] + [""] * 7
    assert values[4] == expected_row(world, ids[1])
    assert not any(cell == "ERROR" for row in values for cell in row)


def test_invalid_id_cells_get_their_reason_in_the_status_column(sheets, ds, world, ids):
    key, tab = id_tab(sheets, [str(ids[0]), "7.205759e+17", "abc", str(BOGUS_ROOT)])
    with pytest.warns(PartialResultWarning, match=r"row 3 .*row 4 .*row 5 "):
        report = tab.add_segment_details(ds)
    values = sheets.values(key, "T")
    assert report.marked == (3, 4, 5) and report.failed == ()
    assert values[1] == [*expected_row(world, ids[0]), ""]
    assert values[2][:8] == ["7.205759e+17"] + [""] * 7
    assert "scientific notation" in values[2][8]
    assert "only the digits" in values[3][8] and "not found" in values[4][8]
    again = tab.add_segment_details(ds)  # marked rows are done: nothing is asked again
    assert again.skipped == (2, 3, 4, 5) and again.written == ()


def test_an_unknown_id_leaves_its_row_empty_for_a_later_call(sheets, ds, ids):
    key, tab = id_tab(sheets, [str(BOGUS_ROOT), str(ids[0])])
    with pytest.warns(PartialResultWarning, match=str(BOGUS_ROOT)):
        report = tab.add_segment_details(ds, status=False)
    assert report.failed == (2,) and report.written == (3,)
    assert sheets.values(key, "T")[1] == [str(BOGUS_ROOT)] + [""] * 7


def test_errors_raise_stops_with_a_batch_error(sheets, ds, world, ids):
    key, tab = id_tab(sheets, [str(ids[0]), "abc"])
    with pytest.raises(BatchError):
        tab.add_segment_details(ds, errors="raise")
    assert sheets.values(key, "T")[1] == [*expected_row(world, ids[0]), ""]


def test_only_the_selected_columns_are_written(sheets, ds, world, ids):
    key, tab = id_tab(sheets, [str(ids[2])])
    tab.add_segment_details(ds, volume=False, synapse_counts=False, status=False)
    cur = world.successor(ids[2])
    assert sheets.values(key, "T") == [
        ["segment_id", "current_id", "cable_length_nm", "proofread"],
        [str(ids[2]), str(cur), pytest.approx(world.cable_length(cur), rel=1e-6), True],
    ]


def test_each_batch_costs_one_details_call_and_one_write(local_cave, sheets, ds, ids):
    key, tab = id_tab(sheets, [str(i) for i in ids[:4]])
    _ = ds.client.skeleton
    local_cave.stats.reset()
    report = tab.add_segment_details(ds, batch_size=2)
    assert report.write_requests == 2
    assert sheets.requests["values.batchUpdate"] == 2
    # per batch: the current-ID lookup (the IDs, then the roots their L2 nodes name now), and
    # the moments the synapse and proofreading reads use
    assert local_cave.stats["is_latest_roots"] <= 4 * 2
    assert local_cave.stats["bulk_cached_skeletons"] == 2


def test_proofreading_on_a_datastack_without_a_table_raises_before_writing(
    local_cave, sheets, ids
):
    config = local_cave.config.model_copy(update={"proofreading_table": None})
    ds = local_cave.datastack(config=config)
    key, tab = id_tab(sheets, [str(ids[0])])
    with pytest.raises(MissingFeatureError, match="proofreading_table"):
        tab.add_segment_details(ds)
    assert sheets.value_writes == 0
    assert sheets.values(key, "T") == [["segment_id"], [str(ids[0])]]
