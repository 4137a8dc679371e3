"""The director's cue / take / panic / refresh over HTTP on every graphics page in Chromium, and
the template calls a CasparCG host makes: the studio under uvicorn with its Redis, on the demo
script (no engine: nothing here runs a stage; the graphics with the show running are
test_graphics.py's). Screenshots land in tests/artifacts/graphic-*.png.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis.asyncio as aioredis

from core import events as ev
from core.graphics import GRAPHICS
from store.event_log import EventLog

from .graphics_kit import (
    PAGE,
    SAMPLES,
    alpha,
    corners_clear,
    graphics_studio,
    pages_fixture,  # noqa: F401  (the fixture `pages`)
    save,
    text_of,
    wait_shown,
)
from .studio_harness import LiveStudio, engineless_pool

# What update() changes on each page (template-call test).
UPDATES = {
    "duel": ({"title": "Semi final"}, "[data-testid=stage-title]", "Semi final"),
    "question": ({"label": "Bonus question"}, "[data-testid=question-number]", "Bonus question"),
    "radar": ({"title": "Speed radar"}, "[data-testid=rd-title]", "Speed radar"),
    "leaderboard": ({"title": "Standings"}, "[data-testid=lb-title]", "Standings"),
    "lower_third": ({"name": "Ada L."}, "[data-testid=lt-name]", "Ada L."),
    "title_card": ({"title": "Final round"}, "[data-testid=tc-title]", "Final round"),
    "vote_bars": ({"question": "Best haiku?"}, "[data-testid=vb-question]", "Best haiku?"),
    "image_poem": ({"question": "Which poem wins?"}, "[data-testid=ip-question]", "Which poem wins?"),
    "subtitles": ({"title": "Subtitles"}, "[data-testid=sb-title]", "Subtitles"),
    "path": ({"title": "Road not taken"}, "[data-testid=gp-title]", "Road not taken"),
    "attention": ({"title": "Looking back"}, "[data-testid=at-title]", "Looking back"),
    "training": ({"subtitle": "Extreme challenge"}, "[data-testid=tr-subtitle]", "Extreme challenge"),
    "end_card": ({"subtitle": "Thanks for watching"}, "[data-testid=end-subtitle]", "Thanks for watching"),
}
HOSTILE = ["<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=1">']


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with graphics_studio(tmp_path_factory, pool=engineless_pool()) as env:
        yield env


def inject(live: LiveStudio, event: ev.Event) -> None:
    """Append an event to the show's log from outside the studio, as a stage would publish it."""

    async def append() -> None:
        client = aioredis.Redis.from_url(os.environ.get("REDIS_URL") or live.studio.redis_server.url)
        try:
            await EventLog(client, live.studio.script.show.id).append(event, ev.ON_AIR)
        finally:
            await client.aclose()

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
        pool.submit(lambda: asyncio.run(append())).result(timeout=30)


@pytest.mark.parametrize("graphic", list(GRAPHICS))
def test_a_cue_changes_preview_only_and_a_take_puts_it_on_program(env, pages, graphic):
    data, testid, expected = SAMPLES[graphic]
    if graphic == "duel":  # on air by default: start from off
        env.off_air("duel")
    program, preview = pages(graphic, "program"), pages(graphic, "preview")
    wait_shown(program, False)
    wait_shown(preview, False)
    assert program.query_selector("[data-testid=output-indicator]") is None  # never on program
    assert "PREVIEW" in text_of(preview, "output-indicator")

    env.cue(graphic, data=data)
    wait_shown(preview, True)
    assert text_of(preview, testid) == expected
    program.wait_for_timeout(500)
    assert not program.evaluate("() => gavelGraphic.visible")
    assert alpha(program).getextrema()[1] == 0  # program unchanged until the take

    env.take()
    image = wait_shown(program, True)
    assert text_of(program, testid) == expected
    assert corners_clear(image)  # transparent where nothing is drawn
    if graphic in ("lower_third", "title_card"):
        save(program, PAGE[graphic].removesuffix(".html"))
        save(preview, f"{PAGE[graphic].removesuffix('.html')}-preview")

    env.off_air(graphic)
    wait_shown(program, False)
    wait_shown(preview, False)
    if graphic == "duel":
        env.cue("duel")
        env.take()


