"""Ordered, chunked, concurrent execution with one failure policy and optional progress bars.

Every batch method in tracertools goes through this module, so ordering, concurrency limits,
retries and the ``errors=`` policy behave the same everywhere:

* [`run_per_item()`][tracertools.batch.run_per_item] calls a function once per item on a bounded thread pool and returns the
  results in input order.
* [`chunk_by_count()`][tracertools.batch.chunk_by_count] and [`chunk_by_bytes()`][tracertools.batch.chunk_by_bytes] split list payloads for services that accept
  lists but limit request sizes.
* [`apply_error_policy()`][tracertools.batch.apply_error_policy] turns per-item failures into a [`BatchError`][tracertools.errors.BatchError]
  (``errors="raise"``), a [`PartialResultWarning`][tracertools.errors.PartialResultWarning] naming the failed items
  (``errors="warn"``) or nothing (``errors="ignore"``).
* [`call_with_retries()`][tracertools.batch.call_with_retries] retries 429 (honouring ``Retry-After``) and 5xx answers with backoff and
  never retries other 4xx answers, nor a server that cannot be reached at all
  ([`is_unreachable()`][tracertools.batch.is_unreachable]: its name does not resolve, or it refuses the connection).
* [`within()`][tracertools.batch.within] runs one remote call under a total deadline (seconds),
  for libraries that give no per-call deadline of their own (cloud-files).
* [`run_chunks()`][tracertools.batch.run_chunks] (and ``run_per_item(..., executor=)``) sends the work to any
  `concurrent.futures.Executor` (a process pool, or a dask ``distributed.Client`` or its
  ``get_executor()``), one task per chunk of items, with the same ordering, ``errors=`` policy
  and progress bar as the in-process path; a chunk whose task is lost (a worker died, the
  executor broke) is submitted again.

Progress bars use ``tqdm.auto`` and are on by default for long work; pass ``progress=False`` or set
the environment variable ``TRACERTOOLS_PROGRESS=0`` to turn them off.
"""

from __future__ import annotations

import contextvars
import errno
import functools
import logging
import math
import os
import pickle
import random
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from tracertools.errors import (
    BatchError,
    InvalidInputError,
    PartialResultWarning,
    RateLimitedError,
    ServiceError,
    ServiceTimeoutError,
    redact,
)

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "ErrorPolicy",
    "ItemFailure",
    "apply_error_policy",
    "is_timeout",
    "is_unreachable",
    "call_with_retries",
    "check_error_policy",
    "check_executor",
    "chunk_by_bytes",
    "chunk_by_count",
    "default_chunk_size",
    "executor_target",
    "progress_bar",
    "progress_enabled",
    "run_chunks",
    "run_per_item",
    "set_worker_count",
    "within",
    "worker_count",
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

    The bar shows only once the work has taken `PROGRESS_DELAY_S` seconds, so short
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
    hint: bool = True,
) -> None:
    """Act on per-item failures of a batch according to ``errors``.

    Args:
        failures: input position -> the exception that item raised.
        errors: "raise" raises [`BatchError`][tracertools.errors.BatchError] (the first failure as ``__cause__``); "warn"
            emits one [`PartialResultWarning`][tracertools.errors.PartialResultWarning] naming every failed item; "ignore" only logs
            at DEBUG level.
        labels: how to name items in messages (e.g. the segment IDs); positions if omitted.
        what: the noun for an item in messages ("segment", "file", ...).
        hint: whether the `BatchError` suggests ``errors="warn"`` (False where the caller's
            method has no ``errors=`` parameter).

    A failure marked ``whole_call`` (see [`TracertoolsError`][tracertools.errors.TracertoolsError])
    is about the call, not an item: it is raised as it is, whatever ``errors`` says.
    """
    if not failures:
        return
    failures = dict(sorted(failures.items()))
    whole = next((e for e in failures.values() if getattr(e, "whole_call", False)), None)
    if whole is not None:  # about the call, not its items: raised as it is, under any policy
        raise whole
    if errors == "raise":
        first = next(iter(failures.values()))
        raise BatchError(failures, labels, hint=hint) from first
    names = [labels[i] if labels is not None else i for i in failures]
    detail = "; ".join(
        f"{name}: {type(exc).__name__}: {exc}" for name, exc in zip(names, failures.values(), strict=True)
    )
    message = f"{len(failures)} {what}(s) failed and are None/NaN in the result: {detail}"
    if errors == "warn":
        warnings.warn(message, PartialResultWarning, stacklevel=3)
    logger.debug(message)


