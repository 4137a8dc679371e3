r"""Grade a contestant's free-text reply to a bank question.

Why a fixed rule and not a judge model: the verdict goes on air the moment a reply ends, and the
director must be able to say why it was right or wrong. Contestants are small chat models that
wrap the answer in prose ("The answer is 69."), markdown ("**42**") or words ("sixty-nine");
the rule finds it there, and never rewards a reply that hedges by naming several answers.

The rule, exactly:

1. Prepare the reply: NFKC (full-width → half-width), "−" → "-".
2. Look in these places in order; the first that holds a candidate decides:
   a. statement — after "answer is/was/would be/:/=", "answer to … is", "correct option/choice
      is", 答案是/为/：, to the end of that sentence; the last statement first;
   b. emphasis — **bold**, __bold__, \boxed{…} (bold ending in ":" is a heading, skipped); last first;
   c. equation — after "=" or 等于, to the end of the sentence; last first;
   d. reply — the whole text.
   In a–c (cut after their last "=" if they hold one) the answer is the first candidate; in d it
   is the last candidate for numeric (models show working, then conclude) and the first for the
   other kinds (they lead with the answer).
3. Candidates:
   numeric — numbers (-3.5, 1,234, "minus 7" unless it follows a number), English number words
             (sixty-nine, twenty one, one hundred and five; a lone "one" after "the/this/which…"
             is a pronoun), and in a–c only Chinese numerals (八, 一百零五; elsewhere they are too
             often part of words such as 一个);
   mcq     — a choice letter: B, B), (B); lower case only as (b), b) or a statement that is just
             "b"; a capital A/I before a lower-case word is the article/pronoun ("A cat") unless
             that word is a verb or a conjunction ("A is right", "A or B"); or the text of a
             choice ("Brussels"); either gives the letter;
   boolean — yes/no/true/false ("not true" is false; "no" only where it ends a clause or starts a
             sentence, so "no doubt" is not an answer), and standalone 是/是的/对/正确/没错 versus
             不是/否/不对/错/错误/不正确;
   exact   — read by stages/exact_answer.py, not by the places above: see its docstring for the
             rule, exactly. In short: the accepted answers (``answer``, a list ``answer``, and
             ``aliases``) are normalised like the content filter's text; a mention counts only as
             a whole word (Latin scripts) and only where the reply commits to it — not negated
             ("not Paris", "不是北京"), not attributed or conceded ("many think Paris, but…"),
             not hedged with another answer ("Paris or Lyon", "可能是X也可能是Y"), not in
             passing. It is right when the reply commits to the answer, wrong when it rejects
             it, commits to something else or never names it, and **uncertain** (``correct`` is
             None) when it hedges between the answer and another, commits to both, or names the
             answer without committing to anything.
4. Hedging (numeric, mcq, boolean): the chosen candidate and any candidates chained to it by
   nothing but list separators (, / ; & ( ) - ~ "or" "and" "to" "either" "maybe" 或 或者 还是 和
   与 、) must share one value, else the reply is wrong with extracted=None ("42 or 43",
   "A, B, C"; "B) Brussels" is fine): the rule on screen asks for one number or one letter.
5. Compare: numbers by value (3.50 == 3.5), mcq by letter, boolean by truth. No candidate
   anywhere: wrong.

Every verdict carries ``reason``: the span it took, where it was found and why it decided, for
the director's panel and the log ("took “69” (statement after “answer is”); it is the answer 69").

Known limit: an mcq choice written as a number matches only as written ("1,760", not "1760").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from string import ascii_uppercase

from .banks import Question, parse_number
from .exact_answer import grade_exact


@dataclass(frozen=True)
class Verdict:
    correct: bool | None  # None: uncertain (exact answers only) — decided later from the panel
    extracted: str | None  # what the contestant answered, fit for a caption ("69", "B", "Brussels")
    reason: str = ""  # which span was taken and why, in words


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    value: object  # Decimal (numeric), letter (mcq) or bool (boolean)
    label: str


def grade(question: Question, text: str) -> Verdict:
    text = unicodedata.normalize("NFKC", text).replace("−", "-")
    if question.kind == "exact":
        verdict = grade_exact(question.question, question.accepted, text)
        return Verdict(verdict.correct, verdict.extracted, verdict.reason)
    find, target = _FINDERS[question.kind](question)
    expected = _EXPECTED[question.kind](question)
    for span, tier in _spans(text):
        candidates = _drop_overlaps(find(span, tier))
        if not candidates:
            continue
        index = len(candidates) - 1 if tier == "reply" and question.kind == "numeric" else 0
        chained = _chained(span, candidates, index)
        if len({c.value for c in chained}) > 1:
            named = " and ".join(dict.fromkeys(f"“{c.label}”" for c in sorted(chained, key=lambda c: c.start)))
            return Verdict(False, None, f"hedges: names {named} side by side in the {_TIERS[tier]}")
        chosen = candidates[index]
        where = _TIERS[tier] if tier != "reply" else ("last " if index else "first ") + "candidate in the reply"
        ok = chosen.value == target
        return Verdict(ok, chosen.label, f"took “{chosen.label}” ({where}); {'it is' if ok else 'not'} the answer {expected}")
    return Verdict(False, None, f"no {_NOUN[question.kind]} found; the answer is {expected}")


_TIERS = {
    "statement": "statement after “answer is”",
    "emphasis": "bold or boxed text",
    "equation": "equation",
    "reply": "reply",
}
_NOUN = {"numeric": "number", "mcq": "choice letter or choice text", "boolean": "yes/no or true/false"}
_EXPECTED: dict[str, Callable[[Question], str]] = {
    "numeric": lambda q: q.answer,
    "mcq": lambda q: q.answer,
    "boolean": lambda q: "yes" if q.truth else "no",
}


# --- where to look -------------------------------------------------------------------------------

_STATEMENT = re.compile(
    r"\b(?:answer(?:\s+to\s+[^.:\n]{1,40}?)?|correct\s+(?:option|choice))\s*"
    r"(?:(?:is|was|would\s+be|will\s+be|should\s+be)\b\s*:?|[:=])"
    r"|答案\s*(?:是|为|[:=])\s*:?",
    re.IGNORECASE,
)
_EMPHASIS = re.compile(r"\*\*([^*\n]+?)\*\*|__([^_\n]+?)__|\\boxed\{([^{}\n]*)\}")
_EMPHASIS_MARKS = re.compile(r"\*\*|__|`")
_EQUALS = re.compile(r"(?<![<>=!])=(?![=>])|等于")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？\n]")


def _spans(text: str) -> Iterator[tuple[str, str]]:
    """(span, tier) in the order of rule 2."""
    plain = _EMPHASIS_MARKS.sub("", text)
    for marker in reversed(list(_STATEMENT.finditer(plain))):
        yield _sentence_after(plain, marker.end()), "statement"
    for emphasis in reversed(list(_EMPHASIS.finditer(text))):
        inner = next(group for group in emphasis.groups() if group is not None)
        if not inner.rstrip().endswith(":"):
            yield inner, "emphasis"
    for marker in reversed(list(_EQUALS.finditer(plain))):
        yield _sentence_after(plain, marker.end()), "equation"
    yield plain, "reply"


def _sentence_after(text: str, start: int) -> str:
    rest = text[start:].lstrip()
    end = _SENTENCE_END.search(rest)
    sentence = rest[: end.start()] if end else rest
    return _EQUALS.split(sentence)[-1]


def _drop_overlaps(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep the longest of overlapping candidates (the choice "Vitamin A" over the letter A)."""
    kept: list[_Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.start, c.start - c.end)):
        if not kept or c.start >= kept[-1].end:
            kept.append(c)
    return kept


