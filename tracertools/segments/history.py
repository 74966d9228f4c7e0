"""Edit-history methods of Segment and SegmentList: change logs, edits, originals, credit.

A root ID's past never changes, so everything here is cached on the datastack. Requests per
call, whatever the number of segments (chunked only for very long lists):

* `changelogs()`: one ``tabular_change_log_many``;
* `edits()`: that, one ``operation_details`` for all operations, and the
  segmentation info once per client (for the coordinate scale);
* `user_contributions()`: one unfiltered change log request, then ``leaves_many`` for the
  L2 IDs of the originals and of the roots splits made (500 roots a request; a merge's root
  is the union of what it merged), then for the supervoxels of each distinct L2 node once
  (500 nodes a request): three dependent stages, bytes growing with the L2 nodes of those
  roots, never with their supervoxels;
* `original_ids()`: ``get_original_roots`` per segment (two requests
  each), concurrently on a bounded pool.

The helpers live in `tracertools.cave.history_fetch` (service calls) and `tracertools.cave.history_compute`
(tables and credit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy
from tracertools.cave import history_compute as compute, history_fetch as fetch
from tracertools.errors import InvalidInputError
from tracertools.segments.base import OneSegment

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.segments.session import SegmentSession

IdArray = npt.NDArray[np.uint64]
#: Where edit points are given: viewer voxels (``config.resolution``) or the segmentation's
#: mip-0 voxels, as the service records them.
Voxels = Literal["viewer", "segmentation"]


def _report(
    ids: IdArray, failures: dict[int, BaseException], policy: ErrorPolicy
) -> None:
    """Apply the failure policy to per-root failures, naming each root's first position."""
    if not failures:
        return
    first: dict[int, BaseException] = {}
    seen: set[int] = set()
    for pos, root in enumerate(ids.tolist()):
        if root in failures and root not in seen:
            seen.add(root)
            first[pos] = failures[root]
    apply_error_policy(first, policy, ids.tolist(), what="segment")


def _logs(
    ds: SegmentSession, ids: IdArray, filtered: bool, policy: ErrorPolicy
) -> dict[int, pd.DataFrame]:
    """Tidy change log per unique root; failures handled under ``policy``."""
    raw, failures = fetch.change_logs(ds, ids.tolist(), filtered=filtered)
    _report(ids, failures, policy)
    return fetch.tidy_logs(raw)


def edits_frame(
    ds: SegmentSession,
    ids: IdArray,
    *,
    filtered: bool,
    errors: ErrorPolicy,
    viewer_voxels: bool,
) -> pd.DataFrame:
    """The edits table for ``ids`` (the work behind `HistoryListMixin.edits()`).

    Args:
        viewer_voxels: point coordinates in viewer voxels (``ds.config.resolution``); if
            False, as the service gives them (segmentation mip-0 voxels), which the legacy
            shim returns.
    """
    policy = check_error_policy(errors)
    raw, failures = fetch.change_logs(ds, ids.tolist(), filtered=filtered)
    logs = fetch.tidy_logs(raw)
    op_ids = sorted({int(o) for log in logs.values() for o in log["operation_id"]})
    details, op_failures = fetch.operation_details(ds, op_ids)
    for root, log in logs.items():
        broken = [o for o in log["operation_id"].tolist() if o in op_failures]
        if broken:
            failures[root] = op_failures[broken[0]]
    _report(ids, failures, policy)
    if viewer_voxels and op_ids:
        scale = fetch.segmentation_resolution(ds) / np.asarray(ds.config.resolution, dtype=float)
    else:
        scale = np.ones(3)
    entries = [(root, logs[root]) for root in ids.tolist() if root in logs and root not in failures]
    return compute.edits_table(entries, details, scale)


