"""Questions and answers: asked, streamed, finished, graded, their fairness and generation path, the scoreboard."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import _Data, _Event

__all__ = [
    "AnswerMetrics",
    "QuestionAskedData",
    "AnswerStartedData",
    "AnswerTokenData",
    "AnswerFinishedData",
    "HardwareInfo",
    "SamplingInfo",
    "AnswerFairnessData",
    "AnswerGradedData",
    "QuestionClosedData",
    "ScoreRow",
    "ScoreboardData",
    "PathAlternative",
    "PathStep",
    "AnswerPathData",
    "AttentionData",
    "QuestionAsked",
    "AnswerStarted",
    "AnswerToken",
    "AnswerFinished",
    "AnswerFairness",
    "AnswerGraded",
    "QuestionClosed",
    "Scoreboard",
    "AnswerPath",
    "Attention",
]


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


class AnswerPath(_Event):
    type: Literal["answer.path"] = "answer.path"
    data: AnswerPathData


class Attention(_Event):
    type: Literal["attention"] = "attention"
    data: AttentionData
