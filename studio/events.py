"""The one typed event schema shared by the server, the overlays and the tests.

Every event on every channel has the same envelope: ``seq`` (per channel, monotonic, assigned by
the event log when the event is appended), ``type``, ``ts`` (server wall clock, seconds) and
``data``. ``type`` is the discriminator: ``parse_event`` turns wire JSON back into the right
class. The overlays mirror the type names in ``overlays/gavel-client.js``; ``tests/test_events.py``
checks that the mirror and this module agree.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

CHANNELS = ("program", "preview", "director", "audience")
ON_AIR = ("program", "preview", "director")  # what a stage event is published to
EVERYONE = ("program", "preview", "director", "audience")  # viewers' phones included
DIRECTOR_ONLY = ("director",)
PREVIEW = ("preview", "director")
PROGRAM = ("program", "director")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContestantInfo(_Data):
    id: str
    name: str
    team: str = ""
    engine: str = ""  # the engine-pool entry serving this contestant (for per-contestant health)
    model: str = ""
    adapter: str | None = None


class StageInfo(_Data):
    index: int
    kind: str
    title: str


class AnswerMetrics(_Data):
    """Per-request latency figures, defined exactly as ``vllm bench serve`` defines them.

    ttft: request sent -> first token; e2e: request sent -> last token; tpot: (e2e - ttft) /
    (output_tokens - 1), None with fewer than two tokens; itl: gaps between successive chunks.
    All in seconds.
    """

    ttft: float | None = None
    tpot: float | None = None
    e2e: float | None = None
    itl: list[float] = Field(default_factory=list)
    output_tokens: int = 0


class ShowOpenedData(_Data):
    show_id: str
    title: str
    stages: list[StageInfo]
    contestants: list[ContestantInfo]
    locale: str = "en"  # the on-air language (studio/locale.py)
    messages: dict[str, str] = Field(default_factory=dict)  # its message table: every page's fixed text


class DirectorCommandData(_Data):
    command: str
    command_id: str
    by: str
    accepted: bool
    reason: str = ""
    args: dict[str, Any] = Field(default_factory=dict)


class ShowStatusData(_Data):
    status: Literal["running", "paused", "completed", "aborted"]


class StageStartedData(StageInfo):
    pass


class StageEndedData(_Data):
    index: int
    status: Literal["completed", "skipped", "aborted"]


class QuestionAskedData(_Data):
    stage: int
    number: int  # 1-based position within the stage
    of: int
    question_id: str
    text: str
    kind: str
    choices: list[str] | None = None
    time_limit_s: float
    deadline_ts: float  # server wall clock: overlays count down to this, not their own clock
    contestants: list[str] | None = None  # who answers it (None: everyone); the duel shows only them


class AnswerStartedData(_Data):
    question_id: str
    contestant: str


class AnswerTokenData(_Data):
    question_id: str
    contestant: str
    index: int  # running count of tokens emitted for this answer, after this chunk
    text: str  # the new text (a delta)


class AnswerFinishedData(_Data):
    question_id: str
    contestant: str
    status: Literal["done", "dnf", "timeout", "cancelled"]
    reason: str = ""
    text: str
    metrics: AnswerMetrics


class HardwareInfo(_Data):
    device: str  # cuda | cpu | remote (not visible from the studio) | none (replay) | unknown
    name: str  # GPU or CPU model, or the remote server's address
    count: int  # devices the engine uses (GPUs; CPU: cores); 0 where unknown


class SamplingInfo(_Data):
    temperature: float
    top_p: float
    max_tokens: int
    seed: int | None
    stop: list[str] = Field(default_factory=list)
    logprobs: int | None = None


class AnswerFairnessData(_Data):
    """What one answer was made under (engine_pool.pool.AnswerConditions), and whether that was
    measurably worse than for the others answering the same question at the same time."""

    stage: int
    question_id: str
    contestant: str
    engine: str
    hardware: HardwareInfo
    sampling: SamplingInfo
    adapter: str | None
    # pool submission -> the engine first scheduled it ("scheduler"); where the engine does not say,
    # the TTFT, which bounds it from above ("first_token"); None with no token ("none")
    queue_wait_s: float | None
    queue_wait_source: Literal["scheduler", "first_token", "none"]
    load_at_start: int  # other answers running on the same engine when it was submitted
    load_max: int  # the most at any moment while it ran
    compared_with: list[str]  # the contestants answering the same question at the same time
    flagged: bool
    flags: list[str] = Field(default_factory=list)  # why, in words


class AnswerGradedData(_Data):
    """A verdict. ``correct`` None is uncertain: the grader could not tell (stages/exact_answer.py);
    neither right nor wrong airs until a second ``answer.graded`` for the same answer, with
    ``decided_by`` (``director``, ``judge:<id>`` or ``autopilot``), decides it. Under autopilot an
    uncertain verdict carries ``autodecide_ts``: when autopilot will decide it wrong."""

    question_id: str
    contestant: str
    correct: bool | None
    extracted: str | None
    expected: str
    reason: str = ""  # which span the grader took and why (or who decided, and why)
    decided_by: str | None = None
    autodecide_ts: float | None = None  # server wall clock


class QuestionClosedData(_Data):
    stage: int
    question_id: str


class ScoreRow(_Data):
    contestant: str
    answered: int
    correct: int
    accuracy: float
    tokens: int
    dnf: int
    ttft_median: float | None
    tpot_median: float | None
    e2e_median: float | None


class ScoreboardData(_Data):
    stage: int
    rows: list[ScoreRow]


class GraphicState(_Data):
    visible: bool = False
    data: dict[str, Any] = Field(default_factory=dict)  # the fields the graphic's manifest names


class GraphicCuedData(_Data):
    graphic: str
    visible: bool
    data: dict[str, Any] = Field(default_factory=dict)


class GraphicsTakenData(_Data):
    graphics: dict[str, GraphicState]  # program's whole graphics state after the take


class GraphicsClearedData(_Data):
    reason: str  # "panic"


class GraphicsRefreshData(_Data):
    target: str  # a client id, a graphic name, or "all"


class GraphicsClientData(_Data):
    client_id: str  # the page's own id (kept across reloads)
    connection: str  # this socket
    graphic: str
    channel: str
    version: str
    stale: bool  # loaded from older overlay files than the studio serves now
    connected: bool


class PollChoice(_Data):
    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    label: str = Field(min_length=1, max_length=200)


class PollOpenedData(_Data):
    poll_id: str
    title: str
    kind: Literal["choice", "rating"]  # rating: choices are "1".."5"
    choices: list[PollChoice]
    allow_change: bool  # may a device change its vote while the poll is open
    dimension: str | None = None  # a verdict poll (choices are contestants) feeds this leaderboard dimension
    stage: int | None = None
    closes_ts: float | None = None  # server wall clock; None: the director closes it


class PollTallyData(_Data):
    poll_id: str
    counts: dict[str, int]  # choice id -> votes
    total: int


class PollClosedData(PollTallyData):
    winner: str | None  # the choice with most votes (first listed on a tie), or the director's pick
    decided_by: Literal["audience", "director", "none"]


class PollRevealedData(_Data):
    poll_id: str


class JudgeScoredData(_Data):
    judge: str
    target: str  # what was scored: answer:<stage>:<question_id>:<contestant>
    stage: int
    item: str  # the question (or debate, poem) the target belongs to: same item, comparable scores
    contestant: str
    scores: dict[str, int]  # criterion -> 1..10


class LeaderboardDimension(_Data):
    rating: float  # Bradley–Terry, Elo-like scale (400, base 10, anchored at 1000)
    ci_low: float  # bootstrap 95 % interval
    ci_high: float
    matches: int


class LeaderboardRow(_Data):
    contestant: str
    rank: int
    rating: float  # the headline: the script's weighted mix of the dimensions
    dimensions: dict[str, LeaderboardDimension]
    elo: float  # online Elo over the same matches in log order
    elo_delta: float  # what the latest result changed (the on-air animation)


class LeaderboardData(_Data):
    rows: list[LeaderboardRow]
    weights: dict[str, float]
    matches: int
    through_seq: int  # the director-channel seq of the last event counted


class SafetyHitData(_Data):
    """A content-filter rule fired on a contestant's answer (director only)."""

    question_id: str
    contestant: str
    rule: str
    action: Literal["mask", "cut", "hold"]
    kind: Literal["phrase", "regex", "classifier"]
    text: str  # the raw span that matched (the director must see what it was)
    state: Literal["open", "held", "withheld", "done"]  # the answer's filter state after the hit


