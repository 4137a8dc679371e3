"""The synthetic engine of bench/relay.py: ``PacedEngine`` and the pacer process that keeps its
time, as vLLM's engine core does in a process of its own. Every token's text carries its stamps,
``"<t=EMIT s=DUE> "``; ``STAMP`` reads them back."""

from __future__ import annotations

import asyncio
import re
import select
import socket
import time
from typing import AsyncIterator

from kit import quiet_sigterm

from engine_pool.base import Chunk, GenerationRequest

STAMP = re.compile(r"<t=(\d+) s=(\d+)>")


class PacedEngine:
    """A synthetic engine: ``tokens`` one-token chunks per request at ``rate`` tokens/s.

    Each chunk's text is ``"<t=EMIT s=DUE> "`` in ``time.monotonic_ns()`` (one clock for every
    process on Linux): DUE is when the token was scheduled, EMIT when the engine produced it.
    Implements ``engine_pool.base.Engine``. Two ways to keep time:

    - ``pacer`` set (the default in this bench): like vLLM, whose engine core is another process
      streaming outputs to the server's event loop over a socket, the tokens come from a pacer
      process (``pacer_process``) that steps at ``rate`` and gives every running stream one token
      per step, stamped there; so a server whose loop is busy delays the token *after* its stamp,
      and the delay is measured.
    - ``pacer`` None: the stream sleeps on the server's own event loop and stamps the token when
      it hands it over (asyncio timers are ~1 ms coarse; a busy loop delays the stamp itself).
    """

    name = "paced"

    def __init__(self, tokens: int, rate: float, pacer: str | None = None):
        self.tokens = tokens
        self.period_ns = int(1e9 / rate)
        self.pacer = pacer  # unix socket path of a pacer_process
        self.started = False
        self._streams: dict[int, asyncio.Queue] = {}
        self._ids = 0
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task | None = None

    async def start(self) -> None:
        if self.pacer and self._writer is None:
            reader, self._writer = await asyncio.open_unix_connection(self.pacer)
            self._pump = asyncio.create_task(self._dispatch(reader), name="pacer")
        self.started = True

    async def _dispatch(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            sid, emit, due = line.split()
            if (queue := self._streams.get(int(sid))) is not None:
                queue.put_nowait(f"<t={emit.decode()} s={due.decode()}> ")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        count = min(self.tokens, request.sampling.max_tokens)
        if not self.pacer:
            start = time.monotonic_ns()
            for k in range(1, count + 1):
                due = start + k * self.period_ns
                wait = due - time.monotonic_ns()
                if wait > 0:
                    await asyncio.sleep(wait / 1e9)
                yield Chunk(text=f"<t={time.monotonic_ns()} s={due}> ", token_count=1)
            return
        self._ids += 1
        sid, queue = self._ids, asyncio.Queue()
        self._streams[sid] = queue
        self._writer.write(f"go {sid} {count}\n".encode())
        try:
            for _ in range(count):
                yield Chunk(text=await queue.get(), token_count=1)
        finally:
            del self._streams[sid]
            if not self._writer.is_closing():
                self._writer.write(f"stop {sid}\n".encode())  # a cancelled request frees its slot

    async def healthy(self) -> bool:
        return self.started

    async def close(self) -> None:
        self.started = False
        if self._writer is not None:
            self._writer.close()
        if self._pump is not None:
            self._pump.cancel()


def pacer_process(path: str, rate: float, listening) -> None:
    """The engine's clock, in its own process: one step every 1/rate s; each step sends one token
    line ``"<stream> <emit_ns> <due_ns>"`` for every running stream, in one write (a batched step).
    Commands from the engine: ``go <stream> <count>`` (joins at the next step), ``stop <stream>``."""
    quiet_sigterm()
    period = int(1e9 / rate)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        listening.set()
        conn, _ = server.accept()
    active: dict[str, list[int]] = {}  # stream -> [sent, count]
    pending = b""
    next_step = 0
    try:
        with conn:
            while True:
                timeout = max(0.0, (next_step - time.monotonic_ns()) / 1e9) if active else None
                readable, _, _ = select.select([conn], [], [], timeout)
                if readable:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        verb, sid, *rest = line.decode().split()
                        if verb == "go":
                            if not active:
                                next_step = time.monotonic_ns() + period
                            active[sid] = [0, int(rest[0])]
                        else:
                            active.pop(sid, None)
                    continue
                now = time.monotonic_ns()
                out = []
                for sid, progress in list(active.items()):
                    out.append(f"{sid} {now} {next_step}\n")
                    progress[0] += 1
                    if progress[0] >= progress[1]:
                        del active[sid]
                conn.sendall("".join(out).encode())
                next_step += period
    except (KeyboardInterrupt, ConnectionError):
        pass
