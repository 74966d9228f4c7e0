"""The real caveclient materialization/annotation clients against LocalCave."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pytest

from tracertools.testing import LocalCave, World


def utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def test_versions_and_metadata(client: Any, world: World) -> None:
    m = client.materialize
    assert m.get_versions() == [1, 2, 3]
    for v, t in world.version_timestamps.items():
        meta = m.get_version_metadata(v)
        assert meta["time_stamp"] == utc(t)
        assert meta["version"] == v
    assert [d["version"] for d in m.get_versions_metadata()] == [1, 2, 3]
    assert m.get_timestamp(2) == utc(world.version_timestamps[2])


def test_tables_and_table_metadata(client: Any, world: World) -> None:
    names = ["cell_info", "cell_types", "nuclei", "proofreading_status", "synapses"]
    assert client.materialize.get_tables() == names
    md = client.materialize.get_table_metadata("synapses")
    assert md["voxel_resolution"] == list(world.resolution)
    assert md["reference_table"] is None
    assert client.annotation.get_tables() == names


@pytest.mark.parametrize("version", [1, 2, 3])
def test_synapse_counts_per_version(client: Any, world: World, version: int) -> None:
    t = world.version_timestamps[version]
    roots = [int(r) for r in world.roots_at(t) if int(r) != world.huge_root]
    df_in = client.materialize.query_table(
        "synapses", filter_in_dict={"post_pt_root_id": roots}, materialization_version=version,
        select_columns=["id", "post_pt_root_id"],
    )
    df_out = client.materialize.query_table(
        "synapses", filter_in_dict={"pre_pt_root_id": roots}, materialization_version=version,
        select_columns=["id", "pre_pt_root_id"],
    )
    got_in = df_in["post_pt_root_id"].value_counts()
    got_out = df_out["pre_pt_root_id"].value_counts()
    for r in roots:
        n_in, n_out = world.synapse_counts(r, version=version)
        assert (int(got_in.get(r, 0)), int(got_out.get(r, 0))) == (n_in, n_out)


def test_select_columns_and_filters(client: Any, world: World) -> None:
    m = client.materialize
    root = world.neuron_root(6)
    df = m.query_table(
        "synapses", filter_in_dict={"pre_pt_root_id": [root]},
        select_columns=["id", "pre_pt_root_id", "pre_pt_position"],
    )
    assert list(df.columns) == ["id", "pre_pt_root_id", "pre_pt_position"]
    assert isinstance(df["pre_pt_position"].iloc[0], np.ndarray)
    split = m.query_table(
        "synapses", filter_equal_dict={"pre_pt_root_id": root},
        select_columns=["id", "pre_pt_position"], split_positions=True,
    )
    assert list(split.columns) == ["id", "pre_pt_position_x", "pre_pt_position_y", "pre_pt_position_z"]
    assert sorted(split["id"]) == sorted(df["id"])
    truth = world.table("synapses", version=3)
    expected = truth[truth["pre_pt_root_id"] == root]
    assert sorted(df["id"]) == sorted(expected["id"])
    # every position maps back to its supervoxel
    row = expected.iloc[0]
    pos = (row["pre_pt_position_x"], row["pre_pt_position_y"], row["pre_pt_position_z"])
    assert world.supervoxel_at_viewer(pos) == row["pre_pt_supervoxel_id"]
    excluded = m.query_table("cell_info", filter_out_dict={"tag": ["KC", "PN"]})
    assert set(excluded["tag"]) == set(world.table("cell_info")["tag"]) - {"KC", "PN"}


def test_proofreading_table(client: Any, world: World) -> None:
    df = client.materialize.query_table("proofreading_status")
    assert not df["proofread"].all() and df["proofread"].any()
    current = set(world.latest_roots_now().tolist())
    ancestors = [v for v in df["valid_id"] if v not in current]
    assert ancestors, "a status row set for a root that has since been edited"
    for v in ancestors:
        assert any(world.is_latest(r) for r in world.latest_roots(int(v)))
    assert len(client.materialize.query_table("proofreading_status", materialization_version=1)) < len(df)


def test_live_live_query_counts_now(client: Any, world: World) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    roots = [int(r) for r in world.latest_roots_now() if int(r) != world.huge_root]
    df = client.materialize.live_live_query(
        "synapses", now, filter_in_dict={"synapses": {"post_pt_root_id": roots}}
    )
    got = df["post_pt_root_id"].value_counts()
    for r in roots:
        assert int(got.get(r, 0)) == world.synapse_counts(r)[0]
    # live and materialized differ for a root edited after the last version
    r0 = world.neuron_root(0)
    assert not world.is_latest(r0, world.version_timestamps[3])
    mat = client.materialize.query_table("synapses", filter_in_dict={"post_pt_root_id": [r0]})
    assert len(mat) == 0 < world.synapse_counts(r0)[0]


def test_live_query_maps_roots(client: Any, world: World) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    r0 = world.neuron_root(0)
    df = client.materialize.live_query("synapses", now, filter_in_dict={"pre_pt_root_id": [r0]})
    assert len(df) == world.synapse_counts(r0)[1]
    assert set(df["pre_pt_root_id"]) == {r0}


def test_row_cap_warning(cave: LocalCave, caplog: pytest.LogCaptureFixture) -> None:
    cave.set_faults(row_cap=25)
    client = cave.client()
    with caplog.at_level(logging.WARNING, logger="caveclient.base"):
        df = client.materialize.query_table("synapses")
    assert len(df) == 25
    assert any('Limited query to 25 rows' in r.getMessage() for r in caplog.records)
    assert cave.stats["query"] == 1


def test_limit_offset_and_select_column_map(client: Any, world: World) -> None:
    m = client.materialize
    full = m.query_table("synapses", split_positions=True)
    assert full["id"].tolist() == sorted(full["id"])
    page = m.query_table("synapses", offset=10, limit=5, split_positions=True)
    assert page["id"].tolist() == full["id"].tolist()[10:15]
    mapped = m.query_table("cell_info", select_columns={"cell_info": ["id", "tag", "pt_position"]})
    assert list(mapped.columns) == ["id", "tag", "pt_position"]
    assert len(mapped) == world.n_neurons


def test_live_queries_between_versions(client: Any, world: World) -> None:
    t = (world.version_timestamps[2] + world.version_timestamps[3]) / 2
    ts = utc(t)
    roots = [int(r) for r in world.roots_at(t)]
    live = client.materialize.live_live_query(
        "synapses", ts, filter_in_dict={"synapses": {"pre_pt_root_id": roots}}
    )
    counts = live["pre_pt_root_id"].value_counts()
    for r in roots:
        assert int(counts.get(r, 0)) == world.synapse_counts(r, t=t)[1]
    changed = next(r for r in roots if not world.is_latest(r, world.version_timestamps[2]))
    df = client.materialize.live_query("synapses", ts, filter_in_dict={"post_pt_root_id": [changed]})
    assert len(df) == world.synapse_counts(changed, t=t)[0]
    assert set(df["post_pt_root_id"]) <= {changed}


def test_client_pinned_to_a_version(cave_m: LocalCave, world: World) -> None:
    old = cave_m.client(version=1)
    assert old.materialize.version == 1
    root = world.neuron_root(0, world.version_timestamps[1])
    assert old.chunkedgraph.is_latest_roots([root]).tolist() == [True]
    assert not world.is_latest(root)
    df = old.materialize.query_table("synapses", filter_in_dict={"pre_pt_root_id": [root]})
    assert len(df) == world.synapse_counts(root, version=1)[1]
