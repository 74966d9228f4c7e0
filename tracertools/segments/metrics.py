"""Metric methods of Segment and SegmentList: supervoxels, L2 IDs, volume, a point inside each
segment, synapses, proofreading.

Every method works on the whole list with requests that grow only with the bytes or rows they
move: supervoxels and L2 IDs come from ``leaves_many`` in requests sized by their answers (cached:
a root's leaves never change), volumes stream each of those answers through an L2-cache lookup
and keep only the sums, synapse counts and proofreading status come from materialization queries
that filter on many IDs at once, fetch only the columns they need and reduce each answer before
the next. Stale IDs cost one table query per moment they are read at (the live engine takes no
per-ID moments; see `tracertools.cave.lineage.read_moments`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy
from tracertools.cave import calls as _cave, tables as _tables
from tracertools.cave.lineage import read_moments
from tracertools.errors import InvalidInputError, ServiceError
from tracertools.segments.base import OneSegment

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from tracertools.segments.session import SegmentSession

logger = logging.getLogger(__name__)

IdArray = npt.NDArray[np.uint64]

#: Proofreading status words, in the ``status`` column of `proofreading_status`.
#: The synapse-count columns, named and ordered alike in ``synapse_counts()``, ``details()``
#: and the sheet fills: incoming, outgoing, total.
SYNAPSE_COLUMNS = ("in_syn", "out_syn", "total_syn")

PROOFREAD = "proofread"
NOT_PROOFREAD = "not proofread"
ANCESTOR_PROOFREAD = "ancestor proofread"
NO_RECORD = "no record"

_TRUE_WORDS = {"true", "t", "yes", "y", "1"}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    try:
        return bool(value) and value == value  # NaN is not proofread
    except (TypeError, ValueError):
        return False


def check_synapse_counts(handle: Any, *args: Any, **kwargs: Any) -> None:
    """What `MetricsListMixin.synapse_counts()` checks before any request."""
    handle._datastack.config.require("synapse_table", "synapse counts")


def check_proofreading_status(handle: Any, *args: Any, **kwargs: Any) -> None:
    """What `MetricsListMixin.proofreading_status()` checks before any request."""
    handle._datastack.config.require("proofreading_table", "proofreading status")
    handle._datastack.config.require("proofreading_table.status_col", "proofreading status")


class MetricsListMixin:
    """Metric methods of [`SegmentList`][tracertools.segments.segment.SegmentList]."""

    __slots__ = ()
    _datastack: SegmentSession
    _ids: IdArray

    def _leaves(self, stop_layer: int, errors: ErrorPolicy) -> list[IdArray | None]:
        policy = check_error_policy(errors)
        lost: dict[int, BaseException] = {}  # per root, so one unknown ID fails only itself
        found = _cave.leaves(self._datastack, self._ids.tolist(), stop_layer=stop_layer,
                             failures=lost)
        if lost:
            failed = {i: lost[int(r)] for i, r in enumerate(self._ids) if int(r) in lost}
            apply_error_policy(failed, policy, self._ids.tolist(), what="segment")
        return [found.get(int(i)) for i in self._ids]

    def supervoxels(self, *, errors: ErrorPolicy = "raise") -> list[IdArray | None]:
        """Each segment's supervoxel IDs (``leaves_many``; cached per root), in input order.

        Under ``errors="warn"``/``"ignore"`` a segment whose leaves could not be fetched (for
        example an ID the chunkedgraph does not know) is None.
        """
        return self._leaves(1, errors)

    def l2_ids(self, *, errors: ErrorPolicy = "raise") -> list[IdArray | None]:
        """Each segment's level-2 node IDs (``leaves_many`` at layer 2; cached per root)."""
        return self._leaves(2, errors)

    def volumes_um3(self, *, errors: ErrorPolicy = "raise") -> npt.NDArray[np.float64]:
        """Each segment's volume in µm³, summed from the L2 cache's ``size_nm3``.

        Two stages, streamed: the segments' L2 IDs (``leaves_many``, requests sized by their
        answers, about one per 4 MB: see `tracertools.cave.calls.each_leaves_answer`), and
        for each answer as it arrives, the sizes of its L2 nodes (L2-cache requests of about
        4 MB each), summed to one volume per segment before the next. Only the volumes (and
        the L2 IDs, cached per segment like `l2_ids()`'s) stay in memory; a segment's volume
        is cached too (it never changes).

        A segment with an L2 node missing from the cache fails (the original silently
        under-counted it), and so does one whose L2 IDs or sizes could not be fetched: under
        ``errors="warn"``/``"ignore"`` its volume is NaN and the other volumes are still right.
        """
        policy = check_error_policy(errors)
        ds = self._datastack
        known = ds.cache("volume_nm3")
        l2_known = ds.cache("leaves:2")
        roots = [r for r in dict.fromkeys(int(i) for i in self._ids) if r not in known]
        failed: dict[int, BaseException] = {}  # per root, so one unknown ID fails only itself

        def reduce(l2_of: dict[int, IdArray]) -> None:
            l2_known.update(l2_of)
            present = [x for x in l2_of.values() if x.size]
            asked = np.concatenate(present) if present else np.zeros(0, dtype=np.uint64)
            l2_lost: dict[int, BaseException] | None = None if policy == "raise" else {}
            data = _cave.l2_data(ds, asked, ["size_nm3"], failures=l2_lost, keep=False)
            for root, l2 in l2_of.items():
                broken = [x for x in l2.tolist() if l2_lost and x in l2_lost]
                if broken:
                    failed[root] = ServiceError(
                        f"the L2 cache could not be read for {len(broken)} of {l2.size} L2 "
                        f"nodes of segment {root}: {l2_lost[broken[0]]}"  # type: ignore[index]
                    )
                    continue
                sizes = [data.get(int(x), {}).get("size_nm3") for x in l2.tolist()]
                missing = sum(s is None for s in sizes)
                if l2.size == 0 or missing:
                    failed[root] = ServiceError(
                        f"the L2 cache has no size for {missing or 'any'} of {l2.size} L2 nodes "
                        f"of segment {root}; its volume would be under-counted"
                    )
                    continue
                known[root] = float(np.sum(np.asarray(sizes, dtype=np.float64)))

        cached = {r: l2_known[r] for r in roots if r in l2_known}
        fetched = [r for r in roots if r not in cached]
        with ThreadPoolExecutor(max_workers=1) as side:  # the cached ones alongside
            done = side.submit(reduce, cached) if cached else None
            _cave.each_leaves_answer(ds, fetched, reduce, stop_layer=2, failures=failed)
            if done is not None:
                done.result()
        out = np.full(len(self._ids), np.nan)
        failures: dict[int, BaseException] = {}
        for i, root in enumerate(int(r) for r in self._ids):
            if root in known:
                out[i] = known[root] / 1e9
            else:
                failures[i] = failed.get(root) or ServiceError(f"no L2 IDs for {root}")
        apply_error_policy(failures, policy, self._ids.tolist(), what="segment")
        return out

    def representative_points(
        self, *, units: str = "nm", errors: ErrorPolicy = "raise"
    ) -> npt.NDArray[np.float64]:
        """A point inside each segment: the L2 cache's ``rep_coord_nm`` of one of its level-2
        nodes (a voxel of that node), for a sheet cell or a link's position.

        Batched: the segments' L2 IDs (``leaves_many``, requests sized by their answers,
        cached), then the coordinate of one L2 node per segment (L2-cache requests of about
        4 MB of answer, ~65,000 IDs); a segment whose chosen node the cache lacks gets a
        second try with up to `REP_TRIES` others of its nodes, in one more request. Stale IDs work too (a
        point of the segment as it was).

        Args:
            units: ``"nm"``, or ``"voxels"``: the viewer voxel at ``config.resolution`` holding
                the point (whole numbers, so still inside the segment).
            errors: failure policy; a failed segment's row is NaN under "warn"/"ignore".

        Returns:
            ``(N, 3)`` float array in input order.

        Raises:
            InvalidInputError: an unknown ``units`` (before any request).
        """
        if units not in ("nm", "voxels"):
            raise InvalidInputError(f"units must be 'nm' or 'voxels', got {units!r}")
        policy = check_error_policy(errors)
        ds = self._datastack
        roots = list(dict.fromkeys(int(i) for i in self._ids))
        lost: dict[int, BaseException] = {}
        l2_of = _cave.leaves(ds, roots, stop_layer=2, failures=lost)
        found: dict[int, npt.NDArray[np.float64]] = {}
        # the middle node first (deterministic), then the nodes around it
        order = {r: _around_middle(l2_of[r]) for r in roots if r in l2_of}
        for attempt in (slice(0, 1), slice(1, 1 + REP_TRIES)):
            wanted = {r: nodes[attempt] for r, nodes in order.items()
                      if r not in found and len(nodes[attempt])}
            if not wanted:
                break
            asked = np.concatenate(list(wanted.values()))
            l2_lost: dict[int, BaseException] = {}
            data = _cave.l2_data(ds, asked, ["rep_coord_nm"], failures=l2_lost)
            for root, nodes in wanted.items():
                for node in nodes.tolist():
                    coord = data.get(int(node), {}).get("rep_coord_nm")
                    if coord is not None:
                        found[root] = np.asarray(coord, dtype=np.float64).reshape(3)
                        break
                else:
                    broken = [n for n in nodes.tolist() if n in l2_lost]
                    if broken:
                        lost.setdefault(root, l2_lost[broken[0]])
        out = np.full((len(self._ids), 3), np.nan)
        failures: dict[int, BaseException] = {}
        for i, root in enumerate(int(r) for r in self._ids):
            if root in found:
                out[i] = found[root]
            else:
                failures[i] = lost.get(root) or ServiceError(
                    f"the L2 cache has no representative coordinate for segment {root}")
        apply_error_policy(failures, policy, self._ids.tolist(), what="segment")
        if units == "voxels":
            out = np.floor(out / np.asarray(ds.config.resolution, dtype=np.float64))
        return out

    def _by_moment(
        self,
    ) -> tuple[dict[datetime | None, IdArray], dict[int, BaseException]]:
        """The distinct IDs grouped by the moment each is read at (see ``read_moments``),
        and the failed IDs."""
        ds = self._datastack
        failed: dict[int, BaseException] = {}
        at = _cave.read_time(ds)
        groups = read_moments(ds, self._ids, at, failed)
        # the IDs current at the read time are read at it: the materialization version if the
        # datastack has one, else the very moment their freshness was checked
        now = None if ds.materialization_version is not None else at
        return {(now if k is None else k): np.asarray(v, dtype=np.uint64)
                for k, v in groups.items()}, failed

    def _report(self, failed: dict[int, BaseException], errors: ErrorPolicy) -> None:
        positions = {i: failed[int(r)] for i, r in enumerate(self._ids) if int(r) in failed}
        apply_error_policy(positions, errors, self._ids.tolist(), what="segment")

    def synapse_counts(self, *, errors: ErrorPolicy = "raise") -> pd.DataFrame:
        """Incoming, outgoing and total synapse counts per segment.

        Reads the datastack's synapse table (``config.synapse_table``) live at the read time
        (or at ``materialization_version``), filtering on many IDs at once and fetching only
        the post (incoming) or pre (outgoing) root column: per direction, one query per read
        moment and ~2,000 IDs, all run concurrently, split further only where an answer
        reaches the row cap (see `tracertools.cave.tables.count_matches`: each answer is
        reduced to counts as it arrives, so memory holds counts, not rows). Before the queries: one ``is_latest_roots``,
        and for stale IDs two ``root_timestamps`` (sent together).
        Autapses count once as incoming and once as outgoing, as in the original.

        A segment ID edited before the read time is no longer a segment then (the live engine
        refuses it, and no list endpoint takes a moment per ID), so it is counted at a moment
        it was current, just before the edit that retired it or that of another stale ID
        current then: stale IDs that existed together share one query moment, and the moments
        are the fewest that cover them all (see `tracertools.cave.lineage.read_moments`). Call
        ``.current()`` first for the counts of what those segments became. Annotations too
        recent to be looked up by the engine are left out with an
        [`IncompleteDataWarning`][tracertools.errors.IncompleteDataWarning].

        Args:
            errors: failure policy for IDs the chunkedgraph does not know or that did not exist
                yet at the read time ([`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError]); their
                counts are NaN under "warn"/"ignore".

        Returns:
            DataFrame indexed by segment ID (input order, duplicates kept) with columns ``in_syn``, ``out_syn`` and ``total_syn`` (`SYNAPSE_COLUMNS`) (int64; nullable ``Int64`` with ``<NA>`` for failed items).
        """
        import pandas as pd

        policy = check_error_policy(errors)
        ds = self._datastack
        table = ds.config.require("synapse_table", "synapse counts")
        groups, failed = self._by_moment()
        counts = _tables.count_matches_by_moment(
            ds, table.name, [table.post_seg_col, table.pre_seg_col], groups)
        incoming, outgoing = counts[table.post_seg_col], counts[table.pre_seg_col]
        self._report(failed, policy)
        ids = self._ids.tolist()
        frame = pd.DataFrame(
            {
                "in_syn": [pd.NA if i in failed else incoming.get(i, 0) for i in ids],
                "out_syn": [pd.NA if i in failed else outgoing.get(i, 0) for i in ids],
            },
            index=pd.Index(self._ids, name="segment_id"),
            dtype="Int64",
        )
        frame["total_syn"] = frame["in_syn"] + frame["out_syn"]
        return frame if failed else frame.astype("int64")

    def proofreading_status(self, *, errors: ErrorPolicy = "raise") -> pd.DataFrame:
        """Proofreading status per segment, read from the status column of the datastack's
        proofreading table (live at the read time, or at ``materialization_version``).

        One query per read moment and ~2,000 IDs (the table holds few rows per segment),
        after one ``is_latest_roots`` and, for stale IDs, two ``root_timestamps``.
        A segment ID edited before the read time is read at a moment it was current, as in
        `synapse_counts()`.

        Args:
            errors: failure policy for IDs the chunkedgraph does not know or that did not exist
                yet at the read time; under "warn"/"ignore" their status is None and
                ``proofread`` / ``marked`` are ``<NA>`` (nullable ``boolean``).

        Returns:
            DataFrame indexed by segment ID (input order) with ``proofread`` (bool: this exact
            segment is marked proofread, i.e. a row with a true status was set for it, its
            ``valid_id`` being the segment when the table has that column; a segment edited
            after it was marked reads False), ``status`` (``"proofread"``, ``"not proofread"``
            when a row says no, ``"ancestor proofread"`` when a row marks a segment this one
            grew out of and it was edited since, or ``"no record"``) and ``marked`` (bool: some
            row with a true status maps to this segment, its point lying in it, whenever the
            row was set; the original ``check_seg_proofread_status`` rule, and the one BANC's
            own tools apply to ``backbone_proofread``).
        """
        import pandas as pd

        policy = check_error_policy(errors)
        ds = self._datastack
        table = ds.config.require("proofreading_table", "proofreading status")
        status_col = ds.config.require("proofreading_table.status_col", "proofreading status")
        groups, failed = self._by_moment()
        verdict: dict[int, str] = {}
        marked_roots: set[int] = set()
        for rows in _tables.rows_matching_by_moment(ds, table.name, table.seg_col, groups):
            for _, row in rows.iterrows():
                root = int(row[table.seg_col])
                marked = _truthy(row[status_col])
                if marked:
                    marked_roots.add(root)
                valid_for = row.get("valid_id")
                on_ancestor = valid_for is not None and valid_for == valid_for and (
                    int(valid_for) != root
                )
                if marked and not on_ancestor:
                    verdict[root] = PROOFREAD
                elif marked:
                    verdict.setdefault(root, ANCESTOR_PROOFREAD)
                else:
                    verdict.setdefault(root, NOT_PROOFREAD)
        self._report(failed, policy)
        statuses = [None if int(i) in failed else verdict.get(int(i), NO_RECORD)
                    for i in self._ids]
        proofread: Any = [s == PROOFREAD for s in statuses]
        marked_col: Any = [int(i) in marked_roots for i in self._ids]
        if failed:  # failed items are <NA>, never a silent "no record"
            proofread = pd.array([pd.NA if s is None else p for s, p in zip(statuses, proofread,
                                                                           strict=True)],
                                 dtype="boolean")  # type: ignore[call-overload]
            marked_col = pd.array([pd.NA if s is None else m for s, m in zip(statuses, marked_col,
                                                                            strict=True)],
                                  dtype="boolean")  # type: ignore[call-overload]
        return pd.DataFrame(
            {"proofread": proofread, "status": statuses, "marked": marked_col},
            index=pd.Index(self._ids, name="segment_id"),
        )

    def are_proofread(self, *, errors: ErrorPolicy = "raise") -> npt.NDArray[np.bool_]:
        """Whether each segment itself is marked proofread: the strict rule, the
        ``proofread`` column of `proofreading_status()` (a segment edited after it was
        marked reads False). Its ``marked`` column has the original, looser rule. Under
        ``errors="warn"``/``"ignore"`` a failed item is False."""
        status = self.proofreading_status(errors=errors)["proofread"]
        return status.fillna(False).to_numpy(dtype=bool)


