"""The edit-history legacy shims keep the original names, arguments and return shapes."""

from __future__ import annotations

import pandas as pd
import pytest

from tracertools.errors import SegmentNotFoundError, UnknownDatastackError
from tracertools.legacy import _history as legacy

BOGUS = 2**56 * 4 + 999_999


@pytest.fixture
def name(local_cave):
    """The shims' ``datastack`` argument: a session on the LocalCave (names resolve to presets)."""
    return local_cave.datastack()


@pytest.fixture
def root(world):
    """The current segment with the longest history."""
    return max((int(r) for r in world.latest_roots_now()), key=lambda r: (len(world.edits(r)), -r))


def test_the_module_exports_the_four_original_names_sorted():
    assert legacy.__all__ == [
        "count_user_sv_contribution", "get_original_seg_ids", "get_seg_changelog",
        "get_seg_edits",
    ]


def test_get_seg_changelog_returns_caveclients_filtered_log(name, world, root):
    log = legacy.get_seg_changelog(datastack=name, seg_id=root)
    assert isinstance(log, pd.DataFrame)
    assert {"operation_id", "timestamp", "user_id", "before_root_ids", "after_root_ids",
            "is_merge"} <= set(log.columns)
    ops = {op.operation_id: op for op in world.edits(root)}
    assert set(log["operation_id"]) <= set(ops)
    assert world.graph.roots[root].created_by in set(log["operation_id"])
    first = ops[int(log["operation_id"].iloc[0])]
    assert int(log["timestamp"].iloc[0]) == pytest.approx(first.timestamp * 1000, abs=1)


def test_get_seg_edits_has_the_seven_original_columns_on_a_range_index(name, root):
    edits = legacy.get_seg_edits(name, root)
    assert list(edits.columns) == [
        "operation_id", "is_merge", "point_coords", "before_segs", "after_segs", "seg_pair",
        "user",
    ]
    assert isinstance(edits.index, pd.RangeIndex)
    assert all(isinstance(v, int) for segs in edits["before_segs"] for v in segs)


def test_get_seg_edits_keeps_points_in_segmentation_voxels_as_the_service_gives(
    name, world, root
):
    edits = legacy.get_seg_edits(name, root, op_column="ignored")
    ops = {op.operation_id: op for op in world.edits(root)}
    for op_id, points in zip(edits["operation_id"], edits["point_coords"], strict=True):
        op = ops[int(op_id)]
        assert points == [list(op.source_coords[0]), list(op.sink_coords[0])]


def test_get_seg_edits_rows_follow_the_filtered_change_log(name, root):
    log = legacy.get_seg_changelog(name, root)
    edits = legacy.get_seg_edits(name, root)
    assert edits["operation_id"].tolist() == log["operation_id"].tolist()


def test_get_original_seg_ids_is_a_list_of_int(name, world, root):
    got = legacy.get_original_seg_ids(name, root)
    assert type(got) is list and all(type(v) is int for v in got)
    assert got == sorted(world.original_roots(root))


def test_count_user_sv_contribution_is_a_dict_of_str_to_int(name, world, root):
    got = legacy.count_user_sv_contribution(datastack=name, completed_seg_id=root)
    assert got == world.user_sv_credit(root)
    assert all(type(k) is str and type(v) is int for k, v in got.items())


def test_an_unknown_segment_raises_segment_not_found(name):
    with pytest.raises(SegmentNotFoundError):
        legacy.get_original_seg_ids(name, BOGUS)
    with pytest.raises(SegmentNotFoundError):
        legacy.get_seg_changelog(name, BOGUS)


def test_an_unknown_datastack_raises_a_key_error():
    with pytest.raises(UnknownDatastackError) as info:
        legacy.get_seg_changelog("no_such_datastack", 1)
    assert isinstance(info.value, KeyError)
