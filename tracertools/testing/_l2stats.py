"""Per-supervoxel statistics and the L2-cache attributes derived from them.

Everything an L2 node reports is a sum (or max) over its supervoxels, so the attributes of any
L2 node, however an edit formed it, come from one pass over the voxels at start-up.

Attribute definitions (all in nm, nm², nm³):

* ``size_nm3``: voxel count x voxel volume (exact).
* ``area_nm2``: area of the voxel faces between the node and anything not in the node
  (background, other supervoxels, the volume border), by face orientation.
* ``rep_coord_nm``: a voxel of the node's largest supervoxel closest to that supervoxel's
  centroid, as voxel index x resolution.
* ``max_dt_nm`` / ``mean_dt_nm``: largest centreline radius of the node's voxels, and the mean
  of radius / 3 over its voxels (the mean distance to the surface of a round cross-section).
* ``pca`` / ``pca_val``: principal axes (rows, by decreasing variance) and variances (nm²) of
  the voxel centres.
* ``chunk_intersect_count``: [[low x, low y, low z], [high x, high y, high z]] voxel counts
  touching each face of the chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

ATTRIBUTES = (
    "area_nm2",
    "chunk_intersect_count",
    "max_dt_nm",
    "mean_dt_nm",
    "pca",
    "pca_val",
    "rep_coord_nm",
    "size_nm3",
)
ATTRIBUTE_DTYPES = {
    "area_nm2": "float32",
    "chunk_intersect_count": "uint16",
    "max_dt_nm": "float32",
    "mean_dt_nm": "float32",
    "pca": "float32",
    "pca_val": "float32",
    "rep_coord_nm": "uint64",
    "size_nm3": "uint32",
}


class SupervoxelStats:
    """Sums over each supervoxel's voxels.

    Args:
        labels: (X, Y, Z) volume of supervoxel index + 1.
        sv: flat supervoxel index of each labelled voxel.
        xyz: (n, 3) voxel coordinates of each labelled voxel.
        node_radius: centreline radius (nm) owning each labelled voxel.
        count: voxels per supervoxel.
        rep_voxel: (S, 3) representative voxel per supervoxel.
        res: voxel size in nm.
        chunk_size: chunk size in voxels.
    """

    def __init__(
        self,
        labels: npt.NDArray[np.uint32],
        sv: IntArray,
        xyz: IntArray,
        node_radius: FloatArray,
        count: IntArray,
        rep_voxel: IntArray,
        res: FloatArray,
        chunk_size: tuple[int, int, int],
    ) -> None:
        n = len(count)
        self.n = n
        self.res = np.asarray(res, dtype=np.float64)
        self.count = count
        self.rep_voxel = rep_voxel
        c = (xyz + 0.5) * self.res
        self.s1 = np.stack([np.bincount(sv, weights=c[:, a], minlength=n) for a in range(3)], 1)
        pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
        self.s2 = np.stack(
            [np.bincount(sv, weights=c[:, a] * c[:, b], minlength=n) for a, b in pairs], 1
        )
        self.max_r = np.zeros(n)
        np.maximum.at(self.max_r, sv, node_radius)
        self.sum_r = np.bincount(sv, weights=node_radius, minlength=n)
        cs = np.asarray(chunk_size)
        local = xyz % cs
        faces = np.zeros((n, 2, 3), dtype=np.int64)
        for a in range(3):
            faces[:, 0, a] = np.bincount(sv[local[:, a] == 0], minlength=n)
            faces[:, 1, a] = np.bincount(sv[local[:, a] == cs[a] - 1], minlength=n)
        self.chunk_faces = faces
        # exposed faces and shared faces between supervoxels
        self.exposed = np.zeros((n, 3), dtype=np.int64)
        pa: list[IntArray] = []
        pb: list[IntArray] = []
        pax: list[IntArray] = []
        pc: list[IntArray] = []
        lab = labels.view(np.int32)
        for a in range(3):
            sl_lo = [slice(None)] * 3
            sl_hi = [slice(None)] * 3
            sl_lo[a] = slice(0, lab.shape[a] - 1)
            sl_hi[a] = slice(1, lab.shape[a])
            lo = lab[tuple(sl_lo)]
            hi = lab[tuple(sl_hi)]
            diff = lo != hi
            for side in (lo, hi):
                m = diff & (side > 0)
                self.exposed[:, a] += np.bincount(side[m] - 1, minlength=n)
            for edge in (np.take(lab, [0], axis=a), np.take(lab, [lab.shape[a] - 1], axis=a)):
                v = edge[edge > 0]
                self.exposed[:, a] += np.bincount(v - 1, minlength=n)
            both = diff & (lo > 0) & (hi > 0)
            x = lo[both].astype(np.int64) - 1
            y = hi[both].astype(np.int64) - 1
            key = np.minimum(x, y) * n + np.maximum(x, y)
            uk, cnt = np.unique(key, return_counts=True)
            pa.append(uk // n)
            pb.append(uk % n)
            pax.append(np.full(len(uk), a))
            pc.append(cnt)
        self.pair_a = np.concatenate(pa)
        self.pair_b = np.concatenate(pb)
        self.pair_axis = np.concatenate(pax)
        self.pair_count = np.concatenate(pc)
        r = self.res
        self.face_area = np.array([r[1] * r[2], r[0] * r[2], r[0] * r[1]])

    @property
    def voxel_volume(self) -> float:
        return float(np.prod(self.res))

    def attributes(self, members: IntArray) -> dict[str, Any]:
        """L2-cache attributes of a node made of supervoxel indices ``members``."""
        m = np.asarray(members, dtype=np.int64)
        n = int(self.count[m].sum())
        size = n * self.voxel_volume
        exposed = self.exposed[m].sum(axis=0).astype(np.float64)
        inside = np.isin(self.pair_a, m) & np.isin(self.pair_b, m)
        for a in range(3):
            exposed[a] -= 2 * self.pair_count[inside & (self.pair_axis == a)].sum()
        area = float((exposed * self.face_area).sum())
        big = m[int(np.argmax(self.count[m]))]
        rep = (self.rep_voxel[big] * self.res).tolist()
        mean = self.s1[m].sum(axis=0) / n
        s2 = self.s2[m].sum(axis=0) / n
        cov = np.array(
            [[s2[0], s2[1], s2[2]], [s2[1], s2[3], s2[4]], [s2[2], s2[4], s2[5]]]
        ) - np.outer(mean, mean)
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1]
        vals = np.clip(vals[order], 0.0, None)
        comps = vecs[:, order].T
        return {
            "area_nm2": round(area, 3),
            "chunk_intersect_count": self.chunk_faces[m].sum(axis=0).tolist(),
            "max_dt_nm": float(self.max_r[m].max()),
            "mean_dt_nm": round(float(self.sum_r[m].sum() / n / 3.0), 4),
            "pca": np.round(comps, 6).tolist(),
            "pca_val": np.round(vals, 4).tolist(),
            "rep_coord_nm": [float(v) for v in rep],
            "size_nm3": float(size),
        }


def huge_attributes(
    chunk: tuple[int, int, int], n_svs: int, res: FloatArray, chunk_size: tuple[int, int, int]
) -> dict[str, Any]:
    """Synthetic attributes of one L2 node of the huge neuron (one voxel per supervoxel)."""
    vol = float(np.prod(res))
    cs = np.asarray(chunk_size)
    centre = (np.asarray(chunk) * cs + cs // 2) * np.asarray(res)
    return {
        "area_nm2": float(n_svs * 2 * (res[0] * res[1] + res[0] * res[2] + res[1] * res[2])),
        "chunk_intersect_count": [[0, 0, 0], [0, 0, 0]],
        "max_dt_nm": 40.0,
        "mean_dt_nm": 13.3333,
        "pca": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        "pca_val": [1.0, 1.0, 1.0],
        "rep_coord_nm": [float(v) for v in centre],
        "size_nm3": float(n_svs * vol),
    }
