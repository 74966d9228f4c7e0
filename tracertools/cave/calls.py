"""Batched, chunked, cached calls to CAVE services, shared by every segment method.

Each function takes a session (`CaveSession`) and does one kind
of request for a whole batch: payloads are split by bytes under the services' body limit, chunks
run concurrently on the session's pool (as wide as its worker budget), and results that can never
change (a root's supervoxels, its L2 IDs, L2 attributes) are cached on the session. Every call
goes through the session's [`CaveConnection`][tracertools.cave.connection.CaveConnection].
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from tracertools.batch import chunk_by_bytes
from tracertools.cave.http import http_status
from tracertools.errors import (
    AuthenticationError,
    SegmentNotFoundError,
    ServiceUnreachableError,
)

if TYPE_CHECKING:
    from tracertools.cave.session import CaveSession

logger = logging.getLogger(__name__)

R = TypeVar("R")
IdArray = npt.NDArray[np.uint64]

#: Request-body budget per call (bytes): well under CAVE's ~10 MB ingress limit.
BODY_BUDGET_BYTES = 4_000_000
#: Bytes per ID in a JSON list body (up to 19 digits, a comma and a space).
JSON_ID_BYTES = 21
#: Bytes per ID in a raw uint64 body.
RAW_ID_BYTES = 8
#: Failures that are about access, not about any item of a batch.
_ACCESS_ERRORS = (AuthenticationError, ServiceUnreachableError)


def remote(ds: CaveSession, what: str, func: Callable[[], R]) -> R:
    """Run one service call of ``ds`` within its worker budget (see ``CaveConnection.call``).

    Args:
        ds: the datastack session.
        what: a short description of the call, e.g. ``"is_latest_roots"``.
        func: the zero-argument call.
    """
    return ds.cave.call(what, func)


def read_time(ds: CaveSession) -> datetime:
    """The time a batch reads at: the datastack's fixed time, or now (fixed once per batch)."""
    fixed = ds.read_timestamp
    return fixed if fixed is not None else datetime.now(timezone.utc)


def _pool(ds: CaveSession, func: Callable[[Any], R], items: Sequence[Any]) -> list[R | None]:
    """``func`` over ``items`` on the session's pool; a failure raises that item's own error."""
    return ds.cave.map(func, items)


def _chunks(ids: npt.NDArray[Any], item_bytes: int) -> list[npt.NDArray[Any]]:
    return [ids[s] for s in chunk_by_bytes(item_bytes, BODY_BUDGET_BYTES, n_items=len(ids))]


def _concat(parts: Sequence[npt.NDArray[Any] | None], dtype: Any) -> npt.NDArray[Any]:
    arrays = [p for p in parts if p is not None]
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)


def _flags(
    ds: CaveSession, ids: IdArray, what: str, call: Callable[[IdArray], Any]
) -> npt.NDArray[np.bool_]:
    """One boolean per ID from a list service, in chunks run concurrently."""
    if ids.size == 0:
        return np.zeros(0, dtype=bool)

    def one(chunk: IdArray) -> npt.NDArray[np.bool_]:
        return np.asarray(remote(ds, what, lambda: call(chunk)), dtype=bool)

    parts = _pool(ds, one, _chunks(ids, JSON_ID_BYTES))
    return _concat(parts, bool)


def is_latest(ds: CaveSession, ids: IdArray, at: datetime) -> npt.NDArray[np.bool_]:
    """Whether each root is current at ``at`` (``is_latest_roots``, one request per chunk)."""
    return _flags(ds, ids, "is_latest_roots",
                  lambda chunk: ds.cave.chunkedgraph.is_latest_roots(chunk, timestamp=at))


def exists(ds: CaveSession, ids: IdArray, at: datetime) -> npt.NDArray[np.bool_]:
    """Whether each node ID exists in the chunkedgraph by ``at`` (``valid_nodes``)."""
    return _flags(ds, ids, "valid_nodes",
                  lambda chunk: ds.cave.chunkedgraph.is_valid_nodes(chunk, end_timestamp=at))


def roots_of(
    ds: CaveSession, node_ids: IdArray, at: datetime, *, stop_layer: int | None = None
) -> IdArray:
    """The root (or ``stop_layer`` node) of every node at ``at``, in input order.

    One ``roots_binary`` request per ~4 MB of IDs, run concurrently; duplicates are sent once.
    """
    if node_ids.size == 0:
        return np.zeros(0, dtype=np.uint64)
    unique, inverse = np.unique(node_ids, return_inverse=True)
    cg = ds.cave.chunkedgraph

    def one(chunk: IdArray) -> IdArray:
        return np.asarray(
            remote(ds, "get_roots",
                   lambda: cg.get_roots(chunk, timestamp=at, stop_layer=stop_layer)),
            dtype=np.uint64,
        )

    parts = _pool(ds, one, _chunks(unique, RAW_ID_BYTES))
    return _concat(parts, np.uint64)[inverse.reshape(-1)]


