"""Per-request timeouts for the shared CAVEclient, and recognising a timed-out request.

caveclient sets no timeout on its HTTP requests, so a service that accepts a connection and
then never answers would hang a batch forever. :func:`build_with_timeouts` gives every request
of *one* CAVEclient a default ``(connect, read)`` timeout:

* ``requests.Session.request`` is wrapped once per process by a pass-through that adds a
  timeout only when the call gives none *and* either the session is marked as belonging to a
  timed client or the call runs inside :func:`scoped_timeout` on this thread; every other
  session and call is left exactly as it was;
* the client is built inside :func:`scoped_timeout`, so the info-service requests and version
  handshakes made while it is built are timed too;
* the client's class is swapped for a subclass (made once per caveclient class) whose sub-client
  properties (``chunkedgraph``, ``materialize``, ``l2cache``, ``skeleton``, ...) build each
  sub-client inside :func:`scoped_timeout` and then mark its session.

Marked sessions also retry each request on 500 and 429 (urllib3, honouring ``Retry-After``), on
top of caveclient's 502-504: one caveclient call may make a dozen requests, and retrying only
whole calls (as :func:`~tracertools.batch.call_with_retries` does) fails too often when each
of them may fail.

Every request of such a client (and of its building) also takes a token from the session's
request budget first, when one is given (:class:`tracertools.cave.ratelimit.RateLimiter`; a request
urllib3 retries on its own is not counted again).

Not covered: sessions that other libraries open on the client's behalf (cloud-volume's, e.g.
for ``segments_at`` and inside caveclient's skeleton calls); cloud-files applies its own.

A timed-out request is retried like a 5xx answer by
:func:`tracertools.batch.call_with_retries`, which asks :func:`tracertools.batch.is_timeout`.

The timeout is read when a client is built: ``$TRACERTOOLS_HTTP_TIMEOUT`` in seconds, either one
number (the read timeout; connecting gets ``min(10, read)``) or ``connect,read``. Default:
10 s to connect, 180 s between bytes of an answer.

This module imports neither ``requests`` nor ``caveclient`` at import time.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from tracertools.cave.ratelimit import RateLimiter
from tracertools.errors import ConfigError

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRIED_STATUSES",
    "TIMEOUT_ENV",
    "build_with_timeouts",
    "install_timeouts",
    "request_timeout",
    "scoped_timeout",
]

logger = logging.getLogger(__name__)

C = TypeVar("C")
Timeout = tuple[float, float]

#: The environment variable that sets the per-request timeout (seconds).
TIMEOUT_ENV = "TRACERTOOLS_HTTP_TIMEOUT"
#: ``(connect, read)`` seconds when the environment sets nothing.
DEFAULT_TIMEOUT: Timeout = (10.0, 180.0)
#: The longest connect timeout derived from a single number.
_MAX_CONNECT = 10.0

#: CAVEclient properties that build a sub-client holding a ``requests`` session.
_SUBCLIENTS = (
    "info",
    "chunkedgraph",
    "annotation",
    "materialize",
    "skeleton",
    "l2cache",
    "state",
    "schema",
)
#: Attribute marking a session (and a client) with the timeout it was given.
_MARK = "_tracertools_timeout"
#: The timeout for requests made on this thread inside :func:`scoped_timeout`.
_SCOPED: ContextVar[Timeout | None] = ContextVar("tracertools_http_timeout", default=None)
#: Attribute giving a session (and a client) the request budget its requests draw on.
_BUDGET = "_tracertools_budget"
#: The budget for requests made on this thread inside :func:`scoped_timeout`.
_SCOPED_BUDGET: ContextVar[RateLimiter | None] = ContextVar("tracertools_budget", default=None)
_PATCH_LOCK = threading.Lock()
#: Statuses the sessions of a timed client retry per request (with caveclient's 502-504).
RETRIED_STATUSES = frozenset({429, 500})
#: The longest ``Retry-After`` urllib3 may wait out for one request (seconds).
RETRY_AFTER_MAX_S = 30
#: Position of ``timeout`` among ``Session.request``'s arguments after ``method, url``.
_TIMEOUT_POSITION = 6


def request_timeout(value: str | None = None) -> tuple[float, float]:
    """The ``(connect, read)`` timeout in seconds, from ``value`` or ``$TRACERTOOLS_HTTP_TIMEOUT``.

    Raises:
        ConfigError: the setting is not one or two positive numbers.
    """
    text = os.environ.get(TIMEOUT_ENV) if value is None else value
    if text is None or not text.strip():
        return DEFAULT_TIMEOUT
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (1, 2) or not all(0 < n < float("inf") for n in numbers):
        raise ConfigError(
            f"{TIMEOUT_ENV} must be seconds as 'read' or 'connect,read' (positive numbers), "
            f"got {text!r}"
        )
    if len(numbers) == 1:
        return (min(_MAX_CONNECT, numbers[0]), numbers[0])
    return (numbers[0], numbers[1])


def _patch_requests() -> None:
    """Wrap ``requests.Session.request`` once with the pass-through that adds our timeout."""
    import requests

    with _PATCH_LOCK:
        original = requests.Session.request
        if getattr(original, "_tracertools_wrapper", False):
            return

        @functools.wraps(original)
        def request(self: Any, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None and len(args) <= _TIMEOUT_POSITION:
                chosen = getattr(self, _MARK, None) or _SCOPED.get()
                if chosen is not None:
                    kwargs["timeout"] = chosen
            budget = getattr(self, _BUDGET, None) or _SCOPED_BUDGET.get()
            if budget is not None:
                budget.acquire()
            return original(self, method, url, *args, **kwargs)

        request._tracertools_wrapper = True  # type: ignore[attr-defined]
        requests.Session.request = request  # type: ignore[method-assign]


@contextmanager
def scoped_timeout(timeout: Timeout, budget: RateLimiter | None = None) -> Iterator[None]:
    """Give requests made on this thread inside the block ``timeout`` unless they set one
    (and make them draw on ``budget``)."""
    _patch_requests()
    token = _SCOPED.set(timeout)
    budget_token = _SCOPED_BUDGET.set(budget)
    try:
        yield
    finally:
        _SCOPED_BUDGET.reset(budget_token)
        _SCOPED.reset(token)


def _retry_each_request(session: Any) -> None:
    """Let the session's urllib3 retry also cover 500 and 429 (caveclient's covers 502-504).

    One caveclient call can make many requests (a bulk skeleton fetch makes about a dozen);
    retrying only the whole call fails too often when each request may fail. urllib3 waits out
    ``Retry-After`` (capped at :data:`RETRY_AFTER_MAX_S` where urllib3 supports a cap).
    """
    for adapter in {id(a): a for a in getattr(session, "adapters", {}).values()}.values():
        retry = getattr(adapter, "max_retries", None)
        if retry is None or not hasattr(retry, "new") or not retry.total:
            continue
        changes: dict[str, Any] = {
            "status_forcelist": frozenset(retry.status_forcelist or ()) | RETRIED_STATUSES
        }
        if hasattr(retry, "retry_after_max"):
            changes["retry_after_max"] = RETRY_AFTER_MAX_S
        adapter.max_retries = retry.new(**changes)


def _mark_subclient(sub: Any, timeout: Timeout | None, budget: RateLimiter | None = None) -> Any:
    session = getattr(sub, "session", None)
    if timeout is not None and session is not None and getattr(session, _MARK, None) is None:
        setattr(session, _MARK, timeout)
        _retry_each_request(session)
    if budget is not None and session is not None:
        setattr(session, _BUDGET, budget)
    return sub


def _timed_property(prop: property) -> property:
    getter = prop.fget
    assert getter is not None

    def fget(self: Any) -> Any:
        timeout = getattr(self, _MARK, None)
        if timeout is None:
            return getter(self)
        budget = getattr(self, _BUDGET, None)
        with scoped_timeout(timeout, budget):  # the sub-client's handshake, made while built
            return _mark_subclient(getter(self), timeout, budget)

    return property(fget, prop.fset, prop.fdel, prop.__doc__)


@functools.cache
def _timed_class(base: type) -> type:
    """A subclass of a CAVEclient class whose sub-client properties install timeouts."""
    namespace: dict[str, Any] = {
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
        "_tracertools_timed": True,
    }
    for name in _SUBCLIENTS:
        prop = getattr(base, name, None)
        if isinstance(prop, property) and prop.fget is not None:
            namespace[name] = _timed_property(prop)
    return type(base.__name__, (base,), namespace)


def install_timeouts(
    client: C, timeout: Timeout | None = None, *, limiter: RateLimiter | None = None
) -> C:
    """Give every request of ``client`` (a built CAVEclient) a default timeout (and a budget).

    Sessions of sub-clients built so far are marked at once; later sub-clients are built
    inside :func:`scoped_timeout` and marked. Returns ``client`` (the same object, now of a
    timed subclass of its class).

    Args:
        client: a ``caveclient.CAVEclient`` instance.
        timeout: ``(connect, read)`` seconds; default :func:`request_timeout`.
        limiter: the request budget every request draws a token from (None: no budget).
    """
    chosen = request_timeout() if timeout is None else timeout
    _patch_requests()
    base: type = type(client)
    if not getattr(base, "_tracertools_timed", False):
        client.__class__ = _timed_class(base)
    setattr(client, _MARK, chosen)
    if limiter is not None:
        setattr(client, _BUDGET, limiter)
    for name in _SUBCLIENTS:
        built = vars(client).get(f"_{name}")
        if built is not None:
            _mark_subclient(built, chosen, limiter)
    logger.debug("CAVE requests time out after %.3g s (connect) / %.3g s (read)", *chosen)
    return client


def build_with_timeouts(
    factory: Callable[[], C], timeout: Timeout | None = None, *, limiter: RateLimiter | None = None
) -> C:
    """Build a CAVEclient with ``factory()`` with every request timed (and drawing on
    ``limiter``), during and after."""
    chosen = request_timeout() if timeout is None else timeout
    with scoped_timeout(chosen, limiter):
        client = factory()
    return install_timeouts(client, chosen, limiter=limiter)
