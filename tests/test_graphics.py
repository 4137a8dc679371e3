"""The on-air graphics on real parts: the studio under uvicorn with its Redis, every graphics page
in Chromium: the OGraf manifests and element, the JavaScript reducer against ShowState, a page
that recovers by itself and registers, and the graphics with the show running.

One studio per module, on the demo script. Its vLLM engine loads in the background; only the
tests at the end, which run the show, wait for it. The program overlay is opened from disk
*before* the studio listens, so the module also shows that a page recovers by itself.
Cue, take, template calls, panic and refresh: test_graphics_cues.py. Screenshots of every graphic
land in tests/artifacts/graphic-*.png.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from core import events as ev
from core.graphics import GRAPHICS, OVERLAYS_DIR
from core.state import ShowState
from studio.show.rundown import load_script

from .graphics_kit import (
    DEMO,
    PAGE,
    REPO,
    SAMPLES,
    graphics_studio,
    pages_fixture,  # noqa: F401  (the fixture `pages`)
    save,
    wait_shown,
)

DEMO_IDS = sorted(c.id for c in load_script(DEMO).contestants)
DEMO_NAMES = sorted(c.name for c in load_script(DEMO).contestants)
VALIDATOR = REPO.parent / "shared" / "specs" / "ograf-v1" / "validate.py"
SKEW_MS = 3_600_000  # the question page's clock runs an hour fast: countdowns must not care


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with graphics_studio(tmp_path_factory, early=True) as env:
        yield env


# ---- manifests and the reducer mirror -------------------------------------------------------------


def test_every_graphic_has_a_valid_ograf_manifest_naming_its_page():
    manifests = sorted(OVERLAYS_DIR.glob("*.ograf.json"))
    result = subprocess.run([sys.executable, str(VALIDATOR), *map(str, manifests)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    named = {json.loads(m.read_text())["v_gavel"]["graphic"]: json.loads(m.read_text()) for m in manifests}
    assert set(named) == set(GRAPHICS)
    for graphic, manifest in named.items():
        assert manifest["v_gavel"]["html"] == PAGE[graphic]
        assert (OVERLAYS_DIR / manifest["main"]).is_file() and (OVERLAYS_DIR / PAGE[graphic]).is_file()


def test_the_ograf_element_hosts_a_graphic_and_maps_the_actions(env):
    env.cue("vote_bars", data=SAMPLES["vote_bars"][0])
    env.take()
    host = env.browser.new_page(viewport={"width": 1920, "height": 1080})
    host.goto(f"{env.live.base}/healthz")  # any page of the studio's origin
    host.set_content("<!doctype html><body style='margin:0'></body>")
    loaded = host.evaluate(
        """async (token) => {
             const { default: Graphic } = await import('/overlays/vote-bars.ograf.mjs');
             customElements.define('gavel-vote-bars', Graphic);
             window.graphic = document.createElement('gavel-vote-bars');
             document.body.append(window.graphic);
             return await window.graphic.load({ renderType: 'realtime', data: { question: 'Via OGraf', token } });
           }""",
        env.live.graphics_token,
    )
    assert loaded == {"statusCode": 200}
    frame = host.frames[1]
    frame.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
    assert frame.evaluate("() => gavelGraphic.visible") is False  # loaded, not played
    assert frame.text_content("[data-testid=vb-question]") == "Via OGraf"  # load data merged over the cue's
    assert host.evaluate("() => graphic.playAction({})")["currentStep"] == 0
    frame.wait_for_function("() => gavelGraphic.visible")
    assert host.evaluate("() => graphic.playAction({ delta: 1 })")["currentStep"] == 1  # step 2: reveal
    assert frame.text_content("[data-testid=vb-state]") == "Result"
    host.evaluate("() => graphic.stopAction({})")
    frame.wait_for_function("() => !gavelGraphic.visible")
    host.evaluate("() => graphic.dispose({})")
    assert host.query_selector("iframe") is None
    host.close()
    env.off_air("vote_bars")


def test_the_js_reducer_mirrors_show_state_for_graphics_and_clients(env, pages):
    client = {
        "client_id": "c1",
        "connection": "k1",
        "graphic": "radar",
        "channel": "program",
        "version": "v",
        "stale": False,
        "connected": True,
    }
    events = [
        ev.GraphicCued(data=ev.GraphicCuedData(graphic="lower_third", visible=True, data={"contestant": "ada"})),
        ev.GraphicCued(data=ev.GraphicCuedData(graphic="radar", visible=False)),
        ev.GraphicsTaken(data=ev.GraphicsTakenData(graphics={"lower_third": ev.GraphicState(visible=True, data={"name": "A"})})),
        ev.GraphicCued(data=ev.GraphicCuedData(graphic="title_card", visible=True, data={"title": "T"})),
        ev.GraphicsClient(data=ev.GraphicsClientData(**client)),
        ev.GraphicsClient(data=ev.GraphicsClientData(**{**client, "client_id": "c2", "connection": "k2"})),
        ev.GraphicsClient(data=ev.GraphicsClientData(**{**client, "connection": "k3"})),  # c1 reloaded
        ev.GraphicsClient(data=ev.GraphicsClientData(**{**client, "connected": False})),  # old socket: stays
        ev.GraphicsClient(data=ev.GraphicsClientData(**{**client, "client_id": "c2", "connection": "k2", "connected": False})),
        ev.GraphicsRefresh(data=ev.GraphicsRefreshData(target="all")),
    ]
    cleared = ev.GraphicsCleared(data=ev.GraphicsClearedData(reason="panic"))
    page = pages("title_card")
    for upto in (events, events + [cleared]):
        python = ShowState()
        for event in upto:
            python.apply(event)
        wire = [json.loads(e.model_dump_json()) for e in upto]
        js = page.evaluate(
            """(events) => { let s = GavelClient.emptyState();
                 for (const e of events) s = GavelClient.reduce(s, e);
                 s = GavelClient.normalizeState(JSON.parse(JSON.stringify(s)));  // a snapshot of it, too
                 return {graphics: s.graphics, clients: s.clients}; }""",
            wire,
        )
        assert js == {"graphics": python.to_dict()["graphics"], "clients": python.to_dict()["clients"]}
    assert list(python.clients) == ["c1"] and python.clients["c1"]["connection"] == "k3"


# ---- recovery and registration ----------------------------------------------------------------------


def test_the_program_overlay_opened_before_the_studio_recovers_by_itself(env):
    assert env.early_status == {"connected": False, "visible": False}  # nothing to show, nothing faked
    env.early.wait_for_function("() => window.__gavel.connected", timeout=30_000)
    wait_shown(env.early, True)  # the duel is on air by default
    names = [env.early.text_content(f"[data-testid='name-{c}']") for c in ("ada", "bao")]
    assert sorted(names) == ["Ada", "Bao"]


def test_a_graphics_page_registers_with_its_graphic_version_and_a_stable_client_id(env, pages):
    page = pages("lower_third")
    client_id = page.evaluate("() => __gavel.client.clientId")

    def registered() -> dict | None:
        return env.live.state()["clients"].get(client_id)

    deadline = time.monotonic() + 10
    while registered() is None:  # the page hears "open" a moment before the studio logs it
        assert time.monotonic() < deadline, "the page never appeared on the registry"
        time.sleep(0.2)
    first = registered()
    assert first.pop("connection")
    assert first == {
        "client_id": client_id,
        "graphic": "lower_third",
        "channel": "program",
        "version": env.live.studio.overlay_version,
        "stale": False,
        "connected": True,
    }
    page.reload()
    page.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
    assert page.evaluate("() => __gavel.client.clientId") == client_id  # sessionStorage keeps it
    time.sleep(1)  # the old socket's goodbye must not remove the reloaded page
    assert registered() is not None
    page.close()
    deadline = time.monotonic() + 10
    while registered() is not None:
        assert time.monotonic() < deadline, "a closed page stayed on the registry"
        time.sleep(0.2)


# ---- cue, take, template calls, panic -------------------------------------------------------------

# ---- with the show running (the vLLM engine) --------------------------------------------------------


@pytest.fixture(scope="module")
def show(env):
    """Start the demo show with the question, radar, leaderboard and duel on program; wait for
    the first question's scoreboard."""
    env.live.wait_for_engines()
    question = env.browser.new_page(viewport={"width": 1920, "height": 1080})
    question.add_init_script(f"(() => {{ const real = Date.now; Date.now = () => real() + {SKEW_MS}; }})()")
    question.goto(env.live.overlay("question.html"))
    opened = {"question": question, **{g: env.open(g) for g in ("radar", "leaderboard", "duel")}}
    for graphic in opened:
        # The leaderboard shows the studio's ratings once it publishes some; this module checks
        # the scoreboard ranking, so it asks for that (the ratings: the last test here).
        env.cue(graphic, data={"source": "scoreboard"} if graphic == "leaderboard" else None)
    env.take()
    env.command("start")
    question.wait_for_function("() => window.__gavel.events.some(e => e.type === 'question.asked')", timeout=300_000)
    env.command("pause")  # hold before question 2, so question 1 stays on the card while it is read
    question.wait_for_function("() => gavelGraphic.visible && document.querySelector('[data-testid=countdown]').dataset.remainingMs")
    samples = []
    for _ in range(2):
        samples.append(
            (time.time(), question.evaluate("() => Number(document.querySelector('[data-testid=countdown]').dataset.remainingMs)"))
        )
        question.wait_for_timeout(1_000)
    deadline_ts = question.evaluate("() => __gavel.client.state.question.deadline_ts")
    question.wait_for_function(  # the card is drawn on the next animation frame after the event
        "() => document.querySelector('[data-testid=question-text]').textContent === __gavel.client.state.question.text"
    )
    card = question.evaluate(
        "() => [__gavel.client.state.question.text, ...['question-text', 'question-number']"
        ".map(id => document.querySelector(`[data-testid=${id}]`).textContent)]"
    )
    save(question, "question")
    env.command("resume")
    duel = opened["duel"]
    duel.wait_for_function("() => document.querySelector('[data-testid=answer-text-ada]').textContent.length > 0", timeout=120_000)
    duel.wait_for_timeout(700)  # a few more tokens, and the question card's entry settles
    save(duel, "duel")
    opened["radar"].wait_for_function("() => window.__gavel.events.some(e => e.type === 'scoreboard')", timeout=300_000)
    yield {"pages": opened, "samples": samples, "deadline_ts": deadline_ts, "card": card}
    for page in opened.values():
        page.close()


