"""Batch methods under injected faults return exactly what they return without faults.

LocalCave answers 10% of service requests with HTTP 500, 5% with 429 and ``Retry-After: 1``,
and stalls 1% past the client's timeout. Every batch method runs over 500 IDs (or 500 points)
on a fresh session; its result must equal the fault-free answer computed first. A method is
re-run (new session, next seed) until at least one 500 and one 429 hit its requests, so each
test proves the retries were needed. Sessions use the default retry policy with short waits
(``FAST``: ``Retry-After`` honoured but capped at 20 ms), so retries cost requests, not seconds.

Permanent failures under ``errors="warn"`` must name exactly the failed items and get the rest
right; writes to sheets and buckets that fail part-way must not be reported as success.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _reliability import FAST, STALL_S

from tracertools.batch import is_timeout
from tracertools.config.http import DEFAULT_TIMEOUT, request_timeout
from tracertools.errors import (
    BatchError,
    PartialResultWarning,
    ServiceError,
    TracertoolsError,
)
from tracertools.storage.bucket import Bucket
from tracertools.storage.sheet import Sheet
from tracertools.testing import LocalCave
from tracertools.testing.sheets import LocalSheets

pytestmark = pytest.mark.usefixtures("short_timeouts")

#: The fault mix of the issue: 10% 5xx, 5% 429 (Retry-After 1 s), 1% stalls past the timeout.
FAULTS: dict[str, Any] = {
    "error_rate": 0.10,
    "error_status": 500,
    "rate_limit_rate": 0.05,
    "retry_after": 1,
    "stall_rate": 0.01,
    "stall_seconds": STALL_S,
}
SEED = 20_240_601
#: Fresh sessions tried per method until both a 500 and a 429 have hit its requests.
MAX_ROUNDS = 60

Run = Callable[[Any, list[int], np.ndarray], Any]

BATCH_METHODS: dict[str, Run] = {
    "are_fresh": lambda ds, ids, pts: ds.segments(ids).are_fresh(),
    "current_ids": lambda ds, ids, pts: ds.segments(ids).current_ids(),
    "supervoxels": lambda ds, ids, pts: ds.segments(ids).supervoxels(),
    "volumes_um3": lambda ds, ids, pts: ds.segments(ids).volumes_um3(),
    "synapse_counts": lambda ds, ids, pts: ds.segments(ids).synapse_counts(),
    "proofreading_status": lambda ds, ids, pts: ds.segments(ids).proofreading_status(),
    "changelogs": lambda ds, ids, pts: ds.segments(ids).changelogs(),
    "skeletons": lambda ds, ids, pts: ds.segments(ids).skeletons(),
    "cable_lengths": lambda ds, ids, pts: ds.segments(ids).cable_lengths(),
    "details": lambda ds, ids, pts: ds.segments(ids).details(),
    "segments_at": lambda ds, ids, pts: ds.segments_at(pts),
}


def assert_same(got: Any, want: Any) -> None:
    """Exact equality for the result shapes of the batch methods."""
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    elif isinstance(want, list):
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            if isinstance(b, np.ndarray):
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b
    else:
        assert got == want


@pytest.fixture(scope="module")
def fault_free(
    cave_m: LocalCave, ids500: list[int], points500: np.ndarray, short_timeouts: float
) -> dict[str, Any]:
    """Every batch method's answer with no faults, each on a fresh session."""
    cave_m.reset()
    answers = {name: run(cave_m.datastack(http=FAST), ids500, points500)
               for name, run in BATCH_METHODS.items()}
    assert not _injected(cave_m)  # (404s are expected: cloud-volume probes for provenance)
    return answers


def _injected(cave: LocalCave) -> Counter[int]:
    return Counter(e.status for e in cave.request_log if e.status in (429, 500))


# ---------------------------------------------------------------------------------------------
# The fault-free answers are the world's
# ---------------------------------------------------------------------------------------------


def test_the_fault_free_answers_are_the_ground_truth(cave_m, fault_free, ids500, points500):
    world = cave_m.world
    assert fault_free["are_fresh"].tolist() == [world.is_latest(r) for r in ids500]
    assert fault_free["current_ids"].tolist() == [world.successor(r) for r in ids500]
    assert fault_free["volumes_um3"] == pytest.approx([world.volume_nm3(r) / 1e9 for r in ids500])
    assert fault_free["cable_lengths"] == pytest.approx([world.cable_length(r) for r in ids500])
    counts = fault_free["synapse_counts"]
    # a stale ID is counted as it was just before the edit that retired it
    assert [tuple(row) for row in counts[["in_syn", "out_syn"]].to_numpy()] == [
        world.synapse_counts(r, t=None if world.is_latest(r) else
                             world.graph.roots[r].superseded - 0.01)
        for r in ids500
    ]
    assert fault_free["segments_at"].tolist() == [world.root_at_point(p) for p in points500]


