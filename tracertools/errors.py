"""The tracertools exception tree.

Every exception the SDK raises on purpose derives from [`TracertoolsError`][tracertools.errors.TracertoolsError], and also from
the builtin exception that callers of the original library already catch, so existing
``except KeyError`` / ``except ValueError`` code keeps working::

    TracertoolsError (Exception)
    ├── ConfigError (ValueError)                 a config value or file is invalid
    │   └── MissingFeatureError (LookupError)    the datastack has no such table / source
    ├── UnknownDatastackError (KeyError)         no preset, user config or running LocalCave
    ├── InvalidInputError (ValueError)           bad arguments, caught before any request
    │   ├── InvalidSegmentIdError                an ID that is not an exact uint64, or no segment ID
    │   │   └── NotARootError                    a supervoxel / L2 ID where strict=True wants roots
    │   ├── InvalidStateError                    a neuroglancer state/URL we cannot read
    │   ├── UnknownTableError (KeyError)         a table the datastack does not have
    │   └── InvalidGeometryError                 degenerate points, bad meshes, bad OBJ
    ├── ServiceError (RuntimeError)              a remote service failed (``__cause__`` kept)
    │   ├── SegmentNotFoundError (LookupError)   an ID the chunkedgraph does not know
    │   ├── RateLimitedError                     429s that outlasted our retries
    │   ├── ServiceUnreachableError (ConnectionError)  no such host / connection refused
    │   ├── ServiceTimeoutError (TimeoutError)   no complete answer within a call's deadline
    │   └── AuthenticationError (PermissionError)      the service refused the token (401/403)
    ├── BatchError (RuntimeError)                items of a batch failed under errors="raise"
    ├── RenderingUnavailableError (RuntimeError) no display and no offscreen OpenGL for VTK
    ├── MissingDependencyError (ImportError)     an optional extra (navis, plots) not installed
    ├── ConcurrentChangeError (RuntimeError)     what a write was aimed at moved meanwhile
    ├── DestinationExistsError (FileExistsError) a write would replace an existing file
    ├── SourceNotFoundError (FileNotFoundError)  a file or folder to read/move/delete is missing
    ├── ConfirmationRequiredError (PermissionError)  destructive call without confirm=
    └── UnsafePathError (PermissionError)        a path escaping its root, or a bucket root

    PartialResultWarning (UserWarning)           items of a batch failed under errors="warn"
    IncompleteDataWarning (UserWarning)          a service left data it has not processed yet out
    ReplacedFilesWarning (UserWarning)           a write replaced existing files (overwrite="warn")

Remote failures keep the original exception as ``__cause__`` and, when there was an answer, its
HTTP status as ``ServiceError.status`` ([`http_status()`][tracertools.errors.http_status] finds it behind any exception).
Messages never contain tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "BatchError",
    "ConcurrentChangeError",
    "ConfigError",
    "ConfirmationRequiredError",
    "DestinationExistsError",
    "IncompleteDataWarning",
    "InvalidGeometryError",
    "InvalidInputError",
    "InvalidSegmentIdError",
    "InvalidStateError",
    "MissingDependencyError",
    "MissingFeatureError",
    "NotARootError",
    "PartialResultWarning",
    "RateLimitedError",
    "ReplacedFilesWarning",
    "RenderingUnavailableError",
    "SegmentNotFoundError",
    "ServiceError",
    "ServiceTimeoutError",
    "SourceNotFoundError",
    "ServiceUnreachableError",
    "AuthenticationError",
    "TracertoolsError",
    "UnknownDatastackError",
    "UnknownTableError",
    "UnsafePathError",
    "http_status",
]


class TracertoolsError(Exception):
    """Root of every error tracertools raises on purpose.

    Every subclass pickles (for results coming back from worker processes), whatever its
    ``__init__`` takes: the message and attributes travel, ``__cause__`` (as for any pickled
    exception) does not.

    Attributes:
        whole_call: True when the error is about the call itself (an argument of the call or
            of its session, such as a ``materialization_version`` the service does not
            have), not about one item: a batch then raises it as it is, under any
            ``errors=`` policy, instead of failing every item with it.
    """

    whole_call: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_error, (type(self), self.args, dict(self.__dict__)))


def _restore_error(
    cls: type[TracertoolsError], args: tuple[Any, ...], state: dict[str, Any]
) -> TracertoolsError:
    """Rebuild a pickled error without calling its ``__init__`` (see TracertoolsError)."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class ConfigError(TracertoolsError, ValueError):
    """A datastack configuration value, preset or user config file is invalid."""


class MissingFeatureError(ConfigError, LookupError):
    """The datastack's config has no value for a feature a method needs.

    Example: ``count_synapses`` on a datastack whose config names no synapse table.
    """

    def __init__(self, datastack: str, field: str, purpose: str | None = None) -> None:
        self.datastack = datastack
        self.field = field
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(
            f"Datastack {datastack!r} has no {field!r} in its config{what}. "
            f"Add it to your user config file (see `tracertools config-path`) "
            f"or pass config= to Datastack."
        )


