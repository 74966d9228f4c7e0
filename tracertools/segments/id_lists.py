"""Messy ID lists: the datastack methods that class a list and update it to current IDs.

`IdListsMixin.classify_ids()` classes every value locally (blank, malformed, root,
level-2, supervoxel, other layer; duplicates marked); `IdListsMixin.update_ids()` also
finds each usable ID's current segment and says, row by row, what happened or why not. Both
take any list of values as it comes from a sheet or a CSV (text with spaces or a trailing
``.0``, floats, blanks) and fail nothing as a whole for one bad value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy
from tracertools.cave.lineage import successors_with_failures
from tracertools.cave.resolve import id_layout, plan_roots
from tracertools.errors import InvalidSegmentIdError
from tracertools.ids import BLANK, L2, ROOT, SUPERVOXEL, classify_ids

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CURRENT", "FAILED", "IdListsMixin", "RESOLVED", "UPDATED"]

#: ``status`` of `IdListsMixin.update_ids`: the ID is a current segment ID.
CURRENT = "current"
#: ``status``: a stale segment ID, replaced by its successor.
UPDATED = "updated"
#: ``status``: a supervoxel or level-2 ID, replaced by the segment holding it.
RESOLVED = "resolved"
#: ``status``: no current ID (``reason`` says why).
FAILED = "failed"


class IdListsMixin:
    """Messy-ID-list methods of [`Datastack`][tracertools.datastack.Datastack]."""

    def classify_ids(self, values: Iterable[Any]) -> pd.DataFrame:
        """What each value of an ID list is, from the ID's layer bits (no per-ID request).

        Made for a sheet column or a CSV as it comes: every value gets a row and nothing is
        refused as a whole. The chunkedgraph's layout (its number of layers) is read once per
        datastack from the segmentation info; after that, classing makes no request.

        Args:
            values: IDs as ints, text (surrounding spaces and a trailing ``.0`` are fine),
                floats or blanks (None, NaN, empty text).

        Returns:
            DataFrame on a RangeIndex (input positions) with ``value`` (as given),
            ``segment_id`` (uint64; 0 where there is none), ``kind`` (``"root"``, ``"l2"``,
            ``"supervoxel"``, ``"other layer"``, ``"malformed"`` or ``"blank"``), ``layer``
            (0 where there is no ID), ``duplicate_of`` (position of the first value with the
            same ID, -1 for the first or where there is no ID) and ``reason`` (why the value
            is not a segment ID; empty for roots and blanks).

        Example:
            ```python
            kinds = ds.classify_ids(tab.column(1, ignore_header=True))
            kinds[kinds.kind != "root"]          # what needs a look
            ```
        """
        import pandas as pd

        items = _as_list(values)
        session: Any = self
        found = classify_ids(items, id_layout(session))
        positions = np.arange(len(items))
        duplicate = np.where(found.first_positions == positions, -1, found.first_positions)
        return pd.DataFrame({
            "value": pd.Series(items, dtype=object),
            "segment_id": found.segment_ids,
            "kind": found.kinds,
            "layer": found.layers,
            "duplicate_of": duplicate.astype(np.int64),
            "reason": found.reasons,
        })

    def update_ids(
        self, values: Iterable[Any], *, strict: bool = False, errors: ErrorPolicy = "warn"
    ) -> pd.DataFrame:
        """The current segment ID of every value of a messy ID list, and what became of each.

        Values are classed first (`classify_ids()`; no request). Then, for all usable
        IDs at once: supervoxel and level-2 IDs are resolved to the segments holding them
        (one request), and segment IDs are checked and updated (``is_latest_roots`` with
        ``valid_nodes``, then, for stale ones, their supervoxels and those supervoxels'
        current segments): a fixed handful of requests, whatever the length of the list.
        Duplicates are looked up once.

        Args:
            values: as for `classify_ids()`.
            strict: supervoxel and level-2 IDs fail (naming their segment) instead of being
                resolved.
            errors: failure policy for rows that get no current ID. The default, "warn",
                names them in one [`PartialResultWarning`][tracertools.errors.PartialResultWarning]
                (their ``reason`` says why); "ignore" only reports them in the frame; "raise"
                raises [`BatchError`][tracertools.errors.BatchError]. Blank values are not
                failures.

        Returns:
            The columns of `classify_ids()`, plus ``current_id`` (uint64; 0 where there is
            none), ``status`` (``"current"``, ``"updated"`` for a stale segment ID,
            ``"resolved"`` for a supervoxel or level-2 ID, ``"blank"`` or ``"failed"``) and
            ``candidates`` (the [`Candidate`][tracertools.ids.Candidate] tuple behind
            ``current_id``, largest share first; None where it failed) and ``error`` (the
            exception of a failed row, else None: an
            [`InvalidSegmentIdError`][tracertools.errors.InvalidSegmentIdError] or
            [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError] for a value that will never
            work, a [`ServiceError`][tracertools.errors.ServiceError] for one worth asking again).
            ``reason`` holds the failure of a failed row (empty otherwise).

        Example:
            ```python
            report = ds.update_ids(tab.column(1, ignore_header=True))
            report.loc[report.status == "failed", ["value", "reason"]]
            ```
        """
        import pandas as pd

        policy = check_error_policy(errors)
        frame = IdListsMixin.classify_ids(self, values)
        session: Any = self
        n = len(frame)
        kinds = frame["kind"].tolist()
        ids = frame["segment_id"].to_numpy(dtype=np.uint64)
        usable = [i for i, k in enumerate(kinds) if k in (ROOT, SUPERVOXEL, L2)]
        failures: dict[int, BaseException] = {
            i: InvalidSegmentIdError(frame["value"].iloc[i], i, frame["reason"].iloc[i])
            for i, k in enumerate(kinds) if k not in (ROOT, SUPERVOXEL, L2, BLANK)
        }
        current = np.zeros(n, dtype=np.uint64)
        candidates: list[Any] = [None] * n
        status = [BLANK if k == BLANK else FAILED for k in kinds]
        if usable:
            unique = np.unique(ids[usable])
            plan = plan_roots(session, unique, strict=strict, errors="ignore")
            roots = plan.roots[plan.roots != 0]
            distinct = np.unique(roots)
            found, lost = (successors_with_failures(session, distinct) if distinct.size
                           else ([], {}))
            by_root = dict(zip(distinct.tolist(), found, strict=True))
            root_failure = {int(distinct[k]): exc for k, exc in lost.items()}
            per_id: dict[int, tuple[Any, BaseException | None]] = {}
            for k, value in enumerate(unique.tolist()):
                root = int(plan.roots[k])
                if k in plan.failures:
                    per_id[value] = (None, plan.failures[k])
                elif root in root_failure:
                    per_id[value] = (None, root_failure[root])
                else:
                    per_id[value] = (by_root.get(root), None)
            for i in usable:
                cands, exc = per_id[int(ids[i])]
                if exc is not None or not cands:
                    failures[i] = exc or InvalidSegmentIdError(int(ids[i]), i, "no current ID")
                    continue
                candidates[i] = cands
                current[i] = cands[0].segment_id
                status[i] = (RESOLVED if kinds[i] != ROOT else
                             CURRENT if int(current[i]) == int(ids[i]) else UPDATED)
        reasons = frame["reason"].tolist()
        for i, exc in failures.items():
            reasons[i] = getattr(exc, "reason", None) or str(exc)
        frame["current_id"] = current
        frame["status"] = status
        frame["candidates"] = candidates
        frame["error"] = pd.Series([failures.get(i) for i in range(n)], dtype=object)
        frame["reason"] = [r if s == FAILED else "" for r, s in zip(reasons, status, strict=True)]
        labels = [f"position {i} ({v!r})" for i, v in enumerate(frame["value"].tolist())]
        apply_error_policy(dict(sorted(failures.items())), policy, labels, what="ID")
        return frame


def _as_list(values: Iterable[Any]) -> list[Any]:
    if isinstance(values, (str, bytes)):
        raise InvalidSegmentIdError(values, None, "expected a list of IDs, not a single value")
    if isinstance(values, np.ndarray):
        return list(values.reshape(-1).tolist())
    return list(values)
