"""The ngl-family legacy shims: original names, arguments, defaults and return shapes."""

from __future__ import annotations

import inspect
import json
from urllib.parse import quote

import numpy as np
import pytest

from tracertools.errors import InvalidInputError, InvalidSegmentIdError, InvalidStateError
from tracertools.legacy import _ngl as shims
from tracertools.ngl import State

BANC = "brain_and_nerve_cord"
FLYWIRE = "flywire_fafb_production"
RES = np.array([4.0, 4.0, 45.0])


def _ball(centre_nm, radius_nm, n=100):
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    unit = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)
    return np.vstack([np.asarray(centre_nm) + radius_nm * unit, [centre_nm]])


def _point_file(tmp_path, layers, name="state.json"):
    """A downloaded state file with point layers ``{name: points in voxels at 4x4x45}``."""
    dims = {"x": [4e-9, "m"], "y": [4e-9, "m"], "z": [4.5e-8, "m"]}
    state = {"dimensions": dims, "layers": [
        {"type": "annotation", "name": n, "tool": "annotatePoint",
         "source": {"url": "local://annotations", "transform": {"outputDimensions": dims}},
         "annotations": [{"type": "point", "id": f"{n}{i}", "point": list(p)}
                         for i, p in enumerate(pts)]}
        for n, pts in layers.items()]}
    path = tmp_path / name
    path.write_text(json.dumps(state))
    return path


def test_every_shim_says_what_it_stands_for():
    for name in shims.__all__:
        doc = inspect.getdoc(getattr(shims, name))
        assert doc and doc.startswith("Legacy shim for "), name


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("get_json_state_from_url", ["datastack", "share_url"]),
        ("get_anno_array_from_state_file", ["layer_name", "json_path"]),
        ("get_anno_array_from_json_state_file", ["layer_name", "json_path"]),
        ("make_anno_layer", ["datastack", "annotations", "layer_type", "layer_name",
                             "descriptions", "linked_segs", "linked_seg_layer_name"]),
        ("make_ng_link", ["datastack", "seg_ids", "anno_layers", "region_meshes", "seg_colors",
                          "viewer_site", "custom_mesh_source", "custom_mesh_name",
                          "custom_mesh_color", "view_coords", "long_url", "translucent_seg"]),
        ("make_edits_link", ["datastack", "seg_id", "separate_layers"]),
        ("make_mesh_from_points", ["datastack", "share_url", "bucket_path", "alphas",
                                   "auto_grow", "save_objs", "obj_path", "print_alphas"]),
        ("make_objs_from_state_file", ["datastack", "json_path", "output_path"]),
        ("make_point_cloud_from_state_file", ["datastack", "json_path", "layer_name",
                                              "output_path"]),
        ("make_volume_mesh_from_state_file", ["datastack", "json_path", "layer_name",
                                              "output_filepath", "export_obj"]),
    ],
)
def test_shims_keep_the_original_parameters(name, params):
    assert list(inspect.signature(getattr(shims, name)).parameters) == params


# -- states ------------------------------------------------------------------------------------


def test_get_json_state_from_url_returns_the_stored_dict(local_cave):
    ds = local_cave.datastack()
    url = ds.shorten({"layers": [], "title": "stored"})
    assert shims.get_json_state_from_url(ds, url + "/") == {
        "layers": [], "title": "stored"}


@pytest.mark.parametrize("name", ["get_anno_array_from_state_file",
                                  "get_anno_array_from_json_state_file"])
def test_anno_arrays_keep_the_json_numbers(tmp_path, name):
    path = _point_file(tmp_path, {"ints": [[1, 2, 3], [4, 5, 6]], "floats": [[1.5, 2, 3]]})
    ints = getattr(shims, name)("ints", str(path))
    assert ints.tolist() == [[1, 2, 3], [4, 5, 6]] and ints.dtype.kind == "i"
    assert getattr(shims, name)("floats", str(path)).dtype.kind == "f"


def _raw_state_file(tmp_path, layer, dims=None, name="raw.json"):
    state = {"layers": [layer]}
    if dims is not None:
        state["dimensions"] = dims
    path = tmp_path / name
    path.write_text(json.dumps(state))
    return path


