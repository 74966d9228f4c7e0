"""Alpha shapes: a closed surface around a 3-D point cloud, vectorised.

The points are split into tetrahedra by a Delaunay triangulation (scipy). The alpha complex keeps
every tetrahedron whose circumscribed sphere has a radius **smaller than alpha** (nm); its
boundary (the faces that belong to exactly one kept tetrahedron) is the alpha shape. Small alpha
follows the points closely and may fall apart into pieces or leave holes; large alpha tends to
the convex hull.

Every step runs on whole arrays: circumradii from one vectorised formula, faces counted by
encoding each sorted vertex triple as one integer and calling ``numpy.unique``, triangles turned
to face away from the tetrahedron they bound (so closed results have outward normals without a
separate repair pass).

Units: points and alpha are in nm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracertools.errors import InvalidGeometryError, InvalidInputError
from tracertools.geometry.mesh import Mesh, _as_points, _require_solid_cloud

__all__ = ["AlphaShape", "alpha_shape", "default_alpha"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Corners of the 4 faces of a tetrahedron (v0, v1, v2, v3), and the corner opposite each.
_TET_FACES = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]], dtype=np.int64)
_TET_OPPOSITE = np.array([3, 2, 1, 0], dtype=np.int64)
#: Below this many points a sorted face triple fits in one int64 key (3 x 21 bits).
_KEY_LIMIT = 1 << 21


@dataclass(frozen=True)
class AlphaShape:
    """The result of [`alpha_shape()`][tracertools.geometry.alpha_shape.alpha_shape].

    Attributes:
        mesh: the alpha shape, in nm.
        alpha: the circumradius threshold in nm that produced it.
        attempts: how many alphas were tried (1 without growth).
    """

    mesh: Mesh
    alpha: float
    attempts: int


def default_alpha(points_nm: ArrayLike) -> float:
    """1.5 × the median distance from each point to its nearest other point, in nm.

    Repeated points are counted once. Raises InvalidGeometryError for fewer than 2 distinct points.
    """
    from scipy.spatial import cKDTree

    points = np.unique(_as_points(points_nm), axis=0)
    if len(points) < 2:
        raise InvalidGeometryError("a default alpha needs at least 2 distinct points")
    distances, _ = cKDTree(points).query(points, k=2)
    return float(1.5 * np.median(distances[:, 1]))


def alpha_shape(
    points_nm: ArrayLike,
    *,
    alpha: float | None = None,
    auto_grow: bool = True,
    max_attempts: int = 15,
    growth: float = 1.5,
) -> AlphaShape:
    """The alpha shape of a point cloud in nm.

    Args:
        points_nm: ``(N, 3)`` points in nm; at least 4, not all in one plane.
        alpha: circumradius threshold in nm; None uses [`default_alpha()`][tracertools.geometry.alpha_shape.default_alpha].
        auto_grow: if True, start at ``alpha`` and multiply it by ``growth`` until the shape is
            one watertight body (faces joined through shared edges), for at most
            ``max_attempts`` alphas. If none is watertight, the first single-body shape is
            returned (with a logged warning). If False, use ``alpha`` once.
        max_attempts: most alphas tried when growing.
        growth: factor applied to alpha between attempts.

    Returns:
        The mesh (outward-facing triangles), the alpha used and the number of attempts.

    Raises:
        InvalidGeometryError: empty input, fewer than 4 points, coplanar or collinear points;
            with ``auto_grow=False``, an alpha that keeps no tetrahedron; with growth, no
            single-body shape within ``max_attempts``.
        InvalidInputError: a non-positive alpha, ``growth`` ≤ 1 or ``max_attempts`` < 1.
    """
    from scipy.spatial import Delaunay, QhullError

    points = _as_points(points_nm)
    _require_solid_cloud(points, "an alpha shape")
    if max_attempts < 1:
        raise InvalidInputError(f"max_attempts must be at least 1, got {max_attempts}")
    if not growth > 1.0:
        raise InvalidInputError(f"growth must be greater than 1, got {growth}")
    start = default_alpha(points) if alpha is None else float(alpha)
    if not (np.isfinite(start) and start > 0):
        raise InvalidInputError(f"alpha must be a positive number of nm, got {alpha!r}")
    try:  # centred: qhull is faster and better conditioned near the origin
        tets = np.asarray(Delaunay(points - points.mean(axis=0)).simplices, dtype=np.int64)
    except QhullError as exc:
        raise InvalidGeometryError(f"Delaunay triangulation of the points failed: {exc}") from exc
    radii = _circumradii(points[tets])

    if not auto_grow:
        mesh = _boundary(points, tets[radii < start])
        if mesh is None:
            raise InvalidGeometryError(
                f"alpha={start:g} nm keeps no closed surface (smallest tetrahedron "
                f"circumradius is {radii.min():g} nm); use a larger alpha or auto_grow=True"
            )
        return AlphaShape(mesh, start, 1)

    current = start
    fallback: AlphaShape | None = None
    for attempt in range(1, max_attempts + 1):
        mesh = _boundary(points, tets[radii < current])
        bodies = 0 if mesh is None else mesh.body_count
        if mesh is not None and bodies == 1:
            if mesh.is_watertight:
                return AlphaShape(mesh, current, attempt)
            if fallback is None:
                fallback = AlphaShape(mesh, current, attempt)
        logger.debug("alpha=%g nm: %s; growing", current,
                     "empty" if mesh is None else
                     "one body, not watertight" if bodies == 1 else f"{bodies} bodies")
        current *= growth
    if fallback is None:
        raise InvalidGeometryError(
            f"no alpha from {start:g} to {current / growth:g} nm ({max_attempts} attempts, "
            f"x{growth:g} each) gives a single-body shape; pass a larger alpha or max_attempts"
        )
    logger.warning(
        "alpha shape: no watertight single body up to alpha=%g nm; returning the first "
        "single-body shape (alpha=%g nm), which is not watertight",
        current / growth,
        fallback.alpha,
    )
    return fallback


def _circumradii(tets: FloatArray) -> FloatArray:
    """Circumsphere radii of ``(T, 4, 3)`` tetrahedra; ``inf`` for flat ones."""
    a = tets[:, 1] - tets[:, 0]
    b = tets[:, 2] - tets[:, 0]
    c = tets[:, 3] - tets[:, 0]
    bc, ca, ab = np.cross(b, c), np.cross(c, a), np.cross(a, b)
    det = np.einsum("ij,ij->i", a, bc)
    numerator = (
        np.einsum("ij,ij->i", a, a)[:, None] * bc
        + np.einsum("ij,ij->i", b, b)[:, None] * ca
        + np.einsum("ij,ij->i", c, c)[:, None] * ab
    )
    scale = np.einsum("ij,ij->i", a, a) ** 1.5
    flat = np.abs(det) <= 1e-12 * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        radii = np.linalg.norm(numerator, axis=1) / np.abs(2.0 * det)
    radii[flat] = np.inf
    return radii


def _boundary(points: FloatArray, kept: IntArray) -> Mesh | None:
    """The faces of ``kept`` tetrahedra that belong to just one of them, as a compact Mesh."""
    if len(kept) == 0:
        return None
    faces = kept[:, _TET_FACES].reshape(-1, 3)
    opposite = kept[:, _TET_OPPOSITE].reshape(-1)
    ordered = np.sort(faces, axis=1)
    if len(points) < _KEY_LIMIT:
        n = np.int64(len(points))
        keys = (ordered[:, 0] * n + ordered[:, 1]) * n + ordered[:, 2]
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    else:
        _, first, counts = np.unique(ordered, axis=0, return_index=True, return_counts=True)
    once = first[counts == 1]
    if len(once) == 0:
        return None
    tri = faces[once]
    corner = points[tri]
    normal = np.cross(corner[:, 1] - corner[:, 0], corner[:, 2] - corner[:, 0])
    inward = np.einsum("ij,ij->i", normal, points[opposite[once]] - corner[:, 0]) > 0
    tri[inward] = tri[inward][:, [0, 2, 1]]
    used, compact = np.unique(tri, return_inverse=True)
    return Mesh(points[used], compact.reshape(-1, 3))
