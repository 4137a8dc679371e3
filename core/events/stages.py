"""What particular stages put on air: the debate, live subtitles, image to poem."""

from __future__ import annotations

from typing import Literal

from .base import _Data, _Event

__all__ = [
    "DebateStartedData",
    "DebateTurnData",
    "DebateResultData",
    "DebateStarted",
    "DebateTurn",
    "DebateResult",
    "SubtitleStartedData",
    "SubtitleSourceData",
    "SubtitleTokenData",
    "SubtitleTranslatedData",
    "SubtitleLagRow",
    "SubtitleSummaryData",
    "SubtitleStarted",
    "SubtitleSource",
    "SubtitleToken",
    "SubtitleTranslated",
    "SubtitleSummary",
    "ImageLabel",
    "ImageColour",
    "ImageFacts",
    "ImageShownData",
    "PoemFormData",
    "ImageShown",
    "PoemForm",
]


class DebateStartedData(_Data):
    stage: int
    debate_id: str
    motion: str
    sides: dict[Literal["pro", "con"], str]  # side -> contestant
    assigned: Literal["random", "alternate"]  # how the sides were drawn (recorded for fairness)
    rounds: int


class DebateTurnData(_Data):
    debate_id: str
    round: int  # 1-based
    side: Literal["pro", "con"]
    contestant: str
    kind: Literal["opening", "rebuttal", "closing"]
    question_id: str  # the answer events of this turn carry it
    transcript_turns: int  # earlier turns the speaker was shown in full (the rest were trimmed)


class DebateResultData(_Data):
    stage: int
    debate_id: str
    motion: str
    sides: dict[Literal["pro", "con"], str]
    judges: dict[str, float | None]  # contestant -> mean judges' score (1..10), None: not scored
    audience: dict[str, int]  # contestant -> votes
    weights: dict[Literal["judges", "audience"], float]  # as used (a part with no data gets 0)
    score: dict[str, float]  # contestant -> 0..1, the weighted mix of shares
    winner: str | None  # None: a tie
    dimension: str  # the leaderboard dimension it feeds


class DebateStarted(_Event):
    type: Literal["debate.started"] = "debate.started"
    data: DebateStartedData


class DebateTurn(_Event):
    """The next speaker: the graphic shows whose turn it is and what kind."""

    type: Literal["debate.turn"] = "debate.turn"
    data: DebateTurnData


class DebateResult(_Event):
    """Judges and audience combined: a pairwise outcome for the leaderboard."""

    type: Literal["debate.result"] = "debate.result"
    data: DebateResultData


class SubtitleStartedData(_Data):
    stage: int
    title: str
    source_lang: str
    target_lang: str
    contestants: list[str]
    lines_total: int | None  # transcript lines to come; None: the operator types them live
    operator: bool  # the operator may type lines live
    started_ts: float  # server wall clock: the stage clock's zero (a line's t counts from here)


class SubtitleSourceData(_Data):
    stage: int
    line: int  # 0-based, in the order shown
    question_id: str  # "sub-<stage>-<line>": the content filter's (and a dump's) key for the translations
    t: float  # seconds from the stage's start (the transcript's time, or when the operator sent it)
    text: str
    shown_ts: float  # server wall clock when the line went on air: every lag counts from here
    origin: Literal["transcript", "operator"]


class SubtitleTokenData(_Data):
    stage: int
    line: int
    question_id: str
    contestant: str
    index: int  # running count of engine tokens for this translation, after this chunk
    text: str  # the new text (a delta; only what the content filter released)


class SubtitleTranslatedData(_Data):
    stage: int
    line: int
    question_id: str
    contestant: str
    status: Literal["done", "dnf", "timeout", "cancelled"]  # timeout is a DNF for the line, with its reason
    reason: str = ""
    text: str  # the authoritative translation (what aired)
    lag_s: float | None  # last token on air - line shown; None unless done
    ttft_lag_s: float | None  # first token on air - line shown; None if nothing aired
    waited_s: float  # line shown -> translation started (behind the contestant's earlier lines)
    tokens: int


