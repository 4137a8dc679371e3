"""The director's socket: every command read runs to its end, even when the socket goes at once.

A director's panel (or a script) may send commands and close the socket straight away: "pause"
then "resume", then the tab is closed. Each message it sent is read, in order, and each command
runs whole — its event logged and applied, its result kept for a repeat of its command_id — however
soon the socket is cut (a command cut in half once left a show paused with nobody to resume it).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from core import events as ev
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"


def _token(i: int) -> ev.AnswerToken:
    return ev.AnswerToken(data=ev.AnswerTokenData(question_id="q1", contestant="ada", index=i, text=f"t{i} "))


def _director_commands(live: LiveStudio) -> list[dict]:
    """Every director.command event in the log so far."""

    async def read():
        return await live.studio.event_log.read("director")

    return [e.data.model_dump() for e in (item.parse() for item in live.call(read)) if e.type == "director.command"]


def test_commands_sent_just_before_the_socket_closes_all_run_whole(tmp_path):
    path = tmp_path / "show.yaml"
    path.write_text(DEMO.read_text().replace("bank: banks/demo.yaml", f"bank: {REPO}/show_scripts/banks/demo.yaml"))
    with LiveStudio(Studio(load_script(path), tmp_path / "data", pool=engineless_pool())) as live:

        async def stream_to_the_director(n: int = 400) -> None:  # as a stage's tokens would
            for i in range(n):
                await live.studio.controller.publish(_token(i), channels=ev.DIRECTOR_ONLY)
                await asyncio.sleep(0.002)

        streaming = asyncio.run_coroutine_threadsafe(stream_to_the_director(), live.studio.loop)
        time.sleep(0.2)
        sent = []
        with connect(f"{live.ws_base}/ws/director?since=0&token={live.director_token}") as ws:
            for i in range(8):
                if i % 2:
                    ws.send("not json")
                    sent.append("-")
                else:
                    ws.send(f'{{"command": "resume", "command_id": "bye-{i}"}}')  # idle show: refused, and logged
                    sent.append(f"bye-{i}")
        # closed at once: the next event sent to this socket cuts its feed while commands are still queued
        streaming.result(30)
        deadline = time.monotonic() + 10
        while len([c for c in _director_commands(live) if c["command_id"] in sent]) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.2)
        commands = [c for c in _director_commands(live) if c["command_id"] in sent]
        assert [c["command_id"] for c in commands] == sent  # all of them, in the order sent
        assert all(not c["accepted"] for c in commands)
        assert all("not JSON" in c["reason"] for c in commands if c["command_id"] == "-")
        # Each ran whole: its result was kept, so repeating its command_id answers that result again
        # and logs nothing new.
        for command_id, first in ((c["command_id"], c) for c in commands if c["command_id"] != "-"):
            again = httpx.post(
                f"{live.base}/api/command",
                json={"command": "resume", "command_id": command_id},
                headers={"Authorization": f"Bearer {live.director_token}"},
                timeout=30,
            )
            assert again.status_code == 409 and again.json()["reason"] == first["reason"]
        assert len(_director_commands(live)) == len(commands)