_LIST_GAP = re.compile(
    r"(?:[\s,;/|&()\[\]、，；:~–-]|\b(?:or|and|to|either|maybe|perhaps|possibly)\b|或者|或|还是|和|与)*",
    re.IGNORECASE,
)


def _chained(span: str, candidates: list[_Candidate], index: int) -> list[_Candidate]:
    """The candidate at ``index`` and its neighbours linked to it by list separators only."""
    group = [candidates[index]]
    for step in (-1, 1):
        i = index
        while 0 <= i + step < len(candidates):
            left, right = sorted((candidates[i], candidates[i + step]), key=lambda c: c.start)
            if not _LIST_GAP.fullmatch(span[left.end : right.start]):
                break
            i += step
            group.append(candidates[i])
    return group


# --- numeric -------------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])"
    r"(?:(?<!\d\s)(minus|negative)\s+)?"  # a sign word, unless it follows a number ("10 minus 3")
    r"([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?!\d)",
    re.IGNORECASE,
)
_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"thousand": 1000, "million": 1_000_000}
_NUMBER_WORDS = _UNITS.keys() | _TENS.keys() | _SCALES.keys() | {"hundred"}
_WORD = re.compile(r"[A-Za-z]+")
_WORD_GAP = re.compile(r"[ \t-]+")
_BEFORE_PRONOUN_ONE = frozenset("the this that which each any every no only right correct wrong another other same first last".split())
_ZH_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_DIGIT_RUN = re.compile(r"[一二两三四五六七八九〇][一二两三四五六七八九〇零]")


