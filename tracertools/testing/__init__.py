"""Test helpers: LocalCave, a CAVE-compatible server on loopback with a synthetic world."""

from __future__ import annotations
