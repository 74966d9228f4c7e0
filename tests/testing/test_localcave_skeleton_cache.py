"""LocalCave's skeleton service takes time to generate a skeleton it has not cached."""

from __future__ import annotations

import math

import pytest

from tracertools.testing import LocalCave, World


def _new_roots(world: World) -> list[int]:
    """Current roots created after the newest version: not skeletonized at start."""
    newest = world.version_timestamps[world.latest_version]
    return [int(r) for r in world.latest_roots_now() if world.graph.roots[int(r)].created > newest]


@pytest.fixture
def fresh_cache(cave: LocalCave) -> LocalCave:
    cave.forget_skeletons()
    yield cave
    cave.forget_skeletons()


def test_an_old_roots_skeleton_is_cached_from_the_start(fresh_cache, world):
    root = int(world.neuron_root(6))  # never edited
    assert fresh_cache.client().skeleton.skeletons_exist(root_ids=[root]) is True


def test_a_bulk_fetch_answers_async_and_queues_generation(fresh_cache, world):
    fresh_cache.set_skeleton_eta(600)
    root = _new_roots(world)[0]
    client = fresh_cache.client()
    assert client.skeleton.skeletons_exist(root_ids=[root]) is False
    assert client.skeleton.get_bulk_skeletons([root]) == {}  # "async": caveclient drops it
    assert client.skeleton.skeletons_exist(root_ids=[root]) is False


def test_a_single_fetch_waits_for_generation_and_gets_the_skeleton(fresh_cache, world):
    fresh_cache.set_skeleton_eta(0.5)
    root = _new_roots(world)[0]
    client = fresh_cache.client()
    sk = client.skeleton.get_skeleton(root, skeleton_version=4)
    assert len(sk["vertices"]) == len(world.skeleton(root).vertices)
    assert client.skeleton.skeletons_exist(root_ids=[root]) is True
    assert set(client.skeleton.get_bulk_skeletons([root])) == {str(root)}


def test_gen_skeletons_reports_the_upstream_estimate(fresh_cache, world):
    fresh_cache.set_skeleton_eta(7)
    new = _new_roots(world)
    unknown = [2**56 * 4 + 999_999 + k for k in range(16 - len(new))]  # root layer, never existed
    eta = fresh_cache.client().skeleton.generate_bulk_skeletons_async(new + unknown,
                                                                      skeleton_version=4)
    assert eta == math.ceil(16 / 15) * 7


def test_gen_skeletons_leaves_cached_skeletons_out_of_the_estimate(fresh_cache, world):
    fresh_cache.set_skeleton_eta(7)
    old = [int(world.neuron_root(k)) for k in (1, 6)]  # skeletonized before the newest version
    new = _new_roots(world)[:1]
    eta = fresh_cache.client().skeleton.generate_bulk_skeletons_async(old + new,
                                                                      skeleton_version=4)
    assert eta == 7


def test_generated_skeletons_survive_reset(fresh_cache, world):
    fresh_cache.set_skeleton_eta(0)
    root = _new_roots(world)[0]
    fresh_cache.client().skeleton.get_skeleton(root, skeleton_version=4)
    fresh_cache.reset()
    assert fresh_cache.client().skeleton.skeletons_exist(root_ids=[root]) is True


def test_the_default_generation_time_is_seconds_per_skeleton():
    from tracertools.testing.localcave import DEFAULT_SKELETON_SECONDS

    assert 1 <= DEFAULT_SKELETON_SECONDS <= 60