def _numeric(question: Question) -> tuple[Callable[[str, str], list[_Candidate]], Decimal]:
    return _numbers, question.number


def _numbers(span: str, tier: str) -> list[_Candidate]:
    found = []
    for m in _NUMBER.finditer(span):
        value = parse_number(m.group(2)) * (-1 if m.group(1) else 1)
        found.append(_Candidate(m.start(), m.end(), value, _number_label(value, m.group(2))))
    found += _number_words(span)
    if tier != "reply":
        found += [
            _Candidate(m.start(), m.end(), Decimal(v), str(v)) for m in _ZH_NUMBER.finditer(span) if (v := _zh_value(m.group())) is not None
        ]
    return found


def _number_label(value: Decimal, written: str) -> str:
    """As written, less separators and sign noise: "1,234" → "1234", "3.50" stays "3.50"."""
    digits = written.replace(",", "").lstrip("+-")
    return f"-{digits}" if value < 0 else digits


def _number_words(span: str) -> list[_Candidate]:
    words = list(_WORD.finditer(span))
    found = []
    i = 0
    while i < len(words):
        j, value = _read_number_words(span, words, i)
        if j == i:
            i += 1
            continue
        start = words[i].start()
        pronoun = j == i + 1 and value == 1 and i > 0 and words[i - 1].group().lower() in _BEFORE_PRONOUN_ONE
        if not pronoun:
            found.append(_Candidate(start, words[j - 1].end(), Decimal(value), str(value)))
        i = j
    return found


def _read_number_words(span: str, words: list[re.Match], i: int) -> tuple[int, int]:
    """Read the longest well-formed number starting at ``words[i]``: (index after it, value)."""

    def word(k: int) -> str:
        return words[k].group().lower()

    def joined(k: int) -> bool:  # words k-1 and k are separated by spaces or a hyphen only
        return _WORD_GAP.fullmatch(span[words[k - 1].end() : words[k].start()]) is not None

    def is_number(k: int) -> bool:
        return k < len(words) and joined(k) and (word(k) in _UNITS or word(k) in _TENS)

    sign, j = 1, i
    after_number = i > 0 and joined(i) and word(i - 1) in _NUMBER_WORDS  # "ten minus three" is a sum
    if word(i) in ("minus", "negative") and is_number(i + 1) and not after_number:
        sign, j = -1, i + 1
    total = current = 0
    last = None
    end = i
    while j < len(words) and (j == i or joined(j)):
        w = word(j)
        if w in _UNITS and (last is None or (w != "zero" and last in ("hundred", "scale")) or (last == "tens" and 0 < _UNITS[w] < 10)):
            current, last = current + _UNITS[w], "unit"
        elif w in _TENS and last in (None, "hundred", "scale"):
            current, last = current + _TENS[w], "tens"
        elif w == "hundred" and last == "unit" and 0 < current < 20:
            current, last = current * 100, "hundred"
        elif w in _SCALES and last in ("unit", "tens", "hundred") and current > 0:
            total, current, last = total + current * _SCALES[w], 0, "scale"
        elif w == "and" and last in ("hundred", "scale") and is_number(j + 1):
            j += 1
            continue
        else:
            break
        j += 1
        end = j
    return (end, sign * (total + current)) if last else (i, 0)


def _zh_value(numeral: str) -> int | None:
    """一百零五 → 105; None for digit runs such as 一二三 that are not one number."""
    if _ZH_DIGIT_RUN.search(numeral):
        return None
    total = section = digit = 0
    for char in numeral:
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif char == "万":
            total, section, digit = total + (section + digit) * 10_000, 0, 0
        else:
            section, digit = section + (digit or 1) * _ZH_UNITS[char], 0
    return total + section + digit


# --- mcq -----------------------------------------------------------------------------------------

