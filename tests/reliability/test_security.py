"""Security: secrets stay out of logs, reprs and errors; servers bind loopback; paths stay put.

Secrets are scanned for in everything a user could see or paste: log records captured at DEBUG,
reprs, error messages and whole formatted tracebacks (with their chained causes).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials as UserCredentials

from tracertools import Datastack, datastacks
from tracertools.errors import (
    ConfirmationRequiredError,
    PartialResultWarning,
    ServiceError,
    TracertoolsError,
)
from tracertools.geometry import precomputed as precomputed
from tracertools.geometry.viewer import serve_precomputed
from tracertools.ngl.urls import parse_link
from tracertools.storage.bucket import Bucket
from tracertools.storage.sheet import ServiceAccount, Sheet
from tracertools.testing import LocalCave
from tracertools.testing.s3 import LocalS3
from tracertools.testing.sheets import LocalSheets

WRONG_TOKEN = "0123456789abcdef0123456789abcdef"


@contextmanager
def debug_logs(*names: str) -> Iterator[list[str]]:
    """Every record of the named loggers (and their children) at DEBUG, formatted with args."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
    try:
        yield lines
    finally:
        for lg, level in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)


def shown(exc: BaseException) -> str:
    """What a user sees of an error: its message and the whole traceback with causes."""
    return str(exc) + "\n" + "".join(traceback.format_exception(exc))


def raised(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("the call did not fail")


def leaks(secret: str, texts: list[str]) -> list[str]:
    return [line[:200] for text in texts for line in text.splitlines() if secret in line]


# ---------------------------------------------------------------------------------------------
# CAVE tokens
# ---------------------------------------------------------------------------------------------


def test_the_cave_token_stays_out_of_logs_reprs_and_errors_in_a_full_workflow(local_cave):
    token = local_cave.token
    world = local_cave.world
    roots = [int(r) for r in world.all_roots()]
    texts: list[str] = []
    with debug_logs("tracertools", "caveclient", "urllib3", "cloudvolume") as lines:
        ds = local_cave.datastack()
        segs = ds.segments(roots)
        texts += [repr(ds), ds._repr_html_(), repr(segs), repr(local_cave), repr(ds.client)]
        texts.append(repr(segs.details(progress=False)))
        texts.append(repr(segs.changelogs()))
        texts.append(repr(segs.proofreading_status()))
        texts.append(repr(segs[:3].user_contributions()))
        texts.append(repr(ds.segments_at([world.soma_position(0)])))
        texts += [repr(ds.info()), repr(ds.tables()), repr(ds.table("synapses"))]
        texts.append(shown(raised(lambda: ds.segments([max(roots) + 1_000]).current_ids())))
        local_cave.fail_next("is_latest_roots", status=403, times=1)
        texts.append(shown(raised(lambda: local_cave.datastack().segments(roots).are_fresh())))
    assert lines, "nothing was logged"
    assert not leaks(token, texts + lines)


def test_a_wrong_cave_token_fails_without_showing_either_token(local_cave):
    with debug_logs("tracertools", "caveclient") as lines:
        error = raised(lambda: local_cave.datastack(auth_token=WRONG_TOKEN).client)
        listing = raised(lambda: datastacks(server_address=local_cave.url, auth_token=WRONG_TOKEN))
    assert isinstance(error, ServiceError) and isinstance(listing, ServiceError)
    texts = [shown(error), shown(listing), *lines]
    assert not leaks(WRONG_TOKEN, texts)
    assert not leaks(local_cave.token, texts)


def test_a_datastack_built_with_a_token_does_not_show_it(local_cave):
    ds = Datastack("demo", auth_token=WRONG_TOKEN)
    assert WRONG_TOKEN not in repr(ds) + ds._repr_html_() + repr(ds.config)


# ---------------------------------------------------------------------------------------------
# Sheets credentials
# ---------------------------------------------------------------------------------------------


def test_sheets_credentials_stay_out_of_logs_reprs_and_errors(tmp_path):
    access_token = "ya29.sheets-access-token-do-not-leak"
    with LocalSheets(token=access_token) as server:
        info = server.service_account_info()
        key_body = info["private_key"].splitlines()[1]  # a line of the PEM body
        key = server.create("book", tabs={"T": [["segment_id"], ["1"], ["2"]]})
        with debug_logs("tracertools", "gspread", "google", "urllib3") as lines:
            creds = ServiceAccount(info=info)
            tab = Sheet(key, credentials=creds, http_client=server.http_client).tab("T")
            texts = [repr(creds), repr(tab), repr(Sheet(key, credentials=creds))]
            texts.append(repr(tab.to_frame()))
            texts.append(repr(tab.fill_columns(["double"], lambda ids: [[2 * int(i)] for i in ids])))
            tab.append_row(["3"])
            server.fail_next(403, route="values.get", count=1)
            texts.append(shown(raised(lambda: tab.column(1))))
            wrong = UserCredentials(token="ya29.wrong-token-do-not-leak")
            texts.append(shown(raised(lambda: Sheet(key, credentials=wrong,
                                                    http_client=server.http_client
                                                    ).tab("T").column(1))))
    assert server.requests["token"] >= 1  # the service-account flow really ran
    for secret in (access_token, key_body, "ya29.wrong-token-do-not-leak"):
        assert not leaks(secret, texts + lines), secret


# ---------------------------------------------------------------------------------------------
# S3 keys
# ---------------------------------------------------------------------------------------------

S3_KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIATRACERTOOLSTESTKEY",
    "AWS_SECRET_ACCESS_KEY": "s3-secret-key-do-not-leak-0123456789",
    "AWS_SESSION_TOKEN": "s3-session-token-do-not-leak-9876543210",
}
SEC_BUCKET = "tt-security"


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    """A LocalS3 (alias ``ttsec://``) reached with distinctive credentials from the environment."""
    with LocalS3(buckets=[SEC_BUCKET], alias="ttsec") as server:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in S3_KEYS.items():
                mp.setenv(name, value)
            yield server


