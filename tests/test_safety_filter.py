"""The content filter: banned phrases never reach air, however they are split, spelled or disguised.

Each banned phrase of the shipped en/zh lists is streamed inside clean text, disguised (case,
full-width, zero-width characters, separators between letters, Cyrillic look-alikes, leet,
diacritics, traditional characters) and split adversarially (one character per token, seeded
random splits). For mask rules the released text must be exactly the raw text with the disguised
phrase blanked; cut stops with 'withheld'; hold releases nothing past the hit until approve().
(hypothesis is not installed in this project, so the random splits are seeded.)
Regex rules, the classifier hook, the input check and the rule files: test_safety_rules.py.
"""

from __future__ import annotations

import random
import unicodedata

import pytest

from safety import StreamFilter, skeleton
from safety.normalize import T2S
from safety.stream_filter import MASK

from .filter_kit import RULES, SPLITS, around, assert_nothing_banned, disguised, hits_of, one_char, random_split, run

MASKED = disguised(["test-forbidden-phrase", "test-zh-banned-words"])
CUT = disguised(["test-secret-launch-code", "test-zh-explosive-recipe"])
HELD = disguised(["test-classified-dossier", "test-zh-classified-file"])


# --- normaliser ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, fold",
    [
        ("Forbidden Phrase", "forbiddenphrase"),
        ("f.o.r-b i_d", "forbid"),
        ("ｆｏｒｂｉｄ", "forbid"),
        ("f\u200bo\u00adr\u2060b\ufeffi\u200dd", "forbid"),
        ("fоrbіd", "forbid"),  # Cyrillic о, і
        ("ΗΕΑΤ", "heat"),  # Greek capitals
        ("baηηed", "banned"),  # Greek small eta reads as n
        ("f0rb1dd3n", "forbidden"),
        ("fórbí\u0301d", "forbid"),
        ("𝐟𝐨𝐫𝐛", "forb"),
        ("ᴄʟᴀssɪғɪᴇᴅ", "ciassified"),  # l and i are one class in the fold
        ("違禁詞語", "违禁词语"),
        ("違 禁·詞，語", "违禁词语"),
        ("$ecret @gent", "secretagent"),
        ("٣٤", "ea"),  # Arabic-Indic digits → 3 4 → leet
    ],
)
def test_fold(raw, fold):
    assert skeleton(raw).fold == fold


def test_view_keeps_digits_and_maps_back_to_raw_indexes():
    sk = skeleton("Card: 4111-1111 ﬁ")
    assert sk.view == "card41111111fi"
    assert sk.src[-2:] == (16, 16)  # both letters of the ligature come from raw index 16
    assert sk.raw_span(4, 12) == (6, 15)


def test_traditional_table_is_idempotent_on_simplified_text():
    assert not set(T2S) & set(T2S.values())


# --- mask ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("split_name, split, seed", SPLITS, ids=[s[0] for s in SPLITS])
@pytest.mark.parametrize("rule_id, disguise, variant", MASKED, ids=[f"{r}-{d}" for r, d, _ in MASKED])
def test_masked_phrase_is_blanked_and_clean_text_goes_through(rule_id, disguise, variant, split_name, split, seed):
    before, after = around(rule_id)
    raw = before + variant + after
    f, released, releases = run(split(raw, seed))
    assert released == before + MASK * len(variant) + after
    assert [h.rule_id for h in hits_of(releases)] == [rule_id]
    hit = hits_of(releases)[0]
    core = variant.rstrip("\u0301")  # the span ends at the last letter; a trailing mark is masked with it
    assert hit.raw_span == (len(before), len(before) + len(core)) and hit.text == core
    assert f.state == "done" and releases[-1].state == "done"
    assert_nothing_banned(released)


def test_two_hits_and_clean_text_between():
    raw = "a forbidden phrase, then FORBIDDEN PHRASE! ok"
    _, released, releases = run(random_split(raw, 3))
    assert released == "a " + MASK * 16 + ", then " + MASK * 16 + "! ok"
    assert len(hits_of(releases)) == 2


# --- cut -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("split_name, split, seed", SPLITS, ids=[s[0] for s in SPLITS])
@pytest.mark.parametrize("rule_id, disguise, variant", CUT, ids=[f"{r}-{d}" for r, d, _ in CUT])
def test_cut_stops_the_answer_withheld(rule_id, disguise, variant, split_name, split, seed):
    before, after = around(rule_id)
    f, released, releases = run(split(before + variant + after, seed))
    assert released == before
    assert releases[-1].state == "withheld" and f.state == "withheld"
    assert [(h.rule_id, h.action) for h in hits_of(releases)] == [(rule_id, "cut")]
    assert f.feed("more text") == [] and f.finish() == []


# --- hold ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("split_name, split, seed", SPLITS[:3], ids=[s[0] for s in SPLITS[:3]])
@pytest.mark.parametrize("rule_id, disguise, variant", HELD, ids=[f"{r}-{d}" for r, d, _ in HELD])
def test_hold_releases_nothing_after_the_hit_until_approved(rule_id, disguise, variant, split_name, split, seed):
    before, after = around(rule_id)
    f, released, releases = run(split(before + variant + after, seed))
    assert released == before
    assert f.state == "held" and f.pending_hold.rule_id == rule_id
    held_release = next(r for r in releases if r.hits)
    assert held_release.state == "held" and held_release.hits[0].action == "hold"
    assert_nothing_banned(released)
    (approved,) = f.approve()
    assert approved.text == variant + after and approved.state == "done"


