"""The generation path of one answer: every token with the alternatives the model weighed there.

The engine sends, with each chunk, the emitted tokens and their top-k alternatives (logprobs).
``PathTracer`` turns them into ``PathStep``s — but only for text the content filter has released,
and showing it as it aired: a step's text is cut from the released text (so a masked span shows
as █, and held or withheld text never gets a step), and an alternative that would complete a
filtered phrase after what aired is masked too. So the path can never air what the answer could
not.

The margin of a step is p(emitted) − p(best other alternative): near 0 the model nearly said
something else ("the road not taken"), below 0 it sampled a less likely token.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Callable

from core import events as ev
from engine_pool.base import Chunk
from safety.stream_filter import MASK

# Would this alternative, said right after this aired text, be filtered? (context, alternative)
WouldFilter = Callable[[str, str], bool]
CONTEXT_CHARS = 48  # aired text before a token that a phrase spanning it could start in


@dataclass
class _Pending:
    start: int  # raw character range of the token in the answer
    end: int
    index: int
    emitted: str  # the token's own text (raw: never aired as such)
    logprob: float
    alternatives: dict[str, float]


class PathTracer:
    def __init__(self, would_filter: WouldFilter | None = None):
        self.would_filter = would_filter
        self._raw_chars = 0  # characters of raw answer text seen so far
        self._aired = ""  # released text so far (same length as the raw text it released)
        self._pending: deque[_Pending] = deque()

    def on_chunk(self, chunk: Chunk, tokens_so_far: int) -> None:
        """A raw chunk from the engine (before the filter): remember its tokens' places."""
        start = self._raw_chars
        self._raw_chars += len(chunk.text)
        if not chunk.sampled or not chunk.top_logprobs:
            return
        texts = [text for text, _ in chunk.sampled]
        first_index = tokens_so_far - chunk.token_count + 1
        if "".join(texts) == chunk.text:
            bounds = []
            for text in texts:
                bounds.append((start, start + len(text)))
                start += len(text)
        else:
            # The tokens do not spell the text (a special token the text leaves out, a character
            # split across byte-level tokens): the first token carries the chunk's text.
            bounds = [(start, self._raw_chars)] + [(self._raw_chars, self._raw_chars)] * (len(texts) - 1)
        for i, ((text, logprob), alternatives, (a, b)) in enumerate(zip(chunk.sampled, chunk.top_logprobs, bounds)):
            self._pending.append(_Pending(a, b, first_index + i, text, logprob, alternatives))

    def drop_lead(self, chars: int) -> None:
        """The answer's first ``chars`` raw characters never air (a label stages/scaffolding.py
        dropped): their tokens get no step, and the rest line up with the aired text again."""
        kept: deque[_Pending] = deque()
        for token in self._pending:
            if token.end > chars:
                kept.append(
                    _Pending(max(0, token.start - chars), token.end - chars, token.index, token.emitted, token.logprob, token.alternatives)
                )
        self._pending = kept
        self._raw_chars -= chars

    def on_release(self, text: str) -> list[ev.PathStep]:
        """Text the filter released for air: the steps it completes, as they aired."""
        self._aired += text
        return self._take(len(self._aired))

    def _take(self, limit: int) -> list[ev.PathStep]:
        steps = []
        while self._pending and self._pending[0].end <= limit:
            token = self._pending.popleft()
            steps.append(self._step(token))
        return steps

    def _step(self, token: _Pending) -> ev.PathStep:
        context = self._aired[max(0, token.start - CONTEXT_CHARS) : token.start]
        ranked = sorted(token.alternatives.items(), key=lambda item: -item[1])
        alternatives = [ev.PathAlternative(text=self._shown(context, text), logprob=lp) for text, lp in ranked]
        others = [lp for text, lp in ranked if text != token.emitted]
        margin = math.exp(token.logprob) - math.exp(others[0]) if others else None
        return ev.PathStep(
            index=token.index,
            text=self._aired[token.start : token.end],
            logprob=token.logprob,
            alternatives=alternatives,
            margin=margin,
        )

    def _shown(self, context: str, alternative: str) -> str:
        if self.would_filter is not None and alternative and self.would_filter(context, alternative):
            return MASK * len(alternative)
        return alternative
