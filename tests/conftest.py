"""Suite-wide set-up: tracertools' pytest fixtures (LocalCave, LocalSheets), opted in; nothing a
test starts outlives the run; signal dispositions on demand.

``_nothing_outlives_the_session`` is session-scoped and autouse, so it is set up before any other
fixture and torn down after all of them (session fixtures such as ``local_cave_session``
included). At the end it lists the processes the run started that are still alive and the
loopback ports this process still listens on, and fails naming them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

pytest_plugins = ["tracertools.testing.pytest_plugin"]

#: Set in the environment for the run, so processes started by tests (and theirs) carry it.
SESSION_MARKER = "TRACERTOOLS_TEST_SESSION"
#: How long leftovers get to go away on their own (a server closing, a child exiting).
GRACE_S = 5.0


def _stat(pid: str) -> tuple[str, str, int] | None:
    """(command name, state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path("/proc", pid, "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")".
    name = text[text.index("(") + 1 : text.rindex(")")]
    state, ppid = text[text.rindex(")") + 2 :].split()[:2]
    return name, state, int(ppid)


def _carries_marker(pid: str, marker: bytes) -> bool:
    try:
        return marker in Path("/proc", pid, "environ").read_bytes().split(b"\0")
    except OSError:  # gone, or another user's
        return False


def _cmdline(pid: str) -> str:
    try:
        raw = Path("/proc", pid, "cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]


def live_processes_of_this_run(marker: bytes) -> list[str]:
    """Live processes that are children of this one or carry this run's environment marker."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        pid = entry.name
        if not pid.isdigit() or int(pid) == me:
            continue
        stat = _stat(pid)
        if stat is None or stat[1] in ("Z", "X"):  # gone, or exited and only awaiting a wait()
            continue
        if stat[2] == me or _carries_marker(pid, marker):
            found.append(f"process {pid} ({stat[0]}): {_cmdline(pid)}")
    return sorted(found)


def _socket_inodes_of_this_process() -> set[str]:
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _loopback_address(hex_address: str) -> str | None:
    """'127.0.0.1' or '::1' (or a v4-mapped loopback) from /proc/net/tcp* hex, else None."""
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        address = socket.inet_ntop(socket.AF_INET, raw[::-1])  # one little-endian 32-bit word
        return address if address.startswith("127.") else None
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))  # four such words
    address = socket.inet_ntop(socket.AF_INET6, words)
    if address == "::1" or address.startswith("::ffff:127."):
        return address
    return None


def loopback_ports_listened_on() -> set[str]:
    """``address:port`` of every loopback TCP socket this process is listening on."""
    mine = _socket_inodes_of_this_process()
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in mine:  # 0A: LISTEN
                continue
            hex_address, hex_port = local.split(":")
            address = _loopback_address(hex_address)
            if address is not None:
                found.add(f"{address}:{int(hex_port, 16)}")
    return found


def _leftovers(marker: bytes, ports_before: set[str]) -> list[str]:
    ports = sorted(loopback_ports_listened_on() - ports_before)
    return live_processes_of_this_run(marker) + [f"listening socket {p}" for p in ports]


@pytest.fixture(scope="session", autouse=True)
def _nothing_outlives_the_session() -> Iterator[None]:
    """Fail the run if a server or subprocess started by a test is still there at the end."""
    if not Path("/proc/self/fd").is_dir():  # the check reads Linux's /proc
        yield
        return
    token = uuid.uuid4().hex
    os.environ[SESSION_MARKER] = token
    marker = f"{SESSION_MARKER}={token}".encode()
    ports_before = loopback_ports_listened_on()
    yield
    deadline = time.monotonic() + GRACE_S
    while (leftovers := _leftovers(marker, ports_before)) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.environ.pop(SESSION_MARKER, None)
    if leftovers:
        pytest.fail(
            "still running after every test and fixture finished (a test or fixture did not "
            "stop what it started):\n  " + "\n  ".join(leftovers),
            pytrace=False,
        )


# ---------------------------------------------------------------------------------------------
# The scale world: one lazily generated BANC-sized world and its server for the whole run
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scale_world() -> Any:
    """One ScaleWorld (seed 0, 100,000 neurons) for the session; no rate limit, so tests that
    are not about it never wait on 429s (the limit's own tests start their own server)."""
    from tracertools.testing import ScaleWorld

    return ScaleWorld(seed=0, rate_limit_per_s=None)


@pytest.fixture(scope="session")
def scale_cave_session(scale_world: Any) -> Iterator[Any]:
    from tracertools.testing import LocalCave

    with LocalCave(world=scale_world, datastack_name="scale_tests") as cave:
        yield cave


@pytest.fixture
def scale_cave(scale_cave_session: Any) -> Any:
    """The session scale server, with counters, limits and faults reset for this test."""
    scale_cave_session.reset()
    return scale_cave_session


# ---------------------------------------------------------------------------------------------
# Signal dispositions: for tests of code that waits on a signal
# ---------------------------------------------------------------------------------------------


def _put_back(signum: int, handler: object) -> None:
    signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # type: ignore[arg-type]


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored during the test, as a process started from a background job inherits it.

    Subprocesses started meanwhile inherit the ignored SIGINT too.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        _put_back(signal.SIGINT, previous)


class SignalReachedTheTest(AssertionError):
    """A signal meant for the code under test reached the test's fallback handler."""


@pytest.fixture
def sigterm_fallback() -> Iterator[object]:
    """A SIGTERM handler of the test's own, in place during the test; yields it.

    A SIGTERM that the code under test does not handle fails the test (raising
    ``SignalReachedTheTest`` where the main thread is) instead of ending the whole run.
    """

    def fallback(signum: int, frame: FrameType | None) -> None:
        raise SignalReachedTheTest("SIGTERM reached the test's handler, not the code under test's")

    previous = signal.signal(signal.SIGTERM, fallback)
    try:
        yield fallback
    finally:
        _put_back(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------------------
# System programs some tests need
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a headless-capable Chromium; fails (never skips) naming what to install."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "this test needs Chromium: install Debian's 'chromium' package (.ci/run does), or put "
        "a chromium / google-chrome executable on PATH",
        pytrace=False,
    )
