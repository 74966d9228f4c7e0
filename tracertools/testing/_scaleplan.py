"""One neuron of the scale world, derived from ``(seed, neuron index)`` alone.

A neuron is a path of distinct layer-2 chunks grown by a drifting random walk from its soma
chunk (*positions* ``0 .. m-1`` in first-visit order; each position's parent is the position
the walk came from, so the positions form a tree rooted at the soma). Position ``j`` holds
``n_j`` supervoxels; the neuron's supervoxels are exactly these. An L2 node is one position
(a neuron's supervoxels in one chunk), so L2 nodes never change: edits cut and join edges
between chunks.

An edited neuron is cut into ``P <= 16`` *pieces* (runs of consecutive positions). Its roots
are sets of pieces (bit masks). It starts as a core root (with the soma piece) plus some
detached fragments; each operation merges a detached component into the core or splits
pieces off the core. A long-history neuron splits a small piece off and merges it back, again
and again. Everything about a neuron costs time proportional to that neuron only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from tracertools.testing._ids import GraphLayout
from tracertools.testing._scalehash import (
    AffinePerm,
    hash64,
    normal,
    normal_int,
    uniform,
    uniform_int,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DAY = 86400.0
MAX_PIECES = 16
ROOTS_PER_NEURON = 1 << 14
"""Root IDs reserved per neuron (the original roots plus at most two per operation)."""
MAX_OPS = (ROOTS_PER_NEURON - MAX_PIECES) // 2
OPS_PER_NEURON = 1 << 13
"""Operation IDs reserved per neuron (``operation_id = k * OPS_PER_NEURON + i + 1``)."""

# key streams of the counter-based generator
_S_NSV, _S_DENSITY, _S_EDITED, _S_NOPS, _S_PLAN, _S_SPECIAL = 11, 12, 13, 14, 15, 16


@dataclass(frozen=True)
class ScaleParams:
    """Parameters of a [`ScaleWorld`][tracertools.testing.scaleworld.ScaleWorld] (see there)."""

    seed: int = 0
    n_neurons: int = 100_000
    sv_median: float = 20_000.0
    sv_sigma: float = 1.0
    sv_min: int = 200
    sv_max: int = 2_500_000
    giant_supervoxels: int = 1_500_000
    n_giants: int = 1
    edited_fraction: float = 0.3
    ops_median: float = 4.0
    ops_sigma: float = 1.2
    ops_max: int = 500
    long_history_ops: int = 5_000
    n_long_history: int = 3
    n_users: int = 60
    grid: tuple[int, int, int] = (64, 160, 64)
    chunk_size: tuple[int, int, int] = (256, 256, 128)
    seg_resolution: tuple[float, float, float] = (16.0, 16.0, 45.0)
    resolution: tuple[float, float, float] = (4.0, 4.0, 45.0)
    t0: float = 1704067200.0  # 2024-01-01T00:00:00Z
    edit_days: float = 540.0
    n_versions: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.n_neurons < (1 << 19):
            raise ValueError("n_neurons must be within 1 .. 524287")
        if self.n_neurons > int(np.prod(self.grid)):
            raise ValueError("n_neurons must not exceed the number of chunks (one soma per chunk)")
        if not 0.0 <= self.edited_fraction <= 1.0:
            raise ValueError("edited_fraction must be within [0, 1]")
        if self.long_history_ops > MAX_OPS or self.ops_max > MAX_OPS:
            raise ValueError(f"at most {MAX_OPS} operations per neuron")
        if self.n_giants + self.n_long_history > self.n_neurons:
            raise ValueError("n_giants + n_long_history must not exceed n_neurons")
        if self.giant_supervoxels < 1 or self.sv_min < 1 or self.sv_max < self.sv_min:
            raise ValueError("supervoxel counts must be positive and sv_min <= sv_max")
        if self.n_versions < 2:
            raise ValueError("n_versions must be >= 2")


class Scalars:
    """Per-neuron numbers that need no plan (vectorized over neuron indices)."""

    def __init__(self, p: ScaleParams, layout: GraphLayout) -> None:
        self.p = p
        self.neuron_bits = max(1, int(p.n_neurons).bit_length())
        self.local_bits = layout.segment_bits(1) - self.neuron_bits
        if self.local_bits < 7:
            raise ValueError("too many neurons for the supervoxel ID layout")
        self.max_local = (1 << self.local_bits) - 1
        order = AffinePerm(p.n_neurons, int(hash64(p.seed, _S_SPECIAL)[0] % (1 << 62))).forward(
            np.arange(p.n_giants + p.n_long_history)
        )
        self.giants = tuple(int(k) for k in order[: p.n_giants])
        self.long_history = tuple(int(k) for k in order[p.n_giants :])

    def of(self, k: npt.ArrayLike) -> tuple[IntArray, IntArray, IntArray]:
        """(supervoxels, chunks, operations) of each neuron.

        Supervoxels are log-normal (median ``sv_median``, giants fixed, long-history neurons
        at least 5,000); chunks = supervoxels / a per-neuron density of 50-100 % of
        min(300, 60 % of the per-chunk ID space); operations are 0 for unedited neurons.
        """
        p = self.p
        k = np.atleast_1d(np.asarray(k, dtype=np.int64))
        if len(k) == 1:
            one = self._of_one(int(k[0]))
            return tuple(np.array([v], dtype=np.int64) for v in one)  # type: ignore[return-value]
        z_sv = normal(p.seed, _S_NSV, k)
        u_density = uniform(p.seed, _S_DENSITY, k)
        u_edited = uniform(p.seed, _S_EDITED, k)
        z_ops = normal(p.seed, _S_NOPS, k)
        giant = np.isin(k, np.array(self.giants, dtype=np.int64))
        long = np.isin(k, np.array(self.long_history, dtype=np.int64))
        n_sv = np.clip(np.round(p.sv_median * np.exp(p.sv_sigma * z_sv)), p.sv_min, p.sv_max).astype(np.int64)
        n_sv = np.where(long, np.maximum(n_sv, 5000), n_sv)
        n_sv = np.where(giant, p.giant_supervoxels, n_sv)
        top = min(300.0, 0.6 * self.max_local)
        m = np.maximum(1, np.round(n_sv / (top / 2 + top / 2 * u_density))).astype(np.int64)
        n_ops = np.clip(np.round(p.ops_median * np.exp(p.ops_sigma * z_ops)), 1, p.ops_max).astype(np.int64)
        n_ops = np.where((u_edited < p.edited_fraction) & (m >= 2), n_ops, 0)
        n_ops = np.where(giant, 0, n_ops)
        n_ops = np.where(long, p.long_history_ops, n_ops)
        return n_sv, m, n_ops

    def _of_one(self, k: int) -> tuple[int, int, int]:
        """`of()` for one neuron in plain Python (same numbers, no numpy overhead)."""
        p = self.p
        z_sv = normal_int(p.seed, _S_NSV, k)
        u_density = uniform_int(p.seed, _S_DENSITY, k)
        u_edited = uniform_int(p.seed, _S_EDITED, k)
        z_ops = normal_int(p.seed, _S_NOPS, k)
        n_sv = int(min(max(np.round(p.sv_median * math.exp(p.sv_sigma * z_sv)), p.sv_min), p.sv_max))
        if k in self.long_history:
            n_sv = max(n_sv, 5000)
        if k in self.giants:
            n_sv = p.giant_supervoxels
        top = min(300.0, 0.6 * self.max_local)
        m = max(1, int(np.round(n_sv / (top / 2 + top / 2 * u_density))))
        n_ops = int(min(max(np.round(p.ops_median * math.exp(p.ops_sigma * z_ops)), 1), p.ops_max))
        n_ops = n_ops if (u_edited < p.edited_fraction and m >= 2) else 0
        if k in self.giants:
            n_ops = 0
        if k in self.long_history:
            n_ops = p.long_history_ops
        return n_sv, m, n_ops

    def n_supervoxels(self, k: npt.ArrayLike) -> IntArray:
        """Supervoxels of each neuron."""
        return self.of(k)[0]

    def n_operations(self, k: npt.ArrayLike) -> IntArray:
        """Edits of each neuron (0 for unedited ones)."""
        return self.of(k)[2]


@dataclass
class NeuronPlan:
    """Everything about one neuron (arrays indexed by position, piece, root or operation).

    Attributes:
        k: neuron index.
        chunks: (m, 3) layer-2 chunk of each position.
        parent: (m,) parent position (-1 for the soma position 0).
        counts: (m,) supervoxels per position; ``cum`` their running sum (m + 1,).
        piece_of: (m,) piece of each position; ``piece_svs`` (P,) supervoxels per piece.
        masks: (R,) piece bit mask of each root (root index = local root number).
        created / superseded: (R,) times (superseded = inf while latest).
        created_by / superseded_by: (R,) operation index, -1 if none.
        op_time, op_user, op_merge: (n_ops,) operation time, user index, merge flag.
        op_before, op_after: (n_ops, 2) root indices (-1 pads a missing second one).
        op_edge: (n_ops, 2) positions of the supervoxel pair joined or cut.
        epoch_roots: (n_ops + 1, P) root index of each piece after e operations.
    """

    k: int
    chunks: IntArray
    parent: IntArray
    counts: IntArray
    cum: IntArray
    piece_of: IntArray
    piece_svs: IntArray
    masks: IntArray
    created: FloatArray
    superseded: FloatArray
    created_by: IntArray
    superseded_by: IntArray
    op_time: FloatArray
    op_user: IntArray
    op_merge: npt.NDArray[np.bool_]
    op_before: IntArray
    op_after: IntArray
    op_edge: IntArray
    epoch_roots: IntArray
    _flat_sorted: IntArray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))
    _flat_order: IntArray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def m(self) -> int:
        return int(len(self.counts))

    @property
    def n_pieces(self) -> int:
        return int(len(self.piece_svs))

    @property
    def n_roots(self) -> int:
        return int(len(self.masks))

    @property
    def n_ops(self) -> int:
        return int(len(self.op_time))

    @property
    def n_supervoxels(self) -> int:
        return int(self.cum[-1])

    def nbytes(self) -> int:
        """Approximate memory held by the plan: its arrays plus the memoised records and
        operations (about 400 and 900 bytes each)."""
        arrays = sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
        return int(arrays) + 2048 + 400 * self.n_roots + 900 * self.n_ops

    def positions_of(self, flat_chunks: IntArray) -> IntArray:
        """Position of each flat layer-2 chunk index, -1 where the neuron has none."""
        s = self._flat_sorted
        pos = np.searchsorted(s, flat_chunks)
        pos = np.clip(pos, 0, len(s) - 1)
        ok = s[pos] == flat_chunks
        return np.where(ok, self._flat_order[pos], -1)

    def epoch(self, t: float) -> int:
        """Operations applied at time ``t`` (inclusive)."""
        return int(np.searchsorted(self.op_time, t, side="right"))

    def root_of_pieces(self, pieces: IntArray, t: float) -> IntArray:
        """Root index holding each piece at ``t``."""
        return self.epoch_roots[self.epoch(t), pieces]

    def alive(self, j: int, t: float) -> bool:
        """Whether root ``j`` is latest at ``t``."""
        return bool(self.created[j] <= t < self.superseded[j])

    def root_positions(self, mask: int) -> IntArray:
        """Positions whose piece is in ``mask``."""
        return np.flatnonzero((np.int64(mask) >> self.piece_of) & 1)

    def mask_svs(self, mask: int) -> int:
        """Supervoxels of the pieces in ``mask``."""
        bits = (np.int64(mask) >> np.arange(self.n_pieces)) & 1
        return int((self.piece_svs * bits).sum())

    def parents_of_root(self, j: int) -> list[int]:
        o = int(self.created_by[j])
        return [] if o < 0 else [int(r) for r in self.op_before[o] if r >= 0]

    def children_of_root(self, j: int) -> list[int]:
        o = int(self.superseded_by[j])
        return [] if o < 0 else [int(r) for r in self.op_after[o] if r >= 0]

    @cached_property
    def memo(self) -> dict[Any, Any]:
        """Memo of derived arrays: per layer >= 3 the chunk keys and piece masks (see
        ``ScaleGraph.layer_info``), ``"geom"`` the per-position geometry."""
        return {}


def build_plan(k: int, p: ScaleParams, layout: GraphLayout, sc: Scalars, soma_perm: AffinePerm,
               user_p: FloatArray) -> NeuronPlan:
    """Derive neuron ``k`` from the parameters (deterministic, numpy)."""
    rng = np.random.default_rng([p.seed, k, _S_PLAN])
    n_sv, m, n_ops = (int(v[0]) for v in sc.of(k))
    grid = np.array(p.grid, dtype=np.int64)
    soma = np.array(np.unravel_index(int(soma_perm.forward([k])[0]), p.grid), dtype=np.int64)
    chunks, parent = _walk(rng, soma, m, grid)
    counts = _split_counts(rng, n_sv, m, sc.max_local)
    cum = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n_pieces = 1 if n_ops == 0 else min(MAX_PIECES, m)
    if n_pieces > 1:
        cuts = np.sort(rng.choice(np.arange(1, m), n_pieces - 1, replace=False))
        piece_of = np.searchsorted(cuts, np.arange(m), side="right").astype(np.int64)
    else:
        piece_of = np.zeros(m, dtype=np.int64)
    piece_svs = np.bincount(piece_of, weights=counts, minlength=n_pieces).astype(np.int64)
    long = k in sc.long_history
    hist = _History(rng, n_pieces, parent, piece_of, p, user_p, long)
    hist.run(n_ops)
    flat = np.ravel_multi_index((chunks[:, 0], chunks[:, 1], chunks[:, 2]), p.grid).astype(np.int64)
    order = np.argsort(flat)
    return NeuronPlan(
        k=k, chunks=chunks, parent=parent, counts=counts, cum=cum, piece_of=piece_of,
        piece_svs=piece_svs, masks=np.array(hist.masks, dtype=np.int64),
        created=np.array(hist.created), superseded=np.array(hist.superseded),
        created_by=np.array(hist.created_by, dtype=np.int64),
        superseded_by=np.array(hist.superseded_by, dtype=np.int64),
        op_time=hist.times[:n_ops], op_user=np.array(hist.users, dtype=np.int64),
        op_merge=np.array(hist.merge, dtype=bool),
        op_before=np.array(hist.before, dtype=np.int64).reshape(-1, 2),
        op_after=np.array(hist.after, dtype=np.int64).reshape(-1, 2),
        op_edge=np.array(hist.edge, dtype=np.int64).reshape(-1, 2),
        epoch_roots=np.array(hist.epochs, dtype=np.int64).reshape(n_ops + 1, n_pieces),
        _flat_sorted=flat[order], _flat_order=order.astype(np.int64),
    )


def _walk(rng: np.random.Generator, soma: IntArray, m: int, grid: IntArray) -> tuple[IntArray, IntArray]:
    """``m`` distinct chunks of a drifting walk from ``soma`` and each one's parent position."""
    drift = rng.normal(size=3)
    drift /= np.linalg.norm(drift) or 1.0
    prob = np.abs(drift) + 0.3
    prob /= prob.sum()
    sign = np.where(drift >= 0, 1, -1)
    seen: dict[tuple[int, int, int], int] = {}
    chunks: list[tuple[int, int, int]] = []
    parents: list[int] = []
    here = soma.copy()
    prev = -1
    while len(chunks) < m:
        n = max(16, 2 * (m - len(chunks)))
        axis = rng.choice(3, n, p=prob)
        fwd = np.where(rng.random(n) < 0.75, sign[axis], -sign[axis])
        steps = np.zeros((n, 3), dtype=np.int64)
        steps[np.arange(n), axis] = fwd
        walk = _reflect(np.concatenate([here[None], here + np.cumsum(steps, axis=0)]), grid)
        for c in map(tuple, walk.tolist()):
            pos = seen.get(c)
            if pos is None:
                pos = seen[c] = len(chunks)
                chunks.append(c)
                parents.append(prev)
                if len(chunks) == m:
                    break
            prev = pos
        here = walk[-1]
    return np.array(chunks, dtype=np.int64).reshape(-1, 3), np.array(parents, dtype=np.int64)


