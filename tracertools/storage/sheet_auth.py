"""Sheets credentials, the default credentials and the authorised-client cache.

The private half of [`tracertools.storage.sheet`][tracertools.storage.sheet], which re-exports every public name here
(`ServiceAccount`, `OAuth`, `gspread_client()`, `clear_client_cache()`,
`set_default_credentials()`, `default_credentials()`, ``CREDENTIALS_ENV``); see that
module's docstring for how ``credentials=`` is resolved.

This module builds gspread clients, so it touches gspread too: the Sheets seam is the
``tracertools.storage.sheet`` module together with its ``sheet_*`` helper modules, and nothing else
imports gspread. gspread, google-auth and requests are imported only inside functions.
Credentials and tokens never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracertools.errors import InvalidInputError, TracertoolsError

if TYPE_CHECKING:
    import gspread

__all__ = [
    "CREDENTIALS_ENV",
    "OAuth",
    "ServiceAccount",
    "clear_client_cache",
    "default_credentials",
    "gspread_client",
    "set_default_credentials",
]

# Logged under tracertools.storage.sheet, the public module, as before the split.
logger = logging.getLogger("tracertools.storage.sheet")

#: Environment variable naming a JSON key file used when ``credentials=None``.
CREDENTIALS_ENV = "TRACERTOOLS_SHEETS_CREDENTIALS"

_TIMEOUT_S = 120.0

# ---------------------------------------------------------------------------------------------
# Credentials and the client cache


class _Credentials:
    """A recipe for one authorised gspread client; holds no token in its repr."""

    def _cache_key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def _build(self, http_client: Any) -> gspread.Client:
        raise NotImplementedError


class ServiceAccount(_Credentials):
    """Service-account credentials: a key file (``gspread.service_account``) or its parsed JSON.

    Args:
        filename: the JSON key file downloaded from Google Cloud.
        info: the same JSON as a mapping (``gspread.service_account_from_dict``).
        scopes: OAuth scopes; gspread's read/write Sheets and Drive scopes by default.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str] | None = None,
        *,
        info: Mapping[str, Any] | None = None,
        scopes: Sequence[str] | None = None,
    ) -> None:
        if (filename is None) == (info is None):
            raise InvalidInputError("ServiceAccount needs exactly one of filename= or info=")
        if info is not None and not isinstance(info, Mapping):
            raise InvalidInputError("ServiceAccount info= must be a mapping (the parsed key JSON)")
        self._filename = Path(filename) if filename is not None else None
        self._info = dict(info) if info is not None else None
        self._scopes = tuple(scopes) if scopes is not None else None

    def __repr__(self) -> str:
        what = f"filename={str(self._filename)!r}" if self._filename else "info=<hidden>"
        return f"ServiceAccount({what})"

    def _cache_key(self) -> tuple[Any, ...]:
        if self._filename is not None:
            return ("service_account", str(self._filename.expanduser().resolve()), self._scopes)
        return ("service_account_info", _digest(self._info), self._scopes)

    def _build(self, http_client: Any) -> gspread.Client:
        import gspread

        kwargs: dict[str, Any] = {"http_client": _http_client_class(http_client)}
        if self._scopes is not None:
            kwargs["scopes"] = list(self._scopes)
        if self._filename is not None:
            return gspread.service_account(filename=self._filename.expanduser(), **kwargs)
        return gspread.service_account_from_dict(self._info or {}, **kwargs)


