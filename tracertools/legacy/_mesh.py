"""Legacy shims: mesh family (filled in as the capability lands)."""

from __future__ import annotations

__all__: list[str] = []
