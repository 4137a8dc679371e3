"""The broadcast delay with an event that can never be appended (a real Redis refuses it): program
must not be held behind it forever. It is given up loudly (an error line naming it, a
``program.dropped`` on the director channel) and the events behind it air, in order."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from core import events as ev
from store.embedded_redis import EmbeddedRedis
from store.event_log import EventLog
from studio.show.controller import ShowController
from studio.show.delay_line import TRIES, DelayLine

from .conftest import run
from .test_controller import _unstarted_pool, script  # noqa: F401 (script is a fixture)


def _token(contestant: str, text: str) -> ev.AnswerToken:
    return ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant=contestant, text=text, index=0))


def test_an_event_redis_refuses_is_given_up_and_the_rest_air_in_order(tmp_path, caplog):
    # Redis refuses a bulk string over proto-max-bulk-len (and drops the connection): appending
    # a 1.5 MB token fails every time.
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()

    async def go():
        client = aioredis.Redis.from_url(url)
        await client.config_set("proto-max-bulk-len", "1mb")
        log = EventLog(client, "delayfault", outage_s=0.5)
        dropped: list[ev.ProgramDroppedData] = []

        async def tell(report: ev.ProgramDroppedData) -> None:
            dropped.append(report)

        line = DelayLine(log, delay_s=0.05, on_dropped=tell)
        runner = asyncio.create_task(line.run())
        for event in (_token("ada", "first"), _token("bao", "x" * 1_500_000), _token("ada", "second"), _token("cy", "third")):
            line.put(event)
        for _ in range(200):
            if len(await log.read("program")) == 3:
                break
            await asyncio.sleep(0.05)
        aired = [e.parse().data.text for e in await log.read("program")]
        runner.cancel()
        await client.aclose()
        return aired, dropped

    try:
        with caplog.at_level(logging.ERROR, logger="gavel.delay"):
            aired, dropped = run(go())
    finally:
        server.stop()
    assert aired == ["first", "second", "third"]
    assert [(d.event_type, d.contestant, d.question_id) for d in dropped] == [("answer.token", "bao", "q1")]
    assert dropped[0].tries == TRIES and "invalid bulk length" in dropped[0].error
    assert any("gave up airing answer.token (bao, q1)" in r.getMessage() for r in caplog.records)


def test_an_append_that_keeps_failing_is_tried_a_few_times_then_reported_to_the_director(redis_url, show_id, script):  # noqa: F811
    """A Redis error that is no outage (program's seq key holds a string, so INCR fails): the
    controller's delay line tries TRIES times, then the director channel gets program.dropped."""
    script.safety.delay_s = 0.05

    async def go():
        client = aioredis.Redis.from_url(redis_url)
        controller = ShowController(script, EventLog(client, show_id), _unstarted_pool(script))
        await controller.open()
        seq_key = f"gavel:{{{show_id}}}:seq:program"
        while not any(e.parse().type == "show.opened" for e in await controller.log.read("program")):
            await asyncio.sleep(0.05)  # the opening has aired
        seq = await client.get(seq_key)
        await client.set(seq_key, "not a number")
        started = asyncio.get_running_loop().time()
        await controller.publish(_token("ada", "never aired"))
        for _ in range(200):
            director = [e.parse() for e in await controller.log.read("director")]
            if any(e.type == "program.dropped" for e in director):
                break
            await asyncio.sleep(0.05)
        took = asyncio.get_running_loop().time() - started
        await client.set(seq_key, seq)
        await controller.publish(_token("ada", "aired"))
        program: list[str] = []
        for _ in range(100):
            aired = [item.parse() for item in await controller.log.read("program")]
            program = [e.data.text for e in aired if e.type == "answer.token"]
            if program:
                break
            await asyncio.sleep(0.05)
        await controller.close()
        await client.aclose()
        return director, took, program

    director, took, program = run(go())
    reports = [e.data for e in director if e.type == "program.dropped"]
    assert len(reports) == 1 and reports[0].tries == TRIES and reports[0].contestant == "ada"
    assert "not an integer" in reports[0].error
    assert took < 10  # given up after a few seconds of tries, not held
    assert program == ["aired"]  # the next event airs once the store takes it
