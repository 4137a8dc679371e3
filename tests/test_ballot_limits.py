"""Ballot stuffing: one client (one IP) minting device tokens as fast as it can, on two studio
processes (a controller and a follower on one Redis), voting with every one of them. The limits
that matter are kept in Redis, so they hold across processes: the script's
``devices_per_min_per_ip`` tokens a minute, and ``votes_per_ip_per_poll`` counted votes per poll —
whatever the client does. Another network is not affected."""

from __future__ import annotations

import httpx
import pytest
import yaml

from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .fault_kit import write_replay_show
from .studio_harness import LiveStudio

PER_POLL, PER_MINUTE = 5, 12


@pytest.fixture
def studios(tmp_path, monkeypatch):
    path = write_replay_show(tmp_path / "show", tokens=8, tokens_per_s=200, questions=1)
    script = yaml.safe_load(path.read_text())
    # The per-process limits are generous, so only the shared ones can stop the flood.
    script["audience"] = {
        "votes_per_ip_per_poll": PER_POLL,
        "devices_per_min_per_ip": PER_MINUTE,
        "devices_per_s_per_ip": 1000,
        "device_burst_per_ip": 1000,
        "votes_per_s_per_ip": 1000,
        "burst_per_ip": 1000,
    }
    path.write_text(yaml.safe_dump(script))
    with LiveStudio(Studio(load_script(path), tmp_path / "data")) as controller:
        opened = controller.post_command("poll_open", {"poll": "p1", "title": "Which?", "choices": ["a", "b"], "allow_change": True})
        assert opened.json()["changed"], opened.text
        monkeypatch.setenv("REDIS_URL", controller.studio.redis_server.url)
        with LiveStudio(Studio(load_script(path), tmp_path / "data", follower=True)) as follower:
            yield controller, follower


def _mint(base: str, network: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": network} if network else {}  # the test's uvicorn trusts 127.0.0.1 as a proxy
    return httpx.post(f"{base}/api/audience/device", headers=headers, timeout=10)


def _vote(base: str, token: str, choice: str, network: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **({"X-Forwarded-For": network} if network else {})}
    return httpx.post(f"{base}/api/polls/p1/vote", json={"choice": choice}, headers=headers, timeout=10)


def test_one_network_gets_at_most_its_share_of_tokens_and_votes_across_processes(studios):
    controller, follower = studios
    bases = [controller.base, follower.base]
    minted = [_mint(bases[i % 2]) for i in range(40)]
    tokens = [r.json()["token"] for r in minted if r.status_code == 200]
    assert len(tokens) == PER_MINUTE  # not 12 per process: the window is shared
    refused = [r for r in minted if r.status_code != 200]
    assert {r.status_code for r in refused} == {429} and "too many new devices" in refused[0].json()["error"]

    votes = [_vote(bases[i % 2], token, "a") for i, token in enumerate(tokens)]
    accepted = [v for v in votes if v.status_code == 200]
    assert len(accepted) == PER_POLL
    assert all(v.status_code == 409 and v.json()["result"] == "network_limit" for v in votes if v.status_code != 200)
    # A device already counted may still change its vote (it adds no device from the network).
    changed = _vote(follower.base, tokens[0], "b")
    assert changed.status_code == 200 and changed.json()["previous"] == "a"
    counts = controller.call(lambda: controller.studio.poll_store.counts("p1"))
    assert sum(counts.values()) == PER_POLL and counts == {"a": PER_POLL - 1, "b": 1}

    # Another network is its own: its phones still count.
    other = _mint(follower.base, network="203.0.113.9").json()["token"]
    assert _vote(controller.base, other, "a", network="203.0.113.9").status_code == 200
    assert sum(controller.call(lambda: controller.studio.poll_store.counts("p1")).values()) == PER_POLL + 1
