"""Mesh crossings, swamp triage and skeleton pictures of segments, against LocalCave's ground truth."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from tracertools.errors import (
    InvalidGeometryError,
    InvalidInputError,
    MissingFeatureError,
    PartialResultWarning,
    RenderingUnavailableError,
)
from tracertools.geometry.mesh import Mesh
from tracertools.geometry.skeleton import Skeleton

BOGUS_ROOT = 2**56 * 4 + 999_999  # a well-formed ID the chunkedgraph never had
SWAMP_ENDPOINTS = ("swamp_info", "swamp_mesh_info", "swamp_mesh", "swamp_provenance")


def swamp(world, swamp_id: int) -> Mesh:
    """The world's own swamp box (ground truth, not read through the server)."""
    vertices, faces = world.swamps[swamp_id]
    return Mesh(vertices, faces)


def truth_skeleton(world, root: int) -> Skeleton:
    sk = world.skeleton(root)
    return Skeleton(sk.vertices, sk.edges)


def swamp_requests(local_cave) -> int:
    return sum(local_cave.stats[name] for name in SWAMP_ENDPOINTS)


def datastack_with_sources(local_cave, **sources):
    """A session on LocalCave whose config has other swamp sources."""
    config = local_cave.config
    config = config.model_copy(update={"sources": config.sources.model_copy(update=sources)})
    return local_cave.datastack(config=config)


# ---------------------------------------------------------------------------------------------
# crosses / intersections
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("swamp_id", [1, 2, 3])
def test_crosses_equals_the_ground_truth_for_every_current_root(ds, world, current, swamp_id):
    mesh = Mesh.from_precomputed(ds.config.sources.swamp, swamp_id)
    got = ds.segments(current).crosses(mesh)
    assert got.dtype == bool
    assert got.tolist() == [world.crosses_swamp(r, swamp_id) for r in current]


def test_the_world_has_roots_that_cross_and_roots_that_do_not(world, current):
    crossing = {r for roots in world.swamp_crossings().values() for r in roots}
    assert crossing and set(current) - crossing


def test_crosses_reads_a_volume_url_with_several_mesh_ids(local_cave, ds, world, current):
    got = ds.segments(current).crosses(local_cave.swamp_url, mesh_ids=[1, 2, 3])
    assert got.tolist() == [any(world.crosses_swamp(r, s) for s in (1, 2, 3)) for r in current]


def test_crosses_takes_a_triangle_array(ds, world, current):
    triangles = swamp(world, 2).triangles
    got = ds.segments(current).crosses(triangles)
    assert got.tolist() == [world.crosses_swamp(r, 2) for r in current]


def test_intersections_are_the_points_where_bones_cross_the_swamp_surface(ds, world):
    root = world.swamp_crossings()[1][0]
    points = ds.segments([root]).intersections(swamp(world, 1))[0]
    expected = truth_skeleton(world, root).intersections(swamp(world, 1))
    np.testing.assert_allclose(points, expected)
    low, high = swamp(world, 1).bounds
    on_a_face = np.isclose(points, low).any(axis=1) | np.isclose(points, high).any(axis=1)
    assert len(points) >= 1 and on_a_face.all()


def test_intersections_of_a_root_that_does_not_cross_are_empty(ds, world, current):
    outside = next(r for r in current if not world.crosses_swamp(r, 3))
    points = ds.segments([outside]).intersections(swamp(world, 3))[0]
    assert points.shape == (0, 3)


def test_intersections_in_voxels_are_nm_over_the_viewer_resolution(ds, world):
    root = world.swamp_crossings()[2][0]
    nm = ds.segments([root]).intersections(swamp(world, 2))[0]
    voxels = ds.segments([root]).intersections(swamp(world, 2), units="voxels")[0]
    np.testing.assert_allclose(voxels, nm / np.asarray(world.resolution))


def test_one_segment_answers_crosses_and_intersections(ds, world):
    root = world.swamp_crossings()[2][0]
    seg = ds.segment(root)
    assert seg.crosses(swamp(world, 2)) is True
    assert seg.crosses(swamp(world, 3)) is False
    assert seg.intersections(swamp(world, 2)).shape[1] == 3


