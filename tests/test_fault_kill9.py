"""Fault: ``kill -9`` of the studio process mid-stage, with a poll open and votes arriving.

A real ``gavel serve`` process runs a deterministic replay-engine show with a judge. Phones vote
in an open poll the whole time; the judge scores the answers as they finish. The studio is killed
with SIGKILL twice — each time while a stage is streaming answers and votes are in flight — and
restarted on the same data dir. Then:

- the show resumes at the stage it was in (that stage is not started again, its questions that
  had closed are not asked again) and completes;
- the poll's tally equals the votes the studio acknowledged (HTTP 2xx): a phone whose request got
  no answer retries with its device token, as the voting page does, and is told "unchanged" if
  its vote had counted; the audit stream holds each device once: 0 lost, 0 doubled;
- every score the judge had acknowledged is still there, and cannot be given twice.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

import httpx
import redis

from store.embedded_redis import socket_path_for

from .fault_kit import StudioProcess, write_replay_show

DEVICES = 400


class Phones:
    """Viewers voting once each (the poll allows no change) from a background thread."""

    def __init__(self, studio: StudioProcess):
        self.studio = studio
        self.tokens = [httpx.post(f"{studio.base}/api/audience/device", timeout=10).json()["token"] for _ in range(DEVICES)]
        self.outcome: dict[int, int | None] = {}  # device index -> HTTP status (None: no answer)
        self.sent = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._vote_steadily()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._thread.join(timeout=60)

    async def _vote_steadily(self, per_s: float = 20) -> None:
        rng = random.Random(11)
        async with httpx.AsyncClient(timeout=5) as client:
            pending: set[asyncio.Task] = set()
            for i in range(DEVICES):
                self.sent = i
                pending.add(asyncio.create_task(self._vote(client, i, rng.choice("ab"))))
                await asyncio.sleep(1 / per_s)
            await asyncio.gather(*pending)

    async def _vote(self, client: httpx.AsyncClient, i: int, choice: str) -> None:
        try:
            reply = await client.post(
                f"{self.studio.base}/api/polls/p1/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {self.tokens[i]}"}
            )
            self.outcome[i] = reply.status_code
        except httpx.TransportError:
            self.outcome[i] = None  # the studio died with the request in flight, or was down

    def retry_unanswered(self) -> int:
        """What the voting page does after a failed request: send the same vote again."""
        unanswered = [i for i, status in self.outcome.items() if status is None]
        for i in unanswered:
            reply = httpx.post(
                f"{self.studio.base}/api/polls/p1/vote",
                json={"choice": "a"},
                headers={"Authorization": f"Bearer {self.tokens[i]}"},
                timeout=10,
            )
            # 200 accepted (it never counted) / 200 unchanged, or 409 already voted (it counted as
            # "b"): either way exactly one vote from this device stands.
            assert reply.status_code in (200, 409), reply.text
            self.outcome[i] = 200 if reply.status_code == 200 or reply.json()["result"] == "already_voted" else reply.status_code
        return len(unanswered)


def score_finished_answers(studio: StudioProcess, token: str, scored: dict[str, int]) -> None:
    """The judge scores every finished answer not yet scored; acknowledged ones go in ``scored``."""
    auth = {"Authorization": f"Bearer {token}"}
    targets = httpx.get(f"{studio.base}/api/judge/targets", headers=auth, timeout=10).json()["targets"]
    for target in targets:
        if target["target"] in scored:
            continue
        value = 1 + len(scored) % 10
        reply = httpx.post(
            f"{studio.base}/api/judge/score", json={"target": target["target"], "scores": {"accuracy": value}}, headers=auth, timeout=10
        )
        if reply.status_code == 200:
            scored[target["target"]] = value


def running_mid_answer(state: dict, stage: int, closed_at_least: int) -> bool:
    stages = state["stages"]
    return (
        state["current_stage"] == stage
        and stages[stage].get("status") == "running"
        and len(state["closed_questions"].get(str(stage), [])) >= closed_at_least
        and any(a["status"] == "streaming" and a["tokens"] > 5 for a in state["answers"].values())
    )


def test_kill_9_mid_stage_and_mid_poll_resumes_with_every_vote_and_score(tmp_path):
    script = write_replay_show(tmp_path / "show", tokens=50, tokens_per_s=40, questions=3, stages=2, judges=("jo",))
    data_dir = tmp_path / "data"
    studio = StudioProcess(script, data_dir).start()
    judge_token = studio.secrets["judges"]["jo"]
    scored: dict[str, int] = {}
    resumes: list[float] = []
    try:
        opened = studio.command("poll_open", {"poll": "p1", "title": "Who wins?", "choices": ["a", "b"]})
        assert opened.json()["ok"], opened.text
        phones = Phones(studio)
        phones.start()
        assert studio.command("start").json()["ok"]
        for stage in (0, 1):
            studio.wait_for(lambda s, stage=stage: running_mid_answer(s, stage, closed_at_least=1), what=f"stage {stage} mid-answer")
            score_finished_answers(studio, judge_token, scored)
            before = studio.state()
            assert phones.sent < DEVICES - 20, "votes must still be arriving when the studio dies"
            studio.kill9()  # votes are in flight: the phones keep sending into the void
            killed_at = time.monotonic()
            studio.start()
            resumes.append(time.monotonic() - killed_at)
            after = studio.state()
            assert after["current_stage"] == stage and after["stages"][stage]["status"] == "running"
            assert after["judged"] == before["judged"]
            if stage == 0:
                studio.wait_for(lambda s: s["stages"][0]["status"] == "completed", what="stage 0 to end")
                assert studio.command("next").json()["ok"]
        state = studio.wait_for(lambda s: s["show"]["status"] == "completed", what="the show to complete")
        phones.finish()
        retried = phones.retry_unanswered()
        score_finished_answers(studio, judge_token, scored)
        closed = studio.command("poll_close", {"poll": "p1"})
        assert closed.json()["ok"], closed.text
        final = studio.state()
        audit = redis.Redis(unix_socket_path=str(socket_path_for(data_dir))).xrange("gavel:{faults}:votes")
        again = httpx.post(
            f"{studio.base}/api/judge/score",
            json={"target": next(iter(scored)), "scores": {"accuracy": 10}},
            headers={"Authorization": f"Bearer {judge_token}"},
            timeout=10,
        )
    finally:
        studio.stop()

    # The show: each stage ran once, every question asked once, both stages completed.
    assert [s["status"] for s in state["stages"]] == ["completed", "completed"]
    assert {k: sorted(v) for k, v in state["closed_questions"].items()} == {
        "0": ["demo-1", "demo-2", "demo-3"],
        "1": ["demo-1", "demo-2", "demo-3"],
    }
    # The votes: the tally is exactly the acknowledged votes, each device once.
    accepted = sorted(i for i, status in phones.outcome.items() if status == 200)
    assert len(phones.outcome) == DEVICES
    assert set(phones.outcome.values()) == {200}, "every vote is acknowledged once the phones retried"
    counts = final["polls"]["p1"]["counts"]
    assert sum(counts.values()) == len(accepted) == DEVICES
    devices = [fields[b"device"] for _, fields in audit if fields[b"poll"] == b"p1"]
    assert len(devices) == len(set(devices)) == DEVICES
    # The judge: every acknowledged score is in the log, once, and none can be given again.
    assert {target: scores["jo"]["accuracy"] for target, scores in final["judged"].items()} == scored
    assert len(scored) == 12 and again.status_code == 409
    print(
        f"\n2 kill -9s mid-stage with votes in flight: resumed (process start to engines ready) in "
        f"{resumes[0]:.1f} s and {resumes[1]:.1f} s; {DEVICES} devices, {retried} unanswered votes retried, "
        f"tally {sum(counts.values())} = {len(accepted)} acknowledged (0 lost, 0 doubled); {len(scored)} judge scores intact"
    )
