"""One gspread call at a time: retries where repeating is safe, typed errors without secrets.

Part of the Sheets seam ([`tracertools.storage.sheet`][tracertools.storage.sheet] and its ``sheet_*`` helper modules);
gspread, google-auth and requests are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tracertools.batch import call_with_retries
from tracertools.errors import (
    RateLimitedError,
    ServiceError,
    TracertoolsError,
    http_status,
    redact,
)

__all__ = ["_call", "_translate"]

T = TypeVar("T")


def _translate(exc: BaseException, what: str) -> BaseException:
    """Turn a gspread / google-auth / requests failure into a tracertools error (no secrets)."""
    if isinstance(exc, TracertoolsError):
        return exc
    import gspread
    import requests
    from google.auth.exceptions import GoogleAuthError

    if isinstance(exc, gspread.exceptions.APIError):
        message = str(exc.error.get("message", ""))[:500]
        cls = RateLimitedError if exc.code == 429 else ServiceError
        return cls(redact(f"Google Sheets refused to {what}: HTTP {exc.code}: {message}"),
                   status=exc.code if isinstance(exc.code, int) else None)
    if isinstance(exc, gspread.exceptions.SpreadsheetNotFound):
        return ServiceError(f"cannot {what}: the spreadsheet does not exist or is not shared with "
                            f"these credentials")
    if isinstance(exc, gspread.exceptions.WorksheetNotFound):
        return ServiceError(f"cannot {what}: the spreadsheet has no tab with that name")
    if isinstance(exc, PermissionError):
        return ServiceError(f"cannot {what}: these credentials have no permission on the spreadsheet")
    if isinstance(exc, GoogleAuthError):  # the token endpoint's reason, never the token
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
        return ServiceError(f"cannot {what}: Google did not accept the credentials "
                            f"({type(exc).__name__}: {reason[:200]})")
    if isinstance(exc, requests.RequestException):
        return ServiceError(redact(f"cannot {what}: Google Sheets could not be reached "
                                   f"({type(exc).__name__}: {str(exc)[:200]})"),
                            status=http_status(exc))
    return exc


def _call(func: Callable[[], T], what: str, *, idempotent: bool = True) -> T:
    """Run one gspread call: retries (429 / 5xx) when repeating it is safe, typed errors."""
    try:
        return call_with_retries(func) if idempotent else func()
    except Exception as exc:
        translated = _translate(exc, what)
        if translated is exc:
            raise
        raise translated from exc
