"""Helpers of the executor tests: a LocalCluster whose worker processes have the CAVE token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tracertools.datastack import TOKEN_ENV


def stop_resource_tracker() -> None:
    """Stop multiprocessing's resource tracker, a helper process that spawned worker processes
    start and that otherwise lives as long as the test process (it starts again if needed)."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        stop()


@contextmanager
def local_cluster(token: str, n_workers: int = 2) -> Iterator[Any]:
    """A LocalCluster of ``n_workers`` single-threaded worker processes with the CAVE token in
    their environment; closed, with every process it started, on leaving."""
    from distributed import LocalCluster

    try:
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, env={TOKEN_ENV: token},
                          silence_logs=logging.ERROR) as cluster:
            yield cluster
    finally:
        stop_resource_tracker()
