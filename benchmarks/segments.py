"""Segment batch methods beside a naive per-item baseline, against LocalCave with added latency.

Run as a script (never from the test suite)::

    python benchmarks/segments.py            # prints a table, updates docs/performance.md
    python benchmarks/segments.py --no-docs  # prints only

LocalCave adds ``--latency`` seconds (default 0.05) to every request, like a remote service.
The baseline works the way the original library did: a new CAVEclient for every call, one
request (or two) per item, sequentially. Long baselines run on a subsample of the items and are
extrapolated linearly (marked "extrapolated"); request counts are scaled the same way.

One LocalCave (seed 0, 12 neurons, ``long_history=100``) serves every row: "user contributions"
uses the neuron with 100 extra edits (``world.long_history_root``); the other rows leave out
that neuron's 150 stale roots, so they draw on the roots of the scripted history.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _perfdoc import write_section  # noqa: E402

from tracertools.testing import LocalCave  # noqa: E402

LONG_HISTORY = 100
"""Extra edits of the long-history neuron (the "user contributions" row)."""


def _measure(cave: LocalCave, fn: Callable[[], Any]) -> tuple[float, int]:
    cave.stats.reset()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start, int(cave.stats.total)


class Naive:
    """The original library's way: a fresh client per call, per-item requests."""

    def __init__(self, cave: LocalCave) -> None:
        self.cave = cave

    def client(self) -> Any:
        from caveclient import CAVEclient

        return CAVEclient(self.cave.datastack_name, server_address=self.cave.url,
                          auth_token=self.cave.token, write_server_cache=False)

    def current_id(self, seg_id: int) -> int:
        cg = self.client().chunkedgraph
        if bool(cg.is_latest_roots([seg_id])[0]):
            return seg_id
        cg = self.client().chunkedgraph
        svs = cg.get_leaves(seg_id)
        roots = cg.get_roots(svs)
        values, counts = np.unique(roots, return_counts=True)
        return int(values[np.argmax(counts)])

    def freshness(self, ids: list[int]) -> list[bool]:
        return [bool(v) for v in self.client().chunkedgraph.is_latest_roots(ids)]

    def synapse_counts(self, ids: list[int]) -> list[int]:
        mat = self.client().materialize
        incoming = mat.query_table("synapses", filter_in_dict={"post_pt_root_id": ids})
        outgoing = mat.query_table("synapses", filter_in_dict={"pre_pt_root_id": ids})
        return [int((incoming["post_pt_root_id"] == i).sum() + (outgoing["pre_pt_root_id"] == i)
                    .sum()) for i in ids]

    def details(self, seg_id: int) -> list[Any]:
        current = self.current_id(seg_id)
        client = self.client()
        l2 = client.chunkedgraph.get_leaves(current, stop_layer=2)
        data = client.l2cache.get_l2data([int(x) for x in l2], attributes=["size_nm3"])
        volume = sum(v.get("size_nm3", 0) for v in data.values()) / 1e9
        skeleton = self.client().skeleton.get_skeleton(current, output_format="dict")
        v, e = np.asarray(skeleton["vertices"]), np.asarray(skeleton["edges"])
        cable = float(np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1).sum())
        total = self.synapse_counts([current])[0]
        return [seg_id, current, volume, cable, total]

    def user_contributions(self, root: int) -> dict[str, int]:
        client = self.client()
        log = client.chunkedgraph.get_tabular_change_log([root], filtered=False)[root]
        final = set(client.chunkedgraph.get_leaves(root).tolist())
        credit: dict[str, set[int]] = {}
        for _, row in log.iterrows():
            before = [set(client.chunkedgraph.get_leaves(r).tolist())
                      for r in row["before_root_ids"]]
            after = set(client.chunkedgraph.get_leaves(row["after_root_ids"][0]).tolist())
            gained = (min(before, key=len) & final) if row["is_merge"] else (
                (before[0] - after) - final)
            credit.setdefault(str(row["user_id"]), set()).update(gained)
        return {u: len(s) for u, s in credit.items()}


def _row(name: str, ours: tuple[float, int], base: tuple[float, int], note: str,
         target: float | None) -> dict[str, Any]:
    ratio = base[0] / ours[0] if ours[0] else float("inf")
    return {"name": name, "ours_s": ours[0], "ours_req": ours[1], "base_s": base[0],
            "base_req": base[1], "ratio": ratio, "note": note, "target": target,
            "met": None if target is None else ratio >= target}


