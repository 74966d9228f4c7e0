"""Legacy mesh shims: the original names, arguments and return shapes, on real files."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import trimesh

from tracertools.config import load_config
from tracertools.errors import ServiceError
from tracertools.geometry.mesh import Mesh
from tracertools.geometry.precomputed import read_info
from tracertools.legacy import _mesh
from tracertools.legacy._mesh import (
    get_mesh_triangles,
    make_bucket_volume_from_obj,
    make_local_volume_from_obj,
    make_volume_packaging,
)


@pytest.fixture
def sphere() -> Mesh:
    tm = trimesh.creation.icosphere(subdivisions=2, radius=800.0)
    vertices = (tm.vertices + [300_000.0, 200_000.0, 45_000.0]).astype(np.float32)
    return Mesh(vertices.astype(np.float64), tm.faces)


@pytest.fixture
def obj_path(tmp_path, sphere):
    return str(sphere.to_obj(tmp_path / "region.obj"))


def test_module_exports_the_four_original_names():
    assert _mesh.__all__ == ["get_mesh_triangles", "make_bucket_volume_from_obj",
                             "make_local_volume_from_obj", "make_volume_packaging"]


def original_triangles(url: str, segment_id: int = 1) -> np.ndarray:
    """What the original computed: cloud-volume's ``mesh.get`` (merged, sorted), per face."""
    from cloudvolume import CloudVolume

    volume = CloudVolume(url, progress=False)
    mesh = volume.mesh.get(segment_id)
    res = volume.resolution
    return np.array([[[x / y for x, y in zip(mesh.vertices[v], res, strict=True)] for v in face]
                     for face in mesh.faces])


def test_get_mesh_triangles_are_mesh_triangles_over_the_volume_resolution(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=[4, 4, 45], segment_id=3)
    triangles = get_mesh_triangles(str(tmp_path / "vol") + "/", mesh_seg_id=3, local=True)
    assert triangles.shape == (len(sphere.faces), 3, 3) and triangles.dtype == np.float64
    rows = {tuple(t.ravel()) for t in triangles}
    assert rows == {tuple(t.ravel()) for t in sphere.triangles / [4, 4, 45]}
    assert np.array_equal(triangles, original_triangles(url, 3))


def test_get_mesh_triangles_come_in_the_original_row_order(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=[8, 8, 40])
    triangles = get_mesh_triangles(url)
    # cloud-volume's mesh.get sorts vertices and faces; the mesh's own face order differs
    assert not np.array_equal(triangles, sphere.triangles / [8, 8, 40])
    assert np.array_equal(triangles, original_triangles(url))


def test_get_mesh_triangles_drop_repeated_faces_as_the_original(tmp_path, sphere):
    doubled = Mesh(sphere.vertices, np.vstack([sphere.faces, sphere.faces[:5]]))
    url = doubled.write_precomputed(tmp_path / "vol", resolution=[4, 4, 45])
    triangles = get_mesh_triangles(url)
    assert triangles.shape == (len(sphere.faces), 3, 3)
    assert np.array_equal(triangles, original_triangles(url))


def test_get_mesh_triangles_raises_instead_of_printing(tmp_path, capsys):
    with pytest.raises(ServiceError, match="no precomputed volume"):
        get_mesh_triangles(str(tmp_path / "missing"), local=True)
    assert capsys.readouterr().out == ""


def test_make_volume_packaging_writes_both_info_files(tmp_path):
    out = tmp_path / "not" / "yet" / "there"
    result = make_volume_packaging(str(out), resolution=[8, 8, 40], chunk_size=[256, 256, 32],
                                   volume_size=[1000, 2000, 300])
    assert result is None
    info = json.loads((out / "image" / "info").read_text())
    scale = info["scales"][0]
    assert (info["type"], info["data_type"], info["num_channels"], info["mesh"]) == (
        "segmentation", "uint64", 1, "mesh")
    assert (scale["resolution"], scale["chunk_sizes"], scale["size"], scale["encoding"]) == (
        [8, 8, 40], [[256, 256, 32]], [1000, 2000, 300], "raw")
    assert json.loads((out / "image" / "mesh" / "info").read_text()) == {
        "@type": "neuroglancer_legacy_mesh",
        "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
    }


def test_make_volume_packaging_defaults_match_the_original(tmp_path):
    make_volume_packaging(str(tmp_path / "out"))
    scale = read_info(tmp_path / "out" / "image")["scales"][0]
    assert (scale["resolution"], scale["chunk_sizes"], scale["size"]) == (
        [1, 1, 1], [[512, 512, 16]], [250000, 250000, 25000])


