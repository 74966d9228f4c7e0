"""Start-up time of LocalCave's default world (target: < 3 s on a 2-core machine), and its
own cost per request.

Run as a script (never from the test suite)::

    python benchmarks/localcave_startup.py            # prints, updates docs/performance.md
    python benchmarks/localcave_startup.py --no-docs  # prints only

Prints, for a fresh process:

* import time of ``tracertools.testing.LocalCave`` (with numpy/pandas);
* time to build the default world and start serving (cold, uncached);
* time to start a second LocalCave with the same parameters (world cached in-process);
* time to a first answered caveclient call;
* the same for ``huge_neuron=True``;
* LocalCave's own cost per request with no added latency: the median of 50 bare requests,
  over one kept-alive connection and over a new connection each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _perfdoc import machine, request_floor_ms, write_section  # noqa: E402


def _fresh_connections_ms(url: str, headers: dict[str, str], n: int = 50) -> float:
    """Median ms of ``n`` GETs, each on a new connection."""
    import requests

    times = []
    for _ in range(n):
        start = time.perf_counter()
        with requests.Session() as session:
            session.get(url, headers=headers).raise_for_status()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-docs", action="store_true", help="do not update performance.md")
    args = parser.parse_args(argv)
    facts = machine()

    t0 = time.perf_counter()
    from tracertools.testing import LocalCave

    LocalCave.__name__  # noqa: B018 - resolve the lazy import
    t_import = time.perf_counter() - t0

    t1 = time.perf_counter()
    cave = LocalCave().start()
    t_cold = time.perf_counter() - t1

    t2 = time.perf_counter()
    client = cave.client()
    client.chunkedgraph.is_latest_roots([cave.world.neuron_root(0)])
    t_first = time.perf_counter() - t2

    url = f"{cave.url}/info/api/v2/datastack/full/{cave.datastack_name}"
    auth = {"Authorization": f"Bearer {cave.token}"}
    floor_kept = request_floor_ms(url, auth)
    floor_fresh = _fresh_connections_ms(url, auth)
    cave.stop()

    t3 = time.perf_counter()
    warm = LocalCave(datastack_name="bench_warm").start()
    t_warm = time.perf_counter() - t3
    warm.stop()

    t4 = time.perf_counter()
    huge = LocalCave(huge_neuron=True, datastack_name="bench_huge").start()
    t_huge = time.perf_counter() - t4
    huge.stop()

    lines = [
        f"import tracertools.testing.LocalCave : {t_import:6.2f} s",
        f"default world, cold start            : {t_cold:6.2f} s   (target < 3 s)",
        f"total (import + cold start)          : {t_import + t_cold:6.2f} s",
        f"second LocalCave (world cached)      : {t_warm:6.3f} s",
        f"first caveclient call (2 handshakes) : {t_first:6.2f} s",
        f"huge_neuron=True, cold start         : {t_huge:6.2f} s",
        f"one request, kept-alive connection   : {floor_kept:6.2f} ms (median of 50)",
        f"one request, new connection each     : {floor_fresh:6.2f} ms (median of 50)",
        f"world: {cave.world.describe()}",
    ]
    print("\n".join(lines))
    if not args.no_docs:
        write_section(
            "LocalCave start-up and per-request cost",
            "Run `python benchmarks/localcave_startup.py`. One fresh process; the requests are "
            "bare GETs of the datastack info through `requests`, with no added latency, so they "
            "are the stand-in's own floor under the benchmarks in this document.\n\n```text\n"
            + "\n".join(lines) + "\n```\n\n"
            f"- Machine: {facts}.",
        )
        print("\nwrote the LocalCave section of docs/performance.md")


if __name__ == "__main__":
    main()
