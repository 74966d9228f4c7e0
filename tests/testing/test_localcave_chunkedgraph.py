"""The real caveclient against LocalCave: info service and chunkedgraph answers = ground truth."""

from __future__ import annotations

import datetime as dt
from typing import Any

import networkx as nx
import numpy as np
import pytest
import requests

from tracertools.testing import LocalCave, World


def utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def op_named(world: World, prefix: str) -> Any:
    for op_id, name in world.story.op_names.items():
        if name.startswith(prefix):
            return world.graph.op_by_id[op_id]
    raise LookupError(prefix)


def stale_roots(world: World) -> list[int]:
    return [int(r) for r in world.all_roots() if not world.is_latest(int(r))]


# -- info ----------------------------------------------------------------------------------


def test_info_service(client: Any, cave_m: LocalCave, world: World) -> None:
    assert client.info.get_datastacks() == ["demo"]
    info = client.info.get_datastack_info()
    assert info["segmentation_source"] == cave_m.segmentation_source
    assert info["local_server"] == cave_m.url
    assert info["synapse_table"] == "synapses"
    assert client.info.viewer_resolution().tolist() == list(world.resolution)
    assert client.info.get_aligned_volume_info()["name"] == "localcave_av"


# -- roots ---------------------------------------------------------------------------------


def test_get_roots_now_and_in_the_past(client: Any, world: World) -> None:
    cg = client.chunkedgraph
    svs = world.svs.ids
    assert np.array_equal(cg.get_roots(svs), world.root_of(svs))
    t1 = world.version_timestamps[1]
    past = cg.get_roots(svs, timestamp=utc(t1))
    assert np.array_equal(past, world.root_of(svs, t1))
    assert not np.array_equal(past, world.root_of(svs))  # edits happened since
    assert cg.get_roots([0, int(svs[0])]).tolist() == [0, int(world.root_of([svs[0]])[0])]


def test_get_roots_stop_layer_2(client: Any, world: World) -> None:
    root = world.neuron_root(0)
    svs = world.supervoxels(root)
    l2 = client.chunkedgraph.get_roots(svs, stop_layer=2)
    assert set(l2.tolist()) == set(world.l2_ids(root).tolist())


def test_get_root_id(client: Any, world: World) -> None:
    root = world.neuron_root(3)
    sv = int(world.supervoxels(root)[0])
    assert int(client.chunkedgraph.get_root_id(sv)) == root
    l2 = int(client.chunkedgraph.get_root_id(sv, level2=True))
    assert l2 in set(world.l2_ids(root).tolist())


def _replaced_l2(world: World) -> tuple[int, int]:
    """An L2 node an edit replaced, and the stale root that held it last."""
    alive = {int(v) for r in world.latest_roots_now().tolist() for v in world.l2_ids(r)}
    for root in sorted(stale_roots(world), key=world.root_timestamp, reverse=True):
        gone = [int(v) for v in world.l2_ids(root) if int(v) not in alive]
        if gone:
            return gone[0], root
    raise LookupError("no edit replaced an L2 node")


def test_roots_of_a_replaced_l2_node_end_at_the_stale_root_that_held_it_last(
    client: Any, world: World
) -> None:
    # PyChunkedGraph never rewrites the parent of a node an edit replaced
    l2, last = _replaced_l2(world)
    assert client.chunkedgraph.get_roots([l2]).tolist() == [last]
    assert not world.is_latest(last)


def test_roots_of_a_live_l2_node_are_its_current_root(client: Any, world: World) -> None:
    root = int(world.latest_roots_now()[0])
    l2 = world.l2_ids(root)
    assert client.chunkedgraph.get_roots(l2).tolist() == [root] * len(l2)


