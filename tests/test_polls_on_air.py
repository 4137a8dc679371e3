"""Polls and the leaderboard on air, end to end on real parts: the studio under uvicorn with its
Redis (no LLM: nothing here runs a stage), the director's panel and the on-air graphics in
Chromium, viewers' votes over HTTP with real device tokens.

One studio per module; the tests are steps of one session, in file order: the director opens a
poll from the panel's form, viewers vote, the counts reach the panel and the vote_bars graphic on
program, the director closes it with an override and reveals it; a second poll closes from the
keyboard; then the leaderboard graphic follows injected leaderboard events.
Screenshots land in tests/artifacts/polls-*.png.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core import events as ev
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"
TITLE = 'Who answered best? <b>bold</b><img src=x onerror="window.__pwned=1">'
HOSTILE_NAME = '<img src=x onerror="window.__pwned=2">'


# ---- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    studio = Studio(load_script(DEMO), tmp_path_factory.mktemp("polls-data"), pool=engineless_pool())
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveStudio(studio) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _track_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture(scope="module")
def panel(live, browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors = _track_errors(page)
    page.goto(f"{live.base}/director#token={live.director_token}")
    page.wait_for_function("() => window.__director && window.__director.canOperate()", timeout=30_000)
    yield page
    assert not errors, errors
    assert page.evaluate("window.__pwned") is None
    context.close()


@pytest.fixture(scope="module")
def program(live, browser):
    """The vote_bars graphic on the program output, as OBS/CasparCG would load it."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors = _track_errors(page)
    page.goto(live.overlay("vote-bars.html?channel=program"))
    page.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
    yield page
    assert not errors, errors
    assert page.evaluate("window.__pwned") is None
    page.close()


def director_commands(page: Page, name: str) -> list[dict]:
    return page.evaluate(
        "name => window.__gavel.events.filter(e => e.type === 'director.command' && e.data.command === name).map(e => e.data)", name
    )


def wait_for_commands(page: Page, name: str, count: int, timeout: float = 15_000) -> list[dict]:
    page.wait_for_function(
        "([name, n]) => window.__gavel.events.filter(e => e.type === 'director.command' && e.data.command === name).length >= n",
        arg=[name, count],
        timeout=timeout,
    )
    return director_commands(page, name)


def events_of(page: Page, kind: str) -> list[dict]:
    return page.evaluate("kind => window.__gavel.events.filter(e => e.type === kind)", kind)


def new_device(live: LiveStudio) -> str:
    response = httpx.post(f"{live.base}/api/audience/device", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def vote(live: LiveStudio, poll: str, token: str, choice: str) -> httpx.Response:
    return httpx.post(
        f"{live.base}/api/polls/{poll}/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def cast(live: LiveStudio, poll: str, ballots: dict[str, int]) -> None:
    for choice, n in ballots.items():
        for _ in range(n):
            response = vote(live, poll, new_device(live), choice)
            assert response.status_code == 200 and response.json()["result"] == "accepted", response.text


def bars(page: Page) -> list[dict]:
    """What the vote_bars page shows, row by row, in screen order."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.vb-row')].map(r => ({
             choice: r.dataset.choice, label: r.querySelector('.vb-label').textContent,
             votes: r.querySelector('.vb-votes').textContent, pct: r.querySelector('.vb-pct').textContent,
             width: Math.round(parseFloat(r.querySelector('.vb-fill').style.width) * 100) / 100, winner: r.classList.contains('winner') }))"""
    )


def wait_votes(page: Page, counts: dict[str, int], timeout: float = 15_000) -> None:
    page.wait_for_function(
        """want => Object.entries(want).every(([c, n]) => {
             const r = document.querySelector(`.vb-row[data-choice="${c}"]`);
             // and the bar is on its way to the new share (its width is set on the next frame)
             return r && r.querySelector('.vb-votes').textContent === String(n)
               && Math.abs(parseFloat(r.querySelector('.vb-fill').style.width || '0') - 100 * Number(r.dataset.share)) < 0.01; })""",
        arg=counts,
        timeout=timeout,
    )


def shot(page: Page, name: str, omit_background: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"polls-{name}.png"), omit_background=omit_background)


