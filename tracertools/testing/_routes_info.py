"""Info service, schema probe, JSON state service, viewer probe and static precomputed data."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.testing.server import (
    CaveApp,
    HttpError,
    Request,
    Response,
    Route,
    json_response,
    route,
)

if TYPE_CHECKING:
    from tracertools.testing._worldapi import CaveWorld

INFO_VERSION = "4.3.3"
STATE_VERSION = "0.7.2"
_BBOX = re.compile(r"(\d+)-(\d+)_(\d+)-(\d+)_(\d+)-(\d+)")


def datastack_info(app: CaveApp) -> dict[str, Any]:
    """The info service's full datastack object (§1.3 of the wire contract)."""
    w, base = app.world, app.base_url
    return {
        "aligned_volume": {
            "id": 1,
            "name": app.aligned_volume,
            "display_name": app.aligned_volume,
            "description": "LocalCave synthetic aligned volume",
            "image_source": f"precomputed://{base}/static/em",
        },
        "datastack": app.datastack,
        "segmentation_source": f"graphene://{base}/segmentation/table/{app.table}",
        "skeleton_source": f"precomputed://{base}/skeletoncache/api/v1/{app.datastack}/precomputed/skeleton",
        "analysis_database": None,
        "viewer_site": f"{base}/ngl/",
        "synapse_table": "synapses",
        "soma_table": None,
        "local_server": base,
        "description": w.summary(),
        "viewer_resolution_x": w.resolution[0],
        "viewer_resolution_y": w.resolution[1],
        "viewer_resolution_z": w.resolution[2],
        "synapse_segmentation_source": f"graphene://{base}/segmentation/table/{app.table}",
        "proofreading_status_table": "proofreading_status",
        "cell_identification_table": "cell_info",
        "proofreading_review_table": None,
    }


def _aligned_volume(app: CaveApp) -> dict[str, Any]:
    return dict(datastack_info(app)["aligned_volume"])


def precomputed_info(app: CaveApp, mesh: bool) -> dict[str, Any]:
    """Precomputed info of a mesh volume in viewer voxels (resolution = viewer resolution)."""
    w = app.world
    size = [int(np.ceil(s * r / v)) for s, r, v in zip(w.shape, w.seg_resolution, w.resolution, strict=True)]
    info: dict[str, Any] = {
        "@type": "neuroglancer_multiscale_volume",
        "type": "segmentation",
        "data_type": "uint64",
        "num_channels": 1,
        "scales": [
            {
                "key": "_".join(f"{v:g}" for v in w.resolution),
                "resolution": list(w.resolution),
                "voxel_offset": [0, 0, 0],
                "size": size,
                "chunk_sizes": [[64, 64, 64]],
                "encoding": "raw",
            }
        ],
    }
    if mesh:
        info["mesh"] = "mesh"
    return info


def ws_info(app: CaveApp) -> dict[str, Any]:
    """Precomputed info of the watershed layer (seg mip 0)."""
    w = app.world
    return {
        "@type": "neuroglancer_multiscale_volume",
        "type": "segmentation",
        "data_type": "uint64",
        "num_channels": 1,
        "scales": [
            {
                "key": ws_key(app),
                "resolution": list(w.seg_resolution),
                "voxel_offset": [0, 0, 0],
                "size": list(w.shape),
                "chunk_sizes": [list(w.ws_chunk_size)],
                "encoding": "raw",
            }
        ],
    }


def ws_key(app: CaveApp) -> str:
    return "_".join(f"{v:g}" for v in app.world.seg_resolution)


