"""Added latency from an engine token to a WebSocket client: the Gavel studio against a bare relay.

A paced synthetic engine (``PacedEngine``) produces ``--tokens`` tokens per stream at ``--rate``
tokens/s on ``--streams`` concurrent streams (like contestants answering in one vLLM batch); each
chunk's text carries the moment it was produced, ``time.monotonic_ns()`` (one clock for every
process on Linux). By default that clock runs in its own pacer process, as vLLM's engine core does,
so a server whose event loop is busy when a token arrives is charged for the wait (``--pacer loop``
stamps on the server's own loop instead). ``--clients`` WebSocket clients, all in one separate
process, record receive time minus emit time for every token. Two relays carry the same tokens,
alternately, ``--rounds`` times each, every round in fresh processes:

- studio: the real path. A ``Studio`` (embedded Redis, fresh data dir) with a one-question
  speed_qa show whose contestants all route to the paced engine, served by uvicorn on 127.0.0.1,
  started with ``POST /api/command start``. A token goes stage -> content filter ->
  controller.publish -> Redis Lua append -> the channel hub (told of the append; XREAD for anything
  else) -> one frame written to every caught-up client's socket -> client on ``/ws/program``.
- bare: the floor. A plain ``websockets`` asyncio server on the same event loop type, fed by the
  same engine, that ``websockets.broadcast``s the same JSON shape to every connection.

Every client must get every token and the end of the show, and every event in seq order (``ooo``
counts violations); per round and pooled it prints p50/p99/max in ms (``sch``: from the token's
scheduled time rather than its stamp), the server's CPU seconds (the studio's including its
redis-server) and the client process's, then the studio/bare ratios, pooled and per round (target:
p99 ratio <= 1.2). ``--trace`` breaks the studio's latency down by leg; ``--profile`` prints a
cProfile of the studio process. Both add overhead: use them to look, not to score.

    .venv/bin/python bench/relay.py            # 100 clients, 2 streams x 20 tok/s, 3 x 10 s rounds each
    .venv/bin/python bench/relay.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import re
import secrets
import select
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.events import frame_events  # noqa: E402
from engine_pool.base import Chunk, GenerationRequest  # noqa: E402

TARGET_P99_RATIO = 1.2
QUIET_CORES = 0.25  # a round during which the rest of the machine used more is flagged as disturbed
STAMP = re.compile(r"<t=(\d+) s=(\d+)>")
TOKEN_TYPE = '"type":"answer.token"'  # as the studio's compact JSON spells it (answer.finished repeats the stamps)
CONTESTANT = re.compile(r'"contestant":"([^"]+)"')


def _trace_key(text: str) -> str | None:
    """Streams stepped together share a stamp: key a token by contestant and stamp."""
    if TOKEN_TYPE in text and (stamp := STAMP.search(text)) and (who := CONTESTANT.search(text)):
        return f"{who[1]} {stamp[1]}"
    return None


# -- the engine -------------------------------------------------------------------------------------


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
    _quiet_sigterm()
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


# -- servers (each round in its own process) ----------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    clients: int
    streams: int
    tokens: int
    rate: float
    loop: str  # uvicorn's --loop: auto (uvloop when installed), asyncio, uvloop
    ws: str  # uvicorn's --ws for the studio
    compression: bool  # clients offer permessage-deflate (browsers do)
    pacer: str = "process"  # process: tokens stamped in a pacer process; loop: on the server's loop
    trace: bool = False  # studio: timestamp each token at append, XREAD and every send
    profile: bool = False  # studio: cProfile the server process

    @property
    def seconds(self) -> float:
        return self.tokens / self.rate


def _loop_factory(loop: str):
    """The event loop uvicorn would use for ``--loop``, so every process here runs the same kind."""
    from uvicorn.config import LOOP_FACTORIES
    from uvicorn.importer import import_from_string

    return import_from_string(LOOP_FACTORIES[loop])(use_subprocess=False)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _quiet_sigterm() -> None:
    signal.signal(signal.SIGTERM, _interrupt)


SCRIPT_YAML = """\
show: {{id: relay-bench, title: "relay bench"}}
engines:
  local: {{kind: vllm}}   # required by the schema; never started: the bench passes its own pool
