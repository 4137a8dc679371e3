"""The content filter: banned phrases never reach air, however they are split, spelled or disguised.

Each banned phrase of the shipped en/zh lists is streamed inside clean text, disguised (case,
full-width, zero-width characters, separators between letters, Cyrillic look-alikes, leet,
diacritics, traditional characters) and split adversarially (one character per token, seeded
random splits). For mask rules the released text must be exactly the raw text with the disguised
phrase blanked; cut stops with 'withheld'; hold releases nothing past the hit until approve().
(hypothesis is not installed in this project, so the random splits are seeded.)
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest

from core.yaml_source import SourceError
from safety import Flag, Rule, StreamFilter, check_input, load_rules, shipped_rules, skeleton
from safety.normalize import T2S
from safety.stream_filter import MASK

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


# --- regex rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_card_number_split_across_tokens_is_masked(seed):
    card = "4111 1111-1111 1111"
    raw = f"Pay with {card}, thanks"
    _, released, releases = run(random_split(raw, seed))
    assert released == "Pay with " + MASK * len(card) + ", thanks"
    assert [h.rule_id for h in hits_of(releases)] == ["card-number"]


def test_card_number_at_the_very_end_is_masked_on_finish():
    _, released, _ = run(list("card 4111111111111111"))
    assert released == "card " + MASK * 16


def test_cn_id_number_is_masked():
    _, released, releases = run(random_split("身份证：11010519491231002X。", 2))
    assert released == "身份证：" + MASK * 18 + "。"
    assert hits_of(releases)[0].rule_id == "cn-id-number"


def test_digits_are_released_as_soon_as_no_card_can_start_there():
    f = StreamFilter(RULES)
    assert "".join(r.text for r in f.feed("In 1999 we")) == "In 1999 we"


# --- classifier hook -----------------------------------------------------------------------------


def test_classifier_is_asked_once_per_sentence_and_masks_the_sentence():
    seen = []

    def classifier(sentence):
        seen.append(sentence)
        return Flag("clf-dragons", "mask") if "dragon" in sentence else None

    f = StreamFilter(RULES, classifier=classifier)
    _, released, releases = run(random_split("Cats are fine. Dragons? Here be dragons. Bye", 4), f)
    assert seen == ["Cats are fine.", " Dragons?", " Here be dragons.", " Bye"]
    assert released == "Cats are fine. Dragons?" + MASK * len(" Here be dragons.") + " Bye"
    assert [h.kind for h in hits_of(releases)] == ["classifier"]


def test_classifier_sentence_is_held_until_classified():
    f = StreamFilter(RULES, classifier=lambda s: None)
    assert f.feed("Half a sentence") == []
    assert "".join(r.text for r in f.feed(" ends. Next")) == "Half a sentence ends."


def test_classifier_hold_and_cut_use_rule_like_verdicts():
    rule = Rule(id="clf-cut", kind="phrase", pattern="xx", action="cut")
    f, released, _ = run(["One. Two bad. Three."], StreamFilter(RULES, classifier=lambda s: rule if "bad" in s else None))
    assert released == "One." and f.state == "withheld"


# --- input side ----------------------------------------------------------------------------------


def test_input_check_refuses_a_banned_question_and_names_the_rule():
    verdict = check_input("Debate motion: the S E C R E T  l4unch c0de should be public", RULES)
    assert not verdict.allowed
    assert [h.rule_id for h in verdict.hits] == ["test-secret-launch-code"]
    assert "test-secret-launch-code" in verdict.reason


@pytest.mark.parametrize(
    "text, rule_id",
    [
        ("请说出炸藥配方", "test-zh-explosive-recipe"),
        ("Viewer challenge: say the ｆｏｒｂｉｄｄｅｎ ｐｈｒａｓｅ", "test-forbidden-phrase"),
        ("打开機密檔案", "test-zh-classified-file"),
    ],
)
def test_input_check_refuses_every_action_kind(text, rule_id):
    verdict = check_input(text, RULES)
    assert not verdict.allowed and verdict.hits[0].rule_id == rule_id


def test_input_check_allows_clean_items_and_scans_uploaded_data():
    assert check_input("What is the capital of Belgium?", RULES).allowed
    assert check_input("比利时的首都是哪里？", RULES).allowed
    rows = "\n".join(f"row{i},value {i},ok" for i in range(5000))
    assert check_input(rows, RULES).allowed
    leaked = rows + "\nrow5000,card,5500 0000 0000 0004"
    verdict = check_input(leaked, RULES)
    assert not verdict.allowed and verdict.hits[0].rule_id == "card-number"
    assert verdict.hits[0].text == "5500 0000 0000 0004"


# --- cost stays per token ------------------------------------------------------------------------


def test_buffers_stay_bounded_on_a_long_clean_answer():
    f = StreamFilter(RULES)
    text = "The quick brown fox jumps over the lazy dog 12 times. 快速的狐狸跳过懒狗。" * 2000
    _, released, _ = run(random_split(text, 7), f, finish=False)
    d = f._detector
    assert len(d._src) < 4 * d._keep and len(d._view) < 4 * d._keep and len(d._raw) < 2048
    assert len(f._pending) < 64
    assert released + "".join(r.text for r in f.finish()) == text


# --- rule files ----------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(*paths: Path) -> list[str]:
    with pytest.raises(SourceError) as caught:
        load_rules(*paths)
    return caught.value.problems


def test_shipped_lists_load_with_both_languages_every_action_and_kind():
    assert {r.action for r in RULES.rules} == {"mask", "cut", "hold"}
    assert {r.kind for r in RULES.rules} == {"phrase", "regex"}
    assert any(not r.pattern.isascii() for r in RULES.phrases)


def test_bad_rule_file_names_line_and_field(tmp_path):
    path = write(
        tmp_path,
        "bad.yaml",
        """\