def within(func: Callable[[], R], seconds: float | None, what: str) -> R:
    """``func()``, given up after ``seconds`` with a [`ServiceTimeoutError`][tracertools.errors.ServiceTimeoutError].

    For remote calls of libraries that offer no per-call deadline (a server that accepts and
    never answers, or trickles an answer a byte at a time, keeps their socket reads alive): the
    call runs on a helper thread, and the caller stops waiting for it at the deadline. Python
    cannot stop a thread, so a helper that outlives its deadline runs on in the background
    (a daemon thread, its result dropped) until the library's own timeouts end it. With
    ``seconds`` None the call runs on this thread, unbounded.

    Args:
        func: the zero-argument call.
        seconds: the total deadline (None: none).
        what: what the call does, for the message (e.g. ``"reading 'a.txt' on s3://b"``).

    Raises:
        ServiceTimeoutError: no result within ``seconds``.
    """
    if seconds is None:
        return func()
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    context = contextvars.copy_context()  # the caller's per-call state goes along
    threading.Thread(target=context.run, args=(run,), name="tracertools-deadline",
                     daemon=True).start()
    if not done.wait(seconds):
        raise ServiceTimeoutError(
            f"{what}: no complete answer within the deadline of {seconds:.3g} s (the server "
            "did not answer, or answered too slowly); the request may still be running in "
            "the background")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def run_per_item(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    max_workers: int = DEFAULT_MAX_WORKERS,
    errors: ErrorPolicy | None = None,
    progress: bool | None = None,
    desc: str = "tracertools",
    labels: Sequence[Any] | None = None,
    what: str = "item",
    executor: Any = None,
    chunk_size: int | None = None,
) -> list[R | None]:
    """Call ``func`` on every item with at most ``max_workers`` running at once.

    Results come back in input order. Under ``errors="warn"``/``"ignore"`` a failed item's
    result is ``None``; under ``errors="raise"`` the first failure stops new submissions and a
    [`BatchError`][tracertools.errors.BatchError] is raised once running calls finish.

    With ``executor=`` the items go to that executor in chunks instead (see
    [`run_chunks()`][tracertools.batch.run_chunks]; ``func`` must then pickle, and ``max_workers`` is unused).

    Args:
        func: called once per item; it should do its own retries (see [`call_with_retries()`][tracertools.batch.call_with_retries]).
        items: the inputs; duplicates are called once each (callers de-duplicate when it pays).
        max_workers: the bound on concurrent calls (>= 1). 1 runs inline on this thread.
        errors: the failure policy; None is "raise" for a caller whose own method has no
            ``errors=`` (its `BatchError` then does not suggest one).
        progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
        desc: progress bar label.
        labels: names for items in error messages (defaults to the items themselves).
        what: the noun for an item in messages.
        executor: run on this executor (a ``concurrent.futures.Executor``, or a dask
            ``distributed.Client``), one task per chunk of items.
        chunk_size: items per task with ``executor=`` (default: see [`default_chunk_size()`][tracertools.batch.default_chunk_size]).
    """
    policy = check_error_policy("raise" if errors is None else errors)
    if executor is not None:
        return run_chunks(_EachItem(func), items, executor=executor, chunk_size=chunk_size,
                          errors=policy, progress=progress, desc=desc, labels=labels, what=what)
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
    apply_error_policy(failures, policy, names, what=what, hint=errors is not None)
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
    and the same way when asked again, so [`call_with_retries()`][tracertools.batch.call_with_retries] does not retry them (a
    caller learns in a second rather than after a minute of retries). Timeouts are not
    counted here (see [`is_timeout()`][tracertools.batch.is_timeout]).
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
    failed name lookup under its connect timeouts; see [`is_unreachable()`][tracertools.batch.is_unreachable]).
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
    return any(isinstance(current, found) for current in _chain(exc))


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

    A request that timed out (see [`is_timeout()`][tracertools.batch.is_timeout]) is retried like a 5xx.
    Other exceptions, including 4xx answers that mean "your input is wrong" and a server that
    cannot be reached at all ([`is_unreachable()`][tracertools.batch.is_unreachable]: no such host, connection refused),
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


