"""Fixtures for the browser tests: a LocalCave with an HTTPS door, and where screenshots go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracertools.testing import LocalCave

#: Set to a folder to keep the screenshots (the docs' pictures come from there).
SCREENSHOT_DIR_ENV = "TRACERTOOLS_SCREENSHOT_DIR"


@pytest.fixture(scope="module")
def https_cave() -> Iterator[LocalCave]:
    """A LocalCave whose registered datastack names its segmentation ``middleauth+https://``."""
    with LocalCave(https=True, datastack_name="browser_demo") as cave:
        yield cave


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """``$TRACERTOOLS_SCREENSHOT_DIR`` if set, else this test's temporary folder."""
    chosen = os.environ.get(SCREENSHOT_DIR_ENV)
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
