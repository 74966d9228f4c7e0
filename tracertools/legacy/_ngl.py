"""Legacy shims: neuroglancer states, links and meshes from state files (new home:
`tracertools.ngl`, the Datastack link methods and [`tracertools.ngl.state_meshes`][tracertools.ngl.state_meshes]).

Each keeps the original name, arguments, defaults and return shape, and works through the
shared legacy session of the datastack. ``make_anno_layer`` and ``make_ng_link`` build the
original's JSON (see `tracertools.legacy._ngl_state`). Fixed on the way: unique annotation
IDs across layers, validated IDs, colours and coordinates, FlyWire links that no longer crash
without a custom mesh (and honour ``view_coords``, with ``voxelCoordinates`` spelled right),
legacy annotation layers for Seung-lab viewers, no viewer probe for short links, resolutions
from the state and the datastack instead of hard-coded values, clear errors instead of
NameError/KeyError, and safe output file names.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tracertools.errors import InvalidInputError, InvalidStateError
from tracertools.legacy._ngl_state import link_state
from tracertools.legacy._session import session
from tracertools.legacy._shown import shown

# Keep sorted; tracertools.legacy re-exports these names.
__all__ = [
    "get_anno_array_from_json_state_file",
    "get_anno_array_from_state_file",
    "get_json_state_from_url",
    "make_anno_layer",
    "make_edits_link",
    "make_mesh_from_points",
    "make_ng_link",
    "make_objs_from_state_file",
    "make_point_cloud_from_state_file",
    "make_volume_mesh_from_state_file",
]

logger = logging.getLogger(__name__)

#: The original's layer_type names and the kinds tracertools.ngl.annotation_layer takes.
_LAYER_TYPES = ("point", "line", "bbox", "sphere", "ellipsoid", "polyline", "mixed")


def get_json_state_from_url(datastack: str, share_url: str) -> dict[str, Any]:
    """Legacy shim for ``ds.state(share_url).to_dict()``."""
    return session(datastack).state(share_url).to_dict()


def get_anno_array_from_state_file(layer_name: str, json_path: str) -> NDArray[Any]:
    """Legacy shim for ``State.from_file(path).annotations(layer).points`` (JSON numbers kept).

    The ``point`` of every annotation of the last layer named ``layer_name``, as the original
    gave them: an ``(n, k)`` array of the JSON numbers (ints stay ints; 4-D points keep their
    fourth coordinate), shape ``(0,)`` for a layer without annotations.

    Raises:
        InvalidStateError: no such layer, not an annotation layer, or an annotation that is not
            a point (the original failed with NameError or KeyError).
    """
    from tracertools.ngl import State

    return _raw_points(State.from_file(json_path), layer_name)


def get_anno_array_from_json_state_file(layer_name: str, json_path: str) -> NDArray[Any]:
    """Legacy shim for ``State.from_file(path).annotations(layer).points`` (original name)."""
    return get_anno_array_from_state_file(layer_name, json_path)


def _raw_points(state: Any, layer_name: str) -> NDArray[Any]:
    layer = state.layer_json(layer_name)  # the last layer of that name, as the original
    if layer.get("type") != "annotation":
        raise InvalidStateError(f"layer {layer_name!r} is not an annotation layer")
    items = layer.get("annotations") or []
    bad = [a.get("type") if isinstance(a, dict) else type(a).__name__ for a in items
           if not isinstance(a, dict) or "point" not in a or a.get("type", "point") != "point"]
    if bad:
        raise InvalidStateError(
            f"layer {layer_name!r} is not a point layer: it holds {sorted(set(map(str, bad)))} "
            f"annotations"
        )
    try:
        return np.array([a["point"] for a in items])
    except ValueError as exc:  # points of different lengths
        raise InvalidStateError(f"layer {layer_name!r}: points of mixed lengths ({exc})") from None


def make_anno_layer(
    datastack: str,
    annotations: Sequence[Any],
    layer_type: str,
    layer_name: str,
    descriptions: Sequence[str] | None = None,
    linked_segs: Sequence[Any] | None = None,
    linked_seg_layer_name: str | None = None,
) -> dict[str, Any]:
    """Legacy shim for ``ds.annotation_layer(name, annotations, kind, ...)``.

    The original's layer dict, key for key: ``annotations``, ``name``, a ``local://annotations``
    source at the datastack's resolution, ``tab``, ``type`` and, when linked,
    ``linkedSegmentationLayer`` / ``filterBySegmentation``. A linked segment given as one ID
    becomes ``["id"]``, a list of IDs ``[["id", ...]]``. Extra descriptions or linked segments
    beyond the annotations are ignored (with a warning), as the original ignored them.

    Raises:
        InvalidInputError: an unknown ``layer_type``, linked segments without
            ``linked_seg_layer_name``, fewer descriptions or linked segments than annotations,
            coordinates that are not 3 finite numbers, or a linked ID that is not an unsigned
            64-bit integer.
    """
    from tracertools.config import load_config
    from tracertools.legacy._ngl_state import annotation_layer

    linked = list(linked_segs) if linked_segs is not None else []
    if linked and linked_seg_layer_name is None:
        raise InvalidInputError("linked_segs needs linked_seg_layer_name (the segmentation layer)")
    if layer_type not in _LAYER_TYPES:
        raise InvalidInputError(
            f"layer_type must be one of {list(_LAYER_TYPES)}, got {layer_type!r}"
        )
    return annotation_layer(
        load_config(datastack).to_legacy_dict()["resolution"], list(annotations), layer_type,
        layer_name, list(descriptions) if descriptions is not None else [], linked,
        linked_seg_layer_name,
    )


def make_ng_link(
    datastack: str,
    seg_ids: Sequence[Any] | None = None,
    anno_layers: Sequence[dict[str, Any]] | None = None,
    region_meshes: bool = False,
    seg_colors: Sequence[str] | None = None,
    viewer_site: str = "default",
    custom_mesh_source: str | None = None,
    custom_mesh_name: str | None = None,
    custom_mesh_color: str | None = None,
    view_coords: Sequence[float] | None = None,
    long_url: bool = False,
    translucent_seg: bool = False,
) -> str:
    """Legacy shim for ``ds.link(...)`` (``short=not long_url``).

    The state is the original's, layer for layer (see ``docs/migration.md`` for the fixes
    kept). Its format follows the viewer: the Seung-lab format (``navigation``,
    ``segmentation_with_graph`` layers, legacy annotation layers) when the datastack's own
    viewer is a Seung-lab one, as FlyWire's ``ngl.flywire.ai`` is, or when ``viewer_site``
    is; the modern format otherwise.

    Returns:
        A long ``<viewer>/#!<state>`` URL with ``long_url``, else a short link from one upload
        to the datastack's state service (the viewer is never probed).
    """
    from tracertools.ngl.build import viewer_style
    from tracertools.ngl.urls import long_url as make_long_url

    ds = session(datastack)
    config = ds.config.to_legacy_dict()
    own_site = config.get("viewer_site_url")
    site = own_site if viewer_site == "default" else viewer_site
    if not site:
        site = str(ds.config.require("viewer.site_url", "links"))
    if seg_ids is not None and len(seg_ids):
        ds.config.require("sources.segmentation", "links with segments")
    legacy = "legacy" in (viewer_style(own_site), viewer_style(site))
    state = link_state(
        config, legacy=legacy, seg_ids=list(seg_ids) if seg_ids is not None else [],
        anno_layers=list(anno_layers) if anno_layers is not None else [],
        region_meshes=bool(region_meshes), seg_colors=list(seg_colors) if seg_colors is not None else [],
        custom_mesh_source=custom_mesh_source, custom_mesh_name=custom_mesh_name,
        custom_mesh_color=custom_mesh_color, view_coords=view_coords,
        translucent_seg=bool(translucent_seg),
    )
    if long_url:
        return make_long_url(state, site)
    return ds.shorten(state, viewer_site=site, target_site="seunglab" if legacy else "spelunker")


def make_edits_link(datastack: str, seg_id: Any, separate_layers: bool = False) -> str:
    """Legacy shim for ``ds.segment(seg_id).edits_link(separate_layers=...)``."""
    return session(datastack).segment(seg_id).edits_link(separate_layers=bool(separate_layers))


def make_mesh_from_points(
    datastack: str,
    share_url: str,
    bucket_path: str,
    alphas: Sequence[float | None] | None = None,
    auto_grow: bool = True,
    save_objs: bool = False,
    obj_path: str | None = None,
    print_alphas: bool = False,
) -> str:
    """Legacy shim for ``ds.mesh_from_points(share_url, bucket_path, ...).link``.

    With ``print_alphas=True`` each layer's alphas appear on standard output, where a notebook
    shows them, as the original printed them: ``Submesh 1 alpha value None to 12974.6`` (the
    alpha given, or None, then the alpha used, in nm). They go through the logger
    ``tracertools.legacy.shown``, which writes to standard output and can be reconfigured like
    any logger.
    """
    obj_dir = obj_path if obj_path is not None else os.path.join(Path.home(), "Downloads")
    result = session(datastack).mesh_from_points(
        share_url, str(bucket_path).rstrip("/"), alphas=alphas, auto_grow=auto_grow,
        save_objs=bool(save_objs), obj_dir=obj_dir if save_objs else None, overwrite=True,
    )
    level = logging.INFO if print_alphas else logging.DEBUG
    given = list(alphas) if alphas is not None else [None] * len(result.alphas)
    for i, (layer, alpha) in enumerate(zip(result.layers, result.alphas, strict=True), 1):
        logger.log(level, "Submesh %d (layer %r) alpha value %.6g nm", i, layer, alpha)
        if print_alphas:
            shown().info("Submesh %d alpha value %s to %s", i, given[i - 1], alpha)
    return result.link


def _points_nm(state: Any, layer_name: str, default_resolution: Sequence[float]) -> NDArray[Any]:
    """A point layer's points in nm, truncated to whole nm as the original's ``convert_coord_res``.

    The layer's own resolution (its source transform, ``voxelSize`` or the state's dimensions)
    converts them; the datastack's resolution only when the state records none.
    """
    raw = _raw_points(state, layer_name)
    res = state.layer_resolution(layer_name) or tuple(default_resolution)
    if raw.size == 0:
        return np.empty((0, 3), dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] < 3:
        raise InvalidStateError(f"layer {layer_name!r}: points need 3 coordinates")
    # int(coord / (1 / res)) per coordinate, as the original (a 4th coordinate is dropped)
    return np.trunc(raw[:, :3].astype(np.float64) / (1.0 / np.asarray(res, dtype=np.float64)))


def _replacing(path: Path) -> Path:
    if path.exists():
        logger.warning("replacing %s", path)
    return path


def make_objs_from_state_file(datastack: str, json_path: str, output_path: str) -> None:
    """Legacy shim for ``state_meshes.convex_hulls(State.from_file(path))`` + ``Mesh.to_obj``."""
    from tracertools.geometry.mesh import Mesh
    from tracertools.ngl import State
    from tracertools.ngl.state_meshes import safe_file_name

    config = session(datastack).config
    state = State.from_file(json_path)
    folder = Path(output_path).expanduser()
    used: set[str] = set()
    for layer in state.point_layers():
        stem = safe_file_name(layer.name)
        candidate, n = stem, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}_{n}"
        used.add(candidate)
        points = _points_nm(state, layer.name, config.resolution)
        Mesh.convex_hull(points).to_obj(_replacing(folder / f"{candidate}.obj"))


def make_point_cloud_from_state_file(
    datastack: str, json_path: str, layer_name: str, output_path: str
) -> None:
    """Legacy shim for ``tracertools.geometry.mesh.point_cloud_obj(points_nm, path)``."""
    from tracertools.geometry.mesh import point_cloud_obj
    from tracertools.ngl import State
    from tracertools.ngl.state_meshes import safe_file_name

    config = session(datastack).config
    points = _points_nm(State.from_file(json_path), layer_name, config.resolution)
    target = Path(output_path).expanduser()
    if target.is_dir():  # what the original's docstring promised: <folder>/<layer>.obj
        target = target / f"{safe_file_name(layer_name)}.obj"
    point_cloud_obj(points, _replacing(target))


def make_volume_mesh_from_state_file(
    datastack: str,
    json_path: str,
    layer_name: str,
    output_filepath: str,
    export_obj: bool = False,
) -> None:
    """Legacy shim for ``Mesh.convex_hull(points).write_precomputed(<out>/image, ...)``.

    The volume is written as ``make_local_volume_from_obj`` writes it (gzip fragment
    ``1:0:1.gz``, the datastack's resolution and volume size).
    """
    from tracertools.geometry.mesh import Mesh
    from tracertools.geometry.precomputed import volume_url
    from tracertools.legacy._mesh import write_legacy_volume
    from tracertools.ngl import State

    config = session(datastack).config
    hull = Mesh.convex_hull(_points_nm(State.from_file(json_path), layer_name, config.resolution))
    out = str(output_filepath).rstrip("/")
    if export_obj:
        hull.to_obj(_replacing(Path(out).expanduser() / "hull.obj"))
    legacy = config.to_legacy_dict()
    write_legacy_volume(volume_url(out + "/image"), legacy["resolution"], legacy["volume_size"],
                        hull)
