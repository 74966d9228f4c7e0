"""Materialization engine (API v2/v3) and annotation engine endpoints.

One route table (`routes`) serves every world: versions, metadata, table lists and counts come
from the `CaveWorld` protocol. How a query is answered differs between worlds and sits behind
`QueryEngine` (`engine_for` picks it): the small
[`World`][tracertools.testing.world.World] gets `LiveEngine`, the real engine's rules (stale
root filters refused, pending lookups, live paging, reference-table joins,
``desired_resolution``); any other world (the scale world) gets `RowsEngine`, rows from
``world.query_rows`` at the asked time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from tracertools.testing._tables import (
    QueryError,
    apply_query,
    convert_positions,
    filter_rows,
    iso_us,
    joined_names,
    map_root_filters,
    parse_time,
    resolution_header,
    root_filter_ids,
    select_columns,
    to_arrow_stream,
)
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
    from tracertools.testing.world import World

MAT_VERSION = "5.26.4"
EXPIRES = "2030-01-01T00:00:00.000000"

#: The live engine's answer to a filter on a root ID that is not current at the query time.
INVALID_ROOTS = "Some root_ids passed are not valid at the query timestamp: {}"
#: Its answer when annotations still wait for their supervoxel / root lookups.
MISSING_LOOKUPS = (
    "There are {} annotations that need supervoxel lookups, wait till new annotation ingest "
    "is done or pick an less recent timestamp"
)
#: Its warning when one part of a live answer (materialized or recent rows) hit the limit.
LIVE_LIMITED = (
    "result has {} entries, which is equal or more than limit of {} there may be more "
    "results which are not shown"
)


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


# -- request checks shared by every world ------------------------------------------------------


def check_ds(app: CaveApp, req: Request) -> None:
    """404 unless the path names this datastack."""
    if req.params.get("ds") != app.datastack:
        raise HttpError(404, f"datastack {req.params.get('ds')!r} not found")


def version_of(app: CaveApp, req: Request) -> int:
    """The materialization version the path names (after `check_ds`)."""
    check_ds(app, req)
    try:
        v = int(req.params["v"])
    except ValueError as exc:
        raise HttpError(400, "version must be an integer") from exc
    if v not in app.world.version_timestamps:
        raise HttpError(404, f"version {v} not found")
    return v


def table_of(app: CaveApp, req: Request, name: str | None = None) -> str:
    """``name`` (default: the path's table), 404 unless the world has that table."""
    t = name if name is not None else req.params["t"]
    if t not in app.world.table_names():
        raise HttpError(404, f"table {t!r} not found")
    return t


def row_limit(app: CaveApp, body: dict[str, Any]) -> tuple[int, int]:
    """(limit, cap): the body's ``limit`` bounded by the server's row cap, and that cap."""
    cap = app.controls.faults.row_cap
    return (cap if body.get("limit") is None else min(int(body["limit"]), cap)), cap


def capped(app: CaveApp, out: pd.DataFrame, body: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """``out`` cut to the row limit (a cut at the cap is counted), and the engine's warning
    when the answer fills the limit."""
    limit, cap = row_limit(app, body)
    if len(out) > limit:
        if limit == cap:
            app.controls.limit_hits.hit("row_capped")
        out = out.iloc[:limit]
    return out, ([f'201 - "Limited query to {limit} rows'] if len(out) == limit else [])


def send(req: Request, out: pd.DataFrame, warnings: Sequence[str],
         extra: Sequence[tuple[str, str]] = ()) -> Response:
    """Rows as the engine sends them: a count (``count``), JSON records, or an Arrow stream
    (``arrow_format`` / ``return_pyarrow``); headers ``column_names``, then ``extra``, then
    one ``Warning`` per warning."""
    headers = [("column_names", ", ".join(out.columns)), *extra]
    headers += [("Warning", message) for message in warnings]
    if req.bool_arg("count"):
        return json_response(len(out), headers=headers)
    if not req.bool_arg("arrow_format", False) and not req.bool_arg("return_pyarrow", False):
        return Response(200, out.to_json(orient="records").encode(), "application/json", headers)
    return Response(200, to_arrow_stream(out), "data.arrow", headers)


# -- how a world answers queries ---------------------------------------------------------------


class QueryEngine(Protocol):
    """The world-specific part of the materialization engine: answering queries.

    The routes have already checked the datastack, version and table names, and that the body
    is a JSON object; a `QueryError` or `HttpError` raised here becomes the error answer.
    """

    def query(self, req: Request, table: str, version: int, body: dict[str, Any]) -> Response:
        """A table query at a materialization version."""
        ...

    def join_query(self, req: Request, version: int) -> Response:
        """A join of two tables at a version (the body names them)."""
        ...

    def live_query(self, req: Request, table: str, ts: float, body: dict[str, Any]) -> Response:
        """A live query (``live_live_query``) at time ``ts`` (epoch s, not in the future)."""
        ...


def engine_for(app: CaveApp) -> QueryEngine:
    """`LiveEngine` for the small `World`, `RowsEngine` for any other world."""
    from tracertools.testing.world import World

    return LiveEngine(app, app.world) if isinstance(app.world, World) else RowsEngine(app)


class RowsEngine:
    """The engine for any `CaveWorld` (the scale world): rows come from
    ``world.query_rows`` at the version's time or the live time; positions stay at the
    table's resolution; no stale-root refusals, pending lookups or reference tables."""

    def __init__(self, app: CaveApp) -> None:
        self.app = app

    def answer(self, req: Request, t: float, table: str, body: dict[str, Any]) -> Response:
        cap = self.app.controls.faults.row_cap
        try:
            out = self.app.world.query_rows(table, t, body, cap, req.int_arg("random_sample"))
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        return send(req, *capped(self.app, out, body))

    def query(self, req: Request, table: str, version: int, body: dict[str, Any]) -> Response:
        return self.answer(req, self.app.world.version_timestamps[version], table, body)

    def join_query(self, req: Request, version: int) -> Response:
        raise HttpError(400, "LocalCave tables have no reference tables; join queries are not supported")

    def live_query(self, req: Request, table: str, ts: float, body: dict[str, Any]) -> Response:
        return self.answer(req, ts, table, body)


class LiveEngine:
    """The real engine's rules, for the small [`World`][tracertools.testing.world.World].

    Version queries convert positions to ``desired_resolution`` (API v3); joins serve
    reference tables; live queries refuse stale root filters, hold back rows still waiting
    for lookups (``LocalCave.add_pending_annotations``) and page the materialized and the
    recent rows separately, as upstream.
    """

    def __init__(self, app: CaveApp, world: World) -> None:
        self.app = app
        self.w = world

    # -- snapshots and resolutions -------------------------------------------------------

    def snapshot(self, table: str, t: float, key: Any) -> pd.DataFrame:
        return self.app.cached(("snap", table, key), lambda: self.w.table(table, t=t))  # type: ignore[no-any-return]

    def snapshot_at(self, table: str, t: float) -> pd.DataFrame:
        # keyed on the epoch the time falls in and the rows created by then, so caching is exact
        created = self.w.tables[table].data["created"]
        return self.snapshot(table, t, ("live", self.w.graph.epoch_at(t), int((created <= t).sum())))

    def pending_rows(self, table: str, lo: float, hi: float) -> pd.DataFrame:
        """Rows added with ``LocalCave.add_pending_annotations`` created in (lo, hi]."""
        frames = [self.w.tables[table].pending_rows(n, created, first)
                  for created, n, first in self.app.pending_lookups.get(table, [])
                  if lo < created <= hi]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def native_resolution(self, table: str) -> tuple[float, ...]:
        return tuple(self.w.tables[table].voxel_resolution or self.w.resolution)

    @staticmethod
    def desired_resolution(body: dict[str, Any], fallback: tuple[float, ...]) -> tuple[float, ...]:
        asked = body.get("desired_resolution")
        if asked is None:
            return fallback
        try:
            res = tuple(float(v) for v in asked)
        except (TypeError, ValueError) as exc:
            raise HttpError(400, "desired_resolution must be three numbers") from exc
        if len(res) != 3 or any(v <= 0 for v in res):
            raise HttpError(400, "desired_resolution must be three positive numbers")
        return res

    def respond(self, req: Request, out: pd.DataFrame, table: str, body: dict[str, Any],
                warnings: list[str]) -> Response:
        """The answer, positions converted from the table's native resolution to
        ``desired_resolution`` (default: native), which is sent in ``dataframe_resolution``,
        as the real engine does."""
        native = self.native_resolution(table)
        desired = self.desired_resolution(body, native)
        out = convert_positions(out, native, desired)
        return send(req, out, warnings, [("dataframe_resolution", resolution_header(desired))])

    # -- version queries -----------------------------------------------------------------

    def query(self, req: Request, table: str, version: int, body: dict[str, Any]) -> Response:
        """API v3 converts positions; API v2 leaves them native."""
        df = self.snapshot(table, self.w.version_timestamps[version], ("v", version))
        try:
            out = apply_query(df, table, body)
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        sample = req.int_arg("random_sample")
        if sample is not None and sample < len(out):
            idx = np.sort(np.random.default_rng(0).choice(len(out), sample, replace=False))
            out = out.iloc[idx].reset_index(drop=True)
        out, warnings = capped(self.app, out, body)
        if "/api/v3/" in req.path:
            return self.respond(req, out, table, body, warnings)
        return send(req, out, warnings)

    def join_query(self, req: Request, version: int) -> Response:
        """A two-table join at a version, as caveclient asks for a reference table's target
        (``tables: [[ref, "target_id"], [target, "id"]]``): an inner join; column names two
        tables share get each table's suffix (``suffix_map``, or the older ``suffixes`` list)."""
        w = self.w
        body = req.json()
        spec = body.get("tables") if isinstance(body, dict) else None
        if not (isinstance(spec, list) and len(spec) == 2
                and all(isinstance(p, list) and len(p) == 2 for p in spec)):
            raise HttpError(400, "tables must be two [table, column] pairs")
        names = [table_of(self.app, req, str(p[0])) for p in spec]
        suffix_map = body.get("suffix_map")
        if isinstance(suffix_map, dict):
            suffixes = [str(suffix_map.get(t, "")) for t in names]
        elif isinstance(body.get("suffixes"), list) and len(body["suffixes"]) == 2:
            suffixes = [str(x) for x in body["suffixes"]]
        else:
            suffixes = ["", "_ref"]
        tables = [w.tables[t] for t in names]
        renames = joined_names(tables, suffixes)
        t_v = w.version_timestamps[version]
        frames = [self.snapshot(t, t_v, ("v", version)).rename(columns=r)
                  for t, r in zip(names, renames, strict=True)]
        keys = [r.get(str(p[1]), str(p[1])) for p, r in zip(spec, renames, strict=True)]
        if keys[0] not in frames[0].columns or keys[1] not in frames[1].columns:
            raise HttpError(400, f"join columns {spec} not found")
        joined = frames[0].merge(frames[1], left_on=keys[0], right_on=keys[1], how="inner")
        # filters and selections name each table's own columns: map them to the joined names
        flat: dict[str, Any] = {}
        for key, value in body.items():
            if key.startswith("filter_") and isinstance(value, dict):
                merged: dict[str, Any] = {}
                for t, cols in value.items():
                    rename = renames[names.index(t)] if t in names else {}
                    merged.update({rename.get(c, c): x for c, x in (cols or {}).items()})
                flat[key] = {"joined": merged}
        selection = body.get("select_column_map")
        if isinstance(selection, dict):
            chosen: list[str] = []
            for t, cols in selection.items():
                rename = renames[names.index(t)] if t in names else {}
                chosen += [rename.get(c, c) for c in cols]
            flat["select_columns"] = chosen
        elif body.get("select_columns"):
            flat["select_columns"] = list(body["select_columns"])
        for key in ("offset", "limit"):
            if body.get(key) is not None:
                flat[key] = body[key]
        desired = self.desired_resolution(body, self.native_resolution(names[-1]))
        for tbl, rename in zip(tables, renames, strict=True):
            prefixes = sorted({rename[f"{n}_x"][:-2] for n, k in tbl.columns if k == "pos"})
            joined = convert_positions(joined, self.native_resolution(tbl.name), desired, prefixes)
        try:
            out = apply_query(joined, "joined", flat)
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        limit, _ = row_limit(self.app, body)
        out = out.iloc[:limit]
        warnings = [f'201 - "Limited query to {limit} rows'] if len(out) == limit else []
        return send(req, out, warnings, [("dataframe_resolution", resolution_header(desired))])

    # -- live queries --------------------------------------------------------------------

    def roots_of_rows(self, frame: pd.DataFrame, t: float) -> pd.DataFrame:
        """``frame`` with every root column looked up again at ``t`` (from its supervoxels)."""
        out = frame.copy()
        for col in [c for c in frame.columns if c.endswith("root_id")]:
            sv_col = col[: -len("root_id")] + "supervoxel_id"
            if sv_col in frame.columns and len(frame):
                svs = frame[sv_col].to_numpy(dtype=np.int64).astype(np.uint64)
                out[col] = self.w.root_of(svs, t).astype(np.int64)
        return out

    def roots_then(self, roots: list[int], t: float) -> list[int]:
        """The roots at ``t`` holding the supervoxels of ``roots`` (the engine's ID remapping)."""
        w = self.w
        found: set[int] = set()
        for r in roots:
            if r == w.huge_root:  # never edited; a million supervoxels need no lookup
                found.add(r)
                continue
            found.update(int(v) for v in np.unique(w.root_of(w.supervoxels(r), t)))
        return sorted(found)

    def live_query(self, req: Request, table: str, ts: float, body: dict[str, Any]) -> Response:
        """The live engine: a materialized version plus the rows changed since, as upstream.

        Root-ID filters must be current at the query time (400, or dropped with a warning under
        ``allow_invalid_root_ids``); rows still waiting for lookups give 406 (or are dropped with
        a warning under ``allow_missing_lookups``). ``offset`` and the limit apply to the
        materialized part and to the recent part separately, and the two are combined, so one
        page may hold up to twice the limit; each part that reached the limit adds a warning.
        """
        w, t = self.w, table
        warnings: list[str] = []
        # the root IDs filtered on must be current at the query time
        try:
            asked = root_filter_ids(body, t)
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        invalid = [r for r in asked if not w.is_latest(r, ts)]
        if invalid:
            message = INVALID_ROOTS.format(invalid)
            if not req.bool_arg("allow_invalid_root_ids"):
                raise HttpError(400, message)
            if len(invalid) == len(asked):
                raise HttpError(500, f"ALL root id filters passed ({invalid}) were invalid at "
                                     f"timestamp {iso_us(ts)}")
            warnings.append(message)
            drop = set(invalid)
            body = map_root_filters(body, t, lambda ids: [i for i in ids if i not in drop])
        # the version the engine starts from: the newest at or before the time, else the oldest
        past = [v for v, tv in w.version_timestamps.items() if tv <= ts]
        chosen = max(past) if past else min(w.version_timestamps)
        t_v = w.version_timestamps[chosen]
        limit, cap = row_limit(self.app, body)
        offset = int(body.get("offset") or 0)
        try:
            # materialized part: root filters mapped to the version's IDs, paged, roots updated
            mapped = map_root_filters(body, t, lambda ids: self.roots_then(ids, t_v)) if t_v != ts else body
            mat = filter_rows(self.snapshot(t, t_v, ("v", chosen)), t, mapped).sort_values("id")
            mat_page = mat.iloc[offset:offset + limit]
            # recent part: rows created between the version and the query time, paged without
            # root filters (their roots are looked up afterwards)
            lo, hi = min(t_v, ts), max(t_v, ts)
            recent = self.snapshot(t, hi, ("v", chosen)) if hi == t_v else self.snapshot_at(t, hi)
            created = recent["created"].to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6
            recent = recent.loc[created > lo]
            pending = self.pending_rows(t, lo, hi)
            if len(pending):
                recent = pd.concat([recent, pending], ignore_index=True)
            stripped = map_root_filters(body, t, None)
            rec = filter_rows(recent, t, stripped).sort_values("id")
            rec_page = rec.iloc[offset:offset + limit] if t_v != ts else rec.iloc[:0]
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        waiting = rec_page[[c for c in rec_page.columns if c.endswith("supervoxel_id")]].eq(1)
        n_waiting = int(waiting.any(axis=1).sum()) if waiting.shape[1] else 0
        if n_waiting:
            message = MISSING_LOOKUPS.format(n_waiting)
            if not req.bool_arg("allow_missing_lookups"):
                raise HttpError(406, message)
            warnings.append(message)
            rec_page = rec_page.loc[~waiting.any(axis=1)]
        for part in (mat_page, rec_page):
            if len(part) >= limit:
                warnings.append(LIVE_LIMITED.format(len(part), limit))
                if limit == cap:
                    self.app.controls.limit_hits.hit("row_capped")
        if ts >= t_v:  # rows created since the version join the materialized rows
            combined = pd.concat([rec_page, mat_page], ignore_index=True)
        else:  # rows created after the query time leave the (future) version's rows
            combined = mat_page.loc[~mat_page["id"].isin(rec_page["id"])]
        combined = self.roots_of_rows(combined, ts)
        try:
            out = select_columns(filter_rows(combined, t, body), t, body).reset_index(drop=True)
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        return self.respond(req, out, t, body, warnings)


# -- the route table ---------------------------------------------------------------------------


def routes(app: CaveApp) -> list[Route]:
    """The materialization and annotation engines, as the real ones answer, for any world;
    queries go to the world's `QueryEngine` (`engine_for`)."""
    w = app.world
    engine = engine_for(app)
    M3 = "/materialize/api/v3/datastack/{ds}"
    M2 = "/materialize/api/v2/datastack/{ds}"
    AV = "/annotation/api/v2/aligned_volume/{av}"

    def check_av(req: Request) -> None:
        if req.params["av"] != app.aligned_volume:
            raise HttpError(404, "aligned volume not found")

    def metadata(t: str, version: int | None) -> dict[str, Any]:
        return w.table_metadata(t, app.aligned_volume, app.table, version)

    def api_versions(req: Request) -> Response:
        return json_response([2, 3])

    def mat_version(req: Request) -> Response:
        return json_response(MAT_VERSION)

    def versions(req: Request) -> Response:
        check_ds(app, req)
        return json_response(sorted(w.version_timestamps))

    def version_meta(req: Request) -> Response:
        return json_response(version_metadata(app, version_of(app, req)))

    def versions_meta(req: Request) -> Response:
        check_ds(app, req)
        return json_response([version_metadata(app, v) for v in sorted(w.version_timestamps)])

    def tables(req: Request) -> Response:
        version_of(app, req)
        return json_response(sorted(w.table_names()))

    def table_meta(req: Request) -> Response:
        v = version_of(app, req)
        return json_response(metadata(table_of(app, req), v))

    def all_meta(req: Request) -> Response:
        v = version_of(app, req)
        return json_response([metadata(t, v) for t in sorted(w.table_names())])

    def count(req: Request) -> Response:
        v = version_of(app, req)
        t = table_of(app, req)
        return json_response(w.table_count(t, w.version_timestamps[v]))

    def query(req: Request) -> Response:
        v = version_of(app, req)
        t = table_of(app, req)
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, "query body must be a JSON object")
        return engine.query(req, t, v, body)

    def join_query(req: Request) -> Response:
        return engine.join_query(req, version_of(app, req))

    def live_live(req: Request) -> Response:
        check_ds(app, req)
        body = req.json()
        if not isinstance(body, dict) or "table" not in body:
            raise HttpError(400, "body must name a table")
        t = table_of(app, req, str(body["table"]))
        if body.get("join_tables"):
            raise HttpError(400, "LocalCave does not support join_tables")
        try:
            ts = parse_time(body.get("timestamp", time.time()))
        except QueryError as exc:
            raise HttpError(400, str(exc)) from exc
        if ts > time.time() + 300:
            raise HttpError(400, "timestamp is in the future")
        return engine.live_query(req, t, ts, body)

    def views(req: Request) -> Response:
        version_of(app, req)
        return json_response({})

    def anno_tables(req: Request) -> Response:
        check_av(req)
        return json_response(sorted(w.table_names()))

    def anno_table(req: Request) -> Response:
        check_av(req)
        return json_response(metadata(table_of(app, req), None))

    def anno_count(req: Request) -> Response:
        check_av(req)
        return json_response(w.table_count(table_of(app, req), None))

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
