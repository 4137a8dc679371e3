"""The show of the i18n tests (test_i18n_pages.py, test_i18n_phones.py) in either locale (en,
zh-CN), its data in that language too: the demo script retitled and recast, a studio for it under
uvicorn with no language model, the show's events published by hand (``feed``), every graphic on
air; and the fixtures ``browser`` (one Chromium per module) and ``show`` (per locale)."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from core import events as ev
from core.graphics import GRAPHICS
from core.locale import table
from store.event_log import EventLog
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"

# The show's data in its own language (the fixed words come from the tables).
DATA = {
    "en": dict(
        title="Gavel — grand final",
        stage="Speed Q&A",
        ada="Ada",
        bao="Bao",
        team_a="Team Lovelace",
        team_b="Team Abacus",
        question="Which planet has the most moons?",
        choices=["Jupiter", "Saturn", "Uranus"],
        answer_a="Saturn",
        answer_b="Jupiter, I think",
        motion="Machines should write poems",
        poll="Who answered better?",
        poem_a="Sun on the sea\nA boat comes home\nThe light fades\nNight is here",
        poem_b="Waves roll\nBoats drift\nSky turns red",
        sub_title="Live subtitles",
        lines=["Good evening, everyone.", "Welcome to the final."],
        translations=["Bonsoir à tous.", "Bienvenue"],
    ),
    "zh-CN": dict(
        title="一锤定音 · 总决赛",
        stage="极速问答",
        ada="艾达",
        bao="包宝",
        team_a="洛夫莱斯队",
        team_b="算盘队",
        question="哪颗行星的卫星最多？",
        choices=["木星", "土星", "天王星"],
        answer_a="土星",
        answer_b="我想是木星",
        motion="机器应该写诗",
        poll="谁答得更好？",
        poem_a="海上落日红\n归舟入港中\n天光渐渐暗\n夜色满长空",
        poem_b="浪花翻\n小船漂\n天边红",
        sub_title="实时字幕",
        lines=["各位观众晚上好。", "欢迎来到总决赛。"],
        translations=["大家晚上好。", "欢迎"],
    ),
}
JUDGING = """
judging:
  judges:
    - {id: li, name: "%s"}
  criteria: {accuracy: accuracy, creativity: creativity}
"""


def script_text(locale: str) -> str:
    d = DATA[locale]
    text = DEMO.read_text().replace("bank: banks/demo.yaml", f"bank: {REPO}/show_scripts/banks/demo.yaml")
    for old, new in [
        ('title: "Gavel rehearsal — Speed Q&A"', f'title: "{d["title"]}"\n  locale: {locale}'),
        ("name: Ada", f"name: {d['ada']}"),
        ("name: Bao", f"name: {d['bao']}"),
        ("team: Team Lovelace", f"team: {d['team_a']}"),
        ("team: Team Abacus", f"team: {d['team_b']}"),
        ('title: "Speed Q&A"', f'title: "{d["stage"]}"'),
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + JUDGING % ("Judge Li" if locale == "en" else "李评委")


class Show:
    def __init__(self, locale: str, live: LiveStudio, browser):
        self.locale, self.live, self.browser = locale, live, browser
        self.words = table(locale)
        self.data = DATA[locale]

    def w(self, key: str, **params) -> str:
        """The table's text for key, as the pages fill it."""
        return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "")), self.words[key])

    def publish(self, *events: ev.Event) -> None:
        """Through the controller, as a stage publishes (its state sees them: the judges' list)."""
        for event in events:
            self.live.call(lambda e=event: self.live.studio.controller.publish(e))

    def inject(self, *events: ev.Event) -> None:
        """Straight into the log (the controller never sees them, so it rates nothing of them)."""

        async def append() -> None:
            client = aioredis.Redis.from_url(os.environ.get("REDIS_URL") or self.live.studio.redis_server.url)
            try:
                log = EventLog(client, self.live.studio.script.show.id)
                for event in events:
                    await log.append(event, ev.ON_AIR)
            finally:
                await client.aclose()

        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's event loop
            pool.submit(lambda: asyncio.run(append())).result(timeout=30)

    def command(self, name: str, **args) -> dict:
        response = self.live.post_command(name, args)
        assert response.status_code == 200 and response.json()["ok"], response.text
        return response.json()

    def open(self, page: str, query: str = "", viewport=(1920, 1080)) -> Page:
        tab = self.browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.errors = errors
        tab.goto(self.live.overlay(f"{page}?channel=program{query}"))
        return tab


