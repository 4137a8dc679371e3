"""Every on-air graphic, the output monitor, the phones' vote page and the judges' page in both
show locales (en, zh-CN), on real parts: the studio under uvicorn with its Redis (no language
model: the show's events are published by hand, as in test_graphics.py), the real Chromium.

For each locale the show's data is in that language too (its title, stage, contestants, question,
poll, poems, subtitles), so on the Chinese show every Latin word left on screen is either the
studio's data that stays as it is (a model's name, the classifier's labels, "LoRA") or a label
that missed its table. Checks, per page:
- the fixed labels are the table's text for the show's locale (a few named keys per page);
- zh-CN: no Latin word but the allowed data words is visible; en: no Chinese character is;
- zh-CN: every visible element with Chinese text is drawn in "Noto Sans CJK SC" (the judges'
  monospace: "Noto Sans Mono CJK SC"; Chromium's own account of the fonts it used, CDP
  CSS.getPlatformFontsForNode), with at least one glyph from it per Chinese character: nothing
  falls back to another face (on Debian, an unnamed fallback in an English context is the JP
  face, with Japanese glyph forms) or to boxes;
- a screenshot per page and locale: tests/artifacts/i18n-<locale>-<page>.png.
The end card names the leaderboard's winner, and the scoreboard's best without one.
"""

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

from studio import events as ev
from studio.event_log import EventLog
from studio.graphics import GRAPHICS
from studio.locale import table
from studio.runtime import Studio
from studio.show_script import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"
PAGE = {name: page for name, (page, _) in GRAPHICS.items()}
HAN = re.compile(r"[\u3400-\u9fff]")
# Latin words that may stay on the Chinese show: data, not labels (model and adapter names, the
# image classifier's ImageNet labels, product names).
DATA_WORDS = {"smollm", "instruct", "prepared", "bao", "sft", "lora", "swift", "evalscope", "seashore", "sandbar", "gavel", "ada"}
CJK_FACES = {"Noto Sans CJK SC", "Noto Sans Mono CJK SC"}  # fonts-noto-cjk's Simplified Chinese faces

