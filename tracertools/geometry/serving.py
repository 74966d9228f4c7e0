"""Stopping a blocking server on SIGINT or SIGTERM, whatever signal dispositions were inherited.

A process started from a background job (``cmd &`` in a script, ``nohup``, many schedulers)
inherits SIGINT ignored, and Python then never raises KeyboardInterrupt: a server that waits for
Ctrl-C would wait forever, and SIGTERM would kill it without its cleanup. While a blocking
server runs in the main thread, [`stop_signals_interrupt()`][tracertools.geometry.serving.stop_signals_interrupt] makes both signals raise
KeyboardInterrupt there, so the server's own ``except KeyboardInterrupt`` / ``finally`` runs.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["STOP_SIGNALS", "stop_signals_interrupt"]

logger = logging.getLogger(__name__)

#: The signals that stop a blocking server: Ctrl-C and the polite ``kill``.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[bool]:
    """While the block runs, SIGINT and SIGTERM raise KeyboardInterrupt in the main thread.

    The handlers in place before (an ignored SIGINT included) are put back when the block ends.
    Python lets only the main thread set handlers: elsewhere nothing changes.

    Yields:
        Whether the handlers were installed (False off the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        logger.debug("not the main thread: SIGINT and SIGTERM keep their handlers")
        yield False
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, _raise_keyboard_interrupt)
        yield True
    finally:
        for sig, handler in previous.items():
            # None: a handler not set from Python, which cannot be put back; use the default.
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
