"""The request budget: a token bucket per session, split evenly among worker processes."""

from __future__ import annotations

import threading

import pytest

from tracertools.batch import set_worker_count, worker_count
from tracertools.cave.ratelimit import RATE_ENV, RateLimiter, rate_from_env
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
