"""Vote ingest over HTTP on one studio process with the real Redis: votes/s, latency, exactness.

One studio (uvicorn on 127.0.0.1, its own process, engineless pool, the embedded Redis in a fresh
data dir) runs a copy of ``show_scripts/rehearsal.yaml`` whose ``audience:`` limits are raised so the
bench is not throttled (the per-IP and per-device limiters still run on every request). The
director opens a poll (``POST /api/command poll_open``, 4 choices, allow_change false).

Device tokens are signed in the bench with the studio's own signing secret (``<data
dir>/secrets.json`` "signing", ``DeviceTokens(secret).issue()``), exactly what
``POST /api/audience/device`` hands out; minting them over HTTP would only measure that rate limit.

Load: ``--loadgen-procs`` processes, ``--connections`` raw asyncio HTTP/1.1 keep-alive connections
in all, each bound to its own loopback source address (127.1x.y.z), so the per-IP limiter sees
one key per connection as it would see one per carrier NAT. Every device votes once; on top of
that a ``--duplicates`` share of the requests repeats a device's vote, half with the same choice
(200 "unchanged") and half with another (409 "already_voted"); a repeat is sent after its
device's first vote in the send order, so some race it on other connections.

Checks after the poll is closed (0 lost, 0 doubled): the Redis tally per choice, and the
``poll.closed`` event's counts, equal the 200 "accepted" answers the clients got per choice; every
device was accepted exactly once; the audit stream ``gavel:{demo}:votes`` holds one entry per
accepted vote, and the devices hash one per device.

Baseline in the same run, against the same redis-server: raw INCR from separate processes over
its unix socket (a raw-RESP asyncio client, redis-benchmark's defaults: 50 connections, no
pipelining). Prints votes/s (answered as accepted, unchanged or already_voted), accepted/s,
p50/p99 request latency, answers by status, CPU of every process, the ratio votes/s / INCR/s and
the target line (>= 20,000 votes/s per process).

    .venv/bin/python bench/votes.py                    # 100,000 requests, 80,000 devices, 200 connections
    .venv/bin/python bench/votes.py --votes 2000 --connections 50    # a quick check
    .venv/bin/python bench/votes.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET_VOTES_PER_S = 20_000
SHOW_ID = "demo"  # show_scripts/rehearsal.yaml's show id
POLL = "bench"
RAISED = 1_000_000  # audience limits in the bench's script: high enough never to throttle
AUDIENCE_RAISED = {
    "votes_per_s_per_device": RAISED,
    "burst_per_device": RAISED,
    "votes_per_s_per_ip": RAISED,
    "burst_per_ip": RAISED,
    "devices_per_s_per_ip": RAISED,
    "device_burst_per_ip": RAISED,
}


# -- shared with bench/audience_fanout.py ------------------------------------------------------------


def raise_nofile() -> int:
    """RLIMIT_NOFILE soft limit up to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def write_script(workdir: Path, audience: dict) -> Path:
    """A copy of the demo script (banks by absolute path) with these ``audience:`` settings."""
    text = (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/")
    lines = "".join(f"  {k}: {v}\n" for k, v in audience.items())
    path = workdir / "show.yaml"
    path.write_text(text + (f"\naudience:\n{lines}" if lines else ""))
    return path


def studio_server(
    port: int, workdir: str, token: str, audience: dict, ws: str = "studio", trace_memory: int = 0, profile: bool = False
) -> None:
    """Child process: the real studio under uvicorn (production ``server_config``), no engines.

    ``trace_memory`` > 0: tracemalloc with that many frames from the start; SIGUSR1 writes a
    snapshot to ``<workdir>/mem-<n>.snap`` (n = 0, 1, ...) after a gc. ``profile``: cProfile from
    SIGUSR2 (start) to the next SIGUSR2 (stop, written to ``<workdir>/studio.pstats``).
    """
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        running = [False]

        def toggle(*_):
            if not running[0]:
                profiler.enable()
                running[0] = True
            else:
                profiler.disable()
                profiler.dump_stats(os.path.join(workdir, "studio.pstats"))
                running[0] = False
                Path(workdir, "studio.pstats.done").touch()

        signal.signal(signal.SIGUSR2, toggle)
    if trace_memory:
        import tracemalloc

        tracemalloc.start(trace_memory)
        taken = [0]

        def snapshot(*_):
            import gc

            gc.collect()
            tracemalloc.take_snapshot().dump(os.path.join(workdir, f"mem-{taken[0]}.snap"))
            taken[0] += 1
            Path(workdir, f"mem-{taken[0] - 1}.done").touch()

        signal.signal(signal.SIGUSR1, snapshot)
    raise_nofile()
    import uvicorn

    from engine_pool.pool import EnginePool
    from studio.server.app import create_app, server_config
    from studio.server.runtime import Studio
    from studio.show.rundown import load_script

    os.environ["GAVEL_DIRECTOR_TOKEN"] = token
    work = Path(workdir)
    script = load_script(write_script(work, audience))
    studio = Studio(script, work / "data", pool=EnginePool({}, {}))  # = tests.studio_harness.engineless_pool()
    config = server_config(
        create_app(studio), "127.0.0.1", port, backlog=4096, **({} if ws == "studio" else {"ws": ws})
    )  # "studio": server_config's own
    uvicorn.Server(config).run()  # SIGTERM: graceful shutdown, stops the embedded Redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: mp.Process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if not proc.is_alive():
                raise RuntimeError(f"studio process exited ({proc.exitcode}) before listening") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"studio did not listen on {port} within {timeout_s}s") from None
            time.sleep(0.05)


