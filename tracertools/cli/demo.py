"""``tracertools demo``: an end-to-end tour of the SDK against a local synthetic CAVE.

The tour starts a LocalCave in this process (a CAVE-compatible server on 127.0.0.1 with a
synthetic world that knows its own ground truth), builds a [`Datastack`][tracertools.datastack.Datastack] on it
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

    def run(self, title: str, body: Callable[[], list[str]], code: str = "", inputs: str = "") -> None:
        """Run one step: print its title, the code it runs, where its inputs come from, its answer."""
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
        if inputs:
            self.line(f"    inputs: {inputs}")
        for text in code.strip("\n").splitlines():
            self.line(f"    >>> {text}")
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

    report.run("Presets and typed config", presets,
               code='tt.presets()\nbanc = tt.load_config("BANC")   # aliases and any case work',
               inputs="the datastack presets shipped with tracertools")
    report.run("Segment IDs validated before any request", ids,
               code='ds = tt.Datastack("brain_and_nerve_cord")   # no network yet\n'
                    'ds.segments(["720575941473274509", 720575941473274510])\n'
                    'ds.segments([720575941473274509, 7.205759e17])   # InvalidSegmentIdError',
               inputs="IDs as a spreadsheet gives them: text, ints, and a float that lost digits")
    report.run("Geometry and colours", maths,
               code="tt.geometry.distance([1, 2, 3], [4, 5, 6], resolution=(4, 4, 45))   # nm\n"
                    "tt.calc_3d_distance([1, 2, 3], [4, 5, 6], [4, 4, 45])   # the legacy name\n"
                    "tt.color_list(5)",
               inputs="two points in voxels at 4 x 4 x 45 nm")


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

        report.run("Connect to the datastack", connect,
                   code="ds = cave.datastack()   # tt.Datastack(name) on a real CAVE\nds.info()",
                   inputs="LocalCave's synthetic world: "
                          f"{n_neurons} neurons (seed {seed}) and their edit history")
        report.run("Freshness of mixed IDs", freshness,
                   code="ds.segments(ids).are_fresh()   # one request for the whole list",
                   inputs="3 IDs that edits have replaced and 3 current ones, from the world")
        report.run("Current IDs with candidates", current_ids,
                   code="segs = ds.segments(stale)\nsegs.current_ids()\n"
                        "segs.current_id_candidates()   # every successor and its share",
                   inputs=f"all {len(stale)} IDs the world's edits left stale (every root that "
                          "existed once and is no longer current)")
        report.run("A details table", details,
                   code="ds.segments(ids).details()   # current ID, volume, cable, synapses",
                   inputs="2 stale and 2 current IDs")
        report.run("Edit history and per-user credit", history,
                   code="seg = ds.segment(root)\nseg.edits()\nseg.user_contributions()",
                   inputs="the current segment with the most edits in the world")
        report.run("Cable lengths from skeletons", cable,
                   code="ds.segments(ids).cable_lengths()   # nm, from the skeleton service",
                   inputs="4 current segments")


_NEXT_STEPS = """\
Next steps:
  * Read the guides: docs/getting-started.md, docs/segments.md, docs/links.md (mkdocs serve).
  * Keep a local CAVE running for a notebook: tracertools serve  (it prints how to connect).
  * Use a real datastack: get a CAVE token (CAVEclient().auth.get_new_token() says where),
    save it once with CAVEclient().auth.save_token(token=...) (caveclient's token file in
    ~/.cloudvolume/secrets/) or pass auth_token= to tt.Datastack, then
    ds = tt.Datastack("BANC"); ds.segments(ids).current_ids()
  * Coming from the original tracertools: every old function name still works; see
    docs/migration.md."""


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
    report.line()
    report.line(_NEXT_STEPS)
    return 0
