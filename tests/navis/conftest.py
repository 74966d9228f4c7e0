"""Fixtures for the navis tests: a datastack on the session's LocalCave and its ground truth."""

from __future__ import annotations

import pytest


@pytest.fixture
def world(local_cave):
    return local_cave.world


@pytest.fixture
def ds(local_cave):
    return local_cave.datastack()
