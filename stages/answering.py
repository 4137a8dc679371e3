"""One contestant answering on air, the way every stage does it.

``stream_answer`` asks the engine pool, streams the answer as ``answer.*`` events through the
content filter (only released text airs and becomes the final text; a cut or a rejected hold ends
it as a DNF "withheld"), honours a director's cut (``stop``), and publishes ``answer.finished``.
``stream_answers`` does it for several contestants at once and, if the stage is skipped or aborted
mid-answer, ends every unfinished answer on air as "cancelled". Each answer's fairness record
(stages/fairness.py) follows it: for the whole group once all have ended, compared with each other. Stages add what is theirs (grading,
transcripts, verdicts) around it. ``guarded_answer`` is the core without the ``answer.*`` events,
for a stage that airs the text as events of its own (live subtitles).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from core import events as ev
from engine_pool.base import Chunk, Sampling
from engine_pool.pool import Answer, AnswerConditions, StopAnswer

from .base import EmitText, StageContext
from .fairness import publish_fairness
from .generation_path import PathTracer
from .scaffolding import LeadTrim, prompt_lines


@dataclass
class AnsweredOnAir:
    contestant: str
    status: str  # done | dnf | timeout | cancelled
    reason: str
    text: str  # what aired (the filter's released text)
    raw_text: str  # what the model said (graded, never aired)
    metrics: ev.AnswerMetrics
    conditions: AnswerConditions  # what it was made under (the fairness record)


async def guarded_answer(
    ctx: StageContext,
    question_id: str,
    contestant: str,
    messages: list[dict[str, str]],
    sampling: Sampling,
    time_limit_s: float,
    emit: EmitText,
    stop: asyncio.Event | None = None,
    tracer: PathTracer | None = None,
) -> tuple[Answer, str, str]:
    """Ask the pool for one answer with the content filter in the stream: only what the filter
    releases reaches ``emit(text, tokens)``; a cut or a rejected hold makes it a DNF "withheld".
    ``stop`` set mid-answer ends it there (status done). ``tracer`` sees every raw chunk first
    (the generation path). Returns (the pool's answer, status, reason).
    Puts nothing on air itself, so a stage can air the text as its own events; an engine fault
    (failure, time limit) goes to the director as ``engine.fault``."""
    guard = ctx.safety.guard(question_id, contestant, emit) if ctx.safety else None
    # A label or an echoed prompt line before the answer never airs, the contestant's own system
    # prompt included (the pool puts it first: a small model says "You are Dao, …" back too).
    persona = next((c.system_prompt for c in ctx.script.contestants if c.id == contestant), "")
    lead = LeadTrim(prompt_lines([{"role": "system", "content": persona}, *messages]))
    released = [0]  # visible characters let through to the filter

    async def release(text: str, tokens: int) -> None:
        if text:
            released[0] += len(text.strip())
            await (guard.feed(text, tokens) if guard else emit(text, tokens))

    async def on_chunk(chunk: Chunk, tokens: int) -> None:
        if stop is not None and stop.is_set():
            raise StopAnswer("cut short by the director", status="done")
        if tracer is not None:
            tracer.on_chunk(chunk, tokens)
        if chunk.text:
            text = lead.feed(chunk.text)
            if lead.trimmed and tracer is not None:
                tracer.drop_lead(len(lead.trimmed))
                lead.trimmed = ""  # told once
            await release(text, tokens)

    try:
        answer = await ctx.pool.answer(contestant, messages, sampling, time_limit_s, on_chunk)
        await release(lead.finish(), answer.metrics.output_tokens)
        status, reason = answer.status, answer.reason
        if status == "done" and lead.dropped and not released[0]:  # nothing but its prompt, said back
            status, reason = "dnf", ctx.messages.t("status.dnf_echo")
        elif status == "done" and not released[0]:  # nothing at all (an end of text at once, or blanks)
            status, reason = "dnf", ctx.messages.t("status.dnf_empty")
        if answer.faulted:  # the director hears of a failing engine at once, not from a scoreboard later
            fault = ev.EngineFaultData(engine=answer.engine, contestant=contestant, question_id=question_id, status=status, reason=reason)
            await ctx.publish(ev.EngineFault(data=fault), channels=ev.DIRECTOR_ONLY)
        if guard:
            await guard.finish()
            if guard.withheld_reason:
                status, reason = "dnf", guard.withheld_reason
    finally:
        if guard:
            ctx.safety.release(guard)
    return answer, status, reason


async def stream_answer(
    ctx: StageContext,
    question_id: str,
    contestant: str,
    messages: list[dict[str, str]],
    sampling: Sampling,
    time_limit_s: float,
    stop: asyncio.Event | None = None,
    aired: list[str] | None = None,
    audit: bool = True,
) -> AnsweredOnAir:
    """Stream one answer on air; ``stop`` set mid-answer ends it there ("cut short by the
    director", status done: what was said stands). ``aired`` collects the released text as it goes.
    ``audit``: publish its fairness record after it (``stream_answers`` does it for the group)."""
    aired = [] if aired is None else aired
    await ctx.publish(ev.AnswerStarted(data=ev.AnswerStartedData(question_id=question_id, contestant=contestant)))
    # With logprobs on, each released stretch of text is followed by its tokens' generation path.
    tracer = PathTracer(ctx.safety.would_filter if ctx.safety else None) if sampling.logprobs else None

    async def emit(text: str, tokens: int) -> None:
        aired.append(text)
        await ctx.publish(ev.AnswerToken(data=ev.AnswerTokenData(question_id=question_id, contestant=contestant, index=tokens, text=text)))
        steps = tracer.on_release(text) if tracer is not None else []
        if steps:
            await ctx.publish(ev.AnswerPath(data=ev.AnswerPathData(question_id=question_id, contestant=contestant, steps=steps)))

    # Only what the content filter releases goes on air (and into the final text).
    answer, status, reason = await guarded_answer(ctx, question_id, contestant, messages, sampling, time_limit_s, emit, stop, tracer)
    result = AnsweredOnAir(
        contestant, status, reason, "".join(aired), answer.text, ev.AnswerMetrics(**vars(answer.metrics)), answer.conditions
    )
    if ctx.explain is not None:
        ctx.explain.record(question_id, contestant, messages, result.text, result.raw_text, status)
    await ctx.publish(
        ev.AnswerFinished(
            data=ev.AnswerFinishedData(
                question_id=question_id, contestant=contestant, status=status, reason=reason, text=result.text, metrics=result.metrics
            )
        )
    )
    if audit:
        await publish_fairness(ctx, question_id, {contestant: answer.conditions})
    return result


async def stream_answers(
    ctx: StageContext,
    question_id: str,
    contestants: list[str],
    messages: list[dict[str, str]],
    sampling: Sampling,
    time_limit_s: float,
    after_each=None,
) -> dict[str, AnsweredOnAir]:
    """Everyone answers at once; ``after_each(result)`` (async) runs as each one finishes."""
    aired: dict[str, list[str]] = {c: [] for c in contestants}
    results: dict[str, AnsweredOnAir] = {}

    async def one(contestant: str) -> None:
        result = await stream_answer(ctx, question_id, contestant, messages, sampling, time_limit_s, aired=aired[contestant], audit=False)
        results[contestant] = result
        if after_each is not None:
            await after_each(result)

    try:
        await asyncio.gather(*(one(c) for c in contestants))
    except asyncio.CancelledError:
        # Skipped or aborted mid-question: say so on air for every answer still streaming.
        for contestant in contestants:
            if contestant not in results:
                await asyncio.shield(
                    ctx.publish(
                        ev.AnswerFinished(
                            data=ev.AnswerFinishedData(
                                question_id=question_id,
                                contestant=contestant,
                                status="cancelled",
                                reason="stopped by the director",
                                text="".join(aired[contestant]),
                                metrics=ev.AnswerMetrics(),
                            )
                        )
                    )
                )
        raise
    await publish_fairness(ctx, question_id, {c: results[c].conditions for c in contestants})
    return results
