"""Building neuroglancer states: annotation layers, link states, and the two state styles.

States are built with nglui's statebuilder (``nglui.statebuilder``: ``ViewerState``,
``ImageLayer``, ``SegmentationLayer``, ``AnnotationLayer`` and its annotation classes, segment
colours, camera), configured so that it never reaches the network and keeps what the datastack
configured:

* ``infer_coordinates=False`` with explicit dimensions and position (nglui would otherwise ask
  cloud-volume for the source's bounds), and the capability set pinned to mainline
  neuroglancer (no annotation tags are written, so nothing depends on it, and nglui never
  probes the viewer site);
* ``set_position=False`` on annotation layers (nglui would move the view to the first
  annotation);
* the datastack's segmentation source written back through the layer's ``extra`` JSON (nglui
  rewrites ``graphene://http(s)://`` sources to ``graphene://middleauth+http(s)://``, which a
  LocalCave or any server without middle-auth cannot serve);
* ``alpha_3d=1.0`` unless translucency is asked for (nglui's default is 0.9).

What nglui lacks, this module adds: the Seung-lab state style (below), the layer ``tab``
choices, random 128-bit annotation IDs, and input checks that raise typed errors first.

Two styles of state are written:

* **modern** (Spelunker, mainline neuroglancer): ``dimensions`` (m per voxel), ``position``,
  ``crossSectionScale``, ``projectionScale``, ``projectionOrientation``, a list of layers whose
  local annotation layers carry a ``local://annotations`` source with a transform;
* **legacy** (the Seung-lab viewers: FlyWire's ``ngl.flywire.ai``): ``navigation.pose.position``
  with ``voxelSize`` (a list, nm) and ``voxelCoordinates``, ``zoomFactor``,
  ``perspectiveZoom``, ``perspectiveOrientation``, the datastack's graphene layer as
  ``segmentation_with_graph``, and annotation layers with ``voxelSize``, a string
  ``linkedSegmentationLayer`` and a boolean ``filterBySegmentation``.

Annotation layers and states are built modern (by nglui) and converted for legacy viewers, so
callers build them once. Every annotation gets a random 128-bit ID (uuid4 hex), unique across
layers and links.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import numpy as np

from tracertools.errors import InvalidInputError
from tracertools.ids import as_segment_id
from tracertools.ngl.colors import is_hex_color
from tracertools.ngl.records import dims_nm

if TYPE_CHECKING:
    from tracertools.config import DatastackConfig

__all__ = [
    "LEGACY_VIEWER_HOSTS",
    "SEGMENTATION_LAYER",
    "annotation_layer",
    "legacy_layer",
    "legacy_to_modern",
    "link_state",
    "modern_layer",
    "modern_to_legacy",
    "viewer_style",
]

Style = Literal["modern", "legacy"]

#: Viewer hosts that run a Seung-lab (legacy-state) neuroglancer.
LEGACY_VIEWER_HOSTS = frozenset({"ngl.flywire.ai", "neuromancer-seung-import.appspot.com"})
#: Name of the datastack's segmentation layer in the links we build.
SEGMENTATION_LAYER = "Segmentation"
#: Region-outline mesh colour and opacity per style (as the original chose them).
REGION_LOOK: dict[str, tuple[str, float]] = {"modern": ("#f0f2f4", 0.35),
                                             "legacy": ("#808080", 0.2)}
DEFAULT_MESH_NAME = "Custom Mesh"
DEFAULT_MESH_COLOR = "#6db86b"
#: objectAlpha of a translucent segmentation layer (below 1 switches on transparency).
TRANSLUCENT_ALPHA = 0.99

#: Accepted annotation kinds and the neuroglancer type each makes.
KINDS = {
    "point": "point",
    "line": "line",
    "bbox": "axis_aligned_bounding_box",
    "box": "axis_aligned_bounding_box",
    "axis_aligned_bounding_box": "axis_aligned_bounding_box",
    "sphere": "ellipsoid",
    "ellipsoid": "ellipsoid",
    "polyline": "polyline",
}
_PIPE_PRECOMPUTED = "|neuroglancer-precomputed:"


def _nglui() -> tuple[Any, Any]:
    """nglui's statebuilder and its annotation classes (imported on first use: heavy)."""
    from nglui import statebuilder
    from nglui.statebuilder import ngl_annotations

    return statebuilder, ngl_annotations


