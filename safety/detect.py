"""Incremental detection: raw text in, ``Hit``s out, plus how much raw text is still undecided.

``Detector`` knows nothing about actions; it finds hits and answers one question for the
stream filter: ``hold_from()``, the raw index before which no future hit can start. Text before
it is final and can go on air at once; text after it might still turn out to be (part of) a hit.

- Phrases: one Aho–Corasick step per skeleton character (``aho``); the automaton's state gives
  the longest suffix that is still a phrase prefix, which is all that is held back for phrases.
- Regex rules: after each token, each regex is re-run from where its last possible match began
  (never the whole answer) with the ``regex`` module's partial matching. A match that reaches the
  end of the text so far is not final yet (``\\d{16}`` might become 17 digits, a lookahead has not
  seen its character): its start is held. Look-back is bounded by ``window`` skeleton characters:
  a possible match that started earlier is given up, so a regex match longer than the window is
  not guaranteed to be found, and a regex can never hold more than ``window`` characters.
- Classifier (optional): ``classifier(sentence) -> None | verdict`` where a verdict has ``.id``
  and ``.action`` (a ``Flag``, or a ``Rule``). It is called once per sentence, when a sentence
  ends (``SENTENCE_ENDS``, or ``max_sentence`` raw characters without one, or ``finish``), on the
  raw sentence text; the hit spans the whole sentence. With a classifier the current sentence is
  held until it has been classified, so its action can still mask, cut or hold all of it: it
  costs up to one sentence of latency, and the classifier runs synchronously in ``feed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from .normalize import normalize_char
from .rules import ACTIONS, Action, RuleSet

SENTENCE_ENDS = frozenset(".!?;\n。！？；…")

Classifier = Callable[[str], Any]


@dataclass(frozen=True)
class Hit:
    """One rule firing, for the event log: ``text`` is ``answer[raw_span[0]:raw_span[1]]``."""

    rule_id: str
    action: Action
    raw_span: tuple[int, int]
    text: str
    kind: Literal["phrase", "regex", "classifier"]


@dataclass(frozen=True)
class Flag:
    """A classifier's verdict on a sentence it objects to (a ``Rule`` works as well)."""

    id: str
    action: Action
    note: str = ""


class _RegexState:
    __slots__ = ("rule", "pattern", "done", "resume", "hold")

    def __init__(self, rule, pattern):
        self.rule, self.pattern = rule, pattern
        self.done = 0  # skeleton index where the last reported match ended
        self.resume = 0  # no future match starts before this skeleton index
        self.hold: int | None = None  # start of a match that may still grow / complete


class Detector:
    def __init__(self, rules: RuleSet, classifier: Classifier | None = None, *, window: int = 64, max_sentence: int = 400):
        self.rules = rules
        self.raw_len = 0
        self._ac = rules.automaton
        self._state = 0
        self._window = window
        self._keep = max(rules.max_phrase, window) + 16  # skeleton kept for spans and look-behind
        self._raw, self._raw_base = "", 0  # raw text from _raw_base on
        self._view, self._src, self._skel_base = "", [], 0  # skeleton from _skel_base on
        self._n = 0  # skeleton characters so far
        self._regex = [_RegexState(rule, pattern) for rule, pattern in rules.regexes]
        self._classifier = classifier
        self._max_sentence = max_sentence
        self._sentence_start = 0
        self.finished = False

    # -- feeding ------------------------------------------------------------------------------

    def feed(self, text: str) -> list[Hit]:
        if self.finished:
            raise RuntimeError("feed after finish")
        self._raw += text
        hits: list[Hit] = []
        step, out, lengths, phrases = self._ac.step, self._ac.out, self._ac.lengths, self.rules.phrases
        src, base, n, state, i = self._src, self._skel_base, self._n, self._state, self.raw_len
        view: list[str] = []
        for ch in text:
            v, fold = normalize_char(ch)
            if v:
                view.append(v)
                for f in fold:
                    src.append(i)
                    n += 1
                    state = step(state, f)
                    for index in out[state]:
                        hits.append(self._hit(phrases[index], src[n - lengths[index] - base], i + 1, "phrase"))
            i += 1
            if self._classifier and (ch in SENTENCE_ENDS or i - self._sentence_start >= self._max_sentence):
                hits += self._classify(i)
        self._view += "".join(view)
        self._n, self._state, self.raw_len = n, state, i
        if self._regex and view:
            hits += self._scan_regex(final=False)
        self._trim()
        return sorted(hits, key=lambda h: h.raw_span)

    def finish(self) -> list[Hit]:
        """End of text: matches that were waiting for more text are final now."""
        if self.finished:
            return []
        hits = self._scan_regex(final=True) if self._regex else []
        if self._classifier and self._sentence_start < self.raw_len:
            hits += self._classify(self.raw_len)
        self.finished = True
        return sorted(hits, key=lambda h: h.raw_span)

    def hold_from(self) -> int:
        """Raw index before which no future hit can start: everything before it is final."""
        if self.finished:
            return self.raw_len
        held = self.raw_len
        depth = self._ac.hold[self._state]
        if depth:
            held = self._src[self._n - depth - self._skel_base]
        for rs in self._regex:
            if rs.hold is not None:
                held = min(held, self._src[rs.hold - self._skel_base])
        if self._classifier:
            held = min(held, self._sentence_start)
        return held

    # -- internals ----------------------------------------------------------------------------

    def _hit(self, rule, start: int, end: int, kind) -> Hit:
        text = self._raw[start - self._raw_base : end - self._raw_base]
        return Hit(rule.id, rule.action, (start, end), text, kind)

    def _scan_regex(self, final: bool) -> list[Hit]:
        hits: list[Hit] = []
        n, base, src = self._n, self._skel_base, self._src
        for rs in self._regex:
            rs.hold = None
            pos = max(rs.done, rs.resume)
            while pos < n:
                restart = None
                for m in rs.pattern.finditer(self._view, pos=pos - base, partial=not final):
                    start, end = m.start() + base, m.end() + base
                    if start == end:
                        continue
                    if not final and (m.partial or end == n):  # may still grow or complete
                        if start >= n - self._window:
                            rs.hold = start
                        else:  # give it up (bounded look-back), look again inside the window
                            restart = n - self._window
                        break
                    hits.append(self._hit(rs.rule, src[start - base], src[end - 1 - base] + 1, "regex"))
                    rs.done = end
                if restart is None:
                    break
                pos = max(restart, rs.done)
            rs.resume = n if rs.hold is None else rs.hold
        return hits

    def _classify(self, end: int) -> list[Hit]:
        start, self._sentence_start = self._sentence_start, end
        sentence = self._raw[start - self._raw_base : end - self._raw_base]
        if not any(normalize_char(c)[0] for c in sentence):
            return []
        verdict = self._classifier(sentence)
        if verdict is None:
            return []
        rule_id = getattr(verdict, "id", None) or verdict.rule_id
        if verdict.action not in ACTIONS:
            raise ValueError(f"classifier verdict {rule_id!r} has action {verdict.action!r}, not one of {ACTIONS}")
        return [Hit(rule_id, verdict.action, (start, end), sentence, "classifier")]

    def _trim(self) -> None:
        """Forget skeleton and raw text no future hit can reach (amortised: in big chunks)."""
        drop = self._n - self._keep - self._skel_base
        if drop > self._keep:
            del self._src[:drop]
            self._view = self._view[drop:]
            self._skel_base += drop
        drop = self.hold_from() - self._raw_base
        if drop > 1024:
            self._raw = self._raw[drop:]
            self._raw_base += drop
