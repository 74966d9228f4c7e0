"""Meshes from the point annotations of neuroglancer states.

Proofreaders outline a region (a neuropil, a "swamp" of bad segmentation) by dropping point
annotations on its surface, one annotation layer per part. From such a state this module makes:

* an alpha shape per point layer, their boolean union, a precomputed mesh volume on any
  bucket, and a link showing it ([`mesh_from_points()`][tracertools.ngl.state_meshes.mesh_from_points], also ``ds.mesh_from_points``);
* a convex hull per point layer ([`convex_hulls()`][tracertools.ngl.state_meshes.convex_hulls]), for the state-file tools.

A *point layer* is a non-empty, non-archived annotation layer whose annotations are all points
(chosen by the annotations' types, not by the layer's ``tool`` key, which is often missing).
Points are read in viewer voxels and converted to nm with the resolution the state records for
the layer (falling back to the datastack's ``config.resolution``).
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.batch import check_executor, run_per_item
from tracertools.config import user_aliases
from tracertools.errors import (
    BatchError,
    DestinationExistsError,
    InvalidGeometryError,
    InvalidInputError,
    InvalidStateError,
)
from tracertools.geometry.mesh import Mesh
from tracertools.ngl.colors import color_list

if TYPE_CHECKING:
    from tracertools.geometry.alpha_shape import AlphaShape
    from tracertools.geometry.mesh import Mesh
    from tracertools.ngl import State
    from tracertools.ngl.session import MeshSession

__all__ = [
    "PointsMesh",
    "convex_hulls",
    "layer_points_nm",
    "mesh_from_points",
    "neuroglancer_source",
    "safe_file_name",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True, eq=False)
class PointsMesh:
    """What [`mesh_from_points()`][tracertools.ngl.state_meshes.mesh_from_points] made.

    Attributes:
        link: the neuroglancer link showing the point layers and the mesh.
        mesh: the union of the layers' alpha shapes, in nm.
        layers: the point layers used, in state order.
        alphas: the alpha (nm) each layer's shape was made with.
        volume_url: the precomputed volume written.
        mesh_source: the layer source the link uses for the mesh.
        obj_paths: OBJ files written (``submesh_<i>.obj`` per layer, then
            ``final_mesh.obj``), if asked.
    """
    link: str
    mesh: Mesh
    layers: tuple[str, ...]
    alphas: tuple[float, ...]
    volume_url: str
    mesh_source: str
    obj_paths: tuple[Path, ...] = ()


def safe_file_name(name: str) -> str:
    """``name`` usable as a file name on every OS (``/``, ``\\``, ``:`` and the like become
    ``_``; empty or dot-only names become ``_``)."""
    cleaned = _UNSAFE.sub("_", name).strip()
    return cleaned if cleaned.strip(".") else "_"


def layer_points_nm(
    state: State,
    *,
    visible_only: bool = False,
    default_resolution: Sequence[float] | None = None,
) -> dict[str, FloatArray]:
    """``{layer name: (n, 3) points in nm}`` for every point layer, in state order.

    Args:
        state: the state.
        visible_only: skip layers hidden in the viewer.
        default_resolution: nm per voxel when the state records no resolution.
    """
    return {
        layer.name: state.annotations(
            layer.name, units="nm", default_resolution=default_resolution
        ).points
        for layer in state.point_layers(visible_only=visible_only)
    }


def convex_hulls(
    state: State, *, default_resolution: Sequence[float] | None = None
) -> dict[str, Mesh]:
    """The convex hull (nm) of every point layer, by layer name.

    Raises:
        InvalidGeometryError: a layer with fewer than 4 points, or coplanar points (named).
    """
    out = {}
    for name, points in layer_points_nm(state, default_resolution=default_resolution).items():
        try:
            out[name] = Mesh.convex_hull(points)
        except InvalidGeometryError as exc:
            raise InvalidGeometryError(f"layer {name!r}: {exc}") from None
    return out


def _alias_host(scheme: str) -> str | None:
    from cloudfiles import paths

    known = {**getattr(paths, "OFFICIAL_ALIASES", {}), **user_aliases(),
             **getattr(paths, "ALIASES", {})}
    host = known.get(scheme)
    return host if isinstance(host, str) else None


def neuroglancer_source(url: str | os.PathLike[str]) -> str | None:
    """The ``precomputed://`` source neuroglancer reads a volume at ``url`` through, if any.

    ``gs://``, ``s3://`` and ``http(s)://`` volumes are read directly. A cloudfiles alias
    whose host is an HTTP(S) S3 endpoint (``nokura://b/p`` with host
    ``s3://https://host/``) maps to ``precomputed://https://host/b/p``. Local (``file://``)
    and in-memory volumes have no such source: None (serve them, e.g. with
    `tracertools.geometry.viewer.serve_precomputed()`, and pass that server's URL).
    """
    from tracertools.geometry.precomputed import (
        volume_url,  # lazy: keeps `import tracertools` light
    )

    target = volume_url(url)
    scheme, _, rest = target.partition("://")
    scheme = scheme.lower()
    if scheme in ("gs", "s3", "http", "https"):
        return "precomputed://" + target
    if scheme in ("file", "mem"):
        return None
    host = _alias_host(scheme)
    if host is None:
        return None
    inner = host[len("s3://"):] if host.startswith("s3://") else host
    if not inner.startswith(("http://", "https://")):
        return None
    return "precomputed://" + inner.rstrip("/") + "/" + rest.lstrip("/")


def _alphas(alphas: Sequence[float | None] | None, names: list[str]) -> list[float | None]:
    if alphas is None:
        return [None] * len(names)
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence):
        raise InvalidInputError(f"alphas must be a list (one per point layer), got {alphas!r}")
    if len(alphas) != len(names):
        raise InvalidInputError(
            f"{len(alphas)} alphas for {len(names)} point layers {names}; give one per layer "
            f"(None for automatic)"
        )
    out: list[float | None] = []
    for name, alpha in zip(names, alphas, strict=True):
        if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float))
                                  or not np.isfinite(alpha) or alpha <= 0):
            raise InvalidInputError(
                f"alpha for layer {name!r} must be a positive number of nm or None, "
                f"got {alpha!r}"
            )
        out.append(None if alpha is None else float(alpha))
    return out


def _layer_shape(item: tuple[str, FloatArray, float | None], auto_grow: bool) -> AlphaShape:
    """The alpha shape of one point layer ``(name, points in nm, alpha)``."""
    from tracertools.geometry.alpha_shape import (
        alpha_shape,  # lazy: keeps `import tracertools` light
    )

    name, pts, alpha = item
    try:
        return alpha_shape(pts, alpha=alpha, auto_grow=auto_grow)
    except InvalidGeometryError as exc:
        raise InvalidGeometryError(f"layer {name!r}: {exc}") from None


def _shapes(
    points: dict[str, FloatArray], alphas: list[float | None], auto_grow: bool,
    executor: Any = None,
) -> list[AlphaShape]:
    items = [(name, pts, alpha) for (name, pts), alpha in zip(points.items(), alphas, strict=True)]
    if executor is None:
        shapes = [_layer_shape(item, auto_grow) for item in items]
    else:  # one task per layer; the first failing layer's own error, as serially
        try:
            found = run_per_item(functools.partial(_layer_shape, auto_grow=auto_grow), items,
                                 executor=executor, chunk_size=1, progress=False,
                                 labels=list(points), what="point layer")
        except BatchError as exc:
            raise next(iter(exc.failures.values())) from None
        shapes = [s for s in found if s is not None]
    for (name, pts, _), shape in zip(items, shapes, strict=True):
        logger.info("layer %r: %d points, alpha %.6g nm (%d attempt(s))", name, len(pts),
                    shape.alpha, shape.attempts)
    return shapes


def _obj_targets(obj_dir: str | os.PathLike[str], n: int) -> list[Path]:
    folder = Path(obj_dir).expanduser()
    targets = [folder / f"submesh_{i}.obj" for i in range(1, n + 1)] + [folder / "final_mesh.obj"]
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise DestinationExistsError(
            f"OBJ files already exist: {existing}; choose another obj_dir or remove them"
        )
    return targets


def mesh_from_points(
    ds: MeshSession,
    source: Any,
    bucket_url: str | os.PathLike[str],
    *,
    alphas: Sequence[float | None] | None = None,
    auto_grow: bool = True,
    save_objs: bool = False,
    obj_dir: str | os.PathLike[str] | None = None,
    mesh_source_url: str | None = None,
    overwrite: bool = False,
    short: bool = True,
    executor: Any = None,
) -> PointsMesh:
    """Mesh each point layer of a state, union them, write the volume, and link it.

    Steps: read the state (``ds.state``: one request for a short link); take its visible point
    layers; make each layer's alpha shape in nm ([`tracertools.geometry.alpha_shape.alpha_shape()`][tracertools.geometry.alpha_shape.alpha_shape]:
    from 1.5 × the median nearest-neighbour distance, grown by 50 % until one watertight
    body, or the layer's alpha as given); union the shapes (manifold3d); optionally export
    OBJs; write the union as a legacy single-resolution precomputed volume
    (``config.resolution``; ``config.volume_size`` or a box around the mesh); return a link
    with the point layers (coloured with [`tracertools.color_list()`][tracertools.ngl.colors.color_list]) and the mesh, centred
    on it.

    Args:
        ds: the datastack (resolution, viewer, state service).
        source: a share URL, state ID, [`State`][tracertools.ngl.state.State], dict or JSON file.
        bucket_url: where the volume goes: ``gs://``, ``s3://``, an alias such as
            ``nokura://``, ``file://`` or a local path.
        alphas: one alpha in nm per point layer (None: automatic); None for all automatic.
        auto_grow: grow each alpha until the shape is watertight; False uses it as given.
        save_objs: also write ``submesh_<i>.obj`` and ``final_mesh.obj`` (nm) to ``obj_dir``.
        obj_dir: the folder for the OBJs (needed with ``save_objs``); existing files are
            never replaced.
        mesh_source_url: the source neuroglancer should read the volume from. Needed for
            volumes neuroglancer cannot reach (``file://``: serve the folder with
            `tracertools.geometry.viewer.serve_precomputed()` and pass its
            ``neuroglancer_source``); otherwise derived from ``bucket_url``.
        overwrite: replace an existing volume at ``bucket_url``.
        short: return a short link (one state upload) rather than a long one.
        executor: make the layers' alpha shapes on this executor (a
            ``concurrent.futures.Executor`` or a dask ``distributed.Client``), one task per
            layer; the union, the volume and the link are made here.

    Raises:
        InvalidInputError: a local volume without ``mesh_source_url``; ``save_objs`` without
            ``obj_dir``; alphas not one per point layer, or not positive.
        InvalidStateError: the state has no visible point layers.
        InvalidGeometryError: a layer whose points cannot be meshed (named).
        DestinationExistsError: an OBJ file already exists.
        ConfirmationRequiredError: a volume already exists and ``overwrite`` is False.
    """
    from tracertools.geometry.precomputed import (
        volume_url,  # lazy: keeps `import tracertools` light
    )

    check_executor(executor)
    cfg = ds.config
    target = volume_url(bucket_url)
    mesh_source = mesh_source_url or neuroglancer_source(target)
    if mesh_source is None:
        raise InvalidInputError(
            f"neuroglancer cannot read a volume at {target.split('://')[0]}://; serve it "
            f"(tracertools.geometry.viewer.serve_precomputed) and pass mesh_source_url="
        )
    if save_objs and obj_dir is None:
        raise InvalidInputError("save_objs=True needs obj_dir= (the folder for the OBJ files)")
    state = ds.state(source)
    points = layer_points_nm(state, visible_only=True, default_resolution=cfg.resolution)
    if not points:
        raise InvalidStateError(
            f"the state has no visible point annotation layers; its layers are "
            f"{state.layer_names}"
        )
    names = list(points)
    shapes = _shapes(points, _alphas(alphas, names), auto_grow, executor)
    mesh = Mesh.union([s.mesh for s in shapes])
    if not mesh.is_watertight:
        logger.warning("the union of the point meshes is not watertight")
    obj_paths: list[Path] = []
    if save_objs:
        assert obj_dir is not None  # checked before any work
        obj_paths = _obj_targets(obj_dir, len(shapes))
        for shape, path in zip([*[s.mesh for s in shapes], mesh], obj_paths, strict=True):
            shape.to_obj(path)
    written = mesh.write_precomputed(target, resolution=cfg.resolution,
                                     volume_size=cfg.volume_size, overwrite=overwrite)
    res = np.asarray(cfg.resolution, dtype=np.float64)
    mesh_name = "Mesh: " + ", ".join(f"{n} (alpha {s.alpha:.0f} nm)"
                                     for n, s in zip(names, shapes, strict=True))
    taken = {"EM", "Segmentation", mesh_name}
    layers = [
        ds.annotation_layer(name if name not in taken else f"{name} (points)", pts / res,
                            "point", color=color)
        for (name, pts), color in zip(points.items(), color_list(len(points)), strict=True)
    ]
    centre = np.rint(mesh.bounds.mean(axis=0) / res)
    link = ds.link(annotation_layers=layers, mesh_source=mesh_source, mesh_name=mesh_name,
                   position=centre.tolist(), short=short)
    return PointsMesh(link, mesh, tuple(names), tuple(s.alpha for s in shapes), written,
                      mesh_source, tuple(obj_paths))

