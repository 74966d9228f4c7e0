"""The Datastack session: a validated config, one lazily built CAVEclient, and shared caches.

``Datastack(...)`` validates its arguments and stores them; it never touches the network. The
first method that needs CAVE builds one :class:`caveclient.CAVEclient` under a lock and every later
call on this datastack reuses it (the original library built a new client on every call and was
throttled for it). This module is the only place that builds a CAVEclient.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .config import DatastackConfig, load_config, registered_token
from .errors import InvalidInputError, ServiceError
from .ids import as_segment_id, as_segment_ids

if TYPE_CHECKING:
    from caveclient import CAVEclient

    from .segment import Segment, SegmentList

__all__ = ["Datastack"]

logger = logging.getLogger(__name__)

#: Connections kept open per service by the shared client (covers our worker pools).
_POOL_SIZE = 16


def _as_utc_datetime(value: datetime | float | int | None) -> datetime | None:
    """A timezone-aware UTC datetime from a datetime (naive = UTC) or epoch seconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"timestamp must be a datetime or epoch seconds, got {value!r}")
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    raise InvalidInputError(
        f"timestamp must be a datetime or epoch seconds, got {type(value).__name__}"
    )


class Datastack:
    """A CAVE datastack: its typed config, its CAVE client and the time it reads at.

    Args:
        name: the datastack name, e.g. ``"brain_and_nerve_cord"``; looked up among running
            LocalCaves, your user config file and the shipped presets, in that order.
        server_address: the CAVE global server URL; defaults to the config's ``server_address``
            (and then to caveclient's default).
        auth_token: a CAVE token; defaults to a token registered for this datastack (LocalCave)
            and then to caveclient's token files. Never shown in reprs, logs or errors.
        timestamp: read every query as of this time (a datetime, naive meaning UTC, or epoch
            seconds). Defaults to "now" at each call (live data).
        materialization_version: read materialized tables at this version (and the chunkedgraph
            at its timestamp). Mutually exclusive with ``timestamp``.
        config: a :class:`~tracertools.config.DatastackConfig` to use instead of a lookup.
        write_server_cache: let caveclient record the server address in
            ``~/.cloudvolume/secrets`` (off by default so nothing is written to your home).

    Raises:
        UnknownDatastackError: no config is known for ``name`` (lists the known ones).
        InvalidInputError: inconsistent or malformed arguments.

    Example:
        >>> ds = Datastack("brain_and_nerve_cord")   # no network yet
        >>> ds.config.resolution
        (4.0, 4.0, 45.0)
    """

    def __init__(
        self,
        name: str,
        *,
        server_address: str | None = None,
        auth_token: str | None = None,
        timestamp: datetime | float | int | None = None,
        materialization_version: int | None = None,
        config: DatastackConfig | None = None,
        write_server_cache: bool = False,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"datastack name must be a non-empty string, got {name!r}")
        if config is not None and not isinstance(config, DatastackConfig):
            raise InvalidInputError(
                f"config must be a DatastackConfig, got {type(config).__name__}"
            )
        if timestamp is not None and materialization_version is not None:
            raise InvalidInputError(
                "pass either timestamp= or materialization_version=, not both: a version "
                "already fixes the time"
            )
        if materialization_version is not None and (
            isinstance(materialization_version, bool)
            or not isinstance(materialization_version, int)
            or materialization_version < 0
        ):
            raise InvalidInputError(
                f"materialization_version must be a non-negative int, got "
                f"{materialization_version!r}"
            )
        if auth_token is not None and (not isinstance(auth_token, str) or not auth_token):
            raise InvalidInputError("auth_token must be a non-empty string")
        self._name = name
        self._config = config if config is not None else load_config(name)
        self._server_address = server_address or self._config.server_address
        self._token = auth_token if auth_token is not None else registered_token(name)
        self._timestamp = _as_utc_datetime(timestamp)
        self._version = materialization_version
        self._write_server_cache = write_server_cache
        self._client: CAVEclient | None = None
        self._lock = threading.Lock()
        self._caches: dict[str, dict[Any, Any]] = {}

    # -- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The datastack name."""
        return self._name

    @property
    def config(self) -> DatastackConfig:
        """The typed, frozen config of this datastack."""
        return self._config

    @property
    def server_address(self) -> str | None:
        """The CAVE global server URL this datastack talks to (None: caveclient's default)."""
        return self._server_address

    @property
    def timestamp(self) -> datetime | None:
        """The fixed time every query reads at, or None for live data."""
        return self._timestamp

    @property
    def read_timestamp(self) -> datetime | None:
        """The time queries read at: ``timestamp``, else the materialization version's time.

        None means live data ("now" at each call). With a materialization version this asks the
        shared client (one request the first time).
        """
        if self._timestamp is not None:
            return self._timestamp
        if self._version is not None:
            ts = self.client.timestamp
            if ts is not None and ts.tzinfo is None:
                ts = ts.replace(tzinfo=timezone.utc)
            return ts
        return None

    @property
    def materialization_version(self) -> int | None:
        """The fixed materialization version, or None for live data."""
        return self._version

    def __repr__(self) -> str:
        parts = [repr(self._name)]
        if self._server_address:
            parts.append(f"server={self._server_address!r}")
        if self._timestamp is not None:
            parts.append(f"timestamp={self._timestamp.isoformat()!r}")
        if self._version is not None:
            parts.append(f"materialization_version={self._version}")
        return f"Datastack({', '.join(parts)})"

    def _repr_html_(self) -> str:
        cfg = self._config
        rows = {
            "datastack": self._name,
            "server": self._server_address or "caveclient default",
            "resolution (nm/voxel)": " × ".join(f"{r:g}" for r in cfg.resolution),
            "time": self._timestamp.isoformat() if self._timestamp else (
                f"materialization v{self._version}" if self._version is not None else "live"
            ),
            "client": "connected" if self._client is not None else "not yet built",
        }
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows.items())
        return f"<table><caption>Datastack</caption>{body}</table>"

    # -- the one CAVE client ----------------------------------------------------------------
    @property
    def client(self) -> CAVEclient:
        """The shared :class:`caveclient.CAVEclient`, built on first use and then reused.

        Building it makes the info-service requests caveclient needs (2 GETs); every sub-client
        then handshakes once on first use.

        Raises:
            ServiceError: the client could not be built (the cause is kept as ``__cause__``).
        """
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> CAVEclient:
        from caveclient import CAVEclient

        kwargs: dict[str, Any] = {
            "datastack_name": self._name,
            "server_address": self._server_address,
            "write_server_cache": self._write_server_cache,
            "pool_maxsize": _POOL_SIZE,
            "pool_block": True,
        }
        if self._token is not None:
            kwargs["auth_token"] = self._token
        if self._version is not None:
            kwargs["version"] = self._version
        logger.debug("building CAVEclient for %s at %s", self._name, self._server_address)
        try:
            return CAVEclient(**kwargs)
        except Exception as exc:
            message = str(exc)
            if self._token:
                message = message.replace(self._token, "***")
            raise ServiceError(
                f"could not connect to CAVE for datastack {self._name!r} "
                f"(server {self._server_address or 'caveclient default'}): "
                f"{type(exc).__name__}: {message}"
            ) from None

    def cache(self, kind: str) -> dict[Any, Any]:
        """A per-datastack cache for immutable data of one kind (e.g. ``"leaves"``).

        Values keyed by root ID never change (a root's supervoxels, L2 IDs, L2 data and
        skeleton are immutable), so they are safe to keep for the life of the session.
        """
        with self._lock:
            return self._caches.setdefault(kind, {})

    # -- handles ----------------------------------------------------------------------------
    def segment(self, segment_id: Any) -> Segment:
        """A handle on one segment (no network).

        Raises:
            InvalidSegmentIdError: the ID is not an exact uint64 (e.g. ``7.205759e17``).
        """
        from .segment import Segment

        return Segment(self, as_segment_id(segment_id))

    def segments(self, segment_ids: Iterable[Any]) -> SegmentList:
        """A handle on many segments, in input order with duplicates kept (no network).

        Raises:
            InvalidSegmentIdError: naming the first invalid value and its position.
        """
        from .segment import SegmentList

        return SegmentList(self, as_segment_ids(segment_ids))
