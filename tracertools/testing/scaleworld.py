"""ScaleWorld: a BANC-sized synthetic world, generated lazily, served by LocalCave.

Example::

    from tracertools.testing import LocalCave, ScaleWorld

    world = ScaleWorld(seed=0)                       # 100,000 neurons; nothing built yet
    with LocalCave(world=world, datastack_name="scale") as cave:
        client = cave.client()
        root = world.neuron_root(42)
        assert client.chunkedgraph.is_latest_roots([root])[0]

Every neuron is derived from ``(seed, neuron index)`` on demand (see `._scaleplan`) and
kept in a cache bounded in bytes, so start-up is instant, memory follows what a session
touches, and any ground truth about a neuron costs time proportional to that neuron. IDs
follow the real 10-layer graphene layout (`._scalegraph`); tables are generated per
query (`._scaletables`). The server starts with real service limits (row cap, 10 MB
body limit, a per-token rate limit), see `ScaleWorld.service_limits`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tracertools.testing._graph import Operation, UnknownNodeError
from tracertools.testing._ids import GraphLayout
from tracertools.testing._meshes import box_mesh, tube_mesh
from tracertools.testing._scalegeom import Geometry
from tracertools.testing._scalegraph import ScaleGraph
from tracertools.testing._scalehash import uniform
from tracertools.testing._scaleplan import DAY, OPS_PER_NEURON, NeuronPlan, ScaleParams
from tracertools.testing._scaletables import (
    CellInfoTable,
    ProofreadingTable,
    ScaleTable,
    SynapseTable,
    run_query,
)
from tracertools.testing._skeletons import Skeleton
from tracertools.testing._tables import QueryError
from tracertools.testing._worldapi import CHANGE_LOG_COLUMNS, RootLineage, finish_change_log

IdArray = npt.NDArray[np.uint64]
U64 = np.uint64
FIRST_NAMES = ("Ada", "Ben", "Cleo", "Dev", "Eve", "Fei", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
LAST_NAMES = ("Byron", "Cajal", "Golgi", "Sherrington", "Hodgkin", "Huxley", "Katz", "Eccles")


class ScaleWorld(RootLineage):
    """A lazily generated, seeded synthetic connectome at datastack scale.

    Args:
        seed: the world is a function of the arguments.
        n_neurons: current neurons (one soma chunk each), at most 524,287.
        sv_median: median supervoxels per neuron (log-normal, clipped to [200, 2,500,000]).
        sv_sigma: sigma of the log of supervoxels per neuron.
        giant_supervoxels: supervoxels of the giant neuron(s) (`giant_neurons`).
        edited_fraction: fraction of neurons with an edit history (median 4 edits, a tail
            to 500).
        long_history_ops: operations of each long-history neuron (`long_history_neurons`).
        n_long_history: number of long-history neurons.
        row_cap: materialization ``QUERY_LIMIT_SIZE`` (rows).
        body_limit_bytes: request body limit (413 beyond).
        rate_limit_per_s: per-token request rate (429 with ``Retry-After`` beyond); None: off.
        rate_limit_burst: requests a token may send at once.
        cache_mb: memory budget of the neuron cache, MiB.
        skeleton_cached_fraction: share of roots whose skeletons the skeleton service already
            holds (the rest appear after a generation request).

    Sizes (defaults): a 64 x 160 x 64 grid of 256 x 256 x 128-voxel chunks at 16 x 16 x 45 nm
    (262 x 655 x 369 µm), 10 chunkedgraph layers, viewer resolution 4 x 4 x 45 nm. Edits
    happen between ``t0`` (2024-01-01) and ``t0 + 540 days``; materialization versions 1-5
    are evenly spaced over that period.
    """

    def __init__(
        self,
        seed: int = 0,
        n_neurons: int = 100_000,
        *,
        sv_median: float = 20_000.0,
        sv_sigma: float = 1.0,
        giant_supervoxels: int = 1_500_000,
        edited_fraction: float = 0.3,
        long_history_ops: int = 5_000,
        n_long_history: int = 3,
        row_cap: int = 500_000,
        body_limit_bytes: int = 10_000_000,
        rate_limit_per_s: float | None = 10.0,
        rate_limit_burst: int = 10,
        cache_mb: float = 512.0,
        skeleton_cached_fraction: float = 0.9,
    ) -> None:
        self.params = ScaleParams(
            seed=int(seed), n_neurons=int(n_neurons), sv_median=float(sv_median), sv_sigma=float(sv_sigma),
            giant_supervoxels=int(giant_supervoxels), edited_fraction=float(edited_fraction),
            long_history_ops=int(long_history_ops), n_long_history=int(n_long_history),
        )
        p = self.params
        self.seed = p.seed
        self.n_neurons = p.n_neurons
        self.layout = GraphLayout.for_grid(p.grid, p.chunk_size)
        self.resolution = tuple(p.resolution)
        self.seg_resolution = tuple(p.seg_resolution)
        self.chunk_size = tuple(p.chunk_size)
        self.shape = tuple(g * c for g, c in zip(p.grid, p.chunk_size, strict=True))
        self.t0 = p.t0
        self.t_end = p.t0 + p.edit_days * DAY
        self.version_timestamps = {
            v: p.t0 + p.edit_days * DAY * v / p.n_versions for v in range(1, p.n_versions + 1)
        }
        self.skeleton_cached_fraction = float(skeleton_cached_fraction)
        self._limits = {
            "row_cap": int(row_cap), "body_limit_bytes": int(body_limit_bytes),
            "rate_limit_per_s": None if rate_limit_per_s is None else float(rate_limit_per_s),
            "rate_limit_burst": int(rate_limit_burst),
        }
        self.graph = ScaleGraph(p, self.layout, int(cache_mb * 2**20))
        self.geometry = Geometry(self.graph)
        self.tables: dict[str, ScaleTable] = {
            t.name: t for t in (SynapseTable(self.graph), ProofreadingTable(self.graph), CellInfoTable(self.graph))
        }
        self._lock = threading.Lock()
        self._skeletons: OrderedDict[int, Skeleton] = OrderedDict()
        self._counts: dict[tuple[str, float | None], int] = {}
        self._swamps: dict[int, tuple[np.ndarray, np.ndarray]] | None = None

    # -- identity ----------------------------------------------------------------------------

    @property
    def giant_neurons(self) -> tuple[int, ...]:
        """Neurons with ``giant_supervoxels`` supervoxels."""
        return self.graph.sc.giants

    @property
    def long_history_neurons(self) -> tuple[int, ...]:
        """Neurons with ``long_history_ops`` operations (a small piece split off and merged
        back, again and again)."""
        return self.graph.sc.long_history

    @property
    def ws_chunk_size(self) -> tuple[int, ...]:
        """Chunk size of the served watershed scale (seg voxels)."""
        return (64, 64, 32)

    @property
    def service_limits(self) -> Mapping[str, Any]:
        """Fault settings LocalCave starts (and resets) with: ``row_cap``,
        ``body_limit_bytes``, ``rate_limit_per_s``, ``rate_limit_burst``."""
        return dict(self._limits)

    @property
    def latest_version(self) -> int:
        return max(self.version_timestamps)

    def summary(self) -> str:
        return f"LocalCave scale world (seed {self.seed}, {self.n_neurons} neurons, generated lazily)"

    def __repr__(self) -> str:
        return f"ScaleWorld(seed={self.seed}, n_neurons={self.n_neurons})"

    def describe(self) -> dict[str, Any]:
        """Sizes and settings (computing the table sizes scans every neuron's counts once)."""
        n_sv, _, n_ops = self.graph.sc.of(np.arange(self.n_neurons))
        return {
            "seed": self.seed,
            "n_neurons": self.n_neurons,
            "n_supervoxels": int(n_sv.sum()),
            "supervoxels_median": float(np.median(n_sv)),
            "supervoxels_max": int(n_sv.max()),
            "edited_neurons": int((n_ops > 0).sum()),
            "n_operations": int(n_ops.sum()),
            "max_operations": int(n_ops.max()),
            "n_layers": self.layout.n_layers,
            "versions": dict(self.version_timestamps),
            "tables": {name: self.table_count(name, None) for name in self.tables},
            "limits": self.service_limits,
            "cached_neurons": len(self.graph.plan),
            "cached_mb": round(self.graph.plan.nbytes / 2**20, 1),
        }

    # -- neurons -----------------------------------------------------------------------------

    def plan(self, neuron: int) -> NeuronPlan:
        """The (cached) generated description of one neuron."""
        k = int(neuron)
        if not 0 <= k < self.n_neurons:
            raise ValueError(f"neuron index {k} is outside 0 .. {self.n_neurons - 1}")
        return self.graph.plan(k)

    def _now(self, t: float | None) -> float:
        return time.time() if t is None else float(t)

    def _root(self, root: int) -> tuple[NeuronPlan, int]:
        d = self.graph.decode_root(int(root))
        if d is None:
            raise UnknownNodeError([int(root)])
        return self.graph.plan(d[0]), d[1]

    def neuron_of(self, node_id: int) -> int:
        """The neuron a root, L2 node or supervoxel belongs to."""
        k, _, _ = self.graph.resolve(np.array([int(node_id)], dtype=U64))
        if k[0] < 0:
            raise UnknownNodeError([int(node_id)])
        return int(k[0])

    def neuron_root(self, neuron: int, t: float | None = None) -> int:
        """Root holding the neuron's soma at ``t`` (default: now)."""
        pl = self.plan(neuron)
        return self.graph.root_id(pl.k, int(pl.root_of_pieces(np.array([0]), self._now(t))[0]))

    def neuron_roots(self, neuron: int) -> pd.DataFrame:
        """Every root of a neuron: ``root_id``, ``created``, ``superseded`` (inf: latest), ``n_supervoxels``."""
        pl = self.plan(neuron)
        return pd.DataFrame({
            "root_id": self.graph.root_ids(pl.k, np.arange(pl.n_roots)).astype(np.int64),
            "created": pl.created, "superseded": pl.superseded,
            "n_supervoxels": [pl.mask_svs(int(m)) for m in pl.masks],
        })

    def edited(self, neuron: int) -> bool:
        """Whether the neuron has an edit history."""
        return bool(self.graph.sc.n_operations(int(neuron))[0] > 0)

    def historical_ids(self, n: int, seed: int = 0) -> IdArray:
        """``n`` root IDs as a sheet collected over time holds them: the root of a random
        neuron's soma at a random time between ``t0`` and the end of the edits."""
        rng = np.random.default_rng([self.seed, seed, 0x5EE7])
        ks = rng.integers(0, self.n_neurons, n)
        ts = rng.uniform(self.t0, self.t_end, n)
        return np.array([self.neuron_root(int(k), float(t)) for k, t in zip(ks, ts, strict=True)], dtype=U64)

    def sample_ids(self, n: int, stale_fraction: float = 0.1, seed: int = 0) -> IdArray:
        """``n`` *distinct* root IDs from `historical_ids`, a ``stale_fraction`` of them
        stale now and spread evenly (every prefix keeps the fraction, rounded down), so the
        lists for growing ``n`` start with one another. For benchmarks and request-bound tests
        at a chosen size; costs about 1 ms per ID."""
        n = int(n)
        if n < 0 or not 0.0 <= stale_fraction <= 1.0:
            raise ValueError("n must be >= 0 and stale_fraction within [0, 1]")
        n_stale = int(n * stale_fraction)
        fresh: list[int] = []
        stale: list[int] = []
        seen: set[int] = set()
        draw = 0
        while len(fresh) < n - n_stale or len(stale) < n_stale:
            for root in self.historical_ids(1024, seed=seed + 7919 * draw).tolist():
                if root not in seen:
                    seen.add(root)
                    (fresh if self.is_latest(root) else stale).append(root)
            draw += 1
            if draw > 1000:
                raise ValueError(f"this world has too few stale IDs for {n_stale} of them")
        out, f, s = [], 0, 0
        for i in range(n):
            if int((i + 1) * stale_fraction) > int(i * stale_fraction):
                out.append(stale[s])
                s += 1
            else:
                out.append(fresh[f])
                f += 1
        return np.asarray(out, dtype=U64)

    def soma_position(self, neuron: int) -> tuple[int, int, int]:
        """A viewer-voxel point inside the neuron's first soma supervoxel."""
        vox = self.geometry.soma_voxel(self.plan(neuron))
        v = np.floor((vox + 0.5) * np.array(self.seg_resolution) / np.array(self.resolution)).astype(int)
        return (int(v[0]), int(v[1]), int(v[2]))

    # -- ground truth: chunkedgraph ----------------------------------------------------------

    def root_of(self, node_ids: Iterable[int] | int, t: float | None = None) -> IdArray:
        """Root of each supervoxel / L2 / higher node at ``t`` (default: now)."""
        ids = np.atleast_1d(np.asarray(node_ids, dtype=U64))
        return self.graph.roots_at(ids, self._now(t))

    def is_latest(self, root: int, t: float | None = None) -> bool:
        """Whether ``root`` is latest at ``t``."""
        d = self.graph.decode_root(int(root))
        return d is not None and self.graph.plan(d[0]).alive(d[1], self._now(t))

    def root_timestamp(self, root: int) -> float:
        pl, j = self._root(root)
        return float(pl.created[j])

    def supervoxels(self, root: int) -> IdArray:
        """Sorted supervoxel IDs of a root (any root, stale or latest)."""
        return self.graph.leaves(int(root), 1)

    def n_supervoxels(self, root: int) -> int:
        pl, j = self._root(root)
        return pl.mask_svs(int(pl.masks[j]))

    def l2_ids(self, root: int) -> IdArray:
        """Sorted L2 IDs of a root."""
        return self.graph.leaves(int(root), 2)

    def successor_candidates(self, root: int, t: float | None = None) -> list[tuple[int, float]]:
        """Roots latest at ``t`` holding the root's supervoxels, with the fraction each holds,
        by fraction (desc) then ID."""
        pl, j = self._root(root)
        mask = int(pl.masks[j])
        pieces = np.flatnonzero((mask >> np.arange(pl.n_pieces)) & 1)
        now = pl.root_of_pieces(pieces, self._now(t))
        total = pl.mask_svs(mask)
        share: dict[int, int] = {}
        for piece, r in zip(pieces.tolist(), now.tolist(), strict=True):
            rid = self.graph.root_id(pl.k, int(r))
            share[rid] = share.get(rid, 0) + int(pl.piece_svs[piece])
        return sorted(((r, c / total) for r, c in share.items()), key=lambda x: (-x[1], x[0]))

    def edits(self, root: int) -> list[Operation]:
        """Operations in the root's history (those that ended one of its ancestors)."""
        return self.graph.history_ops(int(root))

    def user_sv_credit(self, root: int) -> dict[str, int]:
        """Supervoxels each user contributed to ``root`` (the small world's semantics: a
        merge credits the smaller before-root's supervoxels kept in the root, a split the
        supervoxels removed and not in the root; unique supervoxels per user)."""
        pl, j = self._root(root)
        final = int(pl.masks[j])
        rid = self.graph.root_id
        credit: dict[str, int] = {}
        for op in self.edits(root):
            i = (op.operation_id - 1) % (1 << 13)
            user = op.user_id
            if pl.op_merge[i]:
                a, b = (int(r) for r in pl.op_before[i])
                ka = (pl.mask_svs(int(pl.masks[a])), -rid(pl.k, a))
                kb = (pl.mask_svs(int(pl.masks[b])), -rid(pl.k, b))
                small = a if ka < kb else b
                got = int(pl.masks[small]) & final
            else:
                c = int(pl.op_before[i][0])
                after = [int(r) for r in pl.op_after[i] if r >= 0]
                cont = max(after, key=lambda r: (pl.mask_svs(int(pl.masks[r]) & final), rid(pl.k, r)))
                got = int(pl.masks[c]) & ~int(pl.masks[cont]) & ~final
            credit[user] = credit.get(user, 0) | got
        return {u: pl.mask_svs(m) for u, m in sorted(credit.items())}

    def user_info(self, user_id: str) -> tuple[str, str]:
        """(name, affiliation) of an editor."""
        try:
            i = int(user_id) - 2001
        except ValueError:
            return ("unknown", "unknown")
        if not 0 <= i < self.params.n_users:
            return ("unknown", "unknown")
        name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]}"
        return name, f"Synthetic Lab {chr(ord('A') + i % 6)}"

    # -- ground truth: measurements ----------------------------------------------------------

    def l2_attributes(self, l2_id: int) -> dict[str, Any]:
        """L2-cache attributes of an L2 ID."""
        found = self.l2_data([int(l2_id)])[0]
        if found is None:
            raise UnknownNodeError([int(l2_id)])
        return found

    def volume_nm3(self, root: int) -> float:
        """Exact volume (sum of the root's L2 ``size_nm3``), nm³."""
        pl, j = self._root(root)
        return self.geometry.volume_nm3(pl, int(pl.masks[j]))

    def skeleton(self, root: int) -> Skeleton:
        """The root's skeleton (vertices in nm, one per L2 node)."""
        rid = int(root)
        with self._lock:
            hit = self._skeletons.get(rid)
            if hit is not None:
                self._skeletons.move_to_end(rid)
                return hit
        pl, j = self._root(rid)
        mask = int(pl.masks[j])
        l2 = self.graph.l2_ids(pl.k, pl.root_positions(mask)).tolist()
        sk = self.geometry.skeleton(pl, mask, [int(v) for v in l2])
        with self._lock:
            self._skeletons[rid] = sk
            while len(self._skeletons) > 1024:
                self._skeletons.popitem(last=False)
        return sk

    def cable_length(self, root: int) -> float:
        """Sum of the skeleton's edge lengths, nm."""
        return self.skeleton(root).cable_length()

    def neuron_mesh(self, root: int) -> tuple[np.ndarray, np.ndarray]:
        """Closed tubes around the root's skeleton edges (vertices in nm)."""
        sk = self.skeleton(root)
        return tube_mesh(sk.vertices, sk.edges, np.minimum(sk.radius, 400.0))

    def synapse_counts(self, root: int, t: float | None = None, version: int | None = None) -> tuple[int, int]:
        """(incoming, outgoing) synapses of ``root`` at ``t`` or a version (0, 0 if the root
        is not latest then). Autapses cannot occur (offsets are non-zero)."""
        if version is not None:
            t = self.version_timestamps[int(version)]
        tt = self._now(t)
        pl, j = self._root(root)
        table = self.tables["synapses"]
        assert isinstance(table, SynapseTable)
        if not pl.alive(j, tt) or tt < table.created:
            return 0, 0
        mask = int(pl.masks[j])
        pre = table.own_positions(pl.k, "pre_pt")
        post = table.own_positions(pl.k, "post_pt")
        n_out = int(((mask >> pl.piece_of[pre]) & 1).sum())
        n_in = int(((mask >> pl.piece_of[post]) & 1).sum())
        return n_in, n_out

    def proofreading(self, neuron: int) -> dict[str, Any] | None:
        """The neuron's ``proofreading_status`` row (created, proofread, valid_id), if any."""
        table = self.tables["proofreading_status"]
        k = np.array([int(neuron)])
        if not table.owner_mask(k)[0]:
            return None
        rows = table.base(k)
        created = float(rows.cols["created"][0])
        return {
            "id": int(rows.cols["id"][0]), "created": created,
            "proofread": bool(rows.cols["proofread"][0]),
            "valid_id": self.neuron_root(int(neuron), created),
        }

    def table_rows(self, name: str, neurons: Iterable[int], t: float | None = None,
                   version: int | None = None) -> pd.DataFrame:
        """Rows of a table owned by ``neurons`` (synapses: presynaptic) as served at ``t``
        or a version (positions split into ``_x/_y/_z``)."""
        if version is not None:
            t = self.version_timestamps[int(version)]
        ks = np.unique(np.asarray(list(neurons), dtype=np.int64))
        table = self.tables[name]
        return table.materialize(table.base(ks), self._now(t))

    # -- CaveWorld protocol ------------------------------------------------------------------

    def node_roots(self, ids: IdArray, t: float, stop_layer: int | None = None) -> IdArray:
        return self.graph.roots_at(ids, t, stop_layer)

    def node_leaves(self, node_id: int, stop_layer: int = 1, bounds: npt.NDArray[np.int64] | None = None) -> IdArray:
        return self.graph.leaves(node_id, stop_layer, bounds)

    def node_children(self, node_id: int) -> IdArray:
        return self.graph.children(node_id)

    def root_records(self, ids: IdArray) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        return self.graph.root_records(ids)

    def node_exists(self, ids: IdArray) -> npt.NDArray[np.bool_]:
        return self.graph.exists(ids)

    def node_created(self, node_id: int) -> float:
        return self.graph.created(node_id)

    def lineage_graph(self, root_ids: Iterable[int], t_past: float, t_future: float
                      ) -> tuple[dict[int, dict[str, float | int]], list[tuple[int, int]]]:
        return self.graph.lineage_graph(root_ids, t_past, t_future)

    def past_ids(self, root: int, t_past: float) -> list[int]:
        return self.graph.past_ids(root, t_past)

    def history_operations(self, root: int) -> list[Operation]:
        return self.graph.history_ops(root)

    def operation(self, operation_id: int) -> Operation | None:
        return self.graph.operation(int(operation_id))

    def tabular_change_log(self, root: int, filtered: bool) -> pd.DataFrame:
        """`tabular_change_log()`, vectorized per neuron."""
        pl, j = self._root(root)
        ops = self.edits(root)
        idx = np.array([(op.operation_id - 1) % OPS_PER_NEURON for op in ops], dtype=np.int64)
        pieces = pl.piece_of[pl.op_edge[idx][:, ::-1]] if len(idx) else np.zeros((0, 2), dtype=np.int64)
        cur = pl.epoch_roots[pl.epoch(float(pl.created[j]))][pieces]
        orig = pl.epoch_roots[0][pieces]
        merge = pl.op_merge[idx]
        relevant = np.where(merge, orig[:, 0] != orig[:, 1], cur[:, 0] != cur[:, 1])
        in_neuron = np.where(merge, (cur == j).all(axis=1), (cur == j).any(axis=1))
        users = [op.user_id for op in ops]
        info = [self.user_info(u) for u in users]
        df = pd.DataFrame({
            "operation_id": [op.operation_id for op in ops],
            "timestamp": pd.to_datetime(np.array([op.timestamp for op in ops]) * 1e3, unit="ms"),
            "user_id": users,
            "before_root_ids": [list(op.before_roots) for op in ops],
            "after_root_ids": [list(op.after_roots) for op in ops],
            "is_merge": merge.astype(bool),
            "in_neuron": in_neuron.astype(bool),
            "is_relevant": relevant.astype(bool),
            "user_name": [a for a, _ in info],
            "user_affiliation": [b for _, b in info],
        }, columns=CHANGE_LOG_COLUMNS)
        return finish_change_log(df, filtered)

    def lvl2_edges(self, root: int) -> list[list[int]]:
        pl, j = self._root(root)
        pos = pl.root_positions(int(pl.masks[j]))
        par = pl.parent[pos]
        inside = np.isin(par, pos)
        a = self.graph.l2_ids(pl.k, pos[inside]).astype(np.int64)
        b = self.graph.l2_ids(pl.k, par[inside]).astype(np.int64)
        pairs = np.sort(np.stack([a, b], axis=1), axis=1) if len(a) else np.zeros((0, 2), dtype=np.int64)
        return sorted(pairs.tolist())

    def l2_data(self, l2_ids: Sequence[int]) -> list[dict[str, Any] | None]:
        ids = [int(v) for v in l2_ids]
        ok = np.array([0 < v < 1 << 64 and v >> 56 == 2 for v in ids], dtype=bool)
        out: list[dict[str, Any] | None] = [None] * len(ids)
        if not ok.any():
            return out
        sel = np.flatnonzero(ok)
        k, pos, _ = self.graph.resolve(np.array([ids[i] for i in sel.tolist()], dtype=U64))
        for neuron in np.unique(k[k >= 0]).tolist():
            m = np.flatnonzero(k == neuron)
            attrs = self.geometry.l2_attributes(self.graph.plan(int(neuron)), pos[m])
            for i, a in zip(sel[m].tolist(), attrs, strict=True):
                out[i] = a
        return out

    def skeleton_precached(self, root: int) -> bool:
        return bool(uniform(self.seed, 111, int(root) & ((1 << 63) - 1))[0] < self.skeleton_cached_fraction)

    def watershed_chunk(self, lo: Sequence[int], hi: Sequence[int]) -> bytes | None:
        lo_a, hi_a = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        chunk = lo_a // np.asarray(self.chunk_size)
        flat = int(np.ravel_multi_index(tuple(int(c) for c in chunk), self.params.grid))
        k = int(self.graph.soma_perm.inverse([flat])[0])
        if k >= self.n_neurons:
            return None
        labels = self.geometry.paint(self.graph.plan(k), lo_a, hi_a)
        return None if labels is None else np.asarray(labels, dtype="<u8").tobytes(order="F")

    @property
    def swamps(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Three closed boxes: on neuron 0's and neuron 1's current skeletons, and one in a
        corner of the volume far from most neurons."""
        if self._swamps is None:
            half = np.array([1500.0, 1500.0, 1500.0])
            boxes = []
            for k in (0, 1 % self.n_neurons):
                sk = self.skeleton(self.neuron_root(k, self.t_end + 1))
                boxes.append(np.round(sk.vertices[len(sk.vertices) // 2]))
            boxes.append(np.array([2000.0, 2000.0, 2000.0]))
            self._swamps = {i + 1: box_mesh(c, half) for i, c in enumerate(boxes)}
        return self._swamps

    def table_names(self) -> list[str]:
        return sorted(self.tables)

    def table_metadata(self, name: str, aligned_volume: str, pcg_table: str, version: int | None) -> dict[str, Any]:
        return self.tables[name].metadata(aligned_volume, pcg_table, version)

    def table_count(self, name: str, t: float | None) -> int:
        """Rows of a table existing at ``t`` (counts every neuron's rows once, then cached)."""
        key = (name, None if t is None else float(t))
        with self._lock:
            hit = self._counts.get(key)
        if hit is not None:
            return hit
        table = self.tables[name]
        total = 0
        for k0 in range(0, self.n_neurons, 8192):
            ks = np.arange(k0, min(self.n_neurons, k0 + 8192), dtype=np.int64)
            total += int(table.counts(ks, t).sum())
        with self._lock:
            self._counts[key] = total
        return total

    def query_rows(self, name: str, t: float, body: Mapping[str, Any], max_rows: int,
                   random_sample: int | None = None) -> pd.DataFrame:
        if name not in self.tables:
            raise QueryError(f"unknown table {name!r}")
        return run_query(self.tables[name], t, body, max_rows, random_sample)


__all__ = ["ScaleWorld"]
