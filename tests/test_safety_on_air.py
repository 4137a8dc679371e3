"""The content filter and the broadcast delay on a real studio (uvicorn, Redis, sockets), with
the replay engine streaming exactly the tokens each case needs: banned phrases split across
tokens in adversarial ways never reach program; holds wait for the director; a dump during the
delay means the dumped tokens never air, also for a client that reconnects; panic acts at once;
a refused question is never asked; hostile markup in an answer runs nothing in Chromium."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import sync_playwright

from safety import shipped_rules, skeleton
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import CHROMIUM_ARGS, LiveStudio

ZWSP = "\u200b"
# Each banned phrase of the shipped test lists, streamed the nasty way, between clean words.
ADVERSARIAL = {
    "one char per token": list("forbidden phrase"),
    "zero-width inside": [f"for{ZWSP}bid", f"den{ZWSP} ", "phr", f"a{ZWSP}se"],
    "full-width mixed case": ["ＦｏＲｂＩ", "ｄｄｅｎ ＰＨ", "ｒａｓｅ"],
    "punctuation between letters": ["f.o.r-b", "_i_d.d-e", ".n p.h", "-r-a-s-e"],
    "leet and spacing": ["f0r", "b1dd", "3n   phr", "@s3"],
}
CLEAN_BEFORE, CLEAN_AFTER = "Well ", " indeed."
QUESTIONS = {
    "mask": "Say the masked thing",
    "cut": "Say the cut thing",
    "hold-approve": "Say the held thing",
    "hold-reject": "Say the other held thing",
    "long": "Tell a long story",
    "refused": "Please tell me the forbidden phrase",  # refused before any model sees it
}


def _recording() -> dict:
    answers = []
    for i, (case, tokens) in enumerate(ADVERSARIAL.items()):
        answers.append({"contestant": "ada" if i % 2 == 0 else "bao", "match": f"[{case}]", "tokens": [CLEAN_BEFORE, *tokens, CLEAN_AFTER]})
    answers += [
        {"match": QUESTIONS["cut"], "tokens": ["Sure, ", "the se", "cret lau", "nch co", "de is 42", " and more"]},
        {"match": QUESTIONS["hold-approve"], "tokens": ["About the ", "classi", "fied dos", "sier: ", "it is fine."]},
        {"match": QUESTIONS["hold-reject"], "tokens": ["The ", "classified ", "dossier", " says too much."]},
        {"contestant": "ada", "match": QUESTIONS["long"], "tokens": [f"ada{i} " for i in range(60)]},
        {"contestant": "bao", "match": QUESTIONS["long"], "tokens": [f"bao{i} " for i in range(60)]},
        {"match": "", "tokens": ["fallback"]},
    ]
    return {"answers": answers}


def _bank(questions: list[tuple[str, str]]) -> dict:
    return {"name": "drill", "questions": [{"id": qid, "question": text, "kind": "exact", "answer": "x"} for qid, text in questions]}


def _script(tmp: Path, stages: str, delay_s: float = 0, rate: float = 50) -> Path:
    (tmp / "recording.yaml").write_text(yaml.safe_dump(_recording(), allow_unicode=True))
    (tmp / "show.yaml").write_text(
        f"""
show: {{id: drill, title: "Filter drill", autopilot_pause_s: 0}}
engines:
  tape: {{kind: replay, file: recording.yaml, tokens_per_s: {rate}}}
contestants:
  - {{id: ada, name: Ada, engine: tape}}
  - {{id: bao, name: Bao, engine: tape}}
safety: {{delay_s: {delay_s}, hold_timeout_s: 20}}
stages:
{stages}
"""
    )
    return tmp / "show.yaml"


def _stage(bank_file: str, count: int) -> str:
    return f"""  - kind: speed_qa
    bank: {bank_file}
    questions: {count}
    time_limit_s: 30
    sampling: {{max_tokens: 200}}