# The show's data in its own language (the fixed words come from the tables).
DATA = {
    "en": dict(
        title="Gavel — grand final", stage="Speed Q&A", ada="Ada", bao="Bao", team_a="Team Lovelace", team_b="Team Abacus",
        question="Which planet has the most moons?", choices=["Jupiter", "Saturn", "Uranus"], answer_a="Saturn", answer_b="Jupiter, I think",
        motion="Machines should write poems", poll="Who answered better?", poem_a="Sun on the sea\nA boat comes home\nThe light fades\nNight is here",
        poem_b="Waves roll\nBoats drift\nSky turns red", sub_title="Live subtitles", lines=["Good evening, everyone.", "Welcome to the final."],
        translations=["Bonsoir à tous.", "Bienvenue"],
    ),
    "zh-CN": dict(
        title="一锤定音 · 总决赛", stage="极速问答", ada="艾达", bao="包宝", team_a="洛夫莱斯队", team_b="算盘队",
        question="哪颗行星的卫星最多？", choices=["木星", "土星", "天王星"], answer_a="土星", answer_b="我想是木星",
        motion="机器应该写诗", poll="谁答得更好？", poem_a="海上落日红\n归舟入港中\n天光渐渐暗\n夜色满长空",
        poem_b="浪花翻\n小船漂\n天边红", sub_title="实时字幕", lines=["各位观众晚上好。", "欢迎来到总决赛。"],
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
        ("name: Ada", f"name: {d['ada']}"), ("name: Bao", f"name: {d['bao']}"),
        ("team: Team Lovelace", f"team: {d['team_a']}"), ("team: Team Abacus", f"team: {d['team_b']}"),
        ('title: "Speed Q&A"', f'title: "{d["stage"]}"'),
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + JUDGING % ("Judge Li" if locale == "en" else "李评委")


# ---- the studio per locale, and the show's events -------------------------------------------------


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
        ev.QuestionAsked(data=ev.QuestionAskedData(stage=0, number=1, of=3, question_id="q1", text=d["question"], kind="choice",
                                                   choices=d["choices"], time_limit_s=600, deadline_ts=now + 600)),
        *[ev.AnswerStarted(data=ev.AnswerStartedData(question_id="q1", contestant=c)) for c in ("ada", "bao")],
        ev.AnswerPath(data=ev.AnswerPathData(question_id="q1", contestant="ada", steps=[
            ev.PathStep(index=1, text=d["answer_a"][:1], logprob=-0.05, alternatives=[
                ev.PathAlternative(text=d["answer_a"][:1], logprob=-0.05), ev.PathAlternative(text="X", logprob=-3.2)], margin=0.9),
            ev.PathStep(index=2, text=d["answer_a"][1:], logprob=-0.6, alternatives=[
                ev.PathAlternative(text=d["answer_a"][1:], logprob=-0.6), ev.PathAlternative(text="Y", logprob=-0.9)], margin=0.14),
        ])),
        ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="ada", index=2, text=d["answer_a"])),
        ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="bao", index=3, text=d["answer_b"])),
        ev.AnswerFinished(data=ev.AnswerFinishedData(question_id="q1", contestant="ada", status="done", text=d["answer_a"], metrics=metrics(0.8, 2))),
        ev.AnswerFinished(data=ev.AnswerFinishedData(question_id="q1", contestant="bao", status="timeout", text=d["answer_b"], metrics=metrics(30, 3))),
        ev.AnswerGraded(data=ev.AnswerGradedData(question_id="q1", contestant="ada", correct=True, extracted=d["answer_a"], expected=d["answer_a"])),
        ev.AnswerGraded(data=ev.AnswerGradedData(question_id="q1", contestant="bao", correct=False, extracted=d["choices"][0], expected=d["answer_a"])),
        ev.Scoreboard(data=ev.ScoreboardData(stage=0, rows=[
            ev.ScoreRow(contestant="ada", answered=1, correct=1, accuracy=1.0, tokens=2, dnf=0, ttft_median=0.21, tpot_median=0.02, e2e_median=0.8),
            ev.ScoreRow(contestant="bao", answered=1, correct=0, accuracy=0.0, tokens=3, dnf=1, ttft_median=0.4, tpot_median=0.03, e2e_median=30.0),
        ])),
    )
    show.inject(
        ev.ImageShown(data=ev.ImageShownData(
            stage=0, question_id="poem-1", image=picture_uri(), source="sunset.png", width=96, height=64, path="mixed",
            paths={"ada": "vlm", "bao": "labels"}, labels=[ev.ImageLabel(label="seashore", p=0.62), ev.ImageLabel(label="sandbar", p=0.21)],
            facts=ev.ImageFacts(width=96, height=64, orientation="landscape", brightness=0.4, brightness_word="medium-bright", contrast=0.3,
                                contrast_word="high", tone="cool", colours=[ev.ImageColour(name="dark blue", share=0.6), ev.ImageColour(name="orange", share=0.2)]),
            lines=4, rhyme=True,
        )),
        ev.AnswerFinished(data=ev.AnswerFinishedData(question_id="poem-1", contestant="ada", status="done", text=d["poem_a"], metrics=metrics(4, 30))),
        ev.AnswerFinished(data=ev.AnswerFinishedData(question_id="poem-1", contestant="bao", status="done", text=d["poem_b"], metrics=metrics(4, 20))),
        ev.PoemForm(data=ev.PoemFormData(stage=0, question_id="poem-1", contestant="ada", lines=4, lines_asked=4, rhyme_asked=True,
                                         rhyme_pairs=[(1, 2), (2, 4)], meets_form=True, rhymed_lines=3)),
        # bao: an event of before rhymed_lines (the page counts rhyme_pairs) with its English notes
        ev.PoemForm(data=ev.PoemFormData(stage=0, question_id="poem-1", contestant="bao", lines=3, lines_asked=4, rhyme_asked=True,
                                         rhyme_pairs=[], meets_form=False, notes="3 lines, 4 asked; 0 of 3 lines rhyme")),
        ev.SubtitleStarted(data=ev.SubtitleStartedData(stage=0, title=d["sub_title"], source_lang="zh" if show.locale != "en" else "en",
                                                       target_lang="fr" if show.locale == "en" else "zh", contestants=["ada", "bao"],
                                                       lines_total=2, operator=False, started_ts=now - 20)),
        *[ev.SubtitleSource(data=ev.SubtitleSourceData(stage=0, line=i, question_id=f"sub-0-{i}", t=3.0 + 4 * i, text=text,
                                                       shown_ts=now - 10 + 4 * i, origin="transcript")) for i, text in enumerate(d["lines"])],
        ev.SubtitleToken(data=ev.SubtitleTokenData(stage=0, line=0, question_id="sub-0-0", contestant="ada", index=2, text=d["translations"][0][:3])),
        ev.SubtitleTranslated(data=ev.SubtitleTranslatedData(stage=0, line=0, question_id="sub-0-0", contestant="bao", status="done",
                                                             text=d["translations"][0], lag_s=1.4, ttft_lag_s=0.5, waited_s=0, tokens=4)),
        ev.SubtitleTranslated(data=ev.SubtitleTranslatedData(stage=0, line=1, question_id="sub-0-1", contestant="bao", status="timeout",
                                                             reason="timeout", text=d["translations"][1], lag_s=None, ttft_lag_s=0.7, waited_s=0, tokens=2)),
        ev.SubtitleSummary(data=ev.SubtitleSummaryData(stage=0, final=True, rows=[
            ev.SubtitleLagRow(contestant="ada", lines=2, done=0, dnf=0, lag_median_s=None, lag_p90_s=None, ttft_lag_median_s=None),
            ev.SubtitleLagRow(contestant="bao", lines=2, done=1, dnf=1, lag_median_s=1.4, lag_p90_s=1.4, ttft_lag_median_s=0.5),
        ])),
        ev.Attention(data=ev.AttentionData(question_id="q1", contestant="ada", status="ready", key="no-such-key", aggregate="mean",
                                           prompt_tokens=12, answer_tokens=2)),
        ev.TrainingProgress(data=ev.TrainingProgressData(contestant="ada", job="j1", kind="sft", step=12, max_steps=40, loss=1.234, eta_s=95)),
        ev.TrainingFinished(data=ev.TrainingFinishedData(contestant="bao", job="j2", kind="sft", status="budget_exceeded", steps=2)),
        ev.QualificationResult(data=ev.QualificationResultData(contestant="ada", scores={"gsm8k": 0.5}, score=0.52, samples=20, report="r")),
        leaderboard(),
    )
    # The audience poll: through the director's commands and two phones, as on the night.
    show.command("poll_open", poll="p1", title=d["poll"], choices=[{"id": "ada", "label": d["ada"]}, {"id": "bao", "label": d["bao"]}])
    for choice in ("bao", "bao", "ada"):
        token = httpx.post(f"{show.live.base}/api/audience/device", timeout=10).json()["token"]
        voted = httpx.post(f"{show.live.base}/api/polls/p1/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert voted.status_code == 200, voted.text
    deadline = time.monotonic() + 10
    while sum(show.live.state()["polls"]["p1"]["counts"].values()) < 3:  # tallies go out at 4 Hz
        assert time.monotonic() < deadline
        time.sleep(0.1)
    show.command("poll_close", poll="p1")
    show.command("poll_reveal", poll="p1")


def leaderboard(first: str = "bao", rows: bool = True) -> ev.Leaderboard:
    dims = lambda r: {"speed": ev.LeaderboardDimension(rating=r, ci_low=r - 40, ci_high=r + 40, matches=2),  # noqa: E731
                      "accuracy": ev.LeaderboardDimension(rating=r + 10, ci_low=r - 30, ci_high=r + 50, matches=2)}
    order = [first, "ada" if first == "bao" else "bao"]
    return ev.Leaderboard(data=ev.LeaderboardData(
        rows=[ev.LeaderboardRow(contestant=c, rank=i + 1, rating=1040.0 - 80 * i, dimensions=dims(1040 - 80 * i), elo=1010 - 20 * i,
                                elo_delta=4.5 - 9 * i) for i, c in enumerate(order)] if rows else [],
        weights={"speed": 1, "accuracy": 1}, matches=4, through_seq=0,
    ))


# Cue data per graphic (everything else comes from the show's state).
CUES = {"lower_third": {"contestant": "bao"}, "path": {"contestant": "ada"}, "leaderboard": {"source": "leaderboard"}}


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=["en", "zh-CN"])
def show(request, browser, tmp_path_factory):
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


