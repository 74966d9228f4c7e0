"""ScaleWorld L2 cache and skeleton service through caveclient: bulk cached skeletons
(``fetch_skeletons``), asynchronous generation, L2 attributes, volumes and cable lengths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from tracertools.testing import LocalCave, ScaleWorld


def _roots(world: ScaleWorld, n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return [world.neuron_root(int(k)) for k in rng.choice(world.n_neurons, n, replace=False)]


def test_fetch_skeletons_returns_500_cached_skeletons_in_one_request(
    scale_cave: LocalCave, scale_client: Any, scale_world: ScaleWorld
) -> None:
    roots = _roots(scale_world, 500, seed=21)
    cached = {r for r in roots if scale_world.skeleton_precached(r)}
    assert 0 < len(cached) < len(roots)
    scale_client.skeleton.get_versions()
    scale_cave.stats.reset()
    got = scale_client.skeleton.fetch_skeletons(roots, skeleton_version=4)
    assert scale_cave.stats["bulk_cached_skeletons"] == 1
    assert {int(r) for r in got} == cached  # the others are simply absent
    some = next(iter(cached))
    truth = scale_world.skeleton(some)
    assert np.allclose(np.asarray(got[str(some)]["vertices"]), truth.vertices)
    assert sorted(got[str(some)]["lvl2_ids"]) == scale_world.l2_ids(some).tolist()


def test_missing_skeletons_appear_after_generation(scale_cave: LocalCave, scale_client: Any,
                                                   scale_world: ScaleWorld) -> None:
    roots = _roots(scale_world, 60, seed=22)
    missing = [r for r in roots if not scale_world.skeleton_precached(r)]
    assert len(missing) > 1
    scale_cave.set_skeleton_eta(0)  # generation is instant here; its timing is tested elsewhere
    sk = scale_client.skeleton
    assert not any(sk.skeletons_exist(root_ids=missing).values())
    first = sk.fetch_skeletons(missing[:1], skeleton_version=4, generate_missing_skeletons=True)
    assert first == {}
    assert set(sk.fetch_skeletons(missing[:1], skeleton_version=4)) == {str(missing[0])}
    sk.generate_bulk_skeletons_async(missing[1:], skeleton_version=4)
    assert set(sk.fetch_skeletons(roots, skeleton_version=4)) == {str(r) for r in roots}


def test_l2_attributes_volume_and_cable_length_match_the_ground_truth(
    scale_client: Any, scale_world: ScaleWorld
) -> None:
    root = _roots(scale_world, 1, seed=23)[0]
    l2 = scale_client.chunkedgraph.get_leaves(root, stop_layer=2)
    data = scale_client.l2cache.get_l2data(l2.tolist(), attributes=["size_nm3", "rep_coord_nm"])
    assert sum(d["size_nm3"] for d in data.values()) == scale_world.volume_nm3(root)
    first = str(int(l2[0]))
    assert data[first]["rep_coord_nm"] == scale_world.l2_attributes(int(l2[0]))["rep_coord_nm"]
    sk = scale_client.skeleton.get_skeleton(root, skeleton_version=4)
    v, e = np.asarray(sk["vertices"]), np.asarray(sk["edges"])
    cable = float(np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1).sum())
    assert cable == pytest.approx(scale_world.cable_length(root))
    assert scale_client.l2cache.get_l2data([int(root)]) == {str(root): {}}


def test_level2_graph_and_past_ids_match_the_ground_truth(scale_client: Any, scale_world: ScaleWorld) -> None:
    cg = scale_client.chunkedgraph
    root = _roots(scale_world, 1, seed=24)[0]
    edges = cg.level2_chunk_graph(root)
    assert sorted(sorted(int(v) for v in e) for e in edges) == scale_world.lvl2_edges(root)
    k = scale_world.long_history_neurons[1]
    latest = scale_world.neuron_root(k)
    t1 = scale_world.version_timestamps[1]
    past = cg.get_past_ids([latest], timestamp_past=dt.datetime.fromtimestamp(t1, dt.timezone.utc))
    assert sorted(past["past_id_map"][latest]) == scale_world.past_ids(latest, t1) != [latest]
