"""tracertools.geometry: golden values, scalar references on random data, edge cases."""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tracertools.errors import InvalidGeometryError, InvalidInputError
from tracertools.geometry import calc as g

# ---------------------------------------------------------------------------------------------
# Scalar pure-Python references
# ---------------------------------------------------------------------------------------------


def _sub(a, b):
    return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _norm(a):
    return math.sqrt(_dot(a, a))


def ref_segment_triangle(seg, tri, eps=1e-9):
    """Scalar Möller–Trumbore segment test, one pair at a time."""
    p0, p1 = [list(map(float, p)) for p in seg]
    v0, v1, v2 = [list(map(float, v)) for v in tri]
    d = _sub(p1, p0)
    e1 = _sub(v1, v0)
    e2 = _sub(v2, v0)
    h = _cross(d, e2)
    a = _dot(e1, h)
    if abs(a) <= eps * _norm(d) * _norm(e1) * _norm(e2):
        return None
    s = _sub(p0, v0)
    u = _dot(s, h) / a
    if u < 0.0 or u > 1.0:
        return None
    q = _cross(s, e1)
    v = _dot(d, q) / a
    if v < 0.0 or u + v > 1.0:
        return None
    t = _dot(e2, q) / a
    if t < 0.0 or t > 1.0:
        return None
    return [p0[i] + t * d[i] for i in range(3)]


def ref_all_hits(segs, tris):
    pairs, points = [], []
    for i, seg in enumerate(segs):
        for j, tri in enumerate(tris):
            hit = ref_segment_triangle(seg, tri)
            if hit is not None:
                pairs.append((i, j))
                points.append(hit)
    return pairs, points


def random_scene(seed, n_seg, n_tri, seg_len=0.3, tri_size=0.3, scale=1.0, offset=0.0):
    rng = np.random.default_rng(seed)
    starts = rng.random((n_seg, 3))
    segs = np.stack([starts, starts + rng.normal(scale=seg_len, size=(n_seg, 3))], axis=1)
    corners = rng.random((n_tri, 1, 3))
    tris = corners + rng.normal(scale=tri_size, size=(n_tri, 3, 3))
    return segs * scale + offset, tris * scale + offset


