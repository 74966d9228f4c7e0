"""Legacy segment, metrics and CAVE-info shims: original names, arguments and shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tracertools as tt


@pytest.fixture
def name(local_cave):
    """The shims' ``datastack`` argument: a session on the LocalCave (names resolve to presets)."""
    return local_cave.datastack()


def _stale(world):
    latest = set(world.latest_roots_now().tolist())
    return [int(r) for r in world.all_roots().tolist() if int(r) not in latest]


def test_check_seg_freshness_gives_a_list_of_bools(name, world):
    fresh, stale = int(world.latest_roots_now()[0]), _stale(world)[0]
    assert tt.check_seg_freshness(name, [fresh, stale]) == [True, False]


def test_get_current_seg_ids_default_gives_one_int_per_id(name, world):
    fresh, stale = int(world.latest_roots_now()[0]), _stale(world)[0]
    got = tt.get_current_seg_ids(name, [fresh, stale])
    assert got == [fresh, world.successor(stale)]
    assert all(type(v) is int for v in got)


def test_get_current_seg_ids_with_ratio_gives_pairs(name, world):
    fresh, stale = int(world.latest_roots_now()[0]), _stale(world)[0]
    got = tt.get_current_seg_ids(name, [fresh, stale], include_ratio=True)
    best, frac = world.successor_candidates(stale)[0]
    assert got[0] == [fresh, 1.0]
    assert got[1][0] == best and got[1][1] == pytest.approx(frac)


def test_get_current_seg_ids_full_list_gives_every_candidate(name, world):
    stale = _stale(world)[0]
    truth = world.successor_candidates(stale)
    assert tt.get_current_seg_ids(name, [stale], full_list=True) == [[r for r, _ in truth]]
    pairs = tt.get_current_seg_ids(name, [stale], include_ratio=True, full_list=True)[0]
    assert [p[0] for p in pairs] == [r for r, _ in truth]


def test_get_current_seg_ids_marks_unknown_ids_as_error(name, world):
    bogus = 2**56 * 4 + 999_999
    assert tt.get_current_seg_ids(name, [bogus]) == ["ERROR"]
    detailed = tt.get_current_seg_ids(name, [bogus], detailed_errors=True)[0]
    assert str(bogus) in detailed


def test_get_current_seg_ids_marks_unusable_values_as_error(name):
    assert tt.get_current_seg_ids(name, [7.205759e17]) == ["ERROR"]


def test_get_svs_from_seg_gives_ints(name, world):
    root = int(world.latest_roots_now()[0])
    got = tt.get_svs_from_seg(name, root)
    assert sorted(got) == sorted(world.supervoxels(root).tolist())
    assert type(got[0]) is int


def test_get_seg_from_sv_gives_the_root(name, world):
    root = int(world.latest_roots_now()[0])
    sv = int(world.supervoxels(root)[0])
    assert tt.get_seg_from_sv(name, sv) == root


def test_get_roots_from_points_for_roots_and_supervoxels(name, world):
    pts = [list(world.soma_position(i)) for i in range(2)]
    assert tt.get_roots_from_points(name, pts) == [world.root_at_point(p) for p in pts]
    assert tt.get_roots_from_points(name, pts, sv=True) == [
        world.supervoxel_at_viewer(p) for p in pts]
    assert tt.get_roots_from_points(name, pts[0]) == [world.root_at_point(pts[0])]


def test_get_seg_3d_volume_is_in_cubic_micrometres(name, world):
    root = int(world.latest_roots_now()[0])
    assert tt.get_seg_3d_volume(name, root) == pytest.approx(world.volume_nm3(root) / 1e9)


def test_count_synapses_default_and_detailed_shapes(name, world):
    roots = [int(r) for r in world.latest_roots_now()[:3]]
    totals = tt.count_synapses(name, roots)
    assert totals == [sum(world.synapse_counts(r)) for r in roots]
    detailed = tt.count_synapses(name, roots, detailed_results=True)
    n_in, n_out = world.synapse_counts(roots[0])
    assert detailed[roots[0]] == {"in": n_in, "out": n_out, "all": n_in + n_out}


def test_check_seg_proofread_status_reads_the_status_values(name, world):
    table = world.table("proofreading_status")
    rows = table[table["proofread"].astype(bool) & (table["valid_id"] == table["pt_root_id"])]
    unmarked = table[~table["proofread"].astype(bool)]
    ids = [int(rows["pt_root_id"].iloc[0]), int(unmarked["pt_root_id"].iloc[0])]
    assert tt.check_seg_proofread_status(name, ids) == [True, False]


def test_cave_info_shims(name, local_cave):
    # (get_cave_stacks() takes no argument and asks caveclient's default server: not run here)
    assert tt.get_cave_stack_info(name)["local_server"] == local_cave.url
    assert "synapses" in tt.get_cave_stack_tables(name)
    assert tt.get_cave_table_info(name, "synapses")["table_name"] == "synapses"
    table = tt.get_cave_table(name, "cell_info")
    assert isinstance(table, pd.DataFrame) and len(table) == len(local_cave.world.table("cell_info"))


def test_shims_share_one_client_per_datastack(name, local_cave, world):
    roots = [int(r) for r in world.latest_roots_now()[:2]]
    tt.check_seg_freshness(name, roots)
    local_cave.stats.reset()
    tt.check_seg_freshness(name, roots)
    tt.check_seg_freshness(name, roots)
    assert local_cave.stats.total == 2  # no client rebuilt, no handshakes
    assert np.all(np.asarray(tt.check_seg_freshness(name, roots)))


def test_get_seg_skeletons_gives_osteoid_skeletons_in_nm(name, world):
    import osteoid

    root = int(world.latest_roots_now()[0])
    (sk,) = tt.get_seg_skeletons(name, [root])
    assert isinstance(sk, osteoid.Skeleton)
    assert sk.cable_length() == pytest.approx(world.cable_length(root), rel=1e-6)


def test_get_cable_lengths_gives_floats_in_nm(name, world):
    roots = [int(r) for r in world.latest_roots_now()[:2]]
    got = tt.get_cable_lengths(name, roots)
    assert got == pytest.approx([world.cable_length(r) for r in roots], rel=1e-6)
    assert all(type(v) is float for v in got)


def test_get_seg_details_works_for_fresh_and_stale_ids(name, world):
    fresh = int(world.latest_roots_now()[0])
    stale = _stale(world)[0]
    rows = tt.get_seg_details(name, [fresh, stale])
    assert [r[0] for r in rows] == [fresh, stale]
    assert [r[1] for r in rows] == [fresh, world.successor(stale)]
    assert all(len(r) == 7 for r in rows)
    n_in, n_out = world.synapse_counts(fresh)
    assert rows[0][4:] == [n_out, n_in, n_in + n_out]
