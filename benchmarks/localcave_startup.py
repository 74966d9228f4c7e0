"""Start-up time of LocalCave's default world (target: < 3 s on a 2-core machine), its own cost
per request, and start-up and memory of the BANC-sized ScaleWorld (targets: serving in <= 5 s; a
session touching 10,000 neurons under 2 GiB resident).

Run as a script (never from the test suite)::

    python benchmarks/localcave_startup.py              # prints, updates docs/performance.md
    python benchmarks/localcave_startup.py --no-docs    # prints only
    python benchmarks/localcave_startup.py --scale-only [--touch N]

Prints, for a fresh process:

* import time of ``tracertools.testing.LocalCave`` (with numpy/pandas);
* time to build the default world and start serving (cold, uncached);
* time to start a second LocalCave with the same parameters (world cached in-process);
* time to a first answered caveclient call;
* the same for ``huge_neuron=True``;
* LocalCave's own cost per request with no added latency: the median of 50 bare requests,
  over one kept-alive connection and over a new connection each;
* ScaleWorld: time to serving, to a first answered call, then a session through the real
  clients touching ``N`` (default 10,000) random neurons in batches of 500 (freshness, L2 IDs,
  roots of L2 IDs, L2 attributes, cached skeletons), with the resident memory after each
  stage, and one synapse query for 100 roots.
"""

from __future__ import annotations

import argparse
import resource
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


def rss_mib() -> float:
    """Current resident memory of this process, MiB (``VmRSS``)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def small_world() -> list[str]:
    """The small world's start-up and per-request cost; returns the lines it printed."""
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
    return lines


def scale_world(touch: int) -> list[str]:
    """The ScaleWorld session; returns the lines it printed."""
    lines: list[str] = []

    def say(text: str) -> None:
        say(text)
        lines.append(text)

    import numpy as np

    rss0 = rss_mib()
    t0 = time.perf_counter()
    from tracertools.testing import LocalCave, ScaleWorld

    world = ScaleWorld(seed=0, rate_limit_per_s=None)  # the limit would dominate the timings
    cave = LocalCave(world=world, datastack_name="bench_scale").start()
    t_start = time.perf_counter() - t0
    client = cave.client()
    cg = client.chunkedgraph
    cg.is_latest_roots([world.neuron_root(0)])
    t_first = time.perf_counter() - t0
    say(f"ScaleWorld ({world.n_neurons} neurons): serving after {t_start:.2f} s (target <= 5 s), "
          f"first caveclient answer after {t_first:.2f} s; RSS {rss_mib():.0f} MiB "
          f"(+{rss_mib() - rss0:.0f} MiB)")

    rng = np.random.default_rng(1)
    neurons = rng.choice(world.n_neurons, touch, replace=False)
    stages = {"roots": 0.0, "is_latest": 0.0, "l2_ids": 0.0, "roots of L2": 0.0, "l2 data": 0.0,
              "fetch_skeletons": 0.0}
    n_l2 = 0
    for b in range(0, touch, 500):
        ks = neurons[b : b + 500]
        t = time.perf_counter()
        roots = [world.neuron_root(int(k)) for k in ks]
        stages["roots"] += time.perf_counter() - t
        t = time.perf_counter()
        cg.is_latest_roots(roots)
        stages["is_latest"] += time.perf_counter() - t
        t = time.perf_counter()
        l2 = np.concatenate(list(cg.get_leaves_many(roots, stop_layer=2).values()))
        n_l2 += len(l2)
        stages["l2_ids"] += time.perf_counter() - t
        t = time.perf_counter()
        cg.get_roots(l2)
        stages["roots of L2"] += time.perf_counter() - t
        t = time.perf_counter()
        client.l2cache.get_l2data(rng.choice(l2, min(len(l2), 2000), replace=False).tolist(),
                                  attributes=["size_nm3", "rep_coord_nm"])
        stages["l2 data"] += time.perf_counter() - t
        t = time.perf_counter()
        client.skeleton.fetch_skeletons(roots, skeleton_version=4)
        stages["fetch_skeletons"] += time.perf_counter() - t
        if (b // 500) % 5 == 4 or b + 500 >= touch:
            say(f"  after {min(b + 500, touch):6d} neurons: RSS {rss_mib():6.0f} MiB, "
                  f"{len(world.graph.plan)} neurons cached ({world.graph.plan.nbytes / 2**20:.0f} MiB)")
    for name, secs in stages.items():
        say(f"  {name:16s} {secs:6.2f} s")
    say(f"  {touch} neurons, {n_l2} L2 IDs, {cave.stats.total} requests; "
          f"peak RSS {peak_mib():.0f} MiB (target < 2048 MiB)")

    t = time.perf_counter()
    roots = [world.neuron_root(int(k)) for k in neurons[:100]]
    syn = client.materialize.query_table("synapses", filter_in_dict={"pre_pt_root_id": roots})
    say(f"  synapse query for 100 roots: {len(syn)} rows in {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    total = client.materialize.get_annotation_count("synapses")
    say(f"  synapse table: {total} rows, counted in {time.perf_counter() - t:.2f} s; "
          f"final RSS {rss_mib():.0f} MiB")
    cave.stop()
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-docs", action="store_true", help="do not update performance.md")
    parser.add_argument("--scale-only", action="store_true", help="only the ScaleWorld part")
    parser.add_argument("--touch", type=int, default=10_000,
                        help="neurons the scale session touches (default 10,000)")
    args = parser.parse_args(argv)
    if args.scale_only:
        scale_world(args.touch)
        return
    lines = small_world()
    scale_lines = scale_world(args.touch)
    if not args.no_docs:
        write_section(
            "LocalCave start-up and per-request cost",
            "Run `python benchmarks/localcave_startup.py`. One fresh process; the requests are "
            "bare GETs of the datastack info through `requests`, with no added latency, so they "
            "are the stand-in's own floor under the benchmarks in this document.\n\n```text\n"
            + "\n".join(lines) + "\n```\n\n"
            "The BANC-sized ScaleWorld (docs/testing.md), its rate limit off so it does not "
            "dominate the timings:\n\n```text\n" + "\n".join(scale_lines) + "\n```\n\n"
            f"- Machine: {machine()}.",
        )
        print("\nwrote the LocalCave section of docs/performance.md")


if __name__ == "__main__":
    main()
