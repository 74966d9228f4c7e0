"""Legacy shims calc_seg_mesh_intersect, triage_segs, visualize_skeletons, gsheet_add_seg_details."""

from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

from tracertools.errors import MissingFeatureError, PartialResultWarning, RenderingUnavailableError
from tracertools.geometry import segment_triangle_intersections
from tracertools.geometry.mesh import Mesh
from tracertools.geometry.skeleton import Skeleton
from tracertools.legacy import _views
from tracertools.legacy._views import (
    calc_seg_mesh_intersect,
    gsheet_add_seg_details,
    triage_segs,
    visualize_skeletons,
)
from tracertools.storage import sheet as sheet


@pytest.fixture
def name(local_cave):
    """The shims' ``datastack`` argument: a session on the LocalCave (names resolve to presets)."""
    return local_cave.datastack()


@pytest.fixture
def pipe_url(local_cave):
    """The swamp volume in neuroglancer's pipe form, as the original README wrote addresses."""
    plain = local_cave.swamp_url.removeprefix("precomputed://")
    return f"{plain}|neuroglancer-precomputed:"


def truth_points_in_voxels(world, root: int, swamp_ids) -> np.ndarray:
    """Ground-truth crossing points of a root's skeleton, in whole viewer voxels."""
    sk = world.skeleton(root)
    skeleton = Skeleton(sk.vertices, sk.edges)
    triangles = np.concatenate([Mesh(*world.swamps[s]).triangles for s in swamp_ids])
    points = segment_triangle_intersections(skeleton.bones(), triangles)
    unique = np.unique(points, axis=0) if len(points) else points
    return np.round(unique / np.asarray(world.resolution))


def test_every_shim_is_exported_and_documented_as_a_legacy_shim():
    assert _views.__all__ == sorted(_views.__all__)
    for shim in (calc_seg_mesh_intersect, triage_segs, visualize_skeletons,
                 gsheet_add_seg_details):
        assert shim.__name__ in _views.__all__
        assert shim.__doc__.startswith("Legacy shim for ")


def test_calc_seg_mesh_intersect_reads_mesh_1_of_a_pipe_form_address(name, world, current,
                                                                      pipe_url):
    got = calc_seg_mesh_intersect(name, current, pipe_url)
    assert got == [world.crosses_swamp(r, 1) for r in current]
    assert any(got)


def test_calc_seg_mesh_intersect_points_are_whole_voxels_of_the_mesh_volume(name, world, current,
                                                                           pipe_url):
    got = calc_seg_mesh_intersect(name, current, pipe_url, return_intersects=True)
    assert len(got) == len(current)
    for root, points in zip(current, got, strict=True):
        if not world.crosses_swamp(root, 1):
            assert points is None
            continue
        assert isinstance(points, list) and all(p.shape == (3,) for p in points)
        np.testing.assert_array_equal(np.unique(np.stack(points), axis=0),
                                      np.unique(truth_points_in_voxels(world, root, [1]), axis=0))


def test_triage_segs_uses_the_datastacks_swamp_meshes(name, world, current):
    truth = world.swamp_crossings()
    got = triage_segs(name, current)
    assert got == [any(r in roots for roots in truth.values()) for r in current]


def test_triage_segs_returns_each_segments_crossing_points(name, world, current):
    got = triage_segs(name, current, return_intersects=True)
    for root, points in zip(current, got, strict=True):
        expected = truth_points_in_voxels(world, root, sorted(world.swamps))
        if len(expected) == 0:
            assert points is None
        else:
            np.testing.assert_array_equal(np.unique(np.stack(points), axis=0),
                                          np.unique(expected, axis=0))


@pytest.fixture
def no_swamps(local_cave):
    """A session on LocalCave whose config has no swamp sources."""
    sources = local_cave.config.sources.model_copy(update={"swamp": None, "triage_mesh": None})
    return local_cave.datastack(config=local_cave.config.model_copy(update={"sources": sources}))


def test_triage_segs_on_a_datastack_without_swamps_raises(no_swamps, current):
    with pytest.raises(MissingFeatureError, match="sources.swamp"):
        triage_segs(no_swamps, current)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY matters on Linux only")
def test_visualize_skeletons_takes_ids_first_and_needs_a_display(monkeypatch, name, current):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RenderingUnavailableError, match="render"):
        visualize_skeletons(current[:3], name)


def test_visualize_skeletons_defaults_to_banc():
    assert list(inspect.signature(visualize_skeletons).parameters) == ["seg_ids", "datastack"]
    assert inspect.signature(visualize_skeletons).parameters["datastack"].default == (
        "brain_and_nerve_cord")


# ---------------------------------------------------------------------------------------------
# gsheet_add_seg_details
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sheets(local_sheets):
    return local_sheets


def test_gsheet_add_seg_details_writes_the_original_layout(sheets, name, world, current):
    stale = [int(r) for r in world.all_roots().tolist() if int(r) not in set(current)][0]
    ids = [stale, current[0]]
    key = sheets.create("book", tabs={"T": [["segment_id"]] + [[str(i)] for i in ids]})
    assert gsheet_add_seg_details(name, key, "T") is None
    values = sheets.values(key, "T")
    assert values[0] == ["segment_id", "current_id", "volume_um3", "cable_length", "inc_syn",
                         "out_syn", "total_syn", "proofread"]
    for row, seg_id in zip(values[1:], ids, strict=True):
        cur = world.successor(seg_id)
        n_in, n_out = world.synapse_counts(cur)
        assert row[:2] == [str(seg_id), str(cur)]
        assert row[2] == pytest.approx(world.volume_nm3(cur) / 1e9)
        assert row[3] == pytest.approx(world.cable_length(cur), rel=1e-6)
        assert row[4:7] == [n_in, n_out, n_in + n_out]
        assert isinstance(row[7], bool)


def test_gsheet_add_seg_details_honours_the_column_switches(sheets, name, current):
    key = sheets.create("book", tabs={"T": [["segment_id"], [str(current[0])]]})
    gsheet_add_seg_details(name, key, "T", volume=False, cable_length=False,
                           synapse_counts=False, proofreading=False)
    assert sheets.values(key, "T") == [["segment_id", "current_id"],
                                       [str(current[0]), str(current[0])]]


def test_gsheet_add_seg_details_leaves_bad_rows_empty_and_warns(sheets, name, current):
    key = sheets.create("book", tabs={"T": [["segment_id"], ["7.205759e+17"], [str(current[0])]]})
    with pytest.warns(PartialResultWarning, match="row 2"):
        gsheet_add_seg_details(name, key, "T")
    values = sheets.values(key, "T")
    assert values[1] == ["7.205759e+17"] + [""] * 7
    assert values[2][1] == str(current[0])
