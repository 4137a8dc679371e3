"""The content filter's rules besides a banned phrase in disguise (test_safety_filter.py): regex
rules (card and ID numbers) split across tokens, the classifier hook, the check of a question or an
upload before it airs, and the rule files' loader with its errors by line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.yaml_source import SourceError
from safety import Flag, Rule, StreamFilter, check_input, load_rules
from safety.stream_filter import MASK

from .filter_kit import RULES, hits_of, random_split, run

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
