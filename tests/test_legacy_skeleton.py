"""Legacy shims get_bones and host_ng_volume_locally: original arguments and return shapes."""

from __future__ import annotations

import _thread
import inspect
import json
import os
import signal
import socket
import threading
import time

import numpy as np
import osteoid
import pytest
import requests

from tracertools.errors import InvalidInputError, UnknownDatastackError
from tracertools.geometry.skeleton import Skeleton
from tracertools.legacy import _skeleton
from tracertools.legacy._skeleton import get_bones, host_ng_volume_locally

BANC = "brain_and_nerve_cord"  # viewer resolution (4, 4, 45) nm per voxel
VERTICES_NM = np.array([[400.0, 800.0, 450.0], [440.0, 800.0, 900.0], [400.0, 1200.0, 450.0]])
EDGES = np.array([[1, 0], [2, 0]])


def original_style_skeleton() -> osteoid.Skeleton:
    """Built as the original get_seg_skeletons did: nm vertices, diag(resolution), physical."""
    matrix = np.zeros((3, 4), dtype=np.float32)
    matrix[:, :3] = np.diag([4, 4, 45])
    return osteoid.Skeleton(
        VERTICES_NM, EDGES, radii=np.array([50.0, 40.0, 30.0]), transform=matrix, space="physical"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_all_is_sorted():
    assert _skeleton.__all__ == sorted(_skeleton.__all__) == ["get_bones", "host_ng_volume_locally"]


def test_get_bones_gives_endpoints_in_viewer_voxels_of_the_datastack():
    bones = get_bones(BANC, original_style_skeleton())
    assert bones.shape == (2, 2, 3) and bones.dtype == np.float64
    np.testing.assert_allclose(bones[0], [[110, 200, 20], [100, 200, 10]])
    np.testing.assert_allclose(bones[1], [[100, 300, 10], [100, 200, 10]])


def test_get_bones_accepts_a_tracertools_skeleton():
    sk = Skeleton(VERTICES_NM, EDGES)
    np.testing.assert_array_equal(get_bones(BANC, sk), get_bones(BANC, original_style_skeleton()))


def test_get_bones_unknown_datastack_raises_a_key_error():
    with pytest.raises(UnknownDatastackError) as info:
        get_bones("no_such_datastack", original_style_skeleton())
    assert isinstance(info.value, KeyError)


def test_host_ng_volume_locally_missing_folder_raises_before_binding(tmp_path):
    port = free_port()
    with pytest.raises(InvalidInputError, match="No such volume folder"):
        host_ng_volume_locally(str(tmp_path / "missing") + "/", port=port)
    with socket.socket() as s:  # nothing was left listening on the port
        s.bind(("127.0.0.1", port))


def serve_until_signalled(folder, port: int, signum: int) -> dict[str, object]:
    """Run host_ng_volume_locally here (the main thread) until a helper thread, once the server
    has answered ``GET /info``, sends ``signum`` to this process. Returns what the helper saw.

    The helper gives up waiting for an answer after 10 s and sends the signal anyway, so a
    server that never answers still gets stopped, and it is joined whatever happens.
    """
    seen: dict[str, object] = {}
    returned = threading.Event()

    def client() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not returned.is_set():
            try:
                response = requests.get(f"http://127.0.0.1:{port}/info", timeout=2)
            except requests.ConnectionError:
                time.sleep(0.05)
                continue
            seen["status"] = response.status_code
            seen["cors"] = response.headers.get("Access-Control-Allow-Origin")
            break
        if not returned.is_set():
            os.kill(os.getpid(), signum)

    helper = threading.Thread(target=client, name="signal-sender")
    helper.start()
    try:
        seen["returned"] = host_ng_volume_locally(str(folder) + "/", port=port)
    finally:
        returned.set()
        helper.join()
    return seen


@pytest.fixture
def volume_folder(tmp_path):
    (tmp_path / "info").write_text(json.dumps({"type": "segmentation"}))
    return tmp_path


def assert_port_closed(port: int) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/info", timeout=2)


def test_host_ng_volume_locally_serves_until_ctrl_c(volume_folder):
    port = free_port()
    seen = serve_until_signalled(volume_folder, port, signal.SIGINT)
    assert seen == {"status": 200, "cors": "*", "returned": None}
    assert_port_closed(port)


def test_host_ng_volume_locally_stops_on_ctrl_c_when_started_with_sigint_ignored(
    volume_folder, sigint_ignored
):
    port = free_port()  # as from a background job (`cmd &`, nohup, schedulers): SIGINT ignored
    seen = serve_until_signalled(volume_folder, port, signal.SIGINT)
    assert seen == {"status": 200, "cors": "*", "returned": None}
    assert_port_closed(port)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # the inherited disposition is back


def test_host_ng_volume_locally_stops_cleanly_on_sigterm(volume_folder, sigterm_fallback):
    port = free_port()
    seen = serve_until_signalled(volume_folder, port, signal.SIGTERM)
    assert seen == {"status": 200, "cors": "*", "returned": None}
    assert_port_closed(port)
    assert signal.getsignal(signal.SIGTERM) is sigterm_fallback  # the previous handler is back


def test_get_bones_divides_float32_vertices_in_float32():
    vertices = np.array([[401.3, 800.7, 451.1], [440.9, 803.3, 903.7]], dtype=np.float32)
    skeleton = osteoid.Skeleton(vertices, np.array([[0, 1]]), space="physical")
    bones = get_bones(BANC, skeleton)
    assert bones.dtype == np.float64 and bones.shape == (1, 2, 3)
    # the original divided each float32 number by the config's int resolution: float32 maths
    want = (vertices / np.array([4, 4, 45], dtype=np.float32)).astype(np.float64)
    np.testing.assert_array_equal(bones[0], want)
    assert not np.array_equal(bones[0], vertices.astype(np.float64) / [4, 4, 45])


def test_get_bones_of_a_skeleton_without_edges_has_shape_0():
    skeleton = osteoid.Skeleton(VERTICES_NM, np.zeros((0, 2), dtype=np.int64), space="physical")
    bones = get_bones(BANC, skeleton)
    assert bones.shape == (0,) and bones.dtype == np.float64


def test_host_ng_volume_locally_serves_on_the_originals_port_by_default():
    assert inspect.signature(host_ng_volume_locally).parameters["port"].default == 1337
    doc = inspect.getdoc(host_ng_volume_locally)
    assert "1337" in doc and "8080" not in doc


def test_host_ng_volume_locally_shows_the_address_to_paste(tmp_path, capsys):
    (tmp_path / "info").write_text(json.dumps({"type": "segmentation"}))
    port = free_port()
    stopper = threading.Timer(0.5, _thread.interrupt_main)
    stopper.start()
    try:
        host_ng_volume_locally(str(tmp_path), port=port)
    finally:
        stopper.cancel()
    assert capsys.readouterr().out == f"Neuroglancer server listening to http://localhost:{port}\n"
