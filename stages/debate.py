"""Debate (辩论): two contestants argue a motion — an opening each, rebuttals, a closing each —
every turn streaming live and seeing the transcript so far, trimmed to fit the model's context.

Sides are drawn fairly and recorded: ``random`` (seeded by the script and the stage) or
``alternate`` (by the stage's position, so a rundown with several debates swaps them). The
director can cut a turn short (``cut``): what was said stands. Afterwards the audience votes on
the winner (a poll of ``vote_s``) while judges score the turns on the judges' page (up to
``judge_wait_s``); the winner is the weighted mix of the judges' and the audience's shares, and
the result (``debate.result``) is one pairwise outcome on the leaderboard.

After a restart the debate carries on from the turns the log already has.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from statistics import mean
from typing import Callable

from core import events as ev
from core.events import answer_target

from .answering import stream_answer
from .base import StageContext
from .speed_qa import sampling_from
from .verdicts import wait_for_judges

SIDES = ("pro", "con")
# What the chat template adds around each message (role markers, newlines), in tokens: generous.
MESSAGE_OVERHEAD = 8
# And after the last one: the assistant's header that the answer follows (add_generation_prompt).
GENERATION_OVERHEAD = 8


@dataclass(frozen=True)
class Turn:
    round: int
    side: str
    kind: str

    def question_id(self, debate_id: str) -> str:
        return f"{debate_id}-r{self.round}"


@dataclass(frozen=True)
class Said:
    side: str
    text: str


def turn_order(rounds: int) -> list[Turn]:
    out = []
    for r in range(1, rounds + 1):
        kind = "opening" if r == 1 else "closing" if r == rounds else "rebuttal"
        out += [Turn(r, side, kind) for side in SIDES]
    return out


def assign_sides(pair: list[str], how: str, seed: int, stage: int) -> dict[str, str]:
    if how == "alternate":
        first, second = (pair[0], pair[1]) if stage % 2 == 0 else (pair[1], pair[0])
    else:
        first, second = random.Random(f"{seed}:{stage}").sample(pair, 2)
    return {"pro": first, "con": second}


def token_bound(text: str) -> int:
    """An upper bound on the tokens of ``text`` for byte-level BPE tokenizers (SmolLM2, Llama,
    Qwen…): every token covers at least one UTF-8 byte. No tokenizer call, never an underestimate."""
    return len(text.encode("utf-8"))


def prompt_bound(messages: list[dict[str, str]], count=token_bound) -> int:
    """An upper bound on the tokens a chat prompt of these messages takes, the assistant's header
    that the answer follows included."""
    return GENERATION_OVERHEAD + sum(count(m["content"]) + MESSAGE_OVERHEAD for m in messages)


def turn_messages(
    instructions: str, opener: str, said: list[Said], side: str, budget: int, omitted_note: Callable[[int], str], count=token_bound
) -> tuple[list[dict[str, str]], int]:
    """The chat one speaker sees for their turn: the debate's instructions as the system message,
    then the debate so far as a conversation — the opponent's turns as the user's, the speaker's
    own as the assistant's — so that what the model writes next is the turn itself, with no
    "Transcript:" or "Your rebuttal:" scaffolding to echo. ``opener`` is the user's line before
    the speaker's first word. The oldest turns are dropped until the whole prompt fits ``budget``
    tokens (counted from above: never an overflow); ``omitted_note(n)`` then says how many in the
    system message. Returns (messages, turns kept)."""

    def build(kept: list[Said], dropped: int) -> list[dict[str, str]]:
        system = instructions + (" " + omitted_note(dropped) if dropped else "")
        chat = [{"role": "assistant" if s.side == side else "user", "content": s.text.strip() or "…"} for s in kept]
        if not chat or chat[0]["role"] == "assistant":
            chat.insert(0, {"role": "user", "content": opener})
        return [{"role": "system", "content": system}, *chat]

    for dropped in range(len(said) + 1):
        messages = build(said[dropped:], dropped)
        if prompt_bound(messages, count) <= budget:
            return messages, len(said) - dropped
    raise ValueError(f"the debate's instructions alone ({prompt_bound(messages, count)} tokens) exceed its budget of {budget}")


def debate_prompt(t: Callable[..., str], spec, persona: str, turn: Turn, said: list[Said]) -> tuple[list[dict[str, str]], int]:
    """The speaker's prompt for this turn, in the show's language (``t``), within the stage's
    ``context_tokens``: the contestant's own system prompt (the engine pool puts it before the
    instructions, engine_pool/pool.py) counts too."""
    instructions = t(
        "prompt.debate", motion=spec.motion, side=t(f"side.{turn.side}"), words=spec.turn_words, turn=t(f"prompt.turn.{turn.kind}")
    )
    budget = spec.context_tokens - token_bound(persona) - MESSAGE_OVERHEAD
    omitted = lambda n: t("prompt.debate_omitted", count=n)  # noqa: E731
    # The first word is the speaker's own: the user's line before it restates the task (a tiny
    # model given only "The floor is yours." repeats it back).
    opener = t("prompt.debate_floor", turn=t(f"prompt.turn.{turn.kind}"), side=t(f"side.{turn.side}"), motion=spec.motion)
    return turn_messages(instructions, opener, said, turn.side, budget, omitted)


def fixed_prompt_bound(t: Callable[..., str], spec, persona: str) -> int:
    """The most tokens a turn's prompt can take before any of the debate is in it: the persona,
    the instructions (with the longest "N turns left out" note), the opener. A stage whose
    ``context_tokens`` is below this cannot run (``gavel check`` refuses it)."""
    turns = turn_order(spec.rounds)
    worst = 0
    for turn in turns:
        instructions = t(
            "prompt.debate", motion=spec.motion, side=t(f"side.{turn.side}"), words=spec.turn_words, turn=t(f"prompt.turn.{turn.kind}")
        )
        system = f"{instructions} {t('prompt.debate_omitted', count=len(turns))}"
        opener = t("prompt.debate_floor", turn=t(f"prompt.turn.{turn.kind}"), side=t(f"side.{turn.side}"), motion=spec.motion)
        # As debate_prompt's budget counts it: the persona and its message's overhead, then the rest.
        worst = max(worst, token_bound(persona) + MESSAGE_OVERHEAD + prompt_bound([{"content": system}, {"content": opener}]))
    return worst


class DebateStage:
    kind = "debate"

    async def run(self, ctx: StageContext) -> None:
        spec = ctx.spec
        pair = spec.contestants or ctx.contestant_ids[:2]
        debate_id = f"debate-{ctx.index}"
        sides = assign_sides(pair, spec.sides, spec.side_seed, ctx.index)
        names = {c.id: c.name for c in ctx.script.contestants}
        if ctx.safety is not None:  # the motion goes into every turn's prompt: check it first
            verdict = ctx.safety.check(spec.motion)
            if not verdict.allowed:
                await ctx.safety.refuse_input(ctx.index, "debate motion", verdict)
                raise RuntimeError(f"the debate's motion was refused: {verdict.reason}")
        if not any(e for e in ctx.state.results.get(ctx.index, {})):
            await ctx.publish(
                ev.DebateStarted(
                    data=ev.DebateStartedData(
                        stage=ctx.index, debate_id=debate_id, motion=spec.motion, sides=sides, assigned=spec.sides, rounds=spec.rounds
                    )
                )
            )
        said: list[Said] = []
        done = ctx.state.results.get(ctx.index, {})
        for turn in turn_order(spec.rounds):
            qid, speaker = turn.question_id(debate_id), sides[turn.side]
            earlier = done.get(qid, {}).get(speaker)
            if earlier is not None and earlier.status != "cancelled":  # said before a restart
                said.append(Said(turn.side, earlier.text))
                continue
            await ctx.wait_if_paused()
            if turn.side == "pro":
                await ctx.publish(
                    ev.QuestionAsked(
                        data=ev.QuestionAskedData(
                            stage=ctx.index,
                            number=turn.round,
                            of=spec.rounds,
                            question_id=qid,
                            text=spec.motion,
                            kind="debate",
                            time_limit_s=spec.turn_time_limit_s,
                            deadline_ts=ctx.clock() + spec.turn_time_limit_s,
                            contestants=[sides["pro"], sides["con"]],
                        )
                    )
                )
            messages, in_full = self.messages_for(ctx, turn, speaker, said)
            await ctx.publish(
                ev.DebateTurn(
                    data=ev.DebateTurnData(
                        debate_id=debate_id,
                        round=turn.round,
                        side=turn.side,
                        contestant=speaker,
                        kind=turn.kind,
                        question_id=qid,
                        transcript_turns=in_full,
                    )
                )
            )
            stop = ctx.interrupt
            if stop is not None:
                stop.clear()  # a cut is for the turn running when it is given
            sampling = sampling_from(spec.sampling)
            if sampling.seed is not None:  # one seed per round: a speaker's turns must not come out word for word the same
                sampling = replace(sampling, seed=sampling.seed + turn.round - 1)
            result = await stream_answer(ctx, qid, speaker, messages, sampling, spec.turn_time_limit_s, stop=stop)
            said.append(Said(turn.side, result.text))
        await self._decide(ctx, debate_id, sides, names)

    @staticmethod
    def messages_for(ctx: StageContext, turn: Turn, speaker: str, said: list[Said]) -> tuple[list[dict[str, str]], int]:
        persona = next(c.system_prompt for c in ctx.script.contestants if c.id == speaker)
        return debate_prompt(ctx.messages.t, ctx.spec, persona, turn, said)

    async def _decide(self, ctx: StageContext, debate_id: str, sides: dict[str, str], names: dict[str, str]) -> None:
        spec = ctx.spec
        pair = [sides["pro"], sides["con"]]
        poll_id = f"{debate_id}-vote"
        started = time.monotonic()
        if spec.vote_s > 0 and spec.audience_weight > 0 and ctx.open_poll is not None:
            if poll_id not in ctx.state.polls:
                await ctx.open_poll(
                    poll_id=poll_id,
                    title=ctx.messages.t("poll.debate_winner", motion=spec.motion)[:200],
                    kind="choice",
                    choices=[
                        ev.PollChoice(id=c, label=ctx.messages.t("poll.debater", name=names[c], side=ctx.messages.t(f"side.{s}")))
                        for s, c in sides.items()
                    ],
                    allow_change=False,
                    dimension=None,
                    stage=ctx.index,
                    duration_s=spec.vote_s,
                )
            await ctx.wait_poll_closed(poll_id)
        turns = [t for c in pair for t in self._targets(ctx, debate_id, c)]
        await wait_for_judges(ctx, turns, spec.judge_wait_s - (time.monotonic() - started))
        judges = {c: self._judges_mean(ctx, debate_id, c) for c in pair}
        poll = ctx.state.polls.get(poll_id)
        audience = {c: int((poll or {}).get("counts", {}).get(c, 0)) for c in pair}
        weights = {
            "judges": spec.judges_weight if all(judges[c] is not None for c in pair) else 0.0,
            "audience": spec.audience_weight if sum(audience.values()) else 0.0,
        }
        score = {c: 0.5 for c in pair}
        total_weight = sum(weights.values())
        if total_weight:
            j_total = sum(judges[c] or 0 for c in pair)
            a_total = sum(audience.values())
            for c in pair:
                j_share = (judges[c] or 0) / j_total if weights["judges"] and j_total else 0.0
                a_share = audience[c] / a_total if weights["audience"] else 0.0
                score[c] = round((weights["judges"] * j_share + weights["audience"] * a_share) / total_weight, 4)
        a, b = pair
        winner = a if score[a] > score[b] else b if score[b] > score[a] else None
        await ctx.publish(
            ev.DebateResult(
                data=ev.DebateResultData(
                    stage=ctx.index,
                    debate_id=debate_id,
                    motion=spec.motion,
                    sides=sides,
                    judges=judges,
                    audience=audience,
                    weights=weights,
                    score=score,
                    winner=winner,
                    dimension=spec.dimension,
                )
            )
        )

    @staticmethod
    def _targets(ctx: StageContext, debate_id: str, contestant: str) -> list[str]:
        rounds = ctx.spec.rounds
        return [answer_target(ctx.index, f"{debate_id}-r{r}", contestant) for r in range(1, rounds + 1)]

    def _judges_mean(self, ctx: StageContext, debate_id: str, contestant: str) -> float | None:
        marks = [
            mean(scores.values())
            for target in self._targets(ctx, debate_id, contestant)
            for scores in ctx.state.judged.get(target, {}).values()
            if scores
        ]
        return round(mean(marks), 3) if marks else None
