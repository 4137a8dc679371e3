"""The viewers' phone page (/vote) and the judges' page (/judge), in real Chromium against a real
studio (uvicorn, the real Redis; no LLM: answers are published into the show by the test).

The pages are driven the way people use them: taps on a phone-sized, touch viewport for /vote;
taps and the keyboard for /judge. Every count and score asserted on the page is also checked on
the server's side (the director's /api/state), and markup in poll, answer and question text must
come out as text.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from core import events as ev
from studio.server.runtime import Studio
from studio.show.rundown import load_script

from .studio_harness import ARTIFACTS, CHROMIUM_ARGS, LiveStudio, engineless_pool

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "show_scripts" / "rehearsal.yaml"
MARKUP = '<b>x</b><img src=x onerror="window.__pwned=1">'
PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
TABLET = dict(viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True)
JUDGING = """
judging:
  judges:
    - {id: j1, name: "Judge One"}
    - {id: j2, name: "Judge Two"}
  criteria: {accuracy: accuracy, creativity: creativity}
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audience-pages")
    text = DEMO.read_text().replace("bank: banks/demo.yaml", f"bank: {REPO}/show_scripts/banks/demo.yaml")
    path = tmp / "show.yaml"
    path.write_text(text + JUDGING)
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveStudio(Studio(load_script(path), tmp / "data", pool=engineless_pool())) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def contexts(browser):
    """New browser contexts (each one a separate phone or tablet); page errors fail the test."""
    made, errors = [], []

    def new(**options):
        context = browser.new_context(**options)
        context.on("page", lambda page: page.on("pageerror", lambda exc: errors.append(str(exc))))
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()
    assert not errors, errors


# -- helpers -------------------------------------------------------------------------------------


def command(live: LiveStudio, name: str, args: dict) -> None:
    response = live.post_command(name, args)
    assert response.status_code == 200 and response.json()["ok"], response.text