def picture_uri() -> str:
    image = Image.new("RGB", (96, 64))
    for x in range(96):
        for y in range(64):
            image.putpixel((x, y), (20 + x, 40 + y, 160))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def feed(show: Show) -> None:
    d = show.data
    now = time.time()
    metrics = lambda e2e, n: ev.AnswerMetrics(ttft=0.21, e2e=e2e, tpot=0.02, output_tokens=n)  # noqa: E731
    show.publish(
        ev.StageStarted(data=ev.StageStartedData(index=0, kind="speed_qa", title=d["stage"])),
        ev.QuestionAsked(
            data=ev.QuestionAskedData(
                stage=0,
                number=1,
                of=3,
                question_id="q1",
                text=d["question"],
                kind="choice",
                choices=d["choices"],
                time_limit_s=600,
                deadline_ts=now + 600,
            )
        ),
        *[ev.AnswerStarted(data=ev.AnswerStartedData(question_id="q1", contestant=c)) for c in ("ada", "bao")],
        ev.AnswerPath(
            data=ev.AnswerPathData(
                question_id="q1",
                contestant="ada",
                steps=[
                    ev.PathStep(
                        index=1,
                        text=d["answer_a"][:1],
                        logprob=-0.05,
                        alternatives=[
                            ev.PathAlternative(text=d["answer_a"][:1], logprob=-0.05),
                            ev.PathAlternative(text="X", logprob=-3.2),
                        ],
                        margin=0.9,
                    ),
                    ev.PathStep(
                        index=2,
                        text=d["answer_a"][1:],
                        logprob=-0.6,
                        alternatives=[ev.PathAlternative(text=d["answer_a"][1:], logprob=-0.6), ev.PathAlternative(text="Y", logprob=-0.9)],
                        margin=0.14,
                    ),
                ],
            )
        ),
        ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="ada", index=2, text=d["answer_a"])),
        ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="bao", index=3, text=d["answer_b"])),
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(question_id="q1", contestant="ada", status="done", text=d["answer_a"], metrics=metrics(0.8, 2))
        ),
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(question_id="q1", contestant="bao", status="timeout", text=d["answer_b"], metrics=metrics(30, 3))
        ),
        ev.AnswerGraded(
            data=ev.AnswerGradedData(question_id="q1", contestant="ada", correct=True, extracted=d["answer_a"], expected=d["answer_a"])
        ),
        ev.AnswerGraded(
            data=ev.AnswerGradedData(question_id="q1", contestant="bao", correct=False, extracted=d["choices"][0], expected=d["answer_a"])
        ),
        ev.Scoreboard(
            data=ev.ScoreboardData(
                stage=0,
                rows=[
                    ev.ScoreRow(
                        contestant="ada",
                        answered=1,
                        correct=1,
                        accuracy=1.0,
                        tokens=2,
                        dnf=0,
                        ttft_median=0.21,
                        tpot_median=0.02,
                        e2e_median=0.8,
                    ),
                    ev.ScoreRow(
                        contestant="bao",
                        answered=1,
                        correct=0,
                        accuracy=0.0,
                        tokens=3,
                        dnf=1,
                        ttft_median=0.4,
                        tpot_median=0.03,
                        e2e_median=30.0,
                    ),
                ],
            )
        ),
    )
    show.inject(
        ev.ImageShown(
            data=ev.ImageShownData(
                stage=0,
                question_id="poem-1",
                image=picture_uri(),
                source="sunset.png",
                width=96,
                height=64,
                path="mixed",
                paths={"ada": "vlm", "bao": "labels"},
                labels=[ev.ImageLabel(label="seashore", p=0.62), ev.ImageLabel(label="sandbar", p=0.21)],
                facts=ev.ImageFacts(
                    width=96,
                    height=64,
                    orientation="landscape",
                    brightness=0.4,
                    brightness_word="medium-bright",
                    contrast=0.3,
                    contrast_word="high",
                    tone="cool",
                    colours=[ev.ImageColour(name="dark blue", share=0.6), ev.ImageColour(name="orange", share=0.2)],
                ),
                lines=4,
                rhyme=True,
            )
        ),
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(question_id="poem-1", contestant="ada", status="done", text=d["poem_a"], metrics=metrics(4, 30))
        ),
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(question_id="poem-1", contestant="bao", status="done", text=d["poem_b"], metrics=metrics(4, 20))
        ),
        ev.PoemForm(
            data=ev.PoemFormData(
                stage=0,
                question_id="poem-1",
                contestant="ada",
                lines=4,
                lines_asked=4,
                rhyme_asked=True,
                rhyme_pairs=[(1, 2), (2, 4)],
                meets_form=True,
                rhymed_lines=3,
            )
        ),
        # bao: an event of before rhymed_lines (the page counts rhyme_pairs) with its English notes
        ev.PoemForm(
            data=ev.PoemFormData(
                stage=0,
                question_id="poem-1",
                contestant="bao",
                lines=3,
                lines_asked=4,
                rhyme_asked=True,
                rhyme_pairs=[],
                meets_form=False,
                notes="3 lines, 4 asked; 0 of 3 lines rhyme",
            )
        ),
        ev.SubtitleStarted(
            data=ev.SubtitleStartedData(
                stage=0,
                title=d["sub_title"],
                source_lang="zh" if show.locale != "en" else "en",
                target_lang="fr" if show.locale == "en" else "zh",
                contestants=["ada", "bao"],
                lines_total=2,
                operator=False,
                started_ts=now - 20,
            )
        ),
        *[
            ev.SubtitleSource(
                data=ev.SubtitleSourceData(
                    stage=0, line=i, question_id=f"sub-0-{i}", t=3.0 + 4 * i, text=text, shown_ts=now - 10 + 4 * i, origin="transcript"
                )
            )
            for i, text in enumerate(d["lines"])
        ],
        ev.SubtitleToken(
            data=ev.SubtitleTokenData(stage=0, line=0, question_id="sub-0-0", contestant="ada", index=2, text=d["translations"][0][:3])
        ),
        ev.SubtitleTranslated(
            data=ev.SubtitleTranslatedData(
                stage=0,
                line=0,
                question_id="sub-0-0",
                contestant="bao",
                status="done",
                text=d["translations"][0],
                lag_s=1.4,
                ttft_lag_s=0.5,
                waited_s=0,
                tokens=4,
            )
        ),
        ev.SubtitleTranslated(
            data=ev.SubtitleTranslatedData(
                stage=0,
                line=1,
                question_id="sub-0-1",
                contestant="bao",
                status="timeout",
                reason="timeout",
                text=d["translations"][1],
                lag_s=None,
                ttft_lag_s=0.7,
                waited_s=0,
                tokens=2,
            )
        ),
        ev.SubtitleSummary(
            data=ev.SubtitleSummaryData(
                stage=0,
                final=True,
                rows=[
                    ev.SubtitleLagRow(contestant="ada", lines=2, done=0, dnf=0, lag_median_s=None, lag_p90_s=None, ttft_lag_median_s=None),
                    ev.SubtitleLagRow(contestant="bao", lines=2, done=1, dnf=1, lag_median_s=1.4, lag_p90_s=1.4, ttft_lag_median_s=0.5),
                ],
            )
        ),
        ev.Attention(
            data=ev.AttentionData(
                question_id="q1", contestant="ada", status="ready", key="no-such-key", aggregate="mean", prompt_tokens=12, answer_tokens=2
            )
        ),
        ev.TrainingProgress(
            data=ev.TrainingProgressData(contestant="ada", job="j1", kind="sft", step=12, max_steps=40, loss=1.234, eta_s=95)
        ),
        ev.TrainingFinished(data=ev.TrainingFinishedData(contestant="bao", job="j2", kind="sft", status="budget_exceeded", steps=2)),
        ev.QualificationResult(
            data=ev.QualificationResultData(contestant="ada", scores={"gsm8k": 0.5}, score=0.52, samples=20, report="r")
        ),
        leaderboard(),
    )
    # The audience poll: through the director's commands and two phones, as on the night.
    show.command("poll_open", poll="p1", title=d["poll"], choices=[{"id": "ada", "label": d["ada"]}, {"id": "bao", "label": d["bao"]}])
    for choice in ("bao", "bao", "ada"):
        token = httpx.post(f"{show.live.base}/api/audience/device", timeout=10).json()["token"]
        voted = httpx.post(
            f"{show.live.base}/api/polls/p1/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert voted.status_code == 200, voted.text
    deadline = time.monotonic() + 10
    while sum(show.live.state()["polls"]["p1"]["counts"].values()) < 3:  # tallies go out at 4 Hz
        assert time.monotonic() < deadline
        time.sleep(0.1)
    show.command("poll_close", poll="p1")
    show.command("poll_reveal", poll="p1")


def leaderboard(first: str = "bao", rows: bool = True) -> ev.Leaderboard:
    dims = lambda r: {
        "speed": ev.LeaderboardDimension(rating=r, ci_low=r - 40, ci_high=r + 40, matches=2),  # noqa: E731
        "accuracy": ev.LeaderboardDimension(rating=r + 10, ci_low=r - 30, ci_high=r + 50, matches=2),
    }
    order = [first, "ada" if first == "bao" else "bao"]
    return ev.Leaderboard(
        data=ev.LeaderboardData(
            rows=[
                ev.LeaderboardRow(
                    contestant=c,
                    rank=i + 1,
                    rating=1040.0 - 80 * i,
                    dimensions=dims(1040 - 80 * i),
                    elo=1010 - 20 * i,
                    elo_delta=4.5 - 9 * i,
                )
                for i, c in enumerate(order)
            ]
            if rows
            else [],
            weights={"speed": 1, "accuracy": 1},
            matches=4,
            through_seq=0,
        )
    )


# Cue data per graphic (everything else comes from the show's state).
CUES = {"lower_third": {"contestant": "bao"}, "path": {"contestant": "ada"}, "leaderboard": {"source": "leaderboard"}}


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=["en", "zh-CN"], name="show")
def show_fixture(request, browser, tmp_path_factory):
    locale = request.param
    os.environ["GAVEL_ALLOWED_ORIGINS"] = "null"
    tmp = tmp_path_factory.mktemp(f"i18n-{locale}")
    (tmp / "show.yaml").write_text(script_text(locale), encoding="utf-8")
    with LiveStudio(Studio(load_script(tmp / "show.yaml"), tmp / "data", pool=engineless_pool())) as live:
        s = Show(locale, live, browser)
        feed(s)
        for graphic in GRAPHICS:
            s.command("cue", graphic=graphic, visible=True, data=CUES.get(graphic, {}))
        s.command("take")
        yield s
    del os.environ["GAVEL_ALLOWED_ORIGINS"]
