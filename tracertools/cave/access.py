"""Reaching CAVE: where the token comes from, and errors that say what to do when access fails.

Two kinds of failure are about access rather than about a request:

* the server cannot be reached at all (its host name does not resolve, or nothing listens):
  [`ServiceUnreachableError`][tracertools.errors.ServiceUnreachableError], raised at once (not retried, see
  [`tracertools.batch.is_unreachable()`][tracertools.batch.is_unreachable]);
* the server refuses the token (HTTP 401 or 403): [`AuthenticationError`][tracertools.errors.AuthenticationError].

Both messages name the server, say whether a token was found and where caveclient looks for one
(``~/.cloudvolume/secrets/<host>-cave-secret.json``, then
``~/.cloudvolume/secrets/cave-secret.json``; caveclient reads no environment variable for tokens)
and how to set one. They never contain the token. `access_error()` is the one place that
turns a failure into either; ``tracertools doctor`` (`diagnose()`) checks each service of a
datastack the same way.

This module imports neither ``requests`` nor ``caveclient`` at import time.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from tracertools.batch import is_unreachable
from tracertools.errors import AuthenticationError, ServiceError, ServiceUnreachableError

__all__ = [
    "DEFAULT_SERVER",
    "Check",
    "TokenSource",
    "access_error",
    "diagnose",
    "token_source",
]

#: The environment variable a token may come from (worker processes, ``tracertools doctor``).
TOKEN_ENV = "TRACERTOOLS_CAVE_TOKEN"
#: caveclient's default global server (used when a datastack names none).
DEFAULT_SERVER = "https://global.daf-apis.com"
#: Where caveclient keeps token files, and the name of the shared one.
TOKEN_FOLDER = "~/.cloudvolume/secrets"
TOKEN_FILE = "cave-secret.json"


@dataclass(frozen=True)
class TokenSource:
    """Where the token for a server comes from (never the token itself).

    Attributes:
        found: whether a token is there.
        where: where it was found (``"the auth_token argument"``, a file path), or "" if none.
        looked_in: the token files caveclient reads for this server, in order.
    """

    found: bool
    where: str
    looked_in: tuple[str, ...]

    def describe(self) -> str:
        """One sentence for an error message."""
        if self.found:
            return f"A CAVE token was found ({self.where})."
        return (f"No CAVE token was found: caveclient looks in {' and then '.join(self.looked_in)} "
                f"(key \"token\") and reads no environment variable.")


def server_token_file(server_address: str) -> str:
    """caveclient's server-specific token file for ``server_address`` (with ``~``)."""
    parsed = urllib.parse.urlparse(server_address if "://" in server_address
                                   else f"https://{server_address}")
    return f"{TOKEN_FOLDER}/{parsed.netloc}-{TOKEN_FILE}"


