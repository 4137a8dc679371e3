"""The replay engine: streams recorded answers, token by token, at a set pace.

For rehearsals without a model (the director runs the rundown with known answers), for replaying
a recorded show, and for checking what the studio does with exactly these tokens — e.g. a banned
phrase split across token boundaries — which a live model cannot be made to produce on cue.

A recording lists answers; a request gets the first one whose ``contestant`` (empty: anyone) and
``match`` (a substring of the last user message; empty: any) fit. No match is an EngineError, so
the contestant DNFs with the reason, as with any engine failure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

from .base import Chunk, EngineError, GenerationRequest
from .hardware import Hardware


@dataclass(frozen=True)
class RecordedAnswer:
    tokens: tuple[str, ...]
    contestant: str = ""
    match: str = ""


class ReplayEngine:
    def __init__(self, name: str, answers: list[RecordedAnswer], tokens_per_s: float = 20.0):
        self.name = name
        self.answers = list(answers)
        self.period = 1.0 / tokens_per_s
        self._started = False

    @classmethod
    def from_file(cls, name: str, path: Path, tokens_per_s: float = 20.0) -> "ReplayEngine":
        from core.yaml_source import SourceError, load_with_lines

        data, lines = load_with_lines(path)
        answers, problems = [], []
        for i, item in enumerate((data or {}).get("answers") or []):
            tokens = item.get("tokens") if isinstance(item, dict) else None
            if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
                problems.append(f"{path}:{lines.get(('answers', i), 0)}: answers[{i}].tokens: a non-empty list of strings")
                continue
            answers.append(RecordedAnswer(tuple(tokens), str(item.get("contestant", "")), str(item.get("match", ""))))
        if not answers and not problems:
            problems.append(f"{path}:1: answers: a recording needs at least one answer")
        if problems:
            raise SourceError(problems)
        return cls(name, answers, tokens_per_s)

    async def start(self) -> None:
        self._started = True

    def _find(self, request: GenerationRequest) -> RecordedAnswer:
        prompt = next((m["content"] for m in reversed(request.messages) if m["role"] == "user"), "")
        for answer in self.answers:
            if answer.contestant in ("", request.contestant) and answer.match in prompt:
                return answer
        raise EngineError(f"replay engine {self.name}: no recorded answer for {request.contestant or 'this request'}")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        if not self._started:
            raise EngineError(f"replay engine {self.name} is not started")
        answer = self._find(request)
        for token in answer.tokens[: request.sampling.max_tokens]:
            await asyncio.sleep(self.period)
            yield Chunk(text=token, token_count=1)

    async def healthy(self) -> bool:
        return self._started

    def hardware(self) -> Hardware:
        return Hardware("none", "replay (recorded tokens, no model)", 0)

    async def close(self) -> None:
        self._started = False
