"""Neuroglancer methods of Datastack: links, short links, states and meshes from points."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import DatastackConfig


class DatastackLinksMixin:
    """Neuroglancer methods of :class:`~tracertools.datastack.Datastack`."""

    _name: str
    _config: DatastackConfig
