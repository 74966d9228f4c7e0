"""ScaleWorld's service limits: the server starts with them, and the per-token rate limit
answers 429 with Retry-After, counted in ``limit_hits``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tracertools.testing import LocalCave, ScaleWorld


@pytest.fixture
def limited() -> Iterator[LocalCave]:
    """A scale server with the world's default limits (10 requests/s per token)."""
    with LocalCave(world=ScaleWorld(seed=1), datastack_name="scale_limited") as cave:
        yield cave


def test_the_scale_server_starts_and_resets_with_real_service_limits(limited: LocalCave) -> None:
    f = limited.faults
    assert (f.rate_limit_per_s, f.rate_limit_burst, f.row_cap, f.body_limit_bytes) == (10.0, 10, 500_000, 10_000_000)
    limited.set_faults(rate_limit_per_s=None, row_cap=5)
    limited.reset()
    assert limited.faults.rate_limit_per_s == 10.0 and limited.faults.row_cap == 500_000


def test_hammering_gets_429_with_retry_after_and_each_is_counted(limited: LocalCave) -> None:
    limited.set_faults(rate_limit_per_s=1, rate_limit_burst=5)  # slow enough for any machine
    root = limited.world.neuron_root(5)
    url = f"{limited.url}/segmentation/api/v1/table/{limited.table_name}/is_latest_roots"
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {limited.token}"
        answers = [s.post(url, json={"node_ids": [root]}) for _ in range(30)]
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) >= 1 and 30 - len(refused) >= 5  # at least the burst got through
    assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    assert limited.limit_hits["rate_limited"] == len(refused)
    assert limited.stats["is_latest_roots"] == 30


def test_caveclient_waits_out_the_rate_limit(limited: LocalCave) -> None:
    limited.set_faults(rate_limit_per_s=4, rate_limit_burst=2)
    client = limited.client()
    root = limited.world.neuron_root(6)
    for _ in range(4):
        assert client.chunkedgraph.is_latest_roots([root]).tolist() == [True]
    assert limited.limit_hits["rate_limited"] >= 1  # refused, waited Retry-After, retried
