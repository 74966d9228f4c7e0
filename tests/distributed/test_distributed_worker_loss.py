"""A worker process killed in the middle of a batch loses nothing: its tasks run again."""

from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
from _cluster import local_cluster

#: Added to every LocalCave request, so the batch is still running when a worker is killed.
LATENCY_S = 0.05
#: Requests LocalCave must have seen from the workers before one is killed.
STARTED_AFTER = 5


def test_a_worker_killed_mid_run_loses_nothing(local_cave):
    from distributed import Client

    current = [int(r) for r in local_cave.world.latest_roots_now()]
    serial = local_cave.datastack().segments(current).triage(progress=False)
    local_cave.set_latency(LATENCY_S)
    outcome: dict[str, object] = {}
    with local_cluster(local_cave.token) as cluster, Client(cluster) as client:
        victim = next(iter(client.run(os.getpid).values()))
        segs = local_cave.datastack().segments(current)

        def run() -> None:
            try:
                outcome["frame"] = segs.triage(executor=client, chunk_size=1, progress=False)
            except Exception as exc:  # reported below, in the test's thread
                outcome["error"] = exc

        local_cave.stats.reset()
        batch = threading.Thread(target=run, name="batch", daemon=True)
        batch.start()
        deadline = time.monotonic() + 60
        while local_cave.stats.total < STARTED_AFTER and batch.is_alive():
            assert time.monotonic() < deadline, "the workers never reached LocalCave"
            time.sleep(0.01)
        assert batch.is_alive(), "the batch finished before a worker could be killed"
        os.kill(victim, signal.SIGKILL)
        batch.join(timeout=90)
        assert not batch.is_alive(), "the batch did not finish after the worker was killed"
    assert "error" not in outcome, outcome.get("error")
    pd.testing.assert_frame_equal(outcome["frame"], serial)
