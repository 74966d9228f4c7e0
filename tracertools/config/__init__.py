"""Datastack configuration: the typed model, shipped presets, and the user file.

Lives here: [`DatastackConfig`][tracertools.config.model.DatastackConfig] and its parts (``model``), value checks shared by the models
(``checks``), the preset table and user-file reader (``presets``, ``datastacks.toml``), and the
HTTP timeout and retry policy of a session (``http``: [`HttpPolicy`][tracertools.config.http.HttpPolicy]).

May import: [`tracertools.errors`][tracertools.errors], pydantic and the standard library. Nothing else of
tracertools, so every layer above can read a config.
"""

from __future__ import annotations

from tracertools.config.http import HttpPolicy
from tracertools.config.model import (
    DATASTACK_ALIASES,
    ENV_CONFIG,
    DatasetInfo,
    DatastackConfig,
    ProofreadingTableConfig,
    SourceUrls,
    SynapseTableConfig,
    ViewerDefaults,
    canonical_name,
    known_datastacks,
    load_config,
    presets,
    user_aliases,
    user_config_path,
)

__all__ = [
    "DATASTACK_ALIASES",
    "ENV_CONFIG",
    "DatasetInfo",
    "DatastackConfig",
    "HttpPolicy",
    "ProofreadingTableConfig",
    "SourceUrls",
    "SynapseTableConfig",
    "ViewerDefaults",
    "canonical_name",
    "known_datastacks",
    "load_config",
    "presets",
    "user_aliases",
    "user_config_path",
]