# ---------------------------------------------------------------------------------------------
# Random faults: 500s, 429s and stalls
# ---------------------------------------------------------------------------------------------


#: Endpoints with faults for ``segments_at``: its service requests and the segmentation chunks
#: cloud-volume reads (static files, which take no faults unless named).
POINT_ENDPOINTS = ["datastack_info", "cg_info", "roots_binary", "ws_chunk"]


@pytest.mark.parametrize("method", list(BATCH_METHODS))
def test_a_batch_under_random_faults_equals_the_fault_free_answer(
    method, cave_m, fault_free, ids500, points500
):
    run = BATCH_METHODS[method]
    endpoints = POINT_ENDPOINTS if method == "segments_at" else None
    injected: Counter[int] = Counter()
    for round_ in range(MAX_ROUNDS):
        cave_m.reset()
        cave_m.set_faults(**FAULTS, endpoints=endpoints, seed=SEED + round_)
        got = run(cave_m.datastack(http=FAST), ids500, points500)
        assert_same(got, fault_free[method])
        injected += _injected(cave_m)
        if injected[500] and injected[429]:
            break
    cave_m.reset()
    assert injected[500] and injected[429], f"faults never hit {method}: {dict(injected)}"


def test_stalled_answers_time_out_and_are_retried(cave_m, fault_free, ids500, points500):
    cave_m.reset()
    cave_m.set_faults(stall_rate=0.3, stall_seconds=STALL_S, seed=SEED)
    start = time.monotonic()
    got = BATCH_METHODS["current_ids"](cave_m.datastack(http=FAST), ids500, points500)
    elapsed = time.monotonic() - start
    time.sleep(STALL_S)  # a stalled request is logged when the server finally answers
    stalled = [e for e in cave_m.request_log if e.duration_s >= STALL_S]
    cave_m.reset()
    assert_same(got, fault_free["current_ids"])
    assert stalled, "no request stalled"
    assert elapsed < len(stalled) * STALL_S  # the client gave up on them before they answered


def test_an_endpoint_that_always_stalls_fails_with_a_timeout_instead_of_hanging(
    cave_m, ids500, monkeypatch
):
    monkeypatch.setenv("TRACERTOOLS_HTTP_TIMEOUT", "0.2")
    cave_m.reset()
    cave_m.set_faults(stall_rate=1.0, stall_seconds=STALL_S, endpoints=["is_latest_roots"])
    ds = cave_m.datastack(http=FAST)
    start = time.monotonic()
    with pytest.raises(TracertoolsError) as info:
        ds.segments(ids500).are_fresh()
    elapsed = time.monotonic() - start
    cave_m.reset()
    assert is_timeout(info.value)
    assert "timed out" in str(info.value).lower()
    attempts = sum(1 for e in cave_m.request_log if e.endpoint == "is_latest_roots")
    assert elapsed < 30, f"took {elapsed:.1f} s over {attempts} attempts"


@pytest.mark.parametrize(("setting", "timeout"), [
    ("2", (2.0, 2.0)),
    ("30", (10.0, 30.0)),
    ("1.5,60", (1.5, 60.0)),
    ("", DEFAULT_TIMEOUT),
])
def test_the_timeout_setting_gives_connect_and_read_seconds(setting, timeout):
    assert request_timeout(setting) == timeout


def test_the_timeout_applies_to_the_clients_sessions_only(cave_m, monkeypatch):
    import requests

    monkeypatch.setenv("TRACERTOOLS_HTTP_TIMEOUT", "0.2")
    cave_m.reset()
    ds = cave_m.datastack(http=FAST)
    _ = ds.client.chunkedgraph  # the SDK's client exists, so the timeout hook is in place
    cave_m.set_faults(stall_rate=1.0, stall_seconds=1.0, endpoints=["datastacks"])
    own = requests.Session()
    own.headers["Authorization"] = f"Bearer {cave_m.token}"
    answer = own.get(f"{cave_m.url}/info/api/v2/datastacks")  # stalls 1 s; no timeout here
    cave_m.reset()
    assert answer.status_code == 200


def test_a_failure_while_building_the_client_is_retried(cave_m, ids500, fault_free):
    cave_m.reset()
    cave_m.fail_next("datastack_info", status=500)
    got = cave_m.datastack(http=FAST).segments(ids500).are_fresh()
    statuses = [e.status for e in cave_m.request_log if e.endpoint == "datastack_info"]
    cave_m.reset()
    assert statuses[:2] == [500, 200]
    assert_same(got, fault_free["are_fresh"])


