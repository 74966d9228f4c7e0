"""Change logs, edits, original IDs and per-user credit against LocalCave's ground truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracertools.errors import BatchError, PartialResultWarning, SegmentNotFoundError

BOGUS = 2**56 * 4 + 999_999  # a root-layer ID the world never created


# -- choosing segments from the world's ground truth -----------------------------------------


def _current(world):
    return [int(r) for r in world.latest_roots_now()]


def _longest_history(world):
    """The current segment with the most operations in its past (smallest ID on a tie)."""
    return max(_current(world), key=lambda r: (len(world.edits(r)), -r))


def _never_edited(world):
    return next(r for r in _current(world) if not world.edits(r))


def _continues_through_second_after_root(world):
    """A current segment with merges and splits in its past, whose lineage continues through
    the *second* root a split created (so a credit rule taking ``after_root_ids[0]`` is wrong)."""
    for root in _current(world):
        line = set(world.graph.ancestors(root)) | {root}
        ops = world.edits(root)
        if any(op.is_merge for op in ops) and any(
            not op.is_merge and op.after_roots[1] in line for op in ops
        ):
            return root
    raise AssertionError("the world has no such segment")


def _viewer_voxels(world, seg_voxel):
    """A segmentation mip-0 voxel coordinate in viewer voxels (the test's own conversion)."""
    ratio = np.asarray(world.seg_resolution) / np.asarray(world.resolution)
    return [int(v) for v in np.rint(np.asarray(seg_voxel, dtype=float) * ratio)]


def _handshake(ds):
    _ = ds.client.chunkedgraph  # client and chunkedgraph handshakes, outside the counts


# -- change logs -----------------------------------------------------------------------------


def test_changelog_lists_every_operation_in_the_segments_past(ds, world):
    root = _longest_history(world)
    log = ds.segment(root).changelog()
    ops = world.edits(root)
    assert log["operation_id"].tolist() == [op.operation_id for op in ops]
    assert log["user_id"].tolist() == [op.user_id for op in ops]
    assert log["is_merge"].tolist() == [op.is_merge for op in ops]
    assert log["before_root_ids"].tolist() == [list(op.before_roots) for op in ops]
    assert log["after_root_ids"].tolist() == [list(op.after_roots) for op in ops]


def test_changelog_timestamps_are_the_operation_times_in_utc(ds, world):
    root = _longest_history(world)
    log = ds.segment(root).changelog()
    assert str(log["timestamp"].dt.tz) == "UTC"
    got = [t.timestamp() for t in log["timestamp"]]
    assert got == pytest.approx([op.timestamp for op in world.edits(root)], abs=1e-3)


def test_changelogs_of_ten_segments_take_one_request(local_cave, ds, world):
    roots = [int(r) for r in world.all_roots()[-10:]]
    _handshake(ds)
    local_cave.stats.reset()
    table = ds.segments(roots).changelogs()
    assert local_cave.stats["tabular_change_log"] == 1
    for root in roots:
        rows = table[table["segment_id"] == root]
        assert rows["operation_id"].tolist() == [op.operation_id for op in world.edits(root)]


def test_changelogs_group_rows_by_segment_in_input_order_with_duplicates(ds, world):
    a, b = _longest_history(world), _continues_through_second_after_root(world)
    table = ds.segments([b, a, b]).changelogs()
    n_a, n_b = len(world.edits(a)), len(world.edits(b))
    assert table["segment_id"].tolist() == [b] * n_b + [a] * n_a + [b] * n_b
    assert table["segment_id"].dtype == np.uint64


def test_filtered_changelog_keeps_the_creating_operation_and_drops_others(ds, world):
    root = _longest_history(world)
    filtered = ds.segment(root).changelog(filtered=True)["operation_id"].tolist()
    everything = [op.operation_id for op in world.edits(root)]
    assert set(filtered) < set(everything)
    assert world.graph.roots[root].created_by in filtered


def test_a_segment_never_edited_has_an_empty_changelog_with_the_columns(ds, world):
    log = ds.segment(_never_edited(world)).changelog()
    assert len(log) == 0
    assert {"operation_id", "timestamp", "user_id", "is_merge"} <= set(log.columns)


def test_changelogs_are_cached_per_segment(local_cave, ds, world):
    segs = ds.segments(_current(world))
    segs.changelogs()
    local_cave.stats.reset()
    segs.changelogs()
    assert local_cave.stats["tabular_change_log"] == 0


def test_changelog_of_an_unknown_id_raises_segment_not_found(ds):
    with pytest.raises(BatchError) as info:
        ds.segment(BOGUS).changelog()
    assert isinstance(info.value.__cause__, SegmentNotFoundError)


def test_under_warn_an_unknown_id_has_no_rows_and_the_rest_are_right(ds, world):
    root = _longest_history(world)
    with pytest.warns(PartialResultWarning, match=str(BOGUS)):
        table = ds.segments([BOGUS, root]).changelogs(errors="warn")
    assert set(table["segment_id"].tolist()) == {root}
    assert table["operation_id"].tolist() == [op.operation_id for op in world.edits(root)]


def test_an_unknown_id_costs_one_validity_check_not_one_request_per_segment(
    local_cave, ds, world
):
    roots = _current(world)
    _handshake(ds)
    local_cave.stats.reset()
    with pytest.warns(PartialResultWarning):
        ds.segments([*roots, BOGUS]).changelogs(errors="warn")
    assert local_cave.stats["tabular_change_log"] == 2
    assert local_cave.stats["valid_nodes"] == 1


# -- edits -----------------------------------------------------------------------------------


def test_edits_have_one_row_per_operation_with_the_original_columns(ds, world):
    root = _longest_history(world)
    edits = ds.segment(root).edits()
    assert list(edits.columns) == [
        "operation_id", "timestamp", "is_merge", "point_coords", "before_segs",
        "after_segs", "seg_pair", "user",
    ]
    ops = world.edits(root)
    assert edits["operation_id"].tolist() == [op.operation_id for op in ops]
    assert edits["user"].tolist() == [op.user_id for op in ops]
    assert edits["before_segs"].tolist() == [list(op.before_roots) for op in ops]


def test_merge_edits_pair_the_two_roots_before_and_take_the_first_points(ds, world):
    root = _longest_history(world)
    edits = ds.segment(root).edits().set_index("operation_id")
    merges = [op for op in world.edits(root) if op.is_merge]
    assert merges
    for op in merges:
        row = edits.loc[op.operation_id]
        assert row["seg_pair"] == list(op.before_roots)
        assert row["after_segs"] == list(op.after_roots)
        assert row["point_coords"] == [
            _viewer_voxels(world, op.source_coords[0]), _viewer_voxels(world, op.sink_coords[0])
        ]


def test_split_edits_pair_the_roots_the_split_created_at_mean_points(ds, world):
    root = _longest_history(world)
    edits = ds.segment(root).edits().set_index("operation_id")
    splits = [op for op in world.edits(root) if not op.is_merge]
    assert splits
    for op in splits:
        row = edits.loc[op.operation_id]
        assert row["seg_pair"] == list(op.after_roots)
        assert row["after_segs"] == list(op.after_roots)
        assert row["point_coords"] == [
            _viewer_voxels(world, np.mean(op.source_coords, axis=0)),
            _viewer_voxels(world, np.mean(op.sink_coords, axis=0)),
        ]


def test_edit_points_in_viewer_voxels_land_on_the_supervoxels_the_editor_chose(ds, world):
    root = _longest_history(world)
    edits = ds.segment(root).edits().set_index("operation_id")
    for op in world.edits(root):
        source, sink = edits.loc[op.operation_id, "point_coords"]
        assert world.supervoxel_at_viewer(source) == op.source_ids[0]
        assert world.supervoxel_at_viewer(sink) == op.sink_ids[0]


def test_edits_of_all_segments_take_one_log_and_one_details_request(local_cave, ds, world):
    roots = _current(world)
    _handshake(ds)
    local_cave.stats.reset()
    edits = ds.segments(roots).edits()
    assert local_cave.stats["tabular_change_log"] == 1
    assert local_cave.stats["operation_details"] == 1
    assert len(edits) == sum(len(world.edits(r)) for r in roots)


def test_a_segment_never_edited_has_no_edits(ds, world):
    edits = ds.segment(_never_edited(world)).edits()
    assert len(edits) == 0
    assert "point_coords" in edits.columns


# -- original IDs ----------------------------------------------------------------------------


def test_original_ids_are_the_worlds_original_roots(ds, world):
    roots = [int(r) for r in world.all_roots()]
    got = ds.segments(roots).original_ids()
    for root, originals in zip(roots, got, strict=True):
        assert originals.dtype == np.uint64
        assert originals.tolist() == sorted(world.original_roots(root))


def test_a_segment_never_edited_is_its_own_original(ds, world):
    root = _never_edited(world)
    assert ds.segment(root).original_ids().tolist() == [root]
    assert ds.segment(root).largest_original_id() == root


def test_original_ids_ask_each_unique_segment_once(local_cave, ds, world):
    roots = _current(world)[:4]
    _handshake(ds)
    local_cave.stats.reset()
    ds.segments(roots + roots).original_ids()
    assert local_cave.stats["lineage_graph"] == 4


def test_original_ids_of_an_unknown_id_fail_in_place_under_warn(ds, world):
    root = _longest_history(world)
    with pytest.warns(PartialResultWarning, match=str(BOGUS)):
        got = ds.segments([root, BOGUS]).original_ids(errors="warn")
    assert got[0].tolist() == sorted(world.original_roots(root))
    assert got[1] is None


def test_original_ids_of_an_unknown_id_raise_segment_not_found(ds):
    with pytest.raises(BatchError) as info:
        ds.segment(BOGUS).original_ids()
    assert isinstance(info.value.__cause__, SegmentNotFoundError)


def test_largest_original_shares_most_supervoxels_with_the_segment(ds, world):
    roots = [r for r in _current(world) if len(world.original_roots(r)) > 1]
    assert roots

    def truth(root):
        final = set(world.supervoxels(root).tolist())
        return max(
            world.original_roots(root),
            key=lambda o: (len(final.intersection(world.supervoxels(o).tolist())), -o),
        )

    assert ds.segments(roots).largest_original_ids().tolist() == [truth(r) for r in roots]


# -- user contributions ----------------------------------------------------------------------


def test_contributions_match_the_world_for_the_longest_history(ds, world):
    root = _longest_history(world)
    credit = ds.segment(root).user_contributions()
    assert credit.to_dict() == world.user_sv_credit(root)
    assert credit.dtype == np.int64


def test_split_credit_follows_the_lineage_not_the_first_listed_after_root(ds, world):
    root = _continues_through_second_after_root(world)
    assert ds.segment(root).user_contributions().to_dict() == world.user_sv_credit(root)


def test_contributions_of_many_segments_match_row_by_row(ds, world):
    roots = _current(world)
    table = ds.segments(roots).user_contributions()
    assert table.index.tolist() == roots
    for root in roots:
        truth = world.user_sv_credit(root)
        row = table.loc[root]
        assert {u: int(row[u]) for u in truth} == truth
        assert int(row.drop(list(truth)).sum()) == 0


def test_contributions_take_one_log_request_and_batched_leaves(local_cave, ds, world):
    roots = _current(world)
    _handshake(ds)
    local_cave.stats.reset()
    ds.segments(roots).user_contributions()
    assert local_cave.stats["tabular_change_log"] == 1
    assert 1 <= local_cave.stats["leaves_many"] <= 2
    assert local_cave.stats["leaves"] == 0


def test_contributions_reuse_cached_supervoxels(local_cave, ds, world):
    seg = ds.segment(_longest_history(world))
    seg.user_contributions()
    local_cave.stats.reset()
    seg.user_contributions()
    assert local_cave.stats.total == 0


def test_a_segment_never_edited_credits_nobody(ds, world):
    credit = ds.segment(_never_edited(world)).user_contributions()
    assert credit.empty


def test_contributions_of_an_unknown_id_are_missing_under_warn(ds, world):
    root = _longest_history(world)
    with pytest.warns(PartialResultWarning, match=str(BOGUS)):
        table = ds.segments([root, BOGUS]).user_contributions(errors="warn")
    assert table.loc[BOGUS].isna().all()
    assert {u: int(table.loc[root, u]) for u in table.columns} == world.user_sv_credit(root)
    assert isinstance(table.loc[BOGUS].iloc[0], type(pd.NA))


def test_logs_tidied_together_equal_each_log_tidied_alone(ds, world):
    from tracertools.cave import history_fetch as fetch

    roots = [_longest_history(world), _never_edited(world), *_current(world)[:5]]
    raw, failures = fetch.change_logs(ds, roots, filtered=False)
    assert not failures
    together = fetch.tidy_logs(raw)
    assert list(together) == list(raw)
    for root, log in raw.items():
        pd.testing.assert_frame_equal(together[root], fetch.tidy_log(log))
