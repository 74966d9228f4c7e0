"""Datastack metadata, tables and point lookups against LocalCave."""

from __future__ import annotations

import numpy as np
import pytest

import tracertools as tt
from tracertools.errors import InvalidInputError


def test_datastacks_lists_the_local_datastack(local_cave):
    assert local_cave.datastack_name in tt.datastacks(local_cave.url, local_cave.token)


def test_datastacks_lists_what_a_server_publishes(local_cave):
    names = tt.datastacks(server_address=local_cave.url, auth_token=local_cave.token)
    assert names == [local_cave.datastack_name]


def test_info_is_the_published_datastack_info(ds, local_cave):
    info = ds.info()
    assert info["segmentation_source"] == local_cave.config.sources.segmentation
    assert info["local_server"] == local_cave.url


def test_tables_lists_the_world_tables(ds):
    assert {"synapses", "proofreading_status", "cell_info"} <= set(ds.tables())


def test_table_info_describes_the_table(ds):
    assert ds.table_info("synapses")["table_name"] == "synapses"


def test_table_returns_every_row_even_past_a_row_cap(local_cave, ds, world):
    local_cave.set_faults(row_cap=7)
    frame = ds.table("cell_info")
    assert len(frame) == len(world.table("cell_info"))


def test_table_filters_and_selects(ds, world):
    root = int(world.latest_roots_now()[0])
    frame = ds.table("synapses", filter_in={"pre_pt_root_id": [root]},
                     select_columns=["pre_pt_root_id", "post_pt_root_id"])
    assert set(frame.columns) >= {"pre_pt_root_id", "post_pt_root_id"}
    assert len(frame) == world.synapse_counts(root)[1]


def test_bad_table_names_are_refused(ds):
    with pytest.raises(InvalidInputError):
        ds.table("")


def test_supervoxels_and_segments_at_points(ds, world):
    somas = [world.soma_position(i) for i in range(4)]
    assert ds.supervoxels_at(somas).tolist() == [world.supervoxel_at_viewer(p) for p in somas]
    assert ds.segments_at(somas).tolist() == [world.root_at_point(p) for p in somas]


def test_a_thousand_points_make_one_root_lookup(local_cave, ds, world):
    rng = np.random.default_rng(0)
    somas = np.asarray([world.soma_position(i) for i in range(4)])
    points = somas[rng.integers(0, 4, 1000)]
    local_cave.stats.reset()
    roots = ds.segments_at(points)
    assert local_cave.stats["roots_binary"] == 1
    assert roots.tolist() == [world.root_at_point(p) for p in points]


def test_points_must_be_three_numbers(ds):
    with pytest.raises(InvalidInputError):
        ds.segments_at([[1, 2]])
    with pytest.raises(InvalidInputError):
        ds.segments_at([[1, 2, float("nan")]])


def test_segments_of_supervoxels_keep_background_zero(ds, world):
    sv = world.supervoxel_at_viewer(world.soma_position(0))
    assert ds.segments_of_supervoxels([sv, 0]).tolist() == [
        world.root_at_point(world.soma_position(0)), 0]


def test_an_unknown_table_names_the_datastacks_tables_and_a_close_match(ds, local_cave):
    from tracertools.errors import UnknownTableError

    tables = ds.tables()
    wrong = tables[0][:-1]  # one letter short, as a typo
    with pytest.raises(UnknownTableError) as info:
        ds.table(wrong)
    message = str(info.value)
    assert all(t in message for t in tables)
    assert f"Did you mean {tables[0]!r}" in message
    assert "404" not in message and "http" not in message


def test_table_info_of_an_unknown_table_is_a_key_error_listing_the_tables(ds):
    with pytest.raises(KeyError) as info:
        ds.table_info("no_such_table")
    assert sorted(info.value.known) == sorted(ds.tables())
