"""Compact HTML cards that notebooks show for geometry values (``_repr_html_``).

Cards are computed from the value alone: no request, no rendering, numpy only.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tracertools.geometry.mesh import Mesh


def html_table(caption: str, rows: Sequence[tuple[str, str]]) -> str:
    """A two-column HTML table (header cell, value cell), every text escaped."""
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table><caption>{html.escape(caption)}</caption>{body}</table>"


def mesh_card(mesh: Mesh) -> str:
    """Counts, bounds (nm), extent (µm), watertightness and, if closed, volume (µm³)."""
    lo, hi = mesh.bounds
    closed = mesh.is_watertight
    return html_table("Mesh", [
        ("vertices", f"{len(mesh.vertices):,}"),
        ("faces", f"{len(mesh.faces):,}"),
        ("bounds (nm)", f"{np.round(lo).astype(int).tolist()} – {np.round(hi).astype(int).tolist()}"),
        ("extent (µm)", " × ".join(f"{v:,.2f}" for v in (hi - lo) / 1000)),
        ("watertight", "yes" if closed else "no"),
        ("volume (µm³)", f"{mesh.volume_nm3 / 1e9:,.3f}" if closed else "—"),
    ])