# ---- what a page shows ------------------------------------------------------------------------------

VISIBLE_TEXT = "(sel) => document.querySelector(sel).innerText"


def shown(page: Page) -> None:
    """Until the graphic is on and its entry transitions have settled."""
    page.wait_for_function("() => window.gavelGraphic && gavelGraphic.visible", timeout=30_000)
    page.wait_for_function(
        "() => !document.getAnimations().some(a => a.playState === 'running' && a.effect"
        " && a.effect.getComputedTiming().endTime !== Infinity)", timeout=15_000)


def check_language(show: Show, text: str, where: str) -> None:
    if show.locale == "en":
        assert not HAN.search(text), f"{where}: Chinese on the English show: {text!r}"
    else:
        latin = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)} - DATA_WORDS
        assert not latin, f"{where}: Latin words on the Chinese show: {sorted(latin)} in {text!r}"


def check_labels(show: Show, text: str, where: str, *labels: str) -> None:
    for label in labels:  # (innerText is as drawn: text-transform applied)
        assert label.lower() in text.lower(), f"{where}: {label!r} (the {show.locale} table) is not on screen: {text!r}"


def glyphs(page: Page, root: str = "body") -> list[dict]:
    """Chromium's account of the fonts that drew each visible element with Chinese text of its own:
    [{text, fonts: [{familyName, glyphCount, isCustomFont}]}]."""
    count = page.evaluate(
        """(root) => { let n = 0;
             for (const node of document.querySelectorAll('[data-han-check]')) delete node.dataset.hanCheck;
             for (const node of document.querySelectorAll(`${root} *`)) {
               const own = [...node.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent).join('');
               if (/[\\u3400-\\u9fff]/.test(own) && node.getClientRects().length && getComputedStyle(node).visibility !== 'hidden') {
                 node.dataset.hanCheck = String(n++);
               }
             }
             return n; }""",
        root,
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    doc = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    out = []
    for i in range(count):
        node = cdp.send("DOM.querySelector", {"nodeId": doc, "selector": f'[data-han-check="{i}"]'})["nodeId"]
        text = page.evaluate(f"""() => [...document.querySelector('[data-han-check="{i}"]').childNodes]
                                 .filter(c => c.nodeType === 3).map(c => c.textContent).join('')""")
        out.append({"text": text, "fonts": cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]})
    cdp.detach()
    return out


