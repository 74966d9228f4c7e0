"""Raw config data: the shipped preset file, the user config file, and the tracer-format keys.

Everything here is plain dicts; `tracertools.config` validates them into models.

- Presets live in ``tracertools/config/datastacks.toml``, in the same format as the user
  config file, and are read on first use (never at import time).
- The user config file is read and shape-checked here (cached per path and mtime).
- The legacy key table maps the flat keys of the original ``get_config`` dicts to nested
  ``DatastackConfig`` field paths, for ``to_legacy_dict`` / ``from_legacy_dict`` and for the
  flat keys accepted in the user config file.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tracertools.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = [
    "COMMON_KEYS",
    "LEGACY_TO_PATH",
    "RENAMED_KEYS",
    "UserFile",
    "is_extra_key",
    "legacy_to_nested",
    "merge",
    "nested_to_legacy",
    "no_false",
    "overlap",
    "parse_toml",
    "preset_entries",
    "read_toml",
    "read_user_file",
]


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 only
        import tomli as tomllib
    return tomllib


def parse_toml(text: str, label: str) -> dict[str, Any]:
    """Parse TOML ``text``; a syntax error becomes a [`ConfigError`][tracertools.errors.ConfigError] naming ``label``."""
    toml = _toml_module()
    try:
        return toml.loads(text)  # type: ignore[no-any-return]
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None


def read_toml(path: Path) -> dict[str, Any]:
    """Read and parse a TOML file; failures raise [`ConfigError`][tracertools.errors.ConfigError] naming the path."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    return parse_toml(text, str(path))


@functools.cache
def preset_entries() -> dict[str, dict[str, Any]]:
    """The ``[datastacks.<name>]`` tables of the shipped preset file (do not mutate)."""
    resource = resources.files("tracertools.config").joinpath("datastacks.toml")
    data = parse_toml(resource.read_text(encoding="utf-8"), str(resource))
    return dict(data["datastacks"])


@dataclass
class UserFile:
    """The user config file, parsed: raw datastack tables, aliases, and validated-config cache."""

    path: Path
    entries: dict[str, dict[str, Any]]
    aliases: dict[str, str]
    built: dict[str, Any] = field(default_factory=dict)


_FILE_CACHE: dict[str, tuple[tuple[int, int], UserFile]] = {}
_FILE_LOCK = threading.Lock()
_STACK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_ALIAS_RE = re.compile(r"^[a-z][a-z0-9+.\-]*$")
_ALIAS_TARGET_RE = re.compile(r"^[a-z][a-z0-9+.\-]*://\S+$")