class OAuth(_Credentials):
    """OAuth user credentials (``gspread.oauth``): the desktop flow, or a saved authorisation.

    With no arguments this is gspread's default: reuse ``~/.config/gspread/authorized_user.json``
    if it exists, else run the browser flow with ``~/.config/gspread/credentials.json`` and save
    the result.

    Args:
        credentials_filename: OAuth client secrets (``credentials.json``).
        authorized_user_filename: where the user's authorisation is saved and read back.
        authorized_user_info: a saved authorisation as a mapping (``gspread.oauth_from_dict``).
        scopes: OAuth scopes; gspread's read/write Sheets and Drive scopes by default.
    """

    def __init__(
        self,
        credentials_filename: str | os.PathLike[str] | None = None,
        authorized_user_filename: str | os.PathLike[str] | None = None,
        *,
        authorized_user_info: Mapping[str, Any] | None = None,
        scopes: Sequence[str] | None = None,
    ) -> None:
        if authorized_user_info is not None and not isinstance(authorized_user_info, Mapping):
            raise InvalidInputError("OAuth authorized_user_info= must be a mapping")
        self._secrets = Path(credentials_filename) if credentials_filename is not None else None
        self._user = Path(authorized_user_filename) if authorized_user_filename is not None else None
        self._info = dict(authorized_user_info) if authorized_user_info is not None else None
        self._scopes = tuple(scopes) if scopes is not None else None

    def __repr__(self) -> str:
        if self._info is not None:
            return "OAuth(authorized_user_info=<hidden>)"
        parts = [f"{n}={str(p)!r}" for n, p in (("credentials_filename", self._secrets),
                                                ("authorized_user_filename", self._user)) if p]
        return f"OAuth({', '.join(parts)})"

    def _cache_key(self) -> tuple[Any, ...]:
        if self._info is not None:
            return ("authorized_user_info", _digest(self._info), self._scopes)
        paths = tuple(str(p.expanduser().resolve()) if p else None for p in (self._secrets, self._user))
        return ("oauth", paths, self._scopes)

    def _build(self, http_client: Any) -> gspread.Client:
        import gspread

        kwargs: dict[str, Any] = {"http_client": _http_client_class(http_client)}
        if self._scopes is not None:
            kwargs["scopes"] = list(self._scopes)
        if self._info is not None:
            return gspread.oauth_from_dict(authorized_user_info=self._info, **kwargs)[0]
        if self._secrets is not None:
            kwargs["credentials_filename"] = self._secrets.expanduser()
        if self._user is not None:
            kwargs["authorized_user_filename"] = self._user.expanduser()
        return gspread.oauth(**kwargs)


class _KeyFile(_Credentials):
    """A JSON file whose kind (service account, authorised user, client secrets) is read at use."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)

    def __repr__(self) -> str:
        return f"key file {str(self._path)!r}"

    def _cache_key(self) -> tuple[Any, ...]:
        return ("file", str(self._path.expanduser().resolve()))

    def _build(self, http_client: Any) -> gspread.Client:
        path = self._path.expanduser()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read a JSON credentials file at {str(path)!r}: "
                                    f"{type(exc).__name__}") from None
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "service_account":
            return ServiceAccount(path)._build(http_client)
        if kind == "authorized_user":
            return OAuth(authorized_user_filename=path)._build(http_client)
        if isinstance(data, dict) and ("installed" in data or "web" in data):
            return OAuth(credentials_filename=path)._build(http_client)
        raise InvalidInputError(f"{str(path)!r} is not a service-account key, an authorized-user "
                                f"file or OAuth client secrets")


class _GoogleAuth(_Credentials):
    """A ready google-auth (or oauth2client) credentials object."""

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    def _cache_key(self) -> tuple[Any, ...]:
        return ("object", id(self._credentials))

    def _build(self, http_client: Any) -> gspread.Client:
        import gspread

        return gspread.authorize(self._credentials,
                                 http_client=_http_client_class(http_client))


class _Default(_Credentials):
    """``credentials=None``: the process default (`set_default_credentials()`), else
    ``$TRACERTOOLS_SHEETS_CREDENTIALS``, else gspread's OAuth defaults."""

    def _chosen(self) -> _Credentials:
        with _DEFAULT_LOCK:
            chosen = _DEFAULT[0][0]
        if chosen is not None:
            return chosen
        path = os.environ.get(CREDENTIALS_ENV)
        return _KeyFile(path) if path else OAuth()

    def _cache_key(self) -> tuple[Any, ...]:
        return self._chosen()._cache_key()

    def _build(self, http_client: Any) -> gspread.Client:
        return self._chosen()._build(http_client)


