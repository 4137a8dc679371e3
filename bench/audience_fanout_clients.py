"""The viewers and the votes in bench/audience_fanout.py: a load-generator process holding raw
WebSocket clients on ``/ws/audience?since=0`` (one loopback source address each, pings answered)
that records each tally's delivery latency, driven by the bench over a Pipe; and the vote driver,
a thread casting votes from fresh devices so the counts move every tick."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import os
import signal
import struct
import sys
import threading
import time

from kit import new_loop, raise_nofile, source_ip

POLL = "fanout"
TALLY = b'"poll.tally"'


# -- the load generator: raw WebSocket clients ---------------------------------------------------------


class Stats:
    def __init__(self):
        self.recording_from = None  # wall clock: tallies made from then on are measured
        self.lat_us: list[int] = []
        self.seqs: list[set[int]] = []  # per socket: tally seqs received while recording
        self.closed_by_server = 0
        self.bad_frames = 0


class WsClient(asyncio.Protocol):
    """A minimal RFC 6455 client: handshake, unmasked server frames, pings answered, text only."""

    def __init__(self, path: str, host: str, stats: Stats, slot: int):
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.stats = stats
        self.slot = slot
        self.buf = bytearray()
        self.upgraded = False
        self.fragments: list[bytes] = []
        self.transport = None
        loop = asyncio.get_running_loop()
        self.first_frame = loop.create_future()  # the replay: the socket is live
        self.lost = loop.create_future()
        self.closing = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.closing:
            self.stats.closed_by_server += 1
        for f in (self.first_frame, self.lost):
            if not f.done():
                f.set_exception(ConnectionError("closed")) if f is self.first_frame else f.set_result(None)

    def _send(self, opcode: int, payload: bytes = b"") -> None:
        # Client frames must be masked; an all-zero key is a valid mask that leaves the payload as is.
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, struct.pack(">H", 1000))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if buf[9:12] != b"101":
                if not self.first_frame.done():
                    self.first_frame.set_exception(ConnectionError(bytes(buf[:end]).decode(errors="replace")))
                self.transport.close()
                return
            del buf[: end + 4]
            self.upgraded = True
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length, offset = b1 & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = struct.unpack_from(">H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = struct.unpack_from(">Q", buf, 2)[0], 10
            if b1 & 0x80:
                self.stats.bad_frames += 1  # servers must not mask
                offset += 4
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                self.close()
                return
            elif opcode in (0x1, 0x2, 0x0):
                self.fragments.append(payload)
                if b0 & 0x80:
                    message = b"".join(self.fragments)
                    self.fragments = []
                    self._message(message, now)

    def _message(self, message: bytes, now: float) -> None:
        if not self.first_frame.done():
            self.first_frame.set_result(None)
        since = self.stats.recording_from
        if since is None or TALLY not in message:
            return
        parsed = json.loads(message)
        seqs = self.stats.seqs[self.slot]
        for event in parsed if isinstance(parsed, list) else (parsed,):
            if event.get("type") == "poll.tally" and event["ts"] >= since:
                self.stats.lat_us.append(int((now - event["ts"]) * 1e6))
                seqs.add(event["seq"])


def client_process(index: int, port: int, conn, timeout_s: float, concurrency: int) -> None:
    """Holds sockets on command from the bench (a Pipe): warm N / connect N / measure T / stop."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    limit = raise_nofile()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stats = Stats()
        inbox: asyncio.Queue = asyncio.Queue()
        loop.add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()))
        host = f"127.0.0.1:{port}"
        path = "/ws/audience?since=0"
        opened = [0]  # source addresses used so far

        async def open_many(n: int) -> tuple[list[WsClient], int, float]:
            gate = asyncio.Semaphore(concurrency)
            clients: list[WsClient] = []
            failed = [0]

            async def one() -> None:
                async with gate:
                    slot = len(stats.seqs)
                    stats.seqs.append(set())
                    src = source_ip(index, opened[0] % 62500, base=20 + 4 * (opened[0] // 62500))
                    opened[0] += 1
                    try:
                        _, client = await asyncio.wait_for(
                            loop.create_connection(lambda: WsClient(path, host, stats, slot), "127.0.0.1", port, local_addr=(src, 0)), 30
                        )
                        await asyncio.wait_for(asyncio.shield(client.first_frame), 30)
                        clients.append(client)
                    except (OSError, asyncio.TimeoutError, ConnectionError):
                        failed[0] += 1

            t0 = time.monotonic()
            await asyncio.gather(*(one() for _ in range(n)))
            return clients, failed[0], time.monotonic() - t0

        sockets: list[WsClient] = []
        while True:
            try:
                command, arg = await asyncio.wait_for(inbox.get(), timeout_s)
            except asyncio.TimeoutError:
                break  # the bench went away: stop by ourselves
            if command == "warm":
                warm, failed, _ = await open_many(arg)
                await asyncio.sleep(1.0)  # a few tallies
                for c in warm:
                    c.close()
                stats.seqs.clear()
                conn.send(("warmed", {"failed": failed}))
            elif command == "connect":
                if arg + 64 > limit:
                    conn.send(("error", f"{arg} sockets need RLIMIT_NOFILE > {arg + 64} (it is {limit})"))
                    break
                stats.seqs.clear()
                sockets, failed, took = await open_many(arg)
                conn.send(("connected", {"failed": failed, "seconds": took}))
            elif command == "measure":
                stats.recording_from = arg
                u0 = os.times()
                conn.send(("measuring", None))
            elif command == "stop":
                u1 = os.times()
                stats.recording_from = None
                alive = sum(1 for c in sockets if not c.lost.done())
                union: set[int] = set()
                for s in stats.seqs:
                    union |= s
                for c in sockets:
                    c.close()
                got = [len(stats.seqs[c.slot]) for c in sockets]
                # The result is megabytes at 10,000 sockets; the pipe may have been left
                # non-blocking by the event loop, where a big write fails with EAGAIN.
                os.set_blocking(conn.fileno(), True)
                conn.send(
                    (
                        "stopped",
                        {
                            "lat_us": stats.lat_us,
                            "tally_seqs": sorted(union),
                            "got": got,
                            "alive": alive,
                            "closed_by_server": stats.closed_by_server,
                            "bad_frames": stats.bad_frames,
                            "cpu_s": (u1.user - u0.user) + (u1.system - u0.system),
                        },
                    )
                )
                await asyncio.sleep(0.5)
                break

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        conn.close()


# -- the vote driver ------------------------------------------------------------------------------------


class VoteDriver(threading.Thread):
    """``rate`` votes/s on one keep-alive connection, each from a fresh device (signed here)."""

    def __init__(self, port: int, secret: str, rate: float, choices: list[str]):
        super().__init__(name="votes", daemon=True)
        from studio.server.device_tokens import DeviceTokens

        self.port, self.rate, self.choices = port, rate, choices
        self.signer = DeviceTokens(secret)
        self.stop = threading.Event()
        self.sent = self.accepted = self.errors = 0

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        start = time.monotonic()
        k = 0
        while not self.stop.is_set():
            due = start + k / self.rate
            if (wait := due - time.monotonic()) > 0 and self.stop.wait(wait):
                break
            _, token = self.signer.issue()
            body = json.dumps({"choice": self.choices[k % 3 % len(self.choices)]})
            try:
                conn.request(
                    "POST", f"/api/polls/{POLL}/vote", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                )
                response = conn.getresponse()
                response.read()
                self.accepted += response.status == 200
                self.errors += response.status != 200
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self.sent += 1
            k += 1
        conn.close()