def read_user_file(path: Path, *, reserved: frozenset[str] = frozenset()) -> UserFile | None:
    """Read the user config file at ``path``; None if it does not exist.

    Checks the file's shape (``[datastacks.<name>]`` tables, an optional ``[aliases]`` table of
    ``alias = "s3://https://host/"``; alias names must not be in ``reserved``), not the datastack
    values. Cached per path, modification time and size, so an edited file is read again.

    Raises:
        ConfigError: unreadable file, invalid TOML or an unexpected shape, naming the path.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _FILE_LOCK:
        cached = _FILE_CACHE.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    raw = read_toml(path)
    unknown = sorted(set(raw) - {"datastacks", "aliases"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            "expected [datastacks.<name>] tables and an optional [aliases] table"
        )
    entries = raw.get("datastacks", {})
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        raise ConfigError(f"{path}: 'datastacks' must hold [datastacks.<name>] tables")
    for name in entries:
        if not _STACK_NAME_RE.match(name):
            raise ConfigError(f"{path}: datastack {name!r}: not a valid datastack name")
    aliases = raw.get("aliases", {})
    if not isinstance(aliases, dict):
        raise ConfigError(f'{path}: [aliases] must be a table of alias = "s3://https://host/"')
    for alias, target in aliases.items():
        if not _ALIAS_RE.match(alias) or alias in reserved:
            raise ConfigError(f"{path}: alias {alias!r}: not a usable URL scheme name")
        if not isinstance(target, str) or not _ALIAS_TARGET_RE.match(target):
            raise ConfigError(
                f'{path}: alias {alias!r}: must map to a URL prefix such as "s3://https://host/"'
            )
    parsed = UserFile(path=path, entries=entries, aliases=dict(aliases))
    with _FILE_LOCK:
        _FILE_CACHE[str(path)] = (stamp, parsed)
    logger.debug("read user config %s: %d datastack(s)", path, len(entries))
    return parsed


def no_false(value: Any) -> Any:
    """TOML has no null: ``false`` in a config file clears a value (there are no bool fields)."""
    if value is False:
        return None
    if isinstance(value, Mapping):
        return {k: no_false(v) for k, v in value.items()}
    return value


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` onto a copy of ``base``; tables merge, other values replace."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------------------------
# The tracer-format (legacy) key table: flat get_config keys <-> nested DatastackConfig paths.
# --------------------------------------------------------------------------------------------

COMMON_KEYS: tuple[tuple[str, str], ...] = (
    ("dataset_name", "dataset.dataset_name"),
    ("dataset_display_name", "dataset.display_name"),
    ("dataset_id", "dataset.dataset_id"),
    ("dataset_description", "dataset.dataset_description"),
    ("datastack_description", "dataset.datastack_description"),
    ("resolution", "resolution"),
    ("volume_size", "volume_size"),
    ("min_coord", "min_coord"),
    ("max_coord", "max_coord"),
    ("center_coord", "center_coord"),
    ("em_source_url", "sources.em"),
    ("seg_source_url", "sources.segmentation"),
    ("skeleton_source_url", "sources.skeleton"),
    ("synapse_table_name", "synapse_table.name"),
    ("syn_pre_coord_col", "synapse_table.pre_coord_col"),
    ("syn_post_coord_col", "synapse_table.post_coord_col"),
    ("syn_pre_seg_col", "synapse_table.pre_seg_col"),
    ("syn_post_seg_col", "synapse_table.post_seg_col"),
    ("syn_pre_sv_col", "synapse_table.pre_sv_col"),
    ("syn_post_sv_col", "synapse_table.post_sv_col"),
    ("syn_nt_cols", "synapse_table.nt_cols"),
    ("syn_cleft_score_col", "synapse_table.cleft_score_col"),
    ("cell_info_table_name", "cell_info_table_name"),
    ("soma_table_name", "soma_table_name"),
    ("proofreading_table_name", "proofreading_table.name"),
    ("proofreading_table_seg_col", "proofreading_table.seg_col"),
    ("proofreading_table_status_col", "proofreading_table.status_col"),
    ("local_server_url", "local_server_url"),
    ("viewer_site_url", "viewer.site_url"),
    ("main_stack_mesh_url", "sources.main_stack_mesh"),
    ("neuropil_mesh_url", "sources.neuropil_mesh"),
    ("default_view_point", "viewer.view_point"),
    ("default_zoom_2d", "viewer.zoom_2d"),
    ("default_zoom_3d", "viewer.zoom_3d"),
    ("default_angle_3d", "viewer.angle_3d"),
    ("shortlink_server_url", "shortlink_server_url"),
    ("swamp_source_url", "sources.swamp"),
    ("swamp_ids", "sources.swamp_ids"),
)
"""The 38 keys every tracer-format config carries, in the original order."""

REVIEW_KEY = ("proofreading_review_table_name", "proofreading_table.review_table_name")
TRIAGE_KEY = ("here_be_monsters", "sources.triage_mesh")

LEGACY_TO_PATH: dict[str, str] = dict((*COMMON_KEYS, REVIEW_KEY, TRIAGE_KEY))
"""Every named legacy key and the nested field path it maps to."""

RENAMED_KEYS: dict[str, str] = {
    "manc_seg": "manc_seg_source_url",
    "nerve_mesh_url": "nerve_mesh_source_url",
    "presyn_anno_layer": "presyn_anno_layer_source_url",
    "postsyn_anno_layer": "postsyn_anno_layer_source_url",
}
"""Stack-specific keys of the older embedded config and their newer names."""

_EMPTY_LIST_KEYS = frozenset({"volume_size", "min_coord", "max_coord", "center_coord"})
_DEFAULTED_PATHS = frozenset({"viewer.zoom_2d", "viewer.zoom_3d", "viewer.angle_3d"})
_NULLABLE_GROUPS = ("synapse_table", "proofreading_table")
_INPUT_ONLY_PATHS = {"server_address": "server_address"}
_EXTRA_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*_url$")


def is_extra_key(key: str) -> bool:
    """Whether ``key`` may name a stack-specific source URL (``sources.extra``)."""
    return bool(_EXTRA_KEY_RE.match(key)) and key not in LEGACY_TO_PATH and key not in RENAMED_KEYS


def _get(tree: Mapping[str, Any], path: str) -> Any:
    value: Any = tree
    for part in path.split("."):
        if value is None:
            return None
        value = value[part]
    return value


def _whole(value: Any) -> Any:
    """The original configs wrote whole numbers as ints: 45.0 -> 45; other values unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def nested_to_legacy(dump: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a ``DatastackConfig.model_dump()`` into a fresh tracer-format dict."""
    out: dict[str, Any] = {}
    for key, path in COMMON_KEYS:
        value = _get(dump, path)
        if isinstance(value, tuple):
            value = [_whole(v) for v in value]
        elif value is None and key in _EMPTY_LIST_KEYS:
            value = []
        out[key] = _whole(value)
    review = _get(dump, REVIEW_KEY[1])
    if review is not None:
        out[REVIEW_KEY[0]] = review
    out.update(dump["sources"]["extra"])
    out[TRIAGE_KEY[0]] = _get(dump, TRIAGE_KEY[1])
    return out


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def legacy_to_nested(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Turn tracer-format keys (either generation) into a nested dict for ``DatastackConfig``.

    With ``partial=False`` the input is a whole config: a table group whose values are all None
    becomes None. With ``partial=True`` (user-file overrides) only given keys appear, and a None
    table name clears that table. Unknown keys ending in ``_url`` go to ``sources.extra``.

    Raises:
        ValueError: an unknown key, or an old and a new key name with different values.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"a tracer-format config must be a mapping, not {type(data).__name__}")
    nested: dict[str, Any] = {}
    for old, new in RENAMED_KEYS.items():
        if old in data and new in data and data[old] != data[new]:
            raise ValueError(f"field {old!r}: conflicts with its newer name {new!r}")
    for key, value in data.items():
        key = RENAMED_KEYS.get(key, key)
        if key in LEGACY_TO_PATH:
            path = LEGACY_TO_PATH[key]
        elif key in _INPUT_ONLY_PATHS:
            path = _INPUT_ONLY_PATHS[key]
        elif isinstance(key, str) and key.endswith("_url"):
            path = f"sources.extra.{key}"
        else:
            raise ValueError(f"field {key!r}: not a known config key")
        if value is None and (path in _DEFAULTED_PATHS or path.startswith("sources.extra.")):
            continue
        _set(nested, path, value)
    for group in _NULLABLE_GROUPS:
        values = nested.get(group)
        if values is None:
            continue
        if partial and "name" in values and values["name"] is None:
            nested[group] = None
        elif not partial and all(v is None for v in values.values()):
            nested[group] = None
    return nested


def overlap(first: Mapping[str, Any], second: Mapping[str, Any], prefix: str = "") -> str | None:
    """The first dotted path set in both nested dicts, else None."""
    for key, value in second.items():
        if key not in first:
            continue
        other = first[key]
        if isinstance(value, Mapping) and isinstance(other, Mapping):
            found = overlap(other, value, f"{prefix}{key}.")
            if found:
                return found
        else:
            return f"{prefix}{key}"
    return None