class SafetyResolvedData(_Data):
    question_id: str
    contestant: str
    decision: Literal["approved", "rejected", "timed_out"]


class InputRefusedData(_Data):
    """An input (question, motion, viewer challenge, upload) refused before any model saw it."""

    stage: int | None
    source: str  # e.g. "question demo-3", "poll choice"
    rules: list[str]
    reason: str


class AnswerDumpedData(_Data):
    question_id: str
    contestant: str
    reason: str  # "dumped by the director"


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


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = 0  # assigned by the event log; 0 until appended
    ts: float = Field(default_factory=time.time)


class ShowOpened(_Event):
    type: Literal["show.opened"] = "show.opened"
    data: ShowOpenedData


class DirectorCommand(_Event):
    type: Literal["director.command"] = "director.command"
    data: DirectorCommandData


class ShowStatus(_Event):
    type: Literal["show.status"] = "show.status"
    data: ShowStatusData


class StageStarted(_Event):
    type: Literal["stage.started"] = "stage.started"
    data: StageStartedData


class StageEnded(_Event):
    type: Literal["stage.ended"] = "stage.ended"
    data: StageEndedData


class QuestionAsked(_Event):
    type: Literal["question.asked"] = "question.asked"
    data: QuestionAskedData


class AnswerStarted(_Event):
    type: Literal["answer.started"] = "answer.started"
    data: AnswerStartedData


