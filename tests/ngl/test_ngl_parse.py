"""Reading neuroglancer states: share URL forms, files, layers, segments and annotations."""

from __future__ import annotations

import json
from urllib.parse import quote

import numpy as np
import pytest

from tracertools.errors import InvalidInputError, InvalidStateError
from tracertools.ngl import State
from tracertools.ngl.urls import parse_link

DIMS = {"x": [4e-9, "m"], "y": [4e-9, "m"], "z": [4.5e-8, "m"]}
LOCAL = {"url": "local://annotations", "transform": {"outputDimensions": DIMS}}


def _spelunker_state():
    """A state as Spelunker saves it (sources with transforms, hidden segments, no tools)."""
    return {
        "dimensions": DIMS,
        "position": [1000.5, 2000.5, 30.5],
        "crossSectionScale": 4.12,
        "projectionScale": 360849,
        "layers": [
            {"type": "image", "source": "precomputed://gs://em", "name": "EM"},
            {"type": "segmentation", "name": "seg",
             "source": [{"url": "graphene://middleauth+https://cave/seg", "subsources": {}}],
             "segments": ["720575940000000011", "!720575940000000012", "13"],
             "segmentColors": {"720575940000000011": "#ff0000", "13": "#00ff00"}},
            {"type": "annotation", "name": "soma points", "source": LOCAL,
             "annotations": [
                 {"type": "point", "id": "a", "point": [10, 20, 3], "description": "first",
                  "segments": [["720575940000000011"]]},
                 {"type": "point", "id": "b", "point": [12.5, 22, 4]},
             ]},
            {"type": "annotation", "name": "shapes", "source": LOCAL, "annotations": [
                {"type": "line", "id": "l", "pointA": [0, 0, 0], "pointB": [10, 0, 2]},
                {"type": "axis_aligned_bounding_box", "id": "b", "pointA": [1, 2, 3],
                 "pointB": [4, 5, 6]},
                {"type": "ellipsoid", "id": "e", "center": [5, 5, 5], "radii": [2, 2, 1]},
            ]},
            {"type": "annotation", "name": "hidden points", "source": LOCAL, "visible": False,
             "annotations": [{"type": "point", "id": "h", "point": [1, 1, 1]}]},
            {"type": "annotation", "name": "archived points", "source": LOCAL,
             "archived": True,
             "annotations": [{"type": "point", "id": "r", "point": [1, 1, 1]}]},
            {"type": "annotation", "name": "empty", "source": LOCAL, "annotations": []},
        ],
        "layout": "xy-3d",
    }


def _flywire_state():
    """A legacy Seung-lab state as FlyWire's viewer saves it."""
    return {
        "layers": [
            {"type": "image", "source": "precomputed://gs://flywire_em/aligned/v1",
             "name": "EM"},
            {"type": "segmentation_with_graph", "name": "Production",
             "source": "graphene://https://prodv1.flywire-daf.com/segmentation/1.0/fly_v31",
             "segments": ["720575940600000001"], "hiddenSegments": ["720575940600000002"]},
            {"type": "annotation", "name": "pts", "voxelSize": [4, 4, 40],
             "linkedSegmentationLayer": "Production", "filterBySegmentation": True,
             "annotations": [{"type": "point", "id": "p", "point": [100, 200, 30],
                              "segments": ["720575940600000001"]}]},
        ],
        "navigation": {"pose": {"position": {"voxelSize": [4, 4, 40],
                                             "voxelCoordinates": [131071, 147456, 3505]}},
                       "zoomFactor": 13.2},
        "perspectiveZoom": 9600,
        "perspectiveOrientation": [0, 0, 0, -1],
        "layout": "xy-3d",
    }


