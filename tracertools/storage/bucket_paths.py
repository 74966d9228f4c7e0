"""The rules behind [`tracertools.storage.bucket.Bucket`][tracertools.storage.bucket.Bucket]: URLs, keys, local names, safe local writes.

Pure string rules plus the few local-filesystem writes that keep downloads from overwriting
anything. No cloudfiles here; [`tracertools.storage.bucket`][tracertools.storage.bucket] is the one module that builds CloudFiles.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from tracertools.config import user_aliases
from tracertools.errors import (
    DestinationExistsError,
    InvalidInputError,
    SourceNotFoundError,
    UnsafePathError,
)

#: The Windows-safe stand-in for ":" in file names.
COLON_PLACEHOLDER = "___"

#: What a write may do to an existing file: refuse (False), replace (True), or replace and name
#: it in a ReplacedFilesWarning ("warn").
Overwrite = bool | Literal["warn"]


def check_overwrite(value: Any) -> None:
    """Refuse an ``overwrite=`` that is not True, False or "warn" (before any request)."""
    if value is True or value is False or (isinstance(value, str) and value == "warn"):
        return
    raise InvalidInputError(f'overwrite must be True, False or "warn", got {value!r}')

BASE_SCHEMES = frozenset({"gs", "s3", "http", "https", "file", "mem"})
READ_ONLY_SCHEMES = frozenset({"http", "https"})
_BUILTIN_ALIASES = frozenset({"nokura", "matrix", "tigerdata"})  # cloudfiles' official aliases
_FORMAT_SCHEMES = frozenset({"precomputed", "graphene", "zarr", "zarr2", "zarr3", "n5", "boss"})
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$", re.DOTALL)
_BUCKET_NAME_RE = re.compile(r"^[~\w.\-]+$")
#: Local file suffix <-> Content-Encoding, as cloudfiles stores encodings on file:// and mem://.
_SUFFIX_ENCODINGS = {".gz": "gzip", ".br": "br", ".zstd": "zstd", ".xz": "xz", ".bz2": "bzip2"}
_ENCODING_SUFFIXES = {**{v: k for k, v in _SUFFIX_ENCODINGS.items()}, "lzma": ".xz", "bz2": ".bz2"}


# --------------------------------------------------------------------------------------------
# URLs and keys
# --------------------------------------------------------------------------------------------


def _masked(url: str) -> str:
    """``url`` for an error message: user info and query hidden, long tails cut."""
    text = re.sub(r"//[^/@\s]*@", "//***@", url)
    text = re.sub(r"([?#]).*$", r"\1***", text)
    return repr(text if len(text) <= 120 else text[:117] + "...")


def _url_parts(path: str, url: str) -> list[str]:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidInputError(f"bucket URL {_masked(url)} must not contain '..'")
    return parts


def _known_alias(scheme: str) -> bool:
    paths = sys.modules.get("cloudfiles.paths")  # aliases registered live (never imported here)
    live = getattr(paths, "ALIASES", None) or {}
    return scheme in live or scheme in _BUILTIN_ALIASES or scheme in user_aliases()


def normalize_url(url: Any) -> tuple[str, str]:
    """Validate a bucket URL without I/O; return it normalized (no trailing "/") and its scheme.

    Raises:
        InvalidInputError: no or unknown scheme, a format prefix, a query, credentials, no
            bucket name, or ``..``.
    """
    if isinstance(url, os.PathLike):
        url = "file://" + os.path.abspath(os.fspath(url))  # type: ignore[operator]
    if not isinstance(url, str) or not url:
        raise InvalidInputError(f"a bucket URL must be a non-empty str, not {type(url).__name__}")
    if any(ord(c) < 32 for c in url):
        raise InvalidInputError("a bucket URL must not contain control characters")
    match = _URL_RE.match(url)
    if match is None:
        raise InvalidInputError(
            f"{_masked(url)} has no scheme; use gs://, s3://, an alias such as nokura://, https://, "
            "mem:// or file:// (for local folders)"
        )
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in _FORMAT_SCHEMES or "|" in rest:
        raise InvalidInputError(
            f"{_masked(url)} has a format prefix or suffix; give the storage URL"
        )
    if "?" in rest or "#" in rest:
        raise InvalidInputError(
            f"bucket URL {_masked(url)} must not have a query or fragment (keep tokens in secrets files)"
        )
    if scheme == "file":
        path = os.path.abspath(os.path.expanduser(rest or "/"))
        if path.startswith("//"):  # POSIX keeps a leading "//"; it names the same root
            path = "/" + path.lstrip("/")
        return "file://" + path, "file"
    if scheme not in BASE_SCHEMES and not _known_alias(scheme):
        raise InvalidInputError(
            f"unknown bucket scheme '{scheme}://' in {_masked(url)}; use gs://, s3://, http(s)://, "
            "file://, mem:// or an alias (declare your own under [aliases] in the user config)"
        )
    endpoint = ""
    if scheme in READ_ONLY_SCHEMES or (scheme == "s3" and re.match(r"https?://", rest)):
        if scheme == "s3":
            proto, rest = rest.split("://", 1)
            endpoint = f"{proto}://"
        host, _, rest = rest.partition("/")
        if not host or "@" in host or any(c.isspace() for c in host):
            raise InvalidInputError(
                f"bucket URL {_masked(url)} needs a host and must not hold credentials"
            )
        endpoint += host
        if scheme in READ_ONLY_SCHEMES:
            return f"{scheme}://" + "/".join([endpoint, *_url_parts(rest, url)]), scheme
    parts = _url_parts(rest, url)
    if parts and "@" in parts[0]:
        raise InvalidInputError(
            f"bucket URL {_masked(url)} holds credentials before '@'; credentials never go in a "
            "URL (they would end up in logs and links). Remove them and let cloud-files find "
            "them: ~/.cloudvolume/secrets/, or the AWS_* / GOOGLE_APPLICATION_CREDENTIALS "
            "environment variables"
        )
    if not parts or not _BUCKET_NAME_RE.match(parts[0]):
        raise InvalidInputError(
            f"bucket URL {_masked(url)} needs a bucket name (letters, digits, '.', '_', '-')"
        )
    return f"{scheme}://" + "/".join(p for p in [endpoint, *parts] if p), scheme


def endpoint_origin(endpoint: str | None) -> str:
    """An S3 endpoint as ``scheme://host:port`` (lower case, default port explicit).

    None (cloudfiles' default, AWS) is ``https://s3.amazonaws.com:443``.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint or "https://s3.amazonaws.com")
    scheme = (parts.scheme or "https").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").rstrip(".")
    return f"{scheme}://{host}:{port or (80 if scheme == 'http' else 443)}"


def register_alias(scheme: str) -> None:
    """Register a user-config alias with cloudfiles if it does not know it yet (first use)."""
    if scheme in BASE_SCHEMES:
        return
    from cloudfiles import paths

    if scheme not in paths.ALIASES:
        host = user_aliases().get(scheme)
        if host is None:
            raise InvalidInputError(f"alias '{scheme}://' is not defined")
        paths.add_alias(scheme, host)


def split_root(url: str, scheme: str) -> tuple[str, str]:
    """Split a normalized URL into its bucket root URL and the key below it."""
    if scheme == "file":
        return "file:///", clean_key(url[len("file:///") :])
    if url.startswith(("s3://http://", "s3://https://")):
        match = re.match(r"^(s3://https?://[^/]+/[^/]+)/?(.*)$", url)
    else:
        match = re.match(r"^([^:]+://[^/]+)/?(.*)$", url)
    if match is None:  # pragma: no cover - normalize_url guarantees a root
        raise InvalidInputError(f"cannot find the bucket root of {_masked(url)}")
    return match.group(1), clean_key(match.group(2))


def clean_key(path: Any, what: str = "path") -> str:
    """A relative key: '/'-separated, without empty or '.' parts.

    Raises:
        InvalidInputError: not a str, or control characters.
        UnsafePathError: a ``..`` part.
    """
    if not isinstance(path, str):
        raise InvalidInputError(f"{what} must be a str, not {type(path).__name__}")
    if any(ord(c) < 32 for c in path):
        raise InvalidInputError(f"{what} {path!r} must not contain control characters")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(f"{what} {path!r} escapes its folder with '..'")
    return "/".join(parts)


def join(*parts: str) -> str:
    """Join key parts with "/", skipping empty ones."""
    return "/".join(p for p in parts if p)


def shown(items: list[str], limit: int = 5) -> str:
    """The first few items for an error message."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(repr(i) for i in items[:limit]) + more


# --------------------------------------------------------------------------------------------
# Encodings and local names
# --------------------------------------------------------------------------------------------


def clean_encoding(value: Any) -> str | None:
    """A Content-Encoding as cloudfiles reports it, or None for plain bytes."""
    text = str(value or "").strip().lower()
    return None if text in ("", "identity") else text


def with_encoding(name: str, encoding: str | None) -> str:
    """The local name of an object: its key plus the suffix of its Content-Encoding, if any."""
    suffix = _ENCODING_SUFFIXES.get(encoding or "", "")
    return name if not suffix or name.endswith(suffix) else name + suffix


def without_encoding_suffix(name: str) -> str:
    """``name`` without one trailing ``.gz``/``.br``/``.zstd``/``.xz``/``.bz2`` suffix."""
    stem, suffix = posixpath.splitext(name)
    return stem if suffix in _SUFFIX_ENCODINGS else name


def stored_name_on(scheme: str, key: str, encoding: str | None) -> str:
    """The name ``key`` is stored under on a bucket of ``scheme``.

    ``file://`` and ``mem://`` keep an encoding as a suffix of the name (cloudfiles' rule:
    ``y`` gzip-encoded is the file ``y.gz``); other stores keep it beside the key.
    """
    return with_encoding(key, encoding) if scheme in ("file", "mem") else key


def encoding_of(name: str) -> tuple[str, str | None]:
    """Key and Content-Encoding for a local file in a folder upload (``x.gz`` -> ``x``, gzip)."""
    stem, suffix = posixpath.splitext(name)
    if suffix in _SUFFIX_ENCODINGS and posixpath.basename(stem):
        return stem, _SUFFIX_ENCODINGS[suffix]
    return name, None


def local_parts(rel: str, windows: bool) -> list[str]:
    """Local path parts for a relative key (``:`` -> ``___`` when ``windows``)."""
    if windows:
        rel = rel.replace(":", COLON_PLACEHOLDER)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(f"key {rel!r} would escape the download folder")
    return parts


def remote_name(rel: str, windows: bool) -> str:
    """The key for a local relative path (``___`` -> ``:`` when ``windows``)."""
    return rel.replace(COLON_PLACEHOLDER, ":") if windows else rel


def _split_suffix(name: str) -> tuple[str, str]:
    """``("mesh", ".obj")`` for ``mesh.obj``; ``("data", ".tar.gz")`` for ``data.tar.gz``."""
    stem, suffix = posixpath.splitext(name)
    if suffix in _SUFFIX_ENCODINGS:
        inner_stem, inner = posixpath.splitext(stem)
        if inner and len(inner) <= 5:
            return inner_stem, inner + suffix
    return stem, suffix


def stamped(name: str, stamp: str, n: int = 1) -> str:
    """``name`` with ``_<stamp>`` (and ``_<n>`` after the first) before its extension."""
    stem, suffix = _split_suffix(name)
    return f"{stem}_{stamp}{'' if n == 1 else f'_{n}'}{suffix}"


def timestamp() -> str:
    """Local time as ``YYYY_MM_DD_HHMMSS``, the original's download stamp."""
    return datetime.now().strftime("%Y_%m_%d_%H%M%S")


