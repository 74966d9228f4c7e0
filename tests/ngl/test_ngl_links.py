"""Short links, stored states, edits links and refreshed links against LocalCave."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from tracertools.errors import BatchError, InvalidStateError, PartialResultWarning, ServiceError
from tracertools.ngl import State
from tracertools.ngl.urls import parse_link

BOGUS = 2**56 * 4 + 999_999  # a root-layer ID the world never created


def _current(world):
    return [int(r) for r in world.latest_roots_now()]


def _stale(world):
    latest = set(_current(world))
    return [int(r) for r in world.all_roots() if int(r) not in latest]


def _longest_history(world):
    return max(_current(world), key=lambda r: (len(world.edits(r)), -r))


def _handshake(ds):
    _ = ds.client.state  # client and state-service handshakes, outside the counts
    _ = ds.client.chunkedgraph


# -- short links and stored states -------------------------------------------------------------


def test_a_short_link_is_one_upload_and_no_viewer_probe(local_cave, ds, world):
    _handshake(ds)
    local_cave.stats.reset()
    url = ds.link(_current(world)[:2])
    assert local_cave.stats.as_dict() == {"state_post": 1}
    assert url.startswith(local_cave.viewer_url + "#!middleauth+" + local_cave.url + "/nglstate/")


def test_a_short_link_reads_back_the_state_it_stored(ds, world, neuroglancer_loads):
    segments = _current(world)[:3]
    url = ds.link(segments, segment_colors=["#ff0000"])
    state = ds.state(url)
    assert state.to_dict() == ds.state_for(segments, segment_colors=["#ff0000"])
    assert state.segments().tolist() == segments
    neuroglancer_loads(state.to_dict())


def test_fetching_a_stored_state_is_one_request(local_cave, ds):
    url = ds.shorten({"layers": [], "layout": "xy"})
    _handshake(ds)
    local_cave.stats.reset()
    assert ds.state(url).to_dict() == {"layers": [], "layout": "xy"}
    assert local_cave.stats.as_dict() == {"state_get": 1}


@pytest.mark.parametrize("form", ["json_url", "bare url", "bare id", "int"])
def test_every_form_of_a_stored_state_is_fetched(local_cave, ds, form):
    url = ds.shorten({"layers": [], "title": form})
    state_id = parse_link(url).state_id
    state_url = f"{local_cave.url}/nglstate/api/v1/{state_id}"
    source = {
        "json_url": f"https://ngl.flywire.ai/?json_url={state_url}",
        "bare url": state_url,
        "bare id": str(state_id),
        "int": state_id,
    }[form]
    assert ds.state(source).to_dict()["title"] == form


def test_an_unknown_state_id_is_an_invalid_state(local_cave, ds):
    with pytest.raises(InvalidStateError, match="no state 987654"):
        ds.state(f"{local_cave.viewer_url}#!middleauth+{local_cave.url}/nglstate/api/v1/987654")


def test_a_refused_upload_is_a_service_error(local_cave, ds):
    local_cave.fail_next("state_post", status=400, message="bad state")
    with pytest.raises(ServiceError, match="uploading a state"):
        ds.shorten({"layers": []})


def test_a_passing_state_service_failure_is_retried(local_cave, ds):
    url = ds.shorten({"layers": [], "title": "kept"})
    _handshake(ds)
    local_cave.stats.reset()
    local_cave.fail_next("state_get", status=503)
    assert ds.state(url).to_dict()["title"] == "kept"
    assert local_cave.stats["state_get"] == 2


def test_a_legacy_target_site_gives_a_json_url_link(ds):
    url = ds.shorten({"layers": []}, target_site="seunglab")
    assert "?json_url=" in url
    assert ds.state(url).to_dict() == {"layers": []}


def test_long_links_need_no_request(local_cave, ds, world):
    _handshake(ds)
    local_cave.stats.reset()
    url = ds.link(_current(world)[:1], short=False)
    assert local_cave.stats.total == 0
    assert State.from_url(url).segments().tolist() == _current(world)[:1]


def test_link_takes_the_options_of_state_for_plus_short():
    from tracertools.datastack import Datastack

    def params(method):
        return [(p.name, p.kind, p.default, p.annotation)
                for p in inspect.signature(method).parameters.values()]

    assert params(Datastack.link) == params(Datastack.state_for) + [
        ("short", inspect.Parameter.KEYWORD_ONLY, True, "bool")
    ]


def test_a_long_link_holds_the_state_state_for_builds_with_every_option(ds, world):
    roots = _current(world)[:2]
    layer = ds.annotation_layer("somas", [[100, 200, 30]], color="#ff00ff")
    options = dict(
        annotation_layers=[layer], segment_colors=["#00ffff"], region_meshes=False,
        mesh_source="precomputed://gs://b/m", mesh_name="Outline", mesh_color="#123456",
        position=[10, 20, 3], translucent=True, style="legacy",
    )
    url = ds.link(roots, short=False, **options)
    assert State.from_url(url).to_dict() == ds.state_for(roots, **options)


def test_state_reads_files_and_json_text(ds, tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"layers": [], "title": "file"}')
    assert ds.state(path).to_dict()["title"] == "file"
    assert ds.state(str(path)).to_dict()["title"] == "file"
    assert ds.state('{"layers": []}').to_dict() == {"layers": []}


# -- edits links -------------------------------------------------------------------------------


def _expected_line(world, op):
    """An operation's line in viewer voxels: merges first source/sink, splits their means."""
    source = np.asarray(op.source_coords, dtype=float)
    sink = np.asarray(op.sink_coords, dtype=float)
    pair = np.stack([source[0], sink[0]]) if op.is_merge else np.stack(
        [source.mean(axis=0), sink.mean(axis=0)])
    ratio = np.asarray(world.seg_resolution) / np.asarray(world.resolution)
    return np.rint(pair * ratio).tolist()


