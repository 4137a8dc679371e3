"""The stage graphics on real parts: the image_poem and subtitles stages run on a real studio
(uvicorn, Redis) with the replay engine (recorded tokens, no model), their graphics cued and taken
by the director over HTTP and drawn in the real Chromium.

- image_poem: the picture (the event's data URI, decoded by the browser), how the contestants saw
  it (the path badge; the classifier's labels with percentage bars, colour swatches and the
  brightness/tone words), both poems streaming and their form badges; the vlm and mixed badges;
  a non-data: image is never loaded.
- subtitles: the source line and its language, each contestant's translation streaming with a lag
  badge that counts up on the server clock and ends at the line's lag, the "lines behind" marker
  of a slow contestant, the DNF of a timed-out line, the final lag table.
Markup in model and script text shows as text and creates no elements. Screenshots land in
tests/artifacts/graphic-image-poem*.png and graphic-subtitles*.png.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, sync_playwright

from core import events as ev
from core.graphics import GRAPHICS, OVERLAYS_DIR
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio

REPO = Path(__file__).resolve().parent.parent
SUNSET = REPO / "show_scripts" / "assets" / "sunset-sea.jpg"
VALIDATOR = REPO.parent / "shared" / "specs" / "ograf-v1" / "validate.py"

IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=2</script>"

ADA_POEM = (
    "The sun goes down upon the sea,\nA boat sails home so silently.\nThe golden light begins to fade,\nAnd night arrives in purple shade."
)
BAO_POEM = f"<b>Waves</b> roll in\nthe boat drifts out {IMG}\nsky turns red {SCRIPT}"


def chunks(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_graphic(browser, live: LiveStudio, page_name: str) -> Page:
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(live.overlay(f"{page_name}?channel=program"))
    page.wait_for_function("() => window.__gavel && window.__gavel.connected", timeout=30_000)
    return page


def cue_and_take(live: LiveStudio, graphic: str, data: dict | None = None) -> None:
    cued = live.post_command("cue", {"graphic": graphic, "visible": True, **({"data": data} if data else {})})
    assert cued.status_code == 200 and cued.json()["ok"], cued.text
    taken = live.post_command("take")
    assert taken.status_code == 200 and taken.json()["ok"], taken.text


def text(page: Page, testid: str) -> str:
    return page.text_content(f"[data-testid='{testid}']") or ""


def visible(page: Page, testid: str) -> bool:
    return page.is_visible(f"[data-testid='{testid}']")


def settle(page: Page) -> None:
    """Until the entry transitions are over (the blinking carets never end)."""
    page.wait_for_function(
        """() => !document.getAnimations().some(a => a.playState === 'running'
             && a.effect && a.effect.getComputedTiming().endTime !== Infinity)""",
        timeout=10_000,
    )


def shot(page: Page, name: str) -> None:
    settle(page)
    page.screenshot(path=str(ARTIFACTS / f"graphic-{name}.png"), omit_background=True)


def no_markup_ran(page: Page, container: str) -> None:
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert page.evaluate("() => window.__pwned") is None
    made = page.evaluate(
        f"() => [...document.querySelectorAll('{container} img, {container} script, {container} b')].map(e => e.outerHTML)"
    )
    assert made == [], made


def test_both_new_graphics_have_valid_manifests():
    manifests = [OVERLAYS_DIR / "image-poem.ograf.json", OVERLAYS_DIR / "subtitles.ograf.json"]
    result = subprocess.run([sys.executable, str(VALIDATOR), *map(str, manifests)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for path, graphic in zip(manifests, ("image_poem", "subtitles")):
        manifest = json.loads(path.read_text())
        assert manifest["v_gavel"]["graphic"] == graphic and manifest["v_gavel"]["html"] == GRAPHICS[graphic][0]
        assert (OVERLAYS_DIR / manifest["main"]).is_file()


# ---- image to poem -------------------------------------------------------------------------------------

POEM_SHOW = """
show: {id: poems, title: "Image to poem", autopilot_pause_s: 0}
engines:
  tape: {kind: replay, file: tape.yaml, tokens_per_s: 12}
contestants:
  - {id: ada, name: Ada, engine: tape}
  - {id: bao, name: Bao, engine: tape}
stages:
  - kind: image_poem
    image: IMAGE
    lines: 4
    rhyme: true
    time_limit_s: 30
