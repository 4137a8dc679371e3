r"""Exact answers: find the answer a reply *commits to*, not every place it is mentioned.

A quiz host hears "It is not Paris; it is Lyon." as Lyon, "I'd say Venus, not Mars." as Venus and
"可能是北京，也可能是上海" as no answer at all. This module reads a reply that way, with fixed rules
the director can check: every verdict names the span it took and the rule that decided.

The rule, exactly:

1. Normalise the reply and the accepted answers the way the content filter does
   (``safety.normalize``: width, case, diacritics, look-alikes, traditional → simplified);
   spaces and punctuation are kept for reading the reply's structure.
2. Mentions. An accepted answer (the bank's ``answer``, or any item of a list ``answer``, or an
   alias; a leading article of a several-word answer is optional) is mentioned where its letters
   and digits appear in a row, punctuation between them ignored ("Washington DC" = "Washington,
   D.C.", "U.S.A" = "USA"), spaces allowed only where the answer has a break. Latin-script answers
   must stand as whole words: not inside another word ("Parisian"), nor inside a token joined by
   ``= _ \ @ # & + < > . ' ~ | ^ % $ -`` ("src=x", "Paris-based", "Paris's"; but "answer=Paris"). An acronym of 2–4
   capitals ("USA", "US") matches only in capitals ("tell us" is not the USA). A Chinese answer
   of two or more characters matches anywhere (Chinese has no spaces); one of a single character
   only between non-letters, where the letter before may be 是为吃选答成或者和与非说 and the one
   after 了吧啊呀呢啦哦或还和与也就不吗 ("竹" is in "是竹。", not in "竹笋"). Overlapping mentions
   keep the longest; at most the first and last 20 mentions are read, each within 240 characters
   (and, for other answers in step 5, the first and last 100 clauses without a mention).
   A Chinese kind-of-place character right after a mention belongs to it (北京市, 长江 for 长).
3. The reply is cut into sentences (. ! ? ; newline and their CJK forms) and clauses (, — ( ) and
   before but/however/actually/rather/instead/although/但/但是/不过/可是/然而/其实/而是/却/...).
   The *leftover* of a clause is what remains after removing the words of the question (loosely
   stemmed; for Chinese, any run of two or more characters that the question contains), filler
   words (articles, pronouns, copulas, "I think", "definitely", "of course", 的/是/吧/我觉得/
   应该/...), and generic nouns (city, river, planet, 城市, 国家, ...).
4. Each mention gets one status, the first that applies:
   hedged    — asked rather than answered ("是不是X", "是否X", "whether X", "X吗"); "不是X就是Y",
               "要么X要么Y", two of maybe/perhaps/possibly/could be/might be/可能/也许/或许 in one
               sentence, "between X and Y" / "either X or Y", or the answer next to "or", "/",
               或/或者/还是/、 with something else on the other side ("or rather", "or so" are not
               hedges);
   negated   — "not/n't/never/no longer/nor/neither/rather than/instead of/other than/except/
               unlike/不是/并非/并不是/而非/而不是/不会是/不可能是/绝不是" right before it (fillers
               between allowed, so "I don't think it's X" is negated; "not sure", "not only",
               "no doubt" are not negations); or after it "is wrong/incorrect/a common mistake",
               "不对/不正确/是错的", "is not / isn't / 不是" followed by nothing but question words
               ("Paris is not the capital", "北京不是答案"); or "X? No…" (not "No idea");
   attributed — in the same sentence before it, with no correction in between: "many/some/
               people … think/say/believe/guess/confuse…", "you might think", "a common mistake
               is", "confused with", "although/though/while/despite/unlike/compared with",
               很多人/有人/人们 … 以为/认为, 容易误认为, 以为, 虽然/尽管/相比 — unless followed by
               "and they're right";
   (a word of a longer name: the answer followed by one word that is all its clause says beyond
               the question, "Water vapour.", is a commitment to that name, wrong;)
   committed — its clause's leftover is empty once the mention is taken out ("The capital of France
               is Paris.", "It's Paris, of course."), or it ends its clause (or only a phrase
               starting in/on/at/during/since/because/which/with… follows) right after a copula,
               becomes/turns into, "was … by", or say/go with/pick/think/认为/选 ("The city you
               want is Paris", "It was written by Shakespeare in the 1590s"), or it opens its
               clause followed by is/was/是 and nothing beyond question words and fillers ("Mars
               is known as the Red Planet"), or it opens the reply followed by a copula or the
               clause's end ("Paris is where…");
   passing   — anything else ("Lyon is two hours from Paris").
5. Other answers: a clause without a mention whose leftover is 1–3 words or 1–6 Chinese
   characters (not both; 40 characters at most) at its end is a commitment to something else
   when, in its clause before that leftover, there is a copula (is/'s/was/would be/是/为/就是/
   才是/应该是), "answer", ":", a commitment verb (say/go with/pick/choose/think/believe/认为/觉得/
   选) or a correction (actually/rather/instead/in fact/而是/其实/实际上); or a correction or
   conclusion earlier in its sentence; or nothing at all before it in the reply's first clause
   ("Lyon, not Paris.") or after a negated mention ("Not Mars — Venus."); or it is a whole
   sentence by itself ("Paris. Lyon.", a list "- Paris / - Lyon": two answers). It must not be
   negated ("我不确定", "not sure"), attributed, a heading ending in ":", a list number ("1."),
   start with "a/an" (a description), or be followed by a negation; after or/maybe/perhaps/
   possibly/或/也可能/也许/或许 it is a hedge ("…, but maybe Lyon": uncertain).
6. Decide. Hedged mentions are uncertain, committed mentions right, negated mentions and other
   answers wrong, in the order of the reply. A later one that disagrees replaces the earlier when a
   correction or conclusion comes between them (actually, no, wait, rather, so, therefore, the
   answer is, but, 其实, 不对, 所以, 答案是, 但是, ...) or the earlier was a hedge; otherwise the
   reply commits to two things and is uncertain — unless a later conclusion settles it ("Let me
   think… So the answer is Paris."). No mention at all: wrong (extracted: the other
   answer, else a statement after "answer is", else a short reply as it stands). Mentions but no
   commitment, negation or other answer: uncertain ("no commitment found").

Known limits: Chinese word boundaries are not known, so a two-character answer inside a longer
word (北京 in 北京烤鸭) is a mention; "X and Y" without "both"/"between" is not read as a hedge;
questions answered with a description rather than a name read less well (the leftover rule).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass

from .exact_reading import (
    CAPTION_MAX,
    MAX_CLAUSES,
    MAX_MENTIONS,
    WINDOW,
    Doc,
    Mention,
    Question,
    answer_variant,
    find_mentions,
    is_cjk,
    leftover,
    read_question,
    split_clauses,
    split_sentences,
)


@dataclass(frozen=True)
class ExactVerdict:
    correct: bool | None  # None: uncertain — the director (or a judge, or autopilot) decides
    extracted: str | None
    reason: str


# --- normalised text ------------------------------------------------------------------------------

_FILL = (
    r"(?:\s|[,:\"'*]|\b(?:the|a|an|it|it's|its|is|be|was|that|this|in|at|on|city of|answer|correct answer|"
    r"right answer|necessarily|simply|just|really|exactly|actually|say|saying|said|think|believe|reckon|suppose|"
    r"guess|pick|choose|go with|at all|even|quite|called|definitely|certainly|probably)\b|是|的|说|选)*"
)
_NEGATION_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever|\bno longer|\bnor|\bneither|\brather than|\binstead of|\bother than|\bexcept(?: for)?|"
    r"\banything but|\bunlike|(?<!是)不是|并非|并不是|而非|而不是|不会是|不可能是|绝不是|绝非|并不)" + _FILL + r"$"
)
_NEGATION_AFTER_DIRECT = re.compile(
    r"^\s*(?:,\s*)?(?:(?:is|was|would be|'s)\s+(?:(?:definitely|clearly|simply|just|quite)\s+)?"
    r"(?:wrong|incorrect|false|a (?:common |popular |frequent |classic )?(?:mistake|misconception|guess|trap|"
    r"distractor|error|myth))\b|不对|不正确|是错的|是错误的|错了|可不是|不算)"
)
_NEGATION_AFTER_COPULA = re.compile(r"^\s*(?:(?:is|was|'s)\s+(?:not|never)\b|isn't|wasn't|不是|并非|并不是)")
_WHETHER_BEFORE = re.compile(r"(?:是不是|是否|\bwhether(?: or not)?)" + _FILL + r"$")
_NO_AFTER_QUESTION = re.compile(r"^\s*\?\s*(?:no\b(?!\s+(?:idea|clue|doubt))|nope\b|wrong\b|不(?!知道|确定)|错)")
_HEDGE_WORDS = re.compile(r"\b(?:maybe|perhaps|possibly|could be|might be)\b|可能|也许|或许")
_OR_AFTER = re.compile(
    r"^\s*,?\s*(?:\bor\b|/|或者|或是|或|还是|、)\s*(?!(?:so|not|rather|something|anything|whatever|else|otherwise|"
    r"more precisely|in other words|to be precise|simply|maybe not)\b)(?=\S)"
)
_OR_BEFORE = re.compile(r"(?:\bor|/|或者|或是|或|还是|、)\s*$")
_CORRECTING_OR = re.compile(r"\bor,?\s*(?:rather|more precisely|to be precise|should i say|better)\W*$")
_LIST_AFTER = re.compile(r"^\s*[,、]\s*[^,、.;!?。\n]{1,25}?\s*,?\s*(?:\bor\b|或者|或|还是)")
_ATTRIBUTION = re.compile(
    r"\b(?:many|some|most|lots of|a lot of|plenty of|others|people|folks|everyone|everybody)(?:\s+\w+){0,2}?\s+"
    r"(?:think|thinks|believe|believes|say|says|guess|guesses|assume|assumes|claim|claims|would say|might say|"
    r"confuse|confuses|mistake|mistakes|attribute|attributes|expect|suggest|suggests|answer|pick|picks|go for)\b"
    r"|\byou (?:might|may|could|would) (?:think|say|guess|expect|assume)|\bone (?:might|may|could) (?:think|say)"
    r"|\btempting to (?:say|answer|guess)|\bcommon (?:mistake|misconception|guess|answer|error|myth|trap|confusion)"
    r"|\b(?:often|commonly|frequently|sometimes|usually) (?:confused|mistaken|thought|called)|\bconfused with"
    r"|\bmistaken for|\bnot to be confused|\bcontrary to|\bdespite|\balthough|\bthough|\beven if|\bwhile|\bwhereas"
    r"|\bcompared (?:to|with)|\bunlike|\bsimilar to|\bmistakenly|\bwrongly|\bthe obvious (?:answer|guess)|\btrap"
    r"|\bdistractor|(?:很多|许多|不少|有些|有的|好多)人|有人|人们|大家"
    r"|容易(?:被)?(?:误认为|误以为|以为|混淆|搞混|弄混)|误以为|误认为|以为|虽然|尽管|虽说|不像|相比|比起|混淆|搞混"
)
_THEY_ARE_RIGHT = re.compile(
    r"^\W*(?:and|which|as)\s+(?:they|they're|they are|that's|that is|it is|is)\s+(?:right|correct)|^\W*(?:没错|确实如此|是对的)"
)
_CORRECTION = re.compile(
    r"\b(?:actually|in fact|no|nope|wait|correction|i mean|rather|instead|on second thought|so|therefore|thus|hence|"
    r"final answer|answer is|answer:|in conclusion|overall|but|however|yet|scratch that)\b"
    r"|其实|实际上|事实上|不对|更正|而是|所以|因此|综上|答案是|答案:|但是|但|不过|可是|然而|最终|才是|不,"
)
_COPULA_BEFORE = re.compile(
    r"(?:\b(?:is|are|was|were|be|'s|would be|must be|should be|has to be|say|go with|pick|choose|answer|think|"
    r"believe|reckon|guess|becomes?|became|turns? into|turned into)|\b(?:is|are|was|were)\s+\w+\s+by|:|=|是|为|认为|"
    r"觉得|选|就是|才是|成)" + _FILL + r"$"
)
# After the answer, a phrase that only situates it ("… Paris in my view", "… in the 1590s").
_MODIFIER_AFTER = re.compile(r"^\s*(?:in|on|at|during|since|around|about|because|which|who|with|after|before|back)\b")
_COPULA_AFTER = re.compile(r"^\s*(?:is|are|was|'s|remains|has been|是|为|乃|就是|便是)\b|^\s*(?:是|为|乃|就是|便是)")
_COMMIT_BEFORE_OTHER = re.compile(
    r"(?:\b(?:is|are|was|were|be|'s|would be|must be|should be|has to be|say|go with|pick|choose|answer|answers|"
    r"think|believe|reckon|guess|actually|rather|instead|in fact)|:|=|是|为|认为|觉得|选|就是|才是|而是|其实|实际上|"
    r"应该是|成)"
)
_COMPOUND = re.compile(r"^ ([^\W\d_]+)(?=\s*(?:[.!?,;:)]|$))")
_INDEFINITE = re.compile(r"\b(?:a|an)\s+(?:\w+\s+){0,2}$")
_LIST_MARKER = re.compile(r"\d{1,2}[.)](?:\s|$)")  # "1. Paris": the 1 is a list's, not an answer
_NOT_AN_ANSWER = frozenset("no not sure none nothing wrong false true correct right sorry unknown idea".split())


# --- the reading ----------------------------------------------------------------------------------


@dataclass
class _Event:
    pos: int
    end: int
    kind: str  # yes | no | other | hedge
    label: str
    why: str


def grade_exact(question_text: str, answers: list[str], text: str) -> ExactVerdict:
    """Grade ``text`` against the accepted ``answers`` of the question ``question_text``."""
    text = unicodedata.normalize("NFKC", text)
    variants = [v for a in answers if (v := answer_variant(a)) is not None]
    shown = answers[0] if answers else ""
    doc = Doc(text)
    question = read_question(question_text)
    mentions = find_mentions(doc, variants)
    read = mentions
    if len(mentions) > MAX_MENTIONS:  # the first and the last ones: where replies state and conclude
        read = mentions[: MAX_MENTIONS // 2] + mentions[-MAX_MENTIONS // 2 :]
    events, notes = _read(doc, question, mentions, set(read))
    if not mentions:
        label = next((e.label for e in reversed(events) if e.kind == "other"), None) or _fallback_caption(text)
        took = f" (took “{label}”)" if label else ""
        return ExactVerdict(False, label, f"does not name {_accepted(answers)}{took}")
    if not events:
        why = "; ".join(notes) or f"names “{mentions[0].raw}” only in passing"
        return ExactVerdict(None, None, f"{why}: no commitment found")
    standing, conflict = events[0], None
    for event in events[1:]:
        if _polarity(event) == _polarity(standing):
            if conflict and _CORRECTION.search(doc.norm, max(standing.end, event.pos - WINDOW), event.pos):
                conflict = None  # "…so the answer is Paris" settles what came before
            if not (event.kind == "no" and standing.kind == "other"):
                standing = event
        elif standing.kind == "hedge" or _CORRECTION.search(doc.norm, max(standing.end, event.pos - WINDOW), event.pos):
            standing, conflict = event, None
        else:
            conflict = (standing, event)
            standing = event
    if conflict:
        a, b = conflict
        return ExactVerdict(None, None, f"commits to two answers: {a.why}, then {b.why}")
    if standing.kind == "yes":
        return ExactVerdict(True, standing.label, f"{standing.why} (accepted: {shown})")
    if standing.kind == "hedge":
        return ExactVerdict(None, standing.label, standing.why)
    other = next((e for e in reversed(events) if e.kind == "other" and e.pos <= standing.pos), None)
    if standing.kind == "no" and other is None:
        other = next((e for e in events if e.kind == "other"), None)
    label = other.label if other else None
    parts = [e.why for e in events if e.kind in ("no", "other")]
    return ExactVerdict(False, label, "; ".join(dict.fromkeys(parts)))


def _polarity(event: _Event) -> bool | None:
    return {"yes": True, "no": False, "other": False, "hedge": None}[event.kind]


def _accepted(answers: list[str]) -> str:
    return " / ".join(f"“{a}”" for a in answers[:4]) + (" / …" if len(answers) > 4 else "")


def _read(doc: Doc, question: Question, mentions: list[Mention], read: set[Mention]) -> tuple[list[_Event], list[str]]:
    norm = doc.norm
    events: list[_Event] = []
    notes: list[str] = []
    sentences = split_sentences(norm)
    starts = [m.start for m in mentions]  # mentions are in reply order
    first_clause = True
    negated_before = False
    every = [(s_index, ss, se, split_clauses(norm, ss, se)) for s_index, (ss, se) in enumerate(sentences)]
    total = sum(len(clauses) for *_, clauses in every)
    seen = 0
    for s_index, ss, se, clauses in every:
        for c_index, (cs, ce) in enumerate(clauses):
            seen += 1
            inside = mentions[bisect_left(starts, cs) : bisect_left(starts, ce)]
            if not inside:
                if MAX_CLAUSES // 2 < seen <= total - MAX_CLAUSES // 2:
                    continue  # a very long reply: its first and last clauses are where it commits
                other = _other_answer(doc, question, ss, cs, ce, first_clause, negated_before, c_index == 0 and len(clauses) == 1)
                if other is not None:
                    events.append(other)
                first_clause = first_clause and not leftover(norm, cs, ce, question)
                continue
            for m in inside:
                if m not in read:
                    continue
                sentence = (max(ss, m.start - WINDOW), min(se, m.end + WINDOW))
                clause = (max(cs, m.start - WINDOW), min(ce, m.end + WINDOW))
                status, why = _status(doc, question, sentences, s_index, sentence, clause, m, first_clause)
                if status == "compound":
                    label = why.split("”")[0].removeprefix("commits to “")
                    events.append(_Event(m.start, m.end + len(label), "other", label, why))
                elif status == "negated":
                    negated_before = True
                    events.append(_Event(m.start, m.end, "no", m.raw, why))
                elif status == "hedged":
                    events.append(_Event(m.start, m.end, "hedge", _hedge_span(doc, ss, se, m), why))
                elif status == "committed":
                    events.append(_Event(m.start, m.end, "yes", m.raw, why))
                else:
                    notes.append(why)
            first_clause = False
    events.sort(key=lambda e: e.pos)
    return events, notes


def _status(doc: Doc, question: Question, sentences, s_index: int, sentence, clause, m: Mention, first_clause: bool):
    norm = doc.norm
    ss, se = sentence
    cs, ce = clause
    left, right = norm[cs : m.start], norm[m.end : ce]
    sent_left, sent_right = norm[ss : m.start], norm[m.end : se]
    said = f"“{m.raw}”"

    # hedged between two answers (checked first: 不是X就是Y is a hedge, not a negation)
    if re.search(r"不是" + _FILL + r"$", sent_left) and "就是" in sent_right:
        return "hedged", f"hedges: “不是…就是…” around {said}"
    if "要么" in sent_left and "要么" in norm[ss:se].replace("要么", "", 1):
        return "hedged", f"hedges: “要么…要么…” around {said}"
    if re.search(r"\b(?:between|either)\b", sent_left) and re.search(r"\b(?:and|or)\b", norm[ss:se]) or "之间" in sent_right:
        if leftover(norm, ss, se, question, skip=(m.start, m.end)):
            return "hedged", f"hedges: {said} is one of two answers"
    hedges = list(_HEDGE_WORDS.finditer(norm, ss, se))
    if len(hedges) >= 2 and any(h.end() <= m.start for h in hedges):
        if leftover(norm, ss, se, question, skip=(m.start, m.end)):
            return "hedged", f"hedges: “{hedges[0].group()} … {hedges[1].group()}” names {said} and another answer"

    # asked, not answered: "是不是北京", "whether it's Paris", "是北京吗"
    if _WHETHER_BEFORE.search(left) or re.match(r"\s*[吗么]", right):
        return "hedged", f"asks rather than answers: “{m.raw}” in a question"

    # negated
    if _NEGATION_BEFORE.search(left):
        cue = _NEGATION_BEFORE.search(left).group().strip(" ,:\"'*")
        return "negated", f"rejects {said} (“{cue}{'' if is_cjk(cue[-1]) else ' '}{m.raw}”)"
    if _NEGATION_AFTER_DIRECT.match(right):
        return "negated", f"rejects {said} (“{m.raw}{_NEGATION_AFTER_DIRECT.match(right).group().rstrip()}”)"
    after = _NEGATION_AFTER_COPULA.match(right)
    if after and not leftover(norm, m.end + after.end(), ce, question):
        return "negated", f"rejects {said} (“{m.raw}{right.rstrip()}”)"
    if _NO_AFTER_QUESTION.match(norm, m.end, min(len(norm), m.end + 12)) or (
        sent_right.strip() == "?"
        and s_index + 1 < len(sentences)
        and _NO_AFTER_QUESTION.match("?" + norm[sentences[s_index + 1][0] : sentences[s_index + 1][1]])
    ):
        return "negated", f"rejects {said} (“{m.raw}? No”)"

    # hedged: the answer next to "or" and something else
    other_side = _OR_AFTER.match(right) or _LIST_AFTER.match(right)
    before_or = _OR_BEFORE.search(left)
    if before_or and _CORRECTING_OR.search(left):
        before_or = None
    if before_or and not leftover(norm, cs, cs + before_or.start(), question) and not leftover(norm, ss, cs, question):
        before_or = None  # "…, or Paris" with nothing else named before
    if other_side and not leftover(norm, m.end, ce, question):
        other_side = None  # "Paris or so" / nothing else after the "or"
    if other_side or before_or:
        return "hedged", f"hedges: {said} next to “{(other_side or before_or).group().strip(' ,')}” another answer"

    # attributed to others, or conceded
    attribution = None
    for a in _ATTRIBUTION.finditer(sent_left):
        attribution = a
    if attribution and not _CORRECTION.search(sent_left, attribution.end()) and not _THEY_ARE_RIGHT.match(sent_right):
        return "attributed", f"names {said} as what others say (“{attribution.group()}”)"

    # committed (or a word of a longer name: "Water vapour" is not water)
    rest = leftover(norm, m.end, ce, question)
    compound = _COMPOUND.match(right)
    if compound and [p.text for p in leftover(norm, cs, ce, question, skip=(m.start, m.end))] == [compound.group(1)]:
        label = doc.raw_span(m.start, m.end + compound.end())
        return "compound", f"commits to “{label}”, not {said}"
    if not leftover(norm, cs, ce, question, skip=(m.start, m.end)):
        return "committed", f"commits to {said}"
    rest_empty = not rest or _MODIFIER_AFTER.match(right) is not None
    if rest_empty and _COPULA_BEFORE.search(left):
        return "committed", f"commits to {said} (“…{left.strip()[-20:]} {m.raw}”)"
    if not leftover(norm, cs, m.start, question):  # the answer opens its clause
        copula = _COPULA_AFTER.match(right)
        if copula and not leftover(norm, m.end + copula.end(), ce, question):
            return "committed", f"commits to {said} (“{m.raw}{right.rstrip()[:30]}”)"
        if first_clause and (rest_empty or copula):
            return "committed", f"opens with {said}"
    return "passing", f"names {said} only in passing (“{norm[cs:ce].strip()[:40]}”)"


def _hedge_span(doc: Doc, ss: int, se: int, m: Mention) -> str:
    span = doc.raw_span(ss, se).strip().rstrip(".!?。！？;；")
    return span if len(span) <= CAPTION_MAX else doc.raw_span(m.start, m.end)


def _other_answer(
    doc: Doc, question: Question, ss: int, cs: int, ce: int, first_clause: bool, negated_before: bool, whole_sentence: bool
) -> _Event | None:
    """A commitment to something other than the answer in a clause that does not mention it."""
    norm = doc.norm
    if norm[cs:ce].rstrip().endswith(":"):
        return None  # a heading ("Top answer:") introduces what follows
    pieces = [p for p in leftover(norm, cs, ce, question) if not _LIST_MARKER.match(norm, p.start)]
    if not pieces:
        return None
    # the leftover must be one short phrase at the clause's end
    first = pieces[0]
    phrase_start, phrase_end = first.start, pieces[-1].end
    latin = [p for p in pieces if not is_cjk(p.text[0])]
    cjk_len = sum(len(p.text) for p in pieces if is_cjk(p.text[0]))
    if len(latin) > 3 or cjk_len > 6 or (latin and cjk_len):
        return None
    if norm[phrase_start:phrase_end].count(" ") > 3 or leftover(norm, phrase_end, ce, question):
        return None
    if any(p.text in _NOT_AN_ANSWER or p.text.startswith(("不", "没", "非")) for p in pieces):
        return None  # "not sure", "我不确定": no answer named
    if phrase_end - phrase_start > CAPTION_MAX:
        return None
    before = norm[max(cs, phrase_start - WINDOW) : phrase_start]
    sent_before = norm[max(ss, phrase_start - WINDOW) : phrase_start]
    if _INDEFINITE.search(before):
        return None
    if re.search(r"\b(?:not|n't|never|no|nor|neither)\b|不|没|非", norm[max(cs, phrase_start - WINDOW) : pieces[-1].start]):
        return None
    if re.search(r"\b(?:or|maybe|perhaps|possibly)\b|或|也可能|也许|或许", before):
        return _Event(
            phrase_start, phrase_end, "hedge", doc.raw_span(phrase_start, phrase_end), f"hedges with “{doc.raw_span(cs, ce).strip()}”"
        )
    if _NEGATION_AFTER_DIRECT.match(norm, phrase_end, ce) or _NEGATION_AFTER_COPULA.match(norm[phrase_end:ce]):
        return None
    signal = (
        _COMMIT_BEFORE_OTHER.search(before)
        or _CORRECTION.search(norm, max(ss, phrase_start - WINDOW), phrase_start)
        or (first_clause and not before.strip(" \"'*:([-"))
        or (negated_before and not before.strip(" \"'*:([-,"))
        or whole_sentence  # a sentence that is only a short phrase ("Lyon.", "- Lyon") names an answer
    )
    if not signal:
        return None
    attribution = None  # checked last: the costliest look
    for a in _ATTRIBUTION.finditer(sent_before):
        attribution = a
    if attribution and not _CORRECTION.search(sent_before, attribution.end()):
        return None
    label = doc.raw_span(phrase_start, phrase_end)
    return _Event(phrase_start, phrase_end, "other", label, f"commits to “{label}”")


_STATEMENT = re.compile(r"\banswer\s*(?:is|was|would be|:)\s*|答案\s*(?:是|为|:)\s*", re.IGNORECASE)


def _fallback_caption(text: str) -> str | None:
    """No answer found: the sentence after "answer is", else a short reply as it stands."""
    plain = re.sub(r"\*\*|__|`", "", text)
    statements = list(_STATEMENT.finditer(plain))
    if statements:
        rest = plain[statements[-1].end() :]
        sentence = re.split(r"[.!?](?=\s|$)|[。！？\n]", rest, maxsplit=1)[0].strip()
        if sentence:
            return sentence if len(sentence) <= CAPTION_MAX else None
    short = plain.strip().rstrip(".!?。！？").strip()
    return short if 0 < len(short) <= CAPTION_MAX and "\n" not in short else None
