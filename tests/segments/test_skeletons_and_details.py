"""Skeletons, cable lengths and details against LocalCave's ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.errors import (
    BatchError,
    InvalidInputError,
    PartialResultWarning,
    SegmentNotFoundError,
)
from tracertools.geometry.skeleton import Skeleton


def test_skeletons_are_skeleton_values_in_nm(ds, world, current):
    sk = ds.segment(current[0]).skeleton()
    assert isinstance(sk, Skeleton)
    assert sk.segment_id == current[0]
    truth = world.skeleton(current[0])
    assert sk.n_vertices == len(truth.vertices)


def test_cable_lengths_equal_the_ground_truth(ds, world, current):
    got = ds.segments(current).cable_lengths()
    assert got == pytest.approx([world.cable_length(r) for r in current], rel=1e-6)


def test_skeletons_of_every_root_come_in_one_request(local_cave, ds, world):
    roots = [int(r) for r in world.all_roots()]
    local_cave.datastack().segments(roots).skeletons()  # the service has generated them all
    _ = ds.client.skeleton
    local_cave.stats.reset()
    got = ds.segments(roots).skeletons()
    assert [sk.n_vertices for sk in got] == [len(world.skeleton(r).vertices) for r in roots]
    assert local_cave.stats["bulk_cached_skeletons"] == 1  # 45 roots
    # caveclient reads the skeleton versions before each fetch_skeletons call
    assert local_cave.stats["skeleton_versions"] == 1
    assert local_cave.stats["valid_nodes"] == local_cave.stats["get_skeleton"] == 0


def test_more_than_500_roots_take_one_fetch_per_500_and_one_validity_check(local_cave, ds, world):
    roots = [int(r) for r in world.all_roots()]
    local_cave.datastack().segments(roots).skeletons()
    unknown = [2**56 * 4 + 999_999 + k for k in range(600)]  # root-layer IDs that never existed
    _ = ds.client.skeleton
    local_cave.stats.reset()
    got = ds.segments(roots + unknown).cable_lengths(errors="ignore")
    assert got[:len(roots)] == pytest.approx([world.cable_length(r) for r in roots], rel=1e-6)
    assert np.isnan(got[len(roots):]).all()
    assert local_cave.stats["bulk_cached_skeletons"] == 2  # 645 distinct roots
    assert local_cave.stats["valid_nodes"] == 1  # the 600 the cache left out, at once
    assert local_cave.stats["get_skeleton"] == 0


def test_skeletons_are_cached_per_root(local_cave, ds, current):
    ds.segments(current[:2]).skeletons()
    local_cave.stats.reset()
    ds.segments(current[:2]).skeletons()
    assert local_cave.stats.total == 0


def test_a_missing_skeleton_fails_only_that_item_under_warn(ds, world, current):
    bogus = 2**56 * 4 + 999_999
    with pytest.warns(PartialResultWarning, match=str(bogus)):
        got = ds.segments([current[0], bogus]).cable_lengths(errors="warn")
    assert got[0] == pytest.approx(world.cable_length(current[0]), rel=1e-6)
    assert np.isnan(got[1])


def test_an_unknown_root_is_none_under_ignore_and_named_as_not_found(ds, world, current):
    bogus = 2**56 * 4 + 999_999
    got = ds.segments([current[0], bogus]).skeletons(errors="ignore")
    assert got[0] is not None and got[0].n_vertices == len(world.skeleton(current[0]).vertices)
    assert got[1] is None


def test_an_unknown_root_raises_a_batch_error_naming_it_not_found(ds, current):
    bogus = 2**56 * 4 + 999_999
    with pytest.raises(BatchError) as caught:
        ds.segments([current[0], bogus]).cable_lengths()
    assert [type(e) for e in caught.value.failures.values()] == [SegmentNotFoundError]
    assert str(bogus) in str(caught.value)


def test_a_bad_skeleton_version_is_refused(ds, current):
    with pytest.raises(InvalidInputError):
        ds.segments(current[:1]).skeletons(version="4")  # type: ignore[arg-type]


def test_details_gives_the_seven_fields_from_ground_truth(ds, world):
    latest = set(world.latest_roots_now().tolist())
    stale = [int(r) for r in world.all_roots().tolist() if int(r) not in latest][:2]
    fresh = [int(r) for r in world.latest_roots_now()[:2]]
    ids = stale + fresh
    frame = ds.segments(ids).details()
    assert list(frame.index) == ids
    assert list(frame.columns) == ["current_id", "volume_um3", "cable_length_nm", "in_syn",
                                   "out_syn", "total_syn"]
    assert frame["current_id"].dtype == np.uint64
    for i, seg_id in enumerate(ids):
        row = frame.iloc[i]
        cur = world.successor(seg_id) if seg_id in stale else seg_id
        assert int(frame["current_id"].iloc[i]) == cur
        n_in, n_out = world.synapse_counts(cur)
        assert row["current_id"] == cur
        assert row["volume_um3"] == pytest.approx(world.volume_nm3(cur) / 1e9)
        assert row["cable_length_nm"] == pytest.approx(world.cable_length(cur), rel=1e-6)
        assert (row["in_syn"], row["out_syn"], row["total_syn"]) == (n_in, n_out, n_in + n_out)


def test_details_of_one_segment_is_a_dict(ds, current):
    got = ds.segment(current[0]).details()
    assert got["segment_id"] == current[0] and got["current_id"] == current[0]
    assert type(got["current_id"]) is int


def test_details_skip_the_parts_turned_off(local_cave, ds, world, current):
    _ = ds.client.skeleton, ds.client.l2cache, ds.client.materialize
    local_cave.stats.reset()
    frame = ds.segments(current[:3]).details(cable_length=False, synapse_counts=False)
    assert local_cave.stats["bulk_cached_skeletons"] == 0
    assert frame["cable_length_nm"].isna().all() and frame["total_syn"].isna().all()
    assert frame["volume_um3"].tolist() == pytest.approx(
        [world.volume_nm3(r) / 1e9 for r in current[:3]])


def test_details_shows_one_bar_when_it_takes_longer_than_the_delay(ds, current, local_cave, capsys):
    from tracertools import batch

    local_cave.set_latency(batch.PROGRESS_DELAY_S / 2)  # two dependent stages pass the delay
    ds.segments(current[:3]).details(progress=True)
    assert "details of 3 segments" in capsys.readouterr().err


def test_details_bar_stays_off_when_progress_is_off(ds, current, local_cave, capsys, monkeypatch):
    from tracertools import batch

    monkeypatch.setenv("TRACERTOOLS_PROGRESS", "0")
    local_cave.set_latency(batch.PROGRESS_DELAY_S / 2)
    ds.segments(current[:3]).details()
    assert "details of" not in capsys.readouterr().err
