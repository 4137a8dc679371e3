"""What /metrics costs on the hot paths: the channel hub's per-event work and the vote.

The studio feeds its Prometheus figures at two hot points (studio/server/telemetry.py): every channel hub
calls ``observe_event`` once per event it reads from the log (a counter, a lag histogram, a type
check), and the vote endpoint calls ``observe_vote`` once per vote. Measured in one process, same
run, alternating, on the same events:

- hub: what a hub does per event without metrics (parse the wire JSON, fold it into the channel's
  state, offer it to 100 subscribers) against the same plus ``observe_event``. Token events
  (answer.token), the bulk of a show's traffic. The ratio is an upper bound for the whole relay
  path, which also pays the Redis append, XREAD and the socket writes.
- vote: ``observe_vote`` alone, against the per-vote budget at the 20,000 votes/s target (50 µs).

    .venv/bin/python bench/metrics_cost.py            # ~10 s
    .venv/bin/python bench/metrics_cost.py --events 20000 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import events as ev  # noqa: E402
from core.state import ShowState  # noqa: E402
from store.event_log import LoggedEvent, wire_text  # noqa: E402
from studio.server.fanout import ChannelHub, Subscriber  # noqa: E402
from studio.server.telemetry import StudioMetrics  # noqa: E402

SUBSCRIBERS = 100
VOTE_BUDGET_US = 1e6 / 20_000


class _NoStudio:
    """The scrape-time collector's view of a studio; not scraped here."""

    hubs: dict = {}
    pool = None


def token_events(n: int) -> list[LoggedEvent]:
    out = []
    for i in range(n):
        event = ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant=("ada", "bao")[i % 2], index=i // 2 + 1, text=" word"))
        out.append(LoggedEvent(i + 10, wire_text(i + 10, event.model_dump_json(exclude={"seq"}))))
    return out


def hub_with(observe) -> ChannelHub:
    hub = ChannelHub(None, None, "program", observe=observe)
    hub.state = ShowState()
    opened = ev.ShowOpened(
        seq=1,
        data=ev.ShowOpenedData(
            show_id="b",
            title="b",
            stages=[],
            contestants=[ev.ContestantInfo(id="ada", name="Ada"), ev.ContestantInfo(id="bao", name="Bao")],
        ),
    )
    hub.state.apply(opened)
    asked = ev.QuestionAsked(
        seq=2,
        data=ev.QuestionAskedData(
            stage=0, number=1, of=1, question_id="q1", text="?", kind="exact", time_limit_s=30, deadline_ts=time.time() + 30
        ),
    )
    hub.state.apply(asked)
    hub.last_seq = 9
    for _ in range(SUBSCRIBERS):
        hub.subscribers.add(Subscriber(hub, None, 0, max_queue=10**9))
    return hub


def run_hub(items: list[LoggedEvent], observe) -> float:
    """CPU seconds for one hub to take ``items`` the way ChannelHub._tail does."""
    hub = hub_with(observe)
    started = time.thread_time()
    for item in items:
        event = hub._absorb(item)
        for sub in hub.subscribers:
            sub.offer(item)
        if event is not None and hub.observe is not None:
            hub.observe(hub.channel, event)
    return time.thread_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    items = token_events(args.events)
    metrics = StudioMetrics(_NoStudio())
    bare, observed = [], []
    for _ in range(args.rounds):  # alternating, so drift in the machine's load hits both alike
        bare.append(run_hub(items, None) / len(items))
        observed.append(run_hub(items, metrics.observe_event) / len(items))
    b, o = statistics.median(bare) * 1e6, statistics.median(observed) * 1e6

    votes = 200_000
    started = time.thread_time()
    for i in range(votes):
        metrics.observe_vote("accepted" if i % 5 else "already_voted", counted=bool(i % 5))
    vote_us = (time.thread_time() - started) / votes * 1e6

    print(f"hub per token event, {SUBSCRIBERS} subscribers ({args.rounds} rounds x {args.events} events, median):")
    print(f"  without metrics      {b:8.2f} µs")
    print(f"  with observe_event   {o:8.2f} µs   ratio {o / b:.3f}x  (+{o - b:.2f} µs)")
    rate = 8 * 50 * 3  # 8 streams x 50 tok/s, each token on program, preview and director
    print(f"  at 8 streams x 50 tok/s on 3 channels: metrics take {(o - b) * rate / 1e4:.3f}% of one core")
    print(f"vote: observe_vote {vote_us:.2f} µs = {vote_us / VOTE_BUDGET_US:.1%} of the 50 µs per-vote budget at 20,000 votes/s")


if __name__ == "__main__":
    main()
