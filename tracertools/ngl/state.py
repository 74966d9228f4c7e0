"""Neuroglancer states: parse share URLs, JSON files and dicts; read layers and annotations.

[`State`][tracertools.ngl.state.State] is a value: a neuroglancer viewer state (the JSON) with typed, read-only access
to its layers, selected segments, segment colours and annotations. Build one from a dict
([`State.from_dict()`][tracertools.ngl.state.State.from_dict]), JSON text, a JSON file, or a long share URL ([`State.from_url()`][tracertools.ngl.state.State.from_url]);
links whose state lives on a state service (short links) need a datastack to fetch it:
``ds.state(url)``.

Coordinates: annotations and positions are stored in *viewer voxels*, i.e. voxels at the
resolution the state records (``dimensions`` of a modern state, the annotation layer's source
transform, or a legacy state's ``voxelSize``); [`State.annotations()`][tracertools.ngl.state.State.annotations] gives them in those
voxels or in nm.

Both state generations are read: the modern one (Spelunker and mainline neuroglancer:
``dimensions``, ``position``, layer sources with transforms) and the legacy Seung-lab one that
FlyWire's viewer uses (``navigation.pose.position.voxelSize/voxelCoordinates``, string sources,
``segmentation_with_graph`` layers). [`State.modern()`][tracertools.ngl.state.State.modern] converts a legacy state to its modern
equivalent.

Building states and links lives on the datastack (``ds.link(...)``, ``ds.state_for(...)``); the
layer builder [`annotation_layer()`][tracertools.ngl.build.annotation_layer] is here. This module imports numpy only.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tracertools.errors import InvalidStateError
from tracertools.ngl.build import annotation_layer, legacy_to_modern
from tracertools.ngl.records import (
    ANNOTATION_KEYS,
    SEGMENTATION_TYPES,
    AnnotationSet,
    Layer,
    Units,
    annotation_segments,
    annotation_vertices,
    dims_nm,
    parse_segment_id,
    source_entries,
    source_urls,
    triple,
)
from tracertools.ngl.urls import long_url, parse_link, plain_json, state_from_text

__all__ = ["AnnotationSet", "Layer", "State", "annotation_layer"]

FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class State:
    """A neuroglancer viewer state (JSON) with typed, read-only access.

    Args:
        data: the state as a dict (copied; numpy values become plain JSON).

    Raises:
        InvalidStateError: not a dict, or its ``layers`` are not a list of named layer objects
            (or the older ``{name: layer}`` mapping).
    """

    __slots__ = ("_data", "_layers")

    def __init__(self, data: Mapping[str, Any]) -> None:
        if isinstance(data, State):
            data = data._data
        if not isinstance(data, Mapping):
            raise InvalidStateError(
                f"a neuroglancer state must be a JSON object (dict), got {type(data).__name__}"
            )
        self._data: dict[str, Any] = plain_json(data)
        self._layers = self._named_layers()

    def _named_layers(self) -> list[tuple[str, dict[str, Any]]]:
        raw = self._data.get("layers", [])
        if isinstance(raw, dict):
            items = list(raw.items())
        elif isinstance(raw, list):
            items = []
            for i, layer in enumerate(raw):
                if not isinstance(layer, dict) or not isinstance(layer.get("name"), str):
                    raise InvalidStateError(f"layer {i} of the state is not a named layer object")
                items.append((layer["name"], layer))
        else:
            raise InvalidStateError(f"the state's 'layers' must be a list, got {raw!r:.60}")
        for name, layer in items:
            if not isinstance(layer, dict):
                raise InvalidStateError(f"layer {name!r} is not a JSON object")
        return items

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        """A state from a dict (copied)."""
        return cls(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> State:
        """A state from JSON text.

        Raises:
            InvalidStateError: malformed JSON or not an object.
        """
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return cls(state_from_text(text, "the text"))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> State:
        """A state from a JSON file (as neuroglancer's "Download JSON" saves it).

        Raises:
            FileNotFoundError: no such file.
            InvalidStateError: malformed JSON or not an object.
        """
        target = Path(path)
        return cls(state_from_text(target.read_text(encoding="utf-8"), str(target)))

    @classmethod
    def from_url(cls, url: str) -> State:
        """A state from a long share URL (``https://viewer/#!{...}``); no network.

        Raises:
            InvalidStateError: the URL carries no state, or points at a state service (a short
                link: fetch it with ``ds.state(url)``).
        """
        parsed = parse_link(url)
        if parsed.state is None:
            raise InvalidStateError(
                f"this link keeps its state on a state service (state {parsed.state_id}); "
                f"fetch it with ds.state(url)"
            )
        return cls(parsed.state)

    # ---- whole state --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the state as a JSON-compatible dict."""
        return copy.deepcopy(self._data)

    def to_json(self, *, indent: int | None = None) -> str:
        """The state as JSON text (compact unless ``indent`` is given)."""
        if indent is None:
            return json.dumps(self._data, separators=(",", ":"))
        return json.dumps(self._data, indent=indent)

    def to_url(self, viewer_site: str) -> str:
        """A long share URL: ``<viewer_site>/#!`` followed by the URL-quoted compact JSON."""
        return long_url(self._data, viewer_site)

    @property
    def is_legacy(self) -> bool:
        """Whether this is a legacy Seung-lab state (``navigation`` instead of ``dimensions``)."""
        return "dimensions" not in self._data and (
            "navigation" in self._data
            or any(layer.get("type") == "segmentation_with_graph" for _, layer in self._layers)
        )

    def modern(self) -> State:
        """This state in the modern format (a legacy state converted; a modern one copied).

        The legacy navigation becomes ``dimensions`` and ``position``, zooms are carried over
        (nm-based legacy zooms divided by the smallest voxel size), ``segmentation_with_graph``
        layers become ``segmentation`` layers, string sources and annotation layers'
        ``voxelSize`` become sources with transforms, and legacy annotation links become
        modern ones.
        """
        return State(legacy_to_modern(self._data)) if self.is_legacy else State(self._data)

    @property
    def dimensions(self) -> tuple[float, float, float] | None:
        """nm per viewer voxel (x, y, z), if the state records it."""
        dims = dims_nm(self._data.get("dimensions"))
        if dims is not None:
            return dims
        nav = self._data.get("navigation")
        if isinstance(nav, Mapping):
            pos = (nav.get("pose") or {}).get("position") or {}
            if isinstance(pos, Mapping):
                return triple(pos.get("voxelSize"))
        return None

    @property
    def position(self) -> FloatArray | None:
        """The view centre in viewer voxels, if the state records it."""
        value: Any = self._data.get("position")
        if value is None:
            nav = self._data.get("navigation")
            if isinstance(nav, Mapping):
                pos = (nav.get("pose") or {}).get("position") or {}
                value = pos.get("voxelCoordinates") if isinstance(pos, Mapping) else None
        coords = triple(value)
        return None if coords is None else np.array(coords, dtype=np.float64)

    # ---- layers -------------------------------------------------------------------------

    def _summary(self, name: str, layer: dict[str, Any]) -> Layer:
        annotations = layer.get("annotations")
        items = annotations if isinstance(annotations, list) else []
        kinds = sorted({str(a.get("type")) for a in items if isinstance(a, Mapping)})
        return Layer(
            name=name,
            type=str(layer.get("type", "")),
            sources=source_urls(layer.get("source")),
            visible=layer.get("visible", True) is not False,
            archived=layer.get("archived", False) is True,
            annotation_types=tuple(kinds),
            n_annotations=len(items),
        )

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every layer, in state order."""
        return tuple(self._summary(n, layer) for n, layer in self._layers)

    @property
    def layer_names(self) -> list[str]:
        """Layer names, in state order."""
        return [n for n, _ in self._layers]

    def _raw(self, name: str) -> dict[str, Any]:
        found = [layer for n, layer in self._layers if n == name]
        if not found:
            raise InvalidStateError(
                f"the state has no layer {name!r}; its layers are {self.layer_names}"
            )
        return found[-1]  # as neuroglancer (and the original) resolve duplicates: the last

    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (the last one, if several share the name).

        Raises:
            InvalidStateError: no such layer (the message lists the layers).
        """
        return self._summary(name, self._raw(name))

    def layer_json(self, name: str) -> dict[str, Any]:
        """A deep copy of the layer's JSON.

        Raises:
            InvalidStateError: no such layer.
        """
        return copy.deepcopy(self._raw(name))

    def segmentation_layers(self) -> list[Layer]:
        """Layers holding segments, in state order."""
        return [layer for layer in self.layers if layer.is_segmentation]

    def annotation_layers(self) -> list[Layer]:
        """Annotation layers, in state order."""
        return [layer for layer in self.layers if layer.type == "annotation"]

    def point_layers(self, *, visible_only: bool = False) -> list[Layer]:
        """Non-empty, non-archived annotation layers whose annotations are all points.

        Chosen by the annotations' types, not by the layer's ``tool`` key (often missing).

        Args:
            visible_only: also skip layers hidden in the viewer.
        """
        return [
            layer for layer in self.layers
            if layer.is_point_layer and not layer.archived and (layer.visible or not visible_only)
        ]

    def layer_resolution(self, name: str) -> tuple[float, float, float] | None:
        """nm per voxel of a layer's coordinates, if the state records it.

        From the layer's source transform (input, else output dimensions), a legacy layer's
        ``voxelSize``, else the state's `dimensions`.
        """
        layer = self._raw(name)
        for entry in source_entries(layer.get("source")):
            transform = entry.get("transform") if isinstance(entry, Mapping) else None
            if isinstance(transform, Mapping):
                for key in ("inputDimensions", "outputDimensions"):
                    dims = dims_nm(transform.get(key))
                    if dims is not None:
                        return dims
        if "voxelSize" in layer:
            size = triple(layer["voxelSize"])
            if size is not None:
                return size
        return self.dimensions

    # ---- segments -----------------------------------------------------------------------

    def _segmentation(self, layer: str | None) -> list[tuple[str, dict[str, Any]]]:
        if layer is not None:
            raw = self._raw(layer)
            if raw.get("type") not in SEGMENTATION_TYPES:
                raise InvalidStateError(
                    f"layer {layer!r} is a {raw.get('type')!r} layer, not a segmentation layer"
                )
            return [(layer, raw)]
        return [(n, lay) for n, lay in self._layers if lay.get("type") in SEGMENTATION_TYPES]

    def segments(
        self, layer: str | None = None, *, include_hidden: bool = True
    ) -> npt.NDArray[np.uint64]:
        """Selected segment IDs as ``uint64``, in state order, each once.

        Args:
            layer: one segmentation layer; None gathers every segmentation layer.
            include_hidden: include segments selected but hidden (``"!id"``, or a legacy
                ``hiddenSegments`` list).

        Raises:
            InvalidStateError: no such layer, not a segmentation layer, or a malformed ID.
        """
        out: dict[int, None] = {}
        for name, raw in self._segmentation(layer):
            where = f"layer {name!r}"
            for value in raw.get("segments") or []:
                if include_hidden or not str(value).startswith("!"):
                    out[parse_segment_id(value, where)] = None
            if include_hidden:
                for value in raw.get("hiddenSegments") or []:
                    out[parse_segment_id(value, where)] = None
        return np.array(list(out), dtype=np.uint64)

    def segment_colors(self, layer: str | None = None) -> dict[int, str]:
        """Segment colours (``{id: "#rrggbb"}``) of one or every segmentation layer.

        Raises:
            InvalidStateError: no such layer, not a segmentation layer, or a malformed ID.
        """
        out: dict[int, str] = {}
        for name, raw in self._segmentation(layer):
            colors = raw.get("segmentColors") or {}
            if not isinstance(colors, Mapping):
                raise InvalidStateError(f"layer {name!r}: 'segmentColors' must be an object")
            for key, color in colors.items():
                out.setdefault(parse_segment_id(key, f"layer {name!r}"), str(color))
        return out

    def with_segment_ids(
        self, mapping: Mapping[int, int], *, layers: Iterable[str] | None = None
    ) -> State:
        """A copy with segment IDs replaced in segmentation layers (selection and colours).

        Order is kept, a hidden ``!`` mark (or a legacy ``hiddenSegments`` entry) stays hidden,
        and IDs that become equal are kept once (the first occurrence and colour win).

        Args:
            mapping: old ID -> new ID; IDs not in it are unchanged.
            layers: names of the layers to change; None changes every segmentation layer.
        """
        data = self.to_dict()
        chosen = set(layers) if layers is not None else None
        items = data["layers"].items() if isinstance(data.get("layers"), dict) else [
            (layer["name"], layer) for layer in data.get("layers", [])
        ]
        for name, raw in items:
            if raw.get("type") not in SEGMENTATION_TYPES or (chosen is not None
                                                             and name not in chosen):
                continue
            where = f"layer {name!r}"
            taken: set[int] = set()
            for key in ("segments", "hiddenSegments"):  # the latter in legacy states
                if not isinstance(raw.get(key), list):
                    continue
                kept: list[str] = []
                for value in raw[key]:
                    old = parse_segment_id(value, where)
                    new = int(mapping.get(old, old))
                    if new not in taken:
                        taken.add(new)
                        kept.append(("!" if str(value).startswith("!") else "") + str(new))
                raw[key] = kept
            if isinstance(raw.get("segmentColors"), dict):
                colors: dict[str, Any] = {}
                for key, color in raw["segmentColors"].items():
                    old = parse_segment_id(key, where)
                    colors.setdefault(str(int(mapping.get(old, old))), color)
                raw["segmentColors"] = colors
        return State(data)

    # ---- annotations --------------------------------------------------------------------

    def annotations(
        self,
        layer: str,
        *,
        units: Units = "voxels",
        default_resolution: Sequence[float] | None = None,
    ) -> AnnotationSet:
        """The annotations of an annotation layer.

        Args:
            layer: the layer name.
            units: ``"voxels"``: as stored, in viewer voxels (see [`layer_resolution()`][tracertools.ngl.state.State.layer_resolution]);
                ``"nm"``: multiplied by the layer's resolution.
            default_resolution: nm per voxel to assume when the state records none (e.g.
                ``ds.config.resolution``).

        Raises:
            InvalidStateError: no such layer, not an annotation layer, a malformed annotation,
                or ``units="nm"`` with no resolution known.
        """
        raw = self._raw(layer)
        if raw.get("type") != "annotation":
            raise InvalidStateError(
                f"layer {layer!r} is a {raw.get('type')!r} layer, not an annotation layer"
            )
        if units not in ("voxels", "nm"):
            raise InvalidStateError(f"units must be 'voxels' or 'nm', got {units!r}")
        resolution = self.layer_resolution(layer)
        if resolution is None and default_resolution is not None:
            resolution = triple(default_resolution)
        if units == "nm" and resolution is None:
            raise InvalidStateError(
                f"the state does not record the resolution of layer {layer!r}; pass "
                f"default_resolution (nm per voxel) to convert to nm"
            )
        scale = np.asarray(resolution, dtype=np.float64) if units == "nm" else None
        items = raw.get("annotations") or []
        if not isinstance(items, list):
            raise InvalidStateError(f"layer {layer!r}: 'annotations' must be a list")
        ids, types, verts, descs, segs = [], [], [], [], []
        for i, item in enumerate(items):
            where = f"layer {layer!r}, annotation {i}"
            if not isinstance(item, Mapping):
                raise InvalidStateError(f"{where} is not a JSON object")
            kind = item.get("type")
            if kind not in ANNOTATION_KEYS:
                raise InvalidStateError(f"{where} has unknown type {kind!r}")
            rows = annotation_vertices(item, str(kind), where)
            verts.append(rows * scale if scale is not None else rows)
            ids.append(str(item.get("id", "")))
            types.append(str(kind))
            desc = item.get("description")
            descs.append(None if desc is None else str(desc))
            segs.append(annotation_segments(item.get("segments"), where))
        return AnnotationSet(layer, units, resolution, tuple(ids), tuple(types), tuple(verts),
                             tuple(descs), tuple(segs))

    # ---- value semantics ----------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return self._data == other._data

    __hash__ = None  # type: ignore[assignment]  # equal by value; the dict is mutable inside

    def __repr__(self) -> str:
        kind = "legacy " if self.is_legacy else ""
        return f"State({kind}layers={self.layer_names})"
