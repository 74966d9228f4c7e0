"""Conversions between tracertools' geometry values and navis neurons (the optional ``navis`` extra).

* [`skeleton_to_navis()`][tracertools.geometry.navis_interop.skeleton_to_navis] / [`skeleton_from_navis()`][tracertools.geometry.navis_interop.skeleton_from_navis]: [`Skeleton`][tracertools.geometry.skeleton.Skeleton] ⇄
  ``navis.TreeNeuron``;
* [`mesh_to_navis()`][tracertools.geometry.navis_interop.mesh_to_navis] / [`mesh_from_navis()`][tracertools.geometry.navis_interop.mesh_from_navis]: [`Mesh`][tracertools.geometry.mesh.Mesh] ⇄ ``navis.MeshNeuron``.

Units: tracertools works in nm, and the neurons made here say so (``units="nm"``). Neurons
read here are converted to nm from whatever length unit they carry (``8 nm``, ``µm``, ...); a
neuron without units (navis's ``dimensionless``) is taken to be in nm. Segment IDs travel as the
neuron's ``id``.

A skeleton's edges are undirected; a TreeNeuron is a rooted tree, each node naming its parent.
[`skeleton_to_navis()`][tracertools.geometry.navis_interop.skeleton_to_navis] roots each connected piece at its lowest vertex index (or at the
skeleton service's ``root`` vertex when ``meta`` names one) and orients the bones from there.
Vertex ``i`` becomes node ``i``, so vertex order survives the round trip.

navis is imported inside these functions: it is an optional dependency
(``pip install "tracertools[navis]"``), and a missing one raises
[`MissingDependencyError`][tracertools.errors.MissingDependencyError] naming the extra.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.errors import InvalidGeometryError, InvalidInputError, MissingDependencyError
from tracertools.geometry.mesh import Mesh
from tracertools.geometry.skeleton import Skeleton

if TYPE_CHECKING:
    import navis

__all__ = [
    "mesh_from_navis",
    "mesh_to_navis",
    "require_navis",
    "skeleton_from_navis",
    "skeleton_to_navis",
]


def require_navis() -> Any:
    """The navis module, or [`MissingDependencyError`][tracertools.errors.MissingDependencyError] naming the extra."""
    try:
        import navis
    except ImportError as exc:
        raise MissingDependencyError(
            "navis is not installed; install the extra: pip install 'tracertools[navis]'"
        ) from exc
    return navis


def _nm_per_unit(neuron: Any) -> float:
    """How many nm one of the neuron's coordinate units is (1 when it has none)."""
    units = getattr(neuron, "units", None)
    if units is None or getattr(units, "dimensionless", False):
        return 1.0
    try:
        return float(units.to("nm").magnitude)
    except Exception as exc:  # pint raises its own DimensionalityError
        raise InvalidInputError(f"the neuron's units {units} are not a length") from exc


def _neuron_id(value: Any) -> int | None:
    """A segment ID from a navis ``id``: whole numbers only (navis makes up UUIDs otherwise)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) > 0:
        return int(value)
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    return None


def _parents(skeleton: Skeleton) -> np.ndarray:
    """Each vertex's parent index (-1 for roots), orienting the bones away from the roots."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    n = skeleton.n_vertices
    edges = skeleton.edges
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    pieces, labels = connected_components(graph, directed=False)
    if len(np.unique(np.sort(edges, axis=1), axis=0)) != len(edges) or len(edges) != n - pieces:
        raise InvalidGeometryError(
            f"a navis TreeNeuron needs a tree: this skeleton has {len(edges)} edges over "
            f"{n} vertices in {pieces} pieces (cycles or repeated edges)"
        )
    parent = np.full(n, -1, dtype=np.int64)
    preferred = skeleton.meta.get("root")
    roots = []
    for piece in range(pieces):
        members = np.flatnonzero(labels == piece)
        root = int(members[0])
        if isinstance(preferred, numbers.Integral) and labels[int(preferred)] == piece:
            root = int(preferred)
        roots.append(root)
    for root in roots:
        _, predecessors = breadth_first_order(graph, root, directed=False)
        reached = predecessors >= 0
        parent[reached] = predecessors[reached]
    return parent


