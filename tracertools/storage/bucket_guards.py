"""No-loss guards of [`tracertools.storage.bucket.Bucket`][tracertools.storage.bucket.Bucket]: same-object checks, name
collisions and atomic creates.

* `GuardsMixin._object_id()` says what stored object a key names whichever URL, alias or
  linked folder reached it, so a move onto the file itself is refused;
* `GuardsMixin._refuse_collisions()` refuses a folder download or copy in which two keys
  would be written to one name (``y`` gzip-encoded and ``y.gz``; Windows names);
* `s3_create()` writes a new S3 object with ``If-None-Match: *``, and
  `MEM_CREATE_LOCK` serialises creates on ``mem://`` (``file://`` creates are in
  `tracertools.storage.bucket_paths.create_local()`).

Part of the bucket seam: the CloudFiles objects used here come from ``Bucket._files()``; this
module never builds one. cloudfiles and botocore are imported inside functions.
"""

from __future__ import annotations

import builtins
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from tracertools.errors import DestinationExistsError, InvalidInputError, UnsafePathError
from tracertools.storage import bucket_paths as bp

if TYPE_CHECKING:
    from tracertools.storage.bucket import Bucket

__all__ = ["MEM_CREATE_LOCK", "GuardsMixin", "s3_create"]

logger = logging.getLogger(__name__)

#: Serialises exclusive creates on ``mem://`` buckets (one process holds them all).
MEM_CREATE_LOCK = threading.Lock()
#: S3 error codes meaning "an object is already there (or being written)".
_S3_TAKEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
#: S3 error codes of stores that do not understand conditional puts.
_S3_UNSUPPORTED = frozenset({"NotImplemented", "InvalidArgument", "InvalidRequest"})
#: put_object's size limit (bytes); larger objects are written without the condition.
_S3_SINGLE_PUT_LIMIT = 5 * 1024**3


def s3_create(cf: Any, key: str, data: bytes, encoding: str | None, shown: str = "") -> bool:
    """Write ``key`` with ``If-None-Match: *`` through cloudfiles' own S3 connection.

    cloudfiles has no conditional put, so this borrows the boto3 client of its S3 interface
    (the same endpoint, credentials and ACL cloudfiles would use). Returns False where that
    cannot be done (cloudfiles changed, an object too big for one put, a store without
    conditional puts), so the caller writes unconditionally after its existence check.

    Raises:
        DestinationExistsError: the store refused because an object is there. If botocore
            had retried the put (its first answer lost), the object is read back first: holding
            exactly ``data`` means the first attempt landed, and that is success.
    """
    if len(data) > _S3_SINGLE_PUT_LIMIT or not hasattr(cf, "_get_connection"):
        return False
    from botocore.exceptions import ClientError

    with cf._get_connection() as conn:
        client, where = getattr(conn, "_conn", None), getattr(conn, "_path", None)
        if client is None or where is None or not hasattr(conn, "get_path_to_file"):
            return False
        from cloudfiles.interfaces import DEFAULT_S3_ACL, S3_ACLS

        attrs: dict[str, Any] = {
            "Bucket": where.bucket, "Key": conn.get_path_to_file(key), "Body": data,
            "ContentType": "application/octet-stream", "IfNoneMatch": "*",
            "ACL": S3_ACLS.get(where.alias, DEFAULT_S3_ACL),
        }
        if encoding:
            attrs["ContentEncoding"] = encoding
        try:
            client.put_object(**attrs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _S3_UNSUPPORTED:
                return False
            if code not in _S3_TAKEN:
                raise
            if exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0):
                stored = client.get_object(Bucket=where.bucket, Key=attrs["Key"])
                if stored["Body"].read() == data:
                    return True
            raise DestinationExistsError(
                f"{shown or repr(key)} already exists (another writer created it first); pass "
                "overwrite=True to replace it"
            ) from None
    return True