# --------------------------------------------------------------------------------------------
# Local files
# --------------------------------------------------------------------------------------------


def local_dir(folder: str | os.PathLike[str] | None) -> Path:
    """``folder`` (default ``~/Downloads``), created with its parents if missing."""
    path = Path.home() / "Downloads" if folder is None else Path(folder).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_new(folder: Path, name: str, data: bytes, stamp: str) -> Path:
    """Write ``data`` under a timestamped name in ``folder`` that did not exist before."""
    for n in range(1, 10_000):
        path = folder / stamped(name, stamp, n)
        try:
            handle = open(path, "xb")  # exclusive: never replaces a file
        except FileExistsError:
            continue
        try:
            with handle:
                handle.write(data)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path
    raise DestinationExistsError(f"no free timestamped name for {name!r} in {folder}")


def write_whole(path: Path, data: bytes, *, replace: bool) -> Path:
    """Write ``data`` to ``path`` via a temporary file, so no half-written file ever shows.

    Raises:
        DestinationExistsError: ``path`` exists and ``replace`` is False.
    """
    if not replace and (path.exists() or path.is_symlink()):
        raise DestinationExistsError(f"local file {path} already exists")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def create_local(path: Path, data: bytes, encoding: str | None) -> Path:
    """Create the file for a bucket key at ``path`` (plus its encoding suffix), never replacing.

    Atomic: the bytes go to a temporary file first, which is then hard-linked into place
    (``os.link`` fails if the name exists, so of two racing writers exactly one wins and no
    reader ever sees half a file); where hard links are not supported, the file is created
    with ``O_EXCL`` and written. Any stored variant of the key (``y`` beside ``y.gz``, as
    cloudfiles keeps encodings) counts as existing.

    Raises:
        DestinationExistsError: a file of that key exists (or appeared first).
    """
    final = path.with_name(with_encoding(path.name, encoding))
    variants = [path, *(path.with_name(path.name + s) for s in _SUFFIX_ENCODINGS)]
    taken = [v for v in dict.fromkeys([final, *variants]) if v.exists() or v.is_symlink()]
    if taken:
        raise DestinationExistsError(f"{taken[0]} already exists")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_bytes(data)
        try:
            os.link(tmp, final)
        except FileExistsError:
            raise DestinationExistsError(
                f"{final} already exists (another writer created it first)") from None
        except OSError:  # no hard links on this file system: exclusive create instead
            try:
                handle = open(final, "xb")
            except FileExistsError:
                raise DestinationExistsError(
                    f"{final} already exists (another writer created it first)") from None
            try:
                with handle:
                    handle.write(data)
            except BaseException:
                final.unlink(missing_ok=True)
                raise
    finally:
        tmp.unlink(missing_ok=True)
    return final


def new_folder(parent: Path, name: str, stamp: str) -> Path:
    """Create ``parent/<name>_<stamp>`` (or ``..._2`` ...), a folder that did not exist."""
    for n in range(1, 10_000):
        path = parent / f"{name}_{stamp}{'' if n == 1 else f'_{n}'}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise DestinationExistsError(f"no free timestamped folder name for {name!r} in {parent}")


def read_whole(path: Path) -> bytes:
    """All bytes of a local file.

    Raises:
        SourceNotFoundError: the file is gone (or a dangling link).
    """
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise SourceNotFoundError(f"local file {path} vanished before it could be read") from exc


def walk_files(root: Path) -> list[str]:
    """Sorted '/'-separated paths, relative to ``root``, of every file below it."""
    found: list[str] = []
    for folder, _dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        found.extend(join("" if rel == "." else rel, name) for name in files)
    return sorted(found)


def prune_empty_dirs(root: Path) -> None:
    """Remove ``root`` and the folders below it that hold no files."""
    if not root.is_dir():
        return
    for folder, _dirs, _files in os.walk(root, topdown=False):
        try:
            os.rmdir(folder)
        except OSError:  # not empty
            pass
