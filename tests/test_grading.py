"""The grading rule of ``stages.grading``, one row per behaviour its docstring promises."""

import pytest

from stages.banks import Question
from stages.grading import Verdict, grade

CAPITALS = ["Paris", "Brussels", "Berlin", "Rome"]
FRUIT = ["汽车", "苹果", "桌子", "电脑"]


def question(kind: str, answer: str, **fields) -> Question:
    return Question(id="q", question="?", kind=kind, answer=answer, **fields)


# (kind, answer, extra fields, model text, correct, extracted)
CASES = [
    # numeric: where the number is
    ("numeric", "69", {}, "The answer is 69.", True, "69"),
    ("numeric", "69", {}, "69", True, "69"),
    ("numeric", "42", {}, "**42**", True, "42"),
    ("numeric", "42", {}, "It is \\boxed{42}", True, "42"),
    ("numeric", "1234", {}, "= 1,234", True, "1234"),
    ("numeric", "1,234", {}, "The total is 1234.", True, "1234"),
    ("numeric", "13", {}, "5 plus 8 makes 13", True, "13"),
    ("numeric", "13", {}, "Let me see: 5 + 8 = 13. So we get it.", True, "13"),
    ("numeric", "13", {}, "Answer: 13, since 5 + 8 = 13", True, "13"),
    ("numeric", "40", {}, "**Step 1:** 5 * 8 = 40.", True, "40"),
    ("numeric", "7", {}, "10 minus 3 is 7", True, "7"),
    # numeric: number words
    ("numeric", "69", {}, "sixty-nine", True, "69"),
    ("numeric", "21", {}, "It is twenty one.", True, "21"),
    ("numeric", "105", {}, "one hundred and five", True, "105"),
    ("numeric", "1234", {}, "one thousand two hundred and thirty-four", True, "1234"),
    ("numeric", "0", {}, "Zero.", True, "0"),
    ("numeric", "7", {}, "ten minus three is seven", True, "7"),
    ("numeric", "69", {}, "69 is the right one", True, "69"),
    # numeric: signs and decimals
    ("numeric", "-3", {}, "The answer is -3.", True, "-3"),
    ("numeric", "-3", {}, "It is −3", True, "-3"),
    ("numeric", "-3", {}, "minus three", True, "-3"),
    ("numeric", "-3", {}, "3", False, "3"),
    ("numeric", "3.5", {}, "3.50", True, "3.50"),
    ("numeric", "3.50", {}, "It costs $3.5.", True, "3.5"),
    ("numeric", "3.5", {}, "3.05", False, "3.05"),
    # numeric: the explicit statement and the final number
    ("numeric", "69", {}, "The answer is 69. Not 70, which would be one more.", True, "69"),
    ("numeric", "69", {}, "First I add 60 and 9, then I get 69", True, "69"),
    ("numeric", "69", {}, "I think it's 68", False, "68"),
    ("numeric", "69", {}, "I don't know.", False, None),
    # numeric: several candidates are refused
    ("numeric", "42", {}, "It is 42 or 43", False, None),
    ("numeric", "42", {}, "The answer is 42 or 43.", False, None),
    ("numeric", "42", {}, "40, 41, 42", False, None),
    ("numeric", "42", {}, "somewhere between 41 and 43", False, None),
    ("numeric", "42", {}, "forty-two or forty-three", False, None),
    ("numeric", "42", {}, "42 (forty-two)", True, "42"),
    # numeric: Chinese
    ("numeric", "8", {}, "答案是8。", True, "8"),
    ("numeric", "8", {}, "3加5等于8", True, "8"),
    ("numeric", "8", {}, "3加5等于八。", True, "8"),
    ("numeric", "105", {}, "答案：一百零五", True, "105"),
    ("numeric", "8", {}, "８", True, "8"),
    ("numeric", "8", {}, "答案是8或9", False, None),
    # mcq: the letter, however written
    ("mcq", "B", {"choices": CAPITALS}, "B", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "B)", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "(B)", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "Answer: B", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "answer: b", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "B) Brussels", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "**B. Brussels**", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "I think B", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "Ｂ", True, "B"),
    # mcq: the text of a choice
    ("mcq", "B", {"choices": CAPITALS}, "Brussels", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "The capital of Belgium is Brussels.", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "Paris", False, "A"),
    ("mcq", "B", {"choices": CAPITALS}, "A", False, "A"),
    ("mcq", "A", {"choices": CAPITALS}, "A is correct.", True, "A"),
    ("mcq", "B", {"choices": CAPITALS}, "A city in Belgium: B", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "Madrid", False, None),
    # mcq: an explicit statement wins over other mentions; several answers are refused
    ("mcq", "B", {"choices": CAPITALS}, "The answer is B. A is wrong because Paris is in France.", True, "B"),
    ("mcq", "B", {"choices": CAPITALS}, "A or B", False, None),
    ("mcq", "B", {"choices": CAPITALS}, "A, B, C", False, None),
    ("mcq", "B", {"choices": CAPITALS}, "The answer is B or C.", False, None),
    ("mcq", "B", {"choices": CAPITALS}, "Brussels or Berlin", False, None),
    ("mcq", "B", {"choices": CAPITALS}, "(A) or (B)", False, None),
    # mcq: Chinese
    ("mcq", "B", {"choices": FRUIT}, "苹果", True, "B"),
    ("mcq", "B", {"choices": FRUIT}, "答案是B", True, "B"),
    ("mcq", "B", {"choices": FRUIT}, "我选B。", True, "B"),
    ("mcq", "B", {"choices": FRUIT}, "苹果或桌子", False, None),
    # boolean
    ("boolean", "yes", {}, "Yes", True, "yes"),
    ("boolean", "yes", {}, "Yes, you return to the start.", True, "yes"),
    ("boolean", "yes", {}, "yes, no doubt about it", True, "yes"),
    ("boolean", "yes", {}, "True", True, "true"),
    ("boolean", "yes", {}, "No", False, "no"),
    ("boolean", "no", {}, "No, you end up 8 steps away.", True, "no"),
    ("boolean", "no", {}, "I'd say no.", True, "no"),
    ("boolean", "no", {}, "The answer is: false", True, "false"),
    ("boolean", "no", {}, "That is not true.", True, "false"),
    ("boolean", "yes", {}, "Yes or no", False, None),
    ("boolean", "yes", {}, "True/False", False, None),
    ("boolean", "yes", {}, "There is no answer here", False, None),
    ("boolean", "是", {}, "是", True, "是"),
    ("boolean", "是", {}, "是的，水在零度会结冰。", True, "是"),
    ("boolean", "对", {}, "对。", True, "是"),
    ("boolean", "对", {}, "答案是：正确", True, "是"),
    ("boolean", "否", {}, "否", True, "否"),
    ("boolean", "否", {}, "不是，鱼离不开水。", True, "否"),
    ("boolean", "错", {}, "错", True, "否"),
    ("boolean", "否", {}, "是", False, "是"),
    ("boolean", "是", {}, "北京是中国的首都", False, None),
    ("boolean", "是", {}, "是或否", False, None),
    # exact: normalised match
    ("exact", "Paris", {}, "Paris", True, "Paris"),
    ("exact", "Paris", {}, "The capital of France is Paris.", True, "Paris"),
    ("exact", "Paris", {}, "PARIS!", True, "PARIS"),
    ("exact", "Paris", {}, "Ｐａｒｉｓ", True, "Paris"),
    ("exact", "Paris", {}, "The answer is: **Paris**", True, "Paris"),
    ("exact", "the Nile", {}, "Nile", True, "Nile"),
    ("exact", "Nile", {}, "It is the Nile river.", True, "Nile"),
    ("exact", "Washington, D.C.", {}, "Washington DC", True, "Washington DC"),  # punctuation ignored, as the filter does
    ("exact", "Washington, D.C.", {}, "washington d.c.", True, "washington d.c"),
    ("exact", "egg", {"aliases": ["eggs"]}, "From eggs.", True, "eggs"),
    ("exact", "Paris", {}, "Parisian", False, "Parisian"),
    ("exact", "Paris", {}, "London", False, "London"),
    ("exact", "Paris", {}, "The answer is London. Paris is also nice.", False, "London"),
    ("exact", "Paris", {}, "Paris or London", None, "Paris or London"),  # hedged: uncertain
    ("exact", "Paris", {}, "London or Paris", None, "London or Paris"),
    ("exact", "Paris", {}, "Paris/London", None, "Paris/London"),
    ("exact", "Paris", {}, "It is not Paris; it is Lyon.", False, "Lyon"),
    ("exact", "Paris", {}, "Comparison: the Paris of the north is Brussels, but the capital is Lyon.", False, "Lyon"),
    ("exact", "Mars", {}, "I'd say Venus, not Mars.", False, "Venus"),
    (
        "exact",
        "x",
        {},
        "<img src=x onerror=alert(1)>",
        False,
        "<img src=x onerror=alert(1)>",
    ),  # x inside a token; the short reply is its caption
    ("exact", "Paris", {}, "I love Paris in spring.", None, None),  # no commitment found
    ("exact", "Paris", {}, "Lyon. No wait, it's Paris.", True, "Paris"),  # a correction wins
    ("exact", "Paris", {}, "It's Lyon. It's Paris.", None, None),  # two answers, no correction
    ("exact", "Paris", {}, "- Paris\n- Lyon", None, None),  # a list of two is two answers
    ("exact", "Paris", {}, "1. Paris\n2. Lyon", None, None),
    ("exact", "Paris", {}, "I think Paris, but maybe Lyon.", None, "Lyon"),
    ("exact", "Paris", {}, "Let me think. France is in Europe. Its capital is Paris. So the answer is Paris.", True, "Paris"),
    ("exact", "Paris", {}, "Top answer:\n1) Paris", True, "Paris"),
    ("exact", "Paris", {}, "Answer=Paris", True, "Paris"),
    ("exact", "Paris", {}, "Paris? No idea.", True, "Paris"),
    ("exact", "北京", {}, "我不知道是不是北京", None, "我不知道是不是北京"),  # 是不是: whether, not a negation
    ("exact", "北京", {}, "北京还是上海？我不确定。", None, "北京还是上海"),
    # exact: Chinese
    ("exact", "北京", {"aliases": ["Beijing"]}, "北京", True, "北京"),
    ("exact", "北京", {"aliases": ["Beijing"]}, "中国的首都是北京。", True, "北京"),
    ("exact", "北京", {"aliases": ["Beijing"]}, "Beijing", True, "Beijing"),
    ("exact", "北京", {}, "答案是上海", False, "上海"),
    ("exact", "北京", {}, "北京或上海", None, "北京或上海"),
    ("exact", "北京", {}, "北京还是上海", None, "北京还是上海"),
    ("exact", "北京", {}, "不是北京,是上海。", False, "上海"),
    ("exact", "北京", {}, "並非北京，而是上海。", False, "上海"),  # traditional 並 read as 并
    ("exact", "竹子", {"aliases": ["竹"]}, "竹。", True, "竹"),
    ("exact", "竹子", {"aliases": ["竹"]}, "大熊猫喜欢吃竹笋", False, "大熊猫喜欢吃竹笋"),
]


