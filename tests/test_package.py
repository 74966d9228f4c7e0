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


def test_all_is_sorted():
    assert tt.__all__ == sorted(tt.__all__)


def _fresh_import(code: str) -> str:
    """Run ``code`` after a fresh ``import tracertools as tt`` (no test runner around it)."""
    out = subprocess.run([sys.executable, "-c", "import tracertools as tt\n" + code],
                         capture_output=True, text=True, check=True, cwd=ROOT, timeout=120)
    return out.stdout.strip()


def test_all_names_exactly_the_public_attributes():
    extra, missing = _fresh_import(
        "public = {n for n in vars(tt) if not n.startswith('_')}\n"
        "print(sorted(public - set(tt.__all__)), '|', sorted(set(tt.__all__) - public))"
    ).split("|")
    assert extra.strip() == "[]" and missing.strip() == "[]"


def test_no_foreign_module_leaks_into_the_package():
    found = _fresh_import(
        "import types\n"
        "print(sorted(n for n, v in vars(tt).items() if isinstance(v, types.ModuleType)"
        " and not n.startswith('_') and v.__name__ != f'tracertools.{n}'))"
    )
    assert found == "[]"  # e.g. no tt.logging; and no tt.annotations (a __future__ feature)


def test_public_types_come_from_public_modules():
    from tracertools import batch, config, ids, segments

    assert tt.Candidate is segments.Candidate is ids.Candidate
    assert tt.ErrorPolicy is batch.ErrorPolicy
    assert tt.HttpPolicy is config.HttpPolicy
    for name in tt.__all__:
        obj = getattr(tt, name)
        module = getattr(obj, "__module__", None)
        if isinstance(obj, type) and module:
            assert not any(part.startswith("_") for part in module.split(".")), (name, module)


def test_service_errors_carry_the_http_status():
    assert tt.ServiceError("x", status=503).status == 503
    assert tt.ServiceError("x").status is None
    assert tt.RateLimitedError("x").status == 429
    assert tt.SegmentNotFoundError([1]).status is None


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


def _documented_modules() -> set[str]:
    """Modules the API reference documents (``::: module`` lines of docs/api/*.md)."""
    found = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        found |= set(re.findall(r"^::: (tracertools[\w.]*)$", page.read_text(), re.M))
    return found


#: Packages whose __init__ is their public face (their names come from __all__).
PUBLIC_PACKAGES = {"tracertools", "tracertools.config", "tracertools.errors",
                   "tracertools.geometry", "tracertools.ngl", "tracertools.segments",
                   "tracertools.storage", "tracertools.testing"}


def test_shims_use_only_the_public_api():
    import ast
    import importlib

    public = _documented_modules() | PUBLIC_PACKAGES
    offenders = []
    for path in sorted((ROOT / "tracertools" / "legacy").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tracertools"):
                module = node.module or ""
                if module.startswith("tracertools.legacy"):
                    continue  # the shims' own package
                names = [a.name for a in node.names]
                if module not in public:
                    offenders.append(f"{where}: {module}")
                    continue
                exported = getattr(importlib.import_module(module), "__all__", None)
                for name in names:
                    submodule = f"{module}.{name}"
                    if name.startswith("_") or (exported is not None and name not in exported
                                                and submodule not in public):
                        offenders.append(f"{where}: {module}.{name}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                offenders.append(f"{where}: .{node.attr}")
    assert offenders == []
