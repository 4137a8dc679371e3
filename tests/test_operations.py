"""Operating the studio, on real parts (uvicorn, Redis, sockets, the replay engine's tokens):

- ``/metrics`` in Prometheus text, scraped after real actions: a socket connected and gone, a show
  played (events per channel equal to the log's seqs, fan-out lag observed once per event, TTFT and
  TPOT per engine once per answer, the filter's hits equal to its ``safety.hit`` events), votes
  accepted and refused; the director or graphics token is needed.
- ``/healthz`` and ``/readyz``: ready once Redis answers and the engines have started; 503 with the
  reason while an engine is still starting (a real server that accepts and never answers) and
  once Redis has gone.
- ``gavel serve --log-format json``: every stderr line one JSON object with ts, level, logger and
  message, and show and stage once known.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .conftest import free_port
from .studio_harness import LiveStudio, engineless_pool, subprocess_env

REPO = Path(__file__).resolve().parent.parent

TAPE = {
    "answers": [
        {"contestant": "ada", "match": "capital", "tokens": ["Paris", " is", " the", " answer."]},
        {"contestant": "bao", "match": "capital", "tokens": ["I", " think", " Paris."]},
        # The shipped rule list masks "forbidden phrase": one hit per answer that says it.
        {"contestant": "ada", "match": "colour", "tokens": ["Blue", ", the forb", "idden phrase", " aside."]},
        {"contestant": "bao", "match": "colour", "tokens": ["Blue", " of", " course."]},
    ]
}
BANK = {
    "name": "ops",
    "questions": [
        {"id": "q1", "question": "What is the capital of France?", "kind": "exact", "answer": "Paris"},
        {"id": "q2", "question": "What colour is the sky?", "kind": "exact", "answer": "Blue"},
    ],
}
SHOW = """
show: {id: ops, title: "Operations", autopilot_pause_s: 0}
engines:
  tape: ENGINE
contestants:
  - {id: ada, name: Ada, engine: tape}
  - {id: bao, name: Bao, engine: tape}
stages:
  - kind: speed_qa
    title: Quick round
    bank: bank.yaml
    questions: 2
    time_limit_s: 20
    sampling: {max_tokens: 32}
