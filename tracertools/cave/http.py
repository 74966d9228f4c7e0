"""The HTTP layer of a session's CAVE client: one timeout and retry policy, mounted per session.

caveclient opens one ``requests.Session`` per sub-client and sets no timeout on its requests.
`mount()` replaces the adapters of such a session with a `requests.adapters.HTTPAdapter`
of ours that

* gives every request the policy's ``(connect, read)`` timeout unless the call sets one;
* retries, inside urllib3, connection failures, timeouts and the statuses in
  `RETRIED_STATUSES` (429 and 5xx) up to ``attempts`` requests in all, waiting out
  ``Retry-After`` (capped at ``retry_after_max_s``) or else an exponential backoff; 4xx answers
  that mean "your input is wrong" are never retried;
* reads each answer's body itself (for ``stream=False``), so an answer cut mid-body (fewer
  bytes than its ``Content-Length``, then a closed connection) is asked again within the same
  ``attempts``, and a body still arriving at the call's deadline ends the call;
* stops retrying when a call's total ``deadline_s`` would be passed, and shortens the last
  request's timeout to what is left of it;
* counts the requests a call made, so errors can state the real number
  (`attempts_made()`);
* with the session's request budget ([`tracertools.cave.ratelimit`][tracertools.cave.ratelimit]),
  takes a token before every request, retries included, and reports each 429 or 503 to it
  with its (capped) ``Retry-After``, which pauses every thread of the session.

It also adds a response hook that notes the materialization service's row-cap ``Warning``
header (`watch_row_cap()`), so a capped answer is recognised from the response itself.

Only sessions tracertools built or was handed by caveclient for its own client are touched:
``requests`` itself, other sessions and the root logger are left exactly as they were. The
sessions other libraries open (cloud-volume's, e.g. for ``segments_at``) keep their own
policies.

The policy is [`tracertools.config.HttpPolicy`][tracertools.config.http.HttpPolicy] (``Datastack(..., http=HttpPolicy(...))``). Its timeout
defaults to ``$TRACERTOOLS_HTTP_TIMEOUT`` (seconds: ``read`` or ``connect,read``; default 10 s
to connect and 180 s between bytes of an answer). Its ``sleep`` is injectable, so tests and
benchmarks can run retries without waiting.

This module imports neither ``requests`` nor ``urllib3`` at import time.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from tracertools.batch import is_unreachable, within
from tracertools.config.http import (  # the policy value; re-exported here for the layer
    DEFAULT_TIMEOUT as DEFAULT_TIMEOUT,
    TIMEOUT_ENV as TIMEOUT_ENV,
    HttpPolicy as HttpPolicy,
    request_timeout as request_timeout,
)
from tracertools.errors import http_status as http_status

if TYPE_CHECKING:
    from tracertools.cave.ratelimit import RateLimiter

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRIED_STATUSES",
    "TIMEOUT_ENV",
    "HttpPolicy",
    "attempts_made",
    "call_deadline",
    "http_status",
    "mount",
    "remaining",
    "request_timeout",
    "retried_here",
    "retry_building",
    "retry_wait",
    "retryable",
    "watch_row_cap",
    "watch_warnings",
]

logger = logging.getLogger(__name__)

R = TypeVar("R")
Timeout = tuple[float, float]


#: Statuses retried (with ``Retry-After`` honoured): rate limits and server errors.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
#: caveclient sends requests of these methods; all of them are reads or idempotent stores.
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"})
#: The materialization service's row-cap header, e.g. ``201 - "Limited query to 200000 rows``.
#: The live engine says ``more than limit of N`` (one page of materialized rows plus one of
#: recent rows, each cut at N).
_ROW_CAP = re.compile(r"Limited query to (\d+) rows|more than limit of (\d+)")


# ---------------------------------------------------------------------------------------------
# Per-call bookkeeping (context variables: each thread's calls are its own)

#: Requests made for the latest request of the current call: ``[count]``.
_ATTEMPTS: ContextVar[list[int] | None] = ContextVar("tracertools_attempts", default=None)
#: ``time.monotonic()`` by which the current call must end, if it has a deadline.
_DEADLINE: ContextVar[float | None] = ContextVar("tracertools_deadline", default=None)
#: Row caps the materialization service reported during the current query.
_ROW_CAPS: ContextVar[list[int] | None] = ContextVar("tracertools_row_caps", default=None)
#: ``Warning`` headers of the responses received during the current query.
_WARNINGS: ContextVar[list[str] | None] = ContextVar("tracertools_warnings", default=None)


def attempts_made() -> int | None:
    """How many requests the latest request of this thread's current call took (None: none)."""
    holder = _ATTEMPTS.get()
    return holder[0] if holder else None


