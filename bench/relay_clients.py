"""The viewers of bench/relay.py: ``--clients`` WebSocket clients in one process of their own,
recording receive time minus emit time for every token, and every event's order."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from kit import quiet_sigterm
from relay_engine import STAMP
from relay_servers import Setup, loop_factory

from core.events import frame_events


def client_process(setup: Setup, url: str, out_path: str, connected, timeout_s: float) -> None:
    quiet_sigterm()
    with asyncio.Runner(loop_factory=loop_factory(setup.loop)) as runner:
        result = runner.run(_clients_main(setup, url, connected, timeout_s))
    Path(out_path).write_text(json.dumps(result))


async def _clients_main(setup: Setup, url: str, connected, timeout_s: float) -> dict:
    from websockets.asyncio.client import connect

    compression = "deflate" if setup.compression else None
    gate = asyncio.Semaphore(20)

    async def open_one():
        async with gate:
            return await connect(url, ping_interval=None, max_size=None, open_timeout=30, compression=compression, proxy=None)

    conns = await asyncio.gather(*(open_one() for _ in range(setup.clients)))
    usage0 = os.times()
    connected.set()
    expected = setup.streams * setup.tokens

    async def follow(ws) -> dict:
        lat: list[int] = []
        sched: list[int] = []
        tokens = 0
        disorder = 0  # seq not last+1, or a stream's token index not last+1
        last_seq = None
        last_index: dict[str, int] = {}
        ended = False
        try:
            async for raw in ws:
                now = time.monotonic_ns()
                for event in frame_events(raw):
                    if last_seq is not None and event["seq"] != last_seq + 1:
                        disorder += 1
                    last_seq = event["seq"]
                    if event["type"] == "answer.token" and (stamp := STAMP.search(event["data"]["text"])):
                        tokens += 1
                        lat.append((now - int(stamp[1])) // 1000)
                        sched.append((now - int(stamp[2])) // 1000)
                        who, index = event["data"]["contestant"], event["data"]["index"]
                        if index != last_index.get(who, 0) + 1:
                            disorder += 1
                        last_index[who] = index
                    elif event["type"] == "show.status" and event["data"]["status"] in ("completed", "aborted"):
                        ended = True
                if ended:
                    break
        finally:
            await ws.close()
        return {"lat_us": lat, "sched_us": sched, "tokens": tokens, "disorder": disorder, "ended": ended}

    tasks = [asyncio.create_task(follow(ws)) for ws in conns]
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    usage1 = os.times()
    per_client = [t.result() if t in done and t.exception() is None else None for t in tasks]
    return {
        "expected": expected,
        "clients": per_client,
        "timed_out": len(pending),
        "cpu_s": (usage1.user - usage0.user) + (usage1.system - usage0.system),
    }
