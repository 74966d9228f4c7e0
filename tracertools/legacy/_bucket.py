"""Legacy shims: the bucket_* family (new home: [`tracertools.storage.bucket.Bucket`][tracertools.storage.bucket.Bucket]).

Paths are full URLs, as in the original (``gs://bucket/folder/file``). Downloads get a
timestamp before the extension (the original put it after) and decode gzip-encoded objects,
keeping their plain names, as the original (cloudfiles' ``get``) did; moves and copies keep
every object's encoding. Uploads, moves, renames and copies onto an existing key replace it, as
the original did, so legacy scripts keep working, but never silently: each replaced file is
named in a [`ReplacedFilesWarning`][tracertools.errors.ReplacedFilesWarning]. ``overwrite=False`` refuses
instead ([`DestinationExistsError`][tracertools.errors.DestinationExistsError]), as the new API does by default.
``bucket_convert_colons`` lives with the pure shims.
"""

from __future__ import annotations

import logging
import os

from tracertools.errors import InvalidInputError, UnsafePathError
from tracertools.storage.bucket import Bucket, Overwrite

__all__ = [
    "bucket_copy_folder",
    "bucket_delete_file",
    "bucket_delete_folder",
    "bucket_download_file",
    "bucket_download_folder",
    "bucket_move_file",
    "bucket_rename_file",
    "bucket_upload_file",
    "bucket_upload_folder",
]

logger = logging.getLogger(__name__)

#: The word bucket_delete_folder asks for (any letter case).
CONFIRM_WORD = "delete"


def _mode(overwrite: bool) -> Overwrite:
    """The shims' ``overwrite``: True (the original's behaviour) replaces with a warning."""
    if overwrite is not True and overwrite is not False:
        raise InvalidInputError(f"overwrite must be True or False, got {overwrite!r}")
    return "warn" if overwrite else False


def bucket_copy_folder(source_path: str, destination_path: str, *, overwrite: bool = True) -> None:
    """Legacy shim for `Bucket.copy_folder()` (into destination; replaced files are warned about)."""
    mode = _mode(overwrite)
    bucket, prefix = Bucket.split(source_path)
    bucket.copy_folder(prefix, destination_path, overwrite=mode)


def bucket_delete_file(file_path: str) -> None:
    """Legacy shim for [`Bucket.delete()`][tracertools.storage.bucket.Bucket.delete] (a missing file is ignored, as before)."""
    bucket, key = Bucket.split(file_path)
    bucket.delete(key, missing_ok=True)


def bucket_delete_folder(folder_path: str) -> None:
    """Legacy shim for [`Bucket.delete_folder()`][tracertools.storage.bucket.Bucket.delete_folder], asking for the word "delete" on stdin."""
    bucket, prefix = Bucket.split(folder_path)
    if not prefix:
        raise UnsafePathError(f"refusing to delete the bucket root {bucket.url}")
    if bucket.read_only:
        raise InvalidInputError(f"{bucket.url} is read-only; its folders cannot be deleted")
    where = bucket.url_for(prefix)
    count = len(bucket.list(prefix))
    reply = input(  # the one interactive prompt in tracertools, kept from the original
        f"{os.linesep}This deletes the folder {where} and the {count} file(s) in it; it cannot "
        f"be undone.{os.linesep}Type {CONFIRM_WORD} to confirm: "
    )
    if reply.strip().lower() != CONFIRM_WORD:
        logger.warning("Folder %s was not deleted.", where)
        return
    deleted = bucket.delete_folder(prefix, confirm=prefix)
    logger.warning("Folder %s was deleted (%d file(s)).", where, deleted)


def bucket_download_file(bucket_path: str, download_path: str | None = None) -> None:
    """Legacy shim for [`Bucket.download()`][tracertools.storage.bucket.Bucket.download] (``~/Downloads`` by default; contents decoded)."""
    bucket, key = Bucket.split(bucket_path)
    bucket.download(key, download_path, decompress=True)


def bucket_download_folder(bucket_path: str, download_path: str | None = None) -> None:
    """Legacy shim for [`Bucket.download_folder()`][tracertools.storage.bucket.Bucket.download_folder] (``~/Downloads`` by default; decoded)."""
    bucket, prefix = Bucket.split(bucket_path)
    bucket.download_folder(prefix, download_path, decompress=True)


def bucket_move_file(file_path: str, new_folder_path: str, *, overwrite: bool = True) -> None:
    """Legacy shim for `Bucket.move()` (a replaced file is warned about; overwrite=False refuses)."""
    mode = _mode(overwrite)
    bucket, key = Bucket.split(file_path)
    bucket.move(key, new_folder_path, overwrite=mode)


def bucket_rename_file(file_path: str, new_name: str, *, overwrite: bool = True) -> None:
    """Legacy shim for `Bucket.rename()` (a replaced file is warned about; overwrite=False refuses)."""
    mode = _mode(overwrite)
    bucket, key = Bucket.split(file_path)
    bucket.rename(key, new_name, overwrite=mode)


def bucket_upload_file(local_path: str, bucket_path: str, *, overwrite: bool = True) -> None:
    """Legacy shim for [`Bucket.upload()`][tracertools.storage.bucket.Bucket.upload] (into folder ``bucket_path``; a replaced file is warned about)."""
    mode = _mode(overwrite)
    bucket, prefix = Bucket.split(bucket_path)
    bucket.upload(local_path, prefix + "/", overwrite=mode)


def bucket_upload_folder(local_path: str, bucket_path: str, *, overwrite: bool = True) -> None:
    """Legacy shim for [`Bucket.upload_folder()`][tracertools.storage.bucket.Bucket.upload_folder] (into ``bucket_path``; replaced files are warned about)."""
    mode = _mode(overwrite)
    bucket, prefix = Bucket.split(bucket_path)
    bucket.upload_folder(local_path, prefix, overwrite=mode)
