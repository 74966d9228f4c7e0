"""Geometry values and pure computation: points, skeletons, meshes, alpha shapes, precomputed I/O.

Lives here: vectorised numpy geometry (``calc``: distances, resolution conversion, boxes,
segment/triangle intersection), the :class:`~tracertools.geometry.skeleton.Skeleton` and
:class:`~tracertools.geometry.mesh.Mesh` values, alpha shapes (``alpha_shape``), precomputed
volumes and meshes on buckets (``precomputed``), and offscreen rendering and local hosting of
precomputed data (``viewer``, ``precomputed_server``).

May import: :mod:`tracertools.storage` (buckets, for precomputed I/O), :mod:`tracertools.config`,
:mod:`tracertools.ids`, :mod:`tracertools.batch`, :mod:`tracertools.errors`. Never a session:
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