def test_429s_that_never_stop_raise_rate_limited(cave_m, ids500):
    from tracertools.errors import RateLimitedError

    cave_m.reset()
    cave_m.set_faults(rate_limit_rate=1.0, retry_after=0, endpoints=["is_latest_roots"])
    with pytest.raises(RateLimitedError):
        cave_m.datastack(http=FAST).segments(ids500).are_fresh()
    cave_m.reset()


def test_a_4xx_answer_is_not_retried(cave_m, ids500):
    cave_m.reset()
    ds = cave_m.datastack(http=FAST)
    _ = ds.client.chunkedgraph
    cave_m.fail_next("is_latest_roots", status=400, times=5)
    with pytest.raises(TracertoolsError):
        ds.segments(ids500).are_fresh()
    sent = cave_m.stats["is_latest_roots"]  # counted on arrival (the log is written after)
    cave_m.reset()
    assert sent == 1  # a retry would have met the next scripted 400


# ---------------------------------------------------------------------------------------------
# Permanent failures under errors="warn"
# ---------------------------------------------------------------------------------------------


def _never_existed(cave: LocalCave) -> int:
    """A root-layer ID past every root the world made."""
    return max(int(r) for r in cave.world.all_roots()) + 1_000


def _warned(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, PartialResultWarning)]


@pytest.mark.parametrize("method", [
    "current_ids",
    "cable_lengths",
    "volumes_um3",
    "details",
])
def test_an_unknown_id_fails_alone_under_warn_and_the_rest_are_right(
    method, cave_m, fault_free, roots
):
    bogus = _never_existed(cave_m)
    ids = [*roots[:20], bogus, *roots[20:]]
    cave_m.reset()
    segs = cave_m.datastack(http=FAST).segments(ids)
    got, messages = _warned(lambda: getattr(segs, method)(errors="warn"))
    want = fault_free[method]
    assert len(messages) == 1 and str(bogus) in messages[0]
    assert not any(str(r) in messages[0] for r in roots)
    if method == "details":
        assert got.loc[bogus, "current_id"] == 0 and np.isnan(got.loc[bogus, "volume_um3"])
        pd.testing.assert_frame_equal(got.drop(index=bogus), want.iloc[: len(roots)],
                                      check_dtype=False)
    elif method == "current_ids":
        assert got[20] == 0
        assert got[np.arange(len(ids)) != 20].tolist() == want[: len(roots)].tolist()
    else:
        assert np.isnan(got[20])
        assert got[np.arange(len(ids)) != 20].tolist() == want[: len(roots)].tolist()


def test_a_change_log_request_failing_for_good_names_only_the_segment_it_was_for(
    cave_m, roots
):
    world = cave_m.world
    edited = [r for r in roots if world.edits(r)][:3]
    cave_m.reset()
    ds = cave_m.datastack(http=FAST)
    ds.segments(edited[:2]).changelogs()  # these two are now cached in the session
    cave_m.set_faults(error_rate=1.0, error_status=500, endpoints=["tabular_change_log"])
    log, messages = _warned(lambda: ds.segments(edited).changelogs(errors="warn"))
    cave_m.reset()
    assert len(messages) == 1 and str(edited[2]) in messages[0]
    assert str(edited[0]) not in messages[0] and str(edited[1]) not in messages[0]
    assert set(log["segment_id"].tolist()) == set(edited[:2])
    for root in edited[:2]:
        ops = sorted(op.operation_id for op in world.edits(root))
        assert sorted(log.loc[log["segment_id"] == root, "operation_id"]) == ops


def test_leaves_failing_for_good_fail_only_the_stale_ids_under_warn(cave_m, roots):
    world = cave_m.world
    fresh = [r for r in roots if world.is_latest(r)][:3]
    stale = [r for r in roots if not world.is_latest(r)][:1]
    cave_m.reset()
    ds = cave_m.datastack(http=FAST)
    cave_m.set_faults(error_rate=1.0, error_status=500, endpoints=["leaves_many"])
    try:
        got, messages = _warned(lambda: ds.segments(fresh + stale).current_ids(errors="warn"))
    finally:
        cave_m.reset()
    assert got.tolist() == [*fresh, 0]
    assert len(messages) == 1 and str(stale[0]) in messages[0]


def test_a_bulk_skeleton_request_failing_for_good_falls_back_to_single_fetches(cave_m, roots):
    world = cave_m.world
    cave_m.reset()
    ds = cave_m.datastack(http=FAST)
    cave_m.set_faults(error_rate=1.0, error_status=500, endpoints=["bulk_cached_skeletons"])
    try:
        got, messages = _warned(lambda: ds.segments(roots[:3]).cable_lengths(errors="warn"))
    finally:
        cave_m.reset()
    assert got == pytest.approx([world.cable_length(r) for r in roots[:3]])
    assert messages == []


