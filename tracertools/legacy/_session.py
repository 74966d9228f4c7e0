"""One shared Datastack per datastack name for the legacy shims.

The original built a new CAVEclient on every call (3-5 requests each) and was throttled for it.
The shims reuse one [`Datastack`][tracertools.datastack.Datastack] per name and config instead; a
changed config (an edited user file) gets a new session.

A shim's ``datastack`` argument may also be a ``Datastack`` itself (a session on a server of
your own, with its config and token, or ``LocalCave.datastack()``); it is used as it is.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracertools.datastack import Datastack

__all__: list[str] = []

_LOCK = threading.Lock()
_SESSIONS: dict[tuple[str, str], Datastack] = {}


def session(datastack: str | Datastack) -> Datastack:
    """The shared session for a datastack name (built without network access), or the
    ``Datastack`` given."""
    from tracertools.config import load_config
    from tracertools.datastack import Datastack

    if isinstance(datastack, Datastack):
        return datastack
    config = load_config(datastack)
    key = (datastack, config.model_dump_json())
    with _LOCK:
        found = _SESSIONS.get(key)
        if found is None:
            found = Datastack(datastack, config=config)
            _SESSIONS[key] = found
        return found
