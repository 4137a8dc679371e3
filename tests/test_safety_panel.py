"""The safety desk and the debate in the director's panel, and what they do to the program overlay
(the duel), on real parts: the studio under uvicorn with its Redis, the replay engine streaming
exactly the tokens each case needs (no LLM), the panel and program.html in Chromium.

- A held answer waits in the panel; APPROVE (the A key) releases it and program shows its text;
  REJECT ends another as a DNF "withheld"; the filter log lists hits, decisions, refused inputs.
- With a 3 s broadcast delay, DUMP of one contestant: program shows "— withdrawn —" and none of
  the dumped text ever reaches the page (its DOM or its events); D D dumps the rest.
- A debate: CUT TURN (the T key) ends the turn on air; program shows FOR / AGAINST, the speaker
  and the winner.
Screenshots land in tests/artifacts/safety-*.png.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect, sync_playwright

from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

HELD_OK = ["About the ", "classi", "fied dos", "sier: ", "it is fine."]
HELD_BAD = ["The ", "classified ", "dossier", " says too much."]
MOTION = "This house believes robots should write the news"


# ---- scripts and recordings (the replay engine's tape) ----------------------------------------


def _bank(questions: list[tuple[str, str]]) -> dict:
    return {"name": "drill", "questions": [{"id": qid, "question": text, "kind": "exact", "answer": "x"} for qid, text in questions]}


def _script(tmp: Path, recording: dict, stages: str, delay_s: float = 0, rate: float = 20, extra: str = "") -> Path:
    (tmp / "recording.yaml").write_text(yaml.safe_dump(recording, allow_unicode=True))
    (tmp / "show.yaml").write_text(
        f"""
show: {{id: safety-panel, title: "Safety panel drill", autopilot_pause_s: 0}}
engines:
  tape: {{kind: replay, file: recording.yaml, tokens_per_s: {rate}}}
contestants:
  - {{id: ada, name: Ada, engine: tape}}
  - {{id: bao, name: Bao, engine: tape}}
safety: {{delay_s: {delay_s}, hold_timeout_s: 120}}
{extra}
stages:
{stages}
"""
    )
    return tmp / "show.yaml"


def _qa_stage(count: int) -> str:
    return f"""  - kind: speed_qa
    bank: bank.yaml
    questions: {count}
    time_limit_s: 60
    sampling: {{max_tokens: 200}}
"""


# ---- browser, pages, helpers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def press(panel: Page, key: str) -> None:
    """Press a panel key once the panel can act: after a command from elsewhere (HTTP, another
    panel) it locks until its feed has caught up with the studio — it never acts on a state it has
    not seen — and a key pressed meanwhile is refused ("LOCKED"). Under load that takes a moment."""
    panel.wait_for_function("() => window.__director.canOperate()", timeout=30_000)
    panel.keyboard.press(key)


class Pages:
    """The director's panel and the program overlay on one studio; page errors are failures."""

    def __init__(self, live: LiveStudio, browser):
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1920, "height": 1080})
        self.panel = self.context.new_page()
        self.panel.on("pageerror", lambda exc: self.errors.append(f"panel: {exc}"))
        self.panel.goto(f"{live.base}/director#token={live.director_token}")
        self.panel.wait_for_function("() => window.__director && window.__director.canOperate()", timeout=30_000)
        self.program = browser.new_page(viewport={"width": 1920, "height": 1080})
        self.program.on("pageerror", lambda exc: self.errors.append(f"program: {exc}"))
        self.program.goto(live.overlay("program.html"))
        self.program.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)

    def close(self) -> None:
        self.program.close()
        self.context.close()
        assert not self.errors, self.errors


def director_commands(page: Page, name: str) -> list[dict]:
    return page.evaluate(
        "name => window.__gavel.events.filter(e => e.type === 'director.command' && e.data.command === name).map(e => e.data)", name
    )


def wait_for_commands(page: Page, name: str, count: int, timeout: float = 15_000) -> list[dict]:
    page.wait_for_function(
        "([name, n]) => window.__gavel.events.filter(e => e.type === 'director.command' && e.data.command === name).length >= n",
        arg=[name, count],
        timeout=timeout,
    )
    page.wait_for_timeout(400)  # room for a (wrong) second command to show up before counting
    return director_commands(page, name)


