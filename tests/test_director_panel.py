"""The director's panel (studio/server/static/director.html and director/*.js) running a show from
the keyboard, in real Chromium against a real studio (tests/panel_kit.py: the demo show on the real
vLLM engine, on CPU): the rundown, contestants and engine health; a digit cues a graphic and a held
Space takes it once; Esc is panic; a held Enter starts the show once; P pauses and resumes; Enter
while a stage runs is refused; S S skips; the cards match the studio; the command log shows every
command. One show per module; the tests are steps of it, in file order.
"""

from __future__ import annotations

from playwright.sync_api import expect

from core.graphics import GRAPHICS

from . import panel_kit
from .panel_kit import api_status, director_commands, events_of, hold, shot, wait_api, wait_for_commands

# The module's fixtures (module-scoped: this module runs its own show, in file order).
studio, browser, panel = panel_kit.studio, panel_kit.browser, panel_kit.panel


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
