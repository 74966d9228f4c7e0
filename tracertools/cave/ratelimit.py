"""Request budgets: a thread-safe token bucket per session that listens to the service.

A datastack session has one request budget, ``rate`` requests per second (unlimited unless
set). Every HTTP request of the session's CAVE client, retries included, takes one token from
its [`RateLimiter`][tracertools.cave.ratelimit.RateLimiter] first, so the threads of a batch
share the budget and a configured rate is never exceeded (counting a request refused with 429
or 503 and its retry once: the refused one gives its token back).

The limiter also hears the service's refusals (the HTTP layer calls
[`RateLimiter.throttled()`][tracertools.cave.ratelimit.RateLimiter.throttled] for every 429 or
503): a ``Retry-After`` pauses every thread of the session, not only the one that got it, and a
429 lowers the rate in force (halve, then creep back up), so a session with no configured rate
also settles below a service's limit after its first refusal.

When a batch runs on other processes (``executor=``, e.g. a dask cluster), each worker process
rebuilds the session and gets its own limiter; the budget stays shared by splitting it evenly:
a process that runs tasks for ``n`` worker processes spends ``rate / n`` (see
[`tracertools.batch.set_worker_count()`][tracertools.batch.set_worker_count], called on the worker before each task).
No coordination between processes is needed, and the sum over the cluster stays at or below
``rate`` (plus one burst per process). What a process learns from 429s stays in that process.

The interface is [`RateLimiter.acquire()`][tracertools.cave.ratelimit.RateLimiter.acquire]
(block until the session is not paused and a token is free), called once per request, and
[`RateLimiter.throttled()`][tracertools.cave.ratelimit.RateLimiter.throttled], called for each
429 or 503 answer.

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
from collections import deque
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
#: The factor a 429 cuts the rate in force by (the "multiplicative decrease").
_CUT = 0.5
#: With no rate in force, the first 429 sets this share of the requests that passed in the
#: last second (a burst the service allowed counts in, hence not all of them).
_FIRST = 0.5
#: Seconds after a cut during which further 429s count as the same event.
_HOLD_S = 1.0
#: Requests per second the learned rate gains per second while requests wait for tokens
#: (the "additive increase").
_STEP = 1.0
#: The lowest rate a 429 cuts to (requests per second).
_MIN_RATE = 0.5
#: Seconds over which the sent requests are counted for the first estimate.
_WINDOW_S = 1.0


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
    """A session's request budget: a token bucket that also listens to the service.

    Thread-safe. Tokens refill continuously; the bucket holds at most one second's worth
    (at least one token), so a burst after a quiet spell is bounded by the rate.

    The service is heard through [`throttled()`][tracertools.cave.ratelimit.RateLimiter.throttled],
    which the HTTP layer calls for every 429 or 503 answer:

    * **Pause.** An answer with ``Retry-After`` (already cut to the policy's cap) pauses the
      whole session: every thread's next `acquire()` waits until then, not only the thread
      that got it.
    * **Give back.** The refused request's token returns to the bucket for its retry: a
      request refused with 429 or 503 and its retry spend one token between them.
    * **Adapt (AIMD).** A 429 lowers the rate in force: with none in force, to half the
      requests that passed in the last second; else to half the rate in force. 429s for
      requests sent before a cut, or within a second after it, belong to that cut (one cut
      per event, however many threads were refused). A cut drops any burst: the bucket
      holds one token (and those given back) when the pause ends. While requests wait for tokens the rate creeps up again, by one
      request per second every second, back to the configured rate (which is never
      exceeded) or, with none configured, without bound. So a session with no configured
      rate also keeps below a service's limit after its first refusal. What was learned is
      `current_rate`; `rate` stays what was configured.

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
        #: the rate learned from 429s (requests per second in this process; None: none yet)
        self._learned: float | None = None
        #: clock time until which the session is paused (a Retry-After)
        self._paused_until = -math.inf
        #: clock time of the latest cut of the learned rate
        self._cut_at = -math.inf
        #: whether the latest cut was estimated from the requests sent (no rate was in force)
        self._estimated = False
        #: clock times of the acquisitions and of the 429s of the last second
        self._recent: deque[float] = deque()
        self._refusals: deque[float] = deque()
        self._throttled = 0
        self._local = threading.local()

    @property
    def rate(self) -> float | None:
        """The session's configured budget in requests per second (None: unlimited).

        Setting it keeps what was learned from 429s; the rate in force is never above it.
        """
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
    def current_rate(self) -> float | None:
        """The requests per second this process keeps below now (None: unlimited): the
        `share`, or less after 429s (see the class)."""
        share, learned = self.share, self._learned
        if learned is None:
            return share
        return learned if share is None else min(share, learned)

    @property
    def acquired(self) -> float:
        """Tokens taken so far (requests sent under this budget, limited or not)."""
        return self._acquired

    @property
    def waited_s(self) -> float:
        """Seconds spent waiting for tokens or pauses so far, over all threads."""
        return self._waited

    @property
    def throttled_count(self) -> int:
        """429 and 503 answers noted so far (`throttled()` calls)."""
        return self._throttled

    def paused_s(self) -> float:
        """Seconds left of the current pause (0: not paused)."""
        with self._lock:
            return max(0.0, self._paused_until - self._clock())

    def acquire(
        self,
        n: float = 1.0,
        *,
        pause: bool = True,
        sleep: Callable[[float], None] | None = None,
        max_pause_s: float | None = None,
    ) -> float:
        """Take ``n`` tokens, waiting out a pause and then until they are there.

        Args:
            n: tokens (requests).
            pause: wait out the session's pause first; False for a request whose thread has
                just waited out its own ``Retry-After``.
            sleep: how to wait out a pause (default: the limiter's ``sleep``; the HTTP layer
                passes its policy's). Each pause is waited once, whatever the clock says then.
            max_pause_s: the longest pause to wait (a call's remaining deadline).

        Returns:
            The seconds waited.
        """
        waited = 0.0
        short = False  # whether this call waited for tokens (the rate was what held it back)
        honoured = -math.inf  # the pause (its end) this call has waited out already
        while True:
            pause_s = 0.0
            with self._lock:
                now = self._clock()
                if pause and self._paused_until > max(now, honoured):
                    honoured = self._paused_until
                    pause_s = self._paused_until - now
                    if max_pause_s is not None:
                        pause_s = min(pause_s, max(0.0, max_pause_s))
                else:
                    rate = self.current_rate
                    if rate is None:
                        self._took(n, now, waited)
                        return waited
                    capacity = max(1.0, rate, n)
                    if self._stamp is None:
                        self._tokens = capacity
                    elif now > self._stamp:
                        self._tokens = min(capacity, self._tokens + (now - self._stamp) * rate)
                    self._stamp = now if self._stamp is None else max(now, self._stamp)
                    if self._tokens >= n - _EPSILON:  # rounding must not leave a token short
                        self._tokens = max(0.0, self._tokens - n)
                        if short and self._learned is not None:  # rate-bound: climb
                            self._climb(n)
                        self._took(n, now, waited)
                        return waited
                    wait_s = (n - self._tokens) / rate
                    if self._stamp > now:  # refilling starts when a pause ends
                        wait_s += self._stamp - now
            if pause_s > 0:
                (sleep or self._sleep)(pause_s)
                waited += pause_s
            else:
                self._sleep(wait_s)
                waited += wait_s
                short = True

    def _climb(self, n: float) -> None:
        """Raise the learned rate after ``n`` tokens had to be waited for (under the lock).

        Each token adds ``_STEP / rate``, so the rate gains ``_STEP`` per second of requests
        held back by it; at the configured rate the learned one is dropped.
        """
        learned = self._learned
        assert learned is not None
        learned += min(_STEP, _STEP / learned) * n
        share = self.share
        self._learned = None if share is not None and learned >= share else learned

    def _passed(self, now: float) -> float:
        """Requests sent in the last second and not refused (so far), under the lock."""
        for times in (self._recent, self._refusals):
            while times and times[0] <= now - _WINDOW_S:
                times.popleft()
        return float(max(0, len(self._recent) - len(self._refusals)))

    def _took(self, n: float, now: float, waited: float) -> None:
        """Book ``n`` tokens taken at ``now`` by this thread (under the lock)."""
        self._acquired += n
        self._waited += waited
        self._local.sent_at = now
        self._recent.append(now)
        self._passed(now)  # (drops what is older than a second)

    def throttled(self, status: int, retry_after_s: float | None = None) -> None:
        """Note that this thread's latest request was answered ``status`` (429 or 503).

        ``retry_after_s`` is the answer's ``Retry-After`` in seconds, already cut to the
        policy's cap (None: the answer named none). It pauses the session until then; a 429
        also lowers the rate in force (see the class). The refused request's token is given
        back for its retry (the service served nothing). Other statuses are ignored.
        """
        if status not in (429, 503):
            return
        with self._lock:
            now = self._clock()
            self._throttled += 1
            in_force = self.current_rate
            if in_force is not None and self._stamp is not None:
                # the service served nothing: the refused request's token back, for its retry
                self._tokens = min(max(1.0, in_force), self._tokens + 1.0)
            if retry_after_s is not None and retry_after_s > 0:
                self._paused_until = max(self._paused_until, now + retry_after_s)
            if status != 429:
                return
            self._refusals.append(now)
            passed = self._passed(now)
            sent_at = getattr(self._local, "sent_at", now)
            if sent_at < self._cut_at or now < self._cut_at + _HOLD_S:  # the same event
                if self._estimated and self._learned is not None:  # one more that failed
                    self._learned = min(self._learned, max(_MIN_RATE, _FIRST * passed))
                return
            rate = self.current_rate
            self._estimated = rate is None
            # nothing in force: from what passed in the last second; else half the rate in force
            self._learned = max(_MIN_RATE, _FIRST * passed if rate is None else _CUT * rate)
            self._cut_at = now
            # no burst after a cut: one token when the pause (if any) ends, then the new rate
            self._tokens = 1.0
            self._stamp = max(now, self._paused_until)
            logger.info("a service answered 429: this session now keeps below %.3g requests/s%s",
                        self._learned, f" and pauses {retry_after_s:.3g} s"
                        if retry_after_s else "")

    def __repr__(self) -> str:
        current = self.current_rate
        if self._rate is None and current is None:
            return "RateLimiter(unlimited)"
        configured = "unlimited" if self._rate is None else f"{self._rate:g}/s"
        return f"RateLimiter({configured}, this process {current:g}/s now)"
