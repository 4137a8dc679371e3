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
The vote page, the judges' page and the locale endpoint: test_i18n_phones.py; the show and its
events: i18n_show.py; the checks: i18n_checks.py.
"""

from __future__ import annotations

import httpx
import pytest

from core import events as ev
from core.graphics import GRAPHICS

from .i18n_checks import VISIBLE_TEXT, check_fonts, check_labels, check_language, pseudo, shown, snap
from .i18n_show import (
    browser_fixture,  # noqa: F401  (the fixture `browser`)
    leaderboard,
    show_fixture,  # noqa: F401  (the fixture `show`)
)

PAGE = {name: page for name, (page, _) in GRAPHICS.items()}


# ---- the graphics -----------------------------------------------------------------------------------


def test_the_duel_in_the_shows_language(show):
    page = show.open(PAGE["duel"])
    shown(page)
    d = show.data
    # A debate on the same stage: sides, the winner (published while the page watches: the page
    # keeps the sides itself).
    show.inject(
        ev.DebateStarted(
            data=ev.DebateStartedData(
                stage=0, debate_id="d1", motion=d["motion"], sides={"pro": "ada", "con": "bao"}, assigned="random", rounds=1
            )
        ),
        ev.DebateResult(
            data=ev.DebateResultData(
                stage=0,
                debate_id="d1",
                motion=d["motion"],
                sides={"pro": "ada", "con": "bao"},
                judges={"ada": 7.5, "bao": 6.0},
                audience={"ada": 2, "bao": 1},
                weights={"judges": 0.5, "audience": 0.5},
                score={"ada": 0.6, "bao": 0.4},
                winner="ada",
                dimension="logic",
            )
        ),
    )
    page.wait_for_function("() => document.querySelector('[data-testid=verdict-ada]').textContent !== ''")
    page.evaluate("() => update({view: 'answers'})")
    text = page.evaluate(VISIBLE_TEXT, "#stage")
    check_labels(
        show,
        text,
        "duel",
        show.w("duel.tokens"),
        show.w("duel.tokens_per_s"),
        show.w("duel.ttft"),
        show.w("badge.timeout"),
        show.w("debate.winner"),
        show.w("side.pro"),
        show.w("side.con"),
        show.w("stage.kind.speed_qa"),
        show.w("show.stage_number", number=1, of=1),
        show.w("label.question", number=1, of=3),
    )
    check_language(show, text, "duel")
    check_fonts(show, page, "duel", "#stage", at_least=5)
    snap(show, page, "duel")
    page.evaluate("() => update({view: 'scoreboard'})")
    page.wait_for_function("() => document.getElementById('stage').dataset.view === 'scoreboard'")
    page.wait_for_timeout(700)
    text = page.evaluate(VISIBLE_TEXT, "#stage")
    check_labels(
        show,
        text,
        "scoreboard",
        show.w("duel.scoreboard"),
        show.w("duel.col.contestant"),
        show.w("duel.col.correct"),
        show.w("duel.col.accuracy"),
        show.w("duel.col.e2e"),
    )
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
    "image_poem": lambda s: [
        s.w("poem.path.mixed"),
        s.w("poem.sees.vlm"),
        s.w("poem.sees.labels"),
        s.w("colour.shade", shade=s.w("colour.shade.dark"), colour=s.w("colour.blue")),
        s.w("colour.orange"),
        s.w("poem.contrast", word=s.w("poem.fact.high")),
        s.w("poem.tone", word=s.w("poem.fact.cool")),
        s.w("poem.fact.medium_bright"),
        s.w("poem.fact.landscape"),
        s.w("poem.form.lines", lines=4, asked=4, mark="✓"),
        s.w("poem.form.rhymes", pairs="1–2, 2–4"),
        s.w("poem.form.lines", lines=3, asked=4, mark="✗"),
        s.w("poem.notes.lines", lines=3, asked=4) + s.w("sep.list") + s.w("poem.notes.rhymed", rhymed=0, lines=3),
    ],
    "subtitles": lambda s: [
        s.w("sub.summary_title"),
        s.w("sub.col.median"),
        s.w("sub.col.p90"),
        s.w("sub.col.done"),
        s.w("sub.behind_one", count=1),
        s.w("status.dnf_timeout"),
        s.w("sub.progress", number=2),
    ],
    "path": lambda s: [s.w("path.roads"), s.w("path.instead_of"), s.w("path.at", index=2, text=s.data["answer_a"][1:], p="55%")],
    "attention": lambda s: [s.w("att.title"), s.w("att.subtitle", name=s.data["ada"], tokens=2, aggregate=s.w("att.agg.mean"))],
    "training": lambda s: [
        s.w("train.title"),
        s.w("train.subtitle"),
        s.w("train.status.running"),
        s.w("train.status.budget_exceeded"),
        s.w("train.step", step=12, max=40),
        s.w("train.loss", loss="1.234"),
        s.w("train.qualification", score=52),
    ],
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
        assert theta == [
            show.w(k)
            for k in (
                "radar.axis.ttft",
                "radar.axis.throughput",
                "radar.axis.accuracy",
                "radar.axis.creativity",
                "radar.axis.logic",
                "radar.axis.values",
                "radar.axis.translation_lag",
            )
        ]
        assert set(axes) == set(theta)
        check_language(show, " ".join(axes), "radar axes")
    check_fonts(show, page, graphic, "#stage")
    snap(show, page, PAGE[graphic].removesuffix(".html"))
    assert page.errors == []


def test_the_output_monitor_stacks_every_graphic_in_the_shows_language(show):
    page = show.open("output.html", "&debug=0")
    layers = page.evaluate("() => [...document.querySelectorAll('#layers > iframe')].map(f => [f.dataset.graphic, f.style.zIndex, f.src])")
    order = [
        "duel",
        "image_poem",
        "subtitles",
        "question",
        "path",
        "attention",
        "radar",
        "training",
        "leaderboard",
        "vote_bars",
        "lower_third",
        "title_card",
        "end_card",
    ]
    assert [g for g, _, _ in layers] == order and set(order) == set(GRAPHICS)
    assert [int(z) for _, z, _ in layers] == sorted(int(z) for _, z, _ in layers)
    for graphic, _, src in layers:
        assert f"/overlays/{PAGE[graphic]}?" in src and "channel=program" in src and f"token={show.live.graphics_token}" in src
    frames = {f.url.split("/overlays/")[1].split("?")[0]: f for f in page.frames[1:]}
    for frame in frames.values():
        frame.wait_for_function("() => window.gavelGraphic && gavelGraphic.visible", timeout=30_000)
    title = frames["title-card.html"]
    title.wait_for_function(
        "(k) => document.querySelector('[data-testid=tc-kicker]').textContent.includes(k)", arg=show.w("stage.kind.speed_qa")
    )
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
