"""Fault: Redis killed (SIGKILL) and restarted under a running studio, mid-stage, votes arriving.

Twice: with the embedded server (the studio notices it died and restarts it itself on the same
data dir) and with an external one given by ``REDIS_URL`` (the test restarts it on the same port
and data dir). Then:

- the studio reconnects by itself and the show completes: every answer streamed in full, each
  token once (appends that met the outage were retried, and a retry never appends twice);
- the director hears of it: ``GET /api/state`` says ``store.ok: false`` while it lasts, and a
  ``store.outage`` event with its duration is in the director's log once Redis is back;
- the director's panel turns red ("STORE (REDIS) UNREACHABLE"), locks its controls, and unlocks
  and logs the outage when Redis is back;
- nothing acknowledged is lost: the log from before the outage is intact, the program feed has no
  gap, and the tally equals the votes that got a 200 (a vote refused with 503 said so, and the
  phone's retry counts it once).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from playwright.sync_api import sync_playwright
from websockets.sync.client import connect

from core import events as ev
from core.events import frame_events
from store.embedded_redis import socket_path_for
from store.event_log import EventLog, EventLogUnavailable
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .fault_kit import ExternalRedis, write_replay_show
from .studio_harness import CHROMIUM_ARGS, LiveStudio

TOKENS = 80
DEVICES = 120


class Follower:
    """A feed client that reconnects with its last seq whatever happens, until the show ends."""

    def __init__(self, live: LiveStudio, channel: str):
        self.live, self.channel, self.events = live, channel, []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            since = self.events[-1]["seq"] if self.events else 0
            try:
                url = f"{self.live.ws_base}/ws/{self.channel}?since={since}&token={self.live.token_for(self.channel)}"
                with connect(url, open_timeout=10) as ws:
                    while True:
                        for event in frame_events(ws.recv(timeout=30)):
                            self.events.append(event)
                            if event["type"] == "show.status" and event["data"]["status"] == "completed":
                                return
            except Exception:
                time.sleep(0.2)


class Phones:
    """Each device votes once; a 503 (or no answer) is retried later, as the voting page does."""

    def __init__(self, live: LiveStudio):
        self.live = live
        self.tokens = [httpx.post(f"{live.base}/api/audience/device", timeout=10).json()["token"] for _ in range(DEVICES)]
        self.status: dict[int, int | None] = {}
        self.refusals: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def vote(self, i: int) -> None:
        try:
            reply = httpx.post(
                f"{self.live.base}/api/polls/p1/vote",
                json={"choice": "ab"[i % 2]},
                headers={"Authorization": f"Bearer {self.tokens[i]}"},
                timeout=10,
            )
        except httpx.TransportError:
            self.status[i] = None
            return
        self.status[i] = reply.status_code
        if reply.status_code == 503:
            self.refusals.append(reply.json()["error"])

    def _run(self) -> None:
        for i in range(DEVICES):
            self.vote(i)
            time.sleep(0.03)

    def retry_until_counted(self) -> None:
        self.thread.join(timeout=60)
        for i in [i for i, s in self.status.items() if s != 200]:
            self.vote(i)


@pytest.mark.parametrize("where", ["embedded", "external"])
def test_redis_killed_and_restarted_under_a_running_studio_loses_nothing_acknowledged(tmp_path, monkeypatch, where):
    external = None
    if where == "external":
        external = ExternalRedis(tmp_path / "external-redis")
        external.start()
        monkeypatch.setenv("REDIS_URL", external.url)
    script = write_replay_show(tmp_path / "show", tokens=TOKENS, tokens_per_s=40, questions=3, stages=1)
    studio = Studio(load_script(script), tmp_path / "data")
    saw_down = False
    try:
        with LiveStudio(studio) as live:
            live.wait_for_engines()
            assert live.post_command("poll_open", {"poll": "p1", "title": "Who?", "choices": ["a", "b"]}).json()["ok"]
            director, program = Follower(live, "director"), Follower(live, "program")
            phones = Phones(live)
            assert live.post_command("start").json()["ok"]
            while not (live.state()["closed_questions"].get("0") and any(a["tokens"] > 10 for a in live.state()["answers"].values())):
                time.sleep(0.05)
            before = list(director.events)
            down_at = time.monotonic()
            if external is None:
                os.kill(studio.redis_server.process.pid, signal.SIGKILL)
            else:
                external.kill()
            # While it is down: the panel's state says so; a command is refused with 503, saying why.
            refused = None
            while time.monotonic() - down_at < 2.0:
                state = live.state()
                saw_down |= state["store"]["ok"] is False
                if refused is None and where == "external" and saw_down:
                    refused = live.post_command("cue", {"graphic": "lower_third", "data": {"name": "x"}})
                if external is None and saw_down:
                    break
                time.sleep(0.05)
            if external is not None:
                external.start()  # same port, same data dir: the AOF comes back
            assert live.state()["store"]["ok"] is not None
            director.thread.join(timeout=90)
            program.thread.join(timeout=90)
            phones.retry_until_counted()
            assert live.post_command("poll_close", {"poll": "p1"}).json()["ok"]
            final = live.state()
            with connect(f"{live.ws_base}/ws/program?since=0&token={live.graphics_token}") as ws:
                replayed = []
                while not replayed or replayed[-1]["seq"] < program.events[-1]["seq"]:
                    replayed += frame_events(ws.recv(timeout=10))
            audit = redis.Redis.from_url(external.url if external else f"unix://{socket_path_for(studio.data_dir)}").xrange(
                "gavel:{faults}:votes"
            )
    finally:
        if external is not None:
            external.kill()

    outages = [e["data"] for e in director.events if e["type"] == "store.outage"]
    assert len(outages) == 1 and outages[0]["duration_s"] > 0, outages
    assert outages[0]["restarted"] is (where == "embedded")
    assert saw_down, "GET /api/state never said the store was down"
    if where == "external":
        assert refused is not None
        assert refused.status_code == 200 or (refused.status_code == 503 and "Redis" in refused.json()["error"]), refused.text
    # Nothing from before the outage went missing; the feeds have no gap and nothing twice.
    assert director.events[: len(before)] == before
    assert [e["seq"] for e in program.events] == list(range(1, len(program.events) + 1))
    assert replayed[: len(program.events)] == program.events
    finished = [e["data"] for e in program.events if e["type"] == "answer.finished"]
    assert len(finished) == 6 and {f["status"] for f in finished} == {"done"}
    expected_text = "The answer is 5" + "".join(f" w{i}" for i in range(TOKENS - 4))
    assert {f["text"] for f in finished} == {expected_text}
    aired: dict[tuple, str] = {}
    for e in program.events:
        if e["type"] == "answer.token":
            key = (e["data"]["question_id"], e["data"]["contestant"])
            aired[key] = aired.get(key, "") + e["data"]["text"]
    assert len(aired) == 6 and set(aired.values()) == {expected_text}, "tokens lost or doubled"
    bodies = [(e["type"], e["ts"], repr(e["data"])) for e in program.events]
    assert len(bodies) == len(set(bodies)), "an event was appended twice"
    # Votes: only a 200 counts, and every 200 counted once.
    assert set(phones.status.values()) == {200}
    assert all("send yours again" in r for r in phones.refusals)
    assert sum(final["polls"]["p1"]["counts"].values()) == DEVICES
    devices = [f[b"device"] for _, f in audit]
    assert len(devices) == len(set(devices)) == DEVICES
    print(
        f"\n{where} redis killed mid-stage: outage {outages[0]['duration_s']:.2f} s reported to the director; "
        f"{len(program.events)} program events, 0 lost, 0 doubled; {len(phones.refusals)} votes refused with 503 "
        f"during the outage and counted once on retry; tally {DEVICES} = acknowledged"
    )


def test_the_directors_panel_shows_the_outage_and_locks_until_redis_is_back(tmp_path, monkeypatch):
    external = ExternalRedis(tmp_path / "external-redis")
    external.start()
    monkeypatch.setenv("REDIS_URL", external.url)
    studio = Studio(load_script(write_replay_show(tmp_path / "show")), tmp_path / "data")
    try:
        with LiveStudio(studio) as live, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{live.base}/director#token={live.director_token}")
            page.wait_for_function("() => window.__director && window.__director.canOperate()", timeout=30_000)
            external.kill()
            page.wait_for_function("() => document.getElementById('banner').dataset.state === 'store-down'", timeout=15_000)
            banner = page.text_content("#banner")
            locked = page.evaluate("() => window.__director.canOperate()")
            external.start()
            page.wait_for_function("() => window.__director.canOperate()", timeout=30_000)
            page.wait_for_function("() => document.getElementById('log').textContent.includes('STORE OUTAGE')", timeout=15_000)
            log_text = page.text_content("#log")
            browser.close()
    finally:
        external.kill()
    assert "REDIS" in banner and "UNREACHABLE" in banner and locked is False
    assert "Redis unreachable for" in log_text


def test_an_append_that_outlasts_the_logs_patience_is_refused_loudly_and_never_half_done(tmp_path):
    external = ExternalRedis(tmp_path / "external-redis")
    external.start()

    async def drill() -> tuple[str, float, list[int]]:
        log = EventLog(aioredis.Redis.from_url(external.url), "refusal", outage_s=1.0)
        await log.append(ev.ShowStatus(data=ev.ShowStatusData(status="running")))
        external.kill()
        started = time.monotonic()
        try:
            await log.append(ev.ShowStatus(data=ev.ShowStatusData(status="paused")))
            message = "appended while Redis was down?"
        except EventLogUnavailable as exc:
            message = str(exc)
        waited = time.monotonic() - started
        external.start()
        seqs = [item.seq for item in await log.read("director")]
        await log.client.aclose()
        return message, waited, seqs

    try:
        message, waited, seqs = asyncio.run(drill())
    finally:
        external.kill()
    assert "unreachable for 1 s" in message and "show.status was not recorded" in message
    assert 1.0 <= waited < 5
    assert seqs == [1]  # the refused event is not in the log, the acknowledged one is


def test_a_judges_mark_left_by_a_half_failed_attempt_does_not_block_the_retry(tmp_path):
    """Redis took the judge's once-only mark but the reply (and so the score) was lost: the retry
    must record the score, not answer "already scored" for a score that is nowhere."""
    script = write_replay_show(tmp_path / "show", tokens=6, tokens_per_s=100, questions=1, stages=1, judges=("jo",))
    with LiveStudio(Studio(load_script(script), tmp_path / "data")) as live:
        live.wait_for_engines()
        assert live.post_command("start").json()["ok"]
        deadline = time.monotonic() + 30
        while live.state()["show"]["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        target = "answer:0:demo-1:ada"
        live.call(lambda: live.studio.event_log.client.set(f"gavel:{{faults}}:judged:jo:{target}", "1"))  # the orphan mark
        auth = {"Authorization": f"Bearer {live.studio.tokens.judges['jo']}"}
        first = httpx.post(f"{live.base}/api/judge/score", json={"target": target, "scores": {"accuracy": 7}}, headers=auth, timeout=10)
        second = httpx.post(f"{live.base}/api/judge/score", json={"target": target, "scores": {"accuracy": 9}}, headers=auth, timeout=10)
        judged = live.state()["judged"]
    assert first.status_code == 200, first.text
    assert second.status_code == 409 and "already scored" in second.json()["error"]
    assert judged == {target: {"jo": {"accuracy": 7}}}
