"""Batch methods on a dask LocalCluster of two worker processes equal their serial answers."""

from __future__ import annotations

import functools
import operator

import numpy as np
import pandas as pd
import pytest

import tracertools as tt
from tracertools.batch import run_per_item
from tracertools.errors import BatchError, MissingFeatureError, PartialResultWarning

BOGUS_ROOT = 2**56 * 4 + 999_999  # a well-formed ID the chunkedgraph never had


def test_triage_on_the_cluster_equals_serial_triage(client, ds, current):
    ids = current + current[:3]  # duplicates keep their place
    serial = ds.segments(ids).triage(progress=False)
    spread = ds.segments(ids).triage(executor=client, chunk_size=3, progress=False)
    pd.testing.assert_frame_equal(spread, serial)
    assert serial["crosses_swamp"].any() and not serial["crosses_swamp"].all()


def test_triage_through_the_clients_executor_equals_serial_triage(client, ds, current):
    serial = ds.segments(current).triage(progress=False)
    spread = ds.segments(current).triage(executor=client.get_executor(), progress=False)
    pd.testing.assert_frame_equal(spread, serial)


def test_details_on_the_cluster_equal_serial_details(client, local_cave, world_stale):
    ds = local_cave.datastack(timestamp=pytest.importorskip("time").time())
    ids = world_stale + [int(r) for r in local_cave.world.latest_roots_now()]
    serial = ds.segments(ids).details(progress=False)
    spread = ds.segments(ids).details(executor=client, chunk_size=4, progress=False)
    pd.testing.assert_frame_equal(spread, serial)


def test_live_details_on_the_cluster_read_one_moment(client, ds, current):
    serial = ds.segments(current).details(progress=False)
    spread = ds.segments(current).details(executor=client, chunk_size=2, progress=False)
    pd.testing.assert_frame_equal(spread, serial)


def test_cable_lengths_on_the_cluster_equal_the_ground_truth(client, ds, local_cave, current):
    got = ds.segments(current).cable_lengths(executor=client, progress=False)
    truth = [local_cave.world.cable_length(r) for r in current]
    np.testing.assert_allclose(got, truth, rtol=1e-9)


def test_skeletons_come_back_from_the_cluster_equal(client, ds, current):
    spread = ds.segments(current).skeletons(executor=client, progress=False)
    assert spread == ds.segments(current).skeletons(progress=False)


def test_crossings_on_the_cluster_equal_serial_crossings(client, ds, current):
    mesh = tt.Mesh.from_precomputed(ds.config.sources.swamp, 1)
    serial = ds.segments(current).crosses(mesh)
    assert np.array_equal(ds.segments(current).crosses(mesh, executor=client), serial)


def test_a_failed_segment_is_named_and_left_empty_under_warn(client, ds, current):
    ids = [current[0], BOGUS_ROOT, current[1]]
    with pytest.warns(PartialResultWarning, match=str(BOGUS_ROOT)):
        frame = ds.segments(ids).triage(executor=client, errors="warn", progress=False)
    assert frame["swamp_ids"].iloc[1] is None and pd.isna(frame["crosses_swamp"].iloc[1])
    expected = ds.segments([current[0], current[1]]).triage(progress=False)
    assert frame["n_crossings"].iloc[[0, 2]].tolist() == expected["n_crossings"].tolist()


def test_a_failed_segment_raises_a_batch_error_under_raise(client, ds, current):
    with pytest.raises(BatchError, match=str(BOGUS_ROOT)):
        ds.segments([current[0], BOGUS_ROOT]).triage(executor=client, progress=False)


def test_details_of_an_unknown_segment_are_empty_and_named_under_warn(client, ds, current):
    with pytest.warns(PartialResultWarning, match=str(BOGUS_ROOT)):
        frame = ds.segments([current[0], BOGUS_ROOT]).details(executor=client, errors="warn",
                                                               progress=False)
    assert frame["current_id"].tolist() == [current[0], 0]
    assert np.isnan(frame["volume_um3"].iloc[1]) and not np.isnan(frame["volume_um3"].iloc[0])


def test_triage_without_swamps_fails_before_any_task(client, local_cave, current):
    config = local_cave.config
    config = config.model_copy(update={"sources": config.sources.model_copy(
        update={"swamp": None, "triage_mesh": None})})
    ds = tt.Datastack(local_cave.datastack_name, config=config)
    with pytest.raises(MissingFeatureError):
        ds.segments(current).triage(executor=client)


def test_each_worker_process_spends_its_share_of_the_budget(client, ds):
    ds.rate_limit = 50.0
    shares = run_per_item(operator.attrgetter("rate_limiter.share"), [ds] * 4,
                          executor=client, chunk_size=1, progress=False)
    assert shares == [25.0] * 4
    assert ds.rate_limiter.share == 50.0  # this process is not a worker


def test_a_function_of_each_item_runs_on_the_cluster_in_input_order(client):
    got = run_per_item(functools.partial(operator.mul, 3), list(range(25)), executor=client,
                       chunk_size=4, progress=False)
    assert got == [3 * i for i in range(25)]
