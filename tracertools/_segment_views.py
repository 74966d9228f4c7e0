"""Geometry and viewing methods of Segment and SegmentList (mesh crossings, triage, display)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .datastack import Datastack
    from .segment import SegmentList


class ViewsListMixin:
    """Mesh-crossing, triage and display methods of :class:`~tracertools.segment.SegmentList`."""

    __slots__ = ()
    _datastack: Datastack
    _ids: npt.NDArray[np.uint64]


class ViewsSegmentMixin:
    """Mesh-crossing and display methods of :class:`~tracertools.segment.Segment`."""

    __slots__ = ()
    _datastack: Datastack
    _id: int

    def as_list(self) -> SegmentList:  # implemented by Segment
        raise NotImplementedError
