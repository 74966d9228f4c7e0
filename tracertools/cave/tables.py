"""Materialization queries with one time model, only the needed columns, and no silent truncation.

Positions come in viewer voxels (``config.resolution``): every query asks for that
``desired_resolution``, so a table stored at another resolution is converted by the engine.

Every table read in tracertools goes through `query()`: live at the datastack's read time
(the ``live_live_query`` request, sent here without caveclient's root-logger notice) or at a
given moment, or at its materialization version (``query_table``). A filter on many IDs is
split into chunks; a chunk whose answer was cut at the server's row limit is split again (or
paged, for a single ID) so counts are never silently short. Counts (`count_matches()`) reduce
each answer as it arrives and never hold all rows.

Live queries pass ``allow_missing_lookups=True``: annotations ingested so recently that their
root IDs are not looked up yet cannot belong to any segment, so they are left out, and the
engine's warning about them (a ``Warning`` header, read by the HTTP layer's hook) becomes an
[`IncompleteDataWarning`][tracertools.errors.IncompleteDataWarning]. They keep ``allow_invalid_root_ids=False``:
a root-ID filter must name segments current at the query's moment (callers pick that moment,
see ``cave.lineage.read_moments``).
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from tracertools.cave import calls as _cave
from tracertools.cave.http import watch_row_cap, watch_warnings
from tracertools.errors import IncompleteDataWarning, InvalidInputError, ServiceError

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from tracertools.cave.session import CaveSession

logger = logging.getLogger(__name__)

R = TypeVar("R")

#: IDs per filtered query (the JSON body stays around 40 kB).
IDS_PER_QUERY = 2000
#: Rows we ask for per query; the server may cap lower (it then says so in a ``Warning`` header,
#: read from the response by the HTTP layer's hook: see `tracertools.cave.http.watch_row_cap`).
ROW_LIMIT = 200_000

#: The live engine's warning about annotations whose lookups are not done yet.
_PENDING = re.compile(r"(\d+) annotations that need supervoxel lookups")


@dataclass(frozen=True)
class Page:
    """One answer of `query()`.

    Attributes:
        rows: the rows received.
        truncated: the server (may have) left rows out: ask again with a larger ``offset``.
        step: how far ``offset`` moves to the next page: the limit the server applied. A live
            answer combines one page of materialized rows and one page of rows created since,
            each cut at that limit and filtered afterwards, so the rows received say nothing
            about where the next page starts.
    """

    rows: pd.DataFrame
    truncated: bool
    step: int


def query(
    ds: CaveSession,
    table: str,
    *,
    filter_in: dict[str, Sequence[Any]] | None = None,
    filter_equal: dict[str, Any] | None = None,
    select: Sequence[str] | None = None,
    limit: int | None = ROW_LIMIT,
    offset: int | None = None,
    at: datetime | None = None,
) -> Page:
    """One materialization query (see `Page`).

    Reads at ``at`` (live) if given; else at the datastack's materialization version if it has
    one, else live at its read time. The answer is truncated when it has ``limit`` rows or the
    server said it capped it (naming the limit it applied, which may be below ``limit``).
    Annotations the engine has not looked up yet are left out with an
    [`IncompleteDataWarning`][tracertools.errors.IncompleteDataWarning].
    """
    mat = ds.cave.materialize
    version = ds.materialization_version if at is None else None
    # positions in viewer voxels whatever the table's native resolution (the engine converts)
    viewer = [float(v) for v in ds.config.resolution]
    with watch_row_cap() as applied, watch_warnings() as said:
        if version is not None:
            frame = _cave.remote(ds, f"query {table}", lambda: mat.query_table(
                table,
                filter_in_dict=dict(filter_in) if filter_in else None,
                filter_equal_dict=dict(filter_equal) if filter_equal else None,
                select_columns=list(select) if select else None,
                limit=limit,
                offset=offset,
                materialization_version=version,
                split_positions=True,
                desired_resolution=viewer,
                merge_reference=False,  # as live queries: reference tables are joined below
                log_warning=False,
            ))
        else:
            when = at if at is not None else _cave.read_time(ds)
            frame = _cave.remote(ds, f"live query {table}", lambda: _live_query(
                mat, table, when, filter_in=filter_in, filter_equal=filter_equal, select=select,
                limit=limit, offset=offset, resolution=viewer,
            ))
    for message in said:
        pending = _PENDING.search(message)
        if pending:
            warnings.warn(
                f"{pending.group(1)} annotation(s) of table {table!r} on datastack {ds.name!r} "
                "were ingested so recently that their segments are not looked up yet; they are "
                "left out of this answer", IncompleteDataWarning, stacklevel=2,
            )
    truncated = bool(applied) or (limit is not None and len(frame) >= limit)
    step = min(applied) if applied else (limit if limit is not None else len(frame))
    return Page(frame, truncated, max(step, 1))


def _pinned(ds: CaveSession, at: datetime | None) -> datetime | None:
    """The moment a multi-request read uses: ``at``, else None at a materialization version,
    else "now" taken once (so every page and chunk reads the same moment)."""
    if at is not None or ds.materialization_version is not None:
        return at
    return _cave.read_time(ds)


def _live_query(
    mat: Any,
    table: str,
    at: datetime,
    *,
    filter_in: dict[str, Sequence[Any]] | None,
    filter_equal: dict[str, Any] | None,
    select: Sequence[str] | None,
    limit: int | None,
    offset: int | None,
    resolution: list[float],
) -> pd.DataFrame:
    """One ``live_live_query`` request on the materialization client's session.

    The request caveclient's ``live_live_query`` sends (same body, arguments and headers),
    without its call of ``logging.warning`` on the root logger at every query: that repeats a
    beta notice in every application and configures an unconfigured root logger. Positions
    come split (``_x``/``_y``/``_z``), as the service sends them, in ``resolution`` (nm per
    voxel; converted here if the service did not). The session's HTTP layer times and retries
    the request and notes a row cap and the engine's warnings.
    """
    from caveclient.base import BaseEncoder
    from caveclient.materializationengine import (
        DEFAULT_COMPRESSION,
        convert_position_columns,
        deserialize_query_response,
    )
    from packaging.version import Version

    body: dict[str, Any] = {"table": table, "timestamp": at}
    if filter_in:
        body["filter_in_dict"] = {table: dict(filter_in)}
    if filter_equal:
        body["filter_equal_dict"] = {table: dict(filter_equal)}
    if select:
        body["select_columns"] = {table: list(select)}
    if offset is not None:
        body["offset"] = offset
    if limit is not None:
        body["limit"] = limit
    modern = Version(str(mat.api_version)) >= Version("3")
    if modern:
        body["desired_resolution"] = resolution
    arguments = {"return_pyarrow": True, "arrow_format": True, "merge_reference": False,
                 "allow_missing_lookups": True, "allow_invalid_root_ids": False,
                 "direct_sql_pandas": True}
    mapping = {**mat.default_url_mapping, "datastack_name": mat.datastack_name}
    url = mat._endpoints["live_live_query"].format_map(mapping)  # caveclient's own route table
    response = mat.session.post(
        url,
        data=json.dumps(body, cls=BaseEncoder),
        headers={"Content-Type": "application/json", "Accept-Encoding": DEFAULT_COMPRESSION},
        params=arguments,
        verify=mat.verify,
    )
    mat.raise_for_status(response, log_warning=False)
    frame = deserialize_query_response(response)
    if not modern or not response.headers.get("dataframe_resolution"):
        native = mat.get_table_metadata(table_name=table, log_warning=False)["voxel_resolution"]
        frame = convert_position_columns(frame, native, resolution)
    return frame


def _pages(
    ds: CaveSession,
    table: str,
    *,
    filter_in: dict[str, Sequence[Any]] | None = None,
    filter_equal: dict[str, Any] | None = None,
    select: Sequence[str] | None = None,
    first: Page | None = None,
    at: datetime | None = None,
) -> Iterator[pd.DataFrame]:
    """The rows of one query, page by page, asking for the next page only when the caller
    takes it (``offset`` moves by `Page.step`); ``at`` must be pinned (see `_pinned()`)."""
    page = first or query(
        ds, table, filter_in=filter_in, filter_equal=filter_equal, select=select, at=at
    )
    yield page.rows
    offset = page.step
    while page.truncated:
        page = query(ds, table, filter_in=filter_in, filter_equal=filter_equal,
                     select=select, offset=offset, at=at)
        yield page.rows
        offset += page.step


def _rows_for_ids(
    ds: CaveSession, table: str, column: str, ids: list[int], select: Sequence[str] | None,
    at: datetime | None = None,
) -> pd.DataFrame:
    """All rows whose ``column`` is in ``ids``, splitting the ID list when a query is capped."""
    import pandas as pd

    page = query(ds, table, filter_in={column: ids}, select=select, at=at)
    if not page.truncated:
        return page.rows
    if len(ids) > 1:
        half = len(ids) // 2
        logger.debug("query of %s capped at %d rows; splitting %d IDs", table, page.step,
                     len(ids))
        return pd.concat(
            [_rows_for_ids(ds, table, column, ids[:half], select, at),
             _rows_for_ids(ds, table, column, ids[half:], select, at)],
            ignore_index=True,
        )
    return all_rows(ds, table, filter_in={column: ids}, select=select, first=page, at=at)


def all_rows(
    ds: CaveSession,
    table: str,
    *,
    filter_in: dict[str, Sequence[Any]] | None = None,
    filter_equal: dict[str, Any] | None = None,
    select: Sequence[str] | None = None,
    first: Page | None = None,
    at: datetime | None = None,
) -> pd.DataFrame:
    """Every row of one query, paging with ``offset`` while the server caps the answer.

    ``offset`` moves by the limit the server applied (`Page.step`), which is how the
    live engine pages its materialized and recent rows.

    Args:
        first: the first page, when the caller already has it.
        at: read live at this moment (see `query()`).
    """
    import pandas as pd

    at = _pinned(ds, at)
    pages = list(_pages(ds, table, filter_in=filter_in, filter_equal=filter_equal,
                        select=select, first=first, at=at))
    frames = [p for p in pages if len(p)] or pages[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _id_chunks(ids: npt.NDArray[np.uint64], size: int = IDS_PER_QUERY) -> list[list[int]]:
    values = [int(v) for v in ids]
    return [values[i:i + size] for i in range(0, len(values), size)]


#: Datastack cache: ``(table, column)`` -> ``[rows, ids]`` seen in complete count answers,
#: and ``"limit"`` -> the lowest row limit a server applied to a capped answer.
_DENSITY = "table_rows_per_id"
#: Share of `ROW_LIMIT` a count query is sized to fill (room for IDs denser than the mean).
_FILL = 0.5


def _learn_density(ds: CaveSession, table: str, column: str, rows: int, n_ids: int) -> None:
    """Record that ``n_ids`` IDs matched ``rows`` rows of ``table`` in ``column``."""
    seen = ds.cache(_DENSITY).setdefault((table, column), [0, 0])
    seen[0] += rows  # an estimate: a lost update under threads only blurs it
    seen[1] += n_ids


def _ids_per_count_query(ds: CaveSession, table: str, column: str) -> int:
    """IDs per count query: enough to fill about half of the row limit (`ROW_LIMIT`, or the
    server's lower cap once seen) at the rows per ID seen so far in this session (at most
    `IDS_PER_QUERY`), so that a query is rarely capped (a capped answer is dropped and asked
    again in halves: bytes for nothing)."""
    seen = ds.cache(_DENSITY)
    rows, n_ids = seen.get((table, column), (0, 0))
    if n_ids == 0 or rows == 0:
        return IDS_PER_QUERY
    limit = min(ROW_LIMIT, seen.get("limit", ROW_LIMIT))
    return max(1, min(IDS_PER_QUERY, int(_FILL * limit * n_ids / rows)))


def rows_matching(
    ds: CaveSession,
    table: str,
    column: str,
    ids: npt.NDArray[np.uint64],
    select: Sequence[str] | None = None,
    at: datetime | None = None,
) -> pd.DataFrame:
    """Rows of ``table`` whose ``column`` holds one of ``ids`` (chunked, concurrent, complete).

    ``at``: read live at this moment (see `query()`).
    """
    import pandas as pd

    at = _pinned(ds, at)
    if not len(ids):
        return pd.DataFrame(columns=list(dict.fromkeys([column, *(select or [])])))
    parts = ds.cave.map(  # a failed chunk raises its own (typed) error
        lambda chunk: _rows_for_ids(ds, table, column, chunk, select, at), _id_chunks(ids),
    )
    frames = [p for p in parts if p is not None]
    if not frames:
        raise ServiceError(f"no answer from table {table!r}")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _tally(values: Any, into: dict[int, int]) -> None:
    """Add the count of each value of a column (one page) to ``into``."""
    found, counts = np.unique(np.asarray(values, dtype=np.int64), return_counts=True)
    for k, v in zip(found.tolist(), counts.tolist(), strict=True):
        into[k] = into.get(k, 0) + v


def _counts_for_ids(
    ds: CaveSession, table: str, column: str, ids: list[int], at: datetime | None
) -> dict[int, int]:
    """How many rows hold each of ``ids`` in ``column``: one query, reduced to counts; a
    capped answer is dropped and the ID list halved, a single ID's capped answer paged."""
    page = query(ds, table, filter_in={column: ids}, select=[column], at=at)
    counts: dict[int, int] = {}
    if not page.truncated:
        _tally(page.rows[column], counts)
        _learn_density(ds, table, column, len(page.rows), len(ids))
        return counts
    seen = ds.cache(_DENSITY)
    seen["limit"] = min(seen.get("limit", ROW_LIMIT), page.step)
    if len(ids) > 1:  # a capped page says nothing complete about any ID: split the list
        half = len(ids) // 2
        logger.debug("query of %s capped at %d rows; splitting %d IDs", table, page.step,
                     len(ids))
        del page
        return {**_counts_for_ids(ds, table, column, ids[:half], at),
                **_counts_for_ids(ds, table, column, ids[half:], at)}
    for rows in _pages(ds, table, filter_in={column: ids}, select=[column], first=page, at=at):
        _tally(rows[column], counts)
    return counts


