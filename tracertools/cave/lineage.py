"""Freshness and current IDs: where did a stale segment ID go?

A root ID goes stale when an edit (merge or split) replaces it. Its successor is the current
segment holding the largest share of its supervoxels. The work takes few dependent stages,
whatever the number of IDs:

1. ``is_latest_roots`` for all IDs (with ``valid_nodes`` alongside, to tell "stale" from
   "never existed");
2. ``leaves_many(stop_layer=2)`` for the stale roots: their level-2 IDs;
3. ``roots_binary`` of those level-2 IDs;
4. ``is_latest_roots`` of the roots named, and supervoxel counts of the level-2 nodes of the
   stale roots now spread over several roots (see `tracertools.cave.overlap`); only an edit
   inside a level-2 chunk adds a fifth stage, for the supervoxels of that chunk.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy
from tracertools.cave import calls as _cave
from tracertools.cave.overlap import current_shares
from tracertools.errors import SegmentNotFoundError
from tracertools.ids import Candidate

if TYPE_CHECKING:
    from tracertools.cave.session import CaveSession

__all__ = [
    "freshness",
    "freshness_with_failures",
    "latest_flags",
    "read_moments",
    "successor_candidates",
    "successors_with_failures",
]

IdArray = npt.NDArray[np.uint64]

#: Datastack cache of answers that never change: moment -> {root ID: current at that moment}.
_LATEST_AT = "latest_at"
_LATEST_LOCK = threading.Lock()
#: Moments whose freshness answers `latest_flags()` keeps (the newest ones).
_MOMENTS_KEPT = 8


def freshness(ds: CaveSession, ids: IdArray) -> npt.NDArray[np.bool_]:
    """Whether each ID is current at the datastack's read time (one request per ~190k IDs)."""
    unique, inverse = np.unique(ids, return_inverse=True)
    latest = _cave.is_latest(ds, unique, _cave.read_time(ds))
    return latest[inverse.reshape(-1)]


def freshness_with_failures(
    ds: CaveSession, ids: IdArray
) -> tuple[npt.NDArray[np.bool_], dict[int, BaseException]]:
    """Whether each root is current, and which positions name roots that never existed.

    One ``is_latest_roots`` request (per ~190k IDs); one ``valid_nodes`` request for the IDs
    that are not current, if any. Failed positions are False.
    """
    unique, inverse = np.unique(ids, return_inverse=True)
    at = _cave.read_time(ds)
    latest = _cave.is_latest(ds, unique, at)
    failures: dict[int, BaseException] = {}
    stale = np.flatnonzero(~latest)
    if stale.size:
        valid = _cave.exists(ds, unique[stale], at)
        missing = {int(unique[stale[k]]) for k in np.flatnonzero(~valid).tolist()}
        for pos, value in enumerate(ids.tolist()):
            if int(value) in missing:
                missing.discard(int(value))  # named at its first position only
                failures[pos] = SegmentNotFoundError([int(value)])
    return latest[inverse.reshape(-1)], failures


def successor_candidates(
    ds: CaveSession, ids: IdArray, errors: ErrorPolicy = "raise"
) -> list[tuple[Candidate, ...] | None]:
    """For each ID, the current segments holding its supervoxels, largest share first.

    A current ID gives ``(Candidate(id, 1.0),)``. An ID the chunkedgraph never knew fails with
    [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError] under ``errors``; its entry is None otherwise. Ties are
    broken by the smaller segment ID, so answers are deterministic.
    """
    policy = check_error_policy(errors)
    result, failures = successors_with_failures(ds, ids, strict_failures=policy == "raise")
    apply_error_policy(failures, policy, [int(v) for v in ids], what="segment")
    return result


