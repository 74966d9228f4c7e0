"""One shared client per datastack, and request sizes that stay under the service's limits."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tracertools.testing import LocalCave


def test_concurrent_first_use_builds_exactly_one_client(local_cave):
    ds = local_cave.datastack()
    local_cave.stats.reset()
    clients = []
    barrier = threading.Barrier(8, timeout=30)  # a thread that never arrives fails the rest

    def grab() -> None:
        barrier.wait()
        clients.append(ds.client)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in clients}) == 1
    assert local_cave.stats["datastack_info"] == 1


@pytest.fixture(scope="module")
def huge_cave():
    with LocalCave(huge_neuron=True, datastack_name="demo_huge") as cave:
        yield cave


def test_the_huge_neuron_has_over_a_million_supervoxels(huge_cave):
    root = huge_cave.world.huge_root
    svs = huge_cave.datastack().segment(root).supervoxels()
    assert svs.size > 1_000_000
    assert np.array_equal(np.sort(svs), np.sort(huge_cave.world.supervoxels(root)))


def test_roots_of_a_million_supervoxels_stay_under_the_body_limit(huge_cave):
    ds = huge_cave.datastack()
    root = huge_cave.world.huge_root
    svs = ds.segment(root).supervoxels()
    huge_cave.stats.reset()
    roots = ds.segments_of_supervoxels(svs)
    assert np.all(roots == root)
    assert huge_cave.stats["roots_binary"] >= 2  # chunked by bytes
    statuses = {entry.status for entry in huge_cave.request_log}
    assert 413 not in statuses
