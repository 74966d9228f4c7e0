"""Geometry of the scale world: L2-cache attributes, skeletons and soma voxels.

Each position (one neuron's supervoxels in one chunk) has a representative seg voxel, a
radius and a supervoxel volume drawn from ``(seed, neuron, position)``. A root's skeleton has
one vertex per position it holds (at the representative point, nm), edges to the parent
position where the root holds both, so its cable length is exact; its volume is the sum of
its L2 ``size_nm3`` (whole numbers of nm³, so sums are exact).

Only soma chunks carry voxels: the soma position's supervoxels are painted as 4 x 4 x 2
voxel blocks in a cube centred in the neuron's soma chunk (every neuron's soma chunk is its
own), so a point lookup at `soma_voxel()` finds the neuron; other voxels are background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tracertools.testing._scalegraph import SOMA_BLOCK as BLOCK
from tracertools.testing._scalehash import hash64, uniform
from tracertools.testing._skeletons import DENDRITE, SOMA, Skeleton

if TYPE_CHECKING:
    from tracertools.testing._scalegraph import ScaleGraph
    from tracertools.testing._scaleplan import NeuronPlan

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Geometry:
    """Per-position geometry of plans (memoised on each plan)."""

    def __init__(self, g: ScaleGraph) -> None:
        self.g = g
        self.res = np.asarray(g.p.seg_resolution, dtype=np.float64)
        self.cs = np.asarray(g.layout.chunk_size, dtype=np.int64)
        self.voxel_nm3 = float(np.prod(self.res))

    # -- soma painting -----------------------------------------------------------------------

    def soma_voxel(self, pl: NeuronPlan) -> IntArray:
        """The centre voxel of the soma position's first supervoxel (seg voxels)."""
        origin, _ = self.g.soma_origin(pl)
        return origin + BLOCK // 2  # type: ignore[no-any-return]

    def paint(self, pl: NeuronPlan, lo: IntArray, hi: IntArray) -> npt.NDArray[np.uint64] | None:
        """Supervoxel labels of box ``[lo, hi)`` from this neuron's soma, None if none fall in."""
        origin, side = self.g.soma_origin(pl)
        n = int(pl.counts[0])
        ids = self.g.sv_ids(pl.k, np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64))
        idx = np.arange(n)
        blocks = np.stack([idx % side, (idx // side) % side, idx // (side * side)], axis=1)
        b_lo = origin + blocks * BLOCK
        b_hi = b_lo + BLOCK
        hit = np.all((b_lo < hi) & (b_hi > lo), axis=1)
        if not hit.any():
            return None
        out = np.zeros(tuple(int(v) for v in hi - lo), dtype=np.uint64)
        for i in np.flatnonzero(hit).tolist():
            a = np.maximum(b_lo[i], lo) - lo
            b = np.minimum(b_hi[i], hi) - lo
            out[a[0] : b[0], a[1] : b[1], a[2] : b[2]] = ids[i]
        return out

    # -- per position ------------------------------------------------------------------------

    def arrays(self, pl: NeuronPlan) -> dict[str, np.ndarray]:
        """Representative voxel, radius (nm) and size (nm³) of every position."""
        hit = pl.memo.get("geom")
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        p = self.g.p
        pos = np.arange(pl.m, dtype=np.int64)
        vox = self.g.sv_voxels(pl, pos)
        u = uniform(p.seed, 41, pl.k, pos)
        radius = np.round(60.0 + 340.0 * u * u, 1)
        radius[0] = np.round(2500.0 + 1500.0 * float(uniform(p.seed, 42, pl.k)[0]), 1)
        per_sv = 300 + (uniform(p.seed, 43, pl.k, pos) * 1200).astype(np.int64)
        size = (pl.counts * per_sv).astype(np.float64) * self.voxel_nm3
        out = {"vox": vox, "radius": radius, "size": size}
        pl.memo["geom"] = out
        return out

    def rep_nm(self, pl: NeuronPlan, positions: IntArray) -> FloatArray:
        return self.arrays(pl)["vox"][positions] * self.res  # type: ignore[no-any-return]

    def l2_attributes(self, pl: NeuronPlan, positions: IntArray) -> list[dict[str, Any]]:
        """L2-cache attributes of positions (all in nm, nm², nm³): a cylinder of the
        position's radius along the direction to its parent, holding its volume."""
        a = self.arrays(pl)
        j = np.asarray(positions, dtype=np.int64)
        size = a["size"][j]
        r = a["radius"][j]
        rep = a["vox"][j] * self.res
        par = pl.parent[j]
        axis = np.where((par >= 0)[:, None], a["vox"][np.maximum(par, 0)] * self.res - rep, [1.0, 0.0, 0.0])
        norm = np.linalg.norm(axis, axis=1, keepdims=True)
        axis = np.where(norm > 0, axis / np.where(norm > 0, norm, 1.0), [1.0, 0.0, 0.0])
        helper = np.where((np.abs(axis[:, 2]) < 0.9)[:, None], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
        b1 = np.cross(axis, helper)
        b1 /= np.linalg.norm(b1, axis=1, keepdims=True)
        b2 = np.cross(axis, b1)
        length = size / (np.pi * r * r)
        area = np.round(2.0 * np.pi * r * length + 2.0 * np.pi * r * r, 3).tolist()
        cic = (hash64(self.g.p.seed, 44, pl.k, j[:, None], np.arange(6)[None, :]) % np.uint64(40))
        cic_l = cic.astype(np.int64).reshape(-1, 2, 3).tolist()
        pca = np.round(np.stack([axis, b1, b2], axis=1), 6).tolist()
        v0 = np.round(length * length / 12.0, 4).tolist()
        v1 = np.round(r * r / 4.0, 4).tolist()
        mean_dt = np.round(r / 3.0, 4).tolist()
        reps, sizes, radii = rep.tolist(), size.tolist(), r.tolist()
        return [
            {
                "area_nm2": area[i], "chunk_intersect_count": cic_l[i], "max_dt_nm": radii[i],
                "mean_dt_nm": mean_dt[i], "pca": pca[i], "pca_val": [v0[i], v1[i], v1[i]],
                "rep_coord_nm": reps[i], "size_nm3": sizes[i],
            }
            for i in range(len(j))
        ]

    def skeleton(self, pl: NeuronPlan, mask: int, l2_ids: list[int]) -> Skeleton:
        """Skeleton of the root holding pieces ``mask`` (vertices in nm)."""
        pos = pl.root_positions(mask)
        a = self.arrays(pl)
        index = np.full(pl.m, -1, dtype=np.int64)
        index[pos] = np.arange(len(pos))
        par = pl.parent[pos]
        parent = np.where(par >= 0, index[np.maximum(par, 0)], -1)
        child = np.flatnonzero(parent >= 0)
        edges = np.stack([child, parent[child]], axis=1) if len(child) else np.zeros((0, 2), dtype=np.int64)
        return Skeleton(
            vertices=a["vox"][pos] * self.res,
            edges=edges.astype(np.int64),
            radius=a["radius"][pos].astype(np.float64),
            compartment=np.where(pos == 0, SOMA, DENDRITE).astype(np.int64),
            root=0,
            parent=parent.astype(np.int64),
            lvl2_ids=l2_ids,
            mesh_to_skel_map=list(range(len(pos))),
        )

    def volume_nm3(self, pl: NeuronPlan, mask: int) -> float:
        return float(self.arrays(pl)["size"][pl.root_positions(mask)].sum())
