"""The SDK's skeleton fetches against a skeleton service that takes time to generate.

LocalCave's service has the skeletons of roots older than the newest version cached; any other
root's skeleton takes ``set_skeleton_eta`` seconds to generate after it is first asked for. The
SDK's cached fetch (``fetch_skeletons``, 500 a request) leaves those out and queues them; one
batched validity check runs meanwhile; the SDK fetches them again with backoff (its first poll
5 s after queueing) and, after ``$TRACERTOOLS_SKELETON_WAIT`` seconds, one by one, each request
waiting on the service until its skeleton is generated.
"""

from __future__ import annotations

import pytest

import tracertools as tt
from tracertools.errors import ConfigError


def _new_roots(world):
    newest = world.version_timestamps[world.latest_version]
    return [int(r) for r in world.latest_roots_now() if world.graph.roots[int(r)].created > newest]


@pytest.fixture
def cold(local_cave):
    """The session LocalCave with nothing generated yet and one second per skeleton."""
    local_cave.forget_skeletons()
    local_cave.set_skeleton_eta(1.0)
    return local_cave


def test_skeletons_not_generated_yet_are_queued_in_bulk_then_fetched_again(cold, world):
    new = _new_roots(world)
    old = [int(world.neuron_root(6))]
    ds = cold.datastack()
    _ = ds.client.skeleton
    cold.stats.reset()
    got = ds.segments(new + old).skeletons()
    for root, sk in zip(new + old, got, strict=True):
        assert sk.n_vertices == len(world.skeleton(root).vertices)
    # one fetch that queues the new roots, one validity check of them, one fetch once generated
    assert cold.stats["bulk_cached_skeletons"] == 2
    assert cold.stats["valid_nodes"] == 1
    assert cold.stats["get_skeleton"] == 0
    assert cold.stats["bulk_get_skeletons"] == 0


def test_skeletons_still_generating_after_the_wait_are_fetched_one_by_one(cold, world, monkeypatch):
    monkeypatch.setenv("TRACERTOOLS_SKELETON_WAIT", "0")
    new = _new_roots(world)
    ds = cold.datastack()
    _ = ds.client.skeleton
    cold.stats.reset()
    got = ds.segments(new).cable_lengths()
    assert got == pytest.approx([world.cable_length(r) for r in new], rel=1e-6)
    assert cold.stats["bulk_cached_skeletons"] == 1
    assert cold.stats["get_skeleton"] == len(new)


def test_a_poll_before_the_wait_ends_leaves_the_rest_to_single_fetches(cold, world, monkeypatch):
    monkeypatch.setenv("TRACERTOOLS_SKELETON_WAIT", "0.5")  # over before generation (1 s)
    new = _new_roots(world)[:2]
    ds = cold.datastack()
    _ = ds.client.skeleton
    cold.stats.reset()
    got = ds.segments(new).cable_lengths()
    assert got == pytest.approx([world.cable_length(r) for r in new], rel=1e-6)
    assert cold.stats["bulk_cached_skeletons"] == 2  # the queueing fetch and one poll
    assert cold.stats["get_skeleton"] == len(new)


def test_a_bad_skeleton_wait_setting_is_refused_before_any_skeleton_request(cold, world,
                                                                             monkeypatch):
    monkeypatch.setenv("TRACERTOOLS_SKELETON_WAIT", "soon")
    ds = cold.datastack()
    _ = ds.client.skeleton
    cold.stats.reset()
    with pytest.raises(ConfigError, match="TRACERTOOLS_SKELETON_WAIT"):
        ds.segments(_new_roots(world)[:1]).skeletons()
    assert not [name for name in cold.stats.as_dict() if "skeleton" in name]


def test_cable_lengths_of_new_roots_equal_the_ground_truth(cold, world):
    new = _new_roots(world)
    got = cold.datastack().segments(new).cable_lengths()
    assert got == pytest.approx([world.cable_length(r) for r in new], rel=1e-6)


def test_legacy_get_seg_skeletons_waits_for_generation(cold, world):
    new = _new_roots(world)[:2]
    skeletons = tt.get_seg_skeletons(cold.datastack(), new)
    assert [len(s.vertices) for s in skeletons] == [len(world.skeleton(r).vertices) for r in new]


def test_legacy_get_cable_lengths_waits_for_generation(cold, world):
    new = _new_roots(world)[:2]
    got = tt.get_cable_lengths(cold.datastack(), new)
    assert got == pytest.approx([world.cable_length(r) for r in new], rel=1e-6)


def test_details_of_new_roots_have_their_cable_lengths(cold, world):
    new = _new_roots(world)
    frame = cold.datastack().segments(new).details()
    assert frame["cable_length_nm"].tolist() == pytest.approx(
        [world.cable_length(r) for r in new], rel=1e-6)


def test_a_generation_longer_than_the_read_timeout_still_arrives(cold, world, monkeypatch):
    monkeypatch.setenv("TRACERTOOLS_HTTP_TIMEOUT", "0.4")
    cold.set_skeleton_eta(1.5)
    root = _new_roots(world)[0]
    sk = cold.datastack().segment(root).skeleton()
    assert sk.cable_length() == pytest.approx(world.cable_length(root), rel=1e-6)


@pytest.mark.parametrize("errors", ["raise", "warn", "ignore"])
def test_a_skeleton_version_the_service_does_not_serve_fails_the_call_not_each_segment(
    local_cave, world, errors
):
    ds = local_cave.datastack()
    roots = [int(world.neuron_root(n)) for n in range(3)]
    with pytest.raises(tt.InvalidInputError, match="skeleton version 99 is not served"):
        ds.segments(roots).skeletons(version=99, errors=errors)
