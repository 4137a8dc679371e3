"""Rule lists: YAML files in the show's config, validated before air, compiled once per show.

A rule list is written by hand, like a question bank, so every mistake is reported before the
show as ``file:line: field: message`` (through ``core.yaml_source``). Format::

    lang: en                      # optional, informational
    rules:
      - id: test-forbidden-phrase
        kind: phrase              # phrase | regex
        pattern: forbidden phrase
        action: mask              # mask | cut | hold
        note: why the rule exists # optional

A **phrase** is matched on the skeleton's fold (``normalize``): case, spacing, punctuation,
look-alikes, leet and traditional characters do not matter, and it must keep at least two
skeleton characters. A **regex** runs on the skeleton's view (casefolded; only letters, digits,
CJK, ``@`` and ``$``; no spaces or punctuation, so a pattern with a space can never match) with
the ``regex`` module (for partial matches) and IGNORECASE; it must not match the empty string,
and a match longer than the filter's look-back window (64 skeleton characters) is not guaranteed
to be found.

``RuleSet`` compiles the rules (one Aho–Corasick automaton for all phrases, compiled regexes)
once; every ``StreamFilter`` of the show shares it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.yaml_source import SourceError, format_validation_error, load_with_lines

from .aho import Automaton
from .normalize import skeleton

Action = Literal["mask", "cut", "hold"]
ACTIONS: tuple[str, ...] = ("mask", "cut", "hold")

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "show_scripts" / "safety"
REGEX_FLAGS = regex.IGNORECASE


class Rule(BaseModel):
    # Field order matters: ``pattern``'s validator reads ``kind``.
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    kind: Literal["phrase", "regex"]
    pattern: str = Field(min_length=1)
    action: Action
    note: str = ""

    @field_validator("pattern")
    @classmethod
    def _pattern_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "phrase" and len(skeleton(value).fold) < 2:
            raise ValueError(f"phrase {value!r} keeps fewer than 2 letters/digits after normalisation")
        if kind == "regex":
            try:
                compiled = regex.compile(value, REGEX_FLAGS)
            except regex.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
            if compiled.fullmatch(""):
                raise ValueError("the regex matches the empty string")
            if " " in value or r"\s" in value:
                raise ValueError("regex rules run on the skeleton, which has no spaces; drop them")
        return value


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lang: str | None = None
    rules: list[Rule] = Field(min_length=1)


class RuleSet:
    """Validated rules, compiled for matching. Build once, share between streams."""

    def __init__(self, rules: list[Rule]):
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        self.rules = list(rules)
        self.phrases = [r for r in rules if r.kind == "phrase"]
        self.automaton = Automaton([skeleton(r.pattern).fold for r in self.phrases])
        self.max_phrase = max(self.automaton.lengths, default=0)
        self.regexes = [(r, regex.compile(r.pattern, REGEX_FLAGS)) for r in rules if r.kind == "regex"]

    def __len__(self) -> int:
        return len(self.rules)


def _load_file(path: Path) -> list[tuple[Rule, int]]:
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise SourceError([f"{path}:1: a rule list is a mapping with `rules:` (and optional `lang:`)"])
    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        raise SourceError(format_validation_error(path, exc, lines)) from None
    return [(r, lines.get(("rules", i, "id"), 0)) for i, r in enumerate(parsed.rules)]


def load_rules(*paths: str | Path) -> RuleSet:
    """Load and merge rule files; raise ``SourceError`` listing every problem in all of them."""
    problems: list[str] = []
    rules: list[Rule] = []
    where: dict[str, str] = {}
    for path in map(Path, paths):
        try:
            file_rules = _load_file(path)
        except SourceError as exc:
            problems += exc.problems
            continue
        for rule, line in file_rules:
            here = f"{path}:{line}"
            if rule.id in where:
                problems.append(f"{here}: id: duplicate rule id {rule.id!r} (first at {where[rule.id]})")
            else:
                where[rule.id] = here
                rules.append(rule)
    if problems:
        raise SourceError(problems)
    return RuleSet(rules)


def shipped_rules() -> RuleSet:
    """The lists in ``show_scripts/safety`` (en and zh test/demo rules)."""
    return load_rules(*sorted(SHIPPED_DIR.glob("*.yaml")))
