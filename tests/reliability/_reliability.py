"""Settings shared by the reliability tests (imported by the conftest and the test modules)."""

from __future__ import annotations

from tracertools.config import HttpPolicy

#: Seconds a request may wait for an answer in this suite (``$TRACERTOOLS_HTTP_TIMEOUT``).
TEST_TIMEOUT_S = 1.0
#: Seconds a stalled LocalCave request sleeps: well past the timeout.
STALL_S = 2.5
#: The default retry policy with short waits: ``Retry-After`` is honoured but capped at 20 ms
#: and backoffs stay under 20 ms, so the suite's retries cost requests, not seconds.
FAST = HttpPolicy(backoff_s=0.002, max_backoff_s=0.02, retry_after_max_s=0.02)
