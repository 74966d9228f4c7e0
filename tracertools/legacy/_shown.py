"""What a legacy shim was explicitly asked to show: on standard output, where a notebook sees it.

The original printed some things (``make_mesh_from_points(print_alphas=True)``, the address of
``host_ng_volume_locally``). tracertools logs instead of printing, and the package logger has a
``NullHandler``, so an INFO message would appear nowhere. These messages go through their own
logger, ``tracertools.legacy.shown``, which writes them unadorned to standard output and does
not pass them to the root logger; users may reconfigure or silence it like any logger.
"""

from __future__ import annotations

import logging

__all__: list[str] = []

#: The logger's name.
SHOWN = "tracertools.legacy.shown"


class _CurrentStdout(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time (a notebook replaces it per cell)."""

    def emit(self, record: logging.LogRecord) -> None:
        import sys

        self.stream = sys.stdout
        super().emit(record)


def shown() -> logging.Logger:
    """The logger of what a legacy shim was explicitly asked to print (``print_alphas=True``).

    ``tracertools.legacy.shown`` writes its messages, unadorned, to standard output and does
    not pass them on to the root logger. It is set up on first use; reconfigure it like any
    logger (e.g. ``logging.getLogger("tracertools.legacy.shown").disabled = True``).
    """
    shown_logger = logging.getLogger("tracertools.legacy.shown")
    if not any(isinstance(h, _CurrentStdout) for h in shown_logger.handlers):
        handler = _CurrentStdout()
        handler.setFormatter(logging.Formatter("%(message)s"))
        shown_logger.addHandler(handler)
        shown_logger.setLevel(logging.INFO)
        shown_logger.propagate = False
    return shown_logger