"""


@pytest.fixture(scope="module")
def poem(browser, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("poem-graphic")
    recording = {"answers": [{"contestant": "ada", "tokens": chunks(ADA_POEM)}, {"contestant": "bao", "tokens": chunks(BAO_POEM)}]}
    (tmp / "tape.yaml").write_text(yaml.safe_dump(recording, allow_unicode=True))
    (tmp / "show.yaml").write_text(POEM_SHOW.replace("IMAGE", str(SUNSET)))
    with LiveStudio(Studio(load_script(tmp / "show.yaml"), tmp / "data")) as live:
        live.wait_for_engines()
        page = open_graphic(browser, live, "image-poem.html")
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        cue_and_take(live, "image_poem")
        page.wait_for_function("() => gavelGraphic.visible", timeout=10_000)
        assert text(page, "ip-waiting") == "Waiting for the picture"  # on air before the stage: a frame, no picture
        assert live.command("start").json()["changed"]
        page.wait_for_function(  # a poem mid-stream, beside the picture already on screen
            """() => { const t = document.querySelector('[data-testid=ip-poem-text-ada]');
                 const img = document.querySelector('[data-testid=ip-image]');
                 return t && t.classList.contains('streaming') && t.textContent.length > 0 && img.naturalWidth > 0; }""",
            timeout=120_000,
        )
        mid = {"ada": text(page, "ip-poem-text-ada"), "status": page.get_attribute("[data-testid=ip-poem-ada]", "data-status")}
        shot(page, "image-poem-streaming")
        page.wait_for_function("() => __gavel.client.state.show && __gavel.client.state.show.status === 'completed'", timeout=120_000)
        page.wait_for_function("() => document.querySelector('[data-testid=ip-form-badge-bao]').textContent !== ''")
        yield {"live": live, "page": page, "state": live.state(), "mid": mid, "requests": requests}
        page.close()


def test_the_picture_and_what_the_text_models_were_told(poem):
    page, shown = poem["page"], poem["state"]["image_poem"]
    assert shown["path"] == "labels"
    image = page.evaluate(
        "() => { const i = document.querySelector('[data-testid=ip-image]'); return {src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight}; }"
    )
    assert image["src"] == shown["image"] and image["src"].startswith("data:image/jpeg;base64,")
    assert image["w"] > 0 and image["w"] / image["h"] == pytest.approx(1024 / 640, rel=0.02)
    assert page.get_attribute("[data-testid=graphic-image_poem]", "data-path") == "labels"
    assert text(page, "ip-path") == "Text models were told:"
    assert visible(page, "ip-told") and not visible(page, "ip-who")
    labels = page.evaluate(
        """() => [...document.querySelectorAll('.ip-label')].map(li => ({
             name: li.querySelector('.ip-label-name').textContent, pct: li.querySelector('.ip-label-pct').textContent,
             width: li.querySelector('.ip-label-fill').getBoundingClientRect().width,
             track: li.querySelector('.ip-label-bar').getBoundingClientRect().width }))"""
    )
    assert [label["name"] for label in labels] == [label["label"] for label in shown["labels"]] and len(labels) == 5
    for drawn, label in zip(labels, shown["labels"]):
        p = label["p"] * 100
        assert drawn["pct"] == ("<1%" if 0 < p < 1 else f"{round(p)}%")
        assert drawn["width"] == pytest.approx(drawn["track"] * label["p"], abs=2)  # the bar is the share
    colours = page.evaluate(
        """() => [...document.querySelectorAll('.ip-colour')].map(li => ({
             name: li.querySelector('.ip-colour-name').textContent,
             swatch: getComputedStyle(li.querySelector('.ip-swatch')).backgroundColor }))"""
    )
    facts = shown["facts"]
    assert [c["name"] for c in colours] == [c["name"] for c in facts["colours"]]
    assert {"orange", "dark blue"} <= {c["name"] for c in colours}
    swatch = {c["name"]: c["swatch"] for c in colours}
    assert swatch["orange"] == "rgb(240, 140, 40)" and swatch["dark blue"] == "rgb(28, 55, 108)"
    assert text(page, "ip-facts") == f"{facts['brightness_word']} · {facts['contrast_word']} contrast · warm tone · landscape"
    assert text(page, "ip-question") == "A 4-line rhyming poem about this picture"
    assert text(page, "ip-title") == "Image to poem"


def test_both_poems_stream_and_get_their_form_badges(poem):
    page, state = poem["page"], poem["state"]
    assert poem["mid"]["status"] == "streaming" and ADA_POEM.startswith(poem["mid"]["ada"]) and poem["mid"]["ada"] != ADA_POEM
    assert state["answers"]["ada"]["text"] == ADA_POEM and state["answers"]["bao"]["text"] == BAO_POEM
    assert text(page, "ip-poem-text-ada") == ADA_POEM and text(page, "ip-poem-text-bao") == BAO_POEM
    assert (text(page, "ip-name-ada"), text(page, "ip-name-bao")) == ("Ada", "Bao")
    assert page.query_selector_all(".ip-poem-text.streaming") == []
    forms = state["image_poem"]["forms"]
    assert forms["ada"]["meets_form"] and not forms["bao"]["meets_form"]
    assert text(page, "ip-form-badge-ada") == "4/4 lines ✓ · rhymes 1–2, 3–4"
    assert page.get_attribute("[data-testid=ip-form-ada]", "data-meets") == "true" and not visible(page, "ip-form-notes-ada")
    assert text(page, "ip-form-badge-bao").startswith("3/4 lines ✗")
    assert text(page, "ip-form-notes-bao") == forms["bao"]["notes"] and "3 lines, 4 asked" in forms["bao"]["notes"]
    assert page.get_attribute("[data-testid=ip-form-bao]", "data-meets") == "false"
    colours = page.evaluate(
        "() => ['ada', 'bao'].map(c => getComputedStyle(document.querySelector(`[data-testid=ip-form-badge-${c}]`)).backgroundColor)"
    )
    assert colours[0] != colours[1]  # pass and fail look different
    assert not visible(page, "ip-poem-path-ada")  # one path for all: no per-contestant chip
    shot(page, "image-poem")


def test_markup_in_a_poem_is_text(poem):
    page = poem["page"]
    assert IMG in text(page, "ip-poem-text-bao") and SCRIPT in text(page, "ip-poem-text-bao")
    no_markup_ran(page, "[data-testid=ip-poems]")
    assert page.evaluate("() => document.querySelectorAll('#stage img').length") == 1  # the picture, nothing else


def test_the_vlm_and_mixed_badges_and_only_a_data_uri_is_loaded(poem):
    live, page = poem["live"], poem["page"]
    shown = dict(poem["state"]["image_poem"])
    shown.pop("forms"), shown.pop("poems")  # state, not part of the event

    def show(**changes) -> None:
        data = ev.ImageShownData.model_validate({**shown, **changes})
        live.call(lambda: live.studio.controller.publish(ev.ImageShown(data=data)))

    show(path="mixed", paths={"ada": "vlm", "bao": "labels"})
    page.wait_for_function("() => document.getElementById('stage').dataset.path === 'mixed'")
    assert text(page, "ip-path") == "Some models see the picture · text models were told:"
    assert text(page, "ip-who-ada") == "Adasees the picture" and text(page, "ip-who-bao") == "Baotold in words"
    assert (text(page, "ip-poem-path-ada"), text(page, "ip-poem-path-bao")) == ("sees the picture", "told in words")
    assert visible(page, "ip-poem-path-ada") and visible(page, "ip-told")
    assert text(page, "ip-poem-text-ada") == ADA_POEM  # the same question: the poems stay
    shot(page, "image-poem-mixed")

    show(path="vlm", paths={"ada": "vlm", "bao": "vlm"})
    page.wait_for_function("() => document.getElementById('stage').dataset.path === 'vlm'")
    assert text(page, "ip-path") == "The models see the picture"
    assert not visible(page, "ip-told") and not visible(page, "ip-who") and not visible(page, "ip-poem-path-ada")

    before = len(poem["requests"])
    show(image="http://127.0.0.1:9/x.png")  # not a data: URI: never loaded
    page.wait_for_function("() => document.querySelector('[data-testid=ip-image]').getAttribute('src') === null")
    assert text(page, "ip-waiting") == "No picture"
    page.wait_for_timeout(300)
    assert not [url for url in poem["requests"][before:] if "x.png" in url]
    show()  # the picture again
    page.wait_for_function("() => document.querySelector('[data-testid=ip-image]').naturalWidth > 0")


# ---- live subtitles -------------------------------------------------------------------------------------

LINES = [
    (0.0, "[L0] Good evening."),
    (0.4, "[L1] Tonight, the news."),
    (0.8, "[L2] First, the weather."),
    (1.2, f"[L3] <b>Goodbye</b> & good night {IMG}"),
]
TIME_LIMIT_S = 1.5
SUB_SHOW = """
show: {id: subs, title: Subtitles, autopilot_pause_s: 0}
engines:
  fast: {kind: replay, file: tape.yaml, tokens_per_s: 100}
  slow: {kind: replay, file: tape.yaml, tokens_per_s: 10}
