"""Shared by the on-air graphics' tests (test_graphics.py, test_graphics_cues.py): the demo script,
representative cue data per graphic, one studio under uvicorn with Chromium (``Env``: open a
graphic's page, command, cue, take), the ``pages`` fixture, and what a keyer sees of a page."""

from __future__ import annotations

import io
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from core.graphics import GRAPHICS, OVERLAYS_DIR
from engine_pool.pool import EnginePool
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"
PAGE = {name: page for name, (page, _) in GRAPHICS.items()}

# Representative cue data per graphic, and (selector, text) the page then shows.
SAMPLES = {
    "duel": ({"title": "Grand final"}, "[data-testid=stage-title]", "Grand final"),
    "question": (
        {"text": "Which planet has the most moons?", "choices": ["Jupiter", "Saturn", "Uranus", "Neptune"]},
        "[data-testid=question-text]",
        "Which planet has the most moons?",
    ),
    "radar": ({"subtitle": "After round one"}, "[data-testid=rd-subtitle]", "After round one"),
    "leaderboard": (
        {
            "rows": [
                {"contestant": "ada", "score": 3, "detail": "67% · 1.03 s"},
                {"contestant": "bao", "score": 5, "detail": "83% · 1.68 s"},
            ]
        },
        "[data-testid=lb-row-0] .lb-name",
        "Bao",
    ),
    "lower_third": ({"contestant": "ada", "adapter": "ada-lora-v2"}, "[data-testid=lt-team]", "Team Lovelace"),
    "title_card": ({"title": "Speed Q&A", "subtitle": "Round one of the Gavel demo"}, "[data-testid=tc-title]", "Speed Q&A"),
    "vote_bars": (
        {
            "question": "Who wrote the better poem?",
            "options": [
                {"id": "ada", "label": "Ada", "votes": 1234},
                {"id": "bao", "label": "Bao", "votes": 876},
                {"id": "tie", "label": "A tie", "votes": 90},
            ],
            "revealed": False,
        },
        "[data-testid=vb-question]",
        "Who wrote the better poem?",
    ),
    "image_poem": ({"title": "Poetry corner"}, "[data-testid=ip-title]", "Poetry corner"),
    "subtitles": ({"title": "Sous-titres en direct"}, "[data-testid=sb-title]", "Sous-titres en direct"),
    "path": ({"title": "Close calls", "contestant": "bao"}, "[data-testid=gp-title]", "Close calls"),
    "attention": ({"title": "Where it looked"}, "[data-testid=at-title]", "Where it looked"),
    "training": ({"title": "Fine-tuning live"}, "[data-testid=tr-title]", "Fine-tuning live"),
    "end_card": ({"title": "Gavel — the end"}, "[data-testid=end-title]", "Gavel — the end"),
}


@dataclass
class Env:
    live: LiveStudio
    browser: Browser
    early: Page | None = None  # the program overlay opened from disk before the studio listened
    early_status: dict | None = None  # how it stood then

    def open(self, graphic: str, channel: str = "program", query: str = "", connected: bool = True) -> Page:
        page = self.browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(self.live.overlay(f"{PAGE[graphic]}?channel={channel}{query}"))
        if connected:
            page.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
        return page

    def command(self, name: str, **args) -> dict:
        response = httpx.post(
            f"{self.live.base}/api/command",
            json={"command": name, "args": args},
            headers={"Authorization": f"Bearer {self.live.director_token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def cue(self, graphic: str, visible: bool = True, data: dict | None = None) -> dict:
        return self.command("cue", graphic=graphic, visible=visible, data=data or {})

    def take(self) -> dict:
        return self.command("take")

    def off_air(self, *graphics: str) -> None:
        for graphic in graphics:
            self.cue(graphic, visible=False)
        self.take()


@contextmanager
def graphics_studio(tmp_path_factory, pool: EnginePool | None = None, early: bool = False) -> Iterator[Env]:
    """One studio on the demo script under uvicorn, and Chromium. ``pool`` None: the script's own
    engines (vLLM, loading in the background); ``early``: the program overlay is opened from disk
    before the studio listens (``Env.early``, ``Env.early_status``)."""
    # CasparCG/OBS load pages from disk: their sockets' Origin is "null" (allowed by configuration).
    os.environ["GAVEL_ALLOWED_ORIGINS"] = "null"
    studio = Studio(load_script(DEMO), tmp_path_factory.mktemp("graphics-data"), pool=pool)
    live = LiveStudio(studio)  # its port is chosen; nothing listens there yet
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        env = Env(live, browser)
        if early:
            env.early = browser.new_page(viewport={"width": 1920, "height": 1080})
            env.early.goto(f"{(OVERLAYS_DIR / 'program.html').as_uri()}?server=127.0.0.1:{live.port}&token={live.graphics_token}")
            env.early.wait_for_function("() => window.__gavel.client.status === 'waiting'", timeout=30_000)
            env.early_status = env.early.evaluate("() => ({connected: __gavel.connected, visible: gavelGraphic.visible})")
        with live:
            yield env
        browser.close()
    del os.environ["GAVEL_ALLOWED_ORIGINS"]


@pytest.fixture(name="pages")
def pages_fixture(env):
    """Pages a test opens; closed after it. (A test module imports it and has an ``env`` fixture.)"""
    opened: list[Page] = []

    def open_(*args, **kwargs) -> Page:
        opened.append(env.open(*args, **kwargs))
        return opened[-1]

    yield open_
    for page in opened:
        page.close()


def alpha(page: Page) -> Image.Image:
    """The page's alpha channel as a keyer sees it (the preview's output indicator left out)."""
    shot = page.screenshot(omit_background=True, style=".conn { visibility: hidden !important; }")
    return Image.open(io.BytesIO(shot)).getchannel("A")


SETTLING = """() => document.getAnimations().some(a => a.playState === 'running'
    && a.effect && a.effect.getComputedTiming().endTime !== Infinity)"""  # blinking carets never end


def wait_shown(page: Page, shown: bool, timeout_s: float = 15) -> Image.Image:
    """Until the page's visibility flag and its pixels agree with `shown` (transitions settle)."""
    page.wait_for_function(f"() => gavelGraphic.visible === {str(shown).lower()}", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while True:
        image = alpha(page)
        if (image.getextrema()[1] > 0) == shown:
            if not shown or not page.evaluate(SETTLING):
                return image
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.url}: pixels never became {'shown' if shown else 'clear'}")
        page.wait_for_timeout(150)


def corners_clear(image: Image.Image) -> bool:
    w, h = image.size
    return all(image.getpixel(xy) == 0 for xy in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)])


def text_of(page: Page, selector: str) -> str:
    """Text of a selector, or of a data-testid when given a bare name."""
    return page.text_content(selector if selector[0] in "[.#" else f"[data-testid='{selector}']") or ""


def save(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"graphic-{name}.png"
    page.screenshot(path=str(path), omit_background=True)
    return path
