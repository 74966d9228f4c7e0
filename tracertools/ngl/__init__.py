"""Neuroglancer: states, links, layers, colours and meshes from point annotations.

Lives here: the [`State`][tracertools.ngl.state.State] value and its records (``state``,
``records``), share-URL parsing and formatting (``urls``), layer and state building (``build``,
``colors``), the datastack's link methods (``links``: ``ds.link``, ``ds.state``, short links),
fetching stored states with the token sent only to the datastack's own services (``fetch``),
and meshes built from a state's point layers (``state_meshes``).

May import: `tracertools.cave` (the state service), `tracertools.geometry`,
`tracertools.storage`, `tracertools.config`, [`tracertools.ids`][tracertools.ids],
[`tracertools.batch`][tracertools.batch], [`tracertools.errors`][tracertools.errors]. It names the datastack only through the
`CaveSession` protocol.
"""

from __future__ import annotations

from tracertools.ngl.records import AnnotationSet, Layer
from tracertools.ngl.state import State, annotation_layer

__all__ = ["AnnotationSet", "Layer", "State", "annotation_layer"]
