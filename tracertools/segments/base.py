"""The one-item batch that every singular Segment method is built on.

``Segment``'s method groups (``history``, ``metrics``, ``skeletons``, ``links``, ``views``)
each derive their singular methods from the plural ones of ``SegmentList``: the singular
method is the first element of a one-item batch, so the two cannot drift. They share
`OneSegment`, which supplies that batch once for all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tracertools.segments.segment import SegmentList
    from tracertools.segments.session import SegmentSession

__all__ = ["OneSegment"]


class OneSegment:
    """Base of [`Segment`][tracertools.segments.segment.Segment] and its method groups."""

    __slots__ = ()
    _datastack: SegmentSession
    _id: int

    def as_list(self) -> SegmentList:
        """This segment as a one-item [`SegmentList`][tracertools.segments.segment.SegmentList] (where the work is done)."""
        from tracertools.segments.segment import SegmentList  # the class that inherits this

        return SegmentList(self._datastack, np.array([self._id], dtype=np.uint64),
                           strict=getattr(self, "_strict", False))
