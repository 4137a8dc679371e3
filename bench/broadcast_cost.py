"""What one event costs the studio per connected socket, with and without the broadcast shortcut.

A studio (uvicorn, embedded Redis, no engines) holds ``--sockets`` raw WebSocket clients on
``/ws/audience``; ``--events`` poll tallies are appended to the log 10 ms apart. Measured: the CPU
time of the studio's event-loop thread while they go out (thread_time, so client threads and
Redis do not count), divided by events × sockets. Each side runs in a fresh process, alternating
``shortcut`` (studio/server/direct_send.py: one frame encoded once, written to every caught-up socket)
and ``asgi`` (every client framed and sent through its own task); every client must get every
tally. Prints µs per send for each round, the medians and the ratio shortcut/asgi.

    .venv/bin/python bench/broadcast_cost.py                  # about a minute
    .venv/bin/python bench/broadcast_cost.py --sockets 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def one_side(side: str, sockets: int, events: int) -> dict:
    from websockets.sync.client import connect

    import studio.server.feeds as feeds
    from core import events as ev
    from core.events import frame_events
    from studio.server.runtime import Studio
    from studio.show.rundown import load_script
    from tests.studio_harness import LiveStudio, engineless_pool

    if side == "asgi":
        feeds.direct_writer = lambda _send: None  # every client the normal way
    tmp = Path(tempfile.mkdtemp(prefix="broadcast-"))
    script = tmp / "show.yaml"
    script.write_text(
        (REPO / "show_scripts" / "rehearsal.yaml")
        .read_text()
        .replace("bank: banks/demo.yaml", f"bank: {REPO}/show_scripts/banks/demo.yaml")
    )
    with LiveStudio(Studio(load_script(script), tmp / "data", pool=engineless_pool())) as live:
        clients = [connect(f"{live.ws_base}/ws/audience?since=0", open_timeout=30) for _ in range(sockets)]
        got = [0] * sockets

        def read(i: int) -> None:
            try:
                while True:
                    got[i] += len(frame_events(clients[i].recv(timeout=30)))
            except Exception:
                pass

        threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(sockets)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        baseline = list(got)

        async def publish() -> float:
            started = time.thread_time()
            for i in range(events):
                await live.studio.event_log.append(ev.PollTally(data=ev.PollTallyData(poll_id="p", counts={"a": i}, total=i)), ["audience"])
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # the last frames go out
            return time.thread_time() - started

        cpu = live.call(publish, timeout_s=600)
        deadline = time.monotonic() + 10
        while min(g - b for g, b in zip(got, baseline)) < events and time.monotonic() < deadline:
            time.sleep(0.1)
        shared = live.studio.hubs["audience"].frames_shared
        for c in clients:
            c.close()
        return {
            "side": side,
            "us_per_send": cpu / (events * sockets) * 1e6,
            "min_got": min(g - b for g, b in zip(got, baseline)),
            "shared": shared,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=400)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per side, alternating (default 2)")
    parser.add_argument("--side", choices=["shortcut", "asgi"], help=argparse.SUPPRESS)  # one child run
    args = parser.parse_args()
    if args.side:
        print(json.dumps(one_side(args.side, args.sockets, args.events)))
        return
    results: dict[str, list[float]] = {"shortcut": [], "asgi": []}
    for r in range(args.rounds):
        for side in ("asgi", "shortcut") if r % 2 == 0 else ("shortcut", "asgi"):
            out = subprocess.run(
                [sys.executable, __file__, "--side", side, "--sockets", str(args.sockets), "--events", str(args.events)],
                capture_output=True,
                text=True,
                timeout=900,
            )
            line = json.loads(out.stdout.strip().splitlines()[-1])
            ok = "ok" if line["min_got"] >= args.events else f"MISSED (min {line['min_got']})"
            print(
                f"  round {r + 1} {side:>8}: {line['us_per_send']:.2f} µs per send, frames written by the shortcut {line['shared']}, every client got every tally: {ok}"
            )
            results[side].append(line["us_per_send"])
    a, s = statistics.median(results["asgi"]), statistics.median(results["shortcut"])
    print(
        f"{args.sockets} sockets × {args.events} tallies: asgi {a:.2f} µs per send, shortcut {s:.2f} µs, ratio shortcut/asgi = {s / a:.2f}"
    )


if __name__ == "__main__":
    main()
