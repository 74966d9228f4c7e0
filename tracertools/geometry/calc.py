"""Pure, vectorised geometry: distances, resolutions, boxes and segment/triangle tests.

Everything here is plain numpy (no I/O, no session, no scipy at import time), so it works offline
and on any array-like input.

Units:
    * **voxels** are coordinates at some voxel resolution, e.g. a datastack's viewer resolution
      ``config.resolution`` such as ``(4, 4, 45)``;
    * a **resolution** is in nm per voxel along each axis;
    * multiplying voxels by their resolution gives **nm**.

The segment/triangle functions make no unit assumption beyond "both inputs use the same units":
their tolerances are relative, so nm at 1e6 scale and µm at 1e-3 scale behave the same.

Inputs may be any array-like (lists, tuples, numpy arrays). Non-finite coordinates (NaN, inf)
raise [`InvalidGeometryError`][tracertools.errors.InvalidGeometryError] everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracertools.errors import InvalidGeometryError, InvalidInputError

__all__ = [
    "bbox_corners",
    "convert_resolution",
    "distance",
    "mean_point",
    "segment_triangle_intersection",
    "segment_triangle_intersections",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Candidate (segment, triangle) pairs examined per vectorised step; bounds peak memory.
_PAIR_CHUNK = 1 << 20
#: Below this many segment x triangle pairs, all pairs are tested without building a grid.
_ALL_PAIRS_MAX = 1 << 18
#: Average number of grid cells an object may occupy before the cell size is doubled.
_CELLS_PER_OBJECT = 16
#: Maximum grid cells along one axis, which keeps linear cell keys inside int64.
_MAX_CELLS_PER_AXIS = 1 << 20


# --------------------------------------------------------------------------------------------
# Input helpers
# --------------------------------------------------------------------------------------------


def _float_array(value: ArrayLike, name: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric array-like: {exc}") from exc
    if not np.all(np.isfinite(arr)):
        raise InvalidGeometryError(f"{name} contains NaN or infinite values")
    return arr


def _stack_of(value: ArrayLike, tail: tuple[int, int], name: str) -> FloatArray:
    """An (N, *tail) float array; an empty input becomes shape (0, *tail)."""
    arr = _float_array(value, name)
    if arr.size == 0:
        return np.empty((0, *tail), dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != tail:
        raise InvalidGeometryError(
            f"{name} must have shape (N, {tail[0]}, {tail[1]}), got {arr.shape}"
        )
    return arr


def _norm(v: FloatArray) -> FloatArray:
    return np.sqrt(np.einsum("ij,ij->i", v, v))


# --------------------------------------------------------------------------------------------
# Points, distances, boxes, resolutions
# --------------------------------------------------------------------------------------------


def distance(
    a: ArrayLike, b: ArrayLike, resolution: ArrayLike = (1.0, 1.0, 1.0)
) -> float | FloatArray:
    """Euclidean distance between points given in voxels, in nm.

    Each coordinate difference is scaled by ``resolution`` (nm per voxel) before the norm, so
    with the default ``(1, 1, 1)`` the inputs are taken to be nm already.

    Args:
        a: A point ``(3,)`` or points ``(N, 3)``, in voxels.
        b: A point or points broadcastable against ``a``, in voxels.
        resolution: nm per voxel along each axis.

    Returns:
        A float for two single points, else an ``(N,)`` float64 array of distances in nm.

    Raises:
        InvalidInputError: if the shapes do not broadcast against each other or ``resolution``.
    """
    pa = _float_array(a, "a")
    pb = _float_array(b, "b")
    res = _float_array(resolution, "resolution")
    try:
        diff = (pa - pb) * res
    except ValueError as exc:
        raise InvalidInputError(f"points and resolution do not broadcast: {exc}") from exc
    if diff.ndim == 0:
        raise InvalidInputError("points must have at least one axis of coordinates")
    dist = np.sqrt(np.sum(diff * diff, axis=-1))
    if dist.ndim == 0:
        return float(dist)
    return dist


def mean_point(points: ArrayLike) -> FloatArray:
    """Coordinate-wise mean of points, as floats in the points' own units.

    Args:
        points: ``(N, D)`` points, N ≥ 1, any number of dimensions D.

    Returns:
        A ``(D,)`` float64 array.

    Raises:
        InvalidGeometryError: if ``points`` is not a non-empty 2-D array.
    """
    arr = _float_array(points, "points")
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InvalidGeometryError(f"points must have shape (N, D) with N >= 1, got {arr.shape}")
    return np.asarray(arr.mean(axis=0), dtype=np.float64)


def bbox_corners(center: ArrayLike, dims: ArrayLike) -> IntArray:
    """Integer corners of a box of ``dims`` voxels centred on ``center``.

    The exact box is ``center ± dims / 2``; its corners are rounded *outwards* (floor of the
    minimum, ceil of the maximum) so the integer box always contains the requested one and is
    symmetric for negative coordinates too. (The legacy shim keeps the original truncation.)

    Args:
        center: ``(D,)`` centre in voxels, or ``(..., D)`` centres.
        dims: ``(D,)`` box size in voxels along each axis, each ≥ 0.

    Returns:
        int64 array of shape ``(..., 2, D)``: ``[min_corner, max_corner]``.

    Raises:
        InvalidInputError: if a dimension is negative or the shapes do not broadcast.
    """
    c = _float_array(center, "center")
    d = _float_array(dims, "dims")
    if np.any(d < 0):
        raise InvalidInputError(f"dims must be >= 0, got {d.tolist()}")
    try:
        lo = np.floor(c - d / 2.0)
        hi = np.ceil(c + d / 2.0)
    except ValueError as exc:
        raise InvalidInputError(f"center and dims do not broadcast: {exc}") from exc
    return np.stack([lo, hi], axis=-2).astype(np.int64)


def convert_resolution(
    points: ArrayLike,
    from_res: ArrayLike,
    to_res: ArrayLike,
    *,
    round: bool = True,
) -> IntArray | FloatArray:
    """Convert voxel coordinates from one resolution to another.

    ``points`` are voxels at ``from_res`` (nm per voxel); the result is the same locations in
    voxels at ``to_res``, i.e. ``points * from_res / to_res``. Use ``to_res=(1, 1, 1)`` to get nm.

    Args:
        points: ``(3,)`` point or ``(N, 3)`` points, in voxels at ``from_res``.
        from_res: nm per voxel of the input.
        to_res: nm per voxel of the output; every value > 0.
        round: if True (default), round to the nearest voxel (ties to even) and return int64;
            if False, return the exact float64 coordinates.

    Returns:
        An array of the input's shape: int64 when ``round`` else float64.

    Raises:
        InvalidInputError: if a resolution is not positive or the shapes do not broadcast.
    """
    pts = _float_array(points, "points")
    src = _float_array(from_res, "from_res")
    dst = _float_array(to_res, "to_res")
    if np.any(src <= 0) or np.any(dst <= 0):
        raise InvalidInputError("resolutions must be > 0 nm per voxel")
    try:
        out = pts * src / dst
    except ValueError as exc:
        raise InvalidInputError(f"points and resolutions do not broadcast: {exc}") from exc
    if round:
        return np.rint(out).astype(np.int64)
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Segment / triangle intersections
# --------------------------------------------------------------------------------------------


def _all_pairs(
    a_lo: FloatArray, a_hi: FloatArray, b_lo: FloatArray, b_hi: FloatArray, chunk: int
) -> Iterator[tuple[IntArray, IntArray]]:
    """Every (a, b) pair whose boxes overlap, a-major, without a spatial index."""
    n_a, n_b = len(a_lo), len(b_lo)
    rows = max(1, chunk // max(n_b, 1))
    for start in range(0, n_a, rows):
        ai = np.arange(start, min(start + rows, n_a), dtype=np.int64)
        lo = np.maximum(a_lo[ai, None, :], b_lo[None, :, :])
        hi = np.minimum(a_hi[ai, None, :], b_hi[None, :, :])
        ia, ib = np.nonzero(np.all(lo <= hi, axis=2))
        yield ai[ia], ib.astype(np.int64)


def _cell_ranges(
    lo: FloatArray, hi: FloatArray, origin: FloatArray, cell: float, dims: IntArray
) -> tuple[IntArray, IntArray]:
    top = dims - 1
    c0 = np.clip(np.floor((lo - origin) / cell), 0, top).astype(np.int64)
    c1 = np.clip(np.floor((hi - origin) / cell), 0, top).astype(np.int64)
    return c0, c1


def _linear_key(cx: IntArray, cy: IntArray, cz: IntArray, dims: IntArray) -> IntArray:
    return (cx * dims[1] + cy) * dims[2] + cz


def _cell_entries(c0: IntArray, c1: IntArray, dims: IntArray) -> tuple[IntArray, IntArray]:
    """(object index, linear cell key) for every grid cell each object's box touches."""
    span = c1 - c0 + 1
    counts = span.prod(axis=1)
    ids = np.repeat(np.arange(len(c0), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    offset = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)
    sy, sz = span[ids, 1], span[ids, 2]
    ix, rest = np.divmod(offset, sy * sz)
    iy, iz = np.divmod(rest, sz)
    keys = _linear_key(c0[ids, 0] + ix, c0[ids, 1] + iy, c0[ids, 2] + iz, dims)
    return ids, keys


def _grid_pairs(
    a_lo: FloatArray, a_hi: FloatArray, b_lo: FloatArray, b_hi: FloatArray, chunk: int
) -> Iterator[tuple[IntArray, IntArray]]:
    """Every (a, b) pair whose boxes overlap, found through a uniform grid (unordered).

    Boxes are hashed into cubic cells; pairs meet in shared cells. A pair sharing several cells
    is kept only in the cell holding the minimum corner of the boxes' overlap, so each
    overlapping pair comes out exactly once. The cell size starts at the median box size and is
    doubled while objects would occupy more than ``_CELLS_PER_OBJECT`` cells on average, which
    keeps the work about linear in the number of objects for spatially spread data.
    """
    region_lo = np.maximum(a_lo.min(axis=0), b_lo.min(axis=0))
    region_hi = np.minimum(a_hi.max(axis=0), b_hi.max(axis=0))
    if np.any(region_lo > region_hi):
        return
    a_idx = np.flatnonzero(np.all((a_lo <= region_hi) & (a_hi >= region_lo), axis=1))
    b_idx = np.flatnonzero(np.all((b_lo <= region_hi) & (b_hi >= region_lo), axis=1))
    if len(a_idx) == 0 or len(b_idx) == 0:
        return
    a_lo, a_hi, b_lo, b_hi = a_lo[a_idx], a_hi[a_idx], b_lo[b_idx], b_hi[b_idx]

    extent = region_hi - region_lo
    widest = float(extent.max())
    sizes = np.concatenate([(a_hi - a_lo).max(axis=1), (b_hi - b_lo).max(axis=1)])
    cell = float(np.median(sizes))
    if cell <= 0.0:
        cell = widest / max(np.cbrt(len(sizes)), 1.0)
    cell = max(cell, widest / (_MAX_CELLS_PER_AXIS - 1))
    if cell <= 0.0:  # every box is the same single point
        cell = 1.0
    budget = _CELLS_PER_OBJECT * len(sizes)
    while True:
        dims = np.floor(extent / cell).astype(np.int64) + 1
        a_c0, a_c1 = _cell_ranges(a_lo, a_hi, region_lo, cell, dims)
        b_c0, b_c1 = _cell_ranges(b_lo, b_hi, region_lo, cell, dims)
        total = int((a_c1 - a_c0 + 1).prod(axis=1).sum() + (b_c1 - b_c0 + 1).prod(axis=1).sum())
        if total <= budget or np.all(dims == 1):
            break
        cell *= 2.0

    a_ids, a_keys = _cell_entries(a_c0, a_c1, dims)
    order = np.argsort(a_keys, kind="stable")
    a_ids, a_keys = a_ids[order], a_keys[order]
    b_ids, b_keys = _cell_entries(b_c0, b_c1, dims)
    left = np.searchsorted(a_keys, b_keys, side="left")
    count = np.searchsorted(a_keys, b_keys, side="right") - left
    hit = count > 0
    b_ids, b_keys, left, count = b_ids[hit], b_keys[hit], left[hit], count[hit]
    ends = np.cumsum(count)
    starts = ends - count
    n_pairs = int(ends[-1]) if len(ends) else 0

    a_lo_t, a_hi_t = np.ascontiguousarray(a_lo.T), np.ascontiguousarray(a_hi.T)
    b_lo_t, b_hi_t = np.ascontiguousarray(b_lo.T), np.ascontiguousarray(b_hi.T)
    a_c0_t, b_c0_t = np.ascontiguousarray(a_c0.T), np.ascontiguousarray(b_c0.T)
    for first in range(0, n_pairs, chunk):
        pos = np.arange(first, min(first + chunk, n_pairs), dtype=np.int64)
        entry = np.searchsorted(ends, pos, side="right")
        ai = a_ids[left[entry] + (pos - starts[entry])]
        bi = b_ids[entry]
        keep = np.ones(len(pos), dtype=bool)
        for axis in range(3):
            keep &= a_lo_t[axis, ai] <= b_hi_t[axis, bi]
            keep &= b_lo_t[axis, bi] <= a_hi_t[axis, ai]
        ref = [np.maximum(a_c0_t[axis, ai], b_c0_t[axis, bi]) for axis in range(3)]
        keep &= _linear_key(ref[0], ref[1], ref[2], dims) == b_keys[entry]
        yield a_idx[ai[keep]], b_idx[bi[keep]]


def _cross(x: FloatArray, y: FloatArray) -> FloatArray:
    out = np.empty_like(x)
    out[:, 0] = x[:, 1] * y[:, 2] - x[:, 2] * y[:, 1]
    out[:, 1] = x[:, 2] * y[:, 0] - x[:, 0] * y[:, 2]
    out[:, 2] = x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0]
    return out