def user_credit(
    ds: SegmentSession, ids: IdArray, errors: ErrorPolicy
) -> list[dict[str, int] | None]:
    """Supervoxel credit per user for each ID, in input order (None where it failed)."""
    policy = check_error_policy(errors)
    logs = _logs(ds, ids, False, policy)
    credit = compute.supervoxel_credit(ds, logs)
    return [credit.get(root) for root in ids.tolist()]


class HistoryListMixin:
    """Edit-history methods of [`SegmentList`][tracertools.segments.segment.SegmentList]."""

    __slots__ = ()
    _datastack: SegmentSession
    _ids: IdArray

    def changelogs(
        self, *, filtered: bool = False, errors: ErrorPolicy = "raise"
    ) -> pd.DataFrame:
        """The change log of every segment, as one table.

        One ``tabular_change_log_many`` request for the whole list (one per 2,000 IDs);
        logs are cached, since a root's past never changes.

        Args:
            filtered: False (default) lists every operation in each segment's past; True asks
                the service to keep only those it judges relevant to the segment's final
                state (caveclient's default, and what the original library returned).
            errors: failure policy; an ID the chunkedgraph never knew raises
                [`BatchError`][tracertools.errors.BatchError] from
                [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError] under "raise"; under
                "warn"/"ignore" it contributes no rows and is named in the warning.

        Returns:
            DataFrame on a RangeIndex with ``segment_id`` (uint64) then caveclient's columns:
            ``operation_id``, ``timestamp`` (UTC datetimes), ``user_id`` (str),
            ``before_root_ids``, ``after_root_ids`` (lists of int), ``is_merge``,
            ``user_name``, ``user_affiliation`` (plus ``in_neuron``/``is_relevant`` when
            unfiltered). Rows are grouped by segment in input order (a repeated ID repeats
            its rows), each segment's in time order. A segment with no edits has no rows.

        Example:
            ```python
            log = ds.segments(ids).changelogs()
            log.groupby("segment_id")["is_merge"].sum()   # merges per segment
            ```
        """
        import pandas as pd

        policy = check_error_policy(errors)
        logs = _logs(self._datastack, self._ids, filtered, policy)
        frames = [logs[root].assign(segment_id=root) for root in self._ids.tolist() if root in logs]
        filled = [f for f in frames if len(f)]
        if filled:
            table = pd.concat(filled, ignore_index=True)
        elif frames:
            table = frames[0]
        else:
            table = fetch.tidy_log(pd.DataFrame(columns=list(fetch.LOG_COLUMNS))).assign(
                segment_id=0
            )
        table["segment_id"] = table["segment_id"].astype(np.uint64)
        columns = ["segment_id", *fetch.LOG_COLUMNS]
        return table[columns + [c for c in table.columns if c not in columns]]

    def raw_changelogs(
        self, *, filtered: bool = False, errors: ErrorPolicy = "raise"
    ) -> list[pd.DataFrame | None]:
        """Each segment's change log as caveclient returns it, in input order.

        The same request and cache as `changelogs()`, but each frame unchanged: the
        service's columns and types (``timestamp`` in epoch milliseconds), indexed as
        caveclient parses it; for code written against caveclient. A copy per segment.

        Args:
            filtered: as in `changelogs()`.
            errors: failure policy; a failed segment's entry is None under "warn"/"ignore".
        """
        policy = check_error_policy(errors)
        raw, failures = fetch.change_logs(self._datastack, self._ids.tolist(), filtered=filtered)
        _report(self._ids, failures, policy)
        return [raw[root].copy() if root in raw else None for root in self._ids.tolist()]

    def edits(
        self,
        *,
        filtered: bool = False,
        errors: ErrorPolicy = "raise",
        voxels: Voxels = "viewer",
    ) -> pd.DataFrame:
        """Every segment's edits, one row per (segment, operation), with edit points.

        Requests: the change logs (one ``tabular_change_log_many``), then one
        ``operation_details`` for all their operations (one per 250 operations), and the
        segmentation info once per client; all cached.

        Point coordinates are in **viewer voxels** at ``ds.config.resolution``: the service
        records them in segmentation mip-0 voxels, so each axis is multiplied by
        ``base_resolution / config.resolution`` (e.g. 16 nm / 4 nm = 4 in x and y) and
        rounded. (The original multiplied x and y by the viewer's x resolution and left z,
        which was right only when that number happened to equal the ratio.)

        Args:
            filtered: as in `changelogs()` (default: every operation in the past).
            errors: failure policy, as in `changelogs()`.
            voxels: ``"viewer"`` (default) or ``"segmentation"``: the service's own
                segmentation mip-0 voxels, unscaled (then no segmentation-info request).

        Returns:
            DataFrame on a RangeIndex with columns ``segment_id``, ``operation_id``,
            ``timestamp`` (UTC), ``is_merge``, ``point_coords`` (``[[x, y, z], [x, y, z]]``:
            for a merge the first source and sink points placed; for a split the mean of the
            source points and of the sink points), ``before_segs``, ``after_segs``,
            ``seg_pair`` (a merge: the two roots before it; a split: the roots it created)
            and ``user`` (str). Row order as in `changelogs()`.

        Example:
            ```python
            edits = ds.segment(seg_id).edits()
            edits.loc[edits.is_merge, "point_coords"]   # where each merge was made
            ```
        """
        if voxels not in ("viewer", "segmentation"):
            raise InvalidInputError(f"voxels must be 'viewer' or 'segmentation', got {voxels!r}")
        return edits_frame(self._datastack, self._ids, filtered=filtered, errors=errors,
                           viewer_voxels=voxels == "viewer")

    def original_ids(
        self, *, errors: ErrorPolicy = "raise", progress: bool | None = None
    ) -> list[IdArray | None]:
        """Each segment's original (never edited) ancestor IDs, sorted, in input order.

        A segment that was never edited is its own original. One ``get_original_roots`` per
        unique segment (``root_timestamps`` + ``lineage_graph_multiple``), run concurrently
        on a bounded pool; cached.

        Args:
            errors: failure policy; failed items are None under "warn"/"ignore".
            progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
        """
        policy = check_error_policy(errors)
        found, failures = fetch.original_roots(self._datastack, self._ids.tolist(),
                                               progress=progress)
        _report(self._ids, failures, policy)
        return [found[root].copy() if root in found else None for root in self._ids.tolist()]

    def largest_original_ids(self, *, errors: ErrorPolicy = "raise") -> IdArray:
        """For each segment, the original ancestor sharing most supervoxels with it.

        Requests: `original_ids()`, then one batched ``leaves_many`` for the segments with
        more than one original and those originals (cached). Ties go to the smaller ID.

        Returns:
            ``uint64`` array in input order; 0 (never a segment ID) where an item failed
            under "warn"/"ignore".
        """
        originals = self.original_ids(errors=errors, progress=False)
        known = {int(r): o for r, o in zip(self._ids.tolist(), originals, strict=True)
                 if o is not None}
        best = compute.largest_originals(self._datastack, known)
        return np.asarray([best.get(root, 0) for root in self._ids.tolist()], dtype=np.uint64)

    def user_contributions(self, *, errors: ErrorPolicy = "raise") -> pd.DataFrame:
        """Supervoxels each user contributed to each segment (segments × users).

        Over every operation in a segment's past (the unfiltered change log): a merge credits
        its user with the supervoxels of the smaller of the two merged roots (fewer
        supervoxels; on a tie the higher ID) that are in the segment now; a split credits the
        supervoxels that the split removed from the lineage (in the root before it, not in
        the after-root sharing most supervoxels with the segment) and that are not in the
        segment now. Each user's credit counts unique supervoxels.

        Requests, in three dependent stages: one change-log request for the whole list; one
        ``leaves_many`` per 500 roots for the L2 IDs of the roots no change log derives (the
        originals and the roots splits made: a merge's root is the union of what it merged,
        and a split's side that left the segment shares nothing with it); one
        ``leaves_many`` per 500 L2 nodes for the supervoxels of each distinct L2 node, once.
        All cached; a fourth stage only when the tie rule picks a split's side that left the
        segment as the continuing root (no side shares a supervoxel with it). The original made two
        ``get_leaves`` per edit, each a whole root's supervoxels.

        Bytes grow with the L2 nodes of the fetched roots (for a 5,000-edit neuron of 30,000
        supervoxels in 145 L2 nodes: about 9 MB with the change log, against 2.5 GiB when
        every root's supervoxels were fetched); memory with the L2 IDs held, since sets are
        compared as arrays of L2 nodes (or of the supervoxel classes they form where edits
        made overlapping L2 nodes), never as supervoxels of all roots at once.

        Returns:
            DataFrame indexed by ``segment_id`` (input order, duplicates kept) with one
            nullable ``Int64`` column per user ID (str, numeric order): the count, 0 where
            the user edited other segments of the list only, ``<NA>`` for a failed item.

        Example:
            ```python
            credit = ds.segments(ids).user_contributions()
            credit.sum().sort_values(ascending=False)   # supervoxels per editor
            ```
        """
        import pandas as pd

        credit = user_credit(self._datastack, self._ids, errors)
        users = compute.user_order(u for c in credit if c for u in c)
        rows = [
            [c.get(u, 0) for u in users] if c is not None else [pd.NA] * len(users)
            for c in credit
        ]
        return pd.DataFrame(
            rows,
            index=pd.Index(self._ids, name="segment_id", dtype=np.uint64),
            columns=pd.Index(users, name="user_id", dtype=object),
            dtype="Int64",
        )