def test_the_question_counts_down_to_the_deadline_on_the_server_clock(show):
    (t1, r1), (t2, r2) = show["samples"]
    for t, remaining in show["samples"]:  # the page's clock is an hour fast; the countdown is not
        assert abs(remaining - (show["deadline_ts"] - t) * 1000) < 1_500
    assert abs((r1 - r2) - (t2 - t1) * 1000) < 400
    asked, text, number = show["card"]
    assert text == asked and number == "Question 1 / 3"


def test_the_radar_draws_plotly_with_data_after_the_first_question(show):
    radar = show["pages"]["radar"]
    radar.wait_for_function(
        "() => { const p = document.querySelector('[data-testid=rd-plot]');"
        " return p.data && p.data.some(t => t.r.some(v => v > 0)) && p.querySelector('svg.main-svg'); }",
        timeout=30_000,
    )
    names = radar.evaluate("() => document.querySelector('[data-testid=rd-plot]').data.map(t => t.name)")
    assert sorted(names) == DEMO_NAMES
    sources = radar.evaluate("() => [...document.scripts].map(s => s.src)")
    assert "/vendor/plotly.min.js" in " ".join(sources)
    assert all(src.startswith(radar.url.split("/overlays/")[0]) for src in sources)  # the studio's own, no CDN
    wait_shown(radar, True)
    save(radar, "radar")


