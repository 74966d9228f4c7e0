"""Live counts and statuses of stale segment IDs, against LocalCave's real-engine rules.

The live engine answers 400 to a root-ID filter that is not current at the query time. The SDK
reads such an ID at a moment it was a segment: just before the edit that retired it.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import tracertools as tt
from tracertools.errors import BatchError, IncompleteDataWarning, PartialResultWarning


def _retired(world, root):
    """The last moment ``root`` was a segment (epoch s)."""
    return world.graph.roots[int(root)].superseded - 0.01


def _stale_with_synapses(world, stale):
    for root in stale:
        n_in, n_out = world.synapse_counts(root, t=_retired(world, root))
        if n_in and n_out:
            return root
    raise AssertionError("the world has a stale root with synapses both ways")


def _fewest_moments(world, roots):
    """The fewest moments covering every lifetime (greedy stabbing, as the SDK does)."""
    spans = sorted((_retired(world, r), world.graph.roots[r].created) for r in roots)
    point, count = None, 0
    for end, start in spans:
        if point is None or start > point:
            point, count = end, count + 1
    return count


def test_a_stale_id_is_counted_as_it_was_just_before_it_was_retired(ds, world, stale):
    root = _stale_with_synapses(world, stale)
    got = ds.segment(root).synapse_counts()
    n_in, n_out = world.synapse_counts(root, t=_retired(world, root))
    assert (got["in_syn"], got["out_syn"], got["total_syn"]) == (n_in, n_out, n_in + n_out)


def test_fresh_and_stale_ids_mix_in_one_call(ds, world, current, stale):
    ids = current[:3] + stale
    frame = ds.segments(ids).synapse_counts()
    for root in ids:
        when = None if root in current else _retired(world, root)
        assert tuple(frame.loc[root, ["in_syn", "out_syn"]]) == world.synapse_counts(root, t=when)


def test_stale_ids_that_existed_together_share_one_query_moment(local_cave, ds, world, stale):
    _ = ds.client.materialize, ds.client.chunkedgraph
    local_cave.stats.reset()
    ds.segments(stale).synapse_counts()
    moments = _fewest_moments(world, stale)
    assert moments < len(stale)
    assert local_cave.stats["live_live_query"] == 2 * moments  # incoming and outgoing each
    assert local_cave.stats["root_timestamps"] == 2  # first and last moment of every stale ID


def test_an_unknown_id_fails_instead_of_counting_zero(ds, world, current):
    unknown = int(world.all_roots().max()) + 1000
    with pytest.raises(BatchError, match=str(unknown)):
        ds.segments([current[0], unknown]).synapse_counts()


def test_an_unknown_id_is_nan_and_named_under_warn(ds, world, current):
    unknown = int(world.all_roots().max()) + 1000
    with pytest.warns(PartialResultWarning, match=str(unknown)):
        frame = ds.segments([current[0], unknown]).synapse_counts(errors="warn")
    assert pd.isna(frame.loc[unknown, "total_syn"])
    assert frame.loc[current[0], "total_syn"] == sum(world.synapse_counts(current[0]))


def test_an_id_created_after_the_read_time_fails(local_cave, world, current):
    ds = local_cave.datastack(materialization_version=1)
    v1 = world.version_timestamps[1]
    later = next(r for r in current if world.graph.roots[r].created > v1)
    with pytest.raises(BatchError, match="did not exist yet"):
        ds.segments([later]).synapse_counts()


def test_a_version_read_counts_ids_stale_at_that_version_when_they_were_current(
    local_cave, world
):
    ds = local_cave.datastack(materialization_version=2)
    v2 = world.version_timestamps[2]
    stale_then = [int(r) for r in world.all_roots()
                  if world.graph.roots[int(r)].created <= v2 and not world.is_latest(r, v2)]
    fresh_then = [int(r) for r in world.roots_at(v2)]
    frame = ds.segments(stale_then + fresh_then[:2]).synapse_counts()
    for root in stale_then:
        assert tuple(frame.loc[root, ["in_syn", "out_syn"]]) == world.synapse_counts(
            root, t=_retired(world, root))
    for root in fresh_then[:2]:
        assert tuple(frame.loc[root, ["in_syn", "out_syn"]]) == world.synapse_counts(root, version=2)


def test_annotations_awaiting_lookups_are_left_out_with_a_warning(local_cave, ds, world,
                                                                    current):
    local_cave.add_pending_annotations("synapses", 2)
    with pytest.warns(IncompleteDataWarning, match="2 annotation"):
        frame = ds.segments(current[:2]).synapse_counts()
    for root in current[:2]:
        assert tuple(frame.loc[root, ["in_syn", "out_syn"]]) == world.synapse_counts(root)


def test_no_warning_when_every_annotation_is_looked_up(ds, current):
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteDataWarning)
        ds.segments(current[:2]).synapse_counts()


def test_proofreading_of_a_stale_id_is_read_when_it_was_current(ds, world):
    table = world.tables["proofreading_status"].data
    marked_then = [int(v) for v, ok in zip(table["valid_id"], table["proofread"], strict=True)
                   if ok and not world.is_latest(int(v))]
    assert marked_then, "the world has a root marked proofread and edited since"
    frame = ds.segments(marked_then).proofreading_status()
    assert frame["status"].tolist() == ["proofread"] * len(marked_then)


def test_legacy_count_synapses_of_a_stale_id_is_not_a_silent_zero(local_cave, world, stale):
    root = _stale_with_synapses(world, stale)
    n_in, n_out = world.synapse_counts(root, t=_retired(world, root))
    assert tt.count_synapses(local_cave.datastack(), [root]) == [n_in + n_out]
