"""Exact answers read as a quiz host reads them (stages/exact_answer.py), on a table of phrasings.

The table is bench/exact_phrasings.yaml (English and Chinese; right replies in natural phrasing,
wrong ones that negate, contrast, hedge, mention in passing or hide the answer in another word),
with the verdict a host would sign: true, false, or null (uncertain: the director decides).
bench/exact_answers.py prints the share of right verdicts (BENCHMARKS.md records it).

What must hold on every row, whatever the share: a reply that is not right is never graded right
(a wrong "correct!" on air is the worst mistake), and a right reply is never graded wrong (at
worst it is uncertain and the director rules). And the shipped banks: every right reply to every
shipped question is still graded right.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stages.banks import Question, load_bank
from stages.grading import grade

REPO = Path(__file__).resolve().parent.parent
TABLE = yaml.safe_load((REPO / "bench" / "exact_phrasings.yaml").read_text(encoding="utf-8"))
SHARE_AT_LEAST = 0.95  # measured 0.969 (125/129) and 1.0 held out (46/46); see BENCHMARKS.md


def _question(spec: dict) -> Question:
    return Question(id="q", question=spec["question"], kind="exact", answer=spec["answer"], aliases=spec.get("aliases", []))


def _rows(questions: str, cases: str) -> list[tuple[Question, dict]]:
    specs = {key: _question(spec) for key, spec in TABLE[questions].items()}
    return [(specs[case["q"]], case) for case in TABLE[cases]]


ROWS = _rows("questions", "cases") + _rows("held_out_questions", "held_out")


def test_the_table_is_large_and_covers_both_languages_and_every_kind():
    assert len(ROWS) >= 100
    kinds = {case["kind"] for _, case in ROWS}
    assert kinds == {"right", "negation", "contrast", "hedge", "passing", "embedded", "other"}
    chinese = [case for _, case in ROWS if any("\u4e00" <= c <= "\u9fff" for c in case["text"])]
    assert len(chinese) >= 30
    assert {case["expect"] for _, case in ROWS} == {True, False, None}


@pytest.mark.parametrize(("question", "case"), ROWS, ids=[f"{c['q']}:{c['text'][:40]}" for _, c in ROWS])
def test_never_right_for_a_wrong_reply_nor_wrong_for_a_right_one(question, case):
    verdict = grade(question, case["text"])
    assert verdict.reason
    if case["expect"] is not True:
        assert verdict.correct is not True, f"graded right: {verdict.reason}"
    else:
        assert verdict.correct is not False, f"graded wrong: {verdict.reason}"


def test_share_of_right_verdicts():
    misses = [
        (case["text"], case["expect"], v.correct, v.reason)
        for question, case in ROWS
        if (v := grade(question, case["text"])).correct != case["expect"]
    ]
    share = 1 - len(misses) / len(ROWS)
    assert share >= SHARE_AT_LEAST, "\n".join(map(str, misses))


@pytest.mark.parametrize(
    "text",
    [
        "It is not Paris; it is Lyon.",
        "Comparison: the Paris of the north is Brussels, but the capital is Lyon.",
    ],
)
def test_the_issue_examples_take_lyon(text):
    verdict = grade(_question({"question": "What is the capital of France?", "answer": "Paris"}), text)
    assert (verdict.correct, verdict.extracted) == (False, "Lyon")


def test_the_issue_examples_chinese_and_a_token():
    assert grade(_question({"question": "中国的首都是哪里？", "answer": "北京"}), "不是北京,是上海。").extracted == "上海"
    assert grade(_question({"question": "Which planet?", "answer": "Mars"}), "I'd say Venus, not Mars.").extracted == "Venus"
    assert grade(_question({"question": "Which letter?", "answer": "x"}), "<img src=x onerror=alert(1)>").correct is False


def test_hedges_and_no_commitment_are_uncertain_with_the_reason():
    paris = _question({"question": "What is the capital of France?", "answer": "Paris"})
    hedged = grade(paris, "Either Paris or Lyon.")
    assert hedged.correct is None and hedged.extracted == "Either Paris or Lyon" and hedged.reason.startswith("hedges")
    passing = grade(paris, "I love Paris in the spring.")
    assert passing.correct is None and passing.reason.endswith("no commitment found")


# --- the shipped banks -----------------------------------------------------------------------------


def right_replies(question: Question) -> list[str]:
    """Right replies to a bank question, in the phrasings models use (what the old grader took too)."""
    if question.kind == "exact":
        out = []
        for answer in question.accepted:
            chinese = any("\u4e00" <= c <= "\u9fff" for c in answer)
            out += [answer, f"{answer}.", f"**{answer}**"]
            out += [f"是{answer}。", f"答案是{answer}。"] if chinese else [f"The answer is {answer}.", f"It's {answer}."]
        return out
    if question.kind == "mcq":
        letter = question.answer
        choice = question.choices[ord(letter) - ord("A")]
        return [letter, f"{letter}) {choice}", f"The answer is {letter}.", f"**{letter}**", choice, f"The answer is {choice}."]
    if question.kind == "boolean":
        word = question.answer
        return [word, f"{word}.", f"The answer is {word}."]
    return [question.answer, f"The answer is {question.answer}.", f"**{question.answer}**", f"= {question.answer}"]


BANKS = sorted((REPO / "show_scripts" / "banks").glob("*.yaml"))


@pytest.mark.parametrize("bank", BANKS, ids=[b.name for b in BANKS])
def test_every_right_reply_to_a_shipped_question_is_still_right(bank):
    wrong = [
        (q.id, text, v.correct, v.reason)
        for q in load_bank(bank).questions
        for text in right_replies(q)
        if (v := grade(q, text)).correct is not True
    ]
    assert not wrong, wrong


def test_the_shipped_exact_questions_read_negation_and_hedges():
    exact = [q for bank in BANKS for q in load_bank(bank).questions if q.kind == "exact"]
    assert len(exact) >= 13  # the English banks hold 13; the Chinese episode's add more
    for q in exact:
        for answer in q.accepted:
            chinese = any("\u4e00" <= c <= "\u9fff" for c in answer)
            negated = f"不是{answer}，是某某。" if chinese else f"It is not {answer}; it is Zanzibar."
            hedged = f"{answer}或者某某。" if chinese else f"Either {answer} or Zanzibar."
            assert grade(q, negated).correct is False, (q.id, negated, grade(q, negated).reason)
            assert grade(q, hedged).correct is None, (q.id, hedged, grade(q, hedged).reason)
