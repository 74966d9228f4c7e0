"""Edit tables, supervoxel credit and largest originals, computed from fetched history.

Computation over what `tracertools.cave.history_fetch` and `tracertools.cave.calls.leaves()`
return: no loop here scans a table per row (joins go through pandas merges keyed by operation
ID), and sets are sorted numpy arrays combined with ``intersect1d``/``setdiff1d``.

Credit (`supervoxel_credit()`) never holds the supervoxels of every root of a history: it
fetches L2 IDs of the roots no change log derives and the supervoxels of each distinct L2 node
once, and compares roots as arrays of *atoms* weighted by supervoxel count (see `_Lineage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.cave import calls as _cave, history_fetch as _fetch

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.cave.session import CaveSession

IdArray = npt.NDArray[np.uint64]
#: Sorted indices of the atoms a supervoxel set is made of (see `_Lineage`).
Atoms = npt.NDArray[np.int64]

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


class _Lineage:
    """Supervoxel sets of the roots in edit histories, as unions of L2 nodes.

    Only the roots no change log derives are fetched, as L2 IDs: the originals (the first
    roots of a history) and the roots splits created. A merge's root is the union of the
    roots before it, so it costs nothing. An L2 node's supervoxels never change, so they are
    fetched once per distinct node.

    Sets are compared as sorted arrays of *atoms*, each with a supervoxel count: the L2 nodes
    themselves when the nodes met are pairwise disjoint (no edit cut through a chunk between
    them), else the classes of supervoxels lying in the same L2 nodes (an edit inside a chunk
    makes new L2 nodes that overlap old ones). Either way a root is a few atoms per L2 node,
    never its supervoxels, and the answer is exact.
    """

    def __init__(self, ds: CaveSession) -> None:
        self._ds = ds
        #: Root -> sorted L2 IDs whose union is its supervoxel set (fetched or derived).
        self.l2: dict[int, IdArray] = {}
        self._svs: dict[int, IdArray] = {}
        self._nodes = np.zeros(0, dtype=np.uint64)
        self._node_atoms: list[Atoms] = []
        self._weights = np.zeros(0, dtype=np.int64)
        self._members: dict[int, Atoms] = {}
        #: Whether the L2 nodes met are pairwise disjoint (then atoms are L2 nodes).
        self.disjoint = True

    def fetch(self, roots: Iterable[int]) -> None:
        """L2 IDs of ``roots`` not known yet, then the supervoxels of L2 nodes not seen yet."""
        wanted = [r for r in dict.fromkeys(int(x) for x in roots) if r not in self.l2]
        if not wanted:
            return
        self.l2.update(_fetch.node_leaves(self._ds, wanted, stop_layer=2))
        nodes = np.unique(np.concatenate([self._nodes, *(self.l2[r] for r in wanted)]))
        new = np.setdiff1d(nodes, self._nodes, assume_unique=True)
        if new.size:
            self._svs.update(_fetch.node_leaves(self._ds, new.tolist(), stop_layer=1))
            self._nodes = nodes
            self._atomize()

    def _atomize(self) -> None:
        """Atoms of the L2 nodes seen: the nodes if disjoint, else supervoxel classes."""
        parts = [self._svs[int(n)] for n in self._nodes.tolist()]
        sizes = np.asarray([p.size for p in parts], dtype=np.int64)
        svs = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        owner = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
        self._members.clear()
        order = np.lexsort((owner, svs))
        svs, owner = svs[order], owner[order]
        starts = np.flatnonzero(np.r_[True, svs[1:] != svs[:-1]]) if svs.size else owner[:0]
        self.disjoint = starts.size == svs.size
        if self.disjoint:
            self._weights = sizes
            self._node_atoms = [np.asarray([i], dtype=np.int64) for i in range(len(parts))]
            return
        # a supervoxel's class: the (sorted) L2 nodes holding it
        classes: dict[bytes, int] = {}
        groups = np.split(owner, starts[1:])
        atom_of_sv = np.asarray([classes.setdefault(g.tobytes(), len(classes)) for g in groups],
                                dtype=np.int64)
        self._weights = np.bincount(atom_of_sv, minlength=len(classes)).astype(np.int64)
        atom = np.repeat(atom_of_sv, np.diff(np.r_[starts, svs.size]))
        pairs = np.unique(owner * len(classes) + atom)
        node_of_pair = pairs // len(classes)
        cuts = np.searchsorted(node_of_pair, np.arange(1, len(parts)))
        self._node_atoms = np.split(pairs % len(classes), cuts)

    def union(self, root: int, parts: Sequence[int]) -> None:
        """Record ``root`` as the union of the (known) roots ``parts``."""
        self.l2[int(root)] = np.unique(np.concatenate([self.l2[int(p)] for p in parts]))

    def members(self, root: int) -> Atoms:
        """Sorted unique atoms of ``root`` (cached until new L2 nodes arrive)."""
        found = self._members.get(int(root))
        if found is None:
            index = np.searchsorted(self._nodes, self.l2[int(root)])
            found = np.unique(np.concatenate(
                [self._node_atoms[i] for i in index.tolist()] or [np.zeros(0, dtype=np.int64)]))
            self._members[int(root)] = found
        return found

    def size(self, atoms: Atoms) -> int:
        """Supervoxels in a set of atoms (as `members()` gives them)."""
        return int(self._weights[atoms].sum())


def _ancestry(logs: dict[int, pd.DataFrame]) -> tuple[set[int], dict[int, list[int]]]:
    """The roots every log's operations ended (plus the logged roots) and merge results.

    Returns:
        ``(ancestors, merged)``: every root whose set a credit needs (each is an ancestor of
        a logged root: an operation in a root's history ended one of its ancestors, and all
        the roots before it were ancestors too); and for each such root made by a merge, the
        roots merged into it.
    """
    ancestors: set[int] = {int(r) for r, log in logs.items() if len(log)}
    merged: dict[int, list[int]] = {}
    for log in logs.values():
        for merge, before, after in zip(log["is_merge"], log["before_root_ids"],
                                        log["after_root_ids"], strict=True):
            ancestors.update(int(r) for r in before)
            if merge and before and len(after) == 1:
                merged[int(after[0])] = [int(r) for r in before]
    return ancestors, {r: b for r, b in merged.items() if r in ancestors}


def _continuing(sets: _Lineage, after: Sequence[int], final: Atoms) -> int:
    """The after-root of a split sharing most supervoxels with the root now (``final``, as
    `_Lineage.members()`); on a tie the higher ID. Roots without a set share nothing."""
    def key(r: int) -> tuple[int, int]:
        if r not in sets.l2:
            return (0, r)
        return (sets.size(np.intersect1d(sets.members(r), final, assume_unique=True)), r)

    return max((int(r) for r in after), key=key)


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

    What is fetched (see `_Lineage`): the L2 IDs of the originals and of the roots splits
    created that are ancestors of a logged root, in ``leaves_many`` groups, then the
    supervoxels of each distinct L2 node once. Merge results are unions of what they merged.
    An after-root of a split that is no ancestor of the root now shares no supervoxel with it
    (a supervoxel of the root now was, at every earlier time, in one of its ancestors), so it
    is fetched only when it continues the lineage by the tie rule (one more stage). Bytes grow
    with the L2 nodes of those roots, not with their supervoxels.

    Args:
        ds: the datastack.
        logs: tidy change log per root.

    Returns:
        ``{root: {user_id: count}}``, users in numeric order.
    """
    ancestors, merged = _ancestry(logs)
    sets = _Lineage(ds)
    sets.fetch(sorted(ancestors - set(merged)))
    for log in logs.values():  # each log in time order: a merge's parts exist before it
        for merge, after in zip(log["is_merge"], log["after_root_ids"], strict=True):
            made = int(after[0]) if merge and len(after) == 1 else None
            if made is None or made not in merged or made in sets.l2:
                continue
            pieces = merged[made]
            if any(p not in sets.l2 for p in pieces):  # pragma: no cover - a log out of order
                sets.fetch([made])
            else:
                sets.union(made, pieces)
    # A split's continuing root may be one no set was fetched for: a side that is no ancestor
    # shares nothing with the root now, and wins only on the tie rule (every side shares
    # nothing). Rare: such roots are fetched in one more stage.
    unknown: set[int] = set()
    for root, log in logs.items():
        if not len(log):
            continue
        final = sets.members(root)
        for merge, before, after in zip(log["is_merge"], log["before_root_ids"],
                                        log["after_root_ids"], strict=True):
            if not merge and before and after:
                kept = _continuing(sets, after, final)
                if kept not in sets.l2:
                    unknown.add(kept)
    sets.fetch(sorted(unknown))

    empty = np.zeros(0, dtype=np.int64)
    out: dict[int, dict[str, int]] = {}
    for root, log in logs.items():
        final = sets.members(root) if len(log) else empty
        got: dict[str, list[Atoms]] = {}
        for user, merge, before, after in zip(
            log["user_id"], log["is_merge"], log["before_root_ids"], log["after_root_ids"],
            strict=True,
        ):
            parts = got.setdefault(str(user), [])
            if not before:
                continue
            if merge:
                small = min((int(r) for r in before),
                            key=lambda r: (sets.size(sets.members(r)), -r))
                parts.append(np.intersect1d(sets.members(small), final, assume_unique=True))
                continue
            lost = np.unique(np.concatenate([sets.members(int(r)) for r in before]))
            if after:
                kept = _continuing(sets, after, final)
                lost = np.setdiff1d(lost, sets.members(kept), assume_unique=True)
            parts.append(np.setdiff1d(lost, final, assume_unique=True))
        out[root] = {
            u: sets.size(np.unique(np.concatenate(got[u] or [empty]))) for u in user_order(got)
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
