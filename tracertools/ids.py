"""Segment ID validation: every ID becomes an exact uint64 before any request is made.

Spreadsheets and CSV readers turn 18-digit IDs into floats such as ``7.205759e17``, which no
longer name one segment. Rather than guessing, tracertools refuses such values with an
[`InvalidSegmentIdError`][tracertools.errors.InvalidSegmentIdError] naming the value and its position.

Accepted: Python and numpy integers, and strings of decimal digits (surrounding whitespace is
ignored), in ``1 .. 2**64 - 1``; floats only when they are whole numbers below ``2**53`` (where a
float still names exactly one integer). Refused: bools, negatives, zero (the background label),
values ``>= 2**64``, NaN and infinities, inexact floats, empty or non-numeric strings (``"--5"``
too), None, masked entries of masked arrays, and 0-d or multi-dimensional arrays where a list is
expected. [`as_supervoxel_ids()`][tracertools.ids.as_supervoxel_ids] applies the same rules but keeps 0 (a point on background).

Also here: [`Candidate`][tracertools.ids.Candidate], the record naming a current segment that holds part of an
older one (what ``SegmentList.current_id_candidates`` returns).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tracertools.errors import InvalidSegmentIdError

__all__ = [
    "ID_KINDS",
    "MAX_SEGMENT_ID",
    "Candidate",
    "IdClasses",
    "IdLayout",
    "as_segment_id",
    "as_segment_ids",
    "as_supervoxel_ids",
    "classify_ids",
    "layer_reason",
    "parse_id_cell",
    "refuse_lossy_floats",
]

#: The largest value a segment ID (uint64) can take.
MAX_SEGMENT_ID = 2**64 - 1
_FLOAT_EXACT_LIMIT = 2**53
_DIGITS = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Candidate:
    """A current segment that holds part of a (possibly stale) segment.

    Attributes:
        segment_id: the current segment ID.
        fraction: the share of the old segment's supervoxels it holds (0-1].
    """

    segment_id: int
    fraction: float


def as_segment_id(value: Any, position: int | None = None) -> int:
    """Return ``value`` as an exact segment ID (a Python int in ``1 .. 2**64-1``).

    Args:
        value: an int, numpy integer, whole float below 2**53, or a string of digits.
        position: the value's index in a list, named in the error message.

    Raises:
        InvalidSegmentIdError: the value cannot name exactly one segment.

    Example:
        >>> as_segment_id(" 720575941473274509 ")
        720575941473274509
    """
    if value is None:
        raise InvalidSegmentIdError(value, position, "missing value")
    if isinstance(value, (bool, np.bool_)):
        raise InvalidSegmentIdError(value, position, "a bool is not a segment ID")
    if isinstance(value, (numbers.Integral, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)):
        number = _from_float(float(value), value, position)
    elif isinstance(value, (str, np.str_)):
        number = _from_string(str(value), value, position)
    else:
        raise InvalidSegmentIdError(
            value, position, f"expected an int or a string of digits, got {type(value).__name__}"
        )
    if number < 0:
        raise InvalidSegmentIdError(value, position, "segment IDs are not negative")
    if number == 0:
        raise InvalidSegmentIdError(value, position, "0 is the background label, not a segment")
    if number > MAX_SEGMENT_ID:
        raise InvalidSegmentIdError(value, position, "larger than the uint64 maximum 2**64-1")
    return number


def _from_float(number: float, original: Any, position: int | None) -> int:
    if math.isnan(number) or math.isinf(number):
        raise InvalidSegmentIdError(original, position, "not a number")
    if not number.is_integer():
        raise InvalidSegmentIdError(original, position, "not a whole number")
    if abs(number) >= _FLOAT_EXACT_LIMIT:
        raise InvalidSegmentIdError(
            original,
            position,
            "a float this large cannot hold an exact segment ID (its last digits are lost, as "
            "when a spreadsheet shows 7.205759e17); pass IDs as int or str",
        )
    return int(number)


def _from_string(text: str, original: Any, position: int | None) -> int:
    stripped = text.strip()
    if not stripped:
        raise InvalidSegmentIdError(original, position, "empty string")
    if not _DIGITS.fullmatch(stripped):
        raise InvalidSegmentIdError(
            original, position, "a string ID must contain only the digits 0-9"
        )
    return int(stripped)


def as_segment_ids(values: Iterable[Any]) -> npt.NDArray[np.uint64]:
    """Validate many IDs at once and return them as a ``uint64`` array in input order.

    Duplicates are kept. A bare string or a single int is refused (wrap it in a list), so a
    string of digits is never read as a list of one-digit IDs.

    Raises:
        InvalidSegmentIdError: the first invalid value, with its position.
    """
    return _as_ids(values, allow_zero=False)


def as_supervoxel_ids(values: Iterable[Any]) -> npt.NDArray[np.uint64]:
    """Like [`as_segment_ids()`][tracertools.ids.as_segment_ids], but 0 (background, e.g. a point outside every neuron) is
    kept as 0.

    Raises:
        InvalidSegmentIdError: the first invalid value, with its position.
    """
    return _as_ids(values, allow_zero=True)


def _as_ids(values: Iterable[Any], *, allow_zero: bool) -> npt.NDArray[np.uint64]:
    if isinstance(values, (str, bytes, numbers.Integral, np.integer)):
        raise InvalidSegmentIdError(values, None, "expected a list of IDs, not a single value")
    if np.ma.isMaskedArray(values):
        masked = np.flatnonzero(np.ma.getmaskarray(values))
        if masked.size:
            raise InvalidSegmentIdError(
                np.ma.masked, int(masked[0]),
                "a masked (missing) entry; drop or fill masked entries first"
            )
        values = np.asarray(np.ma.getdata(values))
    if isinstance(values, np.ndarray) and values.ndim != 1:
        if values.ndim == 0:
            raise InvalidSegmentIdError(
                values, None, "expected a list of IDs, not a single value (a 0-d array)")
        raise InvalidSegmentIdError(
            f"array of shape {values.shape}", None, "expected a flat list of IDs")
    if isinstance(values, np.ndarray) and values.dtype.kind in "ui":
        low = 0 if allow_zero else 1
        if values.size and int(values.min()) < low:
            bad = int(np.flatnonzero(values < low)[0])
            as_segment_id(values[bad], bad)
        return values.astype(np.uint64, copy=True)
    checked = [0 if allow_zero and _is_zero(value) else as_segment_id(value, i)
               for i, value in enumerate(values)]
    return np.asarray(checked, dtype=np.uint64).reshape(-1)


def _is_zero(value: Any) -> bool:
    """Whether ``value`` is an exact zero (int, whole float or the string "0")."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value) == 0
    if isinstance(value, (float, np.floating)):
        return float(value) == 0.0
    if isinstance(value, (str, np.str_)):
        text = str(value).strip()
        return bool(_DIGITS.fullmatch(text)) and int(text) == 0
    return False


