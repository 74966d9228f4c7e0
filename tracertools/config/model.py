"""Typed datastack configuration: the model, presets and the user config file.

A [`DatastackConfig`][tracertools.config.model.DatastackConfig] is a frozen, validated description of one datastack: where its CAVE
services, image and segmentation volumes live, which tables hold synapses and proofreading status,
and how links to it should open in neuroglancer. Features a datastack lacks are ``None``;
[`DatastackConfig.require()`][tracertools.config.model.DatastackConfig.require] turns a missing one into a clear error.

Where a name is looked up ([`load_config()`][tracertools.config.model.load_config]), the first match wins:

1. an entry in the user config file ([`user_config_path()`][tracertools.config.model.user_config_path]), merged onto the preset of the same
   name if there is one;
2. a shipped preset ([`presets()`][tracertools.config.model.presets]).

A config from anywhere else (a server you run, a stand-in such as
``tracertools.testing.LocalCave``) is passed to ``Datastack(name, config=...)`` directly; there is
no process-wide registry.

Units: ``resolution`` is in nm per voxel; sizes and coordinates are in voxels at that resolution.

This module imports pydantic and the standard library only, and reads no file at import time.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    model_validator,
)
from typing_extensions import Self

from tracertools.config.checks import (
    _BASE_SCHEMES,
    _WRAPPER_SCHEMES,
    Angle,
    ExtraUrls,
    Name,
    OptCoord,
    OptHttp,
    OptId,
    OptIds,
    OptName,
    OptNames,
    OptPoint,
    OptSize,
    OptText,
    OptUrl,
    Positive,
    Resolution,
    _check_stack_name,
    _describe,
    _v,
)
from tracertools.config.presets import (
    LEGACY_TO_PATH,
    UserFile,
    legacy_to_nested,
    merge,
    nested_to_legacy,
    no_false,
    overlap,
    preset_entries,
    read_user_file,
)
from tracertools.errors import ConfigError, MissingFeatureError, UnknownDatastackError

if TYPE_CHECKING:
    from pydantic._internal._model_construction import ModelMetaclass
else:
    ModelMetaclass = type(BaseModel)

__all__ = [
    "DatasetInfo",
    "DatastackConfig",
    "ProofreadingTableConfig",
    "SourceUrls",
    "SynapseTableConfig",
    "DATASTACK_ALIASES",
    "ViewerDefaults",
    "canonical_name",
    "known_datastacks",
    "load_config",
    "presets",
    "user_aliases",
    "user_config_path",
]

logger = logging.getLogger(__name__)

ENV_CONFIG = "TRACERTOOLS_CONFIG"
"""Environment variable naming the user config file; overrides the XDG location."""

# --------------------------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------------------------


class _RaisesConfigError(ModelMetaclass):
    """Metaclass: constructing a model with bad values raises [`ConfigError`][tracertools.errors.ConfigError].

    Only direct construction goes through here; nested validation does not, so one message
    lists every bad field with its full dotted path.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, cls._subject(kwargs))) from exc  # type: ignore[attr-defined]


