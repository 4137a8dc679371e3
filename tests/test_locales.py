"""The on-air message tables: one per locale, the same keys and placeholders in each, and every
key the pages and stages use present (a missing key would air as an empty label)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from core.locale import LOCALES, Messages, placeholders, table
from core.script import StageSpec

REPO = Path(__file__).resolve().parent.parent
PAGES = [
    *REPO.glob("overlays/*.js"),
    *REPO.glob("overlays/*.html"),
    *REPO.glob("studio/server/static/*.html"),
    *REPO.glob("studio/server/static/**/*.js"),  # the director panel's scripts too (director/*.js)
]
PYTHON = [*REPO.glob("stages/*.py"), *REPO.glob("studio/**/*.py")]
# GavelUI.t(state, "key") / plural(state, "key", n) in the graphics, t("key") / plural("key", n) in
# the pages on gavel-i18n.js, data-i18n="key" in markup.
USED_IN_JS = re.compile(r"""\b(?:t|plural)\(\s*(?:state\s*,\s*)?["']([\w.]+)["']|data-i18n=["']([\w.]+)["']""")
USED_IN_PY = re.compile(r"""messages\.t\(\s*["']([\w.]+)["']""")


def test_every_locale_has_the_same_keys_and_placeholders():
    english = table("en")
    for locale in LOCALES:
        other = table(locale)
        assert set(other) == set(english), f"{locale}: keys differ from en: {sorted(set(other) ^ set(english))}"
        for key, text in other.items():
            assert text.strip(), f"{locale}: {key} is empty"
            assert placeholders(text) == placeholders(english[key]), f"{locale}: {key}: placeholders differ from en"


def test_every_key_the_pages_and_stages_use_exists():
    used = set()
    for path in PAGES:
        used |= {a or b for a, b in USED_IN_JS.findall(path.read_text(encoding="utf-8"))}
    for path in PYTHON:
        used |= set(USED_IN_PY.findall(path.read_text(encoding="utf-8")))
    assert used, "no message keys found: the patterns above are out of date"
    missing = sorted(used - set(table("en")))
    assert not missing, f"keys used but not in the tables: {missing}"


def test_keys_built_from_names_exist_for_every_name():
    kinds = [get_args(spec.model_fields["kind"].annotation)[0] for spec in get_args(get_args(StageSpec)[0])]
    assert "speed_qa" in kinds and "subtitles" in kinds
    names = [f"stage.kind.{k}" for k in kinds] + ["side.pro", "side.con", "turn.opening", "turn.rebuttal", "turn.closing"]
    assert not [n for n in names if n not in table("en")]


def test_chinese_table_is_chinese():
    zh = table("zh-CN")
    han = re.compile(r"[\u4e00-\u9fff]")
    assert sum(1 for text in zh.values() if han.search(text)) / len(zh) > 0.9


def test_messages_fill_placeholders_and_refuse_unknown_locales():
    assert Messages("zh-CN").t("label.question", number=2, of=5) == "第 2 题 / 共 5 题"
    with pytest.raises(ValueError, match="unknown locale"):
        Messages("fr")


def test_every_key_like_string_in_the_pages_is_a_key():
    """A key the pages pick with a condition (t(state, closed ? "a.b" : "a.c")) is still a string
    literal: every literal that looks like a message key (a table's prefix, a dot) must be one."""
    from core.events import event_types

    prefixes = "|".join(sorted({key.split(".")[0] for key in table("en")}))
    literal = re.compile(rf"""["'`]((?:{prefixes})\.[\w.]*\w)["'`]""")
    found = set()
    for path in PAGES:
        found |= set(literal.findall(path.read_text(encoding="utf-8")))
    found -= set(event_types())  # "poll.opened" and the like are events
    found = {s for s in found if not re.search(r"\.(html|css|js|mjs|json)$", s)}  # file names
    assert len(found) > 50, "the pattern above is out of date"
    missing = sorted(found - set(table("en")))
    assert not missing, f"key-like strings that are not in the tables: {missing}"


def test_the_words_pages_look_up_by_name_exist_for_every_name():
    """Keys built from data (a dimension, a status, the picture's facts, a colour, an axis): every
    value the studio can send has its words, so nothing airs untranslated on a Chinese show."""
    import inspect

    from core.events import AnswerFinishedData, ImageFacts, TrainingFinishedData
    from core.script import LEADERBOARD_DIMENSIONS
    from results.radar import AXIS_KEYS
    from stages import image_features
    from store.polls import REFUSALS

    def lit(model, field):
        return get_args(model.model_fields[field].annotation)

    norm = lambda word: word.lower().replace(" ", "_").replace("-", "_")  # GavelUI.word's
    names = [f"dim.{d}" for d in LEADERBOARD_DIMENSIONS] + [f"dim.short.{d}" for d in LEADERBOARD_DIMENSIONS]
    names += [f"train.status.{s}" for s in ("running", *lit(TrainingFinishedData, "status"))]
    names += [f"judge.status.{s}" for s in lit(AnswerFinishedData, "status")]
    names += [f"phone.refused.{r}" for r in REFUSALS]
    names += list(AXIS_KEYS.values()) + ["radar.na", "att.agg.mean", "att.agg.max"]  # attention aggregates but layer:<n>
    facts = [*lit(ImageFacts, "orientation"), *lit(ImageFacts, "tone")]
    for call in re.findall(r"_word\(.*", inspect.getsource(image_features.image_facts)):
        facts += re.findall(r'"([a-z -]+)"', call)
    assert {"very dark", "medium-bright", "high"} <= set(facts)
    names += [f"poem.fact.{norm(w)}" for w in facts]
    colours = {image_features.colour_name((r, g, b)) for r in range(0, 256, 15) for g in range(0, 256, 15) for b in range(0, 256, 15)}
    assert {"dark blue", "orange", "grey"} <= colours
    for colour in colours:
        *shade, base = colour.split()
        names += [f"colour.{base}"] + [f"colour.shade.{s}" for s in shade]
    missing = sorted({n for n in names if n not in table("en")})
    assert not missing, missing


def test_the_studios_figures_speak_the_shows_language():
    """The plotly figures are drawn by the studio: their axes and notes come from the same table."""
    import numpy as np

    from core import events as ev
    from core.locale import ON_AIR_FONT
    from core.state import ShowState
    from engine_pool.attention import AttentionMap
    from results.attention_figure import attention_figure
    from results.radar import AXES, radar_figure

    zh = table("zh-CN")
    state = ShowState()
    state.apply(
        ev.ShowOpened(
            data=ev.ShowOpenedData(
                show_id="s", title="t", stages=[], contestants=[ev.ContestantInfo(id="ada", name="艾达")], locale="zh-CN", messages=zh
            )
        )
    )
    state.apply(
        ev.QuestionAsked(
            data=ev.QuestionAskedData(stage=0, number=1, of=1, question_id="q", text="?", kind="open", time_limit_s=9, deadline_ts=0)
        )
    )
    state.apply(
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(
                question_id="q",
                contestant="ada",
                status="done",
                text="x",
                metrics=ev.AnswerMetrics(ttft=0.5, tpot=0.05, e2e=1, output_tokens=11),
            )
        )
    )
    figure = radar_figure(state)
    theta = figure["data"][0]["theta"]
    assert theta[: len(AXES)] == [zh["radar.axis." + a.lower().replace(" ", "_")] for a in AXES]
    assert zh["radar.na"] in " ".join(figure["data"][0]["text"])  # the axes not measured yet
    assert radar_figure(state, Messages("en"))["data"][0]["theta"][: len(AXES)] == list(AXES)  # the English names, as before
    assert figure["layout"]["font"]["family"] == ON_AIR_FONT and "Noto Sans CJK SC" in ON_AIR_FONT

    tokens = ["Q", " one", " a", " b"]
    matrix = np.tril(np.ones((4, 4), np.float32))
    amap = AttentionMap(tokens, matrix / matrix.sum(axis=1, keepdims=True), (0, 2), 2, "mean")
    notes = [a["text"] for a in attention_figure(amap, 1, Messages("zh-CN"))["layout"]["annotations"]]
    assert notes == [zh["att.question"], zh["att.answer"], Messages("zh-CN").t("att.which_words", word="b")]
    assert [a["text"] for a in attention_figure(amap, 1)["layout"]["annotations"]][:2] == ["question", "answer"]
