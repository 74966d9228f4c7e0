"""LocalCave: a CAVE-compatible server on 127.0.0.1 serving a synthetic ground-truth world.

Example::

    from tracertools.testing import LocalCave

    with LocalCave(seed=0) as cave:
        client = cave.client()                      # a real caveclient.CAVEclient
        root = cave.world.neuron_root(0)
        assert client.chunkedgraph.is_latest_roots([root])[0]
        assert cave.stats["is_latest_roots"] == 1

``LocalCave(world=ScaleWorld())`` serves the lazily generated BANC-sized world instead, with
its service limits (row cap, body limit, per-token rate limit) switched on.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracertools.testing._controls import FaultConfig, LogEntry, RequestStats
from tracertools.testing.server import CaveApp, CaveHTTPServer
from tracertools.testing.world import World

if TYPE_CHECKING:
    from tracertools.config import DatastackConfig
    from tracertools.datastack import Datastack
    from tracertools.testing._tls import Certificate
    from tracertools.testing._worldapi import CaveWorld

logger = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"^(?:[0-9a-f]+|[A-Za-z0-9+/]+={0,2})$")

#: Seconds the skeleton service takes to generate a skeleton it has not cached.
DEFAULT_SKELETON_SECONDS = 3.0


class LocalCave:
    """A running (or startable) CAVE stand-in on loopback.

    Args:
        seed: world seed.
        n_neurons: number of regular neurons in the world (>= 7).
        huge_neuron: add a neuron with more than a million supervoxels.
        datastack_name: the datastack name served.
        token: the auth token to require; default: a random 32-character lowercase hex.
            Must be hex or base64 characters (cloud-volume's rule).
        resolution: viewer resolution in nm per voxel.
        port: TCP port (0: an ephemeral port).
        world: serve this world instead of the cached one for the parameters above: any
            `CaveWorld`, e.g. a
            [`ScaleWorld`][tracertools.testing.scaleworld.ScaleWorld], whose ``service_limits`` become the
            server's default faults.
        long_history: give one otherwise unedited neuron this many extra edits after the
            scripted ones (see [`World`][tracertools.testing.world.World]; its root is ``cave.world.long_history_root``).
        https: also serve over HTTPS on a second port (`https_url`, a self-signed
            certificate made at start, needs ``cryptography``), for browsers: neuroglancer
            sends its token only to ``middleauth+https://`` sources. Its config then
            names the segmentation as real datastacks do,
            ``graphene://middleauth+https://127.0.0.1:PORT/segmentation/table/<table>``;
            Python clients keep using `url`.
        skeleton_seconds: how long the skeleton service takes to generate one skeleton it has
            not cached (roots created after the newest materialization version, until first
            asked for); see [`set_skeleton_eta()`][tracertools.testing.localcave.LocalCave.set_skeleton_eta].

    The token is available as `token` but never appears in ``repr``, logs or errors.
    Nothing is registered anywhere while it runs: [`datastack()`][tracertools.testing.localcave.LocalCave.datastack] hands its config, address
    and token to a ``Datastack`` explicitly.
    """

    def __init__(
        self,
        seed: int = 0,
        n_neurons: int = 8,
        huge_neuron: bool = False,
        datastack_name: str = "demo",
        token: str | None = None,
        *,
        resolution: Iterable[float] = (4, 4, 45),
        port: int = 0,
        world: CaveWorld | None = None,
        long_history: int = 0,
        https: bool = False,
        skeleton_seconds: float = DEFAULT_SKELETON_SECONDS,
    ) -> None:
        if token is not None and (not isinstance(token, str) or not _TOKEN_RE.match(token)):
            raise ValueError("token must be a non-empty string of hex or base64 characters")
        self._token = token or secrets.token_hex(16)
        self.datastack_name = datastack_name
        self.table_name = "localcave"
        self.aligned_volume = "localcave_av"
        self._params = (int(seed), int(n_neurons), tuple(float(v) for v in resolution), bool(huge_neuron))
        self._long_history = int(long_history)
        if not skeleton_seconds >= 0:
            raise ValueError("skeleton_seconds must be >= 0")
        self._skeleton_seconds = float(skeleton_seconds)
        self._world = world
        self._port = int(port)
        self._server: CaveHTTPServer | None = None
        self._https = bool(https)
        self._tls_server: CaveHTTPServer | None = None
        self._certificate: Certificate | None = None
        self._app: CaveApp | None = None
        self._config: DatastackConfig | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalCave:
        """Build (or reuse) the world, bind 127.0.0.1 and start serving. Idempotent."""
        if self._server is not None:
            return self
        if self._world is None:
            seed, n, res, huge = self._params
            self._world = World.cached(seed, n, res, huge, self._long_history)
        app = CaveApp(self._world, self._token, self.datastack_name, self.table_name, self.aligned_volume)
        app.skeleton_eta = self._skeleton_seconds
        self._server = CaveHTTPServer(app, self._port)
        self._app = app
        self._server.start()
        if self._https:
            from tracertools.testing._tls import self_signed

            self._certificate = self_signed()
            self._tls_server = CaveHTTPServer(app, 0, self._certificate.server_context())
            self._tls_server.start()
        logger.info("LocalCave %r serving at %s", self.datastack_name, app.base_url)
        return self

    def stop(self) -> None:
        """Stop serving. Idempotent."""
        if self._tls_server is not None:
            self._tls_server.stop()
            self._tls_server = None
        if self._server is not None:
            self._server.stop()
            self._server = None
            logger.info("LocalCave %r stopped", self.datastack_name)

    def __enter__(self) -> LocalCave:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def _need(self) -> CaveApp:
        if self._app is None or self._server is None:
            raise RuntimeError("LocalCave is not running; call start() or use it as a context manager")
        return self._app

    # -- names and addresses -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT`` (global and local server address)."""
        return self._need().base_url

    @property
    def port(self) -> int:
        return int(self._need().base_url.rsplit(":", 1)[1])

    @property
    def https_url(self) -> str:
        """``https://127.0.0.1:PORT``: the same server over TLS (only with ``https=True``)."""
        self._need()
        if self._tls_server is None:
            raise RuntimeError("LocalCave was started without https=True")
        return self._tls_server.url

    @property
    def certificate_spki(self) -> str:
        """Base64 SHA-256 of the HTTPS certificate's public key (Chromium's
        ``--ignore-certificate-errors-spki-list`` value); only with ``https=True``."""
        self._need()
        if self._certificate is None:
            raise RuntimeError("LocalCave was started without https=True")
        return self._certificate.spki_sha256

    @property
    def token(self) -> str:
        """The auth token the server requires (keep it out of logs)."""
        return self._token

    @property
    def world(self) -> Any:
        """The world being served (ground truth): a [`World`][tracertools.testing.world.World], or the world passed in."""
        if self._world is None:
            seed, n, res, huge = self._params
            self._world = World.cached(seed, n, res, huge, self._long_history)
        return self._world

    @property
    def segmentation_source(self) -> str:
        """``graphene://http://127.0.0.1:PORT/segmentation/table/<table>``."""
        return f"graphene://{self.url}/segmentation/table/{self.table_name}"

    @property
    def browser_segmentation_source(self) -> str:
        """The segmentation as a viewer reads it: ``graphene://middleauth+https://...`` with
        ``https=True``, else `segmentation_source`."""
        if not self._https:
            return self.segmentation_source
        return f"graphene://middleauth+{self.https_url}/segmentation/table/{self.table_name}"

    @property
    def swamp_url(self) -> str:
        """``precomputed://`` URL of the swamp mesh volume (legacy meshes 1..k)."""
        return f"precomputed://{self.url}/static/swamp"

    @property
    def neuron_mesh_url(self) -> str:
        """``precomputed://`` URL of the neuron mesh volume (legacy meshes by root ID)."""
        return f"precomputed://{self.url}/static/neurons"

    @property
    def viewer_url(self) -> str:
        return f"{self.url}/ngl/"

    def __repr__(self) -> str:
        state = f"url={self._app.base_url!r}" if self._server is not None and self._app else "stopped"
        if self._world is not None and not isinstance(self._world, World):
            return f"LocalCave(datastack={self.datastack_name!r}, world={self._world!r}, {state})"
        seed, n, _, huge = self._params
        long = f", long_history={self._long_history}" if self._long_history else ""
        return (
            f"LocalCave(datastack={self.datastack_name!r}, seed={seed}, n_neurons={n}, "
            f"huge_neuron={huge}{long}, {state})"
        )

    # -- controls ----------------------------------------------------------------------------

    @property
    def stats(self) -> RequestStats:
        """Per-endpoint request counters (``cave.stats["roots_binary"]``, ``.total``, ``.reset()``)."""
        return self._need().controls.stats

    @property
    def limit_hits(self) -> RequestStats:
        """Requests refused or cut by a service limit: ``limit_hits["rate_limited"]`` (429),
        ``["body_too_large"]`` (413), ``["row_capped"]`` (query answers truncated at the cap)."""
        return self._need().controls.limit_hits

    @property
    def request_bytes(self) -> RequestStats:
        """Request body bytes received per endpoint (as sent, so gzip bodies count compressed);
        ``.total`` over all. Every request counts, unlike the bounded `request_log`."""
        return self._need().controls.request_bytes

    @property
    def response_bytes(self) -> RequestStats:
        """Response body bytes sent per endpoint (headers excluded); ``.total`` over all."""
        return self._need().controls.response_bytes

    @property
    def handler_us(self) -> RequestStats:
        """Microseconds the server spent computing answers per endpoint: the stand-in's own
        work, without injected latency or stalls, refusals or sending."""
        return self._need().controls.handler_us

    @property
    def busy_s(self) -> float:
        """Seconds during which the server was computing at least one answer since the last
        reset (the union over concurrent requests, so never more than the time that passed)."""
        return self._need().controls.busy_s

    @property
    def request_log(self) -> list[LogEntry]:
        """Requests seen since the last reset (method, path, endpoint, body size, status, time)."""
        return self._need().controls.log()

    @property
    def faults(self) -> FaultConfig:
        """Current fault settings."""
        return self._need().controls.faults

    def set_faults(self, **settings: Any) -> FaultConfig:
        """Change fault settings (see `FaultConfig`); unspecified ones are kept.

        Example: ``cave.set_faults(error_rate=0.1, endpoints=["roots_binary"], seed=1)``.
        """
        return self._need().controls.set_faults(**settings)

    def fail_next(
        self,
        endpoint: str | None = None,
        status: int = 503,
        times: int = 1,
        retry_after: float | None = None,
        message: str = "injected fault",
    ) -> None:
        """Answer the next ``times`` requests to ``endpoint`` (any if None) with ``status``."""
        self._need().controls.fail_next(endpoint, status, times, retry_after, message)

    def cut_next(self, endpoint: str | None = None, times: int = 1) -> None:
        """Cut the next ``times`` answers to ``endpoint`` (any if None) halfway through the
        body: ``Content-Length`` promises it all, half is sent, then the connection closes."""
        self._need().controls.cut_next(endpoint, times)

    def trickle_next(self, endpoint: str | None = None, times: int = 1,
                     seconds_per_byte: float = 1.0) -> None:
        """Send the bodies of the next ``times`` answers to ``endpoint`` (any if None) one
        byte every ``seconds_per_byte`` seconds (headers at once): a server that answers, but
        too slowly for any gap timeout to notice."""
        self._need().controls.trickle_next(endpoint, times, seconds_per_byte)

    def set_latency(self, seconds: float, endpoints: Iterable[str] | str | None = None) -> None:
        """Add ``seconds`` of latency to every request (or only to ``endpoints``)."""
        self._need().controls.set_latency(seconds, endpoints)

    def set_skeleton_eta(self, seconds: float) -> None:
        """Seconds the skeleton service takes to generate one skeleton it has not cached.

        Skeletons of roots that existed at the newest materialization version are cached from
        the start; any other root's is generated when first asked for (by a bulk fetch, which
        answers "async" meanwhile, a single fetch, which waits, or ``gen_skeletons``) and is
        ready this many seconds later. ``gen_skeletons`` reports upstream's estimate,
        ``ceil(n / 15)`` times this. Default: ``skeleton_seconds`` of the constructor.
        """
        if not seconds >= 0:
            raise ValueError("seconds must be >= 0")
        self._need().skeleton_eta = float(seconds)

    def forget_skeletons(self) -> None:
        """Empty the skeleton cache of everything generated since start (not done by reset():
        like the real cache, generated skeletons stay)."""
        self._need().skeleton_ready.clear()

    def add_pending_annotations(self, table: str, count: int = 1) -> None:
        """Ingest ``count`` new rows into ``table`` whose supervoxel and root lookups are not done.

        As on the real engine, a live query that meets them answers 406 unless it passes
        ``allow_missing_lookups=True`` (then they are left out, with a warning header).
        Materialized queries never see them; [`reset()`][tracertools.testing.localcave.LocalCave.reset] removes them.
        """
        app = self._need()
        if table not in self.world.tables:
            raise ValueError(f"no table {table!r} in the world")
        if count < 1:
            raise ValueError("count must be >= 1")
        known = app.pending_lookups.setdefault(table, [])
        first = int(self.world.tables[table].data["id"].max()) + 1 + sum(n for _, n, _ in known)
        known.append((time.time(), int(count), first))

    def hide_l2_attributes(self, l2_ids: Iterable[int]) -> None:
        """Answer these L2 IDs as the L2 cache answers nodes it has not computed yet: ``{}``.

        Adds to those hidden before; [`reset()`][tracertools.testing.localcave.LocalCave.reset] shows them all again.
        """
        app = self._need()
        app.l2_not_cached = app.l2_not_cached | frozenset(int(i) for i in l2_ids)

    def reset(self) -> None:
        """Reset counters, the request log, faults (to the world's service limits), latency,
        the skeleton generation time, stored states, pending annotations and hidden L2
        attributes (generated skeletons stay cached)."""
        app = self._need()
        app.controls.reset()
        app.reset_states()
        app.pending_lookups = {}
        app.l2_not_cached = frozenset()
        app.skeleton_eta = self._skeleton_seconds

    # -- clients and config ------------------------------------------------------------------

    def client(self, **kwargs: Any) -> Any:
        """A real ``caveclient.CAVEclient`` for this server (never writes the server cache)."""
        from caveclient import CAVEclient

        kwargs.setdefault("write_server_cache", False)
        return CAVEclient(self.datastack_name, server_address=self.url, auth_token=self._token, **kwargs)

    def cloudvolume(self, **kwargs: Any) -> Any:
        """A real graphene ``cloudvolume.CloudVolume`` of the segmentation (token passed in)."""
        from cloudvolume import CloudVolume

        kwargs.setdefault("use_https", True)
        kwargs.setdefault("progress", False)
        return CloudVolume(self.segmentation_source, secrets={"token": self._token}, **kwargs)

    @property
    def config(self) -> DatastackConfig:
        """The runtime datastack config (what ``load_config(cave.datastack_name)`` returns)."""
        if self._config is None:
            self._config = self._build_config()
        return self._config

    def _build_config(self) -> DatastackConfig:
        from tracertools.config import load_config

        url, w = self.url, self.world
        size = tuple(int(-(-s * r // v)) for s, r, v in zip(w.shape, w.seg_resolution, w.resolution, strict=True))
        center = tuple(s // 2 for s in size)
        base = load_config("demo")
        sources = base.sources.model_copy(
            update={
                "segmentation": self.browser_segmentation_source,
                "skeleton": f"precomputed://{url}/skeletoncache/api/v1/{self.datastack_name}/precomputed/skeleton",
                "swamp": self.swamp_url,
                "swamp_ids": tuple(sorted(w.swamps)),
                "triage_mesh": self.swamp_url,
            }
        )
        viewer = base.viewer.model_copy(update={"site_url": self.viewer_url, "view_point": center})
        return base.model_copy(
            update={
                "name": self.datastack_name,
                "server_address": url,
                "local_server_url": url,
                "resolution": tuple(w.resolution),
                "volume_size": size,
                "min_coord": (0, 0, 0),
                "max_coord": tuple(s - 1 for s in size),
                "center_coord": center,
                "sources": sources,
                "viewer": viewer,
            }
        )

    def datastack(self, **kwargs: Any) -> Datastack:
        """A [`tracertools.datastack.Datastack`][tracertools.datastack.Datastack] on this server (no network yet).

        Its config, server address and token are this server's (``config=``,
        ``server_address=``, ``auth_token=``); other keyword arguments (``timestamp=``,
        ``materialization_version=``, ``max_workers=``, ``http=``, ...) go to ``Datastack``
        as given, and may override those three.
        """
        from tracertools.datastack import Datastack

        kwargs.setdefault("config", self.config)
        kwargs.setdefault("server_address", self.url)
        kwargs.setdefault("auth_token", self._token)
        return Datastack(self.datastack_name, **kwargs)