def check_fonts(show: Show, page: Page, where: str, root: str = "body", at_least: int = 1) -> None:
    """zh-CN: every Chinese character on the page was drawn with Noto Sans CJK SC (no other face,
    no fallback box): the glyphs drawn from it cover the node's Chinese characters."""
    if show.locale == "en":
        return
    nodes = glyphs(page, root)
    assert len(nodes) >= at_least, f"{where}: no Chinese text found to check"
    for node in nodes:
        cjk = [f for f in node["fonts"] if "CJK" in f["familyName"] or "Han" in f["familyName"]]
        assert all(f["familyName"] in CJK_FACES for f in cjk), f"{where}: {node['text']!r} drawn with {node['fonts']}"
        drawn = sum(f["glyphCount"] for f in cjk)
        han = len(HAN.findall(node["text"]))
        assert drawn >= han > 0, f"{where}: {node['text']!r}: {han} Chinese characters, {drawn} glyphs from {CJK_FACES}: {node['fonts']}"


def snap(show: Show, page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"i18n-{show.locale}-{name}.png"), omit_background=True)


def pseudo(page: Page, selector: str, which: str) -> str:
    return page.evaluate(f"() => getComputedStyle(document.querySelector({selector!r}), {which!r}).content")


# ---- the graphics -----------------------------------------------------------------------------------


