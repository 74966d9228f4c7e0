"""Materialization engine (API v2/v3) and annotation engine endpoints."""

from __future__ import annotations

import time
from typing import Any

from tracertools.testing._tables import QueryError, iso_us, parse_time, to_arrow_stream
from tracertools.testing.server import (
    CaveApp,
    HttpError,
    Request,
    Response,
    Route,
    json_response,
    route,
)

MAT_VERSION = "5.26.4"
EXPIRES = "2030-01-01T00:00:00.000000"


def version_metadata(app: CaveApp, v: int) -> dict[str, Any]:
    """One materialization version's metadata (timestamps always with 6 fraction digits)."""
    return {
        "id": v,
        "version": v,
        "datastack": app.datastack,
        "time_stamp": iso_us(app.world.version_timestamps[v]),
        "expires_on": EXPIRES,
        "valid": True,
        "status": "AVAILABLE",
        "parent_version": None,
        "is_merged": True,
    }


def routes(app: CaveApp) -> list[Route]:
    w = app.world
    M3 = "/materialize/api/v3/datastack/{ds}"
    M2 = "/materialize/api/v2/datastack/{ds}"
    AV = "/annotation/api/v2/aligned_volume/{av}"

    def check_ds(req: Request) -> None:
        if req.params.get("ds") != app.datastack:
            raise HttpError(404, f"datastack {req.params.get('ds')!r} not found")

    def version_of(req: Request) -> int:
        check_ds(req)
        try:
            v = int(req.params["v"])
        except ValueError as exc:
            raise HttpError(400, "version must be an integer") from exc
        if v not in w.version_timestamps:
            raise HttpError(404, f"version {v} not found")
        return v

    def table_of(req: Request, name: str | None = None) -> str:
        t = name if name is not None else req.params["t"]
        if t not in w.table_names():
            raise HttpError(404, f"table {t!r} not found")
        return t

    def answer(req: Request, t: float, table: str, body: dict[str, Any]) -> Response:
        cap = app.controls.faults.row_cap
        try:
            out = w.query_rows(table, t, body, cap, req.int_arg("random_sample"))
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        limit = cap if body.get("limit") is None else min(int(body["limit"]), cap)
        if len(out) > limit:
            if limit == cap:
                app.controls.limit_hits.hit("row_capped")
            out = out.iloc[:limit]
        headers = [("column_names", ", ".join(out.columns))]
        if len(out) == limit:
            headers.append(("Warning", f'201 - "Limited query to {limit} rows'))
        if req.bool_arg("count"):
            return json_response(len(out), headers=headers)
        if not req.bool_arg("arrow_format", False) and not req.bool_arg("return_pyarrow", False):
            return Response(200, out.to_json(orient="records").encode(), "application/json", headers)
        return Response(200, to_arrow_stream(out), "data.arrow", headers)

    def api_versions(req: Request) -> Response:
        return json_response([2, 3])

    def mat_version(req: Request) -> Response:
        return json_response(MAT_VERSION)

    def versions(req: Request) -> Response:
        check_ds(req)
        return json_response(sorted(w.version_timestamps))

    def version_meta(req: Request) -> Response:
        return json_response(version_metadata(app, version_of(req)))

    def versions_meta(req: Request) -> Response:
        check_ds(req)
        return json_response([version_metadata(app, v) for v in sorted(w.version_timestamps)])

    def tables(req: Request) -> Response:
        version_of(req)
        return json_response(sorted(w.table_names()))

    def table_meta(req: Request) -> Response:
        v = version_of(req)
        t = table_of(req)
        return json_response(w.table_metadata(t, app.aligned_volume, app.table, v))

    def all_meta(req: Request) -> Response:
        v = version_of(req)
        return json_response(
            [w.table_metadata(t, app.aligned_volume, app.table, v) for t in sorted(w.table_names())]
        )

    def count(req: Request) -> Response:
        v = version_of(req)
        t = table_of(req)
        return json_response(w.table_count(t, w.version_timestamps[v]))

    def query(req: Request) -> Response:
        v = version_of(req)
        t = table_of(req)
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, "query body must be a JSON object")
        return answer(req, w.version_timestamps[v], t, body)

    def join_query(req: Request) -> Response:
        version_of(req)
        raise HttpError(400, "LocalCave tables have no reference tables; join queries are not supported")

    def live_live(req: Request) -> Response:
        check_ds(req)
        body = req.json()
        if not isinstance(body, dict) or "table" not in body:
            raise HttpError(400, "body must name a table")
        t = table_of(req, str(body["table"]))
        if body.get("join_tables"):
            raise HttpError(400, "LocalCave does not support join_tables")
        try:
            ts = parse_time(body.get("timestamp", time.time()))
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        if ts > time.time() + 300:
            raise HttpError(400, "timestamp is in the future")
        return answer(req, ts, t, body)

    def views(req: Request) -> Response:
        version_of(req)
        return json_response({})

    def anno_tables(req: Request) -> Response:
        if req.params["av"] != app.aligned_volume:
            raise HttpError(404, "aligned volume not found")
        return json_response(sorted(w.table_names()))

    def anno_table(req: Request) -> Response:
        if req.params["av"] != app.aligned_volume:
            raise HttpError(404, "aligned volume not found")
        t = table_of(req)
        return json_response(w.table_metadata(t, app.aligned_volume, app.table, None))

    def anno_count(req: Request) -> Response:
        if req.params["av"] != app.aligned_volume:
            raise HttpError(404, "aligned volume not found")
        return json_response(w.table_count(table_of(req), None))

    out: list[Route] = [
        route("GET", "/materialize/api/versions", "mat_api_versions", api_versions, "handshake"),
        route("GET", "/materialize/version", "mat_version", mat_version, "handshake"),
        route("POST", M3 + "/query", "live_live_query", live_live),
    ]
    for base in (M3, M2):
        out += [
            route("GET", base + "/versions", "versions", versions),
            route("GET", base + "/version/{v}", "version_metadata", version_meta),
            route("GET", base + "/metadata", "versions_metadata", versions_meta),
            route("GET", base + "/version/{v}/tables", "tables", tables),
            route("GET", base + "/version/{v}/tables/metadata", "all_tables_metadata", all_meta),
            route("GET", base + "/version/{v}/table/{t}/metadata", "table_metadata", table_meta),
            route("GET", base + "/version/{v}/table/{t}/count", "table_count", count),
            route("POST", base + "/version/{v}/table/{t}/query", "query", query),
            route("POST", base + "/version/{v}/query", "join_query", join_query),
            route("GET", base + "/version/{v}/views", "views", views),
        ]
    out += [
        route("GET", AV + "/table", "annotation_tables", anno_tables),
        route("GET", AV + "/table/{t}", "annotation_table_metadata", anno_table),
        route("GET", AV + "/table/{t}/count", "annotation_table_count", anno_count),
    ]
    return out
