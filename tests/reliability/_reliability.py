"""Settings shared by the reliability tests (imported by the conftest and the test modules)."""

from __future__ import annotations

#: Seconds a request may wait for an answer in this suite (``$TRACERTOOLS_HTTP_TIMEOUT``).
TEST_TIMEOUT_S = 1.0
#: Seconds a stalled LocalCave request sleeps: well past the timeout.
STALL_S = 4.0
