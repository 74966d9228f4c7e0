"""What LocalCave's routes ask of a world: the `CaveWorld` protocol.

The HTTP routes (``_routes_*.py``) only call the members listed here, so any object that
implements them can be served: the small voxelized [`World`][tracertools.testing.world.World]
(through `SmallWorldApi`, its implementation of the protocol) and the lazily generated
[`ScaleWorld`][tracertools.testing.scaleworld.ScaleWorld]. Both worlds also share
`RootLineage`, the ground-truth lineage answers tests ask for (``successor``,
``original_roots``, ``latest_roots``).

Conventions: IDs are ``uint64`` arrays (or Python ints), times are epoch seconds (UTC),
``t=None`` is never passed (the routes resolve "now"), unknown node IDs raise
`UnknownNodeError`, bad queries raise
`QueryError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

    from tracertools.testing._graph import Operation
    from tracertools.testing._ids import GraphLayout
    from tracertools.testing._skeletons import Skeleton

IdArray = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Mesh = tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]


@runtime_checkable
class CaveWorld(Protocol):
    """The ground-truth world a LocalCave serves (everything the routes use).

    Attributes:
        seed: the world's seed.
        layout: graphene ID bit layout and chunk grid.
        resolution: viewer resolution (table positions), nm per voxel.
        seg_resolution: watershed / chunkedgraph mip-0 resolution, nm per voxel.
        shape: watershed volume size, seg voxels.
        chunk_size: chunkedgraph chunk size, seg voxels.
        ws_chunk_size: chunk size of the served watershed scale, seg voxels.
        t0: creation time of the original roots.
        version_timestamps: materialization version -> timestamp.
        swamps: swamp ID -> closed mesh (vertices nm, triangles).
        service_limits: default `FaultConfig` settings
            the server starts (and resets) with, e.g. ``{"row_cap": 500000}``.
    """

    @property
    def seed(self) -> int: ...

    @property
    def layout(self) -> GraphLayout: ...

    @property
    def resolution(self) -> tuple[float, ...]: ...

    @property
    def seg_resolution(self) -> tuple[float, ...]: ...

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def chunk_size(self) -> tuple[int, ...]: ...

    @property
    def t0(self) -> float: ...

    @property
    def version_timestamps(self) -> dict[int, float]: ...

    @property
    def swamps(self) -> dict[int, Mesh]: ...

    @property
    def ws_chunk_size(self) -> tuple[int, ...]: ...

    @property
    def service_limits(self) -> Mapping[str, Any]: ...

    def summary(self) -> str:
        """One line for the datastack's ``description``."""
        ...

    # -- chunkedgraph ------------------------------------------------------------------------

    def node_roots(self, ids: IdArray, t: float, stop_layer: int | None = None) -> IdArray:
        """Ancestor of each node at ``t`` on ``stop_layer`` (default the root); 0 maps to 0."""
        ...

    def node_leaves(self, node_id: int, stop_layer: int = 1, bounds: npt.NDArray[np.int64] | None = None) -> IdArray:
        """Sorted descendants of a node on ``stop_layer``, optionally within ``bounds``."""
        ...

    def node_children(self, node_id: int) -> IdArray:
        """Direct children of a node."""
        ...

    def root_records(self, ids: IdArray) -> tuple[BoolArray, FloatArray, FloatArray]:
        """(known, created, superseded) per root-layer ID; superseded is inf while latest."""
        ...

    def node_exists(self, ids: IdArray) -> BoolArray:
        """Whether each ID (any layer) was ever created."""
        ...

    def node_created(self, node_id: int) -> float:
        """Creation time of an existing node."""
        ...

    def lineage_graph(
        self, root_ids: Iterable[int], t_past: float, t_future: float
    ) -> tuple[dict[int, dict[str, float | int]], list[tuple[int, int]]]:
        """PyChunkedGraph's lineage traversal: node attributes and past -> future links."""
        ...

    def past_ids(self, root: int, t_past: float) -> list[int]:
        """``past_id_mapping`` of one root."""
        ...

    def history_operations(self, root: int) -> list[Operation]:
        """Operations that ended one of the root's ancestors, by operation ID."""
        ...

    def operation(self, operation_id: int) -> Operation | None:
        """One operation, or None if there is no such ID."""
        ...

    def lvl2_edges(self, root: int) -> list[list[int]]:
        """Sorted L2-L2 edges of a root (``lvl2_graph``)."""
        ...

    def user_info(self, user_id: str) -> tuple[str, str]:
        """(name, affiliation) of an editor."""
        ...

    def tabular_change_log(self, root: int, filtered: bool) -> pd.DataFrame:
        """Upstream's tabular change log of a root (see `tabular_change_log()`)."""
        ...

    # -- L2 cache, skeletons, meshes, voxels -------------------------------------------------

    def l2_data(self, l2_ids: Sequence[int]) -> list[dict[str, Any] | None]:
        """L2-cache attributes of each L2 ID, None where it does not exist."""
        ...

    def skeleton(self, root: int) -> Skeleton:
        """The root's skeleton (vertices in nm)."""
        ...

    def skeleton_precached(self, root: int) -> bool:
        """Whether the skeleton service already holds this existing root's skeleton."""
        ...

    def neuron_mesh(self, root: int) -> Mesh:
        """A closed mesh of a root (vertices in nm)."""
        ...

    def watershed_chunk(self, lo: Sequence[int], hi: Sequence[int]) -> bytes | None:
        """Raw little-endian uint64 labels of a seg-voxel box (Fortran order); None: absent."""
        ...

    # -- tables ------------------------------------------------------------------------------

    def table_names(self) -> list[str]:
        """Names of the materialized tables."""
        ...

    def table_metadata(self, name: str, aligned_volume: str, pcg_table: str, version: int | None) -> dict[str, Any]:
        """Materialization metadata of a table."""
        ...

    def table_count(self, name: str, t: float | None) -> int:
        """Rows of a table that exist at ``t`` (None: all rows ever)."""
        ...

    def query_rows(
        self, name: str, t: float, body: Mapping[str, Any], max_rows: int, random_sample: int | None = None
    ) -> pd.DataFrame:
        """A materialization query at time ``t``: filters, selection, offset and ``limit`` of
        ``body`` applied, positions split into ``_x/_y/_z``; at most ``max_rows + 1`` rows (one
        more than the cap tells the caller the cap truncated the answer)."""
        ...