def _dot(x: FloatArray, y: FloatArray) -> FloatArray:
    return np.einsum("ij,ij->i", x, y)


def _moller_trumbore(
    origin: FloatArray,
    direction: FloatArray,
    v0: FloatArray,
    e1: FloatArray,
    e2: FloatArray,
    parallel_tol: FloatArray,
) -> tuple[IntArray, FloatArray]:
    """Vectorised segment/triangle test on aligned rows; returns (hit rows, hit points)."""
    rows = np.arange(len(origin), dtype=np.int64)
    h = _cross(direction, e2)
    a = _dot(e1, h)
    ok = np.abs(a) > parallel_tol
    rows, a, h = rows[ok], a[ok], h[ok]
    s = origin[rows] - v0[rows]
    u = _dot(s, h) / a
    ok = (u >= 0.0) & (u <= 1.0)
    rows, a, s, u = rows[ok], a[ok], s[ok], u[ok]
    q = _cross(s, e1[rows])
    v = _dot(direction[rows], q) / a
    ok = (v >= 0.0) & (u + v <= 1.0)
    rows, a, q = rows[ok], a[ok], q[ok]
    t = _dot(e2[rows], q) / a
    ok = (t >= 0.0) & (t <= 1.0)
    rows, t = rows[ok], t[ok]
    points = origin[rows] + direction[rows] * t[:, None]
    return rows, points


