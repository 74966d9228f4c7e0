"""Legacy shims: neuroglancer states, links and meshes from state files (new home:
:mod:`tracertools.ngl`, the Datastack link methods and :mod:`tracertools.ngl.state_meshes`).

Each keeps the original name, arguments, defaults and return shape, and delegates through the
shared legacy session of the datastack. Fixed on the way: unique annotation IDs across layers,
modern linked-segment lists, FlyWire links that no longer crash without a custom mesh (and honour
``view_coords``, with ``voxelCoordinates`` spelled right), no viewer probe for short links,
resolutions from the state and the datastack instead of hard-coded values, clear errors instead
of NameError/KeyError, and safe output file names.
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
    """Legacy shim for ``State.from_file(path).annotations(layer).points`` (JSON numbers kept)."""
    from tracertools.ngl import State

    state = State.from_file(json_path)
    layer = state.layer_json(layer_name)  # the last layer of that name, as the original
    if layer.get("type") != "annotation":
        raise InvalidStateError(f"layer {layer_name!r} is not an annotation layer")
    items = layer.get("annotations") or []
    bad = [a.get("type") for a in items if a.get("type") != "point" or "point" not in a]
    if bad:
        raise InvalidStateError(
            f"layer {layer_name!r} is not a point layer: it holds {sorted(set(map(str, bad)))} "
            f"annotations"
        )
    if not items:
        return np.empty((0, 3))
    return np.array([a["point"][:3] for a in items])


def get_anno_array_from_json_state_file(layer_name: str, json_path: str) -> NDArray[Any]:
    """Legacy shim for ``State.from_file(path).annotations(layer).points`` (original name)."""
    return get_anno_array_from_state_file(layer_name, json_path)


def make_anno_layer(
    datastack: str,
    annotations: Sequence[Any],
    layer_type: str,
    layer_name: str,
    descriptions: Sequence[str] | None = None,
    linked_segs: Sequence[Any] | None = None,
    linked_seg_layer_name: str | None = None,
) -> dict[str, Any]:
    """Legacy shim for ``ds.annotation_layer(name, annotations, kind, ...)``."""
    from tracertools.config import load_config
    from tracertools.ngl import annotation_layer

    linked = list(linked_segs) if linked_segs is not None else []
    if linked and linked_seg_layer_name is None:
        raise InvalidInputError("linked_segs needs linked_seg_layer_name (the segmentation layer)")
    if layer_type not in _LAYER_TYPES:
        raise InvalidInputError(
            f"layer_type must be one of {list(_LAYER_TYPES)}, got {layer_type!r}"
        )
    return annotation_layer(
        layer_name, annotations, layer_type,
        resolution=load_config(datastack).resolution,
        descriptions=list(descriptions) if descriptions else None,
        linked_segments=linked or None,
        linked_layer=linked_seg_layer_name or "Segmentation",
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
    """Legacy shim for ``ds.link(...)`` (``short=not long_url``)."""
    ds = session(datastack)
    return ds.link(
        list(seg_ids) if seg_ids is not None else [],
        annotation_layers=list(anno_layers) if anno_layers is not None else [],
        segment_colors=list(seg_colors) if seg_colors else None,
        region_meshes=bool(region_meshes) and ds.config.sources.main_stack_mesh is not None,
        mesh_source=custom_mesh_source,
        mesh_name=custom_mesh_name,
        mesh_color=custom_mesh_color,
        position=view_coords,
        translucent=bool(translucent_seg),
        viewer_site=None if viewer_site == "default" else viewer_site,
        short=not long_url,
    )


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


def _point_layers_nm(datastack: str, json_path: str) -> tuple[Any, dict[str, NDArray[Any]]]:
    from tracertools.ngl import State
    from tracertools.ngl.state_meshes import layer_points_nm

    config = session(datastack).config
    state = State.from_file(json_path)
    return config, layer_points_nm(state, default_resolution=config.resolution)


def _layer_nm(datastack: str, json_path: str, layer_name: str) -> tuple[Any, NDArray[Any]]:
    from tracertools.ngl import State

    config = session(datastack).config
    state = State.from_file(json_path)
    anns = state.annotations(layer_name, units="nm", default_resolution=config.resolution)
    if len(anns.points) != len(anns):
        raise InvalidStateError(f"layer {layer_name!r} is not a point layer")
    return config, anns.points


def _replacing(path: Path) -> Path:
    if path.exists():
        logger.warning("replacing %s", path)
    return path


def make_objs_from_state_file(datastack: str, json_path: str, output_path: str) -> None:
    """Legacy shim for ``state_meshes.convex_hulls(State.from_file(path))`` + ``Mesh.to_obj``."""
    from tracertools.geometry.mesh import Mesh
    from tracertools.ngl.state_meshes import safe_file_name

    _, points = _point_layers_nm(datastack, json_path)
    folder = Path(output_path).expanduser()
    used: set[str] = set()
    for name, pts in points.items():
        stem = safe_file_name(name)
        candidate, n = stem, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}_{n}"
        used.add(candidate)
        Mesh.convex_hull(pts).to_obj(_replacing(folder / f"{candidate}.obj"))


def make_point_cloud_from_state_file(
    datastack: str, json_path: str, layer_name: str, output_path: str
) -> None:
    """Legacy shim for ``tracertools.geometry.mesh.point_cloud_obj(points_nm, path)``."""
    from tracertools.geometry.mesh import point_cloud_obj
    from tracertools.ngl.state_meshes import safe_file_name

    _, points = _layer_nm(datastack, json_path, layer_name)
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
    """Legacy shim for ``Mesh.convex_hull(points).write_precomputed(<out>/image, ...)``."""
    from tracertools.geometry.mesh import Mesh
    from tracertools.geometry.precomputed import volume_url

    config, points = _layer_nm(datastack, json_path, layer_name)
    hull = Mesh.convex_hull(points)
    out = str(output_filepath).rstrip("/")
    if export_obj:
        hull.to_obj(_replacing(Path(out).expanduser() / "hull.obj"))
    hull.write_precomputed(volume_url(out + "/image"), resolution=config.resolution,
                           volume_size=config.volume_size, overwrite=True)