_LETTER = re.compile(r"(?<![A-Za-z0-9'’])(\()?([A-Za-z])(\))?(?![A-Za-z0-9'’])")
_NEXT_WORD = re.compile(r"\s+([a-z]+)")
# After these words a capital A or I is a choice letter ("A is right", "A or B"), not an article.
_WORDS_AFTER_LETTER = frozenset("is was seems looks would should could must can fits matches appears or and nor".split())


def _mcq(question: Question) -> tuple[Callable[[str, str], list[_Candidate]], str]:
    letters = ascii_uppercase[: len(question.choices or [])]
    choices = [(letter, _phrase(choice)) for letter, choice in zip(letters, question.choices or [])]

    def find(span: str, tier: str) -> list[_Candidate]:
        found = [_Candidate(m.start(1), m.end(1), letter, letter) for letter, pattern in choices for m in pattern.finditer(span)]
        for m in _LETTER.finditer(span):
            opening, letter, closing = m.groups()
            if letter.upper() not in letters:
                continue
            if letter.islower() and not (opening or closing or (tier == "statement" and span.strip(" .!") == letter)):
                continue
            if letter in "AI" and not (opening or closing):
                after = _NEXT_WORD.match(span, m.end())
                if after and after.group(1) not in _WORDS_AFTER_LETTER:
                    continue  # "A cat", "I think"
            found.append(_Candidate(m.start(), m.end(), letter.upper(), letter.upper()))
        return found

    return find, question.answer


# --- boolean -------------------------------------------------------------------------------------

_EN_BOOL = re.compile(r"(?<![A-Za-z])(?:(?:(not)\s+)?(true|false)|(yes|no))(?![A-Za-z])", re.IGNORECASE)
_CLAUSE_START = re.compile(r"(?:^|[.!?:;。！？：；\n])\s*$")
_CLAUSE_END = re.compile(r"\s*(?:[.,!?;:。，！？；：)\]]|$)")
_ZH_BOOL = re.compile(r"(?<!\w)(不是|不对|不正确|错误|没错|正确|是|对|否|错)[的了]?(?!\w)")
_ZH_TRUE = frozenset({"是", "对", "正确", "没错"})


def _boolean(question: Question) -> tuple[Callable[[str, str], list[_Candidate]], bool]:
    return _booleans, question.truth


def _booleans(span: str, tier: str) -> list[_Candidate]:
    found = []
    for m in _EN_BOOL.finditer(span):
        negated, true_false, yes_no = m.groups()
        if true_false:
            value = (true_false.lower() == "true") != bool(negated)
            found.append(_Candidate(m.start(), m.end(), value, "true" if value else "false"))
        elif yes_no.lower() == "yes":
            found.append(_Candidate(m.start(), m.end(), True, "yes"))
        elif _CLAUSE_START.search(span, 0, m.start()) or _CLAUSE_END.match(span, m.end()):
            found.append(_Candidate(m.start(), m.end(), False, "no"))
    for m in _ZH_BOOL.finditer(span):
        value = m.group(1) in _ZH_TRUE
        found.append(_Candidate(m.start(), m.end(), value, "是" if value else "否"))
    return found


_FINDERS = {"numeric": _numeric, "mcq": _mcq, "boolean": _boolean}


# --- choice text (mcq) ----------------------------------------------------------------------------

_PHRASE_WORDS = re.compile(r"[^\W_]+")
_ARTICLES = frozenset({"a", "an", "the"})
_WORD_JOINER = r"[\W_]+(?:(?:a|an|the)[\W_]+)?"


def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK")


def _phrase(phrase: str) -> re.Pattern:
    """Match ``phrase`` (group 1) ignoring case, punctuation and articles; whole words unless Chinese."""
    phrase = unicodedata.normalize("NFKC", phrase).strip()
    words = _PHRASE_WORDS.findall(phrase)
    core = [w for w in words if w.casefold() not in _ARTICLES] or words
    if not core:
        return re.compile(f"({re.escape(phrase)})")
    body = "(" + _WORD_JOINER.join(map(re.escape, core)) + ")"
    if len(phrase) == 1 and _is_cjk(phrase):
        return re.compile(rf"^\W*{body}\W*$")
    before = "" if _is_cjk(core[0][0]) else r"(?<![A-Za-z0-9])"
    after = "" if _is_cjk(core[-1][-1]) else r"(?![A-Za-z0-9])"
    return re.compile(before + body + after, re.IGNORECASE)