class _ReadyClient(_Credentials):
    """A gspread client the caller built; used as is (never re-routed)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _cache_key(self) -> tuple[Any, ...]:
        return ("client", id(self._client))

    def _build(self, http_client: Any) -> gspread.Client:
        return self._client  # type: ignore[no-any-return]


def _digest(info: Any) -> str:
    return hashlib.sha256(json.dumps(info, sort_keys=True, default=str).encode()).hexdigest()


def _as_credentials(credentials: Any) -> _Credentials:
    """Validate a ``credentials=`` argument (no I/O) and wrap it in a recipe."""
    if credentials is None:
        return _Default()
    if isinstance(credentials, _Credentials):
        return credentials
    if isinstance(credentials, (str, os.PathLike)):
        return _KeyFile(credentials)
    if isinstance(credentials, Mapping):
        kind = credentials.get("type")
        if kind == "service_account" or "private_key" in credentials:
            return ServiceAccount(info=credentials)
        if kind == "authorized_user" or "refresh_token" in credentials:
            return OAuth(authorized_user_info=credentials)
        raise InvalidInputError("a credentials mapping must be service-account info or "
                                "authorized-user info (its 'type' says which)")
    if hasattr(credentials, "open_by_key") and hasattr(credentials, "http_client"):
        return _ReadyClient(credentials)
    module = type(credentials).__module__
    if hasattr(credentials, "before_request") or module.startswith("oauth2client"):
        return _GoogleAuth(credentials)
    raise InvalidInputError(
        f"credentials must be None, ServiceAccount, OAuth, a JSON key file path, an info mapping, "
        f"google-auth credentials or a gspread.Client; got a {type(credentials).__name__}"
    )


_DEFAULT_LOCK = threading.Lock()
#: The process default: (credentials or None, gspread HTTPClient class or None).
_DEFAULT: list[tuple[_Credentials | None, Any]] = [(None, None)]


def set_default_credentials(credentials: Any, *, http_client: Any = None) -> None:
    """Make ``credentials`` what ``credentials=None`` means, for this process.

    Accepts anything ``Sheet(credentials=...)`` accepts (a ready ``gspread.Client`` included);
    ``None`` restores the default (``$TRACERTOOLS_SHEETS_CREDENTIALS``, else gspread's OAuth
    files). The legacy ``gsheet_*`` shims, which take no credentials, use it too.

    Args:
        credentials: the default credentials, or None.
        http_client: gspread's ``HTTPClient`` class to build clients for them with (for a
            ``Sheet`` that names none).

    Raises:
        InvalidInputError: ``credentials`` is not usable (checked now, without I/O).
    """
    chosen = (None if credentials is None else _as_credentials(credentials),
              _check_http_client(http_client))
    with _DEFAULT_LOCK:
        _DEFAULT[0] = chosen


@contextmanager
def default_credentials(credentials: Any, *, http_client: Any = None) -> Iterator[None]:
    """`set_default_credentials()` for the block; the previous default comes back after."""
    chosen = (None if credentials is None else _as_credentials(credentials),
              _check_http_client(http_client))
    with _DEFAULT_LOCK:
        before, _DEFAULT[0] = _DEFAULT[0], chosen
    try:
        yield
    finally:
        with _DEFAULT_LOCK:
            _DEFAULT[0] = before


_CLIENT_LOCK = threading.Lock()
_CLIENTS: dict[tuple[Any, ...], tuple[_Credentials, Any]] = {}


def _client_for(credentials: _Credentials, http_client: Any = None) -> gspread.Client:
    """The cached authorised client for ``credentials`` (and ``http_client``), built once."""
    if isinstance(credentials, _Default):
        credentials = credentials._chosen()
        if http_client is None:
            with _DEFAULT_LOCK:
                http_client = _DEFAULT[0][1]
    if isinstance(credentials, _ReadyClient):
        return credentials._build(None)
    key = (http_client, *credentials._cache_key())
    with _CLIENT_LOCK:
        hit = _CLIENTS.get(key)
        if hit is not None:
            return hit[1]  # type: ignore[no-any-return]
        try:
            client = credentials._build(http_client)
        except TracertoolsError:
            raise
        except (OSError, ValueError, KeyError) as exc:  # unreadable or malformed key material
            raise InvalidInputError(f"could not load the Sheets credentials {credentials!r}: "
                                    f"{type(exc).__name__}") from None
        client.set_timeout(_TIMEOUT_S)
        _CLIENTS[key] = (credentials, client)  # keeps a credentials object alive with its id
    logger.debug("built a gspread client (%s)", key[1])
    return client


def gspread_client(credentials: Any = None, *, http_client: Any = None) -> gspread.Client:
    """The authorised ``gspread.Client`` tracertools uses for ``credentials`` (built once, cached).

    An escape hatch for gspread features tracertools does not wrap.

    Args:
        credentials: as for [`Sheet`][tracertools.storage.sheet.Sheet].
        http_client: gspread's ``HTTPClient`` class to build the client with (gspread's own
            ``http_client=`` hook); default ``gspread.HTTPClient``.
    """
    return _client_for(_as_credentials(credentials), _check_http_client(http_client))


def clear_client_cache() -> None:
    """Forget every cached client (e.g. after rotating a key file); the next call re-authorises."""
    with _CLIENT_LOCK:
        _CLIENTS.clear()


def _check_http_client(http_client: Any) -> Any:
    if http_client is not None and not isinstance(http_client, type):
        raise InvalidInputError("http_client must be a gspread HTTPClient class (gspread's "
                                f"http_client= hook), got a {type(http_client).__name__}")
    return http_client


def _http_client_class(http_client: Any) -> Any:
    """The ``HTTPClient`` class to build with: the one given, else gspread's."""
    if http_client is not None:
        return http_client
    import gspread

    return gspread.HTTPClient