contestants:
  - {id: ada, name: Ada, engine: fast}
  - {id: bao, name: Bao, engine: slow}
stages:
  - kind: subtitles
    transcript: speech.yaml
    source_lang: English
    target_lang: French
    time_limit_s: LIMIT
    prompt: 'Line: {line}'
    sampling: {max_tokens: 64}
"""
ADA_LAST = f"Au revoir {IMG}"


def _sub_recording() -> dict:
    answers = []
    for i in range(len(LINES)):
        ada = ["Au revoir ", IMG] if i == 3 else [f"A{i}a ", f"A{i}b ", f"A{i}c"]
        answers.append({"contestant": "ada", "match": f"Line: [L{i}]", "tokens": ada})
        # Bao: 8 tokens at 10/s, 0.8 s a line (lines come every 0.4 s), and the last one runs out of time.
        answers.append({"contestant": "bao", "match": f"Line: [L{i}]", "tokens": [f"B{i}-{k} " for k in range(40 if i == 3 else 8)]})
    return {"answers": answers}


@pytest.fixture(scope="module")
def subs(browser, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("subs-graphic")
    (tmp / "tape.yaml").write_text(yaml.safe_dump(_sub_recording(), allow_unicode=True))
    (tmp / "speech.yaml").write_text(yaml.safe_dump([{"t": t, "text": line} for t, line in LINES], allow_unicode=True))
    (tmp / "show.yaml").write_text(SUB_SHOW.replace("LIMIT", str(TIME_LIMIT_S)))
    with LiveStudio(Studio(load_script(tmp / "show.yaml"), tmp / "data")) as live:
        live.wait_for_engines()
        page = open_graphic(browser, live, "subtitles.html")
        cue_and_take(live, "subtitles")
        page.wait_for_function("() => gavelGraphic.visible", timeout=10_000)
        assert text(page, "sb-source-text") == "Waiting for the first line"
        assert live.command("start").json()["changed"]
        # Bao falls behind: a later line is on air while it still works on an earlier one.
        # Read in the same moment the condition holds: Bao may catch up a line right after.
        behind = page.wait_for_function(
            """() => {
                const row = document.querySelector('[data-testid=sb-row-bao]');
                if (!(Number(row?.dataset.behind) >= 2)) return null;
                return {marker: document.querySelector('[data-testid=sb-behind-bao]').textContent,
                        line: Number(row.dataset.line),
                        latest: Number(document.querySelector('[data-testid=subtitles]').dataset.line)};
            }""",
            timeout=60_000,
        ).json_value()
        shot_behind = ARTIFACTS / "graphic-subtitles-behind.png"
        page.screenshot(path=str(shot_behind), omit_background=True)
        # Bao on the last line, which it will not finish: its badge counts up on the server clock.
        page.wait_for_function(
            """() => { const r = document.querySelector('[data-testid=sb-row-bao]');
                 return r.dataset.line === '3' && r.dataset.status === 'streaming'; }""",
            timeout=30_000,
        )
        samples = []
        for _ in range(3):
            samples.append(
                page.evaluate(
                    """() => { const b = document.querySelector('[data-testid=sb-lag-bao]');
                     const line = __gavel.client.state.subtitles.lines[3];
                     return {text: b.textContent, lag: Number(b.dataset.lag), live: b.classList.contains('live'),
                             expected: __gavel.client.serverNow() / 1000 - line.shown_ts, line: b.closest('li').dataset.line}; }"""
                )
            )
            page.wait_for_timeout(300)
        page.wait_for_function("() => __gavel.client.state.show && __gavel.client.state.show.status === 'completed'", timeout=60_000)
        page.wait_for_function("() => !document.querySelector('[data-testid=sb-summary]').classList.contains('is-empty')")
        yield {"live": live, "page": page, "state": live.state(), "behind": behind, "samples": samples}
        page.close()


def test_the_source_line_and_each_translation(subs):
    page, sub = subs["page"], subs["state"]["subtitles"]
    last = sub["lines"][-1]
    assert last["text"] == LINES[-1][1] and text(page, "sb-source-text") == LINES[-1][1]  # markup in the script: text
    assert text(page, "sb-source-lang") == "English" and text(page, "sb-langs") == "English → French"
    assert text(page, "sb-progress") == "Line 4 · 0:01.2"
    assert (text(page, "sb-name-ada"), text(page, "sb-name-bao")) == ("Ada", "Bao")
    for who in ("ada", "bao"):
        assert text(page, f"sb-text-{who}") == last["translations"][who]["text"]
        assert page.get_attribute(f"[data-testid=sb-row-{who}]", "data-line") == "3"
        assert not visible(page, f"sb-behind-{who}")  # nobody is behind once it is over
    assert text(page, "sb-text-ada") == ADA_LAST and text(page, "sb-text-bao").startswith("B3-0 B3-1")
    assert page.query_selector_all(".sb-text.streaming") == []
    no_markup_ran(page, "#stage")


def test_lag_badges_count_up_then_show_the_lag_or_the_dnf(subs):
    page, sub = subs["page"], subs["state"]["subtitles"]
    samples = subs["samples"]
    assert all(s["live"] and s["line"] == "3" and re.fullmatch(r"\+\d+\.\d s", s["text"]) for s in samples), samples
    for s in samples:  # the badge is the time since the line went on air, on the studio's clock
        assert s["lag"] == pytest.approx(s["expected"], abs=0.35)
    assert samples[0]["lag"] < samples[1]["lag"] < samples[2]["lag"]
    ada = sub["lines"][-1]["translations"]["ada"]
    assert ada["status"] == "done" and text(page, "sb-lag-ada") == f"{ada['lag_s']:.2f} s"
    assert re.fullmatch(r"\d+\.\d\d s", text(page, "sb-lag-ada"))
    bao = sub["lines"][-1]["translations"]["bao"]
    assert bao["status"] == "timeout" and text(page, "sb-lag-bao") == "DNF · timeout"
    assert page.get_attribute("[data-testid=sb-row-bao]", "data-status") == "timeout"
    colours = page.evaluate(
        "() => ['ada', 'bao'].map(c => getComputedStyle(document.querySelector(`[data-testid=sb-lag-${c}]`)).backgroundColor)"
    )
    assert colours[0] != colours[1]


def test_a_slow_contestant_is_marked_lines_behind(subs):
    behind = subs["behind"]
    k = int(behind["marker"].split()[0])
    assert behind["marker"] == f"{k} lines behind" and k >= 2
    assert behind["line"] + k == behind["latest"]  # the latest line on air, k lines after the one it is on


def test_the_final_table_of_lags(subs):
    page, summary = subs["page"], subs["state"]["subtitles"]["summary"]
    assert summary["final"]
    rows = {r["contestant"]: r for r in summary["rows"]}
    assert (rows["bao"]["done"], rows["bao"]["dnf"], rows["ada"]["done"], rows["ada"]["dnf"]) == (3, 1, 4, 0)
    table = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.sb-sum-row')].map(tr => [tr.dataset.contestant, [...tr.children].map(td => td.textContent)]))"
    )
    fmt = lambda s: f"{s:.2f} s" if s < 10 else f"{s:.1f} s"  # noqa: E731
    for who, row in rows.items():
        name = {"ada": "Ada", "bao": "Bao"}[who]
        assert table[who] == [name, fmt(row["lag_median_s"]), fmt(row["lag_p90_s"]), f"{row['done']}/{row['lines']}", str(row["dnf"])]
    assert rows["ada"]["lag_median_s"] < rows["bao"]["lag_median_s"]
    shot(page, "subtitles")
    page.evaluate("() => update({show_summary: false})")  # the operator can leave the table off
    assert not visible(page, "sb-summary")
    page.evaluate("() => update({show_summary: null})")
    assert visible(page, "sb-summary")


def test_a_dumped_translation_leaves_the_screen(subs):
    live, page = subs["live"], subs["page"]
    dump = ev.AnswerDumped(data=ev.AnswerDumpedData(question_id="sub-0-3", contestant="ada", reason="dumped by the director"))
    live.call(lambda: live.studio.controller.publish(dump))
    page.wait_for_function("() => document.querySelector('[data-testid=sb-row-ada]').dataset.status === 'dumped'")
    assert text(page, "sb-text-ada") == "" and text(page, "sb-lag-ada") == "Removed"
    assert text(page, "sb-text-bao").startswith("B3-0")  # the other contestant's stays
