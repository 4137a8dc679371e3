"""Prompt scaffolding that must not air.

Stages put their instructions in the chat template's roles, so what a model writes next is the
answer itself; small models still sometimes start with a label ("Answer:", "Rebuttal:",
"Translation:", "答：") or repeat a line of the prompt first. ``LeadTrim`` drops labels and
echoed prompt lines from the start of the stream, holding the first characters only while they
could still be one. (No stop strings are added: with one, vLLM holds text back while it could
become the stop string, so chunks no longer line up with their tokens and the generation path
would be drawn wrong; the chat template's end-of-turn token ends an answer.)
"""

from __future__ import annotations

import regex

# Labels that only ever introduce an answer, never start one. A lone letter ("A:") is left
# alone: it is a multiple-choice answer.
LEAD_LABEL = regex.compile(
    r"\s*(?:\*\*|__)?"
    r"(?:(?:your|my|final|the)\s+)?"
    r"(?:answer|reply|response|opening(?:\s+statement)?|rebuttal|closing(?:\s+statement)?|statement|"
    r"translation|poem|english|chinese|french|german|spanish|"
    r"答案|回答|答|译文|翻译|诗|开篇陈词|反驳|总结陈词|陈词|正方|反方|英文|中文)"
    r"\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?",
    regex.IGNORECASE,
)
HOLD_AT_MOST = 40  # characters: past this, whatever it is, it is not a label

ECHO_AT_LEAST = 16  # characters: a prompt line this long, repeated before the answer, is an echo
# A first sentence that starts with this much of a prompt line is the instruction restated ("Write
# a poem of exactly 4 lines about the same picture."), however it ends.
RESTATED_AT_LEAST = 24
WIDE = 3  # a CJK character counts as three Latin ones in RESTATED_AT_LEAST
TRAILING = " \t\n,，、;；:：.。…"  # what may follow the last word of an echo cut short
SENTENCE_END = regex.compile(r"[.!?](?=\s|$)|[。！？\n]")
SENTENCE_SPLIT = regex.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
JOINERS = regex.compile(r"[\s:：,，、;；]*")  # what an echo leaves behind before the answer proper


def _weight(text: str) -> int:
    return sum(WIDE if CJK.match(ch) else 1 for ch in text)


def prompt_lines(messages: list[dict]) -> list[str]:
    """The lines of what the model was told (system and user messages, text only), and each
    sentence of them: a model that repeats one before it answers ("The picture shows, most likely
    first: …", "请用中文简短回答：…") has not answered yet. A CJK character weighs as WIDE."""
    lines: list[str] = []
    for message in messages:
        if message.get("role") in ("system", "user") and isinstance(message.get("content"), str):
            for line in message["content"].splitlines():
                sentences = [part.strip().rstrip("。！？.!?") for part in SENTENCE_SPLIT.split(line)]
                lines += [text for text in (line.strip(), *sentences) if _weight(text) >= ECHO_AT_LEAST]
    return list(dict.fromkeys(lines))


class LeadTrim:
    """Feed the answer's text as it streams; what comes back is what may air. Labels and echoes of
    the prompt's lines at the start are dropped, one after another ("Translation: " after an echoed
    source line too); the text is held only while it could still be one."""

    def __init__(self, echoes: list[str] = ()) -> None:
        self.echoes = [e for e in echoes if e]
        self.hold_limit = max([HOLD_AT_MOST, *(len(e) + 80 for e in self.echoes)])
        self.held = ""
        self.decided = False
        self.trimmed = ""  # what was just dropped, if anything (the caller reads it, then clears it)
        self._dropped = False  # anything at all: then the spaces after it do not air either

    @property
    def dropped(self) -> bool:
        return self._dropped

    def feed(self, text: str) -> str:
        if self.decided:
            return text
        self.held += text
        return self._settle(final=False)

    def finish(self) -> str:
        """The end of the answer: what is still held is not scaffolding, unless it is a whole
        label or echo (a label with no answer after it airs nothing)."""
        return "" if self.decided else self._settle(final=True)

    def _settle(self, final: bool) -> str:
        while True:
            body = self.held.lstrip()
            spaces = len(self.held) - len(body)
            cut = self._scaffold_at_start(body, final) if body else 0
            if cut:
                self.trimmed += self.held[: spaces + cut]
                self.held = self.held[spaces + cut :]
                self._dropped = True
                continue
            if body and not final and len(self.held) < self.hold_limit and self._could_become_scaffold(body):
                return ""  # could still be a label or an echo: wait for more
            if not body and not final:
                return ""
            self.decided = True
            out, self.held = self.held, ""
            if self._dropped:
                self.trimmed += out[: len(out) - len(out.lstrip())]
                out = out.lstrip()
            return out

    def _scaffold_at_start(self, body: str, final: bool = False) -> int:
        label = LEAD_LABEL.match(body)
        if label is not None and label.end() > 0:
            return label.end()
        for echo in self.echoes:
            if body.startswith(echo) and (final or len(body) > len(echo)):  # what follows shows it was only the echo
                return len(echo) + JOINERS.match(body, len(echo)).end() - len(echo)
            weight, at = _shared_prefix(body, echo)
            if weight >= RESTATED_AT_LEAST:
                end = SENTENCE_END.search(body, at)
                if end is not None:
                    return end.end()
                # The answer ended inside the echo (its token limit cut "你是道，一位…" short):
                # all of it was the prompt said back.
                if final and echo.startswith(body.rstrip(TRAILING)):
                    return len(body)
        return 0

    def _could_become_scaffold(self, body: str) -> bool:
        label = LEAD_LABEL.match(body, partial=True)
        if label is not None and label.partial:
            return True
        return any(e.startswith(body) or _shared_prefix(body, e)[0] >= RESTATED_AT_LEAST for e in self.echoes)


def _shared_prefix(a: str, b: str) -> tuple[int, int]:
    """How much of a prompt line the text starts with: (weight, characters). A CJK character
    weighs as much as a short word (WIDE), so a restated Chinese instruction is caught as soon as
    an English one of the same length in meaning; ``characters`` is where the weight first reached
    RESTATED_AT_LEAST (or the whole shared length, if it never did)."""
    weight = reached = 0
    for n, (x, y) in enumerate(zip(a, b), start=1):
        if x != y:
            break
        weight += WIDE if CJK.match(x) else 1
        if not reached and weight >= RESTATED_AT_LEAST:
            reached = n
    else:
        n = min(len(a), len(b)) + 1
    return weight, reached or n - 1