CHANGE_LOG_COLUMNS = [
    "operation_id", "timestamp", "user_id", "before_root_ids", "after_root_ids",
    "is_merge", "in_neuron", "is_relevant", "user_name", "user_affiliation",
]


def tabular_change_log(w: CaveWorld, root: int, filtered: bool) -> pd.DataFrame:
    """Upstream's tabular change log of a root, from the protocol's primitives.

    One row per operation in the root's history. ``is_relevant``: a merge joined two
    different original roots, a split separated supervoxels that were in two roots when
    ``root`` was created; ``in_neuron``: the merge's supervoxels are all in ``root``, or
    some of the split's are. ``filtered=True`` keeps the rows that are both (and drops the
    two columns), as PyChunkedGraph does.
    """
    import pandas as pd

    from tracertools.testing._graph import UnknownNodeError

    u64 = np.uint64
    known, created, _ = w.root_records(np.array([root], dtype=u64))
    if not known[0]:
        raise UnknownNodeError([root])
    rows = []
    for op in w.history_operations(root):
        edited = np.array(list(op.sink_ids) + list(op.source_ids), dtype=u64)
        cur = w.node_roots(edited, float(created[0]))
        orig = w.node_roots(edited, w.t0)
        if op.is_merge:
            relevant = len(np.unique(orig)) != 1
            in_neuron = bool(np.all(cur == u64(root)))
        else:
            relevant = len(np.unique(cur)) != 1
            in_neuron = bool(np.any(cur == u64(root)))
        name, aff = w.user_info(op.user_id)
        rows.append(
            {
                "operation_id": op.operation_id,
                "timestamp": pd.Timestamp(op.timestamp * 1e3, unit="ms"),
                "user_id": op.user_id,
                "before_root_ids": list(op.before_roots),
                "after_root_ids": list(op.after_roots),
                "is_merge": op.is_merge,
                "in_neuron": in_neuron,
                "is_relevant": bool(relevant),
                "user_name": name,
                "user_affiliation": aff,
            }
        )
    return finish_change_log(pd.DataFrame(rows, columns=CHANGE_LOG_COLUMNS), filtered)


def finish_change_log(df: pd.DataFrame, filtered: bool) -> pd.DataFrame:
    """Apply ``filtered`` to a full tabular change log."""
    if filtered:
        df = df[df["in_neuron"] & df["is_relevant"]].drop(columns=["in_neuron", "is_relevant"])
        df = df.reset_index(drop=True)
    return df


