"""Value checks behind the datastack config models: numbers, names, IDs and URLs.

Each check raises ``ValueError`` with a message that completes "field 'x': ...";
`tracertools.config` turns those into [`ConfigError`][tracertools.errors.ConfigError] naming the
datastack and the field.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from tracertools.config.presets import is_extra_key
from tracertools.errors import ConfigError

# --------------------------------------------------------------------------------------------
# Value checks. Each raises ValueError with a message that completes "field 'x': ...".
# --------------------------------------------------------------------------------------------

_WRAPPER_SCHEMES = frozenset({"precomputed", "graphene", "zarr", "zarr2", "zarr3", "n5"})
_BASE_SCHEMES = frozenset(
    {"gs", "s3", "http", "https", "file", "mem", "middleauth+https", "ngauth+https"}
)
_HOSTED_SCHEMES = frozenset({"http", "https", "middleauth+https", "ngauth+https"})
_BUILTIN_ALIASES = frozenset({"nokura", "matrix", "tigerdata"})
_PIPE_SUFFIX = "|neuroglancer-precomputed:"
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$", re.DOTALL)
_TOKEN_QUERY_RE = re.compile(r"[?&][^=&#]*token[^=&#]*=", re.IGNORECASE)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_UINT64_MAX = 2**64 - 1


def _show(value: Any) -> str:
    """Render a rejected value for an error message, masking any userinfo and long tails."""
    text = re.sub(r"//[^/@\s'\"]*@", "//***@", repr(value))
    return text if len(text) <= 120 else text[:117] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _as_int(value: Any) -> int | None:
    """``value`` as an int if it is an int or an integral float, else None."""
    if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
        return None
    return int(value)


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap ``check`` so that None (and, for sequences, an empty legacy ``[]``) give None."""

    def optional(value: Any) -> Any:
        return None if value is None or value == [] or value == () else check(value)

    return optional


def _numbers(value: Any, n: int, what: str, *, positive: bool = False) -> tuple[Any, ...]:
    items = list(value) if isinstance(value, (list, tuple)) else []
    if len(items) != n or not all(_is_number(v) and (v > 0 or not positive) for v in items):
        raise ValueError(f"must be {what}, got {_show(value)}")
    return tuple(float(v) for v in items)


def _whole_numbers(value: Any, what: str, *, n: int | None = 3, low: int | None = None) -> Any:
    items = list(value) if isinstance(value, (list, tuple)) else [None]
    ints = [_as_int(v) for v in items]
    if (n is not None and len(ints) != n) or any(
        v is None or (low is not None and v < low) or v > _UINT64_MAX for v in ints
    ):
        raise ValueError(f"must be {what}, got {_show(value)}")
    return tuple(ints)


def _check_resolution(value: Any) -> Any:
    return _numbers(value, 3, "3 positive numbers (nm per voxel)", positive=True)


def _check_angle(value: Any) -> Any:
    angle = _numbers(value, 4, "4 numbers (a quaternion)")
    if all(v == 0 for v in angle):
        raise ValueError("must be 4 numbers (a quaternion) that are not all zero")
    return angle


def _check_positive(value: Any) -> float:
    if not _is_number(value) or value <= 0:
        raise ValueError(f"must be a positive number, got {_show(value)}")
    return float(value)


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValueError(f"must be a non-empty name without spaces, got {_show(value)}")
    return value


def _check_stack_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(
            f"must be a datastack name of letters, digits, '_', '-' or '.', got {_show(value)}"
        )
    return value


def _check_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {_show(value)}")
    return value


def _check_id(value: Any) -> int:
    number = _as_int(value)
    if number is None or number < 0:
        raise ValueError(f"must be a non-negative whole number, got {_show(value)}")
    return number


def _check_names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"must be a list of column names, got {_show(value)}")
    return tuple(_check_name(v) for v in value)


def _known_aliases() -> set[str]:
    """Cloudfiles alias schemes we accept: built-ins, the user file's [aliases], live cloudfiles."""
    names = set(_BUILTIN_ALIASES)
    paths_module = sys.modules.get("cloudfiles.paths")
    for attr in ("ALIASES", "OFFICIAL_ALIASES"):
        names.update(getattr(paths_module, attr, None) or {})
    from tracertools.config import user_aliases  # lazy: config.model imports this module

    try:
        names.update(user_aliases())
    except ConfigError:  # a broken file reports itself where it is loaded
        pass
    return names


