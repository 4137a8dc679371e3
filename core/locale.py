"""The show's on-air language: one message table per locale, shared by every page and the stages.

The tables are ``overlays/locales/<locale>.json`` (flat ``key -> text``, ``{name}`` placeholders).
The studio puts the show's table into ``show.opened``, so every graphic, the phones' vote page and
the judges' page read their fixed text from the state they already follow (no second fetch that
could fail on air, and a replay airs the words the show aired). Stages use ``Messages`` for the
text they put on air themselves (poll titles, the poem's brief). ``tests/test_locales.py`` holds
the tables to the same keys and placeholders.
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Literal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "overlays" / "locales"
Locale = Literal["en", "zh-CN"]
LOCALES: tuple[str, ...] = ("en", "zh-CN")

# The on-air font stack (overlays/gavel.css --font), for what the studio draws itself (the plotly
# figures): the Latin faces first, so Latin text looks the same in every locale, then the CJK
# faces for Chinese: Debian's fonts-noto-cjk, then what OBS / CasparCG hosts usually have.
ON_AIR_FONT = (
    '"Inter", "Segoe UI", "Helvetica Neue", "Liberation Sans", Arial, '
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "Noto Sans SC", sans-serif'
)


@lru_cache(maxsize=None)
def table(locale: str) -> dict[str, str]:
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r} (known: {', '.join(LOCALES)})")
    return json.loads((LOCALES_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Messages:
    """``Messages("zh-CN").t("poll.debate_winner", motion=…)``: the text in the show's language."""

    def __init__(self, locale: str = "en"):
        self.locale = locale
        self.table = table(locale)

    def t(self, key: str, **params: object) -> str:
        return self.table[key].format(**params)
