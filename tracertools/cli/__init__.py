"""The ``tracertools`` command line (``commands``) and its end-to-end tour (``demo``).

May import anything in tracertools; nothing in tracertools imports it.
"""

from __future__ import annotations

from tracertools.cli.commands import main

__all__ = ["main"]
