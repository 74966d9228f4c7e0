"""Annotation tables of the world and the materialization query engine.

Each table is a set of immutable rows (positions in viewer voxels, bound supervoxels, a
creation time). Root-ID columns are not stored: they are looked up in the chunkedgraph at the
time of the snapshot (a materialization version's timestamp, or the live query's timestamp),
so a materialized version shows the roots as they were when it was made.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]


class QueryError(ValueError):
    """A query the server rejects (400)."""


@dataclass
class AnnotationTable:
    """Immutable rows of one annotation table.

    Attributes:
        name: table name.
        schema: CAVE schema name (informational).
        description: table description.
        columns: ordered (name, kind) pairs. Kinds: ``int``, ``float``, ``bool``, ``str``,
            ``time``, ``sv`` (a supervoxel column), ``root`` (looked up from the matching ``sv``
            column), ``pos`` (a point, split into ``_x/_y/_z``).
        data: column arrays (positions as (n, 3) int arrays, times as epoch seconds).
        voxel_resolution: nm per voxel of the stored positions (the table's native
            resolution); None means the world's viewer resolution.
        reference_table: for a reference table, the table its ``target_id`` column points at.
    """

    name: str
    schema: str
    description: str
    columns: list[tuple[str, str]]
    data: dict[str, np.ndarray] = field(default_factory=dict)
    voxel_resolution: tuple[float, float, float] | None = None
    reference_table: str | None = None

    @property
    def n_rows(self) -> int:
        return int(len(self.data["id"]))

    def snapshot(self, roots_at: Callable[[np.ndarray, float], np.ndarray], t: float) -> pd.DataFrame:
        """Rows created at or before ``t`` with root IDs as of ``t`` (positions split)."""
        keep = self.data["created"] <= t
        out: dict[str, Any] = {}
        for name, kind in self.columns:
            if kind == "pos":
                arr = self.data[name][keep]
                for a, suffix in enumerate("xyz"):
                    out[f"{name}_{suffix}"] = arr[:, a].astype(np.int64)
            elif kind == "root":
                sv_col = name[: -len("root_id")] + "supervoxel_id"
                svs = self.data[sv_col][keep].astype(np.uint64)
                out[name] = roots_at(svs, t).astype(np.int64)
            elif kind == "time":
                secs = self.data[name][keep]
                out[name] = pd.to_datetime(np.round(secs * 1e6).astype(np.int64), unit="us")
            elif kind == "sv":
                out[name] = self.data[name][keep].astype(np.int64)
            elif kind == "bool":
                out[name] = self.data[name][keep].astype(bool)
            elif kind == "float":
                out[name] = self.data[name][keep].astype(np.float64)
            elif kind == "str":
                out[name] = np.asarray(self.data[name][keep], dtype=object)
            else:
                out[name] = self.data[name][keep].astype(np.int64)
        return pd.DataFrame(out)

    def pending_rows(self, count: int, created: float, first_id: int) -> pd.DataFrame:
        """``count`` rows just ingested, still waiting for their supervoxel and root lookups.

        Laid out like `snapshot()`; supervoxel and root columns hold 1, the real engine's
        marker for "not looked up yet" (the other values are placeholders).
        """
        ids = np.arange(first_id, first_id + count, dtype=np.int64)
        out: dict[str, Any] = {}
        for name, kind in self.columns:
            if name == "id":
                out[name] = ids
            elif kind == "pos":
                for suffix in "xyz":
                    out[f"{name}_{suffix}"] = np.zeros(count, dtype=np.int64)
            elif kind in ("sv", "root"):
                out[name] = np.ones(count, dtype=np.int64)
            elif kind == "time":
                out[name] = pd.to_datetime(np.full(count, round(created * 1e6), dtype=np.int64),
                                           unit="us")
            elif kind == "bool":
                out[name] = np.ones(count, dtype=bool)
            elif kind == "float":
                out[name] = np.zeros(count, dtype=np.float64)
            elif kind == "str":
                out[name] = np.asarray([""] * count, dtype=object)
            else:
                out[name] = np.zeros(count, dtype=np.int64)
        return pd.DataFrame(out)

    def metadata(self, aligned_volume: str, pcg_table: str, resolution: Sequence[float], version: int | None) -> dict[str, Any]:
        """Materialization table metadata (``voxel_resolution_*``: the native resolution)."""
        resolution = self.voxel_resolution or resolution
        return {
            "aligned_volume": aligned_volume,
            "id": 1 + sorted(TABLE_ORDER).index(self.name) if self.name in TABLE_ORDER else 99,
            "schema": self.schema,
            "schema_type": self.schema,
            "table_name": self.name,
            "valid": True,
            "created": "2023-12-01T00:00:00.000000",
            "analysisversion_id": version,
            "reference_table": self.reference_table,
            "description": self.description,
            "notice_text": None,
            "user_id": "1001",
            "flat_segmentation_source": None,
            "write_permission": "PRIVATE",
            "read_permission": "PUBLIC",
            "last_modified": "2023-12-01T00:00:00.000000",
            "segmentation_source": "",
            "pcg_table_name": pcg_table,
            "voxel_resolution_x": float(resolution[0]),
            "voxel_resolution_y": float(resolution[1]),
            "voxel_resolution_z": float(resolution[2]),
        }


TABLE_ORDER = ("cell_info", "cell_types", "nuclei", "proofreading_status", "synapses")


# -- query engine ------------------------------------------------------------------------


def _columns_for(df: pd.DataFrame, name: str) -> list[str]:
    if name in df.columns:
        return [name]
    split = [f"{name}_{s}" for s in "xyz"]
    if all(c in df.columns for c in split):
        return split
    raise QueryError(f"unknown column {name!r}")


def _per_table(body: Mapping[str, Any], key: str, table: str) -> dict[str, Any]:
    value = body.get(key) or {}
    if not isinstance(value, Mapping):
        raise QueryError(f"{key} must be an object keyed by table name")
    inner = value.get(table)
    if inner is None:
        return {}
    if not isinstance(inner, Mapping):
        raise QueryError(f"{key}[{table!r}] must be an object")
    return dict(inner)


def _coerce(series: pd.Series, values: Sequence[Any]) -> list[Any]:
    if pd.api.types.is_bool_dtype(series):
        return [bool(v) for v in values]
    if pd.api.types.is_integer_dtype(series):
        try:
            return [int(v) for v in values]
        except (TypeError, ValueError) as exc:
            raise QueryError(f"bad filter value for column {series.name!r}") from exc
    return list(values)


_VALUE_FILTERS = (
    ("filter_in_dict", "in"),
    ("filter_notin_dict", "notin"),
    ("filter_out_dict", "notin"),
    ("filter_equal_dict", "eq"),
    ("filter_greater_dict", "gt"),
    ("filter_less_dict", "lt"),
    ("filter_greater_equal_dict", "ge"),
    ("filter_less_equal_dict", "le"),
)


def filter_rows(df: pd.DataFrame, table: str, body: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of ``df`` passing every filter of ``body`` for ``table`` (no selection, no paging)."""
    mask = np.ones(len(df), dtype=bool)
    for key, op in _VALUE_FILTERS:
        for col, val in _per_table(body, key, table).items():
            if col not in df.columns:
                raise QueryError(f"unknown column {col!r} in {key}")
            s = df[col]
            if op in ("in", "notin"):
                vals = val if isinstance(val, (list, tuple)) else [val]
                m = s.isin(_coerce(s, vals)).to_numpy()
                mask &= m if op == "in" else ~m
            else:
                v = _coerce(s, [val])[0]
                arr = s.to_numpy()
                mask &= {
                    "eq": arr == v,
                    "gt": arr > v,
                    "lt": arr < v,
                    "ge": arr >= v,
                    "le": arr <= v,
                }[op]
    for col, box in _per_table(body, "filter_spatial_dict", table).items():
        cols = _columns_for(df, col)
        if len(cols) != 3:
            raise QueryError(f"{col!r} is not a position column")
        lo, hi = np.asarray(box, dtype=np.float64).reshape(2, 3)
        pos = df[cols].to_numpy(dtype=np.float64)
        mask &= np.all((pos >= lo) & (pos < hi), axis=1)
    for col, pattern in _per_table(body, "filter_regex_dict", table).items():
        if col not in df.columns:
            raise QueryError(f"unknown column {col!r} in filter_regex_dict")
        rx = re.compile(str(pattern))
        mask &= np.array([bool(rx.search(str(v))) for v in df[col]], dtype=bool)
    return df.loc[mask]