class HistorySegmentMixin(OneSegment):
    """Edit-history methods of [`Segment`][tracertools.segments.segment.Segment] (one-item batches)."""

    __slots__ = ()
    _datastack: SegmentSession
    _id: int


    def changelog(self, *, filtered: bool = False) -> pd.DataFrame:
        """This segment's change log (see `SegmentList.changelogs()`), without
        the ``segment_id`` column; empty if it was never edited."""
        return self.as_list().changelogs(filtered=filtered).drop(columns="segment_id")

    def raw_changelog(self, *, filtered: bool = False) -> pd.DataFrame:
        """This segment's change log as caveclient returns it (see
        `SegmentList.raw_changelogs()`)."""
        found = self.as_list().raw_changelogs(filtered=filtered)[0]
        assert found is not None  # errors="raise" never leaves a gap
        return found

    def edits(self, *, filtered: bool = False, voxels: Voxels = "viewer") -> pd.DataFrame:
        """This segment's edits (see `SegmentList.edits()`; points in viewer voxels by
        default), without the ``segment_id`` column; empty if it was never edited."""
        return self.as_list().edits(filtered=filtered, voxels=voxels).drop(columns="segment_id")

    def original_ids(self) -> IdArray:
        """The original (never edited) ancestor IDs, sorted; ``[self.id]`` if never edited."""
        found = self.as_list().original_ids(progress=False)[0]
        assert found is not None  # errors="raise" never leaves a gap
        return found

    def largest_original_id(self) -> int:
        """The original ancestor sharing most supervoxels with this segment (ties: smaller
        ID); itself if it was never edited."""
        return int(self.as_list().largest_original_ids()[0])

    def user_contributions(self) -> pd.Series:
        """Supervoxels each user contributed to this segment (see
        `SegmentList.user_contributions()`).

        Returns:
            int64 Series indexed by user ID (str, numeric order), named ``"supervoxels"``;
            every user with an edit in the segment's past appears (0 if nothing of theirs
            remains); empty if the segment was never edited.
        """
        row = self.as_list().user_contributions().iloc[0]
        return row.astype(np.int64).rename("supervoxels")
