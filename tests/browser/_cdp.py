"""Headless Chromium driven over the DevTools protocol on a pipe (no extra Python package).

Chromium is Debian's ``chromium`` (or ``$TRACERTOOLS_CHROMIUM``), started with
``--remote-debugging-pipe``: it reads protocol messages (JSON, NUL-terminated) on fd 3 and
writes on fd 4. WebGL comes from SwiftShader. Every wait has a deadline; :meth:`Chromium.close`
ends the browser (politely, then by signal) and removes its fresh profile folder.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

#: Flags for a quiet, self-contained headless browser with software WebGL.
FLAGS = (
    "--headless=new",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-pipe",
)


_TRAMPOLINE = (
    "import fcntl, os, sys\n"
    "a, b = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])\n"
    "os.dup2(a, 3); os.dup2(b, 4); os.close(a); os.close(b)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


class ChromiumUnavailableError(RuntimeError):
    """Chromium is not installed or did not start; the message says which and why."""


class Chromium:
    """One headless Chromium process and its DevTools pipe.

    Args:
        args: extra command-line flags.
        window: window size in CSS pixels.
        timeout: seconds allowed for start-up and for each protocol call.
    """

    def __init__(self, args: Sequence[str] = (), *, window: tuple[int, int] = (1280, 800),
                 timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""
        binary = os.environ.get("TRACERTOOLS_CHROMIUM") or shutil.which("chromium") \
            or shutil.which("chromium-browser")
        if not binary:
            raise ChromiumUnavailableError(
                "Chromium is not installed (no `chromium` on PATH, $TRACERTOOLS_CHROMIUM unset); "
                "install Debian's package: apt-get install -y chromium"
            )
        if not os.access(binary, os.X_OK):
            raise ChromiumUnavailableError(f"Chromium ({binary}) could not be run: not an executable file")
        self._profile = tempfile.mkdtemp(prefix="tracertools-chromium-")
        self._stderr = open(os.path.join(self._profile, "stderr.log"), "w+b")  # noqa: SIM115
        child_in, self._write = os.pipe()
        self._read, child_out = os.pipe()
        command = [binary, *FLAGS, f"--user-data-dir={self._profile}",
                   f"--window-size={window[0]},{window[1]}", *args, "about:blank"]
        try:
            # a small Python trampoline moves the pipe ends to fds 3 and 4, then becomes Chromium
            self.process = subprocess.Popen(
                [sys.executable, "-c", _TRAMPOLINE, str(child_in), str(child_out), *command],
                pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True,
            )
        except OSError as exc:
            self._cleanup()
            raise ChromiumUnavailableError(f"Chromium ({binary}) could not be run: {exc}") from exc
        finally:
            os.close(child_in)
            os.close(child_out)
        try:
            self.version = self.call("Browser.getVersion")["product"]
        except Exception as exc:
            log = self.stderr_tail()
            self.close()
            raise ChromiumUnavailableError(
                f"Chromium ({binary}) did not start: {exc}\n--- its stderr ---\n{log}"
            ) from exc

    # -- protocol ------------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Send one command and wait for its answer; events seen meanwhile go to :attr:`events`."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for reply in self._drain(deadline):
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method} failed: {reply['error']}")
                    return dict(reply.get("result") or {})
                self.events.append(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.extend(self._drain(deadline))
        except TimeoutError:
            return

    def _drain(self, deadline: float) -> list[dict[str, Any]]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium in time")
            ready, _, _ = select.select([self._read], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise ConnectionError("Chromium closed its DevTools pipe")
                self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in messages]

    # -- pages ---------------------------------------------------------------------------------

    def new_page(self) -> Page:
        """A new tab with Runtime, Log and Page events on."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"])
        for domain in ("Runtime", "Log", "Page"):
            page.call(f"{domain}.enable")
        return page

    # -- lifetime ------------------------------------------------------------------------------

    def stderr_tail(self, lines: int = 20) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return "\n".join(self._stderr.read().decode(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """End Chromium (Browser.close, then SIGTERM, then SIGKILL) and remove its profile."""
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except Exception:  # noqa: BLE001 - it is going away either way
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        for fd in ("_read", "_write"):
            value = getattr(self, fd, None)
            if value is not None:
                try:
                    os.close(value)
                except OSError:
                    pass
                setattr(self, fd, None)
        self._stderr.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One tab: navigate, evaluate JavaScript, read its console, take screenshots."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session

    def call(self, method: str, params: dict[str, Any] | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def navigate(self, url: str) -> None:
        answer = self.call("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise RuntimeError(f"navigation to {url} failed: {answer['errorText']}")

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        """The JSON value of a JavaScript expression (exceptions raise RuntimeError)."""
        answer = self.call("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": await_promise})
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"JavaScript failed: {text}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 60.0, poll: float = 0.5) -> Any:
        """Evaluate ``expression`` until it is truthy; its value, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout:g} s: {expression}")
            self.browser.pump(poll)

    def screenshot(self) -> bytes:
        """A PNG of the tab as it is drawn now."""
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        return base64.b64decode(data)

    def console_errors(self) -> list[str]:
        """Errors this tab reported: console.error/assert, uncaught exceptions, log errors."""
        found = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                found.append(f"console.{params['type']}: {text}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append("exception: " + str(details.get("exception", {}).get("description")
                                                 or details.get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                found.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
        return found
