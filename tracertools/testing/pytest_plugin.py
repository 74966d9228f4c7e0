"""pytest plugin: LocalCave and LocalSheets fixtures, for test suites that ask for them.

Opt in with one line in your suite's top-level ``conftest.py``::

    pytest_plugins = ["tracertools.testing.pytest_plugin"]

Installing tracertools does not load it into other pytest runs. It imports nothing heavy at
import time; LocalCave is imported inside the fixtures.

Fixtures:
    local_cave_session: one LocalCave (seed 0, 8 neurons, datastack "demo") per session.
    local_cave: the session server, with counters, log, faults, latency and stored states
        reset before each test.
    local_cave_client: a real ``caveclient.CAVEclient`` for ``local_cave``.
    local_sheets: a LocalSheets (Sheets v4 stand-in) for one test, made the default
        credentials meanwhile (``Sheet(key)`` and the legacy ``gsheet_*`` shims talk to it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tracertools.testing.localcave import LocalCave


@pytest.fixture(scope="session")
def local_cave_session() -> Iterator[LocalCave]:
    """A LocalCave shared by the whole test session (started lazily, stopped at the end)."""
    from tracertools.testing.localcave import LocalCave

    cave = LocalCave()
    cave.start()
    try:
        yield cave
    finally:
        cave.stop()


@pytest.fixture
def local_cave(local_cave_session: LocalCave) -> LocalCave:
    """The session LocalCave with its controls and state store reset for this test."""
    local_cave_session.reset()
    return local_cave_session


@pytest.fixture
def local_cave_client(local_cave: LocalCave) -> Any:
    """A caveclient.CAVEclient talking to ``local_cave``."""
    return local_cave.client()


@pytest.fixture
def local_sheets() -> Iterator[Any]:
    """A running LocalSheets for one test, the default Sheets credentials meanwhile."""
    from tracertools.testing.sheets import LocalSheets

    with LocalSheets() as server, server.as_default():
        yield server
