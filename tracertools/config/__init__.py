"""Datastack configuration: the typed model, shipped presets, the user file and registration.

Lives here: :class:`DatastackConfig` and its parts (``model``), value checks shared by the models
(``checks``), the preset table and user-file reader (``presets``, ``datastacks.toml``).

May import: :mod:`tracertools.errors`, pydantic and the standard library. Nothing else of
tracertools, so every layer above can read a config.
"""

from __future__ import annotations

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
    latest_registration,
    load_config,
    presets,
    register_datastack,
    registered_token,
    unregister_datastack,
    user_aliases,
    user_config_path,
)

__all__ = [
    "DATASTACK_ALIASES",
    "ENV_CONFIG",
    "DatasetInfo",
    "DatastackConfig",
    "ProofreadingTableConfig",
    "SourceUrls",
    "SynapseTableConfig",
    "ViewerDefaults",
    "canonical_name",
    "known_datastacks",
    "latest_registration",
    "load_config",
    "presets",
    "register_datastack",
    "registered_token",
    "unregister_datastack",
    "user_aliases",
    "user_config_path",
]
