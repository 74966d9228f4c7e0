"""ChunkedGraph (PyChunkedGraph API v1) endpoints.

Unknown node IDs: single-node paths (``node/{id}/root``, ``node/{id}/leaves``,
``node/{id}/children``, ``root/{id}/change_log``, ``node/{id}/lvl2_graph``) answer 404;
endpoints taking a list answer 400 naming the IDs, except ``is_latest_roots``, which answers
False for root-layer IDs it does not know (and 400 for IDs that are not on the root layer,
as upstream does).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import json
import time
from typing import Any

import numpy as np
import pandas as pd

from tracertools.testing._graph import Operation, UnknownNodeError
from tracertools.testing._routes_info import is_root, ws_info
from tracertools.testing.server import (
    CaveApp,
    HttpError,
    Request,
    Response,
    Route,
    json_response,
    route,
)

PCG_VERSION = "2.21.1"
U64 = np.uint64


def graphene_info(app: CaveApp) -> dict[str, Any]:
    """The graphene table info: the watershed layer's precomputed info + graph keys."""
    info = ws_info(app)
    info.pop("@type", None)
    info.update(
        {
            "data_dir": f"{app.base_url}/static/ws",
            "app": {"supported_api_versions": [0, 1]},
            "chunks_start_at_voxel_offset": True,
            "graph": app.world.layout.info_graph(),
            "sharded_mesh": True,
            "verify_mesh": False,
        }
    )
    return info


def _ids(values: Any, what: str = "node_ids") -> np.ndarray:
    try:
        return np.array([int(v) for v in values], dtype=U64)
    except (TypeError, ValueError) as exc:
        raise HttpError(400, f"{what} must be a list of integers") from exc


def _bounds(req: Request) -> np.ndarray | None:
    raw = req.arg("bounds")
    if not raw:
        return None
    try:
        parts = [p.split("-") for p in raw.split("_")]
        b = np.array([[float(a), float(c)] for a, c in parts])
    except ValueError as exc:
        raise HttpError(400, "bounds must look like x0-x1_y0-y1_z0-z1") from exc
    if b.shape != (3, 2):
        raise HttpError(400, "bounds must look like x0-x1_y0-y1_z0-z1")
    return b.astype(np.int64)


def _http_date(t: float) -> str:
    return email.utils.format_datetime(dt.datetime.fromtimestamp(t, dt.timezone.utc), usegmt=True)


def operation_details(op: Operation) -> dict[str, Any]:
    """One operation's log entry, as PyChunkedGraph's ``operation_details`` returns it."""
    d: dict[str, Any] = {
        "user": op.user_id,
        "timestamp": _http_date(op.timestamp),
        "roots": list(op.after_roots),
        "source_coords": [list(c) for c in op.source_coords],
        "sink_coords": [list(c) for c in op.sink_coords],
        "source_ids": list(op.source_ids),
        "sink_ids": list(op.sink_ids),
        "operation_status": 0,
    }
    if op.is_merge:
        d["added_edges"] = [list(e) for e in op.edges]
    else:
        d["removed_edges"] = [list(e) for e in op.edges]
        d["bb_offset"] = [240, 240, 24]
    return d


def tabular_change_log(app: CaveApp, root: int, filtered: bool) -> pd.DataFrame:
    """Upstream's tabular change log of a root (``in_neuron``/``is_relevant`` as upstream)."""
    return app.world.tabular_change_log(root, filtered)


def _tab_json(app: CaveApp, root: int, filtered: bool) -> str:
    return str(tabular_change_log(app, root, filtered).to_json())


def change_log_summary(app: CaveApp, root: int, filtered: bool) -> dict[str, Any]:
    """Upstream's ``change_log`` summary of a root."""
    df = tabular_change_log(app, root, filtered)
    users: dict[str, dict[str, int]] = {}
    for user, merge in zip(df["user_id"], df["is_merge"], strict=True):
        u = users.setdefault(str(user), {"n_splits": 0, "n_mergers": 0})
        u["n_mergers" if merge else "n_splits"] += 1
    past = [int(r) for ids in df["before_root_ids"] for r in ids]
    return {
        "n_splits": int((~df["is_merge"].astype(bool)).sum()),
        "n_mergers": int(df["is_merge"].astype(bool).sum()),
        "user_info": users,
        "operations_ids": [int(o) for o in df["operation_id"]],
        "past_ids": past,
    }


