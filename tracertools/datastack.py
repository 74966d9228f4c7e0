"""The Datastack session: a validated config, one lazily built CAVEclient, and shared caches.

``Datastack(...)`` validates its arguments and stores them; it never touches the network. The
first method that needs CAVE builds one `caveclient.CAVEclient` under a lock and every later
call on this datastack reuses it (the original library built a new client on every call and was
throttled for it). The client, its sub-clients and the session's worker budget belong to a
[`CaveConnection`][tracertools.cave.connection.CaveConnection]; every CAVE request goes through
`tracertools.cave`, and nothing here calls caveclient itself.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from tracertools.batch import ErrorPolicy, apply_error_policy, check_error_policy
from tracertools.cave import calls as _cave, info as _info
from tracertools.cave.access import TOKEN_ENV as _TOKEN_ENV
from tracertools.cave.calls import http_status, remote
from tracertools.cave.connection import DEFAULT_MAX_WORKERS, CaveConnection, list_datastacks
from tracertools.cave.ratelimit import RateLimiter, rate_from_env
from tracertools.cave.resolve import resolve_nodes
from tracertools.cave.tables import all_rows, joined_rows, reference_target
from tracertools.config import DatastackConfig, HttpPolicy, load_config
from tracertools.errors import InvalidInputError, ServiceError, UnknownTableError
from tracertools.ids import as_segment_id, as_segment_ids, as_supervoxel_ids, refuse_lossy_floats
from tracertools.ngl.links import DatastackLinksMixin
from tracertools.segments.id_lists import IdListsMixin
from tracertools.segments.segment import Segment, SegmentList

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from tracertools.cave.connection import CAVEclient
    from tracertools.segments.segment import Segment, SegmentList

__all__ = ["TOKEN_ENV", "Datastack", "datastacks"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: Coordinates (voxels) at or beyond this size are refused: volumes index voxels with int32.
_MAX_COORD = 2.0**31


def _as_utc_datetime(value: datetime | float | int | None) -> datetime | None:
    """A timezone-aware UTC datetime from a datetime (naive = UTC) or epoch seconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"timestamp must be a datetime or epoch seconds, got {value!r}")
    if isinstance(value, datetime):
        if value != value:  # pandas' NaT is a datetime that equals nothing, itself included
            raise InvalidInputError(
                "timestamp is NaT (a missing time); pass a datetime or epoch seconds, or None "
                "for live data")
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise InvalidInputError(
                f"timestamp {value!r} is not a usable time in epoch seconds"
            ) from None
    raise InvalidInputError(
        f"timestamp must be a datetime or epoch seconds, got {type(value).__name__}"
    )


