"""What the i18n tests (test_i18n_pages.py, test_i18n_phones.py) check on a page of the show:
the table's labels are on screen, no word of the other language is, and (zh-CN) every Chinese
character is drawn in the Simplified Chinese Noto face, by Chromium's own account; screenshots."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from .i18n_show import Show
from .studio_harness import ARTIFACTS

HAN = re.compile(r"[\u3400-\u9fff]")
# Latin words that may stay on the Chinese show: data, not labels (model and adapter names, the
# image classifier's ImageNet labels, product names).
DATA_WORDS = {"smollm", "instruct", "prepared", "bao", "sft", "lora", "swift", "evalscope", "seashore", "sandbar", "gavel", "ada"}
CJK_FACES = {"Noto Sans CJK SC", "Noto Sans Mono CJK SC"}  # fonts-noto-cjk's Simplified Chinese faces
VISIBLE_TEXT = "(sel) => document.querySelector(sel).innerText"


def shown(page: Page) -> None:
    """Until the graphic is on and its entry transitions have settled."""
    page.wait_for_function("() => window.gavelGraphic && gavelGraphic.visible", timeout=30_000)
    page.wait_for_function(
        "() => !document.getAnimations().some(a => a.playState === 'running' && a.effect"
        " && a.effect.getComputedTiming().endTime !== Infinity)",
        timeout=15_000,
    )


def check_language(show: Show, text: str, where: str) -> None:
    if show.locale == "en":
        assert not HAN.search(text), f"{where}: Chinese on the English show: {text!r}"
    else:
        latin = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)} - DATA_WORDS
        assert not latin, f"{where}: Latin words on the Chinese show: {sorted(latin)} in {text!r}"


def check_labels(show: Show, text: str, where: str, *labels: str) -> None:
    for label in labels:  # (innerText is as drawn: text-transform applied)
        assert label.lower() in text.lower(), f"{where}: {label!r} (the {show.locale} table) is not on screen: {text!r}"


def glyphs(page: Page, root: str = "body") -> list[dict]:
    """Chromium's account of the fonts that drew each visible element with Chinese text of its own:
    [{text, fonts: [{familyName, glyphCount, isCustomFont}]}]."""
    count = page.evaluate(
        """(root) => { let n = 0;
             for (const node of document.querySelectorAll('[data-han-check]')) delete node.dataset.hanCheck;
             for (const node of document.querySelectorAll(`${root} *`)) {
               const own = [...node.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent).join('');
               if (/[\\u3400-\\u9fff]/.test(own) && node.getClientRects().length && getComputedStyle(node).visibility !== 'hidden') {
                 node.dataset.hanCheck = String(n++);
               }
             }
             return n; }""",
        root,
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    doc = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    out = []
    for i in range(count):
        node = cdp.send("DOM.querySelector", {"nodeId": doc, "selector": f'[data-han-check="{i}"]'})["nodeId"]
        text = page.evaluate(f"""() => [...document.querySelector('[data-han-check="{i}"]').childNodes]
                                 .filter(c => c.nodeType === 3).map(c => c.textContent).join('')""")
        out.append({"text": text, "fonts": cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]})
    cdp.detach()
    return out


def check_fonts(show: Show, page: Page, where: str, root: str = "body", at_least: int = 1) -> None:
    """zh-CN: every Chinese character on the page was drawn with Noto Sans CJK SC (no other face,
    no fallback box): the glyphs drawn from it cover the node's Chinese characters."""
    if show.locale == "en":
        return
    nodes = glyphs(page, root)
    assert len(nodes) >= at_least, f"{where}: no Chinese text found to check"
    for node in nodes:
        cjk = [f for f in node["fonts"] if "CJK" in f["familyName"] or "Han" in f["familyName"]]
        assert all(f["familyName"] in CJK_FACES for f in cjk), f"{where}: {node['text']!r} drawn with {node['fonts']}"
        drawn = sum(f["glyphCount"] for f in cjk)
        han = len(HAN.findall(node["text"]))
        assert drawn >= han > 0, f"{where}: {node['text']!r}: {han} Chinese characters, {drawn} glyphs from {CJK_FACES}: {node['fonts']}"


def snap(show: Show, page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"i18n-{show.locale}-{name}.png"), omit_background=True)


def pseudo(page: Page, selector: str, which: str) -> str:
    return page.evaluate(f"() => getComputedStyle(document.querySelector({selector!r}), {which!r}).content")
