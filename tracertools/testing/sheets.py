"""LocalSheets: a Google Sheets v4 stand-in on 127.0.0.1 that unmodified gspread talks to.

>>> from tracertools.testing.sheets import LocalSheets
>>> from tracertools.storage.sheet import Sheet
>>> with LocalSheets() as sheets:
...     key = sheets.create("demo", tabs={"ids": [["id"], ["720575941473274509"]]})
...     Sheet(key, credentials=sheets.client()).tab("ids").column(1)
['id', '720575941473274509']

tracertools reaches it only through documented parameters: ``credentials=sheets.client()`` (a
ready ``gspread.Client`` that talks to the stand-in), ``http_client=sheets.http_client``
(gspread's own hook, to build a client from real credentials that talks to the stand-in), or
``with sheets.as_default():`` (the process default credentials, which the legacy ``gsheet_*``
shims use). Nothing is registered while it runs.

A threaded ``http.server`` bound to an ephemeral port holds spreadsheets in memory and answers
the Sheets v4 calls gspread 6.2 makes (``/shared/spec/sheets-wire-formats.md``): spreadsheet
metadata; ``values`` get / batchGet / update / append / batchUpdate / clear / batchClear;
``spreadsheets.batchUpdate`` with addSheet, deleteSheet, updateSheetProperties,
insertDimension, appendDimension and deleteDimension; and a ``/token`` endpoint for
service-account and refresh-token grants. Ranges are A1 notation with quoted or bare tab names;
``RAW`` and ``USER_ENTERED`` input; ``FORMATTED_VALUE``, ``UNFORMATTED_VALUE`` and ``FORMULA``
output; errors are Google-shaped (``{"error": {"code", "message", "status"}}``).

Simplifications: formulas are stored, not evaluated (they read back as their text); dates are
text; numbers are doubles, so integers of 2**53 or more lose digits and read back in scientific
notation (``7.20576E+17``), as on real Sheets. Drive endpoints are not served (404).

This module is the HTTP side (routes, tokens, faults); the cell store, A1 parsing and value
rendering live in `tracertools.testing._sheets_grid`.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import secrets
import threading
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracertools.storage import sheet as _sheet
from tracertools.testing._sheets_grid import (
    _a1,
    _ApiError,
    _Book,
    _clip,
    _Formula,
    _locate,
    _quote,
    _shift,
    _Tab,
    _table,
    _truncate,
    _value_range,
    _write,
)

__all__ = ["LocalSheets", "SheetsRequest"]

logger = logging.getLogger(__name__)

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_VALUE_WRITES = ("values.update", "values.append", "values.batchUpdate")


@dataclass
class _Fault:
    """A scripted failure (see [`LocalSheets.fail_next()`][tracertools.testing.sheets.LocalSheets.fail_next])."""

    route: str | None
    status: int
    retry_after: float | None
    applied: bool
    skip: int


@dataclass(frozen=True)
class SheetsRequest:
    """One request as the stand-in saw it (no headers, so no tokens)."""

    method: str
    route: str
    target: str
    status: int


# -- routing gspread to the stand-in -----------------------------------------------------------

#: Hosts gspread and google-auth send Sheets traffic to; a stand-in's sessions rewrite them.
_GOOGLE_PREFIXES = (
    "https://sheets.googleapis.com/",
    "https://www.googleapis.com/",
    "https://oauth2.googleapis.com/",
    "https://iamcredentials.googleapis.com/",
)


def _mount_redirect(session: Any, route: str) -> None:
    """Send Google-bound requests of ``session`` to ``route``, path and query byte for byte."""
    from urllib.parse import urlsplit

    from requests.adapters import HTTPAdapter

    class RedirectAdapter(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            parts = urlsplit(request.url)
            request.url = route + parts.path + (f"?{parts.query}" if parts.query else "")
            return super().send(request, *args, **kwargs)

    session.trust_env = False  # no environment proxy chosen for the original host
    for prefix in _GOOGLE_PREFIXES:
        session.mount(prefix, RedirectAdapter())


def _routed_session(route: str) -> Any:
    import requests

    session = requests.Session()
    _mount_redirect(session, route)
    return session


def _routing_http_client(route: str) -> type:
    """A gspread ``HTTPClient`` subclass whose sessions (and token requests) go to ``route``."""
    import gspread
    from google.auth.transport.requests import AuthorizedSession, Request
    from gspread.utils import convert_credentials

    class LocalHTTPClient(gspread.HTTPClient):
        def __init__(self, auth: Any, session: Any = None) -> None:
            if session is not None or auth is None:
                super().__init__(auth, session or _routed_session(route))
                return
            credentials = convert_credentials(auth)
            authorized = AuthorizedSession(credentials, auth_request=Request(_routed_session(route)))
            _mount_redirect(authorized, route)
            super().__init__(auth, authorized)
            self.auth = credentials

    return LocalHTTPClient


# -- the server --------------------------------------------------------------------------------


class LocalSheets:
    """An in-memory Google Sheets v4 server on ``127.0.0.1`` for gspread (and so tracertools).

    Use it as a context manager (or [`start()`][tracertools.testing.sheets.LocalSheets.start] / [`stop()`][tracertools.testing.sheets.LocalSheets.stop]). Clients reach it through
    [`client()`][tracertools.testing.sheets.LocalSheets.client], `http_client` or [`as_default()`][tracertools.testing.sheets.LocalSheets.as_default] (see the module docstring).

    Args:
        token: if set, Sheets calls need ``Authorization: Bearer <token>`` (401 otherwise) and
            ``/token`` hands out this token; if None, any or no credentials are accepted.

    Attributes:
        requests: request counts per route (``"values.get"``, ``"values.batchUpdate"``,
            ``"spreadsheets.get"``, ``"spreadsheets.batchUpdate"``, ``"token"``, ...).
        log: every request in order, as [`SheetsRequest`][tracertools.testing.sheets.SheetsRequest].
    """

    def __init__(self, *, token: str | None = None) -> None:
        self._token = token
        self._http_client: type | None = None
        self._lock = threading.RLock()
        self._books: dict[str, _Book] = {}
        self._faults: deque[_Fault] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: Counter[str] = Counter()
        self.log: list[SheetsRequest] = []

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"LocalSheets({where}, {len(self._books)} spreadsheet(s))"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (only while running)."""
        if self._server is None:
            raise RuntimeError("LocalSheets is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalSheets:
        """Bind an ephemeral port and serve on a daemon thread. Idempotent."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                            daemon=True, name="LocalSheets")
            self._thread.start()
            self._http_client = _routing_http_client(self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> LocalSheets:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reaching it -------------------------------------------------------------------------

    @property
    def http_client(self) -> type:
        """A gspread ``HTTPClient`` class whose requests to Google go to this server instead.

        For gspread's ``http_client=`` hook: ``Sheet(key, credentials=ServiceAccount(...),
        http_client=sheets.http_client)`` authorises as usual (token requests included) and
        talks to the stand-in. One class per running server.
        """
        if self._http_client is None:
            raise RuntimeError("LocalSheets is not running; use it as a context manager")
        return self._http_client

    def client(self) -> Any:
        """A ready, credential-free ``gspread.Client`` that talks to this server.

        Pass it as ``credentials=`` (``Sheet(key, credentials=sheets.client())``). Fine for a
        server started without ``token=``.
        """
        import gspread

        client = gspread.Client(None, session=_routed_session(self.url))  # type: ignore[arg-type]
        client.set_timeout(120.0)
        return client

    @contextmanager
    def as_default(self) -> Iterator[LocalSheets]:
        """Within the block, ``credentials=None`` means [`client()`][tracertools.testing.sheets.LocalSheets.client] (for ``Sheet(key)`` and
        the legacy ``gsheet_*`` shims); the previous default comes back after."""
        with _sheet.default_credentials(self.client()):
            yield self

    # -- Python API --------------------------------------------------------------------------

    def create(self, title: str = "Untitled spreadsheet", tabs: dict[str, list[list[Any]]] | None = None,
               *, key: str | None = None, grid: tuple[int, int] | None = None) -> str:
        """Add a spreadsheet and return its key.

        Args:
            title: the spreadsheet title.
            tabs: tab title -> rows of cell values (stored as RAW input: text verbatim, numbers
                as doubles, None/"" empty). Default: one empty tab "Sheet1".
            key: the key to use (random if None).
            grid: (rows, columns) of every tab; default 1000 x 26, or larger to fit the rows.
        """
        key = key or "ls" + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
        book = _Book(key, title, [])
        for title_, rows in (tabs or {"Sheet1": []}).items():
            width = max((len(r) for r in rows), default=0)
            n_rows, n_cols = grid or (max(1000, len(rows)), max(26, width))
            tab = _Tab(book.next_id - 1, title_, n_rows, n_cols)
            book.next_id += 1
            book.tabs.append(tab)
            try:
                _write(book, _quote(title_), {"values": [["" if v is None else v for v in r] for r in rows]},
                       "RAW", anchor=(0, 0))
            except _ApiError as err:
                raise ValueError(f"tab {title_!r}: {err.message}") from None
        with self._lock:
            self._books[key] = book
        return key

    def values(self, key: str, tab: str) -> list[list[Any]]:
        """Ground truth: stored cell values row by row up to the last non-empty cell, "" for empty.

        Text is ``str``; numbers are int/float as stored (doubles: big integers are inexact);
        booleans are ``bool``; formulas are their text.
        """
        with self._lock:
            t = self._tab(key, tab)
            if not t.cells:
                return []
            r_end, c_end = max(r for r, _ in t.cells), max(c for _, c in t.cells)
            return [[str(v) if isinstance(v, _Formula) else ("" if v is None else v)
                     for v in (t.cells.get((r, c)) for c in range(c_end + 1))] for r in range(r_end + 1)]

    def grid(self, key: str, tab: str) -> tuple[int, int]:
        """(rows, columns) of a tab's grid."""
        with self._lock:
            t = self._tab(key, tab)
            return t.rows, t.cols

    def tab_names(self, key: str) -> list[str]:
        """Tab titles of a spreadsheet, in order."""
        with self._lock:
            if key not in self._books:
                raise KeyError(f"no spreadsheet {key!r}")
            return [t.title for t in self._books[key].tabs]

    def service_account_info(self, email: str = "robot@local-sheets.iam.gserviceaccount.com") -> dict[str, Any]:
        """Service-account key JSON with a fresh throw-away RSA key whose ``token_uri`` is this
        server's ``/token``: load it with ``ServiceAccount(info=...)`` or write it to a file."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": "local-sheets", "private_key_id": "local",
                "private_key": pem, "client_email": email, "client_id": "1",
                "token_uri": f"{self.url}/token"}

    @property
    def value_writes(self) -> int:
        """Requests that wrote cell values (values.update, values.append, values.batchUpdate)."""
        return sum(self.requests[name] for name in _VALUE_WRITES)

    def reset(self) -> None:
        """Clear the request counters, the log and pending faults (spreadsheets stay)."""
        with self._lock:
            self.requests.clear()
            self.log.clear()
            self._faults.clear()

    def fail_next(self, status: int = 503, *, count: int = 1, route: str | None = None,
                  retry_after: float | None = None, applied: bool = False,
                  after: int = 0) -> None:
        """Answer the next ``count`` Sheets requests (of ``route``, if given) with ``status``.

        With ``applied=True`` each request is carried out first and only its answer is the
        error: a write that landed although the client was told it failed. ``after`` lets
        that many matching requests through first.
        """
        with self._lock:
            self._faults.extend(_Fault(route, status, retry_after, applied, after)
                                for _ in range(count))

    # -- request handling --------------------------------------------------------------------

    def _book(self, key: str) -> _Book:
        book = self._books.get(key)
        if book is None:
            raise _ApiError(404, "Requested entity was not found.")
        return book

    def _tab(self, key: str, title: str) -> _Tab:
        tab = self._books[key].find(title) if key in self._books else None
        if tab is None:
            raise KeyError(f"no spreadsheet {key!r} with a tab {title!r}")
        return tab

    def _fault(self, route: str) -> tuple[_ApiError | None, bool]:
        """The next fault for ``route`` (or None), and whether the request is applied first."""
        for i, fault in enumerate(self._faults):
            if fault.route in (None, route) and route != "token":
                if fault.skip:
                    fault.skip -= 1
                    return None, False
                del self._faults[i]
                retry_after = fault.retry_after
                headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                message = ("Quota exceeded for quota metric 'Requests' and limit 'Requests per "
                           "minute per user' of service 'sheets.googleapis.com'."
                           if fault.status == 429 else "The service is currently unavailable.")
                return _ApiError(fault.status, message, headers), fault.applied
        return None, False

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one request: (status, JSON body, extra headers). Used by the HTTP handler."""
        path, _, query_text = raw_path.partition("?")
        query = urllib.parse.parse_qs(query_text, keep_blank_values=True)
        route, target = "unknown", path
        try:
            route, target, call = self._route(method, path)
            with self._lock:
                if route != "token" and self._token is not None and \
                        headers.get("authorization") != f"Bearer {self._token}":
                    raise _ApiError(401, "Request had invalid authentication credentials. Expected "
                                         "OAuth 2 access token, login cookie or other valid "
                                         "authentication credential.")
                fault, applied = self._fault(route)
                if fault is not None and not applied:
                    raise fault
                result = call(query, _json_body(body) if route != "token" else body)
                if fault is not None:  # carried out; only the answer fails
                    raise fault
            status, payload, extra = 200, result, {}
        except _ApiError as err:
            status, extra = err.status, err.headers
            payload = {"error": {"code": err.status, "message": err.message,
                                 "status": _STATUS.get(err.status, "UNKNOWN")}}
        with self._lock:
            self.requests[route] += 1
            self.log.append(SheetsRequest(method, route, target, status))
        return status, payload, extra

    def _route(self, method: str, path: str) -> tuple[str, str, Any]:
        if path == "/token" and method == "POST":
            return "token", "", lambda q, b: self._issue_token(b)
        match = re.match(r"^/v4/spreadsheets/([A-Za-z0-9_-]+)(.*)$", path)
        if not match:
            raise _ApiError(404, f"LocalSheets does not serve {method} {path.split('?')[0]}")
        key, rest = match.groups()
        simple: dict[tuple[str, str], tuple[str, Callable[..., dict[str, Any]]]] = {
                  ("GET", ""): ("spreadsheets.get", self._metadata),
                  ("POST", ":batchUpdate"): ("spreadsheets.batchUpdate", self._batch_update),
                  ("GET", "/values:batchGet"): ("values.batchGet", self._batch_get),
                  ("POST", "/values:batchUpdate"): ("values.batchUpdate", self._values_batch_update),
                  ("POST", "/values:batchClear"): ("values.batchClear", self._batch_clear)}
        if (method, rest) in simple:
            name, func = simple[(method, rest)]
            return name, "", lambda q, b: func(self._book(key), q, b)
        if rest.startswith("/values/"):
            rng_raw, _, verb = rest[len("/values/"):].partition(":")
            rng = urllib.parse.unquote(rng_raw)
            table: dict[tuple[str, str], tuple[str, Callable[..., dict[str, Any]]]] = {
                     ("GET", ""): ("values.get", self._get), ("PUT", ""): ("values.update", self._update),
                     ("POST", "append"): ("values.append", self._append),
                     ("POST", "clear"): ("values.clear", self._clear)}
            if (method, verb) in table:
                name, func = table[(method, verb)]
                return name, rng, lambda q, b: func(self._book(key), rng, q, b)
        raise _ApiError(404, f"LocalSheets does not serve {method} {path}")

    def _issue_token(self, body: bytes) -> dict[str, Any]:
        grant = urllib.parse.parse_qs(body.decode()).get("grant_type", [""])[0]
        if grant not in ("urn:ietf:params:oauth:grant-type:jwt-bearer", "refresh_token"):
            raise _ApiError(400, f"unsupported grant_type {grant!r}")
        return {"access_token": self._token or "local-sheets-token", "expires_in": 3600,
                "token_type": "Bearer"}

    # -- endpoints ---------------------------------------------------------------------------

    def _metadata(self, book: _Book, query: Any, body: Any) -> dict[str, Any]:
        sheets = []
        for index, t in enumerate(book.tabs):
            grid = {"rowCount": t.rows, "columnCount": t.cols}
            grid.update({k: v for k, v in (("frozenRowCount", t.frozen_rows),
                                          ("frozenColumnCount", t.frozen_cols)) if v})
            props: dict[str, Any] = {"sheetId": t.sheet_id, "title": t.title, "index": index,
                                     "sheetType": "GRID", "gridProperties": grid}
            if t.hidden:
                props["hidden"] = True
            sheets.append({"properties": props})
        return {"spreadsheetId": book.key,
                "properties": {"title": book.title, "locale": "en_US", "autoRecalc": "ON_CHANGE",
                               "timeZone": "Etc/GMT"},
                "sheets": sheets,
                "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.key}/edit"}

    def _get(self, book: _Book, rng: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        tab, box, _ = _locate(book, rng)
        return _value_range(tab, _clip(tab, box), _arg(query, "majorDimension", "ROWS"),
                            _arg(query, "valueRenderOption", "FORMATTED_VALUE"))

    def _batch_get(self, book: _Book, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        return {"spreadsheetId": book.key,
                "valueRanges": [self._get(book, r, query, None) for r in query.get("ranges", [])]}

    def _update(self, book: _Book, rng: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        result = _write(book, rng, body or {}, _input_option(_arg(query, "valueInputOption", "")))
        return self._with_data(book, result, query)

    def _with_data(self, book: _Book, result: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
        if _arg(query, "includeValuesInResponse", "false").lower() == "true":
            tab, box, _ = _locate(book, result["updatedRange"])
            result["updatedData"] = _value_range(tab, _clip(tab, box), "ROWS", _arg(
                query, "responseValueRenderOption", "FORMATTED_VALUE"))
        return result

    def _append(self, book: _Book, rng: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        option = _input_option(_arg(query, "valueInputOption", ""))
        tab, box, _ = _locate(book, rng)
        clipped = _clip(tab, box)
        table = _table(tab, clipped)
        start = (table[2] + 1, table[1]) if table else (clipped[0], clipped[1])
        body = body or {}
        values = body.get("values") or []
        if _arg(query, "insertDataOption", "OVERWRITE") == "INSERT_ROWS" and values:
            n = max((len(v) for v in values), default=0) if body.get("majorDimension") == "COLUMNS" \
                else len(values)
            _shift(tab, 0, start[0], n)
            tab.rows += n
        result: dict[str, Any] = {"spreadsheetId": book.key}
        if table:
            result["tableRange"] = _a1(tab, *table)
        result["updates"] = self._with_data(book, _write(book, _quote(tab.title), body, option,
                                                         anchor=start, grow=True), query)
        return result

    def _values_batch_update(self, book: _Book, query: Any, body: Any) -> dict[str, Any]:
        body = body or {}
        option = _input_option(body.get("valueInputOption") or "")
        work = copy.deepcopy(book)
        responses = []
        for i, item in enumerate(body.get("data") or []):
            try:
                responses.append(_write(work, str(item.get("range", "")), item, option))
            except _ApiError as err:
                raise _ApiError(err.status, f"Invalid data[{i}]: {err.message}") from None
        book.tabs = work.tabs
        return {"spreadsheetId": book.key,
                "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
                "totalUpdatedColumns": sum(r["updatedColumns"] for r in responses),
                "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
                "totalUpdatedSheets": len({r["updatedRange"].rsplit("!", 1)[0] for r in responses
                                           if r["updatedCells"]}),
                "responses": responses}

    def _clear(self, book: _Book, rng: str, query: Any, body: Any) -> dict[str, Any]:
        tab, box, _ = _locate(book, rng)
        r0, c0, r1, c1 = _clip(tab, box)
        tab.cells = {p: v for p, v in tab.cells.items() if not (r0 <= p[0] <= r1 and c0 <= p[1] <= c1)}
        return {"spreadsheetId": book.key, "clearedRange": _a1(tab, r0, c0, r1, c1)}

    def _batch_clear(self, book: _Book, query: Any, body: Any) -> dict[str, Any]:
        ranges = (body or {}).get("ranges") or []
        cleared = [self._clear(book, r, query, None)["clearedRange"] for r in ranges]
        return {"spreadsheetId": book.key, "clearedRanges": cleared}

    def _batch_update(self, book: _Book, query: Any, body: Any) -> dict[str, Any]:
        work = copy.deepcopy(book)
        replies = []
        for i, request in enumerate((body or {}).get("requests") or []):
            if not isinstance(request, dict) or len(request) != 1:
                raise _ApiError(400, f"Invalid requests[{i}]: expected exactly one kind of request")
            (kind, spec), = request.items()
            handler = getattr(self, f"_req_{kind}", None)
            if handler is None:
                raise _ApiError(400, f"Invalid requests[{i}]: LocalSheets does not implement {kind!r}")
            try:
                replies.append(handler(work, spec or {}))
            except _ApiError as err:
                raise _ApiError(err.status, f"Invalid requests[{i}].{kind}: {err.message}") from None
        book.tabs, book.next_id = work.tabs, work.next_id
        return {"spreadsheetId": book.key, "replies": replies}

    def _req_addSheet(self, book: _Book, spec: dict[str, Any]) -> dict[str, Any]:
        props = spec.get("properties") or {}
        title = props.get("title") or f"Sheet{len(book.tabs) + 1}"
        if book.find(title):
            raise _ApiError(400, f'A sheet with the name "{title}" already exists. Please enter '
                                 f'another name.')
        grid = props.get("gridProperties") or {}
        sheet_id = props.get("sheetId", book.next_id)
        book.next_id = max(book.next_id, int(sheet_id)) + 1
        tab = _Tab(int(sheet_id), title, int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26)),
                   hidden=bool(props.get("hidden", False)))
        index = props.get("index")
        book.tabs.insert(len(book.tabs) if index is None else int(index), tab)
        return {"addSheet": {"properties": {"sheetId": tab.sheet_id, "title": title,
                                            "index": book.tabs.index(tab), "sheetType": "GRID",
                                            "gridProperties": {"rowCount": tab.rows,
                                                               "columnCount": tab.cols}}}}

    def _req_deleteSheet(self, book: _Book, spec: dict[str, Any]) -> dict[str, Any]:
        tab = book.by_id(spec.get("sheetId"), "deleteSheet")
        if len(book.tabs) == 1:
            raise _ApiError(400, "You can't remove all the sheets in a document.")
        book.tabs.remove(tab)
        return {}

    def _req_updateSheetProperties(self, book: _Book, spec: dict[str, Any]) -> dict[str, Any]:
        props = spec.get("properties") or {}
        tab = book.by_id(props.get("sheetId"), "updateSheetProperties")
        grid = props.get("gridProperties") or {}
        for name in str(spec.get("fields", "")).replace("/", ".").split(","):
            name = name.strip()
            if name == "title":
                other = book.find(props.get("title", ""))
                if other is not None and other is not tab:
                    raise _ApiError(400, f"A sheet with the name \"{props['title']}\" already exists.")
                tab.title = str(props.get("title"))
            elif name == "hidden":
                tab.hidden = bool(props.get("hidden"))
                if all(t.hidden for t in book.tabs):
                    raise _ApiError(400, "You can't hide all the sheets in a document.")
            elif name == "index":
                book.tabs.remove(tab)
                book.tabs.insert(int(props.get("index", 0)), tab)
            elif name == "gridProperties.rowCount":
                tab.rows = int(grid["rowCount"])
            elif name == "gridProperties.columnCount":
                tab.cols = int(grid["columnCount"])
            elif name == "gridProperties.frozenRowCount":
                tab.frozen_rows = int(grid.get("frozenRowCount", 0))
            elif name == "gridProperties.frozenColumnCount":
                tab.frozen_cols = int(grid.get("frozenColumnCount", 0))
        if tab.rows < 1 or tab.cols < 1:
            raise _ApiError(400, "A sheet must have at least one row and one column.")
        _truncate(tab)
        return {}

    def _dimension(self, book: _Book, spec: dict[str, Any], kind: str) -> tuple[_Tab, int, int, int]:
        rng = spec.get("range") or {}
        tab = book.by_id(rng.get("sheetId"), kind)
        axis = 0 if rng.get("dimension") == "ROWS" else 1
        start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", 0))
        if not 0 <= start < end or start > (tab.rows, tab.cols)[axis]:
            raise _ApiError(400, f"invalid range {start}..{end}")
        return tab, axis, start, end

    def _req_insertDimension(self, book: _Book, spec: dict[str, Any]) -> dict[str, Any]:
        tab, axis, start, end = self._dimension(book, spec, "insertDimension")
        _shift(tab, axis, start, end - start)
        if axis == 0:
            tab.rows += end - start
        else:
            tab.cols += end - start
        return {}

    def _req_deleteDimension(self, book: _Book, spec: dict[str, Any]) -> dict[str, Any]:
        tab, axis, start, end = self._dimension(book, spec, "deleteDimension")
        end = min(end, (tab.rows, tab.cols)[axis])
        _shift(tab, axis, start, start - end)
        if axis == 0:
            tab.rows -= end - start
        else:
            tab.cols -= end - start
        if tab.rows < 1 or tab.cols < 1:
            raise _ApiError(400, "You can't delete all the rows or columns on the sheet.")
        return {}

    def _req_appendDimension(self, book: _Book, spec: dict[str, Any]) -> dict[str, Any]:
        tab = book.by_id(spec.get("sheetId"), "appendDimension")
        length = int(spec.get("length", 0))
        if length < 1:
            raise _ApiError(400, "length must be at least 1")
        if spec.get("dimension") == "ROWS":
            tab.rows += length
        else:
            tab.cols += length
        return {}


def _arg(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[-1] if values else default


def _input_option(option: str) -> str:
    if option not in ("RAW", "USER_ENTERED"):
        raise _ApiError(400, "'valueInputOption' is required but not specified" if not option
                        else f"Invalid valueInputOption: {option}")
    return option


def _json_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise _ApiError(400, "Invalid JSON payload received.") from None


def _handler_for(owner: LocalSheets) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60  # idle keep-alive connections are closed after a minute
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms ACK stalls)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = owner.handle(self.command, self.path, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("LocalSheets: " + format, *args)

    return Handler
