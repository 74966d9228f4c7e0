"""Old import path, kept for scripts and notebooks: the handles live in :mod:`tracertools.segments`."""

from tracertools.segments.segment import Segment, SegmentList  # noqa: F401
