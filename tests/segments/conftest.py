"""Shared fixtures for the segment tests: LocalCave's world, a datastack on it, current roots."""

from __future__ import annotations

import pytest


@pytest.fixture
def world(local_cave):
    """The ground truth of the session's LocalCave."""
    return local_cave.world


@pytest.fixture
def ds(local_cave):
    """A fresh Datastack (empty caches) bound to the session's LocalCave."""
    return local_cave.datastack()


@pytest.fixture
def current(world):
    """Every current root of the world, as ints."""
    return [int(r) for r in world.latest_roots_now()]


@pytest.fixture
def stale(world):
    """Every stale root of the world, as ints."""
    latest = set(world.latest_roots_now().tolist())
    return [int(r) for r in world.all_roots().tolist() if int(r) not in latest]