def _capabilities() -> Any:
    """The viewer capabilities states are encoded for: mainline neuroglancer, fixed.

    Only annotation tags depend on it and none are written; fixing it keeps nglui from
    probing the viewer site over the network.
    """
    from nglui.statebuilder.capabilities import MAIN_CAPABILITIES

    return MAIN_CAPABILITIES


def _json(value: Any) -> Any:
    """nglui / neuroglancer output as plain JSON types (uint64 IDs as strings, as neuroglancer
    writes them)."""
    import json

    from neuroglancer.json_utils import json_encoder_default

    return json.loads(json.dumps(value, default=json_encoder_default, allow_nan=False))


def viewer_style(site_url: str | None) -> Style:
    """``"legacy"`` for a Seung-lab viewer (`LEGACY_VIEWER_HOSTS`), else ``"modern"``."""
    if not site_url:
        return "modern"
    host = (urlsplit(site_url).hostname or "").lower()
    return "legacy" if host in LEGACY_VIEWER_HOSTS else "modern"


def _num(x: float) -> int | float:
    """A JSON number: an int when the value is whole (keeps links short), else a float."""
    value = float(x)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _nums(values: Iterable[float]) -> list[int | float]:
    return [_num(v) for v in values]


def output_dimensions(resolution: Sequence[float]) -> dict[str, list[Any]]:
    """A neuroglancer coordinate space (metres per voxel) for a resolution in nm per voxel."""
    res = _resolution(resolution)
    return {axis: [r * 1e-9, "m"] for axis, r in zip("xyz", res, strict=True)}


def _resolution(resolution: Any) -> list[float]:
    try:
        res = [float(r) for r in resolution]
    except (TypeError, ValueError):
        raise InvalidInputError(f"resolution must be 3 positive numbers (nm per voxel), "
                                f"got {resolution!r}") from None
    if len(res) != 3 or not all(math.isfinite(r) and r > 0 for r in res):
        raise InvalidInputError(
            f"resolution must be 3 positive numbers (nm per voxel), got {resolution!r}"
        )
    return res


def check_color(color: Any, what: str) -> str:
    """``color`` as lowercase ``#rrggbb``; InvalidInputError otherwise."""
    if not is_hex_color(color):
        raise InvalidInputError(f"{what} must be a '#rrggbb' hex colour, got {color!r}")
    return str(color).lower()


# --------------------------------------------------------------------------------------------
# Annotation layers
# --------------------------------------------------------------------------------------------


def _geometry(kind: str, item: Any, where: str) -> dict[str, Any]:
    try:
        arr = np.asarray(item, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}: {item!r:.80} is not numeric coordinates") from None
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"{where}: coordinates must be finite, got {item!r:.80}")
    if kind == "point":
        if arr.shape != (3,):
            raise InvalidInputError(f"{where}: a point needs 3 coordinates, got shape {arr.shape}")
        return {"point": _nums(arr)}
    if kind == "polyline":
        if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] < 2:
            raise InvalidInputError(f"{where}: a polyline needs (k >= 2, 3) points, "
                                    f"got shape {arr.shape}")
        return {"points": [_nums(p) for p in arr]}
    if arr.shape != (2, 3):
        parts = "a centre and radii" if kind == "ellipsoid" else "two points"
        raise InvalidInputError(f"{where}: a {kind} needs {parts} of 3 coordinates, "
                                f"got shape {arr.shape}")
    if kind == "ellipsoid":
        if np.any(arr[1] < 0):
            raise InvalidInputError(f"{where}: ellipsoid radii must not be negative")
        return {"center": _nums(arr[0]), "radii": _nums(arr[1])}
    return {"pointA": _nums(arr[0]), "pointB": _nums(arr[1])}


def _linked(value: Any) -> list[str]:
    """Linked segment IDs of one annotation as strings (an ID or a list of IDs)."""
    if value is None:
        return []
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    return [str(as_segment_id(v)) for v in items]


