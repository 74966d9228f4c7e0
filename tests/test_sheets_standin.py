"""LocalSheets, the Sheets v4 stand-in, driven by gspread's own code over HTTP on 127.0.0.1."""

from __future__ import annotations

import gspread
import pytest
import requests
from gspread.utils import ValueInputOption

from tracertools.storage import sheet as sheet, sheet_auth
from tracertools.testing.sheets import LocalSheets

GRID_EXAMPLE = [["A1", "B1", "", "D1"], ["", "b2"], [], ["A4", "B4", "", "D4"]]



@pytest.fixture
def sheets(local_sheets):
    return local_sheets


@pytest.fixture
def client(sheets: LocalSheets) -> gspread.Client:
    return sheet.gspread_client()


def _open(sheets: LocalSheets, client: gspread.Client, tabs: dict, **kw) -> tuple[str, gspread.Worksheet]:
    key = sheets.create("book", tabs=tabs, **kw)
    return key, client.open_by_key(key).worksheet(next(iter(tabs)))


# -- lifecycle --------------------------------------------------------------------------------


def test_a_running_server_serves_on_loopback_and_registers_nothing():
    with LocalSheets() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert sheet_auth._DEFAULT[0] == (None, None)
        reply = requests.get(f"{server.url}/v4/spreadsheets/nope", timeout=5)
    assert reply.status_code == 404


# -- metadata ------------------------------------------------------------------------------------


def test_open_by_key_reads_title_tabs_and_grid(sheets: LocalSheets, client: gspread.Client):
    key = sheets.create("Proofreading", tabs={"ids": [["id"]], "notes": []}, grid=(50, 5))
    book = client.open_by_key(key)
    assert book.title == "Proofreading"
    assert (book.locale, book.timezone) == ("en_US", "Etc/GMT")
    assert [ws.title for ws in book.worksheets()] == ["ids", "notes"]
    assert (book.sheet1.row_count, book.sheet1.col_count, book.sheet1.id) == (50, 5, 0)


def test_unknown_spreadsheet_is_gspreads_not_found(client: gspread.Client):
    with pytest.raises(gspread.SpreadsheetNotFound):
        client.open_by_key("no-such-key")


# -- reads ---------------------------------------------------------------------------------------


def test_whole_tab_read_trims_like_sheets_and_gspread_pads(sheets, client):
    _, ws = _open(sheets, client, {"T": GRID_EXAMPLE})
    assert ws.get_all_values() == [
        ["A1", "B1", "", "D1"], ["", "b2", "", ""], ["", "", "", ""], ["A4", "B4", "", "D4"]]
    raw = requests.get(f"{sheets.url}/v4/spreadsheets/{ws.spreadsheet_id}/values/T", timeout=5).json()
    assert raw == {"range": "T!A1:Z1000", "majorDimension": "ROWS", "values": GRID_EXAMPLE}


def test_column_and_row_reads(sheets, client):
    _, ws = _open(sheets, client, {"T": GRID_EXAMPLE})
    assert ws.col_values(1) == ["A1", "", "", "A4"]
    assert ws.col_values(3) == []
    assert ws.row_values(2) == ["", "b2"]
    assert ws.row_values(3) == []


def test_empty_tab_reads_as_gspread_expects(sheets, client):
    _, ws = _open(sheets, client, {"T": []})
    assert ws.get_all_values() == [[]]
    assert ws.get_all_records() == []
    assert ws.col_values(1) == []


def test_get_all_records_numericises(sheets, client):
    _, ws = _open(sheets, client, {"T": [["id", "n"], ["720575941473274509", "3"], ["x", "1.5"]]})
    assert ws.get_all_records() == [{"id": 720575941473274509, "n": 3}, {"id": "x", "n": 1.5}]