def test_the_leaderboard_ranks_the_shows_scoreboard(show):
    board = show["pages"]["leaderboard"]
    board.wait_for_function(f"() => document.querySelectorAll('.lb-row').length === {len(DEMO_IDS)}", timeout=30_000)
    rows = board.evaluate("() => __gavel.client.state.scoreboard.rows.map(r => [r.contestant, r.correct])")
    shown = board.evaluate(
        "() => [...document.querySelectorAll('.lb-row')].sort((a, b) => a.offsetTop - b.offsetTop)"
        ".map(r => [r.dataset.contestant, Number(r.querySelector('.lb-score').textContent)])"
    )
    assert sorted(shown, key=lambda r: -r[1]) == shown
    assert sorted(shown) == sorted([list(r) for r in rows])


def test_the_leaderboard_shows_the_studios_ratings_once_it_publishes_them(show):
    board = show["pages"]["leaderboard"]
    board.wait_for_function(
        f"() => __gavel.client.state.leaderboard && __gavel.client.state.leaderboard.rows.length === {len(DEMO_IDS)}", timeout=60_000
    )
    board.evaluate("() => update({source: 'auto'})")  # the operator's override: the default again
    board.wait_for_function("() => document.querySelector('[data-testid=lb-rows]').dataset.source === 'leaderboard'")
    board.wait_for_function(  # the latest board is drawn (a new one may land at any moment)
        """() => { const rows = __gavel.client.state.leaderboard.rows;
             return rows.every(r => { const li = document.querySelector(`.lb-row[data-contestant="${r.contestant}"]`);
               return li && li.querySelector('.lb-rank').textContent === String(r.rank)
                 && li.querySelector('.lb-score').textContent === r.rating.toFixed(1); }); }"""
    )
    shown = board.evaluate(
        "() => [...document.querySelectorAll('.lb-row')].sort((a, b) => a.offsetTop - b.offsetTop)"
        ".map(r => [Number(r.querySelector('.lb-rank').textContent), r.dataset.contestant])"
    )
    assert [rank for rank, _ in shown] == sorted(rank for rank, _ in shown)
    assert sorted(c for _, c in shown) == DEMO_IDS
    board.evaluate("() => update({source: null})")
