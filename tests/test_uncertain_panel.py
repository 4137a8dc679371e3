"""Uncertain verdicts on real parts: the studio under uvicorn with its Redis, the replay engine
streaming recorded replies (no model), the director's panel and program.html in Chromium.

- An exact answer the grader cannot tell (a hedge between the answer and another) airs as "…",
  neither ✓ nor ✗; the panel lists it with the reply, what the grader took and why. The show
  goes on: the next question is asked while it waits.
- The director decides it: N (the oldest, wrong) shows SENT… until the studio's director.command
  returns; a button decides the other one right and program shows ✓; deciding again is refused
  with the reason, in the command log.
- Under autopilot the panel counts down to autopilot's own decision (the script's
  grading.uncertain_timeout_s), and autopilot then decides it wrong, logged as its command.
- A judge decides one from the judges' page: logged as judge:<id>; a second decision is refused.
Screenshots land in tests/artifacts/uncertain-*.png.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from core import events as ev
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio, engineless_pool
from .test_safety_panel import Pages, director_commands, press, wait_for_commands

BANK = {
    "name": "capitals",
    "questions": [
        {"id": "q-paris", "question": "What is the capital of France?", "kind": "exact", "answer": "Paris"},
        {"id": "q-beijing", "question": "中国的首都是哪里？", "kind": "exact", "answer": ["北京", "Beijing"]},
    ],
}
RECORDING = {
    "answers": [
        {"contestant": "ada", "match": "France", "tokens": ["Either ", "Paris ", "or ", "Lyon."]},  # uncertain
        {"contestant": "bao", "match": "France", "tokens": ["It is not ", "Paris; ", "it is ", "Lyon."]},  # wrong: Lyon
        {"contestant": "ada", "match": "中国", "tokens": ["北京", "。"]},  # right
        {"contestant": "bao", "match": "中国", "tokens": ["可能是北京，", "也可能是", "上海。"]},  # uncertain
    ]
}


def _script(tmp: Path, extra: str = "") -> Path:
    (tmp / "bank.yaml").write_text(yaml.safe_dump(BANK, allow_unicode=True), encoding="utf-8")
    (tmp / "recording.yaml").write_text(yaml.safe_dump(RECORDING, allow_unicode=True), encoding="utf-8")
    (tmp / "show.yaml").write_text(
        f"""
show: {{id: uncertain-panel, title: "Uncertain verdicts drill", autopilot_pause_s: 0}}
engines:
  tape: {{kind: replay, file: recording.yaml, tokens_per_s: 40}}
contestants:
  - {{id: ada, name: Ada, engine: tape}}
  - {{id: bao, name: Bao, engine: tape}}
{extra}
stages:
  - kind: speed_qa
    bank: bank.yaml
    questions: 2
    time_limit_s: 60
