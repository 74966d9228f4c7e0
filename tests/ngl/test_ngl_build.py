"""Building annotation layers and link states (no network: long links on preset datastacks)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tracertools as tt
from tracertools.errors import InvalidInputError, InvalidSegmentIdError, MissingFeatureError
from tracertools.ngl import State, annotation_layer

BANC = "brain_and_nerve_cord"
FLYWIRE = "flywire_fafb_production"
A, B, C = 720575941473274509, 720575940000000002, 720575940000000003


@pytest.fixture
def banc():
    return tt.Datastack(BANC)


@pytest.fixture
def flywire():
    return tt.Datastack(FLYWIRE)


# -- annotation layers -------------------------------------------------------------------------


def test_point_layer_holds_points_in_viewer_voxels(banc):
    layer = banc.annotation_layer("somas", [[1, 2, 3], [4.5, 5, 6]], color="#FF00FF")
    assert [a["point"] for a in layer["annotations"]] == [[1, 2, 3], [4.5, 5, 6]]
    assert layer["annotationColor"] == "#ff00ff"
    assert layer["source"][0]["transform"]["outputDimensions"]["z"] == [pytest.approx(45e-9), "m"]


@pytest.mark.parametrize(
    ("kind", "entry", "keys"),
    [
        ("line", [[0, 0, 0], [1, 1, 1]], {"pointA": [0, 0, 0], "pointB": [1, 1, 1]}),
        ("bbox", [[0, 0, 0], [2, 2, 2]], {"pointA": [0, 0, 0], "pointB": [2, 2, 2]}),
        ("ellipsoid", [[5, 5, 5], [1, 2, 3]], {"center": [5, 5, 5], "radii": [1, 2, 3]}),
        ("sphere", [[5, 5, 5], [2, 2, 2]], {"center": [5, 5, 5], "radii": [2, 2, 2]}),
        ("polyline", [[0, 0, 0], [1, 0, 0], [1, 1, 0]],
         {"points": [[0, 0, 0], [1, 0, 0], [1, 1, 0]]}),
    ],
)
def test_each_kind_writes_neuroglancers_keys(banc, kind, entry, keys):
    (annotation,) = banc.annotation_layer("x", [entry], kind)["annotations"]
    assert {k: annotation[k] for k in keys} == keys


def test_mixed_layers_take_geometry_kind_pairs(banc):
    layer = banc.annotation_layer("m", [([1, 2, 3], "point"), ([[0, 0, 0], [1, 1, 1]], "line")],
                                  "mixed")
    assert [a["type"] for a in layer["annotations"]] == ["point", "line"]


def test_annotation_ids_are_unique_across_layers(banc):
    points = [[i, i, i] for i in range(50)]
    ids = [a["id"] for name in ("a", "b") for a in banc.annotation_layer(name, points)["annotations"]]
    assert len(set(ids)) == 100


def test_descriptions_and_linked_segments_attach_per_annotation(banc):
    layer = banc.annotation_layer("x", [[1, 2, 3], [4, 5, 6]], descriptions=["one", None],
                                  linked_segments=[np.uint64(A), [B, C]])
    first, second = layer["annotations"]
    assert first["description"] == "one" and "description" not in second
    assert first["segments"] == [[str(A)]] and second["segments"] == [[str(B), str(C)]]
    assert layer["linkedSegmentationLayer"] == {"segments": "Segmentation"}
    assert layer["filterBySegmentation"] == ["segments"]


@pytest.mark.parametrize(
    ("kwargs", "error", "complaint"),
    [
        ({"annotations": [[1, 2]]}, InvalidInputError, "3 coordinates"),
        ({"annotations": [[1, 2, 3]], "kind": "circle"}, InvalidInputError, "unknown annotation kind"),
        ({"annotations": [[1, 2, 3]], "color": "red"}, InvalidInputError, "hex colour"),
        ({"annotations": [[1, 2, 3]], "descriptions": ["a", "b"]}, InvalidInputError, "one per"),
        ({"annotations": [[1, 2, 3]], "linked_segments": [1.5]}, InvalidSegmentIdError, "whole"),
        ({"annotations": [[[5, 5, 5], [-1, 1, 1]]], "kind": "ellipsoid"}, InvalidInputError,
         "negative"),
        ({"annotations": [[1, np.nan, 3]]}, InvalidInputError, "finite"),
    ],
)
def test_bad_annotation_input_is_refused(kwargs, error, complaint):
    kwargs.setdefault("kind", "point")
    with pytest.raises(error, match=complaint):
        annotation_layer("x", resolution=(4, 4, 45), **kwargs)


# -- modern link states, every option --------------------------------------------------------


def _options():
    points = annotation_layer("pts", [[10, 20, 30]], resolution=(4, 4, 45), color="#00ff00",
                              linked_segments=[A])
    return {
        "plain": {},
        "segments": {"segments": [A, np.uint64(B)]},
        "colours": {"segments": [A, B], "segment_colors": ["#FF0000"]},
        "colour map": {"segments": [A, B], "segment_colors": {B: "#0000aa"}},
        "annotations": {"segments": [A], "annotation_layers": [points]},
        "regions": {"region_meshes": True},
        "mesh": {"mesh_source": "precomputed://gs://bucket/mesh", "mesh_name": "roi",
                 "mesh_color": "#123456"},
        "position": {"position": np.array([1, 2, 3])},
        "translucent": {"segments": [A], "translucent": True},
        "viewer site": {"segments": [A], "viewer_site": "https://neuroglancer-demo.appspot.com"},
    }


@pytest.mark.parametrize("option", list(_options()))
def test_every_option_loads_in_neuroglancer_and_round_trips(banc, neuroglancer_loads, option):
    kwargs = _options()[option]
    url = banc.link(short=False, **kwargs)
    site = kwargs.get("viewer_site", "https://spelunker.cave-explorer.org/")
    assert url.startswith(site.rstrip("/") + "/#!")
    state = State.from_url(url)
    assert state.to_dict() == json.loads(json.dumps(banc.state_for(**kwargs)))
    neuroglancer_loads(state.to_dict())


def test_segments_colours_and_translucency_land_in_the_segmentation_layer(banc):
    state = State(banc.state_for([A, B], segment_colors=["#ff0000"], translucent=True))
    assert state.segments("Segmentation").tolist() == [A, B]
    assert state.segment_colors("Segmentation") == {A: "#ff0000"}
    assert state.layer_json("Segmentation")["objectAlpha"] == 0.99
    assert state.layer("Segmentation").source == banc.config.sources.segmentation


def test_modern_state_uses_the_datastack_view(banc):
    state = banc.state_for()
    view = banc.config.viewer
    assert state["position"] == list(view.view_point)
    assert (state["crossSectionScale"], state["projectionScale"]) == (view.zoom_2d, view.zoom_3d)
    assert state["projectionOrientation"] == list(view.angle_3d)
    assert State(state).dimensions == pytest.approx(banc.config.resolution)


def test_position_overrides_the_default_view(banc):
    assert State(banc.state_for(position=[7, 8, 9])).position.tolist() == [7, 8, 9]


def test_region_and_custom_meshes_are_segment_one_of_their_layers(banc):
    state = State(banc.state_for(region_meshes=True, mesh_source="precomputed://gs://b/m"))
    region = state.layer_json("Region Outlines")
    assert (region["segments"], region["segmentColors"], region["objectAlpha"]) == (
        ["1"], {"1": "#f0f2f4"}, 0.35)
    assert state.layer("Custom Mesh").source == "precomputed://gs://b/m"
    assert state.segment_colors("Custom Mesh") == {1: "#6db86b"}


def test_more_colours_than_segments_is_an_error(banc):
    with pytest.raises(InvalidInputError, match="2 segment colours for 1 segments"):
        banc.state_for([A], segment_colors=["#ff0000", "#00ff00"])


def test_repeated_layer_names_are_an_error(banc):
    clash = banc.annotation_layer("Segmentation", [[1, 2, 3]])
    with pytest.raises(InvalidInputError, match="repeated"):
        banc.state_for([A], annotation_layers=[clash])


def test_region_meshes_need_a_region_mesh_in_the_config():
    with pytest.raises(MissingFeatureError, match="main_stack_mesh"):
        tt.Datastack("stroeh_mouse_retina").state_for(region_meshes=True)


def test_links_need_a_viewer_site():
    with pytest.raises(MissingFeatureError, match="site_url"):
        tt.Datastack("male_adult_nerve_cord").link(short=False)


# -- FlyWire's legacy viewer -------------------------------------------------------------------


def test_flywire_states_are_legacy_with_voxel_coordinates_spelled_right(flywire):
    state = flywire.state_for([A])
    pose = state["navigation"]["pose"]["position"]
    assert pose == {"voxelSize": [4, 4, 40], "voxelCoordinates": [131071, 147456, 3505]}
    assert state["navigation"]["zoomFactor"] == 13.2
    assert (state["perspectiveZoom"], state["perspectiveOrientation"]) == (9600, [0, 0, 0, -1])
    assert State(state).layer("Segmentation").type == "segmentation_with_graph"


def test_flywire_honours_view_coords(flywire):
    state = flywire.state_for(position=[10, 20, 30])
    assert state["navigation"]["pose"]["position"]["voxelCoordinates"] == [10, 20, 30]


def test_flywire_links_need_no_custom_mesh(flywire):
    url = flywire.link([A], short=False)
    assert url.startswith("https://ngl.flywire.ai/#!")
    assert State.from_url(url).segments().tolist() == [A]


def test_flywire_on_spelunker_gets_a_modern_state(flywire, neuroglancer_loads):
    state = flywire.state_for([A], viewer_site="https://spelunker.cave-explorer.org/")
    assert "navigation" not in state and State(state).layer("Segmentation").type == "segmentation"
    neuroglancer_loads(state)


def test_flywire_annotation_layers_use_the_legacy_schema(flywire):
    layer = flywire.annotation_layer("pts", [[1, 2, 3]], linked_segments=[A], color="#00ff00")
    raw = State(flywire.state_for([A], annotation_layers=[layer])).layer_json("pts")
    assert raw["voxelSize"] == [4, 4, 40] and "source" not in raw
    assert raw["linkedSegmentationLayer"] == "Segmentation"
    assert raw["filterBySegmentation"] is True
    assert raw["annotations"][0]["segments"] == [str(A)]


def test_flywire_custom_meshes_use_the_precomputed_prefix(flywire):
    state = State(flywire.state_for(mesh_source="https://host/vol|neuroglancer-precomputed:"))
    assert state.layer("Custom Mesh").source == "precomputed://https://host/vol"


def test_flywire_region_outlines_are_grey(flywire):
    region = State(flywire.state_for(region_meshes=True)).layer_json("Region Outlines")
    assert (region["segmentColors"], region["objectAlpha"]) == ({"1": "#808080"}, 0.2)


def test_flywire_states_have_a_modern_equivalent_neuroglancer_loads(flywire, neuroglancer_loads):
    layer = flywire.annotation_layer("pts", [[1, 2, 3]], linked_segments=[A])
    legacy = State(flywire.state_for([A, B], annotation_layers=[layer], region_meshes=True,
                                     segment_colors=["#ff0000"], translucent=True))
    modern = legacy.modern()
    loaded = neuroglancer_loads(modern.to_dict())
    assert loaded["position"] == [131071, 147456, 3505]
    assert modern.segments("Segmentation").tolist() == [A, B]
    assert modern.annotations("pts").points.tolist() == [[1, 2, 3]]


def test_a_polyline_cannot_go_to_a_legacy_viewer(flywire):
    layer = flywire.annotation_layer("p", [[[0, 0, 0], [1, 1, 1]]], "polyline")
    with pytest.raises(InvalidInputError, match="polyline"):
        flywire.state_for(annotation_layers=[layer])


def test_style_can_be_forced(banc):
    assert "navigation" in banc.state_for(style="legacy")
    with pytest.raises(InvalidInputError, match="style"):
        banc.state_for(style="old")


# -- built by nglui ----------------------------------------------------------------------------


def test_building_a_state_uses_nglui_and_nothing_before():
    import subprocess
    import sys

    code = ("import sys, tracertools as tt\n"
            "before = 'nglui.statebuilder' in sys.modules\n"
            "tt.Datastack('brain_and_nerve_cord').state_for([1], segment_colors=['#ff0000'])\n"
            "print(before, 'nglui.statebuilder' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["False", "True"]


def test_the_segmentation_layer_is_nglui_s(banc):
    from neuroglancer.json_utils import json_encoder_default
    from nglui import statebuilder as sb

    source = banc.config.sources.segmentation
    want = json.loads(json.dumps(sb.SegmentationLayer(
        name="Segmentation", source=source, segments=[A, B], segment_colors={A: "#ff0000"},
        alpha_3d=1.0).to_dict(), default=json_encoder_default))
    got = State(banc.state_for([A, B], segment_colors=["#ff0000"])).layer_json("Segmentation")
    assert {k: v for k, v in got.items() if k not in ("source", "tab")} == {
        k: v for k, v in want.items() if k not in ("source", "visible", "archived")}


def test_the_annotation_layer_is_nglui_s(banc):
    from neuroglancer.json_utils import json_encoder_default
    from nglui import statebuilder as sb
    from nglui.statebuilder.ngl_annotations import PointAnnotation

    layer = banc.annotation_layer("pts", [[1, 2, 3]], linked_segments=[A], color="#00ff00")
    (ours,) = layer["annotations"]
    theirs = sb.AnnotationLayer(name="pts", resolution=list(banc.config.resolution),
                                color="#00ff00", linked_segmentation="Segmentation",
                                filter_by_segmentation=True, set_position=False)
    theirs.add_annotations([PointAnnotation(point=[1, 2, 3], id=ours["id"], segments=[A])])
    want = json.loads(json.dumps(theirs.to_dict(), default=json_encoder_default))
    for item in want["annotations"]:
        item.pop("props")
    assert {k: v for k, v in layer.items() if k != "tab"} == {
        k: v for k, v in want.items() if k not in ("visible", "archived")}


def test_a_local_graphene_source_is_kept_as_configured(ds):
    # nglui alone would rewrite graphene://http://... to graphene://middleauth+http://...
    source = ds.config.sources.segmentation
    assert source.startswith("graphene://http://127.0.0.1")
    assert State(ds.state_for([1])).layer("Segmentation").source == source


def test_annotations_do_not_move_the_view(banc):
    layer = banc.annotation_layer("pts", [[10, 20, 30]])
    state = banc.state_for(annotation_layers=[layer])
    assert state["position"] == list(banc.config.viewer.view_point)


def test_coordinates_are_kept_as_neuroglancer_keeps_them(banc):
    layer = banc.annotation_layer("pts", [[1.123456789, 2, 3]])
    assert layer["annotations"][0]["point"][0] == pytest.approx(1.123456789, rel=1e-7)
