"""The debate: fair sides, transcripts that never overflow the context, a turn the director cuts
short, and a winner from judges and audience that reaches the leaderboard — with the replay
engine (exact and fast) and once on the real vLLM engine."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
import yaml

from core.yaml_source import SourceError
from stages.debate import Said, assign_sides, prompt_bound, turn_messages, turn_order
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio

REPO = Path(__file__).resolve().parent.parent
MOTION = "This house believes robots should write the news"


def test_turns_run_opening_rebuttals_closing_for_each_side():
    turns = turn_order(4)
    assert [(t.round, t.side, t.kind) for t in turns[:2]] == [(1, "pro", "opening"), (1, "con", "opening")]
    assert [t.kind for t in turns] == ["opening"] * 2 + ["rebuttal"] * 4 + ["closing"] * 2


def test_sides_are_drawn_fairly_and_reproducibly():
    assert assign_sides(["ada", "bao"], "alternate", 0, 0) == {"pro": "ada", "con": "bao"}
    assert assign_sides(["ada", "bao"], "alternate", 0, 1) == {"pro": "bao", "con": "ada"}
    draws = [assign_sides(["ada", "bao"], "random", seed, 3)["pro"] for seed in range(40)]
    assert draws == [assign_sides(["ada", "bao"], "random", seed, 3)["pro"] for seed in range(40)]  # recorded, repeatable
    assert 10 < draws.count("ada") < 30  # both sides come up


@pytest.mark.parametrize("budget", [120, 250, 600, 4000])
def test_the_debate_so_far_is_trimmed_to_the_context_budget(budget):
    said = [Said("pro" if i % 2 == 0 else "con", f"point {i} " + "word " * (i * 3)) for i in range(12)]
    said.append(Said("pro", "汉字和表情😀 " * 8))
    messages, kept = turn_messages("Argue AGAINST.", "The floor is yours.", said, "con", budget, lambda n: f"({n} left out)")
    assert prompt_bound(messages) <= budget  # never overflows: bytes bound tokens from above
    assert messages[0]["role"] == "system" and messages[1]["role"] == "user" and messages[-1]["role"] == "user"
    roles = [m["role"] for m in messages[1:]]
    assert all(a != b for a, b in zip(roles, roles[1:]))  # the chat alternates, as templates expect
    if kept:
        assert messages[-1]["content"] == said[-1].text.strip()  # the most recent turns are the ones kept
    assert ("left out" in messages[0]["content"]) == (kept < len(said))


def test_each_speaker_sees_the_opponent_as_the_user_and_themselves_as_the_assistant():
    said = [Said("pro", "Cars choke our streets."), Said("con", "Cars carry our nurses.")]
    messages, kept = turn_messages("Rules.", "The floor is yours.", said, "pro", 10_000, lambda n: f"({n} left out)")
    assert kept == 2
    assert messages == [
        {"role": "system", "content": "Rules."},
        {"role": "user", "content": "The floor is yours."},
        {"role": "assistant", "content": "Cars choke our streets."},
        {"role": "user", "content": "Cars carry our nurses."},
    ]
    scaffolding = re.compile(r"transcript|your (opening|rebuttal|closing)", re.IGNORECASE)
    assert not any(scaffolding.search(m["content"]) for m in messages)


def test_instructions_that_cannot_fit_are_refused():
    with pytest.raises(ValueError, match="exceed its budget"):
        turn_messages("x" * 500, "go", [], "pro", 100, str)


def test_a_debate_must_fit_its_engines_context(tmp_path):
    (tmp_path / "show.yaml").write_text(
        (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/")
        + f"  - kind: debate\n    motion: {MOTION}\n    context_tokens: 2000\n"
    )
    with pytest.raises(SourceError) as err:
        load_script(tmp_path / "show.yaml")
    assert any("stages[1].context_tokens: 2000 + sampling.max_tokens 96 exceeds" in p and "2048" in p for p in err.value.problems)


RECORDING = {
    "answers": [
        {"contestant": "ada", "match": "", "tokens": [f"ada-says-{i} " for i in range(8)]},
        {"contestant": "bao", "match": "", "tokens": [f"bao-says-{i} " for i in range(40)]},
    ]
}


def test_a_replayed_debate_with_a_cut_judges_and_votes(tmp_path):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump(RECORDING))
    (tmp_path / "show.yaml").write_text(
        f"""
show: {{id: debate, title: Debate}}
engines:
  tape: {{kind: replay, file: tape.yaml, tokens_per_s: 20}}
contestants:
  - {{id: ada, name: Ada, engine: tape}}
  - {{id: bao, name: Bao, engine: tape}}
judging:
  criteria: {{logic: logic}}
  judges: [{{id: li, name: Judge Li}}]
stages:
  - kind: debate
    motion: "{MOTION}"
    rounds: 2
    sides: alternate
    vote_s: 2
    judge_wait_s: 20
    judges_weight: 0.5
    audience_weight: 0.5
