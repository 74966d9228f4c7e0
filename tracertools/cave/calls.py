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
#: Answer budget per request (bytes of JSON) for lists whose answers vary in size
#: (``leaves_many``, L2-cache attributes): requests are sized to answer about this much.
ANSWER_BUDGET_BYTES = 4_000_000
#: Bytes per node ID in a JSON answer list (up to 19 digits and a comma).
JSON_ANSWER_ID_BYTES = 20
#: Bytes per attribute of one L2 ID in an L2-cache answer (name and value; a coordinate's
#: three numbers are the longest).
L2_ATTRIBUTE_BYTES = 40
#: Nodes per root assumed before a session has measured any (per stop layer: supervoxels, L2
#: IDs): a first request of a long list asks for 40 roots' supervoxels or 200 roots' L2 IDs.
#: Measured answers replace it as they arrive.
LEAVES_GUESS = {1: 5_000, 2: 1_000}
#: Roots a session measures before its own mean replaces `LEAVES_GUESS`.
GUESS_WEIGHT = 50
#: Session cache of leaves measured per stop layer: ``{layer: (node IDs, roots)}``.
_LEAVES_SEEN = "leaves_seen"
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


def _split_refused(
    call: Callable[[list[int]], dict[Any, Any]], group: list[int]
) -> dict[Any, Any]:
    """``call(group)``, halving the group while the service refuses it as too large (413)."""
    try:
        return call(group)
    except Exception as exc:
        if http_status(exc) != 413 or len(group) < 2:
            raise
        half = len(group) // 2
        logger.debug("request for %d items refused as too large; halving it", len(group))
        return {**_split_refused(call, group[:half]), **_split_refused(call, group[half:])}


def _leaves_per_root(ds: CaveSession, stop_layer: int, measured: bool = False) -> float:
    """The session's estimate of how many layer-``stop_layer`` nodes a root has: the mean of
    the answers seen so far once `GUESS_WEIGHT` roots were seen (or, with ``measured``, once
    any were); before that, `LEAVES_GUESS` stands in for the roots not seen yet."""
    seen_ids, seen_roots = ds.cache(_LEAVES_SEEN).get(stop_layer, (0, 0))
    if seen_roots >= (1 if measured else GUESS_WEIGHT):
        return float(seen_ids) / seen_roots
    guess = LEAVES_GUESS.get(stop_layer, LEAVES_GUESS[2])
    return (seen_ids + guess * (GUESS_WEIGHT - seen_roots)) / GUESS_WEIGHT


