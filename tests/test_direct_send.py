"""The broadcast's shortcut (studio/server/direct_send.py): caught-up clients get one frame encoded once,
written straight to their socket, and still see exactly the log's events in seq order — on the
real uvicorn (websockets-sansio) with real WebSocket clients, small, medium (>125 bytes) and large
(>64 KiB) frames alike; a client the shortcut skips gets the same events the normal way."""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from websockets.sync.client import connect

from core import events as ev
from core.events import frame_events
from store.event_log import EventLog
from studio.server.direct_send import text_frame
from studio.server.fanout import ChannelHub
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .conftest import run
from .studio_harness import LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"
SIZES = (3, 150, 70_000)  # one-byte, two-byte and eight-byte payload lengths in the frame header


def _token(i: int) -> ev.AnswerToken:
    size = SIZES[i % len(SIZES)]
    return ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="ada", index=i, text=("é" * size)[:size]))


def test_the_frame_header_carries_each_length_form():
    assert text_frame(b"abc") == b"\x81\x03abc"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70_000)[:10] == b"\x81\x7f" + (70_000).to_bytes(8, "big")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("direct-send")
    path = tmp / "show.yaml"
    path.write_text(DEMO.read_text().replace("bank: banks/demo.yaml", f"bank: {REPO}/show_scripts/banks/demo.yaml"))
    with LiveStudio(Studio(load_script(path), tmp / "data", pool=engineless_pool())) as live:
        yield live


def _follow(url: str, until_seq: int, out: list[dict], ready: threading.Event) -> None:
    with connect(url, open_timeout=30, max_size=None) as ws:
        ready.set()
        while not out or out[-1]["seq"] < until_seq:
            out.extend(frame_events(ws.recv(timeout=60)))