def _intersect(
    segments: FloatArray, triangles: FloatArray, eps: float, method: str
) -> tuple[FloatArray, IntArray]:
    """Core of [`segment_triangle_intersections()`][tracertools.geometry.calc.segment_triangle_intersections]; ``method`` is "auto", "grid" or "all"."""
    empty = (np.empty((0, 3), dtype=np.float64), np.empty((0, 2), dtype=np.int64))
    n_seg, n_tri = len(segments), len(triangles)
    if n_seg == 0 or n_tri == 0:
        return empty
    origin = np.ascontiguousarray(segments[:, 0])
    direction = segments[:, 1] - segments[:, 0]
    v0 = np.ascontiguousarray(triangles[:, 0])
    e1 = triangles[:, 1] - v0
    e2 = triangles[:, 2] - v0
    seg_scale = eps * _norm(direction)
    tri_scale = _norm(e1) * _norm(e2)
    seg_lo = np.minimum(segments[:, 0], segments[:, 1])
    seg_hi = np.maximum(segments[:, 0], segments[:, 1])
    tri_lo, tri_hi = triangles.min(axis=1), triangles.max(axis=1)

    if method == "all" or (method == "auto" and n_seg * n_tri <= _ALL_PAIRS_MAX):
        pairs = _all_pairs(seg_lo, seg_hi, tri_lo, tri_hi, _PAIR_CHUNK)
    else:
        pairs = _grid_pairs(seg_lo, seg_hi, tri_lo, tri_hi, _PAIR_CHUNK)

    found_points: list[FloatArray] = []
    found_seg: list[IntArray] = []
    found_tri: list[IntArray] = []
    for si, ti in pairs:
        if len(si) == 0:
            continue
        rows, points = _moller_trumbore(
            origin[si], direction[si], v0[ti], e1[ti], e2[ti], seg_scale[si] * tri_scale[ti]
        )
        found_points.append(points)
        found_seg.append(si[rows])
        found_tri.append(ti[rows])
    if not found_points:
        return empty
    points = np.concatenate(found_points)
    seg_idx = np.concatenate(found_seg)
    tri_idx = np.concatenate(found_tri)
    order = np.lexsort((tri_idx, seg_idx))
    return points[order], np.stack([seg_idx[order], tri_idx[order]], axis=1)


