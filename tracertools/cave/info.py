"""Datastack metadata from CAVE: published info, table names and metadata, the segmentation.

* `datastack_info()`: the info service's record of the datastack (read when the client
  is built: no further request);
* `table_names()`: ``annotation.get_tables``;
* `table_metadata()`: ``materialize.get_table_metadata``;
* `version_timestamp()`: the time of the session's materialization version (read when
  the client is built);
* `segmentation_volume()`: a cloud-volume ``CloudVolume`` of the graphene segmentation,
  built once per session and cached (its info file is one request).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tracertools.cave.calls import remote

if TYPE_CHECKING:
    from tracertools.cave.session import CaveSession

__all__ = [
    "datastack_info",
    "segmentation_volume",
    "table_metadata",
    "table_names",
    "version_timestamp",
]


def datastack_info(ds: CaveSession) -> dict[str, Any]:
    """CAVE's published metadata for the datastack (``info.get_datastack_info``)."""
    info = ds.cave.info
    return dict(remote(ds, "datastack info", info.get_datastack_info))


def table_names(ds: CaveSession) -> list[str]:
    """Names of the datastack's annotation tables (``annotation.get_tables``)."""
    annotation = ds.cave.annotation
    return list(remote(ds, "table list", annotation.get_tables))


def table_metadata(ds: CaveSession, name: str) -> dict[str, Any]:
    """Metadata of one table (``materialize.get_table_metadata``)."""
    mat = ds.cave.materialize
    return dict(remote(ds, f"metadata of {name}", lambda: mat.get_table_metadata(name)))


def version_timestamp(ds: CaveSession) -> datetime | None:
    """The UTC time of the session's materialization version (None without a version)."""
    ts = ds.cave.client.timestamp
    if ts is not None and ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts


def segmentation_volume(ds: CaveSession) -> Any:
    """The segmentation as a ``CloudVolume`` (built once per session; one info request)."""
    cache = ds.cache("cloudvolume")
    if "segmentation" not in cache:
        info = ds.cave.info
        cache["segmentation"] = remote(
            ds, "segmentation volume",
            lambda: info.segmentation_cloudvolume(progress=False),
        )
    return cache["segmentation"]
