"""viewer: the local precomputed server (real HTTP on loopback) and the offscreen PNG render."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from tracertools.errors import InvalidInputError
from tracertools.geometry.skeleton import Skeleton
from tracertools.geometry.viewer import RenderingUnavailableError, render, serve_precomputed, show

# A tetrahedron (nm) as a neuroglancer legacy mesh fragment:
# uint32 vertex count, float32 xyz per vertex, uint32 vertex indices per triangle.
TETRA_VERTICES = np.array([[0, 0, 0], [400, 0, 0], [0, 400, 0], [0, 0, 900]], dtype=np.float32)
TETRA_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], dtype=np.uint32)
FRAGMENT = (
    np.uint32(len(TETRA_VERTICES)).tobytes() + TETRA_VERTICES.tobytes() + TETRA_FACES.tobytes()
)
INFO = {
    "type": "segmentation",
    "data_type": "uint64",
    "num_channels": 1,
    "mesh": "mesh",
    "scales": [
        {
            "key": "4_4_40",
            "resolution": [4, 4, 40],
            "size": [256, 256, 64],
            "voxel_offset": [0, 0, 0],
            "chunk_sizes": [[64, 64, 64]],
            "encoding": "raw",
        }
    ],
}


def write_volume(root: Path, *, windows_names: bool = False) -> Path:
    """A precomputed volume holding segment 1's mesh, the fragment gzipped as cloud-volume does."""
    colon = "___" if windows_names else ":"
    (root / "mesh").mkdir(parents=True)
    (root / "info").write_text(json.dumps(INFO))
    (root / "mesh" / "info").write_text(json.dumps({"@type": "neuroglancer_legacy_mesh"}))
    manifest = {"fragments": ["1:0:1"]}
    (root / "mesh" / f"1{colon}0").write_text(json.dumps(manifest))
    (root / "mesh" / f"1{colon}0{colon}1.gz").write_bytes(gzip.compress(FRAGMENT))
    return root


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    return write_volume(tmp_path / "vol")


@pytest.fixture
def server(volume: Path):
    with serve_precomputed(volume) as srv:
        yield srv


