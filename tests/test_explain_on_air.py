"""Seeing the model think, on real parts: a speed Q&A on the real vLLM engine (SmolLM2-135M, one
contestant on the base, one with a LoRA adapter) with top-5 logprobs, on a real studio (uvicorn,
Redis), its graphics drawn in the real Chromium.

- Every aired token comes with its generation path, and under greedy sampling the likeliest
  alternative is the emitted token.
- The question's winner gets an attention heatmap by itself (``explain.auto_winner``); the
  director asks for another one (``explain``), which is computed once and then served from the
  data dir's cache; a dumped answer has none.
- The path and attention graphics render the real data at 1920×1080; a contestant name with
  markup stays text.
Screenshots: tests/artifacts/graphic-path-live.png, graphic-attention-live.png.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import sync_playwright

from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .engine_contract import write_lora_adapter
from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

SCRIPT = {
    "show": {"id": "explain", "title": "Seeing the model think", "autopilot_pause_s": 0},
    "engines": {"smol": {"kind": "vllm", "kv_cache_gib": 0.25, "max_model_len": 1024}},
    "contestants": [
        {"id": "ada", "name": "Ada", "engine": "smol", "system_prompt": "Answer in one short sentence."},
        {"id": "bao", "name": "Bao <b>bold</b>", "engine": "smol", "adapter": "lora", "system_prompt": "Answer in one short sentence."},
    ],
    "stages": [
        {
            "kind": "speed_qa",
            "bank": "bank.yaml",
            "questions": 2,
            "time_limit_s": 120,
            "sampling": {"temperature": 0, "max_tokens": 20, "seed": 1, "logprobs": 5},
        }
    ],
    "explain": {"auto_winner": True, "max_answer_tokens": 64},
}
BANK = {
    "name": "explain",
    "license": "written for Gavel",
    "source": "gavel",
    "questions": [
        {"id": "q-paris", "question": "What is the capital of France?", "kind": "exact", "answer": "Paris"},
        {"id": "q-sum", "question": "What is 2 + 3?", "kind": "numeric", "answer": 5},
    ],
}


def wait_for(predicate, timeout_s: float = 240, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout_s}s")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain-show")
    write_lora_adapter(folder / "lora", scale=0.05)
    (folder / "bank.yaml").write_text(yaml.safe_dump(BANK))
    (folder / "show.yaml").write_text(yaml.safe_dump(SCRIPT, sort_keys=False))
    studio = Studio(load_script(folder / "show.yaml"), folder / "data", autopilot=True)
    with LiveStudio(studio) as live:
        wait_for(lambda: studio.controller.state.status == "completed", what="end of the show")
        yield live


def events_of(live: LiveStudio, kind: str) -> list[dict]:
    return [e for e in live.call(lambda: _read(live)) if e["type"] == kind]


async def _read(live: LiveStudio) -> list[dict]:
    return [item.parse().model_dump() for item in await live.studio.event_log.read("director")]


def test_every_aired_token_has_its_path_and_greedy_picks_the_likeliest(show):
    finished = {(e["data"]["question_id"], e["data"]["contestant"]): e["data"] for e in events_of(show, "answer.finished")}
    assert len(finished) == 4 and all(f["status"] == "done" and f["text"] for f in finished.values())
    paths: dict[tuple[str, str], list[dict]] = {}
    for event in events_of(show, "answer.path"):
        paths.setdefault((event["data"]["question_id"], event["data"]["contestant"]), []).extend(event["data"]["steps"])
    assert set(paths) == set(finished)
    for key, steps in paths.items():
        assert [s["index"] for s in steps] == list(range(1, len(steps) + 1)), key
        assert "".join(s["text"] for s in steps) == finished[key]["text"], key  # nothing more, nothing less than aired
        for step in steps:
            alternatives = step["alternatives"]
            assert 1 <= len(alternatives) <= 5
            assert [a["logprob"] for a in alternatives] == sorted((a["logprob"] for a in alternatives), reverse=True)
            if step["text"]:  # the end-of-turn token has no text of its own
                assert alternatives[0]["text"] == step["text"], (key, step)
                assert step["margin"] is None or step["margin"] >= 0
    # the adapter changes the answer: the same question, another road through the tokens
    assert paths[("q-paris", "ada")] != paths[("q-paris", "bao")]


def test_the_winner_gets_a_heatmap_by_itself(show):
    graded = [e["data"] for e in events_of(show, "answer.graded")]
    finished = {(e["data"]["question_id"], e["data"]["contestant"]): e["data"] for e in events_of(show, "answer.finished")}
    ready = {
        (e["data"]["question_id"], e["data"]["contestant"])
        for e in events_of(show, "attention")
        if e["data"]["status"] in ("computing", "ready")
    }
    for qid in ("q-paris", "q-sum"):
        correct = [g["contestant"] for g in graded if g["question_id"] == qid and g["correct"]]
        if correct:
            winner = min(correct, key=lambda c: finished[(qid, c)]["metrics"]["e2e"])
            assert (qid, winner) in ready
            assert {c for q, c in ready if q == qid} == {winner}  # only the winner, by itself
        else:
            assert not any(q == qid for q, _ in ready)
    assert graded and any(g["correct"] for g in graded), "the embedded model should get one of these right"


def heatmap(live: LiveStudio, question_id: str, contestant: str) -> dict:
    return wait_for(
        lambda: next(
            (
                e["data"]
                for e in reversed(events_of(live, "attention"))
                if e["data"]["question_id"] == question_id
                and e["data"]["contestant"] == contestant
                and e["data"]["status"] in ("ready", "failed")
            ),
            None,
        ),
        what=f"heatmap of {contestant} on {question_id}",
    )


def test_the_director_asks_for_a_heatmap_computed_once_then_cached(show):
    asked = show.post_command("explain", {"question_id": "q-paris", "contestant": "bao"}).json()
    assert asked["ok"], asked
    first = heatmap(show, "q-paris", "bao")
    assert first["status"] == "ready", first
    assert first["answer_tokens"] > 0 and first["prompt_tokens"] == 7 and first["aggregate"] == "mean"
    cache = Path(show.studio.data_dir) / "attention" / f"{first['key']}.npz"
    stamp = cache.stat().st_mtime_ns

    again = show.post_command("explain", {"question_id": "q-paris", "contestant": "bao"}).json()
    assert again["ok"] and not again["changed"] and again["reason"] == "served from the cache"
    assert cache.stat().st_mtime_ns == stamp
    assert [
        e["data"]["seconds"] for e in events_of(show, "attention") if e["data"]["key"] == first["key"] and e["data"]["status"] == "ready"
    ][-1] == 0.0

    auth = {"token": show.graphics_token}
    figure = httpx.get(f"{show.base}/figures/attention", params={"key": first["key"], "at": 2, **auth}, timeout=30)
    assert figure.status_code == 200
    heat = figure.json()["data"][0]
    assert heat["type"] == "heatmap" and 0 < len(heat["z"]) <= 24 and len(heat["z"][0]) <= 56
    assert all(0 <= v <= 1 for row in heat["z"] for v in row)
    missing = httpx.get(f"{show.base}/figures/attention", params={"key": "f" * 24, **auth}, timeout=30)
    assert missing.status_code == 404 and "key" in missing.json()["error"]
    bad_at = httpx.get(f"{show.base}/figures/attention", params={"key": first["key"], "at": "x", **auth}, timeout=30)
    assert bad_at.status_code == 400 and "at" in bad_at.json()["error"]
    assert httpx.get(f"{show.base}/figures/attention", params={"key": first["key"]}, timeout=30).status_code == 401


def test_the_directors_panel_asks_for_a_heatmap_and_shows_the_path(show):
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{show.base}/director#token={show.director_token}")
            page.wait_for_function(
                "() => /path \\d+ tok/.test((document.querySelector('[data-testid=path-ada]') || {}).textContent)", timeout=30_000
            )
            steps = [
                s
                for e in events_of(show, "answer.path")
                if e["data"]["question_id"] == "q-sum" and e["data"]["contestant"] == "ada"
                for s in e["data"]["steps"]
            ]
            assert page.text_content("[data-testid=path-ada]").startswith(f"path {len(steps)} tok")
            page.wait_for_selector("[data-testid=explain-ada]:not([disabled])")
            page.click("[data-testid=explain-ada]")
            page.wait_for_function("() => document.querySelector('[data-testid=attention-ada]').dataset.state === 'ready'", timeout=120_000)
            assert page.text_content("[data-testid=attention-ada]").startswith("heatmap ready")
        finally:
            browser.close()
    assert any(
        e["data"]["command"] == "explain" and e["data"]["by"] == "director" and e["data"]["accepted"]
        for e in events_of(show, "director.command")
    )


def test_bad_explain_requests_are_refused_with_the_reason(show):
    unknown = show.post_command("explain", {"question_id": "q-paris", "contestant": "zed"}).json()
    assert not unknown["ok"] and unknown["reason"].startswith("contestant:")
    aggregate = show.post_command("explain", {"question_id": "q-paris", "contestant": "ada", "aggregate": "median"}).json()
    assert not aggregate["ok"] and "aggregate" in aggregate["reason"]
    never = show.post_command("explain", {"question_id": "q-nope", "contestant": "ada"}).json()
    assert not never["ok"] and "no answer" in never["reason"]


def test_a_dumped_answer_has_no_heatmap(show):
    dumped = show.post_command("dump", {"contestant": "ada"}).json()  # the last question's answer
    assert dumped["ok"], dumped
    refused = show.post_command("explain", {"question_id": "q-sum", "contestant": "ada"}).json()
    assert not refused["ok"] and "dumped" in refused["reason"]


def test_the_path_and_attention_graphics_draw_the_real_data(show):
    ARTIFACTS.mkdir(exist_ok=True)
    for graphic, data in (("path", {"contestant": "bao"}), ("attention", {"contestant": "bao", "question_id": "q-paris", "at": 3})):
        assert show.post_command("cue", {"graphic": graphic, "visible": True, "data": data}).json()["ok"]
    assert show.post_command("take").json()["ok"]
    paths = [
        s
        for e in events_of(show, "answer.path")
        if e["data"]["question_id"] == "q-sum" and e["data"]["contestant"] == "bao"
        for s in e["data"]["steps"]
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(show.overlay("generation-path.html?channel=program"))
            page.wait_for_function("() => document.querySelectorAll('[data-testid=gp-answer] .gp-tok').length > 0", timeout=30_000)
            spans = page.eval_on_selector_all("[data-testid=gp-answer] .gp-tok", "els => els.map(e => e.textContent)")
            assert spans == [s["text"] for s in paths]  # the latest question's answer, token by token
            bars = page.eval_on_selector_all("[data-testid=gp-bars] .gp-bar", "els => els.length")
            assert 1 <= bars <= 5
            assert page.text_content("[data-testid=gp-name]") == "Bao <b>bold</b>"  # markup stays text
            assert page.evaluate("() => document.querySelectorAll('[data-testid=gp-name] b').length") == 0
            page.wait_for_timeout(400)
            page.screenshot(path=str(ARTIFACTS / "graphic-path-live.png"), omit_background=True)

            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(show.overlay("attention.html?channel=program"))
            page.wait_for_function(
                "() => (document.querySelector('[data-testid=at-plot]').dataset.drawn || '').endsWith('|3')", timeout=60_000
            )
            cells = page.evaluate(
                "() => document.querySelectorAll('[data-testid=at-plot] .hm image, [data-testid=at-plot] .heatmaplayer image').length"
            )
            assert cells >= 1  # plotly drew the heatmap
            assert "Bao <b>bold</b>" in (page.text_content("[data-testid=at-subtitle]") or "")
            page.screenshot(path=str(ARTIFACTS / "graphic-attention-live.png"), omit_background=True)
        finally:
            browser.close()
