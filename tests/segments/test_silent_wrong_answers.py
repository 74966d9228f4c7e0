"""No silent wrong answers from lookups (issue 23, item 8) against LocalCave's ground truth.

A float that lost digits must not look up another ID (in table filters and supervoxel
lookups), a point outside the volume must not read as background without a word, and a
never-issued ID must not count 0 synapses (see ``test_messy_ids.py`` for the last).
"""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.errors import BatchError, InvalidSegmentIdError, PartialResultWarning


@pytest.fixture
def root(world):
    return int(world.latest_roots_now()[0])


@pytest.mark.parametrize("filters", [
    lambda r: {"filter_in": {"pre_pt_root_id": [float(r)]}},
    lambda r: {"filter_in": {"pre_pt_root_id": np.array([float(r)])}},
    lambda r: {"filter_equal": {"pre_pt_root_id": float(r)}},
], ids=["filter_in-list", "filter_in-array", "filter_equal"])
def test_table_filters_refuse_floats_that_lost_digits(local_cave, ds, root, filters):
    local_cave.stats.reset()
    with pytest.raises(InvalidSegmentIdError, match="pre_pt_root_id.*cannot hold an exact ID"):
        ds.table("synapses", **filters(root))
    assert local_cave.stats.total == 0


def test_table_filters_still_take_exact_ints_and_small_floats(ds, world, root):
    exact = ds.table("synapses", filter_in={"pre_pt_root_id": [root]})
    assert len(exact) == world.synapse_counts(root)[1]
    assert len(ds.table("cell_info", filter_in={"id": [1.0, 2.0]})) == 2


@pytest.mark.parametrize("value", [7.2057594172145678e16, -1, "abc", float("nan")])
def test_segments_of_supervoxels_refuses_values_that_are_no_exact_id(local_cave, ds, value):
    local_cave.stats.reset()
    with pytest.raises(InvalidSegmentIdError, match="at position 1"):
        ds.segments_of_supervoxels([0, value])
    assert local_cave.stats.total == 0


def test_segments_of_supervoxels_keeps_background_and_reads_text(ds, world, root):
    sv = int(world.supervoxels(root)[0])
    assert ds.segments_of_supervoxels([0, sv, str(sv)]).tolist() == [0, root, root]


def test_points_outside_the_volume_are_named_not_read_as_background(ds, world):
    inside = world.soma_position(0)
    outside = [[-5, 3, 3], [world.shape[0] * 100, 1, 1], [10**9, 1, 1]]
    with pytest.raises(BatchError, match=r"point 1 \[-5.0, 3.0, 3.0\].*outside") as info:
        ds.segments_at([inside, *outside])
    assert sorted(info.value.failures) == [1, 2, 3]
    with pytest.warns(PartialResultWarning, match="outside the segmentation volume"):
        got = ds.segments_at([inside, *outside], errors="warn")
    assert got.tolist() == [world.root_at_point(inside), 0, 0, 0]


def test_points_inside_the_volume_still_read_background_as_zero(ds, world):
    labels = world.svs.labels
    empty = np.argwhere(labels == 0)[0]
    point = world.seg_to_viewer(empty)
    assert ds.supervoxels_at([point]).tolist() == [0]
