"""Prompt scaffolding that must not air.

Stages put their instructions in the chat template's roles, so what a model writes next is the
answer itself; small models still sometimes start with a label ("Answer:", "Rebuttal:",
"Translation:", "答：") or run on into the next turn ("\\nUser: …"). ``LeadTrim`` drops such a
label from the start of the stream, holding the first characters only while they could still be
one; ``STOP_STRINGS`` end an answer where a model starts writing the other side of the chat.
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

# A model that writes the next turn of the chat itself: the answer ends there. (Few: the OpenAI
# API takes at most four stop strings, the script's own included.)
STOP_STRINGS = ("\nUser:", "\nAssistant:", "<|im_start|>")


class LeadTrim:
    """Feed the answer's text as it streams; what comes back is what may air."""

    def __init__(self) -> None:
        self.held = ""
        self.decided = False
        self.trimmed = ""  # the label just dropped, if any (the caller reads it, then clears it)
        self._after_label = False  # spaces after a dropped label do not air either

    def feed(self, text: str) -> str:
        if self.decided:
            if self._after_label:
                kept = text.lstrip()
                self.trimmed += text[: len(text) - len(kept)]
                text, self._after_label = kept, not kept
            return text
        self.held += text
        match = LEAD_LABEL.match(self.held, partial=True)
        if match is not None and match.partial and len(self.held) < HOLD_AT_MOST:
            return ""  # could still become a label: wait for more
        self.decided = True
        out, self.held = self.held, ""
        if match is not None and not match.partial:
            self.trimmed = out[: match.end()]
            out = out[match.end():]
            self._after_label = not out
        return out

    def finish(self) -> str:
        """The end of the answer: what is still held is not a label (a label with no answer
        after it airs nothing)."""
        if self.decided:
            return ""
        self.decided = True
        out, self.held = self.held, ""
        match = LEAD_LABEL.fullmatch(out)
        return "" if match is not None else out
