"""The load in bench/votes.py, each kind in its own processes: raw INCR on the studio's
redis-server (the baseline) and the vote requests over keep-alive HTTP/1.1 connections, each
connection from its own loopback source address; and the plan of who votes what, in which order."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import time
from pathlib import Path

from kit import cpu_s, new_loop, quiet_sigterm, raise_nofile, source_ip, stop_process

POLL = "bench"


# -- the INCR baseline (its own processes) -----------------------------------------------------------


INCR = b"*2\r\n$4\r\nINCR\r\n$11\r\nbench:incr0\r\n"


class _IncrClient(asyncio.Protocol):
    """Keeps ``depth`` INCRs in flight on one connection until ``stop`` (redis-benchmark -P depth)."""

    def __init__(self, depth: int, counter: list, stop: list):
        self.depth, self.counter, self.stop = depth, counter, stop
        self.pending = 0
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.pending = self.depth
        transport.write(INCR * self.depth)

    def data_received(self, data: bytes) -> None:
        replies = data.count(b"\n")  # every INCR reply is one ":<n>\r\n" line
        self.pending -= replies
        self.counter[0] += replies
        if self.stop[0]:
            if self.pending == 0 and not self.done.done():
                self.done.set_result(None)
            return
        self.pending += replies
        self.transport.write(INCR * replies)

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(None)


def incr_process(sock_path: str, connections: int, depth: int, seconds: float, ready, go, out_path: str) -> None:
    quiet_sigterm()

    async def main() -> dict:
        loop = asyncio.get_running_loop()
        counter, stop = [0], [False]
        clients = []
        for _ in range(connections):
            _, proto = await loop.create_unix_connection(lambda: _IncrClient(depth, counter, stop), sock_path)
            clients.append(proto)
        await asyncio.sleep(0.2)  # warm up
        ready.set()
        await loop.run_in_executor(None, go.wait)
        c0, t0, u0 = counter[0], time.monotonic(), os.times()
        await asyncio.sleep(seconds)
        c1, t1, u1 = counter[0], time.monotonic(), os.times()
        stop[0] = True
        await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), 10)
        for c in clients:
            c.transport.close()
        return {"ops": c1 - c0, "t0": t0, "t1": t1, "cpu_s": (u1.user - u0.user) + (u1.system - u0.system)}

    loop = new_loop()
    result = loop.run_until_complete(main())
    Path(out_path).write_text(json.dumps(result))


def incr_baseline(sock_path: str, procs: int, connections: int, depth: int, seconds: float, workdir: str, rpid: int | None) -> dict:
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    runners = []
    for i in range(procs):
        ready = ctx.Event()
        n = connections // procs + (i < connections % procs)
        out = os.path.join(workdir, f"incr-{i}.json")
        p = ctx.Process(target=incr_process, args=(sock_path, n, depth, seconds, ready, go, out), name=f"incr{i}", daemon=True)
        p.start()
        runners.append((p, ready, out))
    try:
        for _proc, ready, _ in runners:
            if not ready.wait(30):
                raise RuntimeError("INCR client did not connect")
        r0 = cpu_s(rpid)
        go.set()
        for p, _, _ in runners:
            p.join(seconds + 30)
            if p.exitcode != 0:
                raise RuntimeError(f"INCR client failed ({p.exitcode})")
        r1 = cpu_s(rpid)
        results = [json.loads(Path(out).read_text()) for _, _, out in runners]
    finally:
        for p, _, _ in runners:
            stop_process(p, 5)
    ops = sum(r["ops"] for r in results)
    span = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    return {"ops_per_s": ops / span, "ops": ops, "client_cpu_s": sum(r["cpu_s"] for r in results), "redis_cpu_s": r1 - r0, "span_s": span}


# -- the vote load generator (its own processes) -----------------------------------------------------


def _request(port: int, token: str, choice: str) -> bytes:
    body = b'{"choice":"%s"}' % choice.encode()
    return (
        b"POST /api/polls/" + POLL.encode() + b"/vote HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
    ) % (port, token.encode(), len(body), body)


def loadgen_process(index: int, port: int, plan: list, tokens: dict, connections: int, ready, go, limit_s: float, out_path: str) -> None:
    """``plan``: [(device, choice)] in send order; ``tokens``: device -> token. Writes a JSON result."""
    quiet_sigterm()
    raise_nofile()
    requests = [_request(port, tokens[d], c) for d, c in plan]
    n = len(plan)

    async def main() -> dict:
        statuses: dict[str, int] = {}
        accepted: dict[int, list[str]] = {}  # device -> choices accepted
        lat: list[int] = []
        next_i = [0]
        deadline = [0.0]
        unsent = [0]
        conns = []

        async def open_one(c: int):
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(source_ip(index, c), 0)), 30)

        conns = await asyncio.gather(*(open_one(c) for c in range(connections)))
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        t_start = time.monotonic()
        deadline[0] = t_start + limit_s
        u0 = os.times()

        async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while next_i[0] < n:
                if time.monotonic() > deadline[0]:
                    return
                i = next_i[0]
                next_i[0] += 1
                t0 = time.monotonic_ns()
                try:
                    writer.write(requests[i])
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                    status = int(head[9:12])
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line[:15].lower() == b"content-length:":
                            length = int(line[15:])
                    body = await asyncio.wait_for(reader.readexactly(length), 30) if length else b""
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError) as exc:
                    key = "disconnect" if not isinstance(exc, asyncio.TimeoutError) else "timeout"
                    statuses[key] = statuses.get(key, 0) + 1
                    writer.close()
                    return  # outcome unknown: counted as an error, this connection stops
                lat.append((time.monotonic_ns() - t0) // 1000)
                result = ""
                if status in (200, 409):
                    try:
                        result = json.loads(body).get("result", "")
                    except ValueError:
                        result = "?"
                key = f"{status} {result}".strip()
                statuses[key] = statuses.get(key, 0) + 1
                if status == 200 and result == "accepted":
                    accepted.setdefault(plan[i][0], []).append(plan[i][1])

        await asyncio.gather(*(worker(r, w) for r, w in conns))
        t_end = time.monotonic()
        u1 = os.times()
        unsent[0] = n - next_i[0]
        for _, w in conns:
            w.close()
        voted = {d for d, _ in plan[: next_i[0]]}
        per_choice: dict[str, int] = {}
        for choices in accepted.values():
            for c in choices:
                per_choice[c] = per_choice.get(c, 0) + 1
        lat.sort()
        return {
            "t_start": t_start,
            "t_end": t_end,
            "sent": next_i[0],
            "unsent": unsent[0],
            "statuses": statuses,
            "accepted_per_choice": per_choice,
            "devices_voted": len(voted),
            "devices_accepted": len(accepted),
            "devices_doubled": sum(1 for v in accepted.values() if len(v) > 1),
            "lat_us": lat,
            "cpu_s": (u1.user - u0.user) + (u1.system - u0.system),
        }

    loop = new_loop()
    result = loop.run_until_complete(main())
    Path(out_path).write_text(json.dumps(result))


def make_plan(devices: int, votes: int, choices: list[str], seed: int) -> list[tuple[int, str, float]]:
    """[(device, choice, send key)]: one first vote per device (choices skewed so there is a winner),
    then ``votes - devices`` repeats, each keyed after its device's first vote; half of them another choice."""
    rng = random.Random(seed)
    weights = [len(choices) - k for k in range(len(choices))]
    first = rng.choices(choices, weights, k=devices)
    plan = []
    keys = [rng.random() for _ in range(devices)]
    for d in range(devices):
        plan.append((d, first[d], keys[d]))
    for k in range(votes - devices):
        d = rng.randrange(devices) if votes - devices < devices else k % devices
        choice = first[d] if k % 2 == 0 else rng.choice([c for c in choices if c != first[d]])
        plan.append((d, choice, keys[d] + rng.random() * (1 - keys[d])))
    plan.sort(key=lambda x: x[2])
    return plan
