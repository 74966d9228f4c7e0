"""The one retry and timeout layer: bounded attempts, honest messages, no global side effects.

Every CAVE request of a session goes through the session's HTTP policy, mounted on the sessions
caveclient opened for it: a request that keeps failing costs ``attempts`` requests (5 by
default), the error says how many, ``Retry-After`` is honoured up to a cap, and nothing of
``requests`` or the root logger is changed. Waits go through the policy's injectable ``sleep``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tracertools.config import HttpPolicy
from tracertools.errors import InvalidInputError, RateLimitedError, ServiceError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def waits() -> list[float]:
    """The waits a session's policy asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def ds(local_cave, waits):
    """A session whose retries record their waits instead of sleeping."""
    session = local_cave.datastack(http=HttpPolicy(sleep=waits.append))
    _ = session.client.chunkedgraph  # handshakes outside the counts
    local_cave.stats.reset()
    return session


@pytest.fixture
def fresh_ids(local_cave) -> list[int]:
    return [int(r) for r in local_cave.world.latest_roots_now()]


def test_a_persistent_5xx_costs_five_requests_and_the_error_says_so(local_cave, ds, fresh_ids):
    local_cave.set_faults(error_rate=1.0, error_status=503, endpoints=["is_latest_roots"])
    with pytest.raises(ServiceError) as info:
        ds.segments(fresh_ids).are_fresh()
    assert local_cave.stats["is_latest_roots"] == 5
    assert "after 5 requests" in str(info.value)
    assert info.value.status == 503


def test_the_attempts_are_the_policys(local_cave, fresh_ids):
    ds = local_cave.datastack(http=HttpPolicy(attempts=2, sleep=lambda s: None))
    _ = ds.client.chunkedgraph
    local_cave.stats.reset()
    local_cave.set_faults(error_rate=1.0, error_status=500, endpoints=["is_latest_roots"])
    with pytest.raises(ServiceError, match="after 2 requests"):
        ds.segments(fresh_ids).are_fresh()
    assert local_cave.stats["is_latest_roots"] == 2


def test_a_persistent_429_raises_rate_limited_after_five_requests(local_cave, ds, fresh_ids):
    local_cave.set_faults(rate_limit_rate=1.0, retry_after=7, endpoints=["is_latest_roots"])
    with pytest.raises(RateLimitedError) as info:
        ds.segments(fresh_ids).are_fresh()
    assert local_cave.stats["is_latest_roots"] == 5
    assert "after 5 requests" in str(info.value)
    assert info.value.status == 429


def test_retry_after_is_waited_out(local_cave, ds, waits, fresh_ids):
    local_cave.fail_next("is_latest_roots", status=429, times=2, retry_after=7)
    assert ds.segments(fresh_ids).are_fresh().all()
    assert local_cave.stats["is_latest_roots"] == 3
    assert waits == [7, 7]


def test_a_long_retry_after_is_cut_to_the_policys_cap(local_cave, fresh_ids):
    waits: list[float] = []
    ds = local_cave.datastack(http=HttpPolicy(retry_after_max_s=3, sleep=waits.append))
    local_cave.fail_next("is_latest_roots", status=429, times=1, retry_after=3600)
    assert ds.segments(fresh_ids).are_fresh().all()
    assert waits == [3]


def test_a_5xx_without_retry_after_backs_off_and_then_succeeds(local_cave, ds, waits, fresh_ids):
    local_cave.fail_next("is_latest_roots", status=500, times=2)
    assert ds.segments(fresh_ids).are_fresh().all()
    assert local_cave.stats["is_latest_roots"] == 3
    # backoff_s 0.2 s doubling, each wait jittered between half and one and a half times
    assert len(waits) == 2
    assert 0.1 <= waits[0] <= 0.3 and 0.2 <= waits[1] <= 0.6


