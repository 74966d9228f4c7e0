"""Skeletons from CAVE's skeleton service: cached ones 500 a request, missing ones generated in bulk.

1. The distinct roots go to caveclient's ``fetch_skeletons`` in groups of `FETCH_SIZE` (the
   service's limit), the groups running concurrently on the session's pool. The service answers
   the skeletons it has cached and queues the others for generation (``generate_missing``): no
   per-root validity request, nothing generated inside the request.
2. The roots it left out are checked in one batched ``valid_nodes`` request, made while the
   service generates: a root the chunkedgraph does not know fails on its own with
   [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError]. (The service itself queues
   unvalidated roots; its workers drop the ones that do not exist.)
3. The known ones are fetched again, in groups, after `FIRST_POLL_S` and then at intervals
   doubling up to `MAX_POLL_S`, until all have arrived or the wait (``$TRACERTOOLS_SKELETON_WAIT``,
   default `DEFAULT_WAIT_S`) is over; each poll names only the roots still missing.
4. Whatever is still missing then is fetched one root at a time with ``get_skeleton``, which
   makes the service generate it while the request waits (bounded by the session's pool).

Every request goes through [`tracertools.cave.calls.remote`][tracertools.cave.calls.remote] (the one
retry layer); the roots of a ``fetch_skeletons`` request that still fails are fetched one by one
(step 4) instead. A root's skeleton never changes, so each is cached on the session per skeleton
version. caveclient reads the service's skeleton versions (one small request) before every
``fetch_skeletons`` call.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.batch import run_per_item
from tracertools.cave import calls as _cave
from tracertools.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInputError,
    SegmentNotFoundError,
    ServiceUnreachableError,
)
from tracertools.geometry.skeleton import Skeleton

if TYPE_CHECKING:
    from tracertools.cave.session import CaveSession

__all__ = ["DEFAULT_WAIT_S", "FETCH_SIZE", "FIRST_POLL_S", "MAX_POLL_S", "WAIT_ENV",
           "fetch_skeletons", "generation_wait"]

logger = logging.getLogger(__name__)

#: Roots per ``fetch_skeletons`` request (the skeleton service's ``MAX_BULK_CACHED_SKELETONS``).
FETCH_SIZE = 500
#: The environment variable with the longest wait (seconds) for skeletons being generated.
WAIT_ENV = "TRACERTOOLS_SKELETON_WAIT"
#: Seconds to wait for queued skeletons before fetching the rest one by one.
DEFAULT_WAIT_S = 600.0
#: Seconds after queueing of the first poll for generated skeletons (the service generates
#: through a queue of workers, seconds to a minute per skeleton: an earlier poll rarely finds any).
FIRST_POLL_S = 5.0
#: The longest interval (seconds) between two polls.
MAX_POLL_S = 30.0


def generation_wait(value: str | None = None) -> float:
    """Seconds to wait for queued skeletons, from ``value`` or ``$TRACERTOOLS_SKELETON_WAIT``.

    0 skips the polling: missing skeletons are then fetched (and generated) one by one at once.

    Raises:
        ConfigError: the setting is not a number of seconds >= 0.
    """
    text = os.environ.get(WAIT_ENV) if value is None else value
    if text is None or not text.strip():
        return DEFAULT_WAIT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 <= seconds < float("inf"):
        raise ConfigError(f"{WAIT_ENV} must be a number of seconds >= 0, got {text!r}")
    return seconds


def fetch_skeletons(
    ds: CaveSession,
    roots: list[int],
    version: int,
    progress: bool | None,
) -> tuple[dict[int, Skeleton], dict[int, BaseException]]:
    """Skeletons of the distinct ``roots`` (cached), and the failures by root."""
    cache = ds.cache(f"skeleton:{version}")
    wanted = [r for r in dict.fromkeys(roots) if r not in cache]
    failures: dict[int, BaseException] = {}
    if wanted:
        wait_s = generation_wait()  # a bad setting fails before any request
        # roots whose fetch failed for good (after its retries) are fetched one by one
        single = _fetch_cached(ds, wanted, version, cache, generate=True, progress=progress)
        queued_at = time.monotonic()  # the service queues the missing ones as it answers
        left = [r for r in wanted if r not in cache]
        if left:
            known = _cave.exists(ds, np.asarray(left, dtype=np.uint64), _cave.read_time(ds))
            for root, ok in zip(left, known.tolist(), strict=True):
                if not ok:
                    failures[root] = SegmentNotFoundError([root])
            queued = [r for r in left if r not in failures and r not in single]
            if queued:
                single |= _poll(ds, queued, version, cache, queued_at + wait_s, queued_at)
            rest = [r for r in left if r in single and r not in failures]
            if rest:
                _fetch_one_by_one(ds, rest, version, cache, failures, progress)
    return {r: cache[r] for r in roots if r in cache}, failures


def _check_version_served(ds: CaveSession, version: int) -> None:
    """Raise [`InvalidInputError`][tracertools.errors.InvalidInputError] (about the whole call)
    when the skeleton service does not serve ``version``; asked only after a fetch failed, its
    versions are read once per session."""
    cache = ds.cache("skeleton_versions")
    if "served" not in cache:
        service = ds.cave.skeleton
        cache["served"] = [int(v) for v in _cave.remote(
            ds, "skeleton versions", lambda: service.get_versions()) or []]
    served = cache["served"]
    if served and version not in served:
        bad = InvalidInputError(
            f"skeleton version {version} is not served by this datastack's skeleton service; "
            f"it serves {sorted(served)}")
        bad.whole_call = True  # no root's fault: batches raise it unwrapped
        raise bad


def _fetch_cached(
    ds: CaveSession,
    roots: list[int],
    version: int,
    cache: dict[Any, Any],
    *,
    generate: bool,
    progress: bool | None = False,
) -> set[int]:
    """Put the cached skeletons of ``roots`` into ``cache`` (`FETCH_SIZE` a request,
    concurrently); with ``generate`` the service queues the missing ones. The roots of
    requests that failed for good (after their retries)."""
    service = ds.cave.skeleton

    def one(group: list[int]) -> dict[Any, Any] | BaseException:
        try:
            return dict(_cave.remote(ds, "fetch_skeletons", lambda: service.fetch_skeletons(
                group, skeleton_version=version, output_format="dict",
                generate_missing_skeletons=generate)) or {})
        except (AuthenticationError, ServiceUnreachableError):
            raise  # a refused token or an unreachable server: no single fetch would do better
        except Exception as exc:
            _check_version_served(ds, version)  # a version not served fails the call
            logger.info("fetch_skeletons of %d root(s) failed (%s); fetching them one by one",
                        len(group), exc)
            return exc

    groups = [roots[i:i + FETCH_SIZE] for i in range(0, len(roots), FETCH_SIZE)]
    answers = ds.cave.map(one, groups, progress=progress, desc="skeletons", what="group")
    failed: set[int] = set()
    for group, answer in zip(groups, answers, strict=True):
        if isinstance(answer, BaseException):
            failed.update(group)
            continue
        for key, value in (answer or {}).items():
            cache[int(key)] = Skeleton.from_cave_dict(value, segment_id=int(key))
    return failed


def _poll(
    ds: CaveSession,
    roots: list[int],
    version: int,
    cache: dict[Any, Any],
    deadline: float,
    queued_at: float,
) -> set[int]:
    """Fetch the queued ``roots`` again, with backoff, until all arrived or ``deadline``
    (``time.monotonic()``); the roots to fetch one by one (still missing, or failed)."""
    at = queued_at + FIRST_POLL_S
    interval = FIRST_POLL_S
    polls = 0
    failed: set[int] = set()
    while roots:
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(max(0.0, min(at, deadline) - now))
        failed |= _fetch_cached(ds, roots, version, cache, generate=False)
        polls += 1
        roots = [r for r in roots if r not in cache and r not in failed]
        interval = min(interval * 2, MAX_POLL_S)
        at += interval
    if roots:
        logger.info("%d skeleton(s) still generating after %d poll(s); fetching them one by one",
                    len(roots), polls)
    return failed | set(roots)


def _fetch_one_by_one(
    ds: CaveSession,
    roots: list[int],
    version: int,
    cache: dict[Any, Any],
    failures: dict[int, BaseException],
    progress: bool | None,
) -> None:
    """``get_skeleton`` per root (the service generates while the request waits), at most the
    session's pool at once; each root's failure is its own."""
    service = ds.cave.skeleton

    def single(root: int) -> Skeleton | BaseException:
        try:
            found = _cave.remote(ds, "get_skeleton", lambda: service.get_skeleton(
                root, skeleton_version=version, output_format="dict"))
        except Exception as exc:  # kept per root: its retries are done
            return exc
        if not found:
            return SegmentNotFoundError([root], f"no skeleton for segment {root}")
        return Skeleton.from_cave_dict(found, segment_id=root)

    results = run_per_item(single, roots, max_workers=ds.cave.max_workers, progress=progress,
                           desc="skeletons")
    for root, outcome in zip(roots, results, strict=True):
        if isinstance(outcome, BaseException):
            failures[root] = outcome
        elif outcome is not None:
            cache[root] = outcome
