"""Ordered, chunked, concurrent execution with one failure policy and optional progress bars.

Every batch method in tracertools goes through this module, so ordering, concurrency limits,
retries and the ``errors=`` policy behave the same everywhere:

* :func:`run_per_item` calls a function once per item on a bounded thread pool and returns the
  results in input order.
* :func:`chunk_by_count` and :func:`chunk_by_bytes` split list payloads for services that accept
  lists but limit request sizes.
* :func:`apply_error_policy` turns per-item failures into a :class:`~tracertools.errors.BatchError`
  (``errors="raise"``), a :class:`~tracertools.errors.PartialResultWarning` naming the failed items
  (``errors="warn"``) or nothing (``errors="ignore"``).
* :func:`call_with_retries` retries 429 (honouring ``Retry-After``) and 5xx answers with backoff and
  never retries other 4xx answers, nor a server that cannot be reached at all
  (:func:`is_unreachable`: its name does not resolve, or it refuses the connection).

Progress bars use ``tqdm.auto`` and are on by default for long work; pass ``progress=False`` or set
the environment variable ``TRACERTOOLS_PROGRESS=0`` to turn them off.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import socket
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal, TypeVar

from tracertools.errors import BatchError, InvalidInputError, PartialResultWarning, RateLimitedError

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "ErrorPolicy",
    "apply_error_policy",
    "is_timeout",
    "is_unreachable",
    "call_with_retries",
    "check_error_policy",
    "chunk_by_bytes",
    "chunk_by_count",
    "progress_bar",
    "progress_enabled",
    "run_per_item",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

ErrorPolicy = Literal["raise", "warn", "ignore"]
_POLICIES = ("raise", "warn", "ignore")

#: Concurrent requests per batch against per-item services (skeletons, change logs, ...).
DEFAULT_MAX_WORKERS = 8

#: A progress bar appears once its work has run this long (seconds): quick calls stay quiet,
#: any call that takes longer shows one, whatever its item or request count.
PROGRESS_DELAY_S = 2.0

_FALSE_WORDS = {"0", "false", "no", "off", ""}


def check_error_policy(errors: str) -> ErrorPolicy:
    """Validate an ``errors=`` argument and return it typed.

    Raises:
        InvalidInputError: ``errors`` is not one of "raise", "warn", "ignore".
    """
    if errors not in _POLICIES:
        raise InvalidInputError(
            f"errors={errors!r} is not a failure policy; use one of {', '.join(_POLICIES)}"
        )
    return errors  # type: ignore[return-value]


def progress_enabled(progress: bool | None) -> bool:
    """Whether to show progress bars.

    ``progress`` if given; else ``$TRACERTOOLS_PROGRESS`` (``0``/``false``/``off`` turn bars
    off); else off under continuous integration (``$CI`` set, as CI services do) and on
    everywhere else.
    """
    if progress is not None:
        return bool(progress)
    value = os.environ.get("TRACERTOOLS_PROGRESS")
    if value is None:
        return os.environ.get("CI", "").strip().lower() in _FALSE_WORDS
    return value.strip().lower() not in _FALSE_WORDS


class _NoBar:
    """Stand-in with tqdm's update/close interface that shows nothing."""

    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress_bar(total: int, desc: str, progress: bool | None, *, unit: str = "it") -> Any:
    """A ``tqdm.auto`` bar for ``total`` steps, or a silent stand-in when progress is off.

    The bar shows only once the work has taken :data:`PROGRESS_DELAY_S` seconds, so short
    calls print nothing and every long one gets a bar.
    """
    if not progress_enabled(progress) or total < 1:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, delay=PROGRESS_DELAY_S)


def chunk_by_count(n_items: int, size: int) -> Iterator[slice]:
    """Slices covering ``range(n_items)`` in pieces of at most ``size`` items."""
    if size < 1:
        raise InvalidInputError(f"chunk size must be at least 1, got {size}")
    for start in range(0, n_items, size):
        yield slice(start, min(start + size, n_items))