def count_matches(
    ds: CaveSession, table: str, column: str, ids: npt.NDArray[np.uint64],
    at: datetime | None = None,
) -> dict[int, int]:
    """How many rows of ``table`` hold each of ``ids`` in ``column``.

    Streams and reduces: each query selects ``column`` only, asks for at most `ROW_LIMIT`
    rows (the server may cap lower) for up to `IDS_PER_QUERY` IDs (fewer once the session has
    seen how many rows an ID matches: chunks sized to fill half the limit), and is reduced to counts
    before it is let go, so memory holds one page and the counts, never all rows. A capped
    answer is split (the ID list halved; a single ID's rows paged with ``offset``), so the
    counts are exact. Chunks run concurrently.

    ``at``: read live at this moment (see `query()`).
    """
    if ids.size == 0:
        return {}
    at = _pinned(ds, at)
    parts = ds.cave.map(  # a failed chunk raises its own (typed) error
        lambda chunk: _counts_for_ids(ds, table, column, chunk, at),
        _id_chunks(ids, _ids_per_count_query(ds, table, column)),
    )
    counts: dict[int, int] = {}
    for part in parts:
        counts.update(part or {})
    return counts


def _pool_by_moment(
    ds: CaveSession,
    groups: Mapping[datetime | None, npt.NDArray[np.uint64]],
    columns: Sequence[str],
    work: Callable[[str, list[int], datetime | None], R],
    chunk_size: Callable[[str], int] = lambda column: IDS_PER_QUERY,
) -> list[tuple[str, R | None]]:
    """``work(column, chunk, moment)`` for every column, moment and ID chunk (of
    ``chunk_size(column)`` IDs), on one pool (queries of different moments are independent,
    so they overlap as chunks do)."""
    pinned = {moment: _pinned(ds, moment) for moment in groups}  # "now" taken once
    sizes = {column: chunk_size(column) for column in columns}
    tasks = [(column, chunk, pinned[moment])
             for moment, ids in groups.items() for column in columns
             for chunk in _id_chunks(ids, sizes[column])]
    parts = ds.cave.map(lambda task: work(*task), tasks)  # a failure raises its own error
    return [(task[0], part) for task, part in zip(tasks, parts, strict=True)]


