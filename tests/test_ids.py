"""Segment ID validation: what is accepted and what is refused, with the position named."""

from __future__ import annotations

import numpy as np
import pytest

from tracertools.errors import InvalidSegmentIdError
from tracertools.ids import as_segment_id, as_segment_ids

BANC_ID = 720575941473274509


@pytest.mark.parametrize(
    "value",
    [BANC_ID, np.uint64(BANC_ID), np.int64(BANC_ID), str(BANC_ID), f"  {BANC_ID}\n", 12345.0,
     2**64 - 1, "18446744073709551615"],
)
def test_accepted_values_become_exact_ints(value):
    expected = int(str(value).strip().split(".")[0]) if not isinstance(value, float) else 12345
    assert as_segment_id(value) == expected
    assert type(as_segment_id(value)) is int


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (7.205759e17, "cannot hold an exact segment ID"),
        (float(BANC_ID), "cannot hold an exact segment ID"),
        (1.5, "not a whole number"),
        (float("nan"), "not a number"),
        (float("inf"), "not a number"),
        (-5, "not negative"),
        ("-5", "not negative"),
        (0, "background"),
        (2**64, "uint64 maximum"),
        (True, "bool"),
        (np.bool_(False), "bool"),
        ("", "empty string"),
        ("   ", "empty string"),
        ("7.205759e17", "only the digits"),
        ("12a", "only the digits"),
        ("١٢٣", "only the digits"),
        (None, "missing"),
        ([1], "expected an int"),
    ],
)
def test_refused_values_raise_with_a_reason(value, reason):
    with pytest.raises(InvalidSegmentIdError, match=reason):
        as_segment_id(value)


def test_error_names_the_value_and_its_position():
    with pytest.raises(InvalidSegmentIdError) as info:
        as_segment_ids([BANC_ID, 7.205759e17])
    assert info.value.position == 1
    assert "7.205759e+17" in str(info.value) and "position 1" in str(info.value)


def test_invalid_segment_id_error_is_a_value_error():
    with pytest.raises(ValueError):
        as_segment_id("abc")


def test_lists_keep_order_and_duplicates_as_uint64():
    out = as_segment_ids([3, "2", 3, np.int32(1)])
    assert out.dtype == np.uint64
    assert out.tolist() == [3, 2, 3, 1]


def test_a_bare_string_is_not_a_list_of_digits():
    with pytest.raises(InvalidSegmentIdError, match="list of IDs"):
        as_segment_ids("123")


def test_integer_arrays_are_checked_for_non_positive_values():
    with pytest.raises(InvalidSegmentIdError) as info:
        as_segment_ids(np.array([5, -1, 3]))
    assert info.value.position == 1


def test_empty_list_gives_empty_array():
    assert as_segment_ids([]).shape == (0,)
