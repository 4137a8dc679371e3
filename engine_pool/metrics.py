"""Per-request latency, defined exactly as ``vllm bench serve`` defines it.

- TTFT: from sending the request to receiving the first non-empty chunk.
- ITL: the gap between each pair of successive chunks (a chunk may carry several tokens).
- e2e latency: from sending the request to receiving the last chunk.
- TPOT: (e2e - TTFT) / (output tokens - 1), only when more than one token was produced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RequestMetrics:
    ttft: float | None = None
    tpot: float | None = None
    e2e: float | None = None
    itl: list[float] = field(default_factory=list)
    output_tokens: int = 0


class MetricsRecorder:
    def __init__(self, clock=time.perf_counter):
        self._clock = clock
        self._sent = clock()
        self._last: float | None = None
        self.metrics = RequestMetrics()

    def on_chunk(self, token_count: int) -> None:
        now = self._clock()
        if token_count <= 0:
            return
        if self._last is None:
            self.metrics.ttft = now - self._sent
        else:
            self.metrics.itl.append(now - self._last)
        self._last = now
        self.metrics.output_tokens += token_count

    def finish(self) -> RequestMetrics:
        m = self.metrics
        if self._last is not None:
            m.e2e = self._last - self._sent
            if m.output_tokens > 1 and m.ttft is not None:
                m.tpot = (m.e2e - m.ttft) / (m.output_tokens - 1)
        return m