def counts_settle(live: LiveStudio, poll: str, want: dict[str, int], timeout_s: float = 10) -> None:
    """The studio's counts for ``poll`` (nonzero ones) become ``want``: tallies go out at 4 Hz."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = {k: v for k, v in live.state()["polls"][poll]["counts"].items() if v}
        if counts == want:
            return
        assert time.monotonic() < deadline, f"counts of {poll}: {counts}, want {want}"
        time.sleep(0.1)


def no_injection(page) -> None:
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("[...document.querySelectorAll('b')].every(b => b.textContent !== 'x')")
    assert page.evaluate("window.__pwned") is None


def no_sideways_scroll(page, width: int = 390) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def vote_page(context, live: LiveStudio):
    page = context.new_page()
    page.goto(f"{live.base}/vote")
    expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
    return page


def choice(page, choice_id: str):
    return page.locator(f'[data-testid="choice"][data-choice="{choice_id}"]')


# -- the phone page --------------------------------------------------------------------------------


def test_vote_page_on_a_phone(live, contexts):
    phone = contexts(**PHONE)
    page = vote_page(phone, live)
    expect(page.get_by_test_id("no-poll")).to_be_visible()
    expect(page.get_by_test_id("no-poll")).to_contain_text("No poll open right now")
    expect(page.get_by_test_id("poll")).to_be_hidden()

    title = f"Who answered best? {MARKUP}"
    command(
        live,
        "poll_open",
        {
            "poll": "p1",
            "title": title,
            "choices": [{"id": "ada", "label": f"Ada {MARKUP}"}, {"id": "bao", "label": "Bao"}],
        },
    )
    expect(page.get_by_test_id("poll-title")).to_have_text(title)
    expect(choice(page, "ada")).to_contain_text(f"Ada {MARKUP}")
    expect(page.get_by_test_id("poll-status")).to_have_text("Voting open")
    expect(page.get_by_test_id("rule")).to_contain_text("can't be changed")
    expect(page.get_by_test_id("results")).to_be_hidden()
    expect(page.get_by_test_id("countdown")).to_be_hidden()  # no duration: the director closes it
    no_injection(page)
    no_sideways_scroll(page)
    # Big touch targets.
    box = choice(page, "bao").bounding_box()
    assert box["height"] >= 48 and box["width"] >= 300, box

    choice(page, "ada").tap()
    expect(page.get_by_test_id("my-vote")).to_have_text(f"Your vote: Ada {MARKUP}")
    expect(choice(page, "ada")).to_have_attribute("aria-pressed", "true")
    expect(choice(page, "bao")).to_be_disabled()  # one vote per phone here
    counts_settle(live, "p1", {"ada": 1})

    page.reload()  # the device token is kept: the page asks the studio for this phone's vote
    expect(page.get_by_test_id("my-vote")).to_have_text(f"Your vote: Ada {MARKUP}")
    expect(choice(page, "ada")).to_have_attribute("aria-pressed", "true")
    expect(choice(page, "bao")).to_be_disabled()

    second = vote_page(contexts(**PHONE), live)  # another phone
    expect(second.get_by_test_id("my-vote")).to_have_text("You have not voted yet.")
    choice(second, "bao").tap()
    expect(second.get_by_test_id("my-vote")).to_have_text("Your vote: Bao")
    counts_settle(live, "p1", {"ada": 1, "bao": 1})

    # A third phone votes, then loses the audience feed (a mocked socket that never says a
    # thing): it still believes the poll is open when the director closes it.
    third = contexts(**PHONE).new_page()
    third.route_web_socket(re.compile(r".*/ws/audience.*"), lambda ws: None)
    third.goto(f"{live.base}/vote")
    expect(third.get_by_test_id("poll-title")).to_have_text(title)
    choice(third, "bao").tap()
    expect(third.get_by_test_id("my-vote")).to_have_text("Your vote: Bao")
    counts_settle(live, "p1", {"ada": 1, "bao": 2})

    command(live, "poll_close", {"poll": "p1"})
    expect(page.get_by_test_id("poll-status")).to_have_text("Voting closed")
    expect(page.get_by_test_id("poll-status")).to_have_attribute("data-status", "closed")
    for button in page.get_by_test_id("choice").all():
        expect(button).to_be_disabled()
    expect(page.get_by_test_id("results")).to_be_hidden()  # counts stay hidden until revealed
    expect(page.get_by_test_id("my-vote")).to_have_text(f"Your vote: Ada {MARKUP}")

    # The late tap reaches the studio, which refuses it; the phone says so in the studio's words.
    expect(third.get_by_test_id("poll-status")).to_have_text("Voting open")
    choice(third, "bao").tap()
    expect(third.get_by_test_id("message")).to_have_text("this poll is closed: your vote was not counted")
    expect(third.get_by_test_id("poll-status")).to_have_text("Voting closed")
    expect(choice(third, "bao")).to_be_disabled()
    counts_settle(live, "p1", {"ada": 1, "bao": 2})

    command(live, "poll_reveal", {"poll": "p1"})
    results = page.get_by_test_id("results")
    expect(results).to_be_visible()
    ada, bao = (results.locator(f'[data-testid="result"][data-choice="{c}"]') for c in ("ada", "bao"))
    expect(ada.get_by_test_id("result-count")).to_have_text("1 · 33%")
    expect(bao.get_by_test_id("result-count")).to_have_text("2 · 67%")
    expect(ada.get_by_test_id("result-label")).to_have_text(f"Ada {MARKUP}")
    expect(bao).to_have_attribute("data-winner", "true")
    expect(ada).to_have_attribute("data-winner", "false")
    expect(results.get_by_test_id("winner")).to_have_count(1)
    expect(bao.get_by_test_id("winner")).to_have_text("Winner")
    expect(ada).to_have_attribute("data-mine", "true")
    expect(page.get_by_test_id("result-total")).to_have_text("3 votes · Winner: Bao")
    widths = [float(b.evaluate("e => e.querySelector('.bar i').getBoundingClientRect().width")) for b in (ada, bao)]
    assert widths[1] > widths[0] * 1.8, widths
    expect(second.get_by_test_id("result-total")).to_have_text("3 votes · Winner: Bao")
    no_injection(page)
    no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "vote-phone.png"), full_page=True)


def test_vote_change_rating_countdown_and_offline(live, contexts):
    phone = contexts(**PHONE)
    page = phone.new_page()
    sockets, down = [], [False]

    def route(ws):  # the real feed, which the test can cut (as a dead network would)
        if down[0]:
            ws.close()
            return
        sockets.append(ws)
        ws.connect_to_server()

    page.route_web_socket(re.compile(r".*/ws/audience.*"), route)
    page.goto(f"{live.base}/vote")
    expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")

    command(live, "poll_open", {"poll": "p2", "title": "Rate Ada's answer", "kind": "rating", "allow_change": True, "duration_s": 90})
    expect(page.get_by_test_id("poll-title")).to_have_text("Rate Ada's answer")
    expect(page.get_by_test_id("choice")).to_have_text([f"{'★' * n}YOUR VOTE" for n in range(1, 6)])
    expect(page.get_by_test_id("rule")).to_contain_text("You can change your vote")
    expect(page.get_by_test_id("countdown")).to_have_text(re.compile(r"^1:[23]\d left$"))

    choice(page, "3").tap()
    expect(page.get_by_test_id("my-vote")).to_have_text("Your vote: ★★★")
    counts_settle(live, "p2", {"3": 1})
    expect(choice(page, "5")).to_be_enabled()
    choice(page, "5").tap()
    expect(page.get_by_test_id("my-vote")).to_have_text("Your vote: ★★★★★")
    expect(page.get_by_test_id("message")).to_have_text("Vote changed.")
    expect(choice(page, "3")).to_have_attribute("aria-pressed", "false")
    counts_settle(live, "p2", {"5": 1})
    no_sideways_scroll(page)

    # The feed goes down: the indicator says so at once, and says live again once it is back.
    down[0] = True
    for ws in sockets:
        ws.close()
    expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "offline")
    expect(page.get_by_test_id("conn")).to_contain_text("Offline")
    command(live, "poll_close", {"poll": "p2"})
    down[0] = False
    expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live", timeout=15000)
    expect(page.get_by_test_id("poll-status")).to_have_text("Voting closed")  # caught up on reconnect
    expect(page.get_by_test_id("my-vote")).to_have_text("Your vote: ★★★★★")


# -- the judges' page ------------------------------------------------------------------------------


def publish_answers(live: LiveStudio, question_id: str, question: str, answers: dict[str, str]) -> None:
    async def go():
        publish = live.studio.controller.publish
        await publish(
            ev.QuestionAsked(
                data=ev.QuestionAskedData(
                    stage=0,
                    number=1,
                    of=1,
                    question_id=question_id,
                    text=question,
                    kind="exact",
                    time_limit_s=30,
                    deadline_ts=time.time() + 30,
                )
            )
        )
        for contestant, text in answers.items():
            await publish(
                ev.AnswerFinished(
                    data=ev.AnswerFinishedData(
                        question_id=question_id,
                        contestant=contestant,
                        status="done",
                        text=text,
                        metrics=ev.AnswerMetrics(ttft=0.1, e2e=0.5, output_tokens=4),
                    )
                )
            )

    live.call(go)


def judge_page(context, live: LiveStudio, judge: str):
    page = context.new_page()
    page.goto(f"{live.base}/judge?token={live.studio.tokens.judges[judge]}")
    return page


def target_row(page, target: str):
    return page.locator(f'[data-testid="target"][data-target="{target}"]')


def pick(row, criterion: str, score: int) -> None:
    row.locator(f'fieldset[data-criterion="{criterion}"] label').nth(score - 1).locator("span").tap()


def test_judge_page(live, contexts):
    question = f"What is the capital of France? {MARKUP}"
    publish_answers(live, "qj", question, {"ada": f"Paris {MARKUP}", "bao": "Lyon\nsurely"})
    ada_target, bao_target = "answer:0:qj:ada", "answer:0:qj:bao"

    tablet = contexts(**TABLET)
    page = judge_page(tablet, live, "j1")
    expect(page.get_by_test_id("judge-name")).to_have_text("Judge One")
    assert "token" not in page.url and page.url.endswith("/judge"), page.url
    assert page.evaluate("sessionStorage.getItem('gavel.judge.token')") == live.studio.tokens.judges["j1"]

    ada, bao = target_row(page, ada_target), target_row(page, bao_target)
    expect(ada.get_by_test_id("answer")).to_have_text(f"Paris {MARKUP}")
    expect(ada.get_by_test_id("question")).to_have_text(question)
    expect(ada.get_by_test_id("contestant")).to_have_text("ada")
    expect(bao.get_by_test_id("answer")).to_have_text("Lyon\nsurely")
    no_injection(page)
    expect(ada.get_by_test_id("submit")).to_be_disabled()  # nothing picked yet
    expect(ada.get_by_test_id("row-message")).to_have_text("Still to score: accuracy, creativity")

    # Touch for one criterion, the keyboard for the other (radio group: arrows move the pick).
    pick(ada, "accuracy", 7)
    ada.locator('fieldset[data-criterion="creativity"] input').first.focus()
    page.keyboard.press("Space")
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    expect(ada.locator('fieldset[data-criterion="creativity"] input:checked')).to_have_value("8")
    expect(ada.get_by_test_id("submit")).to_be_enabled()
    ada.get_by_test_id("submit").tap()

    expect(ada).to_have_attribute("data-state", "scored")
    expect(ada.get_by_test_id("locked")).to_be_visible()
    expect(ada.get_by_test_id("score-form")).to_be_hidden()
    expect(ada.get_by_test_id("scored")).to_contain_text("accuracy7")
    expect(ada.get_by_test_id("scored")).to_contain_text("creativity8")
    assert live.state()["judged"][ada_target] == {"j1": {"accuracy": 7, "creativity": 8}}
    expect(bao).to_have_attribute("data-state", "open")
    page.screenshot(path=str(ARTIFACTS / "judge-tablet.png"), full_page=True)

    # A new answer appears by itself (the page refreshes every 2 s), newest question first.
    publish_answers(live, "qk", "2+2?", {"ada": "4"})
    expect(page.get_by_test_id("target")).to_have_count(3, timeout=6000)
    assert page.get_by_test_id("target").first.get_attribute("data-target") == "answer:0:qk:ada"
    page.reload()  # the token is kept for the tab; the scores come back from the studio
    expect(target_row(page, ada_target)).to_have_attribute("data-state", "scored")
    expect(page.get_by_test_id("judge-name")).to_have_text("Judge One")

    # The second judge has not scored anything: their own page says so.
    other = judge_page(contexts(**PHONE), live, "j2")
    expect(other.get_by_test_id("judge-name")).to_have_text("Judge Two")
    theirs = target_row(other, ada_target)
    expect(theirs).to_have_attribute("data-state", "open")
    no_sideways_scroll(other)

    # They pick scores; meanwhile the same judge's score for that answer lands another way (a
    # second tab, say) while this page cannot refresh. Submitting gets the 409, shown and locked.
    pick(theirs, "accuracy", 3)
    pick(theirs, "creativity", 10)
    other.route("**/api/judge/targets", lambda route: route.abort())
    expect(other.get_by_test_id("sync")).to_have_attribute("data-state", "error", timeout=6000)
    headers = {"Authorization": f"Bearer {live.studio.tokens.judges['j2']}"}
    first = httpx.post(
        f"{live.base}/api/judge/score", json={"target": ada_target, "scores": {"accuracy": 5, "creativity": 5}}, headers=headers
    )
    assert first.status_code == 200, first.text
    again = httpx.post(
        f"{live.base}/api/judge/score", json={"target": ada_target, "scores": {"accuracy": 6, "creativity": 6}}, headers=headers
    )
    assert again.status_code == 409 and "cannot be changed" in again.json()["error"], again.text
    theirs.get_by_test_id("submit").tap()
    expect(theirs.get_by_test_id("row-message")).to_have_text(again.json()["error"])
    expect(theirs).to_have_attribute("data-state", "locked")
    expect(theirs.get_by_test_id("submit")).to_be_disabled()
    expect(theirs.locator("input").first).to_be_disabled()
    other.unroute("**/api/judge/targets")
    other.get_by_test_id("refresh").tap()
    expect(theirs).to_have_attribute("data-state", "scored")
    expect(theirs.get_by_test_id("scored")).to_contain_text("accuracy5")
    expect(other.get_by_test_id("sync")).to_have_attribute("data-state", "ok")
    assert live.state()["judged"][ada_target] == {"j1": {"accuracy": 7, "creativity": 8}, "j2": {"accuracy": 5, "creativity": 5}}

    # A link with a wrong token, and one with none: a clear "not a valid judge link".
    for url in (f"{live.base}/judge?token=not-a-judge", f"{live.base}/judge"):
        bad = contexts(**PHONE).new_page()
        bad.goto(url)
        expect(bad.get_by_test_id("invalid")).to_be_visible()
        expect(bad.get_by_test_id("invalid")).to_contain_text("not a valid judge link")
        expect(bad.get_by_test_id("target")).to_have_count(0)
        expect(bad.get_by_test_id("judge-name")).to_have_text("")
        assert "token" not in bad.url