def _roots_per_request(ds: CaveSession, stop_layer: int, measured: bool = False) -> int:
    """Roots per ``leaves_many`` request so its answer stays near `ANSWER_BUDGET_BYTES`."""
    per_root = (_leaves_per_root(ds, stop_layer, measured) * JSON_ANSWER_ID_BYTES
                + JSON_ID_BYTES)
    by_answer = int(ANSWER_BUDGET_BYTES // per_root)
    return max(1, min(by_answer, BODY_BUDGET_BYTES // JSON_ID_BYTES))


def _even_groups(items: list[int], per: int) -> list[list[int]]:
    """``items`` in the fewest groups of at most ``per``, of nearly equal sizes."""
    if not items:
        return []
    n = -(-len(items) // max(1, per))
    size = -(-len(items) // n)
    return [items[i:i + size] for i in range(0, len(items), size)]


def each_leaves_answer(
    ds: CaveSession,
    roots: Sequence[int],
    handle: Callable[[dict[int, IdArray]], None],
    *,
    stop_layer: int = 1,
    failures: dict[int, BaseException] | None = None,
) -> None:
    """Fetch the layer-``stop_layer`` descendants of ``roots`` (``leaves_many``) and pass each
    answer, ``{root: node IDs}``, to ``handle`` as it arrives (on the worker that got it), so
    a caller can reduce it and let it go.

    Requests are sized by their answers, not by a fixed number of roots: each asks for as many
    roots as the session's estimate of nodes per root (the mean of the answers seen, starting
    from `LEAVES_GUESS`) fits in `ANSWER_BUDGET_BYTES` of JSON. When ``roots`` need more
    than one request, the first one is sent alone and the rest, sized by what it measured, run
    concurrently: requests grow with the bytes of the answers (about one per
    ``ANSWER_BUDGET_BYTES``), at the cost of one more round trip. A request refused as too
    large (413) is halved until it fits.

    Args:
        failures: if given, roots whose leaves could not be fetched are recorded here (and
            passed to no ``handle``) instead of raising; only the roots that caused a failure
            are named (see `isolate_unknown()`).
    """
    todo = list(dict.fromkeys(int(r) for r in roots))
    if not todo:
        return
    cg = ds.cave.chunkedgraph
    seen = ds.cache(_LEAVES_SEEN)

    def fetch(group: list[int]) -> dict[Any, Any]:
        return dict(remote(
            ds, "get_leaves_many",
            lambda: cg.get_leaves_many(group, stop_layer=stop_layer),
        ))

    def run(group: list[int]) -> None:
        answer = isolate_unknown(ds, lambda g: _split_refused(fetch, g), group, failures)
        found = {int(k): np.asarray(v, dtype=np.uint64) for k, v in answer.items()}
        if found:
            ids, n = seen.get(stop_layer, (0, 0))
            seen[stop_layer] = (ids + sum(v.size for v in found.values()), n + len(found))
        handle(found)

    per = _roots_per_request(ds, stop_layer)
    if len(todo) > per:  # measure on a first request, then size the rest by it
        run(todo[:per])
        todo = todo[per:]
        per = _roots_per_request(ds, stop_layer, measured=True)
    _pool(ds, run, _even_groups(todo, per))


def leaves(
    ds: CaveSession,
    roots: Iterable[int],
    *,
    stop_layer: int = 1,
    failures: dict[int, BaseException] | None = None,
) -> dict[int, IdArray]:
    """The layer-``stop_layer`` descendants of each root (1: supervoxels, 2: L2 IDs).

    A root's descendants never change, so they are cached on the datastack; uncached roots are
    fetched with ``leaves_many`` in requests sized by their answers (see
    `each_leaves_answer()`: about one request per `ANSWER_BUDGET_BYTES` of node IDs).

    Args:
        failures: if given, roots whose leaves could not be fetched are recorded here (and left
            out of the answer) instead of raising; only the roots that caused a failure are
            named.
    """
    cache = ds.cache(f"leaves:{stop_layer}")
    wanted = list(dict.fromkeys(int(r) for r in roots))
    missing = [r for r in wanted if r not in cache]
    if missing:
        each_leaves_answer(ds, missing, cache.update, stop_layer=stop_layer, failures=failures)
    # a root the answer left out gets no leaves now, but nothing is cached for it
    empty = np.zeros(0, dtype=np.uint64)
    return {r: cache.get(r, empty) for r in wanted if failures is None or r not in failures}


def l2_data(
    ds: CaveSession,
    l2_ids: IdArray,
    attributes: Sequence[str],
    *,
    failures: dict[int, BaseException] | None = None,
    keep: bool = True,
) -> dict[int, dict[str, Any]]:
    """L2-cache attributes per L2 ID (empty dict where the cache has no entry).

    Uncached IDs are requested in chunks sized by the answer (about `ANSWER_BUDGET_BYTES` of
    JSON, and a request body under `BODY_BUDGET_BYTES`), run concurrently.

    Args:
        failures: if given, L2 IDs whose request failed are recorded here (and left out of the
            answer, and out of the cache) instead of raising.
        keep: cache the answers per (L2 ID, attribute set) on the session. A caller that
            reduces them at once (volumes) passes False, so memory holds its result only.
    """
    key = "l2:" + ",".join(sorted(attributes))
    cache = ds.cache(key) if keep else {}
    unique = np.unique(l2_ids)
    missing = [i for i in unique.tolist() if i not in cache]
    out: dict[int, dict[str, Any]] = {}
    if missing:
        l2 = ds.cave.l2cache

        def fetch(chunk: list[int]) -> dict[Any, Any]:
            return dict(remote(
                ds, "l2cache attributes",
                lambda: l2.get_l2data([int(i) for i in chunk], attributes=list(attributes)),
            ))

        entry = JSON_ANSWER_ID_BYTES + L2_ATTRIBUTE_BYTES * max(1, len(attributes))
        size = max(1, min(BODY_BUDGET_BYTES // JSON_ID_BYTES, ANSWER_BUDGET_BYTES // entry))
        answers = _pool(ds, lambda c: isolate(lambda g: _split_refused(fetch, g), c, failures),
                        _even_groups(missing, size))
        for answer in answers:
            for k, v in (answer or {}).items():
                if v:  # an empty answer means "not in the L2 cache yet": ask again next time
                    cache[int(k)] = out[int(k)] = dict(v)
    return {
        int(i): out.get(int(i)) or cache.get(int(i), {})
        for i in unique.tolist()
        if failures is None or int(i) not in failures
    }
