"""L2 cache, skeleton service, state service and cloud-volume against LocalCave."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import requests

from tracertools.testing import LocalCave, World


def edge_length(vertices: np.ndarray, edges: np.ndarray) -> float:
    v = np.asarray(vertices, dtype=float)
    e = np.asarray(edges, dtype=int)
    return float(np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1).sum())


# -- L2 cache ------------------------------------------------------------------------------


def test_l2data_volume_equals_ground_truth(client: Any, world: World) -> None:
    assert client.l2cache.has_cache()
    for k in (0, 2, 6):
        root = world.neuron_root(k)
        l2 = client.chunkedgraph.get_leaves(root, stop_layer=2)
        data = client.l2cache.get_l2data(l2, attributes=["size_nm3"])
        assert sum(d["size_nm3"] for d in data.values()) == world.volume_nm3(root)
    full = client.l2cache.get_l2data(l2[:1])
    rec = next(iter(full.values()))
    assert set(rec) == {
        "area_nm2", "chunk_intersect_count", "max_dt_nm", "mean_dt_nm",
        "pca", "pca_val", "rep_coord_nm", "size_nm3",
    }
    assert np.array(rec["pca"]).shape == (3, 3) and np.array(rec["chunk_intersect_count"]).shape == (2, 3)
    missing = client.l2cache.get_l2data([int(world.svs.ids[0])])
    assert missing == {str(int(world.svs.ids[0])): {}}


def test_l2_ids_are_stable_across_edits(world: World) -> None:
    """Chunks an edit did not touch keep their L2 IDs (new nodes only where svs changed)."""
    op = next(o for o in world.operations if o.is_merge and world.story.op_names[o.operation_id].startswith("merge fragment"))
    before = set().union(*(set(world.l2_ids(r).tolist()) for r in op.before_roots))
    after = set(world.l2_ids(op.after_roots[0]).tolist())
    assert before & after
    assert after - before  # the touched chunk got a new node


# -- skeletons -----------------------------------------------------------------------------


def test_get_skeleton_dict_and_swc(client: Any, world: World) -> None:
    root = world.neuron_root(0)
    sk = client.skeleton.get_skeleton(root)
    assert edge_length(sk["vertices"], sk["edges"]) == pytest.approx(world.cable_length(root), rel=1e-12)
    assert sorted(sk["lvl2_ids"].tolist()) == world.l2_ids(root).tolist()
    assert len(sk["radius"]) == len(sk["vertices"])
    swc = client.skeleton.get_skeleton(root, output_format="swc")
    xyz = swc[["x", "y", "z"]].to_numpy()
    child = swc["parent"].to_numpy() >= 0
    edges = np.stack([swc["id"].to_numpy()[child], swc["parent"].to_numpy()[child]], axis=1)
    assert edge_length(xyz, edges) == pytest.approx(world.cable_length(root), rel=1e-9)


def test_merged_skeleton_joins_both_neurons(world: World) -> None:
    op = next(o for o in world.operations if o.skeleton_link is not None)
    a, b = op.before_roots
    merged = op.after_roots[0]
    la, lb, lm = (world.cable_length(r) for r in (a, b, merged))
    link = world.trees.pos_nm[list(op.skeleton_link)]
    assert lm == pytest.approx(la + lb + float(np.linalg.norm(link[0] - link[1])))


def test_bulk_skeletons_generate_and_exists(client: Any, world: World) -> None:
    roots = [world.neuron_root(k) for k in (1, 6)]  # skeletonized before the newest version
    bulk = client.skeleton.get_bulk_skeletons(roots)
    assert set(bulk) == {str(r) for r in roots}
    for r in roots:
        sk = bulk[str(r)]
        assert edge_length(sk["vertices"], sk["edges"]) == pytest.approx(world.cable_length(r))
    swc = client.skeleton.get_bulk_skeletons(roots, output_format="swc")
    assert len(swc[str(roots[0])]) == len(world.skeleton(roots[0]).vertices)
    eta = client.skeleton.generate_bulk_skeletons_async(roots, skeleton_version=4)
    assert isinstance(eta, float)
    assert client.skeleton.skeletons_exist(root_ids=roots) == {r: True for r in roots}
    assert client.skeleton.skeletons_exist(root_ids=roots[0]) is True


def test_skeleton_eta_control(cave: LocalCave) -> None:
    cave.set_skeleton_eta(60)
    # a root-layer ID with no skeleton: upstream counts it without checking that it exists
    unknown = 2**56 * 4 + 999_999
    eta = cave.client().skeleton.generate_bulk_skeletons_async([unknown], skeleton_version=4)
    assert eta == 60.0


# -- state service -------------------------------------------------------------------------


def test_state_round_trip_and_link(cave: LocalCave) -> None:
    client = cave.client()
    state = {"layers": [{"type": "segmentation", "name": "seg"}], "position": [1, 2, 3]}
    sid = client.state.upload_state_json(state)
    assert client.state.get_state_json(sid) == state
    url = client.state.build_neuroglancer_url(sid)
    assert url.startswith(cave.viewer_url) and str(sid) in url
    assert cave.stats["viewer_version"] == 1  # the probe stayed on loopback
    cave.reset()
    with pytest.raises(requests.HTTPError) as err:
        client.state.get_state_json(sid)
    assert err.value.response.status_code == 404


# -- cloud-volume --------------------------------------------------------------------------


def test_cloudvolume_download_point(cave_m: LocalCave, world: World) -> None:
    cv = cave_m.cloudvolume()
    root = world.neuron_root(3)
    for sv in world.supervoxels(root)[:3].tolist():
        idx = int(world.graph.sv_index(np.array([sv], dtype=np.uint64))[0])
        vox = world.svs.rep_voxel[idx]
        assert world.supervoxel_at(vox) == sv
        assert int(cv.download_point(vox, size=1, agglomerate=False)[0, 0, 0, 0]) == sv
        assert int(cv.download_point(vox, size=1, agglomerate=True)[0, 0, 0, 0]) == root
    cut = cv.download(cv.bounds, agglomerate=False)
    assert cut.shape[:3] == tuple(world.shape)
    assert np.array_equal(np.unique(cut), np.r_[0, np.sort(world.svs.ids)])


def test_caveclient_segmentation_cloudvolume(client: Any, world: World) -> None:
    cv = client.info.segmentation_cloudvolume(progress=False)
    assert cv.meta.n_layers == world.layout.n_layers
    root = world.neuron_root(0)
    assert cv.meta.decode_layer_id(root) == cv.meta.n_layers


def test_swamp_and_neuron_meshes(cave_m: LocalCave, world: World) -> None:
    from cloudvolume import CloudVolume

    swamp = CloudVolume(cave_m.swamp_url, progress=False)
    for sid in world.swamps:
        mesh = swamp.mesh.get(sid)
        verts, faces = world.swamps[sid]
        assert np.allclose(np.sort(mesh.vertices, axis=0), np.sort(verts, axis=0))
        assert len(mesh.faces) == len(faces)
    crossings = world.swamp_crossings()
    assert crossings[1] and not crossings[3]
    assert world.neuron_root(0) in crossings[1]
    root = world.neuron_root(2)
    mesh = CloudVolume(cave_m.neuron_mesh_url, progress=False).mesh.get(root)
    assert len(mesh.faces) > 0
