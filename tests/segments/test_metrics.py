"""Supervoxels, volumes, synapse counts and proofreading status against LocalCave's ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.errors import MissingFeatureError


def test_supervoxels_equal_the_ground_truth(ds, world, current):
    got = ds.segments(current[:4]).supervoxels()
    for root, svs in zip(current[:4], got, strict=True):
        assert sorted(svs.tolist()) == sorted(world.supervoxels(root).tolist())


def test_supervoxels_are_cached_per_root(local_cave, ds, current):
    segs = ds.segments(current[:3])
    segs.supervoxels()
    local_cave.stats.reset()
    segs.supervoxels()
    assert local_cave.stats["leaves_many"] == 0


def test_l2_ids_equal_the_ground_truth(ds, world, current):
    got = ds.segment(current[0]).l2_ids()
    assert sorted(got.tolist()) == sorted(world.l2_ids(current[0]).tolist())


def test_a_leaves_request_refused_as_too_large_is_halved_until_it_fits(local_cave, ds, world,
                                                                       current):
    _ = ds.client.chunkedgraph  # handshake outside the limit
    local_cave.set_faults(body_limit_bytes=120)  # a leaves_many body of about four roots
    got = ds.segments(current).l2_ids()
    assert [sorted(g.tolist()) for g in got] == [sorted(world.l2_ids(r).tolist())
                                                 for r in current]
    assert local_cave.limit_hits["body_too_large"] >= 1
    assert local_cave.stats["valid_nodes"] == 0  # too large is no sign of an unknown ID


def test_volumes_are_cached_per_segment(local_cave, ds, current):
    segs = ds.segments(current)
    first = segs.volumes_um3()
    local_cave.stats.reset()
    assert segs.volumes_um3().tolist() == first.tolist()
    assert local_cave.stats.total == 0


def test_volumes_keep_the_sums_not_the_l2_attributes(ds, current):
    ds.segments(current).volumes_um3()
    assert ds.cache("l2:size_nm3") == {}  # each answer was summed and let go
    assert sorted(ds.cache("volume_nm3")) == sorted(current)


def test_volumes_equal_the_sum_of_l2_sizes(ds, world, current):
    got = ds.segments(current).volumes_um3()
    assert got == pytest.approx([world.volume_nm3(r) / 1e9 for r in current])


def test_volumes_take_two_batched_requests(local_cave, ds, current):
    _ = ds.client.chunkedgraph, ds.client.l2cache
    local_cave.stats.reset()
    ds.segments(current).volumes_um3()
    assert local_cave.stats["leaves_many"] == 1
    assert local_cave.stats["l2_attributes"] == 1


def test_synapse_counts_equal_live_ground_truth(ds, world, current):
    frame = ds.segments(current).synapse_counts()
    assert list(frame.index) == current
    for root in current:
        n_in, n_out = world.synapse_counts(root)
        assert (frame.loc[root, "in_syn"], frame.loc[root, "out_syn"]) == (n_in, n_out)
        assert frame.loc[root, "total_syn"] == n_in + n_out


def test_synapse_counts_at_a_materialization_version_use_that_version(local_cave, world):
    version = 1
    ds = local_cave.datastack(materialization_version=version)
    roots = [int(r) for r in world.roots_at(ds.read_timestamp.timestamp())]
    frame = ds.segments(roots).synapse_counts()
    for root in roots:
        n_in, n_out = world.synapse_counts(root, version=version)
        assert (frame.loc[root, "in_syn"], frame.loc[root, "out_syn"]) == (n_in, n_out)


def test_synapse_counts_survive_a_server_row_cap(local_cave, ds, world, current):
    local_cave.set_faults(row_cap=5)
    frame = ds.segments(current[:3]).synapse_counts()
    for root in current[:3]:
        assert tuple(frame.loc[root, ["in_syn", "out_syn"]]) == world.synapse_counts(root)


def test_a_count_query_capped_at_the_row_limit_is_split_and_the_counts_stay_exact(
    local_cave, ds, world, current
):
    truth = {r: world.synapse_counts(r) for r in current}
    biggest = max(max(c) for c in truth.values())
    assert sum(n_in for n_in, _ in truth.values()) > biggest  # the whole list is capped
    _ = ds.client.materialize, ds.client.chunkedgraph
    local_cave.set_faults(row_cap=biggest + 1)  # every single segment fits in one answer
    local_cave.stats.reset()
    frame = ds.segments(current).synapse_counts()
    assert {r: tuple(frame.loc[r, ["in_syn", "out_syn"]]) for r in current} == truth
    assert local_cave.limit_hits["row_capped"] >= 1
    assert local_cave.stats["live_live_query"] > 2  # more than one query per direction


def test_synapse_counts_need_a_synapse_table(local_cave):
    cfg = local_cave.config.model_copy(update={"synapse_table": None})

    ds = local_cave.datastack(config=cfg)
    with pytest.raises(MissingFeatureError, match="synapse_table"):
        ds.segments([1]).synapse_counts()


def test_proofreading_status_reads_the_status_column(ds, world):
    table = world.table("proofreading_status")
    live = {int(r): r for r in world.latest_roots_now()}
    rows = table[table["pt_root_id"].isin(list(live))]
    assert len(rows), "the world has proofreading rows for current roots"
    frame = ds.segments(rows["pt_root_id"].tolist()).proofreading_status()
    for (_, row), (_, got) in zip(rows.iterrows(), frame.iterrows(), strict=True):
        expected_exact = bool(row["proofread"]) and int(row["valid_id"]) == int(row["pt_root_id"])
        assert got["proofread"] == expected_exact


def test_a_segment_without_a_row_has_no_record(ds, world):
    table = world.table("proofreading_status")
    listed = set(table["pt_root_id"].astype("int64"))
    unlisted = [int(r) for r in world.latest_roots_now() if int(r) not in listed]
    assert unlisted
    frame = ds.segments(unlisted[:1]).proofreading_status()
    assert frame["status"].tolist() == ["no record"]
    assert frame["proofread"].tolist() == [False]


def test_proofreading_statuses_cover_every_case_in_the_world(ds, world):
    table = world.table("proofreading_status")
    frame = ds.segments(np.unique(table["pt_root_id"].astype("uint64"))).proofreading_status()
    assert {"proofread", "not proofread", "ancestor proofread"} <= set(frame["status"])


def test_synapse_counts_for_500_ids_take_a_handful_of_requests(local_cave, ds, current):
    ids = (current * (500 // len(current) + 1))[:500]
    _ = ds.client.materialize, ds.client.chunkedgraph
    local_cave.stats.reset()
    ds.segments(ids).synapse_counts()
    assert local_cave.stats["live_live_query"] == 2  # incoming and outgoing, all 500 IDs at once
    assert local_cave.stats["is_latest_roots"] == 1  # which IDs are current at the read time
    assert local_cave.stats.total <= 9  # plus table metadata and version look-ups


def test_synapse_counts_details_and_the_sheet_header_share_one_vocabulary(ds, current):
    from tracertools.segments.metrics import SYNAPSE_COLUMNS
    from tracertools.storage.sheet_details import detail_header

    counts = ds.segments(current[:2]).synapse_counts()
    details = ds.segments(current[:2]).details(volume=False, cable_length=False)
    assert tuple(counts.columns) == SYNAPSE_COLUMNS == ("in_syn", "out_syn", "total_syn")
    assert tuple(details.columns[-3:]) == SYNAPSE_COLUMNS
    assert details[list(SYNAPSE_COLUMNS)].equals(counts)
    header = detail_header(volume=False, cable_length=False, proofreading=False)
    assert tuple(header[-3:]) == SYNAPSE_COLUMNS


def test_count_queries_are_sized_by_the_rows_an_id_matched_so_no_answer_is_capped_twice(
    local_cave, ds, world, current
):
    truth = {r: world.synapse_counts(r) for r in current}
    biggest = max(max(c) for c in truth.values())
    _ = ds.client.materialize, ds.client.chunkedgraph
    local_cave.set_faults(row_cap=biggest + 1)
    ds.segments(current).synapse_counts()  # capped and split: the session learns the sizes
    local_cave.limit_hits.reset()
    frame = ds.segments(current).synapse_counts()
    assert {r: tuple(frame.loc[r, ["in_syn", "out_syn"]]) for r in current} == truth
    assert local_cave.limit_hits["row_capped"] == 0
