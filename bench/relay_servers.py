"""The two relays bench/relay.py compares, each round in a process of its own: the real studio
(``studio_server``, with ``--trace``/``--profile`` probes) and a bare ``websockets`` broadcast
server (``bare_server``), both fed by the same ``PacedEngine``; and ``Setup``, a round's settings."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from kit import quiet_sigterm, serve_studio
from relay_engine import STAMP, PacedEngine

from core.events import frame_events
from engine_pool.base import GenerationRequest

TOKEN_TYPE = '"type":"answer.token"'  # as the studio's compact JSON spells it (answer.finished repeats the stamps)
CONTESTANT = re.compile(r'"contestant":"([^"]+)"')


def _trace_key(text: str) -> str | None:
    """Streams stepped together share a stamp: key a token by contestant and stamp."""
    if TOKEN_TYPE in text and (stamp := STAMP.search(text)) and (who := CONTESTANT.search(text)):
        return f"{who[1]} {stamp[1]}"
    return None


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


def loop_factory(loop: str):
    """The event loop uvicorn would use for ``--loop``, so every process here runs the same kind."""
    from uvicorn.config import LOOP_FACTORIES
    from uvicorn.importer import import_from_string

    return import_from_string(LOOP_FACTORIES[loop])(use_subprocess=False)


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
    from engine_pool.pool import EnginePool, Route
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
    serve_studio(studio, port, setup.ws, ws_ping_interval=None, loop=setup.loop)  # SIGTERM: stops the embedded Redis too


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
    quiet_sigterm()
    try:
        with asyncio.Runner(loop_factory=loop_factory(setup.loop)) as runner:
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
