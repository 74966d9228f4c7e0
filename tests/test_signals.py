"""stop_signals_interrupt: SIGINT and SIGTERM stop a blocking server in the main thread."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tracertools.geometry.serving import stop_signals_interrupt


def wait_for_a_signal() -> None:
    """Sleep in short steps (a signal handler runs between them); give up after 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.01)


def test_sigterm_raises_keyboard_interrupt_naming_it(sigterm_fallback):
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), stop_signals_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for_a_signal()


def test_an_ignored_sigint_raises_keyboard_interrupt_and_is_ignored_again_after(sigint_ignored):
    with pytest.raises(KeyboardInterrupt, match="SIGINT"), stop_signals_interrupt() as installed:
        assert installed
        os.kill(os.getpid(), signal.SIGINT)
        wait_for_a_signal()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_the_previous_sigterm_handler_is_back_after_the_block(sigterm_fallback):
    with stop_signals_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not sigterm_fallback
    assert signal.getsignal(signal.SIGTERM) is sigterm_fallback


def test_off_the_main_thread_no_handler_changes():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    seen: list[object] = []

    def in_a_thread() -> None:
        with stop_signals_interrupt() as installed:
            seen.append(installed)
            seen.append({sig: signal.getsignal(sig) for sig in before})

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [False, before]
