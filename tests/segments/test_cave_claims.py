"""Claims of docs/migration.md's "Segments and CAVE" section that no other test executes."""

from __future__ import annotations

import numpy as np
import pytest

import tracertools as tt
from tracertools.errors import BatchError, PartialResultWarning


def test_get_seg_3d_volume_fails_when_the_l2_cache_lacks_a_node(local_cave, world):
    root = int(world.neuron_root(6))
    local_cave.hide_l2_attributes([int(world.l2_ids(root)[0])])
    with pytest.raises(BatchError, match="under-counted"):
        tt.get_seg_3d_volume(local_cave.datastack(), root)


def test_volumes_are_nan_under_warn_when_the_l2_cache_lacks_a_node(local_cave, world):
    hidden, whole = int(world.neuron_root(6)), int(world.neuron_root(7))
    local_cave.hide_l2_attributes([int(world.l2_ids(hidden)[0])])
    with pytest.warns(PartialResultWarning, match=str(hidden)):
        got = local_cave.datastack().segments([hidden, whole]).volumes_um3(errors="warn")
    assert np.isnan(got[0]) and got[1] == pytest.approx(world.volume_nm3(whole) / 1e9)


def test_get_roots_from_points_takes_numpy_integer_points(local_cave, world):
    points = np.asarray([world.soma_position(0), world.soma_position(1)], dtype=np.int64)
    assert tt.get_roots_from_points(local_cave.datastack(), points) == [
        world.root_at_point(p) for p in points]
    assert tt.get_roots_from_points(local_cave.datastack(), points[0]) == [
        world.root_at_point(points[0])]


def test_get_cave_stacks_makes_one_request(local_cave):
    # get_cave_stacks() is this call on caveclient's default server; nothing routes it to a
    # running LocalCave, so the server is named here
    local_cave.stats.reset()
    assert local_cave.datastack_name in tt.datastacks(local_cave.url, local_cave.token)
    assert local_cave.stats["datastacks"] == 1


def test_count_synapses_makes_one_query_per_direction(local_cave, world):
    roots = [int(r) for r in world.latest_roots_now()][:3]
    tt.count_synapses(local_cave.datastack(), roots)  # warm the client
    local_cave.stats.reset()
    assert tt.count_synapses(local_cave.datastack(), roots) == [
        sum(world.synapse_counts(r)) for r in roots]
    assert local_cave.stats["live_live_query"] == 2  # incoming and outgoing