def publish(live: LiveStudio, event: ev.Event, channels=ev.EVERYONE) -> None:
    live.call(lambda: live.studio.controller.publish(event, channels=channels))


# ---- the poll, from the panel to program ------------------------------------------------------


def test_the_panel_opens_a_poll_from_its_form_and_says_sent_until_the_studio_confirms(panel, live):
    held = []
    panel.route("**/api/command", lambda route: held.append(route))  # the request waits on the wire
    try:
        panel.keyboard.press("o")  # the poll form takes the keyboard
        assert panel.evaluate("document.activeElement.id") == "poll-title"
        panel.keyboard.type(TITLE)
        panel.keyboard.press("Enter")  # on to the choices
        assert panel.evaluate("document.activeElement.id") == "poll-choices"
        panel.keyboard.type("Ada\nBao\nA tie")
        panel.keyboard.press("Control+Enter")
        sending = panel.get_by_test_id("poll-sending")
        expect(sending).to_contain_text("SENT…")
        expect(panel.get_by_test_id("poll-open")).to_have_attribute("data-pending", "true")
        deadline = time.monotonic() + 10
        while not held:
            assert time.monotonic() < deadline
            panel.wait_for_timeout(50)
        assert events_of(panel, "poll.opened") == []  # nothing is shown as open before the studio says so
        expect(panel.get_by_test_id("poll-p1")).to_have_count(0)
        held[0].continue_()
    finally:
        panel.unroute("**/api/command")

    poll = panel.get_by_test_id("poll-p1")
    expect(poll).to_have_attribute("data-status", "open")
    expect(panel.get_by_test_id("poll-status-p1")).to_have_text("OPEN")
    expect(panel.get_by_test_id("poll-revealed-p1")).to_have_text("not revealed")
    expect(sending).to_have_count(0)
    (opened,) = events_of(panel, "poll.opened")
    assert opened["data"]["poll_id"] == "p1" and opened["data"]["title"] == TITLE
    assert opened["data"]["choices"] == [{"id": "ada", "label": "Ada"}, {"id": "bao", "label": "Bao"}, {"id": "a-tie", "label": "A tie"}]
    assert opened["data"]["kind"] == "choice" and opened["data"]["allow_change"] is False and opened["data"]["closes_ts"] is None
    (command,) = director_commands(panel, "poll_open")
    assert command["accepted"] and command["by"] == "director"
    row = panel.locator('[data-testid=log-row][data-command="poll_open"]').first
    expect(row).to_have_attribute("data-phase", "accepted")
    assert panel.get_by_test_id("poll-title").input_value() == ""  # the form is ready for the next one
    assert panel.locator("#polls img, #polls b, #log img").count() == 0  # the title is text
    expect(poll).to_contain_text(TITLE)
    assert live.state()["polls"]["p1"]["status"] == "open"