def test_anno_array_keeps_every_coordinate_of_4d_points(tmp_path):
    path = _raw_state_file(tmp_path, {"type": "annotation", "name": "t", "annotations": [
        {"type": "point", "point": [1, 2, 3, 7]}, {"type": "point", "point": [4, 5, 6, 8]}]})
    points = shims.get_anno_array_from_state_file("t", str(path))
    assert points.tolist() == [[1, 2, 3, 7], [4, 5, 6, 8]] and points.dtype.kind == "i"


def test_anno_array_takes_points_without_a_type_key(tmp_path):
    path = _raw_state_file(tmp_path, {"type": "annotation", "name": "p", "annotations": [
        {"point": [1.5, 2, 3]}, {"point": [4, 5, 6], "id": "x"}]})
    assert shims.get_anno_array_from_state_file("p", str(path)).tolist() == [[1.5, 2, 3],
                                                                             [4, 5, 6]]


def test_anno_array_of_an_empty_layer_has_shape_0(tmp_path):
    path = _raw_state_file(tmp_path, {"type": "annotation", "name": "e", "annotations": []})
    assert shims.get_anno_array_from_json_state_file("e", str(path)).shape == (0,)


def test_state_file_points_use_the_states_own_dimensions(tmp_path):
    import trimesh

    # kept fix: a state saved at 8 x 8 x 90 nm per voxel, read for BANC (4 x 4 x 45)
    dims = {"x": [8e-9, "m"], "y": [8e-9, "m"], "z": [9e-8, "m"]}
    path = _raw_state_file(tmp_path, {"type": "annotation", "name": "p", "annotations": [
        {"type": "point", "point": [1, 2, 3]}, {"type": "point", "point": [4, 5, 6]}]}, dims)
    target = tmp_path / "cloud.obj"
    shims.make_point_cloud_from_state_file(BANC, str(path), "p", str(target))
    cloud = trimesh.load(target, process=False)
    assert np.asarray(cloud.vertices).tolist() == [[8, 16, 270], [32, 40, 540]]


def test_state_file_points_are_truncated_to_whole_nm_as_the_original(tmp_path):
    import trimesh

    path = _point_file(tmp_path, {"pts": [[1.5, 2.25, 3.3]]})
    target = tmp_path / "cloud.obj"
    shims.make_point_cloud_from_state_file("demo", str(path), "pts", str(target))
    # 3.3 voxels x 45 nm is 148.5 nm; int(3.3 / (1 / 45)) is 148
    assert np.asarray(trimesh.load(target, process=False).vertices).tolist() == [[6, 9, 148]]


def test_anno_array_of_a_missing_layer_is_an_invalid_state(tmp_path):
    path = _point_file(tmp_path, {"pts": [[1, 2, 3]]})
    with pytest.raises(InvalidStateError, match="no layer 'other'"):
        shims.get_anno_array_from_state_file("other", str(path))


