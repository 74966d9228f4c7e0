"""The [`Mesh`][tracertools.geometry.mesh.Mesh] value object: a triangle mesh in nm, and the ways to make, read and write it.

A ``Mesh`` holds two arrays and nothing else (no session, no open file): ``vertices`` ``(V, 3)``
float64 in **nm** and ``faces`` ``(F, 3)`` int64 indices into them. It is immutable, compares
by value and pickles, so it works offline and crosses process boundaries.

Where meshes come from and go to:

* OBJ text or files: [`Mesh.from_obj()`][tracertools.geometry.mesh.Mesh.from_obj], [`Mesh.to_obj()`][tracertools.geometry.mesh.Mesh.to_obj], [`point_cloud_obj()`][tracertools.geometry.mesh.point_cloud_obj]
  (OBJ coordinates are taken to be nm);
* precomputed volumes (file://, gs://, s3://, http(s)://, mem://, cloudfiles aliases):
  [`Mesh.from_precomputed()`][tracertools.geometry.mesh.Mesh.from_precomputed], [`Mesh.write_precomputed()`][tracertools.geometry.mesh.Mesh.write_precomputed] (see
  [`tracertools.geometry.precomputed`][tracertools.geometry.precomputed]);
* points: [`Mesh.from_points()`][tracertools.geometry.mesh.Mesh.from_points] (alpha shape, [`tracertools.geometry.alpha_shape`][tracertools.geometry.alpha_shape]) and
  [`Mesh.convex_hull()`][tracertools.geometry.mesh.Mesh.convex_hull];
* other meshes: [`Mesh.union()`][tracertools.geometry.mesh.Mesh.union] (boolean union with manifold3d through trimesh);
* trimesh: [`Mesh.to_trimesh()`][tracertools.geometry.mesh.Mesh.to_trimesh], [`Mesh.from_trimesh()`][tracertools.geometry.mesh.Mesh.from_trimesh];
* navis: [`Mesh.to_navis()`][tracertools.geometry.mesh.Mesh.to_navis], [`Mesh.from_navis()`][tracertools.geometry.mesh.Mesh.from_navis] (the optional ``navis`` extra).

Viewer coordinates are voxels at a resolution (nm per voxel, e.g. a datastack's
``config.resolution``): [`Mesh.triangles_in_voxels()`][tracertools.geometry.mesh.Mesh.triangles_in_voxels] divides by it.

This module imports numpy only; trimesh, scipy and cloud-volume load inside the methods that
need them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tracertools.errors import InvalidGeometryError, InvalidInputError, SourceNotFoundError

if TYPE_CHECKING:
    import trimesh

__all__ = ["Mesh", "point_cloud_obj"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: OBJ statements that carry nothing a triangle mesh needs; they are skipped.
_OBJ_IGNORED = frozenset(
    "vt vn vp l p s g mg mtllib usemtl usemap maplib cstype deg bmat step curv curv2 surf "
    "parm trim hole scrv sp end con lod ctech stech bevel c_interp d_interp shadow_obj "
    "trace_obj".split()
)


# --------------------------------------------------------------------------------------------
# Input helpers (shared with tracertools.geometry.alpha_shape)
# --------------------------------------------------------------------------------------------


def _as_points(points: ArrayLike, name: str = "points_nm") -> FloatArray:
    """``points`` as a finite ``(N, 3)`` float64 array; an empty input gives ``(0, 3)``."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGeometryError(f"{name} must be numeric (N, 3) coordinates: {exc}") from exc
    if arr.size == 0:
        return np.empty((0, 3), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise InvalidGeometryError(f"{name} must have shape (N, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidGeometryError(f"{name} contains NaN or infinite values")
    return arr


def _require_solid_cloud(points: FloatArray, what: str) -> None:
    """Raise unless ``points`` has at least 4 points that span 3-D space."""
    if len(points) == 0:
        raise InvalidGeometryError(f"{what} needs at least 4 points; got none (empty input)")
    if len(points) < 4:
        raise InvalidGeometryError(f"{what} needs at least 4 points; got {len(points)}")
    centred = points - points.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    if singular[0] == 0.0:
        raise InvalidGeometryError(f"{what} needs distinct points; all {len(points)} coincide")
    if singular[2] <= 1e-10 * singular[0]:
        shape = "collinear" if singular[1] <= 1e-10 * singular[0] else "coplanar"
        raise InvalidGeometryError(
            f"{what} needs points that span a volume; these {len(points)} points are {shape}"
        )


def _as_resolution(resolution: ArrayLike) -> FloatArray:
    try:
        res = np.asarray(resolution, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"resolution must be 3 positive numbers: {exc}") from exc
    if res.shape != (3,) or not np.all(np.isfinite(res)) or not np.all(res > 0):
        raise InvalidInputError(
            f"resolution must be 3 positive numbers (nm per voxel), got {resolution!r}"
        )
    return res


def _edge_keys(faces: IntArray, n_vertices: int) -> IntArray:
    """One int64 key per undirected edge of every face, in face order (3 per face)."""
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    return edges[:, 0] * np.int64(n_vertices) + edges[:, 1]


def _readonly(arr: NDArray[Any]) -> NDArray[Any]:
    arr.setflags(write=False)
    return arr


# --------------------------------------------------------------------------------------------
# Mesh
# --------------------------------------------------------------------------------------------


class Mesh:
    """An immutable triangle mesh in nm.

    Args:
        vertices: ``(V, 3)`` vertex coordinates in nm.
        faces: ``(F, 3)`` vertex indices (0-based) of each triangle; outward normals follow the
            right-hand rule for closed meshes made here.

    Raises:
        InvalidGeometryError: wrong shapes, non-finite coordinates, no faces, or an index that
            does not name a vertex.
    """

    __slots__ = ("_faces", "_triangles", "_vertices")

    _vertices: FloatArray
    _faces: IntArray
    _triangles: FloatArray | None

    def __init__(self, vertices: ArrayLike, faces: ArrayLike) -> None:
        verts = _as_points(vertices, "vertices")
        try:
            raw = np.asarray(faces)
        except (TypeError, ValueError) as exc:
            raise InvalidGeometryError(f"faces must be integer (F, 3) indices: {exc}") from exc
        if raw.size == 0 or len(verts) == 0:
            raise InvalidGeometryError(
                f"a mesh needs at least one face; got {len(verts)} vertices and "
                f"{raw.size // 3 if raw.ndim == 2 else raw.size} faces"
            )
        if raw.ndim != 2 or raw.shape[1] != 3:
            raise InvalidGeometryError(f"faces must have shape (F, 3), got {raw.shape}")
        if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
            raw = raw.astype(np.int64)
        if raw.dtype.kind not in "iu":
            raise InvalidGeometryError(f"faces must hold integer indices, got dtype {raw.dtype}")
        tris = raw.astype(np.int64)
        low, high = int(tris.min()), int(tris.max())
        if low < 0 or high >= len(verts):
            bad = low if low < 0 else high
            raise InvalidGeometryError(
                f"face index {bad} does not name a vertex (there are {len(verts)} vertices)"
            )
        self._vertices = _readonly(np.array(verts, dtype=np.float64))
        self._faces = _readonly(np.ascontiguousarray(tris))
        self._triangles = None

    # ---- value semantics ---------------------------------------------------------------

    def __repr__(self) -> str:
        lo, hi = self.bounds
        return (
            f"Mesh({len(self._vertices)} vertices, {len(self._faces)} faces, "
            f"bounds_nm=[{lo.tolist()}, {hi.tolist()}])"
        )

    def _repr_html_(self) -> str:
        """A compact card for notebooks (see `tracertools.geometry.previews.mesh_card()`)."""
        from tracertools.geometry.previews import mesh_card

        return mesh_card(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mesh):
            return NotImplemented
        return bool(
            np.array_equal(self._vertices, other._vertices)
            and np.array_equal(self._faces, other._faces)
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value, arrays are not hashable

    def __reduce__(self) -> tuple[Any, ...]:
        return (Mesh, (np.array(self._vertices), np.array(self._faces)))

    # ---- data --------------------------------------------------------------------------

    @property
    def vertices(self) -> FloatArray:
        """``(V, 3)`` float64 vertex coordinates in nm (read-only)."""
        return self._vertices

    @property
    def faces(self) -> IntArray:
        """``(F, 3)`` int64 vertex indices per triangle (read-only)."""
        return self._faces

    @property
    def triangles(self) -> FloatArray:
        """``(F, 3, 3)`` float64 corner coordinates of every triangle in nm (read-only)."""
        if self._triangles is None:
            self._triangles = _readonly(self._vertices[self._faces])
        return self._triangles

    def triangles_in_voxels(self, resolution: ArrayLike) -> FloatArray:
        """``(F, 3, 3)`` triangle corners in voxels at ``resolution`` (nm per voxel, x y z).

        Raises:
            InvalidInputError: ``resolution`` is not 3 positive numbers.
        """
        return self.triangles / _as_resolution(resolution)

    @property
    def bounds(self) -> FloatArray:
        """``(2, 3)`` axis-aligned bounding box ``[min, max]`` of the vertices, in nm."""
        return np.stack([self._vertices.min(axis=0), self._vertices.max(axis=0)])

    @property
    def is_watertight(self) -> bool:
        """True if every edge is shared by exactly two faces (trimesh's definition)."""
        _, counts = np.unique(_edge_keys(self._faces, len(self._vertices)), return_counts=True)
        return bool(np.all(counts == 2))

    @property
    def body_count(self) -> int:
        """Number of separate pieces: groups of faces joined through shared edges."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        keys = _edge_keys(self._faces, len(self._vertices))
        order = np.argsort(keys, kind="stable")
        face_of = order // 3
        same = keys[order][1:] == keys[order][:-1]
        a, b = face_of[:-1][same], face_of[1:][same]
        n = len(self._faces)
        graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
        count, _ = connected_components(graph, directed=False)
        return int(count)

    @property
    def volume_nm3(self) -> float:
        """Enclosed volume in nm³ (orientation-independent).

        Raises:
            InvalidGeometryError: the mesh is not watertight, so it encloses no volume.
        """
        if not self.is_watertight:
            raise InvalidGeometryError(
                "the mesh is not watertight (some edges do not join exactly two faces), "
                "so it has no enclosed volume"
            )
        centre = self._vertices.mean(axis=0)
        t = self.triangles - centre  # centring keeps precision at nm scales of 1e6
        signed = np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6.0
        return float(abs(signed))

    # ---- conversions -------------------------------------------------------------------

    def to_trimesh(self) -> trimesh.Trimesh:
        """A new ``trimesh.Trimesh`` with the same vertices (nm) and faces (no processing)."""
        import trimesh

        return trimesh.Trimesh(
            vertices=np.array(self._vertices), faces=np.array(self._faces), process=False
        )

    @classmethod
    def from_trimesh(cls, mesh: trimesh.Trimesh) -> Mesh:
        """A Mesh from a ``trimesh.Trimesh`` whose vertices are in nm."""
        return cls(np.asarray(mesh.vertices), np.asarray(mesh.faces))

    def to_navis(self, *, segment_id: Any = None, name: str | None = None) -> Any:
        """A ``navis.MeshNeuron`` in nm (``id``: ``segment_id``); needs the ``navis`` extra."""
        from tracertools.geometry.navis_interop import mesh_to_navis

        return mesh_to_navis(self, segment_id=segment_id, name=name)

    @classmethod
    def from_navis(cls, neuron: Any) -> Mesh:
        """From a ``navis.MeshNeuron``, converted to nm from its units (none: taken as nm)."""
        from tracertools.geometry.navis_interop import mesh_from_navis

        return mesh_from_navis(neuron)

    @overload
    def to_obj(self, path: None = None) -> str: ...

    @overload
    def to_obj(self, path: str | os.PathLike[str]) -> Path: ...

    def to_obj(self, path: str | os.PathLike[str] | None = None) -> str | Path:
        """Wavefront OBJ of this mesh (coordinates in nm, written losslessly).

        Args:
            path: where to write the file; None returns the text instead.

        Returns:
            The OBJ text, or the ``Path`` written (parent folders are created).
        """
        lines = [f"# tracertools mesh: {len(self._vertices)} vertices, "
                 f"{len(self._faces)} faces; units nm"]
        lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in self._vertices.tolist()]
        lines += [f"f {a} {b} {c}" for a, b, c in (self._faces + 1).tolist()]
        return _emit("\n".join(lines) + "\n", path)

    @classmethod
    def from_obj(
        cls, source: str | os.PathLike[str] | bytes, *, merge_objects: bool = False
    ) -> Mesh:
        """Read a Wavefront OBJ file (coordinates taken as nm).

        Faces with more than 3 corners are fan-triangulated; texture and normal indices
        (``f 1/2/3``) and negative (relative) indices are understood; materials, normals,
        texture coordinates, lines and groups (``g``) are ignored.

        Args:
            source: a file path (``str`` or path-like), or the file's contents as ``bytes``.
            merge_objects: an OBJ with several objects (``o`` statements) that have faces is
                refused unless this is True, which merges them all into one mesh.

        Raises:
            InvalidGeometryError: malformed or binary content (the message names the line),
                no faces (e.g. a point cloud), or several objects without ``merge_objects``.
            FileNotFoundError: ``source`` is a path that does not exist.
        """
        if isinstance(source, (bytes, bytearray, memoryview)):
            data, where = bytes(source), "OBJ data"
        else:
            path = Path(source)
            try:
                data, where = path.read_bytes(), str(path)
            except FileNotFoundError:
                raise SourceNotFoundError(f"OBJ file {path} does not exist") from None
            except IsADirectoryError:
                raise InvalidGeometryError(f"{path} is a folder, not an OBJ file") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidGeometryError(f"{where} is not a text OBJ file") from None
        vertices, faces = _parse_obj(text, where, merge_objects)
        return cls(vertices, faces)

    # ---- precomputed volumes -----------------------------------------------------------

    @classmethod
    def from_precomputed(cls, url: str | os.PathLike[str], segment_id: int = 1) -> Mesh:
        """Read one segment's mesh from a precomputed volume (legacy or multi-resolution).

        See [`tracertools.geometry.precomputed.read_mesh()`][tracertools.geometry.precomputed.read_mesh] for the URL forms understood.

        Args:
            url: the volume (or its mesh folder), e.g. ``gs://bucket/vol``,
                ``https://host/vol|neuroglancer-precomputed:``, ``file:///data/vol``.
            segment_id: the mesh's segment ID in that volume.

        Raises:
            ServiceError: the volume cannot be read, or holds no mesh for ``segment_id``.
        """
        from tracertools.geometry.precomputed import (
            read_mesh,  # lazy: keeps `import tracertools` light
        )

        return read_mesh(url, segment_id)

    def write_precomputed(
        self,
        url: str | os.PathLike[str],
        *,
        resolution: ArrayLike,
        volume_size: ArrayLike | None = None,
        segment_id: int = 1,
        chunk_size: ArrayLike = (512, 512, 16),
        overwrite: bool = False,
        windows_names: bool | None = None,
    ) -> str:
        """Write this mesh as a legacy single-resolution precomputed volume.

        See [`tracertools.geometry.precomputed.write_mesh()`][tracertools.geometry.precomputed.write_mesh] for the files written.

        Args:
            url: the volume to create (file://, gs://, s3://, mem://, an alias, or a local path).
            resolution: nm per voxel of the volume's image scale (e.g. ``config.resolution``).
            volume_size: extent in voxels at ``resolution`` from the origin; None derives a
                box around the mesh.
            segment_id: the ID the mesh is stored under.
            chunk_size: image chunk size in voxels.
            overwrite: replace an existing volume at ``url``.
            windows_names: name local files ``1___0`` instead of ``1:0``; None does so only
                on Windows.

        Returns:
            The volume's URL, ready for [`from_precomputed()`][tracertools.geometry.mesh.Mesh.from_precomputed] or ``precomputed://`` + URL.
        """
        from tracertools.geometry.precomputed import (
            write_mesh,  # lazy: keeps `import tracertools` light
        )

        return write_mesh(
            self,
            url,
            resolution=resolution,
            volume_size=volume_size,
            segment_id=segment_id,
            chunk_size=chunk_size,
            overwrite=overwrite,
            windows_names=windows_names,
        )

    # ---- construction from points and meshes -------------------------------------------

    @classmethod
    def from_points(
        cls, points_nm: ArrayLike, *, alpha: float | None = None, auto_grow: bool = True
    ) -> Mesh:
        """The alpha shape of points in nm (see [`tracertools.geometry.alpha_shape.alpha_shape()`][tracertools.geometry.alpha_shape.alpha_shape]).

        Args:
            points_nm: ``(N, 3)`` points in nm, N ≥ 4, not coplanar.
            alpha: circumradius threshold in nm; None uses 1.5 × the median nearest-neighbour
                distance.
            auto_grow: grow alpha by 1.5× until the shape is one watertight body.

        Raises:
            InvalidGeometryError: degenerate points, or no acceptable shape was found.
        """
        from tracertools.geometry.alpha_shape import (
            alpha_shape,  # lazy: keeps `import tracertools` light
        )

        result = alpha_shape(points_nm, alpha=alpha, auto_grow=auto_grow)
        logger.info("alpha shape of %d points used alpha=%g nm", len(result.mesh.vertices),
                    result.alpha)
        return result.mesh

    @classmethod
    def convex_hull(cls, points_nm: ArrayLike) -> Mesh:
        """The convex hull of points in nm, with outward-facing triangles.

        Raises:
            InvalidGeometryError: fewer than 4 points, or points that are coplanar.
        """
        from scipy.spatial import ConvexHull

        points = _as_points(points_nm)
        _require_solid_cloud(points, "a convex hull")
        hull = ConvexHull(points)
        faces = np.asarray(hull.simplices, dtype=np.int64)
        tri = points[faces]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        inward = np.einsum("ij,ij->i", normals, hull.equations[:, :3]) < 0
        faces[inward] = faces[inward][:, [0, 2, 1]]
        used, compact = np.unique(faces, return_inverse=True)
        return cls(points[used], compact.reshape(-1, 3))

    @classmethod
    def union(cls, meshes: Iterable[Mesh]) -> Mesh:
        """Boolean union of closed meshes (manifold3d through trimesh).

        Raises:
            InvalidGeometryError: no meshes, or one that is not a closed, consistently
                oriented volume (named by its position).
        """
        import trimesh

        items: Sequence[Mesh] = list(meshes)
        if not items:
            raise InvalidGeometryError("union needs at least one mesh; got none")
        for i, mesh in enumerate(items):
            if not isinstance(mesh, Mesh):
                raise InvalidInputError(f"union takes Mesh objects; item {i} is {type(mesh)}")
        if len(items) == 1:
            return items[0]
        # Work near the origin: manifold3d computes in float32.
        centre = np.concatenate([m.bounds for m in items]).mean(axis=0)
        shifted = []
        for i, mesh in enumerate(items):
            tm = trimesh.Trimesh(mesh.vertices - centre, np.array(mesh.faces), process=False)
            if not tm.is_volume:
                raise InvalidGeometryError(
                    f"mesh {i} of the union is not a closed, consistently oriented volume "
                    f"(watertight: {mesh.is_watertight})"
                )
            shifted.append(tm)
        result = trimesh.boolean.union(shifted, engine="manifold", check_volume=False)
        if len(result.faces) == 0:
            raise InvalidGeometryError("the union of these meshes is empty")
        return cls(np.asarray(result.vertices, dtype=np.float64) + centre, result.faces)


# --------------------------------------------------------------------------------------------
# OBJ text
# --------------------------------------------------------------------------------------------


@overload
def point_cloud_obj(points_nm: ArrayLike, path: None = None) -> str: ...


@overload
def point_cloud_obj(points_nm: ArrayLike, path: str | os.PathLike[str]) -> Path: ...


def point_cloud_obj(
    points_nm: ArrayLike, path: str | os.PathLike[str] | None = None
) -> str | Path:
    """A point-cloud OBJ (``v`` lines only) of points in nm.

    Args:
        points_nm: ``(N, 3)`` points in nm.
        path: where to write the file; None returns the text instead.

    Returns:
        The OBJ text, or the ``Path`` written (parent folders are created).

    Raises:
        InvalidGeometryError: the points are not finite ``(N, 3)`` coordinates.
    """
    points = _as_points(points_nm)
    lines = [f"# tracertools point cloud: {len(points)} points; units nm"]
    lines += [f"v {x!r} {y!r} {z!r}" for x, y, z in points.tolist()]
    return _emit("\n".join(lines) + "\n", path)


def _emit(text: str, path: str | os.PathLike[str] | None) -> str | Path:
    if path is None:
        return text
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def _parse_obj(text: str, where: str, merge_objects: bool) -> tuple[FloatArray, IntArray]:
    """Vertices and triangles of OBJ text; raise InvalidGeometryError naming the bad line."""
    vertices: list[list[float]] = []
    faces: list[tuple[int, int, int]] = []
    face_lines: list[int] = []
    objects: dict[str, int] = {}  # object name -> faces it holds
    current = "(unnamed)"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        keyword, _, rest = line.partition(" ")
        fields = rest.split()
        if keyword == "v":
            if len(fields) not in (3, 4, 6, 7):
                raise InvalidGeometryError(
                    f"{where} line {number}: a vertex needs 3 coordinates, got {raw.strip()!r}"
                )
            try:
                vertices.append([float(x) for x in fields[:3]])
            except ValueError:
                raise InvalidGeometryError(
                    f"{where} line {number}: non-numeric vertex {raw.strip()!r}"
                ) from None
        elif keyword == "f":
            if len(fields) < 3:
                raise InvalidGeometryError(
                    f"{where} line {number}: a face needs at least 3 corners, got {raw.strip()!r}"
                )
            corners = [_obj_index(f, len(vertices), where, number) for f in fields]
            faces += [(corners[0], corners[i], corners[i + 1]) for i in range(1, len(corners) - 1)]
            face_lines += [number] * (len(corners) - 2)
            objects[current] = objects.get(current, 0) + len(corners) - 2
        elif keyword == "o":
            current = rest.strip() or "(unnamed)"
        elif keyword not in _OBJ_IGNORED:
            raise InvalidGeometryError(
                f"{where} line {number}: unknown OBJ statement {keyword!r}"
            )
    if not faces:
        what = f"{len(vertices)} vertices and no faces (a point cloud?)" if vertices else "nothing"
        raise InvalidGeometryError(f"{where} holds {what}; a mesh needs faces")
    if len(objects) > 1 and not merge_objects:
        names = ", ".join(repr(n) for n in objects)
        raise InvalidGeometryError(
            f"{where} holds {len(objects)} objects with faces ({names}); pass "
            "merge_objects=True to read them as one mesh"
        )
    tris = np.array(faces, dtype=np.int64)
    bad = np.flatnonzero((tris >= len(vertices)).any(axis=1))
    if bad.size:
        raise InvalidGeometryError(
            f"{where} line {face_lines[bad[0]]}: a face refers to vertex "
            f"{int(tris[bad[0]].max()) + 1}, but there are {len(vertices)} vertices"
        )
    return np.array(vertices, dtype=np.float64), tris


def _obj_index(token: str, seen: int, where: str, number: int) -> int:
    """0-based vertex index of a face corner token such as ``7``, ``7/1/2`` or ``-1``."""
    try:
        index = int(token.split("/", 1)[0])
    except ValueError:
        raise InvalidGeometryError(
            f"{where} line {number}: face corner {token!r} is not a vertex index"
        ) from None
    if index > 0:
        return index - 1
    if index < 0 and seen + index >= 0:
        return seen + index
    raise InvalidGeometryError(
        f"{where} line {number}: face corner {token!r} does not name a vertex "
        f"({seen} vertices defined so far)"
    )
