"""The event log and fan-out on a real Redis: seq, replay, gap filling, snapshots."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from core import events as ev
from core.events import frame_events
from store.event_log import EventLog
from studio.server.fanout import ChannelHub

from .conftest import run


def _status(status: str) -> ev.ShowStatus:
    return ev.ShowStatus(data=ev.ShowStatusData(status=status))


def _token(i: int) -> ev.AnswerToken:
    return ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="ada", index=i, text=f"t{i} "))


def test_append_assigns_gap_free_seq_per_channel(redis_url, show_id):
    async def go():
        client = aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        first = await log.append(_status("running"))
        second = await log.append(_token(1), channels=["program"])
        third = await log.append(_token(2))
        assert first == {"program": 1, "preview": 1, "director": 1}
        assert second == {"program": 2}
        assert third == {"program": 3, "preview": 2, "director": 2}
        program = await log.read("program")
        assert [e.seq for e in program] == [1, 2, 3]
        parsed = [e.parse() for e in program]
        assert [p.seq for p in parsed] == [1, 2, 3]
        assert parsed[1].data.text == "t1 "
        assert [e.seq for e in await log.read("program", after=1)] == [2, 3]
        assert [e.seq for e in await log.read("program", after=1, upto=2)] == [2]
        assert await log.last_seq("preview") == 2
        await client.aclose()

    run(go())


def test_wire_text_is_the_event_with_its_seq(redis_url, show_id):
    async def go():
        client = aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        await log.append(_token(7), channels=["program"])
        (item,) = await log.read("program")
        body = json.loads(item.text)
        assert body["seq"] == 1 and body["type"] == "answer.token" and body["data"]["index"] == 7
        await client.aclose()

    run(go())


async def _collect(hub: ChannelHub, since: int, count: int) -> list[dict]:
    got: list[dict] = []
    done = asyncio.Event()

    async def send(text: str) -> None:
        got.extend(frame_events(text))
        if len(got) >= count:
            done.set()

    task = asyncio.create_task(hub.serve(send, since))
    await asyncio.wait_for(done.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return got


def test_hub_replays_then_streams_live_without_gap_or_duplicate(redis_url, show_id):
    async def go():
        client, tail_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        for i in range(1, 6):
            await log.append(_token(i), channels=["program"])
        hub = ChannelHub(log, EventLog(tail_client, show_id), "program")
        await hub.start()

        async def later():
            await asyncio.sleep(0.05)
            for i in range(6, 11):
                await log.append(_token(i), channels=["program"])

        writer = asyncio.create_task(later())
        got = await _collect(hub, since=2, count=8)
        await writer
        assert [e["seq"] for e in got] == list(range(3, 11))
        assert [e["data"]["index"] for e in got] == list(range(3, 11))
        await hub.stop()
        await client.aclose()
        await tail_client.aclose()

    run(go())


def test_events_ready_together_go_out_as_one_frame_in_seq_order(redis_url, show_id):
    """The replay of missed events, and live events queued during one wake-up, share frames."""

    async def go():
        client, tail_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        for i in range(1, 11):
            await log.append(_token(i), channels=["program"])
        hub = ChannelHub(log, EventLog(tail_client, show_id), "program")
        await hub.start()
        frames: list[str] = []
        sent = asyncio.Event()

        async def send(text: str) -> None:
            frames.append(text)
            sent.set()

        task = asyncio.create_task(hub.serve(send, since=0))
        await asyncio.wait_for(sent.wait(), 10)
        assert len(frames) == 1 and frames[0].startswith("[")
        assert [e["seq"] for e in frame_events(frames[0])] == list(range(1, 11))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hub.stop()
        await client.aclose()
        await tail_client.aclose()

    run(go())


def test_trimmed_history_gives_a_snapshot_then_live_events(redis_url, show_id):
    async def go():
        client, tail_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        await log.append(_status("running"), channels=["program"])
        for i in range(1, 200):
            await log.append(_token(i), channels=["program"])
        await client.xtrim(log.stream_key("program"), maxlen=10)  # exact trim: seq 1..190 are gone
        hub = ChannelHub(log, EventLog(tail_client, show_id), "program")
        await hub.start()
        got = await _collect(hub, since=5, count=1)
        assert got[0]["type"] == "snapshot" and got[0]["seq"] == 200
        assert got[0]["data"]["answers"]["ada"]["tokens"] == 199
        await log.append(_token(200), channels=["program"])
        got = await _collect(hub, since=200, count=1)
        assert got[0]["seq"] == 201 and got[0]["type"] == "answer.token"
        await hub.stop()
        await client.aclose()
        await tail_client.aclose()

    run(go())


def test_a_seq_from_another_run_of_the_show_gets_a_snapshot(redis_url, show_id):
    async def go():
        client, tail_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
        log = EventLog(client, show_id)
        await log.append(_status("running"), channels=["program"])
        hub = ChannelHub(log, EventLog(tail_client, show_id), "program")
        await hub.start()
        got = await _collect(hub, since=5000, count=1)
        assert got[0]["type"] == "snapshot" and got[0]["seq"] == 1
        assert got[0]["data"]["show"]["status"] == "running"
        await hub.stop()
        await client.aclose()
        await tail_client.aclose()

    run(go())
