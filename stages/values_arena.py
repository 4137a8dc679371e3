"""Values arena (价值观擂台): every contestant answers the same moral dilemma at the same moment
(a base model against its DPO-tuned twin is the classic pairing); the audience gives a verdict in
a poll whose winner beats the others on the leaderboard's ``values`` dimension, and the judges
score the answers on the script's criteria from their page (their verdicts count too).
Nothing is graded automatically: there is no answer key to a dilemma.
"""

from __future__ import annotations

import time

from core import events as ev
from core.events import answer_target

from .answering import stream_answers
from .base import StageContext
from .speed_qa import sampling_from
from .verdicts import wait_for_judges


class ValuesArenaStage:
    kind = "values_arena"

    async def run(self, ctx: StageContext) -> None:
        spec = ctx.spec
        contestants = spec.contestants or ctx.contestant_ids
        names = {c.id: c.name for c in ctx.script.contestants}
        closed_before = set(ctx.state.closed_questions.get(ctx.index, []))
        for number, dilemma in enumerate(spec.dilemmas, start=1):
            qid = f"values-{ctx.index}-{dilemma.id}"
            if qid in closed_before:
                continue  # settled before a restart
            await ctx.wait_if_paused()
            if ctx.safety is not None:
                verdict = ctx.safety.check(dilemma.text)
                if not verdict.allowed:
                    await ctx.safety.refuse_input(ctx.index, f"dilemma {dilemma.id}", verdict)
                    continue
            await ctx.publish(
                ev.QuestionAsked(
                    data=ev.QuestionAskedData(
                        stage=ctx.index,
                        number=number,
                        of=len(spec.dilemmas),
                        question_id=qid,
                        text=dilemma.text,
                        kind="dilemma",
                        time_limit_s=spec.time_limit_s,
                        deadline_ts=ctx.clock() + spec.time_limit_s,
                        contestants=contestants,
                    )
                )
            )
            messages = [{"role": "user", "content": spec.prompt.format(dilemma=dilemma.text)}]
            await stream_answers(ctx, qid, contestants, messages, sampling_from(spec.sampling), spec.time_limit_s)
            started = time.monotonic()
            poll_id = f"{qid}-verdict"
            if spec.vote_s > 0 and ctx.open_poll is not None:
                if poll_id not in ctx.state.polls:
                    await ctx.open_poll(
                        poll_id=poll_id,
                        title=ctx.messages.t("poll.values_verdict", dilemma=dilemma.text)[:200],
                        kind="choice",
                        choices=[ev.PollChoice(id=c, label=names[c]) for c in contestants],
                        allow_change=False,
                        dimension=spec.dimension,
                        stage=ctx.index,
                        duration_s=spec.vote_s,
                    )
                await ctx.wait_poll_closed(poll_id)
            await wait_for_judges(
                ctx, [answer_target(ctx.index, qid, c) for c in contestants], spec.judge_wait_s - (time.monotonic() - started)
            )
            await ctx.publish(ev.QuestionClosed(data=ev.QuestionClosedData(stage=ctx.index, question_id=qid)))
