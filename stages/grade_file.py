"""Grade a file of replies offline: the engine behind ``gavel grade BANK RESPONSES``.

Used to check a bank against real model output before a show, and to re-grade a recorded one.
RESPONSES is a JSON list of ``{"id": ..., "text": ...}`` (other keys, such as the contestant, are
allowed and ignored). Every problem in the file is reported at once, by item index and id, so a
broken file is fixed in one pass. Each verdict is ``{"id", "correct", "extracted", "reason"}``:
``correct`` is true, false, or null when the grader cannot tell (an exact answer hedged between
two, or named without a commitment; on air the director decides it).
"""

from __future__ import annotations

import json
from pathlib import Path

from core.yaml_source import SourceError, read_text

from .banks import load_bank
from .grading import grade


def grade_responses(bank_path: str | Path, responses_path: str | Path) -> list[dict]:
    """One ``{"id", "correct", "extracted", "reason"}`` per response, in the order of the file."""
    bank = load_bank(bank_path)
    items = _read_responses(Path(responses_path))
    problems = []
    for index, item in enumerate(items):
        where = f"{responses_path}: item [{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object with 'id' and 'text', got {type(item).__name__}")
            continue
        missing = [key for key in ("id", "text") if key not in item]
        if missing:
            problems.append(f"{where}: missing {', '.join(repr(k) for k in missing)}")
            continue
        if not isinstance(item["text"], str):
            problems.append(f"{where} (id {item['id']!r}): 'text' must be a string")
        if bank.get(str(item["id"])) is None:
            problems.append(f"{where}: id {item['id']!r} is not in bank {bank.name!r} ({bank_path})")
    if problems:
        raise SourceError(problems)
    results = []
    for item in items:
        verdict = grade(bank.get(str(item["id"])), item["text"])
        results.append({"id": str(item["id"]), "correct": verdict.correct, "extracted": verdict.extracted, "reason": verdict.reason})
    return results


def _read_responses(path: Path) -> list:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError([f"{path}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
    if not isinstance(data, list):
        raise SourceError([f'{path}: expected a JSON list of {{"id", "text"}} objects, got {type(data).__name__}'])
    return data
