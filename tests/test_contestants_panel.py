"""The director's panel shows contestants' training jobs and qualification as ``gavel contestants``
posts them into the show's log from another process: a real studio (uvicorn, embedded Redis), the
events appended to that Redis as the CLI does, the panel in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from contestants.show_events import ShowEvents
from core import events as ev
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    text = (REPO / "show_scripts/rehearsal.yaml").read_text().replace("bank: banks/", f"bank: {REPO}/show_scripts/banks/")
    path = tmp_path_factory.mktemp("training-panel") / "show.yaml"
    path.write_text(text)
    with LiveStudio(Studio(load_script(path), path.parent / "data", pool=engineless_pool())) as live:
        yield live


def progress(step, loss, eta):
    return ev.TrainingProgress(
        data=ev.TrainingProgressData(
            contestant="bao", job="bao-sft-1", kind="sft", step=step, max_steps=4, loss=loss, eta_s=eta, elapsed_s=step * 2.0
        )
    )


def test_training_and_qualification_appear_on_the_panel(live):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live.base}/director#token={live.director_token}")
        page.wait_for_function("() => window.__director && window.__director.canOperate()", timeout=30_000)
        assert page.is_visible("[data-testid=training-empty]")

        with ShowEvents(live.studio.redis_server.url, live.studio.script.show.id) as show:
            show.publish(progress(1, 2.5, 30.0))
            row = "[data-testid=training-bao]"
            page.wait_for_selector(row)
            assert page.text_content(f"{row} .step") == "1/4"
            assert page.text_content(f"{row} .status") == "RUNNING"
            show.publish(progress(2, 1.25, 10.0))
            show.publish(
                ev.TrainingFinished(
                    data=ev.TrainingFinishedData(
                        contestant="bao",
                        job="bao-sft-1",
                        kind="sft",
                        status="budget_exceeded",
                        steps=2,
                        adapter="/x",
                        reason="wall-time budget of 5 s spent (6 s) at step 2",
                    )
                )
            )
            show.publish(
                ev.QualificationResult(
                    data=ev.QualificationResultData(contestant="<b>ada</b>", scores={"mmlu_style": 0.5}, score=0.5, samples=8, report="r")
                ),
                channels=ev.DIRECTOR_ONLY,
            )
            show.publish(
                ev.QualificationResult(
                    data=ev.QualificationResultData(contestant="bao", scores={"mmlu_style": 0.25}, score=0.25, samples=8, report="r")
                )
            )
        page.wait_for_function("() => document.querySelector('[data-testid=training-bao] .score').textContent !== '—'")
        cells = page.eval_on_selector_all(f"{row} td", "tds => tds.map(td => td.textContent)")
        assert cells == ["Bao", "SFT bao-sft-1", "2/4", "1.250", "—", "BUDGET EXCEEDED", "25 % of 8"]
        assert page.get_attribute(f"{row} .status", "title").startswith("wall-time budget")
        # An id that is not the show's contestant is shown as text, never as markup.
        odd = page.locator("#training tbody tr").filter(has_text="<b>ada</b>")
        assert odd.count() == 1 and page.locator("#training b").count() == 0
        page.screenshot(path=str(ARTIFACTS / "training-panel.png"))
        assert not errors, errors

        # On air: the training graphic, cued and taken by the director, draws the same job.
        assert live.post_command("cue", {"graphic": "training", "visible": True}).json()["ok"]
        assert live.post_command("take").json()["ok"]
        board = browser.new_page(viewport={"width": 1920, "height": 1080})
        board.goto(live.overlay("training.html?channel=program"))
        board.wait_for_function(
            "() => (document.querySelector('[data-testid=tr-row-bao] .tr-qual') || {}).textContent === 'qualification 25%'", timeout=30_000
        )
        bao = "[data-testid=tr-row-bao]"
        assert board.text_content(f"{bao} .tr-status") == "BUDGET SPENT · LAST CHECKPOINT KEPT"
        assert board.text_content(f"{bao} .tr-figures") == "SFT · step 2/4 · loss 1.250"
        assert board.evaluate(f"() => document.querySelector('{bao} .tr-fill').style.width") == "50%"
        assert board.locator("[data-testid=graphic-training]").get_attribute("data-visible") == "true"
        board.wait_for_timeout(500)
        board.screenshot(path=str(ARTIFACTS / "graphic-training-live.png"), omit_background=True)
        browser.close()
