"""A bad segment ID fails only its own place: in get_current_seg_ids, in sheet fills (new API
and legacy shim), whether it cannot be parsed or is unknown; a supervoxel ID stands for the
segment holding it (see tests/segments/test_messy_ids.py for every class of ID)."""

from __future__ import annotations

import pytest

import tracertools as tt
from tracertools.errors import (
    BatchError,
    PartialResultWarning,
    SegmentNotFoundError,
    ServiceError,
)
from tracertools.storage.sheet import Sheet


@pytest.fixture
def world(local_cave):
    return local_cave.world


@pytest.fixture
def good(world):
    return [int(r) for r in world.latest_roots_now()][:2]


@pytest.fixture
def supervoxel(world, good):
    return int(world.supervoxels(good[0])[0])  # a node ID, not a root ID


@pytest.fixture
def unknown(world):
    return int(world.all_roots().max()) + 1000


def test_get_current_seg_ids_marks_only_the_bad_ids(local_cave, good, supervoxel, unknown):
    got = tt.get_current_seg_ids(local_cave.datastack(),
                                 [good[0], "abc", supervoxel, unknown, good[1]])
    assert got == [good[0], "ERROR", good[0], "ERROR", good[1]]


def test_get_current_seg_ids_gives_each_bad_ids_error_text(local_cave, good, supervoxel,
                                                          unknown):
    got = tt.get_current_seg_ids(local_cave.datastack(), ["abc", supervoxel, unknown, good[0]],
                                 detailed_errors=True)
    assert "'abc'" in got[0] and "digits" in got[0]
    assert got[1] == good[0]  # a supervoxel gives the segment holding it
    assert str(unknown) in got[2] and "not found" in got[2]
    assert got[3] == good[0]


def test_a_permission_failure_raises_instead_of_error(local_cave, good):
    local_cave.fail_next("is_latest_roots", status=403, times=50, message="Forbidden")
    with pytest.raises(ServiceError, match="403"):
        tt.get_current_seg_ids(local_cave.datastack(), good)
    assert local_cave.stats["is_latest_roots"] == 1  # not halved: the IDs are not at fault


def test_current_ids_name_an_unknown_id_as_not_found(local_cave, good, unknown):
    with pytest.raises(BatchError) as info:
        local_cave.datastack().segments([good[0], unknown]).current_ids()
    assert isinstance(info.value.failures[1], SegmentNotFoundError)


def _tab(local_sheets, cells):
    key = local_sheets.create("book", tabs={"T": [["segment_id"]] + [[str(c)] for c in cells]})
    return key, Sheet(key).tab("T")


def test_a_sheet_fill_fails_only_the_row_of_an_unknown_id(local_cave, local_sheets, good,
                                                          unknown):
    key, tab = _tab(local_sheets, [good[0], unknown, good[1]])
    with pytest.warns(PartialResultWarning, match=str(unknown)):
        tab.add_segment_details(local_cave.datastack(), volume=False,
                                cable_length=False, synapse_counts=False)
    values = local_sheets.values(key, "T")
    assert values[2][0] == str(unknown) and values[2][1] == ""  # no current ID for it
    assert values[1][1] == str(good[0]) and values[3][1] == str(good[1])


def test_the_legacy_sheet_fill_fails_only_the_bad_rows(local_cave, local_sheets, good,
                                                       supervoxel, unknown):
    key, _ = _tab(local_sheets, [good[0], "abc", supervoxel, unknown, good[1]])
    with pytest.warns(PartialResultWarning):
        tt.gsheet_add_seg_details(local_cave.datastack(), key, "T", volume=False,
                                  cable_length=False, synapse_counts=False)
    rows = local_sheets.values(key, "T")[1:]
    assert [row[1:2] for row in rows] == [[str(good[0])], [""], [str(good[0])], [""],
                                          [str(good[1])]]
