"""Sheets: data-loss defects found by adversarial tests (issue #23), each shown fixed.

* rows inserted by a colleague during ``fill_columns`` stop the fill before a value lands
  beside another ID;
* an ``append_row`` whose answer is lost after the row landed reports success (read back), so
  a retry never duplicates the row;
* ``write_rows`` refuses bytes, dicts and arbitrary objects instead of storing their repr.

Everything runs through gspread against LocalSheets; the stored cells are read from the
stand-in's ground truth (``sheets.values``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tracertools.errors import ConcurrentChangeError
from tracertools.storage.sheet import Sheet, Tab, gspread_client
from tracertools.testing.sheets import LocalSheets


@pytest.fixture
def sheets(local_sheets: LocalSheets) -> LocalSheets:
    return local_sheets


def _tab(sheets: LocalSheets, rows: list[list[Any]]) -> tuple[str, Tab]:
    key = sheets.create("book", tabs={"T": rows})
    return key, Sheet(key).tab("T")


def _id_rows(n: int) -> list[list[str]]:
    return [["segment_id"]] + [[str(10**15 + i)] for i in range(n)]


def _value(ident: str) -> str:
    return f"v{ident}"


def _misplaced(rows: list[list[Any]]) -> list[int]:
    """Rows (1-based) whose filled value does not belong to the ID beside it."""
    return [n for n, row in enumerate(rows[1:], start=2)
            if len(row) > 1 and row[1] != "" and row[1] != _value(str(row[0]))]


# -- fill_columns under a concurrent insert -------------------------------------------------------


def test_a_row_inserted_during_a_fill_stops_it_before_values_land_beside_other_ids(sheets):
    key, tab = _tab(sheets, _id_rows(120))
    colleague = gspread_client().open_by_key(key).worksheet("T")
    calls = 0

    def compute(ids: list[str]) -> list[list[str]]:
        nonlocal calls
        calls += 1
        if calls == 2:  # while batch 2 is computed, someone inserts a row near the top
            colleague.insert_row(["999"], index=10)
        return [[_value(i)] for i in ids]

    with pytest.raises(ConcurrentChangeError, match="row 52 now holds") as info:
        tab.fill_columns(["value"], compute, batch_size=50, progress=False)
    assert "rows already written, each checked against its ID just before: 2-51" in str(info.value)
    truth = sheets.values(key, "T")
    assert _misplaced(truth) == []
    assert truth[9] == ["999", ""]  # the colleague's row, untouched
    assert sum(1 for row in truth[1:] if len(row) > 1 and row[1]) == 50  # batch 1 only

    resumed = tab.fill_columns(["value"], lambda ids: [[_value(i)] for i in ids],
                               batch_size=50, progress=False)
    truth = sheets.values(key, "T")
    assert _misplaced(truth) == [] and all(row[1] for row in truth[1:])
    assert len(resumed.written) == 71 and len(resumed.skipped) == 50


def test_a_row_deleted_during_a_fill_stops_it_too(sheets):
    key, tab = _tab(sheets, _id_rows(30))
    colleague = gspread_client().open_by_key(key).worksheet("T")

    def compute(ids: list[str]) -> list[list[str]]:
        if ids[0] == str(10**15 + 10):  # batch 2
            colleague.delete_rows(3)
        return [[_value(i)] for i in ids]

    with pytest.raises(ConcurrentChangeError):
        tab.fill_columns(["value"], compute, batch_size=10, progress=False)
    assert _misplaced(sheets.values(key, "T")) == []
