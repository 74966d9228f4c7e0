"""The cell store and A1 ranges behind [`tracertools.testing.sheets.LocalSheets`][tracertools.testing.sheets.LocalSheets].

In-memory spreadsheets (``_Book`` of ``_Tab`` grids with 0-based ``(row, col)`` cells), A1
range parsing and formatting, and how values are stored (RAW / USER_ENTERED) and rendered
(FORMATTED_VALUE / UNFORMATTED_VALUE / FORMULA). Failures raise ``_ApiError``, which the
server turns into a Google-shaped error response. No HTTP here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

_PART = re.compile(r"^\$?([A-Za-z]*)\$?(\d*)$")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_PLAIN_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE = re.compile(r"^(?:[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*)$")


class _Formula(str):
    """USER_ENTERED text starting with ``=``: stored, never evaluated."""


class _ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass
class _Tab:
    sheet_id: int
    title: str
    rows: int
    cols: int
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)  # 0-based (row, col)
    hidden: bool = False
    frozen_rows: int = 0
    frozen_cols: int = 0


@dataclass
class _Book:
    key: str
    title: str
    tabs: list[_Tab]
    next_id: int = 1

    def find(self, title: str) -> _Tab | None:
        return next((t for t in self.tabs if t.title == title), None)

    def by_id(self, sheet_id: Any, where: str) -> _Tab:
        tab = next((t for t in self.tabs if t.sheet_id == sheet_id), None)
        if tab is None:
            raise _ApiError(400, f"{where}: No grid with id: {sheet_id}")
        return tab


# -- A1 notation -------------------------------------------------------------------------------


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _quote(title: str) -> str:
    if _PLAIN_TITLE.match(title) and not _CELL_LIKE.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _a1(tab: _Tab, r0: int, c0: int, r1: int, c1: int) -> str:
    start = f"{_letters(c0 + 1)}{r0 + 1}"
    end = f"{_letters(c1 + 1)}{r1 + 1}"
    return f"{_quote(tab.title)}!{start}" + ("" if (r0, c0) == (r1, c1) else f":{end}")


def _locate(book: _Book, text: str) -> tuple[_Tab, tuple[int, int, int | None, int | None], bool]:
    """Resolve an A1 range: (tab, (r0, c0, r1, c1) 0-based with None = open, single cell?)."""
    bad = _ApiError(400, f"Unable to parse range: {text}")
    if text.startswith("'"):
        i, name = 1, ""
        while True:
            j = text.find("'", i)
            if j < 0:
                raise bad
            if text[j + 1:j + 2] == "'":
                name, i = name + text[i:j + 1], j + 2
                continue
            name, rest = name + text[i:j], text[j + 1:]
            break
        if rest and not rest.startswith("!"):
            raise bad
        title: str | None = name
        cells = rest[1:]
    elif "!" in text:
        title, cells = text.rsplit("!", 1)
    elif book.find(text) is not None:
        title, cells = text, ""
    else:
        title, cells = None, text
    tab = book.find(title) if title is not None else next((t for t in book.tabs if not t.hidden), None)
    if tab is None or "!" in cells:
        raise bad
    if not cells:
        return tab, (0, 0, None, None), False
    parts = [_PART.match(p) for p in cells.split(":")]
    if len(parts) > 2 or any(m is None or not m.group(0).strip("$") for m in parts):
        raise bad
    (a_col, a_row), *rest_part = [(m.group(1), m.group(2)) for m in parts if m]
    if any(r and int(r) == 0 for _, r in [(a_col, a_row), *rest_part]):
        raise bad
    if not rest_part:
        if not (a_col and a_row):
            raise bad
        r, c = int(a_row) - 1, _col_index(a_col) - 1
        return tab, (r, c, r, c), True
    b_col, b_row = rest_part[0]
    if (not a_col and not b_row) or (not a_row and not b_col):
        raise bad  # "2:B" or "A:5"
    r0, c0 = (int(a_row) - 1 if a_row else 0), (_col_index(a_col) - 1 if a_col else 0)
    r1 = int(b_row) - 1 if b_row else None
    c1 = _col_index(b_col) - 1 if b_col else None
    if r1 is not None and r1 < r0:
        r0, r1 = r1, r0
    if c1 is not None and c1 < c0:
        c0, c1 = c1, c0
    return tab, (r0, c0, r1, c1), False


def _clip(tab: _Tab, box: tuple[int, int, int | None, int | None]) -> tuple[int, int, int, int]:
    r0, c0, r1, c1 = box
    if r0 >= tab.rows or c0 >= tab.cols:
        raise _ApiError(400, f"Range ({_a1(tab, r0, c0, r0, c0)}) exceeds grid limits. "
                             f"Max rows: {tab.rows}, max columns: {tab.cols}")
    return r0, c0, min(tab.rows - 1, tab.rows - 1 if r1 is None else r1), min(
        tab.cols - 1, tab.cols - 1 if c1 is None else c1)


# -- values in and out -------------------------------------------------------------------------


def _stored(value: Any, option: str) -> Any:
    """A JSON cell value as stored (None means empty), under RAW or USER_ENTERED."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _ApiError(400, f"Invalid value at 'data.values' ({value})")
        return value
    if not isinstance(value, str):
        raise _ApiError(400, f"Invalid value at 'data.values' (type.googleapis.com/google.protobuf."
                             f"ListValue), {json.dumps(value)}")
    if value == "":
        return None
    if option == "RAW":
        return value
    if value.startswith("'"):
        return value[1:] or None
    if value.startswith("="):
        return _Formula(value)
    if value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    text = value.strip()
    if text and any(ch.isdigit() for ch in text) and _NUMBER.match(text):
        number = float(text.replace(",", ""))
        plain = not any(ch in text for ch in ".eE")
        return int(number) if plain and abs(number) < 2**53 else number
    return value


