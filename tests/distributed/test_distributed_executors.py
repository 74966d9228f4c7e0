"""executor= takes any concurrent.futures.Executor: thread and process pools, lost tasks, bars."""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor

import pandas as pd
import pytest
from _cluster import stop_resource_tracker

from tracertools import batch
from tracertools.batch import run_per_item
from tracertools.datastack import TOKEN_ENV
from tracertools.errors import InvalidInputError


class LosingExecutor(ThreadPoolExecutor):
    """A thread pool whose first ``lose`` tasks are lost, as when a worker process dies."""

    def __init__(self, lose: int) -> None:
        super().__init__(max_workers=2)
        self.lose = lose
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        self.submitted += 1
        if self.lose > 0:
            self.lose -= 1
            lost: Future = Future()
            lost.set_exception(ConnectionResetError("worker lost"))
            return lost
        return super().submit(fn, *args, **kwargs)


def test_triage_on_a_thread_pool_equals_serial_triage(ds, current):
    serial = ds.segments(current).triage(progress=False)
    with ThreadPoolExecutor(max_workers=3) as pool:
        spread = ds.segments(current).triage(executor=pool, chunk_size=2, progress=False)
    pd.testing.assert_frame_equal(spread, serial)


def test_triage_on_a_process_pool_equals_serial_triage(local_cave, ds, current, monkeypatch):
    serial = ds.segments(current).triage(progress=False)
    monkeypatch.setenv(TOKEN_ENV, local_cave.token)  # the pool's processes inherit it
    try:
        with ProcessPoolExecutor(max_workers=2,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            spread = ds.segments(current).triage(executor=pool, progress=False)
    finally:
        stop_resource_tracker()
    pd.testing.assert_frame_equal(spread, serial)


def test_a_lost_task_is_submitted_again(ds, current, caplog):
    serial = ds.segments(current).cable_lengths(progress=False)
    with caplog.at_level(logging.WARNING, logger="tracertools.batch"), LosingExecutor(2) as pool:
        spread = ds.segments(current).cable_lengths(executor=pool, chunk_size=10, progress=False)
    assert spread.tolist() == serial.tolist()
    assert pool.submitted == 1 + 2  # one chunk, lost twice, then run
    assert "submitting it again (2/2)" in caplog.text


def test_a_task_lost_every_time_fails_its_items(ds, current):
    with LosingExecutor(10) as pool:
        out = run_per_item(abs, [-1, -2, -3], executor=pool, chunk_size=2, errors="ignore",
                           progress=False)
    assert out == [None, None, None]


def test_something_that_is_not_an_executor_is_refused_before_any_request(local_cave, ds, current):
    local_cave.stats.reset()
    with pytest.raises(InvalidInputError, match="Executor"):
        ds.segments(current).triage(executor="dask")
    assert local_cave.stats.total == 0


def test_a_bad_chunk_size_is_refused():
    with ThreadPoolExecutor(1) as pool, pytest.raises(InvalidInputError, match="chunk_size"):
        run_per_item(abs, [1], executor=pool, chunk_size=0)


def test_the_progress_bar_counts_items_as_their_chunks_come_back(capsys):
    with ThreadPoolExecutor(1) as pool:
        run_per_item(lambda x: time.sleep(batch.PROGRESS_DELAY_S / 2 + 0.2) or x, [1, 2, 3],
                     executor=pool, chunk_size=1, progress=True, desc="slow chunks")
    err = capsys.readouterr().err
    assert "slow chunks" in err and "3/3" in err


def test_the_default_chunk_gives_each_worker_thread_a_few_tasks():
    assert batch.default_chunk_size(2000, 2) == 250
    assert batch.default_chunk_size(2000, 2, multiple=10) == 250
    assert batch.default_chunk_size(7, 8) == 1
    assert batch.default_chunk_size(10**7, 2) == batch.MAX_DEFAULT_CHUNK
