"""What the layers below the datastack need of a session, as a protocol.

:class:`~tracertools.datastack.Datastack` implements :class:`CaveSession`; the CAVE primitives,
the neuroglancer link methods, the segment handles and the sheet fills take any object that does,
so none of them imports the datastack module (imports run one way, downwards).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from caveclient import CAVEclient

    from tracertools.config import DatastackConfig

__all__ = ["CaveSession"]


class CaveSession(Protocol):
    """A datastack session: its name and config, its one CAVE client, its read time and caches."""

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> DatastackConfig: ...

    @property
    def client(self) -> CAVEclient: ...

    @property
    def read_timestamp(self) -> datetime | None: ...

    @property
    def materialization_version(self) -> int | None: ...

    def cache(self, kind: str) -> dict[Any, Any]:
        """The session's cache of immutable answers of one kind (e.g. ``"supervoxels"``)."""
        ...
