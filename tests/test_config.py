"""DatastackConfig: presets, the tracer-format dict, validation, the user file and registration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tracertools.config import (
    DatasetInfo,
    DatastackConfig,
    ProofreadingTableConfig,
    SourceUrls,
    SynapseTableConfig,
    ViewerDefaults,
    known_datastacks,
    load_config,
    presets,
    user_aliases,
    user_config_path,
)
from tracertools.errors import ConfigError, MissingFeatureError, UnknownDatastackError

BANC = "brain_and_nerve_cord"
SECRET = "s3cr3t-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def isolated_user_file(tmp_path, monkeypatch):
    """Point the user config file at a path that does not exist, unless a test writes it."""
    path = tmp_path / "datastacks.toml"
    monkeypatch.setenv("TRACERTOOLS_CONFIG", str(path))
    return path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def minimal(name: str = "foo", **fields: Any) -> DatastackConfig:
    return DatastackConfig(name=name, resolution=(4, 4, 40), **fields)


# ------------------------------------------------------------------------------------------
# Golden data: the seven-datastack table of the original configs.py, transcribed.
# ------------------------------------------------------------------------------------------

STACKS = (
    "brain_and_nerve_cord",
    "flywire_fafb_production",
    "male_adult_nerve_cord",
    "minnie65_phase3_v1",
    "mrgd",
    "stroeh_mouse_retina",
    "zheng_ca3",
)


class Prefix(str):
    """A description the original table truncated: compare by prefix."""


ABSENT = object()
_SYN = ("pre_pt_position", "post_pt_position", "pre_pt_root_id", "post_pt_root_id")
_SV = ("pre_pt_supervoxel_id", "post_pt_supervoxel_id")
_N = None
_SKEL = "precomputed://middleauth+https://minnie.microns-daf.com/skeletoncache/api/v1/{}/precomputed/skeleton"
_MINNIE = "https://minnie.microns-daf.com"
_SPELUNKER = "https://spelunker.cave-explorer.org/"
_FLYEM_ROI = "precomputed://gs://flyem-vnc-roi-d5f392696f7a48e27f49fa1a9db5ee3b/"
_MANC_PARTNERS = (
    "precomputed://gs://manc-seg-v1p2/manc-v1.2-synapse-partners-minconf-0.0.precomputed"
)

# key -> values for STACKS, in order
GOLDEN: dict[str, tuple[Any, ...]] = {
    "dataset_name": (BANC, "fafb_seung_alignment_v0", _N, "minnie65_phase3", "mrgd", "stroeh_mouse_retina", "zheng_ca3"),
    "dataset_display_name": ("BANC", "FAFB_v14", _N, "Minnie65", "MrgD", _N, "Zheng CA3"),
    "dataset_id": (9, 2, _N, 1, 10, 14, 12),
    "dataset_description": (
        Prefix('The BANC (said "the bank") is the Brain And Nerve Cord, a'),
        "The seung lab's realignment of the FAFB dataset",
        _N,
        Prefix("This is the second alignment of the IARPA 'minnie65' data"),
        "Mouse dorsal spine",
        _N,
        _N,
    ),
    "datastack_description": (
        _N,
        "The production segmentation for the flywire segmentation",
        _N,
        "This is the first version of Minnie that has proofreading enabled. Was first enabled on June 24, 2020.",
        _N, _N, _N,
    ),
    "resolution": ([4, 4, 45], [4, 4, 40], [8, 8, 8], [4, 4, 40], [4, 4, 45], [16, 16, 40], [18, 18, 45]),
    "volume_size": ([262144, 294912, 7010], [270336, 147456, 7062], [], [384848, 262102, 13008], [201727, 82943, 498], [81920, 81920, 2065], [51420, 57384, 2047]),
    "min_coord": ([0, 0, 0], [0, 0, 0], [], [52770, 60616, 14850], [0, 0, 0], [0, 0, 0], [20511, 19839, 96]),
    "max_coord": ([262143, 294911, 7009], [270335, 147455, 7061], [], [437618, 322718, 27858], [201727, 82943, 498], [81919, 81919, 2064], [71931, 77223, 2143]),
    "center_coord": ([131027, 147460, 3505], [135168, 73728, 3531], [], [245194, 191667, 21354], [100863, 41471, 249], [40960, 40960, 1032], [46221, 48531, 1119]),
    "em_source_url": (
        "precomputed://gs://seunglab_lee_fly_cns_001_alignment/aligned/v0",
        "precomputed://gs://flywire_em/aligned/v1",
        "precomputed://gs://flyem-vnc-2-26-213dba213ef26e094c16c860ae7f4be0/v3_emdata_clahe_xy/jpeg",
        "precomputed://https://bossdb-open-data.s3.amazonaws.com/iarpa_microns/minnie/minnie65/em",
        "precomputed://gs://zetta_lee_mouse_spinal_cord_001_image/dorsal_sections/dorsal_sections_500_jpeg",
        "precomputed://gs://stroeh_sem_mouse_retina/image/v2",
        "precomputed://gs://zheng_mouse_hippocampus_production/v2/img_aligned_sharded_18nm",
    ),
    "seg_source_url": (
        "graphene://middleauth+https://cave.fanc-fly.com/segmentation/table/wclee_fly_cns_001",
        "graphene://https://prodv1.flywire-daf.com/segmentation/1.0/fly_v31",
        "precomputed://gs://manc-seg-v1p2/manc-seg-v1.2",
        "graphene://middleauth+https://minnie.microns-daf.com/segmentation/table/minnie3_v1",
        "graphene://https://cave.fanc-fly.com/segmentation/table/mouse_dorsal_spine",
        "graphene://middleauth+https://minnie.microns-daf.com/segmentation/table/stroeh_mouse_retina",
        "graphene://middleauth+https://minnie.microns-daf.com/segmentation/table/zheng_ca3",
    ),
    "skeleton_source_url": (
        "precomputed://https://cave.fanc-fly.com/skeletoncache/api/v1/brain_and_nerve_cord/precomputed/skeleton",
        "precomputed://https://prod.flywire-daf.com/skeletoncache/api/v1/flywire_fafb_production/precomputed/skeleton",
        _N,
        _SKEL.format("minnie65_phase3_v1"),
        _N,
        _SKEL.format("stroeh_mouse_retina"),
        _SKEL.format("zheng_ca3"),
    ),
    "synapse_table_name": ("synapses_v2", "synapses_nt_v1", _N, "synapses_pni_2", _N, _N, "synapses_ca3_v1"),
    "syn_pre_coord_col": (_SYN[0], _SYN[0], _N, _SYN[0], _N, _N, _SYN[0]),
    "syn_post_coord_col": (_SYN[1], _SYN[1], _N, _SYN[1], _N, _N, _SYN[1]),
    "syn_pre_seg_col": (_SYN[2], _SYN[2], _N, _SYN[2], _N, _N, _SYN[2]),
    "syn_post_seg_col": (_SYN[3], _SYN[3], _N, _SYN[3], _N, _N, _SYN[3]),
    "syn_pre_sv_col": (_SV[0], _SV[0], _N, _SV[0], _N, _N, _SV[0]),
    "syn_post_sv_col": (_SV[1], _SV[1], _N, _SV[1], _N, _N, _SV[1]),
    "syn_nt_cols": (_N, ["ach", "da", "gaba", "glut", "oct", "ser"], _N, _N, _N, _N, _N),
    "syn_cleft_score_col": (_N, "cleft_score", _N, _N, _N, _N, _N),
    "cell_info_table_name": ("cell_info", "neuron_information_v2", _N, _N, _N, _N, _N),
    "soma_table_name": (_N, "nuclei_v1", _N, "nucleus_neuron_svm", _N, _N, _N),
    "proofreading_table_name": ("backbone_proofread", "proofreading_status_public_v1", _N, _N, _N, _N, _N),
    "proofreading_table_seg_col": ("pt_root_id", "pt_root_id", _N, _N, _N, _N, _N),
    "proofreading_table_status_col": ("proofread", "proofread", _N, _N, _N, _N, _N),
    "local_server_url": ("https://cave.fanc-fly.com", "https://prod.flywire-daf.com", _N, _MINNIE, "https://cave.fanc-fly.com", _MINNIE, _MINNIE),
    "viewer_site_url": (_SPELUNKER, "https://ngl.flywire.ai/", _N, _SPELUNKER, "https://neuromancer-seung-import.appspot.com", "https://spelunker.cave-explorer.org", _SPELUNKER),
    "main_stack_mesh_url": (
        "precomputed://gs://lee-lab_brain-and-nerve-cord-fly-connectome/region_outlines",
        "precomputed://gs://flywire_neuropil_meshes/whole_neuropil/brain_mesh_v141.surf",
        _FLYEM_ROI + "all-vnc-roi",
        _N, _N, _N, _N,
    ),
    "neuropil_mesh_url": (
        _N,
        "precomputed://gs://flywire_neuropil_meshes/neuropils/neuropil_mesh_v141_v3",
        _FLYEM_ROI + "roi-202208",
        _N, _N, _N, _N,
    ),
    "default_view_point": ([125563, 118181, 2850], [131071, 147456, 3505], _N, [245194, 191667, 21354], [100863, 41471, 249], [36501, 42459, 1032], [46221, 48531, 1119]),
    "default_zoom_2d": (4.12, 13.2, 10, 3, 8, 1.6, 1.65),
    "default_zoom_3d": (360849, 9600, 10000, 1215104, 14764, 93293, 66402),
    "default_angle_3d": ([0, 1, 0, 0], [0, 0, 0, -1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]),
    "shortlink_server_url": (_N, "https://globalv1.flywire-daf.com/nglstate/post", _N, _N, _N, _N, _N),
    "swamp_source_url": ("https://c10s.pni.princeton.edu/tracers/swamps/banc/main|neuroglancer-precomputed:", _N, _N, _N, _N, _N, _N),
    "swamp_ids": ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], _N, _N, _N, _N, _N, _N),
    "manc_seg_source_url": (
        "precomputed://gs://lee-lab_brain-and-nerve-cord-fly-connectome/imported_meshes/manc_v1.2.1_meshes_elastix_tpsreg_240721",
        ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT,
    ),
    "proofreading_review_table_name": (ABSENT, "proofreading_review_public_v1", ABSENT, ABSENT, ABSENT, ABSENT, ABSENT),
    "nerve_mesh_source_url": (ABSENT, ABSENT, _FLYEM_ROI + "nerve-roi-202301", ABSENT, ABSENT, ABSENT, ABSENT),
    "presyn_anno_layer_source_url": (ABSENT, ABSENT, _MANC_PARTNERS, ABSENT, ABSENT, ABSENT, ABSENT),
    "postsyn_anno_layer_source_url": (ABSENT, ABSENT, _MANC_PARTNERS, ABSENT, ABSENT, ABSENT, ABSENT),
}  # fmt: skip

COMMON_KEYS = list(GOLDEN)[:38]


def _same(actual: Any, expected: Any) -> bool:
    """Equal, and of the same type (int vs float, list vs tuple), element by element."""
    if isinstance(expected, Prefix):
        return isinstance(actual, str) and actual.startswith(expected)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and actual == expected


# ------------------------------------------------------------------------------------------
# Presets
# ------------------------------------------------------------------------------------------


def test_presets_are_the_seven_original_datastacks_plus_demo():
    assert presets() == sorted([*STACKS, "demo"])


@pytest.mark.parametrize("name", presets())
def test_each_preset_loads_as_a_frozen_config_with_its_name(name):
    config = load_config(name)
    assert isinstance(config, DatastackConfig)
    assert config.name == name
    assert len(config.resolution) == 3 and all(r > 0 for r in config.resolution)
    assert config.model_config["frozen"] is True


def test_cave_hosted_presets_use_the_global_server_and_manc_has_none():
    for name in STACKS:
        expected = None if name == "male_adult_nerve_cord" else "https://global.daf-apis.com"
        assert load_config(name).server_address == expected


def test_banc_preset_has_the_triage_mesh_and_eleven_swamp_ids():
    sources = load_config(BANC).sources
    assert sources.triage_mesh == "nokura://tracers/triage_meshes/banc/image"
    assert sources.swamp_ids == tuple(range(1, 12))
    assert sources.swamp.endswith("/tracers/swamps/banc/main|neuroglancer-precomputed:")


def test_demo_preset_describes_the_local_synthetic_world():
    demo = load_config("demo")
    assert demo.resolution == (4.0, 4.0, 45.0)
    assert demo.server_address is None and demo.local_server_url is None
    assert demo.sources.segmentation == "graphene://http://127.0.0.1/segmentation/table/demo_table"
    assert demo.sources.em is None and demo.sources.skeleton is None
    assert demo.synapse_table == SynapseTableConfig(
        name="synapses",
        pre_coord_col="pre_pt_position",
        post_coord_col="post_pt_position",
        pre_seg_col="pre_pt_root_id",
        post_seg_col="post_pt_root_id",
        pre_sv_col="pre_pt_supervoxel_id",
        post_sv_col="post_pt_supervoxel_id",
    )
    assert demo.synapse_table.nt_cols is None and demo.synapse_table.cleft_score_col is None
    assert demo.proofreading_table == ProofreadingTableConfig(
        name="proofreading_status", seg_col="pt_root_id", status_col="proofread"
    )
    assert demo.cell_info_table_name == "cell_info" and demo.soma_table_name is None
    assert demo.viewer == ViewerDefaults(
        site_url="https://spelunker.cave-explorer.org/",
        view_point=None,
        zoom_2d=1.0,
        zoom_3d=2000,
        angle_3d=(0, 0, 0, 1),
    )
    assert demo.dataset.display_name == "LocalCave demo"
    assert (demo.volume_size, demo.min_coord, demo.max_coord, demo.center_coord) == (None,) * 4


def test_resolution_is_stored_as_floats():
    resolution = load_config(BANC).resolution
    assert resolution == (4.0, 4.0, 45.0)
    assert all(type(r) is float for r in resolution)


def test_config_is_hashable_and_equal_to_a_rebuilt_copy():
    banc = load_config(BANC)
    rebuilt = DatastackConfig(**banc.model_dump())
    assert rebuilt == banc and hash(rebuilt) == hash(banc)


# ------------------------------------------------------------------------------------------
# The tracer-format dict
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", STACKS)
def test_legacy_dict_equals_the_original_table(name):
    column = STACKS.index(name)
    legacy = load_config(name).to_legacy_dict()
    expected_keys = [k for k, v in GOLDEN.items() if v[column] is not ABSENT] + ["here_be_monsters"]
    assert sorted(legacy) == sorted(expected_keys)
    assert list(legacy)[:38] == COMMON_KEYS
    wrong = {
        key: (legacy[key], values[column])
        for key, values in GOLDEN.items()
        if values[column] is not ABSENT and not _same(legacy[key], values[column])
    }
    assert wrong == {}


def test_banc_legacy_dict_includes_here_be_monsters():
    legacy = load_config(BANC).to_legacy_dict()
    assert legacy["here_be_monsters"] == "nokura://tracers/triage_meshes/banc/image"


@pytest.mark.parametrize("name", [s for s in STACKS if s != BANC])
def test_other_legacy_dicts_have_here_be_monsters_none(name):
    assert load_config(name).to_legacy_dict()["here_be_monsters"] is None


def test_legacy_dict_is_a_fresh_object_each_call():
    config = load_config(BANC)
    first = config.to_legacy_dict()
    first["resolution"].append(99)
    first["em_source_url"] = "changed"
    second = config.to_legacy_dict()
    assert second["resolution"] == [4, 4, 45]
    assert second["em_source_url"].startswith("precomputed://gs://seunglab")


@pytest.mark.parametrize("name", presets())
def test_legacy_dict_round_trips(name):
    config = load_config(name)
    assert DatastackConfig.from_legacy_dict(name, config.to_legacy_dict()) == config


def test_from_legacy_dict_accepts_the_older_embedded_key_names():
    legacy = {
        "resolution": [8, 8, 8],
        "volume_size": [],
        "seg_source_url": "precomputed://gs://manc-seg-v1p2/manc-seg-v1.2",
        "nerve_mesh_url": _FLYEM_ROI + "nerve-roi-202301",
        "presyn_anno_layer": _MANC_PARTNERS,
        "here_be_monsters": None,
        "synapse_table_name": None,
        "syn_pre_coord_col": None,
    }
    config = DatastackConfig.from_legacy_dict("old_manc", legacy)
    assert config.sources.extra == {
        "nerve_mesh_source_url": _FLYEM_ROI + "nerve-roi-202301",
        "presyn_anno_layer_source_url": _MANC_PARTNERS,
    }
    assert config.volume_size is None and config.synapse_table is None


def test_from_legacy_dict_reads_the_original_user_guide_banc_output():
    # get_config("brain_and_nerve_cord") as printed in the original user guide (older keys)
    guide = {
        "cell_info_table_name": "cell_info",
        "default_angle_3d": [0, 1, 0, 0],
        "default_view_point": [125563, 118181, 2850],
        "default_zoom_2d": 4.12,
        "default_zoom_3d": 360849,
        "em_source_url": "precomputed://gs://seunglab_lee_fly_cns_001_alignment/aligned/v0",
        "here_be_monsters": "nokura://tracers/triage_meshes/banc/image",
        "local_server_url": "https://cave.fanc-fly.com",
        "main_stack_mesh_url": "precomputed://gs://lee-lab_brain-and-nerve-cord-fly-connectome/region_outlines",
        "manc_seg": "precomputed://gs://lee-lab_brain-and-nerve-cord-fly-connectome/imported_meshes/manc_v1.2.1_meshes_elastix_tpsreg_240721",
        "neuropil_mesh_url": None,
        "proofreading_table_name": "backbone_proofread",
        "proofreading_table_seg_col": "pt_root_id",
        "proofreading_table_status_col": "proofread",
        "resolution": [4, 4, 45],
        "seg_source_url": "graphene://middleauth+https://cave.fanc-fly.com/segmentation/table/wclee_fly_cns_001",
        "shortlink_server_url": None,
        "skeleton_source_url": "precomputed://https://cave.fanc-fly.com/skeletoncache/api/v1/brain_and_nerve_cord/precomputed/skeleton",
        "soma_table_name": None,
        "syn_cleft_score_col": None,
        "syn_nt_cols": None,
        "syn_post_coord_col": "post_pt_position",
        "syn_post_seg_col": "post_pt_root_id",
        "syn_post_sv_col": "post_pt_supervoxel_id",
        "syn_pre_coord_col": "pre_pt_position",
        "syn_pre_seg_col": "pre_pt_root_id",
        "syn_pre_sv_col": "pre_pt_supervoxel_id",
        "synapse_table_name": "synapses_v2",
        "viewer_site_url": "https://spelunker.cave-explorer.org/",
        "volume_size": [262144, 294912, 7010],
    }
    old = DatastackConfig.from_legacy_dict(BANC, guide)
    preset = load_config(BANC)
    assert old.sources.extra == preset.sources.extra
    assert old.sources.triage_mesh == preset.sources.triage_mesh
    assert old.synapse_table == preset.synapse_table
    assert old.proofreading_table == preset.proofreading_table
    assert old.viewer == preset.viewer
    assert old.server_address == preset.server_address
    assert old.sources.swamp is None and old.dataset == DatasetInfo()


def test_from_legacy_dict_rejects_an_unknown_key_naming_it():
    with pytest.raises(ConfigError, match=r"datastack 'foo'.*'colour_of_sky'"):
        DatastackConfig.from_legacy_dict("foo", {"resolution": [4, 4, 40], "colour_of_sky": 1})


def test_from_legacy_dict_names_the_legacy_key_of_a_bad_value():
    with pytest.raises(ConfigError, match=r"field 'syn_nt_cols' \(synapse_table\.nt_cols\)"):
        DatastackConfig.from_legacy_dict(
            "foo", {"resolution": [4, 4, 40], "synapse_table_name": "s", "syn_nt_cols": "ach"}
        )


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------


def test_resolution_with_two_numbers_is_rejected_naming_the_field():
    with pytest.raises(
        ConfigError, match=r"datastack 'foo': field 'resolution': must be 3 positive"
    ):
        DatastackConfig(name="foo", resolution=[4, 4])


def test_negative_resolution_is_rejected():
    with pytest.raises(ConfigError, match=r"field 'resolution': must be 3 positive numbers"):
        DatastackConfig(name="foo", resolution=[4, -4, 40])


def test_resolution_given_as_strings_is_rejected():
    with pytest.raises(ConfigError, match=r"field 'resolution'"):
        DatastackConfig(name="foo", resolution=["4", "4", "40"])


def test_coordinate_with_a_string_is_rejected_naming_the_field():
    with pytest.raises(ConfigError, match=r"field 'center_coord': must be 3 whole numbers"):
        minimal(center_coord=[1, "2", 3])


def test_view_point_with_two_numbers_is_rejected():
    with pytest.raises(ConfigError, match=r"field 'viewer\.view_point': must be 3 numbers"):
        minimal(viewer={"view_point": [1, 2]})


def test_angle_with_three_numbers_is_rejected_naming_the_field():
    with pytest.raises(ConfigError, match=r"field 'viewer\.angle_3d': must be 4 numbers"):
        minimal(viewer={"angle_3d": [0, 0, 1]})


def test_all_zero_angle_is_rejected():
    with pytest.raises(ConfigError, match=r"'viewer\.angle_3d'.*not all zero"):
        minimal(viewer={"angle_3d": [0, 0, 0, 0]})


def test_non_positive_zoom_is_rejected():
    with pytest.raises(ConfigError, match=r"field 'viewer\.zoom_3d': must be a positive number"):
        minimal(viewer={"zoom_3d": 0})


def test_min_coord_above_max_coord_is_rejected():
    with pytest.raises(ConfigError, match="max_coord must be >= min_coord"):
        minimal(min_coord=[10, 0, 0], max_coord=[5, 5, 5])


def test_unknown_url_scheme_is_rejected_naming_the_field():
    with pytest.raises(
        ConfigError, match=r"field 'sources\.em': has an unknown URL scheme 'ftp://'"
    ):
        minimal(sources={"em": "ftp://example.org/em"})


def test_url_without_scheme_is_rejected():
    with pytest.raises(
        ConfigError, match=r"field 'sources\.skeleton': must be a URL with a scheme"
    ):
        minimal(sources={"skeleton": "/data/skeletons"})


def test_wrapped_url_must_itself_be_valid():
    with pytest.raises(ConfigError, match=r"'sources\.segmentation': wraps an invalid URL"):
        minimal(sources={"segmentation": "graphene://ftp://host/table"})


def test_format_prefix_cannot_wrap_another_format_prefix():
    with pytest.raises(ConfigError, match="cannot be nested"):
        minimal(sources={"em": "precomputed://graphene://https://host/x"})


def test_server_address_must_be_http():
    with pytest.raises(
        ConfigError, match=r"field 'server_address': must be an http:// or https://"
    ):
        minimal(server_address="gs://bucket")


@pytest.mark.parametrize(
    "url",
    [
        "precomputed://gs://bucket/path",
        "graphene://middleauth+https://host/segmentation/table/x",
        "precomputed://middleauth+https://host/skeletoncache/api/v1/x/precomputed/skeleton",
        "s3://bucket/path",
        "file:///tmp/volume",
        "mem://volume",
        "https://host/swamps/main|neuroglancer-precomputed:",
        "nokura://tracers/triage_meshes/banc/image",
        "precomputed://matrix://bucket/x",
        "tigerdata://bucket/x",
    ],
)
def test_known_schemes_and_builtin_aliases_are_accepted(url):
    assert minimal(sources={"em": url}).sources.em == url


def test_other_pipe_suffixes_are_rejected():
    with pytest.raises(ConfigError, match="pipe suffix"):
        minimal(sources={"em": "https://host/x|zarr2:"})


def test_url_carrying_a_token_is_rejected_without_echoing_it():
    with pytest.raises(ConfigError) as caught:
        minimal(sources={"em": f"https://host/x?middle_auth_token={SECRET}"})
    assert "must not carry a token" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_url_with_embedded_credentials_is_rejected_without_echoing_them():
    with pytest.raises(ConfigError) as caught:
        minimal(sources={"em": f"precomputed://https://user:{SECRET}@host/x"})
    assert "credentials" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_alias_registered_in_cloudfiles_is_accepted():
    from cloudfiles import paths

    with pytest.raises(ConfigError, match="unknown URL scheme 'tracertest://'"):
        minimal(sources={"em": "tracertest://bucket/x"})
    paths.add_alias("tracertest", "s3://http://127.0.0.1:9/")
    try:
        assert (
            minimal(sources={"em": "tracertest://bucket/x"}).sources.em == "tracertest://bucket/x"
        )
    finally:
        paths.remove_alias("tracertest")


def test_extra_source_keys_must_end_in_url():
    with pytest.raises(ConfigError, match=r"field 'sources\.extra': key 'nerves'"):
        minimal(sources={"extra": {"nerves": "gs://bucket/nerves"}})


def test_extra_source_values_are_validated_as_urls():
    with pytest.raises(ConfigError, match=r"'sources\.extra': key 'nerve_url': has an unknown"):
        minimal(sources={"extra": {"nerve_url": "ftp://bucket/nerves"}})


def test_unknown_field_is_rejected():
    with pytest.raises(ConfigError, match=r"field 'colour': is not a known field"):
        minimal(colour="#ff0000")


def test_missing_resolution_is_reported_as_required():
    with pytest.raises(ConfigError, match=r"datastack 'foo': field 'resolution': is required"):
        DatastackConfig(name="foo")


def test_nested_models_raise_config_error_too():
    with pytest.raises(ConfigError, match=r"SynapseTableConfig: field 'name'"):
        SynapseTableConfig(name="has space")
    with pytest.raises(ConfigError, match=r"SourceUrls: field 'swamp_ids'"):
        SourceUrls(swamp_ids=[1, -2])
    with pytest.raises(ConfigError, match=r"DatasetInfo: field 'dataset_id'"):
        DatasetInfo(dataset_id="nine")


def test_model_validate_raises_config_error():
    with pytest.raises(ConfigError, match=r"datastack 'x': field 'resolution'"):
        DatastackConfig.model_validate({"name": "x", "resolution": [0, 0, 0]})


def test_config_is_frozen():
    config = load_config(BANC)
    with pytest.raises(ValidationError, match="frozen"):
        config.resolution = (1, 1, 1)  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        config.viewer.zoom_2d = 2.0  # type: ignore[misc]
    assert config.resolution == (4, 4, 45)


def test_model_copy_updates_a_copy_and_leaves_the_original():
    demo = load_config("demo")
    local = demo.model_copy(
        update={
            "local_server_url": "http://127.0.0.1:8123",
            "sources": demo.sources.model_copy(
                update={"segmentation": "graphene://http://127.0.0.1:8123/segmentation/table/demo"}
            ),
        }
    )
    assert local.local_server_url == "http://127.0.0.1:8123"
    assert local.sources.segmentation.endswith(":8123/segmentation/table/demo")
    assert demo.local_server_url is None
    assert load_config("demo") == demo


# ------------------------------------------------------------------------------------------
# require()
# ------------------------------------------------------------------------------------------


def test_require_returns_the_value():
    banc = load_config(BANC)
    assert banc.require("synapse_table").name == "synapses_v2"
    assert banc.require("sources.skeleton").startswith("precomputed://https://cave.fanc-fly.com")
    assert banc.require("viewer.site_url") == "https://spelunker.cave-explorer.org/"
    assert banc.require("sources.extra.manc_seg_source_url").endswith("tpsreg_240721")


def test_require_missing_value_raises_missing_feature_error_naming_stack_and_field():
    manc = load_config("male_adult_nerve_cord")
    with pytest.raises(MissingFeatureError) as caught:
        manc.require("synapse_table", "counting synapses")
    assert caught.value.datastack == "male_adult_nerve_cord"
    assert caught.value.field == "synapse_table"
    message = str(caught.value)
    assert "'male_adult_nerve_cord'" in message and "'synapse_table'" in message
    assert "counting synapses" in message
    assert isinstance(caught.value, LookupError) and isinstance(caught.value, ConfigError)


def test_require_through_a_missing_table_names_the_full_path():
    with pytest.raises(MissingFeatureError, match=r"'proofreading_table\.status_col'"):
        load_config("mrgd").require("proofreading_table.status_col")


def test_require_treats_empty_extra_entries_as_missing():
    with pytest.raises(MissingFeatureError, match="'sources.extra.nerve_mesh_source_url'"):
        load_config(BANC).require("sources.extra.nerve_mesh_source_url")


def test_require_with_a_path_that_is_not_a_field_is_a_value_error():
    with pytest.raises(ValueError, match="not a DatastackConfig field path") as caught:
        load_config(BANC).require("synapse_table.colour")
    assert not isinstance(caught.value, MissingFeatureError)


# ------------------------------------------------------------------------------------------
# Lookup
# ------------------------------------------------------------------------------------------


def test_unknown_datastack_raises_a_key_error_listing_known_names():
    with pytest.raises(KeyError) as caught:
        load_config("no_such_stack")
    error = caught.value
    assert isinstance(error, UnknownDatastackError)
    assert error.name == "no_such_stack"
    assert error.known == known_datastacks()
    assert "no_such_stack" in str(error) and "brain_and_nerve_cord, demo" in str(error)


def test_known_datastacks_lists_presets_when_nothing_else_is_configured():
    assert known_datastacks() == presets()


# ------------------------------------------------------------------------------------------
# The user config file
# ------------------------------------------------------------------------------------------


def test_user_config_path_follows_the_environment_variable(isolated_user_file):
    assert user_config_path() == isolated_user_file


def test_user_config_path_falls_back_to_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACERTOOLS_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_config_path() == tmp_path / "xdg" / "tracertools" / "datastacks.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_config_path() == tmp_path / "home" / ".config" / "tracertools" / "datastacks.toml"


def test_user_file_adds_a_datastack(isolated_user_file):
    write(
        isolated_user_file,
        """
