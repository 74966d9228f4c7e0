"""The original gsheet_* functions as legacy shims, against LocalSheets on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tracertools.errors import InvalidInputError
from tracertools.legacy._sheets import (
    gsheet_add_column,
    gsheet_add_row,
    gsheet_get_col_as_list,
    gsheet_get_tab_as_df,
)
from tracertools.storage import sheet as sheet
from tracertools.testing.sheets import LocalSheets

ID = "720575941473274509"
NEURONS = [["segment_id", "cell_type", "volume"], [ID, "DNa02", "1.5"], ["12", "", "7"]]



@pytest.fixture
def sheets(local_sheets):
    return local_sheets


@pytest.fixture
def key(sheets: LocalSheets) -> str:
    return sheets.create("book", tabs={"neurons": NEURONS, "empty": []})


def test_get_col_as_list_defaults_to_column_one_with_header(key):
    assert gsheet_get_col_as_list(key, "neurons") == ["segment_id", ID, "12"]


def test_get_col_as_list_can_drop_the_header(key):
    assert gsheet_get_col_as_list(key, "neurons", col_num=2, ignore_header=True) == ["DNa02"]


def test_get_col_as_list_of_an_empty_column_is_empty_even_without_header(key):
    assert gsheet_get_col_as_list(key, "empty", 1, True) == []


def test_get_tab_as_df_with_headers_numericises_like_get_all_records(key):
    frame = gsheet_get_tab_as_df(key, "neurons")
    assert list(frame.columns) == ["segment_id", "cell_type", "volume"]
    assert frame.to_dict("records") == [
        {"segment_id": int(ID), "cell_type": "DNa02", "volume": 1.5},
        {"segment_id": 12, "cell_type": "", "volume": 7},
    ]


def test_get_tab_as_df_without_headers_keeps_strings_in_col_n(key):
    frame = gsheet_get_tab_as_df(key, "neurons", has_headers=False)
    assert list(frame.columns) == ["col_1", "col_2", "col_3"]
    assert frame.iloc[1].tolist() == [ID, "DNa02", "1.5"]


@pytest.mark.parametrize("has_headers", [True, False])
def test_get_tab_as_df_of_an_empty_tab_is_an_empty_frame(key, has_headers):
    assert gsheet_get_tab_as_df(key, "empty", has_headers).empty


def test_add_row_appends_below_the_data_and_returns_none(sheets, key):
    assert gsheet_add_row(key, "neurons", [720575941473274510, "DNb01", 2.25]) is None
    assert sheets.values(key, "neurons")[3] == ["720575941473274510", "DNb01", 2.25]


def test_add_column_fills_the_first_empty_column_without_shifting(sheets, key):
    assert gsheet_add_column(key, "neurons", ["proofread", "t", "f"]) is None
    assert [row[3] for row in sheets.values(key, "neurons")] == ["proofread", "t", "f"]
    assert [row[:3] for row in sheets.values(key, "neurons")] == NEURONS


def test_bad_arguments_raise_before_any_request(sheets, key):
    sheets.reset()
    with pytest.raises(InvalidInputError):
        gsheet_get_col_as_list(key, "neurons", col_num=0)
    assert sheets.requests == {}


def test_repeated_calls_authorise_once(tmp_path, monkeypatch):
    with LocalSheets(token="sa-token") as server:
        path = tmp_path / "service_account.json"
        path.write_text(json.dumps(server.service_account_info()))
        key = server.create("book", tabs={"neurons": NEURONS})
        with sheet.default_credentials(str(path), http_client=server.http_client):
            gsheet_get_col_as_list(key, "neurons")
            gsheet_add_row(key, "neurons", ["1"])
            gsheet_get_tab_as_df(key, "neurons")
    assert server.requests["token"] == 1
