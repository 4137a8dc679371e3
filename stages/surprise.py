"""Surprise challenge (观众出题): viewers vote which question is asked next, from a few drawn
from the bank or "a random cold question"; the winner goes to every contestant live, exactly as
in speed Q&A. The director can close the poll early with their own pick (``poll_close`` with a
``winner``). With no votes at all, the first candidate is asked.

The draw is seeded per round, so after a restart the same round shows the same ballot, and a
round whose poll already closed goes straight to its question.
"""

from __future__ import annotations

import random

from core import events as ev

from .banks import Question, load_bank
from .base import StageContext
from .speed_qa import ask_everyone, input_allowed

RANDOM_CHOICE = "random"


def draw_round(
    questions: list[Question], candidates: int, seed: int, stage: int, round_no: int, used: set[str]
) -> tuple[list[Question], Question | None]:
    """The round's candidates, and the cold question asked if viewers pick "random"."""
    fresh = [q for q in questions if q.id not in used]
    rng = random.Random(f"{seed}:{stage}:{round_no}")
    rng.shuffle(fresh)
    picked = fresh[:candidates]
    cold = fresh[candidates] if len(fresh) > candidates else None
    return picked, cold


def poll_id_for(stage: int, round_no: int) -> str:
    return f"surprise-{stage}-{round_no}"


class SurpriseStage:
    kind = "surprise"

    async def run(self, ctx: StageContext) -> None:
        spec = ctx.spec
        if ctx.open_poll is None or ctx.wait_poll_closed is None:
            raise RuntimeError("the surprise challenge needs audience polls (run it under the show controller)")
        bank = load_bank(ctx.script.resolve(spec.bank))
        # Viewers only ever see (and pick) questions the content filter allows.
        allowed = [q for q in bank.questions if await input_allowed(ctx, q)]
        by_id = {q.id: q for q in allowed}
        used: set[str] = set()
        closed_before = set(ctx.state.closed_questions.get(ctx.index, []))
        for round_no in range(1, spec.rounds + 1):
            candidates, cold = draw_round(allowed, spec.candidates, spec.draw_seed, ctx.index, round_no, used)
            used.update(q.id for q in candidates)
            if cold is not None:
                used.add(cold.id)  # drawn is used, asked or not: later rounds draw the same after a restart
            poll_id = poll_id_for(ctx.index, round_no)
            poll = ctx.state.polls.get(poll_id)
            if poll and poll["status"] == "closed" and self._chosen(poll, by_id, cold, candidates).id in closed_before:
                continue  # asked and answered before a restart
            await ctx.wait_if_paused()
            if poll is None:
                choices = [ev.PollChoice(id=q.id, label=q.question[:200]) for q in candidates]
                if spec.random_choice and cold is not None:
                    choices.append(ev.PollChoice(id=RANDOM_CHOICE, label=ctx.messages.t("poll.random_question")))
                ok, _changed, reason = await ctx.open_poll(
                    poll_id=poll_id,
                    title=ctx.messages.t("poll.surprise", round=round_no, rounds=spec.rounds),
                    kind="choice",
                    choices=choices,
                    allow_change=True,
                    stage=ctx.index,
                    duration_s=spec.vote_s,
                )
                if not ok:
                    raise RuntimeError(f"could not open the surprise poll: {reason}")
            poll = await ctx.wait_poll_closed(poll_id)
            question = self._chosen(poll, by_id, cold, candidates)
            await ctx.wait_if_paused()
            await ask_everyone(ctx, question, round_no, spec.rounds)

    @staticmethod
    def _chosen(poll: dict, by_id: dict[str, Question], cold: Question | None, candidates: list[Question]) -> Question:
        winner = poll.get("winner")
        if winner == RANDOM_CHOICE and cold is not None:
            return cold
        return by_id.get(winner) or candidates[0]