def raw_get(srv, path: str) -> http.client.HTTPResponse:
    """GET a request target exactly as written (requests would normalise '..' away)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


# ---------------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------------


def test_serves_files_with_cors_headers(server):
    response = requests.get(f"{server.url}/info", timeout=5)
    assert response.status_code == 200
    assert response.json() == INFO
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == "application/json"


def test_answers_cors_preflight(server):
    response = requests.options(
        f"{server.url}/mesh/1:0",
        headers={
            "Origin": "https://spelunker.cave-explorer.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
        timeout=5,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET",
        "HEAD",
        "OPTIONS",
    }
    assert "Range" in response.headers["Access-Control-Allow-Headers"]


def test_gzipped_file_is_served_under_its_plain_name_with_content_encoding(server):
    response = requests.get(f"{server.url}/mesh/1:0:1", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.content == FRAGMENT  # requests undoes the gzip, as a browser does


def test_byte_range_gives_partial_content(server, volume):
    whole = (volume / "mesh" / "1:0").read_bytes()
    response = requests.get(f"{server.url}/mesh/1:0", headers={"Range": "bytes=2-10"}, timeout=5)
    assert response.status_code == 206
    assert response.content == whole[2:11] == b"fragments"
    assert response.headers["Content-Range"] == f"bytes 2-10/{len(whole)}"


def test_missing_file_is_404(server):
    assert requests.get(f"{server.url}/mesh/2:0", timeout=5).status_code == 404


def test_writes_are_refused(server):
    assert requests.put(f"{server.url}/info", data=b"{}", timeout=5).status_code == 405


@pytest.mark.parametrize(
    "target",
    ["/../secret.txt", "/mesh/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt"],
    ids=["dotdot", "nested-dotdot", "encoded-dotdot", "encoded-slash"],
)
def test_paths_leaving_the_folder_are_403(server, volume, target):
    (volume.parent / "secret.txt").write_text("secret")
    assert raw_get(server, target).status == 403


def test_absolute_paths_are_403(server):
    assert raw_get(server, "//etc/passwd").status == 403
    assert raw_get(server, "/%2Fetc%2Fpasswd").status == 403


def test_symlink_leading_out_of_the_folder_is_403(server, volume):
    secret = volume.parent / "secret.txt"
    secret.write_text("secret")
    (volume / "leak").symlink_to(secret)
    response = requests.get(f"{server.url}/leak", timeout=5)
    assert response.status_code == 403
    assert "secret" not in response.text


def test_binds_to_127_0_0_1_only(server):
    assert server.host == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.port}"
    # Another loopback address reaches a server bound to all interfaces, but not this one.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", server.port), timeout=2).close()


def test_cloudvolume_reads_the_mesh_through_the_server(server):
    from cloudvolume import CloudVolume

    mesh = CloudVolume(server.url, progress=False).mesh.get(1)
    np.testing.assert_allclose(np.sort(mesh.vertices, axis=0), np.sort(TETRA_VERTICES, axis=0))
    assert len(mesh.faces) == 4


def test_windows_colon_names_are_found_under_their_colon_names(tmp_path):
    from cloudvolume import CloudVolume

    root = write_volume(tmp_path / "winvol", windows_names=True)
    with serve_precomputed(root) as srv:
        assert requests.get(f"{srv.url}/mesh/1:0", timeout=5).json() == {"fragments": ["1:0:1"]}
        assert len(CloudVolume(srv.url, progress=False).mesh.get(1).faces) == 4


def test_stop_frees_the_port(volume):
    srv = serve_precomputed(volume)
    port = srv.port
    srv.stop()
    assert not srv.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/info", timeout=2)
    with serve_precomputed(volume, port=port) as again:
        assert requests.get(f"{again.url}/info", timeout=5).status_code == 200


def test_context_manager_stops_the_server(volume):
    with serve_precomputed(volume) as srv:
        assert srv.running
    assert not srv.running


def test_missing_folder_raises_before_binding(tmp_path):
    with pytest.raises(InvalidInputError, match="No such volume folder"):
        serve_precomputed(tmp_path / "nope")


def test_file_url_prefix_is_accepted(volume):
    with serve_precomputed(f"file://{volume}") as srv:
        assert srv.root == volume.resolve()


# ---------------------------------------------------------------------------------------------
# show() and render()
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY matters on Linux only")
def test_show_without_a_display_raises_and_points_to_render(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    sk = Skeleton([[0, 0, 0], [1, 0, 0]], [[0, 1]])
    with pytest.raises(RenderingUnavailableError, match="render"):
        show(sk)


def demo_neuron(seed: int, origin: tuple[float, float, float]) -> Skeleton:
    """A synthetic neuron: branches of 40 steps of 800 nm, radius tapering from 900 to 60 nm."""
    rng = np.random.default_rng(seed)
    vertices = [np.asarray(origin, dtype=float)]
    radii = [900.0]
    edges = []
    for _ in range(6):
        parent = int(rng.integers(len(vertices)))
        direction = rng.normal(size=3)
        radius = radii[parent]
        for _ in range(40):
            direction = direction + rng.normal(scale=0.15, size=3)
            direction[2] *= 0.1  # mostly in the xy plane, as the camera sees it
            direction /= np.linalg.norm(direction)
            vertices.append(vertices[parent] + 800.0 * direction)
            radius = max(60.0, radius * 0.96)
            radii.append(radius)
            edges.append((len(vertices) - 1, parent))
            parent = len(vertices) - 1
    return Skeleton(np.array(vertices), np.array(edges), np.array(radii), segment_id=seed)


def read_png(path: Path) -> np.ndarray:
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
    """How many pixels are within ``tolerance`` of ``rgb`` on every channel."""
    diff = np.abs(pixels.astype(int) - np.asarray(rgb, dtype=int))
    return int(np.all(diff <= tolerance, axis=-1).sum())


BACKGROUND_RGB = (0, 16, 33)
VIRIDIS_LOW, VIRIDIS_HIGH = (68, 1, 84), (253, 231, 37)


def test_render_draws_both_skeletons_coloured_by_radius_with_a_legend(tmp_path):
    left, right = demo_neuron(1, (0, 0, 0)), demo_neuron(2, (60_000, 0, 0))

    out = render([left, right], tmp_path / "pics" / "two.png", size=(800, 600))

    assert out == tmp_path / "pics" / "two.png"
    pixels = read_png(out)
    assert pixels.shape == (600, 800, 3)
    scene, legend = pixels[:, :680], pixels[:, 680:]
    drawn = ~np.all(np.abs(scene.astype(int) - BACKGROUND_RGB) <= 2, axis=-1)
    assert drawn.sum() > 2_000
    columns = np.flatnonzero(drawn.any(axis=0))
    assert columns.min() < 300 and columns.max() > 380  # one neuron on each side
    assert len(np.unique(scene[drawn], axis=0)) > 100  # shaded, colour-mapped tubes
    assert near(legend, VIRIDIS_LOW) > 50 and near(legend, VIRIDIS_HIGH) > 50
    assert near(scene, VIRIDIS_HIGH, tolerance=40) > 0  # the thick trunks are yellow


def test_render_without_radii_draws_grey_bones_and_no_legend(tmp_path):
    bare = Skeleton(demo_neuron(3, (0, 0, 0)).vertices, demo_neuron(3, (0, 0, 0)).edges)

    pixels = read_png(render(bare, tmp_path / "bare.png", style="lines"))

    legend = pixels[:, 680:]
    assert np.all(np.abs(legend.astype(int) - BACKGROUND_RGB) <= 2)
    assert near(pixels[:, :680], (191, 191, 191), tolerance=30) > 100


def test_render_rejects_an_unknown_colormap(tmp_path):
    with pytest.raises(InvalidInputError, match="colormap"):
        render(demo_neuron(1, (0, 0, 0)), tmp_path / "x.png", colormap="no-such-map")
