"""Every stand-in server answers a bare request in a few milliseconds.

A handler that writes headers and body as separate small packets with Nagle's algorithm on makes
each keep-alive request wait for the client's delayed ACK (about 40 ms on Linux loopback), so
every benchmark and test would pay that stall per request. These tests time a bare request to
each stand-in, over one kept-alive connection and over fresh connections, and want the median
well under the stall. The bound is generous (the machines running this are shared); the answer
is about 1 ms when nothing is wrong.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tracertools.geometry.viewer import serve_precomputed
from tracertools.testing import LocalCave
from tracertools.testing.sheets import LocalSheets

REQUESTS = 20
BOUND_MS = 15.0
"""Median per request, well under the ~40 ms delayed-ACK stall, generous for a busy machine."""


def _median_ms(url: str, path: str, headers: dict[str, str], *, keep_alive: bool) -> float:
    """Median wall time, in ms, of ``REQUESTS`` GETs of ``path`` (after one warm-up request)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    times = []
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for i in range(REQUESTS + 1):
            if not keep_alive:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - start
            assert response.status == 200, (response.status, body[:200])
            assert body
            if i:  # the first request opens the connection and warms the server up
                times.append(elapsed)
    finally:
        conn.close()
    return statistics.median(times) * 1000


@pytest.fixture(scope="module")
def sheets() -> Iterator[tuple[str, str]]:
    with LocalSheets() as server:
        key = server.create("latency", tabs={"Sheet1": [["a", "b"], ["1", "2"]]})
        yield server.url, f"/v4/spreadsheets/{key}"


@pytest.fixture(scope="module")
def precomputed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder: Path = tmp_path_factory.mktemp("volume")
    (folder / "info").write_text(json.dumps({"@type": "neuroglancer_multiscale_volume"}))
    with serve_precomputed(folder) as server:
        yield server.url, "/info"


@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "fresh-connections"])
def test_localcave_request_costs_a_few_milliseconds(cave: LocalCave, keep_alive: bool) -> None:
    path = f"/info/api/v2/datastack/full/{cave.datastack_name}"
    headers = {"Authorization": f"Bearer {cave.token}"}
    median = _median_ms(cave.url, path, headers, keep_alive=keep_alive)
    assert median < BOUND_MS, f"LocalCave: median {median:.1f} ms per request"


@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "fresh-connections"])
def test_localsheets_request_costs_a_few_milliseconds(sheets: tuple[str, str],
                                                      keep_alive: bool) -> None:
    url, path = sheets
    median = _median_ms(url, path, {}, keep_alive=keep_alive)
    assert median < BOUND_MS, f"LocalSheets: median {median:.1f} ms per request"


@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "fresh-connections"])
def test_precomputed_server_request_costs_a_few_milliseconds(precomputed: tuple[str, str],
                                                             keep_alive: bool) -> None:
    url, path = precomputed
    median = _median_ms(url, path, {}, keep_alive=keep_alive)
    assert median < BOUND_MS, f"precomputed server: median {median:.1f} ms per request"


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    pytest.importorskip("moto")
    from tracertools.testing.s3 import LocalS3

    with LocalS3(buckets=["latency-check"], alias="latencycheck") as server:
        yield server.endpoint


@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "fresh-connections"])
def test_locals3_request_costs_a_few_milliseconds(s3: str, keep_alive: bool) -> None:
    median = _median_ms(s3, "/latency-check", {}, keep_alive=keep_alive)
    assert median < BOUND_MS, f"LocalS3: median {median:.1f} ms per request"
