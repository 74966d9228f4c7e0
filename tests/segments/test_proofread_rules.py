"""Two rules for "proofread": the new API's strict one and the original's.

The world's proofreading table has rows set for a root that has been edited since: the row's
point now lies in the current root, but its ``valid_id`` names the ancestor it was set for.
"""

from __future__ import annotations

import pytest

import tracertools as tt


@pytest.fixture
def edited_since(world):
    """Current roots a true row maps to, that were edited after the row was set."""
    table = world.table("proofreading_status")
    rows = table[table["proofread"].astype(bool) & (table["valid_id"] != table["pt_root_id"])]
    roots = sorted({int(r) for r in rows["pt_root_id"]})
    assert roots, "the world has a neuron marked proofread and edited since"
    return roots


def test_the_legacy_rule_reads_a_marked_then_edited_neuron_as_proofread(local_cave,
                                                                        edited_since):
    assert tt.check_seg_proofread_status(local_cave.datastack(), edited_since) == [
        True] * len(edited_since)


def test_are_proofread_keeps_the_strict_rule(ds, edited_since):
    assert ds.segments(edited_since).are_proofread().tolist() == [False] * len(edited_since)
    status = ds.segments(edited_since).proofreading_status()
    assert set(status["status"]) == {"ancestor proofread"}


def test_the_marked_column_holds_the_legacy_rule(ds, world, edited_since):
    table = world.table("proofreading_status")
    false_rows = [int(r) for r in table.loc[~table["proofread"].astype(bool), "pt_root_id"]]
    listed = set(table["pt_root_id"].astype("int64"))
    unlisted = [int(r) for r in world.latest_roots_now() if int(r) not in listed][:1]
    frame = ds.segments(edited_since + false_rows + unlisted).proofreading_status()
    assert frame["marked"].tolist() == [True] * len(edited_since) + [False] * (
        len(false_rows) + len(unlisted))


def test_a_neuron_marked_and_not_edited_is_proofread_under_both_rules(local_cave, ds, world):
    table = world.table("proofreading_status")
    rows = table[table["proofread"].astype(bool) & (table["valid_id"] == table["pt_root_id"])]
    roots = sorted({int(r) for r in rows["pt_root_id"]})
    assert ds.segments(roots).are_proofread().all()
    assert all(tt.check_seg_proofread_status(local_cave.datastack(), roots))


def test_legacy_gsheet_add_seg_details_writes_the_legacy_rule(local_cave, local_sheets,
                                                               edited_since):
    key = local_sheets.create("book", tabs={"T": [["segment_id"], [str(edited_since[0])]]})
    tt.gsheet_add_seg_details(local_cave.datastack(), key, "T", volume=False,
                              cable_length=False, synapse_counts=False)
    assert local_sheets.values(key, "T")[1] == [str(edited_since[0]), str(edited_since[0]), True]


def test_the_new_sheet_fill_writes_the_strict_rule(local_cave, local_sheets, edited_since):
    from tracertools.storage.sheet import Sheet

    key = local_sheets.create("book", tabs={"T": [["segment_id"], [str(edited_since[0])]]})
    Sheet(key).tab("T").add_segment_details(local_cave.datastack(), volume=False,
                                            cable_length=False, synapse_counts=False)
    assert local_sheets.values(key, "T")[1] == [str(edited_since[0]), str(edited_since[0]), False, ""]