@contextmanager
def call_deadline(policy: HttpPolicy) -> Iterator[None]:
    """Run a service call under the policy's total deadline (if any); resets the count."""
    token = _DEADLINE.set(
        time.monotonic() + policy.deadline_s if policy.deadline_s is not None else None)
    _ATTEMPTS.set(None)  # the count of this call's requests stays readable after it
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left of the current call's deadline (None: no deadline)."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def watch_row_cap() -> Iterator[list[int]]:
    """Collect the row caps the materialization service reports during the block.

    The list fills with the cap of every response in the block whose ``Warning`` header says
    the answer was limited (caveclient is asked not to log it).
    """
    sink: list[int] = []
    token = _ROW_CAPS.set(sink)
    try:
        yield sink
    finally:
        _ROW_CAPS.reset(token)


@contextmanager
def watch_warnings() -> Iterator[list[str]]:
    """Collect the ``Warning`` headers of the responses received during the block."""
    sink: list[str] = []
    token = _WARNINGS.set(sink)
    try:
        yield sink
    finally:
        _WARNINGS.reset(token)


def _note_row_cap(response: Any, *args: Any, **kwargs: Any) -> None:
    """A ``requests`` response hook: note a row-cap ``Warning`` header for `watch_row_cap()`
    (and every ``Warning`` header for `watch_warnings()`)."""
    header = response.headers.get("Warning") or ""
    said = _WARNINGS.get()
    if said is not None and header:
        said.append(header)
    sink = _ROW_CAPS.get()
    if sink is None:
        return
    for match in _ROW_CAP.finditer(header):
        sink.extend(int(n) for n in match.groups() if n)


# ---------------------------------------------------------------------------------------------
# The adapter and the urllib3 retry behind it (classes made on first use: no import of
# requests/urllib3 when tracertools is imported)

_CLASS_LOCK = threading.Lock()
_CLASSES: dict[str, type] = {}


def _classes() -> tuple[type, type]:
    with _CLASS_LOCK:
        if not _CLASSES:
            _CLASSES.update(_make_classes())
    return _CLASSES["adapter"], _CLASSES["retry"]