[datastacks.my_stack]
server_address = "https://global.daf-apis.com"
resolution = [8, 8, 40]

[datastacks.my_stack.sources]
segmentation = "graphene://https://cave.example.org/segmentation/table/my_table"

[datastacks.my_stack.synapse_table]
name = "synapses_v1"
""",
    )
    assert "my_stack" in known_datastacks()
    config = load_config("my_stack")
    assert config.resolution == (8, 8, 40)
    assert config.sources.segmentation.endswith("/table/my_table")
    assert config.synapse_table is not None
    assert config.synapse_table.name == "synapses_v1"
    assert config.synapse_table.pre_seg_col == "pre_pt_root_id"  # the CAVE default


def test_user_file_overrides_only_the_fields_it_gives(isolated_user_file):
    preset = load_config(BANC)
    write(
        isolated_user_file,
        """
[datastacks.brain_and_nerve_cord.viewer]
zoom_2d = 8

[datastacks.brain_and_nerve_cord.synapse_table]
name = "synapses_v3"
""",
    )
    config = load_config(BANC)
    assert config.viewer.zoom_2d == 8
    assert config.synapse_table.name == "synapses_v3"
    assert config.synapse_table.pre_coord_col == "pre_pt_position"
    assert config.viewer.site_url == preset.viewer.site_url
    assert config.viewer.angle_3d == preset.viewer.angle_3d
    assert config.sources == preset.sources
    assert (
        config.model_copy(update={"viewer": preset.viewer, "synapse_table": preset.synapse_table})
        == preset
    )


def test_user_file_accepts_legacy_flat_keys(isolated_user_file):
    write(
        isolated_user_file,
        """
