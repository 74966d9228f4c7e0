"""Run-time controls of a LocalCave server: request counters, request log, latency, faults.

All of them are thread-safe and may be changed while the server is running.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_BODY_LIMIT = 10_000_000
DEFAULT_ROW_CAP = 200_000


class RequestStats:
    """Per-endpoint counters (a thread-safe, read-only view of a Counter).

    ``stats["roots_binary"]`` is the number of requests the endpoint received (0 if none),
    whatever their outcome; ``stats.total`` counts all requests. The same class tallies other
    per-endpoint amounts (body bytes, microseconds of server work).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def hit(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` (default: one request) to ``name``'s counter (server side)."""
        with self._lock:
            self._counts[name] += amount

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)

    def get(self, name: str, default: int = 0) -> int:
        """Count for ``name``, or ``default`` if it received no request."""
        with self._lock:
            return self._counts.get(name, default)

    @property
    def total(self) -> int:
        """The sum over endpoints (for the request counters: all requests received)."""
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        """Set every counter to zero."""
        with self._lock:
            self._counts.clear()

    def as_dict(self) -> dict[str, int]:
        """A snapshot of the non-zero counters."""
        with self._lock:
            return dict(self._counts)

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    def __contains__(self, name: object) -> bool:
        return name in self.as_dict()

    def items(self) -> Iterable[tuple[str, int]]:
        return self.as_dict().items()

    def keys(self) -> Iterable[str]:
        return self.as_dict().keys()

    def __repr__(self) -> str:
        return f"RequestStats(total={self.total}, {dict(sorted(self.as_dict().items()))})"


@dataclass(frozen=True)
class LogEntry:
    """One request as the server saw it (no headers, no query string, no body).

    ``body_bytes`` is the request body as it arrived (compressed if the client gzipped it),
    ``response_bytes`` the body of the answer (headers excluded), ``duration_s`` the time from
    reading the request to the answer being ready (injected latency and stalls included).
    """

    time: float
    method: str
    path: str
    endpoint: str
    body_bytes: int
    status: int
    duration_s: float
    response_bytes: int = 0


@dataclass(frozen=True)
class FaultConfig:
    """Fault injection settings.

    Attributes:
        error_rate: probability that a request fails with ``error_status`` (503 by default;
            caveclient retries 502/503/504 up to 3 times).
        error_status: status used for injected errors.
        rate_limit_rate: probability of a 429 with a ``Retry-After: retry_after`` header.
        retry_after: seconds announced in ``Retry-After``.
        stall_rate: probability that a request sleeps ``stall_seconds`` before being answered.
        stall_seconds: length of a stall.
        body_limit_bytes: request bodies larger than this get 413 (like CAVE's ingress).
        row_cap: materialization row limit (``QUERY_LIMIT_SIZE``).
        rate_limit_per_s: per-token request rate (requests per second) above which service
            requests get 429 with an integer ``Retry-After`` (seconds, at least 1); None: no
            limit. A token bucket of ``rate_limit_burst`` requests, refilled at this rate.
        rate_limit_burst: requests a token may send at once before the rate applies.
        endpoints: endpoint names the random faults apply to; None means every service
            endpoint (handshakes and static data excluded).
        seed: seed of the fault random generator (None: unseeded).
    """

    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_rate: float = 0.0
    retry_after: float = 1
    stall_rate: float = 0.0
    stall_seconds: float = 5.0
    body_limit_bytes: int = DEFAULT_BODY_LIMIT
    row_cap: int = DEFAULT_ROW_CAP
    rate_limit_per_s: float | None = None
    rate_limit_burst: int = 10
    endpoints: frozenset[str] | None = None
    seed: int | None = 0


@dataclass
class ScriptedFault:
    """A fault to return on the next ``times`` requests to ``endpoint`` (None: any)."""

    endpoint: str | None
    status: int
    times: int
    retry_after: float | None = None
    message: str = "injected fault"
    cut: bool = False
    trickle: float = 0.0


@dataclass
class Decision:
    """What the fault layer decided for one request."""

    stall: float = 0.0
    latency: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    message: str = ""
    cut: bool = False  # answer normally, but close the connection halfway through the body
    trickle: float = 0.0  # seconds between the bytes of the body (0: all at once)


@dataclass
class Controls:
    """Counters, log, latency, faults and service limits of one server.

    Attributes:
        stats: requests per endpoint.
        limit_hits: requests refused or cut by a service limit: ``rate_limited`` (429 from the
            per-token rate limit), ``body_too_large`` (413) and ``row_capped`` (a query answer
            truncated at the row cap).
        request_bytes: request body bytes received per endpoint (as sent: gzip bodies
            compressed), every request counted, unlike the bounded log.
        response_bytes: response body bytes sent per endpoint (headers excluded).
        handler_us: microseconds the server spent computing answers per endpoint (injected
            latency and stalls, refusals and sending excluded): the stand-in's own cost.
        defaults: the fault settings at start and after `reset()`.
    """

    stats: RequestStats = field(default_factory=RequestStats)
    log_size: int = 10_000
    defaults: FaultConfig = field(default_factory=FaultConfig)
    limit_hits: RequestStats = field(default_factory=RequestStats)
    request_bytes: RequestStats = field(default_factory=RequestStats)
    response_bytes: RequestStats = field(default_factory=RequestStats)
    handler_us: RequestStats = field(default_factory=RequestStats)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._log: deque[LogEntry] = deque(maxlen=self.log_size)
        _check(self.defaults)
        self._faults = self.defaults
        self._buckets: dict[str, tuple[float, float]] = {}
        self._rng = random.Random(0)
        self._scripted: list[ScriptedFault] = []
        self._latency = 0.0
        self._latency_endpoints: frozenset[str] | None = None
        self._working = 0
        self._busy = 0.0
        self._busy_since = 0.0

    # -- server work -------------------------------------------------------------------------

    def work_started(self) -> None:
        """A route handler starts computing an answer."""
        with self._lock:
            if self._working == 0:
                self._busy_since = time.perf_counter()
            self._working += 1

    def work_done(self) -> None:
        """A route handler has its answer."""
        with self._lock:
            self._working -= 1
            if self._working == 0:
                self._busy += time.perf_counter() - self._busy_since

    @property
    def busy_s(self) -> float:
        """Seconds during which at least one handler was computing (the union over concurrent
        requests: unlike summed handler times, never more than the time that passed)."""
        with self._lock:
            open_s = time.perf_counter() - self._busy_since if self._working else 0.0
            return self._busy + open_s

    # -- log ---------------------------------------------------------------------------------

    def record(self, entry: LogEntry) -> None:
        with self._lock:
            self._log.append(entry)

    def log(self) -> list[LogEntry]:
        with self._lock:
            return list(self._log)

    # -- settings ----------------------------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        with self._lock:
            return self._faults

    def set_faults(self, **changes: Any) -> FaultConfig:
        if "endpoints" in changes and changes["endpoints"] is not None:
            eps = changes["endpoints"]
            changes["endpoints"] = frozenset([eps] if isinstance(eps, str) else eps)
        unknown = set(changes) - set(FaultConfig.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        new = replace(self.faults, **changes)
        _check(new)
        with self._lock:
            self._faults = replace(self._faults, **changes)
            if "seed" in changes:
                self._rng = random.Random(changes["seed"])
            if "rate_limit_per_s" in changes or "rate_limit_burst" in changes:
                self._buckets.clear()
            return self._faults

    def fail_next(
        self,
        endpoint: str | None = None,
        status: int = 503,
        times: int = 1,
        retry_after: float | None = None,
        message: str = "injected fault",
    ) -> None:
        with self._lock:
            self._scripted.append(ScriptedFault(endpoint, int(status), int(times), retry_after, message))

    def cut_next(self, endpoint: str | None = None, times: int = 1) -> None:
        """Cut the next ``times`` answers to ``endpoint`` (any if None) mid-body: the headers
        promise the whole body (``Content-Length``), half of it is sent, the connection closes."""
        with self._lock:
            self._scripted.append(ScriptedFault(endpoint, 200, int(times), cut=True))

    def trickle_next(self, endpoint: str | None = None, times: int = 1,
                     seconds_per_byte: float = 1.0) -> None:
        """Send the bodies of the next ``times`` answers to ``endpoint`` (any if None) a byte
        every ``seconds_per_byte`` (the headers go at once)."""
        if not seconds_per_byte > 0:
            raise ValueError("seconds_per_byte must be > 0")
        with self._lock:
            self._scripted.append(ScriptedFault(endpoint, 200, int(times),
                                                trickle=float(seconds_per_byte)))

    def set_latency(self, seconds: float, endpoints: Iterable[str] | str | None = None) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._latency = float(seconds)
            if endpoints is None:
                self._latency_endpoints = None
            else:
                self._latency_endpoints = frozenset([endpoints] if isinstance(endpoints, str) else endpoints)

    def reset(self) -> None:
        self.stats.reset()
        self.limit_hits.reset()
        self.request_bytes.reset()
        self.response_bytes.reset()
        self.handler_us.reset()
        with self._lock:
            self._log.clear()
            self._faults = self.defaults
            self._buckets.clear()
            self._rng = random.Random(0)
            self._scripted.clear()
            self._latency = 0.0
            self._latency_endpoints = None
            self._busy = 0.0
            self._busy_since = time.perf_counter()

    # -- per request -------------------------------------------------------------------------

    def rate_limit(self, token: str) -> float | None:
        """Take one request from ``token``'s bucket: None if allowed, else seconds to wait."""
        with self._lock:
            rate = self._faults.rate_limit_per_s
            if rate is None:
                return None
            burst = float(self._faults.rate_limit_burst)
            clock = time.monotonic()
            level, last = self._buckets.get(token, (burst, clock))
            level = min(burst, level + (clock - last) * rate)
            if level >= 1.0:
                self._buckets[token] = (level - 1.0, clock)
                return None
            self._buckets[token] = (level, clock)
            return (1.0 - level) / rate

    def decide(self, endpoint: str, kind: str) -> Decision:
        """Faults and latency for one request to ``endpoint`` of route kind ``kind``."""
        d = Decision()
        with self._lock:
            if self._latency and (self._latency_endpoints is None or endpoint in self._latency_endpoints):
                d.latency = self._latency
            for sf in self._scripted:
                if sf.times > 0 and (sf.endpoint is None or sf.endpoint == endpoint):
                    sf.times -= 1
                    if sf.cut or sf.trickle:
                        d.cut, d.trickle = sf.cut, sf.trickle
                    else:
                        d.status, d.retry_after, d.message = sf.status, sf.retry_after, sf.message
                    break
            self._scripted = [sf for sf in self._scripted if sf.times > 0]
            if d.status is not None or d.cut or d.trickle:
                return d
            f = self._faults
            applies = endpoint in f.endpoints if f.endpoints is not None else kind == "service"
            if not applies:
                return d
            if f.stall_rate and self._rng.random() < f.stall_rate:
                d.stall = f.stall_seconds
            if f.rate_limit_rate and self._rng.random() < f.rate_limit_rate:
                d.status, d.retry_after, d.message = 429, f.retry_after, "Too Many Requests (injected)"
            elif f.error_rate and self._rng.random() < f.error_rate:
                d.status, d.message = f.error_status, "Service unavailable (injected)"
        return d


def _check(f: FaultConfig) -> None:
    for key in ("error_rate", "rate_limit_rate", "stall_rate"):
        if not 0.0 <= float(getattr(f, key)) <= 1.0:
            raise ValueError(f"{key} must be within [0, 1]")
    if f.rate_limit_per_s is not None and not f.rate_limit_per_s > 0:
        raise ValueError("rate_limit_per_s must be > 0 (or None for no limit)")
    if int(f.rate_limit_burst) < 1:
        raise ValueError("rate_limit_burst must be >= 1")


def now() -> float:
    return time.time()
