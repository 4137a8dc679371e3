"""Viewers' sockets on one studio process: 4 Hz poll tallies to N phones, latency and memory.

One studio (uvicorn on 127.0.0.1, its own process, production ``server_config``, engineless pool,
embedded Redis in a fresh data dir, the demo script with its default ``audience:`` settings:
tally_hz 4) per size. The director opens a poll and reveals it, so ``poll.tally`` goes to the
``audience`` channel; a vote driver (a thread of this process, keep-alive HTTP, device tokens
signed with the studio's secret) casts ``--vote-rate`` votes/s so the counts move every tick.

A load generator process (``--client-procs``; it and the vote driver are in
``audience_fanout_clients.py``) holds the sockets: raw asyncio WebSocket clients on
``/ws/audience?since=0`` (what a phone's GavelClient opens first), each bound to its own loopback
source address; they answer pings, so the server's 10 s keep-alive pings stay on as in production.
Delivery latency per socket per tally = client receive time (``time.time()`` when the bytes
arrive) - the event's ``ts`` (the studio's wall clock when it made the tally; one clock, one
machine), over every socket and every tally of ``--seconds`` s; p50/p99/max. Every socket must get
every tally published meanwhile (``missed`` counts the ones it did not).

Memory per connection: the studio process's RSS (``/proc/<pid>/status`` VmRSS; its private
anonymous memory from ``smaps_rollup`` too; its redis-server child not included) with N sockets connected minus its RSS
with none, after a warm-up (``--warmup`` sockets connected, fed tallies, closed), / N; measured
right after connecting and at the end of the tally phase, the larger counts. ``--trace-memory F``
runs the studio under tracemalloc (F frames) and prints where the connected sockets' memory was
allocated (snapshot diff, by file:line); it slows the studio down, so its latency is not a score.

Targets: p99 <= 150 ms, <= 20 KiB per connection.

    .venv/bin/python bench/audience_fanout.py                            # 1,000 then 10,000 sockets
    .venv/bin/python bench/audience_fanout.py --sockets 200 --seconds 5  # a quick check
    .venv/bin/python bench/audience_fanout.py --sockets 500 --trace-memory 1
    .venv/bin/python bench/audience_fanout.py --help
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import kit  # noqa: E402  (bench/kit.py: what the benchmarks share; it puts the repository on sys.path)
from audience_fanout_clients import POLL, VoteDriver, client_process  # noqa: E402  (the viewers' sockets and the votes)

TARGET_P99_MS = 150
TARGET_KIB = 20


# -- memory ---------------------------------------------------------------------------------------------


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss"] = int(line.split()[1])
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Anonymous:"):
                out["anon"] = int(line.split()[1])
    except OSError:
        out["anon"] = out["rss"]
    return out


def snapshot(pid: int, workdir: str, n: int, timeout_s: float = 120):
    import tracemalloc

    os.kill(pid, signal.SIGUSR1)
    done = Path(workdir, f"mem-{n}.done")
    deadline = time.monotonic() + timeout_s
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the studio did not write its tracemalloc snapshot")
        time.sleep(0.1)
    return tracemalloc.Snapshot.load(str(Path(workdir, f"mem-{n}.snap")))


def _short(name: str) -> str:
    for marker in ("site-packages/", str(kit.REPO) + "/", "/lib/python3"):
        if marker in name:
            return name.split(marker, 1)[1]
    return name


def _by_caller(snap) -> dict:
    """Bytes per innermost frame that is not the standard library (who asked for the memory)."""
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    out: dict = {}
    for trace in snap.traces:
        frames = list(trace.traceback)  # oldest first
        where = frames[-1]
        for frame in reversed(frames):
            if not frame.filename.startswith(stdlib) or "site-packages" in frame.filename:
                if not frame.filename.startswith("<"):
                    where = frame
                    break
        key = (where.filename, where.lineno)
        out[key] = out.get(key, 0) + trace.size
    return out


def print_memory_trace(before, after, sockets: int, top: int) -> None:
    import tracemalloc

    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(f"\ntracemalloc: Python heap grew {total / 1024:,.0f} KiB with {sockets} sockets = {total / 1024 / sockets:.1f} KiB per socket")
    print(f"{'KiB/socket':>11}{'blocks/socket':>14}  where (by file:line)")
    for stat in after.compare_to(before, "lineno")[:top]:
        frame = stat.traceback[0]
        print(f"{stat.size_diff / 1024 / sockets:>11.2f}{stat.count_diff / sockets:>14.1f}  {_short(frame.filename)}:{frame.lineno}")
    if len(after.traces) and len(after.traces[0].traceback) > 1:
        print(f"{'KiB/socket':>11}  by the innermost caller outside the standard library (with --trace-memory > 1)")
        mine, theirs = _by_caller(after), _by_caller(before)
        diff = sorted(((size - theirs.get(key, 0), key) for key, size in mine.items()), reverse=True)
        for size, (filename, lineno) in diff[:top]:
            print(f"{size / 1024 / sockets:>11.2f}  {_short(filename)}:{lineno}")
    print(f"{'KiB/socket':>11}  by file")
    for stat in after.compare_to(before, "filename")[:12]:
        print(f"{stat.size_diff / 1024 / sockets:>11.2f}  {_short(stat.traceback[0].filename)}")


# -- one size -------------------------------------------------------------------------------------------


def run_size(n: int, args) -> dict:
    ctx = mp.get_context("spawn")
    workdir = tempfile.mkdtemp(prefix="gavel-fanout-")
    port = kit.free_port()
    token = secrets.token_urlsafe(16)
    studio = driver = None
    clients: list[tuple[mp.Process, object]] = []
    try:
        studio = ctx.Process(
            # The vote driver stands in for phones on many networks from one address: no per-network cap.
            target=kit.studio_server,
            args=(port, workdir, token, {"votes_per_ip_per_poll": 0}, args.ws, args.trace_memory),
            name="studio",
            daemon=True,
        )
        studio.start()
        kit.wait_for_studio(port, studio)
        choices = ["a", "b", "c"]
        kit.director(port, token, "poll_open", {"poll": POLL, "title": "Fan-out bench", "choices": choices})
        kit.director(port, token, "poll_reveal", {"poll": POLL})
        driver = VoteDriver(port, kit.signing_secret(workdir), args.vote_rate, choices)
        driver.start()

        per_proc = [n // args.client_procs + (i < n % args.client_procs) for i in range(args.client_procs)]
        timeout_s = max(120.0, args.seconds + 120)
        for i in range(args.client_procs):
            ours, theirs = ctx.Pipe()
            p = ctx.Process(
                target=client_process,
                args=(i, port, theirs, timeout_s, max(1, args.connect_concurrency // args.client_procs)),
                name=f"clients{i}",
                daemon=True,
            )
            p.start()
            theirs.close()
            clients.append((p, ours))

        def ask(command: str, arg, counts: list[int] | None = None, wait_s: float = 300) -> list:
            for (_proc, c), k in zip(clients, counts or [arg] * len(clients)):
                c.send((command, k))
            replies = []
            for p, c in clients:
                if not c.poll(wait_s):
                    raise RuntimeError(f"{p.name}: no answer to {command} within {wait_s} s")
                kind, payload = c.recv()
                if kind == "error":
                    raise RuntimeError(f"{p.name}: {payload}")
                replies.append(payload)
            return replies

        warm = min(args.warmup, n)
        if warm:
            ask("warm", None, [warm // args.client_procs + (i < warm % args.client_procs) for i in range(args.client_procs)])
        time.sleep(args.settle)
        mem0 = memory_kib(studio.pid)
        snap0 = snapshot(studio.pid, workdir, 0) if args.trace_memory else None
        connected = ask("connect", None, per_proc)
        failed = sum(r["failed"] for r in connected)
        connect_s = max(r["seconds"] for r in connected)
        time.sleep(args.settle)
        mem1 = memory_kib(studio.pid)
        snap1 = snapshot(studio.pid, workdir, 1) if args.trace_memory else None
        if snap1 is not None:
            mem1 = memory_kib(studio.pid)  # (the snapshot itself takes memory in the studio)

        s0, h0, w0 = kit.cpu_s(studio.pid), kit.host_busy_s(), time.monotonic()
        ask("measure", time.time())
        time.sleep(args.seconds)
        s1, h1, w1 = kit.cpu_s(studio.pid), kit.host_busy_s(), time.monotonic()
        mem2 = memory_kib(studio.pid)
        stopped = ask("stop", None, wait_s=120)
        driver.stop.set()
        driver.join(15)
    finally:
        if driver is not None:
            driver.stop.set()
        for p, _conn in clients:
            p.join(5)
            kit.stop_process(p, 5)
        kit.stop_process(studio)
        shutil.rmtree(workdir, ignore_errors=True)

    lat = sorted(x for r in stopped for x in r["lat_us"])
    published = set()
    for r in stopped:
        published |= set(r["tally_seqs"])
    got = [g for r in stopped for g in r["got"]]
    missed = sum(len(published) - g for g in got)
    client_cpu = sum(r["cpu_s"] for r in stopped)
    wall = w1 - w0
    grown = max(mem1["rss"], mem2["rss"]) - mem0["rss"]
    connected_n = n - failed
    result = {
        "n": n,
        "failed": failed,
        "connect_s": connect_s,
        "lat": lat,
        "tallies": len(published),
        "min_got": min(got, default=0),
        "missed": missed,
        "alive": sum(r["alive"] for r in stopped),
        "closed_by_server": sum(r["closed_by_server"] for r in stopped),
        "mem0": mem0,
        "mem1": mem1,
        "mem2": mem2,
        "kib_per_conn": grown / max(1, connected_n),
        "anon_per_conn": (max(mem1["anon"], mem2["anon"]) - mem0["anon"]) / max(1, connected_n),
        "studio_cores": (s1 - s0) / wall,
        "client_cores": client_cpu / wall,
        "others": max(0.0, (h1 - h0) - (s1 - s0) - client_cpu) / wall,
        "votes": (driver.sent, driver.accepted, driver.errors),
    }
    if args.trace_memory:
        print_memory_trace(snap0, snap1, connected_n, args.trace_top)
    return result


def report(r: dict, args) -> bool:
    n, lat = r["n"], r["lat"]
    p99 = kit.pct(lat, 99)
    print(
        f"\n{n:,} sockets: connected {n - r['failed']:,} in {r['connect_s']:.1f} s ({r['failed']} failed); "
        f"{r['tallies']} tallies published in {args.seconds:g} s, every socket got >= {r['min_got']}, {r['missed']} missed in all; "
        f"{r['alive']:,} still open at the end, {r['closed_by_server']} closed by the studio; votes driven {r['votes'][0]} ({r['votes'][2]} errors)"
    )
    print(
        f"  delivery latency (client receive - tally ts): samples {len(lat):,}, p50 {kit.pct(lat, 50):.1f} ms, p99 {p99:.1f} ms, max {kit.pct(lat, 100):.1f} ms"
    )
    m0, m1, m2 = r["mem0"], r["mem1"], r["mem2"]
    print(
        f"  studio RSS: {m0['rss'] / 1024:.1f} MiB with 0 sockets (after warm-up), {m1['rss'] / 1024:.1f} MiB connected, "
        f"{m2['rss'] / 1024:.1f} MiB after the tallies -> {r['kib_per_conn']:.1f} KiB per connection (anonymous memory only: {r['anon_per_conn']:.1f})"
    )
    print(
        f"  cpu while measuring (cores): studio {r['studio_cores']:.2f}, clients {r['client_cores']:.2f}, rest of the machine {r['others']:.2f}"
    )
    complete = r["failed"] == 0 and r["missed"] == 0 and r["closed_by_server"] == 0 and r["tallies"] > 0
    lat_ok = p99 <= TARGET_P99_MS and complete
    mem_ok = r["kib_per_conn"] <= TARGET_KIB
    note = "" if complete else " (sockets failed, closed or missed tallies)"
    if args.trace_memory:
        note += " (under tracemalloc: latency not a score)"
    print(f"  target p99 <= {TARGET_P99_MS} ms: {'PASS' if lat_ok else 'FAIL'}{note}")
    print(f"  target <= {TARGET_KIB} KiB per connection: {'PASS' if mem_ok else 'FAIL'}")
    if r["others"] > 0.25:
        print(f"  NOTE: other processes kept {r['others']:.2f} cores busy meanwhile: rerun on a quiet machine")
    return complete


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Audience fan-out: N viewer sockets on one studio process receiving 4 Hz poll tallies; latency and memory per connection.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sockets", default="1000,10000", help="socket counts to run, comma-separated (a fresh studio each)")
    parser.add_argument("--seconds", type=float, default=20, help="tally phase per size (4 tallies/s)")
    parser.add_argument("--vote-rate", type=float, default=20, help="votes/s the driver casts (counts change every tick)")
    parser.add_argument("--client-procs", type=int, default=1, help="load-generator processes holding the sockets")
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=50,
        help="handshakes in flight at once (over ~100, each new socket's replay read can hit redis-py's 100-connection pool limit: the studio drops it)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="sockets connected and closed before the 0-socket memory reading (few: the memory they free is reused by the next sockets)",
    )
    parser.add_argument("--settle", type=float, default=2, help="seconds to wait before each memory reading")
    parser.add_argument(
        "--ws",
        default="studio",
        choices=["studio", "auto", "websockets", "websockets-sansio", "wsproto"],
        help="uvicorn's WebSocket implementation",
    )
    parser.add_argument(
        "--trace-memory",
        type=int,
        default=0,
        metavar="FRAMES",
        help="tracemalloc in the studio (FRAMES deep); print where the sockets' memory went",
    )
    parser.add_argument("--trace-top", type=int, default=25, help="lines of the tracemalloc diff to print")
    args = parser.parse_args(argv)
    try:
        sizes = [int(x) for x in args.sockets.split(",") if x.strip()]
    except ValueError:
        parser.error("--sockets: comma-separated integers")
    if not sizes or min(sizes) < 1 or args.client_procs < 1 or args.seconds <= 0 or args.vote_rate < 4:
        parser.error("--sockets >= 1, --client-procs >= 1, --seconds > 0, --vote-rate >= 4 (one vote per tick at least)")
    limit = kit.raise_nofile()
    if max(sizes) + 200 > limit:
        print(f"WARNING: RLIMIT_NOFILE hard limit is {limit}: the studio cannot hold {max(sizes):,} sockets plus its own files")
    print(
        f"audience fan-out bench: sockets {', '.join(f'{s:,}' for s in sizes)}; {args.seconds:g} s of tallies each at {args.vote_rate:g} votes/s; "
        f"studio: one uvicorn process (production server_config, ws={args.ws}, pings every 10 s answered by the clients), "
        f"default audience limits (tally_hz 4); {args.client_procs} client process(es), raw WebSocket clients on /ws/audience?since=0; "
        f"RLIMIT_NOFILE {limit}; cpus {os.cpu_count()}"
    )
    ok = True
    for n in sizes:
        ok &= report(run_size(n, args), args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
