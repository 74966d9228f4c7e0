"""Buckets: files on gs://, s3://, S3-compatible aliases, http(s)://, file:// and mem://.

[`Bucket`][tracertools.storage.bucket.Bucket] is a handle over ``cloudfiles``. This module is the only place in tracertools that
builds a ``CloudFiles`` object (in [`cloudfiles_for()`][tracertools.storage.bucket.cloudfiles_for], which ``Bucket`` and
[`tracertools.geometry.precomputed`][tracertools.geometry.precomputed] use), always inside a function, so ``import tracertools`` stays
light. Bucket's move, rename and copy methods live in ``tracertools.storage.bucket_transfer``, its
same-object, name-collision and atomic-create guards in ``tracertools.storage.bucket_guards``.

No-loss rules: downloads never overwrite (a timestamp goes before the extension unless
``overwrite=True``); moves and renames verify the copy before deleting the source; nothing is
written over an existing file unless ``overwrite=True`` (or ``overwrite="warn"``, which replaces
and names every replaced file in a [`ReplacedFilesWarning`][tracertools.errors.ReplacedFilesWarning], what the
legacy shims do); uploads write whole files only and name
every file that failed; ``delete_folder`` needs ``confirm=`` and refuses a bucket root; bytes are
never altered (Content-Encodings are kept, shown locally as ``.gz``-style suffixes, as cloudfiles
does). The user guide page ``docs/buckets.md`` explains each rule.

Neuroglancer's legacy mesh format names files ``1:0`` and ``1:0:1``, and colons are not allowed
in Windows file names, so local copies use ``___`` in their place (see [`forbids_colons()`][tracertools.storage.bucket.forbids_colons]).
"""

from __future__ import annotations

import builtins
import logging
import os
import posixpath
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tracertools.batch import check_error_policy, run_per_item, within
from tracertools.config import user_aliases
from tracertools.errors import (
    ConfigError,
    ConfirmationRequiredError,
    InvalidInputError,
    ReplacedFilesWarning,
    ServiceError,
    TracertoolsError,
    UnsafePathError,
    http_status,
    redact,
    redact_chain,
)
from tracertools.storage import bucket_paths as bp
from tracertools.storage.bucket_guards import MEM_CREATE_LOCK, GuardsMixin, s3_create
from tracertools.storage.bucket_paths import (
    COLON_PLACEHOLDER,
    DestinationExistsError,
    Overwrite,
    SourceNotFoundError,
    check_overwrite,
)
from tracertools.storage.bucket_transfer import TransferMixin

if TYPE_CHECKING:
    from cloudfiles import CloudFiles

__all__ = [
    "COLON_PLACEHOLDER",
    "DEADLINE_ENV",
    "DEFAULT_DEADLINE_S",
    "Bucket",
    "DestinationExistsError",
    "Overwrite",
    "SourceNotFoundError",
    "cloudfiles_for",
    "convert_colons",
    "forbids_colons",
    "operation_deadline",
]

logger = logging.getLogger(__name__)

#: Existence checks for more keys than this list their folder once instead of a HEAD per key.
_HEAD_LIMIT = 64
#: The environment variable that sets the total deadline of one remote bucket operation (s).
DEADLINE_ENV = "TRACERTOOLS_BUCKET_DEADLINE"
#: Seconds one remote bucket operation may take when neither the handle nor the environment
#: says otherwise.
DEFAULT_DEADLINE_S = 600.0
#: Schemes served by this machine: their operations run without a deadline.
_LOCAL_SCHEMES = frozenset({"file", "mem"})

R = TypeVar("R")


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 < value < float("inf")):
        raise InvalidInputError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def operation_deadline(value: float | None = None) -> float:
    """The total deadline of one remote bucket operation, in seconds.

    ``value`` if given, else ``$TRACERTOOLS_BUCKET_DEADLINE``, else `DEFAULT_DEADLINE_S`.

    Raises:
        InvalidInputError: ``value`` is not a positive finite number.
        ConfigError: the environment variable is not one.
    """
    if value is not None:
        return _seconds(value, "deadline_s")
    text = os.environ.get(DEADLINE_ENV, "").strip()
    if not text:
        return DEFAULT_DEADLINE_S
    try:
        return _seconds(float(text), DEADLINE_ENV)
    except (ValueError, InvalidInputError):
        raise ConfigError(
            f"{DEADLINE_ENV} must be a finite number of seconds > 0, got {text!r}") from None


