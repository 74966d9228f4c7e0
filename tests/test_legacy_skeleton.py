"""Legacy shims get_bones and host_ng_volume_locally: original arguments and return shapes."""

from __future__ import annotations

import _thread
import inspect
import json
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


def test_host_ng_volume_locally_serves_until_ctrl_c(tmp_path):
    (tmp_path / "info").write_text(json.dumps({"type": "segmentation"}))
    port = free_port()
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
            seen["status"], seen["cors"] = response.status_code, response.headers.get(
                "Access-Control-Allow-Origin"
            )
            break
        if not returned.is_set():
            _thread.interrupt_main()  # Ctrl-C for the blocked main thread

    helper = threading.Thread(target=client)
    helper.start()
    try:
        assert host_ng_volume_locally(str(tmp_path) + "/", port=port) is None
    finally:
        returned.set()
        helper.join()
    assert seen == {"status": 200, "cors": "*"}
    with pytest.raises(requests.ConnectionError):  # stopped after Ctrl-C
        requests.get(f"http://127.0.0.1:{port}/info", timeout=2)


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
