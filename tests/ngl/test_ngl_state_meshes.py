"""Meshes from the point layers of states: alpha shapes, union, volumes, OBJs and links."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracertools import color_list
from tracertools.errors import (
    ConfirmationRequiredError,
    DestinationExistsError,
    InvalidGeometryError,
    InvalidInputError,
    InvalidStateError,
)
from tracertools.geometry.mesh import Mesh
from tracertools.geometry.viewer import serve_precomputed
from tracertools.ngl import State
from tracertools.ngl.state_meshes import convex_hulls, neuroglancer_source, safe_file_name

RES = np.array([4.0, 4.0, 45.0])  # LocalCave's viewer resolution


def _ball(centre_nm, radius_nm, n=120):
    """Points spread over a sphere (Fibonacci lattice) plus its centre, in nm."""
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    unit = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)
    return np.vstack([np.asarray(centre_nm) + radius_nm * unit, [centre_nm]])


def _as_stored(nm):
    """Points as a neuroglancer state holds them: 32-bit floats in viewer voxels."""
    return (nm / RES).astype(np.float32).astype(np.float64) * RES


A_NM = _as_stored(_ball([4000, 4000, 4500], 900))
B_NM = _as_stored(_ball([5000, 4000, 4500], 900))


def _point_state(ds, **extra_layers):
    layers = [ds.annotation_layer("part a", A_NM / RES), ds.annotation_layer("part b", B_NM / RES)]
    for name, layer in extra_layers.items():
        layers.append(dict(layer, name=name))
    return ds.state_for(annotation_layers=layers)


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "vol"
    folder.mkdir()
    with serve_precomputed(folder) as server:
        yield folder, server


def test_mesh_from_points_writes_a_volume_that_cloudvolume_reads(ds, served):
    from cloudvolume import CloudVolume

    folder, server = served
    url = ds.shorten(_point_state(ds))
    result = ds.mesh_from_points(url, f"file://{folder}", mesh_source_url=server.neuroglancer_source)
    for source in (f"file://{folder}", server.url):  # on disk, and as neuroglancer reaches it
        read = CloudVolume(source, progress=False).mesh.get(1)
        read = read[1] if isinstance(read, dict) else read
        assert len(read.faces) == len(result.mesh.faces)
        assert np.allclose(np.sort(read.vertices, axis=0), np.sort(result.mesh.vertices, axis=0),
                           atol=1e-2)


def test_the_volume_has_the_datastack_resolution_and_size(ds, tmp_path):
    result = ds.mesh_from_points(_point_state(ds), tmp_path / "v", mesh_source_url="precomputed://x")
    info = json.loads((tmp_path / "v" / "info").read_text())
    assert info["scales"][0]["resolution"] == [4, 4, 45]
    assert info["scales"][0]["size"] == list(ds.config.volume_size)
    assert result.volume_url == f"file://{tmp_path / 'v'}"


def test_the_union_is_one_watertight_body_around_both_layers(ds, tmp_path):
    result = ds.mesh_from_points(_point_state(ds), tmp_path / "v", mesh_source_url="precomputed://x")
    mesh = result.mesh
    assert mesh.is_watertight and mesh.body_count == 1
    lo, hi = mesh.bounds
    everything = np.vstack([A_NM, B_NM])
    assert np.all(everything >= lo - 1e-3) and np.all(everything <= hi + 1e-3)
    parts = [Mesh.from_points(A_NM), Mesh.from_points(B_NM)]
    assert mesh.volume_nm3 > max(p.volume_nm3 for p in parts)
    assert result.layers == ("part a", "part b")


def test_the_link_shows_coloured_point_layers_and_the_mesh(ds, world, served, neuroglancer_loads):
    folder, server = served
    result = ds.mesh_from_points(_point_state(ds), folder, mesh_source_url=server.neuroglancer_source)
    state = ds.state(result.link)
    mesh_layer = state.layer_names[-1]
    assert state.layer_names[:3] == ["Segmentation", "part a", "part b"]
    assert mesh_layer.startswith("Mesh: part a (alpha")
    assert state.layer(mesh_layer).source == server.neuroglancer_source
    assert [state.layer_json(n)["annotationColor"] for n in ("part a", "part b")] == color_list(2)
    assert np.allclose(state.annotations("part a", units="nm").points, A_NM)
    assert state.position.tolist() == np.rint(result.mesh.bounds.mean(axis=0) / RES).tolist()
    neuroglancer_loads(state.to_dict())


def test_given_alphas_are_used_as_is_without_growth(ds, tmp_path):
    result = ds.mesh_from_points(_point_state(ds), tmp_path / "v", alphas=[5000, 6000],
                                 auto_grow=False, mesh_source_url="precomputed://x")
    assert result.alphas == (5000.0, 6000.0)


def test_automatic_alphas_start_from_the_point_spacing(ds, tmp_path):
    from tracertools.geometry.alpha_shape import alpha_shape

    result = ds.mesh_from_points(_point_state(ds), tmp_path / "v", alphas=[None, 7000],
                                 mesh_source_url="precomputed://x")
    assert result.alphas == (alpha_shape(A_NM).alpha, 7000.0)


def test_fewer_alphas_than_layers_is_an_error_before_any_work(local_cave, ds, tmp_path):
    state = _point_state(ds)
    _ = ds.client.state
    local_cave.stats.reset()
    with pytest.raises(InvalidInputError, match="1 alphas for 2 point layers"):
        ds.mesh_from_points(state, tmp_path / "v", alphas=[100], mesh_source_url="precomputed://x")
    assert not (tmp_path / "v").exists()
    assert local_cave.stats.total == 0


def test_a_local_volume_needs_a_mesh_source_url(ds, tmp_path):
    with pytest.raises(InvalidInputError, match="mesh_source_url"):
        ds.mesh_from_points(_point_state(ds), tmp_path / "v")


def test_hidden_archived_and_mixed_layers_are_not_meshed(ds, tmp_path):
    hidden = dict(ds.annotation_layer("x", A_NM / RES + 100), visible=False)
    lines = ds.annotation_layer("y", [[[0, 0, 0], [1, 1, 1]]], "line")
    state = _point_state(ds, hidden=hidden, lines=lines)
    result = ds.mesh_from_points(state, tmp_path / "v", mesh_source_url="precomputed://x")
    assert result.layers == ("part a", "part b")


def test_a_state_without_point_layers_is_an_invalid_state(ds, tmp_path):
    with pytest.raises(InvalidStateError, match="no visible point annotation layers"):
        ds.mesh_from_points(ds.state_for(), tmp_path / "v", mesh_source_url="precomputed://x")


def test_a_layer_with_too_few_points_is_named(ds, tmp_path):
    state = ds.state_for(annotation_layers=[ds.annotation_layer("tiny", [[1, 2, 3], [4, 5, 6]])])
    with pytest.raises(InvalidGeometryError, match="layer 'tiny'"):
        ds.mesh_from_points(state, tmp_path / "v", mesh_source_url="precomputed://x")


def test_an_existing_volume_is_replaced_only_on_request(ds, tmp_path):
    state = _point_state(ds)
    ds.mesh_from_points(state, tmp_path / "v", mesh_source_url="precomputed://x", short=False)
    with pytest.raises(ConfirmationRequiredError):
        ds.mesh_from_points(state, tmp_path / "v", mesh_source_url="precomputed://x")
    ds.mesh_from_points(state, tmp_path / "v", mesh_source_url="precomputed://x", overwrite=True)


def test_objs_are_written_and_never_overwritten(ds, tmp_path):
    import trimesh

    state = _point_state(ds)
    objs = tmp_path / "objs"
    result = ds.mesh_from_points(state, tmp_path / "v", save_objs=True, obj_dir=objs,
                                 mesh_source_url="precomputed://x")
    assert [p.name for p in result.obj_paths] == ["submesh_1.obj", "submesh_2.obj",
                                                  "final_mesh.obj"]
    final = trimesh.load(objs / "final_mesh.obj", process=False)
    assert np.allclose(final.vertices, result.mesh.vertices)
    assert final.is_watertight
    with pytest.raises(DestinationExistsError, match="submesh_1.obj"):
        ds.mesh_from_points(state, tmp_path / "v", save_objs=True, obj_dir=objs,
                            overwrite=True, mesh_source_url="precomputed://x")


def test_save_objs_needs_a_folder(ds, tmp_path):
    with pytest.raises(InvalidInputError, match="obj_dir"):
        ds.mesh_from_points(_point_state(ds), tmp_path / "v", save_objs=True,
                            mesh_source_url="precomputed://x")


# -- sources neuroglancer can read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("gs://bucket/meshes/roi", "precomputed://gs://bucket/meshes/roi"),
        ("s3://bucket/roi/", "precomputed://s3://bucket/roi"),
        ("https://host/roi", "precomputed://https://host/roi"),
        ("precomputed://gs://bucket/roi", "precomputed://gs://bucket/roi"),
        ("file:///tmp/roi", None),
        ("mem://roi", None),
    ],
)
def test_neuroglancer_sources_of_volume_urls(url, source):
    assert neuroglancer_source(url) == source


def test_an_s3_alias_maps_to_its_https_endpoint():
    from cloudfiles.paths import OFFICIAL_ALIASES

    host = OFFICIAL_ALIASES["nokura"].removeprefix("s3://").rstrip("/")
    assert neuroglancer_source("nokura://tracers/meshes/roi") == (
        f"precomputed://{host}/tracers/meshes/roi")


# -- convex hulls and names --------------------------------------------------------------------


def test_convex_hulls_per_point_layer(ds):
    from scipy.spatial import ConvexHull

    hulls = convex_hulls(State(_point_state(ds)))
    assert list(hulls) == ["part a", "part b"]
    assert hulls["part a"].volume_nm3 == pytest.approx(ConvexHull(A_NM).volume, rel=1e-9)


@pytest.mark.parametrize(("name", "safe"), [("axons/left", "axons_left"), ("a:b", "a_b"),
                                            ("..", "_"), ("ok name", "ok name")])
def test_safe_file_names(name, safe):
    assert safe_file_name(name) == safe