def skeleton_near_sphere(seed, n, step, radius):
    """A random-walk "skeleton" of n bones folded into a shell around a sphere's surface."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    pts = np.vstack([[radius, 0.0, 0.0], np.cumsum(d * step, axis=0) + [radius, 0.0, 0.0]])
    r = np.linalg.norm(pts, axis=1)
    shell = radius + np.mod(r - radius, 0.2 * radius) - 0.1 * radius
    pts *= (shell / r)[:, None]
    return np.stack([pts[:-1], pts[1:]], axis=1)


def sphere_triangles(subdivisions=3, radius=1.0):
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return np.asarray(sphere.vertices[sphere.faces], dtype=float)


UNIT_TRI = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def hits(segs, tris, **kw):
    return g.segment_triangle_intersections(segs, tris, return_pairs=True, **kw)


# ---------------------------------------------------------------------------------------------
# distance, mean_point, bbox_corners, convert_resolution
# ---------------------------------------------------------------------------------------------


def test_distance_golden_and_types():
    d = g.distance([1, 2, 3], [4, 5, 6], [4, 4, 45])
    assert d == 136.0624856453828
    assert type(d) is float
    assert g.distance([0, 0, 0], [3, 4, 0]) == 5.0


def test_distance_broadcasts_and_matches_scalar_reference():
    rng = np.random.default_rng(1)
    a = rng.integers(-1000, 1000, size=(200, 3))
    b = rng.integers(-1000, 1000, size=(200, 3))
    res = (8.0, 8.0, 40.0)
    got = g.distance(a, b, res)
    assert isinstance(got, np.ndarray) and got.shape == (200,)
    want = [
        math.sqrt(sum(((x - y) * r) ** 2 for x, y, r in zip(p, q, res, strict=True)))
        for p, q in zip(a.tolist(), b.tolist(), strict=True)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # one point against many
    np.testing.assert_allclose(
        g.distance(a[0], b, res), g.distance(np.repeat(a[:1], 200, 0), b, res)
    )


def test_distance_rejects_mismatched_shapes():
    with pytest.raises(InvalidInputError):
        g.distance([1, 2, 3], [1, 2], (1, 1, 1))
    with pytest.raises(InvalidGeometryError):
        g.distance([1, 2, float("nan")], [1, 2, 3])


def test_mean_point_matches_reference_any_dimension():
    rng = np.random.default_rng(2)
    for dims in (1, 2, 3, 5):
        pts = rng.normal(size=(37, dims)) * 1000
        got = g.mean_point(pts)
        assert got.dtype == np.float64 and got.shape == (dims,)
        want = [math.fsum(col) / 37 for col in pts.T.tolist()]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(g.mean_point([[1, 4, 3], [0, 1, 2], [2, 1, 3]]), [1, 2, 8 / 3])


@pytest.mark.parametrize("bad", [[], [1, 2, 3], [[[1, 2, 3]]]])
def test_mean_point_rejects_bad_shapes(bad):
    with pytest.raises(InvalidGeometryError):
        g.mean_point(bad)


def test_bbox_corners_rounds_outwards():
    got = g.bbox_corners([1, 2, 3], [10, 7, 4])
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [[-4, -2, 1], [6, 6, 5]])
    # symmetric around negative centres, unlike int() truncation
    np.testing.assert_array_equal(g.bbox_corners([-2, 0, 0], [3, 2, 0]), [[-4, -1, 0], [0, 1, 0]])


def test_bbox_corners_matches_reference_and_contains_requested_box():
    rng = np.random.default_rng(3)
    centers = rng.normal(scale=500, size=(300, 3))
    dims = rng.integers(0, 50, size=(300, 3))
    for c, d in zip(centers, dims, strict=True):
        got = g.bbox_corners(c, d)
        want = [
            [math.floor(x - s / 2) for x, s in zip(c, d, strict=True)],
            [math.ceil(x + s / 2) for x, s in zip(c, d, strict=True)],
        ]
        assert got.tolist() == want
        assert np.all(got[0] <= c - d / 2) and np.all(got[1] >= c + d / 2)
    batched = g.bbox_corners(centers, dims)
    assert batched.shape == (300, 2, 3)
    assert batched[7].tolist() == g.bbox_corners(centers[7], dims[7]).tolist()


def test_bbox_corners_rejects_negative_dims():
    with pytest.raises(InvalidInputError):
        g.bbox_corners([0, 0, 0], [1, -1, 1])


def test_convert_resolution_golden_and_rounding():
    got = g.convert_resolution([125283, 118263, 2860], (4, 4, 45), (1, 1, 1))
    assert got.dtype == np.int64
    assert got.tolist() == [501132, 473052, 128700]
    # downscaling rounds to nearest (the legacy shim truncates)
    assert g.convert_resolution([7, 6, 5], (4, 4, 40), (16, 16, 40)).tolist() == [2, 2, 5]
    assert g.convert_resolution([-7, 6, 5], (4, 4, 40), (16, 16, 40)).tolist() == [-2, 2, 5]
    exact = g.convert_resolution([7, 6, 5], (4, 4, 40), (16, 16, 40), round=False)
    assert exact.dtype == np.float64
    np.testing.assert_array_equal(exact, [1.75, 1.5, 5.0])


def test_convert_resolution_matches_reference_on_random_points():
    rng = np.random.default_rng(4)
    pts = rng.integers(-100_000, 100_000, size=(500, 3))
    src, dst = (4.0, 4.0, 45.0), (16.0, 16.0, 40.0)
    got = g.convert_resolution(pts, src, dst, round=False)
    want = [[x * s / t for x, s, t in zip(p, src, dst, strict=True)] for p in pts.tolist()]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    rounded = g.convert_resolution(pts, src, dst)
    assert rounded.tolist() == [[round(x) for x in p] for p in want]


def test_convert_resolution_rejects_non_positive_resolution():
    with pytest.raises(InvalidInputError):
        g.convert_resolution([1, 2, 3], (4, 4, 0), (1, 1, 1))


# ---------------------------------------------------------------------------------------------
# segment / triangle intersections
# ---------------------------------------------------------------------------------------------


def test_readme_line_triangle_example():
    line = [[0, 0, 0], [1, 2, 3]]
    tri = [[2, 0, 0], [0, 3, 0], [0, 0, 4]]
    hit = g.segment_triangle_intersection(line, tri)
    assert hit is not None and hit.shape == (3,) and hit.dtype == np.float64
    np.testing.assert_allclose(hit, [12 / 23, 24 / 23, 36 / 23], rtol=1e-15)


@pytest.mark.parametrize("method", ["auto", "grid", "all"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scene_matches_scalar_reference(seed, method):
    segs, tris = random_scene(seed, 300, 250)
    want_pairs, want_points = ref_all_hits(segs.tolist(), tris.tolist())
    assert len(want_pairs) > 20  # the scene must actually exercise hits
    points, pairs = g._intersect(segs, tris, 1e-9, method)
    assert [tuple(p) for p in pairs.tolist()] == want_pairs  # same hits, segment-major order
    np.testing.assert_allclose(points, want_points, rtol=1e-9, atol=1e-12)


def test_public_function_equals_core_and_pairs_are_sorted():
    segs, tris = random_scene(5, 200, 200)
    points, pairs = hits(segs, tris)
    assert points.dtype == np.float64 and points.shape == (len(pairs), 3)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert pairs.tolist() == sorted(pairs.tolist())
    np.testing.assert_array_equal(g.segment_triangle_intersections(segs, tris), points)


def test_grid_agrees_with_all_pairs_on_skeleton_through_sphere():
    tris = sphere_triangles(subdivisions=4, radius=50_000.0)  # nm
    segs = skeleton_near_sphere(7, 400, step=2_000.0, radius=50_000.0)
    grid_points, grid_pairs = g._intersect(segs, tris, 1e-9, "grid")
    all_points, all_pairs = g._intersect(segs, tris, 1e-9, "all")
    assert len(all_pairs) > 0
    np.testing.assert_array_equal(grid_pairs, all_pairs)
    np.testing.assert_array_equal(grid_points, all_points)
    # every hit lies on the sphere's surface (within the flat-facet sag) and on its segment
    radii = np.linalg.norm(grid_points, axis=1)
    assert np.all(np.abs(radii - 50_000.0) < 100.0)


def _pair_list(chunks):
    return [(int(a), int(b)) for ca, cb in chunks for a, b in zip(ca, cb, strict=True)]


def test_grid_candidates_are_exactly_the_overlapping_boxes_once():
    rng = np.random.default_rng(11)
    a_lo = rng.random((400, 3)) * 100
    a_hi = a_lo + rng.random((400, 3)) * rng.choice([0.0, 1.0, 5.0, 40.0], size=(400, 1))
    b_lo = rng.random((300, 3)) * 100
    b_hi = b_lo + rng.random((300, 3)) * rng.choice([0.0, 2.0, 20.0], size=(300, 1))
    b_lo[0], b_hi[0] = -10.0, 200.0  # one box covering everything forces larger cells
    chunks = list(g._grid_pairs(a_lo, a_hi, b_lo, b_hi, chunk=997))
    flat = _pair_list(chunks)
    assert len(flat) == len(set(flat))  # no duplicates across shared cells or chunks
    assert set(flat) == set(_pair_list(g._all_pairs(a_lo, a_hi, b_lo, b_hi, chunk=997)))
    assert all((a, 0) in set(flat) for a in range(400))


def test_edge_vertex_and_endpoint_hits_are_inclusive():
    # through an edge (v = 0), the hypotenuse (u + v = 1) and a vertex
    for x, y in [(0.5, 0.0), (0.5, 0.5), (0.0, 0.0), (1.0, 0.0)]:
        hit = g.segment_triangle_intersection([[x, y, -1.0], [x, y, 1.0]], UNIT_TRI)
        assert hit is not None, (x, y)
        np.testing.assert_array_equal(hit, [x, y, 0.0])
    # segment starting (t = 0) or ending (t = 1) exactly on the triangle
    np.testing.assert_array_equal(
        g.segment_triangle_intersection([[0.25, 0.25, 0.0], [0.25, 0.25, 1.0]], UNIT_TRI),
        [0.25, 0.25, 0.0],
    )
    np.testing.assert_array_equal(
        g.segment_triangle_intersection([[0.25, 0.25, -1.0], [0.25, 0.25, 0.0]], UNIT_TRI),
        [0.25, 0.25, 0.0],
    )
    # just outside the edge
    assert g.segment_triangle_intersection([[0.5, -1e-9, -1], [0.5, -1e-9, 1]], UNIT_TRI) is None


def test_shared_edge_is_reported_once_per_triangle():
    other = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.5, -1.0, 0.0]])
    points, pairs = hits([[[0.5, 0.0, -1.0], [0.5, 0.0, 1.0]]], [UNIT_TRI, other])
    assert pairs.tolist() == [[0, 0], [0, 1]]
    np.testing.assert_array_equal(points, [[0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])


def test_misses():
    cases = {
        "ends before the plane": [[0.25, 0.25, -2.0], [0.25, 0.25, -1.0]],
        "starts after the plane": [[0.25, 0.25, 1e-6], [0.25, 0.25, 1.0]],
        "parallel above": [[-1.0, 0.25, 1.0], [2.0, 0.25, 1.0]],
        "coplanar across the triangle": [[-1.0, 0.25, 0.0], [2.0, 0.25, 0.0]],
        "passes beside": [[0.8, 0.8, -1.0], [0.8, 0.8, 1.0]],
        "zero length on the triangle": [[0.25, 0.25, 0.0], [0.25, 0.25, 0.0]],
    }
    for name, seg in cases.items():
        assert g.segment_triangle_intersection(seg, UNIT_TRI) is None, name


def test_degenerate_triangles_never_hit():
    collinear = [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 2.0, 0.0]]
    point = [[0.5, 0.5, 0.0]] * 3
    for tri in (collinear, point):
        assert g.segment_triangle_intersection([[0.5, 0.5, -1], [0.5, 0.5, 1]], tri) is None


def test_empty_inputs():
    for segs, tris in [([], [UNIT_TRI]), ([[[0, 0, -1], [0, 0, 1]]], []), ([], [])]:
        points = g.segment_triangle_intersections(segs, tris)
        assert points.shape == (0, 3) and points.dtype == np.float64
        points, pairs = hits(segs, tris)
        assert points.shape == (0, 3) and pairs.shape == (0, 2) and pairs.dtype == np.int64
    points, pairs = hits(np.empty((0, 2, 3)), np.empty((0, 3, 3)))
    assert points.shape == (0, 3) and pairs.shape == (0, 2)


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e3, 1e6])
def test_tolerance_is_relative_to_scale(scale):
    segs, tris = random_scene(21, 120, 120)
    base_points, base_pairs = hits(segs, tris)
    offset = 3.0 * scale  # translated as well as scaled, like nm coordinates far from 0
    points, pairs = hits(segs * scale + offset, tris * scale + offset)
    np.testing.assert_array_equal(pairs, base_pairs)
    np.testing.assert_allclose(points, base_points * scale + offset, rtol=1e-9, atol=1e-9 * scale)


def test_large_nm_coordinates():
    # a triangle ~100 nm across at ~1e6 nm, crossed by a 10 nm bone
    tri = np.array([[1e6, 2e6, 3e6], [1e6 + 100, 2e6, 3e6], [1e6, 2e6 + 100, 3e6]])
    seg = np.array([[1e6 + 20, 2e6 + 30, 3e6 - 5], [1e6 + 20, 2e6 + 30, 3e6 + 5]])
    hit = g.segment_triangle_intersection(seg, tri)
    assert hit is not None
    np.testing.assert_allclose(hit, [1e6 + 20, 2e6 + 30, 3e6], rtol=0, atol=1e-6)


def test_near_parallel_rejection_does_not_depend_on_units():
    # a segment tilted 1e-12 rad out of the triangle's plane, crossing it in the middle
    seg = np.array([[-1.0, 0.25, -1e-12], [1.0, 0.25, 1e-12]])
    for scale in (1e-6, 1.0, 1e6):
        assert g.segment_triangle_intersection(seg * scale, UNIT_TRI * scale) is None
    tilted = np.array([[-1.0, 0.25, -1e-3], [1.0, 0.25, 1e-3]])
    for scale in (1e-6, 1.0, 1e6):
        hit = g.segment_triangle_intersection(tilted * scale, UNIT_TRI * scale)
        assert hit is not None
        np.testing.assert_allclose(hit, np.array([0.0, 0.25, 0.0]) * scale, atol=1e-12 * scale)


def test_bad_shapes_and_values():
    with pytest.raises(InvalidGeometryError):
        g.segment_triangle_intersections([[0, 0, 0], [1, 1, 1]], [UNIT_TRI])
    with pytest.raises(InvalidGeometryError):
        g.segment_triangle_intersections([[[0, 0, 0], [1, 1, 1]]], UNIT_TRI)
    with pytest.raises(InvalidGeometryError):
        g.segment_triangle_intersections([[[0.0, 0.0, 0.0], [1.0, 1.0, np.nan]]], [UNIT_TRI])
    with pytest.raises(InvalidGeometryError):
        g.segment_triangle_intersection([[0, 0, 0], [1, 1, 1]], [[0, 0, 0], [1, 0, 0]])
    with pytest.raises(InvalidInputError):
        g.segment_triangle_intersections([[[0, 0, 0], [1, 1, 1]]], [UNIT_TRI], eps=-1.0)


def test_geometry_imports_only_numpy_at_module_level():
    tree = ast.parse(Path(g.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    third_party = roots - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= {"numpy", "tracertools"}, third_party