def _make_classes() -> dict[str, type]:
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    class PolicyRetry(Retry):
        """urllib3's Retry with the policy's backoff, sleep, deadline and request count."""

        policy: HttpPolicy = HttpPolicy()
        limiter: RateLimiter | None = None

        def new(self, **kw: Any) -> PolicyRetry:
            retry = super().new(**kw)
            retry.policy = self.policy
            retry.limiter = self.limiter
            return retry

        def get_backoff_time(self) -> float:
            return self.policy.backoff(max(1, len(self.history)))

        def sleep(self, response: Any = None) -> None:
            wait = None
            if response is not None and self.respect_retry_after_header:
                wait = self.get_retry_after(response)  # capped at retry_after_max
            if wait is None:
                wait = self.get_backoff_time()
            left = remaining()
            if left is not None:
                wait = min(wait, max(0.0, left))
            if wait > 0:
                logger.debug("retrying a CAVE request in %.3g s", wait)
                self.policy.sleep(wait)
            if self.limiter is not None:  # a retry is a request: it takes a token too
                self.limiter.acquire(pause=False)  # (its own Retry-After was just waited)

        def is_exhausted(self) -> bool:
            left = remaining()
            holder = _ATTEMPTS.get()  # requests already made for this one (cut answers too)
            return (super().is_exhausted() or (left is not None and left <= 0)
                    or (holder is not None and holder[0] >= self.policy.attempts))

        def increment(self, *args: Any, **kwargs: Any) -> PolicyRetry:
            error = kwargs.get("error", args[3] if len(args) > 3 else None)
            response = kwargs.get("response", args[2] if len(args) > 2 else None)
            status = getattr(response, "status", None)
            if self.limiter is not None and response is not None and status in (429, 503):
                try:  # Retry-After, cut to the policy's cap: it pauses the whole session
                    after = self.get_retry_after(response)
                except Exception:  # an unreadable header: no pause
                    after = None
                self.limiter.throttled(status, after)
            if error is not None and is_unreachable(error):  # no such host, refused: at once
                return super(PolicyRetry, self.new(total=0)).increment(*args, **kwargs)
            retry = super().increment(*args, **kwargs)  # raises once no attempt is left
            holder = _ATTEMPTS.get()
            if holder is not None:
                holder[0] += 1
            return retry

    class PolicyAdapter(HTTPAdapter):
        """An HTTPAdapter that times every request and retries per the session's policy."""

        def __init__(self, policy: HttpPolicy, timeout: Timeout, pool_size: int,
                     limiter: RateLimiter | None = None) -> None:
            self.policy = policy
            self.timeout = timeout
            self.limiter = limiter
            retry = PolicyRetry(
                total=policy.attempts - 1,
                connect=None, read=None, status=None, other=None, redirect=None,
                allowed_methods=_METHODS,
                status_forcelist=RETRIED_STATUSES,
                respect_retry_after_header=True,
                retry_after_max=policy.retry_after_max_s,  # type: ignore[arg-type]
                raise_on_status=False,
            )
            retry.policy = policy
            retry.limiter = limiter
            super().__init__(pool_connections=pool_size, pool_maxsize=pool_size,
                             pool_block=True, max_retries=retry)

        def send(self, request: Any, stream: bool = False, timeout: Any = None,
                 verify: Any = True, cert: Any = None, proxies: Any = None) -> Any:
            holder = [1]
            _ATTEMPTS.set(holder)
            while True:
                response = self._send_one(request, holder, stream=stream, timeout=timeout,
                                          verify=verify, cert=cert, proxies=proxies)
                if stream:
                    return response
                try:  # read the body here, so a cut answer is retried like a failed one
                    _read_body(response)
                    return response
                except Exception as exc:
                    if not _body_cut(exc) or not _may_retry(self.policy, holder):
                        exc._tracertools_attempts = holder[0]  # type: ignore[attr-defined]
                        raise
                    wait = self.policy.backoff(holder[0])
                    left = remaining()
                    logger.debug("a CAVE answer was cut mid-body (%s); asking again in %.3g s",
                                 type(exc).__name__, wait)
                    self.policy.sleep(wait if left is None else min(wait, max(0.0, left)))
                    holder[0] += 1

        def _send_one(self, request: Any, holder: list[int], stream: bool = False,
                      timeout: Any = None, verify: Any = True, cert: Any = None,
                      proxies: Any = None) -> Any:
            if self.limiter is not None:  # one token per request, after any pause of the session
                self.limiter.acquire(sleep=self.policy.sleep, max_pause_s=remaining())
            if timeout is None:
                timeout = self.timeout
            left = remaining()
            if left is not None:
                connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
                short = max(left, 0.001)
                timeout = (min(connect, short), min(read, short))
            try:
                response = super().send(request, stream=stream, timeout=timeout, verify=verify,
                                        cert=cert, proxies=proxies)
            except Exception as exc:
                exc._tracertools_attempts = holder[0]  # type: ignore[attr-defined]
                raise
            response._tracertools_attempts = holder[0]  # type: ignore[attr-defined]
            return response

    return {"adapter": PolicyAdapter, "retry": PolicyRetry}


def _body_cut(exc: BaseException) -> bool:
    """Whether reading an answer's body failed because the connection broke part-way
    (``requests``' ``ChunkedEncodingError``/``ConnectionError``, urllib3's ``ProtocolError``,
    ``IncompleteRead``) or stalled past the read timeout."""
    import requests.exceptions
    import urllib3.exceptions

    return isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                            requests.exceptions.ConnectionError,
                            requests.exceptions.Timeout,
                            urllib3.exceptions.ProtocolError,
                            urllib3.exceptions.ReadTimeoutError,
                            TimeoutError))


def _may_retry(policy: HttpPolicy, holder: list[int]) -> bool:
    """Whether one more request fits the policy's attempts and the call's deadline."""
    left = remaining()
    return holder[0] < policy.attempts and (left is None or left > 0)


#: Bytes asked of the socket per read of an answer's body.
_BODY_READ = 1 << 16


