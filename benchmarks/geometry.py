"""Geometry benchmarks: skeleton/mesh intersections and alpha shapes, beside naive baselines.

Run as a script (never from the test suite)::

    python benchmarks/geometry.py            # prints a table, updates docs/performance.md
    python benchmarks/geometry.py --no-docs  # prints only

1. A 5,000-bone skeleton (a random branching walk, nm) against a ~100,000-triangle perturbed
   sphere it passes through, with ``geometry.segment_triangle_intersections``, beside the
   original's approach: a pure-Python double loop over bones x triangles, timed on a subsample
   of bones and extrapolated. Targets: >= 1,000x faster, < 1 s.
2. An alpha shape of 20,000 points (a torus, nm) with ``tracertools.geometry.alpha_shape`` beside the
   ``alphashape`` package at the same alpha (alphashape keeps circumradius < 1/alpha, so it is
   given 1/alpha). Targets: >= 5x faster, watertight. Skipped if alphashape is not installed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tracertools import geometry
from tracertools.geometry.alpha_shape import alpha_shape

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _perfdoc import machine, write_section  # noqa: E402


def _timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, in seconds, and the last result."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


# --------------------------------------------------------------------------------------------
# 1. Skeleton bones against a mesh
# --------------------------------------------------------------------------------------------


def branching_walk(n_bones: int, rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
    """``(n_bones, 2, 3)`` bones of a random branching walk in nm (steps of ~2 µm)."""
    nodes = np.empty((n_bones + 1, 3))
    nodes[0] = centre
    bones = np.empty((n_bones, 2, 3))
    parent, direction = 0, rng.normal(size=3)
    for i in range(1, n_bones + 1):
        if rng.random() < 0.02:  # branch from a random earlier node
            parent, direction = int(rng.integers(i)), rng.normal(size=3)
        direction = 0.8 * direction / np.linalg.norm(direction) + 0.6 * rng.normal(size=3)
        nodes[i] = nodes[parent] + 2000.0 * direction / np.linalg.norm(direction)
        bones[i - 1] = nodes[parent], nodes[i]
        parent = i
    return bones


def perturbed_sphere(radius: float, centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(F, 3, 3)`` triangles of a UV sphere with ~100,000 faces, radially perturbed (nm)."""
    import trimesh

    sphere = trimesh.creation.uv_sphere(radius=1.0, count=[160, 160])
    scale = radius * (1.0 + 0.02 * rng.uniform(-1, 1, len(sphere.vertices)))
    vertices = sphere.vertices * scale[:, None] + centre
    return vertices[sphere.faces]


def python_intersections(bones: np.ndarray, triangles: np.ndarray) -> int:
    """The original's shape of algorithm: every bone against every triangle, in Python."""
    tris = triangles.tolist()
    hits = 0
    for (ax, ay, az), (bx, by, bz) in bones.tolist():
        dx, dy, dz = bx - ax, by - ay, bz - az
        for (v0x, v0y, v0z), (v1x, v1y, v1z), (v2x, v2y, v2z) in tris:
            e1x, e1y, e1z = v1x - v0x, v1y - v0y, v1z - v0z
            e2x, e2y, e2z = v2x - v0x, v2y - v0y, v2z - v0z
            px, py, pz = dy * e2z - dz * e2y, dz * e2x - dx * e2z, dx * e2y - dy * e2x
            det = e1x * px + e1y * py + e1z * pz
            if -1e-12 < det < 1e-12:
                continue
            inv = 1.0 / det
            sx, sy, sz = ax - v0x, ay - v0y, az - v0z
            u = (sx * px + sy * py + sz * pz) * inv
            if u < 0.0 or u > 1.0:
                continue
            qx, qy, qz = sy * e1z - sz * e1y, sz * e1x - sx * e1z, sx * e1y - sy * e1x
            v = (dx * qx + dy * qy + dz * qz) * inv
            if v < 0.0 or u + v > 1.0:
                continue
            t = (e2x * qx + e2y * qy + e2z * qz) * inv
            if 0.0 <= t <= 1.0:
                hits += 1
    return hits


