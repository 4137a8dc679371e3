"""The demo episode on air, as a newcomer starts it and a producer watches it, in English and in
Chinese (``--script show_scripts/demo.zh.yaml``).

``gavel demo --headless --summary out.json`` runs from the root of a fresh copy of the repository
(no ``--data-dir``: the README's first command), the real engine with the four trained
contestants, and Chromium watches the program monitor (``output.html``: every graphic of program,
layered) through the whole show. One run, several promises: a screenshot per stage
(tests/artifacts/episode-{en,zh}-*.png) with what a viewer reads on it checked, the end card naming the
leaderboard's winner, and the summary's record of every aired answer (no prompt scaffolding, no
two contestants alike).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from .conftest import free_port
from .studio_harness import ARTIFACTS, CHROMIUM_ARGS
from .test_newcomer import GAVEL, fresh_copy, newcomer_env

# What no aired answer may contain: labels the stages' prompts once ended with, their instruction
# sentences, the picture's brief as the poem stage writes it, and chat-template markers.
SCAFFOLDING = re.compile(
    r"your (answer|rebuttal|opening|closing)\s*:|transcript so far|open the debate|please make your (opening|rebuttal|closing)|"
    r"the picture shows, most likely first|write only the poem|reply with the translation only|answer with the letter|<\|im_|"
    r"请以\S{1,6}身份|图片内容：|只写诗句|道德困境：|该怎么做？为什么？|请只回答选项字母",
    re.IGNORECASE,
)
# A contestant's own system prompt said back first (trimmed like any echoed prompt line).
PERSONA_FIRST = re.compile(r"\s*(you are (bao|mei|cato|dao)\b|你是(宝|梅|卡托|道)，)", re.IGNORECASE)
# The episodes: the demo's default rundown (English) and its Chinese twin.
SCRIPTS = {"en": None, "zh": "show_scripts/demo.zh.yaml"}
LIVE = {
    "speed_qa": {"duel"},
    "surprise": {"duel"},
    "debate": {"duel"},
    "values_arena": {"duel"},
    "image_poem": {"image_poem"},
    "subtitles": {"subtitles"},
}
LABEL = {
    "en": {
        "speed_qa": r"Question \d / \d",
        "surprise": r"Question \d / \d",
        "debate": r"Motion · Round \d / \d",
        "values_arena": r"Dilemma \d / \d",
    },
    "zh": {
        "speed_qa": r"第 \d 题 / 共 \d 题",
        "surprise": r"第 \d 题 / 共 \d 题",
        "debate": r"辩题 · 第 \d 轮 / 共 \d 轮",
        "values_arena": r"道德困境 \d / \d",
    },
}
END_KICKER = {"en": "Tonight's winner", "zh": "今晚的冠军"}
HAN = re.compile(r"[\u3400-\u9fff]")

ON_AIR_JS = """() => [...document.querySelectorAll('iframe')].map((f) => {
  const w = f.contentWindow, root = w && w.document.getElementById('stage');
  const on = !!(root && root.classList.contains('on'));
  // A graphic that is off must show nothing: no part of it drawn with any opacity.
  const seen = !on && root && [...root.children].some((c) => c.dataset.testid !== 'output-indicator' && Number(w.getComputedStyle(c).opacity) > 0.01);
  return {graphic: f.dataset.graphic, on, seen: !!seen, text: on ? root.innerText : ''};
})"""
COLUMNS_JS = """() => {
  const f = document.querySelector('iframe[data-graphic=duel]'), d = f && f.contentWindow.document;
  if (!d) return [];
  // What a box shows: its text, or while nothing has aired yet the waiting note.
  return [...d.querySelectorAll('[data-testid^=answer-text-]')].map((e) => {
    const id = e.dataset.testid.slice(12), wait = d.querySelector(`[data-testid=answer-waiting-${id}]`);
    return {id, text: (wait ? wait.textContent : '') + e.textContent};
  });
}"""


class Episode:
    """The demo process and what the test reads from it."""

    def __init__(self, copy: Path, port: int, script: str | None):
        self.copy, self.port = copy, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [*GAVEL, "demo", "--headless", "--summary", "out.json", "--port", str(port), *(["--script", script] if script else [])],
            cwd=copy,
            env=newcomer_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.monitor_url: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)
            found = re.search(r"Program monitor \(every graphic of program\): (\S+)", line)
            if found:
                self.monitor_url = found.group(1)

    def wait_for_monitor_url(self, timeout_s: float = 120) -> str:
        deadline = time.monotonic() + timeout_s
        while self.monitor_url is None:
            assert self.proc.poll() is None, "".join(self.output)[-3000:]
            assert time.monotonic() < deadline, "no program monitor URL printed"
            time.sleep(0.1)
        # Its output is a pipe, not a terminal: the URL names the token's place, not the token.
        assert self.monitor_url.endswith("?token=<graphics"), self.monitor_url
        return self.monitor_url.removesuffix("<graphics") + self.secrets()["graphics"]

    def secrets(self) -> dict:
        (data_dir,) = (self.copy / "data").glob("demo-*")
        return json.loads((data_dir / "secrets.json").read_text())

    def director_token(self) -> str:
        return self.secrets()["director"]

    def state(self, token: str) -> dict | None:
        try:
            return httpx.get(f"{self.base}/api/state", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None  # the show has ended and the studio gone


def on_air(page) -> dict[str, str]:
    return {g["graphic"]: g["text"] for g in page.evaluate(ON_AIR_JS) if g["on"]}


def off_but_seen(page) -> list[str]:
    return [g["graphic"] for g in page.evaluate(ON_AIR_JS) if g["seen"]]


@pytest.fixture(scope="module", params=sorted(SCRIPTS))
def episode(request, tmp_path_factory):
    """Play the demo once, from a fresh copy, watching program: what was seen, and the summary."""
    copy = fresh_copy(tmp_path_factory.mktemp("newcomer") / "gavel")
    run = Episode(copy, free_port(), SCRIPTS[request.param])
    ARTIFACTS.mkdir(exist_ok=True)
    seen: dict = {"titles": {}, "stages": {}, "end": None, "language": request.param}
    try:
        url = run.wait_for_monitor_url()
        token = run.director_token()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(url)
            last = None
            while run.proc.poll() is None:
                state = run.state(token)
                if state is None:
                    time.sleep(0.3)
                    continue
                last = state
                _watch(page, state, seen, lambda: run.state(token))
                time.sleep(0.3)
            browser.close()
        seen["final"] = last
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
        run.proc.wait(timeout=60)
    seen["returncode"] = run.proc.returncode
    seen["output"] = "".join(run.output)
    seen["summary"] = json.loads((copy / "out.json").read_text()) if (copy / "out.json").exists() else None
    seen["copy"] = copy
    seen["secrets"] = run.secrets()
    return seen


def _watch(page, state: dict, seen: dict, again) -> None:
    """One look at program: note the title cards, one frame per stage while its answers stream,
    and the end card. ``again()`` reads the state anew: a frame is kept only if the question it
    shows is still the one the state described (short answers turn questions over quickly)."""
    program = state["graphics"]["program"]
    card = program.get("title_card", {})
    if card.get("visible") and isinstance(card.get("data", {}).get("stage"), int) and card["data"]["stage"] not in seen["titles"]:
        shown = on_air(page)
        if "title_card" in shown:
            seen["titles"][card["data"]["stage"]] = shown["title_card"]
    index = state.get("current_stage")
    if index is not None and index not in seen["stages"] and state["stages"][index]["status"] == "running":
        kind = state["stages"][index]["kind"]
        answers = state.get("answers") or {}
        streaming = [c for c, a in answers.items() if a.get("status") == "streaming"]
        subtitles = (state.get("subtitles") or {}).get("lines") or []
        # Answers are streaming and some words are on air (a box with none yet says it is waiting).
        busy = (streaming and any(a.get("text", "").strip() for a in answers.values())) or (kind == "subtitles" and subtitles)
        if busy:
            time.sleep(0.5)  # let the pages draw the frame the state describes
            shot = ARTIFACTS / f"episode-{seen['language']}-{index}-{kind}.png"
            frame = {
                "kind": kind,
                "title": state["stages"][index]["title"],
                "on_air": on_air(page),
                "columns": page.evaluate(COLUMNS_JS),
                "answering": sorted(answers),
                "shot": shot,
                "off_but_seen": off_but_seen(page),
            }
            page.screenshot(path=str(shot))
            now = again()
            if now is not None and now.get("question") == state.get("question") and now.get("current_stage") == index:
                seen["stages"][index] = frame  # else the next question began meanwhile: look again later
    if state["show"]["status"] == "completed" or (program.get("end_card", {}).get("visible") and seen["end"] is None):
        shown = on_air(page)
        if "end_card" in shown:
            page.wait_for_timeout(1500)  # the card's entry (and the leaderboard's exit) played out
            seen["end"] = {"text": on_air(page).get("end_card", ""), "leaderboard": state.get("leaderboard")}
            page.screenshot(path=str(ARTIFACTS / f"episode-{seen['language']}-end-card.png"))


def test_no_secret_is_printed_while_the_episode_airs(episode):
    """Program watched with the graphics token in its URL, the director's polled with his: the
    demo's whole output (its banner and every log line) holds neither, nor any other secret."""
    secrets = [episode["secrets"][role] for role in ("director", "graphics", "signing")]
    assert all(len(s) > 20 for s in secrets)
    leaked = [s[:4] + "…" for s in secrets if s in episode["output"]]
    assert not leaked, leaked
    assert "/overlays/output.html?token=<graphics token>" in episode["output"]