def events_of(page: Page, kind: str) -> list[dict]:
    return page.evaluate("kind => window.__gavel.events.filter(e => e.type === kind)", kind)


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"safety-{name}.png"))


def safety_rows(panel: Page) -> list[dict]:
    return panel.locator("[data-testid=safety-row]").evaluate_all(
        "rows => rows.map(r => ({kind: r.dataset.kind, action: r.dataset.action, contestant: r.dataset.contestant, seq: Number(r.dataset.seq), text: r.textContent}))"
    )


# ---- holds: approve, reject; the filter log -------------------------------------------------------


def test_a_hold_waits_in_the_panel_approve_airs_it_and_reject_ends_it_withheld(tmp_path, browser):
    questions = [
        ("refused", "Please tell me the forbidden phrase"),  # refused before any model sees it
        ("hold-approve", "Say the held thing"),
        ("hold-reject", "Say the other held thing"),
    ]
    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(_bank(questions)))
    recording = {
        "answers": [
            {"contestant": "ada", "match": "Say the held thing", "tokens": HELD_OK},
            {"contestant": "bao", "match": "Say the held thing", "tokens": ["Nothing ", "to see ", "here."]},
            {"contestant": "bao", "match": "Say the other held thing", "tokens": HELD_BAD},
            {"contestant": "ada", "match": "Say the other held thing", "tokens": ["All clear, ", "no forbidden ", "phrase here."]},
            {"match": "", "tokens": ["fallback"]},
        ]
    }
    script = load_script(_script(tmp_path, recording, _qa_stage(len(questions))))
    with LiveStudio(Studio(script, tmp_path / "data")) as live:
        live.wait_for_engines()
        pages = Pages(live, browser)
        panel, program = pages.panel, pages.program
        expect(panel.get_by_test_id("holds-empty")).to_be_visible()
        assert live.command("start").json()["changed"]

        # The refused question is logged, and never asked.
        refused = panel.locator("[data-testid=safety-row][data-kind=refused]")
        expect(refused).to_have_count(1, timeout=30_000)
        expect(refused).to_contain_text("question refused")
        expect(refused).to_contain_text("test-forbidden-phrase")

        # Ada's answer is held: the panel shows who, the rule and the matched text; air has none of it.
        hold = panel.get_by_test_id("hold-hold-approve:ada")
        expect(hold).to_be_visible(timeout=30_000)
        expect(panel.get_by_test_id("hold-text-hold-approve:ada")).to_contain_text("classified dossier")
        expect(panel.get_by_test_id("hold-meta-hold-approve:ada")).to_contain_text("Ada")
        expect(panel.get_by_test_id("hold-meta-hold-approve:ada")).to_contain_text("test-classified-dossier")
        expect(hold).to_have_attribute("data-oldest", "true")
        expect(panel.get_by_test_id("held-ada")).to_be_visible()
        expect(panel.get_by_test_id("delay")).to_have_text("NO DELAY", timeout=15_000)
        expect(panel.get_by_test_id("delay")).to_have_attribute("data-state", "none")
        expect(program.get_by_test_id("answer-text-bao")).to_have_text("Nothing to see here.", timeout=15_000)
        program.wait_for_timeout(500)
        assert "classified" not in program.get_by_test_id("answer-text-ada").text_content()
        assert program.get_by_test_id("answer-ada").get_attribute("data-status") == "streaming"  # waiting, not done
        shot(panel, "panel-hold")

        assert live.command("pause").json()["ok"]  # holds before the next question: ada's text stays on screen
        # A approves the oldest hold: SENT… on its button until the studio's event comes back.
        held_requests = []
        panel.route("**/api/command", lambda route: held_requests.append(route))
        try:
            press(panel, "a")
            deadline = time.monotonic() + 10
            while not held_requests:
                assert time.monotonic() < deadline
                panel.wait_for_timeout(50)
            expect(panel.get_by_test_id("approve-hold-approve:ada")).to_have_attribute("data-pending", "true")
            expect(hold).to_be_visible()  # not gone before the studio says so
            assert director_commands(panel, "approve") == []
            held_requests[0].continue_()
        finally:
            panel.unroute("**/api/command")
        (approve,) = wait_for_commands(panel, "approve", 1)
        assert approve["accepted"] and approve["args"] == {"question_id": "hold-approve", "contestant": "ada"}
        expect(hold).to_have_count(0)
        expect(panel.locator("[data-testid=safety-row][data-kind=resolved][data-action=approved]")).to_have_count(1)
        expect(program.get_by_test_id("answer-text-ada")).to_have_text("".join(HELD_OK), timeout=15_000)
        expect(panel.get_by_test_id("answer-ada")).to_have_text("".join(HELD_OK))
        shot(program, "program-approved")
        assert live.command("resume").json()["ok"]

        # Bao's next answer is held too; REJECT (the button) ends it as a DNF, withheld.
        hold = panel.get_by_test_id("hold-hold-reject:bao")
        expect(hold).to_be_visible(timeout=30_000)
        expect(panel.get_by_test_id("hold-text-hold-reject:bao")).to_contain_text("classified dossier")
        panel.get_by_test_id("reject-hold-reject:bao").click()
        (reject,) = wait_for_commands(panel, "reject", 1)
        assert reject["accepted"] and reject["args"] == {"question_id": "hold-reject", "contestant": "bao"}
        expect(hold).to_have_count(0)
        expect(panel.get_by_test_id("status-bao")).to_have_text("DNF", timeout=15_000)
        expect(panel.get_by_test_id("reason-bao")).to_contain_text("withheld")
        expect(panel.get_by_test_id("held-bao")).to_be_hidden()
        expect(program.get_by_test_id("badge-bao")).to_contain_text("DNF", timeout=15_000)
        assert program.get_by_test_id("answer-text-bao").text_content() == "The "
        expect(panel.get_by_test_id("holds-empty")).to_be_visible()
        shot(panel, "panel-rejected")

        # The filter log: every hit, decision and refusal, newest first.
        expect(panel.locator("[data-testid=safety-row][data-kind=hit][data-action=mask]")).to_have_count(1, timeout=15_000)
        rows = safety_rows(panel)
        seqs = [r["seq"] for r in rows]
        assert seqs == sorted(seqs, reverse=True), rows
        kinds = {(r["kind"], r["action"], r["contestant"]) for r in rows}
        assert {
            ("hit", "hold", "ada"),
            ("hit", "hold", "bao"),
            ("hit", "mask", "ada"),
            ("resolved", "approved", "ada"),
            ("resolved", "rejected", "bao"),
            ("refused", "", ""),
        } <= kinds, kinds
        mask = next(r for r in rows if r["action"] == "mask")
        assert "test-forbidden-phrase" in mask["text"] and "forbidden phrase" in mask["text"]
        # every hit the studio sent is in the log, once
        assert len([r for r in rows if r["kind"] == "hit"]) == len(events_of(panel, "safety.hit"))
        assert "dossier" not in program.locator("body").inner_text().replace("".join(HELD_OK), "")
        pages.close()