@pytest.mark.parametrize(("kind", "answer", "fields", "text", "correct", "extracted"), CASES)
def test_grade(kind, answer, fields, text, correct, extracted):
    verdict = grade(question(kind, answer, **fields), text)
    assert (verdict.correct, verdict.extracted) == (correct, extracted), verdict.reason
    assert verdict.reason  # every verdict says why


def test_every_verdict_names_its_span_and_rule():
    assert grade(question("numeric", "69"), "The answer is 69.") == Verdict(
        True, "69", "took “69” (statement after “answer is”); it is the answer 69"
    )
    assert grade(question("numeric", "42"), "42 or 43").reason == "hedges: names “42” and “43” side by side in the reply"
    assert grade(question("mcq", "B", choices=CAPITALS), "Nothing fits.").reason == "no choice letter or choice text found; the answer is B"
    assert grade(question("exact", "Paris"), "It is not Paris; it is Lyon.").reason == "rejects “Paris” (“not Paris”); commits to “Lyon”"
    assert grade(question("exact", "Paris"), "Paris or Lyon").reason == "hedges: “Paris” next to “or” another answer"


def test_an_exact_question_accepts_a_list_of_answers_and_its_aliases():
    usa = Question(
        id="q", question="Which country has the largest economy?", kind="exact", answer=["United States", "USA"], aliases=["美国"]
    )
    assert usa.answer == "United States" and usa.accepted == ["United States", "USA", "美国"]
    assert grade(usa, "The USA.").correct is True
    assert grade(usa, "美國").correct is True  # traditional 國 normalised to 国, as the content filter does
    assert grade(usa, "Tell us: China.").correct is False  # an acronym matches only in capitals