def _reflect(path: IntArray, grid: IntArray) -> IntArray:
    period = np.maximum(2 * (grid - 1), 1)
    r = np.mod(path, period)
    return np.where(r >= grid, period - r, r)  # type: ignore[no-any-return]


def _split_counts(rng: np.random.Generator, n_sv: int, m: int, max_local: int) -> IntArray:
    w = rng.uniform(0.8, 1.2, m)
    counts = np.floor(n_sv * w / w.sum()).astype(np.int64)
    rest = n_sv - int(counts.sum())
    counts[:rest] += 1
    if counts.max() > max_local or counts.min() < 1:
        raise ValueError(f"cannot place {n_sv} supervoxels in {m} chunks")
    return counts


class _History:
    """Replays a neuron's edits over its pieces (pure Python; O(pieces) per operation)."""

    def __init__(self, rng: np.random.Generator, n_pieces: int, parent: IntArray, piece_of: IntArray,
                 p: ScaleParams, user_p: FloatArray, long: bool) -> None:
        self.rng, self.n, self.parent, self.piece_of = rng, n_pieces, parent, piece_of
        self.first = np.searchsorted(piece_of, np.arange(n_pieces)).tolist()
        self.p, self.user_p, self.long = p, user_p, long
        self.masks: list[int] = []
        self.created: list[float] = []
        self.superseded: list[float] = []
        self.created_by: list[int] = []
        self.superseded_by: list[int] = []
        self.users: list[int] = []
        self.merge: list[bool] = []
        self.before: list[int] = []
        self.after: list[int] = []
        self.edge: list[int] = []
        self.epochs: list[int] = []
        self.times = np.zeros(0)

    def _new(self, mask: int, t: float, op: int) -> int:
        self.masks.append(mask)
        self.created.append(t)
        self.superseded.append(math.inf)
        self.created_by.append(op)
        self.superseded_by.append(-1)
        return len(self.masks) - 1

    def run(self, n_ops: int) -> None:
        p, n = self.p, self.n
        if n_ops:
            start = p.t0 + (141.0 if self.long else 2.0) * DAY
            self.times = np.sort(self.rng.uniform(start, p.t0 + p.edit_days * DAY, n_ops))
        detached = [q for q in range(1, n) if self.rng.random() < 0.4] if n_ops and not self.long else []
        core = ((1 << n) - 1) & ~sum(1 << q for q in detached)
        owner = [0] * n
        self._new(core, p.t0, -1)
        for q in detached:
            owner[q] = self._new(1 << q, p.t0, -1)
        self.epochs.extend(owner)
        last_piece = -1
        users: list[int] = self.rng.choice(len(self.user_p), n_ops, p=self.user_p).tolist() if n_ops else []
        for i in range(n_ops):
            t = float(self.times[i])
            cj = owner[0]
            others = sorted({owner[q] for q in range(n)} - {cj})
            n_core = bin(self.masks[cj]).count("1")
            if self.long:
                do_merge = bool(others)
            else:
                do_merge = bool(others) and (n_core < 2 or self.rng.random() < 0.6)
            if do_merge:
                oj = others[-1] if self.long else others[int(self.rng.integers(len(others)))]
                lowest = (self.masks[oj] & -self.masks[oj]).bit_length() - 1
                x = self.first[lowest]
                px = int(self.parent[x])
                if px < 0 or not (self.masks[cj] >> int(self.piece_of[px])) & 1:
                    px = 0
                nj = self._new(self.masks[cj] | self.masks[oj], t, i)
                self._end([cj, oj], t, i)
                self.before += [cj, oj]
                self.after += [nj, -1]
                self.edge += [px, x]
                for q in range(n):
                    if owner[q] in (cj, oj):
                        owner[q] = nj
            else:
                cand = [q for q in range(1, n) if (self.masks[cj] >> q) & 1 and q != last_piece]
                if not cand:
                    cand = [q for q in range(1, n) if (self.masks[cj] >> q) & 1]
                q0 = cand[int(self.rng.integers(len(cand)))]
                cut = 1 << q0
                if not self.long:
                    q = q0 + 1
                    while q < n and (self.masks[cj] >> q) & 1 and self.rng.random() < 0.5:
                        cut |= 1 << q
                        q += 1
                last_piece = q0
                x = self.first[q0]
                a = self._new(self.masks[cj] & ~cut, t, i)
                b = self._new(cut, t, i)
                self._end([cj], t, i)
                self.before += [cj, -1]
                self.after += [a, b]
                self.edge += [max(0, int(self.parent[x])), x]
                for q in range(n):
                    if owner[q] == cj:
                        owner[q] = b if (cut >> q) & 1 else a
            self.merge.append(do_merge)
            self.users.extend([int(users[i])])
            self.epochs.extend(owner)

    def _end(self, roots: list[int], t: float, op: int) -> None:
        for r in roots:
            self.superseded[r] = t
            self.superseded_by[r] = op
