"""Links built here, opened in a real neuroglancer (its own client, headless Chromium).

Each test serves one state with the web client that the ``neuroglancer`` package ships (its
Python server on 127.0.0.1), loads it in Debian's Chromium with SwiftShader WebGL, and checks
what the viewer itself reports: no console errors, every layer's sources loaded, the layers
and segments of the state present in the viewer's own state; then it saves a screenshot and
checks it is not blank. The browser fetches every source itself from LocalCave (graphene over
``middleauth+https`` with a bearer token, precomputed meshes over HTTP with CORS).

Chromium missing or failing to start fails these tests with the reason; they never skip.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _cdp import ChromiumUnavailableError
from _viewer import Opened, open_in_chromium

from tracertools.geometry.viewer import serve_precomputed
from tracertools.ngl import State
from tracertools.testing import LocalCave

RES = np.array([4.0, 4.0, 45.0])


def _open(cave: LocalCave, state: dict[str, Any]) -> Opened:
    try:
        return open_in_chromium(
            state,
            tokens={cave.https_url: cave.token},
            chromium_args=[f"--ignore-certificate-errors-spki-list={cave.certificate_spki}"],
        )
    except ChromiumUnavailableError as exc:
        pytest.fail(f"headless Chromium is needed for this test and could not start: {exc}")


def _save(opened: Opened, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    path.write_bytes(opened.screenshot)
    return path


def _drawn_pixels(opened: Opened) -> int:
    """Pixels of the view panels that the state's layers changed (shown vs all hidden).

    The top strip (coordinates and layer chips, whose look follows visibility) is left out.
    """
    from PIL import Image

    shown, empty = (np.asarray(Image.open(io.BytesIO(p)).convert("RGB"), dtype=np.int16)
                    for p in (opened.screenshot, opened.empty))
    assert shown.shape == empty.shape and shown.shape[0] > 100
    panels = slice(60, None)
    return int(np.count_nonzero(np.abs(shown[panels] - empty[panels]).max(axis=2) > 24))


def _check(opened: Opened, state: dict[str, Any]) -> None:
    assert opened.errors == []
    assert [layer["name"] for layer in opened.layers] == [layer["name"] for layer in state["layers"]]
    for layer in opened.layers:
        assert layer["sources"] and all(s == "loaded" for s in layer["sources"]), layer
    own = {layer["name"]: layer for layer in opened.state["layers"]}
    for layer in state["layers"]:
        if layer["type"] == "segmentation":
            assert set(own[layer["name"]].get("segments", [])) == set(layer.get("segments", []))
        if layer["type"] == "annotation":
            expected = [a["id"] for a in layer.get("annotations", [])]
            assert [a["id"] for a in own[layer["name"]].get("annotations", [])] == expected
    assert opened.screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert _drawn_pixels(opened) > 1000  # the layers drew something


def test_a_long_link_opens_with_its_segments_and_points(https_cave, screenshot_dir):
    ds = https_cave.datastack()
    world = https_cave.world
    roots = [world.neuron_root(0), world.neuron_root(1)]
    somas = ds.annotation_layer("somas", [world.soma_position(0), world.soma_position(1)],
                                color="#ff00ff")
    url = ds.link(roots, segment_colors=["#00ffff", "#ffaa00"], annotation_layers=[somas],
                  position=world.soma_position(0), short=False)
    state = State.from_url(url).to_dict()
    assert state["layers"][0]["source"].startswith("graphene://middleauth+https://127.0.0.1:")

    opened = _open(https_cave, state)

    _check(opened, state)
    seg = next(layer for layer in opened.state["layers"] if layer["name"] == "Segmentation")
    assert set(seg["segments"]) == {str(r) for r in roots}
    assert {k: v.lower() for k, v in seg["segmentColors"].items()} == {
        str(roots[0]): "#00ffff", str(roots[1]): "#ffaa00"}
    assert https_cave.stats["leaves"] > 0  # the browser read the chunkedgraph itself
    _save(opened, screenshot_dir, "long-link")


def test_an_edits_link_opens_with_every_edit_as_a_line(https_cave, screenshot_dir):
    ds = https_cave.datastack()
    world = https_cave.world
    edited = next(r for r in (world.neuron_root(k) for k in range(8)) if world.edits(r))
    seg = ds.segment(edited)
    state = ds.state(seg.edits_link(short=True)).to_dict()  # stored, then fetched back

    opened = _open(https_cave, state)

    _check(opened, state)
    own = {layer["name"]: layer for layer in opened.state["layers"]}
    lines = own["Edits"]["annotations"]
    assert len(lines) == len(seg.edits()) == len(world.edits(edited))
    assert all(a["type"] == "line" for a in lines)
    assert str(edited) in own["Segmentation"]["segments"]
    _save(opened, screenshot_dir, "edits-link")


def _ball(centre_nm: np.ndarray, radius_nm: float, n: int = 80) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    unit = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)
    return np.vstack([centre_nm + radius_nm * unit, [centre_nm]])


def test_a_mesh_from_points_opens_with_its_mesh_and_point_layers(https_cave, screenshot_dir,
                                                                 tmp_path):
    ds = https_cave.datastack()
    world = https_cave.world
    centre = np.asarray(world.soma_position(2), dtype=float) * RES
    parts = [_ball(centre, 700.0), _ball(centre + [900.0, 0, 0], 700.0)]
    layers = [ds.annotation_layer(f"region {k}", p / RES) for k, p in enumerate(parts)]
    points_state = ds.state_for([world.neuron_root(2)], annotation_layers=layers)
    folder = tmp_path / "region"
    folder.mkdir()
    with serve_precomputed(folder) as server:
        result = ds.mesh_from_points(points_state, folder, short=False,
                                     mesh_source_url=server.neuroglancer_source)
        state = ds.state(result.link).to_dict()

        opened = _open(https_cave, state)

    _check(opened, state)
    names = [layer["name"] for layer in opened.state["layers"]]
    assert names[:3] == ["Segmentation", "region 0", "region 1"]
    mesh_layer = next(layer for layer in opened.state["layers"] if layer["name"].startswith("Mesh"))
    source = mesh_layer["source"]
    assert (source if isinstance(source, str) else source["url"]) == server.neuroglancer_source
    assert mesh_layer["segments"] == ["1"]
    _save(opened, screenshot_dir, "mesh-from-points")
