"""Question banks load, and every mistake in one is reported with its file, line and field."""

import json
from pathlib import Path

import pytest

from core.yaml_source import SourceError
from stages.banks import load_bank
from stages.grade_file import grade_responses

BANKS = Path(__file__).resolve().parent.parent / "show_scripts" / "banks"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(SourceError) as caught:
        load_bank(path)
    return "\n".join(caught.value.problems)


# --- shipped banks -------------------------------------------------------------------------------


def test_starter_bank_loads_with_every_kind_and_chinese():
    bank = load_bank(BANKS / "starter.yaml")
    assert 30 <= len(bank.questions) <= 40
    assert {q.kind for q in bank.questions} == {"numeric", "mcq", "exact", "boolean"}
    assert 6 <= sum(q.lang == "zh" for q in bank.questions) <= 8
    assert all(q.source for q in bank.questions)
    assert "Apache-2.0" in bank.license and "BIG-bench" in bank.source


def test_demo_bank_loads():
    bank = load_bank(BANKS / "demo.yaml")
    assert len(bank.questions) == 5
    assert bank.get("demo-3").answer == "C"


# --- what loading normalises ---------------------------------------------------------------------


def test_bare_list_json_bank_with_mcq_text_answer_and_yaml_scalars(tmp_path):
    path = write(
        tmp_path,
        "quick.json",
        json.dumps(
            [
                {"id": 1, "question": "Capital of Belgium?", "kind": "mcq", "choices": ["Paris", "Brussels"], "answer": "brussels"},
                {"id": "b", "question": "Is ice cold?", "kind": "boolean", "answer": True},
                {"id": "n", "question": "2 + 2?", "kind": "numeric", "answer": 4},
            ]
        ),
    )
    bank = load_bank(path)
    assert bank.name == "quick"
    assert [(q.id, q.answer) for q in bank.questions] == [("1", "B"), ("b", "yes"), ("n", "4")]


def test_yaml_yes_is_the_boolean_answer_yes(tmp_path):
    path = write(tmp_path, "b.yaml", "- id: a\n  question: Is the sun hot?\n  kind: boolean\n  answer: yes\n")
    assert load_bank(path).questions[0].truth is True


# --- invalid banks: each names its line and field ------------------------------------------------

GOOD = """\
name: bad
questions:
  - id: q1
    question: What is 2 + 3?
    kind: numeric
    answer: 5
"""


def test_missing_answer(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD + "  - id: q2\n    question: Capital of France?\n    kind: exact\n")
    assert f"{path}:7: questions[1].answer: Field required" in problems_of(path)


def test_mcq_without_choices(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD + "  - id: q2\n    question: Pick\n    kind: mcq\n    answer: A\n")
    assert f"{path}:7: questions[1].choices: Value error, mcq questions need choices" in problems_of(path)


def test_choices_on_a_question_that_is_not_mcq(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD + "    choices: [a, b]\n")
    assert f"{path}:7: questions[0].choices: Value error, only mcq questions have choices" in problems_of(path)


def test_mcq_answer_letter_out_of_range(tmp_path):
    text = GOOD + "  - id: q2\n    question: Pick\n    kind: mcq\n    choices: [Paris, Rome]\n    answer: C\n"
    path = write(tmp_path, "x.yaml", text)
    expected = f"{path}:11: questions[1].answer: Value error, answer 'C' is not one of the choices A–B"
    assert expected in problems_of(path)


def test_mcq_answer_that_is_no_choice(tmp_path):
    text = GOOD + "  - id: q2\n    question: Pick\n    kind: mcq\n    choices: [Paris, Rome]\n    answer: Oslo\n"
    path = write(tmp_path, "x.yaml", text)
    assert f"{path}:11: questions[1].answer: Value error, answer 'Oslo' is neither" in problems_of(path)


def test_numeric_answer_that_is_not_a_number(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD.replace("answer: 5", "answer: five"))
    assert f"{path}:6: questions[0].answer: Value error, a numeric answer must be a number" in problems_of(path)


def test_boolean_answer_that_is_not_yes_or_no(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD.replace("numeric", "boolean").replace("answer: 5", "answer: maybe"))
    assert f"{path}:6: questions[0].answer: Value error, a boolean answer must be" in problems_of(path)


def test_unknown_kind(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD.replace("numeric", "essay"))
    assert f"{path}:5: questions[0].kind: Input should be 'numeric', 'mcq', 'exact' or 'boolean'" in problems_of(path)


def test_aliases_only_for_exact(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD + "    aliases: [five]\n")
    assert f"{path}:7: questions[0].aliases: Value error, only exact questions have aliases" in problems_of(path)


def test_duplicate_id_names_both_lines(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD + "  - id: q1\n    question: Again\n    kind: numeric\n    answer: 1\n")
    assert f"{path}:7: questions[1].id: duplicate id 'q1' (first used at line 3)" in problems_of(path)