def chunk_by_bytes(
    sizes: Sequence[int] | int, max_bytes: int, *, n_items: int | None = None
) -> Iterator[slice]:
    """Slices whose summed item sizes stay at or under ``max_bytes``.

    Args:
        sizes: the encoded size of each item in bytes, or one size shared by every item
            (then ``n_items`` is required), e.g. 8 for raw uint64 IDs or ~20 for JSON integers.
        max_bytes: the request body budget in bytes (keep a margin under the server's limit).
        n_items: number of items when ``sizes`` is a single int.

    An item larger than ``max_bytes`` gets a slice of its own.
    """
    if max_bytes < 1:
        raise InvalidInputError(f"max_bytes must be positive, got {max_bytes}")
    if isinstance(sizes, int):
        if n_items is None:
            raise InvalidInputError("n_items is required when sizes is a single int")
        yield from chunk_by_count(n_items, max(1, max_bytes // max(1, sizes)))
        return
    start, used = 0, 0
    for i, size in enumerate(sizes):
        if i > start and used + size > max_bytes:
            yield slice(start, i)
            start, used = i, 0
        used += size
    if start < len(sizes):
        yield slice(start, len(sizes))


def apply_error_policy(
    failures: dict[int, BaseException],
    errors: ErrorPolicy,
    labels: Sequence[Any] | None = None,
    *,
    what: str = "item",
) -> None:
    """Act on per-item failures of a batch according to ``errors``.

    Args:
        failures: input position -> the exception that item raised.
        errors: "raise" raises :class:`BatchError` (the first failure as ``__cause__``); "warn"
            emits one :class:`PartialResultWarning` naming every failed item; "ignore" only logs
            at DEBUG level.
        labels: how to name items in messages (e.g. the segment IDs); positions if omitted.
        what: the noun for an item in messages ("segment", "file", ...).
    """
    if not failures:
        return
    failures = dict(sorted(failures.items()))
    if errors == "raise":
        first = next(iter(failures.values()))
        raise BatchError(failures, labels) from first
    names = [labels[i] if labels is not None else i for i in failures]
    detail = "; ".join(
        f"{name}: {type(exc).__name__}: {exc}" for name, exc in zip(names, failures.values(), strict=True)
    )
    message = f"{len(failures)} {what}(s) failed and are None/NaN in the result: {detail}"
    if errors == "warn":
        warnings.warn(message, PartialResultWarning, stacklevel=3)
    logger.debug(message)


def run_per_item(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    max_workers: int = DEFAULT_MAX_WORKERS,
    errors: ErrorPolicy = "raise",
    progress: bool | None = None,
    desc: str = "tracertools",
    labels: Sequence[Any] | None = None,
    what: str = "item",
) -> list[R | None]:
    """Call ``func`` on every item with at most ``max_workers`` running at once.

    Results come back in input order. Under ``errors="warn"``/``"ignore"`` a failed item's
    result is ``None``; under ``errors="raise"`` the first failure stops new submissions and a
    :class:`BatchError` is raised once running calls finish.

    Args:
        func: called once per item; it should do its own retries (see :func:`call_with_retries`).
        items: the inputs; duplicates are called once each (callers de-duplicate when it pays).
        max_workers: the bound on concurrent calls (>= 1). 1 runs inline on this thread.
        errors: the failure policy.
        progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
        desc: progress bar label.
        labels: names for items in error messages (defaults to the items themselves).
        what: the noun for an item in messages.
    """
    policy = check_error_policy(errors)
    if max_workers < 1:
        raise InvalidInputError(f"max_workers must be at least 1, got {max_workers}")
    n = len(items)
    results: list[R | None] = [None] * n
    failures: dict[int, BaseException] = {}
    names = list(labels) if labels is not None else list(items)
    bar = progress_bar(n, desc, progress)
    try:
        if max_workers == 1 or n <= 1:
            for i, item in enumerate(items):
                try:
                    results[i] = func(item)
                except Exception as exc:
                    failures[i] = exc
                    if policy == "raise":
                        break
                finally:
                    bar.update(1)
        else:
            _run_pool(func, items, results, failures, max_workers, policy, bar)
    finally:
        bar.close()
    apply_error_policy(failures, policy, names, what=what)
    return results


def _run_pool(
    func: Callable[[T], R],
    items: Sequence[T],
    results: list[R | None],
    failures: dict[int, BaseException],
    max_workers: int,
    policy: ErrorPolicy,
    bar: Any,
) -> None:
    """Feed items to a thread pool keeping at most ``max_workers`` in flight."""
    pending: dict[Future[R], int] = {}
    next_index = 0
    stop = False
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="tracertools") as pool:
        while pending or (next_index < len(items) and not stop):
            while not stop and next_index < len(items) and len(pending) < max_workers:
                pending[pool.submit(func, items[next_index])] = next_index
                next_index += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                exc = future.exception()
                if exc is None:
                    results[i] = future.result()
                else:
                    failures[i] = exc
                    stop = stop or policy == "raise"
                bar.update(1)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (causes, contexts, ``reason``, exception args)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))


