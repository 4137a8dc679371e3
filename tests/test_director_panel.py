"""The director's panel (studio/server/static/director.html), driven from the keyboard in real Chromium
against a real studio: the demo show on the real vLLM engine (CPU), real Redis, uvicorn.

The panel is loaded through a small TCP proxy in front of the studio so a test can cut the
panel's network (every socket dropped, new ones refused) and restore it, while the studio and
the show carry on. One show is run per module; the tests are steps of it, in file order.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from websockets.sync.client import connect

from core.events import frame_events
from core.graphics import GRAPHICS
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"
MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'


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


# -- the tests, in show order ------------------------------------------------------------------


def test_without_a_token_the_panel_asks_for_one_and_refuses_a_wrong_one(studio, browser):
    live, proxy = studio
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(f"{proxy.base}/director")
    expect(page.get_by_test_id("auth")).to_be_visible()
    shot(page, "token")

    page.get_by_test_id("auth-token").fill("not-the-token")
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("auth")).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("auth-message")).to_contain_text("refused")
    assert page.evaluate("sessionStorage.getItem('gavel.director.token')") is None

    page.get_by_test_id("auth-token").fill(live.director_token)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("auth")).to_be_hidden()
    wait_in_sync(page)
    assert page.evaluate("sessionStorage.getItem('gavel.director.token')") == live.director_token
    context.close()


def test_a_token_in_the_url_is_kept_for_the_tab_and_removed_from_the_address(panel, studio):
    live, _ = studio
    assert "token" not in panel.url
    assert panel.evaluate("sessionStorage.getItem('gavel.director.token')") == live.director_token
    panel.reload()
    wait_in_sync(panel)  # the reloaded tab still has its token


def test_the_graphics_list_mirrors_the_studio_catalogue(panel):
    known = panel.evaluate("window.__director.knownGraphics")
    assert list(known) == list(GRAPHICS)
    assert known == {name: what for name, (_page, what) in GRAPHICS.items()}
    rows = panel.locator("#gfx tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert rows[: len(GRAPHICS)] == list(GRAPHICS)


def test_the_panel_shows_the_rundown_contestants_and_engine_health(panel, studio):
    live, _ = studio
    state = live.state()
    expect(panel.get_by_test_id("show-title")).to_have_text(state["show"]["title"])
    expect(panel.get_by_test_id("show-status")).to_have_attribute("data-status", "idle")
    for stage in state["stages"]:
        expect(panel.get_by_test_id(f"stage-{stage['index']}")).to_contain_text(stage["title"])
    for contestant in state["contestants"]:
        expect(panel.get_by_test_id(f"contestant-{contestant['id']}")).to_contain_text(contestant["name"])
    for engine, healthy in state["engines"].items():
        assert healthy
        expect(panel.get_by_test_id(f"engine-{engine}")).to_contain_text("healthy", timeout=5_000)
    (only_engine,) = state["engines"]  # the demo runs every contestant on one engine
    for contestant in state["contestants"]:
        expect(panel.get_by_test_id(f"engine-of-{contestant['id']}")).to_have_text(f"engine {only_engine}: healthy")


def test_a_digit_cues_a_graphic_on_preview_and_a_held_space_takes_it_once(panel, studio):
    live, _ = studio
    row = panel.get_by_test_id("graphic-question")
    expect(row).to_have_attribute("data-preview", "off")
    panel.keyboard.press("2")  # the second graphic in the catalogue: question
    expect(row).to_have_attribute("data-preview", "on")
    expect(row).to_have_attribute("data-program", "off")
    expect(row).to_have_attribute("data-diff", "true")  # TAKE would change it
    cues = wait_for_commands(panel, "cue", 1)
    assert cues[-1]["args"]["graphic"] == "question" and cues[-1]["accepted"]
    shot(panel, "cued")

    hold(panel, "Space")
    takes = wait_for_commands(panel, "take", 1)
    assert len(takes) == 1, takes  # a held key is one press
    expect(row).to_have_attribute("data-program", "on")
    assert live.state()["graphics"]["program"]["question"]["visible"] is True
    assert events_of(panel, "graphics.taken")[-1]["data"]["graphics"]["question"]["visible"] is True


def test_markup_in_graphic_data_is_shown_as_text_and_runs_nothing(panel, studio):
    live, _ = studio
    panel.get_by_test_id("edit-lower_third").click()
    panel.get_by_test_id("editor-text").fill(json.dumps({"name": MARKUP, "team": "Team <i>Lovelace</i>"}))
    panel.get_by_test_id("editor-cue").click()
    cell = panel.get_by_test_id("pvw-data-lower_third")
    expect(cell).to_contain_text("<script>window.__pwned=2</script>")
    assert live.state()["graphics"]["preview"]["lower_third"]["data"]["name"] == MARKUP
    panel.wait_for_timeout(300)
    assert panel.evaluate("window.__pwned") is None
    assert panel.locator("#gfx img, #gfx script, #gfx b, #gfx i, #log img, #log script").count() == 0
    expect(panel.get_by_test_id("log")).to_contain_text("<img src=x")


def test_esc_is_panic_and_takes_every_graphic_out(panel, studio):
    live, _ = studio
    before = len(events_of(panel, "graphics.cleared"))
    hold(panel, "Escape", repeats=3)
    panics = wait_for_commands(panel, "panic", 1)
    assert len(panics) == 1 and panics[0]["accepted"]
    assert len(events_of(panel, "graphics.cleared")) == before + 1
    for name in GRAPHICS:
        expect(panel.get_by_test_id(f"graphic-{name}")).to_have_attribute("data-program", "off")
        expect(panel.get_by_test_id(f"graphic-{name}")).to_have_attribute("data-preview", "off")
    state = live.state()
    assert not any(g["visible"] for output in state["graphics"].values() for g in output.values())


def test_a_held_enter_starts_the_show_once_and_the_rundown_highlights_the_running_stage(panel, studio):
    live, _ = studio
    hold(panel, "Enter")
    wait_for_commands(panel, "start", 1, settle=False)
    stage = panel.get_by_test_id("stage-0")
    expect(stage).to_have_attribute("data-current", "true")
    expect(stage).to_have_attribute("data-status", "running")
    # The contestants' cards follow the tokens as they stream.
    panel.wait_for_function(
        "() => Object.values(window.__gavel.client.state.answers).some(a => a.status === 'streaming' && a.tokens > 0)",
        timeout=60_000,
    )
    expect(panel.locator(".card[data-status=streaming]").first).to_be_visible()
    shot(panel, "streaming")
    # Pause straight away: the demo show is short, and the next tests need it held.
    hold(panel, "p")
    pauses = wait_for_commands(panel, "pause", 1)
    assert len(pauses) == 1 and pauses[0]["accepted"], pauses
    starts = director_commands(panel, "start")
    assert len(starts) == 1 and starts[0]["accepted"], starts  # held for 6 keydowns: one command
    assert api_status(live) == "paused"
    assert [e["data"]["status"] for e in events_of(panel, "show.status")] == ["running", "paused"]


def test_p_pauses_and_resumes(panel, studio):
    live, _ = studio
    assert api_status(live) == "paused"
    expect(panel.get_by_test_id("show-status")).to_have_attribute("data-status", "paused")
    expect(panel.get_by_test_id("btn-pause")).to_have_attribute("data-mode", "resume")

    panel.keyboard.press("p")
    resumes = wait_for_commands(panel, "resume", 1, settle=False)
    assert resumes[0]["accepted"]
    assert api_status(live) == "running"
    panel.keyboard.press("p")  # and hold again at once: the demo's questions take a second or two
    wait_for_commands(panel, "pause", 2)
    assert api_status(live) == "paused"
    assert len(director_commands(panel, "resume")) == 1
    assert [e["data"]["status"] for e in events_of(panel, "show.status")] == ["running", "paused", "running", "paused"]


def test_enter_while_a_stage_runs_is_refused_and_the_log_says_why(panel, studio):
    live, _ = studio
    wait_api(live, lambda s: s["stages"][0]["status"] == "running")
    panel.keyboard.press("Enter")
    nexts = wait_for_commands(panel, "next", 1)
    assert nexts[-1]["accepted"] is False and "still running" in nexts[-1]["reason"]
    refused = panel.locator('[data-testid=log-row][data-command="next"]').first
    expect(refused).to_have_attribute("data-phase", "refused")
    expect(refused).to_contain_text("REFUSED")
    expect(refused).to_contain_text("still running")


def test_s_asks_for_a_second_s_then_skips_the_stage(panel, studio):
    live, _ = studio
    panel.keyboard.press("s")
    expect(panel.get_by_test_id("armed")).to_be_visible()
    expect(panel.get_by_test_id("armed")).to_contain_text("SKIP")
    expect(panel.get_by_test_id("btn-skip")).to_have_attribute("data-armed", "true")
    shot(panel, "paused-skip-armed")
    panel.wait_for_timeout(2300)  # the confirmation window passes: nothing is sent
    expect(panel.get_by_test_id("armed")).to_be_hidden()
    assert director_commands(panel, "skip") == []

    panel.keyboard.press("s")
    panel.keyboard.press("s")
    skips = wait_for_commands(panel, "skip", 1)
    assert len(skips) == 1 and skips[0]["accepted"]
    expect(panel.get_by_test_id("stage-0")).to_have_attribute("data-status", "skipped")
    state = wait_api(live, lambda s: s["show"]["status"] == "completed")
    assert state["stages"][0]["status"] == "skipped"
    expect(panel.get_by_test_id("show-status")).to_have_attribute("data-status", "completed")


def test_contestant_cards_match_the_studio_state(panel, studio):
    live, _ = studio
    state = live.state()
    panel.wait_for_timeout(300)
    for cid, answer in state["answers"].items():
        card = panel.get_by_test_id(f"contestant-{cid}")
        expect(card).to_have_attribute("data-status", answer["status"])
        expect(panel.get_by_test_id(f"tokens-{cid}")).to_have_text(str(answer["tokens"]))
        assert panel.get_by_test_id(f"answer-{cid}").text_content() == answer["text"]
    shot(panel, "completed")


def test_the_command_log_shows_every_command_with_who_and_the_outcome(panel):
    rows = panel.locator("[data-testid=log-row]").evaluate_all(
        "rows => rows.map(r => ({command: r.dataset.command, phase: r.dataset.phase, text: r.textContent}))"
    )
    seen = {(r["command"], r["phase"]) for r in rows}
    for command in ("cue", "take", "panic", "start", "pause", "resume", "skip"):
        assert (command, "accepted") in seen, (command, rows)
    assert ("next", "refused") in seen
    assert all("this panel" in r["text"] for r in rows)  # every command here was sent from it
    assert not any(r["phase"] == "sent" for r in rows)  # all settled by their events
    # One command_id per press, each answered by exactly one event.
    ids = [c["command_id"] for c in director_commands(panel)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(panel.evaluate("window.__director.sentIds()"))


def test_a_command_shows_sent_until_its_event_and_a_lost_request_is_retried_with_its_id(panel, studio):
    live, _ = studio
    seen: list[str] = []
    held = []

    def flaky_network(route):
        seen.append(json.loads(route.request.post_data)["command_id"])
        if len(seen) == 1:
            route.abort("connectionreset")  # the first try is lost on the way
        else:
            held.append(route)  # the retry hangs until the test lets it through

    panel.route("**/api/command", flaky_network)
    try:
        panel.keyboard.press("7")  # vote_bars on preview
        newest = panel.locator("[data-testid=log-row]").first
        expect(newest).to_have_attribute("data-command", "cue")
        expect(newest).to_have_attribute("data-phase", "sent")
        expect(newest).to_contain_text("SENT…")
        deadline = time.monotonic() + 10
        while not held:
            assert time.monotonic() < deadline, seen
            panel.wait_for_timeout(50)
        expect(panel.get_by_test_id("pending")).to_contain_text("sent…")
        expect(panel.get_by_test_id("cue-on-vote_bars")).to_have_attribute("data-pending", "true")
        expect(panel.get_by_test_id("graphic-vote_bars")).to_have_attribute("data-preview", "off")  # not yet true
        held[0].continue_()
        expect(newest).to_have_attribute("data-phase", "accepted")
        expect(panel.get_by_test_id("graphic-vote_bars")).to_have_attribute("data-preview", "on")
    finally:
        panel.unroute("**/api/command")
    assert len(seen) == 2 and seen[0] == seen[1]  # one press, one command_id, however many tries
    assert [c["command_id"] for c in director_commands(panel, "cue")].count(seen[0]) == 1
    assert live.state()["graphics"]["preview"]["vote_bars"]["visible"] is True


def test_the_registry_flags_stale_graphics_pages_and_refreshes_one(panel, studio):
    live, _ = studio
    version = httpx.get(f"{live.base}/overlays/version.json").json()["version"]
    # Two graphics pages as the shared client connects them; max_queue=None: an undrained socket
    # must not stall its own close.
    with (
        connect(
            f"{live.ws_base}/ws/program?since=0&graphic=duel&version=0ld&client=old-page&token={live.graphics_token}", max_queue=None
        ) as old,
        connect(
            f"{live.ws_base}/ws/preview?since=0&graphic=question&version={version}&client=new-page&token={live.graphics_token}",
            max_queue=None,
        ),
    ):
        old_row, new_row = panel.get_by_test_id("client-old-page"), panel.get_by_test_id("client-new-page")
        expect(old_row).to_have_attribute("data-stale", "true")
        expect(old_row).to_contain_text("STALE")
        expect(old_row).to_contain_text("program")
        expect(new_row).to_have_attribute("data-stale", "false")
        expect(new_row).to_contain_text("preview")
        shot(panel, "registry")
        panel.get_by_test_id("refresh-old-page").click()
        refreshes = wait_for_commands(panel, "refresh", 1)
        assert refreshes[-1]["args"] == {"target": "old-page"} and refreshes[-1]["accepted"]
        deadline = time.monotonic() + 15
        refresh = None
        while refresh is None:  # the page itself is told to reload
            for event in frame_events(old.recv(timeout=max(0.1, deadline - time.monotonic()))):
                if event["type"] == "graphics.refresh":
                    refresh = event
        assert refresh["data"]["target"] == "old-page"
    expect(panel.get_by_test_id("client-old-page")).to_have_count(0)  # gone when the page went


def test_f1_shows_every_shortcut(panel):
    panel.keyboard.press("F1")
    help_box = panel.get_by_test_id("help")
    expect(help_box).to_be_visible()
    for key in ("Enter", "Space", "Esc", "P", "S", "X", "F1", "↑"):
        expect(help_box).to_contain_text(key)
    shot(panel, "help")
    panel.keyboard.press("F1")
    expect(help_box).to_be_hidden()


def test_a_cut_socket_locks_the_panel_until_it_has_reconnected_and_resynced(panel, studio):
    live, proxy = studio
    controls = ["btn-go", "btn-pause", "btn-skip", "btn-abort", "btn-take", "btn-panic", "cue-on-duel", "refresh-all"]
    for testid in controls:
        expect(panel.get_by_test_id(testid)).to_be_enabled()

    proxy.cut()
    banner = panel.get_by_test_id("banner")
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_have_attribute("data-state", "disconnected")
    expect(banner).to_contain_text("DISCONNECTED")
    for testid in controls:
        expect(panel.get_by_test_id(testid)).to_be_disabled()
    takes_before = len(director_commands(panel, "take"))
    panel.keyboard.press("Space")  # a key on a locked panel sends nothing, and says so
    expect(panel.get_by_test_id("flash")).to_contain_text("LOCKED")
    # The show moves on while the panel is away: a cue from the control API (Companion, say).
    response = httpx.post(
        f"{live.base}/api/command",
        json={"command": "cue", "command_id": "companion-1", "args": {"graphic": "title_card", "data": {"title": "Finale"}}},
        headers={"Authorization": f"Bearer {live.director_token}"},
    )
    assert response.status_code == 200 and response.json()["changed"] is True
    panel.wait_for_timeout(1500)
    expect(panel.get_by_test_id("graphic-title_card")).to_have_attribute("data-preview", "off")  # not seen yet
    shot(panel, "disconnected")

    # Record what the panel showed at the moment its controls came back.
    panel.evaluate(
        """() => {
          const take = document.querySelector('[data-testid=btn-take]');
          new MutationObserver((_, observer) => {
            if (take.disabled) return;
            window.__unlockedWith = document.querySelector('[data-testid=graphic-title_card]').dataset.preview;
            observer.disconnect();
          }).observe(take, {attributes: true, attributeFilter: ['disabled']});
        }"""
    )
    proxy.restore()
    expect(banner).to_be_hidden(timeout=20_000)
    for testid in controls:
        expect(panel.get_by_test_id(testid)).to_be_enabled()
    # In sync again: what happened while away was already on screen when the controls unlocked.
    assert panel.evaluate("window.__unlockedWith") == "on"
    expect(panel.get_by_test_id("log")).to_contain_text("title_card on")
    assert panel.evaluate("window.__gavel.reconnects") >= 1
    assert len(director_commands(panel, "take")) == takes_before
    seqs = panel.evaluate("window.__gavel.events.map(e => e.seq)")
    assert seqs == list(range(1, len(seqs) + 1))  # nothing missed, nothing twice
    panel.keyboard.press("Space")  # and the keys work again
    assert wait_for_commands(panel, "take", takes_before + 1)[-1]["accepted"]
