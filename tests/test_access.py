"""Fail fast and say what to do: unreachable servers and refused tokens, and `tracertools doctor`.

A closed local port and an unresolvable host name stand for "no network": the typed error
comes within seconds (no retries), names the server, says whether a CAVE token was found and
where caveclient looks for one. LocalCave refuses a wrong token (403) and a missing one (401).
Token lookups read a temporary home folder, never the user's.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

import tracertools as tt
from tracertools.batch import call_with_retries, is_timeout, is_unreachable
from tracertools.cli import main
from tracertools.errors import AuthenticationError, ServiceError, ServiceUnreachableError
from tracertools.testing import LocalCave

UNRESOLVABLE = "https://no-such-cave-server.invalid"
BANC_ROOT = 720575941473274509


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A home folder of our own: caveclient's token files are looked up here."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


@pytest.fixture
def unregistered_cave():
    """A LocalCave whose token tracertools does not know (as for a real server)."""
    with LocalCave(datastack_name="unregistered") as cave:
        yield cave


def _timed(call):
    start = time.monotonic()
    with pytest.raises(ServiceError) as info:
        call()
    return info.value, time.monotonic() - start


# -- fail fast ---------------------------------------------------------------------------------


def test_a_refused_connection_is_a_typed_error_within_seconds(closed_port_url):
    import caveclient  # noqa: F401  (imported before timing: a cold import is not the point)

    ds = tt.Datastack("brain_and_nerve_cord", server_address=closed_port_url)
    error, seconds = _timed(lambda: ds.segment(BANC_ROOT).current_id())
    assert isinstance(error, ServiceUnreachableError) and isinstance(error, ConnectionError)
    assert seconds <= 5
    text = str(error)
    assert closed_port_url in text and "refused the connection" in text
    assert "Not retried" in text and "brain_and_nerve_cord" in text


def test_an_unresolvable_host_is_a_typed_error_within_seconds():
    import caveclient  # noqa: F401

    ds = tt.Datastack("brain_and_nerve_cord", server_address=UNRESOLVABLE)
    error, seconds = _timed(lambda: ds.segments([BANC_ROOT]).are_fresh())
    assert isinstance(error, ServiceUnreachableError)
    assert seconds <= 5
    assert UNRESOLVABLE in str(error) and "did not resolve" in str(error)


def test_the_offline_message_says_where_tokens_are_looked_up_and_how_to_set_one():
    ds = tt.Datastack("brain_and_nerve_cord", server_address=UNRESOLVABLE)
    with pytest.raises(ServiceUnreachableError) as info:
        _ = ds.client
    text = str(info.value)
    assert "No CAVE token was found" in text
    assert "~/.cloudvolume/secrets/no-such-cave-server.invalid-cave-secret.json" in text
    assert "~/.cloudvolume/secrets/cave-secret.json" in text
    assert "reads no environment variable" in text
    assert "auth.save_token(token=...)" in text and "auth_token=" in text
    assert "tracertools doctor brain_and_nerve_cord" in text


def test_the_offline_message_says_a_token_was_found_and_where(home):
    secrets = home / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "cave-secret.json").write_text(json.dumps({"token": "f" * 32}))
    ds = tt.Datastack("brain_and_nerve_cord", server_address=UNRESOLVABLE)
    with pytest.raises(ServiceUnreachableError) as info:
        _ = ds.client
    text = str(info.value)
    assert "A CAVE token was found (~/.cloudvolume/secrets/cave-secret.json)" in text
    assert "f" * 32 not in text


def test_listing_datastacks_fails_fast_too(closed_port_url):
    error, seconds = _timed(lambda: tt.datastacks(closed_port_url))
    assert isinstance(error, ServiceUnreachableError) and seconds <= 5


def test_unreachable_servers_are_not_retried_but_timeouts_are(closed_port_url):
    import requests

    calls = []

    def refused():
        calls.append(1)
        return requests.get(closed_port_url, timeout=2)

    with pytest.raises(requests.ConnectionError) as info:
        call_with_retries(refused, base_delay=0)
    assert len(calls) == 1
    assert is_unreachable(info.value) == "refused" and not is_timeout(info.value)
    with pytest.raises(requests.ConnectionError) as info:
        requests.get(UNRESOLVABLE, timeout=2)
    assert is_unreachable(info.value) == "name"
    assert is_timeout(requests.ConnectTimeout("connect timed out"))


# -- refused tokens ----------------------------------------------------------------------------


def test_a_wrong_token_is_refused_with_a_typed_error_that_never_shows_it(unregistered_cave):
    wrong = "0123456789abcdef" * 2
    ds = tt.Datastack("unregistered", config=unregistered_cave.config, auth_token=wrong)
    with pytest.raises(AuthenticationError) as info:
        ds.segment(unregistered_cave.world.neuron_root(0)).current_id()
    text = str(info.value)
    assert isinstance(info.value, PermissionError)
    assert "refused the token (HTTP 403" in text and "the auth_token argument" in text
    assert unregistered_cave.url in text and "save_token" in text
    assert wrong not in text and wrong not in repr(info.value)


def test_a_missing_token_is_named_with_where_it_was_looked_for(unregistered_cave):
    ds = tt.Datastack("unregistered", config=unregistered_cave.config)
    with pytest.raises(AuthenticationError) as info:
        ds.segments([unregistered_cave.world.neuron_root(0)]).are_fresh()
    text = str(info.value)
    assert "no token was sent" in text and "No CAVE token was found" in text
    assert "cave-secret.json" in text


def test_a_token_file_that_is_refused_is_named(home, unregistered_cave):
    from urllib.parse import urlparse

    secrets = home / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    host = urlparse(unregistered_cave.url).netloc
    (secrets / f"{host}-cave-secret.json").write_text(json.dumps({"token": "e" * 32}))
    ds = tt.Datastack("unregistered", config=unregistered_cave.config)
    with pytest.raises(AuthenticationError) as info:
        _ = ds.client
    assert f"it came from ~/.cloudvolume/secrets/{host}-cave-secret.json" in str(info.value)
    assert "e" * 32 not in str(info.value)


# -- tracertools doctor ------------------------------------------------------------------------


def test_doctor_checks_every_service_of_a_working_datastack(local_cave, capsys, tmp_path,
                                                           monkeypatch):
    # the config file `tracertools serve` writes, and the token from the environment
    config_file = local_cave.config.to_file(tmp_path / "demo.json")
    monkeypatch.setenv("TRACERTOOLS_CAVE_TOKEN", local_cave.token)
    assert main(["doctor", local_cave.datastack_name, "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    for name in ("config", "token", "info service", "datastack info", "state service",
                 "chunkedgraph", "materialization", "skeleton service"):
        assert any(line.startswith(name) and "  ok  " in line for line in out.splitlines()), name
    assert "$TRACERTOOLS_CAVE_TOKEN" in out
    assert local_cave.token not in out


def test_doctor_reports_an_unreachable_server_quickly(closed_port_url, capsys):
    start = time.monotonic()
    assert main(["doctor", "brain_and_nerve_cord", "--server", closed_port_url]) == 1
    assert time.monotonic() - start <= 5
    out = capsys.readouterr().out
    assert "info service" in out and "connection refused" in out
    assert "token" in out and "FAIL" in out


def test_doctor_reports_a_refused_token(unregistered_cave, home, capsys):
    from urllib.parse import urlparse

    secrets = home / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    host = urlparse(unregistered_cave.url).netloc
    (secrets / f"{host}-cave-secret.json").write_text(json.dumps({"token": "d" * 32}))
    # the "demo" config (a preset, or the session's LocalCave) pointed at another server: no
    # registered token goes there, only what caveclient's files hold for it
    assert main(["doctor", "demo", "--server", unregistered_cave.url]) == 1
    out = capsys.readouterr().out
    info_line = next(line for line in out.splitlines() if line.startswith("datastack info"))
    assert "FAIL" in info_line and "token refused" in info_line
    assert "d" * 32 not in out


def test_doctor_names_an_unknown_datastack(capsys):
    assert main(["doctor", "no_such_stack"]) == 1
    assert "Unknown datastack 'no_such_stack'" in capsys.readouterr().out


def test_a_refused_token_mid_batch_fails_the_call_not_each_item(local_cave):
    ds = local_cave.datastack()
    roots = [int(r) for r in local_cave.world.all_roots()[:16]]
    _ = ds.client.chunkedgraph, ds.classify_ids([])
    local_cave.stats.reset()
    local_cave.fail_next("leaves_many", status=403, times=1)
    with pytest.raises(AuthenticationError, match="HTTP 403"):
        ds.segments(roots).supervoxels(errors="warn")
    assert local_cave.stats["leaves_many"] == 1  # not halved into per-item requests