def _aligned(values: Any, n: int, what: str) -> list[Any] | None:
    if values is None:
        return None
    items = list(values)
    if len(items) == 0:
        return None
    if len(items) != n:
        raise InvalidInputError(f"{what} has {len(items)} entries for {n} annotations; "
                                f"give one per annotation")
    return items


def annotation_layer(
    name: str,
    annotations: Iterable[Any],
    kind: str = "point",
    *,
    resolution: Sequence[float],
    descriptions: Sequence[str | None] | None = None,
    linked_segments: Sequence[Any] | None = None,
    linked_layer: str = SEGMENTATION_LAYER,
    color: str | None = None,
) -> dict[str, Any]:
    """A local annotation layer (modern JSON; converted automatically for legacy viewers).

    Args:
        name: the layer name.
        annotations: one entry per annotation, coordinates in viewer voxels at
            ``resolution``: a point ``(x, y, z)``; a line or box ``((x, y, z), (x, y, z))``;
            an ellipsoid ``(centre, radii)``; a polyline ``(k, 3)`` points. With
            ``kind="mixed"`` each entry is a ``(geometry, kind)`` pair.
        kind: ``"point"``, ``"line"``, ``"bbox"``/``"box"``, ``"ellipsoid"``/``"sphere"``,
            ``"polyline"`` or ``"mixed"``.
        resolution: nm per voxel of the coordinates (e.g. ``ds.config.resolution``).
        descriptions: one description (or None) per annotation.
        linked_segments: one segment ID, list of IDs, or None per annotation; the layer is
            then linked to ``linked_layer`` and filtered by its segments.
        linked_layer: the segmentation layer the segments belong to.
        color: the layer's annotation colour, ``#rrggbb``.

    Returns:
        The layer as a JSON-compatible dict, every annotation with a unique random ID.

    Raises:
        InvalidInputError: an unknown kind, malformed coordinates, descriptions or linked
            segments not one per annotation, an invalid segment ID or colour.
    """
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"an annotation layer needs a non-empty name, got {name!r}")
    if kind != "mixed" and kind not in KINDS:
        raise InvalidInputError(f"unknown annotation kind {kind!r}; use one of "
                                f"{sorted(KINDS)} or 'mixed'")
    entries = list(annotations)
    descs = _aligned(descriptions, len(entries), "descriptions")
    links = _aligned(linked_segments, len(entries), "linked_segments")
    specs = []
    for i, entry in enumerate(entries):
        where = f"layer {name!r}, annotation {i}"
        item_kind = kind
        if kind == "mixed":
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2
                    and isinstance(entry[1], str)):
                raise InvalidInputError(f"{where}: a mixed layer takes (geometry, kind) pairs")
            entry, item_kind = entry
            if item_kind not in KINDS:
                raise InvalidInputError(f"{where}: unknown annotation kind {item_kind!r}")
        spec: dict[str, Any] = {"id": uuid.uuid4().hex}
        spec.update(_geometry(KINDS[item_kind], entry, where))
        if descs is not None and descs[i] is not None:
            spec["description"] = str(descs[i])
        if links is not None:
            ids = _linked(links[i])
            if ids:
                spec["segments"] = [int(s) for s in ids]
        specs.append((KINDS[item_kind], spec))
    res = _resolution(resolution)
    colour = check_color(color, "color") if color is not None else None
    if links is not None and (not isinstance(linked_layer, str) or not linked_layer):
        raise InvalidInputError("linked_layer must name the segmentation layer")

    sb, classes = _nglui()
    made = {"point": classes.PointAnnotation, "line": classes.LineAnnotation,
            "ellipsoid": classes.EllipsoidAnnotation,
            "axis_aligned_bounding_box": classes.BoundingBoxAnnotation,
            "polyline": classes.PolylineAnnotation}
    layer = sb.AnnotationLayer(
        name=name,
        resolution=res,
        color=colour,
        linked_segmentation=linked_layer if links is not None else None,
        filter_by_segmentation=links is not None,
        set_position=False,
        extra={"tab": "annotations"},
    )
    layer.add_annotations([made[k](**spec) for k, spec in specs])
    out = _json(layer.to_dict(capabilities=_capabilities()))
    out.pop("visible", None)  # the state decides; neuroglancer's default is visible
    out.pop("archived", None)
    for item in out.get("annotations", []):
        if item.get("props") == []:
            del item["props"]  # no annotation properties: nothing to say per annotation
    return out