def test_get_leaves_supervoxels_l2_and_bounds(client: Any, world: World) -> None:
    cg = client.chunkedgraph
    root = world.neuron_root(0)
    svs = world.supervoxels(root)
    assert np.array_equal(np.sort(cg.get_leaves(root)), np.sort(svs))
    assert np.array_equal(np.sort(cg.get_leaves(root, stop_layer=2)), world.l2_ids(root))
    bounds = np.array([[0, 128], [0, 256], [0, 64]])
    got = np.sort(cg.get_leaves(root, bounds=bounds))
    cs = np.array(world.chunk_size)
    chunks = world.layout.chunks_of(1, svs)
    keep = np.all((chunks * cs < bounds[:, 1]) & ((chunks + 1) * cs > bounds[:, 0]), axis=1)
    assert 0 < keep.sum() < len(svs)
    assert np.array_equal(got, np.sort(svs[keep]))


def test_get_leaves_many(client: Any, world: World) -> None:
    roots = [world.neuron_root(k) for k in (0, 6, 7)]
    out = client.chunkedgraph.get_leaves_many(roots)
    assert {int(k) for k in out} == set(roots)
    for r in roots:
        assert np.array_equal(np.sort(out[r]), world.supervoxels(r))
    l2 = client.chunkedgraph.get_leaves_many(roots, stop_layer=2)
    assert np.array_equal(np.sort(l2[roots[1]]), world.l2_ids(roots[1]))


def test_is_latest_roots_now_past_and_unknown(client: Any, world: World) -> None:
    cg = client.chunkedgraph
    roots = world.all_roots()
    assert cg.is_latest_roots(roots).tolist() == [world.is_latest(int(r)) for r in roots]
    t2 = world.version_timestamps[2]
    assert cg.is_latest_roots(roots, timestamp=utc(t2)).tolist() == [world.is_latest(int(r), t2) for r in roots]
    unknown = world.layout.encode(world.layout.n_layers, (0, 0, 0), 99_999)
    assert cg.is_latest_roots([unknown]).tolist() == [False]
    with pytest.raises(requests.HTTPError) as err:
        cg.is_latest_roots([int(world.svs.ids[0])])
    assert err.value.response.status_code == 400


def test_root_timestamps(client: Any, world: World) -> None:
    roots = world.all_roots()[:10]
    got = client.chunkedgraph.get_root_timestamps(roots)
    want = [utc(world.root_timestamp(int(r))) for r in roots]
    assert [abs((a - b).total_seconds()) < 1e-3 for a, b in zip(got, want, strict=True)] == [True] * len(roots)


def test_lineage_graph_latest_and_original_roots(client: Any, world: World) -> None:
    cg = client.chunkedgraph
    root = world.neuron_root(0)
    g = cg.get_lineage_graph(root, as_nx_graph=True)
    assert isinstance(g, nx.DiGraph) and root in g
    originals = sorted(n for n in g.nodes if g.in_degree(n) == 0)
    assert originals == world.original_roots(root)
    assert sorted(int(r) for r in cg.get_original_roots(root)) == world.original_roots(root)
    for stale in stale_roots(world)[:8]:
        assert sorted(int(r) for r in cg.get_latest_roots(stale)) == world.latest_roots(stale)


def test_past_ids(client: Any, world: World) -> None:
    root = world.neuron_root(0)
    t1 = world.version_timestamps[1]
    out = client.chunkedgraph.get_past_ids([root], timestamp_past=utc(t1))
    past = sorted(int(r) for r in out["past_id_map"][root])
    expected = sorted(
        r for r in [root] + world.graph.ancestors(root) if world.is_latest(r, t1)
    )
    assert past == expected and len(past) > 1
    assert "future_id_map" in out


