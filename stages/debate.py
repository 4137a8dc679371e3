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
from dataclasses import dataclass
from statistics import mean

from studio import events as ev
from studio.judging import answer_target

from .answering import stream_answer
from .base import StageContext
from .speed_qa import sampling_from
from .verdicts import wait_for_judges

SIDES = ("pro", "con")
STANCE = {"pro": "FOR", "con": "AGAINST"}
# Chat-template and instruction overhead on top of the transcript, in tokens (generous).
PROMPT_OVERHEAD = 160


@dataclass(frozen=True)
class Turn:
    round: int
    side: str
    kind: str

    def question_id(self, debate_id: str) -> str:
        return f"{debate_id}-r{self.round}"


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


def fit_transcript(turns: list[str], budget: int, count=token_bound) -> tuple[str, int]:
    """The most recent turns that fit ``budget`` tokens, oldest first; earlier ones are replaced by
    a note. If even the last turn is too long, its end is kept. Returns (text, turns in full)."""
    kept: list[str] = []
    used = 0
    for text in reversed(turns):
        cost = count(text) + 1
        if used + cost > budget:
            break
        kept.insert(0, text)
        used += cost
    dropped = len(turns) - len(kept)
    note = f"[{dropped} earlier turn(s) omitted]" if dropped else ""
    if dropped and count(note) + 1 + used > budget and kept:
        kept.pop(0)  # make room for the note itself
        dropped += 1
        note = f"[{dropped} earlier turn(s) omitted]"
    if not kept and turns:  # the last turn alone is too long: keep its end
        note = f"[{len(turns) - 1} earlier turn(s) omitted]" if len(turns) > 1 else ""
        room = budget - (count(note) + 1 if note else 0) - count("…")
        tail = turns[-1].encode("utf-8")[-room:].decode("utf-8", errors="ignore") if room > 0 else ""
        return "\n".join(x for x in (note, "…" + tail if tail else "") if x), 0
    return "\n".join(([note] if note else []) + kept), len(kept)


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
        transcript: list[str] = []
        done = ctx.state.results.get(ctx.index, {})
        budget = spec.context_tokens - PROMPT_OVERHEAD - token_bound(spec.motion)
        for turn in turn_order(spec.rounds):
            qid, speaker = turn.question_id(debate_id), sides[turn.side]
            earlier = done.get(qid, {}).get(speaker)
            if earlier is not None and earlier.status != "cancelled":  # said before a restart
                transcript.append(f"{STANCE[turn.side]} ({names[speaker]}): {earlier.text}")
                continue
            await ctx.wait_if_paused()
            if turn.side == "pro":
                await ctx.publish(
                    ev.QuestionAsked(
                        data=ev.QuestionAskedData(
                            stage=ctx.index, number=turn.round, of=spec.rounds, question_id=qid, text=spec.motion,
                            kind="debate", time_limit_s=spec.turn_time_limit_s,
                            deadline_ts=ctx.clock() + spec.turn_time_limit_s,
                        )
                    )
                )
            shown, in_full = fit_transcript(transcript, budget)
            await ctx.publish(
                ev.DebateTurn(
                    data=ev.DebateTurnData(
                        debate_id=debate_id, round=turn.round, side=turn.side, contestant=speaker, kind=turn.kind,
                        question_id=qid, transcript_turns=in_full,
                    )
                )
            )
            stop = ctx.interrupt
            if stop is not None:
                stop.clear()  # a cut is for the turn running when it is given
            result = await stream_answer(
                ctx, qid, speaker, self._messages(spec, turn, shown), sampling_from(spec.sampling), spec.turn_time_limit_s, stop=stop
            )
            transcript.append(f"{STANCE[turn.side]} ({names[speaker]}): {result.text}")
        await self._decide(ctx, debate_id, sides, names)

    @staticmethod
    def _messages(spec, turn: Turn, transcript: str) -> list[dict[str, str]]:
        system = (
            f"You are in a formal debate. The motion: \"{spec.motion}\". You argue {STANCE[turn.side]} the motion. "
            f"Give your {turn.kind} statement in at most {spec.turn_words} words. Do not repeat yourself."
        )
        user = f"Transcript so far:\n{transcript}\n\nYour {turn.kind}:" if transcript else f"Open the debate. Your {turn.kind}:"
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def _decide(self, ctx: StageContext, debate_id: str, sides: dict[str, str], names: dict[str, str]) -> None:
        spec = ctx.spec
        pair = [sides["pro"], sides["con"]]
        poll_id = f"{debate_id}-vote"
        started = time.monotonic()
        if spec.vote_s > 0 and spec.audience_weight > 0 and ctx.open_poll is not None:
            if poll_id not in ctx.state.polls:
                await ctx.open_poll(
                    poll_id=poll_id, title=ctx.messages.t("poll.debate_winner", motion=spec.motion)[:200], kind="choice",
                    choices=[
                        ev.PollChoice(id=c, label=ctx.messages.t("poll.debater", name=names[c], side=ctx.messages.t(f"side.{s}")))
                        for s, c in sides.items()
                    ],
                    allow_change=False, dimension=None, stage=ctx.index, duration_s=spec.vote_s,
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
                    stage=ctx.index, debate_id=debate_id, motion=spec.motion, sides=sides, judges=judges, audience=audience,
                    weights=weights, score=score, winner=winner, dimension=spec.dimension,
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
