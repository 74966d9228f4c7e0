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

from tracertools.errors import ConcurrentChangeError, InvalidInputError, ServiceError
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


# -- an append whose answer is lost --------------------------------------------------------------


def test_an_append_that_landed_despite_an_error_answer_is_a_success(sheets):
    key, tab = _tab(sheets, [["a"], ["b"]])
    tab.column(1)
    sheets.fail_next(503, route="values.append", applied=True)
    assert tab.append_row(["c", 3]) == 3
    assert sheets.values(key, "T") == [["a", ""], ["b", ""], ["c", 3]]
    assert sheets.requests["values.append"] == 1  # not sent again


def test_calling_again_after_a_landed_append_never_duplicates_the_row(sheets):
    key, tab = _tab(sheets, [["a"]])
    tab.column(1)
    sheets.fail_next(500, route="values.append", applied=True)
    try:  # what a careful caller does: retry on failure
        tab.append_row(["b"])
    except Exception:
        tab.append_row(["b"])
    assert sheets.values(key, "T") == [["a"], ["b"]]


def test_an_append_that_did_not_land_says_appending_again_is_safe(sheets):
    key, tab = _tab(sheets, [["a"]])
    tab.column(1)
    sheets.fail_next(503, route="values.append")
    with pytest.raises(ServiceError, match="the row was not written, so appending again is safe"):
        tab.append_row(["b"])
    assert sheets.values(key, "T") == [["a"]]


def test_an_append_whose_read_back_fails_too_says_where_to_look(sheets):
    key, tab = _tab(sheets, [["a"]])
    tab.column(1)
    sheets.fail_next(503, route="values.append", applied=True)
    sheets.fail_next(403, route="values.get", after=1)  # the read-back, not the first read
    with pytest.raises(ServiceError, match="look at row 2 before appending again"):
        tab.append_row(["b"])


# -- values a cell cannot hold ----------------------------------------------------------------


class _Thing:
    def __repr__(self) -> str:
        return "<_Thing object at 0x7f00>"


@pytest.mark.parametrize("value", [b"bytes", bytearray(b"x"), {"a": 1}, [1, 2], {1, 2},
                                   _Thing(), object()])
def test_write_rows_refuses_a_value_a_cell_cannot_hold_before_any_request(sheets, value):
    key, tab = _tab(sheets, [["a", "b"]])
    sheets.reset()
    with pytest.raises(InvalidInputError, match=r"write_rows row 2: value 2 is a"):
        tab.write_rows(1, [["x", "y"], ["z", value]])
    assert dict(sheets.requests) == {}
    assert sheets.values(key, "T") == [["a", "b"]]


def test_append_row_and_fill_refuse_them_too(sheets):
    key, tab = _tab(sheets, [["id"], ["5"]])
    with pytest.raises(InvalidInputError, match="append_row: value 1 is a bytes"):
        tab.append_row([b"raw"])
    with pytest.raises(InvalidInputError, match="compute's value 1 for row 2 is a dict"):
        tab.fill_columns(["x"], lambda ids: [[{"v": 1}] for _ in ids], progress=False)
    assert sheets.values(key, "T") == [["id"], ["5"]]


def test_cells_still_take_text_numbers_bools_dates_decimals_and_none(sheets):
    import datetime
    import decimal

    import numpy as np

    key, tab = _tab(sheets, [["h"]])
    tab.write_rows(2, [["t", 1, 2.5, True, None, float("nan"), np.int64(7),
                        datetime.date(2024, 5, 1), decimal.Decimal("0.1"), 2**60]])
    assert sheets.values(key, "T")[1] == ["t", 1, 2.5, True, "", "", 7, "2024-05-01", "0.1",
                                          str(2**60)]
