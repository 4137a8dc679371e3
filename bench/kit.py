"""What the benchmarks here share (relay.py, votes.py, audience_fanout.py).

- the repository on ``sys.path`` (importing this module puts it there);
- child processes: SIGTERM as KeyboardInterrupt, a free port, waiting for a port or for the
  studio's ``/healthz``, stopping a child (SIGTERM, then SIGKILL);
- the studio under uvicorn with the production ``server_config`` (``serve_studio``), and the
  engineless one votes.py and audience_fanout.py run on a copy of the demo script
  (``studio_server``); the director's commands over loopback HTTP; the studio's signing secret;
- CPU of a process and of the whole machine, nearest-rank percentiles, cProfile output;
- for many sockets: the open-files limit raised, one loopback source address per connection, the
  event loop (uvloop when installed).

The scripts import it as ``kit`` (their own folder is on ``sys.path`` when they run, and so in the
processes they spawn).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing as mp
import os
import resource
import secrets
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# -- child processes ---------------------------------------------------------------------------------


def interrupt(*_) -> None:
    raise KeyboardInterrupt


def quiet_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt: a child stops where it is, without a traceback of its own."""
    signal.signal(signal.SIGTERM, interrupt)


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
                raise RuntimeError(f"{proc.name} process exited ({proc.exitcode}) before listening") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not listen on {port} within {timeout_s}s") from None
            time.sleep(0.05)


def wait_for_studio(port: int, proc: mp.Process, timeout_s: float = 60) -> None:
    """Listening and answering (the lifespan, Redis included, is up)."""
    wait_for_port(port, proc, timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with direct_opener().open(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if not proc.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("studio did not answer /healthz")
        time.sleep(0.1)


def stop_process(proc: mp.Process | None, grace_s: float = 20) -> None:
    if proc is None or not proc.is_alive():
        return
    proc.terminate()  # SIGTERM: uvicorn shuts the studio (and its Redis) down cleanly
    proc.join(grace_s)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


# -- the studio --------------------------------------------------------------------------------------


def serve_studio(studio, port: int, ws: str = "studio", **settings) -> None:
    """Serve ``studio`` on 127.0.0.1 under uvicorn until SIGTERM (a graceful shutdown that stops
    the embedded Redis). ``ws`` "studio": server_config's own WebSocket protocol, else uvicorn's
    ``--ws``; ``settings``: more of uvicorn's settings over server_config's."""
    import uvicorn

    from studio.server.app import create_app, server_config

    config = server_config(create_app(studio), "127.0.0.1", port, **settings, **({} if ws == "studio" else {"ws": ws}))
    uvicorn.Server(config).run()


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
    from engine_pool.pool import EnginePool
    from studio.server.runtime import Studio
    from studio.show.rundown import load_script

    os.environ["GAVEL_DIRECTOR_TOKEN"] = token
    work = Path(workdir)
    script = load_script(write_script(work, audience))
    studio = Studio(script, work / "data", pool=EnginePool({}, {}))  # = tests.studio_harness.engineless_pool()
    serve_studio(studio, port, ws, backlog=4096)


def direct_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy


def director(port: int, token: str, command: str, args: dict, timeout_s: float = 30, command_id: str | None = None) -> dict:
    """``POST /api/command`` as the director; raises unless the studio answers ok."""
    command_id = command_id or f"bench-{command}-{secrets.token_hex(4)}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/command",
        data=json.dumps({"command": command, "command_id": command_id, "args": args}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with direct_opener().open(request, timeout=timeout_s) as response:
            result = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{command}: HTTP {exc.code}: {exc.read()!r}") from None
    if not result.get("ok"):
        raise RuntimeError(f"{command} refused: {result}")
    return result


def signing_secret(workdir: str) -> str:
    return json.loads((Path(workdir) / "data" / "secrets.json").read_text())["signing"]


# -- measuring ---------------------------------------------------------------------------------------


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
    """CPU seconds the whole machine has been busy (or stolen by the hypervisor)."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


def pct(sorted_values: list, q: float) -> float:
    """Nearest-rank percentile of µs values, in ms."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k] / 1000


def pstats_text(path: Path | str, sort: str = "tottime", top: int = 30) -> str:
    """The top functions of a cProfile dump."""
    import io
    import pstats

    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats(sort).print_stats(top)
    return out.getvalue()


# -- many sockets ------------------------------------------------------------------------------------


def raise_nofile() -> int:
    """RLIMIT_NOFILE soft limit up to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def source_ip(proc_index: int, conn_index: int, base: int = 10) -> str:
    """A distinct loopback source address per connection (Linux answers for all of 127/8)."""
    return f"127.{base + proc_index}.{conn_index // 250}.{conn_index % 250 + 1}"


def new_loop():
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()
