"""The browser harness says why when Chromium cannot run, and leaves nothing behind."""

from __future__ import annotations

import os

import pytest
from _cdp import Chromium, ChromiumUnavailableError


def test_a_missing_chromium_is_named_in_the_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACERTOOLS_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(ChromiumUnavailableError, match="could not be run"):
        Chromium()


def test_a_chromium_that_exits_at_once_is_reported_with_its_output(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TRACERTOOLS_CHROMIUM", str(fake))
    with pytest.raises(ChromiumUnavailableError, match="did not start(?s:.*)cannot open display"):
        Chromium(timeout=10)


def test_close_ends_the_browser_and_removes_its_profile():
    browser = Chromium(timeout=30)
    profile, pid = browser._profile, browser.process.pid
    assert "Chrome" in browser.version
    browser.close()
    assert browser.process.returncode is not None
    assert not os.path.exists(profile)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