@pytest.mark.parametrize("graphic", list(GRAPHICS))
def test_template_calls_drive_a_graphic_in_manual_mode(env, pages, graphic):
    data, testid, expected = SAMPLES[graphic]
    (change, changed_id, changed_text) = UPDATES[graphic]
    env.cue(graphic, data=data)
    env.take()
    page = pages(graphic, "program", "&manual=1")
    page.wait_for_timeout(300)
    wait_shown(page, False)  # on air on the server, but CasparCG has not played it

    page.evaluate("(d) => update(d)", change)  # before play: safe
    page.evaluate("(d) => update(JSON.stringify(d))", change)  # and repeatable (a JSON string, too)
    assert text_of(page, changed_id) == changed_text
    page.evaluate("() => play()")
    wait_shown(page, True)
    assert text_of(page, changed_id) == changed_text
    page.evaluate("(d) => update(d)", {k: None for k in change})  # null drops the override
    assert text_of(page, testid) == expected

    if graphic == "vote_bars":
        assert page.query_selector(".vb-row.winner") is None
        page.evaluate("() => next()")
        assert text_of(page, "vb-state") == "Result"
        assert page.get_attribute(".vb-row.winner", "data-testid") == "vb-option-0"
        save(page, "vote-bars")
    else:
        page.evaluate("() => next()")  # no step, or the duel's view toggle: nothing breaks
    page.evaluate("() => stop()")
    wait_shown(page, False)
    page.evaluate("() => play()")
    wait_shown(page, True)

    page.evaluate("() => remove()")
    assert page.evaluate("() => __gavel.client.status") == "closed"
    assert not page.evaluate("() => __gavel.connected")
    seq = page.evaluate("() => __gavel.lastSeq")
    env.off_air(graphic)
    page.wait_for_timeout(500)
    assert page.evaluate("() => __gavel.lastSeq") == seq  # the socket is gone for good
    if graphic == "duel":
        env.cue("duel")
        env.take()


def test_update_merges_over_the_cued_data(env, pages):
    env.cue("lower_third", data={"contestant": "bao"})
    env.take()
    page = pages("lower_third")
    wait_shown(page, True)
    page.evaluate("() => update({name: 'B. the Abacist'})")
    assert (text_of(page, "lt-name"), text_of(page, "lt-team")) == ("B. the Abacist", "Team Abacus")
    env.cue("lower_third", data={"contestant": "ada"})  # a new cue under the operator's name
    env.take()
    page.wait_for_function("() => document.querySelector('[data-testid=lt-team]').textContent === 'Team Lovelace'")
    assert text_of(page, "lt-name") == "B. the Abacist"
    env.off_air("lower_third")


def test_leaderboard_rows_slide_to_their_new_ranks_with_a_delta_badge(env, pages):
    rows = [
        {"contestant": "ada", "score": 5, "detail": "83% · 1.03 s"},
        {"contestant": "bao", "score": 3, "detail": "50% · 1.68 s"},
        {"contestant": "cyd", "name": "Cyd", "score": 1, "detail": "17% · 2.40 s"},
    ]
    env.cue("leaderboard", data={"rows": rows})
    env.take()
    page = pages("leaderboard")
    wait_shown(page, True)
    order = "() => [...document.querySelectorAll('.lb-row')].sort((a, b) => a.offsetTop - b.offsetTop).map(r => r.dataset.contestant)"
    assert page.evaluate(order) == ["ada", "bao", "cyd"]
    assert page.query_selector_all(".lb-delta.up, .lb-delta.down") == []

    rows[1]["score"], rows[2]["score"] = 7, 6  # bao first, cyd second, ada third
    env.cue("leaderboard", data={"rows": rows})
    env.take()
    page.wait_for_function("() => document.querySelector('[data-contestant=bao] .lb-rank').textContent === '1'")
    sliding = page.evaluate(
        "() => [...document.querySelectorAll('.lb-row')].filter(r => r.getAnimations()"
        ".some(a => !(a instanceof CSSAnimation) && !(a instanceof CSSTransition))).map(r => r.dataset.contestant)"
    )
    assert set(sliding) == {"ada", "bao", "cyd"}  # every row moved, every row slides (FLIP)
    assert page.evaluate(order) == ["bao", "cyd", "ada"]
    badges = {c: text_of(page, f".lb-row[data-contestant={c}] .lb-delta") for c in ("ada", "bao", "cyd")}
    assert badges == {"bao": "▲1", "cyd": "▲1", "ada": "▼2"}
    wait_shown(page, True)  # slides settled
    save(page, "leaderboard")
    env.off_air("leaderboard")