def convert_colons(path: str, to_windows: bool = True) -> str:
    """Swap colons in a path for a Windows-safe placeholder, or back.

    The whole string is converted, folders and protocol prefixes included
    (``"gs://b/1:0"`` becomes ``"gs___//b/1___0"``). Not invertible when the path already
    contains ``"___"``.

    Args:
        path: a file or folder path or URL.
        to_windows: True replaces every ``":"`` with ``"___"``; False replaces every ``"___"``
            with ``":"``.

    Returns:
        The converted path.

    Raises:
        InvalidInputError: if ``path`` is not a str or ``to_windows`` is not a bool.
    """
    if not isinstance(path, str):
        raise InvalidInputError(f"path must be a str, not {type(path).__name__}")
    if not isinstance(to_windows, bool):
        raise InvalidInputError(
            f"to_windows must be True or False, not {type(to_windows).__name__}"
        )
    if to_windows:
        return path.replace(":", COLON_PLACEHOLDER)
    return path.replace(COLON_PLACEHOLDER, ":")


def forbids_colons(override: bool | None = None) -> bool:
    """Whether local file names must avoid ``":"`` (True on Windows).

    Args:
        override: force the answer (True: convert ``:`` <-> ``___`` in local names; False: keep
            names as they are); None decides from the running platform.
    """
    if override is not None:
        return bool(override)
    return sys.platform == "win32"


