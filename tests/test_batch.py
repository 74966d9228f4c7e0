"""The batch runner: ordering, chunking, error policies, concurrency and retries."""

from __future__ import annotations

import threading
import time
import warnings

import pytest

from tracertools.batch import (
    apply_error_policy,
    call_with_retries,
    chunk_by_bytes,
    chunk_by_count,
    progress_enabled,
    run_per_item,
)
from tracertools.errors import (
    BatchError,
    InvalidInputError,
    PartialResultWarning,
    RateLimitedError,
)


class _Response:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}


class _HTTPFailure(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.response = _Response(status, headers)


def _slow_square(x: int) -> int:
    time.sleep(0.001 * ((x * 7) % 5))  # finish out of order
    return x * x


def test_results_come_back_in_input_order_despite_out_of_order_completion():
    items = list(range(50))
    assert run_per_item(_slow_square, items, max_workers=8, progress=False) == [
        x * x for x in items
    ]


def test_duplicates_are_each_answered_in_place():
    assert run_per_item(lambda x: -x, [3, 1, 3], progress=False) == [-3, -1, -3]


def test_concurrency_never_exceeds_max_workers():
    running = 0
    peak = 0
    lock = threading.Lock()

    def work(_: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    run_per_item(work, list(range(40)), max_workers=3, progress=False)
    assert peak == 3


def test_work_runs_concurrently_when_workers_allow():
    start = time.perf_counter()
    run_per_item(lambda _: time.sleep(0.05), list(range(8)), max_workers=8, progress=False)
    assert time.perf_counter() - start < 0.05 * 8 / 2


def _fail_on_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


def test_raise_policy_raises_batch_error_naming_the_failed_item():
    with pytest.raises(BatchError, match="odd 1") as info:
        run_per_item(_fail_on_odd, [0, 1, 2], max_workers=1, progress=False)
    assert set(info.value.failures) == {1}
    assert isinstance(info.value.__cause__, ValueError)


def test_warn_policy_puts_none_in_place_and_names_every_failed_item():
    with pytest.warns(PartialResultWarning) as record:
        out = run_per_item(_fail_on_odd, [0, 1, 2, 3], errors="warn", progress=False)
    assert out == [0, None, 2, None]
    message = str(record[0].message)
    assert "2 item(s) failed" in message and "odd 1" in message and "odd 3" in message


def test_ignore_policy_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = run_per_item(_fail_on_odd, [1, 2], errors="ignore", progress=False)
    assert out == [None, 2]


def test_labels_name_items_in_warnings():
    with pytest.warns(PartialResultWarning, match="seg-b"):
        run_per_item(_fail_on_odd, [0, 1], errors="warn", labels=["seg-a", "seg-b"],
                     progress=False)


def test_unknown_policy_is_rejected_before_any_call():
    calls = []
    with pytest.raises(InvalidInputError, match="errors='skip'"):
        run_per_item(calls.append, [1], errors="skip", progress=False)  # type: ignore[arg-type]
    assert calls == []


def test_apply_error_policy_without_failures_does_nothing():
    apply_error_policy({}, "raise")


def test_chunk_by_count_covers_every_item_once():
    slices = list(chunk_by_count(10, 4))
    assert [(s.start, s.stop) for s in slices] == [(0, 4), (4, 8), (8, 10)]


def test_chunk_by_bytes_keeps_each_chunk_under_the_budget():
    sizes = [3, 3, 3, 5, 1, 9, 2]
    slices = list(chunk_by_bytes(sizes, 6))
    assert [sizes[s] for s in slices] == [[3, 3], [3], [5, 1], [9], [2]]


def test_chunk_by_bytes_with_a_fixed_item_size():
    slices = list(chunk_by_bytes(8, 80, n_items=25))
    assert [(s.start, s.stop) for s in slices] == [(0, 10), (10, 20), (20, 25)]


def test_progress_follows_environment_unless_given(monkeypatch):
    monkeypatch.setenv("TRACERTOOLS_PROGRESS", "0")
    assert progress_enabled(None) is False
    assert progress_enabled(True) is True
    monkeypatch.setenv("TRACERTOOLS_PROGRESS", "1")
    assert progress_enabled(None) is True


def test_retries_503_then_succeeds():
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise _HTTPFailure(503)
        return "ok"

    assert call_with_retries(flaky, sleep=lambda _: None) == "ok"
    assert len(attempts) == 3


def test_429_waits_for_retry_after():
    waits: list[float] = []
    attempts = []

    def limited() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise _HTTPFailure(429, {"Retry-After": "2"})
        return "ok"

    assert call_with_retries(limited, sleep=waits.append) == "ok"
    assert waits == [2.0]


def test_input_errors_are_not_retried():
    attempts = []

    def bad_input() -> None:
        attempts.append(1)
        raise _HTTPFailure(400)

    with pytest.raises(_HTTPFailure):
        call_with_retries(bad_input, sleep=lambda _: None)
    assert len(attempts) == 1


def test_persistent_429_becomes_rate_limited_error():
    def always_limited() -> None:
        raise _HTTPFailure(429, {"Retry-After": "0"})

    with pytest.raises(RateLimitedError):
        call_with_retries(always_limited, attempts=3, sleep=lambda _: None)


def test_progress_is_off_under_continuous_integration_unless_asked(monkeypatch):
    monkeypatch.delenv("TRACERTOOLS_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    assert progress_enabled(None) is False
    monkeypatch.setenv("TRACERTOOLS_PROGRESS", "1")
    assert progress_enabled(None) is True
    monkeypatch.delenv("CI")
    monkeypatch.delenv("TRACERTOOLS_PROGRESS")
    assert progress_enabled(None) is True


def test_a_bar_appears_for_work_that_runs_past_the_delay_whatever_its_item_count(capsys):
    import time

    from tracertools import batch

    run_per_item(lambda x: time.sleep(batch.PROGRESS_DELAY_S / 2 + 0.2) or x, [1, 2, 3],
                 max_workers=1, progress=True, desc="slow items")
    assert "slow items" in capsys.readouterr().err


def test_quick_work_shows_no_bar(capsys):
    run_per_item(lambda x: x, list(range(500)), progress=True, desc="quick items")
    assert "quick items" not in capsys.readouterr().err
