"""tracertools.ngl.colors (new API) and the legacy make_color_list (exact original output)."""

from __future__ import annotations

import re

import pytest

from tracertools.errors import InvalidInputError
from tracertools.legacy import make_color_list
from tracertools.ngl.colors import color_list, is_hex_color

LOWER_HEX = re.compile(r"#[0-9a-f]{6}")


def _rgb(h):
    return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)


# ---------------------------------------------------------------------------------------------
# color_list
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 41))
def test_n_distinct_lowercase_hex(n):
    colors = color_list(n)
    assert len(colors) == n
    assert len(set(colors)) == n
    assert all(LOWER_HEX.fullmatch(c) for c in colors)


def test_small_counts_use_the_curated_palette():
    assert color_list(1) == ["#ffdd33"]
    assert color_list(2) == ["#ff5533", "#469fe3"]
    assert color_list(10)[0] == "#ff5533" and color_list(10)[-1] == "#ff40df"


def test_large_counts_stay_distinct():
    for n in (257, 1000, 3000):
        colors = color_list(n, alternate_brightness=0.3)
        assert len(set(colors)) == n
        assert "#0000ff" not in colors


@pytest.mark.parametrize("brightness", [0.0, 0.25, 0.5, 1.0])
def test_never_pure_blue(brightness):
    for n in range(1, 201):
        assert "#0000ff" not in color_list(n, alternate_brightness=brightness), n


def test_alternation_lightens_even_and_darkens_odd_positions():
    for n in (6, 15, 40):
        base = color_list(n)
        alt = color_list(n, alternate_brightness=0.6)
        assert len(set(alt)) == n
        for i, (b, a) in enumerate(zip(base, alt, strict=True)):
            rb, ra = _rgb(b), _rgb(a)
            if i % 2 == 0:
                assert all(x >= y for x, y in zip(ra, rb, strict=True)) and ra != rb
            else:
                assert all(x <= y for x, y in zip(ra, rb, strict=True)) and ra != rb


def test_full_alternation_keeps_colours_distinct():
    for n in range(1, 101):
        assert len(set(color_list(n, alternate_brightness=1.0))) == n


@pytest.mark.parametrize("n", [0, -3, 2.5, 3.0, "3", None, True])
def test_invalid_count(n):
    with pytest.raises(InvalidInputError):
        color_list(n)


@pytest.mark.parametrize("b", [-0.1, 1.01, float("nan"), "0.5", None, True])
def test_invalid_brightness(b):
    with pytest.raises(InvalidInputError):
        color_list(5, alternate_brightness=b)


def test_invalid_input_is_a_value_error():
    with pytest.raises(ValueError):
        color_list(0)


def test_is_hex_color():
    assert is_hex_color("#ff5533") and is_hex_color("#FF5533")
    for bad in ("ff5533", "#ff553", "#ff55330", "#gg5533", "", None, 0xFF5533):
        assert not is_hex_color(bad)


# ---------------------------------------------------------------------------------------------
# legacy make_color_list
# ---------------------------------------------------------------------------------------------

PALETTE = ["#FF5533", "#FF9C33", "#FFDD33", "#B9DA00", "#A8FFA8",
           "#00A870", "#B0FEFF", "#469FE3", "#CC85FF", "#FF40DF"]  # fmt: skip

LEGACY_SMALL = {
    1: ["#FFDD33"],
    2: ["#FF5533", "#469FE3"],
    3: ["#FF5533", "#FFDD33", "#469FE3"],
    4: ["#FF5533", "#FFDD33", "#A8FFA8", "#469FE3"],
    5: ["#FF5533", "#FFDD33", "#A8FFA8", "#469FE3", "#CC85FF"],
    6: ["#FF5533", "#FF9C33", "#FFDD33", "#A8FFA8", "#469FE3", "#CC85FF"],
    7: ["#FF5533", "#FF9C33", "#FFDD33", "#A8FFA8", "#469FE3", "#CC85FF", "#FF40DF"],
    8: ["#FF5533", "#FF9C33", "#FFDD33", "#A8FFA8", "#B0FEFF", "#469FE3", "#CC85FF", "#FF40DF"],
    9: ["#FF5533", "#FF9C33", "#FFDD33", "#B9DA00", "#00A870", "#B0FEFF", "#469FE3", "#CC85FF",
        "#FF40DF"],
    10: PALETTE,
}  # fmt: skip


@pytest.mark.parametrize("n", range(1, 11))
def test_legacy_palette_for_up_to_ten(n):
    assert make_color_list(n) == LEGACY_SMALL[n]
    # the original ignored alternate_brightness for 10 or fewer colours
    assert make_color_list(n, alternate_brightness=0.9) == LEGACY_SMALL[n]


def test_legacy_twelve_colours_on_the_1530_wheel():
    # step int(1530 / 12) = 127; positions 0, 127, ..., 1397 on six 255-unit ramps
    assert make_color_list(12) == [
        "#ff0000", "#ff7f00", "#fffe00", "#81ff00", "#02ff00", "#00ff7d",
        "#00fffc", "#0083ff", "#0004ff", "#7b00ff", "#fa00ff", "#ff0085",
    ]  # fmt: skip


def test_legacy_brightness_counter_even_count():
    # n even: counter starts at 12, so position 0 is darkened, 1 lightened, 2 darkened, ...
    got = make_color_list(12, alternate_brightness=0.5)
    assert got[:3] == ["#7f0000", "#ffbf7f", "#7f7f00"]


def test_legacy_brightness_counter_odd_count():
    # n odd: the first colour is left alone, then darken / lighten from the second on
    # step int(1530 / 11) = 139: (255, 139, 0) darkened, (232, 255, 0) lightened
    got = make_color_list(11, alternate_brightness=0.5)
    assert got[:3] == ["#ff0000", "#7f4500", "#f3ff7f"]


def test_legacy_can_return_pure_blue():
    # step int(1530 / 15) = 102 puts position 10 exactly on 1020: pure blue
    assert make_color_list(15)[10] == "#0000ff"
    assert make_color_list(30)[20] == "#0000ff"


@pytest.mark.parametrize("n", range(11, 60))
def test_legacy_large_counts_are_lowercase(n):
    colors = make_color_list(n)
    assert len(colors) == n and colors[0] == "#ff0000"
    assert all(LOWER_HEX.fullmatch(c) for c in colors)


def test_legacy_errors():
    for b in (-0.01, 1.5):
        with pytest.raises(ValueError):
            make_color_list(5, alternate_brightness=b)
    for n in (0, -4, 2.5):
        with pytest.raises(ValueError):
            make_color_list(n)
    # the original built its wheel with range(), so a float above 10 was a TypeError
    with pytest.raises(TypeError):
        make_color_list(12.0)
    assert make_color_list(2.0) == LEGACY_SMALL[2]  # it compared with ==
