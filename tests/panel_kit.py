"""What the director panel's tests share (tests/test_director_panel.py, the show driven from the
keys; tests/test_director_panel_link.py, the panel's link to the studio): a real studio running the
demo show on the real vLLM engine (CPU), real Redis, uvicorn, with the panel in real Chromium.

The panel is loaded through a small TCP proxy in front of the studio so a test can cut the
panel's network (every socket dropped, new ones refused) and restore it, while the studio and
the show carry on. The fixtures are module-scoped: each test module that imports them runs its
own show, and its tests are steps of it, in file order.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"


class CuttableProxy:
    """TCP proxy to the studio. ``cut()`` drops every connection and refuses new ones (as a
    pulled cable would, seen from the browser) until ``restore()``."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.is_cut = False
        self.closed = False
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True).start()

    def _accept_loop(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.is_cut:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self) -> None:
        self.is_cut = True
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            self._drop(s)

    def restore(self) -> None:
        self.is_cut = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    studio = Studio(load_script(DEMO), tmp_path_factory.mktemp("director-data"))
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveStudio(studio) as live:
        proxy = CuttableProxy(live.port)
        live.wait_for_engines()
        yield live, proxy
        proxy.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def panel(studio, browser):
    live, proxy = studio
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{proxy.base}/director#token={live.director_token}")
    wait_in_sync(page)
    yield page
    assert not errors, errors
    context.close()


# -- helpers -------------------------------------------------------------------------------------


def wait_in_sync(page, timeout: float = 30_000) -> None:
    page.wait_for_function("() => window.__director && window.__director.canOperate()", timeout=timeout)


def director_commands(page, name: str | None = None) -> list[dict]:
    return page.evaluate(
        "name => window.__gavel.events.filter(e => e.type === 'director.command' && (!name || e.data.command === name)).map(e => e.data)",
        name,
    )


def events_of(page, kind: str) -> list[dict]:
    return page.evaluate("kind => window.__gavel.events.filter(e => e.type === kind)", kind)


def wait_for_commands(page, name: str, count: int, timeout: float = 15_000, settle: bool = True) -> list[dict]:
    page.wait_for_function(
        "([name, n]) => window.__gavel.events.filter(e => e.type === 'director.command' && e.data.command === name).length >= n",
        arg=[name, count],
        timeout=timeout,
    )
    if settle:
        page.wait_for_timeout(600)  # room for a (wrong) second command to show up before counting
    return director_commands(page, name)


def hold(page, key: str, repeats: int = 6) -> None:
    """Hold a key down: the first keydown is a press, the rest arrive with event.repeat = true."""
    for _ in range(repeats):
        page.keyboard.down(key)
        page.wait_for_timeout(40)
    page.keyboard.up(key)


def api_status(live: LiveStudio) -> str:
    return live.state()["show"]["status"]


def wait_api(live: LiveStudio, predicate, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = live.state()
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"studio state never matched: {json.dumps(state)[:400]}")
        time.sleep(0.1)


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"director-{name}.png"
    page.screenshot(path=str(path))
    return path
