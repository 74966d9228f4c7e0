"""Segment handles: [`Segment`][tracertools.segments.segment.Segment] and [`SegmentList`][tracertools.segments.segment.SegmentList] and their method groups.

Lives here: the two handles (``segment``) and one mixin module per group of methods:
``history`` (change logs, edits, per-user credit), ``metrics`` (volumes, synapse counts,
proofreading status), ``skeletons`` (skeletons and cable lengths), ``views`` (mesh crossings,
swamp triage, show/render) and ``links`` (neuroglancer links of segments); the gate that classes
and resolves a list's IDs before a method runs (``roots``) and the datastack's messy-ID-list
methods (``id_lists``). A new method goes in the group it belongs to, written once on the list
class; the singular form takes the first item.

May import: `tracertools.ngl`, `tracertools.cave`, `tracertools.geometry`,
`tracertools.storage`, `tracertools.config`, [`tracertools.ids`][tracertools.ids],
[`tracertools.batch`][tracertools.batch], [`tracertools.errors`][tracertools.errors]. It names the datastack only through the
`SegmentSession` protocol.
"""

from __future__ import annotations

from tracertools.errors import hint_on_call
from tracertools.ids import Candidate
from tracertools.segments.segment import Segment, SegmentList

__all__ = ["Candidate", "Segment", "SegmentList"]

hint_on_call(__name__, "Segments belong to a datastack: tt.Datastack(name).segments(ids).")