def test_votes_reach_the_panel_and_the_vote_bars_on_program(panel, program, live):
    panel.evaluate("document.activeElement && document.activeElement.blur()")
    assert program.evaluate("() => gavelGraphic.visible") is False
    panel.keyboard.press("7")  # vote_bars on preview (its data: none, so it follows the live poll)
    expect(panel.get_by_test_id("graphic-vote_bars")).to_have_attribute("data-preview", "on")
    panel.keyboard.press("Space")  # take
    expect(panel.get_by_test_id("graphic-vote_bars")).to_have_attribute("data-program", "on")
    program.wait_for_function("() => gavelGraphic.visible", timeout=15_000)
    assert program.text_content("[data-testid=vb-question]") == TITLE
    assert program.text_content("[data-testid=vb-state]") == "Live"
    assert [(b["label"], b["votes"], b["pct"]) for b in bars(program)] == [("Ada", "0", "0%"), ("Bao", "0", "0%"), ("A tie", "0", "0%")]

    cast(live, "p1", {"ada": 3, "bao": 2, "a-tie": 1})
    for choice, n, pct in (("ada", 3, "50%"), ("bao", 2, "33%"), ("a-tie", 1, "17%")):
        expect(panel.get_by_test_id(f"poll-count-p1-{choice}")).to_have_text(str(n))
        expect(panel.get_by_test_id(f"poll-pct-p1-{choice}")).to_have_text(pct)
    asof = panel.get_by_test_id("poll-asof-p1")
    expect(asof).to_contain_text("6 votes")
    expect(asof).to_contain_text("(tally)")
    seen = panel.evaluate("window.__director.pollSeen()")["p1"]
    assert seen["type"] == "tally" and f"#{seen['seq']}" in asof.text_content()

    wait_votes(program, {"ada": 3, "bao": 2, "a-tie": 1})
    program.wait_for_timeout(1_200)  # the bars' transitions settle
    shown = bars(program)
    assert [(b["choice"], b["votes"], b["pct"]) for b in shown] == [("ada", "3", "50%"), ("bao", "2", "33%"), ("a-tie", "1", "17%")]
    assert [b["width"] for b in shown] == [50.0, 33.33, 16.67]  # bar lengths, % of the track
    assert not any(b["winner"] for b in shown)  # nothing is decided while the poll is open
    assert program.text_content("[data-testid=vb-total]").startswith("6 votes")
    # Program shows exactly what its tallies said, and the tallies came at most ~4 a second.
    tallies = [e for e in events_of(program, "poll.tally") if e["data"]["poll_id"] == "p1"]
    assert tallies and tallies[-1]["data"]["counts"] == {"ada": 3, "bao": 2, "a-tie": 1} and tallies[-1]["data"]["total"] == 6
    assert all(b["ts"] - a["ts"] >= 0.2 for a, b in zip(tallies, tallies[1:])), [t["ts"] for t in tallies]
    shot(program, "vote-bars-live", omit_background=True)

    # Each tally moves the bars: two more votes for Bao.
    cast(live, "p1", {"bao": 2})
    wait_votes(program, {"ada": 3, "bao": 4, "a-tie": 1})
    assert [(b["pct"], b["width"]) for b in bars(program)] == [("38%", 37.5), ("50%", 50.0), ("13%", 12.5)]
    assert program.evaluate("() => getComputedStyle(document.querySelector('.vb-fill')).transitionDuration") != "0s"
    expect(panel.get_by_test_id("poll-count-p1-bao")).to_have_text("4")
    shot(panel, "panel-live")


def test_close_with_the_directors_pick_shows_closed_and_who_decided(panel, program, live):
    panel.get_by_test_id("poll-winner-p1").select_option("a-tie")  # the audience favours Bao; the director overrides
    panel.get_by_test_id("poll-close-winner-p1").click()
    closes = wait_for_commands(panel, "poll_close", 1)
    assert closes[-1]["accepted"] and closes[-1]["args"] == {"poll": "p1", "winner": "a-tie"}
    poll = panel.get_by_test_id("poll-p1")
    expect(poll).to_have_attribute("data-status", "closed")
    expect(panel.get_by_test_id("poll-status-p1")).to_have_text("CLOSED")
    expect(poll).to_have_attribute("data-decided-by", "director")
    result = panel.get_by_test_id("poll-result-p1")
    expect(result).to_contain_text("winner: A tie")
    expect(result).to_contain_text("decided by the director")
    expect(panel.get_by_test_id("poll-asof-p1")).to_contain_text("final counts")
    expect(panel.get_by_test_id("poll-asof-p1")).to_contain_text("(closed)")
    expect(panel.get_by_test_id("poll-close-p1")).to_be_disabled()
    expect(panel.get_by_test_id("poll-close-winner-p1")).to_be_disabled()
    expect(panel.get_by_test_id("poll-reveal-p1")).to_be_enabled()
    (closed,) = [e for e in events_of(panel, "poll.closed") if e["data"]["poll_id"] == "p1"]
    assert closed["data"]["winner"] == "a-tie" and closed["data"]["decided_by"] == "director"
    assert closed["data"]["counts"] == {"ada": 3, "bao": 4, "a-tie": 1}

    program.wait_for_function("() => document.querySelector('[data-testid=vb-state]').textContent === 'Result'")
    winners = [b["choice"] for b in bars(program) if b["winner"]]
    assert winners == ["a-tie"]
    assert program.get_attribute("[data-testid=vote-bars]", "data-decided-by") == "director"
    assert "director's pick" in program.text_content("[data-testid=vb-total]")
    program.wait_for_timeout(600)
    shot(program, "vote-bars-closed", omit_background=True)

    late = vote(live, "p1", new_device(live), "ada")  # after the close: refused, not counted
    assert late.status_code == 409, late.text
    program.wait_for_timeout(500)
    assert [b["votes"] for b in bars(program)] == ["3", "4", "1"]