def test_reversed_and_open_ranges(sheets, client):
    _, ws = _open(sheets, client, {"T": [["a", "b", "c"], ["d", "e", "f"]]})
    assert ws.get("C2:A1") == [["a", "b", "c"], ["d", "e", "f"]]
    assert ws.get("B:B") == [["b"], ["e"]]
    assert ws.get("A2:2") == [["d", "e", "f"]]
    assert ws.get("b1:c") == [["b", "c"], ["e", "f"]]


def test_columns_major_dimension(sheets, client):
    _, ws = _open(sheets, client, {"T": [["a", "", "c"], ["d"]]})
    assert ws.get(major_dimension="COLUMNS") == [["a", "d"], [], ["c"]]


def test_batch_get_answers_in_request_order(sheets, client):
    _, ws = _open(sheets, client, {"My tab": [["a", "b"], ["c", "d"]]})
    got = ws.batch_get(["B2", "A1:A2"])
    assert [list(r) for r in got] == [[["d"]], [["a"], ["c"]]]
    assert [r.range for r in got] == ["'My tab'!B2", "'My tab'!A1:A2"]


def test_unparseable_range_is_a_google_shaped_400(sheets, client):
    _, ws = _open(sheets, client, {"T": [["a"]]})
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.get("Other!A1")
    assert info.value.code == 400
    assert info.value.error["status"] == "INVALID_ARGUMENT"
    assert "Unable to parse range: 'T'!Other!A1" in str(info.value)


def test_tab_titles_with_quotes_slashes_and_unicode_round_trip(sheets, client):
    _, ws = _open(sheets, client, {"My Tab's/Ünï": [["x"]]})
    reply = ws.update([["a1", "b1"]], "A1:B1")
    assert reply["updatedRange"] == "'My Tab''s/Ünï'!A1:B1"
    assert ws.row_values(1) == ["a1", "b1"]


# -- writes --------------------------------------------------------------------------------------


