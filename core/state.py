"""The show's state, derived from its event log and nothing else.

``ShowState.apply(event)`` is the one reducer: the controller rebuilds itself with it after a crash,
the fan-out builds reconnect snapshots with it, and ``gavel demo --summary`` reads results from it.
``overlays/gavel-state.js`` mirrors the same rules for the graphics (``to_dict`` is the shape
both share; ``results`` is extra, for scoring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import events as ev


@dataclass
class AnswerState:
    text: str = ""
    status: str = "streaming"
    reason: str = ""  # why an answer ended as dnf / timeout / cancelled
    tokens: int = 0
    correct: bool | None = None
    extracted: str | None = None
    grade_reason: str = ""  # why the grader (or whoever decided) gave this verdict
    uncertain: bool = False  # graded, but neither right nor wrong until decided
    decided_by: str | None = None
    metrics: dict[str, Any] | None = None
    dumped: bool = False  # withdrawn from air by the director: its text never shows again
    path: list[dict[str, Any]] = field(default_factory=list)  # generation path (PathStep), as aired
    fairness: dict[str, Any] | None = None  # the answer's fairness record (answer.fairness data)


@dataclass
class QuestionResult:
    """What one contestant did on one question: the scoreboard's raw material."""

    status: str
    tokens: int
    metrics: dict[str, Any]
    correct: bool | None = None
    extracted: str | None = None
    text: str = ""