def routes(app: CaveApp) -> list[Route]:
    w = app.world
    lay = w.layout
    P = "/segmentation/api/v1/table/{table}"

    def check_table(req: Request) -> None:
        if req.params.get("table") != app.table:
            raise HttpError(404, f"table {req.params.get('table')!r} not found")

    def ts(req: Request, name: str = "timestamp") -> float:
        v = req.float_arg(name)
        return time.time() if v is None else v

    def node_param(req: Request, key: str) -> int:
        try:
            return int(req.params[key])
        except ValueError as exc:
            raise HttpError(400, f"{key} must be an integer") from exc

    def batch(fn: Any) -> Any:
        try:
            return fn()
        except UnknownNodeError as exc:
            raise HttpError(400, f"Bad request: {exc}") from exc

    def api_versions(req: Request) -> Response:
        return json_response([0, 1])

    def version(req: Request) -> Response:
        return json_response(PCG_VERSION)

    def info(req: Request) -> Response:
        check_table(req)
        return json_response(graphene_info(app))

    def roots_binary(req: Request) -> Response:
        check_table(req)
        if len(req.body) % 8:
            raise HttpError(400, "body must be a whole number of uint64 values")
        ids = np.frombuffer(req.body, dtype="<u8")
        stop = req.int_arg("stop_layer")
        out = batch(lambda: w.node_roots(ids, ts(req), stop))
        return Response(200, np.asarray(out, dtype="<u8").tobytes(), "application/octet-stream")

    def roots_json(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("node_ids", []))
        out = batch(lambda: w.node_roots(ids, ts(req), req.int_arg("stop_layer")))
        return json_response({"root_ids": out.tolist()})

    def node_root(req: Request) -> Response:
        check_table(req)
        nid = node_param(req, "node")
        out = w.node_roots(np.array([nid], dtype=U64), ts(req), req.int_arg("stop_layer"))
        root = int(out[0])
        return json_response({"root_id": str(root) if req.bool_arg("int64_as_str") else root})

    def leaves_bytes(nid: int, stop: int, bounds: np.ndarray | None, as_str: bool = False) -> bytes:
        def make() -> bytes:
            leaves = w.node_leaves(nid, stop, bounds)
            items = (f'"{v}"' for v in leaves.tolist()) if as_str else map(str, leaves.tolist())
            return ('{"leaf_ids":[' + ",".join(items) + "]}").encode()

        key = ("leaves", nid, stop, None if bounds is None else bounds.tobytes(), as_str)
        return app.cached(key, make)  # type: ignore[no-any-return]

    def leaves(req: Request) -> Response:
        check_table(req)
        nid = node_param(req, "node")
        # int64_as_str=1 (as neuroglancer asks): IDs as strings, since JSON numbers in a
        # browser lose precision above 2**53
        body = leaves_bytes(nid, req.int_arg("stop_layer") or 1, _bounds(req),
                            req.bool_arg("int64_as_str"))
        return Response(200, body, "application/json")

    def leaves_many(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("node_ids", []))
        stop = req.int_arg("stop_layer") or 1
        bounds = _bounds(req)
        out = batch(lambda: {str(int(n)): w.node_leaves(int(n), stop, bounds).tolist() for n in ids})
        return json_response(out)

    def children(req: Request) -> Response:
        check_table(req)
        return json_response({"children_ids": w.node_children(node_param(req, "node")).tolist()})

    def _root_layer(ids: np.ndarray) -> None:
        if len(ids) and not np.all(lay.layers_of(ids) == lay.n_layers):
            raise HttpError(400, "Some ids are not root ids.")

    def is_latest(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("node_ids", []))
        _root_layer(ids)
        t = ts(req)
        known, created, superseded = w.root_records(ids)
        out = known & (created <= t) & (superseded > t)
        return json_response({"is_latest": out.tolist()})

    def root_timestamps(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("node_ids", []))
        _root_layer(ids)
        known, created, superseded = w.root_records(ids)
        if not known.all():
            raise HttpError(400, f"Bad request: {UnknownNodeError(ids[~known].tolist())}")
        t = ts(req)
        if not req.bool_arg("latest"):
            out = created
        else:
            alive = (created <= t) & (superseded > t)
            out = np.where(alive, t, np.where(superseded <= t, superseded, 0.0))
        return json_response({"timestamp": out.tolist()})

    def lineage(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("root_ids", []), "root_ids")
        t_past = req.float_arg("timestamp_past", 0.0) or 0.0
        t_future = req.float_arg("timestamp_future")
        t_future = time.time() if t_future is None else t_future
        nodes, links = batch(lambda: w.lineage_graph([int(r) for r in ids], t_past, t_future))
        return json_response(
            {
                "directed": True,
                "multigraph": False,
                "graph": {},
                "nodes": [{"id": n, **a} for n, a in sorted(nodes.items())],
                "links": [{"source": a, "target": b} for a, b in links],
            }
        )

    def past_ids(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("root_ids", []), "root_ids")
        t_past = req.float_arg("timestamp_past", 0.0) or 0.0
        out = batch(lambda: {str(int(r)): w.past_ids(int(r), t_past) for r in ids})
        return json_response({"past_id_map": out, "future_id_map": {}})

    def tabular(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("root_ids", []), "root_ids")
        filtered = req.bool_arg("filtered", True)
        known = w.root_records(ids)[0] if len(ids) else np.zeros(0, dtype=bool)
        if not known.all():
            raise HttpError(400, f"Bad request: {UnknownNodeError(ids[~known].tolist())}")
        out: dict[str, str] = {}
        for r in ids.tolist():
            rid = int(r)
            out[str(rid)] = app.cached(
                ("tab", rid, filtered), functools.partial(_tab_json, app, rid, filtered)
            )
        return json_response(out)

    def op_details(req: Request) -> Response:
        check_table(req)
        raw = req.arg("operation_ids", "[]") or "[]"
        try:
            ops = [int(o) for o in json.loads(raw)]
        except (ValueError, TypeError) as exc:
            raise HttpError(400, "operation_ids must be a JSON list of integers") from exc
        found = {o: w.operation(o) for o in ops}
        return json_response({str(o): operation_details(op) for o, op in found.items() if op is not None})

    def change_log(req: Request) -> Response:
        check_table(req)
        rid = node_param(req, "root")
        if not is_root(w, rid):
            raise UnknownNodeError([rid])
        return json_response(change_log_summary(app, rid, req.bool_arg("filtered", True)))

    def valid_nodes(req: Request) -> Response:
        check_table(req)
        ids = _ids(req.json().get("node_ids", []))
        end = req.float_arg("end_timestamp")
        out = []
        exists = w.node_exists(ids) if len(ids) else np.zeros(0, dtype=bool)
        for n, ok in zip(ids.tolist(), exists.tolist(), strict=True):
            if ok and (end is None or w.node_created(int(n)) <= end):
                out.append(int(n))
        return json_response({"valid_roots": out})

    def oldest(req: Request) -> Response:
        check_table(req)
        return json_response({"iso": dt.datetime.fromtimestamp(w.t0, dt.timezone.utc).isoformat()})

    def lvl2_graph(req: Request) -> Response:
        check_table(req)
        rid = node_param(req, "node")
        if not is_root(w, rid):
            raise UnknownNodeError([rid])
        return json_response({"edge_graph": w.lvl2_edges(rid)}, headers=[("Used-Bounds", "False")])

    return [
        route("GET", "/segmentation/api/versions", "cg_api_versions", api_versions, "handshake"),
        route("GET", "/segmentation/api/version", "cg_version", version, "handshake"),
        route("GET", "/segmentation/table/{table}/info", "cg_info", info),
        route("POST", P + "/roots_binary", "roots_binary", roots_binary),
        route("POST", P + "/roots", "roots", roots_json),
        route("GET", P + "/node/{node}/root", "root", node_root),
        route("GET", P + "/node/{node}/leaves", "leaves", leaves),
        route("POST", P + "/node/leaves_many", "leaves_many", leaves_many),
        route("GET", P + "/node/{node}/children", "children", children),
        route("GET", P + "/node/{node}/lvl2_graph", "lvl2_graph", lvl2_graph),
        route("POST", P + "/is_latest_roots", "is_latest_roots", is_latest),
        route("POST", P + "/root_timestamps", "root_timestamps", root_timestamps),
        route("POST", P + "/lineage_graph_multiple", "lineage_graph", lineage),
        route("GET", P + "/past_id_mapping", "past_id_mapping", past_ids),
        route("GET", P + "/tabular_change_log_many", "tabular_change_log", tabular),
        route("GET", P + "/operation_details", "operation_details", op_details),
        route("GET", P + "/root/{root}/change_log", "change_log", change_log),
        route("GET", P + "/valid_nodes", "valid_nodes", valid_nodes),
        route("GET", P + "/oldest_timestamp", "oldest_timestamp", oldest),
    ]
