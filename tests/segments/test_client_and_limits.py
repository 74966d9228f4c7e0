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


def test_concurrent_first_use_of_a_service_sends_its_handshake_once(local_cave, current):
    ds = local_cave.datastack()
    _ = ds.client  # the info requests, outside the count
    local_cave.stats.reset()
    barrier = threading.Barrier(8)
    fresh: list[bool] = []

    def ask(root: int) -> None:
        barrier.wait()
        fresh.append(ds.segment(root).is_fresh())

    threads = [threading.Thread(target=ask, args=(current[i % len(current)],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fresh == [True] * 8
    assert local_cave.stats["cg_version"] == 1
    assert local_cave.stats["cg_api_versions"] == 1
    assert local_cave.stats["is_latest_roots"] == 8


def _most_at_once(entries, slack_s: float = 0.005) -> int:
    """The largest number of logged requests the server was answering at the same moment.

    Each request counts from its start to ``slack_s`` before the server logged it: the log is
    written just after the answer is sent, when the client may already send its next request.
    """
    edges = sorted([(e.time - e.duration_s, 1) for e in entries]
                   + [(e.time - slack_s, -1) for e in entries])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_one_worker_budget_bounds_every_batch_of_a_session_together(local_cave, world):
    roots = [int(r) for r in world.all_roots()][:20]
    ds = local_cave.datastack(max_workers=2)
    _ = ds.client.chunkedgraph, ds.client.skeleton  # handshakes outside the log
    local_cave.reset()  # counters and log
    local_cave.set_latency(0.02)
    found: dict[str, list] = {}
    batches = {  # two batches at once, on two services, each many requests
        "original_ids": lambda: ds.segments(roots).original_ids(progress=False),
        "skeletons": lambda: ds.segments(roots).skeletons(progress=False),
    }

    def run(name: str) -> None:
        found[name] = batches[name]()

    threads = [threading.Thread(target=run, args=(name,)) for name in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = list(local_cave.request_log)
    local_cave.reset()
    assert [list(o) for o in found["original_ids"]] == [list(world.original_roots(r))
                                                         for r in roots]
    assert [s.cable_length() for s in found["skeletons"]] == pytest.approx(
        [world.cable_length(r) for r in roots])
    assert _most_at_once(entries) <= 2


def test_service_calls_of_one_session_share_one_budget(local_cave):
    """However many threads call, at most ``max_workers`` calls of a session run at once."""
    import time

    ds = local_cave.datastack(max_workers=3)
    running, most = [0], [0]
    lock = threading.Lock()

    def call() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    threads = [threading.Thread(target=ds.cave.call, args=(f"call {i}", call)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 3


def test_the_worker_budget_must_be_a_positive_int(local_cave):
    from tracertools.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        local_cave.datastack(max_workers=0)


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