def test_hold_approved_mid_stream_carries_on_filtering():
    f, released, _ = run(["Look: the classified dos", "sier says"], finish=False)
    assert released == "Look: the " and f.state == "held"
    assert f.feed(" a forbidden") == []
    (r,) = f.approve()
    assert r.text == "classified dossier says a " and r.state == "open"
    _, rest, _ = run([" phrase."], f)
    assert rest == MASK * len("forbidden phrase") + "."


def test_hold_rejected_becomes_withheld():
    f, released, _ = run(["Fine. classified dossier: details"], finish=False)
    assert released == "Fine. "
    (r,) = f.reject()
    assert r == type(r)("", (), "withheld")
    assert f.feed("more") == [] and f.finish() == []


def test_approve_without_hold_is_an_error():
    with pytest.raises(RuntimeError):
        StreamFilter(RULES).approve()


# --- minimal hold-back ---------------------------------------------------------------------------


def test_only_the_possible_phrase_prefix_is_held():
    f = StreamFilter(RULES)
    assert "".join(r.text for r in f.feed("Hello forb")) == "Hello "
    assert "".join(r.text for r in f.feed("id")) == ""
    assert "".join(r.text for r in f.feed("den fruit")) == "forbidden fruit"


@pytest.mark.parametrize(
    "raw",
    [
        "The forbidden fruit is sweet.",
        "A secret launch schedule leaked.",
        "Classified documents... classified doss and no more",
        "违禁物品不能带。",
        "机密文件。",
        "Numbers 4111 1111 1111 11 and 41111111111111111 are not cards",
    ],
)
def test_near_misses_are_released_once_they_diverge(raw):
    for split, seed in [(one_char, 0), (random_split, 1)]:
        f, released, releases = run(split(raw, seed))
        assert released == raw and hits_of(releases) == [] and f.state == "done"


def test_diverging_text_is_released_at_the_divergence_not_at_the_end():
    f = StreamFilter(RULES)
    released = ""
    for ch in "the forbidden ph":
        released += "".join(r.text for r in f.feed(ch))
    assert released == "the "
    released += "".join(r.text for r in f.feed("o"))  # "forbidden pho" can no longer match
    assert released == "the forbidden pho"


# --- streaming equals a whole-text reference -----------------------------------------------------

PIECES = [
    "The answer is 42. ",
    "Here we go, ",
    "forbidden phrase",
    "f o r b i d d e n  p h r a s e",
    "ＦＯＲＢＩＤＤＥＮ ＰＨＲＡＳＥ",
    "forbidden fruit ",
    "forbid",
    "secret launch schedule ",
    "classified documents ",
    "违禁词语",
    "違禁詞語",
    "违禁物品",
    "机密文件",
    "card 4111 1111 1111 1111 ",
    "5500-0000-0000-0004",
    "1999 ",
    "身份证11010519491231002X",
    "\u200b",
    "fórbídden phrásé",
    "。",
    ", ",
    "\n",
]


def reference(raw: str) -> str:
    """Mask every occurrence in the whole text at once: no streaming, no automaton."""
    sk, masked = skeleton(raw), [False] * len(raw)
    spans = []
    for rule in RULES.phrases:
        fold = skeleton(rule.pattern).fold
        at = sk.fold.find(fold)
        while at >= 0:
            spans.append(sk.raw_span(at, at + len(fold)))
            at = sk.fold.find(fold, at + 1)
    for _, pattern in RULES.regexes:
        spans += [sk.raw_span(*m.span()) for m in pattern.finditer(sk.view)]
    for a, b in spans:
        masked[a:b] = [True] * (b - a)
    for k in range(1, len(raw)):
        masked[k] = masked[k] or (masked[k - 1] and unicodedata.category(raw[k]).startswith("M"))
    return "".join(MASK if m else c for m, c in zip(masked, raw))


@pytest.mark.parametrize("seed", range(40))
def test_streamed_output_equals_the_whole_text_reference(seed):
    rng = random.Random(seed)
    raw = "".join(rng.choice(PIECES) for _ in range(rng.randint(5, 40)))
    expected = reference(raw)
    for split in (one_char, random_split):
        f, released, _ = run(split(raw, seed))
        assert released == expected and f.state == "done"
    assert_nothing_banned(expected)


# --- cost stays per token ------------------------------------------------------------------------


def test_buffers_stay_bounded_on_a_long_clean_answer():
    f = StreamFilter(RULES)
    text = "The quick brown fox jumps over the lazy dog 12 times. 快速的狐狸跳过懒狗。" * 2000
    _, released, _ = run(random_split(text, 7), f, finish=False)
    d = f._detector
    assert len(d._src) < 4 * d._keep and len(d._view) < 4 * d._keep and len(d._raw) < 2048
    assert len(f._pending) < 64
    assert released + "".join(r.text for r in f.finish()) == text
