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
