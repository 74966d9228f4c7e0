"""The tracertools command line."""

from __future__ import annotations

import io

from tracertools.cli import main
from tracertools.demo import run_demo


def test_demo_tours_the_sdk_and_agrees_with_the_ground_truth():
    out = io.StringIO()
    assert run_demo(out=out) == 0
    text = out.getvalue()
    assert "agreed with the ground truth" in text
    assert "FAILED" not in text


def test_presets_command_lists_the_shipped_datastacks(capsys):
    assert main(["presets"]) == 0
    assert "brain_and_nerve_cord" in capsys.readouterr().out


def test_config_path_command_prints_the_user_file(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACERTOOLS_CONFIG", str(tmp_path / "mine.toml"))
    assert main(["config-path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "mine.toml")
