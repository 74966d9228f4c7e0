"""Soak: 10,000 distinct IDs through current IDs, synapse counts and details, round after round.

Run as a script (never from the test suite)::

    python benchmarks/soak.py              # prints a table, updates docs/performance.md
    python benchmarks/soak.py --no-docs    # prints only
    python benchmarks/soak.py --rounds 10 --ids 20000

LocalCave serves the scale world (``ScaleWorld(seed=0)``, BANC-sized, its rate limit off: the
soak is about the client, not the limit) in a child process, so the memory measured here is the
client's alone: Python allocations through ``tracemalloc`` (the peak each call needs above what
was held before it, and what is still held after each round) and the process's peak resident
set size. The IDs are ``world.sample_ids(n)``: distinct historical root IDs, one in ten stale,
so every round asks about 10,000 different segments and the first round cannot be served from
a few cached answers. One ``Datastack`` serves every round, as in a long-running notebook, so
a leak would show as memory still held growing from round to round (later rounds reuse the
session's caches: leaves and skeletons never change).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _perfdoc import machine, write_section  # noqa: E402

MIB = 1024 * 1024


STALE_FRACTION = 0.1


def _serve(conn: Connection, n_ids: int) -> None:
    """Child process: serve the scale world, send its config, token and ``n_ids`` distinct
    IDs, wait to be told to stop."""
    from tracertools.testing import LocalCave, ScaleWorld

    world = ScaleWorld(seed=0, rate_limit_per_s=None)
    ids = [int(i) for i in world.sample_ids(n_ids, STALE_FRACTION, seed=0)]
    with LocalCave(world=world, datastack_name="soak", skeleton_seconds=0) as cave:  # ready at once
        conn.send((cave.config, cave.token, ids))
        conn.recv()


def _rss_peak_mib() -> float:
    """This process's peak resident set size in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (MIB if sys.platform == "darwin" else 1024)


def _measure(call: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, MiB the call needed at its peak above what was held before it) for one call."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    del result
    return elapsed, (peak - before) / MIB


def soak(n_ids: int, rounds: int) -> dict[str, Any]:
    """Run the soak against a LocalCave in a child process; return the measurements."""
    from tracertools import Datastack

    facts = machine()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, n_ids), daemon=True)
    server.start()
    try:
        config, token, ids = parent.recv()
        tracemalloc.start()
        ds = Datastack(config.name, config=config, auth_token=token)
        segs = ds.segments(ids)
        methods: dict[str, Callable[[], Any]] = {
            "current IDs": segs.current_ids,
            "synapse counts": segs.synapse_counts,
            "details": lambda: segs.details(progress=False),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        peaks: dict[str, list[float]] = {name: [] for name in methods}
        held: list[float] = []
        for _ in range(rounds):
            for name, call in methods.items():
                seconds, peak = _measure(call)
                times[name].append(seconds)
                peaks[name].append(peak)
            gc.collect()
            held.append(tracemalloc.get_traced_memory()[0] / MIB)
        tracemalloc.stop()
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    return {"ids": n_ids, "distinct": len(set(ids)), "rounds": rounds, "times": times,
            "peaks": peaks, "held": held, "rss": _rss_peak_mib(), "machine": facts}


def report(result: dict[str, Any]) -> str:
    """The markdown body of the Soak section."""
    n, rounds = result["ids"], result["rounds"]
    lines = [
        f"Run `python benchmarks/soak.py`. {n:,} IDs ({result['distinct']:,} distinct, one in "
        f"{round(1 / STALE_FRACTION)} stale: `ScaleWorld.sample_ids`) through each method, "
        f"{rounds} rounds on one `Datastack`; LocalCave serves the scale world in a child process "
        "with no added latency and its rate limit off, so memory is the client's alone. Working "
        "memory is the traced Python peak of a call above what was held before it. Medians are "
        "over rounds; the first round also imports caveclient, builds the client and fills the "
        "session's caches (leaves, skeletons), which later rounds reuse; synapse counts are "
        "queried every round. Times include the stand-in generating its answers.",
        "",
        "| method | median time | throughput | first round | working memory (median / max) |",
        "|---|---|---|---|---|",
    ]
    for name, times in result["times"].items():
        ordered = sorted(times)
        median = ordered[len(ordered) // 2]
        peaks = sorted(result["peaks"][name])
        lines.append(
            f"| {name} | {median:.2f} s | {n / median:,.0f} IDs/s | {times[0]:.2f} s | "
            f"{peaks[len(peaks) // 2]:.1f} / {peaks[-1]:.1f} MiB |"
        )
    held = result["held"]
    lines += [
        "",
        f"- Python memory still held after each round (imported modules and the session's "
        f"caches): "
        f"{', '.join(f'{h:.1f}' for h in held)} MiB (growth from round 2 to round {rounds}: "
        f"{held[-1] - held[min(1, len(held) - 1)]:+.2f} MiB).",
        f"- Peak resident set size of the client process: {result['rss']:,.0f} MiB (Python, "
        "numpy, pandas, caveclient and cloud-volume loaded, and the session's caches).",
        f"- Machine: {result['machine']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=10_000, help="IDs per call (default 10,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of all methods (default 5)")
    parser.add_argument("--no-docs", action="store_true", help="do not update performance.md")
    args = parser.parse_args(argv)
    body = report(soak(args.ids, args.rounds))
    print(body)
    if not args.no_docs:
        write_section("Soak", body)


if __name__ == "__main__":
    main()