class RootLineage:
    """Ground-truth lineage answers both worlds give alike (a mixin of
    [`World`][tracertools.testing.world.World] and
    [`ScaleWorld`][tracertools.testing.scaleworld.ScaleWorld]).

    Built on the world's ``graph`` (``ancestors``, ``descendants``, ``roots[id].parents``)
    and its own ``successor_candidates`` and ``is_latest``.
    """

    graph: Any

    if TYPE_CHECKING:  # provided by each world

        def successor_candidates(self, root: int, t: float | None = None) -> list[tuple[int, float]]: ...

        def is_latest(self, root: int, t: float | None = None) -> bool: ...

        def root_records(self, ids: IdArray) -> tuple[BoolArray, FloatArray, FloatArray]: ...

    def read_moments(self, ids: Iterable[int]) -> dict[int, float]:
        """The moment (epoch s) each stale root of ``ids`` can be read at, the ground truth of
        reads that take stale IDs as they were (synapse counts, proofreading status): the
        fewest moments covering every stale root's lifetime, each 1 ms before the edit that
        retired one of them (caveclient's last moment of a root), by greedy stabbing.
        Current roots are absent (they are read now)."""
        stale = [int(i) for i in dict.fromkeys(ids) if not self.is_latest(int(i))]
        _, created, superseded = self.root_records(np.asarray(stale, dtype=np.uint64))
        point = -float("inf")
        at: dict[int, float] = {}
        spans = zip((superseded - 0.001).tolist(), created.tolist(), stale, strict=True)
        for end, start, root in sorted(spans):
            if start > point:
                point = end
            at[root] = point
        return at

    def successor(self, root: int, t: float | None = None) -> int:
        """The latest root with the largest supervoxel overlap (``root`` itself if latest)."""
        return self.successor_candidates(root, t)[0][0]

    def original_roots(self, root: int) -> list[int]:
        """Original (never-edited) ancestors of ``root`` (itself if it has none)."""
        anc = self.graph.ancestors(int(root))
        out = [a for a in anc if not self.graph.roots[a].parents]
        return out or [int(root)]

    def latest_roots(self, root: int, t: float | None = None) -> list[int]:
        """Descendants of ``root`` latest at ``t`` (default: now; itself if it is latest)."""
        now = time.time() if t is None else float(t)
        cand = [int(root)] + self.graph.descendants(int(root))
        return sorted(r for r in cand if self.is_latest(r, now))


