"""Pictures of what segment methods return: edit histories, credit, details, skeletons.

Each plot takes the table or values a [`SegmentList`][tracertools.segments.segment.SegmentList]
method returns, draws with matplotlib (the optional ``plots`` extra), and returns the
``matplotlib.figure.Figure``. Pass ``ax=`` to draw into axes of your own; otherwise a new figure
is made with pyplot (so notebooks show it inline). No plot makes a request.

* [`edit_history()`][tracertools.segments.plots.edit_history]: cumulative merges (solid) and splits (dashed) per user over time, from
  `SegmentList.changelogs()` (or ``Segment.changelog()``);
* [`user_credit()`][tracertools.segments.plots.user_credit]: supervoxels credited to each user, stacked by segment, from
  `SegmentList.user_contributions()` (or ``Segment.user_contributions()``);
* [`details_distributions()`][tracertools.segments.plots.details_distributions]: histograms of a details table's columns, from
  [`SegmentList.details()`][tracertools.segments.segment.SegmentList.details];
* [`skeletons()`][tracertools.segments.plots.skeletons]: skeletons projected on a plane, in µm;
* [`skeleton_picture()`][tracertools.segments.plots.skeleton_picture]: the offscreen VTK render
  ([`tracertools.geometry.viewer.render()`][tracertools.geometry.viewer.render]) as a picture a notebook shows inline.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracertools.errors import InvalidInputError, MissingDependencyError
from tracertools.geometry.skeleton import Skeleton

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DETAIL_COLUMNS",
    "Picture",
    "details_distributions",
    "edit_history",
    "skeleton_picture",
    "skeletons",
    "user_credit",
]

#: Columns `details_distributions` draws by default, with their axis labels and the
#: factor from the table's unit to the label's.
DETAIL_COLUMNS: dict[str, tuple[str, float]] = {
    "volume_um3": ("volume (µm³)", 1.0),
    "cable_length_nm": ("cable length (µm)", 1e-3),
    "total_syn": ("synapses", 1.0),
}
_PLANES = {"xy": (0, 1), "xz": (0, 2), "yz": (1, 2)}


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError(
            "matplotlib is not installed; install the extra: pip install 'tracertools[plots]'"
        ) from exc
    return plt


def _axes(ax: Axes | None, **figure: Any) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new = _pyplot().subplots(**figure)
    return fig, new


def _need_columns(frame: Any, columns: Iterable[str], what: str) -> None:
    have = set(getattr(frame, "columns", ()))
    missing = [c for c in columns if c not in have]
    if missing:
        raise InvalidInputError(f"{what} needs columns {missing}; got {sorted(map(str, have))}")


def edit_history(changelog: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Cumulative merges (solid) and splits (dashed) per user over time.

    Each operation counts once, even when several segments of the log share it. Lines are
    labelled ``"<user> merges"`` / ``"<user> splits"`` (the user name when the log has one,
    else the user ID), one colour per user.

    Args:
        changelog: a change log with ``operation_id``, ``timestamp``, ``user_id`` and
            ``is_merge`` (as `SegmentList.changelogs()` returns).
        ax: axes to draw into; default a new figure.
    """
    import pandas as pd

    _need_columns(changelog, ("operation_id", "timestamp", "user_id", "is_merge"), "edit_history")
    ops = changelog.drop_duplicates("operation_id").sort_values(["timestamp", "operation_id"])
    fig, ax = _axes(ax, figsize=(8, 4))
    colours = _pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
    users = sorted(ops["user_id"].astype(str).unique(), key=lambda u: (not u.isdigit(), u.zfill(20)))
    for k, user in enumerate(users):
        mine = ops[ops["user_id"].astype(str) == user]
        name = user
        if "user_name" in mine.columns and isinstance(mine["user_name"].iloc[0], str):
            name = mine["user_name"].iloc[0] or user
        for merge, style, word in ((True, "-", "merges"), (False, "--", "splits")):
            times = pd.to_datetime(mine.loc[mine["is_merge"] == merge, "timestamp"], utc=True)
            if len(times) == 0:
                continue
            ax.step(list(times), np.arange(1, len(times) + 1), where="post", linestyle=style,
                    color=colours[k % len(colours)], label=f"{name} {word}")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("edits (cumulative)")
    ax.set_title(f"Edit history: {int(ops['is_merge'].sum())} merges, "
                 f"{int((~ops['is_merge'].astype(bool)).sum())} splits")
    if len(ops):
        ax.legend(fontsize="small", ncols=2)
    fig.autofmt_xdate()
    return fig


def user_credit(contributions: pd.DataFrame | pd.Series, *, ax: Axes | None = None,
                top: int | None = None) -> Figure:
    """Supervoxels credited to each user, as horizontal bars stacked by segment.

    Args:
        contributions: `SegmentList.user_contributions()` (segments × users) or
            ``Segment.user_contributions()`` (a Series by user). Missing values count 0.
        ax: axes to draw into; default a new figure.
        top: only the ``top`` users with the most supervoxels.

    Users are sorted by their total, largest at the top; each bar's label is the user ID.
    """
    import pandas as pd

    table = contributions.to_frame().T if isinstance(contributions, pd.Series) else contributions
    if not isinstance(table, pd.DataFrame):
        raise InvalidInputError("user_credit takes user_contributions() (a DataFrame or Series)")
    table = table.astype("Float64").fillna(0).astype(float)
    totals = table.sum(axis=0).sort_values(ascending=True, kind="stable")
    if top is not None:
        totals = totals.iloc[-int(top):] if top > 0 else totals.iloc[:0]
    users = [str(u) for u in totals.index]
    fig, ax = _axes(ax, figsize=(7, 0.4 * max(len(users), 3) + 1))
    left = np.zeros(len(users))
    for segment, row in table[totals.index].iterrows():
        values = row.to_numpy(dtype=float)
        ax.barh(users, values, left=left, label=str(segment))
        left += values
    ax.set_xlabel("supervoxels credited")
    ax.set_ylabel("user")
    ax.set_title("Supervoxel credit per user")
    if 1 < len(table) <= 10:
        ax.legend(title="segment", fontsize="small")
    return fig


