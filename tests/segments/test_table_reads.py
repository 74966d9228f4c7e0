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


# -- reference tables ----------------------------------------------------------------------------


def _by_id(frame):
    return frame.sort_values("id").reset_index(drop=True)


def test_a_reference_table_reads_as_the_engines_materialized_join(local_cave, world):
    ds = local_cave.datastack(materialization_version=3)
    mine = _by_id(ds.table("cell_types"))
    engine = _by_id(local_cave.client().materialize.query_table(
        "cell_types", materialization_version=3, split_positions=True,
        desired_resolution=list(world.resolution)))  # caveclient's default: merge_reference
    assert list(mine.columns) == list(engine.columns)
    assert mine.equals(engine)


def test_a_live_reference_table_carries_its_targets_current_roots(ds, world):
    frame = ds.table("cell_types")
    assert {"id_ref", "pt_root_id", "pt_position_x", "cell_type"} <= set(frame.columns)
    nuclei = world.table("nuclei").set_index("id")
    for _, row in frame.iterrows():
        assert row["pt_root_id"] == nuclei.loc[row["target_id"], "pt_root_id"]
        assert world.is_latest(int(row["pt_root_id"]))


def test_a_filter_on_a_target_column_selects_reference_rows(ds, world):
    root = int(world.neuron_root(0))
    frame = ds.table("cell_types", filter_in={"pt_root_id": [root]})
    assert sorted(frame["classification_system"]) == ["connectivity", "morphology"]
    assert set(frame["pt_root_id"]) == {root}


def test_a_filter_on_a_reference_column_stays_on_the_reference_table(ds):
    frame = ds.table("cell_types", filter_equal={"classification_system": "connectivity"})
    assert frame["cell_type"].tolist() == ["hub"]
    assert frame["target_id"].tolist() == [1]


def test_a_filter_on_an_unknown_column_is_refused(ds):
    from tracertools.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="no_such_column"):
        ds.table("cell_types", filter_in={"no_such_column": [1]})


def test_legacy_get_cave_table_joins_a_reference_table(local_cave, world):
    import tracertools as tt

    frame = tt.get_cave_table(local_cave.datastack(), "cell_types")
    assert len(frame) == len(world.tables["cell_types"].data["id"])
    assert "pt_root_id" in frame.columns and "id_ref" in frame.columns
