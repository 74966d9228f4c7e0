"""Old import path, kept for scripts and notebooks: the handles live in `tracertools.segments`."""

from tracertools.errors import hint_on_call
from tracertools.segments.segment import Segment, SegmentList  # noqa: F401

hint_on_call(__name__, "A segment belongs to a datastack: tt.Datastack(name).segment(segment_id).")
