"""Package-level promises: light import, typed, public surface, migration table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tracertools as tt

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ["caveclient", "cloudvolume", "cloudfiles", "gspread", "trimesh", "nglui", "neuroglancer",
         "microviewer", "vtk", "scipy", "osteoid", "manifold3d", "pyarrow", "requests"]

CATALOG = """
get_anno_array_from_state_file get_bones get_cable_lengths get_cave_stacks get_cave_stack_info
get_cave_stack_tables get_cave_table get_cave_table_info get_config get_current_seg_ids
get_json_state_from_url get_mesh_triangles get_original_seg_ids get_roots_from_points
get_seg_3d_volume get_seg_changelog get_seg_details get_seg_edits get_seg_from_sv
get_seg_skeletons get_svs_from_seg get_supported_configs
make_anno_layer make_bucket_volume_from_obj make_color_list make_edits_link
make_local_volume_from_obj make_mesh_from_points make_ng_link make_objs_from_state_file
make_point_cloud_from_state_file make_volume_mesh_from_state_file make_volume_packaging
bucket_convert_colons bucket_copy_folder bucket_delete_file bucket_delete_folder
bucket_download_file bucket_download_folder bucket_move_file bucket_rename_file
bucket_upload_file bucket_upload_folder
calc_3d_distance calc_avg_point_coords calc_bbox_corners_from_center
calc_line_triangle_intersect calc_seg_mesh_intersect calc_skeleton_mesh_intersect
gsheet_add_column gsheet_add_row gsheet_add_seg_details gsheet_get_col_as_list
gsheet_get_tab_as_df
check_seg_freshness check_seg_proofread_status
count_synapses count_user_sv_contribution
triage_segs
convert_coord_res host_ng_volume_locally visualize_skeletons
""".split()


def test_catalog_has_62_names():
    assert len(set(CATALOG)) == 62


def test_import_is_light():
    code = (
        "import sys, tracertools\n"
        f"heavy = {HEAVY!r}\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_package_is_typed():
    assert (Path(tt.__file__).parent / "py.typed").is_file()


def test_all_is_unique_and_resolvable():
    assert len(tt.__all__) == len(set(tt.__all__))
    for name in tt.__all__:
        assert hasattr(tt, name), name


def _migration_rows() -> dict[str, str]:
    text = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\| ([a-z_0-9]+) \| (.+) \| (available|planned) \|$", line)
        if match:
            rows[match.group(1)] = match.group(3)
    return rows


def test_migration_table_names_every_catalog_entry_once():
    assert sorted(_migration_rows()) == sorted(CATALOG)


def test_available_shims_are_importable_and_planned_ones_are_not_stubs():
    rows = _migration_rows()
    for name, status in rows.items():
        if status == "available":
            assert callable(getattr(tt, name, None)), f"{name} is marked available"
        else:
            assert not hasattr(tt, name), f"{name} is exported; mark it available"


def test_legacy_package_exports_every_shim_of_its_modules():
    import importlib
    import pkgutil

    from tracertools import legacy

    expected = set()
    for info in pkgutil.iter_modules(legacy.__path__):
        expected |= set(importlib.import_module(f"tracertools.legacy.{info.name}").__all__)
    assert sorted(legacy.__all__) == sorted(expected)
    assert set(legacy.__all__) <= set(tt.__all__)
