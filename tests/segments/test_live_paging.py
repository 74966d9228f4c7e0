"""Paging live answers the way the live engine pages them.

A live answer is one page of materialized rows plus one page of rows created since the
version, each cut at the limit; the SDK steps ``offset`` by that limit.
"""

from __future__ import annotations

DAY = 86400.0


def _between_v2_and_v3(world):
    # three of the five proofreading rows were created after version 2
    return world.version_timestamps[2] + 4 * DAY


def test_a_capped_live_table_is_read_whole_and_once(local_cave, world):
    when = _between_v2_and_v3(world)
    ds = local_cave.datastack(timestamp=when)
    local_cave.set_faults(row_cap=1)
    frame = ds.table("proofreading_status")
    truth = world.table("proofreading_status", t=when)
    assert sorted(frame["id"]) == sorted(truth["id"])
    assert len(truth) == 5


def test_live_paging_asks_once_per_limit_step(local_cave, world):
    when = _between_v2_and_v3(world)
    ds = local_cave.datastack(timestamp=when)
    _ = ds.client.materialize
    local_cave.set_faults(row_cap=2)
    local_cave.stats.reset()
    ds.table("proofreading_status")
    # parts of 2 and 3 rows: offset 0 is capped in both, offset 2 (one recent row) is not
    assert local_cave.stats["live_live_query"] == 2


def test_a_filtered_capped_live_query_is_complete(local_cave, world):
    when = _between_v2_and_v3(world)
    ds = local_cave.datastack(timestamp=when)
    truth = world.table("proofreading_status", t=when)
    roots = sorted({int(r) for r in truth["pt_root_id"]})
    local_cave.set_faults(row_cap=1)
    frame = ds.table("proofreading_status", filter_in={"pt_root_id": roots})
    assert sorted(frame["id"]) == sorted(truth["id"])


def test_synapse_counts_survive_a_tiny_row_cap_between_versions(local_cave, world):
    when = _between_v2_and_v3(world)
    ds = local_cave.datastack(timestamp=when)
    roots = [int(r) for r in world.roots_at(when)][:3]
    local_cave.set_faults(row_cap=4)
    frame = ds.segments(roots).synapse_counts()
    for root in roots:
        assert tuple(frame.loc[root, ["in_syn", "out_syn"]]) == world.synapse_counts(root, t=when)
