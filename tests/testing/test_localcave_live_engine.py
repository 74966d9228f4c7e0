"""LocalCave's live query answers as the real materialization engine does.

Upstream (MaterializationEngine ``LiveTableQuery``): root IDs in filters must be current at the
query time (400, or dropped with a warning under ``allow_invalid_root_ids``); rows still waiting
for their supervoxel lookups give 406 (or are dropped with a warning under
``allow_missing_lookups``); a live answer is the newest materialized version before the query
time combined with the rows created since, ``offset`` and the limit applying to each part.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
import requests

from tracertools.testing import LocalCave, World

DAY = 86400.0


def utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def _stale_root(world: World) -> int:
    latest = set(world.latest_roots_now().tolist())
    return next(int(r) for r in world.all_roots() if int(r) not in latest)


def _live(client: Any, table: str, when: float, **kwargs: Any) -> Any:
    return client.materialize.live_live_query(table, utc(when), **kwargs)


def test_a_root_not_current_at_the_query_time_is_refused_with_400(client, world):
    stale = _stale_root(world)
    with pytest.raises(requests.HTTPError, match="not valid at the query timestamp") as info:
        _live(client, "synapses", world.version_timestamps[3] + 60 * DAY,
              filter_in_dict={"synapses": {"pre_pt_root_id": [stale]}})
    assert info.value.response.status_code == 400


def test_allow_invalid_root_ids_drops_the_stale_id_with_a_warning(client, world, caplog):
    stale = _stale_root(world)
    fresh = int(world.neuron_root(6))
    with caplog.at_level(logging.WARNING, logger="caveclient.base"):
        df = client.materialize.live_live_query(
            "synapses", dt.datetime.now(dt.timezone.utc), allow_invalid_root_ids=True,
            filter_in_dict={"synapses": {"pre_pt_root_id": [fresh, stale]}})
    assert set(df["pre_pt_root_id"]) == {fresh}
    assert len(df) == world.synapse_counts(fresh)[1]
    assert any("not valid at the query timestamp" in r.getMessage() for r in caplog.records)


def test_every_root_invalid_fails_even_when_allowed(client, world):
    with pytest.raises(requests.HTTPError) as info:
        client.materialize.live_live_query(
            "synapses", dt.datetime.now(dt.timezone.utc), allow_invalid_root_ids=True,
            filter_in_dict={"synapses": {"pre_pt_root_id": [_stale_root(world)]}})
    assert info.value.response.status_code == 500


def test_a_stale_root_is_valid_at_a_time_it_was_current(client, world):
    stale = _stale_root(world)
    rec = world.graph.roots[stale]
    when = rec.superseded - 1.0
    df = _live(client, "synapses", when,
               filter_in_dict={"synapses": {"post_pt_root_id": [stale]}})
    assert len(df) == world.synapse_counts(stale, t=when)[0]


def test_pending_annotations_make_a_live_query_answer_406(cave: LocalCave, world):
    cave.add_pending_annotations("synapses", 3)
    client = cave.client()
    with pytest.raises(requests.HTTPError, match="need supervoxel lookups") as info:
        client.materialize.live_live_query(
            "synapses", dt.datetime.now(dt.timezone.utc),
            filter_in_dict={"synapses": {"pre_pt_root_id": [int(world.neuron_root(6))]}})
    assert info.value.response.status_code == 406


def test_allow_missing_lookups_leaves_pending_rows_out_with_a_warning(cave: LocalCave, world,
                                                                      caplog):
    cave.add_pending_annotations("synapses", 3)
    client = cave.client()
    root = int(world.neuron_root(6))
    with caplog.at_level(logging.WARNING, logger="caveclient.base"):
        df = client.materialize.live_live_query(
            "synapses", dt.datetime.now(dt.timezone.utc), allow_missing_lookups=True,
            filter_in_dict={"synapses": {"pre_pt_root_id": [root]}})
    assert len(df) == world.synapse_counts(root)[1]
    assert any("3 annotations that need supervoxel lookups" in r.getMessage()
               for r in caplog.records)


def test_materialized_queries_never_see_pending_annotations(cave: LocalCave, world):
    cave.add_pending_annotations("synapses", 3)
    df = cave.client().materialize.query_table("synapses", select_columns=["id"])
    assert len(df) == world.tables["synapses"].n_rows


def test_reset_removes_pending_annotations(cave: LocalCave, world):
    cave.add_pending_annotations("synapses", 2)
    cave.reset()
    df = cave.client().materialize.live_live_query("synapses", dt.datetime.now(dt.timezone.utc))
    assert len(df) == world.tables["synapses"].n_rows


def _between_v2_and_v3(world: World) -> float:
    # proofreading rows were created on days v2+1, v2+2 and v2+3: after version 2
    return world.version_timestamps[2] + 4 * DAY


def test_a_live_page_combines_one_page_of_each_part(client, world, caplog):
    when = _between_v2_and_v3(world)
    with caplog.at_level(logging.WARNING, logger="caveclient.base"):
        page = _live(client, "proofreading_status", when, limit=1)
    truth = world.table("proofreading_status", t=when)
    assert len(truth) == 5 and len(page) == 2  # one materialized row and one recent row
    limited = [r.getMessage() for r in caplog.records if "limit of 1" in r.getMessage()]
    assert len(limited) == 1 and limited[0].count("there may be more results") == 2


def test_live_pages_step_by_the_limit_not_by_the_rows_received(client, world):
    when = _between_v2_and_v3(world)
    truth = sorted(world.table("proofreading_status", t=when)["id"])
    by_limit: list[int] = []
    for offset in range(0, len(truth), 2):
        by_limit += _live(client, "proofreading_status", when, limit=2, offset=offset)["id"].tolist()
    assert sorted(by_limit) == truth
    by_rows: list[int] = []
    offset = 0
    while True:
        page = _live(client, "proofreading_status", when, limit=2, offset=offset)
        if len(page) == 0:
            break
        by_rows += page["id"].tolist()
        offset += len(page)
    assert sorted(by_rows) != truth  # stepping by the rows received skips rows


def test_a_query_before_every_version_leaves_out_rows_created_after_it(client, world):
    when = world.t0 + 5 * DAY  # before version 1: the engine starts from the next version
    df = _live(client, "proofreading_status", when)
    assert sorted(df["id"]) == sorted(world.table("proofreading_status", t=when)["id"])
    roots = set(df["pt_root_id"])
    assert all(world.is_latest(r, when) for r in roots)