def bench_intersections(rng: np.random.Generator) -> dict[str, Any]:
    centre = np.array([400_000.0, 300_000.0, 100_000.0])
    bones = branching_walk(5000, rng, centre)
    triangles = perturbed_sphere(40_000.0, centre, rng)
    ours_s, points = _timed(lambda: geometry.segment_triangle_intersections(bones, triangles), 3)
    sample = bones[:: len(bones) // 10][:10]
    python_sample_s, python_hits = _timed(lambda: python_intersections(sample, triangles), 3)
    ours_sample = len(geometry.segment_triangle_intersections(sample, triangles))
    python_s = python_sample_s * len(bones) / len(sample)
    return {
        "bones": len(bones),
        "triangles": len(triangles),
        "hits": len(points),
        "ours_s": ours_s,
        "python_s": python_s,
        "sample": len(sample),
        "sample_agrees": ours_sample == python_hits,
        "ratio": python_s / ours_s,
        "met": python_s / ours_s >= 1000 and ours_s < 1.0,
    }


# --------------------------------------------------------------------------------------------
# 2. Alpha shapes
# --------------------------------------------------------------------------------------------


def torus_points(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in nm: two thirds on a torus surface (R 10 µm, r 4 µm), a third inside."""
    ring_r, tube_r = 10_000.0, 4_000.0
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    s = np.ones(n)
    s[2 * n // 3:] = np.sqrt(rng.uniform(0, 1, n - 2 * n // 3))
    ring = ring_r + s * tube_r * np.cos(v)
    return np.c_[ring * np.cos(u), ring * np.sin(u), s * tube_r * np.sin(v)] + 500_000.0


def bench_alpha_shape(rng: np.random.Generator) -> dict[str, Any]:
    points = torus_points(20_000, rng)
    grow_s, grown = _timed(lambda: alpha_shape(points))
    alpha = grown.alpha
    ours_s, fixed = _timed(lambda: alpha_shape(points, alpha=alpha, auto_grow=False), 3)
    row: dict[str, Any] = {
        "points": len(points),
        "alpha": alpha,
        "attempts": grown.attempts,
        "grow_s": grow_s,
        "ours_s": ours_s,
        "ours_watertight": fixed.mesh.is_watertight,
        "ours_faces": len(fixed.mesh.faces),
    }
    try:
        import alphashape
    except ImportError:
        row["skipped"] = "alphashape is not installed: pip install alphashape"
        return row
    theirs_s, theirs = _timed(lambda: alphashape.alphashape(points, 1.0 / alpha), 3)
    from importlib.metadata import version

    row.update(
        theirs_version=f"alphashape {version('alphashape')}, shapely {version('shapely')}",
        theirs_s=theirs_s,
        theirs_watertight=bool(theirs.is_watertight),
        theirs_faces=len(theirs.faces),
        ratio=theirs_s / ours_s,
        met=theirs_s / ours_s >= 5 and fixed.mesh.is_watertight,
    )
    return row


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def report(inter: dict[str, Any], alpha: dict[str, Any]) -> str:
    lines = [
        "| benchmark | tracertools | baseline | ratio | targets | met |",
        "|---|---|---|---|---|---|",
        f"| {inter['bones']:,} bones x {inter['triangles']:,} triangles "
        f"({inter['hits']} crossings) | {inter['ours_s']:.3f} s | "
        f"{inter['python_s']:,.0f} s (pure-Python loop, extrapolated from "
        f"{inter['sample']} bones) | {inter['ratio']:,.0f}x | >= 1,000x and < 1 s | "
        f"{_yes(inter['met'])} |",
    ]
    label = (f"alpha shape of {alpha['points']:,} points (alpha {alpha['alpha']:,.0f} nm, "
             f"{alpha['ours_faces']:,} faces)")
    if "skipped" in alpha:
        lines.append(f"| {label} | {alpha['ours_s']:.3f} s (watertight: "
                     f"{_yes(alpha['ours_watertight'])}) | skipped: {alpha['skipped']} "
                     f"| - | >= 5x, watertight | - |")
    else:
        lines.append(
            f"| {label} | {alpha['ours_s']:.3f} s (watertight: "
            f"{_yes(alpha['ours_watertight'])}) | {alpha['theirs_s']:.2f} s, `alphashape` "
            f"package (watertight: {_yes(alpha['theirs_watertight'])}) | "
            f"{alpha['ratio']:.1f}x | >= 5x, watertight | {_yes(alpha['met'])} |"
        )
    return "\n".join(lines)


def notes(inter: dict[str, Any], alpha: dict[str, Any], facts: str) -> str:
    agree = "agree" if inter["sample_agrees"] else "DISAGREE"
    return (
        f"- Both intersection methods {agree} on the sampled bones' crossings.\n"
        f"- Alpha growth from the default alpha took {alpha['attempts']} attempts, "
        f"{alpha['grow_s']:.2f} s in all; the row above times one fixed alpha"
        + (f" ({alpha['theirs_version']})" if "theirs_version" in alpha else "") + ".\n"
        f"- Machine: {facts}."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-docs", action="store_true", help="do not update performance.md")
    args = parser.parse_args(argv)
    facts = machine()
    rng = np.random.default_rng(7)
    inter = bench_intersections(rng)
    alpha = bench_alpha_shape(rng)
    table = report(inter, alpha)
    print(table)
    print(notes(inter, alpha, facts))
    if "skipped" in alpha:
        print(f"\nalphashape comparison skipped: {alpha['skipped']}")
    if not args.no_docs:
        write_section(
            "Geometry",
            "Run `python benchmarks/geometry.py` (the alpha-shape baseline needs the `bench` "
            "extra: `pip install tracertools[bench]`). Wall times are the best of 3 runs, on "
            "both sides.\n\n" + table + "\n\n" + notes(inter, alpha, facts)
        )
        print("\nwrote the Geometry section of docs/performance.md")
    return 0 if inter["met"] and alpha.get("met", True) else 1


if __name__ == "__main__":
    sys.exit(main())
