"""The request budget: a token bucket per session, split evenly among worker processes, that
pauses the whole session on a ``Retry-After`` and lowers its rate on 429s (issue #14)."""

from __future__ import annotations

import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from tracertools.batch import set_worker_count, worker_count
from tracertools.cave.ratelimit import RATE_ENV, RateLimiter, rate_from_env
from tracertools.config import HttpPolicy
from tracertools.errors import ConfigError, InvalidInputError


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def limiter(rate, clock):
    return RateLimiter(rate, clock=clock, sleep=clock.sleep)


@pytest.fixture
def two_workers():
    set_worker_count(2)
    try:
        yield
    finally:
        set_worker_count(1)


def test_an_unlimited_budget_never_waits():
    clock = FakeClock()
    budget = limiter(None, clock)
    assert sum(budget.acquire() for _ in range(1000)) == 0 and clock.now == 0
    assert budget.acquired == 1000


def test_a_budget_lets_one_seconds_worth_through_then_paces_the_rest():
    clock = FakeClock()
    budget = limiter(10, clock)
    for _ in range(30):
        budget.acquire()
    assert clock.now == pytest.approx(2.0)  # 10 at once, then 20 at 10 per second
    assert budget.acquired == 30 and budget.waited_s == pytest.approx(2.0)


def test_a_quiet_spell_refills_at_most_one_seconds_worth():
    clock = FakeClock()
    budget = limiter(5, clock)
    for _ in range(5):
        budget.acquire()
    clock.now += 100.0
    for _ in range(10):
        budget.acquire()
    assert clock.now == pytest.approx(101.0)


def test_each_of_n_worker_processes_spends_a_nth_of_the_budget(two_workers):
    clock = FakeClock()
    budget = limiter(10, clock)
    assert budget.share == 5.0 and budget.rate == 10.0
    for _ in range(25):
        budget.acquire()
    assert clock.now == pytest.approx(4.0)  # 5 at once, then 20 at 5 per second


def test_the_worker_count_must_be_a_positive_int():
    with pytest.raises(InvalidInputError):
        set_worker_count(0)
    assert worker_count() == 1


def test_the_budget_can_change_while_in_use():
    clock = FakeClock()
    budget = limiter(None, clock)
    budget.acquire()
    budget.rate = 2
    for _ in range(4):
        budget.acquire()
    assert clock.now == pytest.approx(1.0)


@pytest.mark.parametrize("text, expected", [("12.5", 12.5), ("0", None), ("", None), (" ", None)])
def test_the_environment_sets_the_default_budget(monkeypatch, text, expected):
    monkeypatch.setenv(RATE_ENV, text)
    assert rate_from_env() == expected


@pytest.mark.parametrize("text", ["fast", "-1", "inf", "nan"])
def test_a_bad_environment_budget_is_a_config_error(monkeypatch, text):
    monkeypatch.setenv(RATE_ENV, text)
    with pytest.raises(ConfigError, match=RATE_ENV):
        rate_from_env()


@pytest.mark.parametrize("bad", [-1, float("inf"), "10", True])
def test_a_bad_budget_is_refused(bad):
    with pytest.raises(InvalidInputError):
        RateLimiter(bad)


def test_every_request_of_a_sessions_client_draws_on_its_budget(local_cave):
    ds = local_cave.datastack()
    ds.rate_limit = 10_000  # a budget that does not slow the test, but counts
    # the handshakes caveclient makes on sessions of its own while it builds a client and its
    # sub-clients come before our HTTP layer is mounted on them (nothing patches requests), so
    # they are not counted; every request after that is
    _ = ds.cave.chunkedgraph, ds.cave.l2cache
    before = ds.rate_limiter.acquired
    local_cave.stats.reset()
    roots = local_cave.world.latest_roots_now()
    ds.segments(roots).are_fresh()
    ds.segments(roots).volumes_um3()
    assert local_cave.stats.total > 3
    assert ds.rate_limiter.acquired - before == local_cave.stats.total


def test_a_session_takes_its_budget_from_the_environment(local_cave, monkeypatch):
    monkeypatch.setenv(RATE_ENV, "7")
    assert local_cave.datastack().rate_limit == 7.0


# ---------------------------------------------------------------------------------------------
# Listening to the service: pauses and learned rates (fake clock)


def in_another_thread(func):
    """Run ``func()`` on a thread of its own (its own requests) and wait for it."""
    worker = threading.Thread(target=func)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()


def test_a_retry_after_seen_by_one_thread_pauses_the_others():
    clock = FakeClock()
    budget = limiter(None, clock)
    in_another_thread(lambda: (budget.acquire(), budget.throttled(503, 2.0)))
    assert budget.paused_s() == pytest.approx(2.0)
    assert budget.acquire() == pytest.approx(2.0)  # this thread waits the other one's pause
    assert clock.now == pytest.approx(2.0) and budget.paused_s() == 0


def test_a_thread_that_waited_its_own_retry_after_is_not_paused_again():
    clock = FakeClock()
    budget = limiter(None, clock)
    budget.acquire()
    budget.throttled(503, 2.0)
    clock.sleep(2.0)  # the retry layer waits it out (with its policy's sleep)
    assert budget.acquire(pause=False) == 0


