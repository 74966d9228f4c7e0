"""Precomputed mesh volumes: written by us, read back by cloud-volume and by Mesh.from_precomputed.

Local volumes are real files in tmp_path; remote reading goes through a real HTTP server on
127.0.0.1 (stdlib ``http.server``); ``mem://`` is cloudfiles' in-memory storage.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cloudvolume
import numpy as np
import pytest
import trimesh

from tracertools.errors import (
    ConfirmationRequiredError,
    InvalidGeometryError,
    InvalidInputError,
    ServiceError,
)
from tracertools.geometry.mesh import Mesh
from tracertools.geometry.precomputed import create_volume, read_info, volume_url, write_mesh

RESOLUTION = [4, 4, 45]


@pytest.fixture
def sphere() -> Mesh:
    """An icosphere 2 µm across at dataset-like nm coordinates (float32-exact)."""
    tm = trimesh.creation.icosphere(subdivisions=3, radius=1000.0)
    vertices = (tm.vertices + [500_000.0, 400_000.0, 90_000.0]).astype(np.float32)
    return Mesh(vertices.astype(np.float64), tm.faces)


@pytest.fixture
def mem_url() -> str:
    return f"mem://tracertools-test-{uuid.uuid4().hex}/volume"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1 (ephemeral port): (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def test_file_volume_reads_back_equal_with_cloudvolume(tmp_path, sphere):
    url = sphere.write_precomputed(f"file://{tmp_path}/vol", resolution=RESOLUTION)
    got = cloudvolume.CloudVolume(url).mesh.get(1, remove_duplicate_vertices=False)
    assert np.array_equal(got.vertices, sphere.vertices)
    assert np.array_equal(got.faces, sphere.faces)


def test_file_volume_reads_back_equal_with_from_precomputed(tmp_path, sphere):
    url = sphere.write_precomputed(f"file://{tmp_path}/vol", resolution=RESOLUTION)
    assert Mesh.from_precomputed(url) == sphere


def test_cloudvolume_default_read_holds_the_same_surface(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION)
    got = cloudvolume.CloudVolume(url).mesh.get(1)  # deduplicated and reordered by cloud-volume
    assert sorted(map(tuple, got.vertices.tolist())) == sorted(map(tuple, sphere.vertices.tolist()))
    assert len(got.faces) == len(sphere.faces)


def test_mem_volume_round_trips(mem_url, sphere):
    url = sphere.write_precomputed(mem_url, resolution=RESOLUTION, segment_id=42)
    got = cloudvolume.CloudVolume(url).mesh.get(42, remove_duplicate_vertices=False)
    assert np.array_equal(got.vertices, sphere.vertices)
    assert Mesh.from_precomputed(url, segment_id=42) == sphere


def test_a_bare_mesh_folder_url_reads_too(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION)
    assert Mesh.from_precomputed(f"precomputed://{url}/mesh/") == sphere


def test_float64_vertices_are_stored_as_float32_nm(tmp_path):
    tm = trimesh.creation.icosphere(subdivisions=1, radius=1000.1)
    mesh = Mesh(tm.vertices + 123_456.789, tm.faces)
    got = Mesh.from_precomputed(mesh.write_precomputed(tmp_path / "v", resolution=RESOLUTION))
    assert np.array_equal(got.vertices, mesh.vertices.astype(np.float32))


def _write_multires_box(root: Path, segment_id: int) -> None:
    """A real multi-resolution (Draco) volume holding one box: 400 x 800 x 400 nm at
    (4000, 8000, 12000) nm. Model space is voxels at 4 x 4 x 40 nm; one LOD, one fragment."""
    import DracoPy
    from cloudvolume.datasource.precomputed.mesh.multilod import (
        MultiLevelPrecomputedMeshManifest,
    )

    box = trimesh.creation.box(extents=(1, 1, 1))
    box.apply_translation((0.5, 0.5, 0.5))
    quantized = box.vertices * 65535  # corners at 0 and 2**16 - 1: exact
    fragment = DracoPy.encode(quantized, box.faces, quantization_bits=16,
                              quantization_range=65535, quantization_origin=[0, 0, 0],
                              preserve_order=True)
    manifest = MultiLevelPrecomputedMeshManifest(
        segment_id, chunk_shape=[100, 200, 10], grid_origin=[1000, 2000, 300], num_lods=1,
        lod_scales=[1], vertex_offsets=[[0, 0, 0]], num_fragments_per_lod=[1],
        fragment_positions=[[[0, 0, 0]]], fragment_offsets=[len(fragment)],
    )
    (root / "mesh").mkdir(parents=True)
    (root / "mesh" / f"{segment_id}.index").write_bytes(manifest.to_binary())
    (root / "mesh" / str(segment_id)).write_bytes(fragment)
    (root / "mesh" / "info").write_text(json.dumps({
        "@type": "neuroglancer_multilod_draco", "vertex_quantization_bits": 16,
        "transform": [4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 40, 0], "lod_scale_multiplier": 1,
    }))
    scale = {"encoding": "raw", "chunk_sizes": [[64, 64, 64]], "key": "4_4_40",
             "resolution": [4, 4, 40], "voxel_offset": [0, 0, 0], "size": [10000, 10000, 1000]}
    (root / "info").write_text(json.dumps({
        "num_channels": 1, "type": "segmentation", "data_type": "uint64", "scales": [scale],
        "mesh": "mesh",
    }))


def test_multiresolution_mesh_reads_in_nm(tmp_path):
    _write_multires_box(tmp_path / "mr", segment_id=5)
    box = Mesh.from_precomputed(tmp_path / "mr", segment_id=5)
    assert box.bounds.tolist() == [[4000, 8000, 12000], [4400, 8800, 12400]]
    assert box.is_watertight and box.volume_nm3 == pytest.approx(400 * 800 * 400)


def test_multiresolution_missing_id_names_the_id(tmp_path):
    _write_multires_box(tmp_path / "mr", segment_id=5)
    with pytest.raises(ServiceError, match="no mesh for segment ID 6"):
        Mesh.from_precomputed(tmp_path / "mr", segment_id=6)


def test_missing_id_in_a_local_volume_names_the_id(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION)
    with pytest.raises(ServiceError, match="no mesh for segment ID 2"):
        Mesh.from_precomputed(url, segment_id=2)


def test_volume_without_meshes_says_so(mem_url):
    from cloudfiles import CloudFiles

    CloudFiles(mem_url).put_json("info", {"type": "image", "scales": []})
    with pytest.raises(ServiceError, match="has no meshes"):
        Mesh.from_precomputed(mem_url)


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def test_volume_served_over_http_reads_back(http_root, sphere):
    root, base = http_root
    sphere.write_precomputed(root / "vol", resolution=RESOLUTION)
    assert Mesh.from_precomputed(f"{base}/vol") == sphere


def test_neuroglancer_pipe_suffix_url_reads_back(http_root, sphere):
    root, base = http_root
    sphere.write_precomputed(root / "vol", resolution=RESOLUTION)
    assert Mesh.from_precomputed(f"{base}/vol/|neuroglancer-precomputed:") == sphere
    assert Mesh.from_precomputed(f"precomputed://{base}/vol") == sphere


def test_missing_id_over_http_names_the_id(http_root, sphere):
    root, base = http_root
    sphere.write_precomputed(root / "vol", resolution=RESOLUTION)
    with pytest.raises(ServiceError, match="no mesh for segment ID 9"):
        Mesh.from_precomputed(f"{base}/vol", segment_id=9)


def test_missing_volume_over_http_is_a_service_error(http_root):
    _, base = http_root
    with pytest.raises(ServiceError, match="no precomputed volume"):
        Mesh.from_precomputed(f"{base}/nothing-here")


def test_error_messages_mask_credentials_in_urls(http_root):
    _, base = http_root
    secret_url = base.replace("http://", "http://reader:s3cret@") + "/nothing?token=abc123"
    with pytest.raises(ServiceError) as caught:
        Mesh.from_precomputed(secret_url)
    assert "s3cret" not in str(caught.value) and "abc123" not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Files written
# ---------------------------------------------------------------------------------------------


def test_info_files_describe_a_legacy_mesh_volume(tmp_path, sphere):
    sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION, volume_size=[100, 200, 30],
                             chunk_size=[64, 64, 8])
    info = json.loads((tmp_path / "vol" / "info").read_text())
    assert info == {
        "num_channels": 1,
        "type": "segmentation",
        "data_type": "uint64",
        "scales": [{"encoding": "raw", "chunk_sizes": [[64, 64, 8]], "key": "4_4_45",
                    "resolution": [4, 4, 45], "voxel_offset": [0, 0, 0], "size": [100, 200, 30]}],
        "mesh": "mesh",
    }
    assert json.loads((tmp_path / "vol" / "mesh" / "info").read_text()) == {
        "@type": "neuroglancer_legacy_mesh",
        "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
    }
    assert json.loads((tmp_path / "vol" / "mesh" / "1:0").read_text()) == {"fragments": ["1:0:1"]}


def test_volume_size_defaults_to_the_voxel_box_around_the_mesh(tmp_path, sphere):
    sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION)
    scale = read_info(tmp_path / "vol")["scales"][0]
    # bounds 499000..501000, 399000..401000, 89000..91000 nm at 4 x 4 x 45 nm per voxel
    assert scale["voxel_offset"] == [124750, 99750, 1977]
    assert scale["size"] == [500, 500, 46]


def test_existing_volume_is_not_overwritten_without_asking(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION)
    box = Mesh.from_trimesh(trimesh.creation.box(extents=(10, 10, 10)))
    with pytest.raises(ConfirmationRequiredError, match="overwrite=True"):
        box.write_precomputed(url, resolution=RESOLUTION)
    assert Mesh.from_precomputed(url) == sphere
    box.write_precomputed(url, resolution=RESOLUTION, overwrite=True)
    assert Mesh.from_precomputed(url) == box


def test_windows_names_forced_on_linux_round_trip(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION, windows_names=True)
    assert sorted(p.name for p in (tmp_path / "vol" / "mesh").iterdir()) == [
        "1___0", "1___0___1", "info",
    ]
    assert json.loads((tmp_path / "vol" / "mesh" / "1___0").read_text()) == {
        "fragments": ["1:0:1"]
    }
    assert Mesh.from_precomputed(url) == sphere


def test_overwriting_in_the_other_naming_leaves_one_copy(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION, windows_names=True)
    sphere.write_precomputed(url, resolution=RESOLUTION, overwrite=True, windows_names=False)
    assert sorted(p.name for p in (tmp_path / "vol" / "mesh").iterdir()) == [
        "1:0", "1:0:1", "info",
    ]


def test_windows_names_are_refused_for_remote_volumes(mem_url, sphere):
    with pytest.raises(InvalidInputError, match="local"):
        sphere.write_precomputed(mem_url, resolution=RESOLUTION, windows_names=True)


def test_corrupt_fragment_is_an_invalid_geometry_error(tmp_path, sphere):
    url = sphere.write_precomputed(tmp_path / "vol", resolution=RESOLUTION, windows_names=True)
    (tmp_path / "vol" / "mesh" / "1___0___1").write_bytes(b"\x05\x00\x00\x00abc")
    with pytest.raises(InvalidGeometryError, match="corrupt"):
        Mesh.from_precomputed(url)


def test_create_volume_writes_an_empty_volume(mem_url):
    url = create_volume(mem_url, resolution=[8, 8, 40], volume_size=[10, 10, 10])
    assert read_info(url)["scales"][0]["resolution"] == [8, 8, 40]
    assert read_info(url + "/mesh")["@type"] == "neuroglancer_legacy_mesh"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": [4, 4]}, "resolution"),
        ({"resolution": RESOLUTION, "volume_size": [10, 0, 10]}, "volume_size"),
        ({"resolution": RESOLUTION, "segment_id": -1}, "segment_id"),
        ({"resolution": RESOLUTION, "segment_id": True}, "segment_id"),
    ],
)
def test_bad_write_arguments_are_refused(mem_url, sphere, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        write_mesh(sphere, mem_url, **kwargs)


# ---------------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("gs://bucket/vol/", "gs://bucket/vol"),
        ("precomputed://s3://bucket/vol", "s3://bucket/vol"),
        ("https://host/vol|neuroglancer-precomputed:", "https://host/vol"),
        ("precomputed://https://host/vol/|neuroglancer-precomputed:", "https://host/vol"),
        ("nokura://tracers/meshes/banc/image", "nokura://tracers/meshes/banc/image"),
        ("/data/vol/", "file:///data/vol"),
    ],
)
def test_volume_url_normalises_the_forms_neuroglancer_uses(url, expected):
    assert volume_url(url) == expected


@pytest.mark.parametrize("url", ["graphene://https://host/seg", "gs://a|b", "", 7])
def test_volume_url_refuses_other_formats_and_junk(url):
    with pytest.raises(InvalidInputError):
        volume_url(url)