def _number_text(value: float) -> str:
    if abs(value) >= 1e15:
        return f"{value:.5E}".replace("E+0", "E+").replace("E-0", "E-")
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10g}"


def _rendered(value: Any, option: str) -> Any:
    if isinstance(value, _Formula):
        return str(value)
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if option == "FORMATTED_VALUE" else value
    if isinstance(value, (int, float)):
        if option == "FORMATTED_VALUE":
            return _number_text(value)
        return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
    return value


def _vectors(tab: _Tab, box: tuple[int, int, int, int], columns: bool, option: str) -> list[list[Any]]:
    """Cells of a clipped box by rows (or columns), trimmed as Sheets trims them."""
    r0, c0, r1, c1 = box
    inside = [(r, c) for (r, c) in tab.cells if r0 <= r <= r1 and c0 <= c <= c1]
    if not inside:
        return []
    r_end, c_end = max(r for r, _ in inside), max(c for _, c in inside)
    outer, inner = (range(c0, c_end + 1), range(r0, r_end + 1)) if columns else (
        range(r0, r_end + 1), range(c0, c_end + 1))
    out = []
    for a in outer:
        vector = [tab.cells.get((b, a) if columns else (a, b)) for b in inner]
        while vector and vector[-1] is None:
            vector.pop()
        out.append(["" if v is None else _rendered(v, option) for v in vector])
    while out and not out[-1]:
        out.pop()
    return out


def _value_range(tab: _Tab, box: tuple[int, int, int, int], major: str, option: str) -> dict[str, Any]:
    result: dict[str, Any] = {"range": _a1(tab, *box), "majorDimension": major}
    values = _vectors(tab, box, major == "COLUMNS", option)
    if values:
        result["values"] = values
    return result


def _write(book: _Book, rng: str, body: dict[str, Any], option: str, *, anchor: tuple[int, int] | None = None,
           grow: bool = False) -> dict[str, Any]:
    """Write body["values"] into a range (or at ``anchor``); returns an UpdateValuesResponse."""
    tab, (r0, c0, r1, c1), single = _locate(book, rng)
    if anchor is not None:
        (r0, c0), single = anchor, True
    values = body.get("values")
    if values is None:
        values = []
    if not isinstance(values, list) or any(not isinstance(v, list) for v in values):
        raise _ApiError(400, f"Invalid value at 'data.values' (type.googleapis.com/google.protobuf."
                             f"ListValue), {json.dumps(values)[:100]}")
    columns = (body.get("majorDimension") or "ROWS") == "COLUMNS"
    writes = {}
    for i, vector in enumerate(values):
        for j, v in enumerate(vector):
            if v is not None:
                writes[(r0 + j, c0 + i) if columns else (r0 + i, c0 + j)] = _stored(v, option)
    height = max((len(v) for v in values), default=0) if columns else len(values)
    width = len(values) if columns else max((len(v) for v in values), default=0)
    if writes and not single:
        last_r, last_c = max(r for r, _ in writes), max(c for _, c in writes)
        for last, limit, word, show in ((last_r, r1, "row", str), (last_c, c1, "column", _letters)):
            if limit is not None and last > limit:
                raise _ApiError(400, f"Requested writing within range [{rng}], but tried writing to "
                                     f"{word} [{show(last + 1)}]")
    if writes and grow:
        tab.rows = max(tab.rows, max(r for r, _ in writes) + 1)
        tab.cols = max(tab.cols, max(c for _, c in writes) + 1)
    for r, c in writes:
        if r >= tab.rows or c >= tab.cols:
            raise _ApiError(400, f"Range ({_a1(tab, r, c, r, c)}) exceeds grid limits. "
                                 f"Max rows: {tab.rows}, max columns: {tab.cols}")
    for pos, v in writes.items():
        if v is None:
            tab.cells.pop(pos, None)
        else:
            tab.cells[pos] = v
    box = (r0, c0, r0 + max(height, 1) - 1, c0 + max(width, 1) - 1)
    return {"spreadsheetId": book.key, "updatedRange": _a1(tab, *box),
            "updatedRows": len({r for r, _ in writes}), "updatedColumns": len({c for _, c in writes}),
            "updatedCells": len(writes)}


def _table(tab: _Tab, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The bounding box of the 8-connected data block holding the range's last non-empty cell."""
    r0, c0, r1, c1 = box
    inside = [(r, c) for (r, c) in tab.cells if r0 <= r <= r1 and c0 <= c <= c1]
    if not inside:
        return None
    seen, todo = set(), [max(inside)]
    while todo:
        r, c = todo.pop()
        if (r, c) in seen or (r, c) not in tab.cells:
            continue
        seen.add((r, c))
        todo += [(r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
    return (min(r for r, _ in seen), min(c for _, c in seen), max(r for r, _ in seen),
            max(c for _, c in seen))


def _shift(tab: _Tab, axis: int, start: int, delta: int) -> None:
    """Move cells at index >= start along axis (0 rows, 1 cols) by delta; delete the gap if < 0."""
    moved = {}
    for pos, v in tab.cells.items():
        k = pos[axis]
        if delta < 0 and start <= k < start - delta:
            continue
        if k >= start:
            pos = (pos[0] + delta, pos[1]) if axis == 0 else (pos[0], pos[1] + delta)
        moved[pos] = v
    tab.cells = moved


def _truncate(tab: _Tab) -> None:
    tab.cells = {p: v for p, v in tab.cells.items() if p[0] < tab.rows and p[1] < tab.cols}