# ---- dump during the delay ----------------------------------------------------------------------


def test_a_dump_during_the_delay_shows_withdrawn_on_program_and_never_the_text(tmp_path, browser):
    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(_bank([("long", "Tell a long story")])))
    recording = {
        "answers": [
            {"contestant": "ada", "match": "", "tokens": [f"leak{i} " for i in range(60)]},
            {"contestant": "bao", "match": "", "tokens": [f"fine{i} " for i in range(60)]},
        ]
    }
    script = load_script(_script(tmp_path, recording, _qa_stage(1), delay_s=3, rate=20))
    with LiveStudio(Studio(script, tmp_path / "data")) as live:
        live.wait_for_engines()
        pages = Pages(live, browser)
        panel, program = pages.panel, pages.program
        assert live.command("start").json()["changed"]
        # The panel follows the director channel (no delay): dump once ada is well under way.
        panel.wait_for_function("() => (window.__gavel.client.state.answers.ada || {}).tokens >= 10", timeout=30_000)
        assert not [e for e in events_of(program, "answer.token")]  # air is still 3 s behind
        panel.get_by_test_id("dump-ada").click()
        (dump,) = wait_for_commands(panel, "dump", 1)
        assert dump["accepted"] and dump["args"] == {"contestant": "ada"}
        expect(panel.get_by_test_id("dumped-ada")).to_be_visible()
        expect(panel.get_by_test_id("contestant-ada")).to_have_attribute("data-dumped", "true")
        expect(panel.get_by_test_id("dumped-bao")).to_be_hidden()
        expect(panel.get_by_test_id("dump-ada")).to_have_attribute("data-dumped", "true")
        expect(panel.locator("[data-testid=safety-row][data-kind=dumped][data-contestant=ada]")).to_have_count(1)
        expect(panel.get_by_test_id("delay")).to_have_text("PROGRAM +3 s", timeout=15_000)
        expect(panel.get_by_test_id("delay")).to_have_attribute("data-state", "delayed")
        shot(panel, "panel-dumped")

        # Program: ada's column says withdrawn; bao's answer airs in full; none of ada's text, ever.
        expect(program.get_by_test_id("withdrawn-ada")).to_have_text("— withdrawn —", timeout=15_000)
        expect(program.get_by_test_id("answer-text-bao")).to_have_text("".join(f"fine{i} " for i in range(60)), timeout=30_000)
        expect(program.get_by_test_id("answer-ada")).to_have_attribute("data-status", "done", timeout=15_000)
        expect(program.get_by_test_id("answer-ada")).to_have_attribute("data-withdrawn", "true")
        expect(program.get_by_test_id("badge-ada")).to_have_text("Withdrawn")
        assert program.get_by_test_id("answer-text-ada").text_content() == ""
        assert program.get_by_test_id("withdrawn-bao").text_content() == ""
        assert "leak" not in program.locator("body").inner_text()
        assert "leak" not in program.evaluate("() => JSON.stringify(window.__gavel.events)")
        # told at once, and again in the delayed stream where its text would have been
        assert {e["data"]["contestant"] for e in events_of(program, "answer.dumped")} == {"ada"}
        assert "leak" in panel.evaluate("() => JSON.stringify(window.__gavel.events)")  # the director did see it
        shot(program, "program-withdrawn")

        # D asks for a second D; then DUMP ALL withdraws bao's answer too, on air at once.
        press(panel, "d")
        expect(panel.get_by_test_id("armed")).to_contain_text("DUMP")
        expect(panel.get_by_test_id("dump-all")).to_have_attribute("data-armed", "true")
        assert len(director_commands(panel, "dump")) == 1
        press(panel, "d")
        dumps = wait_for_commands(panel, "dump", 2)
        assert len(dumps) == 2 and dumps[1]["accepted"] and dumps[1]["args"] == {}, dumps
        expect(program.get_by_test_id("withdrawn-bao")).to_have_text("— withdrawn —", timeout=10_000)
        assert program.get_by_test_id("answer-text-bao").text_content() == ""
        expect(panel.get_by_test_id("dumped-bao")).to_be_visible()
        pages.close()


