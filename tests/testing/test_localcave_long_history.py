"""LocalCave(long_history=N): one neuron with N extra edits, served and exact for the SDK."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import networkx as nx
import numpy as np
import pytest

from tracertools.testing import LocalCave, World

N_EDITS = 100


@pytest.fixture(scope="module")
def long_cave() -> Iterator[LocalCave]:
    with LocalCave(long_history=N_EDITS, datastack_name="demo_long") as cave:
        yield cave


@pytest.fixture(scope="module")
def long_world(long_cave: LocalCave) -> World:
    return long_cave.world


@pytest.fixture(scope="module")
def long_client(long_cave: LocalCave) -> Any:
    return long_cave.client()


@pytest.fixture(scope="module")
def root(long_world: World) -> int:
    r = long_world.long_history_root
    assert r is not None
    return r


def _main_line(world: World, root: int) -> list[int]:
    """The root's chain back to its original: at each step the parent holding the soma."""
    k = world.long_history_neuron
    assert k is not None
    chain = [root]
    while world.graph.roots[chain[-1]].parents:
        parents = world.graph.roots[chain[-1]].parents
        chain.append(next(p for p in parents if world.neuron_root(k, world.root_timestamp(p)) == p))
    return chain[::-1]


# -- the world -------------------------------------------------------------------------------


def test_long_history_root_has_n_edits_and_a_chain_of_n_plus_one_roots(
    long_world: World, root: int
) -> None:
    w = long_world
    ops = w.edits(root)
    assert len(ops) >= N_EDITS
    chain = _main_line(w, root)
    assert len(chain) == N_EDITS + 1
    assert w.original_roots(root) == [chain[0]]
    assert w.is_latest(root) and not any(w.is_latest(r) for r in chain[:-1])
    assert root == w.neuron_root(w.long_history_neuron or 0)
    # after the script, increasing timestamps, several users, splits and merges alternating
    scripted = [op for op in w.operations if op not in ops]
    assert len(scripted) == 21 and max(o.timestamp for o in scripted) < ops[0].timestamp
    times = [op.timestamp for op in ops]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len({op.user_id for op in ops}) == 5
    assert [op.is_merge for op in ops] == [i % 2 == 1 for i in range(N_EDITS)]
    assert w.long_history_neuron not in w.story.unchanged_neurons


def test_rest_of_the_world_is_unchanged(long_world: World) -> None:
    base = World.cached()
    assert base.long_history_root is None and base.long_history_neuron is None
    assert np.array_equal(long_world.svs.ids, base.svs.ids)
    assert long_world.operations[:21] == base.operations
    assert long_world.story.op_names.items() >= base.story.op_names.items()
    for v in long_world.version_timestamps:
        for name in long_world.tables:
            assert long_world.table(name, version=v).equals(base.table(name, version=v))