def _read_body(response: Any) -> None:
    """Read ``response``'s body into it (what ``requests`` does for ``stream=False``), giving
    up at the call's deadline even when the server keeps sending a byte now and then.

    Raises:
        TimeoutError: the call's deadline passed while the body was arriving.
    """
    import requests.exceptions
    import urllib3.exceptions

    if getattr(response, "_content_consumed", False) or getattr(response, "raw", None) is None:
        return
    raw = response.raw
    parts: list[bytes] = []
    try:
        while True:
            left = remaining()
            if left is not None and left <= 0:
                raise TimeoutError(
                    f"the answer was still arriving when the call's deadline passed "
                    f"({len(b''.join(parts))} bytes read)")
            chunk = raw.read1(_BODY_READ, decode_content=True) if hasattr(raw, "read1") \
                else raw.read(_BODY_READ, decode_content=True)
            if not chunk:
                break
            parts.append(chunk)
    except BaseException as exc:
        response.close()  # the connection is not reused
        if isinstance(exc, urllib3.exceptions.ProtocolError):
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            raise requests.exceptions.ConnectionError(exc) from exc
        raise
    response._content = b"".join(parts)
    response._content_consumed = True
    raw.release_conn()


def mount(session: Any, policy: HttpPolicy, pool_size: int,
          limiter: RateLimiter | None = None) -> Any:
    """Give a ``requests.Session`` the policy's adapter (http and https) and row-cap hook.

    With a ``limiter`` (the session's request budget, [`tracertools.cave.ratelimit`][tracertools.cave.ratelimit]) every
    request takes one token from it before it is sent, the retries urllib3 makes inside the
    adapter included, and every 429 or 503 answer is reported to it
    ([`RateLimiter.throttled()`][tracertools.cave.ratelimit.RateLimiter.throttled]). Pauses
    are waited with the policy's ``sleep``.

    Idempotent: a session that already has our adapter is left as it is. Returns ``session``.
    """
    adapter_class, _ = _classes()
    current = session.adapters.get("https://")
    if isinstance(current, adapter_class):
        return session
    adapter = adapter_class(policy, policy.resolved_timeout(), pool_size, limiter)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    hooks = session.hooks.setdefault("response", [])
    if _note_row_cap not in hooks:
        hooks.append(_note_row_cap)
    return session


# ---------------------------------------------------------------------------------------------
# Building clients: caveclient makes a few requests on sessions it opens itself


def _status(exc: BaseException) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def retried_here(exc: BaseException) -> bool:
    """Whether a failed request already went through our adapter (and so its retries).

    False for failures of requests other libraries send on their own sessions while serving a
    call (cloud-volume, inside caveclient's skeleton and segmentation calls); a call may be
    tried again for those (see [`call()`][tracertools.cave.connection.CaveConnection.call]).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if hasattr(current, "_tracertools_attempts"):
            return True
        if hasattr(getattr(current, "response", None), "_tracertools_attempts"):
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_wait(policy: HttpPolicy, exc: BaseException, attempt: int) -> float:
    """Seconds to wait before trying again after ``exc``: ``Retry-After`` (capped) or backoff."""
    if _status(exc) in (429, 503):
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        header = headers.get("Retry-After") if hasattr(headers, "get") else None
        try:
            if header is not None:
                return min(max(0.0, float(header)), policy.retry_after_max_s)
        except ValueError:
            pass
    return policy.backoff(attempt)


def retryable(exc: BaseException) -> bool:
    """Whether a failure may pass on a new try: 429/5xx, a timeout, a connection failure."""
    return _retryable(exc)


def _retryable(exc: BaseException) -> bool:
    import sys

    status = _status(exc)
    if status is not None:
        return status in RETRIED_STATUSES
    if is_unreachable(exc):  # no such host, connection refused: asking again will not help
        return False
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    requests_exceptions = sys.modules.get("requests.exceptions")
    return requests_exceptions is not None and isinstance(
        exc, (requests_exceptions.ConnectionError, requests_exceptions.Timeout))


def retry_building(policy: HttpPolicy, func: Callable[[], R], what: str) -> R:
    """Build a client (or sub-client) with ``func`` within the policy: each try on a helper
    thread given up at its time limit (`tracertools.batch.within()`: caveclient makes its
    handshakes on sessions it opens itself, before they can be handed to `mount()`).

    caveclient is asked not to retry (``max_retries=0``), so a failing build costs at most
    ``policy.attempts`` tries: retried on 429/5xx, timeouts and connection failures, waiting
    out ``Retry-After`` (capped) or the backoff. Each try gets one request's timeout,
    ``connect + read`` seconds, for the few small requests a build makes.
    """
    connect, read = policy.resolved_timeout()
    limit = connect + read
    for attempt in range(1, policy.attempts + 1):
        _ATTEMPTS.set([attempt])
        try:
            return within(func, limit, what)
        except Exception as exc:
            if attempt == policy.attempts or not _retryable(exc):
                raise
            policy.sleep(retry_wait(policy, exc, attempt))
    raise AssertionError("unreachable")  # pragma: no cover