class SmallWorldApi:
    """`CaveWorld` for the voxelized small [`World`][tracertools.testing.world.World] (delegates to its graph).

    A mixin: ``World`` inherits it, so the small world implements the protocol directly.
    """

    graph: Any
    stats: Any
    tables: dict[str, Any]
    chunk_size: tuple[int, ...]
    seed: int
    n_neurons: int
    resolution: tuple[float, ...]
    service_limits: Mapping[str, Any] = {}

    if TYPE_CHECKING:  # provided by World

        def table(self, name: str, t: float | None = None, version: int | None = None) -> pd.DataFrame: ...

        def l2_attributes(self, l2_id: int) -> dict[str, Any]: ...

    @property
    def ws_chunk_size(self) -> tuple[int, ...]:
        return self.chunk_size

    def summary(self) -> str:
        return f"LocalCave synthetic world (seed {self.seed}, {self.n_neurons} neurons)"

    def node_roots(self, ids: IdArray, t: float, stop_layer: int | None = None) -> IdArray:
        return self.graph.roots_at(ids, t, stop_layer)  # type: ignore[no-any-return]

    def node_leaves(self, node_id: int, stop_layer: int = 1, bounds: npt.NDArray[np.int64] | None = None) -> IdArray:
        return self.graph.leaves(node_id, stop_layer, bounds)  # type: ignore[no-any-return]

    def node_children(self, node_id: int) -> IdArray:
        return self.graph.children(node_id)  # type: ignore[no-any-return]

    def root_records(self, ids: IdArray) -> tuple[BoolArray, FloatArray, FloatArray]:
        roots = self.graph.roots
        n = len(ids)
        known = np.zeros(n, dtype=bool)
        created = np.full(n, np.nan)
        superseded = np.full(n, np.inf)
        for i, r in enumerate(np.asarray(ids, dtype=np.uint64).tolist()):
            rec = roots.get(int(r))
            if rec is None:
                continue
            known[i] = True
            created[i] = rec.created
            if rec.superseded is not None:
                superseded[i] = rec.superseded
        return known, created, superseded

    def node_exists(self, ids: IdArray) -> BoolArray:
        return np.array([self.graph.exists(int(n)) for n in np.asarray(ids).tolist()], dtype=bool)

    def node_created(self, node_id: int) -> float:
        return float(self.graph.created(int(node_id)))

    def lineage_graph(
        self, root_ids: Iterable[int], t_past: float, t_future: float
    ) -> tuple[dict[int, dict[str, float | int]], list[tuple[int, int]]]:
        return self.graph.lineage_graph(root_ids, t_past, t_future)  # type: ignore[no-any-return]

    def past_ids(self, root: int, t_past: float) -> list[int]:
        return self.graph.past_ids(root, t_past)  # type: ignore[no-any-return]

    def history_operations(self, root: int) -> list[Operation]:
        return self.graph.history_operations(root)  # type: ignore[no-any-return]

    def operation(self, operation_id: int) -> Operation | None:
        return self.graph.op_by_id.get(int(operation_id))  # type: ignore[no-any-return]

    def lvl2_edges(self, root: int) -> list[list[int]]:
        from tracertools.testing._graph import UnknownNodeError

        g = self.graph
        rid = int(root)
        if rid not in g.roots:
            raise UnknownNodeError([rid])
        if g.roots[rid].huge:
            return []
        l2_of = {}
        for l2 in g.root_l2[rid].values():
            for s in g.l2_svs[g.l2_index[l2]].tolist():
                l2_of[s] = l2
        st = self.stats
        pairs = set()
        for a, b in zip(st.pair_a.tolist(), st.pair_b.tolist(), strict=True):
            la, lb = l2_of.get(a), l2_of.get(b)
            if la is not None and lb is not None and la != lb:
                pairs.add((min(la, lb), max(la, lb)))
        return [list(p) for p in sorted(pairs)]

    def tabular_change_log(self, root: int, filtered: bool) -> pd.DataFrame:
        return tabular_change_log(self, root, filtered)  # type: ignore[arg-type]

    def l2_data(self, l2_ids: Sequence[int]) -> list[dict[str, Any] | None]:
        index = self.graph.l2_index
        return [self.l2_attributes(int(v)) if int(v) in index else None for v in l2_ids]

    def skeleton_precached(self, root: int) -> bool:
        # roots that existed at the newest materialization version were skeletonized long ago
        world: Any = self  # the small World: its lifetimes and versions
        return (int(root) in self.graph.roots
                and world.root_timestamp(int(root)) <= world.version_timestamps[world.latest_version])

    def table_names(self) -> list[str]:
        return sorted(self.tables)

    def table_metadata(self, name: str, aligned_volume: str, pcg_table: str, version: int | None) -> dict[str, Any]:
        return self.tables[name].metadata(aligned_volume, pcg_table, self.resolution, version)  # type: ignore[no-any-return]

    def table_count(self, name: str, t: float | None) -> int:
        table = self.tables[name]
        if t is None:
            return int(table.n_rows)
        return int((table.data["created"] <= t).sum())

    def query_rows(
        self, name: str, t: float, body: Mapping[str, Any], max_rows: int, random_sample: int | None = None
    ) -> pd.DataFrame:
        from tracertools.testing._tables import apply_query

        out = apply_query(self._cached_snapshot(name, t), name, body)
        if random_sample is not None and random_sample < len(out):
            idx = np.sort(np.random.default_rng(0).choice(len(out), random_sample, replace=False))
            out = out.iloc[idx].reset_index(drop=True)
        return out.iloc[: max_rows + 1]

    def _cached_snapshot(self, name: str, t: float) -> pd.DataFrame:
        """A table snapshot at ``t``, memoised by what it depends on (epoch, rows created)."""
        import threading

        lock = self.__dict__.setdefault("_snap_lock", threading.Lock())
        cache: dict[Any, Any] = self.__dict__.setdefault("_snap_cache", {})
        created = self.tables[name].data["created"]
        key = (name, self.graph.epoch_at(t), int((created <= t).sum()))
        with lock:
            hit = cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        snap = self.table(name, t=t)
        with lock:
            if len(cache) > 256:
                cache.clear()
            cache[key] = snap
        return snap  # type: ignore[no-any-return]
