"""Text → skeleton: the canonical form that rules are matched against.

A model (or a viewer who talks it into something) can dodge a plain substring check with
``f o r b i d d e n``, ``ｆｏｒｂｉｄｄｅｎ``, ``FoRbIdDeN``, a zero-width space, a Cyrillic ``о``, ``f0rb1dden``
or ``違禁詞語`` for ``违禁词语``. Every raw character is therefore mapped on its own to zero or more
skeleton characters, and each skeleton character remembers the raw index it came from, so a hit
found in the skeleton masks the right raw span (separators and invisible characters inside the
span included).

Per raw character, in order (one character at a time, so the result of a text is the
concatenation of its characters' results and a stream can be normalised as it arrives):

1. NFKC: full-width, math-alphanumeric, circled, ligature and compatibility forms → plain.
2. NFD, then drop every combining mark (category M): diacritics (``fórbídden``), variation
   selectors (FE00–FE0F, E0100–E01EF), the combining grapheme joiner.
3. Look-alikes (``HOMOGLYPHS``): Cyrillic/Greek letters that look Latin, Latin small capitals,
   a few stroked letters (ø ł đ). The table is case-sensitive on purpose: Greek ``Η`` looks like
   H but ``η`` looks like n, so it is applied before case folding (and once more after).
4. Case folding (``str.casefold``: ß → ss).
5. Traditional → simplified Chinese (``T2S``, a small vendored table: no OpenCC offline; it
   covers the characters of the shipped zh rule lists plus common ones; extend it with the lists).
6. Non-ASCII decimal digits (Arabic-Indic, Devanagari…) → ASCII digits.
7. Keep only letters and numbers (Unicode categories L*, N*; CJK ideographs are Lo) plus ``@``
   and ``$``. Everything else is dropped: spaces, punctuation, symbols, and the format/zero-width
   characters (ZWSP, ZWNJ, ZWJ, WJ, BOM, soft hyphen, tag characters are all category Cf). The
   Hangul fillers are letters that render as nothing and are dropped explicitly.

That gives the **view** (what regex rules see: digits stay digits, so a card number is still a
card number). Phrase rules see the **fold**, the same length as the view with one more step:

8. Leet folding (``LEET``): ``0→o 1→i 3→e 4→a 5→s 7→t @→a $→s`` and ``l→i``. ``1`` is both i
   and l in leet, so i, l and 1 are one class in the fold (``k1ll`` = ``kiii`` = ``kill``).
   Not folded: 2, 6, 8, 9 (each stands for several letters or for a word: 2=to/z, 8=ate/b,
   9=g/q, 6=b/g), and ``! | +`` (as common as separators as they are as letters: folding them
   would let ``f!o!r!b…`` escape, dropping them lets ``k!ll`` escape; we drop them). ``@`` and
   ``$`` are folded, so ``f$o$r$b…`` escapes phrase rules: a known gap. Multi-letter look-alikes
   (``rn``→m, ``vv``→w) and emoji letters (🅰) are not handled.

Known costs of the skeleton: word boundaries are gone, so a phrase also matches inside longer
words (pick distinctive phrases), and folding merges a few letters (l/i) into one class.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


def _table(*pairs: tuple[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for src, dst in pairs:
        assert len(src) == len(dst), (src, dst)
        out.update(zip(src, dst))
    return out


HOMOGLYPHS: dict[str, str] = _table(
    # Cyrillic capitals and small letters that render like Latin ones
    ("АВЕКМНОРСТУХЅІЈԀԚԜҮҺӀ", "abekmhopctyxsijdqwyhl"),
    ("авекмнорстухѕіјԁһӏԛԝүпгь", "abekmhopctyxsijdhlqwynrb"),
    # Greek capitals and small letters
    ("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "abezhikmnoptyx"),
    ("αβγεηικμνορτυχω", "abyenikuvoptuxw"),
    # Latin small capitals, dotless i/j, script a/g, stroked letters, Armenian o, Cyrillic ghe
    # with stroke (the usual stand-in for the missing small-capital F)
    ("ᴀʙᴄᴅᴇɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdeghijklmnoprstuvwyz"),
    ("ıȷɑɡøØłŁđĐħŧօғҒ", "ijagoollddhtoff"),
)

# Traditional → simplified (one character each, only pairs whose traditional form is not also a
# standard simplified character, so applying it to simplified text changes nothing).
T2S: dict[str, str] = {
    t: s
    for t, s in (
        "藥药 違违 詞词 語语 機机 檔档 發发 髮发 碼码 彈弹 製制 祕秘 槍枪 擊击 殺杀 販贩 賣卖 買买 錢钱 號号 "
        "電电 話话 網网 絡络 帳账 戶户 銀银 這这 個个 們们 說说 會会 來来 時时 國国 為为 對对 開开 關关 問问 "
        "題题 學学 麼么 後后 裡里 裏里 與与 從从 樣样 還还 點点 讓让 給给 現现 經经 過过 種种 應应 動动 實实 "
        "體体 處处 無无 單单 將将 長长 門门 見见 認认 論论 邊边 進进 區区 員员 義义 傳传 視视 聽听 車车 東东 "
        "飛飞 馬马 魚鱼 鳥鸟 龍龙 書书 寫写 讀读 頭头 臉脸 愛爱 氣气 雲云 風风 陽阳 陰阴 萬万 億亿 兩两 師师 "
        "歲岁 節节 報报 紙纸 記记 計计 設设 許许 證证 據据 權权 險险 規规 則则 標标 準准 測测 試试 驗验 錯错 "
        "誤误 軍军 資资 訊讯 詐诈 騙骗 賭赌 黃黄 襲袭 並并 該该 確确"
    ).split()
}

LEET: dict[str, str] = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "l": "i"}

_KEEP_SYMBOLS = frozenset("@$")
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")  # Hangul fillers (category Lo)


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.category(c).startswith("M"))


def _map(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) for c in text)


def _keep(c: str) -> bool:
    return (unicodedata.category(c)[0] in "LN" and c not in _INVISIBLE_LETTERS) or c in _KEEP_SYMBOLS


def _ascii_digit(c: str) -> str:
    return str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.category(c) == "Nd" else c


def _normalize_char(ch: str) -> tuple[str, str]:
    s = _strip_marks(unicodedata.normalize("NFKC", ch))
    s = _map(_strip_marks(_map(s, HOMOGLYPHS).casefold()), HOMOGLYPHS)
    view = "".join(_ascii_digit(c) for c in _map(s, T2S) if _keep(c))
    return view, _map(view, LEET)


_CACHE: dict[str, tuple[str, str]] = {}
_CACHE_MAX = 1 << 16  # an uploaded file could hold every code point: memory stays bounded


def normalize_char(ch: str) -> tuple[str, str]:
    """``(view, fold)`` for one raw character: two strings of the same length (often empty).

    Memoised: a show sees a few thousand distinct characters, and this is the hot path.
    """
    out = _CACHE.get(ch)
    if out is None:
        out = _normalize_char(ch)
        if len(_CACHE) < _CACHE_MAX:
            _CACHE[ch] = out
    return out


@dataclass(frozen=True)
class Skeleton:
    """A whole text normalised: ``view[i]``/``fold[i]`` came from raw character ``src[i]``."""

    view: str
    fold: str
    src: tuple[int, ...]

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw span ``[a, b)`` covering skeleton characters ``[start, end)``."""
        return self.src[start], self.src[end - 1] + 1


def skeleton(text: str) -> Skeleton:
    view, fold, src = [], [], []
    for i, ch in enumerate(text):
        v, f = normalize_char(ch)
        view.append(v)
        fold.append(f)
        src.extend([i] * len(v))
    return Skeleton("".join(view), "".join(fold), tuple(src))
