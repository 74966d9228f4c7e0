"""Bucket: data-loss defects found by adversarial tests (issue #23), each shown fixed.

* a move onto the same stored file under another URL, alias or linked folder is refused (and a
  route nobody could see is caught after the delete and written back);
* two keys that would land on one destination file refuse the whole copy or download first;
* two writers racing for one new key: exactly one wins, the other gets DestinationExistsError.

Every check reads the storage through its own side door (the filesystem, cloudfiles' memory
store, a boto3 client), never through the code under test.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest_bucket import (  # noqa: F401  (fixtures)
    BINARY,
    GZIPPED,
    S3_BUCKET,
    Backend,
    backend_fixture,
    local_s3_fixture,
    read_tree,
)

from tracertools.errors import InvalidInputError, ServiceError
from tracertools.storage.bucket import Bucket, DestinationExistsError
from tracertools.testing.s3 import LocalS3

# ---------------------------------------------------------------------------------------------
# A move onto itself
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def s3_prefix(local_s3: LocalS3) -> str:
    return f"self-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def second_alias(local_s3: LocalS3) -> Iterator[str]:
    """Another cloudfiles alias for the same LocalS3 endpoint."""
    from cloudfiles import paths

    name = f"ttsame{uuid.uuid4().hex[:6]}"
    paths.add_alias(name, f"s3://{local_s3.endpoint}/")
    try:
        yield name
    finally:
        paths.remove_alias(name)


def _s3_stored(s3: LocalS3, key: str) -> bytes | None:
    client = s3.client()
    try:
        return bytes(client.get_object(Bucket=S3_BUCKET, Key=key)["Body"].read())
    except client.exceptions.NoSuchKey:
        return None


def test_a_move_into_a_symlink_of_its_own_folder_is_refused_and_keeps_the_file(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.bin").write_bytes(BINARY)
    os.symlink(tmp_path / "real", tmp_path / "link")
    bucket = Bucket(f"file://{tmp_path / 'real'}")
    with pytest.raises(InvalidInputError, match="same stored file"):
        bucket.move("a.bin", Bucket(f"file://{tmp_path / 'link'}"), overwrite=True)
    assert (tmp_path / "real" / "a.bin").read_bytes() == BINARY


def test_a_rename_through_a_linked_folder_is_refused_and_keeps_the_file(tmp_path):
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "sub" / "a.bin").write_bytes(BINARY)
    os.symlink(tmp_path / "real" / "sub", tmp_path / "real" / "alias")
    bucket = Bucket(f"file://{tmp_path / 'real'}")
    with pytest.raises(InvalidInputError, match="same stored file"):
        bucket.move("alias/a.bin", "sub", overwrite=True)
    assert (tmp_path / "real" / "sub" / "a.bin").read_bytes() == BINARY


def test_a_move_to_the_same_bucket_under_its_endpoint_url_is_refused(local_s3, s3_prefix):
    local_s3.client().put_object(Bucket=S3_BUCKET, Key=f"{s3_prefix}/in/a.bin", Body=BINARY)
    bucket = Bucket(local_s3.url(S3_BUCKET, s3_prefix))
    same = f"s3://{local_s3.endpoint}/{S3_BUCKET}/{s3_prefix}/in"
    with pytest.raises(InvalidInputError, match="same stored file"):
        bucket.move("in/a.bin", same, overwrite=True)
    assert _s3_stored(local_s3, f"{s3_prefix}/in/a.bin") == BINARY


def test_a_move_to_the_same_bucket_under_another_alias_is_refused(
        local_s3, s3_prefix, second_alias):
    local_s3.client().put_object(Bucket=S3_BUCKET, Key=f"{s3_prefix}/in/a.bin", Body=BINARY)
    bucket = Bucket(local_s3.url(S3_BUCKET, s3_prefix))
    with pytest.raises(InvalidInputError, match="same stored file"):
        bucket.move("in/a.bin", Bucket(f"{second_alias}://{S3_BUCKET}/{s3_prefix}/in"),
                    overwrite=True)
    assert _s3_stored(local_s3, f"{s3_prefix}/in/a.bin") == BINARY


def test_a_move_onto_itself_by_a_route_not_recognised_writes_the_file_back(local_s3, s3_prefix):
    """``localhost`` and ``127.0.0.1`` are told apart by name, so only the delete shows it."""
    local_s3.client().put_object(Bucket=S3_BUCKET, Key=f"{s3_prefix}/in/a.bin", Body=BINARY)
    bucket = Bucket(local_s3.url(S3_BUCKET, s3_prefix))
    other_name = f"s3://http://localhost:{local_s3.port}/{S3_BUCKET}/{s3_prefix}/in"
    with pytest.raises(ServiceError, match="one stored file"):
        bucket.move("in/a.bin", other_name, overwrite=True)
    assert _s3_stored(local_s3, f"{s3_prefix}/in/a.bin") == BINARY


def test_copying_a_folder_onto_itself_through_a_link_is_refused(tmp_path):
    (tmp_path / "real" / "vol").mkdir(parents=True)
    (tmp_path / "real" / "vol" / "info").write_bytes(b"{}")
    os.symlink(tmp_path / "real" / "vol", tmp_path / "real" / "same")
    with pytest.raises(InvalidInputError, match="same folder"):
        Bucket(f"file://{tmp_path / 'real'}").copy_folder("vol", "same", overwrite=True)
    assert (tmp_path / "real" / "vol" / "info").read_bytes() == b"{}"


# ---------------------------------------------------------------------------------------------
# Two keys, one destination file
# ---------------------------------------------------------------------------------------------


def _seed_gzip_pair(s3: LocalS3, prefix: str) -> None:
    """``vol/y`` stored gzip-encoded and ``vol/y.gz`` stored plain: one local file ``y.gz``."""
    client = s3.client()
    client.put_object(Bucket=S3_BUCKET, Key=f"{prefix}/vol/y", Body=GZIPPED,
                      ContentEncoding="gzip")
    client.put_object(Bucket=S3_BUCKET, Key=f"{prefix}/vol/y.gz", Body=b"plain bytes")


def _files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_downloading_an_encoded_key_beside_its_suffixed_twin_is_refused_naming_both(
        local_s3, s3_prefix, tmp_path):
    _seed_gzip_pair(local_s3, s3_prefix)
    bucket = Bucket(local_s3.url(S3_BUCKET, s3_prefix))
    with pytest.raises(InvalidInputError, match="would both be 'y.gz'") as info:
        bucket.download_folder("vol", tmp_path / "down", overwrite=True)
    assert "vol/y'" in str(info.value) and "vol/y.gz'" in str(info.value)
    assert not (tmp_path / "down").exists() or _files_under(tmp_path / "down") == []


@pytest.mark.parametrize("dest", ["file", "mem"])
def test_copying_an_encoded_key_beside_its_suffixed_twin_to_a_local_store_is_refused(
        local_s3, s3_prefix, tmp_path, dest):
    _seed_gzip_pair(local_s3, s3_prefix)
    target = Bucket(f"file://{tmp_path / 'copy'}") if dest == "file" else \
        Bucket(f"mem://tt-collide-{uuid.uuid4().hex[:8]}")
    with pytest.raises(InvalidInputError, match="would both be 'y.gz'"):
        Bucket(local_s3.url(S3_BUCKET, s3_prefix)).copy_folder("vol", target, overwrite=True)
    assert target.list() == [] if dest == "mem" else not (tmp_path / "copy").exists()


def test_copying_the_same_pair_to_s3_keeps_both_objects(local_s3, s3_prefix):
    _seed_gzip_pair(local_s3, s3_prefix)
    bucket = Bucket(local_s3.url(S3_BUCKET, s3_prefix))
    assert bucket.copy_folder("vol", "copy") == 2
    assert _s3_stored(local_s3, f"{s3_prefix}/copy/y") == GZIPPED
    assert _s3_stored(local_s3, f"{s3_prefix}/copy/y.gz") == b"plain bytes"


def test_windows_names_that_meet_refuse_the_download_naming_both(backend: Backend, tmp_path):
    backend.seed("vol/mesh/1:0", b"colon name")
    backend.seed("vol/mesh/1___0", b"placeholder name")
    with pytest.raises(InvalidInputError, match="would both be 'mesh/1___0'"):
        backend.bucket.download_folder("vol", tmp_path / "down", overwrite=True,
                                       windows_names=True)
    assert _files_under(tmp_path / "down") == []


def test_a_plain_key_and_its_plain_suffixed_twin_are_both_downloaded(local_s3, s3_prefix,
                                                                      tmp_path):
    client = local_s3.client()
    client.put_object(Bucket=S3_BUCKET, Key=f"{s3_prefix}/vol/y", Body=b"plain y")
    client.put_object(Bucket=S3_BUCKET, Key=f"{s3_prefix}/vol/y.gz", Body=GZIPPED)
    dest = Bucket(local_s3.url(S3_BUCKET, s3_prefix)).download_folder("vol", tmp_path)
    assert read_tree(dest) == {"y": b"plain y", "y.gz": GZIPPED}


# ---------------------------------------------------------------------------------------------
# Two writers, one new key
# ---------------------------------------------------------------------------------------------

WRITERS = 4
TRIALS = 15


def _race(bucket: Bucket, key: str, write: Any) -> tuple[list[int], list[BaseException]]:
    """``WRITERS`` threads released together, each calling ``write(bucket, key, i)``."""
    barrier = threading.Barrier(WRITERS)
    wins: list[int] = []
    losses: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            write(bucket, key, i)
            wins.append(i)
        except BaseException as exc:  # collected and checked below
            losses.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return wins, losses


def _payload(i: int) -> bytes:
    return f"writer {i} ".encode() * 1000


@pytest.mark.parametrize("method", ["write", "move"])
def test_racing_writers_of_one_new_key_leave_exactly_one_winner(backend: Backend, method):
    def by_write(bucket: Bucket, key: str, i: int) -> None:
        bucket.write(key, _payload(i))

    def by_move(bucket: Bucket, key: str, i: int) -> None:
        bucket.rename(f"{key}.src{i}", key.rsplit("/", 1)[-1])

    for trial in range(TRIALS):
        key = f"race/{trial}/k.bin"
        if method == "move":
            for i in range(WRITERS):
                backend.seed(f"{key}.src{i}", _payload(i))
        wins, losses = _race(backend.bucket, key, by_write if method == "write" else by_move)
        assert len(wins) == 1, (trial, wins, losses)
        assert all(isinstance(e, DestinationExistsError) for e in losses), losses
        assert backend.stored(key) == _payload(wins[0])
        assert not [k for k in backend.keys() if k.endswith(".part")]  # no temporary left
        if method == "move":  # the losers' sources are all still there
            for i in range(WRITERS):
                assert backend.stored(f"{key}.src{i}") == (None if i == wins[0] else _payload(i))