class AnswerToken(_Event):
    type: Literal["answer.token"] = "answer.token"
    data: AnswerTokenData


class AnswerFinished(_Event):
    type: Literal["answer.finished"] = "answer.finished"
    data: AnswerFinishedData


class AnswerFairness(_Event):
    """The fairness record of one answer (after the answers to its question have ended)."""

    type: Literal["answer.fairness"] = "answer.fairness"
    data: AnswerFairnessData


class AnswerGraded(_Event):
    type: Literal["answer.graded"] = "answer.graded"
    data: AnswerGradedData


class QuestionClosed(_Event):
    type: Literal["question.closed"] = "question.closed"
    data: QuestionClosedData


class Scoreboard(_Event):
    type: Literal["scoreboard"] = "scoreboard"
    data: ScoreboardData


class GraphicCued(_Event):
    """The director put a graphic (or its new data) on preview."""

    type: Literal["graphic.cued"] = "graphic.cued"
    data: GraphicCuedData


class GraphicsTaken(_Event):
    """Take: preview's graphics state became program's."""

    type: Literal["graphics.taken"] = "graphics.taken"
    data: GraphicsTakenData


class GraphicsCleared(_Event):
    """Panic / all out: every graphic off, on every output."""

    type: Literal["graphics.cleared"] = "graphics.cleared"
    data: GraphicsClearedData


class GraphicsRefresh(_Event):
    """Ask matching graphics pages to reload themselves (after an overlay update)."""

    type: Literal["graphics.refresh"] = "graphics.refresh"
    data: GraphicsRefreshData


class GraphicsClient(_Event):
    """A graphics page connected or went away (the director's registry of outputs)."""

    type: Literal["graphics.client"] = "graphics.client"
    data: GraphicsClientData


class PollOpened(_Event):
    type: Literal["poll.opened"] = "poll.opened"
    data: PollOpenedData