def select_columns(df: pd.DataFrame, table: str, body: Mapping[str, Any]) -> pd.DataFrame:
    """The columns ``body`` selects (``select_columns`` list or per table, or
    ``select_column_map``); unsplit position names expand to their ``_x/_y/_z`` columns."""
    sel = body.get("select_columns")
    if sel is None:
        sel = body.get("select_column_map")
    if isinstance(sel, Mapping):
        sel = sel.get(table)
    if not sel:
        return df
    chosen: list[str] = []
    for name in sel:
        for c in _columns_for(df, str(name)):
            if c not in chosen:
                chosen.append(c)
    return df[chosen]


def apply_query(df: pd.DataFrame, table: str, body: Mapping[str, Any]) -> pd.DataFrame:
    """Apply CAVE query filters, column selection, offset and limit (no row cap).

    Supports ``filter_in_dict``, ``filter_notin_dict``, ``filter_equal_dict``, the four
    greater/less filters, ``filter_spatial_dict``, ``filter_regex_dict``, ``select_columns``
    (list) / ``select_column_map`` / ``select_columns`` as ``{table: [...]}``, ``offset`` and
    ``limit``. Unsplit position names expand to their ``_x/_y/_z`` columns.
    """
    out = select_columns(filter_rows(df, table, body), table, body)
    offset = int(body.get("offset") or 0)
    if offset:
        out = out.iloc[offset:]
    limit = body.get("limit")
    if limit is not None:
        out = out.iloc[: int(limit)]
    return out.reset_index(drop=True)


