"""Skeletons from CAVE's skeleton service, in bulk, with single fetches where bulk falls short.

Skeletons come in groups of up to ten roots per request (``get_bulk_skeletons``), the groups
running concurrently on the session's pool. A root the bulk answer leaves out (not generated
yet) is fetched on its own with ``get_skeleton``, which generates it on demand: no blind sleep
on an ETA. A root's skeleton never changes, so each is cached on the session per skeleton
version.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.batch import run_per_item
from tracertools.cave import calls as _cave
from tracertools.errors import SegmentNotFoundError
from tracertools.geometry.skeleton import Skeleton

if TYPE_CHECKING:
    from tracertools.cave.session import CaveSession

__all__ = ["BULK_SIZE", "fetch_skeletons"]

logger = logging.getLogger(__name__)

#: Roots per bulk request (the service's limit for synchronous bulk fetches).
BULK_SIZE = 10


def fetch_skeletons(
    ds: CaveSession,
    roots: list[int],
    version: int,
    progress: bool | None,
) -> tuple[dict[int, Skeleton], dict[int, BaseException]]:
    """Skeletons of the distinct ``roots`` (cached), and the failures by root."""
    cache = ds.cache(f"skeleton:{version}")
    missing = [r for r in dict.fromkeys(roots) if r not in cache]
    failures: dict[int, BaseException] = {}
    if missing:
        service = ds.cave.skeleton
        groups = [missing[i:i + BULK_SIZE] for i in range(0, len(missing), BULK_SIZE)]

        def bulk(group: list[int]) -> dict[Any, Any]:
            return dict(_cave.remote(ds, "get_bulk_skeletons", lambda: service.get_bulk_skeletons(
                group, skeleton_version=version, output_format="dict")) or {})

        # a bulk request that fails (after its retries) is not the end: its roots are fetched
        # one by one below, so only a root that also fails on its own is reported
        for answer in run_per_item(bulk, groups, max_workers=ds.cave.max_workers, progress=progress,
                                   desc="skeletons", errors="ignore"):
            for key, value in (answer or {}).items():
                cache[int(key)] = Skeleton.from_cave_dict(value, segment_id=int(key))
        leftover = [r for r in missing if r not in cache]

        def single(root: int) -> Skeleton:
            found = _cave.remote(ds, "get_skeleton", lambda: service.get_skeleton(
                root, skeleton_version=version, output_format="dict"))
            if not found:
                raise SegmentNotFoundError([root], f"no skeleton for segment {root}")
            return Skeleton.from_cave_dict(found, segment_id=root)

        if leftover:
            exists = _cave.exists(ds, np.asarray(leftover, dtype=np.uint64), _cave.read_time(ds))
            for root, ok in zip(leftover, exists, strict=True):
                if not ok:
                    failures[root] = SegmentNotFoundError([root])
            fetchable = [r for r in leftover if r not in failures]
            def single_or_error(root: int) -> Skeleton | BaseException:
                try:
                    return single(root)
                except Exception as exc:  # kept per root: one request each, no second try
                    return exc

            results = run_per_item(single_or_error, fetchable, max_workers=ds.cave.max_workers,
                                   progress=progress, desc="skeletons")
            for root, outcome in zip(fetchable, results, strict=True):
                if isinstance(outcome, BaseException):
                    failures[root] = outcome
                elif outcome is not None:
                    cache[root] = outcome
    return {r: cache[r] for r in roots if r in cache}, failures
