"""Sheet and Tab over gspread, against LocalSheets on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from google.oauth2.credentials import Credentials as UserCredentials

from tracertools.errors import (
    BatchError,
    InvalidInputError,
    PartialResultWarning,
    RateLimitedError,
    ServiceError,
)
from tracertools.storage import sheet as sheet, sheet_auth
from tracertools.storage.sheet import OAuth, ServiceAccount, Sheet, Tab
from tracertools.testing.sheets import LocalSheets

ID = "720575941473274509"



@pytest.fixture
def sheets(local_sheets):
    return local_sheets


def _tab(sheets: LocalSheets, rows: list[list], **kw) -> tuple[str, Tab]:
    key = sheets.create("book", tabs={"T": rows}, **kw)
    return key, Sheet(key).tab("T")


def _id_rows(n: int) -> list[list[str]]:
    return [["segment_id"]] + [[str(10**15 + i)] for i in range(n)]


# -- handles -------------------------------------------------------------------------------------


def test_constructing_handles_does_no_io():
    tab = Sheet("no-server-is-running").tab("anything")
    assert (tab.sheet.key, tab.name) == ("no-server-is-running", "anything")


def test_a_sheet_url_gives_its_key():
    url = "https://docs.google.com/spreadsheets/d/1AbC_d-9/edit#gid=0"
    assert Sheet(url) == Sheet("1AbC_d-9")


@pytest.mark.parametrize("key", ["", "has space", "a/b", 123])
def test_malformed_keys_are_refused(key):
    with pytest.raises(InvalidInputError):
        Sheet(key)


def test_handles_compare_and_print_by_identifiers():
    assert Sheet("k").tab("T") == Sheet("k").tab("T") != Sheet("k").tab("U")
    assert repr(Sheet("k").tab("T")) == "Tab(sheet='k', name='T')"


def test_credentials_never_appear_in_reprs():
    creds = UserCredentials(token="ya29.very-secret-token")
    handle = Sheet("k", credentials=creds)
    info = {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----xyz"}
    shown = repr(handle) + repr(handle.tab("T")) + repr(ServiceAccount(info=info)) + repr(
        OAuth(authorized_user_info={"refresh_token": "r-secret"}))
    assert "secret" not in shown and "PRIVATE" not in shown and repr(creds) not in shown


def test_unusable_credentials_are_refused_without_showing_them():
    with pytest.raises(InvalidInputError) as info:
        Sheet("k", credentials={"token": "plain-secret"})
    assert "plain-secret" not in str(info.value)
    with pytest.raises(InvalidInputError, match="got a int"):
        Sheet("k", credentials=42)


def test_importing_the_module_does_not_import_gspread():
    code = "import sys, tracertools.storage.sheet; print('gspread' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# -- reads ---------------------------------------------------------------------------------------


def test_column_reads_down_to_the_last_value(sheets):
    _, tab = _tab(sheets, [["id", "n"], [ID, "1"], ["", "2"], ["42"]])
    assert tab.column(1) == ["id", ID, "", "42"]
    assert tab.column(1, ignore_header=True) == [ID, "", "42"]
    assert tab.column(3, ignore_header=True) == []


def test_row_reads_to_the_last_value(sheets):
    _, tab = _tab(sheets, [["a", "", "c"]])
    assert tab.row(1) == ["a", "", "c"]
    assert tab.row(2) == []


def test_bad_row_and_column_numbers_are_refused_before_any_request(sheets):
    _, tab = _tab(sheets, [])
    sheets.reset()
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InvalidInputError):
            tab.column(bad)
    assert sheets.requests == {}


def test_to_frame_uses_the_header_row(sheets):
    _, tab = _tab(sheets, [["id", "volume"], [ID, "1.5"], ["7", ""]])
    frame = tab.to_frame()
    assert list(frame.columns) == ["id", "volume"]
    assert frame.to_dict("records") == [{"id": ID, "volume": "1.5"}, {"id": "7", "volume": ""}]


def test_to_frame_numericise_turns_numbers_into_numbers(sheets):
    _, tab = _tab(sheets, [["id", "volume"], [ID, "1.5"]])
    frame = tab.to_frame(numericise=True)
    assert frame.loc[0, "id"] == int(ID) and frame.loc[0, "volume"] == 1.5


def test_to_frame_without_headers_names_columns_col_n(sheets):
    _, tab = _tab(sheets, [["a", "b"], ["c"]])
    frame = tab.to_frame(has_headers=False)
    assert list(frame.columns) == ["col_1", "col_2"]
    assert frame.values.tolist() == [["a", "b"], ["c", ""]]


@pytest.mark.parametrize("has_headers", [True, False])
def test_empty_tab_gives_an_empty_frame(sheets, has_headers):
    _, tab = _tab(sheets, [])
    assert tab.to_frame(has_headers=has_headers).empty


def test_header_only_tab_gives_columns_and_no_rows(sheets):
    _, tab = _tab(sheets, [["id", "n"]])
    frame = tab.to_frame()
    assert (list(frame.columns), len(frame)) == (["id", "n"], 0)


def test_duplicate_headers_raise_a_clear_error(sheets):
    _, tab = _tab(sheets, [["id", "n", "id"], ["1", "2", "3"]])
    with pytest.raises(InvalidInputError, match=r"repeats \['id'\]"):
        tab.to_frame()


def test_missing_spreadsheet_and_tab_are_service_errors(sheets):
    with pytest.raises(ServiceError, match="does not exist or is not shared"):
        Sheet("missing-key").tab("T").column(1)
    key = sheets.create("book", tabs={"T": []})
    with pytest.raises(ServiceError, match="no tab with that name"):
        Sheet(key).tab("t").column(1)


# -- writes --------------------------------------------------------------------------------------


def test_ids_are_written_as_text_and_round_trip_exactly(sheets):
    key, tab = _tab(sheets, [["segment_id", "count"]])
    tab.append_row([720575941473274509, 12])
    assert sheets.values(key, "T")[1] == [ID, 12]
    assert tab.column(1, ignore_header=True) == [ID]


def test_append_row_goes_below_the_data_from_column_a_despite_header_gaps(sheets):
    key, tab = _tab(sheets, [["id", "", "note"], ["1", "", "x"]])
    assert tab.append_row(["2", "", "y"]) == 3
    assert sheets.values(key, "T") == [["id", "", "note"], ["1", "", "x"], ["2", "", "y"]]


def test_append_row_grows_a_full_grid(sheets):
    key, tab = _tab(sheets, [["a"], ["b"]], grid=(2, 1))
    assert tab.append_row(["c", "d"]) == 3
    assert sheets.grid(key, "T") == (3, 2)
    assert sheets.values(key, "T")[2] == ["c", "d"]


def test_append_column_fills_the_first_empty_column_and_moves_nothing(sheets):
    key, tab = _tab(sheets, [["id", "a", "", "z"], ["1", "2", "", "9"]])
    assert tab.append_column(["new", ID, "extra"]) == 3
    assert sheets.values(key, "T") == [
        ["id", "a", "new", "z"], ["1", "2", ID, "9"], ["", "", "extra", ""]]


def test_append_column_after_the_last_column_grows_the_grid(sheets):
    key, tab = _tab(sheets, [["a", "b"], ["c", "d"]], grid=(2, 2))
    assert tab.append_column(["x", "y", "z"]) == 3
    assert sheets.grid(key, "T") == (3, 3)
    assert [row[2] for row in sheets.values(key, "T")] == ["x", "y", "z"]


def test_empty_writes_are_refused(sheets):
    _, tab = _tab(sheets, [])
    with pytest.raises(InvalidInputError):
        tab.append_row([])
    with pytest.raises(InvalidInputError):
        tab.append_column("abc")


def test_write_rows_sends_one_request_per_batch(sheets):
    key, tab = _tab(sheets, [], grid=(50, 3))
    rows = [[str(10**17 + i), i, None] for i in range(120)]
    sheets.reset()
    tab.write_rows(2, rows, batch_size=50)
    assert sheets.requests["values.update"] == 3
    truth = sheets.values(key, "T")
    assert truth[1] == [str(10**17), 0] and truth[120] == [str(10**17 + 119), 119]
    assert sheets.grid(key, "T")[0] == 121


def test_values_written_raw_are_never_formulas_and_nan_is_empty(sheets):
    key, tab = _tab(sheets, [])
    tab.append_row(["=IMPORTXML(1)", float("nan"), True, 2**53, 2**53 - 1])
    assert sheets.values(key, "T") == [["=IMPORTXML(1)", "", True, str(2**53), 2**53 - 1]]


# -- fill_columns --------------------------------------------------------------------------------


def _details(ids: list[str]) -> list[list]:
    return [[ident, len(ident) * 1.5] for ident in ids]


def test_fill_columns_writes_header_and_rows_in_one_request_per_batch(sheets):
    key, tab = _tab(sheets, _id_rows(120))
    sheets.reset()
    report = tab.fill_columns(["current_id", "volume_um3"], _details, batch_size=50, progress=False)
    assert sheets.value_writes == 3 <= 4
    assert report.write_requests == 3 and report.header_written
    assert report.written == tuple(range(2, 122))
    truth = sheets.values(key, "T")
    assert truth[0] == ["segment_id", "current_id", "volume_um3"]
    assert truth[120] == [str(10**15 + 119), str(10**15 + 119), 24]


def test_fill_columns_reads_the_sheet_once_and_each_batch_s_ids_once(sheets):
    _, tab = _tab(sheets, _id_rows(10))
    tab.column(1)  # opens the spreadsheet and tab
    sheets.reset()
    tab.fill_columns(["current_id"], lambda ids: [[i] for i in ids], batch_size=4,
                     progress=False)
    assert sheets.requests["values.get"] == 1 + 3  # the plan, then one ID check per batch


def test_fill_columns_skips_filled_rows_and_resumes(sheets):
    rows = [["id", "current_id", "n"], ["1", "1", "5"], ["2"], ["", ""], ["3", "", "kept"], ["4"]]
    key, tab = _tab(sheets, rows)
    seen: list[list[str]] = []

    def compute(ids: list[str]) -> list[list]:
        seen.append(ids)
        return [[i, int(i) * 10] for i in ids]

    report = tab.fill_columns(["current_id", "n"], compute, progress=False)
    assert seen == [["2", "4"]]
    assert (report.written, report.skipped, report.header_written) == ((3, 6), (2, 5), False)
    assert sheets.values(key, "T") == [
        ["id", "current_id", "n"], ["1", "1", "5"], ["2", "2", 20], ["", "", ""],
        ["3", "", "kept"], ["4", "4", 40]]
    again = tab.fill_columns(["current_id", "n"], compute, progress=False)
    assert again.written == () and len(seen) == 1


def test_interrupted_fill_keeps_the_first_batch_and_reports_it(sheets, caplog):
    key, tab = _tab(sheets, _id_rows(120))
    calls = 0

    def flaky(ids: list[str]) -> list[list]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("CAVE went away")
        return [[i] for i in ids]

    with caplog.at_level(logging.INFO, logger="tracertools.storage.sheet"), pytest.raises(BatchError) as info:
        tab.fill_columns(["current_id"], flaky, batch_size=50, progress=False)
    assert "row 52 (id 1000000000000050)" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionError)
    assert "wrote rows 2-51" in caplog.text
    truth = sheets.values(key, "T")
    assert [r[1] for r in truth[1:51]] == [r[0] for r in truth[1:51]]
    assert all(len(r) == 1 or r[1] == "" for r in truth[51:])
    resumed = tab.fill_columns(["current_id"], lambda ids: [[i] for i in ids], progress=False)
    assert resumed.written == tuple(range(52, 122)) and resumed.skipped == tuple(range(2, 52))


def test_fill_columns_warn_leaves_failed_rows_empty_and_names_them(sheets):
    key, tab = _tab(sheets, _id_rows(4))

    def compute(ids: list[str]) -> list:
        return [None if i.endswith("1") else ValueError("bad") if i.endswith("3") else [i] for i in ids]

    with pytest.warns(PartialResultWarning, match=r"row 3 \(id 1000000000000001\).*row 5"):
        report = tab.fill_columns(["current_id"], compute, errors="warn", progress=False)
    assert (report.written, report.failed) == ((2, 4), (3, 5))
    assert [row[1:] for row in sheets.values(key, "T")] == [
        ["current_id"], [str(10**15)], [""], [str(10**15 + 2)], [""]]
    assert "ERROR" not in json.dumps(sheets.values(key, "T"))


def test_fill_columns_ignore_is_silent(sheets):
    _, tab = _tab(sheets, _id_rows(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = tab.fill_columns(["x"], lambda ids: [None] * len(ids), errors="ignore", progress=False)
    assert report.failed == (2, 3)


def test_fill_columns_refuses_to_overwrite_another_header(sheets):
    key, tab = _tab(sheets, [["id", "notes"], ["1", ""]])
    sheets.reset()
    with pytest.raises(InvalidInputError, match="holds \\['notes'\\]"):
        tab.fill_columns(["current_id"], _details, progress=False)
    assert sheets.value_writes == 0


def test_fill_columns_rejects_a_compute_that_miscounts(sheets):
    _, tab = _tab(sheets, _id_rows(3))
    with pytest.raises(InvalidInputError, match="2 rows for 3 IDs"):
        tab.fill_columns(["x"], lambda ids: [[1], [2]], progress=False)


def test_fill_columns_widens_the_grid_and_honours_start_column(sheets):
    key, tab = _tab(sheets, [["id"], ["5"]], grid=(2, 1))
    tab.fill_columns(["a", "b"], lambda ids: [[1, 2]] * len(ids), start_column=3, progress=False)
    assert sheets.grid(key, "T") == (2, 4)
    assert sheets.values(key, "T") == [["id", "", "a", "b"], ["5", "", 1, 2]]


def test_fill_columns_validates_arguments_before_any_request(sheets):
    _, tab = _tab(sheets, [])
    sheets.reset()
    for kwargs in ({"errors": "loud"}, {"batch_size": 0}, {"id_column": 2, "start_column": 1}):
        with pytest.raises(InvalidInputError):
            tab.fill_columns(["x", "y"], _details, **kwargs)
    with pytest.raises(InvalidInputError):
        tab.fill_columns([], _details)
    assert sheets.requests == {}


# -- clients, credentials, retries ---------------------------------------------------------------


def test_one_client_is_built_and_reused(sheets):
    key = sheets.create("book", tabs={"T": [["a"]]})
    Sheet(key).tab("T").column(1)
    assert sheet.gspread_client() is sheet.gspread_client()
    assert Sheet(key)._open().client is sheet.gspread_client().http_client


def test_service_account_key_file_authorises_once_through_the_local_token_endpoint(tmp_path):
    with LocalSheets(token="sa-token") as server:
        path = tmp_path / "service_account.json"
        path.write_text(json.dumps(server.service_account_info()))
        key = server.create("book", tabs={"T": [["a"]]})
        for _ in range(3):
            assert Sheet(key, credentials=ServiceAccount(path),
                         http_client=server.http_client).tab("T").column(1) == ["a"]
    assert server.requests["token"] == 1
    # google-auth's side lookup (allowedLocations) also lands here, as a 404, never on the network
    assert all(r.status == 200 for r in server.log if r.route != "unknown")


def test_a_key_file_path_is_recognised_by_its_contents(tmp_path):
    with LocalSheets(token="sa-token") as server:
        path = tmp_path / "key.json"
        path.write_text(json.dumps(server.service_account_info()))
        key = server.create("book", tabs={"T": [["a"]]})
        assert Sheet(key, credentials=str(path), http_client=server.http_client).tab("T").row(1) == ["a"]
    assert server.requests["token"] == 1


def test_an_unrecognised_key_file_is_an_input_error(sheets, tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"hello": "world"}')
    key = sheets.create("book", tabs={"T": []})
    with pytest.raises(InvalidInputError, match="not a service-account key"):
        Sheet(key, credentials=path).tab("T").column(1)


def test_authorized_user_info_with_a_live_token_needs_no_refresh():
    info = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r",
            "token": "user-token", "expiry": "2099-01-01T00:00:00Z"}
    with LocalSheets(token="user-token") as server:
        key = server.create("book", tabs={"T": [["a"]]})
        assert Sheet(key, credentials=info, http_client=server.http_client).tab("T").column(1) == ["a"]
    assert server.requests["token"] == 0


def test_expired_oauth_user_refreshes_against_the_stand_in_not_google(tmp_path):
    path = tmp_path / "authorized_user.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "c",
                                "client_secret": "s", "refresh_token": "r"}))
    with LocalSheets(token="fresh-token") as server:
        key = server.create("book", tabs={"T": [["a"]]})
        assert Sheet(key, credentials=OAuth(authorized_user_filename=path),
                     http_client=server.http_client).tab("T").column(1) == ["a"]
    assert server.requests["token"] == 1


def test_google_auth_credentials_object_is_used(sheets):
    with LocalSheets(token="object-token") as server:
        key = server.create("book", tabs={"T": [["a"]]})
        creds = UserCredentials(token="object-token")
        assert Sheet(key, credentials=creds, http_client=server.http_client).tab("T").column(1) == ["a"]


def test_wrong_token_is_a_service_error_without_the_token(tmp_path):
    with LocalSheets(token="right") as server:
        key = server.create("book", tabs={"T": []})
        with pytest.raises(ServiceError, match="did not accept the credentials") as info:
            Sheet(key, credentials=UserCredentials(token="wrong-secret"),
                  http_client=server.http_client).tab("T").column(1)
    assert "wrong-secret" not in str(info.value)


def test_reads_retry_server_errors(sheets):
    _, tab = _tab(sheets, [["a"]])
    tab.column(1)
    sheets.fail_next(503, route="values.get")
    assert tab.column(1) == ["a"]
    assert [r.status for r in sheets.log if r.route == "values.get"][-2:] == [503, 200]


def test_persistent_429_becomes_rate_limited_error(sheets):
    _, tab = _tab(sheets, [["a"]])
    tab.column(1)
    sheets.fail_next(429, count=5, retry_after=0, route="values.get")
    with pytest.raises(RateLimitedError):
        tab.column(1)


def test_appends_are_not_retried_so_a_row_is_never_written_twice(sheets):
    key, tab = _tab(sheets, [["a"]])
    tab.column(1)
    sheets.fail_next(503, route="values.append")
    with pytest.raises(ServiceError, match="HTTP 503"):
        tab.append_row(["b"])
    assert sheets.requests["values.append"] == 1
    assert sheets.values(key, "T") == [["a"]]


def test_default_credentials_apply_within_the_block_and_are_restored_after():
    with LocalSheets() as server:
        key = server.create("book", tabs={"T": [["a"]]})
        with sheet.default_credentials(server.client()):
            assert Sheet(key).tab("T").column(1) == ["a"]
        assert sheet_auth._DEFAULT[0] == (None, None)


def test_default_credentials_can_name_an_http_client(tmp_path):
    with LocalSheets(token="sa-token") as server:
        path = tmp_path / "service_account.json"
        path.write_text(json.dumps(server.service_account_info()))
        key = server.create("book", tabs={"T": [["a"]]})
        with sheet.default_credentials(str(path), http_client=server.http_client):
            assert Sheet(key).tab("T").column(1) == ["a"]
    assert server.requests["token"] == 1


def test_an_http_client_must_be_a_class():
    with pytest.raises(InvalidInputError, match="http_client"):
        Sheet("k", http_client="http://127.0.0.1:1")


def test_frames_are_pandas_objects(sheets):
    _, tab = _tab(sheets, [["a"], ["1"]])
    assert isinstance(tab.to_frame(), pd.DataFrame)
