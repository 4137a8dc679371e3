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
the target line (>= 20,000 votes/s per process). The load generators and the plan are in
``votes_clients.py``; the studio launcher and what the other benchmarks share too, in ``kit.py``.

    .venv/bin/python bench/votes.py                    # 100,000 requests, 80,000 devices, 200 connections
    .venv/bin/python bench/votes.py --votes 2000 --connections 50    # a quick check
    .venv/bin/python bench/votes.py --help
"""

from __future__ import annotations

import argparse
import json
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
from votes_clients import POLL, incr_baseline, loadgen_process, make_plan  # noqa: E402  (the load, in its own processes)

TARGET_VOTES_PER_S = 20_000
SHOW_ID = "demo"  # show_scripts/rehearsal.yaml's show id
RAISED = 1_000_000  # audience limits in the bench's script: high enough never to throttle
AUDIENCE_RAISED = {
    "votes_per_s_per_device": RAISED,
    "burst_per_device": RAISED,
    "votes_per_s_per_ip": RAISED,
    "burst_per_ip": RAISED,
    "devices_per_s_per_ip": RAISED,
    "device_burst_per_ip": RAISED,
    "votes_per_ip_per_poll": RAISED,  # counted per network in the vote script (that cost is measured), never reached
    "devices_per_min_per_ip": RAISED,
}


def redis_pid(studio_pid: int) -> int | None:
    import psutil

    try:
        for child in psutil.Process(studio_pid).children(recursive=True):
            if "redis-server" in " ".join(child.cmdline()):
                return child.pid
    except psutil.NoSuchProcess:
        pass
    return None


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
    os.kill(pid, signal.SIGUSR2)
    done = Path(workdir, "studio.pstats.done")
    deadline = time.monotonic() + 30
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return kit.pstats_text(os.path.join(workdir, "studio.pstats"), "tottime", top)


# -- the run -----------------------------------------------------------------------------------------


def run(args) -> int:
    ctx = mp.get_context("spawn")
    workdir = tempfile.mkdtemp(prefix="gavel-votes-")
    port = kit.free_port()
    token = secrets.token_urlsafe(16)
    choices = [f"c{k}" for k in range(1, args.choices + 1)]
    studio = None
    loadgens: list[mp.Process] = []
    try:
        studio = ctx.Process(
            target=kit.studio_server, args=(port, workdir, token, AUDIENCE_RAISED, "studio", 0, args.profile), name="studio", daemon=True
        )
        studio.start()
        kit.wait_for_studio(port, studio)
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

        kit.director(port, token, "poll_open", {"poll": POLL, "title": "Bench poll", "choices": choices, "allow_change": False})

        from studio.server.device_tokens import DeviceTokens

        t0 = time.monotonic()
        signer = DeviceTokens(kit.signing_secret(workdir))
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
        s0, r0, h0, w0 = kit.cpu_s(studio.pid), kit.cpu_s(rpid), kit.host_busy_s(), time.monotonic()
        go.set()
        for proc in loadgens:
            proc.join(args.duration_limit + 90)
            if proc.exitcode != 0:
                raise RuntimeError(f"{proc.name} failed (exit code {proc.exitcode})")
        s1, r1, h1, w1 = kit.cpu_s(studio.pid), kit.cpu_s(rpid), kit.host_busy_s(), time.monotonic()
        profile_text = _profile(studio.pid, workdir) if args.profile else ""
        results = [json.loads(Path(o).read_text()) for o in outs]

        kit.director(port, token, "poll_close", {"poll": POLL})
        facts = redis_facts(sock_path)
    finally:
        for proc in loadgens:
            kit.stop_process(proc, 5)
        kit.stop_process(studio)
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
    print(f"request latency: p50 {kit.pct(lat, 50):.2f} ms, p99 {kit.pct(lat, 99):.2f} ms, max {kit.pct(lat, 100):.2f} ms")
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
