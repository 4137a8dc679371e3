"""Reading a reply for exact-answer grading (stages/exact_answer.py has the rule): the text
normalised as the content filter normalises it, the accepted answers' variants and where they are
mentioned, the reply's sentences and clauses, and what is left of a clause once the question's own
words and fillers are taken out."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from safety.normalize import normalize_char

_QUOTES = {"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'}


def _norm_char(ch: str) -> str:
    if ch in "\r\n\u2028\u2029":
        return "\n"
    if ch.isspace():
        return " "
    view, _ = normalize_char(ch)
    if view and view not in ("@", "$"):
        return view
    if unicodedata.category(ch) == "Cf":
        return ""  # zero-width and other invisible format characters
    ch = unicodedata.normalize("NFKC", ch)
    return "".join(_QUOTES.get(c, c) for c in ch)


def is_cjk(c: str) -> bool:
    return unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def _is_word(c: str) -> bool:
    """A letter or digit of a space-separated script (Latin, Cyrillic, Greek...)."""
    return c.isalnum() and not is_cjk(c)


class Doc:
    """The reply normalised character by character; ``src[i]`` is the raw index of ``norm[i]``."""

    def __init__(self, raw: str):
        self.raw = raw
        parts, src = [], []
        for i, ch in enumerate(raw):
            n = _norm_char(ch)
            parts.append(n)
            src.extend([i] * len(n))
        self.norm = "".join(parts)
        self.src = src

    def raw_span(self, start: int, end: int) -> str:
        return self.raw[self.src[start] : self.src[end - 1] + 1] if end > start else ""


# --- accepted answers and where they are mentioned ------------------------------------------------

_ARTICLE = re.compile(r"^(?:the|a|an)\s+(?=\S)", re.IGNORECASE)


@dataclass(frozen=True)
class _Variant:
    written: str
    key: str  # letters and digits, normalised
    breaks: frozenset[int]  # positions in key where the written form has a space or punctuation
    acronym: bool


def answer_variant(written: str) -> _Variant | None:
    text = unicodedata.normalize("NFKC", written).strip()
    if len(text.split()) > 1:
        text = _ARTICLE.sub("", text)
    key, breaks = [], set()
    for ch in text:
        view = _norm_char(ch)
        if view.isalnum():
            key.append(view)
        elif key:
            breaks.add(len("".join(key)))
    joined = "".join(key)
    if not joined:
        return None
    letters = [c for c in text if c.isalpha()]
    acronym = 2 <= len(joined) <= 4 and bool(letters) and all(c.isupper() and c.isascii() for c in letters)
    return _Variant(written, joined, frozenset(breaks), acronym)


def answer_key(written: str) -> str:
    """The normalised letters and digits of an accepted answer ("" if it has none)."""
    v = answer_variant(written)
    return v.key if v else ""


@dataclass(frozen=True)
class Mention:
    start: int  # in doc.norm
    end: int
    raw: str
    variant: str


_JOINERS = frozenset("=_\\@#&+<>.'~|^%$-")
_ANSWER_KEY = re.compile(r"(?:answer|result)\s*$")
_CJK_ONE_LEFT = frozenset("是为吃选答成或者和与非说")
_CJK_ONE_RIGHT = frozenset("了吧啊呀呢啦哦或还和与也就不吗")
_GAP_ALWAYS = frozenset(" .-'·")
_GAP_AT_BREAK = frozenset(",&")


def _bounded(norm: str, i: int, step: int) -> bool:
    """Is the character beside a Latin mention (at i, looking in direction step) a word boundary?"""
    if not 0 <= i < len(norm):
        return True
    c = norm[i]
    if _is_word(c):
        return False
    if c == "=" and step < 0 and _ANSWER_KEY.search(norm, max(0, i - 12), i):
        return True  # "answer=Paris": a statement, not a token
    if c in _JOINERS:
        beyond = i + step
        return not (0 <= beyond < len(norm) and _is_word(norm[beyond]))
    return True


def find_mentions(doc: Doc, variants: list[_Variant]) -> list[Mention]:
    norm = doc.norm
    pos = [i for i, c in enumerate(norm) if c.isalnum()]
    skel = "".join(norm[i] for i in pos)
    found = []
    for v in variants:
        n = len(v.key)
        k = skel.find(v.key)
        while k != -1:
            start, end = pos[k], pos[k + n - 1] + 1
            if _fits(doc, v, pos, k, start, end):
                found.append(Mention(start, end, doc.raw_span(start, end), v.written))
            k = skel.find(v.key, k + 1)
    kept: list[Mention] = []
    for m in sorted(found, key=lambda m: (m.start, m.start - m.end)):
        if not kept or m.start >= kept[-1].end:
            kept.append(m)
    return kept


def _fits(doc: Doc, v: _Variant, pos: list[int], k: int, start: int, end: int) -> bool:
    norm = doc.norm
    for j in range(1, len(v.key)):
        gap = norm[pos[k + j - 1] + 1 : pos[k + j]]
        if not gap:
            continue
        if len(gap) > 3 or any(c not in _GAP_ALWAYS and not (j in v.breaks and c in _GAP_AT_BREAK) for c in gap):
            return False
        if " " in gap and j not in v.breaks:
            return False
    first, last = norm[start], norm[end - 1]
    if len(v.key) == 1 and is_cjk(first):
        left = norm[start - 1] if start > 0 else " "
        right = norm[end] if end < len(norm) else " "
        return (not left.isalnum() or left in _CJK_ONE_LEFT) and (not right.isalnum() or right in _CJK_ONE_RIGHT)
    if not is_cjk(first) and not _bounded(norm, start - 1, -1):
        return False
    if not is_cjk(last) and not _bounded(norm, end, 1):
        return False
    if v.acronym:
        letters = [c for c in doc.raw[doc.src[start] : doc.src[end - 1] + 1] if c.isalpha()]
        return all(c.isupper() for c in letters)
    return True


# --- sentences, clauses, leftovers ----------------------------------------------------------------

_SENTENCE_END = re.compile(r"\n+|[!?;。！？；…]+|\.(?=\s|$|[\"')\]]|[^\x00-\x7f])")
_CONTRAST_WORDS = (
    r"but|however|yet|whereas|although|though|while|rather|instead|actually|in fact|no wait|"
    r"on second thought"
)
_CJK_CONTRAST = r"但是|但|不过|可是|然而|其实|实际上|事实上|而是|而非|而不是|却|虽然|尽管"
_CLAUSE_BREAK = re.compile(rf"[,，—–()\[\]{{}}]|\s-\s|(?<![a-z0-9'])(?=(?:{_CONTRAST_WORDS})(?![a-z0-9]))|(?={_CJK_CONTRAST})")

# Words that carry no answer: removed before asking "what is left of this clause?".
_FILLERS = frozenset(
    """
    the a an is are was were be been being am it its it's its' that that's thats this these those there there's
    i i'd i'm im id i'll i've me my mine we our you your he she they them their his her
    they're we're you're he's she's who's it'll it'd there're
    would will shall should could can must might may has have had do does did done
    say says said saying think thinks thought believe believes guess reckon suppose answer answers answered
    go goes going with pick choose chose choice option final correct correctly right definitely certainly
    surely obviously clearly probably likely undoubtedly absolutely indeed simply just really actually
    maybe perhaps possibly let lets let's see consider recall remember great good question hope helps thanks
    thank glad happy help hello hi
    of course sure pretty fairly quite very so yes yeah yep well hmm um uh ok okay oh
    in at on from into to by for called named known as one ones only exactly precisely also too
    and then thus therefore hence here now boxed text bold but however yet whereas rather instead again
    become becomes became turn turns turned
    city town capital country nation river ocean sea lake planet mountain mount island language
    currency continent element gas animal letter word name number year state
    """.split()
)
_CJK_FILLERS = sorted(
    """
    的 了 吧 啊 呀 呢 啦 哦 嗯 吗 么 嘛 呗 喔 哈 是 为 乃 就 才 也 都 我 我们 认为 觉得 想 猜
    应该 应当 肯定 但是 但 不过 可是 然而 却 所以 因此 变成 成为 变为 当然 一定 大概 也许
    可能 或许 答案 正确 其实 实际上 事实上 而是 就是 这 那 它 他 她 个 该 选 最 还 很 非常 真的
    城市 国家 星球 行星 语言 动物 字母
    """.split(),
    key=len,
    reverse=True,
)
_CJK_FILLER = re.compile("|".join(_CJK_FILLERS))
_CJK_SUFFIX = frozenset("市省县区国城河江湖海洋山峰岛星语")
_LATIN_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# How far around a mention the rules look, and how many mentions are read: a reply is at most a
# few thousand tokens, and grading runs on the show's event loop, so the work stays linear.
WINDOW = 240
MAX_MENTIONS = 40
MAX_CLAUSES = 200  # clauses without a mention read for other answers: the first and last 100
CAPTION_MAX = 40


def _stem(word: str) -> str:
    word = word.removesuffix("'s")
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class Question:
    stems: frozenset[str]
    cjk: str  # the question's normalised text, for echoed Chinese runs


def read_question(text: str) -> Question:
    norm = Doc(unicodedata.normalize("NFKC", text)).norm
    stems = {_stem(t) for t in _LATIN_TOKEN.findall(norm) if not any(is_cjk(c) for c in t)}
    return Question(frozenset(stems), norm)


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    text: str


def leftover(norm: str, start: int, end: int, question: Question, skip: tuple[int, int] | None = None) -> list[_Piece]:
    """What a span says beyond the question and fillers: Latin words and runs of CJK characters."""
    pieces: list[_Piece] = []
    i = start
    while i < end:
        if skip and skip[0] <= i < skip[1]:
            i = skip[1]
            if i < end and norm[i] in _CJK_SUFFIX:  # 北京市, 长江 for 长: the answer with its kind
                i += 1
            continue
        c = norm[i]
        if is_cjk(c):
            j = i
            while j < end and is_cjk(norm[j]) and not (skip and skip[0] <= j < skip[1]):
                j += 1
            pieces += _cjk_leftover(norm, i, j, question)
            i = j
        elif _is_word(c):
            m = _LATIN_TOKEN.match(norm, i)
            j = m.end() if m else i + 1
            j = min(j, skip[0]) if skip and i < skip[0] < j else j
            word = norm[i:j]
            if word not in _FILLERS and _stem(word) not in question.stems and word.removesuffix("'s") not in _FILLERS:
                pieces.append(_Piece(i, j, word))
            i = j
        else:
            i += 1
    return pieces


def _cjk_leftover(norm: str, start: int, end: int, question: Question) -> list[_Piece]:
    keep = [True] * (end - start)
    i = start
    longest = len(question.cjk)
    while i < end:  # echoed runs of the question, longest first
        for j in range(min(end, i + longest), i + 1, -1):
            if norm[i:j] in question.cjk:
                for k in range(i, j):
                    keep[k - start] = False
                i = j - 1
                break
        i += 1
    for m in _CJK_FILLER.finditer(norm, start, end):
        for k in range(m.start(), m.end()):
            keep[k - start] = False
    pieces, i = [], start
    while i < end:
        if keep[i - start]:
            j = i
            while j < end and keep[j - start]:
                j += 1
            pieces.append(_Piece(i, j, norm[i:j]))
            i = j
        else:
            i += 1
    return pieces


def split_sentences(norm: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(norm):
        if norm[start : m.end()].strip():
            out.append((start, m.end()))
        start = m.end()
    if norm[start:].strip():
        out.append((start, len(norm)))
    return out


def split_clauses(norm: str, start: int, end: int) -> list[tuple[int, int]]:
    out, at = [], start
    for m in _CLAUSE_BREAK.finditer(norm, start, end):
        if m.start() > at and norm[at : m.start()].strip():
            out.append((at, m.start()))
        at = max(at, m.end())
    if norm[at:end].strip():
        out.append((at, end))
    return out


# --- cues -----------------------------------------------------------------------------------------
