"""Checking a team's training data (jsonl), row by row, before ms-swift sees it.

SFT rows are ``{"messages": [...]}``; DPO rows add ``"rejected_response"``: the chosen answer is
the last assistant message, the rejected one replaces it. Every problem names its line. Every
message goes through the show's content filter too (``safety``): what a contestant is
trained to say can end up on air. The rejected response is exempt on purpose — it is what the
model is trained away from, and a preference set against unsafe answers must be able to show one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from safety import RuleSet, check_input, shipped_rules

from .problems import IntakeError

DatasetKind = Literal["sft", "dpo"]
ROLES = ("system", "user", "assistant")
MAX_FILE_BYTES = 64 << 20
MAX_ROWS = 100_000
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class DatasetSummary:
    kind: DatasetKind
    rows: int


def _row_problems(row: object, kind: DatasetKind, rules: RuleSet) -> list[str]:
    if not isinstance(row, dict):
        return ["a row must be a JSON object"]
    allowed = {"messages"} | ({"rejected_response"} if kind == "dpo" else set())
    problems = [f"unknown field {key!r} (a {kind} row has: {', '.join(sorted(allowed))})" for key in row if key not in allowed]
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        return problems + ["messages: must be a non-empty list"]
    roles = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            problems.append(f"messages[{i}]: must be an object with only role and content")
            continue
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            problems.append(f"messages[{i}].role: must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(content, str) or not content.strip():
            problems.append(f"messages[{i}].content: must be non-empty text")
        else:
            verdict = check_input(content, rules)
            if not verdict.allowed:
                problems.append(f"messages[{i}].content: {verdict.reason}")
        roles.append(role)
    turns = [r for r in roles if r != "system"]
    if "system" in roles[1:]:
        problems.append("messages: a system message may only come first")
    if not turns or turns[0] != "user":
        problems.append("messages: the first turn after any system message must be the user's")
    if any(a == b for a, b in zip(turns, turns[1:])):
        problems.append("messages: user and assistant turns must alternate")
    if not turns or turns[-1] != "assistant":
        problems.append("messages: the last message must be the assistant's answer (the one trained on)")
    if kind == "dpo":
        rejected = row.get("rejected_response")
        if not isinstance(rejected, str) or not rejected.strip():
            problems.append("rejected_response: must be non-empty text (the answer the model should not give)")
        elif messages and isinstance(messages[-1], dict) and messages[-1].get("content") == rejected:
            problems.append("rejected_response: is the same as the chosen answer")
    return problems


def check_dataset(path: Path, kind: DatasetKind, rules: RuleSet | None = None) -> DatasetSummary:
    """The dataset's summary, or :class:`IntakeError` naming each bad line (the first 20)."""
    if kind not in ("sft", "dpo"):
        raise ValueError(f"kind must be sft or dpo, got {kind!r}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise IntakeError([f"{path.name}: {size} bytes, over the cap of {MAX_FILE_BYTES}"])
    rules = rules if rules is not None else shipped_rules()
    problems: list[str] = []
    bad_lines = rows = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            rows += 1
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                found = ["not UTF-8 text"]
            except ValueError as error:
                found = [f"not valid JSON ({error})"]
            else:
                found = _row_problems(row, kind, rules)
            if found:
                bad_lines += 1
                if len(problems) < MAX_PROBLEMS:
                    problems += [f"{path.name}:{number}: {p}" for p in found]
    if bad_lines and len(problems) >= MAX_PROBLEMS:
        problems.append(f"{path.name}: {bad_lines} bad lines in all (the first ones are listed)")
    if rows == 0:
        problems.append(f"{path.name}: no rows")
    if rows > MAX_ROWS:
        problems.append(f"{path.name}: {rows} rows, over the cap of {MAX_ROWS}")
    if problems:
        raise IntakeError(problems)
    return DatasetSummary(kind=kind, rows=rows)
