"""Fixtures for the LocalCave tests: one server per session (from the tracertools plugin)."""

from __future__ import annotations

from collections.abc import Iterator
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


# -- the scale world ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scale_world() -> Any:
    """One ScaleWorld (seed 0, 100,000 neurons) for the session; no rate limit, so tests that
    are not about it never wait on 429s (the limit's own tests start their own server)."""
    from tracertools.testing import ScaleWorld

    return ScaleWorld(seed=0, rate_limit_per_s=None)


@pytest.fixture(scope="session")
def scale_cave_session(scale_world: Any) -> Iterator[Any]:
    from tracertools.testing import LocalCave

    with LocalCave(world=scale_world, datastack_name="scale_tests") as cave:
        yield cave


@pytest.fixture
def scale_cave(scale_cave_session: Any) -> Any:
    """The session scale server, with counters, limits and faults reset for this test."""
    scale_cave_session.reset()
    return scale_cave_session


@pytest.fixture(scope="module")
def scale_client(scale_cave_session: Any) -> Any:
    """One real CAVEclient for the scale server per module."""
    return scale_cave_session.client()
