"""SegmentList.representative_points: a point inside each segment, from the L2 cache."""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.errors import BatchError, InvalidInputError, PartialResultWarning


def _seg_voxel(world, point_nm):
    return np.floor(np.asarray(point_nm) / np.asarray(world.seg_resolution)).astype(int)


def test_each_point_in_viewer_voxels_lies_in_its_segment(ds, world, current):
    points = ds.segments(current).representative_points(units="voxels")
    assert points.shape == (len(current), 3)
    assert np.array_equal(points, np.floor(points))
    for root, point in zip(current, points, strict=True):
        assert world.root_at_point(point) == root


def test_points_in_nm_lie_in_a_supervoxel_of_the_segment(ds, world, current, stale):
    ids = current[:3] + stale[:3]  # a stale ID's point lies in the segment as it was
    points = ds.segments(ids).representative_points()
    for root, point in zip(ids, points, strict=True):
        sv = world.supervoxel_at(_seg_voxel(world, point))
        assert sv in set(world.supervoxels(root).tolist())


def test_a_points_voxel_matches_its_nm_point(ds, world, current):
    segs = ds.segments(current[:4])
    nm, vox = segs.representative_points(), segs.representative_points(units="voxels")
    assert np.array_equal(vox, np.floor(nm / np.asarray(world.resolution)))


def test_one_l2_request_for_the_whole_list(local_cave, ds, current):
    _ = ds.client.chunkedgraph, ds.client.l2cache
    local_cave.stats.reset()
    ds.segments(current * 3).representative_points()
    assert local_cave.stats["leaves_many"] == 1
    assert local_cave.stats["l2_attributes"] == 1


def test_duplicates_and_order_are_kept(ds, current):
    ids = [current[2], current[0], current[2]]
    points = ds.segments(ids).representative_points()
    assert np.array_equal(points[0], points[2])
    assert np.array_equal(points[1], ds.segment(current[0]).representative_point())


def test_a_node_the_cache_lacks_is_replaced_by_another(local_cave, ds, world, current):
    root = max(current, key=lambda r: len(world.l2_ids(r)))
    nodes = np.sort(world.l2_ids(root))
    local_cave.hide_l2_attributes([int(nodes[len(nodes) // 2])])  # the first choice
    _ = ds.client.chunkedgraph, ds.client.l2cache
    local_cave.stats.reset()
    point = ds.segment(root).representative_point(units="voxels")
    assert world.root_at_point(point) == root
    assert local_cave.stats["l2_attributes"] == 2  # the first choice, then the others


def test_a_segment_with_no_cached_node_fails_alone_under_warn(local_cave, ds, world, current):
    small = min(current, key=lambda r: len(world.l2_ids(r)))
    assert len(world.l2_ids(small)) <= 9
    local_cave.hide_l2_attributes(world.l2_ids(small).tolist())
    other = next(r for r in current if r != small)
    with pytest.warns(PartialResultWarning, match=str(small)):
        points = ds.segments([small, other]).representative_points(errors="warn")
    assert np.isnan(points[0]).all() and not np.isnan(points[1]).any()


def test_an_unknown_id_fails(ds, world, current):
    unknown = int(world.all_roots().max()) + 1000
    with pytest.raises(BatchError, match=str(unknown)):
        ds.segments([current[0], unknown]).representative_points()


def test_bad_units_are_refused_before_any_request(local_cave, ds, current):
    local_cave.stats.reset()
    with pytest.raises(InvalidInputError, match="units"):
        ds.segments(current).representative_points(units="microns")
    assert local_cave.stats.total == 0
