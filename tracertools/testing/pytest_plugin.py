"""pytest plugin: LocalCave fixtures (placeholder while LocalCave is being built)."""

from __future__ import annotations