def _scaled(cave: LocalCave, fn: Callable[[Any], Any], items: list[Any], sample: int
            ) -> tuple[tuple[float, int], str]:
    part = items[:sample]
    seconds, requests = _measure(cave, lambda: [fn(i) for i in part])
    factor = len(items) / len(part)
    note = f"extrapolated from {len(part)}" if factor > 1 else "measured"
    return (seconds * factor, int(round(requests * factor))), note


def run(latency: float, sample: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run every benchmark; returns the table rows and facts about the run."""
    # skeletons are ready at once: these rows measure requests and latency, not generation
    with LocalCave(seed=0, n_neurons=12, long_history=LONG_HISTORY, skeleton_seconds=0) as cave:
        world = cave.world
        longest = world.long_history_root
        assert longest is not None
        # the other rows leave out the long history's stale roots, so they draw on the same
        # number of roots as a world without it (that neuron's current root stands in for its
        # never-edited one)
        lineage = set(world.graph.ancestors(longest))
        latest = set(world.latest_roots_now().tolist())
        all_roots = [int(r) for r in world.all_roots().tolist() if int(r) not in lineage]
        stale = [r for r in all_roots if r not in latest]
        fresh = [int(r) for r in world.latest_roots_now().tolist() if int(r) not in lineage]
        stale200 = (stale * (200 // len(stale) + 1))[:200]
        ids1000 = (all_roots * (1000 // len(all_roots) + 1))[:1000]
        fresh500 = (fresh * (500 // len(fresh) + 1))[:500]
        mixed50 = (stale + fresh)[:50] if len(stale + fresh) >= 50 else (
            (stale + fresh) * 2)[:50]
        naive = Naive(cave)
        cave.set_latency(latency)
        rows = []

        def ours(fn: Callable[[Any], Any]) -> tuple[float, int]:
            return _measure(cave, lambda: fn(cave.datastack()))

        base, note = _scaled(cave, naive.current_id, stale200, sample)
        rows.append(_row(f"current IDs, 200 stale ({len(set(stale200))} distinct)",
                         ours(lambda ds: ds.segments(stale200).current_ids()), base, note, 30))
        base = _measure(cave, lambda: naive.freshness(ids1000))
        rows.append(_row("freshness, 1,000 IDs",
                         ours(lambda ds: ds.segments(ids1000).are_fresh()), base, "measured",
                         None))
        base = _measure(cave, lambda: naive.synapse_counts(fresh500))
        rows.append(_row(f"synapse counts, 500 IDs ({len(set(fresh500))} distinct)",
                         ours(lambda ds: ds.segments(fresh500).synapse_counts()), base,
                         "measured", None))
        base, note = _scaled(cave, naive.details, mixed50, max(2, sample // 4))
        rows.append(_row(f"details, 50 IDs ({len(set(mixed50))} distinct)",
                         ours(lambda ds: ds.segments(mixed50).details(progress=False)), base,
                         note, 20))
        base = _measure(cave, lambda: naive.user_contributions(longest))
        rows.append(_row(f"user contributions, a segment with {len(world.edits(longest))} edits",
                         ours(lambda ds: ds.segment(longest).user_contributions()), base,
                         "measured", None))
    facts = {"latency": latency, "machine": f"{platform.machine()}, Python "
             f"{platform.python_version()}, {len(stale)} distinct stale roots in the scripted "
             "history"}
    return rows, facts


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| benchmark | tracertools | requests | baseline | requests | ratio | target |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        target = "" if r["target"] is None else (
            f">= {r['target']}x: {'met' if r['met'] else 'NOT met'}")
        lines.append(
            f"| {r['name']} | {r['ours_s']:.2f} s | {r['ours_req']} | {r['base_s']:.1f} s "
            f"({r['note']}) | {r['base_req']} | {r['ratio']:,.0f}x | {target} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--sample", type=int, default=20, help="baseline items before extrapolating")
    parser.add_argument("--no-docs", action="store_true", help="do not update performance.md")
    args = parser.parse_args(argv)
    rows, facts = run(args.latency, args.sample)
    text = table(rows)
    print(text)
    if not args.no_docs:
        write_section(
            "Segments",
            f"Run `python benchmarks/segments.py`. LocalCave adds {facts['latency'] * 1000:.0f} ms "
            "to every request. The baseline works as the original library did: a new CAVEclient "
            "per call and one or two requests per item, sequentially. Requests include client "
            "construction and handshakes; ours start from a new `Datastack` each time (empty "
            "caches).\n\n" + text + f"\n\n- Machine: {facts['machine']}.",
        )
        print("\nwrote the Segments section of docs/performance.md")
    return 0 if all(r["met"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
