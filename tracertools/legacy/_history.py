"""Legacy shims: edit histories (new homes: Segment / SegmentList history methods).

Each shim asks one segment through the shared legacy session of the datastack name (one
client per datastack, and its caches, reused across calls). Failures raise the item's own error (e.g.
[`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError] for an ID the chunkedgraph never knew)
rather than a [`BatchError`][tracertools.errors.BatchError].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tracertools.errors import BatchError
from tracertools.legacy._session import session

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.segments.segment import Segment

# Keep sorted; tracertools.legacy re-exports these names.
__all__ = [
    "count_user_sv_contribution",
    "get_original_seg_ids",
    "get_seg_changelog",
    "get_seg_edits",
]

T = TypeVar("T")

#: The original seven columns of ``get_seg_edits``, in order.
LEGACY_EDIT_COLUMNS = [
    "operation_id",
    "is_merge",
    "point_coords",
    "before_segs",
    "after_segs",
    "seg_pair",
    "user",
]


def _segment(datastack: str, seg_id: Any) -> Segment:
    return session(datastack).segment(seg_id)


def _one(call: Callable[[], T]) -> T:
    """``call()``, raising a one-item batch's own failure instead of the BatchError."""
    try:
        return call()
    except BatchError as exc:
        cause = next(iter(exc.failures.values()))
        raise cause from exc


def get_seg_changelog(datastack: str, seg_id: int) -> pd.DataFrame:
    """Legacy shim for `tracertools.segments.segment.Segment.changelog()` (``filtered=True``).

    Returns caveclient's frame for the segment unchanged, as the original did: the service's
    filtered log, ``timestamp`` in epoch milliseconds, indexed as caveclient parses it.
    One ``tabular_change_log_many`` request (none when the session already holds the log).
    """
    seg = _segment(datastack, seg_id)
    return _one(lambda: seg.raw_changelog(filtered=True))


def get_seg_edits(
    datastack: str, seg_id: int, op_column: str = "operation_id"
) -> pd.DataFrame:
    """Legacy shim for `tracertools.segments.segment.Segment.edits()` (``filtered=True``).

    The original's seven columns on a RangeIndex, one row per operation of the filtered change
    log. ``point_coords`` stay in the service's segmentation mip-0 voxels, as the original
    returned them (``Segment.edits`` gives viewer voxels). ``op_column`` is accepted and
    ignored, as in the original. Two requests (change log, operation details), where the
    original needed two new clients and scanned the log once per operation.
    """
    seg = _segment(datastack, seg_id)
    frame = _one(lambda: seg.edits(filtered=True, voxels="segmentation"))
    return frame[LEGACY_EDIT_COLUMNS].reset_index(drop=True)


def get_original_seg_ids(datastack: str, seg_id: int) -> list[int]:
    """Legacy shim for `tracertools.segments.segment.Segment.original_ids()` (as a sorted list)."""
    seg = _segment(datastack, seg_id)
    return [int(v) for v in _one(seg.original_ids)]


def count_user_sv_contribution(datastack: str, completed_seg_id: int) -> dict[str, int]:
    """Legacy shim for `tracertools.segments.segment.Segment.user_contributions()` (as a dict).

    Keys are user IDs as str, values unique supervoxel counts. Unlike the original, a split
    credits what left the lineage whichever after-root the log lists first, every operation
    in the segment's past is counted, and all supervoxel sets come from one batched request.
    """
    seg = _segment(datastack, completed_seg_id)
    credit = _one(seg.user_contributions)
    return {str(user): int(count) for user, count in credit.items()}