def test_the_duel_in_the_shows_language(show):
    page = show.open(PAGE["duel"])
    shown(page)
    d = show.data
    # A debate on the same stage: sides, the winner (published while the page watches: the page
    # keeps the sides itself).
    show.inject(
        ev.DebateStarted(data=ev.DebateStartedData(stage=0, debate_id="d1", motion=d["motion"], sides={"pro": "ada", "con": "bao"},
                                                   assigned="random", rounds=1)),
        ev.DebateResult(data=ev.DebateResultData(stage=0, debate_id="d1", motion=d["motion"], sides={"pro": "ada", "con": "bao"},
                                                 judges={"ada": 7.5, "bao": 6.0}, audience={"ada": 2, "bao": 1},
                                                 weights={"judges": 0.5, "audience": 0.5}, score={"ada": 0.6, "bao": 0.4},
                                                 winner="ada", dimension="logic")),
    )
    page.wait_for_function("() => document.querySelector('[data-testid=verdict-ada]').textContent !== ''")
    page.evaluate("() => update({view: 'answers'})")
    text = page.evaluate(VISIBLE_TEXT, "#stage")
    check_labels(show, text, "duel", show.w("duel.tokens"), show.w("duel.tokens_per_s"), show.w("duel.ttft"), show.w("badge.timeout"),
                 show.w("debate.winner"), show.w("side.pro"), show.w("side.con"), show.w("stage.kind.speed_qa"),
                 show.w("show.stage_number", number=1, of=1), show.w("label.question", number=1, of=3))
    check_language(show, text, "duel")
    check_fonts(show, page, "duel", "#stage", at_least=5)
    snap(show, page, "duel")
    page.evaluate("() => update({view: 'scoreboard'})")
    page.wait_for_function("() => document.getElementById('stage').dataset.view === 'scoreboard'")
    page.wait_for_timeout(700)
    text = page.evaluate(VISIBLE_TEXT, "#stage")
    check_labels(show, text, "scoreboard", show.w("duel.scoreboard"), show.w("duel.col.contestant"), show.w("duel.col.correct"),
                 show.w("duel.col.accuracy"), show.w("duel.col.e2e"))
    check_language(show, text, "scoreboard")
    check_fonts(show, page, "scoreboard", "#stage")
    snap(show, page, "duel-scoreboard")
    assert page.errors == []


def test_the_question_card_in_the_shows_language(show):
    page = show.open(PAGE["question"])
    shown(page)
    text = page.evaluate(VISIBLE_TEXT, "#stage")
    check_labels(show, text, "question", show.w("label.question", number=1, of=3), *show.data["choices"])
    check_language(show, text, "question")
    check_fonts(show, page, "question card", "#stage", at_least=3)
    snap(show, page, "question")
    assert page.errors == []


