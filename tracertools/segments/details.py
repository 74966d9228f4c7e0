"""``SegmentList.details(executor=...)``: details of chunks of segments, each on a worker.

The session is pinned to one read time here first, so every task reads the same moment as a
serial call would. Each task runs ``details()`` on its chunk (current IDs, volumes, cable
lengths, synapse counts: a few batched requests per chunk) and sends back one row per segment.
A row with a missing part is asked again once on its own; if it still fails, the reason is
recorded for the ``errors=`` policy and the parts that were found are kept.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.batch import ErrorPolicy, ItemFailure, check_executor, run_chunks
from tracertools.errors import ServiceError

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.segments.segment import SegmentList
    from tracertools.segments.session import SegmentSession

__all__ = ["DETAIL_COLUMNS", "details_chunk", "details_frame", "details_on_executor"]

#: The columns of ``details()`` after the index, in order.
DETAIL_COLUMNS = ("current_id", "volume_um3", "cable_length_nm", "in_syn", "out_syn", "total_syn")

Row = tuple[int, float, float, float, float, float]


def _requested(volume: bool, cable_length: bool, synapse_counts: bool) -> list[str]:
    return (["volume_um3"] * volume + ["cable_length_nm"] * cable_length
            + ["in_syn", "out_syn", "total_syn"] * synapse_counts)


def _rows(frame: pd.DataFrame) -> list[Row]:
    current = frame["current_id"].to_numpy(dtype=np.uint64)
    v = frame[list(DETAIL_COLUMNS[1:])].to_numpy(dtype=np.float64)
    return [(int(current[i]), float(v[i, 0]), float(v[i, 1]), float(v[i, 2]), float(v[i, 3]),
             float(v[i, 4])) for i in range(len(current))]


def _gaps(frame: pd.DataFrame, wanted: list[str]) -> list[list[str]]:
    """Per row, the parts missing from it (``current_id`` when it has none)."""
    current = frame["current_id"].to_numpy(dtype=np.uint64)
    finite = np.isfinite(frame[wanted].to_numpy(dtype=np.float64))
    return [["current_id"] if current[i] == 0 else
            [c for k, c in enumerate(wanted) if not finite[i, k]] for i in range(len(current))]


def details_chunk(
    ds: SegmentSession, ids: Sequence[int], *, volume: bool, cable_length: bool,
    synapse_counts: bool,
) -> list[Row | ItemFailure]:
    """The details row of each segment of a chunk (a task of ``executor=`` work)."""
    parts = {"volume": volume, "cable_length": cable_length, "synapse_counts": synapse_counts}
    wanted = _requested(volume, cable_length, synapse_counts)
    frame = ds.segments(ids).details(errors="ignore", progress=False, **parts)
    rows: list[Row | ItemFailure] = list(_rows(frame))
    gaps = _gaps(frame, wanted)
    bad = [i for i, g in enumerate(gaps) if g]
    if not bad:
        return rows
    reason = ""
    try:  # once more, on its own: a transient failure heals; a lasting one says why
        again = ds.segments([ids[i] for i in bad]).details(errors="raise", progress=False, **parts)
    except Exception as exc:
        reason = f": {type(exc).__name__}: {exc}"
    else:
        for i, row in zip(bad, _rows(again), strict=True):
            rows[i] = row
        return rows
    for i in bad:
        rows[i] = ItemFailure(
            ServiceError(f"details of segment {ids[i]} lack {', '.join(gaps[i])}{reason}"),
            rows[i],
        )
    return rows


def details_frame(
    ids: Any, rows: Sequence[Row | None], *, synapse_counts: bool
) -> pd.DataFrame:
    """The ``details()`` DataFrame from one row per segment (None: nothing known)."""
    import pandas as pd

    empty: Row = (0, np.nan, np.nan, np.nan, np.nan, np.nan)
    filled = [r if r is not None else empty for r in rows]
    current = np.asarray([r[0] for r in filled], dtype=np.uint64)
    values = np.asarray([r[1:] for r in filled], dtype=np.float64).reshape(len(filled), 5)
    frame = pd.DataFrame(
        {"current_id": current, **{c: values[:, k] for k, c in enumerate(DETAIL_COLUMNS[1:])}},
        index=pd.Index(ids, name="segment_id"),
    )
    if (current != 0).all() and synapse_counts:
        frame = frame.astype({"in_syn": "int64", "out_syn": "int64", "total_syn": "int64"})
    return frame


def details_on_executor(
    segments: SegmentList,
    executor: Any,
    *,
    chunk_size: int | None,
    errors: ErrorPolicy,
    progress: bool | None,
    volume: bool,
    cable_length: bool,
    synapse_counts: bool,
) -> pd.DataFrame:
    """``segments.details(...)`` with one task per chunk of distinct segments on ``executor``."""
    check_executor(executor)
    ds = segments.datastack
    if synapse_counts:  # a missing table fails here, before any task, as it does serially
        ds.config.require("synapse_table", "synapse counts")
    pinned = ds._pinned()  # one moment for every task
    ids = [int(i) for i in segments.ids]
    distinct = list(dict.fromkeys(ids))
    chunk = functools.partial(details_chunk, pinned, volume=volume, cable_length=cable_length,
                              synapse_counts=synapse_counts)
    found: list[Any] = run_chunks(
        chunk, distinct, executor=executor, chunk_size=chunk_size, errors=errors,
        progress=progress, desc=f"details of {len(distinct)} segments", labels=distinct,
        what="segment", multiple=10)
    by_id: dict[int, Row | None] = dict(zip(distinct, found, strict=True))
    return details_frame(segments.ids, [by_id[i] for i in ids], synapse_counts=synapse_counts)
