"""Moving, renaming and copying files: the transfer methods of [`tracertools.storage.bucket.Bucket`][tracertools.storage.bucket.Bucket].

`TransferMixin` holds `move()`,
`rename()` and `copy_folder()`;
``Bucket`` inherits them, so they are called on a Bucket as always. The no-loss rules of
[`tracertools.storage.bucket`][tracertools.storage.bucket] hold here: a move copies, verifies the copy (bytes and
Content-Encoding), and only then deletes the source; nothing is written over an existing file
unless ``overwrite=True`` (or ``"warn"``: replace and name each replaced file in a
``ReplacedFilesWarning``); every folder copy is checked to exist afterwards.

Part of the bucket seam: the CloudFiles objects used here come from ``Bucket._files()``; this
module never builds one.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

from tracertools.batch import check_error_policy, run_per_item
from tracertools.errors import InvalidInputError, ServiceError
from tracertools.storage import bucket_paths as bp
from tracertools.storage.bucket_paths import Overwrite, check_overwrite

if TYPE_CHECKING:
    from tracertools.storage.bucket import Bucket

__all__ = ["TransferMixin"]


class TransferMixin:
    """Move, rename and copy methods of [`Bucket`][tracertools.storage.bucket.Bucket] (mixed in there)."""

    if TYPE_CHECKING:  # provided by Bucket

        def url_for(self, path: str = "") -> str: ...
        def _files(self) -> Any: ...
        def _remote(self, action: str) -> AbstractContextManager[None]: ...
        def _call(self, action: str, func: Callable[[], Any]) -> Any: ...
        def _writable(self, action: str) -> None: ...
        def _file_key(self, path: Any) -> str: ...
        def _get(self, key: str) -> tuple[bytes, str | None]: ...
        def _put(
            self, key: str, data: bytes, encoding: str | None, *, create: bool = False
        ) -> None: ...
        def _refuse_existing(self, keys: list[str]) -> None: ...
        def _clear_to_write(self, keys: list[str], overwrite: Overwrite) -> None: ...
        def _delete_keys(self, keys: list[str]) -> None: ...
        def _folder_files(self, prefix: str) -> tuple[str, str, list[str]]: ...
        def _target(self, dest: str | Bucket) -> tuple[Bucket, str]: ...
        def _existing(self, keys: list[str]) -> list[str]: ...
        def _refuse_collisions(
            self, keys: list[str], name_of: Callable[[str, str | None], str], where: str
        ) -> None: ...
        def _same_object(self, key: str, other: Bucket, other_key: str) -> bool: ...

    def _move(self, key: str, target: Bucket, dest_key: str, overwrite: Overwrite) -> None:
        self._writable("move")
        target._writable("move")
        source_url, dest_url = self.url_for(key), target.url_for(dest_key)
        if dest_url == source_url:
            return  # already there (the original's rename did nothing too)
        if self._same_object(key, target, dest_key):
            raise InvalidInputError(
                f"{dest_url} is the same stored file as {source_url} (another URL, alias or "
                "linked folder of the same bucket); nothing was moved"
            )
        data, encoding = self._get(key)
        target._clear_to_write([dest_key], overwrite)
        target._put(dest_key, data, encoding, create=overwrite is False)
        copy, copy_encoding = target._get(dest_key)
        if copy != data or copy_encoding != encoding:
            raise ServiceError(
                f"the copy at {dest_url} differs from {source_url}; the source was kept"
            )
        self._delete_keys([key])
        if not target._existing([dest_key]):  # a route to the same object nobody could see
            target._put(dest_key, data, encoding)
            raise ServiceError(
                f"deleting {source_url} also deleted {dest_url}: they are one stored file; it "
                "was written back, so nothing is lost, but it was not moved"
            )

    def move(self, path: str, dest_folder: str | Bucket, *, overwrite: Overwrite = False) -> str:
        """Move a file into another folder: copy, verify the copy, then delete the source.

        Args:
            path: the file's key.
            dest_folder: a folder in this bucket, or a URL / Bucket elsewhere; the file keeps
                its name.
            overwrite: replace a file of that name in ``dest_folder``; ``"warn"`` replaces it
                with a ``ReplacedFilesWarning`` naming it.

        Returns:
            The URL of the moved file.
        """
        check_overwrite(overwrite)
        key = self._file_key(path)
        target, folder = self._target(dest_folder)
        dest_key = bp.join(folder, posixpath.basename(key))
        self._move(key, target, dest_key, overwrite)
        return target.url_for(dest_key)

    def rename(self, path: str, new_name: str, *, overwrite: Overwrite = False) -> str:
        """Rename a file in its folder (copy, verify, delete); returns the new key.

        ``overwrite``: replace a file called ``new_name``; ``"warn"`` replaces it with a
        ``ReplacedFilesWarning`` naming it.

        Raises:
            InvalidInputError: ``new_name`` is empty or contains "/".
        """
        check_overwrite(overwrite)
        key = self._file_key(path)
        if (
            not isinstance(new_name, str)
            or new_name in ("", ".", "..")
            or "/" in new_name
            or any(ord(c) < 32 for c in new_name)
        ):
            raise InvalidInputError(
                f"new_name must be a plain file name without '/', got {new_name!r}"
            )
        new_key = bp.join(posixpath.dirname(key), new_name)
        self._move(key, cast("Bucket", self), new_key, overwrite)
        return new_key

    def copy_folder(
        self,
        src_prefix: str,
        dest: str | Bucket,
        *,
        overwrite: Overwrite = False,
        progress: bool | None = None,
        errors: str = "raise",
    ) -> int:
        """Copy every file in folder ``src_prefix`` into ``dest``, in parallel.

        Bytes and Content-Encodings are kept; gs->gs and s3->s3 on one endpoint copy
        server-side. Every copy is checked to exist afterwards.

        Args:
            src_prefix: the source folder ("" is this handle's URL).
            dest: a folder in this bucket, or a URL / Bucket elsewhere; receives the contents.
            overwrite: replace existing files; by default nothing is copied if any exists;
                ``"warn"`` replaces them with a ``ReplacedFilesWarning`` naming each.
            progress: show a progress bar (None: ``$TRACERTOOLS_PROGRESS``).
            errors: "raise" (BatchError naming the failed files), "warn" or "ignore".

        Returns:
            The number of files copied.

        Raises:
            InvalidInputError: the destination is the source folder (under any URL), or two
                keys would land on one file there (on ``file://`` and ``mem://``, ``y`` stored
                gzip-encoded and ``y.gz`` are both the file ``y.gz``); checked before anything
                is written.
        """
        check_overwrite(overwrite)
        policy = check_error_policy(errors)
        target, dest_prefix = self._target(dest)
        target._writable("copy_folder")
        source_prefix = bp.clean_key(src_prefix, "src_prefix")
        if target.url_for(dest_prefix) == self.url_for(source_prefix) or \
                self._same_object(source_prefix, target, dest_prefix):
            raise InvalidInputError(
                f"{target.url_for(dest_prefix)} is the same folder as "
                f"{self.url_for(source_prefix)} (the same URL, or another URL, alias or linked "
                "folder of the same bucket)"
            )
        folder, start, keys = self._folder_files(src_prefix)
        pairs = [(key, bp.join(dest_prefix, key[len(start) :])) for key in keys]
        dest_of = dict(pairs)
        self._refuse_collisions(
            keys, lambda key, enc: bp.stored_name_on(target.scheme, dest_of[key], enc),
            f"in {target.url_for(dest_prefix)}",
        )
        target._clear_to_write([d for _, d in pairs], overwrite)
        source_cf, dest_cf = self._files(), target._files()

        def copy(pair: tuple[str, str]) -> str:
            self._call(f"copying {pair[0]!r}", lambda: source_cf.transfer_to(
                dest_cf, paths=[{"path": pair[0], "dest_path": pair[1]}], progress=False))
            return pair[1]

        results = run_per_item(copy, pairs, errors=policy, progress=progress, desc="Copying",
                               labels=keys, what="file")  # fmt: skip
        done = [d for d in results if d is not None]
        missing = sorted(set(done) - set(target._existing(done)))
        if missing:
            raise ServiceError(f"{len(missing)} copied file(s) are missing: {bp.shown(missing)}")
        return len(done)
