"""Synthetic neuron geometry: branching centrelines, voxelization and supervoxels.

Every neuron is a tree of centreline nodes (positions in nm, radii in nm): a soma node plus
random-walk neurites that branch. The tree is cut into *runs* (pieces of at most
``RUN_LENGTH`` nodes that never cross a branch point); a supervoxel is the part of one run
inside one chunk (the soma run is further split into octants). Cuts made by the edit
history always fall on run boundaries, so every root is a union of whole runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tracertools.testing._ids import GraphLayout

RUN_LENGTH = 6
STEP_NM = 90.0
SOMA_RADIUS_NM = (240.0, 320.0)
MIN_RADIUS_NM = 34.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class NeuronTrees:
    """Centreline trees of all neurons, as flat node arrays.

    Attributes:
        pos_nm: (N, 3) node positions in nm (integers stored as float).
        radius_nm: (N,) node radii in nm.
        parent: (N,) parent node index, -1 for somas.
        neuron: (N,) neuron index of each node.
        run: (N,) global run index of each node.
        soma_node: (n_neurons,) node index of each soma.
        run_first: (R,) first node of each run.
        run_neuron: (R,) neuron of each run.
        run_parent: (R,) run holding the parent of the run's first node (-1 for somas).
    """

    pos_nm: FloatArray
    radius_nm: FloatArray
    parent: IntArray
    neuron: IntArray
    run: IntArray
    soma_node: IntArray
    run_first: IntArray
    run_neuron: IntArray
    run_parent: IntArray

    @property
    def n_runs(self) -> int:
        return int(self.run_first.shape[0])

    def subtree_runs(self, run: int) -> IntArray:
        """Runs in the subtree starting at ``run`` (inclusive)."""
        children: dict[int, list[int]] = {}
        for r, p in enumerate(self.run_parent.tolist()):
            children.setdefault(p, []).append(r)
        out = [run]
        stack = [run]
        while stack:
            r = stack.pop()
            for c in children.get(r, []):
                out.append(c)
                stack.append(c)
        return np.array(sorted(out), dtype=np.int64)


def _unit(v: FloatArray) -> FloatArray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else np.array([1.0, 0.0, 0.0])


def grow_neurons(
    rng: np.random.Generator, n_neurons: int, extent_nm: FloatArray
) -> NeuronTrees:
    """Grow ``n_neurons`` random branching trees inside a box of ``extent_nm``."""
    pos: list[FloatArray] = []
    radius: list[float] = []
    parent: list[int] = []
    neuron: list[int] = []
    somas: list[int] = []
    soma_centres: list[FloatArray] = []
    margin = np.array([500.0, 500.0, 330.0])
    for k in range(n_neurons):
        centre = None
        for _ in range(400):
            c = margin + rng.random(3) * (extent_nm - 2 * margin)
            if all(np.linalg.norm((c - o)[:2]) > 800.0 for o in soma_centres):
                centre = c
                break
        if centre is None:
            centre = margin + rng.random(3) * (extent_nm - 2 * margin)
        centre = np.round(centre)
        soma_centres.append(centre)
        soma_r = float(np.round(rng.uniform(*SOMA_RADIUS_NM)))
        somas.append(len(pos))
        pos.append(centre)
        radius.append(soma_r)
        parent.append(-1)
        neuron.append(k)
        n_primary = int(rng.integers(2, 4))
        angles = rng.random() * 2 * np.pi + np.arange(n_primary) * 2 * np.pi / n_primary
        # branches to grow: (parent node, direction, radius, n_steps, depth)
        stack: list[tuple[int, FloatArray, float, int, int]] = []
        for a in angles[::-1]:
            d = np.array([np.cos(a), np.sin(a), rng.normal(0, 0.15)])
            stack.append((somas[-1], _unit(d), float(rng.uniform(62, 78)), int(rng.integers(18, 30)), 0))
        budget = 230
        count = 0
        start = len(pos)
        while (stack or count < 150) and count < budget:
            if not stack:
                # too small: sprout another branch from a random neurite node
                pn = start + int(rng.integers(0, count))
                bd = _unit(rng.normal(0, 1, 3) * np.array([1, 1, 0.2]))
                stack.append((pn, bd, max(MIN_RADIUS_NM, radius[pn] * 0.8), int(rng.integers(10, 20)), 1))
            pnode, d, r, steps, depth = stack.pop()
            p = pos[pnode]
            first = True
            for s in range(steps):
                if count >= budget:
                    break
                noise = rng.normal(0, 0.35, 3)
                noise[2] *= 0.3
                d = _unit(d + noise)
                d[2] *= 0.5
                d = _unit(d)
                step = STEP_NM if not first else soma_r + 40.0 if pnode == somas[-1] else STEP_NM
                q = p + d * step
                lo = np.array([40.0, 40.0, 60.0])
                hi = extent_nm - lo
                for ax in range(3):
                    if q[ax] < lo[ax] or q[ax] > hi[ax]:
                        d[ax] = -d[ax]
                        q[ax] = min(max(p[ax] + d[ax] * step, lo[ax]), hi[ax])
                q = np.round(q)
                node = len(pos)
                pos.append(q)
                radius.append(float(np.round(max(MIN_RADIUS_NM, r))))
                parent.append(pnode)
                neuron.append(k)
                count += 1
                first = False
                r *= 0.985
                if depth < 3 and s >= 4 and s < steps - 3 and rng.random() < 0.09:
                    bd = _unit(d + rng.normal(0, 0.9, 3) * np.array([1, 1, 0.2]))
                    stack.append((node, bd, max(MIN_RADIUS_NM, r * 0.75), int(rng.integers(8, 18)), depth + 1))
                pnode, p = node, q
    pos_a = np.array(pos, dtype=np.float64)
    par = np.array(parent, dtype=np.int64)
    n = len(pos)
    nchild = np.bincount(par[par >= 0], minlength=n)
    run = np.empty(n, dtype=np.int64)
    run_len: list[int] = []
    run_first: list[int] = []
    run_parent: list[int] = []
    run_neuron: list[int] = []
    soma_set = set(somas)
    for v in range(n):
        pv = int(par[v])
        if pv < 0 or pv in soma_set or nchild[pv] > 1 or run_len[run[pv]] >= RUN_LENGTH:
            rid = len(run_first)
            run_first.append(v)
            run_len.append(0)
            run_parent.append(int(run[pv]) if pv >= 0 else -1)
            run_neuron.append(neuron[v])
        else:
            rid = int(run[pv])
        run[v] = rid
        run_len[rid] += 1
    return NeuronTrees(
        pos_nm=pos_a,
        radius_nm=np.array(radius, dtype=np.float64),
        parent=par,
        neuron=np.array(neuron, dtype=np.int64),
        run=run,
        soma_node=np.array(somas, dtype=np.int64),
        run_first=np.array(run_first, dtype=np.int64),
        run_neuron=np.array(run_neuron, dtype=np.int64),
        run_parent=np.array(run_parent, dtype=np.int64),
    )


def voxelize(trees: NeuronTrees, shape: tuple[int, int, int], res: FloatArray) -> npt.NDArray[np.int32]:
    """Paint node ownership into a volume: value = node index + 1, 0 = background.

    Somas are painted first, then neurite capsules in node order; a voxel keeps its first
    owner. Voxel centres are at ``(i + 0.5) * res`` nm.
    """
    vol = np.zeros(shape, dtype=np.int32)
    shape_a = np.array(shape)

    def paint(node: int, a: FloatArray, b: FloatArray, r: float) -> None:
        lo = np.floor((np.minimum(a, b) - r) / res - 0.5).astype(int)
        hi = np.ceil((np.maximum(a, b) + r) / res + 0.5).astype(int)
        lo = np.clip(lo, 0, shape_a)
        hi = np.clip(hi, 0, shape_a)
        if np.any(hi <= lo):
            return
        xs = (np.arange(lo[0], hi[0]) + 0.5) * res[0]
        ys = (np.arange(lo[1], hi[1]) + 0.5) * res[1]
        zs = (np.arange(lo[2], hi[2]) + 0.5) * res[2]
        px = xs[:, None, None] - a[0]
        py = ys[None, :, None] - a[1]
        pz = zs[None, None, :] - a[2]
        ab = b - a
        L2 = float(ab @ ab)
        if L2 > 0:
            t = np.clip((px * ab[0] + py * ab[1] + pz * ab[2]) / L2, 0.0, 1.0)
            dx, dy, dz = px - t * ab[0], py - t * ab[1], pz - t * ab[2]
        else:
            dx, dy, dz = px + 0 * py + 0 * pz, py + 0 * px, pz + 0 * px
        inside = dx * dx + dy * dy + dz * dz <= r * r
        sub = vol[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        sub[inside & (sub == 0)] = node + 1

    for s in trees.soma_node.tolist():
        c = trees.pos_nm[s]
        paint(s, c, c, float(trees.radius_nm[s]))
    for v in range(trees.pos_nm.shape[0]):
        p = int(trees.parent[v])
        if p < 0:
            continue
        r = float(trees.radius_nm[v])
        a = trees.pos_nm[p]
        if trees.parent[p] >= 0:
            r = max(r, float(trees.radius_nm[p]))
        paint(v, a, trees.pos_nm[v], r)
    return vol


@dataclass
class Supervoxels:
    """The supervoxel table and label volume.

    Attributes:
        labels: (X, Y, Z) uint32 volume of supervoxel index + 1 (0 = background).
        ids: (S,) supervoxel IDs (graphene layer 1).
        run: (S,) run of each supervoxel.
        neuron: (S,) neuron of each supervoxel.
        chunk: (S, 3) layer-2 chunk of each supervoxel.
        count: (S,) voxel count.
        rep_voxel: (S, 3) a voxel of the supervoxel closest to its centroid (seg voxels).
        node: (S,) centreline node nearest the supervoxel (its most common owner node).
    """

    labels: npt.NDArray[np.uint32]
    ids: npt.NDArray[np.uint64]
    run: IntArray
    neuron: IntArray
    chunk: IntArray
    count: IntArray
    rep_voxel: IntArray
    node: IntArray


def make_supervoxels(
    trees: NeuronTrees, owner: npt.NDArray[np.int32], layout: GraphLayout, res: FloatArray
) -> tuple[Supervoxels, dict[str, npt.NDArray[np.generic]]]:
    """Split painted neurons into supervoxels and compute per-voxel helpers.

    Returns the supervoxel table and a dict of flat per-voxel arrays (``flat``: flat voxel
    index, ``sv``: supervoxel index, ``xyz``: voxel coordinates) used for statistics.
    """
    shape = owner.shape
    flat = np.flatnonzero(owner)
    node = owner.ravel()[flat].astype(np.int64) - 1
    xyz = np.stack(np.unravel_index(flat, shape), axis=1).astype(np.int64)
    cs = np.array(layout.chunk_size)
    ch = xyz // cs
    gx, gy, _ = layout.grid
    chunk_idx = ch[:, 0] + gx * (ch[:, 1] + gy * ch[:, 2])
    run = trees.run[node]
    trees.neuron[node]
    sub = np.zeros(len(flat), dtype=np.int64)
    is_soma = trees.parent[node] < 0
    if np.any(is_soma):
        centre = trees.pos_nm[node[is_soma]]
        vc = (xyz[is_soma] + 0.5) * res
        gt = vc > centre
        sub[is_soma] = gt[:, 0] + 2 * gt[:, 1] + 4 * gt[:, 2]
    n_chunks = gx * gy * layout.grid[2]
    key = (run * n_chunks + chunk_idx) * 8 + sub
    ukey, sv = np.unique(key, return_inverse=True)
    sv = sv.reshape(-1)
    n_sv = len(ukey)
    sv_chunk_idx = (ukey // 8) % n_chunks
    sv_run = ukey // 8 // n_chunks
    # segment ids: per chunk, in key order
    order = np.argsort(sv_chunk_idx, kind="stable")
    seg = np.empty(n_sv, dtype=np.int64)
    sorted_chunks = sv_chunk_idx[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_chunks)) + 1]
    counts_per = np.diff(np.r_[starts, n_sv])
    seg[order] = np.arange(n_sv) - np.repeat(starts, counts_per) + 1
    sv_chunk = np.stack(
        [sv_chunk_idx % gx, (sv_chunk_idx // gx) % gy, sv_chunk_idx // (gx * gy)], axis=1
    )
    ids = layout.encode_many(1, sv_chunk, seg)
    labels = np.zeros(shape, dtype=np.uint32)
    labels.ravel()[flat] = (sv + 1).astype(np.uint32)
    count = np.bincount(sv, minlength=n_sv).astype(np.int64)
    sums = np.stack([np.bincount(sv, weights=xyz[:, a], minlength=n_sv) for a in range(3)], 1)
    cen = sums / count[:, None]
    d2 = ((xyz - cen[sv]) ** 2).sum(axis=1)
    first = np.lexsort((d2, sv))
    grp_start = np.r_[0, np.flatnonzero(np.diff(sv[first])) + 1]
    rep = xyz[first[grp_start]]
    # most common owner node per supervoxel
    nk = sv * (trees.pos_nm.shape[0] + 1) + node
    uk, nc = np.unique(nk, return_counts=True)
    usv = uk // (trees.pos_nm.shape[0] + 1)
    unode = uk % (trees.pos_nm.shape[0] + 1)
    best = np.lexsort((-nc, usv))
    bstart = np.r_[0, np.flatnonzero(np.diff(usv[best])) + 1]
    sv_node = unode[best[bstart]]
    svs = Supervoxels(
        labels=labels,
        ids=ids,
        run=sv_run.astype(np.int64),
        neuron=trees.run_neuron[sv_run],
        chunk=sv_chunk.astype(np.int64),
        count=count,
        rep_voxel=rep.astype(np.int64),
        node=sv_node.astype(np.int64),
    )
    return svs, {"flat": flat, "sv": sv, "xyz": xyz, "node": node}
