"""Neuroglancer: states, links, layers, colours and meshes from point annotations.

Lives here: the :class:`~tracertools.ngl.state.State` value and its records (``state``,
``records``), share-URL parsing and formatting (``urls``), layer and state building (``build``,
``colors``), the datastack's link methods (``links``: ``ds.link``, ``ds.state``, short links),
fetching stored states with the token sent only to the datastack's own services (``fetch``),
and meshes built from a state's point layers (``state_meshes``).

May import: :mod:`tracertools.cave` (the state service), :mod:`tracertools.geometry`,
:mod:`tracertools.storage`, :mod:`tracertools.config`, :mod:`tracertools.ids`,
:mod:`tracertools.batch`, :mod:`tracertools.errors`. It names the datastack only through the
:class:`~tracertools.cave.session.CaveSession` protocol.
"""

from __future__ import annotations

from tracertools.ngl.records import AnnotationSet, Layer
from tracertools.ngl.state import State, annotation_layer

__all__ = ["AnnotationSet", "Layer", "State", "annotation_layer"]
