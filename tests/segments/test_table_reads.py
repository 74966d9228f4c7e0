"""``ds.table()``: positions in viewer voxels whatever the table's native resolution, and
reference tables joined to their target as the original's materialized query joined them."""

from __future__ import annotations

import numpy as np
import pytest


def _viewer_positions(world):
    native = np.asarray(world.tables["nuclei"].data["pt_position"], dtype=np.float64)
    return native * np.asarray(world.seg_resolution) / np.asarray(world.resolution)


def _positions(frame):
    return frame[["pt_position_x", "pt_position_y", "pt_position_z"]].to_numpy(dtype=np.float64)


def test_positions_of_a_table_stored_at_another_resolution_are_viewer_voxels(ds, world):
    frame = ds.table("nuclei").sort_values("id")
    assert np.array_equal(_positions(frame), _viewer_positions(world))


def test_a_version_read_gets_viewer_voxels_too(local_cave, world):
    frame = local_cave.datastack(materialization_version=3).table("nuclei").sort_values("id")
    assert np.array_equal(_positions(frame), _viewer_positions(world))


def test_viewer_voxel_positions_point_into_their_segment(ds, world):
    frame = ds.table("nuclei")
    for _, row in frame.iterrows():
        point = (row["pt_position_x"], row["pt_position_y"], row["pt_position_z"])
        assert world.root_at_point(point) == row["pt_root_id"]


@pytest.mark.parametrize("version", [None, 3])
def test_positions_of_a_table_at_the_viewer_resolution_are_unchanged(local_cave, world, version):
    ds = local_cave.datastack(materialization_version=version)
    frame = ds.table("cell_info").sort_values("id")
    truth = world.table("cell_info").sort_values("id")
    assert np.array_equal(_positions(frame), _positions(truth))
