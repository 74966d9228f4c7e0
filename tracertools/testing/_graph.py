"""The chunkedgraph of the LocalCave world: roots over time, L2/L3 nodes, lineage.

The agglomeration is a partition of the supervoxels that changes at every operation. An
*epoch* is the state after the first ``e`` operations; epoch 0 starts at the creation time of
the original roots. A root is *latest* at time ``t`` when it was created at or before ``t``
and not superseded at or before ``t`` (PyChunkedGraph reads rows with ``end_time=t``).
An L2 node is (chunk, set of supervoxels) and an L3 node (layer-3 chunk, set of L2 nodes); a new
root inherits the nodes of its former roots whose content is unchanged, so only the chunks an
edit touched get new IDs, and IDs are never reused.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tracertools.testing._ids import GraphLayout
from tracertools.testing._lineage import LineageMixin

U64 = np.uint64
IdArray = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]


class UnknownNodeError(KeyError):
    """A node ID the world never created."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = [int(i) for i in ids]
        super().__init__(self.ids)

    def __str__(self) -> str:
        shown = ", ".join(str(i) for i in self.ids[:5])
        more = f" and {len(self.ids) - 5} more" if len(self.ids) > 5 else ""
        return f"node id(s) {shown}{more} do not exist"


@dataclass(frozen=True)
class Operation:
    """One edit (merge or split) of the world's history.

    Coordinates are in segmentation mip-0 voxels, like PyChunkedGraph's operation log.
    """

    operation_id: int
    timestamp: float
    user_id: str
    is_merge: bool
    before_roots: tuple[int, ...]
    after_roots: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]
    source_coords: tuple[tuple[int, int, int], ...]
    sink_coords: tuple[tuple[int, int, int], ...]
    source_ids: tuple[int, ...]
    sink_ids: tuple[int, ...]
    skeleton_link: tuple[int, int] | None = None


@dataclass
class RootRecord:
    """A root ID, when it lived and what it is made of.

    Attributes:
        root_id: the ID (layer ``n_layers``).
        created: creation time, epoch seconds.
        created_by: the operation that created it (None for original roots).
        superseded: time it stopped being latest, or None.
        superseded_by: the operation that ended it, or None.
        parents: former roots (lineage edges point parent -> child).
        children: roots that replaced it.
        svs: sorted supervoxel indices (empty for the lazy huge neuron).
        huge: whether this is the lazily represented huge neuron.
    """

    root_id: int
    created: float
    created_by: int | None
    superseded: float | None = None
    superseded_by: int | None = None
    parents: tuple[int, ...] = ()
    children: tuple[int, ...] = ()
    svs: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    huge: bool = False

    def alive_at(self, t: float) -> bool:
        """Latest at ``t``: created at or before ``t`` and not yet superseded."""
        return self.created <= t and (self.superseded is None or self.superseded > t)


@dataclass(frozen=True)
class HugeNeuron:
    """A neuron with very many supervoxels, generated on demand (never voxelized).

    Its supervoxels in chunk ``c`` have segment numbers ``base .. base + per_chunk - 1``.
    """

    root_id: int
    chunks: tuple[tuple[int, int, int], ...]
    per_chunk: int
    base: int
    created: float

    @property
    def n_supervoxels(self) -> int:
        return self.per_chunk * len(self.chunks)

    def supervoxels(self, layout: GraphLayout, chunks: Sequence[tuple[int, int, int]] | None = None) -> IdArray:
        """Supervoxel IDs (sorted), optionally only those of ``chunks``."""
        use = self.chunks if chunks is None else tuple(c for c in self.chunks if c in chunks)
        parts = []
        seg = np.arange(self.base, self.base + self.per_chunk, dtype=np.int64)
        for c in sorted(use, key=lambda c: layout.encode(1, c, 0)):
            parts.append(layout.encode_many(1, np.tile(np.array(c), (self.per_chunk, 1)), seg))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=U64)

    def contains(self, layout: GraphLayout, ids: IdArray) -> npt.NDArray[np.bool_]:
        """Which layer-1 ``ids`` belong to this neuron."""
        ids = np.asarray(ids, dtype=U64)
        seg = ids & U64((1 << layout.segment_bits(1)) - 1)
        ok = (seg >= U64(self.base)) & (seg < U64(self.base + self.per_chunk))
        ch = layout.chunks_of(1, ids)
        in_chunk = np.zeros(len(ids), dtype=bool)
        for c in self.chunks:
            in_chunk |= np.all(ch == np.array(c), axis=1)
        return ok & in_chunk & (layout.layers_of(ids) == 1)


