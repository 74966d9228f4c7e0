"""A reference table (``cell_types`` -> ``nuclei``) as the real engine serves it."""

from __future__ import annotations

import datetime as dt


def test_its_metadata_names_the_target(client):
    assert client.materialize.get_table_metadata("cell_types")["reference_table"] == "nuclei"
    assert client.materialize.get_table_metadata("nuclei")["reference_table"] is None


def test_a_materialized_query_merges_the_target_by_default(client, world):
    df = client.materialize.query_table("cell_types", split_positions=True)
    assert {"target_id", "cell_type", "id_ref", "created_ref", "pt_root_id"} <= set(df.columns)
    nuclei = world.table("nuclei", version=3).set_index("id")
    for _, row in df.iterrows():
        assert row["id_ref"] == row["target_id"]
        assert row["pt_root_id"] == nuclei.loc[row["target_id"], "pt_root_id"]


def test_merge_reference_false_gives_the_reference_rows_alone(client, world):
    df = client.materialize.query_table("cell_types", merge_reference=False)
    assert list(df.columns) == ["id", "created", "valid", "target_id", "classification_system",
                                "cell_type"]
    assert len(df) == len(world.tables["cell_types"].data["id"])


def test_a_live_query_does_not_merge(client):
    df = client.materialize.live_live_query("cell_types", dt.datetime.now(dt.timezone.utc))
    assert "pt_root_id" not in df.columns
