"""Skeleton: a neuron's centreline graph as a value object (vertices and radii in nm).

A [`Skeleton`][tracertools.geometry.skeleton.Skeleton] holds data and no session: it pickles, compares by content and works
offline. It is built from what CAVE's skeleton service returns ([`Skeleton.from_cave_dict()`][tracertools.geometry.skeleton.Skeleton.from_cave_dict]
for caveclient's ``output_format="dict"``, [`Skeleton.from_swc()`][tracertools.geometry.skeleton.Skeleton.from_swc] for ``"swc"``), or from an
`osteoid.Skeleton`, and turns back into one with [`Skeleton.to_osteoid()`][tracertools.geometry.skeleton.Skeleton.to_osteoid].

Units: vertices and radii are in **nm** (physical space). [`Skeleton.bones()`][tracertools.geometry.skeleton.Skeleton.bones] can return
bone endpoints in viewer voxels at a resolution (nm per voxel), as neuroglancer shows them.

osteoid is imported only by the methods that convert to or from it, so importing this module
stays light.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracertools.errors import InvalidGeometryError, InvalidInputError
from tracertools.geometry import calc as geometry
from tracertools.ids import as_segment_id

if TYPE_CHECKING:
    import osteoid

__all__ = ["Skeleton"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Columns of an SWC table, in file order (caveclient names its DataFrame columns so).
SWC_COLUMNS = ("id", "type", "x", "y", "z", "radius", "parent")
#: Keys of caveclient's skeleton dict that become the skeleton itself rather than ``meta``.
_CAVE_CORE_KEYS = ("vertices", "edges", "radius", "meta")
#: Intersection points closer than this (nm) are reported once.
_MERGE_TOLERANCE_NM = 1e-6


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _vertices(value: ArrayLike) -> FloatArray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGeometryError(f"vertices must be numeric, (V, 3) in nm: {exc}") from exc
    if arr.size == 0:
        return np.empty((0, 3), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise InvalidGeometryError(f"vertices must have shape (V, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidGeometryError("vertices contain NaN or infinite values")
    return arr


def _edges(value: ArrayLike, n_vertices: int) -> IntArray:
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # pragma: no cover - ragged input
        raise InvalidGeometryError(f"edges must be an (E, 2) integer array: {exc}") from exc
    if raw.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    if raw.ndim != 2 or raw.shape[1] != 2:
        raise InvalidGeometryError(f"edges must have shape (E, 2), got {raw.shape}")
    if raw.dtype.kind in "iu":
        if raw.dtype == np.uint64 and int(raw.max()) >= n_vertices:
            raise InvalidGeometryError(f"edges index vertex {int(raw.max())}, but V={n_vertices}")
        arr = raw.astype(np.int64)
    elif raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
        arr = raw.astype(np.int64)
    else:
        raise InvalidGeometryError(f"edges must hold whole vertex indices, got dtype {raw.dtype}")
    bad = (arr < 0) | (arr >= n_vertices)
    if np.any(bad):
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise InvalidGeometryError(
            f"edge {row} {arr[row].tolist()} indexes a vertex outside 0..{n_vertices - 1}"
        )
    return arr


def _radii(value: ArrayLike | None, n_vertices: int) -> FloatArray | None:
    if value is None:
        return None
    try:
        arr = np.array(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidGeometryError(f"radii must be numeric, (V,) in nm: {exc}") from exc
    if arr.shape != (n_vertices,):
        raise InvalidGeometryError(f"radii must have shape ({n_vertices},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidGeometryError("radii contain NaN or infinite values")
    if np.any(arr < 0):
        raise InvalidGeometryError("radii must not be negative")
    return arr


def _resolution(value: ArrayLike) -> FloatArray:
    try:
        res = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"resolution must be 3 numbers (nm per voxel): {exc}") from exc
    if res.shape != (3,) or not np.all(np.isfinite(res)) or np.any(res <= 0):
        raise InvalidInputError(
            f"resolution must be 3 positive numbers (nm per voxel), got {np.asarray(value)!r}"
        )
    return res


def _triangles_of(mesh_or_triangles: Any) -> Any:
    """The (F, 3, 3) triangles of a mesh-like object, or the argument itself."""
    triangles = getattr(mesh_or_triangles, "triangles", None)
    return mesh_or_triangles if triangles is None else triangles


class Skeleton:
    """A skeleton: vertices (nm), undirected edges between them, and optional radii (nm).

    Immutable in practice: the arrays are read-only copies. Equality compares vertices, edges,
    radii and segment ID (not ``meta``).

    Args:
        vertices_nm: ``(V, 3)`` vertex positions in nm.
        edges: ``(E, 2)`` vertex indices; each row is one bone.
        radii_nm: ``(V,)`` radius at each vertex in nm, or None when unknown.
        segment_id: the root (segment) ID this skeleton belongs to, if known.
        meta: extra information kept alongside (e.g. the skeleton service's ``meta`` and
            per-vertex extras such as ``compartment``); not validated.

    Raises:
        InvalidGeometryError: wrongly shaped or non-finite arrays, negative radii, or edges
            indexing vertices that do not exist.
    """

    def __init__(
        self,
        vertices_nm: ArrayLike,
        edges: ArrayLike,
        radii_nm: ArrayLike | None = None,
        *,
        segment_id: Any = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        vertices = _vertices(vertices_nm)
        self._vertices: FloatArray = _frozen(vertices)
        self._edges: IntArray = _frozen(_edges(edges, len(vertices)))
        radii = _radii(radii_nm, len(vertices))
        self._radii: FloatArray | None = None if radii is None else _frozen(radii)
        self._segment_id: int | None = None if segment_id is None else as_segment_id(segment_id)
        self._meta: dict[str, Any] = dict(meta) if meta is not None else {}

    # ---------------------------------------------------------------------------------------
    # Construction from other formats
    # ---------------------------------------------------------------------------------------

    @classmethod
    def from_cave_dict(cls, d: Mapping[str, Any], segment_id: Any = None) -> Skeleton:
        """From caveclient's ``skeleton.get_skeleton(..., output_format="dict")`` result.

        Also accepts one value of ``get_bulk_skeletons(...)`` (the same keys, as plain lists).

        Args:
            d: a mapping with ``vertices`` (nm), ``edges`` and ``radius`` (nm); ``meta`` and
                the other keys (``compartment``, ``root``, ``lvl2_ids``, ...) go into
                `meta`.
            segment_id: the root ID; defaults to ``d["meta"]["root_id"]`` when present.

        Raises:
            InvalidGeometryError: a required key is missing or an array is malformed.
        """
        if not isinstance(d, Mapping):
            raise InvalidGeometryError(
                f"expected the skeleton service's dict, got {type(d).__name__} "
                "(for output_format='swc' use Skeleton.from_swc)"
            )
        missing = [k for k in ("vertices", "edges") if k not in d]
        if missing:
            raise InvalidGeometryError(f"skeleton dict has no {', '.join(missing)} key")
        meta: dict[str, Any] = dict(d.get("meta") or {})
        meta.update({k: v for k, v in d.items() if k not in _CAVE_CORE_KEYS})
        if segment_id is None:
            segment_id = meta.get("root_id")
        return cls(d["vertices"], d["edges"], d.get("radius"), segment_id=segment_id, meta=meta)

    @classmethod
    def from_swc(
        cls, source: Any, *, segment_id: Any = None, scale_to_nm: float = 1.0
    ) -> Skeleton:
        """From SWC text, an SWC file, or caveclient's SWC DataFrame.

        Each SWC node ``id type x y z radius parent`` becomes a vertex (in file order) and each
        node with a parent an edge ``(node, parent)``. Comment lines (``#``) are skipped; node
        IDs may be 0- or 1-based; a negative parent marks a root; radii that are all negative
        (-1, "unknown") become None.

        Args:
            source: SWC text (``str`` or ``bytes``), a `pathlib.Path` to an SWC file, or
                a DataFrame with columns ``id, type, x, y, z, radius, parent`` (as returned by
                ``get_skeleton(..., output_format="swc")``).
            segment_id: the root ID, if known.
            scale_to_nm: multiplies coordinates and radii; 1 for nm (the skeleton service),
                1000 for SWC files in µm.

        Raises:
            InvalidGeometryError: malformed rows, duplicate node IDs, or unknown parents.
        """
        scale = float(scale_to_nm)
        if not scale > 0:
            raise InvalidInputError(f"scale_to_nm must be positive, got {scale_to_nm!r}")
        table = _swc_table(source)
        if table.shape[0] == 0:
            return cls(np.empty((0, 3)), np.empty((0, 2)), np.empty(0), segment_id=segment_id)
        if not np.all(np.isfinite(table)):
            raise InvalidGeometryError("SWC contains NaN or infinite values")
        ids = table[:, 0]
        parents = table[:, 6]
        if np.any(ids != np.round(ids)) or np.any(parents != np.round(parents)):
            raise InvalidGeometryError("SWC node and parent IDs must be whole numbers")
        ids_i, parents_i = ids.astype(np.int64), parents.astype(np.int64)
        order = np.argsort(ids_i, kind="stable")
        sorted_ids = ids_i[order]
        if np.any(sorted_ids[1:] == sorted_ids[:-1]):
            raise InvalidGeometryError("SWC node IDs are not unique")
        child = np.flatnonzero(parents_i >= 0)
        pos = np.searchsorted(sorted_ids, parents_i[child])
        pos_clipped = np.minimum(pos, len(sorted_ids) - 1)
        found = sorted_ids[pos_clipped] == parents_i[child]
        if not np.all(found):
            bad = int(parents_i[child[~found][0]])
            raise InvalidGeometryError(f"SWC parent {bad} is not a node ID")
        edges = np.stack([child, order[pos_clipped]], axis=1)
        radii = table[:, 5] * scale if np.any(table[:, 5] >= 0) else None  # all -1: unknown
        meta = {"compartment": table[:, 1].astype(np.int64), "swc_ids": ids_i}
        return cls(table[:, 2:5] * scale, edges, radii, segment_id=segment_id, meta=meta)

    @classmethod
    def from_osteoid(cls, sk: osteoid.Skeleton, segment_id: Any = None) -> Skeleton:
        """From an `osteoid.Skeleton`, converted to physical space (nm).

        A skeleton in ``"voxel"`` space is mapped through its transform first. Radii of -1 (the
        value osteoid fills in when radii are unknown) become None.

        Args:
            sk: the osteoid skeleton.
            segment_id: the root ID; defaults to ``sk.id``.

        Raises:
            InvalidGeometryError: the skeleton's space is neither ``"physical"`` nor ``"voxel"``.
        """
        space = getattr(sk, "space", "physical")
        if space == "voxel":
            sk = sk.physical_space(copy=True)
        elif space != "physical":
            raise InvalidGeometryError(
                f"osteoid skeleton space {space!r} is neither 'physical' nor 'voxel'"
            )
        radii = getattr(sk, "radius", None)
        if radii is not None:
            radii = np.asarray(radii, dtype=np.float64).reshape(-1)
            if radii.size and np.all(radii == -1):
                radii = None
        meta: dict[str, Any] = {}
        types = getattr(sk, "vertex_types", None)
        if types is not None and np.any(np.asarray(types) != 0):
            meta["compartment"] = np.asarray(types, dtype=np.int64)
        if segment_id is None:
            segment_id = getattr(sk, "id", None)
        return cls(sk.vertices, sk.edges, radii, segment_id=segment_id, meta=meta)

    def to_osteoid(self, resolution: ArrayLike | None = None) -> osteoid.Skeleton:
        """An `osteoid.Skeleton` in physical space (vertices and radii in nm).

        Args:
            resolution: nm per voxel, stored as the skeleton's voxel-to-physical transform (as
                the original tracertools did); None stores the identity.
        """
        import osteoid

        transform = np.zeros((3, 4), dtype=np.float64)
        scale = np.ones(3) if resolution is None else _resolution(resolution)
        transform[:, :3] = np.diag(scale)
        types = self._meta.get("compartment")
        if types is not None and np.shape(types) != (self.n_vertices,):
            types = None
        return osteoid.Skeleton(
            self._vertices.copy(),
            self._edges.astype(np.uint32),
            radii=None if self._radii is None else self._radii.copy(),
            vertex_types=types,
            segid=self._segment_id,
            transform=transform,
            space="physical",
        )

    @classmethod
    def from_navis(cls, neuron: Any, segment_id: Any = None) -> Skeleton:
        """From a ``navis.TreeNeuron``, converted to nm from its units (none: taken as nm).

        Vertices follow the node table; ``segment_id`` defaults to the neuron's whole-number
        ``id``. See [`tracertools.geometry.navis_interop`][tracertools.geometry.navis_interop].
        """
        from tracertools.geometry.navis_interop import skeleton_from_navis

        return skeleton_from_navis(neuron, segment_id=segment_id)

    def to_navis(self, *, name: str | None = None) -> Any:
        """A ``navis.TreeNeuron`` in nm (node ``i`` is vertex ``i``; ``id`` the segment ID).

        Needs the ``navis`` extra. Raises
        [`InvalidGeometryError`][tracertools.errors.InvalidGeometryError] for a skeleton with cycles.
        """
        from tracertools.geometry.navis_interop import skeleton_to_navis

        return skeleton_to_navis(self, name=name)

    # ---------------------------------------------------------------------------------------
    # Data
    # ---------------------------------------------------------------------------------------

    @property
    def vertices(self) -> FloatArray:
        """``(V, 3)`` vertex positions in nm (read-only)."""
        return self._vertices

    @property
    def edges(self) -> IntArray:
        """``(E, 2)`` vertex indices, one row per bone (read-only)."""
        return self._edges

    @property
    def radii(self) -> FloatArray | None:
        """``(V,)`` radii in nm (read-only), or None when unknown."""
        return self._radii

    @property
    def segment_id(self) -> int | None:
        """The root ID this skeleton belongs to, if known."""
        return self._segment_id

    @property
    def meta(self) -> dict[str, Any]:
        """Extra information (a copy): the skeleton service's metadata and per-vertex extras."""
        return dict(self._meta)

    @property
    def n_vertices(self) -> int:
        """Number of vertices."""
        return int(self._vertices.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges (bones)."""
        return int(self._edges.shape[0])

    # ---------------------------------------------------------------------------------------
    # Geometry
    # ---------------------------------------------------------------------------------------

    def cable_length(self) -> float:
        """Total length of all bones in nm (equals osteoid's ``cable_length()``)."""
        if self.n_edges == 0:
            return 0.0
        delta = self._vertices[self._edges[:, 1]] - self._vertices[self._edges[:, 0]]
        return float(np.sum(np.sqrt(np.sum(delta * delta, axis=1))))

    def bones(self, resolution: ArrayLike | None = None) -> FloatArray:
        """Bone endpoints, ``(E, 2, 3)``.

        Args:
            resolution: None for nm; else nm per voxel (x, y, z), and the endpoints are returned
                in viewer voxels at that resolution, e.g. ``ds.config.resolution``.
        """
        bones = self._vertices[self._edges]
        if resolution is None:
            return bones
        return bones / _resolution(resolution)

    def intersections(self, mesh: Any) -> FloatArray:
        """Points (nm) where the skeleton's bones cross a mesh's triangles.

        Uses [`tracertools.geometry.segment_triangle_intersections()`][tracertools.geometry.calc.segment_triangle_intersections] (vectorised, with a
        grid prefilter). A bone crossing an edge shared by two triangles, or two bones meeting
        on the surface, give one point, not two: points closer than 1e-6 nm are merged.

        Args:
            mesh: anything with a ``triangles`` attribute of shape ``(F, 3, 3)`` in nm (such as
                [`tracertools.geometry.mesh.Mesh`][tracertools.geometry.mesh.Mesh]), or such an array itself.

        Returns:
            ``(K, 3)`` float64 points in nm, ordered by bone index.

        Raises:
            InvalidGeometryError: the triangles are malformed.
        """
        points = geometry.segment_triangle_intersections(self.bones(), _triangles_of(mesh))
        if len(points) < 2:
            return points
        keys = np.round(points / _MERGE_TOLERANCE_NM)
        _, first = np.unique(keys, axis=0, return_index=True)
        return points[np.sort(first)]

    def crosses(self, mesh: Any) -> bool:
        """Whether any bone crosses the mesh (see [`intersections()`][tracertools.geometry.skeleton.Skeleton.intersections])."""
        return len(self.intersections(mesh)) > 0

    # ---------------------------------------------------------------------------------------
    # Viewing
    # ---------------------------------------------------------------------------------------

    def show(self, **kwargs: Any) -> None:
        """Open a microviewer window with this skeleton (see [`tracertools.geometry.viewer.show()`][tracertools.geometry.viewer.show])."""
        from tracertools.geometry.viewer import show  # lazy: keeps `import tracertools` light

        show([self], **kwargs)

    def render(self, path: str | Path, **kwargs: Any) -> Path:
        """Draw this skeleton to a PNG offscreen (see [`tracertools.geometry.viewer.render()`][tracertools.geometry.viewer.render])."""
        from tracertools.geometry.viewer import render  # lazy: keeps `import tracertools` light

        return render([self], path, **kwargs)

    # ---------------------------------------------------------------------------------------
    # Value-object protocol
    # ---------------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Skeleton):
            return NotImplemented
        if self._radii is None or other._radii is None:
            same_radii = self._radii is None and other._radii is None
        else:
            same_radii = np.array_equal(self._radii, other._radii)
        return (
            same_radii
            and self._segment_id == other._segment_id
            and np.array_equal(self._vertices, other._vertices)
            and np.array_equal(self._edges, other._edges)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value: compare, don't hash

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_vertices", "_edges", "_radii"):
            arr = getattr(self, name)
            if arr is not None:
                arr.setflags(write=False)

    def __repr__(self) -> str:
        return (
            f"Skeleton(segment_id={self._segment_id}, n_vertices={self.n_vertices}, "
            f"n_edges={self.n_edges}, cable_length={self.cable_length() / 1000:.2f} µm)"
        )

    def _repr_html_(self) -> str:
        rows: Sequence[tuple[str, str]] = [
            ("segment ID", str(self._segment_id) if self._segment_id is not None else "—"),
            ("vertices", f"{self.n_vertices:,}"),
            ("edges", f"{self.n_edges:,}"),
            ("cable length", f"{self.cable_length() / 1000:,.2f} µm"),
            (
                "radius (nm)",
                "unknown"
                if self._radii is None or self._radii.size == 0
                else f"{self._radii.min():,.1f} – {self._radii.max():,.1f}",
            ),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>Skeleton</caption>{body}</table>"


def _swc_table(source: Any) -> FloatArray:
    """An (N, 7) float table of SWC columns from text, a file path or a DataFrame."""
    if isinstance(source, Path):
        try:
            source = source.read_text()
        except OSError as exc:
            raise InvalidInputError(f"cannot read SWC file {str(source)!r}: {exc}") from exc
    if isinstance(source, bytes):
        source = source.decode()
    if isinstance(source, str):
        rows = []
        for number, line in enumerate(source.splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            fields = text.split()
            if len(fields) < 7:
                raise InvalidGeometryError(
                    f"SWC line {number} has {len(fields)} fields, expected 7: {line!r}"
                )
            try:
                rows.append([float(f) for f in fields[:7]])
            except ValueError as exc:
                raise InvalidGeometryError(f"SWC line {number} is not numeric: {line!r}") from exc
        return np.asarray(rows, dtype=np.float64).reshape(-1, 7)
    columns = getattr(source, "columns", None)
    if columns is not None:
        names = [str(c) for c in columns]
        if all(c in names for c in ("id", "x", "y", "z", "radius", "parent")):
            picked = [c if c in names else None for c in SWC_COLUMNS]
            out = np.zeros((len(source), 7), dtype=np.float64)
            for j, col in enumerate(picked):
                if col is not None:
                    out[:, j] = np.asarray(source[col], dtype=np.float64)
            return out
        if len(names) == 7:
            return np.asarray(source, dtype=np.float64).reshape(-1, 7)
        raise InvalidGeometryError(
            f"SWC DataFrame needs columns {', '.join(SWC_COLUMNS)}; got {', '.join(names)}"
        )
    raise InvalidInputError(
        f"from_swc takes SWC text, a Path or a DataFrame, not {type(source).__name__}"
    )