def test_skeletons_for_crossings_come_in_one_request_for_every_root(local_cave, ds, world):
    roots = [int(r) for r in world.all_roots()]
    local_cave.datastack().segments(roots).skeletons()  # the service has generated them all
    _ = ds.client.skeleton
    local_cave.stats.reset()
    ds.segments(roots).crosses(swamp(world, 1))
    assert local_cave.stats["bulk_cached_skeletons"] == 1  # 45 roots, up to 500 a request
    assert local_cave.stats["get_skeleton"] == 0


def test_malformed_triangles_are_refused_before_any_request(local_cave, ds, current):
    local_cave.stats.reset()
    with pytest.raises(InvalidGeometryError, match=r"\(F, 3, 3\)"):
        ds.segments(current).crosses(np.zeros((4, 3)))
    assert local_cave.stats.total == 0


def test_unknown_units_are_refused(ds, world, current):
    with pytest.raises(InvalidInputError, match="units"):
        ds.segments(current).intersections(swamp(world, 1), units="um")  # type: ignore[arg-type]


def test_a_failed_segment_is_none_under_warn(ds, world):
    root = world.swamp_crossings()[1][0]
    with pytest.warns(PartialResultWarning, match=str(BOGUS_ROOT)):
        got = ds.segments([root, BOGUS_ROOT]).intersections(swamp(world, 1), errors="warn")
    assert len(got[0]) >= 1 and got[1] is None


# ---------------------------------------------------------------------------------------------
# triage
# ---------------------------------------------------------------------------------------------


def test_triage_equals_the_worlds_swamp_crossings_for_every_current_root(ds, world, current):
    truth = world.swamp_crossings()
    frame = ds.segments(current).triage()
    assert list(frame.index) == current
    assert list(frame.columns) == ["crosses_swamp", "swamp_ids", "n_crossings"]
    for root in current:
        expected = [s for s, roots in truth.items() if root in roots]
        assert frame.loc[root, "swamp_ids"] == expected
        assert frame.loc[root, "crosses_swamp"] == bool(expected)


def test_triage_counts_every_point_where_a_skeleton_meets_a_swamp(ds, world, current):
    frame = ds.segments(current).triage()
    for root in current:
        sk = truth_skeleton(world, root)
        expected = sum(len(sk.intersections(swamp(world, s))) for s in world.swamps)
        assert frame.loc[root, "n_crossings"] == expected


def test_triage_of_stale_roots_uses_their_own_skeletons(ds, world):
    latest = set(world.latest_roots_now().tolist())
    stale = [int(r) for r in world.all_roots().tolist() if int(r) not in latest]
    frame = ds.segments(stale).triage()
    expected = [any(world.crosses_swamp(r, s) for s in world.swamps) for r in stale]
    assert frame["crosses_swamp"].tolist() == expected


def test_one_segment_triage_is_a_dict(ds, world):
    root = world.swamp_crossings()[1][0]
    n_points = len(truth_skeleton(world, root).intersections(swamp(world, 1)))
    assert ds.segment(root).triage() == {"crosses_swamp": True, "swamp_ids": [1],
                                         "n_crossings": n_points}


def test_swamp_volume_is_read_once_per_datastack_across_triage_calls(local_cave, ds, current):
    _ = ds.client.skeleton
    local_cave.stats.reset()
    ds.segments(current[:4]).triage()
    assert swamp_requests(local_cave) > 0
    local_cave.stats.reset()
    ds.segments(current[4:]).triage()
    assert swamp_requests(local_cave) == 0
    assert local_cave.stats["bulk_cached_skeletons"] == 1


def test_triage_falls_back_to_the_triage_mesh_volume(local_cave, world, current):
    ds = datastack_with_sources(local_cave, swamp=None, triage_mesh=local_cave.swamp_url)
    frame = ds.segments(current).triage()
    truth = world.swamp_crossings()
    assert frame["crosses_swamp"].tolist() == [any(r in v for v in truth.values()) for r in current]


