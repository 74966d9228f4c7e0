"""The local precomputed server: serve a folder to neuroglancer over HTTP on 127.0.0.1.

`serve_precomputed()` serves a local precomputed folder (volume, meshes, skeletons) in the
background or blocking, and returns a `PrecomputedServer`. Read-only, with CORS, byte
ranges, pre-encoded (``.gz``/``.br``) files and confinement to the folder. Both names are
re-exported from [`tracertools.geometry.viewer`][tracertools.geometry.viewer], their public home.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tracertools.errors import InvalidInputError
from tracertools.geometry.serving import stop_signals_interrupt

__all__ = ["HOST", "PrecomputedServer", "serve_precomputed"]

# Logged under tracertools.geometry.viewer, the public module, as before the split.
logger = logging.getLogger("tracertools.geometry.viewer")

#: The only address the local server binds to.
HOST = "127.0.0.1"

_CHUNK = 1 << 20
_ENCODINGS = (("", None), (".gz", "gzip"), (".br", "br"))
_SUFFIX = {encoding: suffix for suffix, encoding in _ENCODINGS if encoding}
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.root_real = os.path.realpath(root)
        super().__init__((HOST, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    """Read-only file handler with CORS, ranges, pre-encoded files and path confinement."""

    server: _Server
    server_version = "tracertools-precomputed"
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)

    # -- responses --------------------------------------------------------------------------

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(
            "Access-Control-Expose-Headers",
            "Content-Length, Content-Range, Content-Encoding, Accept-Ranges",
        )
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        logger.debug("%s %s", self.address_string(), format % args)

    def do_OPTIONS(self) -> None:  # noqa: N802 (stdlib naming)
        self._empty(
            204,
            {
                "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                "Access-Control-Allow-Headers": "Range, Content-Type",
                "Access-Control-Max-Age": "86400",
            },
        )

    def do_GET(self) -> None:  # noqa: N802
        self._serve(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(body=False)

    def _refuse_write(self) -> None:
        self._empty(405, {"Allow": "GET, HEAD, OPTIONS"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse_write  # noqa: N815

    # -- path resolution --------------------------------------------------------------------

    def _locate(self) -> tuple[int, str | None, str | None]:
        """(status, file path, content encoding) for the request path; status 200 if found."""
        # The request line as sent: http.server folds a leading "//" of self.path into "/".
        words = self.requestline.split()
        target = words[1] if len(words) >= 2 else self.path
        if target.startswith(("http://", "https://")):
            target = urlsplit(target).path
        raw = target.split("?", 1)[0].split("#", 1)[0]
        decoded = unquote(raw)
        if "\x00" in decoded or "\\" in decoded:
            return 403, None, None
        if decoded.startswith("/"):
            decoded = decoded[1:]
        if decoded.startswith("/"):
            return 403, None, None  # an absolute path after the leading slash
        parts = [p for p in decoded.split("/") if p not in ("", ".")]
        if any(p == ".." for p in parts):
            return 403, None, None
        if not parts:
            return 404, None, None
        rel = "/".join(parts)
        names = [rel] + ([rel.replace(":", "___")] if ":" in rel else [])
        for name in names:
            for suffix, encoding in _ENCODINGS:
                candidate = os.path.join(self.server.root, *(name + suffix).split("/"))
                if not os.path.lexists(candidate):
                    continue
                real = os.path.realpath(candidate)
                root = self.server.root_real
                if os.path.commonpath([root, real]) != root:
                    return 403, None, None  # a symlink leading out of the volume
                if os.path.isfile(real):
                    return 200, real, encoding
        return 404, None, None

    # -- serving ----------------------------------------------------------------------------

    def _serve(self, body: bool) -> None:
        status, path, encoding = self._locate()
        if path is None:
            self.send_error(status, "Outside the served folder" if status == 403 else "Not found")
            return
        try:
            size = os.path.getsize(path)
            start, end, code = 0, size - 1, 200
            header = self.headers.get("Range")
            if header and encoding is None:  # ranges of pre-encoded files are not offered
                parsed = _parse_range(header, size)
                if parsed is None:
                    self._empty(416, {"Content-Range": f"bytes */{size}"})
                    return
                if parsed != (start, end):
                    (start, end), code = parsed, 206
            plain = path[: -len(_SUFFIX[encoding])] if encoding else path
            json_file = os.path.basename(plain) == "info" or plain.endswith(".json")
            headers = {
                "Content-Type": "application/json" if json_file else "application/octet-stream",
                "Content-Length": str(end - start + 1),
            }
            if encoding:
                headers["Content-Encoding"] = encoding
            else:
                headers["Accept-Ranges"] = "bytes"
            if code == 206:
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            with open(path, "rb") as handle:
                self.send_response(code)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                handle.seek(start)
                remaining = end - start + 1 if body else 0
                while remaining > 0 and (chunk := handle.read(min(_CHUNK, remaining))):
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client closed the connection during %s", self.path)
        except OSError as exc:
            logger.warning("could not read %s: %s", path, exc)
            self.send_error(500, "Could not read file")

    def _empty(self, code: int, headers: dict[str, str]) -> None:
        self.send_response(code)
        for key, value in {**headers, "Content-Length": "0"}.items():
            self.send_header(key, value)
        self.end_headers()


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Inclusive (start, end) of a single ``bytes=`` range; None when unsatisfiable."""
    match = _RANGE_RE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return (0, size - 1)  # unsupported forms (e.g. several ranges): send everything
    first, last = match.groups()
    if first == "":  # the last N bytes
        return (max(size - int(last), 0), size - 1) if int(last) > 0 else None
    start, end = int(first), size - 1 if last == "" else min(int(last), size - 1)
    return (start, end) if start < size and start <= end else None


