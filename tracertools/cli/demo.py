"""``tracertools demo``: an end-to-end tour of the SDK against a local synthetic CAVE.

The tour starts a LocalCave in this process (a CAVE-compatible server on 127.0.0.1 with a
synthetic world that knows its own ground truth), builds a :class:`~tracertools.Datastack` on it
and walks through the capabilities, checking each answer against the world's ground truth. It
needs no account and no network, and exits 0 when every step agrees.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["run_demo"]


class _Report:
    """Numbered steps with timings; records failures instead of stopping the tour."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failures: list[str] = []
        self.step = 0

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def run(self, title: str, body: Callable[[], list[str]]) -> None:
        self.step += 1
        start = time.perf_counter()
        try:
            lines = body()
        except Exception as exc:  # the tour reports every step, even after a failure
            self.failures.append(title)
            self.line(f"[{self.step}] {title}: FAILED ({type(exc).__name__}: {exc})")
            return
        elapsed = time.perf_counter() - start
        self.line(f"[{self.step}] {title} ({elapsed * 1000:.0f} ms)")
        for text in lines:
            self.line(f"      {text}")


def _offline_steps(report: _Report) -> None:
    import tracertools as tt
    from tracertools import geometry

    def presets() -> list[str]:
        names = tt.presets()
        banc = tt.load_config("brain_and_nerve_cord")
        return [
            f"{len(names)} shipped presets: {', '.join(names)}",
            f"BANC resolution {banc.resolution} nm/voxel, synapse table "
            f"{banc.require('synapse_table').name!r}",
        ]

    def ids() -> list[str]:
        ds = tt.Datastack("brain_and_nerve_cord")
        segs = ds.segments(["720575941473274509", 720575941473274510])
        try:
            ds.segments([720575941473274509, 7.205759e17])
        except tt.InvalidSegmentIdError as exc:
            refused = str(exc)
        else:  # pragma: no cover - the point of the step
            raise AssertionError("a lossy float ID was accepted")
        return [f"accepted {segs!r}", f"refused: {refused}"]

    def maths() -> list[str]:
        d = float(geometry.distance([1, 2, 3], [4, 5, 6], resolution=(4, 4, 45)))
        legacy = tt.calc_3d_distance([1, 2, 3], [4, 5, 6], [4, 4, 45])
        if abs(d - legacy) > 1e-9:
            raise AssertionError("new and legacy distances disagree")
        colours = tt.color_list(5)
        return [f"distance {d:.3f} nm (legacy shim agrees)", f"5 colours: {', '.join(colours)}"]

    report.run("Presets and typed config", presets)
    report.run("Segment IDs validated before any request", ids)
    report.run("Geometry and colours", maths)


def _localcave_steps(report: _Report, seed: int, n_neurons: int) -> None:
    import numpy as np

    from tracertools.testing import LocalCave

    with LocalCave(seed=seed, n_neurons=n_neurons) as cave:
        report.line(f"LocalCave: datastack {cave.datastack_name!r} at {cave.url}")
        world = cave.world
        ds = cave.datastack()
        latest = set(world.latest_roots_now().tolist())
        stale = [int(r) for r in world.all_roots().tolist() if int(r) not in latest]
        fresh = [int(r) for r in world.latest_roots_now().tolist()]

        def connect() -> list[str]:
            info = ds.info()
            return [f"one CAVEclient for {ds!r}", f"segmentation {info['segmentation_source']}"]

        def freshness() -> list[str]:
            ids = stale[:3] + fresh[:3]
            got = ds.segments(ids).are_fresh()
            expected = [False] * len(stale[:3]) + [True] * len(fresh[:3])
            _agree(got.tolist() == expected, "freshness")
            return [f"{int(got.sum())} of {len(ids)} IDs are current (ground truth agrees)"]

        def current_ids() -> list[str]:
            cave.stats.reset()
            segs = ds.segments(stale)
            best = segs.current_ids()
            _agree(best.tolist() == [world.successor(r) for r in stale], "current IDs")
            lines = [f"{len(stale)} stale IDs updated in {cave.stats.total} requests"]
            for root, cands in list(zip(stale, segs.current_id_candidates(), strict=True))[:3]:
                shown = ", ".join(f"{c.segment_id} ({c.fraction:.0%})" for c in cands or ())
                lines.append(f"{root} -> {shown}")
            return lines

        def details() -> list[str]:
            frame = ds.segments(stale[:2] + fresh[:2]).details(progress=False)
            for seg_id, cur in zip(frame.index, frame["current_id"], strict=True):
                _agree(int(cur) == world.successor(int(seg_id)) if int(seg_id) in stale
                       else int(cur) == int(seg_id), "details")
            return frame.round(3).to_string().splitlines()

        def history() -> list[str]:
            root = max(fresh, key=lambda r: len(world.edits(r)))
            seg = ds.segment(root)
            edits = seg.edits()
            credit = seg.user_contributions()
            _agree(dict(credit.items()) == world.user_sv_credit(root), "per-user credit")
            return [
                f"segment {root}: {len(edits)} edits "
                f"({int(edits['is_merge'].sum())} merges, {int((~edits['is_merge']).sum())} splits)",
                "supervoxels credited per user: "
                + ", ".join(f"{u}: {n}" for u, n in credit.items()),
            ]

        def cable() -> list[str]:
            lengths = ds.segments(fresh[:4]).cable_lengths(progress=False)
            truth = np.asarray([world.cable_length(r) for r in fresh[:4]])
            _agree(bool(np.allclose(lengths, truth, rtol=1e-6)), "cable lengths")
            return [f"{r}: {v / 1000:.1f} µm" for r, v in zip(fresh[:4], lengths, strict=True)]

        report.run("Connect to the datastack", connect)
        report.run("Freshness of mixed IDs", freshness)
        report.run("Current IDs with candidates", current_ids)
        report.run("A details table", details)
        report.run("Edit history and per-user credit", history)
        report.run("Cable lengths from skeletons", cable)


def _agree(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"{what} disagree with the world's ground truth")


def run_demo(seed: int = 0, n_neurons: int = 8, out: TextIO | None = None) -> int:
    """Run the tour and return a process exit code (0 when every step agrees).

    Args:
        seed: the synthetic world's seed.
        n_neurons: neurons in the synthetic world.
        out: where to write the report (standard output by default).
    """
    import sys

    report = _Report(out if out is not None else sys.stdout)
    report.line("tracertools demo: a tour on a local synthetic CAVE (no account, no network)")
    report.line()
    _offline_steps(report)
    _localcave_steps(report, seed, n_neurons)
    report.line()
    if report.failures:
        report.line(f"{len(report.failures)} step(s) failed: {', '.join(report.failures)}")
        return 1
    report.line(f"All {report.step} steps agreed with the ground truth.")
    return 0