def test_a_dumped_short_answer_shows_no_verdict_on_program(tmp_path, browser):
    """A short answer is graded with its text as the extracted answer: once dumped, program shows
    "Withdrawn" and no verdict, and the grade that airs carries none of the answer's text."""
    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(_bank([("short", "Name a colour")])))
    recording = {
        "answers": [
            {"contestant": "ada", "match": "", "tokens": ["Zebra", "crossing"]},
            {"contestant": "bao", "match": "", "tokens": ["Blue"]},
        ]
    }
    script = load_script(_script(tmp_path, recording, _qa_stage(1), delay_s=3, rate=20))
    with LiveStudio(Studio(script, tmp_path / "data")) as live:
        live.wait_for_engines()
        pages = Pages(live, browser)
        panel, program = pages.panel, pages.program
        assert live.command("start").json()["changed"]
        panel.wait_for_function(
            "() => window.__gavel.events.some(e => e.type === 'answer.graded' && e.data.contestant === 'ada')", timeout=30_000
        )
        graded = [e["data"] for e in events_of(panel, "answer.graded") if e["data"]["contestant"] == "ada"]
        assert graded[0]["extracted"] == "Zebracrossing"  # what would show on the badge
        panel.get_by_test_id("dump-ada").click()
        assert wait_for_commands(panel, "dump", 1)[0]["accepted"]
        expect(program.get_by_test_id("badge-bao")).to_contain_text("Blue", timeout=15_000)  # graded, on air
        program.wait_for_function(
            "() => window.__gavel.events.some(e => e.type === 'answer.graded' && e.data.contestant === 'ada')", timeout=15_000
        )
        program.wait_for_timeout(300)
        expect(program.get_by_test_id("badge-ada")).to_have_text("Withdrawn")
        expect(program.get_by_test_id("withdrawn-ada")).to_have_text("— withdrawn —")
        assert program.get_by_test_id("answer-ada").get_attribute("class").count("is-correct") == 0
        assert "Zebra" not in program.locator("body").inner_text()
        aired = program.evaluate("() => JSON.stringify(window.__gavel.events)")
        pages.close()
    assert "Zebra" not in aired  # not in any event program received either