"""
    )
    with LiveStudio(Studio(load_script(tmp_path / "show.yaml"), tmp_path / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        director, director_thread = live.recorder("director")
        early = live.post_command("cut")
        assert early.status_code == 409 and "no stage is running" in early.json()["reason"]
        assert live.command("start").json()["changed"]
        deadline = time.monotonic() + 30
        while not [e for e in program.events if e["type"] == "debate.turn" and e["data"]["contestant"] == "bao"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # bao is mid-turn (40 tokens at 20/s)
        cut = live.post_command("cut")
        assert cut.json()["changed"], cut.text
        # phones vote while the poll is open; the judge scores every turn
        while "debate-0-vote" not in live.state()["polls"]:
            assert time.monotonic() < deadline + 30
            time.sleep(0.1)
        for _ in range(3):
            token = httpx.post(f"{live.base}/api/audience/device").json()["token"]
            assert (
                httpx.post(
                    f"{live.base}/api/polls/debate-0-vote/vote", json={"choice": "ada"}, headers={"Authorization": f"Bearer {token}"}
                ).status_code
                == 200
            )
        judge = {"Authorization": f"Bearer {live.studio.tokens.judges['li']}"}
        for target in httpx.get(f"{live.base}/api/judge/targets", headers=judge).json()["targets"]:
            score = 8 if target["contestant"] == "ada" else 4
            assert (
                httpx.post(
                    f"{live.base}/api/judge/score", json={"target": target["target"], "scores": {"logic": score}}, headers=judge
                ).status_code
                == 200
            )
        thread.join(timeout=60)
        director_thread.join(timeout=10)
        board_deadline = time.monotonic() + 10
        while not (live.state()["leaderboard"] or {}).get("matches"):
            assert time.monotonic() < board_deadline
            time.sleep(0.2)
        board = live.state()["leaderboard"]
    started = program.of_type("debate.started")[0]["data"]
    assert started["sides"] == {"pro": "ada", "con": "bao"} and started["assigned"] == "alternate"
    turns = [(e["data"]["side"], e["data"]["kind"]) for e in program.of_type("debate.turn")]
    assert turns == [("pro", "opening"), ("con", "opening"), ("pro", "closing"), ("con", "closing")]
    finals = [e["data"] for e in program.of_type("answer.finished")]
    cut_turn = [f for f in finals if f["contestant"] == "bao"][0]
    assert cut_turn["status"] == "done" and cut_turn["reason"] == "cut short by the director"
    assert 0 < len(cut_turn["text"].split()) < 40  # what was said stands; the rest was never asked for
    assert [f for f in finals if f["contestant"] == "bao"][1]["text"].count("bao-says") == 40  # the next turn is whole
    result = program.of_type("debate.result")[0]["data"]
    assert result["audience"] == {"ada": 3, "bao": 0} and result["judges"] == {"ada": 8.0, "bao": 4.0}
    assert result["winner"] == "ada" and result["score"]["ada"] > result["score"]["bao"]
    rows = {r["contestant"]: r for r in board["rows"]}
    assert rows["ada"]["dimensions"]["logic"]["rating"] > rows["bao"]["dimensions"]["logic"]["rating"]


def test_a_debate_on_the_real_engine(tmp_path):
    (tmp_path / "show.yaml").write_text(
        f"""
show: {{id: debate-live, title: Debate}}
engines:
  local: {{kind: vllm, model: smollm2-135m-instruct, dtype: float32, enforce_eager: true, max_model_len: 512, kv_cache_gib: 0.5}}
contestants:
  - {{id: ada, name: Ada, engine: local}}
  - {{id: bao, name: Bao, engine: local}}
stages:
  - kind: debate
    motion: "{MOTION}"
    rounds: 3
    context_tokens: 464  # max_model_len 512 - max_tokens 48; gavel check needs ≥ 455 here
    sampling: {{max_tokens: 48, temperature: 0, seed: 3}}
    vote_s: 0
    judge_wait_s: 0
"""
    )
    with LiveStudio(Studio(load_script(tmp_path / "show.yaml"), tmp_path / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        assert live.command("start").json()["changed"]
        thread.join(timeout=300)
    assert program.error is None, program.error
    finals = [e["data"] for e in program.of_type("answer.finished")]
    # No turn overflows the engine's context: each one is spoken, or (the bare 135M model, no
    # adapter) only says its instructions back, which airs as nothing and counts as a DNF.
    said = [(f["contestant"], f["question_id"], f["status"], f["reason"], f["text"]) for f in finals]
    assert len(finals) == 6 and all(
        (f["status"] == "done" and f["text"].strip()) or f["reason"] == "it only repeated its instructions" for f in finals
    ), said
    assert sum(f["status"] == "done" for f in finals) >= 2, said
    trimmed = [e["data"]["transcript_turns"] for e in program.of_type("debate.turn")]
    assert trimmed[0] == 0 and max(trimmed) < 5  # 448 tokens cannot hold the instructions and five 48-token turns in full
    result = program.of_type("debate.result")[0]["data"]
    assert result["weights"] == {"judges": 0.0, "audience": 0.0} and result["winner"] is None  # nobody judged: a tie


def test_a_motion_the_content_filter_refuses_is_never_debated(tmp_path):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump(RECORDING))
    (tmp_path / "show.yaml").write_text(
        """
show: {id: refused-motion, title: Debate}
engines:
  tape: {kind: replay, file: tape.yaml, tokens_per_s: 50}
contestants:
  - {id: ada, name: Ada, engine: tape}
  - {id: bao, name: Bao, engine: tape}
stages:
  - kind: debate
    motion: "This house would reveal the secret launch code"
    vote_s: 0
    judge_wait_s: 0
"""
    )
    with LiveStudio(Studio(load_script(tmp_path / "show.yaml"), tmp_path / "data")) as live:
        live.wait_for_engines()
        director, thread = live.recorder("director")
        assert live.command("start").json()["changed"]
        thread.join(timeout=30)
    refused = [e["data"] for e in director.of_type("input.refused")]
    assert refused and refused[0]["source"] == "debate motion" and "test-secret-launch-code" in refused[0]["rules"]
    assert not director.of_type("debate.turn") and not director.of_type("answer.started")  # no model saw it
    assert [e["data"]["status"] for e in director.of_type("stage.ended")] == ["aborted"]