def details_distributions(details: pd.DataFrame, *, columns: Sequence[str] | None = None,
                          ax: Axes | Sequence[Axes] | None = None, bins: int = 20) -> Figure:
    """Histograms of a details table's columns, one panel each (NaN values left out).

    Args:
        details: [`SegmentList.details()`][tracertools.segments.segment.SegmentList.details] (or any table with the columns).
        columns: the columns to draw; default ``volume_um3``, ``cable_length_nm`` (drawn in
            µm) and ``total_syn``, those present.
        ax: one Axes per column (a single Axes for a single column); default a new figure.
        bins: histogram bins per panel.
    """
    chosen = list(columns) if columns is not None else [c for c in DETAIL_COLUMNS if c in details]
    if not chosen:
        raise InvalidInputError("details_distributions has no column to draw")
    _need_columns(details, chosen, "details_distributions")
    if ax is None:
        fig, made = _pyplot().subplots(1, len(chosen), figsize=(4 * len(chosen), 3.2),
                                       squeeze=False)
        axes = list(made[0])
    else:
        axes = [ax] if not isinstance(ax, Sequence) else list(ax)
        if len(axes) != len(chosen):
            raise InvalidInputError(f"{len(chosen)} columns need {len(chosen)} axes, got {len(axes)}")
        fig = axes[0].figure  # type: ignore[assignment]
    for panel, column in zip(axes, chosen, strict=True):
        label, factor = DETAIL_COLUMNS.get(column, (column, 1.0))
        values = details[column].to_numpy(dtype=float) * factor
        values = values[np.isfinite(values)]
        panel.hist(values, bins=bins, color="#4c72b0", edgecolor="white")
        panel.set_xlabel(label)
        panel.set_ylabel("segments")
        panel.set_title(f"{label} (n={len(values)})", fontsize="medium")
    fig.tight_layout()
    return fig


def skeletons(items: Skeleton | Iterable[Skeleton | None], *, ax: Axes | None = None,
              plane: str = "xy", linewidth: float = 1.0) -> Figure:
    """Skeletons drawn as their bones projected on a plane, in µm, one colour each.

    Args:
        items: a Skeleton or many (``None`` items, as failed fetches leave, are skipped).
        ax: axes to draw into; default a new figure.
        plane: ``"xy"`` (neuroglancer's view), ``"xz"`` or ``"yz"``.
        linewidth: line width in points.
    """
    from matplotlib.collections import LineCollection

    if plane not in _PLANES:
        raise InvalidInputError(f"plane must be 'xy', 'xz' or 'yz', got {plane!r}")
    listed = [items] if isinstance(items, Skeleton) else [s for s in items if s is not None]
    if not all(isinstance(s, Skeleton) for s in listed):
        raise InvalidInputError("skeletons() draws Skeleton values")
    a, b = _PLANES[plane]
    fig, ax = _axes(ax, figsize=(6, 6))
    colours = _pyplot().rcParams["axes.prop_cycle"].by_key()["color"]
    for k, sk in enumerate(listed):
        bones = sk.bones()[:, :, [a, b]] / 1000.0
        label = str(sk.segment_id) if sk.segment_id is not None else f"skeleton {k}"
        ax.add_collection(LineCollection(list(bones), colors=colours[k % len(colours)],
                                         linewidths=linewidth, label=label))
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_xlabel(f"{plane[0]} (µm)")
    ax.set_ylabel(f"{plane[1]} (µm)")
    if plane[1] == "y":
        ax.invert_yaxis()  # as neuroglancer shows y: downwards
    if 1 < len(listed) <= 10:
        ax.legend(fontsize="small")
    return fig


class Picture:
    """A PNG that notebooks show inline (``_repr_png_``); ``save(path)`` writes it."""

    def __init__(self, png: bytes) -> None:
        self.png = bytes(png)

    def _repr_png_(self) -> bytes:
        return self.png

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(self.png)
        return out

    def __repr__(self) -> str:
        return f"Picture({len(self.png):,} bytes of PNG)"


def skeleton_picture(items: Any, **render_options: Any) -> Picture:
    """The offscreen VTK render of skeletons, for a notebook to show inline.

    Takes what [`tracertools.geometry.viewer.render()`][tracertools.geometry.viewer.render] takes (``size``, ``colormap``,
    ``style``, ``azimuth``, ``meshes``, ...), without the path.

    Raises:
        RenderingUnavailableError: no offscreen OpenGL for VTK on this machine.
    """
    from tracertools.geometry.viewer import render

    with tempfile.TemporaryDirectory(prefix="tracertools-render-") as folder:
        path = render(items, Path(folder) / "skeletons.png", **render_options)
        return Picture(path.read_bytes())
