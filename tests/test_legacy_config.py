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
