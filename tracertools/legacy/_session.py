"""One shared Datastack per datastack name for the legacy shims.

The original built a new CAVEclient on every call (3-5 requests each) and was throttled for it.
The shims reuse one :class:`~tracertools.datastack.Datastack` per name and config instead; a
changed config or token (e.g. a restarted LocalCave) gets a new session.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracertools.datastack import Datastack

__all__: list[str] = []

_LOCK = threading.Lock()
_SESSIONS: dict[tuple[str, str, str | None], Datastack] = {}


def session(datastack: str) -> Datastack:
    """The shared session for ``datastack`` (built without network access)."""
    from tracertools.config import load_config, registered_token
    from tracertools.datastack import Datastack

    config = load_config(datastack)
    token = registered_token(datastack)
    key = (datastack, config.model_dump_json(), token)
    with _LOCK:
        found = _SESSIONS.get(key)
        if found is None:
            found = Datastack(datastack, config=config, auth_token=token)
            _SESSIONS[key] = found
        return found
