"""Triangle meshes of the world: swamp boxes, neuron tubes, and the legacy precomputed codec."""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def box_mesh(centre: FloatArray, half: FloatArray) -> tuple[FloatArray, IntArray]:
    """A closed axis-aligned box (8 vertices, 12 outward-facing triangles), in nm."""
    c = np.asarray(centre, dtype=np.float64)
    h = np.asarray(half, dtype=np.float64)
    corners = np.array(
        [[x, y, z] for z in (-1, 1) for y in (-1, 1) for x in (-1, 1)], dtype=np.float64
    )
    verts = c + corners * h
    faces = np.array(
        [
            [0, 2, 1], [1, 2, 3],  # z-
            [4, 5, 6], [5, 7, 6],  # z+
            [0, 1, 4], [1, 5, 4],  # y-
            [2, 6, 3], [3, 6, 7],  # y+
            [0, 4, 2], [2, 4, 6],  # x-
            [1, 3, 5], [3, 7, 5],  # x+
        ],
        dtype=np.int64,
    )
    return verts, faces


def _ring(a: FloatArray, b: FloatArray, r: float, k: int) -> FloatArray:
    d = b - a
    n = np.linalg.norm(d)
    d = d / n if n > 0 else np.array([0.0, 0.0, 1.0])
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    v = np.cross(d, u)
    ang = np.arange(k) * 2 * np.pi / k
    return np.cos(ang)[:, None] * u * r + np.sin(ang)[:, None] * v * r


def tube_mesh(
    vertices: FloatArray, edges: IntArray, radius: FloatArray, sides: int = 6
) -> tuple[FloatArray, IntArray]:
    """Closed capped prisms around every skeleton edge (overlapping, not unioned), in nm."""
    vs: list[FloatArray] = []
    fs: list[IntArray] = []
    base = 0
    k = sides
    for c, p in np.asarray(edges, dtype=np.int64).tolist():
        a, b = vertices[p], vertices[c]
        r = float(max(radius[c], 1.0))
        ring = _ring(a, b, r, k)
        verts = np.concatenate([a + ring, b + ring, a[None], b[None]])
        f = []
        for i in range(k):
            j = (i + 1) % k
            f += [[i, j, k + i], [j, k + j, k + i]]
            f += [[2 * k, j, i], [2 * k + 1, k + i, k + j]]
        vs.append(verts)
        fs.append(np.array(f, dtype=np.int64) + base)
        base += len(verts)
    if not vs:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    return np.concatenate(vs), np.concatenate(fs)


def encode_legacy_fragment(vertices: FloatArray, faces: IntArray) -> bytes:
    """Neuroglancer legacy mesh fragment: uint32 count, float32 xyz, uint32 triangles."""
    v = np.asarray(vertices, dtype="<f4").reshape(-1, 3)
    f = np.asarray(faces, dtype="<u4").reshape(-1, 3)
    return struct.pack("<I", len(v)) + v.tobytes() + f.tobytes()


def segments_cross_triangles(
    seg_a: FloatArray, seg_b: FloatArray, tri: FloatArray, eps: float = 1e-9
) -> npt.NDArray[np.bool_]:
    """For each segment (a, b), whether it intersects any triangle (Moller-Trumbore).

    Args:
        seg_a, seg_b: (E, 3) segment end points.
        tri: (F, 3, 3) triangle corners.
    """
    a = np.asarray(seg_a, dtype=np.float64)[:, None, :]
    d = np.asarray(seg_b, dtype=np.float64)[:, None, :] - a
    v0 = tri[None, :, 0, :]
    e1 = tri[None, :, 1, :] - v0
    e2 = tri[None, :, 2, :] - v0
    p = np.cross(d, e2)
    det = (e1 * p).sum(-1)
    ok = np.abs(det) > eps
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = a - v0
    u = (s * p).sum(-1) * inv
    q = np.cross(s, e1)
    v = (d * q).sum(-1) * inv
    t = (e2 * q).sum(-1) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t >= 0) & (t <= 1)
    return np.asarray(hit.any(axis=1))