class GuardsMixin:
    """Same-object and name-collision checks of [`Bucket`][tracertools.storage.bucket.Bucket]."""

    if TYPE_CHECKING:  # provided by Bucket
        _url: str
        _scheme: str

        def url_for(self, path: str = "") -> str: ...
        def _files(self) -> Any: ...
        def _remote(self, action: str) -> AbstractContextManager[None]: ...
        def _call(self, action: str, func: Callable[[], Any]) -> Any: ...

    def _encodings(self, keys: builtins.list[str]) -> dict[str, str | None]:
        """The Content-Encoding of each of ``keys`` (one HEAD each; local stats on file://)."""
        if not keys:
            return {}
        heads = self._call(f"reading the encodings of {len(keys)} file(s)",
                           lambda: self._files().head(keys))
        if not isinstance(heads, dict):  # one key: cloudfiles answers its head alone
            heads = {keys[0]: heads}
        return {k: bp.clean_encoding((heads.get(k) or {}).get("Content-Encoding")) for k in keys}

    def _refuse_collisions(
        self, keys: builtins.list[str], name_of: Callable[[str, str | None], str], where: str
    ) -> None:
        """Refuse when two of ``keys`` would be written to one name, before anything is written.

        ``name_of(key, encoding)`` is the name a key lands on. Keys whose names could only meet
        through an encoding suffix (``y`` stored gzip-encoded and ``y.gz``) are told apart by
        one HEAD each; no other key costs a request.

        Raises:
            InvalidInputError: naming both keys of each collision.
        """
        groups: dict[str, builtins.list[str]] = defaultdict(builtins.list)
        for key in keys:
            try:
                groups[bp.without_encoding_suffix(name_of(key, None))].append(key)
            except UnsafePathError:  # fails on its own, named with the other failures
                continue
        suspects = [key for group in groups.values() if len(group) > 1 for key in group]
        if not suspects:
            return
        encodings = self._encodings(suspects)
        landing: dict[str, builtins.list[str]] = defaultdict(builtins.list)
        for key in suspects:
            landing[name_of(key, encodings[key])].append(key)
        clashes = [(name, group) for name, group in sorted(landing.items()) if len(group) > 1]
        if clashes:
            shown = "; ".join(
                " and ".join(repr(self.url_for(k)) for k in group) + f" would both be {name!r}"
                for name, group in clashes[:5]
            )
            more = f" (and {len(clashes) - 5} more)" if len(clashes) > 5 else ""
            raise InvalidInputError(
                f"{len(clashes)} name collision(s) {where}: {shown}{more}; nothing was written. "
                "Rename one of each pair first"
            )

    def _object_id(self, key: str) -> tuple[str, ...]:
        """What names the stored object at ``key``, whichever URL, alias or link reached it.

        ``file://``: the real path (symlinked folders resolved). S3 and its aliases: the
        endpoint's origin (scheme, host, port), the bucket and the key, so ``alias://b/k`` and
        ``s3://https://host/b/k`` agree. Other schemes: protocol, bucket and key. No I/O beyond
        resolving local links.
        """
        url = self.url_for(key)
        if self._scheme == "file":
            return ("file", os.path.realpath(url[len("file://"):]))
        self._files()  # registers a user-config alias with cloudfiles (no I/O)
        from cloudfiles import paths

        where = paths.extract(url)
        host = bp.endpoint_origin(where.host) if where.protocol == "s3" else ""
        return (str(where.protocol), host, str(where.bucket or ""), str(where.path or ""))

    def _same_object(self, key: str, other: Bucket, other_key: str) -> bool:
        """Whether ``key`` here and ``other_key`` in ``other`` are one stored object."""
        if self._object_id(key) == other._object_id(other_key):
            return True
        if self._scheme == other._scheme == "file":  # hard links, case-insensitive disks
            mine, theirs = (b._object_id(k)[1] for b, k in ((self, key), (other, other_key)))
            try:
                return os.path.samefile(mine, theirs)
            except OSError:  # one of them does not exist (yet)
                return False
        return False
