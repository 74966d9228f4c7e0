"""Fetching stored neuroglancer states without handing the CAVE token to strangers.

A share link names the state server it was stored on, and anyone can write a link. So the
datastack's token (the ``Authorization`` header and the ``middle_auth_token`` cookie of its
client session) goes only to the datastack's own configured services, compared by exact
origin: scheme, host and port of ``server_address`` (caveclient's default global server when
unset), ``local_server_url`` and ``shortlink_server_url``. Every other URL (another host, the
same host over plain ``http://`` when the service is ``https://``, ``localhost`` where the
service is ``127.0.0.1``) is fetched by a fresh ``requests`` session that carries no token and
no cookie. Redirects are followed one hop at a time under the same rule, so a redirect never
carries the token to another host either. Server replies quoted in errors are scrubbed of the
token.

A fetch, redirects included, has a total deadline (`state_deadline()`): the session policy's
connect plus read timeout (190 s by default), or its ``deadline_s`` when that is shorter, so
a server that trickles its answer a byte at a time cannot hold the call for ever.

``requests`` is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from tracertools.batch import within
from tracertools.cave.states import default_server_address, get_on_state_session, session_token
from tracertools.errors import InvalidStateError, redact_chain

if TYPE_CHECKING:
    from tracertools.ngl.session import LinkSession

__all__ = [
    "Origin",
    "get_state_text",
    "origin_of",
    "own_origins",
    "scrub",
    "shown_url",
    "state_deadline",
]

#: ``(scheme, host, port)`` of a URL.
Origin = tuple[str, str, int]

#: Redirects followed when fetching one state.
MAX_REDIRECTS = 5
#: Characters of a server's reply quoted in an error message.
_QUOTED = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | None) -> Origin | None:
    """The origin ``(scheme, host, port)`` of an http(s) URL, or None if it has none."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme]


def own_origins(ds: LinkSession) -> frozenset[Origin]:
    """Origins of the services configured for ``ds``: the only ones that see its token."""
    server = ds.server_address
    if server is None:
        server = default_server_address()
    cfg = ds.config
    candidates = (server, cfg.local_server_url, cfg.shortlink_server_url)
    return frozenset(o for o in map(origin_of, candidates) if o is not None)


def shown_origin(origin: Origin) -> str:
    """``https://host`` (the port only when it is not the scheme's default)."""
    scheme, host, port = origin
    return f"{scheme}://{host}" + ("" if _DEFAULT_PORTS[scheme] == port else f":{port}")


def shown_url(url: str, limit: int = 120) -> str:
    """``url`` cut to ``limit`` characters for a message."""
    return url if len(url) <= limit else url[:limit] + "…"


def state_deadline(ds: LinkSession) -> float:
    """Seconds one state fetch may take in all: the policy's connect plus read timeout, or its
    ``deadline_s`` when shorter."""
    policy = ds.cave.policy
    connect, read = policy.resolved_timeout()
    if policy.deadline_s is not None:
        return min(policy.deadline_s, connect + read)
    return connect + read


def get_state_text(ds: LinkSession, url: str, own: frozenset[Origin]) -> str:
    """The body of a state-service answer, the token sent only to ``own`` origins, within
    `state_deadline()`.

    Raises:
        requests.HTTPError: an error status (the reply's start quoted in the message); its
            ``response`` carries the status, so callers can retry 5xx and classify 4xx.
        InvalidStateError: a redirect loop or a redirect without a location.
        ServiceTimeoutError: no complete answer within the deadline (a server that never
            answers, or trickles its answer).
    """
    seconds = state_deadline(ds)
    return within(lambda: _get_state_text(ds, url, own),
                  seconds, f"fetching the state at {shown_url(url)}")


def _get_state_text(ds: LinkSession, url: str, own: frozenset[Origin]) -> str:
    import requests

    timeout = ds.cave.policy.resolved_timeout()
    for _ in range(MAX_REDIRECTS + 1):
        if origin_of(url) in own:
            response = get_on_state_session(ds, url, timeout)
        else:
            with requests.Session() as anonymous:  # no token, no cookie
                response = anonymous.get(url, allow_redirects=False, timeout=timeout)
        if response.is_redirect:
            location = response.headers.get("location")
            if not location:
                raise InvalidStateError(f"{shown_url(url)} redirects without a location")
            url = urljoin(url, location)
            continue
        if response.status_code >= 400:
            reply = " ".join(response.text[:_QUOTED].split())
            raise requests.HTTPError(
                f"HTTP {response.status_code} from {shown_url(url)}"
                + (f": {reply}" if reply else ""),
                response=response,
            )
        return str(response.text)
    raise InvalidStateError(f"{shown_url(url)}: more than {MAX_REDIRECTS} redirects")


def client_secrets(ds: LinkSession) -> tuple[str, ...]:
    """The token of ``ds``'s client (building the client if needed), for `scrub()`."""
    token = session_token(ds)
    return (token,) if token else ()


def scrub(exc: BaseException, secrets: Iterable[str]) -> None:
    """Replace every secret, and anything shaped like a credential (``Bearer …``,
    ``middle_auth_token=…``), with ``***`` in the messages of ``exc`` and its causes (in
    place; see ``tracertools.errors.redact``)."""
    redact_chain(exc, secrets)
