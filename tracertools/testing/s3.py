"""LocalS3: an S3-compatible server on loopback (moto), reachable through a cloudfiles alias.

Remote-bucket code paths run for real against it: cloudfiles (and boto3 below it) speak S3 over
HTTP to 127.0.0.1, the same way they reach ``nokura://`` and other S3-compatible hosts::

    from tracertools.storage.bucket import Bucket
    from tracertools.testing.s3 import LocalS3

    with LocalS3(buckets=["test-bucket"]) as s3:
        bucket = Bucket(s3.url("test-bucket"))        # "localtest://test-bucket"
        bucket.write("hello.txt", b"hi")

While running it sets ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` and
``AWS_DEFAULT_REGION`` to dummy values (cloudfiles wants all of them for a custom endpoint) and
restores them on exit; it never writes to your home folder. Needs ``moto[server]``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import Any

__all__ = ["LocalS3"]

logger = logging.getLogger(__name__)

_ENV = {
    "AWS_ACCESS_KEY_ID": "localtest",
    "AWS_SECRET_ACCESS_KEY": "localtest",
    "AWS_SESSION_TOKEN": "localtest",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class LocalS3:
    """A moto S3 server on 127.0.0.1, registered with cloudfiles as ``<alias>://``.

    Args:
        buckets: bucket names to create on start (S3 rules: 3-63 lowercase letters, digits,
            '-' and '.').
        alias: the cloudfiles alias to register for the server (``localtest://bucket/key``).
        port: the TCP port; 0 picks a free one.

    Use it as a context manager, or call [`start()`][tracertools.testing.s3.LocalS3.start] and [`stop()`][tracertools.testing.s3.LocalS3.stop].
    """

    def __init__(
        self, buckets: Iterable[str] = ("test-bucket",), *, alias: str = "localtest", port: int = 0
    ) -> None:
        self.buckets = list(buckets)
        self.alias = alias
        self._port = port
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_alias: str | None = None
        self._saved_log_level: int | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> LocalS3:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (after [`start()`][tracertools.testing.s3.LocalS3.start])."""
        self._require_running()
        return int(self._server.get_host_and_port()[1])

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, the S3 endpoint URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server, set the AWS environment, register the alias, create the buckets."""
        if self.running:
            return
        from cloudfiles import paths
        from moto.server import ThreadedMotoServer

        werkzeug = logging.getLogger("werkzeug")  # the server logs every request at INFO
        self._saved_log_level = werkzeug.level
        werkzeug.setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        server.start()
        self._server = server
        self._saved_env = {name: os.environ.get(name) for name in _ENV}
        os.environ.update(_ENV)
        self._saved_alias = paths.ALIASES.get(self.alias)
        paths.add_alias(self.alias, f"s3://{self.endpoint}/")
        _forget_connections(self.alias)
        try:
            for name in self.buckets:
                self.create_bucket(name)
        except BaseException:
            self.stop()
            raise
        logger.debug("LocalS3 serving %s as %s://", self.endpoint, self.alias)

    def stop(self) -> None:
        """Delete the buckets, stop the server, undo the environment and alias changes."""
        if not self.running:
            return
        from cloudfiles import paths

        try:
            self._remove_buckets()
        finally:
            self._server.stop()
            self._server = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self._saved_alias is None:
            paths.remove_alias(self.alias)
        else:
            paths.add_alias(self.alias, self._saved_alias)
        _forget_connections(self.alias)
        if self._saved_log_level is not None:
            logging.getLogger("werkzeug").setLevel(self._saved_log_level)

    # -- use --------------------------------------------------------------------------------

    def url(self, bucket: str | None = None, path: str = "") -> str:
        """The cloudfiles URL of a bucket (default: the first one) and optional path in it."""
        name = bucket if bucket is not None else self.buckets[0]
        return f"{self.alias}://{name}" + (f"/{path.strip('/')}" if path.strip("/") else "")

    def client(self) -> Any:
        """A boto3 S3 client for this server, to inspect or seed buckets independently."""
        self._require_running()
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=_ENV["AWS_DEFAULT_REGION"],
            aws_access_key_id=_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_ENV["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=_ENV["AWS_SESSION_TOKEN"],
        )

    def create_bucket(self, name: str) -> None:
        """Create a bucket (a no-op if this process's moto already has it)."""
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        if name not in self.buckets:
            self.buckets.append(name)

    def _remove_buckets(self) -> None:
        """Empty and delete this instance's buckets (moto keeps state for the whole process)."""
        client = self.client()
        for name in self.buckets:
            try:
                pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
                for page in pages:
                    objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                    if objects:
                        client.delete_objects(Bucket=name, Delete={"Objects": objects})
                client.delete_bucket(Bucket=name)
            except client.exceptions.NoSuchBucket:
                pass

    def _require_running(self) -> None:
        if self._server is None:
            raise RuntimeError("LocalS3 is not running; use it as a context manager or start()")


def _forget_connections(alias: str) -> None:
    """Drop cloudfiles' cached paths, credentials and S3 connections for ``alias``.

    cloudfiles keys its connection pools by (alias, bucket) whatever the endpoint, and caches
    parsed paths, so a server restarted on a new port would otherwise be reached at the old one.
    """
    from cloudfiles import paths

    paths.extract.cache_clear()
    paths.normalize.cache_clear()
    interfaces = sys.modules.get("cloudfiles.interfaces")
    pool = getattr(interfaces, "S3_POOL", None)
    lock = getattr(interfaces, "S3_BUCKET_POOL_LOCK", None)
    if pool is not None and lock is not None:
        with lock:
            for params in [p for p in pool if getattr(p, "service", None) == alias]:
                pool.pop(params).reset_pool()
    secrets = sys.modules.get("cloudfiles.secrets")
    cache = getattr(secrets, "AWS_CREDENTIALS_CACHE", None)
    if isinstance(cache, dict):
        cache.pop(alias, None)
