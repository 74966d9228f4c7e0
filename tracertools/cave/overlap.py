"""Where the supervoxels of stale roots are now, decided at level 2 where it can be.

A level-2 (L2) node is a root's supervoxels in one chunk, and an L2 ID never changes what it
holds: an edit that cuts or joins supervoxels inside a chunk gives that chunk new L2 IDs. So an
L2 node of a stale root that still exists (*alive*) lies whole in one current root, and only an
L2 node an edit replaced (*retired*) can have been split between several. The chunkedgraph's
``get_roots`` of an alive L2 node answers a current root; of a retired one, the root that held
it when it was replaced (a stale root: nothing rewrites the parent of a replaced node).

For stale roots the work is:

1. ``leaves_many(stop_layer=2)``: the L2 IDs of each stale root (cached: they never change);
2. ``roots_binary`` of all those L2 IDs at the read time;
3. where that names one root, ``is_latest_roots`` of it decides: current means the stale root's
   supervoxels are all there (share 1.0, no supervoxel is fetched). Where it names several
   roots, the supervoxel count of every L2 node is needed for exact shares:
   ``leaves_many(stop_layer=1)`` of those L2 IDs, reduced to counts chunk by chunk (only the
   supervoxels of retired L2 nodes are kept), alongside the ``is_latest_roots`` request;
4. only for retired L2 nodes (an edit inside their chunk): ``roots_binary`` of their
   supervoxels.

Shares are exact supervoxel counts; supervoxel counts of L2 nodes are cached (they never
change). No list of supervoxels of a whole stale root is ever fetched or held.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.cave import calls as _cave
from tracertools.errors import SegmentNotFoundError
from tracertools.ids import Candidate

if TYPE_CHECKING:
    from tracertools.cave.session import CaveSession

__all__ = ["current_shares"]

IdArray = npt.NDArray[np.uint64]

#: L2 IDs per ``leaves_many(stop_layer=1)`` request: a small body, an answer of about
#: 20 bytes per supervoxel (a few MB for L2 nodes of a few hundred supervoxels).
L2_PER_REQUEST = 2_000
#: Datastack cache: L2 ID -> its number of supervoxels (never changes).
_L2_SV_COUNT = "l2_sv_count"


def current_shares(
    ds: CaveSession,
    stale: list[int],
    at: datetime,
    failures: dict[int, BaseException],
    *,
    strict: bool = False,
) -> dict[int, tuple[Candidate, ...]]:
    """For each stale root, the current roots holding its supervoxels at ``at``, largest
    share first (ties: the smaller ID).

    Args:
        ds: the session.
        stale: distinct roots that exist but are not current at ``at``.
        at: the read time.
        failures: roots that cannot be answered are recorded here (by root ID): those the
            chunkedgraph gives no supervoxels for, and those whose leaves request failed.
        strict: a failed leaves request raises instead.
    """
    l2_of = _cave.leaves(ds, stale, stop_layer=2, failures=None if strict else failures)  # stage 2
    roots = [r for r in stale if r not in failures]
    empty = [r for r in roots if l2_of[r].size == 0]
    for r in empty:
        _no_supervoxels(r, failures)
    roots = [r for r in roots if l2_of[r].size]
    if not roots:
        return {}
    all_l2 = np.unique(np.concatenate([l2_of[r] for r in roots]))
    holder = dict(zip(all_l2.tolist(), _cave.roots_of(ds, all_l2, at).tolist(), strict=True))  # stage 3
    named = {r: {holder[int(l2)] for l2 in l2_of[r].tolist()} for r in roots}
    known_stale = set(stale)
    # several roots named, or a root known to be stale (every L2 node replaced): count
    split = [r for r in roots if len(named[r]) > 1 or named[r] & known_stale]
    asked = np.asarray(sorted({h for r in roots for h in named[r]}), dtype=np.uint64)
    counts = ds.cache(_L2_SV_COUNT)
    retired_svs: dict[int, IdArray] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:  # stage 4: both in one round trip
        latest_f = pool.submit(_cave.is_latest, ds, asked, at)
        wanted = _distinct(l2_of, split)
        _member_counts(ds, wanted, holder, latest_f, asked, counts, retired_svs)
        latest = dict(zip(asked.tolist(), latest_f.result().tolist(), strict=True))
    # a single root named that is not current: every L2 node of the stale root was replaced
    counted = set(split)
    late = [r for r in roots
            if r not in counted and not latest[next(iter(named[r]))]]
    if late:
        done: Future[npt.NDArray[np.bool_]] = Future()
        done.set_result(np.asarray([latest[int(h)] for h in asked.tolist()], dtype=bool))
        _member_counts(ds, _distinct(l2_of, late), holder, done, asked, counts, retired_svs)
    if retired_svs:  # stage 5, only after an edit inside a chunk
        pieces = list(retired_svs.values())
        now = _cave.roots_of(ds, np.concatenate(pieces), at)
        bounds = np.cumsum([p.size for p in pieces])[:-1]
        retired_now = dict(zip(retired_svs, np.split(now, bounds), strict=True))
    else:
        retired_now = {}
    out: dict[int, tuple[Candidate, ...]] = {}
    for r in roots:
        if len(named[r]) == 1 and latest[next(iter(named[r]))]:
            out[r] = (Candidate(next(iter(named[r])), 1.0),)
            continue
        share: dict[int, int] = {}
        for l2 in l2_of[r].tolist():
            if latest[holder[l2]]:
                share[holder[l2]] = share.get(holder[l2], 0) + int(counts[l2])
            else:
                for h in retired_now[l2].tolist():
                    share[int(h)] = share.get(int(h), 0) + 1
        total = sum(share.values())
        if total == 0:
            _no_supervoxels(r, failures)
            continue
        order = sorted(share.items(), key=lambda kv: (-kv[1], kv[0]))
        out[r] = tuple(Candidate(int(h), c / total) for h, c in order)
    return out


def _distinct(l2_of: dict[int, IdArray], roots: list[int]) -> list[int]:
    return sorted({int(v) for r in roots for v in l2_of[r].tolist()})


def _no_supervoxels(root: int, failures: dict[int, BaseException]) -> None:
    failures[root] = SegmentNotFoundError([root], f"segment {root} has no supervoxels")


def _member_counts(
    ds: CaveSession,
    l2_ids: list[int],
    holder: dict[int, int],
    latest_f: Future[npt.NDArray[np.bool_]],
    asked: IdArray,
    counts: dict[Any, Any],
    retired_svs: dict[int, IdArray],
) -> None:
    """Supervoxel counts of ``l2_ids`` into ``counts``; the supervoxels of retired L2 nodes
    into ``retired_svs``.

    One ``leaves_many(stop_layer=1)`` request per `L2_PER_REQUEST` uncached IDs, run
    concurrently; each answer is reduced to counts as it arrives, so at most one answer per
    worker is held. A retired node (its ``holder`` is not current, from ``latest_f``) has its
    supervoxels kept, cached count or not.
    """
    cg = ds.cave.chunkedgraph
    index = {int(h): k for k, h in enumerate(asked.tolist())}

    def retired(l2: int) -> bool:
        return not bool(latest_f.result()[index[holder[l2]]])

    todo = [v for v in l2_ids if v not in counts or retired(v)]
    groups = [todo[i:i + L2_PER_REQUEST] for i in range(0, len(todo), L2_PER_REQUEST)]

    def fetch(group: list[int]) -> dict[int, IdArray]:
        answer = _cave.remote(ds, "get_leaves_many",
                              lambda: cg.get_leaves_many(group, stop_layer=1))
        kept: dict[int, IdArray] = {}
        for key, svs in answer.items():
            l2 = int(key)
            counts[l2] = int(len(svs))
            if retired(l2):
                kept[l2] = np.asarray(svs, dtype=np.uint64)
        return kept

    for kept in _cave._pool(ds, fetch, groups):
        retired_svs.update(kept or {})
