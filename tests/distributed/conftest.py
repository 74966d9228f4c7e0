"""A dask LocalCluster of two worker processes for the executor tests, closed after its module.

Workers are separate processes: a LocalCave registered in the test process is unknown to them,
so they rebuild each datastack from its pickled config and read the token from their own
environment (``$TRACERTOOLS_CAVE_TOKEN``, set here for the workers only).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _cluster import local_cluster


@pytest.fixture(scope="module")
def client(local_cave_session) -> Iterator[Any]:
    """A ``distributed.Client`` on a two-process LocalCluster that can reach the LocalCave."""
    from distributed import Client

    with local_cluster(local_cave_session.token) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture
def ds(local_cave):
    """A fresh Datastack (empty caches) bound to the session's LocalCave."""
    return local_cave.datastack()


@pytest.fixture
def current(local_cave):
    """Every current root of the world, as ints."""
    return [int(r) for r in local_cave.world.latest_roots_now()]


@pytest.fixture
def world_stale(local_cave):
    """Every stale root of the world, as ints."""
    latest = set(local_cave.world.latest_roots_now().tolist())
    return [int(r) for r in local_cave.world.all_roots().tolist() if int(r) not in latest]