def cloudfiles_for(url: str, *, green: bool | None = None) -> CloudFiles:
    """A ``CloudFiles`` for ``url``, built here so the bucket module stays the one seam.

    A scheme declared under ``[aliases]`` in the user config is registered with cloudfiles
    first, as [`Bucket`][tracertools.storage.bucket.Bucket] does; other URLs go to cloudfiles unchecked (use [`Bucket`][tracertools.storage.bucket.Bucket]
    for validated URLs). No I/O beyond reading the user config.

    Args:
        url: a cloudfiles URL (``gs://``, ``s3://``, ``file://``, ``mem://``, an alias...).
        green: cloudfiles' ``green`` (gevent threads); None is cloudfiles' default.

    Returns:
        ``CloudFiles(url, green=green, progress=False)``.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme and scheme not in bp.BASE_SCHEMES and scheme in user_aliases():
        bp.register_alias(scheme)
    from cloudfiles import CloudFiles

    return CloudFiles(url, green=green, progress=False)


# --------------------------------------------------------------------------------------------
# The handle
# --------------------------------------------------------------------------------------------


class Bucket(TransferMixin, GuardsMixin):
    """A bucket (or a folder in one): list, read, write, transfer, move and delete files.

    ``Bucket(url)`` validates the URL and stores it; only methods do I/O. Paths given to methods
    are '/'-separated keys relative to the handle's URL (``".."`` is refused).

    Args:
        url: ``gs://bucket[/folder]``, ``s3://bucket``, ``s3://https://endpoint/bucket``, an
            S3-compatible alias such as ``nokura://bucket`` (built in) or one declared under
            ``[aliases]`` in the user config file (registered with cloudfiles on first use),
            ``https://host/path`` (read-only), ``mem://name`` (in-process) or
            ``file:///local/folder`` (a ``pathlib.Path`` is taken as a local folder).
            Credentials come from cloudfiles' secrets files and the environment, never the URL.
        deadline_s: the total time one remote operation (a read, write, existence check,
            listing, copy or delete of one file or one batch of keys) may take, retries
            included, in seconds; past it the call raises
            [`ServiceTimeoutError`][tracertools.errors.ServiceTimeoutError]. None:
            ``$TRACERTOOLS_BUCKET_DEADLINE``, else 600 s. ``file://`` and ``mem://`` have none.

    Raises:
        InvalidInputError: a malformed URL, an unknown scheme, a query string or credentials
            in the URL, or a deadline that is not a positive number of seconds.
    """

    def __init__(self, url: str | os.PathLike[str], *, deadline_s: float | None = None) -> None:
        self._url, self._scheme = bp.normalize_url(url)
        self._deadline = None if deadline_s is None else _seconds(deadline_s, "deadline_s")
        self._cf: Any = None
        self._lock = threading.Lock()

    # -- identity ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The normalized URL of this handle (no trailing slash)."""
        return self._url

    @property
    def scheme(self) -> str:
        """The URL scheme: ``gs``, ``s3``, ``http``, ``https``, ``file``, ``mem`` or an alias."""
        return self._scheme

    @property
    def deadline_s(self) -> float | None:
        """The total seconds one remote operation of this handle may take (None on
        ``file://`` and ``mem://``, whose operations are local)."""
        if self._scheme in _LOCAL_SCHEMES:
            return None
        return operation_deadline(self._deadline)

    @property
    def read_only(self) -> bool:
        """True for http(s):// buckets, which can only be read."""
        return self._scheme in bp.READ_ONLY_SCHEMES

    def __repr__(self) -> str:
        return f"Bucket({self._url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bucket) and other._url == self._url

    def __hash__(self) -> int:
        return hash(("Bucket", self._url))

    def url_for(self, path: str = "") -> str:
        """The full URL of ``path`` under this handle."""
        key = bp.clean_key(path)
        base = self._url if self._url.endswith("/") else self._url + "/"
        return base + key if key else self._url

    @classmethod
    def split(cls, url: str) -> tuple[Bucket, str]:
        """Split a full URL into a handle at its bucket root and the key below it.

        ``Bucket.split("gs://b/vol/info")`` gives ``(Bucket("gs://b"), "vol/info")``; for
        ``file://`` URLs the root is ``file:///``.
        """
        root, key = bp.split_root(*bp.normalize_url(url))
        return cls(root), key

    # -- plumbing ---------------------------------------------------------------------------

    def _files(self) -> Any:
        """The CloudFiles for this handle, built on first use (aliases registered then)."""
        with self._lock:
            if self._cf is None:
                with self._remote("opening"):
                    self._cf = cloudfiles_for(self._url, green=False)  # registers aliases
            return self._cf

    @contextmanager
    def _remote(self, action: str) -> Iterator[None]:
        try:
            yield
        except TracertoolsError:
            raise
        except Exception as exc:
            redact_chain(exc)
            raise ServiceError(
                redact(f"{action} failed on {self._url}: {type(exc).__name__}: {exc}"),
                status=http_status(exc),
            ) from exc

    def _call(self, action: str, func: Callable[[], R]) -> R:
        """``func()``, one cloud-files operation, under this handle's deadline; its failures
        become typed errors (`_remote`), its overrun a ``ServiceTimeoutError``.

        cloud-files builds its S3 clients (and their timeouts) in a pool shared by the whole
        process, so the deadline is kept from outside: the operation runs on a helper thread
        (see [`within()`][tracertools.batch.within]).
        """
        with self._remote(action):
            deadline = self.deadline_s
            return within(func, deadline, f"{action} on {self._url}")

    def _writable(self, action: str) -> None:
        if self.read_only:
            raise InvalidInputError(
                f"{self._url} is read-only ({self._scheme}://); {action} needs a writable "
                "bucket such as gs://, s3://, an S3 alias, file:// or mem://"
            )

    def _file_key(self, path: Any) -> str:
        key = bp.clean_key(path)
        if not key:
            raise InvalidInputError("a file path is required, got an empty path")
        return key

    def _list(self, start: str, *, flat: bool = False) -> list[str]:
        def listing() -> builtins.list[str]:
            try:
                return builtins.list(self._files().list(prefix=start, flat=flat))
            except FileNotFoundError:  # file:// flat listing of a missing folder
                return []

        names = self._call(f"listing {start!r}", listing)
        if self._scheme == "file" and os.sep != "/":
            names = [n.replace(os.sep, "/") for n in names]
        return sorted(set(names))

    def _get(self, key: str) -> tuple[bytes, str | None]:
        """Raw stored bytes of ``key`` and its Content-Encoding."""
        found = self._call(f"reading {key!r}", lambda: self._files().get([key], raw=True)[0])
        if found["content"] is None:
            raise SourceNotFoundError(f"{self.url_for(key)} does not exist")
        return bytes(found["content"]), bp.clean_encoding(found.get("compress"))

    def _decoded(self, key: str, data: bytes, encoding: str | None) -> bytes:
        """``data`` with its Content-Encoding undone (as cloudfiles' ``get`` returns it)."""
        if encoding is None:
            return data
        from cloudfiles import compression

        with self._remote(f"decoding {key!r} ({encoding})"):
            return bytes(compression.decompress(data, encoding, key))

    def _put(self, key: str, data: bytes, encoding: str | None, *, create: bool = False) -> None:
        """Store ``data`` at ``key``; with ``create``, only if no file is there at that moment.

        ``create`` is atomic where the store allows it: ``file://`` links a fully written
        temporary file into place (``os.link`` never replaces; ``O_EXCL`` where links are not
        supported), S3 and its aliases send a conditional put (``If-None-Match: *``), and
        ``mem://`` checks and writes under a lock. Elsewhere (``gs://``) the callers' check
        just before is all there is.

        Raises:
            DestinationExistsError: ``create`` and a file appeared at ``key`` first.
        """
        if create and self._scheme == "file":
            with self._remote(f"writing {key!r}"):
                bp.create_local(self._local_path(key), data, encoding)
            return
        self._call(f"writing {key!r}", lambda: self._store(key, data, encoding, create))

    def _store(self, key: str, data: bytes, encoding: str | None, create: bool) -> None:
        """The cloud-files part of `_put` (on the deadline's helper thread)."""
        cf = self._files()
        if create and self._scheme == "mem":
            with MEM_CREATE_LOCK:
                if cf.exists(key):
                    raise DestinationExistsError(f"{self.url_for(key)} already exists")
                cf.put(key, data, raw=True, compress=encoding)
            return
        shown = self.url_for(key)
        if create and cf.protocol == "s3" and s3_create(cf, key, data, encoding, shown):
            return
        if create:
            logger.debug("%s: no atomic create here; writing after the existence check",
                         self._url)
        cf.put(key, data, raw=True, compress=encoding)

    def _local_path(self, key: str) -> Path:
        """The local path of ``key`` in a ``file://`` bucket (before any encoding suffix)."""
        return Path(self._url[len("file://"):], *key.split("/"))

    def _existing(self, keys: list[str]) -> list[str]:
        """Which of ``keys`` exist: a HEAD each for a few, one listing of their folder for many."""
        if len(keys) > _HEAD_LIMIT:
            folder = posixpath.commonpath(keys)
            folder = posixpath.dirname(folder) if folder in keys else folder
            listed = set(self._list(folder + "/" if folder else ""))
            return sorted(k for k in keys if k in listed)
        if not keys:
            return []
        found = self._call("checking destinations", lambda: self._files().exists(keys))
        return sorted(k for k, there in found.items() if there)

    def _refuse_existing(self, keys: list[str]) -> None:
        taken = self._existing(keys)
        if taken:
            raise DestinationExistsError(
                f"{len(taken)} file(s) already exist under {self._url}: {bp.shown(taken)}; "
                "pass overwrite=True to replace them"
            )

    def _clear_to_write(self, keys: list[str], overwrite: Overwrite) -> None:
        """Refuse (False), allow (True) or allow with a warning naming each replaced file
        ("warn") writing ``keys``."""
        if overwrite is True:
            return
        if overwrite is False:
            self._refuse_existing(keys)
            return
        replaced = self._existing(keys)
        if replaced:
            warnings.warn(
                f"replacing {len(replaced)} existing file(s): "
                + ", ".join(self.url_for(k) for k in replaced),
                ReplacedFilesWarning, stacklevel=4,
            )

    def _delete_keys(self, keys: list[str]) -> None:
        self._call(f"deleting {len(keys)} file(s)", lambda: self._files().delete(keys))

    def _folder_files(self, prefix: str) -> tuple[str, str, builtins.list[str]]:
        """The folder's key, its listing prefix and its files (raises if it holds none)."""
        folder = bp.clean_key(prefix, "prefix")
        start = folder + "/" if folder else ""
        keys = self._list(start)
        if not keys:
            raise SourceNotFoundError(f"no files under {self.url_for(folder)}")
        return folder, start, keys

    def _target(self, dest: str | Bucket) -> tuple[Bucket, str]:
        if isinstance(dest, Bucket):
            return dest, ""
        if isinstance(dest, str) and "://" in dest:
            return Bucket(dest, deadline_s=self._deadline), ""
        return self, bp.clean_key(dest, "destination")

    def _leaf_name(self) -> str:
        tail = self._url.rstrip("/").rsplit("/", 1)[-1]
        return tail if tail and not tail.endswith(":") else "bucket"

    # -- reading ----------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        """Whether a file exists at ``path`` (one HEAD request, or a local stat)."""
        key = self._file_key(path)
        return bool(self._existing([key]))

    def list(self, prefix: str = "", recursive: bool = True) -> list[str]:
        """Sorted keys of the files in folder ``prefix`` ("" is this handle's whole URL).

        Args:
            prefix: a folder path; only files inside it are listed (``"mesh"`` lists
                ``mesh/...``, never ``mesh2/...``).
            recursive: False lists one level: files and, ending in "/", subfolders.
        """
        folder = bp.clean_key(prefix, "prefix")
        return self._list(folder + "/" if folder else "", flat=not recursive)

    def read(self, path: str) -> bytes:
        """The stored bytes of a file, unaltered (no decompression).

        Raises:
            SourceNotFoundError: no file at ``path``.
        """
        return self._get(self._file_key(path))[0]

    # -- writing ----------------------------------------------------------------------------

    def write(
        self, path: str, data: bytes | bytearray | memoryview, *, overwrite: bool = False
    ) -> None:
        """Store ``data`` at ``path`` byte for byte (no compression, no Content-Encoding).

        Raises:
            DestinationExistsError: ``path`` exists and ``overwrite`` is False.
        """
        self._writable("write")
        key = self._file_key(path)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidInputError(f"data must be bytes, not {type(data).__name__}")
        if not overwrite:
            self._refuse_existing([key])
        self._put(key, bytes(data), None, create=overwrite is False)

    def upload(
        self,
        local_path: str | os.PathLike[str],
        dest_path: str | None = None,
        *,
        overwrite: Overwrite = False,
        windows_names: bool | None = None,
    ) -> str:
        """Upload one local file under its exact name and bytes; returns the key written.

        Args:
            local_path: the local file.
            dest_path: the destination key; None puts the file's name at this handle's URL, a
                path ending in "/" is a folder that keeps the file's name.
            overwrite: replace an existing file at the destination; ``"warn"`` replaces it
                with a [`ReplacedFilesWarning`][tracertools.errors.ReplacedFilesWarning] naming it.
            windows_names: turn ``___`` back into ``:`` in the file name (default: on Windows).
        """
        check_overwrite(overwrite)
        self._writable("upload")
        source = Path(local_path).expanduser()
        if not source.is_file():
            raise SourceNotFoundError(f"local file {source} does not exist or is not a file")
        name = bp.remote_name(source.name, forbids_colons(windows_names))
        if dest_path is None:
            key = name
        else:
            cleaned = bp.clean_key(dest_path, "dest_path")
            key = bp.join(cleaned, name) if not cleaned or dest_path.endswith("/") else cleaned
        self._clear_to_write([key], overwrite)
        self._put(key, bp.read_whole(source), None, create=overwrite is False)
        return key

    def upload_folder(
        self,
        local_dir: str | os.PathLike[str],
        dest_prefix: str,
        *,
        overwrite: Overwrite = False,
        progress: bool | None = None,
        errors: str = "raise",
        windows_names: bool | None = None,
    ) -> builtins.list[str]:
        """Upload the contents of a local folder into folder ``dest_prefix``, in parallel.

        Bytes are sent unchanged; files named ``*.gz``/``.br``/``.zstd``/``.xz``/``.bz2`` are
        stored under the name without the suffix, labelled with that Content-Encoding (what
        cloudfiles and neuroglancer expect of precomputed volumes written by cloudvolume).

        Args:
            local_dir: the local folder; its contents land in ``dest_prefix``.
            dest_prefix: the destination folder ("" is this handle's URL).
            overwrite: replace existing files; by default nothing is uploaded if any exists;
                ``"warn"`` replaces them with a ``ReplacedFilesWarning`` naming each.
            progress: show a progress bar (None: ``$TRACERTOOLS_PROGRESS``).
            errors: "raise" (BatchError naming the failed files), "warn" or "ignore".
            windows_names: turn ``___`` back into ``:`` in names (default: on Windows).

        Returns:
            The keys written, in sorted order of the local files; failed files are left out.
        """
        check_overwrite(overwrite)
        self._writable("upload_folder")
        policy = check_error_policy(errors)
        root = Path(local_dir).expanduser()
        if not root.is_dir():
            raise SourceNotFoundError(f"local folder {root} does not exist or is not a folder")
        prefix = bp.clean_key(dest_prefix, "dest_prefix")
        windows = forbids_colons(windows_names)
        files = bp.walk_files(root)
        plan = []
        for rel in files:
            stem, encoding = bp.encoding_of(bp.remote_name(rel, windows))
            plan.append(
                (root.joinpath(*rel.split("/")), bp.join(prefix, bp.clean_key(stem)), encoding)
            )
        keys = [key for _, key, _ in plan]
        clashes = sorted(k for k, n in Counter(keys).items() if n > 1)
        if clashes:
            raise InvalidInputError(f"several local files map to the same key: {bp.shown(clashes)}")
        self._clear_to_write(keys, overwrite)

        def send(item: tuple[Path, str, str | None]) -> str:
            path, key, encoding = item
            self._put(key, bp.read_whole(path), encoding, create=overwrite is False)
            return key

        done = run_per_item(send, plan, errors=policy, progress=progress, desc="Uploading",
                            labels=files, what="file")  # fmt: skip
        return [key for key in done if key is not None]

    # -- downloading ------------------------------------------------------------------------

    def download(
        self,
        path: str,
        local_dir: str | os.PathLike[str] | None = None,
        *,
        overwrite: bool = False,
        windows_names: bool | None = None,
        decompress: bool = False,
    ) -> Path:
        """Download one file into ``local_dir`` (created if missing); returns the path written.

        By default the name gets a timestamp before its extension
        (``mesh_2025_01_31_142501.obj``, with ``_2``, ``_3``... if that exists too), so nothing
        is overwritten; ``overwrite=True`` writes (and replaces) the plain name.

        Args:
            path: the file's key.
            local_dir: the local folder; default ``~/Downloads``.
            overwrite: write the plain name, replacing any file there.
            windows_names: write ``:`` as ``___`` in the name (default: on Windows).
            decompress: undo the object's Content-Encoding and keep its plain name (default:
                keep the stored bytes and add the encoding's suffix, such as ``.gz``).
        """
        key = self._file_key(path)
        data, encoding = self._get(key)
        if decompress:
            data, encoding = self._decoded(key, data, encoding), None
        parts = bp.local_parts(
            bp.with_encoding(posixpath.basename(key), encoding), forbids_colons(windows_names)
        )
        folder = bp.local_dir(local_dir)
        if overwrite:
            return bp.write_whole(folder / parts[-1], data, replace=True)
        return bp.write_new(folder, parts[-1], data, bp.timestamp())

    def download_folder(
        self,
        prefix: str,
        local_dir: str | os.PathLike[str] | None = None,
        *,
        overwrite: bool = False,
        progress: bool | None = None,
        errors: str = "raise",
        windows_names: bool | None = None,
        decompress: bool = False,
    ) -> Path:
        """Download every file in folder ``prefix``, in parallel; returns the local folder.

        The local folder is ``local_dir/<name>_<timestamp>`` (a new folder), or
        ``local_dir/<name>`` with ``overwrite=True`` (files there are replaced).

        Args:
            prefix: the folder's key ("" is this handle's URL).
            local_dir: where to create the folder; default ``~/Downloads``.
            overwrite: use the plain folder name and replace files in it.
            progress: show a progress bar (None: ``$TRACERTOOLS_PROGRESS``).
            errors: "raise" (BatchError naming the failed files), "warn" or "ignore".
            windows_names: write ``:`` as ``___`` in names (default: on Windows).
            decompress: undo each object's Content-Encoding and keep its plain name (default:
                keep the stored bytes and add the encoding's suffix, such as ``.gz``).

        Raises:
            SourceNotFoundError: the folder holds no files.
            InvalidInputError: two keys would land on one local file (``y`` stored
                gzip-encoded and ``y.gz`` both become ``y.gz``; with Windows names ``1:0`` and
                ``1___0`` both become ``1___0``); checked before anything is written.
        """
        policy = check_error_policy(errors)
        folder, start, keys = self._folder_files(prefix)
        windows = forbids_colons(windows_names)

        def local_name(key: str, encoding: str | None) -> str:
            kept = None if decompress else encoding  # decoded files keep their plain names
            return "/".join(bp.local_parts(bp.with_encoding(key[len(start):], kept), windows))

        self._refuse_collisions(keys, local_name, "in the download folder")
        name = bp.local_parts(posixpath.basename(folder) or self._leaf_name(), windows)[-1]
        parent = bp.local_dir(local_dir)
        if overwrite:
            dest = parent / name
            dest.mkdir(exist_ok=True)
        else:
            dest = bp.new_folder(parent, name, bp.timestamp())

        def fetch(key: str) -> Path:
            data, encoding = self._get(key)
            if decompress:
                data, encoding = self._decoded(key, data, encoding), None
            target = dest.joinpath(*local_name(key, encoding).split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            return bp.write_whole(target, data, replace=overwrite)

        run_per_item(fetch, keys, errors=policy, progress=progress, desc="Downloading", what="file")
        return dest

    # -- deleting ---------------------------------------------------------------------------

    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """Delete one file.

        Raises:
            SourceNotFoundError: no file at ``path`` (unless ``missing_ok``).
        """
        key = bp.clean_key(path)
        if not key:
            raise UnsafePathError("delete() needs a file path, not an empty path")
        self._writable("delete")
        if not self._existing([key]):
            if missing_ok:
                return
            raise SourceNotFoundError(f"{self.url_for(key)} does not exist")
        self._delete_keys([key])

    def delete_folder(self, prefix: str, *, confirm: str | None = None) -> int:
        """Delete every file in folder ``prefix`` (one batched delete), then check none remain.

        Args:
            prefix: the folder's key; never empty (a bucket root cannot be deleted this way).
            confirm: must equal ``prefix`` (or the folder's full URL), to show you mean it.

        Returns:
            The number of files deleted.

        Raises:
            UnsafePathError: ``prefix`` is empty or the bucket root (checked before any request).
            ConfirmationRequiredError: ``confirm`` is missing or names another folder.
            ServiceError: files remain after the delete.
        """
        folder = bp.clean_key(prefix, "prefix")
        if not folder:
            raise UnsafePathError(
                f"refusing to delete an empty path (the whole of {self._url}); name a folder"
            )
        self._writable("delete_folder")
        given = confirm.rstrip("/") if isinstance(confirm, str) else None
        given = given.lstrip("/") if given is not None and "://" not in given else given
        if given not in (folder, self.url_for(folder)):
            raise ConfirmationRequiredError(
                f"delete_folder deletes every file under {self.url_for(folder)}; "
                f"pass confirm={folder!r} to proceed"
            )
        keys = self._list(folder + "/")
        if keys:
            self._delete_keys(keys)
        left = self._list(folder + "/")
        if left:
            raise ServiceError(
                f"{len(left)} file(s) remain under {self.url_for(folder)}: {bp.shown(left)}"
            )
        if self._scheme == "file":
            bp.prune_empty_dirs(Path(self._url[len("file://") :], *folder.split("/")))
        logger.info("deleted %d file(s) under %s", len(keys), self.url_for(folder))
        return len(keys)
