"""The director's panel (studio/server/static/director.html and director/*.js) and its link to
the studio, in real Chromium against a real studio (tests/panel_kit.py: the demo show on the real
vLLM engine, on CPU): the token (asked for, kept for the tab, off the address bar), the graphics
catalogue, markup in graphic data shown as text, a command shown "sent…" until its event and
retried with its id, the registry of graphics pages, F1's help, and a cut socket that locks the
panel until it has reconnected and resynced. One show per module; the tests are steps of it, in
file order.
"""

from __future__ import annotations

import json
import time

import httpx
from playwright.sync_api import expect
from websockets.sync.client import connect

from core.events import frame_events
from core.graphics import GRAPHICS

from . import panel_kit
from .panel_kit import director_commands, shot, wait_for_commands, wait_in_sync

# The module's fixtures (module-scoped: this module runs its own show, in file order).
studio, browser, panel = panel_kit.studio, panel_kit.browser, panel_kit.panel

MARKUP = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'


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