# --------------------------------------------------------------------------------------------
# Converting between the styles
# --------------------------------------------------------------------------------------------


def legacy_source(url: str) -> str:
    """A source a Seung-lab viewer reads: ``https://h/p|neuroglancer-precomputed:`` becomes
    ``precomputed://https://h/p`` (those viewers predate the pipe syntax)."""
    if url.endswith(_PIPE_PRECOMPUTED):
        return "precomputed://" + url[: -len(_PIPE_PRECOMPUTED)]
    return url


def legacy_layer(layer: Mapping[str, Any]) -> dict[str, Any]:
    """A layer dict in the legacy (Seung-lab) style; legacy layers come back unchanged.

    Raises:
        InvalidInputError: a polyline annotation, which the legacy viewers cannot show.
    """
    out = dict(layer)
    source = out.get("source")
    entries = source if isinstance(source, list) else [source] if source is not None else []
    first = entries[0] if entries else None
    url = first.get("url") if isinstance(first, Mapping) else first
    if out.get("type") == "annotation":
        if url == "local://annotations" or url is None:
            out.pop("source", None)
            transform = first.get("transform") if isinstance(first, Mapping) else None
            nm = dims_nm((transform or {}).get("outputDimensions"))
            if nm is not None and "voxelSize" not in out:
                out["voxelSize"] = _nums(nm)
        elif isinstance(url, str):
            out["source"] = legacy_source(url)
        link = out.get("linkedSegmentationLayer")
        if isinstance(link, Mapping):
            out["linkedSegmentationLayer"] = link.get("segments")
            if out["linkedSegmentationLayer"] is None:
                out.pop("linkedSegmentationLayer")
        if isinstance(out.get("filterBySegmentation"), list):
            out["filterBySegmentation"] = bool(out["filterBySegmentation"])
        for key in ("annotationProperties", "toolBindings"):  # mainline-only, written empty
            if key in out and not out[key]:
                del out[key]
        out.pop("swapVisbleSegmentsOnMove", None)  # (neuroglancer's spelling) mainline-only
        annotations = []
        for a in out.get("annotations") or []:
            if a.get("type") == "polyline":
                raise InvalidInputError(
                    f"layer {out.get('name')!r} has polyline annotations, which legacy "
                    f"(Seung-lab) viewers such as FlyWire's cannot show"
                )
            a = dict(a)
            segs = a.get("segments")
            if isinstance(segs, list):
                a["segments"] = [s for group in segs
                                 for s in (group if isinstance(group, list) else [group])]
            annotations.append(a)
        if "annotations" in out:
            out["annotations"] = annotations
    elif isinstance(url, str):
        out["source"] = legacy_source(url)
    return out


def modern_layer(layer: Mapping[str, Any], resolution: Sequence[float] | None) -> dict[str, Any]:
    """A layer dict in the modern style; modern layers come back unchanged.

    Args:
        layer: the layer.
        resolution: nm per voxel to use for a legacy annotation layer without ``voxelSize``.
    """
    out = dict(layer)
    if out.get("type") == "segmentation_with_graph":
        out["type"] = "segmentation"
    if out.get("type") != "annotation":
        return out
    size = out.pop("voxelSize", None) or resolution
    if "source" not in out and size is not None:
        out["source"] = {"url": "local://annotations",
                         "transform": {"outputDimensions": output_dimensions(size)}}
    link = out.get("linkedSegmentationLayer")
    if isinstance(link, str):
        out["linkedSegmentationLayer"] = {"segments": link}
    if isinstance(out.get("filterBySegmentation"), bool):
        out["filterBySegmentation"] = ["segments"] if out["filterBySegmentation"] else []
    annotations = []
    for a in out.get("annotations") or []:
        a = dict(a)
        segs = a.get("segments")
        if isinstance(segs, list) and segs and not all(isinstance(s, list) for s in segs):
            a["segments"] = [[str(s) for s in segs]]
        annotations.append(a)
    if "annotations" in out:
        out["annotations"] = annotations
    return out


