"""Test support is opt-in: the pytest plugin loads only when a suite asks for it, and the
runtime modules keep no hooks for stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TEST = "def test_uses_the_fixture(local_cave_session):\n    assert local_cave_session.running\n"
OPT_IN = 'pytest_plugins = ["tracertools.testing.pytest_plugin"]\n'


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    # "-p no:tracertools" only hides the entry point older installs list in their metadata
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:tracertools",
         str(folder)],
        capture_output=True, text=True, cwd=folder, timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_the_package_declares_no_pytest_entry_point():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "pytest11" not in project.get("entry-points", {})


def test_a_suite_without_the_opt_in_has_no_tracertools_fixtures(tmp_path):
    (tmp_path / "test_plain.py").write_text(TEST)
    out = _pytest(tmp_path)
    assert out.returncode != 0
    assert "fixture 'local_cave_session' not found" in out.stdout


def test_one_conftest_line_brings_the_fixtures(tmp_path):
    (tmp_path / "conftest.py").write_text(OPT_IN)
    (tmp_path / "test_plain.py").write_text(TEST)
    out = _pytest(tmp_path)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "1 passed" in out.stdout


@pytest.mark.parametrize(("module", "hooks"), [
    ("tracertools.config", ["register_datastack", "registered_token", "latest_registration"]),
    ("tracertools.storage.sheet", ["register_local_server", "local_server", "local_server_url"]),
])
def test_runtime_modules_keep_no_stand_in_registries(module, hooks):
    import importlib

    loaded = importlib.import_module(module)
    assert [h for h in hooks if hasattr(loaded, h)] == []
