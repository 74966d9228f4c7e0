"""Alpha shapes of point clouds in nm: closed, single-bodied, the right volume, clear failures."""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.errors import InvalidGeometryError, InvalidInputError
from tracertools.geometry import segment_triangle_intersections
from tracertools.geometry.alpha_shape import AlphaShape, alpha_shape, default_alpha
from tracertools.geometry.mesh import Mesh

TORUS_R, TORUS_r = 1000.0, 400.0  # nm: ring radius and tube radius
BALL_RADIUS, BALL_GAP = 500.0, 600.0  # nm: two balls whose centres are 600 nm apart


def _torus_points(seed: int = 0) -> np.ndarray:
    """2,000 points on a torus surface and 1,000 inside it, offset to dataset-like nm values."""
    rng = np.random.default_rng(seed)
    u, v = rng.uniform(0, 2 * np.pi, (2, 3000))
    s = np.r_[np.ones(2000), np.sqrt(rng.uniform(0, 1, 1000))]  # fraction of the tube radius
    ring = TORUS_R + s * TORUS_r * np.cos(v)
    points = np.c_[ring * np.cos(u), ring * np.sin(u), s * TORUS_r * np.sin(v)]
    return points + [400_000.0, 300_000.0, 90_000.0]


def _ball(rng: np.random.Generator, n: int, centre, surface: bool) -> np.ndarray:
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    s = np.ones(n) if surface else rng.uniform(0, 1, n) ** (1 / 3)
    return np.asarray(centre) + BALL_RADIUS * s[:, None] * d


def _two_ball_points(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a, b = (0.0, 0.0, 0.0), (BALL_GAP, 0.0, 0.0)
    return np.concatenate(
        [_ball(rng, 1500, a, True), _ball(rng, 1500, b, True),
         _ball(rng, 1000, a, False), _ball(rng, 1000, b, False)]
    )


def _two_ball_volume() -> float:
    h = BALL_RADIUS - BALL_GAP / 2  # height of each spherical cap inside the other ball
    cap = np.pi * h**2 * (3 * BALL_RADIUS - h) / 3
    return 2 * (4 / 3 * np.pi * BALL_RADIUS**3) - 2 * cap


def test_torus_alpha_shape_is_one_watertight_body_with_the_torus_volume():
    result = alpha_shape(_torus_points())
    mesh = result.mesh
    assert mesh.is_watertight and mesh.body_count == 1
    assert mesh.volume_nm3 == pytest.approx(2 * np.pi**2 * TORUS_R * TORUS_r**2, rel=0.05)


def test_torus_alpha_shape_keeps_the_hole():
    mesh = alpha_shape(_torus_points()).mesh
    centre = np.array([400_000.0, 300_000.0, 90_000.0])
    up = np.array([0.0, 0.0, 2 * TORUS_r])
    through_hole = [[centre - up, centre + up]]
    through_tube = [[centre + [TORUS_R, 0, 0] - up, centre + [TORUS_R, 0, 0] + up]]
    assert len(segment_triangle_intersections(through_hole, mesh.triangles)) == 0
    assert len(segment_triangle_intersections(through_tube, mesh.triangles)) == 2


def test_two_overlapping_balls_give_one_body_with_the_union_volume():
    mesh = alpha_shape(_two_ball_points()).mesh
    assert mesh.is_watertight and mesh.body_count == 1
    assert mesh.volume_nm3 == pytest.approx(_two_ball_volume(), rel=0.05)


def test_alpha_shape_triangles_face_outward():
    tm = alpha_shape(_two_ball_points()).mesh.to_trimesh()
    assert tm.is_volume and tm.volume > 0


def test_result_records_the_alpha_and_attempts():
    points = _torus_points()
    result = alpha_shape(points)
    assert isinstance(result, AlphaShape)
    assert result.alpha == pytest.approx(default_alpha(points) * 1.5 ** (result.attempts - 1))


def test_default_alpha_is_one_and_a_half_median_neighbour_distances():
    grid = np.stack(np.meshgrid(*[np.arange(4) * 10.0] * 3), axis=-1).reshape(-1, 3)
    assert default_alpha(grid) == pytest.approx(15.0)
    assert default_alpha(np.vstack([grid, grid])) == pytest.approx(15.0)  # repeats ignored


def test_fixed_small_alpha_gives_pieces_that_auto_grow_joins():
    points = _two_ball_points()
    start = default_alpha(points) / 2
    fixed = alpha_shape(points, alpha=start, auto_grow=False)
    assert fixed.alpha == start and fixed.attempts == 1
    assert not (fixed.mesh.is_watertight and fixed.mesh.body_count == 1)
    grown = alpha_shape(points, alpha=start, auto_grow=True)
    assert grown.mesh.is_watertight and grown.mesh.body_count == 1
    assert grown.attempts > 1
    assert grown.alpha == pytest.approx(start * 1.5 ** (grown.attempts - 1))


def test_fixed_alpha_is_used_once_even_when_larger_would_be_closed():
    points = _two_ball_points()
    start = default_alpha(points) / 2
    assert alpha_shape(points, alpha=start, auto_grow=False).alpha == start


def test_fixed_alpha_below_every_circumradius_is_an_error():
    with pytest.raises(InvalidGeometryError, match="keeps no closed surface"):
        alpha_shape(_two_ball_points(), alpha=1e-3, auto_grow=False)


def test_growth_that_never_reaches_one_body_is_an_error():
    with pytest.raises(InvalidGeometryError, match=r"2 attempts.*single-body"):
        alpha_shape(_two_ball_points(), alpha=1e-3, max_attempts=2)


def test_mesh_from_points_is_the_alpha_shape_mesh():
    points = _two_ball_points()
    assert Mesh.from_points(points) == alpha_shape(points).mesh


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (np.empty((0, 3)), "got none"),
        ([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "at least 4 points; got 3"),
        (np.c_[np.random.default_rng(1).uniform(0, 100, (50, 2)), np.full(50, 7.0)], "coplanar"),
        (np.outer(np.arange(10.0), [1, 2, 3]), "collinear"),
        ([[5, 5, 5]] * 6, "coincide"),
        ([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, np.nan]], "NaN"),
    ],
)
def test_degenerate_points_are_refused_with_the_reason(points, message):
    with pytest.raises(InvalidGeometryError, match=message):
        alpha_shape(points)


@pytest.mark.parametrize("alpha", [0.0, -5.0, float("nan")])
def test_non_positive_alpha_is_refused(alpha):
    with pytest.raises(InvalidInputError, match="alpha must be a positive"):
        alpha_shape(_two_ball_points(), alpha=alpha)
