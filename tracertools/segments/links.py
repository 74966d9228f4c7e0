"""Neuroglancer link methods of Segment and SegmentList: links and edits links.

An *edits link* shows a segment's whole edit history: every merge and split as a line from
the first (merge) or mean (split) source point to the sink point, in viewer voxels, the
segment in cyan and its largest original ancestor in red, both slightly translucent so the
lines inside show. Each line's description names the kind of edit, the user and the operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.ngl.urls import long_url
from tracertools.segments.base import OneSegment

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.segments.session import SegmentSession

#: Colour of the segment itself, and of its largest original ancestor, in edits links.
CURRENT_COLOR = "#00ffff"
ORIGINAL_COLOR = "#ff0000"


def _edit_layers(ds: SegmentSession, rows: pd.DataFrame, separate: bool) -> list[dict[str, Any]]:
    """Line layers of one segment's edits: unlinked and linked to the edited segments.

    ``separate`` splits them into ``Merges`` / ``Linked Merges`` (cyan) and ``Splits`` /
    ``Linked Splits`` (red); otherwise ``Edits`` and ``Linked Edits``.
    """
    usable = rows[np.array([p is not None for p in rows["point_coords"]], dtype=bool)]
    groups: list[tuple[str, Any, str | None]]
    if separate:
        merges = usable["is_merge"].to_numpy(dtype=bool)
        groups = [("Merges", usable[merges], CURRENT_COLOR),
                  ("Splits", usable[~merges], ORIGINAL_COLOR)]
    else:
        groups = [("Edits", usable, None)]
    layers = []
    for name, part, color in groups:
        lines = [list(p) for p in part["point_coords"]]
        descriptions = [
            f"{'Merge' if merge else 'Split'} by user {user}, Operation ID: {op}"
            for merge, user, op in zip(part["is_merge"], part["user"], part["operation_id"],
                                       strict=True)
        ]
        pairs = [[int(s) for s in pair] for pair in part["seg_pair"]]
        layers.append(ds.annotation_layer(name, lines, "line", descriptions=descriptions,
                                          color=color))
        layers.append(ds.annotation_layer(f"Linked {name}", lines, "line",
                                          descriptions=descriptions, linked_segments=pairs))
    return layers


class LinksListMixin:
    """Neuroglancer link methods of [`SegmentList`][tracertools.segments.segment.SegmentList]."""
    __slots__ = ()
    _datastack: SegmentSession
    _ids: npt.NDArray[np.uint64]

    def link(self, **options: Any) -> str:
        """A link selecting these segments; options as `Datastack.link()`."""
        return self._datastack.link(self._ids, **options)

    def edits_states(
        self, *, separate_layers: bool = False, viewer_site: str | None = None
    ) -> list[dict[str, Any]]:
        """The state of each segment's edits link, in input order (see `edits_links()`)."""
        from tracertools.segments.segment import SegmentList  # lazy: segment.py imports this mixin

        ds = self._datastack
        unique = SegmentList(ds, self._ids).unique()
        frame = unique.edits()
        originals = dict(zip(unique.ids.tolist(), unique.largest_original_ids().tolist(),
                             strict=True))
        states: dict[int, dict[str, Any]] = {}
        for seg in unique.ids.tolist():
            rows = frame[frame["segment_id"] == np.uint64(seg)]
            original = originals[seg]
            segments = [seg] if original == seg else [seg, original]
            states[seg] = ds.state_for(
                segments,
                annotation_layers=_edit_layers(ds, rows, separate_layers),
                segment_colors=[CURRENT_COLOR, ORIGINAL_COLOR][: len(segments)],
                translucent=True,
                viewer_site=viewer_site,
            )
        return [states[seg] for seg in self._ids.tolist()]

    def edits_links(
        self,
        *,
        separate_layers: bool = False,
        viewer_site: str | None = None,
        short: bool = True,
    ) -> list[str]:
        """A link per segment showing every edit in its history, in input order.

        Requests for the whole list: the edits (change logs and operation details, batched),
        the largest original ancestors, then one state upload per segment for short links.

        Args:
            separate_layers: merges and splits in separate layers (``Merges``, ``Linked
                Merges``, ``Splits``, ``Linked Splits``) rather than ``Edits`` and
                ``Linked Edits``. The ``Linked`` layers link each line to the segments of its
                edit (a merge: the two merged; a split: the two created).
            viewer_site: the viewer; default ``config.viewer.site_url``.
            short: short links (stored states) rather than long ones.

        A never-edited segment gets a link with just itself and empty edit layers.
        """
        ds = self._datastack
        site = viewer_site or ds.config.require("viewer.site_url", "edits links")
        states = self.edits_states(separate_layers=separate_layers, viewer_site=site)
        if not short:
            return [long_url(state, site) for state in states]
        made: dict[str, str] = {}
        out = []
        for seg, state in zip(self._ids.tolist(), states, strict=True):
            key = str(seg)
            if key not in made:
                made[key] = ds.shorten(state, viewer_site=site)
            out.append(made[key])
        return out


class LinksSegmentMixin(OneSegment):
    """Neuroglancer link methods of [`Segment`][tracertools.segments.segment.Segment]."""
    __slots__ = ()
    _datastack: SegmentSession
    _id: int


    def link(self, **options: Any) -> str:
        """A link selecting this segment; options as `Datastack.link()`."""
        return self._datastack.link([self._id], **options)

    def edits_state(
        self, *, separate_layers: bool = False, viewer_site: str | None = None
    ) -> dict[str, Any]:
        """The state of `edits_link()`, as a JSON-compatible dict."""
        return self.as_list().edits_states(separate_layers=separate_layers,
                                           viewer_site=viewer_site)[0]

    def edits_link(
        self,
        *,
        separate_layers: bool = False,
        viewer_site: str | None = None,
        short: bool = True,
    ) -> str:
        """A link showing every merge and split in this segment's history.

        The segment is cyan (``#00ffff``), its largest original ancestor red (``#ff0000``),
        both translucent; each edit is a line annotation in viewer voxels described as
        ``"Merge by user U, Operation ID: O"``. See `SegmentList.edits_links()`.
        """
        return self.as_list().edits_links(separate_layers=separate_layers,
                                          viewer_site=viewer_site, short=short)[0]

