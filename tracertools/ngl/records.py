"""Records read from neuroglancer states: layer summaries, annotation sets, small readers.

Used by [`tracertools.ngl.State`][tracertools.ngl.state.State]; the public names are re-exported by
`tracertools.ngl`. numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tracertools.errors import InvalidStateError

__all__ = ["ANNOTATION_KEYS", "SEGMENTATION_TYPES", "AnnotationSet", "Layer"]

FloatArray = npt.NDArray[np.float64]
Units = Literal["voxels", "nm"]

#: Layer types holding segment IDs (modern, and legacy Seung-lab).
SEGMENTATION_TYPES = frozenset({"segmentation", "segmentation_with_graph"})
#: Annotation types and the keys of their vertices, in order.
ANNOTATION_KEYS: dict[str, tuple[str, ...]] = {
    "point": ("point",),
    "line": ("pointA", "pointB"),
    "axis_aligned_bounding_box": ("pointA", "pointB"),
    "ellipsoid": ("center", "radii"),
    "polyline": ("points",),
}
_UNIT_NM = {"m": 1e9, "mm": 1e6, "um": 1e3, "µm": 1e3, "nm": 1.0}


@dataclass(frozen=True)
class Layer:
    """One layer of a state (a summary; [`State.layer_json()`][tracertools.ngl.state.State.layer_json] gives the full JSON).

    Attributes:
        name: the layer name.
        type: neuroglancer layer type (``"image"``, ``"segmentation"``,
            ``"segmentation_with_graph"``, ``"annotation"``, ...).
        sources: the layer's source URLs, in order.
        visible: False if the layer is hidden in the viewer.
        archived: True if the layer is archived (kept in the state, not shown).
        annotation_types: the types of its annotations, sorted (annotation layers).
        n_annotations: how many annotations it holds.
    """

    name: str
    type: str
    sources: tuple[str, ...]
    visible: bool
    archived: bool
    annotation_types: tuple[str, ...]
    n_annotations: int

    @property
    def source(self) -> str | None:
        """The first source URL, if any."""
        return self.sources[0] if self.sources else None

    @property
    def is_segmentation(self) -> bool:
        """Whether the layer holds segments (``segmentation`` or ``segmentation_with_graph``)."""
        return self.type in SEGMENTATION_TYPES

    @property
    def is_point_layer(self) -> bool:
        """Whether the layer is a non-empty annotation layer holding points only."""
        return (self.type == "annotation" and self.n_annotations > 0
                and self.annotation_types == ("point",))


@dataclass(frozen=True, eq=False)
class AnnotationSet:
    """The annotations of one layer, aligned by position.

    Attributes:
        layer: the layer name.
        units: ``"voxels"`` (viewer voxels at ``resolution``) or ``"nm"``.
        resolution: nm per voxel of the layer's coordinates, if the state records it.
        ids: annotation IDs.
        types: annotation types (``"point"``, ``"line"``, ``"axis_aligned_bounding_box"``,
            ``"ellipsoid"``, ``"polyline"``).
        vertices: per annotation a ``(k, 3)`` float64 array: a point (k=1); a line's or a
            box's two corners; an ellipsoid's centre then radii; a polyline's points.
        descriptions: per annotation its description, or None.
        segments: per annotation its linked segment IDs (empty if none).
    """

    layer: str
    units: Units
    resolution: tuple[float, float, float] | None
    ids: tuple[str, ...]
    types: tuple[str, ...]
    vertices: tuple[FloatArray, ...]
    descriptions: tuple[str | None, ...]
    segments: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.ids)

    def _stack(self, kind: str, rows: int) -> FloatArray:
        chosen = [v for v, t in zip(self.vertices, self.types, strict=True) if t == kind]
        if not chosen:
            return np.empty((0, 3) if rows == 1 else (0, rows, 3), dtype=np.float64)
        stacked = np.stack(chosen)
        return stacked[:, 0, :] if rows == 1 else stacked

    @property
    def points(self) -> FloatArray:
        """``(n, 3)`` coordinates of the point annotations."""
        return self._stack("point", 1)

    @property
    def lines(self) -> FloatArray:
        """``(n, 2, 3)`` end points of the line annotations."""
        return self._stack("line", 2)

    @property
    def boxes(self) -> FloatArray:
        """``(n, 2, 3)`` opposite corners of the axis-aligned bounding boxes."""
        return self._stack("axis_aligned_bounding_box", 2)

    @property
    def ellipsoids(self) -> FloatArray:
        """``(n, 2, 3)`` centre (row 0) and radii (row 1) of the ellipsoids."""
        return self._stack("ellipsoid", 2)

    def of_type(self, kind: str) -> AnnotationSet:
        """The annotations of one type, in order."""
        keep = [i for i, t in enumerate(self.types) if t == kind]
        return AnnotationSet(
            self.layer, self.units, self.resolution,
            tuple(self.ids[i] for i in keep), tuple(self.types[i] for i in keep),
            tuple(self.vertices[i] for i in keep), tuple(self.descriptions[i] for i in keep),
            tuple(self.segments[i] for i in keep),
        )

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for t in self.types:
            counts[t] = counts.get(t, 0) + 1
        shown = ", ".join(f"{n} {t}" for t, n in counts.items()) or "empty"
        return f"AnnotationSet({self.layer!r}, {shown}, units={self.units!r})"


# --------------------------------------------------------------------------------------------
# Small readers
# --------------------------------------------------------------------------------------------


def dims_nm(dims: Any) -> tuple[float, float, float] | None:
    """nm per voxel of the x, y, z axes of a neuroglancer coordinate space, if it has them."""
    if not isinstance(dims, Mapping) or not dims:
        return None
    axes = [dims[k] for k in ("x", "y", "z") if k in dims] if "x" in dims else list(dims.values())
    if len(axes) < 3:
        return None
    out = []
    for axis in axes[:3]:
        if not (isinstance(axis, Sequence) and len(axis) == 2 and axis[1] in _UNIT_NM):
            return None
        try:
            # 12 significant digits drop the float noise of metres * 1e9 (4.5e-08 m is 45 nm)
            out.append(float(f"{float(axis[0]) * _UNIT_NM[axis[1]]:.12g}"))
        except (TypeError, ValueError):
            return None
    return out[0], out[1], out[2]


def triple(value: Any) -> tuple[float, float, float] | None:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if arr.size < 3 or not np.all(np.isfinite(arr[:3])):
        return None
    return float(arr[0]), float(arr[1]), float(arr[2])


def source_entries(source: Any) -> list[Any]:
    if source is None:
        return []
    return list(source) if isinstance(source, list) else [source]


def source_urls(source: Any) -> tuple[str, ...]:
    urls = []
    for entry in source_entries(source):
        url = entry.get("url") if isinstance(entry, Mapping) else entry
        if isinstance(url, str):
            urls.append(url)
    return tuple(urls)


def parse_segment_id(value: Any, where: str) -> int:
    text = str(value).strip()
    if text.startswith("!"):
        text = text[1:]
    if not text.isdigit() or int(text) >= 2**64:
        raise InvalidStateError(f"{where}: {value!r} is not a segment ID")
    return int(text)


def annotation_segments(value: Any, where: str) -> tuple[int, ...]:
    """Linked segment IDs of one annotation: modern ``[[ids]]`` or legacy ``[ids]``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidStateError(f"{where}: 'segments' must be a list, got {value!r}")
    flat: list[Any] = []
    for item in value:
        flat.extend(item if isinstance(item, list) else [item])
    return tuple(parse_segment_id(v, where) for v in flat)


def annotation_vertices(item: Mapping[str, Any], kind: str, where: str) -> FloatArray:
    if kind == "polyline":
        values: Any = item.get("points")
    else:
        values = [item.get(key) for key in ANNOTATION_KEYS[kind]]
    try:
        rows = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidStateError(f"{where}: malformed {kind} coordinates {values!r:.80}") from None
    if rows.ndim != 2 or rows.shape[1] < 3 or rows.shape[0] == 0:
        raise InvalidStateError(f"{where}: malformed {kind} coordinates {values!r:.80}")
    rows = np.ascontiguousarray(rows[:, :3])
    if not np.all(np.isfinite(rows)):
        raise InvalidStateError(f"{where}: non-finite {kind} coordinates")
    return rows