def _file_has_token(path: str) -> bool:
    full = os.path.expanduser(path)
    try:
        with open(full, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and bool(data.get("token"))


def token_source(server_address: str | None, given: str | None = None) -> TokenSource:
    """Where a client of ``server_address`` gets its token, the way caveclient looks.

    Args:
        server_address: the CAVE global server (None: caveclient's default).
        given: where an explicitly given token came from (e.g. ``"the auth_token argument"``),
            or None when there is none and caveclient reads its files.
    """
    server = server_address or DEFAULT_SERVER
    specific = server_token_file(server)
    shared = f"{TOKEN_FOLDER}/{TOKEN_FILE}"
    looked_in = (specific, shared)
    if given:
        return TokenSource(True, given, looked_in)
    if os.path.isfile(os.path.expanduser(specific)):  # caveclient then reads only this file
        return TokenSource(_file_has_token(specific), specific, looked_in)
    if _file_has_token(shared):
        return TokenSource(True, shared, looked_in)
    return TokenSource(False, "", looked_in)


def how_to_set_token(server_address: str | None) -> str:
    """The instructions for getting and saving a token for ``server_address``."""
    server = (server_address or DEFAULT_SERVER).rstrip("/")
    return (f"Get a token at {server}/auth/api/v1/create_token (or list yours at "
            f"{server}/sticky_auth/settings/tokens), then save it with "
            f"`caveclient.CAVEclient(server_address={server!r}).auth.save_token(token=...)` "
            f"(it writes {server_token_file(server)}) or pass it as "
            f"`tt.Datastack(name, auth_token=...)`.")


def _failed_url(exc: BaseException) -> str | None:
    current: BaseException | None = exc
    while current is not None:
        request = getattr(current, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str):
            return url
        current = current.__cause__ or current.__context__
    return None


def _http_status(exc: BaseException) -> int | None:
    current: BaseException | None = exc
    while current is not None:
        status = getattr(getattr(current, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
        current = current.__cause__
    return None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else None


def access_error(
    exc: BaseException,
    *,
    what: str,
    datastack: str | None,
    server_address: str | None,
    token_given: str | None = None,
) -> ServiceError | None:
    """The typed error for an access failure, or None if ``exc`` is not one.

    Args:
        exc: the failure (a ``requests`` exception, possibly wrapped).
        what: what was being done, e.g. ``"is_latest_roots"``.
        datastack: the datastack's name, if any.
        server_address: the datastack's global server (for the token lookup).
        token_given: where an explicitly given token came from, if any.

    Returns:
        [`ServiceUnreachableError`][tracertools.errors.ServiceUnreachableError] (no such host, connection
        refused), [`AuthenticationError`][tracertools.errors.AuthenticationError] (HTTP 401/403), or None.
    """
    failed = _host(_failed_url(exc)) or (server_address or DEFAULT_SERVER)
    of = f" for datastack {datastack!r}" if datastack else ""
    why = is_unreachable(exc)
    token = token_source(server_address, token_given)
    if why is not None:
        reason = ("its host name did not resolve (no network, or a mistyped server address)"
                  if why == "name" else
                  "it refused the connection (nothing listens there, or no route to it)")
        setup = "" if token.found else f" {how_to_set_token(server_address)}"
        return ServiceUnreachableError(
            f"Could not reach {failed}{of} ({what}): {reason}. Not retried. "
            f"{token.describe()}{setup} Check the network and the server address "
            f"(`tracertools doctor {datastack or 'DATASTACK'}` checks every service).")
    status = _http_status(exc)
    if status not in (401, 403):
        return None
    if status == 401:
        refused = ("refused the request: no token was sent" if not token.found else
                   f"refused the token (HTTP 401: not valid or expired; it came from "
                   f"{token.where})")
    else:
        refused = (f"refused the token (HTTP 403: it is not valid for this server, or it lacks "
                   f"permission for this datastack; it came from {token.where or 'nowhere'}). "
                   f"Ask for access, or use another token")
    extra = "" if token.found else f" {token.describe()}"
    return AuthenticationError(
        f"{failed}{of} {refused} ({what}).{extra} {how_to_set_token(server_address)}")


# --------------------------------------------------------------------------------------------
# tracertools doctor
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One line of `diagnose()`: a thing checked, whether it is fine, and what was seen.

    Attributes:
        name: what was checked (``"config"``, ``"token"``, ``"info service"``, ...).
        ok: True (fine), False (broken) or None (not checked, e.g. because an earlier check
            failed).
        detail: what was seen, in a few words (never a token).
        url: the URL probed, if any.
    """

    name: str
    ok: bool | None
    detail: str
    url: str = ""


#: The services of a datastack's local server, with a cheap endpoint each (a version probe).
_LOCAL_SERVICES = (
    ("chunkedgraph", "/segmentation/api/version"),
    ("materialization", "/materialize/version"),
    ("skeleton service", "/skeletoncache/api/version"),
)


def _probe(url: str, token: str | None, timeout: float) -> tuple[bool, str, Any]:
    """GET ``url`` once (no retries): (ok, what was seen, the parsed JSON or None)."""
    import requests

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    start = time.perf_counter()
    try:
        response = requests.get(url, headers=headers, timeout=timeout, allow_redirects=False)
    except Exception as exc:
        why = is_unreachable(exc)
        if why == "name":
            return False, "host name does not resolve", None
        if why == "refused":
            return False, "connection refused", None
        if isinstance(exc, requests.Timeout):
            return False, f"no answer within {timeout:g} s", None
        return False, f"{type(exc).__name__}", None
    ms = (time.perf_counter() - start) * 1e3
    if response.status_code in (401, 403):
        word = "no token sent" if not token else "token refused"
        return False, f"HTTP {response.status_code}: {word}", None
    if not response.ok:
        return False, f"HTTP {response.status_code}", None
    try:
        body = response.json()
    except ValueError:
        body = None
    return True, f"HTTP {response.status_code} in {ms:.0f} ms", body


def diagnose(
    name: str,
    *,
    server_address: str | None = None,
    auth_token: str | None = None,
    timeout: float = 5.0,
    config: Any = None,
) -> list[Check]:
    """Check that a datastack can be used: its config, a token, and each service it needs.

    Every service is asked once, with no retries and at most ``timeout`` seconds: the global
    server's info service (with the token: is it accepted?), the JSON state service, and the
    chunkedgraph, materialization and skeleton services of the datastack's local server. The
    token is sent only to the datastack's own servers and never shown.

    Args:
        config: the datastack's [`DatastackConfig`][tracertools.config.model.DatastackConfig] (default: looked
            up by ``name``), e.g. one ``tracertools serve`` wrote to a file.
        auth_token: the token (default: ``$TRACERTOOLS_CAVE_TOKEN``, else caveclient's token
            files).

    Returns:
        One `Check` per line, in order; later checks are ``ok=None`` when an earlier
        one they need failed.
    """
    from tracertools.config import load_config
    from tracertools.errors import TracertoolsError

    checks: list[Check] = []
    if config is None:
        try:
            config = load_config(name)
        except TracertoolsError as exc:
            return [Check("config", False, str(exc))]
    server = (server_address or config.server_address or DEFAULT_SERVER).rstrip("/")
    checks.append(Check("config", True, f"datastack {config.name!r}, server {server}"))
    given = "the auth_token argument" if auth_token else None
    token = auth_token
    if token is None and os.environ.get(TOKEN_ENV):
        token = os.environ[TOKEN_ENV]
        given = f"${TOKEN_ENV}"
    source = token_source(server, given)
    if token is None and source.found:
        token = _read_token(source.where)
    checks.append(Check("token", source.found,
                        f"found ({source.where})" if source.found else
                        f"none in {' or '.join(source.looked_in)}"))
    ok, seen, _ = _probe(f"{server}/info/version", None, timeout)
    checks.append(Check("info service", ok, seen, f"{server}/info/version"))
    info_url = f"{server}/info/api/v2/datastack/full/{config.name}"
    info: Any = None
    if ok:
        ok_info, seen_info, info = _probe(info_url, token, timeout)
        checks.append(Check("datastack info", ok_info, seen_info, info_url))
    else:
        checks.append(Check("datastack info", None, "skipped: the info service is unreachable",
                            info_url))
    ok_state, seen_state, _ = _probe(f"{server}/nglstate/api/v1/version", None, timeout)
    checks.append(Check("state service", ok_state, seen_state,
                        f"{server}/nglstate/api/v1/version"))
    local = (info or {}).get("local_server") if isinstance(info, dict) else None
    local = (local or config.local_server_url or "").rstrip("/")
    for label, path in _LOCAL_SERVICES:
        if not local:
            checks.append(Check(label, None, "skipped: the local server is not known"))
            continue
        ok_s, seen_s, _ = _probe(f"{local}{path}", None, timeout)
        checks.append(Check(label, ok_s, seen_s, f"{local}{path}"))
    return checks


def _read_token(path: str) -> str | None:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            value = json.load(handle).get("token")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None