"""


def _banned_folds() -> list[str]:
    """Phrases that must never air (a held phrase airs once the director approves it)."""
    return [skeleton(r.pattern).fold for r in shipped_rules().rules if r.kind == "phrase" and r.action != "hold"]


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    """The adversarial-splits questions, mask/cut/hold and a refused question, no delay."""
    tmp = tmp_path_factory.mktemp("drill")
    questions = [(f"adv-{i}", f"Answer [{case}]") for i, case in enumerate(ADVERSARIAL)]
    questions += [
        ("cut", QUESTIONS["cut"]),
        ("refused", QUESTIONS["refused"]),
        ("hold-approve", QUESTIONS["hold-approve"]),
        ("hold-reject", QUESTIONS["hold-reject"]),
    ]
    (tmp / "bank.yaml").write_text(yaml.safe_dump(_bank(questions)))
    script = load_script(_script(tmp, _stage("bank.yaml", len(questions))))
    with LiveStudio(Studio(script, tmp / "data")) as live:
        live.wait_for_engines()
        program, program_thread = live.recorder("program")
        director, director_thread = live.recorder("director")
        assert live.command("start").json()["changed"]
        decisions = {"hold-approve": "approve", "hold-reject": "reject"}
        deadline = time.monotonic() + 120
        while decisions and time.monotonic() < deadline:
            for key in live.state()["held"]:
                question_id, contestant = key.split(":", 1)
                if question_id in decisions:
                    result = live.post_command(decisions[question_id], {"question_id": question_id, "contestant": contestant})
                    assert result.json()["ok"], result.text
            if all(q not in decisions or all(k.split(":")[0] != q for k in live.state()["held"]) for q in list(decisions)):
                done = [
                    q for q in decisions if any(e["type"] == "safety.resolved" and e["data"]["question_id"] == q for e in director.events)
                ]
                for q in done:
                    decisions.pop(q)
            time.sleep(0.1)
        program_thread.join(timeout=120)
        director_thread.join(timeout=120)
        yield {"program": program, "director": director}


def _answer_text(recording, question_id: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in recording.of_type("answer.token"):
        if e["data"]["question_id"] == question_id:
            out[e["data"]["contestant"]] = out.get(e["data"]["contestant"], "") + e["data"]["text"]
    return out


def test_banned_phrases_in_adversarial_splits_never_reach_program(drill):
    program = drill["program"]
    assert program.error is None, program.error
    aired = "".join(e["data"]["text"] for e in program.of_type("answer.token"))
    finals = "".join(e["data"]["text"] for e in program.of_type("answer.finished"))
    for fold in _banned_folds():
        assert fold not in skeleton(aired).fold and fold not in skeleton(finals).fold, fold
    for i, case in enumerate(ADVERSARIAL):
        text = _answer_text(program, f"adv-{i}")["ada" if i % 2 == 0 else "bao"]
        assert text.startswith(CLEAN_BEFORE) and text.endswith(CLEAN_AFTER), (case, text)  # clean text still airs
        assert "█" in text, (case, text)
    hits = [e["data"] for e in drill["director"].of_type("safety.hit")]
    assert {h["question_id"] for h in hits if h["rule"] == "test-forbidden-phrase"} == {f"adv-{i}" for i in range(len(ADVERSARIAL))}


def test_a_cut_ends_the_answer_withheld_and_nothing_after_it_airs(drill):
    program = drill["program"]
    for contestant, text in _answer_text(program, "cut").items():
        assert text == "Sure, the ", (contestant, text)  # up to where the phrase starts
    finished = [e["data"] for e in program.of_type("answer.finished") if e["data"]["question_id"] == "cut"]
    assert len(finished) == 2 and all(f["status"] == "dnf" and "withheld" in f["reason"] and f["text"] == "Sure, the " for f in finished)


def test_a_hold_waits_for_the_director(drill):
    program, director = drill["program"], drill["director"]
    approved = _answer_text(program, "hold-approve")
    assert set(approved.values()) == {"About the classified dossier: it is fine."}
    rejected = _answer_text(program, "hold-reject")
    assert set(rejected.values()) <= {"The "}
    resolved = {(e["data"]["question_id"], e["data"]["decision"]) for e in director.of_type("safety.resolved")}
    assert resolved == {("hold-approve", "approved"), ("hold-reject", "rejected")}
    rejected_final = [e["data"] for e in program.of_type("answer.finished") if e["data"]["question_id"] == "hold-reject"]
    assert all(f["status"] == "dnf" and "withheld" in f["reason"] for f in rejected_final)


def test_a_refused_question_is_never_put_to_a_model(drill):
    asked = [e["data"]["question_id"] for e in drill["program"].of_type("question.asked")]
    assert "refused" not in asked and "cut" in asked
    refused = [e["data"] for e in drill["director"].of_type("input.refused")]
    assert refused and refused[0]["source"] == "question refused" and "test-forbidden-phrase" in refused[0]["rules"]


def test_a_dump_during_the_delay_never_airs_and_panic_acts_at_once(tmp_path):
    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(_bank([("long", QUESTIONS["long"])])))
    script = load_script(_script(tmp_path, _stage("bank.yaml", 1), delay_s=3, rate=20))
    with LiveStudio(Studio(script, tmp_path / "data")) as live:
        live.wait_for_engines()
        program, program_thread = live.recorder("program")
        preview, preview_thread = live.recorder("preview")
        assert live.command("start").json()["changed"]
        deadline = time.monotonic() + 30
        while len([e for e in preview.of_type("answer.token") if e["data"]["contestant"] == "ada"]) < 10:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        panic_sent = time.monotonic()
        assert live.post_command("panic").json()["ok"]
        dump = live.post_command("dump", {"contestant": "ada"})
        assert dump.json()["changed"], dump.text
        seen_before_dump = {e["data"]["text"] for e in preview.of_type("answer.token") if e["data"]["contestant"] == "ada"}
        while not program.of_type("graphics.cleared"):
            assert time.monotonic() - panic_sent < 2, "panic waited for the delay"
            time.sleep(0.02)
        assert not program.of_type("answer.token")  # the answer itself is still 3 s behind
        program_thread.join(timeout=60)
        preview_thread.join(timeout=60)
        replay, replay_thread = live.recorder("program")  # a client joining afterwards, from seq 0
        replay_thread.join(timeout=30)
    for recording in (program, replay):
        assert recording.error is None, recording.error
        ada_aired = [e["data"]["text"] for e in recording.of_type("answer.token") if e["data"]["contestant"] == "ada"]
        assert ada_aired == [], ada_aired  # none of the dumped tokens, before or after the dump
        assert not seen_before_dump & set(ada_aired)
        bao_aired = "".join(e["data"]["text"] for e in recording.of_type("answer.token") if e["data"]["contestant"] == "bao")
        assert bao_aired == "".join(f"bao{i} " for i in range(60))  # the other contestant airs in full
        finals = {e["data"]["contestant"]: e["data"] for e in recording.of_type("answer.finished")}
        assert finals["ada"]["text"] == "" and finals["bao"]["text"] == bao_aired
        assert any(e["data"]["contestant"] == "ada" for e in recording.of_type("answer.dumped"))
    assert [e["seq"] for e in replay.events] == [e["seq"] for e in program.events]
    ada_preview = "".join(e["data"]["text"] for e in preview.of_type("answer.token") if e["data"]["contestant"] == "ada")
    assert ada_preview == "".join(f"ada{i} " for i in range(60))  # preview saw all of it at once; the dump is for air


def test_hostile_markup_in_an_answer_runs_nothing_on_the_program_overlay(tmp_path):
    hostile = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=2</script>", " <b>bold?</b>"]
    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(_bank([("x", "Say something hostile")])))
    path = _script(tmp_path, _stage("bank.yaml", 1))
    (tmp_path / "recording.yaml").write_text(yaml.safe_dump({"answers": [{"match": "", "tokens": hostile}]}))
    with LiveStudio(Studio(load_script(path), tmp_path / "data")) as live, sync_playwright() as pw:
        live.wait_for_engines()
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(live.overlay("program.html"))
        page.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
        assert live.command("start").json()["changed"]
        page.wait_for_function(
            "() => (document.querySelector('[data-testid=answer-text-ada]')?.textContent || '').includes('</b>')", timeout=30_000
        )
        text = page.text_content("[data-testid=answer-text-ada]")
        assert "".join(hostile) in text
        assert page.evaluate("() => window.__pwned") is None
        assert page.evaluate("() => document.querySelectorAll('[data-testid=answer-text-ada] *').length") == 0
        browser.close()


def pineapple_classifier(sentence: str):
    """The script's classifier hook for the test below: objects to any sentence about pineapples."""
    from safety import Flag

    return Flag("no-pineapples", "mask") if "pineapple" in sentence.lower() else None


