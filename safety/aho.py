"""Aho–Corasick over skeleton characters: every phrase at once, one step per character.

A streamed answer grows by a few characters per token; rescanning it for every phrase on every
token would cost O(answer × phrases). The automaton keeps one state between tokens, so a token
costs O(its characters) (amortised) whatever the number of phrases, and a phrase split across
any number of tokens is found at its last character.

The state also tells the stream filter how much to hold back: ``hold[state]`` is the length of
the longest suffix of the text so far that could still grow into a phrase (a prefix of some
phrase that has a continuation). Everything before that suffix can never be part of a match.
"""

from __future__ import annotations

from collections import deque


class Automaton:
    def __init__(self, phrases: list[str]):
        self.goto: list[dict[str, int]] = [{}]
        self.fail: list[int] = [0]
        self.depth: list[int] = [0]
        self.out: list[tuple[int, ...]] = [()]  # indexes of the phrases that end at this state
        for index, phrase in enumerate(phrases):
            self._insert(index, phrase)
        self.lengths = [len(p) for p in phrases]
        self._link()
        self.hold = self._hold_depths()

    def _insert(self, index: int, phrase: str) -> None:
        if not phrase:
            raise ValueError("empty phrase")
        state = 0
        for ch in phrase:
            nxt = self.goto[state].get(ch)
            if nxt is None:
                nxt = len(self.goto)
                self.goto.append({})
                self.fail.append(0)
                self.depth.append(self.depth[state] + 1)
                self.out.append(())
                self.goto[state][ch] = nxt
            state = nxt
        self.out[state] += (index,)

    def _link(self) -> None:
        """Failure links by breadth-first search; ``out`` absorbs the outputs of the fail chain."""
        queue = deque(self.goto[0].values())
        while queue:
            state = queue.popleft()
            for ch, nxt in self.goto[state].items():
                f = self.fail[state]
                while f and ch not in self.goto[f]:
                    f = self.fail[f]
                self.fail[nxt] = self.goto[f][ch] if ch in self.goto[f] and self.goto[f][ch] != nxt else 0
                self.out[nxt] += self.out[self.fail[nxt]]
                queue.append(nxt)

    def _hold_depths(self) -> list[int]:
        """Depth of the first state on the fail chain (itself included) that has a continuation."""
        hold = [0] * len(self.goto)
        order = sorted(range(len(self.goto)), key=self.depth.__getitem__)  # fail targets come first
        for state in order:
            hold[state] = self.depth[state] if self.goto[state] else hold[self.fail[state]]
        return hold

    def step(self, state: int, ch: str) -> int:
        goto, fail = self.goto, self.fail
        while True:
            nxt = goto[state].get(ch)
            if nxt is not None:
                return nxt
            if state == 0:
                return 0
            state = fail[state]
