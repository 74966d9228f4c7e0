"""Bucket test fixtures: the same tests on file://, mem:// and a moto S3 server via an alias.

Imported by test_bucket.py and test_legacy_bucket.py (the fixtures are named ``backend`` and
``local_s3``; importing ``*_fixture`` registers them in the importing module). Each backend also has an independent way in
(the filesystem, cloudfiles' memory store, a boto3 client), so tests check what really landed
in the bucket instead of asking the code under test.
"""

from __future__ import annotations

import gzip
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracertools.storage.bucket import Bucket
from tracertools.testing.s3 import LocalS3

S3_BUCKET = "tt-bucket-tests"

#: Bytes that any text-mode read, newline translation or decompression would change.
BINARY = b"\x1f\x8b\x08\x00 gzip magic\r\nCRLF\r\n\x00NUL\xff\xfe" + bytes(range(256))
#: A real gzip stream, as a cloudvolume mesh fragment would be stored.
GZIPPED = gzip.compress(b"vertex data\r\n" * 50, mtime=0)


class Backend:
    """One storage backend: a Bucket handle for the code under test and a side door for checks."""

    def __init__(
        self,
        name: str,
        bucket: Bucket,
        root: Path | None = None,
        s3: LocalS3 | None = None,
        prefix: str = "",
    ) -> None:
        self.name = name
        self.bucket = bucket
        self._root = root
        self._s3 = s3
        self._prefix = prefix

    def _s3_key(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def seed(self, key: str, data: bytes, *, gzip_encoded: bool = False) -> None:
        """Store ``data`` at ``key`` without the code under test (optionally gzip-encoded)."""
        if self.name == "file":
            assert self._root is not None
            path = self._root.joinpath(*key.split("/"))
            path = path.with_name(path.name + ".gz") if gzip_encoded else path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        elif self.name == "mem":
            from cloudfiles import CloudFiles

            CloudFiles(self.bucket.url).put(
                key, data, raw=True, compress="gzip" if gzip_encoded else None
            )
        else:
            assert self._s3 is not None
            extra = {"ContentEncoding": "gzip"} if gzip_encoded else {}
            self._s3.client().put_object(
                Bucket=S3_BUCKET, Key=self._s3_key(key), Body=data, **extra
            )

    def stored(self, key: str) -> bytes | None:
        """The raw stored bytes at ``key`` (None if absent), read without the code under test."""
        if self.name == "file":
            assert self._root is not None
            path = self._root.joinpath(*key.split("/"))
            return path.read_bytes() if path.is_file() else None
        if self.name == "mem":
            from cloudfiles import CloudFiles

            found = CloudFiles(self.bucket.url).get([key], raw=True)[0]
            return found["content"]
        assert self._s3 is not None
        client = self._s3.client()
        try:
            body = client.get_object(Bucket=S3_BUCKET, Key=self._s3_key(key))["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return bytes(body)

    def keys(self) -> list[str]:
        """Every stored name under the handle, as the storage itself lists them."""
        if self.name == "file":
            assert self._root is not None
            return sorted(
                p.relative_to(self._root).as_posix() for p in self._root.rglob("*") if p.is_file()
            )
        if self.name == "mem":
            from cloudfiles import CloudFiles

            return sorted(CloudFiles(self.bucket.url).list())
        assert self._s3 is not None
        pages = (
            self._s3.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=S3_BUCKET, Prefix=self._prefix + "/")
        )
        return sorted(
            item["Key"][len(self._prefix) + 1 :]
            for page in pages
            for item in page.get("Contents", [])
        )

    def encoding(self, key: str) -> str | None:
        """How ``key`` is stored encoded: "gzip" (Content-Encoding or .gz file) or None."""
        if self.name == "file":
            assert self._root is not None
            return "gzip" if self._root.joinpath(*(key + ".gz").split("/")).is_file() else None
        if self.name == "mem":
            from cloudfiles import CloudFiles

            return CloudFiles(self.bucket.url).get([key], raw=True)[0]["compress"] or None
        assert self._s3 is not None
        head = self._s3.client().head_object(Bucket=S3_BUCKET, Key=self._s3_key(key))
        return head.get("ContentEncoding") or None


@pytest.fixture(scope="module", name="local_s3")
def local_s3_fixture() -> Iterator[LocalS3]:
    """A moto S3 server on 127.0.0.1 for the module, reached as ``localtest://``."""
    with LocalS3(buckets=[S3_BUCKET]) as s3:
        yield s3


@pytest.fixture(params=["file", "mem", "s3"], name="backend")
def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh, empty bucket on each backend."""
    name = request.param
    if name == "file":
        root = tmp_path / "bucket"
        root.mkdir()
        yield Backend("file", Bucket(f"file://{root}"), root=root)
    elif name == "mem":
        mem = Backend("mem", Bucket(f"mem://tt-{uuid.uuid4().hex[:12]}"))
        yield mem
        from cloudfiles import CloudFiles

        files = CloudFiles(mem.bucket.url)
        files.delete(list(files.list()))
    else:
        s3 = request.getfixturevalue("local_s3")
        prefix = f"t-{uuid.uuid4().hex[:12]}"
        yield Backend("s3", Bucket(s3.url(S3_BUCKET, prefix)), s3=s3, prefix=prefix)


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative '/' paths -> bytes) under ``root``; returns ``root``."""
    for rel, data in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as relative '/' path -> bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def dangling_link(path: Path) -> None:
    """A directory entry whose file is gone: listed by a folder walk, unreadable at upload time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(path.parent / f"{path.name}.vanished", path)
