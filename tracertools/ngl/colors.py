"""Colour lists for segments and annotation layers.

[`color_list()`][tracertools.ngl.colors.color_list] gives ``n`` distinct, eye-friendly colours as lowercase ``#rrggbb`` strings:
a hand-picked palette for up to 10 colours, evenly spaced, slightly desaturated hues beyond
that. It never returns pure blue (``#0000ff``), which is harsh on the eyes over long
proofreading sessions: hues within 15° of blue are skipped.

The original library's exact algorithm (uppercase palette, a 1530-step fully saturated wheel
that can land on pure blue) lives with its legacy shim, ``tracertools.legacy.make_color_list``.
"""

from __future__ import annotations

import colorsys
import numbers
import operator
import re

from tracertools.errors import InvalidInputError

__all__ = ["PALETTE", "PALETTE_PICKS", "color_list", "is_hex_color"]

#: The curated palette: red, orange, yellow, yellow-green, green, blue-green, cyan, blue,
#: purple, magenta.
PALETTE = (
    "#ff5533",
    "#ff9c33",
    "#ffdd33",
    "#b9da00",
    "#a8ffa8",
    "#00a870",
    "#b0feff",
    "#469fe3",
    "#cc85ff",
    "#ff40df",
)

#: Which palette entries to use for n = 1..10 colours (the original's well-liked choice).
PALETTE_PICKS: dict[int, tuple[int, ...]] = {
    1: (2,),
    2: (0, 7),
    3: (0, 2, 7),
    4: (0, 2, 4, 7),
    5: (0, 2, 4, 7, 8),
    6: (0, 1, 2, 4, 7, 8),
    7: (0, 1, 2, 4, 7, 8, 9),
    8: (0, 1, 2, 4, 6, 7, 8, 9),
    9: (0, 1, 2, 3, 5, 6, 7, 8, 9),
    10: tuple(range(10)),
}

_BLUE_HUE = 240.0  # degrees
_BLUE_GAP = 30.0  # degrees of hue skipped around pure blue
_SATURATION = 0.75
_VALUE = 1.0

_PURE_BLUE = (0, 0, 255)
_MAX_COLORS = (1 << 24) - 1  # every 24-bit colour but pure blue

_HEX_RE = re.compile(r"#[0-9a-fA-F]{6}")


def is_hex_color(s: object) -> bool:
    """Whether ``s`` is a ``#rrggbb`` hex colour string (either letter case)."""
    return isinstance(s, str) and _HEX_RE.fullmatch(s) is not None


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


def _wheel(n: int) -> list[tuple[int, int, int]]:
    """``n`` evenly spaced hues from red, skipping the band around pure blue."""
    usable = 360.0 - _BLUE_GAP
    gap_start = _BLUE_HUE - _BLUE_GAP / 2.0
    out = []
    for i in range(n):
        hue = usable * i / n
        if hue >= gap_start:
            hue += _BLUE_GAP
        r, g, b = colorsys.hsv_to_rgb(hue / 360.0, _SATURATION, _VALUE)
        out.append((round(r * 255), round(g * 255), round(b * 255)))
    return out


def _shade(rgb: tuple[int, int, int], amount: float, lighten: bool) -> tuple[int, int, int]:
    if lighten:
        r, g, b = (round(c + amount * (255 - c)) for c in rgb)
    else:
        r, g, b = (round(c * (1.0 - amount)) for c in rgb)
    return r, g, b


def _nudges(rgb: tuple[int, int, int], step: int) -> list[tuple[int, int, int]]:
    r, g, b = rgb
    options = []
    for delta in (step, -step):
        options += [(r, g + delta, b), (r + delta, g, b), (r, g, b + delta)]
    return [o for o in options if all(0 <= c <= 255 for c in o)]


def _unique(colors: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Nudge repeated colours by the smallest single-channel change until all are distinct.

    Pure blue is never produced. Only very long lists (hundreds of colours) ever need this.
    """
    seen: set[tuple[int, int, int]] = {_PURE_BLUE}
    out = []
    for rgb in colors:
        candidate = rgb
        step = 0
        while candidate in seen and step < 255:
            step += 1
            candidate = next((o for o in _nudges(rgb, step) if o not in seen), candidate)
        code = (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]
        while candidate in seen:  # every single-channel neighbour is taken: walk the cube
            code = (code + 1) & 0xFFFFFF
            candidate = (code >> 16, (code >> 8) & 0xFF, code & 0xFF)
        seen.add(candidate)
        out.append(candidate)
    return out


def color_list(n: int, *, alternate_brightness: float = 0.0) -> list[str]:
    """``n`` distinct, eye-friendly colours around the colour wheel.

    Up to 10 colours come from a curated palette; more are evenly spaced hues (75 % saturation)
    starting at red. Pure blue is never returned. All strings are lowercase ``#rrggbb``.

    Args:
        n: how many colours, ≥ 1.
        alternate_brightness: 0 to 1. When > 0, colours alternate light (even positions,
            moved ``alternate_brightness / 2`` of the way to white) and dark (odd positions,
            scaled by ``1 - alternate_brightness / 2``), which separates neighbours when many
            colours crowd the wheel. 0 leaves the colours unchanged.

    Returns:
        A list of ``n`` distinct hex colour strings.

    Raises:
        InvalidInputError: if ``n`` is not an integer ≥ 1 or ``alternate_brightness`` is not a
            number in [0, 1].
    """
    if isinstance(n, bool):
        raise InvalidInputError(f"n must be an integer >= 1, got {n!r}")
    try:
        count = operator.index(n)
    except TypeError:
        raise InvalidInputError(f"n must be an integer >= 1, got {n!r}") from None
    if not 1 <= count <= _MAX_COLORS:
        raise InvalidInputError(f"n must be an integer in [1, {_MAX_COLORS}], got {n!r}")
    if isinstance(alternate_brightness, bool) or not isinstance(alternate_brightness, numbers.Real):
        raise InvalidInputError(
            f"alternate_brightness must be a number in [0, 1], got {alternate_brightness!r}"
        )
    if not 0.0 <= alternate_brightness <= 1.0:
        raise InvalidInputError(
            f"alternate_brightness must be in [0, 1], got {alternate_brightness!r}"
        )

    if count <= len(PALETTE):
        base = [_rgb(PALETTE[i]) for i in PALETTE_PICKS[count]]
    else:
        base = _wheel(count)
    if alternate_brightness > 0.0:
        amount = alternate_brightness / 2.0
        base = [_shade(rgb, amount, lighten=(i % 2 == 0)) for i, rgb in enumerate(base)]
    return [_hex(rgb) for rgb in _unique(base)]
