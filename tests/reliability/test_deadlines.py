"""Bucket operations and state fetches end within their deadline (issue #23, item 6).

Servers on 127.0.0.1 that misbehave at the socket level: one accepts connections and never
answers, one answers a byte per second and never finishes its headers, one sends its headers
and then the body a byte per second (a gap timeout alone would wait for ever). cloud-files and
boto3 (as S3 endpoints) and ``requests`` (as foreign state servers) are used for real against
them; every call must raise ``ServiceTimeoutError`` at its deadline. The issue asks that calls
be bounded in time, so these tests check how long they took (against ten times the deadline).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tracertools.config import HttpPolicy
from tracertools.errors import ConfigError, InvalidInputError, ServiceError, ServiceTimeoutError
from tracertools.storage.bucket import DEADLINE_ENV, DEFAULT_DEADLINE_S, Bucket
from tracertools.testing.s3 import LocalS3

DEADLINE_S = 2.0

AWS_ENV = {"AWS_ACCESS_KEY_ID": "deadline", "AWS_SECRET_ACCESS_KEY": "deadline",
           "AWS_SESSION_TOKEN": "deadline", "AWS_DEFAULT_REGION": "us-east-1"}


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and reads what comes.

    ``mode``: ``"silent"`` never answers; ``"headers"`` sends a status line and an endless
    header a byte per second; ``"body"`` sends the headers of a 100 kB JSON answer at once and
    its body a byte per second.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.trickle = mode != "silent"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.accepted: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.sent = 0

    def __enter__(self) -> SilentServer:
        self._start(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()

    def _start(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(0.1)
            self.accepted.append(conn)
            self._start(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        if self.mode == "body":
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n")
            try:
                conn.recv(65536)
                conn.sendall(head)
            except OSError:
                return
            answer = b'{"layers": [], "title": "' + b"a" * 100_000
        else:
            answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
        position = 0
        while not self.stop.is_set():
            try:
                conn.recv(65536)  # the request, read and ignored
            except OSError:
                pass
            if self.trickle and position < len(answer):
                try:
                    conn.sendall(answer[position:position + 1])
                except OSError:
                    return
                position += 1
                self.sent += 1
                self.stop.wait(1.0)

    def url(self) -> str:
        """An S3 URL at this endpoint; a new bucket name each time (cloud-files pools its
        S3 clients by bucket name, whatever the endpoint)."""
        return f"s3://http://127.0.0.1:{self.port}/deadline-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(params=["silent", "headers"])
def endpoint(request: pytest.FixtureRequest, aws_env: None) -> Iterator[SilentServer]:
    with SilentServer(request.param) as server:
        yield server


OPERATIONS: dict[str, Callable[[Bucket], Any]] = {
    "read": lambda b: b.read("a.txt"),
    "write": lambda b: b.write("a.txt", b"data", overwrite=True),
    "exists": lambda b: b.exists("a.txt"),
    "list": lambda b: b.list(),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_bucket_operation_against_a_stuck_server_ends_at_its_deadline(endpoint, operation):
    bucket = Bucket(endpoint.url(), deadline_s=DEADLINE_S)
    started = time.monotonic()
    with pytest.raises(ServiceTimeoutError) as info:
        OPERATIONS[operation](bucket)
    took = time.monotonic() - started
    assert isinstance(info.value, ServiceError) and isinstance(info.value, TimeoutError)
    assert f"{DEADLINE_S:g} s" in str(info.value)
    assert took < 10 * DEADLINE_S
    if endpoint.trickle:
        assert endpoint.sent > 0  # the server was answering, just too slowly


def test_the_deadline_comes_from_the_environment(monkeypatch, endpoint):
    monkeypatch.setenv(DEADLINE_ENV, str(DEADLINE_S))
    bucket = Bucket(endpoint.url())
    assert bucket.deadline_s == DEADLINE_S
    with pytest.raises(ServiceTimeoutError):
        bucket.read("a.txt")


def test_the_default_deadline_is_ten_minutes(monkeypatch):
    monkeypatch.delenv(DEADLINE_ENV, raising=False)
    assert Bucket("s3://some-bucket").deadline_s == DEFAULT_DEADLINE_S == 600.0


def test_local_buckets_have_no_deadline(tmp_path):
    assert Bucket(tmp_path).deadline_s is None
    assert Bucket("mem://deadline").deadline_s is None


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "2", True])
def test_a_bad_deadline_is_refused(bad):
    with pytest.raises(InvalidInputError):
        Bucket("s3://some-bucket", deadline_s=bad)


def test_a_bad_deadline_in_the_environment_is_a_config_error(monkeypatch):
    monkeypatch.setenv(DEADLINE_ENV, "soon")
    with pytest.raises(ConfigError, match=DEADLINE_ENV):
        Bucket("s3://some-bucket").read("a.txt")


def test_a_working_s3_server_is_unaffected_by_the_deadline():
    with LocalS3(buckets=["deadline-ok"]) as s3:
        bucket = Bucket(s3.url(), deadline_s=DEADLINE_S)
        bucket.write("ok.txt", b"fine")
        assert bucket.read("ok.txt") == b"fine"
        assert bucket.exists("ok.txt") and bucket.list() == ["ok.txt"]


# ---------------------------------------------------------------------------------------------
# Foreign neuroglancer states
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["silent", "headers", "body"])
def test_a_state_fetch_from_a_stuck_server_ends_at_the_deadline(local_cave, mode):
    ds = local_cave.datastack(http=HttpPolicy(deadline_s=DEADLINE_S, sleep=lambda s: None))
    with SilentServer(mode) as server:
        started = time.monotonic()
        with pytest.raises(ServiceTimeoutError) as info:
            ds.state(f"http://127.0.0.1:{server.port}/nglstate/api/v1/7")
        took = time.monotonic() - started
    assert "fetching the state" in str(info.value)
    assert took < 10 * DEADLINE_S


def test_a_state_fetch_has_a_deadline_without_one_in_the_policy(local_cave):
    ds = local_cave.datastack(http=HttpPolicy(timeout=(0.5, 1.5), sleep=lambda s: None))
    with SilentServer("body") as server:
        started = time.monotonic()
        with pytest.raises(ServiceTimeoutError, match="2 s"):
            ds.state(f"http://127.0.0.1:{server.port}/nglstate/api/v1/7")
        took = time.monotonic() - started
    assert took < 10 * 2.0  # connect + read timeout: 2 s


# ---------------------------------------------------------------------------------------------
# CAVE calls under HttpPolicy(deadline_s=...)
# ---------------------------------------------------------------------------------------------


def test_a_cave_answer_trickling_past_the_calls_deadline_ends_it(local_cave):
    ds = local_cave.datastack(http=HttpPolicy(deadline_s=DEADLINE_S, sleep=lambda s: None))
    _ = ds.client.chunkedgraph
    roots = [int(r) for r in local_cave.world.latest_roots_now()]
    local_cave.trickle_next("is_latest_roots", times=1, seconds_per_byte=0.5)
    started = time.monotonic()
    with pytest.raises(ServiceTimeoutError, match="deadline of 2 s"):
        ds.segments(roots).are_fresh()
    assert time.monotonic() - started < 10 * DEADLINE_S
    assert local_cave.stats["is_latest_roots"] == 1  # no retry once the deadline has passed


def test_a_slow_but_complete_cave_answer_within_the_deadline_is_used(local_cave):
    ds = local_cave.datastack(http=HttpPolicy(deadline_s=30.0, sleep=lambda s: None))
    _ = ds.client.chunkedgraph
    roots = [int(r) for r in local_cave.world.latest_roots_now()]
    local_cave.trickle_next("is_latest_roots", times=1, seconds_per_byte=0.01)
    assert ds.segments(roots).are_fresh().all()
    assert local_cave.stats["is_latest_roots"] == 1
