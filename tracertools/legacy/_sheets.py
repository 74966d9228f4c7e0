"""Legacy shims: the original ``gsheet_*`` functions over [`tracertools.storage.sheet`][tracertools.storage.sheet].

Each keeps the original name, arguments, defaults and return shape. Unlike the original, they
do not run ``gspread.oauth()`` on every call: they share the cached default client (the OAuth
desktop flow with gspread's default files, ``$TRACERTOOLS_SHEETS_CREDENTIALS``, or a registered
local stand-in such as ``tracertools.testing.LocalSheets``).

``gsheet_add_seg_details`` lives with the segment views (``tracertools.legacy._views``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tracertools.storage.sheet import Sheet

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "gsheet_add_column",
    "gsheet_add_row",
    "gsheet_get_col_as_list",
    "gsheet_get_tab_as_df",
]


def gsheet_add_column(sheet_key: str, tab_name: str, col_data: Sequence[Any]) -> None:
    """Legacy shim for [`tracertools.storage.sheet.Tab.append_column()`][tracertools.storage.sheet.Tab.append_column].

    Writes ``col_data`` down the first empty column of the tab, from row 1.

    New API: ``Sheet(key).tab(name).append_column(values)``. The original found the column from
    the length of row 1 and *inserted* it, shifting later columns right; this fills the first
    column that has no data and moves nothing.
    """
    Sheet(sheet_key).tab(tab_name).append_column(col_data)


def gsheet_add_row(sheet_key: str, tab_name: str, row_data: Sequence[Any]) -> None:
    """Legacy shim for [`tracertools.storage.sheet.Tab.append_row()`][tracertools.storage.sheet.Tab.append_row].

    Appends ``row_data`` below the last non-empty row, from column A.

    New API: ``Sheet(key).tab(name).append_row(values)``.
    """
    Sheet(sheet_key).tab(tab_name).append_row(row_data)


def gsheet_get_col_as_list(
    sheet_key: str, tab_name: str, col_num: int = 1, ignore_header: bool = False
) -> list[str]:
    """Legacy shim for [`tracertools.storage.sheet.Tab.column()`][tracertools.storage.sheet.Tab.column].

    Column ``col_num`` (1 = A) as a list of strings, without trailing empty cells.

    New API: ``Sheet(key).tab(name).column(n, ignore_header=...)``. An empty column gives ``[]``
    even with ``ignore_header=True`` (the original raised IndexError).
    """
    return Sheet(sheet_key).tab(tab_name).column(col_num, ignore_header=ignore_header)


def gsheet_get_tab_as_df(sheet_key: str, tab_name: str, has_headers: bool = True) -> pd.DataFrame:
    """Legacy shim for [`tracertools.storage.sheet.Tab.to_frame()`][tracertools.storage.sheet.Tab.to_frame].

    The tab as a DataFrame, as the original built it.

    With headers, values are numericised like ``gspread``'s ``get_all_records`` (numbers become
    int/float); without, every cell is a string and the columns are ``col_1 .. col_n``. An empty
    tab gives an empty DataFrame (the original raised IndexError without headers).

    New API: ``Sheet(key).tab(name).to_frame(has_headers=..., numericise=...)``.
    """
    return Sheet(sheet_key).tab(tab_name).to_frame(has_headers=has_headers, numericise=has_headers)