def test_v_reveals_the_current_poll_once(panel, live):
    panel.keyboard.press("v")
    reveals = wait_for_commands(panel, "poll_reveal", 1)
    assert reveals[-1]["accepted"] and reveals[-1]["args"] == {"poll": "p1"}
    expect(panel.get_by_test_id("poll-revealed-p1")).to_have_text("REVEALED")
    expect(panel.get_by_test_id("poll-p1")).to_have_attribute("data-revealed", "true")
    expect(panel.get_by_test_id("poll-reveal-p1")).to_be_disabled()
    assert live.state()["polls"]["p1"]["revealed"] is True
    panel.wait_for_timeout(1_100)  # a fresh press, not a held key
    panel.keyboard.press("v")
    expect(panel.get_by_test_id("flash")).to_contain_text("revealed already")
    panel.wait_for_timeout(500)
    assert len(director_commands(panel, "poll_reveal")) == 1
    shot(panel, "panel-closed")


def test_a_second_poll_follows_on_air_and_l_l_closes_it_for_the_audiences_winner(panel, program, live):
    response = live.post_command("poll_open", {"title": "Rate Bao's answer", "kind": "rating", "allow_change": True})
    assert response.status_code == 200 and response.json()["changed"] is True, response.text
    expect(panel.get_by_test_id("poll-p2")).to_have_attribute("data-status", "open")
    # The graphic's cue named no poll: it follows the current one.
    program.wait_for_function("() => document.querySelector('[data-testid=vote-bars]').dataset.poll === 'p2'")
    assert program.text_content("[data-testid=vb-question]") == "Rate Bao's answer"
    assert [b["label"] for b in bars(program)] == ["★" * n for n in range(1, 6)]
    cast(live, "p2", {"4": 2, "5": 1, "2": 1})
    wait_votes(program, {"1": 0, "2": 1, "3": 0, "4": 2, "5": 1})
    assert "average 3.8 ★" in program.text_content("[data-testid=vb-total]")
    expect(panel.get_by_test_id("poll-count-p2-4")).to_have_text("2")

    panel.keyboard.press("l")
    expect(panel.get_by_test_id("armed")).to_contain_text("CLOSE POLL p2")
    expect(panel.get_by_test_id("poll-close-p2")).to_have_attribute("data-armed", "true")
    assert director_commands(panel, "poll_close")[-1]["args"]["poll"] == "p1"  # nothing sent yet
    panel.keyboard.press("l")
    closes = wait_for_commands(panel, "poll_close", 2)
    assert closes[-1]["accepted"] and closes[-1]["args"] == {"poll": "p2"}
    expect(panel.get_by_test_id("poll-p2")).to_have_attribute("data-decided-by", "audience")
    expect(panel.get_by_test_id("poll-result-p2")).to_contain_text("decided by the audience")
    program.wait_for_function("() => document.querySelector('.vb-row.winner') !== null")
    assert [b["choice"] for b in bars(program) if b["winner"]] == ["4"]

    # A cue can name a poll: the first one comes back on air.
    assert live.post_command("cue", {"graphic": "vote_bars", "visible": True, "data": {"poll": "p1"}}).status_code == 200
    assert live.post_command("take").status_code == 200
    program.wait_for_function("() => document.querySelector('[data-testid=vote-bars]').dataset.poll === 'p1'")
    assert program.text_content("[data-testid=vb-question]") == TITLE
    assert [(b["votes"], b["winner"]) for b in bars(program)] == [("3", False), ("4", False), ("1", True)]
    assert program.query_selector_all("#stage img, #stage b, #stage script") == []


