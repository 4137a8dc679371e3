"""Audience polls over HTTP on a real studio (uvicorn on 127.0.0.1, the real Redis): exact counts
under concurrency, one vote per device, rate limits, refusals that say why and count nothing,
the poll lifecycle and coalesced tallies. No LLM is loaded: these never run a stage."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from core.events import frame_events
from studio.server.device_tokens import DeviceTokens
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent


def _script(tmp_path: Path, audience: str = ""):
    text = (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/")
    path = tmp_path / "show.yaml"
    path.write_text(text + (f"\naudience:\n{audience}" if audience else ""))
    return load_script(path)


@pytest.fixture
def studio_with(tmp_path):
    """Start a studio with the given `audience:` limits (YAML lines); stopped after the test."""
    started: list[LiveStudio] = []

    def start(audience: str = "") -> LiveStudio:
        live = LiveStudio(Studio(_script(tmp_path, audience), tmp_path / f"data{len(started)}", pool=engineless_pool()))
        started.append(live.__enter__())
        return live

    yield start
    for live in started:
        live.__exit__(None, None, None)


def _device(live: LiveStudio) -> dict:
    response = httpx.post(f"{live.base}/api/audience/device", timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _open(live: LiveStudio, poll: str, choices: list[str], **extra) -> None:
    result = live.post_command("poll_open", {"poll": poll, "title": f"Poll {poll}", "choices": choices, **extra})
    assert result.status_code == 200 and result.json()["changed"], result.text


def _counts_settle(live: LiveStudio, poll: str, want: dict[str, int], timeout_s: float = 5) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        counts = {k: v for k, v in live.state()["polls"][poll]["counts"].items() if v}
        if counts == want or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def test_concurrent_votes_with_duplicates_count_each_device_exactly_once(studio_with):
    live = studio_with("  votes_per_s_per_device: 1000\n  burst_per_device: 1000\n")
    _open(live, "p1", ["red", "green", "blue"])
    devices = [_device(live) for _ in range(50)]
    choices = ["red", "green", "blue"]

    async def one_device(client: httpx.AsyncClient, i: int, headers: dict) -> list[tuple[str, int, dict]]:
        # Each device fires its votes at once: the same choice several times, then others.
        wanted = [choices[i % 3]] * 6 + [choices[(i + 1) % 3], choices[(i + 2) % 3]]
        replies = await asyncio.gather(
            *(client.post(f"{live.base}/api/polls/p1/vote", json={"choice": c}, headers=headers) for c in wanted)
        )
        return [(c, r.status_code, r.json()) for c, r in zip(wanted, replies)]

    async def flood() -> list[list[tuple[str, int, dict]]]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            return await asyncio.gather(*(one_device(client, i, h) for i, h in enumerate(devices)))

    per_device = asyncio.run(flood())
    expected: dict[str, int] = {}
    for replies in per_device:
        accepted = [c for c, status, body in replies if status == 200 and body["result"] == "accepted"]
        assert len(accepted) == 1, replies  # exactly one vote per device counted
        refused = [body for _, status, body in replies if status == 409]
        assert all(b["result"] == "already_voted" and b["your_choice"] == accepted[0] for b in refused)
        assert all(status in (200, 409) for _, status, _ in replies)
        expected[accepted[0]] = expected.get(accepted[0], 0) + 1
    assert sum(expected.values()) == 50
    store = live.studio.poll_store
    assert live.call(lambda: store.counts("p1")) == expected
    audit = live.call(lambda: store.audit("p1"))
    assert len(audit) == 50 and len({a["device"] for a in audit}) == 50
    closed = live.post_command("poll_close", {"poll": "p1"})
    assert closed.json()["changed"]
    poll = live.state()["polls"]["p1"]
    assert poll["status"] == "closed" and poll["counts"] == expected and poll["total"] == 50
    assert poll["winner"] == max(choices, key=lambda c: (expected.get(c, 0), -choices.index(c)))


def test_a_device_may_change_its_vote_only_where_the_poll_allows(studio_with):
    live = studio_with()
    _open(live, "fixed", ["a", "b"])
    _open(live, "open-mind", ["a", "b"], allow_change=True)
    me = _device(live)
    vote = lambda poll, c: httpx.post(f"{live.base}/api/polls/{poll}/vote", json={"choice": c}, headers=me)  # noqa: E731
    assert vote("fixed", "a").json()["result"] == "accepted"
    again = vote("fixed", "a")
    assert again.status_code == 200 and again.json()["result"] == "unchanged"
    switch = vote("fixed", "b")
    assert switch.status_code == 409 and "already voted" in switch.json()["error"]
    assert vote("open-mind", "a").json()["result"] == "accepted"
    changed = vote("open-mind", "b")
    assert changed.status_code == 200 and changed.json() == {"result": "accepted", "choice": "b", "previous": "a"}
    assert _counts_settle(live, "fixed", {"a": 1}) == {"a": 1}
    assert _counts_settle(live, "open-mind", {"b": 1}) == {"b": 1}  # moved, not added


def test_bad_votes_get_a_clear_4xx_and_count_nothing(studio_with):
    live = studio_with("  burst_per_device: 100\n")  # every malformed try counts against the device too
    _open(live, "p1", ["yes", "no"])
    me = _device(live)
    url = f"{live.base}/api/polls/p1/vote"
    forged = DeviceTokens("not-the-studio-secret").issue()[1]
    tampered = me["Authorization"][:-2] + ("AA" if not me["Authorization"].endswith("AA") else "BB")
    cases = {
        "no token": (httpx.post(url, json={"choice": "yes"}), 401, "device token required"),
        "forged": (
            httpx.post(url, json={"choice": "yes"}, headers={"Authorization": f"Bearer {forged}"}),
            403,
            "not one this studio issued",
        ),
        "tampered": (httpx.post(url, json={"choice": "yes"}, headers={"Authorization": tampered}), 403, "not one this studio issued"),
        "unknown poll": (httpx.post(f"{live.base}/api/polls/nope/vote", json={"choice": "yes"}, headers=me), 404, "no such poll"),
        "not json": (httpx.post(url, content=b"yes please", headers=me), 400, "must be JSON"),
        "not an object": (httpx.post(url, json=["yes"], headers=me), 400, "choice"),
        "no choice": (httpx.post(url, json={"pick": "yes"}, headers=me), 400, "choice"),
        "choice not a string": (httpx.post(url, json={"choice": 1}, headers=me), 400, "choice"),
        "choice not in poll": (httpx.post(url, json={"choice": "maybe"}, headers=me), 400, "not one of this poll's choices"),
        "oversized": (httpx.post(url, content=b'{"choice": "' + b"y" * 5000 + b'"}', headers=me), 413, "over 1024 bytes"),
        "wrong method": (httpx.get(url, headers=me), 405, ""),
    }
    for name, (response, status, reason) in cases.items():
        assert response.status_code == status, (name, response.status_code, response.text)
        if reason:
            assert reason in response.json()["error"], (name, response.text)
    assert live.call(lambda: live.studio.poll_store.counts("p1")) == {}
    assert live.call(lambda: live.studio.poll_store.audit("p1")) == []


def test_an_expired_device_token_is_refused_as_expired(studio_with):
    live = studio_with()
    _open(live, "p1", ["yes", "no"])
    live.studio.device_tokens = DeviceTokens(live.studio.tokens.signing, max_age_s=1)
    me = _device(live)
    time.sleep(2.2)
    response = httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "yes"}, headers=me)
    assert response.status_code == 403 and "expired" in response.json()["error"]


def test_a_late_vote_after_close_is_refused_and_not_counted(studio_with):
    live = studio_with()
    _open(live, "p1", ["yes", "no"])
    early, late = _device(live), _device(live)
    assert httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "yes"}, headers=early).status_code == 200
    assert live.post_command("poll_close", {"poll": "p1"}).json()["changed"]
    refused = httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "no"}, headers=late)
    assert refused.status_code == 409 and "closed" in refused.json()["error"] and "not counted" in refused.json()["error"]
    assert live.call(lambda: live.studio.poll_store.counts("p1")) == {"yes": 1}
    assert live.state()["polls"]["p1"]["counts"] == {"yes": 1}
    again = live.post_command("poll_close", {"poll": "p1"})
    assert again.json()["ok"] and not again.json()["changed"]  # closing twice changes nothing


def test_flooding_gets_429_and_slows_nobody_else(studio_with):
    live = studio_with("  votes_per_s_per_device: 1\n  burst_per_device: 3\n  votes_per_s_per_ip: 1000\n  burst_per_ip: 1000\n")
    _open(live, "p1", ["yes", "no"], allow_change=True)
    flooder, bystander = _device(live), _device(live)
    url = f"{live.base}/api/polls/p1/vote"
    statuses = [httpx.post(url, json={"choice": "yes"}, headers=flooder).status_code for _ in range(8)]
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}
    limited = httpx.post(url, json={"choice": "no"}, headers=flooder)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1 and "too many" in limited.json()["error"]
    assert httpx.post(url, json={"choice": "no"}, headers=bystander).status_code == 200  # unaffected
    assert _counts_settle(live, "p1", {"yes": 1, "no": 1}) == {"yes": 1, "no": 1}


def test_one_network_flooding_with_many_devices_is_limited_per_ip(studio_with):
    live = studio_with("  votes_per_s_per_ip: 1\n  burst_per_ip: 5\n")
    _open(live, "p1", ["yes", "no"])
    devices = [_device(live) for _ in range(8)]
    statuses = [httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "yes"}, headers=d).status_code for d in devices]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    assert live.call(lambda: live.studio.poll_store.counts("p1")) == {"yes": 5}


def test_tallies_are_coalesced_and_phones_see_counts_only_after_reveal(studio_with):
    from websockets.sync.client import connect

    live = studio_with("  votes_per_s_per_ip: 10000\n  burst_per_ip: 10000\n")
    with (
        connect(f"{live.ws_base}/ws/audience?since=0") as phone,
        connect(f"{live.ws_base}/ws/program?since=0&token={live.graphics_token}") as program,
    ):
        _open(live, "p1", ["yes", "no"])
        devices = [_device(live) for _ in range(40)]
        started = time.monotonic()
        for i, d in enumerate(devices):  # ~2 s of steady voting
            httpx.post(f"{live.base}/api/polls/p1/vote", json={"choice": "yes" if i % 4 else "no"}, headers=d)
            time.sleep(0.05)
        time.sleep(0.6)
        voting_s = time.monotonic() - started
        assert live.post_command("poll_close", {"poll": "p1"}).json()["changed"]
        assert live.post_command("poll_reveal", {"poll": "p1"}).json()["changed"]

        def drain(ws, until_type: str) -> list[dict]:
            got: list[dict] = []
            deadline = time.monotonic() + 10
            while not any(e["type"] == until_type for e in got):
                got += frame_events(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            return got

        on_program = drain(program, "poll.revealed")
        on_phone = drain(phone, "poll.revealed")
        time.sleep(0.3)
        on_phone += [e for raw in iter(lambda: _recv_or_none(phone), None) for e in frame_events(raw)]
    tallies = [e for e in on_program if e["type"] == "poll.tally"]
    assert 1 <= len(tallies) <= voting_s * 4 + 2  # at most 4 Hz, never one per vote
    assert len(tallies) < 40
    assert tallies[-1]["data"]["counts"] == {"yes": 30, "no": 10}
    final = [e for e in on_program if e["type"] == "poll.closed"][0]["data"]
    assert final["counts"] == {"yes": 30, "no": 10} and final["winner"] == "yes" and final["decided_by"] == "audience"
    phone_types = [e["type"] for e in on_phone]
    assert "poll.tally" not in phone_types[: phone_types.index("poll.revealed")]  # nothing before the reveal
    hidden = [e for e in on_phone if e["type"] == "poll.closed"]
    assert hidden[0]["data"]["counts"] == {} and hidden[0]["data"]["winner"] is None
    assert hidden[-1]["data"]["counts"] == {"yes": 30, "no": 10} and hidden[-1]["data"]["winner"] == "yes"


def _recv_or_none(ws):
    try:
        return ws.recv(timeout=0.2)
    except TimeoutError:
        return None


def test_poll_commands_refuse_bad_requests_with_the_field(studio_with):
    live = studio_with()
    refusals = {
        "poll_open": [
            ({"choices": ["a", "b"]}, "title"),
            ({"title": "T", "choices": ["a"]}, "choices"),
            ({"title": "T", "choices": ["a", "a"]}, "choices"),
            ({"title": "T", "choices": ["a", "<b>"]}, "choices[1]"),
            ({"title": "T", "choices": ["a", "b"], "kind": "ranked"}, "kind"),
            ({"title": "T", "choices": ["a", "b"], "dimension": "charm"}, "dimension"),
            ({"title": "T", "choices": ["a", "b"], "duration_s": -1}, "duration_s"),
            ({"title": "T", "choices": ["a", "b"], "poll": "has space"}, "poll"),
        ],
        "poll_close": [({"poll": "nope"}, "no poll")],
        "poll_reveal": [({"poll": "nope"}, "no poll")],
    }
    for command, cases in refusals.items():
        for args, field in cases:
            result = live.post_command(command, args)
            assert result.status_code == 409 and not result.json()["ok"], (command, args)
            assert field in result.json()["reason"], (command, args, result.json())
    _open(live, "p1", ["a", "b"])
    override = live.post_command("poll_close", {"poll": "p1", "winner": "zzz"})
    assert not override.json()["ok"] and "winner" in override.json()["reason"]
    reused = live.post_command("poll_open", {"poll": "p1", "title": "again", "choices": ["a", "b"]})
    assert reused.json()["ok"] and not reused.json()["changed"]  # still open: nothing new
    live.post_command("poll_close", {"poll": "p1", "winner": "b"})
    poll = live.state()["polls"]["p1"]
    assert poll["winner"] == "b" and poll["decided_by"] == "director"
    reopened = live.post_command("poll_open", {"poll": "p1", "title": "again", "choices": ["a", "b"]})
    assert not reopened.json()["ok"] and "never reused" in reopened.json()["reason"]
    named = live.post_command("poll_open", {"poll": "p3", "title": "named like a default", "choices": ["a", "b"]})
    unnamed = live.post_command("poll_open", {"title": "no id given", "choices": ["a", "b"]})
    assert named.json()["changed"] and unnamed.json()["changed"], unnamed.text  # got a free id, not p3 again
    rating = live.post_command("poll_open", {"poll": "stars", "title": "Rate the poem", "kind": "rating"})
    assert rating.json()["changed"]
    assert [c["id"] for c in live.state()["polls"]["stars"]["choices"]] == ["1", "2", "3", "4", "5"]


def test_a_poll_with_a_duration_closes_itself(studio_with):
    live = studio_with()
    _open(live, "quick", ["a", "b"], duration_s=1)
    deadline = time.monotonic() + 10
    while live.state()["polls"]["quick"]["status"] != "closed":
        assert time.monotonic() < deadline, "the poll never closed"
        time.sleep(0.1)
    log = [e for e in live.state()["polls"].values()]
    assert log[0]["decided_by"] == "none"  # nobody voted


def test_a_burst_of_phones_connecting_at_once_all_get_their_replay(studio_with):
    """Hundreds of sockets replaying from the log at the same moment share a bounded Redis pool:
    they wait their turn, none is dropped (the pool used to fail fast past 100 connections)."""
    import websockets

    live = studio_with()
    _open(live, "p1", ["a", "b"])

    async def one() -> str:
        async with websockets.connect(f"{live.ws_base}/ws/audience?since=0", open_timeout=30) as ws:
            return frame_events(await asyncio.wait_for(ws.recv(), 30))[0]["type"]

    async def burst() -> list:
        return await asyncio.gather(*(one() for _ in range(250)), return_exceptions=True)

    results = asyncio.run(burst())
    assert results == ["poll.opened"] * 250, [r for r in results if r != "poll.opened"][:3]


def test_one_batch_counts_each_vote_in_order_with_every_outcome(redis_url, show_id):
    """The batcher's script on the real Redis: a batch holding first votes, repeats of a vote made
    earlier in the same batch, a change where changing is not allowed, a bad choice, and votes
    for a closed and an unknown poll — each gets its own outcome; only accepted votes count."""
    import redis.asyncio as aioredis

    from store.polls import PollStore, VoteBatcher

    async def scenario():
        client = aioredis.Redis.from_url(redis_url)
        store = PollStore(client, show_id)
        assert await store.open("p", ["a", "b"], allow_change=False) == "opened"
        assert await store.open("swing", ["a", "b"], allow_change=True) == "opened"
        assert await store.open("shut", ["a", "b"], allow_change=False) == "opened"
        assert await store.close("shut") == "closed"
        batcher = VoteBatcher(store, max_batch=64)
        votes = [
            ("p", "d1", "a"),
            ("p", "d1", "a"),
            ("p", "d1", "b"),
            ("p", "d2", "zzz"),
            ("p", "d2", "b"),
            ("swing", "d1", "a"),
            ("swing", "d1", "b"),
            ("swing", "d1", "b"),
            ("shut", "d3", "a"),
            ("nope", "d3", "a"),
        ]
        # All sent before the first batch goes out, so they ride in one flush, in this order.
        outcomes = await asyncio.gather(*(batcher.submit(poll, device, choice, "10.0.0.1") for poll, device, choice in votes))
        counts = {poll: await store.counts(poll) for poll in ("p", "swing", "shut", "nope")}
        audit = await store.audit()
        await client.aclose()
        return outcomes, counts, audit

    outcomes, counts, audit = asyncio.run(scenario())
    assert [(o.result, o.previous) for o in outcomes] == [
        ("accepted", None),
        ("unchanged", "a"),
        ("already_voted", "a"),
        ("bad_choice", None),
        ("accepted", None),
        ("accepted", None),
        ("accepted", "a"),
        ("unchanged", "b"),
        ("closed", None),
        ("unknown_poll", None),
    ]
    assert counts == {"p": {"a": 1, "b": 1}, "swing": {"b": 1}, "shut": {}, "nope": {}}
    assert [(e["poll"], e["device"], e["choice"], e["prev"], e["ip"]) for e in audit] == [
        ("p", "d1", "a", "", "10.0.0.1"),
        ("p", "d2", "b", "", "10.0.0.1"),
        ("swing", "d1", "a", "", "10.0.0.1"),
        ("swing", "d1", "b", "a", "10.0.0.1"),
    ]


def _raw_http(live: LiveStudio, request: bytes, answers: int, *, then: bytes = b"") -> list[tuple[str, dict, bytes]]:
    """Send raw bytes on one connection; read ``answers`` responses (status line, headers, body)."""
    import socket as socketlib

    host, port = live.base.removeprefix("http://").split(":")
    out, buffer = [], b""
    with socketlib.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        while len(out) < answers:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(out)} answers: {buffer!r}"
                buffer += chunk
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            status, *lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
            if status.endswith("100 Continue"):
                sock.sendall(then)
                continue
            length = int(headers["content-length"])
            while len(buffer) < length:
                buffer += sock.recv(65536)
            out.append((status, headers, buffer[:length]))
            buffer = buffer[length:]
        if out and out[-1][1].get("connection") == "close":
            assert sock.recv(1) == b"", "the studio keeps a connection it said it would close"
    return out


def _vote_request(poll: str, token: str, choice: str, *extra: str, version: str = "1.1") -> bytes:
    body = json.dumps({"choice": choice}).encode()
    head = [
        f"POST /api/polls/{poll}/vote HTTP/{version}",
        "Host: studio",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_votes_on_one_connection_pipelined_or_not_are_answered_in_order(studio_with, monkeypatch):
    """Votes go the studio's short way (studio/server/vote_protocol.py) unless it cannot keep HTTP's
    rules that way; then uvicorn's ASGI path answers. Either way: every vote answered, in order."""
    from studio.server import audience_api

    by_asgi = []
    asgi_vote = audience_api.VoteEndpoint.__call__

    async def counted(self, scope, receive, send):
        by_asgi.append(scope["path"])
        await asgi_vote(self, scope, receive, send)

    monkeypatch.setattr(audience_api.VoteEndpoint, "__call__", counted)
    live = studio_with("  burst_per_ip: 100\n")
    _open(live, "p1", ["yes", "no"])
    tokens = [_device(live)["Authorization"].removeprefix("Bearer ") for _ in range(5)]
    [(status, _, payload)] = _raw_http(live, _vote_request("p1", tokens.pop(), "no"), 1)
    assert status == "HTTP/1.1 200 OK" and json.loads(payload)["result"] == "accepted" and by_asgi == []  # the short way
    # Four votes in one write: the first goes the short way, the ones behind it wait their turn.
    pipelined = b"".join(_vote_request("p1", token, choice) for token, choice in zip(tokens, ["yes", "no", "yes", "maybe"]))
    answers = _raw_http(live, pipelined, 4)
    assert 1 <= len(by_asgi) <= 3  # (how many depends on how the bytes arrive)
    assert [(a[0], json.loads(a[2]).get("result")) for a in answers] == [
        ("HTTP/1.1 200 OK", "accepted"),
        ("HTTP/1.1 200 OK", "accepted"),
        ("HTTP/1.1 200 OK", "accepted"),
        ("HTTP/1.1 400 Bad Request", "bad_choice"),
    ]
    assert "not one of this poll's choices" in json.loads(answers[3][2])["error"]
    assert all(a[1]["content-type"] == "application/json" and "date" in a[1] for a in answers)
    # Expect: 100-continue takes the ASGI path, which says "continue" before reading the body.
    late = _device(live)["Authorization"].removeprefix("Bearer ")
    request = _vote_request("p1", late, "no", "Expect: 100-continue")
    head, body = request.split(b"\r\n\r\n", 1)
    asgi_before = len(by_asgi)
    [(status, _, payload)] = _raw_http(live, head + b"\r\n\r\n", 1, then=body)
    assert status == "HTTP/1.1 200 OK" and json.loads(payload)["result"] == "accepted" and len(by_asgi) == asgi_before + 1
    # HTTP/1.0 and "Connection: close" get their answer, then the connection closes.
    for extra, version in (((), "1.0"), (("Connection: close",), "1.1")):
        [(status, headers, payload)] = _raw_http(live, _vote_request("p1", tokens[0], "yes", *extra, version=version), 1)
        assert json.loads(payload)["result"] == "unchanged" and headers["connection"] == "close", (version, extra)
    assert _counts_settle(live, "p1", {"yes": 2, "no": 3}) == {"yes": 2, "no": 3}


