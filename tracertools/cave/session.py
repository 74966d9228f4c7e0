"""What the layers below the datastack need of a session, as a protocol.

[`Datastack`][tracertools.datastack.Datastack] implements `CaveSession`; the CAVE primitives,
the neuroglancer link methods, the segment handles and the sheet fills take any object that does,
so none of them imports the datastack module (imports run one way, downwards).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tracertools.cave.connection import CaveConnection
    from tracertools.config import DatastackConfig

__all__ = ["CaveSession"]


class CaveSession(Protocol):
    """A datastack session: its name and config, its CAVE connection, its read time and caches.

    The connection ([`CaveConnection`][tracertools.cave.connection.CaveConnection]) is how the modules of
    `tracertools.cave` reach caveclient; no layer above them touches it.
    """

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> DatastackConfig: ...

    @property
    def cave(self) -> CaveConnection: ...

    @property
    def read_timestamp(self) -> datetime | None: ...

    @property
    def materialization_version(self) -> int | None: ...

    def cache(self, kind: str) -> dict[Any, Any]:
        """The session's cache of immutable answers of one kind (e.g. ``"supervoxels"``)."""
        ...