class PollTally(_Event):
    """Running counts, coalesced (at most a few per second), never one per vote."""

    type: Literal["poll.tally"] = "poll.tally"
    data: PollTallyData


class PollClosed(_Event):
    """The final counts: votes after this are refused and not counted."""

    type: Literal["poll.closed"] = "poll.closed"
    data: PollClosedData


class PollRevealed(_Event):
    """The director shows the results to viewers (phones get tallies from now on)."""

    type: Literal["poll.revealed"] = "poll.revealed"
    data: PollRevealedData


class JudgeScored(_Event):
    type: Literal["judge.scored"] = "judge.scored"
    data: JudgeScoredData


class Leaderboard(_Event):
    type: Literal["leaderboard"] = "leaderboard"
    data: LeaderboardData


class SafetyHit(_Event):
    type: Literal["safety.hit"] = "safety.hit"
    data: SafetyHitData


class SafetyResolved(_Event):
    """The director approved or rejected a held span (or the hold timed out: rejected)."""

    type: Literal["safety.resolved"] = "safety.resolved"
    data: SafetyResolvedData


class InputRefused(_Event):
    type: Literal["input.refused"] = "input.refused"
    data: InputRefusedData


class AnswerDumped(_Event):
    """The answer was dumped from the broadcast delay: air shows it as withdrawn, never its text."""

    type: Literal["answer.dumped"] = "answer.dumped"
    data: AnswerDumpedData


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


# -- faults the director must know about (director channel only) --------------------------------


class StoreOutageData(_Data):
    """The show's store (Redis) was unreachable; logged once it is back, since nothing can be
    logged while it is gone (meanwhile ``GET /api/state`` says ``store.ok: false``)."""

    store: Literal["redis"] = "redis"
    began_ts: float
    ended_ts: float
    duration_s: float
    error: str  # the first failure, as the client saw it
    restarted: bool  # the studio restarted its embedded server itself


class EngineFaultData(_Data):
    """An engine failed one answer (crash, error, hang past the time limit): that answer ended
    as a DNF or a timeout, the others go on."""

    engine: str
    contestant: str
    question_id: str
    status: Literal["dnf", "timeout"]
    reason: str


class StoreOutage(_Event):
    type: Literal["store.outage"] = "store.outage"
    data: StoreOutageData


class EngineFault(_Event):
    type: Literal["engine.fault"] = "engine.fault"
    data: EngineFaultData


# -- live subtitles (stages/subtitles.py) ------------------------------------------------------


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


# -- image to poem (stages/image_poem.py) ------------------------------------------------------


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


# -- seeing the model think: generation paths and attention heatmaps (issue 6) ------------------


class PathAlternative(_Data):
    text: str  # as it would have aired (masked where the content filter would mask it)
    logprob: float


class PathStep(_Data):
    """One token of an answer with the road not taken: the engine's top-k alternatives there."""

    index: int  # 1-based position of the token in the answer
    text: str  # the token as it aired (masked where the filter masked)
    logprob: float
    alternatives: list[PathAlternative]  # best first, at most the script's top-k
    # p(emitted) - p(best other alternative): small means the model nearly said something else;
    # None when the engine gave no other alternative
    margin: float | None = None


class AnswerPathData(_Data):
    question_id: str
    contestant: str
    steps: list[PathStep]  # in order, following the answer's released text


class AttentionData(_Data):
    """An attention heatmap for one answer (computed off the hot path, cached in the data dir).
    The figure itself is served by ``/figures/attention?key=``."""

    question_id: str
    contestant: str
    status: Literal["computing", "ready", "failed"]
    key: str = ""  # cache key of the matrix (``/figures/attention?key=``)
    aggregate: str = "mean"  # mean | max | layer:<n>
    prompt_tokens: int = 0  # of the question shown as columns
    answer_tokens: int = 0  # rows
    seconds: float | None = None  # compute time (0 when served from the cache)
    reason: str = ""  # why it failed


