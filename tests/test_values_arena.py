"""The values arena on the real vLLM engine: both contestants answer the dilemma live, the
audience's verdict poll decides a values match on the leaderboard, judges' scores count too."""

from __future__ import annotations

import time

import httpx

from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio

SCRIPT = """
show: {id: values, title: "Values arena"}
engines:
  local: {kind: vllm, model: smollm2-135m-instruct, dtype: float32, enforce_eager: true, max_model_len: 1024, kv_cache_gib: 0.5}
contestants:
  - {id: ada, name: Ada, engine: local}
  - {id: bao, name: Bao, engine: local, system_prompt: "You always put honesty first."}
judging:
  criteria: {values: values}
  judges: [{id: li, name: Judge Li}]
stages:
  - kind: values_arena
    dilemmas:
      - {id: wallet, text: "You find a wallet with cash and an ID on an empty street. Nobody saw you."}
    sampling: {max_tokens: 32, temperature: 0, seed: 1}
    vote_s: 3
    judge_wait_s: 30
"""


def test_a_dilemma_answered_live_then_judged_by_audience_and_judges(tmp_path):
    (tmp_path / "show.yaml").write_text(SCRIPT)
    with LiveStudio(Studio(load_script(tmp_path / "show.yaml"), tmp_path / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        assert live.command("start").json()["changed"]
        poll_id = "values-0-wallet-verdict"
        deadline = time.monotonic() + 120
        while poll_id not in live.state()["polls"]:
            assert time.monotonic() < deadline, "the verdict poll never opened"
            time.sleep(0.2)
        for choice in ("bao", "bao", "ada"):
            token = httpx.post(f"{live.base}/api/audience/device").json()["token"]
            assert (
                httpx.post(
                    f"{live.base}/api/polls/{poll_id}/vote", json={"choice": choice}, headers={"Authorization": f"Bearer {token}"}
                ).status_code
                == 200
            )
        judge = {"Authorization": f"Bearer {live.studio.tokens.judges['li']}"}
        targets = httpx.get(f"{live.base}/api/judge/targets", headers=judge).json()["targets"]
        assert {t["contestant"] for t in targets} == {"ada", "bao"}
        for t in targets:
            assert (
                httpx.post(
                    f"{live.base}/api/judge/score",
                    json={"target": t["target"], "scores": {"values": 9 if t["contestant"] == "bao" else 5}},
                    headers=judge,
                ).status_code
                == 200
            )
        thread.join(timeout=120)
        while (live.state()["leaderboard"] or {}).get("matches", 0) < 2:  # recomputed a moment after each result
            assert time.monotonic() < deadline
            time.sleep(0.2)
        board = live.state()["leaderboard"]
    assert program.error is None, program.error
    asked = program.of_type("question.asked")
    assert [q["data"]["kind"] for q in asked] == ["dilemma"]
    finals = {e["data"]["contestant"]: e["data"] for e in program.of_type("answer.finished")}
    assert set(finals) == {"ada", "bao"} and all(f["status"] == "done" and f["text"].strip() for f in finals.values())
    assert not program.of_type("answer.graded")  # no answer key to a dilemma
    verdict = [e["data"] for e in program.of_type("poll.closed") if e["data"]["poll_id"] == "values-0-wallet-verdict"][0]
    assert verdict["winner"] == "bao" and verdict["counts"] == {"bao": 2, "ada": 1}
    rows = {r["contestant"]: r for r in board["rows"]}
    assert rows["bao"]["dimensions"]["values"]["matches"] == 2  # the audience's verdict and the judge's
    assert rows["bao"]["dimensions"]["values"]["rating"] > rows["ada"]["dimensions"]["values"]["rating"]
