"""The fairness audit of the answers to one question: the record of each, and who answered under
measurably worse conditions than the others.

Only answers made at the same time to the same question are compared (a speed round's
contestants, not a debate's turns). Flags:

- queue wait: more than ``QUEUE_WAIT_SLACK_S`` longer than the others' median *and* over
  ``QUEUE_WAIT_RATIO`` times it, between waits the engines' schedulers reported (vLLM). A TTFT
  standing in for the wait (remote servers) is recorded but never flagged: it holds the model's
  own prefill speed, which is the contestant's, not the conditions';
- load: more answers running beside it on its engine (``load_max``) than the least loaded of
  the others by ``LOAD_SLACK`` or more (e.g. two contestants sharing one engine, a third alone).

Answers that got no token are recorded but neither flagged nor compared against.
"""

from __future__ import annotations

import statistics

from core import events as ev
from engine_pool.pool import AnswerConditions

from .base import StageContext

QUEUE_WAIT_SLACK_S = 0.25
QUEUE_WAIT_RATIO = 2.0
LOAD_SLACK = 1


def flags_for(conditions: dict[str, AnswerConditions]) -> dict[str, list[str]]:
    """contestant -> why their conditions were worse than the others' (empty: they were not)."""
    measured = {c: x for c, x in conditions.items() if x.queue_wait_s is not None}
    out: dict[str, list[str]] = {c: [] for c in conditions}
    for contestant, mine in measured.items():
        others = {c: x for c, x in measured.items() if c != contestant}
        waits = [x.queue_wait_s for x in others.values() if x.queue_wait_source == "scheduler"]
        if waits and mine.queue_wait_source == "scheduler":
            typical = statistics.median(waits)
            if mine.queue_wait_s - typical > QUEUE_WAIT_SLACK_S and mine.queue_wait_s > QUEUE_WAIT_RATIO * typical:
                out[contestant].append(f"queue wait {mine.queue_wait_s:.2f} s against {typical:.2f} s for the others")
        if others:
            least = min(x.load_max for x in others.values())
            if mine.load_max - least >= LOAD_SLACK:
                answers = "answer" if mine.load_max == 1 else "answers"
                out[contestant].append(f"ran beside {mine.load_max} other {answers} on {mine.engine}; another contestant beside {least}")
    return out


def fairness_events(stage: int, question_id: str, conditions: dict[str, AnswerConditions]) -> list[ev.AnswerFairness]:
    flags = flags_for(conditions)
    out = []
    for contestant, x in conditions.items():
        s = x.sampling
        out.append(
            ev.AnswerFairness(
                data=ev.AnswerFairnessData(
                    stage=stage,
                    question_id=question_id,
                    contestant=contestant,
                    engine=x.engine,
                    hardware=ev.HardwareInfo(device=x.hardware.device, name=x.hardware.name, count=x.hardware.count),
                    sampling=ev.SamplingInfo(
                        temperature=s.temperature,
                        top_p=s.top_p,
                        max_tokens=s.max_tokens,
                        seed=s.seed,
                        stop=list(s.stop),
                        logprobs=s.logprobs,
                    ),
                    adapter=x.adapter,
                    queue_wait_s=None if x.queue_wait_s is None else round(x.queue_wait_s, 4),
                    queue_wait_source=x.queue_wait_source,
                    load_at_start=x.load_at_start,
                    load_max=x.load_max,
                    compared_with=sorted(c for c in conditions if c != contestant),
                    flagged=bool(flags[contestant]),
                    flags=flags[contestant],
                )
            )
        )
    return out


async def publish_fairness(ctx: StageContext, question_id: str, conditions: dict[str, AnswerConditions]) -> None:
    for event in fairness_events(ctx.index, question_id, conditions):
        await ctx.publish(event)