def test_real_clients_get_every_event_once_in_order_through_the_shortcut(live):
    hub = live.studio.hubs["program"]
    start = hub.last_seq
    count, clients = 60, 12
    received: list[list[dict]] = [[] for _ in range(clients)]
    readies = [threading.Event() for _ in range(clients)]
    threads = [
        threading.Thread(
            target=_follow,
            args=(f"{live.ws_base}/ws/program?since={start}&token={live.graphics_token}", start + count, received[i], readies[i]),
            daemon=True,
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for r in readies:
        assert r.wait(30)
    shared_before = hub.frames_shared

    async def publish():
        for i in range(1, count + 1):
            await live.studio.event_log.append(_token(i), ["program"])
            if i % 7 == 0:
                await asyncio.sleep(0.02)  # let clients catch up: live frames, not one replay

    live.call(publish, timeout_s=60)
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    logged = live.call(lambda: live.studio.event_log.read("program", after=start))
    expected = [item.text for item in logged]
    for got in received:
        assert [e["seq"] for e in got] == list(range(start + 1, start + count + 1))
        assert [ev.parse_event(e).model_dump_json() for e in got] == [ev.parse_event(t).model_dump_json() for t in expected]
    assert hub.frames_shared > shared_before  # the shortcut was taken


def test_a_client_the_shortcut_skips_gets_the_same_events_the_normal_way(redis_url, show_id):
    async def go():
        client, tail_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        hub = ChannelHub(log, EventLog(tail_client, show_id), "program")
        await hub.start()
        rng = random.Random(7)
        direct_frames: list[bytes] = []
        sent: list[str] = []

        def direct(frame: bytes) -> bool:  # a socket that is sometimes too busy for the shortcut
            if rng.random() < 0.5:
                return False
            direct_frames.append(frame)
            return True

        async def send(text: str) -> None:
            sent.append(text)

        task = asyncio.create_task(hub.serve(send, 0, direct))
        for i in range(1, 41):
            await log.append(_token(i), ["program"])
            await asyncio.sleep(0.005)
        await _drain_and_stop(hub, 40, task, client, tail_client)
        decoded = [_payload(f) for f in direct_frames]
        return (
            [e["seq"] for text in sorted(decoded + sent, key=lambda t: frame_events(t)[0]["seq"]) for e in frame_events(text)],
            len(direct_frames),
            len(sent),
        )

    seqs, shortcut, normal = run(go())
    assert seqs == list(range(1, 41))  # every event exactly once, whichever way it went
    assert shortcut > 0 and normal > 0


async def _drain_and_stop(hub: ChannelHub, last_seq: int, serving: asyncio.Task, *clients) -> None:
    """Wait (up to 3 s) until the hub has seq ``last_seq`` and no client has events queued, then stop."""
    for _ in range(300):
        if hub.last_seq == last_seq and not any(s._pending for s in hub.subscribers):
            break
        await asyncio.sleep(0.01)
    serving.cancel()
    await asyncio.gather(serving, return_exceptions=True)
    await hub.stop()
    for client in clients:
        await client.aclose()


def _payload(frame: bytes) -> str:
    length = frame[1] & 0x7F
    offset = 2 if length < 126 else 4 if length == 126 else 10
    return frame[offset:].decode()


def test_appended_events_go_out_at_once_and_replies_out_of_order_lose_nothing(redis_url, show_id):
    """The process that appends an event hands it to its hub straight away (EventLog.appended),
    without waiting for the hub's XREAD. Concurrent appends can have their replies handled out of
    seq order; the hub then sends only the next seq itself and leaves the rest to its XREAD: a
    client still gets every event once, in order."""

    async def go():
        client, tail_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        hub = ChannelHub(log, EventLog(tail_client, show_id), "program")
        await hub.start()
        await hub.stop()  # no XREAD for now: only the appended path can deliver
        told: list[tuple[str, int]] = []
        held: list = []

        def shuffled(channel, item):  # seq 1's reply handed over after seq 2's; seq 3's never
            told.append((channel, item.seq))
            if channel != "program":
                return
            if item.seq == 1:
                held.append(item)
            elif item.seq != 3:
                hub.take_appended(item)
                while held:
                    hub.take_appended(held.pop())

        log.appended = {channel: (lambda item, channel=channel: shuffled(channel, item)) for channel in ("program", "director")}
        sent: list[str] = []

        async def send(text: str) -> None:
            sent.append(text)

        seqs = lambda: [e["seq"] for text in sent for e in frame_events(text)]  # noqa: E731
        task = asyncio.create_task(hub.serve(send, 0))
        await asyncio.sleep(0.05)
        await log.append(_token(1), ["program"])
        await log.append(_token(2), ["program", "director"])
        await asyncio.sleep(0.05)
        early = seqs()
        for i in range(3, 21):
            await log.append(_token(i), ["program"])
        await asyncio.sleep(0.05)
        stalled = seqs()
        hub._task = asyncio.create_task(hub._tail())
        await _drain_and_stop(hub, 20, task, client, tail_client)
        return early, stalled, seqs(), told

    early, stalled, seqs, told = run(go())
    assert early == [1]  # sent with no XREAD at all; seq 2, told before 1, is left to the XREAD
    assert stalled == [1]  # nothing out of order or twice meanwhile
    assert seqs == list(range(1, 21))  # every event exactly once, in order
    assert ("director", 1) in told and ("program", 2) in told  # each channel's listener is told its own seqs


def test_while_this_process_appends_its_hub_reads_the_log_seldom_yet_gets_others_events(redis_url, show_id):
    """The controller's hub gets its own events from the appends; its XREAD only pauses between
    reads (OWN_APPENDS_LULL_S) while those flow, so an event another process appends meanwhile (a
    training job's progress) still reaches the client, in seq order, a little later."""

    async def go():
        client, tail_client, other_client = (aioredis.Redis.from_url(redis_url) for _ in range(3))
        log, other = EventLog(client, show_id), EventLog(other_client, show_id)
        hub = ChannelHub(log, EventLog(tail_client, show_id), "program")
        log.appended = {"program": hub.take_appended}
        reads = 0
        tail = hub.tail_log.tail

        async def counted_tail(*args, **kwargs):
            nonlocal reads
            reads += 1
            return await tail(*args, **kwargs)

        hub.tail_log.tail = counted_tail
        await hub.start()
        sent: list[str] = []

        async def send(text: str) -> None:
            sent.append(text)

        serving = asyncio.create_task(hub.serve(send, 0))
        await asyncio.sleep(0.05)
        reads_before = reads
        for i in range(1, 61):
            await log.append(_token(i), ["program"])
            if i == 30:
                await other.append(_token(1000), ["program"])  # seq 31, not told to this hub
            await asyncio.sleep(0.01)
        await _drain_and_stop(hub, 61, serving, client, tail_client, other_client)
        await log.close()
        await other.close()
        return [(e["seq"], e["data"]["index"]) for text in sent for e in frame_events(text)], reads - reads_before

    events, reads = run(go())
    assert [seq for seq, _ in events] == list(range(1, 62))  # every event once, in order
    assert events[30] == (31, 1000)  # the other process's event, in its place
    assert reads < 25  # 61 events in ~0.7 s: without the lull, about one XREAD per event
