"""The studio's WebSocket protocol: uvicorn's websockets-sansio one, with less kept per socket.

Phones hold thousands of audience sockets on one process (10,000 is the target, at ≤ 20 KiB
each: bench/audience_fanout.py). tracemalloc showed where uvicorn's protocol spends a socket's
memory beyond what it must: an ``asyncio.Queue`` for received messages (three deques, ~3 KiB),
an ``asyncio.Event`` for writability (~0.8 KiB), and the handshake's request and response
(headers and all, ~2 KiB) kept for the socket's life. Here the queue and the event are the
minimal objects the protocol needs (one reader, one waiter at a time), and the handshake is let
go once the socket is accepted. Everything else is uvicorn's code, unchanged.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class LeanQueue:
    """What the protocol uses of its receive queue — ``put_nowait``, ``get``, ``empty`` — for one
    reader (the ASGI app's ``receive``)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list = []
        self._waiter: asyncio.Future | None = None

    def put_nowait(self, item) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self):
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items


class LeanEvent:
    """What the protocol uses of its writability event — ``set``, ``clear``, ``is_set``, ``wait``;
    the waiters' list exists only while someone waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class StudioWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queue = LeanQueue()
        self.writable = LeanEvent()
        self.writable.set()

    async def send(self, message) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            self.request = self.response = None  # uvicorn reads them only to answer the handshake
