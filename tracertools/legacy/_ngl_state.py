"""The original's neuroglancer JSON, built for the legacy ``make_anno_layer`` / ``make_ng_link``.

Layers and states keep the original's keys, key order and value forms (a single linked segment
as ``["id"]``, a list as ``[["id", ...]]``; colours as given; region and custom-mesh layers
selecting ``[1]``; FlyWire's ``segmentation_with_graph``), so long URLs and stored states read
as the original's did. The fixes kept (validated IDs, colours and coordinates, unique
annotation IDs, the legacy navigation spelled right, legacy annotation layers for legacy
viewers) are listed in ``docs/migration.md``.
"""

from __future__ import annotations

import logging
import math
import numbers
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tracertools.errors import InvalidInputError
from tracertools.ids import as_segment_id

__all__: list[str] = []

logger = logging.getLogger(__name__)

#: layer_type / mixed-entry names and the neuroglancer type each makes.
ANNOTATION_TYPES = {
    "point": "point",
    "line": "line",
    "bbox": "axis_aligned_bounding_box",
    "sphere": "ellipsoid",
    "ellipsoid": "ellipsoid",
    "polyline": "polyline",
}
#: Region-outline colour and opacity: Seung-lab (legacy) viewers, and the others.
REGION_LOOK = {True: ("#808080", 0.2), False: ("#f0f2f4", 0.35)}
DEFAULT_MESH_NAME = "Custom Mesh"
DEFAULT_MESH_COLOR = "#6DB86B"
_PIPE = "|neuroglancer-precomputed:"


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def segment_id(value: Any, position: int | None = None) -> str:
    """A segment ID as the string neuroglancer reads; 0 (the background) is allowed.

    Raises:
        InvalidSegmentIdError: not an unsigned 64-bit integer (negative, non-numeric, a
            fractional float), which no viewer can read.
    """
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool,
                                                                                  np.bool_)):
        if int(value) == 0:
            return "0"
    elif isinstance(value, (str, np.str_)) and value.strip() == "0":
        return "0"
    return str(as_segment_id(value, position))


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"{where}: {value!r} is not a coordinate")
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidInputError(f"{where}: coordinates must be finite, got {value!r}")
        return number
    raise InvalidInputError(f"{where}: {value!r:.80} is not a number")


def _point(value: Any, where: str) -> list[int | float]:
    """Three coordinates, each kept an int or a float as given (numpy becomes Python)."""
    try:
        items = list(value)
    except TypeError:
        raise InvalidInputError(f"{where}: {value!r:.80} is not a point") from None
    if len(items) != 3:
        raise InvalidInputError(
            f"{where}: a point needs 3 coordinates (x, y, z in viewer voxels), got {len(items)}"
        )
    return [_number(v, where) for v in items]


def _pair(value: Any, where: str) -> tuple[Any, Any]:
    try:
        first, second = value
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}: expected two points, got {value!r:.80}") from None
    return first, second


def annotation(kind: str, geometry: Any, where: str) -> dict[str, Any]:
    """One annotation in the original's key order (geometry, type, id)."""
    out: dict[str, Any]
    if kind == "point":
        out = {"point": _point(geometry, where)}
    elif kind in ("line", "bbox"):
        a, b = _pair(geometry, where)
        out = {"pointA": _point(a, where), "pointB": _point(b, where)}
    elif kind in ("sphere", "ellipsoid"):
        centre, radii = _pair(geometry, where)
        out = {"center": _point(centre, where), "radii": _point(radii, where)}
        if any(r < 0 for r in out["radii"]):
            raise InvalidInputError(f"{where}: ellipsoid radii must not be negative")
    else:  # polyline
        try:
            points = list(geometry)
        except TypeError:
            raise InvalidInputError(f"{where}: a polyline is a list of points") from None
        out = {"points": [_point(p, where) for p in points]}
    out["type"] = ANNOTATION_TYPES[kind]
    out["id"] = uuid.uuid4().hex  # unique across layers (the original numbered each layer 1, 2...)
    return out


