"""Every list method works on segments: the gate that classes and resolves a list's IDs first.

A method wrapped with `on_roots()` first asks `tracertools.cave.resolve.plan_roots()`
what each ID is. When every ID is a segment (root) ID, which is the common case, the method
runs unchanged (the layout is read once per datastack; nothing else is asked). Otherwise it
runs on the distinct segments the list stands for (supervoxel and level-2 IDs resolved to their
segments in one request), and its answer is spread back over the input positions: an item that
failed (an ID of another layer, one that never existed, a supervoxel under ``strict=True``) is
a gap of the method's kind (None, NaN, 0, a NA row, no rows) and is reported under the
method's ``errors=`` policy, naming its ID and position.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy
from tracertools.cave.resolve import RootPlan, plan_roots
from tracertools.errors import BatchError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FRAME", "LIST", "LONG", "Fill", "on_roots", "plan_of"]

F = TypeVar("F", bound=Callable[..., Any])

#: A list answer: a failed item is None.
LIST = "list"
#: A DataFrame with one row per item, indexed by segment ID: a failed item's row is NA.
FRAME = "frame"
#: A DataFrame of rows grouped by a ``segment_id`` column: a failed item has no rows.
LONG = "long"


@dataclass(frozen=True)
class Fill:
    """An array answer: a failed item holds ``value`` (NaN, 0, False)."""

    value: Any


Gap = str | Fill


def plan_of(handle: Any, errors: ErrorPolicy, *, resolve: bool = True) -> RootPlan:
    """The `RootPlan` of a segment list handle (its IDs, datastack and strictness)."""
    return plan_roots(handle._datastack, handle._ids, strict=getattr(handle, "_strict", False),
                      errors=errors, resolve=resolve)


def on_roots(gap: Gap, check: Callable[..., None] | None = None) -> Callable[[F], F]:
    """Wrap a [`SegmentList`][tracertools.segments.segment.SegmentList] method so it sees segments only.

    Args:
        gap: how a failed item appears in the method's answer (`LIST`, `FRAME`,
            `LONG` or a `Fill` for arrays).
        check: the method's own checks that need no request (config features, argument
            values), called with the method's arguments before the IDs are classed, so a bad
            argument is refused before anything is asked.
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def gated(self: Any, *args: Any, **kwargs: Any) -> Any:
            policy = check_error_policy(kwargs.get("errors", "raise"))
            if check is not None:
                check(self, *args, **kwargs)
            plan = plan_of(self, policy)
            if plan.identity:
                return method(self, *args, **kwargs)
            return _run_on_segments(self, method, plan, gap, policy, args, kwargs)

        return gated  # type: ignore[return-value]

    return decorate


def _run_on_segments(
    handle: Any, method: Callable[..., Any], plan: RootPlan, gap: Gap, policy: ErrorPolicy,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> Any:
    ids: npt.NDArray[np.uint64] = handle._ids
    labels = [int(v) for v in ids.tolist()]
    if plan.failures and policy == "raise":
        failures = dict(sorted(plan.failures.items()))
        raise BatchError(failures, labels) from next(iter(failures.values()))
    good = np.flatnonzero(plan.roots != 0)
    order = list(dict.fromkeys(int(r) for r in plan.roots[good].tolist()))
    slot = {root: j for j, root in enumerate(order)}
    take = np.full(ids.size, -1, dtype=np.int64)
    take[good] = [slot[int(r)] for r in plan.roots[good].tolist()]
    first_position: dict[int, int] = {}
    for pos in good.tolist():
        first_position.setdefault(int(take[pos]), pos)
    inner = type(handle)(handle._datastack, np.asarray(order, dtype=np.uint64))
    try:
        result = method(inner, *args, **kwargs)
    except BatchError as exc:  # positions in the segment list -> positions in the input
        moved = {first_position.get(k, k): e for k, e in exc.failures.items()}
        moved.update(plan.failures)
        moved = dict(sorted(moved.items()))
        raise BatchError(moved, labels) from exc.__cause__
    apply_error_policy(plan.failures, policy, labels, what="segment")
    return _spread(result, gap, take, ids, order)


def _spread(result: Any, gap: Gap, take: npt.NDArray[np.int64], ids: npt.NDArray[np.uint64],
            order: list[int]) -> Any:
    """The answer for the distinct segments, spread over the input positions."""
    have = take >= 0
    if isinstance(gap, Fill):
        values = np.asarray(result)
        out = np.full(take.size, gap.value, dtype=values.dtype)
        out[have] = values[take[have]]
        return out
    if gap == LIST:
        return [result[t] if t >= 0 else None for t in take.tolist()]
    if gap == FRAME:
        return _spread_frame(result, take, ids)
    if gap == LONG:
        return _spread_long(result, take, ids, order)
    raise AssertionError(f"unknown gap {gap!r}")  # pragma: no cover


def _spread_frame(result: pd.DataFrame, take: npt.NDArray[np.int64],
                  ids: npt.NDArray[np.uint64]) -> pd.DataFrame:
    import pandas as pd

    have = take >= 0
    complete = bool(have.all())
    columns: dict[Any, Any] = {}
    for col in result.columns:
        values = result[col].reset_index(drop=True)
        if complete:
            columns[col] = values.iloc[take].array
            continue
        if values.dtype.kind == "u":
            raw = values.to_numpy()
            arr = np.zeros(take.size, dtype=raw.dtype)
            arr[have] = raw[take[have]]
            columns[col] = arr
            continue
        spread = values.reindex(pd.Index(take)).reset_index(drop=True)
        if values.dtype.kind in "iu":
            spread = spread.astype("Int64")
        elif values.dtype.kind == "b":
            spread = spread.astype("boolean")
        columns[col] = spread.to_numpy() if spread.dtype.kind in "fO" else spread.array
    index: Any = pd.Index(ids, name=result.index.name or "segment_id")  # type: ignore[arg-type]
    frame = pd.DataFrame(columns, index=index)
    frame.columns = result.columns
    return frame


def _spread_long(result: pd.DataFrame, take: npt.NDArray[np.int64],
                 ids: npt.NDArray[np.uint64], order: list[int]) -> pd.DataFrame:
    import pandas as pd

    groups = {int(k): g for k, g in result.groupby("segment_id", sort=False)}  # type: ignore[arg-type]
    parts = []
    for pos, t in enumerate(take.tolist()):
        rows = groups.get(order[t]) if t >= 0 else None
        if rows is not None and len(rows):
            parts.append(rows.assign(segment_id=ids[pos]))
    out = pd.concat(parts, ignore_index=True) if parts else result.iloc[0:0].copy()
    out["segment_id"] = out["segment_id"].astype(np.uint64)
    return out[list(result.columns)]
