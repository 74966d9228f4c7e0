"""Datastack construction: validation, no network, token hygiene, handles."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import numpy as np
import pytest

import tracertools as tt
from tracertools.errors import InvalidInputError, InvalidSegmentIdError, UnknownDatastackError

BANC = "brain_and_nerve_cord"
SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a socket connection."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_constructing_a_datastack_and_handles_opens_no_socket(no_network):
    ds = tt.Datastack(BANC, auth_token=SECRET, timestamp=1_700_000_000)
    seg = ds.segment(720575941473274509)
    segs = ds.segments([720575941473274509, "720575941473274510"])
    repr(ds), repr(seg), repr(segs), ds._repr_html_()
    assert no_network == []


def test_config_comes_from_the_preset():
    ds = tt.Datastack(BANC)
    assert ds.config.resolution == (4.0, 4.0, 45.0)
    assert ds.server_address == ds.config.server_address


def test_explicit_server_address_wins_over_the_config():
    ds = tt.Datastack(BANC, server_address="https://cave.example.org")
    assert ds.server_address == "https://cave.example.org"


def test_unknown_datastack_is_a_key_error_listing_known_names():
    with pytest.raises(UnknownDatastackError) as info:
        tt.Datastack("no_such_stack")
    assert isinstance(info.value, KeyError)
    assert BANC in str(info.value)


def test_repr_shows_the_name_and_never_the_token():
    ds = tt.Datastack(BANC, auth_token=SECRET)
    assert BANC in repr(ds)
    assert SECRET not in repr(ds) and SECRET not in ds._repr_html_()
    assert SECRET not in str(ds.__dict__.get("_config"))


def test_timestamp_accepts_epoch_seconds_and_naive_datetimes_as_utc():
    a = tt.Datastack(BANC, timestamp=0)
    b = tt.Datastack(BANC, timestamp=datetime(1970, 1, 1))
    assert a.timestamp == b.timestamp == datetime(1970, 1, 1, tzinfo=timezone.utc)


def test_timestamp_and_version_together_are_refused():
    with pytest.raises(InvalidInputError, match="not both"):
        tt.Datastack(BANC, timestamp=0, materialization_version=3)


@pytest.mark.parametrize("version", [-1, 1.5, True, "3"])
def test_bad_materialization_versions_are_refused(version):
    with pytest.raises(InvalidInputError, match="materialization_version"):
        tt.Datastack(BANC, materialization_version=version)


@pytest.mark.parametrize("name", ["", "   ", None, 5])
def test_bad_names_are_refused(name):
    with pytest.raises(InvalidInputError, match="datastack name"):
        tt.Datastack(name)


def test_segment_handle_validates_and_keeps_the_id():
    seg = tt.Datastack(BANC).segment("720575941473274509")
    assert seg.id == 720575941473274509
    assert repr(seg) == f"Segment(720575941473274509, datastack='{BANC}')"


def test_segments_keep_order_and_duplicates():
    segs = tt.Datastack(BANC).segments([5, 3, 5])
    assert segs.ids.dtype == np.uint64
    assert segs.ids.tolist() == [5, 3, 5]
    assert [s.id for s in segs] == [5, 3, 5]
    assert segs.unique().ids.tolist() == [5, 3]


def test_segments_name_the_offending_value_and_position():
    with pytest.raises(InvalidSegmentIdError, match="position 2"):
        tt.Datastack(BANC).segments([1, 2, 7.205759e17])


def test_handles_compare_by_datastack_and_id():
    ds = tt.Datastack(BANC)
    assert ds.segment(7) == tt.Datastack(BANC).segment("7")
    assert ds.segment(7) != ds.segment(8)
    assert ds.segments([1, 2])[1:] == ds.segments([2])
    assert len({ds.segment(7), ds.segment(7)}) == 1


def test_segment_list_repr_shortens_long_lists():
    segs = tt.Datastack(BANC).segments(range(1, 100))
    assert "99 IDs" in repr(segs)


def test_cache_is_shared_per_kind():
    ds = tt.Datastack(BANC)
    ds.cache("leaves")[1] = "x"
    assert ds.cache("leaves") == {1: "x"}
    assert ds.cache("l2") == {}


@pytest.mark.parametrize(("given", "name"), [
    ("BANC", "brain_and_nerve_cord"), ("banc", "brain_and_nerve_cord"),
    (" brain_and_nerve_cord ", "brain_and_nerve_cord"), ("FlyWire", "flywire_fafb_production"),
    ("MANC", "male_adult_nerve_cord"), ("MICrONS", "minnie65_phase3_v1"),
    ("Brain_And_Nerve_Cord", "brain_and_nerve_cord"),
])
def test_everyday_names_and_stray_spaces_name_the_preset(given, name):
    assert tt.Datastack(given).name == name


def test_an_unknown_name_suggests_the_close_ones():
    with pytest.raises(tt.UnknownDatastackError) as info:
        tt.Datastack("brain_and_nerv_cord")
    assert "Did you mean 'brain_and_nerve_cord'" in str(info.value)
    assert info.value.suggestions[0] == "brain_and_nerve_cord"


def test_calling_the_segments_module_says_which_method_to_use():
    with pytest.raises(TypeError, match=r"tt.Datastack\(name\).segments\(ids\)"):
        tt.segments([720575941473274509])


def test_tt_segment_says_to_make_a_datastack_first():
    with pytest.raises(AttributeError, match=r"tt.Datastack\(name\).segment\(segment_id\)"):
        tt.segment(720575941473274509)


def test_a_config_file_round_trips_the_config(tmp_path):
    cfg = tt.load_config("brain_and_nerve_cord")
    path = cfg.to_file(tmp_path / "banc.json")
    assert tt.DatastackConfig.from_file(path) == cfg


def test_a_broken_config_file_is_a_config_error(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(tt.ConfigError, match="not a JSON datastack config"):
        tt.DatastackConfig.from_file(tmp_path / "bad.json")
