"""Cell encoding and fill/write helpers behind [`tracertools.storage.sheet.Tab`][tracertools.storage.sheet.Tab].

Pure helpers: Python values to RAW-input cells (refusing values a cell cannot hold), A1 column
letters and grid sizes, the batch bookkeeping of
[`fill_columns()`][tracertools.storage.sheet.Tab.fill_columns] (its `FillReport`, and the check that
rows did not move under it), the read-back match of an append, and gspread's enum values. Part of
the Sheets seam ([`tracertools.storage.sheet`][tracertools.storage.sheet] and its ``sheet_*`` helper modules): gspread is
imported only inside functions, for its ``utils``.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracertools.errors import InvalidInputError

#: Integers at or above this size are written as text: Sheets stores numbers as doubles.
_EXACT_INT_LIMIT = 2**53

#: ``compute`` of `tracertools.storage.sheet.Tab.fill_columns`: ID texts in, one row each out.
ComputeRows = Callable[[list[str]], Sequence[Any]]


@dataclass(frozen=True)
class FillReport:
    """What [`Tab.fill_columns()`][tracertools.storage.sheet.Tab.fill_columns] did. Row numbers are 1-based sheet rows.

    Attributes:
        written: rows that received values in this call.
        skipped: rows that were already filled (left as they were).
        failed: rows whose values could not be computed (left empty; filled by a later call).
        header_written: whether the header was written into row 1.
        write_requests: value-write requests sent (one per batch).
        marked: rows whose value will never work (an ID that is malformed, of another layer
            or never issued), marked with the reason in a status column (also in
            ``written``); a later call skips them.
    """

    written: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    header_written: bool = False
    write_requests: int = 0
    marked: tuple[int, ...] = ()


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


def _cell(value: Any, where: str = "a cell") -> Any:
    """A Python value as a RAW-input JSON cell: big ints as text, NaN/None as empty.

    Cells take text, numbers, bools, dates and times, and None / NaN / NA / NaT (empty).

    Raises:
        InvalidInputError: anything else (bytes, dicts, lists, arbitrary objects), which would
            otherwise be stored as its ``repr``; ``where`` names the cell.
    """
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
        return str(value)
    if type(value).__name__ in ("NAType", "NaTType"):
        return ""
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _decimal.Decimal):  # exact as text; a double could round it
        return str(value) if value.is_finite() else ""
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else str(value)
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise InvalidInputError(
        f"{where} is a {type(value).__name__} ({shown}); a cell takes text, numbers, bools, "
        "dates or None. Convert it first (decode bytes; str() an object whose text you want)"
    )


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

    A `MarkedFailure` is recorded as a failure and its row written; its position goes
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
        done.append((number, [_cell(v, f"compute's value {j + 1} for row {number}")
                              for j, v in enumerate(result)]))
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


def _moved_rows(
    expected: list[tuple[int, str]], block: Sequence[Sequence[Any]]
) -> list[tuple[int, str, str]]:
    """``(row, planned ID, ID there now)`` for rows whose ID cell changed.

    ``block`` is the ID column read from the first to the last row of ``expected`` (sorted
    ``(row, ID)`` pairs); trailing empty rows may be missing from it.
    """
    lo = expected[0][0]
    now = [str(row[0]).strip() if row else "" for row in block]
    now += [""] * (expected[-1][0] - lo + 1 - len(now))
    return [(n, ident, now[n - lo]) for n, ident in expected if now[n - lo] != ident]


def _moved_message(tab: str, moved: list[tuple[int, str, str]], rows: list[int],
                   written: list[int]) -> str:
    """The message of a fill stopped because rows moved (see `_moved_rows()`)."""
    shown = ", ".join(f"row {n} now holds {there!r}, not {ident!r}" for n, ident, there in moved[:3])
    more = f" (and {len(moved) - 3} more)" if len(moved) > 3 else ""
    return (f"rows of tab {tab!r} moved during fill_columns (rows inserted, deleted or sorted by "
            f"another edit?): {shown}{more}. Nothing was written for rows {_spans(rows)}; rows "
            f"already written, each checked against its ID just before: "
            f"{_spans(written) or 'none'}. Call again to resume: filled rows are skipped")


def _same_row(stored: Sequence[Any], cells: Sequence[Any]) -> bool:
    """Whether a row read back (unformatted) holds exactly ``cells`` as written."""
    def norm(values: Sequence[Any]) -> list[Any]:
        out = [v if isinstance(v, (bool, str)) else float(v) if isinstance(v, (int, float))
               else str(v) for v in values]
        while out and out[-1] == "":
            out.pop()
        return out

    return norm(stored) == norm(cells)


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
