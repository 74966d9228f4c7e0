"""Segment details in a sheet: the logic behind `tracertools.storage.sheet.Tab.add_segment_details()`.

The layout is the original ``gsheet_add_seg_details`` one: segment IDs in column A under a
header in A1; from column B a header row and one row of results per ID::

    A            B           C           D             E        F        G          H
    segment_id   current_id  volume_um3  cable_length_nm  in_syn  out_syn  total_syn  proofread

(columns C-H only as selected). The work is done by [`Tab.fill_columns()`][tracertools.storage.sheet.Tab.fill_columns], which makes it
resumable (filled rows are skipped) and writes one request per batch; each batch of IDs costs
one [`SegmentList.details()`][tracertools.segments.segment.SegmentList.details] (current IDs, volumes, skeletons, synapse counts, all batched)
and one `SegmentList.proofreading_status()`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from tracertools.batch import ErrorPolicy, check_error_policy
from tracertools.errors import InvalidSegmentIdError, SegmentNotFoundError, ServiceError
from tracertools.storage.sheet_fill import MarkedFailure

_USABLE = ("root", "supervoxel", "l2")

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

    from tracertools.config import DatastackConfig
    from tracertools.storage.sheet import FillReport, Tab

__all__ = ["DetailsSession", "add_segment_details", "detail_header"]


class _DetailsList(Protocol):
    def details(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...

    def current_ids(self, *, errors: ErrorPolicy = "raise") -> npt.NDArray[np.uint64]: ...

    def proofreading_status(self, *args: Any, **kwargs: Any) -> pd.DataFrame: ...


class DetailsSession(Protocol):
    """What a details fill needs of a datastack ([`Datastack`][tracertools.datastack.Datastack] is one)."""

    @property
    def config(self) -> DatastackConfig: ...

    def segments(self, segment_ids: Iterable[Any]) -> _DetailsList: ...

    def classify_ids(self, values: Iterable[Any]) -> pd.DataFrame: ...

    def update_ids(self, values: Iterable[Any], *, strict: bool = False,
                   errors: ErrorPolicy = "warn") -> pd.DataFrame: ...

logger = logging.getLogger(__name__)


def detail_header(
    *, volume: bool = True, cable_length: bool = True, synapse_counts: bool = True,
    proofreading: bool = True, status: bool = False, original_names: bool = False,
) -> list[str]:
    """The result column names, in sheet order, for the selected details.

    The names and order of [`SegmentList.details()`][tracertools.segments.segment.SegmentList.details] (``cable_length_nm``, ``in_syn``,
    ``out_syn``, ``total_syn``); with ``original_names`` the original layout's
    (``cable_length``, ``inc_syn``), as the legacy ``gsheet_add_seg_details`` writes.
    """
    header = ["current_id"]
    header += ["volume_um3"] if volume else []
    header += ["cable_length" if original_names else "cable_length_nm"] if cable_length else []
    syn = ["inc_syn" if original_names else "in_syn", "out_syn", "total_syn"]
    header += syn if synapse_counts else []
    header += ["proofread"] if proofreading else []
    header += ["status"] if status else []
    return header


def add_segment_details(
    tab: Tab,
    ds: DetailsSession,
    *,
    volume: bool = True,
    cable_length: bool = True,
    synapse_counts: bool = True,
    proofreading: bool = True,
    status: bool = False,
    batch_size: int = 50,
    errors: ErrorPolicy = "warn",
    progress: bool | None = None,
    empty_proofread_column: bool = False,
    proofread_rule: str = "proofread",
    original_names: bool = False,
) -> FillReport:
    """Fill the details of the segment IDs in column A into the columns from B.

    See `tracertools.storage.sheet.Tab.add_segment_details()`. ``empty_proofread_column`` (for the
    legacy shim) keeps a ``proofread`` column in the layout but leaves its cells empty;
    ``proofread_rule`` names the column of `SegmentList.proofreading_status()` written there
    (``"proofread"``, the strict rule; the legacy shim writes ``"marked"``, the original's).
    ``status`` adds the ``status`` column where rows that fail for good say why;
    ``original_names`` writes the original layout's header names (legacy shim).

    Raises:
        MissingFeatureError: ``proofreading`` on a datastack without a proofreading table
            (before any request).
    """
    policy = check_error_policy(errors)
    if proofreading:
        ds.config.require("proofreading_table", "the 'proofread' column")
    header = detail_header(volume=volume, cable_length=cable_length,
                           synapse_counts=synapse_counts,
                           proofreading=proofreading or empty_proofread_column, status=status,
                           original_names=original_names)

    def compute(cells: list[str]) -> list[Any]:
        rows = _detail_rows(ds, cells, volume=volume, cable_length=cable_length,
                            synapse_counts=synapse_counts, proofreading=proofreading,
                            empty_proofread_column=empty_proofread_column,
                            proofread_rule=proofread_rule)
        if not status:
            return rows
        width = len(header) - 1
        return [MarkedFailure(row, [None] * width + [_reason(row)]) if _for_good(row) else
                row if isinstance(row, BaseException) else [*row, None] for row in rows]

    return tab.fill_columns(header, compute, id_column=1, start_column=2, batch_size=batch_size,
                            errors=policy, progress=progress)


def _for_good(row: Any) -> bool:
    """Whether a row failed because of its value (asking again will not help)."""
    return isinstance(row, (InvalidSegmentIdError, SegmentNotFoundError))


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    return f"error: {reason or error}"


def _why_no_current(ds: DetailsSession, ids: list[int]) -> dict[int, BaseException]:
    """Why these IDs got no current ID: asked again (one [`update_ids()`][tracertools.storage.sheet_details.DetailsSession.update_ids], only when some
    failed), so a never-issued ID (for good) is told from a service failure (worth a retry)."""
    if not ids:
        return {}
    try:
        report = ds.update_ids(ids, errors="ignore")
    except Exception as exc:  # the service is failing: every one is worth a retry
        return dict.fromkeys(ids, exc)
    return {i: e if e is not None else ServiceError(f"no current ID for {i} (it has one now)")
            for i, e in zip(ids, report["error"], strict=True)}


def _detail_rows(
    ds: DetailsSession,
    cells: Sequence[str],
    *,
    volume: bool,
    cable_length: bool,
    synapse_counts: bool,
    proofreading: bool,
    empty_proofread_column: bool,
    proofread_rule: str = "proofread",
) -> list[Any]:
    """One row of values (or the exception that row failed with) per ID cell.

    Cells are classed first (no request): text with spaces or a trailing ``.0`` is read as
    its ID; supervoxel and level-2 IDs stand for their segments; malformed values and IDs of
    other layers fail with their reason.
    """
    classes = ds.classify_ids(cells)
    parsed: list[int | BaseException] = []
    for text, kind, seg, why in zip(cells, classes["kind"], classes["segment_id"],
                                    classes["reason"], strict=True):
        if kind in _USABLE:
            parsed.append(int(seg))
        else:
            parsed.append(InvalidSegmentIdError(text, None, why or "an empty cell"))
    valid = [p for p in parsed if isinstance(p, int)]
    if not valid:
        return list(parsed)
    segs = ds.segments(valid)
    frame = None
    if volume or cable_length or synapse_counts:
        frame = segs.details(errors="ignore", progress=False, volume=volume,
                             cable_length=cable_length, synapse_counts=synapse_counts)
        current = frame["current_id"].to_numpy(dtype=np.uint64)
    else:
        current = segs.current_ids(errors="ignore")
    proofread: dict[int, bool] = {}
    if proofreading:
        known = np.unique(current[current != 0])
        if len(known):
            status = ds.segments(known).proofreading_status()
            proofread = {int(i): bool(v) for i, v in zip(status.index, status[proofread_rule],
                                                         strict=True)}
    no_current = _why_no_current(ds, [int(v) for v, c in zip(valid, current, strict=True)
                                      if int(c) == 0])
    rows: list[Any] = []
    position = 0
    for item in parsed:
        if not isinstance(item, int):
            rows.append(item)
            continue
        j, position = position, position + 1
        cur = int(current[j])
        if cur == 0:
            rows.append(no_current.get(item) or ServiceError(f"no current ID for {item}"))
            continue
        row: list[Any] = [str(cur)]
        missing: list[str] = []
        if frame is not None:
            record = frame.iloc[j]
            wanted = ([("volume", "volume_um3")] if volume else []) + (
                [("cable length", "cable_length_nm")] if cable_length else []) + (
                [("synapse counts", "in_syn"), ("synapse counts", "out_syn"),
                 ("synapse counts", "total_syn")] if synapse_counts else [])
            for what, column in wanted:
                value = float(record[column])
                if math.isnan(value):
                    missing.append(what)
                row.append(value if column in ("volume_um3", "cable_length_nm") else
                           (None if math.isnan(value) else int(value)))
        if proofreading:
            row.append(proofread.get(cur, False))
        elif empty_proofread_column:
            row.append(None)
        if missing:
            rows.append(ServiceError(f"could not compute the {', '.join(dict.fromkeys(missing))}"
                                     f" of segment {cur}"))
        else:
            rows.append(row)
    logger.debug("computed details for %d of %d ID cell(s)", len(valid), len(cells))
    return rows
