"""ScaleWorld tables through caveclient's materialization client: rows at two versions, live
queries, the row cap, paging and the table sizes."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pytest

from tracertools.testing import LocalCave, ScaleWorld

UTC = dt.timezone.utc


def _changed_between(world: ScaleWorld, v_old: int, v_new: int, seed: int) -> int:
    """A random neuron whose soma root differs between two versions."""
    rng = np.random.default_rng(seed)
    t_old, t_new = world.version_timestamps[v_old], world.version_timestamps[v_new]
    for k in rng.permutation(world.n_neurons)[:5000].tolist():
        if world.edited(k) and world.neuron_root(k, t_old) != world.neuron_root(k, t_new):
            return int(k)
    raise AssertionError("no neuron edited between the versions")


def test_synapse_rows_at_two_versions(scale_client: Any, scale_world: ScaleWorld) -> None:
    k = _changed_between(scale_world, 1, 5, seed=11)
    r1, r5 = scale_world.neuron_root(k, scale_world.version_timestamps[1]), scale_world.neuron_root(
        k, scale_world.version_timestamps[5]
    )
    mat = scale_client.materialize
    at_1 = mat.query_table("synapses", filter_in_dict={"pre_pt_root_id": [r1]}, materialization_version=1)
    assert len(at_1) == scale_world.synapse_counts(r1, version=1)[1] > 0
    assert set(at_1["pre_pt_root_id"]) == {r1}
    t1 = scale_world.version_timestamps[1]
    assert set(scale_world.root_of(at_1["pre_pt_supervoxel_id"].to_numpy(np.uint64), t1).tolist()) == {r1}
    assert len(mat.query_table("synapses", filter_in_dict={"pre_pt_root_id": [r1]}, materialization_version=5)) == 0
    at_5 = mat.query_table("synapses", filter_in_dict={"pre_pt_root_id": [r5]}, materialization_version=5)
    assert len(at_5) == scale_world.synapse_counts(r5, version=5)[1]
    incoming = mat.query_table("synapses", filter_equal_dict={"post_pt_root_id": r5}, materialization_version=5)
    assert len(incoming) == scale_world.synapse_counts(r5, version=5)[0]
    assert set(incoming["post_pt_root_id"]) <= {r5}


def test_proofreading_rows_differ_between_versions(scale_client: Any, scale_world: ScaleWorld) -> None:
    table = scale_world.tables["proofreading_status"]
    v2, v5 = scale_world.version_timestamps[2], scale_world.version_timestamps[5]
    ks = np.arange(2000)
    rows = table.base(ks)
    created = rows.cols["created"]
    k = int(rows.points["pt"][0][(created > v2) & (created <= v5)][0])
    truth = scale_world.proofreading(k)
    assert truth is not None
    mat = scale_client.materialize
    root5 = scale_world.neuron_root(k, v5)
    at_5 = mat.query_table("proofreading_status", filter_in_dict={"pt_root_id": [root5]}, materialization_version=5)
    assert at_5[["id", "valid_id", "proofread"]].to_dict("records") == [
        {"id": truth["id"], "valid_id": truth["valid_id"], "proofread": truth["proofread"]}
    ]
    root2 = scale_world.neuron_root(k, v2)
    assert len(mat.query_table("proofreading_status", filter_in_dict={"pt_root_id": [root2]},
                               materialization_version=2)) == 0


def test_live_query_follows_the_current_roots(scale_client: Any, scale_world: ScaleWorld) -> None:
    root = scale_world.neuron_root(2024)
    now = dt.datetime.now(UTC)
    live = scale_client.materialize.live_live_query(
        "synapses", now, filter_in_dict={"synapses": {"post_pt_root_id": [root]}}
    )
    assert len(live) == scale_world.synapse_counts(root)[0]
    assert set(live["post_pt_root_id"]) <= {root}


def test_the_synapse_table_has_more_than_ten_million_rows(scale_client: Any, scale_world: ScaleWorld) -> None:
    n = scale_client.materialize.get_annotation_count("synapses")
    assert n >= 10_000_000
    assert n == scale_world.table_count("synapses", None)


def test_the_row_cap_truncates_with_a_warning_and_is_counted(
    scale_cave: LocalCave, scale_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    scale_cave.set_faults(row_cap=2_000)
    with caplog.at_level(logging.WARNING, logger="caveclient.base"):
        rows = scale_client.materialize.query_table("synapses")
    assert len(rows) == 2_000
    assert rows["id"].is_monotonic_increasing
    assert 'Limited query to 2000 rows' in caplog.text
    assert scale_cave.limit_hits["row_capped"] == 1
    few = scale_client.materialize.query_table("synapses", limit=10)  # the caller's limit: not the cap
    assert len(few) == 10 and scale_cave.limit_hits["row_capped"] == 1


def test_paging_far_into_the_table_generates_only_that_page(scale_client: Any, scale_world: ScaleWorld) -> None:
    mat = scale_client.materialize
    page = mat.query_table("synapses", offset=9_000_000, limit=5)
    assert len(page) == 5 and page["id"].is_monotonic_increasing
    assert mat.query_table("synapses", offset=9_000_002, limit=3)["id"].tolist() == page["id"].tolist()[2:]
    owners = np.unique((page["id"].to_numpy() - 1) // (256 * 64))
    truth = scale_world.table_rows("synapses", owners.tolist())
    columns = ["id", "pre_pt_root_id", "post_pt_root_id", "pre_pt_supervoxel_id", "size"]
    assert page[columns].to_dict("records") == truth[truth["id"].isin(page["id"])][columns].to_dict("records")


def test_a_query_naming_one_point_role_builds_only_that_roles_neurons() -> None:
    """Counting a neuron's incoming synapses (filter and columns on the post side only) must
    not generate its 64 presynaptic partners: the same rows, one neuron built."""
    import time

    world = ScaleWorld(seed=0, rate_limit_per_s=None)  # an empty neuron cache
    root = world.neuron_root(777)
    body = {"filter_in_dict": {"synapses": {"post_pt_root_id": [root]}}}
    lean = world.query_rows("synapses", time.time(), {**body, "select_columns": {"synapses": ["id", "post_pt_root_id"]}}, 500_000)
    assert len(world.graph.plan) == 1
    full = world.query_rows("synapses", time.time(), body, 500_000)
    partners = {world.neuron_of(int(r)) for r in full["pre_pt_root_id"]}
    assert len(world.graph.plan) == 1 + len(partners) > 2
    assert list(lean.columns) == ["id", "post_pt_root_id"]
    assert lean.to_dict("list") == full[["id", "post_pt_root_id"]].to_dict("list")
    assert len(lean) == world.synapse_counts(root)[0] > 0
