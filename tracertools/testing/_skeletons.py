"""Skeletons of roots: the centreline nodes of the runs a root holds.

A root's skeleton has one vertex per centreline node of its runs (vertices in nm, radii in
nm). Edges are the tree edges between those nodes; where a run without any voxels lies in
between, the edge skips it. A whole-neuron merge adds one edge between the two merged
supervoxels' nodes. Vertices are ordered breadth-first from the skeleton root (the soma when
the root holds one), so each vertex's parent comes before it; edges are (child, parent).
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

SOMA, DENDRITE = 1, 3


@dataclass
class Skeleton:
    """A skeleton as served by the skeleton service.

    Attributes:
        vertices: (V, 3) positions in nm.
        edges: (E, 2) vertex indices (child, parent).
        radius: (V,) radii in nm.
        compartment: (V,) SWC types (1 soma, 3 neurite).
        root: index of the root vertex.
        parent: (V,) parent vertex, -1 for component roots.
        lvl2_ids: L2 IDs of the root.
        mesh_to_skel_map: vertex index of each L2 ID.
    """

    vertices: FloatArray
    edges: IntArray
    radius: FloatArray
    compartment: IntArray
    root: int
    parent: IntArray
    lvl2_ids: list[int]
    mesh_to_skel_map: list[int]

    def cable_length(self) -> float:
        """Sum of edge lengths, in nm."""
        if len(self.edges) == 0:
            return 0.0
        d = self.vertices[self.edges[:, 0]] - self.vertices[self.edges[:, 1]]
        return float(np.sqrt((d * d).sum(axis=1)).sum())

    def to_flatdict(self, root_id: int, skeleton_version: int = 4) -> dict[str, Any]:
        """The skeleton service's ``flatdict`` body (before gzip)."""
        return {
            "meta": {
                "root_id": int(root_id),
                "skeleton_version": skeleton_version,
                "sk_dict_structure_version": 4,
                "skeleton_type": "pcg_skel",
                "space": "physical",
                "units": "nm",
            },
            "edges": self.edges.tolist(),
            "vertices": self.vertices.tolist(),
            "mesh_to_skel_map": list(self.mesh_to_skel_map),
            "root": int(self.root),
            "radius": self.radius.tolist(),
            "compartment": self.compartment.tolist(),
            "lvl2_ids": [int(v) for v in self.lvl2_ids],
        }

    def to_swc(self) -> str:
        """SWC text without header lines: ``id type x y z radius parent`` (nm, 0-based ids)."""
        out = io.StringIO()
        for i in range(len(self.vertices)):
            x, y, z = (float(v) for v in self.vertices[i])
            out.write(
                f"{i} {int(self.compartment[i])} {x!r} {y!r} {z!r} "
                f"{float(self.radius[i])!r} {int(self.parent[i])}\n"
            )
        return out.getvalue()


def precomputed_bytes(sk: Skeleton) -> bytes:
    """Neuroglancer precomputed skeleton encoding (nm), with radius and compartment attributes."""
    nv, ne = len(sk.vertices), len(sk.edges)
    head = np.array([nv, ne], dtype="<u4").tobytes()
    return (
        head
        + np.asarray(sk.vertices, dtype="<f4").tobytes()
        + np.asarray(sk.edges, dtype="<u4").tobytes()
        + np.asarray(sk.radius, dtype="<f4").tobytes()
        + np.asarray(sk.compartment, dtype="<f4").tobytes()
    )


def gzip_bytes(data: bytes) -> bytes:
    """gzip with a fixed mtime, so bodies are reproducible."""
    return gzip.compress(data, mtime=0)


def flatdict_gzip(sk: Skeleton, root_id: int, skeleton_version: int = 4) -> bytes:
    """gzip(JSON) body of the single-skeleton ``flatdict`` endpoint."""
    return gzip_bytes(json.dumps(sk.to_flatdict(root_id, skeleton_version)).encode())