def test_the_title_card_in_the_shows_language(show):
    page = show.open(PAGE["title_card"])
    shown(page)
    kicker = page.text_content("[data-testid=tc-kicker]")
    assert kicker == f"{show.w('show.stage_number', number=1, of=1)} · {show.w('stage.kind.speed_qa')}"
    assert page.text_content("[data-testid=tc-title]") == show.data["stage"]
    text = page.evaluate(VISIBLE_TEXT, "#stage")
    check_language(show, text, "title card")
    check_fonts(show, page, "title card", "#stage", at_least=2 if show.locale != "en" else 0)
    assert page.evaluate("() => document.documentElement.lang") == show.locale
    snap(show, page, "title-card")
    assert page.errors == []


# graphic -> keys (with their parameters) whose text must be on screen
LABELS = {
    "leaderboard": lambda s: [s.w("lb.title"), f"{s.w('dim.short.speed')} 1040", f"{s.w('dim.short.accuracy')} 1050"],
    "radar": lambda s: [s.w("radar.title")],
    "lower_third": lambda s: [s.data["bao"], s.data["team_b"]],
    "vote_bars": lambda s: [s.w("vote.kicker"), s.w("vote.state.result"), s.data["poll"], s.w("vote.votes", count=3)],
    "image_poem": lambda s: [s.w("poem.path.mixed"), s.w("poem.sees.vlm"), s.w("poem.sees.labels"),
                             s.w("colour.shade", shade=s.w("colour.shade.dark"), colour=s.w("colour.blue")), s.w("colour.orange"),
                             s.w("poem.contrast", word=s.w("poem.fact.high")), s.w("poem.tone", word=s.w("poem.fact.cool")),
                             s.w("poem.fact.medium_bright"), s.w("poem.fact.landscape"),
                             s.w("poem.form.lines", lines=4, asked=4, mark="✓"), s.w("poem.form.rhymes", pairs="1–2, 2–4"),
                             s.w("poem.form.lines", lines=3, asked=4, mark="✗"),
                             s.w("poem.notes.lines", lines=3, asked=4) + s.w("sep.list") + s.w("poem.notes.rhymed", rhymed=0, lines=3)],
    "subtitles": lambda s: [s.w("sub.summary_title"), s.w("sub.col.median"), s.w("sub.col.p90"), s.w("sub.col.done"),
                            s.w("sub.behind_one", count=1), s.w("status.dnf_timeout"), s.w("sub.progress", number=2)],
    "path": lambda s: [s.w("path.roads"), s.w("path.instead_of"), s.w("path.at", index=2, text=s.data["answer_a"][1:], p="55%")],
    "attention": lambda s: [s.w("att.title"), s.w("att.subtitle", name=s.data["ada"], tokens=2, aggregate=s.w("att.agg.mean"))],
    "training": lambda s: [s.w("train.title"), s.w("train.subtitle"), s.w("train.status.running"), s.w("train.status.budget_exceeded"),
                           s.w("train.step", step=12, max=40), s.w("train.loss", loss="1.234"), s.w("train.qualification", score=52)],
    "end_card": lambda s: [s.data["title"], s.w("end.kicker"), s.w("end.standings"), s.data["bao"]],
}