def linked_segments(value: Any) -> list[Any]:
    """An annotation's ``segments``: ``["id"]`` for one ID, ``[["id", ...]]`` for a list."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [[segment_id(v) for v in value]]
    return [segment_id(value)]


def _voxel_dimensions(resolution: Sequence[Any]) -> dict[str, list[Any]]:
    return {axis: [res * 1e-9, "m"] for axis, res in zip("xyz", resolution, strict=True)}


# --------------------------------------------------------------------------------------------
# Annotation layers
# --------------------------------------------------------------------------------------------


def annotation_layer(
    resolution: Sequence[Any],
    annotations: Sequence[Any],
    layer_type: str,
    layer_name: str,
    descriptions: Sequence[Any],
    linked: Sequence[Any],
    linked_layer: str | None,
) -> dict[str, Any]:
    """The original ``make_anno_layer`` dict (inputs as the shim received them)."""
    if not isinstance(layer_name, str):
        raise InvalidInputError(f"layer_name must be a str, got {layer_name!r}")
    entries = list(annotations)
    for what, values in (("descriptions", descriptions), ("linked_segs", linked)):
        if values and len(values) < len(entries):
            raise InvalidInputError(f"{what} has {len(values)} entries for {len(entries)} "
                                    f"annotations; give one per annotation")
        if len(values) > len(entries):
            logger.warning("layer %r: %d %s for %d annotations; the extra ones are ignored",
                           layer_name, len(values), what, len(entries))
    items = []
    for i, entry in enumerate(entries):
        where = f"layer {layer_name!r}, annotation {i}"
        kind = layer_type
        geometry = entry
        if layer_type == "mixed":
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2):
                raise InvalidInputError(f"{where}: a mixed layer takes (annotation, type) pairs")
            geometry, kind = entry
            if kind not in ANNOTATION_TYPES:
                raise InvalidInputError(
                    f"The value {kind!r} is invalid for the annotation type of annotation at "
                    f"index {i}; use one of {sorted(ANNOTATION_TYPES)}"
                )
        item = annotation(kind, geometry, where)
        if descriptions:
            item["description"] = descriptions[i]
        if linked:
            item["segments"] = linked_segments(linked[i])
        items.append(item)
    layer: dict[str, Any] = {
        "annotations": items,
        "name": layer_name,
        "source": {"transform": {"outputDimensions": _voxel_dimensions(resolution)},
                   "url": "local://annotations"},
        "tab": "annotations",
        "type": "annotation",
    }
    if linked:
        layer["linkedSegmentationLayer"] = {"segments": linked_layer}
        layer["filterBySegmentation"] = ["segments"]
    return layer


# --------------------------------------------------------------------------------------------
# Link states
# --------------------------------------------------------------------------------------------


def _check_color(value: Any, what: str) -> str:
    from tracertools.ngl.colors import is_hex_color

    if not is_hex_color(value):
        raise InvalidInputError(f"{what} must be a '#rrggbb' hex colour, got {value!r}")
    return str(value)


def _mesh_source(url: str, legacy: bool) -> str:
    """A custom mesh source; Seung-lab viewers read ``precomputed://https://...`` only."""
    if legacy and url.startswith(("http://", "https://")):
        return "precomputed://" + url.removesuffix(_PIPE)
    return url


