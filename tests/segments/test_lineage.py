"""Freshness and current IDs against LocalCave's ground truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tracertools.errors import BatchError, PartialResultWarning, SegmentNotFoundError


def _stale_roots(world):
    latest = set(world.latest_roots_now().tolist())
    return [int(r) for r in world.all_roots().tolist() if int(r) not in latest]


def test_fresh_ids_are_fresh_and_stale_ids_are_not(ds, world):
    fresh = [int(r) for r in world.latest_roots_now()[:3]]
    stale = _stale_roots(world)[:3]
    assert ds.segments(fresh + stale).are_fresh().tolist() == [True] * 3 + [False] * 3


def test_freshness_of_a_thousand_ids_is_one_request(local_cave, ds, world):
    roots = np.resize(world.all_roots(), 1000)
    _ = ds.client  # handshake outside the count
    local_cave.stats.reset()
    ds.segments(roots).are_fresh()
    assert local_cave.stats["is_latest_roots"] == 1


def test_stale_ids_map_to_the_ground_truth_successor(ds, world):
    stale = _stale_roots(world)
    assert stale, "the world has stale roots"
    got = ds.segments(stale).current_ids().tolist()
    assert got == [world.successor(r) for r in stale]


def test_candidates_carry_fractions_of_the_old_supervoxels_in_order(ds, world):
    stale = _stale_roots(world)
    got = ds.segments(stale).current_id_candidates()
    for root, cands in zip(stale, got, strict=True):
        truth = world.successor_candidates(root)
        assert [c.segment_id for c in cands] == [r for r, _ in truth]
        assert [c.fraction for c in cands] == pytest.approx([f for _, f in truth])


def test_fresh_ids_map_to_themselves_with_fraction_one(ds, world):
    root = int(world.latest_roots_now()[0])
    (cand,) = ds.segment(root).current_id_candidates()
    assert (cand.segment_id, cand.fraction) == (root, 1.0)


def test_mixed_lists_with_duplicates_keep_input_order(ds, world):
    stale = _stale_roots(world)[0]
    fresh = int(world.latest_roots_now()[0])
    got = ds.segments([stale, fresh, stale]).current_ids().tolist()
    assert got == [world.successor(stale), fresh, world.successor(stale)]


def test_an_id_that_never_existed_raises_segment_not_found(ds):
    bogus = int(ds.segment(2**56 * 4 + 999_999).id)
    with pytest.raises(BatchError) as info:
        ds.segments([bogus]).current_ids()
    assert isinstance(info.value.__cause__, SegmentNotFoundError)


def test_under_warn_a_missing_id_is_zero_and_the_rest_are_right(ds, world):
    stale = _stale_roots(world)[0]
    bogus = 2**56 * 4 + 999_999
    with pytest.warns(PartialResultWarning, match=str(bogus)):
        got = ds.segments([stale, bogus]).current_ids(errors="warn")
    assert got.tolist() == [world.successor(stale), 0]


def test_under_ignore_a_missing_id_is_zero_without_a_warning(ds, world):
    stale = _stale_roots(world)[0]
    bogus = 2**56 * 4 + 999_999
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ds.segments([stale, bogus]).current_ids(errors="ignore")
    assert got.tolist() == [world.successor(stale), 0]


def test_candidates_of_a_missing_id_are_none_and_the_rest_exact(ds, world):
    stale = _stale_roots(world)[0]
    bogus = 2**56 * 4 + 999_999
    with pytest.warns(PartialResultWarning, match=str(bogus)):
        got = ds.segments([bogus, stale]).current_id_candidates(errors="warn")
    assert got[0] is None
    assert [(c.segment_id, pytest.approx(c.fraction)) for c in got[1]] == [
        (r, pytest.approx(f)) for r, f in world.successor_candidates(stale)]


def _roots_with_a_replaced_l2_node(world):
    alive = {int(v) for r in world.latest_roots_now().tolist() for v in world.l2_ids(r)}
    return [r for r in _stale_roots(world)
            if any(int(v) not in alive for v in world.l2_ids(r))]


def test_a_stale_root_split_inside_an_l2_chunk_gets_exact_supervoxel_shares(ds, world):
    roots = _roots_with_a_replaced_l2_node(world)
    assert roots, "some edit of the world cut inside an L2 chunk"
    got = ds.segments(roots).current_id_candidates()
    for root, cands in zip(roots, got, strict=True):
        truth = world.successor_candidates(root)
        assert [(c.segment_id, c.fraction) for c in cands] == [
            (r, pytest.approx(f, rel=1e-12)) for r, f in truth]


def test_a_stale_root_whose_l2_nodes_all_live_on_fetches_no_supervoxels_of_it(
    local_cave, ds, world
):
    alive = {int(v) for r in world.latest_roots_now().tolist() for v in world.l2_ids(r)}
    whole = [r for r in _stale_roots(world)
             if len(world.successor_candidates(r)) == 1
             and all(int(v) in alive for v in world.l2_ids(r))]
    assert whole, "some stale root lies whole, L2 nodes unchanged, in one current root"
    _ = ds.client.chunkedgraph
    local_cave.stats.reset()
    got = ds.segments(whole).current_id_candidates()
    assert [[(c.segment_id, c.fraction) for c in g] for g in got] == [
        [(world.successor(r), 1.0)] for r in whole]
    # one leaves_many: the L2 IDs; no supervoxel list of any L2 node
    assert local_cave.stats["leaves_many"] == 1
    assert local_cave.stats["roots_binary"] == 1


def test_updating_stale_ids_takes_one_request_per_stage(local_cave, ds, world):
    stale = _stale_roots(world)
    _ = ds.client.chunkedgraph  # handshake outside the count
    local_cave.stats.reset()
    ds.segments(stale).current_ids()
    # freshness and validity; L2 IDs; their roots; freshness of those roots and supervoxel
    # counts of the L2 nodes; roots of the supervoxels of L2 nodes an edit replaced
    seen = {k: v for k, v in local_cave.stats.as_dict().items() if k != "cg_info"}
    assert seen == {"is_latest_roots": 2, "valid_nodes": 1, "leaves_many": 2, "roots_binary": 2}


def test_single_segment_current_follows_the_list(ds, world):
    stale = _stale_roots(world)[0]
    assert ds.segment(stale).current().id == world.successor(stale)
    assert ds.segment(stale).is_fresh() is False


def test_a_fixed_timestamp_applies_to_freshness_and_current_ids(local_cave, world):
    stale = _stale_roots(world)[0]
    created = world.root_timestamp(stale)
    assert world.is_latest(stale, created + 0.5)  # it was current just after it was made
    then = local_cave.datastack(timestamp=created + 0.5)
    assert then.segment(stale).is_fresh() is True
    assert then.segments([stale]).current_ids().tolist() == [stale]
    assert local_cave.datastack().segment(stale).is_fresh() is False


def test_freshness_answers_are_kept_for_a_bounded_number_of_moments(ds, world):
    ids = [int(r) for r in world.latest_roots_now()]
    for _ in range(20):  # each call reads its own "now" (read moments check freshness there)
        assert (ds.segments(ids).synapse_counts()["in_syn"] >= 0).all()
    assert 1 < len(ds.cache("latest_at")) <= 8