def test_a_trusted_proxy_names_the_voter_for_the_per_ip_limit(studio_with):
    """Behind a proxy on 127.0.0.1 (uvicorn's default trusted address), the per-IP limit counts
    the client the proxy names in X-Forwarded-For, on the short path as on the ASGI one."""
    live = studio_with("  burst_per_ip: 2\n  votes_per_s_per_ip: 0.01\n")
    _open(live, "p1", ["yes", "no"])
    voters = [_device(live)["Authorization"].removeprefix("Bearer ") for _ in range(4)]
    sent = [
        _raw_http(live, _vote_request("p1", token, "yes", f"X-Forwarded-For: {ip}"), 1)[0][0]
        for token, ip in zip(voters, ["203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.9"])
    ]
    assert sent == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 429 Too Many Requests", "HTTP/1.1 200 OK"]
    audit = live.call(lambda: live.studio.poll_store.audit("p1"))
    assert [entry["ip"] for entry in audit] == ["203.0.113.7", "203.0.113.7", "198.51.100.9"]


def test_a_vote_that_fails_unexpectedly_is_answered_500_and_the_connection_lives_on(studio_with):
    """The short vote path has no ASGI task to turn a bug into a response: it answers 500 itself
    (logged), and the next request on the same connection is served."""
    live = studio_with()
    _open(live, "p1", ["yes", "no"])
    token = _device(live)["Authorization"].removeprefix("Bearer ")
    batcher = live.studio.vote_batcher

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    batcher.submit = broken
    try:
        request = _vote_request("p1", token, "yes") + b"GET /healthz HTTP/1.1\r\nHost: studio\r\n\r\n"
        (status, _, payload), (health, _, _) = _raw_http(live, request, 2)
    finally:
        del batcher.submit
    assert status == "HTTP/1.1 500 Internal Server Error" and "may not have counted" in json.loads(payload)["error"]
    assert health == "HTTP/1.1 200 OK"
    assert live.call(lambda: live.studio.poll_store.counts("p1")) == {}
