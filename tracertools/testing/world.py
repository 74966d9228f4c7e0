"""The synthetic, deterministic ground-truth world served by LocalCave.

A [`World`][tracertools.testing.world.World] is built from ``(seed, n_neurons, resolution, huge_neuron, ...)`` alone:

* a watershed volume of ``shape`` segmentation voxels at ``seg_resolution`` nm (default
  256 x 256 x 64 voxels of 16 x 16 x 45 nm), chunked by ``chunk_size``;
* ``n_neurons`` neurons (soma ball + branching tubular neurites), split into supervoxels;
* a chunkedgraph with graphene IDs, an edit history (see `._history`), stale roots and
  lineages; three materialization versions at past timestamps;
* tables ``synapses``, ``proofreading_status`` and ``cell_info``; L2-cache attributes;
  skeletons; swamp meshes; optionally one huge neuron (lazy, > 1 M supervoxels) and one
  neuron with a long edit history (``long_history`` operations after the script).

Units: nm for physical quantities, *seg voxels* for the watershed volume and the
chunkedgraph (operation coordinates, ``bounds``), *viewer voxels* (``resolution``) for table
positions. Times are epoch seconds (UTC).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from tracertools.testing._graph import ChunkGraph, Operation
from tracertools.testing._history import USERS, Story, build_history
from tracertools.testing._ids import GraphLayout
from tracertools.testing._l2stats import SupervoxelStats, huge_attributes
from tracertools.testing._meshes import box_mesh, segments_cross_triangles, tube_mesh
from tracertools.testing._neurons import grow_neurons, make_supervoxels, voxelize
from tracertools.testing._skeletons import Skeleton, build_skeleton, line_skeleton
from tracertools.testing._tables import AnnotationTable
from tracertools.testing._worldapi import RootLineage, SmallWorldApi
from tracertools.testing._worldtables import build_tables

IdArray = npt.NDArray[np.uint64]
U64 = np.uint64
T = TypeVar("T")
T0 = 1704067200.0  # 2024-01-01T00:00:00Z, creation time of the original roots


def seg_to_view(
    vox: npt.NDArray[np.integer], seg_res: Sequence[float], view_res: Sequence[float]
) -> npt.NDArray[np.int64]:
    """Viewer-voxel points (n, 3) that map back to the seg voxels ``vox`` (n, 3).

    The centre of the seg voxel, floored, unless that falls outside the voxel (possible when
    the ratio of resolutions is below 2), then the first viewer voxel inside it. Exact when
    the viewer resolution is at least as fine as the segmentation's.
    """
    sr = np.asarray(seg_res, dtype=np.float64)
    vr = np.asarray(view_res, dtype=np.float64)
    x = np.asarray(vox, dtype=np.float64)
    v = np.floor((x + 0.5) * sr / vr)
    back = np.floor(v * vr / sr)
    v = np.where(back == x, v, np.ceil(x * sr / vr))
    return v.astype(np.int64)


class World(SmallWorldApi, RootLineage):
    """A deterministic synthetic connectome with its ground truth.

    Args:
        seed: random seed; the whole world is a function of the arguments.
        n_neurons: number of regular neurons (at least 7; neurons 0-5 take part in the
            scripted edit history, the others are never edited).
        resolution: viewer resolution, nm per voxel (table positions use it).
        huge_neuron: add a lazily represented neuron with ``huge_supervoxels`` supervoxels.
        shape: watershed volume size in seg voxels.
        seg_resolution: segmentation mip-0 resolution, nm per voxel.
        chunk_size: chunkedgraph / watershed chunk size in seg voxels.
        huge_supervoxels: supervoxel count of the huge neuron.
        long_history: when N > 0, the last neuron (otherwise never edited; needs
            ``n_neurons >= 8``) gets N more operations after the scripted ones: a small piece
            split off and merged back, alternately, by all five users at increasing timestamps
            (days 141-190, after every materialization version). Its final root
            (`long_history_root`) has N edits and a chain of N + 1 roots. The rest of the
            world is the same as with ``long_history=0`` (its own random generator).
        synapse_partners: when set, each neuron makes synapses onto this many partners drawn
            at random instead of onto every neuron, so the synapse table grows linearly with
            ``n_neurons`` (for worlds of thousands of neurons, with a larger ``shape``).
    """

    def __init__(
        self,
        seed: int = 0,
        n_neurons: int = 8,
        resolution: Sequence[float] = (4, 4, 45),
        huge_neuron: bool = False,
        *,
        shape: Sequence[int] = (256, 256, 64),
        seg_resolution: Sequence[float] = (16, 16, 45),
        chunk_size: Sequence[int] = (64, 64, 16),
        huge_supervoxels: int = 1_500_000,
        long_history: int = 0,
        synapse_partners: int | None = None,
    ) -> None:
        self.seed = int(seed)
        self.synapse_partners = None if synapse_partners is None else int(synapse_partners)
        self.n_neurons = int(n_neurons)
        self.resolution = tuple(float(v) for v in resolution)
        self.seg_resolution = tuple(float(v) for v in seg_resolution)
        self.shape = tuple(int(v) for v in shape)
        self.chunk_size = tuple(int(v) for v in chunk_size)
        self.has_huge_neuron = bool(huge_neuron)
        self.long_history = int(long_history)
        if self.long_history < 0:
            raise ValueError("long_history must be >= 0")
        if self.long_history and self.n_neurons < 8:
            raise ValueError("long_history needs n_neurons >= 8 (one neuron stays unedited)")
        self.t0 = T0
        res = np.array(self.seg_resolution)
        grid = tuple(-(-s // c) for s, c in zip(self.shape, self.chunk_size, strict=True))
        self.layout = GraphLayout.for_grid(grid, self.chunk_size)
        rng = np.random.default_rng(self.seed)
        self.trees = grow_neurons(rng, self.n_neurons, np.array(self.shape) * res)
        owner = voxelize(self.trees, self.shape, res)  # type: ignore[arg-type]
        self.svs, aux = make_supervoxels(self.trees, owner, self.layout, res)
        del owner
        self.stats = SupervoxelStats(
            self.svs.labels, aux["sv"], aux["xyz"], self.trees.radius_nm[aux["node"]],  # type: ignore[arg-type]
            self.svs.count, self.svs.rep_voxel, res, self.chunk_size,  # type: ignore[arg-type]
        )
        self.graph, self.story = build_history(
            self.trees, self.svs, self.layout, rng, T0, res, self.n_neurons,
            huge_supervoxels=int(huge_supervoxels) if huge_neuron else 0,
            long_history=self.long_history,
            long_rng=np.random.default_rng([self.seed, self.long_history, 0x4C48]),
        )
        self.version_timestamps = {i + 1: t for i, t in enumerate(self.story.version_times)}
        self.tables: dict[str, AnnotationTable] = build_tables(self, rng, aux)
        self._node_ok = np.zeros(len(self.trees.pos_nm), dtype=bool)
        self._node_ok[np.unique(aux["node"])] = True
        self._lock = threading.RLock()
        self._l2_cache: dict[int, dict[str, Any]] = {}
        self._skel_cache: dict[int, Skeleton] = {}
        self._place_swamps()

    # -- construction helpers ----------------------------------------------------------------

    @staticmethod
    @functools.lru_cache(maxsize=8)
    def cached(
        seed: int = 0,
        n_neurons: int = 8,
        resolution: tuple[float, ...] = (4, 4, 45),
        huge_neuron: bool = False,
        long_history: int = 0,
    ) -> World:
        """A process-wide shared world for these parameters (worlds are read-only)."""
        return World(
            seed=seed, n_neurons=n_neurons, resolution=resolution, huge_neuron=huge_neuron,
            long_history=long_history,
        )

    def _place_swamps(self) -> None:
        half = np.array([110.0, 110.0, 100.0])
        boxes: list[tuple[np.ndarray, np.ndarray]] = []
        for neuron in (0, 3):
            root = self.neuron_root(neuron)
            sk = self.skeleton(root)
            # a vertex in the middle of a path, away from the soma and branch points
            deg = np.bincount(sk.edges.ravel(), minlength=len(sk.vertices))
            dist = np.linalg.norm(sk.vertices - sk.vertices[sk.root], axis=1)
            ok = (deg == 2) & (dist > 700)
            cands = np.flatnonzero(ok)
            pick = int(cands[len(cands) // 2]) if len(cands) else int(np.argmax(dist))
            boxes.append((sk.vertices[pick], half))
        # a box far from every centreline node
        extent = np.array(self.shape) * np.array(self.seg_resolution)
        gx = np.linspace(300, extent[0] - 300, 24)
        gy = np.linspace(300, extent[1] - 300, 24)
        gz = np.linspace(200, extent[2] - 200, 5)
        grid = np.stack(np.meshgrid(gx, gy, gz, indexing="ij"), -1).reshape(-1, 3)
        d = np.full(len(grid), np.inf)
        for chunk in np.array_split(self.trees.pos_nm, max(1, len(self.trees.pos_nm) // 256)):
            d = np.minimum(d, np.sqrt(((grid[:, None] - chunk[None]) ** 2).sum(-1)).min(1))
        boxes.append((np.round(grid[int(np.argmax(d))]), half))
        self.swamps = {i + 1: box_mesh(np.round(c), h) for i, (c, h) in enumerate(boxes)}

    # -- time and roots ----------------------------------------------------------------------

    @property
    def operations(self) -> list[Operation]:
        """All edits, in time order."""
        return list(self.graph.operations)

    @property
    def latest_version(self) -> int:
        """The newest materialization version."""
        return max(self.version_timestamps)

    def roots_at(self, t: float | None = None) -> IdArray:
        """Sorted root IDs latest at time ``t`` (default: now)."""
        t = time.time() if t is None else float(t)
        return np.array(sorted(r for r, rec in self.graph.roots.items() if rec.alive_at(t)), dtype=U64)

    def latest_roots_now(self) -> IdArray:
        """Sorted root IDs latest now."""
        return self.roots_at(None)

    def all_roots(self) -> IdArray:
        """Every root ID that ever existed, sorted."""
        return np.array(sorted(self.graph.roots), dtype=U64)

    def root_of(self, node_ids: Iterable[int] | int, t: float | None = None) -> IdArray:
        """Root of each node (supervoxel, L2, ...) at time ``t`` (default: now)."""
        ids = np.atleast_1d(np.asarray(node_ids, dtype=U64))
        return self.graph.roots_at(ids, time.time() if t is None else float(t))

    def is_latest(self, root: int, t: float | None = None) -> bool:
        """Whether ``root`` is latest at ``t`` (created at or before, not superseded)."""
        rec = self.graph.roots.get(int(root))
        return rec is not None and rec.alive_at(time.time() if t is None else float(t))

    def root_timestamp(self, root: int) -> float:
        """Creation time of a root (epoch s)."""
        return self.graph.roots[int(root)].created

    def neuron_root(self, neuron: int, t: float | None = None) -> int:
        """Root holding neuron ``neuron``'s soma at ``t`` (default: now)."""
        soma_run = int(self.trees.run[self.trees.soma_node[neuron]])
        sv = int(np.flatnonzero(self.svs.run == soma_run)[0])
        return int(self.root_of([int(self.svs.ids[sv])], t)[0])

    @property
    def huge_root(self) -> int | None:
        """Root ID of the huge neuron, if the world has one."""
        return self.graph.huge.root_id if self.graph.huge is not None else None

    @property
    def long_history_neuron(self) -> int | None:
        """The neuron with the long edit history (``long_history > 0``), else None."""
        return self.story.long_history_neuron

    @property
    def long_history_root(self) -> int | None:
        """Current root of the long-history neuron (``long_history > 0``), else None."""
        k = self.story.long_history_neuron
        return None if k is None else self.neuron_root(k)

    # -- composition -------------------------------------------------------------------------

    def supervoxels(self, root: int) -> IdArray:
        """Sorted supervoxel IDs of any root (stale or latest)."""
        return self.graph.leaves(int(root), 1)

    def l2_ids(self, root: int) -> IdArray:
        """Sorted L2 IDs of a root."""
        return self.graph.leaves(int(root), 2)

    def _sv_set(self, root: int) -> npt.NDArray[np.int64]:
        return self.graph.roots[int(root)].svs

    def successor_candidates(self, root: int, t: float | None = None) -> list[tuple[int, float]]:
        """Roots latest at ``t`` that hold ``root``'s supervoxels, with the fraction of its
        supervoxels each holds, sorted by fraction (desc) then root ID."""
        rec = self.graph.roots[int(root)]
        if rec.huge:
            return [(int(root), 1.0)]
        roots = self.root_of(self.svs.ids[rec.svs], t)
        uniq, counts = np.unique(roots, return_counts=True)
        pairs = [(int(r), float(c) / len(roots)) for r, c in zip(uniq, counts, strict=True)]
        return sorted(pairs, key=lambda p: (-p[1], p[0]))

    def edits(self, root: int) -> list[Operation]:
        """Operations in the root's history (those that ended one of its ancestors)."""
        return self.graph.history_operations(int(root))

    def user_sv_credit(self, root: int) -> dict[str, int]:
        """Supervoxels each user contributed to ``root`` (the corrected original semantics).

        For every operation in the root's history: a merge credits its user with the
        supervoxels of the smaller before-root (fewer supervoxels; ties: the higher ID) that are
        in ``root``; a split credits the supervoxels of the before-root that are neither in
        the after-root continuing the lineage (largest overlap with ``root``) nor in ``root``.
        Counts are of unique supervoxels per user.
        """
        final = set(self._sv_set(root).tolist())
        credit: dict[str, set[int]] = {}
        for op in self.edits(root):
            got = credit.setdefault(op.user_id, set())
            if op.is_merge:
                a, b = op.before_roots
                sa, sb = self._sv_set(a), self._sv_set(b)
                small = sa if (len(sa), -a) < (len(sb), -b) else sb
                got.update(s for s in small.tolist() if s in final)
            else:
                before = set(self._sv_set(op.before_roots[0]).tolist())
                cont = max(
                    op.after_roots,
                    key=lambda r: (len(final.intersection(self._sv_set(r).tolist())), r),
                )
                got.update(before - set(self._sv_set(cont).tolist()) - final)
        return {u: len(s) for u, s in sorted(credit.items())}

    @staticmethod
    def user_info(user_id: str) -> tuple[str, str]:
        """(name, affiliation) of an editor."""
        return USERS.get(str(user_id), ("unknown", "unknown"))

    # -- measurements ------------------------------------------------------------------------

    def l2_attributes(self, l2_id: int) -> dict[str, Any]:
        """L2-cache attributes of an L2 ID (see `._l2stats`)."""
        return self._memo(self._l2_cache, int(l2_id), self._make_l2_attributes)

    def _make_l2_attributes(self, l2: int) -> dict[str, Any]:
        i = self.graph.l2_index[l2]
        if self.graph.is_huge_l2(l2):
            assert self.graph.huge is not None
            return huge_attributes(
                self.graph.l2_chunk[i], self.graph.huge.per_chunk,
                np.array(self.seg_resolution), self.chunk_size,  # type: ignore[arg-type]
            )
        return self.stats.attributes(self.graph.l2_svs[i])

    def volume_nm3(self, root: int) -> float:
        """Exact volume of a root (sum of its L2 ``size_nm3``), nm³."""
        return float(sum(self.l2_attributes(int(l2))["size_nm3"] for l2 in self.l2_ids(root)))

    def skeleton(self, root: int) -> Skeleton:
        """The root's skeleton (vertices in nm)."""
        return self._memo(self._skel_cache, int(root), self._make_skeleton)

    def _make_skeleton(self, rid: int) -> Skeleton:
        rec = self.graph.roots[rid]
        l2s = [int(v) for v in self.l2_ids(rid)]
        reps = np.array([self.l2_attributes(l2)["rep_coord_nm"] for l2 in l2s]).reshape(-1, 3)
        if rec.huge:
            assert self.graph.huge is not None
            cs = np.array(self.chunk_size) * np.array(self.seg_resolution)
            ch = np.array(sorted(self.graph.huge.chunks))
            start = (ch[0] + [0.05, 0.5, 0.5]) * cs
            end = (ch[-1] + [0.95, 0.5, 0.5]) * cs
            sk = line_skeleton(np.round(start), np.round(end), 400.0, 40.0, l2s, reps)
        else:
            runs = np.unique(self.svs.run[rec.svs])
            in_root = np.isin(self.trees.run, runs) & self._node_ok
            links = [op.skeleton_link for op in self.edits(rid) if op.skeleton_link is not None]
            somas = [int(s) for s in self.trees.soma_node if in_root[s]]
            sk = build_skeleton(
                np.flatnonzero(in_root), self.trees.pos_nm, self.trees.radius_nm,
                self.trees.parent, self._node_ok, in_root, links,  # type: ignore[arg-type]
                somas[0] if somas else None, l2s, reps,
            )
        return sk

    def _memo(self, cache: dict[int, T], key: int, make: Callable[[int], T]) -> T:
        """``cache[key]``, made by ``make(key)`` (outside the lock) on first use."""
        with self._lock:
            hit = cache.get(key)
        if hit is not None:
            return hit
        value = make(key)
        with self._lock:
            cache[key] = value
        return value

    def cable_length(self, root: int) -> float:
        """Sum of the root's skeleton edge lengths, nm."""
        return self.skeleton(root).cable_length()

    def neuron_mesh(self, root: int) -> tuple[np.ndarray, np.ndarray]:
        """A closed tube mesh around the root's skeleton (vertices in nm)."""
        sk = self.skeleton(root)
        return tube_mesh(sk.vertices, sk.edges, sk.radius)

    def crosses_swamp(self, root: int, swamp_id: int) -> bool:
        """Whether any skeleton edge of ``root`` crosses a triangle of swamp ``swamp_id``."""
        sk = self.skeleton(root)
        if len(sk.edges) == 0:
            return False
        v, f = self.swamps[int(swamp_id)]
        hit = segments_cross_triangles(sk.vertices[sk.edges[:, 0]], sk.vertices[sk.edges[:, 1]], v[f])
        return bool(hit.any())

    def swamp_crossings(self, t: float | None = None) -> dict[int, list[int]]:
        """For each swamp ID, the roots latest at ``t`` whose skeletons cross it."""
        roots = [int(r) for r in self.roots_at(t)]
        return {s: [r for r in roots if self.crosses_swamp(r, s)] for s in sorted(self.swamps)}

    # -- points ------------------------------------------------------------------------------

    def viewer_to_seg(self, point: Sequence[float]) -> tuple[int, int, int]:
        """Seg voxel containing a viewer-voxel point."""
        p = np.floor(np.asarray(point, dtype=np.float64) * np.array(self.resolution) / np.array(self.seg_resolution))
        return (int(p[0]), int(p[1]), int(p[2]))

    def seg_to_viewer(self, voxel: Sequence[int]) -> tuple[int, int, int]:
        """A viewer-voxel point inside a seg voxel (its centre, floored, when that maps back)."""
        p = seg_to_view(np.asarray(voxel).reshape(1, 3), self.seg_resolution, self.resolution)[0]
        return (int(p[0]), int(p[1]), int(p[2]))

    def supervoxel_at(self, voxel: Sequence[int]) -> int:
        """Supervoxel ID at a seg voxel (0 for background or outside)."""
        x, y, z = (int(v) for v in voxel)
        if not all(0 <= c < s for c, s in zip((x, y, z), self.shape, strict=True)):
            return 0
        lab = int(self.svs.labels[x, y, z])
        return int(self.svs.ids[lab - 1]) if lab else 0

    def supervoxel_at_viewer(self, point: Sequence[float]) -> int:
        """Supervoxel ID at a viewer-voxel point."""
        return self.supervoxel_at(self.viewer_to_seg(point))

    def root_at_point(self, point: Sequence[float], t: float | None = None) -> int:
        """Root ID at a viewer-voxel point at ``t`` (0 for background)."""
        sv = self.supervoxel_at_viewer(point)
        return int(self.root_of([sv], t)[0]) if sv else 0

    def soma_position(self, neuron: int) -> tuple[int, int, int]:
        """Soma centre of a neuron in viewer voxels."""
        c = self.trees.pos_nm[self.trees.soma_node[neuron]]
        vox = np.floor(c / np.array(self.seg_resolution)).astype(int)
        return self.seg_to_viewer(vox)

    def watershed_chunk(self, lo: Sequence[int], hi: Sequence[int]) -> bytes:
        """Raw little-endian uint64 supervoxel IDs of a seg-voxel box, Fortran order."""
        sub = self.svs.labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        table = np.concatenate([np.zeros(1, dtype=U64), self.svs.ids.astype(U64)])
        return np.asarray(table[sub], dtype="<u8").tobytes(order="F")

    # -- tables ------------------------------------------------------------------------------

    def table(self, name: str, t: float | None = None, version: int | None = None) -> pd.DataFrame:
        """Ground-truth snapshot of a table: at a materialization ``version`` or live at ``t``."""
        if version is not None:
            t = self.version_timestamps[int(version)]
        t = time.time() if t is None else float(t)
        return self.tables[name].snapshot(lambda s, tt: self.graph.roots_at(s, tt), t)

    def synapse_counts(self, root: int, t: float | None = None, version: int | None = None) -> tuple[int, int]:
        """(incoming, outgoing) synapse counts of ``root`` at ``t`` or a version.

        Autapses count both ways.
        """
        df = self.table("synapses", t=t, version=version)
        r = int(root)
        return int((df["post_pt_root_id"] == r).sum()), int((df["pre_pt_root_id"] == r).sum())

    def describe(self) -> dict[str, Any]:
        """A short summary (sizes, counts) for logs and docs."""
        return {
            "seed": self.seed,
            "n_neurons": self.n_neurons,
            "n_supervoxels": int(len(self.svs.ids)) + (self.graph.huge.n_supervoxels if self.graph.huge else 0),
            "n_roots": len(self.graph.roots),
            "n_operations": len(self.graph.operations),
            "n_l2": len(self.graph.l2_ids),
            "long_history": self.long_history,
            "versions": dict(self.version_timestamps),
            "tables": {k: v.n_rows for k, v in self.tables.items()},
        }

    def __repr__(self) -> str:
        return (
            f"World(seed={self.seed}, n_neurons={self.n_neurons}, "
            f"huge_neuron={self.has_huge_neuron}"
            + (f", long_history={self.long_history})" if self.long_history else ")")
        )


__all__ = ["World", "ChunkGraph", "Operation", "Story", "T0"]