def _check_url_text(url: str, *, http_only: bool, allow_wrapper: bool, aliases: bool) -> None:
    match = _SCHEME_RE.match(url)
    if match is None:
        raise ValueError(
            f"must be a URL with a scheme such as gs://, s3:// or https://, got {_show(url)}"
        )
    scheme, rest = match.group(1).lower(), match.group(2)
    if http_only and scheme not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// address, got {_show(url)}")
    if scheme in _WRAPPER_SCHEMES:
        if not allow_wrapper:
            raise ValueError(f"'{scheme}://' cannot be nested inside another format prefix")
        try:
            _check_url_text(rest, http_only=False, allow_wrapper=False, aliases=aliases)
        except ValueError as exc:
            raise ValueError(f"wraps an invalid URL in {_show(url)}: {exc}") from None
        return
    if scheme not in _BASE_SCHEMES and not (aliases and scheme in _known_aliases()):
        raise ValueError(
            f"has an unknown URL scheme '{scheme}://' in {_show(url)}; expected precomputed://, "
            "graphene://, gs://, s3://, https://, http://, file://, mem://, middleauth+https:// "
            "or a cloudfiles alias such as nokura:// (declare others under [aliases] in the "
            "user config file)"
        )
    rest = rest[: -len(_PIPE_SUFFIX)] if rest.endswith(_PIPE_SUFFIX) else rest
    host = rest.split("/", 1)[0]
    if "|" in rest:
        raise ValueError(f"may end only in the pipe suffix {_PIPE_SUFFIX!r}, got {_show(url)}")
    if not rest or (scheme in _HOSTED_SCHEMES and not host):
        raise ValueError(f"has no host or path after the scheme, got {_show(url)}")
    if scheme in _HOSTED_SCHEMES and "@" in host:
        raise ValueError("must not embed credentials; register tokens with auth_token=")
    if _TOKEN_QUERY_RE.search(rest):
        raise ValueError("must not carry a token; register tokens with auth_token=")


def _check_url(value: Any, *, http_only: bool = False, aliases: bool = True) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValueError(f"must be a URL string without spaces, got {_show(value)}")
    _check_url_text(value, http_only=http_only, allow_wrapper=not http_only, aliases=aliases)
    return value


def _check_extra(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a table of name = URL pairs, got {_show(value)}")
    out: dict[str, str] = {}
    for key, url in value.items():
        if not isinstance(key, str) or not is_extra_key(key):
            raise ValueError(
                f"key {key!r} must be a snake_case name ending in '_url' that is not a "
                "standard config key (it becomes a legacy config key)"
            )
        try:
            out[key] = _check_url(url)
        except ValueError as exc:
            raise ValueError(f"key {key!r}: {exc}") from None
    return out


def _v(check: Callable[[Any], Any]) -> BeforeValidator:
    return BeforeValidator(check)


Resolution = Annotated[tuple[float, float, float], _v(_check_resolution)]
OptSize = Annotated[
    tuple[int, int, int] | None,
    _v(_optional(lambda v: _whole_numbers(v, "3 positive whole numbers (voxels)", low=1))),
]
OptCoord = Annotated[
    tuple[int, int, int] | None,
    _v(_optional(lambda v: _whole_numbers(v, "3 whole numbers (voxel coordinates)"))),
]
OptPoint = Annotated[
    tuple[float, float, float] | None,
    _v(_optional(lambda v: _numbers(v, 3, "3 numbers (voxel coordinates)"))),
]
Angle = Annotated[tuple[float, float, float, float], _v(_check_angle)]
Positive = Annotated[float, _v(_check_positive)]
Name = Annotated[str, _v(_check_name)]
OptName = Annotated[str | None, _v(_optional(_check_name))]
OptText = Annotated[str | None, _v(_optional(_check_text))]
OptId = Annotated[int | None, _v(_optional(_check_id))]
OptIds = Annotated[
    tuple[int, ...] | None,
    _v(_optional(lambda v: _whole_numbers(v, "a list of segment IDs", n=None, low=0))),
]
OptNames = Annotated[tuple[str, ...] | None, _v(_optional(_check_names))]
OptUrl = Annotated[str | None, _v(_optional(_check_url))]
OptHttp = Annotated[str | None, _v(_optional(lambda v: _check_url(v, http_only=True)))]
ExtraUrls = Annotated[dict[str, str], _v(_check_extra)]


def _describe(exc: ValidationError, subject: str, rename: Mapping[str, str] | None = None) -> str:
    """One line per problem: ``subject: field 'a.b': message``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        legacy = (rename or {}).get(loc)
        shown = f"{legacy!r} ({loc})" if legacy else repr(loc)
        if err["type"] == "missing":
            message = "is required"
        elif err["type"] == "extra_forbidden":
            message = "is not a known field"
        elif err["type"] == "value_error":
            message = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            message = err["msg"]
        parts.append(f"{subject}: field {shown}: {message}" if loc else f"{subject}: {message}")
    return "; ".join(parts)


