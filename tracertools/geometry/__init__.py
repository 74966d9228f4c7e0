"""Geometry values and pure computation: points, skeletons, meshes, alpha shapes, precomputed I/O.

Lives here: vectorised numpy geometry (``calc``: distances, resolution conversion, boxes,
segment/triangle intersection), the [`Skeleton`][tracertools.geometry.skeleton.Skeleton] and
[`Mesh`][tracertools.geometry.mesh.Mesh] values, alpha shapes (``alpha_shape``), precomputed
volumes and meshes on buckets (``precomputed``), and offscreen rendering and local hosting of
precomputed data (``viewer``, ``precomputed_server``).

May import: `tracertools.storage` (buckets, for precomputed I/O), `tracertools.config`,
[`tracertools.ids`][tracertools.ids], [`tracertools.batch`][tracertools.batch], [`tracertools.errors`][tracertools.errors]. Never a session:
values here hold data only, pickle and work offline.

The functions of ``calc`` are available from here, as ``tracertools.geometry.distance`` etc.
"""

from __future__ import annotations

from tracertools.geometry.calc import (
    bbox_corners,
    convert_resolution,
    distance,
    mean_point,
    segment_triangle_intersection,
    segment_triangle_intersections,
)

__all__ = [
    "bbox_corners",
    "convert_resolution",
    "distance",
    "mean_point",
    "segment_triangle_intersection",
    "segment_triangle_intersections",
]
