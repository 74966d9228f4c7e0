"""Legacy get_config / get_supported_configs keep the original shapes, minus the print-and-None."""

from __future__ import annotations

import pytest

import tracertools as tt

SEVEN = ["brain_and_nerve_cord", "flywire_fafb_production", "male_adult_nerve_cord",
         "minnie65_phase3_v1", "mrgd", "stroeh_mouse_retina", "zheng_ca3"]


def test_get_config_returns_the_original_dict_shape_for_banc():
    cfg = tt.get_config("brain_and_nerve_cord")
    assert cfg["resolution"] == [4, 4, 45]
    assert cfg["synapse_table_name"] == "synapses_v2"
    assert cfg["proofreading_table_status_col"] == "proofread"
    assert cfg["here_be_monsters"] == "nokura://tracers/triage_meshes/banc/image"
    assert cfg["default_zoom_2d"] == 4.12


def test_get_config_returns_a_fresh_dict_each_call():
    first = tt.get_config("brain_and_nerve_cord")
    first["resolution"] = None
    assert tt.get_config("brain_and_nerve_cord")["resolution"] == [4, 4, 45]


def test_get_config_raises_key_error_for_unknown_names():
    with pytest.raises(KeyError, match="no_such_stack"):
        tt.get_config("no_such_stack")


def test_get_supported_configs_lists_every_preset_as_a_usable_name():
    names = tt.get_supported_configs()
    assert set(SEVEN) <= set(names)
    for name in names:
        assert isinstance(tt.get_config(name), dict)


def test_get_supported_configs_leaves_out_the_demo_world():
    assert "demo" not in tt.get_supported_configs()
    assert tt.get_config("demo")["resolution"] == [4, 4, 45]  # still usable by name


def test_get_config_descriptions_are_the_original_texts():
    assert tt.get_config("brain_and_nerve_cord")["dataset_description"] == (
        'The BANC (said "the bank") is the Brain And Nerve Cord, a GridTape transmission '
        "electron microscopy dataset of a female adult Drosophila melanogaster's entire central "
        "nervous system. Visit https://banc.community for more information."
    )
    assert tt.get_config("minnie65_phase3_v1")["dataset_description"] == (
        "This is the second alignment of the IARPA 'minnie65' dataset, completed in the spring "
        "of 2020 that used the seamless approach."
    )


# -- every key of both original config dicts (spec §8.1 configs.py, §8.2 embedded utils.py) --

NEWER_COMMON = [
    "dataset_name", "dataset_display_name", "dataset_id", "dataset_description",
    "datastack_description", "resolution", "volume_size", "min_coord", "max_coord",
    "center_coord", "em_source_url", "seg_source_url", "skeleton_source_url",
    "synapse_table_name", "syn_pre_coord_col", "syn_post_coord_col", "syn_pre_seg_col",
    "syn_post_seg_col", "syn_pre_sv_col", "syn_post_sv_col", "syn_nt_cols",
    "syn_cleft_score_col", "cell_info_table_name", "soma_table_name", "proofreading_table_name",
    "proofreading_table_seg_col", "proofreading_table_status_col", "local_server_url",
    "viewer_site_url", "main_stack_mesh_url", "neuropil_mesh_url", "default_view_point",
    "default_zoom_2d", "default_zoom_3d", "default_angle_3d", "shortlink_server_url",
    "swamp_source_url", "swamp_ids",
]
NEWER_SPECIFIC = {
    "brain_and_nerve_cord": ["manc_seg_source_url"],
    "flywire_fafb_production": ["proofreading_review_table_name"],
    "male_adult_nerve_cord": ["nerve_mesh_source_url", "presyn_anno_layer_source_url",
                              "postsyn_anno_layer_source_url"],
}
EMBEDDED_COMMON = [
    "resolution", "volume_size", "em_source_url", "seg_source_url", "skeleton_source_url",
    "synapse_table_name", "syn_pre_coord_col", "syn_post_coord_col", "syn_pre_seg_col",
    "syn_post_seg_col", "syn_pre_sv_col", "syn_post_sv_col", "syn_nt_cols",
    "syn_cleft_score_col", "cell_info_table_name", "soma_table_name", "proofreading_table_name",
    "proofreading_table_seg_col", "proofreading_table_status_col", "local_server_url",
    "viewer_site_url", "main_stack_mesh_url", "neuropil_mesh_url", "default_view_point",
    "default_zoom_2d", "default_zoom_3d", "default_angle_3d", "shortlink_server_url",
    "here_be_monsters",
]
EMBEDDED_SPECIFIC = {
    "brain_and_nerve_cord": ["manc_seg"],
    "male_adult_nerve_cord": ["nerve_mesh_url", "presyn_anno_layer", "postsyn_anno_layer"],
}
EMBEDDED_STACKS = ["brain_and_nerve_cord", "flywire_fafb_production", "male_adult_nerve_cord",
                   "stroeh_mouse_retina"]


@pytest.mark.parametrize("name", SEVEN)
def test_get_config_has_every_key_of_the_newer_config_file(name):
    expected = NEWER_COMMON + NEWER_SPECIFIC.get(name, [])
    assert set(expected) <= set(tt.get_config(name))


@pytest.mark.parametrize("name", EMBEDDED_STACKS)
def test_get_config_has_every_key_of_the_embedded_config(name):
    expected = EMBEDDED_COMMON + EMBEDDED_SPECIFIC.get(name, [])
    assert set(expected) <= set(tt.get_config(name))


def test_the_readme_keys_carry_their_sources():
    banc = tt.get_config("brain_and_nerve_cord")
    assert banc["manc_seg"] == banc["manc_seg_source_url"] == (
        "precomputed://gs://lee-lab_brain-and-nerve-cord-fly-connectome/imported_meshes/"
        "manc_v1.2.1_meshes_elastix_tpsreg_240721")
    manc = tt.get_config("male_adult_nerve_cord")
    assert manc["nerve_mesh_url"] == (
        "precomputed://gs://flyem-vnc-roi-d5f392696f7a48e27f49fa1a9db5ee3b/nerve-roi-202301")
    assert manc["presyn_anno_layer"] == manc["postsyn_anno_layer"] == (
        "precomputed://gs://manc-seg-v1p2/manc-v1.2-synapse-partners-minconf-0.0.precomputed")


def test_the_older_names_appear_only_where_the_original_had_them():
    assert "manc_seg" not in tt.get_config("flywire_fafb_production")
    assert "nerve_mesh_url" not in tt.get_config("brain_and_nerve_cord")


# -- get_supported_configs: real datastacks only ---------------------------------------------


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    path = tmp_path / "datastacks.toml"
    monkeypatch.setenv("TRACERTOOLS_CONFIG", str(path))
    return path


def test_get_supported_configs_leaves_out_the_synthetic_demo(user_file):
    assert "demo" in tt.presets()
    assert tt.get_supported_configs() == SEVEN


def test_get_supported_configs_leaves_out_a_running_localcave(user_file, local_cave):
    assert local_cave.datastack_name in tt.known_datastacks()
    assert local_cave.datastack_name not in tt.get_supported_configs()


def test_get_supported_configs_lists_the_users_own_datastacks(user_file):
    user_file.write_text('[datastacks.my_stack]\nresolution = [8, 8, 40]\n'
                         'server_address = "https://cave.example.org"\n')
    assert tt.get_supported_configs() == sorted([*SEVEN, "my_stack"])
