"""The LocalCave HTTP server: routing, auth, body limits, faults and error bodies.

A threaded ``http.server`` bound to 127.0.0.1 on an ephemeral port. Every route has a name
(the key of `RequestStats`), a kind (``service`` needs a token and takes
injected faults, ``handshake`` is a public version probe, ``static`` is public data such as
watershed chunks and precomputed meshes) and a handler ``Request -> Response``.

Errors are JSON objects ``{"code": status, "message": text}`` with ``application/json``;
the server never redirects and never answers ``missing_tos``.

Browsers (neuroglancer) read it cross-origin, as they read the real services: every answer
carries ``Access-Control-Allow-Origin: *``, and a CORS preflight (``OPTIONS`` naming
``Access-Control-Request-Method``) is answered 204 without a token, allowing the
``Authorization`` header the viewer sends its middleauth token in.
"""

from __future__ import annotations

import gzip
import hmac
import json
import logging
import math
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tracertools.testing._controls import Controls, FaultConfig, LogEntry
from tracertools.testing._graph import UnknownNodeError
from tracertools.testing._tables import QueryError

if TYPE_CHECKING:
    from tracertools.testing._worldapi import CaveWorld

logger = logging.getLogger(__name__)

_SLASHES = re.compile(r"/{2,}")
_TOKEN_QS = re.compile(r"(middle_auth_token=)[^&]*")


class HttpError(Exception):
    """Raise in a handler to answer with a JSON error."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class Request:
    """A parsed request handed to route handlers."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """Last value of a query parameter."""
        vals = self.query.get(name)
        return vals[-1] if vals else default

    def bool_arg(self, name: str, default: bool = False) -> bool:
        """A query boolean (``True``/``False``, ``true``, ``1``...)."""
        v = self.arg(name)
        if v is None or v == "":
            return default
        return v.strip().lower() in ("true", "1", "yes", "t")

    def float_arg(self, name: str, default: float | None = None) -> float | None:
        """A query number (e.g. an epoch timestamp)."""
        v = self.arg(name)
        if v is None or v.strip() in ("", "None", "null"):
            return default
        try:
            return float(v)
        except ValueError as exc:
            raise HttpError(400, f"query parameter {name!r} is not a number") from exc

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        v = self.float_arg(name, None)
        return default if v is None else int(v)

    def json(self) -> Any:
        """The body parsed as JSON, whatever the Content-Type (400 if it is not JSON)."""
        if not self.body:
            raise HttpError(400, "request body is empty; expected JSON")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(400, "request body is not valid JSON") from exc


@dataclass
class Response:
    """What a handler returns."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON response (numpy scalars and arrays are converted)."""
    return Response(status, dumps(obj).encode(), "application/json", headers or [])


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=_default, separators=(",", ":"))


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"code": status, "message": message}, status, list((headers or {}).items()))


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint: method, full-match path regex, name, handler and kind."""

    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    kind: str = "service"


def route(method: str, path: str, name: str, handler: Handler, kind: str = "service") -> Route:
    """Build a route; ``{param}`` in ``path`` matches one path segment."""
    rx = re.escape(path)
    rx = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", rx)
    return Route(method, re.compile(rx), name, handler, kind)


class CaveApp:
    """Everything the route handlers share: the world, names, token, controls, state store.

    The world is anything that implements `CaveWorld`;
    its ``service_limits`` are the fault settings the server starts and resets with.
    """

    CACHE_ENTRIES = 4096
    CACHE_BYTES = 256 * 2**20
    """Bounds of the memo of computed bodies (entries, and bytes of ``bytes``/``str`` values)."""

    def __init__(self, world: CaveWorld, token: str, datastack: str, table: str, aligned_volume: str) -> None:
        self.world = world
        self._token = token
        self.datastack = datastack
        self.table = table
        self.aligned_volume = aligned_volume
        self.controls = Controls(defaults=FaultConfig(**dict(world.service_limits)))
        self.base_url = ""
        self.states: dict[int, bytes] = {}
        self.state_lock = threading.Lock()
        self.next_state_id = 5_000_000_000_000
        self.routes: list[Route] = []
        self.cache: OrderedDict[Any, Any] = OrderedDict()
        self._cache_bytes = 0
        self.cache_lock = threading.Lock()
        self.skeleton_eta = 0.0  # seconds to generate one skeleton not in the cache
        #: root ID -> when its generated skeleton is (was) ready, for roots asked for so far
        self.skeleton_ready: dict[int, float] = {}
        #: L2 IDs the L2 cache pretends not to have computed yet (they answer {})
        self.l2_not_cached: frozenset[int] = frozenset()
        #: table -> [(created, count, first_id)] of rows still waiting for their lookups
        self.pending_lookups: dict[str, list[tuple[float, int, int]]] = {}

    def check_token(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._token.encode())

    def reset_states(self) -> None:
        """Forget stored states (skeletons generated while serving stay cached)."""
        with self.state_lock:
            self.states.clear()

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        """Memoise an immutable computed value (e.g. an encoded body), least recently used
        first out once `CACHE_ENTRIES` or `CACHE_BYTES` is exceeded."""
        with self.cache_lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        value = make()
        size = len(value) if isinstance(value, (bytes, str)) else 0
        with self.cache_lock:
            if key not in self.cache:
                self.cache[key] = value
                self._cache_bytes += size
            while self.cache and (len(self.cache) > self.CACHE_ENTRIES or self._cache_bytes > self.CACHE_BYTES):
                _, old = self.cache.popitem(last=False)
                self._cache_bytes -= len(old) if isinstance(old, (bytes, str)) else 0
        return value

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, params, path_known_for_other_method)."""
        other = False
        for r in self.routes:
            m = r.pattern.fullmatch(path)
            if m:
                if r.method == method or (method == "HEAD" and r.method == "GET"):
                    return r, m.groupdict(), False
                other = True
        return None, {}, other


