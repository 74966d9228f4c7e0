"""What segment handles need of their datastack, as a protocol.

[`Datastack`][tracertools.datastack.Datastack] implements `SegmentSession`; handles keep it as
``segment.datastack``. See `tracertools.cave.session` for why a protocol stands here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from tracertools.cave.session import CaveSession

if TYPE_CHECKING:
    from tracertools.segments.segment import Segment, SegmentList

__all__ = ["SegmentSession"]


class SegmentSession(CaveSession, Protocol):
    """A datastack session: CAVE access plus the factories and link builders handles use."""

    def segment(self, segment_id: Any) -> Segment: ...

    def segments(self, segment_ids: Iterable[Any]) -> SegmentList: ...

    def _pinned(self) -> SegmentSession: ...

    def annotation_layer(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...

    def state_for(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...

    def link(self, *args: Any, **kwargs: Any) -> str: ...

    def shorten(self, *args: Any, **kwargs: Any) -> str: ...
