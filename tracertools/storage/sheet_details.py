"""Segment details in a sheet: the logic behind :meth:`tracertools.storage.sheet.Tab.add_segment_details`.

The layout is the original ``gsheet_add_seg_details`` one: segment IDs in column A under a
header in A1; from column B a header row and one row of results per ID::

    A            B           C           D             E        F        G          H
    segment_id   current_id  volume_um3  cable_length  inc_syn  out_syn  total_syn  proofread

(columns C-H only as selected). The work is done by :meth:`Tab.fill_columns`, which makes it
resumable (filled rows are skipped) and writes one request per batch; each batch of IDs costs
one :meth:`SegmentList.details` (current IDs, volumes, skeletons, synapse counts, all batched)
and one :meth:`SegmentList.proofreading_status`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from tracertools.batch import ErrorPolicy, check_error_policy
from tracertools.errors import InvalidSegmentIdError, SegmentNotFoundError, ServiceError
from tracertools.ids import as_segment_id

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
    """What a details fill needs of a datastack (:class:`~tracertools.datastack.Datastack` is one)."""

    @property
    def config(self) -> DatastackConfig: ...

    def segments(self, segment_ids: Iterable[Any]) -> _DetailsList: ...

logger = logging.getLogger(__name__)


def detail_header(
    *, volume: bool = True, cable_length: bool = True, synapse_counts: bool = True,
    proofreading: bool = True,
) -> list[str]:
    """The result column names, in sheet order, for the selected details."""
    header = ["current_id"]
    header += ["volume_um3"] if volume else []
    header += ["cable_length"] if cable_length else []
    header += ["inc_syn", "out_syn", "total_syn"] if synapse_counts else []
    header += ["proofread"] if proofreading else []
    return header


def add_segment_details(
    tab: Tab,
    ds: DetailsSession,
    *,
    volume: bool = True,
    cable_length: bool = True,
    synapse_counts: bool = True,
    proofreading: bool = True,
    batch_size: int = 50,
    errors: ErrorPolicy = "warn",
    progress: bool | None = None,
    empty_proofread_column: bool = False,
    proofread_rule: str = "proofread",
) -> FillReport:
    """Fill the details of the segment IDs in column A into the columns from B.

    See :meth:`tracertools.storage.sheet.Tab.add_segment_details`. ``empty_proofread_column`` (for the
    legacy shim) keeps a ``proofread`` column in the layout but leaves its cells empty;
    ``proofread_rule`` names the column of :meth:`SegmentList.proofreading_status` written there
    (``"proofread"``, the strict rule; the legacy shim writes ``"marked"``, the original's).

    Raises:
        MissingFeatureError: ``proofreading`` on a datastack without a proofreading table
            (before any request).
    """
    policy = check_error_policy(errors)
    if proofreading:
        ds.config.require("proofreading_table", "the 'proofread' column")
    header = detail_header(volume=volume, cable_length=cable_length,
                           synapse_counts=synapse_counts,
                           proofreading=proofreading or empty_proofread_column)

    def compute(cells: list[str]) -> list[Any]:
        return _detail_rows(ds, cells, volume=volume, cable_length=cable_length,
                            synapse_counts=synapse_counts, proofreading=proofreading,
                            empty_proofread_column=empty_proofread_column,
                            proofread_rule=proofread_rule)

    return tab.fill_columns(header, compute, id_column=1, start_column=2, batch_size=batch_size,
                            errors=policy, progress=progress)


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
    """One row of values (or the exception that row failed with) per ID cell."""
    parsed: list[int | BaseException] = []
    for text in cells:
        try:
            parsed.append(as_segment_id(text))
        except InvalidSegmentIdError as exc:
            parsed.append(exc)
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
    rows: list[Any] = []
    position = 0
    for item in parsed:
        if not isinstance(item, int):
            rows.append(item)
            continue
        j, position = position, position + 1
        cur = int(current[j])
        if cur == 0:
            rows.append(SegmentNotFoundError([item], f"segment {item} has no current ID (the "
                                                     f"chunkedgraph does not know it)"))
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