# --------------------------------------------------------------------------------------------
# Messy ID lists: lenient cell parsing and graphene layer classification (issue 12)
# --------------------------------------------------------------------------------------------

#: Kinds of value in an ID list, as `classify_ids` names them.
ROOT = "root"
L2 = "l2"
SUPERVOXEL = "supervoxel"
OTHER_LAYER = "other layer"
MALFORMED = "malformed"
BLANK = "blank"
ID_KINDS = (ROOT, L2, SUPERVOXEL, OTHER_LAYER, MALFORMED, BLANK)

#: Layer bits of a graphene node ID (PyChunkedGraph's ``n_bits_for_layer_id``, always 8 so far).
DEFAULT_LAYER_BITS = 8

_TRAILING_ZEROS = re.compile(r"^(\d+)\.0*$")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")


@dataclass(frozen=True)
class IdLayout:
    """How a graphene (PyChunkedGraph) node ID packs its layer.

    The top ``layer_bits`` bits of a uint64 node ID hold its layer: 1 for supervoxels, 2 for
    level-2 nodes, ``n_layers`` for roots (segments); 0 and layers above ``n_layers`` name no
    node. cloud-volume's graphene metadata (``decode_layer_id``) and caveclient read it the
    same way.

    Attributes:
        n_layers: the chunkedgraph's layer count (``graph.n_layers`` of its info); roots live
            on this layer.
        layer_bits: bits holding the layer (``graph.n_bits_for_layer_id``, default 8).
    """

    n_layers: int
    layer_bits: int = DEFAULT_LAYER_BITS

    def layers(self, ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """The layer of each ID (0 for IDs too small to carry one)."""
        shift = np.uint64(64 - self.layer_bits)
        return (np.asarray(ids, dtype=np.uint64) >> shift).astype(np.int64)

    def kinds(self, ids: npt.NDArray[np.uint64]) -> list[str]:
        """`ROOT`, `L2`, `SUPERVOXEL`, `OTHER_LAYER` or
        `MALFORMED` (layer 0, above ``n_layers``, or the ID 0) for each ID."""
        out = []
        for value, layer in zip(np.asarray(ids, dtype=np.uint64).tolist(),
                                self.layers(ids).tolist(), strict=True):
            out.append(_kind_of(int(value), int(layer), self.n_layers))
        return out


def _kind_of(value: int, layer: int, n_layers: int) -> str:
    if value == 0 or layer == 0 or layer > n_layers:
        return MALFORMED
    if layer == n_layers:
        return ROOT
    return {1: SUPERVOXEL, 2: L2}.get(layer, OTHER_LAYER)


def layer_reason(value: int, kind: str, layer: int, n_layers: int) -> str:
    """Why an ID of ``kind`` is not a segment (root) ID, in words ("" for a root)."""
    if kind == ROOT:
        return ""
    if kind == SUPERVOXEL:
        return "a supervoxel ID (layer 1), not a segment (root) ID"
    if kind == L2:
        return "a level-2 node ID (layer 2), not a segment (root) ID"
    if kind == OTHER_LAYER:
        return (f"a layer-{layer} node ID; segment (root) IDs are on layer {n_layers} and only "
                f"supervoxel and level-2 IDs are resolved to their segments")
    if value == 0:
        return "0 is the background label, not a segment"
    if layer == 0:
        return (f"too small to be a node ID of this chunkedgraph (its layer bits are 0; segment "
                f"IDs are on layer {n_layers}): a truncated or mistyped ID?")
    return f"names layer {layer}, but this chunkedgraph has {n_layers} layers"


def parse_id_cell(value: Any, position: int | None = None) -> int | None:
    """Read one value of a messy ID list (a sheet cell, a CSV field) as an exact segment ID.

    More forgiving than [`as_segment_id()`][tracertools.ids.as_segment_id] where nothing can be lost: text with a trailing
    ``.0`` (``"720575940379279359.0"``, as spreadsheets export whole numbers) is read as the
    integer it spells. Blank values (None, NaN, empty or whitespace-only text) give None.
    Everything [`as_segment_id()`][tracertools.ids.as_segment_id] refuses is refused here too, with a reason that says what
    went wrong (for example digits lost in a float or in scientific notation).

    Raises:
        InvalidSegmentIdError: the value cannot name exactly one segment.
    """
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(float(value))):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, (str, np.str_)):
        text = str(value).strip()
        if not text:
            return None
        match = _TRAILING_ZEROS.match(text)
        if match:
            return as_segment_id(match.group(1), position)
        if _SCIENTIFIC.match(text):
            raise InvalidSegmentIdError(
                value, position, "scientific notation: the last digits of the ID are lost (as "
                "when a spreadsheet shows 7.20576E+17); format the column as plain text")
        if any(ch.isspace() for ch in text):
            raise InvalidSegmentIdError(value, position,
                                        "contains spaces: more than one ID in one cell?")
    return as_segment_id(value, position)


