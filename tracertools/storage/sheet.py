"""Google Sheets: [`Sheet`][tracertools.storage.sheet.Sheet] and [`Tab`][tracertools.storage.sheet.Tab] handles over gspread.

>>> from tracertools.storage.sheet import Sheet
>>> tab = Sheet("1AbC...").tab("neurons")        # validated; no network yet
>>> ids = tab.column(1, ignore_header=True)        # first I/O: one authorised client, reused after

This module and its private helpers (``_sheet_auth``: credentials, the client cache and
the default credentials; ``_sheet_fill``: cell encoding and fill bookkeeping) are the only code in
tracertools that touches gspread. Building a [`Sheet`][tracertools.storage.sheet.Sheet] or a [`Tab`][tracertools.storage.sheet.Tab] does no I/O;
methods do, and every method says which Sheets API call stands behind it. One authorised ``gspread.Client`` is cached per credentials for the whole process (the
original library ran the OAuth flow again on every call).

Credentials (the ``credentials=`` argument of [`Sheet`][tracertools.storage.sheet.Sheet]), resolved at the first request:

* ``None``: the process default set with `set_default_credentials()` (or the
  `default_credentials()` context manager) if any; else the JSON key file named by
  ``$TRACERTOOLS_SHEETS_CREDENTIALS``; else gspread's OAuth desktop flow with its default files
  (``~/.config/gspread/credentials.json`` and ``authorized_user.json``), as the original did.
* `ServiceAccount` / `OAuth`: explicit files or parsed JSON info.
* a path to a JSON key file: a service-account key, an authorised-user file or OAuth client
  secrets (told apart by their contents at first use).
* a mapping: service-account info or authorised-user info (told apart by its ``type``).
* a ready ``google.auth`` credentials object, or a ready ``gspread.Client`` (used as is).

Credentials and tokens never appear in a repr, a log line or an error message.

Stand-ins (``tracertools.testing.LocalSheets``) are reached through these same parameters: a
ready ``gspread.Client`` as ``credentials=`` (``LocalSheets.client()``), or gspread's
``http_client=`` hook (``Sheet(key, credentials=..., http_client=LocalSheets.http_client)``) to
build a client from real credentials that talks to the stand-in. Nothing here knows about them.
"""

from __future__ import annotations

import logging
import numbers
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from tracertools.batch import (
    ErrorPolicy,
    apply_error_policy,
    check_error_policy,
    progress_bar,
)
from tracertools.errors import (
    ConcurrentChangeError,
    InvalidInputError,
    ServiceError,
)
from tracertools.storage.sheet_auth import (
    CREDENTIALS_ENV,
    OAuth,
    ServiceAccount,
    _as_credentials,
    _check_http_client,
    _client_for,
    clear_client_cache,
    default_credentials,
    gspread_client,
    set_default_credentials,
)

# Credentials and the client cache live in sheet_auth; the public names
# are re-exported here, their documented home. Single calls (retries, typed errors) live in
# sheet_calls.
from tracertools.storage.sheet_calls import _call
from tracertools.storage.sheet_fill import (
    ComputeRows,
    FillReport,
    _by_columns,
    _cell,
    _col_letters,
    _compute_batch,
    _contiguous_ranges,
    _first_row,
    _grid_size,
    _moved_message,
    _moved_rows,
    _plan_fill,
    _raw_input,
    _same_row,
    _spans,
    _value_range,
)
from tracertools.storage.sheet_ids import SegmentColumnsMixin

if TYPE_CHECKING:
    import gspread
    import pandas as pd


__all__ = [
    "CREDENTIALS_ENV",
    "FillReport",
    "OAuth",
    "ServiceAccount",
    "Sheet",
    "Tab",
    "clear_client_cache",
    "default_credentials",
    "gspread_client",
    "set_default_credentials",
]

logger = logging.getLogger(__name__)


_KEY = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_URL_KEY = re.compile(r"^https?://docs\.google\.com/spreadsheets/d/([A-Za-z0-9_-]+)")

# ---------------------------------------------------------------------------------------------
# Handles