def legacy_to_modern(state: Mapping[str, Any]) -> dict[str, Any]:
    """The modern equivalent of a legacy (Seung-lab) state (see ``State.modern``)."""
    out = {k: v for k, v in state.items() if k not in (
        "navigation", "perspectiveOrientation", "perspectiveZoom", "layers")}
    nav = state.get("navigation") or {}
    position = ((nav.get("pose") or {}).get("position") or {}) if isinstance(nav, Mapping) else {}
    size = position.get("voxelSize")
    if size is not None:
        out["dimensions"] = output_dimensions(size)
    if position.get("voxelCoordinates") is not None:
        out["position"] = list(position["voxelCoordinates"])
    unit = min(float(s) for s in size) if size is not None else 1.0
    if isinstance(nav, Mapping) and nav.get("zoomFactor") is not None:
        out["crossSectionScale"] = float(nav["zoomFactor"]) / unit
    if state.get("perspectiveZoom") is not None:
        out["projectionScale"] = float(state["perspectiveZoom"]) / unit
    if state.get("perspectiveOrientation") is not None:
        out["projectionOrientation"] = list(state["perspectiveOrientation"])
    layers = state.get("layers") or []
    items = [dict(v, name=k) for k, v in layers.items()] if isinstance(layers, Mapping) else layers
    out["layers"] = [modern_layer(layer, size) for layer in items]
    return out


# --------------------------------------------------------------------------------------------
# Link states
# --------------------------------------------------------------------------------------------


def _segmentation(
    sb: Any, name: str, source: str, segments: Sequence[int], colors: Mapping[int, str],
    *, alpha: float = 1.0, silhouette: float = 0.0,
) -> Any:
    """An nglui segmentation layer that keeps ``source`` exactly as configured."""
    return sb.SegmentationLayer(
        name=name,
        source=source,
        segments=[int(s) for s in segments],
        segment_colors={int(k): v for k, v in colors.items()} or None,
        alpha_3d=alpha,
        mesh_silhouette=silhouette,
        extra={"source": source, "tab": "segments"},  # undo nglui's middleauth+ rewrite
    )


def link_state(
    config: DatastackConfig,
    *,
    style: Style,
    segments: Sequence[int] = (),
    segment_colors: Mapping[int, str] | None = None,
    annotation_layers: Sequence[Mapping[str, Any]] = (),
    region_meshes: bool = False,
    mesh_source: str | None = None,
    mesh_name: str = DEFAULT_MESH_NAME,
    mesh_color: str = DEFAULT_MESH_COLOR,
    position: Sequence[float] | None = None,
    translucent: bool = False,
) -> dict[str, Any]:
    """The state of a datastack link (inputs already validated by the caller).

    Built with nglui's ``ViewerState`` (see the module docstring for how it is configured);
    a legacy state is the modern one converted ([`modern_to_legacy()`][tracertools.ngl.build.modern_to_legacy]). Layers, in order:
    ``EM`` (image), ``Segmentation`` (the selected segments), the annotation layers,
    ``Region Outlines`` (the stack's region mesh, segment 1) and the custom mesh (segment 1).
    Position in viewer voxels; zooms and orientation from ``config.viewer``.
    """
    legacy = style == "legacy"
    sources, view = config.sources, config.viewer
    names: list[Any] = [n for n, on in (("EM", bool(sources.em)),
                             (SEGMENTATION_LAYER, bool(sources.segmentation))) if on]
    names += [layer.get("name") for layer in annotation_layers]
    if region_meshes and sources.main_stack_mesh:
        names.append("Region Outlines")
    if mesh_source is not None:
        names.append(mesh_name)
    clash = sorted({n for n in names if names.count(n) > 1}, key=str)
    if clash:
        raise InvalidInputError(f"layer names must be unique in a state; repeated: {clash}")

    sb, _ = _nglui()
    state = sb.ViewerState(
        dimensions=_resolution(config.resolution),
        position=[float(v) for v in position] if position is not None else None,
        camera=sb.Camera(cross_section_scale=float(view.zoom_2d),
                         projection_scale=float(view.zoom_3d),
                         projection_orientation=[float(v) for v in view.angle_3d]),
        show_slices=False,
        layout="xy-3d",
        infer_coordinates=False,
        capabilities=_capabilities(),
    )
    if sources.em:
        state.add_layer(sb.ImageLayer(name="EM", source=sources.em,
                                      extra={"source": sources.em, "tab": "source"}))
    if sources.segmentation:
        state.add_layer(_segmentation(
            sb, SEGMENTATION_LAYER, sources.segmentation, segments, segment_colors or {},
            alpha=TRANSLUCENT_ALPHA if translucent else 1.0))
    for layer in annotation_layers:
        raw = modern_layer(layer, config.resolution)
        state.add_layer(sb.RawLayer(json_data=raw, visible=raw.pop("visible", True),
                                    archived=raw.pop("archived", False)))
    if region_meshes and sources.main_stack_mesh:
        color, alpha = REGION_LOOK[style]
        state.add_layer(_segmentation(sb, "Region Outlines", sources.main_stack_mesh, [1],
                                      {1: color}, alpha=alpha, silhouette=2))
    if mesh_source is not None:
        state.add_layer(_segmentation(sb, mesh_name, mesh_source, [1], {1: mesh_color}))
    built = _json(state.to_dict())
    return modern_to_legacy(built, config.resolution) if legacy else built


