"""How a session's HTTP requests are timed and retried: [`HttpPolicy`][tracertools.config.http.HttpPolicy].

A value, passed as ``Datastack(..., http=HttpPolicy(...))``; `tracertools.cave.http`
mounts it on the sessions of the session's CAVE client. The timeout defaults to
``$TRACERTOOLS_HTTP_TIMEOUT`` (seconds: ``read`` or ``connect,read``; default 10 s to connect
and 180 s between bytes of an answer).

This module imports the standard library and [`tracertools.errors`][tracertools.errors] only.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracertools.errors import ConfigError, InvalidInputError

__all__ = ["DEFAULT_DEADLINE_S", "DEFAULT_TIMEOUT", "TIMEOUT_ENV", "HttpPolicy", "request_timeout"]

Timeout = tuple[float, float]

#: The environment variable that sets the per-request timeout (seconds).
TIMEOUT_ENV = "TRACERTOOLS_HTTP_TIMEOUT"
#: ``(connect, read)`` seconds when neither the policy nor the environment sets one.
DEFAULT_TIMEOUT: Timeout = (10.0, 180.0)
#: The longest connect timeout derived from a single number.
_MAX_CONNECT = 10.0


def request_timeout(value: str | None = None) -> Timeout:
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


def _positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{name} must be a number of seconds, got {value!r}")
    ok = value >= 0 if allow_zero else value > 0
    if not ok or value != value or value == float("inf"):
        raise InvalidInputError(f"{name} must be a finite number of seconds"
                                f"{' >= 0' if allow_zero else ' > 0'}, got {value!r}")
    return float(value)


#: The default total time per CAVE call (s): a service that stalls or trickles ends by then.
DEFAULT_DEADLINE_S = 600.0


@dataclass(frozen=True)
class HttpPolicy:
    """How one session's CAVE requests are timed and retried.

    Attributes:
        attempts: requests in all for one request that keeps failing (first try included,
            >= 1): a persistent 5xx or 429 costs exactly this many.
        timeout: ``(connect, read)`` seconds per request; None reads
            ``$TRACERTOOLS_HTTP_TIMEOUT`` when the client is built.
        backoff_s: the wait before the first retry when the answer names none; it doubles per
            retry (with jitter between half and one and a half times).
        max_backoff_s: the longest backoff wait.
        retry_after_max_s: the longest ``Retry-After`` honoured; a longer one is cut to this.
        deadline_s: a total time per service call, retries and waits included (default 600 s;
            None: no limit beyond the attempts). No retry starts that would pass it, and an
            answer still arriving at it is given up.
        sleep: how to wait between attempts (``time.sleep``; tests inject their own).

    Raises:
        InvalidInputError: a value out of range.
    """

    attempts: int = 5
    timeout: Timeout | None = None
    backoff_s: float = 0.2
    max_backoff_s: float = 30.0
    retry_after_max_s: float = 30.0
    deadline_s: float | None = DEFAULT_DEADLINE_S
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) \
                or self.attempts < 1:
            raise InvalidInputError(f"attempts must be an int >= 1, got {self.attempts!r}")
        if self.timeout is not None:
            if not isinstance(self.timeout, tuple) or len(self.timeout) != 2:
                raise InvalidInputError(
                    f"timeout must be (connect, read) seconds, got {self.timeout!r}")
            object.__setattr__(self, "timeout", (_positive(self.timeout[0], "connect timeout"),
                                                 _positive(self.timeout[1], "read timeout")))
        _positive(self.backoff_s, "backoff_s", allow_zero=True)
        _positive(self.max_backoff_s, "max_backoff_s", allow_zero=True)
        _positive(self.retry_after_max_s, "retry_after_max_s", allow_zero=True)
        if self.deadline_s is not None:
            _positive(self.deadline_s, "deadline_s")
        if not callable(self.sleep):
            raise InvalidInputError("sleep must be callable with a number of seconds")

    def resolved_timeout(self) -> Timeout:
        """The timeout in use: the policy's own, else ``$TRACERTOOLS_HTTP_TIMEOUT``'s."""
        return self.timeout if self.timeout is not None else request_timeout()

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first) with no Retry-After."""
        wait = self.backoff_s * (2 ** (retry - 1)) * (0.5 + random.random())
        return min(wait, self.max_backoff_s)