def test_triage_lists_the_swamp_ids_of_a_local_volume(tmp_path, local_cave, world, current):
    url = f"file://{tmp_path}/swamps"
    for swamp_id in world.swamps:
        swamp(world, swamp_id).write_precomputed(url, resolution=world.resolution,
                                                  volume_size=(512, 512, 64),
                                                  segment_id=swamp_id, overwrite=True)
    ds = datastack_with_sources(local_cave, swamp=url, swamp_ids=None, triage_mesh=None)
    frame = ds.segments(current).triage()
    truth = world.swamp_crossings()
    assert frame["swamp_ids"].tolist() == [[s for s, v in truth.items() if r in v]
                                           for r in current]


def test_triage_without_swamp_ids_on_an_unlistable_volume_names_the_field(local_cave, current):
    ds = datastack_with_sources(local_cave, swamp_ids=None)
    with pytest.raises(MissingFeatureError, match="sources.swamp_ids") as caught:
        ds.segments(current).triage()
    assert caught.value.field == "sources.swamp_ids"


def test_triage_without_a_swamp_source_raises_before_any_request(local_cave, current):
    ds = datastack_with_sources(local_cave, swamp=None, triage_mesh=None)
    local_cave.stats.reset()
    with pytest.raises(MissingFeatureError, match="sources.swamp"):
        ds.segments(current).triage()
    assert local_cave.stats.total == 0


def test_triage_leaves_a_failed_row_empty_under_warn(ds, world):
    root = world.swamp_crossings()[2][0]
    with pytest.warns(PartialResultWarning, match=str(BOGUS_ROOT)):
        frame = ds.segments([root, BOGUS_ROOT]).triage(errors="warn")
    assert frame.loc[root, "swamp_ids"] == [2]
    assert frame.loc[BOGUS_ROOT, "swamp_ids"] is None
    assert frame["crosses_swamp"].isna().tolist() == [False, True]
    assert frame["n_crossings"].dtype == pd.Int64Dtype()


# ---------------------------------------------------------------------------------------------
# show / render
# ---------------------------------------------------------------------------------------------


BACKGROUND_RGB = (0, 16, 33)
VIRIDIS_LOW, VIRIDIS_HIGH = (68, 1, 84), (253, 231, 37)


def read_png(path) -> np.ndarray:
    """(height, width, 3) uint8 pixels, top row first."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOImage import vtkPNGReader

    reader = vtkPNGReader()
    reader.SetFileName(str(path))
    reader.Update()
    image = reader.GetOutput()
    width, height, _ = image.GetDimensions()
    pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width, -1)
    return pixels[::-1, :, :3]


def near(pixels: np.ndarray, rgb, tolerance: int = 12) -> int:
    diff = np.abs(pixels.astype(int) - np.asarray(rgb, dtype=int))
    return int(np.all(diff <= tolerance, axis=-1).sum())


def test_render_draws_the_skeletons_with_a_radius_colour_bar(tmp_path, ds, current):
    out = ds.segments(current[:4]).render(tmp_path / "segs.png", size=(800, 600))
    assert out == tmp_path / "segs.png"
    pixels = read_png(out)
    scene, legend = pixels[:, :680], pixels[:, 680:]
    drawn = ~np.all(np.abs(scene.astype(int) - BACKGROUND_RGB) <= 2, axis=-1)
    assert drawn.sum() > 2_000
    assert len(np.unique(scene[drawn], axis=0)) > 20  # shaded, colour-mapped bones
    assert near(legend, VIRIDIS_LOW) > 50 and near(legend, VIRIDIS_HIGH) > 50


def test_one_segment_renders_to_a_png(tmp_path, ds, current):
    pixels = read_png(ds.segment(current[0]).render(tmp_path / "one.png"))
    drawn = ~np.all(np.abs(pixels[:, :680].astype(int) - BACKGROUND_RGB) <= 2, axis=-1)
    assert drawn.sum() > 500


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY matters on Linux only")
def test_show_without_a_display_points_to_render(monkeypatch, ds, current):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RenderingUnavailableError, match="render"):
        ds.segments(current[:2]).show()
