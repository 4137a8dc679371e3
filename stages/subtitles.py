"""Live subtitles (实时字幕): a foreign-language speech, line by line, translated live by every
contestant; the score is how far each one's subtitles run behind the speaker.

Where the lines come from: a transcript file (``[{t, text}, ...]``, ``t`` in seconds from the
stage's start, non-decreasing) and/or an operator typing them live (``operator: true``; the
director's ``subtitle_line`` command feeds ``OperatorFeed.submit``, see ``operator_feed``).

The timeline: the stage clock starts when the stage does (``subtitle.started`` carries its zero);
a transcript line is released when its ``t`` comes; an operator line as soon as it arrives. A
director's pause holds the next line back and shifts the rest of the transcript by the time
paused, so the spacing of the speech is kept. Each released line is one ``subtitle.source`` event
(its ``shown_ts`` is the moment it went on air) and is handed at once to every contestant.

Order and backlog: each contestant has its own queue and translates its lines strictly in order,
one at a time — a subtitle never overtakes the one before it. A contestant still busy with line n
when line n+1 is shown starts n+1 when n ends, so its lag grows with its backlog (``waited_s``
says how long a line queued) — exactly what the audience sees of a slow interpreter. Nothing is
dropped. ``time_limit_s`` bounds one translation from when it starts; a translation that runs out
ends as ``timeout`` (a DNF for that line, with the reason) and the contestant moves on.

Streaming: a translation goes through the content filter like any answer (``guarded_answer``):
only released text becomes ``subtitle.token`` events, a cut or a rejected hold is a DNF. Holds and
dumps use the line's ``question_id`` ("sub-<stage>-<line>").

Lag (all on the server's wall clock, ``ctx.clock``): ``lag_s`` = last token on air − line shown
(for a translation that finished; None otherwise), ``ttft_lag_s`` = first token on air − line
shown. ``subtitle.summary`` after every finished translation (and once more, ``final``, at the end)
gives each contestant's median and p90 (nearest rank) lag over its finished lines, and lines done
and DNF.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from core import events as ev
from core.yaml_source import SourceError, format_validation_error, load_with_lines

from .answering import guarded_answer
from .base import StageContext
from .fairness import publish_fairness
from .speed_qa import sampling_from

MAX_LINE_CHARS = 500


# -- the transcript file ---------------------------------------------------------------------------


class TranscriptLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    t: float = Field(ge=0, allow_inf_nan=False)  # seconds from the stage's start
    text: str = Field(min_length=1, max_length=MAX_LINE_CHARS)
    reference: str | None = Field(None, min_length=1, max_length=4 * MAX_LINE_CHARS)  # a good translation (for scoring)

    @field_validator("t", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"a number of seconds, got {value!r}")
        return value

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


_LINES = TypeAdapter(list[TranscriptLine])


def load_transcript(path: str | Path) -> list[TranscriptLine]:
    """A transcript: a list of ``{t, text}`` (or a mapping with such a ``lines`` list), ``t``
    non-decreasing, ``text`` non-empty. Raises SourceError naming file:line for every problem."""
    path = Path(path)
    data, lines = load_with_lines(path)
    prefix: tuple = ()
    if isinstance(data, dict) and "lines" in data:
        data, prefix = data["lines"], ("lines",)
    if not isinstance(data, list) or not data:
        where = lines.get(prefix, 1)
        raise SourceError([f"{path}:{where}: a transcript is a non-empty list of {{t, text}} lines"])
    try:
        parsed = _LINES.validate_python(data)
    except ValidationError as exc:
        raise SourceError(format_validation_error(path, exc, lines, prefix)) from None
    problems = []
    for i in range(1, len(parsed)):
        if parsed[i].t < parsed[i - 1].t:
            loc = prefix + (i, "t")
            name = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if j else p) for j, p in enumerate(loc))
            problems.append(
                f"{path}:{lines.get(loc, lines.get(prefix + (i,)))}: {name}: {parsed[i].t:g} is before the previous line's "
                f"{parsed[i - 1].t:g} (times must not go backwards)"
            )
    if problems:
        raise SourceError(problems)
    return parsed


# -- operator lines ---------------------------------------------------------------------------------

_FEEDS: dict[tuple[int, int], "OperatorFeed"] = {}


def operator_feed(state: object, stage: int) -> "OperatorFeed | None":
    """The running subtitles stage's feed for typed lines: ``state`` is the controller's
    ``ShowState`` (the same object the stage's context holds), ``stage`` its index. None when that
    stage is not running or takes no operator lines."""
    return _FEEDS.get((id(state), stage))


class OperatorFeed:
    """Lines an operator types live. ``submit`` is what the director's ``subtitle_line`` command
    calls; the stage releases each line as soon as it arrives."""

    def __init__(self, ctx: StageContext):
        self._ctx = ctx
        self.lines: deque[str] = deque()
        self.ended = False
        self.arrived = asyncio.Event()

    async def submit(self, text: Any = None, end: bool = False) -> tuple[bool, bool, str]:
        """One typed line (or ``end=True``: no more lines). Returns the controller's (ok, changed,
        reason). A line the content filter refuses is not shown (the director sees why)."""
        if self.ended:
            return False, False, "the operator's lines have ended for this stage"
        if end:
            self.ended = True
            self.arrived.set()
            return True, True, "no more operator lines"
        if not isinstance(text, str) or not text.strip():
            return False, False, "text: the line to show (non-empty)"
        text = text.strip()
        if len(text) > MAX_LINE_CHARS:
            return False, False, f"text: at most {MAX_LINE_CHARS} characters"
        safety = self._ctx.safety
        if safety is not None:
            verdict = safety.check(text)
            if not verdict.allowed:
                await safety.refuse_input(self._ctx.index, "subtitle line (operator)", verdict)
                return False, False, "refused by the content filter"
        self.lines.append(text)
        self.arrived.set()
        return True, True, ""


# -- the stage ----------------------------------------------------------------------------------------


@dataclass
class _Line:
    line: int
    text: str
    previous: str
    shown_ts: float


@dataclass
class _Tally:
    lines: int = 0
    done: int = 0
    dnf: int = 0
    lags: list[float] = field(default_factory=list)
    ttft_lags: list[float] = field(default_factory=list)


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def question_id_for(stage: int, line: int) -> str:
    return f"sub-{stage}-{line}"


class SubtitlesStage:
    kind = "subtitles"

    async def run(self, ctx: StageContext) -> None:
        spec = ctx.spec
        transcript = load_transcript(ctx.script.resolve(spec.transcript)) if spec.transcript else []
        run = _SubtitleRun(ctx, spec.contestants or ctx.contestant_ids)
        feed = OperatorFeed(ctx) if spec.operator else None
        key = (id(ctx.state), ctx.index)
        if feed is not None:
            _FEEDS[key] = feed
        workers = [asyncio.create_task(run.worker(c), name=f"subtitles-{ctx.index}-{c}") for c in run.contestants]
        try:
            await run.start(len(transcript) if not spec.operator else None, spec.operator)
            await run.release(transcript, feed)
            for queue in run.queues.values():
                queue.put_nowait(None)  # no more lines: each worker ends after its backlog
            await asyncio.gather(*workers)
        finally:
            if _FEEDS.get(key) is feed:
                _FEEDS.pop(key, None)
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        await run.publish_summary(final=True)


class _SubtitleRun:
    def __init__(self, ctx: StageContext, contestants: list[str]):
        self.ctx = ctx
        self.spec = ctx.spec
        self.contestants = list(contestants)
        self.queues: dict[str, asyncio.Queue[_Line | None]] = {c: asyncio.Queue() for c in self.contestants}
        self.tally = {c: _Tally() for c in self.contestants}
        self.sampling = sampling_from(self.spec.sampling)
        self.next_line = 0
        self.previous = ""
        self.start_ts = 0.0

    async def start(self, lines: int | None, operator: bool) -> None:
        ctx, spec = self.ctx, self.spec
        self.start_ts = ctx.clock()
        await ctx.publish(
            ev.SubtitleStarted(
                data=ev.SubtitleStartedData(
                    stage=ctx.index,
                    title=spec.title,
                    source_lang=spec.source_lang,
                    target_lang=spec.target_lang,
                    contestants=self.contestants,
                    lines_total=lines,
                    operator=operator,
                    started_ts=self.start_ts,
                )
            )
        )

    async def release(self, transcript: list[TranscriptLine], feed: OperatorFeed | None) -> None:
        """Show the transcript's lines at their times and the operator's as they come, until the
        transcript is done and the operator has ended (or been idle for ``operator_idle_s``)."""
        ctx = self.ctx
        pending = deque(transcript)
        paused_s = 0.0  # the transcript's timeline moves on by the time the director paused
        last_shown = self.start_ts
        while pending or (feed is not None and not feed.ended):
            due = self.start_ts + paused_s + pending[0].t if pending else None
            if feed is not None and not feed.ended:
                if not feed.lines:
                    until = due if due is not None else last_shown + self.spec.operator_idle_s
                    feed.arrived.clear()
                    try:
                        await asyncio.wait_for(feed.arrived.wait(), max(0.0, until - ctx.clock()))
                    except TimeoutError:
                        pass
                if feed.lines:
                    paused_s += await self._hold_while_paused()
                    await self.show(feed.lines.popleft(), "operator")
                    last_shown = ctx.clock()
                    continue
                if not pending and not feed.ended and ctx.clock() >= last_shown + self.spec.operator_idle_s:
                    feed.ended = True  # the operator went quiet: the stage winds up
                if due is None or ctx.clock() < due:
                    continue
            else:
                await asyncio.sleep(max(0.0, due - ctx.clock()))
            paused_s += await self._hold_while_paused()
            nxt = pending.popleft()
            await self.show(nxt.text, "transcript", nxt.t)
            last_shown = ctx.clock()

    async def _hold_while_paused(self) -> float:
        before = self.ctx.clock()
        await self.ctx.wait_if_paused()
        return max(0.0, self.ctx.clock() - before)

    async def show(self, text: str, origin: str, transcript_t: float | None = None) -> None:
        """Put one source line on air and hand it to every contestant."""
        ctx = self.ctx
        if origin == "transcript" and ctx.safety is not None:
            verdict = ctx.safety.check(text)
            if not verdict.allowed:
                await ctx.safety.refuse_input(ctx.index, f"subtitle line {self.next_line}", verdict)
                return
        line = self.next_line
        self.next_line += 1
        shown = ctx.clock()
        await ctx.publish(
            ev.SubtitleSource(
                data=ev.SubtitleSourceData(
                    stage=ctx.index,
                    line=line,
                    question_id=question_id_for(ctx.index, line),
                    t=transcript_t if transcript_t is not None else round(shown - self.start_ts, 3),
                    text=text,
                    shown_ts=shown,
                    origin=origin,
                )
            )
        )
        item = _Line(line, text, self.previous, shown)
        self.previous = text
        for contestant in self.contestants:
            self.tally[contestant].lines += 1
            self.queues[contestant].put_nowait(item)

    async def worker(self, contestant: str) -> None:
        """One contestant's lines, strictly in order, one at a time."""
        queue = self.queues[contestant]
        while (item := await queue.get()) is not None:
            await self.translate(contestant, item)

    def prompt(self, item: _Line) -> str:
        spec = self.spec
        return spec.prompt.format(source_lang=spec.source_lang, target_lang=spec.target_lang, line=item.text, previous=item.previous)

    async def translate(self, contestant: str, item: _Line) -> None:
        ctx, spec = self.ctx, self.spec
        qid = question_id_for(ctx.index, item.line)
        started = ctx.clock()
        aired: list[str] = []
        first: float | None = None
        last: float | None = None
        tokens = 0

        async def emit(text: str, count: int) -> None:
            nonlocal first, last, tokens
            now = ctx.clock()
            first = now if first is None else first
            last, tokens = now, count
            aired.append(text)
            await ctx.publish(
                ev.SubtitleToken(
                    data=ev.SubtitleTokenData(
                        stage=ctx.index, line=item.line, question_id=qid, contestant=contestant, index=count, text=text
                    )
                )
            )

        messages = [{"role": "user", "content": self.prompt(item)}]
        try:
            answer, status, reason = await guarded_answer(ctx, qid, contestant, messages, self.sampling, spec.time_limit_s, emit)
        except asyncio.CancelledError:
            # Skipped or aborted mid-line: say so on air, as answers do.
            await asyncio.shield(
                self._finished(contestant, item, qid, "cancelled", "stopped by the director", aired, None, first, started, tokens)
            )
            raise
        ended = ctx.clock()
        tokens = max(tokens, answer.metrics.output_tokens)
        lag_end = (last if last is not None else ended) if status == "done" else None
        await self._finished(contestant, item, qid, status, reason, aired, lag_end, first, started, tokens)
        await publish_fairness(ctx, qid, {contestant: answer.conditions})

    async def _finished(self, contestant, item: _Line, qid, status, reason, aired, lag_end, first, started, tokens) -> None:
        ctx = self.ctx
        lag = None if lag_end is None else round(max(0.0, lag_end - item.shown_ts), 4)
        ttft_lag = None if first is None else round(max(0.0, first - item.shown_ts), 4)
        await ctx.publish(
            ev.SubtitleTranslated(
                data=ev.SubtitleTranslatedData(
                    stage=ctx.index,
                    line=item.line,
                    question_id=qid,
                    contestant=contestant,
                    status=status,
                    reason=reason,
                    text="".join(aired),
                    lag_s=lag,
                    ttft_lag_s=ttft_lag,
                    waited_s=round(max(0.0, started - item.shown_ts), 4),
                    tokens=tokens,
                )
            )
        )
        if status == "cancelled":
            return
        tally = self.tally[contestant]
        if status == "done":
            tally.done += 1
            tally.lags.append(lag)
        else:
            tally.dnf += 1
        if ttft_lag is not None:
            tally.ttft_lags.append(ttft_lag)
        await self.publish_summary(final=False)

    def rows(self) -> list[ev.SubtitleLagRow]:
        return [
            ev.SubtitleLagRow(
                contestant=c,
                lines=t.lines,
                done=t.done,
                dnf=t.dnf,
                lag_median_s=round(median(t.lags), 4) if t.lags else None,
                lag_p90_s=p90(t.lags),
                ttft_lag_median_s=round(median(t.ttft_lags), 4) if t.ttft_lags else None,
            )
            for c, t in self.tally.items()
        ]

    async def publish_summary(self, final: bool) -> None:
        await self.ctx.publish(ev.SubtitleSummary(data=ev.SubtitleSummaryData(stage=self.ctx.index, rows=self.rows(), final=final)))