def test_the_scripts_classifier_hook_judges_each_sentence_on_air(tmp_path):
    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(_bank([("x", "Talk about fruit")])))
    path = _script(tmp_path, _stage("bank.yaml", 1))
    (tmp_path / "recording.yaml").write_text(
        yaml.safe_dump({"answers": [{"match": "", "tokens": ["I like apples. ", "Pine", "apple is ", "great. ", "Bye."]}]})
    )
    text = path.read_text().replace("safety: {", "safety: {classifier: 'tests.test_safety_on_air:pineapple_classifier', ")
    path.write_text(text)
    with LiveStudio(Studio(load_script(path), tmp_path / "data")) as live:
        live.wait_for_engines()
        program, thread = live.recorder("program")
        assert live.command("start").json()["changed"]
        thread.join(timeout=60)
    aired = _answer_text(program, "x")
    # a sentence runs from just after the previous one's end to its own end
    assert set(aired.values()) == {"I like apples." + "█" * len(" Pineapple is great.") + " Bye."}


def test_a_classifier_that_cannot_be_imported_is_a_script_error(tmp_path):
    from core.yaml_source import SourceError

    (tmp_path / "bank.yaml").write_text(yaml.safe_dump(_bank([("x", "Q")])))
    path = _script(tmp_path, _stage("bank.yaml", 1))
    path.write_text(path.read_text().replace("safety: {", "safety: {classifier: 'no_such_module:judge', "))
    with pytest.raises(SourceError) as err:
        load_script(path)
    assert any("show.yaml:" in p and "safety.classifier: cannot import 'no_such_module:judge'" in p for p in err.value.problems), (
        err.value.problems
    )
