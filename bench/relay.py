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
The engine is in ``relay_engine.py``, the two relays in ``relay_servers.py``, the clients in
``relay_clients.py``; what the benchmarks share (child processes, CPU readings, percentiles) in
``kit.py``.

    .venv/bin/python bench/relay.py            # 100 clients, 2 streams x 20 tok/s, 3 x 10 s rounds each
    .venv/bin/python bench/relay.py --help
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import kit  # noqa: E402  (bench/kit.py: what the benchmarks share; it puts the repository on sys.path)
from relay_clients import client_process  # noqa: E402  (the WebSocket clients' process)
from relay_engine import pacer_process  # noqa: E402  (the synthetic engine's clock)
from relay_servers import Setup, bare_server, loop_factory, studio_server  # noqa: E402  (the two relays)

TARGET_P99_RATIO = 1.2
QUIET_CORES = 0.25  # a round during which the rest of the machine used more is flagged as disturbed


# -- one round ---------------------------------------------------------------------------------------


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


def wait_for_quiet(max_wait_s: float, cores: float = QUIET_CORES) -> float:
    """Wait (up to max_wait_s) until the machine's other work is below ``cores``; returns the last reading."""
    deadline = time.monotonic() + max_wait_s
    while True:
        b0, t0 = kit.host_busy_s(), time.monotonic()
        time.sleep(1.0)
        busy = (kit.host_busy_s() - b0) / (time.monotonic() - t0)
        if busy < cores or time.monotonic() >= deadline:
            return busy


def run_round(side: str, setup: Setup) -> dict:
    ctx = mp.get_context("spawn")
    port = kit.free_port()
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
        kit.wait_for_port(port, server)
        connected = ctx.Event()
        out_path = os.path.join(workdir, "clients.json")
        timeout_s = setup.seconds + 30
        clients = ctx.Process(target=client_process, args=(setup, url, out_path, connected, timeout_s), name="clients", daemon=True)
        clients.start()
        if not connected.wait(60):
            raise RuntimeError("clients did not connect within 60s")
        time.sleep(0.5)  # let the accept/handshake work settle before the first token
        (cpu0, kids0), host0, t0 = tree_cpu_s(server.pid), kit.host_busy_s(), time.monotonic()
        if side == "studio":
            kit.director(port, token, "start", {}, command_id="relay-bench-start")
        else:
            with kit.direct_opener().open(f"http://127.0.0.1:{port}/start", timeout=30) as response:
                if response.status != 200:
                    raise RuntimeError(f"start: HTTP {response.status}: {response.read()!r}")
        clients.join(timeout_s + 30)
        (cpu1, kids1), host1, t1 = tree_cpu_s(server.pid), kit.host_busy_s(), time.monotonic()
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
                result["profile"] = kit.pstats_text(Path(workdir) / "studio.pstats", os.environ.get("RELAY_PROFILE_SORT", "tottime"))
        return result
    finally:
        if clients is not None and clients.is_alive():
            clients.terminate()
            clients.join(10)
        kit.stop_process(server)  # SIGTERM: uvicorn shuts the studio (and its Redis) down cleanly
        if pacer is not None and pacer.is_alive():
            pacer.terminate()
            pacer.join(10)
        shutil.rmtree(workdir, ignore_errors=True)


# -- report -------------------------------------------------------------------------------------------


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
            f"{self.disorder:>5} {ok:<5}{kit.pct(self.lat, 50):>7.2f}{kit.pct(self.lat, 99):>8.2f}{worst:>8.2f}"
            f"{kit.pct(self.sched, 50):>8.2f}{kit.pct(self.sched, 99):>8.2f}{self.cpu_server:>8.2f}{self.cpu_clients:>8.2f}{self.others:>8.2f}"
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
    probe = loop_factory(args.loop)()
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
            per_round = [kit.pct(getattr(x, field), q) / kit.pct(getattr(y, field), q) for x, y in rounds]
            return kit.pct(getattr(s, field), q) / kit.pct(getattr(b, field), q), per_round

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
                    f"p50 {kit.pct(cs.lat, 50):.2f} / {kit.pct(cb.lat, 50):.2f} ms = {kit.pct(cs.lat, 50) / kit.pct(cb.lat, 50):.2f}, "
                    f"p99 {kit.pct(cs.lat, 99):.2f} / {kit.pct(cb.lat, 99):.2f} ms = {kit.pct(cs.lat, 99) / kit.pct(cb.lat, 99):.2f}"
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
            f"{label:<22}{len(values):>8}{kit.pct(values, 50):>8.2f}{kit.pct(values, 90):>8.2f}{kit.pct(values, 99):>8.2f}{(values[-1] / 1000 if values else float('nan')):>8.2f}"
        )
    print("  fan-out span: per token, first subscriber's send start to the last one's send done")


if __name__ == "__main__":
    sys.exit(main())
