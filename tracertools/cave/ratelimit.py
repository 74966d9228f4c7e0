"""Request budgets: a thread-safe token bucket, shared evenly among worker processes.

A datastack session has one request budget, ``rate`` requests per second (unlimited unless
set). Every HTTP request of the session's CAVE client takes one token from its
[`RateLimiter`][tracertools.cave.ratelimit.RateLimiter] first, so the threads of a batch share the budget.

When a batch runs on other processes (``executor=``, e.g. a dask cluster), each worker process
rebuilds the session and gets its own limiter; the budget stays shared by splitting it evenly:
a process that runs tasks for ``n`` worker processes spends ``rate / n`` (see
[`tracertools.batch.set_worker_count()`][tracertools.batch.set_worker_count], called on the worker before each task).
No coordination between processes is needed, and the sum over the cluster stays at or below
``rate`` (plus one burst per process).

The interface is [`RateLimiter.acquire()`][tracertools.cave.ratelimit.RateLimiter.acquire] (block until a token is free); anything that sends
requests for a session calls it once per request.

Settings:
    ``$TRACERTOOLS_RATE_LIMIT``: a session's budget in requests per second when none is set on
    the session itself (unset, empty or ``0``: unlimited).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable

from tracertools.batch import worker_count
from tracertools.errors import ConfigError, InvalidInputError

__all__ = [
    "RATE_ENV",
    "RateLimiter",
    "rate_from_env",
]

logger = logging.getLogger(__name__)

#: The environment variable holding the default budget per session (requests per second).
RATE_ENV = "TRACERTOOLS_RATE_LIMIT"

#: Tokens short of a whole one that still count as one (floating-point rounding of refills).
_EPSILON = 1e-9


def rate_from_env(value: str | None = None) -> float | None:
    """The budget in requests per second from ``value`` or ``$TRACERTOOLS_RATE_LIMIT``.

    Returns None (unlimited) when the setting is unset, empty or ``0``.

    Raises:
        ConfigError: the setting is not a non-negative number.
    """
    text = os.environ.get(RATE_ENV) if value is None else value
    if text is None or not text.strip():
        return None
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not (rate >= 0 and math.isfinite(rate)):
        raise ConfigError(f"{RATE_ENV} must be requests per second (a number >= 0), got {text!r}")
    return rate or None


def _check_rate(rate: float | None) -> float | None:
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
        rate >= 0 and math.isfinite(rate)
    ):
        raise InvalidInputError(f"a rate limit must be requests per second >= 0, got {rate!r}")
    return float(rate) or None


class RateLimiter:
    """A token bucket: on average at most ``rate`` acquisitions per second.

    Thread-safe. Tokens refill continuously; the bucket holds at most one second's worth
    (at least one token), so a burst after a quiet spell is bounded by the rate.

    Args:
        rate: the session's budget in requests per second; None (or 0) for unlimited. This
            process spends ``rate / worker_count()`` of it.
        clock: monotonic seconds (injectable for tests).
        sleep: the sleeping function (injectable for tests).
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = _check_rate(rate)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._stamp: float | None = None
        self._acquired = 0.0
        self._waited = 0.0

    @property
    def rate(self) -> float | None:
        """The session's whole budget in requests per second (None: unlimited)."""
        return self._rate

    @rate.setter
    def rate(self, value: float | None) -> None:
        checked = _check_rate(value)
        with self._lock:
            self._rate = checked

    @property
    def share(self) -> float | None:
        """The requests per second this process may spend: ``rate / worker_count()``."""
        rate = self._rate
        return None if rate is None else rate / worker_count()

    @property
    def acquired(self) -> float:
        """Tokens taken so far (requests sent under this budget, limited or not)."""
        return self._acquired

    @property
    def waited_s(self) -> float:
        """Seconds spent waiting for tokens so far, over all threads."""
        return self._waited

    def acquire(self, n: float = 1.0) -> float:
        """Take ``n`` tokens, waiting until they are there; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                share = self.share
                if share is None:
                    self._acquired += n
                    return waited
                now = self._clock()
                capacity = max(1.0, share, n)
                if self._stamp is None:
                    self._tokens = capacity
                else:
                    self._tokens = min(capacity, self._tokens + (now - self._stamp) * share)
                self._stamp = now
                if self._tokens >= n - _EPSILON:  # rounding must not leave a token short
                    self._tokens = max(0.0, self._tokens - n)
                    self._acquired += n
                    self._waited += waited
                    return waited
                wait_s = (n - self._tokens) / share
            self._sleep(wait_s)
            waited += wait_s

    def __repr__(self) -> str:
        if self._rate is None:
            return "RateLimiter(unlimited)"
        return f"RateLimiter({self._rate:g}/s, this process {self.share:g}/s)"
