"""get_roots_from_points: only a point that cannot be looked up becomes "ERROR"."""

from __future__ import annotations

import pytest

import tracertools as tt
from tracertools.errors import ServiceError


@pytest.fixture
def name(local_cave):
    return local_cave.datastack()


def test_a_malformed_point_is_error_in_its_place_only(name, world):
    good = list(world.soma_position(0))
    got = tt.get_roots_from_points(name, [good, ["a", 1, 2], [1, 2], good])
    root = world.root_at_point(good)
    assert got == [root, "ERROR", "ERROR", root]


def test_a_point_outside_the_volume_is_error_in_its_place(local_cave, name, world):
    good = list(world.soma_position(1))
    outside = [c + 1 for c in local_cave.config.max_coord]
    got = tt.get_roots_from_points(name, [outside, good, [-1, 0, 0]])
    assert got == ["ERROR", world.root_at_point(good), "ERROR"]


def test_a_non_finite_point_is_error(name, world):
    good = list(world.soma_position(2))
    assert tt.get_roots_from_points(name, [[float("nan"), 1, 1], good], sv=True) == [
        "ERROR", world.supervoxel_at_viewer(good)]


def test_an_authentication_failure_raises_instead_of_error_per_point(local_cave, name, world):
    local_cave.fail_next("roots_binary", status=401, times=20, message="Unauthorized")
    with pytest.raises(ServiceError, match="401"):
        tt.get_roots_from_points(name, [list(world.soma_position(0))])


def test_a_service_failure_raises_instead_of_error_per_point(local_cave, name, world):
    local_cave.fail_next("roots_binary", status=403, times=20, message="Forbidden")
    with pytest.raises(ServiceError, match="403"):
        tt.get_roots_from_points(name, [list(world.soma_position(0))])


def test_a_single_bare_point_still_works(name, world):
    point = list(world.soma_position(3))
    assert tt.get_roots_from_points(name, point) == [world.root_at_point(point)]