def test_a_skeleton_failing_for_good_fails_only_its_segment_under_warn(cave_m, roots):
    world = cave_m.world
    cave_m.reset()
    ds = cave_m.datastack(http=FAST)
    ds.segments(roots[:2]).skeletons()  # cached in the session
    cave_m.set_faults(error_rate=1.0, error_status=500,
                      endpoints=["bulk_cached_skeletons", "get_skeleton"])
    try:
        got, messages = _warned(lambda: ds.segments(roots[:3]).cable_lengths(errors="warn"))
    finally:
        cave_m.reset()
    assert got[:2] == pytest.approx([world.cable_length(r) for r in roots[:2]])
    assert np.isnan(got[2])
    assert len(messages) == 1 and str(roots[2]) in messages[0]


def test_l2_data_failing_for_good_fails_only_the_uncached_volumes_under_warn(cave_m, roots):
    world = cave_m.world
    cave_m.reset()
    ds = cave_m.datastack(http=FAST)
    ds.segments(roots[:2]).volumes_um3()  # their L2 sizes are cached in the session
    cave_m.set_faults(error_rate=1.0, error_status=500, endpoints=["l2_attributes"])
    try:
        got, messages = _warned(lambda: ds.segments(roots[:3]).volumes_um3(errors="warn"))
    finally:
        cave_m.reset()
    assert got[:2] == pytest.approx([world.volume_nm3(r) / 1e9 for r in roots[:2]])
    assert np.isnan(got[2])
    assert len(messages) == 1 and str(roots[2]) in messages[0]


# ---------------------------------------------------------------------------------------------
# Writes that fail part-way are never reported as success
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sheets() -> Any:
    with LocalSheets() as server, server.as_default():
        yield server


def test_a_sheet_fill_that_loses_permission_mid_run_raises_and_keeps_earlier_batches(sheets):
    ids = [str(10**15 + i) for i in range(6)]
    key = sheets.create("book", tabs={"T": [["segment_id"], *[[i] for i in ids]]})
    tab = Sheet(key).tab("T")
    batches: list[list[str]] = []

    def compute(batch: list[str]) -> list[list[str]]:
        batches.append(batch)
        if len(batches) == 2:  # permission is revoked after the first batch was written
            sheets.fail_next(403, route="values.batchUpdate", count=10)
        return [[f"v{i}"] for i in batch]

    with pytest.raises(ServiceError, match="HTTP 403"):
        tab.fill_columns(["value"], compute, batch_size=2)
    stored = sheets.values(key, "T")
    assert stored[0] == ["segment_id", "value"]
    assert [row[1] for row in stored[1:3]] == [f"v{ids[0]}", f"v{ids[1]}"]
    assert all(len(row) < 2 or row[1] == "" for row in stored[3:])


def test_a_sheet_fill_failing_mid_run_names_the_rows_already_written(sheets):
    ids = [str(10**15 + i) for i in range(6)]
    key = sheets.create("book", tabs={"T": [["segment_id"], *[[i] for i in ids]]})
    tab = Sheet(key).tab("T")
    calls: list[int] = []

    def compute(batch: list[str]) -> list[list[str]]:
        calls.append(1)
        if len(calls) == 2:
            sheets.fail_next(403, route="values.batchUpdate", count=10)
        return [["x"] for _ in batch]

    with pytest.raises(ServiceError) as info:
        tab.fill_columns(["value"], compute, batch_size=2)
    assert "2-3" in str(info.value) or "rows 2, 3" in str(info.value)


def test_a_folder_upload_with_one_unwritable_file_returns_only_what_landed(tmp_path: Path):
    source = tmp_path / "src"
    for rel in ("a.txt", "b/c.txt", "d.txt"):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(rel.encode())
    root = tmp_path / "bucket"
    (root / "up").mkdir(parents=True)
    (root / "up" / "b").write_bytes(b"a file where the folder b/ would go")
    written, messages = _warned(
        lambda: Bucket(f"file://{root}").upload_folder(source, "up", errors="warn")
    )
    landed = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert written == ["up/a.txt", "up/d.txt"]
    assert landed == ["up/a.txt", "up/b", "up/d.txt"]
    assert (root / "up" / "b").read_bytes() == b"a file where the folder b/ would go"
    assert len(messages) == 1 and "b/c.txt" in messages[0]


def test_a_folder_upload_failing_under_raise_names_the_file_and_reports_no_success(
    tmp_path: Path,
):
    source = tmp_path / "src"
    (source / "b").mkdir(parents=True)
    (source / "b" / "c.txt").write_bytes(b"c")
    root = tmp_path / "bucket"
    (root / "up").mkdir(parents=True)
    (root / "up" / "b").write_bytes(b"blocker")
    with pytest.raises(BatchError, match="b/c.txt"):
        Bucket(f"file://{root}").upload_folder(source, "up")
    assert sorted(p.name for p in (root / "up").iterdir()) == ["b"]