def test_make_local_volume_from_obj_uses_the_datastack_resolution_and_size(
    tmp_path, obj_path, sphere
):
    config = load_config("brain_and_nerve_cord")
    result = make_local_volume_from_obj("brain_and_nerve_cord", obj_path, str(tmp_path / "out"))
    assert result is None
    scale = read_info(tmp_path / "out" / "image")["scales"][0]
    assert scale["resolution"] == list(config.resolution)
    assert scale["size"] == list(config.volume_size)
    assert Mesh.from_precomputed(tmp_path / "out" / "image") == sphere


def test_make_local_volume_from_obj_gives_a_stack_without_a_size_the_generic_volume(
    tmp_path, obj_path, sphere
):
    config = load_config("male_adult_nerve_cord")
    assert config.volume_size is None
    make_local_volume_from_obj("male_adult_nerve_cord", obj_path, str(tmp_path / "out") + "/")
    scale = read_info(tmp_path / "out" / "image")["scales"][0]
    assert scale["resolution"] == [8, 8, 8]
    # the original's make_volume_packaging defaults, at the origin
    assert (scale["voxel_offset"], scale["size"]) == ([0, 0, 0], [250000, 250000, 25000])
    assert Mesh.from_precomputed(tmp_path / "out" / "image") == sphere


def test_make_local_volume_from_obj_writes_the_fragment_gzipped_as_1_0_1_gz(
    tmp_path, obj_path, sphere
):
    import gzip

    make_local_volume_from_obj("brain_and_nerve_cord", obj_path, str(tmp_path / "out"))
    mesh_dir = tmp_path / "out" / "image" / "mesh"
    assert sorted(p.name for p in mesh_dir.iterdir()) == ["1:0", "1:0:1.gz", "info"]
    assert json.loads((mesh_dir / "1:0").read_text()) == {"fragments": ["1:0:1"]}
    fragment = gzip.decompress((mesh_dir / "1:0:1.gz").read_bytes())
    assert int(np.frombuffer(fragment[:4], dtype="<u4")[0]) == len(sphere.vertices)


def test_make_local_volume_from_obj_replaces_a_plain_fragment_left_by_the_new_api(
    tmp_path, obj_path, sphere
):
    out = tmp_path / "out" / "image"
    Mesh.convex_hull(sphere.vertices[:20]).write_precomputed(out, resolution=[4, 4, 45])
    assert (out / "mesh" / "1:0:1").is_file()
    make_local_volume_from_obj("brain_and_nerve_cord", obj_path, str(tmp_path / "out"))
    assert sorted(p.name for p in (out / "mesh").iterdir()) == ["1:0", "1:0:1.gz", "info"]
    assert Mesh.from_precomputed(out) == sphere


def test_make_volume_packaging_keys_a_fractional_resolution_as_cloud_volume_does(tmp_path):
    make_volume_packaging(str(tmp_path / "out"), resolution=[4.5, 4, 40])
    scale = read_info(tmp_path / "out" / "image")["scales"][0]
    assert (scale["key"], scale["resolution"]) == ("4.5_4.0_40.0", [4.5, 4.0, 40.0])
    make_volume_packaging(str(tmp_path / "ints"), resolution=[4, 4, 40])
    assert read_info(tmp_path / "ints" / "image")["scales"][0]["key"] == "4_4_40"


def test_make_bucket_volume_from_obj_works_for_any_datastack(obj_path, sphere):
    bucket = f"mem://tracertools-test-{uuid.uuid4().hex}/triage/image/"
    make_bucket_volume_from_obj("flywire_fafb_production", obj_path, bucket)
    scale = read_info(bucket)["scales"][0]
    assert scale["resolution"] == list(load_config("flywire_fafb_production").resolution)
    assert Mesh.from_precomputed(bucket) == sphere


def test_make_bucket_volume_from_obj_stores_the_fragment_gzip_encoded(obj_path):
    from tracertools.storage.bucket import Bucket

    bucket = f"mem://tracertools-test-{uuid.uuid4().hex}/vol"
    make_bucket_volume_from_obj("brain_and_nerve_cord", obj_path, bucket)
    assert Bucket(bucket).list("mesh") == ["mesh/1:0", "mesh/1:0:1", "mesh/info"]
    assert Bucket(bucket).read("mesh/1:0:1")[:2] == b"\x1f\x8b"  # stored gzip bytes
