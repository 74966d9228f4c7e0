"""Answers cut mid-body (issue #23, item 7): asked again by the one retry layer, typed at the end.

LocalCave's ``cut_next`` fault sends the headers of a normal answer (``Content-Length``
promising the whole body), half of the body, and closes the connection: what a proxy or a
server dying mid-answer does. ``requests`` notices only while reading the body, so the HTTP
layer reads it inside the retry loop.
"""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.config import HttpPolicy
from tracertools.errors import BatchError, ServiceError


@pytest.fixture
def ds(local_cave):
    """A session whose retries do not wait."""
    session = local_cave.datastack(http=HttpPolicy(sleep=lambda s: None))
    _ = session.client.chunkedgraph, session.client.materialize  # handshakes outside the counts
    local_cave.stats.reset()
    return session


@pytest.fixture
def roots(local_cave) -> list[int]:
    return [int(r) for r in local_cave.world.all_roots()]


def test_an_answer_cut_once_is_asked_again_and_the_answer_is_right(local_cave, ds, roots):
    latest = {int(r) for r in local_cave.world.latest_roots_now()}
    local_cave.cut_next("is_latest_roots", times=1)
    fresh = ds.segments(roots).are_fresh()
    assert fresh.tolist() == [r in latest for r in roots]
    assert local_cave.stats["is_latest_roots"] == 2


def test_answers_cut_every_time_fail_typed_after_the_policys_attempts(local_cave, ds, roots):
    local_cave.cut_next("is_latest_roots", times=100)
    with pytest.raises(ServiceError) as info:
        ds.segments(roots).are_fresh()
    assert local_cave.stats["is_latest_roots"] == 5
    assert "after 5 requests" in str(info.value)
    assert "errors=" not in str(info.value)


def test_a_cut_table_query_is_asked_again(local_cave, ds):
    full = ds.table("synapses")
    local_cave.stats.reset()
    local_cave.cut_next("live_live_query", times=1)
    again = local_cave.datastack(http=HttpPolicy(sleep=lambda s: None)).table("synapses")
    assert again.shape == full.shape
    assert np.array_equal(np.sort(again["id"].to_numpy()), np.sort(full["id"].to_numpy()))
    assert local_cave.stats["live_live_query"] == 2


def test_a_table_query_cut_every_time_is_typed_and_suggests_no_errors_argument(local_cave, ds):
    segment = int(local_cave.world.latest_roots_now()[0])
    local_cave.cut_next("live_live_query", times=100)
    with pytest.raises(ServiceError) as info:
        ds.table("synapses", filter_in={"post_pt_root_id": [segment]})
    assert not isinstance(info.value, BatchError)
    assert 'errors="warn"' not in str(info.value)
    assert local_cave.stats["live_live_query"] == 5


def test_a_batch_error_of_a_method_without_errors_does_not_suggest_one():
    from tracertools.batch import run_per_item

    def fail(item: int) -> int:
        raise ValueError(f"bad {item}")

    with pytest.raises(BatchError) as quiet:
        run_per_item(fail, [1, 2])
    with pytest.raises(BatchError) as told:
        run_per_item(fail, [1, 2], errors="raise")
    assert "errors=" not in str(quiet.value)
    assert 'errors="warn"' in str(told.value)