# --------------------------------------------------------------------------------------------
# Work on other processes: executor=
# --------------------------------------------------------------------------------------------

_workers_lock = threading.Lock()
_worker_count = 1


def set_worker_count(n: int) -> None:
    """Declare this process one of ``n`` worker processes sharing every session's request
    budget (each then allows ``rate / n``; see [`tracertools.cave.ratelimit`][tracertools.cave.ratelimit]).

    Called on worker processes before each task of [`run_chunks()`][tracertools.batch.run_chunks]; the process that
    submits work stays at 1.
    """
    global _worker_count
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"worker count must be a positive int, got {n!r}")
    with _workers_lock:
        if n != _worker_count:
            logger.debug("this process now spends 1/%d of each session's request budget", n)
        _worker_count = n


def worker_count() -> int:
    """How many worker processes share each session's request budget (1 outside a cluster)."""
    return _worker_count


#: Default chunks per worker thread: enough to balance the load, few enough that the cost of
#: scheduling a task stays small beside its work.
CHUNKS_PER_SLOT = 4
#: The largest default chunk (items per task).
MAX_DEFAULT_CHUNK = 1_000
#: How often a chunk whose task itself failed (a worker lost, a broken pool) is submitted again.
TASK_RETRIES = 2


@dataclass(frozen=True)
class ExecutorTarget:
    """Where chunks go: the executor, how many worker processes share each session's request
    budget, how many tasks can run at once, and what to release afterwards."""

    executor: Executor
    processes: int
    slots: int
    release: Callable[[], None] | None = None


def _is_dask_client(obj: Any) -> bool:
    return callable(getattr(obj, "get_executor", None)) and callable(getattr(obj, "nthreads", None))


def check_executor(executor: Any) -> Any:
    """``executor`` if it is None, a ``concurrent.futures.Executor`` or a dask
    ``distributed.Client`` (no request made).

    Raises:
        InvalidInputError: it is none of those.
    """
    if executor is None or isinstance(executor, Executor) or _is_dask_client(executor):
        return executor
    raise InvalidInputError(
        f"executor must be a concurrent.futures.Executor or a distributed.Client, "
        f"got {type(executor).__name__}"
    )


def executor_target(executor: Any) -> ExecutorTarget:
    """Describe ``executor`` (an Executor, or a dask ``distributed.Client``) for [`run_chunks()`][tracertools.batch.run_chunks].

    Worker processes are counted when the batch starts: the workers of a dask cluster (each
    a process, or a thread of this process for ``processes=False`` clusters, where the
    budget needs no split), ``max_workers`` of a ``ProcessPoolExecutor``; a thread pool runs
    in this process (1). Any other executor counts as 1 process (its tasks share one budget
    only if they run here).

    Raises:
        InvalidInputError: ``executor`` is neither.
    """
    from concurrent.futures import ProcessPoolExecutor

    client = None
    if _is_dask_client(executor):
        client = executor
        chosen: Executor = executor.get_executor()
        release: Callable[[], None] | None = functools.partial(chosen.shutdown, wait=False)
    else:
        chosen, release = check_executor(executor), None
        client = getattr(executor, "_client", None) if _is_dask_client(
            getattr(executor, "_client", None)) else None
    if client is not None:
        threads = dict(client.nthreads())
        processes = max(1, len(threads))
        slots = max(processes, sum(int(t) for t in threads.values()))
    elif isinstance(chosen, ProcessPoolExecutor):
        processes = slots = max(1, int(getattr(chosen, "_max_workers", 1)))
    else:
        processes = 1
        slots = max(1, int(getattr(chosen, "_max_workers", 1) or 1))
    return ExecutorTarget(chosen, processes, slots, release)