def _largest_original(world, root):
    mine = world.supervoxels(root)
    originals = world.original_roots(root)
    return max(originals, key=lambda o: (np.intersect1d(world.supervoxels(o), mine).size, -o))


def _by_operation(anns):
    return {int(re.search(r"Operation ID: (\d+)", d).group(1)): i
            for i, d in enumerate(anns.descriptions)}


def test_edits_link_draws_every_operation_of_the_history(ds, world):
    root = _longest_history(world)
    state = ds.state(ds.segment(root).edits_link())
    anns = state.annotations("Edits")
    ops = world.edits(root)
    index = _by_operation(anns)
    assert sorted(index) == sorted(op.operation_id for op in ops)
    for op in ops:
        assert anns.vertices[index[op.operation_id]].tolist() == _expected_line(world, op)
        kind = "Merge" if op.is_merge else "Split"
        assert anns.descriptions[index[op.operation_id]] == (
            f"{kind} by user {op.user_id}, Operation ID: {op.operation_id}")


def test_linked_edits_link_each_line_to_the_segments_of_its_edit(ds, world):
    root = _longest_history(world)
    anns = ds.state(ds.segment(root).edits_link()).annotations("Linked Edits")
    index = _by_operation(anns)
    for op in world.edits(root):
        pair = op.before_roots if op.is_merge else op.after_roots
        assert sorted(anns.segments[index[op.operation_id]]) == sorted(pair)


def test_edits_link_colours_the_segment_cyan_and_its_largest_original_red(ds, world):
    root = _longest_history(world)
    state = ds.state(ds.segment(root).edits_link())
    original = _largest_original(world, root)
    assert state.segments().tolist() == [root, original]
    assert state.segment_colors() == {root: "#00ffff", original: "#ff0000"}
    assert state.layer_json("Segmentation")["objectAlpha"] == 0.99


