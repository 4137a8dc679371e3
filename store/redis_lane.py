"""A lean Redis connection for the event log's two hot commands: the append script and XREAD.

Every token on air is one append (a Lua script) and, in each channel hub, one XREAD wake-up. Through
redis-py 8 each of those costs ~300-380 µs of the studio's CPU (retry wrappers, pool checkout,
observability hooks, a task per timeout: ~230 Python calls per command), against ~90 µs here, most
of it the socket write (bench/log_append.py; BENCHMARKS.md). On the loop that also writes every
token to every socket, that was most of the studio's added latency.

So the event log speaks RESP2 itself on one plain socket per log: commands are pipelined (several
appends in flight share the socket, their replies come back in order), a caller that is cancelled
just stops waiting (its reply is read and dropped when it comes, keeping the order), and errors are
redis-py's own exception classes, so the log's outage handling is the same on both paths:
a lost or refused connection is ``redis.exceptions.ConnectionError`` (the next command reconnects),
a command past its ``timeout`` is ``TimeoutError`` (the socket is closed: its replies would be
out of step), ``LOADING``/``NOSCRIPT``/... map as redis-py maps them.

Only for a single server reached by a plain TCP or Unix socket (``redis://``, ``unix://``, with a
password and db if the URL has them): ``for_client`` returns None for anything else (TLS, a Redis
Cluster, a credential provider), and the log then uses redis-py for those commands too.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

import redis.asyncio as aioredis
import redis.exceptions
from redis._parsers.base import BaseParser

CONNECT_TIMEOUT_S = 10.0


class _Incomplete(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


def encode_command(args: tuple) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def parse_reply(buf: bytearray, pos: int) -> tuple[object, int]:
    """One RESP2 reply at ``pos``: (value, position after it). Bulk strings are bytes, errors are
    redis-py exception instances (returned, not raised), nil is None."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line, pos = buf[pos], bytes(buf[pos + 1 : end]), end + 2
    if kind == 0x24:  # $ bulk string
        n = int(line)
        if n < 0:
            return None, pos
        if len(buf) < pos + n + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + n]), pos + n + 2
    if kind == 0x2A:  # * array
        n = int(line)
        if n < 0:
            return None, pos
        items = []
        for _ in range(n):
            item, pos = parse_reply(buf, pos)
            items.append(item)
        return items, pos
    if kind == 0x3A:  # : integer
        return int(line), pos
    if kind == 0x2B:  # + simple string
        return line, pos
    if kind == 0x2D:  # - error
        return BaseParser.parse_error(line.decode(errors="replace")), pos
    raise redis.exceptions.InvalidResponse(f"unexpected reply type {chr(kind)!r} from redis")


class _RespProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future] = deque()  # one per command sent, in order
        self.buf = bytearray()
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, data: bytes, future: asyncio.Future) -> None:
        self.waiting.append(future)
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        pos = 0
        while self.waiting:
            try:
                reply, pos = parse_reply(self.buf, pos)
            except _Incomplete:
                break
            except Exception as exc:  # a reply we cannot read: nothing after it can be trusted
                self._fail(redis.exceptions.InvalidResponse(f"unreadable reply from redis: {exc}"))
                return
            future = self.waiting.popleft()
            if future.done():
                continue  # its caller was cancelled or timed out: the reply only keeps the order
            if isinstance(reply, redis.exceptions.RedisError):
                future.set_exception(reply)
            else:
                future.set_result(reply)
        del self.buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(redis.exceptions.ConnectionError(f"connection to redis lost{f': {exc}' if exc else ''}"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True)
class Endpoint:
    path: str | None = None  # a Unix socket, or
    host: str = "localhost"
    port: int = 6379
    username: str | None = None
    password: str | None = None
    db: int = 0


class RedisLane:
    """One pipelined RESP2 connection to one server, opened on first use and again after a loss."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self._protocol: _RespProtocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Future | None = None

    @classmethod
    def for_client(cls, client) -> "RedisLane | None":
        """A lane to the server a redis-py client talks to, when it is one plain socket."""
        if not isinstance(client, aioredis.Redis):
            return None  # a cluster client: slots and redirections are redis-py's business
        pool = client.connection_pool
        kwargs = pool.connection_kwargs
        if kwargs.get("credential_provider") is not None:
            return None
        common = dict(username=kwargs.get("username"), password=kwargs.get("password"), db=int(kwargs.get("db") or 0))
        if pool.connection_class is aioredis.UnixDomainSocketConnection:
            return cls(Endpoint(path=kwargs["path"], **common))
        if pool.connection_class is aioredis.Connection:
            return cls(Endpoint(host=kwargs.get("host", "localhost"), port=int(kwargs.get("port", 6379)), **common))
        return None  # TLS and anything else

    async def call(self, *args, timeout: float | None = None):
        """Send one command and wait for its reply (raised if it is an error)."""
        protocol = await self._connected()
        future = self._loop.create_future()
        protocol.send(encode_command(args), future)
        if timeout is None:
            return await future
        timer = self._loop.call_later(timeout, self._time_out, protocol, future, args[0], timeout)
        try:
            return await future
        finally:
            timer.cancel()

    @staticmethod
    def _time_out(protocol: _RespProtocol, future: asyncio.Future, name, timeout: float) -> None:
        if not future.done():
            future.set_exception(redis.exceptions.TimeoutError(f"redis did not answer {name!s} within {timeout:g} s"))
            protocol._fail(redis.exceptions.ConnectionError("connection closed after a command timed out"))

    async def _connected(self) -> _RespProtocol:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop: the old socket is not ours to use
            self._loop, self._protocol, self._connecting = loop, None, None
        if self._protocol is not None and not self._protocol.closed:
            return self._protocol
        if self._connecting is None:  # one connect for everyone waiting on it
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            self._protocol = await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        return self._protocol

    async def _open(self) -> _RespProtocol:
        end = self.endpoint
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                if end.path is not None:
                    _, protocol = await loop.create_unix_connection(_RespProtocol, end.path)
                else:
                    _, protocol = await loop.create_connection(_RespProtocol, end.host, end.port)
        except (OSError, TimeoutError) as exc:
            where = end.path or f"{end.host}:{end.port}"
            raise redis.exceptions.ConnectionError(f"cannot connect to redis at {where}: {exc}") from exc
        hello = []
        if end.password is not None:
            hello.append(("AUTH", end.username, end.password) if end.username else ("AUTH", end.password))
        if end.db:
            hello.append(("SELECT", end.db))
        futures = []
        for command in hello:
            futures.append(loop.create_future())
            protocol.send(encode_command(command), futures[-1])
        try:
            for future in futures:
                await future
        except BaseException:
            protocol._fail(redis.exceptions.ConnectionError("redis refused the connection's set-up"))
            raise
        return protocol

    async def close(self) -> None:
        """Close the socket (waiting callers get ConnectionError); a later call opens a new one."""
        protocol, self._protocol = self._protocol, None
        if protocol is not None and self._loop is asyncio.get_running_loop():
            protocol._fail(redis.exceptions.ConnectionError("connection closed by the studio"))
