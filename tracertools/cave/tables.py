"""Materialization queries with one time model, only the needed columns, and no silent truncation.

Every table read in tracertools goes through :func:`query`: live at the datastack's read time
(the ``live_live_query`` request, sent here without caveclient's root-logger notice), or at
its materialization version (``query_table``). A filter on many IDs
is split into chunks; a chunk whose answer was cut at the server's row limit is split again
(or paged, for a single ID) so counts are never silently short.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.batch import run_per_item
from tracertools.cave import calls as _cave
from tracertools.cave.http import watch_row_cap
from tracertools.errors import ServiceError

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.cave.session import CaveSession

logger = logging.getLogger(__name__)

#: IDs per filtered query (the JSON body stays around 40 kB).
IDS_PER_QUERY = 2000
#: Rows we ask for per query; the server may cap lower (it then says so in a ``Warning`` header,
#: read from the response by the HTTP layer's hook: see :func:`tracertools.cave.http.watch_row_cap`).
ROW_LIMIT = 200_000


def query(
    ds: CaveSession,
    table: str,
    *,
    filter_in: dict[str, Sequence[Any]] | None = None,
    filter_equal: dict[str, Any] | None = None,
    select: Sequence[str] | None = None,
    limit: int | None = ROW_LIMIT,
    offset: int | None = None,
) -> tuple[pd.DataFrame, bool]:
    """One materialization query at the datastack's time; returns (rows, truncated).

    ``truncated`` is True when the answer has exactly ``limit`` rows or the server said it
    capped the answer.
    """
    mat = ds.cave.materialize
    version = ds.materialization_version
    with watch_row_cap() as caps:
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
                log_warning=False,
            ))
        else:
            at = _cave.read_time(ds)
            frame = _cave.remote(ds, f"live query {table}", lambda: _live_query(
                mat, table, at, filter_in=filter_in, filter_equal=filter_equal, select=select,
                limit=limit, offset=offset,
            ))
    capped = bool(caps)
    truncated = capped or (limit is not None and len(frame) >= limit)
    return frame, truncated


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
) -> pd.DataFrame:
    """One ``live_live_query`` request on the materialization client's session.

    The request caveclient's ``live_live_query`` sends (same body, arguments and headers),
    without its call of ``logging.warning`` on the root logger at every query: that repeats a
    beta notice in every application and configures an unconfigured root logger. Positions
    come split (``_x``/``_y``/``_z``), as the service sends them. The session's HTTP layer
    times and retries the request and notes a row cap.
    """
    from caveclient.base import BaseEncoder
    from caveclient.materializationengine import (
        DEFAULT_COMPRESSION,
        deserialize_query_response,
    )

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
    arguments = {"return_pyarrow": True, "arrow_format": True, "merge_reference": False,
                 "allow_missing_lookups": False, "allow_invalid_root_ids": False,
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
    return deserialize_query_response(response)


def _rows_for_ids(
    ds: CaveSession, table: str, column: str, ids: list[int], select: Sequence[str] | None
) -> pd.DataFrame:
    """All rows whose ``column`` is in ``ids``, splitting the ID list when a query is capped."""
    import pandas as pd

    frame, truncated = query(ds, table, filter_in={column: ids}, select=select)
    if not truncated:
        return frame
    if len(ids) > 1:
        half = len(ids) // 2
        logger.debug("query of %s capped at %d rows; splitting %d IDs", table, len(frame), len(ids))
        return pd.concat(
            [_rows_for_ids(ds, table, column, ids[:half], select),
             _rows_for_ids(ds, table, column, ids[half:], select)],
            ignore_index=True,
        )
    return all_rows(ds, table, filter_in={column: ids}, select=select, first=(frame, truncated))


def all_rows(
    ds: CaveSession,
    table: str,
    *,
    filter_in: dict[str, Sequence[Any]] | None = None,
    filter_equal: dict[str, Any] | None = None,
    select: Sequence[str] | None = None,
    first: tuple[pd.DataFrame, bool] | None = None,
) -> pd.DataFrame:
    """Every row of one query, paging with ``offset`` while the server caps the answer.

    Args:
        first: the first page and its truncation flag, when the caller already has them.
    """
    import pandas as pd

    frame, truncated = first or query(
        ds, table, filter_in=filter_in, filter_equal=filter_equal, select=select
    )
    pages = [frame]
    offset = len(frame)
    while truncated and len(frame):
        frame, truncated = query(ds, table, filter_in=filter_in, filter_equal=filter_equal,
                                 select=select, offset=offset)
        pages.append(frame)
        offset += len(frame)
    return pd.concat(pages, ignore_index=True) if len(pages) > 1 else pages[0]


def rows_matching(
    ds: CaveSession,
    table: str,
    column: str,
    ids: npt.NDArray[np.uint64],
    select: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows of ``table`` whose ``column`` holds one of ``ids`` (chunked, concurrent, complete)."""
    import pandas as pd

    values = [int(v) for v in ids]
    if not values:
        return pd.DataFrame(columns=list(dict.fromkeys([column, *(select or [])])))
    chunks = [values[i:i + IDS_PER_QUERY] for i in range(0, len(values), IDS_PER_QUERY)]
    parts = run_per_item(
        lambda chunk: _rows_for_ids(ds, table, column, chunk, select),
        chunks, max_workers=ds.cave.max_workers, progress=False,
    )
    frames = [p for p in parts if p is not None]
    if not frames:
        raise ServiceError(f"no answer from table {table!r}")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def count_matches(
    ds: CaveSession, table: str, column: str, ids: npt.NDArray[np.uint64]
) -> dict[int, int]:
    """How many rows of ``table`` hold each of ``ids`` in ``column`` (fetching that column only)."""
    if ids.size == 0:
        return {}
    rows = rows_matching(ds, table, column, ids, select=[column])
    values, counts = np.unique(rows[column].to_numpy(dtype=np.int64), return_counts=True)
    return {int(k): int(v) for k, v in zip(values, counts, strict=True)}
