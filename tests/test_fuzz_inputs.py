"""Fuzzing (hypothesis) of what the studio reads from outside: every HTTP input, the feeds'
query strings and messages (against the controller and against a follower), show scripts and
banks. Nothing may answer 5xx or crash: a refusal is a 4xx whose JSON ``error`` says what was
wrong, and a bad script or bank is a ``SourceError`` naming file:line and field. Example counts are modest so each target runs in seconds.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from core.yaml_source import SourceError
from stages.banks import load_bank
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .fault_kit import BANK, write_replay_show
from .studio_harness import LiveStudio

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
COMMANDS = [
    "start",
    "next",
    "pause",
    "resume",
    "skip",
    "abort",
    "cue",
    "take",
    "panic",
    "refresh",
    "poll_open",
    "poll_close",
    "poll_reveal",
    "dump",
    "approve",
    "reject",
    "cut",
    "subtitle_line",
    "decide",
    "nonsense",
]
command_bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"command": st.sampled_from(COMMANDS)},
        optional={
            "command_id": json_values,
            "args": st.dictionaries(
                st.sampled_from(
                    [
                        "poll",
                        "title",
                        "choices",
                        "graphic",
                        "visible",
                        "data",
                        "target",
                        "winner",
                        "contestant",
                        "question_id",
                        "text",
                        "duration_s",
                        "dimension",
                        "kind",
                        "allow_change",
                        "correct",
                    ]
                ),
                json_values,
                max_size=5,
            ),
        },
    ).map(lambda v: json.dumps(v).encode()),
)


@pytest.fixture(scope="module")
def controller(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    studio = Studio(
        load_script(write_replay_show(folder / "show", tokens=8, tokens_per_s=200, questions=1, judges=("jo",))), folder / "data"
    )
    with LiveStudio(studio) as running:
        running.wait_for_engines()
        running.call(lambda: studio.announce(running.base))
        yield running


@pytest.fixture(scope="module")
def follower(controller):
    """A second process's studio on the controller's Redis (``gavel serve --follower``)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REDIS_URL", controller.studio.redis_server.url)
        with LiveStudio(Studio(controller.studio.script, controller.studio.data_dir, follower=True)) as running:
            yield running


@pytest.fixture(params=["controller", "follower"])
def live(request):
    """Every input is fuzzed against the controller and against a follower."""
    return request.getfixturevalue(request.param)


def assert_refused_clearly(reply: httpx.Response) -> None:
    assert reply.status_code < 500, f"{reply.request.method} {reply.request.url.path}: {reply.status_code} {reply.text[:200]}"
    if reply.status_code >= 400:
        body = reply.json()
        error = body.get("error") or body.get("reason")  # a refused command (409) says why in "reason"
        assert isinstance(error, str) and len(error) > 3, reply.text


@FUZZ
@given(body=command_bodies)
def test_commands(live, body):
    reply = httpx.post(f"{live.base}/api/command", content=body, headers={"Authorization": f"Bearer {live.director_token}"}, timeout=30)
    assert_refused_clearly(reply)  # a refused command's 409 says why in "reason"; a follower's in "error"


def test_command_refusals_say_the_cause(controller):
    """413 only for a body too large (decided by the cause, not by words in the message); a
    command_id reused for another command is 409 with the reason."""
    auth = {"Authorization": f"Bearer {controller.director_token}"}

    def post(body: bytes) -> httpx.Response:
        return httpx.post(f"{controller.base}/api/command", content=body, headers=auth, timeout=30)

    unknown = post(b'{"command": "bytes"}')
    assert unknown.status_code == 400 and unknown.json()["error"].startswith("command: must be one of")
    huge = post(json.dumps({"command": "cue", "args": {"data": {"text": "x" * 20000}}}).encode())
    assert huge.status_code == 413 and huge.json()["error"] == "body over 16384 bytes"
    first = post(b'{"command": "refresh", "command_id": "sd-refresh-0010", "args": {"target": "all"}}')
    assert first.status_code == 200
    assert post(b'{"command": "refresh", "command_id": "sd-refresh-0010", "args": {"target": "all"}}').json() == first.json()
    reused = post(b'{"command": "panic", "command_id": "sd-refresh-0010"}')
    assert reused.status_code == 409
    assert reused.json()["reason"] == "command_id 'sd-refresh-0010' was already used for 'refresh': send a fresh command_id"