#: Further L2 nodes tried per segment when the first one's coordinate is not cached.
REP_TRIES = 8


def _around_middle(nodes: IdArray) -> IdArray:
    """The sorted node IDs ordered from the middle one outwards."""
    ordered = np.sort(np.asarray(nodes, dtype=np.uint64))
    mid = len(ordered) // 2
    index = sorted(range(len(ordered)), key=lambda j: (abs(j - mid), j))
    return ordered[index] if len(ordered) else ordered


class MetricsSegmentMixin(OneSegment):
    """Metric methods of [`Segment`][tracertools.segments.segment.Segment] (one-item batches)."""

    __slots__ = ()
    _datastack: SegmentSession
    _id: int


    def supervoxels(self) -> IdArray:
        """This segment's supervoxel IDs (``leaves``; cached)."""
        found = self.as_list().supervoxels()[0]
        assert found is not None  # errors="raise" never leaves a gap
        return found

    def l2_ids(self) -> IdArray:
        """This segment's level-2 node IDs (cached)."""
        found = self.as_list().l2_ids()[0]
        assert found is not None  # errors="raise" never leaves a gap
        return found

    def volume_um3(self) -> float:
        """This segment's volume in µm³ (see `SegmentList.volumes_um3()`)."""
        return float(self.as_list().volumes_um3()[0])

    def synapse_counts(self) -> dict[str, int]:
        """``{"in_syn": ..., "out_syn": ..., "total_syn": ...}`` for this segment."""
        row = self.as_list().synapse_counts().iloc[0]
        return {k: int(row[k]) for k in SYNAPSE_COLUMNS}

    def representative_point(self, *, units: str = "nm") -> npt.NDArray[np.float64]:
        """A point inside this segment, ``(3,)`` (see `SegmentList.representative_points()`)."""
        return self.as_list().representative_points(units=units)[0]

    def proofreading_status(self) -> str:
        """"proofread", "not proofread", "ancestor proofread" or "no record"."""
        return str(self.as_list().proofreading_status()["status"].iloc[0])

    def is_proofread(self) -> bool:
        """Whether this exact segment is marked proofread."""
        return bool(self.as_list().are_proofread()[0])