class AnswerPath(_Event):
    type: Literal["answer.path"] = "answer.path"
    data: AnswerPathData


class Attention(_Event):
    type: Literal["attention"] = "attention"
    data: AttentionData


# ---- contestants: training jobs (ms-swift) and qualification (EvalScope) ----


class TrainingProgressData(_Data):
    """One report from a training job: the CLI's bar, the director's panel and the on-air graphic."""

    contestant: str
    job: str
    kind: Literal["sft", "dpo"]
    step: int = Field(ge=0)
    max_steps: int = Field(ge=0)
    loss: float | None = None
    eta_s: float | None = None
    elapsed_s: float = 0.0
    rank: int = 0  # the reporting rank of a distributed job
    world_size: int = 1


class TrainingFinishedData(_Data):
    contestant: str
    job: str
    kind: Literal["sft", "dpo"]
    status: Literal["completed", "budget_exceeded", "failed"]
    steps: int
    adapter: str | None = None  # the last good checkpoint, as the engine loads it
    reason: str = ""


class QualificationResultData(_Data):
    """A contestant's EvalScope scores (0..1 per benchmark); the leaderboard rates ``score``."""

    contestant: str
    scores: dict[str, float]
    score: float = Field(ge=0, le=1)
    samples: int
    report: str  # where the EvalScope report is kept, under the show's data dir


class TrainingProgress(_Event):
    type: Literal["training.progress"] = "training.progress"
    data: TrainingProgressData


class TrainingFinished(_Event):
    type: Literal["training.finished"] = "training.finished"
    data: TrainingFinishedData


class QualificationResult(_Event):
    type: Literal["qualification.result"] = "qualification.result"
    data: QualificationResultData


class Snapshot(_Event):
    """Sent instead of a replay when the events a client missed are no longer in the log.

    ``data`` is the full show state (``studio.show_state.ShowState.to_dict()``) as of ``seq``.
    Never stored in the log itself.
    """

    type: Literal["snapshot"] = "snapshot"
    data: dict[str, Any]


Event = Annotated[
    Union[
        ShowOpened,
        DirectorCommand,
        ShowStatus,
        StageStarted,
        StageEnded,
        QuestionAsked,
        AnswerStarted,
        AnswerToken,
        AnswerFinished,
        AnswerFairness,
        AnswerGraded,
        QuestionClosed,
        Scoreboard,
        GraphicCued,
        GraphicsTaken,
        GraphicsCleared,
        GraphicsRefresh,
        GraphicsClient,
        PollOpened,
        PollTally,
        PollClosed,
        PollRevealed,
        JudgeScored,
        Leaderboard,
        SafetyHit,
        SafetyResolved,
        InputRefused,
        AnswerDumped,
        DebateStarted,
        DebateTurn,
        DebateResult,
        SubtitleStarted,
        SubtitleSource,
        SubtitleToken,
        SubtitleTranslated,
        SubtitleSummary,
        ImageShown,
        PoemForm,
        AnswerPath,
        Attention,
        StoreOutage,
        EngineFault,
        TrainingProgress,
        TrainingFinished,
        QualificationResult,
        Snapshot,
    ],
    Field(discriminator="type"),
]

_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: str | bytes | dict) -> Event:
    """Parse one event from wire JSON (or a dict); raises pydantic.ValidationError."""
    if isinstance(raw, dict):
        return _event_adapter.validate_python(raw)
    return _event_adapter.validate_json(raw)


def frame_events(raw: str | bytes) -> list[dict[str, Any]]:
    """The events in one WebSocket frame: a frame holds one event or a JSON array of them."""
    parsed = json.loads(raw)
    return parsed if isinstance(parsed, list) else [parsed]


def event_types() -> list[str]:
    """All type names, for the JS mirror check."""
    union = get_args(Event)[0]
    return sorted(cls.model_fields["type"].default for cls in get_args(union))


def event_json_schema() -> dict[str, Any]:
    return _event_adapter.json_schema()
