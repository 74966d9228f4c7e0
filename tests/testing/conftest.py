"""Fixtures for the LocalCave tests: one server per session (from the tracertools plugin)."""

from __future__ import annotations

from typing import Any

import pytest

from tracertools.testing import LocalCave, World


@pytest.fixture(scope="module")
def cave_m(local_cave_session: LocalCave) -> LocalCave:
    """The session LocalCave, for module-scoped fixtures."""
    return local_cave_session


@pytest.fixture(scope="module")
def client(cave_m: LocalCave) -> Any:
    """One real CAVEclient per module (sub-clients and handshakes are cached in it)."""
    return cave_m.client()


@pytest.fixture
def cave(local_cave: LocalCave) -> LocalCave:
    """The session LocalCave, reset for this test."""
    return local_cave


@pytest.fixture(scope="module")
def world(cave_m: LocalCave) -> World:
    return cave_m.world


@pytest.fixture(autouse=True)
def _fresh_controls(local_cave_session: LocalCave) -> None:
    """Every test starts with default faults, empty counters and log (module clients included)."""
    local_cave_session.reset()


# -- the scale world (scale_world, scale_cave_session, scale_cave: tests/conftest.py) ----------


@pytest.fixture(scope="module")
def scale_client(scale_cave_session: Any) -> Any:
    """One real CAVEclient for the scale server per module."""
    return scale_cave_session.client()