# -- share URL forms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "site", "base", "state_id"),
    [
        ("https://spelunker.cave-explorer.org/#!middleauth+https://global.daf-apis.com/nglstate/api/v1/5234",
         "spelunker", "https://global.daf-apis.com/nglstate/api/v1", 5234),
        ("https://spelunker.cave-explorer.org/#!https://global.daf-apis.com/nglstate/api/v1/5234",
         "spelunker", "https://global.daf-apis.com/nglstate/api/v1", 5234),
        ("https://ngl.flywire.ai/?json_url=https://globalv1.flywire-daf.com/nglstate/123456",
         "seunglab", "https://globalv1.flywire-daf.com/nglstate", 123456),
        ("https://neuromancer-seung-import.appspot.com/?json_url="
         + quote("https://global.daf-apis.com/nglstate/api/v1/77", safe=""),
         "seunglab", "https://global.daf-apis.com/nglstate/api/v1", 77),
        ("https://global.daf-apis.com/nglstate/api/v1/99/", None,
         "https://global.daf-apis.com/nglstate/api/v1", 99),
        ("middleauth+https://global.daf-apis.com/nglstate/api/v1/raw/42", None,
         "https://global.daf-apis.com/nglstate/api/v1", 42),
    ],
)
def test_short_link_forms_give_the_state_service_and_id(url, site, base, state_id):
    parsed = parse_link(url)
    assert (parsed.target_site, parsed.state_base, parsed.state_id) == (site, base, state_id)
    assert parsed.state is None and parsed.is_short


def test_a_bare_number_is_a_state_id():
    assert parse_link(" 5234 ").state_id == 5234


@pytest.mark.parametrize("quoted", [True, False])
def test_long_links_carry_the_json_quoted_or_not(quoted):
    text = json.dumps(_spelunker_state())
    url = "https://spelunker.cave-explorer.org/#!" + (quote(text) if quoted else text)
    state = State.from_url(url)
    assert state.to_dict() == _spelunker_state()
    assert parse_link(url).viewer == "https://spelunker.cave-explorer.org/"


def test_to_url_round_trips_through_the_parser():
    state = State(_spelunker_state())
    assert State.from_url(state.to_url("https://spelunker.cave-explorer.org")) == state


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("https://spelunker.cave-explorer.org/", "carries no neuroglancer state"),
        ("https://spelunker.cave-explorer.org/#!", "nothing after"),
        ("https://spelunker.cave-explorer.org/#!%7B%22layers%22:%5B", "not valid JSON"),
        ("https://spelunker.cave-explorer.org/#![1,2]", "does not point at a state service"),
        ("https://spelunker.cave-explorer.org/#!gs://bucket/state.json", "JSON file"),
        ("https://ngl.flywire.ai/?json_url=https://example.org/states/abc", "state service"),
        ("", "non-empty"),
    ],
)
def test_urls_without_a_usable_state_say_what_is_wrong(url, complaint):
    with pytest.raises(InvalidStateError, match=complaint):
        parse_link(url)


def test_a_short_link_cannot_be_read_without_a_datastack():
    with pytest.raises(InvalidStateError, match=r"ds\.state\(url\)"):
        State.from_url("https://spelunker.cave-explorer.org/#!middleauth+https://g/nglstate/api/v1/1")


def test_invalid_state_error_is_an_input_error():
    assert issubclass(InvalidStateError, InvalidInputError)


# -- whole states ----------------------------------------------------------------------------


def test_from_file_reads_a_downloaded_state(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(_spelunker_state()))
    assert State.from_file(path).to_dict() == _spelunker_state()