def test_s3_keys_stay_out_of_logs_reprs_and_errors(s3, tmp_path):
    with debug_logs("tracertools", "cloudfiles") as lines:
        bucket = Bucket(s3.url(SEC_BUCKET, "workflow"))
        bucket.write("data/a.txt", b"a")
        texts = [repr(bucket), repr(bucket.list()), repr(bucket.read("data/a.txt"))]
        texts.append(repr(bucket.download_folder("data", tmp_path)))
        texts.append(repr(bucket.delete_folder("data", confirm="data")))
        texts.append(shown(raised(lambda: bucket.read("data/missing.txt"))))
        texts.append(shown(raised(lambda: bucket.write("data/b.txt", "not bytes"))))
    for name, secret in S3_KEYS.items():
        assert not leaks(secret, texts + lines), name


# ---------------------------------------------------------------------------------------------
# Loopback only
# ---------------------------------------------------------------------------------------------


def _listening_hosts(port: int) -> set[str]:
    """Addresses listening on TCP ``port``, read from the kernel's socket tables."""
    hosts: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, state = fields[1], fields[3]
            ip_hex, port_hex = address.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(ip_hex)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            hosts.add(socket.inet_ntop(family, raw))
    return hosts


@contextmanager
def _server(kind: str, tmp_path: Path) -> Iterator[int]:
    if kind == "LocalCave":
        with LocalCave(datastack_name="loopback_check") as cave:
            yield cave.port
    elif kind == "LocalSheets":
        with LocalSheets() as sheets:
            yield int(sheets.url.rsplit(":", 1)[1])
    elif kind == "LocalS3":
        with LocalS3(buckets=[], alias="ttloop") as s3_server:
            yield s3_server.port
    else:
        (tmp_path / "info").write_text("{}")
        with serve_precomputed(tmp_path) as served:
            yield served.port


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux socket tables")
@pytest.mark.parametrize("kind", ["LocalCave", "LocalSheets", "LocalS3", "serve_precomputed"])
def test_every_local_server_listens_on_loopback_only(kind, tmp_path):
    with _server(kind, tmp_path) as port:
        assert _listening_hosts(port) == {"127.0.0.1"}