""",
        encoding="utf-8",
    )
    return tmp / "show.yaml"


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_director_decides_uncertain_verdicts_from_the_panel_and_program_shows_no_verdict_until_then(tmp_path, browser):
    script = load_script(_script(tmp_path))
    with LiveStudio(Studio(script, tmp_path / "data")) as live:
        live.wait_for_engines()
        pages = Pages(live, browser)
        panel, program = pages.panel, pages.program
        expect(panel.get_by_test_id("verdicts-empty")).to_be_visible()
        assert live.command("start").json()["changed"]

        # Ada hedged on the first question: uncertain, listed with her reply, what the grader took and why.
        waiting = panel.get_by_test_id("verdict-wait-q-paris:ada")
        expect(waiting).to_be_visible(timeout=30_000)
        expect(panel.get_by_test_id("verdict-text-q-paris:ada")).to_have_text("Either Paris or Lyon.")
        expect(panel.get_by_test_id("verdict-why-q-paris:ada")).to_contain_text("hedges")
        expect(panel.get_by_test_id("verdict-meta-q-paris:ada")).to_contain_text("Ada")
        expect(panel.get_by_test_id("verdict-auto-q-paris:ada")).to_be_hidden()  # no autopilot: it waits for a person

        # The show goes on: the second question is asked while Ada's verdict waits; Bao hedges there.
        expect(panel.get_by_test_id("verdict-wait-q-beijing:bao")).to_be_visible(timeout=30_000)
        expect(panel.get_by_test_id("verdict-text-q-beijing:bao")).to_have_text("可能是北京，也可能是上海。")
        expect(program.get_by_test_id("badge-bao")).to_have_attribute("data-result", "pending", timeout=15_000)
        expect(program.get_by_test_id("badge-bao")).to_have_text("…")  # neither ✓ nor ✗ on air
        assert "is-correct" not in program.get_by_test_id("answer-bao").get_attribute("class")
        assert "is-wrong" not in program.get_by_test_id("answer-bao").get_attribute("class")
        expect(program.get_by_test_id("badge-ada")).to_contain_text("✓", timeout=15_000)  # 北京。 is right
        expect(panel.get_by_test_id("verdict-bao")).to_have_text("? UNCERTAIN")
        expect(panel.get_by_test_id("grade-ada")).to_contain_text("grader: commits to “北京”")
        expect(waiting).to_have_attribute("data-oldest", "true")
        expect(panel.get_by_test_id("verdicts-aside")).to_have_text("2 waiting")
        # Bao's negation on the first question was read: wrong, the span taken is Lyon, and why.
        first = panel.evaluate(
            "() => window.__gavel.events.filter(e => e.type === 'answer.graded' && e.data.question_id === 'q-paris').map(e => e.data)"
        )
        bao = next(g for g in first if g["contestant"] == "bao")
        assert (bao["correct"], bao["extracted"]) == (False, "Lyon") and bao["reason"].startswith("rejects “Paris”")
        pages.program.screenshot(path=str(ARTIFACTS / "uncertain-program-pending.png"))
        panel.screenshot(path=str(ARTIFACTS / "uncertain-panel-waiting.png"))

        # N decides the oldest wrong: SENT… on its button until the studio's event returns.
        held = []
        panel.route("**/api/command", lambda route: held.append(route))
        try:
            press(panel, "n")
            deadline = time.monotonic() + 10
            while not held:
                assert time.monotonic() < deadline
                panel.wait_for_timeout(50)
            expect(panel.get_by_test_id("decide-wrong-q-paris:ada")).to_have_attribute("data-pending", "true")
            expect(waiting).to_be_visible()  # not gone before the studio says so
            assert director_commands(panel, "decide") == []
            held[0].continue_()
        finally:
            panel.unroute("**/api/command")
        (decided,) = wait_for_commands(panel, "decide", 1)
        assert decided["accepted"] and decided["by"] == "director"
        assert decided["args"] == {"question_id": "q-paris", "contestant": "ada", "correct": False}
        expect(waiting).to_have_count(0)

        # A button decides Bao's right: program shows ✓ and the card says who decided.
        panel.get_by_test_id("decide-right-q-beijing:bao").click()
        assert [d["accepted"] for d in wait_for_commands(panel, "decide", 2)] == [True, True]
        expect(program.get_by_test_id("badge-bao")).to_contain_text("✓", timeout=15_000)
        expect(panel.get_by_test_id("grade-bao")).to_contain_text("decided right by director")
        expect(panel.get_by_test_id("verdicts-empty")).to_be_visible()

        # Deciding again is refused with the reason, and shows in the command log.
        again = live.post_command("decide", {"question_id": "q-beijing", "contestant": "bao", "correct": False})
        assert again.status_code == 409 and "nothing uncertain to decide" in again.json()["reason"]
        expect(panel.get_by_test_id("log")).to_contain_text("nothing uncertain to decide", timeout=15_000)
        graded = program.evaluate("() => window.__gavel.events.filter(e => e.type === 'answer.graded').map(e => e.data)")
        assert [
            (g["question_id"], g["contestant"], g["correct"], g["decided_by"]) for g in graded if g["correct"] is None or g["decided_by"]
        ] == [
            ("q-paris", "ada", None, None),
            ("q-beijing", "bao", None, None),
            ("q-paris", "ada", False, "director"),
            ("q-beijing", "bao", True, "director"),
        ]
        panel.screenshot(path=str(ARTIFACTS / "uncertain-panel-decided.png"))
        pages.close()


def test_under_autopilot_the_panel_counts_down_and_autopilot_decides_wrong(tmp_path, browser):
    # Long enough for the panel to open while the verdicts still wait (autopilot starts at once).
    script = load_script(_script(tmp_path, "grading: {uncertain_timeout_s: 15}"))
    with LiveStudio(Studio(script, tmp_path / "data", autopilot=True)) as live:
        live.wait_for_engines()
        pages = Pages(live, browser)
        panel = pages.panel
        auto = panel.get_by_test_id("verdict-auto-q-paris:ada")
        expect(auto).to_contain_text("AUTOPILOT decides ✗ WRONG in", timeout=30_000)
        first = int(auto.text_content().split(" in ")[1].split(" s")[0])
        panel.wait_for_function(  # it counts down on its own, without new events
            "n => { const t = document.querySelector('[data-testid=\"verdict-auto-q-paris:ada\"]');"
            " return !t || !/in \\d+ s/.test(t.textContent) || Number(t.textContent.match(/in (\\d+) s/)[1]) < n; }",
            arg=first,
            timeout=5_000,
        )
        panel.screenshot(path=str(ARTIFACTS / "uncertain-panel-autopilot.png"))
        expect(panel.get_by_test_id("verdict-wait-q-paris:ada")).to_have_count(0, timeout=30_000)
        expect(panel.get_by_test_id("verdict-wait-q-beijing:bao")).to_have_count(0, timeout=30_000)
        decided = wait_for_commands(panel, "decide", 2)
        assert {(d["by"], d["accepted"], d["args"]["question_id"], d["args"]["correct"]) for d in decided} == {
            ("autopilot", True, "q-paris", False),
            ("autopilot", True, "q-beijing", False),
        }
        expect(panel.get_by_test_id("log")).to_contain_text("autopilot")
        expect(pages.program.get_by_test_id("badge-bao")).to_contain_text("✗", timeout=15_000)
        pages.close()


def test_a_judge_decides_an_uncertain_verdict_from_the_judges_page(tmp_path, browser):
    script = load_script(_script(tmp_path, "judging: {judges: [{id: li, name: Judge Li}]}"))
    with LiveStudio(Studio(script, tmp_path / "data", pool=engineless_pool())) as live:
        publish = live.studio.controller.publish
        for event in [  # what the stage publishes for a hedged answer
            ev.QuestionAsked(
                data=ev.QuestionAskedData(
                    stage=0,
                    number=1,
                    of=2,
                    question_id="q-paris",
                    text="What is the capital of France?",
                    kind="exact",
                    time_limit_s=30,
                    deadline_ts=time.time() + 30,
                )
            ),
            ev.AnswerFinished(
                data=ev.AnswerFinishedData(
                    question_id="q-paris",
                    contestant="ada",
                    status="done",
                    text="Either Paris or <b>Lyon</b>.",
                    metrics=ev.AnswerMetrics(e2e=1.0, output_tokens=5),
                )
            ),
            ev.AnswerGraded(
                data=ev.AnswerGradedData(
                    question_id="q-paris",
                    contestant="ada",
                    correct=None,
                    extracted="Either Paris or <b>Lyon</b>",
                    expected="Paris",
                    reason="hedges: “Paris” is one of two answers",
                )
            ),
        ]:
            live.call(lambda e=event: publish(e))
        token = live.studio.tokens.judges["li"]
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live.base}/judge?token={token}")
        box = page.get_by_test_id("decide")
        expect(box).to_be_visible(timeout=15_000)
        expect(page.get_by_test_id("decide-why")).to_contain_text("hedges: “Paris” is one of two answers")
        expect(page.get_by_test_id("answer")).to_have_text("Either Paris or <b>Lyon</b>.")  # as text, never markup
        page.get_by_test_id("decide-wrong").click()
        expect(page.get_by_test_id("decide-message")).to_have_text("You decided: wrong.", timeout=15_000)
        expect(page.get_by_test_id("decide-wrong")).to_be_hidden(timeout=15_000)  # nothing waits any more
        page.screenshot(path=str(ARTIFACTS / "uncertain-judge-decided.png"))
        state = live.state()
        assert state["uncertain"] == {} and state["answers"]["ada"]["decided_by"] == "judge:li"
        assert state["answers"]["ada"]["correct"] is False
        again = httpx.post(
            f"{live.base}/api/judge/decide",
            json={"question_id": "q-paris", "contestant": "ada", "correct": True},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert again.status_code == 409 and "nothing uncertain to decide" in again.json()["error"]
        director = httpx.post(
            f"{live.base}/api/judge/decide",
            json={"question_id": "q-paris", "contestant": "ada", "correct": True},
            headers={"Authorization": f"Bearer {live.director_token}"},
            timeout=10,
        )
        assert director.status_code == 403  # a judge's token only
        page.close()
        assert not errors, errors
