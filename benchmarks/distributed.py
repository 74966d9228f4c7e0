"""Swamp triage of thousands of segments: serial, and on a dask LocalCluster of 1 and 2 workers.

Run as a script (never from the test suite)::

    python benchmarks/distributed.py            # prints a table, updates docs/performance.md
    python benchmarks/distributed.py --no-docs  # prints only

The world: LocalCave with ``--neurons`` neurons (default 2,000) in a 512 x 512 x 64 volume, each
neuron making synapses onto 10 partners (so the world stays linear in size), and the world's
three swamp boxes. Every skeleton is generated once before anything is timed, so the server's
own first-time work is not measured. LocalCave adds ``--latency`` seconds to every request.

Each configuration triages every current root (cold caches: a fresh session, and for the
cluster a fresh LocalCluster whose start-up is timed apart). The scheduling cost of a task is
measured with trivial tasks on the 1-worker cluster. The projection fits ``T(w) = a + b / w``
to the 1- and 2-worker wall times (``b``: the work that spreads over workers, ``a``: what does
not: the submitting process, the one LocalCave process serving every request, scheduling).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

# This file's name is dask's package name: keep its folder off the import path, so that
# `import distributed` finds dask (here and in the worker processes, which inherit the path).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE]


def _perfdoc() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_perfdoc", _HERE / "_perfdoc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


from tracertools.batch import run_per_item  # noqa: E402
from tracertools.datastack import TOKEN_ENV  # noqa: E402
from tracertools.testing import LocalCave  # noqa: E402
from tracertools.testing.world import World  # noqa: E402

SHAPE = (512, 512, 64)
PARTNERS = 10
TRIVIAL_TASKS = 200


def _cluster(token: str, workers: int) -> Any:
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=None, env={TOKEN_ENV: token},
                        silence_logs=logging.ERROR)


def _triage(cave: LocalCave, ids: list[int], executor: Any = None) -> tuple[float, int, Any]:
    """(seconds, requests LocalCave saw, frame) of one cold triage."""
    ds = cave.datastack()
    cave.stats.reset()
    start = time.perf_counter()
    frame = ds.segments(ids).triage(executor=executor, progress=False)
    return time.perf_counter() - start, int(cave.stats.total), frame


def _stop_resource_tracker() -> None:
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        stop()


def run(neurons: int, latency: float) -> dict[str, Any]:
    from distributed import Client

    t0 = time.perf_counter()
    world = World(n_neurons=neurons, shape=SHAPE, synapse_partners=PARTNERS)
    built_s = time.perf_counter() - t0
    ids = [int(r) for r in world.latest_roots_now()]
    t0 = time.perf_counter()
    for root in ids:
        world.skeleton(root)
    warmed_s = time.perf_counter() - t0
    print(f"world: {len(ids)} segments, built in {built_s:.0f} s, skeletons in {warmed_s:.0f} s",
          flush=True)
    out: dict[str, Any] = {"n": len(ids), "latency": latency, "built_s": built_s,
                           "warmed_s": warmed_s, "rows": []}
    with LocalCave(world=world, datastack_name="bench_distributed") as cave:
        cave.set_latency(latency)
        serial_s, serial_req, serial = _triage(cave, ids)
        out["crossing"] = int(serial["crosses_swamp"].sum())
        out["rows"].append({"name": "serial (one process)", "workers": 0, "tasks": None,
                            "wall_s": serial_s, "requests": serial_req, "start_s": None,
                            "same": True})
        print(f"serial: {serial_s:.1f} s, {serial_req} requests", flush=True)
        for workers in (1, 2):
            t0 = time.perf_counter()
            try:
                with _cluster(cave.token, workers) as cluster, Client(cluster) as client:
                    start_s = time.perf_counter() - t0
                    wall_s, requests, frame = _triage(cave, ids, client)
                    tasks = -(-len(ids) // _chunk(len(ids), workers))
                    if workers == 1:
                        t1 = time.perf_counter()
                        run_per_item(abs, list(range(TRIVIAL_TASKS)), executor=client,
                                     chunk_size=1, progress=False)
                        out["task_overhead_ms"] = (time.perf_counter() - t1) / TRIVIAL_TASKS * 1e3
            finally:
                _stop_resource_tracker()
            same = bool(frame.equals(serial))
            out["rows"].append({"name": f"LocalCluster, {workers} worker process"
                                        + ("es" if workers > 1 else ""),
                                "workers": workers, "tasks": tasks, "wall_s": wall_s,
                                "requests": requests, "start_s": start_s, "same": same})
            print(f"{workers} worker(s): {wall_s:.1f} s, {requests} requests, {tasks} tasks, "
                  f"cluster start {start_s:.1f} s, same answer: {same}", flush=True)
    return out


def _chunk(n: int, workers: int) -> int:
    from tracertools.batch import default_chunk_size

    return default_chunk_size(n, workers, multiple=10)


def report(res: dict[str, Any]) -> str:
    rows = res["rows"]
    serial = rows[0]["wall_s"]
    t1, t2 = rows[1]["wall_s"], rows[2]["wall_s"]
    b = 2 * (t1 - t2)  # spreads over workers
    a = t1 - b  # does not
    lines = [
        f"Machine: {_perfdoc().machine()}.",
        "",
        f"Triage of **{res['n']:,} segments** (every current root of a {res['n']:,}-neuron "
        f"LocalCave world, {res['crossing']} of them crossing a swamp) against the world's "
        f"swamp meshes, with {res['latency'] * 1e3:.0f} ms added to every request. Cold caches "
        f"in every row (a fresh session; for the cluster rows a fresh `LocalCluster` of "
        f"single-threaded worker processes, whose start-up is timed apart). Every row's answer "
        f"is compared with the serial one. World built in {res['built_s']:.0f} s and its "
        f"skeletons generated in {res['warmed_s']:.0f} s before timing.",
        "",
        "| run | tasks | wall time | requests | speed-up vs serial | cluster start-up | "
        "same answer |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        start = "-" if r["start_s"] is None else f"{r['start_s']:.1f} s"
        lines.append(
            f"| {r['name']} | {r['tasks'] if r['tasks'] is not None else '-'} | "
            f"{r['wall_s']:.1f} s | {r['requests']:,} | {serial / r['wall_s']:.2f}x | "
            f"{start} | "
            f"{'yes' if r['same'] else 'NO'} |"
        )
    overhead = res.get("task_overhead_ms", float("nan"))
    spent = res["built_s"] + res["warmed_s"] + sum(r["wall_s"] + (r["start_s"] or 0) for r in rows)
    minutes = max(1, round(spent / 60))
    projected = []
    for w in (1, 2, 4, 8, 16):
        t = a + b / w if a + b / w > 0 else float("nan")
        projected.append(f"{w}: {serial / t:.2f}x" if t == t else f"{w}: n/a")
    gain = [(a + b / w) - (a + b / (w + 1)) for w in (1, 2, 4)]
    if b > 0:
        per_worker = (f"Each added worker saves b / (w (w + 1)) s: {gain[0]:.1f} s from the "
                      f"2nd, {gain[1]:.1f} s from the 3rd, {gain[2]:.2f} s from the 5th.")
    else:
        per_worker = ("Here the 2nd worker saved nothing (b <= 0): the work that does not "
                      "spread over workers dominates, so more workers would not help either.")
    lines += [
        "",
        f"- **Overhead per task**: {overhead:.1f} ms (the mean wall time of {TRIVIAL_TASKS} "
        f"trivial one-item tasks on the 1-worker cluster: submission, scheduling, pickling and "
        f"the answer's way back). The triage rows use about four tasks per worker thread "
        f"(`default_chunk_size`), so scheduling is "
        f"{rows[2]['tasks'] * overhead / 1e3 / t2 * 100 if t2 else float('nan'):.1f} % of the "
        f"2-worker wall time.",
        f"- **Fit** `T(w) = a + b / w` to the 1- and 2-worker rows: a = {a:.1f} s that does "
        f"not spread over workers (the submitting process, the single LocalCave process that "
        f"serves every request, scheduling), b = {b:.1f} s that does (fetching, parsing and "
        f"testing skeletons in the workers).",
        f"- **Projected speed-up over serial** with w worker processes: "
        f"{', '.join(projected)}. {per_worker}",
        "- This machine has 2 cores shared by the test process, LocalCave's server threads and "
        "the workers, so beyond 2 workers the projection is what the fit says, not a "
        "measurement; against a real CAVE the serving happens elsewhere and `a` shrinks to the "
        "submitting process and the per-task overhead, while the datastack's request budget "
        "(`rate_limit`, shared by all workers) caps the request rate whatever the worker count.",
        "",
        f"Rerun: `python benchmarks/distributed.py` (here about {minutes} minutes, most of it "
        f"building the world and its skeletons).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neurons", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TRACERTOOLS_PROGRESS", "0")
    res = run(args.neurons, args.latency)
    text = report(res)
    print(text)
    if not args.no_docs:
        _perfdoc().write_section("Distributed triage", text)


if __name__ == "__main__":
    main()