def test_tabular_change_log_and_operation_details(client: Any, world: World) -> None:
    cg = client.chunkedgraph
    root = world.neuron_root(0)
    ops = world.edits(root)
    assert len(ops) >= 8  # the long-history neuron
    log = cg.get_tabular_change_log([root], filtered=False)[root]
    assert log["operation_id"].tolist() == [op.operation_id for op in ops]
    assert log["is_merge"].tolist() == [op.is_merge for op in ops]
    assert [list(v) for v in log["before_root_ids"]] == [list(op.before_roots) for op in ops]
    assert [str(u) for u in log["user_id"]] == [op.user_id for op in ops]
    details = cg.get_operation_details([op.operation_id for op in ops])
    for op in ops:
        d = details[str(op.operation_id)]
        assert d["roots"] == list(op.after_roots)
        assert d["user"] == op.user_id
        key = "added_edges" if op.is_merge else "removed_edges"
        assert d[key] == [list(e) for e in op.edges]
        assert d["source_coords"] == [list(c) for c in op.source_coords]
    filtered = cg.get_tabular_change_log([root])[root]
    summary = cg.get_change_log(root)
    assert summary["n_mergers"] == int(filtered["is_merge"].sum())
    assert summary["n_splits"] == int((~filtered["is_merge"].astype(bool)).sum())
    assert summary["operations_ids"] == filtered["operation_id"].tolist()


def test_unchanged_root_has_empty_history(client: Any, world: World) -> None:
    root = world.neuron_root(world.story.unchanged_neurons[0])
    assert world.edits(root) == []
    assert len(client.chunkedgraph.get_tabular_change_log([root])[root]) == 0
    assert world.original_roots(root) == [root]
    assert [int(r) for r in client.chunkedgraph.get_latest_roots(root)] == [root]


def test_valid_nodes(client: Any, world: World) -> None:
    root = world.neuron_root(1)
    assert client.chunkedgraph.is_valid_nodes(root)
    unknown = world.layout.encode(world.layout.n_layers, (0, 0, 0), 99_999)
    assert client.chunkedgraph.is_valid_nodes([root, unknown]).tolist() == [True, False]


def test_suggest_latest_roots_uses_overlap(client: Any, world: World) -> None:
    merged = op_named(world, "merge neuron 2 into neuron 1").after_roots[0]
    cands = world.successor_candidates(merged)
    assert len(cands) == 2 and cands[1][1] > 0.2  # a real second candidate
    got, frac = client.chunkedgraph.suggest_latest_roots(merged, return_fraction_overlap=True)
    assert int(got) == world.successor(merged) == cands[0][0]
    assert frac == pytest.approx(cands[0][1])


def test_split_seventy_thirty(world: World) -> None:
    op = op_named(world, "split piece 'n3_small_part'")
    cands = world.successor_candidates(op.before_roots[0], t=op.timestamp)
    assert [c[0] for c in cands] == list(op.after_roots)
    assert 0.55 <= cands[0][1] <= 0.8 and cands[0][1] + cands[1][1] == pytest.approx(1.0)


def test_unknown_node_ids_are_http_errors(client: Any, world: World) -> None:
    cg = client.chunkedgraph
    unknown_root = world.layout.encode(world.layout.n_layers, (0, 0, 0), 99_999)
    unknown_sv = world.layout.encode(1, (0, 0, 0), 9_999_999)
    with pytest.raises(requests.HTTPError) as e1:
        cg.get_leaves(unknown_root)
    assert e1.value.response.status_code == 404
    with pytest.raises(requests.HTTPError) as e2:
        cg.get_root_id(unknown_sv)
    assert e2.value.response.status_code == 404
    assert e2.value.response.json()["code"] == 404
    with pytest.raises(requests.HTTPError) as e3:
        cg.get_roots([unknown_sv])
    assert e3.value.response.status_code == 400


def test_children_l2_graph_and_oldest_timestamp(client: Any, world: World) -> None:
    cg = client.chunkedgraph
    root = world.neuron_root(0)
    kids = cg.get_children(root)
    assert {int(k) >> 56 for k in kids} == {3}
    below = np.concatenate([cg.get_children(int(k)) for k in kids])
    assert np.array_equal(np.sort(below), world.l2_ids(root))
    edges = np.asarray(cg.level2_chunk_graph(root))
    assert edges.shape[1] == 2 and set(np.unique(edges).tolist()) <= set(world.l2_ids(root).tolist())
    assert cg.get_oldest_timestamp() == utc(world.t0)