def test_anno_array_of_a_line_layer_is_an_invalid_state(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text(json.dumps({"layers": [{"type": "annotation", "name": "l", "annotations": [
        {"type": "line", "pointA": [0, 0, 0], "pointB": [1, 1, 1]}]}]}))
    with pytest.raises(InvalidStateError, match="not a point layer"):
        shims.get_anno_array_from_state_file("l", str(path))


# -- layers and links --------------------------------------------------------------------------


def test_make_anno_layer_ids_are_unique_across_layers():
    a = shims.make_anno_layer(BANC, [[1, 2, 3], [4, 5, 6]], "point", "a")
    b = shims.make_anno_layer(BANC, [[1, 2, 3], [4, 5, 6]], "point", "b")
    ids = [x["id"] for x in a["annotations"] + b["annotations"]]
    assert len(set(ids)) == 4


def test_make_anno_layer_links_one_segment_as_a_flat_list():
    layer = shims.make_anno_layer(BANC, [[[0, 0, 0], [1, 1, 1]]], "line", "l",
                                  descriptions=["d"], linked_segs=[720575940000000001],
                                  linked_seg_layer_name="Segmentation")
    (annotation,) = layer["annotations"]
    assert annotation["segments"] == ["720575940000000001"]  # the original's ["id"]
    assert annotation["description"] == "d"
    assert layer["linkedSegmentationLayer"] == {"segments": "Segmentation"}
    assert layer["filterBySegmentation"] == ["segments"]


def test_make_anno_layer_links_a_list_of_segments_as_a_nested_list():
    layer = shims.make_anno_layer(BANC, [[1, 2, 3]], "point", "p", linked_segs=[[5, "6"]],
                                  linked_seg_layer_name="Segmentation")
    assert layer["annotations"][0]["segments"] == [["5", "6"]]


def test_make_anno_layer_keeps_the_original_key_order_and_numbers():
    layer = shims.make_anno_layer(BANC, [[[1, 2.5, 3], np.array([4, 5, 6])]], "bbox", "b",
                                  descriptions=["box"], linked_segs=[7],
                                  linked_seg_layer_name="Seg")
    assert list(layer) == ["annotations", "name", "source", "tab", "type",
                           "linkedSegmentationLayer", "filterBySegmentation"]
    (annotation,) = layer["annotations"]
    assert list(annotation) == ["pointA", "pointB", "type", "id", "description", "segments"]
    assert annotation["type"] == "axis_aligned_bounding_box"
    assert annotation["pointA"] == [1, 2.5, 3] and [type(v) for v in annotation["pointA"]] == [
        int, float, int]
    assert annotation["pointB"] == [4, 5, 6] and all(type(v) is int for v in annotation["pointB"])
    assert layer["source"] == {"transform": {"outputDimensions": {
        "x": [4 * 1e-9, "m"], "y": [4 * 1e-9, "m"], "z": [45 * 1e-9, "m"]}},
        "url": "local://annotations"}
    assert (layer["name"], layer["tab"], layer["type"]) == ("b", "annotations", "annotation")


def test_make_anno_layer_accepts_segment_0():
    layer = shims.make_anno_layer(BANC, [[1, 2, 3]], "point", "p", linked_segs=[0],
                                  linked_seg_layer_name="Segmentation")
    assert layer["annotations"][0]["segments"] == ["0"]


@pytest.mark.parametrize("bad", [-1, "abc", 1.5])
def test_make_anno_layer_refuses_a_segment_id_no_viewer_can_read(bad):
    with pytest.raises(InvalidSegmentIdError):
        shims.make_anno_layer(BANC, [[1, 2, 3]], "point", "p", linked_segs=[bad],
                              linked_seg_layer_name="Segmentation")


@pytest.mark.parametrize("point", [[1, 2, 3, 4], [1, float("nan"), 3]])
def test_make_anno_layer_refuses_points_that_are_not_three_finite_numbers(point):
    with pytest.raises(InvalidInputError, match="annotation 0"):
        shims.make_anno_layer(BANC, [point], "point", "p")


def test_make_anno_layer_ignores_extra_descriptions_as_the_original(caplog):
    with caplog.at_level("WARNING", logger="tracertools.legacy"):
        layer = shims.make_anno_layer(BANC, [[1, 2, 3]], "point", "p", descriptions=["a", "b"])
    assert [a["description"] for a in layer["annotations"]] == ["a"]
    assert "extra ones are ignored" in caplog.text


def test_make_anno_layer_refuses_fewer_descriptions_than_annotations():
    with pytest.raises(InvalidInputError, match="descriptions has 1 entries for 2"):
        shims.make_anno_layer(BANC, [[1, 2, 3], [4, 5, 6]], "point", "p", descriptions=["a"])


def test_make_anno_layer_needs_the_linked_layer_name():
    with pytest.raises(InvalidInputError, match="linked_seg_layer_name"):
        shims.make_anno_layer(BANC, [[1, 2, 3]], "point", "p", linked_segs=[1])


def test_make_anno_layer_refuses_an_unknown_type():
    with pytest.raises(InvalidInputError, match="layer_type"):
        shims.make_anno_layer(BANC, [[1, 2, 3]], "dot", "p")


def _long_state(url):
    """A long link's state, keys in the order the link holds them."""
    from urllib.parse import unquote

    return json.loads(unquote(url.split("#!", 1)[1]))


A, B = 720575940000000001, 720575940000000002
BANC_EM = "precomputed://gs://seunglab_lee_fly_cns_001_alignment/aligned/v0"
BANC_SEG = "graphene://middleauth+https://cave.fanc-fly.com/segmentation/table/wclee_fly_cns_001"
BANC_REGIONS = "precomputed://gs://lee-lab_brain-and-nerve-cord-fly-connectome/region_outlines"
FLY_EM = "precomputed://gs://flywire_em/aligned/v1"
FLY_SEG = "graphene://https://prodv1.flywire-daf.com/segmentation/1.0/fly_v31"
FLY_REGIONS = "precomputed://gs://flywire_neuropil_meshes/whole_neuropil/brain_mesh_v141.surf"
MESH = "https://host.example/tracers/vol|neuroglancer-precomputed:"


def test_make_ng_link_long_url_is_the_original_state_for_banc():
    url = shims.make_ng_link(BANC, seg_ids=[A, B, A], region_meshes=True,
                             seg_colors=["#FF0000", "#00ffff"], custom_mesh_source=MESH,
                             custom_mesh_name="Mesh", custom_mesh_color="#FF7800",
                             view_coords=[123757, 180557, 4582], long_url=True,
                             translucent_seg=True)
    want = {
        "dimensions": {"x": [4 * 1e-9, "m"], "y": [4 * 1e-9, "m"], "z": [45 * 1e-9, "m"]},
        "position": [123757, 180557, 4582],
        "crossSectionScale": 4.12,
        "projectionOrientation": [0, 1, 0, 0],
        "projectionScale": 360849,
        "layers": [
            {"type": "image", "name": "EM", "source": BANC_EM, "tab": "source"},
            {"type": "segmentation", "name": "Segmentation", "source": BANC_SEG,
             "segments": [str(A), str(B), str(A)], "tab": "segments", "objectAlpha": 0.99,
             "segmentColors": {str(A): "#FF0000", str(B): "#00ffff"}},
            {"type": "segmentation", "name": "Region Outlines", "source": BANC_REGIONS,
             "segments": [1], "segmentColors": {"1": "#f0f2f4"}, "objectAlpha": 0.35,
             "meshSilhouetteRendering": 2},
            {"type": "segmentation", "name": "Mesh", "source": MESH, "segments": [1],
             "segmentColors": {"1": "#FF7800"}},
        ],
        "showSlices": False,
        "layout": "xy-3d",
    }
    assert json.dumps(_long_state(url)) == json.dumps(want)  # key order included
    assert url == "https://spelunker.cave-explorer.org/#!" + quote(
        json.dumps(want, separators=(",", ":")))


def test_make_ng_link_modern_state_loads_in_neuroglancer(neuroglancer_loads):
    layer = shims.make_anno_layer(BANC, [[1, 2, 3]], "point", "p", linked_segs=[A],
                                  linked_seg_layer_name="Segmentation")
    state = _long_state(shims.make_ng_link(BANC, seg_ids=[A, 0], anno_layers=[layer],
                                           region_meshes=True, custom_mesh_source=MESH,
                                           long_url=True))
    loaded = neuroglancer_loads(state)
    assert [x["name"] for x in loaded["layers"]] == ["EM", "Segmentation", "p",
                                                      "Region Outlines", "Custom Mesh"]
    assert loaded["layers"][3]["segments"] == ["1"]
    # neuroglancer itself writes one linked segment as the original did: a flat list
    assert loaded["layers"][2]["annotations"][0]["segments"] == [str(A)]


def test_make_ng_link_keeps_segment_0_and_repeated_ids():
    state = _long_state(shims.make_ng_link(BANC, seg_ids=[0, A, A], long_url=True))
    assert state["layers"][1]["segments"] == ["0", str(A), str(A)]


def test_make_ng_link_refuses_a_segment_id_no_viewer_can_read():
    with pytest.raises(InvalidSegmentIdError):
        shims.make_ng_link(BANC, seg_ids=[A, -1], long_url=True)


def test_make_ng_link_numpy_ids_and_coordinates_become_json():
    url = shims.make_ng_link(BANC, seg_ids=[np.int64(A)], seg_colors=["#ff0000"],
                             view_coords=np.array([1, 2, 3]), long_url=True)
    state = State.from_url(url)
    assert state.segment_colors() == {A: "#ff0000"}
    assert state.position.tolist() == [1, 2, 3]


def test_make_ng_link_for_flywire_is_the_legacy_state_its_viewer_reads():
    layer = shims.make_anno_layer(FLYWIRE, [[1, 2, 3]], "point", "p", linked_segs=[[A, B]],
                                  linked_seg_layer_name="Segmentation")
    url = shims.make_ng_link(FLYWIRE, seg_ids=[A], anno_layers=[layer], region_meshes=True,
                             custom_mesh_source=MESH, view_coords=[5, 6, 7], long_url=True)
    assert url.startswith("https://ngl.flywire.ai/#!")
    state = _long_state(url)
    ann_id = state["layers"][2]["annotations"][0]["id"]
    want = {
        "layers": [
            {"type": "image", "name": "EM", "source": FLY_EM, "tab": "source"},
            {"type": "segmentation_with_graph", "name": "Segmentation", "source": FLY_SEG,
             "segments": [str(A)], "tab": "segments"},
            # kept fix: the annotation layer in the legacy form the Seung-lab viewer reads
            {"annotations": [{"point": [1, 2, 3], "type": "point", "id": ann_id,
                              "segments": [str(A), str(B)]}],
             "name": "p", "tab": "annotations", "type": "annotation",
             "linkedSegmentationLayer": "Segmentation", "filterBySegmentation": True,
             "voxelSize": [4, 4, 40]},
            {"type": "segmentation_with_graph", "name": "Region Outlines", "source": FLY_REGIONS,
             "segments": [1], "segmentColors": {"1": "#808080"}, "objectAlpha": 0.2,
             "meshSilhouetteRendering": 2},
            {"type": "segmentation_with_graph", "name": "Custom Mesh",
             "source": "precomputed://https://host.example/tracers/vol", "segments": [1],
             "segmentColors": {"1": "#6DB86B"}},
        ],
        # kept fix: voxelSize a list and voxelCoordinates spelled right, under pose.position
        "navigation": {"pose": {"position": {"voxelSize": [4, 4, 40],
                                             "voxelCoordinates": [5, 6, 7]}},
                       "zoomFactor": 13.2},
        "showDefaultAnnotations": False,
        "perspectiveOrientation": [0, 0, 0, -1],
        "perspectiveZoom": 9600,
        "showSlices": False,
        "layout": "xy-3d",
    }
    assert json.dumps(state) == json.dumps(want)


def test_make_ng_link_for_flywire_without_a_custom_mesh_does_not_crash():
    state = State.from_url(shims.make_ng_link(FLYWIRE, seg_ids=[720575940600000001],
                                              long_url=True))
    assert state.position.tolist() == [131071, 147456, 3505]


def test_make_ng_link_for_flywire_at_another_viewer_site_stays_legacy():
    url = shims.make_ng_link(FLYWIRE, viewer_site="https://viewer.example/ngl/", long_url=True)
    assert url.startswith("https://viewer.example/ngl/#!")
    state = _long_state(url)
    assert "navigation" in state and "dimensions" not in state
    assert state["layers"][1]["type"] == "segmentation_with_graph"


def test_make_ng_link_for_a_seung_lab_viewer_site_writes_the_legacy_format():
    state = _long_state(shims.make_ng_link(BANC, viewer_site="https://ngl.flywire.ai",
                                           long_url=True))
    assert state["navigation"]["pose"]["position"]["voxelSize"] == [4, 4, 45]
    assert state["layers"][1]["type"] == "segmentation_with_graph"


def test_make_ng_link_for_manc_leaves_out_a_missing_position():
    url = shims.make_ng_link("male_adult_nerve_cord", region_meshes=True,
                             viewer_site="https://neuroglancer-demo.appspot.com", long_url=True)
    state = _long_state(url)
    assert list(state) == ["dimensions", "crossSectionScale", "projectionOrientation",
                           "projectionScale", "layers", "showSlices", "layout"]
    assert state["projectionOrientation"] == [0, 0, 0, 1]  # a rotation; [0, 0, 0, 0] is not


def test_make_ng_link_short_is_one_upload(local_cave):
    roots = [int(r) for r in local_cave.world.latest_roots_now()[:2]]
    ds = local_cave.datastack()  # the shims take a session as well as a name
    ds.client.state  # noqa: B018  (handshake)
    local_cave.stats.reset()
    url = shims.make_ng_link(ds, seg_ids=roots)
    assert local_cave.stats.as_dict() == {"state_post": 1}
    assert shims.get_json_state_from_url(ds, url)["layers"][0][
        "segments"] == [str(r) for r in roots]


def test_make_edits_link_shows_the_segment_and_its_edits(local_cave):
    world = local_cave.world
    root = max((int(r) for r in world.latest_roots_now()), key=lambda r: len(world.edits(r)))
    url = shims.make_edits_link(local_cave.datastack(), root, separate_layers=True)
    state = local_cave.datastack().state(url)
    assert state.segment_colors()[root] == "#00ffff"
    assert len(state.annotations("Merges")) + len(state.annotations("Splits")) == len(
        world.edits(root))


# -- meshes ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3():
    from tracertools.testing.s3 import LocalS3

    public = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::tt-ngl/*"}]}
    with LocalS3(buckets=["tt-ngl"], alias="ttngl") as server:
        # neuroglancer reads hosted meshes anonymously, so the bucket is public, as users set it
        server.client().put_bucket_policy(Bucket="tt-ngl", Policy=json.dumps(public))
        yield server


def test_make_mesh_from_points_hosts_a_mesh_its_link_can_reach(local_cave, s3, tmp_path, caplog):
    from cloudvolume import CloudVolume

    ds = local_cave.datastack()
    layer = ds.annotation_layer("blob", _ball([4000, 4000, 4500], 900) / RES)
    url = ds.shorten(ds.state_for(annotation_layers=[layer]))
    with caplog.at_level("INFO", logger="tracertools.legacy._ngl"):
        link = shims.make_mesh_from_points(ds, url, s3.url("tt-ngl", "roi"),
                                           save_objs=True, obj_path=str(tmp_path),
                                           print_alphas=True)
    assert "Submesh 1 (layer 'blob') alpha value" in caplog.text
    state = ds.state(link)
    source = state.layer(state.layer_names[-1]).source
    assert source == f"precomputed://{s3.endpoint}/tt-ngl/roi"
    mesh = CloudVolume(source.removeprefix("precomputed://"), progress=False).mesh.get(1)
    mesh = mesh[1] if isinstance(mesh, dict) else mesh
    final = (tmp_path / "final_mesh.obj").read_text()
    assert len(mesh.faces) == final.count("\nf ")


def test_make_objs_from_state_file_writes_one_hull_per_layer_with_safe_names(tmp_path):
    import trimesh
    from scipy.spatial import ConvexHull

    ball = _ball([4000, 4000, 4500], 900)
    path = _point_file(tmp_path, {"left/axons": ball / RES, "right": (ball + 3000) / RES})
    out = tmp_path / "objs"
    assert shims.make_objs_from_state_file("demo", str(path), str(out)) is None
    assert sorted(p.name for p in out.iterdir()) == ["left_axons.obj", "right.obj"]
    hull = trimesh.load(out / "left_axons.obj", process=False)
    assert hull.is_watertight
    # the hull of the points in whole nm, truncated as the original's convert_coord_res
    truncated = np.trunc(ball / RES / (1 / RES))
    assert hull.volume == pytest.approx(ConvexHull(truncated).volume, rel=1e-9)


def test_make_point_cloud_from_state_file_writes_the_points_in_nm(tmp_path):
    import trimesh

    path = _point_file(tmp_path, {"pts": [[1, 2, 3], [4, 5, 6]]})
    target = tmp_path / "cloud.obj"
    shims.make_point_cloud_from_state_file("demo", str(path), "pts", str(target))
    cloud = trimesh.load(target, process=False)
    assert np.asarray(cloud.vertices).tolist() == [[4, 8, 135], [16, 20, 270]]


def test_make_point_cloud_into_a_folder_names_the_file_after_the_layer(tmp_path):
    path = _point_file(tmp_path, {"a/b": [[1, 2, 3]]})
    shims.make_point_cloud_from_state_file("demo", str(path), "a/b", str(tmp_path))
    assert (tmp_path / "a_b.obj").is_file()


def test_make_volume_mesh_from_state_file_writes_a_hull_volume(tmp_path):
    from cloudvolume import CloudVolume

    ball = _ball([4000, 4000, 4500], 900)
    path = _point_file(tmp_path, {"pts": ball / RES})
    out = tmp_path / "vol"
    shims.make_volume_mesh_from_state_file("demo", str(path), "pts", str(out), export_obj=True)
    assert (out / "hull.obj").is_file()
    mesh = CloudVolume(f"file://{out}/image", progress=False).mesh.get(1)
    mesh = mesh[1] if isinstance(mesh, dict) else mesh
    assert np.array_equal(mesh.vertices.min(axis=0), np.trunc(ball / RES / (1 / RES)).min(axis=0))
    assert sorted(p.name for p in (out / "image" / "mesh").iterdir()) == ["1:0", "1:0:1.gz",
                                                                          "info"]
