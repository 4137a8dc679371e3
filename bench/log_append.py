"""CPU per event-log append and per XREAD: the log's own RESP connection against redis-py, same run.

Every token on air is one append (the Lua script, three channels) and a wake-up of each channel
hub's XREAD. This measures, on the embedded redis-server and uvloop, the studio process's CPU per
call both ways — ``EventLog`` as the studio uses it (``store/redis_lane.py``) and the same
``EventLog`` with its lane switched off (redis-py's ``Script`` and ``xread``) — alternating
``--rounds`` times, and prints the medians and their ratio.

    .venv/bin/python bench/log_append.py
    .venv/bin/python bench/log_append.py --calls 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core import events as ev  # noqa: E402
from store.embedded_redis import EmbeddedRedis  # noqa: E402
from store.event_log import EventLog  # noqa: E402
from store.redis_client import connect  # noqa: E402

TOKEN = ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="c1", index=1, text="<t=123456789 s=123456789> "))


async def cpu_per_call(url: str, lane: bool, calls: int, show: str) -> tuple[float, float]:
    """(µs of CPU per append, per XREAD that finds one new event), one way."""
    client = connect(url, pooled=True, health_check_interval=10)  # as the studio makes its clients
    log = EventLog(client, show)
    if not lane:
        log._lane = None
    for _ in range(100):  # warm: scripts loaded, connections open
        await log.append(TOKEN)
    t0 = time.process_time()
    for _ in range(calls):
        await log.append(TOKEN)
    append_us = (time.process_time() - t0) / calls * 1e6
    after = (await log.tail("program", after=0, count=1))[0].seq - 1
    t0 = time.process_time()
    for k in range(calls):
        await log.tail("program", after=after + k, count=1)
    tail_us = (time.process_time() - t0) / calls * 1e6
    await log.close()
    await client.aclose()
    return append_us, tail_us


async def main_async(url: str, calls: int, rounds: int) -> None:
    results: dict[str, list[tuple[float, float]]] = {"lane": [], "redis-py": []}
    for i in range(rounds):
        for name in ("lane", "redis-py") if i % 2 == 0 else ("redis-py", "lane"):
            results[name].append(await cpu_per_call(url, name == "lane", calls, f"bench-{name}-{i}"))
            print(f"round {i + 1} {name:<9} append {results[name][-1][0]:7.1f} µs   XREAD {results[name][-1][1]:7.1f} µs", flush=True)
    med = {name: (statistics.median(a for a, _ in r), statistics.median(t for _, t in r)) for name, r in results.items()}
    for name, (a, t) in med.items():
        print(f"median {name:<9} append {a:7.1f} µs   XREAD {t:7.1f} µs")
    print(
        f"ratio lane / redis-py: append {med['lane'][0] / med['redis-py'][0]:.2f}, XREAD {med['lane'][1] / med['redis-py'][1]:.2f} "
        "(CPU of the studio process per call; lower is better)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="appends (and XREADs) per round and way")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per way, alternating")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.rounds < 1:
        parser.error("--calls and --rounds must be >= 1")
    import uvloop

    with tempfile.TemporaryDirectory(prefix="gavel-log-append-") as tmp:
        server = EmbeddedRedis(Path(tmp))
        url = server.start()
        try:
            uvloop.run(main_async(url, args.calls, args.rounds))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
