"""Fault: 1,000 random disconnects of overlay and phone sockets while a stage runs.

A real studio process streams a long, deterministic stage (the replay engine's recorded tokens)
while viewers vote in a revealed poll, so every channel moves: program and preview carry every
token, the audience channel the live tallies. Two dozen clients — graphics on program and
preview, phones on audience — drop their socket at random moments (a clean close or a TCP abort,
sometimes after handling only part of a frame) and reconnect with their last seq, as
overlays/gavel-client.js does. Each must end with exactly the events an uninterrupted client on
its channel got: same seqs, same order, same bodies, nothing twice, no gap, no snapshot.
"""

from __future__ import annotations

import asyncio
import random
import time

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.events import frame_events

from .fault_kit import StudioProcess, write_replay_show

DISCONNECTS = 1000
CLIENTS_PER_CHANNEL = 8


def _terminal(channel: str):
    if channel == "audience":  # phones see no show status: the poll closing (after the show) ends it
        return lambda e: e["type"] == "poll.closed"
    return lambda e: e["type"] == "show.status" and e["data"]["status"] == "completed"


class Drill:
    """Shared counters: the disconnect budget, and when the stage ended (seen by the reference)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.disconnects = 0
        self.by_channel: dict[str, int] = {}
        self.budget_spent_at: float | None = None
        self.stage_ended_at: float | None = None

    def take_one(self, channel: str) -> bool:
        if self.disconnects >= DISCONNECTS:
            return False
        self.disconnects += 1
        self.by_channel[channel] = self.by_channel.get(channel, 0) + 1
        if self.disconnects == DISCONNECTS:
            self.budget_spent_at = time.monotonic()
        return True


async def follow(studio: StudioProcess, channel: str, drill: Drill | None, on_event=None) -> list[dict]:
    """Follow ``channel`` to its terminal event; with a ``drill``, drop the socket at random."""
    token = "" if channel == "audience" else f"&token={studio.graphics}"
    done, events = _terminal(channel), []
    while True:
        since = events[-1]["seq"] if events else 0
        async with connect(f"{studio.ws_base}/ws/{channel}?since={since}{token}", open_timeout=30, max_size=None) as ws:
            drop_at = time.monotonic() + drill.rng.uniform(0.005, 0.12) if drill else None
            try:
                while True:
                    wait = None if drop_at is None else max(0.0, drop_at - time.monotonic())
                    try:
                        raw = await asyncio.wait_for(ws.recv(), wait)
                    except TimeoutError:
                        raw = None
                    if raw is not None:
                        batch = frame_events(raw)
                        # Sometimes the client dies having handled only part of a frame.
                        partial = drill is not None and len(batch) > 1 and drill.rng.random() < 0.3 and drill.take_one(channel)
                        keep = drill.rng.randint(1, len(batch) - 1) if partial else len(batch)
                        for event in batch[:keep]:
                            events.append(event)
                            if on_event is not None:
                                on_event(event)
                            if done(event):
                                return events
                        if partial:
                            break  # the rest of the frame comes again after the reconnect
                        continue
                    if drill is None or not drill.take_one(channel):
                        drop_at = None
                        continue
                    break
            except ConnectionClosed:
                pass
            if drill.rng.random() < 0.5:
                ws.transport.abort()  # a vanished phone: no close handshake at all
            # otherwise leaving the block closes the socket cleanly


async def vote_until(studio: StudioProcess, stop: asyncio.Event, devices: int = 30) -> int:
    """Phones changing their minds in poll p1 until ``stop``: tallies flow on every channel."""
    accepted = 0
    async with httpx.AsyncClient(base_url=studio.base, timeout=10) as client:
        tokens = [(await client.post("/api/audience/device")).json()["token"] for _ in range(devices)]
        rng = random.Random(7)
        while not stop.is_set():
            token = rng.choice(tokens)
            reply = await client.post("/api/polls/p1/vote", json={"choice": rng.choice("ab")}, headers={"Authorization": f"Bearer {token}"})
            accepted += reply.status_code == 200
            await asyncio.sleep(0.02)
    return accepted


async def drill_show(studio: StudioProcess) -> tuple[dict[str, list[dict]], dict[str, list[list[dict]]], Drill]:
    drill = Drill(seed=2026)

    def clock_the_stage(event: dict) -> None:
        if event["type"] == "stage.ended":
            drill.stage_ended_at = time.monotonic()

    channels = ("program", "preview", "audience")
    references = {c: asyncio.create_task(follow(studio, c, None, clock_the_stage if c == "program" else None)) for c in channels}
    faulty = {c: [asyncio.create_task(follow(studio, c, drill)) for _ in range(CLIENTS_PER_CHANNEL)] for c in channels}
    stop_voting = asyncio.Event()
    voting = asyncio.create_task(vote_until(studio, stop_voting))
    await asyncio.sleep(0.5)
    assert (await asyncio.to_thread(studio.command, "start")).json()["ok"]
    await references["program"]
    stop_voting.set()
    assert await voting > 0
    closed = await asyncio.to_thread(studio.command, "poll_close", {"poll": "p1"})
    assert closed.json()["ok"], closed.text
    results = {c: await references[c] for c in channels}
    return results, {c: [await t for t in faulty[c]] for c in channels}, drill


def test_1000_random_disconnects_during_a_stage_lose_and_repeat_nothing(tmp_path):
    script = write_replay_show(tmp_path / "show", tokens=120, tokens_per_s=80, questions=5, stages=1)
    studio = StudioProcess(script, tmp_path / "data").start()
    try:
        opened = studio.command("poll_open", {"poll": "p1", "title": "Who is faster?", "choices": ["a", "b"], "allow_change": True})
        assert opened.json()["ok"], opened.text
        assert studio.command("poll_reveal", {"poll": "p1"}).json()["ok"]
        started = time.monotonic()
        references, faulty, drill = asyncio.run(drill_show(studio))
        elapsed = time.monotonic() - started
    finally:
        studio.stop()

    assert drill.disconnects == DISCONNECTS
    # Every disconnect happened while the stage was still running.
    assert drill.budget_spent_at is not None and drill.stage_ended_at is not None
    assert drill.budget_spent_at < drill.stage_ended_at
    for channel, reference in references.items():
        seqs = [e["seq"] for e in reference]
        assert seqs == list(range(1, len(seqs) + 1)), f"the reference on {channel} has gaps"
        assert not [e for e in reference if e["type"] == "snapshot"]
        for events in faulty[channel]:
            got = [e["seq"] for e in events]
            assert got == seqs[: len(got)], f"a {channel} client got seqs out of order: {_first_difference(got, seqs)}"
            assert events == reference, f"a {channel} client diverged after reconnecting"
    tokens = sum(e["type"] == "answer.token" for e in references["program"])
    tallies = sum(e["type"] == "poll.tally" for e in references["audience"])
    assert tokens >= 1000 and tallies >= 5
    print(
        f"\n{drill.disconnects} disconnects ({drill.by_channel}) across {3 * CLIENTS_PER_CHANNEL} clients, all "
        f"{drill.stage_ended_at - drill.budget_spent_at:.1f} s before the stage ended (drill {elapsed:.1f} s); program {len(references['program'])} events ({tokens} tokens), "
        f"preview {len(references['preview'])}, audience {len(references['audience'])} ({tallies} tallies): "
        f"every client identical to the uninterrupted one"
    )


def _first_difference(got: list[int], want: list[int]) -> str:
    at = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
    return f"at #{at}: got {got[max(0, at - 3) : at + 3]}, want {want[max(0, at - 3) : at + 3]}"
