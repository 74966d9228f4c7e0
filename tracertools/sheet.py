"""Old import path, kept for scripts and notebooks: Sheets live in [`tracertools.storage.sheet`][tracertools.storage.sheet]."""

from tracertools.storage.sheet import OAuth, ServiceAccount, Sheet, Tab  # noqa: F401