contestants:
{contestants}
# The relay is measured without rule lists: the tokens carry digit-run timestamps that the shipped
# card-number rule would (rightly) hold back. The filter still runs on every token (an empty rule
# set); its cost with the shipped rules is bench/filter_cost.py's.
safety: {{shipped_rules: false}}
stages:
  - kind: speed_qa
    title: "relay bench"
    bank: bank.yaml
    questions: 1
    sampling: {{temperature: 0, max_tokens: {tokens}, seed: 0}}
    time_limit_s: {time_limit}
"""
BANK_YAML = """\
name: relay-bench
license: "Apache-2.0 (written for Gavel)"
source: gavel
questions:
  - {id: q1, question: "What is 6 x 7?", kind: numeric, answer: 42}
  - {id: q2, question: "What is 2 + 3?", kind: numeric, answer: 5}
  - {id: q3, question: "How many days are in a week?", kind: numeric, answer: 7}
"""


def studio_server(setup: Setup, port: int, workdir: str, token: str, pacer: str | None) -> None:
    """Child process: the real studio under uvicorn, all contestants on one PacedEngine."""
    import uvicorn

    from engine_pool.pool import EnginePool, Route
    from studio.server.app import create_app, server_config
    from studio.server.runtime import Studio
    from studio.show.rundown import load_script

    os.environ["GAVEL_DIRECTOR_TOKEN"] = token
    os.environ["GAVEL_GRAPHICS_TOKEN"] = f"{token}-graphics"  # what the clients follow program with
    work = Path(workdir)
    contestants = "\n".join(f"  - {{id: c{i}, name: C{i}, engine: local}}" for i in range(1, setup.streams + 1))
    time_limit = min(600, setup.seconds + 60)
    (work / "show.yaml").write_text(SCRIPT_YAML.format(contestants=contestants, tokens=setup.tokens, time_limit=time_limit))
    (work / "bank.yaml").write_text(BANK_YAML)
    script = load_script(work / "show.yaml")
    pool = EnginePool({"local": PacedEngine(setup.tokens, setup.rate, pacer)}, {c.id: Route("local") for c in script.contestants})
    studio = Studio(script, work / "data", pool=pool)
    if setup.trace or setup.profile:
        _instrument(studio, setup, work)
    config = server_config(
        create_app(studio), "127.0.0.1", port, ws_ping_interval=None, loop=setup.loop, **({} if setup.ws == "studio" else {"ws": setup.ws})
    )
    uvicorn.Server(config).run()  # SIGTERM: graceful shutdown, stops the embedded Redis


def _instrument(studio, setup: Setup, work: Path) -> None:
    """Opt-in probes for ``--trace``/``--profile``; written out when the studio stops."""
    from store.event_log import EventLog
    from studio.server.fanout import ChannelHub

    trace: dict[str, dict] = {"append": {}, "tail": {}, "send": {}}
    profiler = None
    if setup.trace:
        append, tail, serve = EventLog.append, EventLog.tail, ChannelHub.serve

        async def traced_append(self, event, *args, **kwargs):
            t0 = time.monotonic_ns()
            out = await append(self, event, *args, **kwargs)
            if event.type == "answer.token":
                trace["append"][f"{event.data.contestant} {STAMP.search(event.data.text)[1]}"] = (t0, time.monotonic_ns())
            return out

        async def traced_tail(self, channel, *args, **kwargs):
            batch = await tail(self, channel, *args, **kwargs)
            if channel == "program":
                now = time.monotonic_ns()
                for item in batch:
                    if key := _trace_key(item.text):
                        trace["tail"][key] = now
            return batch

        def keys_of(text: str) -> list[str]:
            return [key for event in frame_events(text) if (key := _trace_key(json.dumps(event, separators=(",", ":"))))]

        shared: list = [None, []]  # the broadcast's last frame and its keys: one frame goes to every client

        async def traced_serve(self, send, since, direct=None):
            async def timed(text: str) -> None:
                t0 = time.monotonic_ns()
                await send(text)
                t1 = time.monotonic_ns()
                for key in keys_of(text):
                    trace["send"].setdefault(key, []).append((t0, t1))

            def timed_direct(frame: bytes) -> bool:
                t0 = time.monotonic_ns()
                if not direct(frame):
                    return False
                t1 = time.monotonic_ns()
                if shared[0] is not frame:
                    shared[0], shared[1] = frame, keys_of(frame[2 if frame[1] < 126 else 4 if frame[1] == 126 else 10 :].decode())
                for key in shared[1]:
                    trace["send"].setdefault(key, []).append((t0, t1))
                return True

            return await serve(self, timed, since, None if direct is None else timed_direct)

        EventLog.append, EventLog.tail, ChannelHub.serve = traced_append, traced_tail, traced_serve
    if setup.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    stop = studio.stop

    async def stop_and_dump() -> None:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(work / "studio.pstats"))
        await stop()
        if setup.trace:
            (work / "trace.json").write_text(json.dumps(trace))

    studio.stop = stop_and_dump  # uvicorn re-raises SIGTERM after shutdown: write out before that


def bare_server(setup: Setup, port: int, pacer: str | None) -> None:
    """Child process: a plain websockets broadcast relay on the same loop type as uvicorn's."""
    _quiet_sigterm()
    try:
        with asyncio.Runner(loop_factory=_loop_factory(setup.loop)) as runner:
            runner.run(_bare_main(setup, port, pacer))
    except KeyboardInterrupt:
        pass


