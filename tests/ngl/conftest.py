"""Fixtures for the neuroglancer tests: LocalCave sessions and neuroglancer's own state model."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

import pytest


def _touch(obj: Any) -> None:
    """Read every property of neuroglancer's wrappers, so each value is parsed and checked."""
    from neuroglancer import json_wrappers, viewer_state

    if isinstance(obj, viewer_state.Layers):
        for layer in obj:
            _touch(layer)
    elif isinstance(obj, viewer_state.ManagedLayer):
        _touch(obj.layer)
    elif isinstance(obj, json_wrappers.JsonObjectWrapper):
        for name, _ in inspect.getmembers(type(obj), lambda p: isinstance(p, property)):
            _touch(getattr(obj, name))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _touch(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            _touch(item)


def load_in_neuroglancer(state: dict[str, Any]) -> dict[str, Any]:
    """Load ``state`` into neuroglancer's ``ViewerState`` model, read every field, and return
    its JSON (raises if neuroglancer refuses a value)."""
    import neuroglancer

    model = neuroglancer.ViewerState(json_data=copy.deepcopy(state))
    _touch(model)
    return model.to_json()


@pytest.fixture
def neuroglancer_loads() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """:func:`load_in_neuroglancer`, as a fixture."""
    return load_in_neuroglancer


@pytest.fixture
def world(local_cave):
    return local_cave.world


@pytest.fixture
def ds(local_cave):
    return local_cave.datastack()