def test_separate_layers_split_merges_from_splits(ds, world, neuroglancer_loads):
    root = _longest_history(world)
    state = ds.state(ds.segment(root).edits_link(separate_layers=True))
    assert state.layer_names == ["Segmentation", "Merges", "Linked Merges", "Splits",
                                 "Linked Splits"]
    ops = world.edits(root)
    merges = {o.operation_id for o in ops if o.is_merge}
    assert set(_by_operation(state.annotations("Merges"))) == merges
    assert set(_by_operation(state.annotations("Splits"))) == {
        o.operation_id for o in ops} - merges
    assert state.layer_json("Merges")["annotationColor"] == "#00ffff"
    assert state.layer_json("Splits")["annotationColor"] == "#ff0000"
    neuroglancer_loads(state.to_dict())


def test_a_never_edited_segment_gets_itself_and_empty_layers(ds, world):
    root = next(r for r in _current(world) if not world.edits(r))
    state = ds.state(ds.segment(root).edits_link())
    assert state.segments().tolist() == [root]
    assert len(state.annotations("Edits")) == 0


def test_edits_links_of_a_list_follow_input_order(local_cave, ds, world):
    roots = sorted(_current(world), key=lambda r: -len(world.edits(r)))[:2]
    links = ds.segments([roots[1], roots[0], roots[1]]).edits_links(short=False)
    assert [State.from_url(u).segments()[0] for u in links] == [roots[1], roots[0], roots[1]]


# -- refreshing stale IDs ----------------------------------------------------------------------


def test_refresh_link_replaces_exactly_the_stale_ids(ds, world):
    stale, fresh = _stale(world)[:2], _current(world)[:1]
    colors = {stale[0]: "#ff0000", fresh[0]: "#00ff00"}
    url = ds.link(stale + fresh, segment_colors=colors, short=False)
    refreshed = State.from_url(ds.refresh_link(url))
    expected = list(dict.fromkeys([world.successor(s) for s in stale] + fresh))
    assert refreshed.segments().tolist() == expected
    assert refreshed.segment_colors() == {world.successor(stale[0]): "#ff0000",
                                          fresh[0]: "#00ff00"}


def test_refresh_keeps_mesh_layers_and_annotations(ds, world):
    stale = _stale(world)[:1]
    layer = ds.annotation_layer("pts", [[1, 2, 3]], linked_segments=stale)
    state = ds.state_for(stale, annotation_layers=[layer], mesh_source="precomputed://gs://b/m")
    refreshed = ds.refresh_state(state)
    assert refreshed.segments("Custom Mesh").tolist() == [1]
    assert refreshed.layer_json("pts") == State(state).layer_json("pts")
    assert refreshed.segments("Segmentation").tolist() == [world.successor(stale[0])]


def test_refreshing_a_short_link_is_fetch_three_stages_and_upload(local_cave, ds, world):
    stale = _stale(world)[:3]
    url = ds.link(stale)
    _handshake(ds)
    local_cave.stats.reset()
    new_url = ds.refresh_link(url)
    assert new_url != url and new_url.startswith(local_cave.viewer_url + "#!middleauth+")
    stats = local_cave.stats
    # one request per current-ID stage: freshness of the IDs, their L2 IDs, the L2 nodes'
    # roots, freshness of those (with supervoxel counts where a stale ID is now split, and
    # roots of supervoxels where an edit cut inside an L2 chunk)
    assert (stats["state_get"], stats["state_post"], stats["is_latest_roots"]) == (1, 1, 2)
    assert stats["leaves_many"] <= 2 and stats["roots_binary"] <= 2
    assert ds.state(new_url).segments().tolist() == list(
        dict.fromkeys(world.successor(s) for s in stale))


def test_a_link_with_nothing_stale_comes_back_unchanged(local_cave, ds, world):
    url = ds.link(_current(world)[:2])
    _handshake(ds)
    local_cave.stats.reset()
    assert ds.refresh_link(url) == url
    assert local_cave.stats["state_post"] == 0


def test_unknown_ids_raise_unless_the_policy_says_otherwise(ds, world):
    stale = _stale(world)[0]
    url = ds.link([stale, BOGUS], short=False)
    with pytest.raises(BatchError):
        ds.refresh_link(url)
    with pytest.warns(PartialResultWarning):
        refreshed = State.from_url(ds.refresh_link(url, errors="warn"))
    assert refreshed.segments().tolist() == [world.successor(stale), BOGUS]
