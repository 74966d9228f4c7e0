"""The tracertools command line."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

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


TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def start_serve() -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Starts ``tracertools serve`` in a subprocess; kills any still running after the test."""
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        env = {**os.environ, "TRACERTOOLS_LOCALCAVE_TOKEN": TOKEN, "TRACERTOOLS_PROGRESS": "0"}
        proc = subprocess.Popen([sys.executable, "-m", "tracertools.cli", "serve"],
                                stdout=subprocess.PIPE, text=True, env=env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def serving_url(proc: subprocess.Popen[str]) -> str:
    """The URL from the first line ``serve`` prints, once the other three lines are read too."""
    assert proc.stdout is not None
    first = proc.stdout.readline()
    rest = proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline()
    assert TOKEN not in first + rest  # a token the user chose is never echoed
    return first.strip().rsplit(" at ", 1)[1]


def test_serve_runs_localcave_until_interrupted_and_real_clients_can_use_it(start_serve):
    from caveclient import CAVEclient

    proc = start_serve()
    url = serving_url(proc)
    assert url.startswith("http://127.0.0.1:")
    client = CAVEclient(server_address=url, auth_token=TOKEN, global_only=True,
                        write_server_cache=False)
    assert "demo" in client.info.get_datastacks()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0


def test_serve_stops_on_ctrl_c_when_started_with_sigint_ignored(sigint_ignored, start_serve):
    proc = start_serve()  # inherits the ignored SIGINT, as from a background job
    serving_url(proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.strip().endswith("stopping")


def test_serve_stops_cleanly_on_sigterm(start_serve):
    proc = start_serve()
    serving_url(proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.strip().endswith("stopping")
