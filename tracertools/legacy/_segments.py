"""Legacy shims of the segment, metrics and CAVE-info families.

Each keeps the original name, arguments and return shape, and delegates to the batched methods
of [`SegmentList`][tracertools.segments.segment.SegmentList] / [`Datastack`][tracertools.datastack.Datastack]
through one shared session per datastack.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.legacy._session import session

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "check_seg_freshness",
    "check_seg_proofread_status",
    "count_synapses",
    "get_cave_stack_info",
    "get_cave_stack_tables",
    "get_cave_stacks",
    "get_cave_table",
    "get_cave_table_info",
    "get_current_seg_ids",
    "get_cable_lengths",
    "get_roots_from_points",
    "get_seg_3d_volume",
    "get_seg_details",
    "get_seg_from_sv",
    "get_seg_skeletons",
    "get_svs_from_seg",
]


# --------------------------------------------------------------------------------------------
# check_* / get_current_seg_ids: freshness and current IDs
# --------------------------------------------------------------------------------------------


ERROR = "ERROR"


def _usable(ds: Any, seg_ids: Iterable[Any]) -> tuple[list[Any], list[int], list[int]]:
    """The values, the positions of those that can name a segment, and their IDs.

    Classing is local (no request): a value that can never name a segment (``"abc"``, a float
    that lost digits, an ID of another layer) gets ``"ERROR"`` in its own entry only.
    """
    values = list(seg_ids)
    kinds = ds.classify_ids(values)
    good = [i for i, k in enumerate(kinds["kind"]) if k in ("root", "supervoxel", "l2")]
    ids = [int(kinds["segment_id"].iloc[i]) for i in good]
    return values, good, ids


def _spread(n: int, good: list[int], found: list[Any]) -> list[Any]:
    out: list[Any] = [ERROR] * n
    for pos, value in zip(good, found, strict=True):
        out[pos] = value
    return out


def _failed(value: Any) -> bool:
    """Whether a batch answer is a gap (None, NaN, ``<NA>``) left by a failed item."""
    import pandas as pd

    return value is None or bool(pd.isna(value))


def check_seg_freshness(datastack: str, seg_ids: Iterable[Any]) -> list[Any]:
    """Legacy shim for [`tracertools.segments.segment.SegmentList.are_fresh()`][tracertools.segments.segment.SegmentList.are_fresh].

    One bool per ID (False for an ID that never existed, or for a supervoxel or level-2 ID,
    which is no current segment ID); ``"ERROR"`` only in the entry of a value that can never
    name a segment (the original lost the whole list to it).
    """
    ds = session(datastack)
    values, good, ids = _usable(ds, seg_ids)
    fresh: Any = ds.segments(ids).are_fresh(errors="ignore") if ids else []
    return _spread(len(values), good, [bool(v) for v in fresh])


def get_current_seg_ids(
    datastack: str,
    seg_ids: Iterable[Any],
    include_ratio: bool = False,
    full_list: bool = False,
    skip_fresh: bool = True,
    detailed_errors: bool = False,
) -> list[Any]:
    """Legacy shim for `tracertools.segments.segment.SegmentList.current_id_candidates()`.

    One entry per input ID, the same shape for fresh and stale IDs (the original gave ``[id]``
    for fresh IDs and a bare int for stale ones): an int by default; ``[id, ratio]`` with
    ``include_ratio``; with ``full_list``, the list of all candidates (ints, or ``[id, ratio]``
    pairs), largest first. The ratio is the share of the old segment's supervoxels. A failed ID
    gives ``"ERROR"``, or the reason with ``detailed_errors``; only that entry: every other
    ID keeps its answer. A supervoxel or level-2 ID maps to the segment holding it now (ratio
    1.0). ``skip_fresh`` is accepted for compatibility: fresh IDs always map to themselves
    with ratio 1.0.
    """
    del skip_fresh  # fresh IDs are never recomputed; the answer would be the same
    ds = session(datastack)  # a config problem raises; only bad IDs become "ERROR"
    report = ds.update_ids(list(seg_ids), errors="ignore")
    out: list[Any] = []
    for i, (value, cands, reason) in enumerate(
            zip(report["value"], report["candidates"], report["reason"], strict=True)):
        if cands is None:
            why = reason or "an empty value is not a segment ID"
            out.append(f"{value!r} at position {i}: {why}" if detailed_errors else "ERROR")
            continue
        pairs = [[c.segment_id, c.fraction] for c in cands]
        if full_list:
            out.append(pairs if include_ratio else [p[0] for p in pairs])
        else:
            out.append(pairs[0] if include_ratio else pairs[0][0])
    return out


# --------------------------------------------------------------------------------------------
# supervoxels and points
# --------------------------------------------------------------------------------------------


def get_svs_from_seg(datastack: str, seg_id: Any) -> list[int]:
    """Legacy shim for `tracertools.segments.segment.Segment.supervoxels()`."""
    return [int(v) for v in session(datastack).segment(seg_id).supervoxels()]


def get_seg_from_sv(datastack: str, sv_id: Any) -> np.int64:
    """Legacy shim for [`tracertools.datastack.Datastack.segments_of_supervoxels()`][tracertools.datastack.Datastack.segments_of_supervoxels]."""
    from tracertools.ids import as_segment_id

    root = session(datastack).segments_of_supervoxels([as_segment_id(sv_id)])[0]
    return np.int64(int(root))


def _legacy_points(points: Any) -> list[Any]:
    """The points as a list; a single point may be passed bare (its first item a number)."""
    items = list(points.tolist() if isinstance(points, np.ndarray) else points)
    if items and isinstance(items[0], (int, float, np.number)) and not isinstance(items[0], bool):
        return [items]
    return items


def _usable_point(item: Any, low: Any, high: Any) -> np.ndarray | None:
    """``item`` as a (3,) float point inside [low, high] (viewer voxels), else None."""
    try:
        point = np.asarray(item, dtype=float).reshape(3)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(point).all():
        return None
    if low is not None and high is not None and (
        (point < np.asarray(low)).any() or (point > np.asarray(high)).any()
    ):
        return None
    return point


def get_roots_from_points(datastack: str, points: Any, sv: bool = False) -> list[Any]:
    """Legacy shim for [`tracertools.datastack.Datastack.segments_at()`][tracertools.datastack.Datastack.segments_at] (``sv=True``:
    [`supervoxels_at()`][tracertools.datastack.Datastack.supervoxels_at]).

    ``points`` are viewer voxels; a single point may be passed bare. Background gives 0. As in
    the original, a point that cannot be looked up gives ``"ERROR"`` in its place: one that is
    not three finite numbers, or one outside the datastack's volume (``min_coord`` to
    ``max_coord`` when the config has them). Every other failure (no CAVE for the datastack,
    authentication, the service) raises, as it concerns every point.
    """
    ds = session(datastack)
    items = _legacy_points(points)
    cfg = ds.config
    usable = [_usable_point(item, cfg.min_coord, cfg.max_coord) for item in items]
    where = [i for i, p in enumerate(usable) if p is not None]
    good = [p for p in usable if p is not None]
    out: list[Any] = ["ERROR"] * len(items)
    if where:
        pts = np.stack(good)
        found = ds.supervoxels_at(pts) if sv else ds.segments_at(pts)
        for i, value in zip(where, found, strict=True):
            out[i] = int(value)
    return out


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------


def get_seg_3d_volume(datastack: str, seg_id: Any) -> np.float64:
    """Legacy shim for `tracertools.segments.segment.Segment.volume_um3()` (µm³)."""
    return np.float64(session(datastack).segment(seg_id).volume_um3())


def count_synapses(
    datastack: str, seg_ids: Iterable[Any], detailed_results: bool = False
) -> list[Any] | dict[int, dict[str, Any]]:
    """Legacy shim for `tracertools.segments.segment.SegmentList.synapse_counts()`.

    Default: a list of total counts in input order. ``detailed_results``: a dict keyed by int
    ID with ``{"in", "out", "all"}``. Counts are live (the original read a lagging
    materialization) and never truncated by the server's row limit. A value that names no
    segment (an ID never issued, ``"abc"``) gives ``"ERROR"`` in its own entry only.
    """
    ds = session(datastack)
    values, good, ids = _usable(ds, seg_ids)
    frame = ds.segments(ids).synapse_counts(errors="ignore") if ids else None
    rows = [] if frame is None else list(zip(
        frame.index, frame["in_syn"], frame["out_syn"], frame["total_syn"], strict=True))
    if detailed_results:
        return {
            int(i): ({"in": ERROR, "out": ERROR, "all": ERROR} if _failed(n_all) else
                     {"in": int(n_in), "out": int(n_out), "all": int(n_all)})
            for i, n_in, n_out, n_all in rows
        }
    return _spread(len(values), good,
                   [ERROR if _failed(n_all) else int(n_all) for *_, n_all in rows])


def check_seg_proofread_status(datastack: str, seg_ids: Iterable[Any]) -> list[bool]:
    """Legacy shim for `tracertools.segments.segment.SegmentList.proofreading_status()`.

    True when a row of the proofreading table with a true status maps to the segment (the
    original's intent, and BANC's own rule for ``backbone_proofread``), even if the segment was
    edited after it was marked: the ``marked`` column. The strict ``are_proofread()`` says
    False for such a segment. Reads the status column (the original tested the index by
    mistake); a datastack without a proofreading table raises MissingFeatureError instead of
    printing and returning None.
    """
    frame = session(datastack).segments(seg_ids).proofreading_status()
    return [bool(v) for v in frame["marked"]]


# --------------------------------------------------------------------------------------------
# skeletons and details
# --------------------------------------------------------------------------------------------


def get_seg_skeletons(datastack: str, seg_ids: Iterable[Any]) -> list[Any]:
    """Legacy shim for `tracertools.segments.segment.SegmentList.skeletons()`.

    Returns osteoid Skeletons in physical (nm) space, in input order, as the original did, but
    fetches the version it asks for (4), never sleeps on an ETA and never exits the interpreter:
    a bad ID raises a typed error.
    """
    ds = session(datastack)
    skeletons = ds.segments(seg_ids).skeletons()
    return [s.to_osteoid(ds.config.resolution) for s in skeletons if s is not None]


def get_cable_lengths(datastack: str, seg_ids: Iterable[Any]) -> list[Any]:
    """Legacy shim for `tracertools.segments.segment.SegmentList.cable_lengths()` (nm).

    A value whose skeleton cannot be had (an ID never issued, ``"abc"``) gives ``"ERROR"`` in
    its own entry only.
    """
    ds = session(datastack)
    values, good, ids = _usable(ds, seg_ids)
    lengths: Any = ds.segments(ids).cable_lengths(errors="ignore") if ids else []
    return _spread(len(values), good,
                   [ERROR if _failed(v) else float(v) for v in lengths])


def get_seg_details(datastack: str, seg_ids: Iterable[Any]) -> list[list[Any]]:
    """Legacy shim for [`tracertools.segments.segment.SegmentList.details()`][tracertools.segments.segment.SegmentList.details].

    One row per input ID: ``[original_id, current_id, volume_um3, cable_nm, out_syn, in_syn,
    total_syn]``. Works for fresh and stale IDs alike (the original crashed on fresh ones). A
    value that could not be computed is ``"ERROR"`` in its own row (or cell) only.
    """
    ds = session(datastack)
    values, good, ids = _usable(ds, seg_ids)
    frame = ds.segments(ids).details(errors="ignore") if ids else None
    columns = ["current_id", "volume_um3", "cable_length_nm", "out_syn", "in_syn", "total_syn"]
    kinds = [int, float, float, int, int, int]
    rows: list[Any] = [[value, *[ERROR] * len(columns)] for value in values]
    for j, pos in enumerate(good):
        assert frame is not None
        cells = [frame[col].iloc[j] for col in columns]
        if int(cells[0]) == 0:  # no current ID: nothing else was computed
            rows[pos] = [ids[j], *[ERROR] * len(columns)]
            continue
        rows[pos] = [ids[j], *(ERROR if _failed(c) else kind(c)
                               for c, kind in zip(cells, kinds, strict=True))]
    return rows


# --------------------------------------------------------------------------------------------
# get_cave_*: datastack metadata and tables
# --------------------------------------------------------------------------------------------


def get_cave_stacks() -> list[str]:
    """Legacy shim for [`tracertools.datastacks()`][tracertools.datastack.datastacks] (one request, not two)."""
    from tracertools.datastack import datastacks

    return datastacks()


def get_cave_stack_info(datastack: str) -> dict[str, Any]:
    """Legacy shim for [`tracertools.datastack.Datastack.info()`][tracertools.datastack.Datastack.info]."""
    return session(datastack).info()


def get_cave_stack_tables(datastack: str) -> list[str]:
    """Legacy shim for [`tracertools.datastack.Datastack.tables()`][tracertools.datastack.Datastack.tables]."""
    return session(datastack).tables()


def get_cave_table(datastack: str, table_name: str) -> pd.DataFrame:
    """Legacy shim for [`tracertools.datastack.Datastack.table()`][tracertools.datastack.Datastack.table] (complete, never cut)."""
    return session(datastack).table(table_name)


def get_cave_table_info(datastack: str, table_name: str) -> dict[str, Any]:
    """Legacy shim for [`tracertools.datastack.Datastack.table_info()`][tracertools.datastack.Datastack.table_info]."""
    return session(datastack).table_info(table_name)