async def _bare_main(setup: Setup, port: int, pacer: str | None) -> None:
    from http import HTTPStatus

    from websockets.asyncio.server import broadcast, serve

    from engine_pool.base import Sampling

    engine = PacedEngine(setup.tokens, setup.rate, pacer)
    await engine.start()
    go = asyncio.Event()
    seq = 0

    def emit(event: dict) -> None:
        nonlocal seq
        seq += 1
        text = json.dumps({"seq": seq, "ts": time.time(), **event}, separators=(",", ":"))
        broadcast(server.connections, text)

    async def one(contestant: str) -> None:
        request = GenerationRequest(request_id=contestant, messages=[], sampling=Sampling(max_tokens=setup.tokens))
        index = 0
        async for chunk in engine.stream(request):
            index += chunk.token_count
            data = {"question_id": "q1", "contestant": contestant, "index": index, "text": chunk.text}
            emit({"type": "answer.token", "data": data})

    def process_request(connection, request):
        if request.path == "/start":
            go.set()
            return connection.respond(HTTPStatus.OK, "started\n")
        if request.path != "/ws":
            return connection.respond(HTTPStatus.NOT_FOUND, "no\n")
        return None

    async def handler(ws) -> None:
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", port, process_request=process_request, ping_interval=None, compression=None) as server:
        await go.wait()
        await asyncio.gather(*(one(f"c{i}") for i in range(1, setup.streams + 1)))
        emit({"type": "show.status", "data": {"status": "completed"}})
        await asyncio.Event().wait()  # until SIGTERM


# -- clients (their own process) ---------------------------------------------------------------------


def client_process(setup: Setup, url: str, out_path: str, connected, timeout_s: float) -> None:
    _quiet_sigterm()
    with asyncio.Runner(loop_factory=_loop_factory(setup.loop)) as runner:
        result = runner.run(_clients_main(setup, url, connected, timeout_s))
    Path(out_path).write_text(json.dumps(result))


