"""Legacy shims that need no service: geometry, colours, colon names and configs."""


from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any, SupportsIndex, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracertools import geometry
from tracertools.ngl import colors as colors
from tracertools.storage import bucket as bucket

#: The preset of the synthetic LocalCave world.
_DEMO = "demo"
#: Relative distance (of the largest coordinate) below which two crossing points are one.
_SAME_POINT = 1e-9

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
    """Legacy shim for [`tracertools.storage.bucket.convert_colons()`][tracertools.storage.bucket.convert_colons]."""
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
    """Legacy shim for [`tracertools.geometry.distance()`][tracertools.geometry.calc.distance] (the original's arithmetic).

    Each axis is scaled before subtracting (``res * a - res * b``) in the inputs' own number
    types, as the original did: Python ints stay exact however large, and a NaN coordinate
    gives NaN (``geometry.distance`` raises instead).
    """
    a, b, r = cast(Any, point_a), cast(Any, point_b), cast(Any, res)
    dx = r[0] * a[0] - r[0] * b[0]
    dy = r[1] * a[1] - r[1] * b[1]
    dz = r[2] * a[2] - r[2] * b[2]
    return cast(float, (dx**2 + dy**2 + dz**2) ** 0.5)


def calc_avg_point_coords(points: ArrayLike, exact_value: Any = False) -> list[Any]:
    """Legacy shim for [`tracertools.geometry.mean_point()`][tracertools.geometry.calc.mean_point] (the original's pandas means).

    Column means of ``pandas.DataFrame(points)``, so the numbers match the original to the
    last bit: NaN coordinates are skipped as pandas skips them, ``[]`` gives ``[]`` and a flat
    point ``[x, y, z]`` is one column (its mean, ``[round((x + y + z) / 3)]``). Unless
    ``exact_value``, each mean is rounded with Python's ``round`` (half to even) to an int.
    """
    import pandas as pd

    means: list[Any] = pd.DataFrame(cast(Any, points)).mean().to_numpy().tolist()
    if exact_value == False:  # noqa: E712  (the original compared with ==)
        return [round(x) for x in means]  # Python round: half to even
    return means


def calc_bbox_corners_from_center(
    center_point: Iterable[float], dims: Iterable[float]
) -> list[list[int]]:
    """Legacy shim for [`tracertools.geometry.bbox_corners()`][tracertools.geometry.calc.bbox_corners] (keeps int() truncation)."""
    # The original truncated toward zero (asymmetric for negative or half-voxel corners);
    # geometry.bbox_corners rounds outwards instead. Its "make dims even" loop had no effect.
    min_point = [int(c - d / 2) for c, d in zip(center_point, dims, strict=False)]
    max_point = [int(c + d / 2) for c, d in zip(center_point, dims, strict=False)]
    return [min_point, max_point]


def calc_line_triangle_intersect(
    line: ArrayLike, triangle: ArrayLike, precision: int = 0
) -> NDArray[np.float64] | None:
    """Legacy shim for [`tracertools.geometry.segment_triangle_intersection()`][tracertools.geometry.calc.segment_triangle_intersection].

    The crossing point rounded to ``precision`` decimals, or None. One segment test with a
    scale-aware tolerance replaces the original's two rounded ray tests: a segment that starts
    or ends on the triangle touches it (the original's ray tests excluded both endpoints), and
    rounding never turns a hit into a miss.
    """
    hit = geometry.segment_triangle_intersection(line, triangle)
    if hit is None:
        return None
    return np.round(hit, decimals=precision)


def calc_skeleton_mesh_intersect(
    bones: ArrayLike, mesh_triangles: ArrayLike
) -> list[NDArray[np.float64]] | None:
    """Legacy shim for [`tracertools.geometry.segment_triangle_intersections()`][tracertools.geometry.calc.segment_triangle_intersections].

    Every point where a bone crosses a triangle, rounded to whole numbers as the original's
    default ``calc_line_triangle_intersect`` gave them, bone-major then triangle order (the
    original's nested loops), or None when nothing crosses. Each crossing point is reported
    once: a bone through an edge shared by two triangles, or two bones meeting on the surface
    at their shared vertex, give one point.
    """
    points = geometry.segment_triangle_intersections(bones, mesh_triangles)
    if len(points) == 0:
        return None
    return [row.copy() for row in np.round(_first_of_coincident(points), decimals=0)]


