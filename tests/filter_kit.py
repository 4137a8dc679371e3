"""Shared by the content filter's tests (test_safety_filter.py, test_safety_rules.py): the shipped
rules, the disguises a banned phrase is streamed in, the adversarial splits, and running a filter
over a list of tokens."""

from __future__ import annotations

import random

from safety import StreamFilter, shipped_rules, skeleton
from safety.normalize import T2S

RULES = shipped_rules()
PHRASES = {r.id: r for r in RULES.phrases}
BANNED_FOLDS = [skeleton(r.pattern).fold for r in RULES.phrases]
S2T = {s: t for t, s in T2S.items()}

# --- disguises -----------------------------------------------------------------------------------

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\ufe0f"]
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "s": "ѕ", "h": "һ", "d": "ԁ"}
LEET = {"o": "0", "e": "3", "a": "4", "s": "5", "t": "7", "i": "1", "l": "1"}


def between(text: str, seps: list[str]) -> str:
    """Put separators between characters (never before the first or after the last)."""
    return text[0] + "".join(seps[i % len(seps)] + c for i, c in enumerate(text[1:]))


def fullwidth(text: str) -> str:
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


EN_DISGUISES = {
    "plain": lambda p: p,
    "upper": str.upper,
    "mixed-case": lambda p: "".join(c.upper() if i % 2 else c for i, c in enumerate(p)),
    "zero-width": lambda p: between(p, ZERO_WIDTH),
    "fullwidth": fullwidth,
    "punctuation": lambda p: between(p, [".", "-", " ", "_", "*", "/", "…", ",  "]),
    "cyrillic": lambda p: "".join(CYRILLIC.get(c, c) for c in p),
    "leet": lambda p: "".join(LEET.get(c, c) for c in p),
    "diacritics": lambda p: "".join(c + "\u0301" if c in "aeiou" else c for c in p),
    "everything": lambda p: between(fullwidth("".join(CYRILLIC.get(c, c) for c in p).upper()), ["\u200b", ". "]),
}
ZH_DISGUISES = {
    "plain": lambda p: p,
    "traditional": lambda p: "".join(S2T.get(c, c) for c in p),
    "zero-width": lambda p: between(p, ZERO_WIDTH),
    "punctuation": lambda p: between(p, [" ", "·", "，", "\u3000", "-"]),
    "traditional+separators": lambda p: between("".join(S2T.get(c, c) for c in p), ["\u200b", "、"]),
}


def disguised(rule_ids: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for rule_id in rule_ids:
        phrase = PHRASES[rule_id].pattern
        table = ZH_DISGUISES if phrase.isascii() is False else EN_DISGUISES
        out += [(rule_id, name, f(phrase)) for name, f in table.items()]
    return out


# --- streaming helpers ---------------------------------------------------------------------------


def one_char(text: str, seed: int) -> list[str]:
    return list(text)


def random_split(text: str, seed: int) -> list[str]:
    rng, out, i = random.Random(seed), [], 0
    while i < len(text):
        n = rng.randint(1, 6)
        out.append(text[i : i + n])
        i += n
    return out


SPLITS = [("1-char", one_char, 0)] + [(f"random-{s}", random_split, s) for s in range(6)]


def run(tokens: list[str], f: StreamFilter | None = None, finish: bool = True):
    f = f or StreamFilter(RULES)
    releases = []
    for t in tokens:
        releases += f.feed(t)
    if finish:
        releases += f.finish()
    return f, "".join(r.text for r in releases), releases


def hits_of(releases) -> list:
    return [h for r in releases for h in r.hits]


def assert_nothing_banned(text: str) -> None:
    fold = skeleton(text).fold
    for banned in BANNED_FOLDS:
        assert banned not in fold, (banned, text)


def around(rule_id: str) -> tuple[str, str]:
    return ("开场白：", "。后面的话很正常。") if not PHRASES[rule_id].pattern.isascii() else ("Intro: ", " and more clean text.")