# ---- debate ---------------------------------------------------------------------------------------


def test_a_debate_turn_is_cut_from_the_panel_and_program_shows_sides_speaker_and_winner(tmp_path, browser):
    recording = {
        "answers": [
            {"contestant": "ada", "match": "", "tokens": [f"ada-says-{i} " for i in range(8)]},
            {"contestant": "bao", "match": "", "tokens": [f"bao-says-{i} " for i in range(80)]},
        ]
    }
    stage = f"""  - kind: debate
    motion: "{MOTION}"
    rounds: 2
    sides: alternate
    vote_s: 3
    judge_wait_s: 0
    judges_weight: 0
    audience_weight: 1
"""
    script = load_script(_script(tmp_path, recording, stage))
    with LiveStudio(Studio(script, tmp_path / "data")) as live:
        live.wait_for_engines()
        pages = Pages(live, browser)
        panel, program = pages.panel, pages.program
        expect(panel.get_by_test_id("debate-panel")).to_be_hidden()
        press(panel, "t")  # no debate yet: nothing is sent
        expect(panel.get_by_test_id("flash")).to_contain_text("no debate turn to cut")
        assert director_commands(panel, "cut") == []
        assert live.command("start").json()["changed"]

        # Bao (AGAINST) speaks: the panel says so, program highlights bao's column.
        turn = panel.get_by_test_id("debate-turn")
        expect(turn).to_have_attribute("data-contestant", "bao", timeout=30_000)
        expect(turn).to_have_attribute("data-phase", "speaking")
        expect(turn).to_contain_text("ROUND 1/2 · AGAINST · Bao · opening")
        expect(panel.get_by_test_id("debate-sides")).to_contain_text("FOR Ada · AGAINST Bao")
        expect(panel.get_by_test_id("debate-motion")).to_contain_text(MOTION)
        expect(panel.get_by_test_id("btn-cut")).to_be_enabled()
        expect(program.get_by_test_id("side-ada")).to_have_text("FOR")
        expect(program.get_by_test_id("side-bao")).to_have_text("AGAINST")
        expect(program.get_by_test_id("answer-bao")).to_have_attribute("data-speaking", "true")
        expect(program.get_by_test_id("answer-ada")).to_have_attribute("data-speaking", "false")
        shot(program, "program-debate-speaking")

        # P holds the debate before its next turn (so what the cut did stays on screen), T cuts.
        press(panel, "p")
        assert wait_for_commands(panel, "pause", 1)[0]["accepted"]
        press(panel, "t")
        (cut,) = wait_for_commands(panel, "cut", 1)
        assert cut["accepted"], cut
        expect(turn).to_have_attribute("data-phase", "ended")
        expect(turn).to_contain_text("ROUND 1/2 · AGAINST · Bao · opening — ended: cut short by the director")
        expect(program.get_by_test_id("answer-bao")).to_have_attribute("data-speaking", "false")
        expect(program.get_by_test_id("answer-ada")).to_have_attribute("data-speaking", "false")
        shot(panel, "panel-debate-cut")
        finals = [e["data"] for e in events_of(program, "answer.finished") if e["data"]["contestant"] == "bao"]
        assert finals and finals[0]["reason"] == "cut short by the director"
        assert 0 < finals[0]["text"].count("bao-says") < 80  # what was said stands, the rest never came
        press(panel, "p")  # resume: the closing turns
        assert wait_for_commands(panel, "resume", 1)[0]["accepted"]

        # The audience votes; the result reaches the panel and program marks the winner.
        deadline = time.monotonic() + 60
        while "debate-0-vote" not in live.state()["polls"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        for choice in ("ada", "ada", "bao"):
            token = httpx.post(f"{live.base}/api/audience/device", timeout=30).json()["token"]
            response = httpx.post(
                f"{live.base}/api/polls/debate-0-vote/vote",
                json={"choice": choice},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
        result = panel.get_by_test_id("debate-result")
        expect(result).to_have_attribute("data-decided", "true", timeout=30_000)
        expect(result).to_have_attribute("data-winner", "ada")
        expect(result).to_contain_text("WINNER Ada")
        expect(result).to_contain_text("audience Ada 2 / Bao 1")
        expect(program.get_by_test_id("answer-ada")).to_have_attribute("data-result", "winner")
        expect(program.get_by_test_id("verdict-ada")).to_have_text("Winner")
        expect(program.get_by_test_id("answer-bao")).to_have_attribute("data-result", "loser")
        assert program.get_by_test_id("verdict-bao").text_content() == ""
        expect(program.get_by_test_id("side-ada")).to_have_text("FOR")  # the sides stay with the result
        (debate_result,) = events_of(program, "debate.result")
        assert debate_result["data"]["winner"] == "ada"
        shot(program, "program-debate-winner")
        shot(panel, "panel-debate")
        pages.close()


# ---- operator: live subtitle lines and picture uploads --------------------------------------------


def test_the_operator_types_subtitle_lines_and_uploads_a_picture(tmp_path, browser):
    (tmp_path / "tape.yaml").write_text(yaml.safe_dump({"answers": [{"match": "", "tokens": ["Hello ", "everyone"]}]}))
    (tmp_path / "show.yaml").write_text(
        """
show: {id: operator, title: Operator}
engines:
  tape: {kind: replay, file: tape.yaml, tokens_per_s: 20}
contestants:
  - {id: ada, name: Ada, engine: tape}
stages:
  - kind: subtitles
    source_lang: French
    target_lang: English
    operator: true
    operator_idle_s: 60
"""
    )
    with LiveStudio(Studio(load_script(tmp_path / "show.yaml"), tmp_path / "data")) as live:
        live.wait_for_engines()
        panel = browser.new_page(viewport={"width": 1600, "height": 1000})
        panel.goto(f"{live.base}/director#token={live.director_token}")
        expect(panel.get_by_test_id("operator-panel")).to_be_visible()
        refused = live.post_command("subtitle_line", {"text": "too early"})
        assert refused.status_code == 409 and "no stage is running" in refused.json()["reason"]
        assert live.command("start").json()["changed"]
        panel.get_by_test_id("sub-text").fill("Bonsoir <b>à tous</b>")
        panel.get_by_test_id("sub-text").press("Enter")
        expect(panel.get_by_test_id("sub-note")).to_contain_text("on air", timeout=15_000)
        deadline = time.monotonic() + 20
        while (
            not ((live.state().get("subtitles") or {}).get("lines") or [{}])[0].get("translations", {}).get("ada", {}).get("status")
            == "done"
        ):
            assert time.monotonic() < deadline, live.state().get("subtitles")
            time.sleep(0.2)
        line = live.state()["subtitles"]["lines"][0]
        assert line["text"] == "Bonsoir <b>à tous</b>" and line["origin"] == "operator"
        assert line["translations"]["ada"]["text"] == "Hello everyone"
        panel.get_by_test_id("sub-end").click()
        deadline = time.monotonic() + 20
        while live.state()["show"]["status"] != "completed":
            assert time.monotonic() < deadline, "END did not end the operator's stage"
            time.sleep(0.2)
        picture = tmp_path / "not-a-picture.png"
        picture.write_bytes(b"this is text")
        panel.get_by_test_id("img-file").set_input_files(str(picture))
        panel.get_by_test_id("img-send").click()
        expect(panel.get_by_test_id("img-note")).to_contain_text("refused (400): image: not a PNG/JPEG/WebP/GIF file")
        panel.get_by_test_id("img-file").set_input_files(str(Path(__file__).resolve().parent.parent / "show_scripts/assets/sunset-sea.jpg"))
        panel.get_by_test_id("img-send").click()
        expect(panel.get_by_test_id("img-note")).to_contain_text("stored as upload:")
        stored = list((tmp_path / "data" / "images").glob("*.jpg"))
        assert len(stored) == 1 and stored[0].stem in panel.get_by_test_id("img-note").text_content()
        panel.close()
