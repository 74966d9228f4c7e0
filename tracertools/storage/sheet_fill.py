"""Cell encoding and fill/write helpers behind :class:`tracertools.storage.sheet.Tab`.

Pure helpers: Python values to RAW-input cells, A1 column letters and grid sizes, the batch
bookkeeping of :meth:`~tracertools.storage.sheet.Tab.fill_columns`, and gspread's enum values. Part of
the Sheets seam (:mod:`tracertools.storage.sheet` and its ``sheet_*`` helper modules): gspread is
imported only inside functions, for its ``utils``.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tracertools.errors import InvalidInputError

#: Integers at or above this size are written as text: Sheets stores numbers as doubles.
_EXACT_INT_LIMIT = 2**53

#: ``compute`` of :meth:`~tracertools.storage.sheet.Tab.fill_columns`: ID texts in, one row each out.
ComputeRows = Callable[[list[str]], Sequence[Any]]


class MarkedFailure:
    """A ``compute`` result for an ID that failed for good: the row still gets ``values``
    (typically empty cells and the reason in a status column), so later calls skip it.

    Attributes:
        error: the failure, reported under the fill's ``errors=`` policy.
        values: the row to write (as many values as the header has names).
    """

    __slots__ = ("error", "values")

    def __init__(self, error: BaseException, values: Sequence[Any]) -> None:
        self.error = error
        self.values = list(values)


def _col_letters(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _grid_size(echoed_range: str) -> tuple[int, int]:
    """(rows, columns) of the grid from a whole-grid echo such as ``'T'!A1:Z1000``."""
    from gspread.utils import a1_range_to_grid_range

    cells = echoed_range.rsplit("!", 1)[-1]
    grid = a1_range_to_grid_range(cells)
    return int(grid.get("endRowIndex", 0)), int(grid.get("endColumnIndex", 0))


def _cell(value: Any) -> Any:
    """A Python value as a RAW-input JSON cell: big ints as text, NaN/None as empty."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        number = int(value)
        return number if abs(number) < _EXACT_INT_LIMIT else str(number)
    if isinstance(value, numbers.Real):
        real = float(value)
        return real if math.isfinite(real) else ""
    if isinstance(value, str):
        return value
    if type(value).__name__ in ("NAType", "NaTType"):
        return ""
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _value_range() -> Any:
    from gspread.utils import GridRangeType

    return GridRangeType.ValueRange


def _raw_input() -> Any:
    from gspread.utils import ValueInputOption

    return ValueInputOption.raw


def _by_columns() -> Any:
    from gspread.utils import Dimension

    return Dimension.cols


def _first_row(a1: str, *, default: int) -> int:
    match = re.match(r"\$?[A-Za-z]+\$?(\d+)", a1.rsplit("!", 1)[-1])
    return int(match.group(1)) if match else default


def _compute_batch(
    compute: ComputeRows, batch: list[tuple[int, str]], width: int, offset: int,
    failures: dict[int, BaseException], marked: set[int] | None = None,
) -> list[tuple[int, list[Any]]]:
    """Run ``compute`` on one batch; record failures by position; return rows to write.

    A :class:`MarkedFailure` is recorded as a failure and its row written; its position goes
    into ``marked``.
    """
    if not batch:
        return []
    try:
        results = list(compute([ident for _, ident in batch]))
    except Exception as exc:
        for i in range(len(batch)):
            failures[offset + i] = exc
        return []
    if len(results) != len(batch):
        raise InvalidInputError(f"compute returned {len(results)} rows for {len(batch)} IDs")
    done = []
    for i, ((number, _), result) in enumerate(zip(batch, results, strict=True)):
        if isinstance(result, MarkedFailure):
            failures[offset + i] = result.error
            if marked is not None:
                marked.add(offset + i)
            result = result.values
        elif result is None or isinstance(result, BaseException):
            failures[offset + i] = result or ValueError("no values computed")
            continue
        if isinstance(result, (str, bytes)) or len(result) != width:
            raise InvalidInputError(f"compute returned {result!r} for row {number}; expected "
                                    f"{width} values")
        done.append((number, [_cell(v) for v in result]))
    return done


def _contiguous_ranges(done: list[tuple[int, list[Any]]], first: int, last: int) -> list[dict[str, Any]]:
    """One ``{"range", "values"}`` item per run of consecutive rows."""
    data: list[dict[str, Any]] = []
    left, right = _col_letters(first), _col_letters(last)
    run: list[tuple[int, list[Any]]] = []
    for item in [*done, (-1, [])]:
        if run and item[0] != run[-1][0] + 1:
            data.append({"range": f"{left}{run[0][0]}:{right}{run[-1][0]}",
                         "values": [values for _, values in run]})
            run = []
        run.append(item)
    return data


def _spans(numbers_: Sequence[int]) -> str:
    """``[2, 3, 4, 9]`` -> ``"2-4, 9"``."""
    out: list[str] = []
    for n in sorted(numbers_):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _plan_fill(
    block: Sequence[Sequence[Any]], names: list[str], id_column: int, first: int, last: int,
    tab: str,
) -> tuple[bool, list[tuple[int, str]], list[int]]:
    """Plan a fill from the ID and result columns as read (``block`` starts at row 1, column
    ``min(id_column, first)``): (header needed?, (row, ID) pairs to fill, filled rows).

    Raises:
        InvalidInputError: row 1 of the result columns holds something other than ``names``.
    """
    lo, hi = min(id_column, first), max(id_column, last)
    width = hi - lo + 1
    rows = [list(r) + [""] * (width - len(r)) for r in block] or [[""] * width]

    def results(row: list[Any]) -> list[str]:
        return [str(v).strip() for v in row[first - lo:last - lo + 1]]

    existing = results(rows[0])
    if any(existing) and existing != names:
        raise InvalidInputError(
            f"row 1 of columns {_col_letters(first)}-{_col_letters(last)} of tab "
            f"{tab!r} holds {existing}, not the header {names}; pick other columns "
            f"with start_column= or clear them")
    todo: list[tuple[int, str]] = []
    skipped: list[int] = []
    for number, row in enumerate(rows[1:], start=2):
        ident = str(row[id_column - lo]).strip()
        if ident and any(results(row)):
            skipped.append(number)
        elif ident:
            todo.append((number, ident))
    return not any(existing), todo, skipped
