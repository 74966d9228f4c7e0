"""Geometry and viewing methods of Segment and SegmentList: mesh crossings, triage, display.

Every method here starts from the segments' skeletons, fetched in one batch
(`skeletons()`: 500 roots per skeleton-service request,
cached per root), then works offline:

* `ViewsListMixin.intersections()` / `ViewsListMixin.crosses()` test each skeleton's
  bones against a mesh (a [`Mesh`][tracertools.geometry.mesh.Mesh], an ``(F, 3, 3)`` triangle array in
  nm, or a precomputed volume URL and mesh ID(s));
* `ViewsListMixin.triage()` tests them against the datastack's swamp meshes (known rough
  regions of the segmentation), read once per datastack and cached;
* `ViewsListMixin.show()` / `ViewsListMixin.render()` draw them (microviewer window or
  an offscreen PNG, bones coloured by radius).

Intersections, crossings and triage take ``executor=`` (any ``concurrent.futures.Executor``, or a
dask ``distributed.Client``): the distinct segments go out in chunks, each task fetching its
skeletons and testing them on its worker (which reads the swamp meshes once per process), and
only the answers come back.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, check_error_policy, check_executor, run_per_item
from tracertools.errors import (
    InvalidGeometryError,
    InvalidInputError,
    MissingFeatureError,
    ServiceError,
)
from tracertools.geometry import segment_triangle_intersections
from tracertools.geometry.mesh import Mesh
from tracertools.segments.base import OneSegment
from tracertools.segments.skeletons import (
    DEFAULT_SKELETON_VERSION,
    per_distinct_root,
    skeletons_chunk,
)
from tracertools.storage.bucket import Bucket

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.geometry.mesh import Mesh
    from tracertools.geometry.skeleton import Skeleton
    from tracertools.segments.session import SegmentSession

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Units = Literal["nm", "voxels"]
#: What the mesh arguments accept: a Mesh, (F, 3, 3) triangles in nm (an array or nested
#: lists), or a precomputed volume URL (str or path).
MeshSource = (Mesh | npt.NDArray[np.floating[Any]] | Sequence[Sequence[Sequence[float]]] | str
              | os.PathLike[str])

#: The cache (``ds.cache(SWAMP_CACHE)``) holding each datastack's swamp meshes.
SWAMP_CACHE = "swamp_meshes"
#: Intersection points closer than this (nm) count once (as in Skeleton.intersections).
_MERGE_TOLERANCE_NM = 1e-6
#: Mesh files of one segment in a precomputed mesh folder: legacy manifests, multires indexes.
_MESH_FILE = re.compile(r"^(\d+)(?::0|___0|\.index)$")
_SWAMP_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# Meshes
# --------------------------------------------------------------------------------------------


def _mesh_ids(mesh_ids: int | Iterable[int]) -> list[int]:
    if isinstance(mesh_ids, (bool, np.bool_)):
        raise InvalidInputError(f"mesh_ids must be an int or a list of ints, got {mesh_ids!r}")
    if isinstance(mesh_ids, (int, np.integer)):
        return [int(mesh_ids)]
    ids = list(mesh_ids)
    if not ids or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                          for i in ids):
        raise InvalidInputError(f"mesh_ids must be an int or a list of ints, got {mesh_ids!r}")
    return [int(i) for i in ids]


def as_triangles(mesh: MeshSource, mesh_ids: int | Iterable[int] = 1) -> FloatArray:
    """``(F, 3, 3)`` triangles in nm from a Mesh, a triangle array, or a volume URL.

    A URL (``str`` or path) is read with [`Mesh.from_precomputed()`][tracertools.geometry.mesh.Mesh.from_precomputed] for each of ``mesh_ids``
    and the triangles concatenated.

    Raises:
        InvalidGeometryError: an array that is not finite ``(F, 3, 3)`` coordinates.
        ServiceError: the volume cannot be read or lacks one of the meshes.
    """
    if isinstance(mesh, (str, os.PathLike)):
        ids = _mesh_ids(mesh_ids)
        return np.concatenate([Mesh.from_precomputed(mesh, i).triangles for i in ids])
    triangles = getattr(mesh, "triangles", None)
    try:
        arr = np.asarray(mesh if triangles is None else triangles, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGeometryError(
            f"a mesh must be a Mesh, (F, 3, 3) triangles in nm, or a volume URL: {exc}"
        ) from exc
    if arr.ndim != 3 or arr.shape[1:] != (3, 3) or len(arr) == 0:
        raise InvalidGeometryError(f"triangles must have shape (F, 3, 3), F >= 1; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidGeometryError("triangles contain NaN or infinite values")
    return arr


@dataclass(frozen=True)
class SwampMeshes:
    """A datastack's swamp meshes, as loaded once and cached on the datastack.

    Attributes:
        url: the swamp volume's URL (``sources.swamp`` or ``sources.triage_mesh``).
        meshes: swamp mesh ID -> Mesh (nm), in ascending ID order.
        resolution: nm per voxel of the volume's first scale (None for a bare mesh folder).
    """
    url: str
    meshes: dict[int, Mesh]
    resolution: tuple[float, float, float] | None


def swamp_meshes(ds: SegmentSession) -> SwampMeshes:
    """The datastack's swamp meshes, read on first use and then cached on ``ds``.

    The volume is ``sources.swamp`` (or else ``sources.triage_mesh``); the mesh IDs are
    ``sources.swamp_ids``, or, when those are not configured, the meshes found by listing the
    volume's mesh folder. Requests: the volume's info, then each mesh (manifest and fragments),
    read concurrently.

    Raises:
        MissingFeatureError: no swamp volume is configured, or no IDs are configured and the
            volume cannot be listed (e.g. over http(s)://) or lists none.
        ServiceError: the volume or one of its meshes cannot be read.
    """
    from tracertools.geometry.precomputed import read_info  # lazy: keeps `import tracertools` light

    sources = ds.config.sources
    url = sources.swamp or sources.triage_mesh
    if url is None:
        raise MissingFeatureError(ds.name, "sources.swamp", "triage against swamp meshes")
    key = (url, sources.swamp_ids)
    cache = ds.cache(SWAMP_CACHE)
    with _SWAMP_LOCK:  # one load per datastack, even when two threads triage at once
        found = cache.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        info = read_info(url)
        ids = sorted({int(i) for i in sources.swamp_ids or _listed_mesh_ids(ds, url, info)})
        loaded = run_per_item(lambda i: Mesh.from_precomputed(url, i), ids, max_workers=4,
                              progress=False, what="swamp mesh")
        meshes = {i: m for i, m in zip(ids, loaded, strict=True) if m is not None}
        swamps = SwampMeshes(url, meshes, _first_resolution(info))
        cache[key] = swamps
        logger.info("datastack %r: loaded %d swamp mesh(es) from %s", ds.name, len(ids), url)
        return swamps


def _first_resolution(info: dict[str, Any]) -> tuple[float, float, float] | None:
    """nm per voxel of a volume info's first scale, or None (e.g. a bare mesh folder)."""
    scales = info.get("scales") or [{}]
    res = scales[0].get("resolution") if isinstance(scales[0], dict) else None
    if not isinstance(res, (list, tuple)) or len(res) != 3:
        return None
    x, y, z = (float(r) for r in res)
    return (x, y, z)


def _listed_mesh_ids(ds: SegmentSession, url: str, info: dict[str, Any]) -> list[int]:
    """Mesh IDs found by listing the volume's mesh folder, or MissingFeatureError."""
    from tracertools.geometry.precomputed import (
        volume_url,  # lazy: keeps `import tracertools` light
    )

    bare = info.get("@type") in ("neuroglancer_legacy_mesh", "neuroglancer_multilod_draco")
    folder = "" if bare else str(info.get("mesh") or "").strip("/")
    why = f"listing the swamp meshes: the volume at {volume_url(url)} cannot be listed"
    try:
        names = Bucket(volume_url(url)).list(folder, recursive=False)
    except (ServiceError, InvalidInputError) as exc:
        raise MissingFeatureError(ds.name, "sources.swamp_ids", why) from exc
    ids = [int(m.group(1)) for n in names if (m := _MESH_FILE.match(n.rsplit("/", 1)[-1]))]
    if not ids:
        raise MissingFeatureError(ds.name, "sources.swamp_ids",
                                  f"listing the swamp meshes: none found in {volume_url(url)}")
    return ids


def _merged(points: FloatArray, labels: npt.NDArray[np.int64]) -> tuple[FloatArray, Any]:
    """Points (and their labels) with coincident points of the same label reported once."""
    if len(points) < 2:
        return points, labels
    keys = np.column_stack([labels, np.round(points / _MERGE_TOLERANCE_NM)])
    _, first = np.unique(keys, axis=0, return_index=True)
    keep = np.sort(first)
    return points[keep], labels[keep]


def swamp_hits(skeleton: Skeleton, swamps: SwampMeshes) -> tuple[FloatArray, Any]:
    """Where a skeleton crosses the swamp meshes: ``(K, 3)`` points in nm and each one's swamp
    ID, ordered by bone (one vectorised test against all swamp triangles at once)."""

    ids = list(swamps.meshes)
    if not ids or skeleton.n_edges == 0:
        return np.empty((0, 3)), np.empty(0, dtype=np.int64)
    triangles = np.concatenate([swamps.meshes[i].triangles for i in ids])
    owner = np.repeat(np.asarray(ids, dtype=np.int64),
                      [len(swamps.meshes[i].faces) for i in ids])
    points, pairs = segment_triangle_intersections(skeleton.bones(), triangles, return_pairs=True)
    return _merged(points, owner[pairs[:, 1]])


TriageRow = tuple[bool, list[int], int]


def triage_row(skeleton: Skeleton, swamps: SwampMeshes) -> TriageRow:
    """``(crosses_swamp, sorted swamp IDs crossed, number of crossings)`` of one skeleton."""
    _, owners = swamp_hits(skeleton, swamps)
    return bool(len(owners)), sorted({int(o) for o in owners}), len(owners)


def triage_chunk(ds: SegmentSession, roots: Sequence[int]) -> list[TriageRow | BaseException]:
    """The triage row of each root, or the reason it failed (a task of ``executor=`` work)."""
    swamps = swamp_meshes(ds)
    return [sk if isinstance(sk, BaseException) else triage_row(sk, swamps)
            for sk in skeletons_chunk(ds, roots, version=DEFAULT_SKELETON_VERSION)]


def intersections_chunk(
    ds: SegmentSession, roots: Sequence[int], *, triangles: FloatArray, scale: FloatArray | None
) -> list[FloatArray | BaseException]:
    """Where each root's skeleton crosses ``triangles`` (nm, or voxels with ``scale``)."""
    out: list[FloatArray | BaseException] = []
    for sk in skeletons_chunk(ds, roots, version=DEFAULT_SKELETON_VERSION):
        if isinstance(sk, BaseException):
            out.append(sk)
            continue
        points = sk.intersections(triangles)
        out.append(points / scale if scale is not None else points)
    return out


# --------------------------------------------------------------------------------------------
# SegmentList
# --------------------------------------------------------------------------------------------


class ViewsListMixin:
    """Mesh-crossing, triage and display methods of [`SegmentList`][tracertools.segments.segment.SegmentList]."""
    __slots__ = ()
    _datastack: SegmentSession
    _ids: npt.NDArray[np.uint64]

    if TYPE_CHECKING:  # provided by SkeletonsListMixin

        def skeletons(
            self, *, errors: ErrorPolicy = "raise", progress: bool | None = None
        ) -> list[Skeleton | None]: ...

    def intersections(
        self,
        mesh: MeshSource,
        *,
        mesh_ids: int | Iterable[int] = 1,
        units: Units = "nm",
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
        executor: Any = None,
        chunk_size: int | None = None,
    ) -> list[FloatArray | None]:
        """Where each segment's skeleton crosses a mesh, in input order.

        Skeletons come from the skeleton service in one batch (500 roots per request, cached);
        the test is [`tracertools.geometry.skeleton.Skeleton.intersections()`][tracertools.geometry.skeleton.Skeleton.intersections] (bones against
        triangles, vectorised; coincident points reported once).

        Args:
            mesh: a [`Mesh`][tracertools.geometry.mesh.Mesh], an ``(F, 3, 3)`` triangle array in nm, or
                a precomputed volume URL (any form [`Mesh.from_precomputed()`][tracertools.geometry.mesh.Mesh.from_precomputed] reads, such as
                ``https://host/vol|neuroglancer-precomputed:``).
            mesh_ids: for a URL, the mesh ID(s) to read from the volume (default 1).
            units: ``"nm"``, or ``"voxels"`` at the datastack's viewer resolution
                (``config.resolution``).
            errors: failure policy; a failed segment's entry is None under "warn"/"ignore".
            progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
            executor: test on this executor (a ``concurrent.futures.Executor`` or a dask
                ``distributed.Client``), one task per chunk of distinct segments; the
                triangles travel with every task.
            chunk_size: segments per task with ``executor=`` (default: about four tasks per
                worker thread, a multiple of ten).

        Returns:
            One ``(K, 3)`` float64 array per segment (``K = 0`` when it does not cross),
            ordered along its bones.

        Raises:
            InvalidGeometryError: malformed triangles (before any request).
            InvalidInputError: an unknown ``units``.
        """
        if units not in ("nm", "voxels"):
            raise InvalidInputError(f"units must be 'nm' or 'voxels', got {units!r}")
        check_error_policy(errors)
        check_executor(executor)
        triangles = as_triangles(mesh, mesh_ids)
        scale = np.asarray(self._datastack.config.resolution, dtype=np.float64)
        if executor is not None:
            chunk = functools.partial(intersections_chunk, triangles=triangles,
                                      scale=scale if units == "voxels" else None)
            return per_distinct_root(self._datastack, chunk, [int(i) for i in self._ids],
                                     executor=executor, chunk_size=chunk_size, errors=errors,
                                     progress=progress, desc="intersections")
        out: list[FloatArray | None] = []
        for sk in self.skeletons(errors=errors, progress=progress):
            if sk is None:
                out.append(None)
                continue
            points = sk.intersections(triangles)
            out.append(points / scale if units == "voxels" else points)
        return out

    def crosses(
        self,
        mesh: MeshSource,
        *,
        mesh_ids: int | Iterable[int] = 1,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
        executor: Any = None,
        chunk_size: int | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Whether each segment's skeleton crosses a mesh, in input order.

        Same arguments and requests as `intersections()`. Under ``errors="warn"`` /
        ``"ignore"`` a failed segment is False (and named in the warning under "warn").
        """
        found = self.intersections(mesh, mesh_ids=mesh_ids, errors=errors, progress=progress,
                                   executor=executor, chunk_size=chunk_size)
        return np.asarray([p is not None and len(p) > 0 for p in found], dtype=bool)

    def swamp_crossings(
        self, *, errors: ErrorPolicy = "raise", progress: bool | None = None
    ) -> list[FloatArray | None]:
        """Where each segment's skeleton crosses the datastack's swamp meshes, in input order.

        The swamps and skeletons of `triage()`; each entry is a ``(K, 3)`` float64 array
        of crossing points in nm, ordered along the skeleton's bones (``K = 0``: no crossing),
        or None for a failed segment under ``errors="warn"``/``"ignore"``.

        Raises:
            MissingFeatureError: as `triage()`.
        """
        check_error_policy(errors)
        swamps = swamp_meshes(self._datastack)
        return [None if sk is None else swamp_hits(sk, swamps)[0]
                for sk in self.skeletons(errors=errors, progress=progress)]

    def triage(
        self,
        *,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
        executor: Any = None,
        chunk_size: int | None = None,
    ) -> pd.DataFrame:
        """Which of the datastack's swamp meshes each segment's skeleton crosses.

        Swamps are known rough regions of the segmentation, where merge errors gather. Their
        meshes come from the config (``sources.swamp``, else ``sources.triage_mesh``, with
        ``sources.swamp_ids``) and are read once per datastack (see `swamp_meshes()`);
        skeletons come in one batch from the skeleton service.

        Args:
            errors: failure policy; a failed segment's row is NA (``swamp_ids`` None) under
                "warn"/"ignore".
            progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
            executor: triage on this executor (a ``concurrent.futures.Executor`` or a dask
                ``distributed.Client``), one task per chunk of distinct segments: each
                worker reads the swamp meshes once, fetches its chunk's skeletons and sends
                back only the rows. The swamp meshes are also read here first, so a missing
                or unreadable swamp volume fails before any task.
            chunk_size: segments per task with ``executor=`` (default: about four tasks per
                worker thread, a multiple of ten).

        Returns:
            DataFrame indexed by the input IDs (``segment_id``, input order) with
            ``crosses_swamp`` (bool), ``swamp_ids`` (sorted list of the swamp mesh IDs
            crossed) and ``n_crossings`` (points where bones cross swamp surfaces). With
            failed rows the first and last columns use pandas' nullable ``boolean`` /
            ``Int64`` types.

        Raises:
            MissingFeatureError: the datastack has no swamp volume, or no ``swamp_ids`` and a
                volume that cannot be listed (raised before any skeleton is fetched).
        """
        import pandas as pd

        policy = check_error_policy(errors)
        check_executor(executor)
        swamps = swamp_meshes(self._datastack)
        rows: list[TriageRow | None]
        if executor is not None:
            rows = per_distinct_root(self._datastack, triage_chunk, [int(i) for i in self._ids],
                                     executor=executor, chunk_size=chunk_size, errors=policy,
                                     progress=progress, desc="triage")
        else:
            rows = [None if sk is None else triage_row(sk, swamps)
                    for sk in self.skeletons(errors=policy, progress=progress)]
        crosses: list[Any] = [pd.NA if r is None else r[0] for r in rows]
        ids: list[list[int] | None] = [None if r is None else r[1] for r in rows]
        counts: list[Any] = [pd.NA if r is None else r[2] for r in rows]
        failed = any(i is None for i in ids)
        return pd.DataFrame(
            {
                "crosses_swamp": pd.array(crosses, dtype="boolean") if failed
                else np.asarray(crosses, dtype=bool),
                "swamp_ids": ids,
                "n_crossings": pd.array(counts, dtype="Int64") if failed
                else np.asarray(counts, dtype=np.int64),
            },
            index=pd.Index(self._ids, name="segment_id"),
        )

    def show(self, *, errors: ErrorPolicy = "raise", **kwargs: Any) -> None:
        """Open a microviewer window with the segments' skeletons (bones coloured by radius).

        Blocks until the window is closed. Skeletons come in one batch from the skeleton
        service; under "warn"/"ignore" failed ones are left out.

        Args:
            errors: failure policy for fetching the skeletons.
            **kwargs: passed to [`tracertools.geometry.viewer.show()`][tracertools.geometry.viewer.show] (``meshes``, ``color_by``).

        Raises:
            RenderingUnavailableError: there is no display (use `render()`).
        """
        from tracertools.geometry.viewer import show  # lazy: keeps `import tracertools` light

        show([sk for sk in self.skeletons(errors=errors) if sk is not None], **kwargs)

    def render(
        self, path: str | os.PathLike[str], *, errors: ErrorPolicy = "raise", **kwargs: Any
    ) -> Path:
        """Draw the segments' skeletons offscreen to a PNG (bones coloured by radius in nm,
        with a colour bar).

        Args:
            path: the PNG to write.
            errors: failure policy for fetching the skeletons; failed ones are left out.
            **kwargs: passed to [`tracertools.geometry.viewer.render()`][tracertools.geometry.viewer.render] (``size``, ``colormap``,
                ``style``, ``meshes``, ...).

        Returns:
            The PNG's path.
        """
        from tracertools.geometry.viewer import render  # lazy: keeps `import tracertools` light

        return render([sk for sk in self.skeletons(errors=errors) if sk is not None], path,
                      **kwargs)


# --------------------------------------------------------------------------------------------
# Segment
# --------------------------------------------------------------------------------------------


class ViewsSegmentMixin(OneSegment):
    """Mesh-crossing, triage and display methods of [`Segment`][tracertools.segments.segment.Segment]."""
    __slots__ = ()
    _datastack: SegmentSession
    _id: int


    def intersections(
        self, mesh: MeshSource, *, mesh_ids: int | Iterable[int] = 1, units: Units = "nm"
    ) -> FloatArray:
        """``(K, 3)`` points where this segment's skeleton crosses a mesh (see
        `SegmentList.intersections()`)."""
        found = self.as_list().intersections(mesh, mesh_ids=mesh_ids, units=units,
                                             progress=False)[0]
        assert found is not None  # errors="raise" never leaves a gap
        return found

    def crosses(self, mesh: MeshSource, *, mesh_ids: int | Iterable[int] = 1) -> bool:
        """Whether this segment's skeleton crosses a mesh (see `SegmentList.crosses()`)."""
        return bool(self.as_list().crosses(mesh, mesh_ids=mesh_ids, progress=False)[0])

    def triage(self) -> dict[str, Any]:
        """This segment's row of `SegmentList.triage()` as a dict:
        ``crosses_swamp``, ``swamp_ids``, ``n_crossings``."""
        row = self.as_list().triage(progress=False).iloc[0]
        return {"crosses_swamp": bool(row["crosses_swamp"]), "swamp_ids": list(row["swamp_ids"]),
                "n_crossings": int(row["n_crossings"])}

    def show(self, **kwargs: Any) -> None:
        """Open a microviewer window with this segment's skeleton (see
        `SegmentList.show()`)."""
        self.as_list().show(**kwargs)

    def render(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Draw this segment's skeleton to a PNG (see `SegmentList.render()`)."""
        return self.as_list().render(path, **kwargs)