def test_panic_clears_every_graphic_on_both_outputs_at_once(env, pages):
    opened = {(g, ch): pages(g, ch) for g in GRAPHICS for ch in ("program", "preview")}
    for graphic in GRAPHICS:
        env.cue(graphic, data=SAMPLES[graphic][0])
    env.take()
    for page in opened.values():
        page.wait_for_function("() => gavelGraphic.visible", timeout=30_000)

    result = env.command("panic")
    assert result["changed"] is True
    for page in opened.values():
        page.wait_for_function("() => !gavelGraphic.visible && document.getElementById('stage').classList.contains('cut')", timeout=5_000)
    for page in opened.values():
        assert alpha(page).getextrema()[1] == 0  # no fade-out: clear at once
    assert all(g["visible"] is False for out in env.live.state()["graphics"].values() for g in out.values())
    assert env.command("panic")["changed"] is False  # nothing was on
    env.cue("duel")
    env.take()


def test_text_from_cues_and_models_shows_as_text_and_runs_nothing(env, pages):
    script, img = HOSTILE
    cues = {
        "lower_third": ({"name": script, "team": img, "model": img}, {"lt-name": script, "lt-team": img, "lt-model": img}),
        "title_card": ({"title": img, "subtitle": script}, {"tc-title": img, "tc-subtitle": script}),
        "vote_bars": ({"question": script, "options": [{"id": "x", "label": img, "votes": 1}]}, {"vb-question": script}),
        "leaderboard": ({"rows": [{"contestant": "x", "name": img, "score": 1, "detail": script}]}, {}),
        "question": ({"text": img, "choices": [script]}, {"question-text": img}),
    }
    opened = {g: pages(g) for g in [*cues, "duel"]}
    for graphic, (data, _) in cues.items():
        env.cue(graphic, data=data)
    env.take()
    inject(env.live, ev.AnswerToken(data=ev.AnswerTokenData(question_id="injected", contestant="ada", index=1, text=img + script)))

    opened["duel"].wait_for_function("() => document.querySelector('[data-testid=answer-text-ada]').textContent.length > 0")
    for graphic, page in opened.items():
        wait_shown(page, True)
        page.wait_for_timeout(300)  # an onerror handler would have fired by now
        assert page.evaluate("() => window.__pwned") is None, graphic
        assert page.query_selector_all("#stage img, #stage script") == [], graphic
        for testid, text in cues.get(graphic, ({}, {}))[1].items():
            assert text_of(page, testid) == text
    assert opened["vote_bars"].text_content(".vb-label") == img
    assert opened["leaderboard"].text_content(".lb-name") == img
    assert opened["question"].text_content("[data-testid=choice-0] .ch-text") == script
    assert text_of(opened["duel"], "answer-text-ada") == img + script
    env.off_air(*cues)


def test_refresh_reloads_the_pages_it_names_once(env, pages):
    lower, title = pages("lower_third"), pages("title_card")
    loads = {"lower": 0, "title": 0}
    lower.on("load", lambda: loads.__setitem__("lower", loads["lower"] + 1))
    title.on("load", lambda: loads.__setitem__("title", loads["title"] + 1))

    with lower.expect_event("load", timeout=30_000):
        env.command("refresh", target="lower_third")
    lower.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
    with title.expect_event("load", timeout=30_000):
        env.command("refresh", target=title.evaluate("() => __gavel.client.clientId"))
    title.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
    later = pages("lower_third")  # a new page replays both refreshes: old news, no reload
    later_loads = []
    later.on("load", lambda: later_loads.append(1))
    lower.wait_for_timeout(2_000)  # the reloaded pages replayed the refreshes too
    assert loads == {"lower": 1, "title": 1}
    assert later_loads == []
    assert lower.evaluate("() => __gavel.events.filter(e => e.type === 'graphics.refresh').length") == 2

    with lower.expect_event("load"), title.expect_event("load"), later.expect_event("load"):
        env.command("refresh", target="all")
