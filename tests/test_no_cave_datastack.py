"""A datastack CAVE does not host (MANC) fails at once with MissingFeatureError.

Without the check, caveclient would ask its default global server about a datastack it does
not know, retrying for about half a minute. The guard below refuses every DNS lookup and
connection during the call, so "at once" means "without touching the network".
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

import tracertools as tt
from tracertools.errors import MissingFeatureError

MANC = "male_adult_nerve_cord"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[1:] if len(args) > 1 else args)
        raise OSError("network use refused by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.mark.parametrize("call", [
    lambda ds: ds.client,
    lambda ds: ds.segments([720575940000000001]).are_fresh(),
    lambda ds: ds.segments([720575940000000001]).current_ids(),
    lambda ds: ds.tables(),
    lambda ds: ds.info(),
    lambda ds: ds.segments_at([[1, 2, 3]]),
], ids=["client", "are_fresh", "current_ids", "tables", "info", "segments_at"])
def test_cave_methods_raise_missing_feature_before_any_request(call, no_network):
    with pytest.raises(MissingFeatureError, match="not hosted in CAVE"):
        call(tt.Datastack(MANC))
    assert no_network == []


@pytest.mark.parametrize("shim, args", [
    ("check_seg_freshness", ([720575940000000001],)),
    ("get_current_seg_ids", ([720575940000000001],)),
    ("get_cave_stack_info", ()),
    ("get_roots_from_points", ([[1, 2, 3]],)),
])
def test_legacy_shims_raise_missing_feature_before_any_request(shim, args, no_network):
    with pytest.raises(MissingFeatureError):
        getattr(tt, shim)(MANC, *args)
    assert no_network == []


def test_the_error_is_a_lookup_error_naming_the_datastack():
    err = pytest.raises(MissingFeatureError, lambda: tt.Datastack(MANC).client).value
    assert isinstance(err, LookupError)
    assert err.datastack == MANC
