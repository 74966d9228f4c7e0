"""The JSON state service: fetching and storing neuroglancer states, and their short links.

* `state_service_base()`: the base URL of the session's state service (no request beyond
  the service's handshake);
* `fetch_state_json()`: one ``get_state_json`` request, by ID on the session's own service
  or by full URL on another one;
* `store_state()`: one ``upload_state_json`` request and the share URL for a viewer,
  built locally (``build_neuroglancer_url`` with the target site given: the viewer is never
  probed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from tracertools.cave.calls import remote

if TYPE_CHECKING:
    from tracertools.cave.session import CaveSession

__all__ = [
    "default_server_address",
    "fetch_state_json",
    "get_on_state_session",
    "session_token",
    "state_service_base",
    "store_state",
]

TargetSite = Literal["spelunker", "seunglab"]


def state_service_base(ds: CaveSession) -> str:
    """The session's state-service URL for states by ID (``.../nglstate/api/v1``)."""
    service = ds.cave.state
    return str(service.state_service_endpoint).rstrip("/").removesuffix("/post")


def fetch_state_json(ds: CaveSession, key: int | str, what: str) -> Any:
    """The JSON of a stored state: ``key`` is an ID on this session's service, or a full URL.

    Raises:
        ServiceError: the request failed (``status`` tells a missing state, 404/400, apart).
    """
    service = ds.cave.state
    return remote(ds, what, lambda: service.get_state_json(key))


def store_state(ds: CaveSession, data: dict[str, Any], *, viewer_site: str,
                target_site: TargetSite) -> tuple[int, str]:
    """Upload ``data`` to the session's state service; return its ID and its share URL.

    Raises:
        ServiceError: the upload failed.
    """
    service = ds.cave.state
    state_id = remote(ds, "uploading a state", lambda: service.upload_state_json(data))
    url = service.build_neuroglancer_url(state_id, ngl_url=viewer_site, target_site=target_site)
    return int(state_id), str(url)


def default_server_address() -> str:
    """caveclient's default global server (where a datastack naming none is served)."""
    from caveclient.endpoints import default_global_server_address

    return str(default_global_server_address)


def get_on_state_session(ds: CaveSession, url: str, timeout: Any) -> Any:
    """One GET of ``url`` on the state service's session (it carries the session's token and
    cookie), redirects not followed: only for URLs of the datastack's own services."""
    return ds.cave.state.session.get(url, allow_redirects=False, timeout=timeout)


def session_token(ds: CaveSession) -> str | None:
    """The token of the session's client (building the client if needed), or None."""
    token = getattr(getattr(ds.cave.client, "auth", None), "token", None)
    return token if isinstance(token, str) and token else None
