"""The surprise challenge on the real vLLM engine (CPU): viewers vote which question is asked,
the winner goes to every contestant live; in the next round the director overrides the vote."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from stages.surprise import poll_id_for
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio

REPO = Path(__file__).resolve().parent.parent
SCRIPT = """
show: {id: surprise, title: "Surprise!", autopilot_pause_s: 0}
engines:
  local: {kind: vllm, model: smollm2-135m-instruct, dtype: float32, enforce_eager: true, max_model_len: 1024, kv_cache_gib: 0.5}
contestants:
  - {id: ada, name: Ada, engine: local}
  - {id: bao, name: Bao, engine: local}
stages:
  - kind: surprise
    bank: BANK
    rounds: 2
    candidates: 2
    vote_s: 60
    sampling: {temperature: 0, max_tokens: 8, seed: 1}
    time_limit_s: 30
"""


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("surprise")
    (tmp / "show.yaml").write_text(SCRIPT.replace("BANK", str(REPO / "show_scripts/banks/starter.yaml")))
    script = load_script(tmp / "show.yaml")
    with LiveStudio(Studio(script, tmp / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        assert live.command("start").json()["changed"]
        first = _wait_poll(live, poll_id_for(0, 1))
        # Three phones: two pick the second candidate, one the first.
        picks = [first["choices"][1]["id"], first["choices"][1]["id"], first["choices"][0]["id"]]
        for choice in picks:
            token = httpx.post(f"{live.base}/api/audience/device").json()["token"]
            vote = httpx.post(
                f"{live.base}/api/polls/{first['poll_id']}/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {token}"}
            )
            assert vote.status_code == 200, vote.text
        time.sleep(0.5)
        assert live.post_command("poll_close", {"poll": first["poll_id"]}).json()["changed"]
        second = _wait_poll(live, poll_id_for(0, 2))
        override = second["choices"][0]["id"]
        assert live.post_command("poll_close", {"poll": second["poll_id"], "winner": override}).json()["changed"]
        thread.join(timeout=240)
        yield {
            "live": live,
            "program": program,
            "first": first,
            "second": second,
            "voted": picks[0],
            "override": override,
            "state": live.state(),
        }


def _wait_poll(live: LiveStudio, poll_id: str, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while (poll := live.state()["polls"].get(poll_id)) is None:
        assert time.monotonic() < deadline, f"poll {poll_id} never opened"
        time.sleep(0.3)
    return poll


def test_the_audience_winner_is_asked_to_everyone_live(show):
    program = show["program"]
    assert program.error is None, program.error
    asked = [e["data"] for e in program.of_type("question.asked")]
    assert [q["question_id"] for q in asked] == [show["voted"], show["override"]]
    first = show["state"]["polls"][show["first"]["poll_id"]]
    assert first["winner"] == show["voted"] and first["decided_by"] == "audience"
    assert first["counts"] == {show["voted"]: 2, show["first"]["choices"][0]["id"]: 1}
    tokens = {(e["data"]["question_id"], e["data"]["contestant"]) for e in program.of_type("answer.token")}
    assert {(show["voted"], "ada"), (show["voted"], "bao")} <= tokens  # streamed live from both


def test_the_director_can_override_the_vote(show):
    second = show["state"]["polls"][show["second"]["poll_id"]]
    assert second["winner"] == show["override"] and second["decided_by"] == "director"
    assert show["state"]["show"]["status"] == "completed"
    # The ballot offered fresh questions each round, plus the cold one.
    ids = [c["id"] for c in show["first"]["choices"]] + [c["id"] for c in show["second"]["choices"]]
    assert ids.count("random") == 2 and len(set(ids) - {"random"}) == 4


def test_the_head_to_head_results_reach_the_leaderboard(show):
    deadline = time.monotonic() + 10
    while True:  # recomputed after each closed question, a moment later
        board = show["live"].state()["leaderboard"]
        if board and board["matches"] >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert board is not None and board["matches"] >= 2  # accuracy per question at least
    assert sorted(r["contestant"] for r in board["rows"]) == ["ada", "bao"]
    assert all(r["dimensions"]["accuracy"]["matches"] >= 2 for r in board["rows"])