class _Frozen(BaseModel, metaclass=_RaisesConfigError):
    """Frozen, closed model whose validation failures raise [`ConfigError`][tracertools.errors.ConfigError]."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        """Validate ``obj`` like pydantic does, raising [`ConfigError`][tracertools.errors.ConfigError] on failure."""
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            data = obj if isinstance(obj, Mapping) else {}
            raise ConfigError(_describe(exc, cls._subject(data))) from exc

    @classmethod
    def _subject(cls, data: Mapping[str, Any]) -> str:
        return cls.__name__


class DatasetInfo(_Frozen):
    """Descriptive facts about the dataset behind a datastack (all optional)."""

    dataset_name: OptText = None
    display_name: OptText = None
    dataset_id: OptId = None
    dataset_description: OptText = None
    datastack_description: OptText = None


class SynapseTableConfig(_Frozen):
    """The datastack's synapse table and the names of its columns.

    Column defaults are the standard CAVE synapse schema names. ``nt_cols`` lists the
    neurotransmitter prediction columns; ``cleft_score_col`` the detection-confidence column.
    """

    name: Name
    pre_coord_col: OptName = "pre_pt_position"
    post_coord_col: OptName = "post_pt_position"
    pre_seg_col: OptName = "pre_pt_root_id"
    post_seg_col: OptName = "post_pt_root_id"
    pre_sv_col: OptName = "pre_pt_supervoxel_id"
    post_sv_col: OptName = "post_pt_supervoxel_id"
    nt_cols: OptNames = None
    cleft_score_col: OptName = None


class ProofreadingTableConfig(_Frozen):
    """The table listing proofread neurons: segment-ID column, status column, review table."""

    name: Name
    seg_col: OptName = "pt_root_id"
    status_col: OptName = None
    review_table_name: OptName = None


class ViewerDefaults(_Frozen):
    """How generated neuroglancer links open.

    ``view_point`` is in voxels at the datastack resolution; ``zoom_2d`` is the cross-section
    scale, ``zoom_3d`` the projection scale, ``angle_3d`` the projection orientation quaternion.
    """

    site_url: OptHttp = None
    view_point: OptPoint = None
    zoom_2d: Positive = 1.0
    zoom_3d: Positive = 10000.0
    angle_3d: Angle = (0.0, 0.0, 0.0, 1.0)


class SourceUrls(_Frozen):
    """Data sources as neuroglancer/cloudfiles URLs (``precomputed://gs://...`` etc.).

    ``swamp`` is the mesh volume of known rough regions and ``swamp_ids`` its mesh IDs;
    ``triage_mesh`` the triage mesh volume (legacy key ``here_be_monsters``). ``extra`` holds
    stack-specific URLs under their legacy key names, such as ``manc_seg_source_url``.
    """

    em: OptUrl = None
    segmentation: OptUrl = None
    skeleton: OptUrl = None
    main_stack_mesh: OptUrl = None
    neuropil_mesh: OptUrl = None
    swamp: OptUrl = None
    swamp_ids: OptIds = None
    triage_mesh: OptUrl = None
    extra: ExtraUrls = {}

    def __hash__(self) -> int:
        fields = tuple(v for k, v in self.__dict__.items() if k != "extra")
        return hash((type(self), fields, tuple(sorted(self.extra.items()))))


class DatastackConfig(_Frozen):
    """A validated, immutable datastack configuration.

    Attributes:
        name: the datastack name, as CAVE knows it.
        server_address: CAVE global server (info and state services); None means caveclient's
            default.
        local_server_url: the datastack's local CAVE server (legacy ``local_server_url``).
        shortlink_server_url: state service endpoint for short links, if the stack has its own.
        dataset: descriptive facts about the dataset.
        resolution: viewer resolution in nm per voxel (x, y, z).
        volume_size: volume extent in voxels; min_coord, max_coord, center_coord in voxels.
        sources: image, segmentation, skeleton, mesh and swamp URLs.
        synapse_table: the synapse table and its columns, if the stack has one.
        proofreading_table: the proofreading-status table, if the stack has one.
        cell_info_table_name: the cell information table, if any.
        soma_table_name: the soma / nucleus detection table, if any.
        viewer: defaults for generated neuroglancer links.
    """

    name: Annotated[str, _v(_check_stack_name)]
    server_address: OptHttp = None
    local_server_url: OptHttp = None
    shortlink_server_url: OptHttp = None
    dataset: DatasetInfo = DatasetInfo()
    resolution: Resolution
    volume_size: OptSize = None
    min_coord: OptCoord = None
    max_coord: OptCoord = None
    center_coord: OptCoord = None
    sources: SourceUrls = SourceUrls()
    synapse_table: SynapseTableConfig | None = None
    proofreading_table: ProofreadingTableConfig | None = None
    cell_info_table_name: OptName = None
    soma_table_name: OptName = None
    viewer: ViewerDefaults = ViewerDefaults()

    @classmethod
    def _subject(cls, data: Mapping[str, Any]) -> str:
        name = data.get("name")
        return f"datastack {name!r}" if isinstance(name, str) else "datastack"

    @model_validator(mode="after")
    def _check_bounds(self) -> Self:
        if self.min_coord is not None and self.max_coord is not None:
            if any(lo > hi for lo, hi in zip(self.min_coord, self.max_coord, strict=True)):
                raise ValueError("max_coord must be >= min_coord on every axis")
        return self

    def require(self, path: str, purpose: str | None = None) -> Any:
        """Return the value at a dotted field path, or raise if the datastack lacks it.

        Args:
            path: e.g. ``"synapse_table"``, ``"sources.skeleton"``, ``"viewer.site_url"`` or
                ``"sources.extra.manc_seg_source_url"``.
            purpose: what the value is needed for, quoted in the error.

        Raises:
            MissingFeatureError: the value (or a group on the way to it) is None or empty.
            ValueError: ``path`` does not name a config field.
        """
        value: Any = self
        for part in path.split("."):
            if isinstance(value, BaseModel):
                if part not in type(value).model_fields:
                    raise ValueError(f"{path!r} is not a DatastackConfig field path")
                value = getattr(value, part)
            elif isinstance(value, Mapping):
                value = value.get(part)
            else:
                raise ValueError(f"{path!r} is not a DatastackConfig field path")
            if value is None or (isinstance(value, (str, tuple, list, dict)) and not value):
                raise MissingFeatureError(self.name, path, purpose)
        return value

    def to_legacy_dict(self) -> dict[str, Any]:
        """The original tracer-format ``get_config`` dict: a fresh, mutable dict on each call.

        Lists replace tuples; whole-number floats become ints (``[4, 4, 45]``, ``360849``);
        absent sizes and coordinates are ``[]``; stack-specific keys follow the common ones,
        and ``here_be_monsters`` (the triage mesh) is always present.
        """
        return nested_to_legacy(self.model_dump())

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write this config as JSON to ``path`` (no token is part of a config); returns the path.

        Read it back, in any process, with [`from_file()`][tracertools.config.model.DatastackConfig.from_file].
        """
        target = Path(path)
        target.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return target

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> DatastackConfig:
        """A config from a JSON file written by [`to_file()`][tracertools.config.model.DatastackConfig.to_file] (or by ``tracertools serve``).

        Raises:
            ConfigError: the file is missing, is not JSON, or holds an invalid config.
        """
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read datastack config file {source}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{source} is not a JSON datastack config: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{source} must hold one JSON object (a datastack config)")
        return cls.model_validate(data)

    @classmethod
    def from_legacy_dict(cls, name: str, data: Mapping[str, Any]) -> DatastackConfig:
        """Build a config from a tracer-format dict (either generation of the original keys).

        The tracer format has no ``server_address``: an optional ``server_address`` key is
        honoured, otherwise the preset of the same name supplies it (else None). Unknown keys
        ending in ``_url`` become ``sources.extra`` entries; the older names ``manc_seg``,
        ``nerve_mesh_url``, ``presyn_anno_layer`` and ``postsyn_anno_layer`` are renamed.

        Raises:
            ConfigError: an unknown key or an invalid value, naming the field.
        """
        try:
            nested = legacy_to_nested(data, partial=False)
        except ValueError as exc:
            raise ConfigError(f"datastack {name!r}: {exc}") from None
        if "server_address" not in nested:
            nested["server_address"] = preset_entries().get(name, {}).get("server_address")
        nested["name"] = name
        return _validate_stack(nested, f"datastack {name!r}", _legacy_names(data))


def _legacy_names(keys: Mapping[str, Any]) -> dict[str, str]:
    """Field path -> the legacy key the caller used for it, to name in error messages."""
    return {p: k for k, p in LEGACY_TO_PATH.items() if k in keys and k != p}


def _validate_stack(data: Mapping[str, Any], where: str, rename: Mapping[str, str]) -> Any:
    try:
        return DatastackConfig.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where, rename)) from exc