@dataclass(frozen=True)
class ItemFailure:
    """What a chunk function returns for an item that failed but still has a partial answer
    (e.g. a details row with one column missing): ``value`` is kept, ``error`` reported."""

    error: BaseException
    value: Any = None


def default_chunk_size(n_items: int, slots: int, *, multiple: int = 1) -> int:
    """Items per task: about `CHUNKS_PER_SLOT` tasks per worker thread, rounded up to a
    multiple of ``multiple`` (e.g. a service's request size), at most `MAX_DEFAULT_CHUNK`."""
    size = max(1, math.ceil(n_items / max(1, slots * CHUNKS_PER_SLOT)))
    size = min(size, MAX_DEFAULT_CHUNK)
    return max(multiple, math.ceil(size / multiple) * multiple)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (to come back from a worker), else a ServiceError
    naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return ServiceError(redact(f"{type(exc).__name__}: {exc}"))


class _EachItem:
    """A chunk function calling ``func`` on each item, keeping each item's failure."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func

    def __call__(self, chunk: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for item in chunk:
            try:
                out.append(self.func(item))
            except Exception as exc:
                out.append(exc)
        return out


class _ChunkTask:
    """What one task runs: the chunk function on one chunk, on whichever process gets it.

    On a process other than the submitting one it first declares this process one of
    ``processes`` sharing each session's request budget ([`set_worker_count()`][tracertools.batch.set_worker_count]), and it
    makes every failure picklable so it can come back.
    """

    def __init__(self, func: Callable[[Sequence[Any]], Sequence[Any]], processes: int,
                 origin_pid: int, name: str = "tracertools") -> None:
        self.func = func
        self.processes = processes
        self.origin_pid = origin_pid
        self.__name__ = name  # how dask names the tasks (dashboards, logs)

    def __repr__(self) -> str:
        return f"<tracertools task {self.__name__!r}>"

    def __call__(self, chunk: Sequence[Any], attempt: int = 0) -> list[Any]:
        remote = os.getpid() != self.origin_pid
        if remote:
            set_worker_count(self.processes)
        try:
            out = list(self.func(chunk))
        except Exception as exc:  # not one item's failure: the whole chunk shares it
            out = [exc] * len(chunk)
        if len(out) != len(chunk):
            raise RuntimeError(f"a chunk function returned {len(out)} results for "
                               f"{len(chunk)} items")
        if remote:
            out = [_portable(x) if isinstance(x, BaseException) else
                   ItemFailure(_portable(x.error), x.value) if isinstance(x, ItemFailure) else x
                   for x in out]
        return out


def run_chunks(
    func: Callable[[Sequence[T]], Sequence[R | BaseException]],
    items: Sequence[T],
    *,
    executor: Any,
    chunk_size: int | None = None,
    errors: ErrorPolicy = "raise",
    progress: bool | None = None,
    desc: str = "tracertools",
    labels: Sequence[Any] | None = None,
    what: str = "item",
    multiple: int = 1,
) -> list[R | None]:
    """Run ``func`` on chunks of ``items`` as tasks of ``executor``; results in input order.

    ``func(chunk)`` gets a list of items and returns one result per item, in order, an
    exception instance (or an [`ItemFailure`][tracertools.batch.ItemFailure] keeping a partial answer) standing for an
    item that failed; an exception raised by ``func`` fails every item of its chunk. It runs wherever the executor puts it, so it and the items must
    pickle (module-level functions, ``functools.partial`` of them, datastack handles).

    A task that fails as a whole (its worker died, the pool broke, the task was cancelled) is
    submitted again up to `TASK_RETRIES` times, then its items fail with that error.
    The progress bar counts items as their chunks come back.

    Args:
        func: the chunk function.
        items: the inputs.
        executor: a ``concurrent.futures.Executor`` or a dask ``distributed.Client``.
        chunk_size: items per task (default [`default_chunk_size()`][tracertools.batch.default_chunk_size]).
        errors: the failure policy, applied to the items (as [`run_per_item()`][tracertools.batch.run_per_item] does).
        progress: show a progress bar (None: follow ``$TRACERTOOLS_PROGRESS``).
        desc: progress bar label.
        labels: names for items in error messages (defaults to the items themselves).
        what: the noun for an item in messages.
        multiple: round the default chunk size up to a multiple of this.

    Raises:
        InvalidInputError: a bad ``executor``, ``chunk_size`` or ``errors`` (before any task).
        BatchError: under ``errors="raise"``, once an item has failed (tasks not yet started
            are cancelled).
    """
    policy = check_error_policy(errors)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise InvalidInputError(f"chunk_size must be a positive int, got {chunk_size!r}")
    if executor is None:
        raise InvalidInputError("run_chunks needs an executor (run_per_item runs in-process)")
    check_executor(executor)
    n = len(items)
    results: list[R | None] = [None] * n
    if n == 0:
        return results
    target = executor_target(executor)
    size = chunk_size or default_chunk_size(n, target.slots, multiple=multiple)
    slices = list(chunk_by_count(n, size))
    task = _ChunkTask(func, target.processes, os.getpid(),
                      "tracertools-" + "-".join(desc.split()[:2]))
    failures: dict[int, BaseException] = {}
    names = list(labels) if labels is not None else list(items)
    pending: dict[Future[Any], tuple[int, int]] = {}
    logger.debug("%s: %d items in %d tasks of up to %d on %d worker process(es)", desc, n,
                 len(slices), size, target.processes)

    def submit(index: int, attempt: int) -> bool:
        try:
            future = target.executor.submit(task, list(items[slices[index]]), attempt)
        except Exception as exc:  # a broken or shut-down executor: the chunk cannot run
            for i in range(slices[index].start, slices[index].stop):
                failures[i] = exc
            return False
        pending[future] = (index, attempt)
        return True

    bar = progress_bar(n, desc, progress)
    try:
        for index in range(len(slices)):
            submit(index, 0)
        while pending and not (failures and policy == "raise"):
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index, attempt = pending.pop(future)
                part = slices[index]
                try:
                    out = future.result()
                except BaseException as exc:
                    if not isinstance(exc, Exception) and not _is_cancelled(exc):
                        raise
                    if attempt < TASK_RETRIES:
                        logger.warning("%s: a task of %d %s(s) failed (%s: %s); submitting it "
                                       "again (%d/%d)", desc, part.stop - part.start, what,
                                       type(exc).__name__, exc, attempt + 1, TASK_RETRIES)
                        submit(index, attempt + 1)
                        continue
                    out = [exc] * (part.stop - part.start)
                for offset, value in enumerate(out):
                    if isinstance(value, BaseException):
                        failures[part.start + offset] = value
                    elif isinstance(value, ItemFailure):
                        failures[part.start + offset] = value.error
                        results[part.start + offset] = value.value
                    else:
                        results[part.start + offset] = value
                bar.update(part.stop - part.start)
    finally:
        bar.close()
        for future in pending:
            future.cancel()
        if target.release is not None:
            target.release()
    apply_error_policy(failures, policy, names, what=what)
    return results


def _is_cancelled(exc: BaseException) -> bool:
    """A cancelled future's error (``CancelledError`` is a BaseException in asyncio)."""
    from concurrent.futures import CancelledError

    return isinstance(exc, CancelledError) or type(exc).__name__ == "CancelledError"