def test_a_poll_form_mistake_is_said_in_the_panel_and_sends_nothing(panel):
    before = len(director_commands(panel, "poll_open"))
    panel.keyboard.press("o")
    panel.keyboard.type("Only one choice?")
    panel.keyboard.press("Enter")
    panel.keyboard.type("Lonely")
    panel.keyboard.press("Control+Enter")
    expect(panel.get_by_test_id("poll-error")).to_contain_text("choices")
    panel.wait_for_timeout(500)
    assert len(director_commands(panel, "poll_open")) == before
    panel.keyboard.press("Escape")  # leaves the field (not a panic: the form had the keyboard)
    assert panel.evaluate("document.activeElement === document.body")
    assert director_commands(panel, "panic") == []
    panel.get_by_test_id("poll-title").fill("")
    panel.get_by_test_id("poll-choices").fill("")
    panel.evaluate("document.activeElement && document.activeElement.blur()")


# ---- the leaderboard ----------------------------------------------------------------------------


def board_row(contestant: str, rank: int, rating: float, elo_delta: float, **dims) -> ev.LeaderboardRow:
    return ev.LeaderboardRow(
        contestant=contestant,
        rank=rank,
        rating=rating,
        dimensions={name: ev.LeaderboardDimension(rating=r, ci_low=r - 40, ci_high=r + 40, matches=m) for name, (r, m) in dims.items()},
        elo=1000 + elo_delta,
        elo_delta=elo_delta,
    )