class SubtitleLagRow(_Data):
    contestant: str
    lines: int  # lines this contestant was given
    done: int
    dnf: int  # dnf + timeout
    lag_median_s: float | None
    lag_p90_s: float | None
    ttft_lag_median_s: float | None


class SubtitleSummaryData(_Data):
    stage: int
    rows: list[SubtitleLagRow]
    final: bool  # the stage's last word (sent once at its end); earlier ones are running figures


class SubtitleStarted(_Event):
    """A subtitles stage is on: languages, contestants, where the lines come from."""

    type: Literal["subtitle.started"] = "subtitle.started"
    data: SubtitleStartedData


class SubtitleSource(_Event):
    """A source line goes on air; every contestant is sent it for translation now."""

    type: Literal["subtitle.source"] = "subtitle.source"
    data: SubtitleSourceData


class SubtitleToken(_Event):
    type: Literal["subtitle.token"] = "subtitle.token"
    data: SubtitleTokenData


class SubtitleTranslated(_Event):
    """One contestant's translation of one line ended, with its lag behind the source."""

    type: Literal["subtitle.translated"] = "subtitle.translated"
    data: SubtitleTranslatedData


class SubtitleSummary(_Event):
    """Per contestant lag figures (median, p90) and lines done; sent after every finished line."""

    type: Literal["subtitle.summary"] = "subtitle.summary"
    data: SubtitleSummaryData


class ImageLabel(_Data):
    label: str  # an ImageNet class name, e.g. "seashore"
    p: float  # the classifier's probability, 0..1


class ImageColour(_Data):
    name: str  # in words: "dark blue", "orange"
    share: float  # of the picture's area, 0..1


class ImageFacts(_Data):
    """Plain facts from the pixels (what a text model is told besides the labels)."""

    width: int
    height: int
    orientation: Literal["landscape", "portrait", "square"]
    brightness: float  # mean luma, 0..1
    brightness_word: str
    contrast: float  # RMS contrast of luma, 0..1
    contrast_word: str
    tone: Literal["warm", "cool", "neutral"]
    colours: list[ImageColour]


class ImageShownData(_Data):
    stage: int
    question_id: str  # the poems' answer.* events carry it
    image: str  # a data URI of a downscaled copy (at most 200 KB): graphics show it as is
    source: str  # the image as the script names it (a file name, or "upload:<id>")
    width: int  # the checked, re-encoded image
    height: int
    path: Literal["vlm", "labels", "mixed"]  # how the contestants saw the picture (mixed: some each way)
    paths: dict[str, Literal["vlm", "labels"]]  # contestant -> path
    labels: list[ImageLabel]  # the classifier's top-k, best first (what the labels path was told)
    facts: ImageFacts
    lines: int  # the form asked
    rhyme: bool


class PoemFormData(_Data):
    stage: int
    question_id: str
    contestant: str
    lines: int  # lines written (blank lines, list markers and a title not counted)
    lines_asked: int
    rhyme_asked: bool
    rhyme_pairs: list[tuple[int, int]]  # 1-based line numbers whose endings rhyme (spelling-based)
    meets_form: bool
    # why not, in English: "3 lines, 4 asked; 0 of 3 lines rhyme" (the graphic words it in the
    # show's language from the numbers: lines, lines_asked, rhymed_lines)
    notes: str = ""
    rhymed_lines: int | None = None  # lines that rhyme with a nearby line (None: an older event; count rhyme_pairs)


class ImageShown(_Event):
    """The picture goes on air, with what the models were told about it (labels path) or not (vlm)."""

    type: Literal["image.shown"] = "image.shown"
    data: ImageShownData


class PoemForm(_Event):
    """The automatic form check of one contestant's poem (lines, rhymes): shown, not scored."""

    type: Literal["poem.form"] = "poem.form"
    data: PoemFormData