def count_matches_by_moment(
    ds: CaveSession,
    table: str,
    columns: Sequence[str],
    groups: Mapping[datetime | None, npt.NDArray[np.uint64]],
) -> dict[str, dict[int, int]]:
    """`count_matches()` for each of ``columns``, each group of IDs read at its moment (key
    ``None``: the datastack's materialization version, or its read time), every query on one
    pool. Returns ``{column: {id: rows}}``."""
    counts: dict[str, dict[int, int]] = {column: {} for column in columns}
    for column, part in _pool_by_moment(
        ds, groups, columns,
        lambda column, chunk, at: _counts_for_ids(ds, table, column, chunk, at),
        lambda column: _ids_per_count_query(ds, table, column),
    ):
        counts[column].update(part or {})
    return counts


def rows_matching_by_moment(
    ds: CaveSession,
    table: str,
    column: str,
    groups: Mapping[datetime | None, npt.NDArray[np.uint64]],
    select: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The rows of `rows_matching()` for each group of IDs read at its moment (see
    `count_matches_by_moment()`), one frame per query, every query on one pool."""
    for _, rows in _pool_by_moment(
        ds, groups, [column],
        lambda column, chunk, at: _rows_for_ids(ds, table, column, chunk, select, at),
    ):
        if rows is not None:
            yield rows


# -- reference tables ---------------------------------------------------------------------------


def reference_target(ds: CaveSession, table: str) -> str | None:
    """The table a reference table points at (its metadata's ``reference_table``), else None.

    One metadata request per table, cached on the datastack.
    """
    cache = ds.cache("reference_table")
    if table not in cache:
        md = _cave.remote(ds, f"metadata of {table}",
                          lambda: ds.cave.materialize.get_table_metadata(table))
        cache[table] = (md or {}).get("reference_table") or None
    return cache[table]  # type: ignore[no-any-return]


def _split_name(column: str, columns: Sequence[str]) -> tuple[str, str]:
    """(base, axis suffix) of a split position column (``pt_position_x`` -> ``pt_position``,
    ``_x``), or (column, "")."""
    if column[-2:] in ("_x", "_y", "_z"):
        base = column[:-2]
        if all(f"{base}{a}" in columns for a in ("_x", "_y", "_z")):
            return base, column[-2:]
    return column, ""


def _base_names(frame: pd.DataFrame) -> set[str]:
    cols = list(frame.columns)
    return {_split_name(c, cols)[0] for c in cols}


def _join_reference(refs: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Reference rows joined to their target rows (inner, reference order); a target column
    whose name the reference table also has gets ``_ref`` (before ``_x/_y/_z``), as the
    materialization engine names the join caveclient asks for by default."""
    shared = _base_names(refs)
    cols = list(targets.columns)
    rename = {}
    for c in cols:
        base, axis = _split_name(c, cols)
        if base in shared:
            rename[c] = f"{base}_ref{axis}"
    right = targets.rename(columns=rename)
    return refs.merge(right, left_on="target_id", right_on=rename.get("id", "id"),
                      how="inner").reset_index(drop=True)


def _keep(frame: pd.DataFrame, filter_in: dict[str, Any], filter_equal: dict[str, Any]
          ) -> pd.DataFrame:
    import numpy as np

    mask = np.ones(len(frame), dtype=bool)
    for column, values in filter_in.items():
        mask &= frame[column].isin(list(values)).to_numpy()
    for column, value in filter_equal.items():
        mask &= (frame[column] == value).to_numpy()
    return frame.loc[mask]


def _select(frame: pd.DataFrame, select: Sequence[str] | None) -> pd.DataFrame:
    if not select:
        return frame
    cols = list(frame.columns)
    chosen: list[str] = []
    for name in select:
        found = [c for c in cols if _split_name(c, cols)[0] == name] or [
            c for c in cols if _split_name(c, cols)[0] == f"{name}_ref"]
        if not found:
            raise InvalidInputError(f"no column {name!r} in the joined table")
        chosen += [c for c in found if c not in chosen]
    return frame[chosen]


def joined_rows(
    ds: CaveSession,
    table: str,
    target: str,
    *,
    filter_in: dict[str, Sequence[Any]] | None = None,
    filter_equal: dict[str, Any] | None = None,
    select: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every row of reference table ``table`` joined to its row of ``target``.

    Live queries cannot merge a reference table (caveclient sends ``merge_reference=False``),
    so the join happens here, with the column names of the engine's join: the reference
    table's columns, then the target's (``_ref`` on names both have). Filters go to the table
    that has the column (the reference table first); all reads use one moment.
    """
    at = _pinned(ds, None)
    wanted = {**{c: ("in", v) for c, v in (filter_in or {}).items()},
              **{c: ("eq", v) for c, v in (filter_equal or {}).items()}}
    own: dict[str, tuple[str, Any]] = {}
    theirs: dict[str, tuple[str, Any]] = {}
    probes: dict[str, pd.DataFrame] = {}
    if wanted:
        for name in (table, target):
            probes[name] = query(ds, name, limit=1, at=at).rows
        mine, other = _base_names(probes[table]), _base_names(probes[target])
        for column, how in wanted.items():
            if column in mine:
                own[column] = how
            elif column in other:
                theirs[column] = how
            else:
                raise InvalidInputError(
                    f"neither table {table!r} nor its target {target!r} has a column {column!r}")

    def split(filters: dict[str, tuple[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        return ({c: v for c, (k, v) in filters.items() if k == "in"},
                {c: v for c, (k, v) in filters.items() if k == "eq"})

    own_in, own_eq = split(own)
    if theirs:
        their_in, their_eq = split(theirs)
        targets = all_rows(ds, target, filter_in=their_in or None,
                           filter_equal=their_eq or None, at=at)
        ids = targets["id"].to_numpy(dtype="uint64")
        refs = (rows_matching(ds, table, "target_id", ids, at=at) if len(ids)
                else probes[table].iloc[:0])
        refs = _keep(refs, own_in, own_eq)
    else:
        refs = all_rows(ds, table, filter_in=own_in or None, filter_equal=own_eq or None, at=at)
        ids = refs["target_id"].drop_duplicates().to_numpy(dtype="uint64")
        targets = (rows_matching(ds, target, "id", ids, at=at) if len(ids)
                   else query(ds, target, limit=1, at=at).rows.iloc[:0])
    return _select(_join_reference(refs, targets), select)