def build_skeleton(
    node_ids: IntArray,
    pos_nm: FloatArray,
    radius_nm: FloatArray,
    parent: IntArray,
    node_ok: npt.NDArray[np.bool_],
    node_in_root: npt.NDArray[np.bool_],
    links: list[tuple[int, int]],
    preferred_root: int | None,
    l2_ids: list[int],
    l2_rep_nm: FloatArray,
) -> Skeleton:
    """Build a skeleton from global centreline nodes.

    Args:
        node_ids: global indices of the nodes in this root.
        pos_nm, radius_nm, parent: global node arrays.
        node_ok: per global node, whether its run has voxels (in any root).
        node_in_root: per global node, whether it belongs to this root.
        links: extra (node, node) edges from whole-neuron merges.
        preferred_root: global node to root the skeleton at (a soma), if in the root.
        l2_ids: the root's L2 IDs; l2_rep_nm their representative points (nm).
    """
    nodes = [int(v) for v in node_ids]
    adj: dict[int, list[int]] = {v: [] for v in nodes}
    for v in nodes:
        u = int(parent[v])
        while u >= 0 and not node_ok[u]:
            u = int(parent[u])
        if u >= 0 and node_in_root[u]:
            adj[v].append(u)
            adj[u].append(v)
    for a, b in links:
        if a in adj and b in adj and b not in adj[a]:
            adj[a].append(b)
            adj[b].append(a)
    # breadth-first order from the root, then other components by node index
    order: list[int] = []
    par: dict[int, int] = {}
    seen: set[int] = set()
    starts = ([preferred_root] if preferred_root in adj else []) + sorted(adj)
    for s in starts:
        if s in seen:
            continue
        seen.add(s)
        par[s] = -1
        queue = [s]
        while queue:
            nxt = []
            for v in queue:
                order.append(v)
                for u in sorted(adj[v]):
                    if u not in seen:
                        seen.add(u)
                        par[u] = v
                        nxt.append(u)
            queue = nxt
    index = {v: i for i, v in enumerate(order)}
    verts = pos_nm[order] if order else np.zeros((0, 3))
    parent_idx = np.array([index[par[v]] if par[v] >= 0 else -1 for v in order], dtype=np.int64)
    child = np.flatnonzero(parent_idx >= 0)
    edges = np.stack([child, parent_idx[child]], axis=1) if len(child) else np.zeros((0, 2), dtype=np.int64)
    comp = np.array([SOMA if parent[v] < 0 else DENDRITE for v in order], dtype=np.int64)
    m2s: list[int] = []
    if len(order):
        for p in np.asarray(l2_rep_nm).reshape(-1, 3):
            d = ((verts - p) ** 2).sum(axis=1)
            m2s.append(int(np.argmin(d)))
    return Skeleton(
        vertices=np.asarray(verts, dtype=np.float64),
        edges=edges.astype(np.int64),
        radius=np.asarray(radius_nm[order] if order else np.zeros(0), dtype=np.float64),
        compartment=comp,
        root=0,
        parent=parent_idx,
        lvl2_ids=list(l2_ids),
        mesh_to_skel_map=m2s,
    )


def line_skeleton(start_nm: FloatArray, end_nm: FloatArray, step_nm: float, radius: float, l2_ids: list[int], l2_rep_nm: FloatArray) -> Skeleton:
    """A straight skeleton (used for the huge neuron)."""
    n = max(2, int(np.ceil(np.linalg.norm(end_nm - start_nm) / step_nm)) + 1)
    verts = np.round(np.linspace(start_nm, end_nm, n))
    parent = np.arange(-1, n - 1, dtype=np.int64)
    edges = np.stack([np.arange(1, n), np.arange(0, n - 1)], axis=1).astype(np.int64)
    m2s = [int(np.argmin(((verts - p) ** 2).sum(axis=1))) for p in np.asarray(l2_rep_nm).reshape(-1, 3)]
    return Skeleton(
        vertices=verts.astype(np.float64),
        edges=edges,
        radius=np.full(n, radius),
        compartment=np.full(n, DENDRITE, dtype=np.int64),
        root=0,
        parent=parent,
        lvl2_ids=list(l2_ids),
        mesh_to_skel_map=m2s,
    )