@dataclass(frozen=True)
class IdClasses:
    """The classes of a list of values, aligned with it (see [`classify_ids()`][tracertools.ids.classify_ids]).

    Attributes:
        segment_ids: each value as a uint64 ID (0 where it is blank or malformed text).
        kinds: one of `ID_KINDS` per value.
        layers: each ID's layer (0 where there is no ID).
        reasons: why a value is not a usable segment ID ("" for roots).
        first_positions: the position of the first value with the same ID (itself if first;
            -1 where there is no ID).
    """

    segment_ids: npt.NDArray[np.uint64]
    kinds: list[str]
    layers: npt.NDArray[np.int64]
    reasons: list[str]
    first_positions: npt.NDArray[np.int64]


def classify_ids(values: Iterable[Any], layout: IdLayout | None) -> IdClasses:
    """Class every value of an ID list locally, from the chunkedgraph's ID layout (no request).

    Blank values are `BLANK`; values that are not exact uint64 IDs (lossy floats, text
    that is not digits, negatives, 0) and IDs on no layer of ``layout`` are
    `MALFORMED`; the others are `ROOT`, `L2`, `SUPERVOXEL` or
    `OTHER_LAYER` by their layer bits. Without a layout (a segmentation with no
    chunkedgraph) every exact ID is a `ROOT`.
    """
    if isinstance(values, (str, bytes)):
        raise InvalidSegmentIdError(values, None, "expected a list of IDs, not a single value")
    items = list(values.tolist() if isinstance(values, np.ndarray) else values)
    n = len(items)
    ids = np.zeros(n, dtype=np.uint64)
    kinds: list[str] = [MALFORMED] * n
    reasons: list[str] = [""] * n
    parsed = np.zeros(n, dtype=bool)
    for i, value in enumerate(items):
        try:
            number = parse_id_cell(value, i)
        except InvalidSegmentIdError as exc:
            reasons[i] = exc.reason
            continue
        if number is None:
            kinds[i] = BLANK
            continue
        ids[i] = number
        parsed[i] = True
    layers = np.where(parsed, layout.layers(ids), 0) if layout is not None else np.zeros(n)
    first = np.full(n, -1, dtype=np.int64)
    seen: dict[int, int] = {}
    for i in np.flatnonzero(parsed).tolist():
        value = int(ids[i])
        layer = int(layers[i])
        if layout is not None:
            kinds[i] = _kind_of(value, layer, layout.n_layers)
            reasons[i] = layer_reason(value, kinds[i], layer, layout.n_layers)
        else:
            kinds[i] = ROOT
        first[i] = seen.setdefault(value, i)
    return IdClasses(ids, kinds, layers.astype(np.int64), reasons, first)


def refuse_lossy_floats(values: Any, where: str) -> None:
    """Refuse floats too large to be exact (``>= 2**53``) among query values, naming ``where``.

    A table filter such as ``{"pt_root_id": [7.205759403792794e17]}`` would otherwise match a
    different segment than the one meant (the float's last digits are gone).

    Raises:
        InvalidSegmentIdError: a float at or above 2**53 (or NaN), with its position.
    """
    if isinstance(values, np.ndarray):
        if values.dtype.kind != "f":
            return
        flat = values.reshape(-1)
        bad = np.flatnonzero(~np.isfinite(flat) | (np.abs(flat) >= _FLOAT_EXACT_LIMIT))
        if bad.size:
            _refuse_float(flat[int(bad[0])], int(bad[0]), where)
        return
    for i, value in enumerate(values):
        if isinstance(value, (float, np.floating)) and not (
                math.isfinite(float(value)) and abs(float(value)) < _FLOAT_EXACT_LIMIT):
            _refuse_float(value, i, where)


def _refuse_float(value: Any, position: int, where: str) -> None:
    raise InvalidSegmentIdError(
        value, position, f"in {where}: a float this large cannot hold an exact ID (its last "
        f"digits are lost, so it would match another segment); pass IDs as int or str")