async def _clients_main(setup: Setup, url: str, connected, timeout_s: float) -> dict:
    from websockets.asyncio.client import connect

    compression = "deflate" if setup.compression else None
    gate = asyncio.Semaphore(20)

    async def open_one():
        async with gate:
            return await connect(url, ping_interval=None, max_size=None, open_timeout=30, compression=compression, proxy=None)

    conns = await asyncio.gather(*(open_one() for _ in range(setup.clients)))
    usage0 = os.times()
    connected.set()
    expected = setup.streams * setup.tokens

    async def follow(ws) -> dict:
        lat: list[int] = []
        sched: list[int] = []
        tokens = 0
        disorder = 0  # seq not last+1, or a stream's token index not last+1
        last_seq = None
        last_index: dict[str, int] = {}
        ended = False
        try:
            async for raw in ws:
                now = time.monotonic_ns()
                for event in frame_events(raw):
                    if last_seq is not None and event["seq"] != last_seq + 1:
                        disorder += 1
                    last_seq = event["seq"]
                    if event["type"] == "answer.token" and (stamp := STAMP.search(event["data"]["text"])):
                        tokens += 1
                        lat.append((now - int(stamp[1])) // 1000)
                        sched.append((now - int(stamp[2])) // 1000)
                        who, index = event["data"]["contestant"], event["data"]["index"]
                        if index != last_index.get(who, 0) + 1:
                            disorder += 1
                        last_index[who] = index
                    elif event["type"] == "show.status" and event["data"]["status"] in ("completed", "aborted"):
                        ended = True
                if ended:
                    break
        finally:
            await ws.close()
        return {"lat_us": lat, "sched_us": sched, "tokens": tokens, "disorder": disorder, "ended": ended}

    tasks = [asyncio.create_task(follow(ws)) for ws in conns]
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    usage1 = os.times()
    per_client = [t.result() if t in done and t.exception() is None else None for t in tasks]
    return {
        "expected": expected,
        "clients": per_client,
        "timed_out": len(pending),
        "cpu_s": (usage1.user - usage0.user) + (usage1.system - usage0.system),
    }


# -- one round ---------------------------------------------------------------------------------------


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
                raise RuntimeError(f"server process exited ({proc.exitcode}) before listening") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not listen on {port} within {timeout_s}s") from None
            time.sleep(0.05)


def tree_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of a process with its children (the studio's embedded redis-server), and of the children alone."""
    import psutil

    own = children = 0.0
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        own = t.user + t.system
        for p in root.children(recursive=True):
            try:
                t = p.cpu_times()
                children += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        pass
    return own + children, children


def host_busy_s() -> float:
    """CPU seconds the whole machine has been busy (or stolen by the hypervisor)."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


def wait_for_quiet(max_wait_s: float, cores: float = QUIET_CORES) -> float:
    """Wait (up to max_wait_s) until the machine's other work is below ``cores``; returns the last reading."""
    deadline = time.monotonic() + max_wait_s
    while True:
        b0, t0 = host_busy_s(), time.monotonic()
        time.sleep(1.0)
        busy = (host_busy_s() - b0) / (time.monotonic() - t0)
        if busy < cores or time.monotonic() >= deadline:
            return busy


def run_round(side: str, setup: Setup) -> dict:
    ctx = mp.get_context("spawn")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix=f"gavel-relay-{side}-")
    token = secrets.token_urlsafe(16)
    pacer = clients = None
    pacer_path = None
    if setup.pacer == "process":
        pacer_path = os.path.join(workdir, "pacer.sock")
        listening = ctx.Event()
        pacer = ctx.Process(target=pacer_process, args=(pacer_path, setup.rate, listening), name="pacer", daemon=True)
        pacer.start()
        if not listening.wait(30):
            pacer.kill()
            raise RuntimeError("the pacer process did not start")
    if side == "studio":
        server = ctx.Process(target=studio_server, args=(setup, port, workdir, token, pacer_path), name="studio", daemon=True)
        url = f"ws://127.0.0.1:{port}/ws/program?since=0&token={token}-graphics"
    else:
        server = ctx.Process(target=bare_server, args=(setup, port, pacer_path), name="bare", daemon=True)
        url = f"ws://127.0.0.1:{port}/ws"
    server.start()
    try:
        wait_for_port(port, server)
        connected = ctx.Event()
        out_path = os.path.join(workdir, "clients.json")
        timeout_s = setup.seconds + 30
        clients = ctx.Process(target=client_process, args=(setup, url, out_path, connected, timeout_s), name="clients", daemon=True)
        clients.start()
        if not connected.wait(60):
            raise RuntimeError("clients did not connect within 60s")
        time.sleep(0.5)  # let the accept/handshake work settle before the first token
        (cpu0, kids0), host0, t0 = tree_cpu_s(server.pid), host_busy_s(), time.monotonic()
        if side == "studio":
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/command",
                data=json.dumps({"command": "start", "command_id": "relay-bench-start"}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
        else:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/start")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
        with direct.open(request, timeout=30) as response:
            if response.status != 200:
                raise RuntimeError(f"start: HTTP {response.status}: {response.read()!r}")
        clients.join(timeout_s + 30)
        (cpu1, kids1), host1, t1 = tree_cpu_s(server.pid), host_busy_s(), time.monotonic()
        if clients.is_alive() or clients.exitcode != 0:
            raise RuntimeError(f"client process failed (exit code {clients.exitcode})")
        result = json.loads(Path(out_path).read_text())
        result["server_cpu_s"] = cpu1 - cpu0
        result["redis_cpu_s"] = kids1 - kids0
        # What the rest of the machine used meanwhile (everything busy minus this round's server and clients).
        result["others_cores"] = max(0.0, (host1 - host0) - (cpu1 - cpu0) - result["cpu_s"]) / (t1 - t0)
        result["redis_log"] = []
        if side == "studio":
            redis_log = Path(workdir) / "data" / "redis.log"
            if redis_log.exists():  # e.g. "Asynchronous AOF fsync is taking too long (disk is busy?)"
                result["redis_log"] = [line for line in redis_log.read_text(errors="replace").splitlines() if "fsync" in line.lower()]
        if side == "studio" and (setup.trace or setup.profile):
            server.terminate()
            server.join(30)
            if setup.trace:
                result["trace"] = json.loads((Path(workdir) / "trace.json").read_text())
            if setup.profile:
                result["profile"] = _profile_text(Path(workdir) / "studio.pstats")
        return result
    finally:
        if clients is not None and clients.is_alive():
            clients.terminate()
            clients.join(10)
        if server.is_alive():
            server.terminate()  # SIGTERM: uvicorn shuts the studio (and its Redis) down cleanly
            server.join(20)
            if server.is_alive():
                server.kill()
                server.join(5)
        if pacer is not None and pacer.is_alive():
            pacer.terminate()
            pacer.join(10)
        shutil.rmtree(workdir, ignore_errors=True)


def _profile_text(path: Path, top: int = 30) -> str:
    import io
    import pstats

    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats(os.environ.get("RELAY_PROFILE_SORT", "tottime")).print_stats(top)
    return out.getvalue()


# -- report -------------------------------------------------------------------------------------------


def pct(sorted_values: list[int], q: float) -> float:
    """Nearest-rank percentile, in ms (values are µs)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k] / 1000


@dataclass
class Summary:
    lat: list[int]
    sched: list[int]
    tokens_min: int
    expected: int
    complete: int  # clients that got every token and the end of the show
    disorder: int
    cpu_server: float
    cpu_clients: float
    others: float  # mean cores the rest of the machine used during the rounds

    @classmethod
    def of(cls, results: list[dict]) -> "Summary":
        lat, sched, counts = [], [], []
        complete = disorder = 0
        expected = results[0]["expected"]
        for r in results:
            for c in r["clients"]:
                if c is None:
                    counts.append(0)
                    continue
                lat += c["lat_us"]
                sched += c["sched_us"]
                counts.append(c["tokens"])
                disorder += c["disorder"]
                complete += c["tokens"] == expected and c["ended"]
        lat.sort()
        sched.sort()
        return cls(
            lat,
            sched,
            min(counts, default=0),
            expected,
            complete,
            disorder,
            sum(r["server_cpu_s"] for r in results),
            sum(r["cpu_s"] for r in results),
            statistics.mean(r["others_cores"] for r in results),
        )

    def row(self, label: str, n_clients: int) -> str:
        ok = "ok" if self.complete == n_clients and self.disorder == 0 else "LOSS"
        worst = self.lat[-1] / 1000 if self.lat else float("nan")
        return (
            f"{label:<16}{len(self.lat):>8}{f'{self.tokens_min}/{self.expected}':>11}{f'{self.complete}/{n_clients}':>10}"
            f"{self.disorder:>5} {ok:<5}{pct(self.lat, 50):>7.2f}{pct(self.lat, 99):>8.2f}{worst:>8.2f}"
            f"{pct(self.sched, 50):>8.2f}{pct(self.sched, 99):>8.2f}{self.cpu_server:>8.2f}{self.cpu_clients:>8.2f}{self.others:>8.2f}"
        )


HEADER = (
    f"{'':<16}{'samples':>8}{'min tok/cl':>11}{'complete':>10}{'ooo':>5} {'':<5}"
    f"{'p50':>7}{'p99':>8}{'max':>8}{'sch p50':>8}{'sch p99':>8}{'srv cpu':>8}{'cli cpu':>8}{'others':>8}"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Added latency engine token -> WebSocket client: the Gavel studio path vs a bare websockets broadcast server.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=100, help="WebSocket clients (one process, loopback)")
    parser.add_argument("--streams", type=int, default=2, help="concurrent token streams (contestants)")
    parser.add_argument("--rate", type=float, default=20.0, help="tokens/s per stream")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per stream per round (max 4096)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side, interleaved bare/studio")
    parser.add_argument("--sides", default="bare,studio", help="which relays to run: bare,studio")
    parser.add_argument(
        "--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="event loop of every process (uvicorn's --loop)"
    )
    parser.add_argument(
        "--ws",
        default="studio",
        choices=["studio", "auto", "websockets", "websockets-sansio", "wsproto"],
        help="uvicorn's WebSocket implementation for the studio",
    )
    parser.add_argument(
        "--pacer", default="process", choices=["process", "loop"], help="where the engine keeps time and stamps tokens (see PacedEngine)"
    )
    parser.add_argument("--no-compression", action="store_true", help="clients do not offer permessage-deflate")
    parser.add_argument(
        "--settle",
        type=float,
        default=0,
        metavar="S",
        help=f"before each round wait up to S s for the machine to be quiet (others under {QUIET_CORES} cores)",
    )
    parser.add_argument("--trace", action="store_true", help="studio: time each token at append, XREAD and every send (adds overhead)")
    parser.add_argument(
        "--profile", action="store_true", help="studio: cProfile the server process, print the top functions (adds overhead)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.tokens <= 4096:
        parser.error("--tokens must be 1..4096 (the show script's max_tokens)")
    if args.clients < 1 or args.streams < 1 or args.rounds < 1 or args.rate <= 0:
        parser.error("--clients, --streams, --rounds must be >= 1 and --rate > 0")
    if args.tokens / args.rate > 540:
        parser.error("--tokens / --rate must be at most 540 s (a speed_qa answer's time limit is at most 600 s)")
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if not sides or any(s not in ("bare", "studio") for s in sides):
        parser.error("--sides: bare, studio or both")

    if args.ws == "wsproto":
        import importlib.util

        if importlib.util.find_spec("wsproto") is None:
            parser.error("--ws wsproto: the wsproto package is not installed")
    setup = Setup(
        args.clients,
        args.streams,
        args.tokens,
        args.rate,
        args.loop,
        args.ws,
        not args.no_compression,
        args.pacer,
        args.trace,
        args.profile,
    )
    probe = _loop_factory(args.loop)()
    loop_name = type(probe).__module__.split(".")[0]
    probe.close()
    print(
        f"relay bench: {setup.clients} clients, {setup.streams} streams x {setup.tokens} tokens at {setup.rate:g} tok/s "
        f"({setup.seconds:g} s/round), {args.rounds} rounds per side; loop={loop_name}, studio ws={args.ws}, "
        f"deflate={'on' if setup.compression else 'off'}, pacer={setup.pacer}, cpus={os.cpu_count()}"
    )
    print(
        "latency (ms) = client receive - engine emit (sch: - scheduled emit); cpu = seconds used during the round; "
        "others = cores the rest of the machine kept busy meanwhile"
    )
    print(HEADER)
    results: dict[str, list[dict]] = {s: [] for s in sides}
    for i in range(args.rounds):
        order = sides if i % 2 == 0 else sides[::-1]
        for side in order:
            if args.settle > 0:
                wait_for_quiet(args.settle)
            r = run_round(side, setup)
            results[side].append(r)
            print(Summary.of([r]).row(f"round {i + 1} {side}", setup.clients), flush=True)
            for line in r["redis_log"]:
                print(f"    redis: {line.strip()}")
    pooled = {s: Summary.of(rs) for s, rs in results.items()}
    for side in sides:
        print(pooled[side].row(f"pooled {side}", setup.clients * args.rounds))
    busy = [f"{side} {i + 1}" for side, rs in results.items() for i, r in enumerate(rs) if r["others_cores"] > QUIET_CORES]
    if busy:
        print(
            f"NOTE: other processes kept > {QUIET_CORES} cores busy during round(s) {', '.join(busy)}: their p99 is suspect; rerun on a quiet machine"
        )
    lost = any(p.complete != setup.clients * args.rounds or p.disorder for p in pooled.values())
    if lost:
        print("WARNING: some client missed tokens, the end of the show, or got events out of order")
    if len(sides) == 2:
        s, b = pooled["studio"], pooled["bare"]
        rounds = [(Summary.of([x]), Summary.of([y])) for x, y in zip(results["studio"], results["bare"])]

        def ratios(q: float, field: str = "lat") -> tuple[float, list[float]]:
            per_round = [pct(getattr(x, field), q) / pct(getattr(y, field), q) for x, y in rounds]
            return pct(getattr(s, field), q) / pct(getattr(b, field), q), per_round

        for q in (50, 99):
            pooled_ratio, per_round = ratios(q)
            verdict = ""
            if q == 99:
                verdict = f"  (target <= {TARGET_P99_RATIO})  {'PASS' if pooled_ratio <= TARGET_P99_RATIO else 'FAIL'}"
                verdict += " (unreliable: disturbed rounds)" if busy else ""
            print(
                f"relay p{q} ratio (studio/bare): {pooled_ratio:.2f}{verdict}   "
                f"[per round {', '.join(f'{x:.2f}' for x in per_round)}; median {statistics.median(per_round):.2f}]"
            )
        if busy:
            clean = {side: [r for r in rs if r["others_cores"] <= QUIET_CORES] for side, rs in results.items()}
            if clean["studio"] and clean["bare"]:
                cs, cb = Summary.of(clean["studio"]), Summary.of(clean["bare"])
                print(
                    f"undisturbed rounds only ({len(clean['studio'])} studio, {len(clean['bare'])} bare): "
                    f"p50 {pct(cs.lat, 50):.2f} / {pct(cb.lat, 50):.2f} ms = {pct(cs.lat, 50) / pct(cb.lat, 50):.2f}, "
                    f"p99 {pct(cs.lat, 99):.2f} / {pct(cb.lat, 99):.2f} ms = {pct(cs.lat, 99) / pct(cb.lat, 99):.2f}"
                )
            else:
                print("undisturbed rounds only: not enough of them on both sides")
        if setup.pacer == "loop":
            print(f"from scheduled emit: p50 ratio {ratios(50, 'sched')[0]:.2f}, p99 ratio {ratios(99, 'sched')[0]:.2f}")
        redis_cpu = sum(r["redis_cpu_s"] for r in results["studio"]) / args.rounds
        sends = setup.clients * setup.streams * setup.tokens
        print(
            f"server cpu per round: studio {s.cpu_server / args.rounds:.2f} s (of which redis-server {redis_cpu:.2f} s), "
            f"bare {b.cpu_server / args.rounds:.2f} s; per token delivered to one client: "
            f"studio {s.cpu_server / args.rounds / sends * 1e6:.0f} us, bare {b.cpu_server / args.rounds / sends * 1e6:.0f} us"
        )
    if setup.trace and "studio" in results:
        print_trace(results["studio"])
    if setup.profile and "studio" in results:
        print("\ncProfile of the studio process, last round (sorted by own time):")
        print(results["studio"][-1]["profile"])
    return 1 if lost else 0


def print_trace(rounds: list[dict]) -> None:
    """Where a token's time goes inside the studio, from the ``--trace`` probes."""
    legs: dict[str, list[int]] = {
        k: [] for k in ("append start", "append done", "XREAD (program hub)", "send start", "send done", "client recv")
    }
    fan: list[int] = []
    for r in rounds:
        t = r["trace"]
        for emit, (a0, a1) in t["append"].items():
            e = int(emit.split()[1])
            legs["append start"].append((a0 - e) // 1000)
            legs["append done"].append((a1 - e) // 1000)
            if emit in t["tail"]:
                legs["XREAD (program hub)"].append((t["tail"][emit] - e) // 1000)
            sends = t["send"].get(emit, [])
            legs["send start"] += [(s0 - e) // 1000 for s0, _ in sends]
            legs["send done"] += [(s1 - e) // 1000 for _, s1 in sends]
            if sends:
                fan.append((max(s1 for _, s1 in sends) - min(s0 for s0, _ in sends)) // 1000)
        for c in r["clients"]:
            if c:
                legs["client recv"] += c["lat_us"]
    print("\nstudio trace: ms from engine emit to each point (per token; sends and recv per token x client)")
    print(f"{'':<22}{'n':>8}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    for name, values in [*legs.items(), ("fan-out span (1st send start .. last send done)", fan)]:
        values.sort()
        label = name if len(name) < 22 else "fan-out span"
        print(
            f"{label:<22}{len(values):>8}{pct(values, 50):>8.2f}{pct(values, 90):>8.2f}{pct(values, 99):>8.2f}{(values[-1] / 1000 if values else float('nan')):>8.2f}"
        )
    print("  fan-out span: per token, first subscriber's send start to the last one's send done")


if __name__ == "__main__":
    sys.exit(main())