def successors_with_failures(
    ds: CaveSession, ids: IdArray, *, strict_failures: bool = False
) -> tuple[list[tuple[Candidate, ...] | None], dict[int, BaseException]]:
    """`successor_candidates()` without a policy: the answers and the failures by position.

    Each failure is reported at the first position of its ID. With ``strict_failures`` a
    failed leaves request raises instead of failing its roots (no partial work is needed).
    """
    policy: ErrorPolicy = "raise" if strict_failures else "ignore"
    at = _cave.read_time(ds)
    unique, inverse = np.unique(ids, return_inverse=True)
    with ThreadPoolExecutor(max_workers=2) as pool:  # stage 1: both answers in one round trip
        latest_f = pool.submit(_cave.is_latest, ds, unique, at)
        valid_f = pool.submit(_cave.exists, ds, unique, at)
        latest, valid = latest_f.result(), valid_f.result()
    per_unique: list[tuple[Candidate, ...] | None] = [None] * unique.size
    failures: dict[int, BaseException] = {}
    stale_positions = []
    for i, root in enumerate(unique.tolist()):
        if latest[i]:
            per_unique[i] = (Candidate(int(root), 1.0),)
        elif not valid[i]:
            failures[i] = SegmentNotFoundError([root])
        else:
            stale_positions.append(i)
    if stale_positions:
        lost: dict[int, BaseException] = {}
        stale = [int(unique[p]) for p in stale_positions]
        # stages 2 to 4 (a fifth after edits inside a chunk)
        shares = current_shares(ds, stale, at, lost, strict=policy == "raise")
        for pos, root in zip(stale_positions, stale, strict=True):
            if root in lost:
                failures[pos] = lost[root]
            else:
                per_unique[pos] = shares[root]
    flat = inverse.reshape(-1).tolist()
    first_position: dict[int, int] = {}
    for pos, u in enumerate(flat):
        if u in failures:
            first_position.setdefault(u, pos)
    return ([per_unique[u] for u in flat],
            {first_position[u]: exc for u, exc in failures.items()})


#: Answers that concern the caller, not the IDs asked about: they fail the whole call.
_DENIED = (401, 403)


