"""An automatic check of a poem's form: how many lines, which line endings rhyme.

It is a referee's first glance for the graphic ("4/4 lines, rhymes 1–2, 3–4 ✓"), not a judge of
poetry: creativity is scored by the judges and the audience.

Lines: the answer's non-blank lines, with list markers ("1.", "-", "*") and markdown emphasis or
headings stripped; a line that is only punctuation or a rule ("---") is not a line.

Rhyme, and its limits (it reads spelling, not sound):
- English: a line's end word is reduced to its last vowel group and what follows ("night" ->
  "ight", "away" -> "ay"), after dropping a silent final e ("stone" -> "on"). Two endings rhyme when
  those agree, with two small sound classes ("be/sea/free", "sky/high/pie"). It misses rhymes that
  are spelt apart ("through"/"blue", "sun"/"done") and accepts some eye rhymes ("love"/"move").
  The same word twice is not a rhyme.
- Chinese (and other CJK) lines: without pinyin data only the same final character counts as a
  rhyme, so most real Chinese rhymes (韵脚 by final) are missed.
- A first line that looks like a title ("# Dusk", "**Dusk**", "Title: Dusk") is not counted.
- Only endings within three lines of each other are compared (couplets, ABAB and ABBA quatrains).
A poem meets the form when it has exactly the lines asked and, if rhyme was asked, at least half
its lines rhyme with a nearby line (an ABCB ballad stanza passes, free verse does not).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_MARKER = re.compile(r"^\s*(?:[-*•>#]+|\(?\d{1,2}[.):]|[IVX]{1,4}\.)\s*")
_EMPHASIS = re.compile(r"[*_`~]+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS = "aeiouy"
_SOUND_CLASSES = {"e": "EE", "ee": "EE", "ea": "EE", "i": "EYE", "y": "EYE", "igh": "EYE", "ie": "EYE", "ye": "EYE"}
_TITLE = re.compile(r"^\s*(?:#.*|\*\*[^*]+\*\*:?|title\s*[:：].*)\s*$", re.IGNORECASE)
NEARBY = 3


@dataclass
class PoemForm:
    lines: int
    lines_asked: int
    rhyme_asked: bool
    rhyme_pairs: list[tuple[int, int]] = field(default_factory=list)  # 1-based line numbers
    rhymed_lines: int = 0  # lines that rhyme with a nearby line
    end_words: list[str] = field(default_factory=list)
    meets_form: bool = False
    notes: str = ""


def poem_lines(text: str) -> list[str]:
    raw_lines = [line for line in text.splitlines() if line.strip()]
    if len(raw_lines) > 1 and _TITLE.match(raw_lines[0]):
        raw_lines = raw_lines[1:]  # a title ("# Dusk", "**Dusk**", "Title: Dusk") is not a line
    out = []
    for raw in raw_lines:
        line = _EMPHASIS.sub("", _MARKER.sub("", raw)).strip()
        if any(unicodedata.category(ch)[0] in "LN" for ch in line):
            out.append(line)
    return out


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def end_word(line: str) -> str:
    words = _WORD.findall(line)
    if not words:
        return ""
    last = words[-1]
    return last[-1] if _is_cjk(last[-1]) else last.lower()


def rhyme_key(word: str) -> str | None:
    if not word:
        return None
    if _is_cjk(word[-1]):
        return word[-1]
    w = "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if "a" <= ch <= "z")
    if not w:
        return word.lower()
    if len(w) > 3 and w.endswith("e") and w[-2] not in _VOWELS and any(c in _VOWELS for c in w[:-2]):
        w = w[:-1]  # silent e
    match = re.search(r"[aeiouy]+[^aeiouy]*$", w)
    key = match.group(0) if match else w[-2:]
    if key == "y" and re.search(r"[aeiou]", w[:-1]):
        return "EE"  # "happy", "silently": an unstressed final y
    key = re.sub(r"(.)\1", r"\1", key)  # "mess" ~ "yes"
    if key in _SOUND_CLASSES:
        return _SOUND_CLASSES[key]
    if key.startswith("y") and len(key) > 1:
        key = key[1:] if key[1] in _VOWELS else key  # a leading y is a consonant: "yes"
    return key


def rhymes(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if _is_cjk(a[-1]) or _is_cjk(b[-1]):
        return a[-1] == b[-1]  # the one signal there is without pinyin
    if a == b:
        return False
    ka, kb = rhyme_key(a), rhyme_key(b)
    return ka is not None and ka == kb


def check_form(text: str, lines_asked: int, rhyme_asked: bool) -> PoemForm:
    lines = poem_lines(text)
    ends = [end_word(line) for line in lines]
    pairs = [(i + 1, j + 1) for i in range(len(ends)) for j in range(i + 1, min(len(ends), i + 1 + NEARBY)) if rhymes(ends[i], ends[j])]
    rhymed = {n for pair in pairs for n in pair}
    problems = []
    if len(lines) != lines_asked:
        problems.append(f"{len(lines)} line{'' if len(lines) == 1 else 's'}, {lines_asked} asked")
    if rhyme_asked and (not lines or 2 * len(rhymed) < len(lines)):
        problems.append(f"{len(rhymed)} of {len(lines)} line{' rhymes' if len(lines) == 1 else 's rhyme'}")
    return PoemForm(
        lines=len(lines),
        lines_asked=lines_asked,
        rhyme_asked=rhyme_asked,
        rhyme_pairs=pairs,
        rhymed_lines=len(rhymed),
        end_words=ends,
        meets_form=not problems,
        notes="; ".join(problems),
    )
