"""ScaleWorld: lazy construction, the CaveWorld protocol, and the real graphene ID layout."""

from __future__ import annotations

from typing import Any

import numpy as np

from tracertools.testing import CaveWorld, LocalCave, ScaleWorld, World


def test_scale_world_serves_without_generating_the_dataset() -> None:
    world = ScaleWorld(seed=3)
    assert world.n_neurons >= 100_000
    with LocalCave(world=world, datastack_name="scale_lazy") as cave:
        client = cave.client()
        root = world.neuron_root(12_345)
        assert client.chunkedgraph.is_latest_roots([root]).tolist() == [True]
    # neuron 12345 plus the two neurons the swamp meshes sit on; nothing else was built
    assert len(world.graph.plan) <= 3


def test_both_worlds_implement_the_cave_world_protocol(scale_world: ScaleWorld) -> None:
    assert isinstance(scale_world, CaveWorld)
    assert isinstance(World.cached(), CaveWorld)


def test_ids_follow_the_real_ten_layer_graphene_layout(scale_cave: LocalCave, scale_world: ScaleWorld) -> None:
    meta = scale_cave.cloudvolume().meta
    assert meta.n_layers == 10
    assert {lay: meta.spatial_bit_count(lay) for lay in range(1, 11)} == {
        1: 10, 2: 10, 3: 7, 4: 6, 5: 5, 6: 4, 7: 3, 8: 2, 9: 1, 10: 1,
    }
    k = 4242
    root = scale_world.neuron_root(k)
    assert str(root).startswith("7205759")
    assert meta.decode_label(root)[:4] == (10, 0, 0, 0)
    plan = scale_world.plan(k)
    sv = int(scale_world.supervoxels(root)[0])
    l2 = int(scale_world.l2_ids(root)[0])
    assert int(meta.decode_layer_id(sv)) == 1 and int(meta.decode_layer_id(l2)) == 2
    chunks = {tuple(int(v) for v in c) for c in plan.chunks}
    assert tuple(int(v) for v in meta.decode_chunk_position(sv)) in chunks
    assert tuple(int(v) for v in meta.decode_chunk_position(l2)) in chunks
    soma_voxel = scale_world.geometry.soma_voxel(plan)
    assert tuple(meta.point_to_chunk_position(soma_voxel, mip=0)) == tuple(plan.chunks[0])


def test_sizes_follow_the_defaults(scale_world: ScaleWorld) -> None:
    n_sv, _, n_ops = scale_world.graph.sc.of(np.arange(scale_world.n_neurons))
    assert 15_000 < np.median(n_sv) < 25_000
    assert n_sv.max() >= 1_500_000
    assert (n_ops > 0).mean() >= 0.2
    assert sum(n_ops >= 5_000) >= 1
    giant = scale_world.giant_neurons[0]
    assert scale_world.n_supervoxels(scale_world.neuron_root(giant)) == 1_500_000


def test_a_random_list_of_historical_ids_is_at_least_ten_percent_stale(
    scale_client: Any, scale_world: ScaleWorld
) -> None:
    ids = scale_world.historical_ids(400, seed=7)
    latest = scale_client.chunkedgraph.is_latest_roots(ids)
    assert latest.tolist() == [scale_world.is_latest(int(r)) for r in ids]
    assert (~latest).mean() >= 0.10


def test_sample_ids_are_distinct_with_the_stale_share_in_every_prefix(scale_world: ScaleWorld) -> None:
    ids = scale_world.sample_ids(300, stale_fraction=0.1, seed=3)
    assert len(set(ids.tolist())) == 300
    stale = [not scale_world.is_latest(int(r)) for r in ids]
    assert [sum(stale[:n]) for n in (10, 100, 300)] == [1, 10, 30]
    assert scale_world.sample_ids(100, stale_fraction=0.1, seed=3).tolist() == ids[:100].tolist()