def test_the_newcomers_demo_completes_from_a_fresh_copy_with_no_data_dir(episode):
    assert episode["returncode"] == 0, episode["output"][-3000:]
    assert episode["summary"]["status"] == "completed" and episode["summary"]["engine_errors"] == {}
    (data_dir,) = (episode["copy"] / "data").glob("demo-*")  # the default data dir, under the copy's root
    assert "ready to accept connections" in (data_dir / "redis.log").read_text()


def test_every_stage_kind_airs_with_its_title_card_and_its_own_graphics(episode):
    stages = episode["summary"]["stages"]
    assert [s["kind"] for s in stages] == ["speed_qa", "surprise", "debate", "values_arena", "image_poem", "subtitles"]
    for s in stages:
        assert s["title"].casefold() in episode["titles"].get(s["index"], "").casefold(), (
            f"stage {s['index']}: no title card with its title"
        )
        frame = episode["stages"].get(s["index"])
        assert frame is not None, f"stage {s['index']} ({s['kind']}) was never seen on air"
        shown = set(frame["on_air"])
        # What the stage is about is on air, and nothing left over from the stage before.
        assert LIVE[s["kind"]] <= shown <= LIVE[s["kind"]] | {"vote_bars"}, (s["kind"], shown)
        assert frame["off_but_seen"] == [], f"{s['kind']}: graphics off air but visible: {frame['off_but_seen']}"
        if s["kind"] in LABEL[episode["language"]]:
            label = LABEL[episode["language"]][s["kind"]]
            assert re.search(label, frame["on_air"]["duel"], re.IGNORECASE), (s["kind"], frame["on_air"]["duel"][:300])
            # Only those who answer have a column, and none of them is empty while answers stream.
            assert sorted(c["id"] for c in frame["columns"]) == frame["answering"]
            assert all(c["text"].strip() for c in frame["columns"]), frame["columns"]
        else:
            assert "duel" not in shown