class ChunkGraph(LineageMixin):
    """Roots, higher-layer nodes and history over a fixed supervoxel table.

    Args:
        layout: the ID bit layout.
        sv_ids: (S,) supervoxel IDs.
        sv_chunk: (S, 3) layer-2 chunk of each supervoxel.
        epochs: root ID of each supervoxel after 0, 1, ..., n operations.
        roots: all root records, by ID.
        operations: the operations in time order.
        huge: the huge neuron, if any.
    """

    def __init__(
        self,
        layout: GraphLayout,
        sv_ids: IdArray,
        sv_chunk: IntArray,
        epochs: list[IdArray],
        roots: dict[int, RootRecord],
        operations: list[Operation],
        t0: float,
        huge: HugeNeuron | None = None,
    ) -> None:
        self.layout = layout
        self.sv_ids = sv_ids
        self.sv_chunk = sv_chunk
        self._sv_order = np.argsort(sv_ids)
        self._sv_sorted = sv_ids[self._sv_order]
        self.epochs = epochs
        self.roots = roots
        self.operations = operations
        self.op_by_id = {op.operation_id: op for op in operations}
        self.op_times = [op.timestamp for op in operations]
        self.t0 = t0
        self.huge = huge
        self._build_nodes()

    # -- time ------------------------------------------------------------------------------

    def epoch_at(self, t: float) -> int:
        """Number of operations applied at time ``t`` (inclusive)."""
        return bisect.bisect_right(self.op_times, t)

    # -- node registry ---------------------------------------------------------------------

    def _build_nodes(self) -> None:
        lay = self.layout
        self.l2_ids: list[int] = []
        self.l2_svs: list[IntArray] = []
        self.l2_chunk: list[tuple[int, int, int]] = []
        self.l2_index: dict[int, int] = {}
        self.l3_ids: list[int] = []
        self.l3_children: list[IdArray] = []
        self.l3_index: dict[int, int] = {}
        self.root_l2: dict[int, dict[tuple[int, int, int], int]] = {}
        self.root_l3: dict[int, dict[tuple[int, int, int], int]] = {}
        self.l2_roots: dict[int, list[int]] = {}
        self.l3_roots: dict[int, list[int]] = {}
        self.huge_l2: set[int] = set()
        self.node_created: dict[int, float] = {}
        l2_seg: dict[tuple[int, int, int], int] = {}
        l3_seg: dict[tuple[int, int, int], int] = {}
        order = sorted(self.roots.values(), key=lambda r: (r.created, r.root_id))
        for rec in order:
            # nodes are inherited from the former roots where their content is unchanged
            old_l2: dict[tuple[tuple[int, int, int], bytes], int] = {}
            old_l3: dict[tuple[tuple[int, int, int], bytes], int] = {}
            for p in rec.parents:
                for c, l2 in self.root_l2[p].items():
                    old_l2[(c, self.l2_svs[self.l2_index[l2]].tobytes())] = l2
                for c, l3 in self.root_l3[p].items():
                    old_l3[(c, self.l3_children[self.l3_index[l3]].tobytes())] = l3
            chunk_map: dict[tuple[int, int, int], int] = {}
            if rec.huge:
                assert self.huge is not None
                for c in self.huge.chunks:
                    chunk_map[c] = self._new_l2(c, np.zeros(0, dtype=np.int64), l2_seg)
                    self.huge_l2.add(chunk_map[c])
            else:
                svs = rec.svs
                ch = self.sv_chunk[svs]
                flat = ch[:, 0] + lay.grid[0] * (ch[:, 1] + lay.grid[1] * ch[:, 2])
                srt = np.argsort(flat, kind="stable")
                flat_s = flat[srt]
                bounds = np.r_[0, np.flatnonzero(np.diff(flat_s)) + 1, len(flat_s)]
                for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                    if a == b:
                        continue
                    members = np.sort(svs[srt[a:b]])
                    c = lay.chunk_from_index(int(flat_s[a]))
                    hit = old_l2.get((c, members.tobytes()))
                    chunk_map[c] = hit if hit is not None else self._new_l2(c, members, l2_seg)
            self.root_l2[rec.root_id] = chunk_map
            for l2 in chunk_map.values():
                self.l2_roots.setdefault(l2, []).append(rec.root_id)
                self.node_created.setdefault(l2, rec.created)
            # layer 3 .. n_layers - 1
            l3_map: dict[tuple[int, int, int], int] = {}
            if lay.n_layers > 3:
                groups: dict[tuple[int, int, int], list[int]] = {}
                for c, l2 in chunk_map.items():
                    groups.setdefault(lay.parent_chunk(c, 3), []).append(l2)
                for c3, members3 in sorted(groups.items()):
                    arr = np.array(sorted(members3), dtype=U64)
                    hit3 = old_l3.get((c3, arr.tobytes()))
                    if hit3 is None:
                        seg = l3_seg.get(c3, 0) + 1
                        l3_seg[c3] = seg
                        hit3 = lay.encode(3, c3, seg)
                        self.l3_index[hit3] = len(self.l3_ids)
                        self.l3_ids.append(hit3)
                        self.l3_children.append(arr)
                    l3_map[c3] = hit3
                    self.l3_roots.setdefault(hit3, []).append(rec.root_id)
                    self.node_created.setdefault(hit3, rec.created)
            self.root_l3[rec.root_id] = l3_map

    def _new_l2(
        self, chunk: tuple[int, int, int], members: IntArray, segs: dict[tuple[int, int, int], int]
    ) -> int:
        seg = segs.get(chunk, 0) + 1
        segs[chunk] = seg
        nid = self.layout.encode(2, chunk, seg)
        self.l2_index[nid] = len(self.l2_ids)
        self.l2_ids.append(nid)
        self.l2_svs.append(members)
        self.l2_chunk.append(chunk)
        return nid

    def is_huge_l2(self, l2: int) -> bool:
        """Whether an L2 ID belongs to the huge neuron."""
        return int(l2) in self.huge_l2

    # -- lookups ---------------------------------------------------------------------------

    def sv_index(self, ids: IdArray) -> IntArray:
        """Supervoxel index of each ID, -1 where it is not a regular supervoxel."""
        ids = np.asarray(ids, dtype=U64)
        if len(self._sv_sorted) == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.searchsorted(self._sv_sorted, ids)
        pos = np.clip(pos, 0, len(self._sv_sorted) - 1)
        ok = self._sv_sorted[pos] == ids
        out = np.where(ok, self._sv_order[pos], -1)
        return out.astype(np.int64)

    def exists(self, node_id: int) -> bool:
        """Whether the world ever created ``node_id``."""
        nid = int(node_id)
        layer = self.layout.layer_of(nid)
        if layer == 1:
            if self.sv_index(np.array([nid], dtype=U64))[0] >= 0:
                return True
            return self.huge is not None and bool(self.huge.contains(self.layout, np.array([nid], dtype=U64))[0])
        if layer == 2:
            return nid in self.l2_index
        if layer == self.layout.n_layers:
            return nid in self.roots
        if 2 < layer < self.layout.n_layers:
            return nid in self.l3_index
        return False

    def roots_at(self, ids: IdArray, t: float, stop_layer: int | None = None) -> IdArray:
        """Ancestor of each node at ``t`` on ``stop_layer`` (default: the root); 0 maps to 0.

        Raises:
            UnknownNodeError: some IDs were never created.
        """
        lay = self.layout
        ids = np.asarray(ids, dtype=U64).reshape(-1)
        out = np.zeros(len(ids), dtype=U64)
        if len(ids) == 0:
            return out
        top = lay.n_layers if stop_layer is None else min(int(stop_layer), lay.n_layers)
        layers = lay.layers_of(ids)
        nz = ids != 0
        done = nz & (layers >= top)
        out[done] = ids[done]
        todo = nz & ~done
        # representative supervoxel of each node to look up
        rep_idx = np.full(len(ids), -1, dtype=np.int64)
        huge_mask = np.zeros(len(ids), dtype=bool)
        l1 = todo & (layers == 1)
        if np.any(l1):
            rep_idx[l1] = self.sv_index(ids[l1])
            if self.huge is not None:
                miss = l1 & (rep_idx < 0)
                if np.any(miss):
                    huge_mask[miss] = self.huge.contains(lay, ids[miss])
        for i in np.flatnonzero(todo & (layers > 1)).tolist():
            nid = int(ids[i])
            members = self._members_l1(nid)
            if members is None:
                raise UnknownNodeError([nid])
            if isinstance(members, str):
                huge_mask[i] = True
            else:
                rep_idx[i] = int(members[0])
        unknown = todo & (rep_idx < 0) & ~huge_mask
        if np.any(unknown):
            raise UnknownNodeError(ids[unknown].tolist())
        epoch = self.epochs[self.epoch_at(t)]
        roots = np.zeros(len(ids), dtype=U64)
        reg = todo & (rep_idx >= 0)
        roots[reg] = epoch[rep_idx[reg]]
        for i in np.flatnonzero(reg & (layers > 1)).tolist():
            roots[i] = U64(self._holder(int(ids[i]), int(roots[i]), t))
        if self.huge is not None:
            roots[huge_mask] = U64(self.huge.root_id)
        if top >= lay.n_layers:
            out[todo] = roots[todo]
            return out
        # map (root, layer-2 chunk) to the layer-``top`` node, once per distinct pair
        chunks = np.zeros((len(ids), 3), dtype=np.int64)
        chunks[reg] = self.sv_chunk[rep_idx[reg]]
        for layer in (1, 2):
            m = huge_mask & (layers == layer)
            if np.any(m):
                chunks[m] = lay.chunks_of(layer, ids[m])
        idx = np.flatnonzero(todo & ((layers <= 2) | ~huge_mask))
        uroots, rinv = np.unique(roots[idx], return_inverse=True)
        gx, gy, gz = lay.grid
        c = chunks[idx]
        key = rinv.reshape(-1).astype(np.int64) * (gx * gy * gz) + c[:, 0] + gx * (c[:, 1] + gy * c[:, 2])
        ukey, inv = np.unique(key, return_inverse=True)
        vals = np.zeros(len(ukey), dtype=U64)
        for j, k in enumerate(ukey.tolist()):
            root = int(uroots[k // (gx * gy * gz)])
            chunk = lay.chunk_from_index(k % (gx * gy * gz))
            if top == 2:
                vals[j] = U64(self.root_l2[root][chunk])
            else:
                vals[j] = U64(self.root_l3[root][lay.parent_chunk(chunk, 3)])
        out[idx] = vals[np.asarray(inv).reshape(-1)]
        rest = todo & ~((layers <= 2) | ~huge_mask)
        out[rest] = ids[rest]
        return out

    def _holder(self, nid: int, root: int, t: float) -> int:
        """The root an L2/L3 node reports at ``t``: ``root`` (its first supervoxel's) while the
        node is part of it; once an edit replaced the node, the last root that held it.

        PyChunkedGraph never rewrites the parent of a node an edit replaced, so its roots walk
        ends at the root that was current when the node was retired (a stale root).
        """
        layer = self.layout.layer_of(nid)
        holders = self.l2_roots.get(nid, []) if layer == 2 else self.l3_roots.get(nid, [])
        if not holders or root in holders:
            return root
        before = [r for r in holders if self.roots[r].created <= t]
        return max(before, key=lambda r: self.roots[r].created) if before else root

    def _members_l1(self, nid: int) -> IntArray | str | None:
        """Supervoxel indices under an L2/L3 node ("huge" for the huge neuron)."""
        layer = self.layout.layer_of(nid)
        if layer == 2:
            i = self.l2_index.get(nid)
            if i is None:
                return None
            if self.is_huge_l2(nid):
                return "huge"
            return self.l2_svs[i]
        if 2 < layer < self.layout.n_layers:
            j = self.l3_index.get(nid)
            if j is None:
                return None
            first = self._members_l1(int(self.l3_children[j][0]))
            return first
        if layer == self.layout.n_layers:
            rec = self.roots.get(nid)
            if rec is None:
                return None
            return "huge" if rec.huge else rec.svs
        return None

    def leaves(
        self, node_id: int, stop_layer: int = 1, bounds: npt.NDArray[np.int64] | None = None
    ) -> IdArray:
        """Descendants of ``node_id`` on ``stop_layer`` (sorted), optionally within ``bounds``.

        Args:
            node_id: any node.
            stop_layer: layer of the returned nodes (1 = supervoxels).
            bounds: (3, 2) ``[[x0, x1], [y0, y1], [z0, z1]]`` in seg mip-0 voxels; a node is kept
                when its chunk overlaps the box (PyChunkedGraph's chunk-level filtering).

        Raises:
            UnknownNodeError: the node was never created.
        """
        lay = self.layout
        nid = int(node_id)
        layer = lay.layer_of(nid)
        stop_layer = max(1, int(stop_layer))
        if not self.exists(nid):
            raise UnknownNodeError([nid])
        if layer <= stop_layer:
            return np.array([nid], dtype=U64)
        if layer == lay.n_layers:
            rec = self.roots[nid]
            if rec.huge and stop_layer == 1:
                assert self.huge is not None
                chunks = self._chunks_in(self.huge.chunks, 2, bounds)
                return self.huge.supervoxels(lay, chunks)
            if stop_layer == 1:
                out = self.sv_ids[rec.svs]
            elif stop_layer == 2:
                out = np.array(list(self.root_l2[nid].values()), dtype=U64)
            else:
                out = np.array(list(self.root_l3[nid].values()), dtype=U64)
        elif 2 < layer < lay.n_layers:
            kids = self.l3_children[self.l3_index[nid]]
            if stop_layer == 2:
                out = kids
            else:
                parts = [self.leaves(int(k), 1, None) for k in kids.tolist()]
                out = np.concatenate(parts) if parts else np.zeros(0, dtype=U64)
        else:  # layer 2
            i = self.l2_index[nid]
            if self.is_huge_l2(nid):
                assert self.huge is not None
                out = self.huge.supervoxels(lay, [self.l2_chunk[i]])
            else:
                out = self.sv_ids[self.l2_svs[i]]
        out = np.sort(np.asarray(out, dtype=U64))
        if bounds is not None and len(out):
            out = out[self._in_bounds(out, stop_layer, bounds)]
        return out

    def _chunk_box(self, layer: int) -> npt.NDArray[np.int64]:
        f = 2 ** max(0, layer - 2)
        return np.array(self.layout.chunk_size, dtype=np.int64) * f

    def _in_bounds(self, ids: IdArray, layer: int, bounds: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        ch = self.layout.chunks_of(layer, ids)
        box = self._chunk_box(layer)
        lo = ch * box
        hi = lo + box
        b = np.asarray(bounds, dtype=np.int64).reshape(3, 2)
        return np.all((lo < b[:, 1]) & (hi > b[:, 0]), axis=1)

    def _chunks_in(
        self, chunks: Sequence[tuple[int, int, int]], layer: int, bounds: npt.NDArray[np.int64] | None
    ) -> list[tuple[int, int, int]]:
        if bounds is None:
            return list(chunks)
        box = self._chunk_box(layer)
        b = np.asarray(bounds, dtype=np.int64).reshape(3, 2)
        keep = []
        for c in chunks:
            lo = np.array(c) * box
            if np.all((lo < b[:, 1]) & (lo + box > b[:, 0])):
                keep.append(c)
        return keep

    def created(self, node_id: int) -> float:
        """Creation time of any existing node (supervoxels: the start of the world)."""
        nid = int(node_id)
        if nid in self.roots:
            return self.roots[nid].created
        return self.node_created.get(nid, self.t0)

    def children(self, node_id: int) -> IdArray:
        """Direct children of a node (one layer down)."""
        nid = int(node_id)
        layer = self.layout.layer_of(nid)
        if not self.exists(nid):
            raise UnknownNodeError([nid])
        if layer == 1:
            return np.zeros(0, dtype=U64)
        return self.leaves(nid, layer - 1)

    def n_supervoxels(self, root: int) -> int:
        """Number of supervoxels of a root."""
        rec = self.roots[int(root)]
        if rec.huge:
            assert self.huge is not None
            return self.huge.n_supervoxels
        return int(len(rec.svs))
