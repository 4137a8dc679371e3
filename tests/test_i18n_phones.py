"""The pages on phones and tablets in both show locales (en, zh-CN): the audience's vote page, the
judges' page, and the locale table they load, on the real studio and Chromium; the same checks as
test_i18n_pages.py's (labels from the table, no word of the other language, the Chinese face);
screenshots: tests/artifacts/i18n-<locale>-vote.png, -judge.png.
"""

from __future__ import annotations

import httpx

from core.locale import table

from .i18n_checks import check_fonts, check_labels, check_language
from .i18n_show import browser_fixture, show_fixture  # noqa: F401  (the fixtures `browser` and `show`)
from .studio_harness import ARTIFACTS


def test_the_vote_page_in_the_shows_language(show):
    context = show.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{show.live.base}/vote")
    page.wait_for_selector("[data-testid=conn][data-state=live]")
    page.wait_for_selector("[data-testid=results]:not([hidden])")
    assert page.evaluate("() => document.documentElement.lang") == show.locale
    expected = {
        "poll-status": show.w("phone.voting_closed"),
        "rule": show.w("phone.rule_closed"),
        "my-vote": show.w("phone.not_voted_closed"),
        "winner": show.w("phone.winner"),
        "result-total": show.w("phone.total_winner", votes=show.w("vote.votes", count=3), choice=show.data["bao"]),
        "conn": show.w("phone.live"),
    }
    for testid, text in expected.items():
        assert page.text_content(f"[data-testid={testid}]").strip() == text, testid
    text = page.evaluate("() => document.body.innerText")
    check_labels(show, text, "vote page", show.w("phone.brand"), show.w("phone.results"), show.data["poll"])
    check_language(show, text, "vote page")
    check_fonts(show, page, "vote page", "body", at_least=5)
    assert page.title() == show.w("phone.page_title")
    page.screenshot(path=str(ARTIFACTS / f"i18n-{show.locale}-vote.png"), full_page=True)
    context.close()
    assert errors == []


def test_the_judges_page_in_the_shows_language(show):
    context = show.browser.new_context(viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{show.live.base}/judge?token={show.live.studio.tokens.judges['li']}")
    page.wait_for_selector("[data-testid=target]")
    assert "token=" not in page.url  # taken out of the address bar at once, as before
    assert page.evaluate("() => document.documentElement.lang") == show.locale
    criteria = show.w("dim.accuracy") + show.w("sep.names") + show.w("dim.creativity")
    assert page.text_content("[data-testid=intro]") == show.w("judge.intro", low=1, high=10, criteria=criteria)
    first = page.locator("[data-testid=target]").first
    assert first.locator("[data-testid=submit]").text_content() == show.w("judge.submit")
    assert first.locator("[data-testid=row-message]").text_content() == show.w("judge.still_to_score", criteria=criteria)
    assert first.locator("legend").first.text_content().startswith(show.w("dim.accuracy"))
    assert first.locator("[data-testid=answer-status]").text_content() in (show.w("judge.status.done"), show.w("judge.status.timeout"))
    assert first.locator("[data-testid=item]").text_content() == show.w("judge.where", stage=1, item="q1")
    text = page.evaluate("() => document.body.innerText")
    check_labels(show, text, "judges' page", show.w("judge.brand"), show.w("judge.refresh"), show.data["question"])
    check_language(show, text, "judges' page")
    check_fonts(show, page, "judges' page", "body", at_least=5)
    page.screenshot(path=str(ARTIFACTS / f"i18n-{show.locale}-judge.png"), full_page=True)
    context.close()
    assert errors == []


def test_the_locale_endpoint_serves_the_shows_table(show):
    response = httpx.get(f"{show.live.base}/api/locale", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"locale": show.locale, "messages": table(show.locale)}
    assert "max-age" in response.headers["cache-control"] and response.headers["access-control-allow-origin"] == "*"
