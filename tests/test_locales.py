"""The on-air message tables: one per locale, the same keys and placeholders in each, and every
key the pages and stages use present (a missing key would air as an empty label)."""

from __future__ import annotations

import re
from pathlib import Path

from typing import get_args

import pytest

from studio.locale import LOCALES, Messages, placeholders, table
from studio.show_script import StageSpec

REPO = Path(__file__).resolve().parent.parent
PAGES = [*REPO.glob("overlays/*.js"), *REPO.glob("overlays/*.html"), *REPO.glob("studio/static/*.html"), *REPO.glob("studio/static/*.js")]
PYTHON = [*REPO.glob("stages/*.py"), *REPO.glob("studio/**/*.py")]
USED_IN_JS = re.compile(r"""\bt\(\s*state\s*,\s*["']([\w.]+)["']|data-i18n=["']([\w.]+)["']""")
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
