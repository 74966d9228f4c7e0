"""Shared fixtures of the reliability suite: a 500-ID batch, 500 points and short timeouts.

The LocalCave world has 45 root IDs (10 current, 35 stale); the 500-ID batch cycles through
all of them, so it mixes fresh and stale IDs and repeats each about eleven times. The 500
points are 450 voxels inside neurons and 50 random voxels (mostly background).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from _reliability import TEST_TIMEOUT_S

from tracertools.testing import LocalCave


@pytest.fixture(scope="module")
def short_timeouts() -> Iterator[float]:
    """Clients built in this module time out after ``TEST_TIMEOUT_S`` seconds."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACERTOOLS_HTTP_TIMEOUT", str(TEST_TIMEOUT_S))
        mp.setenv("TRACERTOOLS_PROGRESS", "0")
        yield TEST_TIMEOUT_S


@pytest.fixture(scope="module")
def cave_m(local_cave_session: LocalCave) -> LocalCave:
    """The session LocalCave, for module-scoped fixtures (reset before use)."""
    local_cave_session.reset()
    return local_cave_session


@pytest.fixture(scope="module")
def roots(cave_m: LocalCave) -> list[int]:
    """Every root ID the world ever had (fresh and stale)."""
    return [int(r) for r in cave_m.world.all_roots()]


@pytest.fixture(scope="module")
def ids500(roots: list[int]) -> list[int]:
    """500 IDs cycling through every root of the world."""
    return [roots[i % len(roots)] for i in range(500)]


@pytest.fixture(scope="module")
def points500(cave_m: LocalCave) -> np.ndarray:
    """500 points in viewer voxels: 450 inside neurons, 50 anywhere in the volume."""
    world = cave_m.world
    rng = np.random.default_rng(0)
    inside = np.argwhere(world.svs.labels > 0)
    picked = inside[rng.choice(len(inside), 450, replace=False)]
    anywhere = rng.integers(0, world.shape, size=(50, 3))
    return np.array([world.seg_to_viewer(v) for v in np.vstack([picked, anywhere])])