def _parse_key(key: Any) -> str:
    if not isinstance(key, str):
        raise InvalidInputError(f"a spreadsheet key must be a str, not {type(key).__name__}")
    text = key.strip()
    match = _URL_KEY.match(text)
    if match:
        return match.group(1)
    if not _KEY.match(text):
        raise InvalidInputError(f"{key!r} is not a spreadsheet key (letters, digits, - and _) "
                                f"or a docs.google.com/spreadsheets/d/... URL")
    return text


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise InvalidInputError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)



class Sheet:
    """A Google spreadsheet, named by its key (or its docs.google.com URL). No I/O on creation.

    Args:
        key: the spreadsheet key from its URL (``docs.google.com/spreadsheets/d/<key>/edit``),
            or that URL.
        credentials: see the module docstring; ``None`` uses the default client.
        http_client: gspread's ``HTTPClient`` class to build the client with (gspread's own
            ``http_client=`` hook, e.g. ``LocalSheets.http_client``); default gspread's.

    Raises:
        InvalidInputError: the key or credentials argument is malformed.
    """

    __slots__ = ("_credentials", "_http_client", "_key", "_lock", "_spreadsheet")

    def __init__(self, key: str, *, credentials: Any = None, http_client: Any = None) -> None:
        self._key = _parse_key(key)
        self._credentials = _as_credentials(credentials)
        self._http_client = _check_http_client(http_client)
        self._lock = threading.Lock()
        self._spreadsheet: Any = None

    @property
    def key(self) -> str:
        """The spreadsheet key."""
        return self._key

    def __repr__(self) -> str:
        return f"Sheet({self._key!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sheet) and other._key == self._key

    def __hash__(self) -> int:
        return hash(("Sheet", self._key))

    def tab(self, name: str) -> Tab:
        """A handle on the tab (worksheet) called ``name`` (exact, case-sensitive). No I/O."""
        return Tab(self, name)

    def tab_names(self) -> list[str]:
        """The tab titles in order. Sheets API: ``spreadsheets.get``."""
        spreadsheet = self._open()
        return _call(lambda: [ws.title for ws in spreadsheet.worksheets()], "list the tabs")

    def _open(self) -> gspread.Spreadsheet:
        with self._lock:
            if self._spreadsheet is None:
                client = _client_for(self._credentials, self._http_client)
                self._spreadsheet = _call(lambda: client.open_by_key(self._key),
                                          f"open spreadsheet {self._key!r}")
            return self._spreadsheet  # type: ignore[no-any-return]