[datastacks.flat_stack]
resolution = [4, 4, 40]
seg_source_url = "graphene://https://cave.example.org/segmentation/table/t"
synapse_table_name = "synapses"
syn_nt_cols = ["ach", "gaba"]
proofreading_table_name = "proofread_v1"
proofreading_table_status_col = "status"
default_zoom_3d = 5000
volume_size = []
here_be_monsters = "nokura://tracers/triage/x"
my_custom_source_url = "gs://bucket/custom"

[datastacks.brain_and_nerve_cord]
viewer_site_url = "https://my.spelunker.example.org/"
""",
    )
    flat = load_config("flat_stack")
    assert flat.sources.segmentation == "graphene://https://cave.example.org/segmentation/table/t"
    assert flat.synapse_table.name == "synapses"
    assert flat.synapse_table.nt_cols == ("ach", "gaba")
    assert flat.proofreading_table == ProofreadingTableConfig(
        name="proofread_v1", status_col="status"
    )
    assert flat.viewer.zoom_3d == 5000
    assert flat.volume_size is None
    assert flat.sources.triage_mesh == "nokura://tracers/triage/x"
    assert flat.sources.extra == {"my_custom_source_url": "gs://bucket/custom"}
    banc = load_config(BANC)
    assert banc.viewer.site_url == "https://my.spelunker.example.org/"
    assert banc.viewer.zoom_3d == 360849


def test_user_file_false_clears_a_preset_value(isolated_user_file):
    write(
        isolated_user_file,
        """
