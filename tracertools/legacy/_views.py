"""Legacy shims: mesh crossings, triage, skeleton viewing and segment details in a sheet.

New homes: `SegmentList.intersections()` / `crosses()`,
`SegmentList.triage()`, `SegmentList.show()` and `tracertools.storage.sheet.Tab.add_segment_details()`.
Each shim keeps the original name, arguments, defaults and return shape, and works through one
shared session per datastack.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tracertools.legacy._session import session

# Keep sorted; tracertools.legacy re-exports these names.
__all__ = [
    "calc_seg_mesh_intersect",
    "gsheet_add_seg_details",
    "triage_segs",
    "visualize_skeletons",
]

LegacyHits = list[bool] | list[list[NDArray[np.float64]] | None]


def _legacy_hits(
    points_nm: Sequence[NDArray[np.float64] | None],
    resolution: Sequence[float],
    return_intersects: bool,
) -> LegacyHits:
    """The original's shapes: bools, or per segment a list of (3,) voxel points or None.

    Points are converted to voxels at ``resolution`` and rounded to whole voxels, as the
    original's ``calc_line_triangle_intersect`` did at its default precision 0.
    """
    if not return_intersects:
        return [p is not None and len(p) > 0 for p in points_nm]
    scale = np.asarray(resolution, dtype=np.float64)
    out: list[list[NDArray[np.float64]] | None] = []
    for points in points_nm:
        if points is None or len(points) == 0:
            out.append(None)
        else:
            out.append([row.copy() for row in np.round(points / scale, decimals=0)])
    return out


def _volume_resolution(url: str) -> tuple[float, float, float] | None:
    """nm per voxel of a precomputed volume's first scale, or None (e.g. a bare mesh folder)."""
    from tracertools.geometry.precomputed import read_info

    scales = read_info(url).get("scales") or [{}]
    res = scales[0].get("resolution") if isinstance(scales[0], dict) else None
    if not isinstance(res, (list, tuple)) or len(res) != 3:
        return None
    x, y, z = (float(r) for r in res)
    return (x, y, z)


def calc_seg_mesh_intersect(
    datastack: str, seg_ids: Iterable[Any], mesh_address: str, return_intersects: bool = False
) -> LegacyHits:
    """Legacy shim for `tracertools.segments.segment.SegmentList.crosses()` / ``.intersections``.

    Whether each segment's skeleton crosses mesh 1 of the precomputed volume at
    ``mesh_address`` (any form ``Mesh.from_precomputed`` reads, including neuroglancer's
    ``https://...|neuroglancer-precomputed:``).

    Returns:
        A list of bools in input order; with ``return_intersects``, a list per segment of
        ``(3,)`` float arrays (crossing points in voxels of the mesh volume, rounded to whole
        voxels) or None where it does not cross.

    New API: ``ds.segments(ids).crosses(Mesh.from_precomputed(url, 1))`` and
    ``.intersections(mesh)`` (points in nm). Fixed from the original: skeletons come ten per
    request instead of one each after a blind sleep; the test is vectorised; both skeleton and
    mesh are compared in nm (the original mixed the datastack's and the volume's voxels); a
    bone through an edge shared by two triangles gives one point, not two.
    """
    from tracertools.geometry.mesh import Mesh

    ds = session(datastack)
    segs = ds.segments(list(seg_ids))
    url = str(mesh_address).rstrip("/")
    mesh = Mesh.from_precomputed(url, 1)
    points = segs.intersections(mesh)
    resolution = _volume_resolution(url) if return_intersects else None
    return _legacy_hits(points, resolution or ds.config.resolution, return_intersects)