#: OS error numbers that mean the server cannot be reached at all (retrying will not help).
_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH}


def is_unreachable(exc: BaseException) -> str | None:
    """Why the server of a failed request cannot be reached at all, or None if it could be.

    ``"name"``: its host name did not resolve (no network, a typo, an unknown host);
    ``"refused"``: the connection was refused or the network or host is unreachable (nothing
    listens at that address, or there is no route to it). Such failures come back at once
    and the same way when asked again, so :func:`call_with_retries` does not retry them (a
    caller learns in a second rather than after a minute of retries). Timeouts are not
    counted here (see :func:`is_timeout`).
    """
    urllib3_exceptions = sys.modules.get("urllib3.exceptions")
    name_error = getattr(urllib3_exceptions, "NameResolutionError", None)
    for current in _chain(exc):
        if isinstance(current, socket.gaierror) or (
                name_error is not None and isinstance(current, name_error)):
            return "name"
        if isinstance(current, ConnectionRefusedError) or (
                isinstance(current, OSError) and current.errno in _UNREACHABLE_ERRNOS):
            return "refused"
    return None


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is (or wraps) a connect or read timeout of an HTTP request.

    Recognises ``requests``' ``Timeout`` (``ReadTimeout``, ``ConnectTimeout``), urllib3's
    timeout errors (also inside a ``MaxRetryError`` after urllib3's own retries, which
    ``requests`` reports as a ``ConnectionError``) and the builtin ``TimeoutError``. A server
    that cannot be reached at all is not a timeout (urllib3 files a refused connection and a
    failed name lookup under its connect timeouts; see :func:`is_unreachable`).
    """
    if is_unreachable(exc):
        return False
    kinds: list[type[BaseException]] = [TimeoutError]
    requests_exceptions = sys.modules.get("requests.exceptions")
    if requests_exceptions is not None:
        kinds.append(requests_exceptions.Timeout)
    urllib3_exceptions = sys.modules.get("urllib3.exceptions")
    if urllib3_exceptions is not None:
        kinds.append(urllib3_exceptions.TimeoutError)
    found = tuple(kinds)
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, found):
            return True
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return False


def _status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return int(status) if isinstance(status, int) else None


def _retry_after_seconds(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def call_with_retries(
    func: Callable[[], R],
    *,
    attempts: int = 5,
    base_delay: float = 0.2,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """Call ``func()``, retrying HTTP 429 (after ``Retry-After``), 5xx and timeouts with backoff.

    A request that timed out (see :func:`is_timeout`) is retried like a 5xx.
    Other exceptions, including 4xx answers that mean "your input is wrong" and a server that
    cannot be reached at all (:func:`is_unreachable`: no such host, connection refused),
    propagate at once.

    Args:
        func: a zero-argument call that raises an exception with ``.response.status_code``
            (as ``requests.HTTPError`` does) on HTTP failures.
        attempts: total tries (>= 1).
        base_delay: first backoff in seconds; doubles per retry, with jitter.
        max_delay: cap on any single wait in seconds (also caps ``Retry-After``).
        sleep: the sleeping function (tests and benchmarks may inject their own).

    Raises:
        RateLimitedError: the service still answered 429 after the last attempt.
    """
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except Exception as exc:
            status = _status_of(exc)
            timed_out = status is None and is_timeout(exc)  # a stalled answer, like a 5xx
            retryable = timed_out or status == 429 or (status is not None and 500 <= status < 600)
            if not retryable or attempt == attempts:
                if status == 429:
                    raise RateLimitedError(
                        f"the service kept answering 429 Too Many Requests after {attempts} "
                        f"attempts; slow down or retry later"
                    ) from exc
                raise
            wait_s = _retry_after_seconds(exc) if status == 429 else None
            if wait_s is None:
                wait_s = base_delay * (2 ** (attempt - 1)) * (0.5 + random.random())
            wait_s = min(wait_s, max_delay)
            logger.debug("%s; retry %d/%d in %.2f s", "timed out" if timed_out else f"HTTP {status}",
                         attempt, attempts - 1, wait_s)
            sleep(wait_s)
    raise AssertionError("unreachable")  # pragma: no cover