@pytest.mark.parametrize("graphic", list(LABELS))
def test_every_graphic_in_the_shows_language(show, graphic):
    page = show.open(PAGE[graphic])
    shown(page)
    if graphic == "radar":  # plotly's axes: the studio's figure, in the show's language
        page.wait_for_function("() => document.querySelector('[data-testid=rd-plot] .angular-axis text')", timeout=30_000)
    if graphic == "end_card":
        page.wait_for_function("(w) => document.querySelector('[data-testid=end-winner]').textContent === w", arg=show.data["bao"])
    text = page.evaluate(VISIBLE_TEXT, "#stage")
    check_labels(show, text, graphic, *LABELS[graphic](show))
    check_language(show, text, graphic)  # image_poem: the classifier's labels are data; the event's English notes are not shown
    if graphic == "vote_bars":  # the words vote-bars.css draws: the winner's mark, the unit
        assert pseudo(page, ".vb-row.winner .vb-label", "::after") == f'"{show.w("vote.mark.winner")}"'
        assert pseudo(page, ".vb-votes", "::after") == f'" {show.w("vote.unit")}"'
    if graphic == "lower_third":
        assert pseudo(page, "[data-testid=lt-adapter]", "::before") == f'"{show.w("lt.adapter")} "'
    if graphic == "radar":
        axes = page.evaluate("() => [...document.querySelectorAll('[data-testid=rd-plot] .angular-axis text')].map(t => t.textContent)")
        figure = httpx.get(f"{show.live.base}/figures/radar?channel=program&token={show.live.graphics_token}", timeout=10).json()
        theta = figure["data"][0]["theta"][:-1]
        assert theta == [show.w(k) for k in ("radar.axis.ttft", "radar.axis.throughput", "radar.axis.accuracy", "radar.axis.creativity",
                                             "radar.axis.logic", "radar.axis.values", "radar.axis.translation_lag")]
        assert set(axes) == set(theta)
        check_language(show, " ".join(axes), "radar axes")
    check_fonts(show, page, graphic, "#stage")
    snap(show, page, PAGE[graphic].removesuffix(".html"))
    assert page.errors == []


def test_the_output_monitor_stacks_every_graphic_in_the_shows_language(show):
    page = show.open("output.html", "&debug=0")
    layers = page.evaluate("() => [...document.querySelectorAll('#layers > iframe')].map(f => [f.dataset.graphic, f.style.zIndex, f.src])")
    order = ["duel", "image_poem", "subtitles", "question", "path", "attention", "radar", "training", "leaderboard", "vote_bars",
             "lower_third", "title_card", "end_card"]
    assert [g for g, _, _ in layers] == order and set(order) == set(GRAPHICS)
    assert [int(z) for _, z, _ in layers] == sorted(int(z) for _, z, _ in layers)
    for graphic, _, src in layers:
        assert f"/overlays/{PAGE[graphic]}?" in src and "channel=program" in src and f"token={show.live.graphics_token}" in src
    frames = {f.url.split("/overlays/")[1].split("?")[0]: f for f in page.frames[1:]}
    for frame in frames.values():
        frame.wait_for_function("() => window.gavelGraphic && gavelGraphic.visible", timeout=30_000)
    title = frames["title-card.html"]
    title.wait_for_function("(k) => document.querySelector('[data-testid=tc-kicker]').textContent.includes(k)", arg=show.w("stage.kind.speed_qa"))
    assert frames["end-card.html"].text_content("[data-testid=end-kicker]") == show.w("end.kicker")
    page.wait_for_timeout(1500)  # entries settle
    snap(show, page, "output")


def test_the_end_card_names_the_leaderboards_winner_else_the_scoreboards(show):
    page = show.open(PAGE["end_card"])
    shown(page)
    winner = lambda: (page.text_content("[data-testid=end-winner]"), page.text_content("[data-testid=end-team]"))  # noqa: E731
    source = "() => document.querySelector('[data-testid=end-card]').dataset.source"
    show.inject(leaderboard(rows=False))  # a board with nobody on it: the scoreboard decides
    page.wait_for_function(f"{source} === 'scoreboard'", timeout=10_000)
    assert winner() == (show.data["ada"], show.data["team_a"])  # ada answered right, bao timed out
    assert page.text_content("[data-testid=end-standings-0] .ec-score") == "1/1"
    show.inject(leaderboard(first="bao"))
    page.wait_for_function(f"{source} === 'leaderboard'")
    assert winner() == (show.data["bao"], show.data["team_b"])
    assert [page.get_attribute(f"[data-testid=end-standings-{i}]", "data-contestant") for i in (0, 1)] == ["bao", "ada"]
    assert page.text_content("[data-testid=end-kicker]") == show.w("end.kicker")
    show.inject(leaderboard(first="ada"))
    page.wait_for_function("(w) => document.querySelector('[data-testid=end-winner]').textContent === w", arg=show.data["ada"])
    page.evaluate("() => update({title: 'X', subtitle: 'Y'})")
    assert (page.text_content("[data-testid=end-title]"), page.text_content("[data-testid=end-subtitle]")) == ("X", "Y")
    page.evaluate("() => update({title: null, subtitle: null})")
    assert page.text_content("[data-testid=end-title]") == show.data["title"]
    show.inject(leaderboard(first="bao"))  # as the rest of the module expects it
    page.wait_for_function("(w) => document.querySelector('[data-testid=end-winner]').textContent === w", arg=show.data["bao"])
    assert page.errors == []


