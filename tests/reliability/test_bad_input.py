"""Bad input is refused with a typed error before any request or write.

Every case of the catalogue in ``bad_inputs.py`` runs against live local services (a LocalCave
datastack whose client is already built, a LocalSheets tab, local bucket and volume folders)
with outgoing connections recorded and refused. Each must raise its typed error, and afterwards
LocalCave and LocalSheets must have seen no request, no socket may have been opened, and the
local storage and the sheet must be byte for byte as before.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bad_inputs import CASES, DOC, Case, Env, markdown_table

from tracertools.errors import TracertoolsError
from tracertools.storage.sheet import Sheet
from tracertools.testing import LocalCave
from tracertools.testing.sheets import LocalSheets

SHEET_ROWS = [["segment_id", "note"], ["720575940379279359", "keep me"]]


class SocketGuard:
    """Records and refuses every outgoing connection while active."""

    def __init__(self) -> None:
        self.attempts: list[Any] = []

    def refuse(self, sock: socket.socket, address: Any) -> None:
        self.attempts.append(address)
        raise ConnectionRefusedError(f"network use in a bad-input case: {address!r}")


@pytest.fixture(scope="module")
def sheets_m() -> Iterator[tuple[LocalSheets, str]]:
    with LocalSheets() as server, server.as_default():
        yield server, server.create("book", tabs={"T": SHEET_ROWS})


@pytest.fixture(scope="module")
def ds_m(cave_m: LocalCave) -> Any:
    """A datastack on LocalCave with its client and sub-clients built (handshakes done)."""
    ds = cave_m.datastack()
    client = ds.client
    _ = (client.chunkedgraph, client.materialize, client.l2cache, client.skeleton)
    return ds


@pytest.fixture
def env(ds_m: Any, sheets_m: tuple[LocalSheets, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Env:
    (tmp_path / "bucket" / "data").mkdir(parents=True)
    (tmp_path / "bucket" / "data" / "a.txt").write_bytes(b"a")
    (tmp_path / "bucket" / "data" / "b.txt").write_bytes(b"b")
    (tmp_path / "volume").mkdir()
    (tmp_path / "volume" / "info").write_text('{"@type": "neuroglancer_legacy_mesh"}')
    monkeypatch.setenv("TRACERTOOLS_CONFIG", str(tmp_path / "inputs" / "none.toml"))
    _, key = sheets_m
    return Env(ds_m, Sheet(key).tab("T"), key, tmp_path, monkeypatch.setenv)


def _storage(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``root``, except the cases' own inputs."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
        if p.relative_to(root).parts[0] != "inputs"
    }


def _params() -> list[Any]:
    return [
        pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.defect)]
                     if case.defect else [])
        for case in CASES
    ]


@pytest.mark.parametrize("case", _params())
def test_bad_input_is_refused_before_any_request_or_write(
    case: Case, env: Env, cave_m: LocalCave, sheets_m: tuple[LocalSheets, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sheets, key = sheets_m
    stored = _storage(env.tmp)
    guard = SocketGuard()
    cave_m.stats.reset()
    sheets.reset()
    with monkeypatch.context() as m:
        m.setattr(socket.socket, "connect", guard.refuse)
        m.setattr(socket.socket, "connect_ex", guard.refuse)
        with pytest.raises(case.error, match=case.message) as info:
            case.run(env)
    assert isinstance(info.value, TracertoolsError)
    assert cave_m.stats.total == 0
    assert dict(sheets.requests) == {}
    assert guard.attempts == []
    assert _storage(env.tmp) == stored
    assert sheets.values(key, "T") == SHEET_ROWS


def test_the_catalogue_has_at_least_forty_distinct_cases() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) >= 40


def test_the_reliability_doc_lists_every_bad_input_case() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert markdown_table() in text, "refresh it: python tests/reliability/bad_inputs.py"
    for case in CASES:
        assert case.call.replace("|", "\\|") in text


# ---------------------------------------------------------------------------------------------
# Input only the service can judge: a typed error on the first answer that shows it
# ---------------------------------------------------------------------------------------------


def test_an_unknown_materialization_version_fails_typed_after_one_version_lookup(
        cave_m: LocalCave) -> None:
    from tracertools.errors import InvalidInputError, ServiceError

    cave_m.stats.reset()
    ds = cave_m.datastack(materialization_version=99)
    with pytest.raises(InvalidInputError, match="materialization_version=99 is not available") \
            as info:
        _ = ds.client
    assert not isinstance(info.value, ServiceError)
    assert "could not connect" not in str(info.value)
    assert cave_m.stats["versions"] == 1  # one look at the list of versions, no retries
    assert cave_m.stats.total == 5  # info (2), materialization handshake (2), versions (1)


@pytest.mark.parametrize("errors", ["raise", "warn"])
def test_an_unknown_materialization_version_is_raised_unwrapped_by_a_batch_on_an_executor(
        cave_m: LocalCave, errors: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tracertools.errors import BatchError, InvalidInputError

    roots = [int(r) for r in cave_m.world.latest_roots_now()][:4]
    ds = cave_m.datastack(materialization_version=99)
    with ThreadPoolExecutor(2) as executor, \
            pytest.raises(InvalidInputError, match="materialization_version=99") as info:
        ds.segments(roots).details(executor=executor, errors=errors, progress=False)
    assert not isinstance(info.value, BatchError)
    assert info.value.whole_call