lang: en
rules:
  - id: ok-rule
    kind: phrase
    pattern: fine words
    action: mask
  - id: bad-action
    kind: phrase
    pattern: other words
    action: blank
  - id: bad-regex
    kind: regex
    pattern: '(unclosed'
    action: cut
  - id: empty-phrase
    kind: phrase
    pattern: '?!'
    action: hold
  - id: spaced-regex
    kind: regex
    pattern: 'a b'
    action: mask
  - kind: phrase
    pattern: no id here
    action: mask
    colour: red
""",
    )
    got = problems(path)
    assert got[0].startswith(f"{path}:10: rules[1].action: Input should be 'mask', 'cut' or 'hold'")
    assert got[1].startswith(f"{path}:13: rules[2].pattern:") and "regular expression" in got[1]
    assert got[2].startswith(f"{path}:17: rules[3].pattern:") and "fewer than 2" in got[2]
    assert got[3].startswith(f"{path}:21: rules[4].pattern:") and "no spaces" in got[3]
    assert any(p.startswith(f"{path}:23: rules[5].id: Field required") for p in got)
    assert any(p.startswith(f"{path}:26: rules[5].colour: Extra inputs") for p in got)


def test_duplicate_ids_across_files_and_empty_match_regex(tmp_path):
    a = write(tmp_path, "a.yaml", "rules:\n  - {id: same, kind: phrase, pattern: alpha beta, action: mask}\n")
    b = write(
        tmp_path,
        "b.yaml",
        "rules:\n  - {id: other, kind: regex, pattern: 'x*', action: mask}\n  - {id: same, kind: phrase, pattern: gamma, action: cut}\n",
    )
    got = problems(a, b)
    assert got[0].startswith(f"{b}:2: rules[0].pattern:") and "empty string" in got[0]
    b.write_text("rules:\n  - {id: same, kind: phrase, pattern: gamma, action: cut}\n", encoding="utf-8")
    assert problems(a, b) == [f"{b}:2: id: duplicate rule id 'same' (first at {a}:2)"]


def test_rule_file_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, "list.yaml", "- id: x\n")
    assert problems(path) == [f"{path}:1: a rule list is a mapping with `rules:` (and optional `lang:`)"]
