"""What the neuroglancer layer needs of a datastack session, as protocols.

[`Datastack`][tracertools.datastack.Datastack] implements both; see
`tracertools.cave.session` for why protocols stand where the class would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from tracertools.cave.session import CaveSession

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from tracertools.batch import ErrorPolicy
    from tracertools.config import DatastackConfig
    from tracertools.ngl.state import State

__all__ = ["LinkSession", "MeshSession"]


class _CurrentIds(Protocol):
    def current_ids(self, *, errors: ErrorPolicy = "raise") -> npt.NDArray[np.uint64]: ...


class LinkSession(CaveSession, Protocol):
    """A session whose segment lists can be brought up to date (for refreshing links), and
    whose CAVE server address says where its token may go (for fetching stored states)."""

    @property
    def server_address(self) -> str | None: ...

    def segments(self, segment_ids: Iterable[Any]) -> _CurrentIds: ...


class MeshSession(Protocol):
    """A session that reads states and builds annotation layers and links (meshes from points)."""

    @property
    def config(self) -> DatastackConfig: ...

    def state(self, source: Any) -> State: ...

    def annotation_layer(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...

    def link(self, *args: Any, **kwargs: Any) -> str: ...
