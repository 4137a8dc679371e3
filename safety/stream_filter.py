"""The on-air side: a model's answer goes in token by token, filtered text comes out.

``StreamFilter.feed(token)`` returns what may go on air now. Released text, concatenated, is
exactly the raw answer with masked spans replaced, in order, nothing twice; it only lags behind
the raw answer by what the ``Detector`` still holds (a suffix that may become a hit), or stops
at a cut or a hold. Actions, per rule:

- ``mask``: every raw character of the span (separators and invisible characters inside it
  included, and combining marks right after it) becomes ``MASK`` (``█``), one per code point,
  so the on-air text keeps its length and layout.
- ``cut``: nothing from the start of the span on is released; the answer ends ``withheld``
  (the stage records a DNF with reason "withheld"). Text the filter was still holding when the
  cut fired is withheld too (it might have been part of a longer match).
- ``hold``: release stops at the start of the span until the director decides: ``approve()``
  releases the span as it is (other rules' masks still apply) and carries on; ``reject()``
  turns it into a cut. The detector keeps reading while held, so later hits are queued.

Every call returns a list of ``Release`` (empty when there is nothing new; today at most one,
a list so a caller can simply extend its outbox). A release carries
the new text, the hits detected since the previous release (each hit is reported once, as soon
as it is detected, so the event log and the director see a hold at once) and the filter's state.

``check_input`` runs the same detector over a whole input (question, motion, viewer challenge,
uploaded data) before any model sees it: any hit, whatever its action, refuses the item.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from .detect import Classifier, Detector, Hit
from .rules import Rule, RuleSet

MASK = "█"
State = Literal["open", "held", "withheld", "done"]


@dataclass(frozen=True)
class Release:
    """Text for air now, the hits found since the last release, and the state after it.

    ``state``: ``open`` (streaming), ``held`` (waiting for the director: nothing more until
    ``approve``/``reject``), ``withheld`` (cut: nothing more, ever; the answer is a DNF),
    ``done`` (``finish`` was called and everything was released).
    """

    text: str
    hits: tuple[Hit, ...] = ()
    state: State = "open"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: tuple[Hit, ...] = ()

    @property
    def reason(self) -> str:
        """One line for the director and the refusal message: which rules fired."""
        if self.allowed:
            return ""
        return "refused by the content filter: " + ", ".join(dict.fromkeys(h.rule_id for h in self.hits))


def _ruleset(rules: RuleSet | list[Rule]) -> RuleSet:
    return rules if isinstance(rules, RuleSet) else RuleSet(list(rules))


class StreamFilter:
    def __init__(self, rules: RuleSet | list[Rule], classifier: Classifier | None = None, *, window: int = 64):
        self._detector = Detector(_ruleset(rules), classifier, window=window)
        self._pending = ""  # raw text not released yet, from self._released on
        self._released = 0
        self._masks: list[tuple[int, int]] = []
        self._masked_last = False  # the last released character was masked
        self._holds: list[Hit] = []  # waiting for the director, by start
        self._cut_at: int | None = None
        self._state: State = "open"
        self.hits: list[Hit] = []  # every hit so far, in detection order

    @property
    def state(self) -> State:
        return self._state

    @property
    def pending_hold(self) -> Hit | None:
        """The hit the director is asked about, if any."""
        return self._holds[0] if self._holds else None

    def feed(self, text: str) -> list[Release]:
        if self._cut_at is not None:
            return []
        if self._detector.finished:
            raise RuntimeError("feed after finish")
        self._pending += text
        return self._release(self._apply(self._detector.feed(text)))

    def finish(self) -> list[Release]:
        if self._cut_at is not None or self._detector.finished:
            return []
        return self._release(self._apply(self._detector.finish()))

    def approve(self) -> list[Release]:
        """The director lets the held span go on air as it is."""
        if not self._holds:
            raise RuntimeError("nothing is held")
        self._holds.pop(0)
        return self._release([])

    def reject(self) -> list[Release]:
        """The director refuses the held span: the answer is cut there."""
        if not self._holds:
            raise RuntimeError("nothing is held")
        self._cut_at = self._holds[0].raw_span[0]
        self._holds.clear()
        return self._release([])

    # -- internals ----------------------------------------------------------------------------

    def _apply(self, hits: list[Hit]) -> list[Hit]:
        kept = []
        for hit in hits:
            start = hit.raw_span[0]
            if self._cut_at is not None and start >= self._cut_at:
                continue  # never reaches air: not an event
            kept.append(hit)
            if hit.action == "mask":
                self._masks.append(hit.raw_span)
            elif hit.action == "cut":
                self._cut_at = start if self._cut_at is None else min(self._cut_at, start)
            else:
                self._holds.append(hit)
                self._holds.sort(key=lambda h: h.raw_span)
        self.hits += kept
        return kept

    def _release(self, hits: list[Hit]) -> list[Release]:
        limit = self._detector.hold_from()
        if self._holds:
            limit = min(limit, self._holds[0].raw_span[0])
        if self._cut_at is not None:
            limit = min(limit, self._cut_at)
            self._holds = [h for h in self._holds if h.raw_span[0] < self._cut_at]
        text = ""
        if limit > self._released:
            text = self._render(limit)
        old, self._state = self._state, self._next_state()
        if not text and not hits and old == self._state:
            return []
        return [Release(text, tuple(hits), self._state)]

    def _render(self, limit: int) -> str:
        start, count = self._released, limit - self._released
        chars = self._pending[:count]
        spans = [(a, b) for a, b in self._masks if a < limit and b > start]
        if spans or self._masked_last:
            masked = [False] * count
            for a, b in spans:
                for k in range(max(a, start), min(b, limit)):
                    masked[k - start] = True
            # A combining mark right after a masked span belongs to its last letter (``é`` typed
            # as e + U+0301 may arrive in the next token): mask it too, or it dangles on air.
            before = self._masked_last
            for k, c in enumerate(chars):
                if not masked[k] and before and unicodedata.category(c).startswith("M"):
                    masked[k] = True
                before = masked[k]
            self._masked_last = before
            chars = "".join(MASK if m else c for m, c in zip(masked, chars))
        self._pending = self._pending[count:]
        self._released = limit
        self._masks = [(a, b) for a, b in self._masks if b > limit]
        return chars

    def _next_state(self) -> State:
        if self._cut_at is not None:
            return "withheld"
        if self._holds:
            return "held"
        if self._detector.finished and self._released == self._detector.raw_len:
            return "done"
        return "open"


def check_input(text: str, rules: RuleSet | list[Rule], classifier: Classifier | None = None) -> Verdict:
    """Check a question, motion, viewer challenge or uploaded file before any model sees it."""
    detector = Detector(_ruleset(rules), classifier)
    hits = detector.feed(text) + detector.finish()
    return Verdict(allowed=not hits, hits=tuple(hits))