[datastacks.brain_and_nerve_cord]
synapse_table = false
cell_info_table_name = false
""",
    )
    config = load_config(BANC)
    assert config.synapse_table is None and config.cell_info_table_name is None
    assert config.proofreading_table is not None


def test_invalid_user_file_names_the_file_the_datastack_and_the_field(isolated_user_file):
    write(isolated_user_file, "[datastacks.foo]\nresolution = [4, 4]\n")
    with pytest.raises(ConfigError) as caught:
        load_config("foo")
    assert str(caught.value).startswith(
        f"{isolated_user_file}: datastack 'foo': field 'resolution': must be 3 positive numbers"
    )


def test_invalid_legacy_key_in_user_file_is_named_as_written(isolated_user_file):
    write(
        isolated_user_file,
        '[datastacks.foo]\nresolution = [4, 4, 40]\nem_source_url = "ftp://x/y"\n',
    )
    with pytest.raises(
        ConfigError, match=r"datastack 'foo': field 'em_source_url' \(sources\.em\)"
    ):
        load_config("foo")


def test_new_user_datastack_without_resolution_is_rejected(isolated_user_file):
    write(isolated_user_file, '[datastacks.foo]\nsoma_table_name = "somas"\n')
    with pytest.raises(ConfigError, match=r"datastack 'foo': field 'resolution': is required"):
        load_config("foo")


def test_unknown_key_in_user_file_is_rejected(isolated_user_file):
    write(isolated_user_file, "[datastacks.foo]\nresolution = [4, 4, 40]\nresolutoin = 3\n")
    with pytest.raises(ConfigError, match=r"datastack 'foo': field 'resolutoin': not a known"):
        load_config("foo")


def test_same_field_given_flat_and_nested_is_rejected(isolated_user_file):
    write(
        isolated_user_file,
        '[datastacks.foo]\nresolution = [4, 4, 40]\nviewer_site_url = "https://a.org/"\n'
        '[datastacks.foo.viewer]\nsite_url = "https://b.org/"\n',
    )
    with pytest.raises(ConfigError, match=r"field 'viewer\.site_url': given both"):
        load_config("foo")


def test_user_file_that_is_not_toml_names_the_file(isolated_user_file):
    write(isolated_user_file, "[datastacks.foo\nresolution = \n")
    with pytest.raises(ConfigError, match=rf"^{isolated_user_file}: not valid TOML"):
        load_config("foo")


def test_user_file_with_unknown_top_level_table_is_rejected(isolated_user_file):
    write(isolated_user_file, "[datastack.foo]\nresolution = [4, 4, 40]\n")
    with pytest.raises(ConfigError, match=r"unknown top-level key\(s\) 'datastack'"):
        known_datastacks()


def test_a_bad_entry_does_not_break_other_datastacks(isolated_user_file):
    write(isolated_user_file, "[datastacks.foo]\nresolution = [4, 4]\n")
    assert load_config("mrgd").dataset.display_name == "MrgD"
    assert "foo" in known_datastacks()


def test_user_file_edits_are_picked_up(isolated_user_file):
    write(isolated_user_file, "[datastacks.foo]\nresolution = [4, 4, 40]\n")
    assert load_config("foo").resolution == (4, 4, 40)
    write(isolated_user_file, "[datastacks.foo]\nresolution = [16, 16, 400]\n")
    os.utime(isolated_user_file, ns=(1, 1))  # a different mtime even on coarse filesystems
    assert load_config("foo").resolution == (16, 16, 400)


def test_user_file_aliases_become_accepted_url_schemes(isolated_user_file):
    write(
        isolated_user_file,
        """
