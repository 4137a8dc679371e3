"""The event log's lean Redis connection (store/redis_lane.py), on a real redis-server."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.cluster import RedisCluster

from core import events as ev
from store.embedded_redis import redis_server_binary
from store.event_log import EventLog
from store.redis_lane import RedisLane, _Incomplete, encode_command, parse_reply

from .conftest import free_port, run

REPLIES = [
    (b"+OK\r\n", b"OK"),
    (b":-42\r\n", -42),
    (b"$5\r\nhe\r\nl\r\n", b"he\r\nl"),  # a bulk string may hold CRLF
    (b"$0\r\n\r\n", b""),
    (b"$-1\r\n", None),
    (b"*-1\r\n", None),
    (b"*2\r\n*2\r\n$3\r\n0-1\r\n*2\r\n$1\r\nb\r\n$2\r\n{}\r\n:7\r\n", [[b"0-1", [b"b", b"{}"]], 7]),
]


@pytest.mark.parametrize("raw, value", REPLIES)
def test_every_reply_parses_whole_and_no_prefix_parses(raw, value):
    buf = bytearray(raw + b"+NEXT\r\n")
    assert parse_reply(buf, 0) == (value, len(raw))
    for cut in range(len(raw)):  # data arrives in pieces: a partial reply is never taken for one
        with pytest.raises(_Incomplete):
            parse_reply(bytearray(raw[:cut]), 0)


def test_errors_are_redis_py_exception_classes():
    error, _ = parse_reply(bytearray(b"-NOSCRIPT No matching script.\r\n"), 0)
    assert isinstance(error, redis.exceptions.NoScriptError)
    error, _ = parse_reply(bytearray(b"-LOADING Redis is loading the dataset in memory\r\n"), 0)
    assert isinstance(error, redis.exceptions.ConnectionError)  # what the log's outage handling retries
    assert encode_command(("SET", "k", 12, b"\x00")) == b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$1\r\n\x00\r\n"


def test_pipelined_replies_go_to_their_callers_in_order(redis_url, show_id):
    async def go():
        lane = RedisLane.for_client(aioredis.Redis.from_url(redis_url))
        key = f"{show_id}:n"
        results = await asyncio.gather(*(lane.call("INCR", key) for _ in range(300)))
        assert results == list(range(1, 301))
        with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
            await lane.call("LPUSH", key, "x")
        assert await lane.call("GET", key) == b"300"  # an error reply does not shift the next one
        await lane.close()

    run(go())


def test_a_cancelled_caller_leaves_the_order_intact(redis_url, show_id):
    async def go():
        lane = RedisLane.for_client(aioredis.Redis.from_url(redis_url))
        blocked = asyncio.create_task(lane.call("BLPOP", f"{show_id}:empty", 0.5))
        await asyncio.sleep(0.05)
        blocked.cancel()
        t0 = time.monotonic()
        assert await lane.call("PING") == b"PONG"  # not the BLPOP's nil, which comes first
        assert time.monotonic() - t0 >= 0.3
        await lane.close()

    run(go())


def test_a_timed_out_command_closes_the_socket_and_the_next_one_reconnects(redis_url, show_id):
    async def go():
        lane = RedisLane.for_client(aioredis.Redis.from_url(redis_url))
        first_id = await lane.call("CLIENT", "ID")
        with pytest.raises(redis.exceptions.TimeoutError, match="BLPOP"):
            await lane.call("BLPOP", f"{show_id}:empty", 5, timeout=0.2)
        assert await lane.call("ECHO", "after") == b"after"
        assert await lane.call("CLIENT", "ID") != first_id
        await lane.close()

    run(go())


def test_a_killed_connection_fails_its_callers_and_the_next_call_reconnects(redis_url, show_id):
    async def go():
        admin = aioredis.Redis.from_url(redis_url)
        lane = RedisLane.for_client(admin)
        lane_id = await lane.call("CLIENT", "ID")
        waiting = asyncio.create_task(lane.call("BLPOP", f"{show_id}:empty", 5))
        await asyncio.sleep(0.05)
        await admin.client_kill_filter(_id=lane_id)
        with pytest.raises(redis.exceptions.ConnectionError):
            await asyncio.wait_for(waiting, 2)
        assert await lane.call("PING") == b"PONG"
        await lane.close()
        with pytest.raises(redis.exceptions.ConnectionError):  # nothing listens there
            await RedisLane.for_client(aioredis.Redis(host="127.0.0.1", port=free_port())).call("PING")
        await admin.aclose()

    run(go())


def test_password_user_and_db_from_the_url(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            "s3cret",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )

    async def go():
        admin = aioredis.Redis(host="127.0.0.1", port=port, password="s3cret")
        for _ in range(100):
            try:
                await admin.ping()
                break
            except redis.exceptions.ConnectionError:
                await asyncio.sleep(0.05)
        await admin.execute_command("ACL", "SETUSER", "graphics", "on", ">pw2", "~*", "+@all")
        lane = RedisLane.for_client(aioredis.Redis.from_url(f"redis://:s3cret@127.0.0.1:{port}/3"))
        await lane.call("SET", "where", "db3")
        assert await aioredis.Redis(host="127.0.0.1", port=port, password="s3cret", db=3).get("where") == b"db3"
        assert await admin.get("where") is None  # db 0
        user_lane = RedisLane.for_client(aioredis.Redis.from_url(f"redis://graphics:pw2@127.0.0.1:{port}/3"))
        assert await user_lane.call("ACL", "WHOAMI") == b"graphics"
        with pytest.raises(redis.exceptions.AuthenticationError):
            await RedisLane.for_client(aioredis.Redis.from_url(f"redis://:wrong@127.0.0.1:{port}")).call("PING")
        for each in (lane, user_lane):
            await each.close()
        await admin.aclose()

    try:
        run(go())
    finally:
        server.terminate()
        server.wait(10)


def test_only_plain_single_servers_get_a_lane():
    assert RedisLane.for_client(aioredis.Redis.from_url("unix:///tmp/x.sock")).endpoint.path == "/tmp/x.sock"
    assert RedisLane.for_client(aioredis.Redis.from_url("redis://h:7000/2")).endpoint.port == 7000
    assert RedisLane.for_client(aioredis.Redis.from_url("rediss://h:7000")) is None  # TLS: redis-py
    cluster = RedisCluster(host="127.0.0.1", port=free_port())
    assert RedisLane.for_client(cluster) is None


def test_the_log_appends_through_its_lane_after_the_server_forgot_the_script(redis_url, show_id):
    async def go():
        client = aioredis.Redis.from_url(redis_url)
        log, tail = EventLog(client, show_id), EventLog(aioredis.Redis.from_url(redis_url), show_id)
        assert log._lane is not None and tail._lane is not None
        token = ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="ada", index=1, text="hi"))
        assert await log.append(token) == {"program": 1, "preview": 1, "director": 1}
        await client.script_flush()  # as after a restart without persistence of scripts
        assert await log.append(token) == {"program": 2, "preview": 2, "director": 2}
        items = await tail.tail("program", after=0, block_ms=100)
        assert [item.seq for item in items] == [1, 2]
        assert [item.text for item in items] == [item.text for item in await log.read("program")]  # same bytes as redis-py's XRANGE
        assert await tail.tail("program", after=2, block_ms=50) == []  # a block that times out: nothing
        for each in (log, tail):
            await each.close()
        await client.aclose()

    run(go())