@overload
def segment_triangle_intersections(
    segments: ArrayLike,
    triangles: ArrayLike,
    *,
    eps: float = ...,
    return_pairs: Literal[False] = ...,
) -> FloatArray: ...


@overload
def segment_triangle_intersections(
    segments: ArrayLike,
    triangles: ArrayLike,
    *,
    eps: float = ...,
    return_pairs: Literal[True],
) -> tuple[FloatArray, IntArray]: ...


@overload
def segment_triangle_intersections(
    segments: ArrayLike,
    triangles: ArrayLike,
    *,
    eps: float = ...,
    return_pairs: bool,
) -> FloatArray | tuple[FloatArray, IntArray]: ...


def segment_triangle_intersections(
    segments: ArrayLike,
    triangles: ArrayLike,
    *,
    eps: float = 1e-9,
    return_pairs: bool = False,
) -> FloatArray | tuple[FloatArray, IntArray]:
    """All points where any segment crosses any triangle, in one vectorised call.

    A Möller–Trumbore test runs on the (segment, triangle) pairs whose axis-aligned bounding
    boxes overlap; those candidates come from a uniform grid built with numpy, so the cost grows
    about linearly with ``S + T`` for spatially spread data (skeleton bones against a mesh), and
    memory stays bounded because candidates are processed in chunks.

    Conventions:
        * It is a *segment* test, endpoints included: ``0 ≤ t ≤ 1`` along the segment, so a
          segment that starts or ends exactly on a triangle hits it (two bones sharing such a
          vertex both report it).
        * Triangle edges and vertices are included (barycentric ``u, v ≥ 0``, ``u + v ≤ 1``);
          a segment through an edge shared by two triangles is reported once per triangle.
        * Parallel and coplanar segments, zero-length segments and degenerate (zero-area)
          triangles never hit. "Parallel" is scale-aware: ``|sin|`` of the angle between the
          segment and the triangle's plane, times the sine of the triangle's corner at its
          first vertex, is at most ``eps``. The test is therefore independent of units.

    Args:
        segments: ``(S, 2, 3)`` segment endpoints.
        triangles: ``(T, 3, 3)`` triangle vertices, in the same units as ``segments``.
        eps: relative tolerance for rejecting (near-)parallel and degenerate pairs.
        return_pairs: also return which segment and triangle produced each point.

    Returns:
        ``(K, 3)`` float64 intersection points, ordered by segment index then triangle index;
        with ``return_pairs``, also a ``(K, 2)`` int64 array of ``(segment, triangle)`` indices.

    Raises:
        InvalidGeometryError: on wrongly shaped or non-finite input.
    """
    seg = _stack_of(segments, (2, 3), "segments")
    tri = _stack_of(triangles, (3, 3), "triangles")
    if not eps >= 0.0:
        raise InvalidInputError(f"eps must be >= 0, got {eps!r}")
    points, pairs = _intersect(seg, tri, float(eps), "auto")
    if return_pairs:
        return points, pairs
    return points


def segment_triangle_intersection(
    segment: ArrayLike, triangle: ArrayLike, *, eps: float = 1e-9
) -> FloatArray | None:
    """The point where one segment crosses one triangle, or None.

    Same conventions as [`segment_triangle_intersections()`][tracertools.geometry.calc.segment_triangle_intersections].

    Args:
        segment: ``(2, 3)`` endpoints.
        triangle: ``(3, 3)`` vertices, in the same units.
        eps: relative tolerance for rejecting (near-)parallel and degenerate pairs.

    Returns:
        A ``(3,)`` float64 point, or None when they do not intersect.
    """
    seg = _float_array(segment, "segment")
    tri = _float_array(triangle, "triangle")
    if seg.shape != (2, 3) or tri.shape != (3, 3):
        raise InvalidGeometryError(
            f"segment must be (2, 3) and triangle (3, 3), got {seg.shape} and {tri.shape}"
        )
    if not eps >= 0.0:
        raise InvalidInputError(f"eps must be >= 0, got {eps!r}")
    points, _ = _intersect(seg[None], tri[None], float(eps), "all")
    return points[0] if len(points) else None
