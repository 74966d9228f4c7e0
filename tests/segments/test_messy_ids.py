"""Real-world ID lists: classed before any request, non-roots resolved, one bad ID fails alone.

Against LocalCave's ground truth, with request counts: a list mixing stale, current,
supervoxel, level-2, layer-3, never-issued and too-small IDs gives the right answer for every
good item in every list method; a class error is raised before any request; any number of
supervoxel IDs costs one resolution request.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tracertools as tt
from tracertools.errors import (
    BatchError,
    InvalidSegmentIdError,
    NotARootError,
    PartialResultWarning,
    SegmentNotFoundError,
    ServiceError,
)


@pytest.fixture
def cast(world, current, stale):
    """IDs of every class, with their ground truth."""
    fresh = current[0]
    sv = int(world.supervoxels(current[1])[3])
    l2 = int(world.l2_ids(current[2])[0])
    return {
        "stale": stale[0],
        "fresh": fresh,
        "sv": sv,
        "sv_root": int(world.root_of(sv)[0]),
        "l2": l2,
        "l2_root": int(world.root_of(l2)[0]),
        "l3": int(world.graph.l3_ids[0]),
        "never": 2**56 * world.layout.n_layers + 999_999,  # a root-layer ID never issued
        "small": 12345,  # layer bits 0: names no node
    }


def _layout_known(ds):
    ds.classify_ids([])  # reads the layout (one request per datastack)
    _ = ds.client.chunkedgraph


# -- classing and resolving --------------------------------------------------------------------


def test_supervoxel_and_l2_ids_stand_for_the_segments_holding_them(ds, world, cast):
    ids = [cast["stale"], cast["sv"], cast["l2"], cast["fresh"]]
    got = ds.segments(ids).current_ids().tolist()
    assert got == [world.successor(cast["stale"]), cast["sv_root"], cast["l2_root"], cast["fresh"]]


def test_any_number_of_supervoxels_costs_one_resolution_request(local_cave, ds, world, current):
    svs = [int(s) for root in current for s in world.supervoxels(root)[:40]]
    assert len(svs) >= 200
    _layout_known(ds)
    local_cave.stats.reset()
    got = ds.segments(svs).current_ids()
    assert got.tolist() == world.root_of(svs).tolist()
    assert local_cave.stats["roots_binary"] == 1
    assert local_cave.stats["is_latest_roots"] == 1  # the distinct segments, once


def test_a_class_error_is_raised_before_any_request(local_cave, ds, cast):
    _layout_known(ds)
    local_cave.stats.reset()
    with pytest.raises(BatchError) as info:
        ds.segments([cast["fresh"], cast["l3"]]).current_ids()
    assert local_cave.stats.total == 0
    cause = info.value.failures[1]
    assert isinstance(cause, InvalidSegmentIdError) and cause.position == 1
    assert str(cast["l3"]) in str(info.value) and "layer-3 node ID" in str(info.value)


def test_an_id_on_no_layer_is_refused_before_the_client_is_even_built(local_cave, cast):
    ds = local_cave.datastack()
    local_cave.stats.reset()
    with pytest.raises(BatchError, match="at position 1: too small to be a node ID"):
        ds.segments([cast["fresh"], cast["small"]]).synapse_counts()
    assert local_cave.stats.total == 0


def test_strict_lists_refuse_a_supervoxel_naming_its_segment(local_cave, ds, cast):
    _layout_known(ds)
    local_cave.stats.reset()
    with pytest.raises(BatchError) as info:
        ds.segments([cast["fresh"], cast["sv"]], strict=True).current_ids()
    error = info.value.failures[1]
    assert isinstance(error, NotARootError) and error.kind == "supervoxel"
    assert error.root == cast["sv_root"]
    assert f"belongs to segment {cast['sv_root']}" in str(info.value)
    assert local_cave.stats.as_dict() == {"roots_binary": 1}  # only to name the segment


def test_strict_segments_refuse_a_level_2_id(ds, cast):
    with pytest.raises(BatchError, match="level-2 node ID"):
        ds.segment(cast["l2"], strict=True).volume_um3()


def test_a_never_issued_supervoxel_fails_alone(local_cave, ds, world, cast):
    ghost = 2**56 + 999_999  # a supervoxel-layer ID the world never created
    _layout_known(ds)
    local_cave.stats.reset()
    with pytest.warns(PartialResultWarning, match=str(ghost)):
        got = ds.segments([cast["sv"], ghost]).current_ids(errors="warn")
    assert got.tolist() == [cast["sv_root"], 0]
    # refused resolution, one valid_nodes to name the culprit, one resolution of the rest
    assert local_cave.stats["roots_binary"] == 2
    assert local_cave.stats["valid_nodes"] == 2  # plus the freshness check of the segments


# -- one bad item fails only itself, in every list method -----------------------------------

METHODS = [
    "current_ids", "current_id_candidates", "details", "supervoxels", "l2_ids", "volumes_um3",
    "synapse_counts", "proofreading_status", "changelogs", "edits", "original_ids",
    "largest_original_ids", "user_contributions", "skeletons", "cable_lengths", "triage",
]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, tuple):
        return [(c.segment_id, c.fraction) for c in a] == [(c.segment_id, c.fraction) for c in b]
    if hasattr(a, "cable_length"):
        return a.cable_length() == b.cable_length()
    return a == b


@pytest.mark.parametrize("method", METHODS)
def test_every_list_method_keeps_its_good_items(ds, cast, method):
    mixed = [cast["stale"], cast["sv"], cast["never"], cast["l3"], cast["fresh"]]
    plain = [cast["stale"], cast["sv_root"], cast["fresh"]]
    with pytest.warns(PartialResultWarning) as caught:
        got = getattr(ds.segments(mixed), method)(errors="warn")
    named = " ".join(str(w.message) for w in caught)
    assert str(cast["never"]) in named and str(cast["l3"]) in named
    expected = getattr(ds.segments(plain), method)(errors="raise")
    good = {0: 0, 1: 1, 4: 2}
    if isinstance(got, pd.DataFrame) and "segment_id" in got.columns:  # rows per segment
        for pos, ref in good.items():
            rows = got[got["segment_id"] == np.uint64(mixed[pos])].drop(columns="segment_id")
            want = expected[expected["segment_id"] == np.uint64(plain[ref])].drop(
                columns="segment_id")
            assert rows.reset_index(drop=True).astype(str).equals(
                want.reset_index(drop=True).astype(str))
        assert not got["segment_id"].isin([cast["never"], cast["l3"]]).any()
    elif isinstance(got, pd.DataFrame):  # one row per item, indexed by the input IDs
        assert got.index.tolist() == mixed
        for pos, ref in good.items():
            assert got.iloc[pos].astype(str).tolist() == expected.iloc[ref].astype(str).tolist()
        for pos in (2, 3):
            values = got.iloc[pos].drop(labels=["current_id"], errors="ignore")
            assert values.isna().all() or (values.astype(str) == "[]").any()
    else:
        assert len(got) == len(mixed)
        for pos, ref in good.items():
            assert _same(got[pos], expected[ref]), (pos, got[pos], expected[ref])
        for pos in (2, 3):
            assert got[pos] is None or got[pos] == 0 or np.isnan(got[pos])


@pytest.mark.parametrize("method", ["current_ids", "supervoxels", "volumes_um3", "synapse_counts",
                                    "proofreading_status", "changelogs", "skeletons"])
def test_a_never_issued_id_is_a_typed_per_item_error_never_a_raw_400(ds, cast, method):
    with pytest.raises(BatchError) as info:
        getattr(ds.segments([cast["fresh"], cast["never"]]), method)()
    assert list(info.value.failures) == [1]
    cause = info.value.failures[1]
    assert isinstance(cause, SegmentNotFoundError) and not isinstance(cause.__cause__, Exception)
    assert "400" not in str(info.value) and str(cast["never"]) in str(info.value)
    assert not isinstance(info.value, ServiceError)


def test_never_issued_ids_have_no_synapse_count_rather_than_zero(ds, cast):
    with pytest.warns(PartialResultWarning, match="never issued"):
        counts = ds.segments([cast["fresh"], cast["never"]]).synapse_counts(errors="warn")
    assert counts["total_syn"].dtype == "Int64"
    assert counts["total_syn"].iloc[0] > 0 and counts["total_syn"].isna().tolist() == [False, True]


def test_never_issued_ids_have_no_proofreading_status_rather_than_no_record(ds, cast):
    frame = ds.segments([cast["fresh"], cast["never"]]).proofreading_status(errors="ignore")
    assert frame["status"].iloc[0] == "proofread"
    assert frame["status"].iloc[1] is None and pd.isna(frame["proofread"].iloc[1])
    assert ds.segments([cast["never"]]).are_proofread(errors="ignore").tolist() == [False]


def test_freshness_calls_a_supervoxel_not_current_and_names_a_never_issued_id(
        local_cave, ds, cast):
    _layout_known(ds)
    local_cave.stats.reset()
    ids = [cast["fresh"], cast["sv"], cast["stale"], cast["never"]]
    with pytest.warns(PartialResultWarning, match=str(cast["never"])):
        fresh = ds.segments(ids).are_fresh(errors="warn")
    assert fresh.tolist() == [True, False, False, False]
    assert local_cave.stats.as_dict() == {"is_latest_roots": 1, "valid_nodes": 1}
    with pytest.raises(BatchError, match=str(cast["never"])):
        ds.segments(ids).are_fresh()


# -- classify_ids / update_ids -------------------------------------------------------------


def test_classify_ids_names_every_kind_of_value_without_a_request(local_cave, ds, cast):
    values = ["", f"  {cast['fresh']} ", f"{cast['stale']}.0", 7.205759e17, cast["sv"],
              str(cast["l2"]), cast["l3"], cast["small"], "abc", "7.2E+17", None,
              cast["fresh"]]
    _layout_known(ds)
    local_cave.stats.reset()
    frame = ds.classify_ids(values)
    assert local_cave.stats.total == 0
    assert frame["kind"].tolist() == [
        "blank", "root", "root", "malformed", "supervoxel", "l2", "other layer", "malformed",
        "malformed", "malformed", "blank", "root"]
    assert frame["segment_id"].tolist()[:3] == [0, cast["fresh"], cast["stale"]]
    assert frame["duplicate_of"].tolist()[-1] == 1
    assert "digits are lost" in frame["reason"].iloc[3]
    assert "scientific notation" in frame["reason"].iloc[9]
    assert "layer-3" in frame["reason"].iloc[6]


def test_update_ids_reports_what_became_of_every_value(local_cave, ds, world, cast):
    values = [cast["stale"], cast["sv"], cast["l2"], cast["fresh"], cast["never"], "abc", "",
              cast["stale"]]
    report = ds.update_ids(values, errors="ignore")
    assert report["status"].tolist() == ["updated", "resolved", "resolved", "current",
                                         "failed", "failed", "blank", "updated"]
    assert report["current_id"].tolist() == [
        world.successor(cast["stale"]), cast["sv_root"], cast["l2_root"], cast["fresh"], 0, 0, 0,
        world.successor(cast["stale"])]
    assert "not found" in report["reason"].iloc[4] and "digits" in report["reason"].iloc[5]
    assert report["reason"].iloc[0] == ""


def test_update_ids_warns_about_failed_rows_by_default(ds, cast):
    with pytest.warns(PartialResultWarning, match=r"position 1 \('abc'\)"):
        ds.update_ids([cast["fresh"], "abc"])


# -- legacy ------------------------------------------------------------------------------------


def test_get_current_seg_ids_keeps_good_entries_around_a_bad_one(local_cave, world, cast):
    name = local_cave.datastack()
    got = tt.get_current_seg_ids(name, [cast["stale"], cast["stale"], "abc", cast["fresh"]])
    successor = world.successor(cast["stale"])
    assert got == [successor, successor, "ERROR", cast["fresh"]]
    detailed = tt.get_current_seg_ids(name, [cast["sv"], cast["never"]], detailed_errors=True)
    assert detailed[0] == cast["sv_root"]
    assert str(cast["never"]) in detailed[1] and "not found" in detailed[1]


def test_check_seg_freshness_answers_false_for_non_roots(local_cave, cast):
    name = local_cave.datastack()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = tt.check_seg_freshness(name, [cast["fresh"], cast["sv"]])
    assert got == [True, False]


def test_list_shims_put_error_only_in_the_failing_entries(local_cave, world, cast):
    name = local_cave.datastack()
    fresh, never = cast["fresh"], cast["never"]
    n_in, n_out = world.synapse_counts(fresh)
    assert tt.check_seg_freshness(name, ["abc", fresh, cast["sv"]]) == ["ERROR", True, False]
    assert tt.count_synapses(name, [never, fresh, "abc"]) == ["ERROR", n_in + n_out, "ERROR"]
    detailed = tt.count_synapses(name, [never, fresh], detailed_results=True)
    assert detailed[fresh] == {"in": n_in, "out": n_out, "all": n_in + n_out}
    assert detailed[never] == {"in": "ERROR", "out": "ERROR", "all": "ERROR"}
    lengths = tt.get_cable_lengths(name, [fresh, never])
    assert lengths[0] == pytest.approx(world.cable_length(fresh), rel=1e-6)
    assert lengths[1] == "ERROR"
    rows = tt.get_seg_details(name, [cast["stale"], 7.205759e17, never])
    assert rows[0][:2] == [cast["stale"], world.successor(cast["stale"])]
    assert rows[1] == [7.205759e17, *["ERROR"] * 6] and rows[2] == [never, *["ERROR"] * 6]


def test_a_never_issued_supervoxel_fails_alone_in_supervoxel_lookups(local_cave, ds, cast):
    ghost = 2**56 + 999_999
    with pytest.raises(BatchError, match=str(ghost)) as info:
        ds.segments_of_supervoxels([0, cast["sv"], ghost])
    assert isinstance(info.value.failures[2], SegmentNotFoundError)
    with pytest.warns(PartialResultWarning, match=str(ghost)):
        got = ds.segments_of_supervoxels([0, cast["sv"], ghost], errors="warn")
    assert got.tolist() == [0, cast["sv_root"], 0]


def test_details_of_a_strict_list_refuse_a_supervoxel(ds, cast):
    with pytest.raises(BatchError, match="supervoxel ID"):
        ds.segments([cast["fresh"], cast["sv"]], strict=True).details()
    frame = ds.segments([cast["fresh"], cast["sv"]], strict=True).details(errors="ignore")
    assert frame["current_id"].tolist() == [cast["fresh"], 0]