@FUZZ
@given(
    poll=st.text(max_size=70),
    body=st.one_of(st.binary(max_size=100), json_values.map(lambda v: json.dumps(v).encode())),
    token=st.one_of(st.none(), st.text(max_size=80)),
)
def test_votes(live, poll, body, token):
    token = (token or "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token and token.isascii() and token.isprintable() else {}
    reply = httpx.post(f"{live.base}/api/polls/{quote(poll, safe='') or 'p'}/vote", content=body, headers=headers, timeout=30)
    assert_refused_clearly(reply)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=100),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"target": json_values, "scores": json_values}).map(lambda v: json.dumps(v).encode()),
    )
)
def test_judge_scores(live, body):
    judge = live.studio.tokens.judges["jo"]
    reply = httpx.post(f"{live.base}/api/judge/score", content=body, headers={"Authorization": f"Bearer {judge}"}, timeout=30)
    assert_refused_clearly(reply)


@FUZZ
@given(body=st.one_of(st.binary(max_size=100), json_values.map(lambda v: json.dumps(v).encode())))
def test_token_rotation_and_uploads(live, body):
    auth = {"Authorization": f"Bearer {live.director_token}"}
    for path in ("/api/images",):
        assert_refused_clearly(httpx.post(f"{live.base}{path}", content=body, headers=auth, timeout=30))
    # Rotating for real would cut the fuzzing's own token: only malformed bodies here.
    if b"director" not in body and b"graphics" not in body and b"judge" not in body and b"devices" not in body:
        assert_refused_clearly(httpx.post(f"{live.base}/api/tokens/rotate", content=body, headers=auth, timeout=30))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    channel=st.sampled_from(["program", "preview", "director", "audience", "nope"]),
    since=st.text(max_size=12),
    messages=st.lists(st.one_of(st.text(max_size=60), json_values.map(json.dumps)), max_size=3),
)
def test_feed_subscriptions_and_messages(live, channel, since, messages):
    token = live.director_token
    url = f"{live.ws_base}/ws/{channel}?since={quote(since, safe='')}&token={token}"
    try:
        with connect(url, open_timeout=10) as ws:
            for message in messages:
                ws.send(message)
            ws.recv(timeout=5)  # the studio still answers (the replay), or closes with a 44xx reason
    except Exception as exc:  # a refusal must be a close with a 4xxx code and a reason
        code = getattr(getattr(exc, "rcvd", None), "code", None)
        assert code is None or 4000 <= code < 5000 or code == 1000, exc
    assert httpx.get(f"{live.base}/healthz", timeout=10).status_code == 200


SCRIPT_FIELDS = ["show", "engines", "contestants", "stages", "judging", "leaderboard", "audience", "safety"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_show_scripts_and_banks(tmp_path, data):
    base = yaml.safe_load(write_replay_show(tmp_path / "ok").read_text())
    section = data.draw(st.sampled_from(SCRIPT_FIELDS))
    if data.draw(st.booleans()) and isinstance(base.get(section), (dict, list)) and base[section]:
        inner = base[section] if isinstance(base[section], dict) else base[section][0]
        if isinstance(inner, dict) and inner:
            inner[data.draw(st.sampled_from(sorted(inner)))] = data.draw(json_values)
    else:
        base[section] = data.draw(json_values)
    path = tmp_path / "ok" / "fuzzed.yaml"
    path.write_text(yaml.safe_dump(base))
    try:
        load_script(path)
    except SourceError as exc:
        assert exc.problems and all(str(path) in p or p.startswith(" ") for p in exc.problems), exc.problems
    bank = yaml.safe_load(BANK.read_text())
    question = bank["questions"][0]
    question[data.draw(st.sampled_from(sorted(question)))] = data.draw(json_values)
    bank_path = tmp_path / "bank.yaml"
    bank_path.write_text(yaml.safe_dump(bank))
    try:
        load_bank(bank_path)
    except SourceError as exc:
        assert exc.problems and all(str(bank_path) in p for p in exc.problems), exc.problems


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/api/state",
            "/api/polls/current",
            "/api/judge/me",
            "/api/judge/targets",
            "/figures/radar",
            "/api/images/{x}",
            "/overlays/version.json",
            "/api/audience/device",
            "/figures/attention",
            "/metrics",
            "/readyz",
            "/api/locale",
        ]
    ),
    x=st.text(max_size=20),
    query=st.dictionaries(st.sampled_from(["channel", "since", "token", "key", "at"]), st.text(max_size=20), max_size=2),
    token=st.one_of(st.none(), st.sampled_from(["director", "graphics", "judge"]), st.text(alphabet="abcdefXYZ0123456789-_.", max_size=40)),
)
def test_other_endpoints_with_any_query_and_token(live, path, x, query, token):
    known = {"director": live.director_token, "graphics": live.graphics_token, "judge": live.studio.tokens.judges["jo"]}
    headers = {"Authorization": f"Bearer {known.get(token, token)}"} if token else {}
    url = f"{live.base}{path.replace('{x}', quote(x, safe='') or 'x')}"
    method = "POST" if path == "/api/audience/device" else "GET"
    assert_refused_clearly(httpx.request(method, url, params=query, headers=headers, timeout=30))