def test_the_end_card_names_the_winner_the_leaderboard_names(episode):
    end = episode["end"]
    assert end is not None, "the end card never aired"
    board = end["leaderboard"]
    names = {c["id"]: c["name"] for c in episode["final"]["contestants"]}
    assert board and board["rows"], "no leaderboard at the end of the show"
    assert names[board["rows"][0]["contestant"]].casefold() in end["text"].casefold()
    assert END_KICKER[episode["language"]].casefold() in end["text"].casefold()  # the card sets it in capitals


@pytest.mark.parametrize("episode", ["zh"], indirect=True)
def test_the_chinese_episode_reads_as_chinese(episode):
    for index, card in episode["titles"].items():
        assert HAN.search(card), f"title card of stage {index} has no Chinese: {card!r}"
    assert HAN.search(episode["end"]["text"])
    # What the contestants said on air is Chinese too (they are asked to answer in Chinese); the
    # subtitles translate into English, so they are not counted.
    spoken = [t for s in episode["summary"]["stages"] if s["kind"] != "subtitles" for ts in s["answers"].values() for t in ts]
    chinese = [t for t in spoken if HAN.search(t)]
    assert len(chinese) >= len(spoken) / 2, spoken


def test_no_prompt_scaffolding_airs_and_no_two_contestants_answer_alike(episode):
    for stage in episode["summary"]["stages"]:
        answers = stage["answers"]
        assert answers, f"stage {stage['index']}: nothing aired"
        for contestant, texts in answers.items():
            for text in texts:
                assert not SCAFFOLDING.search(text), (stage["kind"], contestant, text)
                assert not PERSONA_FIRST.match(text), (stage["kind"], contestant, text)
        # The same prompt (the n-th answer of a stage) never gets the same text from two contestants.
        for n in range(max(len(t) for t in answers.values())):
            said = [t[n].strip() for t in answers.values() if n < len(t) and t[n].strip()]
            assert len(said) == len(set(said)), (stage["kind"], n, said)
