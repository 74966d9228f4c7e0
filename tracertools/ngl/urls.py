"""Neuroglancer share URLs and JSON: recognise every form real links take, write long links.

A share URL carries its state in one of these ways:

* the JSON itself after ``#!`` (URL-quoted or not): ``https://viewer/#!{"layers": ...}``;
* a state-service URL after ``#!`` (Spelunker, mainline neuroglancer):
  ``https://viewer/#!middleauth+https://global.daf-apis.com/nglstate/api/v1/123``;
* a state-service URL in a ``json_url`` query parameter (the Seung-lab viewers, FlyWire):
  ``https://ngl.flywire.ai/?json_url=https://globalv1.flywire-daf.com/nglstate/123``;
* the bare state-service URL, with or without ``middleauth+``, or the bare numeric ID.

Only the standard library is used here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tracertools.errors import InvalidStateError

__all__ = ["ParsedLink", "long_url", "parse_link", "plain_json", "state_from_text"]

#: Nesting levels a state may have (real states have about ten); deeper ones are refused.
MAX_STATE_DEPTH = 100

#: ``<server>/nglstate[/api/vN][/raw]/<id>``: a stored state on a CAVE JSON state service.
#: The host is a name, IPv4 or bracketed IPv6 address with an optional port (no user info);
#: the path before ``/nglstate`` has plain segments only (no ``:``, ``%`` or ``@``), so an
#: encoded link (``.../%23!middleauth+https://...``) is never taken for a state URL.
_STATE_URL = re.compile(
    r"^(?P<base>https?://(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d+)?"
    r"(?:/[A-Za-z0-9._~\-]+)*?/nglstate(?:/api/v\d+)?)/(?:raw/)?(?P<id>\d+)/?$"
)
_AUTH_PREFIX = re.compile(r"^[A-Za-z0-9]+auth\+")  # middleauth+, ngauth+ ...

TargetSite = Literal["spelunker", "seunglab"]


@dataclass(frozen=True)
class ParsedLink:
    """What a share URL holds.

    Attributes:
        viewer: the viewer part of the URL (e.g. ``https://spelunker.cave-explorer.org/``),
            or None for a bare state-service URL or ID.
        state: the JSON state, for links that carry it (long links).
        state_url: the state-service URL (``http(s)://.../nglstate/api/v1/<id>``, no
            ``middleauth+``), for links that point at a stored state.
        state_id: the stored state's ID.
        target_site: how the link points at its stored state: ``"spelunker"``
            (``#!middleauth+<url>``) or ``"seunglab"`` (``?json_url=<url>``); None otherwise.
    """

    viewer: str | None
    state: dict[str, Any] | None
    state_url: str | None
    state_id: int | None
    target_site: TargetSite | None

    @property
    def is_short(self) -> bool:
        """Whether the state lives on a state service (a short link)."""
        return self.state_id is not None

    @property
    def state_base(self) -> str | None:
        """The state service's URL without the ID (``.../nglstate/api/v1``)."""
        if self.state_url is None:
            return None
        match = _STATE_URL.match(self.state_url)
        return match.group("base") if match else None


def _shown(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[:limit] + "…"


def _stored(url: str, original: str) -> tuple[str, int]:
    """The plain state URL and ID of a state-service URL (``middleauth+`` stripped)."""
    plain = _AUTH_PREFIX.sub("", url.strip())
    match = _STATE_URL.match(plain)
    if match is None:
        if plain.startswith(("gs://", "s3://")) or plain.endswith(".json"):
            raise InvalidStateError(
                f"{_shown(original)} points at a JSON file ({_shown(plain, 80)}), not at a "
                f"state service; download the file and use State.from_file"
            )
        raise InvalidStateError(
            f"{_shown(original)} does not point at a state service "
            f"(expected .../nglstate/api/v1/<id>, got {_shown(plain, 80)})"
        )
    return plain.rstrip("/"), int(match.group("id"))


def state_from_text(text: str, where: str) -> dict[str, Any]:
    """Parse JSON text that must hold a neuroglancer state object.

    Raises:
        InvalidStateError: malformed JSON, JSON that is not an object, or JSON nested deeper
            than `MAX_STATE_DEPTH` levels.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidStateError(f"{where} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidStateError(
            f"{where} is nested too deeply to be a neuroglancer state (more than "
            f"{MAX_STATE_DEPTH} levels)") from None
    if not isinstance(data, dict):
        raise InvalidStateError(
            f"{where} holds JSON {type(data).__name__}, not a neuroglancer state object"
        )
    return data


def parse_link(url: str) -> ParsedLink:
    """Recognise a share URL (see the module docstring for the forms understood).

    Raises:
        InvalidStateError: the URL carries no state, malformed JSON, a state kept in a JSON
            file rather than on a state service, or a link URL-encoded once too often (the
            message says so).
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidStateError(f"a share URL must be a non-empty string, got {url!r}")
    text = url.strip()
    try:
        return _parse_link(text)
    except InvalidStateError as exc:
        decoded = unquote(text)
        if decoded == text:
            raise
        try:
            _parse_link(decoded)
        except InvalidStateError:
            raise exc from None
    raise InvalidStateError(
        f"{_shown(text)} is URL-encoded once too often (it reads as a link only after one more "
        "decoding, e.g. '%257B' for '{'); pass urllib.parse.unquote(url) instead"
    )


def _parse_link(text: str) -> ParsedLink:
    if text.isdigit():
        return ParsedLink(None, None, None, int(text), None)
    marker = text.find("#!")
    if marker >= 0:
        viewer, payload = text[:marker], unquote(text[marker + 2:]).strip()
        if not payload:
            raise InvalidStateError(f"{_shown(text)} has nothing after '#!'")
        if payload.startswith("{"):
            return ParsedLink(viewer, state_from_text(payload, f"the state in {_shown(text)}"),
                              None, None, None)
        state_url, state_id = _stored(payload, text)
        return ParsedLink(viewer, None, state_url, state_id, "spelunker")
    parts = urlsplit(text)
    json_url = parse_qs(parts.query).get("json_url")
    if json_url:
        state_url, state_id = _stored(json_url[0], text)
        viewer = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
        return ParsedLink(viewer, None, state_url, state_id, "seunglab")
    if _STATE_URL.match(_AUTH_PREFIX.sub("", text)):
        state_url, state_id = _stored(text, text)
        return ParsedLink(None, None, state_url, state_id, None)
    raise InvalidStateError(
        f"{_shown(text)} carries no neuroglancer state: expected '#!{{json}}', "
        f"'#!middleauth+<state URL>', '?json_url=<state URL>', a state-service URL "
        f"(.../nglstate/api/v1/<id>) or a state ID"
    )


def plain_json(value: Any, where: str = "state", _depth: int = 0) -> Any:
    """A deep copy of ``value`` made of JSON types only.

    numpy scalars and arrays become Python numbers and lists, tuples become lists, mapping
    keys become strings. Non-finite floats and other objects are refused.

    Raises:
        InvalidStateError: a value JSON cannot hold (named by its path), or nesting deeper
            than `MAX_STATE_DEPTH` levels.
    """
    if _depth > MAX_STATE_DEPTH:
        raise InvalidStateError(
            f"{where[:80]}... is nested deeper than {MAX_STATE_DEPTH} levels, which no "
            "neuroglancer state is")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidStateError(f"{where} is {value}, which JSON cannot hold")
        return value
    if isinstance(value, Mapping):
        return {str(k): plain_json(v, f"{where}.{k}", _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v, f"{where}[{i}]", _depth + 1) for i, v in enumerate(value)]
    kind = type(value).__module__.split(".")[0]
    if kind == "numpy":
        if hasattr(value, "tolist"):
            return plain_json(value.tolist(), where, _depth)
    raise InvalidStateError(f"{where} holds a {type(value).__name__}, which JSON cannot hold")


def long_url(state: Mapping[str, Any], viewer_site: str) -> str:
    """A long share URL: ``<viewer_site>/#!`` and the URL-quoted compact JSON of ``state``."""
    if not isinstance(viewer_site, str) or not viewer_site.strip():
        raise InvalidStateError(f"viewer_site must be a non-empty URL, got {viewer_site!r}")
    text = json.dumps(plain_json(state), separators=(",", ":"))
    return viewer_site.strip().rstrip("/") + "/#!" + quote(text)