"""


def write_show(tmp: Path, engine: str = "{kind: replay, file: tape.yaml, tokens_per_s: 40}") -> Path:
    (tmp / "tape.yaml").write_text(yaml.safe_dump(TAPE))
    (tmp / "bank.yaml").write_text(yaml.safe_dump(BANK))
    (tmp / "show.yaml").write_text(SHOW.replace("ENGINE", engine))
    return tmp / "show.yaml"


def scrape(live: LiveStudio, token: str | None = None) -> dict[tuple[str, tuple], float]:
    """Every sample on /metrics as {(name, sorted labels): value}."""
    response = httpx.get(f"{live.base}/metrics", headers={"Authorization": f"Bearer {token or live.graphics_token}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_until(check, timeout_s: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ops")
    with LiveStudio(Studio(load_script(write_show(tmp)), tmp / "data")) as running:
        running.wait_for_engines()
        yield running


def test_metrics_need_the_director_or_graphics_token(live):
    assert httpx.get(f"{live.base}/metrics").status_code == 401
    wrong = httpx.get(f"{live.base}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and "director or graphics" in wrong.json()["error"]
    assert httpx.get(f"{live.base}/metrics", headers={"Authorization": f"Bearer {live.director_token}"}).status_code == 200
    assert httpx.get(f"{live.base}/metrics?token={live.graphics_token}").status_code == 200


def test_healthz_and_readyz_once_up(live):
    assert httpx.get(f"{live.base}/healthz").json() == {"ok": True}
    ready = httpx.get(f"{live.base}/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "reason": "", "engine_errors": {}}


def test_connected_clients_per_channel_follow_the_sockets(live):
    before = scrape(live)
    assert value(before, "gavel_clients_connected", channel="preview") == 0
    with (
        connect(f"{live.ws_base}/ws/preview?token={live.graphics_token}") as first,
        connect(f"{live.ws_base}/ws/preview?token={live.graphics_token}"),
        connect(f"{live.ws_base}/ws/audience"),
    ):
        first.recv(timeout=10)  # served: the replay of the log has begun
        wait_until(lambda: value(scrape(live), "gavel_clients_connected", channel="preview") == 2, what="2 preview sockets")
        assert value(scrape(live), "gavel_clients_connected", channel="audience") == 1
    wait_until(lambda: value(scrape(live), "gavel_clients_connected", channel="preview") == 0, what="sockets gone")


def test_votes_accepted_and_refused_are_counted_by_result(live):
    opened = live.post_command("poll_open", {"poll": "ops-poll", "title": "Best?", "choices": ["ada", "bao"]})
    assert opened.json()["ok"], opened.text
    before = scrape(live)
    phones = [httpx.post(f"{live.base}/api/audience/device").json()["token"] for _ in range(3)]
    vote = lambda token, choice: httpx.post(  # noqa: E731
        f"{live.base}/api/polls/ops-poll/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {token}"}
    )
    assert [vote(t, "ada").status_code for t in phones] == [200, 200, 200]
    assert vote(phones[0], "bao").status_code == 409  # no changing here
    assert vote(phones[1], "nobody").status_code == 400
    assert vote("forged", "ada").status_code == 403
    after = scrape(live)
    moved = lambda outcome, result: (
        value(after, "gavel_votes_total", outcome=outcome, result=result)
        - value(  # noqa: E731
            before, "gavel_votes_total", outcome=outcome, result=result
        )
    )
    assert moved("accepted", "accepted") == 3
    assert moved("refused", "already_voted") == 1
    assert moved("refused", "bad_choice") == 1
    assert moved("refused", "bad_token") == 1
    assert live.post_command("poll_close", {"poll": "ops-poll"}).json()["ok"]


def test_a_show_moves_events_lag_engine_figures_and_filter_hits(live):
    before = scrape(live)
    director, thread = live.recorder("director")
    assert live.command("start").json()["changed"]
    thread.join(timeout=120)
    assert director.error is None, director.error
    state = live.state()
    assert state["show"]["status"] == "completed"

    def caught_up() -> bool:
        samples = scrape(live)
        return all(value(samples, "gavel_channel_last_seq", channel=c) == live.studio.hubs[c].last_seq > 0 for c in ("program", "director"))

    wait_until(caught_up, what="hubs caught up")
    after = scrape(live)
    for channel in ("program", "preview", "director", "audience"):
        last_seq = value(after, "gavel_channel_last_seq", channel=channel)
        # Every event the channel's log holds was read live by the hub (the studio was up from seq 1).
        assert value(after, "gavel_events_total", channel=channel) == last_seq, channel
        assert value(after, "gavel_fanout_lag_seconds_count", channel=channel) == last_seq, channel
    moved = value(after, "gavel_events_total", channel="director") - value(before, "gavel_events_total", channel="director")
    assert moved >= len([e for e in director.events if e["seq"] > value(before, "gavel_channel_last_seq", channel="director")])
    lag_sum = value(after, "gavel_fanout_lag_seconds_sum", channel="program")
    assert 0 < lag_sum / value(after, "gavel_fanout_lag_seconds_count", channel="program") < 1.0  # live, no delay: well under a second

    finished = director.of_type("answer.finished")
    assert len(finished) == 4 and all(e["data"]["status"] == "done" for e in finished)
    assert value(after, "gavel_answers_total", engine="tape", status="done") == 4
    assert value(after, "gavel_engine_ttft_seconds_count", engine="tape") == 4
    assert value(after, "gavel_engine_tpot_seconds_count", engine="tape") == 4
    ttft_sum = sum(e["data"]["metrics"]["ttft"] for e in finished)
    assert value(after, "gavel_engine_ttft_seconds_sum", engine="tape") == pytest.approx(ttft_sum, rel=1e-6)
    assert value(after, "gavel_engine_in_flight", engine="tape") == 0

    hits = director.of_type("safety.hit")
    assert len(hits) == 1 and hits[0]["data"]["action"] == "mask"
    assert value(after, "gavel_filter_hits_total", action="mask", kind="phrase") == 1


def test_readyz_says_engines_are_still_starting(tmp_path):
    """An engine whose server accepts the connection and never answers keeps the pool starting."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        script = write_show(tmp_path, f'{{kind: openai, base_url: "http://127.0.0.1:{port}/v1", model: m, timeout_s: 60}}')
        with LiveStudio(Studio(load_script(script), tmp_path / "data")) as live:
            response = httpx.get(f"{live.base}/readyz", timeout=10)
            assert response.status_code == 503
            assert response.json() == {"ready": False, "reason": "engines: still starting", "engine_errors": {}}
            assert value(scrape(live), "gavel_engines_ready") == 0
            assert httpx.get(f"{live.base}/healthz").status_code == 200  # alive all the same


def test_readyz_says_redis_is_gone(tmp_path):
    studio = Studio(load_script(write_show(tmp_path)), tmp_path / "data", pool=engineless_pool())
    with LiveStudio(studio) as live:
        assert httpx.get(f"{live.base}/readyz", timeout=10).status_code == 200
        studio.redis_server.stop()
        response = httpx.get(f"{live.base}/readyz", timeout=10)
        assert response.status_code == 503
        body = response.json()
        assert body["ready"] is False and body["reason"].startswith("redis: ") and "ConnectionError" in body["reason"]


def test_serve_writes_json_log_lines_with_show_and_stage(tmp_path):
    script = write_show(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "studio.cli",
            "serve",
            str(script),
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            str(port),
            "--autopilot",
            "--log-format",
            "json",
        ],
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def completed() -> bool:
            assert proc.poll() is None, proc.stderr.read()
            try:
                token = json.loads((tmp_path / "data" / "secrets.json").read_text())["director"]
                state = httpx.get(f"{base}/api/state", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
            except (OSError, ValueError, KeyError, httpx.TransportError):
                return False
            return state.get("show", {}).get("status") == "completed"

        wait_until(completed, timeout_s=120, what="the show to complete")
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # any non-JSON line fails here
    assert lines, "no log lines"
    for line in lines:
        assert {"ts", "level", "logger", "message"} <= set(line), line
        assert line["ts"].endswith("+00:00") and line["level"] in ("debug", "info", "warning", "error", "critical")
    assert any(line["logger"] == "gavel.studio" and line.get("show") == "ops" for line in lines)
    started = [line for line in lines if line["logger"] == "gavel.controller" and line["message"].startswith("start by autopilot")]
    assert started and started[0]["stage"] == 0 and started[0]["show"] == "ops"
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # the server's own lines too
