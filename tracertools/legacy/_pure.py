"""Legacy shims that need no service: geometry, colours, colon names and configs."""


from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracertools import geometry
from tracertools.ngl import colors as colors
from tracertools.storage import bucket as bucket

# Keep sorted; tracertools.legacy re-exports these names.
__all__ = [
    "bucket_convert_colons",
    "calc_3d_distance",
    "calc_avg_point_coords",
    "calc_bbox_corners_from_center",
    "calc_line_triangle_intersect",
    "calc_skeleton_mesh_intersect",
    "convert_coord_res",
    "get_config",
    "get_supported_configs",
    "make_color_list",
]


# --------------------------------------------------------------------------------------------
# bucket_*: files on cloud buckets (new home: tracertools.storage.bucket)
# --------------------------------------------------------------------------------------------


def bucket_convert_colons(file_path: str, to_windows: Any = True) -> str:
    """Legacy shim for :func:`tracertools.storage.bucket.convert_colons`."""
    # The original compared with ==, so 1 and 0 work too; anything else is a TypeError.
    if to_windows == True:  # noqa: E712
        flag = True
    elif to_windows == False:  # noqa: E712
        flag = False
    else:
        raise TypeError(f"The 'to_windows' argument must be True or False, not {type(to_windows)}")
    return bucket.convert_colons(file_path, flag)


# --------------------------------------------------------------------------------------------
# calc_*: pure geometry (new home: tracertools.geometry; Skeleton / SegmentList methods)
# --------------------------------------------------------------------------------------------


def calc_3d_distance(point_a: ArrayLike, point_b: ArrayLike, res: ArrayLike) -> float:
    """Legacy shim for :func:`tracertools.geometry.distance`."""
    return float(geometry.distance(point_a, point_b, res))


def calc_avg_point_coords(points: ArrayLike, exact_value: Any = False) -> list[int] | list[float]:
    """Legacy shim for :func:`tracertools.geometry.mean_point`."""
    means = [float(x) for x in geometry.mean_point(points)]
    if exact_value == False:  # noqa: E712  (the original compared with ==)
        return [round(x) for x in means]  # Python round: half to even
    return means


def calc_bbox_corners_from_center(
    center_point: Iterable[float], dims: Iterable[float]
) -> list[list[int]]:
    """Legacy shim for :func:`tracertools.geometry.bbox_corners` (keeps int() truncation)."""
    # The original truncated toward zero (asymmetric for negative or half-voxel corners);
    # geometry.bbox_corners rounds outwards instead. Its "make dims even" loop had no effect.
    min_point = [int(c - d / 2) for c, d in zip(center_point, dims, strict=False)]
    max_point = [int(c + d / 2) for c, d in zip(center_point, dims, strict=False)]
    return [min_point, max_point]


def calc_line_triangle_intersect(
    line: ArrayLike, triangle: ArrayLike, precision: int = 0
) -> NDArray[np.float64] | None:
    """Legacy shim for :func:`tracertools.geometry.segment_triangle_intersection`."""
    # One scale-aware segment test replaces the original's two rounded ray tests, whose
    # rounded hits could disagree and give false negatives.
    hit = geometry.segment_triangle_intersection(line, triangle)
    if hit is None:
        return None
    return np.round(hit, decimals=precision)


def calc_skeleton_mesh_intersect(
    bones: ArrayLike, mesh_triangles: ArrayLike
) -> list[NDArray[np.float64]] | None:
    """Legacy shim for :func:`tracertools.geometry.segment_triangle_intersections`."""
    # Same order as the original's nested loops (bone-major, then triangle), and the same
    # rounding to whole numbers that it got from calc_line_triangle_intersect's default.
    points = geometry.segment_triangle_intersections(bones, mesh_triangles)
    if len(points) == 0:
        return None
    return [row.copy() for row in np.round(points, decimals=0)]


# --------------------------------------------------------------------------------------------
# get_config / get_supported_configs: configuration (new home: tracertools.config)
# --------------------------------------------------------------------------------------------


def get_config(datastack: str) -> dict[str, Any]:
    """Legacy shim for :meth:`tracertools.config.DatastackConfig.to_legacy_dict`.

    Returns a fresh dict each call (callers may mutate it), with every key of both original
    config dicts: the newer file's keys, ``here_be_monsters``, and the older names of the
    stack-specific sources that the original README shows (``manc_seg`` beside
    ``manc_seg_source_url``; ``nerve_mesh_url``, ``presyn_anno_layer``, ``postsyn_anno_layer``).
    Unlike the original, an unknown name raises
    :class:`~tracertools.errors.UnknownDatastackError` (a ``KeyError``) instead of printing and
    returning None.
    """
    from tracertools.config import load_config

    return _with_older_key_names(load_config(datastack).to_legacy_dict())


def _with_older_key_names(legacy: dict[str, Any]) -> dict[str, Any]:
    """Add the older embedded config's names of the stack-specific keys, with the same values."""
    from tracertools.config.presets import RENAMED_KEYS

    for old, new in RENAMED_KEYS.items():
        if new in legacy:
            legacy[old] = legacy[new]
    return legacy


#: Config names of synthetic worlds (the LocalCave demo), never real datastacks.
SYNTHETIC_DATASTACKS = frozenset({"demo"})


def get_supported_configs() -> list[str]:
    """Legacy shim for :func:`tracertools.presets`: the names of the real datastacks.

    The shipped presets and the entries of your user config file, sorted; not the synthetic
    ``demo`` world nor datastacks registered at run time (a running LocalCave's).
    """
    from tracertools.config import presets, user_config_path
    from tracertools.config.presets import read_user_file

    names = set(presets())
    user_file = read_user_file(user_config_path())
    if user_file is not None:
        names |= set(user_file.entries)
    return sorted(names - SYNTHETIC_DATASTACKS)


# --------------------------------------------------------------------------------------------
# convert_*: coordinates (new home: tracertools.geometry.convert_resolution)
# --------------------------------------------------------------------------------------------


def convert_coord_res(
    point_coords: Iterable[float],
    res_current: Iterable[float] | None = None,
    res_desired: Iterable[float] | None = None,
) -> list[int]:
    """Legacy shim for :func:`tracertools.geometry.convert_resolution` (keeps truncation)."""
    # Documented defaults are [1, 1, 1] for both. The original's exact arithmetic,
    # coord / (desired / current) truncated with int(), is kept so results match it bit for bit.
    current: Iterable[float] = [1, 1, 1] if res_current is None else res_current
    desired: Iterable[float] = [1, 1, 1] if res_desired is None else res_desired
    return [int(c / (rd / rc)) for c, rc, rd in zip(point_coords, current, desired, strict=False)]


# --------------------------------------------------------------------------------------------
# make_color_list: colours (new home: tracertools.ngl.colors.color_list)
# --------------------------------------------------------------------------------------------


def make_color_list(number_of_colors: float, alternate_brightness: float = 0.0) -> list[str]:
    """Legacy shim for :func:`tracertools.ngl.colors.color_list` (the original palette, exactly)."""
    return colors._legacy_color_list(number_of_colors, alternate_brightness)
