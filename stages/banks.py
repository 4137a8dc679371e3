"""Question banks for the speed Q&A stage: load, validate, normalise.

A bank is written by hand (often the night before a show), so every mistake must surface before
air time as ``file:line: field: message``. Loading goes through ``core.yaml_source`` for the
line numbers; the checks that need two fields (an mcq's answer against its choices) live in the
field validator of the later field so the error names that field, not the whole question.

Format: a mapping ``{name, license, source, questions: [...]}`` or a bare list of questions.
A question is ``{id, question, kind, answer, choices?, aliases?, lang?, source?}`` where ``kind``
is ``numeric`` | ``mcq`` | ``exact`` | ``boolean``. An mcq answer may be a letter or the text of
a choice; it is stored as the letter. YAML reads ``yes``/``no`` as booleans and ``42`` as an int:
both are stored as strings ("yes", "42") so the bank keeps what the author meant.

An exact question accepts several answers: ``answer`` may be a list (``["USA", "United States",
"美国"]``; the first is the one shown on air, the others join ``aliases``), and ``aliases`` adds
more. They are compared the way the content filter normalises text (width, case, punctuation,
traditional → simplified; ``stages/exact_answer.py``), so an accepted answer needs a letter or a
digit, and two that normalise alike are one.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from string import ascii_uppercase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from core.yaml_source import SourceError, format_validation_error, load_with_lines

from .exact_reading import answer_key

Kind = Literal["numeric", "mcq", "exact", "boolean"]

TRUE_ANSWERS = frozenset({"yes", "true", "是", "对"})
FALSE_ANSWERS = frozenset({"no", "false", "否", "错"})


def choice_letter(index: int) -> str:
    return ascii_uppercase[index]


def parse_number(text: str) -> Decimal | None:
    """``"1,234"`` → 1234, ``"3.50"`` → 3.50; None for anything that is not one plain number."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class Question(BaseModel):
    # Numbers become strings (YAML ``answer: 42``, ``id: 7``); field order matters: the validators
    # of ``choices``, ``answer`` and ``aliases`` read ``kind`` (and ``choices``) from earlier fields.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    kind: Kind
    choices: list[str] | None = Field(default=None, validate_default=True)
    answer: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list, validate_default=True)
    lang: str | None = None
    source: str | None = None  # where the question comes from, e.g. "bigbench/arithmetic"

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("choices")
    @classmethod
    def _choices_only_for_mcq(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        kind = info.data.get("kind")
        if kind == "mcq":
            if value is None:
                raise ValueError("mcq questions need choices")
            if not 2 <= len(value) <= len(ascii_uppercase):
                raise ValueError(f"an mcq needs 2 to {len(ascii_uppercase)} choices, got {len(value)}")
            if any(not c.strip() for c in value):
                raise ValueError("choices must not be blank")
        elif kind is not None and value is not None:
            raise ValueError(f"only mcq questions have choices, this one is {kind}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _answer_list(cls, data: Any) -> Any:
        """``answer: [first, *more]`` on an exact question: ``first`` is the answer, ``more`` are aliases."""
        if isinstance(data, dict) and data.get("kind") == "exact" and isinstance(data.get("answer"), list):
            items = [str(a) if isinstance(a, (int, float)) and not isinstance(a, bool) else a for a in data["answer"]]
            if items and all(isinstance(a, str) and a.strip() for a in items):
                aliases = data.get("aliases", [])
                extra = list(aliases) if isinstance(aliases, list) else aliases
                return {**data, "answer": items[0], "aliases": [*items[1:], *extra] if isinstance(extra, list) else extra}
        return data

    @field_validator("answer", mode="before")
    @classmethod
    def _yaml_bool_to_word(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list):  # a list that _answer_list did not take
            kind = info.data.get("kind")
            if kind != "exact":
                raise ValueError(f"only exact questions may list several answers, this one is {kind}")
            if not value:
                raise ValueError("a list of answers must not be empty")
            for i, item in enumerate(value):
                if not isinstance(item, (str, int, float)) or isinstance(item, bool) or not str(item).strip():
                    raise ValueError(f"answer [{i}]: every accepted answer must be non-blank text, got {item!r}")
        return ("yes" if value else "no") if isinstance(value, bool) else value

    @field_validator("answer")
    @classmethod
    def _answer_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        kind = info.data.get("kind")
        if kind == "numeric" and parse_number(value) is None:
            raise ValueError(f"a numeric answer must be a number, got {value!r}")
        if kind == "boolean" and value.casefold() not in TRUE_ANSWERS | FALSE_ANSWERS:
            raise ValueError(f"a boolean answer must be yes/no/true/false/是/否/对/错, got {value!r}")
        if kind == "mcq" and info.data.get("choices"):
            return _mcq_letter(value, info.data["choices"])
        if kind == "exact" and not answer_key(value):
            raise ValueError(f"an exact answer needs a letter or a digit, got {value!r}")
        return value

    @field_validator("aliases")
    @classmethod
    def _aliases_only_for_exact(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = info.data.get("kind")
        if value and kind is not None and kind != "exact":
            raise ValueError(f"only exact questions have aliases, this one is {kind}")
        for i, alias in enumerate(value):
            if not answer_key(alias):
                raise ValueError(f"[{i}]: an accepted answer needs a letter or a digit, got {alias!r}")
        return value

    @property
    def accepted(self) -> list[str]:
        """Every accepted answer of an exact question, the one shown on air first."""
        return [self.answer, *self.aliases]

    @property
    def number(self) -> Decimal:
        """The answer of a numeric question as a number."""
        value = parse_number(self.answer)
        assert value is not None, "validated on load"
        return value

    @property
    def truth(self) -> bool:
        """The answer of a boolean question as a bool."""
        return self.answer.casefold() in TRUE_ANSWERS


def _mcq_letter(answer: str, choices: list[str]) -> str:
    letters = ascii_uppercase[: len(choices)]
    if len(answer) == 1 and answer.upper() in ascii_uppercase:
        if answer.upper() not in letters:
            raise ValueError(f"answer {answer!r} is not one of the choices {letters[0]}–{letters[-1]}")
        return answer.upper()
    for letter, choice in zip(letters, choices):
        if answer.casefold() == choice.strip().casefold():
            return letter
    raise ValueError(f"answer {answer!r} is neither a choice letter ({letters[0]}–{letters[-1]}) nor a choice's text")


class Bank(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    license: str = ""
    source: str = ""
    questions: list[Question] = Field(min_length=1)

    def get(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def load_bank(path: str | Path) -> Bank:
    """Read and validate a bank; raise ``SourceError`` listing every problem with its line."""
    path = Path(path)
    data, lines = load_with_lines(path)
    if isinstance(data, list):
        # A bare list is the questions; re-key its lines so errors read ``questions[3].answer``.
        data = {"questions": data}
        lines = {("questions", *loc): line for loc, line in lines.items()} | {(): lines.get((), 1)}
    if not isinstance(data, dict):
        raise SourceError([f"{path}:{lines.get((), 1)}: (top level): expected a mapping or a list of questions"])
    data.setdefault("name", path.stem)
    try:
        bank = Bank.model_validate(data)
    except ValidationError as exc:
        raise SourceError(format_validation_error(path, exc, lines)) from None
    _check_unique_ids(path, bank, lines)
    return bank


def _check_unique_ids(path: Path, bank: Bank, lines: dict) -> None:
    first_seen: dict[str, int] = {}
    problems = []
    for index, question in enumerate(bank.questions):
        line = lines.get(("questions", index, "id"))
        if question.id in first_seen:
            first = lines.get(("questions", first_seen[question.id], "id"))
            problems.append(f"{path}:{line}: questions[{index}].id: duplicate id {question.id!r} (first used at line {first})")
        else:
            first_seen[question.id] = index
    if problems:
        raise SourceError(problems)