def isolate(
    call: Callable[[list[int]], dict[Any, Any]],
    group: list[int],
    failures: dict[int, BaseException] | None,
) -> dict[Any, Any]:
    """``call(group)``; on a failure, name the items that caused it.

    Without ``failures`` the error propagates. With it, an answer meaning "your input is wrong"
    (4xx) is narrowed down by halving the group (cheap: 4xx answers are not retried) so only the
    offending items fail; any other failure, already retried, fails every item of the group.
    """
    try:
        return call(group)
    except Exception as exc:
        if failures is None or isinstance(exc, _ACCESS_ERRORS):
            raise  # a refused token or an unreachable server is no item's fault
        status = http_status(exc)
        if status is not None and 400 <= status < 500 and status != 429 and len(group) > 1:
            half = len(group) // 2
            return {**isolate(call, group[:half], failures),
                    **isolate(call, group[half:], failures)}
        for item in group:
            failures[item] = exc
        return {}


def isolate_unknown(
    ds: CaveSession,
    call: Callable[[list[int]], dict[Any, Any]],
    group: list[int],
    failures: dict[int, BaseException] | None,
) -> dict[Any, Any]:
    """`isolate()`, naming first the IDs the chunkedgraph never knew.

    When ``call(group)`` is refused as bad input (4xx), one ``valid_nodes`` request finds the
    IDs that never existed (they fail with [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError], not with the raw
    400 answer) and the rest are asked again; only if that is refused too is the group
    narrowed down by halving.
    """
    try:
        return call(group)
    except Exception as exc:
        if failures is None or isinstance(exc, _ACCESS_ERRORS):
            raise  # a refused token or an unreachable server is no item's fault
        status = http_status(exc)
        if status is None or not 400 <= status < 500 or status == 429:
            for item in group:
                failures[item] = exc
            return {}
        try:
            known = exists(ds, np.asarray(group, dtype=np.uint64), read_time(ds))
        except Exception:  # the check failed too: fall back to halving
            return isolate(call, group, failures)
        rest = []
        for item, ok in zip(group, known.tolist(), strict=True):
            if ok:
                rest.append(item)
            else:
                failures[item] = SegmentNotFoundError([item])
        return isolate(call, rest, failures) if rest else {}


def leaves(
    ds: CaveSession,
    roots: Iterable[int],
    *,
    stop_layer: int = 1,
    failures: dict[int, BaseException] | None = None,
) -> dict[int, IdArray]:
    """The layer-``stop_layer`` descendants of each root (1: supervoxels, 2: L2 IDs).

    A root's descendants never change, so they are cached on the datastack; uncached roots are
    fetched with ``leaves_many`` (one request per group of roots, groups run concurrently).

    Args:
        failures: if given, roots whose leaves could not be fetched are recorded here (and left
            out of the answer) instead of raising; only the roots that caused a failure are
            named.
    """
    cache = ds.cache(f"leaves:{stop_layer}")
    wanted = list(dict.fromkeys(int(r) for r in roots))
    missing = [r for r in wanted if r not in cache]
    if missing:
        cg = ds.cave.chunkedgraph
        groups = [missing[i:i + 50] for i in range(0, len(missing), 50)]

        def fetch(group: list[int]) -> dict[Any, Any]:
            return dict(remote(
                ds, "get_leaves_many",
                lambda: cg.get_leaves_many(group, stop_layer=stop_layer),
            ))

        answers = _pool(ds, lambda g: isolate_unknown(ds, fetch, g, failures), groups)
        for answer in answers:
            for key, value in (answer or {}).items():
                cache[int(key)] = np.asarray(value, dtype=np.uint64)
    # a root the answer left out gets no leaves now, but nothing is cached for it
    empty = np.zeros(0, dtype=np.uint64)
    return {r: cache.get(r, empty) for r in wanted if failures is None or r not in failures}


def l2_data(
    ds: CaveSession,
    l2_ids: IdArray,
    attributes: Sequence[str],
    *,
    failures: dict[int, BaseException] | None = None,
) -> dict[int, dict[str, Any]]:
    """L2-cache attributes per L2 ID (empty dict where the cache has no entry).

    Cached per (L2 ID, attribute set); uncached IDs are requested in ~4 MB chunks.

    Args:
        failures: if given, L2 IDs whose request failed are recorded here (and left out of the
            answer, and out of the cache) instead of raising.
    """
    key = "l2:" + ",".join(sorted(attributes))
    cache = ds.cache(key)
    unique = np.unique(l2_ids)
    missing = [i for i in unique.tolist() if i not in cache]
    if missing:
        l2 = ds.cave.l2cache

        def fetch(chunk: list[int]) -> dict[Any, Any]:
            return dict(remote(
                ds, "l2cache attributes",
                lambda: l2.get_l2data([int(i) for i in chunk], attributes=list(attributes)),
            ))

        size = max(1, BODY_BUDGET_BYTES // JSON_ID_BYTES)
        chunks = [missing[i:i + size] for i in range(0, len(missing), size)]
        answers = _pool(ds, lambda c: isolate(fetch, c, failures), chunks)
        for answer in answers:
            for k, v in (answer or {}).items():
                if v:  # an empty answer means "not in the L2 cache yet": ask again next time
                    cache[int(k)] = dict(v)
    return {
        int(i): cache.get(int(i), {})
        for i in unique.tolist()
        if failures is None or int(i) not in failures
    }
