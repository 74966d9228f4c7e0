"""Positions and ``desired_resolution``: the ``nuclei`` table is stored at the segmentation
resolution (16 x 16 x 45 nm), not at the viewer resolution (4 x 4 x 45 nm).

The real engine (API v3) converts positions to ``desired_resolution`` (default: the table's
own) and says so in the ``dataframe_resolution`` header, which makes caveclient skip its own
conversion.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from tracertools.testing import World


def _native(world: World) -> np.ndarray:
    return np.asarray(world.tables["nuclei"].data["pt_position"], dtype=np.float64)


def _positions(df) -> np.ndarray:
    return df[["pt_position_x", "pt_position_y", "pt_position_z"]].to_numpy(dtype=np.float64)


def test_the_nuclei_table_states_its_own_resolution(client, world):
    md = client.materialize.get_table_metadata("nuclei")
    assert md["voxel_resolution"] == list(world.seg_resolution)
    assert list(world.seg_resolution) != list(world.resolution)


def test_without_desired_resolution_positions_stay_native(client, world):
    df = client.materialize.query_table("nuclei", split_positions=True)
    assert np.array_equal(_positions(df), _native(world))
    assert df.attrs["dataframe_resolution"] == [16.0, 16.0, 45.0]


def test_the_engine_converts_to_the_desired_resolution(client, world):
    df = client.materialize.query_table("nuclei", split_positions=True,
                                        desired_resolution=list(world.resolution))
    ratio = np.asarray(world.seg_resolution) / np.asarray(world.resolution)
    assert np.array_equal(_positions(df), _native(world) * ratio)


def test_a_live_query_converts_too(client, world):
    df = client.materialize.live_live_query(
        "nuclei", dt.datetime.now(dt.timezone.utc), split_positions=True,
        desired_resolution=list(world.resolution))
    ratio = np.asarray(world.seg_resolution) / np.asarray(world.resolution)
    assert np.array_equal(_positions(df), _native(world) * ratio)


def test_a_table_at_the_viewer_resolution_keeps_integer_positions(client, world):
    df = client.materialize.query_table("cell_info", split_positions=True,
                                        desired_resolution=list(world.resolution))
    assert df["pt_position_x"].dtype.kind == "i"
