"""The autopilot as a director: it plays the rundown's graphics plan with the director's own
commands (each logged by autopilot), puts each stage's own graphics on air and nothing else,
leaves the end card up when the show completes, and lets a director at the panel move the show on
without airing a stale title card. Real studio, real Redis, the replay engine (no model)."""

from __future__ import annotations

import time

import yaml

from core.graphics_plan import StageGraphics, stage_plan
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import LiveStudio

RECORDING = {"answers": [{"contestant": "", "match": "", "tokens": ["Gavel ", "time! ", "5."]}]}
BANK = {"name": "b", "questions": [{"id": f"q{i}", "question": f"What is {i} + 1?", "kind": "numeric", "answer": i + 1} for i in range(3)]}
SCRIPT = """
show: {id: pilot, title: Autopilot, autopilot_pause_s: 0}
graphics: {hold_s: 0.3, opening: [{graphic: title_card, data: {show: true}, hold_s: 0.3}, {graphic: lower_third, each_contestant: true, hold_s: 0.3}],
           closing: [{graphic: end_card, hold_s: 0.3}]}
engines:
  tape: {kind: replay, file: tape.yaml, tokens_per_s: 40}
contestants:
  - {id: ada, name: Ada, engine: tape}
  - {id: bao, name: Bao, engine: tape, system_prompt: You are Bao.}
stages:
  - {kind: speed_qa, title: Round one, bank: bank.yaml, questions: 1, graphics: {outro: [radar, {graphic: leaderboard, hold_s: OUTRO}]}}
  - {kind: speed_qa, title: Round two, bank: bank.yaml, questions: 1}
"""


def _studio(tmp_path, outro_s: float = 0.3) -> Studio:
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump(RECORDING))
    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(BANK))
    (tmp_path / "show.yaml").write_text(SCRIPT.replace("OUTRO", str(outro_s)))
    return Studio(load_script(tmp_path / "show.yaml"), tmp_path / "data", autopilot=True)


def _wait(live: LiveStudio, predicate, timeout_s: float = 60, what: str = "condition") -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = live.state()
        if predicate(state):
            return state
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.1)


def test_a_stage_that_names_no_graphics_gets_its_kinds_plan_and_a_title_card_for_itself():
    plan = stage_plan("subtitles", 4, None)
    assert [i.graphic for i in plan.live] == ["subtitles"] and [i.graphic for i in plan.outro] == ["leaderboard"]
    assert plan.intro[0].graphic == "title_card" and plan.intro[0].data == {"stage": 4}
    given = stage_plan("speed_qa", 0, StageGraphics(outro=[]))
    assert given.outro == [] and [i.graphic for i in given.live] == ["duel"]  # what the script leaves out is the kind's


def test_the_autopilot_plays_the_plan_with_logged_commands_and_ends_on_the_end_card(tmp_path):
    with LiveStudio(_studio(tmp_path)) as live:
        director, thread = live.recorder("director")
        thread.join(timeout=120)
        state = live.state()
    assert state["show"]["status"] == "completed"
    commands = [e["data"] for e in director.of_type("director.command")]
    assert commands and all(c["by"] == "autopilot" and c["accepted"] for c in commands), [c for c in commands if not c["accepted"]]
    # The order of what went on program, take by take.
    taken = [sorted(n for n, g in e["data"]["graphics"].items() if g["visible"]) for e in director.of_type("graphics.taken")]
    lower_thirds = [
        e["data"]["data"].get("contestant")
        for e in director.of_type("graphic.cued")
        if e["data"]["graphic"] == "lower_third" and e["data"]["visible"]
    ]
    assert lower_thirds == ["ada", "bao"]
    shown = [t for i, t in enumerate(taken) if i == 0 or t != taken[i - 1]]
    assert shown[-1] == ["end_card"] and state["graphics"]["program"]["end_card"]["visible"]  # left on air
    assert ["duel"] in shown and ["radar"] in shown and ["leaderboard"] in shown
    assert shown.index(["radar"]) < shown.index(["leaderboard"])
    # Each title card announced its own stage before the stage started.
    cards = [e for e in director.events if e["type"] == "graphic.cued" and e["data"]["graphic"] == "title_card" and e["data"]["visible"]]
    assert [c["data"]["data"] for c in cards] == [{"show": True}, {"stage": 0}, {"stage": 1}]
    started = {e["data"]["index"]: e["seq"] for e in director.of_type("stage.started")}
    assert cards[1]["seq"] < started[0] and cards[2]["seq"] < started[1]


def test_a_director_who_moves_on_during_the_outro_gets_no_stale_title_card(tmp_path):
    with LiveStudio(_studio(tmp_path, outro_s=8)) as live:
        director, thread = live.recorder("director")
        _wait(live, lambda s: s["graphics"]["program"].get("leaderboard", {}).get("visible"), what="the outro's leaderboard")
        assert live.post_command("next").json()["ok"]  # the director does not wait for the outro
        thread.join(timeout=120)
    cards = [e["data"]["data"] for e in director.of_type("graphic.cued") if e["data"]["graphic"] == "title_card" and e["data"]["visible"]]
    assert {"stage": 1} not in cards  # stage two started at the director's word: no title card over it
    refused = [e["data"] for e in director.of_type("director.command") if e["data"]["by"] == "autopilot" and not e["data"]["accepted"]]
    assert refused == []  # and the autopilot did not try to move it on a second time