def test_malformed_json_files_raise_invalid_state(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"layers": [')
    with pytest.raises(InvalidStateError, match="not valid JSON"):
        State.from_file(path)


def test_json_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidStateError, match="not a neuroglancer state object"):
        State.from_json("[1, 2, 3]")


def test_layers_must_be_named_objects():
    with pytest.raises(InvalidStateError, match="layer 0"):
        State({"layers": [{"type": "image"}]})


def test_numpy_values_become_plain_json():
    state = State({"position": np.array([1.5, 2, 3]), "layers": [
        {"type": "segmentation", "name": "s", "segments": [np.uint64(720575940000000011)]}]})
    assert state.to_dict()["position"] == [1.5, 2.0, 3.0]
    assert json.loads(state.to_json())["layers"][0]["segments"] == [720575940000000011]


def test_to_dict_is_a_copy():
    state = State(_spelunker_state())
    state.to_dict()["layers"].clear()
    assert len(state.layers) == 7


def test_dimensions_and_position_of_a_modern_state():
    state = State(_spelunker_state())
    assert state.dimensions == pytest.approx((4.0, 4.0, 45.0))
    assert state.position.tolist() == [1000.5, 2000.5, 30.5]
    assert not state.is_legacy


def test_dimensions_and_position_of_a_legacy_state():
    state = State(_flywire_state())
    assert state.is_legacy
    assert state.dimensions == (4.0, 4.0, 40.0)
    assert state.position.tolist() == [131071, 147456, 3505]


# -- layers ----------------------------------------------------------------------------------


def test_layers_summarise_type_sources_and_visibility():
    state = State(_spelunker_state())
    seg = state.layer("seg")
    assert (seg.type, seg.source, seg.is_segmentation) == (
        "segmentation", "graphene://middleauth+https://cave/seg", True)
    assert state.layer("hidden points").visible is False
    assert state.layer("archived points").archived is True
    assert state.layer("shapes").annotation_types == (
        "axis_aligned_bounding_box", "ellipsoid", "line")


def test_point_layers_are_chosen_by_annotation_types_without_tool_keys():
    state = State(_spelunker_state())
    assert [layer.name for layer in state.point_layers()] == ["soma points", "hidden points"]
    assert [layer.name for layer in state.point_layers(visible_only=True)] == ["soma points"]


def test_a_missing_layer_names_the_layers_there_are():
    with pytest.raises(InvalidStateError, match=r"no layer 'nope'.*'EM', 'seg'"):
        State(_spelunker_state()).layer("nope")


def test_duplicate_layer_names_resolve_to_the_last():
    data = {"layers": [{"type": "image", "name": "x", "source": "precomputed://a"},
                       {"type": "image", "name": "x", "source": "precomputed://b"}]}
    assert State(data).layer("x").source == "precomputed://b"


def test_the_older_layers_mapping_is_read():
    state = State({"layers": {"em": {"type": "image", "source": "precomputed://a"}}})
    assert state.layer_names == ["em"]


# -- segments --------------------------------------------------------------------------------


def test_segments_are_uint64_in_order_with_hidden_ones_on_request():
    state = State(_spelunker_state())
    assert state.segments().dtype == np.uint64
    assert state.segments().tolist() == [720575940000000011, 720575940000000012, 13]
    assert state.segments("seg", include_hidden=False).tolist() == [720575940000000011, 13]


def test_legacy_hidden_segments_count_as_hidden():
    state = State(_flywire_state())
    assert state.segments().tolist() == [720575940600000001, 720575940600000002]
    assert state.segments(include_hidden=False).tolist() == [720575940600000001]


def test_segment_colors_key_by_int_id():
    assert State(_spelunker_state()).segment_colors() == {
        720575940000000011: "#ff0000", 13: "#00ff00"}


def test_segments_of_a_non_segmentation_layer_is_an_error():
    with pytest.raises(InvalidStateError, match="not a segmentation layer"):
        State(_spelunker_state()).segments("EM")


def test_a_malformed_segment_id_names_its_layer():
    with pytest.raises(InvalidStateError, match="layer 's'.*'12x'"):
        State({"layers": [{"type": "segmentation", "name": "s", "segments": ["12x"]}]}).segments()


def test_with_segment_ids_replaces_selection_and_colour_keys_keeping_marks():
    state = State(_spelunker_state()).with_segment_ids(
        {720575940000000011: 720575940000000099, 720575940000000012: 720575940000000099})
    raw = state.layer_json("seg")
    assert raw["segments"] == ["720575940000000099", "13"]
    assert raw["segmentColors"] == {"720575940000000099": "#ff0000", "13": "#00ff00"}


def test_with_segment_ids_updates_legacy_hidden_segments():
    state = State(_flywire_state()).with_segment_ids({720575940600000002: 720575940600000009})
    assert state.layer_json("Production")["hiddenSegments"] == ["720575940600000009"]
    assert state.segments(include_hidden=False).tolist() == [720575940600000001]


# -- annotations -----------------------------------------------------------------------------


def test_point_annotations_in_voxels_and_nm():
    state = State(_spelunker_state())
    voxels = state.annotations("soma points")
    nm = state.annotations("soma points", units="nm")
    assert voxels.points.tolist() == [[10, 20, 3], [12.5, 22, 4]]
    assert nm.points.tolist() == [[40, 80, 135], [50, 88, 180]]
    assert voxels.resolution == pytest.approx((4, 4, 45))


def test_annotations_carry_ids_descriptions_and_linked_segments():
    anns = State(_spelunker_state()).annotations("soma points")
    assert anns.ids == ("a", "b")
    assert anns.descriptions == ("first", None)
    assert anns.segments == ((720575940000000011,), ())


def test_lines_boxes_and_ellipsoids_as_arrays():
    anns = State(_spelunker_state()).annotations("shapes")
    assert anns.lines.tolist() == [[[0, 0, 0], [10, 0, 2]]]
    assert anns.boxes.tolist() == [[[1, 2, 3], [4, 5, 6]]]
    assert anns.ellipsoids.tolist() == [[[5, 5, 5], [2, 2, 1]]]
    assert anns.points.shape == (0, 3)
    assert len(anns.of_type("line")) == 1


def test_legacy_annotation_layers_use_their_voxel_size():
    anns = State(_flywire_state()).annotations("pts", units="nm")
    assert anns.points.tolist() == [[400, 800, 1200]]
    assert anns.segments == ((720575940600000001,),)


def test_nm_needs_a_resolution_when_the_state_has_none():
    data = {"layers": [{"type": "annotation", "name": "a",
                        "annotations": [{"type": "point", "point": [1, 2, 3]}]}]}
    with pytest.raises(InvalidStateError, match="default_resolution"):
        State(data).annotations("a", units="nm")
    nm = State(data).annotations("a", units="nm", default_resolution=(8, 8, 40))
    assert nm.points.tolist() == [[8, 16, 120]]


def test_annotations_of_a_non_annotation_layer_is_an_error():
    with pytest.raises(InvalidStateError, match="not an annotation layer"):
        State(_spelunker_state()).annotations("seg")


def test_malformed_annotations_name_their_position():
    data = {"layers": [{"type": "annotation", "name": "a", "annotations": [
        {"type": "point", "point": [1, 2, 3]}, {"type": "point", "point": [1, "x", 3]}]}]}
    with pytest.raises(InvalidStateError, match="annotation 1"):
        State(data).annotations("a")


# -- legacy to modern --------------------------------------------------------------------------


def test_a_legacy_state_converts_to_a_modern_one(neuroglancer_loads):
    modern = State(_flywire_state()).modern()
    assert not modern.is_legacy
    assert modern.dimensions == pytest.approx((4, 4, 40))
    assert modern.position.tolist() == [131071, 147456, 3505]
    assert modern.layer("Production").type == "segmentation"
    assert modern.annotations("pts", units="nm").points.tolist() == [[400, 800, 1200]]
    raw = modern.layer_json("pts")
    assert raw["linkedSegmentationLayer"] == {"segments": "Production"}
    assert raw["annotations"][0]["segments"] == [["720575940600000001"]]
    neuroglancer_loads(modern.to_dict())