def skeleton_to_navis(skeleton: Skeleton, *, name: str | None = None) -> navis.TreeNeuron:
    """A ``navis.TreeNeuron`` in nm: node ``i`` is vertex ``i``, radii in nm, ``id`` the
    skeleton's segment ID (navis's own ID if it has none).

    Raises:
        InvalidGeometryError: the skeleton is not a tree (it has cycles).
        MissingDependencyError: navis is not installed.
    """
    import pandas as pd

    nv = require_navis()
    n = skeleton.n_vertices
    if n == 0:
        raise InvalidGeometryError("an empty skeleton has no navis TreeNeuron")
    parent = _parents(skeleton) if skeleton.n_edges else np.full(n, -1, dtype=np.int64)
    v = skeleton.vertices
    nodes = pd.DataFrame({
        "node_id": np.arange(n, dtype=np.int64),
        "parent_id": parent,
        "x": v[:, 0].copy(), "y": v[:, 1].copy(), "z": v[:, 2].copy(),
        "radius": skeleton.radii.copy() if skeleton.radii is not None else np.full(n, np.nan),
    })
    kwargs: dict[str, Any] = {"units": "nm"}
    if skeleton.segment_id is not None:
        kwargs["id"] = skeleton.segment_id
    if name is not None:
        kwargs["name"] = name
    return nv.TreeNeuron(nodes, **kwargs)


def skeleton_from_navis(neuron: Any, *, segment_id: Any = None) -> Skeleton:
    """A [`Skeleton`][tracertools.geometry.skeleton.Skeleton] in nm from a ``navis.TreeNeuron``.

    Vertices follow the node table's order; each node with a parent gives the edge
    ``(node, parent)``. Radii are kept unless all are missing.

    Args:
        neuron: the TreeNeuron.
        segment_id: the root ID; default the neuron's ``id`` when it is a whole number.

    Raises:
        InvalidInputError: not a TreeNeuron, or units that are not a length.
        InvalidGeometryError: a parent that is not a node.
    """
    nodes = getattr(neuron, "nodes", None)
    if nodes is None or not {"node_id", "parent_id", "x", "y", "z"} <= set(nodes.columns):
        raise InvalidInputError(
            f"skeleton_from_navis takes a navis TreeNeuron, not {type(neuron).__name__}"
        )
    scale = _nm_per_unit(neuron)
    ids = nodes["node_id"].to_numpy(dtype=np.int64)
    parents = nodes["parent_id"].to_numpy(dtype=np.int64)
    index = {int(node): i for i, node in enumerate(ids)}
    child = np.flatnonzero(parents >= 0)
    try:
        edges = np.array([[i, index[int(parents[i])]] for i in child], dtype=np.int64)
    except KeyError as exc:
        raise InvalidGeometryError(f"node parent {exc.args[0]} is not a node") from None
    radii = None
    if "radius" in nodes.columns:
        r = nodes["radius"].to_numpy(dtype=np.float64)
        radii = None if np.all(np.isnan(r)) else np.nan_to_num(r, nan=0.0) * scale
    if segment_id is None:
        segment_id = _neuron_id(getattr(neuron, "id", None))
    vertices = nodes[["x", "y", "z"]].to_numpy(dtype=np.float64) * scale
    return Skeleton(vertices, edges.reshape(-1, 2), radii, segment_id=segment_id)


def mesh_to_navis(mesh: Mesh, *, segment_id: Any = None, name: str | None = None) -> navis.MeshNeuron:
    """A ``navis.MeshNeuron`` in nm with the mesh's vertices and faces (``id``: ``segment_id``).

    Raises:
        MissingDependencyError: navis is not installed.
    """
    from tracertools.ids import as_segment_id

    nv = require_navis()
    kwargs: dict[str, Any] = {"units": "nm"}
    if segment_id is not None:
        kwargs["id"] = as_segment_id(segment_id)
    if name is not None:
        kwargs["name"] = name
    return nv.MeshNeuron((np.array(mesh.vertices), np.array(mesh.faces)), **kwargs)


def mesh_from_navis(neuron: Any) -> Mesh:
    """A [`Mesh`][tracertools.geometry.mesh.Mesh] in nm from a ``navis.MeshNeuron`` (or anything with vertices, faces and
    navis units)."""
    vertices, faces = getattr(neuron, "vertices", None), getattr(neuron, "faces", None)
    if vertices is None or faces is None:
        raise InvalidInputError(f"mesh_from_navis takes a navis MeshNeuron, not {type(neuron).__name__}")
    return Mesh(np.asarray(vertices, dtype=np.float64) * _nm_per_unit(neuron), np.asarray(faces))
