"""Service primitives for edit histories: change logs, operation details, original roots.

Everything fetched here is immutable (a root's past never changes, nor does a recorded
operation), so results are cached on the datastack and a second question costs no request.

* `change_logs()`: ``tabular_change_log_many`` for many roots in one request (chunked when
  the list is very long), the raw caveclient frames per root;
* `tidy_log()`: a raw change log with typed columns (what the new API returns);
* `operation_details()`: ``operation_details`` for many operations in one request per
  ~250 operation IDs (they travel in the URL);
* `original_roots()`: ``get_original_roots`` per root, concurrently on a bounded pool;
* `node_leaves()`: the L2 IDs of roots, or the supervoxels of L2 nodes, with
  ``leaves_many`` in groups of `NODES_PER_LEAVES` nodes (shared cache with
  `tracertools.cave.calls.leaves()`);
* `segmentation_resolution()`: the segmentation's mip-0 voxel size (``base_resolution``).

Failures are reported per root: a request that fails with an input error (4xx) is followed by
one ``valid_nodes`` request, so IDs the chunkedgraph never knew fail with
[`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError] and the others are retried without them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from tracertools.batch import run_per_item
from tracertools.cave import calls as _cave
from tracertools.errors import SegmentNotFoundError, ServiceError

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.cave.session import CaveSession

logger = logging.getLogger(__name__)

T = TypeVar("T")
IdArray = npt.NDArray[np.uint64]
Failures = dict[int, BaseException]

#: Roots per ``tabular_change_log_many`` request (a request per chunk only for huge lists).
CHANGELOG_CHUNK = 2000
#: Operation IDs per ``operation_details`` request: the IDs travel in the URL, which servers
#: cap at about 8 kB.
OPERATION_CHUNK = 250

#: Nodes per ``leaves_many`` request in `node_leaves()`: roots asked for their L2 IDs (a
#: few hundred each) or L2 nodes asked for their supervoxels (at most a few hundred each), so
#: an answer stays around a megabyte.
NODES_PER_LEAVES = 500

#: The columns of caveclient's tabular change log, in the service's order.
LOG_COLUMNS = (
    "operation_id",
    "timestamp",
    "user_id",
    "before_root_ids",
    "after_root_ids",
    "is_merge",
    "user_name",
    "user_affiliation",
)


# -- failure attribution ---------------------------------------------------------------------


def _is_input_error(exc: BaseException) -> bool:
    status = _cave.http_status(exc)
    return status is not None and 400 <= status < 500 and status not in (401, 403, 429)


def _capture(func: Callable[[], T]) -> T | BaseException:
    """``func()``, or the exception it raised (so one item's failure never stops a pool)."""
    try:
        return func()
    except Exception as exc:
        return exc


def _not_found(ds: CaveSession, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` the chunkedgraph does not know (one ``valid_nodes`` request)."""
    if not ids:
        return set()
    known = _cave.exists(ds, np.asarray(ids, dtype=np.uint64), datetime.now(timezone.utc))
    return {r for r, ok in zip(ids, known.tolist(), strict=True) if not ok}


def batch_per_root(
    ds: CaveSession,
    roots: list[int],
    request: Callable[[list[int]], dict[int, T]],
) -> tuple[dict[int, T], Failures]:
    """One batched request for ``roots``, attributing an input error to the culprits.

    On a 4xx answer, roots unknown to the chunkedgraph fail with [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError]
    (one ``valid_nodes`` request) and the rest are asked again as one batch; should that be
    refused too, it is narrowed down by halving (`tracertools.cave.calls.isolate()`). Other
    failures (5xx after retries, connection errors) fail every root of the batch.
    """
    first = _capture(lambda: request(roots))
    if not isinstance(first, BaseException):
        return first, {}
    if not _is_input_error(first):
        return {}, dict.fromkeys(roots, first)
    missing = _capture(lambda: _not_found(ds, roots))
    if isinstance(missing, BaseException):
        return {}, dict.fromkeys(roots, first)
    failures: Failures = {r: SegmentNotFoundError([r]) for r in roots if r in missing}
    rest = [r for r in roots if r not in missing]
    found: dict[int, T] = _cave.isolate(request, rest, failures) if rest else {}
    return found, failures


# -- change logs -----------------------------------------------------------------------------


def change_logs(
    ds: CaveSession, roots: Iterable[int], *, filtered: bool
) -> tuple[dict[int, pd.DataFrame], Failures]:
    """The raw tabular change log of each root (``tabular_change_log_many``; cached).

    Args:
        ds: the datastack.
        roots: root IDs (duplicates are asked once).
        filtered: the service's ``filtered`` flag (True: only operations it judges relevant
            to the root's final state; False: every operation in the root's past).

    Returns:
        ``(logs, failures)``: caveclient's DataFrame per root that succeeded, and the
        exception per root that failed.
    """
    cache = ds.cache("changelog:filtered" if filtered else "changelog:all")
    wanted = list(dict.fromkeys(int(r) for r in roots))
    missing = [r for r in wanted if r not in cache]
    failures: Failures = {}
    if missing:
        cg = ds.cave.chunkedgraph

        def request(ids: list[int]) -> dict[int, Any]:
            raw = _cave.remote(
                ds, "tabular_change_log_many",
                lambda: cg.get_tabular_change_log(ids, filtered=filtered),
            )
            return {int(k): v for k, v in dict(raw).items()}

        groups = [missing[i:i + CHANGELOG_CHUNK] for i in range(0, len(missing), CHANGELOG_CHUNK)]
        for part in run_per_item(
            lambda g: batch_per_root(ds, g, request), groups,
            max_workers=ds.cave.max_workers, progress=False,
        ):
            if part is None:  # pragma: no cover - batch_per_root never raises
                continue
            found, failed = part
            cache.update(found)
            failures.update(failed)
        for r in missing:
            if r not in cache and r not in failures:
                failures[r] = ServiceError(f"the change-log service returned no log for {r}")
    return {r: cache[r] for r in wanted if r in cache}, failures


def _int_lists(values: Iterable[Any]) -> list[list[int]]:
    return [[int(x) for x in (v if isinstance(v, (list, tuple, np.ndarray)) else [])]
            for v in values]


def _objects(values: list[Any]) -> npt.NDArray[np.object_]:
    """``values`` as an object column (an empty log keeps the dtype of a full one)."""
    column = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):  # item by item: lists stay lists, not a 2-D array
        column[k] = value
    return column


def tidy_logs(raw: Mapping[int, pd.DataFrame]) -> dict[int, pd.DataFrame]:
    """`tidy_log()` of each root's log, done once over all of them (a few pandas operations
    for the whole list, not per root: 10,000 logs take about as long as one table of their
    rows)."""
    import pandas as pd

    if not raw:
        return {}
    roots = list(raw)
    sizes = [len(raw[r]) for r in roots]
    parts = [raw[r].reset_index(drop=True) for r, n in zip(roots, sizes, strict=True) if n]
    if not parts:
        return {r: tidy_log(raw[r]) for r in roots}
    joined = pd.concat(parts, ignore_index=True)
    owner = np.repeat(np.asarray(roots, dtype=np.uint64), sizes)
    tidy = tidy_log(joined.assign(_owner=owner), order=["_owner"])
    out: dict[int, pd.DataFrame] = {}
    for root, group in tidy.groupby("_owner", sort=False):
        out[int(cast(int, root))] = group.drop(columns="_owner").reset_index(drop=True)
    empty = tidy.iloc[:0].drop(columns="_owner")
    return {r: out.get(r, empty) for r in roots}


def tidy_log(raw: pd.DataFrame, order: Sequence[str] = ()) -> pd.DataFrame:
    """A raw change log with typed columns, in time order on a RangeIndex.

    ``operation_id`` int64; ``timestamp`` UTC datetimes (the service sends epoch ms);
    ``user_id`` str; ``before_root_ids``/``after_root_ids`` lists of int; ``is_merge`` bool.
    Columns the service added (``in_neuron``, ``is_relevant`` when unfiltered) are kept.
    ``order``: columns sorted by before time (`tidy_logs()` keeps each root's rows together).
    """
    import pandas as pd

    df = raw.reset_index(drop=True)
    extras = [c for c in df.columns if c not in LOG_COLUMNS]
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    out["operation_id"] = np.asarray(df.get("operation_id", []), dtype=np.int64)
    stamps = df.get("timestamp", pd.Series([], dtype="int64"))
    if len(stamps) == 0 or pd.api.types.is_numeric_dtype(stamps):
        out["timestamp"] = pd.to_datetime(stamps.astype("int64"), unit="ms", utc=True)
    else:
        out["timestamp"] = pd.to_datetime(stamps, utc=True)
    out["user_id"] = _objects([str(u) for u in df.get("user_id", [])])
    out["before_root_ids"] = _objects(_int_lists(df.get("before_root_ids", [])))
    out["after_root_ids"] = _objects(_int_lists(df.get("after_root_ids", [])))
    out["is_merge"] = np.asarray(df.get("is_merge", []), dtype=bool)
    for col in ("user_name", "user_affiliation"):
        out[col] = _objects(list(df[col]) if col in df else [None] * len(df))
    for col in extras:
        out[col] = _objects(list(df[col]))
    keys = [*order, "timestamp", "operation_id"]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


# -- operation details -----------------------------------------------------------------------


def operation_details(
    ds: CaveSession, operation_ids: Iterable[int]
) -> tuple[dict[int, dict[str, Any]], Failures]:
    """Each operation's details (``operation_details``; one request per 250 IDs; cached).

    Returns:
        ``(details, failures)``: the service's dict per operation ID (source/sink coordinates
        in segmentation mip-0 voxels, ``roots`` created, ``user``, ...), and the exception
        per operation ID whose request failed.
    """
    cache = ds.cache("operation_details")
    wanted = list(dict.fromkeys(int(o) for o in operation_ids))
    missing = [o for o in wanted if o not in cache]
    failures: Failures = {}
    if missing:
        cg = ds.cave.chunkedgraph

        def one(chunk: list[int]) -> dict[int, Any] | BaseException:
            return _capture(lambda: {int(k): dict(v) for k, v in _cave.remote(
                ds, "operation_details", lambda: cg.get_operation_details(chunk)
            ).items()})

        chunks = [missing[i:i + OPERATION_CHUNK] for i in range(0, len(missing), OPERATION_CHUNK)]
        for chunk, result in zip(
            chunks, run_per_item(one, chunks, max_workers=ds.cave.max_workers, progress=False),
            strict=True,
        ):
            if isinstance(result, BaseException):
                failures.update(dict.fromkeys(chunk, result))
            elif result is not None:
                cache.update(result)
        for o in missing:
            if o not in cache and o not in failures:
                failures[o] = ServiceError(f"the chunkedgraph has no details for operation {o}")
    return {o: cache[o] for o in wanted if o in cache}, failures


# -- original roots --------------------------------------------------------------------------


def original_roots(
    ds: CaveSession, roots: Iterable[int], *, progress: bool | None = None
) -> tuple[dict[int, IdArray], Failures]:
    """Each root's original (never edited) ancestors, sorted; itself if it was never edited.

    ``get_original_roots`` per root (``root_timestamps`` + ``lineage_graph_multiple``: two
    requests each), run concurrently on a bounded pool; cached per root.
    """
    cache = ds.cache("original_roots")
    wanted = list(dict.fromkeys(int(r) for r in roots))
    missing = [r for r in wanted if r not in cache]
    failures: Failures = {}
    if missing:
        cg = ds.cave.chunkedgraph

        def one(root: int) -> IdArray | BaseException:
            return _capture(lambda: np.unique(np.asarray(_cave.remote(
                ds, "get_original_roots", lambda: cg.get_original_roots(root)
            ), dtype=np.uint64)))

        results = run_per_item(
            one, missing, max_workers=ds.cave.max_workers, progress=progress,
            desc="original IDs", what="segment",
        )
        suspects = []
        for root, result in zip(missing, results, strict=True):
            if isinstance(result, BaseException):
                failures[root] = result
                if _is_input_error(result):
                    suspects.append(root)
            elif result is not None:
                cache[root] = result
        unknown = _capture(lambda: _not_found(ds, suspects))
        if not isinstance(unknown, BaseException):
            failures.update({r: SegmentNotFoundError([r]) for r in unknown})
    return {r: cache[r] for r in wanted if r in cache}, failures


# -- leaves of many nodes --------------------------------------------------------------------


def node_leaves(ds: CaveSession, nodes: Iterable[int], *, stop_layer: int) -> dict[int, IdArray]:
    """The layer-``stop_layer`` descendants of each node (``leaves_many``; cached).

    For the small answers edit histories need: the L2 IDs of roots (``stop_layer=2``) or the
    supervoxels of L2 nodes (``stop_layer=1``). A node's descendants never change, so the
    cache is the one `tracertools.cave.calls.leaves()` fills; uncached nodes are asked in
    groups of `NODES_PER_LEAVES`, concurrently. A failure raises.

    Returns:
        Sorted unique ``uint64`` descendants per node, in the order of ``nodes``.
    """
    cache = ds.cache(f"leaves:{stop_layer}")
    wanted = list(dict.fromkeys(int(n) for n in nodes))
    missing = [n for n in wanted if n not in cache]
    if missing:
        cg = ds.cave.chunkedgraph

        def one(group: list[int]) -> dict[int, IdArray]:
            answer = _cave.remote(ds, "get_leaves_many",
                                  lambda: cg.get_leaves_many(group, stop_layer=stop_layer))
            return {int(k): np.asarray(v, dtype=np.uint64) for k, v in dict(answer).items()}

        groups = [missing[i:i + NODES_PER_LEAVES]
                  for i in range(0, len(missing), NODES_PER_LEAVES)]
        for found in ds.cave.map(one, groups):
            cache.update(found or {})
    empty = np.zeros(0, dtype=np.uint64)
    return {n: np.unique(cache.get(n, empty)) for n in wanted}


# -- resolution ------------------------------------------------------------------------------


def segmentation_resolution(ds: CaveSession) -> npt.NDArray[np.float64]:
    """The segmentation's mip-0 voxel size in nm (``base_resolution``; 1 request per client).

    Operation coordinates (``operation_details`` source/sink points) are in these voxels.
    """
    res = _cave.remote(
        ds, "segmentation info", lambda: ds.cave.chunkedgraph.base_resolution
    )
    return np.asarray(res, dtype=np.float64).reshape(3)