# ---------------------------------------------------------------------------------------------
# Paths that climb out
# ---------------------------------------------------------------------------------------------

SECRET_TEXT = b"the secret outside the volume"


@pytest.fixture
def hosted(tmp_path: Path) -> Iterator[Any]:
    """A served volume at ``tmp/site/volume`` with a secret beside it and a link out of it."""
    volume = tmp_path / "site" / "volume"
    (volume / "mesh").mkdir(parents=True)
    (volume / "info").write_text('{"@type": "neuroglancer_legacy_mesh"}')
    (volume / "mesh" / "1:0").write_text('{"fragments": []}')
    (tmp_path / "site" / "secret.txt").write_bytes(SECRET_TEXT)
    os.symlink(tmp_path / "site" / "secret.txt", volume / "mesh" / "link")
    with serve_precomputed(volume) as server:
        yield server


def _get(port: int, target: str) -> tuple[int, bytes]:
    """GET ``target`` sent exactly as written (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{port}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_the_served_volume_itself_is_readable(hosted):
    assert _get(hosted.port, "/mesh/1:0") == (200, b'{"fragments": []}')


@pytest.mark.parametrize("target", [
    "/../secret.txt",
    "/mesh/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/mesh/%2E%2E/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/mesh/..%5c..%5csecret.txt",
    "//../secret.txt",
    "/mesh/link",
    "/%00/../secret.txt",
])
def test_serve_precomputed_never_answers_outside_its_volume(hosted, target):
    status, body = _get(hosted.port, target)
    assert status in (403, 404)
    assert SECRET_TEXT not in body


def test_a_bucket_key_climbing_out_is_never_written_outside_the_download_folder(s3, tmp_path):
    prefix = "climb"
    client = s3.client()
    client.put_object(Bucket=SEC_BUCKET, Key=f"{prefix}/data/ok.txt", Body=b"ok")
    client.put_object(Bucket=SEC_BUCKET, Key=f"{prefix}/data/../../escaped.txt", Body=b"out")
    client.put_object(Bucket=SEC_BUCKET, Key=f"{prefix}/data/sub/../../../up.txt", Body=b"up")
    downloads = tmp_path / "downloads"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dest = Bucket(s3.url(SEC_BUCKET, prefix)).download_folder("data", downloads,
                                                                  errors="warn")
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file())
    messages = [str(w.message) for w in caught if issubclass(w.category, PartialResultWarning)]
    assert written == [f"downloads/{dest.name}/ok.txt"]
    assert len(messages) == 1 and "escaped.txt" in messages[0] and "up.txt" in messages[0]


def test_a_bucket_key_climbing_out_fails_the_download_under_raise(s3, tmp_path):
    prefix = "climb-raise"
    s3.client().put_object(Bucket=SEC_BUCKET, Key=f"{prefix}/data/../../escaped.txt", Body=b"o")
    with pytest.raises(TracertoolsError, match="escape"):
        Bucket(s3.url(SEC_BUCKET, prefix)).download_folder("data", tmp_path / "downloads")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# ---------------------------------------------------------------------------------------------
# Destructive operations need confirmation
# ---------------------------------------------------------------------------------------------


def test_deleting_a_folder_without_confirmation_deletes_nothing(tmp_path):
    root = tmp_path / "bucket"
    (root / "data").mkdir(parents=True)
    (root / "data" / "a.txt").write_bytes(b"a")
    bucket = Bucket(f"file://{root}")
    with pytest.raises(ConfirmationRequiredError):
        bucket.delete_folder("data")
    assert (root / "data" / "a.txt").read_bytes() == b"a"
    assert bucket.delete_folder("data", confirm="data") == 1
    assert not (root / "data" / "a.txt").exists()


def test_replacing_a_volume_needs_overwrite(tmp_path):
    url = f"file://{tmp_path / 'volume'}"
    precomputed.create_volume(url, resolution=(4, 4, 40), volume_size=(8, 8, 8))
    info = (tmp_path / "volume" / "info").read_bytes()
    with pytest.raises(ConfirmationRequiredError):
        precomputed.create_volume(url, resolution=(8, 8, 40), volume_size=(4, 4, 8))
    assert (tmp_path / "volume" / "info").read_bytes() == info


# ---------------------------------------------------------------------------------------------
# The CAVE token goes to the datastack's own services only
# ---------------------------------------------------------------------------------------------

FOREIGN_STATE = {"layers": [], "title": "served by a stranger"}


class ForeignStateServer:
    """A second HTTP server on 127.0.0.1 that keeps every request exactly as it arrived.

    ``GET /nglstate/api/v1/<id>`` answers a state; ``/redirect/...`` redirects to
    :attr:`redirect_to`; ``/private/...`` answers 401.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        self.received: list[bytes] = []
        self.redirect_to = ""
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                owner.received.append(
                    self.requestline.encode() + b"\r\n" + bytes(self.headers)
                )
                if self.path.startswith("/redirect/"):
                    self.send_response(302)
                    self.send_header("Location", owner.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 401 if self.path.startswith("/private/") else 200
                body = json.dumps(FOREIGN_STATE if status == 200 else
                                  {"error": "log in first"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def __enter__(self) -> ForeignStateServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def state_url(self, host: str = "127.0.0.1", state_id: int = 7) -> str:
        return f"http://{host}:{self.port}/nglstate/api/v1/{state_id}"


@pytest.fixture
def foreign() -> Iterator[ForeignStateServer]:
    with ForeignStateServer() as server:
        yield server


def _link_forms(local_cave: LocalCave, foreign: ForeignStateServer) -> dict[str, str]:
    url = foreign.state_url()
    return {
        "path": url,
        "middleauth": f"{local_cave.viewer_url}#!middleauth+{url}",
        "json_url": f"https://ngl.flywire.ai/?json_url={url}",
        "localhost": f"{local_cave.viewer_url}#!middleauth+{foreign.state_url('localhost')}",
    }


@pytest.mark.parametrize("form", ["path", "middleauth", "json_url", "localhost"])
def test_a_link_to_another_state_server_never_receives_the_token(local_cave, foreign, form):
    ds = local_cave.datastack()
    _ = ds.client.state  # the token is loaded and the state client ready
    state = ds.state(_link_forms(local_cave, foreign)[form])
    assert state.to_dict() == FOREIGN_STATE
    assert len(foreign.received) == 1  # the request really reached the other server
    raw = foreign.received[0]
    assert local_cave.token.encode() not in raw
    assert b"authorization" not in raw.lower() and b"cookie" not in raw.lower()


def test_a_redirect_from_another_server_to_the_own_service_sends_the_token_only_there(
        local_cave, foreign):
    ds = local_cave.datastack()
    foreign.redirect_to = str(parse_link(ds.shorten({"layers": [], "title": "own"})).state_url)
    state = ds.state(f"http://127.0.0.1:{foreign.port}/redirect/nglstate/api/v1/1")
    assert state.to_dict()["title"] == "own"  # LocalCave requires the token: it got it
    assert len(foreign.received) == 1 and local_cave.token.encode() not in foreign.received[0]


def test_another_server_asking_for_credentials_is_told_why_none_were_sent(local_cave, foreign):
    ds = local_cave.datastack()
    error = raised(lambda: ds.state(f"http://127.0.0.1:{foreign.port}/private/nglstate/api/v1/3"))
    assert isinstance(error, ServiceError)
    assert "only to the services configured" in str(error)
    assert not leaks(local_cave.token, [shown(error)] + [r.decode() for r in foreign.received])


def test_a_token_quoted_back_by_the_state_service_is_scrubbed_from_the_error(local_cave):
    ds = local_cave.datastack()
    url = ds.shorten({"layers": []})
    local_cave.fail_next("state_get", status=409, message=f"token {local_cave.token} unknown")
    error = raised(lambda: ds.state(url))
    assert isinstance(error, ServiceError)
    assert "token *** unknown" in str(error)
    assert not leaks(local_cave.token, [shown(error)])


def test_a_refused_token_error_never_quotes_the_token(local_cave):
    ds = local_cave.datastack()
    url = ds.shorten({"layers": []})
    local_cave.fail_next("state_get", status=403, message=f"token {local_cave.token} refused")
    error = raised(lambda: ds.state(url))
    assert isinstance(error, ServiceError)
    assert "refused the token" in str(error)
    assert not leaks(local_cave.token, [shown(error)])


def test_only_the_exact_scheme_host_and_port_of_configured_services_count_as_own():
    from tracertools.config import load_config
    from tracertools.ngl.fetch import origin_of, own_origins

    config = load_config("demo").model_copy(update={
        "server_address": "https://cave.example.org",
        "local_server_url": "https://local.example.org:8443",
        "shortlink_server_url": "https://states.example.org/nglstate/post",
    })
    own = own_origins(Datastack("demo", config=config))
    assert own == {("https", "cave.example.org", 443), ("https", "local.example.org", 8443),
                   ("https", "states.example.org", 443)}
    for stranger in ("http://cave.example.org/nglstate/api/v1/1",      # plain http
                     "https://cave.example.org:444/nglstate/api/v1/1",  # another port
                     "https://cave.example.org.evil.net/nglstate/1",    # another host
                     "https://cave.example.org@evil.net/nglstate/1",    # user info
                     "https://local.example.org/nglstate/1"):           # default port
        assert origin_of(stranger) not in own, stranger
    assert origin_of("HTTPS://Cave.Example.org:443/nglstate/api/v1/1") in own


# ---------------------------------------------------------------------------------------------
# Tokens echoed in reply bodies (issue #23: scrubbed from every error, not only state fetches)
# ---------------------------------------------------------------------------------------------

OTHER_TOKEN = "fedcba9876543210fedcba9876543210"


def _echoing(local_cave: LocalCave) -> str:
    return (f"bad request from {local_cave.token}: Authorization: Bearer {OTHER_TOKEN}; "
            f"Cookie: middle_auth_token={OTHER_TOKEN}")


def test_a_token_echoed_in_a_service_error_body_is_scrubbed(local_cave):
    ds = local_cave.datastack()
    roots = [int(r) for r in local_cave.world.latest_roots_now()]
    local_cave.fail_next("is_latest_roots", status=400, message=_echoing(local_cave))
    error = raised(lambda: ds.segments(roots).are_fresh())
    assert isinstance(error, ServiceError) and error.status == 400
    texts = [shown(error), repr(error)]
    assert "bad request from ***" in str(error)
    assert not leaks(local_cave.token, texts)
    assert not leaks(OTHER_TOKEN, texts)


def test_a_token_echoed_to_a_batch_method_under_warn_is_scrubbed(local_cave):
    ds = local_cave.datastack()
    roots = [int(r) for r in local_cave.world.all_roots()][:3]
    local_cave.fail_next("leaves_many", status=400, times=50, message=_echoing(local_cave))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = ds.segments(roots).supervoxels(errors="warn")
    assert found == [None, None, None]
    texts = [str(w.message) for w in caught if issubclass(w.category, PartialResultWarning)]
    assert texts and "***" in texts[0]
    assert not leaks(local_cave.token, texts)
    assert not leaks(OTHER_TOKEN, texts)


def test_redact_hides_secrets_and_credential_shapes():
    from tracertools.errors import redact

    text = ('Authorization: Bearer abc.DEF-123 {"middle_auth_token": "q1"} '
            "middle_auth_token=q2; access_token=q3&x=1 mine")
    assert redact(text, ["mine"]) == ('Authorization: Bearer *** {"middle_auth_token": "***"} '
                                      "middle_auth_token=***; access_token=***&x=1 ***")
