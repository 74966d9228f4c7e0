"""Segment ID validation: every ID becomes an exact uint64 before any request is made.

Spreadsheets and CSV readers turn 18-digit IDs into floats such as ``7.205759e17``, which no
longer name one segment. Rather than guessing, tracertools refuses such values with an
:class:`~tracertools.errors.InvalidSegmentIdError` naming the value and its position.

Accepted: Python and numpy integers, and strings of decimal digits (surrounding whitespace is
ignored), in ``1 .. 2**64 - 1``; floats only when they are whole numbers below ``2**53`` (where a
float still names exactly one integer). Refused: bools, negatives, zero (the background label),
values ``>= 2**64``, NaN and infinities, inexact floats, empty or non-numeric strings (``"--5"``
too), None, masked entries of masked arrays, and 0-d or multi-dimensional arrays where a list is
expected. :func:`as_supervoxel_ids` applies the same rules but keeps 0 (a point on background).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from tracertools.errors import InvalidSegmentIdError

__all__ = ["MAX_SEGMENT_ID", "as_segment_id", "as_segment_ids", "as_supervoxel_ids"]

#: The largest value a segment ID (uint64) can take.
MAX_SEGMENT_ID = 2**64 - 1
_FLOAT_EXACT_LIMIT = 2**53
_DIGITS = re.compile(r"-?[0-9]+")


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
    """Like :func:`as_segment_ids`, but 0 (background, e.g. a point outside every neuron) is
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
