"""Graphene (PyChunkedGraph) node-ID bit layout used by the LocalCave world.

An ID packs ``layer`` (top 8 bits), the chunk coordinates ``x, y, z`` (``bits[layer]`` bits
each) and a segment number (the remaining low bits), exactly as cloud-volume and caveclient
decode them. All IDs stay below 2**63.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

LAYER_BITS = 8
U64 = np.uint64


@dataclass(frozen=True)
class GraphLayout:
    """Bit layout and chunk geometry of a chunkedgraph.

    Attributes:
        n_layers: number of layers; roots live on ``n_layers`` in chunk (0, 0, 0).
        grid: number of layer-2 chunks along x, y, z.
        chunk_size: chunk size in segmentation mip-0 voxels.
        spatial_bits: bits per chunk coordinate for each layer (index 0 unused).
    """

    n_layers: int
    grid: tuple[int, int, int]
    chunk_size: tuple[int, int, int]
    spatial_bits: tuple[int, ...] = field(default=())

    @classmethod
    def for_grid(
        cls, grid: Sequence[int], chunk_size: Sequence[int], spatial_bits_l2: int = 10
    ) -> GraphLayout:
        """Build the layout PyChunkedGraph would choose for a layer-2 chunk grid."""
        g = max(int(v) for v in grid)
        n_layers = 2
        while g > 1:
            g = (g + 1) // 2
            n_layers += 1
        n_layers = max(n_layers, 3)
        bits = [0] * (n_layers + 1)
        for layer in range(n_layers, 2, -1):
            bits[layer] = max(1, n_layers - layer)
        bits[2] = max(spatial_bits_l2, n_layers - 2)
        bits[1] = bits[2]
        return cls(
            n_layers=n_layers,
            grid=(int(grid[0]), int(grid[1]), int(grid[2])),
            chunk_size=(int(chunk_size[0]), int(chunk_size[1]), int(chunk_size[2])),
            spatial_bits=tuple(bits),
        )

    def segment_bits(self, layer: int) -> int:
        """Number of segment-number bits of IDs on ``layer``."""
        return 64 - LAYER_BITS - 3 * self.spatial_bits[layer]

    def layer_grid(self, layer: int) -> tuple[int, int, int]:
        """Chunk grid shape of ``layer`` (fan-out 2)."""
        if layer >= self.n_layers:
            return (1, 1, 1)
        if layer <= 2:
            return self.grid
        f = 2 ** (layer - 2)
        return tuple(-(-g // f) for g in self.grid)  # type: ignore[return-value]

    def encode(self, layer: int, chunk: Sequence[int], segid: int) -> int:
        """Pack one ID."""
        b = self.spatial_bits[layer]
        s = self.segment_bits(layer)
        x, y, z = (int(c) for c in chunk)
        if not (0 <= segid < (1 << s)):
            raise ValueError(f"segment id {segid} does not fit in {s} bits")
        return (layer << (64 - LAYER_BITS)) | (x << (s + 2 * b)) | (y << (s + b)) | (z << s) | segid

    def encode_many(
        self, layer: int, chunks: npt.NDArray[np.integer], segids: npt.NDArray[np.integer]
    ) -> npt.NDArray[np.uint64]:
        """Pack many IDs of one layer (``chunks`` is (n, 3))."""
        b = U64(self.spatial_bits[layer])
        s = U64(self.segment_bits(layer))
        c = np.asarray(chunks, dtype=U64).reshape(-1, 3)
        out = (U64(layer) << U64(64 - LAYER_BITS)) | (c[:, 0] << (s + U64(2) * b))
        out |= c[:, 1] << (s + b)
        out |= c[:, 2] << s
        out |= np.asarray(segids, dtype=U64)
        return out

    @staticmethod
    def layers_of(ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Layer of each ID."""
        return (np.asarray(ids, dtype=U64) >> U64(64 - LAYER_BITS)).astype(np.int64)

    @staticmethod
    def layer_of(node_id: int) -> int:
        """Layer of one ID."""
        return int(node_id) >> (64 - LAYER_BITS)

    def chunk_of(self, node_id: int) -> tuple[int, int, int]:
        """Chunk coordinates of one ID."""
        layer = self.layer_of(node_id)
        if not 1 <= layer <= self.n_layers:
            raise ValueError(f"invalid layer {layer}")
        b = self.spatial_bits[layer]
        s = self.segment_bits(layer)
        m = (1 << b) - 1
        n = int(node_id)
        return ((n >> (s + 2 * b)) & m, (n >> (s + b)) & m, (n >> s) & m)

    def chunks_of(self, layer: int, ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Chunk coordinates (n, 3) of IDs that all live on ``layer``."""
        b = U64(self.spatial_bits[layer])
        s = U64(self.segment_bits(layer))
        m = (U64(1) << b) - U64(1)
        a = np.asarray(ids, dtype=U64)
        return np.stack(
            [(a >> (s + U64(2) * b)) & m, (a >> (s + b)) & m, (a >> s) & m], axis=1
        ).astype(np.int64)

    def segid_of(self, node_id: int) -> int:
        """Segment number of one ID."""
        return int(node_id) & ((1 << self.segment_bits(self.layer_of(node_id))) - 1)

    def parent_chunk(self, chunk: Sequence[int], layer: int) -> tuple[int, int, int]:
        """Chunk on ``layer`` containing the layer-2 chunk ``chunk``."""
        if layer >= self.n_layers:
            return (0, 0, 0)
        f = 2 ** max(0, layer - 2)
        return (int(chunk[0]) // f, int(chunk[1]) // f, int(chunk[2]) // f)

    def chunk_index(self, chunk: Sequence[int]) -> int:
        """Flat index of a layer-2 chunk (x fastest)."""
        gx, gy, _ = self.grid
        return int(chunk[0]) + gx * (int(chunk[1]) + gy * int(chunk[2]))

    def chunk_from_index(self, index: int) -> tuple[int, int, int]:
        """Inverse of `chunk_index()`."""
        gx, gy, _ = self.grid
        return (index % gx, (index // gx) % gy, index // (gx * gy))

    def info_graph(self) -> dict[str, object]:
        """The ``graph`` block of the graphene info."""
        return {
            "chunk_size": list(self.chunk_size),
            "bounding_box": [g * c for g, c in zip(self.grid, self.chunk_size, strict=True)],
            "n_bits_for_layer_id": LAYER_BITS,
            "cv_mip": 0,
            "n_layers": self.n_layers,
            "fan_out": 2,
            "spatial_bit_masks": {
                str(layer): self.spatial_bits[layer] for layer in range(1, self.n_layers + 1)
            },
        }