def _query_token(qs: str) -> str | None:
    vals = urllib.parse.parse_qs(qs).get("middle_auth_token")
    return vals[-1] if vals else None


def _bearer(headers: Any) -> str | None:
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    cookie = headers.get("Cookie") or ""
    for part in cookie.split(";"):
        k, _, v = part.strip().partition("=")
        if k == "middle_auth_token":
            return v
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalCave/1.0"
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)
    app: CaveApp
    _work_s = 0.0  # seconds the route handler of the current request took
    _cut = False  # the current answer is cut mid-body (a `cut_next` fault)
    _trickle = 0.0  # seconds between the bytes of the current answer's body (`trickle_next`)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # requests are logged by _serve at DEBUG level

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        """A CORS preflight: allowed for every path, no token needed (browsers send none)."""
        self._read_body(self.app.controls.faults.body_limit_bytes)
        self.app.controls.stats.hit("cors_preflight")
        headers = [
            ("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, HEAD, OPTIONS"),
            ("Access-Control-Allow-Headers",
             self.headers.get("Access-Control-Request-Headers") or "Authorization, Content-Type"),
            ("Access-Control-Max-Age", "600"),
        ]
        self._send(Response(204, b"", "text/plain", headers))

    def _read_body(self, limit: int) -> tuple[bytes, int, bool]:
        """(body, size, too_large). Oversized bodies are read and dropped."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts, size, big = [], 0, False
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                data = self.rfile.read(n)
                self.rfile.readline()
                size += n
                if size > limit:
                    big = True
                else:
                    parts.append(data)
            return (b"" if big else b"".join(parts)), size, big
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            left = length
            while left > 0:
                got = self.rfile.read(min(left, 1 << 20))
                if not got:
                    break
                left -= len(got)
            return b"", length, True
        return (self.rfile.read(length) if length else b""), length, False

    def _serve(self) -> None:
        app = self.app
        start = time.perf_counter()
        raw_path, _, qs = self.path.partition("?")
        path = _SLASHES.sub("/", urllib.parse.unquote(raw_path))
        route_, params, other = app.match(self.command, path)
        name = route_.name if route_ else "unknown"
        self._work_s = 0.0
        self._cut = False
        self._trickle = 0.0
        faults = app.controls.faults
        body, size, too_big = self._read_body(faults.body_limit_bytes)
        app.controls.stats.hit(name)
        resp: Response
        try:
            if too_big:
                app.controls.limit_hits.hit("body_too_large")
                resp = error_response(413, f"Request Entity Too Large: body of {size} bytes exceeds {faults.body_limit_bytes}")
            elif route_ is None:
                resp = error_response(405 if other else 404, "method not allowed" if other else f"no such endpoint: {path}")
            else:
                resp = self._dispatch(route_, path, qs, params, body)
        except Exception:  # pragma: no cover - defensive; _dispatch handles errors
            logger.exception("LocalCave internal error on %s %s", self.command, path)
            resp = error_response(500, "internal server error")
        dur = time.perf_counter() - start
        sent = 0 if self.command == "HEAD" else len(resp.body)
        controls = app.controls
        controls.request_bytes.hit(name, size)
        controls.response_bytes.hit(name, sent)
        controls.handler_us.hit(name, round(self._work_s * 1e6))
        # logged before the answer leaves, so a client that has its answer finds it in the log
        controls.record(LogEntry(time.time(), self.command, path, name, size, resp.status, dur, sent))
        logger.debug("%s %s -> %d (%s, %.1f ms)", self.command, path, resp.status, name, dur * 1e3)
        self._send(resp)

    def _dispatch(self, r: Route, path: str, qs: str, params: dict[str, str], body: bytes) -> Response:
        app = self.app
        if r.kind == "service":
            tok = _bearer(self.headers) or _query_token(qs)
            if tok is None:
                return error_response(401, "Unauthorized: no token provided")
            if not app.check_token(tok):
                return error_response(403, "Forbidden: invalid token")
            wait = app.controls.rate_limit(tok)
            if wait is not None:
                app.controls.limit_hits.hit("rate_limited")
                return error_response(
                    429, "Too Many Requests: per-token rate limit", {"Retry-After": str(max(1, math.ceil(wait)))}
                )
        d = app.controls.decide(r.name, r.kind)
        self._cut, self._trickle = d.cut, d.trickle
        if d.stall:
            time.sleep(d.stall)
        if d.latency:
            time.sleep(d.latency)
        if d.status is not None:
            hdrs = {"Retry-After": _fmt_seconds(d.retry_after)} if d.retry_after is not None else {}
            return error_response(d.status, d.message, hdrs)
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip" and body:
            try:
                body = gzip.decompress(body)
            except OSError:
                return error_response(400, "request body is not valid gzip")
        req = Request(
            self.command, path, urllib.parse.parse_qs(qs, keep_blank_values=True),
            self.headers, body, params,  # type: ignore[arg-type]
        )
        began = time.perf_counter()
        app.controls.work_started()
        try:
            return r.handler(req)
        except HttpError as exc:
            return error_response(exc.status, exc.message, exc.headers)
        except UnknownNodeError as exc:
            return error_response(404, str(exc))
        except QueryError as exc:
            return error_response(400, str(exc))
        except (ValueError, KeyError, TypeError) as exc:
            logger.debug("bad request to %s: %r", r.name, exc)
            return error_response(400, f"bad request: {type(exc).__name__}: {exc}")
        except Exception as exc:
            logger.exception("LocalCave handler %s failed", r.name)
            return error_response(500, f"internal server error: {type(exc).__name__}")
        finally:
            self._work_s = time.perf_counter() - began
            app.controls.work_done()

    def _send(self, resp: Response) -> None:
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            for k, v in resp.headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD" and resp.body:
                if self._cut:  # half the promised body, then the connection closes
                    self.wfile.write(resp.body[: len(resp.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if self._trickle:  # a byte at a time, until done or the client leaves
                    for i in range(len(resp.body)):
                        self.wfile.write(resp.body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(self._trickle)
                    return
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):  # client went away
            self.close_connection = True


def _fmt_seconds(v: float | None) -> str:
    if v is None:
        return "0"
    return str(int(v)) if float(v).is_integer() else str(v)


class CaveHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to 127.0.0.1 serving one `CaveApp`."""

    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 128

    def __init__(self, app: CaveApp, port: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        handler = type("LocalCaveHandler", (_Handler,), {"app": app})
        super().__init__(("127.0.0.1", port), handler)
        self.app = app
        host, bound = self.server_address[:2]
        self._thread: threading.Thread | None = None
        if ssl_context is not None:
            # A second door to an app served already: same routes, same base URL in answers.
            # The handshake runs on the handler's first read, in its own thread.
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
            self.url = f"https://127.0.0.1:{bound}"
            return
        self.url = app.base_url = f"http://127.0.0.1:{bound}"
        from tracertools.testing import _routes_cg, _routes_info, _routes_l2skel, _routes_mat

        app.routes = (
            _routes_info.routes(app)
            + _routes_cg.routes(app)
            + _routes_mat.routes(app)
            + _routes_l2skel.routes(app)
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log connection errors quietly (clients dropping keep-alive sockets are normal)."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            logger.debug("LocalCave connection closed by client: %s", type(exc).__name__)
            return
        logger.error("LocalCave request handling failed", exc_info=exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="LocalCave", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
        self._thread = None