def test_ground_truth_along_the_lineage(long_world: World, root: int) -> None:
    w = long_world
    chain = _main_line(w, root)
    original = chain[0]
    # N is even: every piece was merged back, so the root is the whole neuron again
    assert np.array_equal(w.supervoxels(root), w.supervoxels(original))
    assert w.cable_length(root) == pytest.approx(w.cable_length(original))
    assert w.latest_roots(original) == [root]
    assert w.successor_candidates(original) == [(root, 1.0)]
    # halfway, just after a split: the lineage continues through the larger part
    op = w.edits(root)[N_EDITS // 2]
    assert not op.is_merge
    keep, piece = op.after_roots
    cands = w.successor_candidates(op.before_roots[0], t=op.timestamp)
    assert [c[0] for c in cands] == [keep, piece] and cands[0][1] > 0.5
    assert w.latest_roots(original, t=op.timestamp) == sorted([keep, piece])
    assert w.successor(piece) == root
    # tables: the neuron's original root at every version, the final root now
    k = w.long_history_neuron
    assert k is not None
    for v in w.version_timestamps:
        cells = w.table("cell_info", version=v)
        assert int(cells["pt_root_id"].iloc[k]) == original
    assert int(w.table("cell_info")["pt_root_id"].iloc[k]) == root
    l2_now = w.graph.roots_at(w.supervoxels(root), time.time(), stop_layer=2)
    assert set(l2_now.tolist()) == set(w.l2_ids(root).tolist())
    # swamps: as in the world without the long history, that neuron's root renamed
    base = World.cached()
    rename = {base.neuron_root(k): root}
    want = {s: sorted(rename.get(r, r) for r in rs) for s, rs in base.swamp_crossings().items()}
    assert w.swamp_crossings() == want


# -- served endpoints ------------------------------------------------------------------------


def test_tabular_change_log_returns_every_edit(
    long_client: Any, long_world: World, root: int
) -> None:
    cg = long_client.chunkedgraph
    ops = long_world.edits(root)
    log = cg.get_tabular_change_log([root], filtered=False)[root]
    assert len(log) >= N_EDITS
    assert log["operation_id"].tolist() == [op.operation_id for op in ops]
    assert [str(u) for u in log["user_id"]] == [op.user_id for op in ops]
    assert log["is_merge"].tolist() == [op.is_merge for op in ops]
    assert [list(v) for v in log["before_root_ids"]] == [list(op.before_roots) for op in ops]
    assert [list(v) for v in log["after_root_ids"]] == [list(op.after_roots) for op in ops]
    details = cg.get_operation_details([op.operation_id for op in ops])
    assert len(details) == len(ops)
    for op in ops:
        d = details[str(op.operation_id)]
        assert d["roots"] == list(op.after_roots) and d["user"] == op.user_id
    summary = cg.get_change_log(root, filtered=False)
    assert summary["n_mergers"] + summary["n_splits"] == len(ops)


def test_lineage_graph_and_leaves(
    long_client: Any, long_world: World, root: int
) -> None:
    cg = long_client.chunkedgraph
    w = long_world
    g = cg.get_lineage_graph(root, as_nx_graph=True)
    assert isinstance(g, nx.DiGraph)
    assert set(g.nodes) == set(w.graph.ancestors(root)) | {root}
    assert sorted(n for n in g.nodes if g.in_degree(n) == 0) == w.original_roots(root)
    assert nx.shortest_path_length(g, w.original_roots(root)[0], root) == N_EDITS
    assert np.array_equal(np.sort(cg.get_leaves(root)), w.supervoxels(root))
    assert np.array_equal(np.sort(cg.get_leaves(root, stop_layer=2)), w.l2_ids(root))
    piece = w.edits(root)[-2].after_roots[1]
    assert np.array_equal(np.sort(cg.get_leaves(piece)), w.supervoxels(piece))
    assert cg.get_latest_roots(piece).tolist() == [root]
    t = dt.datetime.fromtimestamp(w.version_timestamps[3], dt.timezone.utc)
    sv = int(w.supervoxels(root)[0])
    assert int(cg.get_root_id(sv, timestamp=t)) == w.original_roots(root)[0]


# -- the SDK ---------------------------------------------------------------------------------


def test_user_contributions_equal_ground_truth(
    long_cave: LocalCave, long_world: World, root: int
) -> None:
    got = long_cave.datastack().segment(root).user_contributions()
    want = long_world.user_sv_credit(root)
    assert {str(k): int(v) for k, v in got.items()} == want
    assert len(want) == 5 and sum(want.values()) > 0


def test_original_ids_equal_ground_truth(
    long_cave: LocalCave, long_world: World, root: int
) -> None:
    got = long_cave.datastack().segment(root).original_ids()
    assert [int(r) for r in got] == long_world.original_roots(root)


def test_current_ids_of_stale_roots_equal_successor(
    long_cave: LocalCave, long_world: World, root: int
) -> None:
    stale = long_world.graph.ancestors(root)
    assert len(stale) > N_EDITS
    got = long_cave.datastack().segments(stale).current_ids()
    assert [int(r) for r in got] == [long_world.successor(r) for r in stale]
    assert set(got.tolist()) == {root}


def test_long_history_needs_a_spare_unedited_neuron() -> None:
    with pytest.raises(ValueError, match="n_neurons"):
        World(n_neurons=7, long_history=4)
    with pytest.raises(ValueError, match="long_history"):
        World(long_history=-1)
