"""Legacy shims of the original pure functions: README golden values, exact values and types."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

import tracertools.legacy as legacy
from tracertools.legacy import (
    bucket_convert_colons,
    calc_3d_distance,
    calc_avg_point_coords,
    calc_bbox_corners_from_center,
    calc_line_triangle_intersect,
    calc_skeleton_mesh_intersect,
    convert_coord_res,
)

LINE = np.array([[0, 0, 0], [1, 2, 3]])
TRIANGLE = np.array([[2, 0, 0], [0, 3, 0], [0, 0, 4]])


def _types(values):
    return [type(v) for v in values]


# ---------------------------------------------------------------------------------------------
# README golden values (spec section 10)
# ---------------------------------------------------------------------------------------------


def test_calc_3d_distance_golden():
    d = calc_3d_distance([1, 2, 3], [4, 5, 6], [4, 4, 45])
    assert d == 136.0624856453828
    assert type(d) is float


def test_calc_avg_point_coords_golden():
    points = [[1, 4, 3], [0, 1, 2], [2, 1, 3]]
    rounded = calc_avg_point_coords(points)
    assert rounded == [1, 2, 3] and _types(rounded) == [int, int, int]
    exact = calc_avg_point_coords(points, exact_value=True)
    assert exact == [1.0, 2.0, 2.6666666666666665] and _types(exact) == [float, float, float]


def test_calc_bbox_corners_from_center_golden():
    corners = calc_bbox_corners_from_center([1, 2, 3], [10, 7, 4])
    assert corners == [[-4, -1, 1], [6, 5, 5]]
    assert type(corners) is list and all(_types(c) == [int, int, int] for c in corners)


def test_calc_line_triangle_intersect_golden():
    hit = calc_line_triangle_intersect(line=LINE, triangle=TRIANGLE)
    assert isinstance(hit, np.ndarray) and hit.shape == (3,) and hit.dtype == np.float64
    assert hit.tolist() == [1.0, 1.0, 2.0]
    precise = calc_line_triangle_intersect(line=LINE, triangle=TRIANGLE, precision=3)
    assert isinstance(precise, np.ndarray) and precise.dtype == np.float64
    assert precise.tolist() == [0.522, 1.043, 1.565]


def test_convert_coord_res_golden():
    got = convert_coord_res([125283, 118263, 2860], [4, 4, 45], [1, 1, 1])
    assert got == [501132, 473052, 128700] and _types(got) == [int, int, int]


def test_bucket_convert_colons_golden():
    windows = "home/user/volumes/vol_01/mesh/1___0___1"
    ng = "home/user/volumes/vol_01/mesh/1:0:1"
    assert bucket_convert_colons(ng) == windows
    assert bucket_convert_colons(windows, to_windows=False) == ng


# ---------------------------------------------------------------------------------------------
# Further original semantics
# ---------------------------------------------------------------------------------------------


def test_calc_avg_point_coords_python_round_and_any_dimension():
    assert calc_avg_point_coords([[0, 1], [5, 2]]) == [2, 2]  # 2.5 -> 2, 1.5 -> 2 (half to even)
    assert calc_avg_point_coords([[1, 2, 3, 4, 5]]) == [1, 2, 3, 4, 5]
    assert calc_avg_point_coords(np.array([[1.0, 2.0], [2.0, 4.0]]), exact_value=True) == [1.5, 3.0]
    assert _types(calc_avg_point_coords(np.array([[1.0, 2.0]]))) == [int, int]
    # the original compared exact_value == False, so 0 also rounds
    assert calc_avg_point_coords([[0], [5]], exact_value=0) == [2]


def test_calc_bbox_corners_truncates_toward_zero():
    assert calc_bbox_corners_from_center([-3, 0, 0], [3, 3, 3]) == [[-4, -1, -1], [-1, 1, 1]]
    assert calc_bbox_corners_from_center(np.array([1.0, 2.0]), np.array([3, 4])) == [
        [0, 0],
        [2, 4],
    ]


def test_calc_line_triangle_intersect_accepts_lists_and_misses_give_none():
    hit = calc_line_triangle_intersect([[0, 0, 0], [1, 2, 3]], [[2, 0, 0], [0, 3, 0], [0, 0, 4]])
    assert isinstance(hit, np.ndarray) and hit.tolist() == [1.0, 1.0, 2.0]
    assert calc_line_triangle_intersect([[0.0, 0.0, 0.0], [0.1, 0.1, 0.1]], TRIANGLE) is None
    assert calc_line_triangle_intersect([[5, 5, 5], [6, 6, 6]], TRIANGLE.tolist()) is None


def test_convert_coord_res_defaults_and_truncation():
    assert convert_coord_res([1, 2, 3]) == [1, 2, 3]
    assert convert_coord_res([7, 6, -5], [4, 4, 40], [16, 16, 40]) == [1, 1, -5]
    assert convert_coord_res([-7, 6], [4, 4], [16, 16]) == [-1, 1]  # any length, toward zero


def test_bucket_convert_colons_accepts_one_and_zero_like_the_original():
    assert bucket_convert_colons("gs://b/1:0", 1) == "gs___//b/1___0"
    assert bucket_convert_colons("gs___//b/1___0", 0) == "gs://b/1:0"


@pytest.mark.parametrize("flag", ["yes", None, 2])
def test_bucket_convert_colons_type_error_names_the_type(flag):
    with pytest.raises(TypeError, match=str(type(flag))):
        bucket_convert_colons("a:b", flag)


def test_calc_skeleton_mesh_intersect_order_rounding_and_none():
    tri_a = [[0, 0, 0], [10, 0, 0], [0, 10, 0]]  # z = 0
    tri_b = [[0, 0, 5], [10, 0, 5], [0, 10, 5]]  # z = 5
    bones: list[list[list[float]]] = [
        [[1.4, 1.6, -1], [1.4, 1.6, 8]],  # crosses both
        [[20, 20, -1], [20, 20, 8]],  # misses
        [[2.2, 2.7, 9], [2.2, 2.7, 4]],  # crosses tri_b only
    ]
    got = calc_skeleton_mesh_intersect(bones, [tri_b, tri_a])
    assert isinstance(got, list) and all(isinstance(p, np.ndarray) for p in got)
    assert all(p.shape == (3,) and p.dtype == np.float64 for p in got)
    # bone-major, then triangle order; rounded to whole numbers
    assert [p.tolist() for p in got] == [[1.0, 2.0, 5.0], [1.0, 2.0, 0.0], [2.0, 3.0, 5.0]]
    assert calc_skeleton_mesh_intersect(bones[1:2], [tri_a, tri_b]) is None
    assert calc_skeleton_mesh_intersect([], [tri_a]) is None
    assert calc_skeleton_mesh_intersect(np.array(bones), np.array([tri_a])) is not None


def test_calc_skeleton_mesh_intersect_agrees_with_per_pair_shim():
    rng = np.random.default_rng(8)
    bones = rng.random((60, 2, 3)) * 50
    tris = rng.random((80, 3, 3)) * 50
    want = [
        hit
        for bone in bones
        for tri in tris
        if (hit := calc_line_triangle_intersect(bone, tri)) is not None
    ]
    got = calc_skeleton_mesh_intersect(bones, tris)
    assert want and got is not None
    assert [p.tolist() for p in got] == [p.tolist() for p in want]


def test_shims_have_docstrings_pointing_at_the_new_api():
    for name in legacy.__all__:
        doc = getattr(legacy, name).__doc__ or ""
        assert doc.startswith("Legacy shim for "), name


def test_legacy_module_has_no_heavy_module_level_imports():
    roots = set()
    for path in Path(legacy.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
    third_party = roots - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= {"numpy", "tracertools"}, third_party


# ---------------------------------------------------------------------------------------------
# Pinned against the original's arithmetic (issue 21)
# ---------------------------------------------------------------------------------------------


def test_calc_3d_distance_keeps_python_ints_exact():
    # float64 cannot tell 2**60 + 1 from 2**60; the original's Python int arithmetic can
    assert calc_3d_distance([2**60 + 1, 0, 0], [2**60, 0, 0], [1, 1, 1]) == 1.0


def test_calc_3d_distance_scales_each_point_before_subtracting():
    # res * a - res * b, as the original: 0.1 * 0.3 - 0.1 * 0.2 is not 0.1 * (0.3 - 0.2)
    want = ((0.1 * 0.3 - 0.1 * 0.2) ** 2) ** 0.5
    assert want != abs(0.1 * (0.3 - 0.2))
    assert calc_3d_distance([0.3, 0, 0], [0.2, 0, 0], [0.1, 1, 1]) == want


def test_calc_3d_distance_of_a_nan_coordinate_is_nan():
    assert np.isnan(calc_3d_distance([float("nan"), 2, 3], [4, 5, 6], [4, 4, 45]))


def test_calc_avg_point_coords_exact_means_are_pandas_column_means():
    points = [[25.1, 191.8, 784.9], [783.1, 579.4, 442.7], [489.5, 83.9, 316.0],
              [381.1, 222.7, 275.4], [416.3, 576.4, 476.4], [244.7, 801.1, 534.0],
              [491.2, 88.8, 775.6], [828.0, 341.9, 666.2]]
    # the original's pandas mean sums pairwise; numpy's row-wise mean differs in the last bit
    assert np.mean(points, axis=0)[2] == 533.9
    assert calc_avg_point_coords(points, exact_value=True) == [457.375, 360.75, 533.9000000000001]


def test_calc_avg_point_coords_of_no_points_is_an_empty_list():
    assert calc_avg_point_coords([]) == []
    assert calc_avg_point_coords([], exact_value=True) == []


def test_calc_avg_point_coords_of_a_flat_point_is_the_mean_of_its_values():
    # pandas reads [1, 2, 3] as one column of three rows, as the original did
    assert calc_avg_point_coords([1, 2, 3]) == [2]
    assert calc_avg_point_coords([1, 2, 4], exact_value=True) == [7 / 3]


def test_calc_avg_point_coords_skips_nan_like_pandas():
    assert calc_avg_point_coords([[1, float("nan")], [3, 4]], exact_value=True) == [2.0, 4.0]
    with pytest.raises(ValueError):  # a column of NaN only cannot be rounded to an int
        calc_avg_point_coords([[1, float("nan")], [3, float("nan")]])


def test_calc_line_triangle_intersect_counts_an_endpoint_on_the_triangle():
    # kept fix: the original's two ray tests excluded the endpoints and returned None here
    ends_on = calc_line_triangle_intersect([[1, 1, 0], [1, 2, 5]], [[0, 0, 5], [10, 0, 5],
                                                                    [0, 10, 5]])
    assert ends_on is not None and ends_on.tolist() == [1.0, 2.0, 5.0]
    starts_on = calc_line_triangle_intersect([[1, 2, 5], [1, 1, 9]], [[0, 0, 5], [10, 0, 5],
                                                                      [0, 10, 5]])
    assert starts_on is not None and starts_on.tolist() == [1.0, 2.0, 5.0]


def test_calc_skeleton_mesh_intersect_reports_a_point_where_two_bones_meet_once():
    surface = [[0, 0, 5], [10, 0, 5], [0, 10, 5]]
    bones = [[[1, 1, 0], [1.3, 1.7, 5]], [[1.3, 1.7, 5], [2, 2, 9]]]  # meet on the surface
    got = calc_skeleton_mesh_intersect(bones, [surface])
    assert got is not None and [p.tolist() for p in got] == [[1.0, 2.0, 5.0]]


def test_calc_skeleton_mesh_intersect_reports_a_shared_triangle_edge_once():
    halves = [[[0, 0, 5], [10, 0, 5], [10, 10, 5]], [[0, 0, 5], [10, 10, 5], [0, 10, 5]]]
    got = calc_skeleton_mesh_intersect([[[3, 3, 0], [3, 3, 9]]], halves)
    assert got is not None and [p.tolist() for p in got] == [[3.0, 3.0, 5.0]]