# --------------------------------------------------------------------------------------------
# Presets and the user file
# --------------------------------------------------------------------------------------------

_LOCK = threading.RLock()


def presets() -> list[str]:
    """Sorted names of the presets shipped with tracertools (including ``demo``)."""
    return sorted(preset_entries())


@functools.cache
def _preset(name: str) -> DatastackConfig:
    return DatastackConfig(name=name, **preset_entries()[name])


def user_config_path() -> Path:
    """Where the user config file is read from.

    ``$TRACERTOOLS_CONFIG`` if set, else ``$XDG_CONFIG_HOME/tracertools/datastacks.toml``, else
    ``~/.config/tracertools/datastacks.toml``. The file need not exist.
    """
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "tracertools" / "datastacks.toml"


def _user_file() -> UserFile | None:
    """The parsed user config file, or None if it does not exist (cached per path and mtime)."""
    return read_user_file(user_config_path(), reserved=_BASE_SCHEMES | _WRAPPER_SCHEMES)


def _user_config(uf: UserFile, name: str) -> DatastackConfig:
    with _LOCK:
        if name in uf.built:
            return uf.built[name]
    where = f"{uf.path}: datastack {name!r}"
    entry = no_false(uf.entries[name])
    nested_keys = set(DatastackConfig.model_fields) - {"name"}
    nested = {k: v for k, v in entry.items() if k in nested_keys}
    flat = {k: v for k, v in entry.items() if k not in nested_keys}
    if "name" in flat:
        raise ConfigError(f"{where}: field 'name': comes from the [datastacks.<name>] header")
    try:
        from_flat = legacy_to_nested(flat, partial=True)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    clash = overlap(nested, from_flat)
    if clash:
        raise ConfigError(f"{where}: field {clash!r}: given both as a legacy key and nested")
    partial = merge(nested, from_flat)
    if name in preset_entries():
        partial = merge(_preset(name).model_dump(), partial)
    partial["name"] = name
    config = _validate_stack(partial, where, _legacy_names(flat))
    with _LOCK:
        uf.built[name] = config
    return config