def routes(app: CaveApp) -> list[Route]:
    w = app.world

    def info_version(req: Request) -> Response:
        return json_response(INFO_VERSION)

    def datastacks(req: Request) -> Response:
        return json_response([app.datastack])

    def ds_info(req: Request) -> Response:
        if req.params["ds"] != app.datastack:
            raise HttpError(404, f"datastack {req.params['ds']!r} not found")
        return json_response(datastack_info(app))

    def aligned_volumes(req: Request) -> Response:
        return json_response([app.aligned_volume])

    def aligned_volume(req: Request) -> Response:
        if req.params["av"] != app.aligned_volume:
            raise HttpError(404, "aligned volume not found")
        return json_response(_aligned_volume(app))

    def aligned_volume_by_id(req: Request) -> Response:
        if req.params["id"] != "1":
            raise HttpError(404, "aligned volume not found")
        return json_response(_aligned_volume(app))

    def av_datastacks(req: Request) -> Response:
        return json_response([app.datastack] if req.params["av"] == app.aligned_volume else [])

    def schema_versions(req: Request) -> Response:
        return json_response([1, 2])

    def state_version(req: Request) -> Response:
        return json_response(STATE_VERSION)

    def state_post(req: Request) -> Response:
        req.json()  # must be JSON
        with app.state_lock:
            if "state_id" in req.params:
                sid = int(req.params["state_id"])
            else:
                app.next_state_id += 1
                sid = app.next_state_id
            app.states[sid] = req.body
        return json_response(f"{app.base_url}/nglstate/api/v1/{sid}")

    def _state(req: Request) -> bytes:
        try:
            sid = int(req.params["state_id"])
        except ValueError as exc:
            raise HttpError(400, "state id must be an integer") from exc
        with app.state_lock:
            data = app.states.get(sid)
        if data is None:
            raise HttpError(404, f"state {sid} not found")
        return data

    def state_get(req: Request) -> Response:
        return Response(200, _state(req), "application/json")

    def state_raw(req: Request) -> Response:
        return Response(200, _state(req), "application/octet-stream")

    def viewer_version(req: Request) -> Response:
        return json_response({"version": "localcave", "kind": "spelunker"})

    def viewer_index(req: Request) -> Response:
        html = b"<!doctype html><title>LocalCave viewer stub</title><p>LocalCave has no viewer.</p>"
        return Response(200, html, "text/html")

    def not_found(req: Request) -> Response:
        raise HttpError(404, "not found")

    def ws_info_h(req: Request) -> Response:
        return json_response(ws_info(app))

    def ws_chunk(req: Request) -> Response:
        if req.params["key"] != ws_key(app):
            raise HttpError(404, "no such scale")
        m = _BBOX.fullmatch(req.params["bbox"])
        if not m:
            raise HttpError(404, "bad chunk name")
        x0, x1, y0, y1, z0, z1 = (int(v) for v in m.groups())
        lo, hi = np.array([x0, y0, z0]), np.array([x1, y1, z1])
        cs, shape = np.array(w.ws_chunk_size), np.array(w.shape)
        if np.any(lo % cs) or np.any(hi > shape) or np.any(hi <= lo) or np.any(hi - lo > cs):
            raise HttpError(404, "chunk outside the volume")
        body = app.cached(("ws", x0, y0, z0, x1, y1, z1), lambda: w.watershed_chunk(lo.tolist(), hi.tolist()))
        if body is None:
            raise HttpError(404, "no data in this chunk")
        return Response(200, body, "application/octet-stream")

    def volume_info(kind: str) -> Any:
        def h(req: Request) -> Response:
            return json_response(precomputed_info(app, mesh=True))

        return h

    def mesh_info(req: Request) -> Response:
        return json_response({"@type": "neuroglancer_legacy_mesh"})

    def mesh_file(kind: str) -> Any:
        def h(req: Request) -> Response:
            from tracertools.testing._meshes import encode_legacy_fragment

            name = req.params["name"]
            parts = name.split(":")
            if len(parts) not in (2, 3) or not parts[0].isdigit() or parts[1] != "0":
                raise HttpError(404, "no such mesh file")
            seg = int(parts[0])
            if kind == "swamp":
                known = seg in w.swamps
            else:
                known = is_root(w, seg)
            if not known:
                raise HttpError(404, f"no mesh for {seg}")
            if len(parts) == 2:
                return json_response({"fragments": [f"{seg}:0:1"]})
            if parts[2] != "1":
                raise HttpError(404, "no such fragment")

            def make() -> bytes:
                v, f = w.swamps[seg] if kind == "swamp" else w.neuron_mesh(seg)
                return encode_legacy_fragment(v, f)

            return Response(200, app.cached((kind, seg), make), "application/octet-stream")

        return h

    return [
        route("GET", "/info/version", "info_version", info_version, "handshake"),
        route("GET", "/info/api/v2/datastacks", "datastacks", datastacks),
        route("GET", "/info/api/v2/datastack/full/{ds}", "datastack_info", ds_info),
        route("GET", "/info/api/v2/aligned_volume", "aligned_volumes", aligned_volumes),
        route("GET", "/info/api/v2/aligned_volume/id/{id}", "aligned_volume_info", aligned_volume_by_id),
        route("GET", "/info/api/v2/aligned_volume/{av}/datastacks", "aligned_volume_datastacks", av_datastacks),
        route("GET", "/info/api/v2/aligned_volume/{av}", "aligned_volume_info", aligned_volume),
        route("GET", "/schema/versions", "schema_versions", schema_versions, "handshake"),
        route("GET", "/nglstate/api/v1/version", "state_version", state_version, "handshake"),
        route("POST", "/nglstate/api/v1/post", "state_post", state_post),
        route("POST", "/nglstate/api/v1/post/{state_id}", "state_post", state_post),
        route("GET", "/nglstate/api/v1/raw/{state_id}", "state_raw", state_raw),
        route("GET", "/nglstate/api/v1/{state_id}", "state_get", state_get),
        route("GET", "/ngl/version.json", "viewer_version", viewer_version, "static"),
        route("GET", "/ngl/", "viewer_index", viewer_index, "static"),
        route("GET", "/ngl", "viewer_index", viewer_index, "static"),
        route("GET", "/static/ws/info", "ws_info", ws_info_h, "static"),
        route("GET", "/static/ws/provenance", "ws_provenance", not_found, "static"),
        route("GET", "/static/ws/{key}/{bbox}", "ws_chunk", ws_chunk, "static"),
        route("GET", "/static/swamp/info", "swamp_info", volume_info("swamp"), "static"),
        route("GET", "/static/swamp/provenance", "swamp_provenance", not_found, "static"),
        route("GET", "/static/swamp/mesh/info", "swamp_mesh_info", mesh_info, "static"),
        route("GET", "/static/swamp/mesh/{name}", "swamp_mesh", mesh_file("swamp"), "static"),
        route("GET", "/static/neurons/info", "neuron_mesh_volume_info", volume_info("neurons"), "static"),
        route("GET", "/static/neurons/provenance", "neuron_mesh_provenance", not_found, "static"),
        route("GET", "/static/neurons/mesh/info", "neuron_mesh_info", mesh_info, "static"),
        route("GET", "/static/neurons/mesh/{name}", "neuron_mesh", mesh_file("neurons"), "static"),
    ]


def is_root(w: CaveWorld, node_id: int) -> bool:
    """Whether ``node_id`` is a root the world ever created."""
    if not 0 < node_id < 2**64 or w.layout.layer_of(node_id) != w.layout.n_layers:
        return False
    return bool(w.root_records(np.array([node_id], dtype=np.uint64))[0][0])


def state_json(app: CaveApp, state_id: int) -> Any:
    """A stored state as a Python object (for tests)."""
    with app.state_lock:
        return json.loads(app.states[state_id])