def test_a_pause_is_waited_with_the_given_sleep_once():
    clock = FakeClock()
    budget = limiter(None, clock)
    budget.throttled(503, 5.0)
    waits: list[float] = []
    budget.acquire(sleep=waits.append)  # a sleep that does not move the clock
    assert waits == [pytest.approx(5.0)]


def test_a_pause_longer_than_the_calls_deadline_is_cut_to_it():
    clock = FakeClock()
    budget = limiter(None, clock)
    budget.throttled(429, 30.0)
    assert budget.acquire(max_pause_s=2.0) == pytest.approx(2.0)


def test_a_first_429_with_no_configured_rate_sets_half_of_what_passed_in_the_last_second():
    clock = FakeClock()
    budget = limiter(None, clock)
    for _ in range(11):
        budget.acquire()
        clock.now += 0.05
    budget.throttled(429)
    assert budget.rate is None
    assert budget.current_rate == pytest.approx(5.0)  # 11 sent, this one refused: 10 passed


def test_429s_of_several_threads_at_once_cut_the_rate_once():
    clock = FakeClock()
    budget = limiter(10, clock)
    all_sent = threading.Barrier(4)

    def refused() -> None:  # four requests on their way together, all refused
        budget.acquire()
        all_sent.wait(10)
        budget.throttled(429, 1.0)

    threads = [threading.Thread(target=refused) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert budget.current_rate == pytest.approx(5.0)
    assert budget.throttled_count == 4


def test_a_429_after_the_cut_settled_cuts_again():
    clock = FakeClock()
    budget = limiter(10, clock)
    budget.acquire()
    budget.throttled(429)
    clock.now += 2.0
    budget.acquire()
    budget.throttled(429)
    assert budget.current_rate < 5.0


def test_a_refused_requests_token_is_given_back_for_its_retry():
    clock = FakeClock()
    budget = limiter(2, clock)
    budget.acquire()
    budget.acquire()  # the bucket is empty
    budget.throttled(503)  # refused, no Retry-After: the rate stays
    assert budget.acquire(pause=False) == 0 and budget.current_rate == 2.0


def test_a_cut_rate_creeps_back_up_but_never_past_the_configured_rate():
    clock = FakeClock()
    budget = limiter(10, clock)
    budget.acquire()
    budget.throttled(429)
    assert budget.current_rate == pytest.approx(5.0)
    rates = []
    for _ in range(100):
        budget.acquire()
        rates.append(budget.current_rate)
    assert rates[-1] == 10.0 and max(rates) <= 10.0
    # about one request per second more every second: 5 -> 10 in about 5 s
    assert 4.0 <= clock.now <= 12.0


def test_the_learned_rate_paces_requests_after_the_pause():
    clock = FakeClock()
    budget = limiter(None, clock)
    for _ in range(9):
        budget.acquire()
    budget.throttled(429, 1.0)  # 8 passed: 4 per second, no burst after the pause
    for _ in range(5):
        budget.acquire()
    assert clock.now == pytest.approx(2.0, abs=0.1)  # 1 s of pause, 4 more at about 4/s


# ---------------------------------------------------------------------------------------------
# Against LocalCave's per-token rate limit


def test_a_retry_after_seen_by_one_thread_holds_the_others_requests_back(local_cave):
    pause_s = 0.5  # the server says 1 s; the policy's cap cuts it
    ds = local_cave.datastack(http=HttpPolicy(retry_after_max_s=pause_s))
    fresh = int(local_cave.world.latest_roots_now()[0])
    root = int(local_cave.world.all_roots()[0])
    ds.segments([fresh]).are_fresh()  # client and handshakes first
    local_cave.reset()
    local_cave.fail_next("tabular_change_log", status=429, times=1, retry_after=1)
    stop = threading.Event()

    def ask_again_and_again() -> None:
        while not stop.is_set():
            ds.segments([fresh]).are_fresh()

    def wait_for_requests(n: int) -> None:
        give_up = time.monotonic() + 30
        while local_cave.stats["is_latest_roots"] < n and time.monotonic() < give_up:
            time.sleep(0.01)

    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(ask_again_and_again)
        try:
            wait_for_requests(3)  # the other thread is busy before the 429
            ds.segments([root]).changelogs()  # this thread: 429, waits, asks again
            wait_for_requests(local_cave.stats["is_latest_roots"] + 1)  # and after it
        finally:
            stop.set()
            other.result(timeout=30)
    log = local_cave.request_log
    (refused,) = [e for e in log if e.status == 429]
    others = [e.time for e in log if e.endpoint == "is_latest_roots"]
    during = [t for t in others if refused.time < t < refused.time + pause_s]
    assert len([t for t in others if t < refused.time]) >= 3
    assert len(during) <= 1  # at most the request that was already on its way


def test_a_batch_under_a_rate_limit_with_errors_warn_loses_no_item(local_cave):
    roots = [int(r) for r in local_cave.world.all_roots()]
    expected = local_cave.datastack().segments(roots).synapse_counts()
    ds = local_cave.datastack()  # no configured rate: it learns one from the 429s
    ds.segments(roots[:1]).are_fresh()
    local_cave.reset()
    local_cave.set_faults(rate_limit_per_s=10, rate_limit_burst=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a partial answer would warn
        got = ds.segments(roots).synapse_counts(errors="warn")
    assert got.equals(expected)
    assert local_cave.limit_hits["rate_limited"] >= 1  # the limit was met
    assert ds.rate_limiter.current_rate is not None
