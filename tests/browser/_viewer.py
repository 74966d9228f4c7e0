"""neuroglancer's own web client, served by its Python server on 127.0.0.1, with credentials.

The client the ``neuroglancer`` package ships asks its Python server for credentials; this
answers its ``middleauthapp`` requests (what a ``middleauth+https://`` source asks for) with a
bearer token per server origin, as CAVE's login would hand the viewer one.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_TOKENS: dict[str, str] = {}
_LOCK = threading.Lock()
_REGISTERED = False


def _register_middleauth() -> None:
    """Teach neuroglancer's credentials manager the ``middleauthapp`` key (once a process)."""
    global _REGISTERED
    from neuroglancer.credentials_provider import CredentialsProvider
    from neuroglancer.default_credentials_manager import default_credentials_manager

    class MiddleAuthProvider(CredentialsProvider):  # type: ignore[misc]
        def __init__(self, origin: str) -> None:
            super().__init__()
            self.origin = origin

        def get_new(self) -> concurrent.futures.Future[dict[str, str]]:
            future: concurrent.futures.Future[dict[str, str]] = concurrent.futures.Future()
            with _LOCK:
                token = _TOKENS.get(self.origin)
            if token is None:
                future.set_exception(PermissionError(f"no token for {self.origin}"))
            else:
                future.set_result({"tokenType": "Bearer", "accessToken": token})
            return future

    with _LOCK:
        if not _REGISTERED:
            default_credentials_manager.register("middleauthapp", MiddleAuthProvider)
            _REGISTERED = True


class NeuroglancerServer:
    """neuroglancer's Python server on 127.0.0.1 (started here, stopped by :meth:`stop`).

    Args:
        tokens: bearer token per origin (``https://127.0.0.1:PORT``) of middleauth sources.
    """

    def __init__(self, tokens: Mapping[str, str]) -> None:
        import neuroglancer

        _register_middleauth()
        with _LOCK:
            _TOKENS.update(tokens)
        self._origins = list(tokens)
        neuroglancer.set_server_bind_address("127.0.0.1")
        self.viewer = neuroglancer.Viewer()

    def open(self, state: Mapping[str, Any]) -> str:
        """Give the viewer ``state``; the URL a browser opens to show it."""
        import neuroglancer

        self.viewer.set_state(neuroglancer.ViewerState(dict(state)))
        return str(self.viewer.get_viewer_url())

    def stop(self) -> None:
        import neuroglancer

        neuroglancer.stop()
        with _LOCK:
            for origin in self._origins:
                _TOKENS.pop(origin, None)

    def __enter__(self) -> NeuroglancerServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# Opening a state in headless Chromium
# ---------------------------------------------------------------------------------------------

#: What each layer's data sources came to, as the viewer itself reports it.
LAYER_REPORT_JS = """
(() => window.viewer.layerManager.managedLayers.map(m => ({
  name: m.name,
  ready: m.isReady(),
  sources: m.layer === null ? [] : m.layer.dataSources.map(d =>
      d.loadState === undefined ? 'loading'
      : (d.loadState.error !== undefined ? 'error: ' + d.loadState.error.message : 'loaded')),
})))()
"""

#: True once the viewer has its state, every layer's sources answered and visible data is drawn.
READY_JS = """
(() => {
  const v = window.viewer;
  if (!v || !v.isReady()) return false;
  const layers = v.layerManager.managedLayers;
  if (layers.length === 0) return false;
  return layers.every(m => m.layer !== null && m.layer.dataSources.every(
      d => d.loadState !== undefined));
})()
"""


@dataclass
class Opened:
    """What the viewer showed: its own state, its layers' load reports, errors, a screenshot."""

    state: dict[str, Any]
    layers: list[dict[str, Any]]
    errors: list[str]
    screenshot: bytes
    #: the same view with every layer hidden: what the viewer draws without the state's data
    empty: bytes


def is_viewer_own_noise(message: str, viewer_origin: str) -> bool:
    """neuroglancer's Python server has no favicon; the browser's 404 for it is not the state's."""
    return message.endswith(f"{viewer_origin}/favicon.ico")


def open_in_chromium(
    state: Mapping[str, Any],
    *,
    tokens: Mapping[str, str],
    chromium_args: Sequence[str] = (),
    timeout: float = 90.0,
    settle: float = 2.0,
) -> Opened:
    """Serve ``state`` with neuroglancer's own client, load it in headless Chromium, and report.

    Starts neuroglancer's Python server and one Chromium, and stops both before returning
    (whatever happens). Waits (at most ``timeout`` s) until the viewer is ready, lets it draw
    for ``settle`` s, then reads its state and console and takes a screenshot.
    """
    from _cdp import Chromium

    with NeuroglancerServer(tokens) as server, Chromium(chromium_args, timeout=timeout) as browser:
        url = server.open(state)
        origin = url.split("/v/", 1)[0]
        page = browser.new_page()
        page.navigate(url)
        try:
            page.wait_for(READY_JS, timeout=timeout)
        except TimeoutError as exc:
            report = page.evaluate(LAYER_REPORT_JS) if page.evaluate("!!window.viewer") else None
            raise TimeoutError(f"{exc}; layers: {report}; errors: {page.console_errors()}") from exc
        browser.pump(settle)
        page.wait_for(READY_JS, timeout=timeout)
        own_state = json.loads(page.evaluate("JSON.stringify(window.viewer.state.toJSON())"))
        layers = page.evaluate(LAYER_REPORT_JS)
        shot = page.screenshot()
        errors = [e for e in page.console_errors() if not is_viewer_own_noise(e, origin)]
        page.evaluate("window.viewer.layerManager.managedLayers.forEach(m => m.setVisible(false))")
        browser.pump(settle)
        empty = page.screenshot()
    return Opened(own_state, layers, errors, shot, empty)
