"""The studio's operating figures, in Prometheus text format (``GET /metrics``).

One ``StudioMetrics`` per studio, on a registry of its own (a test process may run several
studios). The figures are fed where they happen, at a few cheap points, never per socket:

- the channel hubs call ``observe_event`` once per event per channel as they read it from the log
  (events appended per channel, fan-out lag, the content filter's hits on the director channel);
- the vote endpoint calls ``observe_vote`` with each vote's outcome;
- the engine pool calls ``observe_answer`` when an answer ends (TTFT, TPOT, status per engine).

Connected clients and engines in flight are read when scraped (``_LiveCollector``), so holding a
socket costs nothing here. Event-derived series (events, lag, filter hits) describe the shared
log as this process read it: with several studio processes on one Redis they agree, so take one
process's (or ``max``), not the sum; votes and answers are this process's own.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from core import events as ev

if TYPE_CHECKING:
    from engine_pool.pool import Answer

    from .runtime import Studio

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Fan-out lag runs from milliseconds (live) to the broadcast delay (program with delay_s > 0).
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)
TPOT_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1)


class StudioMetrics:
    def __init__(self, studio: "Studio"):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter("gavel_events", "Events appended to the channel's log (events/s: rate()).", ["channel"], registry=r)
        self.fanout_lag = Histogram(
            "gavel_fanout_lag_seconds",
            "From an event's creation (its ts) to this process's hub handing it to the channel's sockets "
            "(includes the broadcast delay on program).",
            ["channel"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.votes = Counter(
            "gavel_votes", "Viewers' votes by outcome (accepted or refused) and result.", ["outcome", "result"], registry=r
        )
        self.ttft = Histogram(
            "gavel_engine_ttft_seconds", "Time to first token per answer, by engine.", ["engine"], buckets=TTFT_BUCKETS, registry=r
        )
        self.tpot = Histogram(
            "gavel_engine_tpot_seconds", "Time per output token per answer, by engine.", ["engine"], buckets=TPOT_BUCKETS, registry=r
        )
        self.answers = Counter(
            "gavel_answers", "Answers ended, by engine and status (done, dnf, timeout, cancelled).", ["engine", "status"], registry=r
        )
        self.filter_hits = Counter(
            "gavel_filter_hits", "Content-filter rules fired on answers, by action and kind.", ["action", "kind"], registry=r
        )
        self.inputs_refused = Counter(
            "gavel_inputs_refused", "Inputs (questions, motions, ballots) the filter refused before any model saw them.", registry=r
        )
        r.register(_LiveCollector(studio))
        # Label lookups cost more than the counting: each channel's series, looked up once.
        self._per_channel = {c: (self.events.labels(c), self.fanout_lag.labels(c)) for c in ev.CHANNELS}
        self._per_vote_result: dict[tuple[str, bool], object] = {}

    def observe_event(self, channel: str, event: ev.Event) -> None:
        events, lag = self._per_channel[channel]
        events.inc()
        lag.observe(max(0.0, time.time() - event.ts))
        if channel != "director":
            return
        if isinstance(event, ev.SafetyHit):
            self.filter_hits.labels(event.data.action, event.data.kind).inc()
        elif isinstance(event, ev.InputRefused):
            self.inputs_refused.inc()

    def observe_vote(self, result: str, counted: bool) -> None:
        series = self._per_vote_result.get((result, counted))
        if series is None:
            series = self._per_vote_result[(result, counted)] = self.votes.labels("accepted" if counted else "refused", result)
        series.inc()

    def observe_answer(self, engine: str, answer: "Answer") -> None:
        self.answers.labels(engine, answer.status).inc()
        if answer.metrics.ttft is not None:
            self.ttft.labels(engine).observe(answer.metrics.ttft)
        if answer.metrics.tpot is not None:
            self.tpot.labels(engine).observe(answer.metrics.tpot)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector:
    """Figures read at scrape time from the running parts."""

    def __init__(self, studio: "Studio"):
        self.studio = studio

    def describe(self):
        return []

    def collect(self):
        clients = GaugeMetricFamily(
            "gavel_clients_connected", "WebSocket clients connected to this process, by channel.", labels=["channel"]
        )
        last_seq = GaugeMetricFamily(
            "gavel_channel_last_seq", "The latest seq this process's hub has read, by channel.", labels=["channel"]
        )
        for channel, hub in self.studio.hubs.items():
            clients.add_metric([channel], len(hub.subscribers))
            last_seq.add_metric([channel], hub.last_seq)
        yield clients
        yield last_seq
        pool = self.studio.pool
        if pool is not None:
            in_flight = GaugeMetricFamily("gavel_engine_in_flight", "Answers this process has running on each engine.", labels=["engine"])
            for name in pool.engines:
                in_flight.add_metric([name], pool.in_flight(name))
            yield in_flight
            ready = GaugeMetricFamily("gavel_engines_ready", "1 once every engine has started (or failed to).")
            ready.add_metric([], 1 if pool.ready.is_set() else 0)
            yield ready