# ---- the phones' and the judges' pages ----------------------------------------------------------------


def test_the_vote_page_in_the_shows_language(show):
    context = show.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{show.live.base}/vote")
    page.wait_for_selector("[data-testid=conn][data-state=live]")
    page.wait_for_selector("[data-testid=results]:not([hidden])")
    assert page.evaluate("() => document.documentElement.lang") == show.locale
    expected = {
        "poll-status": show.w("phone.voting_closed"),
        "rule": show.w("phone.rule_closed"),
        "my-vote": show.w("phone.not_voted_closed"),
        "winner": show.w("phone.winner"),
        "result-total": show.w("phone.total_winner", votes=show.w("vote.votes", count=3), choice=show.data["bao"]),
        "conn": show.w("phone.live"),
    }
    for testid, text in expected.items():
        assert page.text_content(f"[data-testid={testid}]").strip() == text, testid
    text = page.evaluate("() => document.body.innerText")
    check_labels(show, text, "vote page", show.w("phone.brand"), show.w("phone.results"), show.data["poll"])
    check_language(show, text, "vote page")
    check_fonts(show, page, "vote page", "body", at_least=5)
    assert page.title() == show.w("phone.page_title")
    page.screenshot(path=str(ARTIFACTS / f"i18n-{show.locale}-vote.png"), full_page=True)
    context.close()
    assert errors == []


def test_the_judges_page_in_the_shows_language(show):
    context = show.browser.new_context(viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{show.live.base}/judge?token={show.live.studio.tokens.judges['li']}")
    page.wait_for_selector("[data-testid=target]")
    assert "token=" not in page.url  # taken out of the address bar at once, as before
    assert page.evaluate("() => document.documentElement.lang") == show.locale
    criteria = show.w("dim.accuracy") + show.w("sep.names") + show.w("dim.creativity")
    assert page.text_content("[data-testid=intro]") == show.w("judge.intro", low=1, high=10, criteria=criteria)
    first = page.locator("[data-testid=target]").first
    assert first.locator("[data-testid=submit]").text_content() == show.w("judge.submit")
    assert first.locator("[data-testid=row-message]").text_content() == show.w("judge.still_to_score", criteria=criteria)
    assert first.locator("legend").first.text_content().startswith(show.w("dim.accuracy"))
    assert first.locator("[data-testid=answer-status]").text_content() in (show.w("judge.status.done"), show.w("judge.status.timeout"))
    assert first.locator("[data-testid=item]").text_content() == show.w("judge.where", stage=1, item="q1")
    text = page.evaluate("() => document.body.innerText")
    check_labels(show, text, "judges' page", show.w("judge.brand"), show.w("judge.refresh"), show.data["question"])
    check_language(show, text, "judges' page")
    check_fonts(show, page, "judges' page", "body", at_least=5)
    page.screenshot(path=str(ARTIFACTS / f"i18n-{show.locale}-judge.png"), full_page=True)
    context.close()
    assert errors == []


def test_the_locale_endpoint_serves_the_shows_table(show):
    response = httpx.get(f"{show.live.base}/api/locale", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"locale": show.locale, "messages": table(show.locale)}
    assert "max-age" in response.headers["cache-control"] and response.headers["access-control-allow-origin"] == "*"
