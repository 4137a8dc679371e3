"""Exact answers: the share of right verdicts on the phrasing set (bench/exact_phrasings.yaml).

Each phrasing carries the verdict a quiz host would sign (right, wrong, or uncertain: the
director decides); a verdict is right when the grader's equals it. Printed per set (the tuned set,
and the held-out set written after the rules were tuned), per kind of phrasing, and the harmful
verdicts: a wrong or uncertain reply graded right, a right reply graded wrong (never expected;
uncertain is the safe miss). ``-v`` lists every row with the grader's reason.

    .venv/bin/python bench/exact_answers.py
    .venv/bin/python bench/exact_answers.py -v
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stages.banks import Question  # noqa: E402
from stages.grading import grade  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every phrasing with its verdict and reason")
    args = parser.parse_args()
    table = yaml.safe_load((REPO / "bench" / "exact_phrasings.yaml").read_text(encoding="utf-8"))
    total_right = total = 0
    for title, questions, cases in (("tuned set", "questions", "cases"), ("held-out set", "held_out_questions", "held_out")):
        specs = {k: Question(id=k, question=q["question"], kind="exact", answer=q["answer"]) for k, q in table[questions].items()}
        right, harmful, per_kind, of_kind = 0, [], Counter(), Counter()
        for case in table[cases]:
            verdict = grade(specs[case["q"]], case["text"])
            ok = verdict.correct == case["expect"]
            right += ok
            per_kind[case["kind"]] += ok
            of_kind[case["kind"]] += 1
            if (verdict.correct is True) != (case["expect"] is True) and verdict.correct is not None:
                harmful.append(case["text"])
            if args.verbose or not ok:
                mark = "ok  " if ok else "MISS"
                print(f"  {mark} expect {_word(case['expect']):9} got {_word(verdict.correct):9} {case['text']!r}  — {verdict.reason}")
        n = len(table[cases])
        total_right, total = total_right + right, total + n
        kinds = ", ".join(f"{k} {per_kind[k]}/{of_kind[k]}" for k in sorted(of_kind))
        print(f"{title}: {right}/{n} right verdicts = {right / n:.1%}; harmful {len(harmful)}  ({kinds})")
    print(f"all: {total_right}/{total} = {total_right / total:.1%}")


def _word(value: bool | None) -> str:
    return {True: "right", False: "wrong", None: "uncertain"}[value]


if __name__ == "__main__":
    main()