def user_aliases() -> dict[str, str]:
    """The ``[aliases]`` table of the user config file (alias -> cloudfiles host URL)."""
    uf = _user_file()
    return dict(uf.aliases) if uf is not None else {}


def known_datastacks() -> list[str]:
    """Sorted, unique names of presets and user-file entries."""
    uf = _user_file()
    names = set(preset_entries())
    if uf is not None:
        names |= set(uf.entries)
    return sorted(names)


#: Everyday names of the shipped datastacks (matched case-insensitively, like the names).
DATASTACK_ALIASES: dict[str, str] = {
    "banc": "brain_and_nerve_cord",
    "flywire": "flywire_fafb_production",
    "fafb": "flywire_fafb_production",
    "manc": "male_adult_nerve_cord",
    "microns": "minnie65_phase3_v1",
    "minnie65": "minnie65_phase3_v1",
    "minnie": "minnie65_phase3_v1",
}


def canonical_name(name: str) -> str:
    """The datastack name ``name`` stands for: stripped, and an alias or case variant resolved.

    ``"BANC"``, ``" banc "`` and ``"Brain_And_Nerve_Cord"`` all give ``"brain_and_nerve_cord"``.
    A name that matches nothing comes back stripped but otherwise unchanged.
    """
    stripped = name.strip()
    known = known_datastacks()
    if stripped in known:
        return stripped
    folded = stripped.casefold()
    for candidate in known:
        if candidate.casefold() == folded:
            return candidate
    return DATASTACK_ALIASES.get(folded, stripped)


def suggestions(name: str, known: list[str]) -> list[str]:
    """Known names (and aliases' targets) that look like ``name``, best first (at most 3)."""
    import difflib

    folded = name.strip().casefold()
    pool = {k.casefold(): k for k in known}
    pool.update({alias: target for alias, target in DATASTACK_ALIASES.items() if target in known})
    close = difflib.get_close_matches(folded, list(pool), n=3, cutoff=0.6)
    found: list[str] = []
    for key in close:
        if pool[key] not in found:
            found.append(pool[key])
    return found


def load_config(name: str) -> DatastackConfig:
    """The config for ``name``: the user file's (over any preset of that name), else the preset.

    ``name`` is stripped and may be an everyday alias (``"BANC"``, ``"FlyWire"``, ``"MANC"``,
    ``"MICrONS"``) or differ in case; see `DATASTACK_ALIASES`.

    Raises:
        UnknownDatastackError: no such name anywhere (also a KeyError); it suggests close names.
        ConfigError: the user file or its entry for ``name`` is invalid.
    """
    if not isinstance(name, str):
        raise TypeError(f"datastack name must be a str, not {type(name).__name__}")
    name = canonical_name(name)
    uf = _user_file()
    if uf is not None and name in uf.entries:
        return _user_config(uf, name)
    if name in preset_entries():
        return _preset(name)
    known = known_datastacks()
    raise UnknownDatastackError(name, known, suggestions(name, known))