class Tab(SegmentColumnsMixin):
    """One tab (worksheet) of a [`Sheet`][tracertools.storage.sheet.Sheet]. Cheap to create; methods do the I/O.

    Reads return what the sheet shows (``FORMATTED_VALUE`` strings). Writes use ``RAW`` input:
    text is stored as typed (a leading ``=`` is not a formula) and integers of 2**53 or more,
    such as segment IDs, are written as text so they never turn into ``7.20576E+17``.
    """

    __slots__ = ("_lock", "_name", "_sheet", "_worksheet")

    def __init__(self, sheet: Sheet, name: str) -> None:
        if not isinstance(sheet, Sheet):
            raise InvalidInputError(f"expected a Sheet, got {type(sheet).__name__}")
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"a tab name must be a non-empty str, got {name!r}")
        self._sheet = sheet
        self._name = name
        self._lock = threading.Lock()
        self._worksheet: Any = None

    @property
    def sheet(self) -> Sheet:
        """The spreadsheet this tab belongs to."""
        return self._sheet

    @property
    def name(self) -> str:
        """The tab's title."""
        return self._name

    def __repr__(self) -> str:
        return f"Tab(sheet={self._sheet.key!r}, name={self._name!r})"

    def _repr_html_(self) -> str:
        """A compact card: sheet key, tab name, grid size once the tab was opened (no request)."""
        import html

        ws = self._worksheet  # gspread keeps the grid size it read when opening the tab
        rows = [("sheet", self._sheet.key), ("tab", self._name)] + (
            [] if ws is None else [("grid", f"{ws.row_count:,} rows × {ws.col_count:,} columns")])
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table><caption>Tab</caption>{body}</table>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tab) and (other._sheet.key, other._name) == (self._sheet.key, self._name)

    def __hash__(self) -> int:
        return hash(("Tab", self._sheet.key, self._name))

    # -- reads ------------------------------------------------------------------------------

    def column(self, n: int, *, ignore_header: bool = False) -> list[str]:
        """Column ``n`` (1 = A) down to its last non-empty cell; inner blanks are ``""``.

        Sheets API: ``values.get`` on ``<col>1:<col>``. ``ignore_header`` drops row 1.
        """
        n = _positive(n, "column number")
        ws = self._ws()
        values = _call(lambda: ws.col_values(n), f"read column {n} of tab {self._name!r}")
        texts = ["" if v is None else str(v) for v in values]
        return texts[1:] if ignore_header else texts

    def row(self, n: int) -> list[str]:
        """Row ``n`` (1-based) up to its last non-empty cell. Sheets API: ``values.get``."""
        n = _positive(n, "row number")
        ws = self._ws()
        values = _call(lambda: ws.row_values(n), f"read row {n} of tab {self._name!r}")
        return ["" if v is None else str(v) for v in values]

    def to_frame(self, *, has_headers: bool = True, numericise: bool = False) -> pd.DataFrame:
        """The whole tab as a DataFrame (one ``values.get`` request).

        Args:
            has_headers: row 1 names the columns; otherwise columns are ``col_1 .. col_n``.
            numericise: turn cells that read as numbers into int/float (gspread's rule, as
                ``get_all_records`` does); otherwise every cell is the string the sheet shows.

        Returns:
            A DataFrame; an empty tab gives an empty frame, a header-only tab a frame with
            columns and no rows.

        Raises:
            InvalidInputError: ``has_headers`` and the header row repeats a name.
        """
        import pandas as pd

        ws = self._ws()
        rows = _call(lambda: ws.get_all_values(), f"read tab {self._name!r}")
        if not rows or rows == [[]]:
            return pd.DataFrame()
        if numericise:
            from gspread.utils import numericise_all

            rows = [rows[0], *(numericise_all(r) for r in rows[1:])] if has_headers else [
                numericise_all(r) for r in rows]
        if not has_headers:
            return pd.DataFrame(rows, columns=[f"col_{i + 1}" for i in range(len(rows[0]))])
        header = [str(h) for h in rows[0]]
        dupes = sorted(name for name, count in Counter(header).items() if count > 1)
        if dupes:
            raise InvalidInputError(
                f"the header row of tab {self._name!r} repeats {dupes} (blank header cells count "
                f"as ''); rename them in the sheet or pass has_headers=False"
            )
        return pd.DataFrame(rows[1:], columns=header)

    # -- writes -----------------------------------------------------------------------------

    def append_row(self, values: Sequence[Any]) -> int:
        """Write ``values`` into the row below the last non-empty row, from column A.

        Never shifts or overwrites existing cells, even when row 1 has blanks (where a plain
        ``values.append`` on the whole tab would start in a later column). Grows the grid if
        needed. Sheets API: one ``values.get`` then one ``values.append`` anchored at that row.

        The append is not retried (that could write the row twice). If it fails, the tab is
        read back (one ``values.get``): a row that landed although the answer was an error is
        a success; otherwise the error says the row is not there, so calling again is safe.

        Returns:
            The 1-based row number written.

        Raises:
            ServiceError: the row was not written (or it cannot be told; the message says
                which row to look at before calling again).
        """
        cells = self._cells_of(values, "append_row")
        ws = self._ws()
        grid: Any = _call(lambda: ws.get(return_type=_value_range()), f"read tab {self._name!r}")
        n_rows, _ = _grid_size(grid.range)
        target = 1 if grid == [[]] else len(grid) + 1
        if target > n_rows:
            self._grow(ws, "ROWS", target - n_rows)
        try:
            result = _call(
                lambda: ws.append_row(cells, value_input_option=_raw_input(),
                                      table_range=f"A{target}"),
                f"append a row to tab {self._name!r}", idempotent=False,
            )
        except ServiceError as exc:
            return self._appended_after_all(ws, cells, target, exc)
        return _first_row(result["updates"]["updatedRange"], default=target)

    def _appended_after_all(
        self, ws: gspread.Worksheet, cells: list[Any], target: int, failure: ServiceError
    ) -> int:
        """The row a failed append landed on after all (read back), else raise ``failure``."""
        from gspread.utils import ValueRenderOption

        try:
            rows: Any = _call(lambda: ws.get(f"A{target}:ZZZ",
                                             value_render_option=ValueRenderOption.unformatted,
                                             return_type=_value_range()),
                              f"read back tab {self._name!r}")
        except ServiceError:
            raise type(failure)(
                f"{failure} (whether the row landed cannot be told: the read-back failed too; "
                f"look at row {target} before appending again)") from failure
        for offset, row in enumerate(rows):
            if _same_row(row, cells):
                logger.warning("tab %r: the append answered with an error, but row %d holds the "
                               "row: it was written (not appending again)",
                               self._name, target + offset)
                return target + offset
        raise type(failure)(f"{failure} (read back: the row was not written, so appending again "
                            "is safe)") from failure

    def append_column(self, values: Sequence[Any]) -> int:
        """Write ``values`` down the first empty column (no non-empty cell), from row 1.

        Fills that column; other columns never move (the original inserted a column and
        shifted the rest right). Grows the grid if needed. Sheets API: one ``values.get``
        (by columns), then one ``values.append`` anchored at the column's first cell.

        Returns:
            The 1-based column number written.
        """
        cells = self._cells_of(values, "append_column")
        ws = self._ws()
        grid: Any = _call(lambda: ws.get(major_dimension=_by_columns(), return_type=_value_range()),
                          f"read tab {self._name!r}")
        _, n_cols = _grid_size(grid.range)
        columns = [] if grid == [[]] else list(grid)
        target = next((i + 1 for i, col in enumerate(columns) if not any(str(v) for v in col)),
                      len(columns) + 1)
        if target > n_cols:
            self._grow(ws, "COLUMNS", target - n_cols)
        from gspread.utils import absolute_range_name

        anchor = absolute_range_name(ws.title, f"{_col_letters(target)}1")
        _call(
            lambda: ws.spreadsheet.values_append(
                anchor, params={"valueInputOption": "RAW"},
                body={"majorDimension": "COLUMNS", "values": [cells]},
            ),
            f"write column {target} of tab {self._name!r}", idempotent=False,
        )
        return target

    def write_rows(
        self, start_row: int, rows: Sequence[Sequence[Any]], *, column: int = 1, batch_size: int = 1000
    ) -> None:
        """Write ``rows`` with their top-left cell at (``start_row``, ``column``), overwriting.

        One ``values.update`` request per ``batch_size`` rows (after one ``spreadsheets.get``
        for the grid size, and one ``batchUpdate`` if the grid must grow). ``None`` cells are
        written empty.

        Raises:
            InvalidInputError: a cell value that is not text, a number, a bool, a date or
                None (bytes, a dict, an arbitrary object), before any request.
        """
        start_row = _positive(start_row, "start_row")
        column = _positive(column, "column")
        batch_size = _positive(batch_size, "batch_size")
        matrix = [self._cells_of(r, f"write_rows row {i + 1}", allow_empty=True)
                  for i, r in enumerate(rows)]
        if not matrix:
            return
        ws = self._ws(fresh=True)
        need_rows = start_row + len(matrix) - 1 - ws.row_count
        need_cols = column + max(len(r) for r in matrix) - 1 - ws.col_count
        for dimension, missing in (("ROWS", need_rows), ("COLUMNS", need_cols)):
            if missing > 0:
                self._grow(ws, dimension, missing)
        letter = _col_letters(column)
        for start in range(0, len(matrix), batch_size):
            chunk = matrix[start:start + batch_size]
            update = partial(ws.update, chunk, f"{letter}{start_row + start}", value_input_option=_raw_input())
            _call(update, f"write rows to tab {self._name!r}")

    def fill_columns(
        self,
        header: Sequence[str],
        compute: ComputeRows,
        *,
        id_column: int = 1,
        start_column: int | None = None,
        batch_size: int = 50,
        errors: ErrorPolicy = "raise",
        progress: bool | None = None,
    ) -> FillReport:
        """Fill computed columns beside an ID column, resumably, one write request per batch.

        Layout: row 1 is the header; IDs are in ``id_column`` from row 2; the results go into
        ``len(header)`` columns from ``start_column`` (default: right of the ID column). The
        header is written if those row-1 cells are empty. A row is *filled* once any of its
        result cells is non-empty; filled rows and rows without an ID are skipped, so a call
        after an interruption (or after failures) resumes where the last one stopped.

        Requests: one ``values.get`` for the ID and result columns, a ``batchUpdate`` if the
        grid must widen, then per batch one ``values.get`` of its ID cells and one
        ``values.batchUpdate``, sent before the next batch is computed, so an interruption keeps
        every batch already written. The ID read checks that each row still holds the ID its
        values were computed for: a colleague inserting or deleting rows meanwhile stops the
        fill ([`ConcurrentChangeError`][tracertools.errors.ConcurrentChangeError]) instead of writing values
        beside other IDs. (The Sheets API has no conditional write, so an edit landing in the
        one round trip between that read and the write cannot be caught.)

        Args:
            header: the result column names.
            compute: called with a batch of ID cell texts (stripped strings, in sheet order);
                returns one entry per ID: a sequence of ``len(header)`` values, or ``None`` / an
                exception instance for an ID that failed (its row is left empty), or a
                `MarkedFailure` for an ID that failed
                for good (its row is written, e.g. with a reason, and counts as filled). If it
                raises, the whole batch failed.
                Values are written RAW; ints >= 2**53 as text; None and NaN as empty. Return
                IDs as ``str`` so they always read back exactly.
            id_column: the 1-based column holding the IDs.
            start_column: the first result column; ``id_column + 1`` by default.
            batch_size: IDs per ``compute`` call and per write request.
            errors: for failed rows: "raise" stops after the first batch with a failure (earlier
                batches and that batch's good rows stay written) with
                [`BatchError`][tracertools.errors.BatchError]; "warn" leaves failed
                rows empty and names them in one
                [`PartialResultWarning`][tracertools.errors.PartialResultWarning]; "ignore" leaves them empty.
            progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).

        Returns:
            A `FillReport`.

        Raises:
            InvalidInputError: bad arguments, row 1 holds a different header, or ``compute``
                returned the wrong number of rows or values (a bug in ``compute``).
            ConcurrentChangeError: rows moved under the fill; earlier batches stay written.
        """
        policy = check_error_policy(errors)
        names = [str(h) for h in header] if not isinstance(header, str) else []
        if not names:
            raise InvalidInputError("header must be a non-empty list of column names")
        id_column = _positive(id_column, "id_column")
        first = id_column + 1 if start_column is None else _positive(start_column, "start_column")
        last = first + len(names) - 1
        if first <= id_column <= last:
            raise InvalidInputError(f"the result columns {first}-{last} would overwrite the ID "
                                    f"column {id_column}")
        batch_size = _positive(batch_size, "batch_size")
        ws = self._ws()
        need_header, todo, skipped = self._fill_plan(ws, names, id_column, first, last)
        idents = dict(todo)
        header_item = {"range": f"{_col_letters(first)}1:{_col_letters(last)}1", "values": [names]}
        written: list[int] = []
        failures: dict[int, BaseException] = {}
        marked: set[int] = set()
        requests = 0
        bar = progress_bar(len(todo), f"fill {self._name}", progress)
        try:
            for start in range(0, max(len(todo), int(need_header)), batch_size):
                batch = todo[start:start + batch_size]
                done = _compute_batch(compute, batch, len(names), start, failures, marked)
                data = [header_item] if need_header and not requests else []
                data += _contiguous_ranges(done, first, last)
                if done:  # the rows still hold the IDs computed for (no insert meanwhile)?
                    self._check_ids(ws, id_column, [(n, idents[n]) for n, _ in done], written)
                if data:  # one request per batch, before the next batch is computed
                    try:
                        _call(partial(ws.batch_update, data, value_input_option=_raw_input()),
                              f"write rows to tab {self._name!r}")
                    except ServiceError as exc:  # say what is safely stored before the failure
                        raise type(exc)(
                            f"{exc} (rows already written: {_spans(written) or 'none'}; rows "
                            f"{_spans([n for n, _ in done]) or 'none'} were not; call again to "
                            "resume)"
                        ) from exc
                    requests += 1
                    written += [number for number, _ in done]
                    if done:
                        logger.info("tab %r: wrote rows %s", self._name, _spans([n for n, _ in done]))
                bar.update(len(batch))
                if failures and policy == "raise":
                    logger.info("tab %r: stopping after %d written row(s) (%s); call again to "
                                "resume", self._name, len(written), _spans(written) or "none")
                    break
        finally:
            bar.close()
        report = FillReport(tuple(written), tuple(skipped),
                            tuple(todo[i][0] for i in sorted(failures) if i not in marked),
                            need_header and requests > 0, requests,
                            marked=tuple(todo[i][0] for i in sorted(marked)))
        labels = [f"row {number} (id {ident})" for number, ident in todo]
        apply_error_policy(failures, policy, labels, what="row")
        return report

    def _fill_plan(
        self, ws: gspread.Worksheet, names: list[str], id_column: int, first: int, last: int
    ) -> tuple[bool, list[tuple[int, str]], list[int]]:
        """Read the ID and result columns once: (header needed?, rows to fill, filled rows).

        Widens the grid if the result columns go past it.
        """
        lo, hi = min(id_column, first), max(id_column, last)
        block: Any = _call(lambda: ws.get(f"{_col_letters(lo)}1:{_col_letters(hi)}",
                                          return_type=_value_range()), f"read tab {self._name!r}")
        need_header, todo, skipped = _plan_fill(block, names, id_column, first, last, self._name)
        _, n_cols = _grid_size(block.range)
        if last > n_cols:
            self._grow(ws, "COLUMNS", last - n_cols)
        return need_header, todo, skipped

    def _check_ids(
        self, ws: gspread.Worksheet, id_column: int, expected: list[tuple[int, str]],
        written: list[int],
    ) -> None:
        """Read the ID cells of the rows about to be written (one ``values.get``); refuse if
        any changed since the plan: [`ConcurrentChangeError`][tracertools.errors.ConcurrentChangeError]."""
        letter = _col_letters(id_column)
        cells = f"{letter}{expected[0][0]}:{letter}{expected[-1][0]}"
        block: Any = _call(lambda: ws.get(cells, return_type=_value_range()),
                           f"check the IDs of tab {self._name!r}")
        moved = _moved_rows(expected, block)
        if moved:
            raise ConcurrentChangeError(
                _moved_message(self._name, moved, [n for n, _ in expected], written))

    # -- helpers ----------------------------------------------------------------------------

    def _ws(self, *, fresh: bool = False) -> gspread.Worksheet:
        """The gspread worksheet (one ``spreadsheets.get`` the first time, or when ``fresh``)."""
        spreadsheet = self._sheet._open()
        with self._lock:
            if self._worksheet is None or fresh:
                self._worksheet = _call(lambda: spreadsheet.worksheet(self._name),
                                        f"open tab {self._name!r}")
            return self._worksheet  # type: ignore[no-any-return]

    def _grow(self, ws: gspread.Worksheet, dimension: str, length: int) -> None:
        """Add ``length`` rows or columns at the end (``appendDimension``; never shrinks)."""
        body = {"requests": [{"appendDimension": {"sheetId": ws.id, "dimension": dimension,
                                                  "length": int(length)}}]}
        _call(lambda: ws.spreadsheet.batch_update(body), f"grow tab {self._name!r}",
              idempotent=False)

    @staticmethod
    def _cells_of(values: Any, what: str, *, allow_empty: bool = False) -> list[Any]:
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
            raise InvalidInputError(f"{what} takes a list of cell values, got {type(values).__name__}")
        cells = [_cell(v, f"{what}: value {i + 1}") for i, v in enumerate(values)]
        if not cells and not allow_empty:
            raise InvalidInputError(f"{what} got no values to write")
        return cells
