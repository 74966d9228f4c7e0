"""ScaleWorld chunkedgraph through the real caveclient and cloud-volume, checked against the
ground truth on random samples (fresh and stale roots, supervoxels, the giant neuron and a
5,000-edit neuron)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
import requests

from tracertools.testing import LocalCave, ScaleWorld

UTC = dt.timezone.utc


def _edited(world: ScaleWorld, n: int, seed: int, max_ops: int = 50, max_svs: int = 10**9) -> list[int]:
    """``n`` random edited neurons with at most ``max_ops`` edits and ``max_svs`` supervoxels."""
    rng = np.random.default_rng(seed)
    cand = rng.choice(world.n_neurons, 40 * n, replace=False)
    n_sv, _, n_ops = world.graph.sc.of(cand)
    ok = (n_ops > 0) & (n_ops <= max_ops) & (n_sv <= max_svs)
    return [int(k) for k in cand[ok][:n]]


def _stale_root(world: ScaleWorld, k: int, rng: np.random.Generator) -> int:
    roots = world.neuron_roots(k)
    stale = roots[np.isfinite(roots.superseded)]
    return int(stale.root_id.iloc[int(rng.integers(len(stale)))])


def test_freshness_and_latest_roots_of_a_random_sample(scale_client: Any, scale_world: ScaleWorld) -> None:
    rng = np.random.default_rng(1)
    neurons = _edited(scale_world, 12, seed=1)
    stale = [_stale_root(scale_world, k, rng) for k in neurons]
    fresh = [scale_world.neuron_root(k) for k in neurons]
    cg = scale_client.chunkedgraph
    assert cg.is_latest_roots(stale + fresh).tolist() == [False] * len(stale) + [True] * len(fresh)
    stamps = cg.get_root_timestamps(stale)
    assert [s.timestamp() for s in stamps] == pytest.approx([scale_world.root_timestamp(r) for r in stale])
    for r in stale[:6]:
        assert sorted(cg.get_latest_roots(r).tolist()) == scale_world.latest_roots(r)
        assert int(cg.suggest_latest_roots(r)) in scale_world.latest_roots(r)


def test_successor_shares_match_the_servers_supervoxels(scale_client: Any, scale_world: ScaleWorld) -> None:
    rng = np.random.default_rng(2)
    cg = scale_client.chunkedgraph
    split = 0
    for k in _edited(scale_world, 4, seed=2, max_svs=30_000):
        stale = _stale_root(scale_world, k, rng)
        svs = cg.get_leaves(stale)
        uniq, counts = np.unique(cg.get_roots(svs), return_counts=True)
        order = sorted(range(len(uniq)), key=lambda i: (-counts[i], int(uniq[i])))
        truth = scale_world.successor_candidates(stale)
        assert [int(uniq[i]) for i in order] == [r for r, _ in truth]
        assert [counts[i] / len(svs) for i in order] == pytest.approx([f for _, f in truth])
        split += len(truth) > 1
    assert split  # the sample holds a stale root whose supervoxels went to several roots


def test_supervoxel_lookups_now_and_at_a_version(scale_client: Any, scale_world: ScaleWorld) -> None:
    rng = np.random.default_rng(3)
    svs = []
    for k in _edited(scale_world, 10, seed=3, max_svs=40_000) + [int(k) for k in rng.choice(100_000, 10)]:
        pool = scale_world.supervoxels(_stale_root(scale_world, k, rng) if scale_world.edited(k)
                                       else scale_world.neuron_root(k))
        svs += [int(v) for v in rng.choice(pool, 5)]
    cg = scale_client.chunkedgraph
    assert cg.get_roots(svs).tolist() == scale_world.root_of(svs).tolist()
    t2 = scale_world.version_timestamps[2]
    at_v2 = cg.get_roots(svs, timestamp=dt.datetime.fromtimestamp(t2, UTC))
    assert at_v2.tolist() == scale_world.root_of(svs, t2).tolist()
    assert at_v2.tolist() != cg.get_roots(svs).tolist()  # the sample has edits after version 2
    l2 = cg.get_roots(svs, stop_layer=2)
    assert cg.get_roots(l2).tolist() == scale_world.root_of(svs).tolist()


def test_leaves_of_a_sample_of_roots(scale_client: Any, scale_world: ScaleWorld) -> None:
    rng = np.random.default_rng(4)
    cg = scale_client.chunkedgraph
    roots = [scale_world.neuron_root(int(k)) for k in rng.choice(100_000, 3)]
    for r in roots:
        assert np.array_equal(np.sort(cg.get_leaves(r)), scale_world.supervoxels(r).astype(np.int64))
    many = cg.get_leaves_many(roots, stop_layer=2)
    assert {int(r): sorted(v.tolist()) for r, v in many.items()} == {
        r: scale_world.l2_ids(r).astype(np.int64).tolist() for r in roots
    }


def test_the_giant_neuron_has_1_5_million_supervoxels_and_a_too_large_lookup_gets_413(
    scale_cave: LocalCave, scale_client: Any, scale_world: ScaleWorld
) -> None:
    root = scale_world.neuron_root(scale_world.giant_neurons[0])
    cg = scale_client.chunkedgraph
    leaves = cg.get_leaves(root)
    assert len(leaves) == 1_500_000
    assert np.array_equal(np.sort(leaves), scale_world.supervoxels(root).astype(np.int64))
    assert set(cg.get_roots(leaves[:1_000_000]).tolist()) == {root}  # 8 MB: under the limit
    with pytest.raises(requests.HTTPError) as err:
        cg.get_roots(leaves)  # 12 MB in one request
    assert err.value.response.status_code == 413
    assert scale_cave.limit_hits["body_too_large"] == 1


def test_the_5000_edit_neuron_history(scale_client: Any, scale_world: ScaleWorld) -> None:
    k = scale_world.long_history_neurons[0]
    root = scale_world.neuron_root(k)
    edits = scale_world.edits(root)
    assert len(edits) == 5_000
    cg = scale_client.chunkedgraph
    log = cg.get_tabular_change_log([root], filtered=False)[root]
    assert log["operation_id"].tolist() == [op.operation_id for op in edits]
    assert log["is_merge"].tolist() == [op.is_merge for op in edits]
    assert log["user_name"].tolist() == [scale_world.user_info(op.user_id)[0] for op in edits]
    graph = cg.get_lineage_graph(root, as_nx_graph=True)
    assert set(scale_world.graph.ancestors(root)) | {root} <= set(graph.nodes)
    assert sorted(cg.get_original_roots(root).tolist()) == scale_world.original_roots(root)
    details = cg.get_operation_details([edits[0].operation_id, edits[-1].operation_id])
    assert details[str(edits[-1].operation_id)]["roots"] == list(edits[-1].after_roots)


def test_user_credit_matches_supervoxel_sets_from_the_server(scale_client: Any, scale_world: ScaleWorld) -> None:
    cg = scale_client.chunkedgraph
    k = next(k for k in _edited(scale_world, 30, seed=5, max_ops=8, max_svs=25_000)
             if len(scale_world.edits(scale_world.neuron_root(k))) >= 3)
    root = scale_world.neuron_root(k)
    log = cg.get_tabular_change_log([root], filtered=False)[root]
    svs: dict[int, set[int]] = {}

    def sv(r: int) -> set[int]:
        if r not in svs:
            svs[r] = set(cg.get_leaves(r).tolist())
        return svs[r]

    final = sv(root)
    credit: dict[str, set[int]] = {}
    for row in log.itertuples():
        got = credit.setdefault(str(row.user_id), set())
        if row.is_merge:
            a, b = row.before_root_ids
            small = a if (len(sv(a)), -a) < (len(sv(b)), -b) else b
            got |= sv(small) & final
        else:
            cont = max(row.after_root_ids, key=lambda r: (len(final & sv(r)), r))
            got |= sv(row.before_root_ids[0]) - sv(cont) - final
    assert {u: len(s) for u, s in sorted(credit.items())} == scale_world.user_sv_credit(root)


def test_unknown_ids_are_refused(scale_client: Any, scale_world: ScaleWorld) -> None:
    cg = scale_client.chunkedgraph
    k = next(k for k in range(100) if not scale_world.edited(k))
    never = scale_world.graph.root_id(k, 1)  # an unedited neuron has only root 0
    assert cg.is_latest_roots([never]).tolist() == [False]
    with pytest.raises(requests.HTTPError) as err:
        cg.get_leaves(never)
    assert err.value.response.status_code == 404
    assert cg.is_valid_nodes([never, scale_world.neuron_root(k)]).tolist() == [False, True]


def test_soma_points_resolve_through_cloud_volume(scale_cave: LocalCave, scale_world: ScaleWorld) -> None:
    cv = scale_cave.cloudvolume()
    k = 777
    plan = scale_world.plan(k)
    vox = scale_world.geometry.soma_voxel(plan)
    sv = cv.download_point(vox, size=1, mip=0, agglomerate=False)
    assert int(np.asarray(sv).ravel()[0]) == int(scale_world.graph.sv_ids(k, np.array([0]), np.array([0]))[0])
    root = cv.download_point(vox, size=1, mip=0, agglomerate=True)
    assert int(np.asarray(root).ravel()[0]) == scale_world.neuron_root(k)


def test_the_vectorized_change_log_equals_the_generic_one(scale_world: ScaleWorld) -> None:
    from tracertools.testing._worldapi import tabular_change_log

    for k in _edited(scale_world, 5, seed=6, max_ops=30):
        root = scale_world.neuron_root(k)
        for filtered in (True, False):
            fast = scale_world.tabular_change_log(root, filtered)
            assert fast.equals(tabular_change_log(scale_world, root, filtered))