@dataclass
class ShowState:
    show_id: str = ""
    title: str = ""
    locale: str = "en"
    messages: dict[str, str] = field(default_factory=dict)  # the locale's message table (show.opened)
    status: str = "idle"  # idle | running | paused | completed | aborted
    stages: list[dict[str, Any]] = field(default_factory=list)
    contestants: list[dict[str, Any]] = field(default_factory=list)
    current_stage: int | None = None
    question: dict[str, Any] | None = None
    answers: dict[str, AnswerState] = field(default_factory=dict)
    scoreboard: dict[str, Any] | None = None
    # stage index -> question id -> contestant -> result (the last one wins: a question re-asked
    # after a crash replaces its half-finished first attempt instead of counting twice)
    results: dict[int, dict[str, dict[str, QuestionResult]]] = field(default_factory=dict)
    closed_questions: dict[int, list[str]] = field(default_factory=dict)
    # stage index -> contestant -> question id -> the text that aired, in the order answers ended
    # (answers, debate turns, poems, live translations; "" once dumped): the summary's record
    aired: dict[int, dict[str, dict[str, str]]] = field(default_factory=dict)
    question_texts: dict[str, str] = field(default_factory=dict)  # every question asked, by id
    # output ("program" / "preview") -> graphic name -> {"visible": bool, "data": {...}}
    graphics: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {"program": {}, "preview": {}})
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)  # graphics pages connected now
    # poll id -> the poll as opened, plus status ("open"/"closed"), revealed, counts, total, winner
    polls: dict[str, dict[str, Any]] = field(default_factory=dict)
    current_poll: str | None = None  # the poll phones show (the latest opened)
    judged: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # target -> judge -> scores
    leaderboard: dict[str, Any] | None = None
    held: dict[str, dict[str, Any]] = field(default_factory=dict)  # "question:contestant" -> the hold hit
    # "question:contestant" -> an uncertain verdict waiting for a decision (answer.graded data + stage, ts)
    uncertain: dict[str, dict[str, Any]] = field(default_factory=dict)
    debate: dict[str, Any] | None = None  # the debate on now: started data + "turn" + "result"
    # the subtitles stage on now: started data + "lines" [{source..., "translations": {c: {...}}}] + "summary"
    subtitles: dict[str, Any] | None = None
    subtitle_lags: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # contestant -> finished lines (radar)
    image_poem: dict[str, Any] | None = None  # the picture on air (image.shown) and its poems' form checks
    attention: dict[str, dict[str, Any]] = field(default_factory=dict)  # "question:contestant" -> latest heatmap news
    # contestant -> their training job as last reported (progress, then "status" once finished)
    # and their qualification result ("qualification"): the training graphic's data
    training: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_seq: int = 0
    first_token_ts: float | None = None  # when the first token went on air (cold-start figure)

    def _record_aired(self, stage: int, contestant: str, question_id: str, text: str) -> None:
        self.aired.setdefault(stage, {}).setdefault(contestant, {})[question_id] = text

    @property
    def ended(self) -> bool:
        return self.status in ("completed", "aborted")

    def stage_status(self, index: int) -> str:
        return self.stages[index]["status"] if 0 <= index < len(self.stages) else "pending"

    def apply(self, event: ev.Event) -> None:
        self.last_seq = max(self.last_seq, event.seq)
        data = event.data
        match event:
            case ev.ShowOpened():
                self.show_id, self.title = data.show_id, data.title
                self.locale, self.messages = data.locale, data.messages
                self.stages = [{**s.model_dump(), "status": "pending"} for s in data.stages]
                self.contestants = [c.model_dump() for c in data.contestants]
            case ev.ShowStatus():
                self.status = data.status
            case ev.StageStarted():
                self.current_stage = data.index
                if 0 <= data.index < len(self.stages):
                    self.stages[data.index]["status"] = "running"
                self.question, self.answers = None, {}
            case ev.StageEnded():
                if 0 <= data.index < len(self.stages):
                    self.stages[data.index]["status"] = data.status
            case ev.QuestionAsked():
                self.question = data.model_dump()
                self.question_texts[data.question_id] = data.text
                answering = data.contestants if data.contestants is not None else [c["id"] for c in self.contestants]
                self.answers = {c: AnswerState() for c in answering}
            case ev.AnswerStarted():
                if self._on_screen(data.question_id):
                    self.answers.setdefault(data.contestant, AnswerState())
            case ev.AnswerToken():
                if self.first_token_ts is None:
                    self.first_token_ts = event.ts
                # A straggler from an earlier question, or after the answer ended, changes nothing
                # (gavel-state.js applies the same rules).
                if self._on_screen(data.question_id):
                    answer = self.answers.setdefault(data.contestant, AnswerState())
                    if answer.status == "streaming" and not answer.dumped:
                        answer.text += data.text
                        answer.tokens = data.index
            case ev.AnswerPath():
                if self._on_screen(data.question_id):
                    answer = self.answers.setdefault(data.contestant, AnswerState())
                    if answer.status == "streaming" and not answer.dumped:
                        answer.path.extend(step.model_dump() for step in data.steps)
            case ev.AnswerFinished():
                self.uncertain.pop(f"{data.question_id}:{data.contestant}", None)  # a new attempt gets its own grade
                answer = self.answers.setdefault(data.contestant, AnswerState()) if self._on_screen(data.question_id) else None
                if answer is not None:
                    answer.status, answer.reason = data.status, data.reason
                    answer.text = "" if answer.dumped else data.text
                    answer.tokens = data.metrics.output_tokens
                    answer.metrics = data.metrics.model_dump()
                if self.image_poem is not None and self.image_poem["question_id"] == data.question_id:
                    dumped = answer is not None and answer.dumped
                    self.image_poem["poems"][data.contestant] = "" if dumped else data.text  # outlives the stage
                stage = self.question["stage"] if self.question else (self.current_stage or 0)
                per_question = self.results.setdefault(stage, {}).setdefault(data.question_id, {})
                if data.status == "cancelled":  # stopped by the director: not a result to score
                    per_question.pop(data.contestant, None)
                else:
                    self._record_aired(stage, data.contestant, data.question_id, "" if answer is not None and answer.dumped else data.text)
                    per_question[data.contestant] = QuestionResult(
                        status=data.status, tokens=data.metrics.output_tokens, metrics=data.metrics.model_dump(), text=data.text
                    )
            case ev.AnswerFairness():
                if self._on_screen(data.question_id):
                    self.answers.setdefault(data.contestant, AnswerState()).fairness = data.model_dump()
            case ev.AnswerGraded():
                key = f"{data.question_id}:{data.contestant}"
                waiting = self.uncertain.pop(key, None)  # a decision (or a re-grade) settles it
                answer = None
                if self._on_screen(data.question_id):
                    answer = self.answers.setdefault(data.contestant, AnswerState())
                    answer.correct, answer.extracted, answer.grade_reason = data.correct, data.extracted, data.reason
                    answer.uncertain, answer.decided_by = data.correct is None, data.decided_by
                stage = waiting["stage"] if waiting else self.question["stage"] if self.question else (self.current_stage or 0)
                result = self.results.get(stage, {}).get(data.question_id, {}).get(data.contestant)
                if result is not None:
                    result.correct, result.extracted = data.correct, data.extracted
                if data.correct is None:  # the answer as aired (blank if dumped), for whoever decides
                    text = answer.text if answer is not None else waiting.get("text", "") if waiting else ""
                    self.uncertain[key] = {**data.model_dump(), "stage": stage, "ts": event.ts, "text": text}
            case ev.QuestionClosed():
                closed = self.closed_questions.setdefault(data.stage, [])
                if data.question_id not in closed:
                    closed.append(data.question_id)
            case ev.Scoreboard():
                self.scoreboard = data.model_dump()
            case ev.GraphicCued():
                self.graphics["preview"][data.graphic] = {"visible": data.visible, "data": data.data}
            case ev.GraphicsTaken():
                self.graphics["program"] = {name: g.model_dump() for name, g in data.graphics.items()}
            case ev.GraphicsCleared():
                for output in self.graphics.values():
                    for graphic in output.values():
                        graphic["visible"] = False
            case ev.GraphicsClient():
                if data.connected:
                    self.clients[data.client_id] = data.model_dump()
                elif self.clients.get(data.client_id, {}).get("connection") == data.connection:
                    # A reloaded page reconnects before its old socket's goodbye arrives: only
                    # the socket registered now may remove the entry.
                    del self.clients[data.client_id]
            case ev.PollOpened():
                self.polls[data.poll_id] = {
                    **data.model_dump(),
                    "status": "open",
                    "revealed": False,
                    "counts": {c.id: 0 for c in data.choices},
                    "total": 0,
                    "winner": None,
                    "decided_by": None,
                }
                self.current_poll = data.poll_id
            case ev.PollTally():
                if poll := self.polls.get(data.poll_id):
                    poll["counts"], poll["total"] = dict(data.counts), data.total
            case ev.PollClosed():
                if poll := self.polls.get(data.poll_id):
                    poll.update(status="closed", counts=dict(data.counts), total=data.total, winner=data.winner, decided_by=data.decided_by)
            case ev.PollRevealed():
                if poll := self.polls.get(data.poll_id):
                    poll["revealed"] = True
            case ev.JudgeScored():
                self.judged.setdefault(data.target, {})[data.judge] = dict(data.scores)
            case ev.Leaderboard():
                self.leaderboard = data.model_dump()
            case ev.DebateStarted():
                self.debate = {**data.model_dump(), "turn": None, "result": None}
            case ev.DebateTurn():
                if self.debate is not None:
                    self.debate["turn"] = data.model_dump()
            case ev.DebateResult():
                if self.debate is not None:
                    self.debate["result"], self.debate["turn"] = data.model_dump(), None
            case ev.SubtitleStarted():
                self.subtitles = {**data.model_dump(), "lines": [], "summary": None}
            case ev.SubtitleSource():
                if self.subtitles is not None:
                    self.subtitles["lines"].append({**data.model_dump(), "translations": {}})
            case ev.SubtitleToken():
                line = self._subtitle_line(data.line)
                if line is not None:
                    tr = line["translations"].setdefault(data.contestant, {"text": "", "status": "streaming"})
                    if tr["status"] == "streaming" and not tr.get("dumped"):  # the same rules as answer.token
                        tr["text"] += data.text
            case ev.SubtitleTranslated():
                line = self._subtitle_line(data.line)
                if line is not None:
                    dumped = line["translations"].get(data.contestant, {}).get("dumped", False)
                    final = data.model_dump(include={"text", "status", "reason", "lag_s", "ttft_lag_s", "waited_s"})
                    line["translations"][data.contestant] = {**final, "text": "", "dumped": True} if dumped else final
                if data.status != "cancelled":
                    self._record_aired(
                        data.stage,
                        data.contestant,
                        data.question_id,
                        "" if line and line["translations"][data.contestant].get("dumped") else data.text,
                    )
                    self.subtitle_lags.setdefault(data.contestant, []).append(
                        {"stage": data.stage, "line": data.line, "lag_s": data.lag_s, "ttft_lag_s": data.ttft_lag_s, "status": data.status}
                    )
            case ev.SubtitleSummary():
                if self.subtitles is not None:
                    self.subtitles["summary"] = data.model_dump()
            case ev.ImageShown():
                self.image_poem = {**data.model_dump(), "forms": {}, "poems": {}}
            case ev.TrainingProgress():
                job = self.training.get(data.contestant, {})
                if job.get("job") != data.job:  # a new job replaces the last one's figures
                    job = {"qualification": job.get("qualification")}
                self.training[data.contestant] = {**job, **data.model_dump(), "status": "running"}
            case ev.TrainingFinished():
                job = self.training.get(data.contestant, {})
                if job.get("job") != data.job:
                    job = {"qualification": job.get("qualification")}
                self.training[data.contestant] = {**job, **data.model_dump(), "step": data.steps}
            case ev.QualificationResult():
                self.training.setdefault(data.contestant, {"contestant": data.contestant})["qualification"] = data.model_dump()
            case ev.Attention():
                self.attention[f"{data.question_id}:{data.contestant}"] = data.model_dump()
            case ev.PoemForm():
                if self.image_poem is not None and self.image_poem["question_id"] == data.question_id:
                    self.image_poem["forms"][data.contestant] = data.model_dump()
            case ev.AnswerDumped():
                for per_contestant in self.aired.values():
                    if data.question_id in per_contestant.get(data.contestant, {}):
                        per_contestant[data.contestant][data.question_id] = ""
                for line in (self.subtitles or {}).get("lines", []):  # a dumped live translation
                    tr = line["translations"].get(data.contestant) if line["question_id"] == data.question_id else None
                    if tr is not None:
                        tr["text"], tr["dumped"] = "", True
                self.attention.pop(f"{data.question_id}:{data.contestant}", None)
                answer = self.answers.get(data.contestant)
                if answer is not None and (not self.question or self.question["question_id"] == data.question_id):
                    answer.text, answer.dumped, answer.path = "", True, []
            case ev.SafetyHit():
                if data.state == "held":
                    self.held[f"{data.question_id}:{data.contestant}"] = data.model_dump()
            case ev.SafetyResolved():
                self.held.pop(f"{data.question_id}:{data.contestant}", None)
            case ev.Snapshot():
                restored = ShowState.from_dict(data)
                restored.last_seq = event.seq
                self.__dict__.update(restored.__dict__)
            case _:
                pass  # director.command and future types change no on-air state

    def _on_screen(self, question_id: str) -> bool:
        """Answer events for a question other than the one on screen are stragglers."""
        return not self.question or self.question["question_id"] == question_id

    def _subtitle_line(self, index: int) -> dict[str, Any] | None:
        lines = (self.subtitles or {}).get("lines", [])
        return lines[index] if 0 <= index < len(lines) and lines[index]["line"] == index else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "show": {
                "show_id": self.show_id,
                "title": self.title,
                "status": self.status,
                "locale": self.locale,
                "messages": self.messages,
            },
            "stages": self.stages,
            "contestants": self.contestants,
            "current_stage": self.current_stage,
            "question": self.question,
            "answers": {cid: vars(a).copy() for cid, a in self.answers.items()},
            "scoreboard": self.scoreboard,
            "results": {
                str(stage): {qid: {cid: vars(r).copy() for cid, r in per.items()} for qid, per in qs.items()}
                for stage, qs in self.results.items()
            },
            "closed_questions": {str(k): v for k, v in self.closed_questions.items()},
            "question_texts": self.question_texts,
            "graphics": self.graphics,
            "clients": self.clients,
            "polls": self.polls,
            "current_poll": self.current_poll,
            "judged": self.judged,
            "leaderboard": self.leaderboard,
            "held": self.held,
            "uncertain": self.uncertain,
            "debate": self.debate,
            "subtitles": self.subtitles,
            "subtitle_lags": self.subtitle_lags,
            "image_poem": self.image_poem,
            "attention": self.attention,
            "training": self.training,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ShowState":
        show = data.get("show", {})
        return cls(
            show_id=show.get("show_id", ""),
            title=show.get("title", ""),
            status=show.get("status", "idle"),
            stages=data.get("stages", []),
            contestants=data.get("contestants", []),
            current_stage=data.get("current_stage"),
            question=data.get("question"),
            answers={cid: AnswerState(**a) for cid, a in data.get("answers", {}).items()},
            scoreboard=data.get("scoreboard"),
            results={
                int(stage): {qid: {cid: QuestionResult(**r) for cid, r in per.items()} for qid, per in qs.items()}
                for stage, qs in data.get("results", {}).items()
            },
            closed_questions={int(k): v for k, v in data.get("closed_questions", {}).items()},
            question_texts=data.get("question_texts", {}),
            graphics=data.get("graphics") or {"program": {}, "preview": {}},
            clients=data.get("clients", {}),
            polls=data.get("polls", {}),
            current_poll=data.get("current_poll"),
            judged=data.get("judged", {}),
            leaderboard=data.get("leaderboard"),
            held=data.get("held", {}),
            uncertain=data.get("uncertain", {}),
            debate=data.get("debate"),
            subtitles=data.get("subtitles"),
            subtitle_lags=data.get("subtitle_lags", {}),
            image_poem=data.get("image_poem"),
            attention=data.get("attention", {}),
            training=data.get("training", {}),
        )
