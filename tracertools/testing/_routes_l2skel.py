"""L2 cache and skeleton service endpoints.

The skeleton service keeps a cache. Skeletons the world says were made long ago
(``world.skeleton_precached``: for the small world, roots that existed at the newest
materialization version) are in it from the start; any other root's skeleton is generated on
first request and takes ``app.skeleton_eta`` seconds (per skeleton, generated in parallel), as
upstream: a bulk fetch answers ``"async"`` for it and queues it, the single fetch blocks until it
is ready, ``exists`` and the cached bulk fetch leave it out until then, and ``gen_skeletons``
queues and answers the upstream estimate ``ceil(n / 15) x seconds`` for the roots not cached
yet. ``bulk/get_cached_skeletons`` (caveclient's ``fetch_skeletons``, up to 500 IDs) answers only
cached skeletons and, with ``generate_missing``, queues the others, as upstream's
``get_cached_skeletons_bulk_by_datastack_and_rids``.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from typing import Any

from tracertools.testing._l2stats import ATTRIBUTE_DTYPES, ATTRIBUTES
from tracertools.testing._routes_info import is_root
from tracertools.testing._skeletons import flatdict_gzip, gzip_bytes, precomputed_bytes
from tracertools.testing.server import (
    CaveApp,
    HttpError,
    Request,
    Response,
    Route,
    json_response,
    route,
)

SKELETON_SERVICE_VERSION = "0.23.11"
SKELETON_VERSIONS = [-1, 0, 1, 2, 3, 4]
MAX_CACHED_BULK = 500
"""Most root IDs one ``bulk/get_cached_skeletons`` request may name (caveclient sends <= 500)."""
#: Skeleton workers upstream's estimate assumes (its default ``SKELETONCACHE_WORKER_MAX_REPLICAS``).
ESTIMATE_WORKERS = 15


def routes(app: CaveApp) -> list[Route]:
    w = app.world
    C = "/l2cache/api/v1"
    K = "/skeletoncache/api"
    KD = K + "/v1/{ds}"

    # -- L2 cache ----------------------------------------------------------------------------

    def attributes(req: Request) -> Response:
        if req.params["table"] != app.table:
            raise HttpError(404, f"table {req.params['table']!r} not found")
        body = req.json()
        ids = body.get("l2_ids", []) if isinstance(body, dict) else []
        names = req.arg("attribute_names")
        wanted = [a for a in names.split(",") if a] if names else list(ATTRIBUTES)
        bad = [a for a in wanted if a not in ATTRIBUTES]
        if bad:
            raise HttpError(400, f"unknown attribute(s): {', '.join(bad)}")
        as_str = req.bool_arg("int64_as_str")
        out: dict[str, Any] = {}
        try:
            l2s = [int(raw) for raw in ids]
        except (TypeError, ValueError) as exc:
            raise HttpError(400, "l2_ids must be integers") from exc
        found = w.l2_data([v if 0 < v < 2**64 else 0 for v in l2s])
        for l2, attrs in zip(l2s, found, strict=True):
            if attrs is None or l2 in app.l2_not_cached:
                out[str(l2)] = {}  # what the L2 cache answers for a node it has not computed
                continue
            rec = {a: attrs[a] for a in wanted}
            if as_str and "rep_coord_nm" in rec:
                rec["rep_coord_nm"] = [str(v) for v in rec["rep_coord_nm"]]
            out[str(l2)] = rec
        return json_response(out)

    def table_mapping(req: Request) -> Response:
        return json_response(
            {app.table: {"l2cache_id": f"{app.table}_l2cache", "cv_path": f"graphene://{app.base_url}/segmentation/table/{app.table}"}}
        )

    def attribute_metadata(req: Request) -> Response:
        return json_response(ATTRIBUTE_DTYPES)

    # -- skeletons ---------------------------------------------------------------------------

    def check_ds(req: Request) -> None:
        if req.params.get("ds") != app.datastack:
            raise HttpError(404, f"datastack {req.params.get('ds')!r} not found")

    def skvn(req: Request) -> int:
        try:
            v = int(req.params["skvn"])
        except ValueError as exc:
            raise HttpError(400, "skeleton version must be an integer") from exc
        if v not in SKELETON_VERSIONS:
            raise HttpError(400, f"unknown skeleton version {v}")
        return 4 if v == -1 else v

    lock = threading.Lock()

    def ready_at(rid: int, queue: bool) -> float | None:
        """When ``rid``'s skeleton is (or will be) in the cache; ``queue`` starts generating it."""
        with lock:
            when = app.skeleton_ready.get(rid)
            if when is None and w.skeleton_precached(rid):
                return 0.0  # skeletonized long ago
            if when is None and queue:
                when = app.skeleton_ready[rid] = time.time() + float(app.skeleton_eta)
            return when

    def cached_now(rid: int, queue: bool) -> bool:
        when = ready_at(rid, queue)
        return when is not None and when <= time.time()

    def wait_for(rid: int) -> None:
        """Block until ``rid``'s skeleton is generated (upstream polls its cache every 5 s)."""
        when = ready_at(rid, True)
        assert when is not None
        delay = when - time.time()
        if delay > 0:
            time.sleep(delay)

    def root_or_error(raw: str) -> int:
        try:
            rid = int(raw)
        except ValueError as exc:
            raise HttpError(400, "root id must be an integer") from exc
        if not 0 < rid < 2**64 or w.layout.layer_of(rid) != w.layout.n_layers:
            raise HttpError(400, f"Invalid root id: {rid} (not a root-layer id)")
        if not is_root(w, rid):
            raise HttpError(400, f"Invalid root id: {rid} (it does not exist)")
        return rid

    def encode(rid: int, fmt: str, version: int) -> tuple[bytes, str]:
        sk = w.skeleton(rid)
        if fmt == "flatdict" or fmt == "jsoncompressed":
            return app.cached(("skfd", rid, version), lambda: flatdict_gzip(sk, rid, version)), "application/octet-stream"
        if fmt == "json":
            return json.dumps(sk.to_flatdict(rid, version)).encode(), "application/json"
        if fmt == "swccompressed":
            return app.cached(("skswc", rid), lambda: gzip_bytes(sk.to_swc().encode())), "application/octet-stream"
        if fmt == "swc":
            return sk.to_swc().encode(), "text/plain"
        raise HttpError(400, f"unsupported skeleton format {fmt!r}")

    def get_skeleton(req: Request) -> Response:
        check_ds(req)
        version = skvn(req)
        rid = root_or_error(req.params["rid"])
        fmt = req.params.get("fmt", "flatdict")
        encode(rid, fmt, version)  # an unsupported format fails before any waiting
        wait_for(rid)
        body, ctype = encode(rid, fmt, version)
        return Response(200, body, ctype)

    def _rids(raw: str) -> list[str]:
        return [r for r in raw.split(",") if r.strip()]

    def bulk_get(req: Request) -> Response:
        check_ds(req)
        version = skvn(req)
        fmt = req.params["fmt"]
        out: dict[str, str] = {}
        for raw in _rids(req.params["rids"])[:10]:
            try:
                rid = int(raw)
            except ValueError:
                out[raw] = "invalid_rid"
                continue
            if not 0 < rid < 2**64 or w.layout.layer_of(rid) != w.layout.n_layers:
                out[raw] = "invalid_layer_rid"
                continue
            if not is_root(w, rid):
                out[raw] = "invalid_rid"
                continue
            if not cached_now(rid, True):  # upstream queues it and answers "async"
                out[str(rid)] = "async"
                continue
            sk = w.skeleton(rid)
            if fmt == "flatdict":
                out[str(rid)] = flatdict_gzip(sk, rid, version).hex()
            elif fmt in ("swccompressed", "swc"):
                out[str(rid)] = sk.to_swc().encode().hex()
            else:
                raise HttpError(400, f"unsupported bulk format {fmt!r}")
        return json_response(out)

    def _generate(rids: list[Any]) -> float:
        """Queue the root IDs not in the cache; upstream's estimate: ceil(n / workers) x seconds.

        As upstream's ``generate_skeletons_bulk_by_datastack_and_rids_async``, ``n`` counts the
        root-layer IDs whose skeleton is not cached yet (it drops the cached ones first, and does
        not check that an ID exists: its workers find that out, and nothing is ever cached for
        it, so only existing roots are queued here).
        """
        queued = 0
        for raw in rids:
            try:
                rid = int(raw)
            except (TypeError, ValueError):
                continue
            if not 0 < rid < 2**64 or w.layout.layer_of(rid) != w.layout.n_layers:
                continue
            if is_root(w, rid) and cached_now(rid, False):
                continue
            if is_root(w, rid):
                ready_at(rid, True)
            queued += 1
        return math.ceil(queued / ESTIMATE_WORKERS) * float(app.skeleton_eta)

    def gen_post(req: Request) -> Response:
        check_ds(req)
        body = req.json()
        rids = body.get("root_ids", []) if isinstance(body, dict) else []
        return json_response(_generate(list(rids)))

    def gen_get(req: Request) -> Response:
        check_ds(req)
        skvn(req)
        return json_response(_generate(_rids(req.params["rids"])))

    def _flatdict_body(rid: int, version: int) -> bytes:
        return flatdict_gzip(w.skeleton(rid), rid, version)

    def cached(rid: int) -> bool:
        return is_root(w, rid) and cached_now(rid, False)

    def cached_bulk(req: Request) -> Response:
        check_ds(req)
        version = skvn(req)
        fmt = req.params["fmt"]
        if fmt not in ("flatdict", "swccompressed"):
            raise HttpError(400, f"unsupported bulk format {fmt!r}")
        body = req.json()
        raw_ids = body.get("root_ids", []) if isinstance(body, dict) else []
        if not isinstance(raw_ids, list):
            raise HttpError(400, "root_ids must be a list")
        if len(raw_ids) > MAX_CACHED_BULK:
            raise HttpError(400, f"at most {MAX_CACHED_BULK} root ids per request")
        out: dict[str, str] = {}
        missing = []
        for raw in raw_ids:
            try:
                rid = int(raw)
            except (TypeError, ValueError):
                continue
            if not cached(rid):
                missing.append(rid)
                continue
            if fmt == "flatdict":
                make = functools.partial(_flatdict_body, rid, version)
                out[str(rid)] = app.cached(("skfd", rid, version), make).hex()
            else:
                out[str(rid)] = w.skeleton(rid).to_swc().encode().hex()
        if isinstance(body, dict) and body.get("generate_missing"):
            _generate(missing)
        return json_response(out)

    def _exists(rids: list[Any]) -> Response:
        res = {}
        for raw in rids:
            try:
                rid = int(raw)
            except (TypeError, ValueError):
                res[str(raw)] = False
                continue
            res[str(rid)] = cached(rid)
        if len(res) == 1:
            return json_response(next(iter(res.values())))
        return json_response(res)

    def exists_post(req: Request) -> Response:
        check_ds(req)
        body = req.json()
        return _exists(body.get("root_ids", []) if isinstance(body, dict) else [])

    def exists_get(req: Request) -> Response:
        check_ds(req)
        skvn(req)
        return _exists(_rids(req.params["rids"]))

    def precomputed_skeleton(req: Request) -> Response:
        check_ds(req)
        rid = root_or_error(req.params["rid"])
        wait_for(rid)
        body = app.cached(("skpc", rid), lambda: precomputed_bytes(w.skeleton(rid)))
        return Response(200, body, "application/octet-stream")

    def sk_version(req: Request) -> Response:
        return json_response(SKELETON_SERVICE_VERSION)

    def sk_versions(req: Request) -> Response:
        return json_response(SKELETON_VERSIONS)

    def sk_info(req: Request) -> Response:
        check_ds(req)
        return json_response(
            {
                "@type": "neuroglancer_skeletons",
                "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
                "vertex_attributes": [
                    {"id": "radius", "data_type": "float32", "num_components": 1},
                    {"id": "compartment", "data_type": "float32", "num_components": 1},
                ],
            }
        )

    return [
        route("POST", C + "/table/{table}/attributes", "l2_attributes", attributes),
        route("GET", C + "/table_mapping", "l2_table_mapping", table_mapping),
        route("GET", C + "/attribute_metadata", "l2_attribute_metadata", attribute_metadata),
        route("GET", K + "/version", "skeleton_version", sk_version, "handshake"),
        route("GET", K + "/versions", "skeleton_versions", sk_versions, "handshake"),
        route("GET", KD + "/async/get_skeleton/{skvn}/{rid}/{fmt}", "get_skeleton", get_skeleton),
        route("GET", KD + "/async/get_skeleton/{skvn}/{rid}", "get_skeleton", get_skeleton),
        route("GET", KD + "/precomputed/skeleton/info", "skeleton_info", sk_info),
        route("GET", KD + "/precomputed/skeleton/{skvn}/info", "skeleton_info", sk_info),
        route("GET", KD + "/precomputed/skeleton/{rid}", "precomputed_skeleton", precomputed_skeleton),
        route("POST", KD + "/precomputed/skeleton/exists", "skeletons_exist", exists_post),
        route("GET", KD + "/precomputed/skeleton/exists/{skvn}/{rids}", "skeletons_exist", exists_get),
        route("GET", KD + "/precomputed/skeleton/{skvn}/{rid}/{fmt}", "get_skeleton", get_skeleton),
        route("GET", KD + "/bulk/get_skeletons/{skvn}/{fmt}/{gen}/{rids}", "bulk_get_skeletons", bulk_get),
        route("POST", KD + "/bulk/get_cached_skeletons/{skvn}/{fmt}", "bulk_cached_skeletons", cached_bulk),
        route("POST", KD + "/bulk/gen_skeletons", "bulk_gen_skeletons", gen_post),
        route("GET", KD + "/bulk/gen_skeletons/{skvn}/{rids}", "bulk_gen_skeletons", gen_get),
    ]
