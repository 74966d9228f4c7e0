"""The one CAVE connection of a session: its CAVEclient, sub-clients, HTTP layer and worker budget.

[`CaveConnection`][tracertools.cave.connection.CaveConnection] is the only code in tracertools that builds a ``caveclient.CAVEclient``
or asks it for a sub-client (the other modules of `tracertools.cave` call the sub-clients
it hands out, and nothing outside `tracertools.cave` touches caveclient). It owns:

* **the client**, built on first use under the session's lock and reused by every call;
* **the sub-clients** (``chunkedgraph``, ``materialize``, ``l2cache``, ``skeleton``, ``state``,
  ...), each built under the same lock. caveclient builds them lazily in unlocked properties,
  each with a version handshake, so concurrent first use from a thread pool would otherwise
  send the handshake once per thread;
* **one worker budget**: at most ``max_workers`` service calls of the session run at once,
  however the batches that make them are nested (``details()`` runs volumes, skeletons and
  synapse counts side by side, each with its own pool); every pool is that wide too;
* **one HTTP layer**: the client is built with caveclient's own retries off, and every
  sub-client's session gets the session's [`HttpPolicy`][tracertools.config.http.HttpPolicy] mounted
  (timeouts, retries of 429/5xx honouring ``Retry-After``, a total deadline per call); a
  request that keeps failing costs ``attempts`` requests, no more;
* **one error translation**: [`CaveConnection.call()`][tracertools.cave.connection.CaveConnection.call] runs a service call and turns a
  library failure into a [`ServiceError`][tracertools.errors.ServiceError] that keeps its cause, its
  HTTP status and the number of requests it took.

Construction does no I/O; nothing here imports caveclient before it is needed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tracertools.batch import is_timeout, run_per_item
from tracertools.cave.access import access_error
from tracertools.cave.http import (
    HttpPolicy,
    attempts_made,
    call_deadline,
    http_status,
    mount,
    remaining,
    retried_here,
    retry_building,
    retry_wait,
    retryable,
)
from tracertools.cave.ratelimit import RateLimiter
from tracertools.errors import (
    BatchError,
    InvalidInputError,
    MissingFeatureError,
    RateLimitedError,
    ServiceError,
    ServiceTimeoutError,
    TracertoolsError,
    redact,
    redact_chain,
)

if TYPE_CHECKING:  # re-exported for annotations above this layer, which never import caveclient
    from caveclient import CAVEclient as CAVEclient

__all__ = ["DEFAULT_MAX_WORKERS", "SERVICES", "CaveConnection", "list_datastacks"]

logger = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")

#: Service calls a session runs at once, unless ``max_workers=`` says otherwise.
DEFAULT_MAX_WORKERS = 8
#: The CAVEclient sub-clients tracertools uses.
SERVICES = ("info", "chunkedgraph", "materialize", "annotation", "l2cache", "skeleton", "state")


class CaveConnection:
    """The CAVE client of one datastack session, built once, with its sub-clients and budget.

    Args:
        datastack: the datastack name.
        server_address: the CAVE global server (None: caveclient's default).
        auth_token: the token (None: caveclient's token files). Never shown anywhere.
        materialization_version: pin the client to this version (its timestamp is read once).
        write_server_cache: let caveclient record the server address in its home cache.
        max_workers: how many service calls of this session may run at once (>= 1).
        http: the timeout and retry policy of its requests (default [`HttpPolicy`][tracertools.config.http.HttpPolicy]).
        limiter: gives the session's request budget when a session is mounted; every request
            takes a token from it first (None: unlimited; see [`tracertools.cave.ratelimit`][tracertools.cave.ratelimit]).
        token_origin: where ``auth_token`` came from, for access errors (never the token).
        hosted: whether CAVE serves the datastack at all; if not, asking for the client raises
            [`MissingFeatureError`][tracertools.errors.MissingFeatureError] before any request.
    """

    def __init__(
        self,
        datastack: str,
        *,
        server_address: str | None = None,
        auth_token: str | None = None,
        materialization_version: int | None = None,
        write_server_cache: bool = False,
        max_workers: int = DEFAULT_MAX_WORKERS,
        http: HttpPolicy | None = None,
        limiter: Callable[[], RateLimiter | None] | None = None,
        token_origin: str | None = None,
        hosted: bool = True,
    ) -> None:
        if http is not None and not isinstance(http, HttpPolicy):
            raise InvalidInputError(f"http must be an HttpPolicy, got {type(http).__name__}")
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise InvalidInputError(f"max_workers must be an int >= 1, got {max_workers!r}")
        self._datastack = datastack
        self._server_address = server_address
        self._token = auth_token
        self._version = materialization_version
        self._write_server_cache = write_server_cache
        self._max_workers = max_workers
        self._policy = http if http is not None else HttpPolicy()
        self._limiter_of = limiter
        self._token_origin = token_origin
        self._hosted = hosted
        self._lock = threading.RLock()
        self._slots = threading.BoundedSemaphore(max_workers)
        self._client: CAVEclient | None = None
        self._services: dict[str, Any] = {}

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else "not connected"
        return (f"CaveConnection({self._datastack!r}, server={self._server_address!r}, "
                f"max_workers={self._max_workers}, {state})")

    # -- identity -----------------------------------------------------------------------------
    @property
    def datastack(self) -> str:
        """The datastack name."""
        return self._datastack

    @property
    def max_workers(self) -> int:
        """How many service calls of this session run at once (the width of every pool)."""
        return self._max_workers

    @property
    def policy(self) -> HttpPolicy:
        """The timeout and retry policy of this session's requests."""
        return self._policy

    @property
    def connected(self) -> bool:
        """Whether the client has been built."""
        return self._client is not None

    # -- the client and its sub-clients -------------------------------------------------------
    @property
    def client(self) -> CAVEclient:
        """The shared ``caveclient.CAVEclient``, built on first use under the lock.

        Raises:
            ServiceError: the client could not be built (the cause is kept as ``__cause__``).
        """
        client = self._client
        if client is not None:
            return client
        if not self._hosted:
            raise MissingFeatureError(self._datastack, "server_address", "CAVE services: the "
                                      "datastack is not hosted in CAVE")
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def _build(self) -> CAVEclient:
        from caveclient import CAVEclient

        self._policy.resolved_timeout()  # a bad $TRACERTOOLS_HTTP_TIMEOUT fails before any request
        kwargs: dict[str, Any] = {
            "datastack_name": self._datastack,
            "server_address": self._server_address,
            "write_server_cache": self._write_server_cache,
            "max_retries": 0,  # retries are the HTTP layer's, and the build's own below
            "pool_maxsize": self._max_workers,
            "pool_block": True,
        }
        if self._token is not None:
            kwargs["auth_token"] = self._token
        if self._version is not None:
            kwargs["version"] = self._version
        logger.debug("building CAVEclient for %s at %s", self._datastack, self._server_address)
        try:
            client = retry_building(self._policy, lambda: CAVEclient(**kwargs),
                                    "connecting to CAVE")
        except Exception as exc:
            if self._version is not None and _is_unknown_version(exc):
                bad = InvalidInputError(
                    f"materialization_version={self._version} is not available for datastack "
                    f"{self._datastack!r}: its materialization service does not list it "
                    "(expired versions included)"
                )
                bad.whole_call = True  # no item's fault: batches raise it unwrapped
                raise bad from None
            raise self._error(
                f"could not connect to CAVE for datastack {self._datastack!r} "
                f"(server {self._server_address or 'caveclient default'})", exc,
                action="building the CAVE client",
            ) from exc
        for name in SERVICES:  # the ones built with the client (info, and materialize
            built = vars(client).get(f"_{name}")  # for a version): our HTTP layer from now on
            if built is not None:
                mount(built.session, self._policy, self._max_workers, self._limiter())
        return client

    def _limiter(self) -> RateLimiter | None:
        return self._limiter_of() if self._limiter_of is not None else None

    def _secrets(self) -> list[str]:
        """The session's token: the one given, and the one its client loaded (from a file)."""
        loaded = getattr(getattr(self._client, "auth", None), "token", None)
        return [t for t in (self._token, loaded) if isinstance(t, str) and t]

    def _hide(self, text: str) -> str:
        return redact(text, self._secrets())

    def service(self, name: str) -> Any:
        """The client's sub-client ``name`` (e.g. ``"chunkedgraph"``), built once under the lock.

        Building one makes its version handshake, so that happens once per session however
        many threads ask first.
        """
        if name not in SERVICES:
            raise InvalidInputError(f"unknown CAVE service {name!r}; one of {', '.join(SERVICES)}")
        found = self._services.get(name)
        if found is not None:
            return found
        with self._lock:
            found = self._services.get(name)
            if found is None:
                client = self.client
                try:
                    found = retry_building(self._policy, lambda: getattr(client, name),
                                           f"connecting to the {name} service")
                except Exception as exc:
                    raise self._error(f"connecting to the {name} service of datastack "
                                      f"{self._datastack!r}", exc) from exc
                session = getattr(found, "session", None)
                if session is not None:
                    mount(session, self._policy, self._max_workers, self._limiter())
                self._services[name] = found
            return found

    @property
    def info(self) -> Any:
        """The info-service client (``client.info``)."""
        return self.service("info")

    @property
    def chunkedgraph(self) -> Any:
        """The chunkedgraph client (``client.chunkedgraph``)."""
        return self.service("chunkedgraph")

    @property
    def materialize(self) -> Any:
        """The materialization client (``client.materialize``)."""
        return self.service("materialize")

    @property
    def annotation(self) -> Any:
        """The annotation client (``client.annotation``)."""
        return self.service("annotation")

    @property
    def l2cache(self) -> Any:
        """The L2-cache client (``client.l2cache``)."""
        return self.service("l2cache")

    @property
    def skeleton(self) -> Any:
        """The skeleton-service client (``client.skeleton``)."""
        return self.service("skeleton")

    @property
    def state(self) -> Any:
        """The JSON state-service client (``client.state``)."""
        return self.service("state")

    # -- calls ------------------------------------------------------------------------------
    def call(self, what: str, func: Callable[[], R]) -> R:
        """Run one service call within the worker budget and the policy's deadline.

        Retries happen below, per request, in the HTTP layer. ``func`` runs again only when it
        failed on a request another library sent on its own session (cloud-volume inside
        caveclient's skeleton and segmentation calls), which our layer never saw: up to the
        policy's ``attempts`` runs, waiting as the HTTP layer would.

        Args:
            what: a short description of the call for error messages, e.g. ``"get_roots"``.
            func: the zero-argument call.

        Raises:
            RateLimitedError: the service kept answering 429 (``status`` 429).
            ServiceError: the call failed; ``status`` is the HTTP status when there was an
                answer, the message says how many requests the failing one took, and
                ``__cause__`` is the library's exception.
        """
        policy = self._policy
        with self._slots, call_deadline(policy):
            for attempt in range(1, policy.attempts + 1):
                try:
                    return func()
                except TracertoolsError:
                    raise
                except Exception as exc:
                    # a request through our adapter was retried there already; one another
                    # library sent on its own session (cloud-volume) gets the call tried again
                    again = (attempt < policy.attempts and not retried_here(exc)
                             and retryable(exc))
                    wait = retry_wait(policy, exc, attempt) if again else 0.0
                    left = remaining()
                    if not again or (left is not None and left <= wait):
                        tries = None if retried_here(exc) else attempt
                        raise self._error(f"{what} failed on datastack {self._datastack!r}",
                                          exc, tries, action=what) from exc
                    logger.debug("%s: %s from another library's session; trying the call "
                                 "again in %.3g s", what, type(exc).__name__, wait)
                    policy.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, what: str, exc: BaseException, tries: int | None = None, *,
               action: str | None = None) -> ServiceError:
        """The typed error for a failed call: status, request count, message without token.

        An unreachable server or a refused token becomes the access error that says what to do
        (`tracertools.cave.access.access_error()`).

        Args:
            tries: how many times the whole call ran, when its failing request was not ours
                (else the count of the failing request's attempts is read from the HTTP layer).
            action: what was being done, for access errors (default ``what``).
        """
        redact_chain(exc, self._secrets())  # replies quoted in the causes, too
        access = access_error(exc, what=action or what, datastack=self._datastack,
                              server_address=self._server_address,
                              token_given=self._token_origin)
        if access is not None:
            return access
        status = http_status(exc)
        if tries is not None:
            tried = f" after {tries} tr{'ies' if tries != 1 else 'y'}"
        else:
            made = getattr(exc, "_tracertools_attempts", None) or getattr(
                getattr(exc, "response", None), "_tracertools_attempts", None) or attempts_made()
            tried = f" after {made} request{'s' if made != 1 else ''}" if made else ""
        left = remaining()
        if status is None and left is not None and left <= 0 and is_timeout(exc):
            return ServiceTimeoutError(
                f"{what}{tried}: no complete answer within the call's deadline of "
                f"{self._policy.deadline_s:g} s: {type(exc).__name__}: {self._hide(str(exc))}")
        if status == 429:
            return RateLimitedError(
                f"{what}: the service kept answering 429 Too Many Requests{tried}; slow down "
                f"or retry later", status=429,
            )
        return ServiceError(f"{what}{tried}: {type(exc).__name__}: {self._hide(str(exc))}",
                            status=status)

    def map(
        self, func: Callable[[T], R], items: Sequence[T], *, progress: bool | None = False,
        desc: str = "tracertools", what: str = "item",
    ) -> list[R | None]:
        """``func`` over ``items`` on a pool as wide as the budget; the first failure raises.

        Raises the failing item's own error (with its cause chain), not a
        [`BatchError`][tracertools.errors.BatchError] keyed by position.
        """
        try:
            return run_per_item(func, items, max_workers=self._max_workers, progress=progress,
                                desc=desc, what=what)
        except BatchError as exc:
            first = next(iter(exc.failures.values()))
        raise first


def _is_unknown_version(exc: BaseException) -> bool:
    """Whether building the client failed because caveclient does not list the version."""
    return isinstance(exc, ValueError) and "is not available for this datastack" in str(exc)


def list_datastacks(
    server_address: str | None, auth_token: str | None, http: HttpPolicy | None = None
) -> list[str]:
    """Names of the datastacks a CAVE server publishes (``info.get_datastacks``).

    Builds a global-only client for this one question (two requests), under ``http``.

    Raises:
        ServiceError: the server could not be reached or refused.
    """
    from caveclient import CAVEclient

    policy = http if http is not None else HttpPolicy()
    kwargs: dict[str, Any] = {"server_address": server_address, "global_only": True,
                              "write_server_cache": False, "max_retries": 0}
    if auth_token:
        kwargs["auth_token"] = auth_token
    where = server_address or "the default CAVE server"
    try:
        client = retry_building(policy, lambda: CAVEclient(**kwargs), "connecting to CAVE")
        mount(client.info.session, policy, 1)
        with call_deadline(policy):
            return list(client.info.get_datastacks())
    except Exception as exc:
        redact_chain(exc, [auth_token] if auth_token else [])
        access = access_error(exc, what="listing datastacks", datastack=None,
                              server_address=server_address,
                              token_given="the auth_token argument" if auth_token else None)
        if access is not None:
            raise access from exc
        status = http_status(exc)
        raise ServiceError(f"could not list datastacks at {where}: {type(exc).__name__}"
                           f"{f' (HTTP {status})' if status else ''}", status=status) from exc
