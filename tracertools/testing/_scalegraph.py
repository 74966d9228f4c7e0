"""The scale world's chunkedgraph: graphene IDs that decode to (neuron, position, piece set).

ID layout (``N`` = neuron bits, ``n_layers`` = 10, spatial bits as PyChunkedGraph chooses them):

* supervoxel (layer 1): chunk of its position, segment ``(k + 1) << local_bits | i`` for the
  ``i``-th supervoxel of neuron ``k`` in that chunk;
* L2 node (layer 2): chunk of its position, segment ``(k + 1) << local_bits``;
* layer 3 .. 9 node: the layer's chunk, segment ``(k + 1) << 16 | piece mask`` (the pieces of
  the node's root inside that chunk), so a node is named by its content;
* root (layer 10, chunk 0): segment ``2**30 + perm(k * 2**14 + j)`` for the ``j``-th root
  of neuron ``k`` (``perm`` an affine shuffle), so root IDs look unordered but decode.

Every query groups its IDs by neuron and costs time proportional to those neurons.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from tracertools.testing._graph import Operation, RootRecord, UnknownNodeError
from tracertools.testing._ids import GraphLayout
from tracertools.testing._lineage import LineageMixin
from tracertools.testing._scalehash import AffinePerm, hash64
from tracertools.testing._scaleplan import (
    OPS_PER_NEURON,
    ROOTS_PER_NEURON,
    NeuronPlan,
    Scalars,
    ScaleParams,
    build_plan,
)

U64 = np.uint64
IdArray = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]
ROOT_BASE = 1 << 30
HIGH_MASK_BITS = 16
SOMA_BLOCK = np.array([4, 4, 2], dtype=np.int64)


def _xyz(v: list[int]) -> tuple[int, int, int]:
    return (int(v[0]), int(v[1]), int(v[2]))


class PlanCache:
    """Neuron plans, least recently used first out beyond a byte budget."""

    def __init__(self, make: Callable[[int], NeuronPlan], max_bytes: int) -> None:
        self._make = make
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._plans: OrderedDict[int, NeuronPlan] = OrderedDict()
        self._bytes = 0
        self.built = 0

    def __call__(self, k: int) -> NeuronPlan:
        with self._lock:
            hit = self._plans.get(k)
            if hit is not None:
                self._plans.move_to_end(k)
                return hit
        plan = self._make(k)
        with self._lock:
            self.built += 1
            if k not in self._plans:
                self._plans[k] = plan
                self._bytes += plan.nbytes()
            while len(self._plans) > 1 and self._bytes > self.max_bytes:
                _, old = self._plans.popitem(last=False)
                self._bytes -= old.nbytes()
        return plan

    def __len__(self) -> int:
        with self._lock:
            return len(self._plans)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes


class _RootView:
    """``roots[rid] -> RootRecord`` built on demand (what LineageMixin reads)."""

    def __init__(self, g: ScaleGraph) -> None:
        self.g = g

    def __contains__(self, rid: object) -> bool:
        return isinstance(rid, (int, np.integer)) and self.g.decode_root(int(rid)) is not None

    def get(self, rid: int, default: Any = None) -> RootRecord | Any:
        return self[rid] if rid in self else default

    def __getitem__(self, rid: int) -> RootRecord:
        d = self.g.decode_root(int(rid))
        if d is None:
            raise UnknownNodeError([int(rid)])
        return self.g.records(d[0])[d[1]]


class _OpView:
    """``op_by_id[op] -> Operation`` built on demand."""

    def __init__(self, g: ScaleGraph) -> None:
        self.g = g

    def __getitem__(self, op_id: int) -> Operation:
        op = self.g.operation(int(op_id))
        if op is None:
            raise KeyError(op_id)
        return op


class ScaleGraph(LineageMixin):
    """Chunkedgraph queries over lazily built neuron plans."""

    def __init__(self, p: ScaleParams, layout: GraphLayout, cache_bytes: int) -> None:
        self.p = p
        self.layout = layout
        self.sc = Scalars(p, layout)
        self.lb = self.sc.local_bits
        self.n_layers = layout.n_layers
        n_chunks = int(np.prod(p.grid))
        self.soma_perm = AffinePerm(n_chunks, int(hash64(p.seed, 21)[0] % (1 << 62)))
        self.root_bits = max(1, (p.n_neurons * ROOTS_PER_NEURON - 1).bit_length())
        self.root_perm = AffinePerm(1 << self.root_bits, int(hash64(p.seed, 22)[0] % (1 << 62)))
        z = 1.0 / np.arange(1, p.n_users + 1) ** 1.1
        self.user_p = z / z.sum()
        self.plan = PlanCache(lambda k: build_plan(k, p, layout, self.sc, self.soma_perm, self.user_p), cache_bytes)
        self.roots = _RootView(self)  # type: ignore[assignment]
        self.op_by_id = _OpView(self)  # type: ignore[assignment]
        self.t0 = p.t0

    # -- IDs ---------------------------------------------------------------------------------

    def root_id(self, k: int, j: int) -> int:
        seg = ROOT_BASE + self.root_perm.forward_int(k * ROOTS_PER_NEURON + j)
        return (self.n_layers << 56) | seg

    def root_ids(self, k: int, js: IntArray) -> IdArray:
        seg = ROOT_BASE + self.root_perm.forward(k * ROOTS_PER_NEURON + np.asarray(js, dtype=np.int64))
        return self.layout.encode_many(self.n_layers, np.zeros((len(seg), 3), dtype=np.int64), seg)

    def decode_roots(self, ids: IdArray) -> tuple[IntArray, IntArray]:
        """(neuron, root index) per root-layer ID; -1 where it names no root that exists."""
        ids = np.asarray(ids, dtype=U64)
        s = self.layout.segment_bits(self.n_layers)
        seg = (ids & U64((1 << s) - 1)).astype(np.int64)
        ok = (ids >> U64(s)) == U64(self.n_layers << (64 - 8 - s))  # root layer, chunk (0, 0, 0)
        y = seg - ROOT_BASE
        ok &= (y >= 0) & (y < (1 << self.root_bits))
        x = self.root_perm.inverse(np.where(ok, y, 0))
        k = np.where(ok, x // ROOTS_PER_NEURON, -1)
        j = np.where(ok, x % ROOTS_PER_NEURON, -1)
        ok &= k < self.p.n_neurons
        k = np.where(ok, k, -1)
        for kk in np.unique(k[k >= 0]).tolist():
            sel = k == kk
            bad = sel & (j >= self.plan(int(kk)).n_roots)
            k[bad] = -1
        j = np.where(k >= 0, j, -1)
        return k, j

    def decode_root(self, rid: int) -> tuple[int, int] | None:
        """(neuron, root index) of a root ID, None if it names no root (plain integers)."""
        s = self.layout.segment_bits(self.n_layers)
        if not 0 < rid < 1 << 64 or rid >> s != self.n_layers << (64 - 8 - s):
            return None
        y = (rid & ((1 << s) - 1)) - ROOT_BASE
        if not 0 <= y < 1 << self.root_bits:
            return None
        k, j = divmod(self.root_perm.inverse_int(y), ROOTS_PER_NEURON)
        if k >= self.p.n_neurons or j >= self.plan(k).n_roots:
            return None
        return k, j

    def records(self, k: int) -> list[RootRecord]:
        """Every root of neuron ``k`` as a RootRecord (memoised on its plan)."""
        pl = self.plan(k)
        hit = pl.memo.get("records")
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        ids = self.root_ids(k, np.arange(pl.n_roots)).tolist()
        out = []
        for j in range(pl.n_roots):
            sup = float(pl.superseded[j])
            cb, sb = int(pl.created_by[j]), int(pl.superseded_by[j])
            out.append(RootRecord(
                root_id=ids[j], created=float(pl.created[j]),
                created_by=None if cb < 0 else self.op_id(k, cb),
                superseded=None if sup == np.inf else sup,
                superseded_by=None if sb < 0 else self.op_id(k, sb),
                parents=tuple(ids[r] for r in pl.parents_of_root(j)),
                children=tuple(ids[r] for r in pl.children_of_root(j)),
            ))
        pl.memo["records"] = out
        return out

    def op_id(self, k: int, i: int) -> int:
        return k * OPS_PER_NEURON + i + 1

    def sv_ids(self, k: int, positions: IntArray, local: IntArray) -> IdArray:
        pl = self.plan(k)
        seg = ((k + 1) << self.lb) | np.asarray(local, dtype=np.int64)
        return self.layout.encode_many(1, pl.chunks[positions], seg)

    def l2_ids(self, k: int, positions: IntArray) -> IdArray:
        pl = self.plan(k)
        seg = np.full(len(positions), (k + 1) << self.lb, dtype=np.int64)
        return self.layout.encode_many(2, pl.chunks[positions], seg)

    def high_ids(self, layer: int, lchunks: IntArray, k: int, masks: IntArray) -> IdArray:
        seg = ((k + 1) << HIGH_MASK_BITS) | np.asarray(masks, dtype=np.int64)
        return self.layout.encode_many(layer, lchunks, seg)

    def positions_svs(self, k: int, positions: IntArray) -> IdArray:
        """All supervoxel IDs of the given positions (in position order)."""
        pl = self.plan(k)
        positions = np.asarray(positions, dtype=np.int64)
        n = pl.counts[positions]
        rep = np.repeat(positions, n)
        starts = np.repeat(np.cumsum(n) - n, n)
        local = np.arange(int(n.sum()), dtype=np.int64) - starts
        return self.sv_ids(k, rep, local)

    def layer_info(self, pl: NeuronPlan, layer: int) -> tuple[IntArray, IntArray, IntArray]:
        """(layer-chunk key per position, sorted unique keys, piece mask of each key)."""
        hit = pl.memo.get(layer)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        lc = pl.chunks >> (layer - 2)
        dims = self.layout.layer_grid(layer)
        key = np.ravel_multi_index((lc[:, 0], lc[:, 1], lc[:, 2]), dims).astype(np.int64)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        bits = (np.int64(1) << pl.piece_of[order]).astype(np.int64)
        starts = np.r_[0, np.flatnonzero(np.diff(ks)) + 1]
        masks = np.bitwise_or.reduceat(bits, starts) if len(ks) else np.zeros(0, dtype=np.int64)
        out = (key, ks[starts], masks.astype(np.int64))
        pl.memo[layer] = out
        return out

    # -- resolving node IDs ------------------------------------------------------------------

    def resolve(self, ids: IdArray) -> tuple[IntArray, IntArray, IntArray]:
        """Per ID: (neuron, representative position, root index or -1).

        Neuron is -1 where the ID does not exist. For roots the position is -1; for layer-3+
        nodes it is a position of the node's lowest piece inside its chunk.
        """
        ids = np.asarray(ids, dtype=U64).reshape(-1)
        n = len(ids)
        kk = np.full(n, -1, dtype=np.int64)
        pos = np.full(n, -1, dtype=np.int64)
        rj = np.full(n, -1, dtype=np.int64)
        layers = self.layout.layers_of(ids)
        top = layers == self.n_layers
        if top.any():
            kk[top], rj[top] = self.decode_roots(ids[top])
        for layer in range(1, self.n_layers):
            sel = np.flatnonzero(layers == layer)
            if len(sel) == 0:
                continue
            s = self.layout.segment_bits(layer)
            seg = (ids[sel] & U64((1 << s) - 1)).astype(np.int64)
            shift = self.lb if layer <= 2 else HIGH_MASK_BITS
            k = (seg >> shift) - 1
            low = seg & ((1 << shift) - 1)
            chunks = self.layout.chunks_of(layer, ids[sel])
            ok = (k >= 0) & (k < self.p.n_neurons)
            for neuron in np.unique(k[ok]).tolist():
                m = np.flatnonzero(ok & (k == neuron))
                pl = self.plan(int(neuron))
                if layer <= 2:
                    flat = np.full(len(m), -1, dtype=np.int64)
                    inside = np.all(chunks[m] < np.array(self.p.grid), axis=1)
                    c = chunks[m][inside]
                    flat[inside] = np.ravel_multi_index((c[:, 0], c[:, 1], c[:, 2]), self.p.grid)
                    p = np.where(flat >= 0, pl.positions_of(flat), -1)
                    good = p >= 0
                    good &= (low[m] < pl.counts[np.maximum(p, 0)]) if layer == 1 else (low[m] == 0)
                    kk[sel[m[good]]] = neuron
                    pos[sel[m[good]]] = p[good]
                else:
                    for i in m.tolist():
                        p1 = self._high_position(pl, layer, chunks[i], int(low[i]))
                        if p1 >= 0:
                            kk[sel[i]] = neuron
                            pos[sel[i]] = p1
        return kk, pos, rj

    def _high_position(self, pl: NeuronPlan, layer: int, chunk: IntArray, mask: int) -> int:
        dims = self.layout.layer_grid(layer)
        if mask <= 0 or any(int(c) >= d for c, d in zip(chunk, dims, strict=True)):
            return -1
        key = int(np.ravel_multi_index(tuple(int(c) for c in chunk), dims))
        pkey, ukeys, umask = self.layer_info(pl, layer)
        i = int(np.searchsorted(ukeys, key))
        if i >= len(ukeys) or ukeys[i] != key:
            return -1
        if not np.any((pl.masks & umask[i]) == mask):
            return -1
        low = (mask & -mask).bit_length() - 1
        cand = np.flatnonzero((pkey == key) & (pl.piece_of == low))
        return int(cand[0]) if len(cand) else -1

    # -- chunkedgraph queries ----------------------------------------------------------------

    def roots_at(self, ids: IdArray, t: float, stop_layer: int | None = None) -> IdArray:
        """Ancestor of each node at ``t`` on ``stop_layer`` (default: root); 0 maps to 0."""
        ids = np.asarray(ids, dtype=U64).reshape(-1)
        out = np.zeros(len(ids), dtype=U64)
        if len(ids) == 0:
            return out
        top = self.n_layers if stop_layer is None else max(1, min(int(stop_layer), self.n_layers))
        layers = self.layout.layers_of(ids)
        nz = ids != 0
        done = nz & (layers >= top)
        out[done] = ids[done]
        todo = np.flatnonzero(nz & ~done)
        if len(todo) == 0:
            return out
        kk, pos, _ = self.resolve(ids[todo])
        bad = kk < 0
        if bad.any():
            raise UnknownNodeError(ids[todo[bad]].tolist())
        for neuron in np.unique(kk).tolist():
            m = np.flatnonzero(kk == neuron)
            pl = self.plan(int(neuron))
            p = pos[m]
            roots = pl.root_of_pieces(pl.piece_of[p], t)
            if top == self.n_layers:
                out[todo[m]] = self.root_ids(int(neuron), roots)
            elif top == 2:
                out[todo[m]] = self.l2_ids(int(neuron), p)
            else:
                pkey, ukeys, umask = self.layer_info(pl, top)
                keys = pkey[p]
                node_mask = pl.masks[roots] & umask[np.searchsorted(ukeys, keys)]
                lchunks = np.stack(np.unravel_index(keys, self.layout.layer_grid(top)), axis=1)
                out[todo[m]] = self.high_ids(top, lchunks, int(neuron), node_mask)
        return out

    def node_positions(self, node_id: int) -> tuple[NeuronPlan, IntArray, int, int]:
        """(plan, positions under the node, layer, mask of its pieces) of an existing node."""
        nid = int(node_id)
        layer = self.layout.layer_of(nid) if 0 < nid < 1 << 64 else 0
        if not 1 <= layer <= self.n_layers:
            raise UnknownNodeError([nid])
        kk, pos, rj = self.resolve(np.array([nid], dtype=U64))
        if kk[0] < 0:
            raise UnknownNodeError([nid])
        pl = self.plan(int(kk[0]))
        if layer == self.n_layers:
            mask = int(pl.masks[rj[0]])
            return pl, pl.root_positions(mask), layer, mask
        if layer <= 2:
            return pl, pos[:1], layer, 1 << int(pl.piece_of[pos[0]])
        mask = nid & ((1 << HIGH_MASK_BITS) - 1)
        pkey, _, _ = self.layer_info(pl, layer)
        inside = (pkey == pkey[pos[0]]) & (((mask >> pl.piece_of) & 1) == 1)
        return pl, np.flatnonzero(inside), layer, mask

    def leaves(self, node_id: int, stop_layer: int = 1, bounds: npt.NDArray[np.int64] | None = None) -> IdArray:
        """Sorted descendants of a node on ``stop_layer``, optionally within ``bounds`` (seg
        voxels; a node is kept when its chunk overlaps the box)."""
        pl, positions, layer, mask = self.node_positions(node_id)
        stop = max(1, int(stop_layer))
        if layer <= stop:
            return np.array([int(node_id)], dtype=U64)
        if bounds is not None:
            positions = positions[self._overlaps(pl.chunks[positions], 2, bounds)]
        k = pl.k
        if stop == 1:
            out = self.positions_svs(k, positions)
        elif stop == 2:
            out = self.l2_ids(k, positions)
        else:
            pkey, ukeys, umask = self.layer_info(pl, stop)
            keys = np.unique(pkey[positions])
            node_mask = umask[np.searchsorted(ukeys, keys)] & mask
            lchunks = np.stack(np.unravel_index(keys, self.layout.layer_grid(stop)), axis=1)
            out = self.high_ids(stop, lchunks.reshape(-1, 3), k, node_mask)
            if bounds is not None:
                out = out[self._overlaps(lchunks.reshape(-1, 3), stop, bounds)]
        return np.sort(np.asarray(out, dtype=U64))

    def _overlaps(self, chunks: IntArray, layer: int, bounds: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        box = np.array(self.layout.chunk_size, dtype=np.int64) * (1 << max(0, layer - 2))
        lo = np.asarray(chunks, dtype=np.int64).reshape(-1, 3) * box
        b = np.asarray(bounds, dtype=np.int64).reshape(3, 2)
        return np.all((lo < b[:, 1]) & (lo + box > b[:, 0]), axis=1)  # type: ignore[no-any-return]

    def children(self, node_id: int) -> IdArray:
        layer = self.layout.layer_of(int(node_id)) if 0 < int(node_id) < 1 << 64 else 0
        self.node_positions(node_id)  # existence
        if layer == 1:
            return np.zeros(0, dtype=U64)
        return self.leaves(node_id, layer - 1)

    def exists(self, ids: IdArray) -> npt.NDArray[np.bool_]:
        ids = np.asarray(ids, dtype=U64).reshape(-1)
        layers = self.layout.layers_of(ids)
        ok = (ids != 0) & (layers >= 1) & (layers <= self.n_layers)
        out = np.zeros(len(ids), dtype=bool)
        if ok.any():
            out[ok] = self.resolve(ids[ok])[0] >= 0
        return out

    def created(self, node_id: int) -> float:
        """Creation time: roots their own, layer 3+ nodes their first root's, others t0."""
        nid = int(node_id)
        layer = self.layout.layer_of(nid)
        if layer <= 2:
            return self.t0
        pl, _, _, mask = self.node_positions(nid)
        if layer == self.n_layers:
            d = self.decode_root(nid)
            assert d is not None
            return float(pl.created[d[1]])
        _, pos, _ = self.resolve(np.array([nid], dtype=U64))
        pkey, ukeys, umask = self.layer_info(pl, layer)
        cm = umask[np.searchsorted(ukeys, pkey[pos[0]])]
        return float(pl.created[(pl.masks & cm) == mask].min())

    def root_records(self, ids: IdArray) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        ids = np.asarray(ids, dtype=U64).reshape(-1)
        k, j = self.decode_roots(ids)
        known = k >= 0
        created = np.full(len(ids), np.nan)
        superseded = np.full(len(ids), np.inf)
        for neuron in np.unique(k[known]).tolist():
            m = k == neuron
            pl = self.plan(int(neuron))
            created[m] = pl.created[j[m]]
            superseded[m] = pl.superseded[j[m]]
        return known, created, superseded

    def operation(self, op_id: int) -> Operation | None:
        """An operation by ID (None if there is no such operation)."""
        if op_id < 1:
            return None
        k, i = divmod(op_id - 1, OPS_PER_NEURON)
        if k >= self.p.n_neurons:
            return None
        ops = self.operations(k)
        return ops[i] if i < len(ops) else None

    def operations(self, k: int) -> list[Operation]:
        """Every operation of neuron ``k``, in time order (memoised on its plan)."""
        pl = self.plan(k)
        hit = pl.memo.get("ops")
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        ends = pl.op_edge.reshape(-1)
        sv = self.sv_ids(k, ends, np.zeros(len(ends), dtype=np.int64)).reshape(-1, 2).tolist()
        vox = self.sv_voxels(pl, ends).reshape(-1, 2, 3).tolist()
        rid = self.records(k)
        out = []
        for i in range(pl.n_ops):
            edge = (int(sv[i][0]), int(sv[i][1]))
            out.append(Operation(
                operation_id=self.op_id(k, i), timestamp=float(pl.op_time[i]),
                user_id=self.user_id(int(pl.op_user[i])), is_merge=bool(pl.op_merge[i]),
                before_roots=tuple(rid[r].root_id for r in pl.op_before[i].tolist() if r >= 0),
                after_roots=tuple(rid[r].root_id for r in pl.op_after[i].tolist() if r >= 0),
                edges=(edge,), source_coords=(_xyz(vox[i][0]),), sink_coords=(_xyz(vox[i][1]),),
                source_ids=(edge[0],), sink_ids=(edge[1],),
            ))
        pl.memo["ops"] = out
        return out

    def user_id(self, index: int) -> str:
        return str(2001 + int(index))

    def soma_origin(self, pl: NeuronPlan) -> tuple[IntArray, int]:
        """(first voxel, blocks per side) of the cube of 4 x 4 x 2 voxel blocks that paints
        the soma position's supervoxels, centred in the soma chunk."""
        cs = np.array(self.layout.chunk_size, dtype=np.int64)
        side = max(1, int(np.ceil(round(float(pl.counts[0]) ** (1 / 3), 9))))
        return pl.chunks[0] * cs + cs // 2 - side * SOMA_BLOCK // 2, side

    def sv_voxels(self, pl: NeuronPlan, positions: IntArray) -> IntArray:
        """A seg voxel inside each position's chunk (the position's representative point;
        for the soma position, the centre of its first painted supervoxel)."""
        positions = np.asarray(positions, dtype=np.int64)
        cs = np.array(self.layout.chunk_size, dtype=np.int64)
        u = hash64(self.p.seed, 31, pl.k, positions[:, None], np.arange(3)[None, :])
        off = (u % U64(1 << 20)).astype(np.int64) * (cs - 2) // (1 << 20) + 1
        out = pl.chunks[positions] * cs + off
        out[positions == 0] = self.soma_origin(pl)[0] + SOMA_BLOCK // 2
        return out  # type: ignore[no-any-return]

    def history_ops(self, root: int) -> list[Operation]:
        d = self.decode_root(int(root))
        if d is None:
            raise UnknownNodeError([int(root)])
        k, j = d
        pl = self.plan(k)
        seen: set[int] = set()
        stack = pl.parents_of_root(j)
        ops: set[int] = set()
        while stack:
            r = stack.pop()
            if r in seen:
                continue
            seen.add(r)
            o = int(pl.superseded_by[r])
            if o >= 0:
                ops.add(o)
            stack.extend(pl.parents_of_root(r))
        every = self.operations(k)
        return [every[o] for o in sorted(ops)]

    def history_operations(self, root: int) -> list[Operation]:  # LineageMixin's, per neuron
        return self.history_ops(root)