#: Layer keys the Seung-lab viewers read, per layer type (nglui writes more for mainline).
_LEGACY_KEYS = {
    "image": ("type", "source", "name", "tab", "visible"),
    "segmentation_with_graph": ("type", "source", "name", "segments", "segmentColors",
                                "objectAlpha", "meshSilhouetteRendering", "tab", "visible"),
}


def modern_to_legacy(state: Mapping[str, Any], resolution: Sequence[float]) -> dict[str, Any]:
    """The Seung-lab (legacy) equivalent of a modern link state, for FlyWire's viewer.

    Position, zooms and orientation move into ``navigation`` / ``perspective*`` with the
    voxel size in nm; layers go through [`legacy_layer()`][tracertools.ngl.build.legacy_layer]; a graphene segmentation layer
    becomes ``segmentation_with_graph``; keys the legacy viewers do not know are dropped, and
    so is an opacity of 1 (their default).

    Raises:
        InvalidInputError: a polyline annotation (legacy viewers cannot show one).
    """
    pose: dict[str, Any] = {"voxelSize": _nums(_resolution(resolution))}
    if state.get("position") is not None:
        pose["voxelCoordinates"] = _nums(state["position"])
    layers = []
    for layer in state.get("layers") or []:
        out = legacy_layer(layer)
        if out.get("type") == "segmentation" and str(out.get("source", "")).startswith(
                "graphene://"):
            out["type"] = "segmentation_with_graph"
        kind = "segmentation_with_graph" if out.get("type") in (
            "segmentation", "segmentation_with_graph") else out.get("type")
        keep = _LEGACY_KEYS.get(str(kind))
        if keep is not None:
            out = {k: v for k, v in out.items() if k in keep}
        if out.get("objectAlpha") == 1:
            del out["objectAlpha"]
        if out.get("meshSilhouetteRendering") == 0:
            del out["meshSilhouetteRendering"]
        if not out.get("segmentColors", True):
            del out["segmentColors"]
        layers.append(out)
    legacy: dict[str, Any] = {
        "layers": layers,
        "navigation": {"pose": {"position": pose},
                       "zoomFactor": _num(state.get("crossSectionScale", 1))},
        "showDefaultAnnotations": False,
    }
    if state.get("projectionOrientation") is not None:
        legacy["perspectiveOrientation"] = _nums(state["projectionOrientation"])
    if state.get("projectionScale") is not None:
        legacy["perspectiveZoom"] = _num(state["projectionScale"])
    legacy.update(showSlices=bool(state.get("showSlices", False)),
                  layout=state.get("layout", "xy-3d"))
    return legacy