class _Denied(Exception):
    """Carries an authentication / permission failure past the per-ID halving."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _per_id(
    ds: CaveSession,
    ids: IdArray,
    what: str,
    call: Any,
    failures: dict[int, BaseException],
) -> dict[int, Any]:
    """``call(chunk)`` (one value per ID) for every chunk of ``ids``, as {id: value}.

    A chunk the service refuses as bad input (4xx) is halved until the offending IDs are found;
    they are recorded in ``failures`` as [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError] and left out. A 401 or
    403 raises: it concerns the caller, not the IDs.
    """
    def one(group: list[int]) -> dict[int, Any]:
        try:
            values = _cave.remote(ds, what, lambda: call(np.asarray(group, dtype=np.uint64)))
        except Exception as exc:
            if _cave.http_status(exc) in _DENIED:  # not the IDs' fault: no halving
                raise _Denied(exc) from None
            raise
        return dict(zip(group, list(values), strict=True))

    lost: dict[int, BaseException] = {}
    chunks = _cave._chunks(ids, _cave.JSON_ID_BYTES)
    found: dict[int, Any] = {}
    for answer in _cave._pool(ds, lambda c: _cave.isolate(one, c.tolist(), lost), chunks):
        found.update(answer or {})
    for exc in lost.values():
        if isinstance(exc, _Denied):
            raise exc.error
    for item, exc in lost.items():
        status = _cave.http_status(exc)
        if status is not None and 400 <= status < 500 and status != 429:
            # the user's input, not a service fault: no raw HTTP answer in the chain
            failures[item] = SegmentNotFoundError(
                [item], f"segment {item} was never issued by the chunkedgraph (or is not a root "
                        f"ID), so {what} cannot answer for it")
        else:
            failures[item] = exc
    return found


def latest_flags(
    ds: CaveSession, ids: IdArray, at: datetime, failures: dict[int, BaseException]
) -> dict[int, bool]:
    """Whether each ID is current at ``at``; IDs the service refuses go to ``failures``.

    Answers are cached per moment: a fixed moment's answer never changes, so a composite call
    reading one pinned moment (``details()``) asks once. Only the `_MOMENTS_KEPT` latest
    moments are kept: a session without a materialization version reads a new "now" on every
    call, and its old answers would otherwise pile up.
    """
    moments = ds.cache(_LATEST_AT)
    with _LATEST_LOCK:
        known: dict[int, bool] = moments.pop(at, None) or {}
        moments[at] = known  # the newest last (dicts keep insertion order)
        while len(moments) > _MOMENTS_KEPT:
            del moments[next(iter(moments))]
    found = {int(i): known[int(i)] for i in ids.tolist() if int(i) in known}
    asked = np.asarray([i for i in ids.tolist() if int(i) not in found], dtype=np.uint64)
    if asked.size:
        cg = ds.cave.chunkedgraph
        flags = _per_id(ds, asked, "is_latest_roots",
                        lambda chunk: cg.is_latest_roots(chunk, timestamp=at), failures)
        for k, v in flags.items():
            found[k] = known[k] = bool(v)
    return found


def read_moments(
    ds: CaveSession, ids: IdArray, at: datetime, failures: dict[int, BaseException]
) -> dict[datetime | None, list[int]]:
    """Group segment IDs by a moment at which each was a current segment.

    The live materialization engine refuses a root-ID filter that is not current at the
    query's moment (HTTP 400), and no list endpoint takes a moment per ID, so a table read of
    stale IDs costs one query per moment. An ID current at ``at`` is read at ``at`` (key
    ``None``); an ID edited before ``at`` is read at a moment within its lifetime (from its
    creation to just before the edit that retired it). The moments are the fewest that cover
    every stale ID's lifetime: sorted by retirement, each ID that no earlier moment covers adds
    the moment just before it was retired (greedy stabbing, which is optimal for intervals), so
    an ID shares the moment of any ID retired later while it was still current. The current
    IDs cannot join a stale moment: they would be read as they were then, not at ``at``.

    Requests: one ``is_latest_roots`` per chunk (cached per moment), and for the stale IDs two
    ``root_timestamps`` per chunk (creation and retirement, sent together).

    IDs the chunkedgraph does not know, and IDs created after ``at``, go to ``failures`` as
    [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError].
    """
    unique = np.unique(np.asarray(ids, dtype=np.uint64))
    latest = latest_flags(ds, unique, at, failures)
    moments: dict[datetime | None, list[int]] = {}
    current = [i for i in unique.tolist() if latest.get(i)]
    if current:
        moments[None] = current
    stale = np.asarray([i for i in unique.tolist() if i in latest and not latest[i]],
                       dtype=np.uint64)
    if stale.size == 0:
        return moments
    cg = ds.cave.chunkedgraph
    lost: tuple[dict[int, BaseException], dict[int, BaseException]] = ({}, {})
    with ThreadPoolExecutor(max_workers=2) as pool:  # birth and retirement in one round trip
        first_f = pool.submit(_per_id, ds, stale, "root_timestamps",
                              lambda chunk: cg.get_root_timestamps(chunk, latest=False), lost[0])
        last_f = pool.submit(
            _per_id, ds, stale, "root_timestamps",
            lambda chunk: cg.get_root_timestamps(chunk, latest=True, timestamp=at), lost[1])
        first, last = first_f.result(), last_f.result()
    for part in lost:
        for root, exc in part.items():
            failures.setdefault(root, exc)
    lifetimes = []
    for root in stale.tolist():
        if root not in first or root not in last:
            failures.setdefault(root, SegmentNotFoundError([root]))
            continue
        born, retired = first[root], last[root]
        if born > at or retired < born:
            failures[root] = SegmentNotFoundError(
                [root], f"segment {root} did not exist yet at the read time {at.isoformat()}")
            continue
        lifetimes.append((retired, born, root))
    point: datetime | None = None
    for retired, born, root in sorted(lifetimes):
        if point is None or born > point:
            point = retired
        moments.setdefault(point, []).append(root)
    return moments