def test_unknown_field(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD + "    answr: 5\n")
    assert f"{path}:7: questions[0].answr: Extra inputs are not permitted" in problems_of(path)


def test_unknown_top_level_field(tmp_path):
    path = write(tmp_path, "x.yaml", "licence: MIT\n" + GOOD)
    assert f"{path}:1: licence: Extra inputs are not permitted" in problems_of(path)


def test_bad_yaml_syntax(tmp_path):
    path = write(tmp_path, "x.yaml", GOOD + "  - id: q2\n    question: [unclosed\n    kind: numeric\n")
    assert problems_of(path).startswith(f"{path}:9: not valid YAML/JSON")


def test_every_problem_is_listed(tmp_path):
    text = GOOD.replace("answer: 5", "answer: five") + "  - id: q2\n    question: Pick\n    kind: mcq\n    answer: A\n"
    path = write(tmp_path, "x.yaml", text)
    problems = problems_of(path)
    assert "questions[0].answer" in problems and "questions[1].choices" in problems


def test_bare_list_errors_name_the_question(tmp_path):
    text = "- id: a\n  question: Q\n  kind: exact\n- id: b\n  question: Q\n  kind: exact\n  answer: x\n"
    path = write(tmp_path, "x.yaml", text)
    assert f"{path}:1: questions[0].answer: Field required" in problems_of(path)


def test_scalar_file_is_not_a_bank(tmp_path):
    path = write(tmp_path, "x.yaml", "just words\n")
    assert f"{path}:1: (top level): expected a mapping or a list of questions" in problems_of(path)


def test_missing_file(tmp_path):
    assert problems_of(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: file not found"


# --- grade_responses ----------------------------------------------------------------------------


def test_grade_responses_round_trip_in_input_order(tmp_path):
    responses = write(
        tmp_path,
        "r.json",
        json.dumps(
            [
                {"id": "demo-5", "text": "There are seven days in a week.", "contestant": "smol"},
                {"id": "demo-1", "text": "2 + 3 = 5"},
                {"id": "demo-3", "text": "A or C"},
                {"id": "demo-2", "text": "The capital of France is Paris."},
                {"id": "demo-4", "text": "No."},
                {"id": "demo-1", "text": "6"},
            ],
            ensure_ascii=False,
        ),
    )
    graded = grade_responses(BANKS / "demo.yaml", responses)
    assert all(g["reason"] for g in graded)  # every verdict says why
    assert [{k: v for k, v in g.items() if k != "reason"} for g in graded] == [
        {"id": "demo-5", "correct": True, "extracted": "7"},
        {"id": "demo-1", "correct": True, "extracted": "5"},
        {"id": "demo-3", "correct": False, "extracted": None},
        {"id": "demo-2", "correct": True, "extracted": "Paris"},
        {"id": "demo-4", "correct": False, "extracted": "no"},
        {"id": "demo-1", "correct": False, "extracted": "6"},
    ]


def grade_problems(bank: Path, responses: Path) -> str:
    with pytest.raises(SourceError) as caught:
        grade_responses(bank, responses)
    return "\n".join(caught.value.problems)


def test_grade_responses_missing_file(tmp_path):
    assert f"{tmp_path / 'r.json'}: file not found" in grade_problems(BANKS / "demo.yaml", tmp_path / "r.json")


def test_grade_responses_bad_json(tmp_path):
    responses = write(tmp_path, "r.json", '[\n  {"id": "demo-1",\n  "text": }\n]')
    assert f"{responses}:3: not valid JSON" in grade_problems(BANKS / "demo.yaml", responses)


def test_grade_responses_not_a_list(tmp_path):
    responses = write(tmp_path, "r.json", '{"id": "demo-1", "text": "5"}')
    assert "expected a JSON list" in grade_problems(BANKS / "demo.yaml", responses)


def test_grade_responses_item_problems_name_index_and_id(tmp_path):
    responses = write(
        tmp_path,
        "r.json",
        json.dumps(
            [
                {"id": "demo-1", "text": "5"},
                {"id": "demo-2"},
                {"text": "Paris"},
                {"id": "nope", "text": "5"},
                "just text",
                {"id": "demo-4", "text": 5},
            ]
        ),
    )
    problems = grade_problems(BANKS / "demo.yaml", responses)
    assert f"{responses}: item [1]: missing 'text'" in problems
    assert f"{responses}: item [2]: missing 'id'" in problems
    assert f"{responses}: item [3]: id 'nope' is not in bank 'demo'" in problems
    assert f"{responses}: item [4]: expected an object" in problems
    assert f"{responses}: item [5] (id 'demo-4'): 'text' must be a string" in problems
    assert "item [0]" not in problems


def test_grade_responses_bad_bank(tmp_path):
    responses = write(tmp_path, "r.json", "[]")
    assert "file not found" in grade_problems(tmp_path / "missing.yaml", responses)