def triage_segs(
    datastack: str, seg_ids: Iterable[Any], return_intersects: bool = False
) -> LegacyHits:
    """Legacy shim for `tracertools.segments.segment.SegmentList.triage()`.

    Whether each segment's skeleton crosses any of the datastack's swamp meshes
    (``sources.swamp`` or ``sources.triage_mesh`` in its config; read once per session).

    Returns:
        A list of bools in input order; with ``return_intersects``, a list per segment of
        ``(3,)`` float arrays (crossing points in voxels of the swamp volume, rounded to whole
        voxels, ordered along the skeleton) or None where it crosses none.

    Raises:
        MissingFeatureError: the datastack has no swamp volume in its config.

    New API: ``ds.segments(ids).triage()`` (a DataFrame naming the swamps crossed). The
    original was marked non-functional and raised for every datastack but BANC; this one works
    for any datastack whose config names a swamp volume.
    """
    ds = session(datastack)
    points = ds.segments(list(seg_ids)).swamp_crossings()
    resolution = None
    if return_intersects:
        sources = ds.config.sources
        resolution = _volume_resolution(str(sources.swamp or sources.triage_mesh))
    return _legacy_hits(points, resolution or ds.config.resolution, return_intersects)


def visualize_skeletons(seg_ids: Iterable[Any], datastack: str = "brain_and_nerve_cord") -> None:
    """Legacy shim for `tracertools.segments.segment.SegmentList.show()`.

    Opens a microviewer window with the segments' skeletons, bones coloured by radius (note the
    original argument order: IDs first, datastack second with a default). Blocks until the
    window is closed.

    Raises:
        RenderingUnavailableError: there is no display; use
            ``ds.segments(ids).render("skeletons.png")`` for a PNG instead.

    New API: ``ds.segments(ids).show()``. Fixed from the original: skeletons in nm at the
    right scale (the original hard-coded a 16, 16, 45 transform), no blind sleep, and no
    ``sys.exit`` on a bad ID (it raises).
    """
    session(datastack).segments(list(seg_ids)).show()


def gsheet_add_seg_details(
    datastack: str,
    sheet_key: str,
    tab_name: str,
    volume: bool = True,
    cable_length: bool = True,
    synapse_counts: bool = True,
    proofreading: bool = True,
) -> None:
    """Legacy shim for `tracertools.storage.sheet.Tab.add_segment_details()`.

    Fills the tab as the original did: segment IDs in column A under a header in A1; from
    column B the header ``current_id``, then ``volume_um3``, ``cable_length`` (nm),
    ``inc_syn``, ``out_syn``, ``total_syn`` and ``proofread`` as selected, one row per ID.
    Resumable: rows already filled are skipped. ``proofread`` follows
    `check_seg_proofread_status()` (a true row maps to the segment), as the original did.

    Failed rows (an invalid or unknown ID, a service failure) are left empty and named in one
    [`PartialResultWarning`][tracertools.errors.PartialResultWarning], so a later call fills them; the
    original wrote "ERROR" cells that a later call never revisited. If the datastack has no
    proofreading table, the ``proofread`` column is left empty with a warning (the original
    wrote "ERROR" in every row).

    New API: ``Sheet(key).tab(name).add_segment_details(ds)``. Fixed from the original: current
    IDs are written as the ID (the original wrote ``"[id]"`` for fresh IDs), every ~50 rows
    cost a few batched requests instead of ~10 requests and a skeleton sleep per row, and
    failures are not retried blindly.
    """
    from tracertools.storage.sheet import Sheet
    from tracertools.storage.sheet_details import add_segment_details

    ds = session(datastack)
    keep_column = False
    if proofreading and ds.config.proofreading_table is None:
        warnings.warn(
            f"datastack {datastack!r} has no proofreading table; the 'proofread' column is "
            "left empty", UserWarning, stacklevel=2,
        )
        keep_column = True
    add_segment_details(
        Sheet(sheet_key).tab(tab_name), ds, volume=volume, cable_length=cable_length,
        synapse_counts=synapse_counts, proofreading=proofreading and not keep_column,
        empty_proofread_column=keep_column, errors="warn", proofread_rule="marked",
        original_names=True,
    )