def _first_of_coincident(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """``points`` without those that coincide (to ``_SAME_POINT`` relative) with an earlier one."""
    if len(points) < 2:
        return points
    from scipy.spatial import cKDTree

    tolerance = _SAME_POINT * max(1.0, float(np.abs(points).max()))
    pairs = cKDTree(points).query_pairs(tolerance, output_type="ndarray")
    later = np.zeros(len(points), dtype=bool)
    later[pairs.max(axis=1)] = True
    return points[~later]


# --------------------------------------------------------------------------------------------
# get_config / get_supported_configs: configuration (new home: tracertools.config)
# --------------------------------------------------------------------------------------------


def get_config(datastack: str) -> dict[str, Any]:
    """Legacy shim for [`tracertools.config.DatastackConfig.to_legacy_dict()`][tracertools.config.model.DatastackConfig.to_legacy_dict].

    Returns a fresh dict each call (callers may mutate it), with every key of both original
    config dicts: the newer file's keys, ``here_be_monsters``, and the older names of the
    stack-specific sources that the original README shows (``manc_seg`` beside
    ``manc_seg_source_url``; ``nerve_mesh_url``, ``presyn_anno_layer``, ``postsyn_anno_layer``).
    Unlike the original, an unknown name raises
    [`UnknownDatastackError`][tracertools.errors.UnknownDatastackError] (a ``KeyError``) instead of printing and
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
    """Legacy shim for [`tracertools.presets()`][tracertools.config.model.presets]: the names of the real datastacks.

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
    """Legacy shim for [`tracertools.geometry.convert_resolution()`][tracertools.geometry.calc.convert_resolution] (keeps truncation)."""
    # Documented defaults are [1, 1, 1] for both. The original's exact arithmetic,
    # coord / (desired / current) truncated with int(), is kept so results match it bit for bit.
    current: Iterable[float] = [1, 1, 1] if res_current is None else res_current
    desired: Iterable[float] = [1, 1, 1] if res_desired is None else res_desired
    return [int(c / (rd / rc)) for c, rc, rd in zip(point_coords, current, desired, strict=False)]


# --------------------------------------------------------------------------------------------
# make_color_list: colours (new home: tracertools.ngl.colors.color_list)
# --------------------------------------------------------------------------------------------


def make_color_list(number_of_colors: float, alternate_brightness: float = 0.0) -> list[str]:
    """Legacy shim for [`tracertools.ngl.colors.color_list()`][tracertools.ngl.colors.color_list] (the original palette, exactly)."""
    return _original_color_list(number_of_colors, alternate_brightness)


def _original_color_list(number_of_colors: float, alternate_brightness: float = 0.0) -> list[str]:
    """The original ``make_color_list`` algorithm, reproduced exactly (see the legacy shim).

    Up to 10 colours: the fixed uppercase palette, no brightness change. More: positions
    ``0, step, 2·step, …`` with ``step = int(1530 / n)`` on a fully saturated 6 × 255-unit RGB
    wheel, alternately darkened/lightened by a counter that starts at n (odd n: the first colour
    is left as is and the counter starts at n − 1), as lowercase hex.
    """
    if alternate_brightness < 0 or alternate_brightness > 1:
        raise ValueError("alternate_brightness must be a value between 0.0 and 1.0.")
    n = number_of_colors
    if 1 <= n <= 10 and n == int(n):
        return [colors.PALETTE[i].upper() for i in colors.PALETTE_PICKS[int(n)]]
    if not n > 10:
        raise ValueError("number_of_colors argument must be a positive integer.")
    # The original built its positions with range(n - 1), so any non-int n > 10 was a TypeError.
    count = operator.index(cast(SupportsIndex, n))
    step = int(1530 / count)
    rgb_colors: list[list[int]] = []
    for i in range(count):
        position = i * step
        # Ramps meet at equal colours, so placing exact multiples of 255 at the start of the
        # next ramp (the original put them at the end of the previous one) changes nothing.
        segment, offset = divmod(position, 255)
        ramps = (
            [255, offset, 0],
            [255 - offset, 255, 0],
            [0, 255, offset],
            [0, 255 - offset, 255],
            [offset, 0, 255],
            [255, 0, 255 - offset],
        )
        rgb_colors.append(ramps[segment])

    def darken(rgb: list[int]) -> list[int]:
        return [int(c * (1 - alternate_brightness)) for c in rgb]

    def lighten(rgb: list[int]) -> list[int]:
        return [int(c + alternate_brightness * (255 - c)) for c in rgb]

    shaded: list[list[int]] = []
    counter = count
    if count % 2 != 0:
        shaded.append(rgb_colors.pop(0))
        counter -= 1
    for rgb in rgb_colors:
        shaded.append(darken(rgb) if counter % 2 == 0 else lighten(rgb))
        counter -= 1
    return ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in shaded]
