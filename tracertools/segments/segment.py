"""Segment and SegmentList handles.

A [`Segment`][tracertools.segments.segment.Segment] is one segment ID on a [`Datastack`][tracertools.datastack.Datastack]; a
[`SegmentList`][tracertools.segments.segment.SegmentList] is many, in input order with duplicates kept. Handles hold their session
and IDs only: building them validates the IDs and touches no network. Equality and repr use the
datastack name and the IDs. The batch methods on [`SegmentList`][tracertools.segments.segment.SegmentList] are the implementation;
the singular methods on [`Segment`][tracertools.segments.segment.Segment] return the first element of a one-item batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy, progress_bar
from tracertools.cave.lineage import freshness_with_failures, successor_candidates
from tracertools.ids import as_segment_id, as_segment_ids
from tracertools.segments.history import HistoryListMixin, HistorySegmentMixin
from tracertools.segments.links import LinksListMixin, LinksSegmentMixin
from tracertools.segments.metrics import (
    MetricsListMixin,
    MetricsSegmentMixin,
    check_proofreading_status,
    check_synapse_counts,
)
from tracertools.segments.roots import FRAME, LIST, LONG, Fill, on_roots, plan_of
from tracertools.segments.skeletons import (
    SkeletonsListMixin,
    SkeletonsSegmentMixin,
    check_skeletons,
)
from tracertools.segments.views import ViewsListMixin, ViewsSegmentMixin

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.ids import Candidate
    from tracertools.segments.session import SegmentSession

__all__ = ["Segment", "SegmentList"]

_REPR_IDS = 5
#: IDs listed by the notebook preview.
_HTML_IDS = 10


def _current_id_candidates(
    self: SegmentList, *, errors: ErrorPolicy = "raise"
) -> list[tuple[Candidate, ...] | None]:
    """For each ID, the current segments holding its supervoxels, largest share first.

    Each candidate's ``fraction`` is the share of the *old* segment's supervoxels it holds.
    A fresh ID gives one candidate, itself, with fraction 1.0; so does a supervoxel or
    level-2 ID, whose candidate is the segment holding it now. Four dependent stages of
    batched requests cover the whole list, decided at level 2: freshness; the L2 IDs of the
    stale IDs (``leaves_many``); their roots now (``roots_binary``); freshness of those roots
    with the supervoxel counts of the L2 nodes of stale IDs now spread over several roots
    (a fifth, ``roots_binary`` of a few supervoxels, only where an edit cut inside an L2
    chunk). See `tracertools.cave.overlap`.

    Args:
        errors: failure policy; an ID the chunkedgraph never knew (or one of another layer)
            raises [`BatchError`][tracertools.errors.BatchError] naming it under "raise" and is
            None otherwise.

    Example:
        ```python
        best = ds.segments([old_id]).current_id_candidates()[0][0]
        best.segment_id, best.fraction
        ```
    """
    return successor_candidates(self._datastack, self._ids, errors)


class Segment(
    HistorySegmentMixin,
    MetricsSegmentMixin,
    SkeletonsSegmentMixin,
    LinksSegmentMixin,
    ViewsSegmentMixin,
):
    """One segment ID on a datastack (a handle: no data is fetched until a method asks).

    Args:
        datastack: the session the segment belongs to.
        segment_id: the segment (root) ID; validated as an exact uint64. A supervoxel or
            level-2 ID stands for the segment holding it at the read time.
        strict: only a segment (root) ID is accepted: methods given a supervoxel or level-2
            ID raise [`NotARootError`][tracertools.errors.NotARootError] (naming its segment).
    """
    __slots__ = ("_datastack", "_id", "_strict")

    def __init__(self, datastack: SegmentSession, segment_id: Any, *,
                 strict: bool = False) -> None:
        self._datastack = datastack
        self._id = as_segment_id(segment_id)
        self._strict = bool(strict)

    @property
    def id(self) -> int:
        """The segment ID as a Python int."""
        return self._id

    @property
    def datastack(self) -> SegmentSession:
        """The session this handle uses."""
        return self._datastack

    # -- lineage ---------------------------------------------------------------------------
    def is_fresh(self) -> bool:
        """Whether this ID is current at the datastack's read time (``is_latest_roots``)."""
        return bool(self.as_list().are_fresh()[0])

    def current_id_candidates(self) -> tuple[Candidate, ...]:
        """The current segments holding this segment's supervoxels, largest share first.

        See `SegmentList.current_id_candidates()`.
        """
        result = self.as_list().current_id_candidates()[0]
        assert result is not None  # errors="raise" never leaves a gap
        return result

    def current_id(self) -> int:
        """The current ID: itself if fresh, else the successor holding most of its supervoxels."""
        return int(self.as_list().current_ids()[0])

    def current(self) -> Segment:
        """A handle on [`current_id()`][tracertools.segments.segment.Segment.current_id]."""
        return Segment(self._datastack, self.current_id())

    def details(self) -> dict[str, Any]:
        """This segment's row of [`SegmentList.details()`][tracertools.segments.segment.SegmentList.details] as a dict."""
        frame = self.as_list().details()
        return {"segment_id": self._id, **{k: frame[k].iloc[0].item() for k in frame.columns}}

    def __int__(self) -> int:
        return self._id

    def __index__(self) -> int:
        return self._id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return (self._datastack.name, self._id) == (other._datastack.name, other._id)

    def __hash__(self) -> int:
        return hash((self._datastack.name, self._id))

    def __repr__(self) -> str:
        return f"Segment({self._id}, datastack={self._datastack.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # the session pickles without its token
        return (_restore_handle, (type(self), _slot_values(self)))