def leaderboard_rows(page: Page) -> list[list[str]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('.lb-row')].sort((a, b) => a.offsetTop - b.offsetTop)
             .map(r => ['.lb-rank', '.lb-name', '.lb-score', '.lb-delta'].map(s => r.querySelector(s).textContent))"""
    )


def test_the_leaderboard_graphic_follows_leaderboard_events_after_the_scoreboard(panel, live, browser):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors = _track_errors(page)
    page.goto(live.overlay("leaderboard.html?channel=program"))
    page.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
    assert live.post_command("cue", {"graphic": "leaderboard", "visible": True, "data": {}}).status_code == 200
    assert live.post_command("take").status_code == 200
    page.wait_for_function("() => gavelGraphic.visible", timeout=15_000)
    expect(panel.get_by_test_id("board-empty")).to_be_visible()

    # Before any leaderboard event: the show's scoreboard, as before.
    rows = [
        ev.ScoreRow(
            contestant="ada", answered=3, correct=2, accuracy=2 / 3, tokens=40, dnf=0, ttft_median=0.2, tpot_median=0.02, e2e_median=1.1
        ),
        ev.ScoreRow(
            contestant="bao", answered=3, correct=1, accuracy=1 / 3, tokens=30, dnf=0, ttft_median=0.3, tpot_median=0.03, e2e_median=1.4
        ),
    ]
    publish(live, ev.Scoreboard(data=ev.ScoreboardData(stage=0, rows=rows)), channels=ev.ON_AIR)
    page.wait_for_function("() => document.querySelectorAll('.lb-row').length === 2")
    assert [r[:3] for r in leaderboard_rows(page)] == [["1", "Ada", "2"], ["2", "Bao", "1"]]
    assert page.get_attribute("[data-testid=lb-rows]", "data-source") == "scoreboard"

    first = ev.LeaderboardData(
        rows=[
            board_row("bao", 1, 1032.4, 12.5, speed=(1050.0, 3), accuracy=(1020.0, 3)),
            board_row("ada", 2, 967.6, -12.5, speed=(950.0, 3), accuracy=(980.0, 3)),
            board_row(HOSTILE_NAME, 3, 900.0, 0.0, creativity=(900.0, 1)),
        ],
        weights={"speed": 1.0, "accuracy": 2.0},
        matches=6,
        through_seq=99,
    )
    publish(live, ev.Leaderboard(data=first))
    page.wait_for_function("() => document.querySelectorAll('.lb-row').length === 3")
    page.wait_for_function("() => document.querySelector('[data-testid=lb-rows]').dataset.source === 'leaderboard'")
    assert leaderboard_rows(page) == [["1", "Bao", "1032.4", "▲12.5"], ["2", "Ada", "967.6", "▼12.5"], ["3", HOSTILE_NAME, "900.0", ""]]
    assert page.text_content("[data-contestant=bao] .lb-detail") == "SPD 1050 · ACC 1020"
    assert page.query_selector_all("#stage img, #stage script") == []
    page.wait_for_timeout(1_000)
    page.screenshot(path=str(ARTIFACTS / "polls-leaderboard.png"), omit_background=True)

    # The panel shows the same board: rank, name, headline, per-dimension rating with its interval.
    expect(panel.get_by_test_id("board-row-bao")).to_have_attribute("data-rank", "1")
    expect(panel.get_by_test_id("board-row-bao")).to_contain_text("1032.4")
    expect(panel.get_by_test_id("board-row-bao")).to_contain_text("1050 [1010–1090] n3")
    expect(panel.get_by_test_id("board-row-ada")).to_contain_text("▼12.5")
    expect(panel.get_by_test_id("board-aside")).to_contain_text("6 matches")
    assert panel.locator("#board img").count() == 0

    # A new board with the ranks swapped: the rows slide (FLIP) to their new places.
    second = ev.LeaderboardData(
        rows=[
            board_row("ada", 1, 1040.0, 72.4, speed=(1060.0, 4), accuracy=(1030.0, 4)),
            board_row("bao", 2, 1010.0, -22.4, speed=(1000.0, 4), accuracy=(1015.0, 4)),
            board_row(HOSTILE_NAME, 3, 900.0, 0.0, creativity=(900.0, 1)),
        ],
        weights={"speed": 1.0, "accuracy": 2.0},
        matches=8,
        through_seq=120,
    )
    publish(live, ev.Leaderboard(data=second))
    page.wait_for_function("() => document.querySelector('[data-contestant=ada] .lb-rank').textContent === '1'")
    sliding = page.evaluate(
        "() => [...document.querySelectorAll('.lb-row')].filter(r => r.getAnimations()"
        ".some(a => !(a instanceof CSSAnimation) && !(a instanceof CSSTransition))).map(r => r.dataset.contestant)"
    )
    assert set(sliding) == {"ada", "bao"}
    assert leaderboard_rows(page)[:2] == [["1", "Ada", "1040.0", "▲72.4"], ["2", "Bao", "1010.0", "▼22.4"]]
    expect(panel.get_by_test_id("board-row-ada")).to_have_attribute("data-rank", "1")

    # A cue can ask for the scoreboard instead.
    assert live.post_command("cue", {"graphic": "leaderboard", "visible": True, "data": {"source": "scoreboard"}}).status_code == 200
    assert live.post_command("take").status_code == 200
    page.wait_for_function("() => document.querySelector('[data-testid=lb-rows]').dataset.source === 'scoreboard'")
    page.wait_for_function("() => document.querySelectorAll('.lb-row').length === 2")
    assert [r[:3] for r in leaderboard_rows(page)] == [["1", "Ada", "2"], ["2", "Bao", "1"]]
    assert page.evaluate("window.__pwned") is None and not errors, errors
    page.close()


def test_the_panel_counts_judges_scores_per_target(panel, live):
    target = "answer:0:q1:ada"
    for judge in ("j1", "j2"):
        publish(
            live,
            ev.JudgeScored(
                data=ev.JudgeScoredData(judge=judge, target=target, stage=0, item="q1", contestant="ada", scores={"accuracy": 7})
            ),
            channels=ev.DIRECTOR_ONLY,
        )
    expect(panel.get_by_test_id(f"judged-{target}")).to_have_text(f"{target} — 2 judges")
    expect(panel.get_by_test_id("judged")).to_contain_text("1 target scored")
    shot(panel, "panel-board")
