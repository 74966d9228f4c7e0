"""Updating a sheet's ID column to current IDs: the logic behind `Tab.update_segment_ids()`.

Layout: segment IDs in one column under a header in row 1, as proofreaders keep them, with
whatever else in the other columns. The update writes the current ID over each ID cell that
needs it (a stale ID, a supervoxel or level-2 ID, an ID written as ``"123.0"``) and a word in a
*status column* (header ``id_status``; the first empty column unless one is named) for every
row it handles: ``current``, ``updated from <old ID>``, ``supervoxel <old ID> replaced by its
segment``, or ``error: <reason>`` for a value that will never name a segment (the ID cell is
then left as it was). Rows are grouped in batches; each costs one
`update_ids()` (a handful of CAVE requests whatever the
batch size), one read of that batch's cells just before writing (refusing if rows moved or
someone filled them meanwhile) and one write request.

Resumable: a row whose status cell is filled is done and skipped. Nothing that held data is
overwritten except the ID cells being updated (their old value is kept in the status). A row
that failed for a passing reason (a service error) gets no status, so the next call retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy, progress_bar
from tracertools.errors import InvalidInputError, SegmentNotFoundError, ServiceError

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.storage.sheet import FillReport, Tab
    from tracertools.storage.sheet_details import DetailsSession

__all__ = ["IdsSession", "STATUS_HEADER", "SegmentColumnsMixin", "update_segment_ids"]

logger = logging.getLogger(__name__)

#: The default header of the status column.
STATUS_HEADER = "id_status"

_KIND_WORDS = {"supervoxel": "supervoxel", "l2": "level-2 node"}


class IdsSession(Protocol):
    """What an ID update needs of a datastack ([`Datastack`][tracertools.datastack.Datastack] is one)."""

    def classify_ids(self, values: Iterable[Any]) -> pd.DataFrame: ...

    def update_ids(self, values: Iterable[Any], *, strict: bool = False,
                   errors: ErrorPolicy = "warn") -> pd.DataFrame: ...


def _permanent(exc: BaseException | None) -> bool:
    """Whether a failure is about the value itself (asking again will not help)."""
    return isinstance(exc, (InvalidInputError, SegmentNotFoundError))


def _status_of(row: Any, text: str, first_row: int | None) -> str:
    """The status cell of one handled row of an `update_ids()` report."""
    status = row["status"]
    if status == "current":
        word = "current" if text == str(row["current_id"]) else f"current (was written {text!r})"
    elif status == "updated":
        word = f"updated from {text}"
    elif status == "resolved":
        word = f"{_KIND_WORDS.get(row['kind'], row['kind'])} {text} replaced by its segment"
    else:
        word = f"error: {row['reason']}"
    if first_row is not None:
        word += f"; same ID as row {first_row}"
    return word


def update_segment_ids(
    tab: Tab,
    ds: IdsSession,
    *,
    id_column: int = 1,
    status_column: int | None = None,
    status_header: str = STATUS_HEADER,
    strict: bool = False,
    batch_size: int = 1000,
    errors: ErrorPolicy = "warn",
    progress: bool | None = None,
) -> FillReport:
    """Update the ID column of ``tab`` to current IDs in place (see the module docstring).

    See `tracertools.storage.sheet.Tab.update_segment_ids()` for the arguments.
    """
    from tracertools.storage.sheet import FillReport, _call, _positive
    from tracertools.storage.sheet_fill import _col_letters, _contiguous_ranges, _raw_input, _spans

    policy = check_error_policy(errors)
    id_column = _positive(id_column, "id_column")
    batch_size = _positive(batch_size, "batch_size")
    if not isinstance(status_header, str) or not status_header.strip():
        raise InvalidInputError("status_header must be a non-empty column name")
    if status_column is not None:
        status_column = _positive(status_column, "status_column")
        if status_column == id_column:
            raise InvalidInputError("the status column would overwrite the ID column")
    ws = tab._ws()
    grid: Any = _call(lambda: ws.get(), f"read tab {tab.name!r}")
    rows = [list(r) for r in grid]
    width = max((len(r) for r in rows), default=0)
    status_column = _pick_status_column(rows, width, id_column, status_column, status_header,
                                        tab.name)
    id_letter, st_letter = _col_letters(id_column), _col_letters(status_column)

    def cell(row: list[Any], column: int) -> str:
        return str(row[column - 1]).strip() if len(row) >= column else ""

    need_header = not cell(rows[0], status_column) if rows else True
    todo: list[tuple[int, str]] = []
    skipped: list[int] = []
    for number, row in enumerate(rows[1:], start=2):
        text = cell(row, id_column)
        if text and cell(row, status_column):
            skipped.append(number)
        elif text:
            todo.append((number, text))
    # duplicates are named across the whole column (classing is local: no request)
    classes = ds.classify_ids([t for _, t in todo]) if todo else None
    first_row: dict[int, int | None] = {}
    if classes is not None:
        for (number, _), dup in zip(todo, classes["duplicate_of"].tolist(), strict=True):
            first_row[number] = todo[dup][0] if dup >= 0 else None
    if status_column > ws.col_count:
        tab._grow(ws, "COLUMNS", status_column - ws.col_count)
    written: list[int] = []
    marked: list[int] = []
    failures: dict[int, BaseException] = {}
    requests = 0
    bar = progress_bar(len(todo), f"update IDs in {tab.name}", progress)
    try:
        for start in range(0, max(len(todo), int(need_header)), batch_size):
            batch = todo[start:start + batch_size]
            ids_out: list[tuple[int, list[Any]]] = []
            status_out: list[tuple[int, list[Any]]] = []
            if batch:
                try:
                    report = ds.update_ids([t for _, t in batch], strict=strict, errors="ignore")
                except Exception as exc:  # the whole batch failed (e.g. a service outage)
                    for k in range(len(batch)):
                        failures[start + k] = exc
                    report = None
                records = report.to_dict("records") if report is not None else []
                for k, ((number, text), record) in enumerate(zip(batch, records, strict=False)):
                    if record["status"] == "failed" and not _permanent(record["error"]):
                        failures[start + k] = record["error"] or ServiceError("no current ID")
                        continue
                    if record["status"] == "failed":
                        failures[start + k] = record["error"]
                        marked.append(number)
                    else:
                        new = str(record["current_id"])
                        if new != text:
                            ids_out.append((number, [new]))
                    status_out.append((number, [_status_of(record, text, first_row.get(number))]))
                _check_unmoved(tab, ws, batch, id_letter, st_letter)
            data: list[dict[str, Any]] = []
            if need_header and not requests:
                data.append({"range": f"{st_letter}1", "values": [[status_header]]})
            data += _contiguous_ranges(ids_out, id_column, id_column)
            data += _contiguous_ranges(status_out, status_column, status_column)
            if data:
                _call(partial(ws.batch_update, data, value_input_option=_raw_input()),
                      f"write IDs to tab {tab.name!r}")
                requests += 1
                written += [number for number, _ in status_out]
                logger.info("tab %r: updated rows %s", tab.name,
                            _spans([n for n, _ in status_out]) or "none")
            bar.update(len(batch))
            if policy == "raise" and failures:
                break
    finally:
        bar.close()
    report_ = FillReport(
        tuple(written), tuple(skipped),
        tuple(todo[i][0] for i in sorted(failures) if todo[i][0] not in marked),
        need_header and requests > 0, requests, marked=tuple(marked))
    labels = [f"row {number} ({text!r})" for number, text in todo]
    apply_error_policy(dict(sorted(failures.items())), policy, labels, what="row")
    return report_


def _pick_status_column(rows: list[list[Any]], width: int, id_column: int,
                        given: int | None, header: str, tab: str) -> int:
    """The status column: ``given`` (if free or already the status column), the column
    headed ``header``, or the first column right of every filled one."""
    heads = [str(v).strip() for v in (rows[0] if rows else [])]
    if given is not None:
        filled = any(len(r) >= given and str(r[given - 1]).strip() for r in rows)
        head = heads[given - 1] if len(heads) >= given else ""
        if filled and head != header:
            raise InvalidInputError(
                f"column {given} of tab {tab!r} holds data under the header {head!r}, not "
                f"{header!r}; pick an empty column for the status")
        return given
    if header in heads:
        return heads.index(header) + 1
    return max(width, id_column) + 1


def _check_unmoved(tab: Tab, ws: Any, batch: list[tuple[int, str]], id_letter: str,
                   st_letter: str) -> None:
    """Refuse to write when the batch's ID cells changed or its status cells were filled
    since they were read (rows inserted or sorted by a colleague, another update running)."""
    from tracertools.storage.sheet import _call

    lo, hi = batch[0][0], batch[-1][0]
    id_range, st_range = f"{id_letter}{lo}:{id_letter}{hi}", f"{st_letter}{lo}:{st_letter}{hi}"
    got: Any = _call(lambda: ws.batch_get([id_range, st_range]), f"read tab {tab.name!r}")
    ids = [str(r[0]).strip() if r else "" for r in got[0]] + [""] * (hi - lo + 1)
    statuses = [str(r[0]).strip() if r else "" for r in got[1]] + [""] * (hi - lo + 1)
    for number, text in batch:
        if ids[number - lo] != text or statuses[number - lo]:
            raise ServiceError(
                f"tab {tab.name!r} changed while its IDs were being updated: row {number} now "
                f"holds {ids[number - lo]!r} (status {statuses[number - lo]!r}) where "
                f"{text!r} was read; nothing was written for rows {lo}-{hi}. Call again to "
                f"resume: rows with a status are done and skipped")


class SegmentColumnsMixin:
    """The segment-ID column methods of [`Tab`][tracertools.storage.sheet.Tab]."""

    __slots__ = ()

    def add_segment_details(
        self,
        ds: DetailsSession,
        *,
        volume: bool = True,
        cable_length: bool = True,
        synapse_counts: bool = True,
        proofreading: bool = True,
        status: bool = True,
        batch_size: int = 50,
        errors: ErrorPolicy = "warn",
        progress: bool | None = None,
    ) -> FillReport:
        """Fill details of the segment IDs in column A (header in A1) into columns B onward.

        Header from B1: ``current_id`` (written as text), then as selected ``volume_um3``
        (µm³), ``cable_length_nm`` (nm), ``in_syn``, ``out_syn``, ``total_syn`` and
        ``proofread`` (bool), then ``status``. Built on [`fill_columns()`][tracertools.storage.sheet.Tab.fill_columns]: resumable
        (filled rows are skipped), one write per batch; each batch costs one
        ``SegmentList.details()`` and one ``proofreading_status()`` on ``ds`` (a
        [`Datastack`][tracertools.datastack.Datastack]). ID cells are read as they come (text with
        spaces or a trailing ``.0``; a supervoxel or level-2 ID gets the details of its
        segment). A value that can never name a segment (``7.20576E+17``, ``abc``, an ID of
        another layer, one never issued) fails only its row: its ``status`` cell says why and
        a later call skips it. A row that failed for a passing reason (a service error) is
        left empty, so a later call fills it.

        Args:
            status: add the ``status`` column (False: the original layout, failed rows left
                empty).

        Raises:
            MissingFeatureError: ``proofreading`` on a datastack without a proofreading table.
        """
        from tracertools.storage.sheet_details import (
            add_segment_details,  # lazy: keeps `import tracertools` light
        )

        return add_segment_details(
            self,  # type: ignore[arg-type]
            ds, volume=volume, cable_length=cable_length, synapse_counts=synapse_counts,
            proofreading=proofreading, status=status, batch_size=batch_size, errors=errors,
            progress=progress,
        )

    def update_segment_ids(
        self,
        ds: IdsSession,
        *,
        id_column: int = 1,
        status_column: int | None = None,
        status_header: str = "id_status",
        strict: bool = False,
        batch_size: int = 1000,
        errors: ErrorPolicy = "warn",
        progress: bool | None = None,
    ) -> FillReport:
        """Update a column of segment IDs to current IDs, in place, saying what happened per row.

        The column may hold whatever a sheet holds: blanks, IDs as text with spaces or a
        trailing ``.0``, numbers that lost digits (``7.20576E+17``), supervoxel and level-2
        IDs, duplicates, stale IDs and IDs never issued. Each good row gets its current ID (a
        stale ID its successor, a supervoxel or level-2 ID its segment; IDs are written as
        text) and a status such as ``current``, ``updated from <old ID>`` or ``supervoxel
        <old ID> replaced by its segment``; each bad row keeps its cell and gets ``error:
        <reason>``. Duplicates are named (``same ID as row N``).

        Requests: one ``values.get`` for the tab, then per batch of ``batch_size`` rows one
        `update_ids()` (a handful of CAVE requests,
        whatever the batch size), one ``values.batchGet`` to check the batch's cells did not
        move, and one ``values.batchUpdate``. Resumable: rows with a status are skipped; a
        row that failed for a passing reason (a service error) gets none and is retried by
        the next call.

        Args:
            ds: the [`Datastack`][tracertools.datastack.Datastack] the IDs belong to.
            id_column: the 1-based column of the IDs (header in row 1).
            status_column: the status column; default: the column headed ``status_header``,
                else the first column right of all data. Refused if it holds other data.
            status_header: the status column's header.
            strict: supervoxel and level-2 IDs are errors (naming their segment) instead of
                being replaced.
            batch_size: rows per lookup and per write request.
            errors: for rows that could not be updated: "warn" (default) names them in one
                [`PartialResultWarning`][tracertools.errors.PartialResultWarning]; "ignore" stays quiet;
                "raise" stops after the first batch with a failure
                ([`BatchError`][tracertools.errors.BatchError]; what was written stays).
            progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).

        Returns:
            A `FillReport`: ``written`` (rows given a status), ``marked`` (rows marked
            with an error), ``failed`` (rows to retry), ``skipped`` (rows already done).

        Raises:
            ServiceError: the tab changed under the update (rows moved or filled); nothing
                was written for that batch.

        Example:
            ```python
            report = Sheet(key).tab("neurons").update_segment_ids(ds)
            report.marked   # rows whose ID will never work; their status says why
            ```
        """
        return update_segment_ids(
            self,  # type: ignore[arg-type]
            ds, id_column=id_column, status_column=status_column,
            status_header=status_header, strict=strict, batch_size=batch_size, errors=errors,
            progress=progress,
        )