class UnknownDatastackError(TracertoolsError, KeyError):
    """A datastack name with no preset, user config entry or running LocalCave."""

    def __init__(self, name: str, known: Iterable[str], suggestions: Iterable[str] = ()) -> None:
        self.name = name
        self.known = sorted(known)
        self.suggestions = list(suggestions)
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        hint = f" Did you mean {' or '.join(map(repr, self.suggestions))}?" if self.suggestions else ""
        return (
            f"Unknown datastack {self.name!r}.{hint} Known datastacks: {', '.join(self.known)}. "
            f"Add others in your user config file or pass config= to Datastack."
        )


class InvalidInputError(TracertoolsError, ValueError):
    """An argument is malformed; raised before any request or write."""


class UnknownTableError(InvalidInputError, KeyError):
    """A table name the datastack does not have; the message lists its tables."""

    def __init__(self, datastack: str, name: str, known: Iterable[str]) -> None:
        import difflib

        self.datastack = datastack
        self.name = name
        self.known = sorted(known)
        self.suggestions = difflib.get_close_matches(name, self.known, n=3, cutoff=0.5)
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        hint = f" Did you mean {' or '.join(map(repr, self.suggestions))}?" if self.suggestions else ""
        return (f"Datastack {self.datastack!r} has no table {self.name!r}.{hint} "
                f"Its tables: {', '.join(self.known) or '(none)'}.")


class InvalidSegmentIdError(InvalidInputError):
    """A value that cannot be an exact segment ID (a uint64)."""

    def __init__(self, value: Any, position: int | None = None, reason: str = "") -> None:
        self.value = value
        self.position = position
        self.reason = reason
        where = f" at position {position}" if position is not None else ""
        why = f": {reason}" if reason else ""
        super().__init__(f"Invalid segment ID {value!r}{where}{why}")


class NotARootError(InvalidSegmentIdError):
    """A supervoxel or level-2 ID where only segment (root) IDs are accepted (``strict=True``).

    Attributes:
        kind: ``"supervoxel"`` or ``"l2"``.
        root: the segment holding it at the read time (None if it could not be looked up).
    """

    def __init__(self, value: Any, position: int | None, reason: str, *, kind: str,
                 root: int | None = None) -> None:
        self.kind = kind
        self.root = root
        if root is not None:
            reason += f"; it belongs to segment {root}"
        super().__init__(value, position, reason)


class InvalidStateError(InvalidInputError):
    """A neuroglancer state, share URL or layer that cannot be used as asked."""


class InvalidGeometryError(InvalidInputError):
    """Geometry that cannot be processed: too few or coplanar points, bad OBJ, empty mesh."""


class ServiceError(TracertoolsError, RuntimeError):
    """A remote service (CAVE, bucket, Sheets) failed; the original error is ``__cause__``.

    Attributes:
        status: the HTTP status of the failed answer, or None when there was no answer
            (a timeout, a refused connection) or the failure was not an HTTP one.
    """

    def __init__(self, *args: Any, status: int | None = None) -> None:
        super().__init__(*args)
        self.status = status


class SegmentNotFoundError(ServiceError, LookupError):
    """The chunkedgraph does not know a segment ID (it never existed at that time)."""

    def __init__(self, segment_ids: Sequence[int], message: str | None = None) -> None:
        self.segment_ids = [int(s) for s in segment_ids]
        shown = ", ".join(str(s) for s in self.segment_ids[:10])
        more = f" and {len(self.segment_ids) - 10} more" if len(self.segment_ids) > 10 else ""
        super().__init__(message or f"Segment ID(s) not found in the chunkedgraph: {shown}{more}")


class RateLimitedError(ServiceError):
    """The service kept answering 429 Too Many Requests after our retries (``status`` 429)."""

    def __init__(self, *args: Any, status: int | None = 429) -> None:
        super().__init__(*args, status=status)


class ServiceUnreachableError(ServiceError, ConnectionError):
    """A service could not be reached at all: its host name did not resolve, or it refused the
    connection. Not retried; the message names the server, says whether a CAVE token was
    found and where tokens are looked up."""


class ServiceTimeoutError(ServiceError, TimeoutError):
    """A remote call (a bucket operation, a state fetch) did not end within its total
    deadline: the server never answered, or kept an answer arriving too slowly. The message
    names the call and the deadline (seconds)."""


class AuthenticationError(ServiceError, PermissionError):
    """A service refused the request's token: HTTP 401 (no token, or one it does not accept)
    or 403 (the token lacks permission). The message says where the token came from and how to
    set one; it never contains the token."""