def test_a_4xx_is_sent_once_and_keeps_its_status(local_cave, ds, fresh_ids):
    local_cave.fail_next("is_latest_roots", status=400, times=5)
    with pytest.raises(ServiceError) as info:
        ds.segments(fresh_ids).are_fresh()
    assert local_cave.stats["is_latest_roots"] == 1
    assert info.value.status == 400
    assert isinstance(info.value.__cause__, Exception)


def test_a_call_deadline_stops_the_retries_early(local_cave, fresh_ids):
    ds = local_cave.datastack(http=HttpPolicy(deadline_s=0.3, backoff_s=0.2))
    _ = ds.client.chunkedgraph
    local_cave.stats.reset()
    local_cave.set_faults(error_rate=1.0, error_status=503, endpoints=["is_latest_roots"])
    with pytest.raises(ServiceError):
        ds.segments(fresh_ids).are_fresh()
    assert 1 <= local_cave.stats["is_latest_roots"] < 5


def test_every_call_has_a_finite_deadline_by_default():
    assert HttpPolicy().deadline_s == 600.0
    assert HttpPolicy(deadline_s=None).deadline_s is None  # turned off on purpose


def test_building_the_client_costs_at_most_the_attempts(local_cave):
    ds = local_cave.datastack(http=HttpPolicy(sleep=lambda s: None))
    local_cave.set_faults(error_rate=1.0, error_status=503, endpoints=["datastack_info"])
    with pytest.raises(ServiceError) as info:
        _ = ds.client
    assert local_cave.stats["datastack_info"] == 5
    assert info.value.status == 503
    assert info.value.__cause__ is not None


@pytest.mark.parametrize("bad", [
    {"attempts": 0}, {"attempts": 1.5}, {"timeout": (1, 0)}, {"timeout": 5},
    {"backoff_s": -1}, {"retry_after_max_s": float("nan")}, {"deadline_s": 0},
])
def test_a_bad_policy_is_refused(bad):
    with pytest.raises(InvalidInputError):
        HttpPolicy(**bad)


def _in_a_fresh_process(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, cwd=ROOT, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_using_tracertools_leaves_requests_and_the_root_logger_as_they_were():
    """In a fresh process whose application configured logging: import, connect, read with
    retries, skeletons included; then compare."""
    assert _in_a_fresh_process("""
        import logging
        logging.basicConfig()  # an application's own logging set-up
        root = logging.getLogger()
        before = (list(root.handlers), list(root.filters), root.level)
        import requests
        request = requests.Session.request
        import tracertools as tt
        from tracertools.config import HttpPolicy
        from tracertools.testing import LocalCave

        with LocalCave() as cave:
            ds = cave.datastack(http=HttpPolicy(sleep=lambda s: None))
            ids = [int(r) for r in cave.world.all_roots()][:6]
            cave.fail_next("is_latest_roots", status=503, times=1)
            ds.segments(ids).details(progress=False)
            ds.segments(ids).changelogs()
        after = (list(root.handlers), list(root.filters), root.level)
        assert requests.Session.request is request, "requests.Session.request was replaced"
        assert after == before, (before, after)
        print("unchanged")
    """).endswith("unchanged")


def test_reading_tables_and_lineage_leaves_an_unconfigured_root_logger_alone():
    """Live queries no longer go through caveclient's logging.warning (which would configure
    the root logger of an application that has not); nothing is logged at WARNING either."""
    assert _in_a_fresh_process("""
        import logging
        root = logging.getLogger()
        import tracertools as tt
        from tracertools.testing import LocalCave

        with LocalCave() as cave:
            ds = cave.datastack()
            ids = [int(r) for r in cave.world.all_roots()][:6]
            ds.segments(ids).current_ids()
            ds.segments(ids).synapse_counts()
            ds.segments(ids).proofreading_status()
            ds.table("cell_info")
            ds.segments(ids).changelogs()
        assert root.handlers == [] and root.filters == [], (root.handlers, root.filters)
        print("unconfigured")
    """).endswith("unconfigured")