# -- root-ID filters (the live engine validates and remaps them) -----------------------------


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def root_filter_ids(body: Mapping[str, Any], table: str) -> list[int]:
    """Every value given to a ``*root_id`` column in an in/not-in/equal/order filter."""
    found: list[int] = []
    for key, _ in _VALUE_FILTERS:
        for col, val in _per_table(body, key, table).items():
            if str(col).endswith("root_id"):
                try:
                    found += [int(v) for v in _as_list(val)]
                except (TypeError, ValueError) as exc:
                    raise QueryError(f"bad root ID in {key}[{col!r}]") from exc
    return sorted(set(found))


def map_root_filters(
    body: Mapping[str, Any], table: str, mapping: Callable[[list[int]], list[int]] | None
) -> dict[str, Any]:
    """A copy of ``body`` whose root-ID filters are mapped (``mapping``) or dropped (None).

    In, not-in and equal filters become in/not-in lists of the mapped IDs (an equal filter on a
    root may stand for several IDs at another time); other filters on roots are dropped.
    """
    out = {k: v for k, v in body.items()}
    for key, op in _VALUE_FILTERS:
        value = body.get(key)
        if not isinstance(value, Mapping) or not isinstance(value.get(table), Mapping):
            continue
        kept = {c: v for c, v in value[table].items() if not str(c).endswith("root_id")}
        moved = {c: v for c, v in value[table].items() if str(c).endswith("root_id")}
        out[key] = {**value, table: kept}
        if mapping is None:
            continue
        for col, val in moved.items():
            ids = mapping([int(v) for v in _as_list(val)])
            target = "filter_notin_dict" if op == "notin" else "filter_in_dict"
            if op not in ("in", "notin", "eq"):
                continue
            group = dict(out.get(target) or {})
            inner = dict(group.get(table) or {})
            inner[col] = sorted(set(inner.get(col, [])) | set(ids)) if col in inner else ids
            group[table] = inner
            out[target] = group
    return out


def position_prefixes(df: pd.DataFrame) -> list[str]:
    """Names ``p`` with ``p_x``, ``p_y`` and ``p_z`` columns in ``df``."""
    return [c[:-2] for c in df.columns
            if c.endswith("_x") and f"{c[:-2]}_y" in df.columns and f"{c[:-2]}_z" in df.columns]


def convert_positions(
    df: pd.DataFrame, native: Sequence[float], desired: Sequence[float],
    prefixes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Positions stored at ``native`` nm/voxel expressed at ``desired`` (as the real engine
    does: integers times the ratio, floats unless the ratio is 1 on every axis)."""
    ratio = np.asarray(native, dtype=np.float64) / np.asarray(desired, dtype=np.float64)
    if np.all(ratio == 1):
        return df
    out = df.copy()
    for prefix in position_prefixes(df) if prefixes is None else prefixes:
        for r, suffix in zip(ratio, "xyz", strict=True):
            out[f"{prefix}_{suffix}"] = out[f"{prefix}_{suffix}"].to_numpy(dtype=np.float64) * r
    return out


def resolution_header(res: Sequence[float]) -> str:
    """``dataframe_resolution`` as caveclient parses it (comma and space between values)."""
    return ", ".join(str(float(v)) for v in res)


def joined_names(
    tables: Sequence[AnnotationTable], suffixes: Sequence[str]
) -> list[dict[str, str]]:
    """Per table, its output column names in a join: a column name that two tables share gets
    the table's suffix (before ``_x/_y/_z`` for positions), as the real engine names them."""
    counts: dict[str, int] = {}
    for tbl in tables:
        for name, _ in tbl.columns:
            counts[name] = counts.get(name, 0) + 1
    out: list[dict[str, str]] = []
    for tbl, suffix in zip(tables, suffixes, strict=True):
        names: dict[str, str] = {}
        for name, kind in tbl.columns:
            base = name + suffix if counts[name] > 1 else name
            if kind == "pos":
                for s in "xyz":
                    names[f"{name}_{s}"] = f"{base}_{s}"
            else:
                names[name] = base
        out.append(names)
    return out


def to_arrow_stream(df: pd.DataFrame) -> bytes:
    """An Arrow IPC *stream* of ``df`` (what ``pa.ipc.open_stream`` reads)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def iso_us(t: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffff`` in UTC, without zone (materialization format)."""
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def parse_time(value: Any) -> float:
    """Epoch seconds from an epoch number or an ISO-8601 string (naive means UTC)."""
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip()
    try:
        return float(s)
    except ValueError:
        pass
    try:
        d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"bad timestamp {value!r}") from exc
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.timestamp()
