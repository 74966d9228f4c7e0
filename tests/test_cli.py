"""The tracertools command line."""

from __future__ import annotations

import io

from tracertools.cli import main
from tracertools.cli.demo import run_demo


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


def test_serve_runs_localcave_until_interrupted_and_real_clients_can_use_it():
    import os
    import signal
    import subprocess
    import sys

    from caveclient import CAVEclient

    token = "0123456789abcdef0123456789abcdef"
    env = {**os.environ, "TRACERTOOLS_LOCALCAVE_TOKEN": token, "TRACERTOOLS_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "tracertools.cli", "serve"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        url = first.strip().rsplit(" at ", 1)[1]
        assert url.startswith("http://127.0.0.1:")
        rest = proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline()
        assert token not in first + rest  # a token the user chose is never echoed
        client = CAVEclient(server_address=url, auth_token=token, global_only=True,
                            write_server_cache=False)
        assert "demo" in client.info.get_datastacks()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