class Datastack(DatastackLinksMixin, IdListsMixin):
    """A CAVE datastack: its typed config, its CAVE client and the time it reads at.

    Args:
        name: the datastack name, e.g. ``"brain_and_nerve_cord"``; its config is looked up in
            your user config file and the shipped presets, unless ``config=`` is given.
        server_address: the CAVE global server URL; defaults to the config's ``server_address``
            (and then to caveclient's default).
        auth_token: a CAVE token; defaults to caveclient's token files. Never shown in reprs,
            logs or errors.
        timestamp: read every query as of this time (a datetime, naive meaning UTC, or epoch
            seconds). Defaults to "now" at each call (live data).
        materialization_version: read materialized tables at this version (and the chunkedgraph
            at its timestamp). Mutually exclusive with ``timestamp``.
        config: a [`DatastackConfig`][tracertools.config.model.DatastackConfig] to use instead of a lookup (for
            a server of your own or a stand-in: ``LocalCave.datastack()`` passes its config,
            address and token this way).
        write_server_cache: let caveclient record the server address in
            ``~/.cloudvolume/secrets`` (off by default so nothing is written to your home).
        max_workers: how many CAVE requests this session runs at once, across all its
            batches (the width of every pool and of the HTTP connection pools).
        http: how its requests are timed and retried ([`HttpPolicy`][tracertools.config.http.HttpPolicy]:
            attempts, timeout, backoff, ``Retry-After`` cap, a total deadline per call).

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
        max_workers: int = DEFAULT_MAX_WORKERS,
        http: HttpPolicy | None = None,
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
        self._config = config if config is not None else load_config(name)
        # "BANC" or " banc " name the preset's datastack; an explicit config keeps the given name
        self._name = name.strip() if config is not None else self._config.name
        self._server_address = server_address or self._config.server_address
        self._token = auth_token
        self._token_origin = "the auth_token argument" if auth_token is not None else None
        self._timestamp = _as_utc_datetime(timestamp)
        self._version = materialization_version
        self._write_server_cache = write_server_cache
        self._max_workers = max_workers
        self._http = http
        self._cave = self._connection()
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
    def token_origin(self) -> str | None:
        """Where this datastack's token was given (``"the auth_token argument"``, or
        ``$TRACERTOOLS_CAVE_TOKEN`` on a worker process), or None when caveclient reads it from
        its token files. Never the token."""
        return self._token_origin

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
            return _info.version_timestamp(self)
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
            "client": "connected" if self._cave.connected else "not yet built",
        }
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows.items())
        return f"<table><caption>Datastack</caption>{body}</table>"

    # -- the one CAVE client ----------------------------------------------------------------
    @property
    def cave(self) -> CaveConnection:
        """This session's CAVE connection: the client, its sub-clients and the worker budget."""
        return self._cave

    @property
    def client(self) -> CAVEclient:
        """The shared `caveclient.CAVEclient`, built on first use and then reused.

        Building it makes the info-service requests caveclient needs (2 GETs); every sub-client
        then handshakes once on first use. For caveclient features tracertools does not wrap.

        Raises:
            MissingFeatureError: the datastack is not hosted in CAVE (its config names no
                server, no local CAVE server and no graphene segmentation, e.g. MANC), raised
                before any request.
            ServiceError: the client could not be built (the cause is kept as ``__cause__``).
        """
        return self._cave.client

    def _connection(self) -> CaveConnection:
        return CaveConnection(
            self._name, server_address=self._server_address, auth_token=self._token,
            materialization_version=self._version,
            write_server_cache=self._write_server_cache, max_workers=self._max_workers,
            http=self._http, limiter=lambda: self.rate_limiter,
            token_origin=self._token_origin,
            hosted=_hosted_in_cave(self._config, self._server_address),
        )

    def _pinned(self) -> Datastack:
        """This session reading at one fixed time: its own, or "now" taken once.

        Composite methods (``details()``) use it so every part of the answer reads the same
        moment even when an edit lands in between. Shares the client and the caches.
        """
        if self._timestamp is not None or self._version is not None:
            return self
        import copy

        _ = self._cave.client  # build once, shared by the copy
        pinned = copy.copy(self)
        pinned._timestamp = datetime.now(timezone.utc)
        return pinned

    def cache(self, kind: str) -> dict[Any, Any]:
        """A per-datastack cache for immutable data of one kind (e.g. ``"leaves"``).

        Values keyed by root ID never change (a root's supervoxels, L2 IDs, L2 data and
        skeleton are immutable), so they are safe to keep for the life of the session.
        """
        with self._lock:
            return self._caches.setdefault(kind, {})

    # -- handles ----------------------------------------------------------------------------
    def segment(self, segment_id: Any, *, strict: bool = False) -> Segment:
        """A handle on one segment (no network).

        A supervoxel or level-2 ID stands for the segment holding it at the read time
        (``strict=True``: methods refuse it with [`NotARootError`][tracertools.errors.NotARootError]).

        Raises:
            InvalidSegmentIdError: the ID is not an exact uint64 (e.g. ``7.205759e17``).
        """
        return Segment(self, as_segment_id(segment_id), strict=strict)

    def segments(self, segment_ids: Iterable[Any], *, strict: bool = False) -> SegmentList:
        """A handle on many segments, in input order with duplicates kept (no network).

        Supervoxel and level-2 IDs stand for the segments holding them at the read time
        (``strict=True``: they fail as items with [`NotARootError`][tracertools.errors.NotARootError]);
        IDs of other layers and IDs that never existed fail as items. For a list as it comes
        from a sheet (blanks, text, floats), see `classify_ids()` and `update_ids()`.

        Raises:
            InvalidSegmentIdError: naming the first invalid value and its position.
        """
        return SegmentList(self, as_segment_ids(segment_ids), strict=strict)

    # -- datastack metadata and tables ---------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """CAVE's published metadata for this datastack (``info.get_datastack_info``).

        Comes from the client's construction; no further request.
        """
        return _info.datastack_info(self)

    def tables(self) -> list[str]:
        """Names of the annotation tables of this datastack (``annotation.get_tables``)."""
        return _info.table_names(self)

    def table_info(self, name: str) -> dict[str, Any]:
        """Metadata of one table (``materialize.get_table_metadata``)."""
        _check_table_name(name)
        return self._on_table(name, lambda: _info.table_metadata(self, name))

    def table(
        self,
        name: str,
        *,
        filter_in: dict[str, Any] | None = None,
        filter_equal: dict[str, Any] | None = None,
        select_columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Rows of a table at this datastack's time (live by default), complete.

        Position columns come split into ``_x``/``_y``/``_z`` columns in viewer voxels
        (``config.resolution``; the engine converts tables stored at another resolution). An answer
        cut at the server's row limit is paged until every row is read, so nothing is silently
        missing. A *reference table* (one whose metadata names a ``reference_table``, such as
        cell types of nuclei) comes joined to its target's rows, with the columns the
        original's materialized query gave: its own, then the target's, ``_ref`` appended to
        names both have (``id_ref``, ``created_ref``, ...). Filters apply to whichever of the
        two tables has the column.

        Args:
            name: the table name (see [`tables()`][tracertools.datastack.Datastack.tables]).
            filter_in: ``{column: [values]}`` rows to keep.
            filter_equal: ``{column: value}`` rows to keep.
            select_columns: only these columns (unsplit names, e.g. ``"pre_pt_position"``).
        """
        _check_table_name(name)
        for label, given in (("filter_in", filter_in), ("filter_equal", filter_equal)):
            if given is not None and not isinstance(given, dict):
                raise InvalidInputError(
                    f"{label} must be a dict of column name to value(s), got "
                    f"{type(given).__name__}"
                )
        if filter_in is not None:
            for column, values in filter_in.items():
                if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                    raise InvalidInputError(
                        f"filter_in[{column!r}] must be a list of values, got {values!r}"
                    )
                refuse_lossy_floats(values, f"filter_in[{column!r}]")
        for column, value in (filter_equal or {}).items():
            refuse_lossy_floats([value], f"filter_equal[{column!r}]")
        if select_columns is not None and (
            isinstance(select_columns, str)
            or not all(isinstance(c, str) and c for c in select_columns)
        ):
            raise InvalidInputError("select_columns must be a list of column names")
        def rows() -> pd.DataFrame:
            target = reference_target(self, name)
            if target is not None:
                return joined_rows(self, name, target, filter_in=filter_in,
                                   filter_equal=filter_equal, select=select_columns)
            return all_rows(self, name, filter_in=filter_in, filter_equal=filter_equal,
                            select=select_columns)

        return self._on_table(name, rows)

    def _on_table(self, name: str, call: Callable[[], T]) -> T:
        """``call()``, turning the service's "no such table" (404) into [`UnknownTableError`][tracertools.errors.UnknownTableError]."""
        try:
            return call()
        except ServiceError as exc:
            if http_status(exc) != 404:
                raise
            known = self.tables()
            if name in known:
                raise
            raise UnknownTableError(self._name, name, known) from exc

    # -- points and supervoxels ------------------------------------------------------------------
    def supervoxels_at(
        self, points: Any, *, resolution: Any = None, errors: ErrorPolicy = "raise"
    ) -> npt.NDArray[np.uint64]:
        """The supervoxel ID at each point (0 where the point is background).

        Reads only the segmentation chunks that hold the points, grouped by chunk (one
        download per chunk, run concurrently by cloud-volume).

        Args:
            points: (N, 3) or (3,) coordinates in viewer voxels.
            resolution: nm per voxel of ``points``; defaults to ``config.resolution``.
            errors: failure policy for points outside the segmentation volume: "raise"
                raises [`BatchError`][tracertools.errors.BatchError] naming each one (before any
                chunk is read); under "warn"/"ignore" they are 0 (and named in a warning
                under "warn"), never read as background without a word.
        """
        import numpy as np

        policy = check_error_policy(errors)
        pts = _as_points(points)
        viewer_res = _as_resolution(
            resolution if resolution is not None else self.config.resolution
        )
        if pts.shape[0] == 0:
            return np.zeros(0, dtype=np.uint64)

        cv = _info.segmentation_volume(self)
        seg_res = np.asarray(cv.meta.resolution(0), dtype=float)
        scaled = np.floor(pts * viewer_res / seg_res)
        bounds = cv.meta.bounds(0)
        lo = np.asarray(bounds.minpt, dtype=float)
        hi = np.asarray(bounds.maxpt, dtype=float)
        inside = np.all((scaled >= lo) & (scaled < hi), axis=1)
        out = np.zeros(pts.shape[0], dtype=np.uint64)
        if not inside.all():
            view_lo = lo * seg_res / viewer_res
            view_hi = hi * seg_res / viewer_res
            failures: dict[int, BaseException] = {
                int(i): InvalidInputError(
                    f"point {i} {pts[i].tolist()} (viewer voxels) is outside the segmentation "
                    f"volume, which spans {view_lo.tolist()} to {view_hi.tolist()} in viewer "
                    f"voxels at {viewer_res.tolist()} nm")
                for i in np.flatnonzero(~inside).tolist()
            }
            apply_error_policy(failures, policy, [f"point {i}" for i in range(len(pts))],
                               what="point")
        if not inside.any():
            return out
        keys = [tuple(int(c) for c in v) for v in scaled[inside].astype(np.int64)]
        found = remote(self, "point lookup", lambda: cv.scattered_points(keys, mip=0,
                                                                          agglomerate=False))
        lookup = {tuple(int(c) for c in k): int(v) for k, v in found.items()}
        out[inside] = [lookup.get(k, 0) for k in keys]
        return out

    def segments_at(
        self, points: Any, *, resolution: Any = None, errors: ErrorPolicy = "raise"
    ) -> npt.NDArray[np.uint64]:
        """The segment (root) ID at each point at this datastack's time (0 for background).

        Chunk downloads grouped by chunk, then one batched root lookup for all points.

        Args:
            points: (N, 3) or (3,) coordinates in viewer voxels.
            resolution: nm per voxel of ``points``; defaults to ``config.resolution``.
            errors: failure policy for points outside the segmentation volume (see
                [`supervoxels_at()`][tracertools.datastack.Datastack.supervoxels_at]).
        """
        return self.segments_of_supervoxels(
            self.supervoxels_at(points, resolution=resolution, errors=errors), errors=errors)

    def segments_of_supervoxels(
        self, supervoxel_ids: Any, *, errors: ErrorPolicy = "raise"
    ) -> npt.NDArray[np.uint64]:
        """The segment (root) ID of each supervoxel at this datastack's time (0 stays 0).

        One ``roots_binary`` request per ~4 MB of IDs. If the service refuses it because
        some IDs never existed, one ``valid_nodes`` request names them and one more request
        resolves the rest.

        Args:
            supervoxel_ids: node IDs (0 for background).
            errors: failure policy for IDs that never existed: "raise" raises
                [`BatchError`][tracertools.errors.BatchError] (from
                [`SegmentNotFoundError`][tracertools.errors.SegmentNotFoundError]) naming them; under
                "warn"/"ignore" they are 0.

        Raises:
            InvalidSegmentIdError: a value that is not an exact uint64 (a float that lost
                digits, ``-1``, ``"abc"``, NaN, a masked entry) or a single value where a list is
                expected, naming it and its position, before any request.
        """
        import numpy as np

        policy = check_error_policy(errors)
        svs = as_supervoxel_ids(supervoxel_ids)
        roots = np.zeros(svs.shape, dtype=np.uint64)
        nonzero = np.flatnonzero(svs != 0)
        if nonzero.size:
            found, lost = resolve_nodes(self, svs[nonzero], _cave.read_time(self))
            roots[nonzero] = [found.get(int(v), 0) for v in svs[nonzero].tolist()]
            if lost:
                failures: dict[int, BaseException] = {}
                for pos in nonzero.tolist():
                    exc = lost.pop(int(svs[pos]), None)  # named at its first position
                    if exc is not None:
                        failures[pos] = exc
                apply_error_policy(failures, policy, [int(v) for v in svs.tolist()],
                                   what="supervoxel")
        return roots

    # ==========================================================================================
    # Pickling and the request budget: batch work on other processes (executor=)
    #
    # A pickled Datastack holds its name, config, server address, read time, materialization
    # version and request budget; never its token, client or caches. Unpickled in another
    # process it becomes that process's own session for the same datastack (one per process,
    # its client built lazily on first use), with the token found there: $TRACERTOOLS_CAVE_TOKEN,
    # else caveclient's token files.
    # ==========================================================================================
    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_datastack, (self._portable_state(),))

    def __copy__(self) -> Datastack:
        """A shallow copy sharing the client, caches and budget (as ``_pinned`` uses)."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        return twin

    def _portable_state(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "config": self._config,
            "server_address": self._server_address,
            "timestamp": self._timestamp,
            "materialization_version": self._version,
            "write_server_cache": self._write_server_cache,
            "max_workers": self._max_workers,
            "http": self._http,
            "rate_limit": self.rate_limiter.rate,
        }

    @property
    def rate_limiter(self) -> RateLimiter:
        """This session's request budget: every HTTP request of its CAVE client takes a token.

        Unlimited unless `rate_limit` or ``$TRACERTOOLS_RATE_LIMIT`` sets one. Shared by
        the session's threads; split evenly among worker processes (see
        [`tracertools.cave.ratelimit`][tracertools.cave.ratelimit]).
        """
        found = self.__dict__.get("_rate_limiter")
        if found is None:
            found = self.__dict__.setdefault("_rate_limiter", RateLimiter(rate_from_env()))
        return found  # type: ignore[no-any-return]

    @property
    def rate_limit(self) -> float | None:
        """The session's budget in requests per second (None: unlimited), across every process
        its batches run on.

        Every HTTP request of the session's CAVE client takes a token first, retries included,
        so the session never sends faster than this (a request refused with 429 or 503 gives
        its token back for its retry). Set it to the service's limit where you
        know it (``$TRACERTOOLS_RATE_LIMIT`` sets it for sessions that set none). Whether set
        or not, a 429 or 503 with ``Retry-After`` (capped by the
        [`HttpPolicy`][tracertools.config.http.HttpPolicy]) pauses every thread of the session,
        and a 429 lowers the rate in force, which then creeps back up (to this budget, if
        set); the rate in force is ``rate_limiter.current_rate``. Setting this property keeps
        what was learned.
        """
        return self.rate_limiter.rate

    @rate_limit.setter
    def rate_limit(self, value: float | None) -> None:
        self.rate_limiter.rate = value


#: Environment variable a worker process reads its CAVE token from (see Datastack.__reduce__).
TOKEN_ENV = _TOKEN_ENV
#: Sessions rebuilt from pickles in this process, most recently used last.
_RESTORED: OrderedDict[tuple[Any, ...], Datastack] = OrderedDict()
_RESTORED_LOCK = threading.Lock()
_RESTORED_MAX = 16


def _restore_datastack(state: dict[str, Any]) -> Datastack:
    """This process's session for a pickled datastack: one per (datastack, server, read time),
    so the tasks a worker runs share one client, its caches and its budget."""
    name = state["name"]
    config: DatastackConfig = state["config"]
    token = os.environ.get(TOKEN_ENV) or None
    # the token this process finds is part of the key: a session built before the environment
    # named one is not reused after (the key stays in this process, like the session's token)
    key = (name, config.model_dump_json(), state["server_address"], state["timestamp"],
           state["materialization_version"], state["write_server_cache"], token)
    with _RESTORED_LOCK:
        ds = _RESTORED.get(key)
        if ds is None:
            ds = Datastack(name, server_address=state["server_address"], auth_token=token,
                           timestamp=state["timestamp"],
                           materialization_version=state["materialization_version"],
                           config=config, write_server_cache=state["write_server_cache"],
                           max_workers=state["max_workers"], http=state["http"])
            if token is not None:
                ds._token_origin = f"${TOKEN_ENV}"
                ds._cave = ds._connection()
            _RESTORED[key] = ds
            while len(_RESTORED) > _RESTORED_MAX:
                _RESTORED.popitem(last=False)
        _RESTORED.move_to_end(key)
    if state["rate_limit"] is not None:
        ds.rate_limit = state["rate_limit"]
    return ds


def _hosted_in_cave(config: DatastackConfig, server_address: str | None) -> bool:
    """Whether CAVE serves the datastack: a server is named, or its config has a local CAVE
    server or a graphene (chunkedgraph) segmentation. Without any of them caveclient would ask
    its default global server about a datastack it does not know, retrying for half a minute."""
    segmentation = config.sources.segmentation or ""
    return bool(server_address or config.local_server_url
                or segmentation.startswith("graphene://"))


def _check_table_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"table name must be a non-empty string, got {name!r}")


def _as_points(points: Any) -> Any:
    import numpy as np

    try:
        pts = np.asarray(points, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"points must be numbers shaped (N, 3): {exc}") from None
    if pts.ndim == 1 and pts.size == 3:
        pts = pts.reshape(1, 3)
    if pts.size == 0:
        return pts.reshape(0, 3)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise InvalidInputError(f"points must be shaped (N, 3), got {pts.shape}")
    if not np.isfinite(pts).all():
        raise InvalidInputError("points must be finite numbers")
    if (np.abs(pts) >= _MAX_COORD).any():
        row = int(np.flatnonzero((np.abs(pts) >= _MAX_COORD).any(axis=1))[0])
        raise InvalidInputError(
            f"point {row} ({pts[row].tolist()}) is beyond ±2**31 voxels, where no volume "
            "reaches; are these nm instead of voxels (pass resolution=)?")
    return pts


def _as_resolution(value: Any) -> Any:
    import numpy as np

    try:
        res = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidInputError(f"resolution must be 3 positive numbers, got {value!r}") from None
    if res.size != 3 or not np.isfinite(res).all() or (res <= 0).any():
        raise InvalidInputError(f"resolution must be 3 positive numbers (nm per voxel), got {value!r}")
    return res


def datastacks(
    server_address: str | None = None,
    auth_token: str | None = None,
    *,
    http: HttpPolicy | None = None,
) -> list[str]:
    """Names of the datastacks a CAVE server publishes (``info.get_datastacks``).

    Args:
        server_address: the CAVE global server; defaults to caveclient's default server.
        auth_token: a CAVE token; defaults to caveclient's token file.
        http: how the requests are timed and retried (see [`Datastack`][tracertools.datastack.Datastack]).
    """
    return list_datastacks(server_address, auth_token, http)
