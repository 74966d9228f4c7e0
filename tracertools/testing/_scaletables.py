"""The scale world's annotation tables, generated per query and never held whole.

Every row has an *owner* neuron (the presynaptic neuron of a synapse, the neuron of a
proofreading or cell-info row) and row IDs increase with the owner, so the rows of any set
of neurons, or of any ID range, can be generated on their own:

* ``synapses``: each neuron ``k`` sends synapses to the 64 neurons ``(k + d) mod N`` for a
  fixed set of offsets ``d`` in [-512, 512]; a pair gets ``floor(lambda * E)`` synapses
  (``E`` exponential, ``lambda`` growing with both neurons' sizes), about 1.3e7 rows for
  100,000 neurons. Pre and post points lie on their own neurons. All rows exist from
  ``t0 + 12 h``.
* ``proofreading_status``: one row for about 40 % of neurons, created at a time spread over
  the edit period (so versions differ); ``valid_id`` is the neuron's root at that time.
* ``cell_info``: one row with a tag for about 80 % of neurons, at ``t0 + 1 day``.

A query with root / supervoxel / ID filters generates only the rows of the neurons they
name; other queries scan the table in ID order until they have ``offset + limit`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tracertools.testing._scalehash import hash64, uniform
from tracertools.testing._tables import QueryError, apply_query

if TYPE_CHECKING:
    from tracertools.testing._scalegraph import ScaleGraph

IntArray = npt.NDArray[np.int64]
U64 = np.uint64
DAY = 86400.0
TAGS = ("KC", "PN", "LN", "MBON", "DN", "AN", "SEZ", "ORN", "MN", "IN", "SN", "VNC")
N_OFFSETS = 64
OFFSET_SPAN = 512
MAX_PAIR = 255
PAGE_NEURONS = 512
_FILTERS = (
    "filter_in_dict", "filter_notin_dict", "filter_equal_dict", "filter_greater_dict",
    "filter_less_dict", "filter_greater_equal_dict", "filter_less_equal_dict",
    "filter_spatial_dict", "filter_regex_dict",
)


@dataclass
class Rows:
    """Rows before the time-dependent columns: plain columns and, per point role, the
    neuron, position and supervoxel number of the point plus its seg voxel."""

    cols: dict[str, np.ndarray]
    points: dict[str, tuple[IntArray, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.cols["id"]))

    def take(self, keep: npt.NDArray[np.bool_] | IntArray) -> Rows:
        return Rows(
            {k: v[keep] for k, v in self.cols.items()},
            {r: (a[keep], b[keep], c[keep], d[keep]) for r, (a, b, c, d) in self.points.items()},
        )


class ScaleTable:
    """One lazily generated table. Subclasses define the rows of a set of owner neurons."""

    name = ""
    schema = ""
    description = ""
    columns: list[tuple[str, str]] = []
    roles: tuple[str, ...] = ("pt",)
    """Point roles; column ``<role>_supervoxel_id``, ``<role>_root_id``, ``<role>_position``."""

    def __init__(self, g: ScaleGraph) -> None:
        self.g = g
        self.p = g.p
        self.n = g.p.n_neurons

    # -- to override -------------------------------------------------------------------------

    def owner_mask(self, ks: IntArray) -> npt.NDArray[np.bool_]:
        """Which neurons own rows."""
        return np.ones(len(ks), dtype=bool)

    def counts(self, ks: IntArray, t: float | None) -> IntArray:
        """Rows each neuron owns that exist at ``t`` (None: ever)."""
        raise NotImplementedError

    def base(self, ks: IntArray, where: Mapping[str, IntArray] | None = None,
             roles: frozenset[str] | None = None) -> Rows:
        """The rows owned by the (sorted, unique) neurons ``ks``, in ID order; with ``where``,
        only those whose ``role`` point lies on one of ``where[role]`` (before any point is
        generated, so unrelated neurons are never built). ``roles``: the point roles a query
        needs (None: all); a table may leave the others out of ``Rows.points`` (their columns
        are then missing), so a query naming one role never builds the other's neurons."""
        raise NotImplementedError

    def owners_for(self, role: str, ks: IntArray) -> IntArray:
        """Owner neurons whose rows may put a ``role`` point on one of ``ks``."""
        return ks

    def extra(self, rows: Rows, t: float, out: dict[str, Any]) -> None:
        """Fill columns that are neither plain nor points (e.g. ``valid_id``)."""

    # -- shared ------------------------------------------------------------------------------

    def soma_point(self, ks: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        pos = np.zeros(len(ks), dtype=np.int64)
        vox = np.zeros((len(ks), 3), dtype=np.int64)
        for i, k in enumerate(ks.tolist()):
            vox[i] = self.g.sv_voxels(self.g.plan(int(k)), pos[i : i + 1])[0]
        return ks.astype(np.int64), pos, np.zeros(len(ks), dtype=np.int64), vox

    def materialize(self, rows: Rows, t: float) -> pd.DataFrame:
        """The rows existing at ``t`` with supervoxel and root IDs as of ``t``."""
        rows = rows.take(rows.cols["created"] <= t)
        g = self.g
        out: dict[str, Any] = {}
        cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for role, (ks, pos, local, _) in rows.points.items():
            svs = np.zeros(len(ks), dtype=U64)
            for k in np.unique(ks).tolist():
                m = ks == k
                svs[m] = g.sv_ids(int(k), pos[m], local[m])
            cache[role] = (svs, g.roots_at(svs, t) if len(svs) else np.zeros(0, dtype=U64))
        self.extra(rows, t, out)
        res = np.asarray(self.p.seg_resolution)
        view = np.asarray(self.p.resolution)
        frame: dict[str, Any] = {}
        for name, kind in self.columns:
            if name in out:
                frame[name] = out[name]
            elif kind == "time":
                frame[name] = pd.to_datetime(np.round(rows.cols[name] * 1e6).astype(np.int64), unit="us")
            elif kind in ("sv", "root"):
                role = name.rsplit("_", 2)[0]
                if role not in cache:  # a role the query does not need (see base)
                    continue
                frame[name] = cache[role][0 if kind == "sv" else 1].astype(np.int64)
            elif kind == "pos":
                if name[: -len("_position")] not in rows.points:
                    continue
                vox = rows.points[name[: -len("_position")]][3]
                pt = np.floor((vox + 0.5) * res / view).astype(np.int64)
                for a, suffix in enumerate("xyz"):
                    frame[f"{name}_{suffix}"] = pt[:, a] if len(pt) else np.zeros(0, dtype=np.int64)
            elif kind == "bool":
                frame[name] = rows.cols[name].astype(bool)
            elif kind == "str":
                frame[name] = np.asarray(rows.cols[name], dtype=object)
            else:
                frame[name] = rows.cols[name].astype(np.int64)
        return pd.DataFrame(frame)

    def metadata(self, aligned_volume: str, pcg_table: str, version: int | None) -> dict[str, Any]:
        from tracertools.testing._tables import AnnotationTable

        meta = AnnotationTable(self.name, self.schema, self.description, self.columns).metadata(
            aligned_volume, pcg_table, self.p.resolution, version
        )
        return meta

    def point_rows(self, ks: IntArray, keys: IntArray, stream: int) -> tuple[IntArray, ...]:
        """A random point (position, supervoxel number, seg voxel) on neuron ``ks[i]`` per row."""
        g = self.g
        pos = np.zeros(len(ks), dtype=np.int64)
        local = np.zeros(len(ks), dtype=np.int64)
        vox = np.zeros((len(ks), 3), dtype=np.int64)
        u_pos = uniform(self.p.seed, stream, keys, 0)
        u_loc = uniform(self.p.seed, stream, keys, 1)
        cs = np.asarray(self.g.layout.chunk_size, dtype=np.int64)
        off = (hash64(self.p.seed, stream, keys[:, None], np.arange(2, 5)[None, :]) % U64(1 << 20)).astype(np.int64)
        off = off * cs // (1 << 20)
        for k in np.unique(ks).tolist():
            m = np.flatnonzero(ks == k)
            pl = g.plan(int(k))
            pos[m] = np.minimum((u_pos[m] * pl.m).astype(np.int64), pl.m - 1)
            local[m] = np.minimum((u_loc[m] * pl.counts[pos[m]]).astype(np.int64), pl.counts[pos[m]] - 1)
            vox[m] = pl.chunks[pos[m]] * cs + off[m]
        return pos, local, vox


class SynapseTable(ScaleTable):
    name = "synapses"
    schema = "synapse"
    description = "Synthetic synapses of the scale world (positions in viewer voxels)."
    columns = [
        ("id", "int"), ("created", "time"), ("valid", "bool"), ("size", "int"),
        ("pre_pt_supervoxel_id", "sv"), ("pre_pt_root_id", "root"),
        ("post_pt_supervoxel_id", "sv"), ("post_pt_root_id", "root"),
        ("pre_pt_position", "pos"), ("post_pt_position", "pos"),
    ]
    roles = ("pre_pt", "post_pt")

    def __init__(self, g: ScaleGraph) -> None:
        super().__init__(g)
        span = min(OFFSET_SPAN, max(1, (self.n - 1) // 2))
        cand = np.array([d for d in range(-span, span + 1) if d != 0], dtype=np.int64)
        order = np.argsort(uniform(self.p.seed, 81, cand))
        self.offsets = np.sort(cand[order[: min(N_OFFSETS, len(cand))]])
        self.created = self.p.t0 + 0.5 * DAY

    def pair_counts(self, ks: IntArray) -> IntArray:
        """(len(ks), n_offsets) synapse counts of each pair (owner, owner + offset)."""
        ks = np.asarray(ks, dtype=np.int64)
        partners = (ks[:, None] + self.offsets[None, :]) % self.n
        size = self.g.sc.of(np.concatenate([ks, partners.ravel()]))[0] / self.p.sv_median
        s_own = np.clip(size[: len(ks)], 0.05, 20.0)
        s_par = np.clip(size[len(ks) :].reshape(partners.shape), 0.05, 20.0)
        lam = 2.0 * np.sqrt(s_own[:, None] * s_par)
        u = uniform(self.p.seed, 82, ks[:, None], np.arange(len(self.offsets))[None, :])
        return np.minimum(np.floor(-lam * np.log1p(-u)), MAX_PAIR).astype(np.int64)

    def counts(self, ks: IntArray, t: float | None) -> IntArray:
        total = self.pair_counts(ks).sum(axis=1)
        return total if t is None or t >= self.created else np.zeros_like(total)

    def owners_for(self, role: str, ks: IntArray) -> IntArray:
        if role == "pre_pt":
            return ks
        return np.unique((np.asarray(ks, dtype=np.int64)[:, None] - self.offsets[None, :]) % self.n)

    def base(self, ks: IntArray, where: Mapping[str, IntArray] | None = None,
             roles: frozenset[str] | None = None) -> Rows:
        ks = np.asarray(ks, dtype=np.int64)
        c = self.pair_counts(ks)
        n_off = len(self.offsets)
        partners = (ks[:, None] + self.offsets[None, :]) % self.n
        if where and "pre_pt" in where:
            c[~np.isin(ks, where["pre_pt"])] = 0
        if where and "post_pt" in where:
            c[~np.isin(partners, where["post_pt"])] = 0
        flat = c.ravel()
        owner = np.repeat(np.repeat(ks, n_off), flat)
        d = np.repeat(np.tile(np.arange(n_off), len(ks)), flat)
        starts = np.repeat(np.cumsum(flat) - flat, flat)
        i = np.arange(int(flat.sum()), dtype=np.int64) - starts
        ids = (owner * n_off + d) * (MAX_PAIR + 1) + i + 1
        partner = (owner + self.offsets[d]) % self.n
        points: dict[str, tuple[IntArray, ...]] = {}
        if roles is None or "pre_pt" in roles:
            points["pre_pt"] = (owner, *self.point_rows(owner, ids, 83))
        if roles is None or "post_pt" in roles:
            points["post_pt"] = (partner, *self.point_rows(partner, ids, 84))
        n = len(ids)
        return Rows(
            {
                "id": ids, "created": np.full(n, self.created), "valid": np.ones(n, dtype=bool),
                "size": (20 + np.floor(uniform(self.p.seed, 85, ids) * 2000)).astype(np.int64),
            },
            points,
        )

    def owner_of_ids(self, ids: IntArray) -> IntArray:
        return (np.asarray(ids, dtype=np.int64) - 1) // ((MAX_PAIR + 1) * len(self.offsets))

    def own_positions(self, k: int, role: str) -> IntArray:
        """Positions on neuron ``k`` of its outgoing (``pre_pt``) or incoming (``post_pt``)
        synapses, from ``k``'s own plan only (ground truth for synapse counts)."""
        ks = np.array([k], dtype=np.int64)
        owners = self.owners_for(role, ks)
        c = self.pair_counts(owners)
        partners = (owners[:, None] + self.offsets[None, :]) % self.n
        if role == "pre_pt":
            c[owners != k] = 0
        else:
            c[partners != k] = 0
        n_off = len(self.offsets)
        flat = c.ravel()
        owner = np.repeat(np.repeat(owners, n_off), flat)
        d = np.repeat(np.tile(np.arange(n_off), len(owners)), flat)
        i = np.arange(int(flat.sum()), dtype=np.int64) - np.repeat(np.cumsum(flat) - flat, flat)
        ids = (owner * n_off + d) * (MAX_PAIR + 1) + i + 1
        return self.point_rows(np.full(len(ids), k, dtype=np.int64), ids, 83 if role == "pre_pt" else 84)[0]


class SomaTable(ScaleTable):
    """A table of at most one row per neuron, at its soma (row ID: neuron index + 1)."""

    def owners(self, ks: IntArray, where: Mapping[str, IntArray] | None) -> IntArray:
        """The neurons among ``ks`` that own a row, only those on ``where["pt"]`` if given."""
        ks = np.asarray(ks, dtype=np.int64)
        ks = ks[self.owner_mask(ks)]
        if where and "pt" in where:
            ks = ks[np.isin(ks, where["pt"])]
        return ks

    def owner_of_ids(self, ids: IntArray) -> IntArray:
        return np.asarray(ids, dtype=np.int64) - 1


class ProofreadingTable(SomaTable):
    name = "proofreading_status"
    schema = "proofreading_boolstatus_user"
    description = "Proofreading status per neuron; valid_id is the root the status was set for."
    columns = [
        ("id", "int"), ("created", "time"), ("valid", "bool"),
        ("pt_supervoxel_id", "sv"), ("pt_root_id", "root"),
        ("valid_id", "int"), ("proofread", "bool"), ("user_id", "int"),
        ("pt_position", "pos"),
    ]

    def owner_mask(self, ks: IntArray) -> npt.NDArray[np.bool_]:
        return uniform(self.p.seed, 91, ks) < 0.4  # type: ignore[no-any-return]

    def created_at(self, ks: IntArray) -> npt.NDArray[np.float64]:
        span = self.p.edit_days - 10.0
        return self.p.t0 + (10.0 + span * uniform(self.p.seed, 92, ks)) * DAY  # type: ignore[no-any-return]

    def counts(self, ks: IntArray, t: float | None) -> IntArray:
        own = self.owner_mask(ks)
        if t is not None:
            own &= self.created_at(ks) <= t
        return own.astype(np.int64)

    def base(self, ks: IntArray, where: Mapping[str, IntArray] | None = None,
             roles: frozenset[str] | None = None) -> Rows:
        ks = self.owners(ks, where)
        n = len(ks)
        return Rows(
            {
                "id": ks + 1, "created": self.created_at(ks), "valid": np.ones(n, dtype=bool),
                "proofread": uniform(self.p.seed, 93, ks) < 0.9,
                "user_id": 2001 + (uniform(self.p.seed, 94, ks) * self.p.n_users).astype(np.int64),
            },
            {"pt": self.soma_point(ks)},
        )

    def extra(self, rows: Rows, t: float, out: dict[str, Any]) -> None:
        ks = rows.points["pt"][0]
        vid = np.zeros(len(ks), dtype=np.int64)
        for i, (k, c) in enumerate(zip(ks.tolist(), rows.cols["created"].tolist(), strict=True)):
            pl = self.g.plan(int(k))
            vid[i] = self.g.root_id(int(k), int(pl.root_of_pieces(np.array([0]), c)[0]))
        out["valid_id"] = vid


class CellInfoTable(SomaTable):
    name = "cell_info"
    schema = "cell_type_local"
    description = "One tag per neuron, at its soma."
    columns = [
        ("id", "int"), ("created", "time"), ("valid", "bool"),
        ("pt_supervoxel_id", "sv"), ("pt_root_id", "root"), ("tag", "str"),
        ("pt_position", "pos"),
    ]

    def owner_mask(self, ks: IntArray) -> npt.NDArray[np.bool_]:
        return uniform(self.p.seed, 101, ks) < 0.8  # type: ignore[no-any-return]

    def counts(self, ks: IntArray, t: float | None) -> IntArray:
        own = self.owner_mask(ks)
        if t is not None and t < self.p.t0 + DAY:
            own &= False
        return own.astype(np.int64)

    def base(self, ks: IntArray, where: Mapping[str, IntArray] | None = None,
             roles: frozenset[str] | None = None) -> Rows:
        ks = self.owners(ks, where)
        n = len(ks)
        tag = (uniform(self.p.seed, 102, ks) * len(TAGS)).astype(np.int64)
        return Rows(
            {
                "id": ks + 1, "created": np.full(n, self.p.t0 + DAY), "valid": np.ones(n, dtype=bool),
                "tag": np.array([TAGS[i] for i in tag.tolist()], dtype=object),
            },
            {"pt": self.soma_point(ks)},
        )


# -- query engine ----------------------------------------------------------------------------


def _per_table(body: Mapping[str, Any], key: str, table: str) -> dict[str, Any]:
    value = body.get(key) or {}
    if not isinstance(value, Mapping):
        raise QueryError(f"{key} must be an object keyed by table name")
    inner = value.get(table) or {}
    if not isinstance(inner, Mapping):
        raise QueryError(f"{key}[{table!r}] must be an object")
    return dict(inner)


def _ints(values: Any) -> IntArray:
    vals = values if isinstance(values, (list, tuple)) else [values]
    try:
        return np.array([int(v) for v in vals if 0 <= int(v) < 1 << 63], dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise QueryError("bad filter value for an ID column") from exc


def _constraints(table: ScaleTable, body: Mapping[str, Any]) -> tuple[dict[str, IntArray], IntArray | None]:
    """Neurons each point role is restricted to, and row IDs, by equality / membership."""
    g = table.g
    roles: dict[str, IntArray] = {}
    ids: IntArray | None = None
    for key in ("filter_in_dict", "filter_equal_dict"):
        for col, val in _per_table(body, key, table.name).items():
            vals = _ints(val) if col.endswith(("_root_id", "_supervoxel_id", "valid_id")) or col == "id" else None
            if vals is None:
                continue
            if col == "id":
                ids = vals if ids is None else np.intersect1d(ids, vals)
                continue
            role = "pt" if col == "valid_id" else col.rsplit("_", 2)[0]
            if role not in table.roles:
                continue
            u = vals.astype(U64)
            if col.endswith("_supervoxel_id"):
                seg = (u & U64((1 << g.layout.segment_bits(1)) - 1)).astype(np.int64)
                k = np.where(g.layout.layers_of(u) == 1, (seg >> g.lb) - 1, -1)
            else:
                k = g.decode_roots(u)[0]
            k = np.unique(k[(k >= 0) & (k < table.n)])
            roles[role] = k if role not in roles else np.intersect1d(roles[role], k)
    return roles, ids


def _roles_needed(table: ScaleTable, body: Mapping[str, Any]) -> frozenset[str] | None:
    """Point roles a query's filters, selected columns or order name (None: all of them)."""
    sel = body.get("select_columns")
    if sel is None:
        sel = body.get("select_column_map")
    if isinstance(sel, Mapping):
        sel = sel.get(table.name)
    if not sel:
        return None
    named = [str(c) for c in sel]
    for key in _FILTERS:
        named += [str(c) for c in _per_table(body, key, table.name)]
    return frozenset(r for r in table.roles if any(c.startswith(f"{r}_") for c in named))


def run_query(
    table: ScaleTable, t: float, body: Mapping[str, Any], max_rows: int, random_sample: int | None
) -> pd.DataFrame:
    """A materialization query on a lazily generated table (see `apply_query()`)."""
    roles, ids = _constraints(table, body)
    if roles or ids is not None:
        owners: IntArray | None = None
        if ids is not None:
            owners = np.unique(table.owner_of_ids(ids))  # type: ignore[attr-defined]
        for role, ks in roles.items():
            cand = table.owners_for(role, ks)
            owners = cand if owners is None else np.intersect1d(owners, cand)
        assert owners is not None
        owners = owners[(owners >= 0) & (owners < table.n)]
        rows = table.base(owners, roles, _roles_needed(table, body))
        keep = np.ones(len(rows), dtype=bool)
        if ids is not None:
            keep &= np.isin(rows.cols["id"], ids)
        out = apply_query(table.materialize(rows.take(keep), t), table.name, body)
        if random_sample is not None and random_sample < len(out):
            idx = np.sort(np.random.default_rng(0).choice(len(out), random_sample, replace=False))
            out = out.iloc[idx].reset_index(drop=True)
        return out.iloc[: max_rows + 1]
    if random_sample is not None:
        raise QueryError("random_sample needs a root, supervoxel or id filter on a scale-world table")
    return _scan(table, t, body, max_rows)


def _scan(table: ScaleTable, t: float, body: Mapping[str, Any], max_rows: int) -> pd.DataFrame:
    offset = int(body.get("offset") or 0)
    limit = body.get("limit")
    want = max_rows + 1 if limit is None else min(int(limit), max_rows + 1)
    inner = {k: v for k, v in body.items() if k not in ("offset", "limit")}
    filtered = any(_per_table(body, key, table.name) for key in _FILTERS)
    k0, block = 0, min(PAGE_NEURONS, max(16, want // 64))
    if not filtered and offset:  # skip whole neurons by their row counts
        while k0 < table.n:
            ks = np.arange(k0, min(table.n, k0 + 8192), dtype=np.int64)
            cum = np.cumsum(table.counts(ks, t))
            if cum[-1] > offset:
                j = int(np.searchsorted(cum, offset, side="right"))
                offset -= int(cum[j - 1]) if j else 0
                k0 += j
                break
            offset -= int(cum[-1])
            k0 += len(ks)
    parts: list[pd.DataFrame] = []
    got, scanned = 0, 0
    while k0 < table.n and got < offset + want:
        ks = np.arange(k0, min(table.n, k0 + block), dtype=np.int64)
        k0 += len(ks)
        scanned += len(ks)
        frame = table.materialize(table.base(ks), t)
        frame = apply_query(frame, table.name, inner)
        if len(frame):
            parts.append(frame)
            got += len(frame)
        per = max(got / scanned, 1e-3)  # rows per neuron so far: size the next block to fit
        block = int(min(8 * PAGE_NEURONS, max(16, 1.2 * (offset + want - got) / per)))
    if not parts:
        empty = apply_query(table.materialize(table.base(np.zeros(0, dtype=np.int64)), t), table.name, inner)
        return empty
    out = pd.concat(parts, ignore_index=True)
    return out.iloc[offset : offset + want].reset_index(drop=True)