class BatchError(TracertoolsError, RuntimeError):
    """Some items of a batch failed under ``errors="raise"``.

    Attributes:
        failures: mapping of input position to the exception raised for that item.

    ``hint`` (default True) ends the message suggesting ``errors="warn"``; pass False where the
    method that raised has no ``errors=`` parameter.
    """

    def __init__(self, failures: dict[int, BaseException], labels: Sequence[Any] | None = None,
                 *, hint: bool = True):
        self.failures = dict(failures)
        first_pos, first_exc = next(iter(self.failures.items()))
        label = labels[first_pos] if labels is not None else first_pos
        advice = ' Pass errors="warn" to get results for the other items.' if hint else ""
        super().__init__(redact(
            f"{len(self.failures)} item(s) failed; first: {label!r}: "
            f"{type(first_exc).__name__}: {first_exc}.{advice}"
        ))


class RenderingUnavailableError(TracertoolsError, RuntimeError):
    """No display and no offscreen OpenGL (EGL or OSMesa) could be found for VTK."""


class MissingDependencyError(TracertoolsError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class ConcurrentChangeError(TracertoolsError, RuntimeError):
    """What a write was aimed at changed under it (e.g. sheet rows moved by another edit).

    Raised before that write; whatever was written earlier was checked and stays.
    """


class DestinationExistsError(TracertoolsError, FileExistsError):
    """A write, upload, move or copy would replace an existing file (pass ``overwrite=True``)."""


class SourceNotFoundError(TracertoolsError, FileNotFoundError):
    """A file or folder to read, download, upload, move, copy or delete does not exist."""


class ConfirmationRequiredError(TracertoolsError, PermissionError):
    """A destructive operation was called without explicit confirmation."""


class UnsafePathError(TracertoolsError, PermissionError):
    """A path that escapes its allowed root, or a bucket root for a folder operation."""


class PartialResultWarning(UserWarning):
    """Some items of a batch failed under ``errors="warn"``; they are None/NaN in the result."""


def http_status(exc: BaseException | None) -> int | None:
    """The HTTP status behind an exception, if there is one.

    A [`ServiceError`][tracertools.errors.ServiceError]'s ``status``; else the ``response.status_code`` of a ``requests``
    error, or the ``ResponseMetadata.HTTPStatusCode`` of a botocore error; following
    ``__cause__`` until one is found.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        status = getattr(exc, "status", None) if isinstance(exc, ServiceError) else None
        if status is None:
            status = getattr(getattr(exc, "response", None), "status_code", None)
        if status is None:
            response = getattr(exc, "response", None)
            if isinstance(response, dict):
                status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if isinstance(status, int) and not isinstance(status, bool):
            return status
        exc = exc.__cause__
    return None


#: Credentials as they appear in echoed requests: ``Bearer <token>`` and ``..._token=<token>``
#: (the ``middle_auth_token`` cookie or query parameter, ``access_token=``, ``auth_token=``).
_CREDENTIALS = re.compile(
    r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"
    r"|(\b(?:middle_auth_token|auth_token|access_token)[\"']?\s*[=:]\s*[\"']?)[^\s;&\"',}]+"
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret, and anything shaped like a credential (``Bearer …``,
    ``middle_auth_token=…``), replaced by ``***``: for messages quoting a server's reply."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _CREDENTIALS.sub(lambda m: (m.group(1) or m.group(2) or "") + "***", text)


def redact_chain(exc: BaseException, secrets: Iterable[str | None] = ()) -> None:
    """`redact()` the string arguments of ``exc`` and of every exception behind it, in place
    (so a formatted traceback with its causes shows no secret either)."""
    wanted = [s for s in secrets if s]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        try:
            current.args = tuple(redact(a, wanted) if isinstance(a, str) else a
                                 for a in current.args)
        except Exception:  # an exception type whose args cannot be set: leave it
            pass
        current = current.__cause__ or current.__context__


def hint_on_call(module_name: str, hint: str) -> None:
    """Make calling the module ``module_name`` raise a ``TypeError`` that says what to call.

    For modules whose names users try as functions (``tt.segments(ids)``): instead of Python's
    "'module' object is not callable", the error names the method to use. Only for
    tracertools' own modules.
    """
    import sys
    import types

    class _Hinting(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise TypeError(f"{module_name} is a module, not a function. {hint}")

    sys.modules[module_name].__class__ = _Hinting


class IncompleteDataWarning(UserWarning):
    """A service left out data it has not processed yet (the answer is otherwise complete).

    Example: annotations ingested moments ago whose root-ID lookups are not done; the
    materialization engine cannot say which segment they belong to, so counts leave them out.
    """


class ReplacedFilesWarning(UserWarning):
    """A write replaced existing files, as asked with ``overwrite="warn"``; names each one.

    The legacy ``bucket_*`` shims replace files as the original did, and say so with this.
    """
