"""A studio on a real Redis Cluster (three primaries, ``REDIS_URL=redis+cluster://...``).

The show's log, its polls and its command results all work through the cluster client: events
get gap-free seqs and reach a WebSocket client in order, votes fired at once from many devices
count each device exactly once, a repeated command_id returns the first result, the show's keys
all sit in the one slot of its hash tag while other shows spread over the primaries, a follower
process on the same cluster serves the same log and counts into the same poll, and ``gavel
replay``/``export`` find the show there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from core import events as ev
from core.events import frame_events
from store.show_log import read_show
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .redis_cluster import LocalCluster
from .studio_harness import LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
AUDIENCE = "\naudience:\n  votes_per_s_per_device: 1000\n  burst_per_device: 1000\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def live(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster-show")
    text = (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/")
    (tmp / "show.yaml").write_text(text + AUDIENCE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_URL", cluster.url)
        with LiveStudio(Studio(load_script(tmp / "show.yaml"), tmp / "data", pool=engineless_pool())) as live:
            yield live


def test_the_studio_is_ready_on_the_cluster(live):
    ready = httpx.get(f"{live.base}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["ready"], ready.text
    assert live.state()["store"]["ok"]


def test_events_get_gap_free_seqs_and_reach_a_socket_in_order(live):
    log = live.studio.event_log
    before = live.call(lambda: log.last_seq("program"))
    with ws_connect(f"{live.ws_base}/ws/program?since={before}&token={live.graphics_token}", open_timeout=30) as ws:

        async def append_many():
            return [await log.append(ev.ShowStatus(data=ev.ShowStatusData(status=s))) for s in ["paused", "running"] * 10]

        appended = live.call(append_many)
        received: list[dict] = []
        while len(received) < 20:
            received += [e for e in frame_events(ws.recv(timeout=15)) if e["seq"] > before]
    seqs = [a["program"] for a in appended]
    assert seqs == list(range(before + 1, before + 21))  # gap-free, in order of appending
    assert [e["seq"] for e in received] == seqs
    assert [e["data"]["status"] for e in received] == ["paused", "running"] * 10


def test_votes_fired_at_once_count_each_device_exactly_once(live):
    opened = live.post_command("poll_open", {"poll": "c1", "title": "On the cluster", "choices": ["red", "blue"]})
    assert opened.status_code == 200 and opened.json()["changed"], opened.text
    devices = [httpx.post(f"{live.base}/api/audience/device", timeout=10).json()["token"] for _ in range(40)]

    async def flood():
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:

            async def one(token: str):
                # Each device votes red and blue at once: only one may count.
                return await asyncio.gather(
                    *(
                        client.post(f"{live.base}/api/polls/c1/vote", json={"choice": c}, headers={"Authorization": f"Bearer {token}"})
                        for c in ("red", "blue")
                    )
                )

            return await asyncio.gather(*(one(t) for t in devices))

    per_device = asyncio.run(flood())
    expected = {"red": 0, "blue": 0}
    for replies in per_device:
        assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
        (accepted,) = [r.json() for r in replies if r.status_code == 200]
        refused = next(r.json() for r in replies if r.status_code == 409)
        assert accepted["result"] == "accepted" and refused["result"] == "already_voted"
        expected[accepted["choice"]] += 1
    assert sum(expected.values()) == 40
    store = live.studio.poll_store
    assert live.call(lambda: store.counts("c1")) == {k: v for k, v in expected.items() if v}
    audit = live.call(lambda: store.audit("c1"))
    assert len(audit) == 40 and len({a["device"] for a in audit}) == 40


def test_a_command_is_done_once_per_command_id(live):
    first = live.post_command("poll_open", {"poll": "c2", "title": "Once", "choices": ["a", "b"]}, command_id="cluster-cmd-1")
    again = live.post_command("poll_open", {"poll": "c2", "title": "Once", "choices": ["a", "b"]}, command_id="cluster-cmd-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["changed"] and again.json() == first.json()
    director = live.call(lambda: live.studio.event_log.read("director"))
    logged = [e for e in (d.parse() for d in director) if e.type == "director.command" and e.data.command_id == "cluster-cmd-1"]
    assert len(logged) == 1


def test_one_show_lives_in_one_slot_and_another_show_elsewhere(live, cluster):
    show = live.studio.script.show.id
    keys = [
        live.studio.event_log.stream_key("program"),
        live.studio.poll_store.audit_key,
        *live.studio.poll_store.vote_keys("c1"),
        f"gavel:{{{show}}}:command:cluster-cmd-1",
    ]
    assert len({cluster.node_holding(k) for k in keys}) == 1
    others = {cluster.node_holding(f"gavel:{{{show}-{n}}}:votes") for n in range(20)}
    assert len(others) == 3  # the cluster spreads shows over its three primaries


def test_a_follower_on_the_cluster_serves_the_same_log_and_counts_into_the_same_poll(live, cluster):
    follower = LiveStudio(Studio(live.studio.script, live.studio.data_dir, follower=True))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_URL", cluster.url)
        with follower:
            last = live.call(lambda: live.studio.event_log.last_seq("program"))
            with ws_connect(f"{follower.ws_base}/ws/program?since={last - 3}&token={live.graphics_token}", open_timeout=30) as ws:
                received: list[dict] = []
                while len(received) < 3:
                    received += frame_events(ws.recv(timeout=15))
            assert [e["seq"] for e in received] == [last - 2, last - 1, last]
            device = httpx.post(f"{follower.base}/api/audience/device", timeout=10).json()["token"]
            vote = httpx.post(
                f"{follower.base}/api/polls/c2/vote", json={"choice": "a"}, headers={"Authorization": f"Bearer {device}"}, timeout=10
            )
            assert vote.status_code == 200 and vote.json()["result"] == "accepted", vote.text
    assert live.call(lambda: live.studio.poll_store.counts("c2")) == {"a": 1}  # counted where the controller sees it


def test_replay_and_export_read_the_show_from_the_cluster(live, cluster, monkeypatch):
    monkeypatch.setenv("REDIS_URL", cluster.url)
    show = live.studio.script.show.id
    found = asyncio.run(read_show(show))
    assert found.show_id == show
    assert [e.seq for e in found.channels["program"]] == list(range(1, len(found.channels["program"]) + 1))
    assert any(e.parse().type == "poll.opened" for e in found.director)