class SegmentList(
    HistoryListMixin,
    MetricsListMixin,
    SkeletonsListMixin,
    LinksListMixin,
    ViewsListMixin,
    Sequence[Segment],
):
    """Many segment IDs on a datastack, in input order with duplicates kept.

    Every method works on segments (root IDs). The IDs are classed by their layer bits
    first (no request): supervoxel and level-2 IDs stand for the segments holding them at the
    read time (one request resolves them all); IDs of other layers, IDs on no layer and IDs
    that never existed fail as items, under each method's ``errors=`` policy.

    Args:
        datastack: the session the segments belong to.
        segment_ids: the IDs; validated as exact uint64 values.
        strict: only segment (root) IDs are accepted: a supervoxel or level-2 ID fails as an
            item with [`NotARootError`][tracertools.errors.NotARootError] (naming its segment).
    """
    __slots__ = ("_datastack", "_ids", "_strict")

    def __init__(self, datastack: SegmentSession, segment_ids: Any, *,
                 strict: bool = False) -> None:
        self._datastack = datastack
        ids = as_segment_ids(segment_ids)
        ids.setflags(write=False)
        self._ids = ids
        self._strict = bool(strict)

    @property
    def ids(self) -> npt.NDArray[np.uint64]:
        """The IDs as a read-only ``uint64`` array, in input order."""
        return self._ids

    @property
    def datastack(self) -> SegmentSession:
        """The session this handle uses."""
        return self._datastack

    @property
    def strict(self) -> bool:
        """Whether only segment (root) IDs are accepted (see the class docstring)."""
        return self._strict

    # -- lineage ---------------------------------------------------------------------------
    def are_fresh(self, *, errors: ErrorPolicy = "raise") -> npt.NDArray[np.bool_]:
        """Whether each ID is a current segment ID at the datastack's read time, in input order.

        One ``is_latest_roots`` request for up to ~190,000 IDs, and one ``valid_nodes``
        request for those that are not current (to tell a stale ID from one that never
        existed). A supervoxel or level-2 ID is not a current segment ID: False, with no
        request (under ``strict=True`` it fails).

        Args:
            errors: failure policy: an ID that never existed, or one of another layer, raises
                [`BatchError`][tracertools.errors.BatchError] under "raise"; under "warn"/"ignore"
                it is False (and named in the warning under "warn").
        """
        policy = check_error_policy(errors)
        plan = plan_of(self, policy, resolve=False)
        if plan.identity:
            fresh, failures = freshness_with_failures(self._datastack, self._ids)
        else:
            roots = np.flatnonzero(plan.roots != 0)
            fresh = np.zeros(len(self), dtype=bool)
            part, lost = freshness_with_failures(self._datastack, self._ids[roots])
            fresh[roots] = part
            failures = {int(roots[k]): exc for k, exc in lost.items()}
            failures.update(plan.failures)
        apply_error_policy(failures, policy, self._ids.tolist(), what="segment")
        return fresh

    def current_ids(self, *, errors: ErrorPolicy = "raise") -> npt.NDArray[np.uint64]:
        """The current ID of each segment, in input order, as ``uint64``.

        A fresh ID maps to itself; a stale one to the current segment holding the largest share
        of its supervoxels. Under ``errors="warn"``/``"ignore"`` a failed item is 0 (never a
        segment ID) and named in the warning.
        """
        candidates = self.current_id_candidates(errors=errors)
        return np.asarray([c[0].segment_id if c else 0 for c in candidates], dtype=np.uint64)

    def current(self) -> SegmentList:
        """A [`SegmentList`][tracertools.segments.segment.SegmentList] of [`current_ids()`][tracertools.segments.segment.SegmentList.current_ids] (raises on any failure)."""
        return SegmentList(self._datastack, self.current_ids())

    # -- composite -------------------------------------------------------------------------
    def details(
        self,
        *,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
        volume: bool = True,
        cable_length: bool = True,
        synapse_counts: bool = True,
        executor: Any = None,
        chunk_size: int | None = None,
    ) -> pd.DataFrame:
        """Current ID, volume, cable length and synapse counts of every segment.

        Current IDs first (three batched requests), then volumes, skeletons and synapse counts
        of the current IDs, fetched concurrently. Every part reads the same moment. Turning a
        part off (``volume=False``, ``cable_length=False``, ``synapse_counts=False``) skips
        its requests and leaves its columns NaN.

        With ``executor=`` (a ``concurrent.futures.Executor`` or a dask
        ``distributed.Client``) the distinct segments go out in chunks (``chunk_size``
        each; default about four tasks per worker thread), every task reading the same
        moment; a failed segment is named once in the warning, its found parts kept.

        Returns:
            DataFrame indexed by the input IDs (``segment_id``, input order) with columns
            ``current_id`` (uint64), ``volume_um3`` (µm³), ``cable_length_nm`` (nm),
            ``in_syn``, ``out_syn``, ``total_syn`` (the columns of `synapse_counts()`, in its order). Under ``errors="warn"``/``"ignore"`` a
            failed value is NaN (a failed current ID is 0) and named in a warning.
        """
        from concurrent.futures import ThreadPoolExecutor

        import pandas as pd

        if executor is not None:
            from tracertools.segments.details import details_on_executor

            return details_on_executor(
                self, executor, chunk_size=chunk_size, errors=check_error_policy(errors),
                progress=progress, volume=volume, cable_length=cable_length,
                synapse_counts=synapse_counts)

        pinned = SegmentList(self._datastack._pinned(), self._ids,  # one moment for all parts
                             strict=self._strict)
        parts = 1 + int(volume) + int(cable_length) + int(synapse_counts)
        volumes = np.full(len(self), np.nan)
        cable = np.full(len(self), np.nan)
        syn = pd.DataFrame({"in": np.nan, "out": np.nan, "total": np.nan},
                           index=range(len(self)))
        with progress_bar(parts, f"details of {len(self)} segments", progress,
                          unit="part") as bar:
            current = pinned.current_ids(errors=errors)
            bar.update()
            found = current != 0
            targets = SegmentList(pinned.datastack, current[found])
            if len(targets):
                with ThreadPoolExecutor(max_workers=3) as pool:
                    vol_f = pool.submit(targets.volumes_um3, errors=errors) if volume else None
                    cab_f = (pool.submit(targets.cable_lengths, errors=errors, progress=False)
                             if cable_length else None)
                    syn_f = pool.submit(targets.synapse_counts) if synapse_counts else None
                    if vol_f is not None:
                        volumes[found] = vol_f.result()
                        bar.update()
                    if cab_f is not None:
                        cable[found] = cab_f.result()
                        bar.update()
                    if syn_f is not None:
                        counts = syn_f.result()
                        syn.loc[np.flatnonzero(found), ["in", "out", "total"]] = counts[
                            ["in_syn", "out_syn", "total_syn"]].to_numpy()
                        bar.update()
        frame = pd.DataFrame(
            {
                "current_id": current,
                "volume_um3": volumes,
                "cable_length_nm": cable,
                "in_syn": syn["in"].to_numpy(),
                "out_syn": syn["out"].to_numpy(),
                "total_syn": syn["total"].to_numpy(),
            },
            index=pd.Index(self._ids, name="segment_id"),
        )
        if found.all() and synapse_counts:
            frame = frame.astype({"in_syn": "int64", "out_syn": "int64", "total_syn": "int64"})
        return frame

    def unique(self) -> SegmentList:
        """The same IDs with duplicates removed, first occurrences kept in order."""
        _, first = np.unique(self._ids, return_index=True)
        return SegmentList(self._datastack, self._ids[np.sort(first)], strict=self._strict)

    # -- methods that need segments: IDs of other layers are classed and resolved first ------
    current_id_candidates = on_roots(LIST)(_current_id_candidates)
    supervoxels = on_roots(LIST)(MetricsListMixin.supervoxels)
    l2_ids = on_roots(LIST)(MetricsListMixin.l2_ids)
    volumes_um3 = on_roots(Fill(np.nan))(MetricsListMixin.volumes_um3)
    synapse_counts = on_roots(FRAME, check_synapse_counts)(MetricsListMixin.synapse_counts)
    proofreading_status = on_roots(FRAME, check_proofreading_status)(
        MetricsListMixin.proofreading_status)
    changelogs = on_roots(LONG)(HistoryListMixin.changelogs)
    edits = on_roots(LONG)(HistoryListMixin.edits)
    original_ids = on_roots(LIST)(HistoryListMixin.original_ids)
    largest_original_ids = on_roots(Fill(0))(HistoryListMixin.largest_original_ids)
    user_contributions = on_roots(FRAME)(HistoryListMixin.user_contributions)
    skeletons = on_roots(LIST, check_skeletons)(SkeletonsListMixin.skeletons)
    edits_states = on_roots(LIST)(LinksListMixin.edits_states)

    def __len__(self) -> int:
        return int(self._ids.size)

    @overload
    def __getitem__(self, index: int) -> Segment: ...

    @overload
    def __getitem__(self, index: slice) -> SegmentList: ...

    def __getitem__(self, index: int | slice) -> Segment | SegmentList:
        if isinstance(index, slice):
            return SegmentList(self._datastack, self._ids[index], strict=self._strict)
        return Segment(self._datastack, int(self._ids[index]), strict=self._strict)

    def __iter__(self) -> Iterator[Segment]:
        for value in self._ids:
            yield Segment(self._datastack, int(value), strict=self._strict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SegmentList):
            return NotImplemented
        return self._datastack.name == other._datastack.name and np.array_equal(
            self._ids, other._ids
        )

    def __hash__(self) -> int:
        return hash((self._datastack.name, self._ids.tobytes()))

    def _repr_html_(self) -> str:
        """A compact card: datastack, counts, and the first IDs (never a request)."""
        import html

        unique = int(np.unique(self._ids).size)
        shown = self._ids[:_HTML_IDS].tolist()
        more = f"<tr><td colspan='2'>… {len(self) - len(shown):,} more</td></tr>" \
            if len(self) > len(shown) else ""
        rows = "".join(f"<tr><td style='text-align:right'>{i}</td><td><code>{v}</code></td></tr>"
                       for i, v in enumerate(shown))
        name = html.escape(self._datastack.name)
        return (f"<table><caption>SegmentList · {name} · {len(self):,} IDs "
                f"({unique:,} unique)</caption>{rows}{more}</table>")

    def __repr__(self) -> str:
        shown = ", ".join(str(int(v)) for v in self._ids[:_REPR_IDS])
        more = f", … ({len(self)} IDs)" if len(self) > _REPR_IDS else ""
        return f"SegmentList([{shown}{more}], datastack={self._datastack.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # IDs read-only again; the session without token
        return (_restore_handle, (type(self), _slot_values(self)))


def _slot_values(handle: Any) -> dict[str, Any]:
    """Every slot of a handle (its session, its ID(s) and settings), for pickling."""
    names = [n for cls in type(handle).__mro__ for n in getattr(cls, "__slots__", ())]
    return {n: getattr(handle, n) for n in dict.fromkeys(names) if hasattr(handle, n)}


def _restore_handle(cls: type[Any], values: dict[str, Any]) -> Any:
    """A pickled handle: the same slots, its ID array read-only again."""
    handle = object.__new__(cls)
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            value = np.array(value)
            value.setflags(write=False)
        object.__setattr__(handle, name, value)
    return handle
