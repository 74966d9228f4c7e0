"""The package layout: public import paths that keep working, and the checked layer contract."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tracertools as tt

ROOT = Path(__file__).resolve().parents[1]

#: Every public import path users and the docs rely on: (module, name).
PUBLIC_PATHS = [
    ("tracertools", "Datastack"),
    ("tracertools", "Segment"),
    ("tracertools", "SegmentList"),
    ("tracertools", "Skeleton"),
    ("tracertools", "Mesh"),
    ("tracertools", "Bucket"),
    ("tracertools", "Sheet"),
    ("tracertools", "color_list"),
    ("tracertools", "presets"),
    ("tracertools", "datastacks"),
    ("tracertools.segment", "Segment"),  # old path, kept as a re-export module
    ("tracertools.segment", "SegmentList"),
    ("tracertools.sheet", "Sheet"),  # old path, kept as a re-export module
    ("tracertools.sheet", "Tab"),
    ("tracertools.segments", "SegmentList"),
    ("tracertools.storage", "Bucket"),
    ("tracertools.storage", "Sheet"),
    ("tracertools.storage.bucket", "convert_colons"),
    ("tracertools.geometry", "distance"),
    ("tracertools.geometry", "segment_triangle_intersections"),
    ("tracertools.geometry.mesh", "Mesh"),
    ("tracertools.geometry.skeleton", "Skeleton"),
    ("tracertools.geometry.viewer", "serve_precomputed"),
    ("tracertools.geometry.precomputed", "create_volume"),
    ("tracertools.geometry.alpha_shape", "alpha_shape"),
    ("tracertools.ngl", "State"),
    ("tracertools.ngl", "annotation_layer"),
    ("tracertools.ngl.colors", "color_list"),
    ("tracertools.ngl.state_meshes", "convex_hulls"),
    ("tracertools.config", "DatastackConfig"),
    ("tracertools.config", "load_config"),
    ("tracertools.errors", "TracertoolsError"),
    ("tracertools.ids", "as_segment_ids"),
    ("tracertools.batch", "run_per_item"),
    ("tracertools.datastack", "Datastack"),
    ("tracertools.testing", "LocalCave"),
    ("tracertools.testing", "World"),
    ("tracertools.testing.sheets", "LocalSheets"),
    ("tracertools.testing.s3", "LocalS3"),
    ("tracertools.cli", "main"),
    ("tracertools.cli.demo", "run_demo"),
]


@pytest.mark.parametrize(("module", "name"), PUBLIC_PATHS, ids=[f"{m}.{n}" for m, n in PUBLIC_PATHS])
def test_public_import_path_resolves(module, name):
    assert hasattr(importlib.import_module(module), name)


def test_old_paths_name_the_same_objects_as_the_new_ones():
    from tracertools.segment import SegmentList
    from tracertools.sheet import Sheet

    assert SegmentList is tt.SegmentList
    assert Sheet is tt.Sheet


def test_every_legacy_name_and_the_alias_resolve_from_the_top():
    from test_package import CATALOG

    for name in [*CATALOG, "get_anno_array_from_json_state_file"]:
        assert callable(getattr(tt, name)), name


def test_at_most_about_a_dozen_entries_sit_directly_under_the_package():
    package = ROOT / "tracertools"
    entries = [p.name for p in package.iterdir()
               if p.name not in {"__init__.py", "py.typed", "__pycache__"}]
    assert len(entries) <= 15, sorted(entries)


def test_every_subpackage_says_what_lives_there_and_what_it_may_import():
    for init in (ROOT / "tracertools").glob("*/__init__.py"):
        doc = importlib.import_module(f"tracertools.{init.parent.name}").__doc__ or ""
        assert doc.strip(), init
        if init.parent.name not in {"legacy", "testing", "cli"}:
            assert "May import" in doc, init


def test_the_layer_contract_holds():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is part of the test extras; install them: pip install '.[test]'"
    out = subprocess.run([lint, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_only_the_cave_package_calls_the_cave_client():
    """Outside ``tracertools/cave`` (and the stand-ins) nothing reaches a CAVEclient's services."""
    import ast

    services = {"info", "chunkedgraph", "materialize", "annotation", "l2cache", "skeleton",
                "state", "schema", "auth"}
    offenders = []
    for path in sorted((ROOT / "tracertools").rglob("*.py")):
        part = path.relative_to(ROOT / "tracertools").parts[0]
        if part in {"cave", "testing"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or not isinstance(node.value, ast.Attribute):
                continue
            through_client = node.value.attr == "client"  # x.client.anything
            through_seam = node.value.attr in {"cave", "_cave"} and node.attr in services
            if through_client or through_seam:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
