"""Speed Q&A (极速问答): every contestant gets the same question at the same moment, with the same
sampling parameters and seed; answers stream live, are graded, and the scoreboard updates.
"""

from __future__ import annotations

import asyncio
import random

from core import events as ev
from core.locale import Messages
from engine_pool.base import Sampling
from results.scoring import score_rows

from .answering import AnsweredOnAir, stream_answers
from .banks import Question, load_bank
from .base import StageContext
from .grading import grade


def pick_questions(questions: list[Question], count: int, order: str, seed: int) -> list[Question]:
    chosen = list(questions)
    if order == "shuffle":
        random.Random(seed).shuffle(chosen)
    return chosen[:count]


def render_prompt(template: str, question: Question, messages: Messages) -> str:
    choices = ""
    if question.choices:
        choices = "\n".join(f"{chr(ord('A') + i)}) {c}" for i, c in enumerate(question.choices))
    text = template.format(question=question.question, choices=choices)
    if choices and "{choices}" not in template:
        text = f"{text}\n{choices}\n{messages.t('prompt.choose_letter')}"
    return text


def sampling_from(spec) -> Sampling:
    return Sampling(
        temperature=spec.temperature,
        top_p=spec.top_p,
        max_tokens=spec.max_tokens,
        seed=spec.seed,
        stop=tuple(spec.stop),
        logprobs=spec.logprobs,
    )


class SpeedQAStage:
    kind = "speed_qa"

    async def run(self, ctx: StageContext) -> None:
        spec = ctx.spec
        bank = load_bank(ctx.script.resolve(spec.bank))
        questions = pick_questions(bank.questions, spec.questions, spec.order, spec.shuffle_seed)
        done_before = set(ctx.state.closed_questions.get(ctx.index, []))
        for number, question in enumerate(questions, start=1):
            if question.id in done_before:
                continue  # answered before a restart: the log already has it
            await ctx.wait_if_paused()
            await ask_everyone(ctx, question, number, len(questions))


async def explain_winner(ctx: StageContext, question_id: str, results: dict) -> None:
    """The question's winner (the fastest correct answer) gets an attention heatmap."""
    answers = ctx.state.answers
    correct = [r for c, r in results.items() if answers.get(c) and answers[c].correct and r.metrics.e2e is not None]
    if correct:
        winner = min(correct, key=lambda r: r.metrics.e2e)
        await ctx.explain.request(question_id, winner.contestant)


async def input_allowed(ctx: StageContext, question: Question) -> bool:
    """Check a question (and its choices) before any model sees it."""
    if ctx.safety is None:
        return True
    verdict = ctx.safety.check("\n".join([question.question, *(question.choices or [])]))
    if not verdict.allowed:
        await ctx.safety.refuse_input(ctx.index, f"question {question.id}", verdict)
    return verdict.allowed


async def ask_everyone(ctx: StageContext, question: Question, number: int, of: int) -> bool:
    """Put one question to every contestant at once (the stage spec's prompt, sampling and time
    limit), stream the answers on air, grade them and publish the scoreboard. A question the
    content filter refuses is not asked (False); the director sees why."""
    spec = ctx.spec
    if not await input_allowed(ctx, question):
        return False
    await ctx.publish(
        ev.QuestionAsked(
            data=ev.QuestionAskedData(
                stage=ctx.index,
                number=number,
                of=of,
                question_id=question.id,
                text=question.question,
                kind=question.kind,
                choices=question.choices,
                time_limit_s=spec.time_limit_s,
                deadline_ts=ctx.clock() + spec.time_limit_s,
                contestants=ctx.contestant_ids,
            )
        )
    )
    messages = [{"role": "user", "content": render_prompt(spec.prompt, question, ctx.messages)}]

    async def grade_it(result: AnsweredOnAir) -> None:
        # The raw answer is graded (in a thread: a long reply must not hold up the other streams);
        # an uncertain verdict (correct None) is published as it is and decided later from the
        # panel: the stage never waits for it.
        verdict = await asyncio.to_thread(grade, question, result.raw_text) if result.status == "done" else None
        await ctx.publish(
            ev.AnswerGraded(
                data=ev.AnswerGradedData(
                    question_id=question.id,
                    contestant=result.contestant,
                    correct=verdict.correct if verdict else False,
                    extracted=verdict.extracted if verdict else None,
                    expected=question.answer,
                    reason=verdict.reason if verdict else f"no answer to grade ({result.status})",
                )
            )
        )

    results = await stream_answers(
        ctx, question.id, ctx.contestant_ids, messages, sampling_from(spec.sampling), spec.time_limit_s, grade_it
    )
    await ctx.publish(ev.QuestionClosed(data=ev.QuestionClosedData(stage=ctx.index, question_id=question.id)))
    if ctx.explain is not None and ctx.script.explain.auto_winner:
        await explain_winner(ctx, question.id, results)
    rows = score_rows(ctx.contestant_ids, [ctx.state.results.get(ctx.index, {})])
    await ctx.publish(ev.Scoreboard(data=ev.ScoreboardData(stage=ctx.index, rows=rows)))
    return True
