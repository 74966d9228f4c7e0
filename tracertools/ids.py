"""Segment ID validation: every ID becomes an exact uint64 before any request is made.

Spreadsheets and CSV readers turn 18-digit IDs into floats such as ``7.205759e17``, which no
longer name one segment. Rather than guessing, tracertools refuses such values with an
:class:`~tracertools.errors.InvalidSegmentIdError` naming the value and its position.

Accepted: Python and numpy integers, and strings of decimal digits (surrounding whitespace is
ignored), in ``1 .. 2**64 - 1``; floats only when they are whole numbers below ``2**53`` (where a
float still names exactly one integer). Refused: bools, negatives, zero (the background label),
values ``>= 2**64``, NaN and infinities, inexact floats, empty or non-numeric strings, None.

Also here: :class:`Candidate`, the record naming a current segment that holds part of an
older one (what ``SegmentList.current_id_candidates`` returns).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tracertools.errors import InvalidSegmentIdError

__all__ = ["MAX_SEGMENT_ID", "Candidate", "as_segment_id", "as_segment_ids"]

#: The largest value a segment ID (uint64) can take.
MAX_SEGMENT_ID = 2**64 - 1
_FLOAT_EXACT_LIMIT = 2**53


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
    if not stripped.isascii() or not stripped.lstrip("-").isdigit():
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
    if isinstance(values, (str, bytes, numbers.Integral, np.integer)):
        raise InvalidSegmentIdError(values, None, "expected a list of IDs, not a single value")
    if isinstance(values, np.ndarray) and values.dtype.kind in "ui" and values.ndim == 1:
        if values.dtype.kind == "i" and values.size and int(values.min()) <= 0:
            bad = int(np.flatnonzero(values <= 0)[0])
            as_segment_id(values[bad], bad)
        if values.dtype.kind == "u" and values.size and int(values.min()) == 0:
            bad = int(np.flatnonzero(values == 0)[0])
            as_segment_id(values[bad], bad)
        return values.astype(np.uint64, copy=True)
    checked = [as_segment_id(value, i) for i, value in enumerate(values)]
    return np.asarray(checked, dtype=np.uint64).reshape(-1)