class PrecomputedServer:
    """A running (or stopped) local server for one precomputed folder.

    Use `url` (or `neuroglancer_source`) as a layer source in neuroglancer.
    Works as a context manager: the server stops when the block ends.
    """

    def __init__(self, root: Path, httpd: _Server) -> None:
        self._root = root
        self._httpd = httpd
        self._thread: threading.Thread | None = None
        self._running = False
        self._lock = threading.Lock()
        self.port: int = int(httpd.server_address[1])

    @property
    def root(self) -> Path:
        """The folder being served."""
        return self._root

    @property
    def host(self) -> str:
        """The bound address: always ``127.0.0.1``."""
        return str(self._httpd.server_address[0])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the volume's address (cloud-volume reads it too)."""
        return f"http://{HOST}:{self.port}"

    @property
    def neuroglancer_source(self) -> str:
        """The neuroglancer layer source: ``precomputed://http://127.0.0.1:PORT``."""
        return f"precomputed://{self.url}"

    @property
    def running(self) -> bool:
        """Whether the server is accepting requests."""
        return self._running

    def _start_background(self) -> None:
        self._running = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"tracertools-serve-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _serve_blocking(self) -> None:
        self._running = True
        try:
            with stop_signals_interrupt():
                self._httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt as stop:
            signal_name = stop.args[0] if stop.args else "KeyboardInterrupt"
            logger.info("Stopped serving %s on %s", self._root, signal_name)
        finally:
            self._running = False
            self._httpd.server_close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and free the port. Safe to call more than once."""
        with self._lock:
            if self._thread is not None:
                self._httpd.shutdown()
                self._thread.join(timeout)
                self._thread = None
            self._httpd.server_close()
            self._running = False

    def __enter__(self) -> PrecomputedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"PrecomputedServer({str(self._root)!r}, url={self.url!r}, {state})"


def serve_precomputed(
    path: str | os.PathLike[str], *, port: int = 0, background: bool = True
) -> PrecomputedServer:
    """Serve a local precomputed folder to neuroglancer over HTTP, on 127.0.0.1 only.

    Sends the CORS headers neuroglancer needs and answers preflight requests; supports byte
    ranges (sharded files); serves cloud-volume's compressed files (``name.gz``, ``name.br``)
    under their plain names with ``Content-Encoding``; maps ``:`` in names to ``___`` when the
    folder was written with that Windows convention. Requests for anything outside the folder
    (``..``, encoded ``%2e%2e``, absolute paths, symlinks leading out) get 403. Read-only.

    Args:
        path: the volume folder (containing ``info``); a ``file://`` prefix is accepted.
        port: TCP port; 0 picks a free one.
        background: True serves from a daemon thread and returns at once (stop it with
            ``server.stop()`` or a ``with`` block); False blocks until KeyboardInterrupt.
            Called from the main thread, blocking serving also stops on SIGINT and SIGTERM,
            even when the process inherited SIGINT ignored (as background jobs do); the
            previous handlers are restored when it returns.

    Returns:
        The server (already stopped when ``background`` is False).

    Raises:
        InvalidInputError: the folder does not exist (checked before binding), or bad port.
        OSError: the port cannot be bound (e.g. already in use).
    """
    text = os.fspath(path)
    if text.startswith("file://"):
        text = text[len("file://") :]
    root = Path(text).expanduser()
    if not root.is_dir():
        raise InvalidInputError(f"No such volume folder: {str(root)!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidInputError(f"port must be an int in 0..65535, got {port!r}")
    if not (root / "info").is_file():
        logger.warning("%s has no 'info' file; neuroglancer will not recognise it", root)
    server = PrecomputedServer(root.resolve(), _Server(root.resolve(), port))
    logger.info("Serving %s at %s", server.root, server.url)
    if background:
        server._start_background()
    else:
        server._serve_blocking()
    return server
