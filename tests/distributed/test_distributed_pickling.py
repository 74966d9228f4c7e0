"""Handles and values pickle for other processes: config and IDs travel, the token never does."""

from __future__ import annotations

import pickle

import cloudpickle
import numpy as np
import pytest

import tracertools as tt
from tracertools.datastack import TOKEN_ENV
from tracertools.segments.views import triage_chunk

DUMPS = {"pickle": pickle.dumps, "cloudpickle": cloudpickle.dumps}


@pytest.mark.parametrize("how", sorted(DUMPS))
def test_a_pickled_datastack_holds_no_token(local_cave, how):
    ds = local_cave.datastack()
    assert ds._token == local_cave.token  # the session in this process has it
    blob = DUMPS[how](ds)
    assert local_cave.token.encode() not in blob
    assert local_cave.token.encode("utf-16-le") not in blob


def test_a_datastack_whose_client_is_built_still_pickles_without_token(local_cave, current):
    ds = local_cave.datastack()
    ds.segments(current[:2]).are_fresh()  # builds the client, fills caches
    blob = pickle.dumps(ds)
    assert local_cave.token.encode() not in blob
    assert len(blob) < 20_000  # config and settings only: no client, no caches


def test_a_datastack_given_its_token_pickles_without_it(local_cave):
    ds = tt.Datastack(local_cave.datastack_name, config=local_cave.config,
                      auth_token=local_cave.token)
    assert local_cave.token.encode() not in pickle.dumps(ds)


def test_what_a_triage_task_carries_holds_no_token(local_cave, current):
    import functools

    task = functools.partial(triage_chunk, local_cave.datastack())
    assert local_cave.token.encode() not in cloudpickle.dumps((task, current))


def test_an_unpickled_datastack_keeps_name_config_and_read_time(local_cave):
    ds = local_cave.datastack(timestamp=1_700_000_000)
    back = pickle.loads(pickle.dumps(ds))
    assert (back.name, back.config, back.server_address, back.timestamp) == (
        ds.name, ds.config, ds.server_address, ds.timestamp)


def test_an_unpickled_datastack_finds_the_token_in_its_process(local_cave, current, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, local_cave.token)  # as a worker's environment holds it
    back = pickle.loads(pickle.dumps(local_cave.datastack()))
    assert back.segments(current).are_fresh().all()  # the server accepted its requests


@pytest.fixture
def unregistered_cave():
    """A LocalCave of its own: as on a worker, only the pickled config says where it is."""
    from tracertools.testing import LocalCave

    with LocalCave(datastack_name="demo_unregistered") as cave:
        yield cave


def pickled_session(cave) -> bytes:
    ds = tt.Datastack(cave.datastack_name, config=cave.config, auth_token=cave.token)
    return pickle.dumps(ds)


def test_the_environment_token_reaches_a_process_that_does_not_know_the_datastack(
    unregistered_cave, monkeypatch
):
    blob = pickled_session(unregistered_cave)
    monkeypatch.setenv(TOKEN_ENV, unregistered_cave.token)
    roots = unregistered_cave.world.latest_roots_now()
    assert pickle.loads(blob).segments(roots).are_fresh().all()


def test_without_a_token_in_its_process_an_unpickled_datastack_is_refused(
    unregistered_cave, monkeypatch, tmp_path
):
    blob = pickled_session(unregistered_cave)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no caveclient token file either
    with pytest.raises(tt.errors.ServiceError) as caught:
        pickle.loads(blob).segments(unregistered_cave.world.latest_roots_now()).are_fresh()
    assert unregistered_cave.token not in str(caught.value)


def test_unpickled_sessions_of_one_datastack_share_one_client(local_cave, current, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, local_cave.token)
    blob = pickle.dumps(local_cave.datastack())
    first, second = pickle.loads(blob), pickle.loads(blob)
    assert first is second
    first.segments(current[:1]).are_fresh()
    assert second.cave is first.cave and first.cave.connected


def test_a_segment_list_pickles_with_its_ids_read_only(local_cave, current):
    segs = local_cave.datastack().segments(current)
    back = pickle.loads(pickle.dumps(segs))
    assert back == segs
    assert not back.ids.flags.writeable
    assert local_cave.token.encode() not in pickle.dumps(segs)


def test_a_segment_pickles(local_cave, current):
    seg = local_cave.datastack().segment(current[0])
    assert pickle.loads(pickle.dumps(seg)) == seg


def test_a_skeleton_pickles_by_value(local_cave, current):
    sk = local_cave.datastack().segment(current[0]).skeleton()
    back = pickle.loads(pickle.dumps(sk))
    assert back == sk and back.cable_length() == sk.cable_length()


def test_a_mesh_pickles_by_value(local_cave):
    mesh = tt.Mesh.from_precomputed(local_cave.config.sources.swamp, 1)
    back = pickle.loads(pickle.dumps(mesh))
    assert back == mesh
    assert np.array_equal(back.triangles, mesh.triangles)


def test_errors_with_their_own_arguments_pickle(local_cave):
    errors = [
        tt.errors.MissingFeatureError("demo", "sources.swamp", "triage"),
        tt.errors.SegmentNotFoundError([1, 2]),
        tt.errors.BatchError({0: tt.errors.ServiceError("boom")}, [7]),
        tt.errors.UnknownDatastackError("nope", ["demo"], ["demo"]),
    ]
    for exc in errors:
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
