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
from tracertools.cli.demo import run_demo


def test_demo_tours_the_sdk_and_agrees_with_the_ground_truth():
    out = io.StringIO()
    assert run_demo(out=out) == 0
    text = out.getvalue()
    assert "agreed with the ground truth" in text
    assert "FAILED" not in text


def test_demo_shows_the_code_and_inputs_of_every_step_and_ends_with_next_steps():
    out = io.StringIO()
    run_demo(out=out)
    text = out.getvalue()
    steps = text.count("\n[")
    assert steps == 9
    assert text.count("    inputs: ") == steps
    assert ">>> ds.segments(ids).are_fresh()" in text
    assert "IDs the world's edits left stale" in text  # where the stale IDs come from
    assert text.rstrip().splitlines()[-1].strip().startswith("docs/migration.md")
    assert "Next steps:" in text and "tracertools serve" in text


def test_presets_command_lists_the_shipped_datastacks(capsys):
    assert main(["presets"]) == 0
    assert "brain_and_nerve_cord" in capsys.readouterr().out


def test_config_path_command_prints_the_user_file(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACERTOOLS_CONFIG", str(tmp_path / "mine.toml"))
    assert main(["config-path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "mine.toml")


TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def start_serve() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Starts ``tracertools serve`` in a subprocess; kills any still running after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> subprocess.Popen[str]:
        env = {**os.environ, "TRACERTOOLS_LOCALCAVE_TOKEN": TOKEN, "TRACERTOOLS_PROGRESS": "0"}
        proc = subprocess.Popen([sys.executable, "-m", "tracertools.cli", "serve", *extra],
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


def _banner(proc: subprocess.Popen[str]) -> list[str]:
    """The lines ``serve`` prints before it waits, up to "Press Ctrl+C to stop."."""
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl+C"):
        line = proc.stdout.readline()
        assert line, f"serve stopped early after {lines}"
        lines.append(line)
    return lines


def test_the_snippet_serve_prints_works_unchanged_from_another_process(start_serve, tmp_path):
    from tracertools.testing import World

    proc = start_serve("--config-dir", str(tmp_path))
    lines = _banner(proc)
    code = "\n".join(line.strip() for line in lines
                     if line.strip().startswith(("import ", "ds = ")))
    code = code.replace("auth_token=TOKEN", f"auth_token={TOKEN!r}")  # the token the user chose
    world = World.cached(0, 8)
    latest = set(world.latest_roots_now().tolist())
    stale = [int(r) for r in world.all_roots().tolist() if int(r) not in latest][:5]
    crossing = world.swamp_crossings()[1][0]
    script = code + f"""
print(ds.segments({stale}).current_ids().tolist())
print(bool(ds.segment({crossing}).triage()["crosses_swamp"]))
print(ds.segments({stale[:1]}).link(short=False))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    got_ids, got_triage, got_link = out.stdout.strip().splitlines()
    assert got_ids == str([world.successor(r) for r in stale])
    assert got_triage == "True"
    served_at = lines[0].rsplit(" at ", 1)[1].strip()
    assert got_link.startswith(served_at + "/ngl/")  # the server's own viewer, not a public one
    assert str(stale[0]) in got_link
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_version_prints_the_package_version(capsys):
    import tracertools as tt

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tracertools {tt.__version__}"


def test_every_subcommand_and_option_has_help_text():
    from tracertools.cli.commands import _parser

    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        assert sub.description, name
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings}"