def test_single_cell_range_anchors_a_matrix(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    reply = ws.update([["a", "b"], ["c", "d"]], "B2")
    assert (reply["updatedRange"], reply["updatedCells"]) == ("T!B2:C3", 4)
    assert sheets.values(key, "T") == [["", "", ""], ["", "a", "b"], ["", "c", "d"]]


def test_null_cells_are_skipped_and_not_counted(sheets, client):
    key, ws = _open(sheets, client, {"T": [["keep", "old"]]})
    reply = ws.update([[None, "x"], ["y", None]], "A1")
    assert (reply["updatedRange"], reply["updatedRows"], reply["updatedColumns"],
            reply["updatedCells"]) == ("T!A1:B2", 2, 2, 2)
    assert sheets.values(key, "T") == [["keep", "x"], ["y", ""]]


def test_writing_past_a_bounded_range_is_refused(sheets, client):
    _, ws = _open(sheets, client, {"T": []})
    with pytest.raises(gspread.exceptions.APIError, match=r"tried writing to row \[2\]"):
        ws.update([["a"], ["b"]], "A1:B1")


def test_values_update_does_not_grow_the_grid(sheets, client):
    _, ws = _open(sheets, client, {"T": []}, grid=(3, 2))
    with pytest.raises(gspread.exceptions.APIError, match="exceeds grid limits. Max rows: 3"):
        ws.update([["a"]], "A4")


def test_raw_input_stores_text_verbatim(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    ws.update([["0042", "=1+1", "TRUE", 7]], "A1", raw=True)
    assert sheets.values(key, "T") == [["0042", "=1+1", "TRUE", 7]]


def test_user_entered_input_parses_like_the_ui(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    ws.update([["0042", "'0042", "true", "1,234.5", "=A1*2", "text"]], "A1",
              value_input_option=ValueInputOption.user_entered)
    assert sheets.values(key, "T") == [[42, "0042", True, 1234.5, "=A1*2", "text"]]
    assert ws.row_values(1) == ["42", "0042", "TRUE", "1234.5", "=A1*2", "text"]


def test_big_integers_sent_as_numbers_lose_digits_like_real_sheets(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    ws.update([[720575941473274509, "720575941473274509"]], "A1")
    stored = sheets.values(key, "T")[0]
    assert stored[0] != 720575941473274509 and stored[1] == "720575941473274509"
    assert ws.row_values(1) == ["7.20576E+17", "720575941473274509"]
    assert ws.row_values(1, value_render_option="UNFORMATTED_VALUE")[0] == float(720575941473274509)


def test_update_cell_uses_user_entered(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    ws.update_cell(2, 2, "0042")
    assert sheets.values(key, "T") == [["", ""], ["", 42]]


def test_values_batch_update_writes_every_range_in_one_request(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    sheets.reset()
    reply = ws.batch_update([{"range": "A1:B1", "values": [["a", "b"]]},
                             {"range": "D3", "values": [[5]]}])
    assert (reply["totalUpdatedCells"], reply["totalUpdatedSheets"]) == (3, 1)
    assert sheets.requests["values.batchUpdate"] == 1
    assert sheets.values(key, "T") == [["a", "b", "", ""], ["", "", "", ""], ["", "", "", 5]]


def test_values_batch_update_is_all_or_nothing(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    with pytest.raises(gspread.exceptions.APIError, match=r"Invalid data\[1\]: Unable to parse"):
        ws.batch_update([{"range": "A1", "values": [["a"]]}, {"range": "A1:1:2", "values": [["b"]]}])
    assert sheets.values(key, "T") == []


def test_clear_and_batch_clear(sheets, client):
    key, ws = _open(sheets, client, {"T": [["a", "b"], ["c", "d"]]})
    ws.batch_clear(["A1", "B2"])
    assert sheets.values(key, "T") == [["", "b"], ["c", ""]]
    assert ws.clear()["clearedRange"] == "T!A1:Z1000"
    assert sheets.values(key, "T") == []


# -- append (table detection) --------------------------------------------------------------------


def test_append_to_an_empty_tab_starts_at_a1_without_table_range(sheets, client):
    key, ws = _open(sheets, client, {"T": []})
    reply = ws.append_row(["a", "b"])
    assert "tableRange" not in reply
    assert reply["updates"]["updatedRange"] == "T!A1:B1"


def test_append_goes_below_a_contiguous_table(sheets, client):
    key, ws = _open(sheets, client, {"T": [["h1", "h2"], ["a", "b"]]})
    reply = ws.append_row(["c", "d"])
    assert (reply["tableRange"], reply["updates"]["updatedRange"]) == ("T!A1:B2", "T!A3:B3")


def test_append_after_a_gap_in_row_one_shifts_right_like_gspread_issue_537(sheets, client):
    key, ws = _open(sheets, client, {"T": [["x", "", "z"]]})
    reply = ws.append_row(["1", "2", "3"])
    assert (reply["tableRange"], reply["updates"]["updatedRange"]) == ("T!C1", "T!C2:E2")


def test_append_with_table_range_a1_starts_in_column_a(sheets, client):
    key, ws = _open(sheets, client, {"T": [["x", "", "z"]]})
    reply = ws.append_row(["1", "2", "3"], table_range="A1")
    assert (reply["tableRange"], reply["updates"]["updatedRange"]) == ("T!A1", "T!A2:C2")


def test_append_grows_the_grid(sheets, client):
    key, ws = _open(sheets, client, {"T": [["a"], ["b"]]}, grid=(2, 1))
    ws.append_row(["c", "d"])
    assert sheets.grid(key, "T") == (3, 2)
    assert sheets.values(key, "T") == [["a", ""], ["b", ""], ["c", "d"]]


def test_append_insert_rows_shifts_the_rows_below(sheets, client):
    key, ws = _open(sheets, client, {"T": [["a"], [""], ["below"]]}, grid=(3, 1))
    ws.append_row(["new"], insert_data_option="INSERT_ROWS", table_range="A1")
    assert sheets.values(key, "T") == [["a"], ["new"], [""], ["below"]]
    assert sheets.grid(key, "T") == (4, 1)


def test_insert_cols_shifts_existing_columns_right(sheets, client):
    key, ws = _open(sheets, client, {"T": [["a", "b"], ["c", "d"]]}, grid=(5, 2))
    ws.insert_cols([["new1", "new2"]], col=2)
    assert sheets.values(key, "T") == [["a", "new1", "b"], ["c", "new2", "d"]]
    assert sheets.grid(key, "T") == (5, 3)


# -- structure -----------------------------------------------------------------------------------


def test_add_worksheet_resize_and_rename(sheets, client):
    key = sheets.create("book", tabs={"T": [["a", "b"], ["c", "d"]]})
    book = client.open_by_key(key)
    added = book.add_worksheet("Extra", rows=10, cols=3)
    assert (added.title, added.row_count, added.col_count) == ("Extra", 10, 3)
    ws = book.worksheet("T")
    ws.resize(rows=1, cols=1)
    ws.update_title("Renamed")
    assert sheets.tab_names(key) == ["Renamed", "Extra"]
    assert sheets.values(key, "Renamed") == [["a"]]
    assert sheets.grid(key, "Renamed") == (1, 1)


def test_delete_rows_moves_later_rows_up(sheets, client):
    key, ws = _open(sheets, client, {"T": [["1"], ["2"], ["3"]]}, grid=(3, 1))
    ws.delete_rows(2)
    assert sheets.values(key, "T") == [["1"], ["3"]]
    assert sheets.grid(key, "T") == (2, 1)


def test_unsupported_batch_request_is_named_in_the_error(sheets, client):
    key = sheets.create("book", tabs={"T": []})
    book = client.open_by_key(key)
    with pytest.raises(gspread.exceptions.APIError, match=r"requests\[0\].*'sortRange'"):
        book.batch_update({"requests": [{"sortRange": {}}]})


# -- accounting, faults and auth -----------------------------------------------------------------


def test_requests_are_counted_logged_and_reset(sheets, client):
    _, ws = _open(sheets, client, {"T": [["a"]]})
    sheets.reset()
    ws.col_values(1)
    ws.update([["b"]], "B1")
    assert sheets.requests == {"values.get": 1, "values.update": 1}
    assert sheets.value_writes == 1
    assert [(r.method, r.route, r.target, r.status) for r in sheets.log] == [
        ("GET", "values.get", "'T'!A1:A", 200), ("PUT", "values.update", "'T'!B1", 200)]
    sheets.reset()
    assert (sheets.requests, sheets.log) == ({}, [])


def test_injected_429_reaches_gspread_as_api_error_with_retry_after(sheets, client):
    _, ws = _open(sheets, client, {"T": [["a"]]})
    sheets.fail_next(429, retry_after=7)
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.col_values(1)
    assert info.value.code == 429
    assert info.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert info.value.response.headers["Retry-After"] == "7"
    assert ws.col_values(1) == ["a"]


def test_token_protected_server_refuses_anonymous_calls():
    with LocalSheets(token="secret-token") as server:
        key = server.create("book", tabs={"T": []})
        reply = requests.get(f"{server.url}/v4/spreadsheets/{key}", timeout=5)
        ok = requests.get(f"{server.url}/v4/spreadsheets/{key}", timeout=5,
                          headers={"Authorization": "Bearer secret-token"})
    assert reply.status_code == 401
    assert reply.json()["error"]["status"] == "UNAUTHENTICATED"
    assert ok.json()["properties"]["title"] == "book"


def test_token_endpoint_answers_service_account_grants(sheets):
    reply = requests.post(f"{sheets.url}/token", timeout=5, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x.y.z"})
    assert reply.json()["token_type"] == "Bearer"
    assert sheets.requests["token"] == 1