def wait_for_studio(port: int, proc: mp.Process, timeout_s: float = 60) -> None:
    """Listening and answering (the lifespan, Redis included, is up)."""
    wait_for_port(port, proc, timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with _direct().open(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if not proc.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("studio did not answer /healthz")
        time.sleep(0.1)


def _direct():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy


def director(port: int, token: str, command: str, args: dict, timeout_s: float = 30) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/command",
        data=json.dumps({"command": command, "command_id": f"bench-{command}-{secrets.token_hex(4)}", "args": args}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with _direct().open(request, timeout=timeout_s) as response:
            result = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{command}: HTTP {exc.code}: {exc.read()!r}") from None
    if not result.get("ok"):
        raise RuntimeError(f"{command} refused: {result}")
    return result


def signing_secret(workdir: str) -> str:
    return json.loads((Path(workdir) / "data" / "secrets.json").read_text())["signing"]


def redis_pid(studio_pid: int) -> int | None:
    import psutil

    try:
        for child in psutil.Process(studio_pid).children(recursive=True):
            if "redis-server" in " ".join(child.cmdline()):
                return child.pid
    except psutil.NoSuchProcess:
        pass
    return None


def cpu_s(pid: int | None) -> float:
    import psutil

    if pid is None:
        return 0.0
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return 0.0


def host_busy_s() -> float:
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


def stop_process(proc: mp.Process | None, grace_s: float = 20) -> None:
    if proc is None or not proc.is_alive():
        return
    proc.terminate()  # SIGTERM: uvicorn shuts the studio (and its Redis) down cleanly
    proc.join(grace_s)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


def pct(sorted_values: list, q: float) -> float:
    """Nearest-rank percentile of µs values, in ms."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k] / 1000


def new_loop():
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def source_ip(proc_index: int, conn_index: int, base: int = 10) -> str:
    """A distinct loopback source address per connection (Linux answers for all of 127/8)."""
    return f"127.{base + proc_index}.{conn_index // 250}.{conn_index % 250 + 1}"


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
    signal.signal(signal.SIGTERM, _interrupt)

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
    signal.signal(signal.SIGTERM, _interrupt)
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


# -- after the run: what Redis and the log say -------------------------------------------------------


def redis_facts(sock_path: str) -> dict:
    import redis

    r = redis.Redis(unix_socket_path=sock_path)
    try:
        tally = {k.decode(): int(v) for k, v in r.hgetall(f"gavel:{{{SHOW_ID}}}:poll:{POLL}:tally").items() if int(v)}
        audit = r.xlen(f"gavel:{{{SHOW_ID}}}:votes")
        devices = r.hlen(f"gavel:{{{SHOW_ID}}}:poll:{POLL}:devices")
        status = (r.hget(f"gavel:{{{SHOW_ID}}}:poll:{POLL}:meta", "status") or b"").decode()
        closed = None
        for _id, fields in r.xrevrange(f"gavel:{{{SHOW_ID}}}:ch:director", count=50):
            event = json.loads(fields[b"b"])
            if event.get("type") == "poll.closed" and event["data"]["poll_id"] == POLL:
                closed = {k: v for k, v in event["data"]["counts"].items() if v}
                break
        return {"tally": tally, "audit": audit, "devices": devices, "status": status, "closed": closed}
    finally:
        r.close()


def _profile(pid: int, workdir: str, top: int = 30) -> str:
    import io
    import pstats

    os.kill(pid, signal.SIGUSR2)
    done = Path(workdir, "studio.pstats.done")
    deadline = time.monotonic() + 30
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    out = io.StringIO()
    pstats.Stats(os.path.join(workdir, "studio.pstats"), stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# -- the run -----------------------------------------------------------------------------------------


def run(args) -> int:
    ctx = mp.get_context("spawn")
    workdir = tempfile.mkdtemp(prefix="gavel-votes-")
    port = free_port()
    token = secrets.token_urlsafe(16)
    choices = [f"c{k}" for k in range(1, args.choices + 1)]
    studio = None
    loadgens: list[mp.Process] = []
    try:
        studio = ctx.Process(
            target=studio_server, args=(port, workdir, token, AUDIENCE_RAISED, "studio", 0, args.profile), name="studio", daemon=True
        )
        studio.start()
        wait_for_studio(port, studio)
        rpid = redis_pid(studio.pid)
        from store.embedded_redis import socket_path_for

        sock_path = str(socket_path_for(Path(workdir) / "data"))

        # Baseline first, on the same redis-server (a different key).
        base = incr_baseline(sock_path, args.loadgen_procs, args.incr_connections, args.incr_pipeline, args.incr_seconds, workdir, rpid)
        print(
            f"baseline: INCR on the studio's redis-server (unix socket), {args.incr_connections} connections x pipeline {args.incr_pipeline}, "
            f"{args.loadgen_procs} client process(es), {base['span_s']:.1f} s: {base['ops_per_s']:,.0f} INCR/s "
            f"(redis-server cpu {base['redis_cpu_s'] / base['span_s']:.2f} cores, clients {base['client_cpu_s'] / base['span_s']:.2f} cores)",
            flush=True,
        )

        director(port, token, "poll_open", {"poll": POLL, "title": "Bench poll", "choices": choices, "allow_change": False})

        from studio.server.device_tokens import DeviceTokens

        t0 = time.monotonic()
        signer = DeviceTokens(signing_secret(workdir))
        tokens = [signer.issue()[1] for _ in range(args.devices)]
        plan = make_plan(args.devices, args.votes, choices, args.seed)
        print(
            f"{args.devices:,} device tokens signed with the studio's secret in {time.monotonic() - t0:.1f} s; plan: {len(plan):,} requests",
            flush=True,
        )

        go = ctx.Event()
        readies = []
        outs = []
        for p in range(args.loadgen_procs):
            mine = [(d, c) for d, c, _ in plan if d % args.loadgen_procs == p]
            my_tokens = {d: tokens[d] for d in {d for d, _ in mine}}
            conns = args.connections // args.loadgen_procs + (p < args.connections % args.loadgen_procs)
            ready = ctx.Event()
            out = os.path.join(workdir, f"loadgen-{p}.json")
            proc = ctx.Process(
                target=loadgen_process,
                args=(p, port, mine, my_tokens, conns, ready, go, args.duration_limit, out),
                name=f"loadgen{p}",
                daemon=True,
            )
            proc.start()
            loadgens.append(proc)
            readies.append(ready)
            outs.append(out)
        del tokens
        for ready, proc in zip(readies, loadgens):
            if not ready.wait(120):
                raise RuntimeError(f"{proc.name} did not connect within 120 s")
        if args.profile:
            os.kill(studio.pid, signal.SIGUSR2)
        s0, r0, h0, w0 = cpu_s(studio.pid), cpu_s(rpid), host_busy_s(), time.monotonic()
        go.set()
        for proc in loadgens:
            proc.join(args.duration_limit + 90)
            if proc.exitcode != 0:
                raise RuntimeError(f"{proc.name} failed (exit code {proc.exitcode})")
        s1, r1, h1, w1 = cpu_s(studio.pid), cpu_s(rpid), host_busy_s(), time.monotonic()
        profile_text = _profile(studio.pid, workdir) if args.profile else ""
        results = [json.loads(Path(o).read_text()) for o in outs]

        director(port, token, "poll_close", {"poll": POLL})
        facts = redis_facts(sock_path)
    finally:
        for proc in loadgens:
            stop_process(proc, 5)
        stop_process(studio)
        shutil.rmtree(workdir, ignore_errors=True)

    if profile_text:
        print("cProfile of the studio process during the votes (sorted by own time; adds overhead):")
        print(profile_text)
    # -- report
    span = max(r["t_end"] for r in results) - min(r["t_start"] for r in results)
    statuses: dict[str, int] = {}
    client_counts: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
        for k, v in r["accepted_per_choice"].items():
            client_counts[k] = client_counts.get(k, 0) + v
    lat = sorted(x for r in results for x in r["lat_us"])
    accepted = statuses.get("200 accepted", 0)
    answered = accepted + statuses.get("200 unchanged", 0) + statuses.get("409 already_voted", 0)
    errors = {k: v for k, v in statuses.items() if k not in ("200 accepted", "200 unchanged", "409 already_voted")}
    sent = sum(r["sent"] for r in results)
    unsent = sum(r["unsent"] for r in results)
    loadgen_cpu = sum(r["cpu_s"] for r in results)
    votes_per_s = answered / span
    print(
        f"votes: {sent:,} requests sent over {span:.2f} s ({unsent:,} not sent: --duration-limit), "
        f"{args.connections} connections from {args.connections} source IPs, {args.loadgen_procs} load-generator process(es)"
    )
    print("answers: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items())))
    print(f"errors (anything but 200 accepted/unchanged, 409 already_voted): {sum(errors.values()):,}" + (f"  {errors}" if errors else ""))
    print(f"votes/s (accepted + unchanged + already_voted): {votes_per_s:,.0f}   accepted/s: {accepted / span:,.0f}")
    print(f"request latency: p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms, max {pct(lat, 100):.2f} ms")
    wall = w1 - w0
    others = max(0.0, (h1 - h0) - (s1 - s0) - (r1 - r0) - loadgen_cpu) / wall
    print(
        f"studio cpu per answered request: {(s1 - s0) / max(1, answered) * 1e6:.0f} us (+ redis-server {(r1 - r0) / max(1, answered) * 1e6:.0f} us): "
        f"one studio core would answer ~{answered / max(1e-9, s1 - s0):,.0f} requests/s"
    )
    print(
        f"cpu during the votes (cores): studio {(s1 - s0) / wall:.2f}, its redis-server {(r1 - r0) / wall:.2f}, "
        f"load generators {loadgen_cpu / wall:.2f}, rest of the machine {others:.2f} (cpus: {os.cpu_count()})"
    )

    devices_voted = sum(r["devices_voted"] for r in results)
    devices_accepted = sum(r["devices_accepted"] for r in results)
    doubled_devices = sum(r["devices_doubled"] for r in results)
    tally = facts["tally"]
    lost = sum(max(0, client_counts.get(c, 0) - tally.get(c, 0)) for c in choices)
    doubled = sum(max(0, tally.get(c, 0) - client_counts.get(c, 0)) for c in choices)
    checks = [
        ("Redis tally == accepted answers per choice", tally == client_counts, f"redis {tally} clients {client_counts}"),
        ("poll.closed counts == Redis tally", facts["closed"] == tally, f"poll.closed {facts['closed']}"),
        ("audit stream length == accepted answers", facts["audit"] == accepted, f"XLEN {facts['audit']:,} accepted {accepted:,}"),
        (
            "devices hash == devices accepted",
            facts["devices"] == devices_accepted,
            f"HLEN {facts['devices']:,} devices accepted {devices_accepted:,}",
        ),
        ("no device accepted twice", doubled_devices == 0, f"{doubled_devices} devices"),
        ("every device that voted was accepted once", devices_accepted == devices_voted, f"{devices_accepted:,} of {devices_voted:,}"),
        ("poll closed in Redis", facts["status"] == "closed", facts["status"]),
    ]
    print(f"exactness: {lost} lost, {doubled} doubled (Redis tally vs the 200 accepted answers)")
    for name, ok, detail in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}")
    ratio = votes_per_s / base["ops_per_s"]
    print(f"ratio votes/s / INCR/s: {votes_per_s:,.0f} / {base['ops_per_s']:,.0f} = {ratio:.3f}")
    exact = all(ok for _, ok, _ in checks) and lost == 0 and doubled == 0
    verdict = "PASS" if votes_per_s >= TARGET_VOTES_PER_S and exact and not errors else "FAIL"
    why = (
        ""
        if verdict == "PASS"
        else (
            "  ("
            + ", ".join(
                x
                for x in [
                    f"{votes_per_s:,.0f} votes/s" if votes_per_s < TARGET_VOTES_PER_S else "",
                    "counts not exact" if not exact else "",
                    "errors" if errors else "",
                ]
                if x
            )
            + ")"
        )
    )
    print(f"target >= {TARGET_VOTES_PER_S:,} votes/s per process: {verdict}{why}")
    if others > 0.25:
        print(f"NOTE: other processes kept {others:.2f} cores busy meanwhile: rerun on a quiet machine")
    return 0 if exact and not errors else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Vote ingest over HTTP on one studio process with the real Redis, against raw INCR on the same Redis.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--votes", type=int, default=100_000, help="vote requests in all (first votes + repeats)")
    parser.add_argument(
        "--duplicates", type=float, default=0.2, help="share of requests that repeat a device's vote (half same choice, half another)"
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=None,
        help="distinct devices, each votes once first (default: votes x (1 - duplicates); sets the repeats to votes - devices)",
    )
    parser.add_argument("--connections", type=int, default=200, help="concurrent keep-alive connections in all, one source IP each")
    parser.add_argument("--loadgen-procs", type=int, default=2, help="load-generator processes (also used for the INCR baseline)")
    parser.add_argument("--duration-limit", type=float, default=120, help="stop sending after this many seconds")
    parser.add_argument("--choices", type=int, default=4, help="choices in the poll (2-20)")
    parser.add_argument("--incr-connections", type=int, default=50, help="baseline: connections (redis-benchmark -c)")
    parser.add_argument("--incr-pipeline", type=int, default=1, help="baseline: INCRs in flight per connection (redis-benchmark -P)")
    parser.add_argument("--incr-seconds", type=float, default=3, help="baseline: how long")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the studio process during the votes (adds overhead)")
    parser.add_argument("--seed", type=int, default=1, help="seed for choices and send order")
    args = parser.parse_args(argv)
    if args.devices is None:
        args.devices = round(args.votes * (1 - args.duplicates))
    if not 1 <= args.devices <= args.votes:
        parser.error("--devices must be 1..--votes (every device votes once; the rest are repeats)")
    if not 2 <= args.choices <= 20:
        parser.error("--choices: 2 to 20")
    if args.connections < args.loadgen_procs or args.loadgen_procs < 1 or args.incr_connections < args.loadgen_procs:
        parser.error("--connections and --incr-connections must be >= --loadgen-procs >= 1")
    if args.connections > 250 * 250:
        parser.error("--connections: at most 62,500")
    repeats = args.votes - args.devices
    print(
        f"votes bench: {args.votes:,} requests = {args.devices:,} devices' first votes + {repeats:,} repeats "
        f"({repeats / args.votes:.0%}, half another choice -> 409 already_voted); poll of {args.choices} choices, allow_change false"
    )
    print(
        f"studio: one uvicorn process (production server_config), engineless pool, embedded Redis; rehearsal.yaml copy with audience limits "
        f"raised to {RAISED:,}/s and burst (per IP, per device, new devices) so the bench is not throttled (the limiters still run per request); "
        f"device tokens signed in the bench with the studio's signing secret"
    )
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