[aliases]
labbucket = "s3://https://s3.lab.example.org/"

[datastacks.foo]
resolution = [4, 4, 40]

[datastacks.foo.sources]
em = "precomputed://labbucket://images/em"
""",
    )
    assert user_aliases() == {"labbucket": "s3://https://s3.lab.example.org/"}
    assert load_config("foo").sources.em == "precomputed://labbucket://images/em"
    assert minimal(sources={"swamp": "labbucket://swamps"}).sources.swamp == "labbucket://swamps"


def test_user_alias_cannot_shadow_a_base_scheme(isolated_user_file):
    write(isolated_user_file, '[aliases]\ngs = "s3://https://elsewhere/"\n')
    with pytest.raises(ConfigError, match=r"alias 'gs': not a usable URL scheme name"):
        user_aliases()


def test_importing_config_reads_no_file_and_no_heavy_library(isolated_user_file):
    write(isolated_user_file, "this is not toml [")
    code = (
        "import sys, tracertools.config\n"
        "heavy = {'caveclient', 'cloudfiles', 'cloudvolume', 'gspread', 'trimesh', 'vtk'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------
# No process-wide registry
# ------------------------------------------------------------------------------------------


def test_config_has_no_process_registry():
    import tracertools.config as config_module

    for name in ("register_datastack", "unregister_datastack", "registered_token",
                 "latest_registration"):
        assert not hasattr(config_module, name), name


def test_a_running_localcave_does_not_change_what_a_name_resolves_to(local_cave):
    assert load_config(local_cave.datastack_name) == load_config("demo")
    assert load_config("demo").server_address is None
    assert known_datastacks() == presets()
