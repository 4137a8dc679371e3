"""A Redis that stops answering without closing anything — the process stopped (SIGSTOP) or the
server paused (CLIENT PAUSE WRITE) — on a real studio and its embedded Redis. Nothing may wait
forever: the director's state shows the outage within seconds, votes answer 503 "send yours
again", an append gives up within the promised 15 s naming its event; and once Redis answers
again nothing is lost or doubled — an append refused meanwhile never turns up late, a vote sent
again counts once."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest
import redis

from core import events as ev
from store.event_log import EventLogUnavailable
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .fault_kit import write_replay_show
from .studio_harness import LiveStudio


@pytest.fixture
def live(tmp_path):
    script = write_replay_show(tmp_path / "show", tokens=8, tokens_per_s=200, questions=1)
    with LiveStudio(Studio(load_script(script), tmp_path / "data")) as running:
        running.wait_for_engines()
        opened = running.post_command("poll_open", {"poll": "p1", "title": "Which?", "choices": ["a", "b"], "allow_change": True})
        assert opened.json()["changed"], opened.text
        yield running


def _phone(live) -> dict:
    return {"Authorization": f"Bearer {httpx.post(f'{live.base}/api/audience/device').json()['token']}"}


def _vote(live, phone: dict) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    reply = httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "a"}, headers=phone, timeout=60)
    return reply, time.monotonic() - started


def _wait_store(live, ok: bool, timeout_s: float = 10) -> float:
    started = time.monotonic()
    while live.state()["store"]["ok"] is not ok:
        assert time.monotonic() - started < timeout_s, f"store.ok never became {ok}"
        time.sleep(0.1)
    return time.monotonic() - started


def _lower_third(name: str) -> ev.GraphicCued:
    return ev.GraphicCued(data=ev.GraphicCuedData(graphic="lower_third", visible=True, data={"name": name}))


def _cued_names(live) -> list[str]:
    events = [item.parse() for item in live.call(lambda: live.studio.event_log.read("director"))]
    return [e.data.data.get("name") for e in events if e.type == "graphic.cued" and e.data.graphic == "lower_third"]


def test_a_stopped_redis_is_noticed_refused_and_nothing_is_doubled_after(live):
    server = live.studio.redis_server
    phone = _phone(live)
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        assert _wait_store(live, ok=False) < 5  # the panel's banner: within seconds
        reply, took = _vote(live, phone)
        assert reply.status_code == 503 and "send yours again" in reply.json()["error"] and took < 10
        refused: list[BaseException] = []
        started = time.monotonic()
        try:
            live.call(lambda: live.studio.controller.publish(_lower_third("Stalled"), channels=ev.DIRECTOR_ONLY), timeout_s=60)
        except EventLogUnavailable as exc:
            refused.append(exc)
        waited = time.monotonic() - started
        command = live.post_command("cue", {"graphic": "title_card", "visible": False})
        assert command.status_code == 503 and "unreachable" in command.json()["error"]
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    assert refused and "graphic.cued was not recorded" in str(refused[0]) and 14 <= waited < 25, (refused, waited)
    _wait_store(live, ok=True)
    time.sleep(1.5)  # what the stopped server had in its sockets has run by now
    assert "Stalled" not in _cued_names(live)  # refused, and it stays refused: it did not land late
    again, _ = _vote(live, phone)
    assert again.status_code == 200 and again.json()["result"] in ("accepted", "unchanged")
    assert live.call(lambda: live.studio.poll_store.counts("p1")) == {"a": 1}  # the vote sent twice counts once
    live.call(lambda: live.studio.controller.publish(_lower_third("After"), channels=ev.DIRECTOR_ONLY))
    assert _cued_names(live).count("After") == 1
    log = [item.parse() for item in live.call(lambda: live.studio.event_log.read("director"))]
    assert any(e.type == "store.outage" for e in log)  # the director's log says how long it lasted


def test_a_paused_redis_holds_appends_which_land_once_when_it_resumes(live):
    """CLIENT PAUSE WRITE: Redis answers PINGs but no write. The watch must still see an outage;
    an append waits (within its 15 s) and lands exactly once when the pause ends."""
    phone = _phone(live)
    admin = redis.Redis(unix_socket_path=str(live.studio.redis_server.socket_path))
    admin.execute_command("CLIENT", "PAUSE", 8000, "WRITE")
    try:
        assert _wait_store(live, ok=False) < 5
        reply, took = _vote(live, phone)
        assert reply.status_code == 503 and took < 10  # the phone hears back, and sends again later
        landed: dict = {}

        def publish() -> None:
            started = time.monotonic()
            live.call(lambda: live.studio.controller.publish(_lower_third("Held"), channels=ev.DIRECTOR_ONLY), timeout_s=60)
            landed["after_s"] = time.monotonic() - started

        thread = threading.Thread(target=publish)
        thread.start()
        thread.join(timeout=30)
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()
    assert 1 < landed["after_s"] < 15, landed  # held by the pause, then appended within the log's patience
    _wait_store(live, ok=True)
    time.sleep(1.5)
    assert _cued_names(live).count("Held") == 1  # once, though it was tried again while paused
    again, _ = _vote(live, phone)
    assert again.status_code == 200
    assert live.call(lambda: live.studio.poll_store.counts("p1")) == {"a": 1}