def link_state(
    config: Mapping[str, Any],
    *,
    legacy: bool,
    seg_ids: Sequence[Any],
    anno_layers: Sequence[Any],
    region_meshes: bool,
    seg_colors: Sequence[Any],
    custom_mesh_source: str | None,
    custom_mesh_name: str | None,
    custom_mesh_color: str | None,
    view_coords: Sequence[Any] | None,
    translucent_seg: bool,
) -> dict[str, Any]:
    """The original ``make_ng_link`` state.

    Args:
        config: the datastack's tracer-format (``get_config``) dict.
        legacy: write the Seung-lab state format (FlyWire's viewer).
        seg_ids, anno_layers, ...: as ``make_ng_link`` takes them (the caller checks that
            the config has a segmentation source when there are IDs).
    """
    from tracertools.ngl.build import legacy_layer

    ids = [segment_id(v, i) for i, v in enumerate(seg_ids)]
    colors = [_check_color(c, f"seg_colors[{i}]") for i, c in enumerate(seg_colors)]
    if len(colors) > len(ids):
        raise InvalidInputError(f"{len(colors)} seg_colors for {len(ids)} seg_ids; give at most "
                                f"one colour per segment")
    seg_type = "segmentation_with_graph" if legacy else "segmentation"
    layers: list[dict[str, Any]] = []
    if config.get("em_source_url"):
        layers.append({"type": "image", "name": "EM", "source": config["em_source_url"],
                       "tab": "source"})
    segmentation: dict[str, Any] | None = None
    if config.get("seg_source_url"):
        segmentation = {"type": seg_type, "name": "Segmentation",
                        "source": config["seg_source_url"], "segments": ids, "tab": "segments"}
        if translucent_seg:
            segmentation["objectAlpha"] = 0.99
        layers.append(segmentation)
    for i, layer in enumerate(anno_layers):
        if not isinstance(layer, Mapping) or not isinstance(layer.get("name"), str):
            raise InvalidInputError(f"anno_layers[{i}] is not a named layer dict")
        layers.append(legacy_layer(layer) if legacy else dict(layer))
    if colors and segmentation is not None:
        segmentation["segmentColors"] = dict(zip(ids, colors, strict=False))
    if region_meshes and config.get("main_stack_mesh_url"):
        color, alpha = REGION_LOOK[legacy]
        layers.append({"type": seg_type, "name": "Region Outlines",
                       "source": config["main_stack_mesh_url"], "segments": [1],
                       "segmentColors": {"1": color}, "objectAlpha": alpha,
                       "meshSilhouetteRendering": 2})
    if custom_mesh_source is not None:
        if not isinstance(custom_mesh_source, str) or not custom_mesh_source:
            raise InvalidInputError(f"custom_mesh_source must be a non-empty URL, got "
                                    f"{custom_mesh_source!r}")
        layers.append({
            "type": seg_type,
            "name": custom_mesh_name if custom_mesh_name is not None else DEFAULT_MESH_NAME,
            "source": _mesh_source(custom_mesh_source, legacy),
            "segments": [1],
            "segmentColors": {"1": _check_color(custom_mesh_color or DEFAULT_MESH_COLOR,
                                                "custom_mesh_color")},
        })
    names = [layer.get("name") for layer in layers]
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInputError(f"layer names must be unique in a state; repeated: {repeated}")
    position = _position(view_coords if view_coords is not None
                         else config.get("default_view_point"))
    if legacy:
        pose: dict[str, Any] = {"voxelSize": list(config["resolution"])}
        if position is not None:
            pose["voxelCoordinates"] = position
        return {
            "layers": layers,
            "navigation": {"pose": {"position": pose}, "zoomFactor": config["default_zoom_2d"]},
            "showDefaultAnnotations": False,
            "perspectiveOrientation": config["default_angle_3d"],
            "perspectiveZoom": config["default_zoom_3d"],
            "showSlices": False,
            "layout": "xy-3d",
        }
    state: dict[str, Any] = {"dimensions": _voxel_dimensions(config["resolution"])}
    if position is not None:  # neuroglancer cannot restore "position": null
        state["position"] = position
    state.update(
        crossSectionScale=config["default_zoom_2d"],
        projectionOrientation=config["default_angle_3d"],
        projectionScale=config["default_zoom_3d"],
        layers=layers,
        showSlices=False,
        layout="xy-3d",
    )
    return state


def _position(value: Any) -> list[int | float] | None:
    if value is None:
        return None
    return _point(value, "view_coords")
