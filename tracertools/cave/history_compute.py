"""Edit tables, supervoxel credit and largest originals, computed from fetched history.

Pure computation over what `._history_fetch` and `._cave.leaves()` return: no loop
here scans a table per row (joins go through pandas merges keyed by operation ID), and
supervoxel sets are sorted numpy arrays combined with ``intersect1d``/``setdiff1d``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.cave import calls as _cave

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.cave.session import CaveSession

IdArray = npt.NDArray[np.uint64]

#: Columns of the edits table (the original's seven, plus segment_id and timestamp).
EDIT_COLUMNS = [
    "segment_id",
    "operation_id",
    "timestamp",
    "is_merge",
    "point_coords",
    "before_segs",
    "after_segs",
    "seg_pair",
    "user",
]


def user_order(users: Iterable[str]) -> list[str]:
    """User IDs sorted numerically where they are numbers, then as text."""
    return sorted(set(users), key=lambda u: (not u.isdigit(), int(u) if u.isdigit() else 0, u))


# -- edits -----------------------------------------------------------------------------------


def _edit_points(
    detail: dict[str, Any] | None, is_merge: bool, scale: npt.NDArray[np.float64]
) -> list[list[int]] | None:
    """``[source point, sink point]`` of one operation, scaled by ``scale`` and rounded.

    Merges use the first source and first sink the user placed; splits use the mean of the
    sources and the mean of the sinks. Rounding is to the nearest integer, ties to even.
    """
    if not detail:
        return None
    source = np.asarray(detail.get("source_coords") or [], dtype=np.float64).reshape(-1, 3)
    sink = np.asarray(detail.get("sink_coords") or [], dtype=np.float64).reshape(-1, 3)
    if source.shape[0] == 0 or sink.shape[0] == 0:
        return None
    if is_merge:
        pair = np.stack([source[0], sink[0]])
    else:
        pair = np.stack([source.mean(axis=0), sink.mean(axis=0)])
    return [[int(v) for v in p] for p in np.rint(pair * scale).astype(np.int64)]


def edits_table(
    entries: Sequence[tuple[int, pd.DataFrame]],
    details: dict[int, dict[str, Any]],
    scale: npt.NDArray[np.float64],
) -> pd.DataFrame:
    """One row per (segment, operation), in the order of ``entries`` then of each log.

    Args:
        entries: ``(segment_id, tidy change log)`` pairs, in output order.
        details: operation details by operation ID.
        scale: factor from operation-detail coordinates to the output units, per axis.

    Returns:
        DataFrame with `EDIT_COLUMNS`: merges pair the two roots before the edit in
        ``seg_pair``; splits pair the roots the operation created (also ``after_segs``).
    """
    import pandas as pd

    frames = [log.assign(segment_id=int(seg)) for seg, log in entries if len(log)]
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in EDIT_COLUMNS})
        return empty.astype({"segment_id": "uint64", "operation_id": "int64",
                             "timestamp": "datetime64[ns, UTC]", "is_merge": bool})
    rows = pd.concat(frames, ignore_index=True)
    first = rows.drop_duplicates("operation_id")
    per_op = pd.DataFrame({
        "operation_id": first["operation_id"].to_numpy(),
        "point_coords": [
            _edit_points(details.get(int(o)), bool(m), scale)
            for o, m in zip(first["operation_id"], first["is_merge"], strict=True)
        ],
        "op_roots": [
            [int(r) for r in (details.get(int(o)) or {}).get("roots", [])]
            for o in first["operation_id"]
        ],
    })
    rows = rows.merge(per_op, on="operation_id", how="left", sort=False)
    merge = rows["is_merge"].to_numpy(dtype=bool)
    before = list(rows["before_root_ids"])
    after = list(rows["after_root_ids"])
    made = list(rows["op_roots"])
    return pd.DataFrame({
        "segment_id": rows["segment_id"].to_numpy(dtype=np.uint64),
        "operation_id": rows["operation_id"].to_numpy(dtype=np.int64),
        "timestamp": rows["timestamp"],
        "is_merge": merge,
        "point_coords": rows["point_coords"],
        "before_segs": before,
        "after_segs": [a if m else r for m, a, r in zip(merge, after, made, strict=True)],
        "seg_pair": [b if m else r for m, b, r in zip(merge, before, made, strict=True)],
        "user": rows["user_id"],
    })


# -- supervoxel sets -------------------------------------------------------------------------


def supervoxel_sets(ds: CaveSession, roots: Iterable[int]) -> dict[int, IdArray]:
    """Sorted unique supervoxels of every root: one batched, cached ``leaves`` fetch."""
    found = _cave.leaves(ds, sorted({int(r) for r in roots}), stop_layer=1)
    return {r: np.unique(v) for r, v in found.items()}


def _overlap(a: IdArray, b: IdArray) -> int:
    return int(np.intersect1d(a, b, assume_unique=True).size)


def supervoxel_credit(
    ds: CaveSession, logs: dict[int, pd.DataFrame]
) -> dict[int, dict[str, int]]:
    """Unique supervoxels each user contributed to each root, from its (full) change log.

    For each operation in a root's log:

    * a merge credits its user with the supervoxels of the smaller root before the merge
      (fewer supervoxels; on a tie the higher ID) that are in the root now;
    * a split credits the supervoxels of the root before the split that are neither in the
      root continuing the lineage (the after-root sharing most supervoxels with the root now;
      on a tie the higher ID) nor in the root now, whatever order the after-roots are listed in.

    Every user with an operation in the log appears, with 0 if nothing of theirs remains.
    The supervoxels of all roots involved come from one batched ``leaves`` fetch.

    Args:
        ds: the datastack.
        logs: tidy change log per root.

    Returns:
        ``{root: {user_id: count}}``, users in numeric order.
    """
    involved: set[int] = set(logs)
    for log in logs.values():
        for ids in (*log["before_root_ids"], *log["after_root_ids"]):
            involved.update(int(r) for r in ids)
    sets = supervoxel_sets(ds, involved)
    empty = np.zeros(0, dtype=np.uint64)
    out: dict[int, dict[str, int]] = {}
    for root, log in logs.items():
        final = sets[root]
        got: dict[str, list[IdArray]] = {}
        for user, merge, before, after in zip(
            log["user_id"], log["is_merge"], log["before_root_ids"], log["after_root_ids"],
            strict=True,
        ):
            parts = got.setdefault(str(user), [])
            if not before:
                continue
            if merge:
                small = min(before, key=lambda r: (sets[r].size, -r))
                parts.append(np.intersect1d(sets[small], final, assume_unique=True))
                continue
            lost = np.unique(np.concatenate([sets[r] for r in before]))
            if after:
                kept = max(after, key=lambda r: (_overlap(sets[r], final), r))
                lost = np.setdiff1d(lost, sets[kept], assume_unique=True)
            parts.append(np.setdiff1d(lost, final, assume_unique=True))
        out[root] = {
            u: int(np.unique(np.concatenate(got[u] or [empty])).size) for u in user_order(got)
        }
    return out


def largest_originals(ds: CaveSession, originals: dict[int, IdArray]) -> dict[int, int]:
    """For each root, the original ancestor sharing most supervoxels with it.

    Ties go to the smaller ID (the original library crashed on a tie). A root with one
    original needs no request; the others share one batched ``leaves`` fetch.
    """
    out: dict[int, int] = {}
    contested = {r: o for r, o in originals.items() if o.size > 1}
    for root, found in originals.items():
        if found.size <= 1:
            out[root] = int(found[0]) if found.size else int(root)
    if contested:
        wanted = set(contested) | {int(o) for arr in contested.values() for o in arr.tolist()}
        sets = supervoxel_sets(ds, wanted)
        for root, found in contested.items():
            final = sets[root]
            out[root] = max(
                (int(o) for o in found.tolist()),
                key=lambda o: (_overlap(sets[o], final), -o),
            )
    return out
